//! The parser: one `eth<n>=…` or `vec<n>:…` argument read the way the 6.1 kernel reads it
//! ([`parse`]).

use crate::ifname::{self, NameError, WhiteSpace};
use crate::mac::{self, LaxMacError, MacAddr, MacError, MacWarning};
use crate::num::{Dialect, strtoul};
use core::net::Ipv4Addr;
use core::str::FromStr;
use nom::IResult;
use nom::bytes::complete::{tag, take_till};

use super::{
    DEFAULT_DAEMON_SOCK_TYPE, DEFAULT_MCAST_GROUP, DEFAULT_MCAST_PORT, DEFAULT_MCAST_TTL,
    DEFAULT_UCAST_PORT, Daemon, DeviceSpec, Error, ErrorKind, Ethertap, Field, IfName, MacQuirk,
    Mcast, Parsed, SLIRP_MAX_ARGS, SOCK_TYPE_MAX, Slip, Slirp, SocketPath, Span, Transport,
    TransportKind, Tuntap, Ucast, Vde, Warning, Warnings,
};

#[cfg(feature = "vector")]
#[path = "parse_vector.rs"]
mod vector;

type NomResult<'a> = IResult<&'a str, &'a str, ()>;

/// Parses one `eth<n>=…` or `vec<n>:…` argument on its own (see [`CmdlineChecker`](super::CmdlineChecker) for
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
pub(super) enum MacField {
    /// The argument never got as far as the field split.
    NotReached,
    /// Split, with the MAC field empty.
    Empty,
    /// Split, with a MAC the kernel takes (`Some`) or refuses (`None`).
    Given(Option<MacAddr>),
}

pub(super) struct Cx<'a> {
    arg: &'a str,
    pub(super) index: Option<u32>,
    pub(super) number: Span,
    pub(super) vector: bool,
    pub(super) transport: Option<TransportKind>,
    pub(super) warnings: Warnings,
    pub(super) mac_field: MacField,
}

/// A whole field read as `simple_strtoul(field, &end, base)` with `*end == '\0'` required.
fn whole_number(field: &str, base: u32) -> Option<u64> {
    let (v, n) = strtoul(field.as_bytes(), base, Dialect::Kernel);
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

impl<'a> Cx<'a> {
    pub(super) fn new(arg: &'a str) -> Self {
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

    pub(super) fn err(&self, kind: ErrorKind, field: Option<Field>, found: &str) -> Error {
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

    pub(super) fn argument(&mut self) -> Result<DeviceSpec, Error> {
        let arg = self.arg;
        let (rest, vector) = if let Ok((rest, _)) = tag::<_, _, ()>("eth")(arg) {
            (rest, false)
        } else if let Ok((rest, _)) = tag::<_, _, ()>("vec")(arg) {
            (rest, true)
        } else {
            return Err(self.err(ErrorKind::NotNetworkArgument, None, arg));
        };
        self.vector = vector;
        let (value, consumed) = strtoul(rest.as_bytes(), 0, Dialect::Kernel);
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
            self.vector_argument(value)?
        } else {
            self.transport(value)?
        };
        Ok(DeviceSpec { index, transport })
    }

    /// The options of a `vec<n>:` argument, with the `vec<n>:` grammar built in.
    #[cfg(feature = "vector")]
    fn vector_argument(&mut self, value: &'a str) -> Result<Transport, Error> {
        self.vector_options(value)
    }

    /// Without the `vec<n>:` grammar (the core's `vector` feature off), every `vec<n>:`
    /// argument is refused, naming the argument.
    #[cfg(not(feature = "vector"))]
    fn vector_argument(&mut self, value: &'a str) -> Result<Transport, Error> {
        self.transport = Some(TransportKind::Vector);
        Err(self.err(ErrorKind::VectorNotBuilt, None, value))
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
        if let Err(NameError::Dot | NameError::Forbidden) = ifname::check(text, WhiteSpace::Ascii) {
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
}

// `TransportKind::from_name` never yields `Vector`; this keeps the match total without
// a panic path.
fn unreachable_vector() -> Transport {
    Transport::Slip(Slip { gate: None })
}
