//! The switch benchmark's Markdown tables: frames/s (loss) per row and switch, the
//! switch CPU per delivered frame, the ping-pong round trip, and the kernel floor of
//! the wide broadcast row. Numbers only: what they mean is in `docs/benchmarks.md`.

use std::time::Duration;

use super::floor::FloorSummary;
use super::row::{Cell, RowResult, best_other};
use super::scenario::SCENARIOS;
use super::target::Target;

/// The whole result of a run as Markdown: the rows (frames/s, then switch CPU per
/// delivered frame, then the round trip) for `targets` in column order, and the kernel
/// floor under them when it was measured.
pub fn render(
    targets: &[Target],
    cols: &[Vec<Cell>],
    rtts: &[Option<(Duration, Duration)>],
    floor: Option<&FloorSummary>,
) -> String {
    let mut s = String::new();
    rate_table(&mut s, targets, cols);
    cpu_table(&mut s, targets, cols);
    rtt_row(&mut s, rtts);
    if let Some(f) = floor {
        s.push('\n');
        floor_table(&mut s, f);
    }
    s
}

/// The header and one line per row: delivered frames/s (loss, and the ports reached
/// when there are more than 3) per switch, and ours over the best other.
fn rate_table(s: &mut String, targets: &[Target], cols: &[Vec<Cell>]) {
    s.push_str("| row |");
    for t in targets {
        s.push_str(&format!(" {} frames/s (loss) |", t.label()));
    }
    s.push_str(" ours ÷ best other |\n|---|");
    for _ in targets {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for (i, sc) in SCENARIOS.iter().enumerate() {
        s.push_str(&format!("| {} |", sc.name));
        for col in cols {
            match col[i] {
                Ok(r) => {
                    let reach = if r.receivers > 3 {
                        format!(", {}/{} ports", r.reached, r.receivers)
                    } else {
                        String::new()
                    };
                    s.push_str(&format!(
                        " {:.0} ({:.2}%{reach}) |",
                        r.rate(),
                        r.loss() * 100.0
                    ))
                }
                Err(why) => s.push_str(&format!(" {why} |")),
            }
        }
        let ours = cols.first().and_then(|c| c[i].ok()).map(|r| r.rate());
        let best = best_other(cols, i, |r| Some(r.rate()), f64::max, 0.0);
        match ours {
            Some(o) if best > 0.0 => s.push_str(&format!(" {:.2}× |\n", o / best)),
            _ => s.push_str(" – |\n"),
        }
    }
}

/// The rows again, as switch CPU time per delivered frame (same runs).
fn cpu_table(s: &mut String, targets: &[Target], cols: &[Vec<Cell>]) {
    s.push_str("| switch CPU per delivered frame (share of its CPU) |");
    for _ in targets {
        s.push_str(" |");
    }
    s.push_str(" best other ÷ ours |\n");
    for (i, sc) in SCENARIOS.iter().enumerate() {
        s.push_str(&format!("| {} |", sc.name));
        for col in cols {
            match col[i]
                .ok()
                .and_then(|r| Some((r.cpu_per_frame()?, r.cpu_share()?)))
            {
                Some((ns, share)) => s.push_str(&format!(" {ns:.0} ns ({:.0}%) |", share * 100.0)),
                None => s.push_str(" – |"),
            }
        }
        let ours = cols
            .first()
            .and_then(|c| c[i].ok())
            .and_then(|r| r.cpu_per_frame());
        let best = best_other(cols, i, RowResult::cpu_per_frame, f64::min, f64::INFINITY);
        match ours {
            Some(o) if best.is_finite() && o > 0.0 => s.push_str(&format!(" {:.2}× |\n", best / o)),
            _ => s.push_str(" – |\n"),
        }
    }
}

/// The ping-pong round trip of every switch, and how much sooner ours answers than the
/// best other.
fn rtt_row(s: &mut String, rtts: &[Option<(Duration, Duration)>]) {
    s.push_str("| ping-pong RTT median / p99 |");
    for r in rtts {
        match r {
            Some((m, p)) => s.push_str(&format!(
                " {:.1} µs / {:.1} µs |",
                m.as_secs_f64() * 1e6,
                p.as_secs_f64() * 1e6
            )),
            None => s.push_str(" failed |"),
        }
    }
    let ours = rtts
        .first()
        .copied()
        .flatten()
        .map(|(m, _)| m.as_secs_f64());
    let best = rtts
        .iter()
        .skip(1)
        .flatten()
        .map(|(m, _)| m.as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    match ours {
        Some(o) if best.is_finite() && o > 0.0 => {
            s.push_str(&format!(" {:.2}× faster |\n", best / o))
        }
        _ => s.push_str(" – |\n"),
    }
}

/// The kernel floor of the wide broadcast row: its nanoseconds per delivered frame (the
/// median of its runs), the best other switch's CPU per delivered frame there, the most
/// any switch could deliver over the best other's frames/s where the switch's CPU is the
/// limit (best other ÷ floor), and ours' CPU per delivered frame.
fn floor_table(s: &mut String, f: &FloorSummary) {
    s.push_str(&format!(
        "| kernel floor, no switch (median of {}) | ns per delivered frame | best other ns per delivered frame | limit: best other ÷ floor | ours ns per delivered frame |\n",
        f.runs
    ));
    s.push_str("|---|---|---|---|---|\n");
    let ns = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.0}"));
    let limit = f
        .limit()
        .map_or_else(|| "–".to_string(), |l| format!("{l:.2}×"));
    s.push_str(&format!(
        "| {} | {:.0} | {} | {limit} | {} |\n",
        f.row,
        f.floor_ns,
        ns(f.best_other_ns),
        ns(f.ours_ns)
    ));
}
