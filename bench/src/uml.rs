//! UML-to-UML TCP throughput: `iperf3` between two real UML 6.1 kernels, through each
//! way of joining them, side by side in one run:
//!
//! * ours on the daemon transport (`eth0=daemon`),
//! * ours on the vector driver's `bess` transport (`vec0:transport=bess`, `-bess`),
//! * the original `uml_switch` (uml-utilities) on the daemon transport,
//! * `vde_switch` (vde2) on the daemon transport,
//! * no switch: the two kernels on the two ends of one `SOCK_SEQPACKET` socket pair
//!   (`vec0:transport=fd`), the ceiling.
//!
//! Each path gets a network namespace of its own (the testkit's), two freshly booted
//! kernels (the testkit's `UmlGuest`, with the XSAVE shim this host may need) and one
//! `iperf3` run of a given length; the result is what the receiver counted.

use std::fmt::Write as _;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use umlnet_testkit::{Netns, TempDir, UmlGuest};

/// A way of joining the two kernels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Our `uml_switch` at this path, kernels on `eth0=daemon`.
    OursDaemon(PathBuf),
    /// Our `uml_switch` at this path with `-bess`, kernels on `vec0:transport=bess`.
    OursBess(PathBuf),
    /// The original `uml_switch` at this path, kernels on `eth0=daemon`.
    Original(PathBuf),
    /// `vde_switch` at this path, kernels on `eth0=daemon`.
    Vde(PathBuf),
    /// A socket pair, kernels on `vec0:transport=fd`.
    FdPair,
}

impl Link {
    /// The row's name.
    pub fn label(&self) -> &'static str {
        match self {
            Link::OursDaemon(_) => "ours, daemon",
            Link::OursBess(_) => "ours, bess",
            Link::Original(_) => "original uml_switch, daemon",
            Link::Vde(_) => "vde_switch, daemon",
            Link::FdPair => "fd socket pair (no switch)",
        }
    }
}

/// A switch started for one run, killed when dropped.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program args` in `ns` with stdin an open pipe (`vde_switch` and the
/// original leave at its end) and waits for `ready` to exist.
fn start(
    ns: &Netns,
    program: &Path,
    args: &[&str],
    ready: &Path,
    log: &Path,
) -> io::Result<Running> {
    let f = std::fs::File::create(log)?;
    let mut child = ns
        .command(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(f.try_clone()?)
        .stderr(f)
        .spawn()?;
    let end = Instant::now() + Duration::from_secs(10);
    while !ready.exists() {
        if Instant::now() > end || child.try_wait()?.is_some() {
            let _ = child.kill();
            return Err(io::Error::other(format!(
                "{} did not come up at {}",
                program.display(),
                ready.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Running { child })
}

/// The result of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// What the receiving `iperf3` counted, in bits per second.
    pub bps: f64,
    /// The switch's CPU time (user and system) from the client kernel's boot to the
    /// end of the transfer, as a share of one CPU over the `iperf3` seconds; `None`
    /// without a switch.
    pub switch_load: Option<f64>,
}

impl Run {
    /// The switch's share of a CPU per Gbit/s moved.
    pub fn switch_cpu_per_gbps(&self) -> Option<f64> {
        self.switch_load
            .filter(|_| self.bps > 0.0)
            .map(|l| l / (self.bps / 1e9))
    }
}

/// The CPU time a process has used so far, in seconds (`/proc/<pid>/stat`).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces:
    // state is the first, utime and stime the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&h| h > 0)?;
    Some(ticks as f64 / hz as f64)
}

/// One measurement: boots two kernels joined by `link`, runs `iperf3` for `seconds`
/// from one to the other, returns what the receiver counted and the switch's load.
pub fn measure(link: &Link, seconds: u32) -> anyhow::Result<Run> {
    let dir = TempDir::new("umlbench");
    let ns = Netns::new("umlbench");
    let d = dir.path().display().to_string();
    let mut _switch = None;
    let mut _pair = None;
    let (dev, args): (&str, [String; 2]) = match link {
        Link::OursDaemon(p) | Link::Original(p) => {
            let ctl = dir.join("ctl");
            let ctl_s = ctl.display().to_string();
            _switch = Some(start(
                &ns,
                p,
                &["-unix", &ctl_s],
                &ctl,
                &dir.join("switch.log"),
            )?);
            let a = format!("eth0=daemon,,unix,{ctl_s}");
            ("eth0", [a.clone(), a])
        }
        Link::OursBess(p) => {
            let ctl = dir.join("ctl");
            let bess = dir.join("bess");
            let (c, b) = (ctl.display().to_string(), bess.display().to_string());
            _switch = Some(start(
                &ns,
                p,
                &["-unix", &c, "-bess", &b],
                &bess,
                &dir.join("switch.log"),
            )?);
            let a = format!("vec0:transport=bess,dst={b}");
            ("vec0", [a.clone(), a])
        }
        Link::Vde(p) => {
            let sw = dir.join("vde");
            let s = sw.display().to_string();
            _switch = Some(start(
                &ns,
                p,
                &["-s", &s],
                &sw.join("ctl"),
                &dir.join("switch.log"),
            )?);
            let a = format!("eth0=daemon,,unix,{s}/ctl");
            ("eth0", [a.clone(), a])
        }
        Link::FdPair => {
            use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
            // Inheritable: each kernel gets its end under its number.
            let (x, y) = socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::empty(),
            )?;
            let a = [
                format!("vec0:transport=fd,fd={}", x.as_raw_fd()),
                format!("vec0:transport=fd,fd={}", y.as_raw_fd()),
            ];
            _pair = Some((x, y));
            ("vec0", a)
        }
    };
    let mut server = UmlGuest::boot_in(
        &ns,
        &dir,
        "server",
        std::slice::from_ref(&args[0]),
        &format!(
            "ip link set {dev} up; ip addr add 10.0.0.2/24 dev {dev}; \
             iperf3 -s -1 > $T/server.txt 2>&1 & p=$!; sleep 0.3; say UP; wait $p"
        ),
    );
    server.wait_said("UP", Duration::from_secs(120));
    let switch_pid = _switch.as_ref().map(|r: &Running| r.child.id());
    let cpu_before = switch_pid.and_then(cpu_seconds);
    let mut client = UmlGuest::boot_in(
        &ns,
        &dir,
        "client",
        std::slice::from_ref(&args[1]),
        &format!(
            "ip link set {dev} up; ip addr add 10.0.0.1/24 dev {dev}; \
             ping -c 2 -W 2 10.0.0.2 > /dev/null 2>&1; \
             iperf3 -c 10.0.0.2 -t {seconds} -J > $T/client.json 2> $T/client.err; \
             say \"BPS $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"end\"][\"sum_received\"][\"bits_per_second\"])' $T/client.json 2>&1)\"; \
             touch {d}/done"
        ),
    );
    drop(_pair.take());
    let line = client.wait_said("BPS", Duration::from_secs(120 + u64::from(seconds)));
    let cpu_after = switch_pid.and_then(cpu_seconds);
    client.finish(Duration::from_secs(30));
    server.finish(Duration::from_secs(30));
    let v = line.trim_start_matches("BPS ").trim();
    let bps = v
        .parse::<f64>()
        .map_err(|_| anyhow::anyhow!("{}: iperf3 gave no result ({v})", link.label()))?;
    let switch_load = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if seconds > 0 => Some((b - a) / f64::from(seconds)),
        _ => None,
    };
    Ok(Run { bps, switch_load })
}

/// The median of `v` (the mean of the middle two for an even count).
fn median(v: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = v.into_iter().collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The table: each path's median Mbit/s, its ratio to the best original switch and to
/// the socket pair, and the switch's median share of a CPU per Gbit/s.
pub fn table(rows: &[(Link, Vec<Run>)]) -> String {
    let mbps = |v: &[Run]| median(v.iter().map(|r| r.bps));
    let of = |f: fn(&Link) -> bool| {
        rows.iter()
            .filter(|(l, _)| f(l))
            .filter_map(|(_, v)| mbps(v))
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))))
    };
    let best_original = of(|l| matches!(l, Link::Original(_) | Link::Vde(_)));
    let pair = of(|l| matches!(l, Link::FdPair));
    let mut s = String::from(
        "| path | Mbit/s (median) | runs | × best original switch | of the fd pair | switch CPU per Gbit/s |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (l, v) in rows {
        let Some(m) = mbps(v) else { continue };
        let cpu = median(v.iter().filter_map(Run::switch_cpu_per_gbps))
            .map_or_else(|| "–".to_string(), |c| format!("{c:.2}"));
        let ratio = |b: Option<f64>, pct: bool| match b {
            Some(b) if b > 0.0 && pct => format!("{:.0}%", 100.0 * m / b),
            Some(b) if b > 0.0 => format!("{:.2}×", m / b),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {:.0} | {} | {} | {} | {cpu} |",
            l.label(),
            m / 1e6,
            v.len(),
            ratio(best_original, false),
            ratio(pair, true)
        );
    }
    s
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_table_gives_medians_and_ratios() {
        let run = |bps: f64, load: Option<f64>| Run {
            bps,
            switch_load: load,
        };
        let rows = vec![
            (
                Link::OursBess("x".into()),
                vec![
                    run(3e9, Some(0.9)),
                    run(1e9, Some(0.2)),
                    run(2e9, Some(0.5)),
                ],
            ),
            (Link::Original("y".into()), vec![run(5e8, Some(0.5))]),
            (Link::Vde("z".into()), vec![run(4e8, None)]),
            (Link::FdPair, vec![run(2.5e9, None)]),
        ];
        let t = table(&rows);
        // CPU per Gbit/s of the bess runs: 0.30, 0.20 and 0.25; the median is 0.25.
        assert!(
            t.contains("| ours, bess | 2000 | 3 | 4.00× | 80% | 0.25 |"),
            "{t}"
        );
        assert!(
            t.contains("| original uml_switch, daemon | 500 | 1 | 1.00× | 20% | 1.00 |"),
            "{t}"
        );
        assert!(
            t.contains("| fd socket pair (no switch) | 2500 | 1 | 5.00× | 100% | – |"),
            "{t}"
        );
        // An even number of runs: the mean of the middle two.
        let pair = [1e9, 4e9, 2e9, 3e9].map(|b| run(b, None)).to_vec();
        let t = table(&[(Link::FdPair, pair)]);
        assert!(
            t.contains("| fd socket pair (no switch) | 2500 | 4 |"),
            "{t}"
        );
    }
}
