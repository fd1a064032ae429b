//! `lab.conf`: which machine has which interfaces on which collision domain, machine
//! options and the lab's metadata, in the Netkit format (Kathará's additions included).
//!
//! One assignment per line, `#` starts a comment, a value may be quoted with `"` or `'`:
//!
//! ```text
//! LAB_DESCRIPTION="two LANs and a router"
//! pc1[0]=A                      # pc1's eth0 on collision domain A
//! r1[1]="B/02:42:ac:11:00:02"   # r1's eth1 on B with a fixed MAC (Kathará)
//! r1[mem]=128                   # a machine option
//! ```
//!
//! [`parse`] reads the whole file and returns every problem it finds, each with its line.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use umlnet_core::mac::MacAddr;

use super::Diagnostic;

/// The highest interface number a machine may have (`MACHINE[63]`).
pub const MAX_IFACE: u8 = 63;
/// The longest machine or domain name (it becomes a UML `umid` and a socket name).
pub const MAX_NAME: usize = 32;

/// The lab's metadata (`LAB_*` lines); every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabMeta {
    /// `LAB_DESCRIPTION`.
    pub description: Option<String>,
    /// `LAB_VERSION`.
    pub version: Option<String>,
    /// `LAB_AUTHOR`.
    pub author: Option<String>,
    /// `LAB_EMAIL`.
    pub email: Option<String>,
    /// `LAB_WEB`.
    pub web: Option<String>,
    /// `LAB_MACHINES`: the machines of the lab, in order, when given (comma or space
    /// separated).
    pub machines: Option<Vec<String>>,
}

/// One network interface of a machine: `MACHINE[n]=DOMAIN` or `MACHINE[n]=DOMAIN/MAC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceConf {
    /// The collision domain it is plugged into.
    pub domain: String,
    /// A fixed MAC address, if given.
    pub mac: Option<MacAddr>,
    /// For `MACHINE[n]=tap,<host ip>,<guest ip>`: the host's and the machine's
    /// addresses on the uplink (the domain is then [`TAP_DOMAIN`]).
    pub tap: Option<(Ipv4Addr, Ipv4Addr)>,
    /// The line of `lab.conf` that defines it.
    pub line: usize,
}

/// The collision domain of a lab's tap uplinks: the host is on it through a TAP device.
pub const TAP_DOMAIN: &str = "_tap";
/// The prefix length of the tap uplink's addresses (host and machines on one /24).
pub const TAP_PREFIX: u8 = 24;

/// What `lab.conf` says about one machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineConf {
    /// Interfaces by number (`ethN`).
    pub ifaces: BTreeMap<u8, IfaceConf>,
    /// Memory in MiB (`MACHINE[mem]=`).
    pub mem_mib: Option<u32>,
    /// The UML kernel to boot (`MACHINE[kernel]=`), else the lab's or the default.
    pub kernel: Option<String>,
    /// Extra kernel arguments (`MACHINE[append]=`, space separated).
    pub append: Vec<String>,
    /// The first line naming the machine.
    pub line: usize,
}

/// The parsed `lab.conf`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabConf {
    /// The `LAB_*` metadata.
    pub meta: LabMeta,
    /// The kernel for every machine (`LAB_KERNEL=`, umlnet's addition).
    pub kernel: Option<String>,
    /// Domains that learn addresses and forward like a switch instead of flooding like
    /// a hub (`LAB_SWITCHED=A B`, umlnet's addition).
    pub switched: Vec<String>,
    /// The machines named in the file.
    pub machines: BTreeMap<String, MachineConf>,
}

/// Options of Netkit and Kathará labs that have no meaning for UML kernels on umlnet:
/// accepted with a warning and otherwise ignored.
const IGNORED_OPTIONS: &[&str] = &[
    "con0",
    "con1",
    "cpus",
    "num_terms",
    "shell",
    "ipv6",
    "bridged",
    "port",
    "ulimit",
    "env",
    "exec",
    "sysctl",
    "privileged",
];

/// The `LAB_*` settings umlnet reads.
const META_KEYS: &[&str] = &[
    "LAB_DESCRIPTION",
    "LAB_VERSION",
    "LAB_AUTHOR",
    "LAB_EMAIL",
    "LAB_WEB",
    "LAB_MACHINES",
    "LAB_KERNEL",
    "LAB_SWITCHED",
];

/// Whether `s` may name a machine or a collision domain: 1 to [`MAX_NAME`] ASCII
/// letters, digits, `_`, `-` or `.`, not starting with `.` or `-`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn name_problem(kind: &str, s: &str) -> String {
    format!(
        "{kind} name '{s}' is not valid: use 1 to {MAX_NAME} letters, digits, '_', '-' or '.', \
         not starting with '.' or '-'"
    )
}

/// Removes one pair of matching quotes; `Err` for an unmatched one or a `"` inside.
fn unquote(v: &str) -> Result<&str, String> {
    let inner = unquote_pair(v)?;
    if inner.contains('"') {
        return Err(format!(
            "the value {v} has a \" inside it: quote the whole value once, with \"...\""
        ));
    }
    Ok(inner)
}

fn unquote_pair(v: &str) -> Result<&str, String> {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q) {
            return rest.strip_suffix(q).ok_or_else(|| {
                format!("the value {v} opens a {q} quote that the line does not close")
            });
        }
        if v.ends_with(q) {
            return Err(format!(
                "the value {v} closes a {q} quote that it does not open"
            ));
        }
    }
    Ok(v)
}

/// Drops a `#` comment that is outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    line
}

/// Reads `lab.conf` (`file` names it in the diagnostics). Returns what it understood
/// and every error and warning, in line order; the lab may be used only when no
/// diagnostic is an error.
pub fn parse(file: &str, text: &str) -> (LabConf, Vec<Diagnostic>) {
    let mut conf = LabConf::default();
    let mut diags = Vec::new();
    let mut meta_lines: BTreeMap<&str, usize> = BTreeMap::new();
    let mut option_lines: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let err = |msg: String| Diagnostic::error(file, n, msg);
        let Some((key, value)) = line.split_once('=') else {
            diags.push(err(format!(
                "'{line}' is not an assignment: expected MACHINE[N]=DOMAIN, \
                 MACHINE[option]=value or LAB_...=value"
            )));
            continue;
        };
        let key = key.trim();
        let value = match unquote(value.trim()) {
            Ok(v) => v,
            Err(e) => {
                diags.push(err(e));
                continue;
            }
        };
        if let Some((machine, rest)) = key.split_once('[') {
            let Some(index) = rest.strip_suffix(']') else {
                diags.push(err(format!(
                    "'{key}' opens '[' without a closing ']': expected MACHINE[N] or \
                     MACHINE[option]"
                )));
                continue;
            };
            if !valid_name(machine) {
                diags.push(err(name_problem("machine", machine)));
                continue;
            }
            let m = conf
                .machines
                .entry(machine.to_string())
                .or_insert_with(|| MachineConf {
                    line: n,
                    ..MachineConf::default()
                });
            if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
                match iface(index, value, n) {
                    Ok((k, ifc)) => match m.ifaces.get(&k) {
                        Some(old) => diags.push(err(format!(
                            "{machine}[{k}] is defined twice: here and on line {}",
                            old.line
                        ))),
                        None => {
                            m.ifaces.insert(k, ifc);
                        }
                    },
                    Err(e) => diags.push(err(format!("{machine}[{index}]: {e}"))),
                }
                continue;
            }
            let opt = index.to_ascii_lowercase();
            if let Some(first) = option_lines.insert((machine.to_string(), opt.clone()), n) {
                diags.push(err(format!(
                    "{machine}[{opt}] is set twice: here and on line {first}"
                )));
                continue;
            }
            match option(m, &opt, value) {
                Ok(None) => {}
                Ok(Some(warning)) => diags.push(Diagnostic::warning(
                    file,
                    n,
                    format!("{machine}[{opt}]: {warning}"),
                )),
                Err(e) => diags.push(err(format!("{machine}[{opt}]: {e}"))),
            }
            continue;
        }
        if META_KEYS.contains(&key)
            && let Some(first) = meta_lines.insert(key, n)
        {
            diags.push(err(format!("{key} is set twice: here and on line {first}")));
            continue;
        }
        let text = Some(value.to_string());
        match key {
            "LAB_DESCRIPTION" => conf.meta.description = text,
            "LAB_VERSION" => conf.meta.version = text,
            "LAB_AUTHOR" => conf.meta.author = text,
            "LAB_EMAIL" => conf.meta.email = text,
            "LAB_WEB" => conf.meta.web = text,
            "LAB_KERNEL" => {
                if value.is_empty() {
                    diags.push(err("LAB_KERNEL is empty: name a UML kernel".into()));
                } else {
                    conf.kernel = text;
                }
            }
            "LAB_SWITCHED" => {
                let names: Vec<String> = value
                    .split([',', ' ', '\t'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                for bad in names.iter().filter(|s| !valid_name(s) || *s == TAP_DOMAIN) {
                    diags.push(err(format!(
                        "LAB_SWITCHED: {}",
                        name_problem("collision domain", bad)
                    )));
                }
                conf.switched = names;
            }
            "LAB_MACHINES" => {
                let names: Vec<String> = value
                    .split([',', ' ', '\t'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                for bad in names.iter().filter(|s| !valid_name(s)) {
                    diags.push(err(format!(
                        "LAB_MACHINES: {}",
                        name_problem("machine", bad)
                    )));
                }
                conf.meta.machines = Some(names);
            }
            k if k.starts_with("LAB_") => diags.push(Diagnostic::warning(
                file,
                n,
                format!("{k} is not a lab setting umlnet knows; ignored"),
            )),
            k => diags.push(err(format!(
                "'{k}' is neither MACHINE[N], MACHINE[option] nor a LAB_ setting"
            ))),
        }
    }
    (conf, diags)
}

/// Reads `N` and `DOMAIN[/MAC]`.
fn iface(index: &str, value: &str, line: usize) -> Result<(u8, IfaceConf), String> {
    let k: u8 = index
        .parse()
        .ok()
        .filter(|k| *k <= MAX_IFACE)
        .ok_or_else(|| format!("interface number {index} is out of range 0-{MAX_IFACE}"))?;
    if value == "tap" || value.starts_with("tap,") {
        return tap(k, value, line);
    }
    let (domain, mac) = match value.split_once('/') {
        Some((d, m)) => {
            let mac =
                MacAddr::parse(m).map_err(|e| format!("MAC address '{m}' is not valid: {e}"))?;
            if mac.is_multicast() || mac.is_zero() {
                return Err(format!(
                    "MAC address {mac} cannot be an interface's address: use a unicast one, \
                     such as 02:00:00:00:00:01"
                ));
            }
            (d, Some(mac))
        }
        None => (value, None),
    };
    if domain.is_empty() {
        return Err("no collision domain: write MACHINE[N]=DOMAIN".into());
    }
    if domain == TAP_DOMAIN {
        return Err(format!(
            "{TAP_DOMAIN} is the domain of tap uplinks: write tap,<host ip>,<guest ip>"
        ));
    }
    if !valid_name(domain) {
        return Err(name_problem("collision domain", domain));
    }
    Ok((
        k,
        IfaceConf {
            domain: domain.to_string(),
            mac,
            tap: None,
            line,
        },
    ))
}

/// Reads `tap,<host ip>,<guest ip>`.
fn tap(k: u8, value: &str, line: usize) -> Result<(u8, IfaceConf), String> {
    let usage = "write MACHINE[N]=tap,<host ip>,<guest ip>, e.g. tap,10.0.0.1,10.0.0.2";
    let mut parts = value.split(',').skip(1);
    let (Some(h), Some(g), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("'{value}' is not a tap uplink: {usage}"));
    };
    let ip = |s: &str, what: &str| -> Result<Ipv4Addr, String> {
        let a: Ipv4Addr = s
            .parse()
            .map_err(|_| format!("{what} '{s}' is not an IPv4 address: {usage}"))?;
        if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback() {
            return Err(format!("{what} {a} cannot be an interface's address"));
        }
        Ok(a)
    };
    let (host, guest) = (ip(h, "host address")?, ip(g, "guest address")?);
    let net = |a: Ipv4Addr| u32::from(a) >> (32 - TAP_PREFIX);
    if host == guest || net(host) != net(guest) {
        return Err(format!(
            "the host address {host} and the guest address {guest} must differ and share a \
             /{TAP_PREFIX}"
        ));
    }
    Ok((
        k,
        IfaceConf {
            domain: TAP_DOMAIN.to_string(),
            mac: None,
            tap: Some((host, guest)),
            line,
        },
    ))
}

/// Applies `MACHINE[opt]=value`; `Ok(Some(w))` for an accepted option with a warning.
fn option(m: &mut MachineConf, opt: &str, value: &str) -> Result<Option<String>, String> {
    match opt {
        "mem" => {
            let digits = value.trim_end_matches(['m', 'M']);
            let mib: u32 = digits
                .parse()
                .ok()
                .filter(|v| (16..=65536).contains(v))
                .ok_or_else(|| {
                    format!("'{value}' is not a memory size: give MiB from 16 to 65536, e.g. 128")
                })?;
            m.mem_mib = Some(mib);
            Ok(None)
        }
        "kernel" => {
            if value.is_empty() {
                return Err("empty: name a UML kernel".into());
            }
            m.kernel = Some(value.to_string());
            Ok(None)
        }
        "append" => {
            m.append = value.split_whitespace().map(str::to_string).collect();
            Ok(None)
        }
        "image" if !value.starts_with(['/', '.']) => Ok(Some(format!(
            "'{value}' is a container image (Kathará); ignored: the machine runs on the \
             host's filesystem, so the programs it needs must be installed on the host"
        ))),
        "image" | "filesystem" => Err("filesystem images are not supported by umlnet lab \
                                       yet: machines run on the host's filesystem (hostfs) \
                                       with writable layers"
            .into()),
        o if IGNORED_OPTIONS.contains(&o) => Ok(Some(
            "a Netkit/Kathará option with no effect on umlnet labs; ignored".into(),
        )),
        o => Err(format!(
            "unknown option '{o}': umlnet labs know mem, kernel and append"
        )),
    }
}

impl fmt::Display for LabConf {
    /// A canonical `lab.conf` that [`parse`] reads back as the same lab.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |f: &mut fmt::Formatter<'_>, k: &str, v: &Option<String>| match v {
            Some(v) => writeln!(f, "{k}=\"{v}\""),
            None => Ok(()),
        };
        q(f, "LAB_DESCRIPTION", &self.meta.description)?;
        q(f, "LAB_VERSION", &self.meta.version)?;
        q(f, "LAB_AUTHOR", &self.meta.author)?;
        q(f, "LAB_EMAIL", &self.meta.email)?;
        q(f, "LAB_WEB", &self.meta.web)?;
        q(f, "LAB_KERNEL", &self.kernel)?;
        if let Some(m) = &self.meta.machines {
            writeln!(f, "LAB_MACHINES=\"{}\"", m.join(","))?;
        }
        if !self.switched.is_empty() {
            writeln!(f, "LAB_SWITCHED=\"{}\"", self.switched.join(" "))?;
        }
        for (name, m) in &self.machines {
            for (k, i) in &m.ifaces {
                match (i.tap, i.mac) {
                    (Some((h, g)), _) => writeln!(f, "{name}[{k}]=tap,{h},{g}")?,
                    (None, Some(mac)) => writeln!(f, "{name}[{k}]={}/{mac}", i.domain)?,
                    (None, None) => writeln!(f, "{name}[{k}]={}", i.domain)?,
                }
            }
            if let Some(mem) = m.mem_mib {
                writeln!(f, "{name}[mem]={mem}")?;
            }
            if let Some(k) = &m.kernel {
                writeln!(f, "{name}[kernel]=\"{k}\"")?;
            }
            if !m.append.is_empty() {
                writeln!(f, "{name}[append]=\"{}\"", m.append.join(" "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    fn ok(text: &str) -> LabConf {
        let (c, d) = parse("lab.conf", text);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        c
    }

    fn first_error(text: &str) -> String {
        let (_, d) = parse("lab.conf", text);
        d.into_iter()
            .find(Diagnostic::is_error)
            .expect("an error")
            .to_string()
    }

    #[test]
    fn netkit_and_kathara_lines() {
        let c = ok("LAB_DESCRIPTION=\"two LANs\"\nLAB_MACHINES=pc1,r1\n\
                    pc1[0]=A\nr1[0]=A # comment\nr1[1]=\"B/02:42:ac:11:00:02\"\nr1[mem]=128\n");
        assert_eq!(c.meta.description.as_deref(), Some("two LANs"));
        assert_eq!(c.meta.machines, Some(vec!["pc1".into(), "r1".into()]));
        let r1 = &c.machines["r1"];
        assert_eq!(r1.ifaces[&1].domain, "B");
        assert_eq!(r1.ifaces[&1].mac.unwrap().to_string(), "02:42:ac:11:00:02");
        assert_eq!(r1.ifaces[&1].line, 5);
        assert_eq!(r1.mem_mib, Some(128));
        assert_eq!(c.machines["pc1"].ifaces[&0].domain, "A");
        assert_eq!(ok("LAB_SWITCHED=A,B\n").switched, ["A", "B"]);
        assert!(first_error("LAB_SWITCHED=A _tap").contains("'_tap'"));
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        assert_eq!(
            first_error("pc1[0]=A\npc1[0]=B\n"),
            "lab.conf:2: error: pc1[0] is defined twice: here and on line 1"
        );
        assert!(first_error("\n\npc1[0=A").starts_with("lab.conf:3: error: 'pc1[0'"));
        assert!(first_error("pc1[0]=A/01:80:c2:00:00:00").contains("unicast"));
        assert!(first_error("pc1[mem]=lots").contains("not a memory size"));
        let tap = ok("pc1[0]=tap,10.0.0.1,10.0.0.2").machines["pc1"].ifaces[&0].clone();
        assert_eq!(tap.domain, TAP_DOMAIN);
        assert_eq!(
            tap.tap,
            Some(("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()))
        );
        assert!(first_error("pc1[0]=tap,10.0.0.1").contains("not a tap uplink"));
        assert!(first_error("pc1[0]=tap,10.0.0.1,10.0.1.2").contains("share a /24"));
        assert!(first_error("pc1[0]=tap,10.0.0.x,10.0.0.2").contains("not an IPv4"));
        assert!(first_error("pc1[0]=_tap").contains("domain of tap uplinks"));
        assert!(first_error("pc1[99]=A").contains("out of range"));
        assert!(first_error("just words").contains("not an assignment"));
        assert!(first_error("pc 1[0]=A").contains("machine name 'pc 1'"));
        assert!(first_error("pc1[0]=\"A").contains("does not close"));
        assert!(first_error("pc1[0]=A\"").contains("does not open"));
        assert!(first_error("LAB_AUTHOR=a\"#b").contains("inside it"));
        assert_eq!(
            ok("LAB_AUTHOR=\"O'Brien\" # x").meta.author.as_deref(),
            Some("O'Brien")
        );
        assert!(first_error("pc1[color]=red").contains("unknown option 'color'"));
        assert!(first_error("LAB_AUTHOR=a\nLAB_AUTHOR=b").starts_with("lab.conf:2:"));
    }

    #[test]
    fn images() {
        let (_, d) = parse("lab.conf", "pc1[image]=\"kathara/frr\"\n");
        assert!(
            !d[0].is_error() && d[0].message.contains("container image"),
            "{d:?}"
        );
        assert!(first_error("pc1[image]=/srv/debian.img").contains("not supported"));
        assert!(first_error("pc1[filesystem]=./fs.img").contains("not supported"));
    }

    #[test]
    fn kathara_only_options_warn() {
        let (_, d) = parse("lab.conf", "pc1[0]=A\npc1[ipv6]=false\nLAB_COLOR=x\n");
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| !d.is_error()));
        assert_eq!(d[0].line, 2);
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9_.-]{0,8}"
    }

    proptest! {
        #[test]
        fn printed_conf_reads_back(
            machines in proptest::collection::btree_map(
                name(),
                (proptest::collection::btree_map(0u8..=MAX_IFACE, (name(), proptest::option::of(any::<[u8; 6]>()), any::<bool>()), 0..4),
                 proptest::option::of(16u32..4096)),
                0..5),
            desc in proptest::option::of("[a-z ]{0,20}"),
            switched in proptest::collection::vec(name(), 0..3),
        ) {
            let mut conf = LabConf::default();
            conf.meta.description = desc;
            conf.switched = switched;
            for (n, (ifs, mem)) in machines {
                let m = conf.machines.entry(n).or_default();
                m.mem_mib = mem;
                for (k, (d, mac, is_tap)) in ifs {
                    let mac = mac.map(|mut b| { b[0] &= 0xfe; b[5] |= 1; MacAddr(b) });
                    let iface = if is_tap {
                        let guest = Ipv4Addr::new(10, 0, 0, k + 2);
                        IfaceConf { domain: TAP_DOMAIN.into(), mac: None, tap: Some((Ipv4Addr::new(10, 0, 0, 1), guest)), line: 0 }
                    } else {
                        IfaceConf { domain: d, mac, tap: None, line: 0 }
                    };
                    m.ifaces.insert(k, iface);
                }
            }
            let text = conf.to_string();
            let (back, diags) = parse("lab.conf", &text);
            prop_assert!(diags.is_empty(), "{:?}", diags);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn any_text_gives_lines_inside_the_file(text in "(([a-z0-9]{0,4}(\\[[a-z0-9]{0,3}\\]?)?=?[\"'A-Za-z/:0-9,]{0,12})?#?\n){0,8}") {
            let (_, diags) = parse("lab.conf", &text);
            for d in diags {
                prop_assert!(d.line >= 1 && d.line <= text.lines().count(), "{}", d);
            }
        }
    }
}
