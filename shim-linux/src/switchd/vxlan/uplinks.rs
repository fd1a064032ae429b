//! The uplinks with their sockets ([`Uplinks`]): one non-blocking UDP socket per local
//! address, datagrams in by `recvmmsg` and out by `sendmmsg`.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use umlnet_core::mac::MacAddr;
use umlnet_core::switch::Instant;
use umlnet_core::vxlan::{self, HEADER_LEN};

use super::uplink::canonical_ip;
use super::{Destinations, RECV_BATCH, SLOT, Uplink, UplinkSpec, VxlanStats, classify};

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
    /// What waits: (socket index, destination, range in `out`).
    pending: Vec<(usize, SocketAddr, std::ops::Range<usize>)>,
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

    /// Reads up to [`RECV_BATCH`] datagrams from socket `socket` with one `recvmmsg`
    /// into the [`SLOT`]-sized slots of `buf`, and puts the frames for an uplink into
    /// `frames` as (uplink index, range in `buf`). Malformed and foreign datagrams are
    /// counted and skipped. Returns how many datagrams were read (0: none waiting).
    pub fn recv_batch(
        &mut self,
        socket: usize,
        buf: &mut [u8],
        now: Instant,
        frames: &mut Vec<(usize, std::ops::Range<usize>)>,
    ) -> io::Result<usize> {
        use nix::errno::Errno;
        use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
        frames.clear();
        let Some(local) = self.locals.get(socket) else {
            return Ok(0);
        };
        let slots = (buf.len() / SLOT).min(RECV_BATCH);
        let mut got: Vec<(usize, Option<SocketAddr>, bool)> = Vec::with_capacity(slots);
        {
            let mut iovs: Vec<[io::IoSliceMut<'_>; 1]> = buf
                .chunks_mut(SLOT)
                .take(slots)
                .map(|c| [io::IoSliceMut::new(c)])
                .collect();
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
            match recvmmsg(
                local.sock.as_raw_fd(),
                &mut headers,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            ) {
                Ok(results) => {
                    for r in results {
                        let src = r.address.and_then(|a| {
                            if let Some(v4) = a.as_sockaddr_in() {
                                Some(SocketAddr::V4((*v4).into()))
                            } else {
                                a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
                            }
                        });
                        got.push((r.bytes, src, r.flags.contains(MsgFlags::MSG_TRUNC)));
                    }
                }
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => return Ok(0),
                // An ICMP error queued for an earlier send; it is not a datagram.
                Err(Errno::ECONNREFUSED) => return Ok(0),
                Err(e) => return Err(e.into()),
            }
        }
        for (k, &(n, src, cut)) in got.iter().enumerate() {
            let base = k * SLOT;
            self.stats.rx_datagrams += u64::from(cut);
            if cut {
                self.stats.drops_oversize += 1;
                continue;
            }
            let Some(src) = src else {
                continue;
            };
            let datagram = &buf[base..base + n.min(SLOT)];
            match classify(
                &mut self.uplinks,
                &local.serving,
                src,
                datagram,
                now,
                &mut self.stats,
            ) {
                Ok((u, frame)) => {
                    let start = base + (frame.as_ptr() as usize - datagram.as_ptr() as usize);
                    frames.push((u, start..start + frame.len()));
                }
                Err(why) => tracing::debug!("VXLAN datagram from {src} dropped: {why:?}"),
            }
        }
        Ok(got.len())
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
                self.pending.push((local, to, range));
                1
            }
            Destinations::All(all) => {
                self.stats.tx_replicated += 1;
                for &to in all {
                    self.pending.push((local, to, range.clone()));
                }
                all.len()
            }
        }
    }

    /// Sends what [`Uplinks::send`] queued, with one `sendmmsg` per socket and batch.
    /// Never blocks; what the kernel refuses is counted as `tx_errors`.
    pub fn flush(&mut self) {
        use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};
        if self.pending.is_empty() {
            return;
        }
        for (li, local) in self.locals.iter().enumerate() {
            let mine: Vec<&(usize, SocketAddr, std::ops::Range<usize>)> =
                self.pending.iter().filter(|p| p.0 == li).collect();
            let mut k = 0;
            while k < mine.len() {
                let batch = &mine[k..];
                let iovs: Vec<[io::IoSlice<'_>; 1]> = batch
                    .iter()
                    .map(|p| [io::IoSlice::new(&self.out[p.2.clone()])])
                    .collect();
                let addrs: Vec<Option<SockaddrStorage>> = batch
                    .iter()
                    .map(|p| Some(SockaddrStorage::from(p.1)))
                    .collect();
                let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
                let cmsgs: [ControlMessage<'_>; 0] = [];
                match sendmmsg(
                    local.sock.as_raw_fd(),
                    &mut headers,
                    iovs.iter(),
                    &addrs,
                    cmsgs,
                    MsgFlags::MSG_DONTWAIT,
                ) {
                    Ok(results) => {
                        let n = results.count().max(1);
                        self.stats.tx_datagrams += n as u64;
                        k += n;
                    }
                    Err(e) => {
                        // The first one failed: count it, go on with the next.
                        self.stats.tx_errors += 1;
                        tracing::debug!("VXLAN send to {}: {e}", batch[0].1);
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
