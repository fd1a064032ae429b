//! VXLAN uplinks of `uml_switch` (`-vxlan <vni>,<local ip>[:port],<remote ip>[:port]...`):
//! one switch port that carries frames in UDP (RFC 7348) to the switches of other hosts,
//! be they our own `uml_switch`, a Linux kernel `vxlan` device, Open vSwitch or a
//! datacenter switch. The header codec is [`umlnet_core::vxlan`].
//!
//! Contract:
//! * each uplink is **one port** of the switch. The switch learns the remote MAC
//!   addresses behind it like behind any port, so it never sends a frame back out of the
//!   uplink it came in on: a frame from one remote endpoint is never sent to that
//!   endpoint, nor to the other endpoints of the same uplink (split horizon, as in a
//!   full mesh of VTEPs, where every endpoint already got the flood directly from the
//!   sender). A hub-and-spoke layout, where this switch relays between remote hosts,
//!   uses one uplink per spoke: each is its own port.
//! * the uplink also remembers, for each MAC address learned from it, **which endpoint**
//!   it came from: a known unicast destination is sent to that endpoint only; broadcast,
//!   multicast and unknown destinations go to every endpoint (unicast head-end
//!   replication, no underlay multicast needed).
//! * a datagram is taken only if it is a VXLAN datagram with the I flag set, carrying a
//!   whole Ethernet header, for a VNI one of the uplinks on that local address serves,
//!   from the IP address of one of that uplink's remote endpoints. Everything else is
//!   counted ([`VxlanStats`]) and dropped. Endpoints are matched by address, and by port
//!   only to tell apart two endpoints on the same address: the Linux kernel sends from a
//!   per-flow source port, not from 4789. Reserved bits are ignored (RFC 7348 §5) but
//!   counted.
//! * we send from the local address and port, with the reserved bits zero.
//! * several uplinks may share one local address and port (they then differ by VNI or
//!   by remote endpoints); they share one UDP socket. Uplinks are separate ports, so a
//!   frame from endpoint E on VNI 43 may go to E on VNI 42: another segment there.
//! * datagrams are read [`RECV_BATCH`] at a time (`recvmmsg`) and the frames forwarded
//!   as one batch; encapsulated datagrams leave with one `sendmmsg` at the end of each
//!   forwarded batch ([`Uplinks::flush`]).
//! * a frame grows by 50 bytes on an IPv4 underlay (70 on IPv6): a 1514-byte frame
//!   needs an underlay MTU of 1564 or is sent as IP fragments (which works, slower).
//!
//! The socket-free part ([`Uplink`], [`classify`]) is what the unit tests below drive;
//! the real-host tests run our switch against a kernel `vxlan` device in network
//! namespaces.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::str::FromStr;

use umlnet_core::mac::MacAddr;
use umlnet_core::switch::DEFAULT_AGEING;
use umlnet_core::time::Instant;
use umlnet_core::vxlan::{self, DEFAULT_PORT, HEADER_LEN, Vni};

/// Addresses one uplink remembers the endpoint of; when full, stale ones are dropped
/// first, then all (the next frames to them are flooded to every endpoint until
/// relearned).
pub const MAX_ENDPOINT_MACS: usize = 1 << 16;

/// Datagrams taken per `recvmmsg` ([`Uplinks::recv_batch`]).
pub const RECV_BATCH: usize = 32;

/// Bytes per datagram of a batch: room for the VXLAN header and more than the largest
/// frame the switch passes. A longer datagram is cut by the kernel, then counted as
/// oversize and dropped.
pub const SLOT: usize = 2048;

/// The receive buffer [`Uplinks::recv_batch`] wants: [`RECV_BATCH`] slots.
pub const RECV_BUF: usize = RECV_BATCH * SLOT;

/// One `-vxlan` uplink as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UplinkSpec {
    /// The segment the uplink carries.
    pub vni: Vni,
    /// Where datagrams are received and sent from (port 4789 unless given).
    pub local: SocketAddr,
    /// The switches at the other ends (port 4789 unless given); at least one.
    pub remotes: Vec<SocketAddr>,
}

/// Why a `-vxlan` argument is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Fewer than three comma-separated parts.
    #[error(
        "'{0}' needs <vni>,<local ip>[:port],<remote ip>[:port][,<remote>...], \
         e.g. 42,10.0.0.1,10.0.0.2"
    )]
    TooFewParts(String),
    /// The VNI part is not a 24-bit number.
    #[error("VNI '{text}': {why}")]
    Vni {
        /// The text given.
        text: String,
        /// The codec's reason.
        why: vxlan::Error,
    },
    /// An address part is not `ip`, `ip:port`, or `[ipv6]:port`.
    #[error(
        "'{0}' is not an address: write an IP address, optionally with :port \
         (IPv6 with a port as [addr]:port)"
    )]
    Address(String),
    /// Port 0 cannot be sent to.
    #[error("'{0}': port 0 cannot be used; leave the port out for {DEFAULT_PORT}")]
    PortZero(String),
    /// A remote of another address family than the local address.
    #[error("remote {remote} is not of the same address family as the local address {local}")]
    Family {
        /// The local address.
        local: SocketAddr,
        /// The remote address.
        remote: SocketAddr,
    },
    /// The remote is the local address itself.
    #[error("remote {0} is the local address itself")]
    SelfRemote(SocketAddr),
    /// A remote is named twice.
    #[error("remote {0} is given twice")]
    DuplicateRemote(SocketAddr),
    /// A remote is a multicast, broadcast or unspecified address (only unicast head-end
    /// replication is supported).
    #[error("remote {0} is not a unicast address; list each remote switch (head-end replication)")]
    NotUnicast(SocketAddr),
}

fn parse_endpoint(text: &str) -> Result<SocketAddr, SpecError> {
    let addr = match SocketAddr::from_str(text) {
        Ok(a) => a,
        Err(_) => match IpAddr::from_str(text) {
            Ok(ip) => SocketAddr::new(ip, DEFAULT_PORT),
            Err(_) => return Err(SpecError::Address(text.to_string())),
        },
    };
    if addr.port() == 0 {
        return Err(SpecError::PortZero(text.to_string()));
    }
    Ok(addr)
}

fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_multicast() || a.is_broadcast() || a.is_unspecified()),
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified()),
    }
}

impl FromStr for UplinkSpec {
    type Err = SpecError;
    /// `<vni>,<local ip>[:port],<remote ip>[:port][,<remote ip>[:port]...]`.
    fn from_str(s: &str) -> Result<UplinkSpec, SpecError> {
        let parts: Vec<&str> = s.split(',').collect();
        if parts.len() < 3 {
            return Err(SpecError::TooFewParts(s.to_string()));
        }
        let vni = parts[0].parse::<Vni>().map_err(|why| SpecError::Vni {
            text: parts[0].to_string(),
            why,
        })?;
        let local = parse_endpoint(parts[1])?;
        let mut remotes = Vec::with_capacity(parts.len() - 2);
        for p in &parts[2..] {
            let remote = parse_endpoint(p)?;
            if remote.is_ipv4() != local.is_ipv4() {
                return Err(SpecError::Family { local, remote });
            }
            if remote == local {
                return Err(SpecError::SelfRemote(remote));
            }
            if !is_unicast(remote.ip()) {
                return Err(SpecError::NotUnicast(remote));
            }
            if remotes.contains(&remote) {
                return Err(SpecError::DuplicateRemote(remote));
            }
            remotes.push(remote);
        }
        Ok(UplinkSpec {
            vni,
            local,
            remotes,
        })
    }
}

impl fmt::Display for UplinkSpec {
    /// The canonical form, every port written out: `42,10.0.0.1:4789,10.0.0.2:4789`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.vni, self.local)?;
        for r in &self.remotes {
            write!(f, ",{r}")?;
        }
        Ok(())
    }
}

/// Counters of all uplinks of a switch together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VxlanStats {
    /// Datagrams received on the VXLAN sockets.
    pub rx_datagrams: u64,
    /// Frames taken from them and handed to the switch.
    pub rx_frames: u64,
    /// Dropped: shorter than the VXLAN header plus an Ethernet header.
    pub drops_short: u64,
    /// Dropped: the I flag was clear.
    pub drops_bad_flags: u64,
    /// Dropped: a VNI no uplink on that local address serves.
    pub drops_wrong_vni: u64,
    /// Dropped: the sender is not a remote endpoint of the uplink with that VNI.
    pub drops_unknown_endpoint: u64,
    /// Dropped: longer than a receive slot ([`SLOT`] bytes).
    pub drops_oversize: u64,
    /// Taken although reserved bits were set (RFC 7348: ignored on receipt).
    pub reserved_bits_ignored: u64,
    /// Datagrams sent (one per endpoint a frame went to).
    pub tx_datagrams: u64,
    /// Frames sent to one learned endpoint.
    pub tx_unicast: u64,
    /// Frames replicated to every endpoint of their uplink.
    pub tx_replicated: u64,
    /// Datagrams the kernel did not take (full buffer, unreachable network, ...).
    pub tx_errors: u64,
}

impl VxlanStats {
    /// The counters as `(name, value)` pairs, the names the `-mgmt` console's `stats`
    /// prints.
    pub fn lines(&self) -> [(&'static str, u64); 12] {
        [
            ("vxlan_rx_datagrams", self.rx_datagrams),
            ("vxlan_rx_frames", self.rx_frames),
            ("vxlan_drops_short", self.drops_short),
            ("vxlan_drops_bad_flags", self.drops_bad_flags),
            ("vxlan_drops_wrong_vni", self.drops_wrong_vni),
            ("vxlan_drops_unknown_endpoint", self.drops_unknown_endpoint),
            ("vxlan_drops_oversize", self.drops_oversize),
            ("vxlan_reserved_bits_ignored", self.reserved_bits_ignored),
            ("vxlan_tx_datagrams", self.tx_datagrams),
            ("vxlan_tx_unicast", self.tx_unicast),
            ("vxlan_tx_replicated", self.tx_replicated),
            ("vxlan_tx_errors", self.tx_errors),
        ]
    }
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxDrop {
    /// Shorter than the VXLAN header plus an Ethernet header.
    Short,
    /// The I flag was clear.
    BadFlags,
    /// No uplink on that socket serves its VNI.
    WrongVni(Vni),
    /// The sender is not a remote endpoint of the uplink serving its VNI.
    UnknownEndpoint(SocketAddr),
}

/// Where a frame leaving through an uplink goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations<'a> {
    /// To the one endpoint its destination was learned from.
    One(SocketAddr),
    /// To every endpoint (broadcast, multicast, unknown or stale destination).
    All(&'a [SocketAddr]),
}

/// One uplink without its socket: its endpoints and which MAC address is behind which.
#[derive(Debug, Clone)]
pub struct Uplink {
    spec: UplinkSpec,
    macs: HashMap<MacAddr, (u16, Instant)>,
}

impl Uplink {
    /// An uplink that has learned nothing yet.
    pub fn new(spec: UplinkSpec) -> Uplink {
        Uplink {
            spec,
            macs: HashMap::new(),
        }
    }

    /// What it was configured with.
    pub fn spec(&self) -> &UplinkSpec {
        &self.spec
    }

    /// The index of the remote endpoint a datagram from `src` comes from: the endpoint
    /// with exactly that address and port, else the (first) one with that address.
    pub fn endpoint_of(&self, src: SocketAddr) -> Option<u16> {
        let ip = canonical_ip(src.ip());
        let exact = self
            .spec
            .remotes
            .iter()
            .position(|r| canonical_ip(r.ip()) == ip && r.port() == src.port());
        exact
            .or_else(|| {
                self.spec
                    .remotes
                    .iter()
                    .position(|r| canonical_ip(r.ip()) == ip)
            })
            .map(|i| i as u16)
    }

    /// Remembers that `mac` is behind endpoint `endpoint`, as seen at `now`.
    pub fn learn(&mut self, mac: MacAddr, endpoint: u16, now: Instant) {
        if !mac.is_unicast() {
            return;
        }
        if self.macs.len() >= MAX_ENDPOINT_MACS && !self.macs.contains_key(&mac) {
            self.macs
                .retain(|_, (_, seen)| now.saturating_duration_since(*seen) < DEFAULT_AGEING);
            if self.macs.len() >= MAX_ENDPOINT_MACS {
                self.macs.clear();
            }
        }
        self.macs.insert(mac, (endpoint, now));
    }

    /// The endpoint `mac` was last seen behind, unless that was longer ago than the
    /// switch's ageing time.
    pub fn endpoint_for(&self, mac: MacAddr, now: Instant) -> Option<SocketAddr> {
        let (e, seen) = self.macs.get(&mac)?;
        if now.saturating_duration_since(*seen) >= DEFAULT_AGEING {
            return None;
        }
        self.spec.remotes.get(usize::from(*e)).copied()
    }

    /// Where a frame for `dst` goes.
    pub fn destinations(&self, dst: MacAddr, now: Instant) -> Destinations<'_> {
        match self.endpoint_for(dst, now) {
            Some(e) => Destinations::One(e),
            None => Destinations::All(&self.spec.remotes),
        }
    }

    /// How many addresses it knows the endpoint of.
    pub fn learned(&self) -> usize {
        self.macs.len()
    }
}

/// IPv4-mapped IPv6 addresses compare equal to the IPv4 address they map.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Reads one datagram received from `src` on a socket serving the uplinks `serving`
/// (indices into `uplinks`): on success, the index of the uplink it belongs to and the
/// inner frame; the source MAC is learned behind its endpoint. Counts into `stats`.
pub fn classify<'d>(
    uplinks: &mut [Uplink],
    serving: &[usize],
    src: SocketAddr,
    datagram: &'d [u8],
    now: Instant,
    stats: &mut VxlanStats,
) -> Result<(usize, &'d [u8]), RxDrop> {
    stats.rx_datagrams += 1;
    let res = classify_inner(uplinks, serving, src, datagram, now);
    match res {
        Ok(_) => {
            stats.rx_frames += 1;
            let p = vxlan::Packet::new_unchecked(datagram);
            if p.reserved_flags() != 0 || p.reserved() != 0 {
                stats.reserved_bits_ignored += 1;
            }
        }
        Err(RxDrop::Short) => stats.drops_short += 1,
        Err(RxDrop::BadFlags) => stats.drops_bad_flags += 1,
        Err(RxDrop::WrongVni(_)) => stats.drops_wrong_vni += 1,
        Err(RxDrop::UnknownEndpoint(_)) => stats.drops_unknown_endpoint += 1,
    }
    res
}

fn classify_inner<'d>(
    uplinks: &mut [Uplink],
    serving: &[usize],
    src: SocketAddr,
    datagram: &'d [u8],
    now: Instant,
) -> Result<(usize, &'d [u8]), RxDrop> {
    let (vni, frame) = match vxlan::decapsulate(datagram) {
        Ok(v) => v,
        Err(vxlan::Error::VniFlagClear { .. }) => return Err(RxDrop::BadFlags),
        Err(_) => return Err(RxDrop::Short),
    };
    let mut vni_served = false;
    for &u in serving {
        let Some(up) = uplinks.get_mut(u) else {
            continue;
        };
        if up.spec.vni != vni {
            continue;
        }
        vni_served = true;
        if let Some(e) = up.endpoint_of(src) {
            let mut s = [0u8; 6];
            s.copy_from_slice(&frame[6..12]);
            up.learn(MacAddr(s), e, now);
            return Ok((u, frame));
        }
    }
    if vni_served {
        Err(RxDrop::UnknownEndpoint(src))
    } else {
        Err(RxDrop::WrongVni(vni))
    }
}

/// One UDP socket and the uplinks that share its local address.
#[derive(Debug)]
struct Local {
    sock: UdpSocket,
    addr: SocketAddr,
    serving: Vec<usize>,
}

/// All uplinks of a switch with their sockets.
#[derive(Debug, Default)]
pub struct Uplinks {
    locals: Vec<Local>,
    uplinks: Vec<Uplink>,
    stats: VxlanStats,
    /// Encapsulated datagrams waiting for [`Uplinks::flush`], back to back.
    out: Vec<u8>,
    /// What waits: (socket index, destination, range in `out`).
    pending: Vec<(usize, SocketAddr, std::ops::Range<usize>)>,
}

/// Datagrams sent per `sendmmsg` ([`Uplinks::flush`]).
pub const SEND_BATCH: usize = 64;

impl Uplinks {
    /// Binds one non-blocking UDP socket per distinct local address. Refuses two uplinks
    /// on the same local address with the same VNI and a remote address in common (a
    /// datagram could not tell them apart).
    pub fn bind(specs: &[UplinkSpec]) -> io::Result<Uplinks> {
        let mut u = Uplinks {
            out: Vec::with_capacity(SEND_BATCH * SLOT),
            ..Uplinks::default()
        };
        for (i, spec) in specs.iter().enumerate() {
            for (j, other) in specs[..i].iter().enumerate() {
                let shared = other.local == spec.local
                    && other.vni == spec.vni
                    && other.remotes.iter().any(|a| {
                        spec.remotes
                            .iter()
                            .any(|b| canonical_ip(a.ip()) == canonical_ip(b.ip()))
                    });
                if shared {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "-vxlan {spec} and -vxlan {other} (uplink {j}) share local address, \
                             VNI and a remote address; merge them into one uplink"
                        ),
                    ));
                }
            }
            let local = match u.locals.iter().position(|l| l.addr == spec.local) {
                Some(l) => l,
                None => {
                    let sock = UdpSocket::bind(spec.local).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!("binding the VXLAN socket {}: {e}", spec.local),
                        )
                    })?;
                    sock.set_nonblocking(true)?;
                    set_buffers(&sock);
                    u.locals.push(Local {
                        sock,
                        addr: spec.local,
                        serving: Vec::new(),
                    });
                    u.locals.len() - 1
                }
            };
            u.locals[local].serving.push(i);
            u.uplinks.push(Uplink::new(spec.clone()));
        }
        Ok(u)
    }

    /// How many uplinks there are (indices `0..len()`).
    pub fn len(&self) -> usize {
        self.uplinks.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.uplinks.is_empty()
    }

    /// The sockets to watch for reading: `(socket index, fd)`.
    pub fn fds(&self) -> impl Iterator<Item = (usize, RawFd)> + '_ {
        self.locals
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.sock.as_raw_fd()))
    }

    /// One uplink.
    pub fn uplink(&self, i: usize) -> Option<&Uplink> {
        self.uplinks.get(i)
    }

    /// The counters.
    pub fn stats(&self) -> VxlanStats {
        self.stats
    }

    /// How the console's `ports` names uplink `i`.
    pub fn describe(&self, i: usize) -> String {
        match self.uplinks.get(i) {
            Some(u) => format!(
                "vxlan vni {} local {} remotes {} endpoint_macs {}",
                u.spec.vni,
                u.spec.local,
                u.spec
                    .remotes
                    .iter()
                    .map(SocketAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                u.learned()
            ),
            None => "vxlan ?".to_string(),
        }
    }

    /// Reads up to [`RECV_BATCH`] datagrams from socket `socket` with one `recvmmsg`
    /// into the [`SLOT`]-sized slots of `buf`, and puts the frames for an uplink into
    /// `frames` as (uplink index, range in `buf`). Malformed and foreign datagrams are
    /// counted and skipped. Returns how many datagrams were read (0: none waiting).
    pub fn recv_batch(
        &mut self,
        socket: usize,
        buf: &mut [u8],
        now: Instant,
        frames: &mut Vec<(usize, std::ops::Range<usize>)>,
    ) -> io::Result<usize> {
        use nix::errno::Errno;
        use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
        frames.clear();
        let Some(local) = self.locals.get(socket) else {
            return Ok(0);
        };
        let slots = (buf.len() / SLOT).min(RECV_BATCH);
        let mut got: Vec<(usize, Option<SocketAddr>, bool)> = Vec::with_capacity(slots);
        {
            let mut iovs: Vec<[io::IoSliceMut<'_>; 1]> = buf
                .chunks_mut(SLOT)
                .take(slots)
                .map(|c| [io::IoSliceMut::new(c)])
                .collect();
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
            match recvmmsg(
                local.sock.as_raw_fd(),
                &mut headers,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            ) {
                Ok(results) => {
                    for r in results {
                        let src = r.address.and_then(|a| {
                            if let Some(v4) = a.as_sockaddr_in() {
                                Some(SocketAddr::V4((*v4).into()))
                            } else {
                                a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
                            }
                        });
                        got.push((r.bytes, src, r.flags.contains(MsgFlags::MSG_TRUNC)));
                    }
                }
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => return Ok(0),
                // An ICMP error queued for an earlier send; it is not a datagram.
                Err(Errno::ECONNREFUSED) => return Ok(0),
                Err(e) => return Err(e.into()),
            }
        }
        for (k, &(n, src, cut)) in got.iter().enumerate() {
            let base = k * SLOT;
            self.stats.rx_datagrams += u64::from(cut);
            if cut {
                self.stats.drops_oversize += 1;
                continue;
            }
            let Some(src) = src else {
                continue;
            };
            let datagram = &buf[base..base + n.min(SLOT)];
            match classify(
                &mut self.uplinks,
                &local.serving,
                src,
                datagram,
                now,
                &mut self.stats,
            ) {
                Ok((u, frame)) => {
                    let start = base + (frame.as_ptr() as usize - datagram.as_ptr() as usize);
                    frames.push((u, start..start + frame.len()));
                }
                Err(why) => tracing::debug!("VXLAN datagram from {src} dropped: {why:?}"),
            }
        }
        Ok(got.len())
    }

    /// Queues `frame` for uplink `i`: to the endpoint its destination was learned
    /// from, or to every endpoint. Returns how many datagrams were queued; they leave
    /// with the next [`Uplinks::flush`] (or now, when the queue is full).
    pub fn send(&mut self, i: usize, frame: &[u8], now: Instant) -> usize {
        let Some(up) = self.uplinks.get(i) else {
            return 0;
        };
        let Some(local) = self.locals.iter().position(|l| l.addr == up.spec.local) else {
            return 0;
        };
        let needed = HEADER_LEN + frame.len();
        if self.out.len() + needed > self.out.capacity()
            || self.pending.len() + up.spec.remotes.len() > SEND_BATCH
        {
            self.flush();
        }
        let Some(up) = self.uplinks.get(i) else {
            return 0;
        };
        let start = self.out.len();
        self.out.resize(start + needed, 0);
        let n = match vxlan::encapsulate(up.spec.vni, frame, &mut self.out[start..]) {
            Ok(n) => n,
            Err(_) => {
                self.out.truncate(start);
                self.stats.tx_errors += 1;
                return 0;
            }
        };
        let range = start..start + n;
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        match up.destinations(MacAddr(dst), now) {
            Destinations::One(to) => {
                self.stats.tx_unicast += 1;
                self.pending.push((local, to, range));
                1
            }
            Destinations::All(all) => {
                self.stats.tx_replicated += 1;
                for &to in all {
                    self.pending.push((local, to, range.clone()));
                }
                all.len()
            }
        }
    }

    /// Sends what [`Uplinks::send`] queued, with one `sendmmsg` per socket and batch.
    /// Never blocks; what the kernel refuses is counted as `tx_errors`.
    pub fn flush(&mut self) {
        use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};
        if self.pending.is_empty() {
            return;
        }
        for (li, local) in self.locals.iter().enumerate() {
            let mine: Vec<&(usize, SocketAddr, std::ops::Range<usize>)> =
                self.pending.iter().filter(|p| p.0 == li).collect();
            let mut k = 0;
            while k < mine.len() {
                let batch = &mine[k..];
                let iovs: Vec<[io::IoSlice<'_>; 1]> = batch
                    .iter()
                    .map(|p| [io::IoSlice::new(&self.out[p.2.clone()])])
                    .collect();
                let addrs: Vec<Option<SockaddrStorage>> = batch
                    .iter()
                    .map(|p| Some(SockaddrStorage::from(p.1)))
                    .collect();
                let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
                let cmsgs: [ControlMessage<'_>; 0] = [];
                match sendmmsg(
                    local.sock.as_raw_fd(),
                    &mut headers,
                    iovs.iter(),
                    &addrs,
                    cmsgs,
                    MsgFlags::MSG_DONTWAIT,
                ) {
                    Ok(results) => {
                        let n = results.count().max(1);
                        self.stats.tx_datagrams += n as u64;
                        k += n;
                    }
                    Err(e) => {
                        // The first one failed: count it, go on with the next.
                        self.stats.tx_errors += 1;
                        tracing::debug!("VXLAN send to {}: {e}", batch[0].1);
                        k += 1;
                    }
                }
            }
        }
        self.pending.clear();
        self.out.clear();
    }
}

/// Larger socket buffers: a burst of frames from many ports fits.
fn set_buffers(sock: &UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    let _ = setsockopt(sock, sockopt::RcvBuf, &(4 << 20));
    let _ = setsockopt(sock, sockopt::SndBuf, &(4 << 20));
}

/// A slot holds the VXLAN header and the largest frame the switch passes (a
/// compile-time guard against a future smaller slot).
const _: () = assert!(SLOT > HEADER_LEN + umlnet_core::switch::DEFAULT_MAX_FRAME_LEN);

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    fn spec(s: &str) -> UplinkSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    const A: MacAddr = MacAddr([0xfe, 0xfd, 10, 0, 0, 1]);
    const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0x42, 2]);

    /// The kernel's ARP request datagram (see `umlnet_core::vxlan` tests): VNI 42,
    /// from 02:00:00:00:42:01 to broadcast.
    const KERNEL_ARP_REQUEST: [u8; 50] = [
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        0x00, 0x00, 0x00, 0x42, 0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x42, 0x01, 0xc0, 0xa8, 0x2a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xc0, 0xa8, 0x2a, 0x02,
    ];
    const KERNEL_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0x42, 1]);

    #[test]
    fn spec_defaults_and_canonical_form() {
        let s = spec("42,10.0.0.1,10.0.0.2");
        assert_eq!(s.vni.get(), 42);
        assert_eq!(s.local, sa("10.0.0.1:4789"));
        assert_eq!(s.remotes, vec![sa("10.0.0.2:4789")]);
        assert_eq!(s.to_string(), "42,10.0.0.1:4789,10.0.0.2:4789");
        let s = spec("7,10.0.0.1:5000,10.0.0.2:4790,10.0.0.3");
        assert_eq!(s.local, sa("10.0.0.1:5000"));
        assert_eq!(s.remotes, vec![sa("10.0.0.2:4790"), sa("10.0.0.3:4789")]);
        assert_eq!(s.to_string(), "7,10.0.0.1:5000,10.0.0.2:4790,10.0.0.3:4789");
    }

    #[test]
    fn spec_errors_name_the_part() {
        let err = |s: &str| s.parse::<UplinkSpec>().unwrap_err().to_string();
        assert!(err("42,10.0.0.1").contains("needs <vni>,<local ip>[:port],<remote ip>"));
        assert_eq!(
            err("16777216,10.0.0.1,10.0.0.2"),
            "VNI '16777216': VNI 16777216 does not fit in 24 bits; use 0 to 16777215"
        );
        assert!(err("x,10.0.0.1,10.0.0.2").starts_with("VNI 'x': a VNI is a decimal number"));
        assert!(err("42,host,10.0.0.2").starts_with("'host' is not an address"));
        assert!(err("42,10.0.0.1,10.0.0.2:0").contains("port 0 cannot be used"));
        assert_eq!(
            err("42,10.0.0.1,fd00::2"),
            "remote [fd00::2]:4789 is not of the same address family as the local address \
             10.0.0.1:4789"
        );
        assert_eq!(
            err("42,10.0.0.1,10.0.0.1"),
            "remote 10.0.0.1:4789 is the local address itself"
        );
        assert_eq!(
            err("42,10.0.0.1,10.0.0.2,10.0.0.2:4789"),
            "remote 10.0.0.2:4789 is given twice"
        );
        assert!(err("42,10.0.0.1,239.1.1.1").contains("not a unicast address"));
        assert!(err("42,0.0.0.0,0.0.0.0:4790").contains("not a unicast address"));
    }

    #[test]
    fn ipv6_specs() {
        let s = spec("42,[fd00::1]:4790,fd00::2,[fd00::3]:5000");
        assert_eq!(s.local, sa("[fd00::1]:4790"));
        assert_eq!(s.remotes, vec![sa("[fd00::2]:4789"), sa("[fd00::3]:5000")]);
        assert_eq!(
            s.to_string(),
            "42,[fd00::1]:4790,[fd00::2]:4789,[fd00::3]:5000"
        );
        // The wildcard local address is allowed (the kernel picks the source).
        assert_eq!(spec("1,0.0.0.0,10.0.0.2").local, sa("0.0.0.0:4789"));
    }

    #[test]
    fn endpoints_match_by_address_then_port() {
        let u = Uplink::new(spec(
            "42,127.0.0.1:4789,127.0.0.1:4790,127.0.0.1:4791,10.0.0.2",
        ));
        assert_eq!(u.endpoint_of(sa("127.0.0.1:4791")), Some(1));
        assert_eq!(u.endpoint_of(sa("127.0.0.1:4790")), Some(0));
        // The kernel sends from a per-flow source port.
        assert_eq!(u.endpoint_of(sa("10.0.0.2:34217")), Some(2));
        assert_eq!(u.endpoint_of(sa("[::ffff:10.0.0.2]:34217")), Some(2));
        assert_eq!(u.endpoint_of(sa("10.0.0.3:4789")), None);
    }

    #[test]
    fn kernel_datagram_is_taken_and_its_sender_learned() {
        let mut ups = vec![Uplink::new(spec("42,10.212.0.2,10.212.0.1"))];
        let mut st = VxlanStats::default();
        let now = Instant::from_secs(5);
        let (u, frame) = classify(
            &mut ups,
            &[0],
            sa("10.212.0.1:44889"),
            &KERNEL_ARP_REQUEST,
            now,
            &mut st,
        )
        .unwrap();
        assert_eq!(u, 0);
        assert_eq!(frame, &KERNEL_ARP_REQUEST[8..]);
        assert_eq!(
            ups[0].destinations(KERNEL_MAC, now),
            Destinations::One(sa("10.212.0.1:4789")),
            "answers go to the endpoint's VXLAN port, not to its source port"
        );
        assert_eq!((st.rx_datagrams, st.rx_frames), (1, 1));
    }

    #[test]
    fn malformed_and_foreign_datagrams_are_counted_apart() {
        let mut ups = vec![
            Uplink::new(spec("42,10.0.0.1,10.0.0.2")),
            Uplink::new(spec("43,10.0.0.1,10.0.0.3")),
        ];
        let mut st = VxlanStats::default();
        let now = Instant::ZERO;
        let from2 = sa("10.0.0.2:40000");
        let mut c = |d: &[u8], src| classify(&mut ups, &[0, 1], src, d, now, &mut st).map(|r| r.0);
        assert_eq!(c(&KERNEL_ARP_REQUEST[..7], from2), Err(RxDrop::Short));
        assert_eq!(c(&KERNEL_ARP_REQUEST[..21], from2), Err(RxDrop::Short));
        let mut bad = KERNEL_ARP_REQUEST;
        bad[0] = 0;
        assert_eq!(c(&bad, from2), Err(RxDrop::BadFlags));
        let mut other = KERNEL_ARP_REQUEST;
        other[6] = 44;
        assert_eq!(
            c(&other, from2),
            Err(RxDrop::WrongVni(Vni::new(44).unwrap()))
        );
        // VNI 43 is served, but by the uplink to 10.0.0.3, not 10.0.0.2.
        other[6] = 43;
        assert_eq!(c(&other, from2), Err(RxDrop::UnknownEndpoint(from2)));
        assert_eq!(c(&other, sa("10.0.0.3:1")), Ok(1));
        let mut gbp = KERNEL_ARP_REQUEST;
        gbp[0] = 0x88;
        gbp[2] = 0x10;
        assert_eq!(c(&gbp, from2), Ok(0));
        assert_eq!(
            st,
            VxlanStats {
                rx_datagrams: 7,
                rx_frames: 2,
                drops_short: 2,
                drops_bad_flags: 1,
                drops_wrong_vni: 1,
                drops_unknown_endpoint: 1,
                reserved_bits_ignored: 1,
                ..VxlanStats::default()
            }
        );
        assert!(st.lines().contains(&("vxlan_drops_wrong_vni", 1)));
    }

    #[test]
    fn unknown_broadcast_and_stale_destinations_are_replicated() {
        let mut u = Uplink::new(spec("42,10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4"));
        let all = [
            sa("10.0.0.2:4789"),
            sa("10.0.0.3:4789"),
            sa("10.0.0.4:4789"),
        ];
        let t0 = Instant::from_secs(1);
        assert_eq!(u.destinations(A, t0), Destinations::All(&all));
        u.learn(A, 1, t0);
        u.learn(MacAddr([0xff; 6]), 2, t0);
        assert_eq!(u.destinations(A, t0), Destinations::One(all[1]));
        assert_eq!(
            u.destinations(MacAddr([0xff; 6]), t0),
            Destinations::All(&all),
            "broadcast is never learned"
        );
        assert_eq!(u.destinations(B, t0), Destinations::All(&all));
        // Moved behind another endpoint.
        u.learn(A, 2, t0);
        assert_eq!(u.destinations(A, t0), Destinations::One(all[2]));
        let later = t0.saturating_add(DEFAULT_AGEING);
        assert_eq!(u.destinations(A, later), Destinations::All(&all));
    }

    #[test]
    fn endpoint_table_is_bounded() {
        let mut u = Uplink::new(spec("42,10.0.0.1,10.0.0.2"));
        let t0 = Instant::from_secs(1);
        for i in 0..MAX_ENDPOINT_MACS as u32 {
            let b = i.to_be_bytes();
            u.learn(MacAddr([2, 0, b[0], b[1], b[2], b[3]]), 0, t0);
        }
        assert_eq!(u.learned(), MAX_ENDPOINT_MACS);
        let later = t0.saturating_add(DEFAULT_AGEING);
        u.learn(A, 0, later);
        assert_eq!(u.learned(), 1, "all stale entries went");
        assert_eq!(
            u.destinations(A, later),
            Destinations::One(sa("10.0.0.2:4789"))
        );
    }

    fn any_endpoint() -> impl Strategy<Value = SocketAddr> {
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| {
            let ip = std::net::Ipv4Addr::from([10, ip[1], ip[2], ip[3]]);
            SocketAddr::new(IpAddr::V4(ip), port)
        })
    }

    proptest! {
        #[test]
        fn spec_print_then_parse_is_identity(
            vni in 0u32..=0xff_ffff,
            local in any_endpoint(),
            remotes in proptest::collection::vec(any_endpoint(), 1..5),
        ) {
            let mut rs = Vec::new();
            for r in remotes {
                if r != local && !rs.contains(&r) {
                    rs.push(r);
                }
            }
            prop_assume!(!rs.is_empty());
            let s = UplinkSpec { vni: Vni::new(vni).unwrap(), local, remotes: rs };
            prop_assert_eq!(s.to_string().parse::<UplinkSpec>(), Ok(s));
        }

        #[test]
        fn spec_parse_never_panics_and_prints_back(text in "[0-9a-f:.,\\[\\]]{0,40}") {
            if let Ok(s) = text.parse::<UplinkSpec>() {
                prop_assert_eq!(s.to_string().parse::<UplinkSpec>(), Ok(s));
            }
        }

        #[test]
        fn classify_never_panics(d in proptest::collection::vec(any::<u8>(), 0..64), port in any::<u16>()) {
            let mut ups = vec![Uplink::new(spec("42,10.0.0.1,10.0.0.2"))];
            let mut st = VxlanStats::default();
            let src = SocketAddr::new(IpAddr::V4([10, 0, 0, 2].into()), port);
            let r = classify(&mut ups, &[0], src, &d, Instant::ZERO, &mut st);
            prop_assert_eq!(st.rx_datagrams, 1);
            prop_assert_eq!(r.is_ok(), st.rx_frames == 1);
        }
    }
}
