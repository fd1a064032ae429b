//! `uml_switch`: the virtual switch (or hub) daemon that UML kernels
//! (`eth0=daemon,,unix,<ctl>`) and vde2 clients attach to (docs/protocols.md §3).
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
//! * closing the control connection removes the port and every address learned on it;
//! * on a shared host (`admission.rs`, `trust.rs`): at most [`MAX_PENDING`] connections
//!   wait for their request, each for [`PENDING_DEADLINE`]; at `EMFILE` the listener
//!   rests instead of spinning; a requested data address may not be one of the switch's
//!   own sockets, and must be the client's own (`SO_PEERCRED` against the socket's
//!   owner) unless the client is root or the switch's user; one such client's user
//!   holds at most `-max-ports-per-user` ports ([`MAX_PORTS_PER_USER`] by default);
//!   the MAC table gives each port at most [`MAC_PER_PORT`] addresses and evicts
//!   fairly when full.
//!
//! Differences from the original, on purpose: a datagram from an address that is not a
//! port is dropped and counted (the original forwarded it to everybody); a frame whose
//! destination is on its own ingress port is not sent back; all addresses of a closed
//! port are forgotten; version 2/4+ and garbage requests close the connection (the
//! original left v4+ open without an answer); SIGTERM removes the control socket too;
//! frames up to 1518 bytes pass (the original cut them at 1514).

//!
//! # The life of a frame
//!
//! From one client's send (a UML kernel's `sendto`) to another's receive queue, through these files:
//!
//! 1. `mod.rs` (this file) is the event loop: it waits in `epoll_wait` (or polls
//!    without sleeping for a while after a frame, `spin.rs`) and dispatches each report
//!    on its `Token` (`token.rs`): here `Token::PortData(port)`, the port's own socket.
//! 2. `forward.rs`, ingress: `port_readable` takes a batch of datagrams with one
//!    `recvmmsg` ([`crate::sys::mmsg::recv`], into a `RecvBatch` built once);
//!    `forward_batch` knows the ingress port from the socket (on the shared data socket
//!    it looks the sender's address up in the port table, `ports.rs`), and `decide`
//!    asks the core switch for its [`Verdict`](umlnet_core::switch::Verdict): it learns
//!    the source address and names the ports the frame goes to. A `-pcap` file gets a
//!    copy (`pcap.rs`). The decisions of a batch are `(frame index, port)` pairs; the
//!    frames stay in the receive buffers.
//! 3. `egress.rs`, delivery: `deliver` sends all of a batch's frames for one port's
//!    socket with one `sendmmsg` ([`crate::sys::mmsg::send`]); the TAP device gets one
//!    `write` per frame, a VXLAN uplink encapsulates and sends at the end of the batch
//!    (`vxlan/`).
//! 4. `backlog.rs`: a frame that meets a full receive queue is copied into the port's
//!    bounded backlog and sent, in order, when the kernel reports room.
//!
//! Beside the frames: `control.rs` accepts control connections and turns requests
//! into ports, `admission.rs` bounds the connections waiting for a request and the log
//! lines about them, `trust.rs` decides whether a requested data address may be used; `ports.rs` keeps the port table; `mgmt.rs` serves the `-mgmt` console;
//! `setup.rs` binds the sockets; `daemon.rs` holds the daemon's state; `error.rs` says
//! what went wrong; `program.rs` is the `uml_switch` program and `args.rs` its command
//! line; `client.rs` is a client for tests and benchmarks; `vector.rs` serves the UML
//! vector driver's `bess` connections and sockets handed over on `-fdpass`
//! (`handoff.rs`) as ports.

mod admission;
pub mod args;
mod backlog;
pub mod client;
mod control;
mod daemon;
mod egress;
mod error;
mod forward;
pub mod handoff;
pub mod l2tpv3;
mod mgmt;
pub mod pcap;
mod ports;
mod program;
pub mod qemu;
mod setup;
mod spin;
mod token;
mod trust;
mod vector;
pub mod vxlan;

use std::io::{self, IsTerminal, Read};
use std::os::fd::AsRawFd;

use crate::sys::epoll::{Poller, Ready};
use crate::sys::signal::SignalWatch;

pub use admission::{LISTENER_REST, LOG_LINES_PER_SECOND, MAX_PENDING, PENDING_DEADLINE};
pub use args::{Config, Invocation, parse_args, usage};
pub use backlog::{BACKLOG_BYTES, BACKLOG_FRAMES};
pub use control::MAX_REQUEST_READ;
pub use daemon::{
    DaemonStats, Exit, MAC_PER_PORT, MAC_SLOTS, MAX_PORTS_PER_USER, PORT_SLOTS, SwitchDaemon,
};
pub use error::SwitchError;
pub use forward::{DELIVERY_BUDGET, RECV_BATCH};
pub use mgmt::{MAX_CONSOLES, switch_status};
pub use ports::addr_label;
pub use program::main_with_args;
pub use spin::{BUSY_POLL, PROBE_EVERY, PROBE_LEN};

use error::io_err;
use forward::{Arrivals, Buffers};
use spin::SpinPolicy;
use token::Token;

/// Blocks SIGINT and SIGTERM and catches them on a descriptor: a switch does this
/// before it binds its sockets, so a signal sent as soon as the socket exists still
/// makes it remove the socket files.
pub fn termination_signals() -> Result<SignalWatch, SwitchError> {
    SignalWatch::new(&[
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
    ])
    .map_err(io_err("signalfd", "SIGINT/SIGTERM"))
}

impl SwitchDaemon {
    /// Runs the event loop until a termination signal (or EOF on a terminal stdin).
    /// The socket files are removed when the daemon is dropped.
    pub fn run(&mut self) -> Result<Exit, SwitchError> {
        let signals = termination_signals()?;
        self.run_with(&signals)
    }

    /// [`run`](Self::run) with termination signals the caller already catches (see
    /// [`termination_signals`]), so that none arriving before the loop is lost.
    pub fn run_with(&mut self, signals: &SignalWatch) -> Result<Exit, SwitchError> {
        let mut poller = Poller::new(256).map_err(io_err("epoll_create", "switch"))?;
        self.watch(&poller, signals)?;
        let mut bufs = Buffers::new();
        let mut ready = Vec::with_capacity(256);
        let mut arrivals = Arrivals::default();
        let mut spin_policy = SpinPolicy::new(self.busy_poll);
        loop {
            if let Some(p) = &mut self.pcap {
                let _ = p.flush();
            }
            self.flush_backlogs();
            self.arm_ports(&poller);
            self.arm_streams(&poller);
            // While frames flow, look again without sleeping for a little while: a
            // wake-up costs more than a few empty epoll_wait calls.
            let spin = spin_policy.window();
            let spinning = arrivals.last_rx.is_some_and(|t| t.elapsed() < spin);
            let timeout = if spinning {
                Some(std::time::Duration::ZERO)
            } else {
                spin_policy.sleeping();
                (!self.backlogged.is_empty()).then_some(std::time::Duration::from_millis(1))
            };
            // Waiting control connections have a deadline; a rested listener wakes.
            let timeout = match (timeout, self.admission_tick(&poller)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            ready.clear();
            ready.extend(
                poller
                    .wait(timeout)
                    .map_err(io_err("epoll_wait", "switch"))?,
            );
            let rx_before = arrivals.last_rx;
            let egress_before = self.last_egress;
            arrivals.first_in = None;
            for ev in ready.iter().copied() {
                if let Some(exit) = self.dispatch(ev, &poller, signals, &mut bufs, &mut arrivals) {
                    return Ok(exit);
                }
            }
            if arrivals.last_rx == rx_before {
                spin_policy.empty();
            } else if let (Some(a), Some(b)) = (rx_before, arrivals.last_rx) {
                let reply = arrivals.first_in.is_some() && arrivals.first_in == egress_before;
                spin_policy.frames(b.saturating_duration_since(a), reply);
            }
        }
    }

    /// Registers the descriptors the loop starts with.
    fn watch(&self, poller: &Poller, signals: &SignalWatch) -> Result<(), SwitchError> {
        let add = |fd: std::os::fd::RawFd, t: Token| {
            poller
                .add(fd, u64::from(t))
                .map_err(io_err("epoll_ctl", fd))
        };
        add(self.listener.as_raw_fd(), Token::Listener)?;
        add(self.data.as_raw_fd(), Token::Data)?;
        add(signals.as_raw_fd(), Token::Signal)?;
        if let Some(t) = &self.tap {
            add(t.as_raw_fd(), Token::Tap)?;
        }
        if let Some(m) = &self.mgmt_listener {
            add(m.as_raw_fd(), Token::MgmtListener)?;
        }
        self.watch_vector(poller)
            .map_err(io_err("epoll_ctl", "the vector listeners"))?;
        self.watch_qemu(poller)
            .map_err(io_err("epoll_ctl", "the QEMU sockets"))?;
        for (i, fd) in self.l2tp_fds() {
            add(fd, Token::L2tp(i))?;
        }
        for (i, fd) in self.uplinks.fds() {
            add(fd, Token::Vxlan(i))?;
        }
        if io::stdin().is_terminal() {
            add(0, Token::Stdin)?;
        }
        Ok(())
    }

    /// Handles one readiness report; `Some` when the switch is to stop.
    fn dispatch(
        &mut self,
        ev: Ready,
        poller: &Poller,
        signals: &SignalWatch,
        bufs: &mut Buffers,
        arrivals: &mut Arrivals,
    ) -> Option<Exit> {
        match Token::from_u64(ev.token)? {
            Token::Data => self.data_readable(bufs, arrivals),
            Token::PortData(port) => {
                if ev.writable {
                    self.port_writable(poller, port);
                }
                if ev.readable || ev.hangup {
                    self.port_readable(port, bufs, arrivals);
                }
                if ev.hangup {
                    self.port_hung_up(poller, port);
                }
            }
            Token::Listener => self.accept_all(poller),
            Token::Pending(fd) => self.read_request(poller, fd),
            Token::PortControl(port) => self.port_control_event(poller, port),
            Token::Tap => self.tap_readable(bufs),
            Token::Signal => {
                if let Ok(Some(sig)) = signals.read() {
                    return Some(Exit::Signal(sig));
                }
            }
            Token::Stdin => {
                let mut b = [0u8; 256];
                match io::stdin().read(&mut b) {
                    Ok(0) | Err(_) => return Some(Exit::StdinClosed),
                    Ok(_) => {}
                }
            }
            Token::Vxlan(socket) => self.uplink_readable(socket, bufs),
            Token::MgmtListener => self.accept_mgmt(poller),
            Token::Mgmt(fd) => self.mgmt_event(poller, fd),
            Token::BessListener => self.accept_bess(poller),
            Token::HandoffListener => self.accept_handoff(poller),
            Token::Handoff(fd) => self.read_handoff(poller, fd),
            Token::StreamListener => self.accept_stream(poller),
            Token::Stream(port) => self.stream_event(poller, port, ev, bufs, arrivals),
            Token::QemuDgram(i) => self.qemu_dgram_readable(i, bufs, arrivals),
            Token::L2tp(i) => self.l2tp_readable(i, bufs),
        }
        None
    }
}
