//! Interfaces: SLIP links carrying bare IP, interfaces added and removed at run time,
//! devices from command-line arguments.

use super::*;
use crate::GuestError;
use std::{format, vec};
use umlnet_core::link::Medium;
use umlnet_core::mac::MacAddr;

#[test]
fn slip_interfaces_carry_bare_ip() {
    let mut w = World::new(2);
    let line = w.segment(Medium::Ip);
    w.plug(0, 0, line, None);
    w.plug(1, 0, line, None);
    w.ok(0, "ifconfig eth0 10.0.0.1 netmask 255.255.255.255 up");
    w.ok(1, "ifconfig eth0 10.0.0.2 netmask 255.255.255.255 up");
    w.ok(0, "route add -host 10.0.0.2 dev eth0");
    w.ok(1, "route add default dev eth0");
    let out = w.run(0, "ping -c 2 10.0.0.2");
    assert!(out.text.contains("2 received"), "{}", out.text);
    let text = w.ok(0, "ifconfig eth0");
    assert!(
        text.starts_with(
            "eth0      Link encap:Serial Line IP\n\
         \x20         inet addr:10.0.0.1  Mask:255.255.255.255\n\
         \x20         UP POINTOPOINT RUNNING NOARP  MTU:1500  Metric:1\n"
        ),
        "{text}"
    );
    // Bare IP: 84-byte packets, no link header.
    assert!(text.contains("TX bytes:168 (168.0 B)"), "{text}");
}

#[test]
fn interfaces_come_and_go_at_runtime() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.254 up");
    let s2 = w.segment(Medium::Ethernet);
    w.plug(0, 1, s2, None);
    w.ok(0, "ifconfig eth1 10.0.0.1 up");
    w.ok(
        0,
        "route add -net 172.16.0.0 netmask 255.255.0.0 gw 10.0.0.2",
    );
    assert_eq!(w.ok(0, "route -n").lines().count(), 5);
    assert!(matches!(
        w.guests[0].add_interface(1, w.segments[s2].port(), None),
        Err(GuestError::InterfaceExists(1))
    ));
    let _link = w.guests[0].remove_interface(1).unwrap();
    assert_eq!(w.ok(0, "route -n").lines().count(), 3);
    assert!(w.guests[0].interface(1).is_none());
    assert_eq!(
        w.run(0, "ifconfig eth1").text,
        "eth1: error fetching interface information: Device not found\n"
    );
    assert_eq!(w.guests[0].interface_indices(), vec![0]);
    let _ = format!("{:?}", w.guests[0]);
}

#[test]
fn devices_from_command_line_arguments() {
    use umlnet_core::cmdline::{self, Transport};
    let mut w = World::new(1);
    let s = w.segment(Medium::Ethernet);
    let parsed = cmdline::parse("eth1=daemon,fe:fd:0:0:0:1,unix,/tmp/ctl").unwrap();
    w.guests[0]
        .add_device(&parsed.spec, w.segments[s].port())
        .unwrap();
    let info = w.guests[0].interface(1).unwrap();
    assert_eq!(info.name, "eth1");
    assert_eq!(info.mac, MacAddr([0xfe, 0xfd, 0, 0, 0, 1]));
    assert_eq!(info.configured_mac, Some(info.mac));
    // A spec carrying a multicast MAC is refused, whoever built it.
    let mut spec = cmdline::parse("eth2=mcast").unwrap().spec;
    let Transport::Mcast(m) = &mut spec.transport else {
        panic!("not mcast")
    };
    m.mac = Some(MacAddr([0xff, 0, 0, 0, 0, 2]));
    let err = w.guests[0]
        .add_device(&spec, w.segments[s].port())
        .unwrap_err();
    assert!(matches!(err, GuestError::MulticastMac(2, _)), "{err}");
    assert!(w.guests[0].interface(2).is_none());
}
