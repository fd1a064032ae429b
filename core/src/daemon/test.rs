//! Tests of [`super`]: examples from the kernel and the original tools, and property tests.

use super::*;
use crate::mac::MacAddr;
use proptest::prelude::*;
use std::string::ToString;
use std::vec::Vec;

/// The 124-byte request the 6.1 kernel writes (pid 0x1092 = 4242, usec 0x0001e240),
/// with the uninitialised parts as observed: padding 0, heap garbage after the time.
fn kernel_request() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&[0xce, 0xfa, 0xed, 0xfe, 0x03, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&[0x01, 0x00]); // sun_family
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // zero + padding
    v.extend_from_slice(&[0x92, 0x10, 0x00, 0x00]); // pid
    v.extend_from_slice(&[0x40, 0xe2, 0x01, 0x00]); // usec
    v.extend((0..96u8).map(|i| i.wrapping_mul(37) ^ 0x5a)); // heap garbage
    v.extend_from_slice(&[0xaa, 0xbb]); // tail padding
    assert_eq!(v.len(), 124);
    v
}

/// The original uml_switch's reply: `01 00 | 00 7f 00 00 | pid | usec | 96 zeros`.
fn uml_switch_reply() -> Vec<u8> {
    let mut v = std::vec![0x01, 0x00, 0x00, 0x7f, 0x00, 0x00];
    v.extend_from_slice(&1234u32.to_le_bytes());
    v.extend_from_slice(&567_890u32.to_le_bytes());
    v.resize(110, 0);
    v
}

#[test]
fn kernel_request_decodes_with_opaque_address() {
    let raw = kernel_request();
    let req = Request::new_checked(&raw[..]).unwrap();
    assert_eq!(req.magic(), MAGIC);
    assert_eq!(req.version(), 3);
    assert_eq!(req.request_type(), REQ_NEW_CONTROL);
    assert_eq!(req.description(), b"");
    let repr = RequestRepr::parse(&raw).unwrap();
    let RequestRepr::V3 {
        addr,
        port,
        description,
    } = repr
    else {
        panic!("not v3: {repr:?}")
    };
    assert_eq!((port, description), (0, &b""[..]));
    // The whole 110 bytes, garbage included, are the address.
    assert_eq!(&addr.as_bytes()[..], &raw[12..122]);
    assert!(addr.is_abstract());
    assert_eq!(addr.family(), AF_UNIX);
    assert_eq!(addr.path(), None);
    assert_eq!(&addr.abstract_name().unwrap()[3..11], &raw[18..26]);
    assert!(repr.wants_reply());
    // Re-encoding keeps the address byte for byte; only the padding becomes zero.
    let mut buf = [0xffu8; 124];
    assert_eq!(repr.emit(&mut buf), Ok(124));
    assert_eq!(&buf[..122], &raw[..122]);
    assert_eq!(&buf[122..], &[0, 0]);
}

#[test]
fn uml_abstract_matches_kernel_layout() {
    let raw = kernel_request();
    let a = DataAddr::uml_abstract(4242, 123_456);
    assert_eq!(&a.as_bytes()[..14], &raw[12..26]);
    assert!(a.as_bytes()[14..].iter().all(|&b| b == 0));
    let mut buf = [0u8; 124];
    RequestRepr::V3 {
        addr: a,
        port: 0,
        description: b"",
    }
    .emit(&mut buf)
    .unwrap();
    assert_eq!(
        &buf[..16],
        &[
            0xce, 0xfa, 0xed, 0xfe, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00
        ]
    );
}

#[test]
fn uml_switch_reply_decodes() {
    let raw = uml_switch_reply();
    let a = parse_reply(&raw).unwrap();
    assert!(a.is_abstract());
    assert_eq!(a.as_bytes()[..], raw[..]);
    assert_eq!(&a.abstract_name().unwrap()[..11], &raw[3..14]);
    let mut out = [0u8; 200];
    assert_eq!(emit_reply(&a, &mut out), Some(110));
    assert_eq!(&out[..110], &raw[..]);
    assert_eq!(emit_reply(&a, &mut out[..109]), None);
    assert_eq!(
        parse_reply(&raw[..109]),
        Err(ReplyError::WrongLength { got: 109 })
    );
    assert_eq!(
        a.to_string(),
        "@\\x7f\\x00\\x00\\xd2\\x04\\x00\\x00R\\xaa\\x08"
    );
}

#[test]
fn vde_switch_reply_decodes() {
    let mut raw = std::vec![0x01, 0x00];
    raw.extend_from_slice(b"/tmp/specx/vde.ctl/002.6");
    raw.resize(110, 0);
    let a = parse_reply(&raw).unwrap();
    assert!(!a.is_abstract());
    assert_eq!(a.path(), Some(&b"/tmp/specx/vde.ctl/002.6"[..]));
    assert_eq!(a.to_string(), "/tmp/specx/vde.ctl/002.6");
    assert_eq!(a, DataAddr::from_path("/tmp/specx/vde.ctl/002.6").unwrap());
    raw[0] = 2;
    assert_eq!(parse_reply(&raw), Err(ReplyError::BadFamily { family: 2 }));
}

/// A request as libvdeplug (vde2) sends it: packed, the description from offset
/// 122, no NUL on the wire, the request type carrying the port in bits 8 and up.
fn vde_request(descr: &[u8], port: u32) -> Vec<u8> {
    let mut v = std::vec![0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0];
    v.extend_from_slice(&(port << 8).to_le_bytes());
    v.extend_from_slice(
        DataAddr::from_path("/tmp/vde.ctl/.04242-00000")
            .unwrap()
            .as_bytes(),
    );
    v.extend_from_slice(descr);
    v
}

#[test]
fn vde_request_exposes_description() {
    let d = b"vde_plug: user=root PID=4242";
    let raw = vde_request(d, 0);
    assert_eq!(raw.len(), 150);
    let repr = RequestRepr::parse(&raw).unwrap();
    assert_eq!(
        repr,
        RequestRepr::V3 {
            addr: DataAddr::from_path("/tmp/vde.ctl/.04242-00000").unwrap(),
            port: 0,
            description: d,
        }
    );
    assert_eq!(
        repr.to_string(),
        "version 3 request for /tmp/vde.ctl/.04242-00000 \"vde_plug: user=root PID=4242\""
    );
    let mut buf = [0u8; 256];
    assert_eq!(repr.emit(&mut buf), Ok(150));
    assert_eq!(&buf[..150], &raw[..]);
    // vde_plug sw[5]: port 5 in the type's upper bits.
    let raw5 = vde_request(d, 5);
    let repr5 = RequestRepr::parse(&raw5).unwrap();
    assert!(matches!(repr5, RequestRepr::V3 { port: 5, .. }));
    // A description with a NUL and stray bytes after it stops at the NUL.
    let mut raw = vde_request(b"abc\0zz", 0);
    assert!(matches!(
        RequestRepr::parse(&raw),
        Ok(RequestRepr::V3 {
            description: b"abc",
            ..
        })
    ));
    // The empty-description vde request is just 122 bytes.
    raw.truncate(122);
    assert!(matches!(
        RequestRepr::parse(&raw),
        Ok(RequestRepr::V3 {
            description: b"",
            ..
        })
    ));
}

/// What the installed vde_plug (vde2 2.3.2) wrote to a control socket here:
/// 150 bytes, a filesystem data path, the description at 122 without a NUL.
const VDE_PLUG_REQUEST: &str = "cefaedfe030000000000000001002f746d702f68336361702f2e31383639342d303030303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000766465706c75673a20757365723d726f6f74207069643d3138363934";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A request captured from the installed linux.uml (6.1.176) here: pid 0x4a72,
/// usec 0x59af6, and uninitialised heap bytes (`80 bb d6 8c`) inside the name.
const KERNEL_REQUEST: &str = "cefaedfe0300000000000000010000000000724a0000f69a0500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000080bbd68c0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn real_kernel_request() {
    let raw = unhex(KERNEL_REQUEST);
    assert_eq!(raw.len(), REQUEST_LEN);
    let repr = RequestRepr::parse(&raw).unwrap();
    let RequestRepr::V3 {
        addr,
        port: 0,
        description: b"",
    } = repr
    else {
        panic!("{repr:?}")
    };
    assert!(addr.is_abstract());
    assert_eq!(&addr.as_bytes()[..], &raw[field::ADDR]);
    // The garbage is part of the name: an address built from pid and time alone differs.
    assert_ne!(addr, DataAddr::uml_abstract(0x4a72, 0x59af6));
    assert_eq!(
        &addr.as_bytes()[..14],
        &DataAddr::uml_abstract(0x4a72, 0x59af6).as_bytes()[..14]
    );
}

#[test]
fn real_vde_plug_request() {
    let raw = unhex(VDE_PLUG_REQUEST);
    assert_eq!(raw.len(), 150);
    let repr = RequestRepr::parse(&raw).unwrap();
    let RequestRepr::V3 {
        addr,
        port,
        description,
    } = repr
    else {
        panic!("not v3: {repr:?}")
    };
    assert_eq!(port, 0);
    assert_eq!(addr.path(), Some(&b"/tmp/h3cap/.18694-00000"[..]));
    assert_eq!(description, b"vdeplug: user=root pid=18694");
    let mut buf = [0u8; 256];
    assert_eq!(repr.emit(&mut buf), Ok(150));
    assert_eq!(&buf[..150], &raw[..]);
}

#[test]
fn older_and_refused_requests() {
    let addr = DataAddr::abstract_from(b"old").unwrap();
    let mac = MacAddr([0xfe, 0xfd, 10, 0, 0, 1]);
    // v1 as the original switch accepts it.
    let mut v1 = std::vec![0xce, 0xfa, 0xed, 0xfe, 0, 0, 0, 0];
    v1.extend_from_slice(&mac.0);
    v1.extend_from_slice(addr.as_bytes());
    let r = RequestRepr::parse(&v1).unwrap();
    assert_eq!(r, RequestRepr::V1 { mac, addr });
    assert!(r.wants_reply());
    // The same with type 1 in the v1 slot: "Bad request type : 1".
    v1[4] = 1;
    let e = RequestRepr::parse(&v1).unwrap_err();
    assert_eq!(
        e,
        RequestError::BadType {
            layout: Layout::V1,
            ty: 1
        }
    );
    assert!(e.to_string().starts_with("Bad request type : 1"));
    // v0: no magic, 120 bytes, no reply.
    let mut v0 = std::vec![0, 0, 0, 0];
    v0.extend_from_slice(&mac.0);
    v0.extend_from_slice(addr.as_bytes());
    let r = RequestRepr::parse(&v0).unwrap();
    assert_eq!(r, RequestRepr::V0 { mac, addr });
    assert!(!r.wants_reply());
    let mut out = [0u8; 120];
    assert_eq!(r.emit(&mut out), Ok(120));
    assert_eq!(&out[..], &v0[..]);
    // v2 and v4, as observed against the original.
    let mut v2 = kernel_request();
    v2[4] = 2;
    let e = RequestRepr::parse(&v2).unwrap_err();
    assert_eq!(e.to_string(), "Version 2 is not supported");
    let mut v4 = kernel_request();
    v4[4] = 4;
    let e = RequestRepr::parse(&v4).unwrap_err();
    assert_eq!(e, RequestError::UnsupportedVersion(4));
    assert_eq!(
        e.to_string(),
        "Request for a version 4 port, which this switch doesn't support"
    );
    // v3 with a bad type.
    let mut bad = kernel_request();
    bad[8] = 7;
    assert_eq!(
        RequestRepr::parse(&bad),
        Err(RequestError::BadType {
            layout: Layout::V3,
            ty: 7
        })
    );
    // v3 whose address is not AF_UNIX.
    let mut fam = kernel_request();
    fam[12] = 2;
    assert_eq!(
        RequestRepr::parse(&fam),
        Err(RequestError::BadFamily {
            layout: Layout::V3,
            family: 2
        })
    );
}

#[test]
fn short_truncated_and_garbage() {
    let raw = kernel_request();
    assert_eq!(RequestRepr::parse(&[]), Err(RequestError::Empty));
    assert_eq!(
        RequestRepr::parse(&raw[..5]),
        Err(RequestError::Short { got: 5 })
    );
    let e = RequestRepr::parse(&raw[..100]).unwrap_err();
    assert_eq!(
        e,
        RequestError::Truncated {
            layout: Layout::V3,
            needed: 122,
            got: 100
        }
    );
    assert_eq!(
        e.to_string(),
        "truncated version 3 request: read 100 bytes, the layout needs 122"
    );
    let mut v1 = raw.clone();
    v1[4] = 0;
    assert!(matches!(
        RequestRepr::parse(&v1[..123]),
        Err(RequestError::Truncated {
            layout: Layout::V1,
            ..
        })
    ));
    v1.push(0);
    assert!(matches!(
        RequestRepr::parse(&v1),
        Err(RequestError::TrailingBytes {
            layout: Layout::V1,
            ..
        })
    ));
    let text = b"GET / HTTP/1.0\r\n\r\n";
    let e = RequestRepr::parse(text).unwrap_err();
    assert_eq!(e, RequestError::Garbage { got: text.len() });
    assert!(e.to_string().contains("0xfeedface"));
    assert_eq!(
        RequestRepr::parse(&[0u8; 257]),
        Err(RequestError::TooLong { got: 257 })
    );
    // 120 bytes without magic but a nonzero type: a v0 with a bad type.
    let mut v0 = std::vec![9u8, 0, 0, 0];
    v0.resize(120, 0);
    v0[10] = 1;
    assert_eq!(
        RequestRepr::parse(&v0),
        Err(RequestError::BadType {
            layout: Layout::V0,
            ty: 9
        })
    );
}

#[test]
fn addr_constructors_validate() {
    let long = [b'a'; 108];
    assert_eq!(
        DataAddr::abstract_from(&long),
        Err(AddrError::TooLong { got: 108 })
    );
    assert!(DataAddr::abstract_from(&long[..107]).is_ok());
    let s = core::str::from_utf8(&long).unwrap();
    assert_eq!(DataAddr::from_path(s), Err(AddrError::TooLong { got: 108 }));
    let p = DataAddr::from_path(&s[..107]).unwrap();
    assert_eq!(p.path().unwrap().len(), 107);
    assert_eq!(DataAddr::from_path(""), Err(AddrError::EmptyPath));
    assert_eq!(DataAddr::from_path("a\0b"), Err(AddrError::NulInPath));
    assert_eq!(
        DataAddr::from_bytes(&[1, 0, 0]),
        Err(AddrError::WrongLength { got: 3 })
    );
    let a = DataAddr::abstract_from(b"sw\x01").unwrap();
    assert_eq!(a.to_string(), "@sw\\x01");
    assert_eq!(std::format!("{a:?}"), "DataAddr(\"@sw\\x01\")");
    assert_eq!(a.abstract_name().unwrap().len(), 107);
}

#[test]
fn emit_checks_buffer_and_description() {
    let addr = DataAddr::uml_abstract(1, 2);
    let r = RequestRepr::V3 {
        addr,
        port: 0,
        description: b"",
    };
    assert_eq!(
        r.emit(&mut [0u8; 123]),
        Err(EmitError::BufferTooSmall {
            needed: 124,
            got: 123
        })
    );
    let r = RequestRepr::V3 {
        addr,
        port: 0,
        description: b"a\0",
    };
    assert_eq!(r.emit(&mut [0u8; 256]), Err(EmitError::BadDescription));
    // One-byte descriptions are padded past the kernel's 124 so they survive.
    let r = RequestRepr::V3 {
        addr,
        port: 0,
        description: b"x",
    };
    let mut buf = [0u8; 256];
    let n = r.emit(&mut buf).unwrap();
    assert_eq!(n, 125);
    assert_eq!(RequestRepr::parse(&buf[..n]), Ok(r));
}

fn arb_addr() -> impl Strategy<Value = DataAddr> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 108).prop_map(|p| {
            let mut b = [0u8; 110];
            b[0] = 1;
            b[2..].copy_from_slice(&p);
            DataAddr::from_array(b)
        }),
        proptest::collection::vec(any::<u8>(), 0..=107)
            .prop_map(|n| DataAddr::abstract_from(&n).unwrap()),
        "[a-zA-Z0-9/._-]{1,107}".prop_map(|p| DataAddr::from_path(&p).unwrap()),
    ]
}

proptest! {
    #[test]
    fn v3_encode_decode(addr in arb_addr(), port in 0u32..=0xff_ffff,
                        descr in proptest::collection::vec(1u8..=255, 0..=MAX_DESCRIPTION_LEN)) {
        let r = RequestRepr::V3 { addr, port, description: &descr };
        let mut buf = [0u8; MAX_REQUEST_LEN];
        let n = r.emit(&mut buf).unwrap();
        prop_assert_eq!(n, r.buffer_len());
        prop_assert_eq!(RequestRepr::parse(&buf[..n]), Ok(r));
    }

    #[test]
    fn old_encode_decode(addr in arb_addr(), mac in any::<[u8; 6]>(), v0 in any::<bool>()) {
        let mac = MacAddr(mac);
        let r = if v0 { RequestRepr::V0 { mac, addr } } else { RequestRepr::V1 { mac, addr } };
        let mut buf = [0u8; MAX_REQUEST_LEN];
        let n = r.emit(&mut buf).unwrap();
        prop_assert_eq!(RequestRepr::parse(&buf[..n]), Ok(r));
    }

    #[test]
    fn reply_encode_decode(addr in arb_addr()) {
        let mut buf = [0u8; REPLY_LEN];
        emit_reply(&addr, &mut buf).unwrap();
        prop_assert_eq!(parse_reply(&buf), Ok(addr));
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzz_request(&data);
    }

    #[test]
    fn fuzz_near_valid(mut raw in Just(kernel_request()), i in 0usize..124, b in any::<u8>(), len in 0usize..=124) {
        raw[i] = b;
        fuzz_request(&raw[..len]);
    }
}
