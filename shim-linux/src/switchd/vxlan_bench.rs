//! The VXLAN rows of `uml_switch_bench`: frames per second from a port of one switch
//! to a port of another switch joined to it over VXLAN, through our two `uml_switch`es
//! and through the Linux kernel's own bridge + `vxlan` devices.
//!
//! Paths, each built fresh in network namespaces of its own (`ip netns add`, removed
//! afterwards; no traffic leaves them):
//! * **ours, loopback**: two of our switches in one namespace, `-vxlan
//!   42,127.0.0.1,127.0.0.2` and `-vxlan 42,127.0.0.2,127.0.0.1`.
//! * **ours, veth**: one switch per namespace, joined by a veth pair (MTU 9000).
//! * **kernel, veth**: the same two namespaces and veth, each with a bridge holding a
//!   TAP device and a `vxlan` device (`id 42 dstport 4789`, MTU 1500). Two kernel
//!   vxlan devices cannot share VNI and port in one namespace, so there is no kernel
//!   loopback row.
//!
//! The generator sends unicast frames (after both ends announced their MAC, so both
//! sides have learned them) from a port of the first switch to a port of the second:
//! for our switches through daemon-protocol clients (blocking `sendmmsg` of 32, as the
//! main rows do), for the kernel by writing to the first TAP device and reading the
//! second, once open loop (as fast as the path takes frames) and once in a closed
//! loop of at most [`WINDOW`] frames in flight (the generator's sender and receiver
//! share a CPU, and unpaced the sender may starve the receiver); the better run is
//! the row's result. Fairness: our two switches share the switch CPU while the generator has
//! the other; the kernel does its forwarding (TAP write, bridge, encapsulation, veth,
//! decapsulation, bridge, TAP queue) in the writer's own system call and softirq, so
//! it too has one CPU doing the forwarding. Frames/s counts frames that arrived at
//! the receiving port, over the sending time.

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{Client, uml_like_addr};
use crate::sys::epoll::Poller;
use crate::sys::process::enter_netns;
use crate::sys::socket::{RecvBatch, SendBatch};
use crate::sys::tun::Tap;

/// A network namespace made for one path, deleted (with its processes) on drop.
struct Ns(String);

impl Ns {
    fn new(tag: &str) -> io::Result<Ns> {
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

    fn sh(&self, script: &str) -> io::Result<()> {
        run(Command::new("ip").args(["netns", "exec", &self.0, "sh", "-c", script]))
    }

    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).arg(program);
        c
    }

    /// Runs `f` on a thread inside the namespace (sockets made there stay in it).
    fn within<T: Send + 'static>(
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
struct OurSwitch(Child);

impl OurSwitch {
    fn start(ns: &Ns, prog: &Path, cpu: usize, ctl: &Path, uplink: &str) -> io::Result<Self> {
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

/// A port the generator sends into or receives from.
enum Port {
    Client(Client),
    Tap(Tap),
}

impl Port {
    fn fd(&self) -> i32 {
        match self {
            Port::Client(c) => c.data().as_raw_fd(),
            Port::Tap(t) => t.as_raw_fd(),
        }
    }

    fn send_one(&self, f: &[u8]) -> io::Result<Option<usize>> {
        match self {
            Port::Client(c) => c.send(f),
            Port::Tap(t) => t.send(f),
        }
    }

    fn drain(&self) {
        let mut buf = [0u8; 2048];
        match self {
            Port::Client(c) => while let Ok(Some(_)) = c.try_recv(&mut buf) {},
            Port::Tap(t) => while let Ok(Some(_)) = t.recv(&mut buf) {},
        }
    }
}

fn frame(dst: [u8; 6], src: [u8; 6], len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(14)];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f
}

/// Frames in flight at most (sent, not yet arrived) in a closed-loop run.
pub const WINDOW: u64 = 256;

const SRC: [u8; 6] = [0x02, 0xbe, 0x0a, 0, 0, 1];
const DST: [u8; 6] = [0x02, 0xbe, 0x0b, 0, 0, 1];

/// What one VXLAN row measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct VxlanResult {
    /// Frames handed to the first switch.
    pub sent: u64,
    /// Frames that arrived at the port of the second.
    pub delivered: u64,
    /// Sending time in seconds.
    pub secs: f64,
}

impl VxlanResult {
    /// Delivered frames per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.delivered as f64 / self.secs
        } else {
            0.0
        }
    }

    /// Fraction of sent frames that did not arrive.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            1.0 - (self.delivered as f64 / self.sent as f64).min(1.0)
        }
    }
}

fn measure(
    tx: Port,
    rx: Port,
    len: usize,
    secs: f64,
    window: Option<u64>,
) -> io::Result<VxlanResult> {
    // Both ends announce themselves, so every switch on the way learns them.
    for _ in 0..3 {
        let _ = rx.send_one(&frame([0xff; 6], DST, 60));
        let _ = tx.send_one(&frame([0xff; 6], SRC, 60));
        std::thread::sleep(Duration::from_millis(100));
    }
    rx.drain();
    tx.drain();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_rx = stop.clone();
    let arrived = Arc::new(AtomicU64::new(0));
    let arrived_rx = arrived.clone();
    let receiver = std::thread::spawn(move || -> io::Result<u64> {
        let mut poller = Poller::new(4)?;
        poller.add(rx.fd(), 0)?;
        let mut batch = RecvBatch::new(64, 2048);
        let mut buf = [0u8; 2048];
        let mut count = 0u64;
        let mut idle_since: Option<Instant> = None;
        loop {
            let ready = poller.wait(Some(Duration::from_millis(10)))?.count();
            if ready == 0 {
                if stop_rx.load(Ordering::Relaxed) {
                    let t = *idle_since.get_or_insert_with(Instant::now);
                    if t.elapsed() > Duration::from_millis(200) {
                        break;
                    }
                }
                continue;
            }
            idle_since = None;
            match &rx {
                Port::Client(c) => loop {
                    let n = c.data().recv_batch(&mut batch)?;
                    for i in 0..n {
                        if batch
                            .get(i)
                            .is_some_and(|r| r.data.get(12..14) == Some(&[0x88, 0xb5]))
                        {
                            count += 1;
                        }
                    }
                    if n < batch.capacity() {
                        break;
                    }
                },
                Port::Tap(t) => {
                    while let Some(n) = t.recv(&mut buf)? {
                        if buf[..n].get(12..14) == Some(&[0x88, 0xb5]) {
                            count += 1;
                        }
                    }
                }
            }
            arrived_rx.store(count, Ordering::Relaxed);
        }
        Ok(count)
    });
    let f = frame(DST, SRC, len);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    // Closed loop: at most WINDOW frames in flight. Without it the sender, sharing its
    // CPU with the receiver, starves the receiver and the row measures that instead.
    let mut written_off = 0u64;
    let mut last_progress = (0u64, Instant::now());
    let mut wait_window = |sent: u64| {
        loop {
            let got = arrived.load(Ordering::Relaxed);
            if got != last_progress.0 {
                last_progress = (got, Instant::now());
            }
            let limit = window.unwrap_or(u64::MAX);
            if sent.saturating_sub(got + written_off) <= limit || Instant::now() >= deadline {
                return;
            }
            if last_progress.1.elapsed() > Duration::from_millis(20) {
                // Nothing arrives any more: what is in flight was lost.
                written_off = sent - got;
                return;
            }
            std::thread::yield_now();
        }
    };
    match &tx {
        Port::Client(c) => {
            c.data().set_nonblocking(false)?;
            c.data().set_send_timeout(Duration::from_millis(50))?;
            let to = *c.switch_addr().as_bytes();
            let msgs: Vec<(&[u8], &[u8; 110])> = (0..32).map(|_| (&f[..], &to)).collect();
            let mut scratch = SendBatch::new();
            while Instant::now() < deadline {
                wait_window(sent);
                match c.data().send_batch(&mut scratch, &msgs) {
                    Ok(n) => sent += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Port::Tap(t) => {
            while Instant::now() < deadline {
                wait_window(sent);
                for _ in 0..32 {
                    if t.send(&f)?.is_some() {
                        sent += 1;
                    }
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let delivered = receiver
        .join()
        .map_err(|_| io::Error::other("receiver panicked"))??;
    drop(tx);
    Ok(VxlanResult {
        sent,
        delivered,
        secs,
    })
}

fn attach_in(ns: &Ns, ctl: &Path, tag: u32) -> io::Result<Port> {
    let ctl = ctl.to_path_buf();
    ns.within(move || {
        let c = Client::attach(
            &ctl,
            uml_like_addr(std::process::id(), tag, 7 + u64::from(tag)),
        )?;
        let _ = c.data().set_recv_buffer(1 << 20);
        Ok(Port::Client(c))
    })
}

fn two_hosts(tag: &str) -> io::Result<(Ns, Ns)> {
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

/// Which path a row runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path3 {
    /// Two of our switches in one namespace over loopback.
    OursLoopback,
    /// One of our switches per namespace, over a veth pair.
    OursVeth,
    /// The kernel's bridge + vxlan in each namespace, over a veth pair.
    KernelVeth,
}

impl Path3 {
    /// All paths, in column order.
    pub const ALL: [Path3; 3] = [Path3::OursLoopback, Path3::OursVeth, Path3::KernelVeth];

    /// Column label.
    pub fn label(self) -> &'static str {
        match self {
            Path3::OursLoopback => "ours, loopback",
            Path3::OursVeth => "ours, veth",
            Path3::KernelVeth => "kernel vxlan+bridge, veth",
        }
    }
}

/// Runs one row: `len`-byte unicast frames for `secs` seconds through `path`; our
/// switches (`ours`) pinned to `cpu`, the generator wherever it is pinned; with
/// `window`, at most that many frames in flight.
pub fn run_path(
    path: Path3,
    ours: &Path,
    dir: &Path,
    cpu: usize,
    len: usize,
    secs: f64,
    window: Option<u64>,
) -> io::Result<VxlanResult> {
    match path {
        Path3::OursLoopback => {
            let ns = Ns::new("lo")?;
            let (c1, c2) = (dir.join("vxl1.ctl"), dir.join("vxl2.ctl"));
            let _s1 = OurSwitch::start(&ns, ours, cpu, &c1, "42,127.0.0.1,127.0.0.2")?;
            let _s2 = OurSwitch::start(&ns, ours, cpu, &c2, "42,127.0.0.2,127.0.0.1")?;
            let tx = attach_in(&ns, &c1, 1)?;
            let rx = attach_in(&ns, &c2, 2)?;
            measure(tx, rx, len, secs, window)
        }
        Path3::OursVeth => {
            let (a, b) = two_hosts("o")?;
            let (c1, c2) = (dir.join("vxv1.ctl"), dir.join("vxv2.ctl"));
            let _s1 = OurSwitch::start(&a, ours, cpu, &c1, "42,10.211.0.1,10.211.0.2")?;
            let _s2 = OurSwitch::start(&b, ours, cpu, &c2, "42,10.211.0.2,10.211.0.1")?;
            let tx = attach_in(&a, &c1, 1)?;
            let rx = attach_in(&b, &c2, 2)?;
            measure(tx, rx, len, secs, window)
        }
        Path3::KernelVeth => {
            let (a, b) = two_hosts("k")?;
            let mut taps = Vec::new();
            for (ns, me, peer, dev) in [
                (&a, "10.211.0.1", "10.211.0.2", "vxb0"),
                (&b, "10.211.0.2", "10.211.0.1", "vxb1"),
            ] {
                let tap = ns.within(|| Tap::open("vxtap0"))?;
                ns.sh(&format!(
                    "ip link add br0 type bridge forward_delay 0 && \
                     ip link add vx0 mtu 1500 type vxlan id 42 local {me} remote {peer} dstport 4789 dev {dev} && \
                     ip link set vx0 master br0 && ip link set vxtap0 master br0 && \
                     ip link set vx0 up && ip link set vxtap0 up && ip link set br0 up"
                ))?;
                taps.push(tap);
            }
            let rx = Port::Tap(taps.pop().expect("two taps"));
            let tx = Port::Tap(taps.pop().expect("two taps"));
            let r = measure(tx, rx, len, secs, window);
            drop((a, b));
            r
        }
    }
}

/// Frame sizes of the VXLAN rows.
pub const VXLAN_FRAME_LENS: [usize; 2] = [60, 1514];

/// Runs every VXLAN row and returns them as a Markdown table.
pub fn run_all(
    ours: &Path,
    dir: &Path,
    cpu: usize,
    secs: f64,
    mut progress: impl FnMut(&str),
) -> String {
    let mut s = String::from("| VXLAN row (1->1 unicast, 2 switches) |");
    for p in Path3::ALL {
        s.push_str(&format!(" {} frames/s (loss) |", p.label()));
    }
    s.push_str(" ours (veth) ÷ kernel |\n|---|");
    for _ in Path3::ALL {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for len in VXLAN_FRAME_LENS {
        s.push_str(&format!("| vxlan {len}B |"));
        let mut rates = Vec::new();
        for p in Path3::ALL {
            // Open loop and closed loop ([`WINDOW`]); the better of the two counts.
            let best = run_path(p, ours, dir, cpu, len, secs, None).and_then(|open| {
                let closed = run_path(p, ours, dir, cpu, len, secs, Some(WINDOW))?;
                Ok(if closed.rate() > open.rate() {
                    closed
                } else {
                    open
                })
            });
            match best {
                Ok(r) => {
                    progress(&format!(
                        "vxlan {len:>4}B {:<26} {:>10.0} frames/s  loss {:>6.2}%",
                        p.label(),
                        r.rate(),
                        r.loss() * 100.0
                    ));
                    s.push_str(&format!(" {:.0} ({:.2}%) |", r.rate(), r.loss() * 100.0));
                    rates.push(Some(r.rate()));
                }
                Err(e) => {
                    progress(&format!("vxlan {len:>4}B {:<26} failed: {e}", p.label()));
                    s.push_str(" failed |");
                    rates.push(None);
                }
            }
        }
        match (rates[1], rates[2]) {
            (Some(o), Some(k)) if k > 0.0 => s.push_str(&format!(" {:.2}× |\n", o / k)),
            _ => s.push_str(" – |\n"),
        }
    }
    s
}

/// Where the sockets of a run go.
pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("uml_switch_vxbench-{}", std::process::id()))
}
