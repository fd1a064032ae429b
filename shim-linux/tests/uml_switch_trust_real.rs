//! Our `uml_switch` on a shared host, attacked the way a local user would (issue #15):
//! idle control connections under a low descriptor limit, a MAC flood beyond the table,
//! data addresses that loop back or belong to somebody else, socket modes and groups,
//! the console's state-changing commands, the control socket and the capture file
//! planted by another user. The attacker runs as uid 65534 (`setpriv`), speaking the
//! protocol from a small Python program; every test runs in a network namespace of its
//! own (abstract socket names live per namespace).

#[path = "support/switch_clients.rs"]
mod switch_clients;

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use switch_clients::{client, drain, drain_until_quiet, frame, mac, push, recv_seq, try_client};
use umlnet_core::daemon::{DataAddr, REQUEST_LEN, RequestRepr};
use umlnet_core::mac::MacAddr;
use umlnet_linux::switchd::client::{Client, uml_like_addr};
use umlnet_linux::switchd::{MAC_PER_PORT, MAC_SLOTS, MAX_PENDING, switch_status};
use umlnet_testkit::{
    Daemon, Netns, OurSwitch, TempDir, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "idle_connections_under_256_descriptors_leave_the_switch_idle_and_serving",
            &["ip", "prlimit"],
            idle_connections_under_256_descriptors_leave_the_switch_idle_and_serving,
        ),
        real(
            "a_flood_beyond_the_table_from_one_port_leaks_no_unicast_between_quiet_ports",
            &["ip"],
            a_flood_beyond_the_table_from_one_port_leaks_no_unicast_between_quiet_ports,
        ),
        real(
            "self_loop_and_foreign_data_addresses_are_refused_and_own_ones_attach",
            &["ip", "setpriv", "python3"],
            self_loop_and_foreign_data_addresses_are_refused_and_own_ones_attach,
        ),
        real(
            "a_uml_kernel_run_by_an_ordinary_user_attaches",
            &["ip", "setpriv", "linux.uml"],
            a_uml_kernel_run_by_an_ordinary_user_attaches,
        ),
        real(
            "socket_modes_groups_and_the_console_owner",
            &["ip", "setpriv", "python3"],
            socket_modes_groups_and_the_console_owner,
        ),
        real(
            "one_user_holds_at_most_max_ports_per_user",
            &["ip", "setpriv", "python3"],
            one_user_holds_at_most_max_ports_per_user,
        ),
        real(
            "paths_planted_by_another_user_are_refused",
            &["ip", "setpriv", "python3"],
            paths_planted_by_another_user_are_refused,
        ),
    ]);
}

/// The unprivileged user the attacks run as.
const NOBODY: u32 = 65534;

/// The attacker: speaks the daemon protocol and the console as whoever runs it.
const ATTACKER: &str = r#"
import os, socket, struct, sys, time
def addr_bytes(kind, arg):
    if kind == "path":
        p = arg.encode()
        return p + b"\0" * (108 - len(p))
    if kind == "hex":
        return bytes.fromhex(arg)
    raise SystemExit("bad kind " + kind)
def request(ctl, sun_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(ctl)
    s.sendall(struct.pack("<III", 0xfeedface, 3, 0) + struct.pack("<H", 1) + sun_path + b"\0\0")
    s.settimeout(3)
    try:
        r = s.recv(256)
    except socket.timeout:
        return s, None
    return s, r
cmd = sys.argv[1]
if cmd == "v3":
    s, r = request(sys.argv[2], addr_bytes(sys.argv[3], sys.argv[4]))
    print("CLOSED" if not r else "REPLY %d" % len(r))
elif cmd == "own-abstract" or cmd == "own-path":
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if cmd == "own-abstract":
        # The UML kernel's layout: 0, 3 pad bytes, pid, usec, then 96 bytes.
        name = b"\0" * 4 + struct.pack("<ii", os.getpid(), 4242) + b"\x5a" * 96
    else:
        name = addr_bytes("path", sys.argv[3])
        d.bind(sys.argv[3])
    if cmd == "own-abstract":
        d.bind(name)
    s, r = request(sys.argv[2], name)
    if not r or len(r) != 110:
        print("CLOSED")
        sys.exit(0)
    d.sendto(bytes.fromhex(sys.argv[-1]), r[2:])
    # Stay attached while the switch forwards it (hanging up detaches the port).
    time.sleep(0.5)
    print("REPLY 110 SENT")
elif cmd == "swap":
    # Attach by path, then put a link to someone else's socket in its place.
    path, target = sys.argv[3], sys.argv[4]
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    d.bind(path)
    s, r = request(sys.argv[2], addr_bytes("path", path))
    if not r or len(r) != 110:
        print("CLOSED", flush=True)
        sys.exit(0)
    os.symlink(target, path + ".new")
    os.rename(path + ".new", path)
    print("SWAPPED", flush=True)
    d.settimeout(5)
    got = 0
    try:
        while True:
            d.recv(2048)
            got += 1
            print("GOT", flush=True)
    except socket.timeout:
        pass
elif cmd == "flood":
    # Idle connections, as many as it can for a while, holding the last 300.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    end = time.time() + float(sys.argv[3])
    held, n = [], 0
    while time.time() < end:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(sys.argv[2])
        held.append(c)
        n += 1
        if len(held) > 300:
            held.pop(0).close()
    print("FLOODED %d" % n)
elif cmd == "console":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[2])
    s.sendall(sys.argv[3].encode() + b"\n")
    s.settimeout(3)
    print(s.recv(4096).decode().strip())
elif cmd == "hold":
    # Attach as many ports as asked, then open a bess connection; hold them all.
    held, got = [], 0
    for i in range(int(sys.argv[3])):
        d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        name = b"\0" * 4 + struct.pack("<ii", os.getpid(), 5000 + i) + b"\x5a" * 96
        d.bind(name)
        s, r = request(sys.argv[2], name)
        if r and len(r) == 110:
            got += 1
        held += [d, s]
    b = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    b.connect(sys.argv[4])
    b.settimeout(2)
    try:
        closed = b.recv(2048) == b""
    except socket.timeout:
        closed = False
    print("PORTS %d BESS %s" % (got, "CLOSED" if closed else "OPEN"))
elif cmd == "stale":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sys.argv[2])
    print("BOUND")
else:
    raise SystemExit("unknown command " + cmd)
"#;

/// Runs the attacker as uid/gid 65534 inside `ns`.
fn as_nobody(ns: &Netns, dir: &TempDir, args: &[&str]) -> String {
    let script = dir.join("attacker.py");
    if !script.exists() {
        std::fs::write(&script, ATTACKER).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out: Output = ns
        .command("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            system_python(),
        ])
        .arg(&script)
        .args(args)
        .output()
        .expect("run the attacker");
    assert!(
        out.status.success(),
        "attacker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Python the unprivileged user may run (not one under root's home).
fn system_python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("python3")
}

/// A test directory the unprivileged user can reach and write to.
fn open_dir(dir: &TempDir) {
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// How much CPU (ticks) `pid` uses over `window`.
fn cpu_over(pid: u32, window: Duration) -> u64 {
    let before = cpu_ticks(pid);
    std::thread::sleep(window);
    cpu_ticks(pid) - before
}

/// The number after `key ` in the console's `stats` answer.
fn stat(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no '{key}' in:\n{status}"))
}

fn idle_connections_under_256_descriptors_leave_the_switch_idle_and_serving() {
    let (dir, ns) = dir_and_netns("swt-idle");
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let log = dir.join("switch.log");
    let mut cmd = ns.command("prlimit");
    cmd.arg("--nofile=256:256")
        .arg(bin!("uml_switch"))
        .arg("-unix")
        .arg(&ctl)
        .args(["-mgmt", mgmt.to_str().unwrap()]);
    let sw = Daemon::spawn("switch", &mut cmd, &log);
    wait_for("the switch banner", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("attached to unix socket")
    });
    let pid = sw.pid();
    // The test holds well over a thousand descriptors itself.
    umlnet_linux::sys::access::raise_nofile_limit().unwrap();
    let (ctl2, mgmt2) = (ctl.clone(), mgmt.clone());
    ns.run_inside(move || {
        // 1,100 connections that never send a request.
        let idle: Vec<UnixStream> = (0..1100)
            .map(|_| UnixStream::connect(&ctl2).expect("connect"))
            .collect();
        let used = cpu_over(pid, Duration::from_secs(3));
        assert!(
            used <= 30,
            "the switch used {used} ticks of CPU in 3 s with 1,100 idle connections"
        );
        // Each was closed: at most MAX_PENDING waited, none longer than the deadline.
        let mut buf = [0u8; 16];
        for (i, mut s) in idle.into_iter().enumerate() {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            assert!(
                matches!(s.read(&mut buf), Ok(0)),
                "idle connection {i} is still open after its deadline"
            );
        }
        let status = switch_status(&mgmt2).unwrap();
        assert_eq!(stat(&status, "pending_requests"), 0, "{status}");
        // While idle connections keep coming, far more than may wait, clients that
        // send their request right away (as the kernel does) still attach.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flood = {
            let (ctl, stop) = (ctl2.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut held = std::collections::VecDeque::new();
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    held.push_back(UnixStream::connect(&ctl).expect("connect"));
                    if held.len() > 500 {
                        held.pop_front();
                    }
                    n += 1;
                }
                n
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        let during: Vec<Client> = (0..20).map(|i| client(&ctl2, 500 + i)).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let flooded = flood.join().unwrap();
        eprintln!(
            "{} clients attached among {flooded} idle connections",
            during.len()
        );
        assert!(
            flooded > 2 * MAX_PENDING as u32,
            "only {flooded} idle connections"
        );
        drop(during);
        // A new client attaches and talks.
        let a = client(&ctl2, 1);
        let b = client(&ctl2, 2);
        push(&a, &frame(mac(2), mac(1), 1, 60));
        assert!(recv_seq(&b, 1, Duration::from_secs(2)).is_some());

        // Now run the switch out of descriptors with ports, then queue connections.
        let mut ports = Vec::new();
        let full = loop {
            match try_client(&ctl2, 100 + ports.len() as u32) {
                Ok(c) => ports.push(c),
                Err(e) => break e,
            }
            assert!(ports.len() < 400, "256 descriptors hold 400 ports?");
        };
        eprintln!(
            "the switch ran out of descriptors after {} ports ({full})",
            ports.len() + 2
        );
        let queued: Vec<UnixStream> = (0..40)
            .map(|_| UnixStream::connect(&ctl2).expect("connect"))
            .collect();
        let used = cpu_over(pid, Duration::from_secs(3));
        assert!(
            used <= 30,
            "the switch used {used} ticks of CPU in 3 s out of descriptors"
        );
        // Room again: a new client attaches (the queued ones time out or get closed).
        ports.truncate(ports.len().saturating_sub(MAX_PENDING / 2));
        let end = Instant::now() + Duration::from_secs(10);
        let c = loop {
            match try_client(&ctl2, 9999) {
                Ok(c) => break c,
                Err(e) => assert!(
                    Instant::now() < end,
                    "no client could attach for 10 s after ports left: {e}"
                ),
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        drain(&b);
        push(&c, &frame(mac(2), mac(99), 2, 60));
        assert!(recv_seq(&b, 2, Duration::from_secs(2)).is_some());
        drop(queued);
    });
    // Log lines are rate-limited: thousands of refused and closed connections above.
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(lines < 400, "{lines} log lines");
}

fn a_flood_beyond_the_table_from_one_port_leaks_no_unicast_between_quiet_ports() {
    let (dir, ns) = dir_and_netns("swt-flood");
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
        // More distinct sources than the whole table holds, from one port, each to a
        // destination on that port (learned first), so nothing is flooded to a and b.
        let own = [0x02, 0xdd, 0, 0, 0, 1];
        f.data().set_nonblocking(false).unwrap();
        let sources = (MAC_SLOTS + 65536) as u32;
        for i in 0..sources {
            if i % 1024 == 0 {
                // Keep the destination fresh on f (and a's queue short).
                push(&f, &frame(mac(1), own, 3, 60));
                drain(&a);
            }
            let src = [0x02, 0xee, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            push(&f, &frame(own, src, 100 + i, 60));
        }
        f.data().set_nonblocking(true).unwrap();
        drain_until_quiet(&[&a, &b, &f], Duration::from_secs(30));
        // a and b still know each other: unicast, never seen by the flooding port.
        for seq in 0..50u32 {
            push(&a, &frame(mac(2), mac(1), 1_000_000 + seq, 60));
            assert!(
                recv_seq(&b, 1_000_000 + seq, Duration::from_secs(2)).is_some(),
                "a->b {seq} lost"
            );
        }
        let leaked = drain(&f);
        assert_eq!(
            leaked, 0,
            "{leaked} of 50 unicast frames between quiet ports leaked to the flooding port"
        );
        let status = switch_status(&mgmt).unwrap();
        let learned = status
            .lines()
            .find_map(|l| l.strip_prefix("addresses "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .expect("an addresses line");
        assert!(
            learned <= MAC_PER_PORT + 2,
            "{learned} addresses learned, more than one port may hold"
        );
    });
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

fn v0_request(addr: &DataAddr) -> Vec<u8> {
    let mut b = [0u8; REQUEST_LEN];
    let n = RequestRepr::V0 {
        mac: MacAddr(mac(0x70)),
        addr: *addr,
    }
    .emit(&mut b)
    .unwrap();
    b[..n].to_vec()
}

/// Sends `bytes` as a request; whether the switch closed the connection without a reply.
fn closed_without_answer(ctl: &Path, bytes: &[u8]) -> bool {
    let mut s = UnixStream::connect(ctl).expect("connect to the control socket");
    s.write_all(bytes).expect("write a request");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 256];
    matches!(s.read(&mut buf), Ok(0))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn self_loop_and_foreign_data_addresses_are_refused_and_own_ones_attach() {
    let (dir, ns) = dir_and_netns("swt-addr");
    open_dir(&dir);
    let ctl = dir.join("uml.ctl");
    let data = dir.join("uml.data");
    let mgmt = dir.join("mgmt");
    let log = dir.join("switch.log");
    let mut cmd = ns.command(bin!("uml_switch"));
    cmd.args(["-compat-v0", "-unix"])
        .arg(&ctl)
        .arg(&data)
        .args(["-mode", "0666", "-mgmt", mgmt.to_str().unwrap()]);
    let _d = Daemon::spawn("switch", &mut cmd, &log);
    wait_for("the switch banner", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("attached to unix sockets")
    });
    let (ctl2, data2, mgmt2) = (ctl.clone(), data.clone(), mgmt.clone());
    // A "/dev/log": a datagram socket of root's that anybody may write to.
    let devlog = dir.join("devlog");
    let devlog2 = devlog.clone();
    let sink_name = format!("umlnet-test-sink-{}", std::process::id());
    let sink_name2 = sink_name.clone();
    let (sink_path, sink_abstract) = ns.run_inside(move || {
        let p = UnixDatagram::bind(&devlog2).unwrap();
        std::fs::set_permissions(&devlog2, std::fs::Permissions::from_mode(0o666)).unwrap();
        let a = umlnet_linux::sys::socket::DgramSocket::bind_raw(
            DataAddr::abstract_from(sink_name2.as_bytes())
                .unwrap()
                .as_bytes(),
            110,
        )
        .unwrap();
        (p, a)
    });
    let before = switch_status(&mgmt).unwrap();
    // Self-loops, even from root: the shared data socket by v0 and v3, a port socket.
    let data_addr = DataAddr::from_path(data2.to_str().unwrap()).unwrap();
    let refused_v3 = ns.run_inside(move || {
        let refused_v3 = closed_without_answer(&ctl2, &v3_request(&data_addr));
        let mut s = UnixStream::connect(&ctl2).unwrap();
        s.write_all(&v0_request(&data_addr)).unwrap();
        let mut buf = [0u8; 16];
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        assert!(
            matches!(s.read(&mut buf), Ok(0)),
            "a v0 self-loop stayed open"
        );
        refused_v3
    });
    assert!(
        refused_v3,
        "a v3 request naming the data socket was answered"
    );
    let after = switch_status(&mgmt2).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("the switch's own data socket")
            || text.contains("one of the switch's own sockets"),
        "{text}"
    );
    assert!(
        stat(&after, "requests_refused") >= stat(&before, "requests_refused") + 2,
        "{after}"
    );
    // As an ordinary user: root's socket by path, by abstract name, through a link.
    let ctl_s = ctl.to_str().unwrap();
    assert_eq!(
        as_nobody(&ns, &dir, &["v3", ctl_s, "path", devlog.to_str().unwrap()]),
        "CLOSED"
    );
    let mut abs = [0u8; 108];
    abs[1..1 + sink_name.len()].copy_from_slice(sink_name.as_bytes());
    assert_eq!(
        as_nobody(&ns, &dir, &["v3", ctl_s, "hex", &hex(&abs)]),
        "CLOSED"
    );
    let link = dir.join("link-to-devlog");
    std::os::unix::fs::symlink(&devlog, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    assert_eq!(
        as_nobody(&ns, &dir, &["v3", ctl_s, "path", link.to_str().unwrap()]),
        "CLOSED"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    for why in [
        "belongs to uid 0, not to the client (uid 65534)",
        "its abstract data address belongs to uid 0",
        "is a symbolic link",
    ] {
        assert!(text.contains(why), "no '{why}' in the log:\n{text}");
    }
    // Attached by its own path, it swaps the file for a link to root's socket: frames
    // for it must still reach its own socket, never the link's target.
    let watcher_c = {
        let ctl = ctl.clone();
        ns.run_inside(move || client(&ctl, 8))
    };
    let script = dir.join("attacker.py");
    let swap_path = dir.join("swapper.sock");
    let mut swapper = ns
        .command("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            system_python(),
        ])
        .arg(&script)
        .args(["swap", ctl_s, swap_path.to_str().unwrap()])
        .arg(&devlog)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the swapper");
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(swapper.stdout.take().unwrap()));
    assert_eq!(lines.next().unwrap().unwrap(), "SWAPPED");
    for seq in 0..5 {
        push(&watcher_c, &frame([0xff; 6], mac(0x57), 90 + seq, 60));
    }
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("GOT"),
        "frames for the swapper did not reach its own socket (sent by name to the link?)"
    );
    let _ = swapper.kill();
    let _ = swapper.wait();
    let mut buf = [0u8; 2048];
    sink_path.set_nonblocking(true).unwrap();
    assert!(
        sink_path.recv(&mut buf).is_err(),
        "the foreign socket got a frame"
    );
    assert!(
        sink_abstract.recv(&mut buf).unwrap().is_none(),
        "the foreign abstract socket got a frame"
    );

    // Another user's flood of idle connections closes only its own: a slow client of
    // root's (its request a second after connecting) still gets its answer.
    let flood = ns
        .command("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            system_python(),
        ])
        .arg(&script)
        .args(["flood", ctl_s, "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the flood");
    std::thread::sleep(Duration::from_millis(500));
    let ctl5 = ctl.clone();
    let answered = ns.run_inside(move || {
        let addr = uml_like_addr(std::process::id(), 4242, 99);
        let _data = umlnet_linux::sys::socket::DgramSocket::bind_raw(addr.as_bytes(), 110).unwrap();
        let mut s = UnixStream::connect(&ctl5).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut reply = [0u8; 110];
        s.write_all(&v3_request(&addr)).is_ok() && s.read_exact(&mut reply).is_ok()
    });
    let flooded = String::from_utf8(flood.wait_with_output().unwrap().stdout).unwrap();
    assert!(
        answered,
        "a slow client was closed during another user's flood ({flooded})"
    );
    let n: u32 = flooded
        .trim()
        .strip_prefix("FLOODED ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(n > 4 * MAX_PENDING as u32, "{flooded}");

    // A switch without -compat-v0 gives each client a port socket of its own.
    let plain = dir.join("plain.ctl");
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "plain",
        &plain,
        &["-mode", "0666"],
    );
    let plain2 = plain.clone();
    let watcher = ns.run_inside(move || client(&plain2, 7));
    // The name of one of its port sockets (the watcher's): a loop, refused even to root.
    let own =
        DataAddr::abstract_from(format!("umlnet-switch-{}-port-1", sw.daemon.pid()).as_bytes())
            .unwrap();
    let plain3 = plain.clone();
    assert!(
        ns.run_inside(move || closed_without_answer(&plain3, &v3_request(&own))),
        "a request naming a port socket of the switch was answered"
    );
    // The ordinary user's own sockets attach, by abstract name (as the UML kernel
    // names it) and by path, and its frames arrive.
    let p_s = plain.to_str().unwrap();
    let probe = frame([0xff; 6], mac(0x55), 77, 60);
    assert_eq!(
        as_nobody(&ns, &dir, &["own-abstract", p_s, &hex(&probe)]),
        "REPLY 110 SENT"
    );
    assert!(recv_seq(&watcher, 77, Duration::from_secs(2)).is_some());
    let own_path = dir.join("nobody.sock");
    let probe = frame([0xff; 6], mac(0x56), 78, 60);
    assert_eq!(
        as_nobody(
            &ns,
            &dir,
            &["own-path", p_s, own_path.to_str().unwrap(), &hex(&probe)]
        ),
        "REPLY 110 SENT"
    );
    assert!(recv_seq(&watcher, 78, Duration::from_secs(2)).is_some());
    let text = sw.log_text();
    assert_eq!(text.matches("New port").count(), 3, "{text}");
}

/// The UML kernel names its data socket with an abstract address of its own (pid,
/// time, heap bytes; docs/protocols.md §3.1): run by an ordinary user, it must pass the
/// switch's owner check and its frames must flow.
fn a_uml_kernel_run_by_an_ordinary_user_attaches() {
    let (dir, ns) = dir_and_netns("swt-uml");
    open_dir(&dir);
    let ctl = dir.join("uml.ctl");
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &["-mode", "0666"],
    );
    let ctl2 = ctl.clone();
    let watcher = ns.run_inside(move || client(&ctl2, 1));
    let script = dir.join("guest.init.sh");
    let out = dir.join("guest.out");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
             mount -t proc proc /proc 2>/dev/null\n\
             ip link set eth0 up && ip addr add 10.77.0.2/24 dev eth0 && echo UP >> '{out}'\n\
             ping -c 3 -W 1 10.77.0.1 >/dev/null 2>&1\n\
             echo DONE >> '{out}'\n\
             echo o > /proc/sysrq-trigger\n\
             sleep 30\n",
            out = out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let launch = umlnet_xstate::launch::KernelLaunch::for_host(None)
        .unwrap_or_else(|e| panic!("starting UML kernels on this host: {e}"));
    let mut cmd = ns.command("setpriv");
    cmd.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
        "linux.uml",
    ]);
    launch.apply_env(&mut cmd);
    cmd.args(launch.args.iter()).args([
        "mem=96M".to_string(),
        "root=/dev/root".into(),
        "rootfstype=hostfs".into(),
        "rootflags=/".into(),
        "rw".into(),
        "quiet".into(),
        "umid=swt-uml".into(),
        format!("uml_dir={}/", dir.path().display()),
        format!("init={}", script.display()),
        "con=null".into(),
        "con0=fd:0,fd:1".into(),
        format!("eth0=daemon,fe:fd:0a:4d:00:02,unix,{}", ctl.display()),
    ]);
    let guest = Daemon::spawn("guest", &mut cmd, &dir.join("guest.console.log"));
    // Its ARP requests for 10.77.0.1 reach the watcher.
    let mut buf = [0u8; 2048];
    let end = Instant::now() + Duration::from_secs(60);
    let arp = loop {
        assert!(
            Instant::now() < end,
            "no frame from the guest in 60 s; switch log:\n{}\nconsole:\n{}",
            sw.log_text(),
            std::fs::read_to_string(dir.join("guest.console.log")).unwrap_or_default()
        );
        if let Some(n) = watcher
            .recv_timeout(&mut buf, Duration::from_millis(500))
            .unwrap()
            && n >= 14
            && buf[6..12] == [0xfe, 0xfd, 0x0a, 0x4d, 0, 2]
            && buf[12..14] == [0x08, 0x06]
        {
            break n;
        }
    };
    assert!(arp >= 42);
    let text = sw.log_text();
    assert!(!text.contains("refusing"), "{text}");
    // The owner came from the kernel's socket table, not from the pid fallback.
    assert!(!text.contains("cannot list unix sockets"), "{text}");
    assert_eq!(text.matches("New port").count(), 2, "{text}");
    drop(guest);
}

fn socket_modes_groups_and_the_console_owner() {
    let (dir, ns) = dir_and_netns("swt-mode");
    open_dir(&dir);
    let ctl = dir.join("uml.ctl");
    let data = dir.join("uml.data");
    let mgmt = dir.join("mgmt");
    let (bess, fdpass, stream) = (dir.join("bess"), dir.join("fdpass"), dir.join("stream"));
    let (dgram, qemu_end) = (dir.join("dgram"), dir.join("qemu.sock"));
    let log = dir.join("switch.log");
    let mut cmd = ns.command(bin!("uml_switch"));
    cmd.args(["-compat-v0", "-unix"])
        .arg(&ctl)
        .arg(&data)
        .args(["-mode", "0660", "-group", &NOBODY.to_string()])
        .args(["-mgmt", mgmt.to_str().unwrap()])
        .arg("-bess")
        .arg(&bess)
        .arg("-fdpass")
        .arg(&fdpass)
        .arg("-stream")
        .arg(&stream)
        .arg("-dgram")
        .arg(format!("{},{}", dgram.display(), qemu_end.display()));
    let d = Daemon::spawn("switch", &mut cmd, &log);
    wait_for("the switch banner", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("attached to unix sockets")
    });
    for p in [&ctl, &data, &mgmt, &bess, &fdpass, &stream, &dgram] {
        let m = std::fs::symlink_metadata(p).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.gid()),
            (0o660, NOBODY),
            "{}",
            p.display()
        );
    }
    // Group members may use the console, but only the switch's owner changes it.
    let m = mgmt.to_str().unwrap();
    let said = as_nobody(&ns, &dir, &["console", m, "hub on"]);
    assert!(said.starts_with("refused"), "{said}");
    let said = as_nobody(&ns, &dir, &["console", m, "hub"]);
    assert!(said.contains("hub is off"), "{said}");
    drop(d);

    // Without -mode: the console is 0600, the control socket as the umask says.
    let mgmt2 = dir.join("mgmt2");
    let ctl2 = dir.join("uml2.ctl");
    let _sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch2",
        &ctl2,
        &["-mgmt", mgmt2.to_str().unwrap()],
    );
    let m = std::fs::symlink_metadata(&mgmt2).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o600);
    let mut s = UnixStream::connect(&mgmt2).unwrap();
    s.write_all(b"hub on\nhub\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 256];
    while !got.contains("hub is") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        got.contains("hub is on"),
        "root may change its own switch: {got}"
    );
}

fn paths_planted_by_another_user_are_refused() {
    let (dir, ns) = dir_and_netns("swt-plant");
    open_dir(&dir);
    // Another user's (stale) control socket at the path: not taken over.
    let ctl = dir.join("uml.ctl");
    assert_eq!(
        as_nobody(&ns, &dir, &["stale", ctl.to_str().unwrap()]),
        "BOUND"
    );
    let run = |args: &[&str]| {
        ns.command(bin!("uml_switch"))
            .args(args)
            .output()
            .expect("run uml_switch")
    };
    let out = run(&["-unix", ctl.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("belongs to uid 65534"), "{err}");
    assert_eq!(std::fs::symlink_metadata(&ctl).unwrap().uid(), NOBODY);
    // The same for the vector driver's -bess socket.
    let bess = dir.join("bess");
    assert_eq!(
        as_nobody(&ns, &dir, &["stale", bess.to_str().unwrap()]),
        "BOUND"
    );
    let own = dir.join("own-bess.ctl");
    let mut child = ns
        .command(bin!("uml_switch"))
        .args([
            "-unix",
            own.to_str().unwrap(),
            "-bess",
            bess.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run uml_switch");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the switch took over another user's bess socket and kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("belongs to uid 65534"), "{err}");
    assert_eq!(std::fs::symlink_metadata(&bess).unwrap().uid(), NOBODY);
    assert!(!own.exists(), "a failed start leaves no control socket");

    // The capture file: a link or another user's file is refused; ours stays bounded.
    let ctl2 = dir.join("own.ctl");
    let target = dir.join("precious");
    std::fs::write(&target, b"keep me").unwrap();
    let link = dir.join("cap-link.pcap");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let c = ctl2.to_str().unwrap();
    let out = run(&["-unix", c, "-pcap", link.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    let theirs = dir.join("theirs.pcap");
    std::fs::write(&theirs, b"their capture").unwrap();
    std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = run(&["-unix", c, "-pcap", theirs.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("belongs to uid 65534"),
        "{err}"
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), b"their capture");

    let cap = dir.join("bounded.pcap");
    let _sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl2,
        &["-pcap", cap.to_str().unwrap(), "-pcap-size", "4000"],
    );
    ns.run_inside(move || {
        let a = client(&ctl2, 1);
        let b = client(&ctl2, 2);
        for seq in 0..200 {
            push(&a, &frame(mac(2), mac(1), seq, 100));
            drain(&b);
        }
    });
    wait_for("the capture file to fill", Duration::from_secs(5), || {
        std::fs::metadata(&cap).map(|m| m.len()).unwrap_or(0) > 3000
    });
    std::thread::sleep(Duration::from_millis(200));
    let len = std::fs::metadata(&cap).unwrap().len();
    assert!(len <= 4000, "the capture file grew to {len} bytes");
    assert_eq!(std::fs::metadata(&cap).unwrap().mode() & 0o777, 0o600);
}

fn one_user_holds_at_most_max_ports_per_user() {
    let (dir, ns) = dir_and_netns("swt-quota");
    open_dir(&dir);
    let ctl = dir.join("uml.ctl");
    let bess = dir.join("bess");
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &[
            "-max-ports-per-user",
            "2",
            "-mode",
            "0666",
            "-bess",
            bess.to_str().unwrap(),
        ],
    );
    let (c, b) = (ctl.to_str().unwrap(), bess.to_str().unwrap());
    // Within the limit: one daemon port and one bess port.
    assert_eq!(
        as_nobody(&ns, &dir, &["hold", c, "1", b]),
        "PORTS 1 BESS OPEN"
    );
    wait_for("both ports to go", Duration::from_secs(5), || {
        sw.log_text().matches("Disconnect port").count() == 2
    });
    // Beyond it: the third request and the bess connection are closed.
    assert_eq!(
        as_nobody(&ns, &dir, &["hold", c, "3", b]),
        "PORTS 2 BESS CLOSED"
    );
    let text = sw.log_text();
    assert!(
        text.contains("uid 65534 holds 2 ports already (-max-ports-per-user 2)"),
        "{text}"
    );
    // The switch's own user (root here) is not limited.
    let ctl2 = ctl.clone();
    ns.run_inside(move || {
        let held: Vec<Client> = (1..=4).map(|i| client(&ctl2, i)).collect();
        assert_eq!(held.len(), 4);
    });
}
