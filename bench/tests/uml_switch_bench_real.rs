//! The switch benchmark's load generator against the real switches: every row kind runs
//! for a moment against ours, the original `uml_switch` and `vde_switch`, with sleeping
//! and with spinning clients, and what it reports adds up. Rates are not asserted
//! (performance is reported by `umlnet bench switch`, not tested).

use std::path::PathBuf;

use umlnet_bench::switch::{Clients, Running, SCENARIOS, Target, run_row, run_rtt};
use umlnet_testkit::{Netns, TempDir, real, run_cases};

fn main() {
    run_cases(vec![real(
        "the_generator_measures_every_switch_with_both_kinds_of_clients",
        &["taskset", "uml_switch", "vde_switch"],
        the_generator_measures_every_switch_with_both_kinds_of_clients,
    )]);
}

/// Our `uml_switch`, where cargo puts the workspace's binaries beside `umlnet-bench`
/// (`cargo test --workspace` builds them; `cargo build -p umlnet-linux` does too).
fn our_switch() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_BIN_EXE_umlnet-bench")).with_file_name("uml_switch");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo build -p umlnet-linux`",
        p.display()
    );
    p
}

fn targets() -> Vec<Target> {
    vec![
        Target::Ours(our_switch()),
        Target::Original(PathBuf::from("/usr/bin/uml_switch")),
        Target::Vde(PathBuf::from("/usr/bin/vde_switch")),
    ]
}

fn the_generator_measures_every_switch_with_both_kinds_of_clients() {
    let ns = Netns::new("sw-bench");
    let dir = TempDir::new("sw-bench");
    let path = dir.path().to_path_buf();
    ns.run_inside(move || {
        // One unicast, one broadcast and one paced row are enough to exercise every
        // path of both generators (the 999-port row takes long to set up).
        let rows: Vec<_> = SCENARIOS
            .iter()
            .filter(|s| ["2->2 60B", "bcast->3 60B", "1->1 60B @20k/s"].contains(&s.name))
            .collect();
        assert_eq!(rows.len(), 3);
        for t in targets() {
            for clients in [Clients::Sleeping, Clients::Spinning] {
                for sc in &rows {
                    let sw = Running::start(&t, &path, 0).expect("start the switch");
                    let r = run_row(sw.ctl(), sc, 0.3, clients, Some(sw.pid()))
                        .unwrap_or_else(|e| panic!("{} {}: {e}", t.label(), sc.name));
                    let what = format!("{} {} {clients:?}: {r:?}", t.label(), sc.name);
                    assert!(r.sent > 0 && r.delivered > 0, "{what}");
                    assert!(r.delivered <= r.expected, "{what}");
                    assert_eq!(r.reached, r.receivers, "{what}");
                    assert!(r.switch_cpu_ns.is_some_and(|ns| ns > 0), "{what}");
                    // Loss is reported, not asserted: in 0.3 s on a busy machine a
                    // receiver may fall behind (the benchmark reports it properly).
                    println!("{what}");
                    if let Some(rate) = sc.rate {
                        // A paced row (one sender here) sends what its pace allows.
                        assert!((r.sent as f64 / r.secs) < rate as f64 * 1.1, "{what}");
                    }
                }
            }
            let sw = Running::start(&t, &path, 0).expect("start the switch");
            let (median, p99) = run_rtt(sw.ctl(), 200).expect("round trips");
            assert!(median <= p99 && median.as_nanos() > 0, "{}", t.label());
        }
    });
}
