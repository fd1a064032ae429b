//! `vec<n>:transport=fd,fd=<n>`: a socket this process inherited (a seqpacket or
//! datagram socket pair end, or a switch port handed over), one raw Ethernet frame per
//! message. The descriptor is taken over at ifup and closed at ifdown, as the kernel
//! does, so a device on `fd` opens once.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use umlnet_core::cmdline::FdVector;
use umlnet_core::link::{Link, Medium, SendStatus};

use super::{OpenError, UML_MTU, sent};
use crate::sys::inherited::adopt_socket;
use crate::sys::socket::DgramSocket;

/// An open fd transport.
#[derive(Debug)]
pub struct FdLink {
    sock: DgramSocket,
    fd: u32,
}

impl FdLink {
    /// Takes descriptor `f.fd` for `vec<index>`; it must be an open socket.
    pub fn open(index: u32, f: &FdVector) -> Result<FdLink, OpenError> {
        let what = format!(
            "fd={} (an inherited socket; is it open in this process?)",
            f.fd
        );
        let raw = RawFd::try_from(f.fd).map_err(|_| {
            OpenError::io(index, "fd", what.clone())(io::Error::from(io::ErrorKind::InvalidInput))
        })?;
        let owned = adopt_socket(raw).map_err(OpenError::io(index, "fd", what.clone()))?;
        let sock = DgramSocket::from_connected(owned);
        sock.set_nonblocking(true)
            .map_err(OpenError::io(index, "fd", what))?;
        Ok(FdLink { sock, fd: f.fd })
    }

    /// `fd backend - <n>`.
    pub fn banner(&self) -> String {
        format!("fd backend - {}", self.fd)
    }
}

impl Link for FdLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.sock.recv(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        sent(self.sock.send(frame))
    }
}

impl AsRawFd for FdLink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod test {
    use std::os::fd::IntoRawFd;

    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

    use super::*;

    #[test]
    fn an_inherited_socket_carries_frames_both_ways() {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let n = ours.into_raw_fd();
        let mut link = FdLink::open(0, &FdVector { fd: n as u32 }).unwrap();
        let peer = DgramSocket::from_connected(theirs);
        assert_eq!(link.send(&[1u8; 42]).unwrap(), SendStatus::Sent);
        let mut buf = [0u8; 1514];
        assert_eq!(peer.recv(&mut buf).unwrap(), Some(42));
        peer.send(&[2u8; 64]).unwrap();
        assert_eq!(link.recv(&mut buf).unwrap(), Some(64));
        assert_eq!(link.recv(&mut buf).unwrap(), None);
    }

    #[test]
    fn a_descriptor_that_is_not_a_socket_is_refused() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let n = f.as_raw_fd();
        let e = FdLink::open(0, &FdVector { fd: n as u32 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a socket"), "{e}");
        drop(f);
    }
}
