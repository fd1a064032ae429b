//! Clients of our switch for the switch tests: test frames with a sequence number, and
//! sending and receiving them with bounded waits.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use umlnet_linux::switchd::client::{Client, uml_like_addr};

pub fn mac(last: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, last]
}

/// An Ethernet frame `dst <- src`, type 0x88b5 (local experimental), `seq` in the
/// payload, `len` bytes in all.
pub fn frame(dst: [u8; 6], src: [u8; 6], seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(18)];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..18].copy_from_slice(&seq.to_be_bytes());
    f
}

pub fn client(ctl: &Path, tag: u32) -> Client {
    try_client(ctl, tag).expect("attach a client")
}

pub fn try_client(ctl: &Path, tag: u32) -> std::io::Result<Client> {
    Client::attach(
        ctl,
        uml_like_addr(std::process::id(), tag, u64::from(tag) * 7919 + 1),
    )
}

/// Sends a frame to the switch, waiting (up to 5 s) while the switch's queue is full,
/// so that a busy machine cannot silently lose it on our side.
pub fn push(c: &Client, f: &[u8]) {
    let end = Instant::now() + Duration::from_secs(5);
    while c.send(f).expect("send to the switch").is_none() {
        assert!(Instant::now() < end, "the switch took no frame for 5 s");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Receives frames on `c` until one with sequence number `seq` arrives (others queued
/// from earlier floods are skipped), or `timeout` passes.
pub fn recv_seq(c: &Client, seq: u32, timeout: Duration) -> Option<Vec<u8>> {
    let end = Instant::now() + timeout;
    let mut buf = [0u8; 2048];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let n = c.recv_timeout(&mut buf, left).expect("recv")?;
        if n >= 18 && buf[14..18] == seq.to_be_bytes() {
            return Some(buf[..n].to_vec());
        }
    }
}

/// Drains `cs` until none of them has received anything for 200 ms (at most `limit`).
pub fn drain_until_quiet(cs: &[&Client], limit: Duration) {
    let end = Instant::now() + limit;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(200) {
        assert!(Instant::now() < end, "frames kept coming for {limit:?}");
        if cs.iter().map(|c| drain(c)).sum::<usize>() > 0 {
            quiet_since = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn drain(c: &Client) -> usize {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while c.try_recv(&mut buf).expect("recv").is_some() {
        n += 1;
    }
    n
}
