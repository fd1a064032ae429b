//! Test-only in-memory segments: a hub of N ports with a fixed latency, on a shared
//! virtual clock, recording every frame so tests can look at the wire.

use core::cell::{Cell, RefCell};
use smoltcp::time::{Duration, Instant};
use std::collections::VecDeque;
use std::rc::Rc;
use std::vec::Vec;
use umlnet_core::link::{Link, Medium, SendStatus};

/// The virtual clock shared by wires and the test loop.
pub type Clock = Rc<Cell<Instant>>;

#[derive(Debug)]
struct Bus {
    queues: Vec<VecDeque<(Instant, Vec<u8>)>>,
    /// Every frame sent, with the sending port.
    log: Vec<(usize, Vec<u8>)>,
}

/// One segment (a hub): what any port sends, every other port receives after `latency`.
#[derive(Debug, Clone)]
pub struct Segment {
    bus: Rc<RefCell<Bus>>,
    clock: Clock,
    latency: Duration,
    medium: Medium,
}

/// Queue depth per port before [`SendStatus::Full`].
const DEPTH: usize = 512;

impl Segment {
    pub fn new(clock: &Clock, latency: Duration, medium: Medium) -> Self {
        Segment {
            bus: Rc::new(RefCell::new(Bus {
                queues: Vec::new(),
                log: Vec::new(),
            })),
            clock: clock.clone(),
            latency,
            medium,
        }
    }

    /// A new port on the segment.
    pub fn port(&self) -> Port {
        let mut bus = self.bus.borrow_mut();
        bus.queues.push(VecDeque::new());
        Port {
            seg: self.clone(),
            id: bus.queues.len() - 1,
        }
    }

    /// Frames sent so far, with their sender port.
    pub fn log(&self) -> Vec<(usize, Vec<u8>)> {
        self.bus.borrow().log.clone()
    }

    pub fn clear_log(&self) {
        self.bus.borrow_mut().log.clear();
    }

    /// When the next queued frame becomes deliverable.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.bus
            .borrow()
            .queues
            .iter()
            .filter_map(|q| q.front().map(|f| f.0))
            .min()
    }
}

/// One end of a [`Segment`].
#[derive(Debug)]
pub struct Port {
    seg: Segment,
    id: usize,
}

impl Link for Port {
    type Error = core::convert::Infallible;
    fn medium(&self) -> Medium {
        self.seg.medium
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        let now = self.seg.clock.get();
        let mut bus = self.seg.bus.borrow_mut();
        let q = &mut bus.queues[self.id];
        match q.front() {
            Some((at, _)) if *at <= now => {
                let (_, f) = q.pop_front().expect("front exists");
                let n = f.len().min(buf.len());
                buf[..n].copy_from_slice(&f[..n]);
                Ok(Some(n))
            }
            _ => Ok(None),
        }
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        let at = self.seg.clock.get() + self.seg.latency;
        let mut bus = self.seg.bus.borrow_mut();
        if bus
            .queues
            .iter()
            .enumerate()
            .any(|(i, q)| i != self.id && q.len() >= DEPTH)
        {
            return Ok(SendStatus::Full);
        }
        for (i, q) in bus.queues.iter_mut().enumerate() {
            if i != self.id {
                q.push_back((at, frame.to_vec()));
            }
        }
        bus.log.push((self.id, frame.to_vec()));
        Ok(SendStatus::Sent)
    }
}
