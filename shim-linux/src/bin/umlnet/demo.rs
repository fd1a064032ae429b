//! `umlnet demo`: the first run. Our `uml_switch` on a temporary unix socket and two
//! guests on it (real unix sockets, the real daemon protocol), one pinging the other and
//! fetching a page from it over TCP, told as a short transcript. No root, no setup.
//! `--real-uml` boots two real UML kernels on the switch instead, in a private network
//! namespace (root). `--baremetal` puts the bare-metal firmware (in QEMU) and one real
//! UML kernel on the switch ([`baremetal`]).

#[path = "demo_baremetal.rs"]
mod baremetal;

use clap::Args;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as StdInstant};

use umlnet_core::cmdline;
use umlnet_guest::smoltcp::time::Instant;
use umlnet_guest::{Guest, Run};
use umlnet_linux::transport::{HostLink, OpenOptions};

pub const EXAMPLES: &str = "\
Examples:
  umlnet demo                 # no root, no setup: switch + two guests, ping, page fetch
  sudo umlnet demo --real-uml # the same with two real UML kernels (linux.uml) in a netns
  sudo umlnet demo --baremetal # a Cortex-M3 board (QEMU mps2-an385) and a UML kernel

The switch is our uml_switch on a socket in a temporary directory; the guests are umlnet's
userspace guests (the same stack as `umlnet guest`), attached as eth0=daemon,,unix,<socket>
exactly as a UML kernel attaches. Everything is removed at the end. Exit status 0 when the
pings were answered and the page arrived.";

const ALICE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const BOB: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT: u16 = 80;

/// Run the demo.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DemoArgs {
    /// Boot two real UML kernels (linux.uml) on the switch, in a private network
    /// namespace (needs root).
    #[arg(long)]
    real_uml: bool,

    /// Boot the bare-metal firmware in QEMU (mps2-an385) and one real UML kernel on
    /// the switch, in a private network namespace (needs root and qemu-system-arm).
    #[arg(long, conflicts_with = "real_uml")]
    baremetal: bool,

    /// The firmware for --baremetal [default:
    /// target/thumbv7m-none-eabi/firmware/umlnet-firmware].
    #[arg(long, value_name = "PATH")]
    firmware: Option<PathBuf>,

    /// The UML kernel for --real-uml and --baremetal.
    #[arg(long, value_name = "PATH", default_value = "linux.uml")]
    kernel: PathBuf,

    /// (internal) Run as the demo's switch on this control socket.
    #[arg(long, hide = true, value_name = "CTL")]
    switch_child: Option<PathBuf>,

    /// (internal) The switch's console socket.
    #[arg(long, hide = true, value_name = "PATH")]
    mgmt: Option<PathBuf>,
}

/// The page bob serves.
fn page() -> String {
    "<html><body>\n\
     <h1>Hello from bob (10.0.0.2)</h1>\n\
     <p>This page crossed uml_switch over the daemon transport, as a UML's eth0 would.</p>\n\
     </body></html>\n"
        .to_string()
}

/// The temporary directory and the switch: removed and stopped on drop.
struct Lab {
    dir: PathBuf,
    switch: Option<Child>,
    netns: Option<String>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.switch.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let end = StdInstant::now() + Duration::from_secs(3);
            while c.try_wait().ok().flatten().is_none() && StdInstant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(ns) = self.netns.take() {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now(start: StdInstant) -> Instant {
    Instant::from_micros(start.elapsed().as_micros() as i64)
}

struct Transcript {
    text: String,
}

impl Transcript {
    fn say(&mut self, who: &str, what: &str) {
        for line in what.trim_end_matches('\n').split('\n') {
            let _ = writeln!(self.text, "{who:<7}| {line}");
        }
        // Print as we go, so a user sees progress.
        print!("{}", std::mem::take(&mut self.text));
    }
}

/// A temporary directory and a network namespace of its own (`<tag>-<pid>`, loopback up),
/// both removed when the returned [`Lab`] is dropped.
fn private_lab(tag: &str) -> Result<(Lab, PathBuf, String), String> {
    let dir = make_dir().map_err(|e| format!("making a temporary directory: {e}"))?;
    let ns = format!("{tag}-{}", std::process::id());
    let mut lab = Lab {
        dir: dir.clone(),
        switch: None,
        netns: None,
    };
    let ok = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .map_err(|e| format!("ip netns add: {e}"))?;
    if !ok.success() {
        return Err(format!("ip netns add {ns} failed"));
    }
    lab.netns = Some(ns.clone());
    let _ = Command::new("ip")
        .args(["netns", "exec", &ns, "ip", "link", "set", "lo", "up"])
        .status();
    Ok((lab, dir, ns))
}

fn make_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0..100 {
        let dir = base.join(format!("umlnet-demo-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::ErrorKind::AlreadyExists.into())
}

/// Starts the switch child (this program, `demo --switch-child`), optionally under
/// `ip netns exec`; returns it and its banner line.
fn start_switch(ctl: &Path, mgmt: &Path, netns: Option<&str>) -> Result<(Child, String), String> {
    let me = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&me);
            c
        }
        None => Command::new(&me),
    };
    cmd.arg("demo")
        .arg("--switch-child")
        .arg(ctl)
        .arg("--mgmt")
        .arg(mgmt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting the switch: {e}"))?;
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut banner = String::new();
    let _ = out.read_line(&mut banner);
    if !banner.contains("attached to unix socket") {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("the switch did not start: {}", banner.trim()));
    }
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    Ok((child, banner.trim().to_string()))
}

/// A guest on the switch: eth0=daemon,,unix,<ctl>, configured with `ip`.
fn guest(ctl: &Path, seed: u64) -> Result<(Guest<HostLink>, String), String> {
    let arg = format!("eth0=daemon,,unix,{}", ctl.display());
    let parsed = cmdline::parse(&arg).map_err(|e| e.display(&arg).to_string())?;
    let link = HostLink::open(&parsed.spec, &OpenOptions::default()).map_err(|e| e.to_string())?;
    let banner = link.banner();
    let mut g = Guest::new(seed, Instant::ZERO);
    g.add_device(&parsed.spec, link)
        .map_err(|e| e.to_string())?;
    Ok((g, format!("{arg}\nNetdevice 0 : {banner}")))
}

fn run_cmd(g: &mut Guest<HostLink>, line: &str, t: Instant) -> Result<String, String> {
    match g.run(line, t) {
        Run::Done(out) if out.status == 0 => Ok(out.text),
        Run::Done(out) => Err(format!("{line}: {}", out.text.trim())),
        Run::Started(_) => Err(format!("{line}: did not finish")),
    }
}

/// Bob: serves the page on TCP port 80 until told to stop, telling `log` what he serves.
fn serve(
    mut g: Guest<HostLink>,
    start: StdInstant,
    stop: Arc<AtomicBool>,
    log: std::sync::mpsc::Sender<String>,
) {
    let body = page();
    let reply = format!(
        "HTTP/1.0 200 OK\r\nServer: umlnet-guest\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut h = match g.tcp_listen(PORT) {
        Ok(h) => h,
        Err(e) => {
            let _ = log.send(format!("listen: {e}"));
            return;
        }
    };
    let mut request = Vec::new();
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        g.poll(now(start));
        let s = g.tcp(h);
        while s.can_recv() {
            let _ = s.recv(|b| {
                request.extend_from_slice(b);
                (b.len(), ())
            });
        }
        let complete = request.windows(4).any(|w| w == b"\r\n\r\n");
        if complete && sent < reply.len() && s.can_send() {
            if sent == 0 {
                let first = String::from_utf8_lossy(&request);
                let first = first.lines().next().unwrap_or("").to_string();
                let peer = s
                    .remote_endpoint()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                let _ = log.send(format!(
                    "{first}  (from {peer}): 200 OK, {} bytes",
                    body.len()
                ));
            }
            if let Ok(n) = s.send_slice(&reply.as_bytes()[sent..]) {
                sent += n;
            }
            if sent == reply.len() {
                s.close();
            }
        }
        if sent == reply.len() && !s.is_open() {
            // Ready for the next visitor.
            g.tcp_remove(h);
            match g.tcp_listen(PORT) {
                Ok(n) => h = n,
                Err(_) => break,
            }
            request.clear();
            sent = 0;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Alice fetches `http://<ip>/` and returns the whole reply.
fn fetch(g: &mut Guest<HostLink>, start: StdInstant, ip: Ipv4Addr) -> Result<String, String> {
    let h = g.tcp_connect(ip, PORT).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    let mut asked = false;
    let until = StdInstant::now() + Duration::from_secs(10);
    loop {
        if StdInstant::now() > until {
            return Err(format!(
                "no complete reply within 10 s ({} bytes)",
                reply.len()
            ));
        }
        g.poll(now(start));
        let s = g.tcp(h);
        if s.may_send() && !asked {
            s.send_slice(format!("GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n").as_bytes())
                .map_err(|e| e.to_string())?;
            asked = true;
        }
        while s.can_recv() {
            let _ = s.recv(|b| {
                reply.extend_from_slice(b);
                (b.len(), ())
            });
        }
        if asked && !s.may_recv() {
            s.close();
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    // Let the close go out.
    for _ in 0..20 {
        g.poll(now(start));
        std::thread::sleep(Duration::from_millis(1));
    }
    g.tcp_remove(h);
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

fn ping(g: &mut Guest<HostLink>, start: StdInstant, line: &str) -> (i32, String) {
    match g.run(line, now(start)) {
        Run::Done(out) => (out.status, out.text),
        Run::Started(job) => loop {
            g.poll(now(start));
            if let Some(out) = g.take_job(job) {
                return (out.status, out.text);
            }
            std::thread::sleep(Duration::from_millis(1));
        },
    }
}

fn userspace_demo() -> Result<(), String> {
    let dir = make_dir().map_err(|e| format!("making a temporary directory: {e}"))?;
    let mut lab = Lab {
        dir: dir.clone(),
        switch: None,
        netns: None,
    };
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("uml.mgmt");
    let mut t = Transcript {
        text: String::new(),
    };
    t.say(
        "umlnet",
        &format!(
            "demo: our uml_switch and two guests, alice and bob, on unix sockets in {}",
            dir.display()
        ),
    );
    t.say(
        "switch",
        &format!(
            "$ uml_switch -unix {} -mgmt {}",
            ctl.display(),
            mgmt.display()
        ),
    );
    let (child, banner) = start_switch(&ctl, &mgmt, None)?;
    lab.switch = Some(child);
    t.say("switch", &banner);

    let start = StdInstant::now();
    let seed = start.elapsed().as_nanos() as u64 ^ u64::from(std::process::id());
    let (mut alice, a_banner) = guest(&ctl, seed ^ 0xa11ce)?;
    t.say("alice", &a_banner);
    let (mut bob, b_banner) = guest(&ctl, seed ^ 0xb0b)?;
    t.say("bob", &b_banner);
    for (name, g, ip) in [("alice", &mut alice, ALICE), ("bob", &mut bob, BOB)] {
        let line = format!("ifconfig eth0 {ip} netmask 255.255.255.0 up");
        t.say(name, &format!("# {line}"));
        run_cmd(g, &line, now(start))?;
        let mac = g
            .interface(0)
            .map(|i| i.mac.to_string())
            .unwrap_or_default();
        t.say(
            name,
            &format!(
                "eth0 is up: {ip}/24, MAC {mac} (fe:fd + the IP, the UML networking page's rule)"
            ),
        );
    }

    // Bob serves in a thread of his own.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || serve(bob, start, stop2, tx));
    t.say("bob", &format!("serving http://{BOB}/ on TCP port {PORT}"));

    let line = format!("ping -c 3 {BOB}");
    t.say("alice", &format!("# {line}"));
    let (status, out) = ping(&mut alice, start, &line);
    t.say("alice", &out);
    let pinged = status == 0 && out.contains(" 3 received, 0% packet loss");

    t.say("alice", &format!("# fetch http://{BOB}/"));
    let got = fetch(&mut alice, start, BOB);
    if let Ok(l) = rx.recv_timeout(Duration::from_secs(1)) {
        t.say("bob", &l);
    }
    let fetched = match &got {
        Ok(reply) => {
            t.say("alice", &reply.replace('\r', ""));
            reply.starts_with("HTTP/1.0 200 OK") && reply.ends_with(&page())
        }
        Err(e) => {
            t.say("alice", &format!("fetch failed: {e}"));
            false
        }
    };
    t.say("alice", "# arp -n");
    let arp = run_cmd(&mut alice, "arp -n", now(start)).unwrap_or_else(|e| e);
    t.say("alice", &arp);
    match umlnet_linux::switchd::switch_status(&mgmt) {
        Ok(s) => {
            // The ports and the addresses learned on them (the stats line left out).
            let shown: Vec<&str> = s
                .lines()
                .filter(|l| {
                    l.starts_with("port ") || l.ends_with(" addresses") || l.starts_with("fe:fd")
                })
                .collect();
            t.say(
                "switch",
                &format!(
                    "$ umlnet switch-status {}\n{}",
                    mgmt.display(),
                    shown.join("\n")
                ),
            );
        }
        Err(e) => t.say("switch", &format!("status: {e:#}")),
    }
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    for l in rx.try_iter() {
        t.say("bob", &l);
    }
    drop(alice);
    drop(lab);
    t.say(
        "umlnet",
        &format!("done: switch stopped, {} removed", dir.display()),
    );
    match (pinged, fetched) {
        (true, true) => {
            t.say(
                "umlnet",
                "PASS: 3 ping replies and the page arrived over TCP",
            );
            Ok(())
        }
        _ => Err(format!(
            "ping {}, page {}",
            if pinged { "answered" } else { "NOT answered" },
            if fetched { "fetched" } else { "NOT fetched" }
        )),
    }
}

/// Runs `umlnet demo`.
pub fn run(args: &DemoArgs) -> ExitCode {
    if let Some(ctl) = &args.switch_child {
        let mut argv: Vec<std::ffi::OsString> =
            vec!["uml_switch".into(), "-unix".into(), ctl.clone().into()];
        if let Some(m) = &args.mgmt {
            argv.push("-mgmt".into());
            argv.push(m.clone().into());
        }
        return ExitCode::from(umlnet_linux::switchd::main_with_args(&argv) as u8);
    }
    let r = if args.baremetal {
        baremetal::run(
            &args.kernel,
            &baremetal::firmware_path(args.firmware.as_deref()),
        )
    } else if args.real_uml {
        real_uml_demo(&args.kernel)
    } else {
        userspace_demo()
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("umlnet demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--real-uml`: two real UML kernels on our switch in a private network namespace.
fn real_uml_demo(kernel: &Path) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("--real-uml needs root (it makes a network namespace); \
                    `umlnet demo` without it needs none"
            .into());
    }
    let launch =
        umlnet_linux::umlkernel::KernelLaunch::for_host(None).map_err(|e| e.to_string())?;
    let (mut lab, dir, ns) = private_lab("umlnet-demo")?;
    let ctl = dir.join("uml.ctl");
    let mgmt = dir.join("uml.mgmt");
    let mut t = Transcript {
        text: String::new(),
    };
    t.say(
        "umlnet",
        &format!(
            "demo: our uml_switch and two real UML kernels in network namespace {ns}, files in {}",
            dir.display()
        ),
    );
    let (child, banner) = start_switch(&ctl, &mgmt, Some(&ns))?;
    lab.switch = Some(child);
    t.say("switch", &banner);
    std::fs::write(dir.join("index.html"), page()).map_err(|e| e.to_string())?;
    let script = |name: &str, body: &str| -> Result<PathBuf, String> {
        use std::os::unix::fs::PermissionsExt;
        let out = dir.join(format!("{name}.out"));
        let p = dir.join(format!("{name}.init.sh"));
        let text = format!(
            "#!/bin/sh\nexport PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
             mount -t proc proc /proc 2>/dev/null\nmount -t sysfs sys /sys 2>/dev/null\n\
             exec >> '{out}' 2>&1\nip link set lo up\n{body}\necho o > /proc/sysrq-trigger\nsleep 30\n",
            out = out.display()
        );
        std::fs::write(&p, text).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        Ok(p)
    };
    let bob = script(
        "bob",
        &format!(
            "ip addr add {BOB}/24 dev eth0\nip link set eth0 up\necho 'eth0 up: {BOB}/24'\n\
             cd '{}' && python3 -m http.server {PORT} --bind {BOB} >/dev/null 2>&1 &\n\
             while [ ! -e '{}' ]; do sleep 0.2; done\n",
            dir.display(),
            dir.join("alice.done").display()
        ),
    )?;
    let alice = script(
        "alice",
        &format!(
            "ip addr add {ALICE}/24 dev eth0\nip link set eth0 up\necho 'eth0 up: {ALICE}/24'\n\
             echo '# ping -c 3 {BOB}'\nping -c 3 {BOB}\nsleep 1\n\
             echo '# fetch http://{BOB}/index.html   (python3 urllib in the UML)'\n\
             for i in 1 2 3 4 5 6 7 8 9 10; do python3 -c \"import sys, urllib.request as u; \
             sys.stdout.write(u.urlopen('http://{BOB}/index.html', timeout=3).read().decode())\" \
             && break; sleep 1; done\n\
             touch '{}'\n",
            dir.join("alice.done").display()
        ),
    )?;
    let boot = |name: &str, init: &Path| -> Result<Child, String> {
        let mut cmd = Command::new("ip");
        launch.apply_env(&mut cmd);
        cmd.args(["netns", "exec", &ns])
            .arg(kernel)
            .args([
                "mem=96M",
                "root=/dev/root",
                "rootfstype=hostfs",
                "rootflags=/",
                "rw",
                "quiet",
                &format!("umid={name}"),
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
            .map_err(|e| format!("booting {}: {e}", kernel.display()))
    };
    t.say(
        "bob",
        &format!(
            "$ {} ... eth0=daemon,,unix,{}",
            kernel.display(),
            ctl.display()
        ),
    );
    let mut b = boot("bob", &bob)?;
    t.say(
        "alice",
        &format!(
            "$ {} ... eth0=daemon,,unix,{}",
            kernel.display(),
            ctl.display()
        ),
    );
    let mut a = boot("alice", &alice)?;
    let deadline = StdInstant::now() + Duration::from_secs(120);
    while a.try_wait().ok().flatten().is_none() && StdInstant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::write(dir.join("alice.done"), "");
    let end = StdInstant::now() + Duration::from_secs(20);
    while b.try_wait().ok().flatten().is_none() && StdInstant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = a.kill();
    let _ = b.kill();
    let _ = a.wait();
    let _ = b.wait();
    let a_out = std::fs::read_to_string(dir.join("alice.out")).unwrap_or_default();
    let b_out = std::fs::read_to_string(dir.join("bob.out")).unwrap_or_default();
    t.say("bob", &b_out);
    t.say("alice", &a_out);
    let pinged = a_out.contains(" 3 received, 0% packet loss");
    let fetched = a_out.contains("Hello from bob");
    drop(lab);
    t.say(
        "umlnet",
        &format!(
            "done: kernels halted, switch stopped, netns {ns} and {} removed",
            dir.display()
        ),
    );
    if pinged && fetched {
        t.say(
            "umlnet",
            "PASS: 3 ping replies and the page arrived over TCP",
        );
        Ok(())
    } else {
        Err(format!(
            "ping {}, page {}",
            if pinged { "answered" } else { "NOT answered" },
            if fetched { "fetched" } else { "NOT fetched" }
        ))
    }
}
