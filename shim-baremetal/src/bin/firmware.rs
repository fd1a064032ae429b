//! `umlnet-firmware`: the bare-metal guest for QEMU's `mps2-an385`. All of it lives in
//! the library (`umlnet_baremetal::firmware`); this is the entry point and the two
//! handlers the vector table names.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

// The panic handler is the library's (`umlnet_baremetal::panic`).
use umlnet_baremetal as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    umlnet_baremetal::firmware::run()
}

#[cortex_m_rt::exception]
fn SysTick() {
    umlnet_baremetal::sys::runtime::tick();
}
