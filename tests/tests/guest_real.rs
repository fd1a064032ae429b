//! `umlnet guest` on the real host, against real peers: the Debian UML kernel on the
//! same multicast group or switch, the original `uml_switch`, vde2's `vde_switch`, our
//! own `uml_switch` and `uml_net`, the host's own stack behind a TAP, and `uml_mconsole`
//! changing devices at run time. Every test runs in network namespaces of its own.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use umlnet_tests::{Daemon, Netns, TempDir, UmlBoot, UmlGuest, bin, require_real_host, wait_for};

/// Our guest as a background process whose output goes to a log file.
struct OurGuest {
    daemon: Daemon,
    log: PathBuf,
}

impl OurGuest {
    fn spawn(ns: &Netns, dir: &TempDir, name: &str, args: &[String], cmds: &[&str]) -> OurGuest {
        let log = dir.join(&format!("{name}.log"));
        let mut cmd = ns.command(bin("umlnet"));
        cmd.arg("guest")
            .arg(format!("umid={name}"))
            .arg(format!("uml_dir={}/", dir.path().display()))
            .arg("--helper")
            .arg(bin("uml_net"))
            .args(args);
        for c in cmds {
            cmd.arg("-c").arg(c);
        }
        OurGuest {
            daemon: Daemon::spawn(name, &mut cmd, &log),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_output(&self, needle: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        while !self.output().contains(needle) {
            assert!(
                Instant::now() < end,
                "our guest never printed {needle:?}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the guest to exit and returns its status code and output.
    fn finish(&mut self, timeout: Duration) -> (i32, String) {
        let st = self
            .daemon
            .wait_timeout(timeout)
            .unwrap_or_else(|| panic!("our guest did not finish; output:\n{}", self.output()));
        (st.code().unwrap_or(-1), self.output())
    }
}

fn uml(ns: &Netns, dir: &TempDir, name: &str, eth: &[String], script: &str) -> UmlGuest {
    UmlGuest::boot(UmlBoot {
        netns: ns,
        dir: dir.path(),
        name,
        eth,
        script,
        path_prefix: None,
    })
}

/// The script of a real UML guest at `me` that waits until `peer` answers a ping,
/// says `UP` once its interface is configured and `RESULT <ok|fail>` after pinging,
/// then stays up for `stay` seconds so that the peer can ping it back.
fn uml_pinger(me: &str, peer: &str, stay: u32) -> String {
    format!(
        "ip addr add {me}/24 dev eth0 && ip link set eth0 up\n\
         say UP\n\
         r=fail\n\
         for i in $(seq 1 40); do\n\
           if ping -c 1 -W 1 {peer} >/dev/null 2>&1; then r=ok; break; fi\n\
         done\n\
         ping -c 3 -i 0.2 -W 2 {peer} > /tmp/ping.$$ 2>&1 || r=fail\n\
         say \"RESULT $r $(grep -o '[0-9]* received' /tmp/ping.$$)\"\n\
         sleep {stay}\n"
    )
}

/// Asserts that our guest's ping of `peer` was answered, as ping's exit status says
/// (it exits 0 when any reply came back; the guest then exits 0 too).
fn assert_pinged(out: &str, peer: &str) {
    assert!(
        out.contains(&format!("64 bytes from {peer}:"))
            && out.contains("3 packets transmitted, ")
            && !out.contains(" 0 received"),
        "our guest's ping of {peer} failed:\n{out}"
    );
}

/// Our guest and a real UML kernel on one switch-like medium (`eth`): each pings the
/// other.
fn ping_both_ways_with_real_uml(ns: &Netns, dir: &TempDir, ours: &str, theirs: &str) {
    let mut kernel = uml(
        ns,
        dir,
        "real",
        &[theirs.to_string()],
        &uml_pinger("192.168.0.254", "192.168.0.253", 8),
    );
    kernel.wait_said("UP", Duration::from_secs(30));
    let mut guest = OurGuest::spawn(
        ns,
        dir,
        "ours",
        &[ours.to_string()],
        &[
            "ifconfig eth0 192.168.0.253 netmask 255.255.255.0 up",
            "ping -c 3 192.168.0.254",
            "ifconfig eth0",
            "arp -n",
            "sleep 6",
        ],
    );
    let result = kernel.wait_said("RESULT", Duration::from_secs(60));
    assert_eq!(
        result,
        "RESULT ok 3 received",
        "the real UML kernel's ping of our guest; our output:\n{}",
        guest.output()
    );
    let (code, out) = guest.finish(Duration::from_secs(30));
    assert_pinged(&out, "192.168.0.254");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn our_guest_and_a_real_uml_kernel_ping_each_other_over_mcast() {
    if !require_real_host(
        "our_guest_and_a_real_uml_kernel_ping_each_other_over_mcast",
        &["linux.uml", "ip"],
    ) {
        return;
    }
    let ns = Netns::new("g-mcast");
    let dir = TempDir::new("g-mcast");
    ping_both_ways_with_real_uml(&ns, &dir, "eth0=mcast", "eth0=mcast");
}

#[test]
fn our_guest_and_a_real_uml_kernel_ping_each_other_on_the_original_uml_switch() {
    if !require_real_host(
        "our_guest_and_a_real_uml_kernel_ping_each_other_on_the_original_uml_switch",
        &["linux.uml", "uml_switch"],
    ) {
        return;
    }
    let ns = Netns::new("g-usw");
    let dir = TempDir::new("g-usw");
    let ctl = dir.join("uml.ctl");
    let _sw = Daemon::spawn(
        "uml_switch",
        ns.command("/usr/bin/uml_switch").arg("-unix").arg(&ctl),
        &dir.join("switch.log"),
    );
    wait_for(
        "uml_switch's control socket",
        Duration::from_secs(10),
        || ctl.exists(),
    );
    let eth = format!("eth0=daemon,,unix,{}", ctl.display());
    ping_both_ways_with_real_uml(&ns, &dir, &eth, &eth);
}

#[test]
fn our_guest_and_a_real_uml_kernel_ping_each_other_on_a_vde_switch() {
    if !require_real_host(
        "our_guest_and_a_real_uml_kernel_ping_each_other_on_a_vde_switch",
        &["linux.uml", "vde_switch"],
    ) {
        return;
    }
    let ns = Netns::new("g-vde");
    let dir = TempDir::new("g-vde");
    let sw = dir.join("vde");
    ns.sh(&format!("vde_switch -s {} -d", sw.display()));
    wait_for(
        "vde_switch's control socket",
        Duration::from_secs(10),
        || sw.join("ctl").exists(),
    );
    let eth = format!("eth0=daemon,,unix,{}", sw.join("ctl").display());
    ping_both_ways_with_real_uml(&ns, &dir, &eth, &eth);
}

/// A mebibyte of bytes that are not a repeating pattern of any short period.
fn mebibyte() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn two_of_our_guests_move_a_mebibyte_over_tcp_through_our_uml_switch() {
    if !require_real_host(
        "two_of_our_guests_move_a_mebibyte_over_tcp_through_our_uml_switch",
        &["ip"],
    ) {
        return;
    }
    let ns = Netns::new("g-tcp");
    let dir = TempDir::new("g-tcp");
    let ctl = dir.join("uml.ctl");
    let _sw = Daemon::spawn(
        "our uml_switch",
        ns.command(bin("uml_switch")).arg("-unix").arg(&ctl),
        &dir.join("switch.log"),
    );
    wait_for(
        "our uml_switch's control socket",
        Duration::from_secs(10),
        || ctl.exists(),
    );
    let data = mebibyte();
    let src = dir.join("in.bin");
    let dst = dir.join("out.bin");
    std::fs::write(&src, &data).unwrap();
    let eth = format!("eth0=daemon,,unix,{}", ctl.display());
    let mut receiver = OurGuest::spawn(
        &ns,
        &dir,
        "receiver",
        std::slice::from_ref(&eth),
        &[
            "ifconfig eth0 10.0.0.1 netmask 255.255.255.0 up",
            &format!("tcp-recv 5001 {}", dst.display()),
        ],
    );
    receiver.wait_output("tcp-recv: listening on port 5001", Duration::from_secs(10));
    let mut sender = OurGuest::spawn(
        &ns,
        &dir,
        "sender",
        std::slice::from_ref(&eth),
        &[
            "ifconfig eth0 10.0.0.2 netmask 255.255.255.0 up",
            &format!("tcp-send 10.0.0.1 5001 {}", src.display()),
        ],
    );
    let (code, out) = sender.finish(Duration::from_secs(90));
    assert_eq!(code, 0, "sender:\n{out}");
    assert!(
        out.contains("tcp-send: sent 1048576 bytes"),
        "sender:\n{out}"
    );
    let (code, out) = receiver.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "receiver:\n{out}");
    assert!(
        out.contains("tcp-recv: received 1048576 bytes"),
        "receiver:\n{out}"
    );
    let got = std::fs::read(&dst).unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the received bytes differ from the sent ones");
}
