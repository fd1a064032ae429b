//! One-line summaries of frames for the transcript (in the manner of `tcpdump -n`),
//! and the checksum test that the corruption fault is checked against.
//!
//! ```
//! use umlnet_sim::net::Framing;
//! use umlnet_sim::summary::summarize;
//! // An ARP request from 192.168.0.253 for 192.168.0.254.
//! let mut f = vec![0xff; 6];
//! f.extend_from_slice(&[0xfe, 0xfd, 192, 168, 0, 253, 0x08, 0x06]);
//! f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 0xfe, 0xfd, 192, 168, 0, 253, 192, 168, 0, 253]);
//! f.extend_from_slice(&[0; 6]);
//! f.extend_from_slice(&[192, 168, 0, 254]);
//! assert_eq!(
//!     summarize(Framing::Ethernet, &f),
//!     "fe:fd:c0:a8:00:fd > ff:ff:ff:ff:ff:ff ARP who-has 192.168.0.254 tell 192.168.0.253"
//! );
//! ```

use crate::net::Framing;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet,
    IpAddress, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};
use std::format;
use std::string::String;
use umlnet_core::ethernet::strip_ethertap;
use umlnet_core::mac::MacAddr;
use umlnet_core::slip;

/// A one-line description of the bytes a segment carried.
pub fn summarize(framing: Framing, bytes: &[u8]) -> String {
    match framing {
        Framing::Ethernet => ethernet(bytes),
        Framing::Ethertap => match strip_ethertap(bytes) {
            Ok(f) => format!("[ethertap] {}", ethernet(f)),
            Err(_) => format!("[ethertap] runt of {} bytes", bytes.len()),
        },
        Framing::Slip => {
            let mut out = format!("[slip {} bytes]", bytes.len());
            let mut dec = slip::Decoder::new([0u8; crate::net::MTU]);
            dec.decode(bytes, |r| match r {
                Ok(p) => {
                    out.push(' ');
                    out.push_str(&ipv4(p));
                }
                Err(e) => out.push_str(&format!(" bad frame: {e}")),
            });
            out
        }
    }
}

fn mac(m: smoltcp::wire::EthernetAddress) -> MacAddr {
    MacAddr(m.0)
}

fn ethernet(bytes: &[u8]) -> String {
    let Ok(f) = EthernetFrame::new_checked(bytes) else {
        return format!("runt of {} bytes", bytes.len());
    };
    let head = format!("{} > {}", mac(f.src_addr()), mac(f.dst_addr()));
    match f.ethertype() {
        EthernetProtocol::Arp => format!("{head} {}", arp(f.payload())),
        EthernetProtocol::Ipv4 => format!("{head} {}", ipv4(f.payload())),
        other => format!("{head} ethertype {other} length {}", bytes.len()),
    }
}

fn arp(bytes: &[u8]) -> String {
    let Ok(p) = ArpPacket::new_checked(bytes) else {
        return String::from("ARP truncated");
    };
    match ArpRepr::parse(&p) {
        Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) => match operation {
            ArpOperation::Request => {
                format!("ARP who-has {target_protocol_addr} tell {source_protocol_addr}")
            }
            ArpOperation::Reply => format!(
                "ARP reply {source_protocol_addr} is-at {}",
                mac(source_hardware_addr)
            ),
            ArpOperation::Unknown(n) => format!("ARP op {n}"),
        },
        _ => String::from("ARP unknown format"),
    }
}

/// A summary of an IPv4 packet.
pub fn ipv4(bytes: &[u8]) -> String {
    let Ok(p) = Ipv4Packet::new_checked(bytes) else {
        return format!("IP truncated ({} bytes)", bytes.len());
    };
    let (src, dst) = (p.src_addr(), p.dst_addr());
    let bad = if p.verify_checksum() {
        ""
    } else {
        " [bad ip cksum]"
    };
    let payload = p.payload();
    let body = match p.next_header() {
        IpProtocol::Icmp => match Icmpv4Packet::new_checked(payload) {
            Ok(i) => {
                let what = match i.msg_type() {
                    Icmpv4Message::EchoRequest => {
                        format!("echo request id {} seq {}", i.echo_ident(), i.echo_seq_no())
                    }
                    Icmpv4Message::EchoReply => {
                        format!("echo reply id {} seq {}", i.echo_ident(), i.echo_seq_no())
                    }
                    other => format!("{other}"),
                };
                let ok = if i.verify_checksum() {
                    ""
                } else {
                    " [bad icmp cksum]"
                };
                format!("{src} > {dst}: ICMP {what}, length {}{ok}", payload.len())
            }
            Err(_) => format!("{src} > {dst}: ICMP truncated"),
        },
        IpProtocol::Tcp => match TcpPacket::new_checked(payload) {
            Ok(t) => {
                let mut flags = String::new();
                for (on, c) in [
                    (t.syn(), 'S'),
                    (t.fin(), 'F'),
                    (t.rst(), 'R'),
                    (t.psh(), 'P'),
                ] {
                    if on {
                        flags.push(c);
                    }
                }
                if t.ack() {
                    flags.push('.');
                }
                let ok = if t.verify_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst)) {
                    ""
                } else {
                    " [bad tcp cksum]"
                };
                format!(
                    "{src}.{} > {dst}.{}: Flags [{flags}], seq {}, ack {}, length {}{ok}",
                    t.src_port(),
                    t.dst_port(),
                    t.seq_number().0 as u32,
                    t.ack_number().0 as u32,
                    t.payload().len()
                )
            }
            Err(_) => format!("{src} > {dst}: TCP truncated"),
        },
        IpProtocol::Udp => match UdpPacket::new_checked(payload) {
            Ok(u) => format!(
                "{src}.{} > {dst}.{}: UDP, length {}",
                u.src_port(),
                u.dst_port(),
                u.payload().len()
            ),
            Err(_) => format!("{src} > {dst}: UDP truncated"),
        },
        other => format!("{src} > {dst}: {other}"),
    };
    format!("{body}{bad}")
}

/// Whether the IPv4 packet in `bytes` (framed as `framing`) passes every checksum the
/// receiver checks: the IP header's and the ICMP, TCP or UDP one. Bytes that hold no
/// IPv4 packet give `None`.
pub fn checksums_valid(framing: Framing, bytes: &[u8]) -> Option<bool> {
    match framing {
        Framing::Ethernet => ethernet_ok(bytes),
        Framing::Ethertap => ethernet_ok(strip_ethertap(bytes).ok()?),
        Framing::Slip => {
            // Every frame the line decodes must pass; a frame the decoder refuses
            // never reaches the stack, which counts as caught.
            let mut dec = slip::Decoder::new([0u8; crate::net::MTU]);
            let mut all = Some(true);
            dec.decode(bytes, |r| {
                if let Ok(p) = r
                    && ipv4_ok(p) == Some(true)
                {
                    // Stays valid.
                } else {
                    all = Some(false);
                }
            });
            all
        }
    }
}

fn ethernet_ok(bytes: &[u8]) -> Option<bool> {
    let f = EthernetFrame::new_checked(bytes).ok()?;
    if f.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    Some(ipv4_ok(f.payload()) == Some(true))
}

/// Whether an IPv4 packet passes its checksums (`None` for a packet that does not even
/// parse, which no stack accepts either).
pub fn ipv4_ok(bytes: &[u8]) -> Option<bool> {
    let p = Ipv4Packet::new_checked(bytes).ok()?;
    if !p.verify_checksum() {
        return Some(false);
    }
    let (src, dst) = (IpAddress::Ipv4(p.src_addr()), IpAddress::Ipv4(p.dst_addr()));
    Some(match p.next_header() {
        IpProtocol::Icmp => {
            Icmpv4Packet::new_checked(p.payload()).is_ok_and(|i| i.verify_checksum())
        }
        IpProtocol::Tcp => {
            TcpPacket::new_checked(p.payload()).is_ok_and(|t| t.verify_checksum(&src, &dst))
        }
        IpProtocol::Udp => {
            UdpPacket::new_checked(p.payload()).is_ok_and(|u| u.verify_checksum(&src, &dst))
        }
        _ => true,
    })
}
