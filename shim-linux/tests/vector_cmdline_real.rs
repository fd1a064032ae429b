//! Our `vec<n>:` grammar against the real UML kernel (`linux.uml`, Debian 6.1).
//!
//! One guest boots in a network namespace of its own with vector devices our checker
//! accepts and ones it refuses, lists the `vec<n>` devices the kernel created (with MTU
//! and MAC), and brings up only those whose values cannot panic the kernel: bess devices
//! whose socket is missing (the open fails before any header setup), a device without a
//! transport, and an `l2tpv3,udp=1` device on the namespace's loopback. The devices that
//! carry the values with which 6.1 panics (`rx_session=0xffffffff`, an rx key without a
//! tx key) are only created, never brought up. For every argument, what
//! `CmdlineChecker` says must match what the kernel did:
//!
//! * accepted → the kernel created `vec<n>` as written (MTU, MAC), and those brought up
//!   come up (twice: every ifup opens the socket again);
//! * refused with a kind the kernel refuses too (a second `=`, no `:`) → no device and the
//!   kernel's `vector_setup - Couldn't parse` message;
//! * refused where we are stricter → the kernel created the device, but not as written
//!   (`mtu=100` gives MTU 1500, `transport=tapx` a tap) or one that cannot come up;
//! * the bess `src=` warning → the second ifup fails to bind (`EADDRINUSE`, errno 98).

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use umlnet_core::cmdline::{CmdlineChecker, Error, ErrorKind, Parsed, Transport, VectorKind};
use umlnet_testkit::{Netns, TempDir, UmlBoot, UmlGuest, bin, real, run_cases};

fn main() {
    run_cases(vec![
        real(
            "vector_devices_we_accept_are_created_as_written_and_come_up",
            NEEDS,
            vector_devices_we_accept_are_created_as_written_and_come_up,
        ),
        real(
            "vector_devices_we_refuse_are_refused_or_not_made_as_written",
            NEEDS,
            vector_devices_we_refuse_are_refused_or_not_made_as_written,
        ),
        real(
            "bess_reopens_at_every_ifup_and_src_blocks_the_second",
            NEEDS,
            bess_reopens_at_every_ifup_and_src_blocks_the_second,
        ),
    ]);
}

const NEEDS: &[&str] = &["linux.uml", "ip"];

/// One boot's results next to our verdicts.
struct Boot {
    dir: String,
    args: Vec<String>,
    verdicts: Vec<Result<Parsed, Error>>,
    /// `vec<n>` → (MTU, MAC) as the guest's sysfs shows them.
    devices: Vec<(u32, u32, String)>,
    /// Exit status and message of each `ip link set … up` the script ran, by label.
    ups: Vec<(String, i32, String)>,
    /// Connections accepted on `sw1.bess` and `sw2.bess`.
    connections: [usize; 2],
    /// The guest's kernel log (dmesg) plus its console.
    log: String,
    ctx: String,
}

impl Boot {
    fn device(&self, n: u32) -> Option<&(u32, u32, String)> {
        self.devices.iter().find(|d| d.0 == n)
    }
    fn up(&self, label: &str) -> i32 {
        self.up_said(label).1
    }
    fn up_said(&self, label: &str) -> &(String, i32, String) {
        self.ups
            .iter()
            .find(|u| u.0 == label)
            .unwrap_or_else(|| panic!("no {label}\n{}", self.ctx))
    }
}

fn boot() -> &'static Boot {
    static BOOT: OnceLock<Boot> = OnceLock::new();
    BOOT.get_or_init(boot_once)
}

fn boot_once() -> Boot {
    let ns = Netns::new("veccmd");
    let tmp = TempDir::new("veccmd");
    let dir = tmp.path().display().to_string();
    let args: Vec<String> = [
        // Accepted.
        "vec0:transport=tap,ifname=umlvt0".to_string(),
        format!("vec1:transport=bess,dst={dir}/sw1.bess"),
        format!("vec2:transport=bess,dst={dir}/sw2.bess,src={dir}/me.bess"),
        "vec3:transport=fd,fd=3,mtu=9000,mac=fe:fd:00:00:00:03".into(),
        "vec4:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,srcport=1701,dstport=1702,\
         rx_session=1,tx_session=2,counter=1"
            .into(),
        "vec5:transport=gre,src=127.0.0.1,dst=127.0.0.1,rx_key=1,tx_key=2,sequence=1".into(),
        "vec6:transport=raw,ifname=lo,depth=128".into(),
        "vec7:transport=hybrid,ifname=umlvt7,gro=1".into(),
        // Refused by the kernel too.
        "vec8:transport=tap,mtu=1500=x".into(),
        "vec9=transport=tap".into(),
        // Refused here, created by the kernel (never brought up where 6.1 would panic).
        "vec10:transport=tap,mtu=100".into(),
        "vec11:transport=bess".into(),
        "vec12:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,rx_session=0xffffffff,\
         tx_session=1"
            .into(),
        "vec13:transport=gre,src=127.0.0.1,dst=127.0.0.1,rx_key=1".into(),
        "vec14:ifname=x".into(),
        "vec15:transport=tapx".into(),
        "vec16:transport=bogus".into(),
        // Accepted; nothing listens there.
        format!("vec17:transport=bess,dst={dir}/none.bess"),
    ]
    .into_iter()
    .collect();

    let mut checker = CmdlineChecker::new();
    let verdicts: Vec<_> = args
        .iter()
        .map(|a| checker.check(a).expect("a network argument"))
        .collect();
    // The values that panic 6.1 are the ones the script must never bring up.
    for (a, v) in args.iter().zip(&verdicts) {
        if let Err(e) = v
            && e.kind.is_kernel_panic()
        {
            assert!(a.starts_with("vec12:") || a.starts_with("vec13:"), "{a}");
        }
    }
    let out = ns.sh_output(&format!(
        "{} check --no-host-checks {}",
        bin!("umlnet").display(),
        args.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let cli = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{cli}");
    assert!(
        cli.contains("vec12: rx_session:") && cli.contains("would PANIC"),
        "{cli}"
    );

    // Only these are brought up; see the module comment for why each is safe.
    let script = "\
        for d in /sys/class/net/vec*; do \
          say \"DEV $(basename $d) $(cat $d/mtu) $(cat $d/address)\"; done\n\
        up() { e=$(ip link set $2 up 2>&1); say \"UP $1 $? $e\"; }\n\
        down() { ip link set $1 down 2>/dev/null; }\n\
        up vec1a vec1; down vec1; up vec1b vec1; down vec1\n\
        up vec2a vec2; down vec2; up vec2b vec2\n\
        up vec17a vec17; up vec17b vec17\n\
        up vec4a vec4; down vec4; up vec4b vec4; down vec4\n\
        up vec11 vec11\n\
        up vec14 vec14\n\
        up vec15 vec15; down vec15\n\
        up vec16 vec16\n\
        dmesg | while read -r l; do say \"LOG $l\"; done\n";
    // The switches the bess devices connect to: each counts its connections.
    let connections = [
        listen_seqpacket(&tmp.join("sw1.bess")),
        listen_seqpacket(&tmp.join("sw2.bess")),
    ];
    let mut boot_args = args.clone();
    boot_args.push("loglevel=8".into());
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: tmp.path(),
        name: "veccmd",
        eth: &boot_args,
        script,
        path_prefix: None,
    });
    let said = guest.finish(Duration::from_secs(60));
    let console = guest.console();
    let devices = said
        .iter()
        .filter_map(|l| l.strip_prefix("DEV vec"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].to_string(),
            )
        })
        .collect();
    let ups = said
        .iter()
        .filter_map(|l| l.strip_prefix("UP "))
        .map(|l| {
            let mut f = l.splitn(3, ' ');
            let label = f.next().unwrap().to_string();
            let rc = f.next().unwrap().parse().unwrap();
            (label, rc, f.next().unwrap_or("").to_string())
        })
        .collect();
    let connections = connections.map(|c| c.load(Ordering::SeqCst));
    let log: String = said
        .iter()
        .filter_map(|l| l.strip_prefix("LOG "))
        .map(|l| format!("{l}\n"))
        .chain(std::iter::once(console.clone()))
        .collect();
    assert!(
        said.iter().any(|l| l == "DONE"),
        "the guest did not finish\n{console}"
    );
    let ctx = format!("said: {said:#?}\numlnet check: {cli}\nconsole:\n{console}");
    Boot {
        dir,
        args,
        verdicts,
        devices,
        ups,
        connections,
        log,
        ctx,
    }
}

/// Listens on a unix seqpacket socket at `path`, as a bess switch would, accepting (and
/// keeping) every connection; returns the count of connections so far.
fn listen_seqpacket(path: &Path) -> Arc<AtomicUsize> {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, UnixAddr, accept, bind, listen, socket,
    };
    let fd = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("seqpacket socket");
    bind(fd.as_raw_fd(), &UnixAddr::new(path).expect("path fits")).expect("bind");
    listen(&fd, Backlog::new(8).unwrap()).expect("listen");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    // Blocks in accept until the test process ends; the connections stay open.
    std::thread::spawn(move || {
        let mut open = Vec::new();
        while let Ok(c) = accept(&fd) {
            seen.fetch_add(1, Ordering::SeqCst);
            open.push(c);
        }
    });
    count
}

fn vector_devices_we_accept_are_created_as_written_and_come_up() {
    let b = boot();
    let mut accepted = 0;
    for (arg, verdict) in b.args.iter().zip(&b.verdicts) {
        let Ok(p) = verdict else { continue };
        accepted += 1;
        let Transport::Vector(v) = &p.spec.transport else {
            panic!("{arg}")
        };
        let n = p.spec.index;
        let (_, mtu, mac) = b
            .device(n)
            .unwrap_or_else(|| panic!("{arg}: we accept it, the kernel made no vec{n}\n{}", b.ctx));
        assert_eq!(*mtu, u32::from(v.mtu), "{arg}\n{}", b.ctx);
        if let Some(m) = v.mac {
            assert_eq!(*mac, m.to_string(), "{arg}\n{}", b.ctx);
        }
    }
    assert_eq!(accepted, 9, "{}", b.ctx);
    // An accepted l2tpv3-over-UDP device comes up, and again after ifdown.
    assert_eq!((b.up("vec4a"), b.up("vec4b")), (0, 0), "{}", b.ctx);
}

fn vector_devices_we_refuse_are_refused_or_not_made_as_written() {
    let b = boot();
    for (arg, verdict) in b.args.iter().zip(&b.verdicts) {
        let Err(e) = verdict else { continue };
        let n = e.index.expect("a device number");
        match e.kind {
            // The kernel refuses these too: no device, and its message.
            ErrorKind::VectorSecondEquals => {
                assert!(b.device(n).is_none(), "{arg}\n{}", b.ctx);
                assert!(
                    b.log.contains("vector_setup - Couldn't parse 'transport'"),
                    "{arg}\n{}",
                    b.ctx
                );
            }
            ErrorKind::MissingColon => {
                assert!(b.device(n).is_none(), "{arg}\n{}", b.ctx);
                assert!(
                    b.log.contains("Expected ':' after device number"),
                    "{arg}\n{}",
                    b.ctx
                );
            }
            // Stricter: the kernel makes the device, but not as written.
            ErrorKind::VectorMtu => {
                let (_, mtu, _) = b.device(n).unwrap_or_else(|| panic!("{arg}\n{}", b.ctx));
                assert_eq!(*mtu, 1500, "{arg}: the kernel ignores the MTU\n{}", b.ctx);
            }
            // Stricter: the kernel makes a device that cannot come up.
            // Stricter: the kernel takes `tapx` for `tap` (it compares only the length of
            // each name), so that device does come up, as a tap.
            ErrorKind::UnknownVectorTransport
                if VectorKind::kernel_reads(e.found.of(arg)).is_some() =>
            {
                assert_eq!(b.up(&format!("vec{n}")), 0, "{arg}\n{}", b.ctx);
            }
            ErrorKind::MissingVectorKey(..)
            | ErrorKind::MissingVectorTransport
            | ErrorKind::UnknownVectorTransport => {
                assert!(b.device(n).is_some(), "{arg}\n{}", b.ctx);
                assert_ne!(b.up(&format!("vec{n}")), 0, "{arg} came up\n{}", b.ctx);
            }
            // The values 6.1 panics on at ifup: created at boot (nothing opens then).
            ErrorKind::KernelPanic(_) => {
                assert!(b.device(n).is_some(), "{arg}\n{}", b.ctx);
            }
            k => panic!("{arg}: a refusal this test does not cover: {k:?}"),
        }
    }
    assert!(b.log.contains("missing transport for unit 14"), "{}", b.ctx);
}

fn bess_reopens_at_every_ifup_and_src_blocks_the_second() {
    let b = boot();
    let dir = &b.dir;
    // Every ifup connects again: two ifups, two connections.
    assert_eq!((b.up("vec1a"), b.up("vec1b")), (0, 0), "{}", b.ctx);
    assert_eq!(b.connections[0], 2, "{}", b.ctx);
    // With src: the first ifup binds src and connects; the second cannot bind it again.
    assert_eq!(b.up("vec2a"), 0, "{}", b.ctx);
    assert_ne!(b.up("vec2b"), 0, "{}", b.ctx);
    assert_eq!(b.connections[1], 1, "{}", b.ctx);
    assert!(
        b.log.contains("unix_open : could not bind socket err=98"),
        "{}",
        b.ctx
    );
    // Nothing listening: the first ifup fails to connect; after that failure the kernel
    // leaves the device marked open, so the next ifup fails at once with ENXIO.
    assert_ne!(b.up("vec17a"), 0, "{}", b.ctx);
    assert!(
        b.log
            .contains(&format!("bess open:cannot connect to {dir}/none.bess")),
        "{}",
        b.ctx
    );
    let (_, rc, said) = b.up_said("vec17b");
    assert!(
        *rc != 0 && said.contains("No such device or address"),
        "{said}\n{}",
        b.ctx
    );
}
