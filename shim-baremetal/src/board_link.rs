//! The links of the board behind one type, so that one guest holds them all: the
//! Ethernet controller and the SLIP line.

use crate::lan9118::{Lan9118, Lan9118Error};
use crate::regs::Registers;
use crate::slip_line::{SlipError, SlipLine};
use alloc::boxed::Box;
use core::fmt;
use umlnet_core::link::{Link, Medium, SendStatus};

/// One port of the board as a [`Link`].
#[derive(Debug)]
pub enum BoardLink<R: Registers> {
    /// The LAN9118.
    Ethernet(Lan9118<R>),
    /// SLIP on a UART. Boxed: its 4.5 KiB of frame buffers would otherwise make
    /// every link that size, and the guest's interface map holds room for eleven.
    Slip(Box<SlipLine<R>>),
}

/// A failure of either port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardLinkError {
    /// From the Ethernet controller.
    Ethernet(Lan9118Error),
    /// From the SLIP line.
    Slip(SlipError),
}

impl fmt::Display for BoardLinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardLinkError::Ethernet(e) => e.fmt(f),
            BoardLinkError::Slip(e) => e.fmt(f),
        }
    }
}

impl<R: Registers> Link for BoardLink<R> {
    type Error = BoardLinkError;

    fn medium(&self) -> Medium {
        match self {
            BoardLink::Ethernet(l) => l.medium(),
            BoardLink::Slip(l) => l.medium(),
        }
    }

    fn mtu(&self) -> usize {
        match self {
            BoardLink::Ethernet(l) => l.mtu(),
            BoardLink::Slip(l) => l.mtu(),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        match self {
            BoardLink::Ethernet(l) => l.recv(buf).map_err(BoardLinkError::Ethernet),
            BoardLink::Slip(l) => l.recv(buf).map_err(BoardLinkError::Slip),
        }
    }

    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        match self {
            BoardLink::Ethernet(l) => l.send(frame).map_err(BoardLinkError::Ethernet),
            BoardLink::Slip(l) => l.send(frame).map_err(BoardLinkError::Slip),
        }
    }
}
