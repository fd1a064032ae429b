//! The shell's numbers: ping's loss percentage and round-trip statistics, ifconfig's
//! byte counts in units, ping's time options.
//!
//! With `std` they are computed in `f64` exactly as before (the output pinned by the
//! host tests). Without `std` the same texts come from integer arithmetic: `core`'s
//! float formatting and parsing and the soft-float routines would cost a Cortex-M3
//! about 30 KiB of flash. The integer versions round the exact value where the float
//! ones round a float approximation of it; the two differ only for values that lie on
//! (or within a float's error of) a rounding tie, which the tests below compare around.

use alloc::string::String;

/// Milliseconds with three decimals from microseconds.
pub(super) fn ms3(us: u64) -> String {
    alloc::format!("{}.{:03}", us / 1000, us % 1000)
}

/// `100 * (tx - rx) / tx` as C's `%g` prints a percentage: six significant digits, no
/// trailing zeros.
#[cfg(feature = "std")]
pub(super) fn loss_percent(tx: u32, rx: u32) -> String {
    let v = if tx == 0 {
        0.0
    } else {
        f64::from(tx - rx.min(tx)) * 100.0 / f64::from(tx)
    };
    if v == v.trunc() {
        return alloc::format!("{}", v as i64);
    }
    let int_digits = if v.abs() >= 1.0 {
        (v.abs().log10().floor() as i32) + 1
    } else {
        1
    };
    let decimals = (6 - int_digits).max(0) as usize;
    let s = alloc::format!("{v:.decimals$}");
    alloc::string::ToString::to_string(s.trim_end_matches('0').trim_end_matches('.'))
}

/// iputils' `min/avg/max/mdev` of round-trip times in microseconds, in milliseconds.
#[cfg(feature = "std")]
pub(super) fn rtt_summary(rtts_us: &[i64]) -> String {
    let ms3f = |us: f64| ms3(us.round() as u64);
    let n = rtts_us.len() as f64;
    let min = *rtts_us.iter().min().unwrap_or(&0);
    let max = *rtts_us.iter().max().unwrap_or(&0);
    let sum: f64 = rtts_us.iter().map(|&t| t as f64).sum();
    let sum2: f64 = rtts_us.iter().map(|&t| (t as f64) * (t as f64)).sum();
    let avg = sum / n;
    let mdev = (sum2 / n - avg * avg).max(0.0).sqrt();
    alloc::format!(
        "{}/{}/{}/{}",
        ms3f(min as f64),
        ms3f(avg),
        ms3f(max as f64),
        ms3f(mdev)
    )
}

/// A byte count as net-tools prints it after the count: one decimal, in B, KB, MB, GB
/// or TB (powers of 1000).
#[cfg(feature = "std")]
pub(super) fn scaled(bytes: u64) -> String {
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    alloc::format!("{v:.1} {}", UNITS[u])
}

/// A time option of ping in seconds (`-i 0.2`, `-W 1`), as whole microseconds, or
/// `None` unless it is a number of at least `min_us` microseconds.
#[cfg(feature = "std")]
pub(super) fn seconds_us(v: &str, min_us: u64) -> Option<u64> {
    let secs: f64 = v.parse().ok()?;
    (secs >= min_us as f64 / 1e6).then_some((secs * 1e6) as u64)
}

const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];

// The integer versions stay in u64 where they divide: u128 division and printing
// would bring back kilobytes of code.

/// `num / den` rounded half up.
#[cfg(any(not(feature = "std"), test))]
fn div_round(num: u64, den: u64) -> u64 {
    num / den + u64::from((num % den) * 2 >= den)
}

/// `num / den` rounded half to even, as float formatting rounds an exact tie.
#[cfg(any(not(feature = "std"), test))]
fn div_round_even(num: u64, den: u64) -> u64 {
    let (q, r) = (num / den, num % den);
    q + u64::from(2 * r > den || (2 * r == den && q % 2 == 1))
}

/// `floor(sqrt(x))`, digit by digit (shifts and subtractions only).
#[cfg(any(not(feature = "std"), test))]
fn isqrt(mut x: u128) -> u128 {
    let mut root = 0u128;
    let mut bit = 1u128 << 126;
    while bit > x {
        bit >>= 2;
    }
    while bit != 0 {
        if x >= root + bit {
            x -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    root
}

/// [`loss_percent`] in integers.
#[cfg(any(not(feature = "std"), test))]
pub(super) fn loss_percent_int(tx: u32, rx: u32) -> String {
    if tx == 0 {
        return String::from("0");
    }
    let lost = u64::from(tx - rx.min(tx)) * 100;
    let tx = u64::from(tx);
    if lost % tx == 0 {
        return alloc::format!("{}", lost / tx);
    }
    let int_digits = match lost / tx {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    };
    let decimals = 6 - int_digits;
    let unit = 10u64.pow(decimals);
    let v = div_round_even(lost * unit, tx);
    let s = alloc::format!("{}.{:0w$}", v / unit, v % unit, w = decimals as usize);
    String::from(s.trim_end_matches('0').trim_end_matches('.'))
}

/// [`rtt_summary`] in integers: the mean and the standard deviation rounded to the
/// nearest microsecond.
#[cfg(any(not(feature = "std"), test))]
pub(super) fn rtt_summary_int(rtts_us: &[i64]) -> String {
    let n = rtts_us.len().max(1) as u64;
    let us = |t: &i64| (*t).max(0) as u64;
    let min = rtts_us.iter().map(us).min().unwrap_or(0);
    let max = rtts_us.iter().map(us).max().unwrap_or(0);
    let sum: u64 = rtts_us.iter().map(us).sum();
    let sum2: u128 = rtts_us
        .iter()
        .map(|t| u128::from(us(t)) * u128::from(us(t)))
        .sum();
    // mdev = sqrt(n*sum2 - sum^2) / n, rounded: floor((isqrt(4S) + n) / 2n).
    let s = (u128::from(n) * sum2).saturating_sub(u128::from(sum) * u128::from(sum));
    let root = isqrt(4 * s) as u64;
    let mdev = (root + n) / (2 * n);
    alloc::format!(
        "{}/{}/{}/{}",
        ms3(min),
        ms3(div_round(sum, n)),
        ms3(max),
        ms3(mdev)
    )
}

/// [`scaled`] in integers.
#[cfg(any(not(feature = "std"), test))]
pub(super) fn scaled_int(bytes: u64) -> String {
    let mut unit = 1u64;
    let mut u = 0;
    while bytes / unit >= 1000 && u < UNITS.len() - 1 {
        unit *= 1000;
        u += 1;
    }
    // bytes * 10 / unit, without overflowing u64.
    let tenths = if unit == 1 {
        bytes * 10
    } else {
        div_round_even(bytes, unit / 10)
    };
    alloc::format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[u])
}

/// [`seconds_us`] without float parsing: decimal digits with an optional point (`1`,
/// `0.2`, `.5`, `+2.`); digits past the microsecond are dropped.
#[cfg(any(not(feature = "std"), test))]
pub(super) fn seconds_us_int(v: &str, min_us: u64) -> Option<u64> {
    let v = v.strip_prefix('+').unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
        return None;
    }
    let mut us: u64 = 0;
    for b in int.bytes() {
        us = us.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    us = us.checked_mul(1_000_000)?;
    let mut place = 100_000;
    for b in frac.bytes().take(6) {
        us += u64::from(b - b'0') * place;
        place /= 10;
    }
    (us >= min_us).then_some(us)
}

#[cfg(not(feature = "std"))]
pub(super) use {
    loss_percent_int as loss_percent, rtt_summary_int as rtt_summary, scaled_int as scaled,
    seconds_us_int as seconds_us,
};

#[cfg(all(test, feature = "std"))]
mod test {
    use super::*;

    fn lcg(x: &mut u64) -> u64 {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *x >> 33
    }

    #[test]
    fn loss_percentages_agree() {
        for tx in 1..400u32 {
            for rx in 0..=tx {
                assert_eq!(loss_percent_int(tx, rx), loss_percent(tx, rx), "{rx}/{tx}");
            }
        }
    }

    #[test]
    fn byte_counts_agree_off_ties() {
        let mut x = 1;
        for _ in 0..100_000 {
            let bytes = lcg(&mut x) >> (lcg(&mut x) % 31);
            let (a, b) = (scaled_int(bytes), scaled(bytes));
            // A tie (…50 after the shown digit) may round either way in f64.
            let mut unit = 1u64;
            while bytes / unit >= 1000 && unit < 1_000_000_000_000 {
                unit *= 1000;
            }
            let tie = unit > 1 && (bytes % (unit / 10)) * 2 == unit / 10;
            assert!(a == b || tie, "{bytes}: {a} vs {b}");
        }
        assert_eq!(scaled_int(46944), "46.9 KB");
        assert_eq!(scaled_int(1_224_417), "1.2 MB");
        assert_eq!(scaled_int(999_999), "1000.0 KB");
    }

    #[test]
    fn rtt_summaries_agree_off_ties() {
        let mut x = 7;
        let mut differ = 0;
        for _ in 0..20_000 {
            let n = 1 + lcg(&mut x) as usize % 20;
            let rtts: std::vec::Vec<i64> =
                (0..n).map(|_| (lcg(&mut x) % 2_000_000) as i64).collect();
            let (a, b) = (rtt_summary_int(&rtts), rtt_summary(&rtts));
            if a != b {
                differ += 1;
                // Only in the last microsecond of the mean or the deviation.
                let last = |s: &str| -> std::vec::Vec<i64> {
                    s.split('/')
                        .map(|f| f.replace('.', "").parse().unwrap())
                        .collect()
                };
                let (la, lb) = (last(&a), last(&b));
                for (p, q) in la.iter().zip(&lb) {
                    assert!((p - q).abs() <= 1, "{rtts:?}: {a} vs {b}");
                }
            }
        }
        assert!(differ < 200, "{differ} of 20000 summaries differ");
        assert_eq!(
            rtt_summary_int(&[1000, 1000, 3000]),
            "1.000/1.667/3.000/0.943"
        );
    }

    #[test]
    fn time_options_agree() {
        for v in ["0.2", "1", ".5", "0.001", "0.002", "2.", "+3", "10.1234567"] {
            for min in [0, 2000] {
                assert_eq!(seconds_us_int(v, min), seconds_us(v, min), "{v} >= {min}");
            }
        }
        assert_eq!(seconds_us_int("x", 0), None);
        assert_eq!(seconds_us_int("-1", 0), None);
        assert_eq!(seconds_us_int("", 0), None);
    }

    #[test]
    fn integer_square_roots() {
        for x in 0..10_000u128 {
            let r = isqrt(x);
            assert!(r * r <= x && (r + 1) * (r + 1) > x, "{x}");
        }
        assert_eq!(
            isqrt(u128::from(u64::MAX) * u128::from(u64::MAX)),
            u128::from(u64::MAX)
        );
    }
}
