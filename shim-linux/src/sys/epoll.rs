//! A level-triggered `epoll` poller keyed by caller-chosen `u64` tokens.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::cvt;

/// What a registered descriptor reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The token given at registration.
    pub token: u64,
    /// Data (or a connection, or EOF) can be read.
    pub readable: bool,
    /// A write would not block (reported only while asked for, see
    /// [`Poller::want_writable`]).
    pub writable: bool,
    /// The peer hung up or the descriptor is in error.
    pub hangup: bool,
}

/// An epoll instance, closed on drop.
#[derive(Debug)]
pub struct Poller {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Poller {
    /// A new poller that returns up to `max_events` readiness reports per wait.
    pub fn new(max_events: usize) -> io::Result<Poller> {
        // SAFETY: epoll_create1 has no memory-safety preconditions.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Poller {
            // SAFETY: fd is new and owned by nobody else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; max_events.max(1)],
        })
    }

    /// Watches `fd` for readability (level-triggered), reporting `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: token,
        };
        // SAFETY: ev is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    /// Changes the watch on `fd` (already added with `token`): readability always and,
    /// if `on`, writability too (for a connected datagram socket: room in the peer's
    /// receive queue).
    pub fn want_writable(&self, fd: RawFd, token: u64, on: bool) -> io::Result<()> {
        let mut bits = libc::EPOLLIN | libc::EPOLLRDHUP;
        if on {
            bits |= libc::EPOLLOUT;
        }
        let mut ev = libc::epoll_event {
            events: bits as u32,
            u64: token,
        };
        // SAFETY: ev is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_MOD, fd, &mut ev) })?;
        Ok(())
    }

    /// Stops watching `fd` (call before closing it).
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: EPOLL_CTL_DEL ignores the event pointer (null is allowed since 2.6.9).
        cvt(unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        })?;
        Ok(())
    }

    /// Waits up to `timeout` (`None` = forever) and returns the ready descriptors.
    /// An interrupted wait returns no reports.
    pub fn wait(
        &mut self,
        timeout: Option<Duration>,
    ) -> io::Result<impl Iterator<Item = Ready> + '_> {
        let ms = timeout.map_or(-1, |d| d.as_millis().min(i32::MAX as u128) as libc::c_int);
        // SAFETY: events is writable for events.len() entries.
        let r = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as libc::c_int,
                ms,
            )
        };
        let n = match cvt(r) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        Ok(self.events[..n].iter().map(|e| {
            let bits = e.events;
            Ready {
                token: e.u64,
                readable: bits & (libc::EPOLLIN as u32) != 0,
                writable: bits & (libc::EPOLLOUT as u32) != 0,
                hangup: bits & ((libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) as u32) != 0,
            }
        }))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reports_readable_and_hangup_with_tokens() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let mut p = Poller::new(4).unwrap();
        p.add(b.as_raw_fd(), 7).unwrap();
        assert_eq!(p.wait(Some(Duration::from_millis(10))).unwrap().count(), 0);
        a.write_all(b"x").unwrap();
        let r: Vec<Ready> = p.wait(Some(Duration::from_millis(100))).unwrap().collect();
        assert_eq!(
            r,
            vec![Ready {
                token: 7,
                readable: true,
                writable: false,
                hangup: false
            }]
        );
        drop(a);
        let r: Vec<Ready> = p.wait(Some(Duration::from_millis(100))).unwrap().collect();
        assert_eq!(r.len(), 1);
        assert!(r[0].hangup);
        p.delete(b.as_raw_fd()).unwrap();
        assert_eq!(p.wait(Some(Duration::from_millis(10))).unwrap().count(), 0);
    }
}
