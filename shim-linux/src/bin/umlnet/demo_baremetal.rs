//! `umlnet demo --baremetal`: the bare-metal firmware (`shim-baremetal`) in QEMU's
//! `mps2-an385` and a real UML kernel on our switch, in a private network namespace
//! (root). The kernel pings the board and fetches its page; the board pings the kernel
//! from its console. The board's console and the kernel's output are the transcript.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Transcript, private_lab, start_switch};

/// Where `cargo build -p umlnet-baremetal --features firmware --target
/// thumbv7m-none-eabi --profile firmware` leaves the firmware, from the workspace root.
pub const DEFAULT_FIRMWARE: &str = "target/thumbv7m-none-eabi/firmware/umlnet-firmware";

const BOARD_CMDLINE: &str = "eth0=daemon,fe:fd:0a:00:00:05 ip=10.0.0.5/24";

/// QEMU running the firmware; its console printed as it comes and kept.
struct Board {
    child: Child,
    console: Arc<Mutex<String>>,
}

impl Board {
    fn waits_for(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let end = Instant::now() + timeout;
        while !self.console.lock().unwrap().contains(needle) {
            if Instant::now() > end || self.child.try_wait().ok().flatten().is_some() {
                return Err(format!("the board never printed {needle:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the demo with the UML kernel `kernel` and the firmware `firmware`.
pub fn run(kernel: &Path, firmware: &Path) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("--baremetal needs root (it makes a network namespace)".into());
    }
    if !firmware.is_file() {
        return Err(format!(
            "no firmware at {}: build it with `rustup target add thumbv7m-none-eabi && cargo \
             build -p umlnet-baremetal --features firmware --target thumbv7m-none-eabi \
             --profile firmware` (or name it with --firmware)",
            firmware.display()
        ));
    }
    let launch =
        umlnet_linux::umlkernel::KernelLaunch::for_host(None).map_err(|e| e.to_string())?;
    let (mut lab, dir, ns) = private_lab("umlnet-demo-bm")?;
    let mut t = Transcript {
        text: String::new(),
    };
    t.say(
        "umlnet",
        &format!(
            "demo: our uml_switch, a Cortex-M3 board in QEMU and a real UML kernel in network \
             namespace {ns}, files in {}",
            dir.display()
        ),
    );
    // vde2 clients (QEMU's -nic vde) name the switch by a directory holding `ctl`.
    let sw = dir.join("switch");
    std::fs::create_dir(&sw).map_err(|e| e.to_string())?;
    let ctl = sw.join("ctl");
    let (child, banner) = start_switch(&ctl, &dir.join("uml.mgmt"), Some(&ns))?;
    lab.switch = Some(child);
    t.say("switch", &banner);

    t.say(
        "board",
        &format!(
            "$ qemu-system-arm -M mps2-an385 -kernel {} -append \"{BOARD_CMDLINE}\" -nic vde,sock={}",
            firmware.display(),
            sw.display()
        ),
    );
    let mut qemu = Command::new("ip");
    qemu.args(["netns", "exec", &ns, "qemu-system-arm", "-M", "mps2-an385"])
        .args(["-nographic", "-monitor", "none", "-serial", "stdio"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(firmware)
        .args(["-append", BOARD_CMDLINE, "-nic"])
        .arg(format!("vde,sock={},model=lan9118", sw.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = qemu
        .spawn()
        .map_err(|e| format!("starting qemu-system-arm (apt-get install qemu-system-arm): {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let console = Arc::new(Mutex::new(String::new()));
    let sink = console.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut line = String::new();
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).replace('\r', "");
            sink.lock().unwrap().push_str(&text);
            line.push_str(&text);
            while let Some(at) = line.find('\n') {
                println!("board  | {}", &line[..at]);
                line.drain(..=at);
            }
        }
    });
    let mut board = Board { child, console };
    board.waits_for("# route -n", Duration::from_secs(15))?;

    let out = dir.join("uml.out");
    let done = dir.join("uml.done");
    let init = dir.join("uml.init.sh");
    let script = format!(
        "#!/bin/sh\nexport PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
         mount -t proc proc /proc 2>/dev/null\nmount -t sysfs sys /sys 2>/dev/null\n\
         exec >> '{out}' 2>&1\nip link set lo up\n\
         ip addr add 10.0.0.1/24 dev eth0\nip link set eth0 up\necho 'eth0 up: 10.0.0.1/24'\n\
         echo '# ping -c 3 10.0.0.5'\nping -c 3 10.0.0.5\n\
         echo '# fetch http://10.0.0.5/   (python3 urllib in the UML)'\n\
         python3 -c \"import sys, urllib.request as u; \
         sys.stdout.write(u.urlopen('http://10.0.0.5/', timeout=10).read().decode())\"\n\
         echo FETCHED\n\
         while [ ! -e '{done}' ]; do sleep 0.2; done\n\
         echo o > /proc/sysrq-trigger\nsleep 30\n",
        out = out.display(),
        done = done.display()
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&init, script).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    t.say(
        "uml",
        &format!(
            "$ {} ... eth0=daemon,,unix,{}",
            kernel.display(),
            ctl.display()
        ),
    );
    let mut cmd = Command::new("ip");
    launch.apply_env(&mut cmd);
    let mut uml = cmd
        .args(["netns", "exec", &ns])
        .arg(kernel)
        .args([
            "mem=96M",
            "root=/dev/root",
            "rootfstype=hostfs",
            "rootflags=/",
            "rw",
            "quiet",
            "umid=uml",
            &format!("uml_dir={}/", dir.display()),
            &format!("init={}", init.display()),
            "con=null",
            "con0=fd:0,fd:1",
            &format!("eth0=daemon,,unix,{}", ctl.display()),
        ])
        .args(&launch.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("booting {}: {e}", kernel.display()))?;
    let said = || std::fs::read_to_string(&out).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(90);
    while !said().contains("FETCHED") && Instant::now() < end {
        if uml.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let uml_out = said();
    t.say("uml", &uml_out.replace("FETCHED\n", ""));

    // The board pings the kernel from its console.
    let _ = stdin.write_all(b"ping -c 3 10.0.0.1\r");
    let _ = stdin.flush();
    let board_pinged = board.waits_for("rtt min/avg/max/mdev", Duration::from_secs(10));
    let _ = stdin.write_all(b"mem\r");
    let _ = board.waits_for("mem: statics", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));

    let _ = std::fs::write(&done, "");
    let end = Instant::now() + Duration::from_secs(15);
    while uml.try_wait().ok().flatten().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = uml.kill();
    let _ = uml.wait();
    let board_text = board.console.lock().unwrap().clone();
    drop(board);
    drop(lab);
    t.say(
        "umlnet",
        &format!(
            "done: board and kernel stopped, switch stopped, netns {ns} and {} removed",
            dir.display()
        ),
    );
    let checks = [
        (
            "the kernel's ping of the board",
            uml_out.contains(" 3 received, 0% packet loss"),
        ),
        (
            "the board's page fetched by the kernel",
            uml_out.contains("<h1>umlnet bare-metal guest</h1>"),
        ),
        (
            "the board's ping of the kernel",
            board_pinged.is_ok() && board_text.contains("3 received, 0% packet loss"),
        ),
    ];
    let failed: Vec<&str> = checks.iter().filter(|c| !c.1).map(|c| c.0).collect();
    if failed.is_empty() {
        t.say(
            "umlnet",
            "PASS: pings both ways answered, the page arrived over TCP",
        );
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

/// The firmware path to use: `--firmware`, else [`DEFAULT_FIRMWARE`].
pub fn firmware_path(given: Option<&Path>) -> PathBuf {
    given.map_or_else(|| PathBuf::from(DEFAULT_FIRMWARE), Path::to_path_buf)
}
