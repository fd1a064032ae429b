//! `uml_switch`: the virtual switch daemon for User-Mode Linux (drop-in for
//! uml-utilities'). Everything lives in [`umlnet_linux::switchd`].
//!
//! Its log lines go to stderr: with colours only on a terminal, and without
//! timestamps when stderr is the systemd journal (which stamps every line itself).
#![deny(unsafe_code)]

use std::io::IsTerminal;

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    if stderr_is_the_journal() {
        log.without_time().init();
    } else {
        log.init();
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(umlnet_linux::switchd::main_with_args(&argv));
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM=<device>:<inode>` to the
/// stream it connected stdout/stderr to (systemd.exec(5)); a program whose stderr was
/// redirected elsewhere since must not take it for the journal.
fn stderr_is_the_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(st) = nix::sys::stat::fstat(std::io::stderr()) else {
        return false;
    };
    stream.to_str() == Some(&format!("{}:{}", st.st_dev, st.st_ino))
}
