//! Framings over an endpoint: [`EthertapLink`] (Ethernet behind ethertap's 2-byte
//! prefix) and [`SlipLink`] (a SLIP byte line through the core codec).

use super::{MTU, SimError, SimPort};
use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_core::slip;

/// Ethertap framing over an endpoint: Ethernet frames behind the 2-byte prefix that
/// the kernel's ethertap transport and the helper's socket pair use.
#[derive(Debug)]
pub struct EthertapLink {
    port: SimPort,
    buf: Vec<u8>,
}

impl EthertapLink {
    /// Ethertap framing over `port`.
    pub fn new(port: SimPort) -> Self {
        EthertapLink {
            port,
            buf: vec![0; MTU + 14 + 2],
        }
    }

    /// The endpoint underneath.
    pub fn port(&self) -> &SimPort {
        &self.port
    }
}

impl Link for EthertapLink {
    type Error = SimError;
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        loop {
            let Some(n) = self.port.recv(&mut self.buf)? else {
                return Ok(None);
            };
            // A datagram too short for the prefix and a header is dropped, as the
            // kernel's ethertap reader drops it.
            if let Ok(frame) = umlnet_core::ethernet::strip_ethertap(&self.buf[..n]) {
                let m = frame.len().min(buf.len());
                buf[..m].copy_from_slice(&frame[..m]);
                return Ok(Some(m));
            }
        }
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, SimError> {
        let mut out = vec![0u8; frame.len() + umlnet_core::ethernet::ETHERTAP_PREFIX_LEN];
        match umlnet_core::ethernet::prefix_ethertap(frame, &mut out) {
            Ok(n) => self.port.send(&out[..n]),
            // A frame shorter than an Ethernet header cannot be framed: not sent.
            Err(_) => Ok(SendStatus::Sent),
        }
    }
}

/// A SLIP line over an endpoint: IP packets out are SLIP-encoded with the core codec,
/// bytes in are fed to its streaming decoder.
#[derive(Debug)]
pub struct SlipLink {
    port: SimPort,
    decoder: slip::Decoder<Vec<u8>>,
    ready: VecDeque<Vec<u8>>,
    chunk: Vec<u8>,
    /// Frames the decoder refused (bad escape, oversize).
    pub decode_errors: u64,
}

impl SlipLink {
    /// A SLIP line over `port`.
    pub fn new(port: SimPort) -> Self {
        SlipLink {
            port,
            decoder: slip::Decoder::new(vec![0; MTU]),
            ready: VecDeque::new(),
            chunk: vec![0; slip::max_encoded_len(MTU)],
            decode_errors: 0,
        }
    }

    /// The endpoint underneath.
    pub fn port(&self) -> &SimPort {
        &self.port
    }
}

impl Link for SlipLink {
    type Error = SimError;
    fn medium(&self) -> Medium {
        Medium::Ip
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        while self.ready.is_empty() {
            let Some(n) = self.port.recv(&mut self.chunk)? else {
                return Ok(None);
            };
            let SlipLink {
                decoder,
                ready,
                chunk,
                decode_errors,
                ..
            } = self;
            decoder.decode(&chunk[..n], |r| match r {
                Ok(p) => ready.push_back(p.to_vec()),
                Err(_) => *decode_errors += 1,
            });
        }
        let p = self.ready.pop_front().unwrap_or_default();
        let m = p.len().min(buf.len());
        buf[..m].copy_from_slice(&p[..m]);
        Ok(Some(m))
    }
    fn send(&mut self, packet: &[u8]) -> Result<SendStatus, SimError> {
        let mut out = vec![0u8; slip::max_encoded_len(packet.len())];
        match slip::encode(packet, &mut out) {
            Ok(n) => self.port.send(&out[..n]),
            Err(_) => Ok(SendStatus::Full),
        }
    }
}
