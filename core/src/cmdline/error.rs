//! What can go wrong reading an argument: the [`Error`] (kind, field, span) with its
//! message, and the [`Warning`]s for what the kernel accepts but reads oddly.

use crate::mac::{MacAddr, MacError, MacWarning};
use core::fmt;
use core::net::Ipv4Addr;

use super::{
    DeviceSpec, IFNAME_MAX, SLIRP_MAX_ARGS, SOCKET_PATH_MAX, TransportKind, VectorKey, VectorKind,
};
#[cfg(feature = "vector")]
use super::{VECTOR_DEPTH_MAX, VECTOR_MAX_KEYS, VECTOR_MTU_MAX, VECTOR_MTU_MIN};

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
    /// A `vec<n>:` key (and its value).
    Key(VectorKey),
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
            Field::Key(k) => k.name(),
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
    /// A `vec<n>:` argument in a program built without the `vec<n>:` grammar (the
    /// core's `vector` feature off, as on the bare-metal firmware).
    VectorNotBuilt,
    /// `vec<n>:` without `transport=`.
    MissingVectorTransport,
    /// `transport=` names no vector transport.
    UnknownVectorTransport,
    /// A `vec<n>:` value with a second `=`.
    VectorSecondEquals,
    /// `key=` with nothing after the `=`.
    VectorEmptyValue,
    /// More than 20 `key=value` pairs.
    TooManyVectorKeys,
    /// A key the vector driver does not know.
    UnknownVectorKey,
    /// The same key twice.
    VectorKeyTwice,
    /// A key the transport does not read.
    VectorKeyUnused(VectorKind),
    /// A key the transport needs.
    MissingVectorKey(VectorKind, VectorKey),
    /// A key that does nothing without another one.
    VectorKeyNeeds(VectorKey),
    /// Not a decimal number up to `max`.
    VectorNumber {
        /// The largest value.
        max: u64,
    },
    /// Not 0 or 1.
    VectorFlag,
    /// Not an IP address.
    VectorAddress,
    /// `src` and `dst` of different families, or not the family `v6=` says.
    VectorAddressFamily,
    /// `mtu=` outside 576–65534.
    VectorMtu,
    /// `depth=` 0 or above 65536.
    VectorDepth,
    /// An L2TPv3 cookie that is not a number, or wider than the cookie.
    VectorCookie,
    /// `srcport`/`dstport` with raw (not UDP) L2TPv3.
    VectorPortsNeedUdp,
    /// An ifname the kernel would truncate or that Linux refuses.
    VectorInterfaceName,
    /// A value the 6.1 kernel accepts at boot but panics on at ifup.
    KernelPanic(PanicCause),
}

/// Why the 6.1 kernel would panic at ifup (docs/protocols.md §9.4): the transport's
/// header setup (`build_gre_transport_data`, `build_l2tpv3_transport_data`) fails after
/// `uml_vector_user_open` has opened the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PanicCause {
    /// A session id or key the kernel cannot read as an `int` (above 0x7fffffff, or not
    /// a number).
    IdOutOfRange,
    /// `rx_session=` or `tx_session=` is missing.
    SessionMissing,
    /// `rx_key=` without a usable `tx_key=`.
    TxKeyMissing,
    /// `rx_cookie=` without `tx_cookie=`.
    TxCookieMissing,
}

impl ErrorKind {
    /// Whether the 6.1 kernel would panic at ifup on this value.
    pub const fn is_kernel_panic(&self) -> bool {
        matches!(self, ErrorKind::KernelPanic(_))
    }
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
            ErrorKind::VectorNotBuilt => f.write_str(
                "expected eth<n>=<transport>,...: this program is built without the vec<n>: \
                 grammar (umlnet-core's `vector` feature)",
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
            #[cfg(feature = "vector")]
            ErrorKind::BadVectorOption => f.write_str("expected key=value"),
            #[cfg(feature = "vector")]
            ErrorKind::MissingVectorTransport => f.write_str(
                "expected a transport=<raw|hybrid|tap|gre|l2tpv3|bess|fd> option (the kernel still \
                 creates the vec device, but bringing it up fails with EINVAL)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::UnknownVectorTransport => f.write_str(
                "expected one of raw, hybrid, tap, gre, l2tpv3, bess, fd (the kernel still \
                 creates the vec device, but bringing it up fails with EINVAL, or, for a name \
                 that only starts with one of them, uses that one)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorSecondEquals => f.write_str(
                "expected one '=' per key=value, with no quoting (kernel: 'vector_setup - \
                 Couldn't parse', and no vec device)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorEmptyValue => f.write_str("expected a value after '='"),
            #[cfg(feature = "vector")]
            ErrorKind::TooManyVectorKeys => write!(
                f,
                "expected at most {VECTOR_MAX_KEYS} key=value pairs (the kernel's table has \
                 {VECTOR_MAX_KEYS} entries and overflows)"
            ),
            #[cfg(feature = "vector")]
            ErrorKind::UnknownVectorKey => f.write_str(
                "expected a key the vector driver reads (the kernel ignores others silently)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorKeyTwice => {
                f.write_str("expected each key once (the kernel uses the first)")
            }
            #[cfg(feature = "vector")]
            ErrorKind::VectorKeyUnused(t) => write!(
                f,
                "expected only keys transport={t} reads (the kernel ignores this one)"
            ),
            #[cfg(feature = "vector")]
            ErrorKind::MissingVectorKey(t, k) => write!(
                f,
                "transport={t} needs {k}={}",
                match k {
                    VectorKey::Ifname => "<host interface> (without it ifup fails with EINVAL)",
                    VectorKey::Dst if *t == VectorKind::Bess => {
                        "<socket path> (without it ifup fails with EINVAL)"
                    }
                    VectorKey::Src | VectorKey::Dst => {
                        "<IP address> (without it ifup fails with EINVAL)"
                    }
                    VectorKey::Dstport => {
                        "<port> with udp=1 (without it every frame goes to port 0 and is lost)"
                    }
                    VectorKey::Fd => "<descriptor> (without it ifup fails with EINVAL)",
                    _ => "…",
                }
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorKeyNeeds(k) => {
                write!(f, "expected it only with {k}= (without it the kernel ignores it)")
            }
            #[cfg(feature = "vector")]
            ErrorKind::VectorNumber { max } => write!(f, "expected a decimal number 0-{max}"),
            #[cfg(feature = "vector")]
            ErrorKind::VectorFlag => f.write_str("expected 0 or 1"),
            #[cfg(feature = "vector")]
            ErrorKind::VectorAddress => f.write_str(
                "expected an IPv4 or IPv6 address (the kernel would look a host name up at \
                 every ifup)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorAddressFamily => f.write_str(
                "expected src and dst of one family: both IPv4, or both IPv6 with v6=1 (the \
                 kernel resolves both in the family v6= names, so ifup fails)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorMtu => write!(
                f,
                "expected an MTU {VECTOR_MTU_MIN}-{VECTOR_MTU_MAX} (the kernel silently uses \
                 1500 for any other value)"
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorDepth => write!(
                f,
                "expected a queue depth 1-{VECTOR_DEPTH_MAX} (0 breaks the kernel's queue \
                 arithmetic; a larger queue does not fit one kmalloc and the kernel does not \
                 check that allocation)"
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorCookie => f.write_str(
                "expected a number that fits the cookie: 0-0xffffffff, or with cookie64=1 \
                 0-0xffffffffffffffff (the kernel would send an undefined or truncated cookie)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorPortsNeedUdp => f.write_str(
                "expected ports only with udp=1 (a raw IP socket has no port: getaddrinfo \
                 refuses it and ifup fails)",
            ),
            #[cfg(feature = "vector")]
            ErrorKind::VectorInterfaceName => write!(
                f,
                "expected an interface name of at most {IFNAME_MAX} characters without '/', \
                 ':' or white space"
            ),
            #[cfg(feature = "vector")]
            ErrorKind::KernelPanic(cause) => {
                match cause {
                    PanicCause::IdOutOfRange => f.write_str("expected a number 0-2147483647 (0x7fffffff)")?,
                    PanicCause::SessionMissing => f.write_str(
                        "expected rx_session= and tx_session= (0-0x7fffffff) with transport=l2tpv3",
                    )?,
                    PanicCause::TxKeyMissing => f.write_str(
                        "expected tx_key= (0-0x7fffffff) next to rx_key=",
                    )?,
                    PanicCause::TxCookieMissing => {
                        f.write_str("expected tx_cookie= next to rx_cookie=")?
                    }
                }
                f.write_str(
                    "; ERROR: the 6.1 kernel would PANIC at ifup (the transport's header \
                     setup fails after its socket is open)",
                )
            }
            // Without the `vec<n>:` grammar these kinds never occur (the parser stops
            // at `VectorNotBuilt`); one short text keeps the match total.
            #[cfg(not(feature = "vector"))]
            _ => f.write_str("expected an eth<n>= option (vec<n>: is not built in)"),
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
            (Some(TransportKind::Vector), None) => Ok(()),
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
        // A missing key has no offending text to quote.
        if matches!(
            self.error.kind,
            ErrorKind::MissingVectorKey(..) | ErrorKind::KernelPanic(PanicCause::SessionMissing)
        ) {
            return write!(f, "{}", self.error);
        }
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
    /// bess `src=`: bound and never unlinked, so a second ifup fails with EADDRINUSE.
    BessSrcBlocksSecondIfup,
    /// bess path starting with `@`: a filesystem name starting with `@`, not abstract.
    BessAtIsLiteral,
    /// l2tpv3 `udp=1` without `srcport=`: a random local port the peer cannot know.
    L2tpv3RandomSourcePort,
    /// `bpfflash=0` turns flashing on too (the kernel tests the string, not the number).
    BpfFlashZeroEnables,
    /// fd: ifdown closes the descriptor, so a second ifup fails.
    FdClosedAtIfdown,
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
            #[cfg(feature = "vector")]
            Warning::BessSrcBlocksSecondIfup => f.write_str(
                "src: the kernel binds this path at ifup and never unlinks it, so a second \
                 ifup (after ifdown) fails with EADDRINUSE until the file is removed",
            ),
            #[cfg(feature = "vector")]
            Warning::BessAtIsLiteral => f.write_str(
                "a path starting with '@' is a file named '@…' to the kernel (it copies the \
                 name into sun_path as is), not an abstract socket",
            ),
            #[cfg(feature = "vector")]
            Warning::L2tpv3RandomSourcePort => f.write_str(
                "srcport: none given, so the kernel binds a random UDP port at each ifup and \
                 the peer cannot know where to send",
            ),
            #[cfg(feature = "vector")]
            Warning::BpfFlashZeroEnables => f.write_str(
                "bpfflash: the kernel tests that a number was given, not its value, so \
                 bpfflash=0 allows loading a filter too (shown as bpfflash=1)",
            ),
            #[cfg(feature = "vector")]
            Warning::FdClosedAtIfdown => f.write_str(
                "fd: ifdown closes this descriptor, so a later ifup cannot reopen it",
            ),
            #[cfg(not(feature = "vector"))]
            _ => f.write_str("a vec<n>: option (not built in)"),
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
