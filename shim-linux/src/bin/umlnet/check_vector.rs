//! What `umlnet check` says about a `vec<n>:` device: what the kernel opens, when, and
//! what that means for the peer (docs/protocols.md §9).

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use umlnet_core::cmdline::{Vector, VectorTransport};

/// What the device will be, with the defaults resolved.
pub fn describe(n: u32, v: &Vector) -> Vec<String> {
    let mut out = Vec::new();
    let name = format!("vec{n}");
    out.push(match &v.transport {
        VectorTransport::Raw(r) => format!(
            "raw: two AF_PACKET sockets on host interface {} (CAP_NET_RAW); {name} sees every \
             frame of that interface",
            r.ifname
        ),
        VectorTransport::Hybrid(r) => format!(
            "hybrid: sends through TAP device {} (/dev/net/tun, vnet headers) and receives \
             with an AF_PACKET socket on it (CAP_NET_ADMIN and CAP_NET_RAW)",
            r.ifname
        ),
        VectorTransport::Tap(t) => match &t.ifname {
            Some(i) => format!(
                "tap: opens TAP device {i} (/dev/net/tun, IFF_TAP|IFF_NO_PI|IFF_VNET_HDR; \
                 CAP_NET_ADMIN unless {i} exists and belongs to this user)"
            ),
            None => "tap: creates a new TAP device named tap + 6 random characters at every \
                     ifup (CAP_NET_ADMIN)"
                .into(),
        },
        VectorTransport::Gre(g) => format!(
            "gre: a raw IP socket, protocol 47 (CAP_NET_RAW), bound to {} and sending to {}",
            g.src, g.dst
        ),
        VectorTransport::L2tpv3(l) if l.udp => format!(
            "l2tpv3 over UDP (no privileges): a UDP socket bound to {} port {}, sending to {} \
             port {}",
            l.src,
            l.srcport.map_or("(random)".to_string(), |p| p.to_string()),
            l.dst,
            l.dstport.unwrap_or(0)
        ),
        VectorTransport::L2tpv3(l) => format!(
            "l2tpv3 over IP: a raw IP socket, protocol 115 (CAP_NET_RAW), bound to {} and \
             sending to {}",
            l.src, l.dst
        ),
        VectorTransport::Bess(b) => format!(
            "bess: an AF_UNIX SOCK_SEQPACKET socket{} connected to {}; no handshake, no \
             header, one Ethernet frame per message",
            b.src
                .as_ref()
                .map_or(String::new(), |s| format!(" bound to {s}")),
            b.dst
        ),
        VectorTransport::Fd(d) => format!(
            "fd: the inherited descriptor {} (a seqpacket or datagram socket the program that \
             starts the UML opened), one Ethernet frame per message",
            d.fd
        ),
    });
    out.push(match v.transport {
        VectorTransport::Fd(_) => format!(
            "when: the kernel creates {name} at boot; it starts using the descriptor at ifup \
             (ip link set {name} up) and closes it at ifdown, so {name} comes up once"
        ),
        _ => format!(
            "when: the kernel creates {name} at boot but opens nothing then; it opens the host \
             side at ifup (ip link set {name} up), closes it at ifdown, and every ifup opens \
             (or connects) it again"
        ),
    });
    out.push(format!(
        "if an ifup cannot open it, the kernel leaves {name} marked open: every later ifup \
         fails with ENXIO until {name} is removed and added again (mconsole remove/config)"
    ));
    match &v.transport {
        VectorTransport::Gre(g) => {
            let mut flags = 0u16;
            let mut extra = Vec::new();
            if let Some(k) = g.key {
                flags |= 0x2000;
                extra.push(format!("key {:#x} (expects {:#x})", k.tx, k.rx));
            }
            if g.sequence {
                flags |= 0x1000;
                extra.push(if g.pin_sequence {
                    "sequence always 0".into()
                } else {
                    "sequence counting from 1".into()
                });
            }
            out.push(format!(
                "header: {flags:#06x} 0x6558{}{}; received packets must start with the same \
                 4 bytes",
                if extra.is_empty() { "" } else { ", " },
                extra.join(", ")
            ));
        }
        VectorTransport::L2tpv3(l) => {
            let mut parts = Vec::new();
            if l.udp {
                parts.push("00 03 00 00".to_string());
            }
            parts.push(format!("session {:#x}", l.tx_session));
            if let Some(c) = l.cookie {
                let bytes = if l.cookie64 { 8 } else { 4 };
                parts.push(format!("{bytes}-byte cookie {:#x}", c.tx));
            }
            if l.counter {
                parts.push(if l.pin_counter {
                    "counter 0".into()
                } else {
                    "counter from 1".into()
                });
            }
            out.push(format!(
                "header ({} bytes): {}; only the session ({:#x}){} of received packets are \
                 checked",
                l.header_len(),
                parts.join(", "),
                l.rx_session,
                l.cookie
                    .map_or(String::new(), |c| format!(" and cookie ({:#x})", c.rx))
            ));
        }
        VectorTransport::Raw(r) | VectorTransport::Hybrid(r) => {
            if let Some(s) = &r.ifup {
                out.push(format!(
                    "ifup: runs {s} {} after the sockets are open",
                    r.ifname
                ));
            }
        }
        VectorTransport::Tap(t) => {
            if let Some(s) = &t.ifup {
                out.push(format!("ifup: runs {s} <tap name> after the TAP is open"));
            }
        }
        VectorTransport::Bess(_) | VectorTransport::Fd(_) => {}
    }
    out.push(format!(
        "mtu {}, {}, headroom {}{}{}",
        v.mtu,
        if v.vec {
            format!("batched I/O (recvmmsg/sendmmsg, up to {} frames)", v.depth)
        } else {
            "one frame per system call (vec=0)".into()
        },
        v.headroom,
        if v.gro { ", 64 KiB GRO buffers" } else { "" },
        v.bpffile
            .as_ref()
            .map_or(String::new(), |f| format!(", BPF filter from {f}")),
    ));
    out.push(match v.mac {
        Some(m) => format!("mac: {m} (given)"),
        None => "mac: random locally administered address, chosen at boot".into(),
    });
    out
}

/// Looks at this host for what the device will need at ifup.
pub fn host_checks(n: u32, v: &Vector) -> Vec<String> {
    let mut w = Vec::new();
    match &v.transport {
        VectorTransport::Bess(b) => {
            let dst = Path::new(b.dst.as_str());
            match std::fs::metadata(dst) {
                Ok(m) if m.file_type().is_socket() => {}
                Ok(_) => w.push(format!(
                    "{} is not a socket: ifup of vec{n} fails (ECONNREFUSED)",
                    dst.display()
                )),
                Err(_) => w.push(format!(
                    "{} does not exist here (is the switch listening?): ifup of vec{n} fails \
                     (ENOENT)",
                    dst.display()
                )),
            }
            if let Some(src) = &b.src
                && Path::new(src.as_str()).exists()
            {
                w.push(format!(
                    "{src} exists already: ifup of vec{n} fails with EADDRINUSE until it is removed"
                ));
            }
        }
        VectorTransport::Raw(r) | VectorTransport::Hybrid(r)
            if !Path::new("/sys/class/net").join(r.ifname.as_str()).exists() =>
        {
            w.push(format!(
                "no host interface {} here: ifup of vec{n} fails",
                r.ifname
            ))
        }
        _ => {}
    }
    w
}
