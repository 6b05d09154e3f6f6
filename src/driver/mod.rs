//! The database driver trait, the lock scope, and driver selection by URL scheme.
//! Adding a driver: implement `Driver`, pass `tests/conformance.rs`, add a feature and a
//! README row.

pub mod lockfile;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod lockkey;
pub mod lockwait;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod names;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod roots;
pub mod split;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::time::Duration;

use crate::error::{Error, Result};
use crate::url::DatabaseUrl;
use crate::version::DbVersion;

/// A server's limit on identifier length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentLimit {
    /// At most this many bytes of UTF-8 (PostgreSQL: 63).
    Bytes(usize),
    /// At most this many characters (MySQL: 64).
    Chars(usize),
}

impl IdentLimit {
    /// Whether `name` is within the limit.
    pub fn fits(self, name: &str) -> bool {
        match self {
            IdentLimit::Bytes(n) => name.len() <= n,
            IdentLimit::Chars(n) => name.chars().count() <= n,
        }
    }
}

/// A bound SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text (SQLite's other storage classes are read as text).
    Text(String),
}

impl Value {
    /// The value as an integer: an integer, or text that parses as one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(s) => s.parse().ok(),
            Value::Null => None,
        }
    }
    /// The value as text, when it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an owned string: text, or an integer written in decimal.
    pub fn into_string(self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s),
            Value::Int(i) => Some(i.to_string()),
            Value::Null => None,
        }
    }
}

/// One result row, its values in column order.
pub type Row = Vec<Value>;

/// The SQL dialect, for the few statements the library writes itself (side tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (`?N` placeholders, `main.` qualified names).
    Sqlite,
    /// PostgreSQL (`$N` placeholders, schema-qualified names).
    Postgres,
    /// MySQL and MariaDB (`?` placeholders, backquoted names).
    Mysql,
}

/// A body run outside a transaction that failed: how many of its statements completed
/// before the error (`None`: not known).
#[derive(Debug)]
pub struct Halt {
    /// How many of [`Driver::statements`] completed before the one that failed.
    pub applied: Option<usize>,
    /// The error.
    pub error: Error,
}

/// What every database driver provides. The migrator composes these; drivers never plan.
/// `Any` lets [`crate::Migrator`] hand an application's own connection back
/// ([`crate::Migrator::into_driver`]).
pub trait Driver: std::any::Any + Send {
    /// The scheme family, e.g. `sqlite3`.
    fn name(&self) -> &'static str;
    /// The SQL dialect of the statements the library writes itself.
    fn dialect(&self) -> Dialect;
    /// The migrations table name (`x-migrations-table`, default `schema_migrations`).
    fn table(&self) -> &str;

    /// Whether the version table exists. Reads only.
    fn version_table_exists(&mut self) -> Result<bool>;
    /// Creates the version table with golang-migrate's exact DDL if it is missing.
    fn ensure_version_table(&mut self) -> Result<()>;
    /// The recorded version; `Nil` if the table is missing. Never writes.
    fn version(&mut self) -> Result<DbVersion>;
    /// Replaces the single version row, inside the caller's transaction
    /// (`None` = nil: no row, unless dirty, then `(-1, true)`).
    fn write_version(&mut self, version: Option<u64>, dirty: bool) -> Result<()>;

    /// Takes the cross-process migration lock, waiting at most `timeout`.
    fn lock(&mut self, timeout: Duration) -> Result<()>;
    /// Releases the lock taken by [`Driver::lock`]; nothing happens when it is not held.
    fn unlock(&mut self) -> Result<()>;

    /// Whether a file's body and its version write can commit in one transaction.
    fn transactional(&self) -> bool;
    /// Whether this particular file runs in one transaction with its version write.
    /// Defaults to `transactional()`; PostgreSQL answers `false` for a file whose first
    /// line is `-- migrate:no-transaction` (for `CREATE INDEX CONCURRENTLY` and friends),
    /// which then runs with golang-migrate's dirty/body/clean protocol.
    fn transactional_for(&self, _body: &str) -> bool {
        self.transactional()
    }
    /// Opens a transaction (SQLite: `BEGIN IMMEDIATE`, or `EXCLUSIVE` with `_txlock`).
    fn begin(&mut self) -> Result<()>;
    /// Commits the open transaction.
    fn commit(&mut self) -> Result<()>;
    /// Rolls the open transaction back.
    fn rollback(&mut self) -> Result<()>;

    /// Before a step's transaction opens (SQLite: foreign keys off).
    fn prepare_step(&mut self) -> Result<()> {
        Ok(())
    }
    /// Runs a migration body; `in_tx` says whether the caller opened a transaction.
    fn run_body(&mut self, file: &str, body: &str, in_tx: bool) -> Result<()>;
    /// The statements of a body that runs outside a transaction, as this driver runs
    /// them one after the other (the pieces [`Driver::run_body_outside`] counts).
    /// Default: the quote-aware split ([`split::statements`]).
    fn statements<'a>(&self, body: &'a str) -> Vec<&'a str> {
        split::statements(body)
    }
    /// Runs a body outside a transaction; when it fails, says how many of
    /// [`Driver::statements`] completed before the one that failed (`None`: not known, the
    /// body ran as one piece). Default: [`Driver::run_body`], count not known.
    fn run_body_outside(&mut self, file: &str, body: &str) -> std::result::Result<(), Halt> {
        self.run_body(file, body, false).map_err(|error| Halt {
            applied: None,
            error,
        })
    }
    /// After the body, before commit (SQLite: `PRAGMA foreign_key_check`).
    fn check_step(&mut self, _file: &str) -> Result<()> {
        Ok(())
    }
    /// After the step, committed or not (SQLite: foreign keys back on).
    fn finish_step(&mut self) -> Result<()> {
        Ok(())
    }

    /// golang-migrate's `drop`: every table, the version table included.
    fn drop_all(&mut self) -> Result<()>;

    /// Runs one statement with bound values; returns rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs one query with bound values.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;
    /// Whether a table of that name exists (in the current schema).
    fn table_exists(&mut self, name: &str) -> Result<bool>;
    /// Quotes an identifier for this dialect.
    fn quote_ident(&self, name: &str) -> String;
    /// One of migrate's own tables (the version table and the side tables), quoted and
    /// qualified so that it names the real table: PostgreSQL qualifies it with the schema
    /// the driver resolved when it connected, so a migration changing `search_path` cannot
    /// move the bookkeeping; SQLite with `main`, so a migration's TEMP table of the same
    /// name cannot hide it. Defaults to [`Driver::quote_ident`].
    fn quote_table(&self, name: &str) -> String {
        self.quote_ident(name)
    }
    /// `s` in a form one of migrate's side-table columns can store: at most `width`
    /// characters (`None`: no limit) and only characters the server's character set has.
    /// What does not fit is escaped (`\u{…}`) or cut, never refused, so the bookkeeping
    /// after a migration that already ran cannot fail on a value. Default: unchanged
    /// (SQLite stores any text at any length).
    fn fit_text(&mut self, s: &str, _width: Option<usize>) -> String {
        s.to_string()
    }
    /// The longest table name the server accepts, and whether it counts bytes (PostgreSQL's
    /// `NAMEDATALEN - 1`) or characters (MySQL). `None`: no limit (SQLite).
    fn identifier_limit(&self) -> Option<IdentLimit> {
        None
    }
    /// The placeholder for the n-th (1-based) bound value.
    fn placeholder(&self, n: usize) -> String;
}

/// Database drivers compiled into this build, as golang-migrate's registry names them.
pub fn available() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "sqlite") {
        v.extend(["sqlite3", "sqlite"]);
    }
    if cfg!(feature = "postgres") {
        v.extend(["postgres", "postgresql", "pgx", "pgx4", "pgx5"]);
    }
    if cfg!(feature = "mysql") {
        v.push("mysql");
    }
    v
}

/// Opens the driver the URL's scheme names. Errors are wrapped by the caller in
/// `failed to open database: ...`.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn Driver>> {
    match url.scheme() {
        #[cfg(feature = "sqlite")]
        "sqlite3" | "sqlite" => Ok(Box::new(sqlite::Sqlite::open(url)?)),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" | "pgx" | "pgx4" | "pgx5" => {
            Ok(Box::new(postgres::Postgres::open(url)?))
        }
        #[cfg(feature = "mysql")]
        "mysql" => Ok(Box::new(mysql::Mysql::open(url)?)),
        // The "scheme" is all before the first `:`, which may be a query with a password.
        other => Err(Error::UnknownDatabaseDriver {
            scheme: crate::url::redact(other),
            available: available(),
        }),
    }
}

/// The options of a driver built on an application's connection: a URL's query string
/// (`x-migrations-table=app_schema&x-no-tx-wrap=true`, with or without the leading `?`)
/// of which only the `x-` names in `allowed` are accepted. Anything else is refused, so an
/// option that would have taken effect on a URL (a PRAGMA, a session variable) is not
/// silently ignored on a connection migrate did not open.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn connection_options(
    scheme: &str,
    options: &str,
    allowed: &[&str],
) -> Result<DatabaseUrl> {
    let query = options.strip_prefix('?').unwrap_or(options);
    let url = DatabaseUrl::parse(&format!("{scheme}://?{query}"))?;
    let refused = url
        .params()
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(url.x_params().keys().map(String::as_str))
        .find(|k| !allowed.contains(k));
    match refused {
        Some(k) => Err(Error::InvalidOption {
            param: k.to_string(),
            reason: format!(
                "not an option of a migrator on an open connection (accepted: {}); set it on the connection itself",
                allowed.join(", ")
            ),
        }),
        None => Ok(url),
    }
}

/// Runs `f` in a transaction: commits when it succeeds, rolls back when it or the commit
/// fails. The error returned is `f`'s (or the commit's), never the rollback's.
pub fn in_transaction<T>(
    d: &mut dyn Driver,
    f: impl FnOnce(&mut dyn Driver) -> Result<T>,
) -> Result<T> {
    d.begin()?;
    let out = f(d).and_then(|v| d.commit().map(|()| v));
    if out.is_err() {
        let _ = d.rollback();
    }
    out
}

/// golang-migrate's `SetVersion`: one transaction that replaces the version row.
pub fn set_version(d: &mut dyn Driver, version: Option<u64>, dirty: bool) -> Result<()> {
    in_transaction(d, |d| d.write_version(version, dirty))
}

/// Runs `f` while holding the migration lock; the lock is released however `f` ends
/// (locks are held by scope, never by paired calls at call sites).
pub fn with_lock<T>(
    d: &mut dyn Driver,
    timeout: Duration,
    f: impl FnOnce(&mut dyn Driver) -> Result<T>,
) -> Result<T> {
    d.lock(timeout)?;
    let out = f(d);
    let unlocked = d.unlock();
    match (out, unlocked) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        // golang-migrate joins the two errors with a newline.
        (Err(e), Err(u)) => Err(Error::Other(format!("{e}\n{u}"))),
    }
}

/// Go's `strconv.Atoi` (64-bit `int`) as the server drivers' option error.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn go_atoi(v: &str) -> Result<i64> {
    crate::gocompat::strconv::atoi(v).map_err(|e| Error::Other(e.to_string()))
}

/// Go's text for a connection the server drivers could not make, as go-sql-driver and
/// lib/pq return Go's dial error: `dial tcp 127.0.0.1:5432: connect: connection refused`,
/// `dial unix /run/mysqld/mysqld.sock: connect: no such file or directory`. `addr` is the
/// address as the URL gives it (Go names the resolved address of a host name). `None` when
/// `e` does not wrap a refused or unreachable connection.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn go_dial_error(
    net: &str,
    addr: &str,
    e: &(dyn std::error::Error + 'static),
) -> Option<String> {
    use rustix::io::Errno;
    const CONNECT: [Errno; 7] = [
        Errno::CONNREFUSED,
        Errno::NOENT,
        Errno::TIMEDOUT,
        Errno::HOSTUNREACH,
        Errno::NETUNREACH,
        Errno::ACCESS,
        Errno::ADDRNOTAVAIL,
    ];
    let mut next = Some(e);
    let io = loop {
        let e = next?;
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            break io;
        }
        next = e.source();
    };
    let n = io
        .raw_os_error()
        .filter(|n| CONNECT.iter().any(|c| c.raw_os_error() == *n))?;
    // strerror's text, as Go spells it: `Connection refused (os error 111)` is
    // `connection refused`.
    let text = std::io::Error::from_raw_os_error(n).to_string();
    let text = text.split(" (os error").next().unwrap_or("");
    let mut chars = text.chars();
    let first = chars.next()?.to_lowercase();
    Some(format!(
        "dial {net} {addr}: connect: {}",
        first.chain(chars).collect::<String>()
    ))
}

/// Runs `run`, which blocks on a runtime of the driver's own (the MySQL driver's, the
/// synchronous PostgreSQL client's): here, or, when this thread is running an application's
/// async code (where tokio refuses to block on another runtime, for instance a gate called
/// straight from `#[tokio::main]`), on a thread of its own while this one waits.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn outside_async<R: Send>(run: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|s| match s.spawn(run).join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// Drops `value` as [`outside_async`] runs a call: a server client closing its connection
/// blocks on its own runtime too.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn drop_outside_async<T: Send>(value: T) {
    outside_async(move || drop(value));
}

/// Which characters a side-table column can hold, for [`fit_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repertoire {
    /// Every Unicode scalar value (UTF-8, utf8mb4, PostgreSQL `SQL_ASCII`).
    Unicode,
    /// The Basic Multilingual Plane (MySQL's 3-byte `utf8`/`utf8mb3`).
    Bmp,
    /// ASCII and U+00A0..=U+00FF (PostgreSQL `LATIN1`; MySQL's `latin1`, which is cp1252
    /// and has those at the same code points).
    Latin1,
    /// ASCII only (any other character set: the safe choice).
    Ascii,
}

impl Repertoire {
    fn has(self, c: char) -> bool {
        match self {
            Repertoire::Unicode => true,
            Repertoire::Bmp => (c as u32) <= 0xFFFF,
            Repertoire::Latin1 => c.is_ascii() || ('\u{a0}'..='\u{ff}').contains(&c),
            Repertoire::Ascii => c.is_ascii(),
        }
    }
}

/// `s` with every character outside `rep` written as `\u{hex}`, then cut to `width`
/// characters (the last three become `...` when something was cut). The result holds only
/// characters of `rep` and has at most `width` characters.
pub fn fit_text(s: &str, rep: Repertoire, width: Option<usize>) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        // NUL: PostgreSQL refuses it in text of any encoding.
        if rep.has(c) && c != '\0' {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    match width {
        Some(w) if out.chars().count() > w => {
            let keep = w.saturating_sub(3);
            let mut cut: String = out.chars().take(keep).collect();
            cut.push_str(&".".repeat(w.min(3)));
            cut
        }
        _ => out,
    }
}

/// Quotes an identifier with double quotes only when it needs quoting, so the default
/// `schema_migrations` DDL stays byte-identical to golang-migrate's while a hostile
/// `x-migrations-table` cannot inject SQL.
pub fn quote_if_needed(name: &str, keywords: &[&str]) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !keywords.iter().any(|k| k.eq_ignore_ascii_case(name));
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused or unreachable connection, wrapped or not, reads as Go's dial error with
    /// Go's (lower-case) errno text; any other error, or none, is not one.
    #[test]
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn dial_errors_like_go() {
        use rustix::io::Errno;
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let os = |e: Errno| std::io::Error::from_raw_os_error(e.raw_os_error());
        for (errno, text) in [
            (Errno::CONNREFUSED, "connection refused"),
            (Errno::NOENT, "no such file or directory"),
            (Errno::TIMEDOUT, "connection timed out"),
            (Errno::HOSTUNREACH, "no route to host"),
            (Errno::NETUNREACH, "network is unreachable"),
            (Errno::ACCESS, "permission denied"),
            (Errno::ADDRNOTAVAIL, "cannot assign requested address"),
        ] {
            let want = format!("dial tcp 10.0.0.1:5432: connect: {text}");
            let direct = go_dial_error("tcp", "10.0.0.1:5432", &os(errno));
            assert_eq!(direct.as_deref(), Some(want.as_str()), "{errno:?}");
            let wrapped = go_dial_error("tcp", "10.0.0.1:5432", &Wrapper(os(errno)));
            assert_eq!(wrapped.as_deref(), Some(want.as_str()), "{errno:?}");
        }
        for other in [
            os(Errno::CONNRESET),
            os(Errno::PIPE),
            std::io::Error::other("no errno"),
        ] {
            assert_eq!(go_dial_error("unix", "/s", &other), None, "{other}");
        }
        let not_io = Error::Other("x".into());
        assert_eq!(go_dial_error("tcp", "h:1", &not_io), None);
    }

    #[test]
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn atoi_like_go() {
        assert_eq!(go_atoi("+42").ok(), Some(42));
        assert_eq!(go_atoi("-7").ok(), Some(-7));
        let e = |v: &str| go_atoi(v).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e("1s"), "strconv.Atoi: parsing \"1s\": invalid syntax");
        assert_eq!(
            e("99999999999999999999"),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
    }

    /// A small deterministic generator for the property tests (xorshift64).
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        /// A string mixing ASCII, Latin-1, other BMP and astral characters, NUL included.
        fn text(&mut self, max: usize) -> String {
            const POOL: &[char] = &[
                'a',
                'Z',
                '0',
                '_',
                ' ',
                '\0',
                '\\',
                '\'',
                '"',
                '\u{7f}',
                '\u{80}',
                '\u{9f}',
                '\u{a0}',
                'é',
                'ÿ',
                'Ā',
                'ε',
                '表',
                '\u{fffd}',
                '\u{ffff}',
                '🚀',
                '\u{10ffff}',
            ];
            let n = self.below(max + 1);
            (0..n).map(|_| POOL[self.below(POOL.len())]).collect()
        }
    }

    const REPERTOIRES: [Repertoire; 4] = [
        Repertoire::Unicode,
        Repertoire::Bmp,
        Repertoire::Latin1,
        Repertoire::Ascii,
    ];

    /// Whatever goes in, what comes out holds only characters of the repertoire (never
    /// NUL), is at most `width` characters long, and is the input itself when that fits.
    #[test]
    fn fit_text_always_fits() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let s = g.text(40);
            let rep = REPERTOIRES[g.below(REPERTOIRES.len())];
            let width = [None, Some(0), Some(1), Some(3), Some(8), Some(30)][g.below(6)];
            let out = fit_text(&s, rep, width);
            assert!(
                out.chars().all(|c| rep.has(c) && c != '\0'),
                "{s:?} {rep:?} -> {out:?}"
            );
            if let Some(w) = width {
                assert!(out.chars().count() <= w, "{s:?} {w} -> {out:?}");
            }
            let fits = s.chars().all(|c| rep.has(c) && c != '\0')
                && width.is_none_or(|w| s.chars().count() <= w);
            if fits {
                assert_eq!(out, s);
            }
        }
        assert_eq!(
            fit_text("1_créer_表.up.sql", Repertoire::Latin1, Some(255)),
            "1_créer_\\u{8868}.up.sql"
        );
        assert_eq!(fit_text("abcdef", Repertoire::Ascii, Some(5)), "ab...");
    }

    /// Side-table names: unchanged when they fit (existing databases keep theirs), within
    /// the limit otherwise, distinct for distinct tables and for the two suffixes, and the
    /// same on every call.
    #[test]
    fn side_table_names_fit_and_are_stable() {
        use super::names::side_table_name;
        let limits = [
            None,
            Some(IdentLimit::Bytes(63)),
            Some(IdentLimit::Chars(64)),
        ];
        assert_eq!(
            side_table_name("schema_migrations", "_checksums", limits[1]),
            "schema_migrations_checksums"
        );
        let long = "t".repeat(100);
        assert_eq!(
            side_table_name(&long, "_journal", None),
            format!("{long}_journal")
        );
        let mut g = Gen(42);
        for _ in 0..2000 {
            let stem = ["t", "é", "表", "🚀", "_"][g.below(5)];
            let table = stem.repeat(1 + g.below(70));
            let other = format!("{table}{}", g.below(10));
            for limit in limits {
                let (c, j) = (
                    side_table_name(&table, "_checksums", limit),
                    side_table_name(&table, "_journal", limit),
                );
                assert_ne!(c, j);
                assert_eq!(c, side_table_name(&table, "_checksums", limit));
                assert_ne!(c, side_table_name(&other, "_checksums", limit), "{table}");
                if let Some(l) = limit {
                    assert!(l.fits(&c) && l.fits(&j), "{c} {j}");
                    if l.fits(&format!("{table}_checksums")) {
                        assert_eq!(c, format!("{table}_checksums"));
                    }
                }
            }
        }
    }

    /// Found by `fuzz/url`: the unknown-driver error printed a password that sat in the
    /// text before the first `:`.
    #[test]
    fn unknown_driver_error_redacts_the_scheme() {
        let url = DatabaseUrl::parse("x?password=secret:").expect("parses");
        let e = open(&url).err().expect("unknown driver");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("x?password=xxxxx"), "{shown}");
    }
}
