//! `umlnet-bench uml`: UML-to-UML TCP throughput through each way of joining two
//! kernels, side by side (see [`umlnet_bench::uml`]).

use std::path::PathBuf;

use umlnet_bench::uml::{Link, Run, measure, table};

/// Options of `umlnet-bench uml`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds of iperf3 traffic per run.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Runs per path, interleaved (the median is reported).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Our uml_switch (default: the one next to this program).
    #[arg(long)]
    ours: Option<PathBuf>,
    /// The original uml_switch ("none" to skip).
    #[arg(long, default_value = "/usr/bin/uml_switch")]
    original: String,
    /// vde_switch ("none" to skip).
    #[arg(long, default_value = "/usr/bin/vde_switch")]
    vde: String,
    /// The paths to measure, comma-separated (default: all of them).
    #[arg(long, value_enum, value_delimiter = ',')]
    paths: Vec<PathName>,
}

/// The names of the paths for `--paths`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum PathName {
    /// Ours on the daemon transport.
    Daemon,
    /// Ours on the vector driver's bess transport.
    Bess,
    /// The original uml_switch.
    Original,
    /// vde_switch.
    Vde,
    /// The fd socket pair (no switch).
    Fd,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let ours = super::our_switch(args.ours)?;
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "umlnet-bench uml needs root (it makes a network namespace per path)"
    );
    let wanted = |p: PathName| args.paths.is_empty() || args.paths.contains(&p);
    let mut links = Vec::new();
    if wanted(PathName::Daemon) {
        links.push(Link::OursDaemon(ours.clone()));
    }
    if wanted(PathName::Bess) {
        links.push(Link::OursBess(ours));
    }
    if args.original != "none" && wanted(PathName::Original) {
        links.push(Link::Original(args.original.into()));
    }
    if args.vde != "none" && wanted(PathName::Vde) {
        links.push(Link::Vde(args.vde.into()));
    }
    if wanted(PathName::Fd) {
        links.push(Link::FdPair);
    }
    let mut rows: Vec<(Link, Vec<Run>)> = links.into_iter().map(|l| (l, Vec::new())).collect();
    for run in 1..=args.repeat.max(1) {
        for (l, v) in &mut rows {
            eprintln!(
                "run {run}/{}: {} ({} s of iperf3)…",
                args.repeat.max(1),
                l.label(),
                args.seconds
            );
            match measure(l, args.seconds) {
                Ok(r) => {
                    match r.switch_load {
                        Some(load) => eprintln!(
                            "  {:.0} Mbit/s, the switch used {:.0}% of a CPU",
                            r.bps / 1e6,
                            100.0 * load
                        ),
                        None => eprintln!("  {:.0} Mbit/s", r.bps / 1e6),
                    }
                    v.push(r);
                }
                Err(e) => eprintln!("  failed: {e:#}"),
            }
        }
    }
    println!(
        "UML-to-UML TCP, iperf3 -t {} between two UML 6.1 kernels ({} run(s) per path)\n",
        args.seconds,
        args.repeat.max(1)
    );
    print!("{}", table(&rows));
    Ok(())
}
