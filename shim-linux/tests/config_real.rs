//! `umlnet up`/`down`/`plan` on a real host, each test in a network namespace of its
//! own: devices, owner, addresses, routes, proxy ARP and published entries as `ip`
//! shows them; a second `up` is a no-op; `down` leaves nothing; a config error names its
//! line; a failure half way leaves the host as before; a real UML on a TAP made by
//! `umlnet up` pings the host.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use umlnet_testkit::{
    Netns, TempDir, UmlBoot, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "plan_prints_the_commands_and_changes_nothing",
            &["ip"],
            plan_prints_the_commands_and_changes_nothing,
        ),
        real(
            "up_makes_what_the_file_declares",
            &["ip"],
            up_makes_what_the_file_declares,
        ),
        real(
            "a_second_up_changes_nothing_and_says_so",
            &["ip"],
            a_second_up_changes_nothing_and_says_so,
        ),
        real(
            "down_leaves_nothing_and_a_second_down_has_nothing_to_undo",
            &["ip"],
            down_leaves_nothing_and_a_second_down_has_nothing_to_undo,
        ),
        real(
            "a_config_error_names_its_line_and_key_and_changes_nothing",
            &["ip"],
            a_config_error_names_its_line_and_key_and_changes_nothing,
        ),
        real(
            "a_failure_half_way_leaves_the_host_as_before",
            &["ip"],
            a_failure_half_way_leaves_the_host_as_before,
        ),
        real(
            "a_real_uml_on_a_tap_made_by_umlnet_up_pings_the_host",
            &["ip", "linux.uml", "ping"],
            a_real_uml_on_a_tap_made_by_umlnet_up_pings_the_host,
        ),
    ]);
}

fn umlnet(ns: &Netns, args: &[&str], file: &Path) -> Output {
    ns.command(bin!("umlnet"))
        .args(args)
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

/// Everything `up` could touch, as `ip` and `/proc/sys` show it.
fn snapshot(ns: &Netns) -> String {
    ns.sh(
        "ip -d link show | grep -v 'link/ether'; ip -4 addr; ip route; ip neigh show proxy; \
         for f in /proc/sys/net/ipv4/conf/*/proxy_arp; do echo \"$f $(cat $f)\"; done",
    )
}

fn lan(ns: &Netns) {
    ns.sh(
        "ip link add lan0 type veth peer name lan0p && ip link set lan0 up && \
         ip addr add 192.168.77.1/24 dev lan0",
    );
}

/// A namespace with a LAN, a file declaring two taps (one with guests) and a switch, and
/// a snapshot of the host before anything ran.
struct Declared {
    ns: Netns,
    dir: TempDir,
    file: PathBuf,
    before: String,
}

fn declared(tag: &str) -> Declared {
    let ns = Netns::new(tag);
    let dir = TempDir::new(tag);
    lan(&ns);
    let file = dir.join("umlnet.toml");
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{state}\"\n\
             [[tap]]\n\
             name = \"tap0\"\n\
             user = 65534\n\
             group = 65534\n\
             address = \"192.168.77.254\"\n\
             guests = [\"192.168.77.253\", \"192.168.77.252\"]\n\
             \n\
             [[tap]]\n\
             name = \"tap1\"\n\
             user = \"root\"\n\
             \n\
             [[switch]]\n\
             socket = \"{ctl}\"\n\
             tap = \"tap1\"\n",
            state = dir.join("state").display(),
            ctl = dir.join("sw.ctl").display(),
        ),
    )
    .unwrap();
    let before = snapshot(&ns);
    Declared {
        ns,
        dir,
        file,
        before,
    }
}

/// Waits until the switch `up` started blocks SIGTERM for its signal descriptor, so that
/// `down`'s SIGTERM reaches its clean exit. Right after `up` returns the switch already
/// answers on its socket but may not take SIGTERM yet; one arriving then kills it with
/// its socket file left behind.
fn wait_switch_takes_sigterm(dir: &TempDir) {
    const SIGTERM_BIT: u64 = 1 << (15 - 1);
    let takes_sigterm = |pid_file: &Path| {
        let pid = std::fs::read_to_string(pid_file).unwrap_or_default();
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).is_ok_and(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("SigBlk:"))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
                .is_some_and(|mask| mask & SIGTERM_BIT != 0)
        })
    };
    wait_for(
        "the switch to take SIGTERM",
        Duration::from_secs(10),
        || {
            std::fs::read_dir(dir.join("state"))
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pid"))
                .any(|p| takes_sigterm(&p))
        },
    );
}

/// `umlnet up` with the declared file, which must succeed.
fn up(d: &Declared) {
    let o = umlnet(&d.ns, &["up"], &d.file);
    assert!(o.status.success(), "{}", text(&o));
}

/// plan: the commands, nothing changed.
fn plan_prints_the_commands_and_changes_nothing() {
    let Declared {
        ns,
        dir,
        file,
        before,
    } = declared("cfg-plan");
    let o = umlnet(&ns, &["plan"], &file);
    assert!(o.status.success(), "{}", text(&o));
    let plan = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        plan.starts_with("ip tuntap add dev tap0 mode tap user 65534 group 65534\n"),
        "{plan}"
    );
    assert!(
        plan.contains("ip neigh add proxy 192.168.77.253 dev lan0\n"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!(
            "-unix {} -tap tap1 &\n",
            dir.join("sw.ctl").display()
        )),
        "{plan}"
    );
    assert_eq!(snapshot(&ns), before);
}

/// up makes the taps, addresses, routes, proxy entries and the switch the file declares.
fn up_makes_what_the_file_declares() {
    let Declared { ns, dir, file, .. } = declared("cfg-up");
    let o = umlnet(&ns, &["up"], &file);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("* ip tuntap add dev tap0 mode tap user 65534 group 65534\n"),
        "{out}"
    );

    let link = ns.sh("ip -d link show tap0");
    assert!(link.contains("tun type tap"), "{link}");
    assert!(
        link.contains("persist on user nobody group nogroup"),
        "{link}"
    );
    assert!(link.contains(",UP"), "{link}");
    let link1 = ns.sh("ip -d link show tap1");
    assert!(link1.contains("persist on user root"), "{link1}");
    let addr = ns.sh("ip -4 addr show dev tap0");
    assert!(
        addr.contains("inet 192.168.77.254/32 scope global tap0"),
        "{addr}"
    );
    let routes = ns.sh("ip route");
    assert!(
        routes.contains("192.168.77.253 dev tap0 scope link"),
        "{routes}"
    );
    assert!(
        routes.contains("192.168.77.252 dev tap0 scope link"),
        "{routes}"
    );
    let proxy = ns.sh("ip neigh show proxy");
    assert!(proxy.contains("192.168.77.253 dev lan0 proxy"), "{proxy}");
    assert!(proxy.contains("192.168.77.252 dev lan0 proxy"), "{proxy}");
    assert_eq!(
        ns.sh("cat /proc/sys/net/ipv4/conf/tap0/proxy_arp").trim(),
        "1"
    );
    assert_eq!(ns.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    // The switch serves its socket.
    assert!(
        std::os::unix::net::UnixStream::connect(dir.join("sw.ctl")).is_ok(),
        "the switch does not answer on its socket"
    );
}

/// A second up changes nothing and says so.
fn a_second_up_changes_nothing_and_says_so() {
    let d = declared("cfg-up2");
    up(&d);
    let Declared { ns, file, .. } = d;
    let after_up = snapshot(&ns);
    let o = umlnet(&ns, &["up"], &file);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!out.contains("\n* ") && !out.starts_with("* "), "{out}");
    assert!(
        out.contains("umlnet up: nothing to do: all 12 steps"),
        "{out}"
    );
    assert_eq!(snapshot(&ns), after_up);
}

/// down removes exactly what up made (forwarding stays on: it has no inverse), and a
/// second down has nothing to undo.
fn down_leaves_nothing_and_a_second_down_has_nothing_to_undo() {
    let d = declared("cfg-down");
    up(&d);
    wait_switch_takes_sigterm(&d.dir);
    let Declared {
        ns,
        dir,
        file,
        before,
    } = d;
    let o = umlnet(&ns, &["down"], &file);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !dir.join("sw.ctl").exists(),
        "the switch's socket is still there"
    );
    assert_eq!(snapshot(&ns), before);
    assert_eq!(std::fs::read_dir(dir.join("state")).unwrap().count(), 0);
    // And a second down has nothing to undo.
    let o = umlnet(&ns, &["down"], &file);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing to undo"),
        "{}",
        text(&o)
    );
}

fn a_config_error_names_its_line_and_key_and_changes_nothing() {
    let (dir, ns) = dir_and_netns("cfg-err");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[[tap]]\nname = \"tap0\"\nuser = 0\n\n# the host side\naddress = \"192.168.0.256\"\n",
    )
    .unwrap();
    let before = snapshot(&ns);
    for verb in ["up", "plan", "down"] {
        let o = umlnet(&ns, &[verb], &file);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("line 6, key 'tap[0].address': '192.168.0.256' is not an IPv4 address"),
            "{err}"
        );
    }
    assert_eq!(snapshot(&ns), before);
}

fn a_failure_half_way_leaves_the_host_as_before() {
    let (dir, ns) = dir_and_netns("cfg-fail");
    lan(&ns);
    // tap1 is taken by a veth: the second TAP cannot be made.
    ns.sh("ip link add tap1 type veth peer name tap1p");
    ns.sh("echo 1 > /proc/sys/net/ipv4/ip_forward");
    let file = dir.join("umlnet.toml");
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{}\"\n\
             [[tap]]\nname = \"tap0\"\nuser = 0\naddress = \"192.168.77.254\"\nguests = [\"192.168.77.253\"]\n\
             [[tap]]\nname = \"tap1\"\nuser = 0\naddress = \"192.168.78.254\"\n",
            dir.join("state").display()
        ),
    )
    .unwrap();
    let before = snapshot(&ns);
    let o = umlnet(&ns, &["up"], &file);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        out.contains("* ip neigh add proxy 192.168.77.253 dev lan0\n"),
        "{out}"
    );
    assert!(
        err.contains("step 8 ('ip tuntap add dev tap1 mode tap user 0') failed: 'tap1' already exists and is a veth device, not a TAP device"),
        "{err}"
    );
    assert!(out.contains("* ip tuntap del dev tap0 mode tap\n"), "{out}");
    assert_eq!(snapshot(&ns), before);
    assert_eq!(ns.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    assert!(
        !dir.join("state").exists() || std::fs::read_dir(dir.join("state")).unwrap().count() == 0
    );

    // A TAP of the same name that someone else owns is not taken over (down would
    // delete it): refused, host unchanged.
    ns.sh("ip tuntap add dev tap0 mode tap user 1234");
    let before = snapshot(&ns);
    let o = umlnet(&ns, &["up"], &file);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains(
            "step 1 ('ip tuntap add dev tap0 mode tap user 0') failed: 'tap0' already exists \
             as a persistent TAP device with owner 1234 and group none"
        ),
        "{err}"
    );
    assert_eq!(snapshot(&ns), before);
}

fn a_real_uml_on_a_tap_made_by_umlnet_up_pings_the_host() {
    let (dir, ns) = dir_and_netns("cfg-uml");
    let file = dir.join("umlnet.toml");
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{}\"\n[[tap]]\nname = \"tap0\"\nuser = 0\n\
             address = \"192.168.7.1\"\nguests = [\"192.168.7.2\"]\n",
            dir.join("state").display()
        ),
    )
    .unwrap();
    let o = umlnet(&ns, &["up"], &file);
    assert!(o.status.success(), "{}", text(&o));
    let eth = ["eth0=tuntap,tap0,,".to_string()];
    let mut uml = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "cfguml",
        eth: &eth,
        script: "ip addr add 192.168.7.2/24 dev eth0\n\
                 ip link set eth0 up\n\
                 if ping -c 3 -W 3 192.168.7.1 > $T/ping 2>&1; then say RESULT ping ok; \
                 else say RESULT ping failed; fi\n\
                 sleep 5\n",
        path_prefix: None,
    });
    let said = uml.wait_said("RESULT", Duration::from_secs(90));
    assert_eq!(said, "RESULT ping ok", "console:\n{}", uml.console());
    // The host reaches the guest through the route umlnet up made.
    let o = ns.sh_output("ping -c 1 -W 3 192.168.7.2");
    assert!(
        o.status.success(),
        "host -> guest: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    uml.finish(Duration::from_secs(60));
    let o = umlnet(&ns, &["down"], &file);
    assert!(o.status.success(), "{}", text(&o));
    assert!(ns.sh("ip link show").lines().all(|l| !l.contains("tap0")));
}
