//! The UML networking page's paragraph on hardware addresses, simulated: without a MAC the driver assigns
//! `fe:fd:<ip bytes>`; a MAC with an odd first byte is a broadcast address, "which you
//! don't want assigned to a device".

use umlnet_core::mac::MacAddr;
use umlnet_sim::lab::{GATE, GUEST, Lab};
use umlnet_sim::scenario::for_each_seed;
use umlnet_sim::world::BootError;

#[test]
fn derived_mac_in_host_arp_table() {
    for_each_seed(
        "sim_mac",
        "derived_mac_in_host_arp_table",
        &[0, 11],
        3,
        |seed| {
            let mut lab = Lab::new(seed);
            let w = &mut lab.world;
            let uml = w.add_guest("uml");
            w.boot(uml, "eth0=tuntap,,,192.168.0.254", Some(lab.host))
                .unwrap();
            w.run(uml, "ifconfig eth0 192.168.0.253 up");
            let out = w.run(uml, "ping -c 1 192.168.0.254");
            assert!(out.text.contains(", 1 received,"), "{}", out.text);
            let want = MacAddr([0xfe, 0xfd, 192, 168, 0, 253]);
            assert_eq!(w.guest(uml).interface(0).unwrap().mac, want);
            let entry = w
                .host(lab.host)
                .neighbours()
                .into_iter()
                .find(|n| n.ip == GUEST)
                .expect("the host learned the guest");
            assert_eq!(entry.dev, "tap0");
            assert_eq!(entry.mac, Some(want));
            assert_eq!(
                entry.to_string(),
                "192.168.0.253 dev tap0 lladdr fe:fd:c0:a8:00:fd REACHABLE"
            );
            let _ = GATE;
        },
    );
}

#[test]
fn configured_mac_is_used_and_odd_first_byte_refused() {
    let mut lab = Lab::new(5);
    let w = &mut lab.world;
    // A configured (even) MAC is what the host sees.
    let uml = w.add_guest("uml");
    w.boot(
        uml,
        "eth0=tuntap,,fe:fd:0:0:0:1,192.168.0.254",
        Some(lab.host),
    )
    .unwrap();
    w.run(uml, "ifconfig eth0 192.168.0.253 up");
    let out = w.run(uml, "ping -c 1 192.168.0.254");
    assert!(out.text.contains(", 1 received,"), "{}", out.text);
    assert_eq!(
        w.host(lab.host).neighbour(GUEST),
        Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1]))
    );

    // An odd first byte is refused, and nothing is opened on the host.
    let bad = w.add_guest("bad");
    let taps = w.host(lab.host).interfaces().len();
    let e = w
        .boot(
            bad,
            "eth1=tuntap,,01:02:03:04:05:06,192.168.0.254",
            Some(lab.host),
        )
        .unwrap_err();
    match &e {
        BootError::Guest(_) | BootError::Parse(_) => {}
        other => panic!("refused for the wrong reason: {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("broadcast") || msg.contains("first byte") || msg.contains("multicast"),
        "{msg}"
    );
    assert!(w.guest(bad).interface(1).is_none());
    assert_eq!(w.host(lab.host).interfaces().len(), taps);
    // The same MAC set later with ifconfig is refused too.
    w.boot(bad, "eth1=tuntap,,,192.168.0.254", Some(lab.host))
        .unwrap();
    let out = w.run(bad, "ifconfig eth1 hw ether 01:02:03:04:05:06");
    assert_ne!(out.status, 0, "{}", out.text);
}
