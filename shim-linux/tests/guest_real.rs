//! `umlnet guest` on the real host, against real peers: the Debian UML kernel on the
//! same multicast group or switch, the original `uml_switch`, vde2's `vde_switch`, our
//! own `uml_switch` and `uml_net`, the host's own stack behind a TAP, and `uml_mconsole`
//! changing devices at run time. Every test runs in network namespaces of its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::time::{Duration, Instant};

use umlnet_testkit::{
    Daemon, Netns, TempDir, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "our_guest_and_a_real_uml_kernel_ping_each_other_over_mcast",
            &["linux.uml", "ip"],
            our_guest_and_a_real_uml_kernel_ping_each_other_over_mcast,
        ),
        real(
            "our_guest_and_a_real_uml_kernel_ping_each_other_on_the_original_uml_switch",
            &["linux.uml", "uml_switch"],
            our_guest_and_a_real_uml_kernel_ping_each_other_on_the_original_uml_switch,
        ),
        real(
            "our_guest_and_a_real_uml_kernel_ping_each_other_on_a_vde_switch",
            &["linux.uml", "vde_switch"],
            our_guest_and_a_real_uml_kernel_ping_each_other_on_a_vde_switch,
        ),
        real(
            "two_of_our_guests_move_a_mebibyte_over_tcp_through_our_uml_switch",
            &["ip"],
            two_of_our_guests_move_a_mebibyte_over_tcp_through_our_uml_switch,
        ),
        real(
            "our_guest_on_tuntap_through_our_uml_net_reaches_the_host_and_the_net_behind_it",
            &["ip", "ping"],
            our_guest_on_tuntap_through_our_uml_net_reaches_the_host_and_the_net_behind_it,
        ),
        real(
            "the_seeds_network_route_warning_holds_and_its_fix_works",
            &["ip", "ping"],
            the_seeds_network_route_warning_holds_and_its_fix_works,
        ),
        real(
            "uml_mconsole_adds_an_mcast_device_to_our_running_guest_and_removes_it",
            &["linux.uml", "uml_mconsole"],
            uml_mconsole_adds_an_mcast_device_to_our_running_guest_and_removes_it,
        ),
        real(
            "our_guest_on_ethertap_through_our_uml_net_pings_the_host_both_ways",
            &["ip", "ping"],
            our_guest_on_ethertap_through_our_uml_net_pings_the_host_both_ways,
        ),
        real(
            "our_guest_on_slip_through_our_uml_net_pings_the_host_both_ways",
            &["ip", "ping"],
            our_guest_on_slip_through_our_uml_net_pings_the_host_both_ways,
        ),
        real(
            "a_script_runs_in_order_and_failures_show_in_messages_and_exit_status",
            &["ip"],
            a_script_runs_in_order_and_failures_show_in_messages_and_exit_status,
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
            .arg("--helper")
            .arg(bin!("uml_net"))
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
         ping -c 3 -i 0.2 -W 2 {peer} > $T/ping 2>&1 || r=fail\n\
         say \"RESULT $r $(grep -o '[0-9]* received' $T/ping)\"\n\
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
    let mut kernel = UmlGuest::boot_in(
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

fn our_guest_and_a_real_uml_kernel_ping_each_other_over_mcast() {
    let (dir, ns) = dir_and_netns("g-mcast");
    ping_both_ways_with_real_uml(&ns, &dir, "eth0=mcast", "eth0=mcast");
}

fn our_guest_and_a_real_uml_kernel_ping_each_other_on_the_original_uml_switch() {
    let (dir, ns) = dir_and_netns("g-usw");
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

fn our_guest_and_a_real_uml_kernel_ping_each_other_on_a_vde_switch() {
    let (dir, ns) = dir_and_netns("g-vde");
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

fn two_of_our_guests_move_a_mebibyte_over_tcp_through_our_uml_switch() {
    let (dir, ns) = dir_and_netns("g-tcp");
    let ctl = dir.join("uml.ctl");
    let _sw = Daemon::spawn(
        "our uml_switch",
        ns.command(bin!("uml_switch")).arg("-unix").arg(&ctl),
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

/// The lines of our guest's output after the last line containing `marker`.
fn after<'a>(out: &'a str, marker: &str) -> &'a str {
    out.rfind(marker).map_or("", |i| &out[i..])
}

fn our_guest_on_tuntap_through_our_uml_net_reaches_the_host_and_the_net_behind_it() {
    let host = Netns::new("g-tap");
    let lan = Netns::new("g-tap-lan");
    let dir = TempDir::new("g-tap");
    host.veth_to(&lan, ("lan0", "10.1.0.1/24"), ("eth0", "10.1.0.2/24"));
    lan.sh("ip route add default via 10.1.0.1");
    let mut guest = OurGuest::spawn(
        &host,
        &dir,
        "tap",
        &["eth0=tuntap,,,192.168.0.254".to_string()],
        &[
            "ifconfig eth0 192.168.0.253 netmask 255.255.255.0 up",
            "ping -c 3 192.168.0.254",
            "echo PHASE default-route",
            "route add default gw 192.168.0.254",
            "ping -c 3 10.1.0.2",
            "echo PHASE wait",
            "sleep 8",
        ],
    );
    guest.wait_output("PHASE wait", Duration::from_secs(30));
    let out = guest.output();
    // uml_net made the tap, gave it the gate, and routed the guest's address to it.
    assert!(
        out.contains("TUN/TAP backend - IP = 192.168.0.254"),
        "{out}"
    );
    let routes = host.sh("ip -4 route show; ip -4 addr show dev tap0");
    assert!(routes.contains("192.168.0.253 dev tap0"), "{routes}");
    assert!(routes.contains("inet 192.168.0.254/32"), "{routes}");
    // The guest pings the host, the host pings the guest.
    let first = &out[..out.find("PHASE default-route").unwrap()];
    assert_pinged(first, "192.168.0.254");
    let host_ping = host.sh_output("ping -c 3 -i 0.2 -W 2 192.168.0.253");
    let text = String::from_utf8_lossy(&host_ping.stdout);
    assert!(
        host_ping.status.success() && text.contains("3 received"),
        "the host's ping of our guest:\n{text}\nguest:\n{out}"
    );
    // With the default route through the host, the namespace behind it answers, and
    // it reaches the guest back.
    assert_pinged(after(&out, "PHASE default-route"), "10.1.0.2");
    let lan_ping = lan.sh_output("ping -c 3 -i 0.2 -W 2 192.168.0.253");
    assert!(
        lan_ping.status.success(),
        "the LAN namespace's ping of our guest:\n{}",
        String::from_utf8_lossy(&lan_ping.stdout)
    );
    let (code, out) = guest.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
    // The tap went with the guest, and uml_net's route with it.
    wait_for("tap0 to disappear", Duration::from_secs(5), || {
        !host.sh("ip -o link show").contains("tap0")
    });
}

/// The UML networking page's warning: a network route to the local net on the guest's interface to
/// the host makes the guest ARP for LAN hosts on a wire where only the host listens;
/// replacing it with a host route to the host plus the default route reaches them.
///
/// The host is set up as the UML networking page's TUN/TAP recipe does, on a TAP that the guest opens
/// by name, but without proxy ARP on the TAP: with `proxy_arp` on (as `uml_net add`
/// sets it) a modern host answers those ARP requests for the LAN, and the warning no
/// longer bites (checked at the end).
fn the_seeds_network_route_warning_holds_and_its_fix_works() {
    let host = Netns::new("g-warn");
    let lan = Netns::new("g-warn-lan");
    let dir = TempDir::new("g-warn");
    // The host is 192.168.0.4 on its ethernet; a LAN machine is 192.168.0.2.
    host.veth_to(&lan, ("lan0", "192.168.0.4/24"), ("eth0", "192.168.0.2/24"));
    host.sh("ip tuntap add tapw mode tap && ip link set tapw up && \
         echo 1 > /proc/sys/net/ipv4/ip_forward && \
         ip route add 192.168.0.253/32 dev tapw && \
         ip neigh add proxy 192.168.0.253 dev lan0");
    let mut guest = OurGuest::spawn(
        &host,
        &dir,
        "warn",
        &["eth0=tuntap,tapw".to_string()],
        &[
            "ifconfig eth0 192.168.0.253 netmask 255.255.255.0 up",
            "route add default gw 192.168.0.4",
            "route -n",
            "echo PHASE network-route",
            "ping -c 2 192.168.0.2",
            "arp -n",
            "echo PHASE fixed",
            "route del -net 192.168.0.0 dev eth0 netmask 255.255.255.0",
            "route add -host 192.168.0.4 dev eth0",
            "route -n",
            "ping -c 3 192.168.0.2",
            "echo PHASE proxy",
            "sleep 1",
            "route add -net 192.168.0.0 netmask 255.255.255.0 dev eth0",
            "ping -c 3 192.168.0.2",
            "echo PHASE end",
        ],
    );
    guest.wait_output("PHASE fixed", Duration::from_secs(30));
    // Before the fix: the /24 route wins over the default route, the guest ARPs for
    // 192.168.0.2 on eth0, nobody answers.
    let out = guest.output();
    let broken = after(&out, "PHASE network-route");
    let broken = &broken[..broken.find("PHASE fixed").unwrap()];
    assert!(
        out.contains(
            "192.168.0.0     0.0.0.0         255.255.255.0   U     0      0        0 eth0"
        ),
        "the guest should have the network route:\n{out}"
    );
    assert!(
        broken.contains("2 packets transmitted, 0 received"),
        "with the network route the LAN host must be unreachable:\n{broken}"
    );
    assert!(
        broken.contains("192.168.0.2") && broken.contains("(incomplete)"),
        "the guest's ARP for the LAN host must stay unanswered:\n{broken}"
    );
    // The fix, then proxy ARP on the tap.
    guest.wait_output("PHASE proxy", Duration::from_secs(30));
    host.sh("echo 1 > /proc/sys/net/ipv4/conf/tapw/proxy_arp");
    guest.wait_output("PHASE end", Duration::from_secs(30));
    let (_, out) = guest.finish(Duration::from_secs(30));
    let fixed = after(&out, "PHASE fixed");
    let fixed = &fixed[..fixed.find("PHASE proxy").unwrap()];
    assert!(
        fixed.contains(
            "192.168.0.4     0.0.0.0         255.255.255.255 UH    0      0        0 eth0"
        ),
        "the host route to the host:\n{fixed}"
    );
    assert_pinged(fixed, "192.168.0.2");
    assert_pinged(after(&out, "PHASE proxy"), "192.168.0.2");
}

/// Our guest fed commands on a pipe, as a user at its console would type them.
struct PipedGuest {
    child: Child,
    stdin: ChildStdin,
    log: PathBuf,
}

impl PipedGuest {
    fn spawn(ns: &Netns, dir: &TempDir, name: &str, args: &[&str]) -> PipedGuest {
        let log = dir.join(&format!("{name}.log"));
        let f = std::fs::File::create(&log).unwrap();
        let mut child = ns
            .command(bin!("umlnet"))
            .arg("guest")
            .arg(format!("umid={name}"))
            .arg(format!("uml_dir={}/", dir.path().display()))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("spawn umlnet guest");
        let stdin = child.stdin.take().unwrap();
        PipedGuest { child, stdin, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Types `line`, then waits for the output that `echo <marker>` prints after it.
    fn run(&mut self, line: &str, timeout: Duration) -> String {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let marker = format!(
            "DONE-{}",
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let before = self.output().len();
        writeln!(self.stdin, "{line}\necho {marker}").unwrap();
        self.stdin.flush().unwrap();
        let end = Instant::now() + timeout;
        loop {
            let out = self.output();
            if let Some(i) = out[before..].find(&format!("{marker}\n")) {
                return out[before..before + i].to_string();
            }
            assert!(
                Instant::now() < end,
                "our guest did not finish {line:?}; output:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PipedGuest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `uml_mconsole <socket> <command…>` in `ns`; its exit code and stdout (it warns
/// on stderr that a socket path is not a machine name under ~/.uml or /tmp/uml).
fn uml_mconsole(ns: &Netns, socket: &Path, command: &[&str]) -> (i32, String) {
    let out = ns
        .command("uml_mconsole")
        .arg(socket)
        .args(command)
        .stdin(Stdio::null())
        .output()
        .expect("run uml_mconsole");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn uml_mconsole_adds_an_mcast_device_to_our_running_guest_and_removes_it() {
    let (dir, ns) = dir_and_netns("g-mc");
    // A real UML kernel on a group of its own, waiting for someone at 10.7.0.1.
    let mut kernel = UmlGuest::boot_in(
        &ns,
        &dir,
        "peer",
        &["eth0=mcast,,239.192.168.7,1107".to_string()],
        &uml_pinger("10.7.0.2", "10.7.0.1", 10),
    );
    let mut guest = PipedGuest::spawn(&ns, &dir, "mc", &[]);
    let socket = dir.join("mc/mconsole");
    wait_for(
        "our guest's mconsole socket",
        Duration::from_secs(10),
        || socket.exists(),
    );
    assert!(
        std::fs::read_to_string(dir.join("mc/pid"))
            .unwrap()
            .trim()
            .parse::<u32>()
            .is_ok()
    );
    let (code, text) = uml_mconsole(&ns, &socket, &["version"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("OK umlnet "), "{text}");

    // The guest starts without devices; mconsole gives it eth1.
    let none = guest.run("ifconfig eth1", Duration::from_secs(5));
    assert!(none.contains("Device not found"), "{none}");
    let (code, text) = uml_mconsole(&ns, &socket, &["config", "eth1=mcast,,239.192.168.7,1107"]);
    assert_eq!((code, text.trim()), (0, "OK"), "{}", guest.output());
    let (code, text) = uml_mconsole(&ns, &socket, &["config", "eth1=mcast"]);
    assert_eq!(
        (code, text.trim()),
        (234, "ERR Device already configured"),
        "a second eth1 is refused with -EINVAL, as the kernel refuses it"
    );
    assert!(
        guest
            .output()
            .contains("mcast backend multicast address: 239.192.168.7:1107, TTL:1"),
        "{}",
        guest.output()
    );

    // The guest uses it: it answers the kernel's pings and pings it (once the kernel,
    // which boots at its own pace, has its address).
    kernel.wait_said("UP", Duration::from_secs(60));
    guest.run(
        "ifconfig eth1 10.7.0.1 netmask 255.255.255.0 up",
        Duration::from_secs(5),
    );
    let ping = guest.run("ping -c 3 10.7.0.2", Duration::from_secs(20));
    assert_pinged(&ping, "10.7.0.2");
    let result = kernel.wait_said("RESULT", Duration::from_secs(60));
    assert_eq!(result, "RESULT ok 3 received", "{}", guest.output());

    // An open device cannot be removed (-EBUSY); once down it can.
    let (code, text) = uml_mconsole(&ns, &socket, &["remove", "eth1"]);
    assert_eq!((code, text.trim()), (240, "ERR Device is currently open"));
    guest.run("ifconfig eth1 down", Duration::from_secs(5));
    // As in the kernel, ifdown already released the mcast socket: only the UML
    // kernel's socket is left on port 1107.
    let on_port = || {
        let udp = ns.sh("cat /proc/net/udp");
        let port = format!(":{:04X} ", 1107);
        udp.lines().filter(|l| l.contains(&port)).count()
    };
    assert_eq!(on_port(), 1, "ifdown should close the guest's mcast socket");
    let (code, text) = uml_mconsole(&ns, &socket, &["remove", "eth1"]);
    assert_eq!((code, text.trim()), (0, "OK"), "{}", guest.output());
    let gone = guest.run("ifconfig eth1", Duration::from_secs(5));
    assert!(gone.contains("Device not found"), "{gone}");
    assert_eq!(on_port(), 1);
    let (code, text) = uml_mconsole(&ns, &socket, &["remove", "eth1"]);
    assert_eq!((code, text.trim()), (237, "ERR Device doesn't exist"));

    // halt ends the guest, which removes its socket.
    let (code, _) = uml_mconsole(&ns, &socket, &["halt"]);
    assert_eq!(code, 0);
    let end = Instant::now() + Duration::from_secs(10);
    while guest.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "halt did not end the guest");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!socket.exists(), "the mconsole socket outlived the guest");
}

fn our_guest_on_ethertap_through_our_uml_net_pings_the_host_both_ways() {
    let (dir, host) = dir_and_netns("g-etap");
    let mut guest = OurGuest::spawn(
        &host,
        &dir,
        "etap",
        &["eth0=ethertap,tap0,,192.168.0.254".to_string()],
        &[
            "ifconfig eth0 192.168.0.253 netmask 255.255.255.0 up",
            "ping -c 3 192.168.0.254",
            "echo PHASE wait",
            "sleep 6",
        ],
    );
    guest.wait_output("PHASE wait", Duration::from_secs(30));
    let out = guest.output();
    assert!(
        out.contains("ethertap backend - tap0, IP = 192.168.0.254"),
        "{out}"
    );
    assert_pinged(&out, "192.168.0.254");
    // The address message reached the helper: the host routes the guest to tap0.
    let routes = host.sh("ip -4 route show");
    assert!(routes.contains("192.168.0.253 dev tap0"), "{routes}");
    let ping = host.sh_output("ping -c 3 -i 0.2 -W 2 192.168.0.253");
    assert!(
        ping.status.success(),
        "the host's ping of our guest over ethertap:\n{}\nguest:\n{out}",
        String::from_utf8_lossy(&ping.stdout)
    );
    let (code, out) = guest.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
}

fn our_guest_on_slip_through_our_uml_net_pings_the_host_both_ways() {
    let (dir, host) = dir_and_netns("g-slip");
    let mut guest = OurGuest::spawn(
        &host,
        &dir,
        "slip",
        &["eth0=slip,192.168.0.254".to_string()],
        &[
            "ifconfig eth0 192.168.0.253 netmask 255.255.255.0 up",
            "ping -c 3 192.168.0.254",
            "echo PHASE wait",
            "sleep 6",
        ],
    );
    guest.wait_output("PHASE wait", Duration::from_secs(30));
    let out = guest.output();
    assert!(
        out.contains("SLIP backend - SLIP IP = 192.168.0.254"),
        "{out}"
    );
    assert_pinged(&out, "192.168.0.254");
    let ping = host.sh_output("ping -c 3 -i 0.2 -W 2 192.168.0.253");
    assert!(
        ping.status.success(),
        "the host's ping of our guest over SLIP:\n{}\nguest:\n{out}\nhost:\n{}",
        String::from_utf8_lossy(&ping.stdout),
        host.sh("ip -4 addr; ip -4 route")
    );
    let (code, out) = guest.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
}

fn a_script_runs_in_order_and_failures_show_in_messages_and_exit_status() {
    let (dir, ns) = dir_and_netns("g-script");
    let script = dir.join("script");
    std::fs::write(
        &script,
        "# two interfaces on two groups\n\
         ifconfig eth0 10.1.0.1 netmask 255.255.255.0 up\n\
         ifconfig eth1 10.2.0.1 netmask 255.255.255.0 up\n\
         route -n\n\
         nosuchcommand\n\
         echo after\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = ns
            .command(bin!("umlnet"))
            .arg("guest")
            .arg(format!("uml_dir={}/", dir.path().display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&[
        "umid=s1",
        "eth0=mcast",
        "eth1=mcast,,239.192.168.9,1109",
        "-c",
        "echo first",
        "--script",
        script.to_str().unwrap(),
    ]);
    assert_eq!(code, 127, "the failed command's status:\n{out}");
    let first = out.find("first").unwrap();
    let table = out
        .find("10.2.0.0        0.0.0.0         255.255.255.0   U     0      0        0 eth1")
        .unwrap_or_else(|| panic!("{out}"));
    let missing = out.find("nosuchcommand: command not found").unwrap();
    let after = out.find("after").unwrap();
    assert!(first < table && table < missing && missing < after, "{out}");
    assert!(
        !dir.join("s1").exists(),
        "the machine directory outlived the guest"
    );
    // A refused device names what is wrong and stops before any command runs.
    let (code, out, err) = run(&["umid=s2", "eth0=mcast,,239.1.1.1,notaport", "-c", "echo no"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(!out.contains("no\n"), "{out}");
    assert!(err.contains("notaport"), "{err}");
    // An ifup whose transport cannot open leaves the interface down.
    let (code, out, err) = run(&[
        "umid=s3",
        "eth0=tuntap,,,10.3.0.254",
        "--helper",
        "/nonexistent/uml_net",
        "-c",
        "ifconfig eth0 10.3.0.1 up",
        "-c",
        "ifconfig eth0",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("failed to exec /nonexistent/uml_net"), "{err}");
    assert!(!out.contains(" UP "), "eth0 must stay down:\n{out}");
}
