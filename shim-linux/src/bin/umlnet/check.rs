//! `umlnet check`: reads UML kernel network arguments the way the 6.1 kernel does and says
//! what each device will be, which defaults apply, and what is wrong or surprising.

#[path = "check_vector.rs"]
mod vector;

use clap::Args;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use umlnet_core::cmdline::{
    CmdlineChecker, DEBIAN_DAEMON_CTL, DeviceSpec, ErrorKind, Parsed, Transport,
    UPSTREAM_DAEMON_CTL, Warning,
};
use umlnet_core::mac::MacAddr;

const EXAMPLES: &str = "\
Examples:
  umlnet check eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254
  umlnet check mem=128M eth0=mcast eth1=daemon,,,/tmp/uml.ctl
  umlnet check --guest-ip eth0=192.168.0.253 eth0=tuntap,,,192.168.0.254
  umlnet check vec0:transport=bess,dst=/run/uml/switch.bess

Arguments that are not eth<n>=… or vec<n>:… are ignored, so a whole UML command line can
be pasted. Exit status: 0 when every device is fine (warnings allowed), 2 when any
argument is refused, naming the field or key; values with which the 6.1 kernel would panic
at ifup are refused with 'ERROR: the 6.1 kernel would PANIC'.";

/// Check UML kernel network arguments (eth<n>=<transport>,<fields>, vec<n>:<key>=<value>,…)
/// before booting.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// The address the guest will give a device, as DEV=IP (e.g. eth0=192.168.0.253),
    /// to show the fe:fd:<ip> MAC the UML networking page derives from it. Repeatable.
    #[arg(long = "guest-ip", value_name = "DEV=IP", value_parser = parse_guest_ip)]
    guest_ip: Vec<(u32, Ipv4Addr)>,

    /// Only check the syntax; do not look at this host (switch sockets, tap devices,
    /// the uml_net helper).
    #[arg(long)]
    no_host_checks: bool,

    /// Kernel command-line arguments, e.g. eth0=mcast.
    #[arg(value_name = "KERNEL_ARG", required = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn parse_guest_ip(s: &str) -> Result<(u32, Ipv4Addr), String> {
    let (dev, ip) = s
        .split_once('=')
        .ok_or_else(|| format!("expected DEV=IP like eth0=192.168.0.253, found '{s}'"))?;
    let n = dev
        .strip_prefix("eth")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("expected a device like eth0, found '{dev}'"))?;
    let ip = ip
        .parse()
        .map_err(|_| format!("expected an IPv4 address, found '{ip}'"))?;
    Ok((n, ip))
}

/// Runs the check; prints the report on stdout and refusals on stderr.
pub fn run(args: &CheckArgs) -> ExitCode {
    let mut checker = CmdlineChecker::new();
    let mut out = String::new();
    let mut errors = Vec::new();
    let mut devices = 0;
    for arg in &args.args {
        match checker.check(arg) {
            None => {}
            Some(Ok(parsed)) => {
                devices += 1;
                report(&mut out, &parsed, args);
            }
            // The kernel ignores an argument whose transport it does not know, without a
            // word: that is a warning (no device will exist), not a refusal.
            Some(Err(e)) if e.kind == ErrorKind::UnknownTransport => {
                let _ = writeln!(out, "{arg}\n  warning: {}", e.display(arg));
            }
            Some(Err(e)) => errors.push(e.display(arg).to_string()),
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    let mut stderr = std::io::stderr();
    for e in &errors {
        let _ = writeln!(stderr, "umlnet check: {e}");
    }
    if devices == 0 && errors.is_empty() && out.is_empty() {
        let _ = writeln!(
            stderr,
            "umlnet check: no network arguments: expected eth<n>=<transport>,… (e.g. eth0=mcast)"
        );
        return ExitCode::from(2);
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn report(out: &mut String, p: &Parsed, args: &CheckArgs) {
    let spec = &p.spec;
    let _ = writeln!(out, "{spec}");
    let name = device_name(spec);
    for line in describe(spec) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(line) = mac_line(p, args) {
        let _ = writeln!(out, "  mac: {line}");
    }
    for w in &p.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if !args.no_host_checks {
        for w in host_checks(spec, &name) {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
}

fn device_name(spec: &DeviceSpec) -> String {
    match spec.transport {
        Transport::Vector(_) => format!("vec{}", spec.index),
        _ => format!("eth{}", spec.index),
    }
}

/// What the device will be, with the defaults resolved.
fn describe(spec: &DeviceSpec) -> Vec<String> {
    let mut v = Vec::new();
    match &spec.transport {
        Transport::Ethertap(t) => {
            v.push(format!(
                "ethertap on host device {}; uml_net always runs (it relays frames, since \
                 ethertap cannot signal SIGIO)",
                t.dev
            ));
            v.push(match t.gate {
                Some(g) => format!("host setup by uml_net: {} gets address {g}", t.dev),
                None => format!(
                    "no gate: no host setup; configure {} on the host yourself",
                    t.dev
                ),
            });
        }
        Transport::Tuntap(t) => match &t.dev {
            Some(dev) => {
                v.push(format!(
                    "tuntap, fixed mode: the kernel opens the existing tap {dev} itself; no helper runs"
                ));
                if let Some(g) = t.gate {
                    v.push(format!("gate {g} (the guest must use a different address)"));
                }
            }
            None => {
                v.push(
                    "tuntap, dynamic mode: the uml_net helper creates a tap device at ifup".into(),
                );
                v.push(match t.gate {
                    Some(g) => format!("host side of the tap: {g} (set up by uml_net)"),
                    None => "no gate: the original uml_net refuses this ('Too few arguments to \
                             tuntap_up'), so the interface cannot come up with it"
                        .into(),
                });
            }
        },
        Transport::Mcast(m) => {
            v.push(format!(
                "mcast group {} port {} ttl {}",
                m.group, m.port, m.ttl
            ));
        }
        Transport::Ucast(u) => {
            let remote = u.remote.map_or("(none)".to_string(), |r| r.to_string());
            v.push(format!(
                "ucast listen port {} -> remote {remote}:{}",
                u.lport, u.rport
            ));
        }
        Transport::Daemon(d) => {
            let ctl = match &d.ctl {
                Some(c) => c.to_string(),
                None => format!(
                    "{DEBIAN_DAEMON_CTL} (the Debian kernel's default, where Debian's init \
                     script starts uml_switch; uml_switch started by hand with no arguments, \
                     like an upstream kernel, uses {UPSTREAM_DAEMON_CTL})"
                ),
            };
            v.push(format!(
                "daemon socket type {} control socket {ctl}; connects when the device is created",
                d.sock_type
            ));
        }
        Transport::Slip(s) => v.push(match s.gate {
            Some(g) => format!("slip over a pty; uml_net runs and sets up the host end with {g}"),
            None => "slip over a pty; no gate: no host setup".into(),
        }),
        Transport::Vde(d) => {
            let switch = d.switch.as_deref().unwrap_or("(libvdeplug's default)");
            let mut s = format!("vde switch {switch}");
            if let Some(p) = d.port {
                let _ = write!(s, " port {p}");
            }
            if let Some(g) = &d.group {
                let _ = write!(s, " group {g}");
            }
            if let Some(m) = d.mode {
                let _ = write!(s, " mode {m:o}");
            }
            if let Some(x) = &d.descr {
                let _ = write!(s, " description '{x}'");
            }
            v.push(s);
        }
        Transport::Slirp(s) => {
            let argv: Vec<String> = s.args().map(|a| format!("'{a}'")).collect();
            v.push(format!("slirp runs {}", argv.join(" ")));
        }
        Transport::Vector(x) => v.extend(vector::describe(spec.index, x)),
    }
    v
}

fn mac_line(p: &Parsed, args: &CheckArgs) -> Option<String> {
    let spec = &p.spec;
    if matches!(
        spec.transport,
        Transport::Slip(_) | Transport::Slirp(_) | Transport::Vector(_)
    ) {
        return None;
    }
    if let Some(mac) = spec.transport.mac() {
        return Some(format!("{mac} (given)"));
    }
    if let Some(Warning::MacInherited { from, mac }) = p
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::MacInherited { .. }))
    {
        return Some(match mac {
            Some(m) => format!("{m} (inherited from eth{from} at boot, see warning)"),
            None => format!("random (the text inherited from eth{from} is refused again)"),
        });
    }
    let derived = match args.guest_ip.iter().find(|(n, _)| *n == spec.index) {
        Some((_, ip)) => format!("{} (fe:fd:<ip> of {ip})", MacAddr::from_ipv4(*ip)),
        None => "fe:fd:<ip> once the guest gives the device its address".into(),
    };
    Some(format!(
        "not given: derived {derived}, as the UML networking page describes; the 6.1 kernel picks a random \
         locally administered address instead"
    ))
}

/// Looks at this host for what the device will need when the kernel creates or opens it.
fn host_checks(spec: &DeviceSpec, name: &str) -> Vec<String> {
    let mut w = Vec::new();
    match &spec.transport {
        Transport::Daemon(d) if d.sock_type == "unix" => {
            let ctl = Path::new(d.ctl_or_default());
            match std::fs::metadata(ctl) {
                Ok(m) if m.file_type().is_socket() => {}
                Ok(_) => w.push(format!(
                    "{} is not a socket: the kernel cannot connect and creates no {name}",
                    ctl.display()
                )),
                Err(_) => w.push(format!(
                    "{} does not exist here (is uml_switch running?): the kernel cannot connect \
                     and creates no {name}",
                    ctl.display()
                )),
            }
            let upstream = Path::new(UPSTREAM_DAEMON_CTL);
            if d.ctl.is_none()
                && !ctl.exists()
                && std::fs::metadata(upstream).is_ok_and(|m| m.file_type().is_socket())
            {
                w.push(format!(
                    "but {UPSTREAM_DAEMON_CTL} exists (uml_switch started with no arguments): \
                     use {name}=daemon,,,{UPSTREAM_DAEMON_CTL}"
                ));
            }
        }
        Transport::Tuntap(t) => match &t.dev {
            Some(dev) if !Path::new("/sys/class/net").join(dev.as_str()).exists() => {
                w.push(format!(
                    "no host interface {dev} here: create it first (tunctl -t {dev}), or ifup fails"
                ))
            }
            Some(_) => {}
            None => need_helper(&mut w),
        },
        Transport::Ethertap(_) => need_helper(&mut w),
        Transport::Slip(s) if s.gate.is_some() => need_helper(&mut w),
        Transport::Vector(v) => w.extend(vector::host_checks(spec.index, v)),
        _ => {}
    }
    w
}

fn need_helper(w: &mut Vec<String>) {
    if find_helper().is_none() {
        w.push(
            "uml_net is not on PATH (nor in /usr/lib/uml): the kernel cannot run the helper at ifup"
                .into(),
        );
    }
}

/// Where the kernel's `execvp("uml_net")` would find the helper (UML appends /usr/lib/uml).
fn find_helper() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/lib/uml")])
        .map(|d| d.join("uml_net"))
        .find(|p| p.is_file())
}
