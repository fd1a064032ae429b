//! Our `uml_switch` as a test starts it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::netns::Netns;
use crate::process::{Daemon, wait_for};
use crate::tempdir::TempDir;

/// Our `uml_switch` running in a test's namespace, with its log.
pub struct OurSwitch {
    /// The switch process.
    pub daemon: Daemon,
    log: PathBuf,
}

impl OurSwitch {
    /// Starts `<program> -unix <ctl> <extra...>` in `ns`, where `program` is our
    /// `uml_switch` (`bin!("uml_switch")` in its package's tests), logging to
    /// `<dir>/<name>.log`, and waits for its banner (its sockets are ready then).
    pub fn start(
        program: &Path,
        ns: &Netns,
        dir: &TempDir,
        name: &str,
        ctl: &Path,
        extra: &[&str],
    ) -> OurSwitch {
        let log = dir.join(&format!("{name}.log"));
        let mut cmd = ns.command(program);
        cmd.arg("-unix").arg(ctl).args(extra);
        let daemon = Daemon::spawn(name, &mut cmd, &log);
        let sw = OurSwitch { daemon, log };
        wait_for("the switch banner", Duration::from_secs(10), || {
            sw.log_text().contains("attached to unix socket")
        });
        sw
    }

    /// What the switch has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
