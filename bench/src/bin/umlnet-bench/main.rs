//! `umlnet-bench`: the benchmarks, by name (`umlnet bench switch|sim` runs this
//! program). Each prints its tables on standard output and its progress on standard
//! error.

#![forbid(unsafe_code)]

mod sim;
mod switch;

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
    /// The deterministic simulator's throughput (frames of virtual traffic per CPU
    /// second).
    Sim(sim::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().which {
        Which::Switch(args) => switch::main(args),
        Which::Sim(args) => {
            sim::main(args);
            Ok(())
        }
    }
}
