//! One VXLAN measurement: unicast frames from a port of the first switch to a port of
//! the second, counted where they arrive ([`VxlanResult`]).

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use umlnet_linux::switchd::client::{Client, uml_like_addr};
use umlnet_linux::sys::epoll::Poller;
use umlnet_linux::sys::socket::{RecvBatch, SendBatch};
use umlnet_linux::sys::tun::Tap;

use super::netns::Ns;
use crate::switch::scenario::frame;

/// A port the generator sends into or receives from.
pub(super) enum Port {
    /// A daemon-protocol client attached to one of our switches.
    Client(Client),
    /// A TAP device on a kernel bridge.
    Tap(Tap),
}

impl Port {
    fn fd(&self) -> i32 {
        match self {
            Port::Client(c) => c.data().as_raw_fd(),
            Port::Tap(t) => t.as_raw_fd(),
        }
    }

    fn send_one(&self, f: &[u8]) -> io::Result<Option<usize>> {
        match self {
            Port::Client(c) => c.send(f),
            Port::Tap(t) => t.send(f),
        }
    }

    fn drain(&self) {
        let mut buf = [0u8; 2048];
        match self {
            Port::Client(c) => while let Ok(Some(_)) = c.try_recv(&mut buf) {},
            Port::Tap(t) => while let Ok(Some(_)) = t.recv(&mut buf) {},
        }
    }
}

/// Frames in flight at most (sent, not yet arrived) in a closed-loop run.
pub const WINDOW: u64 = 256;

const SRC: [u8; 6] = [0x02, 0xbe, 0x0a, 0, 0, 1];
const DST: [u8; 6] = [0x02, 0xbe, 0x0b, 0, 0, 1];

/// What one VXLAN row measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct VxlanResult {
    /// Frames handed to the first switch.
    pub sent: u64,
    /// Frames that arrived at the port of the second.
    pub delivered: u64,
    /// Sending time in seconds.
    pub secs: f64,
}

impl VxlanResult {
    /// Delivered frames per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.delivered as f64 / self.secs
        } else {
            0.0
        }
    }

    /// Fraction of sent frames that did not arrive.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            1.0 - (self.delivered as f64 / self.sent as f64).min(1.0)
        }
    }
}

/// Sends `len`-byte unicast frames from `tx` to `rx` for `secs` seconds (with
/// `window`, at most that many in flight) and counts what arrived.
pub(super) fn measure(
    tx: Port,
    rx: Port,
    len: usize,
    secs: f64,
    window: Option<u64>,
) -> io::Result<VxlanResult> {
    // Both ends announce themselves, so every switch on the way learns them.
    for _ in 0..3 {
        let _ = rx.send_one(&frame([0xff; 6], DST, 60));
        let _ = tx.send_one(&frame([0xff; 6], SRC, 60));
        std::thread::sleep(Duration::from_millis(100));
    }
    rx.drain();
    tx.drain();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_rx = stop.clone();
    let arrived = Arc::new(AtomicU64::new(0));
    let arrived_rx = arrived.clone();
    let receiver = std::thread::spawn(move || -> io::Result<u64> {
        let mut poller = Poller::new(4)?;
        poller.add(rx.fd(), 0)?;
        let mut batch = RecvBatch::new(64, 2048);
        let mut buf = [0u8; 2048];
        let mut count = 0u64;
        let mut idle_since: Option<Instant> = None;
        loop {
            let ready = poller.wait(Some(Duration::from_millis(10)))?.count();
            if ready == 0 {
                if stop_rx.load(Ordering::Relaxed) {
                    let t = *idle_since.get_or_insert_with(Instant::now);
                    if t.elapsed() > Duration::from_millis(200) {
                        break;
                    }
                }
                continue;
            }
            idle_since = None;
            match &rx {
                Port::Client(c) => loop {
                    let n = c.data().recv_batch(&mut batch)?;
                    for i in 0..n {
                        if batch
                            .get(i)
                            .is_some_and(|r| r.data.get(12..14) == Some(&[0x88, 0xb5]))
                        {
                            count += 1;
                        }
                    }
                    if n < batch.capacity() {
                        break;
                    }
                },
                Port::Tap(t) => {
                    while let Some(n) = t.recv(&mut buf)? {
                        if buf[..n].get(12..14) == Some(&[0x88, 0xb5]) {
                            count += 1;
                        }
                    }
                }
            }
            arrived_rx.store(count, Ordering::Relaxed);
        }
        Ok(count)
    });
    let f = frame(DST, SRC, len);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    // Closed loop: at most WINDOW frames in flight. Without it the sender, sharing its
    // CPU with the receiver, starves the receiver and the row measures that instead.
    let mut written_off = 0u64;
    let mut last_progress = (0u64, Instant::now());
    let mut wait_window = |sent: u64| {
        loop {
            let got = arrived.load(Ordering::Relaxed);
            if got != last_progress.0 {
                last_progress = (got, Instant::now());
            }
            let limit = window.unwrap_or(u64::MAX);
            if sent.saturating_sub(got + written_off) <= limit || Instant::now() >= deadline {
                return;
            }
            if last_progress.1.elapsed() > Duration::from_millis(20) {
                // Nothing arrives any more: what is in flight was lost.
                written_off = sent - got;
                return;
            }
            std::thread::yield_now();
        }
    };
    match &tx {
        Port::Client(c) => {
            c.data().set_nonblocking(false)?;
            c.data().set_send_timeout(Duration::from_millis(50))?;
            let to = *c.switch_addr().as_bytes();
            let msgs: Vec<(&[u8], &[u8; 110])> = (0..32).map(|_| (&f[..], &to)).collect();
            let mut scratch = SendBatch::new();
            while Instant::now() < deadline {
                wait_window(sent);
                match c.data().send_batch(&mut scratch, &msgs) {
                    Ok(n) => sent += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Port::Tap(t) => {
            while Instant::now() < deadline {
                wait_window(sent);
                for _ in 0..32 {
                    if t.send(&f)?.is_some() {
                        sent += 1;
                    }
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let delivered = receiver
        .join()
        .map_err(|_| io::Error::other("receiver panicked"))??;
    drop(tx);
    Ok(VxlanResult {
        sent,
        delivered,
        secs,
    })
}

/// Attaches a client to the switch at `ctl` from inside `ns`.
pub(super) fn attach_in(ns: &Ns, ctl: &Path, tag: u32) -> io::Result<Port> {
    let ctl = ctl.to_path_buf();
    ns.within(move || {
        let c = Client::attach(
            &ctl,
            uml_like_addr(std::process::id(), tag, 7 + u64::from(tag)),
        )?;
        let _ = c.data().set_recv_buffer(1 << 20);
        Ok(Port::Client(c))
    })
}
