//! The generator's receiving side, shared by the sleeping generator and the kernel
//! floor: one thread takes every frame its receivers have and publishes the counts.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use umlnet_linux::sys::epoll::Poller;
use umlnet_linux::sys::process::set_thread_nice;
use umlnet_linux::sys::socket::{DgramSocket, RecvBatch};

use super::row::Clients;

/// Nice value of the generator's receiving thread: it runs whenever frames wait, so the
/// receivers keep up and what is measured is the switch, not the generator's scheduler.
pub const RECEIVER_NICE: i32 = -10;

/// Takes every frame queued for `r`, adds their number to `count` and returns it.
pub(crate) fn drain_counted(
    r: &DgramSocket,
    batch: &mut RecvBatch,
    count: &mut u64,
) -> io::Result<u64> {
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
pub(crate) struct Arrivals {
    /// Frames, all receivers together.
    pub(crate) total: AtomicU64,
    /// Frames per receiver.
    pub(crate) each: Vec<AtomicU64>,
}

impl Arrivals {
    /// Nothing arrived yet at `receivers` receivers.
    pub(crate) fn new(receivers: usize) -> Arrivals {
        Arrivals {
            total: AtomicU64::new(0),
            each: (0..receivers).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The receiving side of the sleeping generator (and of [`super::floor::fanout_floor`]): waits in
/// `epoll_wait` for any of `receivers` to have frames and takes all they have, at a
/// higher priority than the senders ([`RECEIVER_NICE`]), publishing to `arrivals` as
/// it goes, until `stop` is set and nothing has arrived for 200 ms. With
/// [`Clients::Spinning`] it never sleeps: it asks epoll without waiting, over and
/// over. Returns the frames each receiver got and when the last arrived.
pub(crate) fn receive_until_idle(
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
