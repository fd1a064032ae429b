//! A load generator for switches that speak the daemon protocol: ours, the original
//! `uml_switch` and `vde_switch`, measured side by side (`uml_switch_bench`).
//!
//! Clients attach exactly as the UML kernel does ([`super::client`]): abstract
//! 110-byte data addresses, never connected. The switch runs pinned to one CPU
//! (`taskset`), the generator to another. Rows: unicast 1→1 and 2→2 with 60- and
//! 1514-byte frames, broadcast to 3 and to 999 ports, paced and windowed rows, and a
//! ping-pong round trip.
//!
//! The clients wait for frames in one of two ways ([`Clients`]): asleep, as UML kernels
//! do (blocking `sendmmsg` per sender thread, one receiving thread in `epoll_wait` at a
//! higher priority, [`RECEIVER_NICE`] over [`SENDER_NICE`], since they share the
//! generator's CPU), so a switch pays for waking its clients; or spinning, one thread
//! that never sleeps, so what is left is the switch's own work per frame.
//!
//! Method, the same for every switch: in the throughput rows a sender keeps at most
//! [`THROUGHPUT_WINDOW`] frames in flight per receiver: otherwise a sender that is
//! cheaper per frame than its receivers outruns them and the row measures the
//! scheduler, not the switch. Paced rows show the loss when the receivers keep up.
//! Delivered frames/s is counted at the receivers, over the time until the last frame
//! arrived (frames a switch queued and delivered after the senders stopped count, and
//! so does the time they took); loss is 1 − delivered ÷ (sent × receivers per frame);
//! each cell is the median of `--repeat` runs, each on a fresh switch. The switch's
//! CPU time per delivered frame (`/proc/<pid>/schedstat`) is shown too: it tells
//! whether the switch or the generator limited a row (the switch's share of its CPU)
//! and what a frame costs the switch, which other load on the machine disturbs less
//! than the rate (ours includes its busy-poll windows). Right after the switches ran
//! the 999-port row, [`fanout_floor`] measures that row's kernel floor: the time the
//! kernel alone takes to hand one frame to one receiver, which every switch pays per
//! delivered frame, so the table can say how far any switch could get there.

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{Client, uml_like_addr};
use crate::sys::epoll::Poller;
use crate::sys::process::{pin_to_cpu, set_thread_nice};
use crate::sys::socket::{DgramSocket, RecvBatch, SOCKADDR_UN_LEN, SendBatch};

/// Nice value of the generator's receiving thread: it runs whenever frames wait, so the
/// receivers keep up and what is measured is the switch, not the generator's scheduler.
pub const RECEIVER_NICE: i32 = -10;
/// Nice value of the sending threads: they take the generator CPU the receivers leave.
pub const SENDER_NICE: i32 = 10;

/// Which switch program a row runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Our `uml_switch` at this path.
    Ours(PathBuf),
    /// uml-utilities' `uml_switch` at this path.
    Original(PathBuf),
    /// vde2's `vde_switch` at this path.
    Vde(PathBuf),
}

impl Target {
    /// A short column name.
    pub fn label(&self) -> &'static str {
        match self {
            Target::Ours(_) => "ours",
            Target::Original(_) => "uml_switch",
            Target::Vde(_) => "vde_switch",
        }
    }
}

/// A running switch, killed on drop.
pub struct Running {
    child: Child,
    _stdin: Option<ChildStdin>,
    ctl: PathBuf,
}

impl Running {
    /// Starts `target` with its sockets under `dir`, pinned to `cpu`, and waits for
    /// its control socket.
    pub fn start(target: &Target, dir: &Path, cpu: usize) -> io::Result<Running> {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(cpu.to_string());
        let ctl = match target {
            Target::Ours(p) => {
                let ctl = dir.join("ours.ctl");
                cmd.arg(p).arg("-unix").arg(&ctl);
                ctl
            }
            Target::Original(p) => {
                let ctl = dir.join("orig.ctl");
                cmd.arg(p).arg("-unix").arg(&ctl);
                ctl
            }
            Target::Vde(p) => {
                let d = dir.join("vde");
                cmd.arg(p).arg("-s").arg(&d).arg("-n").arg("1100");
                d.join("ctl")
            }
        };
        let _ = std::fs::remove_file(&ctl);
        // stdin stays an open pipe: vde_switch leaves on EOF of stdin.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        let end = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&ctl).is_err() {
            if Instant::now() > end || child.try_wait()?.is_some() {
                let _ = child.kill();
                return Err(io::Error::other(format!(
                    "{} did not come up at {}",
                    target.label(),
                    ctl.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Running {
            child,
            _stdin: stdin,
            ctl,
        })
    }

    /// The control socket path.
    pub fn ctl(&self) -> &Path {
        &self.ctl
    }

    /// The switch's process id (`taskset` execs it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A traffic pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `n` independent sender→receiver pairs, unicast.
    Pairs(usize),
    /// One sender, broadcast frames, `n` receivers.
    Broadcast(usize),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Row label.
    pub name: &'static str,
    /// Traffic pattern.
    pub pattern: Pattern,
    /// Frame length in bytes.
    pub frame_len: usize,
    /// Frames per second per sender (`None`: as fast as the switch takes them). A paced
    /// row shows the loss when the receivers can keep up.
    pub rate: Option<u64>,
    /// At most this many frames per sender in flight (sent but not yet received by every
    /// receiver): the lossless throughput when the receivers share the generator's CPU.
    pub window: Option<u64>,
}

impl Scenario {
    /// Frames a sender hands over per `sendmmsg`: half the window in the throughput
    /// rows, a few in the paced and small-window ones.
    fn burst(&self) -> u64 {
        match (self.rate, self.window) {
            (_, Some(w)) if w >= 64 => 32,
            (_, Some(w)) => w.min(4),
            (Some(_), None) => 4,
            (None, None) => 32,
        }
    }

    /// The frame sender `i` sends: to its receiver, or to everybody.
    fn sender_frame(&self, i: usize) -> Vec<u8> {
        let dst = match self.pattern {
            Pattern::Pairs(_) => mac(2, i),
            Pattern::Broadcast(_) => [0xff; 6],
        };
        frame(dst, mac(1, i), self.frame_len)
    }
}

/// Frames a sender may have in flight (sent, not yet received by every receiver) in the
/// throughput rows. The generator's senders and receivers share one CPU, so an open-loop
/// sender that is cheaper per frame than its receivers outruns them and the row would
/// measure how the scheduler splits that CPU; with this window the senders wait for the
/// receivers, as a sender on a machine of its own would not need to. It is far above
/// what the round trip needs (about 15 frames at 300k frames/s and 50 µs), so it does
/// not cap the switch; frames lost anyway are written off after [`GIVE_UP`] without
/// arrivals.
pub const THROUGHPUT_WINDOW: u64 = 64;

/// How long a sender whose window is full waits with nothing arriving before it writes
/// off what it has in flight as lost.
pub const GIVE_UP: Duration = Duration::from_millis(2);

/// A sender's count of frames in flight, in deliveries (frames × receivers per frame):
/// sent, less what has arrived, less what was written off as lost. A frame a switch
/// drops never arrives; without the write-off every loss would shrink the window for
/// good, and a switch that loses a few dozen frames would be measured at the pace of
/// [`GIVE_UP`].
#[derive(Debug, Clone, Copy, Default)]
struct InFlight {
    written_off: u64,
}

impl InFlight {
    /// Deliveries sent and not yet arrived or written off.
    fn count(&self, sent: u64, arrived: u64) -> u64 {
        sent.saturating_sub(arrived.saturating_add(self.written_off))
    }

    /// Nothing arrived for [`GIVE_UP`]: what is in flight is lost.
    fn write_off(&mut self, sent: u64, arrived: u64) {
        self.written_off += self.count(sent, arrived);
    }
}

/// The standard rows.
pub const SCENARIOS: [Scenario; 11] = [
    Scenario {
        name: "1->1 60B",
        pattern: Pattern::Pairs(1),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "1->1 1514B",
        pattern: Pattern::Pairs(1),
        frame_len: 1514,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "2->2 60B",
        pattern: Pattern::Pairs(2),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "2->2 1514B",
        pattern: Pattern::Pairs(2),
        frame_len: 1514,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "bcast->3 60B",
        pattern: Pattern::Broadcast(3),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "bcast->999 60B",
        pattern: Pattern::Broadcast(999),
        frame_len: 60,
        rate: None,
        window: Some(THROUGHPUT_WINDOW),
    },
    Scenario {
        name: "1->1 60B @20k/s",
        pattern: Pattern::Pairs(1),
        frame_len: 60,
        rate: Some(20_000),
        window: None,
    },
    Scenario {
        name: "2->2 1514B @10k/s",
        pattern: Pattern::Pairs(2),
        frame_len: 1514,
        rate: Some(10_000),
        window: None,
    },
    Scenario {
        name: "1->1 60B window 8",
        pattern: Pattern::Pairs(1),
        frame_len: 60,
        rate: None,
        window: Some(8),
    },
    Scenario {
        name: "2->2 1514B window 8",
        pattern: Pattern::Pairs(2),
        frame_len: 1514,
        rate: None,
        window: Some(8),
    },
    Scenario {
        name: "bcast->999 60B window 4",
        pattern: Pattern::Broadcast(999),
        frame_len: 60,
        rate: None,
        window: Some(4),
    },
];

/// What one row measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowResult {
    /// Frames the senders handed to the switch.
    pub sent: u64,
    /// Frames the receivers got.
    pub delivered: u64,
    /// Frames that should have arrived (sent × receivers per frame).
    pub expected: u64,
    /// Seconds from the start until the last frame arrived (or sending stopped, if
    /// later): frames a switch held back and delivered after the senders stopped took
    /// that long.
    pub secs: f64,
    /// Receivers that got at least one frame.
    pub reached: usize,
    /// Receivers in the row.
    pub receivers: usize,
    /// CPU time the switch used while the row ran (from `/proc/<pid>/schedstat`), in
    /// nanoseconds, when its process id was given.
    pub switch_cpu_ns: Option<u64>,
}

impl RowResult {
    /// Delivered frames per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.delivered as f64 / self.secs
        } else {
            0.0
        }
    }
    /// Nanoseconds of switch CPU per delivered frame: what the switch itself costs,
    /// whoever (switch or generator) limits the rate, and little affected by other
    /// load on the machine.
    pub fn cpu_per_frame(&self) -> Option<f64> {
        match self.switch_cpu_ns {
            Some(ns) if self.delivered > 0 => Some(ns as f64 / self.delivered as f64),
            _ => None,
        }
    }
    /// Share of one CPU the switch used while the row ran.
    pub fn cpu_share(&self) -> Option<f64> {
        match self.switch_cpu_ns {
            Some(ns) if self.secs > 0.0 => Some(ns as f64 / 1e9 / self.secs),
            _ => None,
        }
    }
    /// Fraction of expected frames that did not arrive.
    pub fn loss(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            1.0 - (self.delivered as f64 / self.expected as f64).min(1.0)
        }
    }
}

fn mac(role: u8, i: usize) -> [u8; 6] {
    [0x02, 0xbe, role, 0, (i >> 8) as u8, i as u8]
}

fn frame(dst: [u8; 6], src: [u8; 6], len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(14)];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f
}

fn attach(ctl: &Path, tag: u32) -> io::Result<Client> {
    let c = Client::attach(
        ctl,
        uml_like_addr(
            std::process::id(),
            tag,
            u64::from(tag).wrapping_mul(0x9e37_79b9) + 3,
        ),
    )?;
    let _ = c.data().set_recv_buffer(1 << 20);
    Ok(c)
}

fn drain_all(cs: &[Client]) {
    let mut buf = [0u8; 2048];
    for c in cs {
        while let Ok(Some(_)) = c.try_recv(&mut buf) {}
    }
}

/// CPU time a process has run, in nanoseconds (`/proc/<pid>/schedstat`, first field).
pub fn cpu_ns(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How the generator's clients wait for frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clients {
    /// As UML kernels do: asleep until a frame comes (and a blocked sender asleep until
    /// the switch's queue has room), so every frame a switch sends to an idle client
    /// pays for waking it up.
    #[default]
    Sleeping,
    /// Busy-polling clients that never sleep: what is left is the switch's own work per
    /// frame, most of it the kernel's work for one datagram in and one out.
    Spinning,
}

/// Runs one row against the switch at `ctl` for `secs` seconds with `clients`; with
/// `switch_pid`, also measures the CPU time the switch used meanwhile.
pub fn run_row(
    ctl: &Path,
    sc: &Scenario,
    secs: f64,
    clients: Clients,
    switch_pid: Option<u32>,
) -> io::Result<RowResult> {
    let (nsend, nrecv, per_frame) = match sc.pattern {
        Pattern::Pairs(n) => (n, n, 1u64),
        Pattern::Broadcast(n) => (1, n, n as u64),
    };
    let mut senders = Vec::with_capacity(nsend);
    for i in 0..nsend {
        senders.push(attach(ctl, 1 + i as u32)?);
    }
    let mut receivers = Vec::with_capacity(nrecv);
    for i in 0..nrecv {
        receivers.push(attach(ctl, 10_000 + i as u32)?);
    }
    // Everybody announces its address so that the switch learns it.
    for (i, r) in receivers.iter().enumerate() {
        let _ = r.send(&frame([0xff; 6], mac(2, i), 60));
        if i % 8 == 7 {
            std::thread::sleep(Duration::from_millis(1));
            drain_all(&receivers);
        }
    }
    for (i, s) in senders.iter().enumerate() {
        let _ = s.send(&frame([0xff; 6], mac(1, i), 60));
    }
    std::thread::sleep(Duration::from_millis(200));
    drain_all(&receivers);
    drain_all(&senders);

    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let cpu_before = switch_pid.and_then(cpu_ns);
    let (sent, counts, elapsed) = match clients {
        Clients::Sleeping => generate_sleeping(sc, senders, receivers, per_frame, deadline)?,
        Clients::Spinning => {
            let r = generate_spinning(sc, &senders, &receivers, per_frame, deadline)?;
            drop(senders);
            drop(receivers);
            r
        }
    };
    let switch_cpu_ns = match (cpu_before, switch_pid.and_then(cpu_ns)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let elapsed = elapsed.duration_since(started).as_secs_f64();
    Ok(RowResult {
        sent,
        delivered: counts.iter().sum(),
        expected: sent * per_frame,
        secs: elapsed,
        reached: counts.iter().filter(|c| **c > 0).count(),
        receivers: nrecv,
        switch_cpu_ns,
    })
}

/// The generator as UML kernels behave: a receiving thread that sleeps in `epoll_wait`
/// until frames come, and a thread per sender whose blocking `sendmmsg` sleeps while
/// the switch's queue is full. Senders and receivers share the generator's one CPU, so
/// the receiving thread runs at a higher priority ([`RECEIVER_NICE`]) than the senders
/// ([`SENDER_NICE`]). Returns the frames sent, the frames each receiver got and when
/// the last frame arrived (or sending stopped, if later).
fn generate_sleeping(
    sc: &Scenario,
    senders: Vec<Client>,
    receivers: Vec<Client>,
    per_frame: u64,
    deadline: Instant,
) -> io::Result<(u64, Vec<u64>, Instant)> {
    let nsend = senders.len();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_rx = stop.clone();
    let arrivals = Arc::new(Arrivals::new(receivers.len()));
    let arrivals_rx = arrivals.clone();
    let rx = std::thread::spawn(move || -> io::Result<(Vec<u64>, Vec<Client>, Instant)> {
        let (counts, last) = {
            let socks: Vec<&DgramSocket> = receivers.iter().map(Client::data).collect();
            receive_until_idle(&socks, Clients::Sleeping, &stop_rx, &arrivals_rx)?
        };
        Ok((counts, receivers, last))
    });

    let mut handles = Vec::new();
    for (i, s) in senders.into_iter().enumerate() {
        let f = sc.sender_frame(i);
        let burst = sc.burst() as usize;
        let rate = sc.rate;
        let window = sc.window;
        let arrivals = arrivals.clone();
        let nsenders = nsend as u64;
        handles.push(std::thread::spawn(move || -> io::Result<(u64, Client)> {
            let _ = set_thread_nice(SENDER_NICE);
            s.data().set_nonblocking(false)?;
            s.data().set_send_timeout(Duration::from_millis(50))?;
            let to = *s.switch_addr().as_bytes();
            let msgs: Vec<(&[u8], &[u8; 110])> = (0..burst).map(|_| (&f[..], &to)).collect();
            let mut scratch = SendBatch::new();
            let mut sent = 0u64;
            let mut in_flight = InFlight::default();
            let t0 = Instant::now();
            while Instant::now() < deadline {
                if let Some(w) = window {
                    // Each sender owns 1/nsenders of the receivers' progress.
                    let limit = (w - burst as u64) * per_frame;
                    let delivered = &arrivals.total;
                    let mut seen = delivered.load(Ordering::Relaxed);
                    let mut give_up = Instant::now() + GIVE_UP;
                    loop {
                        let now_delivered = delivered.load(Ordering::Relaxed);
                        let arrived = now_delivered / nsenders;
                        if in_flight.count(sent * per_frame, arrived) <= limit {
                            break;
                        }
                        let now = Instant::now();
                        if now_delivered != seen {
                            seen = now_delivered;
                            give_up = now + GIVE_UP;
                        } else if now >= give_up.min(deadline) {
                            in_flight.write_off(sent * per_frame, arrived);
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
                if let Some(r) = rate {
                    let due = t0 + Duration::from_secs_f64(sent as f64 / r as f64);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                match s.data().send_batch(&mut scratch, &msgs) {
                    Ok(n) => sent += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            Ok((sent, s))
        }));
    }
    let mut sent = 0;
    let mut keep = Vec::new();
    for h in handles {
        let (n, c) = h
            .join()
            .map_err(|_| io::Error::other("sender panicked"))??;
        sent += n;
        keep.push(c);
    }
    let stopped = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let (counts, receivers, last) = rx
        .join()
        .map_err(|_| io::Error::other("receiver panicked"))??;
    drop(keep);
    drop(receivers);
    Ok((sent, counts, stopped.max(last)))
}

/// From this many receivers on, the generator asks epoll which have frames (without
/// waiting) instead of trying each one.
const EPOLL_FROM: usize = 16;

/// Takes every frame queued for `r`, adds their number to `count` and returns it.
fn drain_counted(r: &DgramSocket, batch: &mut RecvBatch, count: &mut u64) -> io::Result<u64> {
    let mut got = 0;
    loop {
        let n = r.recv_batch(batch)?;
        got += n as u64;
        if n < batch.capacity() {
            *count += got;
            return Ok(got);
        }
    }
}

/// What the receiving thread has taken so far, published as it goes.
struct Arrivals {
    /// Frames, all receivers together.
    total: AtomicU64,
    /// Frames per receiver.
    each: Vec<AtomicU64>,
}

impl Arrivals {
    fn new(receivers: usize) -> Arrivals {
        Arrivals {
            total: AtomicU64::new(0),
            each: (0..receivers).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The receiving side of the sleeping generator (and of [`fanout_floor`]): waits in
/// `epoll_wait` for any of `receivers` to have frames and takes all they have, at a
/// higher priority than the senders ([`RECEIVER_NICE`]), publishing to `arrivals` as
/// it goes, until `stop` is set and nothing has arrived for 200 ms. With
/// [`Clients::Spinning`] it never sleeps: it asks epoll without waiting, over and
/// over. Returns the frames each receiver got and when the last arrived.
fn receive_until_idle(
    receivers: &[&DgramSocket],
    clients: Clients,
    stop: &AtomicBool,
    arrivals: &Arrivals,
) -> io::Result<(Vec<u64>, Instant)> {
    let wait = match clients {
        Clients::Sleeping => {
            // Receivers first: on the generator's one CPU a sender that is cheaper per
            // frame than its receiver would otherwise starve it and measure the generator.
            let _ = set_thread_nice(RECEIVER_NICE);
            Duration::from_millis(10)
        }
        Clients::Spinning => Duration::ZERO,
    };
    let mut poller = Poller::new(1024)?;
    for (i, r) in receivers.iter().enumerate() {
        poller.add(r.as_raw_fd(), i as u64)?;
    }
    let mut counts = vec![0u64; receivers.len()];
    let mut batch = RecvBatch::new(64, 1518);
    let mut idle_since: Option<Instant> = None;
    let mut last = Instant::now();
    let mut ready: Vec<u64> = Vec::with_capacity(receivers.len());
    loop {
        ready.clear();
        ready.extend(poller.wait(Some(wait))?.map(|r| r.token));
        if ready.is_empty() && stop.load(Ordering::Relaxed) {
            let t = *idle_since.get_or_insert_with(Instant::now);
            if t.elapsed() > Duration::from_millis(200) {
                return Ok((counts, last));
            }
            continue;
        }
        idle_since = None;
        for &t in &ready {
            let t = t as usize;
            let got = drain_counted(receivers[t], &mut batch, &mut counts[t])?;
            if got > 0 {
                last = Instant::now();
                arrivals.each[t].fetch_add(got, Ordering::Relaxed);
                arrivals.total.fetch_add(got, Ordering::Relaxed);
            }
        }
    }
}

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

/// The generator as busy-polling clients behave: one thread on its own CPU that never
/// sleeps. It sends bursts from every sender while the row's window (and pace) allow,
/// non-blocking (a full switch queue just means "not now"), and takes whatever the
/// receivers have, until `deadline`; then it drains until nothing has arrived for
/// 200 ms. Returns the frames sent, the frames each receiver got and when the last
/// frame arrived (or sending stopped, if later).
///
/// Nothing here waits in the kernel, so a frame the switch sends never has to wake the
/// generator up, whichever switch it is: what the row measures is the switch's own
/// work per frame (and a switch that sleeps between frames pays for its own wake-ups).
fn generate_spinning(
    sc: &Scenario,
    senders: &[Client],
    receivers: &[Client],
    per_frame: u64,
    deadline: Instant,
) -> io::Result<(u64, Vec<u64>, Instant)> {
    for c in senders.iter().chain(receivers) {
        c.data().set_nonblocking(true)?;
    }
    let mut poller = if receivers.len() >= EPOLL_FROM {
        let p = Poller::new(receivers.len())?;
        for (i, r) in receivers.iter().enumerate() {
            p.add(r.data().as_raw_fd(), i as u64)?;
        }
        Some(p)
    } else {
        None
    };
    let burst = sc.burst();
    let frames: Vec<Vec<u8>> = (0..senders.len()).map(|i| sc.sender_frame(i)).collect();
    let msgs: Vec<Vec<(&[u8], &[u8; 110])>> = senders
        .iter()
        .zip(&frames)
        .map(|(s, f)| {
            (0..burst)
                .map(|_| (&f[..], s.switch_addr().as_bytes()))
                .collect()
        })
        .collect();
    let mut sent = vec![0u64; senders.len()];
    let mut in_flight = vec![InFlight::default(); senders.len()];
    let mut wrote_off = vec![Instant::now(); senders.len()];
    let mut counts = vec![0u64; receivers.len()];
    let mut delivered = 0u64;
    let mut batch = RecvBatch::new(64, 1518);
    let mut scratch = SendBatch::new();
    let mut ready: Vec<u64> = Vec::with_capacity(receivers.len());
    let t0 = Instant::now();
    let mut last_arrival = t0;
    let mut stopped: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if stopped.is_none() && now >= deadline {
            stopped = Some(now);
        }
        for (i, s) in senders.iter().enumerate().filter(|_| stopped.is_none()) {
            let mut n = burst;
            if let Some(w) = sc.window {
                // Frames of this sender that not every receiver has yet.
                let arrived = match sc.pattern {
                    Pattern::Pairs(_) => counts[i],
                    Pattern::Broadcast(_) => delivered,
                };
                let mut room =
                    w.saturating_sub(in_flight[i].count(sent[i] * per_frame, arrived) / per_frame);
                if room == 0 {
                    if now.duration_since(last_arrival.max(wrote_off[i])) < GIVE_UP {
                        continue;
                    }
                    in_flight[i].write_off(sent[i] * per_frame, arrived);
                    wrote_off[i] = now;
                    room = w;
                }
                n = n.min(room);
            }
            if let Some(r) = sc.rate {
                let due = (now.duration_since(t0).as_secs_f64() * r as f64) as u64;
                n = n.min(due.saturating_sub(sent[i]));
            }
            if n == 0 {
                continue;
            }
            match s.data().send_batch(&mut scratch, &msgs[i][..n as usize]) {
                Ok(k) => sent[i] += k as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        let mut got = 0;
        match &mut poller {
            None => {
                for (r, c) in receivers.iter().zip(counts.iter_mut()) {
                    got += drain_counted(r.data(), &mut batch, c)?;
                }
            }
            Some(p) => {
                ready.clear();
                ready.extend(p.wait(Some(Duration::ZERO))?.map(|r| r.token));
                for &t in &ready {
                    let t = t as usize;
                    got += drain_counted(receivers[t].data(), &mut batch, &mut counts[t])?;
                }
            }
        }
        delivered += got;
        if got > 0 {
            last_arrival = now;
        } else if let Some(t) = stopped
            && now.duration_since(last_arrival.max(t)) > Duration::from_millis(200)
        {
            return Ok((sent.iter().sum(), counts, t.max(last_arrival)));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Ping-pong between two ports: the median and 99th percentile round trip.
pub fn run_rtt(ctl: &Path, iterations: usize) -> io::Result<(Duration, Duration)> {
    let a = attach(ctl, 50_001)?;
    let b = attach(ctl, 50_002)?;
    let fa = frame(mac(3, 2), mac(3, 1), 60);
    let fb = frame(mac(3, 1), mac(3, 2), 60);
    let mut buf = [0u8; 2048];
    let mut rtts = VecDeque::with_capacity(iterations);
    let timeout = Duration::from_millis(200);
    for i in 0..iterations + 100 {
        let t0 = Instant::now();
        a.send(&fa)?;
        let got_b = b.recv_timeout(&mut buf, timeout)?.is_some();
        b.send(&fb)?;
        let got_a = a.recv_timeout(&mut buf, timeout)?.is_some();
        if i >= 100 && got_a && got_b {
            rtts.push_back(t0.elapsed());
        }
    }
    let mut v: Vec<Duration> = rtts.into_iter().collect();
    if v.is_empty() {
        return Err(io::Error::other("no round trip completed"));
    }
    v.sort();
    Ok((v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)]))
}

/// Options of a whole run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The switches to compare, in column order (ours first).
    pub targets: Vec<Target>,
    /// Seconds of traffic per row.
    pub seconds: f64,
    /// Round trips measured.
    pub rtt_iterations: usize,
    /// CPU for the switch.
    pub switch_cpu: usize,
    /// Scratch directory for the sockets.
    pub dir: PathBuf,
    /// Only rows whose name contains this text (empty: all).
    pub only: String,
    /// Runs per row and switch; the median (by rate) is reported.
    pub repeat: usize,
    /// How the generator's clients wait for frames.
    pub clients: Clients,
}

/// The best value of row `i` among the switches after ours (the first column): `pick`
/// reads a value from a run, `better` keeps one of two (`f64::max` or `f64::min`),
/// starting from `worst`.
fn best_other(
    cols: &[Vec<Result<RowResult, &'static str>>],
    i: usize,
    pick: impl Fn(&RowResult) -> Option<f64>,
    better: fn(f64, f64) -> f64,
    worst: f64,
) -> f64 {
    cols.iter()
        .skip(1)
        .filter_map(|c| c[i].as_ref().ok().and_then(&pick))
        .fold(worst, better)
}

/// The rows again, as switch CPU time per delivered frame (same runs).
fn cpu_table(s: &mut String, opts: &BenchOptions, cols: &[Vec<Result<RowResult, &'static str>>]) {
    s.push_str("| switch CPU per delivered frame (share of its CPU) |");
    for _ in &opts.targets {
        s.push_str(" |");
    }
    s.push_str(" best other ÷ ours |\n");
    for (i, sc) in SCENARIOS.iter().enumerate() {
        s.push_str(&format!("| {} |", sc.name));
        for col in cols {
            match col[i]
                .ok()
                .and_then(|r| Some((r.cpu_per_frame()?, r.cpu_share()?)))
            {
                Some((ns, share)) => s.push_str(&format!(" {ns:.0} ns ({:.0}%) |", share * 100.0)),
                None => s.push_str(" – |"),
            }
        }
        let ours = cols
            .first()
            .and_then(|c| c[i].ok())
            .and_then(|r| r.cpu_per_frame());
        let best = best_other(cols, i, RowResult::cpu_per_frame, f64::min, f64::INFINITY);
        match ours {
            Some(o) if best.is_finite() && o > 0.0 => s.push_str(&format!(" {:.2}× |\n", best / o)),
            _ => s.push_str(" – |\n"),
        }
    }
}

/// Runs every row against every target and returns the table (Markdown).
pub fn run(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> io::Result<String> {
    // Rows outside, switches inside, each measurement repeated and the median kept: the
    // switches are compared under the same (possibly shared) machine load.
    let mut cols: Vec<Vec<Result<RowResult, &'static str>>> = vec![Vec::new(); opts.targets.len()];
    let mut floor: Option<(usize, Vec<f64>)> = None;
    for (i, sc) in SCENARIOS.iter().enumerate() {
        let selected = sc.name.contains(opts.only.as_str());
        for (ti, t) in opts.targets.iter().enumerate() {
            if !selected {
                cols[ti].push(Err("skipped"));
                continue;
            }
            let mut runs: Vec<RowResult> = Vec::new();
            for _ in 0..opts.repeat.max(1) {
                // A fresh switch per run: no state carried from the previous one.
                let r = Running::start(t, &opts.dir, opts.switch_cpu).and_then(|sw| {
                    run_row(sw.ctl(), sc, opts.seconds, opts.clients, Some(sw.pid()))
                });
                match &r {
                    Ok(r) => progress(&format!(
                        "{:<11} {:<24} {:>10.0} frames/s  loss {:>6.2}%  reached {}/{}  switch CPU {:>3.0}%, {:>5.0} ns/frame",
                        t.label(),
                        sc.name,
                        r.rate(),
                        r.loss() * 100.0,
                        r.reached,
                        r.receivers,
                        r.cpu_share().unwrap_or(0.0) * 100.0,
                        r.cpu_per_frame().unwrap_or(0.0),
                    )),
                    Err(e) => progress(&format!("{:<11} {:<24} failed: {e}", t.label(), sc.name)),
                }
                if let Ok(r) = r {
                    runs.push(r);
                }
            }
            // The median run by rate (of two, the better one).
            runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            cols[ti].push(runs.get(runs.len() / 2).copied().ok_or("failed"));
        }
        // The wide broadcast row's kernel floor, right after the switches ran it.
        if let Some(n) = wide_broadcast(sc).filter(|_| selected) {
            let mut floors = Vec::new();
            for _ in 0..opts.repeat.max(1) {
                match fanout_floor(n, sc.frame_len, opts.seconds, opts.switch_cpu, opts.clients) {
                    Ok(f) => {
                        progress(&format!(
                            "{:<11} {:<24} {:>5.0} ns per delivered frame ({} sent, {} refused)",
                            "floor", sc.name, f.send_ns, f.sent, f.refused
                        ));
                        floors.push(f.send_ns);
                    }
                    Err(e) => progress(&format!("{:<11} {:<24} failed: {e}", "floor", sc.name)),
                }
            }
            floor = Some((i, floors));
        }
    }
    let mut rtts: Vec<Option<(Duration, Duration)>> = Vec::new();
    for t in &opts.targets {
        let rtt = Running::start(t, &opts.dir, opts.switch_cpu)
            .and_then(|sw| run_rtt(sw.ctl(), opts.rtt_iterations));
        match &rtt {
            Ok((m, p)) => progress(&format!("{:<11} rtt median {:?} p99 {:?}", t.label(), m, p)),
            Err(e) => progress(&format!("{:<11} rtt failed: {e}", t.label())),
        }
        rtts.push(rtt.ok());
    }
    let mut s = String::from("| row |");
    for t in &opts.targets {
        s.push_str(&format!(" {} frames/s (loss) |", t.label()));
    }
    s.push_str(" ours ÷ best other |\n|---|");
    for _ in &opts.targets {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for (i, sc) in SCENARIOS.iter().enumerate() {
        s.push_str(&format!("| {} |", sc.name));
        for col in &cols {
            match col[i] {
                Ok(r) => {
                    let reach = if r.receivers > 3 {
                        format!(", {}/{} ports", r.reached, r.receivers)
                    } else {
                        String::new()
                    };
                    s.push_str(&format!(
                        " {:.0} ({:.2}%{reach}) |",
                        r.rate(),
                        r.loss() * 100.0
                    ))
                }
                Err(why) => s.push_str(&format!(" {why} |")),
            }
        }
        let ours = cols.first().and_then(|c| c[i].ok()).map(|r| r.rate());
        let best = best_other(&cols, i, |r| Some(r.rate()), f64::max, 0.0);
        match ours {
            Some(o) if best > 0.0 => s.push_str(&format!(" {:.2}× |\n", o / best)),
            _ => s.push_str(" – |\n"),
        }
    }
    cpu_table(&mut s, opts, &cols);
    s.push_str("| ping-pong RTT median / p99 |");
    for r in &rtts {
        match r {
            Some((m, p)) => s.push_str(&format!(
                " {:.1} µs / {:.1} µs |",
                m.as_secs_f64() * 1e6,
                p.as_secs_f64() * 1e6
            )),
            None => s.push_str(" failed |"),
        }
    }
    let ours = rtts
        .first()
        .copied()
        .flatten()
        .map(|(m, _)| m.as_secs_f64());
    let best = rtts
        .iter()
        .skip(1)
        .flatten()
        .map(|(m, _)| m.as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    match ours {
        Some(o) if best.is_finite() && o > 0.0 => {
            s.push_str(&format!(" {:.2}× faster |\n", best / o))
        }
        _ => s.push_str(" – |\n"),
    }
    if let Some(note) = floor.and_then(|(i, floors)| floor_note(i, floors, &cols)) {
        s.push('\n');
        s.push_str(&note);
    }
    Ok(s)
}

/// The number of receivers, if `sc` is the wide broadcast row (sender windows as in the
/// throughput rows).
fn wide_broadcast(sc: &Scenario) -> Option<usize> {
    match sc.pattern {
        Pattern::Broadcast(n) if n > 100 && sc.window == Some(THROUGHPUT_WINDOW) => Some(n),
        _ => None,
    }
}

/// The paragraph for under the table: row `i`'s kernel floor ([`fanout_floor`], the
/// median of `floors`) against the CPU per delivered frame of the best original and of
/// ours in that row.
fn floor_note(
    i: usize,
    mut floors: Vec<f64>,
    cols: &[Vec<Result<RowResult, &'static str>>],
) -> Option<String> {
    let sc = SCENARIOS.get(i)?;
    let n = wide_broadcast(sc)?;
    floors.sort_by(f64::total_cmp);
    let floor = *floors.get(floors.len() / 2)?;
    let mut s = format!(
        "Kernel floor of the {} row, with no switch at all (one thread on the switch's CPU \
         hands the frames to the {n} receivers itself over connected sockets, never more \
         than a receiver's queue holds, and times its `sendmmsg` calls; median of {}, run \
         right after the switches): {floor:.0} ns per delivered frame. A switch does that \
         and more for every frame it delivers",
        sc.name,
        floors.len()
    );
    let best = best_other(cols, i, RowResult::cpu_per_frame, f64::min, f64::INFINITY);
    if best.is_finite() {
        s.push_str(&format!(
            ". The best original spends {best:.0} ns per delivered frame there, so where the \
             switch's CPU is the limit no switch can deliver more than {:.2}× its frames/s",
            best / floor
        ));
    }
    if let Some(ours) = cols
        .first()
        .and_then(|c| c[i].ok())
        .and_then(|r| r.cpu_per_frame())
    {
        s.push_str(&format!(" (ours spends {ours:.0} ns)"));
    }
    s.push_str(".\n");
    Some(s)
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
    fn the_floor_note_bounds_the_row_by_the_best_original_over_the_median_floor() {
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
        let note = floor_note(i, vec![1200.0, 1000.0, 1100.0], &cols).expect("a note");
        assert!(note.contains(": 1100 ns per delivered frame"), "{note}");
        assert!(note.contains("median of 3"), "{note}");
        assert!(note.contains("spends 1650 ns"), "{note}");
        assert!(note.contains("more than 1.50× its frames/s"), "{note}");
        assert!(note.contains("(ours spends 1300 ns)"), "{note}");
        // No floor measured, or not the wide row: no note.
        assert!(floor_note(i, Vec::new(), &cols).is_none());
        assert!(floor_note(0, vec![1000.0], &cols).is_none());
    }

    #[test]
    fn frames_a_switch_lost_do_not_shrink_the_window_for_good() {
        let limit = 32;
        let mut f = InFlight::default();
        // 100 sent, 60 arrived, 40 lost: over the limit until they are written off.
        assert_eq!(f.count(100, 60), 40);
        assert!(f.count(100, 60) > limit);
        f.write_off(100, 60);
        assert_eq!(f.count(100, 60), 0);
        // The next frames count from there: 32 more sent, none arrived, at the limit.
        assert_eq!(f.count(132, 60), 32);
        assert_eq!(f.count(132, 90), 2);
        // A written-off frame that turns up late only makes room, never a negative count.
        assert_eq!(f.count(132, 140), 0);
        // Writing off with nothing in flight writes off nothing.
        f.write_off(132, 100);
        assert_eq!(f.count(172, 100), 32);
    }
}
