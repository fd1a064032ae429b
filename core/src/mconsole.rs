//! The UML management console (mconsole) packets, version 2 (spec §6).
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

use core::fmt;
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
    /// The magic is not `0xcafebabe` (the kernel answers [`V0_REJECTION`]).
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// The `len` field is 512 or more (the kernel answers [`REQUEST_TOO_LARGE`]); for a
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

// ---------------------------------------------------------------------------------------
// Request

/// A view of a request datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RequestPacket<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        RequestPacket { buffer }
    }

    /// Wraps a buffer after [`RequestPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks, in the kernel's order, that the header is there, the magic is right,
    /// `len` is below 512 and the datagram holds `len` command bytes. After this no
    /// accessor panics.
    ///
    /// The kernel does not check how many bytes arrived; clients always send 524. This
    /// accepts any datagram that holds the command, and ignores bytes past it.
    pub fn check_len(&self) -> Result<(), Error> {
        let data = self.buffer.as_ref();
        if data.len() < REQUEST_HEADER_LEN {
            return Err(Error::Truncated {
                needed: REQUEST_HEADER_LEN,
                got: data.len(),
            });
        }
        if self.magic() != MAGIC {
            return Err(Error::BadMagic {
                found: self.magic(),
            });
        }
        let len = self.len();
        if len as usize >= MAX_DATA {
            return Err(Error::BadLength { len });
        }
        let needed = REQUEST_HEADER_LEN + len as usize;
        if data.len() < needed {
            return Err(Error::Truncated {
                needed,
                got: data.len(),
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The magic word.
    pub fn magic(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::request::MAGIC)
    }

    /// The protocol version.
    pub fn version(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::request::VERSION)
    }

    /// The command length.
    pub fn len(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::request::LEN)
    }

    /// True when the command is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The command text (`len` bytes).
    pub fn command(&self) -> &[u8] {
        let start = field::request::DATA.start;
        &self.buffer.as_ref()[start..start + self.len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RequestPacket<T> {
    /// Sets the magic word.
    pub fn set_magic(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::request::MAGIC, value);
    }

    /// Sets the protocol version.
    pub fn set_version(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::request::VERSION, value);
    }

    /// Sets the command length.
    pub fn set_len(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::request::LEN, value);
    }

    /// The whole 512-byte command area, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::request::DATA]
    }
}

/// A request as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestRepr<'a> {
    /// The version the client claims (the kernel answers [`VERSION_MISMATCH`] to
    /// anything but 2, and then runs the command anyway).
    pub version: u32,
    /// The command text, without NUL; shorter than 512 bytes.
    pub command: &'a [u8],
}

impl<'a> RequestRepr<'a> {
    /// A version 2 request for `command`, which must be shorter than 512 bytes.
    pub fn new(command: &'a [u8]) -> Result<Self, Error> {
        if command.len() > MAX_COMMAND_LEN {
            return Err(Error::BadLength {
                len: u32::try_from(command.len()).unwrap_or(u32::MAX),
            });
        }
        Ok(RequestRepr {
            version: VERSION,
            command,
        })
    }

    /// Reads a checked request.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &RequestPacket<&'a T>) -> Result<Self, Error> {
        packet.check_len()?;
        let buffer: &'a T = packet.buffer;
        let buffer: &'a [u8] = buffer.as_ref();
        let start = field::request::DATA.start;
        Ok(RequestRepr {
            version: packet.version(),
            command: &buffer[start..start + packet.len() as usize],
        })
    }

    /// The length [`RequestRepr::emit`] writes: always the full 524 bytes, as
    /// `uml_mconsole` sends.
    pub const fn buffer_len(&self) -> usize {
        REQUEST_LEN
    }

    /// Writes the request, zero-filling the rest of the command area. The buffer must
    /// hold [`REQUEST_LEN`] bytes and the command be shorter than 512 bytes (it panics
    /// otherwise; [`RequestRepr::encode`] checks both).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut RequestPacket<T>) {
        packet.set_magic(MAGIC);
        packet.set_version(self.version);
        packet.set_len(self.command.len() as u32);
        let data = packet.data_mut();
        data[..self.command.len()].copy_from_slice(self.command);
        data[self.command.len()..].fill(0);
    }

    /// Writes the request into `out` and returns its length (524).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.command.len() > MAX_COMMAND_LEN {
            return Err(Error::BadLength {
                len: u32::try_from(self.command.len()).unwrap_or(u32::MAX),
            });
        }
        let Some(out) = out.get_mut(..REQUEST_LEN) else {
            return Err(Error::BufferTooSmall {
                needed: REQUEST_LEN,
                got: out.len(),
            });
        };
        self.emit(&mut RequestPacket::new_unchecked(out));
        Ok(REQUEST_LEN)
    }
}

/// What the kernel sends back for a request that fails [`RequestPacket::check_len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rejection {
    /// The bare text [`V0_REJECTION`] as the whole datagram (no reply header).
    PlainText(&'static str),
    /// An ordinary reply.
    Reply(ReplyRepr<'static>),
}

impl Error {
    /// How the 6.1 kernel answers a request that failed with this error, if it answers
    /// at all (it does not check for short datagrams, so those get no answer here).
    pub fn kernel_answer(&self) -> Option<Rejection> {
        match self {
            Error::BadMagic { .. } => Some(Rejection::PlainText(V0_REJECTION)),
            Error::BadLength { .. } => Some(Rejection::Reply(ReplyRepr {
                err: 1,
                more: false,
                text: REQUEST_TOO_LARGE.as_bytes(),
            })),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reply

/// A view of one reply datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ReplyPacket<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        ReplyPacket { buffer }
    }

    /// Wraps a buffer after [`ReplyPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header is there, `len` is 1..=512, the datagram holds `len`
    /// text bytes and the last of them is the NUL. After this no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let data = self.buffer.as_ref();
        if data.len() < REPLY_HEADER_LEN {
            return Err(Error::Truncated {
                needed: REPLY_HEADER_LEN,
                got: data.len(),
            });
        }
        let len = self.len();
        if len == 0 || len as usize > MAX_DATA {
            return Err(Error::BadLength { len });
        }
        let needed = REPLY_HEADER_LEN + len as usize;
        if data.len() < needed {
            return Err(Error::Truncated {
                needed,
                got: data.len(),
            });
        }
        if data[needed - 1] != 0 {
            return Err(Error::MissingNul);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The error code: 0 for OK, 1 for a plain error, or a negative errno.
    pub fn err(&self) -> i32 {
        read_u32(self.buffer.as_ref(), field::reply::ERR) as i32
    }

    /// True when more chunks of this reply follow.
    pub fn more(&self) -> bool {
        read_u32(self.buffer.as_ref(), field::reply::MORE) != 0
    }

    /// The text length plus one (its NUL).
    pub fn len(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::reply::LEN)
    }

    /// True when the text is empty (`len` is 1).
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// The text, without its NUL.
    pub fn text(&self) -> &[u8] {
        let start = field::reply::DATA;
        &self.buffer.as_ref()[start..start + self.len() as usize - 1]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ReplyPacket<T> {
    /// Sets the error code.
    pub fn set_err(&mut self, value: i32) {
        write_u32(self.buffer.as_mut(), field::reply::ERR, value as u32);
    }

    /// Sets the more flag (written as 1 or 0).
    pub fn set_more(&mut self, value: bool) {
        write_u32(self.buffer.as_mut(), field::reply::MORE, u32::from(value));
    }

    /// Sets the length field (text length + 1).
    pub fn set_len(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::reply::LEN, value);
    }

    /// Everything after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::reply::DATA..]
    }
}

/// One reply chunk as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplyRepr<'a> {
    /// 0 for OK, 1 for an error, or a negative errno (only set in the first chunk).
    pub err: i32,
    /// More chunks follow.
    pub more: bool,
    /// The text, without NUL; at most 511 bytes.
    pub text: &'a [u8],
}

impl<'a> ReplyRepr<'a> {
    /// Reads a checked reply.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ReplyPacket<&'a T>) -> Result<Self, Error> {
        packet.check_len()?;
        let buffer: &'a T = packet.buffer;
        let buffer: &'a [u8] = buffer.as_ref();
        let start = field::reply::DATA;
        Ok(ReplyRepr {
            err: packet.err(),
            more: packet.more(),
            text: &buffer[start..start + packet.len() as usize - 1],
        })
    }

    /// The datagram length: header, text and NUL.
    pub const fn buffer_len(&self) -> usize {
        REPLY_HEADER_LEN + self.text.len() + 1
    }

    /// Writes the chunk. The buffer must hold [`ReplyRepr::buffer_len`] bytes and the
    /// text be at most 511 bytes (it panics otherwise; [`ReplyRepr::encode`] checks).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ReplyPacket<T>) {
        packet.set_err(self.err);
        packet.set_more(self.more);
        packet.set_len(self.text.len() as u32 + 1);
        let data = packet.data_mut();
        data[..self.text.len()].copy_from_slice(self.text);
        data[self.text.len()] = 0;
    }

    /// Writes the chunk into `out` and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.text.len() > MAX_CHUNK_LEN {
            return Err(Error::BadLength {
                len: u32::try_from(self.text.len() + 1).unwrap_or(u32::MAX),
            });
        }
        let needed = self.buffer_len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(Error::BufferTooSmall {
                needed,
                got: out.len(),
            });
        };
        self.emit(&mut ReplyPacket::new_unchecked(out));
        Ok(needed)
    }
}

/// Cuts a reply text into the chunks the kernel sends: up to 511 bytes each, `err` in
/// the first only, `more` set on all but the last, whose `more` is the `more` given
/// (normally false). An empty text is one empty chunk.
pub fn reply_chunks(text: &[u8], err: i32, more: bool) -> ReplyChunks<'_> {
    ReplyChunks {
        rest: text,
        err,
        more,
        done: false,
    }
}

/// The iterator of [`reply_chunks`].
#[derive(Debug, Clone)]
pub struct ReplyChunks<'a> {
    rest: &'a [u8],
    err: i32,
    more: bool,
    done: bool,
}

impl<'a> Iterator for ReplyChunks<'a> {
    type Item = ReplyRepr<'a>;

    fn next(&mut self) -> Option<ReplyRepr<'a>> {
        if self.done {
            return None;
        }
        let n = self.rest.len().min(MAX_CHUNK_LEN);
        let (text, rest) = self.rest.split_at(n);
        self.rest = rest;
        let last = rest.is_empty();
        self.done = last;
        let chunk = ReplyRepr {
            err: self.err,
            more: if last { self.more } else { true },
            text,
        };
        self.err = 0;
        Some(chunk)
    }
}

/// A reply datagram as a client may receive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReplyDatagram<'a> {
    /// An ordinary version 2 reply chunk.
    Chunk(ReplyRepr<'a>),
    /// A bare text without header: the kernel's [`V0_REJECTION`] for a bad magic.
    PlainText(&'a [u8]),
}

/// Reads a reply datagram: an ordinary chunk, or the kernel's plain-text rejection
/// (recognised by its leading `ERR `).
pub fn parse_reply_datagram(data: &[u8]) -> Result<ReplyDatagram<'_>, Error> {
    match ReplyPacket::new_checked(data) {
        Ok(packet) => Ok(ReplyDatagram::Chunk(ReplyRepr::parse(&packet)?)),
        Err(_) if data.starts_with(b"ERR ") => Ok(ReplyDatagram::PlainText(data)),
        Err(e) => Err(e),
    }
}

/// Reassembles the chunks of one reply into a caller buffer.
#[derive(Debug, Clone)]
pub struct ReplyReader<B> {
    buffer: B,
    len: usize,
    err: i32,
    started: bool,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> ReplyReader<B> {
    /// A reader that collects up to `buffer.len()` bytes of text.
    pub fn new(buffer: B) -> Self {
        ReplyReader {
            buffer,
            len: 0,
            err: 0,
            started: false,
        }
    }

    /// Takes the next datagram. Returns the whole reply, `(err, text)`, once the last
    /// chunk has arrived (then the reader starts over), or `None` while more are due.
    /// The plain-text rejection is returned as err 1 with its text after `ERR `. On an
    /// error the partial reply is dropped.
    pub fn push(&mut self, datagram: &[u8]) -> Result<Option<(i32, &[u8])>, Error> {
        let (err, more, text) = match parse_reply_datagram(datagram) {
            Ok(ReplyDatagram::Chunk(c)) => (c.err, c.more, c.text),
            Ok(ReplyDatagram::PlainText(t)) => (1, false, &t[4..]),
            Err(e) => {
                self.reset();
                return Err(e);
            }
        };
        if !self.started {
            self.err = err;
            self.started = true;
        }
        let end = self.len + text.len();
        let got = self.buffer.as_ref().len();
        let Some(slot) = self.buffer.as_mut().get_mut(self.len..end) else {
            self.reset();
            return Err(Error::BufferTooSmall { needed: end, got });
        };
        slot.copy_from_slice(text);
        self.len = end;
        if more {
            return Ok(None);
        }
        let (err, len) = (self.err, self.len);
        self.reset();
        Ok(Some((err, &self.buffer.as_ref()[..len])))
    }

    /// Drops any partial reply.
    pub fn reset(&mut self) {
        self.len = 0;
        self.err = 0;
        self.started = false;
    }
}

// ---------------------------------------------------------------------------------------
// Notify

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NotifyType {
    /// 0: the console is ready; the data is its socket path (NUL-terminated).
    Socket,
    /// 1: the kernel panicked; the data is the message.
    Panic,
    /// 2: the kernel hung.
    Hang,
    /// 3: a guest process wrote to `/proc/mconsole`.
    User,
    /// Any other value.
    Unknown(u32),
}

impl From<u32> for NotifyType {
    fn from(v: u32) -> Self {
        match v {
            0 => NotifyType::Socket,
            1 => NotifyType::Panic,
            2 => NotifyType::Hang,
            3 => NotifyType::User,
            other => NotifyType::Unknown(other),
        }
    }
}

impl From<NotifyType> for u32 {
    fn from(t: NotifyType) -> Self {
        match t {
            NotifyType::Socket => 0,
            NotifyType::Panic => 1,
            NotifyType::Hang => 2,
            NotifyType::User => 3,
            NotifyType::Unknown(other) => other,
        }
    }
}

/// A view of a notification datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NotifyPacket<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        NotifyPacket { buffer }
    }

    /// Wraps a buffer after [`NotifyPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the header, the magic, the version, `len` ≤ 512 and that the datagram
    /// holds `len` data bytes. After this no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let data = self.buffer.as_ref();
        if data.len() < NOTIFY_HEADER_LEN {
            return Err(Error::Truncated {
                needed: NOTIFY_HEADER_LEN,
                got: data.len(),
            });
        }
        if self.magic() != MAGIC {
            return Err(Error::BadMagic {
                found: self.magic(),
            });
        }
        if self.version() != VERSION {
            return Err(Error::BadVersion {
                found: self.version(),
            });
        }
        let len = self.len();
        if len as usize > MAX_DATA {
            return Err(Error::BadLength { len });
        }
        let needed = NOTIFY_HEADER_LEN + len as usize;
        if data.len() < needed {
            return Err(Error::Truncated {
                needed,
                got: data.len(),
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The magic word.
    pub fn magic(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::notify::MAGIC)
    }

    /// The protocol version.
    pub fn version(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::notify::VERSION)
    }

    /// What is being notified.
    pub fn notify_type(&self) -> NotifyType {
        NotifyType::from(read_u32(self.buffer.as_ref(), field::notify::TYPE))
    }

    /// The data length.
    pub fn len(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::notify::LEN)
    }

    /// True when there is no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data (`len` bytes; for [`NotifyType::Socket`] a path with its NUL).
    pub fn data(&self) -> &[u8] {
        let start = field::notify::DATA;
        &self.buffer.as_ref()[start..start + self.len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NotifyPacket<T> {
    /// Sets magic and version to `0xcafebabe` and 2.
    pub fn set_header(&mut self) {
        write_u32(self.buffer.as_mut(), field::notify::MAGIC, MAGIC);
        write_u32(self.buffer.as_mut(), field::notify::VERSION, VERSION);
    }

    /// Sets the type.
    pub fn set_notify_type(&mut self, t: NotifyType) {
        write_u32(self.buffer.as_mut(), field::notify::TYPE, t.into());
    }

    /// Sets the data length.
    pub fn set_len(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::notify::LEN, value);
    }

    /// Everything after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::notify::DATA..]
    }
}

/// A notification as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotifyRepr<'a> {
    /// What is being notified.
    pub notify_type: NotifyType,
    /// The data, at most 512 bytes.
    pub data: &'a [u8],
}

impl<'a> NotifyRepr<'a> {
    /// Reads a checked notification.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &NotifyPacket<&'a T>) -> Result<Self, Error> {
        packet.check_len()?;
        let buffer: &'a T = packet.buffer;
        let buffer: &'a [u8] = buffer.as_ref();
        let start = field::notify::DATA;
        Ok(NotifyRepr {
            notify_type: packet.notify_type(),
            data: &buffer[start..start + packet.len() as usize],
        })
    }

    /// The datagram length: 16 + data.
    pub const fn buffer_len(&self) -> usize {
        NOTIFY_HEADER_LEN + self.data.len()
    }

    /// Writes the notification. The buffer must hold [`NotifyRepr::buffer_len`] bytes
    /// and the data be at most 512 bytes (it panics otherwise; [`NotifyRepr::encode`]
    /// checks).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut NotifyPacket<T>) {
        packet.set_header();
        packet.set_notify_type(self.notify_type);
        packet.set_len(self.data.len() as u32);
        packet.data_mut()[..self.data.len()].copy_from_slice(self.data);
    }

    /// Writes the notification into `out` and returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.data.len() > MAX_DATA {
            return Err(Error::BadLength {
                len: u32::try_from(self.data.len()).unwrap_or(u32::MAX),
            });
        }
        let needed = self.buffer_len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(Error::BufferTooSmall {
                needed,
                got: out.len(),
            });
        };
        self.emit(&mut NotifyPacket::new_unchecked(out));
        Ok(needed)
    }
}

// ---------------------------------------------------------------------------------------
// Commands

/// The kernel's commands that are not about networking, in its table order.
pub const OTHER_COMMANDS: [&str; 9] = [
    "halt", "reboot", "sysrq", "cad", "stop", "go", "log", "proc", "stack",
];

/// A request's command text, matched as the 6.1 kernel matches it.
///
/// The text ends at `len` or at the first NUL. A command is recognised when the text
/// **starts with** its name (so `versions` is `version`); arguments start after the
/// name and, for `config` and `remove`, after any white space. The device class is
/// matched by prefix too (`eth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command<'a> {
    /// `version`: the kernel answers `<sysname> <nodename> <release> <version> <machine>`.
    Version,
    /// `help`: the command list.
    Help,
    /// `config eth<n>=<spec>`: add a device. `arg` is the whole argument
    /// (`eth4=mcast`), in the kernel command-line form that [`crate::cmdline`] parses.
    ConfigEth {
        /// `eth<n>=<transport>,…` exactly as given.
        arg: &'a str,
    },
    /// `config eth<n>` without `=`: query a device (the 6.1 kernel has no query for
    /// eth and answers [`NO_GET_CONFIG`]).
    GetConfigEth {
        /// The text after `eth` (normally `<n>`).
        name: &'a str,
    },
    /// `config` of anything that is not `eth…` ([`BAD_CONFIGURATION_OPTION`] unless
    /// it is another device class, such as `ubd`).
    ConfigOther {
        /// The argument after `config` and white space.
        arg: &'a str,
    },
    /// `remove eth<n>` with `<n>` an entire base-0 number (`8`, `010`, `0x8`).
    RemoveEth {
        /// The device number.
        index: u32,
    },
    /// `remove eth<x>` where `<x>` is not an entire number
    /// ([`COULDNT_PARSE_DEVICE_NUMBER`]).
    RemoveEthBadNumber {
        /// The text after `eth`.
        text: &'a str,
    },
    /// `remove` of anything that is not `eth…` ([`BAD_REMOVE_OPTION`] unless it is
    /// another device class).
    RemoveOther {
        /// The argument after `remove` and white space.
        arg: &'a str,
    },
    /// A kernel command that is not about networking (one of [`OTHER_COMMANDS`]).
    Other {
        /// The command name.
        name: &'static str,
        /// Everything after the name, as given.
        args: &'a str,
    },
    /// Text that matches no command ([`UNKNOWN_COMMAND`]), or that is not UTF-8.
    Unknown {
        /// The text (up to the first NUL).
        text: &'a [u8],
    },
}

/// The kernel's `isspace` for ASCII (it includes vertical tab, which Rust's
/// `is_ascii_whitespace` does not).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

impl<'a> Command<'a> {
    /// Matches a request's command text.
    pub fn parse(text: &'a [u8]) -> Command<'a> {
        let text = match text.iter().position(|&b| b == 0) {
            Some(nul) => &text[..nul],
            None => text,
        };
        let Ok(s) = core::str::from_utf8(text) else {
            return Command::Unknown { text };
        };
        if s.starts_with("version") {
            Command::Version
        } else if s.starts_with("help") {
            Command::Help
        } else if let Some(rest) = s.strip_prefix("config") {
            let arg = rest.trim_start_matches(is_space);
            match arg.strip_prefix("eth") {
                Some(name) if name.contains('=') => Command::ConfigEth { arg },
                Some(name) => Command::GetConfigEth { name },
                None => Command::ConfigOther { arg },
            }
        } else if let Some(rest) = s.strip_prefix("remove") {
            let arg = rest.trim_start_matches(is_space);
            match arg.strip_prefix("eth") {
                Some(text) => match parse_device_number(text) {
                    Some(index) => Command::RemoveEth { index },
                    None => Command::RemoveEthBadNumber { text },
                },
                None => Command::RemoveOther { arg },
            }
        } else if let Some(name) = OTHER_COMMANDS.iter().copied().find(|n| s.starts_with(n)) {
            Command::Other {
                name,
                args: &s[name.len()..],
            }
        } else {
            Command::Unknown { text }
        }
    }
}

impl fmt::Display for Command<'_> {
    /// The canonical command text (what [`Command::parse`] reads back to the same
    /// command).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Command::Version => f.write_str("version"),
            Command::Help => f.write_str("help"),
            Command::ConfigEth { arg } | Command::ConfigOther { arg } => {
                write!(f, "config {arg}")
            }
            Command::GetConfigEth { name } => write!(f, "config eth{name}"),
            Command::RemoveEth { index } => write!(f, "remove eth{index}"),
            Command::RemoveEthBadNumber { text } => write!(f, "remove eth{text}"),
            Command::RemoveOther { arg } => write!(f, "remove {arg}"),
            Command::Other { name, args } => write!(f, "{name}{args}"),
            Command::Unknown { text } => match core::str::from_utf8(text) {
                Ok(s) => f.write_str(s),
                Err(_) => {
                    for chunk in text.utf8_chunks() {
                        f.write_str(chunk.valid())?;
                        for b in chunk.invalid() {
                            write!(f, "\\x{b:02x}")?;
                        }
                    }
                    Ok(())
                }
            },
        }
    }
}

/// Reads a device number as the kernel's `simple_strtoul(…, 0)` plus its "entire
/// string" check: `0x`/`0X` followed by a hex digit is hexadecimal, a leading `0`
/// octal, otherwise decimal; no sign, no white space, at least one digit, nothing
/// after. Where the kernel's `int` would wrap (values of 2^31 and more) this returns
/// `None`, so those are reported as unparsable instead of naming another device.
pub fn parse_device_number(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    let (radix, digits) = match b {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &text[2..]),
        [b'0', ..] => (8, text),
        _ => (10, text),
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    let n = u32::from_str_radix(digits, radix).ok()?;
    (n <= i32::MAX as u32).then_some(n)
}

// ---------------------------------------------------------------------------------------
// Fuzzing

/// Fuzz entry: reads `data` as a request (and its command), a reply and a notification,
/// and checks that whatever parses encodes back to the same bytes; then sends `data`
/// through [`reply_chunks`] and [`ReplyReader`]. Never panics on any input.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    use core::fmt::Write as _;

    match RequestPacket::new_checked(data) {
        Ok(packet) => {
            let repr = RequestRepr::parse(&packet).expect("checked");
            let mut out = [0u8; REQUEST_LEN];
            assert_eq!(repr.encode(&mut out), Ok(REQUEST_LEN));
            let again = RequestRepr::parse(&RequestPacket::new_unchecked(&out[..]));
            assert_eq!(again, Ok(repr));
            let command = Command::parse(repr.command);
            let mut printed: heapless::String<2048> = heapless::String::new();
            write!(printed, "{command}").expect("2048 bytes hold any printed command");
            if !matches!(command, Command::Unknown { text } if core::str::from_utf8(text).is_err())
            {
                assert_eq!(Command::parse(printed.as_bytes()), command);
            }
        }
        Err(e) => {
            if data.len() >= REQUEST_HEADER_LEN && data[..4] != MAGIC.to_ne_bytes() {
                assert!(matches!(e, Error::BadMagic { .. }));
                assert_eq!(e.kernel_answer(), Some(Rejection::PlainText(V0_REJECTION)));
            }
        }
    }

    if let Ok(datagram) = parse_reply_datagram(data) {
        if let ReplyDatagram::Chunk(repr) = datagram {
            let mut out = [0u8; MAX_REPLY_LEN];
            let n = repr.encode(&mut out).expect("a parsed chunk fits");
            // `more` is normalised to 0/1; everything else is as received.
            assert_eq!(&out[..4], &data[..4]);
            assert_eq!(&out[8..n], &data[8..n]);
            let again = ReplyRepr::parse(&ReplyPacket::new_unchecked(&out[..n]));
            assert_eq!(again, Ok(repr));
        }
        let mut reader = ReplyReader::new([0u8; MAX_DATA]);
        let _ = reader.push(data);
    }

    if let Ok(packet) = NotifyPacket::new_checked(data) {
        let repr = NotifyRepr::parse(&packet).expect("checked");
        let mut out = [0u8; NOTIFY_HEADER_LEN + MAX_DATA];
        let n = repr.encode(&mut out).expect("a parsed notification fits");
        assert_eq!(&out[..n], &data[..n]);
    }

    let mut reader = ReplyReader::new([0u8; 4096]);
    let mut whole = None;
    for chunk in reply_chunks(data, -22, false) {
        let mut out = [0u8; MAX_REPLY_LEN];
        let n = chunk.encode(&mut out).expect("chunks fit");
        match reader.push(&out[..n]) {
            Ok(Some((err, text))) => {
                assert_eq!(err, -22);
                assert_eq!(text, data);
                whole = Some(());
            }
            Ok(None) => assert!(chunk.more),
            Err(e) => {
                assert!(data.len() > 4096);
                assert!(matches!(e, Error::BufferTooSmall { .. }));
                return;
            }
        }
    }
    assert!(whole.is_some());
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    /// `config eth4=mcast` as `uml_mconsole` sent it (spec §6, observed).
    fn observed_config_request() -> Vec<u8> {
        let mut v = vec![
            0xbe, 0xba, 0xfe, 0xca, 0x02, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
        ];
        v.extend_from_slice(b"config eth4=mcast");
        v.resize(REQUEST_LEN, 0);
        v
    }

    #[test]
    fn observed_request_parses() {
        let bytes = observed_config_request();
        let packet = RequestPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.magic(), 0xcafebabe);
        assert_eq!(packet.version(), 2);
        assert_eq!(packet.len(), 17);
        let repr = RequestRepr::parse(&packet).unwrap();
        assert_eq!(repr.command, b"config eth4=mcast");
        assert_eq!(
            Command::parse(repr.command),
            Command::ConfigEth { arg: "eth4=mcast" }
        );
        let mut out = [0xffu8; 600];
        assert_eq!(repr.encode(&mut out), Ok(524));
        assert_eq!(&out[..524], &bytes[..]);
    }

    #[test]
    fn request_errors_in_kernel_order() {
        let mut bytes = observed_config_request();
        assert_eq!(
            RequestPacket::new_checked(&bytes[..11]).unwrap_err(),
            Error::Truncated {
                needed: 12,
                got: 11
            }
        );
        // Only 28 of the 29 bytes the header promises.
        assert_eq!(
            RequestPacket::new_checked(&bytes[..28]).unwrap_err(),
            Error::Truncated {
                needed: 29,
                got: 28
            }
        );
        bytes[8..12].copy_from_slice(&512u32.to_ne_bytes());
        let e = RequestPacket::new_checked(&bytes[..]).unwrap_err();
        assert_eq!(e, Error::BadLength { len: 512 });
        assert_eq!(
            e.kernel_answer(),
            Some(Rejection::Reply(ReplyRepr {
                err: 1,
                more: false,
                text: b"Request too large"
            }))
        );
        bytes[8..12].copy_from_slice(&511u32.to_ne_bytes());
        assert!(RequestPacket::new_checked(&bytes[..]).is_ok());
        // A version 0 client sends bare text: the magic check comes first.
        let e = RequestPacket::new_checked(&b"config eth0=mcast"[..]).unwrap_err();
        assert_eq!(
            e,
            Error::BadMagic {
                found: u32::from_ne_bytes(*b"conf")
            }
        );
        assert_eq!(
            e.kernel_answer(),
            Some(Rejection::PlainText(
                "ERR Version 0 mconsole clients are not supported by this driver"
            ))
        );
    }

    #[test]
    fn wrong_version_still_parses() {
        let mut bytes = observed_config_request();
        bytes[4] = 1;
        let repr = RequestRepr::parse(&RequestPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(repr.version, 1);
        assert_eq!(repr.command, b"config eth4=mcast");
    }

    #[test]
    fn long_commands_are_refused_when_encoding() {
        let long = [b'x'; 512];
        assert_eq!(
            RequestRepr::new(&long).unwrap_err(),
            Error::BadLength { len: 512 }
        );
        assert!(RequestRepr::new(&long[..511]).is_ok());
        let mut small = [0u8; 100];
        assert_eq!(
            RequestRepr::new(b"version").unwrap().encode(&mut small),
            Err(Error::BufferTooSmall {
                needed: 524,
                got: 100
            })
        );
    }

    /// The real linux.uml 6.1 reply to `remove eth0x1f` (no such device), captured on
    /// the client socket.
    const KERNEL_ENODEV_REPLY: [u8; 33] = *b"\xed\xff\xff\xff\x00\x00\x00\x00\x15\x00\x00\x00\
Device doesn't exist\x00";

    #[test]
    fn real_kernel_enodev_reply() {
        let packet = ReplyPacket::new_checked(&KERNEL_ENODEV_REPLY[..]).unwrap();
        let repr = ReplyRepr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            ReplyRepr {
                err: ERR_ENODEV,
                more: false,
                text: DEVICE_DOESNT_EXIST.as_bytes()
            }
        );
        let chunks: Vec<_> =
            reply_chunks(DEVICE_DOESNT_EXIST.as_bytes(), ERR_ENODEV, false).collect();
        let mut out = [0u8; 64];
        let n = chunks[0].encode(&mut out).unwrap();
        assert_eq!(&out[..n], &KERNEL_ENODEV_REPLY[..]);
    }

    #[test]
    fn empty_ok_reply_is_13_bytes() {
        let mut out = [0u8; 64];
        let chunks: Vec<_> = reply_chunks(b"", 0, false).collect();
        assert_eq!(
            chunks,
            [ReplyRepr {
                err: 0,
                more: false,
                text: b""
            }]
        );
        let n = chunks[0].encode(&mut out).unwrap();
        assert_eq!(n, 13);
        assert_eq!(&out[..13], &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        let packet = ReplyPacket::new_checked(&out[..13]).unwrap();
        assert_eq!(
            (packet.err(), packet.more(), packet.text()),
            (0, false, &b""[..])
        );
    }

    #[test]
    fn einval_reply_bytes() {
        let repr = ReplyRepr {
            err: ERR_EINVAL,
            more: false,
            text: DEVICE_ALREADY_CONFIGURED.as_bytes(),
        };
        let mut out = [0u8; 64];
        let n = repr.encode(&mut out).unwrap();
        assert_eq!(n, 12 + 25 + 1);
        assert_eq!(&out[..4], &[0xea, 0xff, 0xff, 0xff]);
        assert_eq!(&out[8..12], &[26, 0, 0, 0]);
        let back = ReplyRepr::parse(&ReplyPacket::new_checked(&out[..n]).unwrap()).unwrap();
        assert_eq!(back.err, -22);
        // uml_mconsole exits with err; the shell sees its low byte.
        assert_eq!(back.err as u32 & 0xff, 234);
    }

    #[test]
    fn reply_checks() {
        let mut out = [0u8; 64];
        let n = ReplyRepr {
            err: 0,
            more: false,
            text: b"abc",
        }
        .encode(&mut out)
        .unwrap();
        assert_eq!(
            ReplyPacket::new_checked(&out[..n - 1]).unwrap_err(),
            Error::Truncated {
                needed: 16,
                got: 15
            }
        );
        out[n - 1] = b'!';
        assert_eq!(
            ReplyPacket::new_checked(&out[..n]).unwrap_err(),
            Error::MissingNul
        );
        out[8..12].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(
            ReplyPacket::new_checked(&out[..n]).unwrap_err(),
            Error::BadLength { len: 0 }
        );
    }

    #[test]
    fn long_replies_are_chunked_like_the_kernel() {
        let text: Vec<u8> = (0..1200).map(|i| b'a' + (i % 26) as u8).collect();
        let chunks: Vec<_> = reply_chunks(&text, 1, false).collect();
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks.iter().map(|c| c.text.len()).collect::<Vec<_>>(),
            [511, 511, 178]
        );
        assert_eq!(
            chunks.iter().map(|c| (c.err, c.more)).collect::<Vec<_>>(),
            [(1, true), (0, true), (0, false)]
        );
        // Exactly 511 bytes is one chunk; 512 is two.
        assert_eq!(reply_chunks(&text[..511], 0, false).count(), 1);
        assert_eq!(reply_chunks(&text[..512], 0, false).count(), 2);

        let mut reader = ReplyReader::new([0u8; 2048]);
        let mut buf = [0u8; MAX_REPLY_LEN];
        for (i, c) in chunks.iter().enumerate() {
            let n = c.encode(&mut buf).unwrap();
            let got = reader.push(&buf[..n]).unwrap();
            if i < 2 {
                assert!(got.is_none());
            } else {
                assert_eq!(got, Some((1, &text[..])));
            }
        }
    }

    #[test]
    fn reader_reports_overflow_and_plain_text() {
        let mut reader = ReplyReader::new([0u8; 10]);
        let mut buf = [0u8; MAX_REPLY_LEN];
        let n = ReplyRepr {
            err: 0,
            more: false,
            text: b"0123456789A",
        }
        .encode(&mut buf)
        .unwrap();
        assert_eq!(
            reader.push(&buf[..n]),
            Err(Error::BufferTooSmall {
                needed: 11,
                got: 10
            })
        );
        let mut reader = ReplyReader::new([0u8; 100]);
        assert_eq!(
            reader.push(V0_REJECTION.as_bytes()),
            Ok(Some((
                1,
                &b"Version 0 mconsole clients are not supported by this driver"[..]
            )))
        );
        assert_eq!(
            parse_reply_datagram(V0_REJECTION.as_bytes()),
            Ok(ReplyDatagram::PlainText(V0_REJECTION.as_bytes()))
        );
    }

    #[test]
    fn notify_socket_packet() {
        let path = b"/root/.uml/abc123/mconsole\0";
        let repr = NotifyRepr {
            notify_type: NotifyType::Socket,
            data: path,
        };
        let mut out = [0u8; 600];
        let n = repr.encode(&mut out).unwrap();
        assert_eq!(n, 16 + path.len());
        assert_eq!(
            &out[..16],
            &[0xbe, 0xba, 0xfe, 0xca, 2, 0, 0, 0, 0, 0, 0, 0, 27, 0, 0, 0]
        );
        let packet = NotifyPacket::new_checked(&out[..n]).unwrap();
        assert_eq!(NotifyRepr::parse(&packet), Ok(repr));
        out[8] = 7;
        let packet = NotifyPacket::new_checked(&out[..n]).unwrap();
        assert_eq!(packet.notify_type(), NotifyType::Unknown(7));
        out[4] = 3;
        assert_eq!(
            NotifyPacket::new_checked(&out[..n]).unwrap_err(),
            Error::BadVersion { found: 3 }
        );
    }

    #[test]
    fn commands_match_by_prefix_like_the_kernel() {
        let p = |s: &'static str| Command::parse(s.as_bytes());
        assert_eq!(p("version"), Command::Version);
        assert_eq!(p("versionfoo"), Command::Version);
        assert_eq!(p("help"), Command::Help);
        assert_eq!(
            p("config eth4=mcast"),
            Command::ConfigEth { arg: "eth4=mcast" }
        );
        assert_eq!(
            p("config \t eth0=daemon,,unix,/tmp/ctl"),
            Command::ConfigEth {
                arg: "eth0=daemon,,unix,/tmp/ctl"
            }
        );
        assert_eq!(
            p("configeth1=tuntap,,,1.2.3.4"),
            Command::ConfigEth {
                arg: "eth1=tuntap,,,1.2.3.4"
            }
        );
        assert_eq!(p("config eth4"), Command::GetConfigEth { name: "4" });
        assert_eq!(
            p("config ubd0=/tmp/x"),
            Command::ConfigOther { arg: "ubd0=/tmp/x" }
        );
        assert_eq!(p("remove eth3"), Command::RemoveEth { index: 3 });
        assert_eq!(p("remove  eth0x1f"), Command::RemoveEth { index: 31 });
        assert_eq!(p("remove eth010"), Command::RemoveEth { index: 8 });
        assert_eq!(
            p("remove eth08"),
            Command::RemoveEthBadNumber { text: "08" }
        );
        assert_eq!(
            p("remove eth3 "),
            Command::RemoveEthBadNumber { text: "3 " }
        );
        assert_eq!(p("remove eth"), Command::RemoveEthBadNumber { text: "" });
        assert_eq!(p("remove ubd0"), Command::RemoveOther { arg: "ubd0" });
        assert_eq!(
            p("sysrq s"),
            Command::Other {
                name: "sysrq",
                args: " s"
            }
        );
        assert_eq!(
            p("halt"),
            Command::Other {
                name: "halt",
                args: ""
            }
        );
        assert_eq!(
            p("frobnicate"),
            Command::Unknown {
                text: b"frobnicate"
            }
        );
        assert_eq!(p(" version"), Command::Unknown { text: b" version" });
        // The kernel's strings end at the first NUL.
        assert_eq!(Command::parse(b"help\0garbage"), Command::Help);
        assert_eq!(
            Command::parse(b"ver\0sion"),
            Command::Unknown { text: b"ver" }
        );
        assert_eq!(
            Command::parse(b"\xffhelp"),
            Command::Unknown { text: b"\xffhelp" }
        );
    }

    #[test]
    fn device_numbers_are_base_0() {
        assert_eq!(parse_device_number("0"), Some(0));
        assert_eq!(parse_device_number("17"), Some(17));
        assert_eq!(parse_device_number("0x1"), Some(1));
        assert_eq!(parse_device_number("0XfF"), Some(255));
        assert_eq!(parse_device_number("010"), Some(8));
        assert_eq!(parse_device_number("0x"), None);
        assert_eq!(parse_device_number("0xg"), None);
        assert_eq!(parse_device_number("09"), None);
        assert_eq!(parse_device_number(""), None);
        assert_eq!(parse_device_number("+1"), None);
        assert_eq!(parse_device_number(" 1"), None);
        assert_eq!(parse_device_number("2147483647"), Some(i32::MAX as u32));
        assert_eq!(parse_device_number("2147483648"), None);
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(Command::RemoveEth { index: 8 }.to_string(), "remove eth8");
        assert_eq!(
            Command::ConfigEth { arg: "eth4=mcast" }.to_string(),
            "config eth4=mcast"
        );
        assert_eq!(Command::Unknown { text: b"a\xffb" }.to_string(), "a\\xffb");
        assert_eq!(
            Error::BadLength { len: 600 }.to_string(),
            "mconsole len field is 600: a request's must be below 512, a reply's between 1 \
             and 512"
        );
    }

    #[test]
    fn fuzz_one_on_vectors() {
        fuzz_one(&observed_config_request());
        fuzz_one(b"");
        fuzz_one(V0_REJECTION.as_bytes());
        fuzz_one(&[0u8; 13]);
        fuzz_one(&[b'z'; 5000]);
    }

    fn command_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "(version|help|config|remove|halt|sysrq|log|go)[ \t]{0,2}(eth)?[0-9xX=a-f, ]{0,12}",
            "\\PC{0,30}",
        ]
    }

    proptest! {
        #[test]
        fn request_emit_then_parse_is_identity(version in any::<u32>(), command in proptest::collection::vec(any::<u8>(), 0..=511)) {
            let repr = RequestRepr { version, command: &command };
            let mut buf = [0u8; REQUEST_LEN];
            prop_assert_eq!(repr.encode(&mut buf), Ok(REQUEST_LEN));
            let packet = RequestPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(RequestRepr::parse(&packet), Ok(repr));
        }

        #[test]
        fn reply_emit_then_parse_is_identity(err in any::<i32>(), more in any::<bool>(), text in proptest::collection::vec(any::<u8>(), 0..=511)) {
            let repr = ReplyRepr { err, more, text: &text };
            let mut buf = [0u8; MAX_REPLY_LEN];
            let n = repr.encode(&mut buf).unwrap();
            prop_assert_eq!(n, 13 + text.len());
            let packet = ReplyPacket::new_checked(&buf[..n]).unwrap();
            prop_assert_eq!(ReplyRepr::parse(&packet), Ok(repr));
        }

        #[test]
        fn notify_emit_then_parse_is_identity(t in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..=512)) {
            let repr = NotifyRepr { notify_type: NotifyType::from(t), data: &data };
            let mut buf = [0u8; NOTIFY_HEADER_LEN + MAX_DATA];
            let n = repr.encode(&mut buf).unwrap();
            let packet = NotifyPacket::new_checked(&buf[..n]).unwrap();
            prop_assert_eq!(NotifyRepr::parse(&packet), Ok(repr));
            prop_assert_eq!(u32::from(repr.notify_type), t);
        }

        #[test]
        fn chunks_reassemble(err in any::<i32>(), text in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut reader = ReplyReader::new([0u8; 2000]);
            let chunks: Vec<_> = reply_chunks(&text, err, false).collect();
            prop_assert_eq!(chunks.len(), text.len().div_ceil(511).max(1));
            let mut buf = [0u8; MAX_REPLY_LEN];
            let mut result = None;
            for c in &chunks {
                let n = c.encode(&mut buf).unwrap();
                prop_assert!(n <= MAX_REPLY_LEN);
                if let Some((e, t)) = reader.push(&buf[..n]).unwrap() {
                    result = Some((e, t.to_vec()));
                }
            }
            prop_assert_eq!(result, Some((err, text)));
        }

        #[test]
        fn command_print_then_parse_is_identity(s in command_text()) {
            let command = Command::parse(s.as_bytes());
            let printed = command.to_string();
            prop_assert_eq!(Command::parse(printed.as_bytes()), command);
        }

        #[test]
        fn device_number_round_trips(n in 0u32..=i32::MAX as u32) {
            let dec = std::format!("{n}");
            let hex = std::format!("0x{n:x}");
            let oct = std::format!("0{n:o}");
            prop_assert_eq!(parse_device_number(&dec), Some(n));
            prop_assert_eq!(parse_device_number(&hex), Some(n));
            prop_assert_eq!(parse_device_number(&oct), Some(n));
        }

        #[test]
        fn fuzz_one_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            fuzz_one(&bytes);
        }
    }
}
