//! `umlnet bench <which> [options]` runs `umlnet-bench <which> [options]`, the program
//! beside it, with the options that follow.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn bench_runs_the_benchmark_program_with_the_options_that_follow() {
    // umlnet is where cargo puts the workspace's binaries, beside umlnet-bench
    // (`cargo test --workspace` builds it; `cargo build -p umlnet-linux` does too).
    let umlnet = PathBuf::from(env!("CARGO_BIN_EXE_umlnet-bench")).with_file_name("umlnet");
    assert!(
        umlnet.is_file(),
        "{} is missing: build it with `cargo build -p umlnet-linux`",
        umlnet.display()
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
