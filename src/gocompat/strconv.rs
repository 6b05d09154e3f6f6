//! Go's `strconv` number and boolean parsing: `ParseBool`, `ParseUint`, `ParseInt` and
//! `Atoi` for 64-bit values, with Go's `*strconv.NumError` messages such as
//! `strconv.ParseUint: parsing "x": invalid syntax` (the input quoted as `%q` does).

use super::quote::quote;
use std::fmt;

/// Why a `strconv` number parse failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumErrorKind {
    /// `strconv.ErrSyntax`: "invalid syntax".
    Syntax,
    /// `strconv.ErrRange`: "value out of range".
    Range,
    /// A base other than 0 or 2 to 36: "invalid base N".
    Base(u32),
}

/// Go's `*strconv.NumError`, whose `Display` is Go's message, such as
/// `strconv.ParseUint: parsing "x": invalid syntax`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumError {
    /// The function that failed: `ParseBool`, `ParseInt`, `ParseUint` or `Atoi`.
    pub func: &'static str,
    /// The input.
    pub num: String,
    /// The reason.
    pub err: NumErrorKind,
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "strconv.{}: parsing {}: ", self.func, quote(&self.num))?;
        match self.err {
            NumErrorKind::Syntax => f.write_str("invalid syntax"),
            NumErrorKind::Range => f.write_str("value out of range"),
            NumErrorKind::Base(b) => write!(f, "invalid base {b}"),
        }
    }
}

impl std::error::Error for NumError {}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_bool(s: &str) -> Result<bool, NumError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(NumError {
            func: "ParseBool",
            num: s.to_string(),
            err: NumErrorKind::Syntax,
        }),
    }
}

/// Go's `strconv.ParseUint(s, base, 64)`. Base 0 takes the base from the prefix (`0b`,
/// `0o` or `0`, `0x`, else decimal) and allows underscores between digits, as Go's integer
/// literals do.
pub fn parse_uint(s: &str, base: u32) -> Result<u64, NumError> {
    parse_uint_as(s, base, "ParseUint")
}

/// Go's `strconv.ParseInt(s, base, 64)`: an optional sign, then as [`parse_uint`].
pub fn parse_int(s: &str, base: u32) -> Result<i64, NumError> {
    parse_int_as(s, base, "ParseInt")
}

/// Go's `strconv.Atoi` on a 64-bit platform: decimal only, an optional sign.
pub fn atoi(s: &str) -> Result<i64, NumError> {
    parse_int_as(s, 10, "Atoi")
}

/// ASCII letters to lower case; other bytes are changed too, but never into letters.
fn lower(c: u8) -> u8 {
    c | 0x20
}

fn parse_uint_as(s: &str, base: u32, func: &'static str) -> Result<u64, NumError> {
    let fail = |err| {
        Err(NumError {
            func,
            num: s.to_string(),
            err,
        })
    };
    let b = s.as_bytes();
    if b.is_empty() {
        return fail(NumErrorKind::Syntax);
    }
    let base0 = base == 0;
    let (base, digits) = if base0 {
        if b[0] == b'0' {
            match b.get(1).map(|&c| lower(c)) {
                Some(b'b') if b.len() >= 3 => (2, &b[2..]),
                Some(b'o') if b.len() >= 3 => (8, &b[2..]),
                Some(b'x') if b.len() >= 3 => (16, &b[2..]),
                _ => (8, &b[1..]),
            }
        } else {
            (10, b)
        }
    } else if (2..=36).contains(&base) {
        (base, b)
    } else {
        return fail(NumErrorKind::Base(base));
    };
    let base = u64::from(base);
    // The smallest n for which n * base overflows.
    let cutoff = u64::MAX / base + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in digits {
        let d = if c == b'_' && base0 {
            underscores = true;
            continue;
        } else if c.is_ascii_digit() {
            c - b'0'
        } else if lower(c).is_ascii_lowercase() {
            lower(c) - b'a' + 10
        } else {
            return fail(NumErrorKind::Syntax);
        };
        if u64::from(d) >= base {
            return fail(NumErrorKind::Syntax);
        }
        if n >= cutoff {
            return fail(NumErrorKind::Range);
        }
        match (n * base).checked_add(u64::from(d)) {
            Some(next) => n = next,
            None => return fail(NumErrorKind::Range),
        }
    }
    if underscores && !underscore_ok(s) {
        return fail(NumErrorKind::Syntax);
    }
    Ok(n)
}

fn parse_int_as(s: &str, base: u32, func: &'static str) -> Result<i64, NumError> {
    let fail = |err| {
        Err(NumError {
            func,
            num: s.to_string(),
            err,
        })
    };
    if s.is_empty() {
        return fail(NumErrorKind::Syntax);
    }
    let (neg, rest) = if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else if let Some(r) = s.strip_prefix('-') {
        (true, r)
    } else {
        (false, s)
    };
    let un = match parse_uint_as(rest, base, func) {
        Ok(un) => un,
        Err(e) if e.err == NumErrorKind::Range => u64::MAX,
        Err(e) => return fail(e.err),
    };
    const CUTOFF: u64 = 1 << 63;
    if (!neg && un >= CUTOFF) || (neg && un > CUTOFF) {
        return fail(NumErrorKind::Range);
    }
    // `un` is at most 2^63 here; the only value that does not fit i64 is -2^63.
    Ok(if neg {
        0i64.wrapping_sub_unsigned(un)
    } else {
        0i64.wrapping_add_unsigned(un)
    })
}

/// Go's rule for underscores in a base-0 integer: only between digits, or between the
/// base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some((&(b'-' | b'+'), rest)) = b.split_first() {
        b = rest;
    }
    // What was seen last: '^' the start, '0' a digit or the base prefix, '_' an
    // underscore, '!' anything else.
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(lower(b[1]), b'b' | b'o' | b'x') {
        hex = lower(b[1]) == b'x';
        saw = b'0';
        b = &b[2..];
    }
    for &c in b {
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lower(c))) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strconv_parse_uint() {
        assert_eq!(parse_uint("0", 0), Ok(0));
        assert_eq!(parse_uint("0_7", 0), Ok(7));
        assert_eq!(parse_uint("0o_17", 0), Ok(15));
        assert_eq!(parse_uint("0B1_0", 0), Ok(2));
        assert_eq!(parse_uint("ff", 16), Ok(255));
        assert_eq!(parse_uint("zz", 36), Ok(1295));
        assert_eq!(
            parse_uint("1_000", 10).map_err(|e| e.err),
            Err(NumErrorKind::Syntax)
        );
        assert_eq!(
            parse_uint("0x10", 16).map_err(|e| e.err),
            Err(NumErrorKind::Syntax)
        );
        assert_eq!(
            parse_uint("12", 1).map_err(|e| e.err),
            Err(NumErrorKind::Base(1))
        );
        assert_eq!(
            parse_uint("12", 37).map_err(|e| e.err),
            Err(NumErrorKind::Base(37))
        );
        assert_eq!(
            parse_uint("", 10).map_err(|e| e.err),
            Err(NumErrorKind::Syntax)
        );
        assert_eq!(parse_uint("18446744073709551615", 10), Ok(u64::MAX));
        assert_eq!(parse_uint("0xffffffffffffffff", 0), Ok(u64::MAX));
        assert_eq!(
            parse_uint("0x1_0000_0000_0000_0000", 0).map_err(|e| e.err),
            Err(NumErrorKind::Range)
        );
        // Go checks each digit in order: overflow is found before a later bad character,
        // and before the underscore check.
        assert_eq!(
            parse_uint("99999999999999999999x", 10).map_err(|e| e.err),
            Err(NumErrorKind::Range)
        );
        assert_eq!(
            parse_uint("x99999999999999999999", 10).map_err(|e| e.err),
            Err(NumErrorKind::Syntax)
        );
        assert_eq!(
            parse_uint("1__00000000000000000000", 0).map_err(|e| e.err),
            Err(NumErrorKind::Range)
        );
    }

    #[test]
    fn strconv_parse_int_and_atoi() {
        assert_eq!(parse_int("-128", 10), Ok(-128));
        assert_eq!(parse_int("+0", 10), Ok(0));
        assert_eq!(parse_int("-0", 0), Ok(0));
        assert_eq!(parse_int("-0b11", 0), Ok(-3));
        assert_eq!(parse_int("-9223372036854775808", 10), Ok(i64::MIN));
        assert_eq!(
            parse_int("-9223372036854775809", 10).map_err(|e| e.err),
            Err(NumErrorKind::Range)
        );
        assert_eq!(
            parse_int("9223372036854775808", 10).map_err(|e| e.err),
            Err(NumErrorKind::Range)
        );
        assert_eq!(
            parse_int("-99999999999999999999", 10).map_err(|e| e.err),
            Err(NumErrorKind::Range)
        );
        assert_eq!(atoi("42"), Ok(42));
        assert_eq!(atoi("-42"), Ok(-42));
        assert_eq!(atoi("0x1").map_err(|e| e.err), Err(NumErrorKind::Syntax));
    }

    #[test]
    fn strconv_error_messages() {
        let msg = |r: Result<i64, NumError>| r.err().map(|e| e.to_string());
        assert_eq!(
            msg(atoi("abc")).as_deref(),
            Some(r#"strconv.Atoi: parsing "abc": invalid syntax"#)
        );
        assert_eq!(
            msg(parse_int("-x", 10)).as_deref(),
            Some(r#"strconv.ParseInt: parsing "-x": invalid syntax"#)
        );
        assert_eq!(
            msg(parse_int("99999999999999999999", 10)).as_deref(),
            Some(r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#)
        );
        assert_eq!(
            parse_uint("-1", 10).err().map(|e| e.to_string()).as_deref(),
            Some(r#"strconv.ParseUint: parsing "-1": invalid syntax"#)
        );
        assert_eq!(
            parse_uint("1", 99).err().map(|e| e.to_string()).as_deref(),
            Some(r#"strconv.ParseUint: parsing "1": invalid base 99"#)
        );
        assert_eq!(
            parse_bool("yes").err().map(|e| e.to_string()).as_deref(),
            Some(r#"strconv.ParseBool: parsing "yes": invalid syntax"#)
        );
        assert_eq!(
            msg(atoi("\x01")).as_deref(),
            Some(r#"strconv.Atoi: parsing "\x01": invalid syntax"#)
        );
    }

    #[test]
    fn underscore_rules() {
        assert!(underscore_ok("1_000"));
        assert!(underscore_ok("0x_1f"));
        assert!(underscore_ok("-0b_1_0"));
        assert!(underscore_ok("0_7"));
        assert!(!underscore_ok("_1"));
        assert!(!underscore_ok("1_"));
        assert!(!underscore_ok("1__0"));
        assert!(!underscore_ok("0x_"));
        assert!(!underscore_ok("1_x"));
    }

    /// A seeded xorshift stream, for generated cases.
    fn stream(mut x: u64) -> impl Iterator<Item = u64> {
        std::iter::from_fn(move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Some(x)
        })
    }

    #[test]
    fn every_u64_and_i64_round_trips_in_every_base_spelling() {
        for (i, x) in stream(0x2545_f491_4f6c_dd1d).take(20_000).enumerate() {
            let u = x >> (i % 64);
            assert_eq!(parse_uint(&u.to_string(), 10), Ok(u));
            assert_eq!(parse_uint(&format!("0x{u:x}"), 0), Ok(u));
            assert_eq!(parse_uint(&format!("0X{u:X}"), 0), Ok(u));
            assert_eq!(parse_uint(&format!("0o{u:o}"), 0), Ok(u));
            assert_eq!(parse_uint(&format!("0{u:o}"), 0), Ok(u));
            assert_eq!(parse_uint(&format!("0b{u:b}"), 0), Ok(u));
            assert_eq!(parse_uint(&format!("{u:x}"), 16), Ok(u));
            let n = u as i64;
            assert_eq!(parse_int(&n.to_string(), 10), Ok(n));
            assert_eq!(atoi(&n.to_string()), Ok(n));
            // An explicit plus sign: in range up to i64::MAX, out of range above.
            let plus = atoi(&format!("+{u}")).map_err(|e| e.err);
            assert_eq!(plus, i64::try_from(u).map_err(|_| NumErrorKind::Range));
            // Underscores between every digit are accepted in base 0 only.
            let spaced: String = u
                .to_string()
                .chars()
                .flat_map(|c| [c, '_'])
                .collect::<String>()
                .trim_end_matches('_')
                .to_string();
            if u >= 10 && !spaced.starts_with('0') {
                assert_eq!(parse_uint(&spaced, 0), Ok(u), "{spaced}");
                assert_eq!(
                    parse_uint(&spaced, 10).map_err(|e| e.err),
                    Err(NumErrorKind::Syntax)
                );
                assert_eq!(atoi(&spaced).map_err(|e| e.err), Err(NumErrorKind::Syntax));
            }
        }
    }

    #[test]
    fn decimal_agrees_with_the_exact_value_beyond_the_range() {
        // A decimal string of digits is accepted exactly when its value fits, and
        // out of range otherwise; a sign never fits ParseUint.
        for (i, x) in stream(0x9e37_79b9_7f4a_7c15).take(5_000).enumerate() {
            let digits: String = std::iter::successors(Some(x), |&y| Some(y / 7 + 13))
                .take(1 + i % 25)
                .map(|y| char::from(b'0' + (y % 10) as u8))
                .collect();
            let exact = digits.parse::<u128>().expect("digits");
            match u64::try_from(exact) {
                Ok(v) => assert_eq!(parse_uint(&digits, 10), Ok(v)),
                Err(_) => assert_eq!(
                    parse_uint(&digits, 10).map_err(|e| e.err),
                    Err(NumErrorKind::Range)
                ),
            }
            for sign in ["-", "+"] {
                let signed = format!("{sign}{digits}");
                assert_eq!(
                    parse_uint(&signed, 10).map_err(|e| e.err),
                    Err(NumErrorKind::Syntax)
                );
                let value = if sign == "-" {
                    -i128::try_from(exact).expect("fits")
                } else {
                    i128::try_from(exact).expect("fits")
                };
                match i64::try_from(value) {
                    Ok(v) => assert_eq!(parse_int(&signed, 10), Ok(v), "{signed}"),
                    Err(_) => {
                        let e = parse_int(&signed, 10).err().map(|e| e.to_string());
                        assert_eq!(
                            e,
                            Some(format!(
                                "strconv.ParseInt: parsing \"{signed}\": value out of range"
                            ))
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn error_texts_quote_the_input_as_go_does() {
        let e = parse_uint("\u{a0}1", 10).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(r#"strconv.ParseUint: parsing "\u00a01": invalid syntax"#)
        );
        let e = parse_bool("\u{1f600}").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("strconv.ParseBool: parsing \"\u{1f600}\": invalid syntax")
        );
        for ok in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(ok), Ok(true));
        }
        for ok in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(ok), Ok(false));
        }
        for bad in ["", "tRUE", "yes", "on", "2", " true", "TRUE\n"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
    }
}
