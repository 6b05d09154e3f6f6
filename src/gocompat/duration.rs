//! Go's `time.Duration.String()` and `time.ParseDuration`, reproduced byte for byte.
//!
//! Examples: `0s`, `999ns`, `1.5µs` (U+00B5 MICRO SIGN), `1.234567ms`, `12.345678912s`,
//! `1m1s`, `1h2m3.5s`, `2h0m0s`. Durations under a second use the largest of ns, µs and ms
//! that keeps the integer part non-zero; longer ones are written as hours, minutes and
//! seconds, where hours and minutes are left out while they are zero, and the seconds carry
//! up to nine fractional digits with trailing zeros (and a bare point) removed.
//!
//! [`parse`] reads the same notation back: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or a bare `0`.

use std::fmt;
use std::time::Duration;

/// The largest magnitude a Go `Duration` (an `int64` of nanoseconds) can have when negative.
const MAX_MAGNITUDE: u64 = 1 << 63;

/// Go's `time.ParseDuration` error, whose `Display` is Go's message, such as
/// `time: invalid duration "x"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// `time: invalid duration "<input>"`: bad syntax or out of the `int64` range.
    Invalid(String),
    /// `time: missing unit in duration "<input>"`.
    MissingUnit(String),
    /// `time: unknown unit "<unit>" in duration "<input>"`.
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Invalid(s) => write!(f, "time: invalid duration {}", time_quote(s)),
            ParseError::MissingUnit(s) => {
                write!(f, "time: missing unit in duration {}", time_quote(s))
            }
            ParseError::UnknownUnit { unit, input } => write!(
                f,
                "time: unknown unit {} in duration {}",
                time_quote(unit),
                time_quote(input)
            ),
        }
    }
}

impl std::error::Error for ParseError {}

/// The `time` package's own quoting for its error messages (not `strconv.Quote`): `"` and
/// `\` are backslash-escaped, and every byte of a rune below U+0020 or above U+007F is
/// written as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c < ' ' || !c.is_ascii() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Nanoseconds per unit, as Go's `unitMap` (both U+00B5 and U+03BC spell micro).
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Go's `leadingInt`: the leading decimal digits of `s` and the rest, or `None` when the
/// value exceeds 2^63.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let end = s
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let mut x: u64 = 0;
    for c in s[..end].bytes() {
        if x > MAX_MAGNITUDE / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > MAX_MAGNITUDE {
            return None;
        }
    }
    Some((x, &s[end..]))
}

/// Go's `leadingFraction`: the leading decimal digits of `s` as `x / scale`, and the rest.
/// Digits past the precision of a `u64` are consumed and dropped, as Go does.
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let end = s
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    for c in s[..end].bytes() {
        if overflow {
            continue;
        }
        if x > (MAX_MAGNITUDE - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > MAX_MAGNITUDE {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[end..])
}

/// Go's `time.ParseDuration`: a signed nanosecond count, with Go's exact error messages.
///
/// Whole numbers are accumulated in integers with overflow checks; a fractional part is
/// converted as Go does, `uint64(float64(f) * (float64(unit) / scale))`, so that results
/// match Go's to the nanosecond (`1.1ns` is 1ns, `1.5h` is exactly 5400s).
pub fn parse(input: &str) -> Result<i64, ParseError> {
    let invalid = || ParseError::Invalid(input.to_string());
    let (neg, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.as_bytes()[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = before != s.len();
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let before = rest.len();
            (f, scale, s) = leading_fraction(rest);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let end = s
            .bytes()
            .position(|c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if end == 0 {
            return Err(ParseError::MissingUnit(input.to_string()));
        }
        let unit_text = &s[..end];
        s = &s[end..];
        let unit = unit_nanos(unit_text).ok_or_else(|| ParseError::UnknownUnit {
            unit: unit_text.to_string(),
            input: input.to_string(),
        })?;
        if v > MAX_MAGNITUDE / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // At most 3.6e12 (an hour in nanoseconds): the cast cannot saturate.
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > MAX_MAGNITUDE {
                return Err(invalid());
            }
        }
        d += v;
        if d > MAX_MAGNITUDE {
            return Err(invalid());
        }
    }
    if neg {
        return Ok(0i64.wrapping_sub_unsigned(d));
    }
    i64::try_from(d).map_err(|_| invalid())
}

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

    fn go_nanos(s: &str) -> Result<i64, String> {
        parse(s).map_err(|e| e.to_string())
    }

    #[test]
    fn go_parse_duration_vectors() {
        // Go's time package test table for ParseDuration.
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * S as i64),
            ("30s", 30 * S as i64),
            ("1478s", 1478 * S as i64),
            ("-5s", -5 * S as i64),
            ("+5s", 5 * S as i64),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S as i64),
            ("5.6s", (5 * S + 600 * MS) as i64),
            ("5.s", 5 * S as i64),
            (".5s", (500 * MS) as i64),
            ("1.0s", S as i64),
            ("1.00s", S as i64),
            ("1.004s", (S + 4 * MS) as i64),
            ("1.0040s", (S + 4 * MS) as i64),
            ("100.00100s", (100 * S + MS) as i64),
            ("10ns", 10),
            ("11us", (11 * US) as i64),
            ("12\u{b5}s", (12 * US) as i64),
            ("12\u{3bc}s", (12 * US) as i64),
            ("13ms", (13 * MS) as i64),
            ("14s", (14 * S) as i64),
            ("15m", (15 * MIN) as i64),
            ("16h", (16 * H) as i64),
            ("3h30m", (3 * H + 30 * MIN) as i64),
            ("10.5s4m", (4 * MIN + 10 * S + 500 * MS) as i64),
            ("-2m3.4s", -((2 * MIN + 3 * S + 400 * MS) as i64)),
            (
                "1h2m3s4ms5us6ns",
                (H + 2 * MIN + 3 * S + 4 * MS + 5 * US + 6) as i64,
            ),
            (
                "39h9m14.425s",
                (39 * H + 9 * MIN + 14 * S + 425 * MS) as i64,
            ),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", (20 * MIN) as i64),
            ("9007199254740993ns", (1i64 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("-9223372036s854ms775us808ns", i64::MIN),
            ("-2562047h47m16.854775808s", i64::MIN),
            ("0.100000000000000000000h", (6 * MIN) as i64),
            (
                "0.830103483285477580700h",
                (49 * MIN + 48 * S + 372_539_827) as i64,
            ),
            // The examples of the brief.
            ("1.5s", (1500 * MS) as i64),
            ("1h2m3.5s", (H + 2 * MIN + 3 * S + 500 * MS) as i64),
            ("-1s", -(S as i64)),
            ("1.1ns", 1),
            ("1.5h", (90 * MIN) as i64),
        ];
        for &(text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn go_parse_duration_errors() {
        let cases: &[(&str, &str)] = &[
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("1.5x", r#"time: unknown unit "x" in duration "1.5x""#),
            ("1s2", r#"time: missing unit in duration "1s2""#),
            ("5 s", r#"time: unknown unit " s" in duration "5 s""#),
            ("\u{85}\u{0}", "time: invalid duration \"\\xc2\\x85\\x00\""),
            (
                "9\u{a0}s",
                "time: unknown unit \"\\xc2\\xa0s\" in duration \"9\\xc2\\xa0s\"",
            ),
            ("1\"s", r#"time: unknown unit "\"s" in duration "1\"s""#),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            (
                "9223372036854ms775us808ns",
                r#"time: invalid duration "9223372036854ms775us808ns""#,
            ),
            (
                "-9223372036854775809ns",
                r#"time: invalid duration "-9223372036854775809ns""#,
            ),
            ("2562048h", r#"time: invalid duration "2562048h""#),
            (
                "99999999999999999999ns",
                r#"time: invalid duration "99999999999999999999ns""#,
            ),
        ];
        for &(text, want) in cases {
            assert_eq!(go_nanos(text), Err(want.to_string()), "{text:?}");
        }
    }

    #[test]
    fn parse_inverts_format() {
        // Every Go duration written by `format_nanos` parses back to itself, over a seeded
        // spread of magnitudes, signs and units.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let magnitude = x >> (x % 64);
            let n = if i % 2 == 0 {
                magnitude as i64
            } else {
                (magnitude as i64).wrapping_neg()
            };
            let text = format_nanos(n);
            assert_eq!(parse(&text), Ok(n), "{text}");
        }
        for n in [0, 1, -1, i64::MAX, i64::MIN, 999, 1000, 1_000_000_000] {
            assert_eq!(parse(&format_nanos(n)), Ok(n));
        }
    }
}
