//! The switch's reply: its data address ([`parse_reply`], [`emit_reply`]).

use core::fmt;

use super::{AF_UNIX, AddrError, DataAddr, REPLY_LEN};

/// Why a switch's reply was refused (the kernel prints
/// `daemon_open : read of data socket failed` for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReplyError {
    /// The reply is not exactly 110 bytes.
    WrongLength {
        /// Bytes read.
        got: usize,
    },
    /// The address is not `AF_UNIX`.
    BadFamily {
        /// The family found.
        family: u16,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReplyError::WrongLength { got } => write!(
                f,
                "read of data socket failed: the switch answered {got} bytes, expected {REPLY_LEN}"
            ),
            ReplyError::BadFamily { family } => write!(
                f,
                "the switch's data socket has family {family}, expected {AF_UNIX} (AF_UNIX)"
            ),
        }
    }
}

/// Decodes the switch's reply: its data socket's 110-byte `sockaddr_un`.
pub fn parse_reply(data: &[u8]) -> Result<DataAddr, ReplyError> {
    DataAddr::from_bytes(data).map_err(|e| match e {
        AddrError::BadFamily { family } => ReplyError::BadFamily { family },
        _ => ReplyError::WrongLength { got: data.len() },
    })
}

/// Encodes the switch's reply into the front of `buf`, returning [`REPLY_LEN`], or
/// `None` when `buf` is shorter than that.
pub fn emit_reply(addr: &DataAddr, buf: &mut [u8]) -> Option<usize> {
    buf.get_mut(..REPLY_LEN)?.copy_from_slice(addr.as_bytes());
    Some(REPLY_LEN)
}
