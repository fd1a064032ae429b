//! Our SLIP codec against the real UML kernel's (`slip_common.c`). The kernel's `slirp`
//! transport speaks SLIP over a stream socketpair to a helper program it starts with
//! that socket as stdin and stdout. We make that helper a tiny relay to a unix socket
//! the test listens on, so the test itself is the far end of the SLIP line: it decodes
//! the guest's packets with `umlnet_core::slip::Decoder` and answers ICMP echo requests
//! with replies encoded by `umlnet_core::slip::encode`. The guest pings with a payload
//! pattern full of END and ESC bytes, so both directions must escape correctly, and
//! `ping` checks every reply byte.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use umlnet_core::slip::{DecodeError, Decoder, ESC, encode, max_encoded_len};
use umlnet_testkit::{UmlBoot, UmlGuest, dir_and_netns, real, run_cases};

fn main() {
    run_cases(vec![real(
        "slip_codec_against_real_kernel_over_slirp",
        &["linux.uml", "python3"],
        slip_codec_against_real_kernel_over_slirp,
    )]);
}

/// What the far end saw.
#[derive(Debug, Default)]
struct Seen {
    frames: usize,
    echo_requests: usize,
    replies_sent: usize,
    decode_errors: Vec<DecodeError>,
    stream_bytes: usize,
    escapes_in_stream: usize,
}

/// The relay the kernel runs as its slirp "program": stdin/stdout <-> the test socket.
const RELAY: &str = r#"
import os, select, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
while True:
    r, _, _ = select.select([0, s], [], [])
    if 0 in r:
        d = os.read(0, 65536)
        if not d:
            break
        s.sendall(d)
    if s in r:
        d = s.recv(65536)
        if not d:
            break
        os.write(1, d)
"#;

/// Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The echo reply to an IPv4 ICMP echo request, or `None` for any other packet.
fn echo_reply(packet: &[u8]) -> Option<Vec<u8>> {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != 1 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    if packet.len() < ihl + 8 || packet[ihl] != 8 {
        return None;
    }
    let mut reply = packet.to_vec();
    // Swapping the addresses leaves the IP header checksum valid.
    reply[12..16].copy_from_slice(&packet[16..20]);
    reply[16..20].copy_from_slice(&packet[12..16]);
    reply[ihl] = 0;
    reply[ihl + 2..ihl + 4].fill(0);
    let sum = checksum(&reply[ihl..]);
    reply[ihl + 2..ihl + 4].copy_from_slice(&sum.to_be_bytes());
    Some(reply)
}

/// Serves one SLIP connection until EOF (or 60 s of silence).
fn far_end(listener: UnixListener) -> Seen {
    let (mut stream, _) = listener.accept().expect("the relay connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut seen = Seen::default();
    let mut decoder = Decoder::new([0u8; 1500]);
    let mut buf = [0u8; 4096];
    let mut replies: Vec<Vec<u8>> = Vec::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                break;
            }
            Err(e) => panic!("read from relay: {e}"),
        };
        seen.stream_bytes += n;
        seen.escapes_in_stream += buf[..n].iter().filter(|&&b| b == ESC).count();
        decoder.decode(&buf[..n], |event| match event {
            Ok(packet) => {
                seen.frames += 1;
                if let Some(reply) = echo_reply(packet) {
                    seen.echo_requests += 1;
                    replies.push(reply);
                }
            }
            Err(e) => seen.decode_errors.push(e),
        });
        for reply in replies.drain(..) {
            let mut wire = vec![0u8; max_encoded_len(reply.len())];
            let len = encode(&reply, &mut wire).unwrap();
            // Two writes, split mid-frame: the kernel must reassemble across reads.
            let (a, b) = wire[..len].split_at(len / 2);
            stream.write_all(a).unwrap();
            stream.flush().unwrap();
            std::thread::sleep(Duration::from_millis(5));
            stream.write_all(b).unwrap();
            seen.replies_sent += 1;
        }
    }
    seen
}

fn slip_codec_against_real_kernel_over_slirp() {
    let (dir, ns) = dir_and_netns("slip");
    // The kernel turns '_' into ' ' in slirp arguments; our paths must not have one.
    assert!(!dir.path().to_string_lossy().contains('_'));
    let sock = dir.join("line.sock");
    let relay = dir.join("relay.py");
    std::fs::write(&relay, RELAY).unwrap();
    let listener = UnixListener::bind(&sock).unwrap();
    let far = std::thread::spawn(move || far_end(listener));

    let python = umlnet_testkit::which("python3").unwrap();
    let eth = [format!(
        "eth0=slirp,,{},{},{}",
        python.display(),
        relay.display(),
        sock.display()
    )];
    // Payload pattern c0 db dc dd: every byte is END, ESC or an escape code.
    let script = "ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && \
                  if ping -c 3 -i 0.3 -W 5 -s 120 -p c0dbdcdd 10.0.2.2 > $T/ping 2>&1; \
                  then say RESULT ok; else say RESULT failed $(tr '\\n' ' ' < $T/ping); fi; \
                  rm -f $T/ping";
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "slipreal",
        eth: &eth,
        script,
        path_prefix: None,
    });
    let result = guest.wait_said("RESULT", Duration::from_secs(90));
    guest.finish(Duration::from_secs(30));
    drop(guest);
    let seen = far.join().expect("far end thread");
    eprintln!("far end: {seen:?}");
    assert_eq!(
        result, "RESULT ok",
        "guest ping over SLIP; far end saw {seen:?}"
    );
    assert!(seen.decode_errors.is_empty(), "{seen:?}");
    assert!(seen.echo_requests >= 3, "{seen:?}");
    assert_eq!(seen.replies_sent, seen.echo_requests);
    // The kernel escaped the END/ESC payload bytes: 120 payload bytes, the 104 after
    // ping's timestamp follow the pattern, so 52 are END or ESC, in each request.
    assert!(seen.escapes_in_stream >= 3 * 52, "{seen:?}");
}
