//! The request a client sends: [`RequestPacket`] (the wire view) and [`RequestRepr`].

use super::{
    Error, MAGIC, MAX_COMMAND_LEN, MAX_DATA, REQUEST_HEADER_LEN, REQUEST_LEN, REQUEST_TOO_LARGE,
    ReplyRepr, V0_REJECTION, VERSION, field, read_u32, write_u32,
};

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
    /// The version the client claims (the kernel answers [`VERSION_MISMATCH`](super::VERSION_MISMATCH) to
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
