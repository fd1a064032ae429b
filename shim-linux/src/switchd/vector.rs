//! Ports for the UML vector driver (`vecN:transport=...`, docs/protocols.md §15):
//! connected message sockets that carry one raw Ethernet frame per message, with no
//! header and no handshake.
//!
//! * `-bess <path>`: a `SOCK_SEQPACKET` listener. A kernel started with
//!   `vec0:transport=bess,dst=<path>` connects at `ip link set vec0 up` (and again at
//!   every later ifup); each accepted connection is a port, gone with every address
//!   learned on it when the kernel closes it (ifdown, exit). The switch never writes
//!   BESS's optional `"yes\0"` confirmation: the kernel would take it as a frame.
//! * `-fdpass <path>`: a unix stream socket on which a program that starts UML itself
//!   hands over one end of a `socketpair(AF_UNIX, SOCK_SEQPACKET)` (the kernel gets
//!   the other end as `vec0:transport=fd,fd=N`); see [`super::handoff`] for the
//!   exchange and its client.
//!
//! Both kinds of port are a [`PortKind::Message`]: frames come in and leave in batches
//! (`recvmmsg`/`sendmmsg` work on a connected seqpacket socket as on a connected
//! datagram socket), through the same ingress, egress and backlog code as the
//! daemon-protocol clients' own sockets.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::sys::socket::SockType;

use super::daemon::SwitchDaemon;
use super::error::{SwitchError, io_err};
use super::handoff::{Answer, HANDOFF_MAGIC};
use super::ports::PortKind;
use super::token::Token;
use crate::sys::epoll::Poller;
use crate::sys::fdpass::{FdKind, fd_kind, recv_with_fd};
use crate::sys::seqpacket::SeqpacketListener;
use crate::sys::socket::DgramSocket;

/// Send buffer of a message port: frames queued towards a kernel are charged to it.
const PORT_SEND_BUFFER: usize = 1 << 20;

/// How a [`PortKind::Message`] port came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MessageTransport {
    /// Accepted on the `-bess` listener (a `transport=bess` kernel).
    Bess,
    /// Handed over on `-fdpass` (a `transport=fd` kernel's peer).
    Fd,
}

impl fmt::Display for MessageTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageTransport::Bess => "bess (seqpacket)",
            MessageTransport::Fd => "fd (handed over)",
        })
    }
}

/// The listeners of the vector ports and the hand-over connections in progress.
#[derive(Debug, Default)]
pub(super) struct VectorListeners {
    pub(super) bess: Option<SeqpacketListener>,
    pub(super) handoff: Option<UnixListener>,
    pub(super) pending: HashMap<RawFd, UnixStream>,
}

impl SwitchDaemon {
    /// Registers the vector listeners with the poller.
    pub(super) fn watch_vector(&self, poller: &Poller) -> std::io::Result<()> {
        if let Some(l) = &self.vector.bess {
            poller.add(l.as_raw_fd(), u64::from(Token::BessListener))?;
        }
        if let Some(l) = &self.vector.handoff {
            poller.add(l.as_raw_fd(), u64::from(Token::HandoffListener))?;
        }
        Ok(())
    }

    /// The `-bess` listener is readable: every waiting kernel becomes a port.
    pub(super) fn accept_bess(&mut self, poller: &Poller) {
        loop {
            let Some(l) = &self.vector.bess else { return };
            match l.accept() {
                Ok(Some(sock)) => {
                    let _ = self.attach_message(poller, sock, MessageTransport::Bess);
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("accepting on the bess socket: {e}");
                    return;
                }
            }
        }
    }

    /// Makes `sock` a port and watches it; `Err` says why it is not one.
    fn attach_message(
        &mut self,
        poller: &Poller,
        sock: DgramSocket,
        transport: MessageTransport,
    ) -> Result<u16, String> {
        let _ = sock.set_send_buffer(PORT_SEND_BUFFER);
        let fd = sock.as_raw_fd();
        // The peer of a bess connection is the kernel; of a handed-over socket pair,
        // the program that made the pair.
        let uid = crate::sys::access::peer_cred(fd).map_or(u32::MAX, |c| c.uid);
        let id = match self.alloc_user_port(PortKind::Message { sock, transport }, uid) {
            Ok(id) => id,
            Err(why) => {
                self.stats.requests_refused += 1;
                if self.admission.log.allow() {
                    tracing::warn!("no port for a {transport} connection: {why}; closed");
                }
                return Err(why);
            }
        };
        if let Err(e) = poller.add(fd, u64::from(Token::PortData(id))) {
            tracing::warn!("watching port {id}: {e}; detaching it");
            self.detach(poller, id);
            return Err(format!("watching the port: {e}"));
        }
        self.stats.ports_attached += 1;
        tracing::info!("New port {id} ({transport})");
        Ok(id)
    }

    /// A port's socket reported a hang-up after its last frames were read: a message
    /// port whose peer closed its end is removed (other kinds have their own ends).
    pub(super) fn port_hung_up(&mut self, poller: &Poller, id: u16) {
        if let Some(Some(p)) = self.ports.get(usize::from(id))
            && matches!(p.kind, PortKind::Message { .. })
        {
            tracing::info!("Disconnect port {id}");
            self.detach(poller, id);
        }
    }

    /// The `-fdpass` listener is readable: each connection waits for its socket.
    pub(super) fn accept_handoff(&mut self, poller: &Poller) {
        loop {
            let Some(l) = &self.vector.handoff else {
                return;
            };
            match l.accept() {
                Ok((s, _)) => {
                    let fd = s.as_raw_fd();
                    if s.set_nonblocking(true).is_err()
                        || poller.add(fd, u64::from(Token::Handoff(fd))).is_err()
                    {
                        continue;
                    }
                    self.vector.pending.insert(fd, s);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!("accepting on the fd hand-over socket: {e}");
                    return;
                }
            }
        }
    }

    /// A hand-over connection is readable: its message carries the socket; the answer
    /// names the port (or why there is none), and the connection is closed.
    pub(super) fn read_handoff(&mut self, poller: &Poller, fd: RawFd) {
        let Some(stream) = self.vector.pending.get(&fd) else {
            let _ = poller.delete(fd);
            return;
        };
        let mut buf = [0u8; 64];
        let (n, passed) = match recv_with_fd(stream.as_fd(), &mut buf) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) => {
                tracing::debug!("fd hand-over: {e}");
                (0, None)
            }
        };
        let _ = poller.delete(fd);
        let Some(mut stream) = self.vector.pending.remove(&fd) else {
            return;
        };
        let answer = match passed {
            _ if n == 0 => return,
            _ if &buf[..n] != HANDOFF_MAGIC => Answer::Refused(format!(
                "the message must be exactly {:?} (got {n} other bytes)",
                String::from_utf8_lossy(HANDOFF_MAGIC)
            )),
            None => Answer::Refused("no descriptor came with the message (SCM_RIGHTS)".into()),
            Some(owned) => match fd_kind(owned.as_raw_fd()) {
                FdKind::Unix(SockType::SeqPacket) => {
                    let sock = DgramSocket::from_connected(owned);
                    match sock.set_nonblocking(true) {
                        Err(e) => Answer::Refused(format!("O_NONBLOCK on the socket: {e}")),
                        Ok(()) => match self.attach_message(poller, sock, MessageTransport::Fd) {
                            Ok(id) => Answer::Port(id),
                            Err(why) => Answer::Refused(why),
                        },
                    }
                }
                other => Answer::Refused(format!(
                    "the descriptor is {other:?}; hand over one end of \
                     socketpair(AF_UNIX, SOCK_SEQPACKET) (a datagram socket cannot tell \
                     the switch when the kernel is gone)"
                )),
            },
        };
        if let Answer::Refused(why) = &answer {
            tracing::warn!("fd hand-over refused: {why}");
        }
        let _ = stream.write_all(answer.to_string().as_bytes());
    }
}

/// Binds the `-bess` and `-fdpass` sockets of `cfg` (a stale socket file left by a
/// switch that is gone is reclaimed; a live one is refused) and records their paths
/// in `owned` for removal at exit.
pub(super) fn bind_listeners(
    cfg: &super::Config,
    owned: &mut Vec<std::path::PathBuf>,
) -> Result<VectorListeners, SwitchError> {
    let mut v = VectorListeners::default();
    if let Some(p) = &cfg.bess {
        v.bess = Some(bind_bess(p)?);
        owned.push(p.clone());
    }
    if let Some(p) = &cfg.fdpass {
        let l = super::setup::bind_control(p)?;
        owned.push(p.clone());
        l.set_nonblocking(true)
            .map_err(io_err("O_NONBLOCK on", p.display()))?;
        v.handoff = Some(l);
    }
    Ok(v)
}

/// Binds the `-bess` listener; a socket file of our own user that nobody accepts on
/// is removed first (another user's is refused, as for the control socket).
fn bind_bess(path: &Path) -> Result<SeqpacketListener, SwitchError> {
    match SeqpacketListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            super::setup::check_taken_path(path)?;
            match crate::sys::seqpacket::connect(path) {
                Ok(_) => Err(SwitchError::Io {
                    what: "the bess socket is served by another process",
                    path: path.display().to_string(),
                    source: std::io::ErrorKind::AddrInUse.into(),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(io_err("removing the stale bess socket", path.display()))?;
                    SeqpacketListener::bind(path)
                        .map_err(io_err("binding the bess socket", path.display()))
                }
                Err(e) => Err(io_err("probing the bess socket", path.display())(e)),
            }
        }
        Err(e) => Err(io_err("binding the bess socket", path.display())(e)),
    }
}
