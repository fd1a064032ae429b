//! Our `uml_switch` against real peers: the UML kernel (`linux.uml`, `eth0=daemon`),
//! vde2's `vde_plug` and `vde_switch`, `tcpdump`, and our own clients speaking the
//! protocol byte for byte as the kernel does. Every test runs in a network namespace
//! of its own (abstract data sockets live per namespace).

#[path = "support/switch_clients.rs"]
mod switch_clients;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use switch_clients::{client, drain, drain_until_quiet, frame, mac, push, recv_seq};
use umlnet_core::daemon::{DataAddr, REQUEST_LEN, RequestRepr};
use umlnet_core::mac::MacAddr;
use umlnet_linux::switchd::client::uml_like_addr;
use umlnet_linux::sys::process::open_fd_count;
use umlnet_linux::sys::socket::{DgramSocket, SOCKADDR_UN_LEN};
use umlnet_testkit::{
    Daemon, Netns, OurSwitch, TempDir, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "two_real_uml_kernels_ping_each_other_through_our_switch",
            &["linux.uml", "ip"],
            two_real_uml_kernels_ping_each_other_through_our_switch,
        ),
        real(
            "a_hub_shows_unicast_to_a_third_guest_and_a_switch_does_not",
            &["linux.uml", "tcpdump"],
            a_hub_shows_unicast_to_a_third_guest_and_a_switch_does_not,
        ),
        real(
            "vde_plug_joins_our_switch_to_a_vde_switch_and_uml_guests_ping_across",
            &["linux.uml", "vde_plug", "vde_switch"],
            vde_plug_joins_our_switch_to_a_vde_switch_and_uml_guests_ping_across,
        ),
        real(
            "bad_requests_are_closed_and_the_switch_keeps_serving",
            &["ip"],
            bad_requests_are_closed_and_the_switch_keeps_serving,
        ),
        real(
            "only_its_client_can_send_into_a_port",
            &["ip"],
            only_its_client_can_send_into_a_port,
        ),
        real(
            "a_client_leaving_mid_stream_is_purged_and_others_keep_flowing",
            &["ip"],
            a_client_leaving_mid_stream_is_purged_and_others_keep_flowing,
        ),
        real(
            "a_thousand_attach_detach_cycles_leak_no_descriptors",
            &["ip"],
            a_thousand_attach_detach_cycles_leak_no_descriptors,
        ),
        real(
            "a_64k_address_flood_from_one_port_does_not_stop_forwarding",
            &["ip"],
            a_64k_address_flood_from_one_port_does_not_stop_forwarding,
        ),
        real(
            "version_1_and_compat_version_0_clients_attach",
            &["ip"],
            version_1_and_compat_version_0_clients_attach,
        ),
        real(
            "control_socket_lifecycle_live_refused_stale_reclaimed_removed_on_signals",
            &["ip"],
            control_socket_lifecycle_live_refused_stale_reclaimed_removed_on_signals,
        ),
        real(
            "pcap_capture_reads_back_with_tcpdump_and_console_lists_ports_and_macs",
            &["linux.uml", "tcpdump"],
            pcap_capture_reads_back_with_tcpdump_and_console_lists_ports_and_macs,
        ),
        real(
            "a_slow_receiver_gets_a_bounded_backlog_and_never_blocks_the_others",
            &["ip"],
            a_slow_receiver_gets_a_bounded_backlog_and_never_blocks_the_others,
        ),
        real(
            "a_tap_port_and_daemon_mode_reach_a_uml_guest",
            &["linux.uml", "ip", "ping"],
            a_tap_port_and_daemon_mode_reach_a_uml_guest,
        ),
    ]);
}

const BOOT: Duration = Duration::from_secs(90);

fn two_real_uml_kernels_ping_each_other_through_our_switch() {
    let (dir, ns) = dir_and_netns("sw-ping");
    let ctl = dir.join("uml.ctl");
    let sw = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "switch", &ctl, &[]);
    let eth = vec![format!("eth0=daemon,,unix,{}", ctl.display())];
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; say UP; \
             i=0; while [ ! -f {d}/done ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
            d = dir.path().display()
        ),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0; cd {d}; \
             i=0; while [ ! -f b.out ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; \
             ping -c 3 -W 2 10.0.0.2 > ping.txt 2>&1; say \"PING $?\"; touch done",
            d = dir.path().display()
        ),
    );
    let ping = a.wait_said("PING", BOOT);
    std::fs::write(dir.join("done"), b"").unwrap();
    let out = std::fs::read_to_string(dir.join("ping.txt")).unwrap_or_default();
    assert_eq!(
        ping,
        "PING 0",
        "ping failed:\n{out}\nswitch log:\n{}\nconsole a:\n{}",
        sw.log_text(),
        a.console()
    );
    assert!(out.contains("3 received"), "{out}");
    a.finish(BOOT);
    b.finish(BOOT);
    // Both kernels attached as version 3 ports and detached at power-off.
    let log = sw.log_text();
    assert_eq!(log.matches("New port").count(), 2, "{log}");
    wait_for("both ports to detach", Duration::from_secs(10), || {
        sw.log_text().matches("Disconnect port").count() == 2
    });
}

/// Boots three guests on a switch (or hub): a pings b while c captures ICMP; returns how
/// many ICMP echo frames c saw during the timed exchange (after a warm-up ping).
fn third_guest_sees(hub: bool) -> usize {
    let tag = if hub { "hub3" } else { "sw3" };
    let ns = Netns::new(tag);
    let dir = TempDir::new(tag);
    let ctl = dir.join("uml.ctl");
    let extra: &[&str] = if hub { &["-hub"] } else { &[] };
    let sw = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "switch", &ctl, extra);
    if hub {
        assert!(
            sw.log_text().contains("will be a hub instead of a switch"),
            "{}",
            sw.log_text()
        );
    }
    let eth = vec![format!("eth0=daemon,,unix,{}", ctl.display())];
    let d = dir.path().display().to_string();
    let wait = |f: &str| {
        format!("i=0; while [ ! -f {d}/{f} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done;")
    };
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; touch {d}/b.up; {}",
            wait("done")
        ),
    );
    let mut c = UmlGuest::boot_in(
        &ns,
        &dir,
        "c",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.3/24 dev eth0; touch {d}/c.up; {w} \
             tcpdump -n -l -i eth0 icmp > {d}/c.icmp 2>{d}/c.err & sleep 2; touch {d}/c.ready; {w2} \
             sleep 1; kill %1; sleep 0.5; say \"SEEN $(grep -c 'ICMP echo' {d}/c.icmp)\"",
            w = wait("warm"),
            w2 = wait("pinged")
        ),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0; {wb} {wc} \
             ping -c 1 -W 2 10.0.0.2 > /dev/null; touch {d}/warm; {wr} \
             ping -c 5 -i 0.2 -W 2 10.0.0.2 > {d}/a.ping 2>&1; say \"PING $?\"; touch {d}/pinged",
            wb = wait("b.up"),
            wc = wait("c.up"),
            wr = wait("c.ready")
        ),
    );
    let ping = a.wait_said("PING", BOOT);
    assert_eq!(
        ping,
        "PING 0",
        "{}",
        std::fs::read_to_string(dir.join("a.ping")).unwrap_or_default()
    );
    let seen = c.wait_said("SEEN", BOOT);
    std::fs::write(dir.join("done"), b"").unwrap();
    a.finish(BOOT);
    b.finish(BOOT);
    c.finish(BOOT);
    seen["SEEN ".len()..].trim().parse().expect("a count")
}

fn a_hub_shows_unicast_to_a_third_guest_and_a_switch_does_not() {
    // Five echo requests and five replies between a and b.
    let hub = third_guest_sees(true);
    assert!(
        hub >= 10,
        "in -hub mode the third guest saw only {hub} ICMP echo frames of 10"
    );
    let switch = third_guest_sees(false);
    assert_eq!(
        switch, 0,
        "a learning switch leaked {switch} unicast ICMP echo frames to the third guest"
    );
}

fn vde_plug_joins_our_switch_to_a_vde_switch_and_uml_guests_ping_across() {
    let (dir, ns) = dir_and_netns("sw-vde");
    // libvdeplug's vde:// URL names a switch *directory* whose control socket is <dir>/ctl.
    let ours = dir.join("ours");
    std::fs::create_dir_all(&ours).unwrap();
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ours.join("ctl"),
        &[],
    );
    let theirs = dir.join("theirs");
    ns.sh(&format!("vde_switch -s {} -d", theirs.display()));
    wait_for(
        "vde_switch's control socket",
        Duration::from_secs(10),
        || theirs.join("ctl").exists(),
    );
    let _plug = Daemon::spawn(
        "vde_plug",
        ns.command("vde_plug")
            .arg(format!("vde://{}", ours.display()))
            .arg(format!("vde://{}", theirs.display())),
        &dir.join("vde_plug.log"),
    );
    wait_for(
        "vde_plug to attach to our switch",
        Duration::from_secs(10),
        || sw.log_text().contains("vdeplug"),
    );
    let d = dir.path().display().to_string();
    let ours_eth = vec![format!("eth0=daemon,,unix,{}/ctl", ours.display())];
    let theirs_eth = vec![format!("eth0=daemon,,unix,{}/ctl", theirs.display())];
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &theirs_eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; touch {d}/b.up; \
             i=0; while [ ! -f {d}/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
        ),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &ours_eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0; \
             i=0; while [ ! -f {d}/b.up ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
             ping -c 3 -W 2 10.0.0.2 > {d}/a.ping 2>&1; say \"PING $?\"; touch {d}/done"
        ),
    );
    let ping = a.wait_said("PING", BOOT);
    assert_eq!(
        ping,
        "PING 0",
        "ping across vde_plug failed:\n{}\nour switch:\n{}\nvde_plug:\n{}",
        std::fs::read_to_string(dir.join("a.ping")).unwrap_or_default(),
        sw.log_text(),
        std::fs::read_to_string(dir.join("vde_plug.log")).unwrap_or_default()
    );
    a.finish(BOOT);
    b.finish(BOOT);
}

/// Writes `bytes` as one request and reports whether the switch closed the connection
/// (EOF within 3 s) without answering.
fn closed_without_answer(ctl: &Path, bytes: &[u8]) -> bool {
    let mut s = UnixStream::connect(ctl).expect("connect to the control socket");
    if !bytes.is_empty() {
        s.write_all(bytes).expect("write a request");
    } else {
        s.shutdown(std::net::Shutdown::Write).unwrap();
    }
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 256];
    matches!(s.read(&mut buf), Ok(0))
}

fn v3_request(addr: &DataAddr) -> Vec<u8> {
    let mut b = [0u8; REQUEST_LEN];
    let n = RequestRepr::V3 {
        addr: *addr,
        port: 0,
        description: b"",
    }
    .emit(&mut b)
    .unwrap();
    b[..n].to_vec()
}

fn bad_requests_are_closed_and_the_switch_keeps_serving() {
    let (dir, ns) = dir_and_netns("sw-bad");
    let ctl = dir.join("uml.ctl");
    let mut sw = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "switch", &ctl, &[]);
    let ctl2 = ctl.clone();
    ns.run_inside(move || {
        let ctl = ctl2;
        let a = client(&ctl, 1);
        let addr = uml_like_addr(std::process::id(), 99, 5);
        let v3 = v3_request(&addr);
        let mut v2 = v3.clone();
        v2[4] = 2;
        let mut v4 = v3.clone();
        v4[4] = 4;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"GET / HTTP/1.0\r\n\r\n".to_vec()),
            ("short", vec![0xce, 0xfa, 0xed]),
            ("truncated v3", v3[..60].to_vec()),
            ("version 2", v2),
            ("version 4", v4),
            ("EOF before a request", Vec::new()),
        ];
        for (what, bytes) in &cases {
            assert!(
                closed_without_answer(&ctl, bytes),
                "{what}: the connection was not closed"
            );
        }
        // A client that attaches, writes, and goes away while frames flow.
        let b = client(&ctl, 2);
        push(&a, &frame(mac(2), mac(1), 1, 60));
        push(&b, &frame(mac(1), mac(2), 2, 60));
        assert!(
            recv_seq(&b, 1, Duration::from_secs(2)).is_some(),
            "b got nothing from a"
        );
        assert!(
            recv_seq(&a, 2, Duration::from_secs(2)).is_some(),
            "a got nothing from b"
        );
    });
    let log = sw.log_text();
    for needle in [
        "Version 2 is not supported",
        "version 4",
        "EOF from new port",
        "not a switch request",
        "truncated",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    assert!(sw.daemon.alive(), "the switch died");
}

fn only_its_client_can_send_into_a_port() {
    let (dir, ns) = dir_and_netns("sw-spoof");
    let ctl = dir.join("uml.ctl");
    let _sw = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "switch", &ctl, &[]);
    ns.run_inside(move || {
        let a = client(&ctl, 1);
        let b = client(&ctl, 2);
        push(&a, &frame([0xff; 6], mac(1), 1, 60));
        push(&b, &frame([0xff; 6], mac(2), 2, 60));
        std::thread::sleep(Duration::from_millis(100));
        drain(&a);
        drain(&b);
        // Somebody else who learned the name of a's port cannot inject frames into it.
        let intruder = DgramSocket::new().unwrap();
        let spoofed = frame(mac(2), mac(1), 77, 60);
        let err = intruder
            .send_to_raw(&spoofed, a.switch_addr().as_bytes(), SOCKADDR_UN_LEN)
            .expect_err("a datagram from a stranger into a's port was taken");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        assert!(recv_seq(&b, 77, Duration::from_millis(300)).is_none());
        // a itself still can.
        push(&a, &frame(mac(2), mac(1), 78, 60));
        assert!(recv_seq(&b, 78, Duration::from_secs(2)).is_some());
    });
}

fn a_client_leaving_mid_stream_is_purged_and_others_keep_flowing() {
    let (dir, ns) = dir_and_netns("sw-leave");
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let _sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-mgmt", mgmt.to_str().unwrap()],
    );
    ns.run_inside(move || {
        let a = client(&ctl, 1);
        let b = client(&ctl, 2);
        let c = client(&ctl, 3);
        // Everybody speaks once so the switch learns them.
        for (i, x) in [&a, &b, &c].iter().enumerate() {
            push(x, &frame([0xff; 6], mac(i as u8 + 1), 100 + i as u32, 60));
        }
        std::thread::sleep(Duration::from_millis(200));
        drain(&a);
        drain(&b);
        drain(&c);
        for seq in 0..200u32 {
            if seq == 100 {
                c.control().shutdown(std::net::Shutdown::Both).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
            push(&a, &frame(mac(2), mac(1), seq, 100));
            assert!(
                recv_seq(&b, seq, Duration::from_secs(2)).is_some(),
                "frame {seq} a->b lost"
            );
        }
        // c's address was forgotten with its port: a frame to it now floods (reaches b).
        push(&a, &frame(mac(3), mac(1), 999, 60));
        assert!(
            recv_seq(&b, 999, Duration::from_secs(2)).is_some(),
            "a frame to the departed client's MAC did not flood"
        );
        let status = umlnet_linux::switchd::switch_status(&mgmt).unwrap();
        assert!(status.contains("\n2 ports\n"), "{status}");
        assert!(
            !status.contains("02:00:00:00:00:03"),
            "the departed client's MAC is still listed:\n{status}"
        );
        assert!(status.contains("02:00:00:00:00:01 port"), "{status}");
    });
}

fn a_thousand_attach_detach_cycles_leak_no_descriptors() {
    let (dir, ns) = dir_and_netns("sw-fds");
    let ctl = dir.join("uml.ctl");
    let sw = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "switch", &ctl, &[]);
    let pid = sw.daemon.pid();
    let before = open_fd_count(pid).unwrap();
    let ctl2 = ctl.clone();
    ns.run_inside(move || {
        let keep = client(&ctl2, 1);
        let peer = client(&ctl2, 2);
        for i in 0..1000u32 {
            if i % 2 == 0 {
                let c = client(&ctl2, 10 + i);
                push(
                    &c,
                    &frame(mac(1), [0x02, 1, 0, 0, (i >> 8) as u8, i as u8], i, 60),
                );
            } else {
                // Connect and hang up without a request.
                drop(UnixStream::connect(&ctl2).unwrap());
            }
        }
        // The two long-lived ports still talk.
        push(&peer, &frame(mac(1), mac(2), 5000, 60));
        assert!(recv_seq(&keep, 5000, Duration::from_secs(2)).is_some());
    });
    wait_for(
        "the switch to close every finished connection",
        Duration::from_secs(10),
        || open_fd_count(pid).unwrap() <= before,
    );
    assert_eq!(open_fd_count(pid).unwrap(), before);
}

fn a_64k_address_flood_from_one_port_does_not_stop_forwarding() {
    let (dir, ns) = dir_and_netns("sw-flood");
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let _sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-mgmt", mgmt.to_str().unwrap()],
    );
    ns.run_inside(move || {
        let a = client(&ctl, 1);
        let b = client(&ctl, 2);
        let f = client(&ctl, 3);
        push(&a, &frame(mac(2), mac(1), 1, 60));
        push(&b, &frame(mac(1), mac(2), 2, 60));
        std::thread::sleep(Duration::from_millis(100));
        drain(&a);
        drain(&b);
        // 65536 distinct source addresses, each to an unknown destination (so flooded).
        f.data().set_nonblocking(false).unwrap();
        for i in 0..65536u32 {
            let src = [0x02, 0xee, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            push(&f, &frame([0x02, 0xdd, 0, 0, 0, 1], src, i, 60));
            if i % 8 == 0 {
                drain(&a);
                drain(&b);
            }
        }
        f.data().set_nonblocking(true).unwrap();
        // The flood a and b did not keep up with waits in their backlogs at the switch
        // (their kernel queues hold 11 frames): take it all before the known traffic,
        // which a full backlog would rightly drop.
        drain_until_quiet(&[&a, &b], Duration::from_secs(20));
        let status = || umlnet_linux::switchd::switch_status(&mgmt).unwrap_or_default();
        for seq in 0..100u32 {
            push(&a, &frame(mac(2), mac(1), 10_000 + seq, 60));
            assert!(
                recv_seq(&b, 10_000 + seq, Duration::from_secs(2)).is_some(),
                "a->b frame {seq} lost after the flood; the switch says:\n{}",
                status()
            );
            push(&b, &frame(mac(1), mac(2), 20_000 + seq, 60));
            assert!(
                recv_seq(&a, 20_000 + seq, Duration::from_secs(2)).is_some(),
                "b->a frame {seq} lost after the flood; the switch says:\n{}",
                status()
            );
        }
        let status = status();
        let learned: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("addresses "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("an addresses line");
        assert!(
            learned >= 65536,
            "only {learned} addresses learned:\n{status}"
        );
        // Unicast between a and b again (no flood to f once learned).
        drain(&f);
        push(&a, &frame(mac(2), mac(1), 30_000, 60));
        assert!(recv_seq(&b, 30_000, Duration::from_secs(2)).is_some());
        assert!(
            recv_seq(&f, 30_000, Duration::from_millis(300)).is_none(),
            "known unicast leaked to the flooding port"
        );
    });
}

fn version_1_and_compat_version_0_clients_attach() {
    let (dir, ns) = dir_and_netns("sw-v0");
    let ctl = dir.join("uml.ctl");
    let data = dir.join("uml.data");
    let log = dir.join("switch.log");
    let mut cmd = ns.command(bin!("uml_switch"));
    cmd.arg("-compat-v0").arg("-unix").arg(&ctl).arg(&data);
    let _d = Daemon::spawn("switch", &mut cmd, &log);
    let banner = format!(
        "attached to unix sockets '{}' and '{}'",
        ctl.display(),
        data.display()
    );
    wait_for("the two-socket banner", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(&banner)
    });
    let data2 = data.clone();
    ns.run_inside(move || {
        let switch_data = DataAddr::from_path(data2.to_str().unwrap()).unwrap();
        // Version 1: magic, type 0, mac, address; answered with the data address.
        let a_addr = uml_like_addr(std::process::id(), 1, 11);
        let a_sock = DgramSocket::bind_raw(a_addr.as_bytes(), SOCKADDR_UN_LEN).unwrap();
        let mut req = [0u8; 124];
        let n = RequestRepr::V1 {
            mac: MacAddr(mac(1)),
            addr: a_addr,
        }
        .emit(&mut req)
        .unwrap();
        let mut a_ctl = UnixStream::connect(&ctl).unwrap();
        a_ctl.write_all(&req[..n]).unwrap();
        let mut reply = [0u8; 110];
        a_ctl
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        a_ctl.read_exact(&mut reply).unwrap();
        assert_eq!(
            &reply,
            switch_data.as_bytes(),
            "the reply is the filesystem data socket"
        );
        // Version 0: no magic, no reply.
        let b_addr = uml_like_addr(std::process::id(), 2, 22);
        let b_sock = DgramSocket::bind_raw(b_addr.as_bytes(), SOCKADDR_UN_LEN).unwrap();
        let mut req = [0u8; 120];
        let n = RequestRepr::V0 {
            mac: MacAddr(mac(2)),
            addr: b_addr,
        }
        .emit(&mut req)
        .unwrap();
        let mut b_ctl = UnixStream::connect(&ctl).unwrap();
        b_ctl.write_all(&req[..n]).unwrap();
        b_ctl
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 2048];
        assert!(
            b_ctl.read(&mut buf).is_err(),
            "a version 0 client must get no reply (and no EOF)"
        );
        let sd = *switch_data.as_bytes();
        a_sock
            .send_to_raw(&frame(mac(2), mac(1), 7, 60), &sd, SOCKADDR_UN_LEN)
            .unwrap();
        b_sock
            .send_to_raw(&frame(mac(1), mac(2), 8, 60), &sd, SOCKADDR_UN_LEN)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut got_b = Vec::new();
        while let Some(n) = b_sock.recv(&mut buf).unwrap() {
            got_b.push(buf[14..18].to_vec());
            let _ = n;
        }
        let mut got_a = Vec::new();
        while let Some(_n) = a_sock.recv(&mut buf).unwrap() {
            got_a.push(buf[14..18].to_vec());
        }
        assert!(
            got_b.contains(&7u32.to_be_bytes().to_vec()),
            "v0 client did not get the v1 client's frame"
        );
        assert!(
            got_a.contains(&8u32.to_be_bytes().to_vec()),
            "v1 client did not get the v0 client's frame"
        );
        drop((a_ctl, b_ctl));
    });
}

fn control_socket_lifecycle_live_refused_stale_reclaimed_removed_on_signals() {
    let (dir, ns) = dir_and_netns("sw-life");
    let ctl = dir.join("uml.ctl");
    // A stale socket file (its server is gone) is reclaimed silently.
    drop(UnixListener::bind(&ctl).unwrap());
    assert!(ctl.exists());
    let mut first = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "first", &ctl, &[]);
    // A second switch on the live socket is refused and leaves it alone.
    let out = ns
        .command(bin!("uml_switch"))
        .arg("-unix")
        .arg(&ctl)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "The control socket '{}' has another server attached to it",
            ctl.display()
        )),
        "{err}"
    );
    assert!(ctl.exists() && first.daemon.alive());
    UnixStream::connect(&ctl).expect("the first switch still serves its socket");
    // SIGTERM (which the original ignored) removes the socket.
    first.daemon.signal(libc::SIGTERM);
    assert!(
        first
            .daemon
            .wait_timeout(Duration::from_secs(5))
            .is_some_and(|s| s.success())
    );
    assert!(!ctl.exists(), "SIGTERM left the control socket behind");
    // SIGINT too.
    let mut second = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "second", &ctl, &[]);
    second.daemon.signal(libc::SIGINT);
    assert!(second.daemon.wait_timeout(Duration::from_secs(5)).is_some());
    assert!(!ctl.exists(), "SIGINT left the control socket behind");
    // Unknown options: usage, exit 1. -hub announces itself.
    let out = Command::new(bin!("uml_switch"))
        .arg("-bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Usage : "),
        "{out:?}"
    );
}

fn pcap_capture_reads_back_with_tcpdump_and_console_lists_ports_and_macs() {
    let (dir, ns) = dir_and_netns("sw-pcap");
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let pcap = dir.join("cap.pcap");
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &[
            "-mgmt",
            mgmt.to_str().unwrap(),
            "-pcap",
            pcap.to_str().unwrap(),
        ],
    );
    let eth = vec![format!("eth0=daemon,,unix,{}", ctl.display())];
    let d = dir.path().display().to_string();
    let hold =
        format!("i=0; while [ ! -f {d}/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done");
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; say \"MAC $(cat /sys/class/net/eth0/address)\"; touch {d}/b.up; {hold}"
        ),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0; say \"MAC $(cat /sys/class/net/eth0/address)\"; \
             i=0; while [ ! -f {d}/b.up ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
             ping -c 2 -W 2 10.0.0.2 > /dev/null 2>&1; say \"PING $?\"; {hold}"
        ),
    );
    assert_eq!(a.wait_said("PING", BOOT), "PING 0", "{}", sw.log_text());
    let mac_a = a.wait_said("MAC", BOOT)[4..].to_string();
    let mac_b = b.wait_said("MAC", BOOT)[4..].to_string();
    let status = umlnet_linux::switchd::switch_status(&mgmt).unwrap();
    std::fs::write(dir.join("done"), b"").unwrap();
    assert!(status.contains("\n2 ports\n"), "{status}");
    assert!(
        status.contains(&format!("{mac_a} port")) && status.contains(&format!("{mac_b} port")),
        "{status}"
    );
    a.finish(BOOT);
    b.finish(BOOT);
    // The capture is flushed whenever the switch goes idle.
    let out = Command::new("tcpdump")
        .arg("-n")
        .arg("-r")
        .arg(&pcap)
        .arg("icmp")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tcpdump -r failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.matches("10.0.0.1 > 10.0.0.2: ICMP echo request")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("10.0.0.2 > 10.0.0.1: ICMP echo reply").count(),
        2,
        "{text}"
    );
}

fn a_slow_receiver_gets_a_bounded_backlog_and_never_blocks_the_others() {
    let (dir, ns) = dir_and_netns("sw-slow");
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let _sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-mgmt", mgmt.to_str().unwrap()],
    );
    ns.run_inside(move || {
        let a = client(&ctl, 1);
        let slow = client(&ctl, 2);
        let c = client(&ctl, 3);
        let d = client(&ctl, 4);
        for (i, x) in [&a, &slow, &c, &d].iter().enumerate() {
            push(x, &frame([0xff; 6], mac(i as u8 + 1), 100 + i as u32, 60));
        }
        std::thread::sleep(Duration::from_millis(200));
        for x in [&a, &slow, &c, &d] {
            drain(x);
        }
        // A burst of 100 frames to a receiver that does not read: its kernel queue holds
        // about 11, the switch holds the rest for it.
        a.data().set_nonblocking(false).unwrap();
        for seq in 0..100u32 {
            push(&a, &frame(mac(2), mac(1), seq, 200));
        }
        // Meanwhile c and d are served at once.
        for seq in 0..50u32 {
            push(&c, &frame(mac(4), mac(3), 1000 + seq, 60));
            assert!(
                recv_seq(&d, 1000 + seq, Duration::from_secs(1)).is_some(),
                "c->d frame {seq} waited for the slow port"
            );
        }
        // Now the slow receiver reads: every frame of the burst arrives, in order.
        let mut buf = [0u8; 2048];
        for seq in 0..100u32 {
            let n = slow
                .recv_timeout(&mut buf, Duration::from_secs(2))
                .unwrap()
                .unwrap_or_else(|| panic!("frame {seq} of the burst never came"));
            assert_eq!(
                (n, &buf[14..18]),
                (200, &seq.to_be_bytes()[..]),
                "burst out of order"
            );
        }
        // A burst far beyond the backlog is cut (and counted), not queued without bound.
        for seq in 0..1000u32 {
            push(&a, &frame(mac(2), mac(1), 5000 + seq, 200));
        }
        std::thread::sleep(Duration::from_millis(300));
        let mut got = 0;
        while slow
            .recv_timeout(&mut buf, Duration::from_millis(300))
            .unwrap()
            .is_some()
        {
            got += 1;
        }
        assert!(
            (100..1000).contains(&got),
            "the slow port got {got} of 1000"
        );
        let status = umlnet_linux::switchd::switch_status(&mgmt).unwrap();
        let full: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("tx_queue_full "))
            .and_then(|n| n.trim().parse().ok())
            .expect("a tx_queue_full line");
        assert_eq!(
            full,
            1000 - got as u64,
            "every frame not delivered is counted:\n{status}"
        );
    });
}

fn a_tap_port_and_daemon_mode_reach_a_uml_guest() {
    let (dir, ns) = dir_and_netns("sw-tap");
    let ctl = dir.join("uml.ctl");
    // -daemon: the command returns once the switch is ready; the switch lives on (its
    // stdout stays open, as daemon(0, 1) keeps it, so it goes to a file here).
    let log = dir.join("switch.out");
    let status = ns
        .command(bin!("uml_switch"))
        .args(["-tap", "umltap0", "-daemon", "-unix"])
        .arg(&ctl)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().trim(),
        format!(
            "{} attached to unix socket '{}' tap device 'umltap0'",
            bin!("uml_switch").display(),
            ctl.display()
        )
    );
    UnixStream::connect(&ctl).expect("the daemonized switch serves its socket");
    ns.sh("ip addr add 10.0.0.254/24 dev umltap0 && ip link set umltap0 up");
    let eth = vec![format!("eth0=daemon,,unix,{}", ctl.display())];
    let mut g = UmlGuest::boot_in(
        &ns,
        &dir,
        "g",
        &eth,
        "ip link set eth0 up; ip addr add 10.0.0.1/24 dev eth0; ping -c 3 -W 2 10.0.0.254 > /dev/null 2>&1; say \"PING $?\"",
    );
    assert_eq!(g.wait_said("PING", BOOT), "PING 0", "{}", g.console());
    g.finish(BOOT);
}
