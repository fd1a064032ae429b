//! `umlnet-bench`: the benchmarks, by name (`umlnet bench switch|sim` runs this
//! program). Each prints its tables on standard output and its progress on standard
//! error.

#![forbid(unsafe_code)]

mod sim;
mod switch;
mod uml;

use clap::{Parser, Subcommand};

/// The umlnet benchmarks.
#[derive(Parser, Debug)]
#[command(name = "umlnet-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    which: Which,
}

/// Which benchmark.
#[derive(Subcommand, Debug)]
enum Which {
    /// Our uml_switch against the original uml_switch and vde_switch, side by side,
    /// over the real protocol as the UML kernel speaks it (needs root: it runs in a
    /// private network namespace).
    Switch(switch::Args),
    /// UML-to-UML TCP throughput (iperf3 in two real UML kernels) through our switch
    /// on daemon and bess, the original uml_switch, vde_switch and an fd socket pair
    /// (needs root: each path runs in a network namespace of its own).
    Uml(uml::Args),
    /// The deterministic simulator's throughput (frames of virtual traffic per CPU
    /// second).
    Sim(sim::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().which {
        Which::Switch(args) => switch::main(args),
        Which::Uml(args) => uml::main(args),
        Which::Sim(args) => {
            sim::main(args);
            Ok(())
        }
    }
}

/// Our `uml_switch`: the path given with `--ours`, else the one beside this program.
fn our_switch(given: Option<std::path::PathBuf>) -> anyhow::Result<std::path::PathBuf> {
    let ours = match given {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("uml_switch"),
    };
    anyhow::ensure!(
        ours.exists(),
        "our uml_switch not found at {} (build it with `cargo build --release --workspace` or pass --ours)",
        ours.display()
    );
    Ok(ours)
}
