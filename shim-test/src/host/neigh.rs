//! The host's neighbour (ARP) side: the neighbour table, published entries, answering
//! requests for local, published and proxied addresses (with Linux's `proxy_delay`),
//! and the retries and failure of unresolved neighbours.

use super::{ARP_RETRY, ARP_TRIES, HostKernel};
use core::fmt;
use core::net::Ipv4Addr;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetProtocol, Icmpv4Message,
};
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;
use umlnet_core::mac::MacAddr;

#[derive(Debug)]
pub(super) enum Neigh {
    Reachable(MacAddr),
    Incomplete {
        queue: Vec<Vec<u8>>,
        next: Instant,
        tries: u8,
    },
}

/// A neighbour table entry, as `ip neigh` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighEntry {
    /// The address.
    pub ip: Ipv4Addr,
    /// The interface.
    pub dev: String,
    /// The hardware address, `None` while unresolved.
    pub mac: Option<MacAddr>,
}

impl fmt::Display for NeighEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mac {
            Some(m) => write!(f, "{} dev {} lladdr {m} REACHABLE", self.ip, self.dev),
            None => write!(f, "{} dev {} INCOMPLETE", self.ip, self.dev),
        }
    }
}

/// The fields of an ARP request that answering it needs (sender MAC and address, the
/// address asked for), parsed once on arrival and kept while a proxied answer waits.
#[derive(Debug, Clone, Copy)]
pub(super) struct ArpRequest {
    sha: MacAddr,
    spa: Ipv4Addr,
    tpa: Ipv4Addr,
}

impl HostKernel {
    /// The published ARP entries (`ip neigh show proxy`).
    pub fn published(&self) -> Vec<(Ipv4Addr, String)> {
        self.published.iter().cloned().collect()
    }

    /// The neighbour table (`ip neigh`), by interface name then address.
    pub fn neighbours(&self) -> Vec<NeighEntry> {
        self.neigh
            .iter()
            .map(|((dev, ip), n)| NeighEntry {
                ip: *ip,
                dev: dev.clone(),
                mac: match n {
                    Neigh::Reachable(m) => Some(*m),
                    Neigh::Incomplete { .. } => None,
                },
            })
            .collect()
    }

    /// The hardware address learned for `ip` on any interface.
    pub fn neighbour(&self, ip: Ipv4Addr) -> Option<MacAddr> {
        self.neigh.iter().find_map(|((_, a), n)| match n {
            Neigh::Reachable(m) if *a == ip => Some(*m),
            _ => None,
        })
    }

    pub(super) fn proxy_timers(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(entry) = self.proxy_queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (dev, request) = entry.remove();
            if let Ok(i) = self.index(&dev) {
                self.arp_request_in(i, request, now, true);
            }
            any = true;
        }
        any
    }

    pub(super) fn arp_timers(&mut self, now: Instant) -> bool {
        let due: Vec<(String, Ipv4Addr)> = self
            .neigh
            .iter()
            .filter(|(_, n)| matches!(n, Neigh::Incomplete { next, .. } if *next <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &due {
            let tries = match self.neigh.get(key) {
                Some(Neigh::Incomplete { tries, .. }) => *tries,
                _ => continue,
            };
            if tries >= ARP_TRIES {
                if let Some(Neigh::Incomplete { queue, .. }) = self.neigh.remove(key) {
                    self.stats.unresolved += queue.len() as u64;
                    for packet in queue {
                        self.icmp_error(&packet, Icmpv4Message::DstUnreachable, 1, now);
                    }
                }
                self.log.push(format!(
                    "{}: neighbour {} dev {} FAILED",
                    self.name, key.1, key.0
                ));
                continue;
            }
            if let Some(Neigh::Incomplete { next, tries, .. }) = self.neigh.get_mut(key) {
                *next = now + ARP_RETRY;
                *tries += 1;
            }
            if let Ok(i) = self.index(&key.0) {
                self.send_arp_request(i, key.1, None);
            }
        }
        !due.is_empty()
    }

    pub(super) fn rx_arp(&mut self, i: usize, bytes: &[u8], now: Instant, unicast: bool) {
        let Ok(p) = ArpPacket::new_checked(bytes) else {
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr: sha,
            source_protocol_addr: spa,
            target_protocol_addr: tpa,
            ..
        }) = ArpRepr::parse(&p)
        else {
            return;
        };
        let dev = self.ifaces[i].name.clone();
        let sha = MacAddr(sha.0);
        // Learn (or refresh) the sender when it is known or the request is for us.
        let key = (dev.clone(), spa);
        let for_us = self.is_local(tpa);
        if !spa.is_unspecified() && (self.neigh.contains_key(&key) || for_us) {
            self.learn(i, spa, sha, now);
        }
        if operation == ArpOperation::Request {
            // Linux answers a request sent to its own MAC at once (PACKET_HOST).
            self.arp_request_in(i, ArpRequest { sha, spa, tpa }, now, unicast);
        }
    }

    /// Answers an ARP request (already learned from), or queues a proxied answer for
    /// its random delay as Linux does for broadcast requests.
    pub(super) fn arp_request_in(
        &mut self,
        i: usize,
        request: ArpRequest,
        now: Instant,
        at_once: bool,
    ) {
        let ArpRequest { sha, spa, tpa } = request;
        let dev = self.ifaces[i].name.clone();
        let route_dev = self.lookup(tpa).map(|(d, _)| d);
        let elsewhere = route_dev.is_some_and(|d| d != i);
        if self.is_local(tpa) {
            self.stats.arp_replies += 1;
        } else if elsewhere
            && (self.published.contains(&(tpa, dev.clone()))
                || (self.ifaces[i].proxy_arp && self.ip_forward))
        {
            if !at_once && self.proxy_delay > Duration::ZERO {
                let wait = self.rng.below(self.proxy_delay.total_micros());
                self.proxy_seq += 1;
                self.proxy_queue.insert(
                    (now + Duration::from_micros(wait), self.proxy_seq),
                    (dev, request),
                );
                return;
            }
            self.stats.proxy_replies += 1;
        } else {
            return;
        }
        let my = self.ifaces[i].mac;
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Reply,
            source_hardware_addr: EthernetAddress(my.0),
            source_protocol_addr: tpa,
            target_hardware_addr: EthernetAddress(sha.0),
            target_protocol_addr: spa,
        };
        self.send_arp(i, sha, &repr);
    }

    pub(super) fn learn(&mut self, i: usize, ip: Ipv4Addr, mac: MacAddr, _now: Instant) {
        let key = (self.ifaces[i].name.clone(), ip);
        let old = self.neigh.insert(key, Neigh::Reachable(mac));
        if let Some(Neigh::Incomplete { queue, .. }) = old {
            for packet in queue {
                self.send_frame(i, mac, EthernetProtocol::Ipv4, &packet);
            }
        }
    }

    pub(super) fn send_arp(&mut self, i: usize, to: MacAddr, repr: &ArpRepr) {
        let mut payload = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut payload[..]));
        self.send_frame(i, to, EthernetProtocol::Arp, &payload);
    }

    pub(super) fn send_arp_request(
        &mut self,
        i: usize,
        target: Ipv4Addr,
        src_hint: Option<Ipv4Addr>,
    ) {
        let src = src_hint
            .filter(|s| self.is_local(*s))
            .or_else(|| self.source_for(i))
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress(self.ifaces[i].mac.0),
            source_protocol_addr: src,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        self.send_arp(i, MacAddr::BROADCAST, &repr);
    }
}
