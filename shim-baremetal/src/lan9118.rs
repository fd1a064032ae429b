//! The SMSC LAN9118 Ethernet controller (the NIC of ARM's MPS2 boards, and QEMU's
//! `mps2-an385`) as a core [`Link`].
//!
//! The chip is driven by programmed I/O through its FIFO ports, no DMA and no
//! interrupts (the firmware polls it every millisecond):
//!
//! * receive: `RX_FIFO_INF` bits 23:16 count waiting frames; the RX status port (0x40)
//!   pops one status word (bits 29:16 the frame length including the 4-byte FCS, bit
//!   15 the error summary), then the frame is read from the RX data port (0x00) as
//!   `ceil(len / 4)` little-endian words, FCS last;
//! * send: TX command A (bit 13 first segment, bit 12 last segment, bits 10:0 the
//!   buffer length), TX command B (bits 31:16 a tag, bits 10:0 the frame length), then
//!   the frame as little-endian words into the TX data port (0x20); the chip adds
//!   the FCS and pads short frames. `TX_FIFO_INF` bits 15:0 say how many bytes the
//!   TX data FIFO has free, bits 23:16 how many TX status words wait (popped at
//!   0x48; bit 15 of each is the error summary);
//! * the MAC's own registers (`MAC_CR`, `ADDRH`, `ADDRL`) sit behind an indirect
//!   window: write the value to `MAC_CSR_DATA`, then `MAC_CSR_CMD` with the busy bit
//!   and the register number, and wait for the busy bit to clear.
//!
//! Sources: the SMSC LAN9118 datasheet (rev. 1.5, sections 5 and 3.12-3.13) and
//! QEMU's model, `hw/net/lan9118.c`, which this driver is tested against.

use crate::regs::Registers;
use core::fmt;
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_core::mac::MacAddr;

/// The RX data FIFO port (any offset 0x00-0x1c).
pub const RX_DATA_FIFO: usize = 0x00;
/// The TX data FIFO port (any offset 0x20-0x3c).
pub const TX_DATA_FIFO: usize = 0x20;
/// The RX status FIFO port: reading pops one status word.
pub const RX_STATUS_FIFO: usize = 0x40;
/// The TX status FIFO port: reading pops one status word.
pub const TX_STATUS_FIFO: usize = 0x48;
/// Chip ID (bits 31:16, 0x0118 for a LAN9118) and revision.
pub const ID_REV: usize = 0x50;
/// Reads 0x87654321 on a chip wired with the right byte order.
pub const BYTE_TEST: usize = 0x64;
/// Transmitter configuration (bit 1: TX_ON).
pub const TX_CFG: usize = 0x70;
/// Hardware configuration (bit 0: soft reset, self-clearing).
pub const HW_CFG: usize = 0x74;
/// RX FIFO levels: bits 23:16 status words waiting, bits 15:0 data bytes.
pub const RX_FIFO_INF: usize = 0x7c;
/// TX FIFO levels: bits 23:16 status words waiting, bits 15:0 free data bytes.
pub const TX_FIFO_INF: usize = 0x80;
/// Free-running 25 MHz counter.
pub const FREE_RUN: usize = 0x9c;
/// Indirect MAC register command (bit 31 busy, bit 30 read, bits 3:0 register).
pub const MAC_CSR_CMD: usize = 0xa4;
/// Indirect MAC register data.
pub const MAC_CSR_DATA: usize = 0xa8;

/// The value [`BYTE_TEST`] reads.
pub const BYTE_TEST_VALUE: u32 = 0x8765_4321;

/// MAC register: control.
const MAC_CR: u32 = 1;
/// MAC register: address bytes 4-5.
const MAC_ADDRH: u32 = 2;
/// MAC register: address bytes 0-3.
const MAC_ADDRL: u32 = 3;
/// `MAC_CR`: full duplex, transmitter and receiver on; broadcast accepted (bit 11
/// clear), exact destination filtering (promiscuous, bit 18, clear).
const MAC_CR_RUN: u32 = (1 << 20) | (1 << 3) | (1 << 2);
const CSR_BUSY: u32 = 1 << 31;
const TX_ON: u32 = 1 << 1;
const HW_CFG_SRST: u32 = 1;
/// TX command A: first and last segment (one buffer per frame).
const TX_CMD_A_FIRST_LAST: u32 = (1 << 13) | (1 << 12);
/// Status word bit 15: error summary (RX and TX).
const STATUS_ERROR: u32 = 1 << 15;
/// How often a busy bit is polled before the chip is declared stuck.
const SPIN_LIMIT: u32 = 100_000;

/// The largest frame this driver moves: 1514 bytes of Ethernet without FCS.
pub const MAX_FRAME: usize = 1514;

/// What went wrong with the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lan9118Error {
    /// `BYTE_TEST` did not read 0x87654321: no LAN9118 at this address, or the bus
    /// swaps bytes.
    NotFound(u32),
    /// A self-clearing bit (soft reset, MAC CSR busy) never cleared.
    Stuck(&'static str),
    /// The chip flagged a received frame as bad (CRC, length, collision); its
    /// status word. The frame was dropped.
    RxError(u32),
    /// The chip reported a failed transmission; its status word.
    TxError(u32),
}

impl fmt::Display for Lan9118Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lan9118Error::NotFound(v) => write!(
                f,
                "no LAN9118 found: BYTE_TEST read {v:#010x}, expected {BYTE_TEST_VALUE:#010x} \
                 (check the base address)"
            ),
            Lan9118Error::Stuck(what) => write!(f, "LAN9118 {what} never completed"),
            Lan9118Error::RxError(s) => write!(f, "LAN9118 dropped a bad frame (status {s:#010x})"),
            Lan9118Error::TxError(s) => write!(f, "LAN9118 transmit failed (status {s:#010x})"),
        }
    }
}

/// A LAN9118 behind its registers, as a [`Link`] that carries Ethernet frames.
#[derive(Debug)]
pub struct Lan9118<R: Registers> {
    regs: R,
    mac: MacAddr,
    tag: u16,
}

impl<R: Registers> Lan9118<R> {
    /// Resets the controller, programs `mac` into its address filter and turns the
    /// transmitter and receiver on.
    pub fn new(regs: R, mac: MacAddr) -> Result<Self, Lan9118Error> {
        let mut nic = Lan9118 { regs, mac, tag: 0 };
        let test = nic.regs.read(BYTE_TEST);
        if test != BYTE_TEST_VALUE {
            return Err(Lan9118Error::NotFound(test));
        }
        nic.regs.write(HW_CFG, HW_CFG_SRST);
        nic.spin("soft reset", |r| r.read(HW_CFG) & HW_CFG_SRST == 0)?;
        nic.set_mac(mac)?;
        nic.mac_write(MAC_CR, MAC_CR_RUN)?;
        nic.regs.write(TX_CFG, TX_ON);
        Ok(nic)
    }

    /// The address the receive filter accepts (besides broadcast).
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// Changes the address the receive filter accepts.
    pub fn set_mac(&mut self, mac: MacAddr) -> Result<(), Lan9118Error> {
        let m = mac.0;
        self.mac_write(MAC_ADDRL, u32::from_le_bytes([m[0], m[1], m[2], m[3]]))?;
        self.mac_write(MAC_ADDRH, u32::from(m[4]) | (u32::from(m[5]) << 8))?;
        self.mac = mac;
        Ok(())
    }

    /// The chip's free-running 25 MHz counter (a source of boot-time entropy).
    pub fn free_run(&mut self) -> u32 {
        self.regs.read(FREE_RUN)
    }

    /// The registers (for a test to look at its model).
    pub fn regs_mut(&mut self) -> &mut R {
        &mut self.regs
    }

    fn mac_write(&mut self, reg: u32, value: u32) -> Result<(), Lan9118Error> {
        self.spin("MAC CSR access", |r| r.read(MAC_CSR_CMD) & CSR_BUSY == 0)?;
        self.regs.write(MAC_CSR_DATA, value);
        self.regs.write(MAC_CSR_CMD, CSR_BUSY | reg);
        self.spin("MAC CSR access", |r| r.read(MAC_CSR_CMD) & CSR_BUSY == 0)
    }

    fn spin(
        &mut self,
        what: &'static str,
        mut done: impl FnMut(&mut R) -> bool,
    ) -> Result<(), Lan9118Error> {
        for _ in 0..SPIN_LIMIT {
            if done(&mut self.regs) {
                return Ok(());
            }
        }
        Err(Lan9118Error::Stuck(what))
    }

    /// Pops the TX status words of finished transmissions; the first failed one is
    /// reported.
    fn drain_tx_status(&mut self) -> Result<(), Lan9118Error> {
        let mut failed = None;
        while (self.regs.read(TX_FIFO_INF) >> 16) & 0xff != 0 {
            let status = self.regs.read(TX_STATUS_FIFO);
            if status & STATUS_ERROR != 0 && failed.is_none() {
                failed = Some(status);
            }
        }
        failed.map_or(Ok(()), |s| Err(Lan9118Error::TxError(s)))
    }
}

/// The number of 32-bit FIFO words `len` bytes take.
pub const fn fifo_words(len: usize) -> usize {
    len.div_ceil(4)
}

impl<R: Registers> Link for Lan9118<R> {
    type Error = Lan9118Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        1500
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        if (self.regs.read(RX_FIFO_INF) >> 16) & 0xff == 0 {
            return Ok(None);
        }
        let status = self.regs.read(RX_STATUS_FIFO);
        let with_fcs = ((status >> 16) & 0x3fff) as usize;
        let len = with_fcs.saturating_sub(4);
        // Every word of the frame is read, so the FIFO stays in step even when the
        // frame is dropped or longer than `buf`.
        let mut at = 0;
        for _ in 0..fifo_words(with_fcs) {
            let word = self.regs.read(RX_DATA_FIFO).to_le_bytes();
            for b in word {
                if at < len && at < buf.len() {
                    buf[at] = b;
                }
                at += 1;
            }
        }
        if status & STATUS_ERROR != 0 {
            return Err(Lan9118Error::RxError(status));
        }
        Ok(Some(len.min(buf.len())))
    }

    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        self.drain_tx_status()?;
        let len = frame.len().min(MAX_FRAME);
        let frame = &frame[..len];
        // Two command words, then the data words.
        let need = 8 + 4 * fifo_words(len);
        if (self.regs.read(TX_FIFO_INF) & 0xffff) < need as u32 {
            return Ok(SendStatus::Full);
        }
        self.tag = self.tag.wrapping_add(1);
        self.regs
            .write(TX_DATA_FIFO, TX_CMD_A_FIRST_LAST | len as u32);
        self.regs
            .write(TX_DATA_FIFO, (u32::from(self.tag) << 16) | len as u32);
        for chunk in frame.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.regs.write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        Ok(SendStatus::Sent)
    }
}

#[cfg(test)]
mod test;
