//! The MAC table: storage slots ([`MacSlot`]) in the caller's memory, the keyed hash
//! over them, learning, lookup, ageing, fair eviction and the [`LearnedEntry`] view.
//!
//! Each entry is on three lists: its hash bucket's chain, the age list (all entries by
//! when they were last seen; ageing takes from its old end) and its port's list (the
//! port's entries by when they were last seen). A new address evicts the entry its
//! port saw longest ago when the port already holds its limit
//! ([`Switch::set_port_limit`](super::Switch::set_port_limit)), and otherwise, in a full
//! table, the entry seen longest ago on the port that holds the most entries
//! (`usage.rs`): one port flooding source addresses only ever evicts its own.

use crate::mac::MacAddr;
use crate::time::Duration;

use super::{PortId, PortSlot, SwitchStats, usage};

/// An address the switch has learned, as shown by [`Switch::entries`](super::Switch::entries).
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
pub(super) const NIL: u32 = u32::MAX;

/// One slot of MAC-table storage. Create storage with [`MacSlot::EMPTY`]; the contents
/// are private to the switch.
///
/// Each slot is 40 bytes; a table of 64 Ki addresses takes 2.5 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MacSlot {
    /// The station address (valid while the slot is in use).
    pub(super) mac: MacAddr,
    /// The port it was learned on.
    pub(super) port: u16,
    /// When it was last seen (ms).
    pub(super) last_seen: u64,
    /// Head of hash bucket number `<this slot's index>` (independent of this slot's entry).
    pub(super) bucket: u32,
    /// Next entry in the same hash bucket, or next free slot.
    chain: u32,
    /// Neighbour seen earlier (towards the oldest entry).
    pub(super) older: u32,
    /// Neighbour seen later (towards the newest entry).
    newer: u32,
    /// Entry on the same port seen more recently.
    port_prev: u32,
    /// Entry on the same port seen longer ago.
    pub(super) port_next: u32,
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

/// The MAC table's bookkeeping (the slots themselves live in the caller's storage).
#[derive(Debug, Clone, Copy)]
pub(super) struct Table {
    /// Usable slots (storage length, capped below `NIL`).
    pub(super) cap: u32,
    /// Entries in use.
    pub(super) len: u32,
    /// Slots `0..used` have been handed out at least once.
    used: u32,
    /// Free list through `chain`.
    free: u32,
    /// The entry seen longest ago (evicted first, aged first).
    oldest: u32,
    /// The entry seen most recently.
    pub(super) newest: u32,
    /// Key of the hash function.
    pub(super) seed: u64,
    /// The most entries one port may hold.
    pub(super) per_port: u32,
    /// Ports in the usage ranking (the attached ones).
    pub(super) ranked: usize,
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
    pub(super) const fn new(cap: usize, seed: u64) -> Table {
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
            per_port: u32::MAX,
            ranked: 0,
        }
    }

    /// The bucket of `mac` (only called when `cap > 0`).
    fn bucket(&self, mac: MacAddr) -> usize {
        // Multiply-shift range reduction: no division on the hot path.
        (((hash(mac, self.seed) >> 32) * u64::from(self.cap)) >> 32) as usize
    }

    pub(super) fn find(&self, slots: &[MacSlot], mac: MacAddr) -> u32 {
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

    pub(super) fn chain_link(&self, slots: &mut [MacSlot], i: u32) {
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

    /// Puts entry `i` at the head (seen most recently) of `port`'s list, without
    /// counting it.
    fn port_push_front(slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32, port: u16) {
        let p = &mut ports[usize::from(port)];
        let first = p.first;
        p.first = i;
        if first == NIL {
            p.last = i;
        }
        let s = &mut slots[i as usize];
        s.port = port;
        s.port_prev = NIL;
        s.port_next = first;
        if first != NIL {
            slots[first as usize].port_prev = i;
        }
    }

    /// Takes entry `i` out of its port's list, without counting it.
    fn port_take(slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32) {
        let MacSlot {
            port,
            port_prev,
            port_next,
            ..
        } = slots[i as usize];
        let p = &mut ports[usize::from(port)];
        if port_prev == NIL {
            p.first = port_next;
        } else {
            slots[port_prev as usize].port_next = port_next;
        }
        if port_next == NIL {
            p.last = port_prev;
        } else {
            slots[port_next as usize].port_prev = port_prev;
        }
    }

    fn port_link(&self, slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32, port: u16) {
        Self::port_push_front(slots, ports, i, port);
        ports[usize::from(port)].learned += 1;
        usage::raised(ports, port);
    }

    fn port_unlink(&self, slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32) {
        let port = slots[i as usize].port;
        Self::port_take(slots, ports, i);
        ports[usize::from(port)].learned -= 1;
        usage::lowered(ports, self.ranked, port);
    }

    /// Forgets entry `i` and frees its slot.
    pub(super) fn remove(&mut self, slots: &mut [MacSlot], ports: &mut [PortSlot], i: u32) {
        self.chain_unlink(slots, i);
        self.age_unlink(slots, i);
        self.port_unlink(slots, ports, i);
        slots[i as usize].chain = self.free;
        self.free = i;
        self.len -= 1;
    }

    /// Makes room on `port` for one more entry: when it holds its limit already, its
    /// entry seen longest ago is evicted.
    fn make_room_on(
        &mut self,
        slots: &mut [MacSlot],
        ports: &mut [PortSlot],
        stats: &mut SwitchStats,
        port: u16,
    ) {
        let p = &ports[usize::from(port)];
        if p.learned >= self.per_port && p.last != NIL {
            self.remove(slots, ports, p.last);
            stats.evicted += 1;
        }
    }

    /// A slot for a new entry on `port` (`NIL` when the table has no room at all).
    /// Evicts `port`'s own entry seen longest ago when it holds its limit, else, when
    /// the table is full, the entry seen longest ago on the port holding the most.
    fn alloc(
        &mut self,
        slots: &mut [MacSlot],
        ports: &mut [PortSlot],
        stats: &mut SwitchStats,
        port: u16,
    ) -> u32 {
        self.make_room_on(slots, ports, stats, port);
        if self.free == NIL {
            if self.used < self.cap {
                self.used += 1;
                return self.used - 1;
            }
            let Some(top) = usage::top(ports, self.ranked) else {
                return NIL;
            };
            let victim = ports[usize::from(top)].last;
            if victim == NIL {
                return NIL; // no capacity at all
            }
            self.remove(slots, ports, victim);
            stats.evicted += 1;
        }
        let i = self.free;
        self.free = slots[i as usize].chain;
        i
    }

    /// Records that `mac` was seen on `port` at `now`.
    pub(super) fn learn(
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
                if self.per_port == 0 {
                    return;
                }
                self.make_room_on(slots, ports, stats, port);
                self.port_unlink(slots, ports, i);
                self.port_link(slots, ports, i, port);
                stats.moved += 1;
            }
            if slots[i as usize].last_seen != now {
                // The age list stays sorted by `last_seen` because time never goes back.
                slots[i as usize].last_seen = now;
                if self.newest != i {
                    self.age_unlink(slots, i);
                    self.age_push_newest(slots, i);
                }
                // So does the port's list.
                if ports[usize::from(port)].first != i {
                    Self::port_take(slots, ports, i);
                    Self::port_push_front(slots, ports, i, port);
                }
            }
            return;
        }
        if self.per_port == 0 {
            return;
        }
        let i = self.alloc(slots, ports, stats, port);
        if i == NIL {
            return;
        }
        let s = &mut slots[i as usize];
        s.mac = mac;
        s.last_seen = now;
        self.chain_link(slots, i);
        self.age_push_newest(slots, i);
        self.port_link(slots, ports, i, port);
        self.len += 1;
        stats.learned += 1;
    }

    /// Forgets every entry not seen for longer than `ageing`; returns how many.
    pub(super) fn expire(
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
