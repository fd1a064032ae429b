//! Faults, simulated: under 10% loss, duplication and reordering (plus delay and
//! corruption) on the guest's wire, ping and a TCP transfer through the host still
//! complete, and every corrupted frame delivered is one whose checksum fails. Links
//! going down and up and a restarted switch are survived as well.

use umlnet_core::cmdline::DEBIAN_DAEMON_CTL;
use umlnet_sim::Duration;
use umlnet_sim::lab::{Lab, PEER};
use umlnet_sim::net::{Faults, Framing, SegmentId};
use umlnet_sim::scenario::for_each_seed;
use umlnet_sim::summary::checksums_valid;
use umlnet_sim::world::World;

/// 10% each of loss, duplication, reordering and delay (up to 3 ms), 5% corruption.
const FAULTS: Faults = Faults {
    loss: 100_000,
    duplicate: 100_000,
    reorder: 100_000,
    delay: 100_000,
    max_delay: Duration::from_millis(3),
    corrupt: 50_000,
};

fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut r = umlnet_sim::rng::Rng::new(seed);
    (0..len).map(|_| r.next_u64() as u8).collect()
}

fn received(text: &str) -> u32 {
    let line = text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no statistics in {text}"));
    line.split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The scenario, returning the world so that a determinism test can compare runs.
pub fn faulty_tap(seed: u64) -> (World, SegmentId) {
    let mut lab = Lab::new(seed);
    let w = &mut lab.world;
    let uml = w.add_guest("uml");
    let tap = w
        .boot(uml, "eth0=tuntap,,,192.168.0.254", Some(lab.host))
        .unwrap()
        .segment;
    w.run(uml, "ifconfig eth0 192.168.0.253 up");
    w.set_faults(tap, FAULTS);

    let out = w.run(uml, "ping -c 20 -i 0.2 192.168.0.254");
    assert_eq!(out.status, 0, "{}", out.text);
    let got = received(&out.text);
    assert!((5..=20).contains(&got), "{}", out.text);

    let payload = data(seed, 48 * 1024);
    let arrived = w
        .tcp_transfer(
            uml,
            lab.peer,
            PEER,
            5001,
            &payload,
            Duration::from_secs(300),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(arrived == payload, "the TCP stream arrived altered");

    let st = w.net().stats(tap);
    assert!(
        st.lost > 0 && st.duplicated > 0 && st.reordered > 0 && st.delayed > 0,
        "{st:?}"
    );
    assert!(st.corrupted > 0, "{st:?}");
    let corrupted = w.net().corruptions();
    assert_eq!(corrupted.len() as u64, st.corrupted);
    for c in &corrupted {
        assert_eq!(
            checksums_valid(Framing::Ethernet, &c.bytes),
            Some(false),
            "a corrupted frame passes its checksums: {:02x?}",
            c.bytes
        );
    }
    let _ = lab.host;
    (lab.world, tap)
}

#[test]
fn ping_and_tcp_survive_faults() {
    for_each_seed(
        "sim_faults",
        "ping_and_tcp_survive_faults",
        &[0, 1, 2],
        3,
        |seed| {
            faulty_tap(seed);
        },
    );
}

#[test]
fn slip_line_corruption_is_caught() {
    for_each_seed(
        "sim_faults",
        "slip_line_corruption_is_caught",
        &[0, 5],
        2,
        |seed| {
            let mut lab = Lab::new(seed);
            let w = &mut lab.world;
            let uml = w.add_guest("uml");
            let line = w
                .boot(uml, "eth0=slip,192.168.0.251", Some(lab.host))
                .unwrap()
                .segment;
            w.run(uml, "ifconfig eth0 192.168.0.250 up");
            w.set_faults(
                line,
                Faults {
                    corrupt: 200_000,
                    loss: 100_000,
                    ..Faults::NONE
                },
            );
            let out = w.run(uml, "ping -c 30 -i 0.1 192.168.0.251");
            assert!(received(&out.text) >= 5, "{}", out.text);
            let st = w.net().stats(line);
            assert!(st.corrupted > 0, "{st:?}");
            for c in w.net().corruptions() {
                assert_eq!(
                    checksums_valid(Framing::Slip, &c.bytes),
                    Some(false),
                    "{:02x?}",
                    c.bytes
                );
            }
            // Every echo the host answered was intact: it dropped the damaged ones.
            assert!(w.host(lab.host).stats().bad_packets > 0 || st.corrupted == 0);
        },
    );
}

#[test]
fn link_down_up_and_switch_restart() {
    for_each_seed(
        "sim_faults",
        "link_down_up_and_switch_restart",
        &[0, 9],
        2,
        |seed| {
            let mut w = World::new(seed);
            let sw = w.uml_switch(DEBIAN_DAEMON_CTL, false);
            let a = w.add_guest("a");
            let b = w.add_guest("b");
            let c = w.add_guest("c");
            for (i, g) in [a, b, c].into_iter().enumerate() {
                w.boot(g, "eth0=daemon", None).unwrap();
                w.run(g, &format!("ifconfig eth0 192.168.1.{} up", i + 1));
            }
            let out = w.run(a, "ping -c 1 192.168.1.2");
            assert_eq!(received(&out.text), 1, "{}", out.text);
            let b_mac = w.guest(b).interface(0).unwrap().mac;
            assert!(
                w.net()
                    .with_switch(sw, |s| s.lookup(b_mac))
                    .unwrap()
                    .is_some()
            );

            // The switch restarts during a ping: its table is empty, it floods, relearns.
            let t0 = w.now();
            w.net()
                .schedule_restart(sw, t0 + Duration::from_millis(2500));
            let c_rx = w.guest(c).interface(0).unwrap().counters.rx_packets;
            let out = w.run(a, "ping -c 6 192.168.1.2");
            assert_eq!(received(&out.text), 6, "{}", out.text);
            assert!(
                w.transcript()
                    .contains("switch restarted, address table empty")
            );
            assert!(
                w.net()
                    .with_switch(sw, |s| s.lookup(b_mac))
                    .unwrap()
                    .is_some()
            );
            // c heard the one echo that was flooded while the table was empty.
            assert!(w.guest(c).interface(0).unwrap().counters.rx_packets > c_rx);

            // The switch goes down for 3 s of a 10 s ping: about 3 lost, the rest answered.
            let t0 = w.now();
            w.net().schedule_down(sw, t0 + Duration::from_millis(3500));
            w.net().schedule_up(sw, t0 + Duration::from_millis(6500));
            let out = w.run(a, "ping -c 10 192.168.1.2");
            let got = received(&out.text);
            assert!((6..=8).contains(&got), "{}", out.text);
            assert!(w.transcript().contains("link down") && w.transcript().contains("link up"));
        },
    );
}
