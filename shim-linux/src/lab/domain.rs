//! Collision domains: one of our switches per domain, a hub (every frame to every
//! other port, as Netkit's `uml_switch -hub`) unless `LAB_SWITCHED` names it, with its
//! control and console sockets in the lab's run directory.
//!
//! The tap uplink's domain ([`super::conf::TAP_DOMAIN`]) also has the host on it,
//! through a TAP device its switch creates (and that goes when the switch stops).
//!
//! The switch forwards every frame it gets, link-local ones (`01:80:c2:00:00:0x`: STP,
//! LACP, LLDP) included, and sends nothing of its own, so a domain is a dumb wire.
//! It runs as `umlnet lab domain-daemon`, a process of its own that outlives
//! `umlnet lab start`.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::rundir::RunDir;

/// The arguments of our `uml_switch` for domain `d`: a hub (unless `switched`) with a
/// console.
pub fn switch_args(run: &RunDir, d: &str, switched: bool) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = vec![
        "uml_switch".into(),
        "-unix".into(),
        run.domain_ctl(d).into(),
        "-mgmt".into(),
        run.domain_mgmt(d).into(),
    ];
    if !switched {
        v.push("-hub".into());
    }
    if d == super::conf::TAP_DOMAIN {
        // The host's port: a TAP device the switch makes and that goes with it.
        v.push("-tap".into());
        v.push(run.tap_device().into());
    }
    v
}

/// Starts domain `d`'s switch as `exe lab domain-daemon <run dir> <d> [--switched]` in
/// a process group of its own, and waits (up to 5 s) until its control socket accepts.
pub fn start(exe: &Path, run: &RunDir, d: &str, switched: bool) -> io::Result<u32> {
    let log = std::fs::File::create(run.domain_file(d, "log"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("lab").arg("domain-daemon").arg(run.root()).arg(d);
    if switched {
        cmd.arg("--switched");
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    let pid = child.id();
    std::fs::write(run.domain_file(d, "pid"), pid.to_string())?;
    let ctl = run.domain_ctl(d);
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if std::os::unix::net::UnixStream::connect(&ctl).is_ok() {
            // Not waited for: the switch outlives this process.
            drop(child);
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(run.domain_file(d, "log")).unwrap_or_default();
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "the switch of domain {d} did not open {} within 5 s: {}",
            ctl.display(),
            log.trim()
        ),
    ))
}

/// Stops domain `d`'s switch (SIGTERM, which removes its sockets; SIGKILL after 3 s)
/// and removes its files. Returns whether a process was running.
pub fn stop(run: &RunDir, d: &str) -> bool {
    let pid_file = run.domain_file(d, "pid");
    let running = match run.live_pid(&pid_file) {
        Some(pid) => {
            super::machine::terminate(pid, Duration::from_secs(3));
            true
        }
        None => false,
    };
    for f in [
        run.domain_ctl(d),
        run.domain_mgmt(d),
        pid_file,
        run.domain_file(d, "log"),
    ] {
        let _ = std::fs::remove_file(f);
    }
    running
}

/// The body of `umlnet lab domain-daemon <run dir> <domain>`: becomes the switch.
pub fn daemon_main(run_root: &Path, d: &str, switched: bool) -> i32 {
    let run = RunDir::at(run_root.to_path_buf());
    crate::switchd::main_with_args(&switch_args(&run, d, switched))
}

/// Sets domain `d`'s switch to flood (`hub == true`) or to learn and forward, through
/// its console (`hub on|off`). Returns whether it was a hub before.
pub fn set_hub(run: &RunDir, d: &str, hub: bool) -> io::Result<bool> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::os::unix::net::UnixStream::connect(run.domain_mgmt(d))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"hub\n")?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let was = line.contains("hub is on");
    s.write_all(if hub { b"hub on\n" } else { b"hub off\n" })?;
    line.clear();
    r.read_line(&mut line)?;
    Ok(was)
}
