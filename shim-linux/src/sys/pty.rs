//! Terminals for SLIP: the SLIP line discipline when the host has one, the interface
//! name a SLIP tty belongs to, raw mode, and pseudo-terminal pairs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::cvt;

/// `N_SLIP`, the SLIP line discipline number.
pub const N_SLIP: libc::c_int = 1;
/// `SIOCSIFENCAP`: SLIP encapsulation mode of a tty with N_SLIP.
const SIOCSIFENCAP: libc::c_ulong = 0x8926;

/// Whether `fd` is a terminal.
pub fn is_tty(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// Puts the SLIP line discipline on the tty `fd` with plain SLIP encapsulation (mode 0)
/// and returns the interface name the host made for it (`sl<n>`, read back with
/// `SIOCGIFNAME`, not guessed). Fails with the kernel's error where the host has no
/// N_SLIP (`EINVAL` here: `/proc/tty/ldiscs` lacks `slip`).
pub fn set_slip(fd: BorrowedFd<'_>) -> io::Result<String> {
    let disc: libc::c_int = N_SLIP;
    // SAFETY: TIOCSETD reads one int.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSETD, &disc) })?;
    let encap: libc::c_int = 0;
    // SAFETY: SIOCSIFENCAP on a SLIP tty reads one int.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), SIOCSIFENCAP as _, &encap) })?;
    if_name(fd)
}

/// The name of the network interface attached to the tty `fd` (`SIOCGIFNAME` on a tty,
/// which only a tty with a network line discipline answers).
pub fn if_name(fd: BorrowedFd<'_>) -> io::Result<String> {
    let mut name = [0u8; libc::IFNAMSIZ];
    // SAFETY: SIOCGIFNAME on a tty writes at most IFNAMSIZ bytes into name.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFNAME as _, name.as_mut_ptr()) })?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(String::from_utf8_lossy(&name[..end]).into_owned())
}

/// Raw 8-bit mode with `VMIN=1`, `VTIME=0`, as the UML kernel sets its SLIP slave.
pub fn set_raw(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let mut t = tcgetattr(fd)?;
    cfmakeraw(&mut t);
    tcsetattr(fd, SetArg::TCSANOW, &t)?;
    Ok(())
}

/// A new pseudo-terminal pair `(master, slave)`, both raw and close-on-exec.
pub fn open_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let p = nix::pty::openpty(None, None)?;
    for fd in [&p.master, &p.slave] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )?;
    }
    {
        use std::os::fd::AsFd;
        set_raw(p.slave.as_fd())?;
    }
    Ok((p.master, p.slave))
}

#[cfg(test)]
mod test {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_plain_pty_has_no_interface() {
        let (m, s) = open_pair().unwrap();
        assert!(is_tty(s.as_fd()) && is_tty(m.as_fd()));
        // n_tty does not answer SIOCGIFNAME: this is what the 6.1 kernel meets after
        // `uml_net slip up` on a host without N_SLIP.
        assert!(if_name(s.as_fd()).is_err());
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(!is_tty(f.as_fd()));
    }
}
