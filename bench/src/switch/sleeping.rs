//! The generator as UML kernels behave: clients asleep until a frame comes, a
//! blocking sending thread per sender and one receiving thread.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use umlnet_linux::switchd::client::Client;
use umlnet_linux::sys::process::set_thread_nice;
use umlnet_linux::sys::socket::{DgramSocket, SendBatch};

use super::receive::{Arrivals, receive_until_idle};
use super::row::Clients;
use super::scenario::{GIVE_UP, InFlight, Scenario};

/// Nice value of the sending threads: they take the generator CPU the receivers leave.
pub const SENDER_NICE: i32 = 10;

/// The generator as UML kernels behave: a receiving thread that sleeps in `epoll_wait`
/// until frames come, and a thread per sender whose blocking `sendmmsg` sleeps while
/// the switch's queue is full. Senders and receivers share the generator's one CPU, so
/// the receiving thread runs at a higher priority ([`super::receive::RECEIVER_NICE`]) than the senders
/// ([`SENDER_NICE`]). Returns the frames sent, the frames each receiver got and when
/// the last frame arrived (or sending stopped, if later).
pub(crate) fn generate_sleeping(
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
