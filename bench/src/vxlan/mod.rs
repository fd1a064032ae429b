//! The VXLAN rows of `umlnet-bench switch`: frames per second from a port of one switch
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
//!
//! `netns` makes the namespaces and starts our switches in them, `measure` runs one
//! measurement; this module builds each path and prints the table.

mod measure;
mod netns;

use std::io;
use std::path::{Path, PathBuf};

use umlnet_linux::sys::tun::Tap;

use measure::{Port, attach_in, measure};
pub use measure::{VxlanResult, WINDOW};
use netns::{Ns, OurSwitch, two_hosts};

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
