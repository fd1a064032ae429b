//! umlnet-baremetal: the third host shim, for bare metal. The core and the guest stack
//! on a microcontroller, on the same virtual LAN as UML kernels.
//!
//! The board is QEMU's `mps2-an385` (ARM's MPS2 with the AN385 image: a Cortex-M3 at
//! 25 MHz, CMSDK UARTs, an SMSC LAN9118 Ethernet controller). What this shim gives the
//! core and the guest:
//!
//! * [`lan9118::Lan9118`]: the Ethernet controller as a core `Link` (Ethernet frames);
//! * [`slip_line::SlipLine`]: a serial line with the core's SLIP codec as a `Link`
//!   (bare IPv4 packets);
//! * [`uart::CmsdkUart`]: the console;
//! * [`boot::BootConfig`]: the kernel-style command line (`eth<n>=` through the core's
//!   grammar, `ip=` as the kernel's);
//! * [`http::HttpServer`] and [`console::LineInput`]: the firmware's web page and
//!   shell input;
//! * with the `firmware` feature: `sys` (registers at their addresses, heap, SysTick
//!   clock, stack painting, semihosting) and `firmware` (the boot and main loop),
//!   which the `umlnet-firmware` binary runs.
//!
//! Everything but `sys` and `firmware` builds and is tested on the host (the drivers
//! against register models from the datasheets, the rest against the real guest
//! stack); the firmware itself is tested in QEMU against a real UML kernel
//! (`tests/tests/baremetal_real.rs`). `README.md` beside this crate tells how to build
//! and run it.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod board_link;
pub mod boot;
pub mod console;
#[cfg(feature = "firmware")]
pub mod firmware;
pub mod http;
pub mod lan9118;
#[cfg(feature = "firmware")]
mod panic;
pub mod regs;
pub mod slip_line;
#[cfg(feature = "firmware")]
pub mod sys;
pub mod uart;

pub use umlnet_guest::smoltcp;
