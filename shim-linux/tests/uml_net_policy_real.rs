//! The setuid `uml_net` as an ordinary user (uid 65534 through `setpriv` and a
//! setuid-root copy) under the administrator's policy: the high and medium findings of
//! the review refused with one clear line and nothing changed in the namespace, the
//! same requests granted by a policy working, the ledger, and the privileges the
//! long-lived helpers keep. The policy appears at its fixed path
//! (`/etc/umlnet/uml_net.conf`) through a private mount namespace, in which `/run` (the
//! ledger) is the test's too.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use umlnet_testkit::{Netns, TempDir, bin, real, run_cases, wait_for};

#[path = "support/policy_mount.rs"]
mod policy_mount;
use policy_mount::{POLICY, PolicyMount};

fn main() {
    let needs: &[&str] = &["ip", "setpriv", "unshare", "nsenter"];
    run_cases(vec![
        real(
            "without_a_trusted_policy_an_ordinary_user_is_refused_everything",
            needs,
            without_a_trusted_policy_an_ordinary_user_is_refused_everything,
        ),
        real(
            "high_severity_requests_are_refused_and_change_nothing",
            needs,
            high_severity_requests_are_refused_and_change_nothing,
        ),
        real(
            "medium_severity_requests_are_refused_and_change_nothing",
            needs,
            medium_severity_requests_are_refused_and_change_nothing,
        ),
        real(
            "the_same_requests_granted_by_a_policy_work",
            needs,
            the_same_requests_granted_by_a_policy_work,
        ),
        real(
            "the_slip_bridge_of_an_ordinary_user_has_no_capabilities",
            needs,
            the_slip_bridge_of_an_ordinary_user_has_no_capabilities,
        ),
        real(
            "the_ledger_cleans_up_after_vanished_devices_and_namespaces",
            needs,
            the_ledger_cleans_up_after_vanished_devices_and_namespaces,
        ),
        real(
            "new_devices_are_never_an_existing_one",
            needs,
            new_devices_are_never_an_existing_one,
        ),
        real(
            "actions_follow_the_pinned_device_not_its_name",
            needs,
            actions_follow_the_pinned_device_not_its_name,
        ),
        real(
            "check_policy_validates_and_prints_what_it_grants",
            needs,
            check_policy_validates_and_prints_what_it_grants,
        ),
    ]);
}

const NOBODY: u32 = 65534;

/// A namespace with a LAN `lan0` (10.5.0.100/24) whose router 10.5.0.1 is the default
/// gateway and a route's gateway, a known neighbour 10.5.0.50, a second LAN `lan7`
/// (10.7.0.100/24), forwarding off, a TAP `tapn` of uid 65534; the setuid copy of our
/// helper; the private mount namespace with `policy`.
struct Host {
    mount: PolicyMount,
    ns: Netns,
    tmp: TempDir,
    suid: PathBuf,
    before: String,
}

impl Host {
    fn new(tag: &str, policy: Option<&str>) -> Host {
        let tmp = TempDir::new(tag);
        let ns = Netns::new(tag);
        ns.sh(
            "ip link add lan0 type veth peer name lan0peer && ip addr add 10.5.0.100/24 dev lan0 && \
             ip link set lan0 up && ip link set lan0peer up && \
             ip link add lan7 type veth peer name lan7peer && ip addr add 10.7.0.100/24 dev lan7 && \
             ip link set lan7 up && ip link set lan7peer up && \
             ip route add default via 10.5.0.1 dev lan0 && \
             ip route add 192.0.2.0/24 via 10.5.0.1 dev lan0 && \
             ip neigh add 10.5.0.50 lladdr 02:00:00:00:00:50 dev lan0 nud permanent && \
             echo 0 > /proc/sys/net/ipv4/ip_forward",
        );
        ns.sh(&format!(
            "{} -t tapn -u {NOBODY} >/dev/null && ip link set tapn up",
            bin!("tunctl").display()
        ));
        let suid = setuid_copy(&tmp);
        let mount = PolicyMount::new(&ns, &tmp, policy);
        let before = host_state(&ns);
        Host {
            mount,
            ns,
            tmp,
            suid,
            before,
        }
    }

    /// Runs the setuid copy as `user` (root when `None`), fd 1 on a socket of the
    /// kind `reply`; the exit code, the reply text, and the fd a `tuntap up` passed.
    fn call(&self, user: Option<u32>, args: &[&str], reply: Reply) -> Call {
        let mut cmd = match user {
            Some(uid) => {
                let mut c = self.mount.command("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .arg("--clear-groups")
                    .arg(&self.suid);
                c
            }
            None => self.mount.command(&self.suid),
        };
        cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
        let mut buf = vec![0u8; 65536];
        match reply {
            Reply::Stream => {
                let (mut ours, theirs) = UnixStream::pair().unwrap();
                cmd.stdout(Stdio::from(OwnedFd::from(theirs)));
                let out = cmd.output().unwrap();
                drop(cmd);
                ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut got = Vec::new();
                while let Ok(n) = ours.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                // An ethertap answer starts with its status byte.
                let body = match got.first() {
                    Some(0 | 1) if args.get(1) == Some(&"ethertap") => &got[1..],
                    _ => &got[..],
                };
                let text = umlnet_core::helper::parse_output_block(body)
                    .map(|b| String::from_utf8_lossy(b.text).into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(&got).into_owned());
                Call {
                    code: out.status.code(),
                    text,
                    fd: None,
                }
            }
            Reply::Datagram => {
                let (ours, theirs) = UnixDatagram::pair().unwrap();
                cmd.stdout(Stdio::from(OwnedFd::from(theirs)));
                let out = cmd.output().unwrap();
                drop(cmd);
                ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let (n, fd) = umlnet_linux::sys::fdpass::recv_with_fd(ours.as_fd(), &mut buf)
                    .unwrap_or((0, None));
                let text = match umlnet_core::helper::TuntapUpReply::parse(&buf[..n], fd.is_some())
                {
                    Ok(umlnet_core::helper::TuntapUpReply::Failed { text }) => {
                        String::from_utf8_lossy(text).into_owned()
                    }
                    Ok(umlnet_core::helper::TuntapUpReply::Ready { name, text }) => {
                        format!("READY {}\n{}", name.as_str(), String::from_utf8_lossy(text))
                    }
                    Err(e) => format!("<bad reply: {e}>"),
                };
                Call {
                    code: out.status.code(),
                    text,
                    fd,
                }
            }
        }
    }

    /// Each call (as uid 65534) is refused with one line containing `expect`, and
    /// changes nothing in the namespace.
    fn refuses(&self, cases: &[(&[&str], Reply, &str)]) {
        for (args, reply, expect) in cases {
            let c = self.call(Some(NOBODY), args, *reply);
            assert_ne!(
                c.code,
                Some(0),
                "{args:?} must be refused; said {:?}",
                c.text
            );
            assert!(c.fd.is_none(), "{args:?}: a refusal passes no fd");
            assert!(
                c.text.contains(expect),
                "{args:?}: expected {expect:?} in {:?}",
                c.text
            );
            assert!(
                c.text.trim_end().lines().count() <= 2,
                "{args:?}: a refusal is one clear line, got {:?}",
                c.text
            );
            assert_eq!(
                host_state(&self.ns),
                self.before,
                "{args:?} changed the host"
            );
        }
    }
}

struct Call {
    code: Option<i32>,
    text: String,
    fd: Option<OwnedFd>,
}

#[derive(Clone, Copy)]
enum Reply {
    Stream,
    Datagram,
}

/// A setuid-root copy of our `uml_net`, as a distribution installs the helper.
fn setuid_copy(tmp: &TempDir) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = tmp.join("uml_net_setuid");
    std::fs::copy(bin!("uml_net"), &p).unwrap();
    std::os::unix::fs::chown(&p, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o4755)).unwrap();
    p
}

/// Everything a helper call could change in the namespace: devices (with their
/// owners), addresses, routes, neighbours, proxy entries, forwarding and proxy ARP.
fn host_state(ns: &Netns) -> String {
    ns.sh(
        "ip -d -o link show | sed -e 's/^[0-9]*: //'; ip -4 -o addr show; \
         ip -4 route show table all; ip -4 neigh show; ip neigh show proxy; \
         cat /proc/sys/net/ipv4/ip_forward; grep -H . /proc/sys/net/ipv4/conf/*/proxy_arp",
    )
}

fn without_a_trusted_policy_an_ordinary_user_is_refused_everything() {
    let h = Host::new("umlnet-nopolicy", None);
    let missing = format!("refusing user nobody (uid {NOBODY}): cannot read policy file {POLICY}");
    h.refuses(&[
        (
            &["4", "add", "tapn", "10.7.0.2", "255.255.255.0"],
            Reply::Stream,
            &missing,
        ),
        (
            &["4", "del", "tapn", "10.7.0.2", "255.255.255.0"],
            Reply::Stream,
            &missing,
        ),
        (
            &["4", "tuntap", "up", "10.7.0.1"],
            Reply::Datagram,
            &missing,
        ),
        (
            &["4", "ethertap", "tap0", "5", "10.7.0.1"],
            Reply::Stream,
            &missing,
        ),
        (&["4", "slip", "up", "10.7.0.1"], Reply::Stream, &missing),
    ]);
    // A policy that grants everything is still refused when it is not trusted.
    h.mount.set_policy(
        "allow everyone op all\nallow everyone guest 10.7.0.0/24\nallow everyone publish lan7\n",
    );
    let add: &[&str] = &["4", "add", "tapn", "10.7.0.2", "255.255.255.0"];
    h.mount.sh(&format!("chmod 666 {POLICY}"));
    h.refuses(&[(
        add,
        Reply::Stream,
        "may be written by group or others (mode 666)",
    )]);
    h.mount
        .sh(&format!("chmod 644 {POLICY} && chown {NOBODY} {POLICY}"));
    h.refuses(&[(
        add,
        Reply::Stream,
        &format!("is owned by uid {NOBODY}, not root"),
    )]);
    h.mount
        .sh(&format!("chown 0 {POLICY} && chmod 775 /etc/umlnet"));
    h.refuses(&[(
        add,
        Reply::Stream,
        "its directory /etc/umlnet is not root-owned or may be written",
    )]);
    // An include of an untrusted file taints the whole policy.
    h.mount.sh(&format!(
        "chmod 755 /etc/umlnet && echo 'allow everyone forward' > /etc/umlnet/extra.conf && \
         chmod 664 /etc/umlnet/extra.conf && echo 'include /etc/umlnet/extra.conf' >> {POLICY}"
    ));
    h.refuses(&[(
        add,
        Reply::Stream,
        "/etc/umlnet/extra.conf may be written by group or others",
    )]);
    // Root is not restricted by any of this: the same request works.
    let c = h.call(None, add, Reply::Stream);
    assert_eq!(c.code, Some(0), "{}", c.text);
    assert!(h.ns.sh("ip route").contains("10.7.0.2 dev tapn"));
}

/// The policy of the refusal tests: a gate, a guest prefix, one LAN device for
/// published entries (not the one the guests' LAN is on), one device.
const NARROW: &str = "\
allow user nobody op all
allow user nobody gate 10.7.0.1
allow user nobody guest 10.7.0.0/24
allow user nobody publish lan1
allow user nobody devices 1
";

fn high_severity_requests_are_refused_and_change_nothing() {
    let h = Host::new("umlnet-high", Some(NARROW));
    let no_rule = |r: &str| format!("{POLICY} has no rule 'allow user nobody {r}'");
    h.refuses(&[
        // A host route to the caller's TAP for an off-link address behind the gateway
        // (a public resolver, a server behind the router).
        (
            &["4", "add", "tapn", "192.0.2.53", "255.255.255.0"],
            Reply::Stream,
            &no_rule("guest 192.0.2.53"),
        ),
        (
            &["4", "add", "tapn", "9.9.9.9", "255.255.255.255"],
            Reply::Stream,
            &no_rule("guest 9.9.9.9"),
        ),
        // The router's address as the gate of tuntap, ethertap and slip.
        (
            &["4", "tuntap", "up", "10.5.0.1"],
            Reply::Datagram,
            &no_rule("gate 10.5.0.1"),
        ),
        (
            &["4", "ethertap", "tap0", "5", "10.5.0.1"],
            Reply::Stream,
            &no_rule("gate 10.5.0.1"),
        ),
        (
            &["4", "slip", "up", "10.5.0.1"],
            Reply::Stream,
            &no_rule("gate 10.5.0.1"),
        ),
        // Published ARP on a LAN device the policy does not name, and on every device
        // (netmask 0.0.0.0).
        (
            &["4", "add", "tapn", "10.7.0.2", "255.255.255.0"],
            Reply::Stream,
            &no_rule("publish lan7"),
        ),
        (
            &["4", "add", "tapn", "10.7.0.3", "0.0.0.0"],
            Reply::Stream,
            "netmask 0.0.0.0: it would be published on every LAN device",
        ),
    ]);
    // ethertap squatting: one device is allowed; the first (kept by a live relay)
    // counts, so a second name is refused.
    h.mount
        .set_policy(&format!("{NARROW}allow user nobody publish lan7\n"));
    let relay = EthertapRelay::start(&h, "tap0", "10.7.0.1");
    assert!(h.ns.sh("ip -o link show").contains("tap0"));
    let before = host_state(&h.ns);
    let c = h.call(Some(NOBODY), &["4", "tuntap", "up"], Reply::Datagram);
    assert_ne!(c.code, Some(0));
    assert!(
        c.text
            .contains("refusing another device for user nobody (uid 65534): they hold 1")
            && c.text.contains("allows 1"),
        "{}",
        c.text
    );
    assert_eq!(
        host_state(&h.ns),
        before,
        "a refused device changed the host"
    );
    // Forwarding was not granted: it stayed off even though the relay set up a gate.
    assert_eq!(h.ns.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "0");
    assert!(
        relay.hello.contains("ip_forward left off"),
        "{}",
        relay.hello
    );
    drop(relay);
}

/// An ethertap relay run by uid 65534: the kernel's ends of the control and data
/// sockets, and the helper's first answer.
struct EthertapRelay {
    control: UnixStream,
    _data: std::os::unix::net::UnixDatagram,
    child: std::process::Child,
    hello: String,
}

impl EthertapRelay {
    fn start(h: &Host, dev: &str, gate: &str) -> EthertapRelay {
        match EthertapRelay::try_start(h, dev, gate) {
            Ok(r) => r,
            Err(text) => panic!("ethertap {dev} refused: {text}"),
        }
    }

    /// Starts the relay; the refusal's text when the helper refuses.
    fn try_start(h: &Host, dev: &str, gate: &str) -> Result<EthertapRelay, String> {
        use std::os::fd::AsRawFd;
        let (control, theirs) = UnixStream::pair().unwrap();
        let (data, data_theirs) = UnixDatagram::pair().unwrap();
        let data_fd = data_theirs.as_raw_fd();
        let script = format!(
            "exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups {} 4 ethertap {dev} {data_fd} {gate}",
            h.suid.display()
        );
        // The data socket must stay open across exec at its number.
        nix::fcntl::fcntl(
            data_theirs.as_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .unwrap();
        let child = h
            .mount
            .command("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::from(OwnedFd::from(theirs)))
            .spawn()
            .unwrap();
        drop(data_theirs);
        let mut control = control;
        control
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // The status byte, then an output block (its length, then the text).
        while got.len() < 5
            || got.len() < 5 + i32::from_ne_bytes(got[1..5].try_into().unwrap()).max(0) as usize
        {
            match control.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let hello = umlnet_core::helper::parse_output_block(got.get(1..).unwrap_or(&[]))
            .map(|b| String::from_utf8_lossy(b.text).into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(&got).into_owned());
        let mut relay = EthertapRelay {
            control,
            _data: data,
            child,
            hello,
        };
        if got.first() == Some(&1) {
            Ok(relay)
        } else {
            let _ = relay.child.wait();
            Err(std::mem::take(&mut relay.hello))
        }
    }
}

impl EthertapRelay {
    /// Sends an address message as the kernel does; the helper's answer text.
    fn message(&mut self, op: umlnet_core::helper::ChangeOp, addr: &str, netmask: &str) -> String {
        use std::io::Write;
        use umlnet_core::helper::{ADDR_CHANGE_LEN, AddrChange, AddrChangeRepr};
        let mut buf = [0u8; ADDR_CHANGE_LEN];
        AddrChangeRepr {
            op,
            addr: addr.parse().unwrap(),
            netmask: netmask.parse().unwrap(),
        }
        .emit(&mut AddrChange::new_unchecked(&mut buf[..]));
        self.control.write_all(&buf).unwrap();
        let mut len = [0u8; 4];
        self.control.read_exact(&mut len).unwrap();
        let mut text = vec![0u8; i32::from_ne_bytes(len).max(0) as usize];
        self.control.read_exact(&mut text).unwrap();
        String::from_utf8_lossy(&text).into_owned()
    }
}

impl Drop for EthertapRelay {
    fn drop(&mut self) {
        let _ = self.control.shutdown(std::net::Shutdown::Both);
        let _ = self.child.wait();
    }
}

fn status_line(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn medium_severity_requests_are_refused_and_change_nothing() {
    let policy = format!("{NARROW}allow user nobody publish lan7\n");
    let h = Host::new("umlnet-medium", Some(&policy));
    // Root publishes a guest on the user's TAP; the user may not withdraw it.
    let c = h.call(
        None,
        &["4", "add", "tapn", "10.7.0.5", "255.255.255.0"],
        Reply::Stream,
    );
    assert_eq!(c.code, Some(0), "{}", c.text);
    // Another route to the same address that the ledger does not know (made by hand).
    h.ns.sh(
        "ip route add 10.7.0.6/32 dev tapn && ip route add 10.7.0.7/32 dev lan0 && \
         ip route add 10.7.0.8/32 dev lan0 table 100",
    );
    let h = Host {
        before: host_state(&h.ns),
        ..h
    };
    h.refuses(&[
        // del withdraws only the caller's own entries.
        (
            &["4", "del", "tapn", "10.7.0.5", "255.255.255.0"],
            Reply::Stream,
            "refusing to remove 10.7.0.5 from tapn: the ledger holds no route of uid 65534",
        ),
        // EEXIST is not success when the existing route is not the caller's.
        (
            &["4", "add", "tapn", "10.7.0.6", "255.255.255.255"],
            Reply::Stream,
            "'ip route add 10.7.0.6/32 dev tapn' failed: File exists",
        ),
        // An address the host already routes elsewhere.
        (
            &["4", "add", "tapn", "10.7.0.7", "255.255.255.0"],
            Reply::Stream,
            "refusing guest address 10.7.0.7: the host already routes it to lan0",
        ),
        // The same in another routing table.
        (
            &["4", "add", "tapn", "10.7.0.8", "255.255.255.255"],
            Reply::Stream,
            "refusing guest address 10.7.0.8: the host already routes it to lan0",
        ),
        // The router and a known neighbour as guests (granted prefix or not).
        (
            &["4", "add", "tapn", "10.5.0.50", "255.255.255.0"],
            Reply::Stream,
            "has no rule 'allow user nobody guest 10.5.0.50'",
        ),
    ]);
    assert!(
        h.mount.ledger().contains("+ route 0 "),
        "{}",
        h.mount.ledger()
    );
    // The ethertap relay of an ordinary user: the process that moves the guest's
    // frames holds no capability at all; the one that applies address messages holds
    // CAP_NET_ADMIN and nothing else.
    let mut relay = EthertapRelay::start(&h, "tap1", "10.7.0.1");
    // Its address messages: the guest's own address is granted; a del for root's
    // guest (published on lan7 for tapn) is refused and leaves it in place.
    use umlnet_core::helper::ChangeOp;
    let said = relay.message(ChangeOp::Add, "10.7.0.9", "255.255.255.255");
    assert!(
        said.contains("* ip route add 10.7.0.9/32 dev tap1"),
        "{said}"
    );
    assert!(h.ns.sh("ip route").contains("10.7.0.9 dev tap1"));
    let said = relay.message(ChangeOp::Del, "10.7.0.5", "255.255.255.0");
    assert!(
        said.contains(
            "refusing to remove 10.7.0.5 from tap1: the ledger holds no route of uid 65534"
        ),
        "{said}"
    );
    assert!(h.ns.sh("ip neigh show proxy").contains("10.7.0.5 dev lan7"));
    let monitor = relay.child.id();
    let frames: Vec<u32> =
        h.ns.pids()
            .into_iter()
            .map(|p| p as u32)
            .filter(|p| *p != monitor && status_line(*p, "Name:") == "uml_net_setuid")
            .collect();
    assert_eq!(frames.len(), 1, "one frame relay: {frames:?}");
    assert_eq!(status_line(frames[0], "CapEff:"), "0000000000000000");
    assert_eq!(status_line(frames[0], "CapPrm:"), "0000000000000000");
    assert_eq!(
        status_line(frames[0], "Uid:")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534"; 4]
    );
    assert_eq!(status_line(monitor, "CapEff:"), "0000000000001000");
    assert_eq!(status_line(monitor, "CapPrm:"), "0000000000001000");
    assert_eq!(status_line(monitor, "Groups:"), "65534");
    drop(relay);
    wait_for("the frame relay to end", Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{}", frames[0])).exists()
    });
}

fn the_same_requests_granted_by_a_policy_work() {
    let policy = "\
allow group nogroup op address
allow user nobody op tuntap
allow user nobody gate 10.7.0.1
allow group nogroup guest 10.7.0.0/24
allow user nobody publish lan7
allow user nobody forward
allow user nobody devices 1
deny user nobody guest 10.7.0.128/25
";
    let h = Host::new("umlnet-granted", Some(policy));
    let add: &[&str] = &["4", "add", "tapn", "10.7.0.2", "255.255.255.0"];
    let c = h.call(Some(NOBODY), add, Reply::Stream);
    assert_eq!(c.code, Some(0), "{}", c.text);
    assert!(h.ns.sh("ip route").contains("10.7.0.2 dev tapn"));
    assert!(h.ns.sh("ip neigh show proxy").contains("10.7.0.2 dev lan7"));
    let ledger = h.mount.ledger();
    assert!(ledger.contains(&format!("+ route {NOBODY} ")), "{ledger}");
    assert!(
        ledger.contains(" 10.7.0.2 ") && ledger.contains(" lan7"),
        "{ledger}"
    );
    // A replay of the caller's own add is fine.
    let c = h.call(Some(NOBODY), add, Reply::Stream);
    assert_eq!(c.code, Some(0), "{}", c.text);
    // A deny wins over the group's allow.
    let c = h.call(
        Some(NOBODY),
        &["4", "add", "tapn", "10.7.0.200", "255.255.255.0"],
        Reply::Stream,
    );
    assert!(
        c.text.contains(
            "denied by /etc/umlnet/uml_net.conf:8 'deny user nobody guest 10.7.0.128/25'"
        ),
        "{}",
        c.text
    );
    let c = h.call(
        Some(NOBODY),
        &["4", "del", "tapn", "10.7.0.2", "255.255.255.0"],
        Reply::Stream,
    );
    assert_eq!(c.code, Some(0), "{}", c.text);
    assert_eq!(host_state(&h.ns), h.before, "del undoes add");
    let left = umlnet_linux::nethelper::ledger::replay(&h.mount.ledger());
    assert!(left.is_empty(), "del forgets what add recorded: {left:?}");

    // tuntap up with the granted gate: a TAP of the user, the gate on it, forwarding on.
    let c = h.call(
        Some(NOBODY),
        &["4", "tuntap", "up", "10.7.0.1"],
        Reply::Datagram,
    );
    assert_eq!(c.code, Some(0), "{}", c.text);
    let fd = c.fd.expect("the TAP's fd");
    let name = c
        .text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("READY ")
        .unwrap()
        .to_string();
    let d = h.ns.sh(&format!(
        "ip -d link show {name}; ip -4 addr show dev {name}"
    ));
    assert!(d.contains("user nobody") || d.contains("user 65534"), "{d}");
    assert!(d.contains("10.7.0.1/32"), "{d}");
    assert_eq!(h.ns.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    // One device only while it lives; when the kernel closes it, the ledger forgets it.
    let c = h.call(
        Some(NOBODY),
        &["4", "tuntap", "up", "10.7.0.1"],
        Reply::Datagram,
    );
    assert!(c.text.contains("they hold 1"), "{}", c.text);
    drop(fd);
    wait_for("the TAP to go", Duration::from_secs(5), || {
        !h.ns.sh("ip -o link show").contains(&name)
    });
    let c = h.call(Some(NOBODY), &["4", "tuntap", "up"], Reply::Datagram);
    assert_eq!(c.code, Some(0), "{}", c.text);
    // The vanished TAP's entry was cleaned up: the ledger holds the new one only.
    let ledger = h.mount.ledger();
    assert_eq!(
        ledger.matches(&format!("+ device {NOBODY} ")).count(),
        1,
        "{ledger}"
    );
}

fn the_slip_bridge_of_an_ordinary_user_has_no_capabilities() {
    let policy =
        "allow user nobody op slip\nallow user nobody gate 10.7.0.1\nallow user nobody devices 1\n";
    let h = Host::new("umlnet-slipcap", Some(policy));
    let (master, slave) = umlnet_linux::sys::pty::open_pair().unwrap();
    let (mut reply, theirs) = UnixStream::pair().unwrap();
    let mut cmd = h.mount.command("setpriv");
    cmd.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
    ])
    .arg(&h.suid)
    .args(["4", "slip", "up", "10.7.0.1"])
    .stdin(Stdio::from(slave))
    .stdout(Stdio::from(OwnedFd::from(theirs)));
    let status = cmd.status().unwrap();
    drop(cmd);
    assert!(status.success());
    reply
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    let _ = reply.read_to_end(&mut got);
    let text = umlnet_core::helper::parse_output_block(&got)
        .map(|b| String::from_utf8_lossy(b.text).into_owned())
        .unwrap_or_default();
    assert!(text.contains("use interface umlsl"), "{text}");
    // The bridge: the helper's process left in the namespace, holding the line.
    let bridges: Vec<i32> =
        h.ns.pids()
            .into_iter()
            .filter(|p| status_line(*p as u32, "Name:") == "uml_net_setuid")
            .collect();
    assert_eq!(bridges.len(), 1, "one bridge process: {bridges:?}");
    let pid = bridges[0] as u32;
    assert_eq!(status_line(pid, "CapEff:"), "0000000000000000");
    assert_eq!(status_line(pid, "CapPrm:"), "0000000000000000");
    assert_eq!(
        status_line(pid, "Uid:")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534"; 4]
    );
    assert_eq!(status_line(pid, "Groups:"), "65534");
    drop(master);
    wait_for("the bridge to end", Duration::from_secs(10), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });
}

/// Entries left by a device that vanished (its published entry still on the LAN) and
/// by a namespace that no longer exists are cleaned up by the next call.
fn the_ledger_cleans_up_after_vanished_devices_and_namespaces() {
    let h = Host::new("umlnet-ledger", Some(NARROW));
    let here = h.mount.sh("stat -L -c %i /proc/self/ns/net");
    let lan7 = h.ns.sh("cat /sys/class/net/lan7/ifindex");
    let (here, lan7) = (here.trim(), lan7.trim());
    h.ns.sh("ip neigh add proxy 10.7.0.77 dev lan7");
    h.mount.sh(&format!(
        "mkdir -p /run/umlnet && chmod 755 /run/umlnet && umask 077 && printf '%s\\n' \
         '+ device {NOBODY} {here} 999 tapgone' \
         '+ route {NOBODY} {here} 999 tapgone 10.7.0.77' \
         '+ publish {NOBODY} {here} 999 tapgone 10.7.0.77 {lan7} lan7' \
         '+ device {NOBODY} 1 5 tapelsewhere' > /run/umlnet/uml_net.ledger"
    ));
    // Any call cleans up; this one is refused by the policy, after the cleanup.
    let c = h.call(
        Some(NOBODY),
        &["4", "add", "tapn", "9.9.9.9", "255.255.255.255"],
        Reply::Stream,
    );
    assert_ne!(c.code, Some(0));
    let ledger = h.mount.ledger();
    assert!(
        !ledger.contains("tapgone") && !ledger.contains("tapelsewhere"),
        "{ledger}"
    );
    assert!(
        !h.ns.sh("ip neigh show proxy").contains("10.7.0.77"),
        "the vanished device's published entry is withdrawn"
    );
    // A helper that holds the ledger and is stopped (as its caller may do) does not
    // stall everyone else: the next call gives up after a few seconds, changing nothing.
    let mut holder = h
        .mount
        .command("flock")
        .args(["/run/umlnet/uml_net.lock", "sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = host_state(&h.ns);
    let c = h.call(
        Some(NOBODY),
        &["4", "add", "tapn", "10.7.0.2", "255.255.255.255"],
        Reply::Stream,
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert_ne!(c.code, Some(0));
    assert!(
        c.text
            .contains("is held by another uml_net for more than 5 s"),
        "{}",
        c.text
    );
    assert_eq!(host_state(&h.ns), before);
}

fn new_devices_are_never_an_existing_one() {
    use umlnet_linux::sys::tun::{Tap, TunMode};
    let h = Host::new("umlnet-excl", Some(NARROW));
    // A persistent TAP of another user (uid 1000) appears under the name asked for.
    h.ns.sh(&format!(
        "{} -t tap77 -u 1000 >/dev/null",
        bin!("tunctl").display()
    ));
    let e = h.ns.run_inside(|| {
        Tap::create_exclusive(Path::new("/dev/net/tun"), "tap77", TunMode::Tap, true)
            .err()
            .and_then(|e| e.raw_os_error())
    });
    assert_eq!(
        e,
        Some(libc::EBUSY),
        "IFF_TUN_EXCL refuses an existing device"
    );
    // ethertap on that name is refused, and changes nothing.
    let before = host_state(&h.ns);
    let refused = EthertapRelay::try_start(&h, "tap77", "10.7.0.1")
        .err()
        .expect("ethertap on another user's TAP is refused");
    assert!(
        refused
            .contains("refusing to change 'tap77': it is not a TUN/TAP device owned by uid 65534"),
        "{refused}"
    );
    assert_eq!(host_state(&h.ns), before);
}

/// The helper looks a device up once and then acts on its index: when the name is
/// handed to another device in between (the race a caller who stops its helper can
/// set up), the route, proxy ARP and published entry still go to the device checked.
fn actions_follow_the_pinned_device_not_its_name() {
    use umlnet_core::host::{self, GuestAddr, LanRoute};
    use umlnet_linux::hostapply::{Applier, Tolerance};
    use umlnet_linux::sys::netlink::Rtnl;
    let h = Host::new("umlnet-pin", None);
    h.ns.sh(&format!(
        "{t} -t tapa -u {NOBODY} >/dev/null && {t} -t tapb -u 1000 >/dev/null && \
         ip link set tapa up && ip link set tapb up",
        t = bin!("tunctl").display()
    ));
    h.ns.run_inside(move || {
        let checked = Rtnl::index("tapa").unwrap();
        let mut applier = Applier::new(false, Tolerance::Strict);
        applier.pin("tapa", checked);
        // The swap: the checked device is renamed away, another takes its name.
        let sh = |c: &str| {
            assert!(std::process::Command::new("sh").args(["-c", c]).status().unwrap().success())
        };
        sh("ip link set tapa down && ip link set tapa name tapc && \
            ip link set tapb down && ip link set tapb name tapa && ip link set tapc up && ip link set tapa up");
        let routes = [LanRoute::new("lan7", [10, 7, 0, 0].into(), [255, 255, 255, 0].into()).unwrap()];
        let guest = GuestAddr {
            ip: [10, 7, 0, 44].into(),
            netmask: Some([255, 255, 255, 0].into()),
        };
        let plan = host::address_add("tapa", guest, &routes).unwrap();
        applier.apply(&plan).unwrap();
    });
    let r = h.ns.sh("ip route show 10.7.0.44");
    assert!(
        r.contains("dev tapc"),
        "the route went to the renamed, checked device: {r}"
    );
    assert_eq!(
        h.ns.sh("cat /proc/sys/net/ipv4/conf/tapc/proxy_arp").trim(),
        "1"
    );
    assert_eq!(
        h.ns.sh("cat /proc/sys/net/ipv4/conf/tapa/proxy_arp").trim(),
        "0"
    );
}

fn check_policy_validates_and_prints_what_it_grants() {
    let h = Host::new("umlnet-check", Some(NARROW));
    let run = |args: &[&str]| {
        let out = h
            .mount
            .command("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
            ])
            .arg(&h.suid)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run(&["--check-policy"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("{POLICY}: valid, 5 rules in 1 file(s)")),
        "{text}"
    );
    assert!(
        text.contains("  allow user nobody guest 10.7.0.0/24  (/etc/umlnet/uml_net.conf:3)"),
        "{text}"
    );
    // The shipped example is valid.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/uml_net.conf.example");
    let copy = h.tmp.join("example.conf");
    std::fs::copy(&example, &copy).unwrap();
    let (code, text) = run(&["--check-policy", copy.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("grants:"), "{text}");
    // A bad line names the file, the line and the fix.
    let bad = h.tmp.join("bad.conf");
    std::fs::write(
        &bad,
        "allow user alice op tuntap\nallow user alice guest 10.0.7.1/24\n",
    )
    .unwrap();
    let (code, text) = run(&["--check-policy", bad.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}:2: the prefix has host bits set",
            bad.display()
        )),
        "{text}"
    );
    // The file is read with the caller's rights, not root's.
    let (code, text) = run(&["--check-policy", "/etc/shadow"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
}
