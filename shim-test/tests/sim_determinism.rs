//! One seed gives a byte-identical run: the same transcript and the same pcap of every
//! segment, faults included; another seed gives another run.

use umlnet_core::cmdline::DEBIAN_DAEMON_CTL;
use umlnet_sim::Duration;
use umlnet_sim::lab::{Lab, PEER};
use umlnet_sim::net::Faults;
use umlnet_sim::pcap::Pcap;
use umlnet_sim::scenario::{for_each_seed, proptest_seeds};

/// A run touching every part: a faulty tap with ping and TCP through the host, an
/// ethertap and a SLIP line, a switch that restarts, mcast.
fn run(seed: u64) -> (String, Vec<(String, Pcap)>) {
    let mut lab = Lab::new(seed);
    let w = &mut lab.world;
    let faults = Faults {
        loss: 100_000,
        duplicate: 100_000,
        reorder: 100_000,
        delay: 100_000,
        max_delay: Duration::from_millis(2),
        corrupt: 20_000,
    };
    let uml = w.add_guest("uml");
    let tap = w
        .boot(uml, "eth0=tuntap,,,192.168.0.254", Some(lab.host))
        .unwrap()
        .segment;
    w.boot(uml, "eth1=slip,192.168.0.251", Some(lab.host))
        .unwrap();
    w.run(uml, "ifconfig eth0 192.168.0.253 up");
    w.run(
        uml,
        "ifconfig eth1 192.168.0.250 netmask 255.255.255.255 up",
    );
    w.run(uml, "route add -host 192.168.0.251 dev eth1");
    w.set_faults(tap, faults);
    w.run(uml, "ping -c 10 -i 0.3 192.168.0.254");
    let data: Vec<u8> = (0..16 * 1024u32).map(|i| (i * 7) as u8).collect();
    let _ = w.tcp_transfer(uml, lab.peer, PEER, 7000, &data, Duration::from_secs(60));
    w.run(uml, "ping -c 3 192.168.0.251");

    let tapper = w.add_guest("ethertapper");
    w.boot(tapper, "eth0=ethertap,tap9,,192.168.0.244", Some(lab.host))
        .unwrap();
    w.run(tapper, "ifconfig eth0 192.168.0.243 up");
    w.run(tapper, "ping -c 2 192.168.0.244");

    let sw = w.uml_switch(DEBIAN_DAEMON_CTL, false);
    w.set_faults(sw, faults);
    let a = w.add_guest("a");
    let b = w.add_guest("b");
    w.boot(a, "eth0=daemon", None).unwrap();
    w.boot(b, "eth0=daemon", None).unwrap();
    w.boot(a, "eth1=mcast", None).unwrap();
    w.boot(b, "eth1=mcast", None).unwrap();
    w.run(a, "ifconfig eth0 10.1.0.1 up");
    w.run(b, "ifconfig eth0 10.1.0.2 up");
    w.run(a, "ifconfig eth1 10.2.0.1 netmask 255.255.0.0 up");
    w.run(b, "ifconfig eth1 10.2.0.2 netmask 255.255.0.0 up");
    w.run(b, "ping -c 2 10.2.0.1");
    let t = w.now();
    w.net()
        .schedule_restart(sw, t + Duration::from_millis(1500));
    w.run(a, "ping -c 5 10.1.0.2");
    (w.transcript(), w.net().pcaps())
}

#[test]
fn same_seed_same_bytes() {
    for_each_seed(
        "sim_determinism",
        "same_seed_same_bytes",
        &[0, 77],
        2,
        |seed| {
            let (t1, p1) = run(seed);
            let (t2, p2) = run(seed);
            assert!(t1.lines().count() > 200, "{t1}");
            assert!(t1.contains("fault:"), "no fault was injected");
            assert_eq!(t1, t2, "transcripts differ");
            assert_eq!(p1.len(), p2.len());
            for ((n1, a), (n2, b)) in p1.iter().zip(&p2) {
                assert_eq!(n1, n2);
                assert!(a.frames() > 0 || n1 == "far", "{n1} captured nothing");
                assert!(a.bytes() == b.bytes(), "pcap of {n1} differs");
            }
        },
    );
}

#[test]
fn another_seed_another_run() {
    let seeds = proptest_seeds(2);
    let (t1, _) = run(seeds[0]);
    let (t2, _) = run(seeds[1]);
    assert_ne!(t1, t2);
}
