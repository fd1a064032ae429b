//! Our `uml_net` against the real UML kernel (`linux.uml`) and against hostile callers.
//! Every test runs in a network namespace of its own, with our `uml_net` first in the
//! PATH the kernel searches.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use umlnet_testkit::{
    Netns, TempDir, UmlBoot, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

#[path = "support/policy_mount.rs"]
mod policy_mount;
use policy_mount::PolicyMount;

/// The policy the tests of ordinary users run under (in a private mount namespace): it
/// grants what these tests ask of the helper.
const GRANTING_POLICY: &str = "\
allow everyone op all
allow everyone gate 10.0.0.0/8
allow everyone guest 10.0.0.0/8
allow everyone publish lan0
allow everyone forward
allow everyone devices 4
";

fn main() {
    run_cases(vec![
        real(
            "tuntap_real_uml_pings_both_ways_and_routes_follow_the_guest",
            &["linux.uml", "ip", "ping"],
            tuntap_real_uml_pings_both_ways_and_routes_follow_the_guest,
        ),
        real(
            "malformed_argv_is_refused_with_one_clear_line",
            &["ip", "setpriv"],
            malformed_argv_is_refused_with_one_clear_line,
        ),
        real(
            "guest_addresses_taken_on_the_host_or_its_lan_are_refused",
            &["ip", "setpriv"],
            guest_addresses_taken_on_the_host_or_its_lan_are_refused,
        ),
        real(
            "an_ordinary_user_may_not_change_what_is_not_their_tap",
            &["ip", "setpriv"],
            an_ordinary_user_may_not_change_what_is_not_their_tap,
        ),
        real(
            "bad_tuntap_up_calls_are_refused",
            &["ip", "setpriv"],
            bad_tuntap_up_calls_are_refused,
        ),
        real(
            "bad_ethertap_and_slip_calls_are_refused",
            &["ip", "setpriv"],
            bad_ethertap_and_slip_calls_are_refused,
        ),
        real(
            "the_owner_of_a_tap_may_configure_it_through_the_setuid_helper",
            &["ip", "setpriv"],
            the_owner_of_a_tap_may_configure_it_through_the_setuid_helper,
        ),
        real(
            "dry_runs_print_the_plan_and_apply_nothing",
            &["ip", "setpriv"],
            dry_runs_print_the_plan_and_apply_nothing,
        ),
        real(
            "ethertap_real_uml_works_with_ours_and_not_with_the_original",
            &["linux.uml", "ip", "ping"],
            ethertap_real_uml_works_with_ours_and_not_with_the_original,
        ),
        real(
            "slirp_real_uml_reaches_the_host_over_slip_through_our_bridge",
            &["linux.uml", "ip", "ping"],
            slirp_real_uml_reaches_the_host_over_slip_through_our_bridge,
        ),
        real(
            "slip_up_without_n_slip_bridges_the_pty_in_user_space",
            &["ip"],
            slip_up_without_n_slip_bridges_the_pty_in_user_space,
        ),
        real(
            "slip_with_the_real_6_1_kernel_fails_at_siocgifname_and_leaves_nothing",
            &["linux.uml", "ip"],
            slip_with_the_real_6_1_kernel_fails_at_siocgifname_and_leaves_nothing,
        ),
        real(
            "tuntap_without_a_gate_gets_an_unconfigured_tap_where_the_original_fails",
            &["linux.uml", "ip", "ping"],
            tuntap_without_a_gate_gets_an_unconfigured_tap_where_the_original_fails,
        ),
        real(
            "tuntap_for_an_ordinary_user_through_the_setuid_helper",
            &["linux.uml", "ip", "ping", "setpriv"],
            tuntap_for_an_ordinary_user_through_the_setuid_helper,
        ),
    ]);
}

/// A directory holding only a link to our `uml_net`, to put first in PATH.
fn helper_dir(tmp: &TempDir) -> std::path::PathBuf {
    let dir = tmp.join("helper");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(bin!("uml_net"), dir.join("uml_net")).unwrap();
    dir
}

/// A directory holding only a link to the original `/usr/bin/uml_net`.
fn original_helper_dir(tmp: &TempDir) -> std::path::PathBuf {
    let dir = tmp.join("original");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink("/usr/bin/uml_net", dir.join("uml_net")).unwrap();
    dir
}

/// A LAN device in the namespace (one end of a veth pair, the other end left in the
/// same namespace) with `cidr`, so that published ARP entries have somewhere to go.
fn add_lan(ns: &Netns, cidr: &str) {
    ns.sh(&format!(
        "ip link add lan0 type veth peer name lanpeer && ip addr add {cidr} dev lan0 && \
         ip link set lan0 up && ip link set lanpeer up"
    ));
}

fn wait_file(path: &Path) -> String {
    format!("while [ ! -e '{}' ]; do sleep 0.1; done", path.display())
}

fn touch(path: &Path) {
    std::fs::write(path, b"").unwrap();
}

fn ping(ns: &Netns, ip: &str) -> bool {
    ns.sh_output(&format!("ping -c 2 -W 2 {ip}"))
        .status
        .success()
}

fn state(ns: &Netns) -> String {
    ns.sh("ip -o link show; ip -4 -o addr show; ip route show; ip neigh show proxy")
}

fn tuntap_real_uml_pings_both_ways_and_routes_follow_the_guest() {
    let (tmp, ns) = dir_and_netns("umlnet-tuntap");
    add_lan(&ns, "10.9.0.100/24");
    let go = tmp.join("go");
    let done = tmp.join("done");
    let script = format!(
        "ip addr add 10.9.0.2/24 dev eth0\n\
         ip link set eth0 up\n\
         if ping -c 3 -W 2 10.9.0.1 >/dev/null 2>&1; then say 'RESULT gate ok'; else say 'RESULT gate fail'; fi\n\
         say READY\n\
         {}\n\
         ip addr del 10.9.0.2/24 dev eth0\n\
         ip addr add 10.9.0.3/24 dev eth0\n\
         if ping -c 3 -W 2 10.9.0.1 >/dev/null 2>&1; then say 'MOVED gate ok'; else say 'MOVED gate fail'; fi\n\
         {}\n",
        wait_file(&go),
        wait_file(&done)
    );
    let helpers = helper_dir(&tmp);
    let eth = ["eth0=tuntap,,,10.9.0.1".to_string()];
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: tmp.path(),
        name: "tuntap",
        eth: &eth,
        script: &script,
        path_prefix: Some(&helpers),
    });
    assert_eq!(
        guest.wait_said("RESULT", Duration::from_secs(60)),
        "RESULT gate ok"
    );
    guest.wait_said("READY", Duration::from_secs(10));
    // The host side, as the UML networking page describes it, made by our helper.
    let s = state(&ns);
    assert!(s.contains("inet 10.9.0.1/32"), "gate on the tap:\n{s}");
    assert!(
        s.contains("10.9.0.2 dev tap0"),
        "host route to the guest:\n{s}"
    );
    assert!(
        s.contains("10.9.0.2 dev lan0 proxy"),
        "published ARP entry on the LAN:\n{s}"
    );
    assert_eq!(
        ns.sh("cat /proc/sys/net/ipv4/conf/tap0/proxy_arp").trim(),
        "1"
    );
    assert_eq!(ns.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    // The tap belongs to the user who ran the guest (root here).
    assert!(
        ns.sh("ip -d link show tap0").contains("user root"),
        "{}",
        ns.sh("ip -d link show tap0")
    );
    assert!(ping(&ns, "10.9.0.2"), "host pings the guest");

    touch(&go);
    guest.wait_said("MOVED", Duration::from_secs(30));
    assert!(
        guest.said().contains(&"MOVED gate ok".to_string()),
        "{:?}",
        guest.said()
    );
    let s = state(&ns);
    assert!(
        s.contains("10.9.0.3 dev tap0"),
        "route follows the guest:\n{s}"
    );
    assert!(!s.contains("10.9.0.2 dev tap0"), "old route removed:\n{s}");
    assert!(
        s.contains("10.9.0.3 dev lan0 proxy") && !s.contains("10.9.0.2 dev lan0 proxy"),
        "{s}"
    );
    assert!(
        ping(&ns, "10.9.0.3"),
        "host pings the guest at its new address"
    );
    touch(&done);
    guest.finish(Duration::from_secs(30));
    // When the guest is gone, so is its tap (it was never persistent).
    wait_for("tap0 to go", Duration::from_secs(10), || {
        !ns.sh("ip -o link show").contains("tap0")
    });
}

/// How the helper's reply channel (its fd 1) is made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// A unix stream socket: output blocks (add, del, slip, ethertap).
    Stream,
    /// A unix datagram socket: the tuntap up reply.
    Datagram,
}

/// Runs `exe args` (through `sh -c` when `shell_prefix` is given, to set up extra
/// descriptors) as a command made by `command` (in the test's namespaces), with fd 1 on
/// a socket; returns the exit code and the text of the reply.
fn call_with(
    command: impl Fn(&OsStr) -> std::process::Command,
    exe: &Path,
    user: Option<u32>,
    args: &[&std::ffi::OsStr],
    reply: Reply,
) -> (Option<i32>, String) {
    let mut cmd = match user {
        Some(uid) => {
            let mut c = command(OsStr::new("setpriv"));
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={uid}"))
                .arg("--clear-groups")
                .arg(exe);
            c
        }
        None => command(exe.as_os_str()),
    };
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    let mut buf = vec![0u8; 65536];
    match reply {
        Reply::Stream => {
            let (mut ours, theirs) = UnixStream::pair().unwrap();
            cmd.stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
            let out = cmd.output().unwrap();
            // The command still holds the other end until it is dropped.
            drop(cmd);
            ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            while let Ok(n) = ours.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            // An ethertap failure starts with its status byte.
            let body = if got.first() == Some(&0) && got.len() > 4 && got[1..].len() >= 4 {
                let used = i32::from_ne_bytes(got[1..5].try_into().unwrap());
                if used as usize == got.len() - 5 {
                    &got[1..]
                } else {
                    &got[..]
                }
            } else {
                &got[..]
            };
            let block = umlnet_core::helper::parse_output_block(body)
                .map(|b| String::from_utf8_lossy(b.text).into_owned())
                // Not a block (a refusal written as plain text): the raw text.
                .unwrap_or_else(|_| String::from_utf8_lossy(&got).into_owned());
            (out.status.code(), block)
        }
        Reply::Datagram => {
            let (ours, theirs) = UnixDatagram::pair().unwrap();
            cmd.stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
            let out = cmd.output().unwrap();
            drop(cmd);
            ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let (n, fd) = umlnet_linux::sys::fdpass::recv_with_fd(ours.as_fd(), &mut buf)
                .unwrap_or((0, None));
            assert!(fd.is_none(), "a refused tuntap up must not pass an fd");
            let text = umlnet_core::helper::TuntapUpReply::parse(&buf[..n], false)
                .map(|r| match r {
                    umlnet_core::helper::TuntapUpReply::Failed { text } => {
                        String::from_utf8_lossy(text).into_owned()
                    }
                    _ => unreachable!(),
                })
                .unwrap_or_else(|e| format!("<bad reply: {e}>"));
            (out.status.code(), text)
        }
    }
}

/// What any helper call could change in the namespace.
fn host_state(ns: &Netns) -> String {
    ns.sh(
        "ip -o link show | sed -e 's/^[0-9]*: //'; ip -4 -o addr show; ip -4 route show table all; \
         ip neigh show proxy; cat /proc/sys/net/ipv4/ip_forward; grep -H . /proc/sys/net/ipv4/conf/*/proxy_arp",
    )
}

/// A setuid-root copy of our `uml_net`, as Debian installs the helper.
fn setuid_copy(tmp: &TempDir) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = tmp.join("uml_net_setuid");
    std::fs::copy(bin!("uml_net"), &p).unwrap();
    std::os::unix::fs::chown(&p, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o4755)).unwrap();
    p
}

/// A namespace for hostile callers: a LAN, forwarding off, and a TAP that belongs to
/// uid 65534; our `uml_net`, a setuid-root copy of it, and what the host looked like.
struct Hostile {
    /// The private mount namespace with [`GRANTING_POLICY`] (and the test's ledger).
    mount: PolicyMount,
    _tmp: TempDir,
    ns: Netns,
    ours: std::path::PathBuf,
    suid: std::path::PathBuf,
    /// The file a shell injection would create.
    pwned: std::path::PathBuf,
    /// The host state before any call ([`host_state`]).
    before: String,
}

/// One refusal: the arguments, the reply channel, the user (through the setuid copy),
/// and the words the refusal must contain.
type Refusal<'a> = (Vec<&'a OsStr>, Reply, Option<u32>, &'a str);

impl Hostile {
    fn new() -> Hostile {
        let tmp = TempDir::new("umlnet-hostile");
        let ns = Netns::new("umlnet-hostile");
        // A LAN, forwarding off, and a TAP that belongs to uid 65534.
        add_lan(&ns, "10.5.0.100/24");
        ns.sh("echo 0 > /proc/sys/net/ipv4/ip_forward");
        // Other machines on the LAN: a router (a route's gateway) and a known neighbour.
        ns.sh("ip route add 192.0.2.0/24 via 10.5.0.1 dev lan0 && \
             ip neigh add 10.5.0.50 lladdr 02:00:00:00:00:50 dev lan0 nud permanent");
        ns.sh(&format!(
            "{} -t tapn -u 65534 >/dev/null && ip link set tapn up",
            bin!("tunctl").display()
        ));
        let ours = bin!("uml_net");
        let suid = setuid_copy(&tmp);
        let pwned = tmp.join("pwned");
        let before = host_state(&ns);
        let mount = PolicyMount::new(&ns, &tmp, Some(GRANTING_POLICY));
        Hostile {
            mount,
            _tmp: tmp,
            ns,
            ours,
            suid,
            pwned,
            before,
        }
    }

    /// [`call_with`] in the private mount namespace.
    fn call(
        &self,
        exe: &Path,
        user: Option<u32>,
        args: &[&OsStr],
        reply: Reply,
    ) -> (Option<i32>, String) {
        call_with(|p| self.mount.command(p), exe, user, args, reply)
    }

    /// A shell command that would create [`Hostile::pwned`] if a shell ran it.
    fn touch_pwned(&self) -> String {
        format!("touch {}", self.pwned.display())
    }

    /// Each call fails with one clear line containing the expected words, changes
    /// nothing on the host and runs no shell.
    fn refuses(&self, cases: &[Refusal<'_>]) {
        for (args, reply, user, expect) in cases {
            let exe = if user.is_some() {
                &self.suid
            } else {
                &self.ours
            };
            let (code, text) = self.call(exe, *user, args, *reply);
            assert_ne!(code, Some(0), "{args:?} must fail; said {text:?}");
            assert!(
                text.contains(expect),
                "{args:?}: expected {expect:?} in {text:?}"
            );
            assert!(
                text.trim_end().lines().count() <= 2,
                "{args:?}: a refusal is one clear line, got {text:?}"
            );
            assert_eq!(
                host_state(&self.ns),
                self.before,
                "{args:?} changed the host"
            );
            assert!(!self.pwned.exists(), "{args:?} ran a shell");
        }
    }
}

/// Shell injection, bad addresses and netmasks, extra, non-UTF-8 and huge arguments,
/// another protocol version, an unknown transport: refused, nothing changed.
fn malformed_argv_is_refused_with_one_clear_line() {
    let h = Hostile::new();
    let inject = format!("tap0;{}", h.touch_pwned());
    let subst = format!("$({})", h.touch_pwned());
    let long = "9".repeat(10_000);
    let o = |s: &'static str| OsStr::new(s);
    let cases: Vec<Refusal<'_>> = vec![
        (
            vec![
                o("4"),
                o("add"),
                OsStr::new(&inject),
                o("10.5.0.2"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "argv[3]: expected an interface name",
        ),
        (
            vec![
                o("4"),
                o("add"),
                OsStr::new(&subst),
                o("10.5.0.2"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "argv[3]: expected an interface name",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                o("10.5.0.2;reboot"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "argv[4]: expected an IPv4 address",
        ),
        (
            vec![o("4"), o("add"), o("tapn"), o("10.5.0.2"), o("255.0.255.0")],
            Reply::Stream,
            None,
            "argv[5]: expected a contiguous netmask",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                o("10.5.0.2"),
                o("255.255.255.0"),
                o("x"),
            ],
            Reply::Stream,
            None,
            "Too many arguments",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                OsStr::from_bytes(b"10.5.0.\xff"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "not valid UTF-8",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                OsStr::new(&long),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "argv[4]",
        ),
        (
            vec![
                o("5"),
                o("add"),
                o("tapn"),
                o("10.5.0.2"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "Version mismatch - requested version 5",
        ),
        (
            vec![o("4"), o("bogus"), o("x")],
            Reply::Stream,
            None,
            "Unknown transport : 'bogus'",
        ),
        (vec![o("4")], Reply::Stream, None, "bad argument list"),
    ];
    h.refuses(&cases);
}

/// Loopback, the host's own address, a route's gateway, a known neighbour and a device
/// that does not exist: refused, nothing changed.
fn guest_addresses_taken_on_the_host_or_its_lan_are_refused() {
    let h = Hostile::new();
    let o = |s: &'static str| OsStr::new(s);
    let cases: Vec<Refusal<'_>> = vec![
        (
            vec![o("4"), o("add"), o("tapn"), o("127.0.0.1"), o("255.0.0.0")],
            Reply::Stream,
            None,
            "refusing guest address 127.0.0.1",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("lan0"),
                o("10.5.0.100"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "is an address of this host",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                o("10.5.0.1"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "refusing guest address 10.5.0.1: it is the gateway of a route on lan0",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                o("10.5.0.50"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "refusing guest address 10.5.0.50: a machine on lan0 already uses it",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("nosuch0"),
                o("10.5.0.2"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            None,
            "no host device 'nosuch0'",
        ),
    ];
    h.refuses(&cases);
}

/// As an ordinary user through the setuid copy: only their own TAP may change.
fn an_ordinary_user_may_not_change_what_is_not_their_tap() {
    let h = Hostile::new();
    let o = |s: &'static str| OsStr::new(s);
    let cases: Vec<Refusal<'_>> = vec![
        (
            vec![
                o("4"),
                o("add"),
                o("lan0"),
                o("10.5.0.2"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            Some(1000),
            "refusing to change 'lan0': it is not a TUN/TAP device owned by uid 1000",
        ),
        (
            vec![
                o("4"),
                o("add"),
                o("tapn"),
                o("10.5.0.2"),
                o("255.255.255.0"),
            ],
            Reply::Stream,
            Some(1000),
            "not a TUN/TAP device owned by uid 1000",
        ),
    ];
    h.refuses(&cases);
}

/// tuntap up: a bad gate, extra arguments, fd 1 not the kernel's datagram socket.
fn bad_tuntap_up_calls_are_refused() {
    let h = Hostile::new();
    let o = |s: &'static str| OsStr::new(s);
    let cases: Vec<Refusal<'_>> = vec![
        (
            vec![o("4"), o("tuntap"), o("up"), o("010.0.0.1")],
            Reply::Datagram,
            None,
            "argv[4]: expected an IPv4 address",
        ),
        (
            vec![o("4"), o("tuntap"), o("up"), o("224.0.0.1")],
            Reply::Datagram,
            None,
            "refusing gate address 224.0.0.1",
        ),
        (
            vec![o("4"), o("tuntap"), o("up"), o("10.5.0.1"), o("extra")],
            Reply::Datagram,
            None,
            "Too many arguments",
        ),
        (
            vec![o("4"), o("tuntap"), o("up"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "must be the kernel's unix datagram socket",
        ),
    ];
    h.refuses(&cases);
}

/// ethertap: fd numbers and device names, a data fd that is open but a file; slip up
/// without its tty.
fn bad_ethertap_and_slip_calls_are_refused() {
    let h = Hostile::new();
    let o = |s: &'static str| OsStr::new(s);
    let cases: Vec<Refusal<'_>> = vec![
        // ethertap: fd numbers and device names.
        (
            vec![o("4"), o("ethertap"), o("tap0"), o("1"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "argv[4]: expected a file descriptor number",
        ),
        (
            vec![o("4"), o("ethertap"), o("tap0"), o("99"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "data fd 99 is not a unix datagram socket (it is not open)",
        ),
        (
            vec![o("4"), o("ethertap"), o("tap0"), o("2"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "argv[4]",
        ),
        (
            vec![o("4"), o("ethertap"), o("lan0"), o("5"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "argv[3]: expected a tap device name",
        ),
        (
            vec![o("4"), o("ethertap"), o("tap0"), o("0x5"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "argv[4]",
        ),
        // slip up needs the tty on stdin.
        (
            vec![o("4"), o("slip"), o("up"), o("10.5.0.1")],
            Reply::Stream,
            None,
            "stdin is not a terminal",
        ),
    ];
    h.refuses(&cases);
    // A data fd that is open but a file, not a socket.
    let script = format!(
        "exec 5</etc/hostname; exec {} 4 ethertap tap0 5 10.5.0.1",
        h.ours.display()
    );
    let (code, text) = h.call(
        Path::new("sh"),
        None,
        &[o("-c"), OsStr::new(&script)],
        Reply::Stream,
    );
    assert_eq!(code, Some(1));
    assert!(
        text.contains("data fd 5 is not a unix datagram socket (it is not a socket)"),
        "{text}"
    );
    assert_eq!(host_state(&h.ns), h.before);
}

/// The owner of a TAP may have the setuid helper configure it; del undoes add.
fn the_owner_of_a_tap_may_configure_it_through_the_setuid_helper() {
    let h = Hostile::new();
    let o = |s: &'static str| OsStr::new(s);
    // The owner of a TAP may have the setuid helper configure it, and only with
    // CAP_NET_ADMIN left: the helper reports what it did, the route is there.
    let (code, text) = h.call(
        &h.suid,
        Some(65534),
        &[
            o("4"),
            o("add"),
            o("tapn"),
            o("10.5.0.2"),
            o("255.255.255.0"),
        ],
        Reply::Stream,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("* ip route add 10.5.0.2/32 dev tapn"),
        "{text}"
    );
    assert!(h.ns.sh("ip route").contains("10.5.0.2 dev tapn"));
    assert!(h.ns.sh("ip neigh show proxy").contains("10.5.0.2 dev lan0"));
    let (code, _) = h.call(
        &h.suid,
        Some(65534),
        &[
            o("4"),
            o("del"),
            o("tapn"),
            o("10.5.0.2"),
            o("255.255.255.0"),
        ],
        Reply::Stream,
    );
    assert_eq!(code, Some(0));
    assert_eq!(host_state(&h.ns), h.before, "del undoes add");
}

/// Dry runs, by flag or by environment, of every form: the plan, nothing applied.
fn dry_runs_print_the_plan_and_apply_nothing() {
    let h = Hostile::new();
    // Dry runs of the device forms print their plans and create nothing.
    for (args, expect) in [
        (
            "4 tuntap up 10.5.0.1",
            "* ip addr add 10.5.0.1/32 dev tap%d\n* ip link set dev tap%d up\n* sysctl -w net.ipv4.ip_forward=1\n",
        ),
        (
            "4 ethertap tap7 5 10.5.0.1",
            "* ip link set dev tap7 mtu 1500\n* ip addr add 10.5.0.1/32 dev tap7\n",
        ),
    ] {
        let out =
            h.ns.sh_output(&format!("{} --dry-run {args}", h.ours.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args}: {stdout}");
        assert!(stdout.contains(expect), "{args}: {stdout}");
        assert_eq!(host_state(&h.ns), h.before, "{args}");
    }

    // Dry run, by flag or by environment: the plan, nothing applied.
    let out = h.ns.sh_output(&format!(
        "UML_NET_DRY_RUN=1 {} 4 add tapn 10.5.0.2 255.255.255.0",
        h.ours.display()
    ));
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("* ip route add 10.5.0.2/32 dev tapn\n")
    );
    assert_eq!(host_state(&h.ns), h.before);
    // Dry run: the plan, nothing applied.
    let out = h.ns.sh_output(&format!(
        "{} --dry-run 4 add tapn 10.5.0.2 255.255.255.0",
        h.ours.display()
    ));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "* ip route add 10.5.0.2/32 dev tapn\n\
         * sysctl -w net.ipv4.conf.tapn.proxy_arp=1\n\
         * ip neigh add proxy 10.5.0.2 dev lan0\n"
    );
    assert_eq!(host_state(&h.ns), h.before);
}

/// Boots a guest with `eth0=ethertap,tap0,,10.9.5.1` and the given helper directory
/// first in PATH; the guest pings the gate, says the result, then waits for `done`.
fn ethertap_guest(ns: &Netns, tmp: &TempDir, name: &str, helpers: &Path) -> UmlGuest {
    let done = tmp.join(&format!("{name}.done"));
    let script = format!(
        "ip addr add 10.9.5.2/24 dev eth0\n\
         if ip link set eth0 up; then say 'UP ok'; else say 'UP fail'; fi\n\
         if ping -c 3 -W 2 10.9.5.1 >/dev/null 2>&1; then say 'RESULT gate ok'; else say 'RESULT gate fail'; fi\n\
         {}\n\
         ip link set eth0 down\n",
        wait_file(&done)
    );
    let eth = ["eth0=ethertap,tap0,,10.9.5.1".to_string()];
    UmlGuest::boot(UmlBoot {
        netns: ns,
        dir: tmp.path(),
        name,
        eth: &eth,
        script: &script,
        path_prefix: Some(helpers),
    })
}

fn ethertap_real_uml_works_with_ours_and_not_with_the_original() {
    let tmp = TempDir::new("umlnet-ethertap");

    // The original helper: this host has no ethertap driver, so the device never comes up.
    if Path::new("/usr/bin/uml_net").exists() {
        let ns = Netns::new("umlnet-etap-orig");
        let mut guest = ethertap_guest(&ns, &tmp, "orig", &original_helper_dir(&tmp));
        assert_eq!(
            guest.wait_said("RESULT", Duration::from_secs(60)),
            "RESULT gate fail"
        );
        assert!(
            guest.said().contains(&"UP fail".to_string()),
            "{:?}",
            guest.said()
        );
        let console = guest.console();
        assert!(
            console.contains("etap_tramp : uml_net failed")
                || console.contains("etap_tramp failed"),
            "the kernel reports the original helper's failure:\n{console}"
        );
        touch(&tmp.join("orig.done"));
        guest.finish(Duration::from_secs(30));
    }

    // Ours: ethertap emulated on a TAP device named tap0.
    let ns = Netns::new("umlnet-etap");
    add_lan(&ns, "10.9.5.100/24");
    let mut guest = ethertap_guest(&ns, &tmp, "ours", &helper_dir(&tmp));
    assert_eq!(
        guest.wait_said("RESULT", Duration::from_secs(60)),
        "RESULT gate ok",
        "console:\n{}",
        guest.console()
    );
    let s = state(&ns);
    assert!(s.contains("tap0"), "{s}");
    assert!(s.contains("inet 10.9.5.1/32"), "gate on tap0:\n{s}");
    assert!(
        s.contains("10.9.5.2 dev tap0"),
        "host route from the ADD message:\n{s}"
    );
    assert!(
        s.contains("10.9.5.2 dev lan0 proxy"),
        "published ARP entry:\n{s}"
    );
    assert!(
        ping(&ns, "10.9.5.2"),
        "host pings the guest through the relay"
    );
    // The guest takes the device down: DEL, then the helper goes, with its TAP.
    touch(&tmp.join("ours.done"));
    guest.finish(Duration::from_secs(30));
    wait_for("tap0 to go", Duration::from_secs(10), || {
        !ns.sh("ip -o link show").contains("tap0")
    });
    assert!(
        !ns.sh("ip neigh show proxy").contains("10.9.5.2"),
        "DEL withdrew the entry"
    );
}

fn slirp_real_uml_reaches_the_host_over_slip_through_our_bridge() {
    let (tmp, ns) = dir_and_netns("umlnet-slirp");
    add_lan(&ns, "10.9.7.100/24");
    let done = tmp.join("done");
    let script = format!(
        "ip addr add 10.9.7.2/24 dev eth0\n\
         ip link set eth0 up\n\
         say \"LINK $(cat /sys/class/net/eth0/type)\"\n\
         if ping -c 3 -W 2 10.9.7.1 >/dev/null 2>&1; then say 'RESULT host ok'; else say 'RESULT host fail'; fi\n\
         {}\n",
        wait_file(&done)
    );
    let umlnet = bin!("umlnet");
    let eth = [format!(
        "eth0=slirp,,{},slip-bridge,--local,10.9.7.1,--peer,10.9.7.2",
        umlnet.display()
    )];
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: tmp.path(),
        name: "slirp",
        eth: &eth,
        script: &script,
        path_prefix: None,
    });
    assert_eq!(
        guest.wait_said("RESULT", Duration::from_secs(60)),
        "RESULT host ok",
        "console:\n{}",
        guest.console()
    );
    // ARPHRD_SLIP is 256: the guest's device really is a SLIP line.
    assert!(
        guest.said().contains(&"LINK 256".to_string()),
        "{:?}",
        guest.said()
    );
    let s = state(&ns);
    assert!(s.contains("inet 10.9.7.1 peer 10.9.7.2/32"), "{s}");
    assert!(s.contains("10.9.7.2 dev lan0 proxy"), "{s}");
    assert!(ping(&ns, "10.9.7.2"), "host pings the guest over SLIP");
    touch(&done);
    guest.finish(Duration::from_secs(30));
    wait_for(
        "the bridge's TUN device to go",
        Duration::from_secs(10),
        || !ns.sh("ip -o link show").contains("umlsl"),
    );
    assert!(
        !ns.sh("ip neigh show proxy").contains("10.9.7.2"),
        "the bridge withdrew its entry"
    );
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 ICMP echo request `src` → `dst`.
fn echo_request(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x55, 0x66, 0, 1];
    icmp.extend_from_slice(b"over the pty");
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let len = (20 + icmp.len()) as u16;
    ip[2..4].copy_from_slice(&len.to_be_bytes());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}

fn slip_up_without_n_slip_bridges_the_pty_in_user_space() {
    use std::io::Write;
    use umlnet_core::slip::{Decoder, encode, max_encoded_len};
    let ns = Netns::new("umlnet-slipup");
    add_lan(&ns, "10.9.8.100/24");
    let ours = bin!("uml_net");
    let (master, slave) = umlnet_linux::sys::pty::open_pair().unwrap();
    let (mut reply, theirs) = UnixStream::pair().unwrap();
    let mut cmd = ns.command(&ours);
    cmd.args(["4", "slip", "up", "10.9.8.1"])
        .stdin(Stdio::from(slave))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
    let status = cmd.status().unwrap();
    drop(cmd);
    assert!(status.success());
    let mut got = Vec::new();
    reply
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = reply.read_to_end(&mut got);
    let text = umlnet_core::helper::parse_output_block(&got)
        .unwrap()
        .text
        .to_vec();
    let text = String::from_utf8(text).unwrap();
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("use interface "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no interface reported in {text:?}"))
        .to_string();
    assert!(
        text.contains("no SLIP line discipline on this host"),
        "{text}"
    );
    assert!(
        text.contains(&format!("* ip addr add 10.9.8.1/32 dev {name}")),
        "{text}"
    );
    assert!(
        ns.sh(&format!("ip -d link show {name}"))
            .contains("tun type tun")
    );

    // What the kernel would do next with that name: the guest's address.
    let out = ns.sh_output(&format!(
        "{} 4 add {name} 10.9.8.2 255.255.255.0",
        ours.display()
    ));
    assert!(out.status.success(), "{out:?}");

    // The guest pings the host over the line; the host answers over the line.
    let mut master = std::fs::File::from(master);
    let req = echo_request([10, 9, 8, 2], [10, 9, 8, 1]);
    let mut wire = vec![0u8; max_encoded_len(req.len())];
    let n = encode(&req, &mut wire).unwrap();
    let reader = {
        let m = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut m = m;
            let mut dec = Decoder::new([0u8; 1500]);
            let mut buf = [0u8; 2048];
            loop {
                let k = match m.read(&mut buf) {
                    Ok(0) | Err(_) => return None,
                    Ok(k) => k,
                };
                let mut found = None;
                dec.decode(&buf[..k], |f| {
                    if let Ok(p) = f
                        && p.len() >= 28
                        && p[9] == 1
                        && p[20] == 0
                    {
                        found.get_or_insert(p.to_vec());
                    }
                });
                if found.is_some() {
                    return found;
                }
            }
        })
    };
    for _ in 0..10 {
        master.write_all(&wire[..n]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        if reader.is_finished() {
            break;
        }
    }
    let echo = reader.join().unwrap().expect("an echo reply over the pty");
    assert_eq!(&echo[12..16], &[10, 9, 8, 1]);
    assert_eq!(&echo[16..20], &[10, 9, 8, 2]);

    // The guest hangs up: the bridge and its TUN device go.
    drop(master);
    wait_for(
        "the bridge's TUN device to go",
        Duration::from_secs(10),
        || !ns.sh("ip -o link show").contains(&name),
    );
}

fn slip_with_the_real_6_1_kernel_fails_at_siocgifname_and_leaves_nothing() {
    let (tmp, ns) = dir_and_netns("umlnet-slip");
    let script = "ip addr add 10.9.9.2/24 dev eth0\n\
                  if ip link set eth0 up; then say 'UP ok'; else say 'UP fail'; fi\n";
    let helpers = helper_dir(&tmp);
    let eth = ["eth0=slip,10.9.9.1".to_string()];
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: tmp.path(),
        name: "slip",
        eth: &eth,
        script,
        path_prefix: Some(&helpers),
    });
    assert_eq!(guest.wait_said("UP", Duration::from_secs(60)), "UP fail");
    // Our helper succeeded (no slip_tramp failure); the kernel then asked the pty for
    // its interface name, which only an N_SLIP tty can answer (ENOTTY = 25).
    let console = guest.console();
    assert!(console.contains("get_ifname failed, err = 25"), "{console}");
    assert!(!console.contains("slip_tramp failed"), "{console}");
    guest.finish(Duration::from_secs(30));
    wait_for(
        "the bridge to end with the pty",
        Duration::from_secs(10),
        || !ns.sh("ip -o link show").contains("umlsl"),
    );
}

fn tuntap_without_a_gate_gets_an_unconfigured_tap_where_the_original_fails() {
    let tmp = TempDir::new("umlnet-nogate");
    let script = |done: &Path| {
        format!(
            "ip addr add 10.9.3.2/24 dev eth0\n\
             if ip link set eth0 up; then say 'UP ok'; else say 'UP fail'; fi\n\
             {}\n",
            wait_file(done)
        )
    };
    let eth = ["eth0=tuntap,,,".to_string()];
    for (name, helpers, works) in [
        ("orig", original_helper_dir(&tmp), false),
        ("ours", helper_dir(&tmp), true),
    ] {
        if !works && !Path::new("/usr/bin/uml_net").exists() {
            continue;
        }
        let ns = Netns::new(&format!("umlnet-nogate-{name}"));
        let done = tmp.join(&format!("{name}.done"));
        let script = script(&done);
        let mut guest = UmlGuest::boot(UmlBoot {
            netns: &ns,
            dir: tmp.path(),
            name,
            eth: &eth,
            script: &script,
            path_prefix: Some(&helpers),
        });
        let up = guest.wait_said("UP", Duration::from_secs(60));
        if works {
            assert_eq!(up, "UP ok", "console:\n{}", guest.console());
            // The host side is the user's to set up, as the UML networking page says.
            let s = state(&ns);
            assert!(s.contains("tap0") && !s.contains("inet 10.9.3"), "{s}");
            ns.sh("ip addr add 10.9.3.1/24 dev tap0 && ip link set tap0 up");
            assert!(ping(&ns, "10.9.3.2"), "host pings the guest");
        } else {
            assert_eq!(up, "UP fail");
            assert!(
                guest.console().contains("tuntap_open_tramp"),
                "{}",
                guest.console()
            );
        }
        touch(&done);
        guest.finish(Duration::from_secs(30));
    }
}

fn tuntap_for_an_ordinary_user_through_the_setuid_helper() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("umlnet-suid");
    let ns = Netns::new("umlnet-suid");
    add_lan(&ns, "10.9.4.100/24");
    // The helper as Debian installs it: setuid root, first in PATH.
    let helpers = tmp.join("helpers");
    std::fs::create_dir_all(&helpers).unwrap();
    let suid = setuid_copy(&tmp);
    std::fs::rename(&suid, helpers.join("uml_net")).unwrap();
    // Everything the unprivileged kernel writes lives in a directory of its own.
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let out = home.join("guest.out");
    let done = tmp.join("done");
    let init = home.join("init.sh");
    std::fs::write(
        &init,
        format!(
            "#!/bin/sh\n\
             export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
             mount -t proc proc /proc 2>/dev/null\n\
             say() {{ echo \"$*\" >> '{out}'; }}\n\
             ip link set lo up\n\
             ip addr add 10.9.4.2/24 dev eth0\n\
             ip link set eth0 up\n\
             if ping -c 3 -W 2 10.9.4.1 >/dev/null 2>&1; then say 'RESULT gate ok'; else say 'RESULT gate fail'; fi\n\
             {}\n\
             say DONE\n\
             echo o > /proc/sysrq-trigger\n\
             sleep 30\n",
            wait_file(&done),
            out = out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The administrator grants the user a TAP with that gate, the guest's address, and
    // its published entry on the LAN.
    let mount = PolicyMount::new(
        &ns,
        &tmp,
        Some(
            "allow user nobody op tuntap\nallow user nobody op address\n\
             allow user nobody gate 10.9.4.1\nallow user nobody guest 10.9.4.0/24\n\
             allow user nobody publish lan0\nallow user nobody forward\nallow user nobody devices 1\n",
        ),
    );
    let launch = umlnet_testkit::uml_launch();
    let mut cmd = mount.command("setpriv");
    launch.apply_env(&mut cmd);
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "linux.uml",
    ])
    .args(launch.args.iter())
    .args([
        "mem=96M",
        "root=/dev/root",
        "rootfstype=hostfs",
        "rootflags=/",
        "rw",
        "quiet",
        "umid=suid",
        &format!("uml_dir={}/", home.display()),
        &format!("init={}", init.display()),
        "con=null",
        "con0=fd:0,fd:1",
        "eth0=tuntap,,,10.9.4.1",
    ])
    .env(
        "PATH",
        format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", helpers.display()),
    )
    .env("TMPDIR", &home)
    .env("HOME", &home);
    let log = tmp.join("console.log");
    let _uml = umlnet_testkit::Daemon::spawn("linux.uml as nobody", &mut cmd, &log);
    let said = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_for("the guest's result", Duration::from_secs(60), || {
        said().contains("RESULT")
    });
    assert!(
        said().contains("RESULT gate ok"),
        "{}\nconsole:\n{}",
        said(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // The tap is the user's, and the helper did the root part of the setup.
    let d = ns.sh("ip -d link show tap0");
    assert!(d.contains("user nobody") || d.contains("user 65534"), "{d}");
    let s = state(&ns);
    assert!(
        s.contains("10.9.4.2 dev tap0") && s.contains("10.9.4.2 dev lan0 proxy"),
        "{s}"
    );
    assert!(
        ping(&ns, "10.9.4.2"),
        "host pings the unprivileged user's guest"
    );
    touch(&done);
    wait_for("the guest to finish", Duration::from_secs(30), || {
        said().contains("DONE")
    });
}
