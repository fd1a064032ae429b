//! Scenario tests: guests on in-memory segments under a virtual clock. This module holds
//! the small world they run in; the cases are in its submodules, by subject.

mod devices;
mod mac;
mod ping;
mod route;
mod tcp;
pub(crate) mod wire;

use crate::shell::{CommandOutput, Run};
use crate::{Buffers, Guest};
use core::cell::Cell;
use core::net::Ipv4Addr;
use smoltcp::time::{Duration, Instant};
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;
use umlnet_core::link::Medium;
use umlnet_core::mac::MacAddr;
use wire::{Clock, Port, Segment};

/// One-way latency of every test segment: a ping round trip takes 0.500 ms.
const LATENCY: Duration = Duration::from_micros(250);

struct World {
    clock: Clock,
    guests: Vec<Guest<Port>>,
    segments: Vec<Segment>,
}

impl World {
    fn new(guests: usize) -> Self {
        Self::with_buffers(guests, Buffers::HOST)
    }

    fn with_buffers(guests: usize, buffers: Buffers) -> Self {
        let clock: Clock = Rc::new(Cell::new(Instant::from_secs(1000)));
        let guests = (0..guests)
            .map(|i| Guest::with_buffers(0x5eed + i as u64, clock.get(), buffers))
            .collect();
        World {
            clock,
            guests,
            segments: Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        self.clock.get()
    }

    fn segment(&mut self, medium: Medium) -> usize {
        self.segments
            .push(Segment::new(&self.clock, LATENCY, medium));
        self.segments.len() - 1
    }

    /// Plugs `eth<index>` of guest `g` into segment `s`.
    fn plug(&mut self, g: usize, index: u32, s: usize, mac: Option<MacAddr>) {
        let port = self.segments[s].port();
        self.guests[g].add_interface(index, port, mac).unwrap();
    }

    fn settle(&mut self) {
        let now = self.now();
        for _ in 0..1000 {
            let mut any = false;
            for g in &mut self.guests {
                any |= g.poll(now);
            }
            if !any {
                return;
            }
        }
        panic!("guests never settled");
    }

    /// Runs the world until `until`, jumping from event to event.
    fn advance_to(&mut self, until: Instant) {
        loop {
            self.settle();
            let now = self.now();
            let mut next = self.segments.iter().filter_map(|s| s.next_delivery()).min();
            for g in &mut self.guests {
                if let Some(t) = g.poll_at(now) {
                    next = Some(next.map_or(t, |n: Instant| n.min(t)));
                }
            }
            let next = next.map_or(until, |t| t.max(now + Duration::from_micros(10)));
            if next >= until {
                self.clock.set(until);
                self.settle();
                return;
            }
            self.clock.set(next);
        }
    }

    fn advance(&mut self, d: Duration) {
        let until = self.now() + d;
        self.advance_to(until);
    }

    fn run(&mut self, g: usize, line: &str) -> CommandOutput {
        let now = self.now();
        match self.guests[g].run(line, now) {
            Run::Done(out) => {
                self.settle();
                out
            }
            Run::Started(job) => {
                let limit = self.now() + Duration::from_secs(120);
                while !self.guests[g].job_finished(job) {
                    assert!(self.now() < limit, "{line} never finished");
                    let step = self.now() + Duration::from_millis(100);
                    self.advance_to(step);
                }
                self.guests[g].take_job(job).unwrap()
            }
        }
    }

    fn ok(&mut self, g: usize, line: &str) -> String {
        let out = self.run(g, line);
        assert_eq!(out.status, 0, "{line}: {}", out.text);
        out.text
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Two guests on one Ethernet segment (like two UMLs on `eth0=mcast`).
fn two_on_a_segment() -> World {
    let mut w = World::new(2);
    let s = w.segment(Medium::Ethernet);
    w.plug(0, 0, s, None);
    w.plug(1, 0, s, None);
    w
}
