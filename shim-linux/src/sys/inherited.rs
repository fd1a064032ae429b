//! Descriptors a process inherited by number (UML's `vecN:transport=fd,fd=N`).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::cvt;

/// Takes ownership of descriptor `fd`, which this process inherited, after checking
/// that it is open and is a socket; it becomes close-on-exec.
pub fn adopt_socket(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD reads the descriptor's flags; an unknown number gives EBADF.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: an all-zero `struct stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a valid, writable `struct stat`.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is not a socket"),
        ));
    }
    // SAFETY: F_SETFD only changes the close-on-exec flag of an open descriptor.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    // SAFETY: the descriptor is open (checked above) and the caller hands its only use
    // to the returned owner, as the kernel does with the number it is given.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
