//! The core `daemon` codec against the real peers of the uml_switch control protocol:
//! the UML kernel's request (and its verdict on our replies), the original
//! `uml_switch`'s and `vde_switch`'s replies to our requests, and `vde_plug`'s request.
//! Everything travels over unix sockets; the programs run in a namespace of their own.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use umlnet_core::daemon::{
    DataAddr, MAX_REQUEST_LEN, REPLY_LEN, REQUEST_LEN, RequestRepr, emit_reply, parse_reply,
};
use umlnet_core::mac::MacAddr;
use umlnet_testkit::{
    Daemon, Netns, TempDir, UmlBoot, UmlGuest, dir_and_netns, real, run_cases, wait_for,
};

fn main() {
    run_cases(vec![
        real(
            "kernel_request_decodes_and_only_a_110_byte_reply_is_accepted",
            &["linux.uml"],
            kernel_request_decodes_and_only_a_110_byte_reply_is_accepted,
        ),
        real(
            "original_uml_switch_answers_our_requests",
            &["uml_switch"],
            original_uml_switch_answers_our_requests,
        ),
        real(
            "vde_switch_answers_our_request_with_a_path",
            &["vde_switch"],
            vde_switch_answers_our_request_with_a_path,
        ),
        real(
            "vde_plug_request_decodes_with_its_description",
            &["vde_plug"],
            vde_plug_request_decodes_with_its_description,
        ),
    ]);
}

/// What a fake switch saw on one control connection.
struct Seen {
    request: Vec<u8>,
    eof: bool,
}

/// Accepts one connection on `listener`, reads the request with one read (as a switch
/// does), answers with `reply`, then waits for the client to close.
fn fake_switch(listener: UnixListener, reply: Vec<u8>) -> std::thread::JoinHandle<Seen> {
    std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("accept");
        let mut buf = [0u8; MAX_REQUEST_LEN];
        let n = c.read(&mut buf).expect("read request");
        c.write_all(&reply).expect("write reply");
        c.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut rest = [0u8; 16];
        let eof = matches!(c.read(&mut rest), Ok(0));
        Seen {
            request: buf[..n].to_vec(),
            eof,
        }
    })
}

fn kernel_request_decodes_and_only_a_110_byte_reply_is_accepted() {
    let (dir, ns) = dir_and_netns("dck");
    let good = dir.join("good.ctl");
    let bad = dir.join("bad.ctl");
    let switch_addr = DataAddr::uml_abstract(std::process::id(), 4242);
    let mut reply = [0u8; REPLY_LEN];
    emit_reply(&switch_addr, &mut reply).unwrap();
    let good_t = fake_switch(UnixListener::bind(&good).unwrap(), reply.to_vec());
    // One byte short: the kernel must drop that device.
    let bad_t = fake_switch(UnixListener::bind(&bad).unwrap(), reply[..109].to_vec());
    let eth = [
        format!("eth0=daemon,,unix,{}", good.display()),
        format!("eth1=daemon,,unix,{}", bad.display()),
    ];
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "dck",
        eth: &eth,
        script: "for i in eth0 eth1; do ip link show $i >/dev/null 2>&1 && say \"RESULT $i present\"; done",
        path_prefix: None,
    });
    let said = guest.finish(Duration::from_secs(90));
    assert!(
        said.iter().any(|l| l == "RESULT eth0 present"),
        "{said:?}\n{}",
        guest.console()
    );
    assert!(!said.iter().any(|l| l == "RESULT eth1 present"), "{said:?}");
    assert!(
        !guest.console_lines("read of data socket failed").is_empty(),
        "the short reply should be refused:\n{}",
        guest.console()
    );

    let seen = good_t.join().unwrap();
    assert_eq!(seen.request.len(), REQUEST_LEN, "{:02x?}", seen.request);
    assert_eq!(
        &seen.request[..12],
        &[0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0, 0, 0, 0, 0]
    );
    let repr = RequestRepr::parse(&seen.request).expect("the kernel's request parses");
    let RequestRepr::V3 {
        addr,
        port,
        description,
    } = repr
    else {
        panic!("not a v3 request: {repr}")
    };
    assert_eq!((port, description), (0, &b""[..]));
    assert!(addr.is_abstract(), "{addr}");
    // sun_path = { char zero; int pid; int usecs; … }: a real pid sits at bytes 4..8.
    let name = addr.abstract_name().unwrap();
    let pid = u32::from_le_bytes(name[3..7].try_into().unwrap());
    assert!(pid > 1, "pid {pid} in {addr}");
    assert!(
        seen.eof,
        "the kernel closes its control connection at power-off"
    );
    let bad_seen = bad_t.join().unwrap();
    assert!(RequestRepr::parse(&bad_seen.request).is_ok());
}

/// Runs the original uml_switch in `ns` with its control socket at `ctl`.
fn original_switch(ns: &Netns, dir: &TempDir, ctl: &Path) -> Daemon {
    let mut cmd = ns.command("uml_switch");
    cmd.arg("-unix").arg(ctl);
    let d = Daemon::spawn("uml_switch", &mut cmd, &dir.join("uml_switch.log"));
    wait_for(
        "uml_switch's control socket",
        Duration::from_secs(10),
        || UnixStream::connect(ctl).is_ok(),
    );
    d
}

fn send(ctl: &Path, req: &RequestRepr<'_>) -> UnixStream {
    let mut c = UnixStream::connect(ctl).unwrap();
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let n = req.emit(&mut buf).unwrap();
    c.write_all(&buf[..n]).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    c
}

/// Reads what the switch answers: `Ok(bytes)` (empty at EOF) or `Err` on silence.
fn answer(c: &mut UnixStream) -> Result<Vec<u8>, ()> {
    let mut buf = [0u8; 512];
    match c.read(&mut buf) {
        Ok(n) => Ok(buf[..n].to_vec()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(()),
        Err(e) => panic!("read: {e}"),
    }
}

fn original_uml_switch_answers_our_requests() {
    let (dir, ns) = dir_and_netns("dcs");
    let ctl = dir.join("sw.ctl");
    let sw = original_switch(&ns, &dir, &ctl);
    let mac = MacAddr([0xfe, 0xfd, 10, 0, 0, 1]);

    // Version 3, as the kernel sends it: a 110-byte reply naming the switch's abstract
    // data socket, `{ 0, pad, pid, usecs }` followed by zeros.
    let mut c3 = send(
        &ctl,
        &RequestRepr::V3 {
            addr: DataAddr::uml_abstract(std::process::id(), 1),
            port: 0,
            description: b"",
        },
    );
    let reply = answer(&mut c3).expect("uml_switch answers a v3 request");
    assert_eq!(reply.len(), REPLY_LEN);
    let a = parse_reply(&reply).expect("the reply parses");
    assert!(a.is_abstract(), "{a}");
    let name = a.abstract_name().unwrap();
    assert_eq!(u32::from_le_bytes(name[3..7].try_into().unwrap()), sw.pid());
    assert!(name[11..].iter().all(|&b| b == 0), "{a}");

    // Version 1 is answered the same way.
    let mut c1 = send(
        &ctl,
        &RequestRepr::V1 {
            mac,
            addr: DataAddr::uml_abstract(std::process::id(), 2),
        },
    );
    assert_eq!(answer(&mut c1).map(|r| parse_reply(&r)), Ok(Ok(a)));

    // Version 0 registers a port but gets no reply.
    let mut c0 = send(
        &ctl,
        &RequestRepr::V0 {
            mac,
            addr: DataAddr::uml_abstract(std::process::id(), 3),
        },
    );
    assert_eq!(answer(&mut c0), Err(()));

    // Versions 2 and 4, which our decoder refuses: uml_switch closes on 2 and ignores 4.
    let mut raw = [0u8; REQUEST_LEN];
    RequestRepr::V3 {
        addr: DataAddr::uml_abstract(std::process::id(), 4),
        port: 0,
        description: b"",
    }
    .emit(&mut raw)
    .unwrap();
    for (version, expect) in [(2u8, Ok(Vec::new())), (4, Err(()))] {
        raw[4] = version;
        assert!(RequestRepr::parse(&raw).is_err());
        let mut c = UnixStream::connect(&ctl).unwrap();
        c.write_all(&raw).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        assert_eq!(answer(&mut c), expect, "version {version}");
    }
}

fn vde_switch_answers_our_request_with_a_path() {
    let (dir, ns) = dir_and_netns("dcv");
    let swdir = dir.join("vde.ctl");
    // vde_switch reads commands from stdin; keep it open.
    let mut child: Child = ns
        .command("vde_switch")
        .arg("-s")
        .arg(&swdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vde_switch");
    let ctl = swdir.join("ctl");
    wait_for(
        "vde_switch's control socket",
        Duration::from_secs(10),
        || UnixStream::connect(&ctl).is_ok(),
    );
    // vde_switch connects a socket of its own to our data address, so bind it first.
    let data_path = dir.join("client.sock");
    let data = UnixDatagram::bind(&data_path).unwrap();
    let mut c = send(
        &ctl,
        &RequestRepr::V3 {
            addr: DataAddr::from_path(data_path.to_str().unwrap()).unwrap(),
            port: 0,
            description: b"umlnet test",
        },
    );
    let reply = answer(&mut c).expect("vde_switch answers");
    let a = parse_reply(&reply).expect("the reply parses");
    let path = std::str::from_utf8(a.path().expect("a filesystem path")).unwrap();
    let file = path
        .strip_prefix(&format!("{}/", swdir.display()))
        .unwrap_or_else(|| panic!("{path}"));
    // `<port %03d>.<fd>`
    let (port, fd) = file.split_once('.').unwrap();
    assert_eq!(port.len(), 3, "{file}");
    assert!(
        port.parse::<u32>().is_ok() && fd.parse::<u32>().is_ok(),
        "{file}"
    );
    // The reply address is the switch's end of a connected pair: a frame sent there
    // is accepted (the switch drops it having no other port; nothing leaves the socket).
    data.send_to(&[0xffu8; 60], path)
        .expect("send to the switch's data socket");
    let _ = child.kill();
    let _ = child.wait();
}

fn vde_plug_request_decodes_with_its_description() {
    let (dir, ns) = dir_and_netns("dcp");
    let listener = UnixListener::bind(dir.join("ctl")).unwrap();
    let mut plug: Child = ns
        .command("vde_plug")
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vde_plug");
    let (mut c, _) = listener.accept().unwrap();
    // vde2 sends the request in one write; read what arrived in one read.
    std::thread::sleep(Duration::from_millis(300));
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let n = c.read(&mut buf).unwrap();
    let _ = plug.kill();
    let _ = plug.wait();
    let raw = &buf[..n];
    assert!(n > REQUEST_LEN, "{n} bytes: {raw:02x?}");
    let repr = RequestRepr::parse(raw).expect("vde_plug's request parses");
    let RequestRepr::V3 {
        addr,
        port,
        description,
    } = repr
    else {
        panic!("not v3: {repr}")
    };
    assert_eq!(port, 0);
    let path = std::str::from_utf8(addr.path().expect("a filesystem data path")).unwrap();
    assert!(
        path.starts_with(&format!("{}/.", dir.path().display())),
        "{path}"
    );
    let d = std::str::from_utf8(description).unwrap();
    assert!(
        d.contains("user=") && d.contains(&format!("{}", plug.id())),
        "{d:?}"
    );
    // Our encoder reproduces the request byte for byte.
    let mut out = [0u8; MAX_REQUEST_LEN];
    let m = repr.emit(&mut out).unwrap();
    assert_eq!(&out[..m], raw);
}
