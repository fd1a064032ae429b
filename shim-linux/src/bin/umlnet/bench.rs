//! `umlnet bench`: the benchmarks, by name. They live in the `umlnet-bench` crate,
//! whose program `umlnet-bench` is built next to `umlnet` (same target directory); this
//! subcommand finds it and runs `umlnet-bench <which>` with the options that follow.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

pub const BENCH_EXAMPLES: &str = "\
Examples:
  sudo umlnet bench switch                     # ours vs uml_switch vs vde_switch, every row
  sudo umlnet bench switch --only 999 --seconds 1 --repeat 3
  umlnet bench switch -- --help                # the switch benchmark's own options
  sudo umlnet bench uml                        # iperf3 between two real UML kernels, per path
  umlnet bench sim                             # simulator: frames of virtual traffic per CPU second
Build them optimised first: cargo build --release --workspace";

/// Which benchmark.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// Our uml_switch against the original uml_switch and vde_switch, side by side, over
    /// the real protocol (needs root: it runs in a private network namespace).
    Switch,
    /// UML-to-UML TCP throughput (iperf3 in two real kernels) through our switch on
    /// daemon and bess, the original uml_switch, vde_switch and an fd socket pair.
    Uml,
    /// The deterministic simulator's throughput (frames of virtual traffic per CPU second).
    Sim,
}

/// The program that runs the benchmarks, beside `umlnet`.
const PROGRAM: &str = "umlnet-bench";

impl Which {
    /// The benchmark's subcommand of `umlnet-bench`.
    fn subcommand(self) -> &'static str {
        match self {
            Which::Switch => "switch",
            Which::Uml => "uml",
            Which::Sim => "sim",
        }
    }
}

/// `umlnet bench <which> [options of that benchmark]`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The benchmark to run.
    #[arg(value_enum)]
    which: Which,
    /// Options for that benchmark (`umlnet bench switch -- --help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    options: Vec<OsString>,
}

pub fn run(args: &BenchArgs) -> ExitCode {
    let path = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(PROGRAM),
        Err(e) => {
            eprintln!("umlnet bench: cannot find this program's directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !path.exists() {
        eprintln!(
            "umlnet bench: {} is not built next to umlnet; build it with \
             `cargo build --release -p umlnet-bench` (or `cargo build --release --workspace`) \
             and run target/release/umlnet bench …",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    let err = Command::new(&path)
        .arg(args.which.subcommand())
        .args(&args.options)
        .exec();
    eprintln!("umlnet bench: running {}: {err}", path.display());
    ExitCode::FAILURE
}
