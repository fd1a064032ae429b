//! Ports for QEMU's unix-socket netdevs (docs/protocols.md §16), without libvdeplug:
//!
//! * `-stream <path>`: a unix stream listener for `-netdev stream,server=off,
//!   addr.type=unix,addr.path=<path>`. Each connection is a port, gone with its
//!   addresses when QEMU closes it; frames travel as a 4-byte big-endian length and
//!   the frame ([`umlnet_core::qemu_stream`]). What cannot be written at once waits in
//!   the port's output buffer (up to [`STREAM_TX_LIMIT`] bytes; beyond, frames are
//!   dropped and counted) and goes when the socket has room (`EPOLLOUT`).
//! * `-dgram <switch path>,<qemu path>` (repeatable): a datagram socket bound to
//!   `<switch path>` for `-netdev dgram,local.type=unix,local.path=<qemu path>,
//!   remote.type=unix,remote.path=<switch path>`. The peer is a port from the start;
//!   one bare frame per datagram. Datagrams from any other sender are dropped and
//!   counted; frames go to `<qemu path>` by name, so QEMU may start, stop and start
//!   again after the switch (frames for it while it is away are counted as refused).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use umlnet_core::daemon::DataAddr;
use umlnet_core::qemu_stream::{MAX_FRAME_LEN, PREFIX_LEN, next_frame, prefix};
use umlnet_core::switch::PortId;

use super::daemon::SwitchDaemon;
use super::error::{SwitchError, io_err};
use super::forward::{Arrivals, Buffers};
use super::ports::PortKind;
use super::token::Token;
use crate::sys::epoll::{Poller, Ready};
use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN, SendBatch, path_addr_bytes};

/// Bytes a stream port may have waiting to be written before its frames are dropped.
pub const STREAM_TX_LIMIT: usize = 1 << 20;

/// Bytes read from a stream connection at a time.
const STREAM_READ: usize = 64 * 1024;

/// A `-dgram <switch path>,<qemu path>` peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DgramPeer {
    /// The switch's socket (QEMU's `remote.path`).
    pub local: PathBuf,
    /// QEMU's socket (its `local.path`).
    pub remote: PathBuf,
}

impl std::str::FromStr for DgramPeer {
    type Err = String;
    fn from_str(s: &str) -> Result<DgramPeer, String> {
        let mut it = s.split(',');
        match (it.next(), it.next(), it.next()) {
            (Some(l), Some(r), None) if !l.is_empty() && !r.is_empty() => {
                for p in [l, r] {
                    path_addr_bytes(Path::new(p)).map_err(|e| e.to_string())?;
                }
                Ok(DgramPeer {
                    local: l.into(),
                    remote: r.into(),
                })
            }
            _ => Err(format!(
                "'{s}' is not <switch socket path>,<qemu socket path> (two paths, no other commas)"
            )),
        }
    }
}

impl std::fmt::Display for DgramPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.local.display(), self.remote.display())
    }
}

/// A QEMU stream connection's buffers.
#[derive(Debug)]
pub(super) struct StreamConn {
    pub(super) conn: UnixStream,
    /// Bytes read and not yet a whole frame.
    rx: Vec<u8>,
    /// Bytes (prefixes and frames) not yet written.
    tx: Vec<u8>,
    /// `EPOLLOUT` is asked for.
    armed: bool,
}

/// The QEMU listeners and sockets.
#[derive(Debug, Default)]
pub(super) struct QemuPorts {
    pub(super) stream: Option<UnixListener>,
    /// Each `-dgram` peer's socket and its port, by peer index.
    pub(super) dgram: Vec<(DgramSocket, u16)>,
    /// Stream ports whose output waits for room.
    pub(super) to_arm: Vec<u16>,
}

/// The `-stream` listener and each `-dgram` socket with its peer's address.
pub(super) type QemuSockets = (Option<UnixListener>, Vec<(DgramSocket, DataAddr)>);

/// Binds `-stream` and the `-dgram` sockets (stale socket files are reclaimed, live
/// ones refused) and records their paths in `owned` for removal at exit.
pub(super) fn bind(
    cfg: &super::Config,
    owned: &mut Vec<PathBuf>,
) -> Result<QemuSockets, SwitchError> {
    let stream = match &cfg.stream {
        Some(p) => {
            let l = super::setup::bind_control(p)?;
            owned.push(p.clone());
            l.set_nonblocking(true)
                .map_err(io_err("O_NONBLOCK on", p.display()))?;
            Some(l)
        }
        None => None,
    };
    let mut dgram = Vec::new();
    for peer in &cfg.dgram {
        let (s, _) = super::setup::bind_data_path(&peer.local)?;
        owned.push(peer.local.clone());
        let _ = s.set_send_buffer(1 << 20);
        let remote = DataAddr::from_array(
            path_addr_bytes(&peer.remote).map_err(io_err("-dgram peer", peer.remote.display()))?,
        );
        dgram.push((s, remote));
    }
    Ok((stream, dgram))
}

impl SwitchDaemon {
    /// Makes each `-dgram` peer a port (at setup).
    pub(super) fn attach_dgram_peers(&mut self, socks: Vec<(DgramSocket, DataAddr)>) {
        for (i, (sock, peer)) in socks.into_iter().enumerate() {
            let id = self
                .alloc_port(PortKind::QemuDgram { peer })
                .expect("a fresh switch has free ports");
            self.by_addr.insert(peer, id);
            tracing::info!(
                "QEMU dgram peer {} is port {id}",
                self.cfg.dgram[i].remote.display()
            );
            self.qemu.dgram.push((sock, id));
        }
    }

    /// Registers the QEMU listener and sockets with the poller.
    pub(super) fn watch_qemu(&self, poller: &Poller) -> io::Result<()> {
        if let Some(l) = &self.qemu.stream {
            poller.add(l.as_raw_fd(), u64::from(Token::StreamListener))?;
        }
        for (i, (s, _)) in self.qemu.dgram.iter().enumerate() {
            poller.add(s.as_raw_fd(), u64::from(Token::QemuDgram(i)))?;
        }
        Ok(())
    }

    /// A `-dgram` socket is readable: batches whose senders are looked up by address
    /// (only the peer's is a port).
    pub(super) fn qemu_dgram_readable(&mut self, i: usize, bufs: &mut Buffers, arr: &mut Arrivals) {
        for _ in 0..8 {
            let Some((s, _)) = self.qemu.dgram.get(i) else {
                return;
            };
            let n = s.recv_batch(&mut bufs.batch).unwrap_or(0);
            if n == 0 {
                return;
            }
            arr.last_rx = Some(std::time::Instant::now());
            self.forward_batch(&bufs.batch, None, &mut bufs.out, &mut bufs.scratch);
            if n < bufs.batch.capacity() {
                return;
            }
        }
    }

    /// The `-stream` listener is readable: every waiting connection becomes a port.
    pub(super) fn accept_stream(&mut self, poller: &Poller) {
        loop {
            let Some(l) = &self.qemu.stream else { return };
            let conn = match l.accept() {
                Ok((c, _)) => c,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!("accepting on the stream socket: {e}");
                    return;
                }
            };
            if conn.set_nonblocking(true).is_err() {
                continue;
            }
            let fd = conn.as_raw_fd();
            let uid = crate::sys::access::peer_cred(fd).map_or(u32::MAX, |c| c.uid);
            let kind = PortKind::Stream(Box::new(StreamConn {
                conn,
                rx: Vec::new(),
                tx: Vec::new(),
                armed: false,
            }));
            let id = match self.alloc_user_port(kind, uid) {
                Ok(id) => id,
                Err(why) => {
                    self.stats.requests_refused += 1;
                    if self.admission.log.allow() {
                        tracing::warn!("no port for a QEMU stream connection: {why}; closed");
                    }
                    continue;
                }
            };
            if let Err(e) = poller.add(fd, u64::from(Token::Stream(id))) {
                tracing::warn!("watching port {id}: {e}; detaching it");
                self.detach(poller, id);
                continue;
            }
            self.stats.ports_attached += 1;
            tracing::info!("New port {id} (qemu stream)");
        }
    }

    /// Something happened on a stream port: room to write, bytes to read, or its end.
    pub(super) fn stream_event(
        &mut self,
        poller: &Poller,
        id: u16,
        ev: Ready,
        bufs: &mut Buffers,
        arr: &mut Arrivals,
    ) {
        if ev.writable {
            self.stream_flush(id);
            if let Some(PortKind::Stream(c)) = self.port_kind_mut(id)
                && c.tx.is_empty()
            {
                c.armed = false;
                let _ =
                    poller.want_writable(c.conn.as_raw_fd(), u64::from(Token::Stream(id)), false);
            }
        }
        if ev.readable || ev.hangup {
            match self.stream_read(id, bufs, arr) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!("Disconnect port {id}");
                    self.detach(poller, id);
                }
                Err(why) => {
                    tracing::info!("Disconnect port {id} ({why})");
                    self.detach(poller, id);
                }
            }
        }
    }

    fn port_kind_mut(&mut self, id: u16) -> Option<&mut PortKind> {
        self.ports
            .get_mut(usize::from(id))
            .and_then(Option::as_mut)
            .map(|p| &mut p.kind)
    }

    /// Reads what a stream port has sent and forwards its whole frames; `Ok(false)` at
    /// its end.
    fn stream_read(
        &mut self,
        id: u16,
        bufs: &mut Buffers,
        arr: &mut Arrivals,
    ) -> Result<bool, String> {
        let mut open = true;
        let mut rx = match self.port_kind_mut(id) {
            Some(PortKind::Stream(c)) => {
                let mut rx = std::mem::take(&mut c.rx);
                for _ in 0..4 {
                    let at = rx.len();
                    rx.resize(at + STREAM_READ, 0);
                    match c.conn.read(&mut rx[at..]) {
                        Ok(0) => {
                            rx.truncate(at);
                            open = false;
                            break;
                        }
                        Ok(n) => rx.truncate(at + n),
                        Err(e) => {
                            rx.truncate(at);
                            if e.kind() == io::ErrorKind::WouldBlock
                                || e.kind() == io::ErrorKind::Interrupted
                            {
                                break;
                            }
                            return Err(e.to_string());
                        }
                    }
                    if rx.len() < at + STREAM_READ {
                        break;
                    }
                }
                rx
            }
            _ => return Ok(true),
        };
        let mut frames = Vec::new();
        let mut at = 0;
        let bad = loop {
            match next_frame(&rx[at..]) {
                Ok(Some(r)) => {
                    frames.push(at + r.start..at + r.end);
                    at += r.end;
                }
                Ok(None) => break None,
                Err(e) => break Some(e.to_string()),
            }
        };
        if !frames.is_empty() {
            arr.last_rx = Some(std::time::Instant::now());
            arr.first_in = arr.first_in.or(Some(id));
            let now = self.now();
            bufs.out.clear();
            for (i, r) in frames.iter().enumerate() {
                self.decide(id, &rx[r.clone()], r.len(), now, i as u16, &mut bufs.out);
            }
            let out = std::mem::take(&mut bufs.out);
            self.deliver(
                |i| {
                    frames
                        .get(usize::from(i))
                        .map_or(&[][..], |r| &rx[r.clone()])
                },
                &out,
                &mut bufs.scratch,
            );
            bufs.out = out;
        }
        if let Some(why) = bad {
            return Err(why);
        }
        rx.drain(..at);
        if let Some(PortKind::Stream(c)) = self.port_kind_mut(id) {
            c.rx = rx;
        }
        Ok(open)
    }

    /// Queues `frame` (with its length) for stream port `id` and writes what it can.
    fn stream_send(&mut self, id: u16, frame: &[u8]) {
        let Some(PortKind::Stream(c)) = self.port_kind_mut(id) else {
            return;
        };
        if c.tx.len() + PREFIX_LEN + frame.len() > STREAM_TX_LIMIT || frame.len() > MAX_FRAME_LEN {
            self.stats.tx_queue_full += 1;
            self.sw.record_tx_error(PortId(id));
            return;
        }
        c.tx.extend_from_slice(&prefix(frame.len()));
        c.tx.extend_from_slice(frame);
        self.stats.tx_frames += 1;
        self.stream_flush(id);
    }

    /// Writes as much of stream port `id`'s output as the socket takes; asks for
    /// `EPOLLOUT` when some is left.
    fn stream_flush(&mut self, id: u16) {
        let Some(PortKind::Stream(c)) = self.port_kind_mut(id) else {
            return;
        };
        let mut done = 0;
        while done < c.tx.len() {
            match c.conn.write(&c.tx[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        c.tx.drain(..done);
        if !c.tx.is_empty() && !c.armed {
            c.armed = true;
            self.qemu.to_arm.push(id);
        }
    }

    /// Asks for `EPOLLOUT` on the stream ports whose output waits.
    pub(super) fn arm_streams(&mut self, poller: &Poller) {
        for id in std::mem::take(&mut self.qemu.to_arm) {
            if let Some(Some(p)) = self.ports.get(usize::from(id))
                && let PortKind::Stream(c) = &p.kind
            {
                let _ =
                    poller.want_writable(c.conn.as_raw_fd(), u64::from(Token::Stream(id)), true);
            }
        }
    }

    /// Delivers the frames of a batch for QEMU ports: stream ports one frame at a time
    /// into their output, each dgram peer with one `sendmmsg`.
    pub(super) fn deliver_qemu(&mut self, frames: &[(u16, &[u8])], scratch: &mut SendBatch) {
        let mut dgram: Vec<(u16, &[u8])> = Vec::new();
        for &(p, f) in frames {
            match self.port_kind_mut(p) {
                Some(PortKind::Stream(_)) => self.stream_send(p, f),
                Some(PortKind::QemuDgram { .. }) => dgram.push((p, f)),
                _ => {}
            }
        }
        dgram.sort_by_key(|&(p, _)| p);
        for run in dgram.chunk_by(|a, b| a.0 == b.0) {
            let p = run[0].0;
            let Some(Some(port)) = self.ports.get(usize::from(p)) else {
                continue;
            };
            let PortKind::QemuDgram { peer } = port.kind else {
                continue;
            };
            let Some((sock, _)) = self.qemu.dgram.iter().find(|(_, id)| *id == p) else {
                continue;
            };
            let msgs: Vec<(&[u8], &[u8; SOCKADDR_UN_LEN])> =
                run.iter().map(|&(_, f)| (f, peer.as_bytes())).collect();
            let mut k = 0;
            while k < msgs.len() {
                match sock.send_batch(scratch, &msgs[k..]) {
                    Ok(n) => {
                        self.stats.tx_frames += n as u64;
                        k += n;
                    }
                    Err(e) => {
                        match e.raw_os_error() {
                            Some(libc::EAGAIN) => self.stats.tx_queue_full += 1,
                            Some(libc::ECONNREFUSED) | Some(libc::ENOENT) => {
                                self.stats.tx_refused += 1
                            }
                            _ => self.stats.tx_other_errors += 1,
                        }
                        self.sw.record_tx_error(PortId(p));
                        k += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn dgram_peers_are_two_paths() {
        let p: DgramPeer = "/t/sw.sock,/t/qemu.sock".parse().unwrap();
        assert_eq!(p.local, PathBuf::from("/t/sw.sock"));
        assert_eq!(p.remote, PathBuf::from("/t/qemu.sock"));
        assert_eq!(p.to_string().parse::<DgramPeer>().unwrap(), p);
        for bad in ["/t/a", "/t/a,", ",/t/b", "/t/a,/t/b,/t/c", ""] {
            let e = bad.parse::<DgramPeer>().unwrap_err();
            assert!(
                e.contains("<switch socket path>,<qemu socket path>"),
                "{bad}: {e}"
            );
        }
        let long = format!("/{},/t/b", "x".repeat(120));
        assert!(long.parse::<DgramPeer>().unwrap_err().contains("too long"));
    }
}
