//! The routing table: `route -n` after `ifconfig`, the network-route fix of the UML
//! networking page, net-tools error texts, and a default route through a gateway guest.

use super::*;
use crate::shell::Run;
use smoltcp::time::Duration;
use smoltcp::wire::{EthernetFrame, EthernetProtocol};
use std::vec::Vec;
use umlnet_core::link::Medium;

#[test]
fn route_n_after_ifconfig_matches_the_networking_page() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.253 up");
    let table = w.ok(0, "route -n");
    assert_eq!(
        table,
        "Kernel IP routing table\n\
         Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
         192.168.0.0     0.0.0.0         255.255.255.0   U     0      0        0 eth0\n"
    );
    // The UML networking page prints the same two lines with its spacing collapsed.
    const PAGE: [&str; 2] = [
        "Destination Gateway Genmask Flags Metric Ref Use Iface",
        "192.168.0.0 0.0.0.0 255.255.255.0 U 0 0 0 eth0",
    ];
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let ours: Vec<String> = table.lines().skip(1).map(squash).collect();
    assert_eq!(ours, PAGE);
    // A netmask given to ifconfig replaces the connected route.
    w.ok(0, "ifconfig eth0 192.168.0.253 netmask 255.255.0.0 up");
    assert!(w.ok(0, "route -n").ends_with(
        "192.168.0.0     0.0.0.0         255.255.0.0     U     0      0        0 eth0\n"
    ));
    assert!(
        w.ok(0, "ifconfig eth0")
            .contains("inet addr:192.168.0.253  Bcast:192.168.255.255  Mask:255.255.0.0\n")
    );
    // A device that is down counts nothing that arrives.
    w.ok(1, "ifconfig eth0 192.168.0.9 up");
    w.ok(0, "ifconfig eth0 down");
    let before = w.guests[0].interface(0).unwrap().counters;
    let out = w.run(1, "ping -c 1 -W 1 192.168.0.253");
    assert!(
        out.text.contains(" 0 received, 100% packet loss"),
        "{}",
        out.text
    );
    assert_eq!(w.guests[0].interface(0).unwrap().counters, before);
    w.ok(0, "ifconfig eth0 up");
    // Down removes the routes; up brings back only the connected one.
    w.ok(0, "route add -host 192.168.0.4 dev eth0");
    w.ok(0, "ifconfig eth0 down");
    assert_eq!(w.ok(0, "route -n").lines().count(), 2);
    w.ok(0, "ifconfig eth0 up");
    assert_eq!(w.ok(0, "route -n").lines().count(), 3);
}

/// The UML networking page's fix for the network-route pitfall, with the host at 192.168.0.4 and
/// another machine on the host's LAN at 192.168.0.7 that no ARP from the UML reaches.
#[test]
fn page_route_del_add_sequence_sends_everything_to_the_host() {
    let mut w = World::new(2);
    let tap = w.segment(Medium::Ethernet);
    w.plug(0, 0, tap, None); // the UML
    w.plug(1, 0, tap, None); // the host's side of the tap
    w.ok(0, "ifconfig eth0 192.168.0.253 up");
    w.ok(1, "ifconfig eth0 192.168.0.4 up");

    // With the automatic network route the UML ARPs for the LAN machine and fails.
    let out = w.run(0, "ping -c 1 -W 5 192.168.0.7");
    assert!(
        out.text
            .contains("From 192.168.0.253 icmp_seq=1 Destination Host Unreachable"),
        "{}",
        out.text
    );

    w.ok(
        0,
        "route del -net 192.168.0.0 dev eth0 netmask 255.255.255.0",
    );
    w.ok(0, "route add -host 192.168.0.4 dev eth0");
    w.ok(0, "route add default gw 192.168.0.4");
    assert_eq!(
        w.ok(0, "route -n"),
        "Kernel IP routing table\n\
         Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
         0.0.0.0         192.168.0.4     0.0.0.0         UG    0      0        0 eth0\n\
         192.168.0.4     0.0.0.0         255.255.255.255 UH    0      0        0 eth0\n"
    );
    assert!(
        w.ok(0, "route")
            .contains("\ndefault         192.168.0.4     0.0.0.0         UG    0")
    );
    let out = w.run(0, "ping -c 2 192.168.0.4");
    assert!(
        out.text.contains("2 packets transmitted, 2 received"),
        "{}",
        out.text
    );

    // Now a packet for the LAN machine goes to the host's hardware address, no ARP.
    w.segments[tap].clear_log();
    let host_mac = w.guests[1].interface(0).unwrap().mac;
    let now = w.now();
    let Run::Started(job) = w.guests[0].run("ping -c 1 -W 1 192.168.0.7", now) else {
        panic!("ping did not start");
    };
    w.advance(Duration::from_secs(2));
    let out = w.guests[0].take_job(job).unwrap();
    assert!(
        out.text
            .contains("1 packets transmitted, 0 received, 100% packet loss"),
        "{}",
        out.text
    );
    let sent: Vec<_> = w.segments[tap]
        .log()
        .into_iter()
        .filter(|(port, _)| *port == 0)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(sent.len(), 1, "one echo request and nothing else");
    let frame = EthernetFrame::new_checked(&sent[0][..]).unwrap();
    assert_eq!(frame.ethertype(), EthernetProtocol::Ipv4);
    assert_eq!(frame.dst_addr().0, host_mac.0);
    // The host, which does not forward here, counted it as received for its MAC.
    assert_eq!(w.guests[1].interface(0).unwrap().counters.rx_dropped, 0);
}

#[test]
fn route_errors_read_like_net_tools() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.253 up");
    let cases = [
        (
            "route add default gw 10.9.9.9",
            "SIOCADDRT: Network is unreachable\n",
            7,
        ),
        (
            "route del -net 172.16.0.0 netmask 255.255.0.0 dev eth0",
            "SIOCDELRT: No such process\n",
            7,
        ),
        (
            "route add -host 192.168.0.5 dev eth9",
            "SIOCADDRT: No such device\n",
            7,
        ),
        ("route add foo", "foo: Host name lookup failure\n", 6),
        (
            "ifconfig eth9",
            "eth9: error fetching interface information: Device not found\n",
            1,
        ),
        (
            "ifconfig eth9 1.2.3.4",
            "SIOCSIFADDR: No such device\n",
            255,
        ),
        ("nosuch", "nosuch: command not found\n", 127),
    ];
    for (cmd, text, status) in cases {
        let out = w.run(0, cmd);
        assert_eq!((out.text.as_str(), out.status), (text, status), "{cmd}");
    }
    w.ok(0, "route add -host 192.168.0.4 dev eth0");
    let out = w.run(0, "route add -host 192.168.0.4 dev eth0");
    assert_eq!(out.text, "SIOCADDRT: File exists\n");
    let out = w.run(0, "route add -net 10.0.0.1 netmask 255.0.0.0 dev eth0");
    assert_eq!(out.status, 3);
    assert!(
        out.text
            .starts_with("route: netmask doesn't match route address\nUsage: inet_route")
    );
    w.ok(
        0,
        "route add -net 10.0.0.0 netmask 255.0.0.0 gw 192.168.0.4",
    );
    w.ok(0, "route add -host 10.2.3.4 gw 192.168.0.4");
    w.ok(0, "route del -host 10.2.3.4");
    w.ok(0, "route del -net 10.0.0.0/8");
    assert_eq!(w.ok(0, "route -n").lines().count(), 4);
}

/// A—B—C: B has an interface on each segment. smoltcp does not forward, so the
/// gateway itself is the target: A reaches B's far address through its default route.
#[test]
fn default_route_via_a_two_interface_gateway() {
    let mut w = World::new(3);
    let left = w.segment(Medium::Ethernet);
    let right = w.segment(Medium::Ethernet);
    w.plug(0, 0, left, None);
    w.plug(1, 0, left, None);
    w.plug(1, 1, right, None);
    w.plug(2, 0, right, None);
    w.ok(0, "ifconfig eth0 10.0.1.1 netmask 255.255.255.0 up");
    w.ok(1, "ifconfig eth0 10.0.1.2 netmask 255.255.255.0 up");
    w.ok(1, "ifconfig eth1 10.0.2.2 netmask 255.255.255.0 up");
    w.ok(2, "ifconfig eth0 10.0.2.3 netmask 255.255.255.0 up");
    assert_eq!(
        w.ok(1, "route -n"),
        "Kernel IP routing table\n\
         Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
         10.0.1.0        0.0.0.0         255.255.255.0   U     0      0        0 eth0\n\
         10.0.2.0        0.0.0.0         255.255.255.0   U     0      0        0 eth1\n"
    );
    assert_eq!(w.run(0, "ping -c 1 10.0.2.2").status, 2, "no route yet");
    w.ok(0, "route add default gw 10.0.1.2");
    w.ok(2, "route add default gw 10.0.2.2");
    let out = w.run(0, "ping -c 2 10.0.2.2");
    assert!(
        out.text
            .contains("64 bytes from 10.0.2.2: icmp_seq=1 ttl=64"),
        "{}",
        out.text
    );
    assert!(out.text.contains("2 received"), "{}", out.text);
    let out = w.run(2, "ping -c 1 10.0.1.2");
    assert!(out.text.contains("1 received"), "{}", out.text);
    // B answered A on eth0 and C on eth1 (one table, two interfaces).
    let b0 = w.guests[1].interface(0).unwrap().counters;
    let b1 = w.guests[1].interface(1).unwrap().counters;
    assert!(b0.tx_packets >= 3 && b1.tx_packets >= 2, "{b0:?} {b1:?}");
    // B does not forward: A cannot reach C.
    let out = w.run(0, "ping -c 1 -W 2 10.0.2.3");
    assert!(
        out.text.contains("0 received, 100% packet loss"),
        "{}",
        out.text
    );
    assert_eq!(
        w.ok(1, "arp -n"),
        "Address                  HWtype  HWaddress           Flags Mask            Iface\n\
         10.0.1.1                 ether   fe:fd:0a:00:01:01   C                     eth0\n\
         10.0.2.3                 ether   fe:fd:0a:00:02:03   C                     eth1\n"
    );
}
