//! Passing file descriptors over unix sockets (`SCM_RIGHTS`), and checking what kind
//! of socket an inherited descriptor is.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, SockType, recvmsg, sendmsg};

/// Sends one message made of `parts` on the socket `sock`, with `fd` attached as
/// `SCM_RIGHTS` when given (one datagram on a datagram socket).
pub fn send_with_fd(sock: BorrowedFd<'_>, parts: &[&[u8]], fd: Option<RawFd>) -> io::Result<usize> {
    let iov: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let fds = fd.map(|f| [f]);
    let cmsg: Vec<ControlMessage<'_>> = fds.iter().map(|f| ControlMessage::ScmRights(f)).collect();
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Receives one message into `buf`; returns its length and the first descriptor that
/// came with it (any others are closed).
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut first = None;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for f in fds {
                // SAFETY: the kernel just installed f in this process for us.
                let owned = unsafe { OwnedFd::from_raw_fd(f) };
                if first.is_none() {
                    first = Some(owned);
                }
            }
        }
    }
    Ok((msg.bytes, first))
}

/// What an inherited descriptor is, as far as the helper cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    /// Not open.
    Closed,
    /// A unix-domain socket of this type.
    Unix(SockType),
    /// A socket of another family.
    OtherSocket,
    /// Open, but not a socket (a file, a pipe, a tty).
    NotSocket,
}

/// Classifies descriptor `fd` without taking ownership of it.
///
/// Safe for any number: it only asks the kernel about the descriptor (`fcntl(F_GETFD)`,
/// `getsockopt`), never changes or closes it, so no owner of it in this process is
/// affected; a number that is not open is [`FdKind::Closed`]. It takes a raw number
/// because the descriptors it is for are inherited and have no owner here.
pub fn fd_kind(fd: RawFd) -> FdKind {
    // SAFETY: F_GETFD only reads the descriptor table; any number is allowed.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return FdKind::Closed;
    }
    // A type nix does not name counts as not a socket, as nix's getsockopt reports it.
    let Some(Ok(ty)) = int_sockopt(fd, libc::SO_TYPE).map(SockType::try_from) else {
        return FdKind::NotSocket;
    };
    if int_sockopt(fd, libc::SO_DOMAIN) == Some(libc::AF_UNIX) {
        FdKind::Unix(ty)
    } else {
        FdKind::OtherSocket
    }
}

/// An integer `SOL_SOCKET` option of descriptor `fd`, or `None` (not a socket, not open).
fn int_sockopt(fd: RawFd, opt: libc::c_int) -> Option<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v/len describe a valid int buffer; getsockopt only reads the descriptor.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// A close-on-exec duplicate (numbered 3 or above) of the inherited descriptor `fd`.
/// The original stays open; the duplicate is the caller's to own.
///
/// Safe for any number: duplicating reads the descriptor table and creates a new
/// descriptor, so no owner of `fd` in this process is affected; a number that is not
/// open is an error (`EBADF`). It takes a raw number because an inherited descriptor
/// has no owner here.
pub fn dup_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor table and returns a new number.
    let n = super::cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: n is a descriptor just created for us and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

#[cfg(test)]
mod test {
    use super::*;
    use nix::sys::socket::{AddressFamily, SockFlag, socketpair};
    use std::os::fd::AsFd;

    #[test]
    fn an_fd_travels_with_its_datagram() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Datagram,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let n = send_with_fd(a.as_fd(), &[b"tap0\0\0", b"hello\0"], Some(f.as_raw_fd())).unwrap();
        assert_eq!(n, 12);
        let mut buf = [0u8; 64];
        let (n, fd) = recv_with_fd(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"tap0\0\0hello\0");
        assert!(fd.is_some());
        send_with_fd(a.as_fd(), &[b"x\0"], None).unwrap();
        let (n, fd) = recv_with_fd(b.as_fd(), &mut buf).unwrap();
        assert_eq!((n, fd.is_none()), (2, true));
    }

    #[test]
    fn descriptors_are_classified() {
        let (a, _b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        assert_eq!(fd_kind(a.as_raw_fd()), FdKind::Unix(SockType::Stream));
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(fd_kind(f.as_raw_fd()), FdKind::NotSocket);
        let u = nix::sys::socket::socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        assert_eq!(fd_kind(u.as_raw_fd()), FdKind::OtherSocket);
        assert_eq!(fd_kind(60000), FdKind::Closed);
    }
}
