//! The command line of `uml_switch`, parsed by hand because the original's flags are
//! single-dash words (`-unix`, `-compat-v0`) and `-unix` takes one or two values.

use std::ffi::OsString;
use std::path::PathBuf;

/// The original's compiled-in control socket.
pub const DEFAULT_CTL: &str = "/tmp/uml.ctl";
/// The original's compiled-in data socket for `-compat-v0`.
pub const DEFAULT_DATA: &str = "/tmp/uml.data";

/// What `uml_switch` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The name it was run as (`argv[0]`), used in its messages as the original does.
    pub argv0: String,
    /// The control socket (`-unix <ctl>`; default [`DEFAULT_CTL`]).
    pub ctl: PathBuf,
    /// `-compat-v0`: the filesystem data socket (`-unix <ctl> <data>`; default
    /// [`DEFAULT_DATA`]). `None`: an abstract data socket, as the original without it.
    pub data: Option<PathBuf>,
    /// `-hub`: flood every frame.
    pub hub: bool,
    /// `-tap <dev>`: attach this TAP device as a port.
    pub tap: Option<String>,
    /// `-daemon`: `daemon(0, 1)` once the sockets are set up.
    pub daemon: bool,
    /// `-mgmt <path>`: a line-oriented console on this unix stream socket (umlnet only).
    pub mgmt: Option<PathBuf>,
    /// `-pcap <file>`: write every forwarded frame to this capture file (umlnet only).
    pub pcap: Option<PathBuf>,
    /// `-vxlan <vni>,<local ip>[:port],<remote ip>[:port]...` (repeatable): VXLAN
    /// uplinks to the switches of other hosts (umlnet only; see [`super::vxlan`]).
    pub vxlan: Vec<super::vxlan::UplinkSpec>,
    /// `-mode <octal>`: permissions of the control, data and console sockets and of the
    /// `-bess`, `-fdpass`, `-stream` and `-dgram` sockets (umlnet only). `None`: all
    /// but the console as the umask leaves them, the console 0600.
    pub mode: Option<u32>,
    /// `-group <name|gid>`: group of the same sockets as `-mode` (umlnet only).
    pub group: Option<String>,
    /// `-pcap-size <bytes>`: the most the `-pcap` file grows to (umlnet only; default
    /// [`DEFAULT_PCAP_SIZE`]); frames beyond it are counted, not written.
    pub pcap_size: u64,
    /// `-bess <path>`: a seqpacket socket UML's `vecN:transport=bess,dst=<path>`
    /// connects to, each connection a port (umlnet only; see [`super::vector`]).
    pub bess: Option<PathBuf>,
    /// `-fdpass <path>`: a stream socket on which a program hands over one end of a
    /// seqpacket socket pair as a port (umlnet only; see [`super::handoff`]).
    pub fdpass: Option<PathBuf>,
    /// `-stream <path>`: a stream socket QEMU's `-netdev stream` connects to, each
    /// connection a port (umlnet only; see [`super::qemu`]).
    pub stream: Option<PathBuf>,
    /// `-dgram <switch path>,<qemu path>` (repeatable): a QEMU `-netdev dgram` peer
    /// (umlnet only; see [`super::qemu`]).
    pub dgram: Vec<super::qemu::DgramPeer>,
    /// `-l2tpv3 <local>,<remote>,<tx session>,<rx session>[,...]` (repeatable): an
    /// L2TPv3-over-UDP link (umlnet only; see [`super::l2tpv3`]).
    pub l2tpv3: Vec<super::l2tpv3::L2tpSpec>,
    /// `-max-ports-per-user <n>`: the most ports one user other than root and the
    /// switch's own may hold (umlnet only; default [`super::MAX_PORTS_PER_USER`]).
    pub max_ports_per_user: usize,
}

/// The default bound of the `-pcap` file: 1 GiB.
pub const DEFAULT_PCAP_SIZE: u64 = 1 << 30;

impl Config {
    /// The command line (without `argv[0]`) that [`parse_args`] reads back as this
    /// configuration.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = Vec::new();
        if let Some(data) = &self.data {
            v.push("-compat-v0".into());
            v.push("-unix".into());
            v.push(self.ctl.clone().into());
            v.push(data.clone().into());
        } else {
            v.push("-unix".into());
            v.push(self.ctl.clone().into());
        }
        if self.hub {
            v.push("-hub".into());
        }
        if let Some(t) = &self.tap {
            v.push("-tap".into());
            v.push(t.into());
        }
        if self.daemon {
            v.push("-daemon".into());
        }
        if let Some(m) = &self.mgmt {
            v.push("-mgmt".into());
            v.push(m.clone().into());
        }
        if let Some(p) = &self.pcap {
            v.push("-pcap".into());
            v.push(p.clone().into());
        }
        for u in &self.vxlan {
            v.push("-vxlan".into());
            v.push(u.to_string().into());
        }
        if let Some(m) = self.mode {
            v.push("-mode".into());
            v.push(format!("{m:o}").into());
        }
        if let Some(g) = &self.group {
            v.push("-group".into());
            v.push(g.into());
        }
        if self.pcap_size != DEFAULT_PCAP_SIZE {
            v.push("-pcap-size".into());
            v.push(self.pcap_size.to_string().into());
        }
        if let Some(p) = &self.bess {
            v.push("-bess".into());
            v.push(p.clone().into());
        }
        if let Some(p) = &self.fdpass {
            v.push("-fdpass".into());
            v.push(p.clone().into());
        }
        if let Some(p) = &self.stream {
            v.push("-stream".into());
            v.push(p.clone().into());
        }
        for d in &self.dgram {
            v.push("-dgram".into());
            v.push(d.to_string().into());
        }
        for l in &self.l2tpv3 {
            v.push("-l2tpv3".into());
            v.push(l.to_string().into());
        }
        if self.max_ports_per_user != super::MAX_PORTS_PER_USER {
            v.push("-max-ports-per-user".into());
            v.push(self.max_ports_per_user.to_string().into());
        }
        v
    }
}

/// The result of reading the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
// The command line is read once; boxing `Config` would only burden every caller.
#[allow(clippy::large_enum_variant)]
pub enum Invocation {
    /// Run the switch.
    Run(Config),
    /// `--help`/`-help`/`-h`: print [`usage`] to stdout and exit 0.
    Help {
        /// `argv[0]`.
        argv0: String,
    },
    /// A bad command line: print the reason and [`usage`] to stderr and exit 1.
    Usage {
        /// `argv[0]`.
        argv0: String,
        /// What was wrong.
        reason: String,
    },
}

/// The usage text: the original's two lines, then the umlnet additions.
pub fn usage(argv0: &str) -> String {
    format!(
        "Usage : {argv0} [ -unix control-socket ] [ -hub ] [ -tap tap-device ]\n\
         or : {argv0} -compat-v0 [ -unix control-socket data-socket ] [ -hub ] [ -tap tap-device ]\n\
         \n\
         options:\n  \
           -unix <ctl>          control socket the UMLs connect to (eth0=daemon,,unix,<ctl>); default {DEFAULT_CTL}\n  \
           -compat-v0           also accept version 0 clients; -unix then takes <ctl> <data> (default data {DEFAULT_DATA})\n  \
           -hub                 be a hub: send every frame to every other port\n  \
           -tap <dev>           attach the TAP device <dev> as a port\n  \
           -daemon              go to the background once the sockets are ready\n  \
           -mgmt <path>         (umlnet) console socket: ports, macs, stats, hub on|off, help\n  \
           -pcap <file>         (umlnet) write every forwarded frame to <file> (pcap, Ethernet)\n  \
           -vxlan <vni>,<local ip>[:port],<remote ip>[:port][,<remote>...]\n  \
                                (umlnet) a VXLAN uplink port (RFC 7348, UDP port 4789 unless given) to the\n  \
                                switches at <remote>, e.g. Linux vxlan devices; repeatable\n  \
           -mode <octal>        (umlnet) permissions of every socket file of the switch\n  \
                                (default: the umask's; the console 0600)\n  \
           -group <name|gid>    (umlnet) group of every socket file of the switch\n  \
           -pcap-size <bytes>   (umlnet) stop writing the -pcap file at this size (default 1 GiB)\n  \
           -bess <path>         (umlnet) seqpacket socket for UML vector devices:\n  \
                                vec0:transport=bess,dst=<path>; each connection is a port\n  \
           -fdpass <path>       (umlnet) socket on which a program hands over one end of a\n  \
                                SOCK_SEQPACKET socketpair as a port (UML: vec0:transport=fd,fd=N)\n  \
           -stream <path>       (umlnet) stream socket for QEMU -netdev stream,server=off,\n  \
                                addr.type=unix,addr.path=<path>; each connection is a port\n  \
           -dgram <path>,<qemu path>\n  \
                                (umlnet) a QEMU -netdev dgram peer: the switch binds <path>\n  \
                                (QEMU's remote.path) and sends to <qemu path> (its local.path); repeatable\n  \
           -l2tpv3 <local ip:port>,<remote ip:port>,<tx session>,<rx session>[,tx_cookie=N,rx_cookie=N][,cookie64][,counter]\n  \
                                (umlnet) an L2TPv3-over-UDP link (UML vec0:transport=l2tpv3,udp=1,\n  \
                                QEMU -netdev l2tpv3,udp=on, another switch); repeatable\n  \
           -max-ports-per-user <n>\n  \
                                (umlnet) the most ports one user other than root and the\n  \
                                switch's own may hold (default 1024)\n  \
           --help               this text\n"
    )
}

/// Reads `argv` (including `argv[0]`) the way the original does: options in any order;
/// after `-compat-v0`, `-unix` takes a control and a data path.
pub fn parse_args(argv: &[OsString]) -> Invocation {
    let argv0 = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "uml_switch".into());
    let mut cfg = Config {
        argv0: argv0.clone(),
        ctl: PathBuf::from(DEFAULT_CTL),
        data: None,
        hub: false,
        tap: None,
        daemon: false,
        mgmt: None,
        pcap: None,
        vxlan: Vec::new(),
        mode: None,
        group: None,
        pcap_size: DEFAULT_PCAP_SIZE,
        max_ports_per_user: super::MAX_PORTS_PER_USER,
        bess: None,
        fdpass: None,
        stream: None,
        dgram: Vec::new(),
        l2tpv3: Vec::new(),
    };
    let mut compat_v0 = false;
    let mut data_given: Option<PathBuf> = None;
    let mut i = 1;
    let bad = |reason: String| Invocation::Usage {
        argv0: argv0.clone(),
        reason,
    };
    while i < argv.len() {
        let a = argv[i].to_string_lossy();
        let at = i;
        let value = |k: usize| argv.get(at + k).map(PathBuf::from);
        match a.as_ref() {
            "-unix" => {
                let Some(ctl) = value(1) else {
                    return bad("-unix needs a control socket path".into());
                };
                cfg.ctl = ctl;
                i += 2;
                if compat_v0 {
                    let Some(data) = value(2) else {
                        return bad("after -compat-v0, -unix needs <control> <data>".into());
                    };
                    data_given = Some(data);
                    i += 1;
                }
            }
            "-compat-v0" => {
                compat_v0 = true;
                i += 1;
            }
            "-hub" => {
                cfg.hub = true;
                i += 1;
            }
            "-daemon" => {
                cfg.daemon = true;
                i += 1;
            }
            "-vxlan" => {
                let Some(v) = value(1) else {
                    return bad("-vxlan needs <vni>,<local ip>[:port],<remote ip>[:port]".into());
                };
                match v.to_string_lossy().parse::<super::vxlan::UplinkSpec>() {
                    Ok(u) => cfg.vxlan.push(u),
                    Err(e) => return bad(format!("-vxlan {}: {e}", v.display())),
                }
                i += 2;
            }
            "-l2tpv3" => {
                let Some(v) = value(1) else {
                    return bad(
                        "-l2tpv3 needs <local ip:port>,<remote ip:port>,<tx session>,<rx session>"
                            .into(),
                    );
                };
                match v.to_string_lossy().parse::<super::l2tpv3::L2tpSpec>() {
                    Ok(l) => cfg.l2tpv3.push(l),
                    Err(e) => return bad(format!("-l2tpv3 {}: {e}", v.display())),
                }
                i += 2;
            }
            "-dgram" => {
                let Some(v) = value(1) else {
                    return bad("-dgram needs <switch socket path>,<qemu socket path>".into());
                };
                match v.to_string_lossy().parse::<super::qemu::DgramPeer>() {
                    Ok(d) => cfg.dgram.push(d),
                    Err(e) => return bad(format!("-dgram {}: {e}", v.display())),
                }
                i += 2;
            }
            "-tap" | "-mgmt" | "-pcap" | "-bess" | "-fdpass" | "-stream" => {
                let Some(v) = value(1) else {
                    return bad(format!("{a} needs a value"));
                };
                match a.as_ref() {
                    "-tap" => cfg.tap = Some(v.to_string_lossy().into_owned()),
                    "-mgmt" => cfg.mgmt = Some(v),
                    "-bess" => cfg.bess = Some(v),
                    "-fdpass" => cfg.fdpass = Some(v),
                    "-stream" => cfg.stream = Some(v),
                    _ => cfg.pcap = Some(v),
                }
                i += 2;
            }
            "-mode" => {
                let Some(v) = value(1) else {
                    return bad("-mode needs an octal permission like 0660".into());
                };
                let v = v.to_string_lossy().into_owned();
                match u32::from_str_radix(&v, 8) {
                    Ok(m) if m <= 0o777 => cfg.mode = Some(m),
                    _ => {
                        return bad(format!(
                            "-mode {v}: not an octal permission from 0 to 0777 (try 0660)"
                        ));
                    }
                }
                i += 2;
            }
            "-group" => {
                let Some(v) = value(1) else {
                    return bad("-group needs a group name or number".into());
                };
                let v = v.to_string_lossy().into_owned();
                if v.is_empty() {
                    return bad("-group needs a group name or number".into());
                }
                cfg.group = Some(v);
                i += 2;
            }
            "-max-ports-per-user" => {
                let Some(v) = value(1) else {
                    return bad("-max-ports-per-user needs a number of ports".into());
                };
                let v = v.to_string_lossy().into_owned();
                match v.parse::<usize>() {
                    Ok(n) if n <= super::PORT_SLOTS => cfg.max_ports_per_user = n,
                    _ => {
                        return bad(format!(
                            "-max-ports-per-user {v}: not a number of ports from 0 to {}",
                            super::PORT_SLOTS
                        ));
                    }
                }
                i += 2;
            }
            "-pcap-size" => {
                let Some(v) = value(1) else {
                    return bad("-pcap-size needs a size in bytes".into());
                };
                let v = v.to_string_lossy().into_owned();
                match v.parse::<u64>() {
                    Ok(n) if n >= 24 => cfg.pcap_size = n,
                    _ => {
                        return bad(format!(
                            "-pcap-size {v}: not a size in bytes of at least 24 (the file header)"
                        ));
                    }
                }
                i += 2;
            }
            "--help" | "-help" | "-h" => return Invocation::Help { argv0 },
            other => return bad(format!("unknown option '{other}'")),
        }
    }
    if compat_v0 {
        cfg.data = Some(data_given.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)));
    }
    Invocation::Run(cfg)
}

/// Fuzz entry point: `data` split at NUL bytes is the command line after `argv[0]`;
/// whatever it runs must be written back by [`Config::to_args`] to a command line that
/// parses to the same configuration.
#[doc(hidden)]
pub fn fuzz_args(data: &[u8]) {
    use std::os::unix::ffi::OsStringExt;
    let mut argv = vec![OsString::from("uml_switch")];
    if !data.is_empty() {
        argv.extend(
            data.split(|b| *b == 0)
                .map(|w| OsString::from_vec(w.to_vec())),
        );
    }
    if let Invocation::Run(cfg) = parse_args(&argv) {
        let mut again = vec![OsString::from("uml_switch")];
        again.extend(cfg.to_args());
        assert_eq!(parse_args(&again), Invocation::Run(cfg), "{argv:?}");
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn run(s: &str) -> Config {
        match parse_args(&args(s)) {
            Invocation::Run(c) => c,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_originals() {
        let c = run("uml_switch");
        assert_eq!(c.ctl, PathBuf::from("/tmp/uml.ctl"));
        assert_eq!(
            (c.data, c.hub, c.tap, c.daemon, c.mgmt, c.pcap),
            (None, false, None, false, None, None)
        );
    }

    #[test]
    fn debian_init_script_line() {
        let c = run("uml_switch -tap tap0 -unix /var/run/uml-utilities/uml_switch.ctl");
        assert_eq!(
            c.ctl,
            PathBuf::from("/var/run/uml-utilities/uml_switch.ctl")
        );
        assert_eq!(c.tap.as_deref(), Some("tap0"));
    }

    #[test]
    fn compat_v0_makes_unix_take_two_paths() {
        let c = run("sw -compat-v0 -unix /t/c /t/d -hub");
        assert_eq!(
            (c.ctl, c.data),
            (PathBuf::from("/t/c"), Some(PathBuf::from("/t/d")))
        );
        assert!(c.hub);
        let c = run("sw -compat-v0");
        assert_eq!(c.data, Some(PathBuf::from(DEFAULT_DATA)));
        // Before -compat-v0, -unix takes one value, so the second is an unknown option.
        assert!(matches!(
            parse_args(&args("sw -unix /t/c /t/d -compat-v0")),
            Invocation::Usage { .. }
        ));
    }

    #[test]
    fn access_options() {
        let c = run("sw -mode 0660 -group uml-net -pcap -  -pcap-size 4096");
        assert_eq!(c.mode, Some(0o660));
        assert_eq!(c.group.as_deref(), Some("uml-net"));
        assert_eq!(c.pcap_size, 4096);
        let c = run("sw");
        assert_eq!(
            (c.mode, c.group, c.pcap_size),
            (None, None, DEFAULT_PCAP_SIZE)
        );
        let Invocation::Usage { reason, .. } = parse_args(&args("sw -mode 0999")) else {
            panic!("-mode 0999 accepted");
        };
        assert!(
            reason.contains("0999") && reason.contains("0660"),
            "{reason}"
        );
    }

    #[test]
    fn umlnet_options_and_help() {
        let c = run("sw -mgmt /t/m -pcap /t/p.pcap -daemon");
        assert_eq!(
            (c.mgmt, c.pcap, c.daemon),
            (Some("/t/m".into()), Some("/t/p.pcap".into()), true)
        );
        assert!(matches!(
            parse_args(&args("sw --help")),
            Invocation::Help { .. }
        ));
        assert!(
            usage("sw")
                .starts_with("Usage : sw [ -unix control-socket ] [ -hub ] [ -tap tap-device ]\n")
        );
    }

    fn path() -> impl proptest::strategy::Strategy<Value = PathBuf> {
        proptest::string::string_regex("/[a-z0-9._/-]{0,40}")
            .unwrap()
            .prop_map(PathBuf::from)
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_reads_back_what_to_args_writes(
            ctl in path(),
            data in proptest::option::of(path()),
            hub: bool,
            tap in proptest::option::of("[a-z][a-z0-9]{0,14}"),
            daemon: bool,
            mgmt in proptest::option::of(path()),
            pcap in proptest::option::of(path()),
            vxlan in proptest::collection::vec((0u32..=0xff_ffff, 1u8..255, 1u8..255), 0..3),
            mode in proptest::option::of(0u32..=0o777),
            group in proptest::option::of("[a-z0-9_-]{1,12}"),
            pcap_size in proptest::prop_oneof![proptest::strategy::Just(DEFAULT_PCAP_SIZE), 24u64..u64::MAX],
            bess in proptest::option::of(path()),
            fdpass in proptest::option::of(path()),
            stream in proptest::option::of(path()),
            dgram in proptest::collection::vec((path(), path()), 0..3),
            max_ports_per_user in 0usize..=super::super::PORT_SLOTS,
        ) {
            let dgram = dgram.into_iter().map(|(l, r)| super::super::qemu::DgramPeer { local: l, remote: r }).collect();
            let vxlan = vxlan.into_iter().map(|(v, l, r)| format!("{v},10.0.0.{l},10.1.0.{r}").parse().unwrap()).collect();
            let cfg = Config { argv0: "uml_switch".into(), ctl, data, hub, tap, daemon, mgmt, pcap, vxlan, mode, group, pcap_size, bess, fdpass, stream, dgram, l2tpv3: Vec::new(), max_ports_per_user };
            let mut argv = vec![OsString::from("uml_switch")];
            argv.extend(cfg.to_args());
            prop_assert_eq!(parse_args(&argv), Invocation::Run(cfg));
        }

        #[test]
        fn command_lines_of_real_flags_round_trip(words in proptest::collection::vec(proptest::prop_oneof![
            proptest::strategy::Just("-unix".to_string()), proptest::strategy::Just("-compat-v0".to_string()),
            proptest::strategy::Just("-hub".to_string()), proptest::strategy::Just("-tap".to_string()),
            proptest::strategy::Just("-mgmt".to_string()), proptest::strategy::Just("-pcap".to_string()),
            proptest::strategy::Just("-mode".to_string()), proptest::strategy::Just("-group".to_string()),
            proptest::strategy::Just("-pcap-size".to_string()), proptest::strategy::Just("-vxlan".to_string()),
            proptest::strategy::Just("-daemon".to_string()),
            "[0-7+]{1,4}", "[a-z/.-]{0,8}", "[0-9]{1,12}",
            proptest::strategy::Just("42,10.0.0.1:4789,10.0.0.2".to_string()),
        ], 0..10)) {
            fuzz_args(words.join("\0").as_bytes());
        }

        #[test]
        fn any_argv_parses_without_panicking(words in proptest::collection::vec("-?[a-z0-9/-]{0,12}", 0..8)) {
            let argv: Vec<OsString> = std::iter::once("sw".to_string()).chain(words).map(OsString::from).collect();
            let _ = parse_args(&argv);
        }
    }

    #[test]
    fn bad_lines_are_usage_errors() {
        for s in [
            "sw -bogus",
            "sw -unix",
            "sw -tap",
            "sw -compat-v0 -unix /t/c",
            "sw hub",
            "sw -mode 0999",
            "sw -mode 1777",
            "sw -mode",
            "sw -group",
            "sw -pcap-size 10",
            "sw -pcap-size lots",
        ] {
            assert!(
                matches!(parse_args(&args(s)), Invocation::Usage { .. }),
                "{s}"
            );
        }
    }
}
