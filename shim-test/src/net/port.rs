//! The links the simulator hands out: [`SimPort`], one endpoint's raw datagrams, and
//! [`SimLink`], any of the simulator's links behind one type.

use super::{EndpointId, EthertapLink, MTU, Net, SimError, SlipLink};
use umlnet_core::link::{Link, Medium, SendStatus};

/// One endpoint's [`Link`]: raw datagrams (Ethernet frames on Ethernet segments).
#[derive(Debug)]
pub struct SimPort {
    pub(super) net: Net,
    pub(super) id: EndpointId,
}

impl SimPort {
    /// Which endpoint.
    pub fn id(&self) -> EndpointId {
        self.id
    }

    /// The wires it is on.
    pub fn net(&self) -> &Net {
        &self.net
    }
}

impl Link for SimPort {
    type Error = SimError;
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        self.net.recv(self.id, buf)
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, SimError> {
        self.net.send(self.id, frame)
    }
}

/// Any of the simulator's links, so that one guest or host type serves every
/// transport.
#[derive(Debug)]
pub enum SimLink {
    /// Plain Ethernet datagrams (tuntap, mcast, daemon).
    Port(SimPort),
    /// Ethertap framing.
    Ethertap(EthertapLink),
    /// A SLIP line.
    Slip(SlipLink),
}

impl SimLink {
    /// The endpoint underneath.
    pub fn endpoint(&self) -> EndpointId {
        match self {
            SimLink::Port(p) => p.id,
            SimLink::Ethertap(e) => e.port().id,
            SimLink::Slip(s) => s.port().id,
        }
    }
}

impl Link for SimLink {
    type Error = SimError;
    fn medium(&self) -> Medium {
        match self {
            SimLink::Port(p) => p.medium(),
            SimLink::Ethertap(e) => e.medium(),
            SimLink::Slip(s) => s.medium(),
        }
    }
    fn mtu(&self) -> usize {
        MTU
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        match self {
            SimLink::Port(p) => p.recv(buf),
            SimLink::Ethertap(e) => e.recv(buf),
            SimLink::Slip(s) => s.recv(buf),
        }
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, SimError> {
        match self {
            SimLink::Port(p) => p.send(frame),
            SimLink::Ethertap(e) => e.send(frame),
            SimLink::Slip(s) => s.send(frame),
        }
    }
}
