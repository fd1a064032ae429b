//! The counters of all uplinks of a switch ([`VxlanStats`]), as the `-mgmt` console
//! prints them.

/// Counters of all uplinks of a switch together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VxlanStats {
    /// Datagrams received on the VXLAN sockets.
    pub rx_datagrams: u64,
    /// Frames taken from them and handed to the switch.
    pub rx_frames: u64,
    /// Dropped: shorter than the VXLAN header plus an Ethernet header.
    pub drops_short: u64,
    /// Dropped: the I flag was clear.
    pub drops_bad_flags: u64,
    /// Dropped: a VNI no uplink on that local address serves.
    pub drops_wrong_vni: u64,
    /// Dropped: the sender is not a remote endpoint of the uplink with that VNI.
    pub drops_unknown_endpoint: u64,
    /// Dropped: longer than a receive slot ([`super::SLOT`] bytes).
    pub drops_oversize: u64,
    /// Taken although reserved bits were set (RFC 7348: ignored on receipt).
    pub reserved_bits_ignored: u64,
    /// Datagrams sent (one per endpoint a frame went to).
    pub tx_datagrams: u64,
    /// Frames sent to one learned endpoint.
    pub tx_unicast: u64,
    /// Frames replicated to every endpoint of their uplink.
    pub tx_replicated: u64,
    /// Datagrams the kernel did not take (full buffer, unreachable network, ...).
    pub tx_errors: u64,
}

impl VxlanStats {
    /// The counters as `(name, value)` pairs, the names the `-mgmt` console's `stats`
    /// prints.
    pub fn lines(&self) -> [(&'static str, u64); 12] {
        [
            ("vxlan_rx_datagrams", self.rx_datagrams),
            ("vxlan_rx_frames", self.rx_frames),
            ("vxlan_drops_short", self.drops_short),
            ("vxlan_drops_bad_flags", self.drops_bad_flags),
            ("vxlan_drops_wrong_vni", self.drops_wrong_vni),
            ("vxlan_drops_unknown_endpoint", self.drops_unknown_endpoint),
            ("vxlan_drops_oversize", self.drops_oversize),
            ("vxlan_reserved_bits_ignored", self.reserved_bits_ignored),
            ("vxlan_tx_datagrams", self.tx_datagrams),
            ("vxlan_tx_unicast", self.tx_unicast),
            ("vxlan_tx_replicated", self.tx_replicated),
            ("vxlan_tx_errors", self.tx_errors),
        ]
    }
}
