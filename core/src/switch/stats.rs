//! The switch's counters: per drop reason ([`Drops`]), switch-wide ([`SwitchStats`]) and
//! per port ([`PortStats`]).

use super::DropReason;

/// Per-reason drop counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Drops {
    /// Frames shorter than [`MIN_FRAME_LEN`](super::MIN_FRAME_LEN).
    pub runt: u64,
    /// Frames longer than the maximum frame length.
    pub oversize: u64,
    /// Frames whose destination is on their ingress port.
    pub reflected: u64,
    /// Frames from a port that is not attached (switch-wide counter only).
    pub unknown_port: u64,
}

impl Drops {
    /// The counter for `reason`.
    pub const fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Runt => self.runt,
            DropReason::Oversize => self.oversize,
            DropReason::Reflected => self.reflected,
            DropReason::UnknownPort => self.unknown_port,
        }
    }

    /// All drops together.
    pub const fn total(&self) -> u64 {
        self.runt + self.oversize + self.reflected + self.unknown_port
    }

    pub(super) fn count(&mut self, reason: DropReason) {
        let c = match reason {
            DropReason::Runt => &mut self.runt,
            DropReason::Oversize => &mut self.oversize,
            DropReason::Reflected => &mut self.reflected,
            DropReason::UnknownPort => &mut self.unknown_port,
        };
        *c += 1;
    }
}

/// Switch-wide counters (they survive port removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SwitchStats {
    /// Frames handed to [`Switch::forward`](super::Switch::forward), including dropped ones.
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Frames sent to one port.
    pub unicast_frames: u64,
    /// Bytes of those frames.
    pub unicast_bytes: u64,
    /// Frames flooded (group destination, unknown destination, or hub mode).
    pub flooded_frames: u64,
    /// Bytes of those frames.
    pub flooded_bytes: u64,
    /// Of the flooded frames, those flooded because their unicast destination was unknown.
    pub unknown_unicast_frames: u64,
    /// Dropped frames by reason.
    pub drops: Drops,
    /// Addresses newly learned.
    pub learned: u64,
    /// Addresses that moved from one port to another.
    pub moved: u64,
    /// Addresses evicted to make room: a port's own seen longest ago at its limit, or
    /// in a full table that of the port holding the most.
    pub evicted: u64,
    /// Addresses forgotten because they were not seen for the ageing time.
    pub aged: u64,
    /// Addresses forgotten because their port was removed.
    pub purged: u64,
}

/// Counters of one port (reset when the port is added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PortStats {
    /// Frames received on the port, including dropped ones.
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Frames the switch sent (unicast or flood) to the port, counted when the verdict
    /// is given.
    pub tx_frames: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Sends to the port that the caller reported as failed ([`Switch::record_tx_error`](super::Switch::record_tx_error)).
    pub tx_errors: u64,
    /// Frames received on the port that were flooded.
    pub flooded_frames: u64,
    /// Frames received on the port and dropped, by reason.
    pub drops: Drops,
    /// Addresses currently learned on the port.
    pub learned: usize,
}
