//! L2TPv3 Ethernet pseudowires (RFC 3931, RFC 4719) as UML's vector driver
//! (`vecN:transport=l2tpv3`) and QEMU's `-netdev l2tpv3` carry them: static sessions,
//! no control connection, one Ethernet frame (no FCS) per packet.
//!
//! The data header, all fields big-endian:
//!
//! ```text
//! [00 03 00 00]       over UDP only (the L2TPv3-over-UDP "data message" word)
//! [session ID, 32]    the receiver's session
//! [cookie, 0/32/64]   when cookies are used; both sides use the same size
//! [counter, 32]       with `counter=1`: the sender's sequence (the receiver ignores it)
//! Ethernet frame
//! ```
//!
//! A receiver checks only the session and, if used, the cookie (UML 6.1
//! `l2tpv3_verify_header`, QEMU 7.2 `l2tpv3_verify_header` checks the same two);
//! [`Params::decapsulate`] does the same.
//!
//! ```
//! use umlnet_core::l2tpv3::{Cookie, Params};
//!
//! // The switch's side of a UML started with tx_session=2,rx_session=3,udp=1.
//! let p = Params { udp: true, tx_session: 3, rx_session: 2, cookie: Cookie::None, counter: false };
//! let mut pkt = [0u8; 8 + 14];
//! let n = p.emit_header(&mut pkt, 0);
//! assert_eq!(&pkt[..n], &[0, 3, 0, 0, 0, 0, 0, 3]);
//! // What comes back from UML carries session 2.
//! pkt[7] = 2;
//! assert_eq!(p.decapsulate(&pkt).unwrap().len(), 14);
//! ```

/// The first word of an L2TPv3-over-UDP data packet.
pub const UDP_DATA_WORD: [u8; 4] = [0, 3, 0, 0];

/// Cookies: none, 32-bit or 64-bit (`tx`, `rx`): what is sent, what is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    /// No cookie field.
    None,
    /// 4-byte cookies.
    Bits32 {
        /// Sent.
        tx: u32,
        /// Wanted.
        rx: u32,
    },
    /// 8-byte cookies (UML `cookie64=1`, QEMU `cookie64=on`).
    Bits64 {
        /// Sent.
        tx: u64,
        /// Wanted.
        rx: u64,
    },
}

impl Cookie {
    /// Bytes of the cookie field.
    pub fn len(&self) -> usize {
        match self {
            Cookie::None => 0,
            Cookie::Bits32 { .. } => 4,
            Cookie::Bits64 { .. } => 8,
        }
    }

    /// Whether there is no cookie field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One side of a static L2TPv3 session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Over UDP (the [`UDP_DATA_WORD`] leads each packet), else raw IP protocol 115.
    pub udp: bool,
    /// The session ID this side sends (the peer's rx session).
    pub tx_session: u32,
    /// The session ID this side accepts (the peer's tx session).
    pub rx_session: u32,
    /// The cookies, if any.
    pub cookie: Cookie,
    /// A 4-byte counter follows the cookie.
    pub counter: bool,
}

/// Why a packet was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxDrop {
    /// Shorter than the header.
    Short,
    /// Another session.
    WrongSession(u32),
    /// The session is ours but the cookie is not.
    WrongCookie,
}

impl core::fmt::Display for RxDrop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RxDrop::Short => f.write_str("shorter than the L2TPv3 header"),
            RxDrop::WrongSession(s) => write!(f, "session {s:#x} is not ours"),
            RxDrop::WrongCookie => f.write_str("the cookie is not ours"),
        }
    }
}

impl Params {
    /// Bytes in front of each frame.
    pub fn header_len(&self) -> usize {
        let udp = if self.udp { 4 } else { 0 };
        udp + 4 + self.cookie.len() + if self.counter { 4 } else { 0 }
    }

    /// Writes the header into the start of `buf` (at least [`Params::header_len`]
    /// bytes, else nothing is written and 0 returned) with `counter` in the counter
    /// field if there is one; returns the header's length.
    pub fn emit_header(&self, buf: &mut [u8], counter: u32) -> usize {
        let n = self.header_len();
        let Some(h) = buf.get_mut(..n) else {
            return 0;
        };
        let mut at = 0;
        let mut put = |b: &[u8]| {
            h[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        };
        if self.udp {
            put(&UDP_DATA_WORD);
        }
        put(&self.tx_session.to_be_bytes());
        match self.cookie {
            Cookie::None => {}
            Cookie::Bits32 { tx, .. } => put(&tx.to_be_bytes()),
            Cookie::Bits64 { tx, .. } => put(&tx.to_be_bytes()),
        }
        if self.counter {
            put(&counter.to_be_bytes());
        }
        n
    }

    /// The frame inside `packet` (a UDP payload, or an IP payload for raw IP), after
    /// checking its session and cookie as the kernel does.
    pub fn decapsulate<'a>(&self, packet: &'a [u8]) -> Result<&'a [u8], RxDrop> {
        let n = self.header_len();
        if packet.len() < n {
            return Err(RxDrop::Short);
        }
        let s = if self.udp { 4 } else { 0 };
        let word =
            |i: usize| u32::from_be_bytes([packet[i], packet[i + 1], packet[i + 2], packet[i + 3]]);
        let session = word(s);
        if session != self.rx_session {
            return Err(RxDrop::WrongSession(session));
        }
        let ok = match self.cookie {
            Cookie::None => true,
            Cookie::Bits32 { rx, .. } => word(s + 4) == rx,
            Cookie::Bits64 { rx, .. } => {
                (u64::from(word(s + 4)) << 32 | u64::from(word(s + 8))) == rx
            }
        };
        if !ok {
            return Err(RxDrop::WrongCookie);
        }
        Ok(&packet[n..])
    }
}

/// The fuzz target: `data`'s first byte picks the parameters' shape, the rest is a
/// packet; whatever is taken re-encapsulates to the same bytes (counter aside).
pub fn fuzz_one(data: &[u8]) {
    let Some((&shape, packet)) = data.split_first() else {
        return;
    };
    let cookie = match shape & 3 {
        0 | 3 => Cookie::None,
        1 => Cookie::Bits32 {
            tx: 7,
            rx: 0x0102_0304,
        },
        _ => Cookie::Bits64 {
            tx: 7,
            rx: 0x0102_0304_0506_0708,
        },
    };
    let p = Params {
        udp: shape & 4 != 0,
        tx_session: 1,
        rx_session: 0x0102_0304,
        cookie,
        counter: shape & 8 != 0,
    };
    if let Ok(frame) = p.decapsulate(packet) {
        assert_eq!(frame.len() + p.header_len(), packet.len());
        let back = Params {
            tx_session: p.rx_session,
            cookie: match cookie {
                Cookie::Bits32 { rx, .. } => Cookie::Bits32 { tx: rx, rx },
                Cookie::Bits64 { rx, .. } => Cookie::Bits64 { tx: rx, rx },
                Cookie::None => Cookie::None,
            },
            ..p
        };
        let mut h = [0u8; 20];
        let n = back.emit_header(&mut h, 0);
        let keep = n - if p.counter { 4 } else { 0 };
        let skip = if p.udp { 4 } else { 0 };
        assert_eq!(h[skip..keep], packet[skip..keep]);
    }
}

#[cfg(test)]
mod test {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers_are_laid_out_as_the_kernel_does() {
        let p = Params {
            udp: true,
            tx_session: 0x7fff_ffff,
            rx_session: 1,
            cookie: Cookie::Bits64 {
                tx: 0x1122_3344_5566_7788,
                rx: 9,
            },
            counter: true,
        };
        assert_eq!(p.header_len(), 20);
        let mut b = [0u8; 20];
        assert_eq!(p.emit_header(&mut b, 5), 20);
        assert_eq!(
            b,
            [
                0, 3, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                0, 0, 0, 5
            ]
        );
        assert_eq!(p.emit_header(&mut b[..19], 5), 0, "too small a buffer");
        let raw = Params {
            udp: false,
            cookie: Cookie::Bits32 { tx: 1, rx: 2 },
            counter: false,
            ..p
        };
        assert_eq!(raw.header_len(), 8);
        let mut pkt = [0u8; 8 + 3];
        pkt[..8].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(raw.decapsulate(&pkt), Ok(&[0u8; 3][..]));
        pkt[7] = 3;
        assert_eq!(raw.decapsulate(&pkt), Err(RxDrop::WrongCookie));
        pkt[3] = 2;
        assert_eq!(raw.decapsulate(&pkt), Err(RxDrop::WrongSession(2)));
        assert_eq!(raw.decapsulate(&pkt[..7]), Err(RxDrop::Short));
        fuzz_one(&[]);
        fuzz_one(&[6, 0, 3, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]);
    }

    fn cookie() -> impl Strategy<Value = Cookie> {
        prop_oneof![
            Just(Cookie::None),
            (any::<u32>(), any::<u32>()).prop_map(|(tx, rx)| Cookie::Bits32 { tx, rx }),
            (any::<u64>(), any::<u64>()).prop_map(|(tx, rx)| Cookie::Bits64 { tx, rx }),
        ]
    }

    proptest! {
        #[test]
        fn what_one_side_sends_the_other_takes(
            udp: bool, a: u32, b: u32, c in cookie(), counter: bool, n: u32,
            frame in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let ours = Params { udp, tx_session: a, rx_session: b, cookie: c, counter };
            let theirs = Params {
                tx_session: b,
                rx_session: a,
                cookie: match c {
                    Cookie::None => Cookie::None,
                    Cookie::Bits32 { tx, rx } => Cookie::Bits32 { tx: rx, rx: tx },
                    Cookie::Bits64 { tx, rx } => Cookie::Bits64 { tx: rx, rx: tx },
                },
                ..ours
            };
            let mut pkt = std::vec![0u8; ours.header_len()];
            prop_assert_eq!(ours.emit_header(&mut pkt, n), ours.header_len());
            pkt.extend_from_slice(&frame);
            prop_assert_eq!(theirs.decapsulate(&pkt), Ok(&frame[..]));
            if a != b {
                prop_assert_eq!(ours.decapsulate(&pkt), Err(RxDrop::WrongSession(a)));
            }
        }

        #[test]
        fn any_packet_is_judged_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            fuzz_one(&data);
        }
    }
}
