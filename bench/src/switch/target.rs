//! The switches under test: which program a column runs ([`Target`]) and a running
//! copy of it, pinned to the switch's CPU and killed on drop ([`Running`]).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Which switch program a row runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Our `uml_switch` at this path.
    Ours(PathBuf),
    /// uml-utilities' `uml_switch` at this path.
    Original(PathBuf),
    /// vde2's `vde_switch` at this path.
    Vde(PathBuf),
}

impl Target {
    /// A short column name.
    pub fn label(&self) -> &'static str {
        match self {
            Target::Ours(_) => "ours",
            Target::Original(_) => "uml_switch",
            Target::Vde(_) => "vde_switch",
        }
    }
}

/// A running switch, killed on drop.
pub struct Running {
    child: Child,
    _stdin: Option<ChildStdin>,
    ctl: PathBuf,
}

impl Running {
    /// Starts `target` with its sockets under `dir`, pinned to `cpu`, and waits for
    /// its control socket.
    pub fn start(target: &Target, dir: &Path, cpu: usize) -> io::Result<Running> {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(cpu.to_string());
        let ctl = match target {
            Target::Ours(p) => {
                let ctl = dir.join("ours.ctl");
                cmd.arg(p).arg("-unix").arg(&ctl);
                ctl
            }
            Target::Original(p) => {
                let ctl = dir.join("orig.ctl");
                cmd.arg(p).arg("-unix").arg(&ctl);
                ctl
            }
            Target::Vde(p) => {
                let d = dir.join("vde");
                cmd.arg(p).arg("-s").arg(&d).arg("-n").arg("1100");
                d.join("ctl")
            }
        };
        let _ = std::fs::remove_file(&ctl);
        // stdin stays an open pipe: vde_switch leaves on EOF of stdin.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        let end = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&ctl).is_err() {
            if Instant::now() > end || child.try_wait()?.is_some() {
                let _ = child.kill();
                return Err(io::Error::other(format!(
                    "{} did not come up at {}",
                    target.label(),
                    ctl.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Running {
            child,
            _stdin: stdin,
            ctl,
        })
    }

    /// The control socket path.
    pub fn ctl(&self) -> &Path {
        &self.ctl
    }

    /// The switch's process id (`taskset` execs it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
