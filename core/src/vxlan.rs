//! VXLAN (RFC 7348): Ethernet frames carried in UDP between switches on different hosts.
//!
//! A VXLAN datagram is the UDP payload: an 8-byte header, then a whole Ethernet frame
//! (no FCS). The Linux kernel's `vxlan` devices, Open vSwitch and datacenter switches
//! all speak it; the IANA port is [`DEFAULT_PORT`] (4789).
//!
//! ```text
//!  0               1               2               3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved (24 bits)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        VXLAN Network Identifier (VNI, 24 bits)|   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Inner Ethernet frame ...                       |
//! ```
//!
//! [`Packet`] is a zero-copy view over a datagram: check its length once
//! ([`Packet::new_checked`]), then no accessor panics. [`Repr`] is the header as values.
//!
//! What is checked on receive, following RFC 7348 §5:
//! - the I flag ([`FLAG_VNI`]) must be set ("MUST be set to 1 for a valid VNI"); a
//!   datagram without it is refused with [`Error::VniFlagClear`];
//! - the other 7 flag bits and the two reserved fields "MUST be set to zero on
//!   transmission and ignored on receipt": [`Repr::parse`] ignores them (so a peer using
//!   an extension that lives there, such as Group Based Policy, still gets through). The
//!   view exposes them ([`Packet::reserved_flags`], [`Packet::reserved`]) for
//!   diagnostics and counting. The Linux kernel is stricter: without an extension enabled
//!   it drops such datagrams; we follow the RFC.
//! - [`Repr::emit`] always writes the reserved bits as zero, so whatever we send is
//!   accepted by the strict kernel too.
//!
//! Which VNI is *wanted* is the receiver's business (a switch uplink counts the others
//! as "wrong VNI"), not the codec's.
//!
//! ```
//! use umlnet_core::vxlan::{Packet, Repr, Vni, HEADER_LEN, decapsulate, encapsulate};
//!
//! let frame = [0xffu8; 14 + 28]; // any Ethernet frame
//! let mut datagram = [0u8; HEADER_LEN + 42];
//! let vni = Vni::new(42).unwrap();
//! let n = encapsulate(vni, &frame, &mut datagram).unwrap();
//! assert_eq!(&datagram[..8], &[0x08, 0, 0, 0, 0, 0, 42, 0]);
//!
//! let packet = Packet::new_checked(&datagram[..n]).unwrap();
//! assert_eq!(Repr::parse(&packet).unwrap(), Repr { vni });
//! assert_eq!(decapsulate(&datagram[..n]), Ok((vni, &frame[..])));
//! ```

use core::fmt;
use core::str::FromStr;

/// The IANA-assigned UDP destination port of VXLAN.
pub const DEFAULT_PORT: u16 = 4789;

/// The I flag: the VNI field is valid. The only flag RFC 7348 defines.
pub const FLAG_VNI: u8 = 0x08;

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Length of the smallest inner Ethernet frame (destination, source, ethertype).
pub const MIN_FRAME_LEN: usize = 14;

/// Extra bytes VXLAN adds around an Ethernet frame on an IPv4 path: the outer IPv4 (20)
/// and UDP (8) headers and the VXLAN header (8). A 1514-byte frame becomes a 1550-byte
/// IPv4 packet; the kernel's vxlan devices default to an MTU of 1500 - 50 for this.
pub const IPV4_OVERHEAD: usize = 20 + 8 + HEADER_LEN;

/// Why a buffer is not a usable VXLAN datagram, or a value is not a VNI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The datagram is shorter than the 8-byte VXLAN header.
    Truncated {
        /// Length of the datagram that was offered.
        len: usize,
    },
    /// The I flag (0x08) is clear, so the datagram carries no valid VNI.
    VniFlagClear {
        /// The flags byte that was found.
        flags: u8,
    },
    /// The inner frame is shorter than an Ethernet header.
    FrameTooShort {
        /// Length of the inner frame.
        len: usize,
    },
    /// A VNI must fit in 24 bits.
    VniTooLarge {
        /// The value that was offered (saturated at `u64::MAX` when written in text).
        value: u64,
    },
    /// A VNI in text is not a decimal number.
    VniNotANumber,
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
            Error::Truncated { len } => write!(
                f,
                "VXLAN datagram of {len} bytes is shorter than the {HEADER_LEN}-byte VXLAN header"
            ),
            Error::VniFlagClear { flags } => write!(
                f,
                "VXLAN flags 0x{flags:02x} lack the I flag 0x{FLAG_VNI:02x}, so the datagram \
                 carries no valid VNI (RFC 7348 section 5)"
            ),
            Error::FrameTooShort { len } => write!(
                f,
                "the frame inside the VXLAN datagram has {len} bytes, fewer than the \
                 {MIN_FRAME_LEN}-byte Ethernet header"
            ),
            Error::VniTooLarge { value } => write!(
                f,
                "VNI {value} does not fit in 24 bits; use 0 to {}",
                Vni::MAX.0
            ),
            Error::VniNotANumber => write!(f, "a VNI is a decimal number from 0 to {}", Vni::MAX.0),
            Error::BufferTooSmall { needed, got } => write!(
                f,
                "output buffer of {got} bytes is too small: {needed} bytes are needed"
            ),
        }
    }
}

/// A VXLAN Network Identifier: the 24-bit number of one virtual segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vni(u32);

impl Vni {
    /// The largest VNI, 2^24 - 1.
    pub const MAX: Vni = Vni(0x00ff_ffff);

    /// The VNI `value`, if it fits in 24 bits.
    pub const fn new(value: u32) -> Result<Vni, Error> {
        if value > Self::MAX.0 {
            Err(Error::VniTooLarge {
                value: value as u64,
            })
        } else {
            Ok(Vni(value))
        }
    }

    /// The VNI as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The three bytes of the VNI field, most significant first.
    pub const fn to_be_bytes(self) -> [u8; 3] {
        let b = self.0.to_be_bytes();
        [b[1], b[2], b[3]]
    }

    /// The VNI held in the three bytes of the VNI field.
    pub const fn from_be_bytes(b: [u8; 3]) -> Vni {
        Vni(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
}

impl TryFrom<u32> for Vni {
    type Error = Error;
    fn try_from(value: u32) -> Result<Vni, Error> {
        Vni::new(value)
    }
}

impl From<Vni> for u32 {
    fn from(v: Vni) -> u32 {
        v.0
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Vni {
    type Err = Error;
    /// A decimal number from 0 to 16777215, as `ip link add … type vxlan id <n>` takes it.
    fn from_str(s: &str) -> Result<Vni, Error> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::VniNotANumber);
        }
        let v: u64 = s.bytes().fold(0u64, |a, b| {
            a.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        match u32::try_from(v) {
            Ok(v) => Vni::new(v),
            Err(_) => Err(Error::VniTooLarge { value: v }),
        }
    }
}

/// A byte range of a fixed-size field.
pub type Field = core::ops::Range<usize>;
/// The byte range from a field to the end of the buffer.
pub type Rest = core::ops::RangeFrom<usize>;

/// Byte offsets of the VXLAN header fields.
pub mod field {
    use super::{Field, Rest};

    /// The flags byte: the I flag ([`super::FLAG_VNI`]) and 7 reserved bits.
    pub const FLAGS: usize = 0;
    /// 24 reserved bits after the flags.
    pub const RESERVED1: Field = 1..4;
    /// The VNI, 24 bits, big-endian.
    pub const VNI: Field = 4..7;
    /// 8 reserved bits after the VNI.
    pub const RESERVED2: usize = 7;
    /// The inner Ethernet frame.
    pub const PAYLOAD: Rest = 8..;
}

/// A read/write view of a VXLAN datagram (the UDP payload) in a byte buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. Accessors may panic until
    /// [`Packet::check_len`] has succeeded.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that it holds the VXLAN header.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the 8-byte header; after this no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            Err(Error::Truncated { len })
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
        HEADER_LEN + frame_len
    }

    /// The whole flags byte.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Whether the I flag is set (the VNI is valid).
    pub fn vni_flag(&self) -> bool {
        self.flags() & FLAG_VNI != 0
    }

    /// The 7 reserved flag bits (the flags without the I flag); zero from a sender that
    /// follows RFC 7348 without extensions.
    pub fn reserved_flags(&self) -> u8 {
        self.flags() & !FLAG_VNI
    }

    /// The two reserved fields (24 and 8 bits) as one number, `reserved1 << 8 | reserved2`;
    /// zero from a sender that follows RFC 7348 without extensions.
    pub fn reserved(&self) -> u32 {
        let b = self.buffer.as_ref();
        let r = &b[field::RESERVED1];
        u32::from_be_bytes([r[0], r[1], r[2], b[field::RESERVED2]])
    }

    /// The VNI field (meaningful only when [`Packet::vni_flag`] is set).
    pub fn vni(&self) -> Vni {
        let v = &self.buffer.as_ref()[field::VNI];
        Vni::from_be_bytes([v[0], v[1], v[2]])
    }

    /// The inner Ethernet frame (not checked; see [`decapsulate`]).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the whole flags byte.
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[field::FLAGS] = flags;
    }

    /// Sets both reserved fields to zero.
    pub fn clear_reserved(&mut self) {
        let b = self.buffer.as_mut();
        b[field::RESERVED1].fill(0);
        b[field::RESERVED2] = 0;
    }

    /// Sets the VNI field.
    pub fn set_vni(&mut self, vni: Vni) {
        self.buffer.as_mut()[field::VNI].copy_from_slice(&vni.to_be_bytes());
    }

    /// The inner frame, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The VXLAN header as values. Reserved bits are not kept: they are ignored on receive
/// and zero on send (RFC 7348 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Repr {
    /// The segment the frame belongs to.
    pub vni: Vni,
}

impl Repr {
    /// Reads the header: checks the length and the I flag, ignores the reserved bits.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr, Error> {
        packet.check_len()?;
        if !packet.vni_flag() {
            return Err(Error::VniFlagClear {
                flags: packet.flags(),
            });
        }
        Ok(Repr { vni: packet.vni() })
    }

    /// The number of header bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header (I flag, zero reserved bits, the VNI) into a packet whose buffer
    /// holds at least [`HEADER_LEN`] bytes (panics otherwise, like every setter on an
    /// unchecked view).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_flags(FLAG_VNI);
        packet.clear_reserved();
        packet.set_vni(self.vni);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VXLAN vni={}", self.vni)
    }
}

/// Writes `frame` into `out` as a VXLAN datagram for segment `vni` and returns the
/// datagram's length. The frame must hold at least an Ethernet header.
pub fn encapsulate(vni: Vni, frame: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    if frame.len() < MIN_FRAME_LEN {
        return Err(Error::FrameTooShort { len: frame.len() });
    }
    let needed = Packet::<&[u8]>::buffer_len(frame.len());
    let got = out.len();
    let Some(out) = out.get_mut(..needed) else {
        return Err(Error::BufferTooSmall { needed, got });
    };
    let mut packet = Packet::new_unchecked(out);
    Repr { vni }.emit(&mut packet);
    packet.payload_mut().copy_from_slice(frame);
    Ok(needed)
}

/// Reads a received VXLAN datagram: its VNI and the Ethernet frame inside. Refuses a
/// short datagram, a clear I flag and an inner frame shorter than an Ethernet header;
/// ignores the reserved bits.
pub fn decapsulate(datagram: &[u8]) -> Result<(Vni, &[u8]), Error> {
    let packet = Packet::new_checked(datagram)?;
    let repr = Repr::parse(&packet)?;
    let frame = &datagram[field::PAYLOAD];
    if frame.len() < MIN_FRAME_LEN {
        return Err(Error::FrameTooShort { len: frame.len() });
    }
    Ok((repr.vni, frame))
}

/// Fuzz entry: reads `data` as a VXLAN datagram and as a VNI in text, and checks that
/// what parses re-encodes to the same bytes (reserved bits cleared). Never panics on
/// any input.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    match Packet::new_checked(data) {
        Ok(packet) => match Repr::parse(&packet) {
            Ok(repr) => {
                assert!(packet.vni_flag());
                assert_eq!(repr.vni, packet.vni());
                assert!(repr.vni <= Vni::MAX);
                let mut header = [0u8; HEADER_LEN];
                let mut out = Packet::new_unchecked(&mut header[..]);
                repr.emit(&mut out);
                assert_eq!(out.reserved(), 0);
                assert_eq!(out.reserved_flags(), 0);
                assert_eq!(header[0], data[0] & FLAG_VNI);
                assert_eq!(&header[field::VNI], &data[field::VNI]);
                match decapsulate(data) {
                    Ok((vni, frame)) => {
                        assert_eq!(vni, repr.vni);
                        assert_eq!(frame, packet.payload());
                        let mut buf = [0u8; 2048];
                        match encapsulate(vni, frame, &mut buf) {
                            Ok(n) => {
                                assert_eq!(n, data.len());
                                assert_eq!(decapsulate(&buf[..n]), Ok((vni, frame)));
                                assert_eq!(&buf[HEADER_LEN..n], &data[HEADER_LEN..]);
                            }
                            Err(e) => assert_eq!(
                                e,
                                Error::BufferTooSmall {
                                    needed: data.len(),
                                    got: buf.len()
                                }
                            ),
                        }
                    }
                    Err(e) => assert_eq!(
                        e,
                        Error::FrameTooShort {
                            len: data.len() - HEADER_LEN
                        }
                    ),
                }
            }
            Err(e) => {
                assert_eq!(e, Error::VniFlagClear { flags: data[0] });
                assert_eq!(decapsulate(data), Err(e));
            }
        },
        Err(e) => {
            assert_eq!(e, Error::Truncated { len: data.len() });
            assert_eq!(decapsulate(data), Err(e));
        }
    }
    if let Ok(s) = core::str::from_utf8(data)
        && let Ok(vni) = s.parse::<Vni>()
    {
        assert!(vni <= Vni::MAX);
        let mut text = heapless::String::<16>::new();
        let _ = core::fmt::write(&mut text, format_args!("{vni}"));
        assert_eq!(text.parse::<Vni>(), Ok(vni));
        assert_eq!(Vni::from_be_bytes(vni.to_be_bytes()), vni);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    /// A VXLAN datagram sent by the Linux kernel (6.x, `ip link add vx0 type vxlan id 42
    /// remote 10.212.0.2 dstport 4789`, captured with tcpdump on the underlay veth): the
    /// ARP request `ping 192.168.42.2` causes, who-has 192.168.42.2 tell 192.168.42.1.
    const KERNEL_ARP_REQUEST: [u8; 50] = [
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        0x00, 0x00, 0x00, 0x42, 0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x42, 0x01, 0xc0, 0xa8, 0x2a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xc0, 0xa8, 0x2a, 0x02,
    ];

    /// The kernel's answer from the other end: 192.168.42.2 is-at 02:00:00:00:42:02.
    const KERNEL_ARP_REPLY: [u8; 50] = [
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x02, 0x00, 0x00, 0x00, 0x42, 0x01, 0x02,
        0x00, 0x00, 0x00, 0x42, 0x02, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
        0x02, 0x00, 0x00, 0x00, 0x42, 0x02, 0xc0, 0xa8, 0x2a, 0x02, 0x02, 0x00, 0x00, 0x00, 0x42,
        0x01, 0xc0, 0xa8, 0x2a, 0x01,
    ];

    #[test]
    fn parses_kernel_arp_request() {
        let p = Packet::new_checked(&KERNEL_ARP_REQUEST[..]).unwrap();
        assert_eq!(p.flags(), 0x08);
        assert!(p.vni_flag());
        assert_eq!(p.reserved_flags(), 0);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.vni(), Vni::new(42).unwrap());
        let repr = Repr::parse(&p).unwrap();
        assert_eq!(repr.to_string(), "VXLAN vni=42");
        let (vni, frame) = decapsulate(&KERNEL_ARP_REQUEST).unwrap();
        assert_eq!(vni.get(), 42);
        assert_eq!(frame.len(), 42);
        assert_eq!(&frame[..6], &[0xff; 6], "broadcast destination");
        assert_eq!(&frame[6..12], &[2, 0, 0, 0, 0x42, 1], "vx0's MAC");
        assert_eq!(&frame[12..14], &[0x08, 0x06], "ARP");
    }

    #[test]
    fn encapsulate_rebuilds_kernel_datagrams_byte_for_byte() {
        for d in [&KERNEL_ARP_REQUEST, &KERNEL_ARP_REPLY] {
            let (vni, frame) = decapsulate(d).unwrap();
            let mut out = [0xaa; 64];
            let n = encapsulate(vni, frame, &mut out).unwrap();
            assert_eq!(&out[..n], &d[..]);
        }
    }

    #[test]
    fn clear_i_flag_is_refused_with_the_flags_found() {
        let mut d = KERNEL_ARP_REQUEST;
        d[0] = 0x00;
        assert_eq!(decapsulate(&d), Err(Error::VniFlagClear { flags: 0 }));
        d[0] = 0x80; // G flag of the GBP extension, but no I flag
        assert_eq!(decapsulate(&d), Err(Error::VniFlagClear { flags: 0x80 }));
        assert_eq!(
            Error::VniFlagClear { flags: 0x80 }.to_string(),
            "VXLAN flags 0x80 lack the I flag 0x08, so the datagram carries no valid VNI \
             (RFC 7348 section 5)"
        );
    }

    #[test]
    fn reserved_bits_are_ignored_on_receive_and_zero_on_send() {
        // A Group Based Policy sender: G flag and a group id in the first reserved field.
        let mut d = KERNEL_ARP_REQUEST;
        d[0] = 0x88;
        d[2] = 0x12;
        d[3] = 0x34;
        d[7] = 0x99;
        let p = Packet::new_checked(&d[..]).unwrap();
        assert_eq!(p.reserved_flags(), 0x80);
        assert_eq!(p.reserved(), 0x0012_3499);
        let (vni, frame) = decapsulate(&d).unwrap();
        assert_eq!(vni.get(), 42);
        let mut out = [0u8; 64];
        let n = encapsulate(vni, frame, &mut out).unwrap();
        assert_eq!(&out[..n], &KERNEL_ARP_REQUEST[..]);
    }

    #[test]
    fn short_datagrams_and_frames_are_refused() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                decapsulate(&KERNEL_ARP_REQUEST[..len]),
                Err(Error::Truncated { len })
            );
        }
        for len in HEADER_LEN..HEADER_LEN + MIN_FRAME_LEN {
            assert_eq!(
                decapsulate(&KERNEL_ARP_REQUEST[..len]),
                Err(Error::FrameTooShort {
                    len: len - HEADER_LEN
                })
            );
        }
        assert!(decapsulate(&KERNEL_ARP_REQUEST[..HEADER_LEN + MIN_FRAME_LEN]).is_ok());
        assert_eq!(
            Error::Truncated { len: 5 }.to_string(),
            "VXLAN datagram of 5 bytes is shorter than the 8-byte VXLAN header"
        );
    }

    #[test]
    fn encapsulate_checks_its_arguments() {
        let vni = Vni::new(7).unwrap();
        let mut out = [0u8; 30];
        assert_eq!(
            encapsulate(vni, &[0; 13], &mut out),
            Err(Error::FrameTooShort { len: 13 })
        );
        assert_eq!(
            encapsulate(vni, &[0; 23], &mut out),
            Err(Error::BufferTooSmall {
                needed: 31,
                got: 30
            })
        );
        assert_eq!(encapsulate(vni, &[0; 22], &mut out), Ok(30));
    }

    #[test]
    fn vni_is_24_bits() {
        assert_eq!(Vni::new(0).unwrap().get(), 0);
        assert_eq!(Vni::new(0xff_ffff), Ok(Vni::MAX));
        assert_eq!(
            Vni::new(0x100_0000),
            Err(Error::VniTooLarge { value: 0x100_0000 })
        );
        assert_eq!(
            Vni::new(0x12_3456).unwrap().to_be_bytes(),
            [0x12, 0x34, 0x56]
        );
        assert_eq!(Vni::from_be_bytes([0xff, 0xff, 0xff]), Vni::MAX);
        let mut buf = [0u8; 8];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        Repr { vni: Vni::MAX }.emit(&mut p);
        assert_eq!(buf, [0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0]);
    }

    #[test]
    fn vni_text() {
        assert_eq!("42".parse::<Vni>().unwrap().get(), 42);
        assert_eq!("16777215".parse::<Vni>(), Ok(Vni::MAX));
        assert_eq!(
            "16777216".parse::<Vni>(),
            Err(Error::VniTooLarge { value: 16_777_216 })
        );
        assert_eq!("000000000042".parse::<Vni>().unwrap().get(), 42);
        assert_eq!(
            "4294967296".parse::<Vni>(),
            Err(Error::VniTooLarge { value: 1 << 32 })
        );
        assert_eq!(
            "99999999999999999999999".parse::<Vni>(),
            Err(Error::VniTooLarge { value: u64::MAX })
        );
        for bad in ["", "-1", "0x2a", " 42", "4 2"] {
            assert_eq!(bad.parse::<Vni>(), Err(Error::VniNotANumber), "{bad:?}");
        }
        assert_eq!(
            Error::VniTooLarge { value: 16_777_216 }.to_string(),
            "VNI 16777216 does not fit in 24 bits; use 0 to 16777215"
        );
    }

    #[test]
    fn fuzz_one_survives_edges() {
        fuzz_one(&[]);
        fuzz_one(&KERNEL_ARP_REQUEST);
        fuzz_one(&KERNEL_ARP_REQUEST[..8]);
        fuzz_one(&[0x08; 2040]);
        fuzz_one(&[0x08; 2057]);
        fuzz_one(b"16777215");
        fuzz_one(b"16777216");
    }

    proptest! {
        #[test]
        fn emit_then_parse_is_identity(v in 0u32..=0xff_ffff, frame in proptest::collection::vec(any::<u8>(), 14..200)) {
            let repr = Repr { vni: Vni::new(v).unwrap() };
            let mut buf = vec![0u8; repr.buffer_len() + frame.len()];
            let mut p = Packet::new_unchecked(&mut buf[..]);
            repr.emit(&mut p);
            p.payload_mut().copy_from_slice(&frame);
            let p = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&p).unwrap(), repr);
            prop_assert_eq!(decapsulate(&buf), Ok((repr.vni, &frame[..])));
        }

        #[test]
        fn parse_then_emit_is_identity_up_to_reserved_bits(bytes in proptest::collection::vec(any::<u8>(), 8..80)) {
            let p = Packet::new_unchecked(&bytes[..]);
            match Repr::parse(&p) {
                Ok(repr) => {
                    let mut buf = bytes.clone();
                    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
                    let mut expected: Vec<u8> = bytes.clone();
                    expected[0] = FLAG_VNI;
                    expected[1..4].fill(0);
                    expected[7] = 0;
                    prop_assert_eq!(&buf, &expected);
                    if bytes[0] == FLAG_VNI && bytes[1..4] == [0, 0, 0] && bytes[7] == 0 {
                        prop_assert_eq!(&buf, &bytes);
                    }
                }
                Err(e) => prop_assert_eq!(e, Error::VniFlagClear { flags: bytes[0] }),
            }
        }

        #[test]
        fn vni_print_then_parse_is_identity(v in 0u32..=0xff_ffff) {
            let vni = Vni::new(v).unwrap();
            prop_assert_eq!(vni.to_string().parse::<Vni>(), Ok(vni));
            prop_assert_eq!(Vni::from_be_bytes(vni.to_be_bytes()), vni);
        }

        #[test]
        fn fuzz_one_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            fuzz_one(&bytes);
        }
    }
}
