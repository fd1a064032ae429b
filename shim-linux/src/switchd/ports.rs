//! The port table: what each port is ([`PortKind`]), its backlog and fan-out, the
//! address-to-port map of the shared data socket, attaching and detaching.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use umlnet_core::daemon::DataAddr;
use umlnet_core::switch::PortId;
use umlnet_core::time::Instant;

use super::daemon::SwitchDaemon;
use crate::sys::epoll::Poller;
use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN};

/// A data address for logs and the console: a path as it is; an abstract name (the
/// kernel's holds 96 bytes of uninitialised memory) as `@` and the hex of its pid and
/// time bytes, with `+` when bytes beyond them are non-zero.
pub fn addr_label(a: &DataAddr) -> String {
    let b = a.as_bytes();
    if b[2] != 0 {
        return a.to_string();
    }
    let head: String = b[3..14].iter().map(|x| format!("{x:02x}")).collect();
    let more = if b[14..].iter().any(|x| *x != 0) {
        "+"
    } else {
        ""
    };
    format!("@{head}{more}")
}

/// A seeded, fast hasher for the 110-byte port keys (SipHash would cost more than a
/// batch of syscalls amortises; the seed keeps clients from choosing colliding names).
#[derive(Clone, Copy)]
pub(super) struct AddrHasherBuilder(pub(super) u64);

pub(super) struct AddrHasher(u64);

impl BuildHasher for AddrHasherBuilder {
    type Hasher = AddrHasher;
    fn build_hasher(&self) -> AddrHasher {
        AddrHasher(self.0)
    }
}

impl Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            h = (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

pub(super) enum PortKind {
    /// A daemon-protocol client: its control connection and its data address.
    Client {
        ctl: UnixStream,
        addr: DataAddr,
        layout: &'static str,
        /// A socket of this port's own, bound to the name we replied with and
        /// connected to the client; `None` for v0 clients (they get no reply) and when
        /// none could be made, which are served from the shared data socket.
        own: Option<DgramSocket>,
    },
    /// The `-tap` device.
    Tap,
    /// A `-vxlan` uplink: its index in [`super::vxlan::Uplinks`].
    Vxlan(usize),
    /// A connected message socket, one frame per message and no header: a vector-driver
    /// kernel on `-bess` or a socket handed over on `-fdpass` ([`super::vector`]).
    Message {
        sock: DgramSocket,
        transport: super::vector::MessageTransport,
    },
    /// A QEMU `-netdev stream` connection on `-stream` ([`super::qemu`]).
    Stream(Box<super::qemu::StreamConn>),
    /// A QEMU `-netdev dgram` peer on `-dgram`: frames go to its socket by name.
    QemuDgram { peer: DataAddr },
    /// A `-l2tpv3` link: its index in the daemon's links ([`super::l2tpv3`]).
    L2tp(usize),
}

impl PortKind {
    /// The socket of a client's own, connected to it.
    pub(super) fn tx_socket(&self) -> Option<&DgramSocket> {
        match self {
            PortKind::Client { own: Some(s), .. } => Some(s),
            PortKind::Message { sock, .. } => Some(sock),
            _ => None,
        }
    }
}

pub(super) struct Port {
    pub(super) kind: PortKind,
    pub(super) attached_at: Instant,
    /// Frames that met a full receive queue, retried in order (see [`super::BACKLOG_FRAMES`]).
    pub(super) backlog: VecDeque<Vec<u8>>,
    /// The port's socket is watched for room in the client's queue (`EPOLLOUT`) while
    /// it has a backlog, which is retried then.
    pub(super) armed: bool,
    /// The port is in the daemon's list of backlogged ports (it leaves the list when
    /// [`SwitchDaemon::flush_backlogs`] finds its backlog empty).
    pub(super) listed: bool,
    /// Ports each of the last frames from this port went to, on average (rounded up):
    /// sizes its next `recvmmsg` (see [`super::DELIVERY_BUDGET`]).
    pub(super) fanout: usize,
    /// The user who attached it (`SO_PEERCRED`); `None` for the ports of the switch's
    /// own command line (TAP, uplinks, links, QEMU dgram peers).
    pub(super) owner: Option<u32>,
}

impl SwitchDaemon {
    /// Attaches a port of `kind` under a free id; `None` when all are taken.
    pub(super) fn alloc_port(&mut self, kind: PortKind) -> Option<u16> {
        let id = self.free_ids.pop()?;
        if self.sw.add_port(PortId(id)).is_err() {
            self.free_ids.push(id);
            return None;
        }
        if let PortKind::Client { addr, .. } = &kind {
            self.by_addr.insert(*addr, id);
        }
        self.ports[usize::from(id)] = Some(Port {
            kind,
            attached_at: self.now(),
            backlog: VecDeque::new(),
            armed: false,
            listed: false,
            fanout: 1,
            owner: None,
        });
        Some(id)
    }

    /// Whether user `uid` may attach one more port: root and the switch's own user
    /// always; anyone else while holding fewer than `-max-ports-per-user`.
    pub(super) fn check_port_quota(&self, uid: u32) -> Result<(), String> {
        if uid == 0 || uid == crate::sys::access::effective_uid() {
            return Ok(());
        }
        let max = self.cfg.max_ports_per_user;
        let held = self
            .ports
            .iter()
            .flatten()
            .filter(|p| p.owner == Some(uid))
            .count();
        if held >= max {
            return Err(format!(
                "uid {uid} holds {held} ports already (-max-ports-per-user {max})"
            ));
        }
        Ok(())
    }

    /// Attaches a port of `kind` for user `uid`: refused (with why) when that user,
    /// unless root or the switch's own, holds `-max-ports-per-user` ports already, or
    /// when all ports are taken.
    pub(super) fn alloc_user_port(&mut self, kind: PortKind, uid: u32) -> Result<u16, String> {
        self.check_port_quota(uid)?;
        let id = self
            .alloc_port(kind)
            .ok_or_else(|| format!("all {} ports are in use", super::PORT_SLOTS))?;
        if let Some(Some(p)) = self.ports.get_mut(usize::from(id)) {
            p.owner = Some(uid);
        }
        Ok(id)
    }

    /// Removes a port: its sockets, its backlog and every address learned on it.
    pub(super) fn detach(&mut self, poller: &Poller, id: u16) {
        let Some(port) = self.ports[usize::from(id)].take() else {
            return;
        };
        self.backlog_bytes -= port.backlog.iter().map(Vec::len).sum::<usize>();
        self.backlogged.retain(|p| *p != id);
        let purged = self.sw.remove_port(PortId(id)).unwrap_or(0);
        match &port.kind {
            PortKind::Message { sock, .. } => {
                let _ = poller.delete(sock.as_raw_fd());
            }
            PortKind::Stream(c) => {
                let _ = poller.delete(c.conn.as_raw_fd());
            }
            PortKind::QemuDgram { peer } => {
                self.by_addr.remove(peer);
                self.last_hit = None;
            }
            _ => {}
        }
        if let PortKind::Client { ctl, addr, own, .. } = port.kind {
            let _ = poller.delete(ctl.as_raw_fd());
            if let Some(s) = &own {
                let _ = poller.delete(s.as_raw_fd());
            }
            self.by_addr.remove(&addr);
            if self.last_hit.is_some_and(|(_, p)| p == id) {
                self.last_hit = None;
            }
            drop(ctl);
        }
        self.free_ids.push(id);
        self.stats.ports_detached += 1;
        tracing::debug!("port {id} removed, {purged} addresses forgotten");
    }

    /// The port whose client sends from `addr` on the shared data socket.
    pub(super) fn lookup(&mut self, addr: &[u8; SOCKADDR_UN_LEN]) -> Option<u16> {
        if let Some((a, p)) = &self.last_hit
            && a.as_bytes() == addr
        {
            return Some(*p);
        }
        let key = DataAddr::from_array(*addr);
        let p = *self.by_addr.get(&key)?;
        self.last_hit = Some((key, p));
        Some(p)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn address_labels_are_short_and_tell_sockets_apart() {
        // The kernel's address: pid 0x6072, usec 0x08ea8b, then heap garbage.
        let mut b = *DataAddr::uml_abstract(0x6072, 0x08ea8b).as_bytes();
        assert_eq!(
            addr_label(&DataAddr::from_array(b)),
            "@000000726000008bea0800"
        );
        b[100] = 0x80;
        assert_eq!(
            addr_label(&DataAddr::from_array(b)),
            "@000000726000008bea0800+"
        );
        let p = DataAddr::from_path("/tmp/vde/.1234-00000").unwrap();
        assert_eq!(addr_label(&p), "/tmp/vde/.1234-00000");
    }

    #[test]
    fn the_port_key_hash_spreads_kernel_like_addresses() {
        let h = AddrHasherBuilder(42);
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000u32 {
            let a = DataAddr::uml_abstract(4242, i);
            seen.insert(h.hash_one(a) & 1023);
        }
        // 1000 keys into 1024 buckets: a good hash leaves few collisions.
        assert!(seen.len() > 550, "only {} distinct buckets", seen.len());
    }
}
