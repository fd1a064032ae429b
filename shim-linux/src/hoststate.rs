//! Is a host action already in effect? The query behind `umlnet up`'s idempotence: a
//! second `up` finds every device, address, route, sysctl and published entry in place
//! and changes nothing.
//!
//! [`HostState::state`] reads the host (rtnetlink, `/proc/sys/net`, `/proc/net/route`,
//! `/sys/class/net`) and answers [`State::InEffect`], [`State::Absent`], or
//! [`State::Conflict`] when the action cannot be applied as it stands (a TAP name taken by
//! a device of another kind). Nothing is changed.

use std::io;
use std::net::Ipv4Addr;

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};
use umlnet_core::host::{HostAction, Route};

use crate::sys::netlink::Rtnl;
use crate::sys::sysctl;

/// Whether an action is already in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The host already is as the action would make it.
    InEffect,
    /// The action would change the host.
    Absent,
    /// The action cannot be applied: why.
    Conflict(String),
}

/// A reader of the host's network state.
#[derive(Debug)]
pub struct HostState {
    rtnl: Rtnl,
}

const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NTF_PROXY: u8 = 0x08;
const NDA_DST: u16 = 1;

/// The rtattrs of `buf`: `(type, payload)`, stopping at the first malformed one.
fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]);
        if len < 4 || len > buf.len() {
            return None;
        }
        let whole: &[u8] = buf;
        buf = &whole[((len + 3) & !3).min(whole.len())..];
        Some((kind, &whole[4..len]))
    })
}

/// The proxy (published) ARP entries of this network namespace: `(address, ifindex)`
/// (`ip neigh show proxy`).
pub fn proxy_neighbours() -> io::Result<Vec<(Ipv4Addr, u32)>> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    let mut req = Vec::with_capacity(28);
    req.extend_from_slice(&28u32.to_ne_bytes());
    req.extend_from_slice(&RTM_GETNEIGH.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid
    // ndmsg: family, pad, pad, pad, ifindex, state, flags (NTF_PROXY: the proxy table), type
    req.extend_from_slice(&[libc::AF_INET as u8, 0, 0, 0]);
    req.extend_from_slice(&0i32.to_ne_bytes());
    req.extend_from_slice(&0u16.to_ne_bytes());
    req.extend_from_slice(&[NTF_PROXY, 0]);
    use std::os::fd::AsRawFd;
    sendto(
        fd.as_raw_fd(),
        &req,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        let mut msgs = &buf[..n];
        if n == 0 {
            return Ok(out);
        }
        while msgs.len() >= 16 {
            let len = u32::from_ne_bytes(msgs[0..4].try_into().expect("4 bytes")) as usize;
            let kind = u16::from_ne_bytes([msgs[4], msgs[5]]);
            if len < 16 || len > msgs.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad netlink message",
                ));
            }
            let p = &msgs[16..len];
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = p
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
                    if code != 0 {
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    return Ok(out);
                }
                RTM_NEWNEIGH if p.len() >= 12 && p[0] == libc::AF_INET as u8 => {
                    let index = i32::from_ne_bytes(p[4..8].try_into().expect("4 bytes")) as u32;
                    if p[10] & NTF_PROXY != 0
                        && let Some(ip) = attrs(&p[12..])
                            .find(|(t, _)| *t == NDA_DST)
                            .and_then(|(_, v)| <[u8; 4]>::try_from(v).ok())
                    {
                        out.push((Ipv4Addr::from(ip), index));
                    }
                }
                _ => {}
            }
            msgs = &msgs[((len + 3) & !3).min(msgs.len())..];
        }
    }
}

fn mtu_of(dev: &str) -> io::Result<u16> {
    if dev.contains('/') || dev == "." || dev == ".." {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let s = std::fs::read_to_string(format!("/sys/class/net/{dev}/mtu"))?;
    s.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad mtu"))
}

fn is_no_device(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENODEV | libc::ENOENT | libc::ENXIO)
    )
}

impl HostState {
    /// Opens the rtnetlink socket used for the queries.
    pub fn open() -> io::Result<HostState> {
        Ok(HostState {
            rtnl: Rtnl::open()?,
        })
    }

    /// Whether `action` is already in effect on this host. Queries that find the device
    /// missing answer [`State::Absent`].
    pub fn state(&mut self, action: &HostAction) -> io::Result<State> {
        let yes = |b: bool| if b { State::InEffect } else { State::Absent };
        match action {
            HostAction::CreateTap(t) => {
                let Some(name) = t.name.as_deref() else {
                    return Ok(State::Absent);
                };
                let info = match self.rtnl.link_info(name) {
                    Ok(i) => i,
                    Err(e) if is_no_device(&e) => return Ok(State::Absent),
                    Err(e) => return Err(e),
                };
                if !info.is_tap() {
                    let kind = match (&info.kind, info.is_tun()) {
                        (_, true) => "a TUN device".to_string(),
                        (Some(k), _) => format!("a {k} device"),
                        (None, _) => "a device of another kind".to_string(),
                    };
                    return Ok(State::Conflict(format!(
                        "'{name}' already exists and is {kind}, not a TAP device: \
                         choose another name or remove it"
                    )));
                }
                if info.tun_owner == Some(t.owner)
                    && info.tun_group == t.group
                    && info.tun_persist == Some(true)
                {
                    return Ok(State::InEffect);
                }
                // Taking over someone else's TAP would let `down` delete it: refuse.
                let who =
                    |id: Option<u32>| id.map_or_else(|| "none".to_string(), |i| i.to_string());
                Ok(State::Conflict(format!(
                    "'{name}' already exists as a {}TAP device with owner {} and group {} \
                     (wanted owner {} and group {}): remove it (ip tuntap del dev {name} mode tap) \
                     or run umlnet down with the file that made it",
                    if info.tun_persist == Some(true) {
                        "persistent "
                    } else {
                        "non-persistent "
                    },
                    who(info.tun_owner),
                    who(info.tun_group),
                    t.owner,
                    who(t.group),
                )))
            }
            HostAction::DeleteTap(t) => {
                let name = t.name.as_deref().unwrap_or("");
                Ok(yes(Rtnl::index(name).is_err()))
            }
            HostAction::AddAddress(a) | HostAction::DelAddress(a) => {
                let idx = match Rtnl::index(&a.dev) {
                    Ok(i) => i,
                    Err(_) => return Ok(yes(matches!(action, HostAction::DelAddress(_)))),
                };
                let have =
                    self.rtnl.addresses(Some(idx))?.iter().any(|x| {
                        x.local == a.addr && x.prefix == a.prefix.bits() && x.peer == a.peer
                    });
                Ok(yes(have == matches!(action, HostAction::AddAddress(_))))
            }
            HostAction::FlushAddresses { dev } => {
                let Ok(idx) = Rtnl::index(dev) else {
                    return Ok(State::InEffect);
                };
                Ok(yes(self.rtnl.addresses(Some(idx))?.is_empty()))
            }
            HostAction::SetMtu { dev, mtu } => match mtu_of(dev) {
                Ok(m) => Ok(yes(m == *mtu)),
                Err(_) => Ok(State::Absent),
            },
            HostAction::LinkUp { dev } | HostAction::LinkDown { dev } => {
                let up = matches!(action, HostAction::LinkUp { .. });
                match self.rtnl.link_info(dev) {
                    Ok(i) => Ok(yes(i.up == up)),
                    Err(e) if is_no_device(&e) => Ok(yes(!up)),
                    Err(e) => Err(e),
                }
            }
            HostAction::AddRoute(r) | HostAction::DelRoute(r) => {
                let add = matches!(action, HostAction::AddRoute(_));
                let (dst, mask, dev, via) = match r {
                    Route::Host { dst, dev, via } => {
                        (*dst, Ipv4Addr::BROADCAST, Some(dev.as_str()), *via)
                    }
                    Route::Net { net, prefix, dev } => {
                        let m = prefix.netmask();
                        (
                            Ipv4Addr::from_bits(net.to_bits() & m.to_bits()),
                            m,
                            Some(dev.as_str()),
                            None,
                        )
                    }
                    Route::Default { via } => (
                        Ipv4Addr::UNSPECIFIED,
                        Ipv4Addr::UNSPECIFIED,
                        None,
                        Some(*via),
                    ),
                };
                let have = sysctl::routes()?.iter().any(|p| {
                    p.dest == dst
                        && p.mask == mask
                        && dev.is_none_or(|d| p.iface == d)
                        && p.gateway == via.unwrap_or(Ipv4Addr::UNSPECIFIED)
                });
                Ok(yes(have == add))
            }
            HostAction::ProxyArp { dev, on } => match sysctl::proxy_arp(dev) {
                Ok(v) => Ok(yes(v == *on)),
                Err(_) => Ok(State::Absent),
            },
            HostAction::AddProxyNeigh { ip, dev } | HostAction::DelProxyNeigh { ip, dev } => {
                let add = matches!(action, HostAction::AddProxyNeigh { .. });
                let Ok(idx) = Rtnl::index(dev) else {
                    return Ok(yes(!add));
                };
                let have = proxy_neighbours()?.contains(&(*ip, idx));
                Ok(yes(have == add))
            }
            HostAction::IpForward => Ok(yes(sysctl::ip_forward()?)),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use umlnet_core::host::if_name;

    #[test]
    fn attribute_walk_stops_at_malformed_input() {
        let mut b = Vec::new();
        b.extend_from_slice(&8u16.to_ne_bytes());
        b.extend_from_slice(&NDA_DST.to_ne_bytes());
        b.extend_from_slice(&[10, 0, 0, 1]);
        b.extend_from_slice(&[40, 0, 1, 0]);
        let got: Vec<_> = attrs(&b).collect();
        assert_eq!(got, vec![(NDA_DST, &[10u8, 0, 0, 1][..])]);
        assert_eq!(attrs(&[2, 0, 1, 0]).count(), 0);
    }

    #[test]
    fn loopback_is_up_and_a_missing_device_is_absent() {
        let mut s = HostState::open().unwrap();
        let lo = if_name("lo").unwrap();
        assert_eq!(
            s.state(&HostAction::LinkUp { dev: lo.clone() }).unwrap(),
            State::InEffect
        );
        let none = if_name("umlnetnone9").unwrap();
        assert_eq!(
            s.state(&HostAction::LinkUp { dev: none.clone() }).unwrap(),
            State::Absent
        );
        assert_eq!(
            s.state(&HostAction::AddProxyNeigh {
                ip: Ipv4Addr::new(10, 99, 0, 1),
                dev: none
            })
            .unwrap(),
            State::Absent
        );
        // Loopback is taken by a device of another kind.
        let tap = umlnet_core::host::Tap {
            name: Some(lo),
            owner: 0,
            group: None,
            persistent: true,
        };
        assert!(matches!(
            s.state(&HostAction::CreateTap(tap)).unwrap(),
            State::Conflict(m) if m.contains("not a TAP device")
        ));
        proxy_neighbours().unwrap();
    }
}
