//! `umlnet lab dump`: a collision domain's traffic as pcap, without root.
//!
//! The dump attaches to the domain's switch as one more port on the daemon protocol
//! (as Netkit's `vdump` runs `uml_dump`), never sends, and writes every frame the hub
//! hands it. A domain is a hub, so that is every frame any machine sends on it.

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::switchd::client::{Client, uml_like_addr};
use crate::switchd::pcap::PcapWriter;

/// When to stop a dump.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// After this many frames.
    pub count: Option<u64>,
    /// After this long.
    pub duration: Option<Duration>,
}

/// Attaches to the switch at `ctl` and writes its frames to `out` as pcap, flushing
/// after each one, until a limit is reached, `out` is closed (`Ok`) or the switch
/// goes away. `ready` runs once attached. Returns the number of frames written.
pub fn dump(ctl: &Path, out: impl Write, limits: Limits, ready: impl FnOnce()) -> io::Result<u64> {
    let salt = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let client = Client::attach(ctl, uml_like_addr(std::process::id(), 0x6475_6d70, salt))
        .map_err(|e| io::Error::new(e.kind(), format!("attaching to {}: {e}", ctl.display())))?;
    let mut pcap = PcapWriter::new(out)?;
    ready();
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    loop {
        if limits.count.is_some_and(|c| pcap.frames() >= c) {
            break;
        }
        let wait = match limits.duration {
            Some(d) => match d.checked_sub(start.elapsed()) {
                Some(left) => left.min(Duration::from_millis(500)),
                None => break,
            },
            None => Duration::from_millis(500),
        };
        match client.recv_timeout(&mut buf, wait)? {
            Some(n) => {
                // No size bound on this writer: every frame is written.
                let written = pcap
                    .write_frame(&buf[..n], SystemTime::now())
                    .and_then(|_| pcap.flush());
                match written {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
                    Err(e) => return Err(e),
                }
            }
            None => {
                if !switch_alive(&client) {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the switch of {} went away", ctl.display()),
                    ));
                }
            }
        }
    }
    pcap.flush()?;
    Ok(pcap.frames())
}

/// Whether the switch still holds our control connection open.
fn switch_alive(client: &Client) -> bool {
    let mut b = [0u8; 1];
    let ctl = client.control();
    if ctl.set_nonblocking(true).is_err() {
        return false;
    }
    // The switch sends nothing more on it after its reply: a read only tells
    // whether it is still open.
    let r = std::io::Read::read(&mut &*ctl, &mut b);
    let _ = ctl.set_nonblocking(false);
    match r {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    }
}
