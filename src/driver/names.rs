//! The names of migrate's side tables beside the migrations table (`<table>_checksums`,
//! `<table>_journal`, `<table>_downs`), shortened to fit the server's identifier limit.

use sha2::Digest;

use super::{Driver, IdentLimit};

/// The side tables' names for the driver's migrations table: `<table>_checksums` and
/// `<table>_journal`, unless that is longer than the server's identifier limit
/// (PostgreSQL 63 bytes, MySQL 64 characters, SQLite none). A name that does not fit becomes
/// `<prefix>_<hash>_checksums` / `<prefix>_<hash>_journal`: `<hash>` is the first 8 hex
/// digits of the SHA-256 of the whole table name, `<prefix>` the longest start of the table
/// name (whole characters) that makes the result fit. Names that fit never change, so
/// existing side tables keep theirs.
pub fn table_names(d: &dyn Driver) -> (String, String) {
    let limit = d.identifier_limit();
    (
        side_table_name(d.table(), "_checksums", limit),
        side_table_name(d.table(), "_journal", limit),
    )
}

/// The name of the side table of stored down SQL (`<table>_downs`), shortened by the same
/// rule as [`table_names`].
pub fn downs_table_name(d: &dyn Driver) -> String {
    side_table_name(d.table(), "_downs", d.identifier_limit())
}

/// One side table's name: `<table><suffix>`, shortened as [`table_names`] says.
pub fn side_table_name(table: &str, suffix: &str, limit: Option<IdentLimit>) -> String {
    let plain = format!("{table}{suffix}");
    let Some(limit) = limit else {
        return plain;
    };
    if limit.fits(&plain) {
        return plain;
    }
    let digest = sha2::Sha256::digest(table.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut prefix: String = table.to_string();
    while !prefix.is_empty() && !limit.fits(&format!("{prefix}_{hash}{suffix}")) {
        prefix.pop();
    }
    format!("{prefix}_{hash}{suffix}")
}
