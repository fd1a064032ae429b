//! The errors of a config file: one in the file (naming its line and key), and one in
//! planning (naming the TAP).

use std::fmt;

/// An error in the file: the line (1-based), the key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The line of the offending value (1-based; 0 if unknown).
    pub line: usize,
    /// The key (`tap[1].user`), or empty when the error is not about one key.
    pub key: String,
    /// What is wrong, and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}", self.message),
            (0, false) => write!(f, "key '{}': {}", self.key, self.message),
            (l, true) => write!(f, "line {l}: {}", self.message),
            (l, false) => write!(f, "line {l}, key '{}': {}", self.key, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStepError {
    /// The TAP device.
    pub tap: String,
    /// The core's reason.
    pub error: umlnet_core::host::PlanError,
}

impl fmt::Display for PlanStepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tap '{}': {}", self.tap, self.error)
    }
}

impl std::error::Error for PlanStepError {}
