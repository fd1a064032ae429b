//! The rows of the switch table: traffic patterns ([`Scenario`], [`SCENARIOS`]), the
//! frames the senders send, and the window of frames a sender may have in flight.

use std::time::Duration;

/// A traffic pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `n` independent sender→receiver pairs, unicast.
    Pairs(usize),
    /// One sender, broadcast frames, `n` receivers.
    Broadcast(usize),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Row label.
    pub name: &'static str,
    /// Traffic pattern.
    pub pattern: Pattern,
    /// Frame length in bytes.
    pub frame_len: usize,
    /// Frames per second per sender (`None`: as fast as the switch takes them). A paced
    /// row shows the loss when the receivers can keep up.
    pub rate: Option<u64>,
    /// At most this many frames per sender in flight (sent but not yet received by every
    /// receiver): the lossless throughput when the receivers share the generator's CPU.
    pub window: Option<u64>,
}

impl Scenario {
    /// Frames a sender hands over per `sendmmsg`: half the window in the throughput
    /// rows, a few in the paced and small-window ones.
    pub(crate) fn burst(&self) -> u64 {
        match (self.rate, self.window) {
            (_, Some(w)) if w >= 64 => 32,
            (_, Some(w)) => w.min(4),
            (Some(_), None) => 4,
            (None, None) => 32,
        }
    }

    /// The frame sender `i` sends: to its receiver, or to everybody.
    pub(crate) fn sender_frame(&self, i: usize) -> Vec<u8> {
        let dst = match self.pattern {
            Pattern::Pairs(_) => mac(2, i),
            Pattern::Broadcast(_) => [0xff; 6],
        };
        frame(dst, mac(1, i), self.frame_len)
    }
}

/// Frames a sender may have in flight (sent, not yet received by every receiver) in the
/// throughput rows. The generator's senders and receivers share one CPU, so an open-loop
/// sender that is cheaper per frame than its receivers outruns them and the row would
/// measure how the scheduler splits that CPU; with this window the senders wait for the
/// receivers, as a sender on a machine of its own would not need to. It is far above
/// what the round trip needs (about 15 frames at 300k frames/s and 50 µs), so it does
/// not cap the switch; frames lost anyway are written off after [`GIVE_UP`] without
/// arrivals.
pub const THROUGHPUT_WINDOW: u64 = 64;

/// How long a sender whose window is full waits with nothing arriving before it writes
/// off what it has in flight as lost.
pub const GIVE_UP: Duration = Duration::from_millis(2);

/// A sender's count of frames in flight, in deliveries (frames × receivers per frame):
/// sent, less what has arrived, less what was written off as lost. A frame a switch
/// drops never arrives; without the write-off every loss would shrink the window for
/// good, and a switch that loses a few dozen frames would be measured at the pace of
/// [`GIVE_UP`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InFlight {
    written_off: u64,
}

impl InFlight {
    /// Deliveries sent and not yet arrived or written off.
    pub(crate) fn count(&self, sent: u64, arrived: u64) -> u64 {
        sent.saturating_sub(arrived.saturating_add(self.written_off))
    }

    /// Nothing arrived for [`GIVE_UP`]: what is in flight is lost.
    pub(crate) fn write_off(&mut self, sent: u64, arrived: u64) {
        self.written_off += self.count(sent, arrived);
    }
}

/// The standard rows.
pub const SCENARIOS: [Scenario; 11] = [
    Scenario {
        name: "1->1 60B",
        pattern: Pattern::Pairs(1),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "1->1 1514B",
        pattern: Pattern::Pairs(1),
        frame_len: 1514,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "2->2 60B",
        pattern: Pattern::Pairs(2),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "2->2 1514B",
        pattern: Pattern::Pairs(2),
        frame_len: 1514,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "bcast->3 60B",
        pattern: Pattern::Broadcast(3),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "bcast->999 60B",
        pattern: Pattern::Broadcast(999),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "1->1 60B @20k/s",
        pattern: Pattern::Pairs(1),
        frame_len: 60,
        rate: Some(20_000),
        window: None,
    },
    Scenario {
        name: "2->2 1514B @10k/s",
        pattern: Pattern::Pairs(2),
        frame_len: 1514,
        rate: Some(10_000),
        window: None,
    },
    Scenario {
        name: "1->1 60B window 8",
        pattern: Pattern::Pairs(1),
        frame_len: 60,
        rate: None,
        window: Some(8),
    },
    Scenario {
        name: "2->2 1514B window 8",
        pattern: Pattern::Pairs(2),
        frame_len: 1514,
        rate: None,
        window: Some(8),
    },
    Scenario {
        name: "bcast->999 60B window 4",
        pattern: Pattern::Broadcast(999),
        frame_len: 60,
        rate: None,
        window: Some(4),
    },
];

/// The address of client `i` in `role` (1: senders, 2: receivers, 3: ping-pong).
pub(crate) fn mac(role: u8, i: usize) -> [u8; 6] {
    [0x02, 0xbe, role, 0, (i >> 8) as u8, i as u8]
}

/// A `len`-byte Ethernet frame from `src` to `dst` (EtherType 0x88b5, local experimental).
pub(crate) fn frame(dst: [u8; 6], src: [u8; 6], len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(14)];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f
}

/// The number of receivers, if `sc` is the wide broadcast row (sender windows as in the
/// throughput rows).
pub(crate) fn wide_broadcast(sc: &Scenario) -> Option<usize> {
    match sc.pattern {
        Pattern::Broadcast(n) if n > 100 && sc.window == Some(THROUGHPUT_WINDOW) => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn frames_a_switch_lost_do_not_shrink_the_window_for_good() {
        let limit = 32;
        let mut f = InFlight::default();
        // 100 sent, 60 arrived, 40 lost: over the limit until they are written off.
        assert_eq!(f.count(100, 60), 40);
        assert!(f.count(100, 60) > limit);
        f.write_off(100, 60);
        assert_eq!(f.count(100, 60), 0);
        // The next frames count from there: 32 more sent, none arrived, at the limit.
        assert_eq!(f.count(132, 60), 32);
        assert_eq!(f.count(132, 90), 2);
        // A written-off frame that turns up late only makes room, never a negative count.
        assert_eq!(f.count(132, 140), 0);
        // Writing off with nothing in flight writes off nothing.
        f.write_off(132, 100);
        assert_eq!(f.count(172, 100), 32);
    }
}
