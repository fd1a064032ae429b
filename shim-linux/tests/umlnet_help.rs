//! `umlnet --help` names every subcommand with an example, and the examples that need
//! no root run as pasted.

use std::process::Command;

fn umlnet(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run umlnet");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The example lines of the top-level help.
fn examples() -> Vec<String> {
    let (ok, help) = umlnet(&["--help"]);
    assert!(ok, "{help}");
    help.lines()
        .skip_while(|l| !l.starts_with("Examples"))
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn top_level_help_lists_every_subcommand_with_an_example() {
    let (_, help) = umlnet(&["--help"]);
    let ex = examples();
    for cmd in [
        "check",
        "guest",
        "up",
        "down",
        "plan",
        "demo",
        "switch-status",
        "slip-bridge",
        "bench",
        "lab",
        "completions",
        "manpages",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "{cmd} is not listed:\n{help}"
        );
        assert!(
            ex.iter().any(|l| l.contains(&format!("umlnet {cmd} "))
                || l.ends_with(&format!("umlnet {cmd}"))
                || l.contains(&format!("umlnet,{cmd},"))
                || l.contains(&format!("umlnet {cmd}  "))),
            "no example for {cmd}:\n{}",
            ex.join("\n")
        );
    }
}

#[test]
fn each_new_subcommand_help_has_an_example() {
    for cmd in [
        "up",
        "down",
        "plan",
        "demo",
        "check",
        "guest",
        "bench",
        "switch-status",
        "slip-bridge",
        "lab",
    ] {
        let (ok, help) = umlnet(&[cmd, "--help"]);
        assert!(ok, "{help}");
        assert!(
            help.contains(&format!("umlnet {cmd}")) && help.contains("Example"),
            "{cmd} --help has no example:\n{help}"
        );
    }
}

#[test]
fn the_examples_that_need_no_root_run_as_pasted() {
    for line in examples() {
        let cmd = line.split(" #").next().unwrap().trim();
        let args: Vec<&str> = cmd.split_whitespace().collect();
        if args[0] != "umlnet" || !["plan", "check"].contains(&args[1]) {
            continue;
        }
        let (ok, out) = umlnet(&args[1..]);
        assert!(ok, "{cmd}:\n{out}");
    }
    let (ok, out) = umlnet(&["plan", "-c", "contrib/umlnet.example.toml"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("ip tuntap add dev tap0 mode tap user 0\n"),
        "{out}"
    );
}

// `umlnet bench switch -- --help` running `umlnet-bench switch --help` is tested in the
// `umlnet-bench` crate (`bench/tests/umlnet_bench_front_end.rs`), which builds it.

#[test]
fn bench_rejects_an_unknown_benchmark() {
    let (ok, out) = umlnet(&["bench", "nonsense"]);
    assert!(!ok && out.contains("invalid value 'nonsense'"), "{out}");
}

#[test]
fn bench_without_the_benchmark_program_says_how_to_build_it() {
    // A copy of umlnet alone in a directory: no umlnet-bench beside it.
    let dir = std::env::temp_dir().join(format!("umlnet-help-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lone = dir.join("umlnet");
    std::fs::copy(env!("CARGO_BIN_EXE_umlnet"), &lone).unwrap();
    let out = Command::new(&lone)
        .args(["bench", "sim"])
        .output()
        .expect("run umlnet");
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("umlnet-bench is not built next to umlnet")
            && err.contains("cargo build --release -p umlnet-bench"),
        "{err}"
    );
}
