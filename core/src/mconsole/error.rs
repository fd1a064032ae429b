//! Why bytes are not a usable mconsole packet ([`Error`]).

use core::fmt;

use super::{MAGIC, MAX_DATA, VERSION};

/// Why bytes are not a usable mconsole packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The datagram is shorter than its header, or than the length its header states.
    Truncated {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes there are.
        got: usize,
    },
    /// The magic is not `0xcafebabe` (the kernel answers [`V0_REJECTION`](super::V0_REJECTION)).
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// The `len` field is 512 or more (the kernel answers [`REQUEST_TOO_LARGE`](super::REQUEST_TOO_LARGE)); for a
    /// reply, `len` is 0 or above 512.
    BadLength {
        /// The `len` found.
        len: u32,
    },
    /// A reply's text does not end in NUL where `len` says it does.
    MissingNul,
    /// A notification's version is not 2.
    BadVersion {
        /// The version found.
        found: u32,
    },
    /// The output buffer cannot hold the packet (or the reassembled reply).
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, got } => write!(
                f,
                "mconsole packet of {got} bytes is truncated: its header needs {needed} bytes"
            ),
            Error::BadMagic { found } => write!(
                f,
                "mconsole magic is 0x{found:08x}, expected 0x{MAGIC:08x} (a version 0 client?)"
            ),
            Error::BadLength { len } => write!(
                f,
                "mconsole len field is {len}: a request's must be below {MAX_DATA}, \
                 a reply's between 1 and {MAX_DATA}"
            ),
            Error::MissingNul => f.write_str("mconsole reply text is not NUL-terminated at len"),
            Error::BadVersion { found } => {
                write!(f, "mconsole version is {found}, expected {VERSION}")
            }
            Error::BufferTooSmall { needed, got } => write!(
                f,
                "buffer of {got} bytes is too small for the mconsole packet: {needed} needed"
            ),
        }
    }
}
