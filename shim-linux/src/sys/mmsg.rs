//! Batched datagram I/O: one `recvmmsg` or `sendmmsg` call for many datagrams, on any
//! datagram socket.
//!
//! The batches are generic over the size `A` of the address buffer each message
//! carries: a unix socket's is the 110-byte `struct sockaddr_un`
//! ([`super::socket::SOCKADDR_UN_LEN`], kept as exactly the bytes the kernel reports),
//! a UDP socket's a `struct sockaddr_in6` ([`INET_ADDR_LEN`], which also holds a
//! `sockaddr_in`; see [`inet_addr_bytes`] and [`inet_addr_from_bytes`]).
//!
//! A [`RecvBatch`] builds its message headers once, in [`RecvBatch::new`]: every call
//! hands the kernel the same buffers, and only the fields the kernel wrote
//! (`msg_namelen`, `msg_flags`) are reset afterwards. A [`SendBatch`] is scratch space
//! that grows to the largest batch sent and is reused.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{cvt, none_if_would_block};

/// The largest number of messages one `sendmmsg`/`recvmmsg` call takes (`UIO_MAXIOV`).
pub const MAX_BATCH: usize = 1024;

/// Size of `struct sockaddr_in6`, the address buffer of a UDP socket's batches (an IPv4
/// socket's `struct sockaddr_in` fits in it).
pub const INET_ADDR_LEN: usize = std::mem::size_of::<libc::sockaddr_in6>();

/// An `mmsghdr` for one buffer (`iov`) and, if given, an address buffer of `A` bytes
/// (`name`), for `sendmmsg` and `recvmmsg` alike.
fn one_iov_header<const A: usize>(
    iov: *mut libc::iovec,
    name: Option<*mut libc::c_void>,
) -> libc::mmsghdr {
    // SAFETY: an all-zero mmsghdr is a valid value (null pointers, zero lengths).
    let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
    if let Some(name) = name {
        h.msg_hdr.msg_name = name;
        h.msg_hdr.msg_namelen = A as libc::socklen_t;
    }
    h.msg_hdr.msg_iov = iov;
    h.msg_hdr.msg_iovlen = 1;
    h
}

/// Reusable buffers for [`recv`]: room for a number of datagrams of up to a given
/// size, and for each its sender's address (`A` bytes).
pub struct RecvBatch<const A: usize> {
    buf_size: usize,
    bufs: Vec<u8>,
    addrs: Vec<[u8; A]>,
    lens: Vec<usize>,
    addr_lens: Vec<usize>,
    truncated: Vec<bool>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    filled: usize,
}

/// One datagram of a [`RecvBatch`].
#[derive(Debug, Clone, Copy)]
pub struct Received<'a, const A: usize> {
    /// The datagram (at most the batch's buffer size).
    pub data: &'a [u8],
    /// The sender's address bytes, zero-padded past `addr_len`.
    pub addr: &'a [u8; A],
    /// How many bytes of `addr` the kernel filled (110 for a UML kernel's socket).
    pub addr_len: usize,
    /// The datagram was longer than the buffer and was cut.
    pub truncated: bool,
}

impl<const A: usize> RecvBatch<A> {
    /// Room for `count` datagrams (clamped to 1..=[`MAX_BATCH`]) of up to `buf_size` bytes each.
    pub fn new(count: usize, buf_size: usize) -> RecvBatch<A> {
        let count = count.clamp(1, MAX_BATCH);
        let mut b = RecvBatch {
            buf_size,
            bufs: vec![0; count * buf_size],
            addrs: vec![[0; A]; count],
            lens: vec![0; count],
            addr_lens: vec![0; count],
            truncated: vec![false; count],
            iovs: Vec::with_capacity(count),
            hdrs: Vec::with_capacity(count),
            filled: 0,
        };
        // The headers are made once: every call hands the kernel the same buffers. The
        // vectors are never resized again, so the pointers stay valid when `b` moves.
        for i in 0..count {
            b.iovs.push(libc::iovec {
                // SAFETY (pointer arithmetic): i*buf_size + buf_size <= bufs.len().
                iov_base: unsafe { b.bufs.as_mut_ptr().add(i * buf_size) }.cast(),
                iov_len: buf_size,
            });
        }
        for i in 0..count {
            let name = b.addrs[i].as_mut_ptr().cast();
            // SAFETY (pointer arithmetic): i < count == iovs.len().
            let iov = unsafe { b.iovs.as_mut_ptr().add(i) };
            b.hdrs.push(one_iov_header::<A>(iov, Some(name)));
        }
        b
    }

    /// How many datagrams one call can receive.
    pub fn capacity(&self) -> usize {
        self.addrs.len()
    }

    /// How many datagrams the last call received.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether the last call received nothing.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Datagram `i` of the last call (`i < len()`), or `None`.
    pub fn get(&self, i: usize) -> Option<Received<'_, A>> {
        if i >= self.filled {
            return None;
        }
        let start = i * self.buf_size;
        let len = self.lens[i].min(self.buf_size);
        Some(Received {
            data: &self.bufs[start..start + len],
            addr: &self.addrs[i],
            addr_len: self.addr_lens[i],
            truncated: self.truncated[i],
        })
    }
}

/// Fills `batch` with up to `max` (at least 1, at most its capacity) queued datagrams
/// in one `recvmmsg` call that does not wait, and returns how many arrived (0 if none
/// were queued). Other errors (`EINTR` among them) are returned as they are.
pub fn recv<const A: usize>(
    fd: BorrowedFd<'_>,
    batch: &mut RecvBatch<A>,
    max: usize,
) -> io::Result<usize> {
    batch.filled = 0;
    let n = batch.capacity().min(max).max(1);
    // SAFETY: the headers point to buffers owned by `batch`, set up once in
    // `RecvBatch::new` and never reallocated; the kernel writes at most the lengths given.
    let r = unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            batch.hdrs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    let got = match none_if_would_block(cvt(r))? {
        Some(k) => k as usize,
        None => 0,
    };
    for i in 0..got {
        let h = &mut batch.hdrs[i];
        batch.lens[i] = h.msg_len as usize;
        batch.addr_lens[i] = (h.msg_hdr.msg_namelen as usize).min(A);
        batch.truncated[i] = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        // The kernel wrote these: ready for the next call.
        h.msg_hdr.msg_namelen = A as libc::socklen_t;
        h.msg_hdr.msg_flags = 0;
        // Pad what the kernel did not write, so a short address compares as itself.
        let al = batch.addr_lens[i];
        batch.addrs[i][al..].fill(0);
    }
    batch.filled = got;
    Ok(got)
}

/// Reusable scratch space for [`send`].
pub struct SendBatch {
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl SendBatch {
    /// Empty scratch space; it grows to the largest batch sent.
    pub fn new() -> SendBatch {
        SendBatch {
            iovs: Vec::new(),
            hdrs: Vec::new(),
        }
    }
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("capacity", &self.hdrs.capacity())
            .finish()
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch::new()
    }
}

/// One `sendmmsg` with `flags` of the first `n` (at most [`MAX_BATCH`]) messages
/// `msg(i)`: a datagram and its destination's `A` address bytes (`None`: the connected
/// peer). Returns the number sent in order from the start, at least 1; if the first
/// message fails, returns that error (`WouldBlock` when the receiver's queue is full).
pub fn send<'a, const A: usize>(
    fd: BorrowedFd<'_>,
    scratch: &mut SendBatch,
    n: usize,
    msg: impl Fn(usize) -> (&'a [u8], Option<&'a [u8; A]>),
    flags: libc::c_int,
) -> io::Result<usize> {
    let n = n.min(MAX_BATCH);
    if n == 0 {
        return Ok(0);
    }
    scratch.iovs.clear();
    scratch.hdrs.clear();
    for i in 0..n {
        let buf = msg(i).0;
        scratch.iovs.push(libc::iovec {
            iov_base: buf.as_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        });
    }
    for i in 0..n {
        let name = msg(i).1.map(|a| a.as_ptr() as *mut libc::c_void);
        // SAFETY (pointer arithmetic): i < n == iovs.len().
        let iov = unsafe { scratch.iovs.as_mut_ptr().add(i) };
        scratch.hdrs.push(one_iov_header::<A>(iov, name));
    }
    // SAFETY: the headers point to the caller's buffers and addresses, alive for the
    // call; the kernel only reads through them (the casts drop const only because
    // the C structs are shared with recvmmsg).
    let r = unsafe {
        libc::sendmmsg(
            fd.as_raw_fd(),
            scratch.hdrs.as_mut_ptr(),
            n as libc::c_uint,
            flags,
        )
    };
    scratch.hdrs.clear();
    scratch.iovs.clear();
    let k = cvt(r)? as usize;
    if k == 0 {
        // Not documented to happen; report it like a full queue so callers progress.
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(k)
}

/// The `struct sockaddr_in` (IPv4) or `struct sockaddr_in6` (IPv6) of `addr`, as the
/// bytes a UDP socket's batch carries.
pub fn inet_addr_bytes(addr: SocketAddr) -> [u8; INET_ADDR_LEN] {
    let mut b = [0u8; INET_ADDR_LEN];
    match addr {
        SocketAddr::V4(a) => {
            b[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            b[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.flowinfo().to_ne_bytes());
            b[8..24].copy_from_slice(&a.ip().octets());
            b[24..28].copy_from_slice(&a.scope_id().to_ne_bytes());
        }
    }
    b
}

/// The address in the first `len` bytes of `b` (a sender's, as [`recv`] reports it),
/// or `None` when it is not a whole `sockaddr_in` or `sockaddr_in6`.
pub fn inet_addr_from_bytes(b: &[u8; INET_ADDR_LEN], len: usize) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes([b[0], b[1]]));
    let port = u16::from_be_bytes([b[2], b[3]]);
    let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
    if family == libc::AF_INET && len >= std::mem::size_of::<libc::sockaddr_in>() {
        let ip = Ipv4Addr::from(word(4));
        Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
    } else if family == libc::AF_INET6 && len >= INET_ADDR_LEN {
        let mut ip = [0u8; 16];
        ip.copy_from_slice(&b[8..24]);
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(ip),
            port,
            u32::from_ne_bytes(word(4)),
            u32::from_ne_bytes(word(24)),
        )))
    } else {
        None
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn inet_addresses_round_trip_through_their_bytes() {
        for a in ["10.1.2.3:4789", "[fd00::1]:4790", "[fe80::1%3]:5000"] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(
                inet_addr_from_bytes(&inet_addr_bytes(a), INET_ADDR_LEN),
                Some(a)
            );
        }
        let v4 = inet_addr_bytes("10.1.2.3:4789".parse().unwrap());
        assert_eq!(inet_addr_from_bytes(&v4, 15), None, "a cut address");
        assert_eq!(inet_addr_from_bytes(&[0; INET_ADDR_LEN], 28), None);
    }
}
