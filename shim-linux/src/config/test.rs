//! Tests of the config file: the example plans, round trips, errors naming line and key.

use super::*;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use umlnet_core::host::{HostAction, LanRoute};

const EXAMPLE: &str = r#"
# the UML networking page's TUN/TAP example
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
        // root is the one user every host has (uid 0, primary group 0).
        proptest::option::of(Just(RunAs { uid: 0, gid: 0 })),
        proptest::option::of(0u32..=0o777),
        proptest::option::of(any::<u32>()),
        proptest::option::of(0usize..=crate::switchd::PORT_SLOTS),
    )
        .prop_map(
            |(socket, hub, tap, mgmt, program, vxlan, run_as, mode, group, max_ports_per_user)| {
                SwitchConfig {
                    socket: socket.into(),
                    hub,
                    tap,
                    mgmt: mgmt.map(PathBuf::from),
                    program: program.map(PathBuf::from),
                    vxlan: vxlan
                        .into_iter()
                        .map(|(vni, host, port)| {
                            format!("{vni},10.0.0.1:4789,10.0.1.{host}:{port}")
                        })
                        .collect(),
                    run_as,
                    mode,
                    group,
                    max_ports_per_user,
                }
            },
        )
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
    let cfg = parse(include_str!("../../../contrib/umlnet.example.toml")).unwrap();
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
    let cfg =
        parse("ip_forward = false\n[[tap]]\nname = \"tap0\"\nuser = 0\naddress = \"10.0.0.254\"\n")
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

#[test]
fn a_switch_runs_as_a_user_with_socket_mode_and_group() {
    let cfg =
        parse("[[switch]]\nsocket = \"/run/a.ctl\"\nuser = \"root\"\nmode = \"0660\"\ngroup = 0\n")
            .unwrap();
    let s = &cfg.switches[0];
    assert_eq!(s.run_as, Some(RunAs { uid: 0, gid: 0 }));
    assert_eq!(s.mode, Some(0o660));
    assert_eq!(s.group, Some(0));
    assert_eq!(
        s.args(),
        ["-unix", "/run/a.ctl", "-mode", "0660", "-group", "0"]
    );
    let steps = cfg.plan(&[]).unwrap();
    assert_eq!(
        steps[0].to_string(),
        "setpriv --reuid=0 --regid=0 --groups=0 uml_switch -unix /run/a.ctl -mode 0660 -group 0 &"
    );
    // Without the keys the switch is started as before.
    let plain = parse("[[switch]]\nsocket = \"/run/a.ctl\"\n").unwrap();
    assert_eq!(plain.switches[0].run_as, None);
    assert_eq!(plain.switches[0].args(), ["-unix", "/run/a.ctl"]);
}

#[test]
fn bad_switch_user_mode_and_group_name_the_line_and_the_fix() {
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\nmode = \"0999\"\n");
    assert_eq!((e.line, e.key.as_str()), (3, "switch[0].mode"));
    assert!(e.message.contains("like mode = \"0660\""), "{e}");
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\nmode = \"1777\"\n");
    assert_eq!(e.key, "switch[0].mode");
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\nmode = \"\"\n");
    assert_eq!(e.key, "switch[0].mode");
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\nuser = \"no-such-user-x\"\n");
    assert_eq!((e.line, e.key.as_str()), (3, "switch[0].user"));
    assert!(e.message.contains("no user 'no-such-user-x'"), "{e}");
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\nuser = 4000000000\n");
    assert!(e.message.contains("no uid 4000000000"), "{e}");
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\ngroup = \"no-such-group-x\"\n");
    assert_eq!((e.line, e.key.as_str()), (3, "switch[0].group"));
}

#[test]
fn a_switch_limits_the_ports_of_one_user() {
    let cfg = parse("[[switch]]\nsocket = \"/run/a.ctl\"\nmax_ports_per_user = 8\n").unwrap();
    assert_eq!(cfg.switches[0].max_ports_per_user, Some(8));
    assert_eq!(
        cfg.switches[0].args(),
        ["-unix", "/run/a.ctl", "-max-ports-per-user", "8"]
    );
    // What uml_switch itself refuses is refused here, on its line.
    for bad in ["-1", "4097"] {
        let e = error(&format!(
            "[[switch]]\nsocket = \"/run/a.ctl\"\nmax_ports_per_user = {bad}\n"
        ));
        assert_eq!(
            (e.line, e.key.as_str()),
            (3, "switch[0].max_ports_per_user"),
            "{e}"
        );
        assert!(e.message.contains("from 0 to 4096"), "{e}");
    }
    let e = error("[[switch]]\nsocket = \"/run/a.ctl\"\nmax_ports_per_user = \"8\"\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("invalid type"), "{e}");
}
