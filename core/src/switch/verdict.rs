//! What the switch decides for a frame: the [`Verdict`] (drop, unicast or flood) on
//! [`PortId`]s, and why a frame is dropped ([`DropReason`]).

use core::fmt;

/// A switch port, numbered by the caller (the daemon uses its own small integers).
///
/// A switch with `n` port slots accepts ids `0..n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PortId(pub u16);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port {}", self.0)
    }
}

/// Why a frame was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DropReason {
    /// Shorter than an Ethernet header ([`MIN_FRAME_LEN`](super::MIN_FRAME_LEN) bytes).
    Runt,
    /// Longer than the switch's maximum frame length.
    Oversize,
    /// Its destination was learned on the port it arrived on; sending it would reflect it.
    Reflected,
    /// It arrived on a port that is not registered with the switch.
    UnknownPort,
}

impl DropReason {
    /// Every reason, in a fixed order (for tables of counters).
    pub const ALL: [DropReason; 4] = [
        DropReason::Runt,
        DropReason::Oversize,
        DropReason::Reflected,
        DropReason::UnknownPort,
    ];
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Runt => "runt frame (shorter than the 14-byte Ethernet header)",
            DropReason::Oversize => {
                "oversize frame (longer than the switch's maximum frame length)"
            }
            DropReason::Reflected => "destination is on the ingress port (not sent back)",
            DropReason::UnknownPort => "frame from a port that is not attached to the switch",
        })
    }
}

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Verdict {
    /// Do not send it anywhere.
    Drop(DropReason),
    /// Send it to this one port (never the ingress port).
    Unicast(PortId),
    /// Send it to every port of [`Switch::ports`](super::Switch::ports) except `except` (the ingress port).
    Flood {
        /// The port the frame came in on.
        except: PortId,
    },
}
