//! `uml_switch`: the virtual switch (or hub) daemon that UML kernels
//! (`eth0=daemon,,unix,<ctl>`) and vde2 clients attach to (spec §3).
//!
//! A drop-in for uml-utilities' `uml_switch`: same flags, socket defaults, startup
//! messages and wire protocol. The request codec is [`umlnet_core::daemon`], the
//! forwarding decisions and MAC table are [`umlnet_core::switch`]; this module owns the
//! sockets and the event loop:
//!
//! * one single-threaded, level-triggered epoll loop over the control listener, the
//!   data socket, the control connections, the TAP device, the console and a `signalfd`;
//! * a new connection gets **one** read of up to 256 bytes; a version 3 or 1 request is
//!   answered with a 110-byte data address, a version 0 request registers a port
//!   without a reply, anything else is logged and the connection is **closed**;
//! * every client that gets a reply (UML kernels and vde2 alike, as `vde_switch` does)
//!   gets a datagram socket of its own, bound to the name in the reply and connected to
//!   the client's data socket: the port is the socket a frame arrives on, only the
//!   client can send to it, and frames leave by it without the kernel looking the
//!   client's name up every time (libvdeplug needs this: it connects to that name,
//!   unlinks its own socket file and takes frames only from it; a UML kernel sends to
//!   the name and does not check where frames come from). v0 clients and, with
//!   `-compat-v0`, UML kernels use the shared data socket, keyed by their exact
//!   110-byte address (a hash map, not a scan);
//! * frames arrive in batches (`recvmmsg`) and leave in batches (one `sendmmsg` per
//!   destination socket); while they flow the loop polls a little before it sleeps
//!   (about two average gaps between frames, up to 50 µs, and none when they come
//!   more than 40 µs apart unless they are replies to what it just sent; gaps are
//!   measured only while awake, and a switch that sleeps through them looks again
//!   every [`PROBE_EVERY`] of them, see `SpinPolicy`);
//! * a receiver whose queue is full (a UML kernel's holds about 11 datagrams) gets a
//!   bounded backlog of [`BACKLOG_FRAMES`], sent in order as soon as the kernel reports
//!   room in its queue (`EPOLLOUT` on its socket; every millisecond on the shared
//!   one); beyond that its frames are dropped and counted; nobody else ever waits for it;
//! * closing the control connection removes the port and every address learned on it.
//!
//! Differences from the original, on purpose: a datagram from an address that is not a
//! port is dropped and counted (the original forwarded it to everybody); a frame whose
//! destination is on its own ingress port is not sent back; all addresses of a closed
//! port are forgotten; version 2/4+ and garbage requests close the connection (the
//! original left v4+ open without an answer); SIGTERM removes the control socket too;
//! frames up to 1518 bytes pass (the original cut them at 1514).

pub mod args;
pub mod client;
mod mgmt;
pub mod pcap;
pub mod vxlan;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use umlnet_core::daemon::{DataAddr, REPLY_LEN, RequestRepr};
use umlnet_core::mac::MacAddr;
use umlnet_core::switch::{DEFAULT_MAX_FRAME_LEN, MacSlot, PortId, PortSlot, Switch, Verdict};
use umlnet_core::time::Instant;

use crate::sys::epoll::Poller;
use crate::sys::signal::SignalWatch;
use crate::sys::socket::{DgramSocket, RecvBatch, SOCKADDR_UN_LEN, SendBatch};
use crate::sys::tun::Tap;

pub use args::{Config, Invocation, parse_args, usage};
pub use mgmt::switch_status;

/// Port slots of the daemon's switch (ids `0..PORT_SLOTS`).
pub const PORT_SLOTS: usize = 4096;
/// Addresses the MAC table holds (the oldest is evicted when it is full).
pub const MAC_SLOTS: usize = 1 << 17;
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
/// Frames held per port whose receive queue was full (a UML kernel's queue holds only
/// about 11 datagrams, `net.unix.max_dgram_qlen`), sent in order when it has room;
/// beyond this the frame is dropped and counted. Other ports never wait for it. It
/// covers a burst as deep as a client's send buffer (a few hundred small frames, which
/// a port socket of our own takes in at once).
pub const BACKLOG_FRAMES: usize = 512;
/// After the last frame, the longest the loop keeps polling before it sleeps in
/// `epoll_wait` (about two average gaps between frames, none when they come more than
/// 40 µs apart; an idle switch sleeps).
pub const BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(50);
/// How long the loop polls without sleeping after the last frame, given the average
/// gap between frames that were not back to back: about two gaps, at least an eighth
/// of `max` and at most `max`; nothing when frames come more than `max * 4 / 5` apart.
/// Spinning then keeps round trips short and saves wake-ups while frames come close
/// together, and evenly paced traffic (say 20k frames/s, 50 µs apart) costs none.
fn spin_window(gap: std::time::Duration, max: std::time::Duration) -> std::time::Duration {
    if gap > max * 4 / 5 {
        std::time::Duration::ZERO
    } else {
        (gap * 2).clamp(max / 8, max)
    }
}

/// After this many quiet moments slept through without spinning (whose gaps cannot be
/// measured: the wake-up delay is in them), the switch looks again: it spins through
/// the next [`PROBE_LEN`] quiet moments in full and measures their gaps.
pub const PROBE_EVERY: u32 = 256;
/// Quiet moments spun through in full per look (a sender paced by delivery needs a few
/// round trips to speed up once the switch is awake).
pub const PROBE_LEN: u32 = 8;

/// Decides how long the event loop keeps polling without sleeping after a frame.
///
/// It learns how far apart frames come when they do not come back to back, from the
/// quiet moments it was awake for (an empty poll), so the gap it sees is the real one.
/// A quiet moment it sleeps through right away says nothing about the gap: the time
/// it measures then includes its own wake-up, and the sender may have waited for the
/// switch (a window of frames, paced by delivery), so sleeping would make the gaps
/// look longer and keep it asleep. After [`PROBE_EVERY`] of those it spins through a
/// few in full to look again. Evenly paced traffic 50 µs apart costs it about 3% of a
/// CPU in these looks.
#[derive(Debug, Clone)]
struct SpinPolicy {
    /// The longest window.
    max: std::time::Duration,
    /// Average gap of the measured quiet moments.
    gap: std::time::Duration,
    /// The frame that ended the last quiet moment came back from the port the frame
    /// before it left by: a conversation (a ping, a request), whose next turn comes
    /// sooner if we are awake for it.
    reply: bool,
    /// An empty poll since the last frame: we were awake in this quiet moment.
    quiet: bool,
    /// A sleep since the last frame.
    slept: bool,
    /// Quiet moments slept through without measuring, since the last measured one.
    blind: u32,
    /// Quiet moments left to spin through in the current look.
    looking: u32,
}

impl SpinPolicy {
    fn new(max: std::time::Duration) -> SpinPolicy {
        SpinPolicy {
            max,
            gap: max / 4,
            reply: false,
            quiet: false,
            slept: false,
            blind: 0,
            looking: 0,
        }
    }

    /// How long after the last frame to keep polling.
    fn window(&self) -> std::time::Duration {
        if self.reply || self.looking > 0 {
            self.max
        } else {
            spin_window(self.gap, self.max)
        }
    }

    /// A wait returned nothing.
    fn empty(&mut self) {
        self.quiet = true;
    }

    /// The loop is about to sleep.
    fn sleeping(&mut self) {
        self.slept = true;
    }

    /// Frames came, `since` the frame before them; `reply` as in [`SpinPolicy::reply`].
    fn frames(&mut self, since: std::time::Duration, reply: bool) {
        let quiet = std::mem::take(&mut self.quiet);
        if !std::mem::take(&mut self.slept) && !quiet {
            // Back to back: not the end of a quiet moment.
            return;
        }
        self.reply = reply;
        if quiet {
            // One long pause (an idle minute) says little about the next gaps.
            let sample = since.min(self.max * 2);
            self.gap = (self.gap * 3 + sample) / 4;
            self.blind = 0;
            self.looking = self.looking.saturating_sub(1);
        } else {
            self.blind += 1;
            if self.blind >= PROBE_EVERY {
                self.blind = 0;
                self.looking = PROBE_LEN;
            }
        }
    }
}

/// All ports' backlogs together stay below this many bytes.
pub const BACKLOG_BYTES: usize = 32 << 20;
/// The largest request read from a new control connection (vde2 adds a description).
pub const MAX_REQUEST_READ: usize = umlnet_core::daemon::MAX_REQUEST_LEN;

/// Why the switch could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// Another process is serving the control socket.
    #[error("The control socket '{0}' has another server attached to it")]
    CtlInUse(PathBuf),
    /// Another process is serving the `-compat-v0` data socket.
    #[error("The data socket '{0}' has another server attached to it")]
    DataInUse(PathBuf),
    /// The path exists but is not a socket, so it is not removed.
    #[error("'{0}' exists and is not a socket; remove it or choose another path")]
    NotASocket(PathBuf),
    /// A system call failed.
    #[error("{what} '{path}': {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The object it was done to.
        path: String,
        /// The error.
        source: io::Error,
    },
}

fn io_err(
    what: &'static str,
    path: impl std::fmt::Display,
) -> impl FnOnce(io::Error) -> SwitchError {
    let path = path.to_string();
    move |source| SwitchError::Io { what, path, source }
}

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

/// A seeded, fast hasher for the 110-byte port keys (SipHash would cost more than a
/// batch of syscalls amortises; the seed keeps clients from choosing colliding names).
#[derive(Clone, Copy)]
struct AddrHasherBuilder(u64);

struct AddrHasher(u64);

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

enum PortKind {
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
    /// A `-vxlan` uplink: its index in [`vxlan::Uplinks`].
    Vxlan(usize),
}

impl PortKind {
    /// The socket of a client's own, connected to it.
    fn tx_socket(&self) -> Option<&DgramSocket> {
        match self {
            PortKind::Client { own: Some(s), .. } => Some(s),
            _ => None,
        }
    }
}

struct Port {
    kind: PortKind,
    attached_at: Instant,
    /// Frames that met a full receive queue, retried in order (see [`BACKLOG_FRAMES`]).
    backlog: VecDeque<Vec<u8>>,
    /// The port's socket is watched for room in the client's queue (`EPOLLOUT`) while
    /// it has a backlog, which is retried then.
    armed: bool,
    /// The port is in the daemon's list of backlogged ports (it leaves the list when
    /// [`SwitchDaemon::flush_backlogs`] finds its backlog empty).
    listed: bool,
    /// Ports each of the last frames from this port went to, on average (rounded up):
    /// sizes its next `recvmmsg` (see [`DELIVERY_BUDGET`]).
    fanout: usize,
}

struct MgmtConn {
    stream: UnixStream,
    input: Vec<u8>,
}

const T_LISTENER: u64 = 1;
const T_DATA: u64 = 2;
const T_SIGNAL: u64 = 3;
const T_TAP: u64 = 4;
const T_STDIN: u64 = 5;
const T_MGMT_LISTENER: u64 = 6;
const T_PENDING: u64 = 7;
const T_PORT: u64 = 8;
const T_MGMT: u64 = 9;
const T_PORT_DATA: u64 = 10;
const T_VXLAN: u64 = 11;

fn token(kind: u64, id: u64) -> u64 {
    (kind << 32) | id
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
    cfg: Config,
    listener: UnixListener,
    data: DgramSocket,
    data_addr: DataAddr,
    tap: Option<Tap>,
    mgmt_listener: Option<UnixListener>,
    pcap: Option<pcap::PcapWriter<io::BufWriter<std::fs::File>>>,
    sw: Box<Switch<Vec<MacSlot>, Vec<PortSlot>>>,
    ports: Vec<Option<Port>>,
    free_ids: Vec<u16>,
    by_addr: HashMap<DataAddr, u16, AddrHasherBuilder>,
    last_hit: Option<(DataAddr, u16)>,
    /// The port the last frame left by (for the busy-poll rule: a frame that comes back
    /// from it is a reply).
    last_egress: Option<u16>,
    pending: HashMap<RawFd, UnixStream>,
    mgmt_conns: HashMap<RawFd, MgmtConn>,
    stats: DaemonStats,
    started: std::time::Instant,
    owned_paths: Vec<PathBuf>,
    tap_port: Option<u16>,
    port_socket_seq: u64,
    backlogged: Vec<u16>,
    /// Ports with a socket of their own whose backlog just started: to be watched for
    /// room in their client's queue.
    to_arm: Vec<u16>,
    backlog_bytes: usize,
    uplinks: vxlan::Uplinks,
    /// The port of each uplink, by uplink index.
    uplink_ports: Vec<u16>,
    busy_poll: std::time::Duration,
}

/// Binds `path` as a listening stream socket, reclaiming a stale socket file the way the
/// original does: if the path is in use, a `connect` probe that is refused means nobody
/// serves it, so it is removed and bound again.
fn bind_control(path: &Path) -> Result<UnixListener, SwitchError> {
    match UnixListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let meta =
                std::fs::symlink_metadata(path).map_err(io_err("inspecting", path.display()))?;
            if !meta.file_type().is_socket() {
                return Err(SwitchError::NotASocket(path.to_path_buf()));
            }
            match UnixStream::connect(path) {
                Ok(_) => Err(SwitchError::CtlInUse(path.to_path_buf())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(io_err("removing the stale control socket", path.display()))?;
                    tracing::info!("removed stale control socket '{}'", path.display());
                    UnixListener::bind(path)
                        .map_err(io_err("binding the control socket", path.display()))
                }
                Err(e) => Err(io_err("probing the control socket", path.display())(e)),
            }
        }
        Err(e) => Err(io_err("binding the control socket", path.display())(e)),
    }
}

/// Binds the `-compat-v0` filesystem data socket, reclaiming a stale one.
fn bind_data_path(path: &Path) -> Result<(DgramSocket, DataAddr), SwitchError> {
    let raw = crate::sys::socket::path_addr_bytes(path)
        .map_err(io_err("data socket path", path.display()))?;
    match DgramSocket::bind_raw(&raw, SOCKADDR_UN_LEN) {
        Ok(s) => Ok((s, DataAddr::from_array(raw))),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let meta =
                std::fs::symlink_metadata(path).map_err(io_err("inspecting", path.display()))?;
            if !meta.file_type().is_socket() {
                return Err(SwitchError::NotASocket(path.to_path_buf()));
            }
            let probe = DgramSocket::new().map_err(io_err("socket", "data probe"))?;
            match probe.connect_raw(&raw, SOCKADDR_UN_LEN) {
                Ok(()) => Err(SwitchError::DataInUse(path.to_path_buf())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(io_err("removing the stale data socket", path.display()))?;
                    let s = DgramSocket::bind_raw(&raw, SOCKADDR_UN_LEN)
                        .map_err(io_err("binding the data socket", path.display()))?;
                    Ok((s, DataAddr::from_array(raw)))
                }
                Err(e) => Err(io_err("probing the data socket", path.display())(e)),
            }
        }
        Err(e) => Err(io_err("binding the data socket", path.display())(e)),
    }
}

/// Binds an abstract data socket named like the original's: `{0, pid, usec}`, zeros.
fn bind_data_abstract() -> Result<(DgramSocket, DataAddr), SwitchError> {
    let pid = std::process::id();
    let mut usec = crate::sys::process::wall_clock_micros();
    let mut last = None;
    for _ in 0..16 {
        let addr = DataAddr::uml_abstract(pid, usec);
        match DgramSocket::bind_raw(addr.as_bytes(), SOCKADDR_UN_LEN) {
            Ok(s) => return Ok((s, addr)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                usec = usec.wrapping_add(1);
                last = Some(e);
            }
            Err(e) => return Err(io_err("binding the data socket", "abstract")(e)),
        }
    }
    Err(io_err("binding the data socket", "abstract")(
        last.unwrap_or_else(|| io::ErrorKind::AddrInUse.into()),
    ))
}

impl SwitchDaemon {
    /// Sets everything up as the original does before it prints its banner: the control
    /// socket (stale one reclaimed, live one refused), the data socket, the TAP port,
    /// and the umlnet extras (console, capture file).
    pub fn bind(cfg: Config) -> Result<SwitchDaemon, SwitchError> {
        let mut owned_paths = Vec::new();
        let listener = bind_control(&cfg.ctl)?;
        owned_paths.push(cfg.ctl.clone());
        // From here on a failure must remove what we created: build a guard-like value early.
        let cleanup = |paths: &[PathBuf]| {
            for p in paths {
                let _ = std::fs::remove_file(p);
            }
        };
        let res = (|| {
            listener
                .set_nonblocking(true)
                .map_err(io_err("O_NONBLOCK on", cfg.ctl.display()))?;
            let (data, data_addr) = match &cfg.data {
                Some(p) => {
                    let r = bind_data_path(p)?;
                    owned_paths.push(p.clone());
                    r
                }
                None => bind_data_abstract()?,
            };
            // Queued frames towards slow receivers are charged to our send buffer.
            let _ = data.set_send_buffer(8 << 20);
            let _ = data.set_recv_buffer(4 << 20);
            let tap = match &cfg.tap {
                Some(dev) => Some(Tap::open(dev).map_err(io_err("attaching the tap device", dev))?),
                None => None,
            };
            let mgmt_listener = match &cfg.mgmt {
                Some(p) => {
                    let l = bind_control(p).map_err(|e| match e {
                        SwitchError::CtlInUse(p) => SwitchError::Io {
                            what: "the console socket is served by another process",
                            path: p.display().to_string(),
                            source: io::ErrorKind::AddrInUse.into(),
                        },
                        other => other,
                    })?;
                    owned_paths.push(p.clone());
                    l.set_nonblocking(true)
                        .map_err(io_err("O_NONBLOCK on", p.display()))?;
                    Some(l)
                }
                None => None,
            };
            let pcap = match &cfg.pcap {
                Some(p) => Some(
                    pcap::PcapWriter::create(p)
                        .map_err(io_err("creating the capture file", p.display()))?,
                ),
                None => None,
            };
            let uplinks = vxlan::Uplinks::bind(&cfg.vxlan)
                .map_err(io_err("setting up the uplinks", "-vxlan"))?;
            Ok((data, data_addr, tap, mgmt_listener, pcap, uplinks))
        })();
        let (data, data_addr, tap, mgmt_listener, pcap, uplinks) = match res {
            Ok(v) => v,
            Err(e) => {
                cleanup(&owned_paths);
                return Err(e);
            }
        };
        let seed = u64::from(std::process::id()) << 32
            ^ u64::from(crate::sys::process::wall_clock_micros());
        let mut sw = Box::new(Switch::new(
            vec![MacSlot::EMPTY; MAC_SLOTS],
            vec![PortSlot::EMPTY; PORT_SLOTS],
        ));
        sw.set_hub(cfg.hub);
        sw.set_max_frame_len(DEFAULT_MAX_FRAME_LEN);
        sw.set_hash_seed(seed.rotate_left(17) ^ 0x5bd1_e995);
        let mut d = SwitchDaemon {
            cfg,
            listener,
            data,
            data_addr,
            tap,
            mgmt_listener,
            pcap,
            sw,
            ports: (0..PORT_SLOTS).map(|_| None).collect(),
            free_ids: (0..PORT_SLOTS as u16).rev().collect(),
            by_addr: HashMap::with_hasher(AddrHasherBuilder(seed)),
            last_hit: None,
            last_egress: None,
            pending: HashMap::new(),
            mgmt_conns: HashMap::new(),
            stats: DaemonStats::default(),
            started: std::time::Instant::now(),
            owned_paths,
            tap_port: None,
            port_socket_seq: 0,
            backlogged: Vec::new(),
            to_arm: Vec::new(),
            backlog_bytes: 0,
            uplinks,
            uplink_ports: Vec::new(),
            busy_poll: BUSY_POLL,
        };
        if d.tap.is_some() {
            let id = d
                .alloc_port(PortKind::Tap)
                .expect("a fresh switch has free ports");
            d.tap_port = Some(id);
        }
        for i in 0..d.uplinks.len() {
            let id = d
                .alloc_port(PortKind::Vxlan(i))
                .expect("a fresh switch has free ports");
            d.uplink_ports.push(id);
            tracing::info!("VXLAN uplink {} is port {id}", d.uplinks.describe(i));
        }
        Ok(d)
    }

    /// The line the original prints once it is ready (without the newline):
    /// `<argv0> attached to unix socket '<ctl>'` (or `…sockets '<ctl>' and '<data>'`),
    /// followed by ` tap device '<dev>'` with `-tap`.
    pub fn banner(&self) -> String {
        let mut s = match &self.cfg.data {
            Some(d) => format!(
                "{} attached to unix sockets '{}' and '{}'",
                self.cfg.argv0,
                self.cfg.ctl.display(),
                d.display()
            ),
            None => format!(
                "{} attached to unix socket '{}'",
                self.cfg.argv0,
                self.cfg.ctl.display()
            ),
        };
        if let Some(t) = &self.tap {
            s.push_str(&format!(" tap device '{}'", t.name()));
        }
        s
    }

    /// The 110-byte address the switch answers requests with.
    pub fn data_addr(&self) -> &DataAddr {
        &self.data_addr
    }

    /// The daemon's own counters.
    pub fn stats(&self) -> DaemonStats {
        self.stats
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.started.elapsed().as_millis() as u64)
    }

    fn alloc_port(&mut self, kind: PortKind) -> Option<u16> {
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
        });
        Some(id)
    }

    /// Runs the event loop until a termination signal (or EOF on a terminal stdin).
    /// The socket files are removed when the daemon is dropped.
    pub fn run(&mut self) -> Result<Exit, SwitchError> {
        let mut poller = Poller::new(256).map_err(io_err("epoll_create", "switch"))?;
        let signals = SignalWatch::new(&[
            nix::sys::signal::Signal::SIGINT,
            nix::sys::signal::Signal::SIGTERM,
        ])
        .map_err(io_err("signalfd", "SIGINT/SIGTERM"))?;
        let add = |p: &Poller, fd: RawFd, t: u64| p.add(fd, t).map_err(io_err("epoll_ctl", fd));
        add(&poller, self.listener.as_raw_fd(), token(T_LISTENER, 0))?;
        add(&poller, self.data.as_raw_fd(), token(T_DATA, 0))?;
        add(&poller, signals.as_raw_fd(), token(T_SIGNAL, 0))?;
        if let Some(t) = &self.tap {
            add(&poller, t.as_raw_fd(), token(T_TAP, 0))?;
        }
        if let Some(m) = &self.mgmt_listener {
            add(&poller, m.as_raw_fd(), token(T_MGMT_LISTENER, 0))?;
        }
        for (i, fd) in self.uplinks.fds() {
            add(&poller, fd, token(T_VXLAN, i as u64))?;
        }
        if io::stdin().is_terminal() {
            add(&poller, 0, token(T_STDIN, 0))?;
        }
        let mut batch = RecvBatch::new(RECV_BATCH, DEFAULT_MAX_FRAME_LEN);
        let mut scratch = SendBatch::new();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(RECV_BATCH * 4);
        let mut ready = Vec::with_capacity(256);
        let mut tapbuf = vec![0u8; DEFAULT_MAX_FRAME_LEN + 1];
        let mut last_rx: Option<std::time::Instant> = None;
        let mut spin_policy = SpinPolicy::new(self.busy_poll);
        let mut vxbuf = vec![0u8; vxlan::RECV_BUF];
        let mut vxframes = Vec::with_capacity(vxlan::RECV_BATCH);
        loop {
            if let Some(p) = &mut self.pcap {
                let _ = p.flush();
            }
            self.flush_backlogs();
            self.arm_ports(&poller);
            // While frames flow, look again without sleeping for a little while: a
            // wake-up costs more than a few empty epoll_wait calls.
            let spin = spin_policy.window();
            let spinning = last_rx.is_some_and(|t| t.elapsed() < spin);
            let timeout = if spinning {
                Some(std::time::Duration::ZERO)
            } else {
                spin_policy.sleeping();
                (!self.backlogged.is_empty()).then_some(std::time::Duration::from_millis(1))
            };
            ready.clear();
            ready.extend(
                poller
                    .wait(timeout)
                    .map_err(io_err("epoll_wait", "switch"))?,
            );
            let rx_before = last_rx;
            let egress_before = self.last_egress;
            let mut first_in: Option<u16> = None;
            for ev in ready.iter().copied() {
                let (kind, id) = (ev.token >> 32, (ev.token & 0xffff_ffff) as u32);
                match kind {
                    T_DATA => {
                        // Several batches per wake-up, but give the others a turn.
                        let mut deliveries = 0;
                        for _ in 0..64 {
                            if deliveries >= DELIVERY_BUDGET {
                                break;
                            }
                            let n = match self.data.recv_batch(&mut batch) {
                                Ok(n) => n,
                                Err(e) => {
                                    tracing::warn!("receiving on the data socket: {e}");
                                    break;
                                }
                            };
                            if n == 0 {
                                break;
                            }
                            last_rx = Some(std::time::Instant::now());
                            self.forward_batch(&batch, None, &mut out, &mut scratch);
                            deliveries += out.len();
                        }
                    }
                    T_PORT_DATA => {
                        let port = id as u16;
                        if ev.writable {
                            self.port_writable(&poller, port);
                        }
                        let reads = if ev.readable || ev.hangup { 8 } else { 0 };
                        let mut deliveries = 0;
                        for _ in 0..reads {
                            let Some(Port {
                                kind:
                                    PortKind::Client {
                                        own: Some(sock), ..
                                    },
                                fanout,
                                ..
                            }) = self.ports.get(usize::from(port)).and_then(Option::as_ref)
                            else {
                                break;
                            };
                            let want = frames_per_read(*fanout);
                            let n = sock.recv_batch_up_to(&mut batch, want).unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            last_rx = Some(std::time::Instant::now());
                            first_in = first_in.or(Some(port));
                            self.forward_batch(&batch, Some(port), &mut out, &mut scratch);
                            deliveries += out.len();
                            if let Some(Some(p)) = self.ports.get_mut(usize::from(port)) {
                                p.fanout = out.len().div_ceil(n).max(1);
                            }
                            if n < want || deliveries >= DELIVERY_BUDGET {
                                break;
                            }
                        }
                    }
                    T_LISTENER => self.accept_all(&poller),
                    T_PENDING => self.read_request(&poller, id as RawFd),
                    T_PORT => self.port_control_event(&poller, id as u16),
                    T_TAP => {
                        for _ in 0..64 {
                            let Some(tap) = &self.tap else { break };
                            match tap.recv(&mut tapbuf) {
                                Ok(Some(n)) => {
                                    let ingress = self.tap_port.expect("tap has a port");
                                    self.forward_one(
                                        ingress,
                                        &tapbuf[..n.min(tapbuf.len())],
                                        n,
                                        &mut out,
                                        &mut scratch,
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
                    T_SIGNAL => {
                        if let Ok(Some(sig)) = signals.read() {
                            return Ok(Exit::Signal(sig));
                        }
                    }
                    T_STDIN => {
                        let mut b = [0u8; 256];
                        match io::stdin().read(&mut b) {
                            Ok(0) | Err(_) => return Ok(Exit::StdinClosed),
                            Ok(_) => {}
                        }
                    }
                    T_VXLAN => {
                        for _ in 0..8 {
                            let now = self.now();
                            let n = self
                                .uplinks
                                .recv_batch(id as usize, &mut vxbuf, now, &mut vxframes)
                                .unwrap_or_else(|e| {
                                    tracing::warn!("receiving on a VXLAN socket: {e}");
                                    0
                                });
                            self.forward_uplink_frames(&vxbuf, &vxframes, &mut out, &mut scratch);
                            if n < vxlan::RECV_BATCH {
                                break;
                            }
                        }
                    }
                    T_MGMT_LISTENER => self.accept_mgmt(&poller),
                    T_MGMT => self.mgmt_event(&poller, id as RawFd),
                    _ => {}
                }
            }
            if last_rx == rx_before {
                spin_policy.empty();
            } else if let (Some(a), Some(b)) = (rx_before, last_rx) {
                let reply = first_in.is_some() && first_in == egress_before;
                spin_policy.frames(b.saturating_duration_since(a), reply);
            }
        }
    }

    fn accept_all(&mut self, poller: &Poller) {
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    self.stats.connections += 1;
                    if let Err(e) = s.set_nonblocking(true) {
                        tracing::warn!("O_NONBLOCK on a new connection: {e}; closing it");
                        continue;
                    }
                    let fd = s.as_raw_fd();
                    if let Err(e) = poller.add(fd, token(T_PENDING, fd as u64)) {
                        tracing::warn!("watching a new connection: {e}; closing it");
                        continue;
                    }
                    tracing::debug!("New connection (fd {fd})");
                    self.pending.insert(fd, s);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: leave the rest queued, try again on the next event.
                    tracing::warn!("accept on '{}': {e}", self.cfg.ctl.display());
                    return;
                }
            }
        }
    }

    fn refuse(&mut self, poller: &Poller, fd: RawFd, why: &str) {
        self.stats.requests_refused += 1;
        tracing::warn!("refusing control connection (fd {fd}): {why}; connection closed");
        let _ = poller.delete(fd);
        self.pending.remove(&fd);
    }

    fn read_request(&mut self, poller: &Poller, fd: RawFd) {
        let Some(stream) = self.pending.get_mut(&fd) else {
            return;
        };
        let mut buf = [0u8; MAX_REQUEST_READ];
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                return;
            }
            Err(e) => {
                let why = format!("read error {e}");
                return self.refuse(poller, fd, &why);
            }
        };
        if n == 0 {
            tracing::info!("EOF from new port (fd {fd})");
            let _ = poller.delete(fd);
            self.pending.remove(&fd);
            return;
        }
        let req = match RequestRepr::parse(&buf[..n]) {
            Ok(r) => r,
            Err(e) => return self.refuse(poller, fd, &e.to_string()),
        };
        let addr = *req.addr();
        if let Some(&other) = self.by_addr.get(&addr) {
            let why = format!(
                "its data address {} is already attached as port {other}",
                addr_label(&addr)
            );
            return self.refuse(poller, fd, &why);
        }
        let layout = match req {
            RequestRepr::V3 { .. } => "v3",
            RequestRepr::V1 { .. } => "v1",
            RequestRepr::V0 { .. } => "v0",
        };
        // vde2's libvdeplug (it sends a description) connects its data socket to the
        // address we reply with and then unlinks its own socket file, so it can only be
        // reached through a socket connected to it *now*, and it only accepts datagrams
        // from the address it connected to. Serve it as vde_switch does: a socket of its
        // own, bound, connected to the client, and named in the reply.
        //
        // A UML kernel gets one too: it sends its frames to whatever address we reply
        // with and receives on its own address without checking the source (spec §3.1).
        // Connected, the socket spares the kernel's name lookup on every frame we send,
        // takes datagrams from the client only, and the ingress port is the socket a
        // frame came in on. (A sender to a socket connected back to it is held back by
        // its send buffer rather than by the receiving queue's length limit, so frames
        // arrive in larger batches; each wake-up reads a bounded number of batches per
        // port, so one fast sender cannot crowd the others out.)
        // Should one not be available (out of descriptors), a UML kernel is served
        // from the shared data socket instead; a v0 client, which gets no reply, always
        // is, and so is everybody but vde2 with -compat-v0, where the reply names the
        // filesystem data socket as the original's does.
        let is_vde = matches!(req, RequestRepr::V3 { description, .. } if !description.is_empty());
        let own = if is_vde || (req.wants_reply() && self.cfg.data.is_none()) {
            match self.port_socket(&addr) {
                Ok(s) => Some(s),
                Err(e) if is_vde => {
                    let why = format!(
                        "cannot connect to its data socket {}: {e}",
                        addr_label(&addr)
                    );
                    return self.refuse(poller, fd, &why);
                }
                Err(e) => {
                    tracing::warn!(
                        "no data socket of its own for {} ({e}); served from the shared one",
                        addr_label(&addr)
                    );
                    None
                }
            }
        } else {
            None
        };
        if req.wants_reply() {
            let own_addr = match &own {
                Some((_, a)) => *a,
                None => self.data_addr,
            };
            let reply: &[u8; REPLY_LEN] = own_addr.as_bytes();
            let stream = self.pending.get_mut(&fd).expect("present above");
            match stream.write(reply) {
                Ok(REPLY_LEN) => {}
                Ok(k) => {
                    return self.refuse(
                        poller,
                        fd,
                        &format!("short write of the reply ({k} of {REPLY_LEN} bytes)"),
                    );
                }
                Err(e) => return self.refuse(poller, fd, &format!("writing the reply: {e}")),
            }
        }
        let _ = poller.delete(fd);
        let stream = self.pending.remove(&fd).expect("present above");
        let own = own.map(|(s, _)| s);
        let Some(id) = self.alloc_port(PortKind::Client {
            ctl: stream,
            addr,
            layout,
            own,
        }) else {
            self.stats.requests_refused += 1;
            tracing::warn!(
                "no free port for {} (all {PORT_SLOTS} in use); connection closed",
                addr_label(&addr)
            );
            return;
        };
        let Some(Port {
            kind: PortKind::Client { ctl, own, .. },
            ..
        }) = &self.ports[usize::from(id)]
        else {
            unreachable!("just attached as a client")
        };
        let watched = poller
            .add(ctl.as_raw_fd(), token(T_PORT, u64::from(id)))
            .and_then(|()| match own {
                Some(s) => poller.add(s.as_raw_fd(), token(T_PORT_DATA, u64::from(id))),
                None => Ok(()),
            });
        if let Err(e) = watched {
            tracing::warn!("watching port {id}: {e}; detaching it");
            self.detach(poller, id);
            return;
        }
        self.stats.ports_attached += 1;
        if let RequestRepr::V3 { description, .. } = req
            && !description.is_empty()
        {
            let d = String::from_utf8_lossy(description.split(|b| *b == 0).next().unwrap_or(&[]));
            tracing::info!(
                "New port {id} ({layout}) data socket {} \"{d}\"",
                addr_label(&addr)
            );
        } else {
            tracing::info!("New port {id} ({layout}) data socket {}", addr_label(&addr));
        }
    }

    /// The socket of one client port: bound to a fresh abstract name of ours (which
    /// goes in the reply) and connected to the client's data socket.
    fn port_socket(&mut self, client: &DataAddr) -> io::Result<(DgramSocket, DataAddr)> {
        self.port_socket_seq = self.port_socket_seq.wrapping_add(1);
        let name = format!(
            "umlnet-switch-{}-port-{}",
            std::process::id(),
            self.port_socket_seq
        );
        let own = DataAddr::abstract_from(name.as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let s = DgramSocket::bind_raw(own.as_bytes(), SOCKADDR_UN_LEN)?;
        s.connect_raw(client.as_bytes(), SOCKADDR_UN_LEN)?;
        let _ = s.set_send_buffer(1 << 20);
        Ok((s, own))
    }

    fn port_control_event(&mut self, poller: &Poller, id: u16) {
        let Some(Port {
            kind: PortKind::Client { ctl, .. },
            ..
        }) = &mut self.ports[usize::from(id)]
        else {
            return;
        };
        let mut buf = [0u8; 512];
        match ctl.read(&mut buf) {
            Ok(0) => {
                tracing::info!("Disconnect port {id}");
                self.detach(poller, id);
            }
            Ok(n) => tracing::debug!("port {id}: ignoring {n} stray control bytes"),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::info!("Disconnect port {id} ({e})");
                self.detach(poller, id);
            }
        }
    }

    fn detach(&mut self, poller: &Poller, id: u16) {
        let Some(port) = self.ports[usize::from(id)].take() else {
            return;
        };
        self.backlog_bytes -= port.backlog.iter().map(Vec::len).sum::<usize>();
        self.backlogged.retain(|p| *p != id);
        let purged = self.sw.remove_port(PortId(id)).unwrap_or(0);
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

    fn lookup(&mut self, addr: &[u8; SOCKADDR_UN_LEN]) -> Option<u16> {
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

    /// Decides where one frame goes; pushes `(frame index, port)` pairs onto `out`.
    fn route(
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
            && pc.write_frame(frame, SystemTime::now()).is_ok()
        {
            self.stats.captured += 1;
        }
    }

    fn forward_batch(
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
            self.route(ingress, r.data, len, now, i as u16, out);
        }
        self.deliver(
            |i| batch.get(usize::from(i)).map_or(&[][..], |r| r.data),
            out,
            scratch,
        );
    }

    /// Forwards frames taken from uplinks: `(uplink index, range in buf)`.
    fn forward_uplink_frames(
        &mut self,
        buf: &[u8],
        frames: &[(usize, std::ops::Range<usize>)],
        out: &mut Vec<(u16, u16)>,
        scratch: &mut SendBatch,
    ) {
        if frames.is_empty() {
            return;
        }
        let now = self.now();
        out.clear();
        for (i, (u, r)) in frames.iter().enumerate() {
            let Some(&ingress) = self.uplink_ports.get(*u) else {
                continue;
            };
            let f = buf.get(r.clone()).unwrap_or(&[]);
            self.route(ingress, f, f.len(), now, i as u16, out);
        }
        self.deliver(
            |i| {
                frames
                    .get(usize::from(i))
                    .and_then(|(_, r)| buf.get(r.clone()))
                    .unwrap_or(&[])
            },
            out,
            scratch,
        );
    }

    fn forward_one(
        &mut self,
        ingress: u16,
        frame: &[u8],
        len: usize,
        out: &mut Vec<(u16, u16)>,
        scratch: &mut SendBatch,
    ) {
        let now = self.now();
        out.clear();
        self.route(ingress, frame, len, now, 0, out);
        self.deliver(|_| frame, out, scratch);
    }

    /// Sends each `(frame, port)` pair; client ports through one `sendmmsg` stream.
    fn deliver<'f>(
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

    /// Holds a frame for a port whose receive queue is full, or drops it when the
    /// port's (or the switch's) backlog is full.
    fn enqueue(&mut self, p: u16, f: &[u8]) {
        let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
            return;
        };
        if port.backlog.len() >= BACKLOG_FRAMES || self.backlog_bytes + f.len() > BACKLOG_BYTES {
            self.stats.tx_queue_full += 1;
            self.sw.record_tx_error(PortId(p));
            return;
        }
        if port.backlog.is_empty() {
            if !port.listed {
                port.listed = true;
                self.backlogged.push(p);
            }
            if port.kind.tx_socket().is_some() && !port.armed {
                self.to_arm.push(p);
            }
        }
        port.backlog.push_back(f.to_vec());
        self.backlog_bytes += f.len();
        self.stats.tx_deferred += 1;
    }

    /// Retries every backlog in order until its receiver's queue is full again; ports
    /// watched for room (`armed`) wait for the kernel to say so.
    fn flush_backlogs(&mut self) {
        let mut i = 0;
        while i < self.backlogged.len() {
            let p = self.backlogged[i];
            let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
                self.backlogged.swap_remove(i);
                continue;
            };
            if port.backlog.is_empty() {
                port.listed = false;
                self.backlogged.swap_remove(i);
                continue;
            }
            if port.armed {
                i += 1;
                continue;
            }
            if self.flush_port(p) {
                if let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) {
                    port.listed = false;
                }
                self.backlogged.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Sends what one port's backlog holds until its receiver's queue is full again;
    /// returns whether the backlog is now empty.
    fn flush_port(&mut self, p: u16) -> bool {
        let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
            return true;
        };
        if let Some(sock) = port.kind.tx_socket() {
            let mut scratch = SendBatch::new();
            while !port.backlog.is_empty() {
                let frames: Vec<&[u8]> = port
                    .backlog
                    .iter()
                    .take(RECV_BATCH)
                    .map(|f| &f[..])
                    .collect();
                let n = match sock.send_batch_connected(&mut scratch, &frames) {
                    Ok(n) => {
                        self.stats.tx_frames += n as u64;
                        n
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        self.stats.tx_refused += 1;
                        self.sw.record_tx_error(PortId(p));
                        1
                    }
                };
                for f in port.backlog.drain(..n) {
                    self.backlog_bytes -= f.len();
                }
            }
            return port.backlog.is_empty();
        }
        while let Some(f) = port.backlog.front() {
            let r = match &port.kind {
                PortKind::Client { addr, .. } => {
                    self.data.send_to_raw(f, addr.as_bytes(), SOCKADDR_UN_LEN)
                }
                PortKind::Tap | PortKind::Vxlan(_) => Ok(Some(f.len())),
            };
            match r {
                Ok(None) => break,
                Ok(Some(_)) => self.stats.tx_frames += 1,
                Err(_) => {
                    self.stats.tx_refused += 1;
                    self.sw.record_tx_error(PortId(p));
                }
            }
            let len = f.len();
            port.backlog.pop_front();
            self.backlog_bytes -= len;
        }
        port.backlog.is_empty()
    }

    /// Watches the sockets of ports whose backlog just started for room in their
    /// client's queue.
    fn arm_ports(&mut self, poller: &Poller) {
        for p in std::mem::take(&mut self.to_arm) {
            let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
                continue;
            };
            if let Some(sock) = port.kind.tx_socket()
                && !port.armed
                && !port.backlog.is_empty()
                && poller
                    .want_writable(sock.as_raw_fd(), token(T_PORT_DATA, u64::from(p)), true)
                    .is_ok()
            {
                port.armed = true;
            }
        }
    }

    /// A port's socket has room in its client's queue: sends its backlog, and stops
    /// watching for room once the backlog is empty.
    fn port_writable(&mut self, poller: &Poller, p: u16) {
        let empty = self.flush_port(p);
        let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
            return;
        };
        if empty {
            // A port's socket is watched for room only while it has a backlog.
            if port.armed
                && let Some(sock) = port.kind.tx_socket()
            {
                let _ =
                    poller.want_writable(sock.as_raw_fd(), token(T_PORT_DATA, u64::from(p)), false);
                port.armed = false;
            }
        }
    }

    fn accept_mgmt(&mut self, poller: &Poller) {
        let Some(l) = &self.mgmt_listener else { return };
        loop {
            match l.accept() {
                Ok((s, _)) => {
                    if s.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let fd = s.as_raw_fd();
                    if poller.add(fd, token(T_MGMT, fd as u64)).is_ok() {
                        self.mgmt_conns.insert(
                            fd,
                            MgmtConn {
                                stream: s,
                                input: Vec::new(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn mgmt_event(&mut self, poller: &Poller, fd: RawFd) {
        let Some(conn) = self.mgmt_conns.get_mut(&fd) else {
            return;
        };
        let mut buf = [0u8; 1024];
        let close = match conn.stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                conn.input.extend_from_slice(&buf[..n]);
                conn.input.len() > 4096
            }
            Err(e) => {
                !(e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted)
            }
        };
        let mut close = close;
        while let Some(nl) = self
            .mgmt_conns
            .get(&fd)
            .and_then(|c| c.input.iter().position(|b| *b == b'\n'))
        {
            let line: Vec<u8> = self
                .mgmt_conns
                .get_mut(&fd)
                .expect("checked")
                .input
                .drain(..=nl)
                .collect();
            let line = String::from_utf8_lossy(&line).trim().to_string();
            let mut reply = self.mgmt_command(&line);
            if !reply.ends_with('\n') {
                reply.push('\n');
            }
            reply.push('\n');
            let conn = self.mgmt_conns.get_mut(&fd).expect("checked");
            match conn.stream.write(reply.as_bytes()) {
                Ok(n) if n == reply.len() => {}
                // A console that does not read its answers is dropped rather than waited for.
                _ => close = true,
            }
            if close {
                break;
            }
        }
        if close {
            let _ = poller.delete(fd);
            self.mgmt_conns.remove(&fd);
        }
    }

    fn mgmt_command(&mut self, line: &str) -> String {
        let now = self.now();
        self.sw.age(now);
        let view = mgmt::View {
            sw: &self.sw,
            ports: self.ports.iter().enumerate().filter_map(|(i, p)| {
                p.as_ref().map(|p| mgmt::PortView {
                    id: i as u16,
                    kind: match &p.kind {
                        PortKind::Client { addr, layout, .. } => {
                            format!("{layout} {}", addr_label(addr))
                        }
                        PortKind::Tap => {
                            format!("tap {}", self.tap.as_ref().map_or("", |t| t.name()))
                        }
                        PortKind::Vxlan(u) => self.uplinks.describe(*u),
                    },
                    up_secs: now.saturating_duration_since(p.attached_at).secs(),
                })
            }),
            stats: &self.stats,
            pending: self.pending.len(),
            vxlan: (!self.uplinks.is_empty()).then(|| self.uplinks.stats()),
        };
        match mgmt::execute(line, view) {
            mgmt::Outcome::Text(t) => t,
            mgmt::Outcome::SetHub(on) => {
                self.sw.set_hub(on);
                format!("hub {}", if on { "on" } else { "off" })
            }
        }
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

/// The whole `uml_switch` program behind `main`: parses `argv`, sets up, prints the
/// banner, optionally daemonizes, and runs until a signal. Returns the exit status.
pub fn main_with_args(argv: &[std::ffi::OsString]) -> i32 {
    let cfg = match parse_args(argv) {
        Invocation::Run(c) => c,
        Invocation::Help { argv0 } => {
            print!("{}", usage(&argv0));
            return 0;
        }
        Invocation::Usage { argv0, reason } => {
            eprintln!("{argv0}: {reason}");
            eprint!("{}", usage(&argv0));
            return 1;
        }
    };
    if cfg.hub {
        println!("{} will be a hub instead of a switch", cfg.argv0);
    }
    if cfg.data.is_some() {
        println!("Control protocol 0 compatibility");
    }
    let daemon = cfg.daemon;
    let mut sw = match SwitchDaemon::bind(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    println!("{}", sw.banner());
    let _ = io::stdout().flush();
    if daemon && let Err(e) = crate::sys::process::daemonize(false, true) {
        eprintln!("daemon: {e}");
        return 1;
    }
    match sw.run() {
        Ok(Exit::Signal(sig)) => {
            eprintln!("Caught signal {sig}, cleaning up and exiting");
            0
        }
        Ok(Exit::StdinClosed) => {
            eprintln!("EOF on stdin, cleaning up and exiting");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
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
    fn the_switch_spins_only_while_frames_come_close_together() {
        let us = std::time::Duration::from_micros;
        let max = BUSY_POLL;
        // Evenly paced traffic 50 us apart (20k frames/s) or slower: no spinning.
        assert_eq!(spin_window(us(50), max), us(0));
        assert_eq!(spin_window(us(41), max), us(0));
        assert_eq!(spin_window(std::time::Duration::from_secs(1), max), us(0));
        // Closer together: about two gaps, at least max/8, at most max.
        assert_eq!(spin_window(us(20), max), us(40));
        assert_eq!(spin_window(us(1), max), max / 8);
        assert_eq!(spin_window(us(0), max), max / 8);
        assert_eq!(spin_window(us(40), max), max);
    }

    #[test]
    fn a_switch_that_fell_asleep_looks_again_and_spins_when_frames_come_close() {
        let us = std::time::Duration::from_micros;
        let mut p = SpinPolicy::new(BUSY_POLL);
        // Evenly paced frames 60 us apart, each seen after empty polls: it stops spinning.
        for _ in 0..20 {
            p.empty();
            p.frames(us(60), false);
        }
        assert_eq!(p.window(), us(0));
        // Asleep, it does not measure the gaps (the wake-up is in each), and after
        // PROBE_EVERY of them it looks again: PROBE_LEN quiet moments spun through.
        let sleep_until_look = |p: &mut SpinPolicy| {
            for _ in 0..PROBE_EVERY {
                assert_eq!(p.window(), us(0));
                p.sleeping();
                p.frames(us(90), false);
            }
        };
        sleep_until_look(&mut p);
        // Still 60 us apart while it looks: asleep again after the look.
        for _ in 0..PROBE_LEN {
            assert_eq!(p.window(), BUSY_POLL);
            p.empty();
            p.frames(us(60), false);
        }
        assert_eq!(p.window(), us(0));
        // A sender paced by delivery looks slow while the switch sleeps, and speeds
        // up when it is awake: the next look sees frames 20 us apart, and it spins.
        sleep_until_look(&mut p);
        for _ in 0..PROBE_LEN {
            assert_eq!(p.window(), BUSY_POLL);
            p.empty();
            p.frames(us(20), false);
        }
        // Spinning now, it measures every gap.
        for _ in 0..30 {
            assert!(p.window() > us(0));
            p.empty();
            p.frames(us(20), false);
        }
        assert_eq!(p.window().as_micros(), 40);
        // Frames back to back change nothing.
        p.frames(us(1), false);
        assert_eq!(p.window().as_micros(), 40);
        // A reply (a conversation) gets the whole window, even while asleep.
        let mut q = SpinPolicy::new(BUSY_POLL);
        for _ in 0..20 {
            q.empty();
            q.frames(us(60), false);
        }
        q.sleeping();
        q.frames(us(80), true);
        assert_eq!(q.window(), BUSY_POLL);
    }

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
