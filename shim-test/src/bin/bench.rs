//! How many frames of virtual traffic the simulator moves per second of CPU.
//!
//! `cargo run --release -p umlnet-sim --bin umlnet-sim-bench [frames]`

use umlnet_sim::bench;

fn main() {
    let target: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_000_000);
    println!(
        "{:<40} {:>12} {:>10} {:>16}",
        "case", "frames", "cpu s", "frames/cpu s"
    );
    let mut rows: Vec<bench::Measured> = bench::cases()
        .iter()
        .map(|c| bench::run(c, target))
        .collect();
    rows.push(bench::guests(16 << 20));
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
