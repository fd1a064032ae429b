//! Port storage ([`PortSlot`]) with its raw counters, and why a port operation fails
//! ([`PortError`]).

use core::fmt;

use super::table::NIL;
use super::{Drops, PortId};

/// Why a port operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PortError {
    /// The id is beyond the switch's port slots.
    OutOfRange {
        /// The rejected id.
        port: PortId,
        /// How many port slots the switch has (valid ids are `0..slots`).
        slots: usize,
    },
    /// [`Switch::add_port`](super::Switch::add_port) of a port that is already attached.
    AlreadyAttached(PortId),
    /// [`Switch::remove_port`](super::Switch::remove_port) of a port that is not attached.
    NotAttached(PortId),
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::OutOfRange { port, slots } => write!(
                f,
                "{port} is out of range: this switch has {slots} port slots (ids 0..{slots}); \
                 give it more port storage or reuse a free id"
            ),
            PortError::AlreadyAttached(port) => {
                write!(
                    f,
                    "{port} is already attached; remove it first or use a free id"
                )
            }
            PortError::NotAttached(port) => write!(f, "{port} is not attached to the switch"),
        }
    }
}

/// Raw per-port counters; transmit counts of floods are derived lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct PortCounters {
    pub(super) rx_frames: u64,
    pub(super) rx_bytes: u64,
    pub(super) unicast_tx_frames: u64,
    pub(super) unicast_tx_bytes: u64,
    pub(super) tx_errors: u64,
    /// Switch-wide flood counters when the port was added.
    pub(super) flood_base_frames: u64,
    pub(super) flood_base_bytes: u64,
    /// Floods that this port originated (it does not receive those).
    pub(super) own_flood_frames: u64,
    pub(super) own_flood_bytes: u64,
    pub(super) drops: Drops,
}

/// One slot of port storage. Create storage with [`PortSlot::EMPTY`]; the contents are
/// private to the switch. Slot `i` serves [`PortId`]`(i)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PortSlot {
    /// Whether port `<this index>` is attached.
    pub(super) attached: bool,
    /// Entry number `<this index>` of the dense list of attached ports (independent of
    /// this slot's port).
    pub(super) member: u16,
    /// Where this port sits in the dense list.
    pub(super) dense_pos: u16,
    /// Addresses learned on this port.
    pub(super) learned: u32,
    /// The address on this port seen most recently (head of the port's list).
    pub(super) first: u32,
    /// The address on this port seen longest ago (evicted first from this port).
    pub(super) last: u32,
    /// Entry number `<this index>` of the ports ranked by addresses held (independent
    /// of this slot's port; see `usage.rs`).
    pub(super) by_usage: u16,
    /// Where this port sits in that ranking.
    pub(super) usage_pos: u16,
    pub(super) counters: PortCounters,
}

impl PortSlot {
    /// An unused slot.
    pub const EMPTY: PortSlot = PortSlot {
        attached: false,
        member: 0,
        dense_pos: 0,
        learned: 0,
        first: NIL,
        last: NIL,
        by_usage: 0,
        usage_pos: 0,
        counters: PortCounters {
            rx_frames: 0,
            rx_bytes: 0,
            unicast_tx_frames: 0,
            unicast_tx_bytes: 0,
            tx_errors: 0,
            flood_base_frames: 0,
            flood_base_bytes: 0,
            own_flood_frames: 0,
            own_flood_bytes: 0,
            drops: Drops {
                runt: 0,
                oversize: 0,
                reflected: 0,
                unknown_port: 0,
            },
        },
    };
}

impl Default for PortSlot {
    fn default() -> Self {
        PortSlot::EMPTY
    }
}
