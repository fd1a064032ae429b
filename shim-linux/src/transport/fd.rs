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
