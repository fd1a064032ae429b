//! Leaving a helper running after its parent process has to exit.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::cvt;

/// Forks. The parent gets `Some(child pid)`; the child gets `None`, runs in a session
/// of its own, and has stdout and stderr pointed at `/dev/null` (so that it does not
/// hold the sockets its caller reads to EOF). Stdin is kept.
///
/// # Safety
///
/// The process must be single-threaded: the child of a multi-threaded process may
/// only make async-signal-safe calls (another thread may have held the allocator's
/// lock when it forked), and the child here runs ordinary Rust code.
pub unsafe fn fork_detached() -> io::Result<Option<u32>> {
    // SAFETY: the caller guarantees the process is single-threaded, so the child may
    // run any code.
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

/// Closes every descriptor of this process except `keep` (and 0, 1, 2). The UML kernel
/// leaks its descriptors into the helpers it runs (its pty masters, its ends of socket
/// pairs); a helper that stays behind must not hold them, or the kernel's side of a
/// line never hangs up.
///
/// # Safety
///
/// Every descriptor not in `keep` (nor 0, 1, 2) is closed behind its owner's back: the
/// caller must make sure that no owner of such a descriptor (an `OwnedFd`, a `File`, a
/// socket inside another value) is used or dropped afterwards, since its number may
/// by then belong to something else. Call it where nothing else is open, or just
/// before leaving with `std::process::exit`.
pub unsafe fn close_other_fds(keep: &[RawFd]) -> io::Result<()> {
    let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in open {
        if fd > 2 && !keep.contains(&fd) {
            // SAFETY: the caller keeps (and so owns) only the listed descriptors; the
            // rest are leaked from the parent or the directory stream already closed
            // (EBADF, ignored).
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use std::os::fd::IntoRawFd;

    #[test]
    fn only_listed_descriptors_survive() {
        // In a child process, so the test process keeps its own descriptors.
        let kept = std::fs::File::open("/proc/self/status")
            .unwrap()
            .into_raw_fd();
        let dropped = std::fs::File::open("/proc/self/status")
            .unwrap()
            .into_raw_fd();
        // SAFETY: the child only calls async-signal-safe-enough code and exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                // SAFETY: the child only checks the two numbers and exits with _exit,
                // so no owner of a closed descriptor is used or dropped.
                let ok = unsafe { close_other_fds(&[kept]) }.is_ok()
                    // SAFETY: F_GETFD only reads the descriptor table.
                    && unsafe { libc::fcntl(kept, libc::F_GETFD) } != -1
                    && unsafe { libc::fcntl(dropped, libc::F_GETFD) } == -1;
                // SAFETY: _exit ends the child without running the parent's destructors.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                let st = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
        // SAFETY: both are ours and still open here.
        unsafe {
            libc::close(kept);
            libc::close(dropped);
        }
    }
}
