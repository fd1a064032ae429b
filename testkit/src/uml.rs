//! Real User-Mode Linux guests booted by a test.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::tempdir::TempDir;

/// A real User-Mode Linux guest: the Debian `linux.uml` kernel booted on the host's
/// own root (hostfs), running a shell script as init.
pub struct UmlGuest {
    child: Child,
    /// Where the guest's init script writes its result lines.
    pub out: PathBuf,
    log: PathBuf,
}

/// What a guest's init script gets to work with.
pub struct UmlBoot<'a> {
    /// The network namespace the kernel runs in.
    pub netns: &'a Netns,
    /// Directory for the script, the log and the result file.
    pub dir: &'a Path,
    /// A unique name (used as umid and file prefix).
    pub name: &'a str,
    /// Kernel network arguments, e.g. `["eth0=daemon,,unix,/tmp/x/ctl"]`.
    pub eth: &'a [String],
    /// Shell commands run by init; write results with `say "..."`. Scratch files go in
    /// `$T`, a directory of this guest's own: the guest's root is the host's (hostfs), so
    /// `/tmp` is shared with the host and every other guest, and `$$` is the same small
    /// pid in each guest.
    pub script: &'a str,
    /// Extra PATH entries put in front for the kernel's helper lookups (our `uml_net`).
    pub path_prefix: Option<&'a Path>,
}

impl UmlGuest {
    /// Boots a guest in `ns` with its files in `dir` and no PATH prefix (see [`UmlGuest::boot`]).
    pub fn boot_in(
        ns: &Netns,
        dir: &TempDir,
        name: &str,
        eth: &[String],
        script: &str,
    ) -> UmlGuest {
        UmlGuest::boot(UmlBoot {
            netns: ns,
            dir: dir.path(),
            name,
            eth,
            script,
            path_prefix: None,
        })
    }

    /// Boots a guest. Its init mounts /proc and /sys, runs the script (in which `say`
    /// appends a line to the result file), then powers the guest off.
    pub fn boot(b: UmlBoot<'_>) -> UmlGuest {
        let script_path = b.dir.join(format!("{}.init.sh", b.name));
        let out = b.dir.join(format!("{}.out", b.name));
        let log = b.dir.join(format!("{}.console.log", b.name));
        let _ = std::fs::remove_file(&out);
        let init = format!(
            "#!/bin/sh\n\
             export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
             mount -t proc proc /proc 2>/dev/null\n\
             mount -t sysfs sys /sys 2>/dev/null\n\
             say() {{ echo \"$*\" >> '{out}'; }}\n\
             T='{scratch}'; mkdir -p \"$T\"\n\
             ip link set lo up\n\
             {script}\n\
             say DONE\n\
             sync\n\
             echo o > /proc/sysrq-trigger\n\
             sleep 30\n",
            out = out.display(),
            scratch = b.dir.join(format!("{}.scratch", b.name)).display(),
            script = b.script
        );
        std::fs::write(&script_path, init).expect("write init script");
        std::fs::set_permissions(&script_path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let launch = uml_launch();
        let mut cmd = b.netns.command("linux.uml");
        launch.apply_env(&mut cmd);
        cmd.args(launch.args.iter());
        cmd.args([
            "mem=96M",
            "root=/dev/root",
            "rootfstype=hostfs",
            "rootflags=/",
            "rw",
            "quiet",
            &format!("umid={}", b.name),
            &format!("uml_dir={}/", b.dir.display()),
            &format!("init={}", script_path.display()),
            "con=null",
            "con0=fd:0,fd:1",
        ]);
        cmd.args(b.eth);
        if let Some(p) = b.path_prefix {
            let old = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{old}", p.display()));
        }
        let f = std::fs::File::create(&log).expect("create console log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("spawn linux.uml");
        UmlGuest { child, out, log }
    }

    /// The lines the script has said so far.
    pub fn said(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Waits until the script has said a line starting with `prefix`; returns it.
    /// Panics (with the console log) after `timeout` or if the guest exits first.
    pub fn wait_said(&mut self, prefix: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            if let Some(l) = self.said().into_iter().find(|l| l.starts_with(prefix)) {
                return l;
            }
            let exited = self.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() >= end {
                // The file may have been written just before exit.
                if let Some(l) = self.said().into_iter().find(|l| l.starts_with(prefix)) {
                    return l;
                }
                panic!(
                    "guest never said {prefix:?} ({}); said: {:?}\nconsole:\n{}",
                    if exited { "it exited" } else { "timed out" },
                    self.said(),
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the guest to finish (its script said DONE and it powered off).
    pub fn finish(&mut self, timeout: Duration) -> Vec<String> {
        self.wait_said("DONE", timeout);
        let end = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.said()
    }

    /// The kernel console output so far.
    pub fn console(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The console lines containing `needle`.
    pub fn console_lines(&self, needle: &str) -> Vec<String> {
        std::fs::File::open(&self.log)
            .map(|f| {
                BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .filter(|l| l.contains(needle))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for UmlGuest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a UML kernel needs to boot on this host (the XSAVE shim where the CPU's FPU state
/// is larger than UML 6.1 keeps; see `docs/running-uml.md`), worked out once.
pub fn uml_launch() -> &'static umlnet_xstate::launch::KernelLaunch {
    static LAUNCH: std::sync::OnceLock<umlnet_xstate::launch::KernelLaunch> =
        std::sync::OnceLock::new();
    LAUNCH.get_or_init(|| {
        umlnet_xstate::launch::KernelLaunch::for_host(None)
            .unwrap_or_else(|e| panic!("starting UML kernels on this host: {e}"))
    })
}
