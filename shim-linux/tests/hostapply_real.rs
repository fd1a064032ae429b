//! `umlnet_linux::hostapply` on the real host kernel: a whole host plan applied with
//! netlink, ioctls and sysctl writes from a thread inside a test namespace, read back
//! with `ip`, then rolled back to exactly the state before.

use std::net::Ipv4Addr;

use umlnet_core::cmdline::{DeviceSpec, Transport, Tuntap};
use umlnet_core::host::{self, GuestAddr, HostContext, LanRoute, Setup};
use umlnet_linux::hostapply::{Applier, Tolerance};
use umlnet_testkit::{Netns, real, run_cases};

fn main() {
    run_cases(vec![
        real(
            "a_manual_tuntap_plan_applies_and_rolls_back_to_the_same_host",
            &["ip"],
            a_manual_tuntap_plan_applies_and_rolls_back_to_the_same_host,
        ),
        real(
            "a_failed_plan_undoes_its_own_first_steps",
            &["ip"],
            a_failed_plan_undoes_its_own_first_steps,
        ),
    ]);
}

fn state(ns: &Netns) -> String {
    ns.sh(
        "ip -o link show | sed -e 's/^[0-9]*: //' -e 's/ qdisc [a-z_]*//' -e 's/ state [A-Z]*//'; \
         ip -4 -o addr show; ip -4 route show; ip neigh show proxy; \
         grep -H . /proc/sys/net/ipv4/conf/*/proxy_arp",
    )
}

fn a_manual_tuntap_plan_applies_and_rolls_back_to_the_same_host() {
    let ns = Netns::new("hostapply");
    ns.sh(
        "ip link add lan0 type veth peer name lanpeer && ip addr add 10.8.0.100/24 dev lan0 && \
         ip link set lan0 up && ip link set lanpeer up && echo 1 > /proc/sys/net/ipv4/ip_forward",
    );
    let before = state(&ns);
    let (applied, transcript, rolled_back) = {
        ns.run_inside(|| {
            let routes: Vec<LanRoute> = umlnet_linux::sys::sysctl::routes()
                .unwrap()
                .into_iter()
                .filter_map(|r| LanRoute::new(&r.iface, r.dest, r.mask).ok())
                .collect();
            let spec = DeviceSpec {
                index: 0,
                transport: Transport::Tuntap(Tuntap {
                    dev: Some(host::if_name("tapx").unwrap()),
                    mac: None,
                    gate: Some(Ipv4Addr::new(10, 8, 0, 1)),
                }),
            };
            let guests = [GuestAddr {
                ip: Ipv4Addr::new(10, 8, 0, 2),
                netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            }];
            let ctx = HostContext {
                uid: 65534,
                setup: Setup::Manual {
                    gate: None,
                    create_tap: true,
                },
                ..HostContext::new(None, &guests, &routes)
            };
            let plan = host::plan_for(&spec, &ctx).unwrap();
            let mut a = Applier::new(false, Tolerance::Strict);
            let applied = a.apply(&plan).map_err(|e| e.to_string());
            let transcript = a.take_transcript();
            (applied, transcript, plan)
        })
    };
    applied.unwrap_or_else(|e| panic!("{e}\n{transcript}"));
    assert!(
        transcript.starts_with("* ip tuntap add dev tapx mode tap user 65534\n"),
        "{transcript}"
    );
    let s = state(&ns);
    assert!(s.contains("tapx"), "{s}");
    assert!(s.contains("inet 10.8.0.1/32"), "{s}");
    assert!(s.contains("10.8.0.2 dev tapx"), "{s}");
    assert!(s.contains("10.8.0.2 dev lan0 proxy"), "{s}");
    assert!(s.contains("conf/tapx/proxy_arp:1"), "{s}");
    assert!(ns.sh("ip -d link show tapx").contains("user nobody"));

    // The rollback leaves the namespace as it was (ip_forward was already on).
    let plan = rolled_back;
    let text = ns
        .run_inside(move || {
            let mut a = Applier::new(false, Tolerance::Strict);
            a.apply(&plan.undo())
                .map_err(|e| e.to_string())
                .map(|()| a.take_transcript())
        })
        .unwrap();
    assert!(
        text.ends_with("* ip tuntap del dev tapx mode tap\n"),
        "{text}"
    );
    assert_eq!(state(&ns), before);
}

fn a_failed_plan_undoes_its_own_first_steps() {
    let ns = Netns::new("hostapply-fail");
    let before = state(&ns);
    // Create a tap, address it, then fail on a route through a device that is not there.
    let (err, text) = ns.run_inside(|| {
        let mut plan = host::Plan::new();
        let tap = host::HostAction::CreateTap(host::Tap {
            name: Some(host::if_name("tapf").unwrap()),
            owner: 0,
            group: None,
            persistent: true,
        });
        plan.push(tap).unwrap();
        plan.push(host::HostAction::AddAddress(host::IfAddr {
            dev: host::if_name("tapf").unwrap(),
            addr: Ipv4Addr::new(10, 8, 1, 1),
            prefix: host::Prefix::HOST,
            peer: None,
        }))
        .unwrap();
        plan.push(host::HostAction::AddRoute(host::Route::Host {
            dst: Ipv4Addr::new(10, 8, 1, 2),
            dev: host::if_name("nosuch0").unwrap(),
            via: None,
        }))
        .unwrap();
        let mut a = Applier::new(false, Tolerance::Strict);
        let e = a.apply(&plan).unwrap_err();
        (e.to_string(), a.take_transcript())
    });
    assert!(
        err.starts_with("'ip route add 10.8.1.2/32 dev nosuch0' failed: "),
        "{err}"
    );
    assert!(text.contains("* ip tuntap del dev tapf mode tap"), "{text}");
    assert_eq!(state(&ns), before, "nothing left behind");
}
