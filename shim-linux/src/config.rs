//! The boot-time host setup file of `umlnet up`/`down`/`plan`: a TOML file that declares
//! the host side of each virtual network, and the planner that turns it into steps.
//!
//! The seed ends its TUN/TAP section with the wish for "a little utility which reads the
//! information from a config file and sets up devices at boot time". This is its file:
//!
//! ```toml
//! # Persistent TAP devices, each owned by the user who runs the UML.
//! [[tap]]
//! name = "tap0"                 # the device (eth0=tuntap,tap0,,)
//! user = "uml"                  # owner: a user name or a uid
//! group = "uml"                 # optional: a group allowed to attach too
//! address = "192.168.0.254"     # optional: the host side, as a /32
//! guests = ["192.168.0.253"]    # host route, proxy ARP, published ARP entries
//! publish_on = ["eth0"]         # optional: LAN devices for the published entries
//!                               # (default: the devices whose routes hold the guest)
//!
//! # Switches to start (our uml_switch, or any program taking its flags).
//! [[switch]]
//! socket = "/run/uml.ctl"       # -unix
//! hub = false                   # -hub
//! tap = "tap1"                  # optional: -tap, a TAP declared above
//! mgmt = "/run/uml.mgmt"        # optional: -mgmt console socket
//! vxlan = ["42,10.0.0.1,10.0.0.2"] # optional: -vxlan uplinks to the switches of other
//!                              # hosts: <vni>,<local ip>[:port],<remote ip>[:port]...
//!
//! ip_forward = true             # net.ipv4.ip_forward=1 when guests are routed (default)
//! state_dir = "/run/umlnet"     # what `up` made, for `down` (default)
//! ```
//!
//! [`parse`] reads the file (every error names its line and key), [`HostConfig::plan`]
//! gives the ordered [`Step`]s: for each TAP the core's by-hand plan
//! ([`umlnet_core::host::plan_for`] with [`Setup::Manual`]), then the switches. `Display`
//! of a step is the equivalent command line.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use umlnet_core::cmdline::{DeviceSpec, Transport, Tuntap};
use umlnet_core::host::{GuestAddr, HostAction, HostContext, LanRoute, Setup, if_name, plan_for};

/// The default `state_dir`.
pub const DEFAULT_STATE_DIR: &str = "/run/umlnet";

/// An error in the file: the line (1-based), the key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The line of the offending value (1-based; 0 if unknown).
    pub line: usize,
    /// The key (`tap[1].user`), or empty when the error is not about one key.
    pub key: String,
    /// What is wrong, and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}", self.message),
            (0, false) => write!(f, "key '{}': {}", self.key, self.message),
            (l, true) => write!(f, "line {l}: {}", self.message),
            (l, false) => write!(f, "line {l}, key '{}': {}", self.key, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A user or group: a name or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Id {
    Num(u32),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    ip_forward: Option<bool>,
    state_dir: Option<Spanned<String>>,
    #[serde(default)]
    tap: Vec<Spanned<RawTap>>,
    #[serde(default)]
    switch: Vec<Spanned<RawSwitch>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTap {
    name: Spanned<String>,
    user: Spanned<Id>,
    group: Option<Spanned<Id>>,
    address: Option<Spanned<String>>,
    #[serde(default)]
    guests: Vec<Spanned<String>>,
    publish_on: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwitch {
    socket: Spanned<String>,
    #[serde(default)]
    hub: bool,
    tap: Option<Spanned<String>>,
    mgmt: Option<Spanned<String>>,
    program: Option<Spanned<String>>,
    #[serde(default)]
    vxlan: Vec<Spanned<String>>,
}

/// One persistent TAP device and the guests routed through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapConfig {
    /// The device name.
    pub name: String,
    /// The owner uid.
    pub uid: u32,
    /// The group allowed to attach, if any.
    pub gid: Option<u32>,
    /// The host side's address (a /32), if any.
    pub address: Option<Ipv4Addr>,
    /// The guests' addresses.
    pub guests: Vec<Ipv4Addr>,
    /// The LAN devices to publish the guests' ARP entries on; `None`: found from the
    /// host's routes.
    pub publish_on: Option<Vec<String>>,
}

/// One switch to start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwitchConfig {
    /// The control socket (`-unix`).
    pub socket: PathBuf,
    /// `-hub`.
    pub hub: bool,
    /// `-tap`.
    pub tap: Option<String>,
    /// `-mgmt`.
    pub mgmt: Option<PathBuf>,
    /// The program; `None`: `uml_switch` beside the running `umlnet`, else on `PATH`.
    pub program: Option<PathBuf>,
    /// `-vxlan` uplinks, each checked and in the canonical form
    /// ([`crate::switchd::vxlan::UplinkSpec`]'s `Display`: `42,10.0.0.1:4789,10.0.0.2:4789`).
    pub vxlan: Vec<String>,
}

impl SwitchConfig {
    /// The switch's arguments (after the program name).
    pub fn args(&self) -> Vec<String> {
        let mut v = vec!["-unix".to_string(), self.socket.display().to_string()];
        if self.hub {
            v.push("-hub".into());
        }
        if let Some(t) = &self.tap {
            v.push("-tap".into());
            v.push(t.clone());
        }
        if let Some(m) = &self.mgmt {
            v.push("-mgmt".into());
            v.push(m.display().to_string());
        }
        for u in &self.vxlan {
            v.push("-vxlan".into());
            v.push(u.clone());
        }
        v
    }

    /// The program as configured, or `uml_switch`.
    pub fn program_name(&self) -> String {
        self.program
            .as_ref()
            .map_or_else(|| "uml_switch".into(), |p| p.display().to_string())
    }
}

/// The whole file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The TAP devices, in file order.
    pub taps: Vec<TapConfig>,
    /// The switches, in file order.
    pub switches: Vec<SwitchConfig>,
    /// Whether to turn on IPv4 forwarding when guests are routed.
    pub ip_forward: bool,
    /// Where `up` records what it made.
    pub state_dir: PathBuf,
}

/// One thing `umlnet up` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A host change.
    Host(HostAction),
    /// Start a switch.
    Switch(SwitchConfig),
}

impl fmt::Display for Step {
    /// The equivalent command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Host(a) => write!(f, "{a}"),
            Step::Switch(s) => {
                write!(f, "{}", s.program_name())?;
                for a in s.args() {
                    write!(f, " {a}")?;
                }
                f.write_str(" &")
            }
        }
    }
}

/// The line (1-based) holding byte `at` of `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key written before `=` on the line holding `span`, if any.
fn key_at(text: &str, span: &Range<usize>) -> String {
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

struct Ctx<'a> {
    text: &'a str,
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
        switches.push(SwitchConfig {
            socket,
            hub: s.hub,
            tap,
            mgmt,
            program,
            vxlan,
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

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn quoted_list<T: fmt::Display>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(|i| quoted(&i.to_string())).collect();
    format!("[{}]", inner.join(", "))
}

impl fmt::Display for HostConfig {
    /// The configuration as a file [`parse`] reads back to an equal one (users and
    /// groups as numbers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ip_forward = {}", self.ip_forward)?;
        writeln!(
            f,
            "state_dir = {}",
            quoted(&self.state_dir.to_string_lossy())
        )?;
        for t in &self.taps {
            writeln!(f, "\n[[tap]]\nname = {}\nuser = {}", quoted(&t.name), t.uid)?;
            if let Some(g) = t.gid {
                writeln!(f, "group = {g}")?;
            }
            if let Some(a) = t.address {
                writeln!(f, "address = {}", quoted(&a.to_string()))?;
            }
            if !t.guests.is_empty() {
                writeln!(f, "guests = {}", quoted_list(&t.guests))?;
            }
            if let Some(p) = &t.publish_on {
                writeln!(f, "publish_on = {}", quoted_list(p))?;
            }
        }
        for s in &self.switches {
            writeln!(
                f,
                "\n[[switch]]\nsocket = {}\nhub = {}",
                quoted(&s.socket.to_string_lossy()),
                s.hub
            )?;
            if let Some(t) = &s.tap {
                writeln!(f, "tap = {}", quoted(t))?;
            }
            if let Some(m) = &s.mgmt {
                writeln!(f, "mgmt = {}", quoted(&m.to_string_lossy()))?;
            }
            if let Some(p) = &s.program {
                writeln!(f, "program = {}", quoted(&p.to_string_lossy()))?;
            }
            if !s.vxlan.is_empty() {
                writeln!(f, "vxlan = {}", quoted_list(&s.vxlan))?;
            }
        }
        Ok(())
    }
}

/// Fuzz entry point: [`parse`] never panics; what it accepts prints back (as
/// [`HostConfig`]'s `Display`) to a file that parses to an equal configuration, and an
/// error names a line within the text.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(cfg) => {
            let printed = cfg.to_string();
            let numeric = parse(&printed).expect("a printed configuration parses");
            assert_eq!(numeric, cfg, "{printed}");
            let _ = cfg.plan(&[]);
        }
        Err(e) => assert!(e.line <= text.lines().count() + 1, "{e}"),
    }
}

/// A planning error (too many guests for one plan, and the like), naming the TAP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStepError {
    /// The TAP device.
    pub tap: String,
    /// The core's reason.
    pub error: umlnet_core::host::PlanError,
}

impl fmt::Display for PlanStepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tap '{}': {}", self.tap, self.error)
    }
}

impl std::error::Error for PlanStepError {}

impl HostConfig {
    /// The steps of `umlnet up`, in order: per TAP the device (owner, group), its
    /// address, up, forwarding, then per guest a host route, proxy ARP and published ARP
    /// entries on the LAN devices; then the switches. `routes` are the host's routes,
    /// used to find the LAN devices of a TAP without `publish_on`.
    pub fn plan(&self, routes: &[LanRoute]) -> Result<Vec<Step>, PlanStepError> {
        let mut steps = Vec::new();
        for t in &self.taps {
            let err = |error| PlanStepError {
                tap: t.name.clone(),
                error,
            };
            let dev = if_name(&t.name).map_err(err)?;
            let plan = match t.address {
                Some(gate) => {
                    let own: Vec<LanRoute>;
                    let routes = match &t.publish_on {
                        Some(devs) => {
                            own = devs
                                .iter()
                                .flat_map(|d| {
                                    t.guests
                                        .iter()
                                        .map(move |g| LanRoute::new(d, *g, Ipv4Addr::BROADCAST))
                                })
                                .collect::<Result<_, _>>()
                                .map_err(err)?;
                            &own[..]
                        }
                        None => routes,
                    };
                    let guests: Vec<GuestAddr> = t
                        .guests
                        .iter()
                        .map(|ip| GuestAddr {
                            ip: *ip,
                            netmask: None,
                        })
                        .collect();
                    let spec = DeviceSpec {
                        index: 0,
                        transport: Transport::Tuntap(Tuntap {
                            dev: Some(dev.clone()),
                            mac: None,
                            gate: Some(gate),
                        }),
                    };
                    let ctx = HostContext {
                        uid: t.uid,
                        gid: t.gid,
                        setup: Setup::Manual {
                            gate: None,
                            create_tap: true,
                        },
                        ..HostContext::new(None, &guests, routes)
                    };
                    plan_for(&spec, &ctx).map_err(err)?
                }
                None => {
                    let mut p = umlnet_core::host::Plan::new();
                    p.push(HostAction::CreateTap(umlnet_core::host::Tap {
                        name: Some(dev.clone()),
                        owner: t.uid,
                        group: t.gid,
                        persistent: true,
                    }))
                    .map_err(err)?;
                    p.push(HostAction::LinkUp { dev }).map_err(err)?;
                    p
                }
            };
            for a in &plan {
                let keep = match a {
                    HostAction::IpForward => {
                        self.ip_forward && !steps.contains(&Step::Host(HostAction::IpForward))
                    }
                    _ => true,
                };
                if keep {
                    steps.push(Step::Host(a.clone()));
                }
            }
        }
        steps.extend(self.switches.iter().cloned().map(Step::Switch));
        Ok(steps)
    }
}

/// The host's routes as the planner wants them (from `/proc/net/route`).
pub fn host_routes() -> std::io::Result<Vec<LanRoute>> {
    Ok(crate::sys::sysctl::routes()?
        .into_iter()
        .filter_map(|r| LanRoute::new(&r.iface, r.dest, r.mask).ok())
        .collect())
}

#[cfg(test)]
mod test {
    use super::*;

    const EXAMPLE: &str = r#"
# the seed's TUN/TAP example
[[tap]]
name = "tap0"
user = 0
address = "192.168.0.254"
guests = ["192.168.0.253"]
publish_on = ["eth0"]

[[tap]]
name = "tap1"
user = "root"
group = 0

[[switch]]
socket = "/run/uml.ctl"
tap = "tap1"
hub = true
"#;

    #[test]
    fn the_example_plans_the_seeds_commands() {
        let cfg = parse(EXAMPLE).unwrap();
        let steps = cfg.plan(&[]).unwrap();
        let text: Vec<String> = steps.iter().map(Step::to_string).collect();
        assert_eq!(
            text,
            [
                "ip tuntap add dev tap0 mode tap user 0",
                "ip addr add 192.168.0.254/32 dev tap0",
                "ip link set dev tap0 up",
                "sysctl -w net.ipv4.ip_forward=1",
                "ip route add 192.168.0.253/32 dev tap0",
                "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
                "ip neigh add proxy 192.168.0.253 dev eth0",
                "ip tuntap add dev tap1 mode tap user 0 group 0",
                "ip link set dev tap1 up",
                "uml_switch -unix /run/uml.ctl -hub -tap tap1 &",
            ]
        );
        assert_eq!(cfg.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
    }

    use proptest::prelude::*;

    fn ip() -> impl Strategy<Value = Ipv4Addr> {
        any::<u32>().prop_map(Ipv4Addr::from_bits)
    }

    fn tap() -> impl Strategy<Value = TapConfig> {
        (
            "[a-z][a-z0-9_-]{0,9}",
            any::<u32>(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(ip()),
            proptest::collection::vec(ip(), 0..4),
            proptest::option::of(proptest::collection::vec("[a-z][a-z0-9.]{0,9}", 0..3)),
        )
            .prop_map(|(name, uid, gid, address, guests, publish_on)| TapConfig {
                name,
                uid,
                gid,
                guests: match address {
                    Some(a) => guests.into_iter().filter(|g| *g != a).collect(),
                    None => Vec::new(),
                },
                address,
                publish_on,
            })
    }

    fn switch() -> impl Strategy<Value = SwitchConfig> {
        (
            "/[a-z \"\\\\]{1,8}/[a-z.]{1,8}",
            any::<bool>(),
            proptest::option::of("[a-z][a-z0-9]{0,9}"),
            proptest::option::of("/[a-z]{1,8}"),
            proptest::option::of("/usr/[a-z_]{1,8}"),
            proptest::collection::vec((0u32..=0xff_ffff, 1u8..255, 1u16..), 0..3),
        )
            .prop_map(|(socket, hub, tap, mgmt, program, vxlan)| SwitchConfig {
                socket: socket.into(),
                hub,
                tap,
                mgmt: mgmt.map(PathBuf::from),
                program: program.map(PathBuf::from),
                vxlan: vxlan
                    .into_iter()
                    .map(|(vni, host, port)| format!("{vni},10.0.0.1:4789,10.0.1.{host}:{port}"))
                    .collect(),
            })
    }

    fn config() -> impl Strategy<Value = HostConfig> {
        (
            proptest::collection::vec(tap(), 0..4),
            proptest::collection::vec(switch(), 0..3),
            any::<bool>(),
            "/[a-z]{1,8}",
        )
            .prop_map(|(mut taps, mut switches, ip_forward, state_dir)| {
                // Names and sockets must be unique.
                for (i, t) in taps.iter_mut().enumerate() {
                    t.name = format!("{}{i}", t.name);
                }
                for (i, s) in switches.iter_mut().enumerate() {
                    s.socket = PathBuf::from(format!("{}{i}", s.socket.display()));
                }
                HostConfig {
                    taps,
                    switches,
                    ip_forward,
                    state_dir: state_dir.into(),
                }
            })
    }

    proptest! {
        #[test]
        fn print_then_parse_is_identity(cfg in config()) {
            let text = cfg.to_string();
            prop_assert_eq!(parse(&text), Ok(cfg), "{}", text);
        }

        #[test]
        fn any_text_parses_or_names_a_line_without_panicking(text in "\\PC{0,200}") {
            fuzz_one(text.as_bytes());
        }

        #[test]
        fn printed_configs_survive_the_fuzz_checks(cfg in config()) {
            fuzz_one(cfg.to_string().as_bytes());
        }
    }

    #[test]
    fn the_fuzz_corpus_holds() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/config");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            fuzz_one(&std::fs::read(e.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n >= 4);
    }

    #[test]
    fn switch_uplinks_become_vxlan_flags_in_canonical_form() {
        let cfg = parse(
            "[[switch]]\nsocket = \"/run/uml.ctl\"\nvxlan = [\"42,10.0.0.1,10.0.0.2\", \"43,10.0.0.1:5000,10.0.0.3:4790,10.0.0.4\"]\n",
        )
        .unwrap();
        assert_eq!(
            cfg.switches[0].args(),
            [
                "-unix",
                "/run/uml.ctl",
                "-vxlan",
                "42,10.0.0.1:4789,10.0.0.2:4789",
                "-vxlan",
                "43,10.0.0.1:5000,10.0.0.3:4790,10.0.0.4:4789"
            ]
        );
        let steps = cfg.plan(&[]).unwrap();
        assert_eq!(
            steps.last().unwrap().to_string(),
            "uml_switch -unix /run/uml.ctl -vxlan 42,10.0.0.1:4789,10.0.0.2:4789 \
             -vxlan 43,10.0.0.1:5000,10.0.0.3:4790,10.0.0.4:4789 &"
        );
        // What uml_switch itself reads back from those flags.
        let mut argv = vec![std::ffi::OsString::from("uml_switch")];
        argv.extend(cfg.switches[0].args().into_iter().map(Into::into));
        let crate::switchd::Invocation::Run(sw) = crate::switchd::parse_args(&argv) else {
            panic!("uml_switch refuses {argv:?}");
        };
        assert_eq!(sw.vxlan.len(), 2);
        assert_eq!(sw.vxlan[1].remotes.len(), 2);
        let e = error("[[switch]]\nsocket = \"/run/uml.ctl\"\nvxlan = [\n  \"42,10.0.0.1\",\n]\n");
        assert_eq!((e.line, e.key.as_str()), (4, "switch[0].vxlan[0]"), "{e}");
        assert!(
            e.message
                .contains("<vni>,<local ip>[:port],<remote ip>[:port]"),
            "{e}"
        );
    }

    #[test]
    fn the_contrib_example_parses_and_plans() {
        let cfg = parse(include_str!("../../contrib/umlnet.example.toml")).unwrap();
        assert_eq!(cfg.taps.len(), 2);
        assert_eq!(cfg.switches[0].tap.as_deref(), Some("tap1"));
        let steps = cfg.plan(&[]).unwrap();
        assert_eq!(
            steps.last().unwrap().to_string(),
            "uml_switch -unix /run/uml.ctl -tap tap1 &"
        );
    }

    #[test]
    fn lan_devices_come_from_the_host_routes_without_publish_on() {
        let cfg = parse(
            "[[tap]]\nname = \"tap0\"\nuser = 0\naddress = \"10.0.0.254\"\nguests = [\"10.0.0.1\", \"10.0.0.2\"]\nip_forward = false\n"
                .replace("ip_forward = false\n", "")
                .as_str(),
        )
        .unwrap();
        let routes = [
            LanRoute::new("lan0", [10, 0, 0, 0].into(), [255, 255, 255, 0].into()).unwrap(),
            LanRoute::new("wan0", [0, 0, 0, 0].into(), [0, 0, 0, 0].into()).unwrap(),
        ];
        let text: String = cfg
            .plan(&routes)
            .unwrap()
            .iter()
            .map(|s| format!("{s}\n"))
            .collect();
        assert!(
            text.contains("ip neigh add proxy 10.0.0.1 dev lan0\n"),
            "{text}"
        );
        assert!(
            text.contains("ip neigh add proxy 10.0.0.2 dev lan0\n"),
            "{text}"
        );
        assert!(!text.contains("wan0"), "{text}");
    }

    #[test]
    fn ip_forward_false_leaves_forwarding_alone() {
        let cfg = parse(
            "ip_forward = false\n[[tap]]\nname = \"tap0\"\nuser = 0\naddress = \"10.0.0.254\"\n",
        )
        .unwrap();
        let steps = cfg.plan(&[]).unwrap();
        assert!(!steps.contains(&Step::Host(HostAction::IpForward)));
        assert_eq!(steps.len(), 3);
    }

    fn error(text: &str) -> ConfigError {
        parse(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let e = error("[[tap]]\nname = \"tap0\"\nuser = 0\naddress = \"192.168.0.300\"\n");
        assert_eq!((e.line, e.key.as_str()), (4, "tap[0].address"), "{e}");
        assert_eq!(
            e.to_string(),
            "line 4, key 'tap[0].address': '192.168.0.300' is not an IPv4 address (like 192.168.0.254)"
        );

        let e = error("\n\n[[tap]]\nname = \"tap0\"\nuser = 0\nadress = \"1.2.3.4\"\n");
        assert_eq!((e.line, e.key.as_str()), (6, "adress"), "{e}");
        assert!(e.message.contains("unknown field `adress`"), "{e}");

        let e = error("[[tap]]\nname = \"tap0\"\nuser = \"no-such-user-here\"\n");
        assert_eq!((e.line, e.key.as_str()), (3, "tap[0].user"), "{e}");

        let e = error("[[tap]]\nname = \"a/b\"\nuser = 0\n");
        assert_eq!((e.line, e.key.as_str()), (2, "tap[0].name"), "{e}");

        let e = error("[[tap]]\nname = \"tap0\"\nuser = 0\nguests = [\"1.2.3.4\"]\n");
        assert_eq!((e.line, e.key.as_str()), (4, "tap[0].guests"), "{e}");
        assert!(e.message.contains("add address"), "{e}");

        let e = error("[[tap]]\nname = \"t\"\nuser = 0\n[[tap]]\nname = \"t\"\nuser = 1\n");
        assert_eq!((e.line, e.key.as_str()), (5, "tap[1].name"), "{e}");

        let e = error("[[switch]]\nsocket = \"relative.ctl\"\n");
        assert_eq!((e.line, e.key.as_str()), (2, "switch[0].socket"), "{e}");

        let e = error("ip_forward = \"yes\"\n");
        assert_eq!((e.line, e.key.as_str()), (1, "ip_forward"), "{e}");

        let e = error(
            "[[tap]]\nname = \"tap0\"\n\nuser = 0\naddress = \"10.0.0.1\"\nguests = [\"10.0.0.1\"]\n",
        );
        assert_eq!((e.line, e.key.as_str()), (6, "tap[0].guests"), "{e}");
        assert!(e.message.contains("must be different"), "{e}");

        // A syntax error.
        let e = error("[[tap]]\nname = \"tap0\nuser = 0\n");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn a_missing_key_names_its_table() {
        let e = error("ip_forward = true\n\n[[tap]]\nname = \"tap0\"\n");
        assert!(e.message.contains("missing field `user`"), "{e}");
        assert!(e.line >= 3, "{e}");
    }
}
