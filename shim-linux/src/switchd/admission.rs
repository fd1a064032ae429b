//! Bounds on what connecting to the control socket costs the switch: at most
//! [`MAX_PENDING`] connections waiting for their request, each for at most
//! [`PENDING_DEADLINE`]. A request already sent when its connection is accepted (as
//! the UML kernel and libvdeplug send it, right after `connect`) is read at once, so
//! it never waits; beyond the cap, the user (`SO_PEERCRED`) with the most waiting
//! connections loses its oldest, so one user's flood of idle connections only ever
//! closes its own. At `EMFILE` one connection is accepted with a descriptor
//! held in reserve and closed at once, and the listener rests for [`LISTENER_REST`]
//! instead of being reported ready again and again; control-plane log lines are
//! limited to [`LOG_LINES_PER_SECOND`].

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::daemon::SwitchDaemon;
use super::token::Token;
use crate::sys::epoll::Poller;

/// Connections that may wait for their request at once; a new one beyond it closes
/// the oldest of the user with the most waiting.
pub const MAX_PENDING: usize = 64;
/// How long a connection may wait before its request is read (a UML kernel and
/// libvdeplug send it right after `connect`).
pub const PENDING_DEADLINE: Duration = Duration::from_secs(3);
/// How long the listener rests after the process ran out of descriptors.
pub const LISTENER_REST: Duration = Duration::from_millis(200);
/// Control-plane log lines per second; the rest are counted and reported.
pub const LOG_LINES_PER_SECOND: u32 = 20;

/// Log lines within a budget per second.
#[derive(Debug)]
pub(super) struct LogLimit {
    window: Instant,
    lines: u32,
    suppressed: u64,
}

impl LogLimit {
    pub(super) fn new() -> LogLimit {
        LogLimit {
            window: Instant::now(),
            lines: 0,
            suppressed: 0,
        }
    }

    /// Whether one more line may be logged now.
    pub(super) fn allow(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            if self.suppressed > 0 {
                tracing::warn!(
                    "{} similar control-socket messages suppressed in the last second",
                    self.suppressed
                );
            }
            self.window = now;
            self.lines = 0;
            self.suppressed = 0;
        }
        if self.lines < LOG_LINES_PER_SECOND {
            self.lines += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

/// The waiting connections in arrival order, the reserve descriptor and the rest.
#[derive(Debug)]
pub(super) struct Admission {
    /// `(descriptor, serial, accepted at)`; stale entries (answered or closed) are
    /// skipped by serial.
    order: VecDeque<(RawFd, u64, Instant)>,
    /// The serial and the peer's uid of each waiting connection.
    serials: std::collections::HashMap<RawFd, (u64, u32)>,
    /// Waiting connections per uid.
    per_uid: std::collections::HashMap<u32, usize>,
    next_serial: u64,
    reserve: Option<std::fs::File>,
    resting_until: Option<Instant>,
    /// The listeners (descriptor, token) taken out of the poller while they rest.
    resting: Vec<(RawFd, Token)>,
    pub(super) log: LogLimit,
}

impl Admission {
    pub(super) fn new() -> Admission {
        Admission {
            order: VecDeque::new(),
            serials: std::collections::HashMap::new(),
            per_uid: std::collections::HashMap::new(),
            next_serial: 0,
            reserve: crate::sys::access::reserve_descriptor().ok(),
            resting_until: None,
            resting: Vec::new(),
            log: LogLimit::new(),
        }
    }
}

impl SwitchDaemon {
    /// Takes a new control connection in to wait for its request (when
    /// [`MAX_PENDING`] wait already, the user with the most waiting loses its oldest)
    /// and reads the request if it is there already.
    pub(super) fn admit(&mut self, poller: &Poller, s: UnixStream) {
        let fd = s.as_raw_fd();
        let uid = crate::sys::access::peer_cred(fd).map_or(u32::MAX, |c| c.uid);
        while self.pending.len() >= MAX_PENDING {
            let Some(victim) = self.oldest_of_busiest_user() else {
                break;
            };
            if self.admission.log.allow() {
                tracing::warn!(
                    "{MAX_PENDING} control connections wait for their request; closing the \
                     oldest (fd {victim}) of the user with the most"
                );
            }
            self.stats.requests_refused += 1;
            self.drop_pending(poller, victim);
        }
        if let Err(e) = poller.add(fd, u64::from(Token::Pending(fd))) {
            if self.admission.log.allow() {
                tracing::warn!("watching a new connection: {e}; closing it");
            }
            return;
        }
        self.admission.next_serial += 1;
        let serial = self.admission.next_serial;
        self.admission.serials.insert(fd, (serial, uid));
        *self.admission.per_uid.entry(uid).or_default() += 1;
        self.admission.order.push_back((fd, serial, Instant::now()));
        self.pending.insert(fd, s);
        self.read_request(poller, fd);
    }

    /// The waiting connection to close for room: the oldest of the user with the most.
    fn oldest_of_busiest_user(&mut self) -> Option<RawFd> {
        let (&uid, _) = self.admission.per_uid.iter().max_by_key(|(_, n)| **n)?;
        let serials = &self.admission.serials;
        let at = self.admission.order.iter().position(|(fd, serial, _)| {
            serials
                .get(fd)
                .is_some_and(|(s, u)| s == serial && *u == uid)
        })?;
        self.admission.order.remove(at).map(|(fd, _, _)| fd)
    }

    /// Forgets a waiting connection (closing it unless the caller took it).
    pub(super) fn drop_pending(&mut self, poller: &Poller, fd: RawFd) -> Option<UnixStream> {
        let _ = poller.delete(fd);
        if let Some((_, uid)) = self.admission.serials.remove(&fd)
            && let Some(n) = self.admission.per_uid.get_mut(&uid)
        {
            *n -= 1;
            if *n == 0 {
                self.admission.per_uid.remove(&uid);
            }
        }
        self.pending.remove(&fd)
    }

    /// `accept` on the listener watched as `token` (the control socket's or the
    /// console's) failed with `e`, the process being out of descriptors (or another
    /// error that would repeat at once): accept one waiting connection with the reserve
    /// descriptor and close it (its client sees the connection closed rather than
    /// waiting in the queue), and rest the listener for [`LISTENER_REST`] instead of
    /// being woken for it again and again.
    pub(super) fn out_of_descriptors(&mut self, poller: &Poller, token: Token, e: &io::Error) {
        let listener = match token {
            Token::MgmtListener => self.mgmt_listener.as_ref(),
            _ => Some(&self.listener),
        };
        let Some(listener) = listener else { return };
        if self.admission.log.allow() {
            tracing::warn!(
                "accept: {e}; closing new connections for {} ms",
                LISTENER_REST.as_millis()
            );
        }
        if self.admission.reserve.take().is_some() {
            let _ = listener.accept();
            self.admission.reserve = crate::sys::access::reserve_descriptor().ok();
        }
        let fd = listener.as_raw_fd();
        if poller.delete(fd).is_ok() {
            self.admission.resting.push((fd, token));
        }
        self.admission.resting_until = Some(Instant::now() + LISTENER_REST);
    }

    /// Closes connections that waited too long and wakes a rested listener; returns
    /// how long the event loop may sleep before this has work again.
    pub(super) fn admission_tick(&mut self, poller: &Poller) -> Option<Duration> {
        if self.admission.order.is_empty() && self.admission.resting_until.is_none() {
            return None;
        }
        let now = Instant::now();
        while let Some(&(fd, serial, since)) = self.admission.order.front() {
            if self.admission.serials.get(&fd).map(|(s, _)| *s) != Some(serial) {
                self.admission.order.pop_front();
                continue;
            }
            if now.duration_since(since) < PENDING_DEADLINE {
                break;
            }
            self.admission.order.pop_front();
            if self.admission.log.allow() {
                tracing::info!(
                    "control connection (fd {fd}) sent no request within {} s; closed",
                    PENDING_DEADLINE.as_secs()
                );
            }
            self.stats.requests_refused += 1;
            self.drop_pending(poller, fd);
        }
        let mut next = self
            .admission
            .order
            .front()
            .map(|&(_, _, since)| (since + PENDING_DEADLINE).saturating_duration_since(now));
        if let Some(until) = self.admission.resting_until {
            if now >= until {
                self.admission.resting_until = None;
                for (fd, token) in self.admission.resting.drain(..) {
                    if let Err(e) = poller.add(fd, u64::from(token)) {
                        tracing::warn!("watching a listening socket again: {e}");
                    }
                }
            } else {
                let rest = until - now;
                next = Some(next.map_or(rest, |n| n.min(rest)));
            }
        }
        next
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn log_lines_are_limited_per_second() {
        let mut l = LogLimit::new();
        let allowed = (0..1000).filter(|_| l.allow()).count();
        assert_eq!(allowed, LOG_LINES_PER_SECOND as usize);
        assert_eq!(l.suppressed, 1000 - u64::from(LOG_LINES_PER_SECOND));
        l.window -= Duration::from_secs(1);
        assert!(l.allow());
        assert_eq!(l.suppressed, 0);
    }
}
