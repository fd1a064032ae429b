//! rtnetlink (`NETLINK_ROUTE`) requests for host setup: link up/down and MTU, IPv4
//! addresses, IPv4 routes, proxy neighbour entries, and reading a link's kind and TUN
//! owner.
//!
//! A small hand-written encoder: every request is one `nlmsghdr` with one fixed header
//! and a few attributes, sent with `NLM_F_ACK`; the answer is the kernel's
//! `NLMSG_ERROR` (0 = done), mapped to an [`io::Error`] with the kernel's errno. Dumps
//! collect the payloads of every reply message until `NLMSG_DONE`.
//!
//! Every request goes to the network namespace the process is in; nothing here takes a
//! path or runs a program.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{cvt, cvt_size};

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_ROOT: u16 = 0x100;
const NLM_F_MATCH: u16 = 0x200;
const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;
const RTM_GETNEIGH: u16 = 30;

const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINKINFO: u16 = 18;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_INET_CONF: u16 = 1;
const IPV4_DEVCONF_PROXY_ARP: u16 = 3;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_TUN_OWNER: u16 = 1;
const IFLA_TUN_GROUP: u16 = 2;
const IFLA_TUN_TYPE: u16 = 3;
const IFLA_TUN_PERSIST: u16 = 6;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;

const NDA_DST: u16 = 1;
const NTF_PROXY: u8 = 0x08;
const NUD_INCOMPLETE: u16 = 0x01;
const NUD_FAILED: u16 = 0x20;
const NUD_NOARP: u16 = 0x40;
const NUD_PERMANENT: u16 = 0x80;

const IFF_UP: u32 = 0x1;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;
const AF_INET: u8 = libc::AF_INET as u8;

/// What the kernel reports about a link that matters for ownership checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkInfo {
    /// The interface index.
    pub index: u32,
    /// `IFLA_INFO_KIND` (`"tun"` for TUN and TAP devices, `"veth"`, …), if any.
    pub kind: Option<String>,
    /// For a TUN/TAP device: the owner uid, if one is set.
    pub tun_owner: Option<u32>,
    /// For a TUN/TAP device: the group, if one is set.
    pub tun_group: Option<u32>,
    /// For a TUN/TAP device: `IFF_TUN` (1) or `IFF_TAP` (2).
    pub tun_type: Option<u8>,
    /// For a TUN/TAP device: whether it is persistent.
    pub tun_persist: Option<bool>,
    /// Whether the link is administratively up.
    pub up: bool,
}

impl LinkInfo {
    /// True for a TAP device (`IFF_TAP`).
    pub fn is_tap(&self) -> bool {
        self.kind.as_deref() == Some("tun") && self.tun_type == Some(2)
    }

    /// True for a TUN device (`IFF_TUN`).
    pub fn is_tun(&self) -> bool {
        self.kind.as_deref() == Some("tun") && self.tun_type == Some(1)
    }
}

/// One IPv4 address of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrInfo {
    /// The interface index.
    pub index: u32,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub local: Ipv4Addr,
    /// The prefix length.
    pub prefix: u8,
    /// The peer of a point-to-point address (`IFA_ADDRESS` when it differs from the local).
    pub peer: Option<Ipv4Addr>,
}

/// One IPv4 route ([`Rtnl::unicast_routes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// Destination network.
    pub dst: Ipv4Addr,
    /// Its prefix length.
    pub dst_len: u8,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Next hop.
    pub gateway: Option<Ipv4Addr>,
}

/// An open rtnetlink socket.
#[derive(Debug)]
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

/// Appends an attribute (`rtattr`), padded to 4 bytes.
fn put_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Iterates over the attributes in `data` as `(type, payload)`, stopping at the first
/// malformed one.
fn attrs(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        let payload = &rest[4..len];
        let adv = (len + 3) & !3;
        rest = rest.get(adv..).unwrap_or(&[]);
        Some((kind, payload))
    })
}

fn u32_of(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}

fn ipv4_of(p: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = p.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

fn ifinfomsg(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(16);
    b.push(libc::AF_UNSPEC as u8);
    b.push(0);
    b.extend_from_slice(&0u16.to_ne_bytes());
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

fn ifaddrmsg(index: u32, prefix: u8, scope: u8) -> Vec<u8> {
    let mut b = vec![AF_INET, prefix, 0, scope];
    b.extend_from_slice(&index.to_ne_bytes());
    b
}

fn rtmsg(dst_len: u8, scope: u8) -> Vec<u8> {
    let mut b = vec![
        AF_INET,
        dst_len,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        scope,
        RTN_UNICAST,
    ];
    b.extend_from_slice(&0u32.to_ne_bytes());
    b
}

fn ndmsg(index: u32, state: u16, flags: u8) -> Vec<u8> {
    let mut b = vec![AF_INET, 0, 0, 0];
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&state.to_ne_bytes());
    b.push(flags);
    b.push(0);
    b
}

impl Rtnl {
    /// Opens a `NETLINK_ROUTE` socket (close-on-exec).
    pub fn open() -> io::Result<Rtnl> {
        // SAFETY: socket() has no memory-safety preconditions.
        let fd = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: fd was just returned by socket() and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an all-zero sockaddr_nl is valid (pid 0: the kernel assigns one).
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: sa is a sockaddr_nl and its size is passed.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        Ok(Rtnl { fd, seq: 0 })
    }

    fn send(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDR + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // SAFETY: msg is a valid buffer of msg.len() bytes.
        let n = cvt_size(unsafe {
            libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0)
        })?;
        if n != msg.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short netlink send",
            ));
        }
        Ok(self.seq)
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: buf is valid for buf.len() bytes.
            let r =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            match cvt_size(r) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// Sends one request and collects the payloads of its reply messages: one ACK (an
    /// empty list) for a plain request, every message until `NLMSG_DONE` for a dump.
    fn transact(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<Vec<(u16, Vec<u8>)>> {
        let seq = self.send(kind, flags | NLM_F_ACK, body)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = self.recv(&mut buf)?;
            let mut rest = &buf[..n];
            while rest.len() >= NLMSG_HDR {
                let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
                let mtype = u16::from_ne_bytes([rest[4], rest[5]]);
                let mflags = u16::from_ne_bytes([rest[6], rest[7]]);
                let mseq = u32::from_ne_bytes(rest[8..12].try_into().unwrap());
                if len < NLMSG_HDR || len > rest.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "malformed netlink reply",
                    ));
                }
                let payload = &rest[NLMSG_HDR..len];
                rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
                if mseq != seq {
                    continue;
                }
                match mtype {
                    NLMSG_ERROR => {
                        let err = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                            .unwrap_or(-libc::EPROTO);
                        return if err == 0 {
                            Ok(out)
                        } else {
                            Err(io::Error::from_raw_os_error(-err))
                        };
                    }
                    NLMSG_DONE => return Ok(out),
                    _ => {
                        out.push((mtype, payload.to_vec()));
                        if mflags & NLM_F_MULTI == 0 && flags & NLM_F_DUMP == 0 {
                            // A single answer to a GET; the ACK follows.
                        }
                    }
                }
            }
        }
    }

    /// The index of the interface `name`, or `ENODEV`.
    pub fn index(name: &str) -> io::Result<u32> {
        let c =
            std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
        // SAFETY: c is a valid NUL-terminated string.
        let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if i == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(i)
        }
    }

    /// Kind, TUN owner/group/type/persistence and up state of the link `name`.
    pub fn link_info(&mut self, name: &str) -> io::Result<LinkInfo> {
        let mut body = ifinfomsg(0, 0, 0);
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        put_attr(&mut body, IFLA_IFNAME, &n);
        put_attr(&mut body, IFLA_EXT_MASK, &0u32.to_ne_bytes());
        let replies = self.transact(RTM_GETLINK, 0, &body)?;
        let (_, p) = replies
            .into_iter()
            .find(|(t, _)| *t == RTM_NEWLINK)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        if p.len() < 16 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "short ifinfomsg",
            ));
        }
        let mut info = LinkInfo {
            index: i32::from_ne_bytes(p[4..8].try_into().unwrap()) as u32,
            up: u32::from_ne_bytes(p[8..12].try_into().unwrap()) & IFF_UP != 0,
            ..LinkInfo::default()
        };
        for (t, v) in attrs(&p[16..]) {
            if t != IFLA_LINKINFO {
                continue;
            }
            for (t, v) in attrs(v) {
                match t {
                    IFLA_INFO_KIND => {
                        let s = v.split(|&b| b == 0).next().unwrap_or(&[]);
                        info.kind = Some(String::from_utf8_lossy(s).into_owned());
                    }
                    IFLA_INFO_DATA => {
                        for (t, v) in attrs(v) {
                            match t {
                                IFLA_TUN_OWNER => info.tun_owner = u32_of(v),
                                IFLA_TUN_GROUP => info.tun_group = u32_of(v),
                                IFLA_TUN_TYPE => info.tun_type = v.first().copied(),
                                IFLA_TUN_PERSIST => info.tun_persist = v.first().map(|&b| b != 0),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(info)
    }

    /// Brings a link up or down.
    pub fn set_link_up(&mut self, index: u32, up: bool) -> io::Result<()> {
        let body = ifinfomsg(index, if up { IFF_UP } else { 0 }, IFF_UP);
        self.transact(RTM_NEWLINK, 0, &body).map(drop)
    }

    /// Turns proxy ARP on or off on a link, by index (`net.ipv4.conf.<dev>.proxy_arp`
    /// set through `IFLA_AF_SPEC`/`IFLA_INET_CONF`, so that a device renamed meanwhile
    /// is not mistaken for another).
    pub fn set_proxy_arp(&mut self, index: u32, on: bool) -> io::Result<()> {
        let mut conf = Vec::new();
        put_attr(
            &mut conf,
            IPV4_DEVCONF_PROXY_ARP,
            &u32::from(on).to_ne_bytes(),
        );
        let mut inet = Vec::new();
        put_attr(&mut inet, IFLA_INET_CONF, &conf);
        let mut spec = Vec::new();
        put_attr(&mut spec, u16::from(AF_INET), &inet);
        let mut body = ifinfomsg(index, 0, 0);
        put_attr(&mut body, IFLA_AF_SPEC, &spec);
        self.transact(RTM_NEWLINK, 0, &body).map(drop)
    }

    /// Sets a link's MTU.
    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> io::Result<()> {
        let mut body = ifinfomsg(index, 0, 0);
        put_attr(&mut body, IFLA_MTU, &mtu.to_ne_bytes());
        self.transact(RTM_NEWLINK, 0, &body).map(drop)
    }

    /// Adds (`add`) or removes an IPv4 address, with an optional point-to-point peer
    /// (the prefix is then the peer's).
    pub fn address(
        &mut self,
        add: bool,
        index: u32,
        local: Ipv4Addr,
        prefix: u8,
        peer: Option<Ipv4Addr>,
    ) -> io::Result<()> {
        let mut body = ifaddrmsg(index, prefix, RT_SCOPE_UNIVERSE);
        put_attr(&mut body, IFA_LOCAL, &local.octets());
        put_attr(&mut body, IFA_ADDRESS, &peer.unwrap_or(local).octets());
        if add {
            self.transact(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &body)
                .map(drop)
        } else {
            self.transact(RTM_DELADDR, 0, &body).map(drop)
        }
    }

    /// The IPv4 addresses of every link (or of one, with `index`).
    pub fn addresses(&mut self, index: Option<u32>) -> io::Result<Vec<AddrInfo>> {
        let body = ifaddrmsg(0, 0, 0);
        let replies = self.transact(RTM_GETADDR, NLM_F_DUMP, &body)?;
        let mut out = Vec::new();
        for (t, p) in replies {
            if t != RTM_NEWADDR || p.len() < 8 || p[0] != AF_INET {
                continue;
            }
            let idx = u32::from_ne_bytes(p[4..8].try_into().unwrap());
            if index.is_some_and(|i| i != idx) {
                continue;
            }
            let (mut local, mut address) = (None, None);
            for (t, v) in attrs(&p[8..]) {
                match t {
                    IFA_LOCAL => local = ipv4_of(v),
                    IFA_ADDRESS => address = ipv4_of(v),
                    _ => {}
                }
            }
            let Some(l) = local.or(address) else { continue };
            out.push(AddrInfo {
                index: idx,
                local: l,
                prefix: p[1],
                peer: address.filter(|a| local.is_some() && *a != l),
            });
        }
        Ok(out)
    }

    /// Adds or removes a route to `dst/dst_len` in the main table out of `index`,
    /// through `via` if given (a link-scope route otherwise).
    pub fn route(
        &mut self,
        add: bool,
        dst: Ipv4Addr,
        dst_len: u8,
        index: Option<u32>,
        via: Option<Ipv4Addr>,
    ) -> io::Result<()> {
        let scope = if via.is_some() || index.is_none() {
            RT_SCOPE_UNIVERSE
        } else {
            RT_SCOPE_LINK
        };
        let mut body = rtmsg(dst_len, scope);
        if dst_len > 0 {
            put_attr(&mut body, RTA_DST, &dst.octets());
        }
        if let Some(i) = index {
            put_attr(&mut body, RTA_OIF, &i.to_ne_bytes());
        }
        if let Some(g) = via {
            put_attr(&mut body, RTA_GATEWAY, &g.octets());
        }
        if add {
            self.transact(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &body)
                .map(drop)
        } else {
            self.transact(RTM_DELROUTE, 0, &body).map(drop)
        }
    }

    /// Every IPv4 unicast route of every table (`ip -4 route show table all`, without
    /// the local, broadcast and other special types).
    pub fn unicast_routes(&mut self) -> io::Result<Vec<RouteInfo>> {
        let body = rtmsg(0, 0);
        let replies = self.transact(RTM_GETROUTE, NLM_F_DUMP, &body)?;
        let mut out = Vec::new();
        for (t, p) in replies {
            if t != RTM_NEWROUTE || p.len() < 12 || p[0] != AF_INET || p[7] != RTN_UNICAST {
                continue;
            }
            let mut r = RouteInfo {
                dst: Ipv4Addr::UNSPECIFIED,
                dst_len: p[1],
                oif: None,
                gateway: None,
            };
            for (t, v) in attrs(&p[12..]) {
                match t {
                    RTA_DST => r.dst = ipv4_of(v).unwrap_or(Ipv4Addr::UNSPECIFIED),
                    RTA_OIF => r.oif = u32_of(v),
                    RTA_GATEWAY => r.gateway = ipv4_of(v),
                    _ => {}
                }
            }
            out.push(r);
        }
        Ok(out)
    }

    /// The IPv4 neighbours the host knows a hardware address for (not incomplete, not
    /// failed, not the `NOARP` entries of point-to-point and loopback devices), and
    /// not proxy entries: `(address, interface index)`.
    pub fn neighbours(&mut self) -> io::Result<Vec<(Ipv4Addr, u32)>> {
        let body = ndmsg(0, 0, 0);
        let replies = self.transact(RTM_GETNEIGH, NLM_F_DUMP, &body)?;
        let mut out = Vec::new();
        for (t, p) in replies {
            if t != RTM_NEWNEIGH || p.len() < 12 || p[0] != AF_INET {
                continue;
            }
            let index = i32::from_ne_bytes(p[4..8].try_into().unwrap()) as u32;
            let state = u16::from_ne_bytes([p[8], p[9]]);
            let flags = p[10];
            if state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP) != 0 || flags & NTF_PROXY != 0 {
                continue;
            }
            if let Some(ip) = attrs(&p[12..])
                .find(|(t, _)| *t == NDA_DST)
                .and_then(|(_, v)| ipv4_of(v))
            {
                out.push((ip, index));
            }
        }
        Ok(out)
    }

    /// Adds or removes a proxy neighbour entry: answer ARP for `ip` on `index`
    /// (`arp -Ds <ip> <dev> pub`; `ip neigh add proxy <ip> dev <dev>`).
    pub fn proxy_neigh(&mut self, add: bool, ip: Ipv4Addr, index: u32) -> io::Result<()> {
        let mut body = ndmsg(index, NUD_PERMANENT, NTF_PROXY);
        put_attr(&mut body, NDA_DST, &ip.octets());
        if add {
            self.transact(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, &body)
                .map(drop)
        } else {
            self.transact(RTM_DELNEIGH, 0, &body).map(drop)
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn attributes_are_padded_and_read_back() {
        let mut b = Vec::new();
        put_attr(&mut b, IFLA_IFNAME, b"tap0\0");
        put_attr(&mut b, IFLA_MTU, &1500u32.to_ne_bytes());
        assert_eq!(b.len(), 12 + 8);
        let got: Vec<(u16, Vec<u8>)> = attrs(&b).map(|(t, v)| (t, v.to_vec())).collect();
        assert_eq!(
            got,
            vec![
                (IFLA_IFNAME, b"tap0\0".to_vec()),
                (IFLA_MTU, 1500u32.to_ne_bytes().to_vec())
            ]
        );
    }

    #[test]
    fn malformed_attributes_end_the_walk() {
        // A length running past the end, and a length below the header size.
        assert_eq!(attrs(&[40, 0, 1, 0, 0, 0, 0, 0]).count(), 0);
        assert_eq!(attrs(&[2, 0, 1, 0]).count(), 0);
        assert_eq!(attrs(&[4, 0]).count(), 0);
    }

    proptest::proptest! {
        #[test]
        fn attributes_round_trip(list in proptest::collection::vec(
            (0u16..0x3fff, proptest::collection::vec(proptest::num::u8::ANY, 0..64)), 0..8)) {
            let mut b = Vec::new();
            for (t, d) in &list {
                put_attr(&mut b, *t, d);
            }
            let got: Vec<(u16, Vec<u8>)> = attrs(&b).map(|(t, v)| (t, v.to_vec())).collect();
            proptest::prop_assert_eq!(got, list);
        }

        #[test]
        fn any_bytes_walk_without_panicking(data in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let n = attrs(&data).count();
            proptest::prop_assert!(n <= data.len() / 4);
        }
    }

    #[test]
    fn loopback_is_found_and_is_not_a_tap() {
        let mut nl = Rtnl::open().unwrap();
        let lo = nl.link_info("lo").unwrap();
        assert_eq!(lo.index, Rtnl::index("lo").unwrap());
        assert!(!lo.is_tap() && !lo.is_tun());
        let e = nl.link_info("nosuchdev0").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    }
}
