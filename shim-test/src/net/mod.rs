//! The simulated wires: a virtual clock that jumps from event to event, segments that
//! carry frames between endpoints with a latency and seeded faults, a capture and a
//! transcript of everything sent.
//!
//! A [`Net`] holds every segment. A segment is one of
//!
//! * a **wire** between two endpoints (the socket or tap between a guest and the host:
//!   tuntap, ethertap's socket pair, a SLIP line);
//! * a **hub**, on which every endpoint hears every other (a multicast group);
//! * a **switch** that decides with the core learning [`Switch`] where each frame goes
//!   (the `uml_switch` daemon, or its hub mode).
//!
//! Sending on an endpoint never blocks: the frame is captured, its fate drawn from the
//! segment's [`Faults`] (lost, duplicated, held back so that later frames pass it,
//! delayed, one bit flipped) and its delivery scheduled. [`Net::advance_to`] moves the
//! clock and drops due frames into the endpoints' inboxes; [`SimPort`] (and the
//! [`EthertapLink`] and [`SlipLink`] codecs on top of it) read them through the core
//! [`Link`](umlnet_core::link::Link) trait. Nothing here reads a wall clock, uses a hash map's order or a
//! thread: a seed replays a run exactly.
//!
//! ```
//! use umlnet_core::link::{Link, SendStatus};
//! use umlnet_sim::net::{Net, SegmentKind, Framing};
//! use smoltcp::time::Duration;
//!
//! let net = Net::new(1);
//! let wire = net.add_segment("tap0", SegmentKind::Wire, Framing::Ethernet, Duration::from_micros(100));
//! let mut a = net.attach(wire, "uml");
//! let mut b = net.attach(wire, "host");
//! assert_eq!(a.send(&[0xff; 60]).unwrap(), SendStatus::Sent);
//! let mut buf = [0; 1514];
//! assert_eq!(b.recv(&mut buf).unwrap(), None); // still on the wire
//! net.advance_to(net.next_event().unwrap());
//! assert_eq!(b.recv(&mut buf).unwrap(), Some(60));
//! ```

mod clock;
mod faults;
mod framing;
mod port;
mod segments;
#[cfg(test)]
mod test;
mod transmit;

pub use faults::{Corruption, Faults};
pub use framing::{EthertapLink, SlipLink};
pub use port::{SimLink, SimPort};

use crate::pcap::Pcap;
use crate::rng::Rng;
use core::cell::RefCell;
use core::fmt;
use smoltcp::time::Duration;
use smoltcp::time::Instant;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::string::String;
use std::vec;
use std::vec::Vec;
use umlnet_core::mac::MacAddr;
use umlnet_core::slip;
use umlnet_core::switch::{MacSlot, PortSlot, Switch};

/// The simulated uml_switch: heap storage, 64 ports, 4096 addresses.
pub type SimSwitch = Switch<Vec<MacSlot>, Vec<PortSlot>>;

/// Port slots of a simulated switch.
pub const SWITCH_PORTS: usize = 64;
/// Address slots of a simulated switch.
pub const SWITCH_MACS: usize = 4096;
/// The MTU of every simulated link (every UML transport has 1500).
pub const MTU: usize = 1500;
/// Frames an endpoint's inbox holds before further frames to it are dropped (a full
/// socket buffer).
pub const INBOX_DEPTH: usize = 4096;

/// Where the virtual clock starts: 1000 s, so that nothing mistakes it for "unset".
pub const EPOCH: Instant = Instant::from_millis_const(1_000_000);

/// Which segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub usize);

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(pub usize);

/// How a segment connects its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// Point to point: what one end sends, the other receives.
    Wire,
    /// Everyone hears everyone else (a multicast group).
    Hub,
    /// The core learning switch decides (`hub: true` is `uml_switch -hub`).
    Switch {
        /// Flood every frame.
        hub: bool,
    },
}

/// What the bytes on a segment are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Ethernet frames without FCS.
    Ethernet,
    /// Ethernet frames behind ethertap's 2-byte prefix.
    Ethertap,
    /// A SLIP byte line: each datagram is a chunk of the byte stream.
    Slip,
}
/// What a segment did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SegmentStats {
    /// Frames sent into the segment.
    pub sent: u64,
    /// Copies delivered into an inbox.
    pub delivered: u64,
    /// Copies lost by the loss fault.
    pub lost: u64,
    /// Copies duplicated.
    pub duplicated: u64,
    /// Copies held back to be reordered.
    pub reordered: u64,
    /// Copies delayed.
    pub delayed: u64,
    /// Copies corrupted.
    pub corrupted: u64,
    /// Frames dropped because the segment was down, the switch dropped them or an
    /// inbox was full.
    pub dropped: u64,
}
/// Why a [`SimPort`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    /// The endpoint was detached (the guest left the switch, the tap was deleted).
    Detached,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Detached => f.write_str("endpoint is detached from its segment"),
        }
    }
}

impl core::error::Error for SimError {}

enum Carrier {
    Wire,
    Hub,
    Switch(Box<SimSwitch>),
}

struct Segment {
    name: String,
    carrier: Carrier,
    framing: Framing,
    latency: Duration,
    faults: Faults,
    up: bool,
    endpoints: Vec<usize>,
    pcap: Pcap,
    /// SLIP lines: a decoder per sending endpoint, for the capture.
    capture: BTreeMap<usize, slip::Decoder<Vec<u8>>>,
    stats: SegmentStats,
}

struct Endpoint {
    segment: usize,
    name: String,
    inbox: VecDeque<Vec<u8>>,
    attached: bool,
}

enum Event {
    Deliver { to: usize, frame: Vec<u8> },
    Down(usize),
    Up(usize),
    Restart(usize),
}

struct State {
    now: Instant,
    seq: u64,
    events: BTreeMap<(Instant, u64), Event>,
    segments: Vec<Segment>,
    endpoints: Vec<Endpoint>,
    rng: Rng,
    trace_frames: bool,
    capture: bool,
    transcript: Vec<String>,
    corruptions: Vec<Corruption>,
    spare: Vec<Vec<u8>>,
}

/// The wires of a simulated world (cheap to clone: all clones share one state).
#[derive(Clone)]
pub struct Net(Rc<RefCell<State>>);

impl fmt::Debug for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.borrow();
        f.debug_struct("Net")
            .field("now", &s.now)
            .field("segments", &s.segments.len())
            .field("endpoints", &s.endpoints.len())
            .field("pending", &s.events.len())
            .finish()
    }
}

/// The time as the transcript shows it: seconds since [`EPOCH`] with microseconds.
pub fn stamp(t: Instant) -> String {
    let us = (t - EPOCH).total_micros();
    std::format!("{:4}.{:06}", us / 1_000_000, us % 1_000_000)
}
fn new_switch(hub: bool) -> Box<SimSwitch> {
    let mut sw = Box::new(Switch::new(
        vec![MacSlot::EMPTY; SWITCH_MACS],
        vec![PortSlot::EMPTY; SWITCH_PORTS],
    ));
    sw.set_hub(hub);
    sw
}

/// The switch port of endpoint `id`: its position among the segment's endpoints.
fn port_of(endpoints: &[usize], id: usize) -> u16 {
    endpoints
        .iter()
        .position(|&e| e == id)
        .map_or(u16::MAX, |p| p as u16)
}
/// A locally administered unicast MAC drawn from `rng` (as Linux gives a new tap).
pub fn random_mac(rng: &mut Rng) -> MacAddr {
    let r = rng.next_u64().to_le_bytes();
    MacAddr([(r[0] & 0xfe) | 0x02, r[1], r[2], r[3], r[4], r[5]])
}
