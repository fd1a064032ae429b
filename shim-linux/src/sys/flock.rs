//! Advisory whole-file locks (`flock(2)`), held while a guard lives.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use std::time::{Duration, Instant};

use super::cvt;

/// An exclusive `flock` on a descriptor, released on drop. It holds a duplicate of
/// the descriptor (the lock belongs to the open file, which both share), so it borrows
/// nothing.
#[derive(Debug)]
pub struct FlockGuard {
    fd: OwnedFd,
}

/// Takes an exclusive lock on `fd`, waiting at most `patience` for another holder to
/// let go (a holder may be stopped, and must not stall everyone else for ever):
/// `WouldBlock` after that.
pub fn exclusive(fd: BorrowedFd<'_>, patience: Duration) -> io::Result<FlockGuard> {
    let fd = fd.try_clone_to_owned()?;
    let deadline = Instant::now() + patience;
    loop {
        // SAFETY: flock takes a descriptor and flags; fd is open.
        match cvt(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
            Ok(_) => return Ok(FlockGuard { fd }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

impl Drop for FlockGuard {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking cannot fail on an open descriptor we locked.
        unsafe { libc::flock(self.fd.as_raw_fd(), libc::LOCK_UN) };
    }
}
