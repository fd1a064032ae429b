//! The `uml_switch` control protocol (the kernel's `daemon` transport, spec §3).
//!
//! A client connects a stream socket to the switch's control path, binds a datagram
//! socket (its *data address*), and writes one request naming that address. The switch
//! answers with the 110-byte `sockaddr_un` of its own data socket; from then on frames
//! are bare datagrams between the two data addresses, and closing the control
//! connection is the only teardown.
//!
//! This module holds the request layouts every known client sends, decoded from **one
//! read** of up to [`MAX_REQUEST_LEN`] bytes (there is no reassembly, as in the original
//! switch), the reply, and [`DataAddr`], the opaque 110-byte socket address both sides
//! exchange.
//!
//! Byte order: the integers are the C structure's `uint32_t`/`enum` fields in the
//! **host's native order**. On x86_64 (the real UML kernel and uml_switch) that is
//! little-endian, which is why the kernel's request starts `ce fa ed fe 03 00 00 00`;
//! the code uses `from_ne_bytes`/`to_ne_bytes` so that a guest built for another
//! host order speaks that host's protocol, exactly as the C code does.
//!
//! ```
//! use umlnet_core::daemon::{DataAddr, RequestRepr, REQUEST_LEN};
//!
//! // What a UML kernel with pid 4242 sends.
//! let addr = DataAddr::uml_abstract(4242, 123_456);
//! let repr = RequestRepr::V3 { addr, port: 0, description: b"" };
//! let mut buf = [0u8; REQUEST_LEN];
//! let n = repr.emit(&mut buf).unwrap();
//! assert_eq!(&buf[..8], &[0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0]);
//! assert_eq!(RequestRepr::parse(&buf[..n]), Ok(repr));
//! ```

use crate::mac::MacAddr;
use core::fmt;
use core::ops::Range;

/// The request magic, `0xfeedface` (`SWITCH_MAGIC`).
pub const MAGIC: u32 = 0xfeed_face;
/// The protocol version the 6.1 kernel sends and this module speaks.
pub const VERSION: u32 = 3;
/// The only request type: "connect me" (`REQ_NEW_CONTROL`, C enum value 0).
pub const REQ_NEW_CONTROL: u32 = 0;
/// Length of the kernel's version 3 request (`struct request_v3`, with 2 bytes of tail padding).
pub const REQUEST_LEN: usize = 124;
/// Length of the version 1 request (`magic, type, mac[6], sockaddr_un`).
pub const REQUEST_V1_LEN: usize = 124;
/// Length of the version 0 request (`type, mac[6], sockaddr_un`; no magic).
pub const REQUEST_V0_LEN: usize = 120;
/// Shortest version 3 request a switch can act on: everything up to the end of the address
/// (vde2's packed layout with an empty description).
pub const REQUEST_V3_MIN_LEN: usize = field::ADDR.end;
/// The most a switch reads for one request (vde2's read size; uml_switch reads 124).
pub const MAX_REQUEST_LEN: usize = 256;
/// Longest description a version 3 request can carry within [`MAX_REQUEST_LEN`].
pub const MAX_DESCRIPTION_LEN: usize = MAX_REQUEST_LEN - field::DESCRIPTION.start;
/// Length of a `struct sockaddr_un` on Linux: a u16 family and 108 bytes of path.
pub const SOCKADDR_UN_LEN: usize = 110;
/// Length of `sun_path`.
pub const SUN_PATH_LEN: usize = SOCKADDR_UN_LEN - 2;
/// Longest filesystem path or abstract name that [`DataAddr`] builds (108 less one byte:
/// the terminating NUL of a path, or the leading NUL of an abstract name).
pub const SUN_NAME_MAX: usize = SUN_PATH_LEN - 1;
/// `AF_UNIX`, the only family the protocol uses.
pub const AF_UNIX: u16 = 1;
/// Length of the switch's reply: its data socket's `sockaddr_un`.
pub const REPLY_LEN: usize = SOCKADDR_UN_LEN;

/// Byte offsets of the request layouts.
pub mod field {
    /// A fixed-size field.
    pub type Field = core::ops::Range<usize>;
    /// A field running to the end of the buffer.
    pub type Rest = core::ops::RangeFrom<usize>;

    /// Version 3 (the kernel, uml_switch, vde2).
    pub const MAGIC: Field = 0..4;
    /// Protocol version (3).
    pub const VERSION: Field = 4..8;
    /// Request type; vde2 clients put a requested port number in bits 8 and up.
    pub const TYPE: Field = 8..12;
    /// The client's data `sockaddr_un`, 110 bytes.
    pub const ADDR: Field = 12..122;
    /// The C structure's tail padding (not initialised by the kernel).
    pub const PADDING: Field = 122..124;
    /// vde2's packed layout: a description string (no terminating NUL on the wire).
    pub const DESCRIPTION: Rest = 122..;

    /// Version 1: `magic, type, mac[6], sockaddr_un` (124 bytes). The type sits where
    /// version 3 has its version, which is how the original tells the two apart.
    pub mod v1 {
        use super::Field;
        /// The magic.
        pub const MAGIC: Field = 0..4;
        /// Request type.
        pub const TYPE: Field = 4..8;
        /// The client's MAC address.
        pub const MAC: Field = 8..14;
        /// The client's data `sockaddr_un`.
        pub const ADDR: Field = 14..124;
    }

    /// Version 0: `type, mac[6], sockaddr_un` (120 bytes), no magic, no reply.
    pub mod v0 {
        use super::Field;
        /// Request type.
        pub const TYPE: Field = 0..4;
        /// The client's MAC address.
        pub const MAC: Field = 4..10;
        /// The client's data `sockaddr_un`.
        pub const ADDR: Field = 10..120;
    }
}

fn read_u32(data: &[u8], f: Range<usize>) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[f]);
    // Native order: little-endian on x86_64, as the kernel and uml_switch write it.
    u32::from_ne_bytes(b)
}

fn description_of(data: &[u8]) -> &[u8] {
    if data.len() <= REQUEST_LEN {
        return &[];
    }
    let rest = &data[field::DESCRIPTION];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    &rest[..end]
}

fn write_u32(data: &mut [u8], f: Range<usize>, v: u32) {
    data[f].copy_from_slice(&v.to_ne_bytes());
}

/// Why a [`DataAddr`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AddrError {
    /// The bytes are not exactly 110 long.
    WrongLength {
        /// How many bytes were given.
        got: usize,
    },
    /// `sun_family` is not `AF_UNIX` (1).
    BadFamily {
        /// The family found.
        family: u16,
    },
    /// A path or abstract name is longer than [`SUN_NAME_MAX`] bytes.
    TooLong {
        /// Its length.
        got: usize,
    },
    /// A filesystem path is empty.
    EmptyPath,
    /// A filesystem path contains a NUL byte.
    NulInPath,
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AddrError::WrongLength { got } => write!(
                f,
                "a unix socket address must be exactly {SOCKADDR_UN_LEN} bytes, got {got}"
            ),
            AddrError::BadFamily { family } => write!(
                f,
                "socket address family is {family}, expected {AF_UNIX} (AF_UNIX)"
            ),
            AddrError::TooLong { got } => write!(
                f,
                "unix socket name is {got} bytes long, at most {SUN_NAME_MAX} fit in sun_path"
            ),
            AddrError::EmptyPath => f.write_str("unix socket path is empty"),
            AddrError::NulInPath => f.write_str("unix socket path contains a NUL byte"),
        }
    }
}

/// A unix datagram socket address exactly as it travels in the protocol: an opaque
/// 110-byte `struct sockaddr_un`.
///
/// The kernel binds its data socket with addrlen 110 to an abstract name whose 108 bytes
/// include uninitialised memory, and the original switch finds a frame's port by
/// comparing all 110 bytes. So an address is kept, compared and sent back byte for byte,
/// never reduced to a "name".
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataAddr([u8; SOCKADDR_UN_LEN]);

impl DataAddr {
    /// Wraps 110 bytes as they are, whatever they hold.
    pub const fn from_array(bytes: [u8; SOCKADDR_UN_LEN]) -> Self {
        DataAddr(bytes)
    }

    /// Takes an address from the wire: exactly 110 bytes with family `AF_UNIX`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddrError> {
        let arr: [u8; SOCKADDR_UN_LEN] = bytes
            .try_into()
            .map_err(|_| AddrError::WrongLength { got: bytes.len() })?;
        let addr = DataAddr(arr);
        if addr.family() != AF_UNIX {
            return Err(AddrError::BadFamily {
                family: addr.family(),
            });
        }
        Ok(addr)
    }

    /// An abstract address: `sun_path[0] = 0`, then `name`, then zeros to the full 108 bytes.
    pub fn abstract_from(name: &[u8]) -> Result<Self, AddrError> {
        if name.len() > SUN_NAME_MAX {
            return Err(AddrError::TooLong { got: name.len() });
        }
        let mut b = [0u8; SOCKADDR_UN_LEN];
        b[..2].copy_from_slice(&AF_UNIX.to_ne_bytes());
        b[3..3 + name.len()].copy_from_slice(name);
        Ok(DataAddr(b))
    }

    /// A filesystem address: the path, NUL-terminated and zero-filled (as vde2 builds them).
    pub fn from_path(path: &str) -> Result<Self, AddrError> {
        let p = path.as_bytes();
        if p.is_empty() {
            return Err(AddrError::EmptyPath);
        }
        if p.contains(&0) {
            return Err(AddrError::NulInPath);
        }
        if p.len() > SUN_NAME_MAX {
            return Err(AddrError::TooLong { got: p.len() });
        }
        let mut b = [0u8; SOCKADDR_UN_LEN];
        b[..2].copy_from_slice(&AF_UNIX.to_ne_bytes());
        b[2..2 + p.len()].copy_from_slice(p);
        Ok(DataAddr(b))
    }

    /// The abstract address the kernel and uml_switch build for their data sockets:
    /// `sun_path` = `{ char zero; int pid; int usecs; }` (padding bytes zero here), then zeros.
    pub fn uml_abstract(pid: u32, usecs: u32) -> Self {
        let mut b = [0u8; SOCKADDR_UN_LEN];
        b[..2].copy_from_slice(&AF_UNIX.to_ne_bytes());
        b[6..10].copy_from_slice(&pid.to_ne_bytes());
        b[10..14].copy_from_slice(&usecs.to_ne_bytes());
        DataAddr(b)
    }

    /// All 110 bytes, as to pass to `bind`/`sendto` with addrlen 110.
    pub const fn as_bytes(&self) -> &[u8; SOCKADDR_UN_LEN] {
        &self.0
    }

    /// `sun_family` (1 for every address this module builds or accepts from the wire).
    pub fn family(&self) -> u16 {
        u16::from_ne_bytes([self.0[0], self.0[1]])
    }

    /// The 108 bytes of `sun_path`.
    pub fn sun_path(&self) -> &[u8] {
        &self.0[2..]
    }

    /// True for an abstract address (`sun_path[0] == 0`).
    pub fn is_abstract(&self) -> bool {
        self.0[2] == 0
    }

    /// For an abstract address, its 107 name bytes after the leading NUL (all of them:
    /// the kernel's name includes whatever memory followed its pid and time).
    pub fn abstract_name(&self) -> Option<&[u8]> {
        self.is_abstract().then(|| &self.0[3..])
    }

    /// For a filesystem address, the path bytes up to the first NUL (or all 108).
    pub fn path(&self) -> Option<&[u8]> {
        if self.is_abstract() {
            return None;
        }
        let p = &self.0[2..];
        let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
        Some(&p[..end])
    }
}

impl From<[u8; SOCKADDR_UN_LEN]> for DataAddr {
    fn from(b: [u8; SOCKADDR_UN_LEN]) -> Self {
        DataAddr(b)
    }
}

/// Writes bytes with printable ASCII kept and everything else as `\xNN`.
fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            write!(f, "{}", b as char)?;
        } else {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// Filesystem paths print as themselves, abstract names as `@` and the name with
/// trailing zero bytes left out; unprintable bytes as `\xNN`.
impl fmt::Display for DataAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.family() != AF_UNIX {
            write!(f, "(family {}) ", self.family())?;
        }
        match (self.path(), self.abstract_name()) {
            (Some(p), _) => write_escaped(f, p),
            (None, Some(name)) => {
                let end = name.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                f.write_str("@")?;
                write_escaped(f, &name[..end])
            }
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Debug for DataAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataAddr(\"{self}\")")
    }
}

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
        DataAddr(b)
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

    /// Whether the client waits for the switch's data address ([`REPLY_LEN`] bytes).
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

/// A `fmt::Write` that only counts, to run `Display` without allocating.
struct Sink(usize);

impl fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Fuzz entry point: classifies `data` as a request read, and checks that whatever
/// parses re-encodes to a request that parses to the same thing; also runs the view,
/// the reply decoder and every `Display`.
#[doc(hidden)]
pub fn fuzz_request(data: &[u8]) {
    use core::fmt::Write;
    let mut sink = Sink(0);
    match RequestRepr::parse(data) {
        Ok(repr) => {
            let _ = write!(sink, "{repr}");
            let mut buf = [0u8; MAX_REQUEST_LEN];
            let n = repr.emit(&mut buf).expect("a parsed request re-encodes");
            assert_eq!(n, repr.buffer_len());
            assert_eq!(RequestRepr::parse(&buf[..n]), Ok(repr));
            if repr.wants_reply() {
                let mut reply = [0u8; REPLY_LEN];
                emit_reply(repr.addr(), &mut reply).expect("reply fits");
                assert_eq!(parse_reply(&reply), Ok(*repr.addr()));
            }
        }
        Err(e) => {
            let _ = write!(sink, "{e}");
        }
    }
    if let Ok(req) = Request::new_checked(data) {
        let _ = (req.magic(), req.version(), req.request_type());
        let _ = write!(sink, "{}", req.addr());
        assert!(req.description().len() <= MAX_DESCRIPTION_LEN);
    }
    match parse_reply(data) {
        Ok(a) => {
            let _ = write!(sink, "{a:?}");
        }
        Err(e) => {
            let _ = write!(sink, "{e}");
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec::Vec;

    /// The 124-byte request the 6.1 kernel writes (pid 0x1092 = 4242, usec 0x0001e240),
    /// with the uninitialised parts as observed: padding 0, heap garbage after the time.
    fn kernel_request() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&[0xce, 0xfa, 0xed, 0xfe, 0x03, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&[0x01, 0x00]); // sun_family
        v.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // zero + padding
        v.extend_from_slice(&[0x92, 0x10, 0x00, 0x00]); // pid
        v.extend_from_slice(&[0x40, 0xe2, 0x01, 0x00]); // usec
        v.extend((0..96u8).map(|i| i.wrapping_mul(37) ^ 0x5a)); // heap garbage
        v.extend_from_slice(&[0xaa, 0xbb]); // tail padding
        assert_eq!(v.len(), 124);
        v
    }

    /// The original uml_switch's reply: `01 00 | 00 7f 00 00 | pid | usec | 96 zeros`.
    fn uml_switch_reply() -> Vec<u8> {
        let mut v = std::vec![0x01, 0x00, 0x00, 0x7f, 0x00, 0x00];
        v.extend_from_slice(&1234u32.to_le_bytes());
        v.extend_from_slice(&567_890u32.to_le_bytes());
        v.resize(110, 0);
        v
    }

    #[test]
    fn kernel_request_decodes_with_opaque_address() {
        let raw = kernel_request();
        let req = Request::new_checked(&raw[..]).unwrap();
        assert_eq!(req.magic(), MAGIC);
        assert_eq!(req.version(), 3);
        assert_eq!(req.request_type(), REQ_NEW_CONTROL);
        assert_eq!(req.description(), b"");
        let repr = RequestRepr::parse(&raw).unwrap();
        let RequestRepr::V3 {
            addr,
            port,
            description,
        } = repr
        else {
            panic!("not v3: {repr:?}")
        };
        assert_eq!((port, description), (0, &b""[..]));
        // The whole 110 bytes, garbage included, are the address.
        assert_eq!(&addr.as_bytes()[..], &raw[12..122]);
        assert!(addr.is_abstract());
        assert_eq!(addr.family(), AF_UNIX);
        assert_eq!(addr.path(), None);
        assert_eq!(&addr.abstract_name().unwrap()[3..11], &raw[18..26]);
        assert!(repr.wants_reply());
        // Re-encoding keeps the address byte for byte; only the padding becomes zero.
        let mut buf = [0xffu8; 124];
        assert_eq!(repr.emit(&mut buf), Ok(124));
        assert_eq!(&buf[..122], &raw[..122]);
        assert_eq!(&buf[122..], &[0, 0]);
    }

    #[test]
    fn uml_abstract_matches_kernel_layout() {
        let raw = kernel_request();
        let a = DataAddr::uml_abstract(4242, 123_456);
        assert_eq!(&a.as_bytes()[..14], &raw[12..26]);
        assert!(a.as_bytes()[14..].iter().all(|&b| b == 0));
        let mut buf = [0u8; 124];
        RequestRepr::V3 {
            addr: a,
            port: 0,
            description: b"",
        }
        .emit(&mut buf)
        .unwrap();
        assert_eq!(
            &buf[..16],
            &[
                0xce, 0xfa, 0xed, 0xfe, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00
            ]
        );
    }

    #[test]
    fn uml_switch_reply_decodes() {
        let raw = uml_switch_reply();
        let a = parse_reply(&raw).unwrap();
        assert!(a.is_abstract());
        assert_eq!(a.as_bytes()[..], raw[..]);
        assert_eq!(&a.abstract_name().unwrap()[..11], &raw[3..14]);
        let mut out = [0u8; 200];
        assert_eq!(emit_reply(&a, &mut out), Some(110));
        assert_eq!(&out[..110], &raw[..]);
        assert_eq!(emit_reply(&a, &mut out[..109]), None);
        assert_eq!(
            parse_reply(&raw[..109]),
            Err(ReplyError::WrongLength { got: 109 })
        );
        assert_eq!(
            a.to_string(),
            "@\\x7f\\x00\\x00\\xd2\\x04\\x00\\x00R\\xaa\\x08"
        );
    }

    #[test]
    fn vde_switch_reply_decodes() {
        let mut raw = std::vec![0x01, 0x00];
        raw.extend_from_slice(b"/tmp/specx/vde.ctl/002.6");
        raw.resize(110, 0);
        let a = parse_reply(&raw).unwrap();
        assert!(!a.is_abstract());
        assert_eq!(a.path(), Some(&b"/tmp/specx/vde.ctl/002.6"[..]));
        assert_eq!(a.to_string(), "/tmp/specx/vde.ctl/002.6");
        assert_eq!(a, DataAddr::from_path("/tmp/specx/vde.ctl/002.6").unwrap());
        raw[0] = 2;
        assert_eq!(parse_reply(&raw), Err(ReplyError::BadFamily { family: 2 }));
    }

    /// A request as libvdeplug (vde2) sends it: packed, the description from offset
    /// 122, no NUL on the wire, the request type carrying the port in bits 8 and up.
    fn vde_request(descr: &[u8], port: u32) -> Vec<u8> {
        let mut v = std::vec![0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0];
        v.extend_from_slice(&(port << 8).to_le_bytes());
        v.extend_from_slice(
            DataAddr::from_path("/tmp/vde.ctl/.04242-00000")
                .unwrap()
                .as_bytes(),
        );
        v.extend_from_slice(descr);
        v
    }

    #[test]
    fn vde_request_exposes_description() {
        let d = b"vde_plug: user=root PID=4242";
        let raw = vde_request(d, 0);
        assert_eq!(raw.len(), 150);
        let repr = RequestRepr::parse(&raw).unwrap();
        assert_eq!(
            repr,
            RequestRepr::V3 {
                addr: DataAddr::from_path("/tmp/vde.ctl/.04242-00000").unwrap(),
                port: 0,
                description: d,
            }
        );
        assert_eq!(
            repr.to_string(),
            "version 3 request for /tmp/vde.ctl/.04242-00000 \"vde_plug: user=root PID=4242\""
        );
        let mut buf = [0u8; 256];
        assert_eq!(repr.emit(&mut buf), Ok(150));
        assert_eq!(&buf[..150], &raw[..]);
        // vde_plug sw[5]: port 5 in the type's upper bits.
        let raw5 = vde_request(d, 5);
        let repr5 = RequestRepr::parse(&raw5).unwrap();
        assert!(matches!(repr5, RequestRepr::V3 { port: 5, .. }));
        // A description with a NUL and stray bytes after it stops at the NUL.
        let mut raw = vde_request(b"abc\0zz", 0);
        assert!(matches!(
            RequestRepr::parse(&raw),
            Ok(RequestRepr::V3 {
                description: b"abc",
                ..
            })
        ));
        // The empty-description vde request is just 122 bytes.
        raw.truncate(122);
        assert!(matches!(
            RequestRepr::parse(&raw),
            Ok(RequestRepr::V3 {
                description: b"",
                ..
            })
        ));
    }

    /// What the installed vde_plug (vde2 2.3.2) wrote to a control socket here:
    /// 150 bytes, a filesystem data path, the description at 122 without a NUL.
    const VDE_PLUG_REQUEST: &str = "cefaedfe030000000000000001002f746d702f68336361702f2e31383639342d303030303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000766465706c75673a20757365723d726f6f74207069643d3138363934";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A request captured from the installed linux.uml (6.1.176) here: pid 0x4a72,
    /// usec 0x59af6, and uninitialised heap bytes (`80 bb d6 8c`) inside the name.
    const KERNEL_REQUEST: &str = "cefaedfe0300000000000000010000000000724a0000f69a0500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000080bbd68c0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn real_kernel_request() {
        let raw = unhex(KERNEL_REQUEST);
        assert_eq!(raw.len(), REQUEST_LEN);
        let repr = RequestRepr::parse(&raw).unwrap();
        let RequestRepr::V3 {
            addr,
            port: 0,
            description: b"",
        } = repr
        else {
            panic!("{repr:?}")
        };
        assert!(addr.is_abstract());
        assert_eq!(&addr.as_bytes()[..], &raw[field::ADDR]);
        // The garbage is part of the name: an address built from pid and time alone differs.
        assert_ne!(addr, DataAddr::uml_abstract(0x4a72, 0x59af6));
        assert_eq!(
            &addr.as_bytes()[..14],
            &DataAddr::uml_abstract(0x4a72, 0x59af6).as_bytes()[..14]
        );
    }

    #[test]
    fn real_vde_plug_request() {
        let raw = unhex(VDE_PLUG_REQUEST);
        assert_eq!(raw.len(), 150);
        let repr = RequestRepr::parse(&raw).unwrap();
        let RequestRepr::V3 {
            addr,
            port,
            description,
        } = repr
        else {
            panic!("not v3: {repr:?}")
        };
        assert_eq!(port, 0);
        assert_eq!(addr.path(), Some(&b"/tmp/h3cap/.18694-00000"[..]));
        assert_eq!(description, b"vdeplug: user=root pid=18694");
        let mut buf = [0u8; 256];
        assert_eq!(repr.emit(&mut buf), Ok(150));
        assert_eq!(&buf[..150], &raw[..]);
    }

    #[test]
    fn older_and_refused_requests() {
        let addr = DataAddr::abstract_from(b"old").unwrap();
        let mac = MacAddr([0xfe, 0xfd, 10, 0, 0, 1]);
        // v1 as the original switch accepts it.
        let mut v1 = std::vec![0xce, 0xfa, 0xed, 0xfe, 0, 0, 0, 0];
        v1.extend_from_slice(&mac.0);
        v1.extend_from_slice(addr.as_bytes());
        let r = RequestRepr::parse(&v1).unwrap();
        assert_eq!(r, RequestRepr::V1 { mac, addr });
        assert!(r.wants_reply());
        // The same with type 1 in the v1 slot: "Bad request type : 1".
        v1[4] = 1;
        let e = RequestRepr::parse(&v1).unwrap_err();
        assert_eq!(
            e,
            RequestError::BadType {
                layout: Layout::V1,
                ty: 1
            }
        );
        assert!(e.to_string().starts_with("Bad request type : 1"));
        // v0: no magic, 120 bytes, no reply.
        let mut v0 = std::vec![0, 0, 0, 0];
        v0.extend_from_slice(&mac.0);
        v0.extend_from_slice(addr.as_bytes());
        let r = RequestRepr::parse(&v0).unwrap();
        assert_eq!(r, RequestRepr::V0 { mac, addr });
        assert!(!r.wants_reply());
        let mut out = [0u8; 120];
        assert_eq!(r.emit(&mut out), Ok(120));
        assert_eq!(&out[..], &v0[..]);
        // v2 and v4, as observed against the original.
        let mut v2 = kernel_request();
        v2[4] = 2;
        let e = RequestRepr::parse(&v2).unwrap_err();
        assert_eq!(e.to_string(), "Version 2 is not supported");
        let mut v4 = kernel_request();
        v4[4] = 4;
        let e = RequestRepr::parse(&v4).unwrap_err();
        assert_eq!(e, RequestError::UnsupportedVersion(4));
        assert_eq!(
            e.to_string(),
            "Request for a version 4 port, which this switch doesn't support"
        );
        // v3 with a bad type.
        let mut bad = kernel_request();
        bad[8] = 7;
        assert_eq!(
            RequestRepr::parse(&bad),
            Err(RequestError::BadType {
                layout: Layout::V3,
                ty: 7
            })
        );
        // v3 whose address is not AF_UNIX.
        let mut fam = kernel_request();
        fam[12] = 2;
        assert_eq!(
            RequestRepr::parse(&fam),
            Err(RequestError::BadFamily {
                layout: Layout::V3,
                family: 2
            })
        );
    }

    #[test]
    fn short_truncated_and_garbage() {
        let raw = kernel_request();
        assert_eq!(RequestRepr::parse(&[]), Err(RequestError::Empty));
        assert_eq!(
            RequestRepr::parse(&raw[..5]),
            Err(RequestError::Short { got: 5 })
        );
        let e = RequestRepr::parse(&raw[..100]).unwrap_err();
        assert_eq!(
            e,
            RequestError::Truncated {
                layout: Layout::V3,
                needed: 122,
                got: 100
            }
        );
        assert_eq!(
            e.to_string(),
            "truncated version 3 request: read 100 bytes, the layout needs 122"
        );
        let mut v1 = raw.clone();
        v1[4] = 0;
        assert!(matches!(
            RequestRepr::parse(&v1[..123]),
            Err(RequestError::Truncated {
                layout: Layout::V1,
                ..
            })
        ));
        v1.push(0);
        assert!(matches!(
            RequestRepr::parse(&v1),
            Err(RequestError::TrailingBytes {
                layout: Layout::V1,
                ..
            })
        ));
        let text = b"GET / HTTP/1.0\r\n\r\n";
        let e = RequestRepr::parse(text).unwrap_err();
        assert_eq!(e, RequestError::Garbage { got: text.len() });
        assert!(e.to_string().contains("0xfeedface"));
        assert_eq!(
            RequestRepr::parse(&[0u8; 257]),
            Err(RequestError::TooLong { got: 257 })
        );
        // 120 bytes without magic but a nonzero type: a v0 with a bad type.
        let mut v0 = std::vec![9u8, 0, 0, 0];
        v0.resize(120, 0);
        v0[10] = 1;
        assert_eq!(
            RequestRepr::parse(&v0),
            Err(RequestError::BadType {
                layout: Layout::V0,
                ty: 9
            })
        );
    }

    #[test]
    fn addr_constructors_validate() {
        let long = [b'a'; 108];
        assert_eq!(
            DataAddr::abstract_from(&long),
            Err(AddrError::TooLong { got: 108 })
        );
        assert!(DataAddr::abstract_from(&long[..107]).is_ok());
        let s = core::str::from_utf8(&long).unwrap();
        assert_eq!(DataAddr::from_path(s), Err(AddrError::TooLong { got: 108 }));
        let p = DataAddr::from_path(&s[..107]).unwrap();
        assert_eq!(p.path().unwrap().len(), 107);
        assert_eq!(DataAddr::from_path(""), Err(AddrError::EmptyPath));
        assert_eq!(DataAddr::from_path("a\0b"), Err(AddrError::NulInPath));
        assert_eq!(
            DataAddr::from_bytes(&[1, 0, 0]),
            Err(AddrError::WrongLength { got: 3 })
        );
        let a = DataAddr::abstract_from(b"sw\x01").unwrap();
        assert_eq!(a.to_string(), "@sw\\x01");
        assert_eq!(std::format!("{a:?}"), "DataAddr(\"@sw\\x01\")");
        assert_eq!(a.abstract_name().unwrap().len(), 107);
    }

    #[test]
    fn emit_checks_buffer_and_description() {
        let addr = DataAddr::uml_abstract(1, 2);
        let r = RequestRepr::V3 {
            addr,
            port: 0,
            description: b"",
        };
        assert_eq!(
            r.emit(&mut [0u8; 123]),
            Err(EmitError::BufferTooSmall {
                needed: 124,
                got: 123
            })
        );
        let r = RequestRepr::V3 {
            addr,
            port: 0,
            description: b"a\0",
        };
        assert_eq!(r.emit(&mut [0u8; 256]), Err(EmitError::BadDescription));
        // One-byte descriptions are padded past the kernel's 124 so they survive.
        let r = RequestRepr::V3 {
            addr,
            port: 0,
            description: b"x",
        };
        let mut buf = [0u8; 256];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(n, 125);
        assert_eq!(RequestRepr::parse(&buf[..n]), Ok(r));
    }

    fn arb_addr() -> impl Strategy<Value = DataAddr> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 108).prop_map(|p| {
                let mut b = [0u8; 110];
                b[0] = 1;
                b[2..].copy_from_slice(&p);
                DataAddr::from_array(b)
            }),
            proptest::collection::vec(any::<u8>(), 0..=107)
                .prop_map(|n| DataAddr::abstract_from(&n).unwrap()),
            "[a-zA-Z0-9/._-]{1,107}".prop_map(|p| DataAddr::from_path(&p).unwrap()),
        ]
    }

    proptest! {
        #[test]
        fn v3_encode_decode(addr in arb_addr(), port in 0u32..=0xff_ffff,
                            descr in proptest::collection::vec(1u8..=255, 0..=MAX_DESCRIPTION_LEN)) {
            let r = RequestRepr::V3 { addr, port, description: &descr };
            let mut buf = [0u8; MAX_REQUEST_LEN];
            let n = r.emit(&mut buf).unwrap();
            prop_assert_eq!(n, r.buffer_len());
            prop_assert_eq!(RequestRepr::parse(&buf[..n]), Ok(r));
        }

        #[test]
        fn old_encode_decode(addr in arb_addr(), mac in any::<[u8; 6]>(), v0 in any::<bool>()) {
            let mac = MacAddr(mac);
            let r = if v0 { RequestRepr::V0 { mac, addr } } else { RequestRepr::V1 { mac, addr } };
            let mut buf = [0u8; MAX_REQUEST_LEN];
            let n = r.emit(&mut buf).unwrap();
            prop_assert_eq!(RequestRepr::parse(&buf[..n]), Ok(r));
        }

        #[test]
        fn reply_encode_decode(addr in arb_addr()) {
            let mut buf = [0u8; REPLY_LEN];
            emit_reply(&addr, &mut buf).unwrap();
            prop_assert_eq!(parse_reply(&buf), Ok(addr));
        }

        #[test]
        fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            fuzz_request(&data);
        }

        #[test]
        fn fuzz_near_valid(mut raw in Just(kernel_request()), i in 0usize..124, b in any::<u8>(), len in 0usize..=124) {
            raw[i] = b;
            fuzz_request(&raw[..len]);
        }
    }
}
