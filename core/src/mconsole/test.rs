//! Tests of [`super`]: examples from the kernel and the original tools, and property tests.

use super::*;

use proptest::prelude::*;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

/// `config eth4=mcast` as `uml_mconsole` sent it (docs/protocols.md §6, observed).
fn observed_config_request() -> Vec<u8> {
    let mut v = vec![
        0xbe, 0xba, 0xfe, 0xca, 0x02, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
    ];
    v.extend_from_slice(b"config eth4=mcast");
    v.resize(REQUEST_LEN, 0);
    v
}

#[test]
fn observed_request_parses() {
    let bytes = observed_config_request();
    let packet = RequestPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.magic(), 0xcafebabe);
    assert_eq!(packet.version(), 2);
    assert_eq!(packet.len(), 17);
    let repr = RequestRepr::parse(&packet).unwrap();
    assert_eq!(repr.command, b"config eth4=mcast");
    assert_eq!(
        Command::parse(repr.command),
        Command::ConfigEth { arg: "eth4=mcast" }
    );
    let mut out = [0xffu8; 600];
    assert_eq!(repr.encode(&mut out), Ok(524));
    assert_eq!(&out[..524], &bytes[..]);
}

#[test]
fn request_errors_in_kernel_order() {
    let mut bytes = observed_config_request();
    assert_eq!(
        RequestPacket::new_checked(&bytes[..11]).unwrap_err(),
        Error::Truncated {
            needed: 12,
            got: 11
        }
    );
    // Only 28 of the 29 bytes the header promises.
    assert_eq!(
        RequestPacket::new_checked(&bytes[..28]).unwrap_err(),
        Error::Truncated {
            needed: 29,
            got: 28
        }
    );
    bytes[8..12].copy_from_slice(&512u32.to_ne_bytes());
    let e = RequestPacket::new_checked(&bytes[..]).unwrap_err();
    assert_eq!(e, Error::BadLength { len: 512 });
    assert_eq!(
        e.kernel_answer(),
        Some(Rejection::Reply(ReplyRepr {
            err: 1,
            more: false,
            text: b"Request too large"
        }))
    );
    bytes[8..12].copy_from_slice(&511u32.to_ne_bytes());
    assert!(RequestPacket::new_checked(&bytes[..]).is_ok());
    // A version 0 client sends bare text: the magic check comes first.
    let e = RequestPacket::new_checked(&b"config eth0=mcast"[..]).unwrap_err();
    assert_eq!(
        e,
        Error::BadMagic {
            found: u32::from_ne_bytes(*b"conf")
        }
    );
    assert_eq!(
        e.kernel_answer(),
        Some(Rejection::PlainText(
            "ERR Version 0 mconsole clients are not supported by this driver"
        ))
    );
}

#[test]
fn wrong_version_still_parses() {
    let mut bytes = observed_config_request();
    bytes[4] = 1;
    let repr = RequestRepr::parse(&RequestPacket::new_checked(&bytes[..]).unwrap()).unwrap();
    assert_eq!(repr.version, 1);
    assert_eq!(repr.command, b"config eth4=mcast");
}

#[test]
fn long_commands_are_refused_when_encoding() {
    let long = [b'x'; 512];
    assert_eq!(
        RequestRepr::new(&long).unwrap_err(),
        Error::BadLength { len: 512 }
    );
    assert!(RequestRepr::new(&long[..511]).is_ok());
    let mut small = [0u8; 100];
    assert_eq!(
        RequestRepr::new(b"version").unwrap().encode(&mut small),
        Err(Error::BufferTooSmall {
            needed: 524,
            got: 100
        })
    );
}

/// The real linux.uml 6.1 reply to `remove eth0x1f` (no such device), captured on
/// the client socket.
const KERNEL_ENODEV_REPLY: [u8; 33] = *b"\xed\xff\xff\xff\x00\x00\x00\x00\x15\x00\x00\x00\
Device doesn't exist\x00";

#[test]
fn real_kernel_enodev_reply() {
    let packet = ReplyPacket::new_checked(&KERNEL_ENODEV_REPLY[..]).unwrap();
    let repr = ReplyRepr::parse(&packet).unwrap();
    assert_eq!(
        repr,
        ReplyRepr {
            err: ERR_ENODEV,
            more: false,
            text: DEVICE_DOESNT_EXIST.as_bytes()
        }
    );
    let chunks: Vec<_> = reply_chunks(DEVICE_DOESNT_EXIST.as_bytes(), ERR_ENODEV, false).collect();
    let mut out = [0u8; 64];
    let n = chunks[0].encode(&mut out).unwrap();
    assert_eq!(&out[..n], &KERNEL_ENODEV_REPLY[..]);
}

#[test]
fn empty_ok_reply_is_13_bytes() {
    let mut out = [0u8; 64];
    let chunks: Vec<_> = reply_chunks(b"", 0, false).collect();
    assert_eq!(
        chunks,
        [ReplyRepr {
            err: 0,
            more: false,
            text: b""
        }]
    );
    let n = chunks[0].encode(&mut out).unwrap();
    assert_eq!(n, 13);
    assert_eq!(&out[..13], &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    let packet = ReplyPacket::new_checked(&out[..13]).unwrap();
    assert_eq!(
        (packet.err(), packet.more(), packet.text()),
        (0, false, &b""[..])
    );
}

#[test]
fn einval_reply_bytes() {
    let repr = ReplyRepr {
        err: ERR_EINVAL,
        more: false,
        text: DEVICE_ALREADY_CONFIGURED.as_bytes(),
    };
    let mut out = [0u8; 64];
    let n = repr.encode(&mut out).unwrap();
    assert_eq!(n, 12 + 25 + 1);
    assert_eq!(&out[..4], &[0xea, 0xff, 0xff, 0xff]);
    assert_eq!(&out[8..12], &[26, 0, 0, 0]);
    let back = ReplyRepr::parse(&ReplyPacket::new_checked(&out[..n]).unwrap()).unwrap();
    assert_eq!(back.err, -22);
    // uml_mconsole exits with err; the shell sees its low byte.
    assert_eq!(back.err as u32 & 0xff, 234);
}

#[test]
fn reply_checks() {
    let mut out = [0u8; 64];
    let n = ReplyRepr {
        err: 0,
        more: false,
        text: b"abc",
    }
    .encode(&mut out)
    .unwrap();
    assert_eq!(
        ReplyPacket::new_checked(&out[..n - 1]).unwrap_err(),
        Error::Truncated {
            needed: 16,
            got: 15
        }
    );
    out[n - 1] = b'!';
    assert_eq!(
        ReplyPacket::new_checked(&out[..n]).unwrap_err(),
        Error::MissingNul
    );
    out[8..12].copy_from_slice(&0u32.to_ne_bytes());
    assert_eq!(
        ReplyPacket::new_checked(&out[..n]).unwrap_err(),
        Error::BadLength { len: 0 }
    );
}

#[test]
fn long_replies_are_chunked_like_the_kernel() {
    let text: Vec<u8> = (0..1200).map(|i| b'a' + (i % 26) as u8).collect();
    let chunks: Vec<_> = reply_chunks(&text, 1, false).collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        chunks.iter().map(|c| c.text.len()).collect::<Vec<_>>(),
        [511, 511, 178]
    );
    assert_eq!(
        chunks.iter().map(|c| (c.err, c.more)).collect::<Vec<_>>(),
        [(1, true), (0, true), (0, false)]
    );
    // Exactly 511 bytes is one chunk; 512 is two.
    assert_eq!(reply_chunks(&text[..511], 0, false).count(), 1);
    assert_eq!(reply_chunks(&text[..512], 0, false).count(), 2);

    let mut reader = ReplyReader::new([0u8; 2048]);
    let mut buf = [0u8; MAX_REPLY_LEN];
    for (i, c) in chunks.iter().enumerate() {
        let n = c.encode(&mut buf).unwrap();
        let got = reader.push(&buf[..n]).unwrap();
        if i < 2 {
            assert!(got.is_none());
        } else {
            assert_eq!(got, Some((1, &text[..])));
        }
    }
}

#[test]
fn reader_reports_overflow_and_plain_text() {
    let mut reader = ReplyReader::new([0u8; 10]);
    let mut buf = [0u8; MAX_REPLY_LEN];
    let n = ReplyRepr {
        err: 0,
        more: false,
        text: b"0123456789A",
    }
    .encode(&mut buf)
    .unwrap();
    assert_eq!(
        reader.push(&buf[..n]),
        Err(Error::BufferTooSmall {
            needed: 11,
            got: 10
        })
    );
    let mut reader = ReplyReader::new([0u8; 100]);
    assert_eq!(
        reader.push(V0_REJECTION.as_bytes()),
        Ok(Some((
            1,
            &b"Version 0 mconsole clients are not supported by this driver"[..]
        )))
    );
    assert_eq!(
        parse_reply_datagram(V0_REJECTION.as_bytes()),
        Ok(ReplyDatagram::PlainText(V0_REJECTION.as_bytes()))
    );
}

#[test]
fn notify_socket_packet() {
    let path = b"/root/.uml/abc123/mconsole\0";
    let repr = NotifyRepr {
        notify_type: NotifyType::Socket,
        data: path,
    };
    let mut out = [0u8; 600];
    let n = repr.encode(&mut out).unwrap();
    assert_eq!(n, 16 + path.len());
    assert_eq!(
        &out[..16],
        &[0xbe, 0xba, 0xfe, 0xca, 2, 0, 0, 0, 0, 0, 0, 0, 27, 0, 0, 0]
    );
    let packet = NotifyPacket::new_checked(&out[..n]).unwrap();
    assert_eq!(NotifyRepr::parse(&packet), Ok(repr));
    out[8] = 7;
    let packet = NotifyPacket::new_checked(&out[..n]).unwrap();
    assert_eq!(packet.notify_type(), NotifyType::Unknown(7));
    out[4] = 3;
    assert_eq!(
        NotifyPacket::new_checked(&out[..n]).unwrap_err(),
        Error::BadVersion { found: 3 }
    );
}

#[test]
fn commands_match_by_prefix_like_the_kernel() {
    let p = |s: &'static str| Command::parse(s.as_bytes());
    assert_eq!(p("version"), Command::Version);
    assert_eq!(p("versionfoo"), Command::Version);
    assert_eq!(p("help"), Command::Help);
    assert_eq!(
        p("config eth4=mcast"),
        Command::ConfigEth { arg: "eth4=mcast" }
    );
    assert_eq!(
        p("config \t eth0=daemon,,unix,/tmp/ctl"),
        Command::ConfigEth {
            arg: "eth0=daemon,,unix,/tmp/ctl"
        }
    );
    assert_eq!(
        p("configeth1=tuntap,,,1.2.3.4"),
        Command::ConfigEth {
            arg: "eth1=tuntap,,,1.2.3.4"
        }
    );
    assert_eq!(p("config eth4"), Command::GetConfigEth { name: "4" });
    assert_eq!(
        p("config ubd0=/tmp/x"),
        Command::ConfigOther { arg: "ubd0=/tmp/x" }
    );
    assert_eq!(p("remove eth3"), Command::RemoveEth { index: 3 });
    assert_eq!(p("remove  eth0x1f"), Command::RemoveEth { index: 31 });
    assert_eq!(p("remove eth010"), Command::RemoveEth { index: 8 });
    assert_eq!(
        p("remove eth08"),
        Command::RemoveEthBadNumber { text: "08" }
    );
    assert_eq!(
        p("remove eth3 "),
        Command::RemoveEthBadNumber { text: "3 " }
    );
    assert_eq!(p("remove eth"), Command::RemoveEthBadNumber { text: "" });
    assert_eq!(p("remove ubd0"), Command::RemoveOther { arg: "ubd0" });
    assert_eq!(
        p("sysrq s"),
        Command::Other {
            name: "sysrq",
            args: " s"
        }
    );
    assert_eq!(
        p("halt"),
        Command::Other {
            name: "halt",
            args: ""
        }
    );
    assert_eq!(
        p("frobnicate"),
        Command::Unknown {
            text: b"frobnicate"
        }
    );
    assert_eq!(p(" version"), Command::Unknown { text: b" version" });
    // The kernel's strings end at the first NUL.
    assert_eq!(Command::parse(b"help\0garbage"), Command::Help);
    assert_eq!(
        Command::parse(b"ver\0sion"),
        Command::Unknown { text: b"ver" }
    );
    assert_eq!(
        Command::parse(b"\xffhelp"),
        Command::Unknown { text: b"\xffhelp" }
    );
}

#[test]
fn device_numbers_are_base_0() {
    assert_eq!(parse_device_number("0"), Some(0));
    assert_eq!(parse_device_number("17"), Some(17));
    assert_eq!(parse_device_number("0x1"), Some(1));
    assert_eq!(parse_device_number("0XfF"), Some(255));
    assert_eq!(parse_device_number("010"), Some(8));
    assert_eq!(parse_device_number("0x"), None);
    assert_eq!(parse_device_number("0xg"), None);
    assert_eq!(parse_device_number("09"), None);
    assert_eq!(parse_device_number(""), None);
    assert_eq!(parse_device_number("+1"), None);
    assert_eq!(parse_device_number(" 1"), None);
    assert_eq!(parse_device_number("2147483647"), Some(i32::MAX as u32));
    assert_eq!(parse_device_number("2147483648"), None);
}

#[test]
fn display_is_canonical() {
    assert_eq!(Command::RemoveEth { index: 8 }.to_string(), "remove eth8");
    assert_eq!(
        Command::ConfigEth { arg: "eth4=mcast" }.to_string(),
        "config eth4=mcast"
    );
    assert_eq!(Command::Unknown { text: b"a\xffb" }.to_string(), "a\\xffb");
    assert_eq!(
        Error::BadLength { len: 600 }.to_string(),
        "mconsole len field is 600: a request's must be below 512, a reply's between 1 \
             and 512"
    );
}

#[test]
fn fuzz_one_on_vectors() {
    fuzz_one(&observed_config_request());
    fuzz_one(b"");
    fuzz_one(V0_REJECTION.as_bytes());
    fuzz_one(&[0u8; 13]);
    fuzz_one(&[b'z'; 5000]);
}

fn command_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "(version|help|config|remove|halt|sysrq|log|go)[ \t]{0,2}(eth)?[0-9xX=a-f, ]{0,12}",
        "\\PC{0,30}",
    ]
}

proptest! {
    #[test]
    fn request_emit_then_parse_is_identity(version in any::<u32>(), command in proptest::collection::vec(any::<u8>(), 0..=511)) {
        let repr = RequestRepr { version, command: &command };
        let mut buf = [0u8; REQUEST_LEN];
        prop_assert_eq!(repr.encode(&mut buf), Ok(REQUEST_LEN));
        let packet = RequestPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(RequestRepr::parse(&packet), Ok(repr));
    }

    #[test]
    fn reply_emit_then_parse_is_identity(err in any::<i32>(), more in any::<bool>(), text in proptest::collection::vec(any::<u8>(), 0..=511)) {
        let repr = ReplyRepr { err, more, text: &text };
        let mut buf = [0u8; MAX_REPLY_LEN];
        let n = repr.encode(&mut buf).unwrap();
        prop_assert_eq!(n, 13 + text.len());
        let packet = ReplyPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(ReplyRepr::parse(&packet), Ok(repr));
    }

    #[test]
    fn notify_emit_then_parse_is_identity(t in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..=512)) {
        let repr = NotifyRepr { notify_type: NotifyType::from(t), data: &data };
        let mut buf = [0u8; NOTIFY_HEADER_LEN + MAX_DATA];
        let n = repr.encode(&mut buf).unwrap();
        let packet = NotifyPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(NotifyRepr::parse(&packet), Ok(repr));
        prop_assert_eq!(u32::from(repr.notify_type), t);
    }

    #[test]
    fn chunks_reassemble(err in any::<i32>(), text in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut reader = ReplyReader::new([0u8; 2000]);
        let chunks: Vec<_> = reply_chunks(&text, err, false).collect();
        prop_assert_eq!(chunks.len(), text.len().div_ceil(511).max(1));
        let mut buf = [0u8; MAX_REPLY_LEN];
        let mut result = None;
        for c in &chunks {
            let n = c.encode(&mut buf).unwrap();
            prop_assert!(n <= MAX_REPLY_LEN);
            if let Some((e, t)) = reader.push(&buf[..n]).unwrap() {
                result = Some((e, t.to_vec()));
            }
        }
        prop_assert_eq!(result, Some((err, text)));
    }

    #[test]
    fn command_print_then_parse_is_identity(s in command_text()) {
        let command = Command::parse(s.as_bytes());
        let printed = command.to_string();
        prop_assert_eq!(Command::parse(printed.as_bytes()), command);
    }

    #[test]
    fn device_number_round_trips(n in 0u32..=i32::MAX as u32) {
        let dec = std::format!("{n}");
        let hex = std::format!("0x{n:x}");
        let oct = std::format!("0{n:o}");
        prop_assert_eq!(parse_device_number(&dec), Some(n));
        prop_assert_eq!(parse_device_number(&hex), Some(n));
        prop_assert_eq!(parse_device_number(&oct), Some(n));
    }

    #[test]
    fn fuzz_one_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzz_one(&bytes);
    }
}
