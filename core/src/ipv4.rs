//! IPv4 prefix lengths ([`Prefix`]) and their netmasks, the one conversion between the
//! two that the host plans, the `uml_net` helper and the guest stack use.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use umlnet_core::ipv4::Prefix;
//!
//! let p = Prefix::from_netmask(Ipv4Addr::new(255, 255, 240, 0)).unwrap();
//! assert_eq!(p.bits(), 20);
//! assert_eq!(Prefix::saturating(40).netmask(), Ipv4Addr::BROADCAST);
//! assert_eq!(Prefix::from_netmask(Ipv4Addr::new(255, 0, 255, 0)), None);
//! ```

use core::fmt;
use core::net::Ipv4Addr;

/// An IPv4 prefix length, 0 to 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prefix(u8);

impl Prefix {
    /// A single host, /32.
    pub const HOST: Prefix = Prefix(32);

    /// A prefix length, if it is at most 32.
    pub const fn new(bits: u8) -> Option<Prefix> {
        if bits <= 32 { Some(Prefix(bits)) } else { None }
    }

    /// A prefix length, capped at 32.
    pub const fn saturating(bits: u8) -> Prefix {
        if bits <= 32 { Prefix(bits) } else { Prefix(32) }
    }

    /// The prefix of a contiguous netmask (`255.255.255.0` → /24); `None` for a mask
    /// with holes.
    pub const fn from_netmask(mask: Ipv4Addr) -> Option<Prefix> {
        let m = mask.to_bits();
        let ones = m.leading_ones();
        if m.count_ones() == ones {
            Some(Prefix(ones as u8))
        } else {
            None
        }
    }

    /// The number of leading one bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The netmask (/24 → `255.255.255.0`).
    pub const fn netmask(self) -> Ipv4Addr {
        Ipv4Addr::from_bits(mask_bits(self.0))
    }
}

const fn mask_bits(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits as u32)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
