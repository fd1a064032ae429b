//! How many frames of virtual traffic the simulator moves per second of CPU.
//!
//! `cargo run --release -p umlnet-sim --bin umlnet-sim-bench [frames]`
//!
//! Each case runs endpoints that send 64-byte (and 1514-byte) frames to one another
//! through a segment, advancing the virtual clock from event to event and draining
//! every inbox through the `Link` trait, with the transcript and captures off (they
//! cost memory, not the simulation). CPU time is read from the thread's schedstat.

use std::time::Instant as WallClock;
use umlnet_core::link::Link;
use umlnet_sim::net::{Faults, Framing, Net, SegmentKind, SimPort};
use umlnet_sim::{Duration, rng::PPM};

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn frame(len: usize, src: u8, dst: u8) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, dst]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, src]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f
}

struct Case {
    name: &'static str,
    kind: SegmentKind,
    ports: usize,
    len: usize,
    faults: Faults,
}

fn run(case: &Case, target_frames: u64) -> (u64, f64) {
    let net = Net::new(1);
    net.set_trace_frames(false);
    net.set_capture(false);
    let seg = net.add_segment(
        case.name,
        case.kind,
        Framing::Ethernet,
        Duration::from_micros(50),
    );
    net.set_faults(seg, case.faults);
    let mut ports: Vec<SimPort> = (0..case.ports)
        .map(|i| net.attach(seg, &format!("p{i}")))
        .collect();
    let frames: Vec<Vec<u8>> = (0..case.ports)
        .map(|i| frame(case.len, i as u8, ((i + 1) % case.ports) as u8))
        .collect();
    let mut buf = vec![0u8; 2048];
    let mut moved = 0u64;
    let cpu0 = cpu_ns();
    let wall0 = WallClock::now();
    while moved < target_frames {
        for (p, f) in ports.iter_mut().zip(&frames) {
            let _ = p.send(f);
        }
        while let Some(t) = net.next_event() {
            net.advance_to(t);
            for p in ports.iter_mut() {
                while let Ok(Some(_)) = p.recv(&mut buf) {
                    moved += 1;
                }
            }
            if net.next_event().is_none() {
                break;
            }
        }
    }
    let secs = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall0.elapsed().as_secs_f64(),
    };
    (moved, secs)
}

/// The whole stack: two smoltcp guests on a uml_switch moving `bytes` over TCP.
fn guests(bytes: usize) -> (u64, f64) {
    use umlnet_sim::world::World;
    let mut w = World::new(1);
    w.net().set_trace_frames(false);
    w.net().set_capture(false);
    let sw = w.uml_switch("/tmp/bench.ctl", false);
    let a = w.add_guest("a");
    let b = w.add_guest("b");
    w.boot(a, "eth0=daemon,,unix,/tmp/bench.ctl", None)
        .expect("a");
    w.boot(b, "eth0=daemon,,unix,/tmp/bench.ctl", None)
        .expect("b");
    w.run(a, "ifconfig eth0 10.0.0.1 up");
    w.run(b, "ifconfig eth0 10.0.0.2 up");
    let data = vec![0x5a; bytes];
    let cpu0 = cpu_ns();
    let wall0 = WallClock::now();
    let got = w
        .tcp_transfer(
            a,
            b,
            "10.0.0.2".parse().expect("address"),
            9,
            &data,
            Duration::from_secs(3600),
        )
        .expect("transfer");
    assert_eq!(got.len(), bytes);
    let secs = match (cpu0, cpu_ns()) {
        (Some(x), Some(y)) => (y - x) as f64 / 1e9,
        _ => wall0.elapsed().as_secs_f64(),
    };
    (w.net().stats(sw).delivered, secs)
}

fn main() {
    let target: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_000_000);
    let lossy = Faults {
        loss: PPM / 10,
        duplicate: PPM / 10,
        reorder: PPM / 10,
        delay: PPM / 10,
        max_delay: Duration::from_millis(1),
        corrupt: PPM / 100,
    };
    let cases = [
        Case {
            name: "wire, 64 B",
            kind: SegmentKind::Wire,
            ports: 2,
            len: 64,
            faults: Faults::NONE,
        },
        Case {
            name: "switch 16 ports, 64 B",
            kind: SegmentKind::Switch { hub: false },
            ports: 16,
            len: 64,
            faults: Faults::NONE,
        },
        Case {
            name: "switch 16 ports, 1514 B",
            kind: SegmentKind::Switch { hub: false },
            ports: 16,
            len: 1514,
            faults: Faults::NONE,
        },
        Case {
            name: "hub 4 ports, 64 B",
            kind: SegmentKind::Hub,
            ports: 4,
            len: 64,
            faults: Faults::NONE,
        },
        Case {
            name: "switch 16 ports, 64 B, 10% faults",
            kind: SegmentKind::Switch { hub: false },
            ports: 16,
            len: 64,
            faults: lossy,
        },
    ];
    println!(
        "{:<36} {:>12} {:>10} {:>16}",
        "case", "frames", "cpu s", "frames/cpu s"
    );
    for case in &cases {
        let (moved, secs) = run(case, target);
        println!(
            "{:<36} {:>12} {:>10.3} {:>16.0}",
            case.name,
            moved,
            secs,
            moved as f64 / secs
        );
    }
    let (moved, secs) = guests(16 << 20);
    println!(
        "{:<36} {:>12} {:>10.3} {:>16.0}",
        "2 guests, TCP 16 MiB (whole stack)",
        moved,
        secs,
        moved as f64 / secs
    );
}
