//! URLs read exactly as golang-migrate reads them: one table, each row a URL and what
//! golang-migrate v4 makes of it (from its source, Go's `net/url` and the drivers' DSN
//! parsers), checked against migrate's reading, and for the rows where the file system
//! shows it, against the real binary. docs/drivers.md ("How URLs are read") states the
//! rules.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use migrate::driver::sqlite::{Config, Target};
use migrate::url::DatabaseUrl;

/// What golang-migrate opens for a SQLite URL.
enum Sqlite {
    /// A file of this name (relative to the working directory).
    File(&'static str),
    Memory,
    /// An error whose text ends with this.
    Error(&'static str),
}

fn sqlite_target(url: &str) -> Result<Target, String> {
    let u = DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    Config::parse(&u)
        .map(|c| c.target)
        .map_err(|e| e.to_string())
}

/// The SQLite file name golang-migrate's mattn driver opens: Go's `url.Parse` +
/// `URL.String()` (which re-encodes the path), `sqlite3://` cut off, the query cut off.
#[test]
fn urls_sqlite_paths_as_golang_migrate() {
    use Sqlite::*;
    let table = [
        ("sqlite3://x.db", File("x.db")),
        ("sqlite3://a/b.db", File("a/b.db")),
        ("sqlite3:///srv/app.db", File("/srv/app.db")),
        ("sqlite3://./x.db?_foreign_keys=1", File("./x.db")),
        // percent-escapes stay escaped: the path is re-encoded, not decoded
        ("sqlite3://./app%20v2.db", File("./app%20v2.db")),
        ("sqlite3://./x%2Fy.db", File("./x%2Fy.db")),
        ("sqlite3://./a(1).db", File("./a(1).db")),
        // a character a path may not hold raw: the decoded path is escaped whole
        ("sqlite3:///srv/a b.db", File("/srv/a%20b.db")),
        ("sqlite3://./a(1) b.db", File("./a%281%29%20b.db")),
        ("sqlite3://./café.db", File("./caf%C3%A9.db")),
        ("sqlite3://./a%20b c.db", File("./a%20b%20c.db")),
        // the host part: escapes only for `%` and non-ASCII bytes, re-escaped
        ("sqlite3://caf%C3%A9.db", File("caf%C3%A9.db")),
        ("sqlite3://café.db", File("caf%C3%A9.db")),
        ("sqlite3://a%25b.db", File("a%25b.db")),
        (
            "sqlite3://app%20v2.db",
            Error("parse \"sqlite3://app%20v2.db\": invalid URL escape \"%20\""),
        ),
        // a fragment stays in the file name (URL.String() writes it back)
        ("sqlite3://x.db#frag", File("x.db#frag")),
        // empty and odd hosts
        ("sqlite3://", File("")),
        ("sqlite3://:memory:", Memory),
        ("sqlite://x.db", File("x.db")),
    ];
    for (url, want) in table {
        let got = sqlite_target(url);
        match (want, got) {
            (File(f), Ok(Target::File(p))) => assert_eq!(p, PathBuf::from(f), "{url}"),
            (Memory, Ok(Target::Memory)) => {}
            (Error(e), Err(got)) => assert!(got.ends_with(e), "{url}: {got}"),
            (_, got) => panic!("{url}: {got:?}"),
        }
    }
}

/// A repeated query parameter: golang-migrate reads the first value (`url.Values.Get`, lib/pq,
/// mattn), except go-sql-driver's DSN parser, which keeps the last: MySQL's own parameters
/// and the `x-` options golang-migrate reads from its result (`x-tls-*` are read with `Get`).
#[test]
fn urls_repeated_parameters_as_golang_migrate() {
    // (url, key, the value golang-migrate uses)
    let table = [
        (
            "sqlite3://x.db?x-migrations-table=a&x-migrations-table=b",
            "x-migrations-table",
            "a",
        ),
        (
            "sqlite3://x.db?_busy_timeout=1&_busy_timeout=2",
            "_busy_timeout",
            "1",
        ),
        (
            "postgres://h/db?x-migrations-table=a&x-migrations-table=b",
            "x-migrations-table",
            "a",
        ),
        (
            "pgx5://h/db?x-statement-timeout=1&x-statement-timeout=2",
            "x-statement-timeout",
            "1",
        ),
        (
            "postgres://h/db?sslmode=disable&sslmode=require",
            "sslmode",
            "disable",
        ),
        (
            "mysql://u@tcp(h)/db?x-migrations-table=a&x-migrations-table=b",
            "x-migrations-table",
            "b",
        ),
        (
            "mysql://u@tcp(h)/db?x-no-lock=false&x-no-lock=true",
            "x-no-lock",
            "true",
        ),
        (
            "mysql://u@tcp(h)/db?x-tls-ca=/a.pem&x-tls-ca=/b.pem",
            "x-tls-ca",
            "/a.pem",
        ),
        (
            "mysql://u@tcp(h)/db?charset=latin1&charset=utf8mb4",
            "charset",
            "utf8mb4",
        ),
    ];
    for (url, key, want) in table {
        let u = DatabaseUrl::parse(url).expect(url);
        let got = if key.starts_with("x-") {
            u.x_param(key)
        } else {
            u.param(key)
        };
        assert_eq!(got, Some(want), "{url}");
        // each name once among the driver's parameters
        let n = u.params().iter().filter(|(k, _)| k == key).count();
        assert!(n <= 1, "{url}: {:?}", u.params());
    }
}

fn migrate_in(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run migrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("m");
    std::fs::create_dir_all(&m).expect("mkdir");
    std::fs::write(m.join("1_a.up.sql"), "CREATE TABLE t (a INT);").expect("write");
    std::fs::write(m.join("1_a.down.sql"), "DROP TABLE t;").expect("write");
    dir
}

/// The binary: the file it creates, the table it writes to, the source it reads.
#[test]
fn urls_binary_reads_as_golang_migrate() {
    // A percent-escape in the path: the file literally named with it.
    let dir = setup();
    let (code, err) = migrate_in(
        dir.path(),
        &["-path", "m", "-database", "sqlite3://./app%20v2.db", "up"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("app%20v2.db").exists());
    assert!(!dir.path().join("app v2.db").exists());

    // A repeated x-migrations-table: the first.
    let (code, err) = migrate_in(
        dir.path(),
        &[
            "-path",
            "m",
            "-database",
            "sqlite3://r.db?x-migrations-table=first&x-migrations-table=second",
            "up",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let conn = rusqlite_tables(&dir.path().join("r.db"));
    assert!(conn.contains(&"first".to_string()), "{conn:?}");
    assert!(!conn.contains(&"second".to_string()), "{conn:?}");

    // A fragment on the source URL is not part of the directory.
    let (code, err) = migrate_in(
        dir.path(),
        &[
            "-source",
            "file://m#frag",
            "-database",
            "sqlite3://f.db",
            "up",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // A query neither.
    let (code, err) = migrate_in(
        dir.path(),
        &[
            "-source",
            "file://m?x=1",
            "-database",
            "sqlite3://q.db",
            "up",
        ],
    );
    assert_eq!(code, 0, "{err}");

    // Upper-case schemes name no driver (golang-migrate compares them as written).
    let (code, err) = migrate_in(
        dir.path(),
        &["-path", "m", "-database", "SQLITE3://u.db", "up"],
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("error: failed to open database: database driver: unknown driver SQLITE3 (forgotten import?)"), "{err}");
    assert!(!dir.path().join("u.db").exists());
    let (code, err) = migrate_in(
        dir.path(),
        &["-source", "FILE://m", "-database", "sqlite3://u.db", "up"],
    );
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "error: failed to open source, \"FILE://m\": source driver: unknown driver"
        ),
        "{err}"
    );

    // A bad escape in the host is Go's parse error.
    let (code, err) = migrate_in(
        dir.path(),
        &["-path", "m", "-database", "sqlite3://app%20v2.db", "up"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: failed to open database: parse \"sqlite3://app%20v2.db\": invalid URL escape \"%20\"\n"
    );
}

/// The table names of a SQLite file, read with the library's own driver.
fn rusqlite_tables(db: &std::path::Path) -> Vec<String> {
    let url = format!("sqlite3://{}", db.display());
    let mut d = migrate::driver::open(&DatabaseUrl::parse(&url).expect("url")).expect("open");
    d.query("SELECT name FROM sqlite_master WHERE type = 'table'", &[])
        .expect("query")
        .into_iter()
        .filter_map(|r| match r.into_iter().next() {
            Some(migrate::driver::Value::Text(s)) => Some(s),
            _ => None,
        })
        .collect()
}
