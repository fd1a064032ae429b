//! L2TPv3-over-UDP ports (`-l2tpv3`, docs/protocols.md §17): a static session with one
//! peer (a UML kernel on `vecN:transport=l2tpv3,udp=1`, a QEMU `-netdev l2tpv3,udp=on`,
//! or another switch), one Ethernet frame per UDP datagram behind the header of
//! [`umlnet_core::l2tpv3`]. Each link is a port; a frame learned there is sent there,
//! and floods reach it once, as for every other port.
//!
//! Datagrams are taken only from the configured remote address and only with our
//! session and cookie; the others are dropped and counted.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::str::FromStr;

use umlnet_core::l2tpv3::{Cookie, Params};
use umlnet_core::switch::{DEFAULT_MAX_FRAME_LEN, PortId};

use super::daemon::SwitchDaemon;
use super::forward::Buffers;
use super::ports::PortKind;

/// A `-l2tpv3` link as given on the command line:
/// `<local ip:port>,<remote ip:port>,<tx session>,<rx session>[,tx_cookie=N,rx_cookie=N][,cookie64][,counter]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2tpSpec {
    /// Where the switch's UDP socket is bound.
    pub local: SocketAddr,
    /// The peer's socket: datagrams go there and are taken only from there.
    pub remote: SocketAddr,
    /// Session and cookie parameters (always over UDP).
    pub params: Params,
}

fn number(key: &str, v: &str) -> Result<u64, String> {
    let r = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    r.map_err(|_| format!("{key} '{v}' is not a number (decimal or 0x hex)"))
}

fn session(key: &str, v: &str) -> Result<u32, String> {
    match number(key, v)? {
        0 => Err(format!(
            "{key} 0 is reserved (RFC 3931); use 1 to 0xffffffff"
        )),
        n => u32::try_from(n).map_err(|_| format!("{key} {v} is more than 32 bits")),
    }
}

impl FromStr for L2tpSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<L2tpSpec, String> {
        let usage = "<local ip:port>,<remote ip:port>,<tx session>,<rx session>[,tx_cookie=N,rx_cookie=N][,cookie64][,counter]";
        let parts: Vec<&str> = s.split(',').collect();
        if parts.len() < 4 {
            return Err(format!("'{s}' is not {usage}"));
        }
        let addr = |what: &str, v: &str| {
            v.parse::<SocketAddr>()
                .map_err(|_| format!("{what} '{v}' is not <ip>:<port> (IPv6 as [addr]:port)"))
        };
        let local = addr("local address", parts[0])?;
        let remote = addr("remote address", parts[1])?;
        let tx_session = session("tx session", parts[2])?;
        let rx_session = session("rx session", parts[3])?;
        let (mut txc, mut rxc, mut c64, mut counter) = (None, None, false, false);
        for opt in &parts[4..] {
            match opt.split_once('=') {
                Some(("tx_cookie", v)) => txc = Some(number("tx_cookie", v)?),
                Some(("rx_cookie", v)) => rxc = Some(number("rx_cookie", v)?),
                None if *opt == "cookie64" => c64 = true,
                None if *opt == "counter" => counter = true,
                _ => return Err(format!("unknown option '{opt}' (expected {usage})")),
            }
        }
        let cookie = match (txc, rxc) {
            (None, None) if c64 => return Err("cookie64 without tx_cookie and rx_cookie".into()),
            (None, None) => Cookie::None,
            (Some(tx), Some(rx)) if c64 => Cookie::Bits64 { tx, rx },
            (Some(tx), Some(rx)) => match (u32::try_from(tx), u32::try_from(rx)) {
                (Ok(tx), Ok(rx)) => Cookie::Bits32 { tx, rx },
                _ => return Err("a cookie is more than 32 bits: add cookie64".into()),
            },
            _ => return Err("give both tx_cookie and rx_cookie, or neither".into()),
        };
        if local.is_ipv4() != remote.is_ipv4() {
            return Err("local and remote addresses must both be IPv4 or both IPv6".into());
        }
        Ok(L2tpSpec {
            local,
            remote,
            params: Params {
                udp: true,
                tx_session,
                rx_session,
                cookie,
                counter,
            },
        })
    }
}

impl std::fmt::Display for L2tpSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.params;
        write!(
            f,
            "{},{},{:#x},{:#x}",
            self.local, self.remote, p.tx_session, p.rx_session
        )?;
        match p.cookie {
            Cookie::None => {}
            Cookie::Bits32 { tx, rx } => write!(f, ",tx_cookie={tx:#x},rx_cookie={rx:#x}")?,
            Cookie::Bits64 { tx, rx } => {
                write!(f, ",tx_cookie={tx:#x},rx_cookie={rx:#x},cookie64")?
            }
        }
        if p.counter {
            f.write_str(",counter")?;
        }
        Ok(())
    }
}

/// A bound link.
#[derive(Debug)]
pub(super) struct L2tpLink {
    pub(super) spec: L2tpSpec,
    pub(super) sock: UdpSocket,
    pub(super) port: u16,
    counter: u32,
    /// Datagrams dropped: from another address, another session or cookie, too short.
    pub(super) rx_dropped: u64,
}

/// Binds the UDP socket of each spec.
pub(super) fn bind(specs: &[L2tpSpec]) -> io::Result<Vec<(L2tpSpec, UdpSocket)>> {
    specs
        .iter()
        .map(|s| {
            let sock = UdpSocket::bind(s.local).map_err(|e| {
                io::Error::new(e.kind(), format!("binding -l2tpv3 {}: {e}", s.local))
            })?;
            sock.set_nonblocking(true)?;
            Ok((s.clone(), sock))
        })
        .collect()
}

impl SwitchDaemon {
    /// Makes each bound link a port (at setup).
    pub(super) fn attach_l2tp(&mut self, links: Vec<(L2tpSpec, UdpSocket)>) {
        for (spec, sock) in links {
            let i = self.l2tp.len();
            let port = self
                .alloc_port(PortKind::L2tp(i))
                .expect("a fresh switch has free ports");
            tracing::info!("L2TPv3 link {spec} is port {port}");
            self.l2tp.push(L2tpLink {
                spec,
                sock,
                port,
                counter: 0,
                rx_dropped: 0,
            });
        }
    }

    /// The descriptors of the links, by index.
    pub(super) fn l2tp_fds(&self) -> Vec<(usize, std::os::fd::RawFd)> {
        self.l2tp
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.sock.as_raw_fd()))
            .collect()
    }

    /// Link `i`'s socket is readable: up to 64 datagrams, each checked and forwarded.
    pub(super) fn l2tp_readable(&mut self, i: usize, bufs: &mut Buffers) {
        let mut buf = vec![0u8; DEFAULT_MAX_FRAME_LEN + 64];
        for _ in 0..64 {
            let Some(link) = self.l2tp.get_mut(i) else {
                return;
            };
            let (n, from) = match link.sock.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("receiving on -l2tpv3 {}: {e}", link.spec.local);
                    return;
                }
            };
            if from != link.spec.remote {
                link.rx_dropped += 1;
                self.stats.unknown_sender += 1;
                continue;
            }
            let frame = match link.spec.params.decapsulate(&buf[..n]) {
                Ok(f) => f,
                Err(why) => {
                    link.rx_dropped += 1;
                    tracing::trace!("-l2tpv3 {}: {why}; dropped", link.spec.local);
                    continue;
                }
            };
            let port = link.port;
            let len = frame.len();
            let frame = frame.to_vec();
            self.forward_one(port, &frame, len, &mut bufs.out, &mut bufs.scratch);
        }
    }

    /// Sends frames to the L2TPv3 ports among `frames`, one datagram each.
    pub(super) fn deliver_l2tp(&mut self, frames: &[(u16, &[u8])]) {
        let mut pkt = Vec::with_capacity(DEFAULT_MAX_FRAME_LEN + 32);
        for &(p, f) in frames {
            let Some(Some(port)) = self.ports.get(usize::from(p)) else {
                continue;
            };
            let PortKind::L2tp(i) = port.kind else {
                continue;
            };
            let Some(link) = self.l2tp.get_mut(i) else {
                continue;
            };
            link.counter = link.counter.wrapping_add(1);
            let h = link.spec.params.header_len();
            pkt.clear();
            pkt.resize(h, 0);
            link.spec.params.emit_header(&mut pkt, link.counter);
            pkt.extend_from_slice(f);
            match link.sock.send_to(&pkt, link.spec.remote) {
                Ok(_) => self.stats.tx_frames += 1,
                Err(e) => {
                    match e.kind() {
                        io::ErrorKind::WouldBlock => self.stats.tx_queue_full += 1,
                        io::ErrorKind::ConnectionRefused => self.stats.tx_refused += 1,
                        _ => self.stats.tx_other_errors += 1,
                    }
                    self.sw.record_tx_error(PortId(p));
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs_read_and_refuse_clearly() {
        let s: L2tpSpec = "127.0.0.1:1701,127.0.0.1:1702,3,2".parse().unwrap();
        assert_eq!(s.params.tx_session, 3);
        assert_eq!(s.params.rx_session, 2);
        assert_eq!(s.params.cookie, Cookie::None);
        let s: L2tpSpec =
            "[::1]:1701,[::1]:1702,0x10,0x20,tx_cookie=0x11223344,rx_cookie=5,counter"
                .parse()
                .unwrap();
        assert_eq!(
            s.params.cookie,
            Cookie::Bits32 {
                tx: 0x1122_3344,
                rx: 5
            }
        );
        assert!(s.params.counter);
        for (bad, says) in [
            ("127.0.0.1:1,127.0.0.1:2,1", "is not <local"),
            ("127.0.0.1,127.0.0.1:2,1,2", "local address"),
            ("127.0.0.1:1,127.0.0.1:2,0,2", "reserved"),
            ("127.0.0.1:1,127.0.0.1:2,1,0x100000000", "more than 32 bits"),
            ("127.0.0.1:1,127.0.0.1:2,1,x", "not a number"),
            ("127.0.0.1:1,127.0.0.1:2,1,2,tx_cookie=1", "both tx_cookie"),
            ("127.0.0.1:1,127.0.0.1:2,1,2,cookie64", "cookie64 without"),
            (
                "127.0.0.1:1,127.0.0.1:2,1,2,tx_cookie=0x100000000,rx_cookie=1",
                "add cookie64",
            ),
            ("127.0.0.1:1,127.0.0.1:2,1,2,bogus", "unknown option"),
            ("127.0.0.1:1,[::1]:2,1,2", "both be IPv4"),
        ] {
            let e = bad.parse::<L2tpSpec>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    proptest! {
        #[test]
        fn a_spec_reads_back_from_its_text(
            tx in 1u32.., rx in 1u32.., cookie in 0u8..3, a: u64, b: u64, counter: bool,
            lp in 1u16.., rp in 1u16..,
        ) {
            let cookie = match cookie {
                0 => Cookie::None,
                1 => Cookie::Bits32 { tx: a as u32, rx: b as u32 },
                _ => Cookie::Bits64 { tx: a, rx: b },
            };
            let s = L2tpSpec {
                local: SocketAddr::from(([127, 0, 0, 1], lp)),
                remote: SocketAddr::from(([10, 0, 0, 2], rp)),
                params: Params { udp: true, tx_session: tx, rx_session: rx, cookie, counter },
            };
            prop_assert_eq!(s.to_string().parse::<L2tpSpec>(), Ok(s));
        }

        #[test]
        fn any_text_is_judged_without_panicking(t in "[0-9a-z:.,=\\[\\]]{0,60}") {
            let _ = t.parse::<L2tpSpec>();
        }
    }
}
