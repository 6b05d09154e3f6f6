//! `create`: golang-migrate's new-file command (timestamped or sequential names).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use migrate::gocompat::flag::{Def, Kind, Parsed};
use migrate::gocompat::quote::quote;
use migrate::gocompat::{layout, strconv, zone};

use super::{fatal, Code, Ctx};

const DEFAULT_FORMAT: &str = "20060102150405";

/// golang-migrate's flags of `create`.
pub fn flag_defs() -> Vec<Def> {
    vec![
        Def { name: "ext", kind: Kind::String, default: "", usage: "File extension" },
        Def {
            name: "dir",
            kind: Kind::String,
            default: "",
            usage: "Directory to place file in (default: current working directory)",
        },
        Def {
            name: "format",
            kind: Kind::String,
            default: DEFAULT_FORMAT,
            usage: "The Go time format string to use. If the string \"unix\" or \"unixNano\" is specified, then the seconds or nanoseconds since January 1, 1970 UTC respectively will be used. Caution, due to the behavior of time.Time.Format(), invalid format strings will not error",
        },
        Def {
            name: "tz",
            kind: Kind::String,
            default: "UTC",
            usage: "The timezone that will be used for generating timestamps (default: utc)",
        },
        Def {
            name: "seq",
            kind: Kind::Bool,
            default: "false",
            usage: "Use sequential numbers instead of timestamps (default: false)",
        },
        Def {
            name: "digits",
            kind: Kind::Int,
            default: "6",
            usage: "The number of digits to use in sequences (default: 6)",
        },
    ]
}

/// `create`: writes an empty up and down file and prints their absolute paths.
pub fn run(ctx: &mut Ctx, p: &Parsed) -> Code {
    let log = ctx.log;
    let Some(name) = p.args().first() else {
        return fatal(&log, "error: please specify name");
    };
    let ext = p.string("ext");
    if ext.is_empty() {
        return fatal(&log, "error: -ext flag must be specified");
    }
    // A newline makes golang-migrate (and `up`) ignore the file; other control characters
    // make names no one can type or read back. golang-migrate writes them; migrate refuses.
    for (what, v) in [("name", name.as_str()), ("-ext", ext.as_str())] {
        if let Some(c) = v.chars().find(|c| c.is_control()) {
            return fatal(
                &log,
                &format!(
                    "error: the {what} contains the control character {}: a migration file name cannot hold one (`up` would ignore the file)",
                    quote_control(c)
                ),
            );
        }
    }
    let tz = p.string("tz");
    let now = Utc::now();
    // The zone is checked first, in both modes, as golang-migrate does.
    let stamp = match zoned(&now, &tz, &p.string("format")) {
        Ok(v) => v,
        Err(m) => return fatal(&log, &m),
    };
    let version = (!p.bool("seq")).then_some(stamp);
    match create(
        Path::new(&p.string("dir")),
        version,
        &p.string("format"),
        name,
        &ext,
        p.int("digits"),
    ) {
        Ok(paths) => {
            for path in paths {
                log.println(&path.display().to_string());
            }
            Code::Ok
        }
        Err(m) => fatal(&log, &format!("error: {m}")),
    }
}

/// A control character as Go's `%q` prints a rune (`'\n'`, `'\x01'`, `'\u0085'`). A control
/// character is never `'`, `"` or `\`, so the string quoting's escapes are the rune's.
fn quote_control(c: char) -> String {
    let q = quote(&c.to_string());
    format!("'{}'", &q[1..q.len() - 1])
}

/// The time in `-tz`, rendered with `-format` (`unix`, `unixNano` or a Go layout).
/// A bad zone is Go's `unknown time zone Z`, printed without `error:`.
fn zoned(now: &DateTime<Utc>, tz: &str, format: &str) -> Result<String, String> {
    let t = zone::at(now, tz)?;
    Ok(layout::format_special(&t, format))
}

/// golang-migrate's `createCmd`. `version` is `None` in `-seq` mode.
fn create(
    dir: &Path,
    version: Option<String>,
    format: &str,
    name: &str,
    ext: &str,
    digits: i64,
) -> Result<Vec<PathBuf>, String> {
    if version.is_none() && format != DEFAULT_FORMAT {
        return Err("The seq and format options are mutually exclusive".into());
    }
    if version.is_some() && format.is_empty() {
        return Err("Time format may not be empty".into());
    }
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.to_path_buf()
    };
    let ext = format!(".{}", ext.trim_start_matches('.'));
    let version = match version {
        Some(v) => v,
        None => next_seq(&glob_suffix(&dir, "", &ext), digits)?,
    };
    if !glob_suffix(&dir, &format!("{version}_"), &ext).is_empty() {
        return Err(format!("duplicate migration version: {version}"));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {}", dir.display(), go_io(&e)))?;
    let mut out = Vec::new();
    for direction in ["up", "down"] {
        let file = dir.join(format!("{version}_{name}.{direction}{ext}"));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
            .map_err(|e| format!("open {}: {}", file.display(), go_io(&e)))?;
        out.push(std::path::absolute(&file).unwrap_or(file));
    }
    Ok(out)
}

/// Go's texts for the I/O errors users meet here.
fn go_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AlreadyExists => "file exists".into(),
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `filepath.Glob(dir/<prefix>*<ext>)`, sorted by name.
fn glob_suffix(dir: &Path, prefix: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            (n.starts_with(prefix) && n.ends_with(ext) && n.len() >= prefix.len() + ext.len())
                .then(|| e.path())
        })
        .collect();
    v.sort();
    v
}

/// golang-migrate's `nextSeqVersion`: the last match (in name order) plus one.
fn next_seq(matches: &[PathBuf], digits: i64) -> Result<String, String> {
    if digits <= 0 {
        return Err("Digits must be positive".into());
    }
    let next = match matches.last() {
        None => 1u64,
        Some(last) => {
            let base = last
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            let idx = base.find('_').unwrap_or(0);
            if idx < 1 {
                return Err(format!("Malformed migration filename: {}", last.display()));
            }
            let num = &base[..idx];
            strconv::parse_uint(num, 10)
                .map_err(|e| e.to_string())?
                .wrapping_add(1)
        }
    };
    let width = usize::try_from(digits).unwrap_or(usize::MAX).min(1 << 16);
    let v = format!("{next:0width$}");
    if v.len() as i64 > digits {
        return Err(format!(
            "Next sequence number {v} too large. At most {digits} digits are allowed"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn seq_rules() {
        assert_eq!(next_seq(&[], 6).as_deref(), Ok("000001"));
        assert_eq!(
            next_seq(&[PathBuf::from("m/000009_x.up.sql")], 6).as_deref(),
            Ok("000010")
        );
        assert_eq!(
            next_seq(&[PathBuf::from("m/99_x.up.sql")], 2),
            Err("Next sequence number 100 too large. At most 2 digits are allowed".to_string())
        );
        assert_eq!(
            next_seq(&[PathBuf::from("m/_x.up.sql")], 2),
            Err("Malformed migration filename: m/_x.up.sql".to_string())
        );
        assert_eq!(
            next_seq(&[PathBuf::from("m/ab_x.up.sql")], 2),
            Err("strconv.ParseUint: parsing \"ab\": invalid syntax".to_string())
        );
        assert_eq!(
            next_seq(&[PathBuf::from("m/18446744073709551616_x.up.sql")], 30),
            Err(
                "strconv.ParseUint: parsing \"18446744073709551616\": value out of range"
                    .to_string()
            )
        );
        assert_eq!(
            next_seq(&[PathBuf::from("m/\u{e9}_x.up.sql")], 2),
            Err("strconv.ParseUint: parsing \"\u{e9}\": invalid syntax".to_string())
        );
        assert_eq!(
            next_seq(&[PathBuf::from("m/\u{a0}1_x.up.sql")], 2),
            Err("strconv.ParseUint: parsing \"\\u00a01\": invalid syntax".to_string())
        );
        assert_eq!(next_seq(&[], 0), Err("Digits must be positive".to_string()));
    }

    #[test]
    fn control_characters_are_quoted_as_go_quotes_a_rune() {
        assert_eq!(quote_control('\n'), "'\\n'");
        assert_eq!(quote_control('\u{1}'), "'\\x01'");
        assert_eq!(quote_control('\u{7f}'), "'\\x7f'");
        assert_eq!(quote_control('\u{85}'), "'\\u0085'");
    }

    #[test]
    fn timestamps() {
        let t = Utc
            .with_ymd_and_hms(2024, 5, 6, 14, 3, 9)
            .single()
            .expect("time");
        assert_eq!(
            zoned(&t, "UTC", DEFAULT_FORMAT).ok(),
            Some("20240506140309".into())
        );
        assert_eq!(zoned(&t, "UTC", "unix").ok(), Some("1715004189".into()));
        assert_eq!(
            zoned(&t, "Asia/Tokyo", DEFAULT_FORMAT).ok(),
            Some("20240506230309".into())
        );
        assert_eq!(
            zoned(&t, "Mars/Base", DEFAULT_FORMAT),
            Err("unknown time zone Mars/Base".into())
        );
    }
}
