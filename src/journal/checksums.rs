//! The recorded checksums of applied files (`<table>_checksums`): read, record, forget.

use std::collections::BTreeMap;
use std::time::Duration;

use super::downs::store_down;
use super::tables::{downs_table_name, int, ms, table_names, CHECKSUM_COLS, FILE_WIDTH};
use crate::driver::{Driver, Value};
use crate::error::Result;
use crate::source::{checksum, Direction, Source};

/// A recorded checksum of an applied file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The file's version.
    pub version: u64,
    /// Whether it is the up or the down file.
    pub direction: Direction,
    /// The file's name when it was recorded.
    pub file: String,
    /// Its SHA-256 (line endings and a BOM normalized) when it was recorded.
    pub checksum: String,
    /// When it was applied (or adopted), RFC 3339 UTC.
    pub applied_at: String,
    /// How long applying it took, for a file migrate ran itself.
    pub duration_ms: Option<u64>,
}

/// Every recorded checksum, by version; empty when the table does not exist.
pub fn recorded(d: &mut dyn Driver) -> Result<BTreeMap<u64, Vec<Recorded>>> {
    let (c, _) = table_names(d);
    let mut out: BTreeMap<u64, Vec<Recorded>> = BTreeMap::new();
    if !d.table_exists(&c)? {
        return Ok(out);
    }
    let cols: Vec<String> = CHECKSUM_COLS.iter().map(|c| d.quote_ident(c)).collect();
    // Up before down within a version: messages name the up file first.
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}, {} DESC",
        cols.join(", "),
        d.quote_table(&c),
        d.quote_ident("version"),
        d.quote_ident("direction")
    );
    for r in d.query(&sql, &[])? {
        if r.len() != CHECKSUM_COLS.len() {
            continue;
        }
        let Some(version) = r[0].as_i64().and_then(|i| u64::try_from(i).ok()) else {
            continue;
        };
        let direction = if r[1].as_str() == Some("down") {
            Direction::Down
        } else {
            Direction::Up
        };
        out.entry(version).or_default().push(Recorded {
            version,
            direction,
            file: r[2].clone().into_string().unwrap_or_default(),
            checksum: r[3].clone().into_string().unwrap_or_default(),
            applied_at: r[4].clone().into_string().unwrap_or_default(),
            duration_ms: r[5].as_i64().and_then(|i| u64::try_from(i).ok()),
        });
    }
    Ok(out)
}

/// Records the checksums of a version's current files (up and down), replacing old rows.
pub(crate) fn record_version(
    d: &mut dyn Driver,
    source: &Source,
    version: u64,
    applied_at: &str,
    took: Option<Duration>,
) -> Result<()> {
    record_version_with(d, source, version, applied_at, took, None)
}

/// [`record_version`], with the checksum of the up file when the caller has just computed
/// it from the bytes it ran (a migration step), so the file is not read twice. Both rows go
/// in one statement: a step's bookkeeping is prepared again after every DDL statement.
pub(crate) fn record_version_with(
    d: &mut dyn Driver,
    source: &Source,
    version: u64,
    applied_at: &str,
    took: Option<Duration>,
    up_checksum: Option<&str>,
) -> Result<()> {
    forget_version(d, version)?;
    let Some(entry) = source.entry(version) else {
        return Ok(());
    };
    store_down(d, source, version, entry.down.as_ref(), applied_at)?;
    let (c, _) = table_names(d);
    let cols: Vec<String> = CHECKSUM_COLS.iter().map(|c| d.quote_ident(c)).collect();
    let mut rows = Vec::new();
    let mut params = Vec::new();
    for f in [entry.up.as_ref(), entry.down.as_ref()]
        .into_iter()
        .flatten()
    {
        let sum = match (f.direction, up_checksum) {
            (Direction::Up, Some(known)) => known.to_string(),
            _ => checksum(&source.read(f)?),
        };
        let base = params.len();
        let ph: Vec<String> = (1..=CHECKSUM_COLS.len())
            .map(|n| d.placeholder(base + n))
            .collect();
        rows.push(format!("({})", ph.join(", ")));
        params.extend([
            int(version),
            Value::Text(f.direction.to_string()),
            Value::Text(d.fit_text(&f.name, Some(FILE_WIDTH))),
            Value::Text(sum),
            Value::Text(applied_at.to_string()),
            took.map_or(Value::Null, |t| int(ms(t))),
        ]);
    }
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        d.quote_table(&c),
        cols.join(", "),
        rows.join(", ")
    );
    d.execute(&sql, &params)?;
    Ok(())
}

/// Removes a version's checksums (it was migrated down).
pub(crate) fn forget_version(d: &mut dyn Driver, version: u64) -> Result<()> {
    let (c, _) = table_names(d);
    let sql = format!(
        "DELETE FROM {} WHERE {} = {}",
        d.quote_table(&c),
        d.quote_ident("version"),
        d.placeholder(1)
    );
    d.execute(&sql, &[int(version)])?;
    Ok(())
}

/// Removes every checksum and stored down SQL above `version` (`None`: all): those
/// versions are no longer applied.
pub(crate) fn forget_above(d: &mut dyn Driver, version: Option<u64>) -> Result<()> {
    let (c, _) = table_names(d);
    for table in [c, downs_table_name(d)] {
        let ct = d.quote_table(&table);
        match version {
            None => d.execute(&format!("DELETE FROM {ct}"), &[])?,
            Some(v) => d.execute(
                &format!(
                    "DELETE FROM {ct} WHERE {} > {}",
                    d.quote_ident("version"),
                    d.placeholder(1)
                ),
                &[int(v)],
            )?,
        };
    }
    Ok(())
}

/// Removes one checksum row.
pub(super) fn forget_file(d: &mut dyn Driver, version: u64, dir: Direction) -> Result<()> {
    let (c, _) = table_names(d);
    let sql = format!(
        "DELETE FROM {} WHERE {} = {} AND {} = {}",
        d.quote_table(&c),
        d.quote_ident("version"),
        d.placeholder(1),
        d.quote_ident("direction"),
        d.placeholder(2)
    );
    d.execute(&sql, &[int(version), Value::Text(dir.to_string())])?;
    Ok(())
}

/// Inserts one checksum row.
pub(super) fn insert_row(
    d: &mut dyn Driver,
    version: u64,
    f: &crate::source::MigrationFile,
    sum: &str,
    applied_at: &str,
    took: Option<Duration>,
) -> Result<()> {
    let (c, _) = table_names(d);
    let cols: Vec<String> = CHECKSUM_COLS.iter().map(|c| d.quote_ident(c)).collect();
    let ph: Vec<String> = (1..=CHECKSUM_COLS.len())
        .map(|n| d.placeholder(n))
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        d.quote_table(&c),
        cols.join(", "),
        ph.join(", ")
    );
    let name = d.fit_text(&f.name, Some(FILE_WIDTH));
    d.execute(
        &sql,
        &[
            int(version),
            Value::Text(f.direction.to_string()),
            Value::Text(name),
            Value::Text(sum.to_string()),
            Value::Text(applied_at.to_string()),
            took.map_or(Value::Null, |t| int(ms(t))),
        ],
    )?;
    Ok(())
}
