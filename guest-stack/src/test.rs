//! Scenario tests: guests on in-memory segments under a virtual clock.

use crate::shell::{CommandOutput, Run};
use crate::test_wire::{Clock, Port, Segment};
use crate::{Guest, GuestError};
use core::cell::Cell;
use core::net::Ipv4Addr;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetFrame, EthernetProtocol};
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;
use std::{format, vec};
use umlnet_core::link::Medium;
use umlnet_core::mac::MacAddr;

/// One-way latency of every test segment: a ping round trip takes 0.500 ms.
const LATENCY: Duration = Duration::from_micros(250);

struct World {
    clock: Clock,
    guests: Vec<Guest<Port>>,
    segments: Vec<Segment>,
}

impl World {
    fn new(guests: usize) -> Self {
        let clock: Clock = Rc::new(Cell::new(Instant::from_secs(1000)));
        let guests = (0..guests)
            .map(|i| Guest::new(0x5eed + i as u64, clock.get()))
            .collect();
        World {
            clock,
            guests,
            segments: Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        self.clock.get()
    }

    fn segment(&mut self, medium: Medium) -> usize {
        self.segments
            .push(Segment::new(&self.clock, LATENCY, medium));
        self.segments.len() - 1
    }

    /// Plugs `eth<index>` of guest `g` into segment `s`.
    fn plug(&mut self, g: usize, index: u32, s: usize, mac: Option<MacAddr>) {
        let port = self.segments[s].port();
        self.guests[g].add_interface(index, port, mac).unwrap();
    }

    fn settle(&mut self) {
        let now = self.now();
        for _ in 0..1000 {
            let mut any = false;
            for g in &mut self.guests {
                any |= g.poll(now);
            }
            if !any {
                return;
            }
        }
        panic!("guests never settled");
    }

    /// Runs the world until `until`, jumping from event to event.
    fn advance_to(&mut self, until: Instant) {
        loop {
            self.settle();
            let now = self.now();
            let mut next = self.segments.iter().filter_map(|s| s.next_delivery()).min();
            for g in &mut self.guests {
                if let Some(t) = g.poll_at(now) {
                    next = Some(next.map_or(t, |n: Instant| n.min(t)));
                }
            }
            let next = next.map_or(until, |t| t.max(now + Duration::from_micros(10)));
            if next >= until {
                self.clock.set(until);
                self.settle();
                return;
            }
            self.clock.set(next);
        }
    }

    fn advance(&mut self, d: Duration) {
        let until = self.now() + d;
        self.advance_to(until);
    }

    fn run(&mut self, g: usize, line: &str) -> CommandOutput {
        let now = self.now();
        match self.guests[g].run(line, now) {
            Run::Done(out) => {
                self.settle();
                out
            }
            Run::Started(job) => {
                let limit = self.now() + Duration::from_secs(120);
                while !self.guests[g].job_finished(job) {
                    assert!(self.now() < limit, "{line} never finished");
                    let step = self.now() + Duration::from_millis(100);
                    self.advance_to(step);
                }
                self.guests[g].take_job(job).unwrap()
            }
        }
    }

    fn ok(&mut self, g: usize, line: &str) -> String {
        let out = self.run(g, line);
        assert_eq!(out.status, 0, "{line}: {}", out.text);
        out.text
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Two guests on one Ethernet segment (like two UMLs on `eth0=mcast`).
fn two_on_a_segment() -> World {
    let mut w = World::new(2);
    let s = w.segment(Medium::Ethernet);
    w.plug(0, 0, s, None);
    w.plug(1, 0, s, None);
    w
}

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
    // The seed's mcast example: the address alone brings the interface up.
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
    let out = w.run(1, "ping -c 1 -s 4000 192.168.0.254");
    assert!(
        out.text
            .contains("4008 bytes from 192.168.0.254: icmp_seq=1"),
        "{}",
        out.text
    );
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

#[test]
fn route_n_after_ifconfig_matches_the_seed() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.253 up");
    let table = w.ok(0, "route -n");
    assert_eq!(
        table,
        "Kernel IP routing table\n\
         Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
         192.168.0.0     0.0.0.0         255.255.255.0   U     0      0        0 eth0\n"
    );
    // The seed prints the same two lines with its spacing collapsed.
    let seed = std::fs::read_to_string("/work/shared/seed/uml-networking.txt").ok();
    if let Some(seed) = seed {
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        for line in table.lines().skip(1) {
            assert!(
                seed.lines().any(|l| squash(l) == squash(line)),
                "seed has no line like {line:?}"
            );
        }
    }
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

/// The seed's fix for the network-route pitfall, with the host at 192.168.0.4 and
/// another machine on the host's LAN at 192.168.0.7 that no ARP from the UML reaches.
#[test]
fn seed_route_del_add_sequence_sends_everything_to_the_host() {
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

#[test]
fn tcp_moves_one_mebibyte_intact() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.254 up");
    w.ok(1, "ifconfig eth0 192.168.0.253 up");
    let server = w.guests[1].tcp_listen(8080).unwrap();
    let client = w.guests[0].tcp_connect(ip("192.168.0.253"), 8080).unwrap();
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let limit = w.now() + Duration::from_secs(60);
    while got.len() < data.len() {
        assert!(w.now() < limit, "transfer stalled at {} bytes", got.len());
        let c = w.guests[0].tcp(client);
        if c.can_send() && sent < data.len() {
            sent += c.send_slice(&data[sent..]).unwrap();
        }
        let s = w.guests[1].tcp(server);
        while s.can_recv() {
            s.recv(|b| {
                got.extend_from_slice(b);
                (b.len(), ())
            })
            .unwrap();
        }
        let step = w.now() + Duration::from_millis(1);
        w.advance_to(step);
    }
    assert!(got == data, "received bytes differ from sent bytes");
    w.guests[0].tcp(client).close();
    w.advance(Duration::from_millis(50));
    assert!(
        !w.guests[1].tcp(server).may_recv(),
        "FIN reached the server"
    );
}

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
