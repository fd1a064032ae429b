//! umlnet-linux: the real Linux host for umlnet.

pub mod config;
pub mod guest_host;
pub mod hostapply;
pub mod hoststate;
pub mod hostup;
pub mod lab;
pub mod nethelper;
pub mod slipbridge;
pub mod switchd;
pub mod sys;
pub mod transport;
pub mod tunctl;
pub mod umlkernel;
