//! The typed helper call: the transports, what each is asked to do ([`Command`]) and
//! the call itself ([`HelperCall`]).

use core::fmt;
use core::net::Ipv4Addr;

use super::{Arg, IfName};

/// The transports (first words) the helper dispatches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// `ethertap`
    Ethertap,
    /// `slip`
    Slip,
    /// `tuntap`
    Tuntap,
    /// `add` (an address appeared on a guest interface)
    Add,
    /// `del` (an address went away)
    Del,
}

impl Transport {
    /// The word as it appears in argv.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Ethertap => "ethertap",
            Transport::Slip => "slip",
            Transport::Tuntap => "tuntap",
            Transport::Add => "add",
            Transport::Del => "del",
        }
    }

    pub(super) fn from_word(s: &str) -> Option<Self> {
        Some(match s {
            "ethertap" => Transport::Ethertap,
            "slip" => Transport::Slip,
            "tuntap" => Transport::Tuntap,
            "add" => Transport::Add,
            "del" => Transport::Del,
            _ => return None,
        })
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an address is being added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AddrOp {
    /// `add`
    Add,
    /// `del`
    Del,
}

impl AddrOp {
    /// The word as it appears in argv.
    pub const fn as_str(self) -> &'static str {
        match self {
            AddrOp::Add => "add",
            AddrOp::Del => "del",
        }
    }
}

/// What the helper is asked to do, per form. Which forms exist for which version is
/// spelled out on each variant; [`HelperCall::parse`] only produces valid pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// v3, v4: `tuntap up [<gate>]`: create a tap, give the host side `<gate>/32`,
    /// answer with [`TuntapUpReply`](super::TuntapUpReply) and the tap fd on fd 1. The 6.1 kernel omits the
    /// gate when none was configured (the original helper then fails).
    TuntapUp {
        /// Host-side address of the tap.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Option<Ipv4Addr>,
    },
    /// v2: `tuntap up <ignored> <fd> [<gate>]`: as above, answering on `<fd>`.
    TuntapUpFd {
        /// An argument the original helper never reads (letters, digits, `.`, `_`, `-`).
        ignored: Arg,
        /// Where to send the reply.
        fd: u16,
        /// Host-side address of the tap.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Option<Ipv4Addr>,
    },
    /// v3: `tuntap add|del <dev> <ip>`; v4: `tuntap add|del <dev> <ip> <netmask>` (the
    /// 6.1 kernel uses the plain `add`/`del` form instead).
    TuntapChange {
        /// Add or delete.
        op: AddrOp,
        /// Host interface.
        dev: IfName,
        /// The guest's address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        ip: Ipv4Addr,
        /// Its netmask: present exactly in version 4.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        netmask: Option<Ipv4Addr>,
    },
    /// v3, v4: `ethertap <dev> <data-fd> [<gate>]`: control messages arrive on fd 1
    /// (8 bytes in v3, 12 in v4).
    Ethertap {
        /// The tap, `tap<N>`.
        dev: IfName,
        /// The kernel's data socket, inherited at this number.
        data_fd: u16,
        /// Host-side address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Option<Ipv4Addr>,
    },
    /// v1, v2: `ethertap <dev> <data-fd> <control-fd> [<gate>]`.
    EthertapControlFd {
        /// The tap, `tap<N>`.
        dev: IfName,
        /// The kernel's data socket.
        data_fd: u16,
        /// The kernel's control socket.
        control_fd: u16,
        /// Host-side address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Option<Ipv4Addr>,
    },
    /// v0: `ethertap <dev> <fd> [<gate> [<remote>]]`.
    EthertapV0 {
        /// The tap, `tap<N>`.
        dev: IfName,
        /// The kernel's data socket.
        fd: u16,
        /// Host-side address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Option<Ipv4Addr>,
        /// The guest's address (only with a gate).
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        remote: Option<Ipv4Addr>,
    },
    /// v4: `slip up <gate>`, with the pty slave on stdin.
    SlipUp {
        /// Host-side address of the SLIP interface.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Ipv4Addr,
    },
    /// v4: `slip down <name>`, with the pty slave on stdin. The helper finds the real
    /// name from the pty; the kernel sends an empty name when no gate was set.
    SlipDown {
        /// The name the kernel believes the interface has (may be empty).
        name: IfName,
    },
    /// v0-v3: `slip up <fd> <gate> [<remote>]`.
    SlipUpFd {
        /// The pty slave.
        fd: u16,
        /// Host-side address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        gate: Ipv4Addr,
        /// The guest's address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        remote: Option<Ipv4Addr>,
    },
    /// v0-v3: `slip down <fd> [<remote>]`.
    SlipDownFd {
        /// The pty slave.
        fd: u16,
        /// The guest's address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        remote: Option<Ipv4Addr>,
    },
    /// v4: `add|del <hostdev> <ip> <netmask>`: host route, proxy ARP and published
    /// ARP entries for a guest address (docs/protocols.md §2.4).
    Address {
        /// Add or delete.
        op: AddrOp,
        /// Host interface (alphanumeric, as the original requires).
        dev: IfName,
        /// The guest's address.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        ip: Ipv4Addr,
        /// Its netmask.
        #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
        netmask: Ipv4Addr,
    },
}

impl Command {
    /// The transport word this command is dispatched under.
    pub fn transport(&self) -> Transport {
        match self {
            Command::TuntapUp { .. }
            | Command::TuntapUpFd { .. }
            | Command::TuntapChange { .. } => Transport::Tuntap,
            Command::Ethertap { .. }
            | Command::EthertapControlFd { .. }
            | Command::EthertapV0 { .. } => Transport::Ethertap,
            Command::SlipUp { .. }
            | Command::SlipDown { .. }
            | Command::SlipUpFd { .. }
            | Command::SlipDownFd { .. } => Transport::Slip,
            Command::Address {
                op: AddrOp::Add, ..
            } => Transport::Add,
            Command::Address {
                op: AddrOp::Del, ..
            } => Transport::Del,
        }
    }
}

/// One call of the helper: the protocol version and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HelperCall {
    /// 0 to 4; 0 also when `argv[1]` was not a number (the oldest kernels sent none).
    pub version: u32,
    /// The request.
    pub command: Command,
}
