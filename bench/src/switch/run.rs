//! A whole run of the switch benchmark: every row against every switch, repeated and
//! the median kept, the kernel floor right after the wide broadcast row, the round
//! trips, then the tables ([`super::table::render`]).

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::floor::{FloorSummary, fanout_floor};
use super::row::{Cell, Clients, RowResult, run_row, run_rtt};
use super::scenario::{SCENARIOS, wide_broadcast};
use super::table::render;
use super::target::{Running, Target};

/// Options of a whole run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The switches to compare, in column order (ours first).
    pub targets: Vec<Target>,
    /// Seconds of traffic per row.
    pub seconds: f64,
    /// Round trips measured.
    pub rtt_iterations: usize,
    /// CPU for the switch.
    pub switch_cpu: usize,
    /// Scratch directory for the sockets.
    pub dir: PathBuf,
    /// Only rows whose name contains this text (empty: all).
    pub only: String,
    /// Runs per row and switch; the median (by rate) is reported.
    pub repeat: usize,
    /// How the generator's clients wait for frames.
    pub clients: Clients,
}

/// Runs every row against every target and returns the table (Markdown).
pub fn run(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> io::Result<String> {
    // Rows outside, switches inside, each measurement repeated and the median kept: the
    // switches are compared under the same (possibly shared) machine load.
    let mut cols: Vec<Vec<Cell>> = vec![Vec::new(); opts.targets.len()];
    let mut floor: Option<(usize, Vec<f64>)> = None;
    for (i, sc) in SCENARIOS.iter().enumerate() {
        let selected = sc.name.contains(opts.only.as_str());
        for (ti, t) in opts.targets.iter().enumerate() {
            if !selected {
                cols[ti].push(Err("skipped"));
                continue;
            }
            let mut runs: Vec<RowResult> = Vec::new();
            for _ in 0..opts.repeat.max(1) {
                // A fresh switch per run: no state carried from the previous one.
                let r = Running::start(t, &opts.dir, opts.switch_cpu).and_then(|sw| {
                    run_row(sw.ctl(), sc, opts.seconds, opts.clients, Some(sw.pid()))
                });
                match &r {
                    Ok(r) => progress(&format!(
                        "{:<11} {:<24} {:>10.0} frames/s  loss {:>6.2}%  reached {}/{}  switch CPU {:>3.0}%, {:>5.0} ns/frame",
                        t.label(),
                        sc.name,
                        r.rate(),
                        r.loss() * 100.0,
                        r.reached,
                        r.receivers,
                        r.cpu_share().unwrap_or(0.0) * 100.0,
                        r.cpu_per_frame().unwrap_or(0.0),
                    )),
                    Err(e) => progress(&format!("{:<11} {:<24} failed: {e}", t.label(), sc.name)),
                }
                if let Ok(r) = r {
                    runs.push(r);
                }
            }
            // The median run by rate (of two, the better one).
            runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            cols[ti].push(runs.get(runs.len() / 2).copied().ok_or("failed"));
        }
        // The wide broadcast row's kernel floor, right after the switches ran it.
        if let Some(n) = wide_broadcast(sc).filter(|_| selected) {
            let mut floors = Vec::new();
            for _ in 0..opts.repeat.max(1) {
                match fanout_floor(n, sc.frame_len, opts.seconds, opts.switch_cpu, opts.clients) {
                    Ok(f) => {
                        progress(&format!(
                            "{:<11} {:<24} {:>5.0} ns per delivered frame ({} sent, {} refused)",
                            "floor", sc.name, f.send_ns, f.sent, f.refused
                        ));
                        floors.push(f.send_ns);
                    }
                    Err(e) => progress(&format!("{:<11} {:<24} failed: {e}", "floor", sc.name)),
                }
            }
            floor = Some((i, floors));
        }
    }
    let mut rtts: Vec<Option<(Duration, Duration)>> = Vec::new();
    for t in &opts.targets {
        let rtt = Running::start(t, &opts.dir, opts.switch_cpu)
            .and_then(|sw| run_rtt(sw.ctl(), opts.rtt_iterations));
        match &rtt {
            Ok((m, p)) => progress(&format!("{:<11} rtt median {:?} p99 {:?}", t.label(), m, p)),
            Err(e) => progress(&format!("{:<11} rtt failed: {e}", t.label())),
        }
        rtts.push(rtt.ok());
    }
    let floor = floor.and_then(|(i, floors)| FloorSummary::of(i, floors, &cols));
    Ok(render(&opts.targets, &cols, &rtts, floor.as_ref()))
}
