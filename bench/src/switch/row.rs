//! One row against one switch: the clients attach, learn and send for a while
//! ([`run_row`], with a sleeping or spinning generator), and what arrived is counted
//! ([`RowResult`]); and the ping-pong round trip ([`run_rtt`]).

use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use umlnet_linux::switchd::client::{Client, uml_like_addr};

use super::scenario::{Pattern, Scenario, frame, mac};
use super::sleeping::generate_sleeping;
use super::spinning::generate_spinning;

/// One switch's result in one row, or why there is none ("skipped", "failed").
pub type Cell = Result<RowResult, &'static str>;

/// What one row measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowResult {
    /// Frames the senders handed to the switch.
    pub sent: u64,
    /// Frames the receivers got.
    pub delivered: u64,
    /// Frames that should have arrived (sent × receivers per frame).
    pub expected: u64,
    /// Seconds from the start until the last frame arrived (or sending stopped, if
    /// later): frames a switch held back and delivered after the senders stopped took
    /// that long.
    pub secs: f64,
    /// Receivers that got at least one frame.
    pub reached: usize,
    /// Receivers in the row.
    pub receivers: usize,
    /// CPU time the switch used while the row ran (from `/proc/<pid>/schedstat`), in
    /// nanoseconds, when its process id was given.
    pub switch_cpu_ns: Option<u64>,
}

impl RowResult {
    /// Delivered frames per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.delivered as f64 / self.secs
        } else {
            0.0
        }
    }
    /// Nanoseconds of switch CPU per delivered frame: what the switch itself costs,
    /// whoever (switch or generator) limits the rate, and little affected by other
    /// load on the machine.
    pub fn cpu_per_frame(&self) -> Option<f64> {
        match self.switch_cpu_ns {
            Some(ns) if self.delivered > 0 => Some(ns as f64 / self.delivered as f64),
            _ => None,
        }
    }
    /// Share of one CPU the switch used while the row ran.
    pub fn cpu_share(&self) -> Option<f64> {
        match self.switch_cpu_ns {
            Some(ns) if self.secs > 0.0 => Some(ns as f64 / 1e9 / self.secs),
            _ => None,
        }
    }
    /// Fraction of expected frames that did not arrive.
    pub fn loss(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            1.0 - (self.delivered as f64 / self.expected as f64).min(1.0)
        }
    }
}

/// Attaches a client to the switch at `ctl` as a UML kernel does, with a 1 MiB receive
/// buffer; `tag` makes its address unique.
fn attach(ctl: &Path, tag: u32) -> io::Result<Client> {
    let c = Client::attach(
        ctl,
        uml_like_addr(
            std::process::id(),
            tag,
            u64::from(tag).wrapping_mul(0x9e37_79b9) + 3,
        ),
    )?;
    let _ = c.data().set_recv_buffer(1 << 20);
    Ok(c)
}

/// Takes every frame queued for the clients `cs`.
fn drain_all(cs: &[Client]) {
    let mut buf = [0u8; 2048];
    for c in cs {
        while let Ok(Some(_)) = c.try_recv(&mut buf) {}
    }
}

/// CPU time a process has run, in nanoseconds (`/proc/<pid>/schedstat`, first field).
pub fn cpu_ns(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How the generator's clients wait for frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clients {
    /// As UML kernels do: asleep until a frame comes (and a blocked sender asleep until
    /// the switch's queue has room), so every frame a switch sends to an idle client
    /// pays for waking it up.
    #[default]
    Sleeping,
    /// Busy-polling clients that never sleep: what is left is the switch's own work per
    /// frame, most of it the kernel's work for one datagram in and one out.
    Spinning,
}

/// Runs one row against the switch at `ctl` for `secs` seconds with `clients`; with
/// `switch_pid`, also measures the CPU time the switch used meanwhile.
pub fn run_row(
    ctl: &Path,
    sc: &Scenario,
    secs: f64,
    clients: Clients,
    switch_pid: Option<u32>,
) -> io::Result<RowResult> {
    let (nsend, nrecv, per_frame) = match sc.pattern {
        Pattern::Pairs(n) => (n, n, 1u64),
        Pattern::Broadcast(n) => (1, n, n as u64),
    };
    let mut senders = Vec::with_capacity(nsend);
    for i in 0..nsend {
        senders.push(attach(ctl, 1 + i as u32)?);
    }
    let mut receivers = Vec::with_capacity(nrecv);
    for i in 0..nrecv {
        receivers.push(attach(ctl, 10_000 + i as u32)?);
    }
    // Everybody announces its address so that the switch learns it.
    for (i, r) in receivers.iter().enumerate() {
        let _ = r.send(&frame([0xff; 6], mac(2, i), 60));
        if i % 8 == 7 {
            std::thread::sleep(Duration::from_millis(1));
            drain_all(&receivers);
        }
    }
    for (i, s) in senders.iter().enumerate() {
        let _ = s.send(&frame([0xff; 6], mac(1, i), 60));
    }
    std::thread::sleep(Duration::from_millis(200));
    drain_all(&receivers);
    drain_all(&senders);

    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let cpu_before = switch_pid.and_then(cpu_ns);
    let (sent, counts, elapsed) = match clients {
        Clients::Sleeping => generate_sleeping(sc, senders, receivers, per_frame, deadline)?,
        Clients::Spinning => {
            let r = generate_spinning(sc, &senders, &receivers, per_frame, deadline)?;
            drop(senders);
            drop(receivers);
            r
        }
    };
    let switch_cpu_ns = match (cpu_before, switch_pid.and_then(cpu_ns)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let elapsed = elapsed.duration_since(started).as_secs_f64();
    Ok(RowResult {
        sent,
        delivered: counts.iter().sum(),
        expected: sent * per_frame,
        secs: elapsed,
        reached: counts.iter().filter(|c| **c > 0).count(),
        receivers: nrecv,
        switch_cpu_ns,
    })
}

/// Ping-pong between two ports: the median and 99th percentile round trip.
pub fn run_rtt(ctl: &Path, iterations: usize) -> io::Result<(Duration, Duration)> {
    let a = attach(ctl, 50_001)?;
    let b = attach(ctl, 50_002)?;
    let fa = frame(mac(3, 2), mac(3, 1), 60);
    let fb = frame(mac(3, 1), mac(3, 2), 60);
    let mut buf = [0u8; 2048];
    let mut rtts = VecDeque::with_capacity(iterations);
    let timeout = Duration::from_millis(200);
    for i in 0..iterations + 100 {
        let t0 = Instant::now();
        a.send(&fa)?;
        let got_b = b.recv_timeout(&mut buf, timeout)?.is_some();
        b.send(&fb)?;
        let got_a = a.recv_timeout(&mut buf, timeout)?.is_some();
        if i >= 100 && got_a && got_b {
            rtts.push_back(t0.elapsed());
        }
    }
    let mut v: Vec<Duration> = rtts.into_iter().collect();
    if v.is_empty() {
        return Err(io::Error::other("no round trip completed"));
    }
    v.sort();
    Ok((v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)]))
}

/// The best value of row `i` among the switches after ours (the first column): `pick`
/// reads a value from a run, `better` keeps one of two (`f64::max` or `f64::min`),
/// starting from `worst`.
pub(crate) fn best_other(
    cols: &[Vec<Cell>],
    i: usize,
    pick: impl Fn(&RowResult) -> Option<f64>,
    better: fn(f64, f64) -> f64,
    worst: f64,
) -> f64 {
    cols.iter()
        .skip(1)
        .filter_map(|c| c[i].as_ref().ok().and_then(&pick))
        .fold(worst, better)
}
