//! The UML networking page's paragraph on TUN/TAP set up beforehand (tunctl, ifconfig, ip_forward, route,
//! proxy_arp, arp -Ds), simulated, and its note: "the IP address that must be used for
//! the eth device inside UML is fixed by the routing and proxy arp … You can use a
//! different one, but it won't work because reply packets won't reach the UML. This is
//! a feature."

use umlnet_sim::lab::{GATE, GUEST, Lab, NAMESERVER};
use umlnet_sim::scenario::for_each_seed;
use umlnet_sim::world::GuestId;

fn fixed_tap(seed: u64) -> (Lab, GuestId) {
    let mut lab = Lab::new(seed);
    let w = &mut lab.world;
    let plan = w
        .manual_setup(
            lab.host,
            "eth0=tuntap,tap0",
            None,
            Some(GATE),
            true,
            &[GUEST],
        )
        .expect("the UML networking page's by-hand setup");
    let text = plan.to_string();
    assert!(
        text.starts_with("ip tuntap add dev tap0 mode tap user 0\n"),
        "{text}"
    );
    assert!(
        text.contains("ip neigh add proxy 192.168.0.253 dev eth0\n"),
        "{text}"
    );
    let uml = w.add_guest("uml");
    w.boot(uml, "eth0=tuntap,tap0", Some(lab.host))
        .expect("tap0 exists");
    (lab, uml)
}

#[test]
fn fixed_address_works() {
    for_each_seed(
        "sim_tuntap_fixed",
        "fixed_address_works",
        &[0, 8],
        2,
        |seed| {
            let (mut lab, uml) = fixed_tap(seed);
            let w = &mut lab.world;
            w.run(uml, "ifconfig eth0 192.168.0.253 up");
            w.run(uml, "route add default gw 192.168.0.254");
            for dst in ["192.168.0.254", "192.168.0.7", "10.0.0.5"] {
                let out = w.run(uml, &format!("ping -c 2 {dst}"));
                assert!(out.text.contains(", 2 received,"), "{dst}: {}", out.text);
            }
        },
    );
}

#[test]
fn another_address_gets_no_replies() {
    for_each_seed(
        "sim_tuntap_fixed",
        "another_address_gets_no_replies",
        &[0, 8],
        2,
        |seed| {
            let (mut lab, uml) = fixed_tap(seed);
            let w = &mut lab.world;
            // A nasty user takes the name server's address.
            w.run(uml, &format!("ifconfig eth0 {NAMESERVER} up"));
            w.run(uml, "route add default gw 192.168.0.254");
            let ns_rx = w
                .guest(lab.nameserver)
                .interface(0)
                .unwrap()
                .counters
                .rx_packets;
            for dst in ["192.168.0.254", "192.168.0.7", "10.0.0.5"] {
                let out = w.run(uml, &format!("ping -c 2 {dst}"));
                assert!(out.text.contains(", 0 received"), "{dst}: {}", out.text);
            }
            // The replies went to the real name server, which still works for everyone.
            assert!(
                w.guest(lab.nameserver)
                    .interface(0)
                    .unwrap()
                    .counters
                    .rx_packets
                    > ns_rx
            );
            let out = w.run(lab.peer, &format!("ping -c 2 {NAMESERVER}"));
            assert!(out.text.contains(", 2 received,"), "{}", out.text);
        },
    );
}
