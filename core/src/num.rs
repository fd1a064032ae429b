//! Numbers read the way C reads them: [`strtoul`], in the kernel's dialect
//! (`simple_strtoul`, used for the `eth<n>=` device number and MAC octets) and the C
//! library's (`strtoul`, used by the `uml_net` helper for its version argument).
//!
//! ```
//! use umlnet_core::num::{Dialect, strtoul};
//!
//! // Base 0 picks the base from the prefix: `0x` hexadecimal, `0` octal, else decimal.
//! assert_eq!(strtoul(b"0x1f,", 0, Dialect::Kernel), (31, 4));
//! assert_eq!(strtoul(b"010", 0, Dialect::Kernel), (8, 3));
//! // The kernel reads no sign and no white space; the C library reads both.
//! assert_eq!(strtoul(b" -1", 10, Dialect::Kernel), (0, 0));
//! assert_eq!(strtoul(b" -1", 10, Dialect::Libc), (u64::MAX, 3));
//! ```

/// Whose `strtoul` to read like. Both pick the base the same way and stop at the first
/// byte that is not a digit of it; they differ in what comes before the digits and in
/// what happens on overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Dialect {
    /// The kernel's `simple_strtoul`: no white space or sign; the value wraps on
    /// overflow; with base 16 a `0x` prefix is skipped even when no digit follows it.
    Kernel,
    /// The C library's `strtoul`: leading white space and one `+` or `-` are read, a `-`
    /// negates (wrapping); overflow gives `u64::MAX` (`ULONG_MAX`); `0x` is a prefix only
    /// when a hex digit follows; where there are no digits nothing is consumed.
    Libc,
}

/// White space as C's `isspace` knows it in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads an unsigned number at the front of `s` as `strtoul(s, &end, base)` does in
/// `dialect`; returns the value and the number of bytes consumed (`end - s`).
///
/// `base` 0 picks the base from the prefix: `0x` or `0X` followed by a hex digit is
/// hexadecimal, another leading `0` octal, anything else decimal. Other bases are
/// 2 to 16.
pub fn strtoul(s: &[u8], base: u32, dialect: Dialect) -> (u64, usize) {
    debug_assert!(base == 0 || (2..=16).contains(&base));
    let libc = dialect == Dialect::Libc;
    let mut i = 0;
    let mut negative = false;
    if libc {
        while s.get(i).is_some_and(|&c| is_c_space(c)) {
            i += 1;
        }
        if let Some(&sign @ (b'+' | b'-')) = s.get(i) {
            negative = sign == b'-';
            i += 1;
        }
    }
    let zero_x = s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x' | b'X'));
    let hex_digit_follows = zero_x && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
    let base = match base {
        0 if hex_digit_follows => 16,
        0 if s.get(i) == Some(&b'0') => 8,
        0 => 10,
        explicit => explicit,
    };
    if base == 16 && (hex_digit_follows || (zero_x && !libc)) {
        i += 2;
    }
    let start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        let (times, o1) = value.overflowing_mul(u64::from(base));
        let (plus, o2) = times.overflowing_add(u64::from(d));
        overflow |= o1 || o2;
        value = plus;
        i += 1;
    }
    if !libc {
        return (value, i);
    }
    if i == start {
        (0, 0)
    } else if overflow {
        (u64::MAX, i)
    } else if negative {
        (value.wrapping_neg(), i)
    } else {
        (value, i)
    }
}

#[cfg(test)]
mod test {
    //! The three readers this function replaced, kept as they were as oracles.
    use super::*;
    use proptest::prelude::*;

    /// The command-line parser's `simple_strtoul` (base 0, 10 or 16).
    fn old_cmdline_strtoul(s: &[u8], base: u32) -> (u64, usize) {
        let mut base = base;
        let mut i = 0;
        if base == 0 {
            base = if s.first() == Some(&b'0') {
                if matches!(s.get(1), Some(b'x' | b'X'))
                    && s.get(2).is_some_and(u8::is_ascii_hexdigit)
                {
                    16
                } else {
                    8
                }
            } else {
                10
            };
        }
        if base == 16 && s.first() == Some(&b'0') && matches!(s.get(1), Some(b'x' | b'X')) {
            i = 2;
        }
        let mut v: u64 = 0;
        while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(base)) {
            v = v.wrapping_mul(u64::from(base)).wrapping_add(u64::from(d));
            i += 1;
        }
        (v, i)
    }

    /// The MAC reader's `simple_strtoul(text + pos, &end, 16)`.
    fn old_mac_strtoul16(text: &[u8], pos: usize) -> (u64, usize) {
        let mut i = pos;
        if text.get(i) == Some(&b'0') && matches!(text.get(i + 1), Some(b'x') | Some(b'X')) {
            i += 2;
        }
        let mut v: u64 = 0;
        while let Some(d) = text.get(i).and_then(|&c| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }) {
            v = v.wrapping_mul(16).wrapping_add(u64::from(d));
            i += 1;
        }
        (v, i)
    }

    /// The helper's `strtoul(s, &end, 0)`, truncated to `unsigned int`.
    fn old_helper_strtoul0(s: &str) -> (u32, usize) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            i += 1;
        }
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut base = 10u64;
        if i < b.len() && b[i] == b'0' {
            if i + 2 < b.len() && (b[i + 1] | 0x20) == b'x' && b[i + 2].is_ascii_hexdigit() {
                base = 16;
                i += 2;
            } else {
                base = 8;
            }
        }
        let start = i;
        let mut v: u64 = 0;
        let mut overflow = false;
        while i < b.len() {
            let d = match b[i] {
                c @ b'0'..=b'9' => u64::from(c - b'0'),
                c @ (b'a'..=b'f' | b'A'..=b'F') => u64::from((c | 0x20) - b'a' + 10),
                _ => break,
            };
            if d >= base {
                break;
            }
            match v.checked_mul(base).and_then(|x| x.checked_add(d)) {
                Some(x) => v = x,
                None => overflow = true,
            }
            i += 1;
        }
        if i == start {
            return (0, 0);
        }
        let v = if overflow {
            u64::MAX
        } else if neg {
            v.wrapping_neg()
        } else {
            v
        };
        (v as u32, i)
    }

    /// Text that exercises prefixes, signs, spaces, digits of every base and overflow.
    fn numberish() -> impl Strategy<Value = std::string::String> {
        prop_oneof![
            "[ \t+-]{0,2}0?[xX]?[0-9a-fA-FgG:,]{0,24}",
            "[0-9]{18,30}",
            "0[xX][0-9a-f]{14,20}",
            ".{0,12}",
        ]
    }

    #[test]
    fn kernel_and_libc_examples() {
        assert_eq!(strtoul(b"0x", 16, Dialect::Kernel), (0, 2));
        assert_eq!(strtoul(b"0x", 16, Dialect::Libc), (0, 1));
        assert_eq!(strtoul(b"0x", 0, Dialect::Kernel), (0, 1));
        assert_eq!(strtoul(b"09", 0, Dialect::Kernel), (0, 1));
        assert_eq!(strtoul(b"1ff", 16, Dialect::Kernel), (0x1ff, 3));
        assert_eq!(strtoul(b"+7", 10, Dialect::Kernel), (0, 0));
        assert_eq!(strtoul(b"\t+7z", 0, Dialect::Libc), (7, 3));
        assert_eq!(
            strtoul(b"99999999999999999999", 10, Dialect::Libc),
            (u64::MAX, 20)
        );
        assert_eq!(
            strtoul(b"99999999999999999999", 10, Dialect::Kernel).0,
            99_999_999_999_999_999_999u128 as u64
        );
    }

    proptest! {
        #[test]
        fn same_as_the_command_line_reader(s in numberish(), base in prop::sample::select(std::vec![0u32, 10, 16])) {
            prop_assert_eq!(strtoul(s.as_bytes(), base, Dialect::Kernel), old_cmdline_strtoul(s.as_bytes(), base));
        }

        #[test]
        fn same_as_the_mac_reader(s in numberish(), pos in 0usize..4) {
            let b = s.as_bytes();
            let pos = pos.min(b.len());
            let (v, n) = strtoul(&b[pos..], 16, Dialect::Kernel);
            prop_assert_eq!((v, pos + n), old_mac_strtoul16(b, pos));
        }

        #[test]
        fn same_as_the_helper_reader(s in numberish()) {
            let (v, n) = strtoul(s.as_bytes(), 0, Dialect::Libc);
            prop_assert_eq!((v as u32, n), old_helper_strtoul0(&s));
        }
    }
}
