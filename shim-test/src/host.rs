//! The simulated host kernel: the part of Linux that UML networking leans on.
//!
//! [`HostKernel`] holds interfaces (taps, SLIP lines, a LAN card), IPv4 addresses, a
//! routing table with longest-prefix match, a neighbour (ARP) table, proxy ARP per
//! interface, published ("proxy") ARP entries, `ip_forward`, and answers ICMP echo. It
//! is changed only through the core's typed host actions ([`HostKernel::apply`]), the
//! same [`HostAction`]s that the Linux shim turns into netlink and `/proc/sys` writes,
//! so a plan from [`umlnet_core::host::plan_for`] does here what it does on a real host.
//!
//! Behaviour modelled on Linux (6.x, default sysctls):
//!
//! * ARP requests are answered for any local address on any interface
//!   (`arp_ignore=0`); for a published entry `(ip, dev)` when the route to `ip` leaves
//!   by another interface; and, with `proxy_arp` on the receiving interface and
//!   forwarding on, for any address whose route leaves by another interface.
//! * An address with a prefix shorter than /32 brings its network route; one with a
//!   peer brings a host route to the peer; routes of a down interface are not used.
//! * Forwarding decrements the TTL and drops at zero; without `ip_forward`, packets for
//!   other hosts are dropped. Packets with a bad IPv4 or ICMP checksum are dropped.
//! * A proxied answer (published entry or `proxy_arp`) to a broadcast request waits a
//!   random time below `proxy_delay` ([`PROXY_DELAY`], 0.8 s), drawn from the seed; a
//!   request sent to the host's own MAC is answered at once.
//! * An unresolved next hop is asked for three times a second apart, with up to
//!   [`ARP_QUEUE`] packets waiting; then the entry fails, and each packet waiting draws
//!   an ICMP host unreachable to its source.
//! * Forwarding sends ICMP time exceeded at TTL 1 and net unreachable without a route,
//!   from the address of the interface the error leaves by; never about an ICMP error.
//!
//! Not modelled: `rp_filter`, ICMP redirects, fragmentation, neighbour ageing, TCP
//! and UDP on the host itself (the host answers ping; other machines are guests).
//!
//! Two hosts built from this type also serve as the other machines of a scenario: a
//! LAN router (two interfaces and `ip_forward`) or a plain LAN host.

use crate::net::{SimLink, random_mac};
use crate::rng::Rng;
use core::fmt;
use core::net::Ipv4Addr;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet,
};
use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;
use umlnet_core::arp;
use umlnet_core::host::{HostAction, Prefix, Route};
use umlnet_core::link::{Link, Medium};
use umlnet_core::mac::MacAddr;

/// Packets held per unresolved neighbour (Linux holds more; three suffice for pings).
pub const ARP_QUEUE: usize = arp::QUEUE;
/// Time between ARP requests for an unresolved neighbour.
pub const ARP_RETRY: Duration = Duration::from_millis(arp::RETRANS.total_millis());
/// ARP requests sent before a neighbour is given up.
pub const ARP_TRIES: u8 = arp::PROBES;
/// Linux's default `proxy_delay`: a proxy ARP reply to a broadcast request waits a
/// random time below this (80 jiffies).
pub const PROXY_DELAY: Duration = Duration::from_millis(800);
/// The TTL of packets the host itself sends.
pub const DEFAULT_TTL: u8 = 64;

/// Why a host action failed, worded as `ip` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// No interface of that name.
    NoSuchDevice(String),
    /// The device, address, route or entry already exists.
    Exists,
    /// The address, route or entry to delete does not exist.
    NotFound,
    /// A gateway that no route on a link reaches.
    GatewayUnreachable(Ipv4Addr),
    /// A TAP of that name is already there and in use.
    Busy(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoSuchDevice(d) => write!(f, "Cannot find device \"{d}\""),
            HostError::Exists => f.write_str("RTNETLINK answers: File exists"),
            HostError::NotFound => f.write_str("RTNETLINK answers: No such process"),
            HostError::GatewayUnreachable(g) => {
                write!(f, "Error: Nexthop has invalid gateway ({g}).")
            }
            HostError::Busy(d) => write!(f, "ioctl(TUNSETIFF): Device or resource busy ({d})"),
        }
    }
}

impl core::error::Error for HostError {}

/// The kind of a host interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfKind {
    /// A TAP device (tuntap, or the tap that emulates ethertap).
    Tap,
    /// A SLIP line (`sl<n>`): IP packets, no ARP.
    Slip,
    /// A LAN card.
    Ethernet,
}

/// An address of a host interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostAddr {
    /// The local address.
    pub addr: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// The far end of a point-to-point link.
    pub peer: Option<Ipv4Addr>,
}

/// One interface of the host.
#[derive(Debug)]
pub struct HostIface {
    /// `tap0`, `sl0`, `eth0`.
    pub name: String,
    /// What it is.
    pub kind: IfKind,
    /// Its hardware address (unused on SLIP).
    pub mac: MacAddr,
    /// Its IPv4 addresses, in the order added.
    pub addrs: Vec<HostAddr>,
    /// Administratively up.
    pub up: bool,
    /// MTU.
    pub mtu: u16,
    /// `net.ipv4.conf.<dev>.proxy_arp`.
    pub proxy_arp: bool,
    /// Persistent (made by `tunctl` / `ip tuntap add`) rather than by the guest opening
    /// `/dev/net/tun`.
    pub persistent: bool,
    link: Option<SimLink>,
}

impl HostIface {
    fn medium(&self) -> Medium {
        match self.kind {
            IfKind::Slip => Medium::Ip,
            _ => Medium::Ethernet,
        }
    }
}

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

#[derive(Debug)]
enum Neigh {
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

/// Counters of what the host did with packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostStats {
    /// IPv4 packets for the host itself.
    pub delivered: u64,
    /// Echo requests answered.
    pub echo_replies: u64,
    /// Packets forwarded.
    pub forwarded: u64,
    /// Packets for other hosts dropped because `ip_forward` is off.
    pub not_forwarding: u64,
    /// Packets dropped for a bad checksum or a malformed header.
    pub bad_packets: u64,
    /// Packets without a route.
    pub no_route: u64,
    /// Packets dropped because their next hop never answered ARP.
    pub unresolved: u64,
    /// ARP replies sent for one of the host's own addresses.
    pub arp_replies: u64,
    /// ARP replies sent for someone else (proxy ARP or a published entry).
    pub proxy_replies: u64,
    /// Echo replies received (for the host's own pings).
    pub echo_replies_received: u64,
    /// ICMP errors sent (unreachable, time exceeded).
    pub icmp_errors: u64,
}

/// The fields of an ARP request that answering it needs (sender MAC and address, the
/// address asked for), parsed once on arrival and kept while a proxied answer waits.
#[derive(Debug, Clone, Copy)]
struct ArpRequest {
    sha: MacAddr,
    spa: Ipv4Addr,
    tpa: Ipv4Addr,
}

/// The simulated host kernel (see the module documentation).
#[derive(Debug)]
pub struct HostKernel {
    name: String,
    ifaces: Vec<HostIface>,
    routes: Vec<HostRoute>,
    neigh: BTreeMap<(String, Ipv4Addr), Neigh>,
    published: BTreeSet<(Ipv4Addr, String)>,
    ip_forward: bool,
    rng: Rng,
    stats: HostStats,
    log: Vec<String>,
    buf: Vec<u8>,
    ping_id: u16,
    ping_seq: u16,
    proxy_delay: Duration,
    /// Proxied ARP requests waiting out their delay: (due, seq) -> (device, request).
    proxy_queue: BTreeMap<(Instant, u64), (String, ArpRequest)>,
    proxy_seq: u64,
}

impl HostKernel {
    /// A host with no interfaces, forwarding off. `seed` gives its TAPs their MACs.
    pub fn new(name: &str, seed: u64) -> HostKernel {
        HostKernel {
            name: name.into(),
            ifaces: Vec::new(),
            routes: Vec::new(),
            neigh: BTreeMap::new(),
            published: BTreeSet::new(),
            ip_forward: false,
            rng: Rng::new(seed),
            stats: HostStats::default(),
            log: Vec::new(),
            buf: vec![0; 2048],
            ping_id: 0x4d00,
            ping_seq: 0,
            proxy_delay: PROXY_DELAY,
            proxy_queue: BTreeMap::new(),
            proxy_seq: 0,
        }
    }

    /// Sets `proxy_delay` for every interface (zero answers proxied requests at once).
    pub fn set_proxy_delay(&mut self, d: Duration) {
        self.proxy_delay = d;
    }

    /// The host's name (in transcripts).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counters.
    pub fn stats(&self) -> HostStats {
        self.stats
    }

    /// `net.ipv4.ip_forward`.
    pub fn ip_forward(&self) -> bool {
        self.ip_forward
    }

    /// Turns forwarding on or off (`sysctl -w net.ipv4.ip_forward=0` has no host action).
    pub fn set_ip_forward(&mut self, on: bool) {
        self.ip_forward = on;
    }

    /// Lines the kernel logged since the last call (for the transcript).
    pub fn take_log(&mut self) -> Vec<String> {
        core::mem::take(&mut self.log)
    }

    /// The interfaces, in creation order.
    pub fn interfaces(&self) -> &[HostIface] {
        &self.ifaces
    }

    /// The interface called `name`.
    pub fn interface(&self, name: &str) -> Option<&HostIface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    fn index(&self, name: &str) -> Result<usize, HostError> {
        self.ifaces
            .iter()
            .position(|i| i.name == name)
            .ok_or_else(|| HostError::NoSuchDevice(name.into()))
    }

    /// Adds an interface (a LAN card, a SLIP line, a TAP the guest opened), down and
    /// without addresses. A TAP or LAN card gets a random locally administered MAC
    /// unless `mac` is given.
    pub fn add_interface(
        &mut self,
        name: &str,
        kind: IfKind,
        mac: Option<MacAddr>,
    ) -> Result<(), HostError> {
        if self.interface(name).is_some() {
            return Err(HostError::Exists);
        }
        let mac = mac.unwrap_or_else(|| random_mac(&mut self.rng));
        self.ifaces.push(HostIface {
            name: name.into(),
            kind,
            mac,
            addrs: Vec::new(),
            up: false,
            mtu: 1500,
            proxy_arp: false,
            persistent: false,
            link: None,
        });
        Ok(())
    }

    /// The first free `<prefix><n>` name (`tap0`, `sl0`), as the kernel picks it.
    pub fn free_name(&self, prefix: &str) -> String {
        (0..)
            .map(|n| format!("{prefix}{n}"))
            .find(|n| self.interface(n).is_none())
            .unwrap_or_default()
    }

    /// Connects interface `name` to a wire (the guest opened the tap, the helper
    /// attached the line). A TAP already attached is busy.
    pub fn attach(&mut self, name: &str, link: SimLink) -> Result<(), HostError> {
        let i = self.index(name)?;
        let iface = &mut self.ifaces[i];
        if iface.link.is_some() {
            return Err(HostError::Busy(name.into()));
        }
        iface.link = Some(link);
        Ok(())
    }

    /// Disconnects interface `name` from its wire and gives the link back; a TAP that
    /// is not persistent disappears with it (as when the guest closes its fd).
    pub fn detach(&mut self, name: &str) -> Option<SimLink> {
        let i = self.index(name).ok()?;
        let link = self.ifaces[i].link.take();
        if self.ifaces[i].kind == IfKind::Tap && !self.ifaces[i].persistent {
            self.remove_interface(i);
        }
        link
    }

    fn remove_interface(&mut self, i: usize) {
        let name = self.ifaces[i].name.clone();
        self.ifaces.remove(i);
        self.routes.retain(|r| r.dev != name);
        self.neigh.retain(|(d, _), _| *d != name);
        self.published.retain(|(_, d)| *d != name);
    }

    /// Applies one host action, as the Linux shim does with netlink and sysctls.
    pub fn apply(&mut self, action: &HostAction) -> Result<(), HostError> {
        let r = self.apply_inner(action);
        self.log.push(match &r {
            Ok(()) => format!("{}# {action}", self.name),
            Err(e) => format!("{}# {action}\n    {e}", self.name),
        });
        r
    }

    fn apply_inner(&mut self, action: &HostAction) -> Result<(), HostError> {
        match action {
            HostAction::CreateTap(t) => {
                let name = match &t.name {
                    Some(n) => n.to_string(),
                    None => self.free_name("tap"),
                };
                if let Some(i) = self.interface(&name) {
                    // `tunctl` on an existing tap makes it persistent again; in use it
                    // is busy.
                    if i.kind == IfKind::Tap && i.link.is_none() {
                        let i = self.index(&name)?;
                        self.ifaces[i].persistent = true;
                        return Ok(());
                    }
                    return Err(HostError::Busy(name));
                }
                self.add_interface(&name, IfKind::Tap, None)?;
                let i = self.index(&name)?;
                self.ifaces[i].persistent = true;
            }
            HostAction::DeleteTap(t) => {
                let name = t.name.as_deref().unwrap_or("");
                let i = self.index(name)?;
                if self.ifaces[i].link.is_some() {
                    return Err(HostError::Busy(name.into()));
                }
                self.remove_interface(i);
            }
            HostAction::AddAddress(a) => {
                let i = self.index(&a.dev)?;
                let new = HostAddr {
                    addr: a.addr,
                    prefix: a.prefix.bits(),
                    peer: a.peer,
                };
                let iface = &mut self.ifaces[i];
                if iface.addrs.iter().any(|x| x.addr == new.addr) {
                    return Err(HostError::Exists);
                }
                iface.addrs.push(new);
            }
            HostAction::DelAddress(a) => {
                let i = self.index(&a.dev)?;
                let iface = &mut self.ifaces[i];
                let before = iface.addrs.len();
                iface.addrs.retain(|x| x.addr != a.addr);
                if iface.addrs.len() == before {
                    return Err(HostError::NotFound);
                }
            }
            HostAction::FlushAddresses { dev } => {
                let i = self.index(dev)?;
                self.ifaces[i].addrs.clear();
            }
            HostAction::SetMtu { dev, mtu } => {
                let i = self.index(dev)?;
                self.ifaces[i].mtu = *mtu;
            }
            HostAction::LinkUp { dev } => {
                let i = self.index(dev)?;
                self.ifaces[i].up = true;
            }
            HostAction::LinkDown { dev } => {
                let i = self.index(dev)?;
                self.ifaces[i].up = false;
                let name = self.ifaces[i].name.clone();
                // Linux flushes the static routes and neighbours of a device going down.
                self.routes.retain(|r| r.dev != name);
                self.neigh.retain(|(d, _), _| *d != name);
            }
            HostAction::AddRoute(r) => {
                let route = self.route_of(r)?;
                if self
                    .routes
                    .iter()
                    .any(|x| x.dst == route.dst && x.prefix == route.prefix)
                {
                    return Err(HostError::Exists);
                }
                self.routes.push(route);
            }
            HostAction::DelRoute(r) => {
                let (dst, prefix) = match r {
                    Route::Host { dst, .. } => (*dst, 32),
                    Route::Net { net, prefix, .. } => {
                        (mask_addr(*net, prefix.bits()), prefix.bits())
                    }
                    Route::Default { .. } => (Ipv4Addr::UNSPECIFIED, 0),
                };
                let before = self.routes.len();
                self.routes
                    .retain(|x| !(x.dst == dst && x.prefix == prefix));
                if self.routes.len() == before {
                    return Err(HostError::NotFound);
                }
            }
            HostAction::ProxyArp { dev, on } => {
                let i = self.index(dev)?;
                self.ifaces[i].proxy_arp = *on;
            }
            HostAction::AddProxyNeigh { ip, dev } => {
                self.index(dev)?;
                if !self.published.insert((*ip, dev.to_string())) {
                    return Err(HostError::Exists);
                }
            }
            HostAction::DelProxyNeigh { ip, dev } => {
                self.index(dev)?;
                if !self.published.remove(&(*ip, dev.to_string())) {
                    return Err(HostError::NotFound);
                }
            }
            HostAction::IpForward => self.ip_forward = true,
        }
        Ok(())
    }

    fn route_of(&self, r: &Route) -> Result<HostRoute, HostError> {
        Ok(match r {
            Route::Host { dst, dev, via } => {
                self.index(dev)?;
                HostRoute {
                    dst: *dst,
                    prefix: 32,
                    via: *via,
                    dev: dev.to_string(),
                    connected: false,
                }
            }
            Route::Net { net, prefix, dev } => {
                self.index(dev)?;
                HostRoute {
                    dst: mask_addr(*net, prefix.bits()),
                    prefix: prefix.bits(),
                    via: None,
                    dev: dev.to_string(),
                    connected: false,
                }
            }
            Route::Default { via } => {
                let (dev, hop) = self
                    .lookup(*via)
                    .ok_or(HostError::GatewayUnreachable(*via))?;
                if hop != *via {
                    return Err(HostError::GatewayUnreachable(*via));
                }
                HostRoute {
                    dst: Ipv4Addr::UNSPECIFIED,
                    prefix: 0,
                    via: Some(*via),
                    dev: self.ifaces[dev].name.clone(),
                    connected: false,
                }
            }
        })
    }

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

    /// Sends one ICMP echo request from the host to `dst` (as `ping -c 1`); the reply
    /// is counted in [`HostStats::echo_replies_received`].
    pub fn ping(&mut self, dst: Ipv4Addr, now: Instant) -> bool {
        let Some((i, _)) = self.lookup(dst) else {
            return false;
        };
        let Some(src) = self.source_for(i) else {
            return false;
        };
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let mut p = vec![0u8; 20 + 8 + 32];
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut p[..]);
            ip.set_version(4);
            ip.set_header_len(20);
            ip.set_total_len(60);
            ip.set_ident(self.ping_seq);
            ip.set_dont_frag(true);
            ip.set_hop_limit(DEFAULT_TTL);
            ip.set_next_header(IpProtocol::Icmp);
            ip.set_src_addr(src);
            ip.set_dst_addr(dst);
            ip.fill_checksum();
        }
        {
            let mut icmp = Icmpv4Packet::new_unchecked(&mut p[20..]);
            icmp.set_msg_type(Icmpv4Message::EchoRequest);
            icmp.set_msg_code(0);
            icmp.set_echo_ident(self.ping_id);
            icmp.set_echo_seq_no(self.ping_seq);
            for (k, b) in icmp.data_mut().iter_mut().enumerate() {
                *b = k as u8;
            }
            icmp.fill_checksum();
        }
        self.route_out(p, now);
        true
    }

    fn source_for(&self, i: usize) -> Option<Ipv4Addr> {
        self.ifaces[i]
            .addrs
            .first()
            .or_else(|| self.ifaces.iter().flat_map(|j| j.addrs.first()).next())
            .map(|a| a.addr)
    }

    /// When the host next has timed work (an ARP retry).
    pub fn poll_at(&self) -> Option<Instant> {
        let arp = self
            .neigh
            .values()
            .filter_map(|n| match n {
                Neigh::Incomplete { next, .. } => Some(*next),
                Neigh::Reachable(_) => None,
            })
            .min();
        let proxy = self.proxy_queue.keys().next().map(|k| k.0);
        arp.into_iter().chain(proxy).min()
    }

    /// Reads every interface and does the due work; whether anything happened.
    pub fn poll(&mut self, now: Instant) -> bool {
        let mut any = false;
        for i in 0..self.ifaces.len() {
            for _ in 0..256 {
                let Some(i) = (i < self.ifaces.len()).then_some(i) else {
                    break;
                };
                let mut buf = core::mem::take(&mut self.buf);
                let got = match self.ifaces[i].link.as_mut() {
                    Some(l) => l.recv(&mut buf).ok().flatten(),
                    None => None,
                };
                let Some(n) = got else {
                    self.buf = buf;
                    break;
                };
                any = true;
                if self.ifaces[i].up {
                    match self.ifaces[i].medium() {
                        Medium::Ethernet => self.rx_ethernet(i, &buf[..n], now),
                        Medium::Ip => self.rx_ip(i, &buf[..n], now),
                    }
                }
                self.buf = buf;
            }
        }
        any |= self.arp_timers(now);
        any |= self.proxy_timers(now);
        any
    }

    fn proxy_timers(&mut self, now: Instant) -> bool {
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

    fn arp_timers(&mut self, now: Instant) -> bool {
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

    fn rx_ethernet(&mut self, i: usize, bytes: &[u8], now: Instant) {
        let Ok(f) = EthernetFrame::new_checked(bytes) else {
            self.stats.bad_packets += 1;
            return;
        };
        let dst = MacAddr(f.dst_addr().0);
        if dst != self.ifaces[i].mac && !dst.is_multicast() {
            return; // not for this host (a flooded frame)
        }
        match f.ethertype() {
            EthernetProtocol::Arp => self.rx_arp(i, f.payload(), now, !dst.is_multicast()),
            EthernetProtocol::Ipv4 => self.rx_ip(i, f.payload(), now),
            _ => {}
        }
    }

    fn rx_arp(&mut self, i: usize, bytes: &[u8], now: Instant, unicast: bool) {
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
    fn arp_request_in(&mut self, i: usize, request: ArpRequest, now: Instant, at_once: bool) {
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

    fn learn(&mut self, i: usize, ip: Ipv4Addr, mac: MacAddr, _now: Instant) {
        let key = (self.ifaces[i].name.clone(), ip);
        let old = self.neigh.insert(key, Neigh::Reachable(mac));
        if let Some(Neigh::Incomplete { queue, .. }) = old {
            for packet in queue {
                self.send_frame(i, mac, EthernetProtocol::Ipv4, &packet);
            }
        }
    }

    fn send_arp(&mut self, i: usize, to: MacAddr, repr: &ArpRepr) {
        let mut payload = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut payload[..]));
        self.send_frame(i, to, EthernetProtocol::Arp, &payload);
    }

    fn send_arp_request(&mut self, i: usize, target: Ipv4Addr, src_hint: Option<Ipv4Addr>) {
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

    fn send_frame(&mut self, i: usize, to: MacAddr, proto: EthernetProtocol, payload: &[u8]) {
        let iface = &mut self.ifaces[i];
        let mut frame = vec![0u8; 14 + payload.len()];
        {
            let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
            f.set_dst_addr(EthernetAddress(to.0));
            f.set_src_addr(EthernetAddress(iface.mac.0));
            f.set_ethertype(proto);
            f.payload_mut().copy_from_slice(payload);
        }
        if let Some(l) = iface.link.as_mut() {
            let _ = l.send(&frame);
        }
    }

    fn rx_ip(&mut self, i: usize, bytes: &[u8], now: Instant) {
        let Ok(p) = Ipv4Packet::new_checked(bytes) else {
            self.stats.bad_packets += 1;
            return;
        };
        if p.version() != 4 || !p.verify_checksum() {
            self.stats.bad_packets += 1;
            return;
        }
        let len = usize::from(p.total_len());
        let packet = &bytes[..len];
        let dst = p.dst_addr();
        let local = self.is_local(dst) || dst.is_broadcast();
        if local {
            self.stats.delivered += 1;
            self.local_deliver(packet, now);
            return;
        }
        if !self.ip_forward {
            self.stats.not_forwarding += 1;
            return;
        }
        if p.hop_limit() <= 1 {
            self.stats.bad_packets += 1;
            self.icmp_error(packet, Icmpv4Message::TimeExceeded, 0, now);
            return;
        }
        let mut out = packet.to_vec();
        {
            let mut q = Ipv4Packet::new_unchecked(&mut out[..]);
            q.set_hop_limit(q.hop_limit() - 1);
            q.fill_checksum();
        }
        self.stats.forwarded += 1;
        let _ = i;
        if self.lookup(dst).is_none() {
            self.stats.no_route += 1;
            self.icmp_error(packet, Icmpv4Message::DstUnreachable, 0, now);
            return;
        }
        self.route_out(out, now);
    }

    fn local_deliver(&mut self, packet: &[u8], now: Instant) {
        let p = Ipv4Packet::new_unchecked(packet);
        if p.next_header() != IpProtocol::Icmp {
            return;
        }
        let hl = usize::from(p.header_len());
        let Ok(icmp) = Icmpv4Packet::new_checked(&packet[hl..]) else {
            self.stats.bad_packets += 1;
            return;
        };
        if !icmp.verify_checksum() {
            self.stats.bad_packets += 1;
            return;
        }
        match icmp.msg_type() {
            Icmpv4Message::EchoRequest => {
                let (src, dst) = (p.src_addr(), p.dst_addr());
                let mut out = packet.to_vec();
                {
                    let mut q = Ipv4Packet::new_unchecked(&mut out[..]);
                    q.set_src_addr(dst);
                    q.set_dst_addr(src);
                    q.set_hop_limit(DEFAULT_TTL);
                    q.fill_checksum();
                }
                {
                    let mut r = Icmpv4Packet::new_unchecked(&mut out[hl..]);
                    r.set_msg_type(Icmpv4Message::EchoReply);
                    r.fill_checksum();
                }
                self.stats.echo_replies += 1;
                self.route_out(out, now);
            }
            Icmpv4Message::EchoReply if icmp.echo_ident() == self.ping_id => {
                self.stats.echo_replies_received += 1;
            }
            _ => {}
        }
    }

    /// Sends an ICMP error about `original` to its source, as `icmp_send` does: not
    /// about ICMP errors, not to a source that is ours, broadcast or unspecified; the
    /// error's source is the address of the interface the error leaves by.
    fn icmp_error(&mut self, original: &[u8], kind: Icmpv4Message, code: u8, now: Instant) {
        let Ok(p) = Ipv4Packet::new_checked(original) else {
            return;
        };
        let to = p.src_addr();
        if to.is_unspecified() || to.is_broadcast() || to.is_multicast() || self.is_local(to) {
            return;
        }
        let hl = usize::from(p.header_len());
        if p.next_header() == IpProtocol::Icmp {
            let inner = original.get(hl).copied().unwrap_or(0xff);
            // Only echo requests and replies may draw an error.
            if inner != 0 && inner != 8 {
                return;
            }
        }
        let Some((i, _)) = self.lookup(to) else {
            return;
        };
        let Some(src) = self.source_for(i) else {
            return;
        };
        let quote = &original[..original.len().min(hl + 8)];
        let mut out = vec![0u8; 20 + 8 + quote.len()];
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut out[..]);
            ip.set_version(4);
            ip.set_header_len(20);
            ip.set_total_len((28 + quote.len()) as u16);
            ip.set_hop_limit(DEFAULT_TTL);
            ip.set_next_header(IpProtocol::Icmp);
            ip.set_src_addr(src);
            ip.set_dst_addr(to);
            ip.fill_checksum();
        }
        {
            let mut icmp = Icmpv4Packet::new_unchecked(&mut out[20..]);
            icmp.set_msg_type(kind);
            icmp.set_msg_code(code);
            icmp.data_mut().copy_from_slice(quote);
            icmp.fill_checksum();
        }
        self.stats.icmp_errors += 1;
        self.log.push(format!(
            "{}: icmp {kind} code {code} to {to} (from {src})",
            self.name
        ));
        self.route_out(out, now);
    }

    /// Sends an IPv4 packet the way the routing table says.
    fn route_out(&mut self, packet: Vec<u8>, now: Instant) {
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

#[cfg(test)]
mod test {
    use super::*;
    use crate::net::{EPOCH, Framing, Net, SegmentKind, SimPort};
    use umlnet_core::host::{IfAddr, if_name, tuntap_up};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn addr(dev: &str, a: &str, prefix: u8) -> HostAction {
        HostAction::AddAddress(IfAddr {
            dev: if_name(dev).unwrap(),
            addr: ip(a),
            prefix: Prefix::new(prefix).unwrap(),
            peer: None,
        })
    }

    fn up(dev: &str) -> HostAction {
        HostAction::LinkUp {
            dev: if_name(dev).unwrap(),
        }
    }

    /// A host with eth0 192.168.0.4/24 on a LAN wire and tap0 192.168.0.254/32 on
    /// another, and the far ends of both wires.
    fn host() -> (Net, HostKernel, SimPort, SimPort) {
        let net = Net::new(0);
        let lan = net.add_segment(
            "lan",
            SegmentKind::Wire,
            Framing::Ethernet,
            Duration::from_micros(10),
        );
        let tap = net.add_segment(
            "tap0",
            SegmentKind::Wire,
            Framing::Ethernet,
            Duration::from_micros(10),
        );
        let mut h = HostKernel::new("host", 1);
        h.add_interface("eth0", IfKind::Ethernet, Some(MacAddr([2, 0, 0, 0, 0, 4])))
            .unwrap();
        h.add_interface("tap0", IfKind::Tap, Some(MacAddr([2, 0, 0, 0, 0, 0xfe])))
            .unwrap();
        h.attach("eth0", SimLink::Port(net.attach(lan, "host:eth0")))
            .unwrap();
        h.attach("tap0", SimLink::Port(net.attach(tap, "host:tap0")))
            .unwrap();
        let lan_end = net.attach(lan, "lan");
        let tap_end = net.attach(tap, "uml");
        h.apply(&addr("eth0", "192.168.0.4", 24)).unwrap();
        h.apply(&up("eth0")).unwrap();
        for a in tuntap_up("tap0", ip("192.168.0.254")).unwrap().iter() {
            h.apply(a).unwrap();
        }
        (net, h, lan_end, tap_end)
    }

    fn arp_request(from_mac: [u8; 6], from: &str, target: &str) -> Vec<u8> {
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress(from_mac),
            source_protocol_addr: ip(from),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ip(target),
        };
        let mut f = vec![0u8; 14 + repr.buffer_len()];
        let mut e = EthernetFrame::new_unchecked(&mut f[..]);
        e.set_dst_addr(EthernetAddress([0xff; 6]));
        e.set_src_addr(EthernetAddress(from_mac));
        e.set_ethertype(EthernetProtocol::Arp);
        repr.emit(&mut ArpPacket::new_unchecked(e.payload_mut()));
        f
    }

    /// Sends `frame` from `end`, lets the host answer, and returns what came back.
    fn ask(net: &Net, h: &mut HostKernel, end: &mut SimPort, frame: &[u8]) -> Vec<Vec<u8>> {
        end.send(frame).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        h.poll(net.now());
        for _ in 0..8 {
            let next = [net.next_event(), h.poll_at()].into_iter().flatten().min();
            let Some(t) = next else { break };
            net.advance_to(t);
            h.poll(net.now());
            while let Some(n) = end.recv(&mut buf).unwrap() {
                out.push(buf[..n].to_vec());
            }
        }
        out
    }

    fn arp_reply_for(frames: &[Vec<u8>]) -> Option<(Ipv4Addr, MacAddr)> {
        frames.iter().find_map(|f| {
            let e = EthernetFrame::new_checked(&f[..]).ok()?;
            match ArpRepr::parse(&ArpPacket::new_checked(e.payload()).ok()?).ok()? {
                ArpRepr::EthernetIpv4 {
                    operation: ArpOperation::Reply,
                    source_protocol_addr,
                    source_hardware_addr,
                    ..
                } => Some((source_protocol_addr, MacAddr(source_hardware_addr.0))),
                _ => None,
            }
        })
    }

    #[test]
    fn longest_prefix_wins_and_down_devices_do_not_route() {
        let (_, mut h, _, _) = host();
        h.apply(&HostAction::AddRoute(Route::Default {
            via: ip("192.168.0.1"),
        }))
        .unwrap();
        h.apply(&HostAction::AddRoute(Route::Host {
            dst: ip("192.168.0.253"),
            dev: if_name("tap0").unwrap(),
            via: None,
        }))
        .unwrap();
        let eth0 = h.index("eth0").unwrap();
        let tap0 = h.index("tap0").unwrap();
        assert_eq!(
            h.lookup(ip("192.168.0.253")),
            Some((tap0, ip("192.168.0.253")))
        );
        assert_eq!(h.lookup(ip("192.168.0.7")), Some((eth0, ip("192.168.0.7"))));
        assert_eq!(h.lookup(ip("8.8.8.8")), Some((eth0, ip("192.168.0.1"))));
        let text: Vec<String> = h.routes().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            text,
            [
                "192.168.0.0/24 dev eth0 proto kernel scope link",
                "default via 192.168.0.1 dev eth0",
                "192.168.0.253 dev tap0"
            ]
        );
        h.apply(&HostAction::LinkDown {
            dev: if_name("tap0").unwrap(),
        })
        .unwrap();
        assert_eq!(
            h.lookup(ip("192.168.0.253")),
            Some((eth0, ip("192.168.0.253")))
        );
    }

    #[test]
    fn actions_fail_as_ip_does() {
        let (_, mut h, _, _) = host();
        assert_eq!(
            h.apply(&addr("eth0", "192.168.0.4", 24)),
            Err(HostError::Exists)
        );
        assert_eq!(
            h.apply(&addr("eth9", "10.0.0.1", 8)),
            Err(HostError::NoSuchDevice("eth9".into()))
        );
        assert_eq!(
            h.apply(&HostAction::AddRoute(Route::Default {
                via: ip("10.9.9.9")
            })),
            Err(HostError::GatewayUnreachable(ip("10.9.9.9")))
        );
        let del = HostAction::DelProxyNeigh {
            ip: ip("1.2.3.4"),
            dev: if_name("eth0").unwrap(),
        };
        assert_eq!(h.apply(&del), Err(HostError::NotFound));
        assert_eq!(
            HostError::Exists.to_string(),
            "RTNETLINK answers: File exists"
        );
        let log = h.take_log();
        assert!(
            log.iter()
                .any(|l| l.contains("host# ip addr add 192.168.0.4/24 dev eth0"))
        );
        // A tap that a guest holds cannot be deleted.
        let tap = umlnet_core::host::Tap {
            name: Some(if_name("tap0").unwrap()),
            owner: 0,
            group: None,
            persistent: true,
        };
        assert_eq!(
            h.apply(&HostAction::DeleteTap(tap)),
            Err(HostError::Busy("tap0".into()))
        );
    }

    #[test]
    fn arp_answers_local_published_and_proxied_addresses_only() {
        let (net, mut h, mut lan, mut uml) = host();
        let guest_mac = [0xfe, 0xfd, 192, 168, 0, 253];
        // Its own addresses, on any interface (arp_ignore=0).
        let r = ask(
            &net,
            &mut h,
            &mut uml,
            &arp_request(guest_mac, "192.168.0.253", "192.168.0.4"),
        );
        assert_eq!(
            arp_reply_for(&r),
            Some((ip("192.168.0.4"), MacAddr([2, 0, 0, 0, 0, 0xfe])))
        );
        // A LAN address from the tap: not without proxy ARP on tap0.
        let r = ask(
            &net,
            &mut h,
            &mut uml,
            &arp_request(guest_mac, "192.168.0.253", "192.168.0.7"),
        );
        assert_eq!(arp_reply_for(&r), None);
        h.apply(&HostAction::ProxyArp {
            dev: if_name("tap0").unwrap(),
            on: true,
        })
        .unwrap();
        let t0 = net.now();
        let r = ask(
            &net,
            &mut h,
            &mut uml,
            &arp_request(guest_mac, "192.168.0.253", "192.168.0.7"),
        );
        assert_eq!(
            arp_reply_for(&r),
            Some((ip("192.168.0.7"), MacAddr([2, 0, 0, 0, 0, 0xfe])))
        );
        // The proxied answer to a broadcast waited, below proxy_delay, as on Linux.
        let waited = net.now() - t0;
        assert!(
            waited > Duration::from_micros(20) && waited < PROXY_DELAY,
            "{waited}"
        );
        // The guest from the LAN: only with a published entry and a route to the tap.
        let lan_mac = [2, 0, 0, 0, 0, 7];
        let r = ask(
            &net,
            &mut h,
            &mut lan,
            &arp_request(lan_mac, "192.168.0.7", "192.168.0.253"),
        );
        assert_eq!(arp_reply_for(&r), None);
        h.apply(&HostAction::AddProxyNeigh {
            ip: ip("192.168.0.253"),
            dev: if_name("eth0").unwrap(),
        })
        .unwrap();
        let r = ask(
            &net,
            &mut h,
            &mut lan,
            &arp_request(lan_mac, "192.168.0.7", "192.168.0.253"),
        );
        assert_eq!(
            arp_reply_for(&r),
            None,
            "published, but the route to it is on eth0 itself"
        );
        h.apply(&HostAction::AddRoute(Route::Host {
            dst: ip("192.168.0.253"),
            dev: if_name("tap0").unwrap(),
            via: None,
        }))
        .unwrap();
        let r = ask(
            &net,
            &mut h,
            &mut lan,
            &arp_request(lan_mac, "192.168.0.7", "192.168.0.253"),
        );
        assert_eq!(
            arp_reply_for(&r),
            Some((ip("192.168.0.253"), MacAddr([2, 0, 0, 0, 0, 4])))
        );
        assert_eq!(h.stats().proxy_replies, 2);
        // The guest that asked for a local address was learned.
        assert_eq!(h.neighbour(ip("192.168.0.253")), Some(MacAddr(guest_mac)));
    }

    #[test]
    fn unresolved_neighbour_fails_after_three_requests() {
        let (net, mut h, mut lan, _) = host();
        assert!(h.ping(ip("192.168.0.9"), net.now()));
        let mut requests = 0;
        let mut buf = [0u8; 2048];
        for _ in 0..10 {
            let next = [net.next_event(), h.poll_at()].into_iter().flatten().min();
            let Some(t) = next else { break };
            net.advance_to(t);
            h.poll(net.now());
            while let Some(n) = lan.recv(&mut buf).unwrap() {
                assert_eq!(&buf[12..14], &[0x08, 0x06]);
                requests += 1;
                let _ = n;
            }
        }
        assert_eq!(requests, 3);
        assert!(h.neighbours().is_empty());
        assert_eq!(h.stats().unresolved, 1);
        assert!(net.now() >= EPOCH + Duration::from_secs(3));
    }

    #[test]
    fn forwarding_errors_come_back_as_icmp() {
        let (net, mut h, mut lan, mut uml) = host();
        h.set_proxy_delay(Duration::ZERO);
        let guest_mac = [0xfe, 0xfd, 192, 168, 0, 253];
        let tap_mac = h.interface("tap0").unwrap().mac;
        h.apply(&HostAction::AddRoute(Route::Host {
            dst: ip("192.168.0.253"),
            dev: if_name("tap0").unwrap(),
            via: None,
        }))
        .unwrap();
        // The host learns the guest from its ARP request for the gate.
        ask(
            &net,
            &mut h,
            &mut uml,
            &arp_request(guest_mac, "192.168.0.253", "192.168.0.254"),
        );
        let echo = |dst: &str, ttl: u8| {
            let mut p = vec![0u8; 14 + 20 + 8];
            let mut e = EthernetFrame::new_unchecked(&mut p[..]);
            e.set_dst_addr(EthernetAddress(tap_mac.0));
            e.set_src_addr(EthernetAddress(guest_mac));
            e.set_ethertype(EthernetProtocol::Ipv4);
            let mut ipp = Ipv4Packet::new_unchecked(e.payload_mut());
            ipp.set_version(4);
            ipp.set_header_len(20);
            ipp.set_total_len(28);
            ipp.set_hop_limit(ttl);
            ipp.set_next_header(IpProtocol::Icmp);
            ipp.set_src_addr(ip("192.168.0.253"));
            ipp.set_dst_addr(ip(dst));
            ipp.fill_checksum();
            let mut icmp = Icmpv4Packet::new_unchecked(&mut p[34..]);
            icmp.set_msg_type(Icmpv4Message::EchoRequest);
            icmp.set_echo_ident(9);
            icmp.fill_checksum();
            p
        };
        let error_of = |frames: &[Vec<u8>]| {
            frames.iter().find_map(|f| {
                let e = EthernetFrame::new_checked(&f[..]).ok()?;
                let p = Ipv4Packet::new_checked(e.payload()).ok()?;
                let i = Icmpv4Packet::new_checked(p.payload()).ok()?;
                assert!(i.verify_checksum() && p.verify_checksum());
                Some((p.src_addr(), i.msg_type(), i.msg_code()))
            })
        };
        // TTL 1: time exceeded, from the gate.
        let r = ask(&net, &mut h, &mut uml, &echo("192.168.0.7", 1));
        assert_eq!(
            error_of(&r),
            Some((ip("192.168.0.254"), Icmpv4Message::TimeExceeded, 0))
        );
        // A LAN host that never answers ARP: host unreachable after three requests.
        let r = ask(&net, &mut h, &mut uml, &echo("192.168.0.9", 64));
        assert_eq!(
            error_of(&r),
            Some((ip("192.168.0.254"), Icmpv4Message::DstUnreachable, 1))
        );
        let mut buf = [0u8; 2048];
        let mut requests = 0;
        while let Some(n) = lan.recv(&mut buf).unwrap() {
            requests += usize::from(buf[..n][12..14] == [0x08, 0x06]);
        }
        assert_eq!(requests, 3);
        // No route at all (no default route on this host): net unreachable.
        let r = ask(&net, &mut h, &mut uml, &echo("10.1.2.3", 64));
        assert_eq!(
            error_of(&r),
            Some((ip("192.168.0.254"), Icmpv4Message::DstUnreachable, 0))
        );
        assert_eq!(h.stats().icmp_errors, 3);
    }
}
