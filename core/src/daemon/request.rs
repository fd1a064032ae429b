//! The request a client writes: every known layout ([`Layout`]), the wire view
//! ([`Request`]), the decoded form ([`RequestRepr`]) and its errors.

use crate::mac::MacAddr;
use core::fmt;
use core::ops::Range;

use super::addr::write_escaped;
use super::{
    AF_UNIX, AddrError, DataAddr, MAGIC, MAX_DESCRIPTION_LEN, MAX_REQUEST_LEN, REQ_NEW_CONTROL,
    REQUEST_LEN, REQUEST_V0_LEN, REQUEST_V1_LEN, REQUEST_V3_MIN_LEN, SOCKADDR_UN_LEN, VERSION,
    description_of, field, read_u32, write_u32,
};

/// A request layout, to say which one an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layout {
    /// Version 0: no magic, 120 bytes.
    V0,
    /// Version 1: magic then type, 124 bytes.
    V1,
    /// Version 3: magic, version, type, address (+ vde2 description).
    V3,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::V0 => "version 0",
            Layout::V1 => "version 1",
            Layout::V3 => "version 3",
        })
    }
}

/// Why a control request was refused. Every variant is something a switch can log and
/// then close the connection on (the original keeps a version > 3 connection open
/// without answering; see [`RequestError::UnsupportedVersion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestError {
    /// Zero bytes: the client closed before sending a request.
    Empty,
    /// More bytes than one request read can hold.
    TooLong {
        /// How many bytes were given.
        got: usize,
    },
    /// Fewer than 8 bytes: not enough to tell which layout it is.
    Short {
        /// How many bytes were read.
        got: usize,
    },
    /// A request with the magic that ends before its layout does.
    Truncated {
        /// The layout its header announced.
        layout: Layout,
        /// The bytes that layout needs.
        needed: usize,
        /// The bytes read.
        got: usize,
    },
    /// A version 0 or 1 request followed by more bytes than its fixed size.
    TrailingBytes {
        /// The layout.
        layout: Layout,
        /// Its size.
        expected: usize,
        /// The bytes read.
        got: usize,
    },
    /// Version 2, which the original switch refuses.
    Version2,
    /// A version above 3.
    UnsupportedVersion(u32),
    /// A type other than `REQ_NEW_CONTROL`.
    BadType {
        /// The layout.
        layout: Layout,
        /// The type field found.
        ty: u32,
    },
    /// The client's data address is not an `AF_UNIX` address.
    BadFamily {
        /// The layout.
        layout: Layout,
        /// The family found.
        family: u16,
    },
    /// No magic and not the size of a version 0 request: not a uml_switch client.
    Garbage {
        /// The bytes read.
        got: usize,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RequestError::Empty => f.write_str("EOF from new port"),
            RequestError::TooLong { got } => write!(
                f,
                "request of {got} bytes is longer than the {MAX_REQUEST_LEN} bytes a switch reads"
            ),
            RequestError::Short { got } => write!(
                f,
                "request of {got} bytes is too short: a request starts with at least 8 bytes"
            ),
            RequestError::Truncated {
                layout,
                needed,
                got,
            } => write!(
                f,
                "truncated {layout} request: read {got} bytes, the layout needs {needed}"
            ),
            RequestError::TrailingBytes {
                layout,
                expected,
                got,
            } => write!(
                f,
                "{layout} request is {expected} bytes but {got} were sent (stray bytes after it)"
            ),
            RequestError::Version2 => f.write_str("Version 2 is not supported"),
            RequestError::UnsupportedVersion(v) => write!(
                f,
                "Request for a version {v} port, which this switch doesn't support"
            ),
            RequestError::BadType { layout, ty } => write!(
                f,
                "Bad request type : {ty} (in a {layout} request; only {REQ_NEW_CONTROL}, new control, exists)"
            ),
            RequestError::BadFamily { layout, family } => write!(
                f,
                "{layout} request names a data socket of family {family}, expected {AF_UNIX} (AF_UNIX)"
            ),
            RequestError::Garbage { got } => write!(
                f,
                "not a switch request: {got} bytes without the 0xfeedface magic (a version 0 request is exactly {REQUEST_V0_LEN} bytes)"
            ),
        }
    }
}

/// A zero-copy view of a version 3 request (`magic, version, type, sockaddr_un` and,
/// from vde2 clients, a description).
#[derive(Debug, Clone)]
pub struct Request<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Request<T> {
    /// Wraps a buffer without checking its length; accessors may panic until
    /// [`check_len`](Self::check_len) has succeeded.
    pub const fn new_unchecked(buffer: T) -> Self {
        Request { buffer }
    }

    /// Wraps a buffer after checking it holds the version 3 fields.
    pub fn new_checked(buffer: T) -> Result<Self, RequestError> {
        let r = Self::new_unchecked(buffer);
        r.check_len()?;
        Ok(r)
    }

    /// Checks that the buffer reaches the end of the address (122 bytes) and no further
    /// than [`MAX_REQUEST_LEN`].
    pub fn check_len(&self) -> Result<(), RequestError> {
        let got = self.buffer.as_ref().len();
        if got > MAX_REQUEST_LEN {
            Err(RequestError::TooLong { got })
        } else if got < REQUEST_V3_MIN_LEN {
            Err(RequestError::Truncated {
                layout: Layout::V3,
                needed: REQUEST_V3_MIN_LEN,
                got,
            })
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The magic (should be [`MAGIC`]).
    pub fn magic(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::MAGIC)
    }

    /// The version (should be [`VERSION`]).
    pub fn version(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VERSION)
    }

    /// The whole type field.
    pub fn request_type(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::TYPE)
    }

    /// The client's data address, 110 bytes as sent.
    pub fn addr_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[field::ADDR]
    }

    /// The client's data address.
    pub fn addr(&self) -> DataAddr {
        let mut b = [0u8; SOCKADDR_UN_LEN];
        b.copy_from_slice(self.addr_bytes());
        DataAddr::from_array(b)
    }

    /// vde2's description: the bytes from offset 122 up to the first NUL, when the
    /// request is longer than the kernel's 124 bytes. A request of 124 bytes or fewer
    /// has none: there, bytes 122..124 are the kernel's uninitialised tail padding.
    pub fn description(&self) -> &[u8] {
        description_of(self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Request<T> {
    /// Sets the magic.
    pub fn set_magic(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::MAGIC, v)
    }

    /// Sets the version.
    pub fn set_version(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::VERSION, v)
    }

    /// Sets the type field.
    pub fn set_request_type(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::TYPE, v)
    }

    /// Sets the client's data address.
    pub fn set_addr(&mut self, addr: &DataAddr) {
        self.buffer.as_mut()[field::ADDR].copy_from_slice(addr.as_bytes())
    }

    /// Everything from offset 122 (padding or description), for the caller to fill.
    pub fn tail_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DESCRIPTION]
    }
}

/// A decoded control request: everything a switch may act on, from any client the
/// original switch (or vde2) accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestRepr<'a> {
    /// Version 3, from the UML kernel (124 bytes) or a vde2 client (122 bytes and a
    /// description). Answered with the switch's data address.
    V3 {
        /// The client's data socket.
        addr: DataAddr,
        /// vde2's requested port (`type >> 8`); 0, "any port", from every UML kernel.
        port: u32,
        /// vde2's description (`"vde_plug: user=root PID=…"`), empty from the kernel.
        description: &'a [u8],
    },
    /// Version 1 (magic, type 0 where v3 has its version). Answered like version 3.
    V1 {
        /// The client's MAC address.
        mac: MacAddr,
        /// The client's data socket.
        addr: DataAddr,
    },
    /// Version 0 (no magic). The original registers the port and sends **no** reply.
    V0 {
        /// The client's MAC address.
        mac: MacAddr,
        /// The client's data socket.
        addr: DataAddr,
    },
}

/// Why a request could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EmitError {
    /// The buffer is smaller than [`RequestRepr::buffer_len`].
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The description is longer than [`MAX_DESCRIPTION_LEN`] or contains a NUL.
    BadDescription,
    /// The port does not fit in the 24 bits above the type.
    PortTooLarge(u32),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EmitError::BufferTooSmall { needed, got } => write!(
                f,
                "buffer of {got} bytes is too small for the request, {needed} are needed"
            ),
            EmitError::BadDescription => write!(
                f,
                "a description must be at most {MAX_DESCRIPTION_LEN} bytes and contain no NUL"
            ),
            EmitError::PortTooLarge(p) => write!(f, "port {p} does not fit in 24 bits"),
        }
    }
}

fn mac_at(data: &[u8], f: Range<usize>) -> MacAddr {
    let mut m = [0u8; 6];
    m.copy_from_slice(&data[f]);
    MacAddr(m)
}

fn addr_at(data: &[u8], f: Range<usize>, layout: Layout) -> Result<DataAddr, RequestError> {
    DataAddr::from_bytes(&data[f]).map_err(|e| match e {
        AddrError::BadFamily { family } => RequestError::BadFamily { layout, family },
        // The ranges are 110 bytes long, so only the family can be wrong.
        _ => RequestError::Truncated {
            layout,
            needed: SOCKADDR_UN_LEN,
            got: 0,
        },
    })
}

impl<'a> RequestRepr<'a> {
    /// Classifies one read from a new control connection, as the original switch does:
    /// magic and version 3 → version 3; magic and version 2 → refused; magic and a
    /// version above 3 → unsupported; magic and anything else → version 1 (whose type
    /// is where the version would be); no magic → version 0.
    pub fn parse(data: &'a [u8]) -> Result<Self, RequestError> {
        let got = data.len();
        if got == 0 {
            return Err(RequestError::Empty);
        }
        if got > MAX_REQUEST_LEN {
            return Err(RequestError::TooLong { got });
        }
        if got < 8 {
            return Err(RequestError::Short { got });
        }
        if read_u32(data, field::MAGIC) != MAGIC {
            if got != REQUEST_V0_LEN {
                return Err(RequestError::Garbage { got });
            }
            let ty = read_u32(data, field::v0::TYPE);
            if ty != REQ_NEW_CONTROL {
                return Err(RequestError::BadType {
                    layout: Layout::V0,
                    ty,
                });
            }
            return Ok(RequestRepr::V0 {
                mac: mac_at(data, field::v0::MAC),
                addr: addr_at(data, field::v0::ADDR, Layout::V0)?,
            });
        }
        match read_u32(data, field::VERSION) {
            VERSION => {
                let req = Request::new_checked(data)?;
                let ty = req.request_type();
                if ty & 0xff != REQ_NEW_CONTROL {
                    return Err(RequestError::BadType {
                        layout: Layout::V3,
                        ty,
                    });
                }
                Ok(RequestRepr::V3 {
                    addr: addr_at(data, field::ADDR, Layout::V3)?,
                    port: ty >> 8,
                    description: description_of(data),
                })
            }
            2 => Err(RequestError::Version2),
            v if v > VERSION => Err(RequestError::UnsupportedVersion(v)),
            ty => {
                if got < REQUEST_V1_LEN {
                    return Err(RequestError::Truncated {
                        layout: Layout::V1,
                        needed: REQUEST_V1_LEN,
                        got,
                    });
                }
                if got > REQUEST_V1_LEN {
                    return Err(RequestError::TrailingBytes {
                        layout: Layout::V1,
                        expected: REQUEST_V1_LEN,
                        got,
                    });
                }
                if ty != REQ_NEW_CONTROL {
                    return Err(RequestError::BadType {
                        layout: Layout::V1,
                        ty,
                    });
                }
                Ok(RequestRepr::V1 {
                    mac: mac_at(data, field::v1::MAC),
                    addr: addr_at(data, field::v1::ADDR, Layout::V1)?,
                })
            }
        }
    }

    /// The client's data address, whatever the layout.
    pub fn addr(&self) -> &DataAddr {
        match self {
            RequestRepr::V3 { addr, .. }
            | RequestRepr::V1 { addr, .. }
            | RequestRepr::V0 { addr, .. } => addr,
        }
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        match self {
            RequestRepr::V3 { .. } => Layout::V3,
            RequestRepr::V1 { .. } => Layout::V1,
            RequestRepr::V0 { .. } => Layout::V0,
        }
    }

    /// Whether the client waits for the switch's data address ([`REPLY_LEN`](super::REPLY_LEN) bytes).
    /// Version 0 clients get no reply.
    pub fn wants_reply(&self) -> bool {
        !matches!(self, RequestRepr::V0 { .. })
    }

    /// Bytes [`emit`](Self::emit) writes: 124 for the kernel's request, 122 plus the
    /// description (at least 125, so it cannot be taken for the kernel's padding) for
    /// vde2's, 124 for version 1 and 120 for version 0.
    pub fn buffer_len(&self) -> usize {
        match self {
            RequestRepr::V3 {
                description: [], ..
            } => REQUEST_LEN,
            RequestRepr::V3 { description, .. } => {
                (field::DESCRIPTION.start + description.len()).max(REQUEST_LEN + 1)
            }
            RequestRepr::V1 { .. } => REQUEST_V1_LEN,
            RequestRepr::V0 { .. } => REQUEST_V0_LEN,
        }
    }

    /// Writes the request into the front of `buf` and returns its length. Padding is
    /// zeroed; a description is written without a terminating NUL, as libvdeplug does
    /// (zero-padded to 125 bytes when it is shorter than 3 bytes).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let needed = self.buffer_len();
        if let RequestRepr::V3 {
            port, description, ..
        } = self
        {
            if description.len() > MAX_DESCRIPTION_LEN || description.contains(&0) {
                return Err(EmitError::BadDescription);
            }
            if *port > 0x00ff_ffff {
                return Err(EmitError::PortTooLarge(*port));
            }
        }
        if buf.len() < needed {
            return Err(EmitError::BufferTooSmall {
                needed,
                got: buf.len(),
            });
        }
        let out = &mut buf[..needed];
        out.fill(0);
        match self {
            RequestRepr::V3 {
                addr,
                port,
                description,
            } => {
                let mut req = Request::new_unchecked(&mut *out);
                req.set_magic(MAGIC);
                req.set_version(VERSION);
                req.set_request_type(REQ_NEW_CONTROL | (port << 8));
                req.set_addr(addr);
                req.tail_mut()[..description.len()].copy_from_slice(description);
            }
            RequestRepr::V1 { mac, addr } => {
                write_u32(out, field::v1::MAGIC, MAGIC);
                write_u32(out, field::v1::TYPE, REQ_NEW_CONTROL);
                out[field::v1::MAC].copy_from_slice(&mac.0);
                out[field::v1::ADDR].copy_from_slice(addr.as_bytes());
            }
            RequestRepr::V0 { mac, addr } => {
                write_u32(out, field::v0::TYPE, REQ_NEW_CONTROL);
                out[field::v0::MAC].copy_from_slice(&mac.0);
                out[field::v0::ADDR].copy_from_slice(addr.as_bytes());
            }
        }
        Ok(needed)
    }
}

/// A one-line summary for logs, e.g. `version 3 request for @\x00\x00\x92\x10`.
impl fmt::Display for RequestRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} request for {}", self.layout(), self.addr())?;
        match self {
            RequestRepr::V3 {
                port, description, ..
            } => {
                if *port != 0 {
                    write!(f, " port {port}")?;
                }
                if !description.is_empty() {
                    f.write_str(" \"")?;
                    write_escaped(f, description)?;
                    f.write_str("\"")?;
                }
                Ok(())
            }
            RequestRepr::V1 { mac, .. } | RequestRepr::V0 { mac, .. } => {
                let m = mac.0;
                write!(
                    f,
                    " mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    m[0], m[1], m[2], m[3], m[4], m[5]
                )
            }
        }
    }
}
