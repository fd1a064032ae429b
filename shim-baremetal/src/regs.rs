//! Register access, the one thing a driver needs from the bus: 32-bit reads and
//! writes at byte offsets from a device's base address.
//!
//! On the board this is memory-mapped I/O ([`crate::sys::mmio::Mmio`], the only place
//! with `unsafe`); a host test gives a driver a model of the device's registers.

/// 32-bit registers of one device, addressed by byte offset from its base.
pub trait Registers {
    /// Reads the register at `offset`. Reading a FIFO port pops from it.
    fn read(&mut self, offset: usize) -> u32;
    /// Writes `value` to the register at `offset`.
    fn write(&mut self, offset: usize, value: u32);
}

impl<R: Registers + ?Sized> Registers for &mut R {
    fn read(&mut self, offset: usize) -> u32 {
        (**self).read(offset)
    }
    fn write(&mut self, offset: usize, value: u32) {
        (**self).write(offset, value)
    }
}
