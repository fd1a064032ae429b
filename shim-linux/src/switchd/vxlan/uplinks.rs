//! The uplinks with their sockets ([`Uplinks`]): one non-blocking UDP socket per local
//! address, datagrams in by `recvmmsg` and out by `sendmmsg`.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use umlnet_core::mac::MacAddr;
use umlnet_core::time::Instant;
use umlnet_core::vxlan::{self, HEADER_LEN};

use super::uplink::canonical_ip;
use super::{Destinations, RECV_BATCH, SLOT, Uplink, UplinkSpec, VxlanStats, classify};
use crate::sys::mmsg::{self, INET_ADDR_LEN, SendBatch, inet_addr_bytes, inet_addr_from_bytes};

/// Datagrams of one `recvmmsg` on an uplink socket, with their senders' addresses.
pub type RecvBatch = mmsg::RecvBatch<INET_ADDR_LEN>;

/// A frame taken from a datagram of a [`RecvBatch`] for an uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkFrame {
    /// The uplink it came in on (its index in [`Uplinks`]).
    pub uplink: usize,
    /// The datagram of the batch it is in.
    pub datagram: usize,
    /// Where it is in that datagram (after the VXLAN header).
    pub range: Range<usize>,
}

impl UplinkFrame {
    /// The frame's bytes in `batch` (empty if the batch has changed since).
    pub fn bytes<'b>(&self, batch: &'b RecvBatch) -> &'b [u8] {
        batch
            .get(self.datagram)
            .and_then(|d| d.data.get(self.range.clone()))
            .unwrap_or(&[])
    }
}

/// An encapsulated datagram waiting for [`Uplinks::flush`].
#[derive(Debug)]
struct Pending {
    /// The index of the socket it leaves by.
    socket: usize,
    /// Where it goes.
    to: SocketAddr,
    /// `to` as the kernel takes it.
    name: [u8; INET_ADDR_LEN],
    /// The datagram's bytes in [`Uplinks::out`].
    range: Range<usize>,
}

/// One UDP socket and the uplinks that share its local address.
#[derive(Debug)]
struct Local {
    sock: UdpSocket,
    addr: SocketAddr,
    serving: Vec<usize>,
}

/// All uplinks of a switch with their sockets.
#[derive(Debug, Default)]
pub struct Uplinks {
    locals: Vec<Local>,
    uplinks: Vec<Uplink>,
    stats: VxlanStats,
    /// Encapsulated datagrams waiting for [`Uplinks::flush`], back to back.
    out: Vec<u8>,
    /// What waits.
    pending: Vec<Pending>,
    /// The indices in `pending` of one socket's datagrams, while they are sent.
    mine: Vec<usize>,
    /// Scratch space for `sendmmsg`.
    scratch: SendBatch,
}

/// Datagrams sent per `sendmmsg` ([`Uplinks::flush`]).
pub const SEND_BATCH: usize = 64;

impl Uplinks {
    /// Binds one non-blocking UDP socket per distinct local address. Refuses two uplinks
    /// on the same local address with the same VNI and a remote address in common (a
    /// datagram could not tell them apart).
    pub fn bind(specs: &[UplinkSpec]) -> io::Result<Uplinks> {
        let mut u = Uplinks {
            out: Vec::with_capacity(SEND_BATCH * SLOT),
            ..Uplinks::default()
        };
        for (i, spec) in specs.iter().enumerate() {
            for (j, other) in specs[..i].iter().enumerate() {
                let shared = other.local == spec.local
                    && other.vni == spec.vni
                    && other.remotes.iter().any(|a| {
                        spec.remotes
                            .iter()
                            .any(|b| canonical_ip(a.ip()) == canonical_ip(b.ip()))
                    });
                if shared {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "-vxlan {spec} and -vxlan {other} (uplink {j}) share local address, \
                             VNI and a remote address; merge them into one uplink"
                        ),
                    ));
                }
            }
            let local = match u.locals.iter().position(|l| l.addr == spec.local) {
                Some(l) => l,
                None => {
                    let sock = UdpSocket::bind(spec.local).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!("binding the VXLAN socket {}: {e}", spec.local),
                        )
                    })?;
                    sock.set_nonblocking(true)?;
                    set_buffers(&sock);
                    u.locals.push(Local {
                        sock,
                        addr: spec.local,
                        serving: Vec::new(),
                    });
                    u.locals.len() - 1
                }
            };
            u.locals[local].serving.push(i);
            u.uplinks.push(Uplink::new(spec.clone()));
        }
        Ok(u)
    }

    /// How many uplinks there are (indices `0..len()`).
    pub fn len(&self) -> usize {
        self.uplinks.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.uplinks.is_empty()
    }

    /// The sockets to watch for reading: `(socket index, fd)`.
    pub fn fds(&self) -> impl Iterator<Item = (usize, RawFd)> + '_ {
        self.locals
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.sock.as_raw_fd()))
    }

    /// One uplink.
    pub fn uplink(&self, i: usize) -> Option<&Uplink> {
        self.uplinks.get(i)
    }

    /// The counters.
    pub fn stats(&self) -> VxlanStats {
        self.stats
    }

    /// How the console's `ports` names uplink `i`.
    pub fn describe(&self, i: usize) -> String {
        match self.uplinks.get(i) {
            Some(u) => format!(
                "vxlan vni {} local {} remotes {} endpoint_macs {}",
                u.spec().vni,
                u.spec().local,
                u.spec()
                    .remotes
                    .iter()
                    .map(SocketAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                u.learned()
            ),
            None => "vxlan ?".to_string(),
        }
    }

    /// Buffers for [`Uplinks::recv_batch`]: [`RECV_BATCH`] datagrams of [`SLOT`] bytes.
    pub fn recv_buffers() -> RecvBatch {
        RecvBatch::new(RECV_BATCH, SLOT)
    }

    /// Reads up to [`RECV_BATCH`] datagrams from socket `socket` with one `recvmmsg`
    /// into `batch` (made by [`Uplinks::recv_buffers`]), and puts the frames for an
    /// uplink into `frames`. Malformed and foreign datagrams are counted and skipped.
    /// Returns how many datagrams were read (0: none waiting).
    pub fn recv_batch(
        &mut self,
        socket: usize,
        batch: &mut RecvBatch,
        now: Instant,
        frames: &mut Vec<UplinkFrame>,
    ) -> io::Result<usize> {
        frames.clear();
        let Some(local) = self.locals.get(socket) else {
            return Ok(0);
        };
        let got = match mmsg::recv(local.sock.as_fd(), batch, RECV_BATCH) {
            Ok(n) => n,
            Err(e) => match e.raw_os_error() {
                // ECONNREFUSED: an ICMP error queued for an earlier send; it is not a
                // datagram.
                Some(libc::EAGAIN | libc::EINTR | libc::ECONNREFUSED) => return Ok(0),
                _ => return Err(e),
            },
        };
        for k in 0..got {
            let Some(d) = batch.get(k) else {
                break;
            };
            self.stats.rx_datagrams += u64::from(d.truncated);
            if d.truncated {
                self.stats.drops_oversize += 1;
                continue;
            }
            let Some(src) = inet_addr_from_bytes(d.addr, d.addr_len) else {
                continue;
            };
            match classify(
                &mut self.uplinks,
                &local.serving,
                src,
                d.data,
                now,
                &mut self.stats,
            ) {
                Ok((uplink, frame)) => {
                    let start = frame.as_ptr() as usize - d.data.as_ptr() as usize;
                    frames.push(UplinkFrame {
                        uplink,
                        datagram: k,
                        range: start..start + frame.len(),
                    });
                }
                Err(why) => tracing::debug!("VXLAN datagram from {src} dropped: {why:?}"),
            }
        }
        Ok(got)
    }

    /// Queues `frame` for uplink `i`: to the endpoint its destination was learned
    /// from, or to every endpoint. Returns how many datagrams were queued; they leave
    /// with the next [`Uplinks::flush`] (or now, when the queue is full).
    pub fn send(&mut self, i: usize, frame: &[u8], now: Instant) -> usize {
        let Some(up) = self.uplinks.get(i) else {
            return 0;
        };
        let Some(local) = self.locals.iter().position(|l| l.addr == up.spec().local) else {
            return 0;
        };
        let needed = HEADER_LEN + frame.len();
        if self.out.len() + needed > self.out.capacity()
            || self.pending.len() + up.spec().remotes.len() > SEND_BATCH
        {
            self.flush();
        }
        let Some(up) = self.uplinks.get(i) else {
            return 0;
        };
        let start = self.out.len();
        self.out.resize(start + needed, 0);
        let n = match vxlan::encapsulate(up.spec().vni, frame, &mut self.out[start..]) {
            Ok(n) => n,
            Err(_) => {
                self.out.truncate(start);
                self.stats.tx_errors += 1;
                return 0;
            }
        };
        let range = start..start + n;
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        match up.destinations(MacAddr(dst), now) {
            Destinations::One(to) => {
                self.stats.tx_unicast += 1;
                self.pending.push(Pending {
                    socket: local,
                    to,
                    name: inet_addr_bytes(to),
                    range,
                });
                1
            }
            Destinations::All(all) => {
                self.stats.tx_replicated += 1;
                for &to in all {
                    self.pending.push(Pending {
                        socket: local,
                        to,
                        name: inet_addr_bytes(to),
                        range: range.clone(),
                    });
                }
                all.len()
            }
        }
    }

    /// Sends what [`Uplinks::send`] queued, with one `sendmmsg` per socket and batch.
    /// Never blocks; what the kernel refuses is counted as `tx_errors`.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        for (li, local) in self.locals.iter().enumerate() {
            self.mine.clear();
            self.mine.extend(
                self.pending
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.socket == li)
                    .map(|(i, _)| i),
            );
            let mut k = 0;
            while k < self.mine.len() {
                let batch = &self.mine[k..];
                let (pending, out) = (&self.pending, &self.out);
                match mmsg::send(
                    local.sock.as_fd(),
                    &mut self.scratch,
                    batch.len(),
                    |i| {
                        let p = &pending[batch[i]];
                        (&out[p.range.clone()], Some(&p.name))
                    },
                    libc::MSG_DONTWAIT,
                ) {
                    Ok(n) => {
                        self.stats.tx_datagrams += n as u64;
                        k += n;
                    }
                    Err(e) => {
                        // The first one failed: count it, go on with the next.
                        self.stats.tx_errors += 1;
                        tracing::debug!("VXLAN send to {}: {e}", pending[batch[0]].to);
                        k += 1;
                    }
                }
            }
        }
        self.pending.clear();
        self.out.clear();
    }
}

/// Larger socket buffers: a burst of frames from many ports fits.
fn set_buffers(sock: &UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    let _ = setsockopt(sock, sockopt::RcvBuf, &(4 << 20));
    let _ = setsockopt(sock, sockopt::SndBuf, &(4 << 20));
}
