//! Our mconsole codec against the real UML kernel (`linux.uml`) and the real
//! `uml_mconsole` client. A guest boots in a network namespace of its own; we bind a
//! client socket to an abstract address inside that namespace (as `uml_mconsole` does:
//! abstract names are per namespace, and the kernel replies to the sender's address),
//! send requests built by `umlnet_core::mconsole`, and read the kernel's replies with
//! its decoder. With `mconsole=notify:` it also checks the kernel's notifications.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use umlnet_core::mconsole::{
    BAD_CONFIGURATION_OPTION, COULDNT_PARSE_DEVICE_NUMBER, Command, DEVICE_DOESNT_EXIST,
    ERR_ENODEV, MAX_REPLY_LEN, NO_GET_CONFIG, NotifyPacket, NotifyRepr, NotifyType, REQUEST_LEN,
    REQUEST_TOO_LARGE, ReplyDatagram, ReplyPacket, ReplyReader, RequestRepr, UNKNOWN_COMMAND,
    V0_REJECTION, parse_reply_datagram,
};
use umlnet_linux::sys::process::enter_netns;
use umlnet_linux::sys::socket::{
    DgramSocket, SOCKADDR_UN_LEN, path_addr_bytes, unix_addr_bytes, wait_readable,
};
use umlnet_testkit::{Netns, TempDir, UmlBoot, UmlGuest, dir_and_netns, real, run_cases, wait_for};

fn main() {
    run_cases(vec![
        real(
            "the_kernel_announces_its_console_and_relays_the_guests_text",
            NEEDS,
            the_kernel_announces_its_console_and_relays_the_guests_text,
        ),
        real(
            "version_is_one_chunk_and_a_prefix_of_it_is_enough",
            NEEDS,
            version_is_one_chunk_and_a_prefix_of_it_is_enough,
        ),
        real(
            "help_spans_chunks_and_reassembles_whole",
            NEEDS,
            help_spans_chunks_and_reassembles_whole,
        ),
        real(
            "commands_we_classify_get_the_kernels_matching_answers",
            NEEDS,
            commands_we_classify_get_the_kernels_matching_answers,
        ),
        real(
            "oversized_and_version_0_requests_are_rejected",
            NEEDS,
            oversized_and_version_0_requests_are_rejected,
        ),
        real(
            "uml_mconsole_reads_the_version_our_decoder_reads",
            NEEDS,
            uml_mconsole_reads_the_version_our_decoder_reads,
        ),
    ]);
}

/// What every case needs.
const NEEDS: &[&str] = &["linux.uml", "uml_mconsole"];

/// A client socket bound to `"\0umlnet-mcon-<pid>"` with addrlen 110, created inside `ns`.
fn client_socket(ns: &Netns) -> DgramSocket {
    let name = ns.name().to_string();
    std::thread::spawn(move || {
        enter_netns(&name).expect("enter the test namespace");
        let mut path = b"\0".to_vec();
        path.extend_from_slice(format!("umlnet-mcon-{}", std::process::id()).as_bytes());
        let addr = unix_addr_bytes(&path).unwrap();
        DgramSocket::bind_raw(&addr, SOCKADDR_UN_LEN).expect("bind abstract client socket")
    })
    .join()
    .unwrap()
}

/// Receives one datagram within 10 s.
fn recv(sock: &DgramSocket) -> Vec<u8> {
    assert!(
        wait_readable(sock.as_raw_fd(), Duration::from_secs(10)).unwrap(),
        "no reply from the UML kernel within 10 s"
    );
    let mut buf = vec![0u8; 4096];
    let n = sock.recv(&mut buf).unwrap().expect("readable");
    buf.truncate(n);
    buf
}

/// Sends `datagram` to the console and reassembles the reply with our decoder; returns
/// `(err, text, datagrams received)`.
fn ask_raw(sock: &DgramSocket, console: &Path, datagram: &[u8]) -> (i32, String, Vec<Vec<u8>>) {
    let addr = path_addr_bytes(console).unwrap();
    sock.send_to_raw(datagram, &addr, SOCKADDR_UN_LEN)
        .unwrap()
        .expect("send");
    let mut reader = ReplyReader::new([0u8; 8192]);
    let mut raw = Vec::new();
    loop {
        let d = recv(sock);
        raw.push(d.clone());
        if let Some((err, text)) = reader.push(&d).expect("a reply our decoder accepts") {
            return (err, String::from_utf8(text.to_vec()).unwrap(), raw);
        }
    }
}

fn ask(sock: &DgramSocket, console: &Path, command: &str) -> (i32, String, Vec<Vec<u8>>) {
    let mut req = [0u8; REQUEST_LEN];
    let n = RequestRepr::new(command.as_bytes())
        .unwrap()
        .encode(&mut req)
        .unwrap();
    ask_raw(sock, console, &req[..n])
}

/// A guest booted with `mconsole=notify:`, in a namespace of its own, that has said it
/// is ready; its console and a client socket bound inside the namespace. The guest
/// goes first when it drops, the namespace before the directory.
struct Running {
    _guest: UmlGuest,
    /// The socket the kernel's notifications arrive on.
    notify: UnixDatagram,
    /// The guest's console socket.
    console: PathBuf,
    /// Our client socket, inside the namespace.
    sock: DgramSocket,
    ns: Netns,
    _dir: TempDir,
}

fn running(tag: &str) -> Running {
    let (dir, ns) = dir_and_netns(tag);
    let umid = "mconreal";
    // mconsole=notify:<path>: the kernel announces its console there, and relays what
    // the guest writes to /proc/mconsole.
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let args = [format!("mconsole=notify:{}", notify_path.display())];
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: umid,
        eth: &args,
        script: "printf hello-notify > /proc/mconsole; say READY; sleep 40",
        path_prefix: None,
    });
    let console = dir.path().join(umid).join("mconsole");

    guest.wait_said("READY", Duration::from_secs(90));
    wait_for("the mconsole socket", Duration::from_secs(10), || {
        console.exists()
    });
    let sock = client_socket(&ns);

    Running {
        _guest: guest,
        notify,
        console,
        sock,
        ns,
        _dir: dir,
    }
}

/// The kernel announces its console socket, then relays what the guest writes to
/// /proc/mconsole.
fn the_kernel_announces_its_console_and_relays_the_guests_text() {
    let c = running("mcon-ntf");
    let mut buf = [0u8; 2048];
    let n = c.notify.recv(&mut buf).expect("the socket notification");
    let packet = NotifyPacket::new_checked(&buf[..n]).expect("a notification we decode");
    let repr = NotifyRepr::parse(&packet).unwrap();
    assert_eq!(repr.notify_type, NotifyType::Socket);
    let mut want = c.console.to_string_lossy().into_owned().into_bytes();
    want.push(0);
    assert_eq!(
        repr.data,
        &want[..],
        "data is the console path with its NUL"
    );
    let n = c.notify.recv(&mut buf).expect("the user notification");
    let repr = NotifyRepr::parse(&NotifyPacket::new_checked(&buf[..n]).unwrap()).unwrap();
    assert_eq!(
        (repr.notify_type, repr.data),
        (NotifyType::User, &b"hello-notify"[..])
    );
}

/// version: one chunk, err 0, the kernel's uname fields; a prefix is enough.
fn version_is_one_chunk_and_a_prefix_of_it_is_enough() {
    let c = running("mcon-ver");
    assert_eq!(
        Command::parse(b"version"),
        Command::Version,
        "our parser agrees on the command"
    );
    let (err, version, raw) = ask(&c.sock, &c.console, "version");
    assert_eq!(err, 0);
    assert!(version.starts_with("Linux "), "version reply: {version:?}");
    assert!(version.contains("6.1"), "version reply: {version:?}");
    assert_eq!(raw.len(), 1);
    let packet = ReplyPacket::new_checked(&raw[0][..]).unwrap();
    assert_eq!(packet.len() as usize, version.len() + 1);
    assert_eq!(raw[0].len(), 12 + version.len() + 1);

    // Prefix matching: the kernel also takes "versionXYZ" as version, as our parser does.
    assert_eq!(Command::parse(b"versionXYZ"), Command::Version);
    assert_eq!(ask(&c.sock, &c.console, "versionXYZ").1, version);
}

/// help is longer than one chunk: more=1 on all but the last, reassembled whole.
fn help_spans_chunks_and_reassembles_whole() {
    let c = running("mcon-help");
    let (err, help, raw) = ask(&c.sock, &c.console, "help");
    assert_eq!(err, 0);
    assert!(help.contains("config <dev>=<config>"), "help: {help:?}");
    assert!(help.contains("remove <dev>"), "help: {help:?}");
    if help.len() > 511 {
        assert!(raw.len() >= 2);
        for d in &raw[..raw.len() - 1] {
            let p = ReplyPacket::new_checked(&d[..]).unwrap();
            assert!(p.more() && p.text().len() == 511);
        }
    }
}

/// What our Command parser classifies, the kernel answers accordingly.
fn commands_we_classify_get_the_kernels_matching_answers() {
    let c = running("mcon-cmd");
    let cases: [(&str, Command<'_>, i32, &str); 5] = [
        (
            "config eth4",
            Command::GetConfigEth { name: "4" },
            1,
            NO_GET_CONFIG,
        ),
        (
            "remove eth08",
            Command::RemoveEthBadNumber { text: "08" },
            1,
            COULDNT_PARSE_DEVICE_NUMBER,
        ),
        (
            "remove eth0x1f",
            Command::RemoveEth { index: 31 },
            ERR_ENODEV,
            DEVICE_DOESNT_EXIST,
        ),
        (
            "config bogus0=x",
            Command::ConfigOther { arg: "bogus0=x" },
            1,
            BAD_CONFIGURATION_OPTION,
        ),
        (
            "frobnicate",
            Command::Unknown {
                text: b"frobnicate",
            },
            1,
            UNKNOWN_COMMAND,
        ),
    ];
    for (text, parsed, want_err, want_text) in cases {
        assert_eq!(Command::parse(text.as_bytes()), parsed, "{text}");
        let (err, reply, _) = ask(&c.sock, &c.console, text);
        assert_eq!((err, reply.as_str()), (want_err, want_text), "{text}");
    }
}

/// A request too large and a version 0 client's bare text are rejected.
fn oversized_and_version_0_requests_are_rejected() {
    let c = running("mcon-rej");
    // len >= 512: "Request too large".
    let mut req = [0u8; REQUEST_LEN];
    RequestRepr::new(b"version")
        .unwrap()
        .encode(&mut req)
        .unwrap();
    req[8..12].copy_from_slice(&512u32.to_ne_bytes());
    let (err, reply, _) = ask_raw(&c.sock, &c.console, &req);
    assert_eq!((err, reply.as_str()), (1, REQUEST_TOO_LARGE));

    // A wrong magic (a version 0 client's bare text) gets the plain-text rejection.
    let addr = path_addr_bytes(&c.console).unwrap();
    c.sock
        .send_to_raw(b"version", &addr, SOCKADDR_UN_LEN)
        .unwrap()
        .unwrap();
    let d = recv(&c.sock);
    assert!(d.len() <= MAX_REPLY_LEN);
    assert_eq!(
        parse_reply_datagram(&d),
        Ok(ReplyDatagram::PlainText(V0_REJECTION.as_bytes()))
    );
}

/// The real `uml_mconsole` client agrees with what our decoder read.
fn uml_mconsole_reads_the_version_our_decoder_reads() {
    let c = running("mcon-cli");
    let (_, version, _) = ask(&c.sock, &c.console, "version");
    let out =
        c.ns.command("uml_mconsole")
            .arg(&c.console)
            .arg("version")
            .output()
            .expect("run uml_mconsole");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "uml_mconsole failed: {out:?}");
    assert_eq!(stdout.trim_end(), format!("OK {version}"));
}
