//! Time as the caller gives it: an [`Instant`] (milliseconds since an origin the caller
//! chooses) and a [`Duration`]. The core reads no clock; every function that ages or
//! times out something takes `now` as an argument.
//!
//! ```
//! use umlnet_core::time::{Duration, Instant};
//!
//! let t = Instant::from_secs(1) + Duration::from_millis(500);
//! assert_eq!(t.total_millis(), 1500);
//! assert_eq!(t.saturating_duration_since(Instant::from_secs(2)), Duration::ZERO);
//! ```

use core::fmt;

/// A point in time: milliseconds since an origin the caller chooses (boot, epoch, test start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant {
    millis: u64,
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant { millis: 0 };

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant { millis }
    }

    /// The instant `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Instant {
        Instant {
            millis: secs.saturating_mul(1000),
        }
    }

    /// Milliseconds since the origin.
    pub const fn total_millis(self) -> u64 {
        self.millis
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration {
            millis: self.millis.saturating_sub(earlier.millis),
        }
    }

    /// `self + d`, saturating at the end of time.
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant {
            millis: self.millis.saturating_add(d.millis),
        }
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating addition.
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.millis / 1000, self.millis % 1000)
    }
}

/// A span of time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration {
    millis: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { millis: 0 };
    /// Forever; as an ageing time it means "never age out".
    pub const MAX: Duration = Duration { millis: u64::MAX };

    /// `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Duration {
        Duration { millis }
    }

    /// `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            millis: secs.saturating_mul(1000),
        }
    }

    /// The length in milliseconds.
    pub const fn total_millis(self) -> u64 {
        self.millis
    }

    /// The length in whole seconds.
    pub const fn secs(self) -> u64 {
        self.millis / 1000
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.millis / 1000, self.millis % 1000)
    }
}
