//! The only place in umlnet-linux with `unsafe` (the crate root denies it everywhere
//! else): thin, safe wrappers around the Linux system calls the host tools need. The
//! two functions whose preconditions no wrapper can check, [`detach::fork_detached`]
//! and [`detach::close_other_fds`], are `unsafe fn`s with a `# Safety` section.
//!
//! Contract of every wrapper here: errors come back as [`std::io::Result`]; a call that
//! would block on a non-blocking descriptor returns `Ok(None)` (or a count of zero
//! where the call is a batch); descriptors are [`std::os::fd::OwnedFd`]s closed on drop
//! and exposed through `AsFd`/`AsRawFd`. Nothing here knows any protocol: addresses are
//! the raw bytes the kernel uses, so the callers can treat them as opaque.
//!
//! Submodules:
//! - [`socket`]: unix datagram sockets with raw 110-byte `sockaddr_un` addresses.
//! - [`seqpacket`]: unix seqpacket listeners (the vector driver's `bess` transport).
//! - [`mmsg`]: `recvmmsg`/`sendmmsg` batches for unix and UDP sockets alike.
//! - [`epoll`]: a level-triggered readiness poller.
//! - [`tun`]: `/dev/net/tun` TAP devices (`TUNSETIFF`).
//! - [`signal`]: termination signals delivered as a readable descriptor (`signalfd`).
//! - [`process`]: process-wide calls (`daemon(3)`, the open-descriptor count).
//! - [`access`]: peer credentials, socket owners, no-follow opens, the descriptor limit.

pub mod access;
pub mod detach;
pub mod epoll;
pub mod fdpass;
pub mod flock;
pub mod inherited;
pub mod mcast;
pub mod mmsg;
pub mod netlink;
pub mod privilege;
pub mod process;
pub mod pty;
pub mod seqpacket;
pub mod signal;
pub mod socket;
pub mod sysctl;
pub mod tun;

use std::io;

/// Maps a would-block error to `Ok(None)`, every other error stays an error.
pub(crate) fn none_if_would_block<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Converts a libc return value (-1 = error in `errno`) to an `io::Result`.
pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Like [`cvt`] for calls returning `ssize_t`.
pub(crate) fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}
