//! umlnet-guest: the guest side of UML networking on smoltcp, over any core `Link`.
//!
//! * [`LinkDevice`]: a smoltcp `phy::Device` over any [`umlnet_core::link::Link`], with
//!   the counters `ifconfig` shows.
//! * [`Guest`]: a UML-like guest. Interfaces come from `eth<n>=` arguments
//!   ([`Guest::add_device`]) over links the host opened; one smoltcp stack, one
//!   routing table ([`route::RouteTable`]) across interfaces, ARP per interface, and the
//!   MAC rule of the UML networking page (`fe:fd:<ip bytes>` when no MAC is given; odd
//!   first byte refused).
//! * [`shell`]: `ifconfig`, `route`, `arp`, `ping` with net-tools/iputils syntax and output,
//!   through [`Guest::run`]; long commands (ping) run as jobs driven by [`Guest::poll`].
//! * TCP for tests and demos: [`Guest::tcp_listen`], [`Guest::tcp_connect`], [`Guest::tcp`].
//!
//! # Design: one stack, one routing table, ARP per interface
//!
//! A UML kernel has one IP stack and one routing table over all its `eth<n>`. Here
//! smoltcp runs as ONE `Interface` with `Medium::Ip` over an internal device that holds
//! every interface; each packet smoltcp sends is routed by the guest's own table
//! (longest prefix, then metric: egress interface and next hop) and, on Ethernet
//! links, framed after resolving the next hop with the guest's own ARP (three requests
//! a second apart, three packets queued, an ICMP "host unreachable" back to the sender
//! on failure, requests for any local address answered). smoltcp's per-interface
//! `Medium::Ethernet` mode cannot express this table: it treats the whole subnet of an
//! interface address as on-link even after `route del -net`, and drops ARP from
//! senders outside that subnet, so the UML networking page's fix for the network-route pitfall
//! (`route del -net …; route add -host <host> dev eth0; route add default gw <host>`)
//! would not change where packets go. `arp -n` is therefore a view of the guest's own
//! neighbour cache. [`LinkDevice`] still works as a plain smoltcp Ethernet/IP device for
//! single-interface uses, and is the counted frame port of each guest interface.
//!
//! Nothing here calls the OS: time comes in as a smoltcp `Instant`, randomness as a
//! seed, frames through the `Link` trait. It runs unchanged on a real host, in the
//! simulator and on bare metal (it builds for `thumbv7m-none-eabi`).
//!
//! # `std`, `alloc` and memory
//!
//! The crate is `#![no_std]` and needs `alloc`. The `std` feature (on by default) is
//! what the Linux shim and the simulator use: smoltcp's `std` and `log` support and
//! the `fragmentation` feature (64 KiB IPv4 datagrams, at the price of two 64 KiB
//! buffers inside smoltcp's interface). A microcontroller build uses
//! `default-features = false`, brings a global allocator, and picks small socket
//! buffers with [`Guest::with_buffers`] and [`Buffers::SMALL`].
//!
//! Why `alloc` stays: the guest's state is shaped by its command line and shell
//! (interfaces appear and go, routes are added, ARP queues packets, `ping` starts jobs,
//! every command returns its output as text), and those live in ordered maps, queues
//! and strings. Caller-provided storage for all of them would mean one capacity
//! parameter per table and a fixed-size output buffer per command, for what a heap of
//! a few KiB does. What it costs: a heap (one interface with [`Buffers::SMALL`], a TCP
//! listener, ARP and routes fit in a few KiB) and an allocator's code.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod device;
pub mod guest;
mod net;
pub mod route;
pub mod shell;
#[cfg(test)]
mod test;

pub use device::{AnyLink, Counters, LinkDevice, LinkFailure};
pub use guest::{Buffers, Guest, GuestError, InterfaceInfo, Neighbour, TcpHandle};
pub use shell::{CommandOutput, JobId, Run};
pub use smoltcp;
