//! The database driver trait, the lock scope, and driver selection by URL scheme.
//! Adding a driver: implement `Driver`, pass `tests/conformance.rs`, add a feature and a
//! README row.

pub mod lockfile;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod lockkey;
#[cfg(feature = "mysql")]
pub mod mysql;
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

/// A bound SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(s) => s.parse().ok(),
            Value::Null => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn into_string(self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s),
            Value::Int(i) => Some(i.to_string()),
            Value::Null => None,
        }
    }
}

pub type Row = Vec<Value>;

/// The SQL dialect, for the few statements the library writes itself (side tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

/// What every database driver provides. The migrator composes these; drivers never plan.
pub trait Driver: Send {
    /// The scheme family, e.g. `sqlite3`.
    fn name(&self) -> &'static str;
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
    fn begin(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;

    /// Before a step's transaction opens (SQLite: foreign keys off).
    fn prepare_step(&mut self) -> Result<()> {
        Ok(())
    }
    /// Runs a migration body; `in_tx` says whether the caller opened a transaction.
    fn run_body(&mut self, file: &str, body: &str, in_tx: bool) -> Result<()>;
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
    /// The placeholder for the n-th (1-based) bound value.
    fn placeholder(&self, n: usize) -> String;

    /// The SQLite database file, when there is one (for backups and lock files).
    fn sqlite_path(&self) -> Option<&std::path::Path> {
        None
    }
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

/// golang-migrate's `SetVersion`: one transaction that replaces the version row.
pub fn set_version(d: &mut dyn Driver, version: Option<u64>, dirty: bool) -> Result<()> {
    d.begin()?;
    match d.write_version(version, dirty).and_then(|()| d.commit()) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = d.rollback();
            Err(e)
        }
    }
}

/// Runs `f` while holding the migration lock; the lock is released however `f` ends
/// (design §5.5: locks are held by scope, never by paired calls at call sites).
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
