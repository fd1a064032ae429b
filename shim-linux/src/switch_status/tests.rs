use proptest::prelude::*;

use super::*;

/// Three answers as a umlnet switch with two UML kernels and a TAP device gives them.
const SAMPLE: &str = "mode switch\nports 3\naddresses 2 of 4096\nrx_frames 12\nrx_bytes 1180\n\
unicast_frames 8\nflooded_frames 4\nunknown_unicast_frames 0\ndrops_runt 0\ndrops_oversize 0\n\
drops_reflected 0\ndrops_unknown_sender 0\ntx_frames 16\ntx_deferred 0\ntx_queue_full 0\n\
tx_refused 0\ntx_other_errors 0\nlearned 2\nmoved 0\nevicted 0\naged 0\npurged 0\nconnections 2\n\
ports_attached 3\nports_detached 0\nrequests_refused 0\npending_requests 0\ncaptured 0\n\n\
3 ports\n\
port 1 v3 @00000a0b0c0d0e0f101112 up 7s rx 6 frames 590 bytes tx 8 frames 788 bytes tx_errors 0 drops 0 macs 1\n\
port 2 v3 @00000a0b0c0d0e0f101113+ up 6s rx 6 frames 590 bytes tx 8 frames 788 bytes tx_errors 0 drops 0 macs 1\n\
port 3 tap tap0 up 7s rx 0 frames 0 bytes tx 0 frames 0 bytes tx_errors 0 drops 0 macs 0\n\n\
2 addresses\nfe:fd:00:00:00:01 port 1 age 0s\nfe:fd:00:00:00:02 port 2 age 1s\n\n";

#[test]
fn a_console_transcript_reads_into_ports_addresses_and_counters() {
    let s = parse(SAMPLE).unwrap();
    assert_eq!(s.mode, Mode::Switch);
    assert_eq!(
        (s.port_count, s.address_count, s.address_capacity),
        (3, 2, 4096)
    );
    assert_eq!(s.counters.get("tx_frames"), Some(16));
    assert_eq!(s.counters.get("captured"), Some(0));
    assert_eq!(s.ports.len(), 3);
    assert_eq!(s.ports[0].kind, "v3 @00000a0b0c0d0e0f101112");
    assert_eq!((s.ports[0].rx_frames, s.ports[0].tx_bytes), (6, 788));
    assert_eq!(s.ports[2].kind, "tap tap0");
    assert_eq!(s.addresses[1].mac, "fe:fd:00:00:00:02");
    assert_eq!((s.addresses[1].port, s.addresses[1].age_secs), (2, 1));
    assert_eq!(s.to_string(), SAMPLE);
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["mode"], "switch");
    assert_eq!(json["counters"]["rx_frames"], 12);
    assert_eq!(json["ports"][2]["kind"], "tap tap0");
    assert_eq!(json["addresses"][0]["mac"], "fe:fd:00:00:00:01");
}

#[test]
fn errors_name_the_line_and_what_belongs_there() {
    let e = parse(&SAMPLE.replace("rx_bytes 1180", "rx_bytes lots")).unwrap_err();
    assert_eq!((e.line, e.text.as_str()), (5, "rx_bytes lots"));
    assert!(e.to_string().contains("'<counter name> <count>'"), "{e}");
    let e = parse(&SAMPLE.replace("3 ports", "4 ports")).unwrap_err();
    assert!(e.to_string().contains("as many port lines"), "{e}");
    let e = parse("mode switch\nports 0\n").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    let e = parse("unknown command 'stats'; try 'help'\n\n\n\n").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.to_string().contains("'mode switch' or 'mode hub'"), "{e}");
}

fn status() -> impl Strategy<Value = SwitchStatus> {
    let port = (
        any::<u16>(),
        "[a-z0-9@+]{1,8}( [a-z0-9@+:.]{1,12}){0,3}",
        proptest::array::uniform9(any::<u64>()),
    )
        .prop_map(|(id, kind, n)| Port {
            id,
            kind,
            up_secs: n[0],
            rx_frames: n[1],
            rx_bytes: n[2],
            tx_frames: n[3],
            tx_bytes: n[4],
            tx_errors: n[5],
            drops: n[6],
            macs: n[7],
        });
    let address =
        (any::<[u8; 6]>(), any::<u16>(), any::<u64>()).prop_map(|(m, port, age)| Address {
            mac: umlnet_core::mac::MacAddr(m).to_string(),
            port,
            age_secs: age,
        });
    (
        any::<bool>(),
        any::<u64>(),
        any::<u64>(),
        proptest::collection::btree_map("[a-z_][a-z0-9_]{0,20}", any::<u64>(), 0..30),
        proptest::collection::vec(port, 0..6),
        proptest::collection::vec(address, 0..6),
        0u64..3000,
    )
        .prop_map(|(hub, ports, cap, counters, p, a, unlisted)| SwitchStatus {
            mode: if hub { Mode::Hub } else { Mode::Switch },
            port_count: ports,
            address_count: a.len() as u64 + unlisted,
            address_capacity: cap,
            counters: Counters(counters.into_iter().collect()),
            ports: p,
            addresses: a,
        })
}

proptest! {
    #[test]
    fn a_printed_status_reads_back_equal(s in status()) {
        let text = s.to_string();
        prop_assert_eq!(parse(&text).unwrap(), s);
    }

    #[test]
    fn any_text_is_read_or_refused_naming_one_of_its_lines(text in "[a-z0-9 :@.\n]{0,300}") {
        fuzz_one(text.as_bytes());
    }

    #[test]
    fn a_mangled_transcript_never_panics(cut in 0..SAMPLE.len(), junk in "[ -~\n]{0,20}") {
        let mut t = SAMPLE[..cut].to_string();
        t.push_str(&junk);
        t.push_str(&SAMPLE[cut..]);
        fuzz_one(t.as_bytes());
    }
}
