//! The side tables' names and DDL, their creation, and the value helpers the other files
//! bind with.

use std::time::Duration;

use super::entries::Entry;
use crate::driver::{Dialect, Driver, Value};
use crate::error::Result;

pub use crate::driver::names::{downs_table_name, table_names};

/// Column widths of the side tables (characters), shared by the DDL and [`fit_entry`].
pub(super) const FILE_WIDTH: usize = 255;
pub(super) const HOST_WIDTH: usize = 255;
pub(super) const USER_WIDTH: usize = 255;
pub(super) const TOOL_VERSION_WIDTH: usize = 64;

/// A journal row with every free-text value in a form the side tables can store: within its
/// column's width and in the server's character set ([`Driver::fit_text`]), so the
/// bookkeeping after a migration that ran cannot fail on a value.
pub(crate) fn fit_entry(d: &mut dyn Driver, e: &Entry) -> Entry {
    let mut e = e.clone();
    e.file = e.file.map(|f| d.fit_text(&f, Some(FILE_WIDTH)));
    e.host = d.fit_text(&e.host, Some(HOST_WIDTH));
    e.user = d.fit_text(&e.user, Some(USER_WIDTH));
    e.tool_version = d.fit_text(&e.tool_version, Some(TOOL_VERSION_WIDTH));
    e.error = e.error.map(|t| d.fit_text(&t, None));
    e
}

/// Journal columns, in insertion order (`user` is reserved in PostgreSQL: every column
/// is quoted by the driver).
pub(super) const JOURNAL_COLS: [&str; 14] = [
    "seq",
    "operation",
    "version_from",
    "version_to",
    "file",
    "checksum",
    "started_at",
    "finished_at",
    "duration_ms",
    "outcome",
    "error",
    "tool_version",
    "host",
    "user",
];

pub(super) const CHECKSUM_COLS: [&str; 6] = [
    "version",
    "direction",
    "file",
    "checksum",
    "applied_at",
    "duration_ms",
];

/// The DDL of both side tables for a dialect (portable types only: BIGINT, VARCHAR,
/// a text type for error messages; timestamps are RFC 3339 UTC strings, which sort).
pub fn ddl(d: &dyn Driver) -> [String; 2] {
    let (c, j) = table_names(d);
    let q = |s: &str| d.quote_ident(s);
    // MySQL's TEXT holds 64 KiB; an error quoting a whole migration body can be longer.
    let long_text = match d.dialect() {
        Dialect::Mysql => "MEDIUMTEXT",
        Dialect::Sqlite | Dialect::Postgres => "TEXT",
    };
    // SQLite: `INTEGER PRIMARY KEY` makes `seq` the rowid and `WITHOUT ROWID` keeps the
    // checksums in their key's b-tree: one b-tree each instead of two, so every migration's
    // commit writes fewer pages.
    // MySQL: the side tables declare utf8mb4, so a file, host or user name outside the
    // database's default character set (often latin1) still fits.
    let (seq_type, checksums_suffix, journal_suffix) = match d.dialect() {
        Dialect::Sqlite => ("INTEGER", " WITHOUT ROWID", ""),
        Dialect::Mysql => (
            "BIGINT",
            " DEFAULT CHARACTER SET utf8mb4",
            " DEFAULT CHARACTER SET utf8mb4",
        ),
        Dialect::Postgres => ("BIGINT", "", ""),
    };
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({} BIGINT NOT NULL, {} VARCHAR(4) NOT NULL, {} VARCHAR({FILE_WIDTH}) NOT NULL, {} CHAR(64) NOT NULL, {} VARCHAR(35) NOT NULL, {} BIGINT, PRIMARY KEY ({}, {})){checksums_suffix}",
            d.quote_table(&c),
            q("version"),
            q("direction"),
            q("file"),
            q("checksum"),
            q("applied_at"),
            q("duration_ms"),
            q("version"),
            q("direction"),
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({} {seq_type} NOT NULL PRIMARY KEY, {} VARCHAR(32) NOT NULL, {} BIGINT, {} BIGINT, {} VARCHAR({FILE_WIDTH}), {} CHAR(64), {} VARCHAR(35) NOT NULL, {} VARCHAR(35) NOT NULL, {} BIGINT NOT NULL, {} VARCHAR(16) NOT NULL, {} {long_text}, {} VARCHAR({TOOL_VERSION_WIDTH}) NOT NULL, {} VARCHAR({HOST_WIDTH}) NOT NULL, {} VARCHAR({USER_WIDTH}) NOT NULL){journal_suffix}",
            d.quote_table(&j),
            q("seq"),
            q("operation"),
            q("version_from"),
            q("version_to"),
            q("file"),
            q("checksum"),
            q("started_at"),
            q("finished_at"),
            q("duration_ms"),
            q("outcome"),
            q("error"),
            q("tool_version"),
            q("host"),
            q("user"),
        ),
    ]
}

/// The DDL of the stored down SQL table: one row per applied version that had a down file
/// when it was applied (or adopted), holding that file's name, checksum and text. MySQL:
/// LONGTEXT (a down file can exceed MEDIUMTEXT's 16 MiB only in theory, but it must never
/// be cut) in utf8mb4.
pub fn downs_ddl(d: &dyn Driver) -> String {
    let q = |s: &str| d.quote_ident(s);
    let (body_type, suffix) = match d.dialect() {
        Dialect::Mysql => ("LONGTEXT", " DEFAULT CHARACTER SET utf8mb4"),
        Dialect::Sqlite | Dialect::Postgres => ("TEXT", ""),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({} BIGINT NOT NULL PRIMARY KEY, {} VARCHAR({FILE_WIDTH}) NOT NULL, {} CHAR(64) NOT NULL, {} {body_type} NOT NULL, {} VARCHAR(35) NOT NULL){suffix}",
        d.quote_table(&downs_table_name(d)),
        q("version"),
        q("file"),
        q("checksum"),
        q("body"),
        q("recorded_at"),
    )
}

/// Creates the stored down SQL table if it is missing (outside any transaction: MySQL's
/// DDL would commit one).
pub(crate) fn ensure_downs(d: &mut dyn Driver) -> Result<()> {
    let name = downs_table_name(d);
    if !d.table_exists(&name)? {
        d.execute(&downs_ddl(d), &[])?;
    }
    Ok(())
}

/// Whether the side tables exist (reads only).
pub fn exists(d: &mut dyn Driver) -> Result<bool> {
    let (c, j) = table_names(d);
    Ok(d.table_exists(&c)? && d.table_exists(&j)?)
}

/// Creates the side tables if they are missing (the stored down SQL table too).
pub(crate) fn ensure(d: &mut dyn Driver) -> Result<()> {
    for sql in ddl(d) {
        d.execute(&sql, &[])?;
    }
    d.execute(&downs_ddl(d), &[])?;
    Ok(())
}

pub(super) fn opt_int(v: Option<u64>) -> Value {
    v.and_then(|v| i64::try_from(v).ok())
        .map_or(Value::Null, Value::Int)
}

pub(super) fn opt_text(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::Text)
}

pub(super) fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
