//! Why a device could not be added or removed, as the kernel's error.

use umlnet_guest::GuestError;

/// Why a device could not be added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError {
    /// What to tell the user (the kernel's text where it has one).
    pub text: String,
    /// Which kernel error it corresponds to.
    pub kind: DeviceErrorKind,
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for DeviceError {}

/// The kernel error a [`DeviceError`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceErrorKind {
    /// `Bad device number` (EINVAL).
    BadNumber,
    /// `Device already configured` (EINVAL).
    Exists,
    /// `Device doesn't exist` (ENODEV).
    Missing,
    /// `Device is currently open` (EBUSY).
    Busy,
    /// Anything else: the argument or the transport failed.
    Other,
}

impl From<GuestError> for DeviceError {
    fn from(e: GuestError) -> Self {
        DeviceError {
            text: e.to_string(),
            kind: DeviceErrorKind::Other,
        }
    }
}
