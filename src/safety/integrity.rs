//! Integrity checks: `PRAGMA quick_check` (or the full `integrity_check`) and
//! `PRAGMA foreign_key_check`.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::driver::{Driver, Value};
use crate::error::Result;

/// Which structural check to run (`-integrity-check=quick|full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Check {
    /// `PRAGMA quick_check`: O(N), skips index-content verification.
    #[default]
    Quick,
    /// `PRAGMA integrity_check`: also verifies that indexes match their tables.
    Full,
}

impl Check {
    /// The check an `-integrity-check` value names: `quick` (or empty) or `full`; `None`
    /// for anything else.
    pub fn parse(s: &str) -> Option<Check> {
        match s {
            "quick" | "" => Some(Check::Quick),
            "full" => Some(Check::Full),
            _ => None,
        }
    }
    /// The PRAGMA that runs the check: `quick_check` or `integrity_check`.
    pub fn pragma(self) -> &'static str {
        match self {
            Check::Quick => "quick_check",
            Check::Full => "integrity_check",
        }
    }
}

/// `PRAGMA quick_check` on a connection: the problems found (empty = ok).
pub fn quick_check(c: &Connection) -> std::result::Result<Vec<String>, String> {
    let mut st = c
        .prepare("PRAGMA main.quick_check")
        .map_err(|e| crate::driver::sqlite::message(&e))?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| crate::driver::sqlite::message(&e))?;
    let v: Vec<String> = rows
        .collect::<rusqlite::Result<_>>()
        .map_err(|e| crate::driver::sqlite::message(&e))?;
    Ok(v.into_iter().filter(|r| r != "ok").collect())
}

/// Runs the check through a driver. `Ok(problems)`; an error running the check (a
/// malformed database often fails the PRAGMA itself) is reported as a problem.
pub fn check(d: &mut dyn Driver, which: Check) -> Vec<String> {
    let sql = format!("PRAGMA main.{}", which.pragma());
    match d.query(&sql, &[]) {
        Ok(rows) => rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
            .filter(|s| s != "ok")
            .take(10)
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// Whether a new connection can read the database file's schema, as the next process
/// will: `Err` with SQLite's message when it cannot (a malformed `sqlite_master`, e.g.
/// after a migration edited it through `PRAGMA writable_schema`). A file that is locked
/// right now (this run's own connection in `_locking_mode=EXCLUSIVE`) counts as readable:
/// [`check_reloaded`] reads the schema again on that connection instead.
pub fn opens(db: &Path) -> std::result::Result<(), String> {
    let msg = |e: &rusqlite::Error| crate::driver::sqlite::message(e);
    let busy = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    };
    let c = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| msg(&e))?;
    // Preparing a statement that names a table parses every entry of the schema.
    match c.query_row("SELECT count(*) FROM main.sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(e) if busy(&e) => Ok(()),
        Err(e) => Err(msg(&e)),
    }
}

/// [`check`] after the connection has dropped its cached schema (`PRAGMA
/// writable_schema = RESET`): the check then runs on the schema as stored in the file, not
/// on the copy the connection parsed before a migration edited `sqlite_master`.
pub fn check_reloaded(d: &mut dyn Driver, which: Check) -> Vec<String> {
    if let Err(e) = d.execute("PRAGMA writable_schema = RESET", &[]) {
        return vec![e.to_string()];
    }
    check(d, which)
}

/// The number of rows `PRAGMA foreign_key_check` reports.
pub fn foreign_key_violations(d: &mut dyn Driver) -> Result<usize> {
    Ok(d.query("PRAGMA main.foreign_key_check", &[])?.len())
}
