//! [`Guest`]: a UML-like guest with `eth<n>` interfaces over core links, one IP stack
//! (smoltcp) and one routing table, configured the way a UML user does it.
//!
//! The typed API here (addresses, routes, TCP) is what the shell commands of
//! [`crate::shell`] (`ifconfig`, `route`, `arp`, `ping`) are built on.

use crate::device::{AnyLink, Counters, LinkDevice};
use crate::net::{Iface, Neigh, Net};
use crate::route::{Origin, Route, RouteError, RouteTable, Selector, classful_prefix, mask};
use crate::shell::Job;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint};
use umlnet_core::cmdline::DeviceSpec;
use umlnet_core::link::{Link, Medium as LinkMedium};
use umlnet_core::mac::MacAddr;

/// The MAC an interface without a configured one shows until it is brought up with
/// an address (the old kernels' `fe:fd:0:0:0:0`).
pub const UNSET_MAC: MacAddr = MacAddr([0xfe, 0xfd, 0, 0, 0, 0]);

/// Size of each TCP socket buffer, in each direction, on a host ([`Buffers::HOST`]).
pub const TCP_BUFFER: usize = 64 * 1024;

/// How much memory the guest gives each socket it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    /// Each TCP socket's receive and send buffer, in bytes (each direction).
    pub tcp: usize,
    /// A `ping` job's receive buffer: payload bytes, and how many packets.
    pub ping_rx: (usize, usize),
    /// A `ping` job's send buffer: payload bytes, and how many packets.
    pub ping_tx: (usize, usize),
}

impl Buffers {
    /// A host's: 64 KiB TCP windows, room for floods of 64 KiB pings.
    pub const HOST: Buffers = Buffers {
        tcp: TCP_BUFFER,
        ping_rx: (256 * 1024, 64),
        ping_tx: (128 * 1024, 16),
    };

    /// A microcontroller's: 2 KiB TCP buffers (one full segment each way), pings up
    /// to one MTU with four in flight. About 6 KiB per TCP connection with smoltcp's
    /// socket state, 7 KiB per running `ping`.
    pub const SMALL: Buffers = Buffers {
        tcp: 2 * 1024,
        ping_rx: (4 * 1536, 4),
        ping_tx: (1536, 1),
    };
}

impl Default for Buffers {
    fn default() -> Self {
        Buffers::HOST
    }
}

/// Why a guest operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestError {
    /// `eth<n>` already exists.
    InterfaceExists(u32),
    /// There is no `eth<n>` (`ENODEV`).
    NoSuchDevice(u32),
    /// A configured MAC with an odd first byte: a multicast/broadcast address, which
    /// no device may have.
    MulticastMac(u32, MacAddr),
    /// An all-zero configured MAC.
    ZeroMac(u32, MacAddr),
    /// The hardware address of an interface that is up cannot change (`EBUSY`).
    Busy(u32),
    /// A route via a gateway that no on-link route reaches, or to nowhere (`ENETUNREACH`).
    NetworkUnreachable,
    /// The route's interface is down (`ENETDOWN`).
    NetworkDown,
    /// An interface address that is not unicast: multicast or the limited broadcast
    /// (`EINVAL`).
    NotUnicast(Ipv4Addr),
    /// The routing table refused the change.
    Route(RouteError),
    /// No source address / socket could be set up for TCP.
    Tcp(&'static str),
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestError::InterfaceExists(n) => write!(f, "eth{n} already exists"),
            GuestError::NoSuchDevice(_) => f.write_str("No such device"),
            GuestError::MulticastMac(n, m) => write!(
                f,
                "eth{n}: Attempt to assign a broadcast ethernet address ({m}) to a device \
                 disallowed: the first byte of a MAC address must be even"
            ),
            GuestError::ZeroMac(n, m) => write!(
                f,
                "eth{n}: Attempt to assign an invalid ethernet address ({m}) to a device disallowed"
            ),
            GuestError::Busy(_) => f.write_str("Device or resource busy"),
            GuestError::NetworkUnreachable => f.write_str("Network is unreachable"),
            GuestError::NetworkDown => f.write_str("Network is down"),
            GuestError::NotUnicast(a) => {
                write!(f, "Invalid argument ({a} is not a unicast address)")
            }
            GuestError::Route(e) => e.fmt(f),
            GuestError::Tcp(why) => f.write_str(why),
        }
    }
}

impl From<RouteError> for GuestError {
    fn from(e: RouteError) -> Self {
        GuestError::Route(e)
    }
}

/// A snapshot of one interface, as `ifconfig` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// `<n>` of `eth<n>`.
    pub index: u32,
    /// `eth<n>`.
    pub name: String,
    /// What the link carries.
    pub medium: LinkMedium,
    /// The hardware address in use (Ethernet links).
    pub mac: MacAddr,
    /// The MAC given on the command line, if any.
    pub configured_mac: Option<MacAddr>,
    /// IPv4 address.
    pub addr: Option<Ipv4Addr>,
    /// Netmask.
    pub netmask: Ipv4Addr,
    /// Broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// Administratively up.
    pub up: bool,
    /// Link MTU.
    pub mtu: usize,
    /// Packet counters.
    pub counters: Counters,
}

/// One neighbour cache entry, as `arp -n` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// Protocol address.
    pub addr: Ipv4Addr,
    /// Hardware address, or `None` while incomplete or after resolution failed.
    pub mac: Option<MacAddr>,
    /// Interface number.
    pub iface: u32,
}

/// A TCP socket of a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpHandle(pub(crate) SocketHandle);

/// A UML-like guest: interfaces, one IP stack, one routing table, shell jobs.
///
/// Time is passed in; nothing here touches the OS. Drive it by calling
/// [`Guest::poll`] whenever a link may have frames or [`Guest::poll_at`] is reached.
pub struct Guest<L: Link = AnyLink> {
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    pub(crate) net: Net<L>,
    pub(crate) jobs: BTreeMap<u32, Job>,
    pub(crate) next_job: u32,
    pub(crate) buffers: Buffers,
    rng: u64,
    moved: u64,
}

impl<L: Link> fmt::Debug for Guest<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest")
            .field("interfaces", &self.net.ifaces.keys().collect::<Vec<_>>())
            .field("routes", &self.net.routes)
            .finish()
    }
}

impl<L: Link> Guest<L> {
    /// A guest with no interfaces and a host's socket buffers ([`Buffers::HOST`]).
    /// `seed` feeds TCP sequence numbers, ports and ping ids.
    pub fn new(seed: u64, now: Instant) -> Self {
        Self::with_buffers(seed, now, Buffers::HOST)
    }

    /// A guest with no interfaces whose sockets get `buffers` (a microcontroller
    /// passes [`Buffers::SMALL`]).
    pub fn with_buffers(seed: u64, now: Instant, buffers: Buffers) -> Self {
        let mut net = Net::new(now);
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut net, now);
        // smoltcp only needs to believe every destination is reachable; the real
        // decision (interface, next hop) is made by the guest's table in `Net`.
        let _ = iface
            .routes_mut()
            .add_default_ipv4_route(Ipv4Addr::UNSPECIFIED);
        let mut guest = Guest {
            iface,
            sockets: SocketSet::new(vec![]),
            net,
            jobs: BTreeMap::new(),
            next_job: 1,
            buffers,
            rng: seed | 1,
            moved: 0,
        };
        guest.sync_addrs();
        guest
    }

    pub(crate) fn random(&mut self) -> u64 {
        // xorshift64: deterministic from the seed.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Adds `eth<index>` over `link`. `mac` is the one from the command line; without
    /// it the interface shows `fe:fd:00:00:00:00` until it is brought up with an
    /// address, then takes `fe:fd:<ip bytes>`. A MAC with an odd first byte
    /// (multicast/broadcast) or all zeros is refused.
    pub fn add_interface(
        &mut self,
        index: u32,
        link: L,
        mac: Option<MacAddr>,
    ) -> Result<(), GuestError> {
        if self.net.ifaces.contains_key(&index) {
            return Err(GuestError::InterfaceExists(index));
        }
        if let Some(m) = mac {
            check_mac(index, m)?;
        }
        self.net.ifaces.insert(
            index,
            Iface {
                dev: LinkDevice::new(link),
                configured_mac: mac,
                mac: mac.unwrap_or(UNSET_MAC),
                addr: None,
                prefix_len: 0,
                broadcast: None,
                up: false,
                neigh: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// Adds the interface an `eth<n>=` argument describes, over the already opened
    /// `link`, with the MAC the argument gives (if any).
    pub fn add_device(&mut self, spec: &DeviceSpec, link: L) -> Result<(), GuestError> {
        self.add_interface(spec.index, link, spec.transport.mac())
    }

    /// Removes `eth<index>` (as mconsole `remove` does), with its routes and
    /// neighbours, and gives its link back.
    pub fn remove_interface(&mut self, index: u32) -> Result<L, GuestError> {
        let iface = self
            .net
            .ifaces
            .remove(&index)
            .ok_or(GuestError::NoSuchDevice(index))?;
        self.net.routes.remove_iface(index);
        self.sync_addrs();
        Ok(iface.dev.into_link())
    }

    /// Numbers of all interfaces, ascending.
    pub fn interface_indices(&self) -> Vec<u32> {
        self.net.ifaces.keys().copied().collect()
    }

    /// A snapshot of `eth<index>`.
    pub fn interface(&self, index: u32) -> Option<InterfaceInfo> {
        let i = self.net.ifaces.get(&index)?;
        Some(InterfaceInfo {
            index,
            name: iface_name(index),
            medium: i.dev.medium(),
            mac: i.mac,
            configured_mac: i.configured_mac,
            addr: i.addr,
            netmask: mask(i.prefix_len),
            broadcast: i.broadcast,
            up: i.up,
            mtu: i.dev.mtu(),
            counters: *i.dev.counters(),
        })
    }

    /// The link of `eth<index>`, for a host shim that services it.
    pub fn link_mut(&mut self, index: u32) -> Option<&mut L> {
        self.net.ifaces.get_mut(&index).map(|i| i.dev.link_mut())
    }

    /// Sets the IPv4 address as `SIOCSIFADDR` does: the netmask becomes the classful
    /// one unless `prefix_len` is given, the broadcast address follows the mask, and
    /// on an interface that is up the connected network route is replaced. `0.0.0.0`
    /// removes the address; a multicast or the limited broadcast address is refused
    /// ([`GuestError::NotUnicast`]).
    pub fn set_address(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        prefix_len: Option<u8>,
    ) -> Result<(), GuestError> {
        let iface = self.iface_mut(index)?;
        if addr.is_multicast() || addr.is_broadcast() {
            return Err(GuestError::NotUnicast(addr));
        }
        if addr.is_unspecified() {
            iface.addr = None;
            iface.prefix_len = 0;
            iface.broadcast = None;
        } else {
            let len = prefix_len.unwrap_or_else(|| classful_prefix(addr)).min(32);
            iface.addr = Some(addr);
            iface.prefix_len = len;
            iface.broadcast = Some(broadcast_of(addr, len));
        }
        self.sync_kernel_routes(index);
        self.sync_addrs();
        Ok(())
    }

    /// Interface `eth<index>`, or [`GuestError::NoSuchDevice`].
    fn iface_mut(&mut self, index: u32) -> Result<&mut Iface<L>, GuestError> {
        self.net
            .ifaces
            .get_mut(&index)
            .ok_or(GuestError::NoSuchDevice(index))
    }

    /// Sets the netmask (`ifconfig ethN netmask M`), replacing the connected route.
    pub fn set_prefix_len(&mut self, index: u32, prefix_len: u8) -> Result<(), GuestError> {
        let iface = self.iface_mut(index)?;
        iface.prefix_len = prefix_len.min(32);
        if let Some(a) = iface.addr {
            iface.broadcast = Some(broadcast_of(a, iface.prefix_len));
        }
        self.sync_kernel_routes(index);
        self.sync_addrs();
        Ok(())
    }

    /// Sets the broadcast address (`ifconfig ethN broadcast B`).
    pub fn set_broadcast(&mut self, index: u32, broadcast: Ipv4Addr) -> Result<(), GuestError> {
        let iface = self.iface_mut(index)?;
        iface.broadcast = Some(broadcast);
        Ok(())
    }

    /// Sets the hardware address (`ifconfig ethN hw ether M`); the interface must be down.
    pub fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<(), GuestError> {
        check_mac(index, mac)?;
        let iface = self.iface_mut(index)?;
        if iface.up {
            return Err(GuestError::Busy(index));
        }
        iface.configured_mac = Some(mac);
        iface.mac = mac;
        Ok(())
    }

    /// Brings `eth<index>` up or down. Up: an interface without a configured MAC takes
    /// `fe:fd:<ip bytes>` (or stays `fe:fd:00:00:00:00` without an address) and the
    /// connected route appears. Down: every route through it and its neighbours go.
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), GuestError> {
        let iface = self.iface_mut(index)?;
        if iface.up == up {
            return Ok(());
        }
        iface.up = up;
        if up {
            if iface.configured_mac.is_none() && iface.is_ethernet() {
                iface.mac = iface.addr.map_or(UNSET_MAC, MacAddr::from_ipv4);
            }
            self.sync_kernel_routes(index);
        } else {
            iface.neigh.clear();
            self.net.routes.remove_iface(index);
        }
        self.sync_addrs();
        Ok(())
    }

    fn sync_kernel_routes(&mut self, index: u32) {
        self.net.routes.remove_kernel_routes(index);
        let Some(iface) = self.net.ifaces.get(&index) else {
            return;
        };
        if let (true, Some(addr)) = (iface.up, iface.addr) {
            let _ = self.net.routes.add(Route::new(
                addr,
                iface.prefix_len,
                None,
                index,
                Origin::Kernel,
            ));
        }
    }

    /// Tells smoltcp which addresses are ours (those of interfaces that are up).
    fn sync_addrs(&mut self) {
        let addrs: Vec<IpCidr> = self
            .net
            .ifaces
            .values()
            .filter(|i| i.up)
            .filter_map(|i| {
                i.addr
                    .map(|a| IpCidr::new(IpAddress::Ipv4(a), i.prefix_len))
            })
            .collect();
        self.iface.update_ip_addrs(|list| {
            list.clear();
            // The loopback device is always up, as in a booted UML.
            let lo = IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8);
            for a in addrs.into_iter().chain([lo]) {
                // More addresses than smoltcp holds are simply not local to it.
                let _ = list.push(a);
            }
        });
    }

    /// The routing table.
    pub fn routes(&self) -> &RouteTable {
        &self.net.routes
    }

    /// Adds a route as `SIOCADDRT` does. Without `dev`, a gateway route takes the
    /// interface of the on-link route that reaches the gateway, and a route without a
    /// gateway is refused. A gateway that no on-link route reaches (through `dev`, if
    /// given) is [`GuestError::NetworkUnreachable`].
    pub fn add_route(
        &mut self,
        dest: Ipv4Addr,
        prefix_len: u8,
        gateway: Option<Ipv4Addr>,
        dev: Option<u32>,
        metric: u32,
    ) -> Result<(), GuestError> {
        if let Some(d) = dev {
            let iface = self.net.ifaces.get(&d).ok_or(GuestError::NoSuchDevice(d))?;
            if !iface.up {
                return Err(GuestError::NetworkDown);
            }
        }
        let iface = match gateway {
            Some(gw) => {
                self.net
                    .routes
                    .lookup_on_link(gw, dev)
                    .ok_or(GuestError::NetworkUnreachable)?
                    .iface
            }
            None => dev.ok_or(GuestError::NetworkUnreachable)?,
        };
        let mut route = Route::new(dest, prefix_len, gateway, iface, Origin::Static);
        route.metric = metric;
        self.net.routes.add(route)?;
        Ok(())
    }

    /// Deletes the first route `sel` matches (as `SIOCDELRT`).
    pub fn del_route(&mut self, sel: &Selector) -> Result<Route, GuestError> {
        Ok(self.net.routes.remove(sel)?)
    }

    /// The neighbour caches of all interfaces, by interface then address.
    pub fn neighbours(&self) -> Vec<Neighbour> {
        let mut out = Vec::new();
        for (&index, i) in &self.net.ifaces {
            for (&addr, n) in &i.neigh {
                let mac = match n {
                    Neigh::Reachable { mac } => Some(*mac),
                    Neigh::Incomplete { .. } | Neigh::Failed { .. } => None,
                };
                out.push(Neighbour {
                    addr,
                    mac,
                    iface: index,
                });
            }
        }
        out
    }

    /// The address the guest sends from towards `dst` (the egress interface's), or
    /// `None` when no route leads there.
    pub fn source_address(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        self.net.source_for(dst)
    }

    /// Does all the work that is due at `now`: reads every link, answers ARP and
    /// ICMP echo, moves TCP data, runs shell jobs (ping). Returns whether anything
    /// happened that a caller polling other guests should react to.
    pub fn poll(&mut self, now: Instant) -> bool {
        let mut any = false;
        for _ in 0..64 {
            self.net.maintain(now);
            let jobs_before = self.poll_jobs(now);
            let r = self.iface.poll(now, &mut self.net, &mut self.sockets);
            let jobs_after = self.poll_jobs(now);
            let progress =
                r == smoltcp::iface::PollResult::SocketStateChanged || jobs_before || jobs_after;
            any |= progress;
            if !progress && self.net.loopback.is_empty() {
                break;
            }
        }
        let moved = self.frames_moved();
        let changed = moved != self.moved;
        self.moved = moved;
        any || changed
    }

    fn frames_moved(&self) -> u64 {
        self.net
            .ifaces
            .values()
            .map(|i| i.dev.counters().rx_packets + i.dev.counters().tx_packets)
            .sum()
    }

    /// When [`Guest::poll`] next has timed work (retransmits, ARP retries, the next
    /// ping), or `None` if only incoming frames can wake it.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let stack = self.iface.poll_at(now, &self.sockets);
        let arp = self.net.poll_at();
        let jobs = self.jobs.values().filter_map(|j| j.poll_at()).min();
        [stack, arp, jobs].into_iter().flatten().min()
    }

    /// Opens a TCP listener on `port` (any local address, any interface). As in
    /// smoltcp, the listening socket itself becomes the connection: listen again for
    /// the next one.
    pub fn tcp_listen(&mut self, port: u16) -> Result<TcpHandle, GuestError> {
        let mut s = new_tcp(self.buffers.tcp);
        s.listen(IpListenEndpoint { addr: None, port })
            .map_err(|_| GuestError::Tcp("cannot listen on that port"))?;
        Ok(TcpHandle(self.sockets.add(s)))
    }

    /// Opens a TCP connection to `addr:port` from the egress interface's address and
    /// an ephemeral port. [`GuestError::NetworkUnreachable`] without a route.
    pub fn tcp_connect(&mut self, addr: Ipv4Addr, port: u16) -> Result<TcpHandle, GuestError> {
        let src = self
            .net
            .source_for(addr)
            .ok_or(GuestError::NetworkUnreachable)?;
        let local_port = 49152 + (self.random() % 16384) as u16;
        let mut s = new_tcp(self.buffers.tcp);
        s.connect(
            self.iface.context(),
            IpEndpoint::new(IpAddress::Ipv4(addr), port),
            IpListenEndpoint {
                addr: Some(IpAddress::Ipv4(src)),
                port: local_port,
            },
        )
        .map_err(|_| GuestError::Tcp("cannot connect"))?;
        Ok(TcpHandle(self.sockets.add(s)))
    }

    /// The smoltcp socket behind `handle` (send, receive, state, close).
    pub fn tcp(&mut self, handle: TcpHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle.0)
    }

    /// Frees the socket behind `handle` (abort it first if it is still open).
    pub fn tcp_remove(&mut self, handle: TcpHandle) {
        self.sockets.remove(handle.0);
    }
}

fn new_tcp(size: usize) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; size]),
        tcp::SocketBuffer::new(vec![0; size]),
    )
}

fn check_mac(index: u32, mac: MacAddr) -> Result<(), GuestError> {
    if mac.is_multicast() {
        Err(GuestError::MulticastMac(index, mac))
    } else if mac.is_zero() {
        Err(GuestError::ZeroMac(index, mac))
    } else {
        Ok(())
    }
}

fn broadcast_of(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    Ipv4Addr::from_bits(addr.to_bits() | !mask(prefix_len).to_bits())
}

/// The name of interface `index`: `eth<index>` (6.1 names every transport so).
pub fn iface_name(index: u32) -> String {
    alloc::format!("eth{index}")
}
