//! A simulated world: guests and hosts on the simulated wires, driven by a virtual
//! clock that jumps from event to event.
//!
//! Guests are the unchanged `umlnet-guest` [`Guest`]s over [`SimLink`]s. A guest's
//! devices come from `eth<n>=` arguments ([`World::boot`]) exactly as on a real UML
//! command line: `tuntap` opens a tap on a host (the helper sets it up when a gate
//! address is given, and hears of every address the guest adds, as `uml_net add`),
//! `ethertap` talks to a host tap through the 2-byte prefix, `slip` is a SLIP line to
//! an `sl<n>` on a host, `mcast` joins a multicast group (a hub per group and port)
//! and `daemon` plugs into a `uml_switch` ([`World::uml_switch`]) by control socket.
//! Hosts are [`HostKernel`]s changed only through core [`HostAction`]s and plans.
//!
//! Commands run in the guest's shell ([`World::run`]); long ones (ping) run until they
//! end, in virtual time. Everything is written to the transcript.

use crate::host::{HostError, HostKernel, IfKind};
use crate::net::{
    EthertapLink, Faults, Framing, Net, SegmentId, SegmentKind, SimLink, SlipLink, stamp,
};
use crate::rng::Rng;
use core::fmt;
use core::net::Ipv4Addr;
use smoltcp::time::{Duration, Instant};
use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;
use umlnet_core::cmdline::{self, Transport};
use umlnet_core::host::{
    self as plan, GuestAddr, HostAction, HostContext, LanRoute, Plan, PlanError, Setup,
};
use umlnet_core::mac::MacAddr;
use umlnet_guest::shell::{CommandOutput, JobId, Run};
use umlnet_guest::{Guest, GuestError, TcpHandle};

/// One-way latency of every segment the world makes: a round trip over one wire
/// takes 200 µs.
pub const LATENCY: Duration = Duration::from_micros(100);
/// The environment variable naming a directory where a world that is dropped during a
/// panic (a failing scenario) writes its transcript and captures.
pub const OUT_VAR: &str = "UMLNET_SIM_OUT";

/// How long a command may run in virtual time before [`World::run`] interrupts it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A guest of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuestId(pub usize);

/// A host of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub usize);

/// Why [`World::boot`] could not give the guest its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootError {
    /// The argument does not parse (the kernel's message).
    Parse(String),
    /// The guest refused the device (a multicast or zero MAC, a duplicate).
    Guest(GuestError),
    /// The transport needs a host and none was given.
    NoHost,
    /// No `uml_switch` listens on that control socket.
    NoSwitch(String),
    /// The transport is not simulated (ucast, vde, slirp, vector).
    Unsupported(&'static str),
    /// The helper's plan could not be made.
    Plan(PlanError),
    /// The host refused the plan or the device.
    Host(HostError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Parse(e) => f.write_str(e),
            BootError::Guest(e) => e.fmt(f),
            BootError::NoHost => f.write_str("this transport needs a host"),
            BootError::NoSwitch(ctl) => write!(
                f,
                "daemon_open : control connect failed, errno = 111 (no uml_switch on {ctl})"
            ),
            BootError::Unsupported(t) => write!(f, "the {t} transport is not simulated"),
            BootError::Plan(e) => e.fmt(f),
            BootError::Host(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for BootError {}

/// What [`World::boot`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// The segment the device is on.
    pub segment: SegmentId,
    /// The host device at the other end (`tap0`, `sl0`), for host transports.
    pub host_dev: Option<String>,
}

/// The helper's watch on one guest device: it is told of every address change.
#[derive(Debug, Clone)]
struct Hook {
    iface: u32,
    host: usize,
    dev: String,
    known: Option<GuestAddr>,
}

struct GuestNode {
    name: String,
    guest: Guest<SimLink>,
    hooks: Vec<Hook>,
}

/// Guests, hosts and wires under one virtual clock.
pub struct World {
    net: Net,
    seed: u64,
    rng: Rng,
    guests: Vec<GuestNode>,
    hosts: Vec<HostKernel>,
    switches: BTreeMap<String, SegmentId>,
    groups: BTreeMap<(Ipv4Addr, u16), SegmentId>,
    slip_lines: usize,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("seed", &self.seed)
            .field("net", &self.net)
            .field("guests", &self.guests.len())
            .field("hosts", &self.hosts.len())
            .finish()
    }
}

impl Drop for World {
    /// A world dropped by a failing scenario leaves its transcript and captures in
    /// `$UMLNET_SIM_OUT`, if set.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if let Some(dir) = std::env::var_os(OUT_VAR) {
            match self.write_artifacts(std::path::Path::new(&dir)) {
                Ok(d) => std::eprintln!(
                    "transcript and captures of seed {} in {}",
                    self.seed,
                    d.display()
                ),
                Err(e) => std::eprintln!(
                    "cannot write the run's artifacts to {}: {e}",
                    dir.to_string_lossy()
                ),
            }
        }
    }
}

impl World {
    /// An empty world; `seed` decides every random choice of the run.
    pub fn new(seed: u64) -> World {
        let net = Net::new(seed);
        net.log(format!("world seed {seed}"));
        World {
            net,
            seed,
            rng: Rng::new(seed),
            guests: Vec::new(),
            hosts: Vec::new(),
            switches: BTreeMap::new(),
            groups: BTreeMap::new(),
            slip_lines: 0,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The wires.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.net.now()
    }

    /// The transcript so far.
    pub fn transcript(&self) -> String {
        self.net.transcript()
    }

    /// Writes the transcript (`transcript.txt`) and one pcap per segment
    /// (`<n>-<segment>.pcap`) into `dir/seed-<seed>/`; returns that directory.
    pub fn write_artifacts(&self, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        let dir = dir.join(format!("seed-{}", self.seed));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("transcript.txt"), self.transcript())?;
        for (i, (name, pcap)) in self.net.pcaps().iter().enumerate() {
            let clean: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            std::fs::write(dir.join(format!("{i:02}-{clean}.pcap")), pcap.bytes())?;
        }
        Ok(dir)
    }

    /// Adds a segment.
    pub fn segment(&mut self, name: &str, kind: SegmentKind) -> SegmentId {
        self.net.add_segment(name, kind, Framing::Ethernet, LATENCY)
    }

    /// Sets a segment's faults.
    pub fn set_faults(&mut self, seg: SegmentId, faults: Faults) {
        self.net
            .log(format!("{}: faults {faults:?}", self.net.segment_name(seg)));
        self.net.set_faults(seg, faults);
    }

    /// Starts a `uml_switch` (or `uml_switch -hub`) listening on control socket `ctl`.
    pub fn uml_switch(&mut self, ctl: &str, hub: bool) -> SegmentId {
        let seg = self.net.add_segment(
            &format!("uml_switch {ctl}"),
            SegmentKind::Switch { hub },
            Framing::Ethernet,
            LATENCY,
        );
        self.switches.insert(ctl.into(), seg);
        seg
    }

    /// Adds a host kernel.
    pub fn add_host(&mut self, name: &str) -> HostId {
        let seed = self.rng.next_u64();
        self.hosts.push(HostKernel::new(name, seed));
        HostId(self.hosts.len() - 1)
    }

    /// A host.
    pub fn host(&self, h: HostId) -> &HostKernel {
        &self.hosts[h.0]
    }

    /// A host, mutably.
    pub fn host_mut(&mut self, h: HostId) -> &mut HostKernel {
        &mut self.hosts[h.0]
    }

    /// Adds a guest with no devices.
    pub fn add_guest(&mut self, name: &str) -> GuestId {
        let seed = self.rng.next_u64();
        self.guests.push(GuestNode {
            name: name.into(),
            guest: Guest::new(seed, self.net.now()),
            hooks: Vec::new(),
        });
        GuestId(self.guests.len() - 1)
    }

    /// A guest.
    pub fn guest(&self, g: GuestId) -> &Guest<SimLink> {
        &self.guests[g.0].guest
    }

    /// A guest, mutably.
    pub fn guest_mut(&mut self, g: GuestId) -> &mut Guest<SimLink> {
        &mut self.guests[g.0].guest
    }

    /// Applies one host action, logging the command it stands for.
    pub fn host_apply(&mut self, h: HostId, action: &HostAction) -> Result<(), HostError> {
        let r = self.hosts[h.0].apply(action);
        self.flush_host_logs();
        r
    }

    /// Applies a plan action by action, stopping at the first failure.
    pub fn host_plan(&mut self, h: HostId, plan: &Plan) -> Result<(), HostError> {
        plan.iter().try_for_each(|a| self.host_apply(h, a))
    }

    /// Gives host `h` a LAN card `dev` on segment `seg` with address `addr/prefix`, up.
    pub fn host_nic(
        &mut self,
        h: HostId,
        dev: &str,
        seg: SegmentId,
        addr: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), HostError> {
        let name = format!("{}:{dev}", self.hosts[h.0].name());
        self.hosts[h.0].add_interface(dev, IfKind::Ethernet, None)?;
        let port = self.net.attach(seg, &name);
        self.hosts[h.0].attach(dev, SimLink::Port(port))?;
        let ifname = plan::if_name(dev).map_err(|_| HostError::NoSuchDevice(dev.into()))?;
        self.host_apply(
            h,
            &HostAction::AddAddress(plan::IfAddr {
                dev: ifname.clone(),
                addr,
                prefix: plan::Prefix::new(prefix).unwrap_or(plan::Prefix::HOST),
                peer: None,
            }),
        )?;
        self.host_apply(h, &HostAction::LinkUp { dev: ifname })
    }

    /// The host's routes as the helper reads them from `/proc/net/route`.
    pub fn lan_routes(&self, h: HostId) -> Vec<LanRoute> {
        self.hosts[h.0]
            .routes()
            .iter()
            .filter_map(|r| {
                let mask = plan::Prefix::new(r.prefix)?.netmask();
                LanRoute::new(&r.dev, r.dst, mask).ok()
            })
            .collect()
    }

    /// Plugs a plain Ethernet interface `eth<index>` of guest `g` into segment `seg`
    /// (for the other machines of a LAN).
    pub fn guest_nic(
        &mut self,
        g: GuestId,
        index: u32,
        seg: SegmentId,
        mac: Option<MacAddr>,
    ) -> Result<(), GuestError> {
        let name = format!("{}:eth{index}", self.guests[g.0].name);
        let port = self.net.attach(seg, &name);
        let id = port.id();
        let r = self.guests[g.0]
            .guest
            .add_interface(index, SimLink::Port(port), mac);
        if r.is_err() {
            self.net.detach(id);
        }
        r
    }

    /// Gives guest `g` the device an `eth<n>=` argument describes, as the UML kernel
    /// does at boot, with host `host` at the far end of host transports.
    pub fn boot(&mut self, g: GuestId, arg: &str, host: Option<HostId>) -> Result<Boot, BootError> {
        let gname = self.guests[g.0].name.clone();
        self.net.log(format!("{gname}: boot {arg}"));
        let parsed = cmdline::parse(arg).map_err(|e| BootError::Parse(e.display(arg).to_string()));
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.net.log(format!("{gname}: {e}"));
                return Err(e);
            }
        };
        let spec = parsed.spec;
        let index = spec.index;
        let mac = spec.transport.mac();
        let r = self.boot_spec(g, index, &spec, mac, host);
        if let Err(e) = &r {
            self.net.log(format!("{gname}: eth{index}: {e}"));
        }
        r
    }

    fn boot_spec(
        &mut self,
        g: GuestId,
        index: u32,
        spec: &cmdline::DeviceSpec,
        mac: Option<MacAddr>,
        host: Option<HostId>,
    ) -> Result<Boot, BootError> {
        let gname = self.guests[g.0].name.clone();
        let me = format!("{gname}:eth{index}");
        // The guest refuses a bad MAC before anything is opened on the host.
        if let Some(m) = mac
            && (m.is_multicast() || m.is_zero())
        {
            let e = if m.is_multicast() {
                GuestError::MulticastMac(index, m)
            } else {
                GuestError::ZeroMac(index, m)
            };
            return Err(BootError::Guest(e));
        }
        match &spec.transport {
            Transport::Mcast(m) => {
                let key = (m.group, m.port);
                let seg = match self.groups.get(&key) {
                    Some(s) => *s,
                    None => {
                        let s = self.net.add_segment(
                            &format!("mcast {}:{}", m.group, m.port),
                            SegmentKind::Hub,
                            Framing::Ethernet,
                            LATENCY,
                        );
                        self.groups.insert(key, s);
                        s
                    }
                };
                let port = self.net.attach(seg, &me);
                self.add_to_guest(g, index, SimLink::Port(port), mac)?;
                Ok(Boot {
                    segment: seg,
                    host_dev: None,
                })
            }
            Transport::Daemon(d) => {
                let ctl = d.ctl_or_default().to_string();
                let seg = *self
                    .switches
                    .get(&ctl)
                    .ok_or_else(|| BootError::NoSwitch(ctl.clone()))?;
                let port = self.net.attach(seg, &me);
                self.add_to_guest(g, index, SimLink::Port(port), mac)?;
                Ok(Boot {
                    segment: seg,
                    host_dev: None,
                })
            }
            Transport::Tuntap(t) => {
                let h = host.ok_or(BootError::NoHost)?;
                let dev = match &t.dev {
                    // A fixed tap must exist (tunctl); the kernel runs no helper.
                    Some(d) => {
                        if self.hosts[h.0].interface(d).is_none() {
                            return Err(BootError::Host(HostError::NoSuchDevice(d.to_string())));
                        }
                        d.to_string()
                    }
                    None => {
                        let name = self.hosts[h.0].free_name("tap");
                        self.hosts[h.0]
                            .add_interface(&name, IfKind::Tap, None)
                            .map_err(BootError::Host)?;
                        name
                    }
                };
                let seg = self
                    .net
                    .add_segment(&dev, SegmentKind::Wire, Framing::Ethernet, LATENCY);
                let guest_end = self.net.attach(seg, &me);
                let host_end = self
                    .net
                    .attach(seg, &format!("{}:{dev}", self.hosts[h.0].name()));
                self.hosts[h.0]
                    .attach(&dev, SimLink::Port(host_end))
                    .map_err(BootError::Host)?;
                self.add_to_guest(g, index, SimLink::Port(guest_end), mac)?;
                if t.dev.is_none() && t.gate.is_some() {
                    self.helper_setup(g, index, h, spec, &dev)?;
                }
                Ok(Boot {
                    segment: seg,
                    host_dev: Some(dev),
                })
            }
            Transport::Ethertap(e) => {
                let h = host.ok_or(BootError::NoHost)?;
                let dev = e.dev.to_string();
                if self.hosts[h.0].interface(&dev).is_none() {
                    // The helper makes the tap that stands in for the ethertap device.
                    self.hosts[h.0]
                        .add_interface(&dev, IfKind::Tap, None)
                        .map_err(BootError::Host)?;
                }
                let seg = self
                    .net
                    .add_segment(&dev, SegmentKind::Wire, Framing::Ethertap, LATENCY);
                let guest_end = self.net.attach(seg, &me);
                let host_end = self
                    .net
                    .attach(seg, &format!("{}:{dev}", self.hosts[h.0].name()));
                self.hosts[h.0]
                    .attach(&dev, SimLink::Ethertap(EthertapLink::new(host_end)))
                    .map_err(BootError::Host)?;
                self.add_to_guest(
                    g,
                    index,
                    SimLink::Ethertap(EthertapLink::new(guest_end)),
                    mac,
                )?;
                if e.gate.is_some() {
                    self.helper_setup(g, index, h, spec, &dev)?;
                }
                Ok(Boot {
                    segment: seg,
                    host_dev: Some(dev),
                })
            }
            Transport::Slip(s) => {
                let h = host.ok_or(BootError::NoHost)?;
                let dev = self.hosts[h.0].free_name("sl");
                self.hosts[h.0]
                    .add_interface(&dev, IfKind::Slip, None)
                    .map_err(BootError::Host)?;
                self.slip_lines += 1;
                let seg = self.net.add_segment(
                    &format!("{dev} (pty)"),
                    SegmentKind::Wire,
                    Framing::Slip,
                    LATENCY,
                );
                let guest_end = self.net.attach(seg, &me);
                let host_end = self
                    .net
                    .attach(seg, &format!("{}:{dev}", self.hosts[h.0].name()));
                self.hosts[h.0]
                    .attach(&dev, SimLink::Slip(SlipLink::new(host_end)))
                    .map_err(BootError::Host)?;
                self.add_to_guest(g, index, SimLink::Slip(SlipLink::new(guest_end)), None)?;
                if s.gate.is_some() {
                    self.helper_setup(g, index, h, spec, &dev)?;
                }
                Ok(Boot {
                    segment: seg,
                    host_dev: Some(dev),
                })
            }
            Transport::Ucast(_) => Err(BootError::Unsupported("ucast")),
            Transport::Vde(_) => Err(BootError::Unsupported("vde")),
            Transport::Slirp(_) => Err(BootError::Unsupported("slirp")),
            Transport::Vector(_) => Err(BootError::Unsupported("vector")),
        }
    }

    fn add_to_guest(
        &mut self,
        g: GuestId,
        index: u32,
        link: SimLink,
        mac: Option<MacAddr>,
    ) -> Result<(), BootError> {
        let ep = link.endpoint();
        let r = self.guests[g.0].guest.add_interface(index, link, mac);
        if let Err(e) = r {
            self.net.detach(ep);
            return Err(BootError::Guest(e));
        }
        Ok(())
    }

    /// What `uml_net` does when the kernel brings the device up with a gate address,
    /// and the watch through which it hears of the guest's addresses.
    fn helper_setup(
        &mut self,
        g: GuestId,
        index: u32,
        h: HostId,
        spec: &cmdline::DeviceSpec,
        dev: &str,
    ) -> Result<(), BootError> {
        let routes = self.lan_routes(h);
        let ctx = HostContext::new(Some(dev), &[], &routes);
        let p = plan::plan_for(spec, &ctx).map_err(BootError::Plan)?;
        self.net
            .log(format!("uml_net: {} actions for {dev}", p.len()));
        self.host_plan(h, &p).map_err(BootError::Host)?;
        self.guests[g.0].hooks.push(Hook {
            iface: index,
            host: h.0,
            dev: dev.into(),
            known: None,
        });
        Ok(())
    }

    /// The by-hand host setup of the seed for a device (`tunctl`, addresses, route,
    /// proxy ARP, published entry, forwarding), for guest addresses `guests`.
    pub fn manual_setup(
        &mut self,
        h: HostId,
        arg: &str,
        dev: Option<&str>,
        gate: Option<Ipv4Addr>,
        create_tap: bool,
        guests: &[Ipv4Addr],
    ) -> Result<Plan, BootError> {
        let spec = cmdline::parse(arg)
            .map_err(|e| BootError::Parse(e.display(arg).to_string()))?
            .spec;
        let routes = self.lan_routes(h);
        let guests: Vec<GuestAddr> = guests
            .iter()
            .map(|&ip| GuestAddr { ip, netmask: None })
            .collect();
        let ctx = HostContext {
            setup: Setup::Manual { gate, create_tap },
            ..HostContext::new(dev, &guests, &routes)
        };
        let p = plan::plan_for(&spec, &ctx).map_err(BootError::Plan)?;
        self.host_plan(h, &p).map_err(BootError::Host)?;
        Ok(p)
    }

    /// Removes `eth<index>` from guest `g` (mconsole `remove`): its endpoint leaves the
    /// segment (a switch forgets its addresses), and a tap the guest opened goes.
    pub fn unplug(&mut self, g: GuestId, index: u32) -> Result<(), GuestError> {
        let link = self.guests[g.0].guest.remove_interface(index)?;
        self.net.detach(link.endpoint());
        let hooks = core::mem::take(&mut self.guests[g.0].hooks);
        let (gone, keep): (Vec<Hook>, Vec<Hook>) =
            hooks.into_iter().partition(|k| k.iface == index);
        self.guests[g.0].hooks = keep;
        for hook in gone {
            if let Some(l) = self.hosts[hook.host].detach(&hook.dev) {
                self.net.detach(l.endpoint());
            }
        }
        Ok(())
    }

    /// Tells the helpers of guest `g` about address changes (the kernel's `uml_net
    /// add`/`del` on every address the guest sets on a helper-managed device).
    fn sync_hooks(&mut self, g: GuestId) {
        let mut hooks = core::mem::take(&mut self.guests[g.0].hooks);
        for hook in &mut hooks {
            let now = self.guests[g.0].guest.interface(hook.iface).and_then(|i| {
                let ip = i.addr?;
                i.up.then_some(GuestAddr {
                    ip,
                    netmask: Some(i.netmask),
                })
            });
            if now == hook.known {
                continue;
            }
            let h = HostId(hook.host);
            let routes = self.lan_routes(h);
            if let Some(old) = hook.known
                && let Ok(p) = plan::address_del(&hook.dev, old, &routes)
            {
                self.net.log(format!("uml_net del {} {}", hook.dev, old.ip));
                let _ = self.host_plan(h, &p);
            }
            if let Some(new) = now
                && let Ok(p) = plan::address_add(&hook.dev, new, &routes)
            {
                self.net.log(format!("uml_net add {} {}", hook.dev, new.ip));
                let _ = self.host_plan(h, &p);
            }
            hook.known = now;
        }
        self.guests[g.0].hooks = hooks;
    }

    fn flush_host_logs(&mut self) {
        for h in &mut self.hosts {
            for l in h.take_log() {
                self.net.log(l);
            }
        }
    }

    /// Polls everyone at the current time until nobody has anything left to do.
    pub fn settle(&mut self) {
        let now = self.net.now();
        for _ in 0..10_000 {
            let mut any = false;
            for n in &mut self.guests {
                any |= n.guest.poll(now);
            }
            for h in &mut self.hosts {
                any |= h.poll(now);
            }
            self.flush_host_logs();
            if !any {
                return;
            }
        }
        panic!("the world did not settle at {}", stamp(now));
    }

    /// When something is next due (a delivery, a timer of a guest or a host).
    fn next_due(&mut self) -> Option<Instant> {
        let now = self.net.now();
        // A timer "due now" after a settle has nothing to do yet; look a little later.
        let soon = now + Duration::from_micros(10);
        let mut next = self.net.next_event();
        let mut take = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for n in &mut self.guests {
            if let Some(t) = n.guest.poll_at(now) {
                take(t.max(soon));
            }
        }
        for h in &self.hosts {
            if let Some(t) = h.poll_at() {
                take(t.max(soon));
            }
        }
        next
    }

    /// Runs one step: settles, then moves the clock to the next event (or to
    /// `limit`, whichever is first) and settles again. Returns false when the clock
    /// reached `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.settle();
        let more = match self.next_due() {
            Some(t) if t <= limit => {
                self.net.advance_to(t);
                true
            }
            _ => {
                self.net.advance_to(limit);
                false
            }
        };
        self.settle();
        more
    }

    /// Runs the world for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now() + d;
        while self.step(limit) {}
    }

    /// Runs until `done` holds (checked after every step) or `timeout` passes; whether
    /// it held.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut World) -> bool,
    ) -> bool {
        let limit = self.now() + timeout;
        self.settle();
        loop {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                return done(self);
            }
        }
    }

    /// Runs a shell command on guest `g` and, for a long one (ping), the world until it
    /// ends (at most [`COMMAND_TIMEOUT`], then it is interrupted as with Ctrl-C).
    pub fn run(&mut self, g: GuestId, line: &str) -> CommandOutput {
        match self.start(g, line) {
            Run::Done(out) => out,
            Run::Started(job) => self.wait(g, job),
        }
    }

    /// Starts a shell command on guest `g` without waiting for a job to end.
    pub fn start(&mut self, g: GuestId, line: &str) -> Run {
        let name = self.guests[g.0].name.clone();
        self.net.log(format!("{name}# {line}"));
        let now = self.net.now();
        let r = self.guests[g.0].guest.run(line, now);
        self.sync_hooks(g);
        if let Run::Done(out) = &r {
            self.log_output(&out.text, out.status);
        }
        r
    }

    /// Waits for job `job` of guest `g` to end and returns its output.
    pub fn wait(&mut self, g: GuestId, job: JobId) -> CommandOutput {
        let finished = self.run_until(COMMAND_TIMEOUT, |w| w.guests[g.0].guest.job_finished(job));
        if !finished {
            let now = self.now();
            self.guests[g.0].guest.interrupt(job, now);
        }
        let out = self.guests[g.0]
            .guest
            .take_job(job)
            .unwrap_or(CommandOutput {
                text: String::new(),
                status: -1,
            });
        self.log_output(&out.text, out.status);
        out
    }

    fn log_output(&self, text: &str, status: i32) {
        for l in text.lines() {
            self.net.log(format!("    {l}"));
        }
        if status != 0 {
            self.net.log(format!("    (exit {status})"));
        }
    }

    /// Moves `data` over TCP from guest `from` to guest `to` (listening on `addr:port`)
    /// and returns what arrived, or why it did not within `timeout`.
    pub fn tcp_transfer(
        &mut self,
        from: GuestId,
        to: GuestId,
        addr: Ipv4Addr,
        port: u16,
        data: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        self.net.log(format!(
            "tcp: {} bytes from {} to {addr}:{port}",
            data.len(),
            self.guests[from.0].name
        ));
        let server: TcpHandle = self.guests[to.0]
            .guest
            .tcp_listen(port)
            .map_err(|e| e.to_string())?;
        let client: TcpHandle = self.guests[from.0]
            .guest
            .tcp_connect(addr, port)
            .map_err(|e| e.to_string())?;
        let limit = self.now() + timeout;
        let mut sent = 0;
        let mut closed = false;
        let mut got = Vec::with_capacity(data.len());
        loop {
            {
                let s = self.guests[from.0].guest.tcp(client);
                if s.can_send() && sent < data.len() {
                    sent += s.send_slice(&data[sent..]).unwrap_or(0);
                }
                if sent == data.len() && !closed {
                    s.close();
                    closed = true;
                }
            }
            {
                let s = self.guests[to.0].guest.tcp(server);
                while s.can_recv() {
                    let n = s
                        .recv(|b| {
                            got.extend_from_slice(b);
                            (b.len(), b.len())
                        })
                        .unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                }
            }
            if got.len() >= data.len() {
                self.net.log(format!("tcp: {} bytes arrived", got.len()));
                return Ok(got);
            }
            if !self.step(limit) {
                let msg = format!(
                    "TCP transfer stalled: {} of {} bytes sent, {} arrived by {}",
                    sent,
                    data.len(),
                    got.len(),
                    stamp(self.now())
                );
                self.net.log(&msg);
                return Err(msg);
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn artifacts_are_written_and_readable() {
        let mut w = World::new(12);
        let sw = w.uml_switch("/tmp/t.ctl", false);
        let a = w.add_guest("a");
        let b = w.add_guest("b");
        w.boot(a, "eth0=daemon,,unix,/tmp/t.ctl", None).unwrap();
        w.boot(b, "eth0=daemon,,unix,/tmp/t.ctl", None).unwrap();
        w.run(a, "ifconfig eth0 10.0.0.1 up");
        w.run(b, "ifconfig eth0 10.0.0.2 up");
        let out = w.run(a, "ping -c 2 10.0.0.2");
        assert!(out.text.contains(", 2 received,"), "{}", out.text);
        let base = std::env::temp_dir().join(format!("umlnet-sim-test-{}", std::process::id()));
        let dir = w.write_artifacts(&base).unwrap();
        let t = std::fs::read_to_string(dir.join("transcript.txt")).unwrap();
        assert_eq!(t, w.transcript());
        let pcap = std::fs::read(dir.join("00-uml_switch__tmp_t.ctl.pcap")).unwrap();
        assert_eq!(pcap, w.net().pcap(sw).bytes());
        assert_eq!(w.net().pcap(sw).frames(), 6);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn helper_follows_address_changes() {
        let mut w = World::new(3);
        let h = w.add_host("host");
        let g = w.add_guest("uml");
        w.boot(g, "eth0=tuntap,,,10.0.0.254", Some(h)).unwrap();
        w.run(g, "ifconfig eth0 10.0.0.1 up");
        let has = |w: &World, s: &str| w.host(h).routes().iter().any(|r| r.to_string() == s);
        assert!(has(&w, "10.0.0.1 dev tap0"));
        w.run(g, "ifconfig eth0 10.0.0.2");
        assert!(!has(&w, "10.0.0.1 dev tap0") && has(&w, "10.0.0.2 dev tap0"));
        w.run(g, "ifconfig eth0 down");
        assert!(!has(&w, "10.0.0.2 dev tap0"));
        assert!(w.transcript().contains("uml_net del tap0 10.0.0.2"));
        // The guest goes: its tap goes with it.
        w.unplug(g, 0).unwrap();
        assert!(w.host(h).interface("tap0").is_none());
    }
}
