//! Seeds for scenarios: fixed lists and proptest, each failure reported with the line
//! that replays it, and `UMLNET_SIM_SEED` to replay one.
//!
//! ```no_run
//! use umlnet_sim::scenario::for_each_seed;
//! for_each_seed("sim_bringup", "bring_up", &[1, 2, 3], 4, |seed| {
//!     // build a World from `seed`, run, assert
//!     let _ = seed;
//! });
//! ```

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::string::String;
use std::vec::Vec;

/// The environment variable that replays one seed.
pub const SEED_VAR: &str = "UMLNET_SIM_SEED";

/// The seed `UMLNET_SIM_SEED` asks for, if set (decimal or `0x` hex).
pub fn replay_seed() -> Option<u64> {
    let v = std::env::var(SEED_VAR).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The line a failing scenario prints.
pub fn replay_line(test_file: &str, test_name: &str, seed: u64) -> String {
    std::format!(
        "seed = {seed} (replay: {SEED_VAR}={seed} cargo test -p umlnet-sim --test {test_file} {test_name})"
    )
}

/// Runs `f(seed)`; if it panics, prints the replay line and panics on.
pub fn run_seed(test_file: &str, test_name: &str, seed: u64, f: &dyn Fn(u64)) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(seed))) {
        std::eprintln!("{}", replay_line(test_file, test_name, seed));
        resume_unwind(p);
    }
}

/// Proptest's seeds for a scenario: `cases` values from a deterministic proptest run
/// (the same list every time, so CI is stable).
pub fn proptest_seeds(cases: u32) -> Vec<u64> {
    let out = core::cell::RefCell::new(Vec::new());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let _ = runner.run(&proptest::num::u64::ANY, |s| {
        out.borrow_mut().push(s);
        Ok::<(), TestCaseError>(())
    });
    out.into_inner()
}

/// Runs scenario `f` for every seed: `UMLNET_SIM_SEED` alone if it is set, else the
/// `fixed` list and then `cases` seeds from proptest. The first failing seed is
/// printed with its replay line.
pub fn for_each_seed(test_file: &str, test_name: &str, fixed: &[u64], cases: u32, f: impl Fn(u64)) {
    if let Some(seed) = replay_seed() {
        std::eprintln!("replaying {}", replay_line(test_file, test_name, seed));
        run_seed(test_file, test_name, seed, &f);
        return;
    }
    for &seed in fixed.iter().chain(proptest_seeds(cases).iter()) {
        run_seed(test_file, test_name, seed, &f);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn proptest_seeds_are_stable_and_varied() {
        let a = proptest_seeds(8);
        assert_eq!(a, proptest_seeds(8));
        assert_eq!(a.len(), 8);
        let mut b = a.clone();
        b.sort();
        b.dedup();
        assert_eq!(b.len(), 8);
    }

    #[test]
    fn replay_line_names_the_variable_and_the_test() {
        assert_eq!(
            replay_line("sim_faults", "faults", 42),
            "seed = 42 (replay: UMLNET_SIM_SEED=42 cargo test -p umlnet-sim --test sim_faults faults)"
        );
    }

    #[test]
    fn a_failing_seed_panics_on() {
        let r = catch_unwind(|| run_seed("f", "t", 7, &|s| assert_ne!(s, 7)));
        assert!(r.is_err());
    }
}
