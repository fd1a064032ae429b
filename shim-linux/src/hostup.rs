//! `umlnet up`, `down` and `plan`: apply a [`HostConfig`](crate::config::HostConfig) to
//! this host, undo it, or print it.
//!
//! * [`up`] walks the planned [`Step`]s. A step already in effect
//!   ([`HostState`](crate::hoststate::HostState)) is left alone; the others are applied
//!   through the [`Applier`] (netlink, ioctls, `/proc/sys`; never a shell), switches are
//!   started as children in a session of their own. On a failure, everything this run
//!   applied is undone (last first) and the failing step is named. Every change is
//!   written ahead to a journal in the state directory ([`hostjournal`](crate::hostjournal)):
//!   `intend <step>` (appended and fsynced) before the change, `made <step>` after, so
//!   that
//! * [`down`] removes exactly what `up` made (and nothing that was there before it), even
//!   after an `up` that was killed half way: a step recorded only as intended is undone
//!   when the host shows it in effect (a TAP with the owner and group asked for, a route
//!   with the exact attributes; `up` records an intent only for a step it found absent),
//!   and left alone otherwise.
//!
//! Switches with a `user` are started as that user (uid, primary gid, and that gid as
//! the only supplementary group, set between fork and exec).
//! * [`plan`] prints the steps as commands, with those already in effect commented out.

use std::fmt::Write as _;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{HostConfig, Step, SwitchConfig, host_routes};
use crate::hostapply::{Applier, Tolerance};
use crate::hostjournal::{Journal, Mark};
use crate::hoststate::{HostState, State};

/// What went wrong in `up` or `down`.
#[derive(Debug)]
pub struct Failure {
    /// The transcript up to and including the rollback.
    pub transcript: String,
    /// What failed, in a sentence.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Failure {}

/// What `up` or `down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One line per step: `* <command>` applied, `= <command>` already so.
    pub transcript: String,
    /// Steps applied.
    pub changed: usize,
    /// Steps found already in effect (or, for `down`, already gone).
    pub unchanged: usize,
}

/// The file in `state_dir` recording what `up` made for the config file `config`.
pub fn made_file(cfg: &HostConfig, config: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let name: String = abs
        .to_string_lossy()
        .trim_start_matches('/')
        .chars()
        .map(|c| if c == '/' { '_' } else { c })
        .collect();
    cfg.state_dir.join(format!("{name}.made"))
}

fn sanitized(p: &Path) -> String {
    p.to_string_lossy()
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn pid_file(cfg: &HostConfig, s: &SwitchConfig) -> PathBuf {
    cfg.state_dir
        .join(format!("switch-{}.pid", sanitized(&s.socket)))
}

fn log_file(cfg: &HostConfig, s: &SwitchConfig) -> PathBuf {
    cfg.state_dir
        .join(format!("switch-{}.log", sanitized(&s.socket)))
}

/// The pid of the running switch for `s`, if its pid file names a live process whose
/// command line holds the socket path.
fn running_switch(cfg: &HostConfig, s: &SwitchConfig) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file(cfg, s))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let want = s.socket.as_os_str().as_encoded_bytes();
    cmdline.split(|&b| b == 0).any(|a| a == want).then_some(pid)
}

/// The program to run for a switch: the configured one, else `uml_switch` beside this
/// executable, else `uml_switch` on `PATH`.
fn switch_program(s: &SwitchConfig) -> PathBuf {
    if let Some(p) = &s.program {
        return p.clone();
    }
    if let Ok(me) = std::env::current_exe()
        && let Some(dir) = me.parent()
    {
        let sibling = dir.join("uml_switch");
        if sibling.is_file() {
            return sibling;
        }
    }
    PathBuf::from("uml_switch")
}

fn start_switch(cfg: &HostConfig, s: &SwitchConfig) -> io::Result<i32> {
    std::fs::create_dir_all(&cfg.state_dir)?;
    let log_path = log_file(cfg, s);
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = Command::new(switch_program(s));
    cmd.args(s.args())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    // The child writes its pid before it becomes the switch, so that `down` after a
    // crash of ours at any moment from here on finds the switch.
    crate::sys::process::write_pid_before_exec(&mut cmd, std::fs::File::create(pid_file(cfg, s))?);
    if let Some(r) = s.run_as {
        crate::sys::process::run_as(&mut cmd, r.uid, r.gid);
    }
    let spawned = cmd.spawn();
    drop(cmd);
    let mut child = spawned.map_err(|e| {
        let _ = std::fs::remove_file(pid_file(cfg, s));
        let mut why = format!("{}: {e}", switch_program(s).display());
        if s.run_as.is_some() {
            why.push_str(" (starting it as the configured user)");
        }
        io::Error::new(e.kind(), why)
    })?;
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let _ = std::fs::remove_file(pid_file(cfg, s));
            return Err(io::Error::other(format!(
                "the switch exited ({status}): {}",
                text.trim()
            )));
        }
        if std::os::unix::net::UnixStream::connect(&s.socket).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(pid_file(cfg, s));
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the switch did not open {}", s.socket.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The switch outlives us: it is not waited for here.
    std::mem::forget(child);
    Ok(pid)
}

fn stop_switch(cfg: &HostConfig, s: &SwitchConfig) -> io::Result<bool> {
    let Some(pid) = running_switch(cfg, s) else {
        let _ = std::fs::remove_file(pid_file(cfg, s));
        return Ok(false);
    };
    let pid = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{pid}")).exists() {
        // Reap it if it is our child (a rollback in the same run).
        let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(pid_file(cfg, s));
    let _ = std::fs::remove_file(log_file(cfg, s));
    Ok(true)
}

fn step_state(hs: &mut Option<HostState>, cfg: &HostConfig, step: &Step) -> io::Result<State> {
    match step {
        Step::Host(a) => {
            if hs.is_none() {
                *hs = Some(HostState::open()?);
            }
            hs.as_mut().expect("just opened").state(a)
        }
        Step::Switch(s) => Ok(if running_switch(cfg, s).is_some() {
            State::InEffect
        } else {
            State::Absent
        }),
    }
}

fn undo_steps(cfg: &HostConfig, done: &[Step], out: &mut String) {
    let mut applier = Applier::new(false, Tolerance::Idempotent);
    for step in done.iter().rev() {
        match step {
            Step::Host(a) => {
                if let Some(inv) = a.undo() {
                    let _ = applier.apply_one(&inv);
                }
            }
            Step::Switch(s) => {
                out.push_str(&applier.take_transcript());
                let _ = writeln!(
                    out,
                    "* kill {}   (the switch on {})",
                    read_pid(cfg, s),
                    s.socket.display()
                );
                let _ = stop_switch(cfg, s);
            }
        }
    }
    out.push_str(&applier.take_transcript());
}

fn read_pid(cfg: &HostConfig, s: &SwitchConfig) -> String {
    running_switch(cfg, s).map_or_else(|| "?".into(), |p| p.to_string())
}

fn planned(cfg: &HostConfig) -> Result<Vec<Step>, Failure> {
    let routes = host_routes().map_err(|e| Failure {
        transcript: String::new(),
        reason: format!("reading /proc/net/route: {e}"),
    })?;
    cfg.plan(&routes).map_err(|e| Failure {
        transcript: String::new(),
        reason: e.to_string(),
    })
}

/// `umlnet up`: applies `cfg` (read from `config`), idempotently. On a failure, what
/// this run applied is undone and the failing step named.
pub fn up(cfg: &HostConfig, config: &Path) -> Result<Report, Failure> {
    up_interrupted_at(cfg, config, None)
}

/// [`up`], killed (`abort(3)`, as by `SIGKILL` at that moment) at its `abort_at`-th
/// point when given: point 2k-1 is just after step k's intent was recorded (before the
/// change), point 2k just after the change (before it is recorded as made). The test
/// hook behind `UMLNET_TEST_ABORT_AT_POINT`, which only debug builds of `umlnet` read
/// (and umlnet is not setuid: a caller can only interrupt its own run).
pub fn up_interrupted_at(
    cfg: &HostConfig,
    config: &Path,
    abort_at: Option<usize>,
) -> Result<Report, Failure> {
    let steps = planned(cfg)?;
    let journal = Journal::new(made_file(cfg, config));
    let mut points = 0usize;
    let mut point = || {
        points += 1;
        if abort_at == Some(points) {
            std::process::abort();
        }
    };
    let mut out = String::new();
    let mut hs = None;
    let mut applier = Applier::new(false, Tolerance::Strict);
    let mut done: Vec<Step> = Vec::new();
    let mut unchanged = 0;
    for (i, step) in steps.iter().enumerate() {
        let failed = |reason: String, mut out: String, done: &[Step], intended: bool| {
            let _ = writeln!(
                out,
                "umlnet up: step {} of {} failed: {reason}",
                i + 1,
                steps.len()
            );
            if !done.is_empty() {
                let _ = writeln!(
                    out,
                    "umlnet up: undoing the {} steps this run made:",
                    done.len()
                );
                undo_steps(cfg, done, &mut out);
            }
            let mut undone: Vec<String> = done.iter().map(Step::to_string).collect();
            if intended {
                undone.push(step.to_string());
            }
            if let Err(e) = journal.settle(&undone) {
                let _ = writeln!(
                    out,
                    "umlnet up: cannot record the rollback in {}: {e}",
                    journal.path().display()
                );
            }
            Failure {
                transcript: out,
                reason: format!("step {} ('{step}') failed: {reason}", i + 1),
            }
        };
        match step_state(&mut hs, cfg, step) {
            Ok(State::InEffect) => {
                let _ = writeln!(out, "= {step}   (already in effect)");
                unchanged += 1;
                continue;
            }
            Ok(State::Conflict(why)) => {
                let _ = writeln!(out, "* {step}");
                return Err(failed(why, out, &done, false));
            }
            Ok(State::Absent) => {}
            Err(e) => {
                return Err(failed(
                    format!("reading the host's state: {e}"),
                    out,
                    &done,
                    false,
                ));
            }
        }
        let line = step.to_string();
        if let Err(e) = journal.record(Mark::Intend, &line) {
            let why = format!("recording it in {} first: {e}", journal.path().display());
            return Err(failed(why, out, &done, false));
        }
        point();
        match step {
            Step::Host(a) => {
                let r = applier.apply_one(a);
                out.push_str(&applier.take_transcript());
                if let Err(e) = r {
                    let mut why = e.error.to_string();
                    if e.error.kind() == io::ErrorKind::PermissionDenied {
                        why.push_str(" (umlnet up changes the host's network: run it as root)");
                    }
                    return Err(failed(why, out, &done, true));
                }
            }
            Step::Switch(s) => {
                let _ = writeln!(out, "* {step}");
                match start_switch(cfg, s) {
                    Ok(pid) => {
                        let _ = writeln!(out, "  (pid {pid}, log {})", log_file(cfg, s).display());
                    }
                    Err(e) => return Err(failed(e.to_string(), out, &done, true)),
                }
            }
        }
        point();
        done.push(step.clone());
        if let Err(e) = journal.record(Mark::Made, &line) {
            let why = format!(
                "recording what was made in {}: {e}",
                journal.path().display()
            );
            return Err(failed(why, out, &done, false));
        }
    }
    Ok(Report {
        transcript: out,
        changed: done.len(),
        unchanged,
    })
}

/// `umlnet down`: undoes what `up` recorded for `config` (last first). Steps `up` found
/// already in effect were not made by it and stay; a step an interrupted `up` recorded
/// only as intended is undone if the host shows it in effect, else there is nothing to
/// undo.
pub fn down(cfg: &HostConfig, config: &Path) -> Result<Report, Failure> {
    let journal = Journal::new(made_file(cfg, config));
    let marks = match journal.read() {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Ok(Report {
                transcript: format!(
                    "umlnet down: {} records nothing made by umlnet up for {}\n",
                    journal.path().display(),
                    config.display()
                ),
                changed: 0,
                unchanged: 0,
            });
        }
        Err(e) => {
            return Err(Failure {
                transcript: String::new(),
                reason: format!("reading {}: {e}", journal.path().display()),
            });
        }
    };
    let steps = planned(cfg)?;
    let mut out = String::new();
    let mut hs = None;
    let mut ours = Vec::new();
    for step in &steps {
        match marks.get(&step.to_string()) {
            Some(Mark::Made) => ours.push(step.clone()),
            Some(Mark::Intend) => match step_state(&mut hs, cfg, step) {
                Ok(State::InEffect) => {
                    let _ = writeln!(
                        out,
                        "umlnet down: '{step}' was being made when umlnet up stopped and is in effect: undone"
                    );
                    ours.push(step.clone());
                }
                Ok(_) => {
                    let _ = writeln!(
                        out,
                        "umlnet down: '{step}' was about to be made when umlnet up stopped and is not in effect: nothing to undo"
                    );
                }
                Err(e) => {
                    return Err(Failure {
                        transcript: out,
                        reason: format!("reading the host's state for '{step}': {e}"),
                    });
                }
            },
            _ => {}
        }
    }
    for (m, mark) in &marks {
        if *mark == Mark::Made && !steps.iter().any(|s| &s.to_string() == m) {
            let _ = writeln!(
                out,
                "umlnet down: '{m}' was made by umlnet up but is no longer in {}: left alone",
                config.display()
            );
        }
    }
    undo_steps(cfg, &ours, &mut out);
    journal.remove().map_err(|e| Failure {
        transcript: out.clone(),
        reason: format!("removing {}: {e}", journal.path().display()),
    })?;
    Ok(Report {
        transcript: out,
        changed: ours.len(),
        unchanged: 0,
    })
}

/// `umlnet plan`: the steps as commands, one a line; those already in effect are
/// commented out (when the host's state can be read).
pub fn plan(cfg: &HostConfig) -> Result<String, Failure> {
    let steps = planned(cfg)?;
    let mut hs = None;
    let mut out = String::new();
    for step in &steps {
        match step_state(&mut hs, cfg, step) {
            Ok(State::InEffect) => {
                let _ = writeln!(out, "# already in effect: {step}");
            }
            Ok(State::Conflict(why)) => {
                let _ = writeln!(out, "{step}   # will fail: {why}");
            }
            _ => {
                let _ = writeln!(out, "{step}");
            }
        }
    }
    Ok(out)
}
