//! VXLAN uplinks of our `uml_switch` (`-vxlan <vni>,<local>,<remote>...`) against real
//! peers: the Linux kernel's own `vxlan` device, another of our switches, real UML
//! guests, and hand-made datagrams. Two network namespaces joined by a veth pair stand
//! for two hosts; all UDP stays on that veth.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use umlnet_linux::switchd::client::{Client, uml_like_addr};
use umlnet_testkit::{
    Daemon, Netns, OurSwitch, TempDir, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "a_uml_guest_on_our_switch_pings_a_kernel_vxlan_device",
            &["linux.uml", "ip", "ping", "tcpdump"],
            a_uml_guest_on_our_switch_pings_a_kernel_vxlan_device,
        ),
        real(
            "the_kernel_vxlan_device_pings_the_uml_guest_back",
            &["linux.uml", "ip", "ping", "tcpdump"],
            the_kernel_vxlan_device_pings_the_uml_guest_back,
        ),
        real(
            "the_kernels_frames_arrive_on_the_uplink_and_none_is_malformed",
            &["linux.uml", "ip", "ping", "tcpdump"],
            the_kernels_frames_arrive_on_the_uplink_and_none_is_malformed,
        ),
        real(
            "on_the_wire_from_our_switch_only_the_guests_frames_with_vxlan_headers",
            &["linux.uml", "ip", "ping", "tcpdump"],
            on_the_wire_from_our_switch_only_the_guests_frames_with_vxlan_headers,
        ),
        real(
            "uml_guests_on_two_of_our_switches_ping_each_other_over_vxlan",
            &["linux.uml", "ip", "ping"],
            uml_guests_on_two_of_our_switches_ping_each_other_over_vxlan,
        ),
        real(
            "malformed_vxlan_datagrams_are_counted_and_dropped",
            &["ip"],
            malformed_vxlan_datagrams_are_counted_and_dropped,
        ),
        real(
            "floods_reach_every_endpoint_known_unicast_one_and_nothing_returns_to_its_sender",
            &["ip"],
            floods_reach_every_endpoint_known_unicast_one_and_nothing_returns_to_its_sender,
        ),
        real(
            "bad_vxlan_arguments_are_refused_with_the_reason",
            &["ip"],
            bad_vxlan_arguments_are_refused_with_the_reason,
        ),
        real(
            "an_ipv6_uplink_carries_frames_both_ways",
            &["ip"],
            an_ipv6_uplink_carries_frames_both_ways,
        ),
    ]);
}

const BOOT: Duration = Duration::from_secs(90);

/// The value of `name` in the console's `stats` answer.
fn stat(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the console's stats:\n{status}"))
}

/// A UDP datagram in a capture: outer source address, UDP payload (first fragment only).
struct Captured {
    src: [u8; 4],
    payload: Vec<u8>,
}

/// Reads the IPv4/UDP datagrams of a pcap file (Ethernet link type) that start with
/// their UDP header (later fragments are skipped).
fn udp_in_pcap(path: &Path) -> Vec<Captured> {
    let d = std::fs::read(path).expect("read capture");
    assert!(d.len() >= 24, "capture file too short");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32::from_le_bytes(d[off + 8..off + 12].try_into().unwrap()) as usize;
        off += 16;
        let Some(pkt) = d.get(off..off + incl) else {
            break;
        };
        off += incl;
        if pkt.len() < 14 + 20 || pkt[12..14] != [0x08, 0x00] || pkt[14 + 9] != 17 {
            continue;
        }
        let frag = u16::from_be_bytes([pkt[14 + 6], pkt[14 + 7]]) & 0x1fff;
        if frag != 0 {
            continue;
        }
        let ihl = usize::from(pkt[14] & 0x0f) * 4;
        let Some(payload) = pkt.get(14 + ihl + 8..) else {
            continue;
        };
        out.push(Captured {
            src: pkt[14 + 12..14 + 16].try_into().unwrap(),
            payload: payload.to_vec(),
        });
    }
    out
}

fn mac_bytes(text: &str) -> [u8; 6] {
    let v: Vec<u8> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

/// What one run showed: a real UML guest on our switch (host A, with a VXLAN uplink to
/// B) and the kernel's own VXLAN device on host B pinging each other, host B capturing
/// the UDP on its side of the veth. The cases share it: the first case to ask runs it,
/// and the namespaces and files are gone when it returns.
struct KernelPeer {
    /// What the guest said of its ping of B's device (`PING <exit status>`).
    ping: String,
    /// The guest's ping output.
    guest_ping: String,
    /// The switch's log and the guest's console after the guest's ping.
    logs_after_ping: (String, String),
    /// Whether host B's ping of the guest succeeded, its output, the switch's log then.
    back: (bool, String, String),
    /// The guest's MAC address.
    guest_mac: [u8; 6],
    /// The switch's statistics after both pings.
    status: String,
    /// The datagrams host B received from A (10.99.0.1).
    from_a: Vec<Captured>,
}

fn kernel_peer() -> &'static KernelPeer {
    static RUN: OnceLock<KernelPeer> = OnceLock::new();
    RUN.get_or_init(kernel_peer_once)
}

fn kernel_peer_once() -> KernelPeer {
    let a = Netns::new("vx-kern-a");
    let b = Netns::new("vx-kern-b");
    a.veth_to(&b, ("va", "10.99.0.1/24"), ("vb", "10.99.0.2/24"));
    let dir = TempDir::new("vx-kern");
    // Host B: the kernel's own VXLAN device, VNI 42, towards A.
    b.sh(
        "ip link add vx0 type vxlan id 42 remote 10.99.0.1 dstport 4789 dev vb && \
         ip link set vx0 address 02:00:00:00:42:02 && \
         ip addr add 192.168.42.2/24 dev vx0 && ip link set vx0 up",
    );
    let cap = dir.join("b.pcap");
    let cap_log = dir.join("tcpdump.log");
    let mut tcpdump = Daemon::spawn(
        "tcpdump",
        b.command("tcpdump")
            .args(["-i", "vb", "--immediate-mode", "-U", "-n", "-w"])
            .arg(&cap)
            .args(["udp", "port", "4789"]),
        &cap_log,
    );
    wait_for("tcpdump to listen", Duration::from_secs(10), || {
        std::fs::read_to_string(&cap_log)
            .unwrap_or_default()
            .contains("listening on")
    });
    // Host A: our switch with an uplink to B, and a real UML guest on it.
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &a,
        &dir,
        "switch",
        &ctl,
        &[
            "-vxlan",
            "42,10.99.0.1,10.99.0.2",
            "-mgmt",
            mgmt.to_str().unwrap(),
        ],
    );
    let eth = vec![format!("eth0=daemon,,unix,{}", ctl.display())];
    let d = dir.path().display().to_string();
    let mut g = UmlGuest::boot_in(
        &a,
        &dir,
        "g",
        &eth,
        &format!(
            "ip link set eth0 up; ip addr add 192.168.42.1/24 dev eth0; \
             say \"MAC $(cat /sys/class/net/eth0/address)\"; \
             ping -c 3 -W 2 192.168.42.2 > {d}/g-ping.txt 2>&1; say \"PING $?\"; \
             i=0; while [ ! -f {d}/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
        ),
    );
    let ping = g.wait_said("PING", BOOT);
    let guest_mac = mac_bytes(&g.wait_said("MAC", BOOT)[4..]);
    let guest_ping = std::fs::read_to_string(dir.join("g-ping.txt")).unwrap_or_default();
    let logs_after_ping = (sw.log_text(), g.console());
    // And back: host B pings the guest through its vxlan device.
    let back = b.sh_output("ping -c 3 -W 2 192.168.42.1");
    let back = (
        back.status.success(),
        String::from_utf8_lossy(&back.stdout).into_owned(),
        sw.log_text(),
    );
    let status = umlnet_linux::switchd::switch_status(&mgmt).unwrap();
    std::fs::write(dir.join("done"), b"").unwrap();
    g.finish(BOOT);
    tcpdump.signal(libc::SIGINT);
    tcpdump.wait_timeout(Duration::from_secs(5));
    KernelPeer {
        ping,
        guest_ping,
        logs_after_ping,
        back,
        guest_mac,
        status,
        from_a: udp_in_pcap(&cap)
            .into_iter()
            .filter(|c| c.src == [10, 99, 0, 1])
            .collect(),
    }
}

/// The UML guest on our switch pings the kernel's vxlan device on host B.
fn a_uml_guest_on_our_switch_pings_a_kernel_vxlan_device() {
    let KernelPeer {
        ping,
        guest_ping: out,
        logs_after_ping: (switch_log, console),
        ..
    } = kernel_peer();
    assert_eq!(
        ping, "PING 0",
        "the UML guest could not ping the kernel's vxlan device:\n{out}\nswitch log:\n{switch_log}\nconsole:\n{console}",
    );
    assert!(out.contains("3 received"), "{out}");
}

/// Host B pings the guest back through its vxlan device.
fn the_kernel_vxlan_device_pings_the_uml_guest_back() {
    let (ok, text, switch_log) = &kernel_peer().back;
    assert!(
        *ok && text.contains("3 received"),
        "host B could not ping the UML guest:\n{text}\nswitch log:\n{switch_log}",
    );
}

/// The kernel's frames went in as frames of the uplink port, none was malformed.
fn the_kernels_frames_arrive_on_the_uplink_and_none_is_malformed() {
    let status = &kernel_peer().status;
    assert!(stat(status, "vxlan_rx_frames") >= 6, "{status}");
    for bad in [
        "vxlan_drops_short",
        "vxlan_drops_bad_flags",
        "vxlan_drops_wrong_vni",
        "vxlan_drops_unknown_endpoint",
    ] {
        assert_eq!(stat(status, bad), 0, "{status}");
    }
}

/// On the wire from A: proper VXLAN headers, the guest's frames, and never a frame of
/// host B's own sent back to it.
fn on_the_wire_from_our_switch_only_the_guests_frames_with_vxlan_headers() {
    let KernelPeer {
        guest_mac, from_a, ..
    } = kernel_peer();
    assert!(from_a.len() >= 7, "only {} datagrams from A", from_a.len());
    let b_mac = [2, 0, 0, 0, 0x42, 2];
    for c in from_a {
        assert_eq!(
            &c.payload[..8],
            &[0x08, 0, 0, 0, 0, 0, 42, 0],
            "VXLAN header"
        );
        let inner_src = &c.payload[8 + 6..8 + 12];
        assert_ne!(inner_src, b_mac, "a frame of B's was sent back to B");
        assert_eq!(inner_src, guest_mac, "only the guest is behind A");
    }
    assert!(
        from_a.iter().any(|c| c.payload[8..14] == b_mac),
        "no unicast frame to B's MAC"
    );
}

fn uml_guests_on_two_of_our_switches_ping_each_other_over_vxlan() {
    let na = Netns::new("vx-two-a");
    let nb = Netns::new("vx-two-b");
    na.veth_to(&nb, ("va", "10.98.0.1/24"), ("vb", "10.98.0.2/24"));
    let dir = TempDir::new("vx-two");
    let (ctl_a, ctl_b) = (dir.join("a.ctl"), dir.join("b.ctl"));
    let mgmt_a = dir.join("a.mgmt");
    // B listens on a port of its own, to show ports are honoured both ways.
    let sw_a = OurSwitch::start(
        &bin!("uml_switch"),
        &na,
        &dir,
        "switch-a",
        &ctl_a,
        &[
            "-vxlan",
            "42,10.98.0.1,10.98.0.2:4790",
            "-mgmt",
            mgmt_a.to_str().unwrap(),
        ],
    );
    let sw_b = OurSwitch::start(
        &bin!("uml_switch"),
        &nb,
        &dir,
        "switch-b",
        &ctl_b,
        &["-vxlan", "42,10.98.0.2:4790,10.98.0.1"],
    );
    let d = dir.path().display().to_string();
    let script = |me: &str, ip: &str, peer: &str, peer_ip: &str| {
        format!(
            "ip link set eth0 up; ip addr add {ip}/24 dev eth0; \
             say \"MAC $(cat /sys/class/net/eth0/address)\"; touch {d}/{me}.up; \
             i=0; while [ ! -f {d}/{peer}.up ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
             ping -c 3 -W 2 {peer_ip} > {d}/{me}-ping.txt 2>&1; say \"PING $?\"; \
             i=0; while [ ! -f {d}/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
        )
    };
    let eth_a = vec![format!("eth0=daemon,,unix,{}", ctl_a.display())];
    let eth_b = vec![format!("eth0=daemon,,unix,{}", ctl_b.display())];
    let sa = script("a", "192.168.43.1", "b", "192.168.43.2");
    let sb = script("b", "192.168.43.2", "a", "192.168.43.1");
    let mut ga = UmlGuest::boot_in(&na, &dir, "a", &eth_a, &sa);
    let mut gb = UmlGuest::boot_in(&nb, &dir, "b", &eth_b, &sb);
    for (g, me) in [(&mut ga, "a"), (&mut gb, "b")] {
        let ping = g.wait_said("PING", BOOT);
        let out = std::fs::read_to_string(dir.join(&format!("{me}-ping.txt"))).unwrap_or_default();
        assert_eq!(
            ping,
            "PING 0",
            "guest {me} could not ping across:\n{out}\nswitch a:\n{}\nswitch b:\n{}",
            sw_a.log_text(),
            sw_b.log_text()
        );
        assert!(out.contains("3 received"), "{out}");
    }
    let mac_b = gb.wait_said("MAC", BOOT)[4..].to_string();
    let status = umlnet_linux::switchd::switch_status(&mgmt_a).unwrap();
    std::fs::write(dir.join("done"), b"").unwrap();
    // Switch A shows the uplink as a port and has learned guest b's MAC behind it.
    let uplink_line = status
        .lines()
        .find(|l| l.contains("vxlan vni 42 local 10.98.0.1:4789 remotes 10.98.0.2:4790"))
        .unwrap_or_else(|| panic!("no uplink port in:\n{status}"));
    let port: &str = uplink_line.split_whitespace().nth(1).unwrap();
    assert!(
        status.contains(&format!("{mac_b} port {port} ")),
        "guest b's MAC {mac_b} is not learned on the uplink port {port}:\n{status}"
    );
    assert!(stat(&status, "vxlan_tx_unicast") >= 1, "{status}");
    assert_eq!(stat(&status, "vxlan_drops_unknown_endpoint"), 0, "{status}");
    ga.finish(BOOT);
    gb.finish(BOOT);
}

/// Switch A in `a` with the given `-vxlan` uplinks and a console; a daemon-protocol
/// client on it; sockets in `b` standing for remote VXLAN endpoints.
struct Rig {
    _a: Netns,
    b: Netns,
    _dir: TempDir,
    sw: OurSwitch,
    mgmt: PathBuf,
    client: Client,
}

fn rig(tag: &str, b_addrs: &[&str], uplinks: &[&str]) -> Rig {
    let a = Netns::new(&format!("{tag}-a"));
    let b = Netns::new(&format!("{tag}-b"));
    a.veth_to(&b, ("va", "10.97.0.1/24"), ("vb", b_addrs[0]));
    for extra in &b_addrs[1..] {
        b.sh(&format!("ip addr add {extra} dev vb"));
    }
    let dir = TempDir::new(tag);
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let mut args: Vec<&str> = Vec::new();
    for u in uplinks {
        args.extend(["-vxlan", u]);
    }
    args.extend(["-mgmt", mgmt.to_str().unwrap()]);
    let sw = OurSwitch::start(&bin!("uml_switch"), &a, &dir, "switch", &ctl, &args);
    let c = ctl.clone();
    let client = a.run_inside(move || {
        Client::attach(&c, uml_like_addr(std::process::id(), 1, 77)).expect("attach")
    });
    Rig {
        _a: a,
        b,
        _dir: dir,
        sw,
        mgmt,
        client,
    }
}

impl Rig {
    /// A UDP socket in `b` bound to `addr`.
    fn endpoint(&self, addr: &str) -> UdpSocket {
        let addr: SocketAddr = addr.parse().unwrap();
        let s = self
            .b
            .run_inside(move || UdpSocket::bind(addr).expect("bind endpoint"));
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s
    }

    fn status(&self) -> String {
        umlnet_linux::switchd::switch_status(&self.mgmt).unwrap()
    }

    /// Frames the client got, by the sequence number in their payload.
    fn client_seqs(&self) -> Vec<u32> {
        let mut seqs = Vec::new();
        let mut buf = [0u8; 2048];
        while let Some(n) = self
            .client
            .recv_timeout(&mut buf, Duration::from_millis(300))
            .expect("recv")
        {
            if n >= 18 && buf[12..14] == [0x88, 0xb5] {
                seqs.push(u32::from_be_bytes(buf[14..18].try_into().unwrap()));
            }
        }
        seqs
    }
}

/// An Ethernet frame `dst <- src`, type 0x88b5 (local experimental), `seq` in the payload.
fn frame(dst: [u8; 6], src: [u8; 6], seq: u32) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..18].copy_from_slice(&seq.to_be_bytes());
    f
}

fn vxlan(flags: u8, vni: u32, frame: &[u8]) -> Vec<u8> {
    let v = vni.to_be_bytes();
    let mut d = vec![flags, 0, 0, 0, v[1], v[2], v[3], 0];
    d.extend_from_slice(frame);
    d
}

/// Datagrams waiting on `s`: (VXLAN header, inner frame).
fn received(s: &UdpSocket) -> Vec<([u8; 8], Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = s.recv(&mut buf) {
        out.push((buf[..8].try_into().unwrap(), buf[8..n].to_vec()));
    }
    out
}

const BCAST: [u8; 6] = [0xff; 6];
const REMOTE_MAC: [u8; 6] = [2, 0, 0, 0, 0x97, 2];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0x97, 1];

fn malformed_vxlan_datagrams_are_counted_and_dropped() {
    let r = rig(
        "vx-bad",
        &["10.97.0.2/24", "10.97.0.9/24"],
        &["42,10.97.0.1,10.97.0.2"],
    );
    let ep = r.endpoint("10.97.0.2:4789");
    let stranger = r.endpoint("10.97.0.9:4789");
    let to = "10.97.0.1:4789";
    let good = |seq| vxlan(0x08, 42, &frame(BCAST, REMOTE_MAC, seq));
    // Each malformed datagram carries a frame the client would see if it got through.
    ep.send_to(&good(1)[..5], to).unwrap(); // shorter than the VXLAN header
    ep.send_to(&good(2)[..8 + 13], to).unwrap(); // inner frame shorter than 14 bytes
    ep.send_to(&vxlan(0x00, 42, &frame(BCAST, REMOTE_MAC, 3)), to)
        .unwrap(); // no I flag
    ep.send_to(&vxlan(0x80, 42, &frame(BCAST, REMOTE_MAC, 4)), to)
        .unwrap(); // only G flag
    ep.send_to(&vxlan(0x08, 43, &frame(BCAST, REMOTE_MAC, 5)), to)
        .unwrap(); // wrong VNI
    stranger.send_to(&good(6), to).unwrap(); // not an endpoint of VNI 42
    let mut long = vxlan(0x08, 42, &frame(BCAST, REMOTE_MAC, 10));
    long.resize(2100, 0);
    ep.send_to(&long, to).unwrap(); // longer than any frame the switch takes
    ep.send_to(&good(7), to).unwrap(); // fine
    // Reserved bits are ignored on receipt (RFC 7348 section 5).
    let mut gbp = good(8);
    gbp[0] = 0x88;
    gbp[2] = 0x12;
    ep.send_to(&gbp, to).unwrap();
    assert_eq!(
        r.client_seqs(),
        vec![7, 8],
        "switch log:\n{}",
        r.sw.log_text()
    );
    let st = r.status();
    assert_eq!(stat(&st, "vxlan_rx_datagrams"), 9, "{st}");
    assert_eq!(stat(&st, "vxlan_rx_frames"), 2, "{st}");
    assert_eq!(stat(&st, "vxlan_drops_short"), 2, "{st}");
    assert_eq!(stat(&st, "vxlan_drops_bad_flags"), 2, "{st}");
    assert_eq!(stat(&st, "vxlan_drops_wrong_vni"), 1, "{st}");
    assert_eq!(stat(&st, "vxlan_drops_unknown_endpoint"), 1, "{st}");
    assert_eq!(stat(&st, "vxlan_reserved_bits_ignored"), 1, "{st}");
    assert_eq!(stat(&st, "vxlan_drops_oversize"), 1, "{st}");
    // The switch still answers, with our header and zero reserved bits.
    r.client.send(&frame(REMOTE_MAC, CLIENT_MAC, 9)).unwrap();
    let got = received(&ep);
    assert_eq!(got.len(), 1, "{st}");
    assert_eq!(got[0].0, [0x08, 0, 0, 0, 0, 0, 42, 0]);
    assert_eq!(got[0].1, frame(REMOTE_MAC, CLIENT_MAC, 9));
    assert!(received(&stranger).is_empty());
}

fn floods_reach_every_endpoint_known_unicast_one_and_nothing_returns_to_its_sender() {
    // Two uplinks sharing the local address: VNI 42 to two endpoints, VNI 43 to one.
    let r = rig(
        "vx-flood",
        &["10.97.0.2/24", "10.97.0.3/24"],
        &[
            "42,10.97.0.1,10.97.0.2,10.97.0.3:4790",
            "43,10.97.0.1,10.97.0.2",
        ],
    );
    let e2 = r.endpoint("10.97.0.2:4789");
    let e3 = r.endpoint("10.97.0.3:4790");
    let to = "10.97.0.1:4789";
    // An unknown destination from the client: replicated to every endpoint of both
    // uplinks (e2 gets it once per VNI).
    let unknown = [2, 0, 0, 0, 0x97, 0x55];
    r.client.send(&frame(unknown, CLIENT_MAC, 1)).unwrap();
    let mut at2: Vec<[u8; 8]> = received(&e2).into_iter().map(|(h, _)| h).collect();
    at2.sort();
    assert_eq!(
        at2,
        vec![[0x08, 0, 0, 0, 0, 0, 42, 0], [0x08, 0, 0, 0, 0, 0, 43, 0]],
        "{}",
        r.status()
    );
    assert_eq!(received(&e3).len(), 1);
    // A broadcast from e2 on VNI 42 (from its own source port, as the kernel does):
    // the client and the other uplink get it, the uplink it came in on does not.
    let e2_other_port = r.endpoint("10.97.0.2:40001");
    e2_other_port
        .send_to(&vxlan(0x08, 42, &frame(BCAST, REMOTE_MAC, 2)), to)
        .unwrap();
    assert_eq!(r.client_seqs(), vec![2]);
    let back2 = received(&e2);
    assert_eq!(back2.len(), 1, "only VNI 43 carries it to 10.97.0.2");
    assert_eq!(back2[0].0[6], 43);
    assert!(
        received(&e3).is_empty(),
        "split horizon: not to e3 of the same uplink"
    );
    assert!(received(&e2_other_port).is_empty());
    // Now REMOTE_MAC is known behind e2 on VNI 42: unicast goes there only.
    r.client.send(&frame(REMOTE_MAC, CLIENT_MAC, 3)).unwrap();
    let got = received(&e2);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].0[6], got[0].1.clone()),
        (42, frame(REMOTE_MAC, CLIENT_MAC, 3))
    );
    assert!(
        received(&e3).is_empty(),
        "a known unicast is not replicated"
    );
    let st = r.status();
    assert_eq!(stat(&st, "vxlan_tx_replicated"), 3, "{st}");
    assert_eq!(stat(&st, "vxlan_tx_unicast"), 1, "{st}");
    assert_eq!(stat(&st, "vxlan_tx_datagrams"), 5, "{st}");
    assert!(
        st.contains("vxlan vni 42 local 10.97.0.1:4789 remotes 10.97.0.2:4789,10.97.0.3:4790"),
        "{st}"
    );
    assert!(
        st.contains("vxlan vni 43 local 10.97.0.1:4789 remotes 10.97.0.2:4789"),
        "{st}"
    );
}

fn bad_vxlan_arguments_are_refused_with_the_reason() {
    let (dir, ns) = dir_and_netns("vx-args");
    let ctl = dir.join("uml.ctl");
    let run = |spec: &str| {
        let out = ns
            .command(bin!("uml_switch"))
            .arg("-unix")
            .arg(&ctl)
            .args(["-vxlan", spec])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run("42,10.0.0.1");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("<vni>,<local ip>[:port],<remote ip>[:port]"),
        "{err}"
    );
    let (code, err) = run("16777216,10.0.0.1,10.0.0.2");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not fit in 24 bits"), "{err}");
    // A local address this host does not have: the bind fails and says which.
    let (code, err) = run("42,10.96.0.1,10.96.0.2");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("10.96.0.1:4789"), "{err}");
    assert!(
        !ctl.exists(),
        "the control socket is removed on a failed start"
    );
}

fn an_ipv6_uplink_carries_frames_both_ways() {
    let a = Netns::new("vx6-a");
    let b = Netns::new("vx6-b");
    a.veth_to(&b, ("va", "10.95.0.1/24"), ("vb", "10.95.0.2/24"));
    a.sh("ip addr add fd95::1/64 dev va nodad");
    b.sh("ip addr add fd95::2/64 dev vb nodad");
    let dir = TempDir::new("vx6");
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("mgmt");
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &a,
        &dir,
        "switch",
        &ctl,
        &[
            "-vxlan",
            "42,[fd95::1]:4789,fd95::2",
            "-mgmt",
            mgmt.to_str().unwrap(),
        ],
    );
    let c = ctl.clone();
    let client = a.run_inside(move || {
        Client::attach(&c, uml_like_addr(std::process::id(), 6, 66)).expect("attach")
    });
    let ep = b.run_inside(|| UdpSocket::bind("[fd95::2]:4789").expect("bind"));
    ep.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    ep.send_to(
        &vxlan(0x08, 42, &frame(BCAST, REMOTE_MAC, 1)),
        "[fd95::1]:4789",
    )
    .unwrap();
    let mut buf = [0u8; 2048];
    let n = client
        .recv_timeout(&mut buf, Duration::from_secs(2))
        .unwrap()
        .unwrap_or_else(|| panic!("nothing came in over IPv6:\n{}", sw.log_text()));
    assert_eq!(&buf[..n], &frame(BCAST, REMOTE_MAC, 1)[..]);
    client.send(&frame(REMOTE_MAC, CLIENT_MAC, 2)).unwrap();
    let (n, from) = ep.recv_from(&mut buf).expect("the answer over IPv6");
    assert_eq!(from, "[fd95::1]:4789".parse::<SocketAddr>().unwrap());
    assert_eq!(&buf[..8], &[0x08, 0, 0, 0, 0, 0, 42, 0]);
    assert_eq!(&buf[8..n], &frame(REMOTE_MAC, CLIENT_MAC, 2)[..]);
    let st = umlnet_linux::switchd::switch_status(&mgmt).unwrap();
    assert!(
        st.contains("vxlan vni 42 local [fd95::1]:4789 remotes [fd95::2]:4789"),
        "{st}"
    );
    assert_eq!(stat(&st, "vxlan_tx_unicast"), 1, "{st}");
}
