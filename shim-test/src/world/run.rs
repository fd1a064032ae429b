//! Driving the world: settling everyone at the current time, and moving the virtual
//! clock from event to event ([`World::step`], [`World::run_for`], [`World::run_until`]).

use super::World;
use crate::net::stamp;
use smoltcp::time::{Duration, Instant};

impl World {
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
    pub(super) fn next_due(&mut self) -> Option<Instant> {
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
}
