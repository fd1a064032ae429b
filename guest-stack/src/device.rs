//! A smoltcp [`Device`] over any core [`Link`], with the interface counters that
//! `ifconfig` shows.
//!
//! [`LinkDevice`] is the one place where frames cross between a transport and the
//! guest: it counts every frame and byte in each direction, transport errors, and
//! frames the transport could not take ([`SendStatus::Full`] counts as a TX drop, as a
//! full queue does in a kernel driver). It works two ways:
//!
//! * as a plain smoltcp [`Device`], for a one-interface stack where smoltcp does ARP
//!   itself: an Ethernet link gives [`Medium::Ethernet`] with
//!   `max_transmission_unit = mtu + 14`, an IP link gives [`Medium::Ip`] with
//!   `max_transmission_unit = mtu`;
//! * as the counted frame port of one interface of a [`crate::Guest`], through
//!   [`LinkDevice::recv_frame`] and [`LinkDevice::send_frame`].
//!
//! ```
//! use smoltcp::phy::{Device, Medium};
//! use umlnet_core::link::{Link, Medium as LinkMedium, SendStatus};
//! use umlnet_guest::LinkDevice;
//!
//! struct Sink;
//! impl Link for Sink {
//!     type Error = core::convert::Infallible;
//!     fn medium(&self) -> LinkMedium { LinkMedium::Ethernet }
//!     fn mtu(&self) -> usize { 1500 }
//!     fn recv(&mut self, _: &mut [u8]) -> Result<Option<usize>, Self::Error> { Ok(None) }
//!     fn send(&mut self, _: &[u8]) -> Result<SendStatus, Self::Error> { Ok(SendStatus::Sent) }
//! }
//!
//! let mut dev = LinkDevice::new(Sink);
//! let caps = dev.capabilities();
//! assert_eq!(caps.medium, Medium::Ethernet);
//! assert_eq!(caps.max_transmission_unit, 1514);
//! assert!(dev.send_frame(&[0u8; 60]));
//! assert_eq!(dev.counters().tx_packets, 1);
//! assert_eq!(dev.counters().tx_bytes, 60);
//! ```

use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use umlnet_core::link::{Link, Medium as LinkMedium, SendStatus};

/// Per-interface packet counters, as `ifconfig` prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received from the link.
    pub rx_packets: u64,
    /// Bytes of those frames (link header included, as Linux counts).
    pub rx_bytes: u64,
    /// Receive failures of the transport.
    pub rx_errors: u64,
    /// Received frames thrown away (not for us, malformed, interface down).
    pub rx_dropped: u64,
    /// Frames handed to the link.
    pub tx_packets: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Send failures of the transport.
    pub tx_errors: u64,
    /// Frames the link had no room for ([`SendStatus::Full`]) or that could not be
    /// delivered (no neighbour, queue overflow).
    pub tx_dropped: u64,
}

/// A smoltcp device over a [`Link`], counting what passes.
#[derive(Debug)]
pub struct LinkDevice<L: Link> {
    link: L,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    counters: Counters,
}

impl<L: Link> LinkDevice<L> {
    /// Wraps `link`; buffers are sized from [`Link::max_frame_len`].
    pub fn new(link: L) -> Self {
        let max = link.max_frame_len();
        LinkDevice {
            link,
            rx_buf: vec![0; max],
            tx_buf: vec![0; max],
            counters: Counters::default(),
        }
    }

    /// The link underneath.
    pub fn link(&self) -> &L {
        &self.link
    }

    /// The link underneath, mutably (for a shim that needs to service it).
    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// Gives the link back.
    pub fn into_link(self) -> L {
        self.link
    }

    /// The counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The counters, mutably (a guest counts drops it decides on itself).
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// What the link's frames carry.
    pub fn medium(&self) -> LinkMedium {
        self.link.medium()
    }

    /// The link's MTU (largest IP packet).
    pub fn mtu(&self) -> usize {
        self.link.mtu()
    }

    /// Receives one frame, counted, or `None` when nothing is waiting (a transport
    /// error is counted as an RX error and also ends this receive).
    pub fn recv_frame(&mut self) -> Option<&[u8]> {
        match self.link.recv(&mut self.rx_buf) {
            Ok(Some(n)) => {
                let n = n.min(self.rx_buf.len());
                self.counters.rx_packets += 1;
                self.counters.rx_bytes += n as u64;
                Some(&self.rx_buf[..n])
            }
            Ok(None) => None,
            Err(_) => {
                self.counters.rx_errors += 1;
                None
            }
        }
    }

    /// Reads and throws away one waiting frame without counting it (a device that is
    /// down sees nothing); returns whether there was one.
    pub fn discard_frame(&mut self) -> bool {
        matches!(self.link.recv(&mut self.rx_buf), Ok(Some(_)))
    }

    /// Sends one frame, counted. Returns whether the link took it.
    pub fn send_frame(&mut self, frame: &[u8]) -> bool {
        send_counted(&mut self.link, &mut self.counters, frame)
    }
}

fn send_counted<L: Link>(link: &mut L, counters: &mut Counters, frame: &[u8]) -> bool {
    match link.send(frame) {
        Ok(SendStatus::Sent) => {
            counters.tx_packets += 1;
            counters.tx_bytes += frame.len() as u64;
            true
        }
        Ok(SendStatus::Full) => {
            counters.tx_dropped += 1;
            false
        }
        Err(_) => {
            counters.tx_errors += 1;
            false
        }
    }
}

impl<L: Link> Device for LinkDevice<L> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, L>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let LinkDevice {
            link,
            rx_buf,
            tx_buf,
            counters,
        } = self;
        let n = match link.recv(rx_buf) {
            Ok(Some(n)) => n.min(rx_buf.len()),
            Ok(None) => return None,
            Err(_) => {
                counters.rx_errors += 1;
                return None;
            }
        };
        counters.rx_packets += 1;
        counters.rx_bytes += n as u64;
        Some((
            RxToken {
                frame: &rx_buf[..n],
            },
            TxToken {
                link,
                buf: tx_buf,
                counters,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        Some(TxToken {
            link: &mut self.link,
            buf: &mut self.tx_buf,
            counters: &mut self.counters,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        match self.link.medium() {
            LinkMedium::Ethernet => {
                caps.medium = Medium::Ethernet;
                caps.max_transmission_unit = self.link.mtu() + LinkMedium::Ethernet.header_len();
            }
            LinkMedium::Ip => {
                caps.medium = Medium::Ip;
                caps.max_transmission_unit = self.link.mtu();
            }
        }
        caps
    }
}

/// A received frame, lent to smoltcp.
#[doc(hidden)]
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

/// Room for one frame to send, lent to smoltcp.
#[doc(hidden)]
pub struct TxToken<'a, L: Link> {
    link: &'a mut L,
    buf: &'a mut Vec<u8>,
    counters: &'a mut Counters,
}

impl<L: Link> phy::TxToken for TxToken<'_, L> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let result = f(&mut self.buf[..len]);
        send_counted(self.link, self.counters, &self.buf[..len]);
        result
    }
}

/// A transport failure of an [`AnyLink`], with the underlying error's debug text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFailure(pub alloc::string::String);

impl core::fmt::Display for LinkFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "link failure: {}", self.0)
    }
}

trait ErasedLink {
    fn medium(&self) -> LinkMedium;
    fn mtu(&self) -> usize;
    fn max_frame_len(&self) -> usize;
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, LinkFailure>;
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, LinkFailure>;
}

impl<L: Link> ErasedLink for L
where
    L::Error: core::fmt::Debug,
{
    fn medium(&self) -> LinkMedium {
        Link::medium(self)
    }
    fn mtu(&self) -> usize {
        Link::mtu(self)
    }
    fn max_frame_len(&self) -> usize {
        Link::max_frame_len(self)
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, LinkFailure> {
        Link::recv(self, buf).map_err(|e| LinkFailure(alloc::format!("{e:?}")))
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, LinkFailure> {
        Link::send(self, frame).map_err(|e| LinkFailure(alloc::format!("{e:?}")))
    }
}

/// Any [`Link`] behind one type, so that one guest can hold interfaces over
/// different transports (a daemon port as eth0, a slip line as eth1).
pub struct AnyLink(alloc::boxed::Box<dyn ErasedLink>);

impl AnyLink {
    /// Erases the type of `link`; its errors become [`LinkFailure`]s.
    pub fn new<L: Link + 'static>(link: L) -> Self
    where
        L::Error: core::fmt::Debug,
    {
        AnyLink(alloc::boxed::Box::new(link))
    }
}

impl core::fmt::Debug for AnyLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AnyLink")
            .field("medium", &self.0.medium())
            .field("mtu", &self.0.mtu())
            .finish()
    }
}

impl Link for AnyLink {
    type Error = LinkFailure;
    fn medium(&self) -> LinkMedium {
        self.0.medium()
    }
    fn mtu(&self) -> usize {
        self.0.mtu()
    }
    fn max_frame_len(&self) -> usize {
        self.0.max_frame_len()
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        self.0.recv(buf)
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        self.0.send(frame)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test::wire::{Clock, Segment};
    use core::cell::Cell;
    use core::net::Ipv4Addr;
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::socket::icmp;
    use smoltcp::time::Duration;
    use smoltcp::wire::{EthernetAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr};
    use std::rc::Rc;
    use std::string::ToString;

    /// Two plain smoltcp interfaces, each over a `LinkDevice`, with smoltcp doing ARP:
    /// the device on its own is a complete smoltcp `Device`.
    #[test]
    fn smoltcp_pings_through_link_devices() {
        let clock: Clock = Rc::new(Cell::new(Instant::from_secs(1)));
        let seg = Segment::new(&clock, Duration::from_micros(100), LinkMedium::Ethernet);
        let mut devs = [LinkDevice::new(seg.port()), LinkDevice::new(seg.port())];
        let mut ifaces: Vec<Interface> = devs
            .iter_mut()
            .enumerate()
            .map(|(i, dev)| {
                let mac = EthernetAddress([0xfe, 0xfd, 10, 0, 0, i as u8 + 1]);
                let mut iface = Interface::new(Config::new(mac.into()), dev, clock.get());
                iface.update_ip_addrs(|a| {
                    a.push(IpCidr::new(IpAddress::v4(10, 0, 0, i as u8 + 1), 24))
                        .unwrap();
                });
                iface
            })
            .collect();
        let mut sockets = [SocketSet::new(vec![]), SocketSet::new(vec![])];
        let icmp = icmp::Socket::new(
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 512]),
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 512]),
        );
        let h = sockets[0].add(icmp);
        sockets[0]
            .get_mut::<icmp::Socket>(h)
            .bind(icmp::Endpoint::Ident(7))
            .unwrap();
        let echo = Icmpv4Repr::EchoRequest {
            ident: 7,
            seq_no: 1,
            data: b"ping",
        };
        let mut buf = vec![0; echo.buffer_len()];
        echo.emit(
            &mut Icmpv4Packet::new_unchecked(&mut buf),
            &Default::default(),
        );
        // The first send triggers ARP and is lost (smoltcp does not queue), as on
        // hardware; send until a reply comes.
        let mut reply = None;
        for _ in 0..50 {
            let s = sockets[0].get_mut::<icmp::Socket>(h);
            if s.can_send() && s.send_queue() == 0 {
                s.send_slice(&buf, IpAddress::v4(10, 0, 0, 2)).unwrap();
            }
            for _ in 0..4 {
                for i in 0..2 {
                    ifaces[i].poll(clock.get(), &mut devs[i], &mut sockets[i]);
                }
            }
            let s = sockets[0].get_mut::<icmp::Socket>(h);
            if let Ok((data, from)) = s.recv() {
                reply = Some((data.to_vec(), from));
                break;
            }
            clock.set(clock.get() + Duration::from_millis(100));
        }
        let (data, from) = reply.expect("an echo reply");
        assert_eq!(from, IpAddress::Ipv4(Ipv4Addr::new(10, 0, 0, 2)));
        let packet = Icmpv4Packet::new_checked(&data[..]).unwrap();
        assert_eq!(packet.data(), b"ping");
        // Both sides counted the ARP exchange and the echo.
        for dev in &devs {
            let c = dev.counters();
            assert!(c.rx_packets >= 2 && c.tx_packets >= 2, "{c:?}");
            assert_eq!((c.rx_errors, c.tx_errors, c.tx_dropped), (0, 0, 0));
        }
        // 42-byte ARP frames and 46-byte echo frames, Ethernet header included.
        assert!(devs[1].counters().rx_bytes >= 42 + 46);
    }

    /// A link that fails or is full on demand.
    struct Flaky {
        full: bool,
        broken: bool,
    }

    impl Link for Flaky {
        type Error = &'static str;
        fn medium(&self) -> LinkMedium {
            LinkMedium::Ip
        }
        fn mtu(&self) -> usize {
            1500
        }
        fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
            if self.broken {
                Err("peer went away")
            } else {
                buf[..20].fill(0x45);
                Ok(Some(20))
            }
        }
        fn send(&mut self, _: &[u8]) -> Result<SendStatus, Self::Error> {
            match (self.broken, self.full) {
                (true, _) => Err("peer went away"),
                (false, true) => Ok(SendStatus::Full),
                (false, false) => Ok(SendStatus::Sent),
            }
        }
    }

    #[test]
    fn counters_tell_full_from_broken() {
        let mut dev = LinkDevice::new(Flaky {
            full: true,
            broken: false,
        });
        let caps = dev.capabilities();
        assert_eq!(
            (caps.medium, caps.max_transmission_unit),
            (Medium::Ip, 1500)
        );
        assert!(!dev.send_frame(&[0; 20]));
        assert_eq!(dev.recv_frame().map(<[u8]>::len), Some(20));
        dev.link_mut().full = false;
        assert!(dev.send_frame(&[0; 30]));
        dev.link_mut().broken = true;
        assert!(!dev.send_frame(&[0; 20]));
        assert!(dev.recv_frame().is_none());
        assert_eq!(
            *dev.counters(),
            Counters {
                rx_packets: 1,
                rx_bytes: 20,
                rx_errors: 1,
                rx_dropped: 0,
                tx_packets: 1,
                tx_bytes: 30,
                tx_errors: 1,
                tx_dropped: 1,
            }
        );
        // The same link behind AnyLink keeps its behaviour and explains its errors.
        let mut any = AnyLink::new(dev.into_link());
        let err = Link::send(&mut any, &[0; 20]).unwrap_err();
        assert_eq!(err.to_string(), "link failure: \"peer went away\"");
        assert_eq!(Link::medium(&any), LinkMedium::Ip);
    }
}
