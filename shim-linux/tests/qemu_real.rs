//! Our `uml_switch` against real QEMU guests (x86-64 under TCG, Debian's kernel and a
//! busybox initramfs): one attached by `-netdev stream` on `-stream`, one by
//! `-netdev dgram` on `-dgram`, one by `-netdev l2tpv3` (over UDP, with cookies) on
//! `-l2tpv3`, all pinging a UML 6.1 kernel on the daemon transport of the same switch. Runs in a network namespace of its own.
//!
//! The guest kernel is `$UMLNET_QEMU_KERNEL` or the newest `/boot/vmlinuz-*`
//! (`apt-get install linux-image-amd64`); its `e1000` module is taken from the
//! `lib/modules` tree beside that `boot/` directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use umlnet_testkit::{Daemon, OurSwitch, UmlGuest, bin, dir_and_netns, real, run_cases, which};

const BOOT: Duration = Duration::from_secs(240);

fn main() {
    run_cases(vec![real(
        "qemu_guests_on_stream_dgram_and_l2tpv3_ports_ping_a_uml_kernel",
        &["linux.uml", "ip", "qemu-system-x86_64", "busybox"],
        qemu_guests_on_stream_dgram_and_l2tpv3_ports_ping_a_uml_kernel,
    )]);
}

/// The guest kernel and its e1000 module.
fn guest_kernel() -> (PathBuf, PathBuf) {
    let kernel = std::env::var_os("UMLNET_QEMU_KERNEL")
        .map(PathBuf::from)
        .or_else(|| {
            let mut v: Vec<PathBuf> = std::fs::read_dir("/boot")
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
                })
                .collect();
            v.sort();
            v.pop()
        })
        .expect(
            "no guest kernel: install Debian's linux-image-amd64 (or set UMLNET_QEMU_KERNEL \
             to a vmlinuz-<version> inside an extracted package's boot/ directory)",
        );
    let name = kernel.file_name().unwrap().to_string_lossy().into_owned();
    let version = name.trim_start_matches("vmlinuz-");
    let root = kernel
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    let module = root.join(format!(
        "lib/modules/{version}/kernel/drivers/net/ethernet/intel/e1000/e1000.ko"
    ));
    assert!(
        module.exists(),
        "the guest kernel {} has no e1000 module at {}",
        kernel.display(),
        module.display()
    );
    (kernel, module)
}

/// One entry of a `newc` cpio archive (the initramfs format).
fn cpio_entry(out: &mut Vec<u8>, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
    let fields = [
        0,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// An initramfs with busybox, the e1000 module and `init`.
fn initramfs(module: &Path, init: &str) -> Vec<u8> {
    let busybox = std::fs::read(which("busybox").unwrap()).unwrap();
    let mut a = Vec::new();
    for d in ["bin", "dev", "proc", "sys"] {
        cpio_entry(&mut a, d, 0o040755, (0, 0), &[]);
    }
    cpio_entry(&mut a, "dev/console", 0o020600, (5, 1), &[]);
    cpio_entry(&mut a, "bin/busybox", 0o100755, (0, 0), &busybox);
    cpio_entry(
        &mut a,
        "e1000.ko",
        0o100644,
        (0, 0),
        &std::fs::read(module).unwrap(),
    );
    cpio_entry(&mut a, "init", 0o100755, (0, 0), init.as_bytes());
    cpio_entry(&mut a, "TRAILER!!!", 0, (0, 0), &[]);
    a
}

fn guest_init(ip: &str, peer: &str) -> String {
    format!(
        "#!/bin/busybox sh\n\
         /bin/busybox --install -s /bin\n\
         mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev\n\
         insmod /e1000.ko\n\
         ip link set lo up; ip link set eth0 up; ip addr add {ip}/24 dev eth0\n\
         echo QEMU-UP\n\
         i=0; while [ $i -lt 60 ]; do ping -c 1 -W 1 {peer} >/dev/null 2>&1 && break; i=$((i+1)); done\n\
         ping -c 3 -W 2 {peer}; echo \"QEMU-PING $?\"\n\
         poweroff -f\n"
    )
}

/// Starts a QEMU guest with `netdev` in `ns`, its serial console in `<dir>/<name>.serial`.
fn start_qemu(
    ns: &umlnet_testkit::Netns,
    dir: &umlnet_testkit::TempDir,
    name: &str,
    (kernel, module): (&Path, &Path),
    netdev: &str,
    mac: &str,
    ip: &str,
) -> (Daemon, PathBuf) {
    let initrd = dir.join(&format!("{name}.cpio"));
    std::fs::write(&initrd, initramfs(module, &guest_init(ip, "10.0.0.2"))).unwrap();
    let serial = dir.join(&format!("{name}.serial"));
    let mut cmd = ns.command("qemu-system-x86_64");
    cmd.args([
        "-accel",
        "tcg",
        "-m",
        "256",
        "-display",
        "none",
        "-no-reboot",
    ])
    .arg("-kernel")
    .arg(kernel)
    .arg("-initrd")
    .arg(&initrd)
    .args(["-append", "console=ttyS0 panic=-1 quiet"])
    .arg("-serial")
    .arg(format!("file:{}", serial.display()))
    .args(["-netdev", netdev])
    .args(["-device", &format!("e1000,netdev=n0,mac={mac}")]);
    let d = Daemon::spawn(name, &mut cmd, &dir.join(&format!("{name}.log")));
    (d, serial)
}

fn wait_line(path: &Path, prefix: &str, timeout: Duration) -> Option<String> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(l) = s.lines().find(|l| l.starts_with(prefix)) {
            return Some(l.trim().to_string());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

fn qemu_guests_on_stream_dgram_and_l2tpv3_ports_ping_a_uml_kernel() {
    let (kernel, module) = guest_kernel();
    let (dir, ns) = dir_and_netns("qemu");
    let ctl = dir.join("uml.ctl");
    let stream = dir.join("stream.sock");
    let sw_dgram = dir.join("sw-dgram.sock");
    let qemu_dgram = dir.join("qemu-dgram.sock");
    let dgram_arg = format!("{},{}", sw_dgram.display(), qemu_dgram.display());
    let stream_arg = stream.to_string_lossy().into_owned();
    let sw = OurSwitch::start(
        &bin!("uml_switch"),
        &ns,
        &dir,
        "switch",
        &ctl,
        &[
            "-stream",
            &stream_arg,
            "-dgram",
            &dgram_arg,
            "-l2tpv3",
            "127.0.0.1:1801,127.0.0.1:1802,2,3,tx_cookie=0x11223344,rx_cookie=0x55667788",
        ],
    );
    let mut uml = UmlGuest::boot_in(
        &ns,
        &dir,
        "uml",
        &[format!("eth0=daemon,,unix,{}", ctl.display())],
        &format!(
            "ip link set eth0 up; ip addr add 10.0.0.2/24 dev eth0; say UP; \
             i=0; while [ ! -f {d}/done ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done",
            d = dir.path().display()
        ),
    );
    uml.wait_said("UP", BOOT);
    let (mut q1, s1) = start_qemu(
        &ns,
        &dir,
        "qemu-stream",
        (&kernel, &module),
        &format!(
            "stream,id=n0,server=off,addr.type=unix,addr.path={}",
            stream.display()
        ),
        "52:54:00:00:00:03",
        "10.0.0.3",
    );
    let (mut q2, s2) = start_qemu(
        &ns,
        &dir,
        "qemu-dgram",
        (&kernel, &module),
        &format!(
            "dgram,id=n0,local.type=unix,local.path={},remote.type=unix,remote.path={}",
            qemu_dgram.display(),
            sw_dgram.display()
        ),
        "52:54:00:00:00:04",
        "10.0.0.4",
    );
    let (mut q3, s3) = start_qemu(
        &ns,
        &dir,
        "qemu-l2tpv3",
        (&kernel, &module),
        "l2tpv3,id=n0,src=127.0.0.1,srcport=1802,dst=127.0.0.1,dstport=1801,udp=on,\
         txsession=3,rxsession=2,txcookie=0x55667788,rxcookie=0x11223344",
        "52:54:00:00:00:05",
        "10.0.0.5",
    );
    let r1 = wait_line(&s1, "QEMU-PING", BOOT);
    let r2 = wait_line(&s2, "QEMU-PING", BOOT);
    let r3 = wait_line(&s3, "QEMU-PING", BOOT);
    std::fs::write(dir.join("done"), b"").unwrap();
    let show = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    assert_eq!(
        (r1.as_deref(), r2.as_deref(), r3.as_deref()),
        (
            Some("QEMU-PING 0"),
            Some("QEMU-PING 0"),
            Some("QEMU-PING 0")
        ),
        "stream guest:\n{}\ndgram guest:\n{}\nl2tpv3 guest:\n{}\nswitch log:\n{}",
        show(&s1),
        show(&s2),
        show(&s3),
        sw.log_text()
    );
    for q in [&mut q1, &mut q2, &mut q3] {
        q.wait_timeout(Duration::from_secs(30));
    }
    uml.finish(BOOT);
    let log = sw.log_text();
    assert!(log.contains("(qemu stream)"), "{log}");
    // QEMU closed its stream connection at power-off: that port is gone.
    assert!(log.contains("Disconnect port"), "{log}");
}
