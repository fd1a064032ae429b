//! The firmware's kernel command line, read the way UML reads its own.
//!
//! Words are separated by spaces. `eth<n>=…` words go through the core's grammar
//! ([`umlnet_core::cmdline::CmdlineChecker`]: the same transports, fields, MAC rules,
//! warnings and errors as a UML kernel), and the transport picks the board port that
//! carries the interface ([`BoardPort`]): `slip` the second serial line, every other
//! transport the Ethernet controller (which the emulator or the wiring plugs into the
//! switch, so the transport's host-side fields say where the *host* end goes). `ip=`
//! configures an interface, as the kernel's `ip=` does:
//!
//! * `ip=<address>[/<prefix>]`: eth0's address (classful netmask without a prefix);
//! * `ip=<client>:<server>:<gateway>:<netmask>[:<hostname>[:<device>[:…]]]`, the
//!   kernel's long form (`Documentation/admin-guide/nfs/nfsroot.rst`): the client
//!   address, an optional default gateway and netmask, and the device (`eth0` when
//!   empty); the server and hostname are accepted and unused;
//! * `ip=off` or `ip=none`: no address.
//!
//! Every other word (`mem=`, `quiet`, the program name QEMU puts first) is left alone,
//! as the kernel leaves unknown words to init.
//!
//! ```
//! use umlnet_baremetal::boot::{BootConfig, BoardPort};
//! use core::net::Ipv4Addr;
//!
//! let c = BootConfig::parse("fw.elf eth0=daemon,fe:fd:0a:00:00:05 ip=10.0.0.5/24").unwrap();
//! assert_eq!(c.devices[0].spec.index, 0);
//! assert_eq!(BoardPort::of(&c.devices[0].spec), BoardPort::Ethernet);
//! assert_eq!(c.ips[0].addr, Ipv4Addr::new(10, 0, 0, 5));
//! assert_eq!(c.ips[0].prefix_len, Some(24));
//!
//! let e = BootConfig::parse("eth0=daemon ip=10.0.0.300").unwrap_err();
//! assert_eq!(e.to_string(), "ip=10.0.0.300: the client address is not an IPv4 address \
//!     (expected ip=<address>[/<prefix>] or ip=<client>:<server>:<gateway>:<netmask>[:<host>[:eth<n>]], \
//!     e.g. ip=10.0.0.5/24)");
//! ```

use core::fmt;
use core::net::Ipv4Addr;
use umlnet_core::cmdline::{self, CmdlineChecker, DeviceSpec, Parsed, TransportKind};

/// The most `eth<n>=` devices a command line may configure (the board has two ports).
pub const MAX_DEVICES: usize = 2;

/// Which port of the board carries an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardPort {
    /// The Ethernet controller (LAN9118).
    Ethernet,
    /// The second serial line (UART1), with SLIP framing.
    Serial,
}

impl BoardPort {
    /// The port for an `eth<n>=` device: `slip` the serial line, any other transport
    /// Ethernet.
    pub fn of(spec: &DeviceSpec) -> BoardPort {
        match spec.transport.kind() {
            TransportKind::Slip => BoardPort::Serial,
            _ => BoardPort::Ethernet,
        }
    }
}

/// An `ip=` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpConfig {
    /// `<n>` of the `eth<n>` it configures.
    pub device: u32,
    /// The interface address.
    pub addr: Ipv4Addr,
    /// The prefix length, or `None` for the classful one.
    pub prefix_len: Option<u8>,
    /// A default gateway.
    pub gateway: Option<Ipv4Addr>,
}

/// What a command line configures.
#[derive(Debug, Clone, Default)]
pub struct BootConfig {
    /// The `eth<n>=` devices, in order, with their warnings.
    pub devices: heapless::Vec<Parsed, MAX_DEVICES>,
    /// The `ip=` words, in order.
    pub ips: heapless::Vec<IpConfig, MAX_DEVICES>,
}

/// What is wrong with an `ip=` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpError {
    /// The client address is missing or not an IPv4 address.
    BadAddress,
    /// The `/<prefix>` is not a number 0-32.
    BadPrefix,
    /// The gateway is not an IPv4 address.
    BadGateway,
    /// The netmask is not an IPv4 address with contiguous ones.
    BadNetmask,
    /// The device is not `eth<n>`.
    BadDevice,
    /// `dhcp`, `bootp`, `rarp`, `any`, `on`: the firmware has no DHCP client.
    Autoconf,
}

impl fmt::Display for IpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IpError::BadAddress => "the client address is not an IPv4 address",
            IpError::BadPrefix => "the prefix after '/' is not a number 0-32",
            IpError::BadGateway => "the gateway (third field) is not an IPv4 address",
            IpError::BadNetmask => {
                "the netmask (fourth field) is not a netmask such as 255.255.255.0"
            }
            IpError::BadDevice => "the device (sixth field) is not eth<n>",
            IpError::Autoconf => {
                "automatic configuration (DHCP, BOOTP, RARP) is not built in: give the address"
            }
        })
    }
}

/// Why a command line was refused; each names the word at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootError<'a> {
    /// An `eth<n>=` word the core's grammar refused.
    Device {
        /// The word.
        word: &'a str,
        /// The grammar's error.
        error: cmdline::Error,
    },
    /// More `eth<n>=` words than the board has ports.
    TooManyDevices {
        /// The first word too many.
        word: &'a str,
    },
    /// A second device on a port that is taken.
    PortTaken {
        /// The word.
        word: &'a str,
        /// The port.
        port: BoardPort,
    },
    /// A bad `ip=` word.
    Ip {
        /// The word.
        word: &'a str,
        /// What is wrong with it.
        why: IpError,
    },
    /// A `vec<n>:` word: the vector transports need a host's sockets and raw devices.
    NoVectorDevices {
        /// The word.
        word: &'a str,
    },
    /// An `ip=` word for a device that no `eth<n>=` word creates.
    NoSuchDevice {
        /// The word.
        word: &'a str,
        /// The device it names.
        index: u32,
    },
}

impl fmt::Display for BootError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Device { word, error } => write!(f, "{}", error.display(word)),
            BootError::TooManyDevices { word } => write!(
                f,
                "{word}: this board has {MAX_DEVICES} ports (Ethernet, and a SLIP serial line); \
                 give at most {MAX_DEVICES} eth<n>= words"
            ),
            BootError::PortTaken { word, port } => write!(
                f,
                "{word}: the board's {} is taken by an earlier eth<n>= word ({})",
                match port {
                    BoardPort::Ethernet => "Ethernet controller",
                    BoardPort::Serial => "SLIP serial line",
                },
                match port {
                    BoardPort::Ethernet => "one Ethernet transport such as daemon",
                    BoardPort::Serial => "one slip device",
                }
            ),
            BootError::Ip { word, why } => write!(
                f,
                "{word}: {why} (expected ip=<address>[/<prefix>] or \
                 ip=<client>:<server>:<gateway>:<netmask>[:<host>[:eth<n>]], e.g. ip=10.0.0.5/24)"
            ),
            BootError::NoVectorDevices { word } => write!(
                f,
                "{word}: vec<n>: devices need a host (sockets, raw devices); on this board \
                 give eth<n>= (e.g. eth0=daemon for the Ethernet port, eth1=slip for the serial line)"
            ),
            BootError::NoSuchDevice { word, index } => write!(
                f,
                "{word}: there is no eth{index}; add an eth{index}=<transport> word before it"
            ),
        }
    }
}

impl BootConfig {
    /// Reads a whole command line.
    pub fn parse(line: &str) -> Result<BootConfig, BootError<'_>> {
        let mut config = BootConfig::default();
        let mut checker = CmdlineChecker::new();
        let mut ports: heapless::Vec<BoardPort, MAX_DEVICES> = heapless::Vec::new();
        let mut ip_words: heapless::Vec<&str, MAX_DEVICES> = heapless::Vec::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if let Some(value) = word.strip_prefix("ip=") {
                let Some(ip) = parse_ip(value).map_err(|why| BootError::Ip { word, why })? else {
                    continue;
                };
                if config.ips.push(ip).is_err() || ip_words.push(word).is_err() {
                    return Err(BootError::TooManyDevices { word });
                }
                continue;
            }
            let Some(result) = checker.check(word) else {
                continue;
            };
            let parsed = result.map_err(|error| {
                // The firmware's core is built without the `vec<n>:` grammar, which
                // refuses every `vec<n>:` word (`ErrorKind::VectorNotBuilt`).
                if error.vector {
                    BootError::NoVectorDevices { word }
                } else {
                    BootError::Device { word, error }
                }
            })?;
            if parsed.spec.transport.kind() == TransportKind::Vector {
                return Err(BootError::NoVectorDevices { word });
            }
            let port = BoardPort::of(&parsed.spec);
            if ports.contains(&port) {
                return Err(BootError::PortTaken { word, port });
            }
            if ports.push(port).is_err() || config.devices.push(parsed).is_err() {
                return Err(BootError::TooManyDevices { word });
            }
        }
        for (ip, word) in config.ips.iter().zip(ip_words) {
            if !config.devices.iter().any(|d| d.spec.index == ip.device) {
                return Err(BootError::NoSuchDevice {
                    word,
                    index: ip.device,
                });
            }
        }
        Ok(config)
    }
}

/// One `ip=` value: `None` for `off`/`none`.
fn parse_ip(value: &str) -> Result<Option<IpConfig>, IpError> {
    match value {
        "off" | "none" => return Ok(None),
        "dhcp" | "bootp" | "rarp" | "any" | "on" | "both" => return Err(IpError::Autoconf),
        _ => {}
    }
    let mut fields = value.split(':');
    let client = fields.next().unwrap_or("");
    let (addr, mut prefix_len) = match client.split_once('/') {
        Some((a, p)) => (a, Some(parse_prefix(p).ok_or(IpError::BadPrefix)?)),
        None => (client, None),
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| IpError::BadAddress)?;
    let _server = fields.next();
    let gateway = match fields.next() {
        None | Some("") => None,
        Some(g) => Some(g.parse().map_err(|_| IpError::BadGateway)?),
    };
    match fields.next() {
        None | Some("") => {}
        Some(m) => {
            let mask: Ipv4Addr = m.parse().map_err(|_| IpError::BadNetmask)?;
            let bits = mask.to_bits();
            if bits.leading_ones() + bits.trailing_zeros() != 32 {
                return Err(IpError::BadNetmask);
            }
            prefix_len = Some(bits.leading_ones() as u8);
        }
    }
    let _hostname = fields.next();
    let device = match fields.next() {
        None | Some("") => 0,
        Some(d) => parse_eth(d).ok_or(IpError::BadDevice)?,
    };
    if let Some("dhcp" | "bootp" | "rarp" | "any" | "on" | "both") = fields.next() {
        return Err(IpError::Autoconf);
    }
    Ok(Some(IpConfig {
        device,
        addr,
        prefix_len,
        gateway,
    }))
}

fn parse_prefix(p: &str) -> Option<u8> {
    if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok().filter(|&n| n <= 32)
}

/// `eth<n>` with `<n>` in plain decimal (no sign, no leading zero).
fn parse_eth(d: &str) -> Option<u32> {
    let n = d.strip_prefix("eth")?;
    let plain = !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && (n.len() == 1 || !n.starts_with('0'));
    if plain { n.parse().ok() } else { None }
}

/// Fuzz entry point: any bytes as a command line. An accepted line has at most
/// [`MAX_DEVICES`] devices on distinct ports and every `ip=` names one of them; a
/// refused one names a word of the line.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(line) = core::str::from_utf8(data) else {
        return;
    };
    match BootConfig::parse(line) {
        Ok(c) => {
            assert!(c.devices.len() <= MAX_DEVICES);
            for ip in &c.ips {
                assert!(c.devices.iter().any(|d| d.spec.index == ip.device));
                assert!(ip.prefix_len.is_none_or(|p| p <= 32));
            }
            if c.devices.len() == 2 {
                assert_ne!(
                    BoardPort::of(&c.devices[0].spec),
                    BoardPort::of(&c.devices[1].spec)
                );
            }
        }
        Err(e) => {
            let word = match e {
                BootError::Device { word, .. }
                | BootError::TooManyDevices { word }
                | BootError::PortTaken { word, .. }
                | BootError::NoVectorDevices { word }
                | BootError::Ip { word, .. }
                | BootError::NoSuchDevice { word, .. } => word,
            };
            assert!(line.split(' ').any(|w| w == word));
        }
    }
}

#[cfg(test)]
mod test;
