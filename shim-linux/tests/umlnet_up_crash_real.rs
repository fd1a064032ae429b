//! `umlnet up` killed half way, and switches started as a configured user, on a real
//! host in network namespaces of their own (issue #15, item 6).
//!
//! * `up` is aborted at every point of its run in turn (just after a step's intent is
//!   on disk, and just after the change before it is recorded as made, through
//!   `UMLNET_TEST_ABORT_AT_POINT=N`, read by debug builds only); `down` then leaves the namespace exactly as before:
//!   `ip -d link`, `ip addr`, `ip route`, `ip neigh show proxy`, the sysctls, no process.
//! * A step recorded only as intended, whose name another owner takes meanwhile, is
//!   left alone by `down`.
//! * A switch with `user = "nobody"` runs as uid/gid 65534 with no other group, serves
//!   clients, and its sockets have the `mode` and `group` asked for.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use umlnet_linux::switchd::client::{Client, uml_like_addr};
use umlnet_testkit::{Netns, TempDir, bin, dir_and_netns, real, run_cases, wait_for};

const NOBODY: u32 = 65534;

fn main() {
    run_cases(vec![
        real(
            "down_after_up_is_killed_at_any_point_leaves_the_host_as_before",
            &["ip"],
            down_after_up_is_killed_at_any_point_leaves_the_host_as_before,
        ),
        real(
            "an_intended_tap_taken_meanwhile_by_another_owner_is_left_alone",
            &["ip"],
            an_intended_tap_taken_meanwhile_by_another_owner_is_left_alone,
        ),
        real(
            "a_switch_with_a_user_runs_as_that_user_and_serves_clients",
            &["ip"],
            a_switch_with_a_user_runs_as_that_user_and_serves_clients,
        ),
    ]);
}

fn umlnet(ns: &Netns, args: &[&str], file: &Path) -> Output {
    umlnet_aborting(ns, args, file, None)
}

/// `umlnet` with its debug builds' test hook: abort at point `abort_at` of `up`.
fn umlnet_aborting(ns: &Netns, args: &[&str], file: &Path, abort_at: Option<usize>) -> Output {
    let mut cmd = ns.command(bin!("umlnet"));
    if let Some(n) = abort_at {
        cmd.env("UMLNET_TEST_ABORT_AT_POINT", n.to_string());
    }
    cmd.args(args)
        .arg("-c")
        .arg(file)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run umlnet")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}stderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Everything `up` could touch.
fn snapshot(ns: &Netns) -> String {
    ns.sh("ip -d link show; ip addr; ip route; ip neigh show proxy; \
         for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/proxy_arp; do \
         echo \"$f $(cat $f)\"; done")
}

/// A namespace with a LAN (forwarding already on: `down` never turns it off) and a file
/// declaring two TAPs, one with guests, and a switch on the second.
fn declared(tag: &str) -> (TempDir, Netns, PathBuf) {
    let (dir, ns) = dir_and_netns(tag);
    ns.sh(
        "ip link add lan0 type veth peer name lan0p && ip link set lan0 up && \
         ip addr add 192.168.77.1/24 dev lan0 && echo 1 > /proc/sys/net/ipv4/ip_forward",
    );
    let file = dir.join("umlnet.toml");
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{state}\"\n\
             [[tap]]\nname = \"tap0\"\nuser = 65534\ngroup = 65534\n\
             address = \"192.168.77.254\"\nguests = [\"192.168.77.253\", \"192.168.77.252\"]\n\
             [[tap]]\nname = \"tap1\"\nuser = \"root\"\naddress = \"192.168.78.254\"\n\
             [[switch]]\nsocket = \"{ctl}\"\ntap = \"tap1\"\n",
            state = dir.join("state").display(),
            ctl = dir.join("sw.ctl").display(),
        ),
    )
    .unwrap();
    (dir, ns, file)
}

/// Waits until a switch `up` started (if any) blocks SIGTERM, so `down`'s SIGTERM
/// reaches its clean exit (which removes its socket).
fn wait_switches_take_sigterm(state: &Path) {
    const SIGTERM_BIT: u64 = 1 << (15 - 1);
    let pids: Vec<String> = std::fs::read_dir(state)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pid"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    for pid in pids {
        wait_for(
            "the switch to take SIGTERM",
            Duration::from_secs(10),
            || {
                std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("SigBlk:"))
                        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                        .is_some_and(|m| m & SIGTERM_BIT != 0)
                })
            },
        );
    }
}

fn down_after_up_is_killed_at_any_point_leaves_the_host_as_before() {
    let (dir, ns, file) = declared("upwal-crash");
    let before = snapshot(&ns);
    let state = dir.join("state");
    let mut point = 1;
    loop {
        assert!(point < 200, "up never ran to its end");
        let o = umlnet_aborting(&ns, &["up"], &file, Some(point));
        if o.status.success() {
            break;
        }
        assert_eq!(
            o.status.signal(),
            Some(libc::SIGABRT),
            "point {point}: {}",
            text(&o)
        );
        wait_switches_take_sigterm(&state);
        let o = umlnet(&ns, &["down"], &file);
        assert!(o.status.success(), "down after point {point}: {}", text(&o));
        assert_eq!(snapshot(&ns), before, "after point {point}: {}", text(&o));
        assert_eq!(ns.pids(), Vec::<i32>::new(), "after point {point}");
        assert!(!dir.join("sw.ctl").exists(), "after point {point}");
        let left: Vec<_> = std::fs::read_dir(&state)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "after point {point}: {left:?}");
        point += 1;
    }
    // Two points per step to make (forwarding was on already): the run that was not
    // aborted made every step.
    wait_switches_take_sigterm(&state);
    let o = umlnet(&ns, &["down"], &file);
    assert!(o.status.success(), "{}", text(&o));
    let o = umlnet(&ns, &["plan"], &file);
    let steps = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    assert_eq!(point - 1, 2 * steps, "{}", text(&o));
    assert_eq!(snapshot(&ns), before);
}

fn an_intended_tap_taken_meanwhile_by_another_owner_is_left_alone() {
    let (_dir, ns, file) = declared("upwal-taken");
    // Point 1: the intent to create tap0 is on disk, tap0 is not made.
    let o = umlnet_aborting(&ns, &["up"], &file, Some(1));
    assert_eq!(o.status.signal(), Some(libc::SIGABRT), "{}", text(&o));
    ns.sh("ip tuntap add dev tap0 mode tap user 1234");
    let with_theirs = snapshot(&ns);
    let o = umlnet(&ns, &["down"], &file);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(
            "'ip tuntap add dev tap0 mode tap user 65534 group 65534' was about to be made \
             when umlnet up stopped and is not in effect: nothing to undo"
        ),
        "{}",
        text(&o)
    );
    assert_eq!(snapshot(&ns), with_theirs);
}

fn mac(last: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0x77, last]
}

fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..19].copy_from_slice(b"hello");
    f
}

fn a_switch_with_a_user_runs_as_that_user_and_serves_clients() {
    let (dir, ns) = dir_and_netns("upwal-user");
    // The switch (uid 65534) makes its sockets here.
    let run = dir.join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let ctl = run.join("uml.ctl");
    let mgmt = run.join("uml.mgmt");
    let file = dir.join("umlnet.toml");
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{}\"\n[[switch]]\nsocket = \"{}\"\nmgmt = \"{}\"\n\
             user = \"nobody\"\nmode = \"0660\"\ngroup = {NOBODY}\nmax_ports_per_user = 7\n",
            dir.join("state").display(),
            ctl.display(),
            mgmt.display()
        ),
    )
    .unwrap();
    let o = umlnet(&ns, &["up"], &file);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!(
            "* setpriv --reuid={NOBODY} --regid={NOBODY} --groups={NOBODY} "
        )),
        "{}",
        text(&o)
    );
    let pids = ns.pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", pids[0])).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let n = NOBODY.to_string();
    let all = [n.as_str(); 4].join(" ");
    assert_eq!(field("Uid:"), all, "{status}");
    assert_eq!(field("Gid:"), all, "{status}");
    assert_eq!(field("Groups:"), n, "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    let argv = std::fs::read_to_string(format!("/proc/{}/cmdline", pids[0])).unwrap();
    let argv: Vec<&str> = argv.split('\0').collect();
    assert!(
        argv.windows(2).any(|w| w == ["-max-ports-per-user", "7"]),
        "{argv:?}"
    );
    for p in [&ctl, &mgmt] {
        let m = std::fs::symlink_metadata(p).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (0o660, NOBODY, NOBODY),
            "{}",
            p.display()
        );
    }
    // Two clients (abstract data addresses live in the namespace: attach from inside).
    let ctl2 = ctl.clone();
    let got = ns.run_inside(move || {
        let a = Client::attach(&ctl2, uml_like_addr(std::process::id(), 1, 11)).unwrap();
        let b = Client::attach(&ctl2, uml_like_addr(std::process::id(), 2, 22)).unwrap();
        let mut buf = [0u8; 2048];
        for _ in 0..50 {
            let _ = a.send(&frame([0xff; 6], mac(1))).unwrap();
            if let Some(n) = b
                .recv_timeout(&mut buf, Duration::from_millis(100))
                .unwrap()
            {
                return buf[..n].to_vec();
            }
        }
        Vec::new()
    });
    assert_eq!(got, frame([0xff; 6], mac(1)), "b saw nothing from a");
    let o = umlnet(&ns, &["down"], &file);
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the switch to exit", Duration::from_secs(5), || {
        ns.pids().is_empty()
    });
}
