//! The UML networking page's paragraph on mcast, simulated: "run two UMLs with eth0=mcast … configure the
//! ethernet device in each machine with different IP addresses … and they should be
//! able to talk to each other." A guest in another group hears none of it.

use umlnet_sim::scenario::for_each_seed;
use umlnet_sim::world::World;

#[test]
fn mcast_two_guests_talk_third_group_unheard() {
    for_each_seed(
        "sim_mcast",
        "mcast_two_guests_talk_third_group_unheard",
        &[0, 42],
        3,
        |seed| {
            let mut w = World::new(seed);
            let uml1 = w.add_guest("uml1");
            let uml2 = w.add_guest("uml2");
            let other = w.add_guest("other");
            let s1 = w.boot(uml1, "eth0=mcast", None).unwrap().segment;
            let s2 = w.boot(uml2, "eth0=mcast", None).unwrap().segment;
            let s3 = w
                .boot(other, "eth0=mcast,,239.192.168.2", None)
                .unwrap()
                .segment;
            assert_eq!(s1, s2);
            assert_ne!(s1, s3);
            assert_eq!(w.net().segment_name(s1), "mcast 239.192.168.1:1102");
            // As on the UML networking page: no `up`, the address brings the device up.
            assert_eq!(w.run(uml1, "ifconfig eth0 192.168.0.254").status, 0);
            assert_eq!(w.run(uml2, "ifconfig eth0 192.168.0.253").status, 0);
            assert_eq!(w.run(other, "ifconfig eth0 192.168.0.252").status, 0);

            let out = w.run(uml1, "ping -c 3 192.168.0.253");
            assert!(out.text.contains(", 3 received,"), "{}", out.text);
            let out = w.run(uml2, "ping -c 2 192.168.0.254");
            assert!(out.text.contains(", 2 received,"), "{}", out.text);

            // The third group heard nothing, not even the broadcasts, and reaches nobody.
            assert_eq!(w.guest(other).interface(0).unwrap().counters.rx_packets, 0);
            let out = w.run(other, "ping -c 2 192.168.0.254");
            assert!(out.text.contains(", 0 received"), "{}", out.text);
            assert_eq!(w.net().stats(s1).delivered, w.net().stats(s1).sent);
            assert!(w.net().stats(s1).sent >= 12);
        },
    );
}
