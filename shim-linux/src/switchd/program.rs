//! The `uml_switch` program: `argv` in, exit status out.

use std::io::{self, Write};

use super::daemon::{Exit, SwitchDaemon};
use super::{Invocation, parse_args, usage};

/// The whole `uml_switch` program behind `main`: parses `argv`, sets up, prints the
/// banner, optionally daemonizes, and runs until a signal. Returns the exit status.
pub fn main_with_args(argv: &[std::ffi::OsString]) -> i32 {
    let cfg = match parse_args(argv) {
        Invocation::Run(c) => c,
        Invocation::Help { argv0 } => {
            print!("{}", usage(&argv0));
            return 0;
        }
        Invocation::Usage { argv0, reason } => {
            eprintln!("{argv0}: {reason}");
            eprint!("{}", usage(&argv0));
            return 1;
        }
    };
    if cfg.hub {
        println!("{} will be a hub instead of a switch", cfg.argv0);
    }
    if cfg.data.is_some() {
        println!("Control protocol 0 compatibility");
    }
    let daemon = cfg.daemon;
    // Every port costs descriptors: use all the hard limit allows.
    if let Err(e) = crate::sys::access::raise_nofile_limit() {
        eprintln!(
            "{}: raising RLIMIT_NOFILE to its hard limit: {e}",
            cfg.argv0
        );
    }
    let signals = match super::termination_signals() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut sw = match SwitchDaemon::bind(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    println!("{}", sw.banner());
    let _ = io::stdout().flush();
    if daemon && let Err(e) = crate::sys::process::daemonize(false, true) {
        eprintln!("daemon: {e}");
        return 1;
    }
    match sw.run_with(&signals) {
        Ok(Exit::Signal(sig)) => {
            eprintln!("Caught signal {sig}, cleaning up and exiting");
            0
        }
        Ok(Exit::StdinClosed) => {
            eprintln!("EOF on stdin, cleaning up and exiting");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
