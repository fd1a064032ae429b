//! A running switch's state read from its `-mgmt` console, as data: what
//! `umlnet switch-status --json` prints.
//!
//! [`crate::switchd::switch_status`] asks the console for `stats`, `ports` and `macs`;
//! [`parse`] turns the three answers into a [`SwitchStatus`], whose `Display` writes
//! them back as the console did. The console's format is described in
//! `switchd/mgmt.rs` (and `docs/architecture.md`).

use std::fmt;

use serde::Serialize;

mod parse;
#[cfg(test)]
mod tests;

pub use parse::{StatusError, parse};

/// Everything the console tells about a switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchStatus {
    /// `switch` (learn and forward) or `hub` (flood every frame).
    pub mode: Mode,
    /// Ports attached (the `stats` answer's `ports`).
    pub port_count: u64,
    /// Addresses learned now.
    pub address_count: u64,
    /// Addresses the table can hold.
    pub address_capacity: u64,
    /// Every other `stats` counter by name (`rx_frames`, `tx_queue_full`, the
    /// `vxlan_*` counters of a switch with uplinks, ...), in the console's order.
    pub counters: Counters,
    /// The attached ports, by id.
    pub ports: Vec<Port>,
    /// The learned addresses the console listed (at most
    /// [`crate::switchd::mgmt::MAX_MACS_LISTED`]; `address_count` has them all).
    pub addresses: Vec<Address>,
}

/// The switch's forwarding mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Learns addresses and forwards unicast to one port.
    Switch,
    /// Floods every frame to every other port.
    Hub,
}

/// Counters by name, in the order the console gave them (serialized as a JSON object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub Vec<(String, u64)>);

impl Counters {
    /// The counter called `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

impl Serialize for Counters {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A JSON object in the console's order (serde_json writes entries as given).
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One attached port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    /// The port number.
    pub id: u16,
    /// What is attached: `v3 @<data address>`, `tap tap0`, a VXLAN uplink...
    pub kind: String,
    /// Seconds since it attached.
    pub up_secs: u64,
    /// Frames received from it.
    pub rx_frames: u64,
    /// Bytes received from it.
    pub rx_bytes: u64,
    /// Frames sent to it.
    pub tx_frames: u64,
    /// Bytes sent to it.
    pub tx_bytes: u64,
    /// Sends to it that failed.
    pub tx_errors: u64,
    /// Frames from it that were dropped.
    pub drops: u64,
    /// Addresses learned on it.
    pub macs: u64,
}

/// One learned address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// The Ethernet address, as the console writes it (`fe:fd:00:00:00:01` style).
    pub mac: String,
    /// The port it was learned on.
    pub port: u16,
    /// Seconds since a frame from it was last seen.
    pub age_secs: u64,
}

impl SwitchStatus {
    /// The JSON document `umlnet switch-status --json` prints (pretty, one key a line).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a SwitchStatus always serializes")
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Switch => "switch",
            Mode::Hub => "hub",
        })
    }
}

/// The three console answers (`stats`, `ports`, `macs`), each ended by an empty line,
/// as the console wrote them.
impl fmt::Display for SwitchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "mode {}", self.mode)?;
        writeln!(f, "ports {}", self.port_count)?;
        writeln!(
            f,
            "addresses {} of {}",
            self.address_count, self.address_capacity
        )?;
        for (name, n) in &self.counters.0 {
            writeln!(f, "{name} {n}")?;
        }
        writeln!(f)?;
        writeln!(f, "{} ports", self.ports.len())?;
        for p in &self.ports {
            writeln!(
                f,
                "port {} {} up {}s rx {} frames {} bytes tx {} frames {} bytes tx_errors {} drops {} macs {}",
                p.id,
                p.kind,
                p.up_secs,
                p.rx_frames,
                p.rx_bytes,
                p.tx_frames,
                p.tx_bytes,
                p.tx_errors,
                p.drops,
                p.macs
            )?;
        }
        writeln!(f)?;
        writeln!(f, "{} addresses", self.address_count)?;
        for a in &self.addresses {
            writeln!(f, "{} port {} age {}s", a.mac, a.port, a.age_secs)?;
        }
        let unlisted = self
            .address_count
            .saturating_sub(self.addresses.len() as u64);
        if unlisted > 0 {
            writeln!(f, "... and {unlisted} more")?;
        }
        writeln!(f)
    }
}

/// Fuzzing entry point: any text either parses to a status that prints back to text
/// parsing to the same status, or is refused with an error naming a line of it.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(status) => {
            let printed = status.to_string();
            let again = parse(&printed).expect("a printed status parses");
            assert_eq!(again, status, "{printed}");
            let _ = status.to_json();
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(e.line >= 1 && e.line <= lines + 1, "{e} in {lines} lines");
        }
    }
}
