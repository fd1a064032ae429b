//! Memory-mapped registers, and the devices of QEMU's `mps2-an385` at their addresses
//! (QEMU `hw/arm/mps2.c`, ARM AN385 section 3): UART0 at 0x4000_4000, UART1 at
//! 0x4000_5000, the LAN9118 at 0x4020_0000 (interrupt 13, unused: the firmware polls).

use crate::regs::Registers;
use core::sync::atomic::{AtomicBool, Ordering};

/// The console UART.
pub const UART0_BASE: usize = 0x4000_4000;
/// The SLIP line's UART.
pub const UART1_BASE: usize = 0x4000_5000;
/// The Ethernet controller.
pub const LAN9118_BASE: usize = 0x4020_0000;
/// The peripheral clock the UARTs divide (AN385: 25 MHz).
pub const SYSCLK_HZ: u32 = 25_000_000;

/// A device's register block in the address space.
#[derive(Debug)]
pub struct Mmio {
    base: usize,
}

impl Registers for Mmio {
    fn read(&mut self, offset: usize) -> u32 {
        // SAFETY: `base` is a device block of this board (see `Board::take`, the only
        // constructor), `offset` one of its 32-bit registers, and `&mut self` makes
        // this the only access in flight.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }
}

/// The devices of the board, handed out once.
#[derive(Debug)]
pub struct Board {
    /// UART0: the console.
    pub uart0: Mmio,
    /// UART1: the SLIP line.
    pub uart1: Mmio,
    /// The LAN9118.
    pub lan9118: Mmio,
}

static TAKEN: AtomicBool = AtomicBool::new(false);

impl Board {
    /// The board's devices; `None` after the first call, so that no two owners
    /// drive one device.
    pub fn take() -> Option<Board> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(Board {
            uart0: Mmio { base: UART0_BASE },
            uart1: Mmio { base: UART1_BASE },
            lan9118: Mmio { base: LAN9118_BASE },
        })
    }
}
