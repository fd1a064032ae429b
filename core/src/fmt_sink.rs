//! A `fmt::Write` that only counts ([`Sink`]), so that the fuzz entry points can run
//! every `Display` without allocating.

use core::fmt;

/// A `fmt::Write` that only counts, to run `Display` without allocating.
pub(crate) struct Sink(pub(crate) usize);

impl fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}
