//! `umlnet-bench sim`: how many frames of virtual traffic the simulator moves per
//! second of CPU (see [`umlnet_bench::sim`]).

use umlnet_bench::sim;

/// Options of `umlnet-bench sim`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Frames each case delivers (at least).
    #[arg(default_value_t = 3_000_000)]
    frames: u64,
}

/// Runs every case and prints the table.
pub fn main(args: Args) {
    let target = args.frames;
    println!(
        "{:<40} {:>12} {:>10} {:>16}",
        "case", "frames", "cpu s", "frames/cpu s"
    );
    let mut rows: Vec<sim::Measured> = sim::cases().iter().map(|c| sim::run(c, target)).collect();
    rows.push(sim::guests(16 << 20));
    for m in rows {
        println!(
            "{:<40} {:>12} {:>10.3} {:>16.0}",
            m.name,
            m.frames,
            m.cpu_secs,
            m.rate()
        );
    }
}
