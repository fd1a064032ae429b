//! The notifications the kernel sends with `mconsole=notify:<socket>`: [`NotifyPacket`]
//! and [`NotifyRepr`].

use super::{Error, MAGIC, MAX_DATA, NOTIFY_HEADER_LEN, VERSION, field, read_u32, write_u32};

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
