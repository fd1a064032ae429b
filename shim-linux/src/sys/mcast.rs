//! UDP multicast sockets set up exactly as the UML kernel's mcast transport does
//! (docs/protocols.md §4): `SO_REUSEADDR`, `IP_MULTICAST_TTL`, `IP_MULTICAST_LOOP`, bind to the
//! group address and port themselves, then `IP_ADD_MEMBERSHIP` on any interface.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, IpMembershipRequest, SockFlag, SockType, SockaddrIn, bind, setsockopt, socket,
    sockopt,
};

use super::none_if_would_block;

/// A non-blocking UDP socket joined to one IPv4 multicast group; leaves the group
/// (`IP_DROP_MEMBERSHIP`) and closes on drop.
#[derive(Debug)]
pub struct McastSocket {
    sock: UdpSocket,
    group: SocketAddrV4,
}

impl McastSocket {
    /// Opens the socket in the kernel's order: `socket`, `SO_REUSEADDR=1`,
    /// `IP_MULTICAST_TTL=ttl`, `IP_MULTICAST_LOOP=1`, `bind(group:port)`,
    /// `IP_ADD_MEMBERSHIP{group, 0.0.0.0}`. Each failure names the step.
    pub fn open(group: Ipv4Addr, port: u16, ttl: u8) -> io::Result<McastSocket> {
        let step = |what: &'static str| {
            move |e: nix::errno::Errno| {
                let e = io::Error::from(e);
                io::Error::new(e.kind(), format!("{what}: {e}"))
            }
        };
        let fd: OwnedFd = socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(step("socket"))?;
        setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(step("SO_REUSEADDR"))?;
        setsockopt(&fd, sockopt::IpMulticastTtl, &ttl).map_err(step("IP_MULTICAST_TTL"))?;
        setsockopt(&fd, sockopt::IpMulticastLoop, &true).map_err(step("IP_MULTICAST_LOOP"))?;
        let group_addr = SocketAddrV4::new(group, port);
        bind(fd.as_raw_fd(), &SockaddrIn::from(group_addr))
            .map_err(step("bind to the group address"))?;
        let req = IpMembershipRequest::new(group, Some(Ipv4Addr::UNSPECIFIED));
        setsockopt(&fd, sockopt::IpAddMembership, &req).map_err(|e| {
            let e = io::Error::from(e);
            io::Error::new(
                e.kind(),
                format!(
                    "IP_ADD_MEMBERSHIP {group}: {e} (the host needs a multicast route, \
                     e.g. `ip route add 224.0.0.0/4 dev lo`)"
                ),
            )
        })?;
        Ok(McastSocket {
            sock: UdpSocket::from(fd),
            group: group_addr,
        })
    }

    /// The group and port datagrams go to.
    pub fn group(&self) -> SocketAddrV4 {
        self.group
    }

    /// Sends one datagram to the group. `Ok(None)` if the send buffer is full.
    pub fn send(&self, data: &[u8]) -> io::Result<Option<usize>> {
        none_if_would_block(self.sock.send_to(data, self.group))
    }

    /// Receives one datagram (truncated to `buf`), whoever sent it. `Ok(None)` if none
    /// is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(none_if_would_block(self.sock.recv_from(buf))?.map(|(n, _)| n.min(buf.len())))
    }
}

impl Drop for McastSocket {
    fn drop(&mut self) {
        let req = IpMembershipRequest::new(*self.group.ip(), Some(Ipv4Addr::UNSPECIFIED));
        let _ = setsockopt(&self.sock, sockopt::IpDropMembership, &req);
    }
}

impl AsFd for McastSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl AsRawFd for McastSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
