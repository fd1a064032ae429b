//! The guest's shell commands: `ifconfig`, `route`, `arp` and `ping`, with the syntax
//! and output of net-tools and iputils.
//!
//! [`Guest::run`] executes one command line. Quick commands finish at once with a
//! [`CommandOutput`]; `ping` becomes a job that [`Guest::poll`] drives over (virtual)
//! time until it ends (after `-c N` packets, or on [`Guest::interrupt`], like Ctrl-C),
//! then [`Guest::take_job`] hands over its output.
//!
//! Error texts are the ones the real tools print, e.g. `SIOCADDRT: Network is
//! unreachable`, `SIOCDELRT: No such process`, `ping: connect: Network is unreachable`.

use crate::guest::{Guest, GuestError, InterfaceInfo, iface_name};
use crate::route::{Selector, classful_prefix, prefix_len};
use core::fmt::Write;
use core::net::Ipv4Addr;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::raw;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, IpProtocol, IpVersion, Ipv4Packet, Ipv4Repr,
};
use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;
use umlnet_core::link::{Link, Medium as LinkMedium, SendStatus};
use umlnet_core::mac::MacAddr;

/// What a finished command printed (stdout and stderr in order) and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Everything the command printed.
    pub text: String,
    /// Exit status (0 is success), as the real tool returns it.
    pub status: i32,
}

impl CommandOutput {
    fn ok(text: String) -> Self {
        CommandOutput { text, status: 0 }
    }
    fn err(text: impl Into<String>, status: i32) -> Self {
        let mut text = text.into();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        CommandOutput { text, status }
    }
}

/// A running command (a `ping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u32);

/// What [`Guest::run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// The command finished.
    Done(CommandOutput),
    /// The command runs on; poll the guest and collect it with [`Guest::take_job`].
    Started(JobId),
}

/// A long-running command.
#[derive(Debug)]
pub(crate) enum Job {
    Ping(Ping),
}

impl Job {
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        match self {
            Job::Ping(p) => p.poll_at(),
        }
    }
    pub(crate) fn output(&self) -> &str {
        match self {
            Job::Ping(p) => &p.out,
        }
    }
    fn status(&self) -> Option<i32> {
        match self {
            Job::Ping(p) => p.status,
        }
    }
}

impl<L: Link> Guest<L> {
    /// Runs one command line at `now`.
    ///
    /// ```
    /// use smoltcp::time::Instant;
    /// use umlnet_guest::{AnyLink, Guest, Run};
    ///
    /// let mut guest: Guest<AnyLink> = Guest::new(1, Instant::ZERO);
    /// let Run::Done(out) = guest.run("route -n", Instant::ZERO) else { unreachable!() };
    /// assert_eq!(out.text, "Kernel IP routing table\n\
    ///     Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n");
    /// ```
    pub fn run(&mut self, line: &str, now: Instant) -> Run {
        let args: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, rest)) = args.split_first() else {
            return Run::Done(CommandOutput::ok(String::new()));
        };
        match cmd {
            "ifconfig" => Run::Done(self.ifconfig(rest)),
            "route" => Run::Done(self.route(rest)),
            "arp" => Run::Done(self.arp(rest)),
            "ping" => match Ping::start(self, rest, now) {
                Ok(ping) => {
                    let id = self.next_job;
                    self.next_job += 1;
                    self.jobs.insert(id, Job::Ping(ping));
                    self.poll(now);
                    Run::Started(JobId(id))
                }
                Err(out) => Run::Done(out),
            },
            _ => Run::Done(CommandOutput::err(
                std::format!("{cmd}: command not found"),
                127,
            )),
        }
    }

    /// What job `id` printed so far.
    pub fn job_output(&self, id: JobId) -> Option<&str> {
        self.jobs.get(&id.0).map(|j| j.output())
    }

    /// Whether job `id` has ended (its output is then complete).
    pub fn job_finished(&self, id: JobId) -> bool {
        self.jobs.get(&id.0).is_some_and(|j| j.status().is_some())
    }

    /// Takes the output of a finished job; `None` while it runs (or if unknown).
    pub fn take_job(&mut self, id: JobId) -> Option<CommandOutput> {
        let status = self.jobs.get(&id.0)?.status()?;
        let job = self.jobs.remove(&id.0)?;
        Some(CommandOutput {
            text: job.output().to_string(),
            status,
        })
    }

    /// Stops job `id` as Ctrl-C does (ping prints its statistics).
    pub fn interrupt(&mut self, id: JobId, now: Instant) {
        if let Some(Job::Ping(p)) = self.jobs.get_mut(&id.0)
            && p.status.is_none()
        {
            p.finish(&mut self.sockets, now);
        }
    }

    /// Runs every job's due work; whether any job did something.
    pub(crate) fn poll_jobs(&mut self, now: Instant) -> bool {
        let mut any = false;
        for job in self.jobs.values_mut() {
            match job {
                Job::Ping(p) => any |= p.poll(&mut self.sockets, now),
            }
        }
        any
    }

    fn ifconfig(&mut self, args: &[&str]) -> CommandOutput {
        match args {
            [] => {
                let mut text = String::new();
                for i in self.interface_indices() {
                    let info = self.interface(i).expect("listed interface exists");
                    if info.up {
                        text.push_str(&format_ifconfig(&info));
                    }
                }
                CommandOutput::ok(text)
            }
            ["-a"] => {
                let mut text = String::new();
                for i in self.interface_indices() {
                    text.push_str(&format_ifconfig(
                        &self.interface(i).expect("listed interface exists"),
                    ));
                }
                CommandOutput::ok(text)
            }
            [name] => match parse_iface(name).and_then(|i| self.interface(i)) {
                Some(info) => CommandOutput::ok(format_ifconfig(&info)),
                None => CommandOutput::err(
                    std::format!("{name}: error fetching interface information: Device not found"),
                    1,
                ),
            },
            [name, rest @ ..] => self.ifconfig_set(name, rest),
        }
    }

    fn ifconfig_set(&mut self, name: &str, args: &[&str]) -> CommandOutput {
        let index = parse_iface(name).filter(|&i| self.interface(i).is_some());
        let mut addr: Option<(Ipv4Addr, Option<u8>)> = None;
        let mut netmask: Option<u8> = None;
        let mut broadcast: Option<Ipv4Addr> = None;
        let mut hw: Option<MacAddr> = None;
        let mut updown: Option<bool> = None;
        let mut it = args.iter();
        while let Some(&a) = it.next() {
            match a {
                "up" => updown = Some(true),
                "down" => updown = Some(false),
                "netmask" => {
                    let Some(m) = it.next() else {
                        return ifconfig_usage();
                    };
                    match m.parse().ok().and_then(prefix_len) {
                        Some(len) => netmask = Some(len),
                        None => return CommandOutput::err(std::format!("{m}: Unknown host"), 1),
                    }
                }
                "broadcast" => {
                    let Some(b) = it.next() else {
                        return ifconfig_usage();
                    };
                    match b.parse() {
                        Ok(b) => broadcast = Some(b),
                        Err(_) => return CommandOutput::err(std::format!("{b}: Unknown host"), 1),
                    }
                }
                "hw" => {
                    let (Some(&"ether"), Some(m)) = (it.next(), it.next()) else {
                        return ifconfig_usage();
                    };
                    match MacAddr::parse(m) {
                        Ok(m) => hw = Some(m),
                        Err(e) => {
                            return CommandOutput::err(
                                std::format!("{m}: invalid ether address: {e}"),
                                1,
                            );
                        }
                    }
                }
                "arp" | "-arp" | "multicast" | "-multicast" | "promisc" | "-promisc"
                | "running" => {}
                other => {
                    if addr.is_some() {
                        return ifconfig_usage();
                    }
                    match parse_addr_prefix(other) {
                        Some(a) => addr = Some(a),
                        None => {
                            return CommandOutput::err(std::format!("{other}: Unknown host"), 1);
                        }
                    }
                }
            }
        }
        let Some(index) = index else {
            let what = if hw.is_some() {
                "SIOCSIFHWADDR: No such device".to_string()
            } else if addr.is_some() {
                "SIOCSIFADDR: No such device".to_string()
            } else {
                std::format!("{name}: ERROR while getting interface flags: No such device")
            };
            return CommandOutput::err(what, 255);
        };
        if let Some(m) = hw {
            match self.set_mac(index, m) {
                Ok(()) => {}
                Err(GuestError::MulticastMac(..) | GuestError::ZeroMac(..)) => {
                    return CommandOutput::err(
                        std::format!(
                            "SIOCSIFHWADDR: Cannot assign requested address \
                             ({m}: the first byte of a MAC address must be even and the \
                             address not all zeros)"
                        ),
                        255,
                    );
                }
                Err(e) => return CommandOutput::err(std::format!("SIOCSIFHWADDR: {e}"), 255),
            }
        }
        if let Some((a, len)) = addr {
            let _ = self.set_address(index, a, len);
            if updown.is_none() && !a.is_unspecified() {
                updown = Some(true);
            }
        }
        if let Some(len) = netmask {
            let _ = self.set_prefix_len(index, len);
        }
        if let Some(b) = broadcast {
            let _ = self.set_broadcast(index, b);
        }
        if let Some(up) = updown {
            let _ = self.set_up(index, up);
        }
        CommandOutput::ok(String::new())
    }

    fn route(&mut self, args: &[&str]) -> CommandOutput {
        let numeric = args.iter().any(|a| a.starts_with('-') && a.contains('n'));
        match args.first().copied() {
            None => CommandOutput::ok(self.routes().format(false, iface_name)),
            Some(a) if a.starts_with('-') && args.len() == 1 => {
                CommandOutput::ok(self.routes().format(numeric, iface_name))
            }
            Some("add") => self.route_change(true, &args[1..]),
            Some("del") => self.route_change(false, &args[1..]),
            Some(_) => route_usage(),
        }
    }

    fn route_change(&mut self, add: bool, args: &[&str]) -> CommandOutput {
        let op = if add { "SIOCADDRT" } else { "SIOCDELRT" };
        let spec = match RouteSpec::parse(args) {
            Ok(s) => s,
            Err(out) => return out,
        };
        let dev = match spec.dev {
            Some(name) => match parse_iface(name).filter(|&i| self.interface(i).is_some()) {
                Some(i) => Some(i),
                None => return CommandOutput::err(std::format!("{op}: No such device"), 7),
            },
            None => None,
        };
        let result = if add {
            self.add_route(spec.dest, spec.prefix_len, spec.gateway, dev, spec.metric)
        } else {
            self.del_route(&Selector {
                dest: spec.dest,
                prefix_len: spec.prefix_len,
                gateway: spec.gateway,
                iface: dev,
                metric: spec.metric_given.then_some(spec.metric),
            })
            .map(|_| ())
        };
        match result {
            Ok(()) => CommandOutput::ok(String::new()),
            Err(e) => CommandOutput::err(std::format!("{op}: {e}"), 7),
        }
    }

    fn arp(&mut self, args: &[&str]) -> CommandOutput {
        let bsd = args.contains(&"-a");
        if args.iter().any(|a| !a.starts_with('-')) {
            return CommandOutput::err(
                "Usage:\n  arp [-vn]  [<HW>] [-i <if>] [-a] [<hostname>]             <-Display ARP cache",
                255,
            );
        }
        let mut text = String::new();
        let neigh = self.neighbours();
        if !bsd && !neigh.is_empty() {
            text.push_str(
                "Address                  HWtype  HWaddress           Flags Mask            Iface\n",
            );
        }
        for n in neigh {
            let dev = iface_name(n.iface);
            let addr = n.addr.to_string();
            let _ = match (bsd, n.mac) {
                (false, Some(mac)) => writeln!(
                    text,
                    "{:<23.23}  {:<8.8}{:<20.20}{:<6.6}{:<15.15} {}",
                    addr,
                    "ether",
                    mac.to_string(),
                    "C",
                    "",
                    dev
                ),
                (false, None) => writeln!(
                    text,
                    "{:<23.23}  {:<8.8}{:<20.20}{:<6.6}{:<15.15} {}",
                    addr, "", "(incomplete)", "", "", dev
                ),
                (true, Some(mac)) => writeln!(text, "? ({addr}) at {mac} [ether] on {dev}"),
                (true, None) => writeln!(text, "? ({addr}) at <incomplete> on {dev}"),
            };
        }
        CommandOutput::ok(text)
    }
}

/// A parsed `route add|del` argument list.
struct RouteSpec<'a> {
    dest: Ipv4Addr,
    prefix_len: u8,
    gateway: Option<Ipv4Addr>,
    dev: Option<&'a str>,
    metric: u32,
    metric_given: bool,
}

impl<'a> RouteSpec<'a> {
    fn parse(args: &[&'a str]) -> Result<Self, CommandOutput> {
        let mut it = args.iter().copied().peekable();
        let mut kind = None;
        if let Some(&k @ ("-net" | "-host")) = it.peek() {
            kind = Some(k);
            it.next();
        }
        let Some(target) = it.next() else {
            return Err(route_usage());
        };
        let mut netmask = None;
        let mut gateway = None;
        let mut dev = None;
        let mut metric = 0;
        let mut metric_given = false;
        while let Some(a) = it.next() {
            match a {
                "netmask" | "genmask" => {
                    let m = it.next().ok_or_else(route_usage)?;
                    netmask =
                        Some(m.parse().ok().and_then(prefix_len).ok_or_else(|| {
                            route_err(std::format!("route: bogus netmask {m}"), 4)
                        })?);
                }
                "gw" | "gateway" => {
                    let g = it.next().ok_or_else(route_usage)?;
                    gateway = Some(g.parse::<Ipv4Addr>().map_err(|_| {
                        route_err(std::format!("{g}: Host name lookup failure"), 6)
                    })?);
                }
                "metric" => {
                    let m = it.next().ok_or_else(route_usage)?;
                    metric = m.parse().map_err(|_| route_usage())?;
                    metric_given = true;
                }
                "dev" => dev = Some(it.next().ok_or_else(route_usage)?),
                "mss" | "window" | "irtt" => {
                    it.next().ok_or_else(route_usage)?;
                }
                "mod" | "dyn" | "reinstate" => {}
                other if it.peek().is_none() && dev.is_none() => dev = Some(other),
                _ => return Err(route_usage()),
            }
        }
        let (dest, cidr) = if target == "default" {
            (Ipv4Addr::UNSPECIFIED, Some(0))
        } else {
            parse_addr_prefix(target)
                .ok_or_else(|| route_err(std::format!("{target}: Host name lookup failure"), 6))?
        };
        let prefix_len = match (kind, cidr, netmask) {
            (Some("-host"), _, Some(_)) => {
                return Err(route_err(
                    std::format!("route: netmask {} and host route conflict", dest),
                    4,
                ));
            }
            (Some("-host"), _, None) => 32,
            (_, Some(c), None) => c,
            (_, Some(c), Some(m)) if c == m => c,
            (_, Some(_), Some(_)) => return Err(route_usage()),
            (_, None, Some(m)) => m,
            (Some("-net"), None, None) => classful_prefix(dest),
            (_, None, None) => 32,
        };
        let m = crate::route::mask(prefix_len).to_bits();
        if dest.to_bits() & !m != 0 {
            let mut out = route_usage();
            out.text
                .insert_str(0, "route: netmask doesn't match route address\n");
            out.status = 3;
            return Err(out);
        }
        Ok(RouteSpec {
            dest,
            prefix_len,
            gateway,
            dev,
            metric,
            metric_given,
        })
    }
}

fn route_err(text: String, status: i32) -> CommandOutput {
    CommandOutput::err(text, status)
}

fn route_usage() -> CommandOutput {
    CommandOutput::err(
        "Usage: inet_route [-vF] del {-host|-net} Target[/prefix] [gw Gw] [metric M] [[dev] If]\n       \
         inet_route [-vF] add {-host|-net} Target[/prefix] [gw Gw] [metric M]\n                              \
         [netmask N] [mss Mss] [window W] [irtt I]\n                              \
         [mod] [dyn] [reinstate] [[dev] If]\n       \
         inet_route [-vF] add {-host|-net} Target[/prefix] [metric M] reject\n       \
         inet_route [-FC] flush      NOT supported",
        4,
    )
}

fn ifconfig_usage() -> CommandOutput {
    CommandOutput::err(
        "Usage:\n  ifconfig [-a] [-v] [-s] <interface> [[<AF>] <address>]\n  \
         [netmask <address>]  [broadcast <address>]  [hw ether <address>]  [up|down]",
        1,
    )
}

fn parse_iface(name: &str) -> Option<u32> {
    let n = name.strip_prefix("eth")?;
    if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    n.parse().ok()
}

fn parse_addr_prefix(s: &str) -> Option<(Ipv4Addr, Option<u8>)> {
    match s.split_once('/') {
        Some((a, p)) => {
            let p: u8 = p.parse().ok().filter(|&p| p <= 32)?;
            Some((a.parse().ok()?, Some(p)))
        }
        None => Some((s.parse().ok()?, None)),
    }
}

/// One interface as old net-tools `ifconfig` prints it, blank line included.
pub fn format_ifconfig(info: &InterfaceInfo) -> String {
    let mut s = String::new();
    let ether = info.medium == LinkMedium::Ethernet;
    if ether {
        let _ = writeln!(
            s,
            "{:<9.9} Link encap:Ethernet  HWaddr {}",
            info.name, info.mac
        );
    } else {
        let _ = writeln!(s, "{:<9.9} Link encap:Serial Line IP", info.name);
    }
    if let Some(a) = info.addr {
        match (ether, info.broadcast) {
            (true, Some(b)) => {
                let _ = writeln!(
                    s,
                    "          inet addr:{a}  Bcast:{b}  Mask:{}",
                    info.netmask
                );
            }
            _ => {
                let _ = writeln!(s, "          inet addr:{a}  Mask:{}", info.netmask);
            }
        }
    }
    let mut flags: Vec<&str> = Vec::new();
    if info.up {
        flags.push("UP");
    }
    flags.push(if ether { "BROADCAST" } else { "POINTOPOINT" });
    if info.up {
        flags.push("RUNNING");
    }
    flags.push(if ether { "MULTICAST" } else { "NOARP" });
    let c = &info.counters;
    let _ = writeln!(
        s,
        "          {}  MTU:{}  Metric:1",
        flags.join(" "),
        info.mtu
    );
    let _ = writeln!(
        s,
        "          RX packets:{} errors:{} dropped:{} overruns:0 frame:0",
        c.rx_packets, c.rx_errors, c.rx_dropped
    );
    let _ = writeln!(
        s,
        "          TX packets:{} errors:{} dropped:{} overruns:0 carrier:0",
        c.tx_packets, c.tx_errors, c.tx_dropped
    );
    let _ = writeln!(s, "          collisions:0 txqueuelen:1000");
    let _ = writeln!(
        s,
        "          RX bytes:{} ({})  TX bytes:{} ({})",
        c.rx_bytes,
        scaled(c.rx_bytes),
        c.tx_bytes,
        scaled(c.tx_bytes)
    );
    s.push('\n');
    s
}

fn scaled(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    std::format!("{v:.1} {}", UNITS[u])
}

/// An iputils-style ping over a raw ICMP socket.
#[derive(Debug)]
pub(crate) struct Ping {
    dst: Ipv4Addr,
    src: Ipv4Addr,
    count: Option<u32>,
    interval: Duration,
    linger: Duration,
    size: usize,
    ident: u16,
    socket: SocketHandle,
    next_seq: u16,
    next_send: Instant,
    sent: BTreeMap<u16, (Instant, bool)>,
    transmitted: u32,
    received: u32,
    errors: u32,
    rtts_us: Vec<i64>,
    start: Instant,
    last_event: Instant,
    last_send: Instant,
    out: String,
    status: Option<i32>,
}

impl Ping {
    fn start<L: Link>(
        guest: &mut Guest<L>,
        args: &[&str],
        now: Instant,
    ) -> Result<Ping, CommandOutput> {
        let mut count = None;
        let mut interval = Duration::from_secs(1);
        let mut linger = Duration::from_secs(10);
        let mut size = 56usize;
        let mut host = None;
        let mut it = args.iter().copied();
        let usage = || CommandOutput::err("ping: usage error: Destination address required", 1);
        while let Some(a) = it.next() {
            let mut value = |opt: &str| {
                it.next().ok_or_else(|| {
                    CommandOutput::err(
                        std::format!("ping: option requires an argument -- '{opt}'"),
                        2,
                    )
                })
            };
            match a {
                "-c" => {
                    let v = value("c")?;
                    count = Some(v.parse::<u32>().ok().filter(|&c| c > 0).ok_or_else(|| {
                        CommandOutput::err(std::format!("ping: invalid argument: '{v}'"), 1)
                    })?);
                }
                "-i" => {
                    let v = value("i")?;
                    let secs: f64 =
                        v.parse()
                            .ok()
                            .filter(|s: &f64| *s >= 0.002)
                            .ok_or_else(|| {
                                CommandOutput::err(
                                    std::format!("ping: bad timing interval: {v}"),
                                    2,
                                )
                            })?;
                    interval = Duration::from_micros((secs * 1e6) as u64);
                }
                "-W" => {
                    let v = value("W")?;
                    let secs: f64 =
                        v.parse().ok().filter(|s: &f64| *s >= 0.0).ok_or_else(|| {
                            CommandOutput::err(std::format!("ping: bad linger time: {v}"), 2)
                        })?;
                    linger = Duration::from_micros((secs * 1e6) as u64);
                }
                "-s" => {
                    let v = value("s")?;
                    size = v.parse().ok().filter(|&s| s <= 65507).ok_or_else(|| {
                        CommandOutput::err(std::format!("ping: invalid argument: '{v}'"), 1)
                    })?;
                }
                h if !h.starts_with('-') && host.is_none() => host = Some(h),
                _ => return Err(usage()),
            }
        }
        let host = host.ok_or_else(usage)?;
        let dst: Ipv4Addr = host.parse().map_err(|_| {
            CommandOutput::err(
                std::format!("ping: {host}: Temporary failure in name resolution"),
                2,
            )
        })?;
        let src = guest
            .source_address(dst)
            .ok_or_else(|| CommandOutput::err("ping: connect: Network is unreachable", 2))?;
        let socket = raw::Socket::new(
            Some(IpVersion::Ipv4),
            Some(IpProtocol::Icmp),
            raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 64], vec![0; 256 * 1024]),
            raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 16], vec![0; 128 * 1024]),
        );
        let socket = guest.sockets.add(socket);
        let ident = guest.random() as u16;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "PING {dst} ({dst}) {size}({}) bytes of data.",
            size + 28
        );
        Ok(Ping {
            dst,
            src,
            count,
            interval,
            linger,
            size,
            ident,
            socket,
            next_seq: 1,
            next_send: now,
            sent: BTreeMap::new(),
            transmitted: 0,
            received: 0,
            errors: 0,
            rtts_us: Vec::new(),
            start: now,
            last_event: now,
            last_send: now,
            out,
            status: None,
        })
    }

    fn all_sent(&self) -> bool {
        self.count.is_some_and(|c| self.transmitted >= c)
    }

    fn deadline(&self) -> Instant {
        // iputils: twice the longest round trip but at least one interval once
        // something came back, the linger time (-W) otherwise.
        if self.received > 0 {
            let max = self.rtts_us.iter().copied().max().unwrap_or(0).max(0) as u64;
            self.last_send + Duration::from_micros(2 * max).max(self.interval)
        } else {
            self.last_send + self.linger
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.status.is_some() {
            None
        } else if self.all_sent() {
            Some(self.deadline())
        } else {
            Some(self.next_send)
        }
    }

    fn poll(&mut self, sockets: &mut SocketSet<'static>, now: Instant) -> bool {
        if self.status.is_some() {
            return false;
        }
        let mut any = false;
        while !self.all_sent() && self.next_send <= now {
            if !self.send(sockets, now) {
                break;
            }
            any = true;
        }
        while let Ok(packet) = sockets.get_mut::<raw::Socket>(self.socket).recv() {
            let packet = packet.to_vec();
            any |= self.receive(&packet, now);
        }
        let count_done = self
            .count
            .is_some_and(|c| self.received + self.errors >= c && self.all_sent());
        if count_done || (self.all_sent() && now >= self.deadline()) {
            self.finish(sockets, now);
            any = true;
        }
        any
    }

    fn send(&mut self, sockets: &mut SocketSet<'static>, now: Instant) -> bool {
        let seq = self.next_seq;
        let data: Vec<u8> = (0..self.size)
            .map(|i| (i as u8).wrapping_add(0x10))
            .collect();
        let icmp = Icmpv4Repr::EchoRequest {
            ident: self.ident,
            seq_no: seq,
            data: &data,
        };
        let ip = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            next_header: IpProtocol::Icmp,
            payload_len: icmp.buffer_len(),
            hop_limit: 64,
        };
        let caps = ChecksumCapabilities::default();
        let mut buf = vec![0; ip.buffer_len() + icmp.buffer_len()];
        let mut view = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut view, &caps);
        icmp.emit(&mut Icmpv4Packet::new_unchecked(view.payload_mut()), &caps);
        if sockets
            .get_mut::<raw::Socket>(self.socket)
            .send_slice(&buf)
            .is_err()
        {
            return false;
        }
        self.sent.insert(seq, (now, false));
        self.transmitted += 1;
        self.next_seq = seq.wrapping_add(1);
        self.next_send += self.interval;
        self.last_event = now;
        self.last_send = now;
        true
    }

    fn receive(&mut self, packet: &[u8], now: Instant) -> bool {
        let caps = ChecksumCapabilities::default();
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return false;
        };
        let ttl = ip.hop_limit();
        let from = ip.src_addr();
        let payload = ip.payload();
        // ICMP errors quote the original header with its full total length but only
        // eight bytes of its payload, which smoltcp's parser refuses: read them by hand.
        if payload.len() >= 8 && payload[0] == 3 {
            return self.receive_unreachable(from, payload[1], &payload[8..], now);
        }
        let Ok(icmp_packet) = Icmpv4Packet::new_checked(payload) else {
            return false;
        };
        let Ok(icmp) = Icmpv4Repr::parse(&icmp_packet, &caps) else {
            return false;
        };
        match icmp {
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } if ident == self.ident && from == self.dst => {
                let Some((sent_at, seen)) = self.sent.get_mut(&seq_no) else {
                    return false;
                };
                let rtt = (now - *sent_at).total_micros() as i64;
                let dup = *seen;
                *seen = true;
                let _ = writeln!(
                    self.out,
                    "{} bytes from {from}: icmp_seq={seq_no} ttl={ttl} time={}{}",
                    data.len() + 8,
                    format_rtt(rtt),
                    if dup { " (DUP!)" } else { "" }
                );
                if !dup {
                    self.received += 1;
                    self.rtts_us.push(rtt);
                }
                self.last_event = now;
                true
            }
            _ => false,
        }
    }

    /// A "destination unreachable" quoting one of our echo requests.
    fn receive_unreachable(
        &mut self,
        from: Ipv4Addr,
        code: u8,
        quoted: &[u8],
        now: Instant,
    ) -> bool {
        let Some(&first) = quoted.first() else {
            return false;
        };
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 || quoted.len() < ihl + 8 {
            return false;
        }
        let dst = Ipv4Addr::new(quoted[16], quoted[17], quoted[18], quoted[19]);
        let inner = &quoted[ihl..];
        let ours = quoted[9] == 1
            && dst == self.dst
            && inner[0] == 8
            && u16::from_be_bytes([inner[4], inner[5]]) == self.ident;
        if !ours {
            return false;
        }
        let seq = u16::from_be_bytes([inner[6], inner[7]]);
        let what = match Icmpv4DstUnreachable::from(code) {
            Icmpv4DstUnreachable::HostUnreachable => "Destination Host Unreachable",
            Icmpv4DstUnreachable::NetUnreachable => "Destination Net Unreachable",
            Icmpv4DstUnreachable::PortUnreachable => "Destination Port Unreachable",
            Icmpv4DstUnreachable::ProtoUnreachable => "Destination Protocol Unreachable",
            _ => "Destination Unreachable",
        };
        let _ = writeln!(self.out, "From {from} icmp_seq={seq} {what}");
        self.errors += 1;
        self.last_event = now;
        true
    }

    fn finish(&mut self, sockets: &mut SocketSet<'static>, _now: Instant) {
        sockets.remove(self.socket);
        let tx = self.transmitted;
        let rx = self.received;
        let loss = if tx == 0 {
            0.0
        } else {
            f64::from(tx - rx.min(tx)) * 100.0 / f64::from(tx)
        };
        let time_ms = (self.last_event - self.start).total_millis();
        let _ = writeln!(self.out, "\n--- {} ping statistics ---", self.dst);
        let errors = if self.errors > 0 {
            std::format!(", +{} errors", self.errors)
        } else {
            String::new()
        };
        let _ = writeln!(
            self.out,
            "{tx} packets transmitted, {rx} received{errors}, {}% packet loss, time {time_ms}ms",
            format_g(loss)
        );
        if rx > 0 {
            let n = self.rtts_us.len() as f64;
            let min = *self.rtts_us.iter().min().unwrap_or(&0);
            let max = *self.rtts_us.iter().max().unwrap_or(&0);
            let sum: f64 = self.rtts_us.iter().map(|&t| t as f64).sum();
            let sum2: f64 = self.rtts_us.iter().map(|&t| (t as f64) * (t as f64)).sum();
            let avg = sum / n;
            let mdev = (sum2 / n - avg * avg).max(0.0).sqrt();
            let _ = writeln!(
                self.out,
                "rtt min/avg/max/mdev = {}/{}/{}/{} ms",
                ms3(min as f64),
                ms3(avg),
                ms3(max as f64),
                ms3(mdev)
            );
        } else {
            self.out.push('\n');
        }
        self.status = Some(if rx > 0 { 0 } else { 1 });
    }
}

/// Milliseconds with three decimals from microseconds.
fn ms3(us: f64) -> String {
    let us = us.round() as i64;
    std::format!("{}.{:03}", us / 1000, us % 1000)
}

/// iputils' per-reply time: more decimals for shorter times.
fn format_rtt(us: i64) -> String {
    if us >= 100_000 - 50 {
        std::format!("{} ms", (us + 500) / 1000)
    } else if us >= 10_000 - 5 {
        std::format!("{}.{} ms", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1000 {
        std::format!("{}.{:02} ms", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        std::format!("{}.{:03} ms", us / 1000, us % 1000)
    }
}

/// C's `%g` for a percentage: six significant digits, no trailing zeros.
fn format_g(v: f64) -> String {
    if v == v.trunc() {
        return std::format!("{}", v as i64);
    }
    let int_digits = if v.abs() >= 1.0 {
        (v.abs().log10().floor() as i32) + 1
    } else {
        1
    };
    let decimals = (6 - int_digits).max(0) as usize;
    let s = std::format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A link that loses everything, for [`fuzz_shell`].
struct Void(umlnet_core::link::Medium);

impl Link for Void {
    type Error = core::convert::Infallible;
    fn medium(&self) -> umlnet_core::link::Medium {
        self.0
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn recv(&mut self, _: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        Ok(None)
    }
    fn send(&mut self, _: &[u8]) -> Result<SendStatus, Self::Error> {
        Ok(SendStatus::Sent)
    }
}

/// Fuzz entry point: runs every line of `data` as a shell command on a guest with an
/// Ethernet `eth0` and an IP `eth1`, advancing time, and checks that the routing table
/// stays consistent with the interfaces and with `route -n`. Never panics on its own.
#[doc(hidden)]
pub fn fuzz_shell(data: &[u8]) {
    let mut now = Instant::from_secs(1);
    let mut guest: Guest<Void> = Guest::new(1, now);
    let _ = guest.add_interface(0, Void(LinkMedium::Ethernet), None);
    let _ = guest.add_interface(1, Void(LinkMedium::Ip), None);
    let text = String::from_utf8_lossy(data);
    let mut jobs = Vec::new();
    for line in text.lines().take(64) {
        match guest.run(line, now) {
            Run::Done(out) => {
                assert!(out.status != 0 || !out.text.contains("Usage"), "{line}");
            }
            Run::Started(id) => jobs.push(id),
        }
        now += Duration::from_millis(700);
        guest.poll(now);
        let routes = guest.routes().clone();
        for r in routes.iter() {
            let info = guest.interface(r.iface);
            assert!(
                info.is_some_and(|i| i.up),
                "route through a missing or down interface"
            );
        }
        let Run::Done(table) = guest.run("route -n", now) else {
            panic!("route -n started a job")
        };
        assert_eq!(table.text.lines().count(), routes.len() + 2);
    }
    for id in jobs {
        guest.interrupt(id, now);
        assert!(guest.take_job(id).is_some());
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn iputils_number_formats() {
        assert_eq!(format_rtt(119), "0.119 ms");
        assert_eq!(format_rtt(1234), "1.23 ms");
        assert_eq!(format_rtt(12345), "12.3 ms");
        assert_eq!(format_rtt(123456), "123 ms");
        assert_eq!(format_g(0.0), "0");
        assert_eq!(format_g(100.0), "100");
        assert_eq!(format_g(100.0 / 3.0), "33.3333");
        assert_eq!(format_g(25.0), "25");
        assert_eq!(ms3(82.0), "0.082");
        assert_eq!(scaled(0), "0.0 B");
        assert_eq!(scaled(46944), "46.9 KB");
        assert_eq!(scaled(1_224_417), "1.2 MB");
    }

    #[test]
    fn interface_names() {
        assert_eq!(parse_iface("eth0"), Some(0));
        assert_eq!(parse_iface("eth12"), Some(12));
        assert_eq!(parse_iface("eth"), None);
        assert_eq!(parse_iface("eth01"), None);
        assert_eq!(parse_iface("tap0"), None);
    }

    #[test]
    fn route_arguments() {
        let s = RouteSpec::parse(&[
            "-net",
            "192.168.0.0",
            "dev",
            "eth0",
            "netmask",
            "255.255.255.0",
        ])
        .unwrap();
        assert_eq!(
            (s.dest, s.prefix_len, s.dev),
            (Ipv4Addr::new(192, 168, 0, 0), 24, Some("eth0"))
        );
        let s = RouteSpec::parse(&["default", "gw", "192.168.0.4"]).unwrap();
        assert_eq!(
            (s.prefix_len, s.gateway),
            (0, Some(Ipv4Addr::new(192, 168, 0, 4)))
        );
        let s = RouteSpec::parse(&["-host", "192.168.0.4", "eth0"]).unwrap();
        assert_eq!((s.prefix_len, s.dev), (32, Some("eth0")));
        let s = RouteSpec::parse(&["-net", "10.0.0.0/8", "gw", "10.0.0.1"]).unwrap();
        assert_eq!(s.prefix_len, 8);
        let e = RouteSpec::parse(&["-net", "10.0.0.1", "netmask", "255.0.0.0", "dev", "eth0"])
            .err()
            .unwrap();
        assert!(
            e.text
                .starts_with("route: netmask doesn't match route address\nUsage:")
        );
        assert_eq!(e.status, 3);
        let e = RouteSpec::parse(&["foo"]).err().unwrap();
        assert_eq!(e.text, "foo: Host name lookup failure\n");
        assert!(RouteSpec::parse(&[]).is_err());
    }

    /// Command lines built from the tools' own vocabulary, in random order: whatever
    /// a user types, the shell answers without panicking and the table stays sound.
    #[test]
    fn token_soup_never_breaks_the_shell() {
        const WORDS: [&str; 40] = [
            "ifconfig",
            "route",
            "arp",
            "ping",
            "eth0",
            "eth1",
            "eth7",
            "up",
            "down",
            "netmask",
            "broadcast",
            "hw",
            "ether",
            "add",
            "del",
            "-net",
            "-host",
            "default",
            "gw",
            "dev",
            "metric",
            "-n",
            "-a",
            "-c",
            "-i",
            "-W",
            "-s",
            "1",
            "0",
            "192.168.0.253",
            "192.168.0.0",
            "255.255.255.0",
            "10.0.0.0/8",
            "0.0.0.0",
            "fe:fd:0:0:0:1",
            "03:00:00:00:00:01",
            "255.0.255.0",
            "1.2.3.4.5",
            "10.0.0.1",
            "/",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let mut input = String::new();
            for _ in 0..(next() % 12) {
                // Start most lines with a command so that the arguments get exercised.
                let first = ["ifconfig", "route", "arp", "ping"][(next() % 4) as usize];
                input.push_str(first);
                for _ in 0..(next() % 8) {
                    input.push(' ');
                    input.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
                }
                input.push('\n');
            }
            fuzz_shell(input.as_bytes());
        }
        fuzz_shell(b"ifconfig eth0 192.168.0.253 up\nroute add default gw 192.168.0.4\nping -c 2 192.168.0.4\n\xff\xfe");
        fuzz_shell(b"ifconfig eth1 10.0.0.1 up\nroute add -host 10.0.0.2 dev eth1\nping 10.0.0.2\nifconfig eth1 down");
    }
}
