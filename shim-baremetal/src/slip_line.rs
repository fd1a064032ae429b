//! A SLIP line over a serial port, as a core [`Link`] that carries bare IPv4 packets
//! (UML's `slip` transport, at the other end of the wire).
//!
//! Receiving feeds the waiting bytes of the UART through the core's streaming decoder
//! ([`umlnet_core::slip::Decoder`]) until a frame completes; sending encodes with the
//! core's [`umlnet_core::slip::encode`] (an `END` in front and behind) and writes the
//! bytes out, waiting on the UART as it drains.

use crate::regs::Registers;
use crate::uart::CmsdkUart;
use core::fmt;
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_core::slip::{self, DecodeError, Decoder};

/// The MTU of the line (the UML `slip` transport's).
pub const MTU: usize = 1500;

/// A SLIP line on a CMSDK UART.
pub struct SlipLine<R: Registers> {
    uart: CmsdkUart<R>,
    decoder: Decoder<[u8; MTU]>,
    out: [u8; slip::max_encoded_len(MTU)],
}

impl<R: Registers> fmt::Debug for SlipLine<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlipLine").finish_non_exhaustive()
    }
}

/// A frame the line dropped (bad escape, longer than the MTU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlipError(pub DecodeError);

impl fmt::Display for SlipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SLIP line: {}", self.0)
    }
}

impl<R: Registers> SlipLine<R> {
    /// A line over `uart`.
    pub fn new(uart: CmsdkUart<R>) -> Self {
        SlipLine {
            uart,
            decoder: Decoder::new([0; MTU]),
            out: [0; slip::max_encoded_len(MTU)],
        }
    }
}

impl<R: Registers> SlipLine<R> {
    /// Whether a frame is coming in (bytes of it read, its end not yet): a caller
    /// that sleeps between polls should keep polling instead, as the UART holds only
    /// one byte.
    pub fn receiving(&self) -> bool {
        !self.decoder.is_idle()
    }
}

impl<R: Registers> Link for SlipLine<R> {
    type Error = SlipError;

    fn medium(&self) -> Medium {
        Medium::Ip
    }

    fn mtu(&self) -> usize {
        MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        while let Some(byte) = self.uart.read_byte() {
            match self.decoder.push(byte) {
                None => {}
                Some(Ok(frame)) => {
                    let n = frame.len().min(buf.len());
                    buf[..n].copy_from_slice(&frame[..n]);
                    return Ok(Some(n));
                }
                Some(Err(e)) => return Err(SlipError(e)),
            }
        }
        Ok(None)
    }

    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        match slip::encode(frame, &mut self.out) {
            Ok(n) => {
                self.uart.write_bytes(&self.out[..n]);
                Ok(SendStatus::Sent)
            }
            // Longer than the MTU: nothing a line of this MTU can carry.
            Err(_) => Ok(SendStatus::Full),
        }
    }
}
