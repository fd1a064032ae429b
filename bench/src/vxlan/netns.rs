//! The namespaces the VXLAN rows run in ([`Ns`], deleted with their processes on drop)
//! and our switch started inside one ([`OurSwitch`]).

use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use umlnet_linux::sys::process::enter_netns;

/// A network namespace made for one path, deleted (with its processes) on drop.
pub(super) struct Ns(String);

impl Ns {
    /// Makes the namespace `umlnet-vxbench-<tag>-<pid>` with `lo` up and IPv6 off.
    pub(super) fn new(tag: &str) -> io::Result<Ns> {
        let name = format!("umlnet-vxbench-{tag}-{}", std::process::id());
        // A namespace left by an earlier run that was killed.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let ns = Ns(name);
        ns.sh(
            "ip link set lo up; sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
             net.ipv6.conf.default.disable_ipv6=1",
        )?;
        Ok(ns)
    }

    /// Runs `script` with `sh -c` inside the namespace.
    pub(super) fn sh(&self, script: &str) -> io::Result<()> {
        run(Command::new("ip").args(["netns", "exec", &self.0, "sh", "-c", script]))
    }

    /// A command that runs `program` inside the namespace.
    pub(super) fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).arg(program);
        c
    }

    /// Runs `f` on a thread inside the namespace (sockets made there stay in it).
    pub(super) fn within<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let name = self.0.clone();
        std::thread::spawn(move || {
            enter_netns(&name)?;
            f()
        })
        .join()
        .map_err(|_| io::Error::other("thread in the namespace panicked"))?
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.0]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Runs `cmd` to the end; its standard error is the error if it fails.
fn run(cmd: &mut Command) -> io::Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Our switch in a namespace, killed on drop.
pub(super) struct OurSwitch(Child);

impl OurSwitch {
    /// Starts our switch at `prog` in `ns`, pinned to `cpu`, with its control socket
    /// at `ctl` and `-vxlan <uplink>`, and waits for the control socket.
    pub(super) fn start(
        ns: &Ns,
        prog: &Path,
        cpu: usize,
        ctl: &Path,
        uplink: &str,
    ) -> io::Result<Self> {
        let _ = std::fs::remove_file(ctl);
        let mut cmd = ns.command(Path::new("taskset"));
        cmd.arg("-c")
            .arg(cpu.to_string())
            .arg(prog)
            .arg("-unix")
            .arg(ctl)
            .args(["-vxlan", uplink]);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let end = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(ctl).is_err() {
            if Instant::now() > end || child.try_wait()?.is_some() {
                let _ = child.kill();
                return Err(io::Error::other(format!(
                    "our switch with -vxlan {uplink} did not come up"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(OurSwitch(child))
    }
}

impl Drop for OurSwitch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two namespaces `<tag>a` and `<tag>b` joined by a veth pair (MTU 9000) with the
/// addresses 10.211.0.1 (`vxb0`) and 10.211.0.2 (`vxb1`).
pub(super) fn two_hosts(tag: &str) -> io::Result<(Ns, Ns)> {
    let a = Ns::new(&format!("{tag}a"))?;
    let b = Ns::new(&format!("{tag}b"))?;
    run(Command::new("ip").args([
        "link", "add", "vxb0", "netns", &a.0, "mtu", "9000", "type", "veth", "peer", "name",
        "vxb1", "netns", &b.0, "mtu", "9000",
    ]))?;
    a.sh("ip addr add 10.211.0.1/24 dev vxb0 && ip link set vxb0 up")?;
    b.sh("ip addr add 10.211.0.2/24 dev vxb1 && ip link set vxb1 up")?;
    Ok((a, b))
}
