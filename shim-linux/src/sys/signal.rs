//! Termination signals as a readable descriptor.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// A `signalfd` for a set of signals, which are blocked for the calling thread (and
/// for threads it creates afterwards) so that they are only delivered through it.
#[derive(Debug)]
pub struct SignalWatch {
    fd: SignalFd,
}

impl SignalWatch {
    /// Blocks `signals` and returns a non-blocking descriptor that reads them.
    pub fn new(signals: &[Signal]) -> io::Result<SignalWatch> {
        let mut set = SigSet::empty();
        for s in signals {
            set.add(*s);
        }
        set.thread_block()?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(SignalWatch { fd })
    }

    /// The next pending signal's number, or `None`.
    pub fn read(&self) -> io::Result<Option<i32>> {
        Ok(self.fd.read_signal()?.map(|si| si.ssi_signo as i32))
    }
}

impl AsFd for SignalWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SignalWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }
}
