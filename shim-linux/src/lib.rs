//! umlnet-linux: the real Linux host for umlnet.

pub mod sys;
pub mod switchd;
