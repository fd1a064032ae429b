//! The boot command line: the forms of `ip=`, the port rules, errors that name the
//! word, and properties over generated lines.

use super::*;
use proptest::prelude::*;
use std::format;
use std::string::{String, ToString};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn the_kernel_long_form_of_ip() {
    let c = BootConfig::parse(
        "eth0=vde eth1=slip,10.0.1.1 ip=10.0.1.2::10.0.1.1:255.255.255.252::eth1",
    )
    .unwrap();
    assert_eq!(
        c.ips[0],
        IpConfig {
            device: 1,
            addr: ip("10.0.1.2"),
            prefix_len: Some(30),
            gateway: Some(ip("10.0.1.1")),
        }
    );
    assert_eq!(BoardPort::of(&c.devices[1].spec), BoardPort::Serial);
    // Short form without a prefix: classful later; `off` configures nothing.
    let c = BootConfig::parse("eth0=mcast ip=192.168.0.9").unwrap();
    assert_eq!(c.ips[0].prefix_len, None);
    assert!(
        BootConfig::parse("eth0=mcast ip=off")
            .unwrap()
            .ips
            .is_empty()
    );
}

#[test]
fn the_core_grammar_and_its_mac_rules_apply() {
    let c = BootConfig::parse("linux eth0=daemon,fe:fd:0a:00:00:05 quiet mem=64M").unwrap();
    assert_eq!(
        c.devices[0].spec.transport.mac().unwrap().to_string(),
        "fe:fd:0a:00:00:05"
    );
    let line = "eth0=daemon,ff:fd:0a:00:00:05,unix,/tmp/x";
    let e = BootConfig::parse(line).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("eth0: daemon mac: expected a unicast address"),
        "{text}"
    );
}

#[test]
fn errors_name_the_word_and_the_fix() {
    let cases = [
        ("eth0=daemon ip=10.0.0.5/33", "ip=10.0.0.5/33: the prefix"),
        ("eth0=daemon ip=dhcp", "ip=dhcp: automatic configuration"),
        (
            "eth0=daemon ip=10.0.0.5::10.0.0.1:255.0.255.0",
            "the netmask",
        ),
        (
            "eth0=daemon ip=10.0.0.5:::::wlan0",
            "the device (sixth field)",
        ),
        (
            "eth0=daemon ip=10.0.0.5:::::eth1",
            "there is no eth1; add an eth1=",
        ),
        (
            "eth0=daemon eth1=mcast",
            "eth1=mcast: the board's Ethernet controller is taken",
        ),
        ("eth0=slip eth1=slip", "SLIP serial line is taken"),
        (
            "vec0:transport=tap,ifname=tap0",
            "vec0:transport=tap,ifname=tap0: vec<n>: devices need a host",
        ),
    ];
    for (line, want) in cases {
        let e = BootConfig::parse(line).unwrap_err().to_string();
        assert!(e.contains(want), "{line}: {e}");
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("eth0=daemon".to_string()),
        Just("eth1=slip".to_string()),
        Just("eth0=slip,10.0.0.1".to_string()),
        Just("eth2=mcast,fe:fd:00:00:00:02".to_string()),
        (any::<[u8; 4]>(), 0u8..40).prop_map(|(a, p)| format!("ip={}/{p}", Ipv4Addr::from(a))),
        (any::<[u8; 4]>(), any::<[u8; 4]>(), 0u32..3).prop_map(|(a, g, d)| format!(
            "ip={}::{}:255.255.0.0::eth{d}",
            Ipv4Addr::from(a),
            Ipv4Addr::from(g)
        )),
        "[a-z=0-9.:/,]{0,12}",
    ]
}

proptest! {
    #[test]
    fn any_line_is_accepted_consistently_or_refused_by_word(words in proptest::collection::vec(word(), 0..6)) {
        let line = words.join(" ");
        super::fuzz_one(line.as_bytes());
    }

    #[test]
    fn short_form_round_trips(a in any::<[u8; 4]>(), p in 0u8..=32) {
        let addr = Ipv4Addr::from(a);
        let line = format!("eth0=daemon ip={addr}/{p}");
        let c = BootConfig::parse(&line).unwrap();
        prop_assert_eq!(c.ips[0], IpConfig { device: 0, addr, prefix_len: Some(p), gateway: None });
    }
}
