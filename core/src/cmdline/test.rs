//! Tests of [`super`]: examples from the kernel and the original tools, and property tests.

use super::*;
use crate::mac::{MacAddr, MacError};

use core::net::Ipv4Addr;

use super::fuzz::assert_round_trip;
use proptest::prelude::*;
use std::string::{String, ToString};
use std::vec::Vec;

fn ok(arg: &str) -> Parsed {
    parse(arg).unwrap_or_else(|e| panic!("{arg}: {}", e.display(arg)))
}
fn err(arg: &str) -> Error {
    match parse(arg) {
        Ok(p) => panic!("{arg} parsed as {:?}", p.spec),
        Err(e) => e,
    }
}
fn msg(arg: &str) -> String {
    err(arg).display(arg).to_string()
}
fn s(x: &str) -> heapless::String<16> {
    heapless::String::try_from(x).unwrap()
}

/// Every command-line example of the UML networking page.
#[test]
fn networking_page_examples() {
    let p = ok("eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254");
    assert_eq!(
        p.spec,
        DeviceSpec {
            index: 0,
            transport: Transport::Ethertap(Ethertap {
                dev: IfName::try_from("tap0").unwrap(),
                mac: Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1])),
                gate: Some(Ipv4Addr::new(192, 168, 0, 254)),
            })
        }
    );
    assert!(p.warnings.is_empty());
    assert_eq!(
        p.spec.to_string(),
        "eth0=ethertap,tap0,fe:fd:00:00:00:01,192.168.0.254"
    );

    let p = ok("eth0=mcast");
    assert_eq!(
        p.spec.transport,
        Transport::Mcast(Mcast {
            mac: None,
            group: DEFAULT_MCAST_GROUP,
            port: 1102,
            ttl: 1
        })
    );
    assert_eq!(p.spec.to_string(), "eth0=mcast");

    let p = ok("eth0=tuntap,,,192.168.0.254");
    assert_eq!(
        p.spec.transport,
        Transport::Tuntap(Tuntap {
            dev: None,
            mac: None,
            gate: Some(Ipv4Addr::new(192, 168, 0, 254))
        })
    );
    assert_eq!(p.spec.to_string(), "eth0=tuntap,,,192.168.0.254");

    let p = ok("eth0=daemon");
    let Transport::Daemon(d) = &p.spec.transport else {
        panic!()
    };
    assert_eq!(
        (d.sock_type.as_str(), d.ctl_or_default()),
        ("unix", DEBIAN_DAEMON_CTL)
    );
    assert!(p.warnings.is_empty());

    let p = ok("eth0=slip,192.168.0.251");
    assert_eq!(
        p.spec.transport,
        Transport::Slip(Slip {
            gate: Some(Ipv4Addr::new(192, 168, 0, 251))
        })
    );
}

/// The table of docs/protocols.md §1.3 and the observations of §1.1 and §1.2.
#[test]
fn spec_table_examples() {
    let p = ok("eth1=mcast,,239.1.2.3,1234,2");
    assert_eq!(
        p.spec.transport,
        Transport::Mcast(Mcast {
            mac: None,
            group: Ipv4Addr::new(239, 1, 2, 3),
            port: 1234,
            ttl: 2
        })
    );
    let p = ok("eth0=daemon,,unix,/tmp/x/ctl,/tmp/x/data");
    let Transport::Daemon(d) = &p.spec.transport else {
        panic!()
    };
    assert_eq!(d.ctl.as_deref(), Some("/tmp/x/ctl"));
    assert_eq!(d.data.as_deref(), Some("/tmp/x/data"));
    assert_eq!(p.warnings.as_slice(), &[Warning::DataSocketIgnored]);
    let p = ok("eth0=daemon,,inet,/tmp/x");
    assert_eq!(p.warnings.as_slice(), &[Warning::SockTypeNotUnix]);
    let p = ok("eth2=ucast,,10.0.0.2");
    assert_eq!(
        p.spec.transport,
        Transport::Ucast(Ucast {
            mac: None,
            remote: Some(Ipv4Addr::new(10, 0, 0, 2)),
            lport: 1102,
            rport: 1102
        })
    );
    let p = ok("eth3=vde,/tmp/vde.ctl,,5,users,770,my_guest");
    let Transport::Vde(v) = &p.spec.transport else {
        panic!()
    };
    assert_eq!(
        (v.port, v.mode, v.descr.as_deref()),
        (Some(5), Some(0o770), Some("my_guest"))
    );
    assert_eq!(
        p.spec.to_string(),
        "eth3=vde,/tmp/vde.ctl,,5,users,770,my_guest"
    );
    let p = ok("eth4=slirp,,/usr/bin/slirp-fullbolt,-P_1");
    let Transport::Slirp(sl) = &p.spec.transport else {
        panic!()
    };
    let args: Vec<String> = sl.args().map(|a| a.to_string()).collect();
    assert_eq!(args, ["/usr/bin/slirp-fullbolt", "-P 1"]);
    let p = ok("eth4=slirp,fe:fd:0:0:0:4,slirp");
    assert_eq!(p.warnings.as_slice(), &[Warning::SlirpMacUnused]);
    let p = ok("eth4=slirp");
    let Transport::Slirp(sl) = &p.spec.transport else {
        panic!()
    };
    assert_eq!(
        sl.args().map(|a| a.to_string()).collect::<Vec<_>>(),
        ["slirp"]
    );
    let p = ok("vec0:transport=tap,ifname=tap0");
    let Transport::Vector(v) = &p.spec.transport else {
        panic!()
    };
    assert_eq!(v.kind(), VectorKind::Tap);
    assert_eq!(p.spec.to_string(), "vec0:transport=tap,ifname=tap0");
}

/// Canonical strings print back unchanged; non-canonical ones print canonically.
#[test]
fn canonical_strings_print_back() {
    for c in [
        "eth0=ethertap,tap0",
        "eth0=ethertap,tap0,,192.168.0.254",
        "eth1=tuntap",
        "eth1=tuntap,tap3",
        "eth1=tuntap,,fe:fd:0a:00:00:01",
        "eth2=mcast,,239.1.2.3,1234,2",
        "eth2=mcast,,,,0",
        "eth3=daemon,,,/tmp/uml.ctl",
        "eth3=daemon,,inet",
        "eth3=daemon,,,,/tmp/uml.data",
        "eth4=slip",
        "eth4=slip,10.0.0.1",
        "eth5=ucast,,10.0.0.2,1103,1104",
        "eth6=vde,,fe:fd:00:00:00:06",
        "eth7=slirp,,slirp,-P_1",
        "vec0:transport=raw,ifname=p0",
    ] {
        assert_eq!(ok(c).spec.to_string(), c);
    }
    for (given, canonical) in [
        ("eth0=mcast,,239.192.168.1,1102,1", "eth0=mcast"),
        ("eth0=daemon,,unix,,", "eth0=daemon,,,,"),
        (
            "eth010=tuntap,,FE:FD:0:0:0:1,",
            "eth8=tuntap,,fe:fd:00:00:00:01",
        ),
        ("eth0x1=ucast,,10.0.0.2,1102", "eth1=ucast,,10.0.0.2"),
        ("eth0=vde,,,,,0755", "eth0=vde,,,,,755"),
    ] {
        assert_eq!(ok(given).spec.to_string(), canonical);
    }
}

#[test]
fn device_number_is_read_with_base_zero() {
    let p = ok("eth0x1=mcast");
    assert_eq!(p.spec.index, 1);
    assert_eq!(
        p.warnings.as_slice(),
        &[Warning::NonDecimalDeviceNumber { index: 1 }]
    );
    assert_eq!(ok("eth010=mcast").spec.index, 8);
    assert!(ok("eth10=mcast").warnings.is_empty());
    assert!(ok("eth0=mcast").warnings.is_empty());
    let e = err("ethx=mcast");
    assert_eq!(
        (e.kind, e.field),
        (ErrorKind::BadDeviceNumber, Some(Field::DeviceNumber))
    );
    assert_eq!(
        msg("ethx=mcast"),
        "eth: device number: expected a device number after 'eth', found 'x' (kernel: 'Bad device number')"
    );
    // `08`: octal stops at 8, so the kernel wants '=' where the 8 is.
    let e = err("eth08=mcast");
    assert_eq!((e.kind, e.index), (ErrorKind::MissingEquals, Some(0)));
    assert_eq!(err("eth0mcast").kind, ErrorKind::MissingEquals);
    assert_eq!(
        err("eth99999999999=mcast").kind,
        ErrorKind::DeviceNumberTooLarge
    );
    assert_eq!(err("mem=64M").kind, ErrorKind::NotNetworkArgument);
    assert_eq!(err("vec0=transport=tap").kind, ErrorKind::MissingColon);
}

#[test]
fn transports_are_matched_by_whole_name() {
    assert_eq!(err("eth7=bogus").kind, ErrorKind::UnknownTransport);
    assert_eq!(err("eth7=mcastx").kind, ErrorKind::UnknownTransport);
    assert_eq!(err("eth7=").kind, ErrorKind::UnknownTransport);
    assert_eq!(err("eth7=pcap,eth0").kind, ErrorKind::TransportNotBuilt);
    assert!(msg("eth7=bogus").contains("found 'bogus'"));
    assert!(msg("eth7=bogus").contains("silently"));
    // `mcast,` is `mcast`.
    assert_eq!(ok("eth0=mcast,").spec, ok("eth0=mcast").spec);
}

#[test]
fn mcast_fields() {
    assert_eq!(
        msg("eth0=mcast,,,abc"),
        "eth0: mcast port: expected a number 0-65535, found 'abc'"
    );
    assert_eq!(err("eth0=mcast,,,12a").kind, ErrorKind::BadPort);
    assert_eq!(err("eth0=mcast,,,+1").kind, ErrorKind::BadPort);
    assert_eq!(
        err("eth0=mcast,,,70000").kind,
        ErrorKind::PortOutOfRange { kernel_uses: 4464 }
    );
    assert!(msg("eth0=mcast,,,70000").contains("4464"));
    assert_eq!(err("eth0=mcast,,,1,x").kind, ErrorKind::BadTtl);
    assert_eq!(err("eth0=mcast,,,1,300").kind, ErrorKind::TtlOutOfRange);
    let e = err("eth0=mcast,,,,,extra");
    assert_eq!(
        (e.kind, e.field),
        (ErrorKind::ExtraFields { max: 4 }, Some(Field::Extra))
    );
    assert_eq!(e.found.of("eth0=mcast,,,,,extra"), "extra");
    assert_eq!(err("eth0=mcast,,abc").kind, ErrorKind::BadAddress);
    assert_eq!(
        ok("eth0=mcast,,,0").warnings.as_slice(),
        &[Warning::PortZero { field: Field::Port }]
    );
    assert_eq!(
        ok("eth0=mcast,,10.0.0.1").warnings.as_slice(),
        &[Warning::GroupNotMulticast(Ipv4Addr::new(10, 0, 0, 1))]
    );
    // Empty fields keep the defaults.
    assert_eq!(ok("eth0=mcast,,,,").spec, ok("eth0=mcast").spec);
    assert_eq!(ok("eth0=mcast,,,,5").spec.to_string(), "eth0=mcast,,,,5");
}

#[test]
fn mac_field_follows_the_kernel_reader() {
    let e = err("eth0=mcast,02:00:00:00:00,239.1.1.1");
    assert_eq!(e.kind, ErrorKind::Mac(MacError::TooFewOctets { octets: 5 }));
    assert_eq!(e.field, Some(Field::Mac));
    assert!(msg("eth0=mcast,02:00:00:00:00,239.1.1.1").contains("found '02:00:00:00:00'"));
    assert_eq!(
        err("eth0=mcast,02-00-00-00-00-01").kind,
        ErrorKind::Mac(MacError::BadOctet { octet: 0 })
    );
    assert_eq!(
        err("eth0=mcast,03:00:00:00:00:01").kind,
        ErrorKind::Mac(MacError::Multicast)
    );
    assert_eq!(
        err("eth0=mcast,0:0:0:0:0:0").kind,
        ErrorKind::Mac(MacError::Zero)
    );
    assert!(msg("eth0=mcast,ff:ff:ff:ff:ff:ff").contains("odd"));
    let p = ok("eth0=mcast,102:00:00:00:00:12");
    assert_eq!(p.spec.transport.mac(), Some(MacAddr([2, 0, 0, 0, 0, 0x12])));
    assert_eq!(
        p.warnings.as_slice(),
        &[Warning::MacReadDifferently {
            kernel_reads: MacAddr([2, 0, 0, 0, 0, 0x12]),
            quirk: MacQuirk::OctetTruncated
        }]
    );
    let p = ok("eth0=tuntap,,02:00:00:00:00:01:07");
    assert!(matches!(
        p.warnings[0],
        Warning::MacReadDifferently {
            quirk: MacQuirk::ExtraOctets,
            ..
        }
    ));
    let p = ok("eth0=tuntap,,0x02:00:00:00:00:11");
    assert!(p.warnings.is_empty());
    assert_eq!(p.spec.to_string(), "eth0=tuntap,,02:00:00:00:00:11");
    let p = ok("eth0=daemon,00:11:22:33:44:55");
    assert_eq!(
        p.warnings.as_slice(),
        &[Warning::GloballyAdministeredMac(MacAddr([
            0, 0x11, 0x22, 0x33, 0x44, 0x55
        ]))]
    );
    assert!(p.warnings[0].to_string().contains("02:11:22:33:44:55"));
}

#[test]
fn tap_transports() {
    let e = err("eth3=ethertap");
    assert_eq!(
        (e.kind, e.field),
        (ErrorKind::MissingEthertapDevice, Some(Field::Dev))
    );
    assert_eq!(
        err("eth3=ethertap,,fe:fd:0:0:0:1").kind,
        ErrorKind::MissingEthertapDevice
    );
    assert_eq!(
        err("eth4=tuntap,,,,extra").kind,
        ErrorKind::ExtraFields { max: 3 }
    );
    // A trailing comma after the third field is a fourth (empty) field.
    assert_eq!(
        err("eth4=tuntap,,,,").kind,
        ErrorKind::ExtraFields { max: 3 }
    );
    assert_eq!(ok("eth4=tuntap,,,").spec.to_string(), "eth4=tuntap");
    assert_eq!(
        err("eth4=tuntap,averyveryverylongname").kind,
        ErrorKind::InterfaceNameTooLong
    );
    assert_eq!(err("eth4=tuntap,a/b").kind, ErrorKind::InterfaceNameInvalid);
    assert_eq!(err("eth4=tuntap,,,192.168.0").kind, ErrorKind::GateNotIpv4);
    assert!(
        msg("eth4=tuntap,,,192.168.0").starts_with("eth4: tuntap gate: expected an IPv4 address")
    );
    let p = ok("eth4=tuntap,tap7");
    let Transport::Tuntap(t) = &p.spec.transport else {
        panic!()
    };
    assert_eq!(t.dev.as_deref(), Some("tap7"));
}

#[test]
fn slip_gate_is_not_split() {
    let e = err("eth7=slip,10.1.1.1,junk");
    assert_eq!(
        (e.kind, e.field),
        (ErrorKind::GateNotIpv4, Some(Field::Gate))
    );
    assert_eq!(e.found.of("eth7=slip,10.1.1.1,junk"), "10.1.1.1,junk");
    assert_eq!(
        ok("eth7=slip").spec.transport,
        Transport::Slip(Slip { gate: None })
    );
}

#[test]
fn daemon_fields() {
    let long: String = core::iter::repeat_n('a', 108).collect();
    let arg = std::format!("eth0=daemon,,unix,/{long}");
    assert_eq!(err(&arg).kind, ErrorKind::SocketPathTooLong);
    let p = ok("eth0=daemon,,,,");
    assert_eq!(p.warnings.as_slice(), &[Warning::DataSocketIgnored]);
    assert_eq!(p.spec.to_string(), "eth0=daemon,,,,");
    assert_eq!(ok("eth0=daemon,,unix").spec.to_string(), "eth0=daemon");
}

#[test]
fn checker_finds_duplicates_and_inherited_macs() {
    let mut c = CmdlineChecker::new();
    assert!(c.check("mem=64M").is_none());
    assert!(c.check("eth18=mcast,102:00:00:00:00:12").unwrap().is_ok());
    let p = c.check("eth22=mcast,,,0").unwrap().unwrap();
    assert!(p.warnings.contains(&Warning::MacInherited {
        from: 18,
        mac: Some(MacAddr([2, 0, 0, 0, 0, 0x12]))
    }));
    // Another transport keeps its own pointer.
    assert!(
        c.check("eth23=daemon")
            .unwrap()
            .unwrap()
            .warnings
            .is_empty()
    );
    let e = c.check("eth18=tuntap").unwrap().unwrap_err();
    assert_eq!(
        (e.kind, e.index),
        (ErrorKind::DeviceAlreadyConfigured, Some(18))
    );
    assert_eq!(
        e.display("eth18=tuntap").to_string().split(',').next(),
        Some("eth18: device number: expected each device number once")
    );
    // The MAC of a device that itself fails is still inherited.
    let mut c = CmdlineChecker::new();
    assert!(c.check("eth1=mcast,fe:fd:0:0:0:1,,abc").unwrap().is_err());
    let p = c.check("eth2=mcast").unwrap().unwrap();
    assert_eq!(
        p.warnings.as_slice(),
        &[Warning::MacInherited {
            from: 1,
            mac: Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1]))
        }]
    );
    // A failed device does not take its number.
    assert!(c.check("eth1=mcast").unwrap().is_ok());
}

// ---- property tests

fn ifname() -> impl Strategy<Value = IfName> {
    "[a-z][a-z0-9_.-]{0,14}"
        .prop_filter("not . or ..", |s| s != "." && s != "..")
        .prop_map(|s| IfName::try_from(s.as_str()).unwrap())
}
fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(|mut b| {
        b[0] = (b[0] & !1) | 2;
        MacAddr(b)
    })
}
fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}
fn path() -> impl Strategy<Value = SocketPath> {
    "/[a-zA-Z0-9_./-]{0,60}".prop_map(|s| SocketPath::try_from(s.as_str()).unwrap())
}
fn text() -> impl Strategy<Value = Text> {
    "[a-zA-Z0-9_./-]{1,20}".prop_map(|s| Text::try_from(s.as_str()).unwrap())
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        (
            ifname(),
            proptest::option::of(mac()),
            proptest::option::of(ip())
        )
            .prop_map(|(dev, mac, gate)| Transport::Ethertap(Ethertap { dev, mac, gate })),
        (
            proptest::option::of(ifname()),
            proptest::option::of(mac()),
            proptest::option::of(ip())
        )
            .prop_map(|(dev, mac, gate)| Transport::Tuntap(Tuntap { dev, mac, gate })),
        (proptest::option::of(mac()), ip(), any::<u16>(), any::<u8>()).prop_map(
            |(mac, group, port, ttl)| Transport::Mcast(Mcast {
                mac,
                group,
                port,
                ttl
            })
        ),
        (
            proptest::option::of(mac()),
            prop_oneof![Just("unix".to_string()), "[a-z]{1,16}"],
            proptest::option::of(path()),
            proptest::option::of(prop_oneof![Just(String::new()), "[a-z/,]{1,30}"])
        )
            .prop_map(|(mac, st, ctl, data)| Transport::Daemon(Daemon {
                mac,
                sock_type: s(&st),
                ctl,
                data: data.map(|d| SocketPath::try_from(d.as_str()).unwrap()),
            })),
        proptest::option::of(ip()).prop_map(|gate| Transport::Slip(Slip { gate })),
        (
            proptest::option::of(mac()),
            proptest::option::of(ip()),
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(|(mac, remote, lport, rport)| Transport::Ucast(Ucast {
                mac,
                remote,
                lport,
                rport
            })),
        (
            proptest::option::of(path()),
            proptest::option::of(mac()),
            proptest::option::of(0u32..=i32::MAX as u32),
            proptest::option::of(text()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(text()),
            proptest::option::of(prop_oneof![Just(String::new()), "[a-z,]{1,20}"])
        )
            .prop_map(|(switch, mac, port, group, mode, descr, extra)| {
                Transport::Vde(Vde {
                    switch,
                    mac,
                    port,
                    group,
                    mode,
                    descr,
                    extra: extra.map(|e| Text::try_from(e.as_str()).unwrap()),
                })
            }),
        (
            proptest::option::of(mac()),
            proptest::option::of("[a-z/_.-]{0,10}(,[a-zA-Z0-9_-]{0,8}){0,4}")
        )
            .prop_map(|(mac, command)| Transport::Slirp(Slirp {
                mac,
                command: command.map(|c| heapless::String::try_from(c.as_str()).unwrap()),
            })),
        super::test_vector::any_vector().prop_map(Transport::Vector),
    ]
}

fn spec() -> impl Strategy<Value = DeviceSpec> {
    (0u32..=i32::MAX as u32, transport())
        .prop_map(|(index, transport)| DeviceSpec { index, transport })
}

proptest! {
    #[test]
    fn parse_print_round_trip(spec in spec()) {
        let printed = spec.to_string();
        let p = parse(&printed);
        prop_assert!(p.is_ok(), "{} fails: {:?}", printed, p);
        prop_assert_eq!(p.unwrap().spec, spec);
        assert_round_trip(&parse(&printed).unwrap().spec);
    }

    #[test]
    fn print_parse_round_trip_on_canonical_strings(spec in spec()) {
        let canonical = spec.to_string();
        prop_assert_eq!(parse(&canonical).unwrap().spec.to_string(), canonical);
    }

    #[test]
    fn arbitrary_fields_never_panic(t in "(ethertap|tuntap|mcast|daemon|slip|ucast|vde|slirp|bogus)",
                                    fields in proptest::collection::vec("[0-9a-fx:.,/_-]{0,12}", 0..8)) {
        let arg = std::format!("eth0={t},{}", fields.join(","));
        fuzz_one(arg.as_bytes());
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        fuzz_one(&data);
    }
}
