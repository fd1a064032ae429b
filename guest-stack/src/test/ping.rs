//! `ping` between guests as iputils prints it, its errors, and unreachable neighbours.

use super::*;
use crate::shell::Run;
use smoltcp::time::Duration;
use std::format;

#[test]
fn ping_both_ways_prints_like_iputils() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.254 up");
    w.ok(1, "ifconfig eth0 192.168.0.253 up");
    let out = w.run(0, "ping -c 3 192.168.0.253");
    assert_eq!(out.status, 0);
    assert_eq!(
        out.text,
        "PING 192.168.0.253 (192.168.0.253) 56(84) bytes of data.\n\
         64 bytes from 192.168.0.253: icmp_seq=1 ttl=64 time=1.00 ms\n\
         64 bytes from 192.168.0.253: icmp_seq=2 ttl=64 time=0.500 ms\n\
         64 bytes from 192.168.0.253: icmp_seq=3 ttl=64 time=0.500 ms\n\
         \n\
         --- 192.168.0.253 ping statistics ---\n\
         3 packets transmitted, 3 received, 0% packet loss, time 2000ms\n\
         rtt min/avg/max/mdev = 0.500/0.667/1.000/0.236 ms\n"
    );
    let out = w.run(1, "ping -c 2 -i 0.2 192.168.0.254");
    assert_eq!(out.status, 0);
    assert!(
        out.text
            .contains("64 bytes from 192.168.0.254: icmp_seq=1 ttl=64 time=0.500 ms\n"),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains("2 packets transmitted, 2 received, 0% packet loss, time 200ms\n"),
        "{}",
        out.text
    );
    // Local addresses answer through loopback, without touching the wire.
    let before = w.guests[0].interface(0).unwrap().counters;
    for own in ["192.168.0.254", "127.0.0.1"] {
        let out = w.run(0, &format!("ping -c 1 {own}"));
        assert!(
            out.text.contains(&format!(
                "64 bytes from {own}: icmp_seq=1 ttl=64 time=0.000 ms"
            )),
            "{}",
            out.text
        );
    }
    assert_eq!(w.guests[0].interface(0).unwrap().counters, before);
    // Larger than the MTU: fragmented on the way out, reassembled on the way in.
    #[cfg(feature = "fragmentation")]
    {
        let out = w.run(1, "ping -c 1 -s 4000 192.168.0.254");
        assert!(
            out.text
                .contains("4008 bytes from 192.168.0.254: icmp_seq=1"),
            "{}",
            out.text
        );
    }
    let out = w.run(1, "ping -c 1 -s 1000 192.168.0.254");
    assert!(
        out.text
            .contains("1008 bytes from 192.168.0.254: icmp_seq=1"),
        "{}",
        out.text
    );
}

#[test]
fn ping_errors_and_unreachable_neighbours() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.254 up");
    let out = w.run(0, "ping -c 1 10.1.1.1");
    assert_eq!(
        (out.text.as_str(), out.status),
        ("ping: connect: Network is unreachable\n", 2)
    );
    let out = w.run(0, "ping -c 1");
    assert_eq!(
        out.text,
        "ping: usage error: Destination address required\n"
    );
    let out = w.run(0, "ping -c 1 1.2.3.4.5");
    assert_eq!(
        out.text,
        "ping: 1.2.3.4.5: Temporary failure in name resolution\n"
    );
    // Nobody has .9: ARP fails after three requests a second apart, the three queued
    // echoes come back as "host unreachable"; the fourth starts a new resolution.
    let out = w.run(0, "ping -c 4 192.168.0.9");
    assert_eq!(out.status, 1);
    assert_eq!(
        out.text,
        "PING 192.168.0.9 (192.168.0.9) 56(84) bytes of data.\n\
         From 192.168.0.254 icmp_seq=1 Destination Host Unreachable\n\
         From 192.168.0.254 icmp_seq=2 Destination Host Unreachable\n\
         From 192.168.0.254 icmp_seq=3 Destination Host Unreachable\n\
         From 192.168.0.254 icmp_seq=4 Destination Host Unreachable\n\
         \n\
         --- 192.168.0.9 ping statistics ---\n\
         4 packets transmitted, 0 received, +4 errors, 100% packet loss, time 6000ms\n\
         \n"
    );
    assert_eq!(
        w.ok(0, "arp -n"),
        "Address                  HWtype  HWaddress           Flags Mask            Iface\n\
         192.168.0.9                      (incomplete)                              eth0\n"
    );
    // The failed entry is forgotten after a minute.
    w.advance(Duration::from_secs(61));
    assert_eq!(w.ok(0, "arp -n"), "");
    // Interrupting a ping without -c prints the statistics, as Ctrl-C does.
    w.ok(1, "ifconfig eth0 192.168.0.253 up");
    let now = w.now();
    let Run::Started(job) = w.guests[0].run("ping 192.168.0.253", now) else {
        panic!("ping did not start");
    };
    w.advance(Duration::from_millis(2500));
    let now = w.now();
    w.guests[0].interrupt(job, now);
    let out = w.guests[0].take_job(job).unwrap();
    assert!(
        out.text
            .contains("\n3 packets transmitted, 3 received, 0% packet loss"),
        "{}",
        out.text
    );
}
