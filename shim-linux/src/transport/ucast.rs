//! `eth<n>=ucast,<mac>,<remote ip>,<listen port>,<remote port>`: one Ethernet frame per
//! UDP datagram to one peer, no header (docs/protocols.md §4). Like the kernel, the
//! socket listens on the local port on every address and sends to the remote; both
//! ports default to 1102.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use umlnet_core::cmdline::Ucast;
use umlnet_core::link::{Link, Medium, SendStatus};

use super::{OpenError, UML_MTU, sent, would_block};

/// An open ucast transport.
#[derive(Debug)]
pub struct UcastLink {
    sock: UdpSocket,
    remote: SocketAddrV4,
    lport: u16,
}

impl UcastLink {
    /// Opens the socket for `eth<index>`; the remote address is required.
    pub fn open(index: u32, u: &Ucast) -> Result<UcastLink, OpenError> {
        let Some(ip) = u.remote else {
            return Err(OpenError::io(index, "ucast", "open")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no remote address: give eth<n>=ucast,<mac>,<remote ip>,<listen port>,<remote port>",
            )));
        };
        let remote = SocketAddrV4::new(ip, u.rport);
        let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, u.lport)).map_err(
            OpenError::io(index, "ucast", format!("bind UDP port {}", u.lport)),
        )?;
        sock.set_nonblocking(true)
            .map_err(OpenError::io(index, "ucast", "set non-blocking"))?;
        Ok(UcastLink {
            sock,
            remote,
            lport: u.lport,
        })
    }

    /// `ucast backend listening on port <lport> to <remote>`.
    pub fn banner(&self) -> String {
        format!(
            "ucast backend listening on port {} to {}",
            self.lport, self.remote
        )
    }
}

impl Link for UcastLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        would_block(self.sock.recv(buf))
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        sent(would_block(self.sock.send_to(frame, self.remote)))
    }
}

impl AsRawFd for UcastLink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
