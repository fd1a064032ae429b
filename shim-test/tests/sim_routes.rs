//! The UML networking page's paragraphs on routes, simulated: "To reach the rest of the world, you should
//! set a default route to the host" and the network-route pitfall ("This page used to
//! recommend setting a network route to your local net. This is wrong …").

use umlnet_core::host::HostAction;
use umlnet_sim::lab::{FAR, GUEST, Lab, PEER};
use umlnet_sim::scenario::for_each_seed;
use umlnet_sim::world::GuestId;

const SEEDS: &[u64] = &[0, 7, 0x5eed];

/// A lab with a guest on `eth0=tuntap,,,192.168.0.254` brought up as the UML networking page says.
fn guest_up(seed: u64) -> (Lab, GuestId) {
    let mut lab = Lab::new(seed);
    let uml = lab.world.add_guest("uml");
    lab.world
        .boot(uml, "eth0=tuntap,,,192.168.0.254", Some(lab.host))
        .expect("tuntap device");
    let out = lab.world.run(uml, "ifconfig eth0 192.168.0.253 up");
    assert_eq!(out.status, 0, "{}", out.text);
    (lab, uml)
}

fn received(text: &str) -> u32 {
    let line = text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping statistics in {text}"));
    line.split(", ")
        .nth(1)
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad statistics line {line}"))
}

#[test]
fn default_route() {
    for_each_seed("sim_routes", "default_route", SEEDS, 3, |seed| {
        let (mut lab, uml) = guest_up(seed);
        let w = &mut lab.world;
        let out = w.run(uml, "route add default gw 192.168.0.254");
        assert_eq!(out.status, 0, "{}", out.text);

        // Another machine on the host's LAN: the guest's ARP for it is answered by the
        // host (proxy ARP on tap0), the peer's ARP for the guest by the host's
        // published entry on eth0, and the host forwards both ways.
        let out = w.run(uml, "ping -c 3 192.168.0.7");
        assert_eq!(received(&out.text), 3, "{}", out.text);
        let tap_mac = w.host(lab.host).interface("tap0").unwrap().mac;
        let eth_mac = w.host(lab.host).interface("eth0").unwrap().mac;
        let uml_arp = w.run(uml, "arp -n");
        assert!(
            uml_arp.text.contains("192.168.0.7 ") && uml_arp.text.contains(&tap_mac.to_string()),
            "{}",
            uml_arp.text
        );
        let peer_arp = w.run(lab.peer, "arp -n");
        let line = peer_arp
            .text
            .lines()
            .find(|l| l.starts_with("192.168.0.253 "))
            .unwrap_or_else(|| panic!("peer has no entry for the guest:\n{}", peer_arp.text));
        assert!(line.contains(&eth_mac.to_string()), "{line}");
        assert!(w.host(lab.host).stats().proxy_replies >= 2);

        // A machine beyond the LAN's router, through the default route.
        let out = w.run(uml, "ping -c 3 10.0.0.5");
        assert_eq!(received(&out.text), 3, "{}", out.text);
        assert!(w.host(lab.host).stats().forwarded >= 12);
    });
}

#[test]
fn default_route_needs_forwarding_and_the_published_entry() {
    for_each_seed(
        "sim_routes",
        "default_route_needs_forwarding_and_the_published_entry",
        SEEDS,
        0,
        |seed| {
            // Without ip_forward the host drops what it would route.
            let (mut lab, uml) = guest_up(seed);
            lab.world.host_mut(lab.host).set_ip_forward(false);
            lab.world.run(uml, "route add default gw 192.168.0.254");
            let out = lab.world.run(uml, "ping -c 2 10.0.0.5");
            assert_eq!(received(&out.text), 0, "{}", out.text);
            assert!(lab.world.host(lab.host).stats().not_forwarding >= 2);

            // Without the published entry nobody answers the peer's ARP for the guest.
            let (mut lab, uml) = guest_up(seed);
            let dev = umlnet_core::host::if_name("eth0").unwrap();
            lab.world
                .host_apply(lab.host, &HostAction::DelProxyNeigh { ip: GUEST, dev })
                .unwrap();
            let out = lab.world.run(uml, "ping -c 2 192.168.0.7");
            assert_eq!(received(&out.text), 0, "{}", out.text);
            let peer_arp = lab.world.run(lab.peer, "arp -n");
            assert!(
                !peer_arp
                    .text
                    .lines()
                    .any(|l| l.starts_with("192.168.0.253 ") && l.contains("ether")),
                "{}",
                peer_arp.text
            );
            let _ = (PEER, FAR);
        },
    );
}

#[test]
fn network_route_pitfall() {
    for_each_seed("sim_routes", "network_route_pitfall", SEEDS, 3, |seed| {
        let (mut lab, uml) = guest_up(seed);
        let w = &mut lab.world;
        // The UML networking page's host side does not proxy ARP on the tap (its by-hand ethertap
        // setup has no proxy_arp line): the tap is a strand of Ethernet with two
        // nodes on it.
        let tap0 = umlnet_core::host::if_name("tap0").unwrap();
        w.host_apply(
            lab.host,
            &HostAction::ProxyArp {
                dev: tap0,
                on: false,
            },
        )
        .unwrap();

        // `ifconfig` made the classful network route the UML networking page warns about.
        let routes = w.run(uml, "route -n");
        assert!(
            routes.text.lines().any(|l| l.starts_with("192.168.0.0 ")
                && l.contains("255.255.255.0")
                && l.ends_with("eth0")),
            "{}",
            routes.text
        );
        // The guest ARPs for the LAN machine on the tap; nobody there answers.
        let out = w.run(uml, "ping -c 2 192.168.0.7");
        assert_eq!(received(&out.text), 0, "{}", out.text);
        let arp = w.run(uml, "arp -n");
        let line = arp
            .text
            .lines()
            .find(|l| l.starts_with("192.168.0.7 "))
            .unwrap_or_else(|| panic!("no ARP entry tried for the peer:\n{}", arp.text));
        assert!(line.contains("incomplete"), "{line}");
        assert_eq!(w.host(lab.host).stats().proxy_replies, 0);
        assert_eq!(w.host(lab.host).stats().forwarded, 0);

        // The UML networking page's fix: a host route to the host, then the default route to it.
        for cmd in [
            "route del -net 192.168.0.0 dev eth0 netmask 255.255.255.0",
            "route add -host 192.168.0.4 dev eth0",
            "route add default gw 192.168.0.4",
        ] {
            let out = w.run(uml, cmd);
            assert_eq!(out.status, 0, "{cmd}: {}", out.text);
        }
        let out = w.run(uml, "ping -c 3 192.168.0.7");
        assert_eq!(received(&out.text), 3, "{}", out.text);
        let out = w.run(uml, "ping -c 3 10.0.0.5");
        assert_eq!(received(&out.text), 3, "{}", out.text);
        // Everything went to the host's MAC, and only the published entry was proxied.
        let tap_mac = w.host(lab.host).interface("tap0").unwrap().mac;
        let arp = w.run(uml, "arp -n");
        assert!(arp.text.contains(&tap_mac.to_string()), "{}", arp.text);
        assert!(w.host(lab.host).stats().forwarded >= 12);
    });
}
