//! VXLAN uplinks of `uml_switch` (`-vxlan <vni>,<local ip>[:port],<remote ip>[:port]...`):
//! one switch port that carries frames in UDP (RFC 7348) to the switches of other hosts,
//! be they our own `uml_switch`, a Linux kernel `vxlan` device, Open vSwitch or a
//! datacenter switch. The header codec is [`umlnet_core::vxlan`].
//!
//! Contract:
//! * each uplink is **one port** of the switch. The switch learns the remote MAC
//!   addresses behind it like behind any port, so it never sends a frame back out of the
//!   uplink it came in on: a frame from one remote endpoint is never sent to that
//!   endpoint, nor to the other endpoints of the same uplink (split horizon, as in a
//!   full mesh of VTEPs, where every endpoint already got the flood directly from the
//!   sender). A hub-and-spoke layout, where this switch relays between remote hosts,
//!   uses one uplink per spoke: each is its own port.
//! * the uplink also remembers, for each MAC address learned from it, **which endpoint**
//!   it came from: a known unicast destination is sent to that endpoint only; broadcast,
//!   multicast and unknown destinations go to every endpoint (unicast head-end
//!   replication, no underlay multicast needed).
//! * a datagram is taken only if it is a VXLAN datagram with the I flag set, carrying a
//!   whole Ethernet header, for a VNI one of the uplinks on that local address serves,
//!   from the IP address of one of that uplink's remote endpoints. Everything else is
//!   counted ([`VxlanStats`]) and dropped. Endpoints are matched by address, and by port
//!   only to tell apart two endpoints on the same address: the Linux kernel sends from a
//!   per-flow source port, not from 4789. Reserved bits are ignored (RFC 7348 §5) but
//!   counted.
//! * we send from the local address and port, with the reserved bits zero.
//! * several uplinks may share one local address and port (they then differ by VNI or
//!   by remote endpoints); they share one UDP socket. Uplinks are separate ports, so a
//!   frame from endpoint E on VNI 43 may go to E on VNI 42: another segment there.
//! * datagrams are read [`RECV_BATCH`] at a time (`recvmmsg`) and the frames forwarded
//!   as one batch; encapsulated datagrams leave with one `sendmmsg` at the end of each
//!   forwarded batch ([`Uplinks::flush`]).
//! * a frame grows by 50 bytes on an IPv4 underlay (70 on IPv6): a 1514-byte frame
//!   needs an underlay MTU of 1564 or is sent as IP fragments (which works, slower).
//!
//! The socket-free part ([`Uplink`], [`classify()`]) is what the unit tests drive;
//! the real-host tests run our switch against a kernel `vxlan` device in network
//! namespaces.

mod classify;
mod spec;
mod stats;
mod uplink;
mod uplinks;

pub use classify::{RxDrop, classify};
pub use spec::{SpecError, UplinkSpec};
pub use stats::VxlanStats;
pub use uplink::{Destinations, Uplink};
pub use uplinks::{RecvBatch, SEND_BATCH, UplinkFrame, Uplinks};

use umlnet_core::vxlan::HEADER_LEN;

/// Addresses one uplink remembers the endpoint of; when full, stale ones are dropped
/// first, then all (the next frames to them are flooded to every endpoint until
/// relearned).
pub const MAX_ENDPOINT_MACS: usize = 1 << 16;

/// Datagrams taken per `recvmmsg` ([`Uplinks::recv_batch`]).
pub const RECV_BATCH: usize = 32;

/// Bytes per datagram of a batch: room for the VXLAN header and more than the largest
/// frame the switch passes. A longer datagram is cut by the kernel, then counted as
/// oversize and dropped.
pub const SLOT: usize = 2048;

/// A slot holds the VXLAN header and the largest frame the switch passes (a
/// compile-time guard against a future smaller slot).
const _: () = assert!(SLOT > HEADER_LEN + umlnet_core::switch::DEFAULT_MAX_FRAME_LEN);

#[cfg(test)]
mod testing {
    //! What the tests of the uplink modules share.
    use std::net::SocketAddr;

    use umlnet_core::mac::MacAddr;

    use super::UplinkSpec;

    pub(super) fn spec(s: &str) -> UplinkSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    pub(super) fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    pub(super) const A: MacAddr = MacAddr([0xfe, 0xfd, 10, 0, 0, 1]);
    pub(super) const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0x42, 2]);

    /// The kernel's ARP request datagram (see `umlnet_core::vxlan` tests): VNI 42,
    /// from 02:00:00:00:42:01 to broadcast.
    pub(super) const KERNEL_ARP_REQUEST: [u8; 50] = [
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        0x00, 0x00, 0x00, 0x42, 0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x42, 0x01, 0xc0, 0xa8, 0x2a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xc0, 0xa8, 0x2a, 0x02,
    ];
    pub(super) const KERNEL_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0x42, 1]);
}
