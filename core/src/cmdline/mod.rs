//! The kernel command-line grammar `eth<n>=<transport>,<fields>` (and `vec<n>:…`).
//!
//! [`parse`] reads one argument the way the Debian 6.1 UML kernel does
//! (`arch/um/drivers/net_kern.c` and the transports' `*_setup`), into a typed
//! [`DeviceSpec`] plus the [`Warning`]s a user should see. Where the kernel is lax it is
//! modelled, not trusted: the device number is read like `simple_strtoul(…, 0)`
//! (`eth0x1` is eth1, `eth010` is eth8; accepted with a warning), fields are split like
//! `split_if_spec` (an empty field keeps its default, a field too many is an error), and
//! the MAC field is read by the kernel's own lax reader ([`crate::mac::lax_parse`]) so
//! that `102:…` or a seventh octet give a warning and a five-octet MAC an error. Where the
//! kernel accepts something that cannot work (a port above 65535, a gate that is not an
//! address, a slip gate with a comma in it), this parser is stricter and says why.
//!
//! [`CmdlineChecker`] takes the arguments of one command line in order and adds what
//! needs more than one argument: a device number given twice, and the kernel bug by which
//! a boot-time device without a MAC inherits the MAC of the previous device of the same
//! transport.
//!
//! [`Display`](fmt::Display) prints the canonical form (defaults left empty, trailing
//! empty fields dropped, MACs as `fe:fd:00:00:00:01`), which parses back to the same spec.
//!
//! ```
//! use umlnet_core::cmdline::{parse, Transport};
//! use core::net::Ipv4Addr;
//!
//! let p = parse("eth0=mcast").unwrap();
//! let Transport::Mcast(m) = &p.spec.transport else { panic!() };
//! assert_eq!((m.group, m.port, m.ttl), (Ipv4Addr::new(239, 192, 168, 1), 1102, 1));
//!
//! let p = parse("eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254").unwrap();
//! assert_eq!(p.spec.to_string(), "eth0=ethertap,tap0,fe:fd:00:00:00:01,192.168.0.254");
//!
//! let arg = "eth0=mcast,,,abc";
//! let e = parse(arg).unwrap_err();
//! assert_eq!(e.display(arg).to_string(), "eth0: mcast port: expected a number 0-65535, found 'abc'");
//! ```

mod check;
mod display;
mod error;
mod fuzz;
mod parse;
#[cfg(all(test, feature = "vector"))]
mod test;
#[cfg(all(test, not(feature = "vector")))]
mod test_no_vector;
#[cfg(all(test, feature = "vector"))]
mod test_vector;
mod vector;

pub use crate::ifname::{IFNAME_MAX, IfName};
pub use check::CmdlineChecker;
pub use error::{
    Error, ErrorDisplay, ErrorKind, Field, MacQuirk, PanicCause, Parsed, Span, Warning, Warnings,
};
pub use fuzz::fuzz_one;
pub use parse::parse;
pub use vector::{
    BessVector, DEFAULT_VECTOR_DEPTH, DEFAULT_VECTOR_HEADROOM, DEFAULT_VECTOR_MTU, FILE_PATH_MAX,
    FdVector, FilePath, GreVector, L2tpv3Vector, Pair, RawVector, TapVector, VECTOR_DEPTH_MAX,
    VECTOR_ID_MAX, VECTOR_MAX_KEYS, VECTOR_MTU_MAX, VECTOR_MTU_MIN, Vector, VectorKey, VectorKind,
    VectorTransport,
};

use crate::mac::MacAddr;
use core::fmt;
use core::net::Ipv4Addr;

/// Longest unix socket path (`sun_path` is 108 bytes, less the NUL).
pub const SOCKET_PATH_MAX: usize = 107;
/// Longest daemon socket type this parser keeps (only `unix` works anyway).
pub const SOCK_TYPE_MAX: usize = 16;
/// Longest free-text field kept (vde group, description, extra data).
pub const TEXT_MAX: usize = 64;
/// Longest slirp command (program and arguments, comma-separated) kept.
pub const SLIRP_COMMAND_MAX: usize = 256;
/// The kernel runs slirp with at most this many arguments (program included).
pub const SLIRP_MAX_ARGS: usize = 99;

/// mcast default group.
pub const DEFAULT_MCAST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 192, 168, 1);
/// mcast default UDP port.
pub const DEFAULT_MCAST_PORT: u16 = 1102;
/// mcast default TTL.
pub const DEFAULT_MCAST_TTL: u8 = 1;
/// ucast default listen and remote port.
pub const DEFAULT_UCAST_PORT: u16 = 1102;
/// daemon default socket type.
pub const DEFAULT_DAEMON_SOCK_TYPE: &str = "unix";
/// daemon default control socket of the Debian kernel (`CONFIG_UML_NET_DAEMON_DEFAULT_SOCK`),
/// where Debian's uml_switch listens.
pub const DEBIAN_DAEMON_CTL: &str = "/var/run/uml-utilities/uml_switch.ctl";
/// daemon default control socket of an upstream kernel (the Kconfig default), which is
/// also where upstream `uml_switch` listens when run with no arguments.
pub const UPSTREAM_DAEMON_CTL: &str = "/tmp/uml.ctl";

/// A unix socket path.
pub type SocketPath = heapless::String<SOCKET_PATH_MAX>;
/// A short free-text field.
pub type Text = heapless::String<TEXT_MAX>;

/// One parsed `eth<n>=...` (or `vec<n>:...`) argument.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceSpec {
    /// `<n>` of `eth<n>` (or of `vec<n>` for [`Transport::Vector`]).
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
    /// `ucast,<mac>,<remote-addr>,<listen-port>,<remote-port>`
    Ucast(Ucast),
    /// `vde,<switch>,<mac>,<port>,<group>,<mode>,<description>`
    Vde(Vde),
    /// `slirp,<mac>,<program>[,<arg>…]`
    Slirp(Slirp),
    /// `vec<n>:transport=…,key=value,…` (a separate device family, named `vec<n>`).
    Vector(Vector),
}

/// The name of a transport, without its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TransportKind {
    /// `ethertap`
    Ethertap,
    /// `tuntap`
    Tuntap,
    /// `mcast`
    Mcast,
    /// `daemon`
    Daemon,
    /// `slip`
    Slip,
    /// `ucast`
    Ucast,
    /// `vde`
    Vde,
    /// `slirp`
    Slirp,
    /// `vec<n>:`
    Vector,
}

impl TransportKind {
    /// Every kind, the `eth<n>=` ones first.
    pub const ALL: [TransportKind; 9] = [
        TransportKind::Ethertap,
        TransportKind::Tuntap,
        TransportKind::Mcast,
        TransportKind::Daemon,
        TransportKind::Slip,
        TransportKind::Ucast,
        TransportKind::Vde,
        TransportKind::Slirp,
        TransportKind::Vector,
    ];

    /// The name as written on the command line (`vector` for `vec<n>:`).
    pub const fn name(self) -> &'static str {
        match self {
            TransportKind::Ethertap => "ethertap",
            TransportKind::Tuntap => "tuntap",
            TransportKind::Mcast => "mcast",
            TransportKind::Daemon => "daemon",
            TransportKind::Slip => "slip",
            TransportKind::Ucast => "ucast",
            TransportKind::Vde => "vde",
            TransportKind::Slirp => "slirp",
            TransportKind::Vector => "vector",
        }
    }

    /// The `eth<n>=` transport with this name, as the kernel matches it.
    pub fn from_name(name: &str) -> Option<TransportKind> {
        TransportKind::ALL[..8]
            .iter()
            .copied()
            .find(|k| k.name() == name)
    }

    /// Whether this transport's fields include a MAC.
    pub const fn has_mac(self) -> bool {
        !matches!(self, TransportKind::Slip | TransportKind::Vector)
    }

    const fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Transport {
    /// Which transport this is.
    pub const fn kind(&self) -> TransportKind {
        match self {
            Transport::Ethertap(_) => TransportKind::Ethertap,
            Transport::Tuntap(_) => TransportKind::Tuntap,
            Transport::Mcast(_) => TransportKind::Mcast,
            Transport::Daemon(_) => TransportKind::Daemon,
            Transport::Slip(_) => TransportKind::Slip,
            Transport::Ucast(_) => TransportKind::Ucast,
            Transport::Vde(_) => TransportKind::Vde,
            Transport::Slirp(_) => TransportKind::Slirp,
            Transport::Vector(_) => TransportKind::Vector,
        }
    }

    /// The MAC given on the command line, if any.
    pub const fn mac(&self) -> Option<MacAddr> {
        match self {
            Transport::Ethertap(t) => t.mac,
            Transport::Tuntap(t) => t.mac,
            Transport::Mcast(t) => t.mac,
            Transport::Daemon(t) => t.mac,
            Transport::Ucast(t) => t.mac,
            Transport::Vde(t) => t.mac,
            Transport::Slirp(t) => t.mac,
            Transport::Slip(_) | Transport::Vector(_) => None,
        }
    }
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
    /// The old fifth field (data socket), which the 6.1 kernel ignores. Holds everything
    /// after the fourth comma.
    pub data: Option<SocketPath>,
}

impl Daemon {
    /// The control socket the Debian kernel connects to: the given one, or
    /// [`DEBIAN_DAEMON_CTL`].
    pub fn ctl_or_default(&self) -> &str {
        self.ctl.as_deref().unwrap_or(DEBIAN_DAEMON_CTL)
    }
}

/// `eth<n>=slip,<gate-ip>`: SLIP over a pty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Slip {
    /// Address of the host end of the SLIP line; `None` means no host setup.
    pub gate: Option<Ipv4Addr>,
}

/// `eth<n>=ucast,<mac>,<remote>,<listen-port>,<remote-port>`: UDP to one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ucast {
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// The peer's address; without it the interface cannot come up.
    pub remote: Option<Ipv4Addr>,
    /// Local UDP port (default 1102).
    pub lport: u16,
    /// The peer's UDP port (default 1102).
    pub rport: u16,
}

/// `eth<n>=vde,<switch>,<mac>,<port>,<group>,<mode>,<description>`: a vde_switch port
/// through libvdeplug. Note that the MAC is the second field here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vde {
    /// The switch's control directory; `None` lets libvdeplug pick its default.
    pub switch: Option<SocketPath>,
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// Switch port to ask for.
    pub port: Option<u32>,
    /// Group owning the port.
    pub group: Option<Text>,
    /// Port permissions (octal on the command line).
    pub mode: Option<u32>,
    /// Description shown by the switch.
    pub descr: Option<Text>,
    /// Anything after the sixth field, which the kernel ignores with a warning.
    pub extra: Option<Text>,
}

/// `eth<n>=slirp,<mac>,<program>[,<arg>…]`: SLIP to a slirp process.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Slirp {
    /// Guest MAC, if given.
    pub mac: Option<MacAddr>,
    /// The command as written: program and arguments separated by `,`, with `_` standing
    /// for a space. `None` runs plain `slirp`.
    pub command: Option<heapless::String<SLIRP_COMMAND_MAX>>,
}

impl Slirp {
    /// The argv the kernel runs, as written (see [`SlirpArg`] for the `_` rule).
    pub fn args(&self) -> impl Iterator<Item = SlirpArg<'_>> {
        let cmd = self.command.as_deref();
        let default = if cmd.is_none() {
            Some(SlirpArg("slirp"))
        } else {
            None
        };
        default
            .into_iter()
            .chain(cmd.into_iter().flat_map(|c| c.split(',')).map(SlirpArg))
    }
}

/// One slirp argument as written; its `Display` shows it as the program receives it,
/// with every `_` turned into a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlirpArg<'a>(pub &'a str);

impl fmt::Display for SlirpArg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.0.split('_').enumerate() {
            if part.0 > 0 {
                f.write_str(" ")?;
            }
            f.write_str(part.1)?;
        }
        Ok(())
    }
}
