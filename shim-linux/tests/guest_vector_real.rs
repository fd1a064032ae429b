//! `umlnet guest` on the transports of today's UML kernel, each against a real UML 6.1
//! kernel on the same medium: `vec0:transport=bess` on our `uml_switch -bess`,
//! `vec0:transport=fd` on the two ends of a socket pair, `vec0:transport=l2tpv3,udp=1`
//! with mirrored sessions, `eth0=ucast` with mirrored ports, and `eth0=vde` on a
//! `vde_switch` (both through `vde_plug`). Our guest and the
//! kernel ping each other. Every test runs in a network namespace of its own (the UDP
//! transports only on its loopback).

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use umlnet_testkit::{
    Daemon, Netns, OurSwitch, TempDir, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "our_guest_on_bess_and_a_real_kernel_on_bess_ping_each_other_through_our_switch",
            &["linux.uml", "ip"],
            our_guest_on_bess_and_a_real_kernel_on_bess_ping_each_other_through_our_switch,
        ),
        real(
            "our_guest_and_a_real_kernel_ping_each_other_over_a_socket_pair_on_fd",
            &["linux.uml", "ip"],
            our_guest_and_a_real_kernel_ping_each_other_over_a_socket_pair_on_fd,
        ),
        real(
            "our_guest_and_a_real_kernel_ping_each_other_over_l2tpv3_on_udp",
            &["linux.uml", "ip"],
            our_guest_and_a_real_kernel_ping_each_other_over_l2tpv3_on_udp,
        ),
        real(
            "our_guest_and_a_real_kernel_ping_each_other_over_ucast",
            &["linux.uml", "ip"],
            our_guest_and_a_real_kernel_ping_each_other_over_ucast,
        ),
        real(
            "our_guest_and_a_real_kernel_ping_each_other_on_vde_through_vde_switch",
            &["linux.uml", "ip", "vde_switch", "vde_plug"],
            our_guest_and_a_real_kernel_ping_each_other_on_vde_through_vde_switch,
        ),
    ]);
}

/// Our guest as a background process whose output goes to a log file.
struct OurGuest {
    daemon: Daemon,
    log: PathBuf,
}

impl OurGuest {
    fn spawn(ns: &Netns, dir: &TempDir, name: &str, args: &[String], cmds: &[&str]) -> OurGuest {
        let log = dir.join(&format!("{name}.log"));
        let mut cmd = ns.command(bin!("umlnet"));
        cmd.arg("guest")
            .arg(format!("umid={name}"))
            .arg(format!("uml_dir={}/", dir.path().display()))
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

    fn finish(&mut self, timeout: Duration) -> (i32, String) {
        let end = Instant::now() + timeout;
        let st = self
            .daemon
            .wait_timeout(end.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|| panic!("our guest did not finish; output:\n{}", self.output()));
        (st.code().unwrap_or(-1), self.output())
    }
}

/// The real kernel's script: `dev` up as 192.168.0.254, `UP`, then pings our guest
/// (192.168.0.253) until it answers, says `RESULT ok|fail <n> received`, and stays up
/// long enough for our guest to ping back.
fn uml_pinger(dev: &str) -> String {
    format!(
        "ip addr add 192.168.0.254/24 dev {dev} && ip link set {dev} up\n\
         say UP\n\
         r=fail\n\
         for i in $(seq 1 40); do\n\
           if ping -c 1 -W 1 192.168.0.253 >/dev/null 2>&1; then r=ok; break; fi\n\
         done\n\
         ping -c 3 -i 0.2 -W 2 192.168.0.253 > $T/ping 2>&1 || r=fail\n\
         say \"RESULT $r $(grep -o '[0-9]* received' $T/ping)\"\n\
         sleep 8\n"
    )
}

/// Boots the kernel on `theirs` (its device `dev`), starts our guest on `ours`, and
/// checks both pings.
fn ping_both_ways(ns: &Netns, dir: &TempDir, ours: &str, theirs: &str, dev: &str) {
    let mut kernel = UmlGuest::boot_in(ns, dir, "real", &[theirs.to_string()], &uml_pinger(dev));
    kernel.wait_said("UP", Duration::from_secs(60));
    let mut guest = OurGuest::spawn(
        ns,
        dir,
        "ours",
        &[ours.to_string()],
        &[
            "ifconfig eth0 192.168.0.253 netmask 255.255.255.0 up",
            "ping -c 3 192.168.0.254",
            "sleep 6",
        ],
    );
    let result = kernel.wait_said("RESULT", Duration::from_secs(90));
    assert_eq!(
        result,
        "RESULT ok 3 received",
        "the real kernel's ping of our guest; our output:\n{}\nconsole:\n{}",
        guest.output(),
        kernel.console()
    );
    let (code, out) = guest.finish(Duration::from_secs(30));
    assert!(
        out.contains("64 bytes from 192.168.0.254:") && !out.contains(" 0 received"),
        "our guest's ping of the kernel failed:\n{out}"
    );
    assert_eq!(code, 0, "{out}");
    kernel.finish(Duration::from_secs(60));
}

fn our_guest_on_bess_and_a_real_kernel_on_bess_ping_each_other_through_our_switch() {
    let (dir, ns) = dir_and_netns("gv-bess");
    let ctl = dir.join("uml.ctl");
    let bess = dir.join("bess.sock");
    let bess_arg = bess.to_string_lossy().into_owned();
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-bess", &bess_arg],
    );
    let vec = format!("vec0:transport=bess,dst={}", bess.display());
    ping_both_ways(&ns, &dir, &vec, &vec, "vec0");
    let log = sw.log_text();
    assert!(log.matches("(bess (seqpacket))").count() >= 2, "{log}");
}

fn our_guest_and_a_real_kernel_ping_each_other_over_a_socket_pair_on_fd() {
    let (dir, ns) = dir_and_netns("gv-fd");
    // Both ends inheritable (no SOCK_CLOEXEC): each side is told its own number.
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::empty(),
    )
    .expect("socketpair");
    ping_both_ways(
        &ns,
        &dir,
        &format!("vec0:transport=fd,fd={}", ours.as_raw_fd()),
        &format!("vec0:transport=fd,fd={}", theirs.as_raw_fd()),
        "vec0",
    );
}

fn our_guest_and_a_real_kernel_ping_each_other_over_l2tpv3_on_udp() {
    let (dir, ns) = dir_and_netns("gv-l2tp");
    let side = |sport: u16, dport: u16, rx: u32, tx: u32| {
        format!(
            "vec0:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,srcport={sport},\
             dstport={dport},rx_session={rx},tx_session={tx},rx_cookie=0x1234,tx_cookie=0x5678,counter=1"
        )
    };
    let theirs = side(1701, 1702, 0x2, 0x3);
    let mut ours = side(1702, 1701, 0x3, 0x2);
    ours = ours.replace(
        "rx_cookie=0x1234,tx_cookie=0x5678",
        "rx_cookie=0x5678,tx_cookie=0x1234",
    );
    ping_both_ways(&ns, &dir, &ours, &theirs, "vec0");
}

fn our_guest_and_a_real_kernel_ping_each_other_over_ucast() {
    let (dir, ns) = dir_and_netns("gv-ucast");
    ping_both_ways(
        &ns,
        &dir,
        "eth0=ucast,,127.0.0.1,1103,1102",
        "eth0=ucast,,127.0.0.1,1102,1103",
        "eth0",
    );
}

fn our_guest_and_a_real_kernel_ping_each_other_on_vde_through_vde_switch() {
    let (dir, ns) = dir_and_netns("gv-vde");
    let sw = dir.join("vde");
    ns.sh(&format!("vde_switch -s {} -d", sw.display()));
    wait_for(
        "vde_switch's control socket",
        Duration::from_secs(10),
        || sw.join("ctl").exists(),
    );
    let eth = format!("eth0=vde,{}", sw.display());
    ping_both_ways(&ns, &dir, &eth, &eth, "eth0");
    // vde_switch ends with the namespace (the testkit kills what runs in it).
}
