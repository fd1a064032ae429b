//! The guest side of the UML network transports on a real Linux host: each one a core
//! [`Link`] (whole frames, never blocking) with a pollable descriptor.
//!
//! | transport | what it opens (section of docs/protocols.md) |
//! |---|---|
//! | [`tuntap`] | a named TAP device, or one made by `uml_net 4 tuntap up` and passed back with `SCM_RIGHTS` (§2.3) |
//! | [`ethertap`] | `uml_net 4 ethertap`: a datagram socketpair with a 2-byte prefix, and a control stream with 12-byte address messages (§2.5) |
//! | [`mcast`] | a UDP multicast socket with the kernel's options and defaults; our own looped-back frames are dropped (§4) |
//! | [`daemon`] | a port on a `uml_switch` or `vde_switch`: the version 3 request and a 110-byte abstract data socket (§3.1, §3.3) |
//! | [`slip`] | a pty whose slave `uml_net 4 slip up` configures, or any byte stream, through the core SLIP codec (§2.6, §5) |
//! | [`ucast`] | a UDP socket on the listen port sending to one remote `ip:port`, one frame per datagram (§4) |
//! | [`vde`] | `vde_plug <url>` on a socket pair: frames with a 2-byte big-endian length |
//! | [`bess`] | `vec<n>:transport=bess`: a unix `SOCK_SEQPACKET` connection to `dst` (optional `src` bound first) |
//! | [`fd`] | `vec<n>:transport=fd`: an inherited socket, taken over by number |
//! | [`l2tpv3`] | `vec<n>:transport=l2tpv3,udp=1`: UDP with the L2TPv3 header of the core codec |
//!
//! [`HostLink::open`] builds the right one from a parsed `eth<n>=` argument. Like the
//! kernel, the transports that need the helper tell it about the guest's addresses
//! ([`HostLink::address_changed`]), so that the host routes to the guest and answers
//! ARP for it.
//!
//! ```no_run
//! use umlnet_core::link::Link;
//! use umlnet_linux::transport::{HostLink, OpenOptions};
//!
//! let spec = "eth0=mcast".parse().unwrap();
//! let mut link = HostLink::open(&spec, &OpenOptions::default()).unwrap();
//! let mut buf = [0u8; 1514];
//! let _maybe_frame = link.recv(&mut buf).unwrap();
//! ```

pub mod bess;
pub mod daemon;
pub mod ethertap;
pub mod fd;
pub mod helper;
pub mod l2tpv3;
pub mod mcast;
pub mod slip;
pub mod tuntap;
pub mod ucast;
pub mod vde;

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

use umlnet_core::cmdline::{DeviceSpec, Transport, TransportKind, VectorKind, VectorTransport};
use umlnet_core::helper::AddrOp;
use umlnet_core::link::{Link, Medium, SendStatus};

/// The MTU of every UML transport.
pub const UML_MTU: usize = 1500;

/// How transports reach the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// The `uml_net` helper to run: a path, or a bare name looked up on `PATH` with
    /// `/usr/lib/uml` appended, as the kernel does.
    pub helper: PathBuf,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            helper: PathBuf::from("uml_net"),
        }
    }
}

/// Why a transport could not be opened. Each names the device and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The transport exists in the kernel but not here.
    #[error(
        "device {index}: the {kind} transport is not available in umlnet (use tuntap, ethertap, mcast, daemon, slip, ucast, vde, or vec<n>: with transport=bess, fd or l2tpv3)"
    )]
    Unsupported {
        /// Device number.
        index: u32,
        /// The transport asked for (`vector` for a `vec<n>:` transport other than
        /// bess, fd and l2tpv3).
        kind: TransportKind,
    },
    /// A host call failed.
    #[error("{}: {transport}: {what}: {source}", device_name(*index, transport))]
    Io {
        /// Device number.
        index: u32,
        /// Transport name.
        transport: &'static str,
        /// The step that failed, with its argument.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The helper answered, but without a working device.
    #[error("{}: {transport}: uml_net failed: {text}", device_name(*index, transport))]
    Helper {
        /// Device number.
        index: u32,
        /// Transport name.
        transport: &'static str,
        /// What the helper printed (or why its answer was unusable).
        text: String,
    },
}

/// The kernel's name of device `index` on `transport`: `vec<n>` for the vector
/// driver's transports, `eth<n>` for the others.
fn device_name(index: u32, transport: &str) -> String {
    match transport {
        "bess" | "fd" | "l2tpv3" => format!("vec{index}"),
        _ => format!("eth{index}"),
    }
}

impl OpenError {
    pub(crate) fn io(
        index: u32,
        transport: &'static str,
        what: impl Into<String>,
    ) -> impl FnOnce(io::Error) -> OpenError {
        let what = what.into();
        move |source| OpenError::Io {
            index,
            transport,
            what,
            source,
        }
    }
}

/// One open transport of any kind.
#[derive(Debug)]
pub enum HostLink {
    /// `eth<n>=tuntap,…`
    Tuntap(tuntap::TuntapLink),
    /// `eth<n>=ethertap,…`
    Ethertap(ethertap::EthertapLink),
    /// `eth<n>=mcast,…`
    Mcast(mcast::McastLink),
    /// `eth<n>=daemon,…`
    Daemon(daemon::DaemonLink),
    /// `eth<n>=slip,…`
    Slip(Box<slip::SlipLink>),
    /// `eth<n>=ucast,…`
    Ucast(ucast::UcastLink),
    /// `eth<n>=vde,…`
    Vde(vde::VdeLink),
    /// `vec<n>:transport=bess,…`
    Bess(bess::BessLink),
    /// `vec<n>:transport=fd,…`
    Fd(fd::FdLink),
    /// `vec<n>:transport=l2tpv3,udp=1,…`
    L2tpv3(l2tpv3::L2tpv3Link),
}

impl HostLink {
    /// Opens the transport `spec` names, as the kernel would for `eth<n>`.
    pub fn open(spec: &DeviceSpec, opts: &OpenOptions) -> Result<HostLink, OpenError> {
        let index = spec.index;
        Ok(match &spec.transport {
            Transport::Tuntap(t) => HostLink::Tuntap(tuntap::TuntapLink::open(index, t, opts)?),
            Transport::Ethertap(t) => {
                HostLink::Ethertap(ethertap::EthertapLink::open(index, t, opts)?)
            }
            Transport::Mcast(m) => HostLink::Mcast(mcast::McastLink::open(index, m)?),
            Transport::Daemon(d) => HostLink::Daemon(daemon::DaemonLink::open(index, d)?),
            Transport::Slip(s) => HostLink::Slip(Box::new(slip::SlipLink::open(index, s, opts)?)),
            Transport::Ucast(u) => HostLink::Ucast(ucast::UcastLink::open(index, u)?),
            Transport::Vde(v) => HostLink::Vde(vde::VdeLink::open(index, v)?),
            Transport::Vector(v) => match &v.transport {
                VectorTransport::Bess(b) => HostLink::Bess(bess::BessLink::open(index, b)?),
                VectorTransport::Fd(f) => HostLink::Fd(fd::FdLink::open(index, f)?),
                VectorTransport::L2tpv3(l) => HostLink::L2tpv3(l2tpv3::L2tpv3Link::open(index, l)?),
                _ => {
                    return Err(OpenError::Unsupported {
                        index,
                        kind: TransportKind::Vector,
                    });
                }
            },
            other => {
                return Err(OpenError::Unsupported {
                    index,
                    kind: other.kind(),
                });
            }
        })
    }

    /// The line the kernel prints for this device once it is set up (e.g.
    /// `mcast backend multicast address: 239.192.168.1:1102, TTL:1`).
    pub fn banner(&self) -> String {
        match self {
            HostLink::Tuntap(l) => l.banner(),
            HostLink::Ethertap(l) => l.banner(),
            HostLink::Mcast(l) => l.banner(),
            HostLink::Daemon(l) => l.banner(),
            HostLink::Slip(l) => l.banner(),
            HostLink::Ucast(l) => l.banner(),
            HostLink::Vde(l) => l.banner(),
            HostLink::Bess(l) => l.banner(),
            HostLink::Fd(l) => l.banner(),
            HostLink::L2tpv3(l) => l.banner(),
        }
    }

    /// Tells the host side that the guest's interface gained (`Add`) or lost (`Del`)
    /// `ip`/`netmask`, as the kernel's inetaddr notifier does: `uml_net 4 add|del` for
    /// a helper-made tap or SLIP line, a control message for ethertap, nothing for the
    /// others. Returns what the helper printed.
    pub fn address_changed(
        &mut self,
        op: AddrOp,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> io::Result<String> {
        match self {
            HostLink::Tuntap(l) => l.address_changed(op, ip, netmask),
            HostLink::Ethertap(l) => l.address_changed(op, ip, netmask),
            HostLink::Slip(l) => l.address_changed(op, ip, netmask),
            _ => Ok(String::new()),
        }
    }

    /// What the helper printed while opening the transport (empty without a helper).
    pub fn helper_text(&self) -> &str {
        match self {
            HostLink::Tuntap(l) => l.helper_text(),
            HostLink::Ethertap(l) => l.helper_text(),
            HostLink::Slip(l) => l.helper_text(),
            _ => "",
        }
    }

    /// The link's `Link` methods, for the variant in use.
    fn inner(&mut self) -> &mut dyn Link<Error = io::Error> {
        match self {
            HostLink::Tuntap(l) => l,
            HostLink::Ethertap(l) => l,
            HostLink::Mcast(l) => l,
            HostLink::Daemon(l) => l,
            HostLink::Slip(l) => &mut **l,
            HostLink::Ucast(l) => l,
            HostLink::Vde(l) => l,
            HostLink::Bess(l) => l,
            HostLink::Fd(l) => l,
            HostLink::L2tpv3(l) => l,
        }
    }
}

impl Link for HostLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        match self {
            HostLink::Slip(_) => Medium::Ip,
            _ => Medium::Ethernet,
        }
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, io::Error> {
        self.inner().recv(buf)
    }

    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, io::Error> {
        self.inner().send(frame)
    }
}

impl AsRawFd for HostLink {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            HostLink::Tuntap(l) => l.as_raw_fd(),
            HostLink::Ethertap(l) => l.as_raw_fd(),
            HostLink::Mcast(l) => l.as_raw_fd(),
            HostLink::Daemon(l) => l.as_raw_fd(),
            HostLink::Slip(l) => l.as_raw_fd(),
            HostLink::Ucast(l) => l.as_raw_fd(),
            HostLink::Vde(l) => l.as_raw_fd(),
            HostLink::Bess(l) => l.as_raw_fd(),
            HostLink::Fd(l) => l.as_raw_fd(),
            HostLink::L2tpv3(l) => l.as_raw_fd(),
        }
    }
}

/// Maps "the descriptor cannot take it now" to [`SendStatus::Full`].
pub(crate) fn sent(r: io::Result<Option<usize>>) -> io::Result<SendStatus> {
    match r {
        Ok(Some(_)) => Ok(SendStatus::Sent),
        Ok(None) => Ok(SendStatus::Full),
        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => Ok(SendStatus::Full),
        Err(e) => Err(e),
    }
}

/// Maps `WouldBlock` from a non-blocking std socket to `None`.
pub(crate) fn would_block(r: io::Result<usize>) -> io::Result<Option<usize>> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// A UML network device as the kernel holds it: its `eth<n>=` spec, and the transport
/// while it is open.
///
/// The kernel connects `daemon` devices when they are created and keeps them until
/// they are removed; `tuntap`, `ethertap`, `slip` and `mcast` acquire their host side
/// at `ifup` and release it at `ifdown` (docs/protocols.md §1.3). [`HostDevice::new`] does the
/// first, [`HostDevice::set_open`] the second. While closed, nothing is received and
/// whatever is sent is refused ([`SendStatus::Full`]).
#[derive(Debug)]
pub struct HostDevice {
    spec: DeviceSpec,
    opts: OpenOptions,
    link: Option<HostLink>,
}

impl HostDevice {
    /// The device `spec` describes; a `daemon` device attaches to its switch now.
    pub fn new(spec: &DeviceSpec, opts: &OpenOptions) -> Result<HostDevice, OpenError> {
        let supported = match &spec.transport {
            Transport::Vector(v) => matches!(
                v.kind(),
                VectorKind::Bess | VectorKind::Fd | VectorKind::L2tpv3
            ),
            t => matches!(
                t.kind(),
                TransportKind::Tuntap
                    | TransportKind::Ethertap
                    | TransportKind::Mcast
                    | TransportKind::Daemon
                    | TransportKind::Slip
                    | TransportKind::Ucast
                    | TransportKind::Vde
            ),
        };
        if !supported {
            return Err(OpenError::Unsupported {
                index: spec.index,
                kind: spec.transport.kind(),
            });
        }
        let mut dev = HostDevice {
            spec: spec.clone(),
            opts: opts.clone(),
            link: None,
        };
        if dev.opens_at_creation() {
            dev.link = Some(HostLink::open(spec, opts)?);
        }
        Ok(dev)
    }

    /// The device's spec.
    pub fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    /// Whether the transport stays open from creation to removal (`daemon`).
    pub fn opens_at_creation(&self) -> bool {
        self.spec.transport.kind() == TransportKind::Daemon
    }

    /// Opens (`ifup`) or closes (`ifdown`) the transport; a `daemon` device stays
    /// attached either way. Returns what the helper printed when it opened.
    pub fn set_open(&mut self, open: bool) -> Result<String, OpenError> {
        if self.opens_at_creation() || open == self.link.is_some() {
            return Ok(String::new());
        }
        if open {
            let link = HostLink::open(&self.spec, &self.opts)?;
            let text = link.helper_text().to_string();
            self.link = Some(link);
            Ok(text)
        } else {
            self.link = None;
            Ok(String::new())
        }
    }

    /// The open transport, if any.
    pub fn link(&self) -> Option<&HostLink> {
        self.link.as_ref()
    }

    /// The descriptor to poll while the transport is open.
    pub fn fd(&self) -> Option<RawFd> {
        self.link.as_ref().map(|l| l.as_raw_fd())
    }

    /// The line the kernel prints when the device is set up, from its spec (e.g.
    /// `TUN/TAP backend - IP = 192.168.0.254`).
    pub fn banner(&self) -> String {
        match &self.spec.transport {
            Transport::Tuntap(t) => match t.gate {
                Some(g) => format!("TUN/TAP backend - IP = {g}"),
                None => "TUN/TAP backend - ".into(),
            },
            Transport::Ethertap(t) => match t.gate {
                Some(g) => format!("ethertap backend - {}, IP = {g}", t.dev),
                None => format!("ethertap backend - {}", t.dev),
            },
            Transport::Mcast(m) => format!(
                "mcast backend multicast address: {}:{}, TTL:{}",
                m.group, m.port, m.ttl
            ),
            Transport::Daemon(d) => format!(
                "daemon backend (uml_switch version 3) - {}:{}",
                d.sock_type,
                d.ctl_or_default()
            ),
            Transport::Slip(s) => match s.gate {
                Some(g) => format!("SLIP backend - SLIP IP = {g}"),
                None => "SLIP backend - SLIP IP = (null)".into(),
            },
            Transport::Ucast(u) => match u.remote {
                Some(r) => format!(
                    "ucast backend listening on port {} to {r}:{}",
                    u.lport, u.rport
                ),
                None => format!("ucast backend listening on port {} (no remote)", u.lport),
            },
            Transport::Vector(v) => match &v.transport {
                VectorTransport::Bess(b) => format!("bess backend - {}", b.dst),
                VectorTransport::Fd(f) => format!("fd backend - {}", f.fd),
                VectorTransport::L2tpv3(l) => {
                    format!("l2tpv3 backend - {}:{}", l.dst, l.dstport.unwrap_or(0))
                }
                other => format!("{} backend", other.kind()),
            },
            other => format!("{} backend", other.kind()),
        }
    }

    /// See [`HostLink::address_changed`]; nothing while closed.
    pub fn address_changed(
        &mut self,
        op: AddrOp,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> io::Result<String> {
        match &mut self.link {
            Some(l) => l.address_changed(op, ip, netmask),
            None => Ok(String::new()),
        }
    }
}

impl Link for HostDevice {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        match self.spec.transport.kind() {
            TransportKind::Slip => Medium::Ip,
            _ => Medium::Ethernet,
        }
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, io::Error> {
        match &mut self.link {
            Some(l) => l.recv(buf),
            None => Ok(None),
        }
    }

    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, io::Error> {
        match &mut self.link {
            Some(l) => l.send(frame),
            None => Ok(SendStatus::Full),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn errors_name_the_device_as_the_kernel_does() {
        let e = |t| OpenError::io(3, t, "connect /x")(io::ErrorKind::NotFound.into());
        assert!(
            e("bess")
                .to_string()
                .starts_with("vec3: bess: connect /x: ")
        );
        assert!(e("l2tpv3").to_string().starts_with("vec3: l2tpv3: "));
        assert!(e("daemon").to_string().starts_with("eth3: daemon: "));
    }
}
