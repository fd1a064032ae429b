//! Tests of the shell: iputils number formats, interface names, `route` arguments, and
//! the fuzz entry point on token soup.

use super::decimal::{loss_percent, ms3, scaled};
use super::ping::format_rtt;
use super::route::RouteSpec;
use super::*;
use core::net::Ipv4Addr;
use std::string::String;

#[test]
fn iputils_number_formats() {
    assert_eq!(format_rtt(119), "0.119 ms");
    assert_eq!(format_rtt(1234), "1.23 ms");
    assert_eq!(format_rtt(12345), "12.3 ms");
    assert_eq!(format_rtt(123456), "123 ms");
    assert_eq!(loss_percent(3, 3), "0");
    assert_eq!(loss_percent(3, 0), "100");
    assert_eq!(loss_percent(3, 2), "33.3333");
    assert_eq!(loss_percent(4, 3), "25");
    assert_eq!(ms3(82), "0.082");
    assert_eq!(scaled(0), "0.0 B");
    assert_eq!(scaled(46944), "46.9 KB");
    assert_eq!(scaled(1_224_417), "1.2 MB");
}

#[test]
fn interface_names() {
    assert_eq!(parse_iface("eth0"), Some(0));
    assert_eq!(parse_iface("eth12"), Some(12));
    assert_eq!(parse_iface("eth"), None);
    assert_eq!(parse_iface("eth01"), None);
    assert_eq!(parse_iface("tap0"), None);
}

#[test]
fn route_arguments() {
    let s = RouteSpec::parse(&[
        "-net",
        "192.168.0.0",
        "dev",
        "eth0",
        "netmask",
        "255.255.255.0",
    ])
    .unwrap();
    assert_eq!(
        (s.dest, s.prefix_len, s.dev),
        (Ipv4Addr::new(192, 168, 0, 0), 24, Some("eth0"))
    );
    let s = RouteSpec::parse(&["default", "gw", "192.168.0.4"]).unwrap();
    assert_eq!(
        (s.prefix_len, s.gateway),
        (0, Some(Ipv4Addr::new(192, 168, 0, 4)))
    );
    let s = RouteSpec::parse(&["-host", "192.168.0.4", "eth0"]).unwrap();
    assert_eq!((s.prefix_len, s.dev), (32, Some("eth0")));
    let s = RouteSpec::parse(&["-net", "10.0.0.0/8", "gw", "10.0.0.1"]).unwrap();
    assert_eq!(s.prefix_len, 8);
    let e = RouteSpec::parse(&["-net", "10.0.0.1", "netmask", "255.0.0.0", "dev", "eth0"])
        .err()
        .unwrap();
    assert!(
        e.text
            .starts_with("route: netmask doesn't match route address\nUsage:")
    );
    assert_eq!(e.status, 3);
    let e = RouteSpec::parse(&["foo"]).err().unwrap();
    assert_eq!(e.text, "foo: Host name lookup failure\n");
    assert!(RouteSpec::parse(&[]).is_err());
}

/// Command lines built from the tools' own vocabulary, in random order: whatever
/// a user types, the shell answers without panicking and the table stays sound.
#[test]
fn token_soup_never_breaks_the_shell() {
    const WORDS: [&str; 40] = [
        "ifconfig",
        "route",
        "arp",
        "ping",
        "eth0",
        "eth1",
        "eth7",
        "up",
        "down",
        "netmask",
        "broadcast",
        "hw",
        "ether",
        "add",
        "del",
        "-net",
        "-host",
        "default",
        "gw",
        "dev",
        "metric",
        "-n",
        "-a",
        "-c",
        "-i",
        "-W",
        "-s",
        "1",
        "0",
        "192.168.0.253",
        "192.168.0.0",
        "255.255.255.0",
        "10.0.0.0/8",
        "0.0.0.0",
        "fe:fd:0:0:0:1",
        "03:00:00:00:00:01",
        "255.0.255.0",
        "1.2.3.4.5",
        "10.0.0.1",
        "/",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..200 {
        let mut input = String::new();
        for _ in 0..(next() % 12) {
            // Start most lines with a command so that the arguments get exercised.
            let first = ["ifconfig", "route", "arp", "ping"][(next() % 4) as usize];
            input.push_str(first);
            for _ in 0..(next() % 8) {
                input.push(' ');
                input.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
            }
            input.push('\n');
        }
        fuzz_shell(input.as_bytes());
    }
    fuzz_shell(b"ifconfig eth0 192.168.0.253 up\nroute add default gw 192.168.0.4\nping -c 2 192.168.0.4\n\xff\xfe");
    fuzz_shell(b"ifconfig eth1 10.0.0.1 up\nroute add -host 10.0.0.2 dev eth1\nping 10.0.0.2\nifconfig eth1 down");
}
