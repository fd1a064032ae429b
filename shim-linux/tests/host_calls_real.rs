//! Host calls that need root, each in a network namespace of its own: the mcast link on
//! a namespace's multicast loopback, and the SLIP bridge answered by the host kernel
//! through a TUN device. Reported as ignored without root.

use std::fs::File;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use umlnet_core::cmdline::Mcast;
use umlnet_core::link::{Link, SendStatus};
use umlnet_core::slip::{Decoder, UML_MTU, encode, max_encoded_len};
use umlnet_linux::slipbridge::run;
use umlnet_linux::sys::netlink::Rtnl;
use umlnet_linux::sys::tun::{Tap, TunMode};
use umlnet_linux::transport::mcast::McastLink;
use umlnet_testkit::{real, run_cases};

fn main() {
    run_cases(vec![
        real(
            "frames_reach_other_members_and_our_own_loop_back_is_dropped",
            &["ip"],
            frames_reach_other_members_and_our_own_loop_back_is_dropped,
        ),
        real(
            "host_kernel_answers_a_ping_through_the_bridge",
            &[],
            host_kernel_answers_a_ping_through_the_bridge,
        ),
    ]);
}

/// Runs `f` on a thread moved into a new network namespace of its own, whose loopback
/// carries multicast, so nothing reaches the host's interfaces.
fn in_private_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare the netns");
        let ok = std::process::Command::new("sh")
            .args([
                "-c",
                "ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo",
            ])
            .status()
            .expect("run ip")
            .success();
        assert!(ok, "multicast on the namespace's loopback");
        f()
    })
    .join()
    .unwrap()
}

fn frame(src: [u8; 6], fill: u8) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x06]);
    f.extend(std::iter::repeat_n(fill, 28));
    f
}

fn frames_reach_other_members_and_our_own_loop_back_is_dropped() {
    in_private_netns(|| {
        let spec = Mcast {
            mac: None,
            group: Ipv4Addr::new(239, 192, 168, 1),
            port: 1102,
            ttl: 1,
        };
        let mut a = McastLink::open(0, &spec).unwrap();
        let mut b = McastLink::open(1, &spec).unwrap();
        assert_eq!(
            a.banner(),
            "mcast backend multicast address: 239.192.168.1:1102, TTL:1"
        );
        let fa = frame([2, 0, 0, 0, 0, 0xa], 1);
        assert_eq!(a.send(&fa).unwrap(), SendStatus::Sent);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut buf = [0u8; 1600];
        assert_eq!(b.recv(&mut buf).unwrap(), Some(fa.len()));
        assert_eq!(&buf[..fa.len()], &fa[..]);
        assert_eq!(a.recv(&mut buf).unwrap(), None, "our own frame came back");
        assert_eq!(a.looped_back(), 1);
        // B's frame reaches A; B drops its own copy.
        let fb = frame([2, 0, 0, 0, 0, 0xb], 2);
        b.send(&fb).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(a.recv(&mut buf).unwrap(), Some(fb.len()));
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        // Port 0 is refused before any socket is made, as the kernel refuses it.
        let bad = Mcast { port: 0, ..spec };
        assert!(McastLink::open(2, &bad).is_err());
    });
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request from `src` to `dst`.
fn echo_request(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    icmp.extend_from_slice(b"umlnet slip");
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let len = (20 + icmp.len()) as u16;
    ip[2..4].copy_from_slice(&len.to_be_bytes());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}

/// A bridge thread in a network namespace of its own: a SLIP-encoded echo request
/// written to the stream comes back from the host kernel as a SLIP-encoded echo
/// reply, and closing the stream ends the bridge.
fn host_kernel_answers_a_ping_through_the_bridge() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIP slip bridge test: needs root");
        return;
    }
    let (mut guest, line) = UnixStream::pair().unwrap();
    let bridge = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let tun = Tap::open_device(
            std::path::Path::new("/dev/net/tun"),
            "sltest%d",
            TunMode::Tun,
            true,
        )
        .unwrap();
        let mut nl = Rtnl::open().unwrap();
        let idx = Rtnl::index(tun.name()).unwrap();
        nl.address(
            true,
            idx,
            Ipv4Addr::new(10, 7, 0, 1),
            32,
            Some(Ipv4Addr::new(10, 7, 0, 2)),
        )
        .unwrap();
        nl.set_link_up(idx, true).unwrap();
        let f = File::from(OwnedFd::from(line));
        let out = f.try_clone().unwrap();
        run(&f, &out, &tun).unwrap()
    });
    let req = echo_request(Ipv4Addr::new(10, 7, 0, 2), Ipv4Addr::new(10, 7, 0, 1));
    let mut wire = vec![0u8; max_encoded_len(req.len())];
    let n = encode(&req, &mut wire).unwrap();
    guest
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut decoder = Decoder::new([0u8; UML_MTU]);
    let mut reply = None;
    let mut buf = [0u8; 4096];
    // The link may still be coming up: send until an answer arrives.
    for _ in 0..25 {
        guest.write_all(&wire[..n]).unwrap();
        if let Ok(k) = guest.read(&mut buf) {
            decoder.decode(&buf[..k], |f| {
                if let Ok(p) = f {
                    // Only IPv4 comes through; the echo reply is the ICMP packet.
                    assert_eq!(p[0] >> 4, 4, "the bridge passes IPv4 only");
                    if p[9] == 1 {
                        reply.get_or_insert(p.to_vec());
                    }
                }
            });
        }
        if reply.is_some() {
            break;
        }
    }
    let reply = reply.expect("no echo reply came back through the bridge");
    assert_eq!(reply[9], 1, "ICMP");
    assert_eq!(&reply[12..16], &[10, 7, 0, 1]);
    assert_eq!(&reply[16..20], &[10, 7, 0, 2]);
    assert_eq!(reply[20], 0, "echo reply");
    assert_eq!(&reply[28..], b"umlnet slip");
    drop(guest);
    let stats = bridge.join().unwrap();
    assert!(stats.to_tun >= 1 && stats.to_stream >= 1, "{stats:?}");
    assert_eq!(stats.bad_frames, 0);
}
