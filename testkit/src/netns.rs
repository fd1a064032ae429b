//! Network namespaces of one test, so that its traffic never reaches the machine's
//! real interfaces.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::process::run_ok;
use crate::tempdir::TempDir;

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
            enter(&name).expect("enter the test's network namespace");
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
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Moves the calling thread into the named namespace (`/run/netns/<name>`).
fn enter(name: &str) -> std::io::Result<()> {
    let f = std::fs::File::open(format!("/run/netns/{name}"))?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
}

/// The usual start of a real-host case: a temporary directory and a network namespace,
/// both named after `tag`. Bind them in this order (`let (dir, ns) = dir_and_netns(..)`)
/// so that the namespace, with every process still in it, goes before the directory.
pub fn dir_and_netns(tag: &str) -> (TempDir, Netns) {
    (TempDir::new(tag), Netns::new(tag))
}
