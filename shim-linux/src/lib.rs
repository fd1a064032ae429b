//! umlnet-linux: the real Linux host for umlnet.
//!
//! Every system call that needs `unsafe` lives in [`sys`], behind a safe wrapper; the
//! rest of the crate may not use `unsafe` (`deny(unsafe_code)`), except where `uml_net`
//! calls the two `unsafe fn`s of [`sys::detach`], whose preconditions only the caller
//! can know (three calls, each marked `allow(unsafe_code)` with its SAFETY argument).
#![deny(unsafe_code)]

pub mod config;
pub mod guest_host;
pub mod hostapply;
pub mod hostjournal;
pub mod hoststate;
pub mod hostup;
pub mod lab;
pub mod nethelper;
pub mod slipbridge;
pub mod switch_status;
pub mod switchd;
#[allow(unsafe_code)]
pub mod sys;
pub mod transport;
pub mod tunctl;
/// Starting a UML kernel on this host (the XSAVE shim UML 6.1 needs on AVX-512/AMX CPUs).
pub use umlnet_xstate::launch as umlkernel;
