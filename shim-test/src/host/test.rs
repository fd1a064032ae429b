//! Tests of the simulated host kernel: actions, routing, ARP and proxy ARP, ICMP.

use super::*;
use crate::net::{EPOCH, Framing, Net, SegmentKind, SimLink, SimPort};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet,
};
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;
use umlnet_core::host::{HostAction, IfAddr, Prefix, Route, if_name, tuntap_up};
use umlnet_core::link::Link;
use umlnet_core::mac::MacAddr;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn addr(dev: &str, a: &str, prefix: u8) -> HostAction {
    HostAction::AddAddress(IfAddr {
        dev: if_name(dev).unwrap(),
        addr: ip(a),
        prefix: Prefix::new(prefix).unwrap(),
        peer: None,
    })
}

fn up(dev: &str) -> HostAction {
    HostAction::LinkUp {
        dev: if_name(dev).unwrap(),
    }
}

/// A host with eth0 192.168.0.4/24 on a LAN wire and tap0 192.168.0.254/32 on
/// another, and the far ends of both wires.
fn host() -> (Net, HostKernel, SimPort, SimPort) {
    let net = Net::new(0);
    let lan = net.add_segment(
        "lan",
        SegmentKind::Wire,
        Framing::Ethernet,
        Duration::from_micros(10),
    );
    let tap = net.add_segment(
        "tap0",
        SegmentKind::Wire,
        Framing::Ethernet,
        Duration::from_micros(10),
    );
    let mut h = HostKernel::new("host", 1);
    h.add_interface("eth0", IfKind::Ethernet, Some(MacAddr([2, 0, 0, 0, 0, 4])))
        .unwrap();
    h.add_interface("tap0", IfKind::Tap, Some(MacAddr([2, 0, 0, 0, 0, 0xfe])))
        .unwrap();
    h.attach("eth0", SimLink::Port(net.attach(lan, "host:eth0")))
        .unwrap();
    h.attach("tap0", SimLink::Port(net.attach(tap, "host:tap0")))
        .unwrap();
    let lan_end = net.attach(lan, "lan");
    let tap_end = net.attach(tap, "uml");
    h.apply(&addr("eth0", "192.168.0.4", 24)).unwrap();
    h.apply(&up("eth0")).unwrap();
    for a in tuntap_up("tap0", ip("192.168.0.254")).unwrap().iter() {
        h.apply(a).unwrap();
    }
    (net, h, lan_end, tap_end)
}

fn arp_request(from_mac: [u8; 6], from: &str, target: &str) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(from_mac),
        source_protocol_addr: ip(from),
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: ip(target),
    };
    let mut f = vec![0u8; 14 + repr.buffer_len()];
    let mut e = EthernetFrame::new_unchecked(&mut f[..]);
    e.set_dst_addr(EthernetAddress([0xff; 6]));
    e.set_src_addr(EthernetAddress(from_mac));
    e.set_ethertype(EthernetProtocol::Arp);
    repr.emit(&mut ArpPacket::new_unchecked(e.payload_mut()));
    f
}

/// Sends `frame` from `end`, lets the host answer, and returns what came back.
fn ask(net: &Net, h: &mut HostKernel, end: &mut SimPort, frame: &[u8]) -> Vec<Vec<u8>> {
    end.send(frame).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    h.poll(net.now());
    for _ in 0..8 {
        let next = [net.next_event(), h.poll_at()].into_iter().flatten().min();
        let Some(t) = next else { break };
        net.advance_to(t);
        h.poll(net.now());
        while let Some(n) = end.recv(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
    }
    out
}

fn arp_reply_for(frames: &[Vec<u8>]) -> Option<(Ipv4Addr, MacAddr)> {
    frames.iter().find_map(|f| {
        let e = EthernetFrame::new_checked(&f[..]).ok()?;
        match ArpRepr::parse(&ArpPacket::new_checked(e.payload()).ok()?).ok()? {
            ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Reply,
                source_protocol_addr,
                source_hardware_addr,
                ..
            } => Some((source_protocol_addr, MacAddr(source_hardware_addr.0))),
            _ => None,
        }
    })
}

#[test]
fn longest_prefix_wins_and_down_devices_do_not_route() {
    let (_, mut h, _, _) = host();
    h.apply(&HostAction::AddRoute(Route::Default {
        via: ip("192.168.0.1"),
    }))
    .unwrap();
    h.apply(&HostAction::AddRoute(Route::Host {
        dst: ip("192.168.0.253"),
        dev: if_name("tap0").unwrap(),
        via: None,
    }))
    .unwrap();
    let eth0 = h.index("eth0").unwrap();
    let tap0 = h.index("tap0").unwrap();
    assert_eq!(
        h.lookup(ip("192.168.0.253")),
        Some((tap0, ip("192.168.0.253")))
    );
    assert_eq!(h.lookup(ip("192.168.0.7")), Some((eth0, ip("192.168.0.7"))));
    assert_eq!(h.lookup(ip("8.8.8.8")), Some((eth0, ip("192.168.0.1"))));
    let text: Vec<String> = h.routes().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        text,
        [
            "192.168.0.0/24 dev eth0 proto kernel scope link",
            "default via 192.168.0.1 dev eth0",
            "192.168.0.253 dev tap0"
        ]
    );
    h.apply(&HostAction::LinkDown {
        dev: if_name("tap0").unwrap(),
    })
    .unwrap();
    assert_eq!(
        h.lookup(ip("192.168.0.253")),
        Some((eth0, ip("192.168.0.253")))
    );
}

#[test]
fn actions_fail_as_ip_does() {
    let (_, mut h, _, _) = host();
    assert_eq!(
        h.apply(&addr("eth0", "192.168.0.4", 24)),
        Err(HostError::Exists)
    );
    assert_eq!(
        h.apply(&addr("eth9", "10.0.0.1", 8)),
        Err(HostError::NoSuchDevice("eth9".into()))
    );
    assert_eq!(
        h.apply(&HostAction::AddRoute(Route::Default {
            via: ip("10.9.9.9")
        })),
        Err(HostError::GatewayUnreachable(ip("10.9.9.9")))
    );
    let del = HostAction::DelProxyNeigh {
        ip: ip("1.2.3.4"),
        dev: if_name("eth0").unwrap(),
    };
    assert_eq!(h.apply(&del), Err(HostError::NotFound));
    assert_eq!(
        HostError::Exists.to_string(),
        "RTNETLINK answers: File exists"
    );
    let log = h.take_log();
    assert!(
        log.iter()
            .any(|l| l.contains("host# ip addr add 192.168.0.4/24 dev eth0"))
    );
    // A tap that a guest holds cannot be deleted.
    let tap = umlnet_core::host::Tap {
        name: Some(if_name("tap0").unwrap()),
        owner: 0,
        group: None,
        persistent: true,
    };
    assert_eq!(
        h.apply(&HostAction::DeleteTap(tap)),
        Err(HostError::Busy("tap0".into()))
    );
}

#[test]
fn arp_answers_local_published_and_proxied_addresses_only() {
    let (net, mut h, mut lan, mut uml) = host();
    let guest_mac = [0xfe, 0xfd, 192, 168, 0, 253];
    // Its own addresses, on any interface (arp_ignore=0).
    let r = ask(
        &net,
        &mut h,
        &mut uml,
        &arp_request(guest_mac, "192.168.0.253", "192.168.0.4"),
    );
    assert_eq!(
        arp_reply_for(&r),
        Some((ip("192.168.0.4"), MacAddr([2, 0, 0, 0, 0, 0xfe])))
    );
    // A LAN address from the tap: not without proxy ARP on tap0.
    let r = ask(
        &net,
        &mut h,
        &mut uml,
        &arp_request(guest_mac, "192.168.0.253", "192.168.0.7"),
    );
    assert_eq!(arp_reply_for(&r), None);
    h.apply(&HostAction::ProxyArp {
        dev: if_name("tap0").unwrap(),
        on: true,
    })
    .unwrap();
    let t0 = net.now();
    let r = ask(
        &net,
        &mut h,
        &mut uml,
        &arp_request(guest_mac, "192.168.0.253", "192.168.0.7"),
    );
    assert_eq!(
        arp_reply_for(&r),
        Some((ip("192.168.0.7"), MacAddr([2, 0, 0, 0, 0, 0xfe])))
    );
    // The proxied answer to a broadcast waited, below proxy_delay, as on Linux.
    let waited = net.now() - t0;
    assert!(
        waited > Duration::from_micros(20) && waited < PROXY_DELAY,
        "{waited}"
    );
    // The guest from the LAN: only with a published entry and a route to the tap.
    let lan_mac = [2, 0, 0, 0, 0, 7];
    let r = ask(
        &net,
        &mut h,
        &mut lan,
        &arp_request(lan_mac, "192.168.0.7", "192.168.0.253"),
    );
    assert_eq!(arp_reply_for(&r), None);
    h.apply(&HostAction::AddProxyNeigh {
        ip: ip("192.168.0.253"),
        dev: if_name("eth0").unwrap(),
    })
    .unwrap();
    let r = ask(
        &net,
        &mut h,
        &mut lan,
        &arp_request(lan_mac, "192.168.0.7", "192.168.0.253"),
    );
    assert_eq!(
        arp_reply_for(&r),
        None,
        "published, but the route to it is on eth0 itself"
    );
    h.apply(&HostAction::AddRoute(Route::Host {
        dst: ip("192.168.0.253"),
        dev: if_name("tap0").unwrap(),
        via: None,
    }))
    .unwrap();
    let r = ask(
        &net,
        &mut h,
        &mut lan,
        &arp_request(lan_mac, "192.168.0.7", "192.168.0.253"),
    );
    assert_eq!(
        arp_reply_for(&r),
        Some((ip("192.168.0.253"), MacAddr([2, 0, 0, 0, 0, 4])))
    );
    assert_eq!(h.stats().proxy_replies, 2);
    // The guest that asked for a local address was learned.
    assert_eq!(h.neighbour(ip("192.168.0.253")), Some(MacAddr(guest_mac)));
}

#[test]
fn unresolved_neighbour_fails_after_three_requests() {
    let (net, mut h, mut lan, _) = host();
    assert!(h.ping(ip("192.168.0.9"), net.now()));
    let mut requests = 0;
    let mut buf = [0u8; 2048];
    for _ in 0..10 {
        let next = [net.next_event(), h.poll_at()].into_iter().flatten().min();
        let Some(t) = next else { break };
        net.advance_to(t);
        h.poll(net.now());
        while let Some(n) = lan.recv(&mut buf).unwrap() {
            assert_eq!(&buf[12..14], &[0x08, 0x06]);
            requests += 1;
            let _ = n;
        }
    }
    assert_eq!(requests, 3);
    assert!(h.neighbours().is_empty());
    assert_eq!(h.stats().unresolved, 1);
    assert!(net.now() >= EPOCH + Duration::from_secs(3));
}

#[test]
fn forwarding_errors_come_back_as_icmp() {
    let (net, mut h, mut lan, mut uml) = host();
    h.set_proxy_delay(Duration::ZERO);
    let guest_mac = [0xfe, 0xfd, 192, 168, 0, 253];
    let tap_mac = h.interface("tap0").unwrap().mac;
    h.apply(&HostAction::AddRoute(Route::Host {
        dst: ip("192.168.0.253"),
        dev: if_name("tap0").unwrap(),
        via: None,
    }))
    .unwrap();
    // The host learns the guest from its ARP request for the gate.
    ask(
        &net,
        &mut h,
        &mut uml,
        &arp_request(guest_mac, "192.168.0.253", "192.168.0.254"),
    );
    let echo = |dst: &str, ttl: u8| {
        let mut p = vec![0u8; 14 + 20 + 8];
        let mut e = EthernetFrame::new_unchecked(&mut p[..]);
        e.set_dst_addr(EthernetAddress(tap_mac.0));
        e.set_src_addr(EthernetAddress(guest_mac));
        e.set_ethertype(EthernetProtocol::Ipv4);
        let mut ipp = Ipv4Packet::new_unchecked(e.payload_mut());
        ipp.set_version(4);
        ipp.set_header_len(20);
        ipp.set_total_len(28);
        ipp.set_hop_limit(ttl);
        ipp.set_next_header(IpProtocol::Icmp);
        ipp.set_src_addr(ip("192.168.0.253"));
        ipp.set_dst_addr(ip(dst));
        ipp.fill_checksum();
        let mut icmp = Icmpv4Packet::new_unchecked(&mut p[34..]);
        icmp.set_msg_type(Icmpv4Message::EchoRequest);
        icmp.set_echo_ident(9);
        icmp.fill_checksum();
        p
    };
    let error_of = |frames: &[Vec<u8>]| {
        frames.iter().find_map(|f| {
            let e = EthernetFrame::new_checked(&f[..]).ok()?;
            let p = Ipv4Packet::new_checked(e.payload()).ok()?;
            let i = Icmpv4Packet::new_checked(p.payload()).ok()?;
            assert!(i.verify_checksum() && p.verify_checksum());
            Some((p.src_addr(), i.msg_type(), i.msg_code()))
        })
    };
    // TTL 1: time exceeded, from the gate.
    let r = ask(&net, &mut h, &mut uml, &echo("192.168.0.7", 1));
    assert_eq!(
        error_of(&r),
        Some((ip("192.168.0.254"), Icmpv4Message::TimeExceeded, 0))
    );
    // A LAN host that never answers ARP: host unreachable after three requests.
    let r = ask(&net, &mut h, &mut uml, &echo("192.168.0.9", 64));
    assert_eq!(
        error_of(&r),
        Some((ip("192.168.0.254"), Icmpv4Message::DstUnreachable, 1))
    );
    let mut buf = [0u8; 2048];
    let mut requests = 0;
    while let Some(n) = lan.recv(&mut buf).unwrap() {
        requests += usize::from(buf[..n][12..14] == [0x08, 0x06]);
    }
    assert_eq!(requests, 3);
    // No route at all (no default route on this host): net unreachable.
    let r = ask(&net, &mut h, &mut uml, &echo("10.1.2.3", 64));
    assert_eq!(
        error_of(&r),
        Some((ip("192.168.0.254"), Icmpv4Message::DstUnreachable, 0))
    );
    assert_eq!(h.stats().icmp_errors, 3);
}
