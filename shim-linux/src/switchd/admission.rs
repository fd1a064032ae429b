//! Bounds on what connecting to the control socket costs the switch: at most
//! [`MAX_PENDING`] connections waiting for their request, each for at most
//! [`PENDING_DEADLINE`]; at `EMFILE` one connection is accepted with a descriptor
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
/// the one that has waited longest.
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
    serials: std::collections::HashMap<RawFd, u64>,
    next_serial: u64,
    reserve: Option<std::fs::File>,
    resting_until: Option<Instant>,
    pub(super) log: LogLimit,
}

impl Admission {
    pub(super) fn new() -> Admission {
        Admission {
            order: VecDeque::new(),
            serials: std::collections::HashMap::new(),
            next_serial: 0,
            reserve: crate::sys::access::reserve_descriptor().ok(),
            resting_until: None,
            log: LogLimit::new(),
        }
    }
}

impl SwitchDaemon {
    /// Takes a new control connection in to wait for its request, closing the one that
    /// has waited longest when [`MAX_PENDING`] wait already.
    pub(super) fn admit(&mut self, poller: &Poller, s: UnixStream) {
        while self.pending.len() >= MAX_PENDING {
            let Some((fd, serial, _)) = self.admission.order.pop_front() else {
                break;
            };
            if self.admission.serials.get(&fd) == Some(&serial) {
                if self.admission.log.allow() {
                    tracing::warn!(
                        "{MAX_PENDING} control connections wait for their request; closing the oldest (fd {fd})"
                    );
                }
                self.drop_pending(poller, fd);
            }
        }
        let fd = s.as_raw_fd();
        if let Err(e) = poller.add(fd, u64::from(Token::Pending(fd))) {
            if self.admission.log.allow() {
                tracing::warn!("watching a new connection: {e}; closing it");
            }
            return;
        }
        self.admission.next_serial += 1;
        let serial = self.admission.next_serial;
        self.admission.serials.insert(fd, serial);
        self.admission.order.push_back((fd, serial, Instant::now()));
        self.pending.insert(fd, s);
    }

    /// Forgets a waiting connection (closing it unless the caller took it).
    pub(super) fn drop_pending(&mut self, poller: &Poller, fd: RawFd) -> Option<UnixStream> {
        let _ = poller.delete(fd);
        self.admission.serials.remove(&fd);
        self.pending.remove(&fd)
    }

    /// The process is out of descriptors: accept one waiting connection with the
    /// reserve descriptor and close it (its client sees the connection closed rather
    /// than waiting in the queue), and rest the listener for [`LISTENER_REST`].
    pub(super) fn out_of_descriptors(&mut self, poller: &Poller, e: &io::Error) {
        if self.admission.log.allow() {
            tracing::warn!(
                "accept on '{}': {e}; closing new connections for {} ms",
                self.cfg.ctl.display(),
                LISTENER_REST.as_millis()
            );
        }
        if self.admission.reserve.take().is_some() {
            let _ = self.listener.accept();
            self.admission.reserve = crate::sys::access::reserve_descriptor().ok();
        }
        let _ = poller.delete(self.listener.as_raw_fd());
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
            if self.admission.serials.get(&fd) != Some(&serial) {
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
                if let Err(e) = poller.add(self.listener.as_raw_fd(), u64::from(Token::Listener)) {
                    tracing::warn!("watching the control socket again: {e}");
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
