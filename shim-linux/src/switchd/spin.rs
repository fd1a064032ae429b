//! The busy-poll window: how long the event loop keeps polling without sleeping after
//! a frame ([`SpinPolicy`]), so that frames that come close together do not each pay
//! for a wake-up, and an idle or evenly paced switch sleeps.

/// After the last frame, the longest the loop keeps polling before it sleeps in
/// `epoll_wait` (about two average gaps between frames, none when they come more than
/// 40 µs apart; an idle switch sleeps).
pub const BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(50);
/// How long the loop polls without sleeping after the last frame, given the average
/// gap between frames that were not back to back: about two gaps, at least an eighth
/// of `max` and at most `max`; nothing when frames come more than `max * 4 / 5` apart.
/// Spinning then keeps round trips short and saves wake-ups while frames come close
/// together, and evenly paced traffic (say 20k frames/s, 50 µs apart) costs none.
fn spin_window(gap: std::time::Duration, max: std::time::Duration) -> std::time::Duration {
    if gap > max * 4 / 5 {
        std::time::Duration::ZERO
    } else {
        (gap * 2).clamp(max / 8, max)
    }
}

/// After this many quiet moments slept through without spinning (whose gaps cannot be
/// measured: the wake-up delay is in them), the switch looks again: it spins through
/// the next [`PROBE_LEN`] quiet moments in full and measures their gaps.
pub const PROBE_EVERY: u32 = 256;
/// Quiet moments spun through in full per look (a sender paced by delivery needs a few
/// round trips to speed up once the switch is awake).
pub const PROBE_LEN: u32 = 8;

/// Decides how long the event loop keeps polling without sleeping after a frame.
///
/// It learns how far apart frames come when they do not come back to back, from the
/// quiet moments it was awake for (an empty poll), so the gap it sees is the real one.
/// A quiet moment it sleeps through right away says nothing about the gap: the time
/// it measures then includes its own wake-up, and the sender may have waited for the
/// switch (a window of frames, paced by delivery), so sleeping would make the gaps
/// look longer and keep it asleep. After [`PROBE_EVERY`] of those it spins through a
/// few in full to look again. Evenly paced traffic 50 µs apart costs it about 3% of a
/// CPU in these looks.
#[derive(Debug, Clone)]
pub(super) struct SpinPolicy {
    /// The longest window.
    max: std::time::Duration,
    /// Average gap of the measured quiet moments.
    gap: std::time::Duration,
    /// The frame that ended the last quiet moment came back from the port the frame
    /// before it left by: a conversation (a ping, a request), whose next turn comes
    /// sooner if we are awake for it.
    reply: bool,
    /// An empty poll since the last frame: we were awake in this quiet moment.
    quiet: bool,
    /// A sleep since the last frame.
    slept: bool,
    /// Quiet moments slept through without measuring, since the last measured one.
    blind: u32,
    /// Quiet moments left to spin through in the current look.
    looking: u32,
}

impl SpinPolicy {
    pub(super) fn new(max: std::time::Duration) -> SpinPolicy {
        SpinPolicy {
            max,
            gap: max / 4,
            reply: false,
            quiet: false,
            slept: false,
            blind: 0,
            looking: 0,
        }
    }

    /// How long after the last frame to keep polling.
    pub(super) fn window(&self) -> std::time::Duration {
        if self.reply || self.looking > 0 {
            self.max
        } else {
            spin_window(self.gap, self.max)
        }
    }

    /// A wait returned nothing.
    pub(super) fn empty(&mut self) {
        self.quiet = true;
    }

    /// The loop is about to sleep.
    pub(super) fn sleeping(&mut self) {
        self.slept = true;
    }

    /// Frames came, `since` the frame before them; `reply` as in [`SpinPolicy::reply`].
    pub(super) fn frames(&mut self, since: std::time::Duration, reply: bool) {
        let quiet = std::mem::take(&mut self.quiet);
        if !std::mem::take(&mut self.slept) && !quiet {
            // Back to back: not the end of a quiet moment.
            return;
        }
        self.reply = reply;
        if quiet {
            // One long pause (an idle minute) says little about the next gaps.
            let sample = since.min(self.max * 2);
            self.gap = (self.gap * 3 + sample) / 4;
            self.blind = 0;
            self.looking = self.looking.saturating_sub(1);
        } else {
            self.blind += 1;
            if self.blind >= PROBE_EVERY {
                self.blind = 0;
                self.looking = PROBE_LEN;
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_switch_spins_only_while_frames_come_close_together() {
        let us = std::time::Duration::from_micros;
        let max = BUSY_POLL;
        // Evenly paced traffic 50 us apart (20k frames/s) or slower: no spinning.
        assert_eq!(spin_window(us(50), max), us(0));
        assert_eq!(spin_window(us(41), max), us(0));
        assert_eq!(spin_window(std::time::Duration::from_secs(1), max), us(0));
        // Closer together: about two gaps, at least max/8, at most max.
        assert_eq!(spin_window(us(20), max), us(40));
        assert_eq!(spin_window(us(1), max), max / 8);
        assert_eq!(spin_window(us(0), max), max / 8);
        assert_eq!(spin_window(us(40), max), max);
    }

    #[test]
    fn a_switch_that_fell_asleep_looks_again_and_spins_when_frames_come_close() {
        let us = std::time::Duration::from_micros;
        let mut p = SpinPolicy::new(BUSY_POLL);
        // Evenly paced frames 60 us apart, each seen after empty polls: it stops spinning.
        for _ in 0..20 {
            p.empty();
            p.frames(us(60), false);
        }
        assert_eq!(p.window(), us(0));
        // Asleep, it does not measure the gaps (the wake-up is in each), and after
        // PROBE_EVERY of them it looks again: PROBE_LEN quiet moments spun through.
        let sleep_until_look = |p: &mut SpinPolicy| {
            for _ in 0..PROBE_EVERY {
                assert_eq!(p.window(), us(0));
                p.sleeping();
                p.frames(us(90), false);
            }
        };
        sleep_until_look(&mut p);
        // Still 60 us apart while it looks: asleep again after the look.
        for _ in 0..PROBE_LEN {
            assert_eq!(p.window(), BUSY_POLL);
            p.empty();
            p.frames(us(60), false);
        }
        assert_eq!(p.window(), us(0));
        // A sender paced by delivery looks slow while the switch sleeps, and speeds
        // up when it is awake: the next look sees frames 20 us apart, and it spins.
        sleep_until_look(&mut p);
        for _ in 0..PROBE_LEN {
            assert_eq!(p.window(), BUSY_POLL);
            p.empty();
            p.frames(us(20), false);
        }
        // Spinning now, it measures every gap.
        for _ in 0..30 {
            assert!(p.window() > us(0));
            p.empty();
            p.frames(us(20), false);
        }
        assert_eq!(p.window().as_micros(), 40);
        // Frames back to back change nothing.
        p.frames(us(1), false);
        assert_eq!(p.window().as_micros(), 40);
        // A reply (a conversation) gets the whole window, even while asleep.
        let mut q = SpinPolicy::new(BUSY_POLL);
        for _ in 0..20 {
            q.empty();
            q.frames(us(60), false);
        }
        q.sleeping();
        q.frames(us(80), true);
        assert_eq!(q.window(), BUSY_POLL);
    }
}
