//! The bare-metal firmware (`shim-baremetal`, built for `thumbv7m-none-eabi`) in QEMU's
//! `mps2-an385`:
//!
//! * its LAN9118 attached to our `uml_switch` as a vde2 client, beside a real UML
//!   kernel on the same switch: the kernel pings the firmware and fetches its page,
//!   the firmware pings the kernel from its console;
//! * the same through `umlnet demo --baremetal`, which makes its own namespace;
//! * its second UART as a SLIP line (`eth0=slip`), QEMU's end of it on a unix socket
//!   that `umlnet slip-bridge` turns into a TUN device: the host pings the firmware.
//!
//! All of it inside a network namespace of the test's own; the switch, QEMU, the
//! bridge and the kernel are ended at the end.
//!
//! Needs root, `linux.uml`, `qemu-system-arm`, `python3` (in the UML guest, to fetch
//! the page) and the firmware, built first with `cargo build -p umlnet-baremetal
//! --features firmware --target thumbv7m-none-eabi --profile firmware` (`.ci/run`
//! does). Without the firmware the case is reported as ignored, except under
//! `CI=true`, where it fails with that command.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use umlnet_testkit::{
    Netns, OurSwitch, UmlGuest, bin, dir_and_netns, real, run_cases, under_ci, wait_for,
};

const FIRMWARE_BUILD: &str = "cargo build -p umlnet-baremetal --features firmware \
                              --target thumbv7m-none-eabi --profile firmware";

/// Where the firmware build leaves the ELF.
fn firmware() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("thumbv7m-none-eabi/firmware/umlnet-firmware")
}

fn main() {
    let fw = firmware();
    let built = fw.is_file() || under_ci();
    if !built {
        eprintln!(
            "ignoring 3 real-host case(s), no firmware at {} (build it with `{FIRMWARE_BUILD}`)",
            fw.display()
        );
    }
    let cases = vec![
        real(
            "firmware_and_uml_kernel_ping_each_other_and_the_kernel_fetches_the_page",
            &["linux.uml", "qemu-system-arm", "python3"],
            firmware_and_uml_kernel_ping_each_other_and_the_kernel_fetches_the_page,
        ),
        real(
            "the_host_pings_the_firmware_over_slip_through_slip_bridge",
            &["qemu-system-arm", "ping"],
            the_host_pings_the_firmware_over_slip_through_slip_bridge,
        ),
        real(
            "umlnet_demo_baremetal_passes_and_leaves_nothing_behind",
            &["linux.uml", "qemu-system-arm", "python3"],
            umlnet_demo_baremetal_passes_and_leaves_nothing_behind,
        ),
    ];
    run_cases(
        cases
            .into_iter()
            .map(|c| if built { c } else { c.with_ignored_flag(true) })
            .collect(),
    )
}

/// The firmware, or a failure naming the command that builds it.
fn built_firmware() -> PathBuf {
    let fw = firmware();
    assert!(
        fw.is_file(),
        "no firmware at {}: build it with `{FIRMWARE_BUILD}`",
        fw.display()
    );
    fw
}

/// QEMU running the firmware, its console collected as it comes.
struct Board {
    child: Child,
    stdin: ChildStdin,
    console: Arc<Mutex<String>>,
}

impl Board {
    /// Boots the firmware with `cmdline`; `devices` are QEMU's arguments for the NIC
    /// and the second serial line.
    fn boot(ns: &Netns, firmware: &Path, cmdline: &str, devices: &[String]) -> Board {
        let mut cmd = ns.command("qemu-system-arm");
        cmd.args([
            "-M",
            "mps2-an385",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "stdio",
        ])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(firmware)
        .args(["-append", cmdline])
        .args(devices)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn qemu-system-arm");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let console = Arc::new(Mutex::new(String::new()));
        let sink = console.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Board {
            child,
            stdin,
            console,
        }
    }

    fn console(&self) -> String {
        self.console.lock().unwrap().clone()
    }

    /// Waits until the console shows `needle` after byte `from`; returns where it ends.
    fn wait_for(&mut self, needle: &str, from: usize, timeout: Duration) -> usize {
        let end = Instant::now() + timeout;
        loop {
            let text = self.console();
            if let Some(at) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + at + needle.len();
            }
            let exited = self.child.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < end,
                "the firmware's console never showed {needle:?} ({}); console:\n{text}",
                if exited.is_some() {
                    "QEMU exited"
                } else {
                    "timed out"
                }
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.write_all(b"\r").unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn firmware_and_uml_kernel_ping_each_other_and_the_kernel_fetches_the_page() {
    let started = Instant::now();
    let fw = built_firmware();
    let (dir, ns) = dir_and_netns("bm");
    let switch_dir = dir.join("switch");
    std::fs::create_dir_all(&switch_dir).unwrap();
    let ctl = switch_dir.join("ctl");
    let switch = OurSwitch::start(&bin!("uml_switch"), &ns, &dir, "switch", &ctl, &[]);

    let mut board = Board::boot(
        &ns,
        &fw,
        "eth0=daemon,fe:fd:0a:00:00:05 ip=10.0.0.5/24",
        &[
            "-nic".into(),
            format!("vde,sock={},model=lan9118", switch_dir.display()),
        ],
    );
    let booted = board.wait_for("# route -n", 0, Duration::from_secs(10));
    let shown = board.wait_for("\n# ", booted, Duration::from_secs(5));
    let boot_text = board.console()[..shown].to_string();
    assert!(
        boot_text.contains("HWaddr fe:fd:0a:00:00:05"),
        "{boot_text}"
    );
    assert!(boot_text.contains("inet addr:10.0.0.5  Bcast:10.0.0.255  Mask:255.255.255.0"));
    assert!(
        boot_text.contains(
            "10.0.0.0        0.0.0.0         255.255.255.0   U     0      0        0 eth0"
        ),
        "{boot_text}"
    );

    let release = dir.join("release");
    let script = format!(
        "ip addr add 10.0.0.1/24 dev eth0\n\
         ip link set eth0 up\n\
         say UP\n\
         if ping -c 3 -W 2 10.0.0.5 > $T/ping.txt 2>&1; then say PING ok; else say PING failed $(tail -n 3 $T/ping.txt); fi\n\
         python3 -c \"import urllib.request as u; print(u.urlopen('http://10.0.0.5/', timeout=10).read().decode())\" > $T/page.html 2>&1\n\
         say PAGE $(grep -c 'umlnet bare-metal guest' $T/page.html) $(grep -o 'inet addr:[0-9.]*' $T/page.html | head -n 1)\n\
         while [ ! -e {release} ]; do sleep 0.2; done\n",
        release = release.display()
    );
    let mut uml = UmlGuest::boot_in(
        &ns,
        &dir,
        "uml",
        &[format!("eth0=daemon,,unix,{}", ctl.display())],
        &script,
    );
    uml.wait_said("UP", Duration::from_secs(30));
    let ping = uml.wait_said("PING", Duration::from_secs(15));
    assert_eq!(
        ping,
        "PING ok",
        "the UML kernel pinged the firmware; console:\n{}",
        board.console()
    );
    let page = uml.wait_said("PAGE", Duration::from_secs(15));
    assert_eq!(
        page, "PAGE 2 inet addr:10.0.0.5",
        "the page names the guest twice and shows eth0"
    );
    let at = board.wait_for("\"GET / HTTP/1.1\" 200", shown, Duration::from_secs(5));

    // The firmware pings the kernel from its console.
    board.type_line("ping -c 3 10.0.0.1");
    let end = board.wait_for("rtt min/avg/max/mdev", at, Duration::from_secs(10));
    let text = board.console()[at..end].to_string();
    assert!(
        text.contains("3 packets transmitted, 3 received, 0% packet loss"),
        "{text}"
    );
    assert!(
        text.contains("64 bytes from 10.0.0.1: icmp_seq=3 ttl=64"),
        "{text}"
    );
    board.type_line("arp -n");
    board.type_line("mem");
    let mem_end = board.wait_for("mem: statics", end, Duration::from_secs(5));
    let text = board.console()[end..].to_string();
    assert!(text.contains("10.0.0.1"), "arp -n lists the kernel: {text}");
    let _ = mem_end;
    eprintln!("the firmware's console:\n{}", board.console());

    std::fs::write(&release, "").unwrap();
    uml.finish(Duration::from_secs(15));
    drop(board);
    drop(switch);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

fn the_host_pings_the_firmware_over_slip_through_slip_bridge() {
    let started = Instant::now();
    let fw = built_firmware();
    let (dir, ns) = dir_and_netns("bm-slip");
    let line = dir.join("slip.sock");
    let mut board = Board::boot(
        &ns,
        &fw,
        "eth0=slip,10.1.0.1 ip=10.1.0.5/24",
        &[
            "-nic".into(),
            "none".into(),
            "-chardev".into(),
            format!("socket,id=slip,path={},server=on,wait=off", line.display()),
            "-serial".into(),
            "chardev:slip".into(),
        ],
    );
    let booted = board.wait_for("# route -n", 0, Duration::from_secs(10));
    let shown = board.wait_for("\n# ", booted, Duration::from_secs(5));
    let boot_text = board.console()[..shown].to_string();
    assert!(
        boot_text.contains("Netdevice 0 (slip) : SLIP on UART1"),
        "{boot_text}"
    );
    assert!(
        boot_text.contains("Link encap:Serial Line IP"),
        "{boot_text}"
    );

    // QEMU's end of the line, as slip-bridge's stdin and stdout.
    let stream = UnixStream::connect(&line).expect("connect to QEMU's serial socket");
    let mut bridge = ns.command(bin!("umlnet"));
    bridge
        .args(["slip-bridge", "--local", "10.1.0.1", "--peer", "10.1.0.5"])
        .stdin(Stdio::from(OwnedFd::from(stream.try_clone().unwrap())))
        .stdout(Stdio::from(OwnedFd::from(stream)))
        .stderr(Stdio::inherit());
    let mut bridge = ChildGuard(bridge.spawn().expect("spawn umlnet slip-bridge"));
    wait_for("slip-bridge's TUN device", Duration::from_secs(10), || {
        ns.sh("ip -o addr show").contains("10.1.0.1 peer 10.1.0.5")
    });
    let out = ns.sh_output("ping -c 3 -W 3 10.1.0.5");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 packets transmitted, 3 received"),
        "the host pinged the firmware over SLIP: {text}\nconsole:\n{}",
        board.console()
    );
    board.type_line("ifconfig");
    let end = board.wait_for("TX bytes", shown, Duration::from_secs(5));
    let text = board.console()[shown..end].to_string();
    assert!(text.contains("RX packets:3 "), "{text}");
    assert!(text.contains("TX packets:3 "), "{text}");
    let _ = bridge.0.kill();
    drop(board);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// A child process killed when the case ends, however it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn umlnet_demo_baremetal_passes_and_leaves_nothing_behind() {
    let started = Instant::now();
    let fw = built_firmware();
    let out = std::process::Command::new(bin!("umlnet"))
        .args(["demo", "--baremetal", "--firmware"])
        .arg(&fw)
        .stdin(Stdio::null())
        .output()
        .expect("run umlnet demo --baremetal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PASS: pings both ways answered"), "{text}");
    assert!(
        text.contains("uml    | <h1>umlnet bare-metal guest</h1>"),
        "{text}"
    );
    let ns = text
        .split_whitespace()
        .find(|w| w.starts_with("umlnet-demo-bm-"))
        .expect("the demo names its namespace")
        .trim_end_matches(',');
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(ns),
        "the demo removed {ns}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
