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
//! * A full table evicts fairly: the entry seen longest ago on the port that holds the
//!   most entries (as Open vSwitch does), and a port may be limited to a number of
//!   entries ([`Switch::set_port_limit`]; beyond it, it evicts its own), so a port that
//!   floods source addresses never evicts another port's stations (the original evicted
//!   the oldest entry of the whole table, and unicast between two quiet stations was
//!   then flooded to the attacker).
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

mod port;
mod stats;
mod table;
#[cfg(test)]
mod test;
mod usage;
mod verdict;

use port::PortCounters;
pub use port::{PortError, PortSlot};
pub use stats::{Drops, PortStats, SwitchStats};
pub use table::{LearnedEntry, MacSlot};
use table::{NIL, Table};
pub use verdict::{DropReason, PortId, Verdict};

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
/// big: 40 bytes per address and 128 bytes per port slot.
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

    /// The most addresses one port may hold (by default as many as the table).
    pub fn port_limit(&self) -> usize {
        (self.table.per_port as usize).min(self.capacity())
    }

    /// Limits the addresses one port may hold: a port at its limit that sees a new
    /// source address forgets its own address seen longest ago (0: nothing is learned).
    /// A port already above a lowered limit keeps its addresses until it learns another.
    pub fn set_port_limit(&mut self, limit: usize) {
        self.table.per_port = u32::try_from(limit).unwrap_or(u32::MAX);
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
        slot.last = NIL;
        slot.counters = PortCounters {
            flood_base_frames: self.stats.flooded_frames,
            flood_base_bytes: self.stats.flooded_bytes,
            ..PortCounters::default()
        };
        ports[pos].member = port.0;
        self.port_count += 1;
        usage::push(ports, &mut self.table.ranked, port.0);
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
        usage::remove(ports, &mut self.table.ranked, port.0);
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
        slot.last = NIL;
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
