//! How a guest interface gets its MAC and shows it in `ifconfig`: derived from the IP
//! address when it opens, or configured (an odd first byte refused).

use super::*;
use crate::GuestError;
use std::format;
use std::string::ToString;
use umlnet_core::link::Medium;
use umlnet_core::mac::MacAddr;

#[test]
fn ifconfig_shows_fe_fd_mac_derived_at_bring_up() {
    let mut w = two_on_a_segment();
    assert_eq!(
        w.ok(0, "ifconfig -a"),
        "eth0      Link encap:Ethernet  HWaddr fe:fd:00:00:00:00\n\
         \x20         BROADCAST MULTICAST  MTU:1500  Metric:1\n\
         \x20         RX packets:0 errors:0 dropped:0 overruns:0 frame:0\n\
         \x20         TX packets:0 errors:0 dropped:0 overruns:0 carrier:0\n\
         \x20         collisions:0 txqueuelen:1000\n\
         \x20         RX bytes:0 (0.0 B)  TX bytes:0 (0.0 B)\n\n"
    );
    // An interface that is down is not listed without -a.
    assert_eq!(w.ok(0, "ifconfig"), "");
    // The UML networking page's mcast example: the address alone brings the interface up.
    assert_eq!(w.ok(0, "ifconfig eth0 192.168.0.254"), "");
    w.ok(1, "ifconfig eth0 192.168.0.253");
    assert_eq!(
        w.ok(1, "ifconfig eth0"),
        "eth0      Link encap:Ethernet  HWaddr fe:fd:c0:a8:00:fd\n\
         \x20         inet addr:192.168.0.253  Bcast:192.168.0.255  Mask:255.255.255.0\n\
         \x20         UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1\n\
         \x20         RX packets:0 errors:0 dropped:0 overruns:0 frame:0\n\
         \x20         TX packets:0 errors:0 dropped:0 overruns:0 carrier:0\n\
         \x20         collisions:0 txqueuelen:1000\n\
         \x20         RX bytes:0 (0.0 B)  TX bytes:0 (0.0 B)\n\n"
    );
    // The peer learns the derived MAC through ARP.
    let out = w.ok(0, "ping -c 1 192.168.0.253");
    assert!(out.contains("1 received"), "{out}");
    assert_eq!(
        w.ok(1, "arp -n"),
        "Address                  HWtype  HWaddress           Flags Mask            Iface\n\
         192.168.0.254            ether   fe:fd:c0:a8:00:fe   C                     eth0\n"
    );
    assert_eq!(
        w.ok(0, "arp -a"),
        "? (192.168.0.253) at fe:fd:c0:a8:00:fd [ether] on eth0\n"
    );
    // Counters moved: one ARP exchange and one echo each way.
    let text = w.ok(0, "ifconfig eth0");
    assert!(text.contains("RX packets:2 errors:0"), "{text}");
    assert!(text.contains("TX packets:2 errors:0"), "{text}");
    assert!(
        text.contains("RX bytes:140 (140.0 B)  TX bytes:140 (140.0 B)"),
        "{text}"
    );
}

#[test]
fn a_configured_mac_is_kept_and_an_odd_first_byte_is_refused() {
    let mut w = World::new(1);
    let s = w.segment(Medium::Ethernet);
    let odd = MacAddr([0x03, 0, 0, 0, 0, 1]);
    let err = w.guests[0]
        .add_interface(0, w.segments[s].port(), Some(odd))
        .unwrap_err();
    assert_eq!(err, GuestError::MulticastMac(0, odd));
    assert!(err.to_string().contains("03:00:00:00:00:01"));
    assert!(err.to_string().contains("must be even"));
    assert!(w.guests[0].interface(0).is_none());

    let given = MacAddr([0xfe, 0xfd, 0, 0, 0, 1]);
    w.plug(0, 0, s, Some(given));
    w.ok(0, "ifconfig eth0 192.168.0.250 up");
    assert!(
        w.ok(0, "ifconfig eth0")
            .starts_with("eth0      Link encap:Ethernet  HWaddr fe:fd:00:00:00:01\n")
    );
    let out = w.run(0, "ifconfig eth0 hw ether 01:02:03:04:05:06");
    assert_ne!(out.status, 0);
    assert!(
        out.text
            .starts_with("SIOCSIFHWADDR: Cannot assign requested address")
    );
    w.ok(0, "ifconfig eth0 down");
    w.ok(0, "ifconfig eth0 hw ether 02:00:00:00:00:07");
    w.ok(0, "ifconfig eth0 up");
    assert!(w.ok(0, "ifconfig").contains("HWaddr 02:00:00:00:00:07"));
}

/// Old kernels derived the MAC when the device was opened (`ifconfig ... up`); an
/// address given later does not change it until the next down/up.
#[test]
fn the_mac_is_derived_when_the_interface_opens() {
    let mut w = World::new(1);
    let s = w.segment(Medium::Ethernet);
    w.plug(0, 0, s, None);
    w.ok(0, "ifconfig eth0 up");
    assert!(w.ok(0, "ifconfig").contains("HWaddr fe:fd:00:00:00:00\n"));
    w.ok(0, "ifconfig eth0 10.1.2.3");
    assert!(w.ok(0, "ifconfig").contains("HWaddr fe:fd:00:00:00:00\n"));
    w.ok(0, "ifconfig eth0 down");
    w.ok(0, "ifconfig eth0 up");
    assert!(w.ok(0, "ifconfig").contains("HWaddr fe:fd:0a:01:02:03\n"));
    assert!(
        w.ok(0, "route -n")
            .contains("\n10.0.0.0        0.0.0.0         255.0.0.0       U ")
    );
}

/// Found by fuzzing: smoltcp panics on an interface address that is not unicast, so
/// such an address is refused as Linux refuses it (`EINVAL`), and the rest of the
/// command is still done, as net-tools does.
#[test]
fn a_multicast_or_broadcast_interface_address_is_refused() {
    let mut w = two_on_a_segment();
    for bad in ["225.168.0.253", "224.0.0.1", "255.255.255.255"] {
        let out = w.run(0, &format!("ifconfig eth0 {bad} up"));
        assert_eq!(out.status, 1, "{bad}: {}", out.text);
        assert!(
            out.text.starts_with("SIOCSIFADDR: Invalid argument"),
            "{bad}: {}",
            out.text
        );
        assert_eq!(
            w.guests[0].set_address(0, ip(bad), None),
            Err(GuestError::NotUnicast(ip(bad)))
        );
    }
    // The interface came up without an address, and takes a unicast one.
    let text = w.ok(0, "ifconfig eth0");
    assert!(text.contains("UP BROADCAST RUNNING"), "{text}");
    assert!(!text.contains("inet addr"), "{text}");
    w.ok(0, "ifconfig eth0 192.168.0.254");
    w.ok(1, "ifconfig eth0 192.168.0.253");
    let out = w.ok(0, "ping -c 1 192.168.0.253");
    assert!(out.contains("1 received"), "{out}");
}
