//! The host's I/O: reading every interface's wire, handing Ethernet frames to ARP or
//! IPv4, writing frames out, and the timers that [`HostKernel::poll`] runs.

use super::HostKernel;
use super::neigh::Neigh;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};
use std::vec;
use umlnet_core::link::{Link, Medium};
use umlnet_core::mac::MacAddr;

impl HostKernel {
    /// When the host next has timed work (an ARP retry).
    pub fn poll_at(&self) -> Option<Instant> {
        let arp = self
            .neigh
            .values()
            .filter_map(|n| match n {
                Neigh::Incomplete { next, .. } => Some(*next),
                Neigh::Reachable(_) => None,
            })
            .min();
        let proxy = self.proxy_queue.keys().next().map(|k| k.0);
        arp.into_iter().chain(proxy).min()
    }

    /// Reads every interface and does the due work; whether anything happened.
    pub fn poll(&mut self, now: Instant) -> bool {
        let mut any = false;
        for i in 0..self.ifaces.len() {
            for _ in 0..256 {
                let Some(i) = (i < self.ifaces.len()).then_some(i) else {
                    break;
                };
                let mut buf = core::mem::take(&mut self.buf);
                let got = match self.ifaces[i].link.as_mut() {
                    Some(l) => l.recv(&mut buf).ok().flatten(),
                    None => None,
                };
                let Some(n) = got else {
                    self.buf = buf;
                    break;
                };
                any = true;
                if self.ifaces[i].up {
                    match self.ifaces[i].medium() {
                        Medium::Ethernet => self.rx_ethernet(i, &buf[..n], now),
                        Medium::Ip => self.rx_ip(i, &buf[..n], now),
                    }
                }
                self.buf = buf;
            }
        }
        any |= self.arp_timers(now);
        any |= self.proxy_timers(now);
        any
    }

    pub(super) fn rx_ethernet(&mut self, i: usize, bytes: &[u8], now: Instant) {
        let Ok(f) = EthernetFrame::new_checked(bytes) else {
            self.stats.bad_packets += 1;
            return;
        };
        let dst = MacAddr(f.dst_addr().0);
        if dst != self.ifaces[i].mac && !dst.is_multicast() {
            return; // not for this host (a flooded frame)
        }
        match f.ethertype() {
            EthernetProtocol::Arp => self.rx_arp(i, f.payload(), now, !dst.is_multicast()),
            EthernetProtocol::Ipv4 => self.rx_ip(i, f.payload(), now),
            _ => {}
        }
    }

    pub(super) fn send_frame(
        &mut self,
        i: usize,
        to: MacAddr,
        proto: EthernetProtocol,
        payload: &[u8],
    ) {
        let iface = &mut self.ifaces[i];
        let mut frame = vec![0u8; 14 + payload.len()];
        {
            let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
            f.set_dst_addr(EthernetAddress(to.0));
            f.set_src_addr(EthernetAddress(iface.mac.0));
            f.set_ethertype(proto);
            f.payload_mut().copy_from_slice(payload);
        }
        if let Some(l) = iface.link.as_mut() {
            let _ = l.send(&frame);
        }
    }
}
