//! Shared harness for umlnet's integration tests.
//!
//! Real-host tests need root and the real peers (the UML kernel, uml-utilities, vde2).
//! A test file lists its cases with [`real`] and hands them to [`run_cases`] from its
//! `main` (the test target has `harness = false`). Where a case's needs are missing,
//! the runner reports it as `ignored`, with the reason on one line, and counts it in
//! the summary; under `CI=true` it runs anyway and fails with that reason. Every real-host test runs its programs inside a network namespace
//! of its own ([`Netns`]), so no traffic reaches the machine's real interfaces.
//!
//! The crate depends on no umlnet crate, so that every umlnet package may use it as a
//! dev-dependency. A package's own binaries are found with [`bin!`].

#![forbid(unsafe_code)]

mod host;
mod netns;
mod process;
mod switch;
mod tempdir;
mod trial;
mod uml;

pub use host::{missing_needs, require_real_host, under_ci, which};
pub use netns::{Netns, dir_and_netns};
pub use process::{Daemon, run_ok, wait_for};
pub use switch::OurSwitch;
pub use tempdir::TempDir;
pub use trial::{real, real_needing, run_cases};
pub use uml::{UmlBoot, UmlGuest, uml_launch};

/// The path (a `PathBuf`) of one of the calling package's binaries, as cargo built it
/// for this integration test (`CARGO_BIN_EXE_<name>`).
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        ::std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}
