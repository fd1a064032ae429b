//! The umlnet guest stack (`umlnet-guest`, as a library) against a real UML kernel:
//! both attached to our `uml_switch` in a network namespace of their own. Checks ARP
//! and ICMP both ways, the UML networking page's MAC rule as the real kernel's `arp -n` sees it,
//! `route -n` output identical to the real kernel's for the UML networking page's command sequence,
//! and a TCP page fetch from a real HTTP server in the UML.

use std::path::PathBuf;
use std::time::{Duration, Instant as StdInstant};

use umlnet_core::cmdline::{self, Transport};
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_guest::smoltcp::time::Instant;
use umlnet_guest::{Guest, Run};
use umlnet_linux::sys::process::enter_netns;
use umlnet_linux::transport::daemon::DaemonLink;
use umlnet_testkit::{
    Daemon, Netns, TempDir, UmlBoot, UmlGuest, bin, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "the_kernel_pings_our_guest_and_learns_its_derived_mac",
            NEEDS,
            the_kernel_pings_our_guest_and_learns_its_derived_mac,
        ),
        real(
            "route_n_of_the_kernel_and_of_our_guest_agree",
            NEEDS,
            route_n_of_the_kernel_and_of_our_guest_agree,
        ),
        real(
            "our_guest_pings_the_kernel_in_iputils_format",
            NEEDS,
            our_guest_pings_the_kernel_in_iputils_format,
        ),
        real(
            "our_guest_fetches_a_page_from_the_kernels_http_server",
            NEEDS,
            our_guest_fetches_a_page_from_the_kernels_http_server,
        ),
    ]);
}

/// What every case needs.
const NEEDS: &[&str] = &["linux.uml", "ip", "python3"];

const BOOT: Duration = Duration::from_secs(90);

/// A link to nowhere, for a guest that only runs configuration commands.
struct Nowhere;

impl Link for Nowhere {
    type Error = core::convert::Infallible;
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn recv(&mut self, _: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        Ok(None)
    }
    fn send(&mut self, _: &[u8]) -> Result<SendStatus, Self::Error> {
        Ok(SendStatus::Sent)
    }
}

/// What our guest prints for `route -n` after `commands`.
fn our_route_n(commands: &[&str]) -> String {
    let mut g: Guest<Nowhere> = Guest::new(1, Instant::ZERO);
    g.add_interface(0, Nowhere, None).unwrap();
    for c in commands {
        let Run::Done(out) = g.run(c, Instant::ZERO) else {
            panic!("{c} did not finish")
        };
        assert_eq!(out.status, 0, "{c}: {}", out.text);
    }
    let Run::Done(out) = g.run("route -n", Instant::ZERO) else {
        panic!("route -n did not finish")
    };
    out.text
}

fn lines_with(said: &[String], tag: &str) -> String {
    said.iter()
        .filter_map(|l| l.strip_prefix(tag))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Our switch in a namespace of its own, a real UML kernel on it (serving a page over
/// HTTP), and our guest attached to the same switch, having answered the kernel's ARP
/// and pings until it said READY. The test thread is inside the namespace.
struct Lab {
    uml: UmlGuest,
    g: Guest<DaemonLink>,
    /// The clock our guest runs on ([`since`]).
    start: StdInstant,
    /// When the whole exchange must be over.
    deadline: StdInstant,
    /// The page the UML serves.
    page: Vec<u8>,
    _switch: Daemon,
    _ns: Netns,
    dir: TempDir,
}

/// Our guest's clock: the time since `start`.
fn since(start: StdInstant) -> Instant {
    Instant::from_micros(start.elapsed().as_micros() as i64)
}

fn lab(tag: &str) -> Lab {
    let (dir, ns) = dir_and_netns(tag);
    let ctl = dir.join("uml.ctl");
    let log = dir.join("switch.log");
    let mut cmd = ns.command(bin!("uml_switch"));
    cmd.arg("-unix").arg(&ctl);
    let _switch = Daemon::spawn("switch", &mut cmd, &log);
    wait_for("the switch banner", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("attached to unix socket"))
    });

    // A page for the UML's HTTP server: 200 kB that a transfer error would show in.
    let www: PathBuf = dir.join("www");
    std::fs::create_dir(&www).unwrap();
    let page: Vec<u8> = (0..200_000u32)
        .map(|i| b"umlnet guest stack\n"[(i % 19) as usize] ^ ((i / 19) as u8 & 0x07))
        .collect();
    std::fs::write(www.join("page.txt"), &page).unwrap();

    let d = dir.path().display().to_string();
    let eth = vec![format!("eth0=daemon,,unix,{}", ctl.display())];
    let script = format!(
        "ifconfig eth0 192.168.0.253 up\n\
         route -n | while IFS= read -r l; do say \"R1|$l\"; done\n\
         i=0; while ! ping -c 1 -W 1 192.168.0.254 >/dev/null 2>&1 && [ $i -lt 60 ]; do i=$((i+1)); done\n\
         ping -c 3 -i 0.2 192.168.0.254 > {d}/uml-ping.txt 2>&1; say \"PING $?\"\n\
         ping -c 2 -i 0.2 -s 3000 192.168.0.254 > {d}/uml-bigping.txt 2>&1; say \"BIGPING $?\"\n\
         arp -n | while IFS= read -r l; do say \"ARP|$l\"; done\n\
         route del -net 192.168.0.0 dev eth0 netmask 255.255.255.0\n\
         route add -host 192.168.0.254 dev eth0\n\
         route add default gw 192.168.0.254\n\
         route -n | while IFS= read -r l; do say \"R2|$l\"; done\n\
         cd {d}/www && python3 -m http.server 8000 --bind 192.168.0.253 > {d}/http.log 2>&1 &\n\
         say READY\n\
         i=0; while [ ! -f {d}/done ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done\n"
    );
    let uml = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "uml",
        eth: &eth,
        script: &script,
        path_prefix: None,
    });

    // Our guest: this test thread joins the namespace, where the switch's abstract
    // data socket lives, and attaches as the kernel would for the same argument.
    enter_netns(ns.name()).expect("enter the test's network namespace");
    let parsed = cmdline::parse(&eth[0]).expect("eth0= parses");
    let Transport::Daemon(spec) = &parsed.spec.transport else {
        panic!("not a daemon spec")
    };
    let link = DaemonLink::open(0, spec).expect("attach to our uml_switch");
    let start = StdInstant::now();
    let now = || since(start);
    let mut g: Guest<DaemonLink> = Guest::new(0x6a7, now());
    g.add_device(&parsed.spec, link).unwrap();
    let Run::Done(out) = g.run("ifconfig eth0 192.168.0.254 up", now()) else {
        panic!("ifconfig did not finish")
    };
    assert_eq!(out.status, 0, "{}", out.text);

    // Serve ARP and ICMP until the UML has pinged us and is ready.
    let deadline = StdInstant::now() + BOOT;
    while !uml.said().iter().any(|l| l == "READY") {
        assert!(
            StdInstant::now() < deadline,
            "the UML never got ready; said {:?}\nconsole:\n{}",
            uml.said(),
            uml.console()
        );
        g.poll(now());
        std::thread::sleep(Duration::from_millis(1));
    }
    Lab {
        uml,
        g,
        start,
        deadline,
        page,
        _switch,
        _ns: ns,
        dir,
    }
}

impl Lab {
    /// Lets the UML's script finish (it waits for a `done` file) and power off.
    fn finish(mut self) {
        std::fs::write(self.dir.join("done"), b"").unwrap();
        self.uml.finish(BOOT);
    }
}

/// The real kernel pings our guest (fragmented both ways with a 3000-byte payload) and
/// learnt our derived fe:fd:<ip> address.
fn the_kernel_pings_our_guest_and_learns_its_derived_mac() {
    let lab = lab("gs-ping");
    let Lab { uml, dir, .. } = &lab;
    let said = uml.said();
    let uml_ping = std::fs::read_to_string(dir.join("uml-ping.txt")).unwrap_or_default();
    assert!(said.contains(&"PING 0".to_string()), "{uml_ping}");
    assert!(
        uml_ping.contains("3 packets transmitted, 3 received, 0% packet loss"),
        "{uml_ping}"
    );
    // Fragmented both ways: the kernel's 3028-byte echoes, our 3028-byte replies.
    let big = std::fs::read_to_string(dir.join("uml-bigping.txt")).unwrap_or_default();
    assert!(said.contains(&"BIGPING 0".to_string()), "{big}");
    assert!(
        big.contains("3008 bytes from 192.168.0.254: icmp_seq=1 ttl=64"),
        "{big}"
    );
    // The real kernel learnt our derived fe:fd:<ip> address.
    let arp = lines_with(&said, "ARP|");
    assert!(
        arp.lines().any(|l| l.starts_with("192.168.0.254 ")
            && l.contains(" ether   fe:fd:c0:a8:00:fe   C ")
            && l.ends_with(" eth0")),
        "{arp}"
    );

    lab.finish();
}

/// `route -n` of the real kernel and ours, for the same commands, byte for byte.
fn route_n_of_the_kernel_and_of_our_guest_agree() {
    let lab = lab("gs-route");
    let said = lab.uml.said();
    assert_eq!(
        lines_with(&said, "R1|"),
        our_route_n(&["ifconfig eth0 192.168.0.253 up"])
    );
    assert_eq!(
        lines_with(&said, "R2|"),
        our_route_n(&[
            "ifconfig eth0 192.168.0.253 up",
            "route del -net 192.168.0.0 dev eth0 netmask 255.255.255.0",
            "route add -host 192.168.0.254 dev eth0",
            "route add default gw 192.168.0.254",
        ])
    );

    lab.finish();
}

/// Our ping of the real kernel, in iputils format.
fn our_guest_pings_the_kernel_in_iputils_format() {
    let mut lab = lab("gs-oping");
    let Lab {
        g, start, deadline, ..
    } = &mut lab;
    let (start, deadline) = (*start, *deadline);
    let now = || since(start);
    let Run::Started(job) = g.run("ping -c 3 -i 0.2 192.168.0.253", now()) else {
        panic!("ping did not start")
    };
    while !g.job_finished(job) {
        assert!(StdInstant::now() < deadline, "our ping never finished");
        g.poll(now());
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = g.take_job(job).unwrap();
    assert_eq!(out.status, 0, "{}", out.text);
    assert!(
        out.text.starts_with(
            "PING 192.168.0.253 (192.168.0.253) 56(84) bytes of data.\n\
             64 bytes from 192.168.0.253: icmp_seq=1 ttl=64 time="
        ),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains("\n3 packets transmitted, 3 received, 0% packet loss, time "),
        "{}",
        out.text
    );

    lab.finish();
}

/// Our guest fetches a 200 kB page over TCP from the UML's HTTP server, intact.
fn our_guest_fetches_a_page_from_the_kernels_http_server() {
    let mut lab = lab("gs-http");
    let Lab {
        g,
        start,
        deadline,
        page,
        ..
    } = &mut lab;
    let (start, deadline) = (*start, *deadline);
    let now = || since(start);
    // The UML's HTTP server may still be starting.
    let body = loop {
        assert!(
            StdInstant::now() < deadline,
            "no page from the UML's HTTP server"
        );
        let h = g
            .tcp_connect("192.168.0.253".parse().unwrap(), 8000)
            .unwrap();
        let mut reply = Vec::new();
        let mut asked = false;
        let until = StdInstant::now() + Duration::from_secs(20);
        while StdInstant::now() < until {
            g.poll(now());
            let s = g.tcp(h);
            if s.may_send() && !asked {
                s.send_slice(b"GET /page.txt HTTP/1.0\r\n\r\n").unwrap();
                asked = true;
            }
            while s.can_recv() {
                s.recv(|b| {
                    reply.extend_from_slice(b);
                    (b.len(), ())
                })
                .unwrap();
            }
            if (asked && !s.may_recv()) || !s.is_open() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        g.tcp(h).abort();
        g.poll(now());
        g.tcp_remove(h);
        if let Some(at) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&reply[..at]).to_string();
            assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
            break reply[at + 4..].to_vec();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        body == *page,
        "page differs: {} bytes of {}",
        body.len(),
        page.len()
    );

    lab.finish();
}
