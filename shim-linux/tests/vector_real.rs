//! Our `uml_switch` against real UML 6.1 kernels on the vector driver
//! (`vecN:transport=bess` on `-bess`, `transport=fd` on a socket pair handed over on
//! `-fdpass`, `transport=l2tpv3,udp=1` on `-l2tpv3`), side by side with a kernel on the daemon transport. Every test runs in
//! a network namespace of its own.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use umlnet_linux::switchd::handoff::hand_over;
use umlnet_testkit::{OurSwitch, TempDir, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for};

const BOOT: Duration = Duration::from_secs(120);

fn main() {
    run_cases(vec![
        real(
            "two_kernels_on_bess_ping_and_move_10_mib_over_tcp_intact",
            &["linux.uml", "ip", "python3"],
            two_kernels_on_bess_ping_and_move_10_mib_over_tcp_intact,
        ),
        real(
            "a_bess_kernel_reaches_a_daemon_kernel_and_reattaches_after_ifdown_ifup",
            &["linux.uml", "ip"],
            a_bess_kernel_reaches_a_daemon_kernel_and_reattaches_after_ifdown_ifup,
        ),
        real(
            "a_kernel_on_l2tpv3_over_udp_reaches_a_daemon_kernel",
            &["linux.uml", "ip"],
            a_kernel_on_l2tpv3_over_udp_reaches_a_daemon_kernel,
        ),
        real(
            "a_kernel_on_a_handed_over_fd_pair_reaches_a_daemon_kernel",
            &["linux.uml", "ip"],
            a_kernel_on_a_handed_over_fd_pair_reaches_a_daemon_kernel,
        ),
    ]);
}

/// A guest that brings `dev` up as `ip`, says `UP`, then waits (up to 60 s) for the
/// file `<dir>/done`.
fn responder(dev: &str, ip: &str, dir: &Path, extra: &str) -> String {
    format!(
        "ip link set {dev} up; ip addr add {ip}/24 dev {dev}; {extra} say UP; \
         i=0; while [ ! -f {d}/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
        d = dir.display()
    )
}

/// Waits in the guest for `<dir>/<peer>.out` (the peer said UP), then pings `ip`
/// three times and says `PING <status>` (ping's output in `<dir>/<file>`).
fn ping_script(dir: &Path, peer: &str, ip: &str, file: &str) -> String {
    format!(
        "i=0; while [ ! -f {d}/{peer}.out ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
         ping -c 3 -W 2 {ip} > {d}/{file} 2>&1; say \"PING{file} $?\";",
        d = dir.display()
    )
}

fn assert_pinged(line: &str, dir: &TempDir, file: &str, sw: &OurSwitch, g: &UmlGuest) {
    let out = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    assert!(
        line.ends_with(" 0") && out.contains("3 received"),
        "{line}\n{out}\nswitch log:\n{}\nconsole:\n{}",
        sw.log_text(),
        g.console()
    );
}

const RECEIVER: &str = r#"
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001))
s.listen(1)
c, _ = s.accept()
h = hashlib.sha256()
n = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    h.update(d)
    n += len(d)
print(n, h.hexdigest())
"#;

const SENDER: &str = r#"
import hashlib, socket, sys, time
data = open(sys.argv[2], "rb").read()
for _ in range(200):
    try:
        c = socket.create_connection((sys.argv[1], 5001), timeout=5)
        break
    except OSError:
        time.sleep(0.1)
c.settimeout(60)
c.sendall(data)
c.close()
print(len(data), hashlib.sha256(data).hexdigest())
"#;

fn two_kernels_on_bess_ping_and_move_10_mib_over_tcp_intact() {
    let (dir, ns) = dir_and_netns("vec-bess");
    let ctl = dir.join("uml.ctl");
    let bess = dir.join("bess.sock");
    std::fs::write(dir.join("recv.py"), RECEIVER).unwrap();
    std::fs::write(dir.join("send.py"), SENDER).unwrap();
    let bess_arg = bess.to_string_lossy().into_owned();
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-bess", &bess_arg],
    );
    let vec = vec![format!("vec0:transport=bess,dst={}", bess.display())];
    let d = dir.path();
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &vec,
        &responder(
            "vec0",
            "10.0.0.2",
            d,
            &format!(
                "python3 {d}/recv.py 10.0.0.2 > $T/recv.txt 2>&1 & r=$!;",
                d = d.display()
            ),
        )
        .replace(
            "say UP;",
            "say UP; wait $r; say \"RECV $(cat $T/recv.txt)\";",
        ),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &vec,
        &format!(
            "ip link set vec0 up; ip addr add 10.0.0.1/24 dev vec0; {ping} \
             head -c 10485760 /dev/urandom > $T/blob; \
             say \"SENT $(python3 {d}/send.py 10.0.0.2 $T/blob 2>&1)\"; touch {d}/done",
            ping = ping_script(d, "b", "10.0.0.2", "ping.txt"),
            d = d.display()
        ),
    );
    let ping = a.wait_said("PINGping.txt", BOOT);
    assert_pinged(&ping, &dir, "ping.txt", &sw, &a);
    let sent = a.wait_said("SENT", BOOT);
    let got = b.wait_said("RECV", BOOT);
    assert_eq!(
        sent.trim_start_matches("SENT "),
        got.trim_start_matches("RECV "),
        "what a sent and b received differ; switch log:\n{}",
        sw.log_text()
    );
    assert!(sent.starts_with("SENT 10485760 "), "{sent}");
    a.finish(BOOT);
    b.finish(BOOT);
    let log = sw.log_text();
    assert_eq!(log.matches("(bess (seqpacket))").count(), 2, "{log}");
    // Power-off closes both connections: both ports go.
    wait_for("both bess ports to detach", Duration::from_secs(10), || {
        sw.log_text().matches("Disconnect port").count() == 2
    });
}

fn a_bess_kernel_reaches_a_daemon_kernel_and_reattaches_after_ifdown_ifup() {
    let (dir, ns) = dir_and_netns("vec-bessd");
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
    let d = dir.path();
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &[format!("eth0=daemon,,unix,{}", ctl.display())],
        &responder("eth0", "10.0.0.2", d, ""),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &[format!("vec0:transport=bess,dst={}", bess.display())],
        &format!(
            "ip link set vec0 up; ip addr add 10.0.0.1/24 dev vec0; {first} \
             ip link set vec0 down; say DOWN; sleep 1; ip link set vec0 up; {second} touch {d}/done",
            first = ping_script(d, "b", "10.0.0.2", "ping1.txt"),
            second = ping_script(d, "b", "10.0.0.2", "ping2.txt"),
            d = d.display()
        ),
    );
    let first = a.wait_said("PINGping1.txt", BOOT);
    assert_pinged(&first, &dir, "ping1.txt", &sw, &a);
    let second = a.wait_said("PINGping2.txt", BOOT);
    assert_pinged(&second, &dir, "ping2.txt", &sw, &a);
    a.finish(BOOT);
    b.finish(BOOT);
    // One daemon port, and the bess kernel twice: ifdown closed its first connection.
    let log = sw.log_text();
    assert_eq!(log.matches("(bess (seqpacket))").count(), 2, "{log}");
    assert!(log.contains("data socket"), "{log}");
    wait_for("all three ports to detach", Duration::from_secs(10), || {
        sw.log_text().matches("Disconnect port").count() == 3
    });
}

fn a_kernel_on_a_handed_over_fd_pair_reaches_a_daemon_kernel() {
    let (dir, ns) = dir_and_netns("vec-fd");
    let ctl = dir.join("uml.ctl");
    let pass = dir.join("fdpass.sock");
    let pass_arg = pass.to_string_lossy().into_owned();
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-fdpass", &pass_arg],
    );
    let d = dir.path();
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &[format!("eth0=daemon,,unix,{}", ctl.display())],
        &responder("eth0", "10.0.0.2", d, ""),
    );
    // Both ends inheritable (no SOCK_CLOEXEC): the kernel gets `theirs` under its
    // number; the switch gets `ours` and this process closes both copies.
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::empty(),
    )
    .expect("socketpair");
    let port = hand_over(&pass, ours.as_fd()).expect("the switch takes the socket");
    drop(ours);
    let kernel_fd = theirs.as_raw_fd();
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &[format!("vec0:transport=fd,fd={kernel_fd}")],
        &format!(
            "ip link set vec0 up; ip addr add 10.0.0.1/24 dev vec0; {ping} touch {d}/done",
            ping = ping_script(d, "b", "10.0.0.2", "ping.txt"),
            d = d.display()
        ),
    );
    drop(theirs);
    let ping = a.wait_said("PINGping.txt", BOOT);
    assert_pinged(&ping, &dir, "ping.txt", &sw, &a);
    a.finish(BOOT);
    b.finish(BOOT);
    let log = sw.log_text();
    assert!(
        log.contains(&format!("New port {port} (fd (handed over))")),
        "{log}"
    );
}

fn a_kernel_on_l2tpv3_over_udp_reaches_a_daemon_kernel() {
    let (dir, ns) = dir_and_netns("vec-l2tp");
    let ctl = dir.join("uml.ctl");
    // The switch sends session 2 with cookie 0x11223344 and wants session 3 with
    // cookie 0x55667788; the kernel the other way round. All in range: 6.1 panics at
    // ifup on a session or cookie it cannot set up.
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &[
            "-l2tpv3",
            "127.0.0.1:1701,127.0.0.1:1702,2,3,tx_cookie=0x11223344,rx_cookie=0x55667788",
        ],
    );
    let d = dir.path();
    let mut b = UmlGuest::boot_in(
        &ns,
        &dir,
        "b",
        &[format!("eth0=daemon,,unix,{}", ctl.display())],
        &responder("eth0", "10.0.0.2", d, ""),
    );
    let mut a = UmlGuest::boot_in(
        &ns,
        &dir,
        "a",
        &[
            "vec0:transport=l2tpv3,udp=1,src=127.0.0.1,srcport=1702,dst=127.0.0.1,dstport=1701,\
           tx_session=3,rx_session=2,tx_cookie=0x55667788,rx_cookie=0x11223344"
                .to_string(),
        ],
        &format!(
            "ip link set vec0 up; ip addr add 10.0.0.1/24 dev vec0; {ping} touch {d}/done",
            ping = ping_script(d, "b", "10.0.0.2", "ping.txt"),
            d = d.display()
        ),
    );
    let ping = a.wait_said("PINGping.txt", BOOT);
    assert_pinged(&ping, &dir, "ping.txt", &sw, &a);
    a.finish(BOOT);
    b.finish(BOOT);
    assert!(sw.log_text().contains("L2TPv3 link"), "{}", sw.log_text());
}
