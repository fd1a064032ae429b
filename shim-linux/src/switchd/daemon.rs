//! The daemon's state ([`SwitchDaemon`]), its counters and why it stopped.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use umlnet_core::daemon::DataAddr;
use umlnet_core::switch::{MacSlot, PortSlot, Switch};
use umlnet_core::time::Instant;

use super::mgmt::MgmtConn;
use super::ports::{AddrHasherBuilder, Port};
use super::{Config, pcap, vxlan};
use crate::sys::socket::DgramSocket;
use crate::sys::tun::Tap;

/// Port slots of the daemon's switch (ids `0..PORT_SLOTS`).
pub const PORT_SLOTS: usize = 4096;
/// Addresses the MAC table holds (when it is full, the port holding the most loses
/// the address it saw longest ago).
pub const MAC_SLOTS: usize = 1 << 17;
/// Addresses one port may hold (beyond it, the port loses its own seen longest ago).
pub const MAC_PER_PORT: usize = MAC_SLOTS / 2;
/// Ports one user other than root and the switch's own may hold by default
/// (`-max-ports-per-user`): one user cannot take every port from the others.
pub const MAX_PORTS_PER_USER: usize = PORT_SLOTS / 4;

/// Counters the daemon keeps beside the core switch's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaemonStats {
    /// Control connections accepted.
    pub connections: u64,
    /// Requests that became ports.
    pub ports_attached: u64,
    /// Ports removed (control connection closed).
    pub ports_detached: u64,
    /// Requests refused (bad version, garbage, short, duplicate address, no free port).
    pub requests_refused: u64,
    /// Datagrams from an address that is not a port (dropped).
    pub unknown_sender: u64,
    /// Frames not delivered because the receiver's queue was full and its backlog too.
    pub tx_queue_full: u64,
    /// Frames that met a full receiver queue and were held for a retry.
    pub tx_deferred: u64,
    /// Frames not delivered because the receiver's socket is gone.
    pub tx_refused: u64,
    /// Frames not delivered for another reason.
    pub tx_other_errors: u64,
    /// Frames handed to the kernel for delivery.
    pub tx_frames: u64,
    /// Frames written to the capture file.
    pub captured: u64,
}

/// Why [`SwitchDaemon::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A termination signal (its number) arrived.
    Signal(i32),
    /// stdin was a terminal and reached end of file.
    StdinClosed,
}

/// The switch daemon: sockets bound, ready to [`run`](SwitchDaemon::run).
///
/// Dropping it removes the socket files it created (control, `-compat-v0` data,
/// console), and nothing else.
pub struct SwitchDaemon {
    pub(super) cfg: Config,
    pub(super) listener: UnixListener,
    pub(super) data: DgramSocket,
    pub(super) data_addr: DataAddr,
    pub(super) tap: Option<Tap>,
    pub(super) mgmt_listener: Option<UnixListener>,
    pub(super) pcap: Option<pcap::PcapWriter<io::BufWriter<std::fs::File>>>,
    pub(super) sw: Box<Switch<Vec<MacSlot>, Vec<PortSlot>>>,
    pub(super) ports: Vec<Option<Port>>,
    pub(super) free_ids: Vec<u16>,
    pub(super) by_addr: HashMap<DataAddr, u16, AddrHasherBuilder>,
    pub(super) last_hit: Option<(DataAddr, u16)>,
    /// The port the last frame left by (for the busy-poll rule: a frame that comes back
    /// from it is a reply).
    pub(super) last_egress: Option<u16>,
    pub(super) pending: HashMap<RawFd, UnixStream>,
    pub(super) mgmt_conns: HashMap<RawFd, MgmtConn>,
    pub(super) stats: DaemonStats,
    pub(super) started: std::time::Instant,
    pub(super) owned_paths: Vec<PathBuf>,
    pub(super) tap_port: Option<u16>,
    pub(super) port_socket_seq: u64,
    pub(super) backlogged: Vec<u16>,
    /// Ports with a socket of their own whose backlog just started: to be watched for
    /// room in their client's queue.
    pub(super) to_arm: Vec<u16>,
    pub(super) backlog_bytes: usize,
    pub(super) uplinks: vxlan::Uplinks,
    /// The port of each uplink, by uplink index.
    pub(super) uplink_ports: Vec<u16>,
    pub(super) busy_poll: std::time::Duration,
    /// Bounds on waiting control connections (`admission.rs`).
    pub(super) admission: super::admission::Admission,
    /// `sock_diag` failed once and that was logged (`trust.rs`).
    pub(super) diag_warned: bool,
    /// The `-bess` and `-fdpass` listeners ([`super::vector`]).
    pub(super) vector: super::vector::VectorListeners,
    /// QEMU's `-stream` listener and `-dgram` peers ([`super::qemu`]).
    pub(super) qemu: super::qemu::QemuPorts,
    /// The `-l2tpv3` links, by index ([`super::l2tpv3`]).
    pub(super) l2tp: Vec<super::l2tpv3::L2tpLink>,
}

impl SwitchDaemon {
    /// The 110-byte address the switch answers requests with.
    pub fn data_addr(&self) -> &DataAddr {
        &self.data_addr
    }

    /// The daemon's own counters.
    pub fn stats(&self) -> DaemonStats {
        self.stats
    }

    /// The switch's clock: milliseconds since it started.
    pub(super) fn now(&self) -> Instant {
        Instant::from_millis(self.started.elapsed().as_millis() as u64)
    }
}

impl Drop for SwitchDaemon {
    fn drop(&mut self) {
        for p in &self.owned_paths {
            if let Err(e) = std::fs::remove_file(p)
                && e.kind() != io::ErrorKind::NotFound
            {
                eprintln!("Couldn't remove socket '{}' : {e}", p.display());
            }
        }
    }
}
