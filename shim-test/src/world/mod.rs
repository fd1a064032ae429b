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
//! Hosts are [`HostKernel`]s changed only through core [`HostAction`](umlnet_core::host::HostAction)s and plans.
//!
//! Commands run in the guest's shell ([`World::run`]); long ones (ping) run until they
//! end, in virtual time. Everything is written to the transcript.

mod artifacts;
mod boot;
mod commands;
mod helper;
mod hosts;
mod run;
mod tcp;
#[cfg(test)]
mod test;

pub use boot::{Boot, BootError};

use crate::host::HostKernel;
use crate::net::{Faults, Framing, Net, SegmentId, SegmentKind, SimLink};
use crate::rng::Rng;
use core::fmt;
use core::net::Ipv4Addr;
use smoltcp::time::{Duration, Instant};
use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::vec::Vec;
use umlnet_core::host::GuestAddr;
use umlnet_guest::Guest;

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
}
