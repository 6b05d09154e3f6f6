//! Go's `time.Duration.String()`, reproduced byte for byte.
//!
//! Examples: `0s`, `999ns`, `1.5µs` (U+00B5 MICRO SIGN), `1.234567ms`, `12.345678912s`,
//! `1m1s`, `1h2m3.5s`, `2h0m0s`. Durations under a second use the largest of ns, µs and ms
//! that keeps the integer part non-zero; longer ones are written as hours, minutes and
//! seconds, where hours and minutes are left out while they are zero, and the seconds carry
//! up to nine fractional digits with trailing zeros (and a bare point) removed.

use std::time::Duration;

/// Formats `d` as Go's `time.Duration(d).String()` does.
///
/// A Go `Duration` is an `int64` count of nanoseconds, so it cannot exceed
/// 2562047h47m16.854775807s; longer Rust durations are written by the same rules.
pub fn format(d: Duration) -> String {
    format_u128(d.as_nanos(), false)
}

/// Formats a signed nanosecond count, the representation of a Go `time.Duration`,
/// including negative values (`-1.5s`).
pub fn format_nanos(nanos: i64) -> String {
    format_u128(u128::from(nanos.unsigned_abs()), nanos < 0)
}

fn format_u128(u: u128, neg: bool) -> String {
    if u == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Below one second: the unit is chosen so the integer part is non-zero.
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "\u{b5}s")
        } else {
            (6, "ms")
        };
        let scale = 10u128.pow(prec);
        out.push_str(&(u / scale).to_string());
        push_fraction(&mut out, u % scale, prec);
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    let frac = u % 1_000_000_000;
    let minutes = secs / 60;
    if minutes > 0 {
        let hours = minutes / 60;
        if hours > 0 {
            out.push_str(&hours.to_string());
            out.push('h');
        }
        out.push_str(&(minutes % 60).to_string());
        out.push('m');
    }
    out.push_str(&(secs % 60).to_string());
    push_fraction(&mut out, frac, 9);
    out.push('s');
    out
}

/// Appends `.ddd` for `frac / 10^prec`, zero-padded to `prec` digits, without trailing zeros,
/// and nothing at all when `frac` is zero.
fn push_fraction(out: &mut String, frac: u128, prec: u32) {
    if prec == 0 || frac == 0 {
        return;
    }
    let digits = format!("{:0width$}", frac, width = prec as usize);
    out.push('.');
    out.push_str(digits.trim_end_matches('0'));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const MIN: u64 = 60 * S;
    const H: u64 = 60 * MIN;

    #[test]
    fn go_duration_string_vectors() {
        // The table of Go's time package test for Duration.String.
        let cases: &[(&str, u64)] = &[
            ("0s", 0),
            ("1ns", 1),
            ("1.1\u{b5}s", 1100),
            ("2.2ms", 2200 * US),
            ("3.3s", 3300 * MS),
            ("4m5s", 4 * MIN + 5 * S),
            ("4m5.001s", 4 * MIN + 5001 * MS),
            ("5h6m7.001s", 5 * H + 6 * MIN + 7001 * MS),
            ("8m0.000000001s", 8 * MIN + 1),
            ("2562047h47m16.854775807s", i64::MAX as u64),
        ];
        for &(want, n) in cases {
            assert_eq!(format(ns(n)), want, "{n}");
        }
    }

    #[test]
    fn brief_examples() {
        assert_eq!(format(ns(999)), "999ns");
        assert_eq!(format(ns(1500)), "1.5µs");
        assert_eq!(format(ns(1_234_567)), "1.234567ms");
        assert_eq!(format(ns(12_345_678_912)), "12.345678912s");
        assert_eq!(format(ns(MIN + S)), "1m1s");
        assert_eq!(format(ns(H + 2 * MIN + 3 * S + 500 * MS)), "1h2m3.5s");
        assert_eq!(format(ns(2 * H)), "2h0m0s");
    }

    #[test]
    fn micro_sign_is_u00b5() {
        let s = format(ns(1500));
        assert_eq!(s.as_bytes(), b"1.5\xc2\xb5s");
        assert!(!s.contains('\u{3bc}'));
    }

    #[test]
    fn unit_boundaries() {
        assert_eq!(format(ns(1)), "1ns");
        assert_eq!(format(ns(999)), "999ns");
        assert_eq!(format(ns(1000)), "1µs");
        assert_eq!(format(ns(1001)), "1.001µs");
        assert_eq!(format(ns(999_999)), "999.999µs");
        assert_eq!(format(ns(1_000_000)), "1ms");
        assert_eq!(format(ns(1_000_001)), "1.000001ms");
        assert_eq!(format(ns(999_999_999)), "999.999999ms");
        assert_eq!(format(ns(S)), "1s");
        assert_eq!(format(ns(S + 1)), "1.000000001s");
        assert_eq!(format(ns(59 * S)), "59s");
        assert_eq!(format(ns(60 * S)), "1m0s");
        assert_eq!(format(ns(H - 1)), "59m59.999999999s");
        assert_eq!(format(ns(H)), "1h0m0s");
        assert_eq!(format(ns(H + S)), "1h0m1s");
        assert_eq!(format(ns(100 * H)), "100h0m0s");
    }

    #[test]
    fn from_std_constructors() {
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_micros(250)), "250µs");
        assert_eq!(format(Duration::from_millis(10)), "10ms");
        assert_eq!(format(Duration::ZERO), "0s");
    }

    #[test]
    fn beyond_go_range() {
        assert_eq!(format(ns(u64::MAX)), "5124095h34m33.709551615s");
        assert_eq!(format(Duration::MAX), "5124095576030431h0m15.999999999s");
    }

    #[test]
    fn negative_nanos() {
        assert_eq!(format_nanos(0), "0s");
        assert_eq!(format_nanos(-1), "-1ns");
        assert_eq!(format_nanos(-1500), "-1.5µs");
        assert_eq!(format_nanos(-1_500_000_000), "-1.5s");
        assert_eq!(format_nanos(i64::MIN), "-2562047h47m16.854775808s");
        assert_eq!(format_nanos(i64::MAX), "2562047h47m16.854775807s");
        assert_eq!(format_nanos(3_600_000_000_000), "1h0m0s");
    }
}
