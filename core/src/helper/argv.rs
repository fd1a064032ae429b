//! The argv grammar: [`HelperCall::parse`] for every form the original helper accepts,
//! and the argv [`HelperCall`] prints back to.

use core::fmt::{self, Write as _};

use super::arg::{parse_word, strtoul0};
use super::{
    AddrOp, Arg, Argv, ArgvError, Command, Expected, HelperCall, IfName, Transport,
    UML_NET_VERSION, parse_fd, parse_if_name, parse_ipv4, parse_netmask, parse_tap_name,
};

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

pub(super) fn tap(s: &str) -> Option<IfName> {
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
