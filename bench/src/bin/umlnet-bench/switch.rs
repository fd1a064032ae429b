//! `umlnet-bench switch`: our `uml_switch` against the original `uml_switch` and
//! `vde_switch`, side by side (see [`umlnet_bench::switch`]).
//!
//! It moves itself into a private network namespace first (the clients' abstract
//! sockets then live there only), runs the switches pinned to one CPU and itself on
//! another, and prints a Markdown table, with the kernel floor of the 999-port row
//! under it (what the kernel alone takes per delivered frame, measured with no switch);
//! then the VXLAN rows (see [`umlnet_bench::vxlan`]).

use std::path::PathBuf;

use anyhow::Context;
use umlnet_bench::switch::{BenchOptions, Clients, Target, run};
use umlnet_linux::sys::process::{pin_to_cpu, unshare_netns};

/// Options of `umlnet-bench switch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds of traffic per row.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Ping-pong round trips to measure.
    #[arg(long, default_value_t = 5000)]
    rtt: usize,
    /// Our uml_switch (default: the one next to this program).
    #[arg(long)]
    ours: Option<PathBuf>,
    /// The original uml_switch ("none" to skip).
    #[arg(long, default_value = "/usr/bin/uml_switch")]
    original: String,
    /// vde_switch ("none" to skip).
    #[arg(long, default_value = "/usr/bin/vde_switch")]
    vde: String,
    /// Only rows whose name contains this text (e.g. "999").
    #[arg(long, default_value = "")]
    only: String,
    /// Runs per row and switch (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// CPU for the switch under test (the generator takes the next one).
    #[arg(long, default_value_t = 0)]
    switch_cpu: usize,
    /// VXLAN rows: frames/s from a port of one switch to a port of another joined over
    /// VXLAN, through two of ours (loopback and veth) and through the kernel's bridge +
    /// vxlan (veth). "only" runs just these rows, "no" skips them.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no", "only"])]
    vxlan: String,
    /// How the generator's clients wait for frames: "sleeping" as UML kernels do (asleep
    /// until a frame comes, so a switch pays for waking them), or "spinning" (they never
    /// sleep: what is left is each switch's own work per frame).
    #[arg(long, default_value = "sleeping", value_parser = ["sleeping", "spinning"])]
    clients: String,
}

/// Runs the switch benchmark with `args` and prints its tables.
pub fn main(args: Args) -> anyhow::Result<()> {
    let ours = super::our_switch(args.ours)?;
    unshare_netns().context("creating a private network namespace (run as root)")?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let gen_cpu = (args.switch_cpu + 1) % cpus;
    pin_to_cpu(gen_cpu).context("pinning the generator")?;
    let mut targets = vec![Target::Ours(ours)];
    if args.original != "none" {
        targets.push(Target::Original(PathBuf::from(&args.original)));
    }
    if args.vde != "none" {
        targets.push(Target::Vde(PathBuf::from(&args.vde)));
    }
    let dir = std::env::temp_dir().join(format!("uml_switch_bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let opts = BenchOptions {
        targets,
        seconds: args.seconds,
        rtt_iterations: args.rtt,
        switch_cpu: args.switch_cpu,
        dir: dir.clone(),
        only: args.only.clone(),
        repeat: args.repeat,
        clients: if args.clients == "spinning" {
            Clients::Spinning
        } else {
            Clients::Sleeping
        },
    };
    eprintln!(
        "switch on CPU {}, generator on CPU {gen_cpu}, {} s per row, {} clients",
        args.switch_cpu, args.seconds, args.clients
    );
    let table = if args.vxlan == "only" {
        Ok(String::new())
    } else {
        run(&opts, |line| eprintln!("{line}"))
    };
    let vxlan = if args.vxlan == "no" {
        String::new()
    } else {
        let ours = match &opts.targets[0] {
            Target::Ours(p) => p.clone(),
            _ => unreachable!("ours is the first target"),
        };
        umlnet_bench::vxlan::run_all(&ours, &dir, args.switch_cpu, args.seconds, |line| {
            eprintln!("{line}")
        })
    };
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}\n{vxlan}", table?);
    Ok(())
}
