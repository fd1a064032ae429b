//! The UML networking page's paragraphs on ethertap and slip, simulated: the same bring-up over each.

use std::net::Ipv4Addr;
use umlnet_core::mac::MacAddr;
use umlnet_sim::lab::Lab;
use umlnet_sim::pcap::LinkType;
use umlnet_sim::scenario::for_each_seed;

#[test]
fn ethertap_bring_up() {
    for_each_seed(
        "sim_ethertap_slip",
        "ethertap_bring_up",
        &[0, 21],
        2,
        |seed| {
            let mut lab = Lab::new(seed);
            let w = &mut lab.world;
            let uml = w.add_guest("uml");
            let boot = w
                .boot(
                    uml,
                    "eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254",
                    Some(lab.host),
                )
                .unwrap();
            assert_eq!(boot.host_dev.as_deref(), Some("tap0"));
            // The helper's ethertap setup: MTU 1500, the gate address, up, forwarding.
            let tap = w.host(lab.host).interface("tap0").unwrap();
            assert_eq!((tap.mtu, tap.up), (1500, true));
            w.run(uml, "ifconfig eth0 192.168.0.253 up");
            let out = w.run(uml, "ping -c 3 192.168.0.254");
            assert!(out.text.contains(", 3 received,"), "{}", out.text);
            assert_eq!(
                w.host(lab.host).neighbour("192.168.0.253".parse().unwrap()),
                Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1]))
            );
            // The wire carried prefixed frames; the capture holds the frames themselves.
            assert!(w.transcript().contains("tap0: uml:eth0 > [ethertap] fe:fd:00:00:00:01 > ff:ff:ff:ff:ff:ff ARP who-has 192.168.0.254"));
            let pcap = w.net().pcap(boot.segment);
            assert_eq!(pcap.frames(), 8);
            assert_eq!(
                &pcap.bytes()[20..24],
                &LinkType::Ethernet.code().to_le_bytes()
            );
            assert_eq!(&pcap.bytes()[24 + 16..24 + 16 + 6], &[0xff; 6]);
            // Through the host to the LAN, as with tuntap.
            w.run(uml, "route add default gw 192.168.0.254");
            let out = w.run(uml, "ping -c 2 192.168.0.7");
            assert!(out.text.contains(", 2 received,"), "{}", out.text);
        },
    );
}

#[test]
fn slip_bring_up() {
    for_each_seed("sim_ethertap_slip", "slip_bring_up", &[0, 21], 2, |seed| {
        let mut lab = Lab::new(seed);
        let w = &mut lab.world;
        let uml = w.add_guest("uml");
        let boot = w
            .boot(uml, "eth0=slip,192.168.0.251", Some(lab.host))
            .unwrap();
        assert_eq!(boot.host_dev.as_deref(), Some("sl0"));
        w.run(uml, "ifconfig eth0 192.168.0.250 up");
        // The helper's `add`: a host route to the guest over sl0 and the published entry.
        let host = w.host(lab.host);
        assert!(
            host.routes()
                .iter()
                .any(|r| r.to_string() == "192.168.0.250 dev sl0")
        );
        assert!(
            host.published()
                .contains(&(Ipv4Addr::new(192, 168, 0, 250), "eth0".into()))
        );
        let out = w.run(uml, "ping -c 3 192.168.0.251");
        assert!(out.text.contains(", 3 received,"), "{}", out.text);
        // The line carries SLIP: every packet starts and ends with END.
        let t = w.transcript();
        assert!(t.contains("sl0 (pty): uml:eth0 > [slip "), "{t}");
        let pcap = w.net().pcap(boot.segment);
        assert_eq!(&pcap.bytes()[20..24], &LinkType::Raw.code().to_le_bytes());
        assert_eq!(pcap.frames(), 6);
        assert_eq!(pcap.bytes()[24 + 16] >> 4, 4, "an IPv4 packet");
        w.run(uml, "route add default gw 192.168.0.251");
        let out = w.run(uml, "ping -c 2 192.168.0.7");
        assert!(out.text.contains(", 2 received,"), "{}", out.text);
    });
}

/// The UML networking page's last paragraph: without a host-side address on the command line nothing
/// is set up on the host, and the by-hand commands (host side 192.168.0.251, guest
/// 192.168.0.250) make it work.
#[test]
fn by_hand_setup_without_gate() {
    for_each_seed(
        "sim_ethertap_slip",
        "by_hand_setup_without_gate",
        &[0, 4],
        2,
        |seed| {
            let gate: Ipv4Addr = "192.168.0.251".parse().unwrap();
            let guest: Ipv4Addr = "192.168.0.250".parse().unwrap();
            for arg in ["eth0=ethertap,tap0", "eth0=slip"] {
                let mut lab = Lab::new(seed);
                let w = &mut lab.world;
                let uml = w.add_guest("uml");
                let dev = w.boot(uml, arg, Some(lab.host)).unwrap().host_dev.unwrap();
                // No helper ran: the host device is down and unaddressed.
                let d = w.host(lab.host).interface(&dev).unwrap();
                assert!(!d.up && d.addrs.is_empty(), "{arg}: {d:?}");
                w.run(uml, "ifconfig eth0 192.168.0.250 up");
                w.run(uml, &format!("route add default gw {gate}"));
                let out = w.run(uml, "ping -c 1 192.168.0.251");
                assert!(out.text.contains(", 0 received"), "{arg}: {}", out.text);

                let plan = w
                    .manual_setup(lab.host, arg, Some(&dev), Some(gate), false, &[guest])
                    .unwrap();
                let text = plan.to_string();
                if dev == "tap0" {
                    assert!(text.contains("ip link set dev tap0 mtu 1484\n"), "{text}");
                } else {
                    assert!(
                        text.contains("ip addr add 192.168.0.251 peer 192.168.0.250/32 dev sl0\n"),
                        "{text}"
                    );
                }
                assert!(
                    text.contains("ip neigh add proxy 192.168.0.250 dev eth0\n"),
                    "{text}"
                );
                assert!(
                    text.ends_with("sysctl -w net.ipv4.ip_forward=1\n"),
                    "{text}"
                );
                for dst in ["192.168.0.251", "192.168.0.7", "10.0.0.5"] {
                    let out = w.run(uml, &format!("ping -c 2 {dst}"));
                    assert!(
                        out.text.contains(", 2 received,"),
                        "{arg} to {dst}: {}",
                        out.text
                    );
                }
            }
        },
    );
}
