//! Advisory whole-file locks (`flock(2)`), held while a guard lives.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::cvt;

/// An exclusive `flock` on a descriptor, released on drop. It holds a duplicate of
/// the descriptor (the lock belongs to the open file, which both share), so it borrows
/// nothing.
#[derive(Debug)]
pub struct FlockGuard {
    fd: OwnedFd,
}

/// Waits for and takes an exclusive lock on `fd` (retrying on `EINTR`).
pub fn exclusive(fd: BorrowedFd<'_>) -> io::Result<FlockGuard> {
    let fd = fd.try_clone_to_owned()?;
    loop {
        // SAFETY: flock takes a descriptor and a flag; fd is open for the borrow.
        match cvt(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(FlockGuard { fd }),
        }
    }
}

impl Drop for FlockGuard {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking cannot fail on an open descriptor we locked.
        unsafe { libc::flock(self.fd.as_raw_fd(), libc::LOCK_UN) };
    }
}
