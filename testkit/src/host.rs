//! What a real-host case needs from the machine: root and programs on PATH.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The packages that provide the real peers, named in every "needs" line.
const INSTALL_HINT: &str = "apt-get install user-mode-linux uml-utilities vde2 iproute2 iputils-ping tcpdump, and run as root";

/// True when running under CI (`CI=true`), where real-host tests must not skip.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What is missing for a real-host case that needs root and `programs`: `None` when
/// nothing is, else one line naming what is missing and how to get it.
pub fn missing_needs(programs: &[&str]) -> Option<String> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root".to_string());
    }
    for p in programs {
        if which(p).is_none() {
            missing.push((*p).to_string());
        }
    }
    if missing.is_empty() {
        None
    } else {
        Some(format!("needs {} ({INSTALL_HINT})", missing.join(", ")))
    }
}

/// Checks that the test can run on the real host: root, and each named program on
/// PATH. Returns `false` (after printing one line) when the test should skip;
/// panics under CI, where skipping is not allowed.
///
/// For tests still on the built-in harness; cases listed with [`crate::real`] are
/// reported as ignored instead.
#[must_use]
pub fn require_real_host(test: &str, programs: &[&str]) -> bool {
    let Some(needs) = missing_needs(programs) else {
        return true;
    };
    let line = format!("SKIP {test}: {needs}");
    if under_ci() {
        panic!("{line} — but CI=true, so real-host tests must run");
    }
    eprintln!("{line}");
    false
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Finds a program on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
