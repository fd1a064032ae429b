//! umlnet-core: the pure parts of User-Mode Linux networking.
//!
//! `#![no_std]`, no allocator, no I/O, no clock, no globals. Time and randomness are
//! arguments. Every parser here has property tests and a cargo-fuzz target; the
//! `fuzz_one` functions in each parsing module are what those targets (and the
//! stable corpus replay test) call.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod arp;
pub mod cmdline;
pub mod daemon;
pub mod ethernet;
mod fmt_sink;
pub mod helper;
pub mod host;
pub mod ifname;
pub mod ipv4;
pub mod link;
pub mod mac;
pub mod mconsole;
pub mod num;
pub mod pcap;
pub mod policy;
pub mod slip;
pub mod switch;
pub mod time;
pub mod vxlan;
