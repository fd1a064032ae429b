//! The simulator moves at least a million frames of virtual traffic per second of CPU.
//! A release-build measurement: `cargo test --release -p umlnet-tests --test sim_bench
//! -- --ignored --nocapture` (the table: `cargo run --release -p umlnet-sim --bin
//! umlnet-sim-bench`).

use umlnet_sim::bench;

#[test]
#[ignore = "a throughput measurement; run it on a release build"]
fn a_million_frames_per_cpu_second() {
    for case in bench::cases() {
        let m = bench::run(&case, 2_000_000);
        println!(
            "{:<40} {:>12} frames {:>8.3} cpu s {:>14.0} frames/cpu s",
            m.name,
            m.frames,
            m.cpu_secs,
            m.rate()
        );
        assert!(m.frames >= 2_000_000);
        assert!(
            m.rate() >= 1e6,
            "{}: only {:.0} frames per CPU second",
            m.name,
            m.rate()
        );
    }
}

#[test]
fn a_small_run_moves_every_frame() {
    // Without faults every frame sent is delivered and read: 100 rounds of 16 sends,
    // the first ones flooded to 15 ports until the switch has learned.
    let case = bench::cases()[1];
    let m = bench::run(&case, 1600);
    assert!(m.frames >= 1600 && m.frames < 1600 + 16 * 15, "{m:?}");
}
