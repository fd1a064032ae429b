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

use crate::mac::{self, LaxMacError, MacAddr, MacError, MacWarning};
use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;
use nom::IResult;
use nom::bytes::complete::{tag, take_till, take_while};

/// Longest host interface name (IFNAMSIZ 16, less the NUL).
pub const IFNAME_MAX: usize = 15;
/// Longest unix socket path (`sun_path` is 108 bytes, less the NUL).
pub const SOCKET_PATH_MAX: usize = 107;
/// Longest daemon socket type this parser keeps (only `unix` works anyway).
pub const SOCK_TYPE_MAX: usize = 16;
/// Longest free-text field kept (vde group, description, extra data).
pub const TEXT_MAX: usize = 64;
/// Longest slirp command (program and arguments, comma-separated) kept.
pub const SLIRP_COMMAND_MAX: usize = 256;
/// Longest `vec<n>:` option list kept.
pub const VECTOR_OPTIONS_MAX: usize = 256;
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

/// A host interface name such as `tap0`.
pub type IfName = heapless::String<IFNAME_MAX>;
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

/// `vec<n>:transport=<kind>,key=value,…`: a vector device (named `vec<n>` in the guest).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vector {
    /// The options as written, `key=value` separated by `,`.
    pub options: heapless::String<VECTOR_OPTIONS_MAX>,
}

/// The vector transports the 6.1 kernel knows.
pub const VECTOR_TRANSPORTS: [&str; 6] = ["tap", "raw", "hybrid", "gre", "l2tpv3", "bess"];

impl Vector {
    /// The `key=value` options.
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options
            .split(',')
            .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
    }
    /// The `transport=` value.
    pub fn transport(&self) -> Option<&str> {
        self.options()
            .find(|(k, _)| *k == "transport")
            .map(|(_, v)| v)
    }
}

// ---------------------------------------------------------------------------------
// Errors and warnings

/// A byte range of the argument that was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The text of this span in `input` (empty if it does not fit).
    pub fn of<'a>(&self, input: &'a str) -> &'a str {
        input.get(self.start..self.end).unwrap_or("")
    }
}

/// Which field of an argument a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Field {
    /// `<n>` of `eth<n>`.
    DeviceNumber,
    /// The transport name.
    Transport,
    /// The host device (ethertap, tuntap).
    Dev,
    /// The MAC.
    Mac,
    /// The host-side address (ethertap, tuntap, slip).
    Gate,
    /// The multicast group.
    Group,
    /// The UDP port (mcast) or switch port (vde).
    Port,
    /// The multicast TTL.
    Ttl,
    /// The daemon socket type.
    SockType,
    /// The daemon control socket.
    Ctl,
    /// The daemon's old data socket field.
    Data,
    /// The ucast peer address.
    Remote,
    /// The ucast listen port.
    ListenPort,
    /// The ucast remote port.
    RemotePort,
    /// The vde switch.
    Switch,
    /// The vde group.
    VdeGroup,
    /// The vde port mode.
    Mode,
    /// The vde description.
    Descr,
    /// The slirp command.
    Command,
    /// Fields after the last one the transport has.
    Extra,
    /// A `vec<n>:` option.
    Option,
}

impl Field {
    /// The field's name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Field::DeviceNumber => "device number",
            Field::Transport => "transport",
            Field::Dev => "device",
            Field::Mac => "mac",
            Field::Gate => "gate",
            Field::Group => "group",
            Field::Port => "port",
            Field::Ttl => "ttl",
            Field::SockType => "socket type",
            Field::Ctl => "control socket",
            Field::Data => "data socket",
            Field::Remote => "remote address",
            Field::ListenPort => "listen port",
            Field::RemotePort => "remote port",
            Field::Switch => "switch",
            Field::VdeGroup => "group",
            Field::Mode => "mode",
            Field::Descr => "description",
            Field::Command => "command",
            Field::Extra => "extra fields",
            Field::Option => "option",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was wrong, phrased as what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorKind {
    /// The argument does not start with `eth` or `vec`.
    NotNetworkArgument,
    /// No number after `eth` (kernel: `Bad device number`).
    BadDeviceNumber,
    /// The number does not fit the kernel's `int`.
    DeviceNumberTooLarge,
    /// No `=` right after the number (kernel: `Expected '=' after device number`).
    MissingEquals,
    /// No `:` right after the number of `vec<n>`.
    MissingColon,
    /// The same device number was given before (kernel: `Device already configured`).
    DeviceAlreadyConfigured,
    /// A transport name the kernel does not know; it ignores the argument silently.
    UnknownTransport,
    /// A UML transport that the Debian kernel is built without (`pcap`); ignored silently.
    TransportNotBuilt,
    /// The transport has at most this many fields (kernel: `Extra garbage on specification`).
    ExtraFields {
        /// How many fields the transport has.
        max: u8,
    },
    /// Not a decimal number (kernel: `Bad port`).
    BadPort,
    /// A decimal number above 65535; the kernel would silently use its low 16 bits.
    PortOutOfRange {
        /// The port the kernel would use.
        kernel_uses: u16,
    },
    /// Not a decimal number (kernel: `Bad ttl`).
    BadTtl,
    /// A TTL above 255; the kernel accepts it but the interface cannot come up.
    TtlOutOfRange,
    /// Not an octal number (kernel: `Bad mode`).
    BadMode,
    /// The MAC is not usable; the kernel falls back to a random address.
    Mac(MacError),
    /// The gate is not a dotted-quad IPv4 address.
    GateNotIpv4,
    /// The group or remote address is not a dotted-quad IPv4 address.
    BadAddress,
    /// ethertap without its device (kernel: `Missing tap device name`).
    MissingEthertapDevice,
    /// More than 15 characters.
    InterfaceNameTooLong,
    /// Contains `/`, `:` or white space, or is `.` or `..`.
    InterfaceNameInvalid,
    /// More than 107 bytes, which does not fit `sun_path`.
    SocketPathTooLong,
    /// Longer than this parser keeps.
    TooLong {
        /// The limit in bytes.
        max: u16,
    },
    /// A `vec<n>:` option that is not `key=value`.
    BadVectorOption,
    /// `vec<n>:` without `transport=`.
    MissingVectorTransport,
    /// `transport=` names no vector transport.
    UnknownVectorTransport,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotNetworkArgument => f.write_str("expected eth<n>=<transport>,… or vec<n>:…"),
            ErrorKind::BadDeviceNumber => f.write_str(
                "expected a device number after 'eth' (kernel: 'Bad device number')",
            ),
            ErrorKind::DeviceNumberTooLarge => f.write_str("expected a device number up to 2147483647"),
            ErrorKind::MissingEquals => f.write_str(
                "expected '=' right after the device number (kernel: 'Expected '=' after device number')",
            ),
            ErrorKind::MissingColon => f.write_str("expected ':' right after the vec device number"),
            ErrorKind::DeviceAlreadyConfigured => f.write_str(
                "expected each device number once; an earlier argument already configures this \
                 device (kernel: 'Device already configured'; at boot one of the two fails with \
                 a sysfs 'duplicate filename' trace)",
            ),
            ErrorKind::UnknownTransport => f.write_str(
                "expected one of ethertap, tuntap, mcast, daemon, slip, ucast, vde, slirp; \
                 the kernel ignores this argument silently (no device, no message)",
            ),
            ErrorKind::TransportNotBuilt => f.write_str(
                "expected one of ethertap, tuntap, mcast, daemon, slip, ucast, vde, slirp; \
                 this kernel is built without it, so it ignores the argument silently",
            ),
            ErrorKind::ExtraFields { max } => write!(
                f,
                "expected at most {max} field{} after the transport name; the kernel refuses \
                 the device ('Extra garbage on specification')",
                if *max == 1 { "" } else { "s" }
            ),
            ErrorKind::BadPort => f.write_str("expected a number 0-65535"),
            ErrorKind::PortOutOfRange { kernel_uses } => write!(
                f,
                "expected a number 0-65535 (the kernel would silently use port {kernel_uses})"
            ),
            ErrorKind::BadTtl => f.write_str("expected a number 0-255"),
            ErrorKind::TtlOutOfRange => f.write_str(
                "expected a number 0-255 (the kernel takes it, but the interface cannot come \
                 up: IP_MULTICAST_TTL gives EINVAL)",
            ),
            ErrorKind::BadMode => f.write_str("expected an octal number such as 700"),
            ErrorKind::Mac(MacError::TooFewOctets { octets }) => write!(
                f,
                "expected 6 octets like fe:fd:00:00:00:01, but there are only {octets}: the \
                 kernel would read the rest from whatever follows (the next field)"
            ),
            ErrorKind::Mac(MacError::BadOctet { octet }) => write!(
                f,
                "expected an Ethernet address like fe:fd:00:00:00:01; octet {} is not a hex \
                 number followed by ':' (the kernel prints 'failed to parse' and picks a random address)",
                octet + 1
            ),
            ErrorKind::Mac(e) => write!(f, "expected a unicast address: {e}"),
            ErrorKind::GateNotIpv4 => f.write_str("expected an IPv4 address like 192.168.0.254"),
            ErrorKind::BadAddress => f.write_str("expected an IPv4 address like 239.192.168.1"),
            ErrorKind::MissingEthertapDevice => f.write_str(
                "expected the host tap device name (it is mandatory, e.g. ethertap,tap0; \
                 kernel: 'ethertap_setup : Missing tap device name')",
            ),
            ErrorKind::InterfaceNameTooLong => {
                write!(f, "expected an interface name of at most {IFNAME_MAX} characters")
            }
            ErrorKind::InterfaceNameInvalid => f.write_str(
                "expected an interface name without '/', ':' or white space (and not '.' or '..')",
            ),
            ErrorKind::SocketPathTooLong => write!(
                f,
                "expected a socket path of at most {SOCKET_PATH_MAX} bytes (it must fit sun_path)"
            ),
            ErrorKind::TooLong { max } => write!(f, "expected at most {max} bytes"),
            ErrorKind::BadVectorOption => f.write_str("expected key=value"),
            ErrorKind::MissingVectorTransport => f.write_str(
                "expected a transport=<tap|raw|hybrid|gre|l2tpv3|bess> option (the kernel still \
                 creates the vec device, but bringing it up fails with EINVAL)",
            ),
            ErrorKind::UnknownVectorTransport => f.write_str(
                "expected one of tap, raw, hybrid, gre, l2tpv3, bess (the kernel still creates \
                 the vec device, but bringing it up fails with EINVAL)",
            ),
        }
    }
}

/// Why an argument was refused: the device and field it is about, what was expected,
/// and where in the argument the offending text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error {
    /// What was expected.
    pub kind: ErrorKind,
    /// The device number, once read.
    pub index: Option<u32>,
    /// Whether this is a `vec<n>` (rather than `eth<n>`) argument.
    pub vector: bool,
    /// The transport, once matched.
    pub transport: Option<TransportKind>,
    /// The field at fault.
    pub field: Option<Field>,
    /// The offending text, as a byte range of the argument.
    pub found: Span,
}

impl Error {
    /// A `Display` that also quotes the offending text of `input` (the argument that was
    /// parsed): `eth0: mcast port: expected a number 0-65535, found 'abc'`.
    pub fn display<'a>(&'a self, input: &'a str) -> ErrorDisplay<'a> {
        ErrorDisplay { error: self, input }
    }

    fn prefix(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = if self.vector { "vec" } else { "eth" };
        match self.index {
            Some(n) => write!(f, "{family}{n}: ")?,
            None => write!(f, "{family}: ")?,
        }
        match (self.transport, self.field) {
            (Some(t), Some(fl)) if t != TransportKind::Vector => write!(f, "{t} {fl}: "),
            (_, Some(fl)) => write!(f, "{fl}: "),
            (Some(t), None) => write!(f, "{t}: "),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.prefix(f)?;
        write!(f, "{}", self.kind)
    }
}

/// See [`Error::display`].
pub struct ErrorDisplay<'a> {
    error: &'a Error,
    input: &'a str,
}

impl fmt::Display for ErrorDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.prefix(f)?;
        // Put the quote right after "expected …" and before any parenthesised or
        // `;`-separated explanation.
        let mut kind = heapless::String::<400>::new();
        let _ = fmt::write(&mut kind, format_args!("{}", self.error.kind));
        let cut = [" (", "; ", ", but", ": "]
            .iter()
            .filter_map(|sep| kind.find(sep))
            .min()
            .unwrap_or(kind.len());
        let (head, tail) = kind.split_at(cut);
        write!(
            f,
            "{head}, found '{}'{tail}",
            self.error.found.of(self.input)
        )
    }
}

/// How the kernel's MAC reading differs from what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MacQuirk {
    /// A number above `ff`; only its low byte is kept.
    OctetTruncated,
    /// More than six octets; the rest is ignored.
    ExtraOctets,
}

/// Something the kernel accepts but the user should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Warning {
    /// `eth0x1`, `eth010`: the kernel reads the number with base 0.
    NonDecimalDeviceNumber {
        /// The device number the kernel uses.
        index: u32,
    },
    /// The MAC lacks the locally administered bit.
    GloballyAdministeredMac(MacAddr),
    /// The kernel reads the MAC field as something else than written.
    MacReadDifferently {
        /// What the kernel reads.
        kernel_reads: MacAddr,
        /// Why.
        quirk: MacQuirk,
    },
    /// Boot-time kernel bug: a device without a MAC gets the MAC text of the previous
    /// device of the same transport.
    MacInherited {
        /// The device whose MAC it gets.
        from: u32,
        /// That MAC, or `None` when that MAC was refused (so this one is random too).
        mac: Option<MacAddr>,
    },
    /// Port 0 is accepted, but bringing the interface up fails with EINVAL.
    PortZero {
        /// Which port field.
        field: Field,
    },
    /// A daemon socket type other than `unix`: the kernel connects with no address
    /// (EFAULT) and the device is not created.
    SockTypeNotUnix,
    /// The daemon's fifth field (data socket) is ignored by this kernel.
    DataSocketIgnored,
    /// The mcast group is not in 224.0.0.0/4; joining it fails at ifup.
    GroupNotMulticast(Ipv4Addr),
    /// ucast without a peer address cannot come up.
    NoRemoteAddress,
    /// vde ignores fields after the sixth.
    VdeExtraIgnored,
    /// slirp gets at most 99 arguments; the kernel drops the rest.
    SlirpArgsTruncated,
    /// A slirp device is a SLIP device (IP only, no link-layer address): its MAC is unused.
    SlirpMacUnused,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NonDecimalDeviceNumber { index } => write!(
                f,
                "the device number is not plain decimal; the kernel reads it with base 0 \
                 (0x… hex, leading 0 octal) as {index}, so this is eth{index}"
            ),
            Warning::GloballyAdministeredMac(mac) => write!(
                f,
                "mac {mac}: {}, e.g. {}",
                MacWarning::GloballyAdministered,
                mac.with_local_bit()
            ),
            Warning::MacReadDifferently { kernel_reads, quirk: MacQuirk::OctetTruncated } => write!(
                f,
                "mac: an octet is larger than ff; the kernel keeps only its low byte and uses {kernel_reads}"
            ),
            Warning::MacReadDifferently { kernel_reads, quirk: MacQuirk::ExtraOctets } => write!(
                f,
                "mac: more than six octets; the kernel uses {kernel_reads} and ignores the rest"
            ),
            Warning::MacInherited { from, mac: Some(mac) } => write!(
                f,
                "no mac given, but at boot the kernel reuses the mac of eth{from} (the previous \
                 device of this transport): this device gets {mac} too (kernel bug; give each \
                 device its own mac, or add it later with mconsole config)"
            ),
            Warning::MacInherited { from, mac: None } => write!(
                f,
                "no mac given, but at boot the kernel reuses the mac text of eth{from} (the \
                 previous device of this transport), refuses it again and picks a random address \
                 (kernel bug)"
            ),
            Warning::PortZero { field } => write!(
                f,
                "{field} 0 is accepted here, but bringing the interface up fails (EINVAL)"
            ),
            Warning::SockTypeNotUnix => f.write_str(
                "socket type: only 'unix' works; with any other the kernel connects with no \
                 address, fails with EFAULT (errno 14) and does not create the device",
            ),
            Warning::DataSocketIgnored => f.write_str(
                "data socket: this kernel ignores the fifth field ('daemon_setup : Ignoring data \
                 socket specification'); the switch tells the kernel where to send",
            ),
            Warning::GroupNotMulticast(ip) => write!(
                f,
                "group {ip} is not a multicast address (224.0.0.0/4): joining it fails when the \
                 interface comes up"
            ),
            Warning::NoRemoteAddress => f.write_str(
                "remote address: none given, so the interface cannot come up (EINVAL)",
            ),
            Warning::VdeExtraIgnored => f.write_str(
                "extra fields: vde ignores fields after the sixth ('vde_setup - Ignoring extra data')",
            ),
            Warning::SlirpArgsTruncated => write!(
                f,
                "command: more than {SLIRP_MAX_ARGS} arguments; the kernel drops the rest"
            ),
            Warning::SlirpMacUnused => f.write_str(
                "mac: a slirp device carries IP only (like slip, it has no link-layer address), \
                 so the kernel never uses this mac",
            ),
        }
    }
}

/// The warnings of one argument.
pub type Warnings = heapless::Vec<Warning, 8>;

/// A parsed argument with its warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Parsed {
    /// The device.
    pub spec: DeviceSpec,
    /// What the kernel accepts but the user should know.
    pub warnings: Warnings,
}

// ---------------------------------------------------------------------------------
// Parser

type NomResult<'a> = IResult<&'a str, &'a str, ()>;

/// Parses one `eth<n>=…` or `vec<n>:…` argument on its own (see [`CmdlineChecker`] for
/// the checks that need the whole command line).
pub fn parse(arg: &str) -> Result<Parsed, Error> {
    let mut cx = Cx::new(arg);
    let r = cx.argument();
    r.map(|spec| Parsed {
        spec,
        warnings: cx.warnings,
    })
}

impl FromStr for DeviceSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<DeviceSpec, Error> {
        parse(s).map(|p| p.spec)
    }
}

/// What the MAC field held, for the boot-time inheritance bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MacField {
    /// The argument never got as far as the field split.
    NotReached,
    /// Split, with the MAC field empty.
    Empty,
    /// Split, with a MAC the kernel takes (`Some`) or refuses (`None`).
    Given(Option<MacAddr>),
}

struct Cx<'a> {
    arg: &'a str,
    index: Option<u32>,
    number: Span,
    vector: bool,
    transport: Option<TransportKind>,
    warnings: Warnings,
    mac_field: MacField,
}

/// `simple_strtoul` as the kernel has it: radix fix-up (`0x` for 16, base 0 picking
/// 16/8/10), then digits; the value wraps. Returns (value, bytes consumed).
fn strtoul(s: &[u8], base: u32) -> (u64, usize) {
    let mut base = base;
    let mut i = 0;
    if base == 0 {
        base = if s.first() == Some(&b'0') {
            if matches!(s.get(1), Some(b'x' | b'X')) && s.get(2).is_some_and(u8::is_ascii_hexdigit)
            {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && s.first() == Some(&b'0') && matches!(s.get(1), Some(b'x' | b'X')) {
        i = 2;
    }
    let mut v: u64 = 0;
    while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(base)) {
        v = v.wrapping_mul(u64::from(base)).wrapping_add(u64::from(d));
        i += 1;
    }
    (v, i)
}

/// A whole field read as `simple_strtoul(field, &end, base)` with `*end == '\0'` required.
fn whole_number(field: &str, base: u32) -> Option<u64> {
    let (v, n) = strtoul(field.as_bytes(), base);
    (n > 0 && n == field.len()).then_some(v)
}

fn field_text(rest: &str) -> NomResult<'_> {
    take_till(|c| c == ',')(rest)
}

/// `split_if_spec`: up to `N` comma-separated fields; empty ones are `None`. The second
/// value is what follows the `N`th field's comma, if there is one (even if empty).
fn split_fields<const N: usize>(rest: &str) -> ([Option<&str>; N], Option<&str>) {
    let mut out = [None; N];
    let mut s = rest;
    for slot in out.iter_mut() {
        if s.is_empty() {
            return (out, None);
        }
        let Ok((after, field)) = field_text(s) else {
            return (out, None);
        };
        if !field.is_empty() {
            *slot = Some(field);
        }
        match tag::<_, _, ()>(",")(after) {
            Ok((next, _)) => s = next,
            Err(_) => return (out, None),
        }
    }
    (out, Some(s))
}

fn valid_ifname(name: &str) -> bool {
    name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|c| c == b'/' || c == b':' || c.is_ascii_whitespace())
}

impl<'a> Cx<'a> {
    fn new(arg: &'a str) -> Self {
        Cx {
            arg,
            index: None,
            number: Span::default(),
            vector: false,
            transport: None,
            warnings: Warnings::new(),
            mac_field: MacField::NotReached,
        }
    }

    fn span(&self, s: &str) -> Span {
        let start = (s.as_ptr() as usize)
            .wrapping_sub(self.arg.as_ptr() as usize)
            .min(self.arg.len());
        Span {
            start,
            end: (start + s.len()).min(self.arg.len()),
        }
    }

    fn err(&self, kind: ErrorKind, field: Option<Field>, found: &str) -> Error {
        Error {
            kind,
            index: self.index,
            vector: self.vector,
            transport: self.transport,
            field,
            found: self.span(found),
        }
    }

    fn warn(&mut self, w: Warning) {
        // Eight is more than any argument produces; a ninth would be dropped, not panic.
        let _ = self.warnings.push(w);
    }

    fn argument(&mut self) -> Result<DeviceSpec, Error> {
        let arg = self.arg;
        let (rest, vector) = if let Ok((rest, _)) = tag::<_, _, ()>("eth")(arg) {
            (rest, false)
        } else if let Ok((rest, _)) = tag::<_, _, ()>("vec")(arg) {
            (rest, true)
        } else {
            return Err(self.err(ErrorKind::NotNetworkArgument, None, arg));
        };
        self.vector = vector;
        let (value, consumed) = strtoul(rest.as_bytes(), 0);
        let digits = &rest[..consumed];
        if consumed == 0 {
            let shown = field_text(rest).map(|r| r.1).unwrap_or(rest);
            let shown = shown.split(['=', ':']).next().unwrap_or(shown);
            return Err(self.err(ErrorKind::BadDeviceNumber, Some(Field::DeviceNumber), shown));
        }
        self.number = self.span(digits);
        if value > i32::MAX as u64 {
            return Err(self.err(
                ErrorKind::DeviceNumberTooLarge,
                Some(Field::DeviceNumber),
                digits,
            ));
        }
        let index = value as u32;
        self.index = Some(index);
        let plain = digits.bytes().all(|c| c.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !plain {
            self.warn(Warning::NonDecimalDeviceNumber { index });
        }
        let after = &rest[consumed..];
        let sep = if vector { ":" } else { "=" };
        let Ok((value, _)) = tag::<_, _, ()>(sep)(after) else {
            let kind = if vector {
                ErrorKind::MissingColon
            } else {
                ErrorKind::MissingEquals
            };
            return Err(self.err(kind, Some(Field::DeviceNumber), after));
        };
        let transport = if vector {
            self.vector_options(value)?
        } else {
            self.transport(value)?
        };
        Ok(DeviceSpec { index, transport })
    }

    fn transport(&mut self, value: &'a str) -> Result<Transport, Error> {
        let (after, name) = field_text(value).unwrap_or(("", value));
        let Some(kind) = TransportKind::from_name(name) else {
            let kind = if name == "pcap" {
                ErrorKind::TransportNotBuilt
            } else {
                ErrorKind::UnknownTransport
            };
            return Err(self.err(kind, Some(Field::Transport), name));
        };
        self.transport = Some(kind);
        let rest = after.strip_prefix(',').unwrap_or(after);
        Ok(match kind {
            TransportKind::Ethertap => Transport::Ethertap(self.ethertap(rest)?),
            TransportKind::Tuntap => Transport::Tuntap(self.tuntap(rest)?),
            TransportKind::Mcast => Transport::Mcast(self.mcast(rest)?),
            TransportKind::Daemon => Transport::Daemon(self.daemon(rest)?),
            TransportKind::Slip => Transport::Slip(self.slip(rest)?),
            TransportKind::Ucast => Transport::Ucast(self.ucast(rest)?),
            TransportKind::Vde => Transport::Vde(self.vde(rest)?),
            TransportKind::Slirp => Transport::Slirp(self.slirp(rest)?),
            TransportKind::Vector => unreachable_vector(),
        })
    }

    /// Records the MAC field as the kernel's split leaves it (for the inheritance bug)
    /// and reads it with the kernel's lax reader.
    fn mac(&mut self, field: Option<&'a str>) -> Result<Option<MacAddr>, Error> {
        let Some(text) = field else {
            self.mac_field = MacField::Empty;
            return Ok(None);
        };
        let read = match mac::lax_parse(text.as_bytes()) {
            Ok(l) => l,
            Err(LaxMacError::RunsPastEnd { octets }) => {
                self.mac_field = MacField::Given(None);
                let e = ErrorKind::Mac(MacError::TooFewOctets { octets });
                return Err(self.err(e, Some(Field::Mac), text));
            }
            Err(LaxMacError::Syntax { octet, .. }) => {
                self.mac_field = MacField::Given(None);
                let e = ErrorKind::Mac(MacError::BadOctet { octet });
                return Err(self.err(e, Some(Field::Mac), text));
            }
        };
        match read.addr.check_assignable() {
            Err(e) => {
                self.mac_field = MacField::Given(None);
                Err(self.err(ErrorKind::Mac(e), Some(Field::Mac), text))
            }
            Ok(w) => {
                self.mac_field = MacField::Given(Some(read.addr));
                if read.truncated {
                    self.warn(Warning::MacReadDifferently {
                        kernel_reads: read.addr,
                        quirk: MacQuirk::OctetTruncated,
                    });
                }
                if read.ignored_tail {
                    self.warn(Warning::MacReadDifferently {
                        kernel_reads: read.addr,
                        quirk: MacQuirk::ExtraOctets,
                    });
                }
                if w == Some(MacWarning::GloballyAdministered) {
                    self.warn(Warning::GloballyAdministeredMac(read.addr));
                }
                Ok(Some(read.addr))
            }
        }
    }

    /// The kernel's split records the MAC text before anything else is checked, so even
    /// a device that then fails passes its MAC on (see [`CmdlineChecker`]).
    fn record_mac(&mut self, field: Option<&str>) {
        self.mac_field = match field {
            None => MacField::Empty,
            Some(m) => MacField::Given(
                mac::lax_parse(m.as_bytes())
                    .ok()
                    .map(|l| l.addr)
                    .filter(|a| a.check_assignable().is_ok()),
            ),
        };
    }

    fn no_extra(&self, extra: Option<&str>, max: u8) -> Result<(), Error> {
        match extra {
            Some(e) => Err(self.err(ErrorKind::ExtraFields { max }, Some(Field::Extra), e)),
            None => Ok(()),
        }
    }

    fn ifname(&self, text: &str) -> Result<IfName, Error> {
        if !valid_ifname(text) {
            return Err(self.err(ErrorKind::InterfaceNameInvalid, Some(Field::Dev), text));
        }
        IfName::try_from(text)
            .map_err(|_| self.err(ErrorKind::InterfaceNameTooLong, Some(Field::Dev), text))
    }

    fn ipv4(
        &self,
        text: Option<&str>,
        field: Field,
        kind: ErrorKind,
    ) -> Result<Option<Ipv4Addr>, Error> {
        text.map(|t| Ipv4Addr::from_str(t).map_err(|_| self.err(kind, Some(field), t)))
            .transpose()
    }

    fn socket_path(&self, text: Option<&str>, field: Field) -> Result<Option<SocketPath>, Error> {
        text.map(|t| {
            SocketPath::try_from(t)
                .map_err(|_| self.err(ErrorKind::SocketPathTooLong, Some(field), t))
        })
        .transpose()
    }

    fn text<const N: usize>(
        &self,
        text: Option<&str>,
        field: Field,
    ) -> Result<Option<heapless::String<N>>, Error> {
        text.map(|t| {
            heapless::String::try_from(t)
                .map_err(|_| self.err(ErrorKind::TooLong { max: N as u16 }, Some(field), t))
        })
        .transpose()
    }

    /// A decimal port as `simple_strtoul(…, 10)` reads it; `None` keeps `default`.
    fn port(&mut self, text: Option<&str>, field: Field, default: u16) -> Result<u16, Error> {
        let Some(t) = text else { return Ok(default) };
        let v = whole_number(t, 10).ok_or_else(|| self.err(ErrorKind::BadPort, Some(field), t))?;
        let port = u16::try_from(v).map_err(|_| {
            self.err(
                ErrorKind::PortOutOfRange {
                    kernel_uses: v as u16,
                },
                Some(field),
                t,
            )
        })?;
        if port == 0 {
            self.warn(Warning::PortZero { field });
        }
        Ok(port)
    }

    fn ethertap(&mut self, rest: &'a str) -> Result<Ethertap, Error> {
        let ([dev, mac, gate], extra) = split_fields::<3>(rest);
        self.mac_field = MacField::Empty;
        if let Some(m) = mac {
            self.mac_field = MacField::Given(mac::lax_parse(m.as_bytes()).ok().map(|l| l.addr));
        }
        self.no_extra(extra, 3)?;
        let Some(dev) = dev else {
            return Err(self.err(ErrorKind::MissingEthertapDevice, Some(Field::Dev), rest));
        };
        let dev = self.ifname(dev)?;
        let mac = self.mac(mac)?;
        let gate = self.ipv4(gate, Field::Gate, ErrorKind::GateNotIpv4)?;
        Ok(Ethertap { dev, mac, gate })
    }

    fn tuntap(&mut self, rest: &'a str) -> Result<Tuntap, Error> {
        let ([dev, mac, gate], extra) = split_fields::<3>(rest);
        self.record_mac(mac);
        self.no_extra(extra, 3)?;
        let dev = dev.map(|d| self.ifname(d)).transpose()?;
        let mac = self.mac(mac)?;
        let gate = self.ipv4(gate, Field::Gate, ErrorKind::GateNotIpv4)?;
        Ok(Tuntap { dev, mac, gate })
    }

    fn mcast(&mut self, rest: &'a str) -> Result<Mcast, Error> {
        let ([mac, group, port, ttl], extra) = split_fields::<4>(rest);
        self.record_mac(mac);
        if let Some(e) = extra {
            return Err(self.err(ErrorKind::ExtraFields { max: 4 }, Some(Field::Extra), e));
        }
        let port = self.port(port, Field::Port, DEFAULT_MCAST_PORT)?;
        let ttl = match ttl {
            None => DEFAULT_MCAST_TTL,
            Some(t) => {
                let v = whole_number(t, 10)
                    .ok_or_else(|| self.err(ErrorKind::BadTtl, Some(Field::Ttl), t))?;
                u8::try_from(v)
                    .map_err(|_| self.err(ErrorKind::TtlOutOfRange, Some(Field::Ttl), t))?
            }
        };
        let group = self
            .ipv4(group, Field::Group, ErrorKind::BadAddress)?
            .unwrap_or(DEFAULT_MCAST_GROUP);
        if !group.is_multicast() {
            self.warn(Warning::GroupNotMulticast(group));
        }
        let mac = self.mac(mac)?;
        Ok(Mcast {
            mac,
            group,
            port,
            ttl,
        })
    }

    fn ucast(&mut self, rest: &'a str) -> Result<Ucast, Error> {
        let ([mac, remote, lport, rport], extra) = split_fields::<4>(rest);
        self.record_mac(mac);
        self.no_extra(extra, 4)?;
        let lport = self.port(lport, Field::ListenPort, DEFAULT_UCAST_PORT)?;
        let rport = self.port(rport, Field::RemotePort, DEFAULT_UCAST_PORT)?;
        let remote = self.ipv4(remote, Field::Remote, ErrorKind::BadAddress)?;
        if remote.is_none() {
            self.warn(Warning::NoRemoteAddress);
        }
        let mac = self.mac(mac)?;
        Ok(Ucast {
            mac,
            remote,
            lport,
            rport,
        })
    }

    fn daemon(&mut self, rest: &'a str) -> Result<Daemon, Error> {
        let ([mac, sock_type, ctl], data) = split_fields::<3>(rest);
        self.record_mac(mac);
        let sock_type = self
            .text::<SOCK_TYPE_MAX>(sock_type, Field::SockType)?
            .unwrap_or_else(|| {
                heapless::String::try_from(DEFAULT_DAEMON_SOCK_TYPE).unwrap_or_default()
            });
        if sock_type != DEFAULT_DAEMON_SOCK_TYPE {
            self.warn(Warning::SockTypeNotUnix);
        }
        let ctl = self.socket_path(ctl, Field::Ctl)?;
        let data = self.socket_path(data, Field::Data)?;
        if data.is_some() {
            self.warn(Warning::DataSocketIgnored);
        }
        let mac = self.mac(mac)?;
        Ok(Daemon {
            mac,
            sock_type,
            ctl,
            data,
        })
    }

    fn slip(&mut self, rest: &'a str) -> Result<Slip, Error> {
        // No split: the kernel takes the whole rest as the gate.
        let gate = if rest.is_empty() { None } else { Some(rest) };
        let gate = self.ipv4(gate, Field::Gate, ErrorKind::GateNotIpv4)?;
        Ok(Slip { gate })
    }

    fn vde(&mut self, rest: &'a str) -> Result<Vde, Error> {
        let ([switch, mac, port, group, mode, descr], extra) = split_fields::<6>(rest);
        self.record_mac(mac);
        if extra.is_some() {
            self.warn(Warning::VdeExtraIgnored);
        }
        let port = match port {
            None => None,
            Some(t) => Some(
                whole_number(t, 10)
                    .and_then(|v| u32::try_from(v).ok())
                    .filter(|v| *v <= i32::MAX as u32)
                    .ok_or_else(|| self.err(ErrorKind::BadPort, Some(Field::Port), t))?,
            ),
        };
        let mode = match mode {
            None => None,
            Some(t) => Some(
                whole_number(t, 8)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| self.err(ErrorKind::BadMode, Some(Field::Mode), t))?,
            ),
        };
        let switch = self.socket_path(switch, Field::Switch)?;
        let group = self.text(group, Field::VdeGroup)?;
        let descr = self.text(descr, Field::Descr)?;
        let extra = self.text(extra, Field::Extra)?;
        let mac = self.mac(mac)?;
        Ok(Vde {
            switch,
            mac,
            port,
            group,
            mode,
            descr,
            extra,
        })
    }

    fn slirp(&mut self, rest: &'a str) -> Result<Slirp, Error> {
        let ([mac], command) = split_fields::<1>(rest);
        self.record_mac(mac);
        if command.is_some_and(|c| c.split(',').count() > SLIRP_MAX_ARGS) {
            self.warn(Warning::SlirpArgsTruncated);
        }
        let command = self.text(command, Field::Command)?;
        let mac = self.mac(mac)?;
        if mac.is_some() {
            self.warn(Warning::SlirpMacUnused);
        }
        Ok(Slirp { mac, command })
    }

    fn vector_options(&mut self, value: &'a str) -> Result<Transport, Error> {
        self.transport = Some(TransportKind::Vector);
        let mut transport = None;
        let mut s = value;
        loop {
            let (after, kv) = field_text(s).unwrap_or(("", s));
            let key_ok =
                take_while::<_, _, ()>(|c: char| c.is_ascii_alphanumeric() || c == '_')(kv);
            match key_ok {
                Ok((v, key)) if !key.is_empty() && v.starts_with('=') => {
                    if key == "transport" {
                        transport = Some(&v[1..]);
                    }
                }
                _ => return Err(self.err(ErrorKind::BadVectorOption, Some(Field::Option), kv)),
            }
            match after.strip_prefix(',') {
                Some(next) => s = next,
                None => break,
            }
        }
        let Some(t) = transport else {
            return Err(self.err(
                ErrorKind::MissingVectorTransport,
                Some(Field::Option),
                value,
            ));
        };
        if !VECTOR_TRANSPORTS.contains(&t) {
            return Err(self.err(ErrorKind::UnknownVectorTransport, Some(Field::Option), t));
        }
        let options = heapless::String::try_from(value).map_err(|_| {
            self.err(
                ErrorKind::TooLong {
                    max: VECTOR_OPTIONS_MAX as u16,
                },
                Some(Field::Option),
                value,
            )
        })?;
        Ok(Transport::Vector(Vector { options }))
    }
}

// `TransportKind::from_name` never yields `Vector`; this keeps the match total without
// a panic path.
fn unreachable_vector() -> Transport {
    Transport::Slip(Slip { gate: None })
}

// ---------------------------------------------------------------------------------
// Printing

/// Writes `name` and the fields up to the last present one, comma-separated.
fn write_fields(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    fields: &[Option<&dyn fmt::Display>],
) -> fmt::Result {
    f.write_str(name)?;
    let last = fields.iter().rposition(Option::is_some);
    if let Some(last) = last {
        for field in &fields[..=last] {
            f.write_str(",")?;
            if let Some(v) = field {
                write!(f, "{v}")?;
            }
        }
    }
    Ok(())
}

struct Octal(u32);
impl fmt::Display for Octal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:o}", self.0)
    }
}

impl fmt::Display for Transport {
    /// The value after `eth<n>=` (or `vec<n>:`) in canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn d<T: fmt::Display>(v: &Option<T>) -> Option<&dyn fmt::Display> {
            v.as_ref().map(|v| v as &dyn fmt::Display)
        }
        fn unless<T: fmt::Display + PartialEq>(v: &T, default: T) -> Option<&dyn fmt::Display> {
            (*v != default).then_some(v as &dyn fmt::Display)
        }
        match self {
            Transport::Ethertap(t) => {
                write_fields(f, "ethertap", &[Some(&t.dev), d(&t.mac), d(&t.gate)])
            }
            Transport::Tuntap(t) => write_fields(f, "tuntap", &[d(&t.dev), d(&t.mac), d(&t.gate)]),
            Transport::Mcast(t) => write_fields(
                f,
                "mcast",
                &[
                    d(&t.mac),
                    unless(&t.group, DEFAULT_MCAST_GROUP),
                    unless(&t.port, DEFAULT_MCAST_PORT),
                    unless(&t.ttl, DEFAULT_MCAST_TTL),
                ],
            ),
            Transport::Daemon(t) => {
                let st = (t.sock_type != DEFAULT_DAEMON_SOCK_TYPE)
                    .then_some(&t.sock_type as &dyn fmt::Display);
                write_fields(f, "daemon", &[d(&t.mac), st, d(&t.ctl), d(&t.data)])
            }
            Transport::Slip(t) => write_fields(f, "slip", &[d(&t.gate)]),
            Transport::Ucast(t) => write_fields(
                f,
                "ucast",
                &[
                    d(&t.mac),
                    d(&t.remote),
                    unless(&t.lport, DEFAULT_UCAST_PORT),
                    unless(&t.rport, DEFAULT_UCAST_PORT),
                ],
            ),
            Transport::Vde(t) => {
                let mode = t.mode.map(Octal);
                write_fields(
                    f,
                    "vde",
                    &[
                        d(&t.switch),
                        d(&t.mac),
                        d(&t.port),
                        d(&t.group),
                        d(&mode),
                        d(&t.descr),
                        d(&t.extra),
                    ],
                )
            }
            Transport::Slirp(t) => write_fields(f, "slirp", &[d(&t.mac), d(&t.command)]),
            Transport::Vector(v) => f.write_str(&v.options),
        }
    }
}

impl fmt::Display for DeviceSpec {
    /// The canonical argument, `eth<n>=…` or `vec<n>:…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            Transport::Vector(_) => write!(f, "vec{}:{}", self.index, self.transport),
            t => write!(f, "eth{}={}", self.index, t),
        }
    }
}

// ---------------------------------------------------------------------------------
// Whole command line

/// Checks the arguments of one kernel command line in order, adding the checks that
/// need more than one argument: a device number given twice, and the boot-time MAC
/// inheritance bug (spec §1.1).
#[derive(Debug, Clone, Default)]
pub struct CmdlineChecker {
    /// Device numbers already configured: (`vec` family, number).
    seen: heapless::Vec<(bool, u32), 128>,
    /// Per transport, the last MAC text the kernel's split recorded: (device, MAC).
    last_mac: [Option<(u32, Option<MacAddr>)>; 9],
}

impl CmdlineChecker {
    /// A checker for a fresh command line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next argument. Returns `None` for arguments that are not network
    /// devices (the kernel hands every argument starting with `eth` or `vec` to the
    /// network code, so `ethfoo` is checked and refused, `mem=64M` is not).
    pub fn check(&mut self, arg: &str) -> Option<Result<Parsed, Error>> {
        if !(arg.starts_with("eth") || arg.starts_with("vec")) {
            return None;
        }
        let mut cx = Cx::new(arg);
        let result = cx.argument();
        let kind = cx.transport;
        let mut inherited = None;
        if let (Some(k), Some(n)) = (kind, cx.index) {
            match cx.mac_field {
                MacField::NotReached => {}
                MacField::Empty => inherited = self.last_mac[k.slot()],
                MacField::Given(mac) => self.last_mac[k.slot()] = Some((n, mac)),
            }
        }
        Some(result.and_then(|spec| {
            let key = (cx.vector, spec.index);
            if self.seen.contains(&key) {
                let e = cx.err(
                    ErrorKind::DeviceAlreadyConfigured,
                    Some(Field::DeviceNumber),
                    cx.number.of(arg),
                );
                return Err(Error {
                    found: cx.number,
                    transport: None,
                    ..e
                });
            }
            // Past 128 devices duplicates go unnoticed rather than failing.
            let _ = self.seen.push(key);
            let mut warnings = cx.warnings;
            if let Some((from, mac)) = inherited {
                let _ = warnings.push(Warning::MacInherited { from, mac });
            }
            Ok(Parsed { spec, warnings })
        }))
    }
}

/// Fuzz entry point: parses arbitrary bytes as an argument (and as a command line of
/// NUL-separated arguments); every accepted spec must print to a canonical string that
/// parses back to the same spec with no warnings about the MAC, and printing that again
/// gives the same string.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let mut checker = CmdlineChecker::new();
    for arg in text.split('\0') {
        let _ = checker.check(arg);
        match parse(arg) {
            Ok(p) => assert_round_trip(&p.spec),
            Err(e) => {
                assert!(e.found.start <= e.found.end && e.found.end <= arg.len());
                let mut buf = heapless::String::<1024>::new();
                let _ = fmt::write(&mut buf, format_args!("{}", e.display(arg)));
            }
        }
    }
}

fn assert_round_trip(spec: &DeviceSpec) {
    let mut printed = heapless::String::<1024>::new();
    fmt::write(&mut printed, format_args!("{spec}")).expect("a spec prints in 1024 bytes");
    let again = parse(&printed).expect("the canonical form parses");
    assert_eq!(
        &again.spec, spec,
        "parse(print(spec)) differs for {printed}"
    );
    assert!(
        !again
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::MacReadDifferently { .. }))
    );
    let mut printed2 = heapless::String::<1024>::new();
    fmt::write(&mut printed2, format_args!("{}", again.spec)).expect("prints again");
    assert_eq!(printed, printed2);
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn ok(arg: &str) -> Parsed {
        parse(arg).unwrap_or_else(|e| panic!("{arg}: {}", e.display(arg)))
    }
    fn err(arg: &str) -> Error {
        match parse(arg) {
            Ok(p) => panic!("{arg} parsed as {:?}", p.spec),
            Err(e) => e,
        }
    }
    fn msg(arg: &str) -> String {
        err(arg).display(arg).to_string()
    }
    fn s(x: &str) -> heapless::String<16> {
        heapless::String::try_from(x).unwrap()
    }

    /// Every command-line example of the seed page.
    #[test]
    fn seed_examples() {
        let p = ok("eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254");
        assert_eq!(
            p.spec,
            DeviceSpec {
                index: 0,
                transport: Transport::Ethertap(Ethertap {
                    dev: IfName::try_from("tap0").unwrap(),
                    mac: Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1])),
                    gate: Some(Ipv4Addr::new(192, 168, 0, 254)),
                })
            }
        );
        assert!(p.warnings.is_empty());
        assert_eq!(
            p.spec.to_string(),
            "eth0=ethertap,tap0,fe:fd:00:00:00:01,192.168.0.254"
        );

        let p = ok("eth0=mcast");
        assert_eq!(
            p.spec.transport,
            Transport::Mcast(Mcast {
                mac: None,
                group: DEFAULT_MCAST_GROUP,
                port: 1102,
                ttl: 1
            })
        );
        assert_eq!(p.spec.to_string(), "eth0=mcast");

        let p = ok("eth0=tuntap,,,192.168.0.254");
        assert_eq!(
            p.spec.transport,
            Transport::Tuntap(Tuntap {
                dev: None,
                mac: None,
                gate: Some(Ipv4Addr::new(192, 168, 0, 254))
            })
        );
        assert_eq!(p.spec.to_string(), "eth0=tuntap,,,192.168.0.254");

        let p = ok("eth0=daemon");
        let Transport::Daemon(d) = &p.spec.transport else {
            panic!()
        };
        assert_eq!(
            (d.sock_type.as_str(), d.ctl_or_default()),
            ("unix", DEBIAN_DAEMON_CTL)
        );
        assert!(p.warnings.is_empty());

        let p = ok("eth0=slip,192.168.0.251");
        assert_eq!(
            p.spec.transport,
            Transport::Slip(Slip {
                gate: Some(Ipv4Addr::new(192, 168, 0, 251))
            })
        );
    }

    /// The spec's table (§1.3) and the observations of §1.1/§1.2.
    #[test]
    fn spec_table_examples() {
        let p = ok("eth1=mcast,,239.1.2.3,1234,2");
        assert_eq!(
            p.spec.transport,
            Transport::Mcast(Mcast {
                mac: None,
                group: Ipv4Addr::new(239, 1, 2, 3),
                port: 1234,
                ttl: 2
            })
        );
        let p = ok("eth0=daemon,,unix,/tmp/x/ctl,/tmp/x/data");
        let Transport::Daemon(d) = &p.spec.transport else {
            panic!()
        };
        assert_eq!(d.ctl.as_deref(), Some("/tmp/x/ctl"));
        assert_eq!(d.data.as_deref(), Some("/tmp/x/data"));
        assert_eq!(p.warnings.as_slice(), &[Warning::DataSocketIgnored]);
        let p = ok("eth0=daemon,,inet,/tmp/x");
        assert_eq!(p.warnings.as_slice(), &[Warning::SockTypeNotUnix]);
        let p = ok("eth2=ucast,,10.0.0.2");
        assert_eq!(
            p.spec.transport,
            Transport::Ucast(Ucast {
                mac: None,
                remote: Some(Ipv4Addr::new(10, 0, 0, 2)),
                lport: 1102,
                rport: 1102
            })
        );
        let p = ok("eth3=vde,/tmp/vde.ctl,,5,users,770,my_guest");
        let Transport::Vde(v) = &p.spec.transport else {
            panic!()
        };
        assert_eq!(
            (v.port, v.mode, v.descr.as_deref()),
            (Some(5), Some(0o770), Some("my_guest"))
        );
        assert_eq!(
            p.spec.to_string(),
            "eth3=vde,/tmp/vde.ctl,,5,users,770,my_guest"
        );
        let p = ok("eth4=slirp,,/usr/bin/slirp-fullbolt,-P_1");
        let Transport::Slirp(sl) = &p.spec.transport else {
            panic!()
        };
        let args: Vec<String> = sl.args().map(|a| a.to_string()).collect();
        assert_eq!(args, ["/usr/bin/slirp-fullbolt", "-P 1"]);
        let p = ok("eth4=slirp,fe:fd:0:0:0:4,slirp");
        assert_eq!(p.warnings.as_slice(), &[Warning::SlirpMacUnused]);
        let p = ok("eth4=slirp");
        let Transport::Slirp(sl) = &p.spec.transport else {
            panic!()
        };
        assert_eq!(
            sl.args().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["slirp"]
        );
        let p = ok("vec0:transport=tap,ifname=tap0");
        let Transport::Vector(v) = &p.spec.transport else {
            panic!()
        };
        assert_eq!(v.transport(), Some("tap"));
        assert_eq!(p.spec.to_string(), "vec0:transport=tap,ifname=tap0");
    }

    /// Canonical strings print back unchanged; non-canonical ones print canonically.
    #[test]
    fn canonical_strings_print_back() {
        for c in [
            "eth0=ethertap,tap0",
            "eth0=ethertap,tap0,,192.168.0.254",
            "eth1=tuntap",
            "eth1=tuntap,tap3",
            "eth1=tuntap,,fe:fd:0a:00:00:01",
            "eth2=mcast,,239.1.2.3,1234,2",
            "eth2=mcast,,,,0",
            "eth3=daemon,,,/tmp/uml.ctl",
            "eth3=daemon,,inet",
            "eth3=daemon,,,,/tmp/uml.data",
            "eth4=slip",
            "eth4=slip,10.0.0.1",
            "eth5=ucast,,10.0.0.2,1103,1104",
            "eth6=vde,,fe:fd:00:00:00:06",
            "eth7=slirp,,slirp,-P_1",
            "vec0:transport=raw,ifname=p0",
        ] {
            assert_eq!(ok(c).spec.to_string(), c);
        }
        for (given, canonical) in [
            ("eth0=mcast,,239.192.168.1,1102,1", "eth0=mcast"),
            ("eth0=daemon,,unix,,", "eth0=daemon,,,,"),
            (
                "eth010=tuntap,,FE:FD:0:0:0:1,",
                "eth8=tuntap,,fe:fd:00:00:00:01",
            ),
            ("eth0x1=ucast,,10.0.0.2,1102", "eth1=ucast,,10.0.0.2"),
            ("eth0=vde,,,,,0755", "eth0=vde,,,,,755"),
        ] {
            assert_eq!(ok(given).spec.to_string(), canonical);
        }
    }

    #[test]
    fn device_number_is_read_with_base_zero() {
        let p = ok("eth0x1=mcast");
        assert_eq!(p.spec.index, 1);
        assert_eq!(
            p.warnings.as_slice(),
            &[Warning::NonDecimalDeviceNumber { index: 1 }]
        );
        assert_eq!(ok("eth010=mcast").spec.index, 8);
        assert!(ok("eth10=mcast").warnings.is_empty());
        assert!(ok("eth0=mcast").warnings.is_empty());
        let e = err("ethx=mcast");
        assert_eq!(
            (e.kind, e.field),
            (ErrorKind::BadDeviceNumber, Some(Field::DeviceNumber))
        );
        assert_eq!(
            msg("ethx=mcast"),
            "eth: device number: expected a device number after 'eth', found 'x' (kernel: 'Bad device number')"
        );
        // `08`: octal stops at 8, so the kernel wants '=' where the 8 is.
        let e = err("eth08=mcast");
        assert_eq!((e.kind, e.index), (ErrorKind::MissingEquals, Some(0)));
        assert_eq!(err("eth0mcast").kind, ErrorKind::MissingEquals);
        assert_eq!(
            err("eth99999999999=mcast").kind,
            ErrorKind::DeviceNumberTooLarge
        );
        assert_eq!(err("mem=64M").kind, ErrorKind::NotNetworkArgument);
        assert_eq!(err("vec0=transport=tap").kind, ErrorKind::MissingColon);
    }

    #[test]
    fn transports_are_matched_by_whole_name() {
        assert_eq!(err("eth7=bogus").kind, ErrorKind::UnknownTransport);
        assert_eq!(err("eth7=mcastx").kind, ErrorKind::UnknownTransport);
        assert_eq!(err("eth7=").kind, ErrorKind::UnknownTransport);
        assert_eq!(err("eth7=pcap,eth0").kind, ErrorKind::TransportNotBuilt);
        assert!(msg("eth7=bogus").contains("found 'bogus'"));
        assert!(msg("eth7=bogus").contains("silently"));
        // `mcast,` is `mcast`.
        assert_eq!(ok("eth0=mcast,").spec, ok("eth0=mcast").spec);
    }

    #[test]
    fn mcast_fields() {
        assert_eq!(
            msg("eth0=mcast,,,abc"),
            "eth0: mcast port: expected a number 0-65535, found 'abc'"
        );
        assert_eq!(err("eth0=mcast,,,12a").kind, ErrorKind::BadPort);
        assert_eq!(err("eth0=mcast,,,+1").kind, ErrorKind::BadPort);
        assert_eq!(
            err("eth0=mcast,,,70000").kind,
            ErrorKind::PortOutOfRange { kernel_uses: 4464 }
        );
        assert!(msg("eth0=mcast,,,70000").contains("4464"));
        assert_eq!(err("eth0=mcast,,,1,x").kind, ErrorKind::BadTtl);
        assert_eq!(err("eth0=mcast,,,1,300").kind, ErrorKind::TtlOutOfRange);
        let e = err("eth0=mcast,,,,,extra");
        assert_eq!(
            (e.kind, e.field),
            (ErrorKind::ExtraFields { max: 4 }, Some(Field::Extra))
        );
        assert_eq!(e.found.of("eth0=mcast,,,,,extra"), "extra");
        assert_eq!(err("eth0=mcast,,abc").kind, ErrorKind::BadAddress);
        assert_eq!(
            ok("eth0=mcast,,,0").warnings.as_slice(),
            &[Warning::PortZero { field: Field::Port }]
        );
        assert_eq!(
            ok("eth0=mcast,,10.0.0.1").warnings.as_slice(),
            &[Warning::GroupNotMulticast(Ipv4Addr::new(10, 0, 0, 1))]
        );
        // Empty fields keep the defaults.
        assert_eq!(ok("eth0=mcast,,,,").spec, ok("eth0=mcast").spec);
        assert_eq!(ok("eth0=mcast,,,,5").spec.to_string(), "eth0=mcast,,,,5");
    }

    #[test]
    fn mac_field_follows_the_kernel_reader() {
        let e = err("eth0=mcast,02:00:00:00:00,239.1.1.1");
        assert_eq!(e.kind, ErrorKind::Mac(MacError::TooFewOctets { octets: 5 }));
        assert_eq!(e.field, Some(Field::Mac));
        assert!(msg("eth0=mcast,02:00:00:00:00,239.1.1.1").contains("found '02:00:00:00:00'"));
        assert_eq!(
            err("eth0=mcast,02-00-00-00-00-01").kind,
            ErrorKind::Mac(MacError::BadOctet { octet: 0 })
        );
        assert_eq!(
            err("eth0=mcast,03:00:00:00:00:01").kind,
            ErrorKind::Mac(MacError::Multicast)
        );
        assert_eq!(
            err("eth0=mcast,0:0:0:0:0:0").kind,
            ErrorKind::Mac(MacError::Zero)
        );
        assert!(msg("eth0=mcast,ff:ff:ff:ff:ff:ff").contains("odd"));
        let p = ok("eth0=mcast,102:00:00:00:00:12");
        assert_eq!(p.spec.transport.mac(), Some(MacAddr([2, 0, 0, 0, 0, 0x12])));
        assert_eq!(
            p.warnings.as_slice(),
            &[Warning::MacReadDifferently {
                kernel_reads: MacAddr([2, 0, 0, 0, 0, 0x12]),
                quirk: MacQuirk::OctetTruncated
            }]
        );
        let p = ok("eth0=tuntap,,02:00:00:00:00:01:07");
        assert!(matches!(
            p.warnings[0],
            Warning::MacReadDifferently {
                quirk: MacQuirk::ExtraOctets,
                ..
            }
        ));
        let p = ok("eth0=tuntap,,0x02:00:00:00:00:11");
        assert!(p.warnings.is_empty());
        assert_eq!(p.spec.to_string(), "eth0=tuntap,,02:00:00:00:00:11");
        let p = ok("eth0=daemon,00:11:22:33:44:55");
        assert_eq!(
            p.warnings.as_slice(),
            &[Warning::GloballyAdministeredMac(MacAddr([
                0, 0x11, 0x22, 0x33, 0x44, 0x55
            ]))]
        );
        assert!(p.warnings[0].to_string().contains("02:11:22:33:44:55"));
    }

    #[test]
    fn tap_transports() {
        let e = err("eth3=ethertap");
        assert_eq!(
            (e.kind, e.field),
            (ErrorKind::MissingEthertapDevice, Some(Field::Dev))
        );
        assert_eq!(
            err("eth3=ethertap,,fe:fd:0:0:0:1").kind,
            ErrorKind::MissingEthertapDevice
        );
        assert_eq!(
            err("eth4=tuntap,,,,extra").kind,
            ErrorKind::ExtraFields { max: 3 }
        );
        // A trailing comma after the third field is a fourth (empty) field.
        assert_eq!(
            err("eth4=tuntap,,,,").kind,
            ErrorKind::ExtraFields { max: 3 }
        );
        assert_eq!(ok("eth4=tuntap,,,").spec.to_string(), "eth4=tuntap");
        assert_eq!(
            err("eth4=tuntap,averyveryverylongname").kind,
            ErrorKind::InterfaceNameTooLong
        );
        assert_eq!(err("eth4=tuntap,a/b").kind, ErrorKind::InterfaceNameInvalid);
        assert_eq!(err("eth4=tuntap,,,192.168.0").kind, ErrorKind::GateNotIpv4);
        assert!(
            msg("eth4=tuntap,,,192.168.0")
                .starts_with("eth4: tuntap gate: expected an IPv4 address")
        );
        let p = ok("eth4=tuntap,tap7");
        let Transport::Tuntap(t) = &p.spec.transport else {
            panic!()
        };
        assert_eq!(t.dev.as_deref(), Some("tap7"));
    }

    #[test]
    fn slip_gate_is_not_split() {
        let e = err("eth7=slip,10.1.1.1,junk");
        assert_eq!(
            (e.kind, e.field),
            (ErrorKind::GateNotIpv4, Some(Field::Gate))
        );
        assert_eq!(e.found.of("eth7=slip,10.1.1.1,junk"), "10.1.1.1,junk");
        assert_eq!(
            ok("eth7=slip").spec.transport,
            Transport::Slip(Slip { gate: None })
        );
    }

    #[test]
    fn daemon_fields() {
        let long: String = core::iter::repeat_n('a', 108).collect();
        let arg = std::format!("eth0=daemon,,unix,/{long}");
        assert_eq!(err(&arg).kind, ErrorKind::SocketPathTooLong);
        let p = ok("eth0=daemon,,,,");
        assert_eq!(p.warnings.as_slice(), &[Warning::DataSocketIgnored]);
        assert_eq!(p.spec.to_string(), "eth0=daemon,,,,");
        assert_eq!(ok("eth0=daemon,,unix").spec.to_string(), "eth0=daemon");
    }

    #[test]
    fn checker_finds_duplicates_and_inherited_macs() {
        let mut c = CmdlineChecker::new();
        assert!(c.check("mem=64M").is_none());
        assert!(c.check("eth18=mcast,102:00:00:00:00:12").unwrap().is_ok());
        let p = c.check("eth22=mcast,,,0").unwrap().unwrap();
        assert!(p.warnings.contains(&Warning::MacInherited {
            from: 18,
            mac: Some(MacAddr([2, 0, 0, 0, 0, 0x12]))
        }));
        // Another transport keeps its own pointer.
        assert!(
            c.check("eth23=daemon")
                .unwrap()
                .unwrap()
                .warnings
                .is_empty()
        );
        let e = c.check("eth18=tuntap").unwrap().unwrap_err();
        assert_eq!(
            (e.kind, e.index),
            (ErrorKind::DeviceAlreadyConfigured, Some(18))
        );
        assert_eq!(
            e.display("eth18=tuntap").to_string().split(',').next(),
            Some("eth18: device number: expected each device number once")
        );
        // The MAC of a device that itself fails is still inherited.
        let mut c = CmdlineChecker::new();
        assert!(c.check("eth1=mcast,fe:fd:0:0:0:1,,abc").unwrap().is_err());
        let p = c.check("eth2=mcast").unwrap().unwrap();
        assert_eq!(
            p.warnings.as_slice(),
            &[Warning::MacInherited {
                from: 1,
                mac: Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1]))
            }]
        );
        // A failed device does not take its number.
        assert!(c.check("eth1=mcast").unwrap().is_ok());
    }

    // ---- property tests

    fn ifname() -> impl Strategy<Value = IfName> {
        "[a-z][a-z0-9_.-]{0,14}"
            .prop_filter("not . or ..", |s| s != "." && s != "..")
            .prop_map(|s| IfName::try_from(s.as_str()).unwrap())
    }
    fn mac() -> impl Strategy<Value = MacAddr> {
        any::<[u8; 6]>().prop_map(|mut b| {
            b[0] = (b[0] & !1) | 2;
            MacAddr(b)
        })
    }
    fn ip() -> impl Strategy<Value = Ipv4Addr> {
        any::<[u8; 4]>().prop_map(Ipv4Addr::from)
    }
    fn path() -> impl Strategy<Value = SocketPath> {
        "/[a-zA-Z0-9_./-]{0,60}".prop_map(|s| SocketPath::try_from(s.as_str()).unwrap())
    }
    fn text() -> impl Strategy<Value = Text> {
        "[a-zA-Z0-9_./-]{1,20}".prop_map(|s| Text::try_from(s.as_str()).unwrap())
    }

    fn transport() -> impl Strategy<Value = Transport> {
        prop_oneof![
            (
                ifname(),
                proptest::option::of(mac()),
                proptest::option::of(ip())
            )
                .prop_map(|(dev, mac, gate)| Transport::Ethertap(Ethertap {
                    dev,
                    mac,
                    gate
                })),
            (
                proptest::option::of(ifname()),
                proptest::option::of(mac()),
                proptest::option::of(ip())
            )
                .prop_map(|(dev, mac, gate)| Transport::Tuntap(Tuntap {
                    dev,
                    mac,
                    gate
                })),
            (proptest::option::of(mac()), ip(), any::<u16>(), any::<u8>()).prop_map(
                |(mac, group, port, ttl)| Transport::Mcast(Mcast {
                    mac,
                    group,
                    port,
                    ttl
                })
            ),
            (
                proptest::option::of(mac()),
                prop_oneof![Just("unix".to_string()), "[a-z]{1,16}"],
                proptest::option::of(path()),
                proptest::option::of(prop_oneof![Just(String::new()), "[a-z/,]{1,30}"])
            )
                .prop_map(|(mac, st, ctl, data)| Transport::Daemon(Daemon {
                    mac,
                    sock_type: s(&st),
                    ctl,
                    data: data.map(|d| SocketPath::try_from(d.as_str()).unwrap()),
                })),
            proptest::option::of(ip()).prop_map(|gate| Transport::Slip(Slip { gate })),
            (
                proptest::option::of(mac()),
                proptest::option::of(ip()),
                any::<u16>(),
                any::<u16>()
            )
                .prop_map(|(mac, remote, lport, rport)| Transport::Ucast(Ucast {
                    mac,
                    remote,
                    lport,
                    rport
                })),
            (
                proptest::option::of(path()),
                proptest::option::of(mac()),
                proptest::option::of(0u32..=i32::MAX as u32),
                proptest::option::of(text()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(text()),
                proptest::option::of(prop_oneof![Just(String::new()), "[a-z,]{1,20}"])
            )
                .prop_map(|(switch, mac, port, group, mode, descr, extra)| {
                    Transport::Vde(Vde {
                        switch,
                        mac,
                        port,
                        group,
                        mode,
                        descr,
                        extra: extra.map(|e| Text::try_from(e.as_str()).unwrap()),
                    })
                }),
            (
                proptest::option::of(mac()),
                proptest::option::of("[a-z/_.-]{0,10}(,[a-zA-Z0-9_-]{0,8}){0,4}")
            )
                .prop_map(|(mac, command)| Transport::Slirp(Slirp {
                    mac,
                    command: command.map(|c| heapless::String::try_from(c.as_str()).unwrap()),
                })),
            (
                "(tap|raw|hybrid|gre|l2tpv3|bess)",
                "(,[a-z_]{1,8}=[a-z0-9.]{0,8}){0,3}"
            )
                .prop_map(|(t, more)| {
                    let o = std::format!("transport={t}{more}");
                    Transport::Vector(Vector {
                        options: heapless::String::try_from(o.as_str()).unwrap(),
                    })
                }),
        ]
    }

    fn spec() -> impl Strategy<Value = DeviceSpec> {
        (0u32..=i32::MAX as u32, transport())
            .prop_map(|(index, transport)| DeviceSpec { index, transport })
    }

    proptest! {
        #[test]
        fn parse_print_round_trip(spec in spec()) {
            let printed = spec.to_string();
            let p = parse(&printed);
            prop_assert!(p.is_ok(), "{} fails: {:?}", printed, p);
            prop_assert_eq!(p.unwrap().spec, spec);
            assert_round_trip(&parse(&printed).unwrap().spec);
        }

        #[test]
        fn print_parse_round_trip_on_canonical_strings(spec in spec()) {
            let canonical = spec.to_string();
            prop_assert_eq!(parse(&canonical).unwrap().spec.to_string(), canonical);
        }

        #[test]
        fn arbitrary_fields_never_panic(t in "(ethertap|tuntap|mcast|daemon|slip|ucast|vde|slirp|bogus)",
                                        fields in proptest::collection::vec("[0-9a-fx:.,/_-]{0,12}", 0..8)) {
            let arg = std::format!("eth0={t},{}", fields.join(","));
            fuzz_one(arg.as_bytes());
        }

        #[test]
        fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            fuzz_one(&data);
        }
    }
}
