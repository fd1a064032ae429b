//! umlnet-linux: the real Linux host for umlnet.

pub mod config;
pub mod guest_host;
pub mod hostapply;
pub mod hoststate;
pub mod hostup;
pub mod nethelper;
pub mod slipbridge;
pub mod switch_status;
pub mod switchd;
pub mod sys;
pub mod transport;
pub mod tunctl;
/// Starting a UML kernel on this host (the XSAVE shim UML 6.1 needs on AVX-512/AMX CPUs).
pub use umlnet_xstate::launch as umlkernel;
