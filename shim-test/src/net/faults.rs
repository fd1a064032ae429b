//! The faults a segment injects ([`Faults`]), the record of each corrupted copy
//! ([`Corruption`]), and where in a frame a bit may be flipped.

use super::{EndpointId, Framing, SegmentId};
use crate::rng::Rng;
use smoltcp::time::Duration;
use std::vec::Vec;
use umlnet_core::slip;

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

/// Flips one bit where a checksum covers it (see [`Faults::corrupt`]); false when the
/// frame has no such place.
pub(super) fn corrupt(framing: Framing, frame: &mut [u8], rng: &mut Rng) -> bool {
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
