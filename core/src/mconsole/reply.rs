//! The kernel's replies: [`ReplyPacket`], [`ReplyRepr`], the chunking of long texts
//! ([`reply_chunks`]) and their reassembly ([`ReplyReader`]).

use super::{Error, MAX_CHUNK_LEN, MAX_DATA, REPLY_HEADER_LEN, field, read_u32, write_u32};

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
    /// A bare text without header: the kernel's [`V0_REJECTION`](super::V0_REJECTION) for a bad magic.
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
