//! The kernel floor of a broadcast row: what the kernel alone takes to hand one frame
//! to one receiver, measured with no switch at all ([`fanout_floor`]), and how far any
//! switch could get in that row ([`FloorSummary`]).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use umlnet_linux::switchd::client::uml_like_addr;
use umlnet_linux::sys::process::pin_to_cpu;
use umlnet_linux::sys::socket::{DgramSocket, SOCKADDR_UN_LEN, SendBatch};

use super::receive::{Arrivals, receive_until_idle};
use super::row::{Cell, Clients, RowResult, best_other};
use super::scenario::{SCENARIOS, frame, mac, wide_broadcast};

/// The kernel's floor for a broadcast row, measured with no switch at all ([`fanout_floor`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    /// Nanoseconds spent inside `sendmmsg` per datagram queued: what the kernel takes
    /// to hand one frame to one receiver, which any switch that delivers with unix
    /// datagrams pays once per delivered frame. The sending thread has its CPU to
    /// itself, so this wall time is its CPU time.
    pub send_ns: f64,
    /// Datagrams queued.
    pub sent: u64,
    /// Sends the kernel refused because a receiver's queue was full. The floor never
    /// sends more than a queue holds, so this stays 0; a refused send would be time
    /// spent without a delivery.
    pub refused: u64,
}

/// How many datagrams a receiving unix socket queues (`net.unix.max_dgram_qlen`; the
/// kernel takes one more before it refuses, so a sender that keeps at most this many
/// queued is never refused).
fn dgram_queue_len() -> u64 {
    std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n: &u64| n > 0)
        .unwrap_or(10)
}

/// The kernel's floor for a broadcast row: what one delivery costs when nothing but the
/// delivery is done. One thread on `cpu` (the switch's CPU in the table) hands
/// `len`-byte frames to `n` receivers over connected sockets, in one `sendmmsg` per
/// receiver with as many frames as its queue has room for (so the kernel never refuses
/// one and every send is a delivery), for `secs` seconds, and times each call; the
/// receivers take them as the table's generator does (`clients`). A switch does all of
/// this and more per delivered frame (it also has to take the frame in and decide where
/// it goes), so its CPU time per delivered frame cannot be below [`Floor::send_ns`].
pub fn fanout_floor(
    n: usize,
    len: usize,
    secs: f64,
    cpu: usize,
    clients: Clients,
) -> io::Result<Floor> {
    let mut receivers = Vec::with_capacity(n);
    let mut senders = Vec::with_capacity(n);
    for i in 0..n {
        let tag = 30_000 + i as u32;
        let addr = uml_like_addr(std::process::id(), tag, u64::from(tag) + 7);
        let r = DgramSocket::bind_raw(addr.as_bytes(), SOCKADDR_UN_LEN)?;
        let s = DgramSocket::new()?;
        s.connect_raw(addr.as_bytes(), SOCKADDR_UN_LEN)?;
        s.set_nonblocking(true)?;
        receivers.push(r);
        senders.push(s);
    }
    let queue = dgram_queue_len();
    let stop = AtomicBool::new(false);
    let arrivals = Arrivals::new(n);
    std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            let socks: Vec<&DgramSocket> = receivers.iter().collect();
            receive_until_idle(&socks, clients, &stop, &arrivals)
        });
        let tx = scope.spawn(|| -> io::Result<Floor> {
            pin_to_cpu(cpu)?;
            let f = frame([0xff; 6], mac(1, 0), len);
            let frames: Vec<&[u8]> = vec![&f[..]; queue as usize];
            let mut scratch = SendBatch::new();
            let mut queued = vec![0u64; n];
            let mut busy = Duration::ZERO;
            let mut refused = 0;
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            while Instant::now() < deadline {
                for (i, s) in senders.iter().enumerate() {
                    let waiting = queued[i] - arrivals.each[i].load(Ordering::Relaxed);
                    let room = queue.saturating_sub(waiting) as usize;
                    if room == 0 {
                        continue;
                    }
                    let t = Instant::now();
                    let r = s.send_batch_connected(&mut scratch, &frames[..room]);
                    busy += t.elapsed();
                    match r {
                        Ok(k) => queued[i] += k as u64,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => refused += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
            let sent = queued.iter().sum::<u64>();
            Ok(Floor {
                send_ns: busy.as_nanos() as f64 / sent.max(1) as f64,
                sent,
                refused,
            })
        });
        let floor = tx
            .join()
            .map_err(|_| io::Error::other("floor sender panicked"));
        stop.store(true, Ordering::Relaxed);
        rx.join()
            .map_err(|_| io::Error::other("floor receiver panicked"))??;
        floor?
    })
}

/// The kernel floor of the wide broadcast row next to what the switches spent there:
/// the numbers of the floor's table.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorSummary {
    /// The row's name.
    pub row: &'static str,
    /// Floor measurements taken.
    pub runs: usize,
    /// The median floor, in nanoseconds per delivered frame ([`Floor::send_ns`]).
    pub floor_ns: f64,
    /// The best other switch's CPU per delivered frame in that row, in nanoseconds.
    pub best_other_ns: Option<f64>,
    /// Ours' CPU per delivered frame in that row, in nanoseconds.
    pub ours_ns: Option<f64>,
}

impl FloorSummary {
    /// Row `i`'s kernel floor ([`fanout_floor`], the median of `floors`) with the CPU
    /// per delivered frame of the best original and of ours in that row (`cols`, ours
    /// first). `None` if no floor was measured or row `i` is not the wide broadcast row.
    pub fn of(i: usize, mut floors: Vec<f64>, cols: &[Vec<Cell>]) -> Option<FloorSummary> {
        let sc = SCENARIOS.get(i)?;
        wide_broadcast(sc)?;
        floors.sort_by(f64::total_cmp);
        let floor_ns = *floors.get(floors.len() / 2)?;
        let best = best_other(cols, i, RowResult::cpu_per_frame, f64::min, f64::INFINITY);
        Some(FloorSummary {
            row: sc.name,
            runs: floors.len(),
            floor_ns,
            best_other_ns: best.is_finite().then_some(best),
            ours_ns: cols
                .first()
                .and_then(|c| c[i].ok())
                .and_then(|r| r.cpu_per_frame()),
        })
    }

    /// Where the switch's CPU is the limit, no switch can deliver more than this many
    /// times the best other's frames/s: the best other's CPU per delivered frame over
    /// the floor.
    pub fn limit(&self) -> Option<f64> {
        self.best_other_ns.map(|best| best / self.floor_ns)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_kernel_floor_times_deliveries_and_never_overfills_a_queue() {
        // Only unix sockets of this process: no root, no real peer needed.
        for clients in [Clients::Sleeping, Clients::Spinning] {
            let f = fanout_floor(64, 60, 0.2, 0, clients).expect("kernel floor");
            assert!(f.sent > 1000, "{clients:?}: {f:?}");
            assert_eq!(
                f.refused, 0,
                "{clients:?}: a send went to a full queue: {f:?}"
            );
            assert!(
                f.send_ns.is_finite() && f.send_ns > 0.0,
                "{clients:?}: {f:?}"
            );
        }
    }

    #[test]
    fn the_floor_bounds_the_row_by_the_best_original_over_the_median_floor() {
        let i = SCENARIOS
            .iter()
            .position(|sc| wide_broadcast(sc).is_some())
            .expect("a wide row");
        // ns of switch CPU per delivered frame: ours 1300, the originals 2000 and 1650.
        let cell = |ns_per_frame: u64| RowResult {
            delivered: 1000,
            switch_cpu_ns: Some(ns_per_frame * 1000),
            ..RowResult::default()
        };
        let mut cols = vec![vec![Err("skipped"); SCENARIOS.len()]; 3];
        for (col, ns) in cols.iter_mut().zip([1300, 2000, 1650]) {
            col[i] = Ok(cell(ns));
        }
        let f = FloorSummary::of(i, vec![1200.0, 1000.0, 1100.0], &cols).expect("a floor");
        assert_eq!(f.floor_ns, 1100.0, "{f:?}");
        assert_eq!(f.runs, 3, "{f:?}");
        assert_eq!(f.best_other_ns, Some(1650.0), "{f:?}");
        assert_eq!(f.limit(), Some(1.5), "{f:?}");
        assert_eq!(f.ours_ns, Some(1300.0), "{f:?}");
        // No floor measured, or not the wide row: no summary.
        assert!(FloorSummary::of(i, Vec::new(), &cols).is_none());
        assert!(FloorSummary::of(0, vec![1000.0], &cols).is_none());
    }
}
