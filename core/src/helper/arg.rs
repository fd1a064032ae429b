//! The readers of single arguments: addresses, netmasks, interface and tap names, file
//! descriptors and words, each as strict as a setuid helper must be.

use core::net::Ipv4Addr;

use crate::ipv4::Prefix;
use crate::num::{Dialect, strtoul};

use super::{ARG_MAX, Arg, FD_MIN, IFNAME_MAX, IfName};

/// How `strtoul(s, &end, 0)` reads a string: the value (truncated to `unsigned int`)
/// and how many bytes it consumed (0 when there is no number).
pub(super) fn strtoul0(s: &str) -> (u32, usize) {
    let (value, consumed) = strtoul(s.as_bytes(), 0, Dialect::Libc);
    (value as u32, consumed)
}

/// Exactly four decimal octets, each 0-255 without leading zeros (which `inet_aton`
/// would read as octal), no sign, no spaces.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut out {
        let p = parts.next()?.as_bytes();
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if p.len() > 1 && p[0] == b'0' {
            return None;
        }
        let v = p.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(out))
}

/// A dotted-quad netmask whose one bits are contiguous from the top.
pub fn parse_netmask(s: &str) -> Option<Ipv4Addr> {
    let m = parse_ipv4(s)?;
    is_contiguous(m).then_some(m)
}

/// True if the mask is some number of one bits followed only by zero bits.
pub fn is_contiguous(mask: Ipv4Addr) -> bool {
    Prefix::from_netmask(mask).is_some()
}

/// An interface name as the original's `is_a_device` wants it: 1 to 15 ASCII letters
/// or digits.
pub fn parse_if_name(s: &str) -> Option<IfName> {
    if s.is_empty() || s.len() > IFNAME_MAX || !s.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    IfName::try_from(s).ok()
}

/// An ethertap device name `tap<N>`, N decimal without leading zeros, 0 to 9999 (the
/// original opens `/dev/%.7s`). Returns the name and N.
pub fn parse_tap_name(s: &str) -> Option<(IfName, u16)> {
    let digits = s.strip_prefix("tap")?.as_bytes();
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
    Some((IfName::try_from(s).ok()?, n))
}

/// A file descriptor number: decimal without leading zeros or sign, 3 to 65535.
pub fn parse_fd(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    let v = b.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
    let v = u16::try_from(v).ok()?;
    (v >= FD_MIN).then_some(v)
}

pub(super) fn parse_word(s: &str) -> Option<Arg> {
    if s.is_empty()
        || s.len() > ARG_MAX
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        return None;
    }
    Arg::try_from(s).ok()
}
