//! The one frame I/O trait that every transport implements.
//!
//! A [`Link`] moves whole frames, never partial ones, and never blocks: a receive with
//! nothing waiting says so with `Ok(None)`, and a send that the transport cannot take
//! right now says [`SendStatus::Full`] without keeping the frame. What a frame is
//! depends on the [`Medium`]: an Ethernet frame without FCS for tuntap, ethertap,
//! mcast and daemon, a bare IPv4 packet for slip.
//!
//! Host shims implement it over file descriptors (and give a pollable fd beside it),
//! the simulator over in-memory wires, an embedded guest over its NIC driver.
//!
//! ```
//! use umlnet_core::link::{Link, Medium, SendStatus};
//!
//! /// A link that hands every sent frame straight back.
//! struct Loopback { frame: [u8; 64], len: Option<usize> }
//!
//! impl Link for Loopback {
//!     type Error = core::convert::Infallible;
//!     fn medium(&self) -> Medium { Medium::Ethernet }
//!     fn mtu(&self) -> usize { 50 }
//!     fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
//!         Ok(self.len.take().map(|n| { buf[..n].copy_from_slice(&self.frame[..n]); n }))
//!     }
//!     fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
//!         if self.len.is_some() { return Ok(SendStatus::Full) }
//!         self.frame[..frame.len()].copy_from_slice(frame);
//!         self.len = Some(frame.len());
//!         Ok(SendStatus::Sent)
//!     }
//! }
//!
//! let mut link = Loopback { frame: [0; 64], len: None };
//! assert_eq!(link.send(&[1, 2, 3]).unwrap(), SendStatus::Sent);
//! assert_eq!(link.send(&[4]).unwrap(), SendStatus::Full);
//! let mut buf = [0; 64];
//! assert_eq!(link.recv(&mut buf).unwrap(), Some(3));
//! assert_eq!(link.recv(&mut buf).unwrap(), None);
//! ```

/// What a link's frames carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Medium {
    /// Ethernet frames (destination, source, ethertype, payload; no FCS, no padding required).
    Ethernet,
    /// Bare IP packets, as SLIP carries them.
    Ip,
}

impl Medium {
    /// Bytes of link header in front of the IP payload on this medium.
    pub const fn header_len(self) -> usize {
        match self {
            Medium::Ethernet => 14,
            Medium::Ip => 0,
        }
    }
}

/// What [`Link::send`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendStatus {
    /// The transport took the whole frame.
    Sent,
    /// The transport has no room right now; the frame was not sent and was not kept.
    Full,
}

/// Non-blocking frame I/O: the contract every transport fulfils.
pub trait Link {
    /// A failure of the transport itself (the peer went away, the fd broke).
    type Error;

    /// What the frames on this link carry.
    fn medium(&self) -> Medium;

    /// The largest IP packet this link carries (1500 for every UML transport).
    fn mtu(&self) -> usize;

    /// The largest frame [`Link::recv`] can return: the MTU plus the link header.
    fn max_frame_len(&self) -> usize {
        self.mtu() + self.medium().header_len()
    }

    /// Receives one frame into `buf` and returns its length, or `Ok(None)` when no
    /// frame is waiting. A frame longer than `buf` is truncated to `buf.len()`.
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error>;

    /// Sends one whole frame, or reports [`SendStatus::Full`] when the transport
    /// cannot take it now.
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error>;
}

impl<L: Link + ?Sized> Link for &mut L {
    type Error = L::Error;
    fn medium(&self) -> Medium {
        (**self).medium()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        (**self).recv(buf)
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        (**self).send(frame)
    }
}
