//! Tests of [`super`]: examples from the kernel and the original tools, and property tests.

use super::arg::strtoul0;
use super::*;

use core::fmt::Write as _;
use core::net::Ipv4Addr;

use proptest::prelude::*;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn name(s: &str) -> IfName {
    IfName::try_from(s).unwrap()
}

fn argv_of(call: &HelperCall) -> Vec<String> {
    call.to_argv().iter().map(|s| s.to_string()).collect()
}

#[test]
fn kernel_argv_as_observed() {
    // [OBS] `[4] [tuntap] [up] [10.9.0.1]`
    let c = HelperCall::parse(&["4", "tuntap", "up", "10.9.0.1"]).unwrap();
    assert_eq!(c.version, 4);
    assert_eq!(
        c.command,
        Command::TuntapUp {
            gate: Some(ip(10, 9, 0, 1))
        }
    );
    assert_eq!(argv_of(&c), ["4", "tuntap", "up", "10.9.0.1"]);
    // Without a gate the kernel omits the argument.
    let c = HelperCall::parse(&["4", "tuntap", "up"]).unwrap();
    assert_eq!(c.command, Command::TuntapUp { gate: None });
    assert_eq!(argv_of(&c), ["4", "tuntap", "up"]);
    // [OBS] `[4] [add] [tap0] [10.9.0.2] [255.255.255.0]`
    let c = HelperCall::parse(&["4", "add", "tap0", "10.9.0.2", "255.255.255.0"]).unwrap();
    assert_eq!(
        c.command,
        Command::Address {
            op: AddrOp::Add,
            dev: name("tap0"),
            ip: ip(10, 9, 0, 2),
            netmask: ip(255, 255, 255, 0)
        }
    );
    assert_eq!(c.command.transport(), Transport::Add);
    assert_eq!(
        argv_of(&c),
        ["4", "add", "tap0", "10.9.0.2", "255.255.255.0"]
    );
    let c = HelperCall::parse(&["4", "del", "sl0", "10.9.0.2", "255.255.255.255"]).unwrap();
    assert!(matches!(
        c.command,
        Command::Address {
            op: AddrOp::Del,
            ..
        }
    ));
    // [OBS] `[4] [ethertap] [tap0] [27] [10.9.5.1]`
    let c = HelperCall::parse(&["4", "ethertap", "tap0", "27", "10.9.5.1"]).unwrap();
    assert_eq!(
        c.command,
        Command::Ethertap {
            dev: name("tap0"),
            data_fd: 27,
            gate: Some(ip(10, 9, 5, 1))
        }
    );
    assert_eq!(argv_of(&c), ["4", "ethertap", "tap0", "27", "10.9.5.1"]);
    assert_eq!(c.to_string(), "4 ethertap tap0 27 10.9.5.1");
    let c = HelperCall::parse(&["4", "slip", "up", "10.1.1.1"]).unwrap();
    assert_eq!(
        c.command,
        Command::SlipUp {
            gate: ip(10, 1, 1, 1)
        }
    );
    let c = HelperCall::parse(&["4", "slip", "down", "sl0"]).unwrap();
    assert_eq!(c.command, Command::SlipDown { name: name("sl0") });
    let c = HelperCall::parse(&["4", "slip", "down", ""]).unwrap();
    assert_eq!(
        c.command,
        Command::SlipDown {
            name: IfName::new()
        }
    );
    let c = HelperCall::parse(&["4", "tuntap", "add", "tap0", "10.0.0.2", "255.0.0.0"]).unwrap();
    assert!(matches!(
        c.command,
        Command::TuntapChange {
            netmask: Some(_),
            ..
        }
    ));
}

#[test]
fn older_forms() {
    // No version: argv[1] is the transport, version 0.
    let c = HelperCall::parse(&["ethertap", "tap0", "13", "192.168.0.4", "192.168.0.250"]).unwrap();
    assert_eq!(
        c,
        HelperCall {
            version: 0,
            command: Command::EthertapV0 {
                dev: name("tap0"),
                fd: 13,
                gate: Some(ip(192, 168, 0, 4)),
                remote: Some(ip(192, 168, 0, 250))
            }
        }
    );
    assert_eq!(
        argv_of(&c),
        ["ethertap", "tap0", "13", "192.168.0.4", "192.168.0.250"]
    );
    let c = HelperCall::parse(&["2", "ethertap", "tap1", "5", "6", "10.0.0.1"]).unwrap();
    assert!(matches!(
        c.command,
        Command::EthertapControlFd {
            data_fd: 5,
            control_fd: 6,
            ..
        }
    ));
    let c = HelperCall::parse(&["3", "ethertap", "tap1", "5", "10.0.0.1"]).unwrap();
    assert!(matches!(c.command, Command::Ethertap { data_fd: 5, .. }));
    let c = HelperCall::parse(&["2", "tuntap", "up", "x", "7", "10.0.0.1"]).unwrap();
    assert!(matches!(c.command, Command::TuntapUpFd { fd: 7, .. }));
    let c = HelperCall::parse(&["3", "tuntap", "del", "tap0", "10.0.0.2"]).unwrap();
    assert!(matches!(
        c.command,
        Command::TuntapChange { netmask: None, .. }
    ));
    let c = HelperCall::parse(&["3", "slip", "up", "4", "10.0.0.1", "10.0.0.2"]).unwrap();
    assert_eq!(
        c.command,
        Command::SlipUpFd {
            fd: 4,
            gate: ip(10, 0, 0, 1),
            remote: Some(ip(10, 0, 0, 2))
        }
    );
    let c = HelperCall::parse(&["slip", "down", "4"]).unwrap();
    assert_eq!(
        c.command,
        Command::SlipDownFd {
            fd: 4,
            remote: None
        }
    );
    // strtoul base 0: hex and octal versions.
    assert_eq!(
        HelperCall::parse(&["0x4", "tuntap", "up"]).unwrap().version,
        4
    );
    assert_eq!(
        HelperCall::parse(&["04", "tuntap", "up"]).unwrap().version,
        4
    );
    // Forms a version does not have.
    assert_eq!(
        HelperCall::parse(&["3", "add", "tap0", "10.0.0.1", "255.0.0.0"]),
        Err(ArgvError::NoHandler {
            version: 3,
            what: "add"
        })
    );
    let e = HelperCall::parse(&["1", "tuntap", "up"]).unwrap_err();
    assert_eq!(e.to_string(), "No version #1 handler for 'tuntap'");
}

#[test]
fn version_errors() {
    let e = HelperCall::parse(&["5", "tuntap", "up"]).unwrap_err();
    assert_eq!(e, ArgvError::VersionMismatch { requested: 5 });
    assert_eq!(
        e.to_string(),
        "Version mismatch - requested version 5, uml_net supports up to version 4"
    );
    let e = HelperCall::parse(&["-1", "tuntap", "up"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Version mismatch - requested version -1, uml_net supports up to version 4"
    );
    let e = HelperCall::parse(&["99999999999999999999999", "tuntap"]).unwrap_err();
    assert!(matches!(e, ArgvError::VersionMismatch { .. }));
    assert_eq!(
        HelperCall::parse(&["4x", "tuntap", "up"]),
        Err(ArgvError::BadArgument {
            position: 1,
            expected: Expected::Version,
            found: "4x"
        })
    );
    let e = HelperCall::parse(&["4", "pcap", "up"]).unwrap_err();
    assert_eq!(e.to_string(), "Unknown transport : 'pcap'");
    let e = HelperCall::parse(&["4"]).unwrap_err();
    assert!(e.to_string().starts_with("bad argument list"));
    assert!(HelperCall::parse(&[]).is_err());
}

#[test]
fn hostile_arguments_are_refused() {
    let cases: &[(&[&str], usize, Expected)] = &[
        (
            &["4", "add", "tap0;rm -rf /", "10.0.0.2", "255.255.255.0"],
            3,
            Expected::InterfaceName,
        ),
        (
            &["4", "add", "$(id)", "10.0.0.2", "255.255.255.0"],
            3,
            Expected::InterfaceName,
        ),
        (
            &["4", "add", "abcdefghijklmnop", "10.0.0.2", "255.255.255.0"],
            3,
            Expected::InterfaceName,
        ),
        (
            &["4", "add", "", "10.0.0.2", "255.255.255.0"],
            3,
            Expected::InterfaceName,
        ),
        (
            &["4", "add", "tap0", "10.0.0.1 ", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "0x0a.0.0.1", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "+10.0.0.1", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "010.0.0.1", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "10.0.0", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "10.0.0.1.5", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "10.0.0.256", "255.255.255.0"],
            4,
            Expected::Ipv4,
        ),
        (
            &["4", "add", "tap0", "10.0.0.1", "255.0.255.0"],
            5,
            Expected::Netmask,
        ),
        (
            &["4", "ethertap", "eth0", "27", "10.9.5.1"],
            3,
            Expected::TapName,
        ),
        (
            &["4", "ethertap", "tap01", "27", "10.9.5.1"],
            3,
            Expected::TapName,
        ),
        (&["4", "ethertap", "tap0", "2", "10.9.5.1"], 4, Expected::Fd),
        (&["4", "ethertap", "tap0", "0", "10.9.5.1"], 4, Expected::Fd),
        (
            &["4", "ethertap", "tap0", "65536", "10.9.5.1"],
            4,
            Expected::Fd,
        ),
        (
            &["4", "ethertap", "tap0", "-5", "10.9.5.1"],
            4,
            Expected::Fd,
        ),
        (
            &["4", "ethertap", "tap0", "027", "10.9.5.1"],
            4,
            Expected::Fd,
        ),
        (
            &["4", "slip", "down", "sl0/../x"],
            4,
            Expected::InterfaceName,
        ),
    ];
    for (argv, position, expected) in cases {
        let e = HelperCall::parse(argv).unwrap_err();
        assert_eq!(
            e,
            ArgvError::BadArgument {
                position: *position,
                expected: *expected,
                found: argv[*position - 1]
            },
            "{argv:?}"
        );
    }
    let e =
        HelperCall::parse(&["4", "add", "tap0;rm -rf /", "10.0.0.2", "255.255.255.0"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "argv[3]: expected an interface name of 1 to 15 letters or digits, found 'tap0;rm -rf /'"
    );
    let e =
        HelperCall::parse(&["4", "add", "a\u{1b}[2J", "10.0.0.2", "255.255.255.0"]).unwrap_err();
    assert!(e.to_string().ends_with("found 'a\\x1b[2J'"), "{e}");
}

#[test]
fn missing_and_extra_arguments() {
    assert_eq!(
        HelperCall::parse(&["4", "add", "tap0", "10.0.0.2"]),
        Err(ArgvError::TooFew {
            command: "add_address_v4",
            position: 5,
            expected: Expected::Netmask
        })
    );
    let e = HelperCall::parse(&["4", "ethertap", "tap0"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Too few arguments to ethertap_v4: argv[4] should be a file descriptor number from 3 to 65535"
    );
    let e = HelperCall::parse(&["2", "tuntap", "up"]).unwrap_err();
    assert!(
        e.to_string().starts_with("Too few arguments to tuntap_up"),
        "{e}"
    );
    let e = HelperCall::parse(&["4", "tuntap"]).unwrap_err();
    assert!(
        e.to_string().starts_with("Too few arguments to tuntap_v4"),
        "{e}"
    );
    let e = HelperCall::parse(&["4", "tuntap", "up", "10.0.0.1", "10.0.0.2"]).unwrap_err();
    assert_eq!(
        e,
        ArgvError::TooMany {
            command: "tuntap_up",
            position: 5,
            found: "10.0.0.2"
        }
    );
    assert_eq!(
        e.to_string(),
        "Too many arguments to tuntap_up: argv[5] '10.0.0.2' is not expected"
    );
    let e = HelperCall::parse(&["4", "tuntap", "sideways"]).unwrap_err();
    assert_eq!(e.to_string(), "Bad tuntap op : 'sideways' (argv[3])");
    let e = HelperCall::parse(&["4", "slip", "add"]).unwrap_err();
    assert!(matches!(
        e,
        ArgvError::UnknownOp {
            transport: Transport::Slip,
            ..
        }
    ));
    assert!(HelperCall::parse(&["4", "slip", "up"]).is_err());
    assert!(HelperCall::parse(&["4", "add", "tap0", "10.0.0.2", "255.255.255.0", "x"]).is_err());
}

#[test]
fn strtoul_like_c() {
    assert_eq!(strtoul0("4"), (4, 1));
    assert_eq!(strtoul0("0x10"), (16, 4));
    assert_eq!(strtoul0("010"), (8, 3));
    assert_eq!(strtoul0("0x"), (0, 1));
    assert_eq!(strtoul0("09"), (0, 1));
    assert_eq!(strtoul0("  +7z"), (7, 4));
    assert_eq!(strtoul0("-1"), (u32::MAX, 2));
    assert_eq!(strtoul0("tuntap"), (0, 0));
    assert_eq!(strtoul0(""), (0, 0));
    assert_eq!(strtoul0("+"), (0, 0));
}

#[test]
fn output_block_bytes() {
    let mut buf = [0xffu8; 64];
    assert_eq!(emit_output_block(b"", &mut buf), Ok(4));
    assert_eq!(&buf[..4], &[0, 0, 0, 0]);
    assert_eq!(
        parse_output_block(&buf[..4]),
        Ok(OutputBlock { text: b"", len: 4 })
    );
    let text = b"* route add -host 10.9.0.2 dev tap0\n";
    let n = emit_output_block(text, &mut buf).unwrap();
    assert_eq!(n, 4 + text.len() + 1);
    assert_eq!(&buf[..4], &[(text.len() + 1) as u8, 0, 0, 0]);
    assert_eq!(buf[n - 1], 0);
    let b = parse_output_block(&buf[..n + 3]).unwrap();
    assert_eq!((b.text, b.len), (&text[..], n));
    // The observed add reply: `5f 00 00 00` then 95 bytes ending in NUL.
    let mut obs = std::vec![0x5f, 0, 0, 0];
    obs.extend_from_slice(&[b'x'; 94]);
    obs.push(0);
    assert_eq!(parse_output_block(&obs).unwrap().text.len(), 94);
    let e = parse_output_block(&obs[..50]).unwrap_err();
    assert_eq!(
        e,
        OutputError::ShortData {
            got: 46,
            expected: 95
        }
    );
    assert_eq!(
        e.to_string(),
        "read_output - read of data failed, read only 46 of 95 bytes"
    );
    let e = parse_output_block(&obs[..2]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "read_output - read of length failed, read only 2 of 4 bytes"
    );
    assert_eq!(
        parse_output_block(&[0xff, 0xff, 0xff, 0xff]),
        Err(OutputError::NegativeLength(-1))
    );
    assert_eq!(
        emit_output_block(text, &mut buf[..10]),
        Err(BufferTooSmall { needed: n, got: 10 })
    );
}

#[test]
fn output_lines() {
    let argv = ["route", "add", "-host", "10.9.0.2", "dev", "tap0"];
    assert_eq!(
        EchoLine(&argv).to_string(),
        "* route add -host 10.9.0.2 dev tap0\n"
    );
    assert_eq!(EchoLine(&[]).to_string(), "*\n");
    assert_eq!(
        NotZeroLine("ifconfig").to_string(),
        "'ifconfig' didn't exit with status 0\n"
    );
    assert_eq!(
        ExecFailedLine {
            argv0: "modprobe",
            error: "No such file or directory"
        }
        .to_string(),
        "Failed to exec 'modprobe'No such file or directory\n"
    );
}

#[test]
fn tuntap_reply_layouts() {
    let text = b"* ifconfig tap0 10.9.0.1 netmask 255.255.255.255 up\n";
    let r = TuntapUpReply::Ready {
        name: name("tap0"),
        text,
    };
    let mut buf = [0u8; 256];
    let n = r.emit(&mut buf).unwrap();
    assert_eq!(n, 16 + text.len() + 1);
    assert_eq!(&buf[..16], b"tap0\0\0\0\0\0\0\0\0\0\0\0\0");
    assert_eq!(&buf[16..n - 1], &text[..]);
    assert_eq!(buf[n - 1], 0);
    assert_eq!(TuntapUpReply::parse(&buf[..n], true), Ok(r));
    // Failure: no name part, no fd.
    let f = TuntapUpReply::Failed {
        text: b"Too few arguments to tuntap_up\n",
    };
    let n = f.emit(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"Too few arguments to tuntap_up\n\0");
    assert_eq!(TuntapUpReply::parse(&buf[..n], false), Ok(f));
    assert_eq!(
        TuntapUpReply::parse(b"abc", false),
        Err(TuntapReplyError::MissingNul)
    );
    assert_eq!(
        TuntapUpReply::parse(b"tap0\0", true),
        Err(TuntapReplyError::ShortName { got: 5 })
    );
    assert_eq!(
        TuntapUpReply::parse(b"tap0\0\0\0\0\0\0\0\0\0\0x\0hi\0", true),
        Err(TuntapReplyError::BadName)
    );
    assert_eq!(
        TuntapUpReply::parse(b"ta/0\0\0\0\0\0\0\0\0\0\0\0\0hi\0", true),
        Err(TuntapReplyError::BadName)
    );
    // A lone NUL is the shortest text the kernel accepts.
    assert_eq!(
        TuntapUpReply::parse(b"tap3\0\0\0\0\0\0\0\0\0\0\0\0\0", true),
        Ok(TuntapUpReply::Ready {
            name: name("tap3"),
            text: b""
        })
    );
}

#[test]
fn ethertap_status_and_control() {
    assert_eq!(EthertapStatus::from_byte(0x01), EthertapStatus::Ready);
    assert_eq!(EthertapStatus::from_byte(0x00), EthertapStatus::Failed);
    assert_eq!(EthertapStatus::from_byte(0x02), EthertapStatus::Failed);
    assert_eq!(EthertapStatus::Ready.to_byte(), 1);
    assert_eq!(EthertapStatus::Failed.to_byte(), 0);
    // [OBS] `00000000 0a090702 ffffff00`, then `01000000 0a090702 ffffff00`.
    let add = [0, 0, 0, 0, 0x0a, 0x09, 0x07, 0x02, 0xff, 0xff, 0xff, 0x00];
    let v = AddrChange::new_checked(&add[..]).unwrap();
    let r = AddrChangeRepr::parse(&v);
    assert_eq!(
        r,
        AddrChangeRepr {
            op: ChangeOp::Add,
            addr: ip(10, 9, 7, 2),
            netmask: ip(255, 255, 255, 0)
        }
    );
    let del = AddrChangeRepr {
        op: ChangeOp::Del,
        ..r
    };
    let mut buf = [0u8; 12];
    del.emit(&mut AddrChange::new_unchecked(&mut buf[..]));
    assert_eq!(
        buf,
        [1, 0, 0, 0, 0x0a, 0x09, 0x07, 0x02, 0xff, 0xff, 0xff, 0x00]
    );
    assert_eq!(
        AddrChange::new_checked(&add[..11]).unwrap_err(),
        Truncated {
            needed: 12,
            got: 11
        }
    );
    let mut odd = add;
    odd[0] = 7;
    assert_eq!(
        AddrChangeRepr::parse(&AddrChange::new_checked(&odd[..]).unwrap()).op,
        ChangeOp::Unknown(7)
    );
    let v3 = AddrChangeRepr::parse_v3(&add[..8]).unwrap();
    assert_eq!((v3.op, v3.addr), (ChangeOp::Add, ip(10, 9, 7, 2)));
}

fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn arb_mask() -> impl Strategy<Value = Ipv4Addr> {
    (0u32..=32).prop_map(|n| Ipv4Addr::from(u32::MAX.checked_shl(32 - n).unwrap_or(0)))
}

fn arb_name() -> impl Strategy<Value = IfName> {
    "[a-zA-Z0-9]{1,15}".prop_map(|s| IfName::try_from(s.as_str()).unwrap())
}

fn arb_tap() -> impl Strategy<Value = IfName> {
    (0u16..10000).prop_map(|n| {
        let mut s = IfName::new();
        write!(s, "tap{n}").unwrap();
        s
    })
}

fn arb_fd() -> impl Strategy<Value = u16> {
    3u16..=u16::MAX
}

fn arb_op() -> impl Strategy<Value = AddrOp> {
    prop_oneof![Just(AddrOp::Add), Just(AddrOp::Del)]
}

fn arb_call() -> impl Strategy<Value = HelperCall> {
    let v4 = prop_oneof![
        proptest::option::of(arb_ip()).prop_map(|gate| Command::TuntapUp { gate }),
        (arb_op(), arb_name(), arb_ip(), arb_mask()).prop_map(|(op, dev, ip, m)| {
            Command::TuntapChange {
                op,
                dev,
                ip,
                netmask: Some(m),
            }
        }),
        (arb_tap(), arb_fd(), proptest::option::of(arb_ip()))
            .prop_map(|(dev, data_fd, gate)| Command::Ethertap { dev, data_fd, gate }),
        arb_ip().prop_map(|gate| Command::SlipUp { gate }),
        prop_oneof![arb_name(), Just(IfName::new())].prop_map(|name| Command::SlipDown { name }),
        (arb_op(), arb_name(), arb_ip(), arb_mask()).prop_map(|(op, dev, ip, netmask)| {
            Command::Address {
                op,
                dev,
                ip,
                netmask,
            }
        }),
    ]
    .prop_map(|command| HelperCall {
        version: 4,
        command,
    });
    let old = prop_oneof![
        (
            "[a-zA-Z0-9._-]{1,15}",
            arb_fd(),
            proptest::option::of(arb_ip())
        )
            .prop_map(|(w, fd, gate)| HelperCall {
                version: 2,
                command: Command::TuntapUpFd {
                    ignored: Arg::try_from(w.as_str()).unwrap(),
                    fd,
                    gate
                }
            }),
        (arb_op(), arb_name(), arb_ip()).prop_map(|(op, dev, ip)| HelperCall {
            version: 3,
            command: Command::TuntapChange {
                op,
                dev,
                ip,
                netmask: None
            }
        }),
        (
            arb_tap(),
            arb_fd(),
            arb_fd(),
            proptest::option::of(arb_ip()),
            1u32..=2
        )
            .prop_map(|(dev, data_fd, control_fd, gate, version)| HelperCall {
                version,
                command: Command::EthertapControlFd {
                    dev,
                    data_fd,
                    control_fd,
                    gate
                }
            }),
        (
            arb_tap(),
            arb_fd(),
            proptest::option::of((arb_ip(), proptest::option::of(arb_ip())))
        )
            .prop_map(|(dev, fd, gr)| HelperCall {
                version: 0,
                command: Command::EthertapV0 {
                    dev,
                    fd,
                    gate: gr.map(|(g, _)| g),
                    remote: gr.and_then(|(_, r)| r)
                }
            }),
        (arb_fd(), arb_ip(), proptest::option::of(arb_ip()), 0u32..=3).prop_map(
            |(fd, gate, remote, version)| HelperCall {
                version,
                command: Command::SlipUpFd { fd, gate, remote }
            }
        ),
        (arb_fd(), proptest::option::of(arb_ip()), 0u32..=3).prop_map(|(fd, remote, version)| {
            HelperCall {
                version,
                command: Command::SlipDownFd { fd, remote },
            }
        }),
    ];
    prop_oneof![v4, old]
}

fn arb_word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("4".to_string()),
        Just("tuntap".to_string()),
        Just("ethertap".to_string()),
        Just("slip".to_string()),
        Just("add".to_string()),
        Just("del".to_string()),
        Just("up".to_string()),
        Just("down".to_string()),
        Just("tap0".to_string()),
        Just("10.0.0.1".to_string()),
        Just("255.255.255.0".to_string()),
        Just("27".to_string()),
        "[a-z0-9.]{1,6}",
    ]
}

proptest! {
    #[test]
    fn encode_parse_identity(call in arb_call()) {
        let argv = call.to_argv();
        let strs: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
        prop_assert_eq!(HelperCall::parse(&strs), Ok(call.clone()));
        // The Display form is the same argv, space-separated.
        prop_assert_eq!(call.to_string(), strs.join(" "));
    }

    #[test]
    fn ipv4_print_parse(a in arb_ip()) {
        prop_assert_eq!(parse_ipv4(&a.to_string()), Some(a));
    }

    #[test]
    fn ipv4_parse_agrees_with_std(s in "[0-9.+x ]{0,18}") {
        // Where ours accepts, std accepts the same value (std is strict too).
        if let Some(a) = parse_ipv4(&s) {
            prop_assert_eq!(s.parse::<Ipv4Addr>().ok(), Some(a));
        }
    }

    #[test]
    fn output_block_round_trip(text in proptest::collection::vec(1u8..=255, 0..300)) {
        let mut buf = [0u8; 400];
        let n = emit_output_block(&text, &mut buf).unwrap();
        prop_assert_eq!(n, output_block_len(&text));
        prop_assert_eq!(parse_output_block(&buf[..n]), Ok(OutputBlock { text: &text, len: n }));
    }

    #[test]
    fn tuntap_reply_round_trip(n in arb_name(), text in proptest::collection::vec(1u8..=255, 0..200), ok in any::<bool>()) {
        let r = if ok { TuntapUpReply::Ready { name: n, text: &text } } else { TuntapUpReply::Failed { text: &text } };
        let mut buf = [0u8; 300];
        let len = r.emit(&mut buf).unwrap();
        prop_assert_eq!(TuntapUpReply::parse(&buf[..len], ok), Ok(r));
    }

    #[test]
    fn addr_change_round_trip(op in any::<u32>(), addr in arb_ip(), netmask in arb_ip()) {
        let r = AddrChangeRepr { op: op.into(), addr, netmask };
        let mut buf = [0u8; 12];
        r.emit(&mut AddrChange::new_unchecked(&mut buf[..]));
        prop_assert_eq!(AddrChangeRepr::parse(&AddrChange::new_checked(&buf[..]).unwrap()), r);
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzz_argv(&data);
    }

    #[test]
    fn fuzz_words(words in proptest::collection::vec(arb_word(), 0..7)) {
        fuzz_argv(words.join(" ").as_bytes());
    }
}
