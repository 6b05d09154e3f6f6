//! Stored down SQL (`<table>_downs`): each applied version's down file as it was when the
//! version was applied, so a newer database can be brought down by an older binary.

use std::collections::BTreeMap;

use super::tables::{downs_table_name, int, FILE_WIDTH};
use crate::driver::{Driver, Value};
use crate::error::Result;
use crate::source::{checksum, Source};

/// The down SQL stored for an applied version: its down file as it was when the version
/// was applied (or adopted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDown {
    /// The applied version it undoes.
    pub version: u64,
    /// The down file's name.
    pub file: String,
    /// The SHA-256 of the text, as the checksums table records files.
    pub checksum: String,
    /// The file's text.
    pub body: String,
    /// When it was stored (RFC 3339 UTC).
    pub recorded_at: String,
}

impl StoredDown {
    /// The line a run prints when it uses this stored SQL.
    pub fn describe(&self) -> String {
        format!(
            "{} is not among the migration files: running the down SQL stored when version {} was applied",
            self.file, self.version
        )
    }

    /// The identifier in the file's name (`3_add_tags.down.sql`: `add_tags`), for
    /// golang-migrate's progress line.
    pub fn identifier(&self) -> String {
        crate::source::name::parse(&self.file)
            .map(|p| p.identifier)
            .unwrap_or_else(|| self.file.clone())
    }
}

/// The versions that have stored down SQL, ascending; empty when the table does not exist.
/// Reads only (no bodies).
pub fn stored_down_versions(d: &mut dyn Driver) -> Result<Vec<u64>> {
    let name = downs_table_name(d);
    if !d.table_exists(&name)? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {v} FROM {} ORDER BY {v}",
        d.quote_table(&name),
        v = d.quote_ident("version")
    );
    Ok(d.query(&sql, &[])?
        .iter()
        .filter_map(|r| r.first().and_then(Value::as_i64))
        .filter_map(|i| u64::try_from(i).ok())
        .collect())
}

/// Every stored down SQL, by version; empty when the table does not exist. Reads only.
pub fn stored_downs(d: &mut dyn Driver) -> Result<BTreeMap<u64, StoredDown>> {
    let name = downs_table_name(d);
    let mut out = BTreeMap::new();
    if !d.table_exists(&name)? {
        return Ok(out);
    }
    let cols: Vec<String> = ["version", "file", "checksum", "body", "recorded_at"]
        .iter()
        .map(|c| d.quote_ident(c))
        .collect();
    let sql = format!("SELECT {} FROM {}", cols.join(", "), d.quote_table(&name));
    for r in d.query(&sql, &[])? {
        let [v, file, sum, body, at] = r.as_slice() else {
            continue;
        };
        let Some(version) = v.as_i64().and_then(|i| u64::try_from(i).ok()) else {
            continue;
        };
        out.insert(
            version,
            StoredDown {
                version,
                file: file.clone().into_string().unwrap_or_default(),
                checksum: sum.clone().into_string().unwrap_or_default(),
                body: body.clone().into_string().unwrap_or_default(),
                recorded_at: at.clone().into_string().unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// Stores the down file `f` of `version` (its text as it is now), replacing what was
/// stored; without a down file, removes what was stored. The table must exist
/// ([`ensure_downs`]).
pub(super) fn store_down(
    d: &mut dyn Driver,
    source: &Source,
    version: u64,
    f: Option<&crate::source::MigrationFile>,
    recorded_at: &str,
) -> Result<()> {
    let table = d.quote_table(&downs_table_name(d));
    d.execute(
        &format!(
            "DELETE FROM {table} WHERE {} = {}",
            d.quote_ident("version"),
            d.placeholder(1)
        ),
        &[int(version)],
    )?;
    let Some(f) = f else { return Ok(()) };
    let body = source.read_text(f)?;
    let cols: Vec<String> = ["version", "file", "checksum", "body", "recorded_at"]
        .iter()
        .map(|c| d.quote_ident(c))
        .collect();
    let ph: Vec<String> = (1..=5).map(|n| d.placeholder(n)).collect();
    let sum = checksum(body.as_bytes());
    let name = d.fit_text(&f.name, Some(FILE_WIDTH));
    d.execute(
        &format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            cols.join(", "),
            ph.join(", ")
        ),
        &[
            int(version),
            Value::Text(name),
            Value::Text(sum),
            Value::Text(body),
            Value::Text(recorded_at.to_string()),
        ],
    )?;
    Ok(())
}
