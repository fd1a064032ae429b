//! Unix datagram sockets addressed by raw `struct sockaddr_un` bytes.
//!
//! The UML kernel binds its data socket to a 110-byte *abstract* address whose bytes
//! after the pid and time are uninitialised memory (docs/protocols.md §3.1), so an address must be
//! handled as exactly the bytes the kernel reports, never as a path or a string. Every
//! address here is a `[u8; SOCKADDR_UN_LEN]` plus the length the kernel used.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::{cvt, cvt_size, none_if_would_block};

/// Size of `struct sockaddr_un` on Linux: a 2-byte family and a 108-byte path.
pub const SOCKADDR_UN_LEN: usize = 110;

/// Raw bytes of a `struct sockaddr_un`.
pub type RawUnixAddr = [u8; SOCKADDR_UN_LEN];

pub use super::mmsg::{MAX_BATCH, SendBatch};

/// Reusable buffers for [`DgramSocket::recv_batch`]: a [`super::mmsg::RecvBatch`] with
/// room for a full `sockaddr_un` per datagram.
pub type RecvBatch = super::mmsg::RecvBatch<SOCKADDR_UN_LEN>;

/// One datagram of a [`RecvBatch`].
pub type Received<'a> = super::mmsg::Received<'a, SOCKADDR_UN_LEN>;

/// A `sockaddr_un` with family `AF_UNIX` and the given path bytes (NUL-padded). The
/// path may start with a NUL byte (abstract) and may be up to 108 bytes long.
///
/// Returns `None` when `path` is longer than 108 bytes.
pub fn unix_addr_bytes(path: &[u8]) -> Option<RawUnixAddr> {
    if path.len() > SOCKADDR_UN_LEN - 2 {
        return None;
    }
    let mut a = [0u8; SOCKADDR_UN_LEN];
    a[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
    a[2..2 + path.len()].copy_from_slice(path);
    Some(a)
}

/// A `sockaddr_un` for a filesystem path, or an `InvalidInput` error when the path
/// does not fit (107 bytes plus the terminating NUL).
pub fn path_addr_bytes(path: &Path) -> io::Result<RawUnixAddr> {
    use std::os::unix::ffi::OsStrExt;
    let b = path.as_os_str().as_bytes();
    if b.len() >= SOCKADDR_UN_LEN - 2 || b.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "unix socket path '{}' is too long (max 107 bytes) or has a NUL",
                path.display()
            ),
        ));
    }
    Ok(unix_addr_bytes(b).expect("length checked"))
}

/// A unix `SOCK_DGRAM` socket, non-blocking and close-on-exec, closed on drop.
#[derive(Debug)]
pub struct DgramSocket {
    fd: OwnedFd,
}

impl DgramSocket {
    /// A new unbound socket.
    pub fn new() -> io::Result<DgramSocket> {
        // SAFETY: socket has no memory-safety preconditions; the result is checked.
        let fd = cvt(unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: fd is a freshly created descriptor that nothing else owns.
        Ok(DgramSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// A new socket bound to the first `len` bytes of `addr` (use
    /// [`SOCKADDR_UN_LEN`] to bind exactly as the UML kernel and uml_switch do).
    pub fn bind_raw(addr: &RawUnixAddr, len: usize) -> io::Result<DgramSocket> {
        let s = DgramSocket::new()?;
        let len = len.min(SOCKADDR_UN_LEN);
        // SAFETY: addr points to at least `len` readable bytes; the kernel copies them.
        cvt(unsafe {
            libc::bind(
                s.fd.as_raw_fd(),
                addr.as_ptr().cast(),
                len as libc::socklen_t,
            )
        })?;
        Ok(s)
    }

    /// Connects the socket to the first `len` bytes of `addr`.
    pub fn connect_raw(&self, addr: &RawUnixAddr, len: usize) -> io::Result<()> {
        let len = len.min(SOCKADDR_UN_LEN);
        // SAFETY: as in bind_raw.
        cvt(unsafe {
            libc::connect(
                self.fd.as_raw_fd(),
                addr.as_ptr().cast(),
                len as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// The address the socket is bound to, and its length.
    pub fn local_addr_raw(&self) -> io::Result<(RawUnixAddr, usize)> {
        let mut a = [0u8; SOCKADDR_UN_LEN];
        let mut len = SOCKADDR_UN_LEN as libc::socklen_t;
        // SAFETY: a is writable for `len` bytes and len is a valid socklen_t.
        cvt(unsafe { libc::getsockname(self.fd.as_raw_fd(), a.as_mut_ptr().cast(), &mut len) })?;
        Ok((a, (len as usize).min(SOCKADDR_UN_LEN)))
    }

    /// Switches between non-blocking (the default) and blocking mode.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        set_nonblocking(self.fd.as_raw_fd(), on)
    }

    /// Sets `SO_SNDBUF` (the kernel doubles the value; root may exceed `wmem_max`).
    pub fn set_send_buffer(&self, bytes: usize) -> io::Result<()> {
        set_int_opt(self.fd.as_raw_fd(), libc::SO_SNDBUFFORCE, bytes)
            .or_else(|_| set_int_opt(self.fd.as_raw_fd(), libc::SO_SNDBUF, bytes))
    }

    /// Sets `SO_RCVBUF` (the kernel doubles the value; root may exceed `rmem_max`).
    pub fn set_recv_buffer(&self, bytes: usize) -> io::Result<()> {
        set_int_opt(self.fd.as_raw_fd(), libc::SO_RCVBUFFORCE, bytes)
            .or_else(|_| set_int_opt(self.fd.as_raw_fd(), libc::SO_RCVBUF, bytes))
    }

    /// Sets `SO_SNDTIMEO`: a blocking send waits at most this long, then fails with
    /// `WouldBlock`.
    pub fn set_send_timeout(&self, t: std::time::Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: t.as_secs() as libc::time_t,
            tv_usec: t.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: the option value is a valid timeval of the size given.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Sends one datagram to the first `len` bytes of `addr`. `Ok(None)` if it would block.
    pub fn send_to_raw(
        &self,
        buf: &[u8],
        addr: &RawUnixAddr,
        len: usize,
    ) -> io::Result<Option<usize>> {
        let len = len.min(SOCKADDR_UN_LEN);
        // SAFETY: buf and addr are valid for the lengths given; the kernel only reads them.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                addr.as_ptr().cast(),
                len as libc::socklen_t,
            )
        };
        none_if_would_block(cvt_size(r))
    }

    /// Sends one datagram on a connected socket. `Ok(None)` if it would block.
    pub fn send(&self, buf: &[u8]) -> io::Result<Option<usize>> {
        // SAFETY: buf is valid for buf.len() bytes.
        let r = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        none_if_would_block(cvt_size(r))
    }

    /// Receives one datagram: its length (truncated to `buf.len()`), the sender's
    /// address bytes (zero-padded) and the sender's address length. `Ok(None)` if
    /// nothing is queued.
    pub fn recv_from_raw(&self, buf: &mut [u8]) -> io::Result<Option<(usize, RawUnixAddr, usize)>> {
        let mut a = [0u8; SOCKADDR_UN_LEN];
        let mut alen = SOCKADDR_UN_LEN as libc::socklen_t;
        // SAFETY: buf and a are writable for the lengths given.
        let r = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                a.as_mut_ptr().cast(),
                &mut alen,
            )
        };
        Ok(none_if_would_block(cvt_size(r))?
            .map(|n| (n.min(buf.len()), a, (alen as usize).min(SOCKADDR_UN_LEN))))
    }

    /// Receives one datagram on any socket, ignoring the sender. `Ok(None)` if nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: buf is writable for buf.len() bytes.
        let r = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        Ok(none_if_would_block(cvt_size(r))?.map(|n| n.min(buf.len())))
    }

    /// Fills `batch` with up to `batch.capacity()` queued datagrams in one `recvmmsg`
    /// call and returns how many arrived (0 if none were queued).
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        self.recv_batch_up_to(batch, usize::MAX)
    }

    /// As [`DgramSocket::recv_batch`], but takes at most `max` datagrams (at least 1).
    pub fn recv_batch_up_to(&self, batch: &mut RecvBatch, max: usize) -> io::Result<usize> {
        super::mmsg::recv(self.fd.as_fd(), batch, max)
    }

    /// Sends `msgs` (each a datagram and the full 110-byte destination) with
    /// `sendmmsg`, chunked by [`MAX_BATCH`]. Returns the number sent in order from
    /// the start, at least 1; if the first message fails, returns that error
    /// (`WouldBlock` when the receiver's queue is full). The caller skips the
    /// failed message and calls again with the rest. Blocks if the socket does.
    pub fn send_batch(
        &self,
        scratch: &mut SendBatch,
        msgs: &[(&[u8], &RawUnixAddr)],
    ) -> io::Result<usize> {
        super::mmsg::send(
            self.fd.as_fd(),
            scratch,
            msgs.len(),
            |i| (msgs[i].0, Some(msgs[i].1)),
            libc::MSG_NOSIGNAL,
        )
    }

    /// Sends `frames` on a connected socket with `sendmmsg` (no destination names, so
    /// the kernel skips the address lookup), chunked by [`MAX_BATCH`]. Returns the
    /// number sent in order from the start, at least 1; if the first frame fails,
    /// returns that error (`WouldBlock` when the peer's queue is full). Never blocks.
    pub fn send_batch_connected(
        &self,
        scratch: &mut SendBatch,
        frames: &[&[u8]],
    ) -> io::Result<usize> {
        super::mmsg::send(
            self.fd.as_fd(),
            scratch,
            frames.len(),
            |i| (frames[i], None::<&RawUnixAddr>),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    }
}

impl AsFd for DgramSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for DgramSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Waits up to `timeout` for `fd` to become readable (or hung up); returns whether it did.
pub fn wait_readable(fd: RawFd, timeout: std::time::Duration) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: p is one valid pollfd for the duration of the call.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    match cvt(r) {
        Ok(n) => Ok(n > 0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sets or clears `O_NONBLOCK` on a descriptor.
pub fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl F_GETFL/F_SETFL only read and write the descriptor's flags.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, new) })?;
    }
    Ok(())
}

fn set_int_opt(fd: RawFd, opt: libc::c_int, v: usize) -> io::Result<()> {
    let v: libc::c_int = v.min(i32::MAX as usize) as libc::c_int;
    // SAFETY: the option value is a valid c_int of the size given.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    fn abstract_addr(tag: &[u8]) -> RawUnixAddr {
        let mut p = [0u8; 108];
        p[1..1 + tag.len()].copy_from_slice(tag);
        p[100] = 0xa5; // bytes far into the name matter, as in the UML kernel's address
        unix_addr_bytes(&p).unwrap()
    }

    #[test]
    fn full_length_abstract_addresses_round_trip() {
        let a = abstract_addr(format!("umlnet-sys-a-{}", std::process::id()).as_bytes());
        let b = abstract_addr(format!("umlnet-sys-b-{}", std::process::id()).as_bytes());
        let sa = DgramSocket::bind_raw(&a, SOCKADDR_UN_LEN).unwrap();
        let sb = DgramSocket::bind_raw(&b, SOCKADDR_UN_LEN).unwrap();
        assert_eq!(sa.local_addr_raw().unwrap(), (a, SOCKADDR_UN_LEN));
        assert_eq!(
            sa.send_to_raw(b"hello", &b, SOCKADDR_UN_LEN).unwrap(),
            Some(5)
        );
        let mut buf = [0u8; 64];
        let (n, from, flen) = sb.recv_from_raw(&mut buf).unwrap().unwrap();
        assert_eq!((&buf[..n], from, flen), (&b"hello"[..], a, SOCKADDR_UN_LEN));
        assert_eq!(
            sb.recv_from_raw(&mut buf).unwrap(),
            None,
            "nothing queued means None"
        );
    }

    #[test]
    fn batches_keep_order_lengths_senders_and_truncation() {
        let a = abstract_addr(format!("umlnet-sys-c-{}", std::process::id()).as_bytes());
        let b = abstract_addr(format!("umlnet-sys-d-{}", std::process::id()).as_bytes());
        let sa = DgramSocket::bind_raw(&a, SOCKADDR_UN_LEN).unwrap();
        let sb = DgramSocket::bind_raw(&b, SOCKADDR_UN_LEN).unwrap();
        let frames: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + i as usize * 10]).collect();
        let msgs: Vec<(&[u8], &RawUnixAddr)> = frames.iter().map(|f| (&f[..], &b)).collect();
        let mut scratch = SendBatch::new();
        assert_eq!(sa.send_batch(&mut scratch, &msgs).unwrap(), 5);
        let mut batch = RecvBatch::new(8, 35);
        assert_eq!(sb.recv_batch(&mut batch).unwrap(), 5);
        for (i, f) in frames.iter().enumerate() {
            let r = batch.get(i).unwrap();
            let want = f.len().min(35);
            assert_eq!(r.data, &f[..want]);
            assert_eq!(r.truncated, f.len() > 35);
            assert_eq!((r.addr, r.addr_len), (&a, SOCKADDR_UN_LEN));
        }
        assert!(batch.get(5).is_none());
        assert_eq!(sb.recv_batch(&mut batch).unwrap(), 0);
    }

    #[test]
    fn sending_to_a_missing_socket_is_an_error_not_a_block() {
        let a = abstract_addr(format!("umlnet-sys-e-{}", std::process::id()).as_bytes());
        let nobody = abstract_addr(b"umlnet-sys-nobody-listens-here");
        let sa = DgramSocket::bind_raw(&a, SOCKADDR_UN_LEN).unwrap();
        let e = sa.send_to_raw(b"x", &nobody, SOCKADDR_UN_LEN).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
        let mut scratch = SendBatch::new();
        let e = sa.send_batch(&mut scratch, &[(b"x", &nobody)]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
    }

    #[test]
    fn path_addresses_reject_overlong_paths() {
        assert!(path_addr_bytes(Path::new("/tmp/x")).is_ok());
        let long = "/".repeat(108);
        assert_eq!(
            path_addr_bytes(Path::new(&long)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
