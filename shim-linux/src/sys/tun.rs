//! TAP devices through `/dev/net/tun`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use umlnet_core::ifname::IFNAME_MAX;

use super::{cvt, none_if_would_block};

/// `TUNSETIFF`, `_IOW('T', 202, int)`.
pub const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// An attached TAP device (`IFF_TAP | IFF_NO_PI`: plain Ethernet frames), closed on drop.
#[derive(Debug)]
pub struct Tap {
    file: File,
    name: String,
}

impl Tap {
    /// Opens `/dev/net/tun` and attaches to (creating if needed) the TAP device `name`.
    /// An empty name lets the kernel choose `tap%d`. The descriptor is non-blocking.
    pub fn open(name: &str) -> io::Result<Tap> {
        check_name("tap device", name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        Tap::attach(file, name, libc::IFF_TAP)
    }

    /// Attaches the open clone device `file` to (creating if needed) the device `name`
    /// of `kind` (`IFF_TAP` or `IFF_TUN`, without packet information) with
    /// `TUNSETIFF`, and learns the name the kernel gave it.
    fn attach(file: File, name: &str, kind: libc::c_int) -> io::Result<Tap> {
        // SAFETY: an all-zero ifreq is valid.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        ifr.ifr_ifru.ifru_flags = (kind | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one struct ifreq, which ifr is.
        cvt(unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut ifr) })?;
        let got: Vec<u8> = ifr
            .ifr_name
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        Ok(Tap {
            file,
            name: String::from_utf8_lossy(&got).into_owned(),
        })
    }

    /// The device's name as the kernel reports it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads one frame. `Ok(None)` if none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        none_if_would_block((&self.file).read(buf))
    }

    /// Writes one frame. `Ok(None)` if the device queue is full.
    pub fn send(&self, frame: &[u8]) -> io::Result<Option<usize>> {
        none_if_would_block((&self.file).write(frame))
    }
}

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for Tap {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// Refuses an interface name the kernel cannot take (longer than [`IFNAME_MAX`], which
/// is `IFNAMSIZ` less its NUL); `what` names it in the error.
fn check_name(what: &str, name: &str) -> io::Result<()> {
    if name.len() > IFNAME_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} name '{name}' is longer than {IFNAME_MAX} bytes"),
        ));
    }
    Ok(())
}

/// `TUNSETPERSIST`, `_IOW('T', 203, int)`.
pub const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
/// `IFF_TUN_EXCL`: `TUNSETIFF` fails with `EBUSY` instead of attaching to an existing
/// device.
pub const IFF_TUN_EXCL: libc::c_int = 0x8000;
/// `TUNSETOWNER`, `_IOW('T', 204, int)`.
pub const TUNSETOWNER: libc::c_ulong = 0x4004_54cc;
/// `TUNSETGROUP`, `_IOW('T', 206, int)`.
pub const TUNSETGROUP: libc::c_ulong = 0x4004_54ce;

/// Which kind of device [`Tap::open_device`] attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunMode {
    /// `IFF_TAP | IFF_NO_PI`: Ethernet frames.
    Tap,
    /// `IFF_TUN | IFF_NO_PI`: bare IP packets (for SLIP).
    Tun,
}

impl Tap {
    /// Opens the clone device `clone` (normally `/dev/net/tun`, refusing to follow a
    /// symlink and anything that is not a character device) and attaches to, or creates,
    /// the device `name` in `mode`. An empty name lets the kernel choose. The descriptor
    /// is close-on-exec, and non-blocking if asked.
    pub fn open_device(
        clone: &std::path::Path,
        name: &str,
        mode: TunMode,
        nonblocking: bool,
    ) -> io::Result<Tap> {
        Tap::open_with(clone, name, mode, nonblocking, 0)
    }

    /// As [`Tap::open_device`], but only ever creates a new device (`IFF_TUN_EXCL`):
    /// `EBUSY` when a device of that name already exists, so that a device another
    /// user makes between a check and this call is never attached to.
    pub fn create_exclusive(
        clone: &std::path::Path,
        name: &str,
        mode: TunMode,
        nonblocking: bool,
    ) -> io::Result<Tap> {
        Tap::open_with(clone, name, mode, nonblocking, IFF_TUN_EXCL)
    }

    fn open_with(
        clone: &std::path::Path,
        name: &str,
        mode: TunMode,
        nonblocking: bool,
        extra: libc::c_int,
    ) -> io::Result<Tap> {
        use std::os::unix::fs::FileTypeExt;
        check_name("device", name)?;
        let mut flags = libc::O_CLOEXEC | libc::O_NOFOLLOW;
        if nonblocking {
            flags |= libc::O_NONBLOCK;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(flags)
            .open(clone)?;
        if !file.metadata()?.file_type().is_char_device() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{}' is not a character device", clone.display()),
            ));
        }
        let kind = match mode {
            TunMode::Tap => libc::IFF_TAP,
            TunMode::Tun => libc::IFF_TUN,
        };
        Tap::attach(file, name, kind | extra)
    }

    fn set_int(&self, req: libc::c_ulong, value: libc::c_ulong) -> io::Result<()> {
        // SAFETY: these TUN ioctls take their argument by value.
        cvt(unsafe { libc::ioctl(self.file.as_raw_fd(), req as _, value) })?;
        Ok(())
    }

    /// Makes the device outlive this descriptor (`TUNSETPERSIST 1`) or not (`0`).
    pub fn set_persist(&self, on: bool) -> io::Result<()> {
        self.set_int(TUNSETPERSIST, on as libc::c_ulong)
    }

    /// Lets user `uid` attach to the device (`TUNSETOWNER`).
    pub fn set_owner(&self, uid: u32) -> io::Result<()> {
        self.set_int(TUNSETOWNER, uid as libc::c_ulong)
    }

    /// Lets group `gid` attach to the device (`TUNSETGROUP`).
    pub fn set_group(&self, gid: u32) -> io::Result<()> {
        self.set_int(TUNSETGROUP, gid as libc::c_ulong)
    }

    /// Reads one frame or packet, waiting for one if the descriptor is blocking.
    pub fn read_blocking(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }
}
