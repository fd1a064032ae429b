//! One line of the policy: a rule, an `include`, or nothing (blank or comment).

use core::fmt;
use core::net::Ipv4Addr;

use crate::ifname::{self, WhiteSpace};

/// The longest line accepted, in bytes.
pub const LINE_MAX: usize = 1024;
/// The longest user or group name accepted, in bytes.
pub const NAME_MAX: usize = 32;
/// The largest `devices N`.
pub const DEVICES_MAX: u16 = 1024;

/// Whether a rule grants or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Effect {
    /// `allow`.
    Allow,
    /// `deny`: wins over every allow.
    Deny,
}

/// Whom a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Subject<'a> {
    /// `user NAME`: the caller's (real uid's) login name.
    User(&'a str),
    /// `group NAME`: one of the caller's groups (real gid or supplementary).
    Group(&'a str),
    /// `everyone`: every caller.
    Everyone,
}

/// An operation of the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Op {
    /// `tuntap up`: a new TAP device handed to the kernel.
    Tuntap,
    /// `ethertap`: a TAP device of a given name, with a relay.
    Ethertap,
    /// `slip up|down`: a SLIP line or a user-space bridge to a TUN device.
    Slip,
    /// `add|del` of guest addresses (argv and ethertap messages).
    Address,
    /// Every operation (in a rule only).
    All,
}

impl Op {
    /// The word of the grammar.
    pub fn word(self) -> &'static str {
        match self {
            Op::Tuntap => "tuntap",
            Op::Ethertap => "ethertap",
            Op::Slip => "slip",
            Op::Address => "address",
            Op::All => "all",
        }
    }

    fn parse(w: &str) -> Option<Op> {
        Some(match w {
            "tuntap" => Op::Tuntap,
            "ethertap" => Op::Ethertap,
            "slip" => Op::Slip,
            "address" => Op::Address,
            "all" => Op::All,
            _ => return None,
        })
    }
}

/// An IPv4 prefix with its host bits clear (`10.0.7.0/24`; a bare address is a /32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Net {
    addr: Ipv4Addr,
    len: u8,
}

impl Net {
    /// A prefix; `None` when `len > 32` or host bits are set.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Net> {
        (len <= 32 && addr.to_bits() & !mask(len) == 0).then_some(Net { addr, len })
    }

    /// The network address.
    pub fn addr(self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(self) -> u8 {
        self.len
    }

    /// Whether `ip` is inside.
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        ip.to_bits() & mask(self.len) == self.addr.to_bits()
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// What a rule grants (or, with [`Effect::Deny`], forbids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Grant<'a> {
    /// `op OP`.
    Op(Op),
    /// `gate NET`: host-side addresses of `tuntap up`, `ethertap`, `slip up`.
    Gate(Net),
    /// `guest NET`: guest addresses that `add` may route and publish.
    Guest(Net),
    /// `publish DEV`: a LAN device that may carry published (proxy) ARP entries.
    Publish(&'a str),
    /// `forward`: may turn on `net.ipv4.ip_forward`.
    Forward,
    /// `devices N`: how many devices the user may hold at once (allow only).
    Devices(u16),
}

impl fmt::Display for Grant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Op(op) => write!(f, "op {}", op.word()),
            Grant::Gate(n) => write!(f, "gate {n}"),
            Grant::Guest(n) => write!(f, "guest {n}"),
            Grant::Publish(d) => write!(f, "publish {d}"),
            Grant::Forward => f.write_str("forward"),
            Grant::Devices(n) => write!(f, "devices {n}"),
        }
    }
}

/// One rule: `allow|deny SUBJECT GRANT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rule<'a> {
    /// Allow or deny.
    pub effect: Effect,
    /// Whom it is about.
    pub subject: Subject<'a>,
    /// What it grants or forbids.
    pub grant: Grant<'a>,
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(n) => write!(f, "user {n}"),
            Subject::Group(n) => write!(f, "group {n}"),
            Subject::Everyone => f.write_str("everyone"),
        }
    }
}

/// The canonical text of the rule, which [`parse_line`] reads back to the same rule.
impl fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = match self.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        write!(f, "{effect} {} {}", self.subject, self.grant)
    }
}

/// A parsed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Line<'a> {
    /// Blank or only a comment.
    Empty,
    /// A rule.
    Rule(Rule<'a>),
    /// `include PATH` (an absolute path).
    Include(&'a str),
}

/// Why a line is not valid; each says what to write instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PolicyError {
    /// Longer than [`LINE_MAX`] bytes.
    TooLong,
    /// The first word is not `allow`, `deny` or `include`.
    UnknownStatement,
    /// `include` without one absolute path.
    BadInclude,
    /// The subject is not `user NAME`, `group NAME` or `everyone`.
    BadSubject,
    /// A user or group name with characters outside `[A-Za-z0-9_.-]`, starting with
    /// `-`, or longer than [`NAME_MAX`].
    BadName,
    /// The grant word is unknown or missing.
    UnknownGrant,
    /// `op` without one of tuntap, ethertap, slip, address, all.
    BadOp,
    /// A prefix that is not `a.b.c.d` or `a.b.c.d/len` (len 0 to 32).
    BadPrefix,
    /// A prefix with host bits set.
    HostBitsSet,
    /// `publish` without a valid interface name (there is no wildcard).
    BadDevice,
    /// `devices` without a number 0 to [`DEVICES_MAX`].
    BadCount,
    /// `deny … devices N`.
    DenyDevices,
    /// Words after the end of the statement.
    TrailingWords,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyError::TooLong => "line longer than 1024 bytes: split it into several rules",
            PolicyError::UnknownStatement => {
                "expected 'allow', 'deny' or 'include' at the start of the line"
            }
            PolicyError::BadInclude => "expected 'include /absolute/path' (one absolute path)",
            PolicyError::BadSubject => "expected 'user NAME', 'group NAME' or 'everyone'",
            PolicyError::BadName => {
                "bad user or group name: 1 to 32 of A-Z a-z 0-9 _ . -, not starting with '-'"
            }
            PolicyError::UnknownGrant => {
                "expected one of 'op', 'gate', 'guest', 'publish', 'forward', 'devices' after the subject"
            }
            PolicyError::BadOp => "expected 'op tuntap|ethertap|slip|address|all'",
            PolicyError::BadPrefix => "expected an IPv4 address or prefix such as 10.0.7.0/24",
            PolicyError::HostBitsSet => {
                "the prefix has host bits set: write its network address (10.0.7.0/24, not 10.0.7.1/24)"
            }
            PolicyError::BadDevice => {
                "expected 'publish DEV' with one interface name (there is no wildcard)"
            }
            PolicyError::BadCount => "expected 'devices N' with N from 0 to 1024",
            PolicyError::DenyDevices => {
                "'devices N' is a limit for allow rules; to take devices away, deny the operations"
            }
            PolicyError::TrailingWords => "unexpected words at the end of the rule",
        })
    }
}

impl core::error::Error for PolicyError {}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= NAME_MAX
        && !n.starts_with('-')
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn parse_net(w: &str) -> Result<Net, PolicyError> {
    let (addr, len) = match w.split_once('/') {
        Some((a, l)) => {
            if l.is_empty() || l.len() > 2 || !l.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyError::BadPrefix);
            }
            let len: u8 = l.parse().map_err(|_| PolicyError::BadPrefix)?;
            (a, len)
        }
        None => (w, 32),
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| PolicyError::BadPrefix)?;
    if len > 32 {
        return Err(PolicyError::BadPrefix);
    }
    Net::new(addr, len).ok_or(PolicyError::HostBitsSet)
}

/// Parses one line (without its newline). A comment starts at `#`; words are separated
/// by ASCII white space.
pub fn parse_line(line: &str) -> Result<Line<'_>, PolicyError> {
    if line.len() > LINE_MAX {
        return Err(PolicyError::TooLong);
    }
    let text = match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    };
    let mut words = text.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(Line::Empty);
    };
    let effect = match first {
        "allow" => Effect::Allow,
        "deny" => Effect::Deny,
        "include" => {
            let path = words.next().ok_or(PolicyError::BadInclude)?;
            if !path.starts_with('/') || words.next().is_some() {
                return Err(PolicyError::BadInclude);
            }
            return Ok(Line::Include(path));
        }
        _ => return Err(PolicyError::UnknownStatement),
    };
    let subject = match words.next() {
        Some("everyone") => Subject::Everyone,
        Some(kind @ ("user" | "group")) => {
            let name = words.next().ok_or(PolicyError::BadSubject)?;
            if !valid_name(name) {
                return Err(PolicyError::BadName);
            }
            if kind == "user" {
                Subject::User(name)
            } else {
                Subject::Group(name)
            }
        }
        _ => return Err(PolicyError::BadSubject),
    };
    let grant = match words.next() {
        Some("op") => Grant::Op(words.next().and_then(Op::parse).ok_or(PolicyError::BadOp)?),
        Some("gate") => Grant::Gate(parse_net(words.next().ok_or(PolicyError::BadPrefix)?)?),
        Some("guest") => Grant::Guest(parse_net(words.next().ok_or(PolicyError::BadPrefix)?)?),
        Some("publish") => {
            let dev = words.next().ok_or(PolicyError::BadDevice)?;
            if ifname::check(dev, WhiteSpace::Unicode).is_err() || dev.contains('*') {
                return Err(PolicyError::BadDevice);
            }
            Grant::Publish(dev)
        }
        Some("forward") => Grant::Forward,
        Some("devices") => {
            let n = words.next().ok_or(PolicyError::BadCount)?;
            if n.is_empty() || n.len() > 4 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyError::BadCount);
            }
            let n: u16 = n.parse().map_err(|_| PolicyError::BadCount)?;
            if n > DEVICES_MAX {
                return Err(PolicyError::BadCount);
            }
            if effect == Effect::Deny {
                return Err(PolicyError::DenyDevices);
            }
            Grant::Devices(n)
        }
        _ => return Err(PolicyError::UnknownGrant),
    };
    if words.next().is_some() {
        return Err(PolicyError::TrailingWords);
    }
    Ok(Line::Rule(Rule {
        effect,
        subject,
        grant,
    }))
}
