//! Tests of the `vec<n>:` grammar ([`super::vector`]): the kernel's examples, every
//! refusal naming its key, the values that make 6.1 panic, and property tests.

use super::*;
use crate::mac::MacAddr;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use proptest::prelude::*;
use std::format;
use std::string::{String, ToString};

use super::fuzz::{assert_round_trip, fuzz_one};

fn ok(arg: &str) -> Parsed {
    parse(arg).unwrap_or_else(|e| panic!("{arg}: {}", e.display(arg)))
}
fn vector(arg: &str) -> Vector {
    match ok(arg).spec.transport {
        Transport::Vector(v) => v,
        t => panic!("{arg}: {t:?}"),
    }
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

/// The examples of the kernel's UML documentation (`Documentation/virt/uml`), typed.
#[test]
fn documentation_examples() {
    let v = vector("vec0:transport=tap,ifname=tap0,depth=128,gro=1");
    assert_eq!((v.depth, v.gro, v.mtu), (128, true, 1500));
    let VectorTransport::Tap(t) = &v.transport else {
        panic!()
    };
    assert_eq!(t.ifname.as_deref(), Some("tap0"));

    let v = vector("vec0:transport=raw,ifname=p-veth0,depth=128,gro=1");
    assert!(matches!(&v.transport, VectorTransport::Raw(r) if r.ifname == "p-veth0"));

    let v = vector(
        "vec0:transport=gre,src=192.168.2.1,dst=192.168.2.2,rx_key=0x10,tx_key=0x20,\
         sequence=1,pin_sequence=1",
    );
    let VectorTransport::Gre(g) = &v.transport else {
        panic!()
    };
    assert_eq!(g.key, Some(Pair { rx: 16, tx: 32 }));
    assert!(g.sequence && g.pin_sequence);

    let v = vector(
        "vec0:transport=l2tpv3,udp=1,src=192.168.1.1,dst=192.168.1.2,srcport=1706,\
         dstport=1707,rx_session=0x20,tx_session=0x30,rx_cookie=0x1234,tx_cookie=0x5678",
    );
    let VectorTransport::L2tpv3(l) = &v.transport else {
        panic!()
    };
    assert_eq!((l.srcport, l.dstport), (Some(1706), Some(1707)));
    assert_eq!(
        l.cookie,
        Some(Pair {
            rx: 0x1234,
            tx: 0x5678
        })
    );
    assert_eq!(l.header_len(), 4 + 4 + 4);

    let v = vector("vec0:transport=bess,src=/tmp/uml.sock,dst=/var/run/bess.sock");
    assert_eq!(
        v.transport,
        VectorTransport::Bess(BessVector {
            dst: SocketPath::try_from("/var/run/bess.sock").unwrap(),
            src: Some(SocketPath::try_from("/tmp/uml.sock").unwrap()),
        })
    );
    assert_eq!(
        ok("vec0:transport=bess,dst=/x,src=/y").warnings.as_slice(),
        &[Warning::BessSrcBlocksSecondIfup]
    );

    let v = vector("vec3:transport=fd,fd=5,vec=0");
    assert_eq!(v.transport, VectorTransport::Fd(FdVector { fd: 5 }));
    assert!(!v.vec);

    let v = vector("vec0:transport=l2tpv3,src=::1,dst=::2,v6=1,rx_session=1,tx_session=2");
    let VectorTransport::L2tpv3(l) = &v.transport else {
        panic!()
    };
    assert_eq!(l.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
}

#[test]
fn shared_keys_are_typed_with_their_defaults() {
    let v = vector("vec1:transport=tap");
    assert_eq!(
        v,
        Vector::new(VectorTransport::Tap(TapVector {
            ifname: None,
            ifup: None
        }))
    );
    let v = vector(
        "vec1:transport=tap,mac=fe:fd:0:0:0:1,mtu=9000,headroom=8,vec=0,bpffile=/f.bpf,bpfflash=1",
    );
    assert_eq!(v.mac, Some(MacAddr([0xfe, 0xfd, 0, 0, 0, 1])));
    assert_eq!(
        (v.mtu, v.headroom, v.vec, v.bpfflash),
        (9000, 8, false, true)
    );
    assert_eq!(v.bpffile.as_deref(), Some("/f.bpf"));
    let p = ok("vec1:transport=tap,bpfflash=0");
    assert!(p.warnings.contains(&Warning::BpfFlashZeroEnables));
}

#[test]
fn canonical_form_drops_defaults_and_orders_keys() {
    for c in [
        "vec0:transport=tap",
        "vec0:transport=raw,ifname=p0,ifup=/etc/up.sh",
        "vec0:transport=hybrid,ifname=tap1",
        "vec0:transport=gre,src=10.0.0.1,dst=10.0.0.2,rx_key=1,tx_key=2,sequence=1",
        "vec0:transport=l2tpv3,src=::1,dst=::2,v6=1,rx_session=1,tx_session=2,counter=1",
        "vec0:transport=bess,dst=/run/s,src=/run/me",
        "vec0:transport=fd,fd=3,mac=fe:fd:00:00:00:01,mtu=9000,depth=256,gro=1,vec=0",
    ] {
        assert_eq!(ok(c).spec.to_string(), c);
    }
    for (given, canonical) in [
        (
            "vec0:mtu=1500,depth=64,headroom=2,gro=0,vec=1,transport=tap",
            "vec0:transport=tap",
        ),
        (
            "vec0:tx_session=0x20,rx_session=0x10,dst=10.0.0.2,src=10.0.0.1,transport=l2tpv3",
            "vec0:transport=l2tpv3,src=10.0.0.1,dst=10.0.0.2,rx_session=16,tx_session=32",
        ),
        ("vec0x1:transport=fd,fd=3", "vec1:transport=fd,fd=3"),
    ] {
        assert_eq!(ok(given).spec.to_string(), canonical);
    }
}

#[test]
fn refusals_name_the_key() {
    assert_eq!(
        err("vec0:transport=bess").to_string(),
        "vec0: transport=bess needs dst=<socket path> (without it ifup fails with EINVAL)"
    );
    for (arg, key) in [
        ("vec0:transport=raw", None),
        ("vec0:transport=fd", None),
        ("vec0:transport=fd,fd=x", Some(VectorKey::Fd)),
        ("vec0:transport=fd,fd=2147483648", Some(VectorKey::Fd)),
        ("vec0:transport=tap,mtu=100", Some(VectorKey::Mtu)),
        ("vec0:transport=tap,mtu=65535", Some(VectorKey::Mtu)),
        ("vec0:transport=tap,depth=0", Some(VectorKey::Depth)),
        ("vec0:transport=tap,gro=yes", Some(VectorKey::Gro)),
        ("vec0:transport=tap,ifname=a/b", Some(VectorKey::Ifname)),
        (
            "vec0:transport=tap,ifname=0123456789abcdef",
            Some(VectorKey::Ifname),
        ),
        (
            "vec0:transport=bess,dst=/x,ifname=tap0",
            Some(VectorKey::Ifname),
        ),
        (
            "vec0:transport=gre,src=10.0.0.1,dst=::1",
            Some(VectorKey::Dst),
        ),
        (
            "vec0:transport=gre,src=host,dst=10.0.0.1",
            Some(VectorKey::Src),
        ),
        (
            "vec0:transport=gre,src=10.0.0.1,dst=10.0.0.2,tx_key=1",
            Some(VectorKey::TxKey),
        ),
        (
            "vec0:transport=l2tpv3,src=10.0.0.1,dst=10.0.0.2,rx_session=1,tx_session=1,srcport=5",
            Some(VectorKey::Srcport),
        ),
        (
            "vec0:transport=l2tpv3,src=10.0.0.1,dst=10.0.0.2,rx_session=1,tx_session=1,\
             rx_cookie=0x100000000,tx_cookie=1",
            Some(VectorKey::RxCookie),
        ),
        ("vec0:transport=tap,mac=01:00:00:00:00:01", None),
        (
            "vec0:transport=tap,transport=raw",
            Some(VectorKey::Transport),
        ),
        ("vec0:transport=tap,mtu=1500=x", Some(VectorKey::Mtu)),
        ("vec0:transport=tap,mtu=", Some(VectorKey::Mtu)),
    ] {
        let e = err(arg);
        if let Some(k) = key {
            assert_eq!(e.field, Some(Field::Key(k)), "{arg}: {}", e.display(arg));
        }
        assert!(!e.kind.is_kernel_panic(), "{arg}");
        let m = e.display(arg).to_string();
        assert!(m.starts_with("vec0: "), "{m}");
    }
    assert_eq!(
        msg("vec0:transport=tap,mtu=1500=x"),
        "vec0: mtu: expected one '=' per key=value, with no quoting, found '1500=x' (kernel: \
         'vector_setup - Couldn't parse', and no vec device)"
    );
    assert_eq!(
        err("vec0:transport=tap,bogus=1").kind,
        ErrorKind::UnknownVectorKey
    );
    assert_eq!(
        err("vec0:transport=tap,ifname").kind,
        ErrorKind::BadVectorOption
    );
    assert_eq!(
        err("vec0:transport=tapx").kind,
        ErrorKind::UnknownVectorTransport
    );
    assert_eq!(err("vec0:ifname=x").kind, ErrorKind::MissingVectorTransport);
    assert_eq!(err("vec0:").kind, ErrorKind::MissingVectorTransport);
    let many = format!("vec0:transport=tap{}", ",gro=1".repeat(20));
    assert_eq!(err(&many).kind, ErrorKind::TooManyVectorKeys);
    let twenty = "vec0:transport=fd,fd=3,mac=fe:fd:0:0:0:1,mtu=1500,depth=64,headroom=2,gro=0,\
                  vec=1,bpfflash=1";
    assert!(parse(twenty).is_ok());
}

/// Every value with which 6.1 panics at ifup is an error that says so.
#[test]
fn kernel_panics_are_errors() {
    let l2 = "vec0:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1";
    for (rest, key) in [
        (
            ",rx_session=0xffffffff,tx_session=1",
            Some(VectorKey::RxSession),
        ),
        (
            ",rx_session=1,tx_session=2147483648",
            Some(VectorKey::TxSession),
        ),
        (",rx_session=1,tx_session=--1", Some(VectorKey::TxSession)),
        (",rx_session=1", None),
        (",tx_session=1", None),
        ("", None),
        (
            ",dstport=1,rx_session=1,tx_session=1,rx_cookie=1",
            Some(VectorKey::RxCookie),
        ),
    ] {
        let arg = format!("{l2}{rest}");
        let e = err(&arg);
        assert!(e.kind.is_kernel_panic(), "{arg}: {}", e.display(&arg));
        assert_eq!(e.field, key.map(Field::Key), "{arg}");
        assert!(
            e.display(&arg)
                .to_string()
                .contains("6.1 kernel would PANIC at ifup"),
            "{}",
            e.display(&arg)
        );
    }
    let gre = "vec0:transport=gre,src=10.0.0.1,dst=10.0.0.2";
    for rest in [
        ",rx_key=1",
        ",rx_key=1,tx_key=0x80000000",
        ",rx_key=1,tx_key=x",
    ] {
        let arg = format!("{gre}{rest}");
        assert!(err(&arg).kind.is_kernel_panic(), "{arg}");
    }
    // kstrtoint reads a sign: refused here, but the kernel takes it (no panic).
    let e = err(&format!("{l2},dstport=1,rx_session=-1,tx_session=1"));
    assert_eq!(e.kind, ErrorKind::VectorNumber { max: 0x7fff_ffff });
    // An rx_key the kernel cannot read counts as no key: wrong, but no panic.
    assert!(
        !err(&format!("{gre},rx_key=0xffffffff,tx_key=1"))
            .kind
            .is_kernel_panic()
    );
    // The socket does not open, so the header setup never runs: no panic.
    let e = err("vec0:transport=l2tpv3,src=x,dst=10.0.0.1,rx_session=0xffffffff");
    assert_eq!(e.kind, ErrorKind::VectorAddress);
    assert_eq!(
        msg(
            "vec0:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,rx_session=0xffffffff,tx_session=1"
        ),
        "vec0: rx_session: expected a number 0-2147483647, found '0xffffffff' (0x7fffffff); \
         ERROR: the 6.1 kernel would PANIC at ifup (the transport's header setup fails after \
         its socket is open)"
    );
}

/// Vector devices are numbered apart from eth devices, and once each.
#[test]
fn vec_numbers_are_their_own() {
    let mut c = CmdlineChecker::new();
    assert!(c.check("eth0=mcast").unwrap().is_ok());
    assert!(c.check("vec0:transport=fd,fd=3").unwrap().is_ok());
    let e = c.check("vec0:transport=fd,fd=4").unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::DeviceAlreadyConfigured);
}

fn ifname() -> impl Strategy<Value = IfName> {
    "[a-z][a-z0-9_-]{0,14}".prop_map(|s| IfName::try_from(s.as_str()).unwrap())
}
fn file() -> impl Strategy<Value = FilePath> {
    "/[a-zA-Z0-9_./-]{0,40}".prop_map(|s| FilePath::try_from(s.as_str()).unwrap())
}
fn sock() -> impl Strategy<Value = SocketPath> {
    "[/@][a-zA-Z0-9_./-]{0,60}".prop_map(|s| SocketPath::try_from(s.as_str()).unwrap())
}
fn addresses() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>())
            .prop_map(|(a, b)| (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))),
        (any::<[u8; 16]>(), any::<[u8; 16]>())
            .prop_map(|(a, b)| (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))),
    ]
}
fn id() -> impl Strategy<Value = u32> {
    0..=VECTOR_ID_MAX
}
fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(|mut b| {
        b[0] = (b[0] & 0xfe) | 0x02;
        b[5] |= 1;
        MacAddr(b)
    })
}

fn vector_transport() -> impl Strategy<Value = VectorTransport> {
    prop_oneof![
        (ifname(), proptest::option::of(file()))
            .prop_map(|(ifname, ifup)| VectorTransport::Raw(RawVector { ifname, ifup })),
        (ifname(), proptest::option::of(file()))
            .prop_map(|(ifname, ifup)| VectorTransport::Hybrid(RawVector { ifname, ifup })),
        (proptest::option::of(ifname()), proptest::option::of(file()))
            .prop_map(|(ifname, ifup)| VectorTransport::Tap(TapVector { ifname, ifup })),
        (
            addresses(),
            proptest::option::of((id(), id())),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |((src, dst), key, sequence, pin)| VectorTransport::Gre(GreVector {
                    src,
                    dst,
                    key: key.map(|(rx, tx)| Pair { rx, tx }),
                    sequence,
                    pin_sequence: sequence && pin,
                })
            ),
        (
            addresses(),
            any::<bool>(),
            any::<(Option<u16>, u16)>(),
            (id(), id()),
            proptest::option::of(any::<(u64, u64)>()),
            any::<(bool, bool, bool)>()
        )
            .prop_map(
                |((src, dst), udp, (sp, dp), (rxs, txs), cookie, (c64, counter, pin))| {
                    let cookie64 = c64 && cookie.is_some();
                    let cookie = cookie.map(|(rx, tx)| {
                        let mask = if cookie64 {
                            u64::MAX
                        } else {
                            u64::from(u32::MAX)
                        };
                        Pair {
                            rx: rx & mask,
                            tx: tx & mask,
                        }
                    });
                    VectorTransport::L2tpv3(L2tpv3Vector {
                        src,
                        dst,
                        udp,
                        srcport: sp.filter(|_| udp),
                        dstport: udp.then_some(dp),
                        rx_session: rxs,
                        tx_session: txs,
                        cookie,
                        cookie64,
                        counter,
                        pin_counter: counter && pin,
                    })
                }
            ),
        (sock(), proptest::option::of(sock()))
            .prop_map(|(dst, src)| VectorTransport::Bess(BessVector { dst, src })),
        (0..=i32::MAX as u32).prop_map(|fd| VectorTransport::Fd(FdVector { fd })),
    ]
}

/// Any typed vector device.
pub(super) fn any_vector() -> impl Strategy<Value = Vector> {
    (
        vector_transport(),
        proptest::option::of(mac()),
        VECTOR_MTU_MIN..=VECTOR_MTU_MAX,
        1..=VECTOR_DEPTH_MAX,
        any::<u16>(),
        any::<(bool, bool, bool)>(),
        proptest::option::of(file()),
    )
        .prop_map(
            |(transport, mac, mtu, depth, headroom, (gro, vec, bpfflash), bpffile)| Vector {
                transport,
                mac,
                mtu,
                depth,
                headroom,
                gro,
                vec,
                bpffile,
                bpfflash,
            },
        )
        // The kernel takes at most VECTOR_MAX_KEYS keys, so no device has more.
        .prop_filter("at most VECTOR_MAX_KEYS keys", |v| {
            let printed = DeviceSpec {
                index: 0,
                transport: Transport::Vector(v.clone()),
            }
            .to_string();
            printed
                .split_once(':')
                .is_some_and(|(_, keys)| keys.split(',').count() <= VECTOR_MAX_KEYS)
        })
}

const KEYS: &str = "(transport|ifname|ifup|src|dst|v6|udp|srcport|dstport|rx_session|\
                    tx_session|rx_cookie|tx_cookie|cookie64|counter|pin_counter|rx_key|tx_key|\
                    sequence|pin_sequence|fd|mac|mtu|depth|headroom|gro|vec|bpffile|bpfflash|x)";

proptest! {
    #[test]
    fn vector_parse_print_round_trip(index in 0u32..=i32::MAX as u32, v in any_vector()) {
        let spec = DeviceSpec { index, transport: Transport::Vector(v) };
        let printed = spec.to_string();
        let p = parse(&printed);
        prop_assert!(p.is_ok(), "{} fails: {:?}", printed, p);
        prop_assert_eq!(&p.unwrap().spec, &spec);
        assert_round_trip(&spec);
    }

    #[test]
    fn arbitrary_vector_options_never_panic(
        t in "(raw|tap|hybrid|gre|l2tpv3|bess|fd|tapx)",
        pairs in proptest::collection::vec(
            (KEYS, "[0-9a-fx:.@/=-]{0,12}"), 0..24)
    ) {
        let mut arg = std::format!("vec1:transport={t}");
        for (k, v) in &pairs {
            arg.push_str(&std::format!(",{k}={v}"));
        }
        fuzz_one(arg.as_bytes());
        if let Ok(p) = parse(&arg) {
            assert_round_trip(&p.spec);
        }
    }
}
