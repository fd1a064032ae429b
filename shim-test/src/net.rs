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
//! [`Link`] trait. Nothing here reads a wall clock, uses a hash map's order or a
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

use crate::pcap::{LinkType, Pcap};
use crate::rng::Rng;
use crate::summary;
use core::cell::RefCell;
use core::fmt;
use smoltcp::time::{Duration, Instant};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::string::String;
use std::vec;
use std::vec::Vec;
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_core::mac::MacAddr;
use umlnet_core::slip;
use umlnet_core::switch::{self, MacSlot, PortSlot, Switch, Verdict};

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

/// The faults a segment injects, each as a probability per delivered frame in parts
/// per million ([`crate::rng::PPM`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// The frame is lost.
    pub loss: u32,
    /// The frame arrives twice.
    pub duplicate: u32,
    /// The frame is held back one to four latencies, so that later ones overtake it.
    pub reorder: u32,
    /// The frame is delayed by up to `max_delay`.
    pub delay: u32,
    /// The longest extra delay.
    pub max_delay: Duration,
    /// One bit of the frame is flipped. On Ethernet and ethertap segments the bit is
    /// in the IPv4 packet (the header has no checksum on these transports, which carry
    /// no FCS, so corrupting it would model nothing real); frames that are not IPv4
    /// are left whole. On a SLIP line any byte but the framing ENDs may flip.
    pub corrupt: u32,
}

impl Faults {
    /// No faults at all.
    pub const NONE: Faults = Faults {
        loss: 0,
        duplicate: 0,
        reorder: 0,
        delay: 0,
        max_delay: Duration::ZERO,
        corrupt: 0,
    };

    /// Whether any fault is on.
    pub fn any(&self) -> bool {
        self.loss | self.duplicate | self.reorder | self.delay | self.corrupt != 0
    }
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

/// One corrupted copy, as it was delivered: for tests that check that a checksum
/// catches every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The segment.
    pub segment: SegmentId,
    /// The receiving endpoint.
    pub to: EndpointId,
    /// The bytes delivered.
    pub bytes: Vec<u8>,
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

impl Net {
    /// Empty wires at [`EPOCH`], with fault choices drawn from `seed`.
    pub fn new(seed: u64) -> Net {
        Net(Rc::new(RefCell::new(State {
            now: EPOCH,
            seq: 0,
            events: BTreeMap::new(),
            segments: Vec::new(),
            endpoints: Vec::new(),
            rng: Rng::new(seed ^ 0x6e65_7477_6f72_6b00),
            trace_frames: true,
            capture: true,
            transcript: Vec::new(),
            corruptions: Vec::new(),
            spare: Vec::new(),
        })))
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.0.borrow().now
    }

    /// Whether every frame sent is written to the transcript (on by default; the
    /// benchmark turns it off).
    pub fn set_trace_frames(&self, on: bool) {
        self.0.borrow_mut().trace_frames = on;
    }

    /// Whether every frame sent is written to its segment's pcap (on by default; the
    /// benchmark turns it off).
    pub fn set_capture(&self, on: bool) {
        self.0.borrow_mut().capture = on;
    }

    /// Appends a line to the transcript, stamped with the virtual time.
    pub fn log(&self, line: impl AsRef<str>) {
        let mut s = self.0.borrow_mut();
        let l = std::format!("{} {}", stamp(s.now), line.as_ref());
        s.transcript.push(l);
    }

    /// The transcript so far, one event per line.
    pub fn transcript(&self) -> String {
        let s = self.0.borrow();
        let mut out = String::new();
        for l in &s.transcript {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Adds a segment.
    pub fn add_segment(
        &self,
        name: &str,
        kind: SegmentKind,
        framing: Framing,
        latency: Duration,
    ) -> SegmentId {
        let mut s = self.0.borrow_mut();
        let carrier = match kind {
            SegmentKind::Wire => Carrier::Wire,
            SegmentKind::Hub => Carrier::Hub,
            SegmentKind::Switch { hub } => Carrier::Switch(new_switch(hub)),
        };
        let link = match framing {
            Framing::Slip => LinkType::Raw,
            Framing::Ethernet | Framing::Ethertap => LinkType::Ethernet,
        };
        s.segments.push(Segment {
            name: name.into(),
            carrier,
            framing,
            latency,
            faults: Faults::NONE,
            up: true,
            endpoints: Vec::new(),
            pcap: Pcap::new(link),
            capture: BTreeMap::new(),
            stats: SegmentStats::default(),
        });
        SegmentId(s.segments.len() - 1)
    }

    /// A segment's name.
    pub fn segment_name(&self, seg: SegmentId) -> String {
        self.0.borrow().segments[seg.0].name.clone()
    }

    /// Sets a segment's faults.
    pub fn set_faults(&self, seg: SegmentId, faults: Faults) {
        self.0.borrow_mut().segments[seg.0].faults = faults;
    }

    /// A segment's counters.
    pub fn stats(&self, seg: SegmentId) -> SegmentStats {
        self.0.borrow().segments[seg.0].stats
    }

    /// A segment's capture so far.
    pub fn pcap(&self, seg: SegmentId) -> Pcap {
        self.0.borrow().segments[seg.0].pcap.clone()
    }

    /// Every segment's name and capture, in creation order.
    pub fn pcaps(&self) -> Vec<(String, Pcap)> {
        let s = self.0.borrow();
        s.segments
            .iter()
            .map(|g| (g.name.clone(), g.pcap.clone()))
            .collect()
    }

    /// Every corrupted copy delivered so far.
    pub fn corruptions(&self) -> Vec<Corruption> {
        self.0.borrow().corruptions.clone()
    }

    /// Adds an endpoint to a segment (a guest's socket, a host's tap, a switch port)
    /// and gives its [`Link`].
    pub fn attach(&self, seg: SegmentId, name: &str) -> SimPort {
        let mut s = self.0.borrow_mut();
        let id = s.endpoints.len();
        s.endpoints.push(Endpoint {
            segment: seg.0,
            name: name.into(),
            inbox: VecDeque::new(),
            attached: true,
        });
        let g = &mut s.segments[seg.0];
        g.endpoints.push(id);
        if let Carrier::Switch(sw) = &mut g.carrier {
            // Ids beyond the port slots cannot happen: a segment refuses more endpoints
            // than SWITCH_PORTS (see below), the rest are plain hubs.
            let _ = sw.add_port(switch::PortId(port_of(&g.endpoints, id)));
        }
        let line = std::format!("{}: {name} attached", g.name);
        drop(s);
        self.log(line);
        SimPort {
            net: self.clone(),
            id: EndpointId(id),
        }
    }

    /// Detaches an endpoint: it neither sends nor receives any more, and a switch
    /// forgets every address learned on its port.
    pub fn detach(&self, ep: EndpointId) {
        let mut s = self.0.borrow_mut();
        let e = &mut s.endpoints[ep.0];
        if !e.attached {
            return;
        }
        e.attached = false;
        e.inbox.clear();
        let seg = e.segment;
        let name = e.name.clone();
        let g = &mut s.segments[seg];
        let mut forgot = 0;
        if let Carrier::Switch(sw) = &mut g.carrier {
            forgot = sw
                .remove_port(switch::PortId(port_of(&g.endpoints, ep.0)))
                .unwrap_or(0);
        }
        let line = match g.carrier {
            Carrier::Switch(_) => std::format!(
                "{}: {name} detached, {forgot} learned address(es) freed",
                g.name
            ),
            _ => std::format!("{}: {name} detached", g.name),
        };
        drop(s);
        self.log(line);
    }

    /// The switch of a switch segment, to look at its table and counters.
    pub fn with_switch<R>(&self, seg: SegmentId, f: impl FnOnce(&SimSwitch) -> R) -> Option<R> {
        match &self.0.borrow().segments[seg.0].carrier {
            Carrier::Switch(sw) => Some(f(sw)),
            _ => None,
        }
    }

    /// The switch port number of an endpoint on a switch segment.
    pub fn switch_port(&self, ep: EndpointId) -> switch::PortId {
        let s = self.0.borrow();
        let seg = s.endpoints[ep.0].segment;
        switch::PortId(port_of(&s.segments[seg].endpoints, ep.0))
    }

    /// Turns hub mode of a switch segment on or off.
    pub fn set_hub(&self, seg: SegmentId, hub: bool) {
        if let Carrier::Switch(sw) = &mut self.0.borrow_mut().segments[seg.0].carrier {
            sw.set_hub(hub);
        }
        let name = self.segment_name(seg);
        self.log(std::format!(
            "{name}: {} mode",
            if hub { "hub" } else { "switch" }
        ));
    }

    /// Takes a segment down at `at` (frames sent or arriving while it is down are
    /// lost).
    pub fn schedule_down(&self, seg: SegmentId, at: Instant) {
        self.schedule(at, Event::Down(seg.0));
    }

    /// Brings a segment up again at `at`.
    pub fn schedule_up(&self, seg: SegmentId, at: Instant) {
        self.schedule(at, Event::Up(seg.0));
    }

    /// Restarts a switch segment's daemon at `at`: the address table is lost (the
    /// clients keep their ports, as `uml_switch` restarted on the same sockets).
    pub fn schedule_restart(&self, seg: SegmentId, at: Instant) {
        self.schedule(at, Event::Restart(seg.0));
    }

    fn schedule(&self, at: Instant, ev: Event) {
        let mut s = self.0.borrow_mut();
        let seq = s.seq;
        s.seq += 1;
        s.events.insert((at, seq), ev);
    }

    /// When the next event (a delivery, a fault) is due.
    pub fn next_event(&self) -> Option<Instant> {
        self.0.borrow().events.first_key_value().map(|(k, _)| k.0)
    }

    /// Moves the clock to `t` (never backwards), carrying out every event due by then,
    /// in time order and, at one time, in the order they were scheduled. Returns how
    /// many frames were put into inboxes.
    pub fn advance_to(&self, t: Instant) -> usize {
        let mut delivered = 0;
        loop {
            let mut s = self.0.borrow_mut();
            let Some(entry) = s.events.first_entry() else {
                break;
            };
            if entry.key().0 > t {
                break;
            }
            let ((at, _), ev) = entry.remove_entry();
            if at > s.now {
                s.now = at;
            }
            match ev {
                Event::Deliver { to, frame } => {
                    let st = &mut *s;
                    let e = &mut st.endpoints[to];
                    let g = &mut st.segments[e.segment];
                    if e.attached && g.up && e.inbox.len() < INBOX_DEPTH {
                        e.inbox.push_back(frame);
                        g.stats.delivered += 1;
                        delivered += 1;
                    } else {
                        g.stats.dropped += 1;
                        st.spare.push(frame);
                    }
                }
                Event::Down(seg) => {
                    s.segments[seg].up = false;
                    let line = std::format!("{}: link down", s.segments[seg].name);
                    drop(s);
                    self.log(line);
                }
                Event::Up(seg) => {
                    s.segments[seg].up = true;
                    let line = std::format!("{}: link up", s.segments[seg].name);
                    drop(s);
                    self.log(line);
                }
                Event::Restart(seg) => {
                    let st = &mut *s;
                    let g = &mut st.segments[seg];
                    if let Carrier::Switch(sw) = &mut g.carrier {
                        let mut fresh = new_switch(sw.is_hub());
                        for &e in &g.endpoints {
                            if st.endpoints[e].attached {
                                let _ = fresh.add_port(switch::PortId(port_of(&g.endpoints, e)));
                            }
                        }
                        *sw = fresh;
                    }
                    let line = std::format!("{}: switch restarted, address table empty", g.name);
                    drop(s);
                    self.log(line);
                }
            }
        }
        let mut s = self.0.borrow_mut();
        if t > s.now {
            s.now = t;
        }
        delivered
    }

    fn recv(&self, ep: EndpointId, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        let mut s = self.0.borrow_mut();
        let e = &mut s.endpoints[ep.0];
        if !e.attached {
            return Err(SimError::Detached);
        }
        match e.inbox.pop_front() {
            Some(f) => {
                let n = f.len().min(buf.len());
                buf[..n].copy_from_slice(&f[..n]);
                s.spare.push(f);
                Ok(Some(n))
            }
            None => Ok(None),
        }
    }

    /// Whether an endpoint has frames waiting.
    pub fn has_input(&self, ep: EndpointId) -> bool {
        !self.0.borrow().endpoints[ep.0].inbox.is_empty()
    }

    fn send(&self, ep: EndpointId, frame: &[u8]) -> Result<SendStatus, SimError> {
        let mut guard = self.0.borrow_mut();
        let s = &mut *guard;
        let e = &s.endpoints[ep.0];
        if !e.attached {
            return Err(SimError::Detached);
        }
        let now = s.now;
        let g = &mut s.segments[e.segment];
        g.stats.sent += 1;
        if s.capture {
            capture(g, ep.0, now, frame);
        }
        if s.trace_frames {
            let line = std::format!(
                "{} {}: {} > {}",
                stamp(now),
                g.name,
                e.name,
                summary::summarize(g.framing, frame)
            );
            s.transcript.push(line);
        }
        if !g.up {
            g.stats.dropped += 1;
            return Ok(SendStatus::Sent);
        }
        let mut targets: [usize; 8] = [0; 8];
        let mut many: Vec<usize> = Vec::new();
        let mut n = 0;
        let mut push = |t: usize| {
            if n < targets.len() {
                targets[n] = t;
            } else {
                if many.is_empty() {
                    many.extend_from_slice(&targets);
                }
                many.push(t);
            }
            n += 1;
        };
        match &mut g.carrier {
            Carrier::Wire | Carrier::Hub => {
                for &t in &g.endpoints {
                    if t != ep.0 && s.endpoints[t].attached {
                        push(t);
                    }
                }
            }
            Carrier::Switch(sw) => {
                let me = switch::PortId(port_of(&g.endpoints, ep.0));
                let when = umlnet_core::time::Instant::from_millis((now - EPOCH).total_millis());
                match sw.forward(me, frame, when) {
                    Verdict::Drop(_) => g.stats.dropped += 1,
                    Verdict::Unicast(p) => {
                        if let Some(&t) = g.endpoints.get(usize::from(p.0)) {
                            push(t);
                        }
                    }
                    Verdict::Flood { except } => {
                        for (i, &t) in g.endpoints.iter().enumerate() {
                            if i != usize::from(except.0) && s.endpoints[t].attached {
                                push(t);
                            }
                        }
                    }
                }
            }
        }
        let list: &[usize] = if many.is_empty() {
            &targets[..n]
        } else {
            &many
        };
        let faults = g.faults;
        let latency = g.latency;
        let framing = g.framing;
        let seg = e.segment;
        for &to in list {
            if !faults.any() {
                let mut copy = s.spare.pop().unwrap_or_default();
                copy.clear();
                copy.extend_from_slice(frame);
                let seq = s.seq;
                s.seq += 1;
                s.events
                    .insert((now + latency, seq), Event::Deliver { to, frame: copy });
                continue;
            }
            let rng = &mut s.rng;
            let g = &mut s.segments[seg];
            if rng.chance(faults.loss) {
                g.stats.lost += 1;
                if s.trace_frames {
                    let line = std::format!(
                        "{} {}: fault: lost to {}",
                        stamp(now),
                        g.name,
                        s.endpoints[to].name
                    );
                    s.transcript.push(line);
                }
                continue;
            }
            let mut at = now + latency;
            let mut what = String::new();
            if rng.chance(faults.reorder) {
                g.stats.reordered += 1;
                at += latency * (1 + rng.below(4) as u32);
                what.push_str(" held back");
            }
            if rng.chance(faults.delay) {
                g.stats.delayed += 1;
                at += Duration::from_micros(rng.below(faults.max_delay.total_micros() + 1));
                what.push_str(" delayed");
            }
            let mut copy = frame.to_vec();
            if rng.chance(faults.corrupt) && corrupt(framing, &mut copy, rng) {
                g.stats.corrupted += 1;
                what.push_str(" corrupted");
                s.corruptions.push(Corruption {
                    segment: SegmentId(seg),
                    to: EndpointId(to),
                    bytes: copy.clone(),
                });
            }
            let dup = rng.chance(faults.duplicate);
            if dup {
                g.stats.duplicated += 1;
                what.push_str(" duplicated");
            }
            if s.trace_frames && !what.is_empty() {
                let line = std::format!(
                    "{} {}: fault:{what} to {} (due {})",
                    stamp(now),
                    g.name,
                    s.endpoints[to].name,
                    stamp(at)
                );
                s.transcript.push(line);
            }
            if dup {
                let seq = s.seq;
                s.seq += 1;
                s.events.insert(
                    (at + latency / 2, seq),
                    Event::Deliver {
                        to,
                        frame: copy.clone(),
                    },
                );
            }
            let seq = s.seq;
            s.seq += 1;
            s.events
                .insert((at, seq), Event::Deliver { to, frame: copy });
        }
        Ok(SendStatus::Sent)
    }
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

fn capture(g: &mut Segment, from: usize, now: Instant, frame: &[u8]) {
    let micros = (now - Instant::ZERO).total_micros();
    match g.framing {
        Framing::Ethernet => g.pcap.record(micros, frame),
        Framing::Ethertap => {
            if let Ok(f) = umlnet_core::ethernet::strip_ethertap(frame) {
                g.pcap.record(micros, f);
            }
        }
        Framing::Slip => {
            let dec = g
                .capture
                .entry(from)
                .or_insert_with(|| slip::Decoder::new(vec![0; MTU]));
            let pcap = &mut g.pcap;
            dec.decode(frame, |r| {
                if let Ok(p) = r {
                    pcap.record(micros, p);
                }
            });
        }
    }
}

/// Flips one bit where a checksum covers it (see [`Faults::corrupt`]); false when the
/// frame has no such place.
fn corrupt(framing: Framing, frame: &mut [u8], rng: &mut Rng) -> bool {
    let range = match framing {
        Framing::Ethernet => ipv4_range(frame, 0),
        Framing::Ethertap => ipv4_range(frame, 2),
        Framing::Slip if frame.len() > 2 => Some(1..frame.len() - 1),
        Framing::Slip => None,
    };
    let Some(range) = range.filter(|r| !r.is_empty()) else {
        return false;
    };
    let i = range.start + rng.below(range.len() as u64) as usize;
    let bit = rng.below(8) as u8;
    frame[i] ^= 1 << bit;
    if framing == Framing::Slip && (frame[i] == slip::END || frame[i] == slip::ESC) {
        // Keep the framing intact; the checksums are what is being tested.
        frame[i] ^= 1 << bit;
        frame[i] ^= 1 << ((bit + 1) % 8);
        if frame[i] == slip::END || frame[i] == slip::ESC {
            frame[i] ^= 1 << ((bit + 1) % 8);
            return false;
        }
    }
    true
}

/// The bytes of the IPv4 packet in an Ethernet frame at `off`.
fn ipv4_range(frame: &[u8], off: usize) -> Option<core::ops::Range<usize>> {
    let eth = frame.get(off..)?;
    if eth.len() < 34 || eth[12..14] != [0x08, 0x00] {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([eth[16], eth[17]]));
    let end = (off + 14 + total).min(frame.len());
    Some(off + 14..end)
}

/// One endpoint's [`Link`]: raw datagrams (Ethernet frames on Ethernet segments).
#[derive(Debug)]
pub struct SimPort {
    net: Net,
    id: EndpointId,
}

impl SimPort {
    /// Which endpoint.
    pub fn id(&self) -> EndpointId {
        self.id
    }

    /// The wires it is on.
    pub fn net(&self) -> &Net {
        &self.net
    }
}

impl Link for SimPort {
    type Error = SimError;
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        self.net.recv(self.id, buf)
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, SimError> {
        self.net.send(self.id, frame)
    }
}

/// Ethertap framing over an endpoint: Ethernet frames behind the 2-byte prefix that
/// the kernel's ethertap transport and the helper's socket pair use.
#[derive(Debug)]
pub struct EthertapLink {
    port: SimPort,
    buf: Vec<u8>,
}

impl EthertapLink {
    /// Ethertap framing over `port`.
    pub fn new(port: SimPort) -> Self {
        EthertapLink {
            port,
            buf: vec![0; MTU + 14 + 2],
        }
    }

    /// The endpoint underneath.
    pub fn port(&self) -> &SimPort {
        &self.port
    }
}

impl Link for EthertapLink {
    type Error = SimError;
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        loop {
            let Some(n) = self.port.recv(&mut self.buf)? else {
                return Ok(None);
            };
            // A datagram too short for the prefix and a header is dropped, as the
            // kernel's ethertap reader drops it.
            if let Ok(frame) = umlnet_core::ethernet::strip_ethertap(&self.buf[..n]) {
                let m = frame.len().min(buf.len());
                buf[..m].copy_from_slice(&frame[..m]);
                return Ok(Some(m));
            }
        }
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, SimError> {
        let mut out = vec![0u8; frame.len() + umlnet_core::ethernet::ETHERTAP_PREFIX_LEN];
        match umlnet_core::ethernet::prefix_ethertap(frame, &mut out) {
            Ok(n) => self.port.send(&out[..n]),
            // A frame shorter than an Ethernet header cannot be framed: not sent.
            Err(_) => Ok(SendStatus::Sent),
        }
    }
}

/// A SLIP line over an endpoint: IP packets out are SLIP-encoded with the core codec,
/// bytes in are fed to its streaming decoder.
#[derive(Debug)]
pub struct SlipLink {
    port: SimPort,
    decoder: slip::Decoder<Vec<u8>>,
    ready: VecDeque<Vec<u8>>,
    chunk: Vec<u8>,
    /// Frames the decoder refused (bad escape, oversize).
    pub decode_errors: u64,
}

impl SlipLink {
    /// A SLIP line over `port`.
    pub fn new(port: SimPort) -> Self {
        SlipLink {
            port,
            decoder: slip::Decoder::new(vec![0; MTU]),
            ready: VecDeque::new(),
            chunk: vec![0; slip::max_encoded_len(MTU)],
            decode_errors: 0,
        }
    }

    /// The endpoint underneath.
    pub fn port(&self) -> &SimPort {
        &self.port
    }
}

impl Link for SlipLink {
    type Error = SimError;
    fn medium(&self) -> Medium {
        Medium::Ip
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        while self.ready.is_empty() {
            let Some(n) = self.port.recv(&mut self.chunk)? else {
                return Ok(None);
            };
            let SlipLink {
                decoder,
                ready,
                chunk,
                decode_errors,
                ..
            } = self;
            decoder.decode(&chunk[..n], |r| match r {
                Ok(p) => ready.push_back(p.to_vec()),
                Err(_) => *decode_errors += 1,
            });
        }
        let p = self.ready.pop_front().unwrap_or_default();
        let m = p.len().min(buf.len());
        buf[..m].copy_from_slice(&p[..m]);
        Ok(Some(m))
    }
    fn send(&mut self, packet: &[u8]) -> Result<SendStatus, SimError> {
        let mut out = vec![0u8; slip::max_encoded_len(packet.len())];
        match slip::encode(packet, &mut out) {
            Ok(n) => self.port.send(&out[..n]),
            Err(_) => Ok(SendStatus::Full),
        }
    }
}

/// Any of the simulator's links, so that one guest or host type serves every
/// transport.
#[derive(Debug)]
pub enum SimLink {
    /// Plain Ethernet datagrams (tuntap, mcast, daemon).
    Port(SimPort),
    /// Ethertap framing.
    Ethertap(EthertapLink),
    /// A SLIP line.
    Slip(SlipLink),
}

impl SimLink {
    /// The endpoint underneath.
    pub fn endpoint(&self) -> EndpointId {
        match self {
            SimLink::Port(p) => p.id,
            SimLink::Ethertap(e) => e.port.id,
            SimLink::Slip(s) => s.port.id,
        }
    }
}

impl Link for SimLink {
    type Error = SimError;
    fn medium(&self) -> Medium {
        match self {
            SimLink::Port(p) => p.medium(),
            SimLink::Ethertap(e) => e.medium(),
            SimLink::Slip(s) => s.medium(),
        }
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        match self {
            SimLink::Port(p) => p.recv(buf),
            SimLink::Ethertap(e) => e.recv(buf),
            SimLink::Slip(s) => s.recv(buf),
        }
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, SimError> {
        match self {
            SimLink::Port(p) => p.send(frame),
            SimLink::Ethertap(e) => e.send(frame),
            SimLink::Slip(s) => s.send(frame),
        }
    }
}

/// A locally administered unicast MAC drawn from `rng` (as Linux gives a new tap).
pub fn random_mac(rng: &mut Rng) -> MacAddr {
    let r = rng.next_u64().to_le_bytes();
    MacAddr([(r[0] & 0xfe) | 0x02, r[1], r[2], r[3], r[4], r[5]])
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    const LAT: Duration = Duration::from_micros(100);

    fn eth(dst: u8, src: u8, tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dst]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src]);
        f[12..14].copy_from_slice(&[0x88, 0xb5]);
        f[14] = tag;
        f
    }

    fn drain(p: &mut SimPort) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Some(n) = p.recv(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
        out
    }

    fn run_all(net: &Net) {
        while let Some(t) = net.next_event() {
            net.advance_to(t);
        }
    }

    #[test]
    fn wire_delivers_after_latency_in_order() {
        let net = Net::new(0);
        let w = net.add_segment("w", SegmentKind::Wire, Framing::Ethernet, LAT);
        let mut a = net.attach(w, "a");
        let mut b = net.attach(w, "b");
        for i in 0..3 {
            a.send(&eth(2, 1, i)).unwrap();
        }
        net.advance_to(EPOCH + Duration::from_micros(99));
        assert!(drain(&mut b).is_empty());
        net.advance_to(EPOCH + LAT);
        let got = drain(&mut b);
        assert_eq!(got.iter().map(|f| f[14]).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(drain(&mut a).is_empty(), "a frame came back to its sender");
        assert_eq!(net.pcap(w).frames(), 3);
        assert_eq!(net.stats(w).delivered, 3);
    }

    #[test]
    fn switch_learns_floods_and_forgets_a_detached_port() {
        let net = Net::new(0);
        let s = net.add_segment(
            "sw",
            SegmentKind::Switch { hub: false },
            Framing::Ethernet,
            LAT,
        );
        let mut a = net.attach(s, "a");
        let mut b = net.attach(s, "b");
        let mut c = net.attach(s, "c");
        a.send(&eth(2, 1, 0)).unwrap(); // b unknown: flood
        run_all(&net);
        assert_eq!((drain(&mut b).len(), drain(&mut c).len()), (1, 1));
        b.send(&eth(1, 2, 0)).unwrap(); // a learned: unicast
        run_all(&net);
        assert_eq!((drain(&mut a).len(), drain(&mut c).len()), (1, 0));
        a.send(&eth(2, 1, 0)).unwrap(); // b learned now
        run_all(&net);
        assert_eq!((drain(&mut b).len(), drain(&mut c).len()), (1, 0));
        net.detach(b.id());
        assert!(b.send(&eth(1, 2, 0)).is_err());
        a.send(&eth(2, 1, 0)).unwrap(); // b forgotten: flood to c
        run_all(&net);
        assert_eq!(drain(&mut c).len(), 1);
        net.set_hub(s, true);
        c.send(&eth(1, 3, 0)).unwrap();
        run_all(&net);
        assert_eq!(drain(&mut a).len(), 1);
    }

    #[test]
    fn restart_empties_the_table_and_down_drops() {
        let net = Net::new(0);
        let s = net.add_segment(
            "sw",
            SegmentKind::Switch { hub: false },
            Framing::Ethernet,
            LAT,
        );
        let mut a = net.attach(s, "a");
        let mut b = net.attach(s, "b");
        let mut c = net.attach(s, "c");
        b.send(&eth(1, 2, 0)).unwrap();
        run_all(&net);
        drain(&mut a);
        drain(&mut c);
        net.schedule_restart(s, net.now() + LAT);
        run_all(&net);
        a.send(&eth(2, 1, 0)).unwrap(); // b forgotten by the restart: flood
        run_all(&net);
        assert_eq!(drain(&mut c).len(), 1);
        assert_eq!(drain(&mut b).len(), 1);
        let t = net.now();
        net.schedule_down(s, t + LAT);
        net.schedule_up(s, t + LAT * 10);
        net.advance_to(t + LAT * 2);
        a.send(&eth(2, 1, 1)).unwrap();
        run_all(&net);
        assert!(drain(&mut b).is_empty());
        a.send(&eth(2, 1, 2)).unwrap();
        run_all(&net);
        assert_eq!(drain(&mut b).len(), 1);
        let t = net.transcript();
        assert!(
            t.contains("sw: switch restarted")
                && t.contains("sw: link down")
                && t.contains("sw: link up")
        );
    }

    #[test]
    fn ethertap_and_slip_framing_round_trip() {
        let net = Net::new(0);
        let w = net.add_segment("tap0", SegmentKind::Wire, Framing::Ethertap, LAT);
        let mut a = EthertapLink::new(net.attach(w, "a"));
        let mut raw = net.attach(w, "raw");
        a.send(&eth(2, 1, 7)).unwrap();
        run_all(&net);
        let got = drain(&mut raw);
        assert_eq!(got[0][..2], [0, 0]);
        assert_eq!(got[0][2..], eth(2, 1, 7)[..]);
        raw.send(&got[0]).unwrap();
        run_all(&net);
        let mut buf = [0u8; 2048];
        assert_eq!(a.recv(&mut buf).unwrap(), Some(60));
        assert_eq!(buf[..60], eth(2, 1, 7)[..]);

        let l = net.add_segment("sl0", SegmentKind::Wire, Framing::Slip, LAT);
        let mut x = SlipLink::new(net.attach(l, "x"));
        let mut y = SlipLink::new(net.attach(l, "y"));
        let packet = [0x45, slip::END, slip::ESC, 1, 2, 3];
        x.send(&packet).unwrap();
        x.send(&[9; 40]).unwrap();
        run_all(&net);
        assert_eq!(y.recv(&mut buf).unwrap(), Some(6));
        assert_eq!(buf[..6], packet);
        assert_eq!(y.recv(&mut buf).unwrap(), Some(40));
        assert_eq!(y.recv(&mut buf).unwrap(), None);
        assert_eq!(y.medium(), Medium::Ip);
        assert_eq!(net.pcap(l).frames(), 2);
    }

    proptest! {
        #[test]
        fn faults_never_invent_frames(seed in any::<u64>(), loss in 0u32..500_000,
                                      dup in 0u32..500_000, reorder in 0u32..500_000,
                                      n in 1usize..60) {
            let net = Net::new(seed);
            let w = net.add_segment("w", SegmentKind::Wire, Framing::Ethernet, LAT);
            net.set_faults(w, Faults { loss, duplicate: dup, reorder, ..Faults::NONE });
            let mut a = net.attach(w, "a");
            let mut b = net.attach(w, "b");
            for i in 0..n {
                a.send(&eth(2, 1, i as u8)).unwrap();
            }
            run_all(&net);
            let got = drain(&mut b);
            let st = net.stats(w);
            // Every copy is one that was sent, at most twice, and the counters add up.
            let mut seen = vec![0u32; n];
            for f in &got {
                prop_assert_eq!(&f[..14], &eth(2, 1, 0)[..14]);
                seen[usize::from(f[14])] += 1;
            }
            prop_assert!(seen.iter().all(|&c| c <= 2));
            prop_assert_eq!(got.len() as u64, n as u64 - st.lost + st.duplicated);
            // Without reordering or delay, what arrives keeps its order.
            if reorder == 0 {
                let tags: Vec<u8> = got.iter().map(|f| f[14]).collect();
                prop_assert!(tags.windows(2).all(|w| w[0] <= w[1]));
            }
        }

        #[test]
        fn same_seed_same_fates(seed in any::<u64>()) {
            let fates = |seed| {
                let net = Net::new(seed);
                let w = net.add_segment("w", SegmentKind::Wire, Framing::Ethernet, LAT);
                net.set_faults(w, Faults { loss: 300_000, duplicate: 200_000, reorder: 200_000,
                    delay: 200_000, max_delay: Duration::from_millis(1), corrupt: 100_000 });
                let mut a = net.attach(w, "a");
                let mut b = net.attach(w, "b");
                for i in 0..40u8 {
                    let mut f = eth(2, 1, i);
                    f[12..14].copy_from_slice(&[0x08, 0x00]);
                    f[16..18].copy_from_slice(&46u16.to_be_bytes());
                    a.send(&f).unwrap();
                }
                run_all(&net);
                (drain(&mut b), net.transcript())
            };
            prop_assert_eq!(fates(seed), fates(seed));
        }
    }
}
