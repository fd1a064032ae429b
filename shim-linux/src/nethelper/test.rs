//! Tests of the helper's reply channels, output blocks and address checks.

use super::checks::check_special;
use super::reply::{Channel, block, channel_for};
use std::ffi::OsString;
use std::net::Ipv4Addr;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn refusals_go_where_the_kernel_reads_them() {
    assert_eq!(
        channel_for(&os(&["4", "tuntap", "up", "x"])),
        Channel::TuntapDatagram
    );
    assert_eq!(channel_for(&os(&["tuntap", "up"])), Channel::TuntapDatagram);
    assert_eq!(channel_for(&os(&["4", "tuntap", "add"])), Channel::Block);
    assert_eq!(
        channel_for(&os(&["4", "ethertap", "tap0"])),
        Channel::EthertapStatus
    );
    assert_eq!(channel_for(&os(&["4", "add", "tap0"])), Channel::Block);
    assert_eq!(channel_for(&os(&["4", "slip", "up"])), Channel::Block);
    assert_eq!(channel_for(&os(&[])), Channel::Block);
}

#[test]
fn blocks_count_the_nul_and_hold_the_text() {
    let b = block("* ip link set dev tap0 up\n");
    let parsed = umlnet_core::helper::parse_output_block(&b).unwrap();
    assert_eq!(parsed.text, b"* ip link set dev tap0 up\n");
    assert_eq!(parsed.len, b.len());
    assert_eq!(&b[..4], &27u32.to_ne_bytes());
    assert_eq!(block(""), vec![0, 0, 0, 0]);
}

#[test]
fn special_addresses_are_refused() {
    for ip in [
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "127.0.0.1",
        "127.1.2.3",
    ] {
        let ip: Ipv4Addr = ip.parse().unwrap();
        let e = check_special(ip, "guest address").unwrap_err().0;
        assert_eq!(
            e,
            format!("uml_net : refusing guest address {ip}: not a unicast host address")
        );
    }
    assert!(check_special(Ipv4Addr::new(10, 0, 0, 2), "guest address").is_ok());
}
