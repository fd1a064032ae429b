//! `umlnet bench <which> [options]` runs `umlnet-bench <which> [options]`, the program
//! beside it, with the options that follow.

use std::process::Command;

use umlnet_tests::bin;

#[test]
fn bench_runs_the_benchmark_program_with_the_options_that_follow() {
    // `bin` builds umlnet into the target directory where cargo put this crate's
    // umlnet-bench for this test.
    let umlnet = bin("umlnet");
    let beside = umlnet.with_file_name("umlnet-bench");
    assert_eq!(
        beside,
        std::path::Path::new(env!("CARGO_BIN_EXE_umlnet-bench")),
        "umlnet-bench is not beside umlnet"
    );
    let out = Command::new(&umlnet)
        .args(["bench", "switch", "--", "--help"])
        .output()
        .expect("run umlnet");
    let out_text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{out_text}");
    assert!(
        out_text.contains("Usage: umlnet-bench switch") && out_text.contains("--seconds"),
        "{out_text}"
    );
}
