//! `umlnet check` on `vec<n>:` devices, as a user runs it: the built binary explains each
//! device, refuses (exit 2, naming the key) what the kernel refuses, and refuses as an
//! ERROR every value with which the 6.1 kernel panics at ifup.

use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .arg("check")
        .arg("--no-host-checks")
        .args(args)
        .output()
        .expect("run umlnet")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `umlnet check <arg>`, expects exit 2 and returns stderr.
fn refused(arg: &str) -> String {
    let o = check(&[arg]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{arg} accepted: {}",
        text(&o.stdout)
    );
    text(&o.stderr)
}

#[test]
fn the_howto_session_id_is_refused_as_a_kernel_panic() {
    let e = refused(
        "vec0:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,rx_session=0xffffffff,tx_session=1",
    );
    assert!(e.contains("vec0: rx_session:"), "{e}");
    assert!(
        e.contains("ERROR: the 6.1 kernel would PANIC at ifup"),
        "{e}"
    );
    for arg in [
        "vec0:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,dstport=1,rx_session=1",
        "vec0:transport=gre,src=10.0.0.1,dst=10.0.0.2,rx_key=1",
        "vec0:transport=l2tpv3,src=10.0.0.1,dst=10.0.0.2,rx_session=1,tx_session=1,rx_cookie=1",
    ] {
        let e = refused(arg);
        assert!(e.contains("would PANIC at ifup"), "{arg}: {e}");
    }
}

#[test]
fn refusals_name_the_key() {
    assert_eq!(
        refused("vec0:transport=bess"),
        "umlnet check: vec0: transport=bess needs dst=<socket path> (without it ifup fails \
         with EINVAL)\n"
    );
    for (arg, key) in [
        ("vec0:transport=fd,fd=-1", "fd:"),
        ("vec0:transport=tap,mtu=100", "mtu:"),
        ("vec0:transport=tap,depth=1=2", "depth:"),
        ("vec0:transport=bess,dst=/x,udp=1", "udp:"),
        ("vec0:transport=gre,src=10.0.0.1,dst=fe80::1", "dst:"),
        ("vec0:transport=wire", "transport:"),
    ] {
        let e = refused(arg);
        assert!(
            e.starts_with(&format!("umlnet check: vec0: {key}")),
            "{arg}: {e}"
        );
        assert!(!e.contains("PANIC"), "{arg}: {e}");
    }
}

#[test]
fn each_device_is_explained() {
    let o = check(&[
        "mem=64M",
        "vec0:transport=bess,dst=/run/sw.bess,src=/run/me.bess",
        "vec1:transport=fd,fd=3",
        "vec2:transport=l2tpv3,udp=1,src=10.0.0.1,dst=10.0.0.2,srcport=1701,dstport=1702,\
         rx_session=0x10,tx_session=0x20,counter=1",
        "eth0=ucast,,10.0.0.2,1103,1104",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    for needle in [
        "vec0:transport=bess,dst=/run/sw.bess,src=/run/me.bess\n",
        "AF_UNIX SOCK_SEQPACKET socket bound to /run/me.bess connected to /run/sw.bess",
        "opens the host side at ifup (ip link set vec0 up)",
        "every ifup opens (or connects) it again",
        "a second ifup (after ifdown) fails with EADDRINUSE",
        "the inherited descriptor 3",
        "UDP socket bound to 10.0.0.1 port 1701, sending to 10.0.0.2 port 1702",
        "header (12 bytes): 00 03 00 00, session 0x20, counter from 1",
        "ucast listen port 1103 -> remote 10.0.0.2:1104",
    ] {
        assert!(out.contains(needle), "{needle}\n{out}");
    }
}
