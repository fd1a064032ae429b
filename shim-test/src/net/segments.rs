//! Building and inspecting the wires: a new [`Net`], the transcript, segments and
//! their endpoints, the switch of a switch segment, and scheduled link changes.

use super::{
    Carrier, Corruption, EPOCH, Endpoint, EndpointId, Event, Faults, Framing, Net, Segment,
    SegmentId, SegmentKind, SegmentStats, SimPort, SimSwitch, State, new_switch, port_of, stamp,
};
use crate::pcap::{LinkType, Pcap};
use crate::rng::Rng;
use core::cell::RefCell;
use smoltcp::time::{Duration, Instant};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;
use umlnet_core::switch;

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
    /// and gives its [`Link`](umlnet_core::link::Link).
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

    pub(super) fn schedule(&self, at: Instant, ev: Event) {
        let mut s = self.0.borrow_mut();
        let seq = s.seq;
        s.seq += 1;
        s.events.insert((at, seq), ev);
    }
}
