//! The host's IPv4 and ICMP: local delivery, echo replies, forwarding with TTL, the
//! host's own pings and the ICMP errors it sends (unreachable, time exceeded).

use super::{DEFAULT_TTL, HostKernel};
use core::net::Ipv4Addr;
use smoltcp::time::Instant;
use smoltcp::wire::{Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet};
use std::format;
use std::vec;

impl HostKernel {
    /// Sends one ICMP echo request from the host to `dst` (as `ping -c 1`); the reply
    /// is counted in [`HostStats::echo_replies_received`](super::HostStats::echo_replies_received).
    pub fn ping(&mut self, dst: Ipv4Addr, now: Instant) -> bool {
        let Some((i, _)) = self.lookup(dst) else {
            return false;
        };
        let Some(src) = self.source_for(i) else {
            return false;
        };
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let mut p = icmp_packet(src, dst, self.ping_seq, true, 8 + 32);
        {
            let mut icmp = Icmpv4Packet::new_unchecked(&mut p[20..]);
            icmp.set_msg_type(Icmpv4Message::EchoRequest);
            icmp.set_msg_code(0);
            icmp.set_echo_ident(self.ping_id);
            icmp.set_echo_seq_no(self.ping_seq);
            for (k, b) in icmp.data_mut().iter_mut().enumerate() {
                *b = k as u8;
            }
            icmp.fill_checksum();
        }
        self.route_out(p, now);
        true
    }

    pub(super) fn rx_ip(&mut self, i: usize, bytes: &[u8], now: Instant) {
        let Ok(p) = Ipv4Packet::new_checked(bytes) else {
            self.stats.bad_packets += 1;
            return;
        };
        if p.version() != 4 || !p.verify_checksum() {
            self.stats.bad_packets += 1;
            return;
        }
        let len = usize::from(p.total_len());
        let packet = &bytes[..len];
        let dst = p.dst_addr();
        let local = self.is_local(dst) || dst.is_broadcast();
        if local {
            self.stats.delivered += 1;
            self.local_deliver(packet, now);
            return;
        }
        if !self.ip_forward {
            self.stats.not_forwarding += 1;
            return;
        }
        if p.hop_limit() <= 1 {
            self.stats.bad_packets += 1;
            self.icmp_error(packet, Icmpv4Message::TimeExceeded, 0, now);
            return;
        }
        let mut out = packet.to_vec();
        {
            let mut q = Ipv4Packet::new_unchecked(&mut out[..]);
            q.set_hop_limit(q.hop_limit() - 1);
            q.fill_checksum();
        }
        self.stats.forwarded += 1;
        let _ = i;
        if self.lookup(dst).is_none() {
            self.stats.no_route += 1;
            self.icmp_error(packet, Icmpv4Message::DstUnreachable, 0, now);
            return;
        }
        self.route_out(out, now);
    }

    pub(super) fn local_deliver(&mut self, packet: &[u8], now: Instant) {
        let p = Ipv4Packet::new_unchecked(packet);
        if p.next_header() != IpProtocol::Icmp {
            return;
        }
        let hl = usize::from(p.header_len());
        let Ok(icmp) = Icmpv4Packet::new_checked(&packet[hl..]) else {
            self.stats.bad_packets += 1;
            return;
        };
        if !icmp.verify_checksum() {
            self.stats.bad_packets += 1;
            return;
        }
        match icmp.msg_type() {
            Icmpv4Message::EchoRequest => {
                let (src, dst) = (p.src_addr(), p.dst_addr());
                let mut out = packet.to_vec();
                {
                    let mut q = Ipv4Packet::new_unchecked(&mut out[..]);
                    q.set_src_addr(dst);
                    q.set_dst_addr(src);
                    q.set_hop_limit(DEFAULT_TTL);
                    q.fill_checksum();
                }
                {
                    let mut r = Icmpv4Packet::new_unchecked(&mut out[hl..]);
                    r.set_msg_type(Icmpv4Message::EchoReply);
                    r.fill_checksum();
                }
                self.stats.echo_replies += 1;
                self.route_out(out, now);
            }
            Icmpv4Message::EchoReply if icmp.echo_ident() == self.ping_id => {
                self.stats.echo_replies_received += 1;
            }
            _ => {}
        }
    }

    /// Sends an ICMP error about `original` to its source, as `icmp_send` does: not
    /// about ICMP errors, not to a source that is ours, broadcast or unspecified; the
    /// error's source is the address of the interface the error leaves by.
    pub(super) fn icmp_error(
        &mut self,
        original: &[u8],
        kind: Icmpv4Message,
        code: u8,
        now: Instant,
    ) {
        let Ok(p) = Ipv4Packet::new_checked(original) else {
            return;
        };
        let to = p.src_addr();
        if to.is_unspecified() || to.is_broadcast() || to.is_multicast() || self.is_local(to) {
            return;
        }
        let hl = usize::from(p.header_len());
        if p.next_header() == IpProtocol::Icmp {
            let inner = original.get(hl).copied().unwrap_or(0xff);
            // Only echo requests and replies may draw an error.
            if inner != 0 && inner != 8 {
                return;
            }
        }
        let Some((i, _)) = self.lookup(to) else {
            return;
        };
        let Some(src) = self.source_for(i) else {
            return;
        };
        let quote = &original[..original.len().min(hl + 8)];
        let mut out = icmp_packet(src, to, 0, false, 8 + quote.len());
        {
            let mut icmp = Icmpv4Packet::new_unchecked(&mut out[20..]);
            icmp.set_msg_type(kind);
            icmp.set_msg_code(code);
            icmp.data_mut().copy_from_slice(quote);
            icmp.fill_checksum();
        }
        self.stats.icmp_errors += 1;
        self.log.push(format!(
            "{}: icmp {kind} code {code} to {to} (from {src})",
            self.name
        ));
        self.route_out(out, now);
    }
}

/// An IPv4 packet the host sends with `icmp_len` bytes of ICMP after a 20-byte header
/// (TTL [`DEFAULT_TTL`], checksum filled); the ICMP bytes are zero.
fn icmp_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    dont_frag: bool,
    icmp_len: usize,
) -> Vec<u8> {
    let mut p = vec![0u8; 20 + icmp_len];
    let mut ip = Ipv4Packet::new_unchecked(&mut p[..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_total_len((20 + icmp_len) as u16);
    ip.set_ident(ident);
    ip.set_dont_frag(dont_frag);
    ip.set_hop_limit(DEFAULT_TTL);
    ip.set_next_header(IpProtocol::Icmp);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    p
}
