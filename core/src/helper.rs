//! The `uml_net` helper protocol (spec §2): the argv the kernel runs the setuid helper
//! with, and the bytes the helper answers with.
//!
//! * [`HelperCall::parse`] turns the argv (without `argv[0]`) into a typed call, for
//!   every form the original helper accepts (the version 4 forms of the 6.1 kernel and
//!   the older ones of §2.7). Because `uml_net` runs **setuid root**, the grammar is
//!   strict: interface names are 1 to 15 letters or digits, addresses are exactly four
//!   decimal octets, netmasks are contiguous, file descriptors are 3 to 65535, and an
//!   extra or missing argument is an error naming its position. Nothing that could
//!   reach a shell or a path survives parsing.
//! * [`HelperCall::to_argv`] produces the exact argv the kernel sends; parsing it gives
//!   the call back.
//! * The output block ([`emit_output_block`], [`parse_output_block`]) with its
//!   `* <argv>` echo line ([`EchoLine`]) and failure lines ([`NotZeroLine`],
//!   [`ExecFailedLine`]); the dynamic-tuntap reply ([`TuntapUpReply`]); ethertap's
//!   status byte ([`EthertapStatus`]) and address-change messages ([`AddrChange`],
//!   [`AddrChangeRepr`]).
//!
//! ```
//! use umlnet_core::helper::{Command, HelperCall};
//! use core::net::Ipv4Addr;
//!
//! let call = HelperCall::parse(&["4", "tuntap", "up", "10.9.0.1"]).unwrap();
//! assert_eq!(call.command, Command::TuntapUp { gate: Some(Ipv4Addr::new(10, 9, 0, 1)) });
//! let argv = call.to_argv();
//! assert!(argv.iter().map(|s| s.as_str()).eq(["4", "tuntap", "up", "10.9.0.1"]));
//! assert!(HelperCall::parse(&["4", "add", "tap0;rm -rf /", "10.0.0.2", "255.255.255.0"]).is_err());
//! ```

use core::fmt::{self, Write as _};
use core::net::Ipv4Addr;
use core::ops::Range;

/// The helper protocol version the 6.1 kernel sends (`UML_NET_VERSION`).
pub const UML_NET_VERSION: u32 = 4;
/// Longest interface name (IFNAMSIZ 16, less the NUL).
pub const IFNAME_MAX: usize = 15;
/// `IFNAMSIZ`: the NUL-padded name at the front of the tuntap reply.
pub const IFNAMSIZ: usize = 16;
/// Lowest file descriptor a helper accepts for a passed socket (0, 1 and 2 are stdio).
pub const FD_MIN: u16 = 3;
/// Most arguments any form has (without `argv[0]`).
pub const ARGV_MAX: usize = 8;
/// Longest single argument the encoder produces (`255.255.255.255`, or a name).
pub const ARG_MAX: usize = 15;
/// The ethertap status byte for success.
pub const ETHERTAP_OK: u8 = 1;
/// The ethertap status byte for failure.
pub const ETHERTAP_FAILED: u8 = 0;
/// Length of a version 4 ethertap address-change message.
pub const ADDR_CHANGE_LEN: usize = 12;
/// Length of a version 1-3 ethertap address-change message (no netmask).
pub const ADDR_CHANGE_V3_LEN: usize = 8;

/// A host interface name: 1 to 15 ASCII letters or digits (or empty where the kernel
/// may send an empty one, [`Command::SlipDown`]).
pub type IfName = heapless::String<IFNAME_MAX>;
/// One encoded argument.
pub type Arg = heapless::String<ARG_MAX>;
/// An encoded argv (without `argv[0]`).
pub type Argv = heapless::Vec<Arg, ARGV_MAX>;

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

    fn from_word(s: &str) -> Option<Self> {
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
    /// answer with [`TuntapUpReply`] and the tap fd on fd 1. The 6.1 kernel omits the
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
    /// ARP entries for a guest address (§2.4).
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

/// What an argument should have been, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Expected {
    /// The protocol version.
    Version,
    /// A transport word.
    Transport,
    /// `up`, `down`, `add` or `del`.
    Operation,
    /// An interface name of letters and digits.
    InterfaceName,
    /// A tap device name `tap<N>`.
    TapName,
    /// A dotted-quad address.
    Ipv4,
    /// A contiguous dotted-quad netmask.
    Netmask,
    /// A file descriptor number.
    Fd,
    /// A short word of letters, digits, `.`, `_` or `-`.
    Word,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Version => "a protocol version number (0 to 4)",
            Expected::Transport => "a transport (ethertap, slip, tuntap, add or del)",
            Expected::Operation => "an operation",
            Expected::InterfaceName => "an interface name of 1 to 15 letters or digits",
            Expected::TapName => "a tap device name tap<N> (N from 0 to 9999)",
            Expected::Ipv4 => "an IPv4 address of four decimal octets 0-255 (like 10.0.0.1)",
            Expected::Netmask => "a contiguous netmask of four decimal octets (like 255.255.255.0)",
            Expected::Fd => "a file descriptor number from 3 to 65535",
            Expected::Word => "a word of 1 to 15 letters, digits, '.', '_' or '-'",
        })
    }
}

/// Why an argv was refused. Positions count as the kernel's argv does: `argv[1]` is
/// the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ArgvError<'a> {
    /// Fewer than two arguments: not run by the kernel.
    BadArgumentList {
        /// How many arguments (without `argv[0]`) there were.
        count: usize,
    },
    /// A version above 4.
    VersionMismatch {
        /// The version as `strtoul` read it, truncated to an `unsigned int`.
        requested: u32,
    },
    /// The transport word is unknown.
    UnknownTransport {
        /// The word.
        found: &'a str,
    },
    /// The transport has no form in that version.
    NoHandler {
        /// The version.
        version: u32,
        /// The transport (and operation).
        what: &'static str,
    },
    /// The operation after the transport is unknown.
    UnknownOp {
        /// The transport.
        transport: Transport,
        /// Its position.
        position: usize,
        /// The word.
        found: &'a str,
    },
    /// An argument is missing.
    TooFew {
        /// The handler, as the original names it (`tuntap_up`, `ethertap_v4`, …).
        command: &'static str,
        /// The position of the first missing argument.
        position: usize,
        /// What it should be.
        expected: Expected,
    },
    /// There are more arguments than the form has.
    TooMany {
        /// The handler.
        command: &'static str,
        /// The position of the first extra argument.
        position: usize,
        /// That argument.
        found: &'a str,
    },
    /// An argument is malformed.
    BadArgument {
        /// Its position.
        position: usize,
        /// What it should be.
        expected: Expected,
        /// What it is.
        found: &'a str,
    },
}

/// Writes an argument for a message: printable ASCII as is, the rest as `\xNN`,
/// at most 64 bytes.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.as_bytes();
        for &c in b.iter().take(64) {
            if (0x20..0x7f).contains(&c) && c != b'\\' && c != b'\'' {
                f.write_char(c as char)?;
            } else {
                write!(f, "\\x{c:02x}")?;
            }
        }
        if b.len() > 64 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Display for ArgvError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArgvError::BadArgumentList { count } => write!(
                f,
                "bad argument list ({count} arguments) - if you're running uml_net by hand, don't bother.  uml_net is run automatically by UML when necessary."
            ),
            ArgvError::VersionMismatch { requested } => write!(
                f,
                "Version mismatch - requested version {}, uml_net supports up to version {UML_NET_VERSION}",
                requested as i32
            ),
            ArgvError::UnknownTransport { found } => {
                write!(f, "Unknown transport : '{}'", Shown(found))
            }
            ArgvError::NoHandler { version, what } => {
                write!(f, "No version #{version} handler for '{what}'")
            }
            ArgvError::UnknownOp {
                transport,
                position,
                found,
            } => write!(
                f,
                "Bad {transport} op : '{}' (argv[{position}])",
                Shown(found)
            ),
            ArgvError::TooFew {
                command,
                position,
                expected,
            } => write!(
                f,
                "Too few arguments to {command}: argv[{position}] should be {expected}"
            ),
            ArgvError::TooMany {
                command,
                position,
                found,
            } => write!(
                f,
                "Too many arguments to {command}: argv[{position}] '{}' is not expected",
                Shown(found)
            ),
            ArgvError::BadArgument {
                position,
                expected,
                found,
            } => write!(
                f,
                "argv[{position}]: expected {expected}, found '{}'",
                Shown(found)
            ),
        }
    }
}

/// How `strtoul(s, &end, 0)` reads a string: the value (truncated to `unsigned int`)
/// and how many bytes it consumed (0 when there is no number).
fn strtoul0(s: &str) -> (u32, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut base = 10u64;
    if i < b.len() && b[i] == b'0' {
        if i + 2 < b.len() && (b[i + 1] | 0x20) == b'x' && b[i + 2].is_ascii_hexdigit() {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < b.len() {
        let d = match b[i] {
            c @ b'0'..=b'9' => u64::from(c - b'0'),
            c @ (b'a'..=b'f' | b'A'..=b'F') => u64::from((c | 0x20) - b'a' + 10),
            _ => break,
        };
        if d >= base {
            break;
        }
        match v.checked_mul(base).and_then(|x| x.checked_add(d)) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    let v = if overflow {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    };
    (v as u32, i)
}

/// Exactly four decimal octets, each 0-255 without leading zeros (which `inet_aton`
/// would read as octal), no sign, no spaces.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut out {
        let p = parts.next()?.as_bytes();
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if p.len() > 1 && p[0] == b'0' {
            return None;
        }
        let v = p.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(out))
}

/// A dotted-quad netmask whose one bits are contiguous from the top.
pub fn parse_netmask(s: &str) -> Option<Ipv4Addr> {
    let m = parse_ipv4(s)?;
    is_contiguous(m).then_some(m)
}

/// True if the mask is some number of one bits followed only by zero bits.
pub fn is_contiguous(mask: Ipv4Addr) -> bool {
    let m = u32::from(mask);
    m.leading_ones() + m.trailing_zeros() == 32
}

/// An interface name as the original's `is_a_device` wants it: 1 to 15 ASCII letters
/// or digits.
pub fn parse_if_name(s: &str) -> Option<IfName> {
    if s.is_empty() || s.len() > IFNAME_MAX || !s.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    IfName::try_from(s).ok()
}

/// An ethertap device name `tap<N>`, N decimal without leading zeros, 0 to 9999 (the
/// original opens `/dev/%.7s`). Returns the name and N.
pub fn parse_tap_name(s: &str) -> Option<(IfName, u16)> {
    let digits = s.strip_prefix("tap")?.as_bytes();
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
    Some((IfName::try_from(s).ok()?, n))
}

/// A file descriptor number: decimal without leading zeros or sign, 3 to 65535.
pub fn parse_fd(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    let v = b.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
    let v = u16::try_from(v).ok()?;
    (v >= FD_MIN).then_some(v)
}

fn parse_word(s: &str) -> Option<Arg> {
    if s.is_empty()
        || s.len() > ARG_MAX
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        return None;
    }
    Arg::try_from(s).ok()
}

/// A cursor over the arguments of one handler.
struct Args<'s, 'a> {
    args: &'s [&'a str],
    next: usize,
    command: &'static str,
}

impl<'a> Args<'_, 'a> {
    /// The position in the kernel's argv of `args[i]`.
    fn pos(i: usize) -> usize {
        i + 1
    }

    fn take<T>(
        &mut self,
        expected: Expected,
        check: impl Fn(&'a str) -> Option<T>,
    ) -> Result<T, ArgvError<'a>> {
        let i = self.next;
        let s = *self.args.get(i).ok_or(ArgvError::TooFew {
            command: self.command,
            position: Self::pos(i),
            expected,
        })?;
        self.next += 1;
        check(s).ok_or(ArgvError::BadArgument {
            position: Self::pos(i),
            expected,
            found: s,
        })
    }

    fn opt<T>(
        &mut self,
        expected: Expected,
        check: impl Fn(&'a str) -> Option<T>,
    ) -> Result<Option<T>, ArgvError<'a>> {
        if self.next < self.args.len() {
            self.take(expected, check).map(Some)
        } else {
            Ok(None)
        }
    }

    fn end(&self) -> Result<(), ArgvError<'a>> {
        match self.args.get(self.next) {
            None => Ok(()),
            Some(found) => Err(ArgvError::TooMany {
                command: self.command,
                position: Self::pos(self.next),
                found,
            }),
        }
    }
}

fn tap(s: &str) -> Option<IfName> {
    parse_tap_name(s).map(|(n, _)| n)
}

impl HelperCall {
    /// Parses the helper's argv without `argv[0]` (so `args[0]` is the version).
    ///
    /// The version is read like the original's `strtoul(argv[1], &end, 0)`: when no
    /// number starts there, the version is 0 and `argv[1]` is the transport; above 4 it
    /// is a [`ArgvError::VersionMismatch`]. Unlike the original, a number followed by
    /// anything else (`4x`) is refused.
    pub fn parse<'a>(args: &[&'a str]) -> Result<HelperCall, ArgvError<'a>> {
        if args.len() < 2 {
            return Err(ArgvError::BadArgumentList { count: args.len() });
        }
        let (version, first) = match strtoul0(args[0]) {
            (_, 0) => (0, 0),
            (v, n) if n == args[0].len() => {
                if v > UML_NET_VERSION {
                    return Err(ArgvError::VersionMismatch { requested: v });
                }
                (v, 1)
            }
            _ => {
                return Err(ArgvError::BadArgument {
                    position: 1,
                    expected: Expected::Version,
                    found: args[0],
                });
            }
        };
        let word = args[first];
        let transport =
            Transport::from_word(word).ok_or(ArgvError::UnknownTransport { found: word })?;
        let mut a = Args {
            args,
            next: first + 1,
            command: "",
        };
        let command = match transport {
            Transport::Tuntap => parse_tuntap(version, &mut a)?,
            Transport::Ethertap => parse_ethertap(version, &mut a)?,
            Transport::Slip => parse_slip(version, &mut a)?,
            Transport::Add | Transport::Del => {
                if version != 4 {
                    return Err(ArgvError::NoHandler {
                        version,
                        what: transport.as_str(),
                    });
                }
                a.command = if transport == Transport::Add {
                    "add_address_v4"
                } else {
                    "del_address_v4"
                };
                let dev = a.take(Expected::InterfaceName, parse_if_name)?;
                let ip = a.take(Expected::Ipv4, parse_ipv4)?;
                let netmask = a.take(Expected::Netmask, parse_netmask)?;
                Command::Address {
                    op: if transport == Transport::Add {
                        AddrOp::Add
                    } else {
                        AddrOp::Del
                    },
                    dev,
                    ip,
                    netmask,
                }
            }
        };
        a.end()?;
        Ok(HelperCall { version, command })
    }

    /// The argv (without `argv[0]`) that asks for this call, as the kernel builds it:
    /// the version first (left out for version 0, as the oldest kernels sent none).
    pub fn to_argv(&self) -> Argv {
        let mut v = Argv::new();
        let mut push = |s: &dyn fmt::Display| {
            let mut a = Arg::new();
            // Every argument is at most 15 bytes and no form has more than 8.
            let _ = write!(a, "{s}");
            let _ = v.push(a);
        };
        if self.version != 0 {
            push(&self.version);
        }
        push(&self.command.transport());
        match &self.command {
            Command::TuntapUp { gate } => {
                push(&"up");
                if let Some(g) = gate {
                    push(g);
                }
            }
            Command::TuntapUpFd { ignored, fd, gate } => {
                push(&"up");
                push(ignored);
                push(fd);
                if let Some(g) = gate {
                    push(g);
                }
            }
            Command::TuntapChange {
                op,
                dev,
                ip,
                netmask,
            } => {
                push(&op.as_str());
                push(dev);
                push(ip);
                if let Some(m) = netmask {
                    push(m);
                }
            }
            Command::Ethertap { dev, data_fd, gate } => {
                push(dev);
                push(data_fd);
                if let Some(g) = gate {
                    push(g);
                }
            }
            Command::EthertapControlFd {
                dev,
                data_fd,
                control_fd,
                gate,
            } => {
                push(dev);
                push(data_fd);
                push(control_fd);
                if let Some(g) = gate {
                    push(g);
                }
            }
            Command::EthertapV0 {
                dev,
                fd,
                gate,
                remote,
            } => {
                push(dev);
                push(fd);
                if let Some(g) = gate {
                    push(g);
                    if let Some(r) = remote {
                        push(r);
                    }
                }
            }
            Command::SlipUp { gate } => {
                push(&"up");
                push(gate);
            }
            Command::SlipDown { name } => {
                push(&"down");
                push(name);
            }
            Command::SlipUpFd { fd, gate, remote } => {
                push(&"up");
                push(fd);
                push(gate);
                if let Some(r) = remote {
                    push(r);
                }
            }
            Command::SlipDownFd { fd, remote } => {
                push(&"down");
                push(fd);
                if let Some(r) = remote {
                    push(r);
                }
            }
            Command::Address {
                dev, ip, netmask, ..
            } => {
                push(dev);
                push(ip);
                push(netmask);
            }
        }
        v
    }
}

fn parse_op<'a>(
    a: &mut Args<'_, 'a>,
    transport: Transport,
    command: &'static str,
) -> Result<&'a str, ArgvError<'a>> {
    a.command = command;
    let i = a.next;
    let op = a.take(Expected::Operation, Some)?;
    if matches!(op, "up" | "down" | "add" | "del") {
        Ok(op)
    } else {
        Err(ArgvError::UnknownOp {
            transport,
            position: Args::pos(i),
            found: op,
        })
    }
}

fn unknown_op<'a>(a: &Args<'_, 'a>, transport: Transport) -> ArgvError<'a> {
    ArgvError::UnknownOp {
        transport,
        position: Args::pos(a.next - 1),
        found: a.args[a.next - 1],
    }
}

fn parse_tuntap<'a>(version: u32, a: &mut Args<'_, 'a>) -> Result<Command, ArgvError<'a>> {
    if version < 2 {
        return Err(ArgvError::NoHandler {
            version,
            what: "tuntap",
        });
    }
    let handler = match version {
        2 => "tuntap_v2",
        3 => "tuntap_v3",
        _ => "tuntap_v4",
    };
    let op = parse_op(a, Transport::Tuntap, handler)?;
    match op {
        "up" => {
            a.command = "tuntap_up";
            if version == 2 {
                let ignored = a.take(Expected::Word, parse_word)?;
                let fd = a.take(Expected::Fd, parse_fd)?;
                let gate = a.opt(Expected::Ipv4, parse_ipv4)?;
                Ok(Command::TuntapUpFd { ignored, fd, gate })
            } else {
                let gate = a.opt(Expected::Ipv4, parse_ipv4)?;
                Ok(Command::TuntapUp { gate })
            }
        }
        "add" | "del" => {
            if version == 2 {
                return Err(ArgvError::NoHandler {
                    version,
                    what: "tuntap add/del",
                });
            }
            a.command = "tuntap change_addr";
            let op = if op == "add" {
                AddrOp::Add
            } else {
                AddrOp::Del
            };
            let dev = a.take(Expected::InterfaceName, parse_if_name)?;
            let ip = a.take(Expected::Ipv4, parse_ipv4)?;
            let netmask = if version == 4 {
                Some(a.take(Expected::Netmask, parse_netmask)?)
            } else {
                None
            };
            Ok(Command::TuntapChange {
                op,
                dev,
                ip,
                netmask,
            })
        }
        _ => Err(unknown_op(a, Transport::Tuntap)),
    }
}

fn parse_ethertap<'a>(version: u32, a: &mut Args<'_, 'a>) -> Result<Command, ArgvError<'a>> {
    a.command = match version {
        0 => "ethertap_v0",
        1 | 2 => "ethertap_v1_v2",
        3 => "ethertap_v3",
        _ => "ethertap_v4",
    };
    let dev = a.take(Expected::TapName, tap)?;
    let data_fd = a.take(Expected::Fd, parse_fd)?;
    Ok(match version {
        0 => {
            let gate = a.opt(Expected::Ipv4, parse_ipv4)?;
            let remote = match gate {
                Some(_) => a.opt(Expected::Ipv4, parse_ipv4)?,
                None => None,
            };
            Command::EthertapV0 {
                dev,
                fd: data_fd,
                gate,
                remote,
            }
        }
        1 | 2 => {
            let control_fd = a.take(Expected::Fd, parse_fd)?;
            let gate = a.opt(Expected::Ipv4, parse_ipv4)?;
            Command::EthertapControlFd {
                dev,
                data_fd,
                control_fd,
                gate,
            }
        }
        _ => {
            let gate = a.opt(Expected::Ipv4, parse_ipv4)?;
            Command::Ethertap { dev, data_fd, gate }
        }
    })
}

fn parse_slip<'a>(version: u32, a: &mut Args<'_, 'a>) -> Result<Command, ArgvError<'a>> {
    let handler = match version {
        0..=2 => "slip_v0_v2",
        3 => "slip_v3",
        _ => "slip_v4",
    };
    let op = parse_op(a, Transport::Slip, handler)?;
    match (op, version) {
        ("up", 4) => {
            a.command = "slip_up";
            let gate = a.take(Expected::Ipv4, parse_ipv4)?;
            Ok(Command::SlipUp { gate })
        }
        ("down", 4) => {
            a.command = "slip_down";
            // The kernel sends an empty name when it never learned one.
            let name = a.take(Expected::InterfaceName, |s| {
                if s.is_empty() {
                    Some(IfName::new())
                } else {
                    parse_if_name(s)
                }
            })?;
            Ok(Command::SlipDown { name })
        }
        ("up", _) => {
            a.command = "slip_up";
            let fd = a.take(Expected::Fd, parse_fd)?;
            let gate = a.take(Expected::Ipv4, parse_ipv4)?;
            let remote = a.opt(Expected::Ipv4, parse_ipv4)?;
            Ok(Command::SlipUpFd { fd, gate, remote })
        }
        ("down", _) => {
            a.command = "slip_down";
            let fd = a.take(Expected::Fd, parse_fd)?;
            let remote = a.opt(Expected::Ipv4, parse_ipv4)?;
            Ok(Command::SlipDownFd { fd, remote })
        }
        _ => Err(unknown_op(a, Transport::Slip)),
    }
}

/// Prints the argv joined by single spaces (without `argv[0]`), e.g. `4 tuntap up 10.9.0.1`.
impl fmt::Display for HelperCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.to_argv().iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            f.write_str(a)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The output block.

/// Size of the block's length prefix.
pub const OUTPUT_LEN_FIELD: usize = 4;

/// Bytes [`emit_output_block`] writes for `text`: 4, plus the text and its NUL when
/// there is any text.
pub fn output_block_len(text: &[u8]) -> usize {
    if text.is_empty() {
        OUTPUT_LEN_FIELD
    } else {
        OUTPUT_LEN_FIELD + text.len() + 1
    }
}

/// A buffer too small for what was to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// Bytes needed.
    pub needed: usize,
    /// Bytes available.
    pub got: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer of {} bytes is too small, {} are needed",
            self.got, self.needed
        )
    }
}

/// Writes an output block: `used` as a native-order (little-endian on x86_64) 4-byte
/// int counting the text **and** its terminating NUL, then the text and the NUL. No
/// text gives the empty block `00 00 00 00`. Returns the bytes written.
pub fn emit_output_block(text: &[u8], buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let needed = output_block_len(text);
    if buf.len() < needed || needed - OUTPUT_LEN_FIELD > i32::MAX as usize {
        return Err(BufferTooSmall {
            needed,
            got: buf.len(),
        });
    }
    let used = (needed - OUTPUT_LEN_FIELD) as u32;
    buf[..OUTPUT_LEN_FIELD].copy_from_slice(&used.to_ne_bytes());
    if !text.is_empty() {
        buf[OUTPUT_LEN_FIELD..needed - 1].copy_from_slice(text);
        buf[needed - 1] = 0;
    }
    Ok(needed)
}

/// A decoded output block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutputBlock<'a> {
    /// The text the kernel prints: up to the first NUL.
    pub text: &'a [u8],
    /// Bytes the block took from the stream (4 + `used`).
    pub len: usize,
}

/// Why an output block could not be read, in the kernel's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutputError {
    /// Fewer than 4 bytes.
    ShortLength {
        /// Bytes there were.
        got: usize,
    },
    /// Fewer text bytes than `used` announced.
    ShortData {
        /// Bytes there were after the length.
        got: usize,
        /// `used`.
        expected: usize,
    },
    /// A negative `used` (the kernel reads it as an `int`).
    NegativeLength(i32),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OutputError::ShortLength { got } => write!(
                f,
                "read_output - read of length failed, read only {got} of {OUTPUT_LEN_FIELD} bytes"
            ),
            OutputError::ShortData { got, expected } => write!(
                f,
                "read_output - read of data failed, read only {got} of {expected} bytes"
            ),
            OutputError::NegativeLength(n) => {
                write!(f, "read_output - the helper sent a negative length {n}")
            }
        }
    }
}

/// Reads one output block from the front of `data` (more may follow it).
pub fn parse_output_block(data: &[u8]) -> Result<OutputBlock<'_>, OutputError> {
    let Some(len) = data.get(..OUTPUT_LEN_FIELD) else {
        return Err(OutputError::ShortLength { got: data.len() });
    };
    let used = i32::from_ne_bytes([len[0], len[1], len[2], len[3]]);
    let used = usize::try_from(used).map_err(|_| OutputError::NegativeLength(used))?;
    let rest = &data[OUTPUT_LEN_FIELD..];
    let body = rest.get(..used).ok_or(OutputError::ShortData {
        got: rest.len(),
        expected: used,
    })?;
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    Ok(OutputBlock {
        text: &body[..end],
        len: OUTPUT_LEN_FIELD + used,
    })
}

/// The line the helper adds before each command it runs: `* <argv joined by spaces>\n`.
#[derive(Debug, Clone, Copy)]
pub struct EchoLine<'a>(pub &'a [&'a str]);

impl fmt::Display for EchoLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('*')?;
        for a in self.0 {
            f.write_char(' ')?;
            f.write_str(a)?;
        }
        f.write_char('\n')
    }
}

/// The line after a command that had to succeed and did not:
/// `'<argv0>' didn't exit with status 0\n`.
#[derive(Debug, Clone, Copy)]
pub struct NotZeroLine<'a>(pub &'a str);

impl fmt::Display for NotZeroLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "'{}' didn't exit with status 0", self.0)
    }
}

/// The line for a command that could not be executed:
/// `Failed to exec '<argv0>'<strerror>\n` (no separator, as the original prints it).
#[derive(Debug, Clone, Copy)]
pub struct ExecFailedLine<'a> {
    /// The program.
    pub argv0: &'a str,
    /// `strerror(errno)`.
    pub error: &'a str,
}

impl fmt::Display for ExecFailedLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Failed to exec '{}'{}", self.argv0, self.error)
    }
}

// ---------------------------------------------------------------------------
// The dynamic tuntap reply.

/// The one datagram `tuntap up` answers with. On success it is the 16-byte NUL-padded
/// interface name, then the text and a NUL, with the tap fd attached (SCM_RIGHTS). On
/// failure the name part is empty (just the text and NUL) and no fd is attached. There
/// is no length prefix; the kernel tells the two apart by the fd.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TuntapUpReply<'a> {
    /// The tap was created (the fd travels with it).
    Ready {
        /// The tap's name, as the kernel chose it (`tap0`).
        name: IfName,
        /// The helper's output (without the NUL).
        text: &'a [u8],
    },
    /// Nothing was created.
    Failed {
        /// Why, as text (without the NUL).
        text: &'a [u8],
    },
}

/// Why a tuntap reply is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TuntapReplyError {
    /// An fd came with fewer than 16 name bytes.
    ShortName {
        /// Bytes there were.
        got: usize,
    },
    /// The name part is not a NUL-padded interface name of letters and digits.
    BadName,
    /// The text has no terminating NUL (the kernel's buffer is not zeroed, so it would
    /// print whatever followed).
    MissingNul,
}

impl fmt::Display for TuntapReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TuntapReplyError::ShortName { got } => write!(
                f,
                "tuntap reply of {got} bytes came with an fd but has no {IFNAMSIZ}-byte interface name"
            ),
            TuntapReplyError::BadName => f.write_str(
                "tuntap reply's first 16 bytes are not a NUL-padded interface name of letters and digits",
            ),
            TuntapReplyError::MissingNul => {
                f.write_str("tuntap reply text is not NUL-terminated")
            }
        }
    }
}

fn nul_terminated(data: &[u8]) -> Result<&[u8], TuntapReplyError> {
    let end = data
        .iter()
        .position(|&b| b == 0)
        .ok_or(TuntapReplyError::MissingNul)?;
    Ok(&data[..end])
}

impl<'a> TuntapUpReply<'a> {
    /// Decodes a reply; `fd_received` says whether an fd came with it.
    pub fn parse(data: &'a [u8], fd_received: bool) -> Result<Self, TuntapReplyError> {
        if !fd_received {
            return Ok(TuntapUpReply::Failed {
                text: nul_terminated(data)?,
            });
        }
        let Some(raw) = data.get(..IFNAMSIZ) else {
            return Err(TuntapReplyError::ShortName { got: data.len() });
        };
        let name_len = raw.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        if raw[name_len..].iter().any(|&b| b != 0) {
            return Err(TuntapReplyError::BadName);
        }
        let name = core::str::from_utf8(&raw[..name_len])
            .ok()
            .and_then(parse_if_name)
            .ok_or(TuntapReplyError::BadName)?;
        Ok(TuntapUpReply::Ready {
            name,
            text: nul_terminated(&data[IFNAMSIZ..])?,
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TuntapUpReply::Ready { text, .. } => IFNAMSIZ + text.len() + 1,
            TuntapUpReply::Failed { text } => text.len() + 1,
        }
    }

    /// Writes the datagram's bytes (the caller attaches the fd for `Ready`). A NUL in
    /// the text ends it early, as it would for the kernel.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let needed = self.buffer_len();
        let got = buf.len();
        let out = buf
            .get_mut(..needed)
            .ok_or(BufferTooSmall { needed, got })?;
        let (head, text) = match self {
            TuntapUpReply::Ready { name, text } => {
                out[..IFNAMSIZ].fill(0);
                out[..name.len()].copy_from_slice(name.as_bytes());
                (IFNAMSIZ, text)
            }
            TuntapUpReply::Failed { text } => (0, text),
        };
        out[head..needed - 1].copy_from_slice(text);
        out[needed - 1] = 0;
        Ok(needed)
    }

    /// Whether the kernel gets a tap.
    pub fn is_ready(&self) -> bool {
        matches!(self, TuntapUpReply::Ready { .. })
    }
}

// ---------------------------------------------------------------------------
// Ethertap status and control messages.

/// The byte the ethertap helper writes first on its control socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EthertapStatus {
    /// `0x01`: the tap is open and the relay runs.
    Ready,
    /// Anything else (the helper sends `0x00`); an output block follows either way.
    Failed,
}

impl EthertapStatus {
    /// Reads the byte as the kernel does: only 1 is success.
    pub fn from_byte(b: u8) -> Self {
        if b == ETHERTAP_OK {
            EthertapStatus::Ready
        } else {
            EthertapStatus::Failed
        }
    }

    /// The byte the helper sends.
    pub fn to_byte(self) -> u8 {
        match self {
            EthertapStatus::Ready => ETHERTAP_OK,
            EthertapStatus::Failed => ETHERTAP_FAILED,
        }
    }
}

/// Byte offsets of the ethertap address-change message.
pub mod field {
    /// A fixed-size field.
    pub type Field = core::ops::Range<usize>;
    /// `what`: 0 add, 1 delete (a C enum, host order).
    pub const WHAT: Field = 0..4;
    /// The address, network order.
    pub const ADDR: Field = 4..8;
    /// The netmask, network order (version 4 only).
    pub const NETMASK: Field = 8..12;
}

/// The `what` of an address change; unknown values are kept (the original helper logs
/// `address_change - bad op : N` and carries on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChangeOp {
    /// 0, `ADD_ADDR`.
    Add,
    /// 1, `DEL_ADDR`.
    Del,
    /// Anything else.
    Unknown(u32),
}

impl From<u32> for ChangeOp {
    fn from(v: u32) -> Self {
        match v {
            0 => ChangeOp::Add,
            1 => ChangeOp::Del,
            n => ChangeOp::Unknown(n),
        }
    }
}

impl From<ChangeOp> for u32 {
    fn from(v: ChangeOp) -> u32 {
        match v {
            ChangeOp::Add => 0,
            ChangeOp::Del => 1,
            ChangeOp::Unknown(n) => n,
        }
    }
}

/// A message shorter than its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Truncated {
    /// Bytes needed.
    pub needed: usize,
    /// Bytes there were.
    pub got: usize,
}

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read from UML failed, n = {} (an address change is {} bytes)",
            self.got, self.needed
        )
    }
}

/// A zero-copy view of a version 4 address-change message (12 bytes).
#[derive(Debug, Clone)]
pub struct AddrChange<T: AsRef<[u8]>> {
    buffer: T,
}

fn get4(data: &[u8], f: Range<usize>) -> [u8; 4] {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[f]);
    b
}

impl<T: AsRef<[u8]>> AddrChange<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        AddrChange { buffer }
    }

    /// Wraps a buffer of at least 12 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        let v = Self::new_unchecked(buffer);
        v.check_len()?;
        Ok(v)
    }

    /// Checks the length.
    pub fn check_len(&self) -> Result<(), Truncated> {
        let got = self.buffer.as_ref().len();
        if got < ADDR_CHANGE_LEN {
            Err(Truncated {
                needed: ADDR_CHANGE_LEN,
                got,
            })
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// `what` (native order: little-endian on x86_64).
    pub fn what(&self) -> ChangeOp {
        u32::from_ne_bytes(get4(self.buffer.as_ref(), field::WHAT)).into()
    }

    /// The address.
    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(get4(self.buffer.as_ref(), field::ADDR))
    }

    /// The netmask.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(get4(self.buffer.as_ref(), field::NETMASK))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AddrChange<T> {
    /// Sets `what`.
    pub fn set_what(&mut self, op: ChangeOp) {
        self.buffer.as_mut()[field::WHAT].copy_from_slice(&u32::from(op).to_ne_bytes())
    }

    /// Sets the address.
    pub fn set_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::ADDR].copy_from_slice(&a.octets())
    }

    /// Sets the netmask.
    pub fn set_netmask(&mut self, m: Ipv4Addr) {
        self.buffer.as_mut()[field::NETMASK].copy_from_slice(&m.octets())
    }
}

/// A decoded address change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddrChangeRepr {
    /// Add or delete.
    pub op: ChangeOp,
    /// The guest's address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub addr: Ipv4Addr,
    /// Its netmask.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub netmask: Ipv4Addr,
}

impl AddrChangeRepr {
    /// Reads a checked view.
    pub fn parse<T: AsRef<[u8]>>(msg: &AddrChange<T>) -> Self {
        AddrChangeRepr {
            op: msg.what(),
            addr: msg.addr(),
            netmask: msg.netmask(),
        }
    }

    /// Reads a version 1-3 message (8 bytes, no netmask); the netmask is then 0.0.0.0.
    pub fn parse_v3(data: &[u8]) -> Result<Self, Truncated> {
        if data.len() < ADDR_CHANGE_V3_LEN {
            return Err(Truncated {
                needed: ADDR_CHANGE_V3_LEN,
                got: data.len(),
            });
        }
        Ok(AddrChangeRepr {
            op: u32::from_ne_bytes(get4(data, field::WHAT)).into(),
            addr: Ipv4Addr::from(get4(data, field::ADDR)),
            netmask: Ipv4Addr::UNSPECIFIED,
        })
    }

    /// 12.
    pub const fn buffer_len(&self) -> usize {
        ADDR_CHANGE_LEN
    }

    /// Writes the message into a view of at least 12 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, msg: &mut AddrChange<T>) {
        msg.set_what(self.op);
        msg.set_addr(self.addr);
        msg.set_netmask(self.netmask);
    }
}

// ---------------------------------------------------------------------------
// Fuzzing.

/// A `fmt::Write` that only counts, to run `Display` without allocating.
struct Sink(usize);

impl fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Fuzz entry point: splits `data` on NUL and ASCII whitespace into an argv, parses it,
/// and on success checks that [`HelperCall::to_argv`] parses back to the same call.
/// Also runs the reply decoders on the raw bytes and every `Display`.
#[doc(hidden)]
pub fn fuzz_argv(data: &[u8]) {
    let mut sink = Sink(0);
    let mut words: heapless::Vec<&str, 16> = heapless::Vec::new();
    let mut utf8 = true;
    for w in data
        .split(|&b| b == 0 || b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        match core::str::from_utf8(w) {
            Ok(s) => {
                if words.push(s).is_err() {
                    break;
                }
            }
            Err(_) => utf8 = false,
        }
    }
    if utf8 {
        match HelperCall::parse(&words) {
            Ok(call) => {
                let argv = call.to_argv();
                let mut strs: heapless::Vec<&str, ARGV_MAX> = heapless::Vec::new();
                for a in &argv {
                    let _ = strs.push(a.as_str());
                }
                assert_eq!(HelperCall::parse(&strs).as_ref(), Ok(&call));
                let _ = write!(sink, "{call}{}", EchoLine(&strs));
            }
            Err(e) => {
                let _ = write!(sink, "{e}");
            }
        }
    }
    match parse_output_block(data) {
        Ok(b) => {
            let mut buf = [0u8; 4096];
            if let Ok(n) = emit_output_block(b.text, &mut buf) {
                assert_eq!(parse_output_block(&buf[..n]).map(|o| o.text), Ok(b.text));
            }
        }
        Err(e) => {
            let _ = write!(sink, "{e}");
        }
    }
    for fd in [false, true] {
        match TuntapUpReply::parse(data, fd) {
            Ok(r) => {
                let mut buf = [0u8; 4096];
                if let Ok(n) = r.emit(&mut buf) {
                    assert_eq!(TuntapUpReply::parse(&buf[..n], fd).as_ref(), Ok(&r));
                }
            }
            Err(e) => {
                let _ = write!(sink, "{e}");
            }
        }
    }
    if let Ok(v) = AddrChange::new_checked(data) {
        let r = AddrChangeRepr::parse(&v);
        let mut buf = [0u8; ADDR_CHANGE_LEN];
        r.emit(&mut AddrChange::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &data[..ADDR_CHANGE_LEN]);
    }
    let _ = AddrChangeRepr::parse_v3(data);
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
        Ipv4Addr::new(a, b, c, d)
    }

    fn name(s: &str) -> IfName {
        IfName::try_from(s).unwrap()
    }

    fn argv_of(call: &HelperCall) -> Vec<String> {
        call.to_argv().iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kernel_argv_as_observed() {
        // [OBS] `[4] [tuntap] [up] [10.9.0.1]`
        let c = HelperCall::parse(&["4", "tuntap", "up", "10.9.0.1"]).unwrap();
        assert_eq!(c.version, 4);
        assert_eq!(
            c.command,
            Command::TuntapUp {
                gate: Some(ip(10, 9, 0, 1))
            }
        );
        assert_eq!(argv_of(&c), ["4", "tuntap", "up", "10.9.0.1"]);
        // Without a gate the kernel omits the argument.
        let c = HelperCall::parse(&["4", "tuntap", "up"]).unwrap();
        assert_eq!(c.command, Command::TuntapUp { gate: None });
        assert_eq!(argv_of(&c), ["4", "tuntap", "up"]);
        // [OBS] `[4] [add] [tap0] [10.9.0.2] [255.255.255.0]`
        let c = HelperCall::parse(&["4", "add", "tap0", "10.9.0.2", "255.255.255.0"]).unwrap();
        assert_eq!(
            c.command,
            Command::Address {
                op: AddrOp::Add,
                dev: name("tap0"),
                ip: ip(10, 9, 0, 2),
                netmask: ip(255, 255, 255, 0)
            }
        );
        assert_eq!(c.command.transport(), Transport::Add);
        assert_eq!(
            argv_of(&c),
            ["4", "add", "tap0", "10.9.0.2", "255.255.255.0"]
        );
        let c = HelperCall::parse(&["4", "del", "sl0", "10.9.0.2", "255.255.255.255"]).unwrap();
        assert!(matches!(
            c.command,
            Command::Address {
                op: AddrOp::Del,
                ..
            }
        ));
        // [OBS] `[4] [ethertap] [tap0] [27] [10.9.5.1]`
        let c = HelperCall::parse(&["4", "ethertap", "tap0", "27", "10.9.5.1"]).unwrap();
        assert_eq!(
            c.command,
            Command::Ethertap {
                dev: name("tap0"),
                data_fd: 27,
                gate: Some(ip(10, 9, 5, 1))
            }
        );
        assert_eq!(argv_of(&c), ["4", "ethertap", "tap0", "27", "10.9.5.1"]);
        assert_eq!(c.to_string(), "4 ethertap tap0 27 10.9.5.1");
        let c = HelperCall::parse(&["4", "slip", "up", "10.1.1.1"]).unwrap();
        assert_eq!(
            c.command,
            Command::SlipUp {
                gate: ip(10, 1, 1, 1)
            }
        );
        let c = HelperCall::parse(&["4", "slip", "down", "sl0"]).unwrap();
        assert_eq!(c.command, Command::SlipDown { name: name("sl0") });
        let c = HelperCall::parse(&["4", "slip", "down", ""]).unwrap();
        assert_eq!(
            c.command,
            Command::SlipDown {
                name: IfName::new()
            }
        );
        let c =
            HelperCall::parse(&["4", "tuntap", "add", "tap0", "10.0.0.2", "255.0.0.0"]).unwrap();
        assert!(matches!(
            c.command,
            Command::TuntapChange {
                netmask: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn older_forms() {
        // No version: argv[1] is the transport, version 0.
        let c =
            HelperCall::parse(&["ethertap", "tap0", "13", "192.168.0.4", "192.168.0.250"]).unwrap();
        assert_eq!(
            c,
            HelperCall {
                version: 0,
                command: Command::EthertapV0 {
                    dev: name("tap0"),
                    fd: 13,
                    gate: Some(ip(192, 168, 0, 4)),
                    remote: Some(ip(192, 168, 0, 250))
                }
            }
        );
        assert_eq!(
            argv_of(&c),
            ["ethertap", "tap0", "13", "192.168.0.4", "192.168.0.250"]
        );
        let c = HelperCall::parse(&["2", "ethertap", "tap1", "5", "6", "10.0.0.1"]).unwrap();
        assert!(matches!(
            c.command,
            Command::EthertapControlFd {
                data_fd: 5,
                control_fd: 6,
                ..
            }
        ));
        let c = HelperCall::parse(&["3", "ethertap", "tap1", "5", "10.0.0.1"]).unwrap();
        assert!(matches!(c.command, Command::Ethertap { data_fd: 5, .. }));
        let c = HelperCall::parse(&["2", "tuntap", "up", "x", "7", "10.0.0.1"]).unwrap();
        assert!(matches!(c.command, Command::TuntapUpFd { fd: 7, .. }));
        let c = HelperCall::parse(&["3", "tuntap", "del", "tap0", "10.0.0.2"]).unwrap();
        assert!(matches!(
            c.command,
            Command::TuntapChange { netmask: None, .. }
        ));
        let c = HelperCall::parse(&["3", "slip", "up", "4", "10.0.0.1", "10.0.0.2"]).unwrap();
        assert_eq!(
            c.command,
            Command::SlipUpFd {
                fd: 4,
                gate: ip(10, 0, 0, 1),
                remote: Some(ip(10, 0, 0, 2))
            }
        );
        let c = HelperCall::parse(&["slip", "down", "4"]).unwrap();
        assert_eq!(
            c.command,
            Command::SlipDownFd {
                fd: 4,
                remote: None
            }
        );
        // strtoul base 0: hex and octal versions.
        assert_eq!(
            HelperCall::parse(&["0x4", "tuntap", "up"]).unwrap().version,
            4
        );
        assert_eq!(
            HelperCall::parse(&["04", "tuntap", "up"]).unwrap().version,
            4
        );
        // Forms a version does not have.
        assert_eq!(
            HelperCall::parse(&["3", "add", "tap0", "10.0.0.1", "255.0.0.0"]),
            Err(ArgvError::NoHandler {
                version: 3,
                what: "add"
            })
        );
        let e = HelperCall::parse(&["1", "tuntap", "up"]).unwrap_err();
        assert_eq!(e.to_string(), "No version #1 handler for 'tuntap'");
    }

    #[test]
    fn version_errors() {
        let e = HelperCall::parse(&["5", "tuntap", "up"]).unwrap_err();
        assert_eq!(e, ArgvError::VersionMismatch { requested: 5 });
        assert_eq!(
            e.to_string(),
            "Version mismatch - requested version 5, uml_net supports up to version 4"
        );
        let e = HelperCall::parse(&["-1", "tuntap", "up"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Version mismatch - requested version -1, uml_net supports up to version 4"
        );
        let e = HelperCall::parse(&["99999999999999999999999", "tuntap"]).unwrap_err();
        assert!(matches!(e, ArgvError::VersionMismatch { .. }));
        assert_eq!(
            HelperCall::parse(&["4x", "tuntap", "up"]),
            Err(ArgvError::BadArgument {
                position: 1,
                expected: Expected::Version,
                found: "4x"
            })
        );
        let e = HelperCall::parse(&["4", "pcap", "up"]).unwrap_err();
        assert_eq!(e.to_string(), "Unknown transport : 'pcap'");
        let e = HelperCall::parse(&["4"]).unwrap_err();
        assert!(e.to_string().starts_with("bad argument list"));
        assert!(HelperCall::parse(&[]).is_err());
    }

    #[test]
    fn hostile_arguments_are_refused() {
        let cases: &[(&[&str], usize, Expected)] = &[
            (
                &["4", "add", "tap0;rm -rf /", "10.0.0.2", "255.255.255.0"],
                3,
                Expected::InterfaceName,
            ),
            (
                &["4", "add", "$(id)", "10.0.0.2", "255.255.255.0"],
                3,
                Expected::InterfaceName,
            ),
            (
                &["4", "add", "abcdefghijklmnop", "10.0.0.2", "255.255.255.0"],
                3,
                Expected::InterfaceName,
            ),
            (
                &["4", "add", "", "10.0.0.2", "255.255.255.0"],
                3,
                Expected::InterfaceName,
            ),
            (
                &["4", "add", "tap0", "10.0.0.1 ", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "0x0a.0.0.1", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "+10.0.0.1", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "010.0.0.1", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "10.0.0", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "10.0.0.1.5", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "10.0.0.256", "255.255.255.0"],
                4,
                Expected::Ipv4,
            ),
            (
                &["4", "add", "tap0", "10.0.0.1", "255.0.255.0"],
                5,
                Expected::Netmask,
            ),
            (
                &["4", "ethertap", "eth0", "27", "10.9.5.1"],
                3,
                Expected::TapName,
            ),
            (
                &["4", "ethertap", "tap01", "27", "10.9.5.1"],
                3,
                Expected::TapName,
            ),
            (&["4", "ethertap", "tap0", "2", "10.9.5.1"], 4, Expected::Fd),
            (&["4", "ethertap", "tap0", "0", "10.9.5.1"], 4, Expected::Fd),
            (
                &["4", "ethertap", "tap0", "65536", "10.9.5.1"],
                4,
                Expected::Fd,
            ),
            (
                &["4", "ethertap", "tap0", "-5", "10.9.5.1"],
                4,
                Expected::Fd,
            ),
            (
                &["4", "ethertap", "tap0", "027", "10.9.5.1"],
                4,
                Expected::Fd,
            ),
            (
                &["4", "slip", "down", "sl0/../x"],
                4,
                Expected::InterfaceName,
            ),
        ];
        for (argv, position, expected) in cases {
            let e = HelperCall::parse(argv).unwrap_err();
            assert_eq!(
                e,
                ArgvError::BadArgument {
                    position: *position,
                    expected: *expected,
                    found: argv[*position - 1]
                },
                "{argv:?}"
            );
        }
        let e = HelperCall::parse(&["4", "add", "tap0;rm -rf /", "10.0.0.2", "255.255.255.0"])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "argv[3]: expected an interface name of 1 to 15 letters or digits, found 'tap0;rm -rf /'"
        );
        let e = HelperCall::parse(&["4", "add", "a\u{1b}[2J", "10.0.0.2", "255.255.255.0"])
            .unwrap_err();
        assert!(e.to_string().ends_with("found 'a\\x1b[2J'"), "{e}");
    }

    #[test]
    fn missing_and_extra_arguments() {
        assert_eq!(
            HelperCall::parse(&["4", "add", "tap0", "10.0.0.2"]),
            Err(ArgvError::TooFew {
                command: "add_address_v4",
                position: 5,
                expected: Expected::Netmask
            })
        );
        let e = HelperCall::parse(&["4", "ethertap", "tap0"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Too few arguments to ethertap_v4: argv[4] should be a file descriptor number from 3 to 65535"
        );
        let e = HelperCall::parse(&["2", "tuntap", "up"]).unwrap_err();
        assert!(
            e.to_string().starts_with("Too few arguments to tuntap_up"),
            "{e}"
        );
        let e = HelperCall::parse(&["4", "tuntap"]).unwrap_err();
        assert!(
            e.to_string().starts_with("Too few arguments to tuntap_v4"),
            "{e}"
        );
        let e = HelperCall::parse(&["4", "tuntap", "up", "10.0.0.1", "10.0.0.2"]).unwrap_err();
        assert_eq!(
            e,
            ArgvError::TooMany {
                command: "tuntap_up",
                position: 5,
                found: "10.0.0.2"
            }
        );
        assert_eq!(
            e.to_string(),
            "Too many arguments to tuntap_up: argv[5] '10.0.0.2' is not expected"
        );
        let e = HelperCall::parse(&["4", "tuntap", "sideways"]).unwrap_err();
        assert_eq!(e.to_string(), "Bad tuntap op : 'sideways' (argv[3])");
        let e = HelperCall::parse(&["4", "slip", "add"]).unwrap_err();
        assert!(matches!(
            e,
            ArgvError::UnknownOp {
                transport: Transport::Slip,
                ..
            }
        ));
        assert!(HelperCall::parse(&["4", "slip", "up"]).is_err());
        assert!(
            HelperCall::parse(&["4", "add", "tap0", "10.0.0.2", "255.255.255.0", "x"]).is_err()
        );
    }

    #[test]
    fn strtoul_like_c() {
        assert_eq!(strtoul0("4"), (4, 1));
        assert_eq!(strtoul0("0x10"), (16, 4));
        assert_eq!(strtoul0("010"), (8, 3));
        assert_eq!(strtoul0("0x"), (0, 1));
        assert_eq!(strtoul0("09"), (0, 1));
        assert_eq!(strtoul0("  +7z"), (7, 4));
        assert_eq!(strtoul0("-1"), (u32::MAX, 2));
        assert_eq!(strtoul0("tuntap"), (0, 0));
        assert_eq!(strtoul0(""), (0, 0));
        assert_eq!(strtoul0("+"), (0, 0));
    }

    #[test]
    fn output_block_bytes() {
        let mut buf = [0xffu8; 64];
        assert_eq!(emit_output_block(b"", &mut buf), Ok(4));
        assert_eq!(&buf[..4], &[0, 0, 0, 0]);
        assert_eq!(
            parse_output_block(&buf[..4]),
            Ok(OutputBlock { text: b"", len: 4 })
        );
        let text = b"* route add -host 10.9.0.2 dev tap0\n";
        let n = emit_output_block(text, &mut buf).unwrap();
        assert_eq!(n, 4 + text.len() + 1);
        assert_eq!(&buf[..4], &[(text.len() + 1) as u8, 0, 0, 0]);
        assert_eq!(buf[n - 1], 0);
        let b = parse_output_block(&buf[..n + 3]).unwrap();
        assert_eq!((b.text, b.len), (&text[..], n));
        // The observed add reply: `5f 00 00 00` then 95 bytes ending in NUL.
        let mut obs = std::vec![0x5f, 0, 0, 0];
        obs.extend_from_slice(&[b'x'; 94]);
        obs.push(0);
        assert_eq!(parse_output_block(&obs).unwrap().text.len(), 94);
        let e = parse_output_block(&obs[..50]).unwrap_err();
        assert_eq!(
            e,
            OutputError::ShortData {
                got: 46,
                expected: 95
            }
        );
        assert_eq!(
            e.to_string(),
            "read_output - read of data failed, read only 46 of 95 bytes"
        );
        let e = parse_output_block(&obs[..2]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "read_output - read of length failed, read only 2 of 4 bytes"
        );
        assert_eq!(
            parse_output_block(&[0xff, 0xff, 0xff, 0xff]),
            Err(OutputError::NegativeLength(-1))
        );
        assert_eq!(
            emit_output_block(text, &mut buf[..10]),
            Err(BufferTooSmall { needed: n, got: 10 })
        );
    }

    #[test]
    fn output_lines() {
        let argv = ["route", "add", "-host", "10.9.0.2", "dev", "tap0"];
        assert_eq!(
            EchoLine(&argv).to_string(),
            "* route add -host 10.9.0.2 dev tap0\n"
        );
        assert_eq!(EchoLine(&[]).to_string(), "*\n");
        assert_eq!(
            NotZeroLine("ifconfig").to_string(),
            "'ifconfig' didn't exit with status 0\n"
        );
        assert_eq!(
            ExecFailedLine {
                argv0: "modprobe",
                error: "No such file or directory"
            }
            .to_string(),
            "Failed to exec 'modprobe'No such file or directory\n"
        );
    }

    #[test]
    fn tuntap_reply_layouts() {
        let text = b"* ifconfig tap0 10.9.0.1 netmask 255.255.255.255 up\n";
        let r = TuntapUpReply::Ready {
            name: name("tap0"),
            text,
        };
        let mut buf = [0u8; 256];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(n, 16 + text.len() + 1);
        assert_eq!(&buf[..16], b"tap0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(&buf[16..n - 1], &text[..]);
        assert_eq!(buf[n - 1], 0);
        assert_eq!(TuntapUpReply::parse(&buf[..n], true), Ok(r));
        // Failure: no name part, no fd.
        let f = TuntapUpReply::Failed {
            text: b"Too few arguments to tuntap_up\n",
        };
        let n = f.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"Too few arguments to tuntap_up\n\0");
        assert_eq!(TuntapUpReply::parse(&buf[..n], false), Ok(f));
        assert_eq!(
            TuntapUpReply::parse(b"abc", false),
            Err(TuntapReplyError::MissingNul)
        );
        assert_eq!(
            TuntapUpReply::parse(b"tap0\0", true),
            Err(TuntapReplyError::ShortName { got: 5 })
        );
        assert_eq!(
            TuntapUpReply::parse(b"tap0\0\0\0\0\0\0\0\0\0\0x\0hi\0", true),
            Err(TuntapReplyError::BadName)
        );
        assert_eq!(
            TuntapUpReply::parse(b"ta/0\0\0\0\0\0\0\0\0\0\0\0\0hi\0", true),
            Err(TuntapReplyError::BadName)
        );
        // A lone NUL is the shortest text the kernel accepts.
        assert_eq!(
            TuntapUpReply::parse(b"tap3\0\0\0\0\0\0\0\0\0\0\0\0\0", true),
            Ok(TuntapUpReply::Ready {
                name: name("tap3"),
                text: b""
            })
        );
    }

    #[test]
    fn ethertap_status_and_control() {
        assert_eq!(EthertapStatus::from_byte(0x01), EthertapStatus::Ready);
        assert_eq!(EthertapStatus::from_byte(0x00), EthertapStatus::Failed);
        assert_eq!(EthertapStatus::from_byte(0x02), EthertapStatus::Failed);
        assert_eq!(EthertapStatus::Ready.to_byte(), 1);
        assert_eq!(EthertapStatus::Failed.to_byte(), 0);
        // [OBS] `00000000 0a090702 ffffff00`, then `01000000 0a090702 ffffff00`.
        let add = [0, 0, 0, 0, 0x0a, 0x09, 0x07, 0x02, 0xff, 0xff, 0xff, 0x00];
        let v = AddrChange::new_checked(&add[..]).unwrap();
        let r = AddrChangeRepr::parse(&v);
        assert_eq!(
            r,
            AddrChangeRepr {
                op: ChangeOp::Add,
                addr: ip(10, 9, 7, 2),
                netmask: ip(255, 255, 255, 0)
            }
        );
        let del = AddrChangeRepr {
            op: ChangeOp::Del,
            ..r
        };
        let mut buf = [0u8; 12];
        del.emit(&mut AddrChange::new_unchecked(&mut buf[..]));
        assert_eq!(
            buf,
            [1, 0, 0, 0, 0x0a, 0x09, 0x07, 0x02, 0xff, 0xff, 0xff, 0x00]
        );
        assert_eq!(
            AddrChange::new_checked(&add[..11]).unwrap_err(),
            Truncated {
                needed: 12,
                got: 11
            }
        );
        let mut odd = add;
        odd[0] = 7;
        assert_eq!(
            AddrChangeRepr::parse(&AddrChange::new_checked(&odd[..]).unwrap()).op,
            ChangeOp::Unknown(7)
        );
        let v3 = AddrChangeRepr::parse_v3(&add[..8]).unwrap();
        assert_eq!((v3.op, v3.addr), (ChangeOp::Add, ip(10, 9, 7, 2)));
    }

    fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
        any::<[u8; 4]>().prop_map(Ipv4Addr::from)
    }

    fn arb_mask() -> impl Strategy<Value = Ipv4Addr> {
        (0u32..=32).prop_map(|n| Ipv4Addr::from(u32::MAX.checked_shl(32 - n).unwrap_or(0)))
    }

    fn arb_name() -> impl Strategy<Value = IfName> {
        "[a-zA-Z0-9]{1,15}".prop_map(|s| IfName::try_from(s.as_str()).unwrap())
    }

    fn arb_tap() -> impl Strategy<Value = IfName> {
        (0u16..10000).prop_map(|n| {
            let mut s = IfName::new();
            write!(s, "tap{n}").unwrap();
            s
        })
    }

    fn arb_fd() -> impl Strategy<Value = u16> {
        3u16..=u16::MAX
    }

    fn arb_op() -> impl Strategy<Value = AddrOp> {
        prop_oneof![Just(AddrOp::Add), Just(AddrOp::Del)]
    }

    fn arb_call() -> impl Strategy<Value = HelperCall> {
        let v4 = prop_oneof![
            proptest::option::of(arb_ip()).prop_map(|gate| Command::TuntapUp { gate }),
            (arb_op(), arb_name(), arb_ip(), arb_mask()).prop_map(|(op, dev, ip, m)| {
                Command::TuntapChange {
                    op,
                    dev,
                    ip,
                    netmask: Some(m),
                }
            }),
            (arb_tap(), arb_fd(), proptest::option::of(arb_ip()))
                .prop_map(|(dev, data_fd, gate)| Command::Ethertap { dev, data_fd, gate }),
            arb_ip().prop_map(|gate| Command::SlipUp { gate }),
            prop_oneof![arb_name(), Just(IfName::new())]
                .prop_map(|name| Command::SlipDown { name }),
            (arb_op(), arb_name(), arb_ip(), arb_mask()).prop_map(|(op, dev, ip, netmask)| {
                Command::Address {
                    op,
                    dev,
                    ip,
                    netmask,
                }
            }),
        ]
        .prop_map(|command| HelperCall {
            version: 4,
            command,
        });
        let old = prop_oneof![
            (
                "[a-zA-Z0-9._-]{1,15}",
                arb_fd(),
                proptest::option::of(arb_ip())
            )
                .prop_map(|(w, fd, gate)| HelperCall {
                    version: 2,
                    command: Command::TuntapUpFd {
                        ignored: Arg::try_from(w.as_str()).unwrap(),
                        fd,
                        gate
                    }
                }),
            (arb_op(), arb_name(), arb_ip()).prop_map(|(op, dev, ip)| HelperCall {
                version: 3,
                command: Command::TuntapChange {
                    op,
                    dev,
                    ip,
                    netmask: None
                }
            }),
            (
                arb_tap(),
                arb_fd(),
                arb_fd(),
                proptest::option::of(arb_ip()),
                1u32..=2
            )
                .prop_map(|(dev, data_fd, control_fd, gate, version)| HelperCall {
                    version,
                    command: Command::EthertapControlFd {
                        dev,
                        data_fd,
                        control_fd,
                        gate
                    }
                }),
            (
                arb_tap(),
                arb_fd(),
                proptest::option::of((arb_ip(), proptest::option::of(arb_ip())))
            )
                .prop_map(|(dev, fd, gr)| HelperCall {
                    version: 0,
                    command: Command::EthertapV0 {
                        dev,
                        fd,
                        gate: gr.map(|(g, _)| g),
                        remote: gr.and_then(|(_, r)| r)
                    }
                }),
            (arb_fd(), arb_ip(), proptest::option::of(arb_ip()), 0u32..=3).prop_map(
                |(fd, gate, remote, version)| HelperCall {
                    version,
                    command: Command::SlipUpFd { fd, gate, remote }
                }
            ),
            (arb_fd(), proptest::option::of(arb_ip()), 0u32..=3).prop_map(
                |(fd, remote, version)| HelperCall {
                    version,
                    command: Command::SlipDownFd { fd, remote }
                }
            ),
        ];
        prop_oneof![v4, old]
    }

    fn arb_word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("4".to_string()),
            Just("tuntap".to_string()),
            Just("ethertap".to_string()),
            Just("slip".to_string()),
            Just("add".to_string()),
            Just("del".to_string()),
            Just("up".to_string()),
            Just("down".to_string()),
            Just("tap0".to_string()),
            Just("10.0.0.1".to_string()),
            Just("255.255.255.0".to_string()),
            Just("27".to_string()),
            "[a-z0-9.]{1,6}",
        ]
    }

    proptest! {
        #[test]
        fn encode_parse_identity(call in arb_call()) {
            let argv = call.to_argv();
            let strs: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
            prop_assert_eq!(HelperCall::parse(&strs), Ok(call.clone()));
            // The Display form is the same argv, space-separated.
            prop_assert_eq!(call.to_string(), strs.join(" "));
        }

        #[test]
        fn ipv4_print_parse(a in arb_ip()) {
            prop_assert_eq!(parse_ipv4(&a.to_string()), Some(a));
        }

        #[test]
        fn ipv4_parse_agrees_with_std(s in "[0-9.+x ]{0,18}") {
            // Where ours accepts, std accepts the same value (std is strict too).
            if let Some(a) = parse_ipv4(&s) {
                prop_assert_eq!(s.parse::<Ipv4Addr>().ok(), Some(a));
            }
        }

        #[test]
        fn output_block_round_trip(text in proptest::collection::vec(1u8..=255, 0..300)) {
            let mut buf = [0u8; 400];
            let n = emit_output_block(&text, &mut buf).unwrap();
            prop_assert_eq!(n, output_block_len(&text));
            prop_assert_eq!(parse_output_block(&buf[..n]), Ok(OutputBlock { text: &text, len: n }));
        }

        #[test]
        fn tuntap_reply_round_trip(n in arb_name(), text in proptest::collection::vec(1u8..=255, 0..200), ok in any::<bool>()) {
            let r = if ok { TuntapUpReply::Ready { name: n, text: &text } } else { TuntapUpReply::Failed { text: &text } };
            let mut buf = [0u8; 300];
            let len = r.emit(&mut buf).unwrap();
            prop_assert_eq!(TuntapUpReply::parse(&buf[..len], ok), Ok(r));
        }

        #[test]
        fn addr_change_round_trip(op in any::<u32>(), addr in arb_ip(), netmask in arb_ip()) {
            let r = AddrChangeRepr { op: op.into(), addr, netmask };
            let mut buf = [0u8; 12];
            r.emit(&mut AddrChange::new_unchecked(&mut buf[..]));
            prop_assert_eq!(AddrChangeRepr::parse(&AddrChange::new_checked(&buf[..]).unwrap()), r);
        }

        #[test]
        fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            fuzz_argv(&data);
        }

        #[test]
        fn fuzz_words(words in proptest::collection::vec(arb_word(), 0..7)) {
            fuzz_argv(words.join(" ").as_bytes());
        }
    }
}
