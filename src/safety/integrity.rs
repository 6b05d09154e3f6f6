//! Integrity checks: `PRAGMA quick_check` (or the full `integrity_check`) and
//! `PRAGMA foreign_key_check`.

use rusqlite::Connection;

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
    pub fn parse(s: &str) -> Option<Check> {
        match s {
            "quick" | "" => Some(Check::Quick),
            "full" => Some(Check::Full),
            _ => None,
        }
    }
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

/// The number of rows `PRAGMA foreign_key_check` reports.
pub fn foreign_key_violations(d: &mut dyn Driver) -> Result<usize> {
    Ok(d.query("PRAGMA main.foreign_key_check", &[])?.len())
}
