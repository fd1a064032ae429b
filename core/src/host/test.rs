//! Tests of [`super`]: examples from the kernel and the original tools, and property tests.

use super::*;

use crate::cmdline::{Daemon, Ethertap, Mcast, Slip, Tuntap};
use crate::cmdline::{DeviceSpec, IfName, Transport};
use core::net::Ipv4Addr;
use proptest::prelude::*;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn name(s: &str) -> IfName {
    if_name(s).unwrap()
}
fn lines(plan: &Plan) -> Vec<String> {
    plan.to_string().lines().map(str::to_string).collect()
}
fn route(iface: &str, dest: &str, mask: &str) -> LanRoute {
    LanRoute::new(iface, ip(dest), ip(mask)).unwrap()
}
/// A host on 192.168.0.0/24 (eth0) with a default route, as on the UML networking page.
fn page_routes() -> [LanRoute; 2] {
    [
        route("eth0", "0.0.0.0", "0.0.0.0"),
        route("eth0", "192.168.0.0", "255.255.255.0"),
    ]
}
fn tuntap(dev: Option<&str>, gate: Option<&str>) -> DeviceSpec {
    DeviceSpec {
        index: 0,
        transport: Transport::Tuntap(Tuntap {
            dev: dev.map(name),
            mac: None,
            gate: gate.map(ip),
        }),
    }
}
fn ethertap(dev: &str, gate: Option<&str>) -> DeviceSpec {
    DeviceSpec {
        index: 0,
        transport: Transport::Ethertap(Ethertap {
            dev: name(dev),
            mac: None,
            gate: gate.map(ip),
        }),
    }
}
fn slip(gate: Option<&str>) -> DeviceSpec {
    DeviceSpec {
        index: 0,
        transport: Transport::Slip(Slip { gate: gate.map(ip) }),
    }
}
fn manual(gate: Option<&str>, create_tap: bool) -> Setup {
    Setup::Manual {
        gate: gate.map(ip),
        create_tap,
    }
}

#[test]
fn manual_tuntap_is_the_pages_five_commands() {
    // tunctl <uid> (done), then:
    //   ifconfig tap0 192.168.0.254 up          -> addr + up
    //   echo 1 > /proc/sys/net/ipv4/ip_forward
    //   route add -host 192.168.0.253 dev tap0
    //   echo 1 > /proc/sys/net/ipv4/conf/tap0/proxy_arp
    //   arp -Ds 192.168.0.253 eth0 pub
    let routes = page_routes();
    let guests = [GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: None,
    }];
    let ctx = HostContext {
        setup: manual(None, false),
        ..HostContext::new(None, &guests, &routes)
    };
    let plan = plan_for(&tuntap(Some("tap0"), Some("192.168.0.254")), &ctx).unwrap();
    assert_eq!(
        plan.actions(),
        &[
            HostAction::AddAddress(IfAddr {
                dev: name("tap0"),
                addr: ip("192.168.0.254"),
                prefix: Prefix::HOST,
                peer: None
            }),
            HostAction::LinkUp { dev: name("tap0") },
            HostAction::IpForward,
            HostAction::AddRoute(Route::Host {
                dst: ip("192.168.0.253"),
                dev: name("tap0"),
                via: None
            }),
            HostAction::ProxyArp {
                dev: name("tap0"),
                on: true
            },
            HostAction::AddProxyNeigh {
                ip: ip("192.168.0.253"),
                dev: name("eth0")
            },
        ]
    );
    assert_eq!(
        lines(&plan),
        [
            "ip addr add 192.168.0.254/32 dev tap0",
            "ip link set dev tap0 up",
            "sysctl -w net.ipv4.ip_forward=1",
            "ip route add 192.168.0.253/32 dev tap0",
            "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
            "ip neigh add proxy 192.168.0.253 dev eth0",
        ]
    );
    // The guest's netmask, when known, gives the same LAN device.
    let guests = [GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: Some(ip("255.255.255.0")),
    }];
    let ctx2 = HostContext {
        guests: &guests,
        ..ctx
    };
    assert_eq!(
        plan_for(&tuntap(Some("tap0"), Some("192.168.0.254")), &ctx2).unwrap(),
        plan
    );
}

#[test]
fn manual_tuntap_with_tunctl_and_context_gate() {
    let routes = page_routes();
    let guests = [GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: None,
    }];
    let ctx = HostContext {
        uid: 1000,
        gid: Some(100),
        setup: manual(Some("192.168.0.254"), true),
        ..HostContext::new(None, &guests, &routes)
    };
    // `eth0=tuntap,tap0` without a gate: the context's address is used.
    let plan = plan_for(&tuntap(Some("tap0"), None), &ctx).unwrap();
    let l = lines(&plan);
    assert_eq!(l[0], "ip tuntap add dev tap0 mode tap user 1000 group 100");
    assert_eq!(l[1], "ip addr add 192.168.0.254/32 dev tap0");
    assert_eq!(l.len(), 7);
    // The rollback ends by deleting the tap.
    assert_eq!(
        lines(&plan.undo()),
        [
            "ip neigh del proxy 192.168.0.253 dev eth0",
            "sysctl -w net.ipv4.conf.tap0.proxy_arp=0",
            "ip route del 192.168.0.253/32 dev tap0",
            "ip link set dev tap0 down",
            "ip addr del 192.168.0.254/32 dev tap0",
            "ip tuntap del dev tap0 mode tap",
        ]
    );
    // No gate anywhere: a by-hand setup cannot be planned.
    let ctx = HostContext {
        setup: manual(None, true),
        ..ctx
    };
    assert_eq!(
        plan_for(&tuntap(Some("tap0"), None), &ctx),
        Err(PlanError::NoHostAddress)
    );
}

#[test]
fn helper_tuntap_is_tuntap_up_then_add() {
    let routes = page_routes();
    let guests = [GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: Some(ip("255.255.255.0")),
    }];
    let ctx = HostContext::new(Some("tap3"), &guests, &routes);
    let plan = plan_for(&tuntap(None, Some("192.168.0.254")), &ctx).unwrap();
    let mut expected = tuntap_up("tap3", ip("192.168.0.254")).unwrap();
    expected
        .append(&address_add("tap3", guests[0], &routes).unwrap())
        .unwrap();
    assert_eq!(plan, expected);
    assert_eq!(
        lines(&plan),
        [
            "ip addr add 192.168.0.254/32 dev tap3",
            "ip link set dev tap3 up",
            "sysctl -w net.ipv4.ip_forward=1",
            "ip route add 192.168.0.253/32 dev tap3",
            "sysctl -w net.ipv4.conf.tap3.proxy_arp=1",
            "ip neigh add proxy 192.168.0.253 dev eth0",
        ]
    );
    // No gate (the kernel runs `tuntap up` without one, which fails) or a fixed
    // tap (no helper at all): nothing for the helper to do.
    assert!(plan_for(&tuntap(None, None), &ctx).unwrap().is_empty());
    assert!(
        plan_for(&tuntap(Some("tap0"), Some("192.168.0.254")), &ctx)
            .unwrap()
            .is_empty()
    );
    // The kernel-chosen name must be given.
    let ctx = HostContext::new(None, &guests, &routes);
    assert_eq!(
        plan_for(&tuntap(None, Some("10.0.0.1")), &ctx),
        Err(PlanError::NoDevice)
    );
}

#[test]
fn address_del_is_the_helpers_no_route_and_arp() {
    let routes = [
        route("eth0", "192.168.0.0", "255.255.255.0"),
        route("wlan0", "192.168.0.0", "255.255.255.0"),
        route("tap0", "192.168.0.0", "255.255.255.0"),
    ];
    let g = GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: Some(ip("255.255.255.0")),
    };
    assert_eq!(
        lines(&address_del("tap0", g, &routes).unwrap()),
        [
            "ip neigh del proxy 192.168.0.253 dev wlan0",
            "ip neigh del proxy 192.168.0.253 dev eth0",
            "sysctl -w net.ipv4.conf.tap0.proxy_arp=0",
            "ip route del 192.168.0.253/32 dev tap0",
        ]
    );
}

#[test]
fn ethertap_helper_and_the_pages_no_host_address_block() {
    let routes = page_routes();
    let guests = [GuestAddr {
        ip: ip("192.168.0.250"),
        netmask: Some(ip("255.255.255.0")),
    }];
    // Helper: `ifconfig tap0 arp mtu 1500 <gate> netmask 255.255.255.255 up`.
    let ctx = HostContext::new(None, &guests, &routes);
    let plan = plan_for(&ethertap("tap0", Some("192.168.0.251")), &ctx).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "ip link set dev tap0 mtu 1500",
            "ip addr add 192.168.0.251/32 dev tap0",
            "ip link set dev tap0 up",
            "sysctl -w net.ipv4.ip_forward=1",
            "ip route add 192.168.0.250/32 dev tap0",
            "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
            "ip neigh add proxy 192.168.0.250 dev eth0",
        ]
    );
    // No gate: the helper only relays; the host is the user's job.
    assert!(plan_for(&ethertap("tap0", None), &ctx).unwrap().is_empty());
    // The UML networking page's block: `ifconfig tap0 arp mtu 1484 192.168.0.251 up`, route,
    // `arp -Ds 192.168.0.250 eth0 pub`, ip_forward.
    let ctx = HostContext {
        setup: manual(Some("192.168.0.251"), false),
        ..ctx
    };
    let plan = plan_for(&ethertap("tap0", None), &ctx).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "ip link set dev tap0 mtu 1484",
            "ip addr add 192.168.0.251/32 dev tap0",
            "ip link set dev tap0 up",
            "ip route add 192.168.0.250/32 dev tap0",
            "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
            "ip neigh add proxy 192.168.0.250 dev eth0",
            "sysctl -w net.ipv4.ip_forward=1",
        ]
    );
    // The helper's teardown.
    assert_eq!(
        lines(&device_down("tap0").unwrap()),
        ["ip -4 addr flush dev tap0", "ip link set dev tap0 down"]
    );
    // A context naming another device than the spec.
    let ctx = HostContext {
        dev: Some("tap1"),
        ..ctx
    };
    assert_eq!(
        plan_for(&ethertap("tap0", None), &ctx),
        Err(PlanError::DeviceMismatch)
    );
}

#[test]
fn slip_page_block_and_helper() {
    let routes = page_routes();
    let guests = [GuestAddr {
        ip: ip("192.168.0.250"),
        netmask: None,
    }];
    // The UML networking page: `ifconfig sl0 192.168.0.251 pointopoint 192.168.0.250 up`,
    // `route add -host 192.168.0.250 gw 192.168.0.251` (made by the peer address),
    // `arp -Ds 192.168.0.250 eth0 pub`, ip_forward.
    let ctx = HostContext {
        setup: manual(Some("192.168.0.251"), false),
        ..HostContext::new(Some("sl0"), &guests, &routes)
    };
    let plan = plan_for(&slip(None), &ctx).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "ip addr add 192.168.0.251 peer 192.168.0.250/32 dev sl0",
            "ip link set dev sl0 up",
            "ip neigh add proxy 192.168.0.250 dev eth0",
            "sysctl -w net.ipv4.ip_forward=1",
        ]
    );
    assert_eq!(
        lines(&plan.undo()),
        [
            "ip neigh del proxy 192.168.0.250 dev eth0",
            "ip link set dev sl0 down",
            "ip addr del 192.168.0.251 peer 192.168.0.250/32 dev sl0",
        ]
    );
    // The helper: `ifconfig sl0 <gate> mtu 1500 up`, ip_forward, then `add`.
    let ctx = HostContext {
        setup: Setup::Helper,
        ..ctx
    };
    let plan = plan_for(&slip(Some("192.168.0.251")), &ctx).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "ip addr add 192.168.0.251/32 dev sl0",
            "ip link set dev sl0 mtu 1500",
            "ip link set dev sl0 up",
            "sysctl -w net.ipv4.ip_forward=1",
            "ip route add 192.168.0.250/32 dev sl0",
            "sysctl -w net.ipv4.conf.sl0.proxy_arp=1",
            "ip neigh add proxy 192.168.0.250 dev eth0",
        ]
    );
    assert!(plan_for(&slip(None), &ctx).unwrap().is_empty());
    // slip has no name in the spec: the context must give it.
    let ctx = HostContext { dev: None, ..ctx };
    assert_eq!(
        plan_for(&slip(Some("192.168.0.251")), &ctx),
        Err(PlanError::NoDevice)
    );
}

#[test]
fn mcast_and_daemon_need_no_host_setup() {
    let routes = page_routes();
    let ctx = HostContext {
        setup: manual(Some("10.0.0.1"), true),
        ..HostContext::new(Some("tap0"), &[], &routes)
    };
    let m = DeviceSpec {
        index: 1,
        transport: Transport::Mcast(Mcast {
            mac: None,
            group: ip("239.192.168.1"),
            port: 1102,
            ttl: 1,
        }),
    };
    let d = DeviceSpec {
        index: 2,
        transport: Transport::Daemon(Daemon {
            mac: None,
            sock_type: "unix".try_into().unwrap(),
            ctl: None,
            data: None,
        }),
    };
    assert!(plan_for(&m, &ctx).unwrap().is_empty());
    assert!(plan_for(&d, &ctx).unwrap().is_empty());
    assert_eq!(plan_for(&m, &ctx).unwrap().to_string(), "");
}

#[test]
fn guest_equal_to_gate_is_refused() {
    let guests = [GuestAddr {
        ip: ip("10.0.0.1"),
        netmask: None,
    }];
    let ctx = HostContext::new(Some("tap0"), &guests, &[]);
    let e = plan_for(&tuntap(None, Some("10.0.0.1")), &ctx).unwrap_err();
    assert_eq!(e, PlanError::GuestIsGate(ip("10.0.0.1")));
    assert!(e.to_string().contains("must be different"));
}

#[test]
fn lan_devices_follow_the_helper_rule() {
    let routes = [
        route("eth0", "0.0.0.0", "0.0.0.0"),
        route("eth0", "192.168.0.0", "255.255.255.0"),
        route("eth1", "10.0.0.0", "255.0.0.0"),
        route("tap0", "192.168.0.253", "255.255.255.255"),
        route("br0", "192.168.0.0", "255.255.0.0"),
    ];
    let names = |g: GuestAddr| -> Vec<&str> {
        lan_devices(g, "tap0", &routes)
            .map(|n| n.as_str())
            .collect()
    };
    // Guest netmask /24: eth0 (once), not the default route's match, not tap0.
    assert_eq!(
        names(GuestAddr {
            ip: ip("192.168.0.253"),
            netmask: Some(ip("255.255.255.0"))
        }),
        ["eth0", "br0"]
    );
    // Unknown netmask: each route's own network must contain the guest.
    assert_eq!(
        names(GuestAddr {
            ip: ip("192.168.7.1"),
            netmask: None
        }),
        ["br0"]
    );
    assert_eq!(
        names(GuestAddr {
            ip: ip("10.9.9.9"),
            netmask: None
        }),
        ["eth1"]
    );
    // Nothing matches: no published entry at all (no eth0 fallback).
    assert!(
        names(GuestAddr {
            ip: ip("172.16.0.1"),
            netmask: None
        })
        .is_empty()
    );
    let plan = address_add(
        "tap0",
        GuestAddr {
            ip: ip("172.16.0.1"),
            netmask: Some(ip("255.255.0.0")),
        },
        &routes,
    )
    .unwrap();
    assert_eq!(plan.len(), 2);
}

#[test]
fn every_action_prints_a_valid_ip_command_and_undoes() {
    let all = [
        HostAction::CreateTap(Tap {
            name: None,
            owner: 0,
            group: None,
            persistent: false,
        }),
        HostAction::SetMtu {
            dev: name("tap0"),
            mtu: 1484,
        },
        HostAction::FlushAddresses { dev: name("sl0") },
        HostAction::AddRoute(Route::Host {
            dst: ip("192.168.0.250"),
            dev: name("sl0"),
            via: Some(ip("192.168.0.251")),
        }),
        HostAction::AddRoute(Route::Net {
            net: ip("192.168.0.77"),
            prefix: Prefix::new(24).unwrap(),
            dev: name("eth0"),
        }),
        HostAction::AddRoute(Route::Default {
            via: ip("192.168.0.4"),
        }),
        HostAction::ProxyArp {
            dev: name("eth0.100"),
            on: true,
        },
    ];
    let text: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "ip tuntap add mode tap user 0",
            "ip link set dev tap0 mtu 1484",
            "ip -4 addr flush dev sl0",
            "ip route add 192.168.0.250/32 via 192.168.0.251 dev sl0",
            "ip route add 192.168.0.0/24 dev eth0",
            "ip route add default via 192.168.0.4",
            "sysctl -w net.ipv4.conf.eth0/100.proxy_arp=1",
        ]
    );
    let undone: Vec<Option<String>> = all
        .iter()
        .map(|a| a.undo().map(|u| u.to_string()))
        .collect();
    assert_eq!(
        undone,
        [
            None,
            None,
            None,
            Some("ip route del 192.168.0.250/32 via 192.168.0.251 dev sl0".to_string()),
            Some("ip route del 192.168.0.0/24 dev eth0".to_string()),
            Some("ip route del default via 192.168.0.4".to_string()),
            Some("sysctl -w net.ipv4.conf.eth0/100.proxy_arp=0".to_string()),
        ]
    );
}

#[test]
fn names_prefixes_and_capacity() {
    assert!(if_name("tap0").is_ok());
    assert!(if_name("eth0.100").is_ok());
    assert!(if_name("abcdefghijklmno").is_ok());
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "a:1",
        "a b",
        "abcdefghijklmnop",
        "tab\t",
    ] {
        assert_eq!(if_name(bad), Err(PlanError::BadDeviceName), "{bad:?}");
    }
    assert_eq!(Prefix::from_netmask(ip("255.255.255.0")), Prefix::new(24));
    assert_eq!(Prefix::from_netmask(ip("0.0.0.0")), Prefix::new(0));
    assert_eq!(Prefix::from_netmask(ip("255.0.255.0")), None);
    assert_eq!(Prefix::new(33), None);
    assert_eq!(Prefix::new(20).unwrap().netmask(), ip("255.255.240.0"));
    assert_eq!(Prefix::new(0).unwrap().netmask(), ip("0.0.0.0"));

    let mut plan = Plan::new();
    for _ in 0..PLAN_MAX {
        plan.push(HostAction::IpForward).unwrap();
    }
    assert_eq!(plan.push(HostAction::IpForward), Err(PlanError::Full));
    assert!(plan.undo().is_empty());
    // Too many guest addresses for one plan.
    let guests: Vec<GuestAddr> = (1..=40)
        .map(|i| GuestAddr {
            ip: Ipv4Addr::new(10, 0, 0, i),
            netmask: None,
        })
        .collect();
    // Each guest takes a route and a published entry on eth0: 5 + 2 * 40 > 64.
    let routes = [route("eth0", "10.0.0.0", "255.255.255.0")];
    let ctx = HostContext::new(Some("tap0"), &guests, &routes);
    assert_eq!(
        plan_for(&tuntap(None, Some("10.0.1.1")), &ctx),
        Err(PlanError::Full)
    );
}

fn arb_name() -> impl Strategy<Value = IfName> {
    "[a-z][a-z0-9.]{0,14}".prop_map(|s| name(&s))
}
fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from_bits)
}
fn arb_prefix() -> impl Strategy<Value = Prefix> {
    (0u8..=32).prop_map(|b| Prefix::new(b).unwrap())
}
fn arb_tap() -> impl Strategy<Value = Tap> {
    (
        proptest::option::of(arb_name()),
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(|(name, owner, group, persistent)| Tap {
            name,
            owner,
            group,
            persistent,
        })
}
fn arb_route() -> impl Strategy<Value = Route> {
    prop_oneof![
        (arb_ip(), arb_name(), proptest::option::of(arb_ip()))
            .prop_map(|(dst, dev, via)| Route::Host { dst, dev, via }),
        (arb_ip(), arb_prefix(), arb_name()).prop_map(|(net, prefix, dev)| Route::Net {
            net,
            prefix,
            dev
        }),
        arb_ip().prop_map(|via| Route::Default { via }),
    ]
}
fn arb_ifaddr() -> impl Strategy<Value = IfAddr> {
    (
        arb_name(),
        arb_ip(),
        arb_prefix(),
        proptest::option::of(arb_ip()),
    )
        .prop_map(|(dev, addr, prefix, peer)| IfAddr {
            dev,
            addr,
            prefix,
            peer,
        })
}
fn arb_action() -> impl Strategy<Value = HostAction> {
    prop_oneof![
        arb_tap().prop_map(HostAction::CreateTap),
        arb_tap().prop_map(HostAction::DeleteTap),
        arb_ifaddr().prop_map(HostAction::AddAddress),
        arb_ifaddr().prop_map(HostAction::DelAddress),
        arb_name().prop_map(|dev| HostAction::FlushAddresses { dev }),
        (arb_name(), any::<u16>()).prop_map(|(dev, mtu)| HostAction::SetMtu { dev, mtu }),
        arb_name().prop_map(|dev| HostAction::LinkUp { dev }),
        arb_name().prop_map(|dev| HostAction::LinkDown { dev }),
        arb_route().prop_map(HostAction::AddRoute),
        arb_route().prop_map(HostAction::DelRoute),
        (arb_name(), any::<bool>()).prop_map(|(dev, on)| HostAction::ProxyArp { dev, on }),
        (arb_ip(), arb_name()).prop_map(|(ip, dev)| HostAction::AddProxyNeigh { ip, dev }),
        (arb_ip(), arb_name()).prop_map(|(ip, dev)| HostAction::DelProxyNeigh { ip, dev }),
        Just(HostAction::IpForward),
    ]
}
fn arb_plan() -> impl Strategy<Value = Plan> {
    proptest::collection::vec(arb_action(), 0..=PLAN_MAX).prop_map(|v| {
        let mut p = Plan::new();
        for a in v {
            p.push(a).unwrap();
        }
        p
    })
}

proptest! {
    #[test]
    fn undo_twice_is_identity_on_invertible_actions(plan in arb_plan()) {
        let invertible: Vec<HostAction> =
            plan.iter().filter(|a| a.undo().is_some()).cloned().collect();
        let back = plan.undo().undo();
        prop_assert_eq!(back.actions(), &invertible[..]);
        prop_assert!(plan.undo().len() <= plan.len());
        for a in plan.iter() {
            if let Some(u) = a.undo() {
                prop_assert_eq!(u.undo(), Some(a.clone()));
                prop_assert_ne!(&u, a);
            }
        }
    }

    #[test]
    fn plan_prints_one_plain_command_per_action(plan in arb_plan()) {
        let text = plan.to_string();
        prop_assert_eq!(text.lines().count(), plan.len());
        for (line, a) in text.lines().zip(plan.iter()) {
            prop_assert_eq!(line, a.to_string());
            prop_assert!(line.starts_with("ip ") || line.starts_with("sysctl -w "));
            // Splitting on spaces gives the argv: no empty or quoted words.
            prop_assert!(line.split(' ').all(|w| !w.is_empty()));
            prop_assert!(!line.contains(['"', '\'', ';', '&', '|', '$', '\n']));
        }
    }

    #[test]
    fn plan_for_length_is_bounded(
        kind in 0u8..3,
        gate in proptest::option::of(arb_ip()),
        ctx_gate in proptest::option::of(arb_ip()),
        helper in any::<bool>(),
        create_tap in any::<bool>(),
        guests in proptest::collection::vec(
            (arb_ip(), proptest::option::of(arb_ip()))
                .prop_map(|(ip, netmask)| GuestAddr { ip, netmask }),
            0..20),
        routes in proptest::collection::vec(
            (arb_name(), arb_ip(), arb_ip())
                .prop_map(|(iface, dest, mask)| LanRoute { iface, dest, mask }),
            0..8),
    ) {
        let spec = match kind {
            0 => tuntap(None, None),
            1 => ethertap("tap0", None),
            _ => slip(None),
        };
        let spec = DeviceSpec {
            transport: match spec.transport {
                Transport::Tuntap(t) => Transport::Tuntap(Tuntap { gate, ..t }),
                Transport::Ethertap(e) => Transport::Ethertap(Ethertap { gate, ..e }),
                Transport::Slip(_) => Transport::Slip(Slip { gate }),
                other => other,
            },
            ..spec
        };
        let setup = if helper { Setup::Helper } else { Setup::Manual { gate: ctx_gate, create_tap } };
        let ctx = HostContext { setup, ..HostContext::new(Some("tap0"), &guests, &routes) };
        let distinct_lans = {
            let mut n: Vec<&IfName> = routes.iter().map(|r| &r.iface).collect();
            n.sort();
            n.dedup();
            n.len()
        };
        let bound = 6 + guests.len() * (2 + distinct_lans);
        match plan_for(&spec, &ctx) {
            Ok(plan) => {
                prop_assert!(plan.len() <= bound);
                let gate = gate.or(if helper { None } else { ctx_gate });
                prop_assert_eq!(plan.is_empty(), gate.is_none() && helper);
                // Each guest address gets exactly one route to it, or is the
                // point-to-point peer.
                for g in &guests {
                    let routed = plan.iter().any(|a| matches!(a,
                        HostAction::AddRoute(Route::Host { dst, .. }) if *dst == g.ip)
                        || matches!(a, HostAction::AddAddress(IfAddr { peer: Some(p), .. }) if *p == g.ip));
                    prop_assert!(routed || plan.is_empty());
                }
            }
            Err(PlanError::Full) => prop_assert!(bound > PLAN_MAX),
            Err(PlanError::GuestIsGate(ip)) => prop_assert!(guests.iter().any(|g| g.ip == ip)),
            Err(PlanError::NoHostAddress) => prop_assert!(!helper && gate.is_none() && ctx_gate.is_none()),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}
