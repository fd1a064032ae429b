//! `ping`: an iputils-style ping job over a raw ICMP socket, and iputils' number
//! formats for its output.

use super::CommandOutput;
use super::decimal::{loss_percent, rtt_summary, seconds_us};
use crate::guest::Guest;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::Ipv4Addr;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::raw;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, IpProtocol, IpVersion, Ipv4Packet, Ipv4Repr,
};
use umlnet_core::link::Link;

/// An iputils-style ping over a raw ICMP socket.
#[derive(Debug)]
pub(crate) struct Ping {
    dst: Ipv4Addr,
    src: Ipv4Addr,
    count: Option<u32>,
    interval: Duration,
    linger: Duration,
    size: usize,
    ident: u16,
    socket: SocketHandle,
    next_seq: u16,
    next_send: Instant,
    sent: BTreeMap<u16, (Instant, bool)>,
    transmitted: u32,
    received: u32,
    errors: u32,
    rtts_us: Vec<i64>,
    start: Instant,
    last_event: Instant,
    last_send: Instant,
    pub(super) out: String,
    pub(super) status: Option<i32>,
}

impl Ping {
    pub(super) fn start<L: Link>(
        guest: &mut Guest<L>,
        args: &[&str],
        now: Instant,
    ) -> Result<Ping, CommandOutput> {
        let mut count = None;
        let mut interval = Duration::from_secs(1);
        let mut linger = Duration::from_secs(10);
        let mut size = 56usize;
        let mut host = None;
        let mut it = args.iter().copied();
        let usage = || CommandOutput::err("ping: usage error: Destination address required", 1);
        while let Some(a) = it.next() {
            let mut value = |opt: &str| {
                it.next().ok_or_else(|| {
                    CommandOutput::err(
                        alloc::format!("ping: option requires an argument -- '{opt}'"),
                        2,
                    )
                })
            };
            match a {
                "-c" => {
                    let v = value("c")?;
                    count = Some(v.parse::<u32>().ok().filter(|&c| c > 0).ok_or_else(|| {
                        CommandOutput::err(alloc::format!("ping: invalid argument: '{v}'"), 1)
                    })?);
                }
                "-i" => {
                    let v = value("i")?;
                    let us = seconds_us(v, 2000).ok_or_else(|| {
                        CommandOutput::err(alloc::format!("ping: bad timing interval: {v}"), 2)
                    })?;
                    interval = Duration::from_micros(us);
                }
                "-W" => {
                    let v = value("W")?;
                    let us = seconds_us(v, 0).ok_or_else(|| {
                        CommandOutput::err(alloc::format!("ping: bad linger time: {v}"), 2)
                    })?;
                    linger = Duration::from_micros(us);
                }
                "-s" => {
                    let v = value("s")?;
                    size = v.parse().ok().filter(|&s| s <= 65507).ok_or_else(|| {
                        CommandOutput::err(alloc::format!("ping: invalid argument: '{v}'"), 1)
                    })?;
                }
                h if !h.starts_with('-') && host.is_none() => host = Some(h),
                _ => return Err(usage()),
            }
        }
        let host = host.ok_or_else(usage)?;
        let dst: Ipv4Addr = host.parse().map_err(|_| {
            CommandOutput::err(
                alloc::format!("ping: {host}: Temporary failure in name resolution"),
                2,
            )
        })?;
        let src = guest
            .source_address(dst)
            .ok_or_else(|| CommandOutput::err("ping: connect: Network is unreachable", 2))?;
        let (rx_bytes, rx_packets) = guest.buffers.ping_rx;
        let (tx_bytes, tx_packets) = guest.buffers.ping_tx;
        let socket = raw::Socket::new(
            Some(IpVersion::Ipv4),
            Some(IpProtocol::Icmp),
            raw::PacketBuffer::new(
                vec![raw::PacketMetadata::EMPTY; rx_packets],
                vec![0; rx_bytes],
            ),
            raw::PacketBuffer::new(
                vec![raw::PacketMetadata::EMPTY; tx_packets],
                vec![0; tx_bytes],
            ),
        );
        let socket = guest.sockets.add(socket);
        let ident = guest.random() as u16;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "PING {dst} ({dst}) {size}({}) bytes of data.",
            size + 28
        );
        Ok(Ping {
            dst,
            src,
            count,
            interval,
            linger,
            size,
            ident,
            socket,
            next_seq: 1,
            next_send: now,
            sent: BTreeMap::new(),
            transmitted: 0,
            received: 0,
            errors: 0,
            rtts_us: Vec::new(),
            start: now,
            last_event: now,
            last_send: now,
            out,
            status: None,
        })
    }

    pub(super) fn all_sent(&self) -> bool {
        self.count.is_some_and(|c| self.transmitted >= c)
    }

    pub(super) fn deadline(&self) -> Instant {
        // iputils: twice the longest round trip but at least one interval once
        // something came back, the linger time (-W) otherwise.
        if self.received > 0 {
            let max = self.rtts_us.iter().copied().max().unwrap_or(0).max(0) as u64;
            self.last_send + Duration::from_micros(2 * max).max(self.interval)
        } else {
            self.last_send + self.linger
        }
    }

    pub(super) fn poll_at(&self) -> Option<Instant> {
        if self.status.is_some() {
            None
        } else if self.all_sent() {
            Some(self.deadline())
        } else {
            Some(self.next_send)
        }
    }

    pub(super) fn poll(&mut self, sockets: &mut SocketSet<'static>, now: Instant) -> bool {
        if self.status.is_some() {
            return false;
        }
        let mut any = false;
        while !self.all_sent() && self.next_send <= now {
            if !self.send(sockets, now) {
                break;
            }
            any = true;
        }
        while let Ok(packet) = sockets.get_mut::<raw::Socket>(self.socket).recv() {
            let packet = packet.to_vec();
            any |= self.receive(&packet, now);
        }
        let count_done = self
            .count
            .is_some_and(|c| self.received + self.errors >= c && self.all_sent());
        if count_done || (self.all_sent() && now >= self.deadline()) {
            self.finish(sockets, now);
            any = true;
        }
        any
    }

    pub(super) fn send(&mut self, sockets: &mut SocketSet<'static>, now: Instant) -> bool {
        let seq = self.next_seq;
        let data: Vec<u8> = (0..self.size)
            .map(|i| (i as u8).wrapping_add(0x10))
            .collect();
        let icmp = Icmpv4Repr::EchoRequest {
            ident: self.ident,
            seq_no: seq,
            data: &data,
        };
        let ip = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            next_header: IpProtocol::Icmp,
            payload_len: icmp.buffer_len(),
            hop_limit: 64,
        };
        let caps = ChecksumCapabilities::default();
        let mut buf = vec![0; ip.buffer_len() + icmp.buffer_len()];
        let mut view = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut view, &caps);
        icmp.emit(&mut Icmpv4Packet::new_unchecked(view.payload_mut()), &caps);
        if sockets
            .get_mut::<raw::Socket>(self.socket)
            .send_slice(&buf)
            .is_err()
        {
            return false;
        }
        self.sent.insert(seq, (now, false));
        self.transmitted += 1;
        self.next_seq = seq.wrapping_add(1);
        self.next_send += self.interval;
        self.last_event = now;
        self.last_send = now;
        true
    }

    pub(super) fn receive(&mut self, packet: &[u8], now: Instant) -> bool {
        let caps = ChecksumCapabilities::default();
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return false;
        };
        let ttl = ip.hop_limit();
        let from = ip.src_addr();
        let payload = ip.payload();
        // ICMP errors quote the original header with its full total length but only
        // eight bytes of its payload, which smoltcp's parser refuses: read them by hand.
        if payload.len() >= 8 && payload[0] == 3 {
            return self.receive_unreachable(from, payload[1], &payload[8..], now);
        }
        let Ok(icmp_packet) = Icmpv4Packet::new_checked(payload) else {
            return false;
        };
        let Ok(icmp) = Icmpv4Repr::parse(&icmp_packet, &caps) else {
            return false;
        };
        match icmp {
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } if ident == self.ident && from == self.dst => {
                let Some((sent_at, seen)) = self.sent.get_mut(&seq_no) else {
                    return false;
                };
                let rtt = (now - *sent_at).total_micros() as i64;
                let dup = *seen;
                *seen = true;
                let _ = writeln!(
                    self.out,
                    "{} bytes from {from}: icmp_seq={seq_no} ttl={ttl} time={}{}",
                    data.len() + 8,
                    format_rtt(rtt),
                    if dup { " (DUP!)" } else { "" }
                );
                if !dup {
                    self.received += 1;
                    self.rtts_us.push(rtt);
                }
                self.last_event = now;
                true
            }
            _ => false,
        }
    }

    /// A "destination unreachable" quoting one of our echo requests.
    pub(super) fn receive_unreachable(
        &mut self,
        from: Ipv4Addr,
        code: u8,
        quoted: &[u8],
        now: Instant,
    ) -> bool {
        let Some(&first) = quoted.first() else {
            return false;
        };
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 || quoted.len() < ihl + 8 {
            return false;
        }
        let dst = Ipv4Addr::new(quoted[16], quoted[17], quoted[18], quoted[19]);
        let inner = &quoted[ihl..];
        let ours = quoted[9] == 1
            && dst == self.dst
            && inner[0] == 8
            && u16::from_be_bytes([inner[4], inner[5]]) == self.ident;
        if !ours {
            return false;
        }
        let seq = u16::from_be_bytes([inner[6], inner[7]]);
        let what = match Icmpv4DstUnreachable::from(code) {
            Icmpv4DstUnreachable::HostUnreachable => "Destination Host Unreachable",
            Icmpv4DstUnreachable::NetUnreachable => "Destination Net Unreachable",
            Icmpv4DstUnreachable::PortUnreachable => "Destination Port Unreachable",
            Icmpv4DstUnreachable::ProtoUnreachable => "Destination Protocol Unreachable",
            _ => "Destination Unreachable",
        };
        let _ = writeln!(self.out, "From {from} icmp_seq={seq} {what}");
        self.errors += 1;
        self.last_event = now;
        true
    }

    pub(super) fn finish(&mut self, sockets: &mut SocketSet<'static>, _now: Instant) {
        sockets.remove(self.socket);
        let tx = self.transmitted;
        let rx = self.received;
        let time_ms = (self.last_event - self.start).total_millis();
        let _ = writeln!(self.out, "\n--- {} ping statistics ---", self.dst);
        let errors = if self.errors > 0 {
            alloc::format!(", +{} errors", self.errors)
        } else {
            String::new()
        };
        let _ = writeln!(
            self.out,
            "{tx} packets transmitted, {rx} received{errors}, {}% packet loss, time {time_ms}ms",
            loss_percent(tx, rx)
        );
        if rx > 0 {
            let _ = writeln!(
                self.out,
                "rtt min/avg/max/mdev = {} ms",
                rtt_summary(&self.rtts_us)
            );
        } else {
            self.out.push('\n');
        }
        self.status = Some(if rx > 0 { 0 } else { 1 });
    }
}

/// iputils' per-reply time: more decimals for shorter times.
pub(super) fn format_rtt(us: i64) -> String {
    if us >= 100_000 - 50 {
        alloc::format!("{} ms", (us + 500) / 1000)
    } else if us >= 10_000 - 5 {
        alloc::format!("{}.{} ms", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1000 {
        alloc::format!("{}.{:02} ms", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        alloc::format!("{}.{:03} ms", us / 1000, us % 1000)
    }
}
