//! umlnet-guest: the guest side of UML networking on smoltcp, over any core `Link`.
//!
//! * [`LinkDevice`]: a smoltcp `phy::Device` over any [`umlnet_core::link::Link`], with
//!   the counters `ifconfig` shows.
//! * [`Guest`]: a UML-like guest. Interfaces come from `eth<n>=` arguments
//!   ([`Guest::add_device`]) over links the host opened; one smoltcp stack, one
//!   routing table ([`route::RouteTable`]) across interfaces, ARP per interface, and the
//!   seed's MAC rule (`fe:fd:<ip bytes>` when no MAC is given; odd first byte refused).
//! * [`shell`]: `ifconfig`, `route`, `arp`, `ping` with net-tools/iputils syntax and output,
//!   through [`Guest::run`]; long commands (ping) run as jobs driven by [`Guest::poll`].
//! * TCP for tests and demos: [`Guest::tcp_listen`], [`Guest::tcp_connect`], [`Guest::tcp`].
//!
//! Nothing here calls the OS: time comes in as a smoltcp `Instant`, randomness as a
//! seed, frames through the `Link` trait. It runs unchanged on a real host, in the
//! simulator and on bare metal (std is used for collections only).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod device;
pub mod guest;
mod net;
pub mod route;
pub mod shell;
#[cfg(test)]
mod test;
#[cfg(test)]
mod test_wire;

pub use device::{AnyLink, Counters, LinkDevice, LinkFailure};
pub use guest::{Guest, GuestError, InterfaceInfo, Neighbour, TcpHandle};
pub use shell::{CommandOutput, JobId, Run};
pub use smoltcp;
