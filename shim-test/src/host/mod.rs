//! The simulated host kernel: the part of Linux that UML networking leans on.
//!
//! [`HostKernel`] holds interfaces (taps, SLIP lines, a LAN card), IPv4 addresses, a
//! routing table with longest-prefix match, a neighbour (ARP) table, proxy ARP per
//! interface, published ("proxy") ARP entries, `ip_forward`, and answers ICMP echo. It
//! is changed only through the core's typed host actions ([`HostKernel::apply`]), the
//! same [`HostAction`](umlnet_core::host::HostAction)s that the Linux shim turns into netlink and `/proc/sys` writes,
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

mod actions;
mod error;
mod iface;
mod ip;
mod neigh;
mod poll;
mod routing;
#[cfg(test)]
mod test;

pub use error::HostError;
pub use iface::{HostAddr, HostIface, IfKind};
pub use neigh::NeighEntry;
pub use routing::{HostRoute, mask_addr};

use crate::rng::Rng;
use core::net::Ipv4Addr;
use neigh::{ArpRequest, Neigh};
use smoltcp::time::{Duration, Instant};
use std::collections::{BTreeMap, BTreeSet};
use std::string::String;
use std::vec;
use std::vec::Vec;
use umlnet_core::arp;

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
}
