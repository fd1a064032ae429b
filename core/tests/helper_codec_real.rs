//! The core `helper` codec against the real UML kernel: a stand-in `uml_net` (a small
//! Python script placed first on the kernel's PATH) records every argv the 6.1 kernel
//! runs it with and answers with bytes our encoders produced beforehand: the tuntap
//! reply (both forms), output blocks, the ethertap status byte. The kernel's verdict
//! (interfaces up or not, text printed) and its ethertap address-change messages are
//! then checked with our decoders. Everything runs in a network namespace of its own.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use core::net::Ipv4Addr;
use umlnet_core::helper::{
    ADDR_CHANGE_LEN, AddrChange, AddrChangeRepr, AddrOp, ChangeOp, Command, EchoLine,
    EthertapStatus, HelperCall, IfName, TuntapUpReply, emit_output_block,
};
use umlnet_testkit::{Netns, UmlBoot, UmlGuest, dir_and_netns, real, run_cases};

fn main() {
    run_cases(vec![
        real(
            "the_kernel_accepts_our_replies",
            &["linux.uml", "python3"],
            the_kernel_accepts_our_replies,
        ),
        real(
            "every_argv_the_kernel_ran_parses_and_encodes_back",
            &["linux.uml", "python3"],
            every_argv_the_kernel_ran_parses_and_encodes_back,
        ),
        real(
            "the_kernels_ethertap_address_changes_decode",
            &["linux.uml", "python3"],
            the_kernels_ethertap_address_changes_decode,
        ),
        real(
            "original_uml_net_refusals_match_our_errors",
            &["uml_net"],
            original_uml_net_refusals_match_our_errors,
        ),
    ]);
}

const FAKE_UML_NET: &str = r#"#!/usr/bin/python3
# Test stand-in for uml_net: records argv, answers with pre-encoded bytes.
import fcntl, os, socket, struct, sys
D = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = sys.argv[1:]
with open(D + "/argv.log", "a") as f:
    f.write("\x1f".join(args) + "\n")
def blob(n):
    with open(D + "/" + n, "rb") as f:
        return f.read()
if args[1:3] == ["tuntap", "up"]:
    s = socket.socket(fileno=1)
    if args[3:] == ["10.9.1.1"]:
        s.sendmsg([blob("tuntap_fail.bin")])
    else:
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH22x", b"umlt0", 0x1002))
        s.sendmsg([blob("tuntap_ok.bin")],
                  [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))])
elif args[1] in ("add", "del"):
    os.write(1, blob(args[1] + "_block.bin"))
elif args[1] == "ethertap":
    os.write(1, blob("etap_hello.bin"))
    while True:
        msg = b""
        while len(msg) < 12:
            chunk = os.read(1, 12 - len(msg))
            if not chunk:
                sys.exit(0)
            msg += chunk
        with open(D + "/etap_ctl.log", "a") as f:
            f.write(msg.hex() + "\n")
        os.write(1, blob("empty_block.bin"))
elif args[1] == "slip":
    os.write(1, blob("slip_block.bin"))
"#;

fn block(text: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; text.len() + 8];
    let n = emit_output_block(text, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn write_blobs(dir: &Path) {
    let name = IfName::try_from("umlt0").unwrap();
    let mut buf = [0u8; 512];
    let ok = TuntapUpReply::Ready {
        name,
        text: b"umlnet-tuntap-ok\n",
    };
    let n = ok.emit(&mut buf).unwrap();
    std::fs::write(dir.join("tuntap_ok.bin"), &buf[..n]).unwrap();
    let fail = TuntapUpReply::Failed {
        text: b"umlnet-tuntap-refused\n",
    };
    let n = fail.emit(&mut buf).unwrap();
    std::fs::write(dir.join("tuntap_fail.bin"), &buf[..n]).unwrap();
    for op in ["add", "del"] {
        let mut text = String::new();
        write!(
            text,
            "{}",
            EchoLine(&["route", op, "-host", "10.9.0.2", "dev", "umlt0"])
        )
        .unwrap();
        writeln!(text, "umlnet-{op}-done").unwrap();
        std::fs::write(dir.join(format!("{op}_block.bin")), block(text.as_bytes())).unwrap();
    }
    let mut hello = vec![EthertapStatus::Ready.to_byte()];
    hello.extend(block(b"umlnet-ethertap-ready\n"));
    std::fs::write(dir.join("etap_hello.bin"), hello).unwrap();
    std::fs::write(dir.join("empty_block.bin"), block(b"")).unwrap();
    std::fs::write(dir.join("slip_block.bin"), block(b"umlnet-slip-up\n")).unwrap();
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// What one boot with a stand-in helper showed: the cases share it (the guest boots
/// once, the first case to ask waits for it).
struct Boot {
    /// What the guest's script said.
    said: Vec<String>,
    /// The kernel console.
    console: String,
    /// The stand-in helper's argv, one call a line, fields split by 0x1f.
    argv_log: Option<String>,
    /// The messages the kernel sent on the ethertap control socket, in hex, one a line.
    ctl: String,
}

/// The shared boot, made by the first case that asks.
fn boot() -> &'static Boot {
    static BOOT: OnceLock<Boot> = OnceLock::new();
    BOOT.get_or_init(boot_once)
}

/// Boots one guest whose `uml_net` is a stand-in answering with our encoder's bytes,
/// brings up a tuntap, a refused tuntap, an ethertap and a slip device, and reads back
/// what the kernel and the stand-in recorded. The namespace and files are gone after.
fn boot_once() -> Boot {
    let (dir, ns) = dir_and_netns("hck");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helper = bin.join("uml_net");
    std::fs::write(&helper, FAKE_UML_NET).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_blobs(dir.path());

    let eth = [
        "loglevel=8".to_string(),
        "eth0=tuntap,,,10.9.0.1".to_string(),
        "eth1=tuntap,,,10.9.1.1".to_string(),
        "eth2=ethertap,tap5,,10.9.5.1".to_string(),
        "eth3=slip,10.9.3.1".to_string(),
    ];
    let script = "\
        ip addr add 10.9.0.2/24 dev eth0; ip link set eth0 up && say 'RESULT eth0 up'\n\
        ip link set eth1 up 2>/dev/null || say 'RESULT eth1 refused'\n\
        ip addr add 10.9.5.2/24 dev eth2; ip link set eth2 up && say 'RESULT eth2 up'\n\
        ip addr add 10.9.3.2/24 dev eth3; ip link set eth3 up 2>/dev/null; say 'RESULT eth3 tried'\n\
        ip addr del 10.9.0.2/24 dev eth0\n\
        ip addr del 10.9.5.2/24 dev eth2\n\
        dmesg | grep -E 'umlnet-|receive a message' | while read -r l; do say \"DMESG $l\"; done";
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "hck",
        eth: &eth,
        script,
        path_prefix: Some(&bin),
    });
    let said = guest.finish(Duration::from_secs(90));
    let console = guest.console();
    Boot {
        said,
        console,
        argv_log: std::fs::read_to_string(dir.join("argv.log")).ok(),
        ctl: std::fs::read_to_string(dir.join("etap_ctl.log")).unwrap_or_default(),
    }
}

/// The kernel took our tuntap reply with its fd, our output blocks, the failure form
/// and the ethertap status byte, and printed our texts.
fn the_kernel_accepts_our_replies() {
    let Boot { said, console, .. } = boot();
    let has = |l: &str| said.iter().any(|s| s == l);
    let dmesg = |needle: &str| {
        said.iter()
            .any(|s| s.starts_with("DMESG") && s.contains(needle))
    };
    // Our tuntap reply with its fd: the kernel took the tap and printed our text.
    assert!(has("RESULT eth0 up"), "{said:?}\n{console}");
    assert!(dmesg("umlnet-tuntap-ok"), "{said:?}");
    // Our output blocks for add/del were read and printed.
    assert!(dmesg("umlnet-add-done"), "{said:?}");
    assert!(dmesg("umlnet-del-done"), "{said:?}");
    // The failure form (no name, no fd): ifup fails, the text is printed.
    assert!(has("RESULT eth1 refused"), "{said:?}");
    assert!(dmesg("umlnet-tuntap-refused"), "{said:?}");
    // Ethertap: our status byte and block opened the device.
    assert!(has("RESULT eth2 up"), "{said:?}\n{console}");
    assert!(dmesg("umlnet-ethertap-ready"), "{said:?}");
}

/// Every argv the kernel ran the helper with parses, and our encoder gives it back.
fn every_argv_the_kernel_ran_parses_and_encodes_back() {
    let Boot { argv_log, .. } = boot();
    let log = argv_log.as_deref().expect("the helper logged its argv");
    let mut calls = Vec::new();
    for line in log.lines() {
        let args: Vec<&str> = line.split('\x1f').collect();
        let call = HelperCall::parse(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let back: Vec<String> = call.to_argv().iter().map(|s| s.to_string()).collect();
        assert_eq!(back, args, "encoder differs from the kernel");
        calls.push(call);
    }
    let v4 = |command| HelperCall {
        version: 4,
        command,
    };
    let dev = |s: &str| IfName::try_from(s).unwrap();
    for expected in [
        v4(Command::TuntapUp {
            gate: Some(ip("10.9.0.1")),
        }),
        v4(Command::TuntapUp {
            gate: Some(ip("10.9.1.1")),
        }),
        v4(Command::Address {
            op: AddrOp::Add,
            dev: dev("umlt0"),
            ip: ip("10.9.0.2"),
            netmask: ip("255.255.255.0"),
        }),
        v4(Command::Address {
            op: AddrOp::Del,
            dev: dev("umlt0"),
            ip: ip("10.9.0.2"),
            netmask: ip("255.255.255.0"),
        }),
        v4(Command::SlipUp {
            gate: ip("10.9.3.1"),
        }),
    ] {
        assert!(calls.contains(&expected), "{expected} not among {log}");
    }
    let etap = calls
        .iter()
        .find_map(|c| match &c.command {
            Command::Ethertap { dev, data_fd, gate } => Some((dev.clone(), *data_fd, *gate)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ethertap call in {log}"));
    assert_eq!(etap.0.as_str(), "tap5");
    assert_eq!(etap.2, Some(ip("10.9.5.1")));
}

/// The kernel's address-change messages on the ethertap control socket decode.
fn the_kernels_ethertap_address_changes_decode() {
    let Boot { ctl, .. } = boot();
    let msgs: Vec<AddrChangeRepr> = ctl
        .lines()
        .map(|h| {
            let b: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            assert_eq!(b.len(), ADDR_CHANGE_LEN);
            AddrChangeRepr::parse(&AddrChange::new_checked(&b[..]).unwrap())
        })
        .collect();
    let add = AddrChangeRepr {
        op: ChangeOp::Add,
        addr: ip("10.9.5.2"),
        netmask: ip("255.255.255.0"),
    };
    assert!(msgs.contains(&add), "{ctl}");
    assert!(
        msgs.contains(&AddrChangeRepr {
            op: ChangeOp::Del,
            ..add
        }),
        "{ctl}"
    );
}

/// The original helper refuses these before touching the host; its message must be
/// the Display of our error for the same argv.
fn original_uml_net_refusals_match_our_errors() {
    let ns = Netns::new("hcm");
    let cases: &[&[&str]] = &[
        &["5", "tuntap", "up"],
        &["-1", "tuntap", "up"],
        &["4", "pcap", "x"],
        &["1", "add", "tap0", "10.0.0.1", "255.0.0.0"],
        &["3", "del", "tap0"],
        &["0", "tuntap", "up"],
        &["4"],
    ];
    for args in cases {
        let err = HelperCall::parse(args).expect_err("refused");
        let out = ns
            .command("/usr/bin/uml_net")
            .args(*args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let ours = err.to_string();
        // Our "bad argument list" adds the count; compare up to it there.
        let key = ours.split(" (").next().unwrap();
        assert!(
            text.contains(key),
            "{args:?}: original said {text:?}, we say {ours:?}"
        );
    }
}
