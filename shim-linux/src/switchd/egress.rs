//! Delivery: the frames of one batch to the ports the forwarding decision chose, one
//! `sendmmsg` per destination socket; the TAP device and the uplinks one frame at a
//! time. What meets a full receive queue waits in the port's backlog
//! ([`super::backlog`]).

use std::io;

use umlnet_core::switch::PortId;

use super::daemon::SwitchDaemon;
use super::ports::PortKind;
use crate::sys::socket::{SOCKADDR_UN_LEN, SendBatch};

impl SwitchDaemon {
    /// Sends each `(frame, port)` pair; client ports through one `sendmmsg` stream.
    pub(super) fn deliver<'f>(
        &mut self,
        frame: impl Fn(u16) -> &'f [u8],
        out: &[(u16, u16)],
        scratch: &mut SendBatch,
    ) {
        let Some(&(_, last)) = out.last() else {
            return;
        };
        self.last_egress = Some(last);
        if !self.backlogged.is_empty() {
            self.flush_backlogs();
        }
        let now = self.now();
        // Frames for ports that already wait (kept in order behind their backlog).
        let mut defer: Vec<(u16, &'f [u8])> = Vec::new();
        let mut msgs: Vec<(&[u8], &[u8; SOCKADDR_UN_LEN])> = Vec::new();
        let mut dests: Vec<u16> = Vec::new();
        // (port, frame index) for ports with a connected socket of their own.
        let mut conn: Vec<(u16, u16)> = Vec::with_capacity(out.len());
        for &(i, p) in out {
            let Some(port) = self.ports.get(usize::from(p)).and_then(Option::as_ref) else {
                continue;
            };
            if !port.backlog.is_empty() {
                defer.push((p, frame(i)));
                continue;
            }
            match &port.kind {
                PortKind::Client { own: Some(_), .. } => conn.push((p, i)),
                PortKind::Client { addr, .. } => {
                    msgs.push((frame(i), addr.as_bytes()));
                    dests.push(p);
                }
                PortKind::Vxlan(u) => {
                    if self.uplinks.send(*u, frame(i), now) > 0 {
                        self.stats.tx_frames += 1;
                    } else {
                        self.sw.record_tx_error(PortId(p));
                    }
                }
                PortKind::Tap => {
                    if let Some(t) = &self.tap {
                        match t.send(frame(i)) {
                            Ok(Some(_)) => self.stats.tx_frames += 1,
                            Ok(None) => {
                                self.stats.tx_queue_full += 1;
                                self.sw.record_tx_error(PortId(p));
                            }
                            Err(_) => {
                                self.stats.tx_other_errors += 1;
                                self.sw.record_tx_error(PortId(p));
                            }
                        }
                    }
                }
            }
        }
        // One sendmmsg per port for all of its frames in this batch, in order (the sort
        // is stable); what meets a full queue waits in the port's backlog.
        conn.sort_by_key(|&(p, _)| p);
        let mut frames: Vec<&'f [u8]> = Vec::new();
        for run in conn.chunk_by(|a, b| a.0 == b.0) {
            let p = run[0].0;
            let Some(sock) = self
                .ports
                .get(usize::from(p))
                .and_then(Option::as_ref)
                .and_then(|port| port.kind.tx_socket())
            else {
                continue;
            };
            frames.clear();
            frames.extend(run.iter().map(|&(_, i)| frame(i)));
            let mut k = 0;
            while k < frames.len() {
                match sock.send_batch_connected(scratch, &frames[k..]) {
                    Ok(n) => {
                        self.stats.tx_frames += n as u64;
                        k += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        defer.extend(frames[k..].iter().map(|f| (p, *f)));
                        break;
                    }
                    Err(e) => {
                        match e.raw_os_error() {
                            Some(libc::ECONNREFUSED) | Some(libc::ENOENT) => {
                                self.stats.tx_refused += 1
                            }
                            _ => {
                                self.stats.tx_other_errors += 1;
                                tracing::debug!("send to port {p}: {e}");
                            }
                        }
                        self.sw.record_tx_error(PortId(p));
                        k += 1;
                    }
                }
            }
        }
        self.uplinks.flush();
        let mut k = 0;
        while k < msgs.len() {
            match self.data.send_batch(scratch, &msgs[k..]) {
                Ok(n) => {
                    self.stats.tx_frames += n as u64;
                    k += n;
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    // Hold this frame and every later one for the same port, in order.
                    let p = dests[k];
                    defer.push((p, msgs[k].0));
                    let mut j = k + 1;
                    for r in k + 1..msgs.len() {
                        if dests[r] == p {
                            defer.push((p, msgs[r].0));
                        } else {
                            msgs[j] = msgs[r];
                            dests[j] = dests[r];
                            j += 1;
                        }
                    }
                    msgs.truncate(j);
                    dests.truncate(j);
                    k += 1;
                }
                Err(e) => {
                    match e.raw_os_error() {
                        Some(libc::ECONNREFUSED) | Some(libc::ENOENT) => self.stats.tx_refused += 1,
                        _ => {
                            self.stats.tx_other_errors += 1;
                            tracing::debug!("send to port {}: {e}", dests[k]);
                        }
                    }
                    self.sw.record_tx_error(PortId(dests[k]));
                    k += 1;
                }
            }
        }
        drop(msgs);
        for (p, f) in defer {
            self.enqueue(p, f);
        }
    }
}
