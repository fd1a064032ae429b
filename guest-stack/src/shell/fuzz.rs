//! The shell's fuzz entry point: every input line run as a command on a guest whose
//! links lose everything.

use super::Run;
use crate::guest::Guest;
use alloc::string::String;
use alloc::vec::Vec;
use smoltcp::time::{Duration, Instant};
use umlnet_core::link::{Link, Medium as LinkMedium, SendStatus};

/// A link that loses everything, for [`fuzz_shell`].
struct Void(umlnet_core::link::Medium);

impl Link for Void {
    type Error = core::convert::Infallible;
    fn medium(&self) -> umlnet_core::link::Medium {
        self.0
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn recv(&mut self, _: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        Ok(None)
    }
    fn send(&mut self, _: &[u8]) -> Result<SendStatus, Self::Error> {
        Ok(SendStatus::Sent)
    }
}

/// Fuzz entry point: runs every line of `data` as a shell command on a guest with an
/// Ethernet `eth0` and an IP `eth1`, advancing time, and checks that the routing table
/// stays consistent with the interfaces and with `route -n`. Never panics on its own.
#[doc(hidden)]
pub fn fuzz_shell(data: &[u8]) {
    let mut now = Instant::from_secs(1);
    let mut guest: Guest<Void> = Guest::new(1, now);
    let _ = guest.add_interface(0, Void(LinkMedium::Ethernet), None);
    let _ = guest.add_interface(1, Void(LinkMedium::Ip), None);
    let text = String::from_utf8_lossy(data);
    let mut jobs = Vec::new();
    for line in text.lines().take(64) {
        match guest.run(line, now) {
            Run::Done(out) => {
                assert!(out.status != 0 || !out.text.contains("Usage"), "{line}");
            }
            Run::Started(id) => jobs.push(id),
        }
        now += Duration::from_millis(700);
        guest.poll(now);
        let routes = guest.routes().clone();
        for r in routes.iter() {
            let info = guest.interface(r.iface);
            assert!(
                info.is_some_and(|i| i.up),
                "route through a missing or down interface"
            );
        }
        let Run::Done(table) = guest.run("route -n", now) else {
            panic!("route -n started a job")
        };
        assert_eq!(table.text.lines().count(), routes.len() + 2);
    }
    for id in jobs {
        guest.interrupt(id, now);
        assert!(guest.take_job(id).is_some());
    }
}
