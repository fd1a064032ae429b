//! `vec<n>:transport=l2tpv3,udp=1,src=,dst=,srcport=,dstport=,rx_session=,tx_session=…`:
//! Ethernet frames in a static L2TPv3 session over UDP, with the header the core's
//! [`umlnet_core::l2tpv3`] codec writes and checks (docs/protocols.md, the vector
//! section). The socket is bound to `src` (and `srcport`, else a random port) and sends
//! to `dst:dstport`; like the kernel, a receiver checks only the session and cookie.
//! Raw IP (without `udp=1`) needs `CAP_NET_RAW` and is not offered here.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use umlnet_core::cmdline::L2tpv3Vector;
use umlnet_core::l2tpv3::{Cookie, Params};
use umlnet_core::link::{Link, Medium, SendStatus};

use super::{OpenError, UML_MTU, sent, would_block};

/// Largest packet: the longest header (4 + 4 + 8 + 4) and a 1514-byte frame.
const PACKET_MAX: usize = 20 + 1514;

/// An open l2tpv3 transport.
#[derive(Debug)]
pub struct L2tpv3Link {
    sock: UdpSocket,
    dst: SocketAddr,
    params: Params,
    counter: u32,
    pin_counter: bool,
    packet: Vec<u8>,
    dropped: u64,
}

impl L2tpv3Link {
    /// Opens the UDP socket for `vec<index>`.
    pub fn open(index: u32, l: &L2tpv3Vector) -> Result<L2tpv3Link, OpenError> {
        let refuse = |text: &str| {
            OpenError::io(index, "l2tpv3", "open")(io::Error::new(
                io::ErrorKind::InvalidInput,
                text.to_string(),
            ))
        };
        if !l.udp {
            return Err(refuse(
                "raw IP (protocol 115) needs CAP_NET_RAW and is not available in umlnet: add udp=1",
            ));
        }
        let Some(dstport) = l.dstport else {
            return Err(refuse("udp=1 needs dstport=<the peer's UDP port>"));
        };
        let local = SocketAddr::new(l.src, l.srcport.unwrap_or(0));
        let dst = SocketAddr::new(l.dst, dstport);
        let sock = UdpSocket::bind(local).map_err(OpenError::io(
            index,
            "l2tpv3",
            format!("bind {local}"),
        ))?;
        sock.set_nonblocking(true)
            .map_err(OpenError::io(index, "l2tpv3", "set non-blocking"))?;
        let cookie = match (l.cookie, l.cookie64) {
            (None, _) => Cookie::None,
            (Some(c), false) => Cookie::Bits32 {
                tx: c.tx as u32,
                rx: c.rx as u32,
            },
            (Some(c), true) => Cookie::Bits64 { tx: c.tx, rx: c.rx },
        };
        Ok(L2tpv3Link {
            sock,
            dst,
            params: Params {
                udp: true,
                tx_session: l.tx_session,
                rx_session: l.rx_session,
                cookie,
                counter: l.counter,
            },
            counter: 0,
            pin_counter: l.pin_counter,
            packet: vec![0; PACKET_MAX],
            dropped: 0,
        })
    }

    /// `l2tpv3 backend - <dst>`.
    pub fn banner(&self) -> String {
        format!("l2tpv3 backend - {}", self.dst)
    }

    /// Packets dropped for a short header, another session or a wrong cookie.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl Link for L2tpv3Link {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let Some(n) = would_block(self.sock.recv(&mut self.packet))? else {
                return Ok(None);
            };
            match self.params.decapsulate(&self.packet[..n]) {
                Ok(frame) if frame.len() <= buf.len() => {
                    buf[..frame.len()].copy_from_slice(frame);
                    return Ok(Some(frame.len()));
                }
                _ => self.dropped += 1,
            }
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        let h = self.params.header_len();
        let Some(end) = h
            .checked_add(frame.len())
            .filter(|&e| e <= self.packet.len())
        else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("l2tpv3: a {}-byte frame is over the MTU", frame.len()),
            ));
        };
        if !self.pin_counter {
            self.counter = self.counter.wrapping_add(1);
        }
        self.params.emit_header(&mut self.packet, self.counter);
        self.packet[h..end].copy_from_slice(frame);
        sent(would_block(
            self.sock.send_to(&self.packet[..end], self.dst),
        ))
    }
}

impl AsRawFd for L2tpv3Link {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod test {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn spec(udp: bool, dstport: Option<u16>) -> L2tpv3Vector {
        L2tpv3Vector {
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
            udp,
            srcport: None,
            dstport,
            rx_session: 2,
            tx_session: 3,
            cookie: None,
            cookie64: false,
            counter: false,
            pin_counter: false,
        }
    }

    #[test]
    fn raw_ip_and_a_missing_dstport_are_refused_with_the_fix() {
        let e = L2tpv3Link::open(0, &spec(false, Some(1701)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("add udp=1"), "{e}");
        let e = L2tpv3Link::open(0, &spec(true, None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dstport="), "{e}");
    }
}
