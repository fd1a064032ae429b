//! ARM's CMSDK APB UART (the serial ports of the MPS2 boards and QEMU's `mps2-an385`):
//! a byte port for the console and for a SLIP line.
//!
//! Registers (ARM CoreLink SDK, DDI 0479B, section 4.3): `DATA` (0x00), `STATE`
//! (0x04; bit 0 TX buffer full, bit 1 RX buffer full), `CTRL` (0x08; bit 0 TX enable,
//! bit 1 RX enable), `BAUDDIV` (0x10; the clock divided by the baud rate, at least 16).
//! One byte of buffer each way; QEMU's model (`hw/char/cmsdk-apb-uart.c`) moves the
//! byte to its chardev at once.

use crate::regs::Registers;
use core::fmt;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_RX_ENABLE: u32 = 0b11;

/// One CMSDK UART.
#[derive(Debug)]
pub struct CmsdkUart<R: Registers> {
    regs: R,
}

impl<R: Registers> CmsdkUart<R> {
    /// Sets the baud rate from the peripheral clock and turns transmitter and
    /// receiver on.
    pub fn new(mut regs: R, clock_hz: u32, baud: u32) -> Self {
        regs.write(BAUDDIV, (clock_hz / baud.max(1)).max(16));
        regs.write(CTRL, CTRL_TX_RX_ENABLE);
        CmsdkUart { regs }
    }

    /// Sends one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.regs.read(STATE) & STATE_TX_FULL != 0 {}
        self.regs.write(DATA, u32::from(byte));
    }

    /// Sends every byte of `bytes`.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// Whether the transmit buffer can take a byte now.
    pub fn can_write(&mut self) -> bool {
        self.regs.read(STATE) & STATE_TX_FULL == 0
    }

    /// The received byte, if one is waiting.
    pub fn read_byte(&mut self) -> Option<u8> {
        if self.regs.read(STATE) & STATE_RX_FULL != 0 {
            Some(self.regs.read(DATA) as u8)
        } else {
            None
        }
    }
}

/// Console text: `\n` goes out as `\r\n`, as a terminal expects.
impl<R: Registers> fmt::Write for CmsdkUart<R> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        Ok(())
    }
}
