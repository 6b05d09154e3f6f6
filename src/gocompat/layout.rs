//! Go's `time.Time.Format(layout)` with Go's reference-time layouts, for chrono date-times.
//!
//! The layout is written as the reference time `Mon Jan 2 15:04:05 MST 2006` would look;
//! Go recognises these tokens, scanning left to right and taking the first that matches:
//!
//! | token | meaning |
//! | --- | --- |
//! | `2006` `06` | year, two-digit year |
//! | `January` `Jan` `01` `1` | month name, short name, zero-padded and plain number |
//! | `Monday` `Mon` | weekday name, short name |
//! | `02` `_2` `2` | day of month: zero-padded, space-padded, plain |
//! | `002` `__2` | day of year: zero-padded, space-padded to three |
//! | `15` `03` `3` | hour (24h), zero-padded 12h hour, plain 12h hour |
//! | `04` `4` `05` `5` | minute, second: zero-padded, plain |
//! | `PM` `pm` | AM/PM, am/pm |
//! | `MST` | zone abbreviation |
//! | `-0700` `-07:00` `-07` `-070000` `-07:00:00` | numeric offset |
//! | `Z0700` `Z07:00` `Z07` `Z070000` `Z07:00:00` | `Z` at UTC, else the numeric offset |
//! | `.000` `,000` / `.999` `,999` | fractional seconds, fixed / trailing zeros trimmed |
//!
//! `Jan` and `Mon` are not tokens when a lower-case letter follows them (`Month`), and a
//! fractional-second run must not be followed by another digit. Everything else is copied
//! verbatim.
//!
//! The `MST` token prints the zone abbreviation, which chrono exposes only through the
//! offset's `Display`: `Utc` gives `UTC`, and a `zone::ZoneOffset` gives the tz
//! database abbreviation (`CET`, `EST`, or a numeric one such as `+04`, exactly as Go prints
//! it). A `FixedOffset` (and chrono's `Local`) has no abbreviation (it displays as `+03:00`),
//! and then Go's fallback for a zone without a name is used: the offset as `-0700`.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A recognised layout element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    UpperPm,
    LowerPm,
    Tz,
    /// A numeric zone offset; see [`Zone`].
    Zone(Zone),
    /// Fractional seconds: separator, digit count, whether trailing zeros are trimmed.
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// How a numeric zone offset is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Zone {
    /// `Z` variants print `Z` for a zero offset.
    iso: bool,
    /// `:` between the fields.
    colon: bool,
    /// Minutes are written (all but `-07` / `Z07`).
    minutes: bool,
    /// Seconds are written.
    seconds: bool,
}

/// Zone tokens in the order Go tries them, without their leading `-` or `Z`.
const ZONE_TOKENS: [(&str, Zone); 5] = [
    ("070000", zone(false, true, true)),
    ("07:00:00", zone(true, true, true)),
    ("0700", zone(false, true, false)),
    ("07:00", zone(true, true, false)),
    ("07", zone(false, false, false)),
];

const fn zone(colon: bool, minutes: bool, seconds: bool) -> Zone {
    Zone {
        iso: false,
        colon,
        minutes,
        seconds,
    }
}

fn starts_with_lower(s: &[u8]) -> bool {
    s.first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Finds the first layout element in `layout`: returns the literal text before it, the
/// element, and the rest. Mirrors Go's `nextStdChunk`.
fn next_chunk(layout: &str) -> (&str, Option<(Std, &str)>) {
    let b = layout.as_bytes();
    let n = b.len();
    for i in 0..n {
        let rest = &b[i..];
        // Every token starts with an ASCII byte, so `i` and `i + len` are char boundaries.
        let found = |std: Std, len: usize| (&layout[..i], Some((std, &layout[i + len..])));
        match b[i] {
            b'J' => {
                if rest.starts_with(b"January") {
                    return found(Std::LongMonth, 7);
                }
                if rest.starts_with(b"Jan") && !starts_with_lower(&rest[3..]) {
                    return found(Std::Month, 3);
                }
            }
            b'M' => {
                if rest.starts_with(b"Mon") {
                    if rest.starts_with(b"Monday") {
                        return found(Std::LongWeekDay, 6);
                    }
                    if !starts_with_lower(&rest[3..]) {
                        return found(Std::WeekDay, 3);
                    }
                }
                if rest.starts_with(b"MST") {
                    return found(Std::Tz, 3);
                }
            }
            b'0' => {
                if let Some(&d @ b'1'..=b'6') = rest.get(1) {
                    let std = match d {
                        b'1' => Std::ZeroMonth,
                        b'2' => Std::ZeroDay,
                        b'3' => Std::ZeroHour12,
                        b'4' => Std::ZeroMinute,
                        b'5' => Std::ZeroSecond,
                        _ => Std::Year,
                    };
                    return found(std, 2);
                }
                if rest.starts_with(b"002") {
                    return found(Std::ZeroYearDay, 3);
                }
            }
            b'1' => {
                if rest.starts_with(b"15") {
                    return found(Std::Hour, 2);
                }
                return found(Std::NumMonth, 1);
            }
            b'2' => {
                if rest.starts_with(b"2006") {
                    return found(Std::LongYear, 4);
                }
                return found(Std::Day, 1);
            }
            b'_' => {
                if rest.starts_with(b"_2") {
                    // "_2006" is a literal underscore followed by the year.
                    if rest.starts_with(b"_2006") {
                        return (&layout[..=i], Some((Std::LongYear, &layout[i + 5..])));
                    }
                    return found(Std::UnderDay, 2);
                }
                if rest.starts_with(b"__2") {
                    return found(Std::UnderYearDay, 3);
                }
            }
            b'3' => return found(Std::Hour12, 1),
            b'4' => return found(Std::Minute, 1),
            b'5' => return found(Std::Second, 1),
            b'P' if rest.starts_with(b"PM") => return found(Std::UpperPm, 2),
            b'p' if rest.starts_with(b"pm") => return found(Std::LowerPm, 2),
            c @ (b'-' | b'Z') => {
                for (tok, z) in ZONE_TOKENS {
                    if rest[1..].starts_with(tok.as_bytes()) {
                        let z = Zone {
                            iso: c == b'Z',
                            ..z
                        };
                        return found(Std::Zone(z), 1 + tok.len());
                    }
                }
            }
            c @ (b'.' | b',') => {
                if let Some(&d @ (b'0' | b'9')) = rest.get(1) {
                    let run = rest[1..].iter().take_while(|&&x| x == d).count();
                    let next_is_digit = rest.get(1 + run).is_some_and(u8::is_ascii_digit);
                    if !next_is_digit {
                        let std = Std::Frac {
                            sep: char::from(c),
                            // Go keeps the count in a 12-bit field.
                            digits: run & 0xfff,
                            trim: d == b'9',
                        };
                        return found(std, 1 + run);
                    }
                }
            }
            _ => {}
        }
    }
    (layout, None)
}

/// Appends the decimal form of `x`, zero-padded to `width` digits after any minus sign,
/// as Go's internal `appendInt` does.
fn push_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

/// The zone abbreviation chrono gives through the offset's `Display`, if it is one: tz
/// database abbreviations are letters, or a sign and digits (`+04`); chrono's
/// `FixedOffset` displays as `+03:00`, which is not an abbreviation.
fn zone_name<O: std::fmt::Display>(offset: &O) -> Option<String> {
    let name = offset.to_string();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-');
    ok.then_some(name)
}

/// Formats `t` as Go's `t.Format(layout)` does.
pub fn format<Tz: TimeZone>(t: &DateTime<Tz>, layout: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let offset = i64::from(t.offset().fix().local_minus_utc());
    let local = t.naive_local();
    // chrono marks a leap second with a nanosecond field of a second or more; Go has none.
    let nanos = i64::from(local.nanosecond() % 1_000_000_000);
    let year = i64::from(local.year());
    let month = local.month();
    let day = i64::from(local.day());
    let yday = i64::from(local.ordinal());
    let hour = i64::from(local.hour());
    let minute = i64::from(local.minute());
    let second = i64::from(local.second());
    let month_name = LONG_MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("");
    let day_name = LONG_DAYS
        .get(local.weekday().num_days_from_monday() as usize)
        .copied()
        .unwrap_or("");
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };

    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let (prefix, next) = next_chunk(rest);
        out.push_str(prefix);
        let Some((std, suffix)) = next else {
            break;
        };
        rest = suffix;
        match std {
            Std::Year => push_int(&mut out, year.abs() % 100, 2),
            Std::LongYear => push_int(&mut out, year, 4),
            Std::Month => out.push_str(month_name.get(..3).unwrap_or(month_name)),
            Std::LongMonth => out.push_str(month_name),
            Std::NumMonth => push_int(&mut out, i64::from(month), 0),
            Std::ZeroMonth => push_int(&mut out, i64::from(month), 2),
            Std::WeekDay => out.push_str(day_name.get(..3).unwrap_or(day_name)),
            Std::LongWeekDay => out.push_str(day_name),
            Std::Day => push_int(&mut out, day, 0),
            Std::UnderDay => {
                if day < 10 {
                    out.push(' ');
                }
                push_int(&mut out, day, 0);
            }
            Std::ZeroDay => push_int(&mut out, day, 2),
            Std::UnderYearDay => {
                if yday < 100 {
                    out.push(' ');
                    if yday < 10 {
                        out.push(' ');
                    }
                }
                push_int(&mut out, yday, 0);
            }
            Std::ZeroYearDay => push_int(&mut out, yday, 3),
            Std::Hour => push_int(&mut out, hour, 2),
            Std::Hour12 => push_int(&mut out, hour12, 0),
            Std::ZeroHour12 => push_int(&mut out, hour12, 2),
            Std::Minute => push_int(&mut out, minute, 0),
            Std::ZeroMinute => push_int(&mut out, minute, 2),
            Std::Second => push_int(&mut out, second, 0),
            Std::ZeroSecond => push_int(&mut out, second, 2),
            Std::UpperPm => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::LowerPm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::Zone(z) => push_zone(&mut out, offset, z),
            Std::Tz => match zone_name(t.offset()) {
                Some(name) => out.push_str(&name),
                None => push_zone(&mut out, offset, zone(false, true, false)),
            },
            Std::Frac { sep, digits, trim } => push_frac(&mut out, nanos, sep, digits, trim),
        }
    }
    out
}

/// Appends a numeric zone offset (`offset` in seconds east of UTC) with Go's arithmetic:
/// the sign comes from the offset in whole minutes, so an offset of a few seconds west
/// of UTC prints as `+0000`, as it does in Go.
fn push_zone(out: &mut String, offset: i64, z: Zone) {
    if z.iso && offset == 0 {
        out.push('Z');
        return;
    }
    let mut minutes = offset / 60;
    let mut abs_offset = offset;
    if minutes < 0 {
        out.push('-');
        minutes = -minutes;
        abs_offset = -abs_offset;
    } else {
        out.push('+');
    }
    push_int(out, minutes / 60, 2);
    if z.colon {
        out.push(':');
    }
    if z.minutes {
        push_int(out, minutes % 60, 2);
    }
    if z.seconds {
        if z.colon {
            out.push(':');
        }
        push_int(out, abs_offset % 60, 2);
    }
}

/// Appends fractional seconds as Go's `appendNano` does.
fn push_frac(out: &mut String, nanos: i64, sep: char, digits: usize, trim: bool) {
    if trim && (digits == 0 || nanos == 0) {
        return;
    }
    let mut frac = String::with_capacity(10);
    frac.push(sep);
    push_int(&mut frac, nanos, 9);
    if digits < 9 {
        frac.truncate(1 + digits);
    }
    if trim {
        let kept = frac.trim_end_matches('0').len();
        frac.truncate(kept);
        if frac.len() == 1 {
            frac.clear();
        }
    }
    out.push_str(&frac);
}

/// Formats `t` the way golang-migrate's `create` command builds a version from its
/// `-format` option: `unix` gives the seconds since the Unix epoch, `unixNano` the
/// nanoseconds (wrapping on overflow, like Go's `UnixNano` outside 1678-2262), and any
/// other value is a Go layout passed to [`format()`].
pub fn format_special<Tz: TimeZone>(t: &DateTime<Tz>, layout: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    match layout {
        "unix" => t.timestamp().to_string(),
        "unixNano" => t
            .timestamp()
            .wrapping_mul(1_000_000_000)
            .wrapping_add(i64::from(t.timestamp_subsec_nanos() % 1_000_000_000))
            .to_string(),
        _ => format(t, layout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate, Utc};

    /// The reference time, Mon Jan 2 15:04:05 MST 2006, in a fixed -07:00 zone.
    fn reference() -> DateTime<FixedOffset> {
        FixedOffset::west_opt(7 * 3600)
            .and_then(|z| z.with_ymd_and_hms(2006, 1, 2, 15, 4, 5).single())
            .expect("valid reference time")
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nano: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_nano_opt(h, mi, s, nano))
            .expect("valid date")
            .and_utc()
    }

    fn fixed(secs_east: i32, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(secs_east)
            .and_then(|z| z.with_ymd_and_hms(y, mo, d, h, mi, 0).single())
            .expect("valid time")
    }

    #[test]
    fn migrate_default_layout() {
        let t = utc(2024, 3, 7, 9, 5, 2, 0);
        assert_eq!(format(&t, "20060102150405"), "20240307090502");
        let t = utc(1999, 12, 31, 23, 59, 59, 999_999_999);
        assert_eq!(format(&t, "20060102150405"), "19991231235959");
    }

    #[test]
    fn go_predefined_layouts_on_utc() {
        // Values from Go's documentation and format tests: 2009-02-04 21:00:57.012345600 UTC.
        let t = utc(2009, 2, 4, 21, 0, 57, 12_345_600);
        let cases = [
            ("Mon Jan _2 15:04:05 2006", "Wed Feb  4 21:00:57 2009"),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Wed Feb  4 21:00:57 UTC 2009",
            ),
            (
                "Mon Jan 02 15:04:05 -0700 2006",
                "Wed Feb 04 21:00:57 +0000 2009",
            ),
            ("02 Jan 06 15:04 MST", "04 Feb 09 21:00 UTC"),
            ("02 Jan 06 15:04 -0700", "04 Feb 09 21:00 +0000"),
            (
                "Monday, 02-Jan-06 15:04:05 MST",
                "Wednesday, 04-Feb-09 21:00:57 UTC",
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 MST",
                "Wed, 04 Feb 2009 21:00:57 UTC",
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 -0700",
                "Wed, 04 Feb 2009 21:00:57 +0000",
            ),
            ("2006-01-02T15:04:05Z07:00", "2009-02-04T21:00:57Z"),
            (
                "2006-01-02T15:04:05.999999999Z07:00",
                "2009-02-04T21:00:57.0123456Z",
            ),
            ("3:04PM", "9:00PM"),
            ("Jan _2 15:04:05", "Feb  4 21:00:57"),
            ("Jan _2 15:04:05.000", "Feb  4 21:00:57.012"),
            ("Jan _2 15:04:05.000000", "Feb  4 21:00:57.012345"),
            ("Jan _2 15:04:05.000000000", "Feb  4 21:00:57.012345600"),
            ("2006-01-02 15:04:05", "2009-02-04 21:00:57"),
            ("2006-01-02", "2009-02-04"),
            ("15:04:05", "21:00:57"),
            ("01/02 03:04:05PM '06 -0700", "02/04 09:00:57PM '09 +0000"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(&t, layout), want, "layout {layout:?}");
        }
    }

    #[test]
    fn reference_time_reproduces_layouts() {
        let t = reference();
        let cases = [
            ("2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05-07:00"),
            (
                "Mon Jan 2 15:04:05 -0700 2006",
                "Mon Jan 2 15:04:05 -0700 2006",
            ),
            ("01/02 03:04:05PM '06 -0700", "01/02 03:04:05PM '06 -0700"),
            ("Monday January 2", "Monday January 2"),
            ("06 1 2 3 4 5", "06 1 2 3 4 5"),
            (
                "-07 -07:00 -0700 -070000 -07:00:00",
                "-07 -07:00 -0700 -070000 -07:00:00",
            ),
            (
                "Z07 Z07:00 Z0700 Z070000 Z07:00:00",
                "-07 -07:00 -0700 -070000 -07:00:00",
            ),
            ("pm PM", "pm PM"),
            ("002 __2", "002   2"),
            // No abbreviation for a FixedOffset: Go's numeric fallback.
            ("MST", "-0700"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(&t, layout), want, "layout {layout:?}");
        }
    }

    #[test]
    fn go_time_format_example() {
        // From the example for Time.Format in Go's documentation:
        // time.Date(2009, time.November, 10, 23, 0, 0, 0, time.UTC)
        let t = utc(2009, 11, 10, 23, 0, 0, 0);
        let cases = [
            (
                "Mon Jan 2 15:04:05 -0700 MST 2006",
                "Tue Nov 10 23:00:00 +0000 UTC 2009",
            ),
            (
                "Mon Jan 2 15:04:05 MST 2006",
                "Tue Nov 10 23:00:00 UTC 2009",
            ),
            (
                "Jan 2, 2006 at 3:04pm (MST)",
                "Nov 10, 2009 at 11:00pm (UTC)",
            ),
            ("2006-Jan-02", "2009-Nov-10"),
            ("2006-01-02", "2009-11-10"),
            ("Monday", "Tuesday"),
            ("Jan _2", "Nov 10"),
            ("__2", "314"),
            ("002", "314"),
            ("15:04:05.00000", "23:00:00.00000"),
            ("15:04:05.99999", "23:00:00"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(&t, layout), want, "layout {layout:?}");
        }
    }

    #[test]
    fn padding_variants() {
        let t = utc(2010, 2, 4, 3, 7, 8, 0);
        assert_eq!(format(&t, "2"), "4");
        assert_eq!(format(&t, "_2"), " 4");
        assert_eq!(format(&t, "02"), "04");
        assert_eq!(format(&t, "1"), "2");
        assert_eq!(format(&t, "01"), "02");
        assert_eq!(format(&t, "3"), "3");
        assert_eq!(format(&t, "03"), "03");
        assert_eq!(format(&t, "15"), "03");
        assert_eq!(format(&t, "4"), "7");
        assert_eq!(format(&t, "04"), "07");
        assert_eq!(format(&t, "5"), "8");
        assert_eq!(format(&t, "05"), "08");
        assert_eq!(format(&t, "002"), "035");
        assert_eq!(format(&t, "__2"), " 35");
        assert_eq!(format(&t, "06"), "10");
        let jan1 = utc(2010, 1, 1, 0, 0, 0, 0);
        assert_eq!(format(&jan1, "002"), "001");
        assert_eq!(format(&jan1, "__2"), "  1");
        let dec31 = utc(2008, 12, 31, 0, 0, 0, 0);
        assert_eq!(format(&dec31, "002 __2"), "366 366");
        assert_eq!(format(&dec31, "_2"), "31");
    }

    #[test]
    fn twelve_hour_clock() {
        let cases = [
            (0, "12 12 AM am"),
            (1, "1 01 AM am"),
            (11, "11 11 AM am"),
            (12, "12 12 PM pm"),
            (13, "1 01 PM pm"),
            (23, "11 11 PM pm"),
        ];
        for (h, want) in cases {
            let t = utc(2020, 6, 1, h, 0, 0, 0);
            assert_eq!(format(&t, "3 03 PM pm"), want, "hour {h}");
        }
    }

    #[test]
    fn names() {
        // 2024-01-01 is a Monday.
        let days = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        for (i, name) in days.iter().enumerate() {
            let t = utc(2024, 1, 1 + i as u32, 0, 0, 0, 0);
            assert_eq!(format(&t, "Monday Mon"), format!("{name} {}", &name[..3]));
        }
        for (i, name) in LONG_MONTHS.iter().enumerate() {
            let t = utc(2024, 1 + i as u32, 1, 0, 0, 0, 0);
            assert_eq!(format(&t, "January Jan"), format!("{name} {}", &name[..3]));
        }
    }

    #[test]
    fn words_that_are_not_tokens() {
        let t = utc(2009, 2, 4, 21, 0, 57, 0);
        // "Jan"/"Mon" followed by a lower-case letter are text; "Month" is M-o-n-t-h.
        assert_eq!(format(&t, "Janx"), "Janx");
        assert_eq!(format(&t, "Month"), "Month");
        assert_eq!(format(&t, "JanX"), "FebX");
        assert_eq!(format(&t, "MonX"), "WedX");
        assert_eq!(format(&t, "Jan."), "Feb.");
        // Letters that start no token are copied.
        assert_eq!(format(&t, "abc xyz T"), "abc xyz T");
        assert_eq!(format(&t, "P M p Z"), "P M p Z");
        // Digits that start no token: '0' alone, '7'..'9'.
        assert_eq!(format(&t, "0 7 8 9 00"), "0 7 8 9 00");
        // But 1-5 always are tokens, even inside words.
        assert_eq!(format(&t, "v1"), "v2");
        assert_eq!(format(&t, "x3y"), "x9y");
        // "_2006" is a literal underscore and the year; "__" alone is text.
        assert_eq!(format(&t, "_2006"), "_2009");
        assert_eq!(format(&t, "__ _"), "__ _");
        // Non-ASCII text is copied.
        assert_eq!(format(&t, "Año 2006 – día 02"), "Año 2009 – día 04");
        assert_eq!(format(&t, ""), "");
    }

    #[test]
    fn fractional_seconds() {
        let t = utc(2009, 2, 4, 21, 0, 57, 12_345_600);
        assert_eq!(format(&t, "05.0"), "57.0");
        assert_eq!(format(&t, "05.00"), "57.01");
        assert_eq!(format(&t, "05.000"), "57.012");
        assert_eq!(format(&t, "05,000"), "57,012");
        assert_eq!(format(&t, "05.000000000"), "57.012345600");
        assert_eq!(format(&t, "05.9"), "57");
        assert_eq!(format(&t, "05.99"), "57.01");
        assert_eq!(format(&t, "05.999"), "57.012");
        assert_eq!(format(&t, "05,999999999"), "57,0123456");
        // More than nine digits still gives nine.
        assert_eq!(format(&t, "05.000000000000"), "57.012345600");
        // A run followed by another digit is not a fraction: ".0" then "01" (month).
        assert_eq!(format(&t, "05.001"), "57.002");
        // Not tied to a preceding seconds element.
        assert_eq!(format(&t, "x.000"), "x.012");
        // A point followed by other characters is text.
        assert_eq!(format(&t, "a.b,c"), "a.b,c");

        let whole = utc(2009, 2, 4, 21, 0, 57, 0);
        assert_eq!(format(&whole, "05.999"), "57");
        assert_eq!(format(&whole, "05.000"), "57.000");
        let tenth = utc(2009, 2, 4, 21, 0, 57, 100_000_000);
        assert_eq!(format(&tenth, "05.999999"), "57.1");
        let tiny = utc(2009, 2, 4, 21, 0, 57, 1);
        assert_eq!(format(&tiny, "05.999"), "57");
        assert_eq!(format(&tiny, "05.999999999"), "57.000000001");
    }

    #[test]
    fn numeric_zones() {
        let layouts = "-0700|-07:00|-07|-070000|-07:00:00|Z0700|Z07:00|Z07|Z070000|Z07:00:00";
        let east = fixed(5 * 3600 + 30 * 60, 2020, 1, 1, 0, 0);
        assert_eq!(
            format(&east, layouts),
            "+0530|+05:30|+05|+053000|+05:30:00|+0530|+05:30|+05|+053000|+05:30:00"
        );
        let west = fixed(-(3 * 3600 + 30 * 60), 2020, 1, 1, 0, 0);
        assert_eq!(
            format(&west, layouts),
            "-0330|-03:30|-03|-033000|-03:30:00|-0330|-03:30|-03|-033000|-03:30:00"
        );
        let zero = fixed(0, 2020, 1, 1, 0, 0);
        assert_eq!(
            format(&zero, layouts),
            "+0000|+00:00|+00|+000000|+00:00:00|Z|Z|Z|Z|Z"
        );
        let secs = fixed(-(1800 + 15), 2020, 1, 1, 0, 0);
        assert_eq!(format(&secs, "-070000 Z07:00:00"), "-003015 -00:30:15");
        // Go takes the sign from whole minutes: -15s prints as "+0000" and "+0000-15".
        let quirk = fixed(-15, 2020, 1, 1, 0, 0);
        assert_eq!(format(&quirk, "-0700 -070000 Z07"), "+0000 +0000-15 +00");
    }

    #[test]
    fn mst_token() {
        let t = utc(2020, 1, 1, 0, 0, 0, 0);
        assert_eq!(format(&t, "MST"), "UTC");
        let f = fixed(3 * 3600, 2020, 1, 1, 0, 0);
        assert_eq!(format(&f, "MST"), "+0300");
        let f = fixed(-(9 * 3600 + 30 * 60), 2020, 1, 1, 0, 0);
        assert_eq!(format(&f, "MST"), "-0930");
        let local = chrono::Local::now();
        let name = format(&local, "MST");
        assert_eq!(name, format(&local, "-0700"));
    }

    #[test]
    fn years() {
        let t = utc(5, 3, 4, 0, 0, 0, 0);
        assert_eq!(format(&t, "2006 06"), "0005 05");
        let t = utc(12345, 1, 1, 0, 0, 0, 0);
        assert_eq!(format(&t, "2006 06"), "12345 45");
        // Astronomical year numbering: 0 is 1 BC, -1 is 2 BC.
        let t = utc(0, 1, 1, 0, 0, 0, 0);
        assert_eq!(format(&t, "2006 06"), "0000 00");
        let t = utc(-1, 1, 1, 0, 0, 0, 0);
        assert_eq!(format(&t, "2006 06"), "-0001 01");
        let t = utc(-12345, 1, 1, 0, 0, 0, 0);
        assert_eq!(format(&t, "2006"), "-12345");
    }

    #[test]
    fn push_int_matches_go_append_int() {
        let cases: [(i64, usize, &str); 7] = [
            (0, 0, "0"),
            (7, 2, "07"),
            (123, 2, "123"),
            (-5, 4, "-0005"),
            (12, 9, "000000012"),
            (-30, 2, "-30"),
            (i64::MIN, 0, "-9223372036854775808"),
        ];
        for (x, w, want) in cases {
            let mut s = String::new();
            push_int(&mut s, x, w);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn special_formats() {
        let t = utc(2006, 1, 2, 22, 4, 5, 123_456_789);
        assert_eq!(format_special(&t, "unix"), "1136239445");
        assert_eq!(format_special(&t, "unixNano"), "1136239445123456789");
        assert_eq!(format_special(&t, "20060102150405"), "20060102220405");
        assert_eq!(format_special(&t, "Unix"), "Unix");
        assert_eq!(format_special(&t, ""), "");
        let epoch = utc(1970, 1, 1, 0, 0, 0, 0);
        assert_eq!(format_special(&epoch, "unix"), "0");
        assert_eq!(format_special(&epoch, "unixNano"), "0");
        let before = utc(1969, 12, 31, 23, 59, 59, 500_000_000);
        assert_eq!(format_special(&before, "unix"), "-1");
        assert_eq!(format_special(&before, "unixNano"), "-500000000");
        // The zone does not change the instant.
        let f = reference();
        assert_eq!(format_special(&f, "unix"), "1136239445");
        // Outside int64 nanoseconds, Go's multiplication wraps.
        let far = utc(3000, 1, 1, 0, 0, 0, 0);
        let secs = far.timestamp();
        assert_eq!(
            format_special(&far, "unixNano"),
            secs.wrapping_mul(1_000_000_000).to_string()
        );
    }

    #[test]
    fn leap_second_is_clamped() {
        let t = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .expect("leap second")
            .and_utc();
        assert_eq!(format(&t, "15:04:05.000"), "23:59:59.500");
    }
}
