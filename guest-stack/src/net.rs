//! The guest's IP output and input below smoltcp: one routing table across all
//! interfaces, ARP per Ethernet interface, loopback of local traffic.
//!
//! smoltcp runs as ONE `Interface` with `Medium::Ip` over [`Net`], the way a UML kernel
//! has one IP stack over several net devices. Every packet smoltcp sends is routed here
//! by the guest's [`RouteTable`] (egress interface and next hop), then framed for that
//! interface: bare on an IP link, in Ethernet on an Ethernet link after resolving the
//! next hop's hardware address with ARP (Linux-like: three requests one second apart,
//! up to three packets queued meanwhile, an ICMP "host unreachable" back to the sender
//! when resolution fails). Incoming ARP is answered for any local address (Linux's
//! `arp_ignore=0`) and fills the neighbour cache that `arp -n` shows.

use crate::device::LinkDevice;
use crate::route::RouteTable;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
};
use umlnet_core::arp;
use umlnet_core::link::{Link, Medium as LinkMedium};
use umlnet_core::mac::MacAddr;

/// ARP requests sent before a neighbour is declared unreachable (Linux `mcast_solicit`).
pub(crate) const ARP_PROBES: u8 = arp::PROBES;
/// Time between ARP requests (Linux `retrans_time`).
pub(crate) const ARP_RETRANS: Duration = Duration::from_millis(arp::RETRANS.total_millis());
/// Packets kept per unresolved neighbour (the oldest is dropped beyond this).
pub(crate) const ARP_QUEUE: usize = arp::QUEUE;
/// How long a failed neighbour stays listed (`arp -n` shows it as incomplete).
pub(crate) const FAILED_LIFETIME: Duration = Duration::from_secs(60);
/// The IP MTU smoltcp is told; every UML transport carries 1500.
pub(crate) const IP_MTU: usize = 1500;

/// One neighbour cache entry.
#[derive(Debug)]
pub(crate) enum Neigh {
    /// Resolution in progress.
    Incomplete {
        probes: u8,
        next: Instant,
        source: Ipv4Addr,
        queue: VecDeque<Vec<u8>>,
    },
    /// Resolved.
    Reachable { mac: MacAddr },
    /// Resolution failed at `since`; the next packet starts over. Forgotten after
    /// [`FAILED_LIFETIME`], as the kernel's garbage collector does.
    Failed { since: Instant },
}

/// One interface: the device, its addresses, its state, its neighbours.
#[derive(Debug)]
pub(crate) struct Iface<L: Link> {
    pub dev: LinkDevice<L>,
    /// The MAC given on the command line, if any.
    pub configured_mac: Option<MacAddr>,
    /// The MAC in use.
    pub mac: MacAddr,
    pub addr: Option<Ipv4Addr>,
    pub prefix_len: u8,
    pub broadcast: Option<Ipv4Addr>,
    pub up: bool,
    pub neigh: BTreeMap<Ipv4Addr, Neigh>,
}

impl<L: Link> Iface<L> {
    pub fn is_ethernet(&self) -> bool {
        self.dev.medium() == LinkMedium::Ethernet
    }
}

/// All interfaces plus the routing table: the device smoltcp polls.
#[derive(Debug)]
pub(crate) struct Net<L: Link> {
    pub ifaces: BTreeMap<u32, Iface<L>>,
    pub routes: RouteTable,
    pub loopback: VecDeque<Vec<u8>>,
    pub now: Instant,
    next_rx: u32,
}

impl<L: Link> Net<L> {
    pub fn new(now: Instant) -> Self {
        Net {
            ifaces: BTreeMap::new(),
            routes: RouteTable::new(),
            loopback: VecDeque::new(),
            now,
            next_rx: 0,
        }
    }

    /// Whether `addr` is one of ours: an address of an interface that is up, or loopback.
    pub fn is_local(&self, addr: Ipv4Addr) -> bool {
        addr.is_loopback() || self.ifaces.values().any(|i| i.up && i.addr == Some(addr))
    }

    /// The source address for traffic to `dst`: the egress interface's address, else
    /// any address we have.
    pub fn source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.is_local(dst) {
            return Some(dst);
        }
        let route = self.routes.lookup(dst)?;
        self.ifaces
            .get(&route.iface)
            .and_then(|i| i.addr)
            .or_else(|| self.ifaces.values().filter(|i| i.up).find_map(|i| i.addr))
    }

    /// Retransmits ARP requests that are due and fails those out of probes.
    pub fn maintain(&mut self, now: Instant) {
        self.now = now;
        let mut unreachable: Vec<(Option<Ipv4Addr>, Vec<u8>)> = Vec::new();
        for iface in self.ifaces.values_mut() {
            let mac = iface.mac;
            let mut requests = Vec::new();
            for (&target, n) in iface.neigh.iter_mut() {
                let Neigh::Incomplete {
                    probes,
                    next,
                    source,
                    queue,
                } = n
                else {
                    continue;
                };
                if *next > now {
                    continue;
                }
                if *probes < ARP_PROBES {
                    *probes += 1;
                    *next = now + ARP_RETRANS;
                    requests.push((*source, target));
                } else {
                    for p in queue.drain(..) {
                        iface.dev.counters_mut().tx_dropped += 1;
                        unreachable.push((iface.addr, p));
                    }
                    *n = Neigh::Failed { since: now };
                }
            }
            iface.neigh.retain(
                |_, n| !matches!(n, Neigh::Failed { since } if *since + FAILED_LIFETIME <= now),
            );
            for (source, target) in requests {
                send_arp(
                    &mut iface.dev,
                    mac,
                    ArpOperation::Request,
                    source,
                    None,
                    target,
                );
            }
        }
        for (from, p) in unreachable {
            if let Some(reply) = host_unreachable(from, &p) {
                self.loopback.push_back(reply);
            }
        }
    }

    /// When [`Net::maintain`] next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        self.ifaces
            .values()
            .flat_map(|i| i.neigh.values())
            .filter_map(|n| match n {
                Neigh::Incomplete { next, .. } => Some(*next),
                Neigh::Failed { since } => Some(*since + FAILED_LIFETIME),
                Neigh::Reachable { .. } => None,
            })
            .min()
    }

    /// Routes and sends one IPv4 packet from the stack.
    pub fn output(&mut self, packet: Vec<u8>) {
        let Ok(ip) = Ipv4Packet::new_checked(&packet[..]) else {
            return;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if self.is_local(dst) {
            self.loopback.push_back(packet);
            return;
        }
        let Some(route) = self.routes.lookup(dst).copied() else {
            return;
        };
        let now = self.now;
        let Some(iface) = self.ifaces.get_mut(&route.iface) else {
            return;
        };
        if !iface.up {
            iface.dev.counters_mut().tx_dropped += 1;
            return;
        }
        if !iface.is_ethernet() {
            iface.dev.send_frame(&packet);
            return;
        }
        let next_hop = route.gateway.unwrap_or(dst);
        if dst.is_broadcast() || Some(dst) == iface.broadcast {
            send_ether(iface, EthernetAddress::BROADCAST, &packet);
            return;
        }
        if dst.is_multicast() {
            let o = dst.octets();
            let mac = EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]);
            send_ether(iface, mac, &packet);
            return;
        }
        match iface.neigh.get_mut(&next_hop) {
            Some(Neigh::Reachable { mac }) => {
                let mac = EthernetAddress(mac.0);
                send_ether(iface, mac, &packet);
            }
            Some(Neigh::Incomplete { queue, .. }) => {
                if queue.len() >= ARP_QUEUE {
                    queue.pop_front();
                    iface.dev.counters_mut().tx_dropped += 1;
                }
                queue.push_back(packet);
            }
            None | Some(Neigh::Failed { .. }) => {
                let source = iface.addr.unwrap_or(src);
                let mac = iface.mac;
                iface.neigh.insert(
                    next_hop,
                    Neigh::Incomplete {
                        probes: 1,
                        next: now + ARP_RETRANS,
                        source,
                        queue: VecDeque::from([packet]),
                    },
                );
                send_arp(
                    &mut iface.dev,
                    mac,
                    ArpOperation::Request,
                    source,
                    None,
                    next_hop,
                );
            }
        }
    }

    /// Takes the next IP packet for the stack from loopback or any interface,
    /// handling ARP on the way.
    fn input(&mut self) -> Option<Vec<u8>> {
        if let Some(p) = self.loopback.pop_front() {
            return Some(p);
        }
        let order: Vec<u32> = self
            .ifaces
            .range(self.next_rx..)
            .chain(self.ifaces.range(..self.next_rx))
            .map(|(&k, _)| k)
            .collect();
        for idx in order {
            loop {
                let iface = self.ifaces.get_mut(&idx)?;
                let ethernet = iface.is_ethernet();
                if !iface.up {
                    // A device that is down takes no frames; drain them uncounted so
                    // that nothing stale arrives when it comes up.
                    while iface.dev.discard_frame() {}
                    break;
                }
                let Some(frame) = iface.dev.recv_frame() else {
                    break;
                };
                let frame = frame.to_vec();
                if !ethernet {
                    self.next_rx = idx.wrapping_add(1);
                    return Some(frame);
                }
                if let Some(p) = self.ether_input(idx, &frame) {
                    self.next_rx = idx.wrapping_add(1);
                    return Some(p);
                }
            }
        }
        None
    }

    fn ether_input(&mut self, idx: u32, frame: &[u8]) -> Option<Vec<u8>> {
        let iface = self.ifaces.get_mut(&idx)?;
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            iface.dev.counters_mut().rx_dropped += 1;
            return None;
        };
        let dst = eth.dst_addr();
        match eth.ethertype() {
            EthernetProtocol::Ipv4
                if dst.0 == iface.mac.0 || dst.is_broadcast() || dst.is_multicast() =>
            {
                Some(eth.payload().to_vec())
            }
            EthernetProtocol::Arp => {
                self.arp_input(idx, eth.payload());
                None
            }
            _ => {
                iface.dev.counters_mut().rx_dropped += 1;
                None
            }
        }
    }

    fn arp_input(&mut self, idx: u32, payload: &[u8]) {
        let Ok(packet) = ArpPacket::new_checked(payload) else {
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr: sha,
            source_protocol_addr: spa,
            target_protocol_addr: tpa,
            ..
        }) = ArpRepr::parse(&packet)
        else {
            return;
        };
        let for_us = self.is_local(tpa) && !tpa.is_loopback();
        let Some(iface) = self.ifaces.get_mut(&idx) else {
            return;
        };
        if sha.0 == iface.mac.0 || !sha.is_unicast() || spa.is_unspecified() {
            return;
        }
        let known = iface.neigh.contains_key(&spa);
        if known || (for_us && operation == ArpOperation::Request) {
            let old = iface.neigh.insert(
                spa,
                Neigh::Reachable {
                    mac: MacAddr(sha.0),
                },
            );
            if let Some(Neigh::Incomplete { queue, .. }) = old {
                for p in queue {
                    send_ether(iface, sha, &p);
                }
            }
        }
        if for_us && operation == ArpOperation::Request {
            let mac = iface.mac;
            send_arp(
                &mut iface.dev,
                mac,
                ArpOperation::Reply,
                tpa,
                Some(sha),
                spa,
            );
        }
    }
}

fn send_ether<L: Link>(iface: &mut Iface<L>, dst: EthernetAddress, packet: &[u8]) {
    let repr = EthernetRepr {
        src_addr: EthernetAddress(iface.mac.0),
        dst_addr: dst,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut frame = vec![0; repr.buffer_len() + packet.len()];
    let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
    repr.emit(&mut view);
    view.payload_mut().copy_from_slice(packet);
    iface.dev.send_frame(&frame);
}

fn send_arp<L: Link>(
    dev: &mut LinkDevice<L>,
    mac: MacAddr,
    operation: ArpOperation,
    source: Ipv4Addr,
    target_mac: Option<EthernetAddress>,
    target: Ipv4Addr,
) {
    let arp = ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr: EthernetAddress(mac.0),
        source_protocol_addr: source,
        // A request carries zeros here, as Linux sends it.
        target_hardware_addr: target_mac.unwrap_or(EthernetAddress([0; 6])),
        target_protocol_addr: target,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress(mac.0),
        dst_addr: target_mac.unwrap_or(EthernetAddress::BROADCAST),
        ethertype: EthernetProtocol::Arp,
    };
    let mut frame = vec![0; eth.buffer_len() + arp.buffer_len()];
    let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut view);
    arp.emit(&mut ArpPacket::new_unchecked(view.payload_mut()));
    dev.send_frame(&frame);
}

/// The ICMP "destination host unreachable" a kernel hands back to the local sender of
/// `packet` when ARP for its next hop fails.
fn host_unreachable(from: Option<Ipv4Addr>, packet: &[u8]) -> Option<Vec<u8>> {
    let caps = ChecksumCapabilities::default();
    let orig = Ipv4Packet::new_checked(packet).ok()?;
    let header = Ipv4Repr::parse(&orig, &ChecksumCapabilities::ignored()).ok()?;
    let data = &orig.payload()[..orig.payload().len().min(8)];
    let icmp = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::HostUnreachable,
        header,
        data,
    };
    let ip = Ipv4Repr {
        src_addr: from.unwrap_or(header.src_addr),
        dst_addr: header.src_addr,
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
    };
    let mut buf = vec![0; ip.buffer_len() + icmp.buffer_len()];
    let mut view = Ipv4Packet::new_unchecked(&mut buf[..]);
    ip.emit(&mut view, &caps);
    icmp.emit(&mut Icmpv4Packet::new_unchecked(view.payload_mut()), &caps);
    Some(buf)
}

impl<L: Link> Device for Net<L> {
    type RxToken<'a>
        = NetRx
    where
        Self: 'a;
    type TxToken<'a>
        = NetTx<'a, L>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.now = timestamp;
        let packet = self.input()?;
        Some((NetRx(packet), NetTx { net: self }))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.now = timestamp;
        Some(NetTx { net: self })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = IP_MTU;
        caps
    }
}

/// A received IP packet for smoltcp.
pub(crate) struct NetRx(Vec<u8>);

impl phy::RxToken for NetRx {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(&self.0)
    }
}

/// Room for one IP packet from smoltcp, routed when filled.
pub(crate) struct NetTx<'a, L: Link> {
    net: &'a mut Net<L>,
}

impl<L: Link> phy::TxToken for NetTx<'_, L> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.net.output(buf);
        r
    }
}
