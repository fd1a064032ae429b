//! `umlnet lab` on real UML kernels (`linux.uml`), each lab inside a network namespace
//! of the test's own (the domains are unix sockets, but the kernels and switches stay
//! in the namespace all the same):
//!
//! * `contrib/labs/two-lans`: 4 machines, 3 domains, a router with `ip_forward` and
//!   routes from the startup scripts. It starts in `lab.dep` order, pc1 pings pc3 on
//!   the other LAN, `lab dump` captures the ICMP as pcap that `tcpdump -r` reads,
//!   `lab console` gives a shell, `lab connect` hot-plugs an interface that then carries a ping, `lab stop` runs the
//!   shutdown scripts and leaves no process, socket or device.
//! * `contrib/labs/stp`: a machine running an STP bridge; its BPDUs to
//!   `01:80:c2:00:00:00` cross a domain to another machine. The lab is first killed
//!   behind umlnet's back, and the next `lab start` cleans up what was left. This lab
//!   runs as the user `nobody`: without taps, a lab needs no privilege.
//! * a lab with Netkit tap uplinks: the host reaches the machines over a TAP device,
//!   which goes at `lab stop`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use umlnet_testkit::{Netns, TempDir, bin, real, run_cases, run_ok, wait_for};

fn main() {
    let needs = &["linux.uml", "tcpdump", "ip", "setpriv"];
    run_cases(vec![
        real(
            "two_lans_start_ping_dump_stop",
            needs,
            two_lans_start_ping_dump_stop,
        ),
        real(
            "stp_bpdus_cross_a_domain_and_a_crash_is_cleaned_up",
            needs,
            stp_bpdus_cross_a_domain_and_a_crash_is_cleaned_up,
        ),
        real(
            "tap_uplink_reaches_the_host_and_goes_at_stop",
            &["linux.uml", "ip", "ping"],
            tap_uplink_reaches_the_host_and_goes_at_stop,
        ),
    ]);
}

/// A lab shipped in `contrib/labs/`.
fn contrib_lab(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contrib/labs")
        .join(name)
        .canonicalize()
        .expect("the lab directory")
        .display()
        .to_string()
}

/// Runs `umlnet lab ARGS` inside `ns` with run directories under `run_base`; as the
/// user `nobody` when `run_base` is in a world-writable directory (see
/// [`as_nobody`]).
fn lab_cmd(ns: &Netns, run_base: &Path, args: &[&str]) -> Command {
    let mut c = if as_nobody(run_base) {
        let mut c = ns.command("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(bin!("umlnet"));
        c
    } else {
        ns.command(bin!("umlnet"))
    };
    c.arg("lab").args(args).env("UMLNET_LAB_RUN", run_base);
    c
}

/// Whether the lab with this run base runs without privileges: its parent directory
/// is world-writable (the test made it so).
fn as_nobody(run_base: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    run_base
        .parent()
        .and_then(|p| p.metadata().ok())
        .is_some_and(|m| m.permissions().mode() & 0o002 != 0)
}

fn lab(ns: &Netns, run_base: &Path, args: &[&str]) -> Output {
    lab_cmd(ns, run_base, args)
        .stdin(Stdio::null())
        .output()
        .expect("run umlnet lab")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed:\n{}", text(&o));
    text(&o)
}

/// The index of the first line containing `needle`.
fn line_of(out: &str, needle: &str) -> usize {
    out.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

/// Nothing of the lab is left: no process in the namespace, no run directory, no
/// socket, no network device but `lo`.
fn assert_nothing_left(ns: &Netns, run_base: &Path) {
    wait_for(
        "the lab's processes to end",
        Duration::from_secs(10),
        || ns.pids().is_empty(),
    );
    let left: Vec<_> = std::fs::read_dir(run_base)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    let links = ns.sh("ip -o link show | cut -d: -f2");
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["lo"]);
}

fn two_lans_start_ping_dump_stop() {
    let ns = Netns::new("lab");
    let tmp = TempDir::new("lab");
    let run_base = tmp.join("run");
    let dir = contrib_lab("two-lans");
    let dir = dir.as_str();

    let out = ok(lab(&ns, &run_base, &["start", dir]), "lab start");
    // lab.dep: the PCs wait for r1, then boot in parallel.
    for pc in ["pc1", "pc2", "pc3"] {
        assert!(
            line_of(&out, &format!("{pc}: waits for r1")) < line_of(&out, "r1: up after"),
            "{out}"
        );
        assert!(
            line_of(&out, "r1: up after") < line_of(&out, &format!("{pc}: booting")),
            "{out}"
        );
    }
    assert!(out.contains("lab up in"), "{out}");

    // The domain's traffic as pcap, without privileges the lab does not have.
    let pcap = tmp.join("A.pcap");
    let mut dump = lab_cmd(
        &ns,
        &run_base,
        &[
            "dump",
            "-d",
            dir,
            "A",
            "-w",
            pcap.to_str().unwrap(),
            "--seconds",
            "15",
        ],
    )
    .stdin(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start lab dump");
    let mut err = BufReader::new(dump.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening on domain A"), "{line}");

    let ping = ok(
        lab(
            &ns,
            &run_base,
            &[
                "exec",
                "-d",
                dir,
                "--timeout",
                "60",
                "pc1",
                "--",
                "ping",
                "-c",
                "3",
                "10.0.2.2",
            ],
        ),
        "exec pc1 -- ping",
    );
    assert!(ping.contains("3 received, 0% packet loss"), "{ping}");
    // Per-machine files: pc1's own /etc file, the shared startup script's output.
    let files = ok(
        lab(
            &ns,
            &run_base,
            &[
                "exec",
                "-d",
                dir,
                "--timeout",
                "30",
                "pc1",
                "--",
                "cat /etc/lab-role /var/log/lab-started",
            ],
        ),
        "exec pc1 -- cat",
    );
    assert_eq!(files, "pc1\npc1 started\n");
    let status = ok(lab(&ns, &run_base, &["status", "-d", dir]), "lab status");
    // LAB_SWITCHED=A: A learns addresses, but floods while it is dumped.
    assert!(status.contains("A: hub running"), "{status}");
    assert!(status.contains("B: hub running"), "{status}");
    assert!(
        status
            .lines()
            .any(|l| l.trim_start().starts_with("r1 ") && l.contains(" up ")),
        "{status}"
    );

    // A shell on pc2's console, with piped input.
    let mut console = lab_cmd(&ns, &run_base, &["console", "-d", dir, "pc2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lab console");
    std::io::Write::write_all(
        console.stdin.as_mut().unwrap(),
        b"echo console-of-$(cat /etc/lab-role)-$((6*7))\n",
    )
    .unwrap();
    drop(console.stdin.take());
    let said = console.wait_with_output().unwrap();
    assert!(said.status.success(), "lab console: {}", text(&said));
    assert!(
        String::from_utf8_lossy(&said.stdout).contains("console-of-pc2-42"),
        "{}",
        text(&said)
    );

    // Hot-plug: pc3 gets an eth1 on domain C, where r1's eth2 (10.0.3.1) is.
    let out = ok(
        lab(&ns, &run_base, &["connect", "-d", dir, "pc3", "eth1", "C"]),
        "lab connect",
    );
    assert!(
        out.contains("pc3: eth1 plugged into domain C and up"),
        "{out}"
    );
    let ping = ok(
        lab(
            &ns,
            &run_base,
            &[
                "exec",
                "-d",
                dir,
                "--timeout",
                "60",
                "pc3",
                "--",
                "ip addr add 10.0.3.2/24 dev eth1 && ping -c 2 -I eth1 10.0.3.1",
            ],
        ),
        "exec pc3 -- ping over the new interface",
    );
    assert!(ping.contains("2 received, 0% packet loss"), "{ping}");
    let status = ok(lab(&ns, &run_base, &["status", "-d", dir]), "lab status");
    assert!(status.contains("eth1:C (connected)"), "{status}");

    let st = dump.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(st.success(), "lab dump: {rest}");
    let status = ok(lab(&ns, &run_base, &["status", "-d", dir]), "lab status");
    assert!(status.contains("A: switch running"), "{status}");
    let read = run_ok(Command::new("tcpdump").args(["-n", "-r"]).arg(&pcap));
    let decoded = String::from_utf8_lossy(&read.stdout);
    for want in [
        "IP 10.0.1.2 > 10.0.2.2: ICMP echo request",
        "IP 10.0.2.2 > 10.0.1.2: ICMP echo reply",
    ] {
        assert_eq!(
            decoded.matches(want).count(),
            3,
            "{want:?} three times in:\n{decoded}"
        );
    }

    let stop = ok(lab(&ns, &run_base, &["stop", "-d", dir]), "lab stop");
    assert!(
        stop.contains("pc1| pc1: shutdown script ran, pc1 saying goodbye"),
        "{stop}"
    );
    assert!(
        stop.contains("4 machines halted, 3 domains stopped"),
        "{stop}"
    );
    assert_nothing_left(&ns, &run_base);
}

fn stp_bpdus_cross_a_domain_and_a_crash_is_cleaned_up() {
    let ns = Netns::new("labstp");
    let tmp = TempDir::new("labstp");
    // This lab runs as nobody: a lab without taps needs no privilege.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let run_base = tmp.join("run");
    let dir = contrib_lab("stp");
    let dir = dir.as_str();

    // A lab killed behind umlnet's back leaves its run directory and sockets.
    ok(lab(&ns, &run_base, &["start", dir, "h1"]), "lab start h1");
    for pid in ns.pids() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    wait_for("the killed lab to go", Duration::from_secs(10), || {
        ns.pids().is_empty()
    });
    {
        use std::os::unix::fs::MetadataExt;
        let owner = run_base.metadata().expect("the run base").uid();
        assert_ne!(owner, 0, "the lab was meant to run without root");
    }
    let out = ok(
        lab(&ns, &run_base, &["start", dir]),
        "lab start after a crash",
    );
    assert!(out.contains("removed the stale run directory"), "{out}");
    assert!(out.contains("lab up in"), "{out}");

    // The bridge's BPDUs (to 01:80:c2:00:00:00) reach h2 across domain B.
    let seen = ok(
        lab(
            &ns,
            &run_base,
            &[
                "exec",
                "-d",
                dir,
                "--timeout",
                "60",
                "h2",
                "--",
                "timeout 30 tcpdump -c 2 -n -e -i eth0 ether dst 01:80:c2:00:00:00",
            ],
        ),
        "exec h2 -- tcpdump",
    );
    assert_eq!(
        seen.matches("> 01:80:c2:00:00:00, 802.3").count(),
        2,
        "{seen}"
    );
    assert!(seen.contains("STP 802.1d"), "{seen}");

    let out = ok(lab(&ns, &run_base, &["crash", "-d", dir]), "lab crash");
    assert!(out.contains("3 machines and 2 switches killed"), "{out}");
    assert_nothing_left(&ns, &run_base);
}

/// Netkit's `MACHINE[N]=tap,<host ip>,<guest ip>`: the host (here, the test's
/// namespace) and two machines on one uplink; the TAP device goes with `lab stop`.
fn tap_uplink_reaches_the_host_and_goes_at_stop() {
    let ns = Netns::new("labtap");
    let tmp = TempDir::new("labtap");
    let run_base = tmp.join("run");
    let dir = tmp.join("taplab");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lab.conf"),
        "t[0]=tap,10.77.0.1,10.77.0.2\nu[0]=tap,10.77.0.1,10.77.0.3\n",
    )
    .unwrap();
    let dir = dir.to_str().unwrap();
    let out = ok(lab(&ns, &run_base, &["start", dir]), "lab start");
    assert!(out.contains("tap uplink: host device umlab"), "{out}");
    let host_ping = ns.sh("ping -c 2 10.77.0.3");
    assert!(host_ping.contains("2 received"), "{host_ping}");
    let guest_ping = ok(
        lab(
            &ns,
            &run_base,
            &[
                "exec",
                "-d",
                dir,
                "--timeout",
                "60",
                "t",
                "--",
                "ping -c 2 10.77.0.1 && ip route",
            ],
        ),
        "exec t -- ping the host",
    );
    assert!(guest_ping.contains("2 received"), "{guest_ping}");
    assert!(
        guest_ping.contains("default via 10.77.0.1 dev eth0"),
        "{guest_ping}"
    );
    ok(lab(&ns, &run_base, &["stop", "-d", dir]), "lab stop");
    assert_nothing_left(&ns, &run_base);
}
