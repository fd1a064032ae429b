//! The learning switch (and hub) behind `uml_switch` and the simulator.
//!
//! A [`Switch`] decides, for every Ethernet frame that arrives on a port, where it goes:
//! a [`Verdict`] of [`Unicast`](Verdict::Unicast) to one port,
//! [`Flood`](Verdict::Flood) to every port but the one it came in on, or
//! [`Drop`](Verdict::Drop) with a [`DropReason`]. It never moves bytes itself: the caller
//! owns the sockets and sends the frame where the verdict says.
//!
//! Contract:
//! * Ports are small integers ([`PortId`]) chosen by the caller and registered with
//!   [`Switch::add_port`] / [`Switch::remove_port`].
//! * Source addresses are learned into a hash table with ageing (default
//!   [`DEFAULT_AGEING`], 100 s as the original `uml_switch`). Time is an argument
//!   ([`Instant`], milliseconds); a clock that steps backwards is treated as standing still.
//! * Lookup, learning, ageing and eviction are O(1) (amortised) per frame: no allocation,
//!   no scan of the table or of the ports.
//! * The faults of the original are fixed: a frame is **never** sent back out of its
//!   ingress port (a frame whose destination was learned on the ingress port is dropped
//!   as [`DropReason::Reflected`]); closing a port forgets **every** address learned on
//!   it; a full table evicts its oldest entry; a source address with the group bit is
//!   never learned; an expired entry is never used (its destination floods again).
//! * Hub mode ([`Switch::set_hub`]) floods every frame; it can be switched at run time.
//! * A frame from a port that is not attached is dropped ([`DropReason::UnknownPort`]);
//!   the original flooded it to every port. Frames shorter than an Ethernet header are
//!   dropped ([`DropReason::Runt`]); the original forwarded them.
//! * Counters are kept per port ([`PortStats`]) and switch-wide ([`SwitchStats`]); a
//!   frame counts as transmitted when the verdict sends it to a port (the caller reports
//!   failed sends with [`Switch::record_tx_error`]). Flood transmit counts are derived
//!   lazily, so counting costs O(1) per frame however many ports there are.
//!
//! Storage is provided by the caller, so the same code serves a daemon with 64 Ki
//! addresses and thousands of ports (storage on the heap) and a tiny embedded switch
//! (storage in a `static`):
//!
//! ```
//! use umlnet_core::mac::MacAddr;
//! use umlnet_core::switch::{InlineSwitch, PortId, Verdict};
//! use umlnet_core::time::Instant;
//!
//! // 4 ports, 16 addresses, all inline (a daemon would pass `vec![MacSlot::EMPTY; 65536]`
//! // and `vec![PortSlot::EMPTY; 1024]` to `Switch::new` instead).
//! let mut sw: InlineSwitch<4, 16> = InlineSwitch::new_inline();
//! sw.add_port(PortId(1)).unwrap();
//! sw.add_port(PortId(2)).unwrap();
//!
//! let a = [0x02, 0, 0, 0, 0, 0xaa];
//! let b = [0x02, 0, 0, 0, 0, 0xbb];
//! let frame = |dst: [u8; 6], src: [u8; 6]| {
//!     let mut f = [0u8; 60];
//!     f[0..6].copy_from_slice(&dst);
//!     f[6..12].copy_from_slice(&src);
//!     f
//! };
//! let t = Instant::from_millis(0);
//! // b is unknown yet: flood (to every port except 1).
//! assert_eq!(sw.forward(PortId(1), &frame(b, a), t), Verdict::Flood { except: PortId(1) });
//! // a was learned on port 1: the answer goes there only.
//! assert_eq!(sw.forward(PortId(2), &frame(a, b), t), Verdict::Unicast(PortId(1)));
//! assert_eq!(sw.lookup(MacAddr(b)), Some(PortId(2)));
//! ```

use core::fmt;

use crate::mac::MacAddr;
use crate::time::{Duration, Instant};

/// How long a learned address stays without being seen again: 100 s, as in the original.
pub const DEFAULT_AGEING: Duration = Duration::from_secs(100);

/// The shortest frame that is forwarded: an Ethernet header (destination, source, type).
pub const MIN_FRAME_LEN: usize = 14;

/// The default longest frame forwarded: 1514 (header + 1500-byte MTU) plus a 4-byte
/// 802.1Q tag. Change it with [`Switch::set_max_frame_len`].
pub const DEFAULT_MAX_FRAME_LEN: usize = 1518;

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
    /// Shorter than an Ethernet header ([`MIN_FRAME_LEN`] bytes).
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
    /// Send it to every port of [`Switch::ports`] except `except` (the ingress port).
    Flood {
        /// The port the frame came in on.
        except: PortId,
    },
}

/// Per-reason drop counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Drops {
    /// Frames shorter than [`MIN_FRAME_LEN`].
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

    fn count(&mut self, reason: DropReason) {
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
    /// Frames handed to [`Switch::forward`], including dropped ones.
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
    /// Addresses evicted (oldest first) to make room in a full table.
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
    /// Sends to the port that the caller reported as failed ([`Switch::record_tx_error`]).
    pub tx_errors: u64,
    /// Frames received on the port that were flooded.
    pub flooded_frames: u64,
    /// Frames received on the port and dropped, by reason.
    pub drops: Drops,
    /// Addresses currently learned on the port.
    pub learned: usize,
}

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
    /// [`Switch::add_port`] of a port that is already attached.
    AlreadyAttached(PortId),
    /// [`Switch::remove_port`] of a port that is not attached.
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

/// An address the switch has learned, as shown by [`Switch::entries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LearnedEntry {
    /// The station's address.
    pub mac: MacAddr,
    /// The port it was last seen on.
    pub port: PortId,
    /// Time since it was last seen (relative to the latest time the switch was given).
    pub age: Duration,
}

/// "No index" in the table's internal links.
const NIL: u32 = u32::MAX;

/// One slot of MAC-table storage. Create storage with [`MacSlot::EMPTY`]; the contents
/// are private to the switch.
///
/// Each slot is 40 bytes; a table of 64 Ki addresses takes 2.5 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MacSlot {
    /// The station address (valid while the slot is in use).
    mac: MacAddr,
    /// The port it was learned on.
    port: u16,
    /// When it was last seen (ms).
    last_seen: u64,
    /// Head of hash bucket number `<this slot's index>` (independent of this slot's entry).
    bucket: u32,
    /// Next entry in the same hash bucket, or next free slot.
    chain: u32,
    /// Neighbour seen earlier (towards the oldest entry).
    older: u32,
    /// Neighbour seen later (towards the newest entry).
    newer: u32,
    /// Previous entry learned on the same port.
    port_prev: u32,
    /// Next entry learned on the same port.
    port_next: u32,
}

impl MacSlot {
    /// An unused slot.
    pub const EMPTY: MacSlot = MacSlot {
        mac: MacAddr([0; 6]),
        port: 0,
        last_seen: 0,
        bucket: NIL,
        chain: NIL,
        older: NIL,
        newer: NIL,
        port_prev: NIL,
        port_next: NIL,
    };
}

impl Default for MacSlot {
    fn default() -> Self {
        MacSlot::EMPTY
    }
}

/// Raw per-port counters; transmit counts of floods are derived lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct PortCounters {
    rx_frames: u64,
    rx_bytes: u64,
    unicast_tx_frames: u64,
    unicast_tx_bytes: u64,
    tx_errors: u64,
    /// Switch-wide flood counters when the port was added.
    flood_base_frames: u64,
    flood_base_bytes: u64,
    /// Floods that this port originated (it does not receive those).
    own_flood_frames: u64,
    own_flood_bytes: u64,
    drops: Drops,
}

/// One slot of port storage. Create storage with [`PortSlot::EMPTY`]; the contents are
/// private to the switch. Slot `i` serves [`PortId`]`(i)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PortSlot {
    /// Whether port `<this index>` is attached.
    attached: bool,
    /// Entry number `<this index>` of the dense list of attached ports (independent of
    /// this slot's port).
    member: u16,
    /// Where this port sits in the dense list.
    dense_pos: u16,
    /// Addresses learned on this port.
    learned: u32,
    /// First address learned on this port.
    first: u32,
    counters: PortCounters,
}

impl PortSlot {
    /// An unused slot.
    pub const EMPTY: PortSlot = PortSlot {
        attached: false,
        member: 0,
        dense_pos: 0,
        learned: 0,
        first: NIL,
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

/// The MAC table's bookkeeping (the slots themselves live in the caller's storage).
#[derive(Debug, Clone, Copy)]
struct Table {
    /// Usable slots (storage length, capped below `NIL`).
    cap: u32,
    /// Entries in use.
    len: u32,
    /// Slots `0..used` have been handed out at least once.
    used: u32,
    /// Free list through `chain`.
    free: u32,
    /// The entry seen longest ago (evicted first, aged first).
    oldest: u32,
    /// The entry seen most recently.
    newest: u32,
    /// Key of the hash function.
    seed: u64,
}

/// Mixes an address and a seed into 64 well-spread bits (the splitmix64 finaliser).
fn hash(mac: MacAddr, seed: u64) -> u64 {
    let m = mac.0;
    let mut x = u64::from_le_bytes([m[0], m[1], m[2], m[3], m[4], m[5], 0, 0]) ^ seed;
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Table {
    const fn new(cap: usize, seed: u64) -> Table {
        let cap = if cap > (NIL - 1) as usize {
            NIL - 1
        } else {
            cap as u32
        };
        Table {
            cap,
            len: 0,
            used: 0,
            free: NIL,
            oldest: NIL,
            newest: NIL,
            seed,
        }
    }

    /// The bucket of `mac` (only called when `cap > 0`).
    fn bucket(&self, mac: MacAddr) -> usize {
        // Multiply-shift range reduction: no division on the hot path.
        (((hash(mac, self.seed) >> 32) * u64::from(self.cap)) >> 32) as usize
    }

    fn find(&self, slots: &[MacSlot], mac: MacAddr) -> u32 {
        if self.cap == 0 {
            return NIL;
        }
        let mut i = slots[self.bucket(mac)].bucket;
        while i != NIL {
            let s = &slots[i as usize];
            if s.mac == mac {
                return i;
            }
            i = s.chain;
        }
        NIL
    }

    fn chain_link(&self, slots: &mut [MacSlot], i: u32) {
        let b = self.bucket(slots[i as usize].mac);
        slots[i as usize].chain = slots[b].bucket;
        slots[b].bucket = i;
    }

    fn chain_unlink(&self, slots: &mut [MacSlot], i: u32) {
        let b = self.bucket(slots[i as usize].mac);
        let next = slots[i as usize].chain;
        let mut cur = slots[b].bucket;
        if cur == i {
            slots[b].bucket = next;
            return;
        }
        while cur != NIL {
            let after = slots[cur as usize].chain;
            if after == i {
                slots[cur as usize].chain = next;
                return;
            }
            cur = after;
        }
    }

    fn age_unlink(&mut self, slots: &mut [MacSlot], i: u32) {
        let MacSlot { older, newer, .. } = slots[i as usize];
        if older == NIL {
            self.oldest = newer;
        } else {
            slots[older as usize].newer = newer;
        }
        if newer == NIL {
            self.newest = older;
        } else {
            slots[newer as usize].older = older;
        }
    }

    fn age_push_newest(&mut self, slots: &mut [MacSlot], i: u32) {
        slots[i as usize].older = self.newest;
        slots[i as usize].newer = NIL;
        if self.newest == NIL {
            self.oldest = i;
        } else {
            slots[self.newest as usize].newer = i;
        }
        self.newest = i;
    }

    fn port_link(slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32, port: u16) {
        let p = &mut ports[usize::from(port)];
        let first = p.first;
        p.first = i;
        p.learned += 1;
        let s = &mut slots[i as usize];
        s.port = port;
        s.port_prev = NIL;
        s.port_next = first;
        if first != NIL {
            slots[first as usize].port_prev = i;
        }
    }

    fn port_unlink(slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32) {
        let MacSlot {
            port,
            port_prev,
            port_next,
            ..
        } = slots[i as usize];
        let p = &mut ports[usize::from(port)];
        p.learned -= 1;
        if port_prev == NIL {
            p.first = port_next;
        } else {
            slots[port_prev as usize].port_next = port_next;
        }
        if port_next != NIL {
            slots[port_next as usize].port_prev = port_prev;
        }
    }

    /// Forgets entry `i` and frees its slot.
    fn remove(&mut self, slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32) {
        self.chain_unlink(slots, i);
        self.age_unlink(slots, i);
        Self::port_unlink(slots, ports, i);
        slots[i as usize].chain = self.free;
        self.free = i;
        self.len -= 1;
    }

    /// A slot for a new entry; evicts the oldest entry when the table is full.
    fn alloc(
        &mut self,
        slots: &mut [MacSlot],
        ports: &mut [PortSlot],
        stats: &mut SwitchStats,
    ) -> u32 {
        if self.free == NIL {
            if self.used < self.cap {
                self.used += 1;
                return self.used - 1;
            }
            if self.oldest == NIL {
                return NIL; // no capacity at all
            }
            self.remove(slots, ports, self.oldest);
            stats.evicted += 1;
        }
        let i = self.free;
        self.free = slots[i as usize].chain;
        i
    }

    /// Records that `mac` was seen on `port` at `now`.
    fn learn(
        &mut self,
        slots: &mut [MacSlot],
        ports: &mut [PortSlot],
        stats: &mut SwitchStats,
        mac: MacAddr,
        port: u16,
        now: u64,
    ) {
        let i = self.find(slots, mac);
        if i != NIL {
            if slots[i as usize].port != port {
                Self::port_unlink(slots, ports, i);
                Self::port_link(slots, ports, i, port);
                stats.moved += 1;
            }
            if slots[i as usize].last_seen != now {
                // The age list stays sorted by `last_seen` because time never goes back.
                slots[i as usize].last_seen = now;
                if self.newest != i {
                    self.age_unlink(slots, i);
                    self.age_push_newest(slots, i);
                }
            }
            return;
        }
        let i = self.alloc(slots, ports, stats);
        if i == NIL {
            return;
        }
        let s = &mut slots[i as usize];
        s.mac = mac;
        s.last_seen = now;
        self.chain_link(slots, i);
        self.age_push_newest(slots, i);
        Self::port_link(slots, ports, i, port);
        self.len += 1;
        stats.learned += 1;
    }

    /// Forgets every entry not seen for longer than `ageing`; returns how many.
    fn expire(
        &mut self,
        slots: &mut [MacSlot],
        ports: &mut [PortSlot],
        now: u64,
        ageing: u64,
    ) -> usize {
        let mut n = 0;
        while self.oldest != NIL
            && now.saturating_sub(slots[self.oldest as usize].last_seen) > ageing
        {
            self.remove(slots, ports, self.oldest);
            n += 1;
        }
        n
    }
}

/// The default hash key; replace it with [`Switch::set_hash_seed`] where stations may be
/// hostile.
const DEFAULT_SEED: u64 = 0x5eed_0f57_17c4_e5a1;

/// A learning switch (or hub) over caller-provided storage.
///
/// `M` holds the MAC table (`[MacSlot]`, one slot per address: its length is the table's
/// capacity), `P` the ports (`[PortSlot]`, slot `i` serves `PortId(i)`; at most 65536
/// are used). Any owner of a slice works: a `Vec` or `Box<[_]>` for a daemon, an array
/// for an embedded switch (see [`InlineSwitch`]), `&mut [_]` for borrowed storage. The
/// storage must keep returning the same slice.
///
/// For a big daemon switch build the storage on the heap and move the switch into a
/// `Box`: `Box::new(Switch::new(vec![MacSlot::EMPTY; 65536], vec![PortSlot::EMPTY;
/// 4096]))`. The `Switch` value itself is small (under 300 bytes); only the storage is
/// big: 40 bytes per address and 120 bytes per port slot.
pub struct Switch<M, P> {
    macs: M,
    ports: P,
    table: Table,
    port_slots: usize,
    port_count: usize,
    hub: bool,
    ageing: u64,
    max_frame_len: usize,
    now: u64,
    stats: SwitchStats,
}

/// A switch whose storage is inline: `PORTS` port slots and `MACS` addresses. Meant for
/// small or `static` switches (`new_inline` is a `const fn`); a big one on the stack
/// would overflow it.
pub type InlineSwitch<const PORTS: usize, const MACS: usize> =
    Switch<[MacSlot; MACS], [PortSlot; PORTS]>;

impl<const PORTS: usize, const MACS: usize> Switch<[MacSlot; MACS], [PortSlot; PORTS]> {
    /// An empty switch with inline storage, usable in a `static` initialiser.
    pub const fn new_inline() -> Self {
        Switch {
            macs: [MacSlot::EMPTY; MACS],
            ports: [PortSlot::EMPTY; PORTS],
            table: Table::new(MACS, DEFAULT_SEED),
            port_slots: if PORTS > 65536 { 65536 } else { PORTS },
            port_count: 0,
            hub: false,
            ageing: DEFAULT_AGEING.total_millis(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            now: 0,
            stats: SwitchStats {
                rx_frames: 0,
                rx_bytes: 0,
                unicast_frames: 0,
                unicast_bytes: 0,
                flooded_frames: 0,
                flooded_bytes: 0,
                unknown_unicast_frames: 0,
                drops: Drops {
                    runt: 0,
                    oversize: 0,
                    reflected: 0,
                    unknown_port: 0,
                },
                learned: 0,
                moved: 0,
                evicted: 0,
                aged: 0,
                purged: 0,
            },
        }
    }
}

impl<M, P> Switch<M, P>
where
    M: AsRef<[MacSlot]> + AsMut<[MacSlot]>,
    P: AsRef<[PortSlot]> + AsMut<[PortSlot]>,
{
    /// A switch (not a hub) with no ports and an empty table, over the given storage.
    ///
    /// The storage is reset (one pass over it), so it may hold anything. Ageing is
    /// [`DEFAULT_AGEING`], the maximum frame length [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new(mut macs: M, mut ports: P) -> Self {
        macs.as_mut().fill(MacSlot::EMPTY);
        ports.as_mut().fill(PortSlot::EMPTY);
        let table = Table::new(macs.as_ref().len(), DEFAULT_SEED);
        let port_slots = ports.as_ref().len().min(65536);
        Switch {
            macs,
            ports,
            table,
            port_slots,
            port_count: 0,
            hub: false,
            ageing: DEFAULT_AGEING.total_millis(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            now: 0,
            stats: SwitchStats::default(),
        }
    }

    /// Whether the switch floods every frame (hub mode).
    pub fn is_hub(&self) -> bool {
        self.hub
    }

    /// Turns hub mode on (flood every frame) or off (switch). Learning goes on in both
    /// modes, so switching back needs no warm-up.
    pub fn set_hub(&mut self, hub: bool) {
        self.hub = hub;
    }

    /// How long an address stays learned without being seen.
    pub fn ageing(&self) -> Duration {
        Duration::from_millis(self.ageing)
    }

    /// Sets the ageing time ([`Duration::MAX`]: never). Entries already older than the
    /// new time are forgotten at the next call that passes the time.
    pub fn set_ageing(&mut self, ageing: Duration) {
        self.ageing = ageing.total_millis();
    }

    /// The longest frame forwarded; longer ones are dropped as [`DropReason::Oversize`].
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Sets the longest frame forwarded.
    pub fn set_max_frame_len(&mut self, len: usize) {
        self.max_frame_len = len;
    }

    /// Re-keys the address hash (rehashes the table, one pass over its storage). A
    /// random seed keeps a hostile guest from crafting addresses that share a bucket.
    pub fn set_hash_seed(&mut self, seed: u64) {
        let slots = self.macs.as_mut();
        for s in slots[..self.table.cap as usize].iter_mut() {
            s.bucket = NIL;
        }
        self.table.seed = seed;
        let mut i = self.table.newest;
        while i != NIL {
            self.table.chain_link(slots, i);
            i = slots[i as usize].older;
        }
    }

    /// The latest time the switch has been given.
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    /// How many addresses the table can hold.
    pub fn capacity(&self) -> usize {
        self.table.cap as usize
    }

    /// How many addresses are learned now.
    pub fn len(&self) -> usize {
        self.table.len as usize
    }

    /// Whether no address is learned.
    pub fn is_empty(&self) -> bool {
        self.table.len == 0
    }

    /// How many port slots there are (valid port ids are `0..port_slots()`).
    pub fn port_slots(&self) -> usize {
        self.port_slots
    }

    /// How many ports are attached.
    pub fn port_count(&self) -> usize {
        self.port_count
    }

    /// Whether `port` is attached.
    pub fn has_port(&self, port: PortId) -> bool {
        let i = usize::from(port.0);
        i < self.port_slots && self.ports.as_ref()[i].attached
    }

    /// The attached ports, in no particular order. To flood, send to each of them
    /// except the verdict's `except`.
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            slots: &self.ports.as_ref()[..self.port_count],
            next: 0,
        }
    }

    /// Attaches `port`, with fresh counters and no learned addresses.
    pub fn add_port(&mut self, port: PortId) -> Result<(), PortError> {
        let i = usize::from(port.0);
        if i >= self.port_slots {
            return Err(PortError::OutOfRange {
                port,
                slots: self.port_slots,
            });
        }
        let ports = self.ports.as_mut();
        if ports[i].attached {
            return Err(PortError::AlreadyAttached(port));
        }
        let pos = self.port_count;
        let slot = &mut ports[i];
        slot.attached = true;
        slot.dense_pos = pos as u16;
        slot.learned = 0;
        slot.first = NIL;
        slot.counters = PortCounters {
            flood_base_frames: self.stats.flooded_frames,
            flood_base_bytes: self.stats.flooded_bytes,
            ..PortCounters::default()
        };
        ports[pos].member = port.0;
        self.port_count += 1;
        Ok(())
    }

    /// Detaches `port` and forgets every address learned on it; returns how many.
    pub fn remove_port(&mut self, port: PortId) -> Result<usize, PortError> {
        let i = usize::from(port.0);
        if i >= self.port_slots {
            return Err(PortError::OutOfRange {
                port,
                slots: self.port_slots,
            });
        }
        let slots = self.macs.as_mut();
        let ports = self.ports.as_mut();
        if !ports[i].attached {
            return Err(PortError::NotAttached(port));
        }
        let mut purged = 0;
        while ports[i].first != NIL {
            let first = ports[i].first;
            self.table.remove(slots, ports, first);
            purged += 1;
        }
        self.stats.purged += purged as u64;
        // Swap-remove from the dense list of attached ports.
        let pos = usize::from(ports[i].dense_pos);
        let last = self.port_count - 1;
        let moved = ports[last].member;
        ports[pos].member = moved;
        ports[usize::from(moved)].dense_pos = pos as u16;
        self.port_count -= 1;
        let slot = &mut ports[i];
        slot.attached = false;
        slot.learned = 0;
        slot.first = NIL;
        slot.counters = PortCounters::default();
        Ok(purged)
    }

    /// The counters of `port`, or `None` if it is not attached.
    pub fn port_stats(&self, port: PortId) -> Option<PortStats> {
        if !self.has_port(port) {
            return None;
        }
        let slot = &self.ports.as_ref()[usize::from(port.0)];
        let c = &slot.counters;
        let flood_frames = self.stats.flooded_frames - c.flood_base_frames - c.own_flood_frames;
        let flood_bytes = self.stats.flooded_bytes - c.flood_base_bytes - c.own_flood_bytes;
        Some(PortStats {
            rx_frames: c.rx_frames,
            rx_bytes: c.rx_bytes,
            tx_frames: c.unicast_tx_frames + flood_frames,
            tx_bytes: c.unicast_tx_bytes + flood_bytes,
            tx_errors: c.tx_errors,
            flooded_frames: c.own_flood_frames,
            drops: c.drops,
            learned: slot.learned as usize,
        })
    }

    /// How many addresses are learned on `port` (`None` if it is not attached).
    pub fn learned_on(&self, port: PortId) -> Option<usize> {
        if !self.has_port(port) {
            return None;
        }
        Some(self.ports.as_ref()[usize::from(port.0)].learned as usize)
    }

    /// Counts a send to `port` that failed (the switch counted it as sent); ignored for a
    /// port that is not attached.
    pub fn record_tx_error(&mut self, port: PortId) {
        if self.has_port(port) {
            self.ports.as_mut()[usize::from(port.0)].counters.tx_errors += 1;
        }
    }

    /// The switch-wide counters.
    pub fn stats(&self) -> SwitchStats {
        self.stats
    }

    /// The port `mac` was learned on, if it is in the table (no time passes; call
    /// [`Switch::age`] first for an up-to-date answer).
    pub fn lookup(&self, mac: MacAddr) -> Option<PortId> {
        let slots = self.macs.as_ref();
        let i = self.table.find(slots, mac);
        (i != NIL).then(|| PortId(slots[i as usize].port))
    }

    /// The learned addresses, most recently seen first.
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            slots: self.macs.as_ref(),
            next: self.table.newest,
            now: self.now,
            via_port: false,
        }
    }

    /// The addresses learned on `port` (empty if it is not attached), in no particular order.
    pub fn port_entries(&self, port: PortId) -> Entries<'_> {
        let next = if self.has_port(port) {
            self.ports.as_ref()[usize::from(port.0)].first
        } else {
            NIL
        };
        Entries {
            slots: self.macs.as_ref(),
            next,
            now: self.now,
            via_port: true,
        }
    }

    /// Passes the time: forgets addresses not seen for longer than the ageing time;
    /// returns how many. [`Switch::forward`] does this itself, so a caller needs it only
    /// to refresh the table while no frames arrive (before listing it, for example).
    /// Calling it from a periodic timer also spreads the work of forgetting many
    /// addresses at once (after a quiet spell) away from the next frame.
    pub fn age(&mut self, now: Instant) -> usize {
        if now.total_millis() > self.now {
            self.now = now.total_millis();
        }
        let n = self.table.expire(
            self.macs.as_mut(),
            self.ports.as_mut(),
            self.now,
            self.ageing,
        );
        self.stats.aged += n as u64;
        n
    }

    /// Decides where `frame` (a whole Ethernet frame without FCS) that arrived on
    /// `ingress` at `now` goes, learns its source address and counts it.
    pub fn forward(&mut self, ingress: PortId, frame: &[u8], now: Instant) -> Verdict {
        let (dst, src) = match frame {
            [d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5, _, _, ..] => (
                MacAddr([*d0, *d1, *d2, *d3, *d4, *d5]),
                MacAddr([*s0, *s1, *s2, *s3, *s4, *s5]),
            ),
            _ => (MacAddr([0; 6]), MacAddr([0; 6])),
        };
        self.forward_header(ingress, dst, src, frame.len(), now)
    }

    /// [`Switch::forward`] for a caller that has already read the addresses: `len` is the
    /// frame's whole length (the addresses are ignored when it is below [`MIN_FRAME_LEN`]).
    pub fn forward_header(
        &mut self,
        ingress: PortId,
        dst: MacAddr,
        src: MacAddr,
        len: usize,
        now: Instant,
    ) -> Verdict {
        self.age(now);
        let bytes = len as u64;
        self.stats.rx_frames += 1;
        self.stats.rx_bytes += bytes;
        let pi = usize::from(ingress.0);
        if !self.has_port(ingress) {
            self.stats.drops.count(DropReason::UnknownPort);
            return Verdict::Drop(DropReason::UnknownPort);
        }
        let slots = self.macs.as_mut();
        let ports = self.ports.as_mut();
        let c = &mut ports[pi].counters;
        c.rx_frames += 1;
        c.rx_bytes += bytes;
        let drop = if len < MIN_FRAME_LEN {
            Some(DropReason::Runt)
        } else if len > self.max_frame_len {
            Some(DropReason::Oversize)
        } else {
            None
        };
        if let Some(reason) = drop {
            c.drops.count(reason);
            self.stats.drops.count(reason);
            return Verdict::Drop(reason);
        }
        if src.0[0] & 1 == 0 {
            self.table
                .learn(slots, ports, &mut self.stats, src, ingress.0, self.now);
        }
        let target = if self.hub || dst.0[0] & 1 != 0 {
            NIL
        } else {
            let i = self.table.find(slots, dst);
            if i == NIL {
                self.stats.unknown_unicast_frames += 1;
            }
            i
        };
        if target == NIL {
            self.stats.flooded_frames += 1;
            self.stats.flooded_bytes += bytes;
            let c = &mut ports[pi].counters;
            c.own_flood_frames += 1;
            c.own_flood_bytes += bytes;
            return Verdict::Flood { except: ingress };
        }
        let out = slots[target as usize].port;
        if out == ingress.0 {
            ports[pi].counters.drops.count(DropReason::Reflected);
            self.stats.drops.count(DropReason::Reflected);
            return Verdict::Drop(DropReason::Reflected);
        }
        let c = &mut ports[usize::from(out)].counters;
        c.unicast_tx_frames += 1;
        c.unicast_tx_bytes += bytes;
        self.stats.unicast_frames += 1;
        self.stats.unicast_bytes += bytes;
        Verdict::Unicast(PortId(out))
    }
}

impl<M, P> fmt::Debug for Switch<M, P>
where
    M: AsRef<[MacSlot]>,
    P: AsRef<[PortSlot]>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Switch")
            .field("hub", &self.hub)
            .field("ports", &self.port_count)
            .field("port_slots", &self.port_slots)
            .field("learned", &self.table.len)
            .field("capacity", &self.table.cap)
            .field("ageing_ms", &self.ageing)
            .field("now_ms", &self.now)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Iterator over the attached ports ([`Switch::ports`]).
#[derive(Debug, Clone)]
pub struct Ports<'a> {
    slots: &'a [PortSlot],
    next: usize,
}

impl Iterator for Ports<'_> {
    type Item = PortId;

    fn next(&mut self) -> Option<PortId> {
        let slot = self.slots.get(self.next)?;
        self.next += 1;
        Some(PortId(slot.member))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.slots.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Ports<'_> {}

/// Iterator over learned addresses ([`Switch::entries`], [`Switch::port_entries`]).
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    slots: &'a [MacSlot],
    next: u32,
    now: u64,
    via_port: bool,
}

impl Iterator for Entries<'_> {
    type Item = LearnedEntry;

    fn next(&mut self) -> Option<LearnedEntry> {
        let s = self.slots.get(self.next as usize)?;
        self.next = if self.via_port { s.port_next } else { s.older };
        Some(LearnedEntry {
            mac: s.mac,
            port: PortId(s.port),
            age: Duration::from_millis(self.now.saturating_sub(s.last_seen)),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::boxed::Box;
    use std::collections::{BTreeMap, BTreeSet};
    use std::vec;
    use std::vec::Vec;

    type Small = InlineSwitch<8, 16>;

    const A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);
    const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0b]);
    const C: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0c]);
    const GROUP: MacAddr = MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]);

    fn frame(dst: MacAddr, src: MacAddr, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len.max(12)];
        f[0..6].copy_from_slice(&dst.0);
        f[6..12].copy_from_slice(&src.0);
        f.truncate(len);
        f
    }

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    fn switch_with_ports(ports: &[u16]) -> Small {
        let mut sw = Small::new_inline();
        for &p in ports {
            sw.add_port(PortId(p)).unwrap();
        }
        sw
    }

    #[test]
    fn learns_source_and_unicasts_to_it() {
        let mut sw = switch_with_ports(&[1, 2, 3]);
        assert_eq!(
            sw.forward(PortId(1), &frame(B, A, 60), ms(0)),
            Verdict::Flood { except: PortId(1) }
        );
        assert_eq!(sw.lookup(A), Some(PortId(1)));
        assert_eq!(
            sw.forward(PortId(2), &frame(A, B, 60), ms(1)),
            Verdict::Unicast(PortId(1))
        );
        assert_eq!(
            sw.forward(PortId(3), &frame(B, C, 60), ms(2)),
            Verdict::Unicast(PortId(2))
        );
        assert_eq!(sw.len(), 3);
        let s = sw.stats();
        assert_eq!((s.learned, s.unicast_frames, s.flooded_frames), (3, 2, 1));
        assert_eq!(s.unknown_unicast_frames, 1);
        assert_eq!(sw.learned_on(PortId(2)), Some(1));
    }

    #[test]
    fn address_moves_between_ports() {
        let mut sw = switch_with_ports(&[1, 2, 3]);
        sw.forward(PortId(1), &frame(B, A, 60), ms(0));
        sw.forward(PortId(2), &frame(B, A, 60), ms(5));
        assert_eq!(sw.lookup(A), Some(PortId(2)));
        assert_eq!(sw.learned_on(PortId(1)), Some(0));
        assert_eq!(sw.learned_on(PortId(2)), Some(1));
        assert_eq!(sw.stats().moved, 1);
        assert_eq!(
            sw.forward(PortId(3), &frame(A, C, 60), ms(6)),
            Verdict::Unicast(PortId(2))
        );
        // Removing the old port must not take the moved address with it.
        assert_eq!(sw.remove_port(PortId(1)), Ok(0));
        assert_eq!(sw.lookup(A), Some(PortId(2)));
    }

    #[test]
    fn entries_age_out_and_destination_floods_again() {
        let mut sw = switch_with_ports(&[1, 2]);
        sw.forward(PortId(1), &frame(B, A, 60), ms(1_000));
        // Exactly the ageing time later the entry is still valid (original: `last + 100 < now`).
        assert_eq!(
            sw.forward(PortId(2), &frame(A, B, 60), ms(101_000)),
            Verdict::Unicast(PortId(1))
        );
        assert_eq!(
            sw.forward(PortId(2), &frame(A, B, 60), ms(101_001)),
            Verdict::Flood { except: PortId(2) }
        );
        assert_eq!(sw.lookup(A), None);
        assert_eq!(sw.stats().aged, 1);
        assert_eq!(sw.learned_on(PortId(1)), Some(0));
        // B was refreshed at 101_001 and survives until 201_001.
        assert_eq!(sw.age(ms(201_001)), 0);
        assert_eq!(sw.age(ms(201_002)), 1);
        assert!(sw.is_empty());
    }

    #[test]
    fn seeing_an_address_again_keeps_it_alive() {
        let mut sw = switch_with_ports(&[1, 2]);
        sw.forward(PortId(1), &frame(B, A, 60), ms(0));
        for t in (60_000..=600_000).step_by(60_000) {
            sw.forward(PortId(1), &frame(B, A, 60), ms(t));
        }
        assert_eq!(sw.lookup(A), Some(PortId(1)));
        assert_eq!(sw.stats().aged, 0);
    }

    #[test]
    fn ageing_is_configurable_and_max_never_ages() {
        let mut sw = switch_with_ports(&[1]);
        sw.set_ageing(Duration::from_secs(2));
        sw.forward(PortId(1), &frame(B, A, 60), ms(0));
        assert_eq!(sw.age(ms(2_001)), 1);
        sw.set_ageing(Duration::MAX);
        sw.forward(PortId(1), &frame(B, A, 60), ms(3_000));
        assert_eq!(sw.age(Instant::from_millis(u64::MAX)), 0);
        assert_eq!(sw.lookup(A), Some(PortId(1)));
    }

    #[test]
    fn full_table_evicts_the_oldest() {
        let mut sw: InlineSwitch<4, 3> = InlineSwitch::new_inline();
        sw.add_port(PortId(0)).unwrap();
        sw.add_port(PortId(1)).unwrap();
        let mac = |n: u8| MacAddr([0x02, 0, 0, 0, 1, n]);
        for n in 0..3 {
            sw.forward(PortId(0), &frame(B, mac(n), 60), ms(u64::from(n)));
        }
        // Refresh mac(0): mac(1) becomes the oldest.
        sw.forward(PortId(0), &frame(B, mac(0), 60), ms(10));
        sw.forward(PortId(1), &frame(B, mac(3), 60), ms(11));
        assert_eq!(sw.len(), 3);
        assert_eq!(sw.lookup(mac(1)), None);
        for n in [0, 2] {
            assert_eq!(sw.lookup(mac(n)), Some(PortId(0)));
        }
        assert_eq!(sw.lookup(mac(3)), Some(PortId(1)));
        assert_eq!(sw.stats().evicted, 1);
        assert_eq!(sw.learned_on(PortId(0)), Some(2));
        let order: Vec<MacAddr> = sw.entries().map(|e| e.mac).collect();
        assert_eq!(order, [mac(3), mac(0), mac(2)]);
    }

    #[test]
    fn zero_capacity_floods_and_never_learns() {
        let mut sw: InlineSwitch<2, 0> = InlineSwitch::new_inline();
        sw.add_port(PortId(0)).unwrap();
        sw.add_port(PortId(1)).unwrap();
        sw.forward(PortId(0), &frame(B, A, 60), ms(0));
        assert_eq!(
            sw.forward(PortId(1), &frame(A, B, 60), ms(0)),
            Verdict::Flood { except: PortId(1) }
        );
        assert!(sw.is_empty());
    }

    #[test]
    fn removing_a_port_forgets_every_address_on_it() {
        let mut sw = switch_with_ports(&[1, 2]);
        for n in 0..5 {
            sw.forward(PortId(1), &frame(B, MacAddr([2, 0, 0, 0, 7, n]), 60), ms(0));
        }
        sw.forward(PortId(2), &frame(A, B, 60), ms(0));
        assert_eq!(sw.learned_on(PortId(1)), Some(5));
        assert_eq!(sw.remove_port(PortId(1)), Ok(5));
        assert_eq!(sw.len(), 1);
        assert!(sw.entries().all(|e| e.port == PortId(2)));
        assert_eq!(sw.stats().purged, 5);
        // The port's addresses now flood; the removed port is no flood target.
        assert_eq!(
            sw.forward(PortId(2), &frame(MacAddr([2, 0, 0, 0, 7, 3]), B, 60), ms(1)),
            Verdict::Flood { except: PortId(2) }
        );
        assert_eq!(sw.ports().collect::<Vec<_>>(), [PortId(2)]);
        assert_eq!(
            sw.remove_port(PortId(1)),
            Err(PortError::NotAttached(PortId(1)))
        );
        // Frames from the removed port are dropped.
        assert_eq!(
            sw.forward(PortId(1), &frame(B, A, 60), ms(2)),
            Verdict::Drop(DropReason::UnknownPort)
        );
        assert_eq!(sw.stats().drops.unknown_port, 1);
    }

    #[test]
    fn never_reflects_to_the_ingress_port() {
        let mut sw = switch_with_ports(&[1, 2]);
        sw.forward(PortId(1), &frame(B, A, 60), ms(0));
        sw.forward(PortId(1), &frame(B, C, 60), ms(0));
        // C and A both sit on port 1: a frame between them must not go back out.
        assert_eq!(
            sw.forward(PortId(1), &frame(A, C, 60), ms(1)),
            Verdict::Drop(DropReason::Reflected)
        );
        // A frame to one's own address (the original echoed it back).
        assert_eq!(
            sw.forward(PortId(2), &frame(B, B, 60), ms(1)),
            Verdict::Drop(DropReason::Reflected)
        );
        assert_eq!(sw.stats().drops.reflected, 2);
        assert_eq!(sw.port_stats(PortId(1)).unwrap().drops.reflected, 1);
    }

    #[test]
    fn group_source_is_not_learned_and_group_destination_floods() {
        let mut sw = switch_with_ports(&[1, 2]);
        assert_eq!(
            sw.forward(PortId(1), &frame(B, GROUP, 60), ms(0)),
            Verdict::Flood { except: PortId(1) }
        );
        assert_eq!(sw.lookup(GROUP), None);
        assert!(sw.is_empty());
        sw.forward(PortId(2), &frame(A, B, 60), ms(0));
        assert_eq!(
            sw.forward(PortId(1), &frame(MacAddr::BROADCAST, A, 60), ms(0)),
            Verdict::Flood { except: PortId(1) }
        );
        assert_eq!(
            sw.forward(PortId(1), &frame(GROUP, A, 60), ms(0)),
            Verdict::Flood { except: PortId(1) }
        );
    }

    #[test]
    fn hub_floods_everything_and_can_be_switched_back() {
        let mut sw = switch_with_ports(&[1, 2, 3]);
        sw.set_hub(true);
        assert!(sw.is_hub());
        sw.forward(PortId(1), &frame(B, A, 60), ms(0));
        sw.forward(PortId(2), &frame(A, B, 60), ms(0));
        assert_eq!(
            sw.forward(PortId(2), &frame(A, B, 60), ms(0)),
            Verdict::Flood { except: PortId(2) }
        );
        // Even a frame to a station on the ingress port floods (never to the ingress).
        assert_eq!(
            sw.forward(PortId(2), &frame(B, B, 60), ms(0)),
            Verdict::Flood { except: PortId(2) }
        );
        sw.set_hub(false);
        assert_eq!(
            sw.forward(PortId(2), &frame(A, B, 60), ms(0)),
            Verdict::Unicast(PortId(1))
        );
    }

    #[test]
    fn runt_oversize_and_counters() {
        let mut sw = switch_with_ports(&[0, 1, 2]);
        assert_eq!(
            sw.forward(PortId(0), &frame(B, A, 13), ms(0)),
            Verdict::Drop(DropReason::Runt)
        );
        assert_eq!(
            sw.forward(PortId(0), &[], ms(0)),
            Verdict::Drop(DropReason::Runt)
        );
        assert!(sw.is_empty(), "a runt teaches nothing");
        assert_eq!(
            sw.forward(PortId(0), &frame(B, A, 1519), ms(0)),
            Verdict::Drop(DropReason::Oversize)
        );
        assert_eq!(
            sw.forward(PortId(0), &frame(B, A, 1518), ms(0)),
            Verdict::Flood { except: PortId(0) }
        );
        sw.set_max_frame_len(9000);
        assert_eq!(sw.max_frame_len(), 9000);
        assert_eq!(
            sw.forward(PortId(1), &frame(A, B, 9000), ms(0)),
            Verdict::Unicast(PortId(0))
        );
        let p0 = sw.port_stats(PortId(0)).unwrap();
        assert_eq!(p0.rx_frames, 4);
        assert_eq!(p0.rx_bytes, 13 + 1519 + 1518);
        assert_eq!((p0.drops.runt, p0.drops.oversize), (2, 1));
        assert_eq!((p0.tx_frames, p0.tx_bytes), (1, 9000));
        assert_eq!(p0.flooded_frames, 1);
        let p1 = sw.port_stats(PortId(1)).unwrap();
        assert_eq!((p1.tx_frames, p1.tx_bytes), (1, 1518));
        let p2 = sw.port_stats(PortId(2)).unwrap();
        assert_eq!((p2.tx_frames, p2.rx_frames), (1, 0));
        // A port added later does not count floods from before it existed.
        sw.add_port(PortId(3)).unwrap();
        assert_eq!(sw.port_stats(PortId(3)).unwrap(), PortStats::default());
        sw.forward(PortId(3), &frame(C, B, 60), ms(0));
        assert_eq!(sw.port_stats(PortId(3)).unwrap().tx_frames, 0);
        assert_eq!(sw.port_stats(PortId(2)).unwrap().tx_frames, 2);
        sw.record_tx_error(PortId(2));
        assert_eq!(sw.port_stats(PortId(2)).unwrap().tx_errors, 1);
        let s = sw.stats();
        assert_eq!(s.rx_frames, 6);
        assert_eq!(s.drops.total(), 3);
        assert_eq!(s.drops.get(DropReason::Runt), 2);
    }

    #[test]
    fn port_errors() {
        let mut sw = switch_with_ports(&[7]);
        assert_eq!(
            sw.add_port(PortId(8)),
            Err(PortError::OutOfRange {
                port: PortId(8),
                slots: 8
            })
        );
        assert_eq!(
            sw.add_port(PortId(7)),
            Err(PortError::AlreadyAttached(PortId(7)))
        );
        assert_eq!(
            sw.remove_port(PortId(100)),
            Err(PortError::OutOfRange {
                port: PortId(100),
                slots: 8
            })
        );
        assert_eq!(
            sw.forward(PortId(9000), &frame(A, B, 60), ms(0)),
            Verdict::Drop(DropReason::UnknownPort)
        );
        let msg = std::format!(
            "{}",
            PortError::OutOfRange {
                port: PortId(8),
                slots: 8
            }
        );
        assert!(msg.contains("port 8") && msg.contains("0..8"), "{msg}");
        assert_eq!(sw.port_stats(PortId(3)), None);
        assert_eq!(sw.learned_on(PortId(3)), None);
    }

    #[test]
    fn ports_iterates_attached_ports_after_removals() {
        let mut sw = switch_with_ports(&[0, 1, 2, 3, 4, 5]);
        sw.remove_port(PortId(0)).unwrap();
        sw.remove_port(PortId(3)).unwrap();
        sw.add_port(PortId(7)).unwrap();
        let got: BTreeSet<PortId> = sw.ports().collect();
        let want: BTreeSet<PortId> = [1, 2, 4, 5, 7].map(PortId).into();
        assert_eq!(got, want);
        assert_eq!(sw.ports().len(), 5);
        assert_eq!(sw.port_count(), 5);
    }

    #[test]
    fn clock_going_back_is_treated_as_standing_still() {
        let mut sw = switch_with_ports(&[1, 2]);
        sw.forward(PortId(1), &frame(B, A, 60), ms(50_000));
        sw.forward(PortId(2), &frame(A, B, 60), ms(10));
        assert_eq!(sw.now(), ms(50_000));
        assert_eq!(sw.entries().map(|e| e.age).max(), Some(Duration::ZERO));
        assert_eq!(sw.age(ms(150_000)), 0);
        assert_eq!(sw.age(ms(150_001)), 2);
    }

    #[test]
    fn rehash_keeps_the_table() {
        let mut sw = switch_with_ports(&[1, 2]);
        for n in 0..16u8 {
            sw.forward(
                PortId(1 + u16::from(n) % 2),
                &frame(B, MacAddr([2, 0, 0, 0, 9, n]), 60),
                ms(0),
            );
        }
        sw.set_hash_seed(0x1234_5678_9abc_def0);
        for n in 0..16u8 {
            assert_eq!(
                sw.lookup(MacAddr([2, 0, 0, 0, 9, n])),
                Some(PortId(1 + u16::from(n) % 2))
            );
        }
    }

    #[test]
    fn new_resets_dirty_storage() {
        let mut macs = [MacSlot::EMPTY; 4];
        let mut ports = [PortSlot::EMPTY; 2];
        {
            let mut sw = Switch::new(&mut macs[..], &mut ports[..]);
            sw.add_port(PortId(0)).unwrap();
            sw.forward(PortId(0), &frame(B, A, 60), ms(0));
        }
        let mut sw = Switch::new(&mut macs[..], &mut ports[..]);
        assert!(sw.is_empty());
        assert!(!sw.has_port(PortId(0)));
        sw.add_port(PortId(0)).unwrap();
        assert_eq!(sw.learned_on(PortId(0)), Some(0));
        assert_eq!(sw.lookup(A), None);
    }

    /// Far more stations than buckets: long hash chains, entries leaving from the middle.
    #[test]
    fn long_hash_chains_stay_consistent() {
        let mut sw = Switch::new(vec![MacSlot::EMPTY; 8], vec![PortSlot::EMPTY; 4]);
        for p in 0..4 {
            sw.add_port(PortId(p)).unwrap();
        }
        let mac = |n: u8| MacAddr([0x02, 0, 0, 0, n, n.wrapping_mul(7)]);
        let mut model: BTreeMap<MacAddr, (PortId, u64)> = BTreeMap::new();
        let mut t = 0;
        for round in 0..400u32 {
            let n = (round.wrapping_mul(2_654_435_761) >> 24) as u8 % 24;
            let port = PortId((round % 4) as u16);
            t += 1;
            sw.forward(port, &frame(MacAddr::BROADCAST, mac(n), 60), ms(t));
            if model.len() == 8 && !model.contains_key(&mac(n)) {
                let oldest = *model.iter().min_by_key(|(_, v)| v.1).unwrap().0;
                model.remove(&oldest);
            }
            model.insert(mac(n), (port, t));
            if round % 50 == 49 {
                let gone = PortId((round / 50 % 4) as u16);
                sw.remove_port(gone).unwrap();
                sw.add_port(gone).unwrap();
                model.retain(|_, v| v.0 != gone);
            }
            for k in 0..24 {
                assert_eq!(
                    sw.lookup(mac(k)),
                    model.get(&mac(k)).map(|v| v.0),
                    "round {round} mac {k}"
                );
            }
        }
    }

    #[test]
    fn storage_sizes_are_as_documented() {
        use core::mem::size_of;
        assert_eq!(size_of::<MacSlot>(), 40);
        assert_eq!(size_of::<PortSlot>(), 120);
        assert!(size_of::<Switch<Vec<MacSlot>, Vec<PortSlot>>>() < 300);
    }

    /// The daemon's size: 64 Ki addresses and 4096 ports, storage on the heap.
    #[test]
    fn daemon_sized_switch_on_the_heap() {
        let mut sw = Box::new(Switch::new(
            vec![MacSlot::EMPTY; 65536],
            vec![PortSlot::EMPTY; 4096],
        ));
        assert_eq!(sw.capacity(), 65536);
        for p in 0..1200 {
            sw.add_port(PortId(p)).unwrap();
        }
        let mac = |n: u32| {
            let b = n.to_be_bytes();
            MacAddr([0x02, 0x42, b[0], b[1], b[2], b[3]])
        };
        for n in 0..70_000u32 {
            let port = PortId((n % 1200) as u16);
            sw.forward(
                port,
                &frame(MacAddr::BROADCAST, mac(n), 60),
                ms(u64::from(n)),
            );
        }
        assert_eq!(sw.len(), 65536);
        assert_eq!(sw.stats().evicted, 70_000 - 65536);
        assert_eq!(sw.lookup(mac(70_000 - 65536 - 1)), None);
        assert_eq!(
            sw.lookup(mac(70_000 - 65536)),
            Some(PortId(((70_000 - 65536) % 1200) as u16))
        );
        // Every address still in the table is reached in one lookup, from a station that
        // is itself in the table (so nothing more is evicted).
        let (me, my_port) = (mac(69_999), PortId((69_999 % 1200) as u16));
        for n in (70_000 - 65536)..70_000 {
            let v = sw.forward(my_port, &frame(mac(n), me, 60), ms(70_000));
            let port = PortId((n % 1200) as u16);
            if port == my_port {
                assert_eq!(v, Verdict::Drop(DropReason::Reflected));
            } else {
                assert_eq!(v, Verdict::Unicast(port));
            }
        }
        let on5 = sw.learned_on(PortId(5)).unwrap();
        assert_eq!(sw.remove_port(PortId(5)), Ok(on5));
        assert!(sw.entries().all(|e| e.port != PortId(5)));
        assert_eq!(sw.len(), 65536 - on5);
    }

    mod model {
        //! A plain reference model of the switch, and random operation sequences run on both.
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashMap;

        #[derive(Debug, Clone)]
        pub enum Op {
            Frame {
                ingress: u16,
                dst: usize,
                src: usize,
                len: usize,
            },
            Add(u16),
            Remove(u16),
            Advance(u64),
            Back(u64),
            Hub(bool),
            Ageing(u64),
            Age,
        }

        /// Addresses used: a few unicast, one multicast, broadcast.
        pub const POOL: [MacAddr; 16] = [
            MacAddr([0x02, 0, 0, 0, 0, 1]),
            MacAddr([0x02, 0, 0, 0, 0, 2]),
            MacAddr([0x02, 0, 0, 0, 0, 3]),
            MacAddr([0x02, 0, 0, 0, 0, 4]),
            MacAddr([0x02, 0, 0, 0, 1, 1]),
            MacAddr([0x02, 0, 0, 0, 1, 2]),
            MacAddr([0x02, 0, 0, 1, 0, 1]),
            MacAddr([0x02, 0, 0, 1, 0, 2]),
            MacAddr([0x06, 0, 0, 0, 0, 1]),
            MacAddr([0x0a, 0, 0, 0, 0, 1]),
            MacAddr([0xfe, 0xfd, 10, 0, 0, 1]),
            MacAddr([0xfe, 0xfd, 10, 0, 0, 2]),
            MacAddr([0xfe, 0xfd, 192, 168, 0, 254]),
            MacAddr([0, 0, 0, 0, 0, 0]),
            MacAddr([0x33, 0x33, 0, 0, 0, 1]),
            MacAddr::BROADCAST,
        ];

        pub fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                8 => (0u16..7, 0..POOL.len(), 0..POOL.len(), prop_oneof![Just(60usize), Just(1514), 0usize..20, Just(1519)])
                    .prop_map(|(ingress, dst, src, len)| Op::Frame { ingress, dst, src, len }),
                2 => (0u16..7).prop_map(Op::Add),
                1 => (0u16..7).prop_map(Op::Remove),
                2 => prop_oneof![Just(0u64), Just(1), 0u64..3_000].prop_map(Op::Advance),
                1 => (0u64..2_000).prop_map(Op::Back),
                1 => any::<bool>().prop_map(Op::Hub),
                1 => prop_oneof![Just(0u64), 0u64..5_000].prop_map(Op::Ageing),
                1 => Just(Op::Age),
            ]
        }

        #[derive(Debug, Default)]
        pub struct Model {
            pub cap: usize,
            pub slots: u16,
            pub ageing: u64,
            pub hub: bool,
            pub now: u64,
            pub seq: u64,
            pub ports: BTreeSet<u16>,
            /// mac -> (port, last_seen, order of last refresh)
            pub table: HashMap<MacAddr, (u16, u64, u64)>,
            pub tx: BTreeMap<u16, u64>,
            pub stats: SwitchStats,
        }

        impl Model {
            fn expire(&mut self) {
                let (now, ageing) = (self.now, self.ageing);
                let before = self.table.len();
                self.table.retain(|_, e| now.saturating_sub(e.1) <= ageing);
                self.stats.aged += (before - self.table.len()) as u64;
            }

            pub fn age(&mut self, t: u64) {
                self.now = self.now.max(t);
                self.expire();
            }

            pub fn forward(
                &mut self,
                ingress: u16,
                dst: MacAddr,
                src: MacAddr,
                len: usize,
                t: u64,
            ) -> Verdict {
                self.age(t);
                self.stats.rx_frames += 1;
                self.stats.rx_bytes += len as u64;
                if !self.ports.contains(&ingress) {
                    self.stats.drops.unknown_port += 1;
                    return Verdict::Drop(DropReason::UnknownPort);
                }
                if len < 14 {
                    self.stats.drops.runt += 1;
                    return Verdict::Drop(DropReason::Runt);
                }
                if len > DEFAULT_MAX_FRAME_LEN {
                    self.stats.drops.oversize += 1;
                    return Verdict::Drop(DropReason::Oversize);
                }
                if src.0[0] & 1 == 0 {
                    self.seq += 1;
                    let (now, seq) = (self.now, self.seq);
                    if let Some(e) = self.table.get_mut(&src) {
                        if e.0 != ingress {
                            e.0 = ingress;
                            self.stats.moved += 1;
                        }
                        if e.1 != now {
                            e.1 = now;
                            e.2 = seq;
                        }
                    } else if self.cap > 0 {
                        if self.table.len() == self.cap {
                            let oldest =
                                *self.table.iter().min_by_key(|(_, e)| (e.1, e.2)).unwrap().0;
                            self.table.remove(&oldest);
                            self.stats.evicted += 1;
                        }
                        self.table.insert(src, (ingress, now, seq));
                        self.stats.learned += 1;
                    }
                }
                let known = if self.hub || dst.0[0] & 1 != 0 {
                    None
                } else {
                    let k = self.table.get(&dst).map(|e| e.0);
                    if k.is_none() {
                        self.stats.unknown_unicast_frames += 1;
                    }
                    k
                };
                match known {
                    None => {
                        self.stats.flooded_frames += 1;
                        self.stats.flooded_bytes += len as u64;
                        for p in &self.ports {
                            if *p != ingress {
                                *self.tx.entry(*p).or_default() += 1;
                            }
                        }
                        Verdict::Flood {
                            except: PortId(ingress),
                        }
                    }
                    Some(p) if p == ingress => {
                        self.stats.drops.reflected += 1;
                        Verdict::Drop(DropReason::Reflected)
                    }
                    Some(p) => {
                        self.stats.unicast_frames += 1;
                        self.stats.unicast_bytes += len as u64;
                        *self.tx.entry(p).or_default() += 1;
                        Verdict::Unicast(PortId(p))
                    }
                }
            }

            pub fn add(&mut self, p: u16) -> Result<(), PortError> {
                if p >= self.slots {
                    return Err(PortError::OutOfRange {
                        port: PortId(p),
                        slots: self.slots.into(),
                    });
                }
                if !self.ports.insert(p) {
                    return Err(PortError::AlreadyAttached(PortId(p)));
                }
                self.tx.insert(p, 0);
                Ok(())
            }

            pub fn remove(&mut self, p: u16) -> Result<usize, PortError> {
                if p >= self.slots {
                    return Err(PortError::OutOfRange {
                        port: PortId(p),
                        slots: self.slots.into(),
                    });
                }
                if !self.ports.remove(&p) {
                    return Err(PortError::NotAttached(PortId(p)));
                }
                self.tx.remove(&p);
                let before = self.table.len();
                self.table.retain(|_, e| e.0 != p);
                let n = before - self.table.len();
                self.stats.purged += n as u64;
                Ok(n)
            }
        }
    }

    fn check_against_model<M, P>(sw: &mut Switch<M, P>, model: &mut model::Model, ops: &[model::Op])
    where
        M: AsRef<[MacSlot]> + AsMut<[MacSlot]>,
        P: AsRef<[PortSlot]> + AsMut<[PortSlot]>,
    {
        use model::Op;
        let mut t = 0u64;
        for op in ops {
            match *op {
                Op::Frame {
                    ingress,
                    dst,
                    src,
                    len,
                } => {
                    let (d, s) = (model::POOL[dst], model::POOL[src]);
                    let f = frame(d, s, len);
                    let got = sw.forward(PortId(ingress), &f, ms(t));
                    let want = model.forward(ingress, d, s, len, t);
                    assert_eq!(got, want, "{op:?} at {t}");
                    match got {
                        Verdict::Unicast(p) => {
                            assert_ne!(p, PortId(ingress));
                            assert!(sw.has_port(p));
                        }
                        Verdict::Flood { except } => assert_eq!(except, PortId(ingress)),
                        Verdict::Drop(_) => {}
                    }
                }
                Op::Add(p) => assert_eq!(sw.add_port(PortId(p)), model.add(p)),
                Op::Remove(p) => {
                    assert_eq!(sw.remove_port(PortId(p)), model.remove(p));
                    assert!(sw.entries().all(|e| e.port != PortId(p)));
                }
                Op::Advance(d) => t += d,
                Op::Back(d) => t = t.saturating_sub(d),
                Op::Hub(h) => {
                    sw.set_hub(h);
                    model.hub = h;
                }
                Op::Ageing(a) => {
                    sw.set_ageing(Duration::from_millis(a));
                    model.ageing = a;
                }
                Op::Age => {
                    sw.age(ms(t));
                    model.age(t);
                }
            }
            // The whole visible state agrees with the model after every step.
            assert!(sw.len() <= sw.capacity());
            assert_eq!(sw.len(), model.table.len());
            let got: BTreeMap<MacAddr, PortId> = sw.entries().map(|e| (e.mac, e.port)).collect();
            let want: BTreeMap<MacAddr, PortId> =
                model.table.iter().map(|(m, e)| (*m, PortId(e.0))).collect();
            assert_eq!(got, want);
            for e in sw.entries() {
                assert_eq!(e.age.total_millis(), model.now - model.table[&e.mac].1);
            }
            for mac in model::POOL {
                assert_eq!(
                    sw.lookup(mac),
                    model.table.get(&mac).map(|e| PortId(e.0)),
                    "{mac:?}"
                );
            }
            let ages: Vec<Duration> = sw.entries().map(|e| e.age).collect();
            assert!(
                ages.windows(2).all(|w| w[0] <= w[1]),
                "entries are newest first"
            );
            let ports: BTreeSet<u16> = sw.ports().map(|p| p.0).collect();
            assert_eq!(ports, model.ports);
            for &p in &model.ports {
                let on_p: BTreeSet<MacAddr> = sw.port_entries(PortId(p)).map(|e| e.mac).collect();
                let want: BTreeSet<MacAddr> = model
                    .table
                    .iter()
                    .filter(|(_, e)| e.0 == p)
                    .map(|(m, _)| *m)
                    .collect();
                assert_eq!(sw.learned_on(PortId(p)), Some(want.len()));
                assert_eq!(on_p, want);
                assert_eq!(sw.port_stats(PortId(p)).unwrap().tx_frames, model.tx[&p]);
            }
            assert_eq!(sw.stats(), model.stats);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        #[test]
        fn matches_reference_model(
            cap in 0usize..12,
            ageing in proptest::prop_oneof![proptest::prelude::Just(0u64), proptest::prelude::Just(1_500), proptest::prelude::Just(100_000)],
            seed in proptest::prelude::any::<u64>(),
            ops in proptest::collection::vec(model::op(), 1..120),
        ) {
            let mut sw = Switch::new(vec![MacSlot::EMPTY; cap], vec![PortSlot::EMPTY; 6]);
            sw.set_ageing(Duration::from_millis(ageing));
            sw.set_hash_seed(seed);
            let mut model = model::Model { cap, slots: 6, ageing, ..Default::default() };
            check_against_model(&mut sw, &mut model, &ops);
        }
    }
}
