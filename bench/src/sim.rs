//! The throughput benchmark: frames of virtual traffic moved per second of CPU.
//!
//! [`run`] drives endpoints that send frames to one another through a segment,
//! advancing the virtual clock from event to event and draining every inbox through
//! the `Link` trait, with the transcript and captures off (they cost memory, not
//! simulation). [`guests`] does the same for the whole stack: two smoltcp guests on a
//! `uml_switch` moving data over TCP. CPU time is the thread's, from
//! `/proc/thread-self/schedstat` (wall time where that is missing). `umlnet-bench sim`
//! prints a table of [`cases`].

use std::time::Instant as WallClock;

use umlnet_core::link::Link;
use umlnet_sim::Duration;
use umlnet_sim::net::{Faults, Framing, Net, SegmentKind, SimPort};
use umlnet_sim::rng::PPM;
use umlnet_sim::world::World;

/// One benchmark case.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// What it measures.
    pub name: &'static str,
    /// The segment.
    pub kind: SegmentKind,
    /// Endpoints; each sends to the next.
    pub ports: usize,
    /// Frame length in bytes.
    pub len: usize,
    /// Faults on the segment.
    pub faults: Faults,
}

/// What a case measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The case.
    pub name: String,
    /// Frames delivered into inboxes and read.
    pub frames: u64,
    /// CPU seconds it took.
    pub cpu_secs: f64,
}

impl Measured {
    /// Frames per CPU second.
    pub fn rate(&self) -> f64 {
        self.frames as f64 / self.cpu_secs.max(1e-9)
    }
}

/// The thread's CPU time in nanoseconds, if the kernel reports it.
pub fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Measures the CPU seconds `f` takes.
fn timed<R>(f: impl FnOnce() -> R) -> (R, f64) {
    let cpu0 = cpu_ns();
    let wall0 = WallClock::now();
    let r = f();
    let secs = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall0.elapsed().as_secs_f64(),
    };
    (r, secs)
}

/// A `len`-byte IPv4-typed frame from port `src` to port `dst`.
fn frame(len: usize, src: u8, dst: u8) -> Vec<u8> {
    let mut f = vec![0u8; len.max(14)];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, dst]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, src]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f
}

/// The standard cases: a wire, a 16-port switch with small and full frames, a hub,
/// and a switch with 10% loss, duplication, reordering and delay and 1% corruption.
pub fn cases() -> Vec<Case> {
    let lossy = Faults {
        loss: PPM / 10,
        duplicate: PPM / 10,
        reorder: PPM / 10,
        delay: PPM / 10,
        max_delay: Duration::from_millis(1),
        corrupt: PPM / 100,
    };
    let switch = SegmentKind::Switch { hub: false };
    vec![
        Case {
            name: "wire, 64 B",
            kind: SegmentKind::Wire,
            ports: 2,
            len: 64,
            faults: Faults::NONE,
        },
        Case {
            name: "switch 16 ports, 64 B",
            kind: switch,
            ports: 16,
            len: 64,
            faults: Faults::NONE,
        },
        Case {
            name: "switch 16 ports, 1514 B",
            kind: switch,
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
            name: "switch 16 ports, 64 B, faults",
            kind: switch,
            ports: 16,
            len: 64,
            faults: lossy,
        },
    ]
}

/// Runs `case` until at least `target` frames were delivered.
pub fn run(case: &Case, target: u64) -> Measured {
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
        .map(|i| net.attach(seg, &std::format!("p{i}")))
        .collect();
    let frames: Vec<Vec<u8>> = (0..case.ports)
        .map(|i| frame(case.len, i as u8, ((i + 1) % case.ports) as u8))
        .collect();
    let mut buf = vec![0u8; 2048];
    let (moved, cpu_secs) = timed(|| {
        let mut moved = 0u64;
        while moved < target {
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
            }
        }
        moved
    });
    Measured {
        name: case.name.into(),
        frames: moved,
        cpu_secs,
    }
}

/// The whole stack: two smoltcp guests on a `uml_switch` moving `bytes` over TCP;
/// counts the frames the switch delivered.
pub fn guests(bytes: usize) -> Measured {
    let mut w = World::new(1);
    w.net().set_trace_frames(false);
    w.net().set_capture(false);
    let sw = w.uml_switch("/tmp/bench.ctl", false);
    let a = w.add_guest("a");
    let b = w.add_guest("b");
    for g in [a, b] {
        w.boot(g, "eth0=daemon,,unix,/tmp/bench.ctl", None)
            .expect("a daemon device");
    }
    w.run(a, "ifconfig eth0 10.0.0.1 up");
    w.run(b, "ifconfig eth0 10.0.0.2 up");
    let data = vec![0x5a; bytes];
    let (got, cpu_secs) = timed(|| {
        w.tcp_transfer(
            a,
            b,
            core::net::Ipv4Addr::new(10, 0, 0, 2),
            9,
            &data,
            Duration::from_secs(3600),
        )
    });
    assert_eq!(
        got.map(|g| g.len()),
        Ok(bytes),
        "the benchmark transfer failed"
    );
    Measured {
        name: std::format!("2 guests, TCP {} KiB (whole stack)", bytes / 1024),
        frames: w.net().stats(sw).delivered,
        cpu_secs,
    }
}
