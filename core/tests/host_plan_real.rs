//! Host plans (`umlnet_core::host`) against a real host kernel: every printed line is
//! run as it is (split into argv, no shell) inside a network namespace made for the
//! test, the resulting state is read back with `ip`/`sysctl`, then the rollback's lines
//! must leave the namespace as it was. The last test boots the real UML kernel behind
//! the UML networking page's by-hand TUN/TAP setup and pings a LAN machine through it.

use std::net::Ipv4Addr;
use std::time::Duration;

use umlnet_core::cmdline::{DeviceSpec, Ethertap, IfName, Slip, Transport, Tuntap};
use umlnet_core::host::{
    self, GuestAddr, HostAction, HostContext, IfAddr, LanRoute, Plan, Prefix, Route, Setup, Tap,
};
use umlnet_testkit::{Netns, TempDir, UmlBoot, UmlGuest, real, run_cases, run_ok, wait_for};

fn main() {
    run_cases(vec![
        real(
            "manual_tuntap_plan_of_the_page_applies_and_rolls_back",
            &["ip", "sysctl", "ping"],
            manual_tuntap_plan_of_the_page_applies_and_rolls_back,
        ),
        real(
            "helper_tuntap_plan_on_a_kernel_chosen_tap",
            &["ip", "sysctl"],
            helper_tuntap_plan_on_a_kernel_chosen_tap,
        ),
        real(
            "manual_ethertap_plan_applies_and_rolls_back",
            &["ip", "sysctl", "ping"],
            manual_ethertap_plan_applies_and_rolls_back,
        ),
        real(
            "helper_ethertap_plan_and_its_del_and_down",
            &["ip", "sysctl", "ping"],
            helper_ethertap_plan_and_its_del_and_down,
        ),
        real(
            "manual_slip_plan_applies_and_rolls_back",
            &["ip", "sysctl", "ping"],
            manual_slip_plan_applies_and_rolls_back,
        ),
        real(
            "helper_slip_plan_and_its_slip_down",
            &["ip", "sysctl", "ping"],
            helper_slip_plan_and_its_slip_down,
        ),
        real(
            "every_action_kind_is_a_valid_command",
            &["ip", "sysctl"],
            every_action_kind_is_a_valid_command,
        ),
        real(
            "a_flush_takes_every_address_off",
            &["ip", "sysctl"],
            a_flush_takes_every_address_off,
        ),
        real(
            "real_uml_guest_reaches_the_lan_through_the_pages_tuntap_setup",
            &["ip", "sysctl", "linux.uml"],
            real_uml_guest_reaches_the_lan_through_the_pages_tuntap_setup,
        ),
    ]);
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn name(s: &str) -> IfName {
    host::if_name(s).unwrap()
}

/// Runs each line of the plan's text inside the namespace, split on spaces.
fn run_lines(ns: &Netns, plan: &Plan) {
    let text = plan.to_string();
    assert_eq!(text.lines().count(), plan.len());
    for line in text.lines() {
        let argv: Vec<&str> = line.split(' ').collect();
        run_ok(ns.command(argv[0]).args(&argv[1..]));
    }
}

/// The routes of the namespace's main table, from `/proc/net/route` as the helper reads
/// it (addresses as hex of the in-memory network-order word).
fn proc_routes(ns: &Netns) -> Vec<LanRoute> {
    let text = ns.sh("cat /proc/net/route");
    let hex = |s: &str| Ipv4Addr::from(u32::from_str_radix(s, 16).unwrap().to_ne_bytes());
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            LanRoute::new(f[0], hex(f[1]), hex(f[7])).unwrap()
        })
        .collect()
}

/// What the plans change, in a comparable form. The qdisc is left out: the kernel
/// attaches one when a link first goes up and keeps it.
fn snapshot(ns: &Netns) -> String {
    ns.sh(
        "ip -o link show | sed -e 's/^[0-9]*: //' -e 's/ qdisc [a-z_]*//'; ip -o -4 addr show; ip route show; \
         ip neigh show proxy; grep -H . /proc/sys/net/ipv4/conf/*/proxy_arp",
    )
}

fn sysctl(ns: &Netns, key: &str) -> String {
    ns.sh(&format!("sysctl -n {key}")).trim().to_string()
}

/// Two namespaces: `host`, whose eth0 (192.168.0.4/24, default route via .1) is on a
/// LAN with `lan` (lan0, 192.168.0.10/24).
fn host_on_lan(tag: &str) -> (Netns, Netns) {
    let host = Netns::new(&format!("{tag}-host"));
    let lan = Netns::new(&format!("{tag}-lan"));
    host.veth_to(
        &lan,
        ("eth0", "192.168.0.4/24"),
        ("lan0", "192.168.0.10/24"),
    );
    host.sh("ip route add default via 192.168.0.1 dev eth0");
    (host, lan)
}

fn tuntap_spec(dev: Option<&str>, gate: Option<&str>) -> DeviceSpec {
    DeviceSpec {
        index: 0,
        transport: Transport::Tuntap(Tuntap {
            dev: dev.map(name),
            mac: None,
            gate: gate.map(ip),
        }),
    }
}

/// The LAN machine asks for the guest's address; the host must answer for it with
/// eth0's own MAC (the published entry), because it forwards to the guest.
fn assert_host_answers_arp_for(host: &Netns, lan: &Netns, guest: &str) {
    let eth0_mac = host
        .sh("cat /sys/class/net/eth0/address")
        .trim()
        .to_string();
    // The echo itself goes nowhere (no guest behind the tap), only the ARP matters.
    let _ = lan.sh_output(&format!("ping -c 1 -W 2 {guest}"));
    wait_for(
        "the published ARP entry to be answered",
        Duration::from_secs(5),
        || {
            lan.sh(&format!("ip neigh show {guest} dev lan0"))
                .contains(&eth0_mac)
        },
    );
}

fn manual_tuntap_plan_of_the_page_applies_and_rolls_back() {
    let (host, lan) = host_on_lan("hp-page");
    let routes = proc_routes(&host);
    assert!(
        routes
            .iter()
            .any(|r| r.iface == "eth0" && r.dest == ip("192.168.0.0")),
        "{routes:?}"
    );
    let guests = [GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: None,
    }];
    let ctx = HostContext {
        uid: 1000,
        gid: Some(100),
        setup: Setup::Manual {
            gate: None,
            create_tap: true,
        },
        ..HostContext::new(None, &guests, &routes)
    };
    let plan = host::plan_for(&tuntap_spec(Some("tap0"), Some("192.168.0.254")), &ctx).unwrap();
    assert_eq!(
        plan.to_string(),
        "ip tuntap add dev tap0 mode tap user 1000 group 100\n\
         ip addr add 192.168.0.254/32 dev tap0\n\
         ip link set dev tap0 up\n\
         sysctl -w net.ipv4.ip_forward=1\n\
         ip route add 192.168.0.253/32 dev tap0\n\
         sysctl -w net.ipv4.conf.tap0.proxy_arp=1\n\
         ip neigh add proxy 192.168.0.253 dev eth0\n"
    );

    host.sh("sysctl -qw net.ipv4.ip_forward=0");
    let before = snapshot(&host);
    run_lines(&host, &plan);

    // What the UML networking page's commands leave behind, read back from the kernel.
    assert_eq!(host.sh("cat /sys/class/net/tap0/owner").trim(), "1000");
    assert_eq!(host.sh("cat /sys/class/net/tap0/group").trim(), "100");
    assert!(
        host.sh("ip -o -4 addr show dev tap0")
            .contains("inet 192.168.0.254/32")
    );
    assert!(host.sh("ip -o link show dev tap0").contains(",UP"));
    assert!(
        host.sh("ip route show 192.168.0.253")
            .contains("192.168.0.253 dev tap0 scope link")
    );
    assert!(
        host.sh("ip neigh show proxy")
            .contains("192.168.0.253 dev eth0 proxy")
    );
    assert_eq!(sysctl(&host, "net.ipv4.conf.tap0.proxy_arp"), "1");
    assert_eq!(sysctl(&host, "net.ipv4.ip_forward"), "1");
    // The LAN's own route is untouched (a classful /24 on tap0 would have shadowed it).
    assert!(host.sh("ip route get 192.168.0.10").contains("dev eth0"));
    assert_host_answers_arp_for(&host, &lan, "192.168.0.253");

    let undo = plan.undo();
    assert_eq!(undo.len(), plan.len() - 1, "all but ip_forward are undone");
    run_lines(&host, &undo);
    assert_eq!(
        snapshot(&host),
        before,
        "the rollback leaves the host as it was"
    );
    // Forwarding is deliberately left on (the helper never turns it off either).
    assert_eq!(sysctl(&host, "net.ipv4.ip_forward"), "1");
}

fn helper_tuntap_plan_on_a_kernel_chosen_tap() {
    let (host, _lan) = host_on_lan("hp-helper");
    // The helper's TUNSETIFF with an empty name: the kernel picks tap<n>.
    let mut create = Plan::new();
    create
        .push(HostAction::CreateTap(Tap {
            name: None,
            owner: 0,
            group: None,
            persistent: false,
        }))
        .unwrap();
    run_lines(&host, &create);
    let dev = host
        .sh("ls /sys/class/net | grep '^tap'")
        .trim()
        .to_string();
    assert_eq!(dev, "tap0");

    let routes = proc_routes(&host);
    let guest = GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: Some(ip("255.255.255.0")),
    };
    let ctx = HostContext::new(Some(&dev), std::slice::from_ref(&guest), &routes);
    let before = snapshot(&host);
    let plan = host::plan_for(&tuntap_spec(None, Some("192.168.0.254")), &ctx).unwrap();
    run_lines(&host, &plan);
    assert!(host.sh("ip route show 192.168.0.253").contains("dev tap0"));
    assert!(
        host.sh("ip neigh show proxy")
            .contains("192.168.0.253 dev eth0 proxy")
    );
    // Not on the default route's device twice, nor on the tap itself.
    assert_eq!(host.sh("ip neigh show proxy").lines().count(), 1);

    // The kernel's `del` for the address: no route, proxy ARP off, entry withdrawn.
    run_lines(&host, &host::address_del(&dev, guest, &routes).unwrap());
    assert_eq!(host.sh("ip route show 192.168.0.253"), "");
    assert_eq!(host.sh("ip neigh show proxy"), "");
    assert_eq!(sysctl(&host, "net.ipv4.conf.tap0.proxy_arp"), "0");
    // And the rest of the rollback.
    run_lines(
        &host,
        &host::tuntap_up(&dev, ip("192.168.0.254")).unwrap().undo(),
    );
    assert_eq!(snapshot(&host), before);
}

/// The UML networking page's "no host address" ethertap block on an emulated (named TAP) ethertap,
/// applied and undone.
fn manual_ethertap_plan_applies_and_rolls_back() {
    let (host, lan) = host_on_lan("hp-etm");
    let routes = proc_routes(&host);
    let before = snapshot(&host);
    let guests = [GuestAddr {
        ip: ip("192.168.0.250"),
        netmask: None,
    }];
    // Ethertap, the UML networking page's "no host address" block on an emulated (named TAP) ethertap.
    let ctx = HostContext {
        setup: Setup::Manual {
            gate: Some(ip("192.168.0.251")),
            create_tap: true,
        },
        ..HostContext::new(None, &guests, &routes)
    };
    let spec = DeviceSpec {
        index: 0,
        transport: Transport::Ethertap(Ethertap {
            dev: name("tap0"),
            mac: None,
            gate: None,
        }),
    };
    let plan = host::plan_for(&spec, &ctx).unwrap();
    run_lines(&host, &plan);
    assert!(host.sh("ip -o link show dev tap0").contains("mtu 1484"));
    assert!(
        host.sh("ip -o -4 addr show dev tap0")
            .contains("inet 192.168.0.251/32")
    );
    assert!(host.sh("ip route show 192.168.0.250").contains("dev tap0"));
    assert_host_answers_arp_for(&host, &lan, "192.168.0.250");
    run_lines(&host, &plan.undo());
    assert_eq!(snapshot(&host), before);
}

/// The helper's ethertap plan, its DEL message and its `ifconfig tap0 0.0.0.0 down`.
fn helper_ethertap_plan_and_its_del_and_down() {
    let (host, _lan) = host_on_lan("hp-eth");
    let routes = proc_routes(&host);
    let guests = [GuestAddr {
        ip: ip("192.168.0.250"),
        netmask: None,
    }];
    // The helper's ethertap plan (`ifconfig tap0 arp mtu 1500 <gate> netmask
    // 255.255.255.255 up`, then ADD), the DEL message and the helper's
    // `ifconfig tap0 0.0.0.0 down` when the guest closes the device.
    host.sh("ip tuntap add dev tap0 mode tap");
    let with_tap = snapshot(&host);
    let ctx = HostContext {
        setup: Setup::Helper,
        ..HostContext::new(None, &guests, &routes)
    };
    let spec = DeviceSpec {
        index: 0,
        transport: Transport::Ethertap(Ethertap {
            dev: name("tap0"),
            mac: None,
            gate: Some(ip("192.168.0.251")),
        }),
    };
    let plan = host::plan_for(&spec, &ctx).unwrap();
    run_lines(&host, &plan);
    assert!(host.sh("ip -o link show dev tap0").contains("mtu 1500"));
    assert!(host.sh("ip route show 192.168.0.250").contains("dev tap0"));
    run_lines(
        &host,
        &host::address_del("tap0", guests[0], &routes).unwrap(),
    );
    run_lines(&host, &host::device_down("tap0").unwrap());
    assert_eq!(host.sh("ip -o -4 addr show dev tap0"), "");
    assert_eq!(snapshot(&host), with_tap);
    host.sh("ip tuntap del dev tap0 mode tap");
}

/// A manual SLIP plan on a stand-in line (this host has no SLIP line discipline),
/// applied and undone.
fn manual_slip_plan_applies_and_rolls_back() {
    let (host, _lan) = host_on_lan("hp-slm");
    let routes = proc_routes(&host);
    let guests = [GuestAddr {
        ip: ip("192.168.0.250"),
        netmask: None,
    }];
    // SLIP: this host has no SLIP line discipline, so a point-to-point tun device named
    // sl0 stands in for the line the kernel would make.
    host.sh("ip tuntap add dev sl0 mode tun");
    let with_sl0 = snapshot(&host);
    let ctx = HostContext {
        setup: Setup::Manual {
            gate: None,
            create_tap: false,
        },
        ..HostContext::new(Some("sl0"), &guests, &routes)
    };
    let spec = DeviceSpec {
        index: 0,
        transport: Transport::Slip(Slip {
            gate: Some(ip("192.168.0.251")),
        }),
    };
    let plan = host::plan_for(&spec, &ctx).unwrap();
    run_lines(&host, &plan);
    // The peer address gives the UML networking page's `route add -host 192.168.0.250 gw 192.168.0.251`.
    assert!(
        host.sh("ip route show 192.168.0.250")
            .contains("192.168.0.250 dev sl0 proto kernel scope link src 192.168.0.251"),
        "{}",
        host.sh("ip route")
    );
    assert!(
        host.sh("ip neigh show proxy")
            .contains("192.168.0.250 dev eth0 proxy")
    );
    run_lines(&host, &plan.undo());
    assert_eq!(snapshot(&host), with_sl0);
}

/// The helper's SLIP plan and its `slip down`, on the same stand-in line.
fn helper_slip_plan_and_its_slip_down() {
    let (host, _lan) = host_on_lan("hp-slh");
    let routes = proc_routes(&host);
    let guests = [GuestAddr {
        ip: ip("192.168.0.250"),
        netmask: None,
    }];
    // The helper's SLIP plan (`ifconfig sl0 <gate> mtu 1500 up`, then `add`) and its
    // `slip down`.
    host.sh("ip tuntap add dev sl0 mode tun");
    let with_sl0 = snapshot(&host);
    let ctx = HostContext {
        setup: Setup::Helper,
        ..HostContext::new(Some("sl0"), &guests, &routes)
    };
    let spec = DeviceSpec {
        index: 0,
        transport: Transport::Slip(Slip {
            gate: Some(ip("192.168.0.251")),
        }),
    };
    let plan = host::plan_for(&spec, &ctx).unwrap();
    run_lines(&host, &plan);
    assert!(host.sh("ip route show 192.168.0.250").contains("dev sl0"));
    assert_eq!(sysctl(&host, "net.ipv4.conf.sl0.proxy_arp"), "1");
    run_lines(
        &host,
        &host::address_del("sl0", guests[0], &routes).unwrap(),
    );
    run_lines(&host, &host::device_down("sl0").unwrap());
    assert_eq!(snapshot(&host), with_sl0);
}

/// A namespace on a LAN without a default route and with a device whose name has a dot
/// (for the sysctl key's '/' form); the host before anything ran.
fn bare_host(tag: &str) -> (Netns, Netns, String) {
    let (host, lan) = host_on_lan(tag);
    host.sh("ip route del default");
    // A device whose name has a dot, for the sysctl key's '/' form.
    host.sh("ip link add eth0.5 type veth peer name x5 && ip link set x5 up");
    let before = snapshot(&host);
    (host, lan, before)
}

/// Every kind of action, applied: the host shows each; undone: the host is as before.
fn every_action_kind_is_a_valid_command() {
    let (host, _lan, before) = bare_host("hp-all");
    let actions = [
        HostAction::CreateTap(Tap {
            name: Some(name("tap7")),
            owner: 0,
            group: None,
            persistent: true,
        }),
        HostAction::SetMtu {
            dev: name("tap7"),
            mtu: 1400,
        },
        HostAction::AddAddress(IfAddr {
            dev: name("tap7"),
            addr: ip("10.7.0.1"),
            prefix: Prefix::new(24).unwrap(),
            peer: None,
        }),
        HostAction::AddAddress(IfAddr {
            dev: name("tap7"),
            addr: ip("10.8.0.1"),
            prefix: Prefix::HOST,
            peer: Some(ip("10.8.0.2")),
        }),
        HostAction::LinkUp { dev: name("tap7") },
        HostAction::LinkUp {
            dev: name("eth0.5"),
        },
        HostAction::AddRoute(Route::Host {
            dst: ip("10.9.0.9"),
            dev: name("tap7"),
            via: Some(ip("10.7.0.2")),
        }),
        HostAction::AddRoute(Route::Net {
            net: ip("10.10.3.7"),
            prefix: Prefix::new(16).unwrap(),
            dev: name("tap7"),
        }),
        HostAction::AddRoute(Route::Default {
            via: ip("192.168.0.1"),
        }),
        HostAction::ProxyArp {
            dev: name("eth0.5"),
            on: true,
        },
        HostAction::AddProxyNeigh {
            ip: ip("10.7.0.9"),
            dev: name("eth0"),
        },
        HostAction::IpForward,
    ];
    let mut plan = Plan::new();
    for a in actions {
        plan.push(a).unwrap();
    }
    run_lines(&host, &plan);
    assert!(host.sh("ip -o link show dev tap7").contains("mtu 1400"));
    let addrs = host.sh("ip -o -4 addr show dev tap7");
    assert!(
        addrs.contains("inet 10.7.0.1/24") && addrs.contains("inet 10.8.0.1 peer 10.8.0.2/32"),
        "{addrs}"
    );
    let routes = host.sh("ip route show");
    for want in [
        "10.9.0.9 via 10.7.0.2 dev tap7",
        "10.10.0.0/16 dev tap7",
        "default via 192.168.0.1 dev eth0",
    ] {
        assert!(routes.contains(want), "{want} not in\n{routes}");
    }
    assert_eq!(sysctl(&host, "net.ipv4.conf.eth0/5.proxy_arp"), "1");
    assert!(
        host.sh("ip neigh show proxy")
            .contains("10.7.0.9 dev eth0 proxy")
    );

    run_lines(&host, &plan.undo());
    assert_eq!(snapshot(&host), before);
}

/// A flush takes every address off (the peer form too), and the routes with them.
fn a_flush_takes_every_address_off() {
    let (host, _lan, before) = bare_host("hp-flush");
    let mut plan = Plan::new();
    for a in plan_items_for_flush() {
        plan.push(a).unwrap();
    }
    run_lines(&host, &plan);
    assert_eq!(host.sh("ip -o -4 addr show dev tap8").lines().count(), 2);
    run_lines(&host, &host::device_down("tap8").unwrap());
    assert_eq!(host.sh("ip -o -4 addr show dev tap8"), "");
    assert!(!host.sh("ip -o link show dev tap8").contains(",UP"));
    let mut delete = Plan::new();
    delete.push(plan.actions()[0].undo().unwrap()).unwrap();
    run_lines(&host, &delete);
    assert_eq!(snapshot(&host), before);
}

fn plan_items_for_flush() -> [HostAction; 4] {
    [
        HostAction::CreateTap(Tap {
            name: Some(name("tap8")),
            owner: 0,
            group: None,
            persistent: true,
        }),
        HostAction::AddAddress(IfAddr {
            dev: name("tap8"),
            addr: ip("10.11.0.1"),
            prefix: Prefix::new(24).unwrap(),
            peer: None,
        }),
        HostAction::AddAddress(IfAddr {
            dev: name("tap8"),
            addr: ip("10.12.0.1"),
            prefix: Prefix::HOST,
            peer: Some(ip("10.12.0.2")),
        }),
        HostAction::LinkUp { dev: name("tap8") },
    ]
}

fn real_uml_guest_reaches_the_lan_through_the_pages_tuntap_setup() {
    let (host, lan) = host_on_lan("hp-uml");
    let dir = TempDir::new("hp-uml");
    let routes = proc_routes(&host);
    let guests = [GuestAddr {
        ip: ip("192.168.0.253"),
        netmask: None,
    }];
    let ctx = HostContext {
        setup: Setup::Manual {
            gate: None,
            create_tap: true,
        },
        ..HostContext::new(None, &guests, &routes)
    };
    let spec = tuntap_spec(Some("tap0"), Some("192.168.0.254"));
    let plan = host::plan_for(&spec, &ctx).unwrap();
    run_lines(&host, &plan);

    // The guest side as the UML networking page says: address, no network route, default via the host.
    let script = "ip addr add 192.168.0.253/32 dev eth0\n\
                  ip link set eth0 up\n\
                  ip route add 192.168.0.254 dev eth0\n\
                  ip route add default via 192.168.0.254\n\
                  if ping -c 3 -W 3 192.168.0.10 >/dev/null 2>&1; then say RESULT lan ok; else say RESULT lan fail; fi";
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &host,
        dir: dir.path(),
        name: "hpuml",
        eth: &["eth0=tuntap,tap0,,192.168.0.254".to_string()],
        script,
        path_prefix: None,
    });
    let result = guest.wait_said("RESULT", Duration::from_secs(60));
    assert_eq!(result, "RESULT lan ok", "console:\n{}", guest.console());
    guest.finish(Duration::from_secs(30));
    // The LAN machine saw the guest's address at the host's eth0 MAC (proxy ARP).
    let eth0_mac = host
        .sh("cat /sys/class/net/eth0/address")
        .trim()
        .to_string();
    assert!(lan.sh("ip neigh show 192.168.0.253").contains(&eth0_mac));
    drop(guest);
    run_lines(&host, &plan.undo());
}
