//! umlnet-bench: the benchmarks of umlnet, outside the libraries they measure.
//!
//! * [`switch`]: our `uml_switch` against the original `uml_switch` and `vde_switch`
//!   over the real daemon protocol, with the kernel floor of the 999-port row;
//! * [`vxlan`]: two switches joined over VXLAN, ours against the kernel's bridge and
//!   `vxlan` devices;
//! * [`sim`]: how many frames of virtual traffic the simulator moves per CPU second.
//!
//! The binary `umlnet-bench` (`umlnet-bench switch|sim`, also reached as
//! `umlnet bench switch|sim`) prints their tables; what the numbers mean is in
//! `docs/benchmarks.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod sim;
pub mod switch;
pub mod vxlan;
