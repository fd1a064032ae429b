//! The data address both sides exchange ([`DataAddr`], a 110-byte `sockaddr_un`) and
//! why one could not be built ([`AddrError`]).

use core::fmt;

use super::{AF_UNIX, SOCKADDR_UN_LEN, SUN_NAME_MAX};

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
pub(super) fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
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
