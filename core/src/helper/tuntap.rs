//! The dynamic tuntap reply ([`TuntapUpReply`]): the interface name, the text and the
//! passed fd.

use core::fmt;

use super::{BufferTooSmall, IFNAMSIZ, IfName, parse_if_name};

/// The one datagram `tuntap up` answers with. On success it is the 16-byte NUL-padded
/// interface name, then the text and a NUL, with the tap fd attached (SCM_RIGHTS). On
/// failure the name part is empty (just the text and NUL) and no fd is attached. There
/// is no length prefix; the kernel tells the two apart by the fd.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TuntapUpReply<'a> {
    /// The tap was created (the fd travels with it).
    Ready {
        /// The tap's name, as the kernel chose it (`tap0`).
        name: IfName,
        /// The helper's output (without the NUL).
        text: &'a [u8],
    },
    /// Nothing was created.
    Failed {
        /// Why, as text (without the NUL).
        text: &'a [u8],
    },
}

/// Why a tuntap reply is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TuntapReplyError {
    /// An fd came with fewer than 16 name bytes.
    ShortName {
        /// Bytes there were.
        got: usize,
    },
    /// The name part is not a NUL-padded interface name of letters and digits.
    BadName,
    /// The text has no terminating NUL (the kernel's buffer is not zeroed, so it would
    /// print whatever followed).
    MissingNul,
}

impl fmt::Display for TuntapReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TuntapReplyError::ShortName { got } => write!(
                f,
                "tuntap reply of {got} bytes came with an fd but has no {IFNAMSIZ}-byte interface name"
            ),
            TuntapReplyError::BadName => f.write_str(
                "tuntap reply's first 16 bytes are not a NUL-padded interface name of letters and digits",
            ),
            TuntapReplyError::MissingNul => {
                f.write_str("tuntap reply text is not NUL-terminated")
            }
        }
    }
}

fn nul_terminated(data: &[u8]) -> Result<&[u8], TuntapReplyError> {
    let end = data
        .iter()
        .position(|&b| b == 0)
        .ok_or(TuntapReplyError::MissingNul)?;
    Ok(&data[..end])
}

impl<'a> TuntapUpReply<'a> {
    /// Decodes a reply; `fd_received` says whether an fd came with it.
    pub fn parse(data: &'a [u8], fd_received: bool) -> Result<Self, TuntapReplyError> {
        if !fd_received {
            return Ok(TuntapUpReply::Failed {
                text: nul_terminated(data)?,
            });
        }
        let Some(raw) = data.get(..IFNAMSIZ) else {
            return Err(TuntapReplyError::ShortName { got: data.len() });
        };
        let name_len = raw.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        if raw[name_len..].iter().any(|&b| b != 0) {
            return Err(TuntapReplyError::BadName);
        }
        let name = core::str::from_utf8(&raw[..name_len])
            .ok()
            .and_then(parse_if_name)
            .ok_or(TuntapReplyError::BadName)?;
        Ok(TuntapUpReply::Ready {
            name,
            text: nul_terminated(&data[IFNAMSIZ..])?,
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TuntapUpReply::Ready { text, .. } => IFNAMSIZ + text.len() + 1,
            TuntapUpReply::Failed { text } => text.len() + 1,
        }
    }

    /// Writes the datagram's bytes (the caller attaches the fd for `Ready`). A NUL in
    /// the text ends it early, as it would for the kernel.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let needed = self.buffer_len();
        let got = buf.len();
        let out = buf
            .get_mut(..needed)
            .ok_or(BufferTooSmall { needed, got })?;
        let (head, text) = match self {
            TuntapUpReply::Ready { name, text } => {
                out[..IFNAMSIZ].fill(0);
                out[..name.len()].copy_from_slice(name.as_bytes());
                (IFNAMSIZ, text)
            }
            TuntapUpReply::Failed { text } => (0, text),
        };
        out[head..needed - 1].copy_from_slice(text);
        out[needed - 1] = 0;
        Ok(needed)
    }

    /// Whether the kernel gets a tap.
    pub fn is_ready(&self) -> bool {
        matches!(self, TuntapUpReply::Ready { .. })
    }
}
