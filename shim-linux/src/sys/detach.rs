//! Leaving a helper running after its parent process has to exit.

use std::io;
use std::os::fd::AsRawFd;

use super::cvt;

/// Forks. The parent gets `Some(child pid)`; the child gets `None`, runs in a session
/// of its own, and has stdout and stderr pointed at `/dev/null` (so that it does not
/// hold the sockets its caller reads to EOF). Stdin is kept. Call only from a
/// single-threaded process.
pub fn fork_detached() -> io::Result<Option<u32>> {
    // SAFETY: the helper is single-threaded when it forks, so the child may run any code.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(Some(child.as_raw() as u32)),
        nix::unistd::ForkResult::Child => {
            let _ = nix::unistd::setsid();
            let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
            for fd in [1, 2] {
                // SAFETY: dup2 onto the standard descriptors only replaces them.
                cvt(unsafe { libc::dup2(null.as_raw_fd(), fd) })?;
            }
            Ok(None)
        }
    }
}
