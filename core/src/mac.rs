//! Ethernet (MAC) addresses as UML uses them.
//!
//! Two readers live here:
//!
//! * [`MacAddr::parse`] (also [`FromStr`]) is the strict, user-facing syntax: six groups
//!   of one or two hex digits separated by `:`, as in the UML networking page's `fe:fd:0:0:0:1`.
//!   [`Display`](fmt::Display) prints the canonical lowercase two-digit form.
//! * [`lax_parse`] models what the real 6.1 kernel does with the MAC field of an
//!   `eth<n>=` argument (`simple_strtoul(…, 16)` six times, each value truncated to a
//!   byte, `:`/`,`/end accepted after each number). It accepts things the user did not
//!   mean (`102:…` is `02`, a seventh octet is ignored, five octets run into the next
//!   field), so a checker can warn where the kernel reads something else.
//!
//! Whether an address may be given to a device is a separate question
//! ([`MacAddr::check_assignable`]): the kernel refuses multicast (odd first byte; the
//! UML networking page calls these "broadcast addresses, which you don't want assigned to a device") and
//! all-zero addresses, and warns about globally administered ones.
//!
//! ```
//! use umlnet_core::mac::MacAddr;
//! use core::net::Ipv4Addr;
//!
//! let mac: MacAddr = "fe:fd:0:0:0:1".parse().unwrap();
//! assert_eq!(mac.to_string(), "fe:fd:00:00:00:01");
//! assert_eq!(MacAddr::from_ipv4(Ipv4Addr::new(192, 168, 0, 254)).to_string(), "fe:fd:c0:a8:00:fe");
//! assert!(mac.check_assignable().is_ok());
//! ```

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use crate::num::{Dialect, strtoul};

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// The all-zero address, which no device may have.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Parses the strict user syntax: six groups of 1–2 hex digits separated by `:`.
    pub fn parse(s: &str) -> Result<MacAddr, MacError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(MacError::Empty);
        }
        let mut out = [0u8; 6];
        let mut i = 0; // cursor
        for (n, slot) in out.iter_mut().enumerate() {
            let start = i;
            let mut v: u8 = 0;
            while i < b.len() && b[i] != b':' {
                let d = hex_val(b[i]).ok_or(MacError::BadOctet { octet: n as u8 })?;
                if i - start == 2 {
                    return Err(MacError::BadOctet { octet: n as u8 });
                }
                v = (v << 4) | d;
                i += 1;
            }
            if i == start {
                return Err(MacError::BadOctet { octet: n as u8 });
            }
            *slot = v;
            if n < 5 {
                if i == b.len() {
                    return Err(MacError::TooFewOctets {
                        octets: n as u8 + 1,
                    });
                }
                i += 1; // the ':'
            } else if i != b.len() {
                return Err(MacError::TooManyOctets);
            }
        }
        Ok(MacAddr(out))
    }

    /// The UML networking page's derived address `fe:fd:a:b:c:d` for a device whose IPv4 address is
    /// `a.b.c.d` (what old kernels assigned when no MAC was given).
    pub const fn from_ipv4(ip: Ipv4Addr) -> MacAddr {
        let o = ip.octets();
        MacAddr([0xfe, 0xfd, o[0], o[1], o[2], o[3]])
    }

    /// The six bytes.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Group bit (bit 0 of the first byte) set: a multicast or broadcast address.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// `ff:ff:ff:ff:ff:ff`.
    pub const fn is_broadcast(&self) -> bool {
        matches!(self.0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }

    /// All six bytes zero.
    pub const fn is_zero(&self) -> bool {
        matches!(self.0, [0, 0, 0, 0, 0, 0])
    }

    /// Not multicast and not zero: an address a device may carry.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }

    /// Locally administered bit (bit 1 of the first byte) set, as in `fe:fd:…` or `02:…`.
    pub const fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The same address with the locally administered bit set (the kernel's suggestion).
    pub const fn with_local_bit(self) -> MacAddr {
        let mut b = self.0;
        b[0] |= 0x02;
        MacAddr(b)
    }

    /// Whether the kernel lets a device have this address: multicast and zero
    /// addresses are refused (the kernel then picks a random one); a globally
    /// administered address is taken with a warning.
    pub const fn check_assignable(&self) -> Result<Option<MacWarning>, MacError> {
        if self.is_multicast() {
            Err(MacError::Multicast)
        } else if self.is_zero() {
            Err(MacError::Zero)
        } else if !self.is_locally_administered() {
            Ok(Some(MacWarning::GloballyAdministered))
        } else {
            Ok(None)
        }
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = MacError;
    fn from_str(s: &str) -> Result<MacAddr, MacError> {
        MacAddr::parse(s)
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> MacAddr {
        MacAddr(b)
    }
}

/// Why a MAC string or address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MacError {
    /// Nothing given.
    Empty,
    /// Octet number `octet` (0-based) is not one or two hex digits.
    BadOctet {
        /// Which octet, counted from 0.
        octet: u8,
    },
    /// Only `octets` octets before the end.
    TooFewOctets {
        /// How many octets were there.
        octets: u8,
    },
    /// More than six octets.
    TooManyOctets,
    /// Odd first byte (group bit): a multicast/broadcast address, which UML refuses.
    Multicast,
    /// `00:00:00:00:00:00`, which UML refuses.
    Zero,
}

impl fmt::Display for MacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacError::Empty => f.write_str("expected an Ethernet address like fe:fd:00:00:00:01, found nothing"),
            MacError::BadOctet { octet } => write!(
                f,
                "octet {} is not one or two hex digits (expected an address like fe:fd:00:00:00:01)",
                octet + 1
            ),
            MacError::TooFewOctets { octets } => {
                write!(f, "only {octets} of 6 octets (expected an address like fe:fd:00:00:00:01)")
            }
            MacError::TooManyOctets => {
                f.write_str("more than 6 octets (expected an address like fe:fd:00:00:00:01)")
            }
            MacError::Multicast => f.write_str(
                "the first byte is odd, which makes it a multicast/broadcast address; UML refuses \
                 to assign it to a device (and picks a random one): make the first byte even, e.g. fe:fd:…",
            ),
            MacError::Zero => f.write_str(
                "00:00:00:00:00:00 is not a valid device address; UML refuses it (and picks a random one)",
            ),
        }
    }
}

/// Something the kernel accepts about an address but warns of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MacWarning {
    /// The locally administered bit (0x02 in the first byte) is clear; the kernel prints
    /// "Warning: Assigning a globally valid ethernet address to a device".
    GloballyAdministered,
}

impl fmt::Display for MacWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacWarning::GloballyAdministered => f.write_str(
                "globally administered address (the kernel prints \"Warning: Assigning a globally \
                 valid ethernet address to a device\"); set 0x02 in the first byte",
            ),
        }
    }
}

/// What the kernel's lax reader made of a MAC field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LaxMac {
    /// The address the kernel reads (before its multicast/zero checks).
    pub addr: MacAddr,
    /// Byte offset just after the sixth number; what follows it is ignored.
    pub end: usize,
    /// Some number was larger than 0xff and the kernel kept only its low byte.
    pub truncated: bool,
    /// Text after the sixth number (a seventh octet…) that the kernel ignores.
    pub ignored_tail: bool,
}

/// Where the kernel's lax reader gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LaxMacError {
    /// At byte offset `at` (while reading octet `octet`, 0-based) there is no hex number,
    /// or the number is followed by something other than `:`, `,` or the end. The kernel
    /// prints `setup_etheraddr: failed to parse '<text from at>' as an ethernet address`.
    Syntax {
        /// Byte offset of the text the kernel complains about.
        at: usize,
        /// Which octet it was reading.
        octet: u8,
    },
    /// The text ended after `octets` numbers; the kernel would go on reading whatever
    /// follows in memory (the next field or the next kernel argument).
    RunsPastEnd {
        /// How many octets the text held.
        octets: u8,
    },
}

/// Reads `text` the way the 6.1 kernel's `uml_net_setup_etheraddr` does, with `text`
/// ending where the kernel would find a NUL. Each number is `simple_strtoul(…, 16)`
/// (an optional `0x`, any number of hex digits, wrapped to a byte); it must be followed
/// by `:`, `,` or the end; the cursor then skips that one character.
pub fn lax_parse(text: &[u8]) -> Result<LaxMac, LaxMacError> {
    let mut addr = [0u8; 6];
    let mut truncated = false;
    let mut pos = 0usize;
    let mut n = 0usize;
    loop {
        if pos > text.len() {
            return Err(LaxMacError::RunsPastEnd { octets: n as u8 });
        }
        let (value, digits) = strtoul(&text[pos..], 16, Dialect::Kernel);
        let end = pos + digits;
        if end == pos || !matches!(text.get(end), None | Some(b':') | Some(b',')) {
            return Err(LaxMacError::Syntax {
                at: pos,
                octet: n as u8,
            });
        }
        truncated |= value > 0xff;
        addr[n] = value as u8;
        if n == 5 {
            let ignored_tail = text.get(end) == Some(&b':');
            return Ok(LaxMac {
                addr: MacAddr(addr),
                end,
                truncated,
                ignored_tail,
            });
        }
        pos = end + 1;
        n += 1;
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Fuzz entry point: the strict and lax readers on arbitrary bytes; whatever the strict
/// reader accepts must print back to an equal address, and the lax (kernel) reader
/// must read the same six bytes from it.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let lax = lax_parse(data);
    if let Ok(l) = lax {
        assert!(l.end <= data.len());
    }
    if let Ok(s) = core::str::from_utf8(data)
        && let Ok(mac) = MacAddr::parse(s)
    {
        let mut buf = heapless::String::<17>::new();
        fmt::write(&mut buf, format_args!("{mac}")).expect("17 bytes hold a MAC");
        assert_eq!(MacAddr::parse(&buf), Ok(mac));
        let l = lax.expect("the kernel reads every strict MAC");
        assert_eq!(l.addr, mac);
        assert!(!l.truncated && !l.ignored_tail);
        let _ = mac.check_assignable();
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn page_example_parses_and_prints_canonically() {
        let mac = MacAddr::parse("fe:fd:0:0:0:1").unwrap();
        assert_eq!(mac, MacAddr([0xfe, 0xfd, 0, 0, 0, 1]));
        assert_eq!(mac.to_string(), "fe:fd:00:00:00:01");
        assert!(mac.is_locally_administered());
        assert_eq!(mac.check_assignable(), Ok(None));
        assert_eq!(
            "FE:FD:00:00:00:0A".parse::<MacAddr>().unwrap().to_string(),
            "fe:fd:00:00:00:0a"
        );
    }

    #[test]
    fn strict_syntax_errors() {
        assert_eq!(MacAddr::parse(""), Err(MacError::Empty));
        assert_eq!(
            MacAddr::parse("02:00:00:00:00"),
            Err(MacError::TooFewOctets { octets: 5 })
        );
        assert_eq!(
            MacAddr::parse("02:00:00:00:00:01:07"),
            Err(MacError::TooManyOctets)
        );
        assert_eq!(
            MacAddr::parse("102:0:0:0:0:1"),
            Err(MacError::BadOctet { octet: 0 })
        );
        assert_eq!(
            MacAddr::parse("02-00-00-00-00-01"),
            Err(MacError::BadOctet { octet: 0 })
        );
        assert_eq!(
            MacAddr::parse("02:00::00:00:01"),
            Err(MacError::BadOctet { octet: 2 })
        );
        assert_eq!(
            MacAddr::parse("02:00:00:00:00:"),
            Err(MacError::BadOctet { octet: 5 })
        );
        assert_eq!(
            MacAddr::parse("0x2:0:0:0:0:1"),
            Err(MacError::BadOctet { octet: 0 })
        );
    }

    #[test]
    fn odd_first_byte_and_zero_are_refused_with_distinct_errors() {
        let bcast = MacAddr::parse("ff:ff:ff:ff:ff:ff").unwrap();
        assert!(bcast.is_broadcast() && bcast.is_multicast());
        assert_eq!(bcast.check_assignable(), Err(MacError::Multicast));
        assert_eq!(
            MacAddr::parse("01:00:5e:00:00:01")
                .unwrap()
                .check_assignable(),
            Err(MacError::Multicast)
        );
        assert_eq!(MacAddr::ZERO.check_assignable(), Err(MacError::Zero));
        let msg = MacError::Multicast.to_string();
        assert!(
            msg.contains("odd") && msg.contains("broadcast") && msg.contains("refuses"),
            "{msg}"
        );
        assert!(MacError::Zero.to_string().contains("00:00:00:00:00:00"));
    }

    #[test]
    fn globally_administered_is_a_warning_with_the_kernel_words() {
        let mac = MacAddr::parse("00:11:22:33:44:55").unwrap();
        assert!(!mac.is_locally_administered());
        assert_eq!(
            mac.check_assignable(),
            Ok(Some(MacWarning::GloballyAdministered))
        );
        assert_eq!(mac.with_local_bit().to_string(), "02:11:22:33:44:55");
        assert!(
            MacWarning::GloballyAdministered
                .to_string()
                .contains("Assigning a globally valid ethernet address")
        );
    }

    #[test]
    fn derived_from_ipv4_as_the_page_says() {
        assert_eq!(
            MacAddr::from_ipv4(Ipv4Addr::new(192, 168, 0, 250)),
            MacAddr([0xfe, 0xfd, 192, 168, 0, 250])
        );
        // What old kernels were left with when the device had no address.
        assert_eq!(
            MacAddr::from_ipv4(Ipv4Addr::UNSPECIFIED).to_string(),
            "fe:fd:00:00:00:00"
        );
    }

    /// The cases observed with the real 6.1 kernel (docs/protocols.md §1.2).
    #[test]
    fn lax_reader_matches_the_kernel_observations() {
        let ok = |s: &str| lax_parse(s.as_bytes()).unwrap();
        assert_eq!(ok("2:0:0:0:0:1").addr, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(
            ok("0x02:00:00:00:00:11").addr,
            MacAddr([2, 0, 0, 0, 0, 0x11])
        );
        let l = ok("102:00:00:00:00:12");
        assert_eq!(l.addr, MacAddr([2, 0, 0, 0, 0, 0x12]));
        assert!(l.truncated && !l.ignored_tail);
        let l = ok("02:00:00:00:00:01:07");
        assert_eq!(
            (l.addr, l.end, l.ignored_tail),
            (MacAddr([2, 0, 0, 0, 0, 1]), 17, true)
        );
        assert_eq!(
            lax_parse(b"02-00-00-00-00-01"),
            Err(LaxMacError::Syntax { at: 0, octet: 0 })
        );
        // Five octets run on into the next field: `mcast,02:00:00:00:00,239.1.1.1`
        // gives "failed to parse '239.1.1.1'".
        let text = b"02:00:00:00:00,239.1.1.1";
        assert_eq!(
            lax_parse(text),
            Err(LaxMacError::Syntax { at: 15, octet: 5 })
        );
        assert_eq!(&text[15..], b"239.1.1.1");
        assert_eq!(
            lax_parse(b"02:00:00:00:00"),
            Err(LaxMacError::RunsPastEnd { octets: 5 })
        );
        // `0x` alone reads as 0, as simple_strtoul does.
        assert_eq!(ok("0x:0:0:0:0:0").addr, MacAddr::ZERO);
        assert_eq!(lax_parse(b""), Err(LaxMacError::Syntax { at: 0, octet: 0 }));
    }

    fn mac() -> impl Strategy<Value = MacAddr> {
        any::<[u8; 6]>().prop_map(MacAddr)
    }

    proptest! {
        #[test]
        fn parse_print_round_trip(m in mac()) {
            let s = m.to_string();
            prop_assert_eq!(s.len(), 17);
            prop_assert_eq!(MacAddr::parse(&s), Ok(m));
            prop_assert_eq!(lax_parse(s.as_bytes()).map(|l| l.addr), Ok(m));
        }

        #[test]
        fn short_form_reads_the_same(m in mac()) {
            // `fe:fd:0:0:0:1` style: no leading zeros.
            let b = m.0;
            let s = std::format!("{:x}:{:x}:{:x}:{:x}:{:x}:{:x}", b[0], b[1], b[2], b[3], b[4], b[5]);
            prop_assert_eq!(MacAddr::parse(&s), Ok(m));
            prop_assert_eq!(MacAddr::parse(&s).unwrap().to_string(), m.to_string());
        }

        #[test]
        fn check_assignable_agrees_with_bits(m in mac()) {
            match m.check_assignable() {
                Err(MacError::Multicast) => prop_assert!(m.0[0] & 1 == 1),
                Err(MacError::Zero) => prop_assert!(m == MacAddr::ZERO),
                Ok(Some(MacWarning::GloballyAdministered)) => prop_assert!(m.0[0] & 3 == 0 && m != MacAddr::ZERO),
                Ok(None) => prop_assert!(m.0[0] & 3 == 2),
                Err(e) => prop_assert!(false, "unexpected {:?}", e),
            }
        }

        #[test]
        fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            fuzz_one(&data);
        }

        #[test]
        fn fuzz_on_mac_like_text(s in "[0-9a-fA-FxX:,-]{0,30}") {
            fuzz_one(s.as_bytes());
        }
    }
}
