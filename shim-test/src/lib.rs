//! umlnet-sim: a deterministic, simulated host for the umlnet core and guest.
//!
//! The same code that runs on a real host runs here on a simulated one:
//!
//! * [`net`]: the virtual clock and the wires — point-to-point links, hubs (multicast
//!   groups), the core learning switch (`uml_switch`), ethertap framing and a SLIP byte
//!   line through the core codec — with seeded faults (loss, duplication, reordering,
//!   delay, corruption, link down/up, switch restart), a transcript and a pcap per
//!   segment;
//! * [`host`]: a simulated host kernel (interfaces, longest-prefix routing, ARP with
//!   proxy ARP and published entries, `ip_forward`, ICMP echo) that applies the core's
//!   host plans exactly as the Linux shim applies them to Linux;
//! * [`world`]: guests (the unchanged `umlnet-guest` smoltcp guests) and hosts on those
//!   wires, booted from `eth<n>=` arguments, with the helper's address hooks, driven by
//!   jumping the clock from event to event;
//! * [`lab`]: the UML networking page's network (a host on a LAN, a router, machines beyond it);
//! * [`scenario`]: seeds (fixed lists and proptest), replay with `UMLNET_SIM_SEED`; a
//!   failing run leaves its transcript and pcaps in `UMLNET_SIM_OUT` if set.
//!
//! The scenarios themselves are the `sim_*` tests in `shim-test/tests/`; the benchmark is
//! `umlnet-bench sim` (crate `umlnet-bench`).
//!
//! No wall clock, no threads, no hash-map order: one seed gives a byte-identical run.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod host;
pub mod lab;
pub mod net;
pub mod pcap;
pub mod rng;
pub mod scenario;
pub mod summary;
pub mod world;

pub use proptest;
pub use smoltcp;
pub use smoltcp::time::{Duration, Instant};
