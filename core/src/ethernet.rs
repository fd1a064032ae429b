//! Ethernet II frames as UML's Ethernet transports carry them, and the ethertap prefix.
//!
//! Every Ethernet transport of UML (tuntap, ethertap, mcast, daemon) moves whole Ethernet
//! II frames: destination, source, ethertype, payload. There is no FCS and no padding is
//! required, so a frame is at least the 14-byte header and may carry any payload length.
//!
//! [`Frame`] is a zero-copy view over any byte buffer: check its length once
//! ([`Frame::new_checked`]), then every accessor is infallible and never panics.
//! [`Repr`] is the header as plain values; [`Repr::emit`] writes it back.
//!
//! The ethertap transport adds one twist (docs/protocols.md §2.5): every datagram on its data socket
//! is **2 bytes of padding followed by the frame**. The UML kernel does not initialise
//! those 2 bytes when it sends, so a receiver must ignore their value;
//! [`EthertapPacket`] is the view of such a datagram and [`prefix_ethertap`] /
//! [`strip_ethertap`] convert between the two forms.
//!
//! ```
//! use umlnet_core::ethernet::{EtherType, Frame, Repr, HEADER_LEN};
//! use umlnet_core::mac::MacAddr;
//!
//! let repr = Repr {
//!     dst_addr: MacAddr([0xff; 6]),
//!     src_addr: MacAddr([0xfe, 0xfd, 10, 0, 0, 2]),
//!     ethertype: EtherType::Arp,
//! };
//! let mut buf = [0u8; HEADER_LEN + 28];
//! let mut frame = Frame::new_unchecked(&mut buf[..]);
//! repr.emit(&mut frame);
//! frame.payload_mut().fill(0x11);
//!
//! let frame = Frame::new_checked(&buf[..]).unwrap();
//! assert_eq!(Repr::parse(&frame).unwrap(), repr);
//! assert_eq!(frame.payload().len(), 28);
//! ```

use core::fmt;

use crate::mac::MacAddr;

/// Why a buffer is not a usable Ethernet frame or ethertap datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The frame is shorter than the 14-byte Ethernet header.
    FrameTooShort {
        /// Length of the buffer that was offered.
        len: usize,
    },
    /// The ethertap datagram is shorter than its 2-byte prefix plus an Ethernet header.
    EthertapTooShort {
        /// Length of the datagram that was offered.
        len: usize,
    },
    /// The output buffer cannot hold the result.
    BufferTooSmall {
        /// Bytes the result needs.
        needed: usize,
        /// Bytes the buffer has.
        got: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::FrameTooShort { len } => write!(
                f,
                "Ethernet frame of {len} bytes is shorter than the {HEADER_LEN}-byte header \
                 (destination, source, ethertype)"
            ),
            Error::EthertapTooShort { len } => write!(
                f,
                "ethertap datagram of {len} bytes is shorter than the {ETHERTAP_PREFIX_LEN}-byte \
                 prefix plus the {HEADER_LEN}-byte Ethernet header ({} bytes)",
                ETHERTAP_PREFIX_LEN + HEADER_LEN
            ),
            Error::BufferTooSmall { needed, got } => write!(
                f,
                "output buffer of {got} bytes is too small: {needed} bytes are needed"
            ),
        }
    }
}

/// The protocol an Ethernet frame carries (its ethertype field).
///
/// Open: any value this crate does not name is kept as [`EtherType::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EtherType {
    /// IPv4, 0x0800.
    Ipv4,
    /// ARP, 0x0806.
    Arp,
    /// IPv6, 0x86dd.
    Ipv6,
    /// Any other ethertype (or an 802.3 length), kept as its raw value.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Unknown(v) => write!(f, "0x{v:04x}"),
        }
    }
}

/// A byte range of a fixed-size field.
pub type Field = core::ops::Range<usize>;
/// The byte range from a field to the end of the buffer.
pub type Rest = core::ops::RangeFrom<usize>;

/// Byte offsets of the Ethernet header fields.
pub mod field {
    use super::{Field, Rest};

    /// Destination MAC address.
    pub const DESTINATION: Field = 0..6;
    /// Source MAC address.
    pub const SOURCE: Field = 6..12;
    /// Ethertype, big-endian.
    pub const ETHERTYPE: Field = 12..14;
    /// Everything after the header.
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet header: destination, source and ethertype.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A read/write view of an Ethernet II frame in a byte buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it. Accessors may panic until
    /// [`Frame::check_len`] has succeeded.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer after checking that it holds at least the Ethernet header.
    pub fn new_checked(buffer: T) -> Result<Frame<T>, Error> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds at least the 14-byte header; after this no
    /// accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            Err(Error::FrameTooShort { len })
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length of a buffer holding a frame with a payload of `payload_len` bytes.
    pub const fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// The destination MAC address.
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr(read6(&self.buffer.as_ref()[field::DESTINATION]))
    }

    /// The source MAC address.
    pub fn src_addr(&self) -> MacAddr {
        MacAddr(read6(&self.buffer.as_ref()[field::SOURCE]))
    }

    /// The ethertype.
    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC address.
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source MAC address.
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the ethertype.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(ethertype).to_be_bytes());
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

fn read6(b: &[u8]) -> [u8; 6] {
    let mut out = [0u8; 6];
    out.copy_from_slice(b);
    out
}

/// The Ethernet header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Repr {
    /// Destination MAC address.
    pub dst_addr: MacAddr,
    /// Source MAC address.
    pub src_addr: MacAddr,
    /// Protocol of the payload.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a frame, checking its length first.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &Frame<&T>) -> Result<Repr, Error> {
        frame.check_len()?;
        Ok(Repr {
            dst_addr: frame.dst_addr(),
            src_addr: frame.src_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// The number of header bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into a frame whose buffer holds at least [`HEADER_LEN`] bytes
    /// (panics otherwise, like every setter on an unchecked view).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.dst_addr.0;
        let s = self.src_addr.0;
        write!(
            f,
            "EthernetII src={:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} \
             dst={:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} type={}",
            s[0], s[1], s[2], s[3], s[4], s[5], d[0], d[1], d[2], d[3], d[4], d[5], self.ethertype
        )
    }
}

/// Length of the padding in front of every frame on the ethertap data socket.
pub const ETHERTAP_PREFIX_LEN: usize = 2;

/// The prefix value this crate writes when it sends on an ethertap data socket.
/// Receivers ignore its value (the UML kernel leaves it uninitialised).
pub const ETHERTAP_PREFIX: [u8; ETHERTAP_PREFIX_LEN] = [0, 0];

/// Byte offsets of an ethertap datagram.
pub mod ethertap_field {
    use super::{Field, Rest};

    /// The 2 bytes of padding; their value carries no meaning.
    pub const PREFIX: Field = 0..2;
    /// The Ethernet frame.
    pub const FRAME: Rest = 2..;
}

/// A view of one datagram on the ethertap data socket: 2 bytes of padding, then an
/// Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthertapPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthertapPacket<T> {
    /// Wraps a buffer without checking it. Accessors may panic until
    /// [`EthertapPacket::check_len`] has succeeded.
    pub const fn new_unchecked(buffer: T) -> EthertapPacket<T> {
        EthertapPacket { buffer }
    }

    /// Wraps a buffer after checking that it holds the prefix and an Ethernet header.
    pub fn new_checked(buffer: T) -> Result<EthertapPacket<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the 2-byte prefix and a whole Ethernet header;
    /// after this no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < ETHERTAP_PREFIX_LEN + HEADER_LEN {
            Err(Error::EthertapTooShort { len })
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length of a datagram carrying a frame of `frame_len` bytes.
    pub const fn buffer_len(frame_len: usize) -> usize {
        ETHERTAP_PREFIX_LEN + frame_len
    }

    /// The raw padding bytes. They mean nothing (the kernel sends garbage here);
    /// this is for diagnostics only.
    pub fn prefix(&self) -> [u8; ETHERTAP_PREFIX_LEN] {
        let b = &self.buffer.as_ref()[ethertap_field::PREFIX];
        [b[0], b[1]]
    }

    /// The Ethernet frame after the prefix.
    pub fn frame(&self) -> Frame<&[u8]> {
        Frame::new_unchecked(&self.buffer.as_ref()[ethertap_field::FRAME])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthertapPacket<T> {
    /// Sets the padding to [`ETHERTAP_PREFIX`].
    pub fn clear_prefix(&mut self) {
        self.buffer.as_mut()[ethertap_field::PREFIX].copy_from_slice(&ETHERTAP_PREFIX);
    }

    /// The Ethernet frame after the prefix, writable.
    pub fn frame_mut(&mut self) -> Frame<&mut [u8]> {
        Frame::new_unchecked(&mut self.buffer.as_mut()[ethertap_field::FRAME])
    }
}

/// Writes `frame` into `out` as an ethertap datagram (prefix [`ETHERTAP_PREFIX`], then
/// the frame) and returns the datagram's length.
pub fn prefix_ethertap(frame: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    if frame.len() < HEADER_LEN {
        return Err(Error::FrameTooShort { len: frame.len() });
    }
    let needed = EthertapPacket::<&[u8]>::buffer_len(frame.len());
    let Some(out) = out.get_mut(..needed) else {
        return Err(Error::BufferTooSmall {
            needed,
            got: out.len(),
        });
    };
    out[ethertap_field::PREFIX].copy_from_slice(&ETHERTAP_PREFIX);
    out[ethertap_field::FRAME].copy_from_slice(frame);
    Ok(needed)
}

/// Returns the Ethernet frame inside an ethertap datagram, ignoring the prefix's value.
pub fn strip_ethertap(datagram: &[u8]) -> Result<&[u8], Error> {
    let packet = EthertapPacket::new_checked(datagram)?;
    Ok(&packet.into_inner()[ethertap_field::FRAME])
}

/// Fuzz entry: views `data` as a frame and as an ethertap datagram and checks that
/// what parses re-emits to the same bytes. Never panics on any input.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    match Frame::new_checked(data) {
        Ok(frame) => {
            let repr = Repr::parse(&frame).expect("checked frame parses");
            let mut header = [0u8; HEADER_LEN];
            repr.emit(&mut Frame::new_unchecked(&mut header[..]));
            assert_eq!(&header[..], &data[..HEADER_LEN]);
            assert_eq!(frame.payload(), &data[HEADER_LEN..]);
        }
        Err(e) => assert_eq!(e, Error::FrameTooShort { len: data.len() }),
    }
    match strip_ethertap(data) {
        Ok(inner) => {
            let packet = EthertapPacket::new_checked(data).expect("strip checked it");
            assert_eq!(packet.frame().as_ref(), inner);
            let mut out = [0u8; 1600];
            match prefix_ethertap(inner, &mut out) {
                Ok(n) => {
                    assert_eq!(n, data.len());
                    assert_eq!(&out[2..n], &data[2..]);
                    assert_eq!(strip_ethertap(&out[..n]), Ok(inner));
                }
                Err(e) => assert_eq!(
                    e,
                    Error::BufferTooSmall {
                        needed: data.len(),
                        got: out.len()
                    }
                ),
            }
        }
        Err(e) => assert_eq!(e, Error::EthertapTooShort { len: data.len() }),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    /// An ARP request sent by the real linux.uml 6.1 guest (eth0=tuntap, captured
    /// with tcpdump on the host tap): who-has 10.77.0.1 tell 10.77.0.2.
    const UML_ARP_REQUEST: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xb2, 0xd1, 0xfc, 0x49, 0x5c, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x3e, 0xb2, 0xd1, 0xfc, 0x49, 0x5c, 0x0a, 0x4d,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x01,
    ];

    /// The first 34 bytes of an ICMP echo request from the same guest (Ethernet + IPv4
    /// header) to 02:c5:ec:c5:bd:f9.
    const UML_ICMP_HEAD: [u8; 34] = [
        0x02, 0xc5, 0xec, 0xc5, 0xbd, 0xf9, 0x3e, 0xb2, 0xd1, 0xfc, 0x49, 0x5c, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x54, 0xb9, 0x23, 0x40, 0x00, 0x40, 0x01, 0x6c, 0xe9, 0x0a, 0x4d, 0x00, 0x02,
        0x0a, 0x4d, 0x00, 0x01,
    ];

    const GUEST: MacAddr = MacAddr([0x3e, 0xb2, 0xd1, 0xfc, 0x49, 0x5c]);

    #[test]
    fn parses_real_arp_request() {
        let frame = Frame::new_checked(&UML_ARP_REQUEST[..]).unwrap();
        assert_eq!(frame.dst_addr(), MacAddr([0xff; 6]));
        assert_eq!(frame.src_addr(), GUEST);
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.payload().len(), 28);
        // ARP: sender protocol address 10.77.0.2, target 10.77.0.1.
        assert_eq!(&frame.payload()[14..18], &[10, 77, 0, 2]);
        assert_eq!(&frame.payload()[24..28], &[10, 77, 0, 1]);
    }

    #[test]
    fn parses_real_icmp_frame() {
        let frame = Frame::new_checked(&UML_ICMP_HEAD[..]).unwrap();
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(
            repr,
            Repr {
                dst_addr: MacAddr([0x02, 0xc5, 0xec, 0xc5, 0xbd, 0xf9]),
                src_addr: GUEST,
                ethertype: EtherType::Ipv4,
            }
        );
        assert_eq!(frame.payload()[0], 0x45, "IPv4 version/IHL");
        assert_eq!(
            repr.to_string(),
            "EthernetII src=3e:b2:d1:fc:49:5c dst=02:c5:ec:c5:bd:f9 type=IPv4"
        );
    }

    #[test]
    fn emit_rebuilds_real_header() {
        let frame = Frame::new_checked(&UML_ARP_REQUEST[..]).unwrap();
        let repr = Repr::parse(&frame).unwrap();
        let mut buf = [0u8; 42];
        let mut out = Frame::new_unchecked(&mut buf[..]);
        repr.emit(&mut out);
        out.payload_mut().copy_from_slice(frame.payload());
        assert_eq!(buf, UML_ARP_REQUEST);
    }

    #[test]
    fn short_frames_are_rejected_with_their_length() {
        for len in 0..HEADER_LEN {
            let e = Frame::new_checked(&UML_ARP_REQUEST[..len]).unwrap_err();
            assert_eq!(e, Error::FrameTooShort { len });
        }
        assert!(Frame::new_checked(&UML_ARP_REQUEST[..HEADER_LEN]).is_ok());
        assert_eq!(
            Error::FrameTooShort { len: 3 }.to_string(),
            "Ethernet frame of 3 bytes is shorter than the 14-byte header \
             (destination, source, ethertype)"
        );
    }

    #[test]
    fn ethertype_is_open() {
        assert_eq!(EtherType::from(0x0800), EtherType::Ipv4);
        assert_eq!(EtherType::from(0x0806), EtherType::Arp);
        assert_eq!(EtherType::from(0x86dd), EtherType::Ipv6);
        assert_eq!(EtherType::from(0x88cc), EtherType::Unknown(0x88cc));
        assert_eq!(u16::from(EtherType::Unknown(0x88cc)), 0x88cc);
        assert_eq!(EtherType::Unknown(0x88cc).to_string(), "0x88cc");
    }

    #[test]
    fn ethertap_prefix_is_ignored_on_receive() {
        // The kernel's 2 bytes are uninitialised: 00 00 and b0 ba were both observed.
        for prefix in [[0x00, 0x00], [0xb0, 0xba]] {
            let mut datagram = vec![prefix[0], prefix[1]];
            datagram.extend_from_slice(&UML_ARP_REQUEST);
            let packet = EthertapPacket::new_checked(&datagram[..]).unwrap();
            assert_eq!(packet.prefix(), prefix);
            assert_eq!(packet.frame().as_ref(), &UML_ARP_REQUEST[..]);
            assert_eq!(packet.frame().ethertype(), EtherType::Arp);
            assert_eq!(strip_ethertap(&datagram), Ok(&UML_ARP_REQUEST[..]));
        }
    }

    #[test]
    fn ethertap_prefix_on_send_is_zero() {
        let mut out = [0xaa; 64];
        let n = prefix_ethertap(&UML_ARP_REQUEST, &mut out).unwrap();
        assert_eq!(n, 44);
        assert_eq!(&out[..2], &[0, 0]);
        assert_eq!(&out[2..44], &UML_ARP_REQUEST[..]);
        assert_eq!(
            prefix_ethertap(&UML_ARP_REQUEST, &mut out[..43]),
            Err(Error::BufferTooSmall {
                needed: 44,
                got: 43
            })
        );
        assert_eq!(
            prefix_ethertap(&UML_ARP_REQUEST[..13], &mut out),
            Err(Error::FrameTooShort { len: 13 })
        );
    }

    #[test]
    fn ethertap_in_place() {
        let mut buf = [0x55u8; 2 + 42];
        let mut packet = EthertapPacket::new_unchecked(&mut buf[..]);
        packet.clear_prefix();
        packet.frame_mut().payload_mut().fill(0);
        Repr {
            dst_addr: MacAddr([0xff; 6]),
            src_addr: GUEST,
            ethertype: EtherType::Arp,
        }
        .emit(&mut packet.frame_mut());
        assert_eq!(&buf[..2], &[0, 0]);
        assert_eq!(&buf[2..16], &UML_ARP_REQUEST[..14]);
    }

    #[test]
    fn short_ethertap_datagrams_are_rejected() {
        assert_eq!(
            strip_ethertap(&[0; 15]),
            Err(Error::EthertapTooShort { len: 15 })
        );
        assert!(strip_ethertap(&[0; 16]).is_ok());
    }

    #[test]
    fn fuzz_one_survives_edges() {
        fuzz_one(&[]);
        fuzz_one(&UML_ARP_REQUEST);
        fuzz_one(&UML_ICMP_HEAD);
        fuzz_one(&[0u8; 1602]);
        fuzz_one(&[0u8; 1603]);
    }

    fn any_repr() -> impl Strategy<Value = Repr> {
        (any::<[u8; 6]>(), any::<[u8; 6]>(), any::<u16>()).prop_map(|(d, s, t)| Repr {
            dst_addr: MacAddr(d),
            src_addr: MacAddr(s),
            ethertype: EtherType::from(t),
        })
    }

    proptest! {
        #[test]
        fn emit_then_parse_is_identity(repr in any_repr(), payload in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
            let mut frame = Frame::new_unchecked(&mut buf[..]);
            repr.emit(&mut frame);
            frame.payload_mut().copy_from_slice(&payload);
            let frame = Frame::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&frame).unwrap(), repr);
            prop_assert_eq!(frame.payload(), &payload[..]);
        }

        #[test]
        fn parse_then_emit_is_identity(bytes in proptest::collection::vec(any::<u8>(), 14..80)) {
            let repr = Repr::parse(&Frame::new_unchecked(&bytes[..])).unwrap();
            let mut buf = bytes.clone();
            buf[..14].fill(0);
            repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
            prop_assert_eq!(buf, bytes);
        }

        #[test]
        fn ethertap_prefix_then_strip_is_identity(prefix in any::<[u8; 2]>(), frame in proptest::collection::vec(any::<u8>(), 14..100)) {
            let mut out = [0u8; 128];
            let n = prefix_ethertap(&frame, &mut out).unwrap();
            prop_assert_eq!(strip_ethertap(&out[..n]), Ok(&frame[..]));
            // Whatever the sender left in the prefix, the frame is the same.
            let mut datagram: Vec<u8> = prefix.to_vec();
            datagram.extend_from_slice(&frame);
            prop_assert_eq!(strip_ethertap(&datagram), Ok(&frame[..]));
        }

        #[test]
        fn fuzz_one_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            fuzz_one(&bytes);
        }
    }
}
