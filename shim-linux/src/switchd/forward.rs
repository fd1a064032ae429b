//! Ingress: frames read in batches from the port sockets, the shared data socket, the
//! TAP device and the VXLAN uplinks, and the L2 forwarding decision for each.
//!
//! A batch's decisions are `(frame index, port)` pairs in `out`, handed to
//! `SwitchDaemon::deliver` (`egress.rs`) at the end of the batch: the frames are not
//! copied between the receive buffer and `sendmmsg`.

use std::time::SystemTime;

use umlnet_core::mac::MacAddr;
use umlnet_core::switch::{DEFAULT_MAX_FRAME_LEN, PortId, Verdict};
use umlnet_core::time::Instant;

use super::daemon::SwitchDaemon;
use super::ports::{Port, PortKind};
use super::vxlan;
use crate::sys::socket::{RecvBatch, SOCKADDR_UN_LEN, SendBatch};

/// Datagrams taken per `recvmmsg`.
pub const RECV_BATCH: usize = 64;
/// Deliveries (frames times the ports each goes to) the loop makes from one port before
/// it looks at the others again. A port that floods takes fewer frames per `recvmmsg`
/// (this over the ports its last frames went to): a burst of broadcasts to 999 ports
/// then goes out 8 frames at a time, which fit the receivers' queues (about 11
/// datagrams), instead of 64 that mostly wait in backlogs, and the other ports and the
/// backlogs get a turn every few milliseconds instead of every few dozen.
pub const DELIVERY_BUDGET: usize = 8192;

/// Frames to take from a port in one `recvmmsg`, given how many ports each of its last
/// frames went to (see [`DELIVERY_BUDGET`]).
fn frames_per_read(fanout: usize) -> usize {
    (DELIVERY_BUDGET / fanout.max(1)).clamp(1, RECV_BATCH)
}

/// The loop's buffers, made once and reused by every batch.
pub(super) struct Buffers {
    /// Datagrams of one `recvmmsg` on a unix socket.
    batch: RecvBatch,
    /// Scratch space for `sendmmsg`.
    scratch: SendBatch,
    /// The forwarding decisions of one batch: `(frame index, port)`.
    out: Vec<(u16, u16)>,
    /// One frame read from the TAP device (one byte more than the largest frame, so a
    /// longer one is seen as such).
    tapbuf: Vec<u8>,
    /// Datagrams of one `recvmmsg` on a VXLAN socket.
    vxbatch: vxlan::RecvBatch,
    /// The frames of `vxbatch` for an uplink.
    vxframes: Vec<vxlan::UplinkFrame>,
}

impl Buffers {
    /// Buffers for [`RECV_BATCH`] unix datagrams and one VXLAN batch.
    pub(super) fn new() -> Buffers {
        Buffers {
            batch: RecvBatch::new(RECV_BATCH, DEFAULT_MAX_FRAME_LEN),
            scratch: SendBatch::new(),
            out: Vec::with_capacity(RECV_BATCH * 4),
            tapbuf: vec![0u8; DEFAULT_MAX_FRAME_LEN + 1],
            vxbatch: vxlan::Uplinks::recv_buffers(),
            vxframes: Vec::with_capacity(vxlan::RECV_BATCH),
        }
    }
}

/// When frames arrived during one wake-up, for the busy-poll rule ([`super::spin`]).
#[derive(Debug, Default)]
pub(super) struct Arrivals {
    /// When the last batch of frames was read.
    pub(super) last_rx: Option<std::time::Instant>,
    /// The first port a batch came in on in this wake-up (a reply if it is where the
    /// last frame left).
    pub(super) first_in: Option<u16>,
}

impl SwitchDaemon {
    /// The shared data socket is readable: several batches per wake-up, but the others
    /// get a turn after [`DELIVERY_BUDGET`] deliveries.
    pub(super) fn data_readable(&mut self, bufs: &mut Buffers, arrivals: &mut Arrivals) {
        let mut deliveries = 0;
        for _ in 0..64 {
            if deliveries >= DELIVERY_BUDGET {
                break;
            }
            let n = match self.data.recv_batch(&mut bufs.batch) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!("receiving on the data socket: {e}");
                    break;
                }
            };
            if n == 0 {
                break;
            }
            arrivals.last_rx = Some(std::time::Instant::now());
            self.forward_batch(&bufs.batch, None, &mut bufs.out, &mut bufs.scratch);
            deliveries += bufs.out.len();
        }
    }

    /// A port's own socket is readable: up to 8 batches, each sized by the port's
    /// fan-out ([`frames_per_read`]).
    pub(super) fn port_readable(&mut self, port: u16, bufs: &mut Buffers, arrivals: &mut Arrivals) {
        let mut deliveries = 0;
        for _ in 0..8 {
            let Some(Port {
                kind: PortKind::Client {
                    own: Some(sock), ..
                },
                fanout,
                ..
            }) = self.ports.get(usize::from(port)).and_then(Option::as_ref)
            else {
                break;
            };
            let want = frames_per_read(*fanout);
            let n = sock.recv_batch_up_to(&mut bufs.batch, want).unwrap_or(0);
            if n == 0 {
                break;
            }
            arrivals.last_rx = Some(std::time::Instant::now());
            arrivals.first_in = arrivals.first_in.or(Some(port));
            self.forward_batch(&bufs.batch, Some(port), &mut bufs.out, &mut bufs.scratch);
            deliveries += bufs.out.len();
            if let Some(Some(p)) = self.ports.get_mut(usize::from(port)) {
                p.fanout = bufs.out.len().div_ceil(n).max(1);
            }
            if n < want || deliveries >= DELIVERY_BUDGET {
                break;
            }
        }
    }

    /// The TAP device is readable: up to 64 frames, one at a time.
    pub(super) fn tap_readable(&mut self, bufs: &mut Buffers) {
        for _ in 0..64 {
            let Some(tap) = &self.tap else { break };
            match tap.recv(&mut bufs.tapbuf) {
                Ok(Some(n)) => {
                    let ingress = self.tap_port.expect("tap has a port");
                    self.forward_one(
                        ingress,
                        &bufs.tapbuf[..n.min(bufs.tapbuf.len())],
                        n,
                        &mut bufs.out,
                        &mut bufs.scratch,
                    );
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("reading the tap device: {e}");
                    break;
                }
            }
        }
    }

    /// A VXLAN socket is readable: up to 8 batches.
    pub(super) fn uplink_readable(&mut self, socket: usize, bufs: &mut Buffers) {
        for _ in 0..8 {
            let now = self.now();
            let n = self
                .uplinks
                .recv_batch(socket, &mut bufs.vxbatch, now, &mut bufs.vxframes)
                .unwrap_or_else(|e| {
                    tracing::warn!("receiving on a VXLAN socket: {e}");
                    0
                });
            self.forward_uplink_frames(
                &bufs.vxbatch,
                &bufs.vxframes,
                &mut bufs.out,
                &mut bufs.scratch,
            );
            if n < vxlan::RECV_BATCH {
                break;
            }
        }
    }

    /// The L2 forwarding decision for one frame (the core switch learns its source and
    /// gives a [`Verdict`]); pushes `(frame index, port)` pairs onto `out`.
    pub(super) fn decide(
        &mut self,
        ingress: u16,
        frame: &[u8],
        len: usize,
        now: Instant,
        idx: u16,
        out: &mut Vec<(u16, u16)>,
    ) {
        let (dst, src) = match (frame.get(0..6), frame.get(6..12)) {
            (Some(d), Some(s)) => {
                let mut a = [0u8; 6];
                let mut b = [0u8; 6];
                a.copy_from_slice(d);
                b.copy_from_slice(s);
                (MacAddr(a), MacAddr(b))
            }
            _ => (MacAddr([0; 6]), MacAddr([0; 6])),
        };
        match self.sw.forward_header(PortId(ingress), dst, src, len, now) {
            Verdict::Drop(_) => return,
            Verdict::Unicast(p) => out.push((idx, p.0)),
            Verdict::Flood { except } => {
                out.extend(self.sw.ports().filter(|p| *p != except).map(|p| (idx, p.0)))
            }
        }
        if let Some(pc) = &mut self.pcap
            && matches!(pc.write_frame(frame, SystemTime::now()), Ok(true))
        {
            self.stats.captured += 1;
        }
    }

    /// Forwards the datagrams of one batch from a unix socket: the ingress port is
    /// `fixed_ingress` (a port's own socket) or the sender's (the shared socket).
    pub(super) fn forward_batch(
        &mut self,
        batch: &RecvBatch,
        fixed_ingress: Option<u16>,
        out: &mut Vec<(u16, u16)>,
        scratch: &mut SendBatch,
    ) {
        let now = self.now();
        out.clear();
        for i in 0..batch.len() {
            let Some(r) = batch.get(i) else { break };
            // A port's own socket is connected to its client: the kernel lets nobody
            // else send to it. On the shared socket the sender's address is the port: an
            // abstract name must be the full 110 bytes the client registered (a shorter
            // one is another socket); for a filesystem path the kernel reports only the
            // path and its NUL, so the zero-padded bytes are compared instead.
            let port = match fixed_ingress {
                Some(p) => Some(p),
                None if r.addr_len == SOCKADDR_UN_LEN || (r.addr_len > 2 && r.addr[2] != 0) => {
                    self.lookup(r.addr)
                }
                None => None,
            };
            let Some(ingress) = port else {
                self.stats.unknown_sender += 1;
                tracing::trace!("datagram from an address that is not a port; dropped");
                continue;
            };
            // A cut datagram was longer than the buffer: report one more byte so the
            // switch counts it as oversize.
            let len = if r.truncated {
                r.data.len() + 1
            } else {
                r.data.len()
            };
            self.decide(ingress, r.data, len, now, i as u16, out);
        }
        self.deliver(
            |i| batch.get(usize::from(i)).map_or(&[][..], |r| r.data),
            out,
            scratch,
        );
    }

    /// Forwards the frames of one batch taken from the uplinks.
    pub(super) fn forward_uplink_frames(
        &mut self,
        batch: &vxlan::RecvBatch,
        frames: &[vxlan::UplinkFrame],
        out: &mut Vec<(u16, u16)>,
        scratch: &mut SendBatch,
    ) {
        if frames.is_empty() {
            return;
        }
        let now = self.now();
        out.clear();
        for (i, uf) in frames.iter().enumerate() {
            let Some(&ingress) = self.uplink_ports.get(uf.uplink) else {
                continue;
            };
            let f = uf.bytes(batch);
            self.decide(ingress, f, f.len(), now, i as u16, out);
        }
        self.deliver(
            |i| {
                frames
                    .get(usize::from(i))
                    .map_or(&[][..], |uf| uf.bytes(batch))
            },
            out,
            scratch,
        );
    }

    /// Forwards one frame (from the TAP device).
    pub(super) fn forward_one(
        &mut self,
        ingress: u16,
        frame: &[u8],
        len: usize,
        out: &mut Vec<(u16, u16)>,
        scratch: &mut SendBatch,
    ) {
        let now = self.now();
        out.clear();
        self.decide(ingress, frame, len, now, 0, out);
        self.deliver(|_| frame, out, scratch);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::switchd::PORT_SLOTS;

    #[test]
    fn a_port_that_floods_many_ports_is_read_a_few_frames_at_a_time() {
        // Unicast, or a few ports: full batches.
        assert_eq!(frames_per_read(1), RECV_BATCH);
        assert_eq!(frames_per_read(0), RECV_BATCH);
        assert_eq!(frames_per_read(3), RECV_BATCH);
        // Broadcasts to 999 ports: 8 frames, which fit a UML kernel's queue of about 11.
        assert_eq!(frames_per_read(998), 8);
        // Never nothing, however wide the flood.
        assert_eq!(frames_per_read(PORT_SLOTS), 2);
        assert_eq!(frames_per_read(usize::MAX), 1);
    }
}
