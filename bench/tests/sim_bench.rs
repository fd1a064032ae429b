//! The simulator's benchmark harness moves what it says it moves. Its speed (frames of
//! virtual traffic per CPU second) is measured by the benchmark, never asserted by a
//! test: `umlnet-bench sim`.

use umlnet_bench::sim as bench;

#[test]
fn a_small_run_moves_every_frame() {
    // Without faults every frame sent is delivered and read: 100 rounds of 16 sends,
    // the first ones flooded to 15 ports until the switch has learned.
    let case = bench::cases()[1];
    let m = bench::run(&case, 1600);
    assert!(m.frames >= 1600 && m.frames < 1600 + 16 * 15, "{m:?}");
}
