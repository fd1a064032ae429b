//! Shared harness for umlnet's integration tests.
//!
//! Real-host tests need root and the real peers (the UML kernel, uml-utilities, vde2).
//! Where those are missing they skip with one clear line, except under `CI=true`,
//! where a missing requirement fails the test. Every real-host test runs its
//! programs inside a network namespace of its own ([`Netns`]), so no traffic
//! reaches the machine's real interfaces.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when running under CI (`CI=true`), where real-host tests must not skip.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Checks that the test can run on the real host: root, and each named program on
/// PATH. Returns `false` (after printing one line) when the test should skip;
/// panics under CI, where skipping is not allowed.
#[must_use]
pub fn require_real_host(test: &str, programs: &[&str]) -> bool {
    let mut missing = Vec::new();
    if !nix_is_root() {
        missing.push("root".to_string());
    }
    for p in programs {
        if which(p).is_none() {
            missing.push((*p).to_string());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let line = format!(
        "SKIP {test}: needs {} (apt-get install user-mode-linux uml-utilities vde2 iproute2 iputils-ping tcpdump, and run as root)",
        missing.join(", ")
    );
    if under_ci() {
        panic!("{line} — but CI=true, so real-host tests must run");
    }
    eprintln!("{line}");
    false
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
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

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory holding the workspace's binaries (`uml_switch`, `uml_net`, `tunctl`,
/// `umlnet`), built once per test process with the same profile as the tests.
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

/// What a UML kernel needs to boot on this host (the XSAVE shim where the CPU's FPU state
/// is larger than UML 6.1 keeps; see `docs/running-uml.md`), worked out once.
pub fn uml_launch() -> &'static umlnet_linux::umlkernel::KernelLaunch {
    static LAUNCH: OnceLock<umlnet_linux::umlkernel::KernelLaunch> = OnceLock::new();
    LAUNCH.get_or_init(|| {
        umlnet_linux::umlkernel::KernelLaunch::for_host(None)
            .unwrap_or_else(|e| panic!("starting UML kernels on this host: {e}"))
    })
}

/// The path of one of the workspace's binaries, built if needed.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(p.exists(), "binary {} was not built", p.display());
    p
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `/tmp/umlnet-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "umlnet-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(p)
    }
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("UMLNET_KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A network namespace created for one test, deleted (with every process still in it
/// killed) on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace with only `lo`, up and multicast-capable, with a multicast
    /// route on it, so that mcast tests stay inside.
    pub fn new(tag: &str) -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "umlnet-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.sh("ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo");
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Runs a shell command line inside the namespace; panics with its output if it fails.
    pub fn sh(&self, script: &str) -> String {
        let out = run_ok(self.command("sh").args(["-c", script]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a shell command line inside the namespace and returns its output, whatever
    /// its exit status.
    pub fn sh_output(&self, script: &str) -> Output {
        self.command("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("run sh in netns")
    }

    /// Creates a veth pair between this namespace and `other`, with the given addresses
    /// (CIDR), both ends up.
    pub fn veth_to(&self, other: &Netns, here: (&str, &str), there: (&str, &str)) {
        run_ok(Command::new("ip").args([
            "link",
            "add",
            here.0,
            "netns",
            &self.name,
            "type",
            "veth",
            "peer",
            "name",
            there.0,
            "netns",
            &other.name,
        ]));
        self.sh(&format!(
            "ip addr add {} dev {} && ip link set {} up",
            here.1, here.0, here.0
        ));
        other.sh(&format!(
            "ip addr add {} dev {} && ip link set {} up",
            there.1, there.0, there.0
        ));
    }

    /// Runs `f` on a thread that has entered the namespace, and returns what it returns.
    /// Sockets made there stay in the namespace (abstract unix names, addresses) and may
    /// be used from any thread afterwards.
    pub fn run_inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let name = self.name.clone();
        std::thread::spawn(move || {
            umlnet_linux::sys::process::enter_netns(&name)
                .expect("enter the test's network namespace");
            f()
        })
        .join()
        .expect("the thread inside the namespace panicked")
    }

    /// The pids of the processes still inside the namespace.
    pub fn pids(&self) -> Vec<i32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .expect("ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for _ in 0..50 {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command and panics (showing its output) unless it exits 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A child process killed (and reaped) on drop.
pub struct Daemon {
    child: Child,
    label: String,
}

impl Daemon {
    /// Spawns `cmd` with stdin from /dev/null and stdout+stderr to `log`.
    pub fn spawn(label: &str, cmd: &mut Command, log: &Path) -> Daemon {
        let f = std::fs::File::create(log).expect("create log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {label}: {e}"));
        Daemon {
            child,
            label: label.to_string(),
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal to the child.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits up to `timeout` for the child to exit; returns its status if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(st);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the child is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// The label given at spawn.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our `uml_switch` running in a test's namespace, with its log.
pub struct OurSwitch {
    /// The switch process.
    pub daemon: Daemon,
    log: PathBuf,
}

impl OurSwitch {
    /// Starts `uml_switch -unix <ctl> <extra...>` in `ns`, logging to `<dir>/<name>.log`,
    /// and waits for its banner (its sockets are ready then).
    pub fn start(ns: &Netns, dir: &TempDir, name: &str, ctl: &Path, extra: &[&str]) -> OurSwitch {
        let log = dir.join(&format!("{name}.log"));
        let mut cmd = ns.command(bin("uml_switch"));
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

/// Waits until `cond` holds, polling every 20 ms; panics with `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
