//! `eth<n>=mcast,<mac>,<group>,<port>,<ttl>`: Ethernet frames as UDP datagrams to a
//! multicast group (docs/protocols.md §4).
//!
//! The socket is set up in the kernel's order with its defaults (239.192.168.1:1102,
//! TTL 1), one frame per datagram, no header. With `IP_MULTICAST_LOOP` on, every frame
//! we send also comes back to us; the kernel leaves that to its stack, here the link
//! drops a received frame whose source MAC is one this link has sent from, so the
//! guest never sees its own broadcasts.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use umlnet_core::cmdline::Mcast;
use umlnet_core::ethernet::Frame;
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_core::mac::MacAddr;

use super::{OpenError, UML_MTU, sent};
use crate::sys::mcast::McastSocket;

/// How many distinct source MACs a link remembers as its own.
const OWN_MACS: usize = 4;

/// An open mcast transport.
#[derive(Debug)]
pub struct McastLink {
    sock: McastSocket,
    ttl: u8,
    own: Vec<MacAddr>,
    looped: u64,
}

impl McastLink {
    /// Opens the socket for `eth<index>`. Group, port and TTL must be non-zero, as the
    /// kernel checks before opening.
    pub fn open(index: u32, m: &Mcast) -> Result<McastLink, OpenError> {
        if m.group.is_unspecified() || m.port == 0 {
            return Err(OpenError::Io {
                index,
                transport: "mcast",
                what: format!("open {}:{}", m.group, m.port),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "group address and port must be non-zero",
                ),
            });
        }
        let sock = McastSocket::open(m.group, m.port, m.ttl).map_err(OpenError::io(
            index,
            "mcast",
            format!("open {}:{}", m.group, m.port),
        ))?;
        Ok(McastLink {
            sock,
            ttl: m.ttl,
            own: Vec::new(),
            looped: 0,
        })
    }

    /// `mcast backend multicast address: <group>:<port>, TTL:<ttl>`, as the kernel prints.
    pub fn banner(&self) -> String {
        let g = self.sock.group();
        format!(
            "mcast backend multicast address: {}:{}, TTL:{}",
            g.ip(),
            g.port(),
            self.ttl
        )
    }

    /// How many of our own frames came back and were dropped.
    pub fn looped_back(&self) -> u64 {
        self.looped
    }

    fn is_own(&self, frame: &[u8]) -> bool {
        Frame::new_checked(frame).is_ok_and(|f| self.own.contains(&f.src_addr()))
    }
}

impl Link for McastLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let Some(n) = self.sock.recv(buf)? else {
                return Ok(None);
            };
            if self.is_own(&buf[..n]) {
                self.looped += 1;
                continue;
            }
            return Ok(Some(n));
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        if let Ok(f) = Frame::new_checked(frame) {
            let src = f.src_addr();
            if !self.own.contains(&src) {
                if self.own.len() == OWN_MACS {
                    self.own.remove(0);
                }
                self.own.push(src);
            }
        }
        sent(self.sock.send(frame))
    }
}

impl AsRawFd for McastLink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
