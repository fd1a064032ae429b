//! [`HostError`]: why a host action failed, worded as `ip` and `tunctl` report it.

use core::fmt;
use core::net::Ipv4Addr;
use std::string::String;

/// Why a host action failed, worded as `ip` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// No interface of that name.
    NoSuchDevice(String),
    /// The device, address, route or entry already exists.
    Exists,
    /// The address, route or entry to delete does not exist.
    NotFound,
    /// A gateway that no route on a link reaches.
    GatewayUnreachable(Ipv4Addr),
    /// A TAP of that name is already there and in use.
    Busy(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoSuchDevice(d) => write!(f, "Cannot find device \"{d}\""),
            HostError::Exists => f.write_str("RTNETLINK answers: File exists"),
            HostError::NotFound => f.write_str("RTNETLINK answers: No such process"),
            HostError::GatewayUnreachable(g) => {
                write!(f, "Error: Nexthop has invalid gateway ({g}).")
            }
            HostError::Busy(d) => write!(f, "ioctl(TUNSETIFF): Device or resource busy ({d})"),
        }
    }
}

impl core::error::Error for HostError {}
