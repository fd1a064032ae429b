//! The boot-time host setup file of `umlnet up`/`down`/`plan`: a TOML file that declares
//! the host side of each virtual network, and the planner that turns it into steps.
//!
//! The UML networking page ends its TUN/TAP section with the wish for "a little utility which reads the
//! information from a config file and sets up devices at boot time". This is its file:
//!
//! ```toml
//! # Persistent TAP devices, each owned by the user who runs the UML.
//! [[tap]]
//! name = "tap0"                 # the device (eth0=tuntap,tap0,,)
//! user = "uml"                  # owner: a user name or a uid
//! group = "uml"                 # optional: a group allowed to attach too
//! address = "192.168.0.254"     # optional: the host side, as a /32
//! guests = ["192.168.0.253"]    # host route, proxy ARP, published ARP entries
//! publish_on = ["eth0"]         # optional: LAN devices for the published entries
//!                               # (default: the devices whose routes hold the guest)
//!
//! # Switches to start (our uml_switch, or any program taking its flags).
//! [[switch]]
//! socket = "/run/uml.ctl"       # -unix
//! hub = false                   # -hub
//! tap = "tap1"                  # optional: -tap, a TAP declared above
//! mgmt = "/run/uml.mgmt"        # optional: -mgmt console socket
//! user = "uml"                  # optional: run as this user (and its primary group)
//! mode = "0660"                 # optional: -mode of its sockets (octal, a string)
//! group = "uml"                 # optional: -group of its sockets
//! vxlan = ["42,10.0.0.1,10.0.0.2"] # optional: -vxlan uplinks to the switches of other
//!                              # hosts: <vni>,<local ip>[:port],<remote ip>[:port]...
//!
//! ip_forward = true             # net.ipv4.ip_forward=1 when guests are routed (default)
//! state_dir = "/run/umlnet"     # what `up` made (written ahead), for `down` (default)
//! ```
//!
//! [`parse`] reads the file (every error names its line and key), [`HostConfig::plan`]
//! gives the ordered [`Step`]s: for each TAP the core's by-hand plan
//! ([`umlnet_core::host::plan_for`] with [`umlnet_core::host::Setup::Manual`]), then the switches. `Display`
//! of a step is the equivalent command line.
//!
//! This module holds the checked configuration's types; `parse` reads a file, `display`
//! prints one back, `plan` makes the steps, `error` and `fuzz` are what their names say.

mod display;
mod error;
mod fuzz;
mod parse;
mod plan;

use std::net::Ipv4Addr;
use std::path::PathBuf;

pub use error::{ConfigError, PlanStepError};
pub use fuzz::fuzz_one;
pub use parse::parse;
pub use plan::{Step, host_routes};

#[cfg(test)]
mod test;

/// The default `state_dir`.
pub const DEFAULT_STATE_DIR: &str = "/run/umlnet";

/// One persistent TAP device and the guests routed through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapConfig {
    /// The device name.
    pub name: String,
    /// The owner uid.
    pub uid: u32,
    /// The group allowed to attach, if any.
    pub gid: Option<u32>,
    /// The host side's address (a /32), if any.
    pub address: Option<Ipv4Addr>,
    /// The guests' addresses.
    pub guests: Vec<Ipv4Addr>,
    /// The LAN devices to publish the guests' ARP entries on; `None`: found from the
    /// host's routes.
    pub publish_on: Option<Vec<String>>,
}

/// One switch to start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwitchConfig {
    /// The control socket (`-unix`).
    pub socket: PathBuf,
    /// `-hub`.
    pub hub: bool,
    /// `-tap`.
    pub tap: Option<String>,
    /// `-mgmt`.
    pub mgmt: Option<PathBuf>,
    /// The program; `None`: `uml_switch` beside the running `umlnet`, else on `PATH`.
    pub program: Option<PathBuf>,
    /// `-vxlan` uplinks, each checked and in the canonical form
    /// ([`crate::switchd::vxlan::UplinkSpec`]'s `Display`: `42,10.0.0.1:4789,10.0.0.2:4789`).
    pub vxlan: Vec<String>,
    /// The user the switch runs as (`user`); `None`: as `umlnet up` runs (root).
    pub run_as: Option<RunAs>,
    /// `-mode`: the permission bits of the switch's sockets.
    pub mode: Option<u32>,
    /// `-group`: the gid owning the switch's sockets.
    pub group: Option<u32>,
    /// `-max-ports-per-user`; `None`: the switch's default.
    pub max_ports_per_user: Option<usize>,
}

/// The ids a switch runs with: a user's uid, and its primary group as the gid and the
/// only supplementary group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunAs {
    /// The uid.
    pub uid: u32,
    /// The user's primary gid.
    pub gid: u32,
}

impl SwitchConfig {
    /// The switch's arguments (after the program name).
    pub fn args(&self) -> Vec<String> {
        let mut v = vec!["-unix".to_string(), self.socket.display().to_string()];
        if self.hub {
            v.push("-hub".into());
        }
        if let Some(t) = &self.tap {
            v.push("-tap".into());
            v.push(t.clone());
        }
        if let Some(m) = &self.mgmt {
            v.push("-mgmt".into());
            v.push(m.display().to_string());
        }
        for u in &self.vxlan {
            v.push("-vxlan".into());
            v.push(u.clone());
        }
        if let Some(m) = self.mode {
            v.push("-mode".into());
            v.push(format!("{m:04o}"));
        }
        if let Some(g) = self.group {
            v.push("-group".into());
            v.push(g.to_string());
        }
        if let Some(n) = self.max_ports_per_user {
            v.push("-max-ports-per-user".into());
            v.push(n.to_string());
        }
        v
    }

    /// The program as configured, or `uml_switch`.
    pub fn program_name(&self) -> String {
        self.program
            .as_ref()
            .map_or_else(|| "uml_switch".into(), |p| p.display().to_string())
    }
}

/// The whole file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The TAP devices, in file order.
    pub taps: Vec<TapConfig>,
    /// The switches, in file order.
    pub switches: Vec<SwitchConfig>,
    /// Whether to turn on IPv4 forwarding when guests are routed.
    pub ip_forward: bool,
    /// Where `up` records what it made.
    pub state_dir: PathBuf,
}
