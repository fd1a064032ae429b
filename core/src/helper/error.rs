//! Why an argv was refused ([`ArgvError`]) and what an argument should have been
//! ([`Expected`]).

use core::fmt::{self, Write as _};

use super::{Transport, UML_NET_VERSION};

/// What an argument should have been, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Expected {
    /// The protocol version.
    Version,
    /// A transport word.
    Transport,
    /// `up`, `down`, `add` or `del`.
    Operation,
    /// An interface name of letters and digits.
    InterfaceName,
    /// A tap device name `tap<N>`.
    TapName,
    /// A dotted-quad address.
    Ipv4,
    /// A contiguous dotted-quad netmask.
    Netmask,
    /// A file descriptor number.
    Fd,
    /// A short word of letters, digits, `.`, `_` or `-`.
    Word,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Version => "a protocol version number (0 to 4)",
            Expected::Transport => "a transport (ethertap, slip, tuntap, add or del)",
            Expected::Operation => "an operation",
            Expected::InterfaceName => "an interface name of 1 to 15 letters or digits",
            Expected::TapName => "a tap device name tap<N> (N from 0 to 9999)",
            Expected::Ipv4 => "an IPv4 address of four decimal octets 0-255 (like 10.0.0.1)",
            Expected::Netmask => "a contiguous netmask of four decimal octets (like 255.255.255.0)",
            Expected::Fd => "a file descriptor number from 3 to 65535",
            Expected::Word => "a word of 1 to 15 letters, digits, '.', '_' or '-'",
        })
    }
}

/// Why an argv was refused. Positions count as the kernel's argv does: `argv[1]` is
/// the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ArgvError<'a> {
    /// Fewer than two arguments: not run by the kernel.
    BadArgumentList {
        /// How many arguments (without `argv[0]`) there were.
        count: usize,
    },
    /// A version above 4.
    VersionMismatch {
        /// The version as `strtoul` read it, truncated to an `unsigned int`.
        requested: u32,
    },
    /// The transport word is unknown.
    UnknownTransport {
        /// The word.
        found: &'a str,
    },
    /// The transport has no form in that version.
    NoHandler {
        /// The version.
        version: u32,
        /// The transport (and operation).
        what: &'static str,
    },
    /// The operation after the transport is unknown.
    UnknownOp {
        /// The transport.
        transport: Transport,
        /// Its position.
        position: usize,
        /// The word.
        found: &'a str,
    },
    /// An argument is missing.
    TooFew {
        /// The handler, as the original names it (`tuntap_up`, `ethertap_v4`, …).
        command: &'static str,
        /// The position of the first missing argument.
        position: usize,
        /// What it should be.
        expected: Expected,
    },
    /// There are more arguments than the form has.
    TooMany {
        /// The handler.
        command: &'static str,
        /// The position of the first extra argument.
        position: usize,
        /// That argument.
        found: &'a str,
    },
    /// An argument is malformed.
    BadArgument {
        /// Its position.
        position: usize,
        /// What it should be.
        expected: Expected,
        /// What it is.
        found: &'a str,
    },
}

/// Writes an argument for a message: printable ASCII as is, the rest as `\xNN`,
/// at most 64 bytes.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.as_bytes();
        for &c in b.iter().take(64) {
            if (0x20..0x7f).contains(&c) && c != b'\\' && c != b'\'' {
                f.write_char(c as char)?;
            } else {
                write!(f, "\\x{c:02x}")?;
            }
        }
        if b.len() > 64 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Display for ArgvError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArgvError::BadArgumentList { count } => write!(
                f,
                "bad argument list ({count} arguments) - if you're running uml_net by hand, don't bother.  uml_net is run automatically by UML when necessary."
            ),
            ArgvError::VersionMismatch { requested } => write!(
                f,
                "Version mismatch - requested version {}, uml_net supports up to version {UML_NET_VERSION}",
                requested as i32
            ),
            ArgvError::UnknownTransport { found } => {
                write!(f, "Unknown transport : '{}'", Shown(found))
            }
            ArgvError::NoHandler { version, what } => {
                write!(f, "No version #{version} handler for '{what}'")
            }
            ArgvError::UnknownOp {
                transport,
                position,
                found,
            } => write!(
                f,
                "Bad {transport} op : '{}' (argv[{position}])",
                Shown(found)
            ),
            ArgvError::TooFew {
                command,
                position,
                expected,
            } => write!(
                f,
                "Too few arguments to {command}: argv[{position}] should be {expected}"
            ),
            ArgvError::TooMany {
                command,
                position,
                found,
            } => write!(
                f,
                "Too many arguments to {command}: argv[{position}] '{}' is not expected",
                Shown(found)
            ),
            ArgvError::BadArgument {
                position,
                expected,
                found,
            } => write!(
                f,
                "argv[{position}]: expected {expected}, found '{}'",
                Shown(found)
            ),
        }
    }
}
