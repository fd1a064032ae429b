//! The kernel command-line grammar `eth<n>=<transport>,<fields>`.

use crate::mac::MacAddr;
use core::net::Ipv4Addr;

/// Longest host interface name (IFNAMSIZ 16, less the NUL).
pub const IFNAME_MAX: usize = 15;
/// Longest unix socket path (`sun_path` is 108 bytes, less the NUL).
pub const SOCKET_PATH_MAX: usize = 107;

/// A host interface name such as `tap0`.
pub type IfName = heapless::String<IFNAME_MAX>;
/// A unix socket path.
pub type SocketPath = heapless::String<SOCKET_PATH_MAX>;

/// One parsed `eth<n>=...` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceSpec {
    /// `<n>` of `eth<n>`.
    pub index: u32,
    /// The transport and its fields.
    pub transport: Transport,
}

/// A transport with its fields, defaults resolved where the kernel has them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// `ethertap,<dev>,<mac>,<gate-ip>`
    Ethertap(Ethertap),
    /// `tuntap,<dev>,<mac>,<gate-ip>`
    Tuntap(Tuntap),
    /// `mcast,<mac>,<group>,<port>,<ttl>`
    Mcast(Mcast),
    /// `daemon,<mac>,<sock-type>,<ctl-socket>[,<data-socket>]`
    Daemon(Daemon),
    /// `slip,<gate-ip>`
    Slip(Slip),
}

/// `eth<n>=ethertap,<dev>,<mac>,<gate-ip>`: a host ethertap device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ethertap {
    /// Host tap device, mandatory (`tap0`).
    pub dev: IfName,
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// Address for the host side; its presence makes the helper set up the host.
    pub gate: Option<Ipv4Addr>,
}

/// `eth<n>=tuntap,<dev>,<mac>,<gate-ip>`: a host TUN/TAP device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tuntap {
    /// A named, pre-made tap (fixed mode, no helper); `None` lets the helper create one.
    pub dev: Option<IfName>,
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// Address for the host side of the tap.
    pub gate: Option<Ipv4Addr>,
}

/// `eth<n>=mcast,<mac>,<group>,<port>,<ttl>`: UDP multicast between guests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mcast {
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// Multicast group (default 239.192.168.1).
    pub group: Ipv4Addr,
    /// UDP port (default 1102).
    pub port: u16,
    /// Multicast TTL (default 1).
    pub ttl: u8,
}

/// `eth<n>=daemon,<mac>,<type>,<ctl>[,<data>]`: a port on a uml_switch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Daemon {
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// Socket type; only `unix` works.
    pub sock_type: heapless::String<16>,
    /// Control socket; `None` means the kernel's compiled-in default.
    pub ctl: Option<SocketPath>,
    /// The old fifth field (data socket), which the 6.1 kernel ignores.
    pub data: Option<SocketPath>,
}

/// `eth<n>=slip,<gate-ip>`: SLIP over a pty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Slip {
    /// Address of the host end of the SLIP line; `None` means no host setup.
    pub gate: Option<Ipv4Addr>,
}
