//! The generator as busy-polling clients behave: one thread that never sleeps, so
//! what a row measures is the switch's own work per frame.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use umlnet_linux::switchd::client::Client;
use umlnet_linux::sys::epoll::Poller;
use umlnet_linux::sys::socket::{RecvBatch, SendBatch};

use super::receive::drain_counted;
use super::scenario::{GIVE_UP, InFlight, Pattern, Scenario};

/// From this many receivers on, the generator asks epoll which have frames (without
/// waiting) instead of trying each one.
const EPOLL_FROM: usize = 16;

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
pub(crate) fn generate_spinning(
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
