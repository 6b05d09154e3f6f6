//! Values the CLI prints the way Go's `%q` (or the `time` package) does: non-ASCII and
//! non-printable characters are spelled as Go spells them (`\u00a0`, `\x00`), never as
//! Rust's `{:?}` (`\u{a0}`), and Go's own error texts (`strconv`, `time`) come out whole.

use crate::common::{self, Server};
use crate::harness::Env;
use insta::assert_snapshot;
use migrate::gocompat::quote::quote;

/// Characters whose `%q` spelling differs between Go and Rust's `{:?}`, or that Go copies as
/// they are: controls, non-printable spaces and format characters, printable non-ASCII
/// letters and symbols in and beyond the Basic Multilingual Plane.
const CHARS: &[char] = &[
    '\u{1}',
    '\u{7}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    '\u{e9}',
    '\u{b5}',
    '\u{200b}',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '\u{1f600}',
    '\u{e0001}',
    '\u{10ffff}',
];

/// The one stderr line of a run that fails before opening anything.
fn only_stderr(t: &crate::harness::Transcript) -> &str {
    assert_eq!(t.stdout, "", "{t}");
    t.stderr.trim_end_matches('\n')
}

#[test]
fn unknown_format_value() {
    let e = Env::with("basic");
    let t = e.migrate(&["status", "-format", "json\u{a0}"]);
    assert_snapshot!(t.to_string());
}

#[test]
fn unknown_format_values_are_quoted_as_go_does() {
    let e = Env::with("basic");
    for &c in CHARS {
        let value = format!("j{c}son");
        let t = e.migrate(&["status", "-format", &value]);
        assert_eq!(t.code, 1, "{t}");
        assert_eq!(
            only_stderr(&t),
            format!("error: unknown -format {}: use text or json", quote(&value)),
            "U+{:04X}",
            u32::from(c)
        );
        assert!(!t.stderr.contains("\\u{"), "Rust spelling: {t}");
    }
}

#[test]
fn bad_integrity_check_value() {
    let e = Env::with("basic");
    let t = e.migrate(&["-integrity-check", "f\u{fc}ll\u{200b}", "up"]);
    assert_snapshot!(t.to_string());
    assert!(!e.db().exists(), "nothing is opened");
}

#[test]
fn bad_integrity_check_values_are_quoted_as_go_does() {
    let e = Env::with("basic");
    for &c in CHARS {
        let value = format!("{c}full");
        let t = e.migrate(&["-integrity-check", &value, "up"]);
        assert_eq!(t.code, 2, "{t}");
        let first = t.stderr.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!(
                "invalid value {} for flag -integrity-check: want quick or full",
                quote(&value)
            ),
            "U+{:04X}",
            u32::from(c)
        );
        assert!(!t.stderr.contains("\\u{"), "Rust spelling: {t}");
    }
}

#[test]
fn bad_backup_max_size_values_are_quoted_as_go_does() {
    let e = Env::with("basic");
    for &c in CHARS {
        let value = format!("2{c}0GB");
        let t = e.migrate(&["-backup-max-size", &value, "up"]);
        assert_eq!(t.code, 2, "{t}");
        let first = t.stderr.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!(
                "invalid value {} for flag -backup-max-size: want a size in bytes, with an optional unit (kB, MB, GB, TB, KiB, MiB, GiB, TiB)",
                quote(&value)
            ),
            "U+{:04X}",
            u32::from(c)
        );
        assert!(!e.db().exists(), "nothing is opened");
    }
}

#[test]
fn create_with_non_ascii_name_and_directory() {
    let e = Env::new();
    let dir = e.path("d\u{a0}ir");
    let dir = dir.display().to_string();
    let t = e.run(&[
        "create",
        "-ext",
        "sql",
        "-dir",
        &dir,
        "-seq",
        "caf\u{e9}\u{a0}x",
    ]);
    assert_snapshot!(t.to_string());
    assert!(e.path("d\u{a0}ir/000001_caf\u{e9}\u{a0}x.up.sql").exists());
}

#[test]
fn create_seq_after_a_non_ascii_file_name() {
    // golang-migrate's nextSeqVersion parses the last file's prefix with strconv.ParseUint.
    let e = Env::new();
    e.write("m/\u{a0}1_x.up.sql", "");
    let t = e.run(&["create", "-ext", "sql", "-dir", "m", "-seq", "next"]);
    assert_snapshot!(t.to_string());
}

#[test]
fn create_seq_after_an_out_of_range_prefix() {
    let e = Env::new();
    e.write("m/18446744073709551616_x.up.sql", "");
    let t = e.run(&[
        "create", "-ext", "sql", "-dir", "m", "-seq", "-digits", "30", "next",
    ]);
    assert_snapshot!(t.to_string());
}

#[test]
fn sqlite_parameter_with_non_ascii_value() {
    let e = Env::with("basic");
    let url = format!("{}?_busy_timeout=\u{a0}5", e.url());
    let t = e.run(&["-path", "m", "-database", &url, "up"]);
    assert_snapshot!(t.to_string());
    assert!(!e.db().exists());
}

#[test]
fn url_escape_cut_inside_a_utf8_sequence() {
    // Go quotes the three bytes after `%`, and the last one starts a two-byte sequence.
    let e = Env::with("basic");
    let url = format!("{}?_busy_timeout=%1\u{e9}", e.url());
    let t = e.run(&["-path", "m", "-database", &url, "up"]);
    assert_snapshot!(t.to_string());
}

#[test]
fn postgres_sslmode_with_non_ascii_value() {
    let e = Env::with("basic");
    let url = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=pr\u{e9}f\u{a0}";
    let t = e.run(&["-path", "m", "-database", url, "version"]);
    assert_snapshot!(t.to_string());
}

#[test]
fn mysql_timeouts_are_go_durations() {
    // The DSN is read before any connection is made: Go's time.ParseDuration errors.
    let e = Env::with("basic");
    let mut out = String::new();
    for value in ["5\u{a0}s", "1.5d", "1s2", ".s", "\u{b5}s"] {
        let url = format!("mysql://root@tcp(127.0.0.1:1)/x?readTimeout={value}");
        let t = e.run(&["-path", "m", "-database", &url, "version"]);
        out.push_str(&format!("readTimeout={value}\n{t}\n"));
    }
    assert_snapshot!(out);
}

#[test]
fn mysql_timeouts_with_fractions_zero_and_negative_connect() {
    let Some(db) = common::fresh(Server::Mysql) else {
        return;
    };
    let e = Env::with("basic");
    let url = db.url_with("timeout=1.5s&readTimeout=1h2m3.5s&writeTimeout=0");
    let t = e.run(&["-path", "m", "-database", &url, "up"]);
    assert_eq!(t.code, 0, "{t}");
    let url = db.url_with("readTimeout=-1s&writeTimeout=0.000000001h");
    let t = e.run(&["-path", "m", "-database", &url, "version"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stderr, "3\n", "{t}");
}

#[test]
fn duplicate_non_ascii_file_in_a_non_ascii_directory() {
    // golang-migrate: `failed to open source, %q: duplicate migration file: <name>`, the
    // URL quoted (U+00A0 as `\u00a0`, `é` kept), the file name as it is.
    let e = Env::new();
    e.write("d\u{a0}\u{e9}/01_caf\u{e9}\u{a0}x.up.sql", "SELECT 1;");
    e.write("d\u{a0}\u{e9}/1_caf\u{e9}\u{a0}x.up.sql", "SELECT 1;");
    let dir = e.path("d\u{a0}\u{e9}").display().to_string();
    let t = e.run(&["-path", &dir, "-database", &e.url(), "up"]);
    assert_snapshot!(t.to_string());
    assert!(!e.db().exists(), "the database is not opened");
}

#[test]
fn missing_non_ascii_directory() {
    let e = Env::new();
    let dir = e.path("m\u{a0}\u{e9}").display().to_string();
    let t = e.run(&["-path", &dir, "-database", &e.url(), "up"]);
    assert_snapshot!(t.to_string());
}

/// A connection that cannot be made reads as Go's dial error, as golang-migrate (go-sql-driver,
/// lib/pq) prints it; no server needed: nothing listens on port 1 or at the socket paths.
#[test]
fn refused_connections_read_as_go_dial_errors() {
    let e = Env::with("basic");
    let mut out = String::new();
    for url in [
        "mysql://root@tcp(127.0.0.1:1)/x",
        "mysql://root@unix(/nonexistent/mysqld.sock)/x",
        "postgres://u@127.0.0.1:1/x?sslmode=disable",
        "postgres://u@127.0.0.1:1/x",
        "postgres://u@/x?host=/nonexistent&port=1&sslmode=disable",
    ] {
        let t = e.run(&["-path", "m", "-database", url, "version"]);
        out.push_str(&format!("{url}\n{t}\n"));
    }
    assert_snapshot!(out);
}
