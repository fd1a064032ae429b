//! `route`: the routing table as net-tools prints it, and `route add|del` with its
//! argument grammar and error texts.

use super::{CommandOutput, parse_addr_prefix, parse_iface};
use crate::guest::{Guest, iface_name};
use crate::route::{Selector, classful_prefix, prefix_len};
use alloc::string::String;
use core::net::Ipv4Addr;
use umlnet_core::link::Link;

impl<L: Link> Guest<L> {
    pub(super) fn route(&mut self, args: &[&str]) -> CommandOutput {
        let numeric = args.iter().any(|a| a.starts_with('-') && a.contains('n'));
        match args.first().copied() {
            None => CommandOutput::ok(self.routes().format(false, iface_name)),
            Some(a) if a.starts_with('-') && args.len() == 1 => {
                CommandOutput::ok(self.routes().format(numeric, iface_name))
            }
            Some("add") => self.route_change(true, &args[1..]),
            Some("del") => self.route_change(false, &args[1..]),
            Some(_) => route_usage(),
        }
    }

    pub(super) fn route_change(&mut self, add: bool, args: &[&str]) -> CommandOutput {
        let op = if add { "SIOCADDRT" } else { "SIOCDELRT" };
        let spec = match RouteSpec::parse(args) {
            Ok(s) => s,
            Err(out) => return out,
        };
        let dev = match spec.dev {
            Some(name) => match parse_iface(name).filter(|&i| self.interface(i).is_some()) {
                Some(i) => Some(i),
                None => return CommandOutput::err(alloc::format!("{op}: No such device"), 7),
            },
            None => None,
        };
        let result = if add {
            self.add_route(spec.dest, spec.prefix_len, spec.gateway, dev, spec.metric)
        } else {
            self.del_route(&Selector {
                dest: spec.dest,
                prefix_len: spec.prefix_len,
                gateway: spec.gateway,
                iface: dev,
                metric: spec.metric_given.then_some(spec.metric),
            })
            .map(|_| ())
        };
        match result {
            Ok(()) => CommandOutput::ok(String::new()),
            Err(e) => CommandOutput::err(alloc::format!("{op}: {e}"), 7),
        }
    }
}

/// A parsed `route add|del` argument list.
pub(super) struct RouteSpec<'a> {
    pub(super) dest: Ipv4Addr,
    pub(super) prefix_len: u8,
    pub(super) gateway: Option<Ipv4Addr>,
    pub(super) dev: Option<&'a str>,
    pub(super) metric: u32,
    pub(super) metric_given: bool,
}

impl<'a> RouteSpec<'a> {
    pub(super) fn parse(args: &[&'a str]) -> Result<Self, CommandOutput> {
        let mut it = args.iter().copied().peekable();
        let mut kind = None;
        if let Some(&k @ ("-net" | "-host")) = it.peek() {
            kind = Some(k);
            it.next();
        }
        let Some(target) = it.next() else {
            return Err(route_usage());
        };
        let mut netmask = None;
        let mut gateway = None;
        let mut dev = None;
        let mut metric = 0;
        let mut metric_given = false;
        while let Some(a) = it.next() {
            match a {
                "netmask" | "genmask" => {
                    let m = it.next().ok_or_else(route_usage)?;
                    netmask =
                        Some(m.parse().ok().and_then(prefix_len).ok_or_else(|| {
                            route_err(alloc::format!("route: bogus netmask {m}"), 4)
                        })?);
                }
                "gw" | "gateway" => {
                    let g = it.next().ok_or_else(route_usage)?;
                    gateway = Some(g.parse::<Ipv4Addr>().map_err(|_| {
                        route_err(alloc::format!("{g}: Host name lookup failure"), 6)
                    })?);
                }
                "metric" => {
                    let m = it.next().ok_or_else(route_usage)?;
                    metric = m.parse().map_err(|_| route_usage())?;
                    metric_given = true;
                }
                "dev" => dev = Some(it.next().ok_or_else(route_usage)?),
                "mss" | "window" | "irtt" => {
                    it.next().ok_or_else(route_usage)?;
                }
                "mod" | "dyn" | "reinstate" => {}
                other if it.peek().is_none() && dev.is_none() => dev = Some(other),
                _ => return Err(route_usage()),
            }
        }
        let (dest, cidr) = if target == "default" {
            (Ipv4Addr::UNSPECIFIED, Some(0))
        } else {
            parse_addr_prefix(target)
                .ok_or_else(|| route_err(alloc::format!("{target}: Host name lookup failure"), 6))?
        };
        let prefix_len = match (kind, cidr, netmask) {
            (Some("-host"), _, Some(_)) => {
                return Err(route_err(
                    alloc::format!("route: netmask {} and host route conflict", dest),
                    4,
                ));
            }
            (Some("-host"), _, None) => 32,
            (_, Some(c), None) => c,
            (_, Some(c), Some(m)) if c == m => c,
            (_, Some(_), Some(_)) => return Err(route_usage()),
            (_, None, Some(m)) => m,
            (Some("-net"), None, None) => classful_prefix(dest),
            (_, None, None) => 32,
        };
        let m = crate::route::mask(prefix_len).to_bits();
        if dest.to_bits() & !m != 0 {
            let mut out = route_usage();
            out.text
                .insert_str(0, "route: netmask doesn't match route address\n");
            out.status = 3;
            return Err(out);
        }
        Ok(RouteSpec {
            dest,
            prefix_len,
            gateway,
            dev,
            metric,
            metric_given,
        })
    }
}

fn route_err(text: String, status: i32) -> CommandOutput {
    CommandOutput::err(text, status)
}

fn route_usage() -> CommandOutput {
    CommandOutput::err(
        "Usage: inet_route [-vF] del {-host|-net} Target[/prefix] [gw Gw] [metric M] [[dev] If]\n       \
         inet_route [-vF] add {-host|-net} Target[/prefix] [gw Gw] [metric M]\n                              \
         [netmask N] [mss Mss] [window W] [irtt I]\n                              \
         [mod] [dyn] [reinstate] [[dev] If]\n       \
         inet_route [-vF] add {-host|-net} Target[/prefix] [metric M] reject\n       \
         inet_route [-FC] flush      NOT supported",
        4,
    )
}
