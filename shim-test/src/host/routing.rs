//! The host's routing table: connected and added routes ([`HostRoute`]),
//! longest-prefix lookup, local addresses, and sending an IPv4 packet the way the
//! table says (straight onto a SLIP line, or through ARP on Ethernet).

use super::neigh::Neigh;
use super::{ARP_QUEUE, ARP_RETRY, HostKernel};
use core::fmt;
use core::net::Ipv4Addr;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetProtocol, Ipv4Packet};
use std::string::String;
use std::vec;
use std::vec::Vec;
use umlnet_core::host::Prefix;
use umlnet_core::link::{Link, Medium};

/// A route of the host's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    /// Destination network (host bits clear).
    pub dst: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
    /// Gateway, if any.
    pub via: Option<Ipv4Addr>,
    /// Interface name.
    pub dev: String,
    /// Made by the kernel from an address (proto kernel), not added.
    pub connected: bool,
}

impl fmt::Display for HostRoute {
    /// As `ip route` lists it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == 0 {
            f.write_str("default")?;
        } else if self.prefix == 32 {
            write!(f, "{}", self.dst)?;
        } else {
            write!(f, "{}/{}", self.dst, self.prefix)?;
        }
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        write!(f, " dev {}", self.dev)?;
        if self.connected {
            f.write_str(" proto kernel scope link")?;
        }
        Ok(())
    }
}

impl HostKernel {
    /// The routing table as `ip route` shows it: connected routes of the interfaces
    /// that are up, then the added ones.
    pub fn routes(&self) -> Vec<HostRoute> {
        let mut out = Vec::new();
        for i in self.ifaces.iter().filter(|i| i.up) {
            for a in &i.addrs {
                if let Some(p) = a.peer {
                    out.push(HostRoute {
                        dst: mask_addr(p, a.prefix),
                        prefix: a.prefix,
                        via: None,
                        dev: i.name.clone(),
                        connected: true,
                    });
                } else if a.prefix < 32 {
                    out.push(HostRoute {
                        dst: mask_addr(a.addr, a.prefix),
                        prefix: a.prefix,
                        via: None,
                        dev: i.name.clone(),
                        connected: true,
                    });
                }
            }
        }
        for r in &self.routes {
            if self.interface(&r.dev).is_some_and(|i| i.up) {
                out.push(r.clone());
            }
        }
        out
    }

    /// Longest-prefix match: the interface index and next hop for `dst`.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<(usize, Ipv4Addr)> {
        let mut best: Option<(u8, usize, Ipv4Addr)> = None;
        for r in self.routes() {
            if mask_addr(dst, r.prefix) != r.dst {
                continue;
            }
            if best.is_some_and(|(p, _, _)| p >= r.prefix) {
                continue;
            }
            let i = self.index(&r.dev).ok()?;
            best = Some((r.prefix, i, r.via.unwrap_or(dst)));
        }
        best.map(|(_, i, hop)| (i, hop))
    }

    /// Whether `ip` is one of the host's own addresses (on any interface, up or not,
    /// as Linux's local table holds them while the device exists).
    pub fn is_local(&self, ip: Ipv4Addr) -> bool {
        self.ifaces
            .iter()
            .filter(|i| i.up)
            .any(|i| i.addrs.iter().any(|a| a.addr == ip))
    }

    pub(super) fn source_for(&self, i: usize) -> Option<Ipv4Addr> {
        self.ifaces[i]
            .addrs
            .first()
            .or_else(|| self.ifaces.iter().flat_map(|j| j.addrs.first()).next())
            .map(|a| a.addr)
    }

    /// Sends an IPv4 packet the way the routing table says.
    pub(super) fn route_out(&mut self, packet: Vec<u8>, now: Instant) {
        let dst = Ipv4Packet::new_unchecked(&packet[..]).dst_addr();
        let src = Ipv4Packet::new_unchecked(&packet[..]).src_addr();
        let Some((i, hop)) = self.lookup(dst) else {
            self.stats.no_route += 1;
            return;
        };
        if self.ifaces[i].medium() == Medium::Ip {
            if let Some(l) = self.ifaces[i].link.as_mut() {
                let _ = l.send(&packet);
            }
            return;
        }
        let key = (self.ifaces[i].name.clone(), hop);
        match self.neigh.get_mut(&key) {
            Some(Neigh::Reachable(mac)) => {
                let mac = *mac;
                self.send_frame(i, mac, EthernetProtocol::Ipv4, &packet);
            }
            Some(Neigh::Incomplete { queue, .. }) => {
                if queue.len() >= ARP_QUEUE {
                    queue.remove(0);
                    self.stats.unresolved += 1;
                }
                queue.push(packet);
            }
            None => {
                self.neigh.insert(
                    key,
                    Neigh::Incomplete {
                        queue: vec![packet],
                        next: now + ARP_RETRY,
                        tries: 1,
                    },
                );
                self.send_arp_request(i, hop, Some(src));
            }
        }
    }
}

/// `addr` with the bits beyond `prefix` cleared.
pub fn mask_addr(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let m = Prefix::new(prefix.min(32))
        .unwrap_or(Prefix::HOST)
        .netmask();
    Ipv4Addr::from_bits(addr.to_bits() & m.to_bits())
}
