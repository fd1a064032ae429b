//! Reading a config file: the TOML as written (`Raw*`), checked into a
//! [`HostConfig`] with errors that name the line and the key.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use umlnet_core::host::if_name;

use super::error::ConfigError;
use super::{DEFAULT_STATE_DIR, HostConfig, RunAs, SwitchConfig, TapConfig};

/// A user or group: a name or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Id {
    Num(u32),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) ip_forward: Option<bool>,
    pub(super) state_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) tap: Vec<Spanned<RawTap>>,
    #[serde(default)]
    pub(super) switch: Vec<Spanned<RawSwitch>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTap {
    pub(super) name: Spanned<String>,
    pub(super) user: Spanned<Id>,
    pub(super) group: Option<Spanned<Id>>,
    pub(super) address: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) guests: Vec<Spanned<String>>,
    publish_on: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSwitch {
    pub(super) socket: Spanned<String>,
    #[serde(default)]
    pub(super) hub: bool,
    pub(super) tap: Option<Spanned<String>>,
    pub(super) mgmt: Option<Spanned<String>>,
    pub(super) program: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) vxlan: Vec<Spanned<String>>,
    pub(super) user: Option<Spanned<Id>>,
    pub(super) mode: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<Id>>,
    pub(super) max_ports_per_user: Option<Spanned<i64>>,
}

/// The line (1-based) holding byte `at` of `text`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key written before `=` on the line holding `span`, if any.
pub(super) fn key_at(text: &str, span: &Range<usize>) -> String {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let line = line.split('\n').next().unwrap_or("");
    match line.split_once('=') {
        Some((k, _)) if !k.trim_start().starts_with('[') => k.trim().to_string(),
        _ => {
            let t = line.trim();
            t.trim_matches(|c| c == '[' || c == ']').trim().to_string()
        }
    }
}

pub(super) struct Ctx<'a> {
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        msg: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            line: line_of(self.text, span.start),
            key: key.into(),
            message: msg.into(),
        }
    }

    fn ip(&self, v: &Spanned<String>, key: &str) -> Result<Ipv4Addr, ConfigError> {
        v.get_ref().parse().map_err(|_| {
            self.err(
                v.span(),
                key,
                format!(
                    "'{}' is not an IPv4 address (like 192.168.0.254)",
                    v.get_ref()
                ),
            )
        })
    }

    fn dev(&self, v: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        if_name(v.get_ref())
            .map(|n| n.as_str().to_string())
            .map_err(|e| self.err(v.span(), key, format!("'{}': {e}", v.get_ref())))
    }

    fn user(&self, v: &Spanned<Id>, key: &str) -> Result<u32, ConfigError> {
        match v.get_ref() {
            Id::Num(n) => Ok(*n),
            Id::Name(name) => match nix::unistd::User::from_name(name) {
                Ok(Some(u)) => Ok(u.uid.as_raw()),
                _ => Err(self.err(
                    v.span(),
                    key,
                    format!("no user '{name}' on this host (give a user name or a uid)"),
                )),
            },
        }
    }

    /// A user to run as: its uid and primary gid, from the user database (a uid must
    /// name a user there too, so that its group is known).
    fn run_as(&self, v: &Spanned<Id>, key: &str) -> Result<RunAs, ConfigError> {
        let found = match v.get_ref() {
            Id::Num(n) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(*n)),
            Id::Name(name) => nix::unistd::User::from_name(name),
        };
        match found {
            Ok(Some(u)) => Ok(RunAs {
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
            }),
            _ => {
                let what = match v.get_ref() {
                    Id::Num(n) => format!("uid {n}"),
                    Id::Name(name) => format!("user '{name}'"),
                };
                Err(self.err(
                    v.span(),
                    key,
                    format!(
                        "no {what} on this host: the switch runs as a user of /etc/passwd \
                         (its primary group is the switch's group); create it or name another"
                    ),
                ))
            }
        }
    }

    /// Permission bits written in octal, like `"0660"`.
    fn mode(&self, v: &Spanned<String>, key: &str) -> Result<u32, ConfigError> {
        let t = v.get_ref();
        match u32::from_str_radix(t, 8) {
            Ok(m) if m <= 0o777 && !t.is_empty() => Ok(m),
            _ => Err(self.err(
                v.span(),
                key,
                format!(
                    "'{t}' is not octal permission bits from 0 to 0777: \
                     write them as a string, like mode = \"0660\""
                ),
            )),
        }
    }

    /// A number of the switch's ports, from 0 to all of them.
    fn port_count(&self, v: &Spanned<i64>, key: &str) -> Result<usize, ConfigError> {
        let max = crate::switchd::PORT_SLOTS;
        match usize::try_from(*v.get_ref()) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(self.err(
                v.span(),
                key,
                format!("{} is not a number of ports from 0 to {max}", v.get_ref()),
            )),
        }
    }

    fn group(&self, v: &Spanned<Id>, key: &str) -> Result<u32, ConfigError> {
        match v.get_ref() {
            Id::Num(n) => Ok(*n),
            Id::Name(name) => match nix::unistd::Group::from_name(name) {
                Ok(Some(g)) => Ok(g.gid.as_raw()),
                _ => Err(self.err(
                    v.span(),
                    key,
                    format!("no group '{name}' on this host (give a group name or a gid)"),
                )),
            },
        }
    }

    fn path(&self, v: &Spanned<String>, key: &str) -> Result<PathBuf, ConfigError> {
        let p = PathBuf::from(v.get_ref());
        if !p.is_absolute() {
            return Err(self.err(
                v.span(),
                key,
                format!("'{}' must be an absolute path", v.get_ref()),
            ));
        }
        Ok(p)
    }
}

/// Reads and checks a config file's text. Errors name the line and the key.
pub fn parse(text: &str) -> Result<HostConfig, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let mut message = e.message().trim().to_string();
        if message.starts_with("unknown field") {
            message.push_str(" (see contrib/umlnet.example.toml)");
        }
        ConfigError {
            line: if e.span().is_some() {
                line_of(text, span.start)
            } else {
                0
            },
            key: if e.span().is_some() {
                key_at(text, &span)
            } else {
                String::new()
            },
            message,
        }
    })?;
    let c = Ctx { text };
    let mut taps = Vec::new();
    let mut names = BTreeSet::new();
    for (i, t) in raw.tap.iter().enumerate() {
        let t = t.get_ref();
        let k = |f: &str| format!("tap[{i}].{f}");
        let name = c.dev(&t.name, &k("name"))?;
        if !names.insert(name.clone()) {
            return Err(c.err(
                t.name.span(),
                k("name"),
                format!("'{name}' is declared twice"),
            ));
        }
        let uid = c.user(&t.user, &k("user"))?;
        let gid = t
            .group
            .as_ref()
            .map(|g| c.group(g, &k("group")))
            .transpose()?;
        let address = t
            .address
            .as_ref()
            .map(|a| c.ip(a, &k("address")))
            .transpose()?;
        let mut guests = Vec::new();
        for g in &t.guests {
            let ip = c.ip(g, &k("guests"))?;
            if Some(ip) == address {
                return Err(c.err(
                    g.span(),
                    k("guests"),
                    format!("the tap IP address and the UML eth IP address must be different (both are {ip})"),
                ));
            }
            guests.push(ip);
        }
        if address.is_none()
            && let Some(g) = t.guests.first()
        {
            return Err(c.err(
                g.span(),
                k("guests"),
                "guests are routed through the tap's host-side address: add address = \"<host side>\"",
            ));
        }
        let publish_on = match &t.publish_on {
            Some(list) => Some(
                list.iter()
                    .map(|d| c.dev(d, &k("publish_on")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        taps.push(TapConfig {
            name,
            uid,
            gid,
            address,
            guests,
            publish_on,
        });
    }
    let mut switches = Vec::new();
    let mut sockets = BTreeSet::new();
    for (i, s) in raw.switch.iter().enumerate() {
        let s = s.get_ref();
        let k = |f: &str| format!("switch[{i}].{f}");
        let socket = c.path(&s.socket, &k("socket"))?;
        if !sockets.insert(socket.clone()) {
            return Err(c.err(
                s.socket.span(),
                k("socket"),
                format!("'{}' is used by two switches", socket.display()),
            ));
        }
        let tap = s.tap.as_ref().map(|t| c.dev(t, &k("tap"))).transpose()?;
        let mgmt = s.mgmt.as_ref().map(|m| c.path(m, &k("mgmt"))).transpose()?;
        let program = s
            .program
            .as_ref()
            .map(|p| c.path(p, &k("program")))
            .transpose()?;
        let mut vxlan = Vec::with_capacity(s.vxlan.len());
        for (j, u) in s.vxlan.iter().enumerate() {
            let spec = u
                .get_ref()
                .parse::<crate::switchd::vxlan::UplinkSpec>()
                .map_err(|e| c.err(u.span(), k(&format!("vxlan[{j}]")), e.to_string()))?;
            vxlan.push(spec.to_string());
        }
        let run_as = s
            .user
            .as_ref()
            .map(|u| c.run_as(u, &k("user")))
            .transpose()?;
        let mode = s.mode.as_ref().map(|m| c.mode(m, &k("mode"))).transpose()?;
        let group = s
            .group
            .as_ref()
            .map(|g| c.group(g, &k("group")))
            .transpose()?;
        let max_ports_per_user = s
            .max_ports_per_user
            .as_ref()
            .map(|n| c.port_count(n, &k("max_ports_per_user")))
            .transpose()?;
        switches.push(SwitchConfig {
            socket,
            hub: s.hub,
            tap,
            mgmt,
            program,
            vxlan,
            run_as,
            mode,
            group,
            max_ports_per_user,
        });
    }
    let state_dir = match &raw.state_dir {
        Some(d) => c.path(d, "state_dir")?,
        None => PathBuf::from(DEFAULT_STATE_DIR),
    };
    Ok(HostConfig {
        taps,
        switches,
        ip_forward: raw.ip_forward.unwrap_or(true),
        state_dir,
    })
}
