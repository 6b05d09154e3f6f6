//! Go's `time.LoadLocation`, as golang-migrate's `create -tz` calls it: zones come from the
//! system's tz database at run time, not from a copy compiled into the binary.
//!
//! * `""` and `UTC` are UTC; `Local` is the process's zone (Go's rules: `$TZ` unset reads
//!   `/etc/localtime`, `$TZ` empty is UTC, otherwise `$TZ` (a leading `:` dropped) names a
//!   zone or, when absolute, a file; a zone that cannot be loaded is UTC).
//! * A name containing `..` or starting with `/` or `\` is `time: invalid location name`.
//! * Any other name is looked up as a TZif file in `$ZONEINFO` (a directory; Go also takes a
//!   zip file there, which is not supported), then `/usr/share/zoneinfo/`,
//!   `/usr/share/lib/zoneinfo/`, `/usr/lib/locale/TZ/` and `/etc/zoneinfo/`, Go's list;
//!   not found is `unknown time zone NAME`.
//!
//! The result carries the zone's abbreviation at that instant (`CET`, `EDT`, `+04`), which
//! the layout's `MST` token prints.
//!
//! Reading the database at run time also keeps the binary small: a compiled-in copy would
//! be relocated and paged in on every command, not only by `create -tz`.

use std::fmt;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

/// An instant's offset in a named zone: the UTC offset and the zone's abbreviation.
/// Displays as the abbreviation (what the layout's `MST` token prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneOffset {
    fix: FixedOffset,
    name: String,
}

impl ZoneOffset {
    /// The offset `seconds_east` of UTC, named `name` (`None` for an offset of a day or more).
    pub fn new(seconds_east: i32, name: &str) -> Option<ZoneOffset> {
        Some(ZoneOffset {
            fix: FixedOffset::east_opt(seconds_east)?,
            name: name.to_string(),
        })
    }
    /// UTC, named `UTC`.
    pub fn utc() -> ZoneOffset {
        ZoneOffset {
            fix: Utc.fix(),
            name: "UTC".into(),
        }
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fix
    }
}

/// A zone fixed at one offset (the offset of the instant it was made for).
impl TimeZone for ZoneOffset {
    type Offset = ZoneOffset;
    fn from_offset(offset: &ZoneOffset) -> ZoneOffset {
        offset.clone()
    }
    fn offset_from_local_date(&self, _: &NaiveDate) -> LocalResult<ZoneOffset> {
        LocalResult::Single(self.clone())
    }
    fn offset_from_local_datetime(&self, _: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        LocalResult::Single(self.clone())
    }
    fn offset_from_utc_date(&self, _: &NaiveDate) -> ZoneOffset {
        self.clone()
    }
    fn offset_from_utc_datetime(&self, _: &NaiveDateTime) -> ZoneOffset {
        self.clone()
    }
}

/// Go's zone sources after `$ZONEINFO`, in order.
const SOURCES: [&str; 4] = [
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo/",
];

/// `t` in the zone `name`, as Go's `t.In(time.LoadLocation(name))`; the error text is Go's.
pub fn at(t: &DateTime<Utc>, name: &str) -> Result<DateTime<ZoneOffset>, String> {
    let offset = match name {
        "" | "UTC" => ZoneOffset::utc(),
        "Local" => local(t.timestamp()),
        _ => {
            if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
                return Err("time: invalid location name".into());
            }
            let data = load(name).ok_or_else(|| format!("unknown time zone {name}"))?;
            offset_in(&data, t.timestamp()).ok_or_else(|| format!("unknown time zone {name}"))?
        }
    };
    Ok(offset.from_utc_datetime(&t.naive_utc()))
}

/// The TZif bytes of a zone name from `$ZONEINFO` or Go's directories.
fn load(name: &str) -> Option<Vec<u8>> {
    let env = std::env::var("ZONEINFO").ok().filter(|d| !d.is_empty());
    env.iter()
        .map(|d| format!("{}/", d.trim_end_matches('/')))
        .chain(SOURCES.iter().map(|s| s.to_string()))
        .find_map(|dir| std::fs::read(format!("{dir}{name}")).ok())
}

/// The offset and abbreviation a TZif file gives an instant (its POSIX rule beyond the
/// last transition).
fn offset_in(tzif: &[u8], unix: i64) -> Option<ZoneOffset> {
    let zone = tz::TimeZone::from_tz_data(tzif).ok()?;
    let t = zone.find_local_time_type(unix).ok()?;
    ZoneOffset::new(t.ut_offset(), t.time_zone_designation())
}

/// Go's `Local`: from `$TZ`, else `/etc/localtime`; UTC when that fails.
fn local(unix: i64) -> ZoneOffset {
    let data = match std::env::var("TZ") {
        Err(_) => std::fs::read("/etc/localtime").ok(),
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz);
            if tz.is_empty() || tz == "UTC" {
                None
            } else if tz.starts_with('/') {
                std::fs::read(tz).ok()
            } else if tz.contains("..") {
                None
            } else {
                load(tz)
            }
        }
    };
    data.and_then(|d| offset_in(&d, unix))
        .unwrap_or_else(ZoneOffset::utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gocompat::layout::format;

    fn instant(s: &str) -> DateTime<Utc> {
        s.parse().expect("RFC 3339")
    }

    /// Needs the system's tz database (Debian's `tzdata`), as Go does.
    #[test]
    fn zones_from_the_system_database() {
        if load("America/New_York").is_none() {
            let msg = "\n*** SKIPPED zones_from_the_system_database: no tz database here (install tzdata) ***\n";
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            return;
        }
        let winter = instant("2024-01-15T17:00:00Z");
        let summer = instant("2024-07-15T16:00:00Z");
        let fmt = |t: &DateTime<Utc>, z: &str, l: &str| format(&at(t, z).expect(z), l);
        assert_eq!(
            fmt(&winter, "America/New_York", "2006-01-02 15:04 MST -0700"),
            "2024-01-15 12:00 EST -0500"
        );
        assert_eq!(fmt(&summer, "America/New_York", "MST Z07:00"), "EDT -04:00");
        assert_eq!(fmt(&winter, "Europe/Berlin", "MST"), "CET");
        assert_eq!(fmt(&summer, "Europe/Berlin", "MST"), "CEST");
        assert_eq!(fmt(&winter, "UTC", "MST Z0700 -0700"), "UTC Z +0000");
        assert_eq!(fmt(&winter, "", "MST"), "UTC");
        // Numeric abbreviations are printed as the database has them, as Go does.
        assert_eq!(fmt(&winter, "Asia/Dubai", "MST"), "+04");
        assert_eq!(fmt(&winter, "Asia/Kathmandu", "MST"), "+0545");
        assert_eq!(fmt(&winter, "America/Sao_Paulo", "MST"), "-03");
        let kolkata = instant("2024-01-15T06:30:00Z");
        assert_eq!(fmt(&kolkata, "Asia/Kolkata", "MST -07:00"), "IST +05:30");
        // The wall clock is the zone's.
        assert_eq!(
            fmt(&kolkata, "Asia/Kolkata", "20060102150405"),
            "20240115120000"
        );
        // Far beyond the file's last transition: the POSIX rule in its footer.
        let future = instant("2090-07-01T12:00:00Z");
        assert_eq!(fmt(&future, "Europe/Berlin", "15 MST"), "14 CEST");
    }

    #[test]
    fn bad_names_are_go_errors() {
        let t = instant("2024-01-15T17:00:00Z");
        for (name, go) in [
            ("Mars/Olympus", "unknown time zone Mars/Olympus"),
            ("../etc/passwd", "time: invalid location name"),
            ("/etc/localtime", "time: invalid location name"),
            // A POSIX TZ string is not a location name for Go.
            ("ABC3", "unknown time zone ABC3"),
        ] {
            assert_eq!(at(&t, name).expect_err(name), go);
        }
    }

    #[test]
    fn not_tzif_is_unknown() {
        assert_eq!(offset_in(b"not a zone file", 0), None);
    }
}
