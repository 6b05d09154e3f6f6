//! SQLite driver (`sqlite3://`, `sqlite://`) over rusqlite with the bundled SQLite.
//!
//! Differences from golang-migrate's sqlite3 driver, on purpose (README "Differences"):
//! a real cross-process lock (a lock file beside the database), the body and the version
//! write in one `BEGIN IMMEDIATE` transaction, and foreign keys switched off around each
//! file with `PRAGMA foreign_key_check` before commit (SQLite's table-rebuild procedure).
//!
//! Every statement `migrate` itself runs names the `main` schema (`main.schema_migrations`,
//! `main.sqlite_master`, ...): a migration's TEMP table of the same name would otherwise
//! hide the real one for the rest of the connection.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::{params_from_iter, Connection, OpenFlags};

use super::{quote_if_needed, Dialect, Driver, Halt, Row, Value};
use crate::error::{DbError, DbErrorKind, Error, Result};
use crate::gocompat::quote::quote;
use crate::url::DatabaseUrl;
use crate::version::{to_stored, DbVersion};

/// SQLite's keywords: a table named like one of these is quoted.
const KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

/// mattn/go-sqlite3 DSN parameters mapped to the PRAGMA that implements them.
/// (parameter names, pragma, kind of value)
const PRAGMA_PARAMS: &[(&[&str], &str, Kind)] = &[
    (&["_busy_timeout", "_timeout"], "busy_timeout", Kind::Int),
    (
        &["_case_sensitive_like", "_cslike"],
        "case_sensitive_like",
        Kind::Bool,
    ),
    (
        &["_defer_foreign_keys", "_defer_fk"],
        "defer_foreign_keys",
        Kind::Bool,
    ),
    (&["_foreign_keys", "_fk"], "foreign_keys", Kind::Bool),
    (
        &["_ignore_check_constraints"],
        "ignore_check_constraints",
        Kind::Bool,
    ),
    (
        &["_journal_mode", "_journal"],
        "journal_mode",
        Kind::Word(&["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"]),
    ),
    (
        &["_locking_mode", "_locking"],
        "locking_mode",
        Kind::Word(&["NORMAL", "EXCLUSIVE"]),
    ),
    (&["_query_only"], "query_only", Kind::Bool),
    (
        &["_recursive_triggers", "_rt"],
        "recursive_triggers",
        Kind::Bool,
    ),
    (
        &["_secure_delete"],
        "secure_delete",
        Kind::Word(&["ON", "OFF", "FAST", "TRUE", "FALSE", "1", "0"]),
    ),
    (
        &["_synchronous", "_sync"],
        "synchronous",
        Kind::Word(&["OFF", "NORMAL", "FULL", "EXTRA", "0", "1", "2", "3"]),
    ),
    (&["_cache_size"], "cache_size", Kind::Int),
];

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Bool,
    Word(&'static [&'static str]),
}

/// mattn's boolean spellings.
fn mattn_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Where the database lives, as golang-migrate maps the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A database file (created if missing, unless read-only).
    File(PathBuf),
    /// A `file:` URI handed to SQLite as is (its own `mode`/`cache` parameters apply).
    Uri(String),
    /// A private in-memory database (`:memory:` or `mode=memory`).
    Memory,
}

/// The parsed SQLite URL.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database lives.
    pub target: Target,
    /// The migrations table (`x-migrations-table`, default `schema_migrations`).
    pub table: String,
    /// `x-no-tx-wrap`: run each file without migrate's transaction.
    pub no_tx_wrap: bool,
    /// `_txlock=exclusive`: `BEGIN EXCLUSIVE` instead of `BEGIN IMMEDIATE`.
    pub exclusive: bool,
    /// `_foreign_keys`/`_fk`: the connection's setting (mattn's default: off).
    pub foreign_keys: bool,
    /// `mode=ro`: open the file read-only.
    pub read_only: bool,
    pragmas: Vec<(String, String)>,
}

impl Config {
    /// golang-migrate: strip `x-*` parameters, then remove the first `sqlite3://`.
    pub fn parse(url: &DatabaseUrl) -> Result<Config> {
        let target = target(url)?;
        let (pragmas, foreign_keys) = pragmas(url)?;
        Ok(Config {
            target,
            table: url
                .x_param("x-migrations-table")
                .unwrap_or("schema_migrations")
                .to_string(),
            no_tx_wrap: url.x_bool("x-no-tx-wrap")?.unwrap_or(false),
            exclusive: url
                .param("_txlock")
                .is_some_and(|v| v.eq_ignore_ascii_case("exclusive")),
            foreign_keys,
            read_only: url.param("mode") == Some("ro"),
            pragmas,
        })
    }
}

/// Where the URL's database lives, as golang-migrate maps it.
fn target(url: &DatabaseUrl) -> Result<Target> {
    let body = url.body();
    let path = match body.strip_prefix("//") {
        Some(p) => crate::url::sqlite_dsn_path(p).map_err(|reason| Error::InvalidOption {
            param: format!("parse {}", quote(&url.redacted())),
            reason,
        })?,
        // Opaque `sqlite3:x.db` is passed on unchanged: a file named `sqlite3:x.db`.
        None => format!("{}:{}", url.scheme(), body),
    };
    if path == ":memory:" || url.param("mode") == Some("memory") {
        return Ok(Target::Memory);
    }
    if !path.starts_with("file:") {
        return Ok(Target::File(PathBuf::from(path)));
    }
    let rest: Vec<String> = url
        .params()
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Ok(match rest.is_empty() {
        true => Target::Uri(path),
        false => Target::Uri(format!("{path}?{}", rest.join("&"))),
    })
}

/// The PRAGMAs the URL's mattn parameters set, in order (mattn's default busy timeout
/// first unless the URL sets one), and the `foreign_keys` setting, which is applied apart.
fn pragmas(url: &DatabaseUrl) -> Result<(Vec<(String, String)>, bool)> {
    let mut pragmas = Vec::new();
    let mut foreign_keys = false;
    let mut busy = false;
    // Parameters that set no pragma (mattn's `_loc`, `_mutex`, `_auth*`, `cache`, `mode`,
    // `vfs`, ... and unknown ones) are ignored, as mattn ignores them (see the README).
    for (k, v) in url.params() {
        let Some((_, pragma, kind)) = PRAGMA_PARAMS
            .iter()
            .find(|(names, _, _)| names.contains(&k.as_str()))
        else {
            continue;
        };
        let bad = || Error::InvalidOption {
            param: k.clone(),
            reason: format!("invalid value {}", crate::gocompat::quote::quote(v)),
        };
        let value = match kind {
            Kind::Int => crate::gocompat::strconv::atoi(v)
                .map_err(|_| bad())?
                .to_string(),
            Kind::Bool => {
                let b = mattn_bool(v).ok_or_else(bad)?;
                if *pragma == "foreign_keys" {
                    foreign_keys = b;
                    continue;
                }
                if b { "1" } else { "0" }.to_string()
            }
            Kind::Word(allowed) => {
                let up = v.to_ascii_uppercase();
                if !allowed.contains(&up.as_str()) {
                    return Err(bad());
                }
                up
            }
        };
        busy |= *pragma == "busy_timeout";
        pragmas.push((pragma.to_string(), value));
    }
    if !busy {
        // mattn's default busy timeout
        pragmas.insert(0, ("busy_timeout".into(), "5000".into()));
    }
    Ok((pragmas, foreign_keys))
}

/// An open SQLite database.
pub struct Sqlite {
    conn: Connection,
    cfg: Config,
    /// The table name as it appears in SQL, schema-qualified (`main.schema_migrations`).
    table_sql: String,
    /// The table name alone, for `CREATE INDEX ... ON <table>` (which takes no schema:
    /// the index's own schema, `main`, names it).
    table_bare: String,
    lock: Option<File>,
    /// Foreign key violations present before the current run's steps (counted when a
    /// step first runs with foreign keys on; lowered when a step leaves fewer).
    fk_baseline: Option<usize>,
    /// The connection's `foreign_keys` setting before the current step switched it off:
    /// `Some(true)` while a step runs with them off for the user, restored afterwards.
    fk_was_on: Option<bool>,
    /// The current file asked for foreign keys on (`PRAGMA foreign_keys = ON`, ignored):
    /// it is checked as if they were on.
    fk_asked: bool,
    /// ATTACH of a database file is refused (a rehearsal must not write outside its copy).
    deny_attach: bool,
    /// The page cache size a migration's own SQL runs with: SQLite's default or the URL's
    /// `_cache_size`, read before the first switch to [`OWN_CACHE`] (None until then) and
    /// again after each migration's SQL.
    user_cache: Option<i64>,
    /// Whether the connection is at [`OWN_CACHE`] now.
    own_cache: bool,
}

/// The page cache `migrate`'s own statements run with: 256 KiB instead of SQLite's
/// 2,000 KiB. The bookkeeping of a step touches a dozen pages, but the clean pages of
/// every earlier step and every page `PRAGMA quick_check` reads stay cached up to the
/// limit, which the smaller cache keeps out of the peak memory of `up`. A migration's own SQL
/// runs with the user's size (see [`Sqlite::use_user_cache`]), so its speed, its spills
/// and its sorter are SQLite's defaults. SQLite shares one page budget among a connection's
/// databases (libsqlite3-sys builds with SQLITE_ENABLE_MEMORY_MANAGEMENT): once a file opens
/// the temp database (`CREATE TEMP TABLE`), its budget lets the main cache keep more pages,
/// which costs memory only; `migrate`'s checks name `main` so they do not open it.
const OWN_CACHE: &str = "PRAGMA cache_size = -256";

/// The text of a rusqlite error as mattn prints a SQLite error.
pub(crate) fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(err, None) => err.to_string(),
        other => other.to_string(),
    }
}

/// The kind of a rusqlite error, from SQLite's primary result code. SQLite reports a
/// syntax error with the generic `SQLITE_ERROR`: its own message tells it apart.
pub(crate) fn kind(e: &rusqlite::Error) -> DbErrorKind {
    use rusqlite::ffi;
    let (code, msg) = match e {
        rusqlite::Error::SqliteFailure(f, m) => (f.extended_code & 0xff, m.as_deref()),
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            (error.extended_code & 0xff, Some(msg.as_str()))
        }
        _ => return DbErrorKind::Other,
    };
    match code {
        ffi::SQLITE_BUSY => DbErrorKind::Busy,
        ffi::SQLITE_LOCKED => DbErrorKind::Locked,
        ffi::SQLITE_CORRUPT => DbErrorKind::Corrupt,
        ffi::SQLITE_NOTADB => DbErrorKind::NotADatabase,
        ffi::SQLITE_CANTOPEN => DbErrorKind::CantOpen,
        ffi::SQLITE_IOERR => DbErrorKind::Io,
        ffi::SQLITE_CONSTRAINT => DbErrorKind::Constraint,
        ffi::SQLITE_PERM | ffi::SQLITE_AUTH => DbErrorKind::Permission,
        ffi::SQLITE_FULL => DbErrorKind::DiskFull,
        ffi::SQLITE_READONLY => DbErrorKind::ReadOnly,
        ffi::SQLITE_ERROR
            if msg.is_some_and(|m| m.ends_with("syntax error") || m == "incomplete input") =>
        {
            DbErrorKind::Syntax
        }
        _ => DbErrorKind::Other,
    }
}

fn db_err(e: rusqlite::Error, query: impl Into<String>) -> Error {
    Error::db(kind(&e), message(&e), query)
}

impl Sqlite {
    /// Opens the database a `sqlite3://` URL names, with its mattn parameters applied.
    pub fn open(url: &DatabaseUrl) -> Result<Sqlite> {
        Sqlite::open_config(Config::parse(url)?)
    }

    /// Opens the database `cfg` describes (the safety features adjust a parsed URL's).
    pub fn open_config(cfg: Config) -> Result<Sqlite> {
        let mut flags = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        flags |= if cfg.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        };
        let conn = match &cfg.target {
            Target::File(p) => Connection::open_with_flags(p, flags),
            Target::Uri(u) => Connection::open_with_flags(u, flags),
            Target::Memory => Connection::open_in_memory(),
        }
        .map_err(|e| db_err(e, ""))?;
        // rusqlite's bundled SQLite defaults foreign keys ON; mattn's default is OFF.
        let mut setup = format!(
            "PRAGMA foreign_keys = {};",
            if cfg.foreign_keys { "ON" } else { "OFF" }
        );
        for (p, v) in &cfg.pragmas {
            setup.push_str(&format!("PRAGMA {p} = {v};"));
        }
        conn.execute_batch(&setup)
            .map_err(|e| db_err(e, setup.clone()))?;
        Ok(Sqlite::with_connection(conn, cfg))
    }

    /// A driver on a connection the application opened (its own PRAGMAs, a SQLCipher key),
    /// which it gets back with [`Sqlite::into_connection`]. `options` is a URL's
    /// query string with only `x-migrations-table` and `x-no-tx-wrap`
    /// (anything else is refused: instead of mattn's `_` parameters the connection's own
    /// settings apply).
    ///
    /// Unlike [`Sqlite::open`] nothing is set on the connection when the driver is made:
    /// its `foreign_keys`, `busy_timeout`, journal mode and cache size stay the
    /// application's. During a run migrate changes, and restores by the end of each
    /// step: `foreign_keys` (off around each file, the connection's setting back after
    /// it) and the SQLite authorizer (installed around each file's SQL, then removed: an
    /// authorizer the application had installed is gone afterwards).
    /// Between steps migrate's own statements run with a 256 KiB page cache; a file's
    /// SQL runs with the connection's size, which [`Sqlite::into_connection`] restores.
    /// What a migration file itself sets (`PRAGMA cache_size`, `journal_mode`, ...)
    /// stays, as on golang-migrate's single connection.
    ///
    /// The lock file, backups and integrity checks use the file the connection has open
    /// (`sqlite3_db_filename`, also for a `file:` URI). An in-memory or temporary database
    /// has no file: nothing is shared, so there is no lock, and backups and rehearsals are
    /// unavailable.
    pub fn from_connection(conn: Connection, options: &str) -> Result<Sqlite> {
        let url =
            super::connection_options("sqlite3", options, &["x-migrations-table", "x-no-tx-wrap"])?;
        let target = match conn.path().filter(|p| !p.is_empty()) {
            Some(p) => Target::File(PathBuf::from(p)),
            None => Target::Memory,
        };
        let cfg = Config {
            target,
            table: url
                .x_param("x-migrations-table")
                .filter(|t| !t.is_empty())
                .unwrap_or("schema_migrations")
                .to_string(),
            no_tx_wrap: url.x_bool("x-no-tx-wrap")?.unwrap_or(false),
            exclusive: false,
            foreign_keys: false,
            read_only: conn
                .is_readonly(rusqlite::MAIN_DB)
                .map_err(|e| db_err(e, ""))?,
            pragmas: Vec::new(),
        };
        Ok(Sqlite::with_connection(conn, cfg))
    }

    fn with_connection(conn: Connection, cfg: Config) -> Sqlite {
        let table_bare = quote_if_needed(&cfg.table, KEYWORDS);
        Sqlite {
            conn,
            cfg,
            table_sql: format!("main.{table_bare}"),
            table_bare,
            lock: None,
            fk_baseline: None,
            fk_was_on: None,
            fk_asked: false,
            deny_attach: false,
            user_cache: None,
            own_cache: false,
        }
    }

    /// The connection back, as the application had it: the lock released, a transaction a
    /// failed step left open rolled back, `foreign_keys` and the page cache size as they
    /// were before migrate's own statements (or as a migration file set them).
    pub fn into_connection(mut self) -> Connection {
        let _ = self.unlock();
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let _ = self.fk_restore();
        self.use_user_cache();
        self.conn
            .authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
        self.conn
    }

    /// From now on a migration's `ATTACH` of a database file fails (in-memory and
    /// temporary databases are allowed): a rehearsal must not write outside its copy.
    pub fn refuse_attach(&mut self) {
        self.deny_attach = true;
    }

    /// The underlying connection, for the safety features (backup, integrity checks).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn lock_path(&self) -> Option<PathBuf> {
        match &self.cfg.target {
            Target::File(p) => Some(super::lockfile::path_for(p)),
            _ => self
                .conn
                .path()
                .filter(|p| !p.is_empty())
                .map(|p| super::lockfile::path_for(Path::new(p))),
        }
    }

    fn fk_violations(&self) -> Result<Vec<(String, i64, String)>> {
        let sql = "PRAGMA main.foreign_key_check";
        let mut st = self.conn.prepare(sql).map_err(|e| db_err(e, sql))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| db_err(e, sql))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(e, sql))
    }

    /// Switches to [`OWN_CACHE`] when no transaction is open, remembering the user's
    /// size first. Called after statements that succeeded, so the schema is loaded and the
    /// pragmas take no lock; a failure only leaves the cache as it was.
    fn use_own_cache(&mut self) {
        if self.own_cache || !self.conn.is_autocommit() {
            return;
        }
        if self.user_cache.is_none() {
            self.note_user_cache();
            if self.user_cache.is_none() {
                return;
            }
        }
        // Not a cached statement: SQLite applies `cache_size` when it prepares the pragma.
        if self.conn.execute_batch(OWN_CACHE).is_ok() {
            self.own_cache = true;
        }
    }

    /// Before a migration's SQL: back to the user's cache size. The smaller cache would
    /// make SQLite spill a large migration's changes to the file before commit.
    fn use_user_cache(&mut self) {
        let Some(v) = self.user_cache.filter(|_| self.own_cache) else {
            return;
        };
        if self
            .conn
            .execute_batch(&format!("PRAGMA cache_size = {v}"))
            .is_ok()
        {
            self.own_cache = false;
        }
    }

    /// Reads the connection's current cache size as the user's. After a migration's SQL: a
    /// file may set `PRAGMA cache_size` itself, and the files after it run with that size,
    /// as on golang-migrate's single connection.
    fn note_user_cache(&mut self) {
        if let Ok(v) = self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0)) {
            self.user_cache = Some(v);
        }
    }

    /// The connection's `foreign_keys` setting now.
    fn foreign_keys_on(&self) -> Result<bool> {
        let sql = "PRAGMA foreign_keys";
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|v| v != 0)
            .map_err(|e| db_err(e, sql))
    }

    fn set_foreign_keys(&self, on: bool) -> Result<()> {
        let sql = if on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        };
        self.conn.execute_batch(sql).map_err(|e| db_err(e, sql))
    }

    /// Before a file, outside any transaction (where the pragma takes effect): foreign
    /// keys off, whether the URL or an earlier file turned them on, so a table rebuild
    /// cannot cascade (SQLite's table-rebuild procedure). The setting is remembered for
    /// [`Sqlite::fk_check`] and [`Sqlite::fk_restore`]; a second call before the restore
    /// keeps the first one's.
    fn fk_off(&mut self) -> Result<()> {
        if self.fk_was_on.is_some() {
            return Ok(());
        }
        let on = self.foreign_keys_on()?;
        if on {
            self.set_foreign_keys(false)?;
            if self.fk_baseline.is_none() {
                self.fk_baseline = Some(self.fk_violations()?.len());
            }
        }
        self.fk_was_on = Some(on);
        Ok(())
    }

    /// After a file's SQL: when foreign keys were on for the connection, or the file asked
    /// for them, the file may not leave more violations than there were before the run
    /// (`PRAGMA foreign_key_check`).
    fn fk_check(&mut self, file: &str, rolled_back: bool) -> Result<()> {
        let asked = std::mem::take(&mut self.fk_asked);
        if self.fk_was_on != Some(true) && !asked {
            return Ok(());
        }
        let v = self.fk_violations()?;
        let base = self.fk_baseline.unwrap_or(0);
        if v.len() > base {
            let count = v.len() - base;
            let (table, rowid, parent) = v.into_iter().next().unwrap_or_default();
            return Err(Error::ForeignKeyViolation {
                file: file.to_string(),
                count,
                table,
                rowid,
                parent,
                rolled_back,
            });
        }
        self.fk_baseline = Some(v.len());
        Ok(())
    }

    /// After a file: the connection's setting from before it.
    fn fk_restore(&mut self) -> Result<()> {
        let Some(was) = self.fk_was_on.take() else {
            return Ok(());
        };
        if self.foreign_keys_on()? != was {
            self.set_foreign_keys(was)?;
        }
        Ok(())
    }

    /// [`Driver::run_body`], running `pieces` one by one (counting them in `done`) when
    /// given.
    fn run_body_counted(
        &mut self,
        file: &str,
        body: &str,
        in_tx: bool,
        pieces: Option<&[&str]>,
        done: &mut usize,
    ) -> Result<()> {
        // Outside a transaction the caller has no step around the body: switch foreign
        // keys off, check and restore here, before the version is written clean.
        if !in_tx {
            self.fk_off()?;
        }
        // A file that may ask for foreign keys is checked against the violations there
        // were before it.
        self.fk_asked = false;
        let mentions_fk = body
            .as_bytes()
            .windows(b"foreign_keys".len())
            .any(|w| w.eq_ignore_ascii_case(b"foreign_keys"));
        if self.fk_baseline.is_none() && mentions_fk {
            self.fk_baseline = Some(self.fk_violations()?.len());
        }
        self.use_user_cache();
        let out = self.run_body_sql(file, body, in_tx, pieces, done);
        self.note_user_cache();
        if in_tx {
            return out;
        }
        let checked = out.and_then(|()| self.fk_check(file, false));
        let restored = self.fk_restore();
        checked.and(restored)
    }

    /// A migration's SQL; inside our transaction, with statements that would break it
    /// refused.
    ///
    /// Inside our transaction a file's own BEGIN/COMMIT would nest or, worse, commit half a
    /// migration; a journal-mode change would silently do nothing. In a rehearsal, ATTACH
    /// of a file would write outside the copy. The authorizer ([`Watch`]) refuses them
    /// before they run and says which statement it was.
    ///
    /// A file's `PRAGMA foreign_keys = ...` is ignored, in a transaction (where SQLite
    /// ignores it anyway) and outside one: every file runs with foreign keys off, so a
    /// table rebuild cannot cascade. A file that asks for them on is checked with
    /// `PRAGMA foreign_key_check` afterwards instead (see `fk_check`).
    fn run_body_sql(
        &mut self,
        file: &str,
        body: &str,
        in_tx: bool,
        pieces: Option<&[&str]>,
        done: &mut usize,
    ) -> Result<()> {
        let watch = Arc::new(Watch::default());
        {
            let watch = Arc::clone(&watch);
            let deny_attach = self.deny_attach;
            self.conn.authorizer(Some(move |ctx: AuthContext<'_>| {
                watch.authorize(ctx.action, in_tx, deny_attach)
            }));
        }
        let out = match pieces {
            None => self.conn.execute_batch(body),
            // Statement by statement, so a failure says how many completed.
            Some(pieces) => pieces.iter().try_for_each(|p| {
                self.conn.execute_batch(p)?;
                *done += 1;
                Ok(())
            }),
        };
        self.conn
            .authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
        if watch.asked_fk.load(Ordering::SeqCst) {
            self.fk_asked = true;
        }
        let Err(e) = out else {
            return Ok(());
        };
        if let Some(refused) = watch.refusal(file) {
            return Err(refused);
        }
        let msg = message(&e);
        if let Some(reason) = NEEDS_NO_TX.iter().find(|m| msg.contains(*m)) {
            return Err(Error::NeedsNoTransaction {
                file: file.to_string(),
                reason: reason.to_string(),
            });
        }
        Err(db_err(e, body))
    }
}

/// The authorizer around a file's SQL (see [`Sqlite::run_body_sql`]): what it refused and
/// whether the file asked for foreign keys on.
#[derive(Default)]
struct Watch {
    /// A statement was refused.
    denied: AtomicBool,
    /// The statement refused.
    seen: Mutex<Option<String>>,
    /// The file set `PRAGMA foreign_keys` to something other than off.
    asked_fk: AtomicBool,
}

impl Watch {
    fn authorize(&self, action: AuthAction<'_>, in_tx: bool, deny_attach: bool) -> Authorization {
        if let AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(v),
        } = action
        {
            if pragma_name.eq_ignore_ascii_case("foreign_keys") {
                if mattn_bool(v.trim_matches(|c| c == '\'' || c == '"')) != Some(false) {
                    self.asked_fk.store(true, Ordering::SeqCst);
                }
                return Authorization::Ignore;
            }
        }
        match refused(action, in_tx, deny_attach) {
            Some(w) => {
                self.denied.store(true, Ordering::SeqCst);
                if let Ok(mut s) = self.seen.lock() {
                    *s = Some(w);
                }
                Authorization::Deny
            }
            None => Authorization::Allow,
        }
    }

    /// The error for the statement the authorizer refused, when it refused one.
    fn refusal(&self, file: &str) -> Option<Error> {
        if !self.denied.load(Ordering::SeqCst) {
            return None;
        }
        let statement = self
            .seen
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or_else(|| "BEGIN".into());
        if let Some(what) = statement.strip_prefix("ATTACH ") {
            return Some(Error::Safety {
                msg: format!(
                    "migration {file} attaches the database file {what}; a rehearsal runs only on its copy, and writing to another file would change it for real"
                ),
                hint: Some(
                    "nothing outside the rehearsal's copy was changed; the real run (with a backup of that file) is the only way to apply this migration".into(),
                ),
            });
        }
        if statement == "PRAGMA journal_mode" {
            return Some(Error::NeedsNoTransaction {
                file: file.to_string(),
                reason: "PRAGMA journal_mode cannot change the journal mode inside a transaction (SQLite would silently ignore it); set it in the URL instead, e.g. ?_journal_mode=WAL".into(),
            });
        }
        Some(Error::TransactionControl {
            file: file.to_string(),
            statement,
        })
    }
}

/// The statement a file may not run here, named for the error: transaction control and a
/// journal-mode change inside our transaction, ATTACH of a file in a rehearsal.
fn refused(action: AuthAction<'_>, in_tx: bool, deny_attach: bool) -> Option<String> {
    match action {
        AuthAction::Transaction { operation } if in_tx => Some(match operation {
            TransactionOperation::Begin => "BEGIN".to_string(),
            TransactionOperation::Rollback => "ROLLBACK".to_string(),
            // COMMIT and END arrive as an operation rusqlite does not name
            _ => "COMMIT".to_string(),
        }),
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } if in_tx && pragma_name.eq_ignore_ascii_case("journal_mode") => {
            Some("PRAGMA journal_mode".to_string())
        }
        AuthAction::Attach { filename } if deny_attach && !in_memory(filename) => {
            Some(format!("ATTACH {}", quote(filename)))
        }
        // An ATTACH whose file name is an expression: SQLite passes no name.
        AuthAction::Unknown { code, .. } if deny_attach && code == rusqlite::ffi::SQLITE_ATTACH => {
            Some("ATTACH named by an expression".to_string())
        }
        _ => None,
    }
}

/// Whether an ATTACH names an in-memory database (no file is written). A name SQLite
/// does not pass to the authorizer (an expression rather than a string) is not one.
fn in_memory(filename: &str) -> bool {
    let f = filename.trim();
    f == ":memory:"
        || (f.starts_with("file:") && (f.starts_with("file::memory:") || f.contains("mode=memory")))
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into()),
    }
}

/// SQLite's messages for statements that cannot run inside a transaction.
const NEEDS_NO_TX: &[&str] = &[
    "cannot VACUUM from within a transaction",
    "cannot change into wal mode from within a transaction",
    "cannot change out of wal mode from within a transaction",
    "Safety level may not be changed inside a transaction",
];

impl Driver for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite3"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn table(&self) -> &str {
        &self.cfg.table
    }

    fn version_table_exists(&mut self) -> Result<bool> {
        self.table_exists(&self.cfg.table.clone())
    }

    fn ensure_version_table(&mut self) -> Result<()> {
        if self.version_table_exists()? {
            return Ok(());
        }
        // golang-migrate's DDL with the schema named. sqlite_master keeps golang-migrate's
        // text byte for byte: SQLite stores neither `IF NOT EXISTS` nor the schema.
        let (t, bare) = (&self.table_sql, &self.table_bare);
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {t} (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS main.version_unique ON {bare} (version);\n"
        );
        self.conn
            .execute_batch(&sql)
            .map_err(|e| db_err(e, sql.clone()))
    }

    fn version(&mut self) -> Result<DbVersion> {
        if !self.version_table_exists()? {
            return Ok(DbVersion::Nil);
        }
        let sql = format!("SELECT version, dirty FROM {} LIMIT 1", self.table_sql);
        let mut st = self.conn.prepare(&sql).map_err(|e| db_err(e, &sql))?;
        let mut rows = st.query([]).map_err(|e| db_err(e, &sql))?;
        match rows.next().map_err(|e| db_err(e, &sql))? {
            None => Ok(DbVersion::Nil),
            Some(r) => {
                let v: i64 = r.get(0).map_err(|e| db_err(e, &sql))?;
                let d: Option<bool> = r.get(1).ok();
                Ok(DbVersion::from_row(Some((v, d.unwrap_or(false)))))
            }
        }
    }

    fn write_version(&mut self, version: Option<u64>, dirty: bool) -> Result<()> {
        let v = to_stored(version)?;
        let del = format!("DELETE FROM {}", self.table_sql);
        self.conn.execute(&del, []).map_err(|e| db_err(e, &del))?;
        if v >= 0 || (v == -1 && dirty) {
            let ins = format!(
                "INSERT INTO {} (version, dirty) VALUES (?, ?)",
                self.table_sql
            );
            self.conn
                .execute(&ins, rusqlite::params![v, dirty as i64])
                .map_err(|e| db_err(e, &ins))?;
        }
        Ok(())
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        let Some(path) = self.lock_path() else {
            return Ok(()); // in-memory: nothing to share
        };
        let file = super::lockfile::acquire(&path, timeout)?;
        self.lock = Some(file);
        Ok(())
    }

    fn unlock(&mut self) -> Result<()> {
        // Closing the file releases the lock. The file stays: deleting it would let a
        // waiter and a newcomer lock two different inodes.
        if let Some(f) = self.lock.take() {
            super::lockfile::release(f);
        }
        Ok(())
    }

    fn transactional(&self) -> bool {
        !self.cfg.no_tx_wrap
    }

    fn begin(&mut self) -> Result<()> {
        let sql = if self.cfg.exclusive {
            "BEGIN EXCLUSIVE"
        } else {
            "BEGIN IMMEDIATE"
        };
        self.conn.execute_batch(sql).map_err(|e| db_err(e, sql))
    }

    fn commit(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(|e| {
            Error::Database(DbError {
                orig: message(&e),
                msg: "transaction commit failed".into(),
                line: 0,
                query: String::new(),
                kind: kind(&e),
            })
        })?;
        self.use_own_cache();
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        let out = if self.conn.is_autocommit() {
            Ok(()) // SQLite already rolled back (e.g. after SQLITE_FULL)
        } else {
            self.conn
                .execute_batch("ROLLBACK")
                .map_err(|e| db_err(e, "ROLLBACK"))
        };
        // After an automatic rollback (disk full, I/O error) the pager keeps the grown file
        // and the hot journal until the next read; read now so the file is restored before
        // this process exits, not whenever someone next opens it.
        let _ = self
            .conn
            .query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0));
        if out.is_ok() {
            self.use_own_cache();
        }
        out
    }

    fn prepare_step(&mut self) -> Result<()> {
        self.fk_off()
    }

    fn run_body(&mut self, file: &str, body: &str, in_tx: bool) -> Result<()> {
        self.run_body_counted(file, body, in_tx, None, &mut 0)
    }

    fn statements<'a>(&self, body: &'a str) -> Vec<&'a str> {
        // A trigger's body ends at its `END;`, as `sqlite3_complete` decides: the pieces
        // inside it are joined.
        let pieces = super::split::sqlite_statements(body);
        super::split::merge_until(body, &pieces, super::split::sqlite_complete)
    }

    fn run_body_outside(&mut self, file: &str, body: &str) -> std::result::Result<(), Halt> {
        let pieces = self.statements(body);
        let mut done = 0;
        self.run_body_counted(file, body, false, Some(&pieces), &mut done)
            .map_err(|error| Halt {
                applied: Some(done),
                error,
            })
    }
    fn check_step(&mut self, file: &str) -> Result<()> {
        self.fk_check(file, true)
    }

    fn finish_step(&mut self) -> Result<()> {
        self.fk_restore()
    }

    fn drop_all(&mut self) -> Result<()> {
        // Internal `sqlite_*` tables cannot be dropped (golang-migrate #1138): skip them
        // and empty sqlite_sequence instead. Views go too, so nothing is left dangling.
        let sql = "SELECT type, name FROM main.sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
        let objects: Vec<(String, String)> = {
            let mut st = self.conn.prepare(sql).map_err(|e| db_err(e, sql))?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| db_err(e, sql))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| db_err(e, sql))?
        };
        let fk_was_on = self.foreign_keys_on()?;
        self.set_foreign_keys(false)?;
        let mut script = String::from("BEGIN IMMEDIATE;\n");
        for (ty, name) in objects.iter().filter(|(t, _)| t == "view") {
            script.push_str(&format!(
                "DROP {} IF EXISTS main.\"{}\";\n",
                ty.to_uppercase(),
                name.replace('"', "\"\"")
            ));
        }
        for (_, name) in objects.iter().filter(|(t, _)| t == "table") {
            script.push_str(&format!(
                "DROP TABLE IF EXISTS main.\"{}\";\n",
                name.replace('"', "\"\"")
            ));
        }
        if self.table_exists("sqlite_sequence")? {
            script.push_str("DELETE FROM main.sqlite_sequence;\n");
        }
        script.push_str("COMMIT;");
        let res = self
            .conn
            .execute_batch(&script)
            .map_err(|e| db_err(e, &script));
        if res.is_err() {
            let _ = self.rollback();
        }
        let _ = self.set_foreign_keys(fk_was_on);
        res?;
        self.conn
            .execute_batch("VACUUM")
            .map_err(|e| db_err(e, "VACUUM"))
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let p: Vec<_> = params.iter().map(to_sql).collect();
        // Cached: the journal runs the same few statements for every step.
        let mut st = self.conn.prepare_cached(sql).map_err(|e| db_err(e, sql))?;
        let n = st
            .execute(params_from_iter(p))
            .map_err(|e| db_err(e, sql))?;
        drop(st);
        self.use_own_cache();
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let p: Vec<_> = params.iter().map(to_sql).collect();
        let mut st = self.conn.prepare_cached(sql).map_err(|e| db_err(e, sql))?;
        let n = st.column_count();
        let mut rows = st.query(params_from_iter(p)).map_err(|e| db_err(e, sql))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| db_err(e, sql))? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(from_sql(r.get_ref(i).map_err(|e| db_err(e, sql))?));
            }
            out.push(row);
        }
        drop(rows);
        drop(st);
        self.use_own_cache();
        Ok(out)
    }

    fn table_exists(&mut self, name: &str) -> Result<bool> {
        let sql = "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1";
        let mut st = self.conn.prepare_cached(sql).map_err(|e| db_err(e, sql))?;
        let exists = st.exists([name]).map_err(|e| db_err(e, sql))?;
        drop(st);
        self.use_own_cache();
        Ok(exists)
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn quote_table(&self, name: &str) -> String {
        format!("main.{}", self.quote_ident(name))
    }

    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(u: &str) -> Config {
        Config::parse(&DatabaseUrl::parse(u).expect("url")).expect("config")
    }

    #[test]
    fn maps_paths_like_golang_migrate() {
        assert_eq!(cfg("sqlite3://x.db").target, Target::File("x.db".into()));
        assert_eq!(
            cfg("sqlite3://a/b.db").target,
            Target::File("a/b.db".into())
        );
        assert_eq!(
            cfg("sqlite3:///var/lib/app/x.db").target,
            Target::File("/var/lib/app/x.db".into())
        );
        assert_eq!(
            cfg("sqlite3://./db.sqlite?x-migrations-table=t&_fk=1").target,
            Target::File("./db.sqlite".into())
        );
        assert_eq!(
            cfg("sqlite3:x.db").target,
            Target::File("sqlite3:x.db".into())
        );
        assert_eq!(cfg("sqlite://:memory:").target, Target::Memory);
    }

    #[test]
    fn options() {
        let c = cfg("sqlite3://x.db?x-migrations-table=m&x-no-tx-wrap=true&_foreign_keys=on");
        assert_eq!(c.table, "m");
        assert!(c.no_tx_wrap && c.foreign_keys);
        let e =
            Config::parse(&DatabaseUrl::parse("sqlite3://x.db?x-no-tx-wrap=maybe").expect("url"))
                .err()
                .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("x-no-tx-wrap: strconv.ParseBool: parsing \"maybe\": invalid syntax")
        );
        assert!(Config::parse(
            &DatabaseUrl::parse("sqlite3://x.db?_journal_mode=WAL%3BDROP").expect("url")
        )
        .is_err());
    }

    /// A URL that does not parse is named as Go's `%q` prints it (`\u00a0`, not `\u{a0}`).
    #[test]
    fn unparsable_url_is_quoted_as_go_does() {
        let e = Config::parse(&DatabaseUrl::parse("sqlite3://a\u{a0}b%20.db").expect("url"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("parse \"sqlite3://a\\u00a0b%20.db\": invalid URL escape \"%20\"")
        );
    }

    /// A refused ATTACH names its file as Go's `%q` would.
    #[test]
    fn refused_attach_is_quoted_as_go_does() {
        let attach = AuthAction::Attach {
            filename: "b\u{a0}k.db",
        };
        assert_eq!(
            refused(attach, false, true).as_deref(),
            Some("ATTACH \"b\\u00a0k.db\"")
        );
    }

    /// The bundled SQLite carries the flags of .cargo/config.toml. Without
    /// SQLITE_MALLOC_SOFT_LIMIT=0 opening a large schema takes time quadratic in its size.
    /// Fails when LIBSQLITE3_FLAGS in the environment replaced the repository's value.
    #[test]
    fn bundled_sqlite_is_built_with_the_repository_flags() {
        let c = Connection::open_in_memory().expect("open");
        let found: bool = c
            .query_row(
                "SELECT count(*) > 0 FROM pragma_compile_options WHERE compile_options = 'MALLOC_SOFT_LIMIT=0'",
                [],
                |r| r.get(0),
            )
            .expect("compile options");
        assert!(
            found,
            "the bundled SQLite was built without SQLITE_MALLOC_SOFT_LIMIT=0 (.cargo/config.toml)"
        );
    }

    /// The kind of a failed statement's error (panics when it did not fail).
    fn kind_of<T>(r: Result<T>) -> DbErrorKind {
        match r {
            Ok(_) => panic!("the statement succeeded"),
            Err(e) => e
                .db_kind()
                .unwrap_or_else(|| panic!("not a driver error: {e}")),
        }
    }

    fn open_url(u: &str) -> Result<Sqlite> {
        Sqlite::open(&DatabaseUrl::parse(u)?)
    }

    /// The driver sets each error's kind from SQLite's result code, for real errors.
    #[test]
    fn errors_carry_their_kind() -> Result<()> {
        let mut d = open_url("sqlite3://:memory:")?;
        d.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
            &[],
        )?;
        d.execute("INSERT INTO t VALUES (1, 'a')", &[])?;
        let dup = d.execute("INSERT INTO t VALUES (1, 'b')", &[]);
        assert_eq!(kind_of(dup), DbErrorKind::Constraint);
        let null = d.execute("INSERT INTO t VALUES (2, NULL)", &[]);
        assert_eq!(kind_of(null), DbErrorKind::Constraint);
        assert_eq!(
            kind_of(d.execute("CREATE TABLEE x (a)", &[])),
            DbErrorKind::Syntax
        );
        let body = d.run_body("1_x.up.sql", "CREATE TABLE y (a);\nSELEC 1;", false);
        assert_eq!(kind_of(body), DbErrorKind::Syntax);
        let missing = d.execute("INSERT INTO nope VALUES (1)", &[]);
        assert_eq!(kind_of(missing), DbErrorKind::Other);

        // A full database: SQLITE_FULL, as on a full disk.
        d.execute("CREATE TABLE big (b BLOB)", &[])?;
        let pages = d.query("PRAGMA page_count", &[])?[0][0]
            .as_i64()
            .unwrap_or(0);
        d.query(&format!("PRAGMA max_page_count = {}", pages + 2), &[])?;
        let full = d.execute("INSERT INTO big VALUES (zeroblob(1000000))", &[]);
        assert_eq!(kind_of(full), DbErrorKind::DiskFull);
        Ok(())
    }

    /// Busy (another connection's write transaction on the file), read-only, a file that
    /// cannot be opened, a file that is not a database and a damaged one.
    #[test]
    fn file_errors_carry_their_kind() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Other(e.to_string()))?;
        let path = dir.path().join("k.db");
        let url = format!("sqlite3://{}", path.display());
        let mut d = open_url(&url)?;
        d.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", &[])?;
        for i in 0..200 {
            d.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                &[Value::Int(i), Value::Text("x".repeat(200))],
            )?;
        }

        let other = Connection::open(&path).map_err(|e| db_err(e, ""))?;
        other
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| db_err(e, ""))?;
        let mut waiter = open_url(&format!("{url}?_busy_timeout=0"))?;
        assert_eq!(kind_of(waiter.begin()), DbErrorKind::Busy);
        other.execute_batch("ROLLBACK").map_err(|e| db_err(e, ""))?;

        let mut ro = open_url(&format!("{url}?mode=ro"))?;
        let write = ro.execute("INSERT INTO t VALUES (1000, 'y')", &[]);
        assert_eq!(kind_of(write), DbErrorKind::ReadOnly);

        let nowhere = dir.path().join("no/such/dir/x.db");
        let open = open_url(&format!("sqlite3://{}", nowhere.display()));
        assert_eq!(kind_of(open), DbErrorKind::CantOpen);

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![0x5a; 8192]).map_err(|e| Error::Other(e.to_string()))?;
        let mut g = open_url(&format!("sqlite3://{}", garbage.display()))?;
        assert_eq!(kind_of(g.version()), DbErrorKind::NotADatabase);

        // The table's pages overwritten past the header and schema page.
        drop((d, waiter, ro));
        let mut bytes = std::fs::read(&path).map_err(|e| Error::Other(e.to_string()))?;
        for b in bytes.iter_mut().skip(4096) {
            *b = 0xa5;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::Other(e.to_string()))?;
        let mut c = open_url(&url)?;
        let read = c.query("SELECT count(*), max(length(v)) FROM t", &[]);
        assert_eq!(kind_of(read), DbErrorKind::Corrupt);
        Ok(())
    }

    /// `in_transaction` commits what succeeds, and rolls back what fails, returning the
    /// closure's own error (or the commit's).
    #[test]
    fn in_transaction_commits_or_rolls_back() -> Result<()> {
        let mut d = open_url("sqlite3://:memory:")?;
        d.execute("CREATE TABLE t (a INTEGER UNIQUE)", &[])?;
        let n =
            crate::driver::in_transaction(&mut d, |d| d.execute("INSERT INTO t VALUES (1)", &[]))?;
        assert_eq!(n, 1);
        let failed = crate::driver::in_transaction(&mut d, |d| {
            d.execute("INSERT INTO t VALUES (2)", &[])?;
            d.execute("INSERT INTO t VALUES (1)", &[])
        });
        assert_eq!(kind_of(failed), DbErrorKind::Constraint);
        let own = crate::driver::in_transaction(&mut d, |d| -> Result<()> {
            d.execute("INSERT INTO t VALUES (3)", &[])?;
            Err(Error::Other("the closure's own".into()))
        });
        assert_eq!(
            own.err().map(|e| e.to_string()).as_deref(),
            Some("the closure's own")
        );
        let rows = d.query("SELECT a FROM t ORDER BY a", &[])?;
        assert_eq!(rows, [[Value::Int(1)]]);
        assert!(d.conn.is_autocommit(), "no transaction left open");
        Ok(())
    }

    /// A table another shared-cache connection is writing: SQLITE_LOCKED.
    #[test]
    fn shared_cache_table_lock_is_locked() -> Result<()> {
        let uri = "file:kinds_locked?mode=memory&cache=shared";
        let flags = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_READ_WRITE;
        let writer = Connection::open_with_flags(uri, flags).map_err(|e| db_err(e, ""))?;
        writer
            .execute_batch("CREATE TABLE t (a); BEGIN; INSERT INTO t VALUES (1);")
            .map_err(|e| db_err(e, ""))?;
        let reader = Connection::open_with_flags(uri, flags).map_err(|e| db_err(e, ""))?;
        let mut d = Sqlite::from_connection(reader, "")?;
        assert_eq!(
            kind_of(d.query("SELECT a FROM t", &[])),
            DbErrorKind::Locked
        );
        Ok(())
    }

    /// In a rehearsal only in-memory attachments pass; a file, or a name SQLite does not
    /// hand to the authorizer (empty), is refused.
    #[test]
    fn attach_names_that_write_no_file() {
        for f in [
            ":memory:",
            "file::memory:",
            "file::memory:?cache=shared",
            "file:x?mode=memory",
        ] {
            assert!(in_memory(f), "{f}");
        }
        for f in [
            "",
            "other.db",
            "file:other.db",
            "/tmp/x.db",
            "file:x.db?mode=rwc",
            ":memory",
        ] {
            assert!(!in_memory(f), "{f}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote_if_needed("schema_migrations", KEYWORDS),
            "schema_migrations"
        );
        assert_eq!(quote_if_needed("order", KEYWORDS), "\"order\"");
        assert_eq!(
            quote_if_needed("x\"; DROP TABLE users; --", KEYWORDS),
            "\"x\"\"; DROP TABLE users; --\""
        );
    }
}
