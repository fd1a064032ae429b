//! The UML networking page's paragraph "The first thing to do is bring the interface up: ifconfig eth<n>
//! <ip-address> up. You should be able to ping the host at this point.", simulated.

use umlnet_sim::lab::{GATE, GUEST, Lab};
use umlnet_sim::scenario::for_each_seed;

#[test]
fn bring_up() {
    for_each_seed("sim_bringup", "bring_up", &[0, 1, 0xdead_beef], 4, |seed| {
        let mut lab = Lab::new(seed);
        let w = &mut lab.world;
        let uml = w.add_guest("uml");
        let boot = w
            .boot(uml, "eth0=tuntap,,,192.168.0.254", Some(lab.host))
            .expect("tuntap device");
        let tap = boot.host_dev.expect("a tap");
        assert_eq!(tap, "tap0");
        // The helper's `tuntap up`: the tap is up with the gate address, forwarding on.
        let host = w.host(lab.host);
        let t = host.interface("tap0").unwrap();
        assert!(t.up);
        assert_eq!(t.addrs[0].addr, GATE);
        assert!(host.ip_forward());

        let out = w.run(uml, "ifconfig eth0 192.168.0.253 up");
        assert_eq!(out.status, 0, "{}", out.text);
        // The helper heard of the address: host route, proxy ARP, published entry.
        let host = w.host(lab.host);
        let routes: Vec<String> = host.routes().iter().map(|r| r.to_string()).collect();
        assert!(
            routes.contains(&"192.168.0.253 dev tap0".to_string()),
            "{routes:?}"
        );
        assert!(host.interface("tap0").unwrap().proxy_arp);
        assert_eq!(host.published(), vec![(GUEST, "eth0".to_string())]);

        let out = w.run(uml, "ping -c 3 192.168.0.254");
        assert_eq!(out.status, 0, "{}", out.text);
        assert!(
            out.text
                .contains("3 packets transmitted, 3 received, 0% packet loss"),
            "{}",
            out.text
        );
        assert_eq!(w.host(lab.host).stats().echo_replies, 3);
    });
}
