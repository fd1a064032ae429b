//! The UML management console (mconsole) packets, version 2 (docs/protocols.md §6).
//!
//! A running UML kernel listens on the unix datagram socket `<uml_dir><umid>/mconsole`.
//! A client (such as `uml_mconsole`) sends one [`RequestPacket`] of 524 bytes: magic
//! `0xcafebabe`, version 2, the command length (< 512), and a 512-byte command area.
//! The kernel answers with one or more [`ReplyPacket`]s of 12 + `len` bytes: `err`,
//! `more`, `len` (text length + 1) and the NUL-terminated text. Long texts are cut into
//! chunks of up to 511 characters ([`reply_chunks`]); every chunk but the last has
//! `more` set, and only the first carries `err`. [`ReplyReader`] puts them back together.
//! With `mconsole=notify:<socket>` the kernel also sends [`NotifyPacket`]s.
//!
//! Integers are in the host's native byte order (little-endian on x86_64), because the
//! kernel and the client share a host; this module uses `from_ne_bytes`/`to_ne_bytes`.
//!
//! The command text is matched by **prefix**, as the kernel does (`versionX` is
//! `version`); [`Command::parse`] turns it into the commands that networking needs.
//!
//! ```
//! use umlnet_core::mconsole::{Command, RequestPacket, RequestRepr, REQUEST_LEN};
//!
//! let mut buf = [0u8; REQUEST_LEN];
//! let n = RequestRepr::new(b"config eth4=mcast").unwrap().encode(&mut buf).unwrap();
//! assert_eq!(n, 524);
//! assert_eq!(&buf[..12], &[0xbe, 0xba, 0xfe, 0xca, 2, 0, 0, 0, 0x11, 0, 0, 0]);
//!
//! let request = RequestRepr::parse(&RequestPacket::new_checked(&buf[..]).unwrap()).unwrap();
//! assert_eq!(Command::parse(request.command), Command::ConfigEth { arg: "eth4=mcast" });
//! ```

mod command;
mod error;
mod fuzz;
mod notify;
mod reply;
mod request;
#[cfg(test)]
mod test;

pub use command::{Command, OTHER_COMMANDS, parse_device_number};
pub use error::Error;
pub use fuzz::fuzz_one;
pub use notify::{NotifyPacket, NotifyRepr, NotifyType};
pub use reply::{
    ReplyChunks, ReplyDatagram, ReplyPacket, ReplyReader, ReplyRepr, parse_reply_datagram,
    reply_chunks,
};
pub use request::{Rejection, RequestPacket, RequestRepr};

use core::ops::Range;

/// The first word of every request and notification.
pub const MAGIC: u32 = 0xcafe_babe;
/// The protocol version the 6.1 kernel speaks.
pub const VERSION: u32 = 2;
/// Size of the command area of a request, of the text area of a reply and of the data
/// area of a notification (`MCONSOLE_MAX_DATA`).
pub const MAX_DATA: usize = 512;
/// The longest command a request may carry (its `len` must be below [`MAX_DATA`]).
pub const MAX_COMMAND_LEN: usize = MAX_DATA - 1;
/// The longest text one reply chunk carries (the rest of the area is the NUL).
pub const MAX_CHUNK_LEN: usize = MAX_DATA - 1;
/// Length of the request header (magic, version, len).
pub const REQUEST_HEADER_LEN: usize = 12;
/// Length of a whole request datagram as clients send it.
pub const REQUEST_LEN: usize = REQUEST_HEADER_LEN + MAX_DATA;
/// Length of the reply header (err, more, len).
pub const REPLY_HEADER_LEN: usize = 12;
/// Length of the longest reply datagram.
pub const MAX_REPLY_LEN: usize = REPLY_HEADER_LEN + MAX_DATA;
/// Length of the notification header (magic, version, type, len).
pub const NOTIFY_HEADER_LEN: usize = 16;

/// The plain-text datagram (no header, no NUL) the kernel sends back for a request
/// whose magic is wrong.
pub const V0_REJECTION: &str = "ERR Version 0 mconsole clients are not supported by this driver";
/// Reply text (err 1) for a request whose `len` is 512 or more.
pub const REQUEST_TOO_LARGE: &str = "Request too large";
/// Reply text (err 1) for a version other than 2; the kernel still runs the command.
pub const VERSION_MISMATCH: &str = "This driver only supports version 2 clients";
/// Reply text (err 1) for a command that matches none of the kernel's.
pub const UNKNOWN_COMMAND: &str = "Unknown command";
/// Reply text (err 1) for `config` of a device class the kernel does not know.
pub const BAD_CONFIGURATION_OPTION: &str = "Bad configuration option";
/// Reply text (err 1) for `remove` of a device class the kernel does not know.
pub const BAD_REMOVE_OPTION: &str = "Bad remove option";
/// Reply text (err 1) for `remove eth<n>` when `<n>` is not an entire number.
pub const COULDNT_PARSE_DEVICE_NUMBER: &str = "Couldn't parse device number";
/// Reply text (err 1) for `config eth<n>` without `=` (there is no get_config for eth).
pub const NO_GET_CONFIG: &str = "No get_config routine defined";
/// Reply text (err -EINVAL) for `config eth<x>=…` with a bad device number.
pub const BAD_DEVICE_NUMBER: &str = "Bad device number";
/// Reply text (err -EINVAL) for `config eth<n>=…` when `eth<n>` exists.
pub const DEVICE_ALREADY_CONFIGURED: &str = "Device already configured";
/// Reply text (err -ENODEV) for `remove eth<n>` of a missing device.
pub const DEVICE_DOESNT_EXIST: &str = "Device doesn't exist";
/// Reply text (err -EBUSY) for `remove eth<n>` of a device that is up.
pub const DEVICE_IS_OPEN: &str = "Device is currently open";

/// `err` of a reply for `-EBUSY` (sent as 0xfffffff0).
pub const ERR_EBUSY: i32 = -16;
/// `err` of a reply for `-ENODEV` (sent as 0xffffffed).
pub const ERR_ENODEV: i32 = -19;
/// `err` of a reply for `-EINVAL` (sent as 0xffffffea; `uml_mconsole` exits 234).
pub const ERR_EINVAL: i32 = -22;

/// A byte range of a fixed-size field.
pub type Field = Range<usize>;

/// Byte offsets of the three packet kinds.
pub mod field {
    use super::Field;

    /// Request fields.
    pub mod request {
        use super::Field;
        /// `0xcafebabe`.
        pub const MAGIC: Field = 0..4;
        /// Protocol version, 2.
        pub const VERSION: Field = 4..8;
        /// Length of the command text.
        pub const LEN: Field = 8..12;
        /// The 512-byte command area.
        pub const DATA: Field = 12..524;
    }

    /// Reply fields.
    pub mod reply {
        use super::Field;
        /// Error code (0 = OK, 1 = error, or a negative errno).
        pub const ERR: Field = 0..4;
        /// Nonzero when more chunks follow.
        pub const MORE: Field = 4..8;
        /// Text length including its NUL.
        pub const LEN: Field = 8..12;
        /// Start of the text (up to 512 bytes, NUL-terminated).
        pub const DATA: usize = 12;
    }

    /// Notification fields.
    pub mod notify {
        use super::Field;
        /// `0xcafebabe`.
        pub const MAGIC: Field = 0..4;
        /// Protocol version, 2.
        pub const VERSION: Field = 4..8;
        /// What is being notified.
        pub const TYPE: Field = 8..12;
        /// Length of the data.
        pub const LEN: Field = 12..16;
        /// Start of the data (up to 512 bytes).
        pub const DATA: usize = 16;
    }
}

fn read_u32(data: &[u8], f: Field) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[f]);
    u32::from_ne_bytes(b)
}

fn write_u32(data: &mut [u8], f: Field, v: u32) {
    data[f].copy_from_slice(&v.to_ne_bytes());
}
