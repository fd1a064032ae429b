//! The typed `vec<n>:` argument: [`Vector`] with its transport ([`VectorTransport`]) and
//! the keys every transport shares, and its canonical form (docs/protocols.md §9).
//!
//! The kernel reads `vec<n>:key=value,…` into a table of at most 20 strings
//! (`uml_parse_vector_ifspec`, `drivers/vector_user.c`) and each part of the driver looks
//! up the keys it wants when it needs them, most of them only at `ifup`. This module
//! holds what those look-ups would find, typed; [`parse`](super::parse) refuses what the
//! kernel refuses, what it silently reads as something else, and what makes the 6.1
//! kernel panic at `ifup`.
//!
//! ```
//! use umlnet_core::cmdline::{parse, Transport, VectorTransport};
//!
//! let p = parse("vec0:transport=l2tpv3,udp=1,src=10.0.0.1,dst=10.0.0.2,srcport=1701,\
//!                dstport=1701,rx_session=0x10,tx_session=0x20").unwrap();
//! let Transport::Vector(v) = &p.spec.transport else { panic!() };
//! let VectorTransport::L2tpv3(l) = &v.transport else { panic!() };
//! assert_eq!((l.rx_session, l.tx_session, l.udp), (16, 32, true));
//! assert_eq!(p.spec.to_string(), "vec0:transport=l2tpv3,src=10.0.0.1,dst=10.0.0.2,udp=1,\
//!                                 srcport=1701,dstport=1701,rx_session=16,tx_session=32");
//!
//! let arg = "vec0:transport=bess";
//! let e = parse(arg).unwrap_err();
//! assert!(e.to_string().starts_with("vec0: transport=bess needs dst="));
//! ```

use core::fmt;
use core::net::IpAddr;

use crate::mac::MacAddr;

use super::{IfName, SocketPath};

/// The kernel's table holds this many `key=value` pairs (`MAXVARGS`,
/// `drivers/vector_user.h`); more overflow it.
pub const VECTOR_MAX_KEYS: usize = 20;
/// Longest file path kept for `ifup=` and `bpffile=`.
pub const FILE_PATH_MAX: usize = 128;
/// A file path (`ifup=` script, `bpffile=`).
pub type FilePath = heapless::String<FILE_PATH_MAX>;

/// `mtu=` default (`ETH_MAX_PACKET`).
pub const DEFAULT_VECTOR_MTU: u16 = 1500;
/// Smallest `mtu=` the kernel takes (`get_mtu`); below it silently uses 1500.
pub const VECTOR_MTU_MIN: u16 = 576;
/// Largest `mtu=` the kernel takes (`get_mtu`: below `(1 << 16) - 1`).
pub const VECTOR_MTU_MAX: u16 = 65534;
/// `depth=` default (`DEFAULT_VECTOR_SIZE`): messages per `recvmmsg`/`sendmmsg`.
pub const DEFAULT_VECTOR_DEPTH: u32 = 64;
/// Largest `depth=` this parser takes: a queue of 64-byte `mmsghdr`s must fit one
/// `kmalloc` (4 MiB); the kernel does not check the allocation of its receive queue.
pub const VECTOR_DEPTH_MAX: u32 = 65536;
/// `headroom=` default (`DEFAULT_HEADROOM`).
pub const DEFAULT_VECTOR_HEADROOM: u16 = 2;
/// Largest L2TPv3 session id, GRE key the kernel can read (`kstrtoint`: an `int`).
pub const VECTOR_ID_MAX: u32 = 0x7fff_ffff;

/// The vector transports of the 6.1 kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VectorKind {
    /// `raw`: `AF_PACKET` sockets on a host interface.
    Raw,
    /// `tap`: a host TAP device.
    Tap,
    /// `hybrid`: a TAP to send, `AF_PACKET` to receive.
    Hybrid,
    /// `gre`: Ethernet over GRE, raw IP protocol 47.
    Gre,
    /// `l2tpv3`: Ethernet over L2TPv3, UDP or raw IP protocol 115.
    L2tpv3,
    /// `bess`: a unix seqpacket socket.
    Bess,
    /// `fd`: an inherited socket.
    Fd,
}

impl VectorKind {
    /// Every transport, in the order the kernel tries their names.
    pub const ALL: [VectorKind; 7] = [
        VectorKind::Raw,
        VectorKind::Hybrid,
        VectorKind::Tap,
        VectorKind::Gre,
        VectorKind::L2tpv3,
        VectorKind::Bess,
        VectorKind::Fd,
    ];

    /// The `transport=` value.
    pub const fn name(self) -> &'static str {
        match self {
            VectorKind::Raw => "raw",
            VectorKind::Tap => "tap",
            VectorKind::Hybrid => "hybrid",
            VectorKind::Gre => "gre",
            VectorKind::L2tpv3 => "l2tpv3",
            VectorKind::Bess => "bess",
            VectorKind::Fd => "fd",
        }
    }

    /// The transport with exactly this name.
    pub fn from_name(name: &str) -> Option<VectorKind> {
        VectorKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The transport the kernel picks for `name`: it compares only the length of each
    /// transport's name (`strncmp`), so `tapx` is `tap`.
    pub fn kernel_reads(name: &str) -> Option<VectorKind> {
        VectorKind::ALL
            .iter()
            .copied()
            .find(|k| name.starts_with(k.name()))
    }
}

impl fmt::Display for VectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key the vector driver looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)] // each variant is its key, named by `name()`
pub enum VectorKey {
    Transport,
    Ifname,
    Ifup,
    Src,
    Dst,
    V6,
    Udp,
    Srcport,
    Dstport,
    RxSession,
    TxSession,
    RxCookie,
    TxCookie,
    Cookie64,
    Counter,
    PinCounter,
    RxKey,
    TxKey,
    Sequence,
    PinSequence,
    Fd,
    Mac,
    Mtu,
    Depth,
    Headroom,
    Gro,
    Vec,
    Bpffile,
    Bpfflash,
}

impl VectorKey {
    /// Every key, in canonical order.
    pub const ALL: [VectorKey; 29] = [
        VectorKey::Transport,
        VectorKey::Ifname,
        VectorKey::Ifup,
        VectorKey::Src,
        VectorKey::Dst,
        VectorKey::V6,
        VectorKey::Udp,
        VectorKey::Srcport,
        VectorKey::Dstport,
        VectorKey::RxSession,
        VectorKey::TxSession,
        VectorKey::RxCookie,
        VectorKey::TxCookie,
        VectorKey::Cookie64,
        VectorKey::Counter,
        VectorKey::PinCounter,
        VectorKey::RxKey,
        VectorKey::TxKey,
        VectorKey::Sequence,
        VectorKey::PinSequence,
        VectorKey::Fd,
        VectorKey::Mac,
        VectorKey::Mtu,
        VectorKey::Depth,
        VectorKey::Headroom,
        VectorKey::Gro,
        VectorKey::Vec,
        VectorKey::Bpffile,
        VectorKey::Bpfflash,
    ];

    /// The key as written.
    pub const fn name(self) -> &'static str {
        match self {
            VectorKey::Transport => "transport",
            VectorKey::Ifname => "ifname",
            VectorKey::Ifup => "ifup",
            VectorKey::Src => "src",
            VectorKey::Dst => "dst",
            VectorKey::V6 => "v6",
            VectorKey::Udp => "udp",
            VectorKey::Srcport => "srcport",
            VectorKey::Dstport => "dstport",
            VectorKey::RxSession => "rx_session",
            VectorKey::TxSession => "tx_session",
            VectorKey::RxCookie => "rx_cookie",
            VectorKey::TxCookie => "tx_cookie",
            VectorKey::Cookie64 => "cookie64",
            VectorKey::Counter => "counter",
            VectorKey::PinCounter => "pin_counter",
            VectorKey::RxKey => "rx_key",
            VectorKey::TxKey => "tx_key",
            VectorKey::Sequence => "sequence",
            VectorKey::PinSequence => "pin_sequence",
            VectorKey::Fd => "fd",
            VectorKey::Mac => "mac",
            VectorKey::Mtu => "mtu",
            VectorKey::Depth => "depth",
            VectorKey::Headroom => "headroom",
            VectorKey::Gro => "gro",
            VectorKey::Vec => "vec",
            VectorKey::Bpffile => "bpffile",
            VectorKey::Bpfflash => "bpfflash",
        }
    }

    /// The key with this name.
    pub fn from_name(name: &str) -> Option<VectorKey> {
        VectorKey::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Whether `transport` reads this key (the shared keys are read by every one).
    pub const fn used_by(self, transport: VectorKind) -> bool {
        use VectorKey as K;
        use VectorKind as T;
        match self {
            K::Transport
            | K::Mac
            | K::Mtu
            | K::Depth
            | K::Headroom
            | K::Gro
            | K::Vec
            | K::Bpffile
            | K::Bpfflash => true,
            K::Ifname | K::Ifup => matches!(transport, T::Raw | T::Tap | T::Hybrid),
            K::Src | K::Dst => matches!(transport, T::Gre | T::L2tpv3 | T::Bess),
            K::V6 => matches!(transport, T::Gre | T::L2tpv3),
            K::Udp
            | K::Srcport
            | K::Dstport
            | K::RxSession
            | K::TxSession
            | K::RxCookie
            | K::TxCookie
            | K::Cookie64
            | K::Counter
            | K::PinCounter => matches!(transport, T::L2tpv3),
            K::RxKey | K::TxKey | K::Sequence | K::PinSequence => matches!(transport, T::Gre),
            K::Fd => matches!(transport, T::Fd),
        }
    }

    #[cfg(feature = "vector")]
    pub(super) const fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for VectorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `vec<n>:transport=<kind>,key=value,…`: a vector device (named `vec<n>` in the guest).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vector {
    /// The transport and its keys.
    pub transport: VectorTransport,
    /// `mac=`; `None` gives a random locally administered address.
    pub mac: Option<MacAddr>,
    /// `mtu=`, 576–65534 (default 1500).
    pub mtu: u16,
    /// `depth=`: messages per `recvmmsg`/`sendmmsg` and queue length (default 64).
    pub depth: u32,
    /// `headroom=`: bytes reserved in front of each received frame (default 2).
    pub headroom: u16,
    /// `gro=1`: receive buffers of 64 KiB for GRO/TSO frames.
    pub gro: bool,
    /// `vec=`: batched `recvmmsg`/`sendmmsg` I/O (default on; `vec=0` turns it off).
    pub vec: bool,
    /// `bpffile=`: a classic BPF program loaded onto the receive socket at ifup.
    pub bpffile: Option<FilePath>,
    /// `bpfflash=`: lets `ethtool -f` load a BPF program from the guest.
    pub bpfflash: bool,
}

impl Vector {
    /// A device on `transport` with every shared key at its default.
    pub const fn new(transport: VectorTransport) -> Vector {
        Vector {
            transport,
            mac: None,
            mtu: DEFAULT_VECTOR_MTU,
            depth: DEFAULT_VECTOR_DEPTH,
            headroom: DEFAULT_VECTOR_HEADROOM,
            gro: false,
            vec: true,
            bpffile: None,
            bpfflash: false,
        }
    }

    /// Which transport this is.
    pub const fn kind(&self) -> VectorKind {
        self.transport.kind()
    }
}

/// A vector transport with its own keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VectorTransport {
    /// `transport=raw,ifname=<host if>`
    Raw(RawVector),
    /// `transport=tap[,ifname=<tap>]`
    Tap(TapVector),
    /// `transport=hybrid,ifname=<tap>`
    Hybrid(RawVector),
    /// `transport=gre,src=,dst=[,rx_key=,tx_key=][,sequence=1[,pin_sequence=1]]`
    Gre(GreVector),
    /// `transport=l2tpv3,src=,dst=,rx_session=,tx_session=[,udp=1,srcport=,dstport=]…`
    L2tpv3(L2tpv3Vector),
    /// `transport=bess,dst=<path>[,src=<path>]`
    Bess(BessVector),
    /// `transport=fd,fd=<n>`
    Fd(FdVector),
}

impl VectorTransport {
    /// Which transport this is.
    pub const fn kind(&self) -> VectorKind {
        match self {
            VectorTransport::Raw(_) => VectorKind::Raw,
            VectorTransport::Tap(_) => VectorKind::Tap,
            VectorTransport::Hybrid(_) => VectorKind::Hybrid,
            VectorTransport::Gre(_) => VectorKind::Gre,
            VectorTransport::L2tpv3(_) => VectorKind::L2tpv3,
            VectorTransport::Bess(_) => VectorKind::Bess,
            VectorTransport::Fd(_) => VectorKind::Fd,
        }
    }
}

/// `raw` and `hybrid`: a host interface, and a script run on it at ifup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RawVector {
    /// `ifname=`, required.
    pub ifname: IfName,
    /// `ifup=`: a program run with the interface name after the sockets are open.
    pub ifup: Option<FilePath>,
}

/// `tap`: a TAP device, named or made up (`tapXXXXXX`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TapVector {
    /// `ifname=`; `None` makes a new `tap` + six random characters at each ifup.
    pub ifname: Option<IfName>,
    /// `ifup=`: a program run with the interface name after the TAP is open.
    pub ifup: Option<FilePath>,
}

/// A receive and a transmit value that only work as a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pair<T> {
    /// What the kernel expects on received packets.
    pub rx: T,
    /// What the kernel puts on sent packets.
    pub tx: T,
}

/// `gre`: Ethernet in GRE (`0x6558`) over raw IP protocol 47.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GreVector {
    /// `src=`: the local address (bound); IPv6 means `v6=1`.
    pub src: IpAddr,
    /// `dst=`: the peer.
    pub dst: IpAddr,
    /// `rx_key=` and `tx_key=` (0–0x7fffffff): the GRE key field.
    pub key: Option<Pair<u32>>,
    /// `sequence=1`: a sequence number field.
    pub sequence: bool,
    /// `pin_sequence=1`: that sequence number always 0 (needs `sequence=1`).
    pub pin_sequence: bool,
}

/// `l2tpv3`: Ethernet over an L2TPv3 session, on UDP (`udp=1`) or IP protocol 115.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct L2tpv3Vector {
    /// `src=`: the local address (bound); IPv6 means `v6=1`.
    pub src: IpAddr,
    /// `dst=`: the peer.
    pub dst: IpAddr,
    /// `udp=1`: over UDP (unprivileged) instead of raw IP.
    pub udp: bool,
    /// `srcport=` (UDP only); `None` binds a random port.
    pub srcport: Option<u16>,
    /// `dstport=` (UDP only, then required).
    pub dstport: Option<u16>,
    /// `rx_session=`: the session id received packets must carry (0–0x7fffffff).
    pub rx_session: u32,
    /// `tx_session=`: the session id sent (0–0x7fffffff).
    pub tx_session: u32,
    /// `rx_cookie=` and `tx_cookie=`: 4-byte (or with `cookie64=1` 8-byte) cookies.
    pub cookie: Option<Pair<u64>>,
    /// `cookie64=1`: 8-byte cookies (needs the cookies).
    pub cookie64: bool,
    /// `counter=1`: a 4-byte sequence counter after the cookie.
    pub counter: bool,
    /// `pin_counter=1`: that counter always 0 (needs `counter=1`).
    pub pin_counter: bool,
}

impl L2tpv3Vector {
    /// Bytes of L2TPv3 header the kernel puts before each frame.
    pub fn header_len(&self) -> usize {
        let cookie = match (self.cookie, self.cookie64) {
            (None, _) => 0,
            (Some(_), false) => 4,
            (Some(_), true) => 8,
        };
        4 + cookie + 4 * usize::from(self.counter) + 4 * usize::from(self.udp)
    }
}

/// `bess`: a unix `SOCK_SEQPACKET` socket connected to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BessVector {
    /// `dst=`: the listening socket (a filesystem path).
    pub dst: SocketPath,
    /// `src=`: a path bound first (and never unlinked by the kernel).
    pub src: Option<SocketPath>,
}

/// `fd`: a socket the UML process inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FdVector {
    /// `fd=`: the descriptor number (0–2147483647).
    pub fd: u32,
}

/// Writes `,key=value`.
struct Kv<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Kv<'_, '_> {
    fn put(&mut self, key: VectorKey, value: impl fmt::Display) -> fmt::Result {
        write!(self.0, ",{key}={value}")
    }
    fn opt(&mut self, key: VectorKey, value: Option<impl fmt::Display>) -> fmt::Result {
        match value {
            Some(v) => self.put(key, v),
            None => Ok(()),
        }
    }
    fn flag(&mut self, key: VectorKey, on: bool) -> fmt::Result {
        if on { self.put(key, 1) } else { Ok(()) }
    }
}

impl fmt::Display for Vector {
    /// The canonical options: `transport=` first, then the transport's keys, then the
    /// shared ones, each only where it differs from the default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VectorKey as K;
        write!(f, "transport={}", self.kind())?;
        let mut kv = Kv(f);
        match &self.transport {
            VectorTransport::Raw(r) | VectorTransport::Hybrid(r) => {
                kv.put(K::Ifname, &r.ifname)?;
                kv.opt(K::Ifup, r.ifup.as_ref())?;
            }
            VectorTransport::Tap(t) => {
                kv.opt(K::Ifname, t.ifname.as_ref())?;
                kv.opt(K::Ifup, t.ifup.as_ref())?;
            }
            VectorTransport::Gre(g) => {
                kv.put(K::Src, g.src)?;
                kv.put(K::Dst, g.dst)?;
                kv.flag(K::V6, g.src.is_ipv6())?;
                if let Some(k) = g.key {
                    kv.put(K::RxKey, k.rx)?;
                    kv.put(K::TxKey, k.tx)?;
                }
                kv.flag(K::Sequence, g.sequence)?;
                kv.flag(K::PinSequence, g.pin_sequence)?;
            }
            VectorTransport::L2tpv3(l) => {
                kv.put(K::Src, l.src)?;
                kv.put(K::Dst, l.dst)?;
                kv.flag(K::V6, l.src.is_ipv6())?;
                kv.flag(K::Udp, l.udp)?;
                kv.opt(K::Srcport, l.srcport)?;
                kv.opt(K::Dstport, l.dstport)?;
                kv.put(K::RxSession, l.rx_session)?;
                kv.put(K::TxSession, l.tx_session)?;
                if let Some(c) = l.cookie {
                    kv.put(K::RxCookie, c.rx)?;
                    kv.put(K::TxCookie, c.tx)?;
                }
                kv.flag(K::Cookie64, l.cookie64)?;
                kv.flag(K::Counter, l.counter)?;
                kv.flag(K::PinCounter, l.pin_counter)?;
            }
            VectorTransport::Bess(b) => {
                kv.put(K::Dst, &b.dst)?;
                kv.opt(K::Src, b.src.as_ref())?;
            }
            VectorTransport::Fd(d) => kv.put(K::Fd, d.fd)?,
        }
        kv.opt(K::Mac, self.mac)?;
        kv.opt(K::Mtu, (self.mtu != DEFAULT_VECTOR_MTU).then_some(self.mtu))?;
        kv.opt(
            K::Depth,
            (self.depth != DEFAULT_VECTOR_DEPTH).then_some(self.depth),
        )?;
        kv.opt(
            K::Headroom,
            (self.headroom != DEFAULT_VECTOR_HEADROOM).then_some(self.headroom),
        )?;
        kv.flag(K::Gro, self.gro)?;
        if !self.vec {
            kv.put(K::Vec, 0)?;
        }
        kv.opt(K::Bpffile, self.bpffile.as_ref())?;
        kv.flag(K::Bpfflash, self.bpfflash)
    }
}
