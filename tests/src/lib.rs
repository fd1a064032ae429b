//! What is left of the old integration-test package: the benchmark tests
//! (`uml_switch_bench_real.rs`, `sim_bench.rs`) until they move to the benchmark crate.
//! The harness itself is `umlnet-testkit`, re-exported here; the other tests live in
//! the `tests/` folder of the package they test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use umlnet_testkit::*;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory holding the workspace's binaries (`uml_switch`, `uml_net`, `tunctl`,
/// `umlnet`), built once per test process with the same profile as the tests.
///
/// Only for the benchmark tests still here: tests in `umlnet-linux` use
/// `umlnet_testkit::bin!` (`CARGO_BIN_EXE_*`) instead.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace_root();
        let release = !cfg!(debug_assertions);
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(&root)
            .args(["build", "-q", "-p", "umlnet-linux", "--bins"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("run cargo build for the umlnet binaries");
        assert!(
            status.success(),
            "cargo build of the umlnet binaries failed"
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        target.join(if release { "release" } else { "debug" })
    })
}

/// The path of one of the workspace's binaries, built if needed (see [`bin_dir`]).
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(p.exists(), "binary {} was not built", p.display());
    p
}
