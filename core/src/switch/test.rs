//! Tests of [`super`]: examples from the kernel and the original tools, and property tests.

use super::*;

use crate::mac::MacAddr;
use crate::time::{Duration, Instant};
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
            // Fair eviction: the entry seen longest ago on a port holding the most (on a
            // tie, whichever of those the switch chose).
            let count = |p: PortId| model.values().filter(|v| v.0 == p).count();
            let most = (0..4).map(|p| count(PortId(p))).max().unwrap();
            let candidates: Vec<MacAddr> = (0..4)
                .map(PortId)
                .filter(|p| count(*p) == most)
                .filter_map(|p| {
                    model
                        .iter()
                        .filter(|(_, v)| v.0 == p)
                        .min_by_key(|(_, v)| v.1)
                        .map(|(m, _)| *m)
                })
                .collect();
            let victim = candidates
                .iter()
                .copied()
                .find(|m| sw.lookup(*m).is_none())
                .unwrap_or(candidates[0]);
            model.remove(&victim);
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
    assert_eq!(size_of::<PortSlot>(), 128);
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
    // Fair eviction keeps the ports even (65536 over 1200 ports is about 55 each): a
    // port learning evicts from one holding the most, so they differ by 2 at most.
    let held: Vec<usize> = (0..1200)
        .map(|p| sw.learned_on(PortId(p)).unwrap())
        .collect();
    let (least, most) = (*held.iter().min().unwrap(), *held.iter().max().unwrap());
    assert!(
        most - least <= 2 && (53..=57).contains(&least),
        "{least}..{most}"
    );
    // Each port lost its oldest: the newest address of every port is still there.
    for n in (70_000 - 1200)..70_000 {
        assert_eq!(sw.lookup(mac(n)), Some(PortId((n % 1200) as u16)));
    }
    // Every address still in the table is reached in one lookup, from a station that
    // is itself in the table (so nothing more is evicted).
    let (me, my_port) = (mac(69_999), PortId((69_999 % 1200) as u16));
    let present: Vec<(MacAddr, PortId)> = sw.entries().map(|e| (e.mac, e.port)).collect();
    for (m, port) in present {
        let v = sw.forward(my_port, &frame(m, me, 60), ms(70_000));
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
        Limit(usize),
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
            1 => prop_oneof![0usize..4, Just(usize::MAX)].prop_map(Op::Limit),
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
        /// The most entries one port may hold.
        pub limit: usize,
        pub ports: BTreeSet<u16>,
        /// mac -> (port, last_seen, order of last refresh, order of last refresh or move)
        pub table: HashMap<MacAddr, (u16, u64, u64, u64)>,
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

        fn count(&self, port: u16) -> usize {
            self.table.values().filter(|e| e.0 == port).count()
        }

        /// The entry `port` saw longest ago.
        fn port_lru(&self, port: u16) -> Option<MacAddr> {
            self.table
                .iter()
                .filter(|(_, e)| e.0 == port)
                .min_by_key(|(_, e)| e.3)
                .map(|(m, _)| *m)
        }

        fn evict(&mut self, mac: MacAddr) {
            self.table.remove(&mac);
            self.stats.evicted += 1;
        }

        /// When `port` holds its limit, forgets its entry seen longest ago.
        fn make_room_on(&mut self, port: u16) {
            if self.count(port) >= self.limit
                && let Some(m) = self.port_lru(port)
            {
                self.evict(m);
            }
        }

        /// `evicted` tells which address the switch under test evicted when several
        /// ports hold the most (any of them is fair).
        pub fn forward(
            &mut self,
            ingress: u16,
            dst: MacAddr,
            src: MacAddr,
            len: usize,
            t: u64,
            evicted: &dyn Fn(MacAddr) -> bool,
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
                let moving = self.table.get(&src).is_some_and(|e| e.0 != ingress);
                if moving && self.limit > 0 {
                    self.make_room_on(ingress);
                }
                if let Some(e) = self.table.get_mut(&src) {
                    if e.0 != ingress {
                        if self.limit == 0 {
                            // A port that may hold nothing does not take it over.
                            return self.deliver(ingress, dst, len);
                        }
                        e.0 = ingress;
                        e.3 = seq;
                        self.stats.moved += 1;
                    }
                    if e.1 != now {
                        e.1 = now;
                        e.2 = seq;
                        e.3 = seq;
                    }
                } else if self.cap > 0 && self.limit > 0 {
                    let before = self.table.len();
                    self.make_room_on(ingress);
                    if self.table.len() == before && before == self.cap {
                        // Full: the entry seen longest ago on a port holding the most.
                        let most = self.ports.iter().map(|p| self.count(*p)).max().unwrap();
                        let candidates: Vec<MacAddr> = self
                            .ports
                            .iter()
                            .filter(|p| self.count(**p) == most)
                            .filter_map(|p| self.port_lru(*p))
                            .collect();
                        let victim = candidates
                            .iter()
                            .copied()
                            .find(|m| evicted(*m))
                            .unwrap_or(candidates[0]);
                        self.evict(victim);
                    }
                    self.table.insert(src, (ingress, now, seq, seq));
                    self.stats.learned += 1;
                }
            }
            self.deliver(ingress, dst, len)
        }

        /// Where a frame goes once its source is learned.
        fn deliver(&mut self, ingress: u16, dst: MacAddr, len: usize) -> Verdict {
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
                let gone = |m: MacAddr| sw.lookup(m).is_none();
                let want = model.forward(ingress, d, s, len, t, &gone);
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
            Op::Limit(n) => {
                sw.set_port_limit(n);
                model.limit = n;
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
        let mut model = model::Model { cap, slots: 6, ageing, limit: usize::MAX, ..Default::default() };
        check_against_model(&mut sw, &mut model, &ops);
    }
}

/// A port that floods source addresses never evicts another port's entries while the
/// others hold fewer than the room that leaves it, with or without a per-port limit.
#[test]
fn a_flooding_port_evicts_only_its_own_addresses() {
    let mut sw = Switch::new(vec![MacSlot::EMPTY; 64], vec![PortSlot::EMPTY; 4]);
    for p in 0..4 {
        sw.add_port(PortId(p)).unwrap();
    }
    let quiet = |p: u16, n: u8| MacAddr([0x02, 0, 0, 0, p as u8, n]);
    for p in 1..4u16 {
        for n in 0..(5 * p as u8) {
            sw.forward(
                PortId(p),
                &frame(MacAddr::BROADCAST, quiet(p, n), 60),
                ms(0),
            );
        }
    }
    for n in 0..10_000u32 {
        let b = n.to_be_bytes();
        let src = MacAddr([0x06, 0xff, b[0], b[1], b[2], b[3]]);
        sw.forward(
            PortId(0),
            &frame(quiet(1, 0), src, 60),
            ms(u64::from(n) / 16),
        );
    }
    for p in 1..4u16 {
        for n in 0..(5 * p as u8) {
            assert_eq!(sw.lookup(quiet(p, n)), Some(PortId(p)), "{p} {n}");
        }
    }
    assert_eq!(sw.learned_on(PortId(0)), Some(64 - 30));
    // Two quiet stations still reach each other by unicast.
    assert_eq!(
        sw.forward(PortId(2), &frame(quiet(3, 1), quiet(2, 1), 60), ms(700)),
        Verdict::Unicast(PortId(3))
    );
    // With a per-port limit the flood stays within it.
    sw.set_port_limit(8);
    sw.forward(
        PortId(0),
        &frame(MacAddr::BROADCAST, MacAddr([6, 1, 1, 1, 1, 1]), 60),
        ms(800),
    );
    assert_eq!(sw.learned_on(PortId(0)), Some(64 - 30));
    assert_eq!(sw.port_limit(), 8);
    sw.remove_port(PortId(0)).unwrap();
    sw.add_port(PortId(0)).unwrap();
    for n in 0..100u8 {
        sw.forward(
            PortId(0),
            &frame(MacAddr::BROADCAST, MacAddr([6, 2, 0, 0, 0, n]), 60),
            ms(900),
        );
    }
    assert_eq!(sw.learned_on(PortId(0)), Some(8));
    assert_eq!(sw.len(), 38);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Quiet ports holding `q_i` entries keep them all through any flood from one port
    /// while `capacity - sum(q_i) > max(q_i)` (the flooder then always holds the most).
    #[test]
    fn fair_eviction_protects_quiet_ports(
        quiet in proptest::collection::vec(0u8..6, 1..5),
        spare in 1usize..10,
        limit in proptest::prop_oneof![proptest::prelude::Just(usize::MAX), 1usize..20],
        flood in 0u32..400,
    ) {
        let total: usize = quiet.iter().map(|q| usize::from(*q)).sum();
        let most = usize::from(*quiet.iter().max().unwrap());
        let cap = total + most + spare;
        let ports = quiet.len() + 1;
        let mut sw = Switch::new(vec![MacSlot::EMPTY; cap], vec![PortSlot::EMPTY; ports]);
        sw.set_port_limit(limit.max(most));
        for p in 0..ports {
            sw.add_port(PortId(p as u16)).unwrap();
        }
        let station = |p: usize, n: u8| MacAddr([0x02, 0, 0, 0, p as u8, n]);
        for (i, q) in quiet.iter().enumerate() {
            for n in 0..*q {
                sw.forward(PortId(i as u16 + 1), &frame(MacAddr::BROADCAST, station(i + 1, n), 60), ms(0));
            }
        }
        for n in 0..flood {
            let b = n.to_be_bytes();
            sw.forward(PortId(0), &frame(MacAddr::BROADCAST, MacAddr([6, 0xee, b[0], b[1], b[2], b[3]]), 60), ms(u64::from(n)));
        }
        for (i, q) in quiet.iter().enumerate() {
            for n in 0..*q {
                proptest::prop_assert_eq!(sw.lookup(station(i + 1, n)), Some(PortId(i as u16 + 1)));
            }
        }
        proptest::prop_assert!(sw.learned_on(PortId(0)).unwrap() <= limit.max(most));
    }
}
