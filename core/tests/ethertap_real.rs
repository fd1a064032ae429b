//! Our Ethernet frame view and ethertap prefix handling against the real UML kernel.
//!
//! The kernel's `ethertap` transport runs the `uml_net` helper with a datagram
//! socketpair whose every datagram is 2 bytes of (uninitialised) padding plus an
//! Ethernet frame (docs/protocols.md §2.5). A stand-in helper, found first on PATH, answers the
//! handshake and relays those datagrams, unchanged, to a unix socket of this test. The
//! test is thus the host end of the guest's eth0: it reads the guest's ARP requests and
//! pings with `umlnet_core::ethernet`, and answers with frames built by `Repr::emit`
//! and `prefix_ethertap`. The guest's `ping` succeeding proves the kernel accepts them.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use umlnet_core::ethernet::{
    EtherType, EthertapPacket, Frame, HEADER_LEN, Repr, prefix_ethertap, strip_ethertap,
};
use umlnet_core::mac::MacAddr;
use umlnet_testkit::{UmlBoot, UmlGuest, dir_and_netns, real, run_cases};

fn main() {
    run_cases(vec![real(
        "ethertap_frames_against_real_kernel",
        &["linux.uml", "python3"],
        ethertap_frames_against_real_kernel,
    )]);
}

const GUEST_MAC: MacAddr = MacAddr([0xfe, 0xfd, 10, 0, 3, 2]);
const HOST_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 3, 1]);
const GUEST_IP: [u8; 4] = [10, 0, 3, 2];
const HOST_IP: [u8; 4] = [10, 0, 3, 1];

/// The stand-in `uml_net`: handshake on fd 1, then relay between the data fd and the
/// test's socket; every control message gets an empty output block.
const HELPER: &str = r#"#!/usr/bin/python3
import os, select, socket, sys
# uml_net 4 ethertap <dev> <data-fd> [<gate>]
if len(sys.argv) < 5 or sys.argv[2] != "ethertap":
    sys.exit(1)
here = os.path.dirname(os.path.abspath(__file__))
data = socket.socket(fileno=int(sys.argv[4]))
test = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
test.bind(os.path.join(here, "helper.sock"))
target = os.path.join(here, "test.sock")
os.write(1, b"\x01" + b"\x00\x00\x00\x00")
while True:
    r, _, _ = select.select([data, test, 1], [], [])
    if data in r:
        test.sendto(data.recv(65536), target)
    if test in r:
        data.send(test.recv(65536))
    if 1 in r:
        msg = os.read(1, 12)
        if not msg:
            break
        os.write(1, b"\x00\x00\x00\x00")
"#;

/// Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Our answer to one frame from the guest, as a whole Ethernet frame.
fn answer(frame: &Frame<&[u8]>) -> Option<Vec<u8>> {
    let p = frame.payload();
    let payload = match frame.ethertype() {
        // ARP request (Ethernet/IPv4) for HOST_IP.
        EtherType::Arp if p.len() >= 28 && p[6..8] == [0, 1] && p[24..28] == HOST_IP => {
            let mut arp = p[..28].to_vec();
            arp[7] = 2;
            arp[8..14].copy_from_slice(&HOST_MAC.0);
            arp[14..18].copy_from_slice(&HOST_IP);
            arp[18..24].copy_from_slice(&p[8..14]);
            arp[24..28].copy_from_slice(&p[14..18]);
            arp
        }
        // ICMP echo request to HOST_IP.
        EtherType::Ipv4 if p.len() >= 28 && p[9] == 1 && p[16..20] == HOST_IP => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if p.len() < ihl + 8 || p[ihl] != 8 {
                return None;
            }
            let mut ip = p.to_vec();
            ip[12..16].copy_from_slice(&p[16..20]);
            ip[16..20].copy_from_slice(&p[12..16]);
            ip[ihl] = 0;
            ip[ihl + 2..ihl + 4].fill(0);
            let sum = checksum(&ip[ihl..]);
            ip[ihl + 2..ihl + 4].copy_from_slice(&sum.to_be_bytes());
            ip
        }
        _ => return None,
    };
    let repr = Repr {
        dst_addr: frame.src_addr(),
        src_addr: HOST_MAC,
        ethertype: frame.ethertype(),
    };
    let mut out = vec![0u8; repr.buffer_len() + payload.len()];
    let mut reply = Frame::new_unchecked(&mut out[..]);
    repr.emit(&mut reply);
    reply.payload_mut().copy_from_slice(&payload);
    Some(out)
}

#[derive(Debug, Default)]
struct Seen {
    datagrams: usize,
    arp_requests: usize,
    echo_requests: usize,
    replies: usize,
    prefixes: Vec<[u8; 2]>,
}

fn ethertap_frames_against_real_kernel() {
    let (dir, ns) = dir_and_netns("etap");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helper = bin.join("uml_net");
    std::fs::write(&helper, HELPER).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = UnixDatagram::bind(bin.join("test.sock")).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let eth = ["eth0=ethertap,tap0,fe:fd:0a:00:03:02".to_string()];
    let script = "ip addr add 10.0.3.2/24 dev eth0 && ip link set eth0 up && \
                  if ping -c 3 -i 0.3 -W 5 10.0.3.1 > $T/ping 2>&1; \
                  then say RESULT ok; else say RESULT failed $(tr '\\n' ' ' < $T/ping); fi; \
                  rm -f $T/ping";
    let guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "etapreal",
        eth: &eth,
        script,
        path_prefix: Some(&bin),
    });

    let mut seen = Seen::default();
    let mut buf = [0u8; 2048];
    let end = Instant::now() + Duration::from_secs(90);
    let result = loop {
        if let Some(l) = guest.said().into_iter().find(|l| l.starts_with("RESULT")) {
            break l;
        }
        assert!(
            Instant::now() < end,
            "no RESULT; {seen:?}\nconsole:\n{}",
            guest.console()
        );
        let Ok(n) = sock.recv(&mut buf) else {
            continue;
        };
        let datagram = &buf[..n];
        seen.datagrams += 1;
        let packet = EthertapPacket::new_checked(datagram).expect("prefix + Ethernet header");
        seen.prefixes.push(packet.prefix());
        let frame = packet.frame();
        assert_eq!(frame.as_ref(), strip_ethertap(datagram).unwrap());
        assert_eq!(frame.as_ref().len(), n - 2);
        assert_eq!(
            frame.src_addr(),
            GUEST_MAC,
            "the MAC from eth0=ethertap,…,<mac>"
        );
        let ethertype = frame.ethertype();
        match ethertype {
            EtherType::Arp => {
                assert_eq!(&frame.payload()[14..18], &GUEST_IP, "ARP sender address");
                seen.arp_requests += 1;
            }
            EtherType::Ipv4 if frame.payload().get(9) == Some(&1) => seen.echo_requests += 1,
            _ => {}
        }
        if let Some(reply) = answer(&frame) {
            assert!(reply.len() >= HEADER_LEN);
            let mut out = [0u8; 2048];
            let len = prefix_ethertap(&reply, &mut out).unwrap();
            sock.send_to(&out[..len], bin.join("helper.sock")).unwrap();
            seen.replies += 1;
        }
    };
    eprintln!("ethertap: {seen:?}");
    assert_eq!(result, "RESULT ok", "guest ping over ethertap; {seen:?}");
    assert!(seen.arp_requests >= 1, "{seen:?}");
    assert!(seen.echo_requests >= 3, "{seen:?}");
}
