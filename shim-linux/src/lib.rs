//! umlnet-linux: the real Linux host for umlnet.

pub mod sys;
pub mod switchd;
pub mod hostapply;
pub mod nethelper;
pub mod slipbridge;
pub mod tunctl;
pub mod transport;
pub mod guest_host;
pub mod config;
pub mod hoststate;
pub mod hostup;
