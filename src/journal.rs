//! Side tables next to golang-migrate's `schema_migrations`: checksums of the applied files
//! (`<table>_checksums`) and an append-only operation journal (`<table>_journal`).
//! Issue #3. `schema_migrations` itself is never altered; the side tables are created on
//! first need, their names derive from the migrations table so two migration sets never
//! mix, identifiers are quoted by the driver and every value is bound.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::driver::{Dialect, Driver, Value};
use crate::error::{Error, Result};
use crate::source::{checksum, Direction, Source};
use crate::version::DbVersion;

pub use crate::driver::names::{downs_table_name, side_table_name, table_names};

/// Column widths of the side tables (characters), shared by the DDL and [`fit_entry`].
const FILE_WIDTH: usize = 255;
const HOST_WIDTH: usize = 255;
const USER_WIDTH: usize = 255;
const TOOL_VERSION_WIDTH: usize = 64;

/// A journal row with every free-text value in a form the side tables can store: within its
/// column's width and in the server's character set ([`Driver::fit_text`]), so the
/// bookkeeping after a migration that ran cannot fail on a value.
pub fn fit_entry(d: &mut dyn Driver, e: &Entry) -> Entry {
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
const JOURNAL_COLS: [&str; 14] = [
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

const CHECKSUM_COLS: [&str; 6] = [
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
    // commit writes fewer pages (BENCHMARKS.md).
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
pub fn ensure_downs(d: &mut dyn Driver) -> Result<()> {
    let name = downs_table_name(d);
    if !d.table_exists(&name)? {
        d.execute(&downs_ddl(d), &[])?;
    }
    Ok(())
}

/// The down SQL stored for an applied version: its down file as it was when the version
/// was applied (or adopted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDown {
    pub version: u64,
    /// The down file's name.
    pub file: String,
    pub checksum: String,
    /// The file's text.
    pub body: String,
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
fn store_down(
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

/// Whether the side tables exist (reads only).
pub fn exists(d: &mut dyn Driver) -> Result<bool> {
    let (c, j) = table_names(d);
    Ok(d.table_exists(&c)? && d.table_exists(&j)?)
}

/// Creates the side tables if they are missing (the stored down SQL table too).
pub fn ensure(d: &mut dyn Driver) -> Result<()> {
    for sql in ddl(d) {
        d.execute(&sql, &[])?;
    }
    d.execute(&downs_ddl(d), &[])?;
    Ok(())
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(read_host).clone()
}

fn read_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default()
}

fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
}

fn opt_int(v: Option<u64>) -> Value {
    v.and_then(|v| i64::try_from(v).ok())
        .map_or(Value::Null, Value::Int)
}

fn opt_text(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::Text)
}

fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub seq: u64,
    /// `up`, `down`, `up-out-of-order`, `force`, `drop`, `repair`, `adopt`.
    pub operation: String,
    pub version_from: Option<u64>,
    pub version_to: Option<u64>,
    pub file: Option<String>,
    pub checksum: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// `ok` or `failed`.
    pub outcome: String,
    pub error: Option<String>,
    pub tool_version: String,
    pub host: String,
    pub user: String,
}

impl Entry {
    /// A row for an operation that started at `started_at` (RFC 3339) and took `took`.
    pub fn new(operation: &str, started_at: String, took: Duration) -> Entry {
        Entry {
            seq: 0,
            operation: operation.to_string(),
            version_from: None,
            version_to: None,
            file: None,
            checksum: None,
            started_at,
            finished_at: now(),
            duration_ms: ms(took),
            outcome: "ok".into(),
            error: None,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            host: host(),
            user: user(),
        }
    }

    pub fn versions(mut self, from: Option<u64>, to: Option<u64>) -> Entry {
        self.version_from = from;
        self.version_to = to;
        self
    }

    pub fn failed(mut self, e: &Error) -> Entry {
        self.outcome = "failed".into();
        let mut text = e.to_string();
        if text.len() > 60_000 {
            let mut cut = 60_000;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.error = Some(text);
        self
    }
}

/// Appends a journal row (the caller holds the migration lock, so `MAX(seq) + 1` is safe).
pub fn append(d: &mut dyn Driver, e: &Entry) -> Result<()> {
    let e = &fit_entry(d, e);
    let (_, j) = table_names(d);
    let jq = d.quote_table(&j);
    let next = format!(
        "(SELECT COALESCE(MAX({}), 0) + 1 FROM {jq})",
        d.quote_ident("seq")
    );
    // SQLite and PostgreSQL compute the next `seq` inside the INSERT: one statement per row
    // (a migration's bookkeeping is prepared again after each of its DDL statements). MySQL
    // refuses a subquery on the table being inserted into (error 1093): it reads it first.
    let seq = match d.dialect() {
        Dialect::Sqlite | Dialect::Postgres => None,
        Dialect::Mysql => {
            let rows = d.query(&format!("SELECT {next}"), &[])?;
            Some(
                rows.first()
                    .and_then(|r| r.first())
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
            )
        }
    };
    let mut params: Vec<Value> = seq.map(Value::Int).into_iter().collect();
    params.extend([
        Value::Text(e.operation.clone()),
        opt_int(e.version_from),
        opt_int(e.version_to),
        opt_text(&e.file),
        opt_text(&e.checksum),
        Value::Text(e.started_at.clone()),
        Value::Text(e.finished_at.clone()),
        int(e.duration_ms),
        Value::Text(e.outcome.clone()),
        opt_text(&e.error),
        Value::Text(e.tool_version.clone()),
        Value::Text(e.host.clone()),
        Value::Text(e.user.clone()),
    ]);
    let cols: Vec<String> = JOURNAL_COLS.iter().map(|c| d.quote_ident(c)).collect();
    let mut values: Vec<String> = (1..=params.len()).map(|n| d.placeholder(n)).collect();
    if seq.is_none() {
        values.insert(0, next);
    }
    let sql = format!(
        "INSERT INTO {jq} ({}) VALUES ({})",
        cols.join(", "),
        values.join(", ")
    );
    d.execute(&sql, &params)?;
    Ok(())
}

/// Journal rows, newest first; `limit` 0 = all. Empty when the journal does not exist.
pub fn entries(d: &mut dyn Driver, limit: u64) -> Result<Vec<Entry>> {
    let (_, j) = table_names(d);
    if !d.table_exists(&j)? {
        return Ok(Vec::new());
    }
    let cols: Vec<String> = JOURNAL_COLS.iter().map(|c| d.quote_ident(c)).collect();
    let mut sql = format!(
        "SELECT {} FROM {} ORDER BY {} DESC",
        cols.join(", "),
        d.quote_table(&j),
        d.quote_ident("seq")
    );
    if limit > 0 {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = d.query(&sql, &[])?;
    let u = |v: &Value| v.as_i64().and_then(|i| u64::try_from(i).ok());
    let s = |v: &Value| v.clone().into_string();
    Ok(rows
        .iter()
        .filter(|r| r.len() == JOURNAL_COLS.len())
        .map(|r| Entry {
            seq: u(&r[0]).unwrap_or(0),
            operation: s(&r[1]).unwrap_or_default(),
            version_from: u(&r[2]),
            version_to: u(&r[3]),
            file: s(&r[4]),
            checksum: s(&r[5]),
            started_at: s(&r[6]).unwrap_or_default(),
            finished_at: s(&r[7]).unwrap_or_default(),
            duration_ms: u(&r[8]).unwrap_or(0),
            outcome: s(&r[9]).unwrap_or_default(),
            error: s(&r[10]),
            tool_version: s(&r[11]).unwrap_or_default(),
            host: s(&r[12]).unwrap_or_default(),
            user: s(&r[13]).unwrap_or_default(),
        })
        .collect())
}

/// A recorded checksum of an applied file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub version: u64,
    pub direction: Direction,
    pub file: String,
    pub checksum: String,
    pub applied_at: String,
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
pub fn record_version(
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
pub fn record_version_with(
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
pub fn forget_version(d: &mut dyn Driver, version: u64) -> Result<()> {
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
pub fn forget_above(d: &mut dyn Driver, version: Option<u64>) -> Result<()> {
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

/// Makes the recorded checksums say "every file up to `current` is applied, as it is now":
/// rows above `current` or without a file are removed, and every version at or below
/// `current` gets its current files' checksums. `only_new` keeps existing rows (force);
/// otherwise each file whose row differs from it is recorded anew (repair), and a row that
/// matches its file keeps its applied time and duration.
fn accept_files(
    d: &mut dyn Driver,
    source: &Source,
    current: Option<u64>,
    only_new: bool,
) -> Result<()> {
    forget_above(d, current)?;
    let known = recorded(d)?;
    for v in known.keys() {
        if source.entry(*v).is_none() {
            forget_version(d, *v)?;
        }
    }
    let Some(cur) = current else { return Ok(()) };
    let at = now();
    for (v, entry) in source.entries().range(..=cur) {
        let Some(rows) = known.get(v) else {
            record_version(d, source, *v, &at, None)?;
            continue;
        };
        if only_new {
            continue;
        }
        for dir in [Direction::Up, Direction::Down] {
            let row = rows.iter().find(|r| r.direction == dir);
            match (entry.get(dir), row) {
                (None, None) => {}
                (None, Some(_)) => forget_file(d, *v, dir)?,
                (Some(f), row) => {
                    let sum = checksum(&source.read(f)?);
                    if row.is_none_or(|r| r.file != f.name || r.checksum != sum) {
                        forget_file(d, *v, dir)?;
                        insert_row(d, *v, f, &sum, &at, None)?;
                        if dir == Direction::Down {
                            store_down(d, source, *v, Some(f), &at)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Removes one checksum row.
fn forget_file(d: &mut dyn Driver, version: u64, dir: Direction) -> Result<()> {
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
fn insert_row(
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

/// migrate's records reconciled with the database's version (docs/journal.md,
/// "Reconciliation"). `schema_migrations` is the truth; the records are migrate's memory of
/// what it saw. Built by [`reconcile`] without writing; [`apply_reconciled`] writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Whether the side tables exist (false: a database migrate has not used yet).
    pub tracked: bool,
    /// The database's version (for a dirty database, the version that failed).
    pub current: Option<u64>,
    pub dirty: bool,
    /// The records of applied versions: at or below the current version (below it when
    /// dirty). Records above it are history, never judged.
    pub applied: BTreeMap<u64, Vec<Recorded>>,
    /// The highest version migrate's own records hold as applied. A never-recorded file
    /// below it is out of order.
    pub last_known: Option<u64>,
    /// Versions with files and no records, above `last_known` and up to the current
    /// version: applied outside migrate (golang-migrate, a `force`, a manual `UPDATE`).
    pub adopted: Vec<u64>,
    /// Recorded versions above the current version: no longer applied (another tool went
    /// down, a `force` or `UPDATE` to a lower version, a `drop`, a restored older backup).
    pub unapplied: Vec<u64>,
}

impl Reconciled {
    /// Whether `v` counts as applied: at or below the current version, below it when dirty.
    pub fn is_applied(&self, v: u64) -> bool {
        match self.current {
            None => false,
            Some(c) if self.dirty => v < c,
            Some(c) => v <= c,
        }
    }

    /// Whether applying it would write anything.
    pub fn changes(&self) -> bool {
        !self.dirty && (!self.tracked || !self.adopted.is_empty() || !self.unapplied.is_empty())
    }

    /// What applying it did, one line each (the CLI prints them on stderr).
    pub fn describe(&self) -> Vec<String> {
        let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let at = self
            .current
            .map_or_else(|| "nil".to_string(), |v| v.to_string());
        let mut out = Vec::new();
        if !self.tracked {
            if self.current.is_some() {
                out.push(format!(
                    "adopted the database at version {at}: recorded the checksums of its applied files"
                ));
            }
            return out;
        }
        if !self.unapplied.is_empty() {
            out.push(format!(
                "the database is at version {at}, below what migrate recorded: version(s) {} are no longer applied (another tool went down, a force, or a restored backup); their checksums were forgotten, the journal keeps their history",
                list(&self.unapplied)
            ));
        }
        if !self.adopted.is_empty() {
            out.push(format!(
                "adopted version(s) {} applied outside migrate (the database is at version {at}): recorded the checksums of their files",
                list(&self.adopted)
            ));
        }
        out
    }
}

/// Reconciles migrate's records with the database's version `db` (pure: see
/// [`Reconciled`]). Every place that judges the files calls this first: the migrating
/// commands, `status`, the gate and `-db-status`, dry runs and rehearsals.
pub fn reconcile(
    source: &Source,
    recorded: BTreeMap<u64, Vec<Recorded>>,
    tracked: bool,
    db: DbVersion,
) -> Reconciled {
    let mut r = Reconciled {
        tracked,
        current: db.version(),
        dirty: db.is_dirty(),
        ..Reconciled::default()
    };
    for (v, rows) in recorded {
        if r.is_applied(v) {
            r.applied.insert(v, rows);
        } else {
            r.unapplied.push(v);
        }
    }
    r.last_known = r.applied.keys().next_back().copied();
    r.adopted = source
        .entries()
        .keys()
        .copied()
        .filter(|v| r.is_applied(*v) && r.last_known.is_none_or(|k| *v > k))
        .collect();
    r
}

/// [`reconcile`] with the records read from the database. Reads only.
pub fn read_reconciled(d: &mut dyn Driver, source: &Source, db: DbVersion) -> Result<Reconciled> {
    let tracked = exists(d)?;
    let rec = if tracked {
        recorded(d)?
    } else {
        BTreeMap::new()
    };
    Ok(reconcile(source, rec, tracked, db))
}

/// Writes a reconciliation (the caller holds the lock and has refused a dirty database):
/// creates missing side tables, forgets the checksums of versions no longer applied
/// (journal `reconcile`, from the highest of them to the current version), records the
/// current files of adopted versions (journal `adopt`, from the last version migrate knew
/// to the current one; on a database migrate has not used yet, from = to = its version).
/// One transaction. Returns whether it wrote anything a user should hear of.
pub fn apply_reconciled(d: &mut dyn Driver, source: &Source, r: &Reconciled) -> Result<bool> {
    if r.dirty {
        return Ok(false);
    }
    if !r.tracked {
        ensure(d)?;
        if r.current.is_none() {
            return Ok(false);
        }
    }
    if !r.changes() {
        return Ok(false);
    }
    ensure_downs(d)?;
    let started = now();
    let t = std::time::Instant::now();
    in_tx(d, |d| {
        if let Some(&top) = r.unapplied.last() {
            forget_above(d, r.current)?;
            append(
                d,
                &Entry::new("reconcile", started.clone(), t.elapsed())
                    .versions(Some(top), r.current),
            )?;
        }
        if !r.adopted.is_empty() || !r.tracked {
            let at = now();
            for v in &r.adopted {
                record_version(d, source, *v, &at, None)?;
            }
            let from = if r.tracked { r.last_known } else { r.current };
            append(
                d,
                &Entry::new("adopt", started.clone(), t.elapsed()).versions(from, r.current),
            )?;
        }
        Ok(())
    })?;
    Ok(true)
}

/// `migrate repair`: the current files become the recorded truth for every version up to
/// the database's; journaled.
pub fn repair(d: &mut dyn Driver, source: &Source, current: Option<u64>) -> Result<()> {
    ensure(d)?;
    let started = now();
    let t = std::time::Instant::now();
    in_tx(d, |d| {
        accept_files(d, source, current, false)?;
        append(
            d,
            &Entry::new("repair", started, t.elapsed()).versions(current, current),
        )
    })
}

/// After `force V`: versions above V are no longer applied, versions up to V are (their
/// current files are recorded where nothing was); journaled.
pub fn forced(
    d: &mut dyn Driver,
    source: &Source,
    from: DbVersion,
    to: Option<u64>,
    started: String,
    took: Duration,
) -> Result<()> {
    ensure(d)?;
    in_tx(d, |d| {
        accept_files(d, source, to, true)?;
        append(
            d,
            &Entry::new("force", started, took).versions(from.version(), to),
        )
    })
}

/// Runs `f` in a transaction where the driver has them.
pub fn in_tx(d: &mut dyn Driver, f: impl FnOnce(&mut dyn Driver) -> Result<()>) -> Result<()> {
    d.begin()?;
    match f(d) {
        Ok(()) => d.commit(),
        Err(e) => {
            let _ = d.rollback();
            Err(e)
        }
    }
}

/// What to let through knowingly (`-allow-drift`, `-allow-missing`, `-allow-out-of-order`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow {
    pub drift: bool,
    pub missing: bool,
    pub out_of_order: bool,
}

/// One problem with the applied files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An applied file's content changed.
    Drift {
        version: u64,
        file: String,
        recorded: String,
        current: String,
    },
    /// An applied version's file is gone.
    Missing { version: u64, file: String },
    /// A file that was never applied sits below the database's version.
    OutOfOrder {
        version: u64,
        file: String,
        current: u64,
    },
}

impl Finding {
    pub fn version(&self) -> u64 {
        match self {
            Finding::Drift { version, .. }
            | Finding::Missing { version, .. }
            | Finding::OutOfOrder { version, .. } => *version,
        }
    }

    /// The error this finding is refused with.
    pub fn to_error(&self) -> Error {
        self.clone().into_error(0)
    }

    fn into_error(self, more: usize) -> Error {
        match self {
            Finding::Drift {
                version,
                file,
                recorded,
                current,
            } => Error::Drift {
                version,
                file,
                recorded,
                current,
                more,
            },
            Finding::Missing { version, file } => Error::MissingFile {
                version,
                file,
                more,
            },
            Finding::OutOfOrder {
                version,
                file,
                current,
            } => Error::OutOfOrder {
                version,
                file,
                current,
                more,
            },
        }
    }
}

/// Compares the reconciled records with the files: drift and missing files among the
/// applied versions, and never-recorded files below the last version migrate knew applied
/// (out of order). A current version without any file is left to the planner, which
/// reports it as golang-migrate does (`no migration found for version N`).
pub fn findings(source: &Source, r: &Reconciled) -> Result<Vec<Finding>> {
    let recorded = &r.applied;
    let current = r.current;
    let mut out = Vec::new();
    // Every recorded file that still exists is read and hashed: at start-up that is most of
    // the time (2,000 files at N = 1,000, BENCHMARKS.md (b)), so it is done on all cores
    // first; a read error is returned in the same order as before.
    let files: Vec<&crate::source::MigrationFile> = recorded
        .iter()
        .flat_map(|(v, rows)| {
            let entry = source.entry(*v);
            rows.iter()
                .filter_map(move |r| entry.and_then(|e| e.get(r.direction)))
        })
        .collect();
    let mut sums = checksums(source, &files).into_iter();
    for (v, rows) in recorded {
        let entry = source.entry(*v);
        for r in rows {
            match entry.and_then(|e| e.get(r.direction)) {
                Some(f) => {
                    let now = sums
                        .next()
                        .unwrap_or_else(|| source.read(f).map(|b| checksum(&b)))?;
                    if now != r.checksum {
                        out.push(Finding::Drift {
                            version: *v,
                            file: f.name.clone(),
                            recorded: r.checksum.clone(),
                            current: now,
                        });
                    }
                }
                None if entry.is_none() && Some(*v) == current => {}
                None => out.push(Finding::Missing {
                    version: *v,
                    file: r.file.clone(),
                }),
            }
        }
    }
    if let (Some(cur), Some(known)) = (current, r.last_known) {
        for (v, e) in source.entries().range(..known) {
            if recorded.contains_key(v) {
                continue;
            }
            if let Some(up) = &e.up {
                out.push(Finding::OutOfOrder {
                    version: *v,
                    file: up.name.clone(),
                    current: cur,
                });
            }
        }
    }
    out.sort_by_key(Finding::version);
    // A version whose up and down files are both gone is one problem, not two.
    out.dedup_by(|b, a| {
        matches!((a, b), (Finding::Missing { version: x, .. }, Finding::Missing { version: y, .. }) if x == y)
    });
    Ok(out)
}

/// The checksums of `files`, in order, read and hashed by up to four threads. A thread that
/// cannot be started (a process or container thread limit; this also runs in the start-up
/// gate of an embedding application) leaves its share to the calling thread.
fn checksums(source: &Source, files: &[&crate::source::MigrationFile]) -> Vec<Result<String>> {
    let one = |f: &&crate::source::MigrationFile| source.read(f).map(|b| checksum(&b));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || files.len() < 256 {
        return files.iter().map(one).collect();
    }
    let per = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = files
            .chunks(per)
            .map(|part| {
                let spawned = std::thread::Builder::new()
                    .spawn_scoped(scope, move || part.iter().map(one).collect::<Vec<_>>());
                (part, spawned.ok())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|(part, h)| match h {
                Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                None => part.iter().map(one).collect(),
            })
            .collect()
    })
}

/// What the checks let through.
#[derive(Debug, Default)]
pub struct Verified {
    /// Out-of-order versions to apply (`-allow-out-of-order`), ascending.
    pub late: Vec<u64>,
    /// Drifted or missing files let through by `-allow-drift` / `-allow-missing`.
    pub allowed: Vec<Finding>,
}

/// Refuses on findings that are not allowed; returns what was let through. Reads only.
pub fn verify(source: &Source, r: &Reconciled, allow: Allow) -> Result<Verified> {
    verify_except(source, r, allow, &BTreeSet::new())
}

/// [`verify`], with the versions in `undone_from_storage` not missing: a run undoes them
/// with their stored down SQL, so their files are expected to be absent.
pub fn verify_except(
    source: &Source,
    r: &Reconciled,
    allow: Allow,
    undone_from_storage: &BTreeSet<u64>,
) -> Result<Verified> {
    let mut all = findings(source, r)?;
    all.retain(
        |f| !matches!(f, Finding::Missing { version, .. } if undone_from_storage.contains(version)),
    );
    let mut out = Verified::default();
    let mut refused = Vec::new();
    for f in all {
        match &f {
            Finding::Drift { .. } if allow.drift => out.allowed.push(f),
            Finding::Missing { .. } if allow.missing => out.allowed.push(f),
            Finding::OutOfOrder { version, .. } if allow.out_of_order => out.late.push(*version),
            _ => refused.push(f),
        }
    }
    let more = refused.len().saturating_sub(1);
    if let Some(first) = refused.into_iter().next() {
        return Err(first.into_error(more));
    }
    Ok(out)
}

/// Journals a problem let through by an allow flag (`allow-drift` / `allow-missing`),
/// with the problem's text in `error`.
pub fn record_allowed(d: &mut dyn Driver, f: &Finding, current: Option<u64>) -> Result<()> {
    let (op, file, sum) = match f {
        Finding::Drift { file, current, .. } => ("allow-drift", file, Some(current.clone())),
        Finding::Missing { file, .. } => ("allow-missing", file, None),
        Finding::OutOfOrder { file, .. } => ("allow-out-of-order", file, None),
    };
    let mut e = Entry::new(op, now(), Duration::ZERO).versions(current, current);
    e.file = Some(file.clone());
    e.checksum = sum;
    e.error = Some(f.to_error().to_string());
    append(d, &e)
}

/// A migration's state in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Applied,
    /// The version a migration failed at (the database is dirty there).
    Dirty,
    Pending,
    Drifted,
    Missing,
    OutOfOrder,
}

/// One line of `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatus {
    pub version: u64,
    pub name: String,
    pub file: Option<String>,
    pub state: State,
    pub applied_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub recorded_checksum: Option<String>,
    pub current_checksum: Option<String>,
}

/// The overall verdict of `status`, with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    UpToDate,
    Pending,
    Dirty,
    Drift,
    DatabaseNewer,
}

impl Verdict {
    /// The process exit code (`1` is reserved for errors, `2` for usage errors).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::UpToDate => 0,
            Verdict::Pending => 3,
            Verdict::Dirty => 4,
            Verdict::Drift => 5,
            Verdict::DatabaseNewer => 6,
        }
    }
}

/// What `status` reports (also the `-format json` shape).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub version: Option<u64>,
    pub dirty: bool,
    pub latest: Option<u64>,
    /// Whether the side tables exist (false: never run by `migrate`, adopted on next use).
    pub tracked: bool,
    pub verdict: Verdict,
    pub exit_code: i32,
    /// Versions applied outside migrate, recorded by the next migrating command.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied_outside: Vec<u64>,
    /// Versions migrate recorded that are above the database's version: no longer applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_longer_applied: Vec<u64>,
    pub migrations: Vec<MigrationStatus>,
    pub journal: Vec<Entry>,
    /// A dirty database explained from the journal ([`crate::recover::explain`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty_explanation: Option<crate::recover::Explanation>,
}

/// Builds the status without writing anything, judging the records as reconciled
/// ([`reconcile`]) without writing the reconciliation. `d` is `None` when the database does
/// not exist yet (a missing SQLite file).
pub fn status(source: &Source, d: Option<&mut dyn Driver>, journal_rows: u64) -> Result<Status> {
    let (db, r, journal, dirty_explanation) = match d {
        None => (
            DbVersion::Nil,
            reconcile(source, BTreeMap::new(), false, DbVersion::Nil),
            Vec::new(),
            None,
        ),
        Some(d) => {
            let db = d.version()?;
            let r = read_reconciled(d, source, db)?;
            let journal = entries(d, journal_rows)?;
            let explained = crate::recover::explain(d, source)?;
            (db, r, journal, explained)
        }
    };
    let current = db.version();
    let found = findings(source, &r)?;
    let rec = &r.applied;
    let mut by_version: BTreeMap<u64, &Finding> = BTreeMap::new();
    for f in &found {
        by_version.entry(f.version()).or_insert(f);
    }
    let mut versions: BTreeSet<u64> = source.entries().keys().copied().collect();
    versions.extend(rec.keys().copied());
    if let Some(c) = current {
        versions.insert(c);
    }
    let mut migrations = Vec::new();
    for v in versions {
        let entry = source.entry(v);
        let file = entry.and_then(|e| e.up.as_ref().or(e.down.as_ref()));
        let up_row = rec
            .get(&v)
            .and_then(|rows| rows.iter().find(|r| r.direction == Direction::Up));
        let any_row = up_row.or_else(|| rec.get(&v).and_then(|rows| rows.first()));
        let current_sum = match file {
            Some(f) => Some(checksum(&source.read(f)?)),
            None => None,
        };
        let state = match by_version.get(&v) {
            Some(Finding::Drift { .. }) => State::Drifted,
            Some(Finding::Missing { .. }) => State::Missing,
            Some(Finding::OutOfOrder { .. }) => State::OutOfOrder,
            None if r.dirty && Some(v) == current => State::Dirty,
            None if entry.is_none() => State::Missing,
            None if r.is_applied(v) => State::Applied,
            None => State::Pending,
        };
        migrations.push(MigrationStatus {
            version: v,
            name: file
                .map(|f| f.identifier.clone())
                .unwrap_or_else(|| any_row.map(|r| r.file.clone()).unwrap_or_default()),
            file: file
                .map(|f| f.name.clone())
                .or_else(|| any_row.map(|r| r.file.clone())),
            state,
            applied_at: any_row.map(|r| r.applied_at.clone()),
            duration_ms: any_row.and_then(|r| r.duration_ms),
            recorded_checksum: any_row.map(|r| r.checksum.clone()),
            current_checksum: current_sum,
        });
    }
    let latest = source.latest();
    let verdict = if db.is_dirty() {
        Verdict::Dirty
    } else if migrations
        .iter()
        .any(|m| matches!(m.state, State::Drifted | State::Missing | State::OutOfOrder))
        && !matches!((current, latest), (Some(c), Some(l)) if c > l && found.is_empty())
    {
        Verdict::Drift
    } else if matches!((current, latest), (Some(c), l) if l.is_none_or(|l| c > l)) {
        Verdict::DatabaseNewer
    } else if migrations.iter().any(|m| m.state == State::Pending) {
        Verdict::Pending
    } else {
        Verdict::UpToDate
    };
    Ok(Status {
        version: current,
        dirty: db.is_dirty(),
        latest,
        tracked: r.tracked,
        verdict,
        exit_code: verdict.exit_code(),
        applied_outside: if r.tracked {
            r.adopted.clone()
        } else {
            Vec::new()
        },
        no_longer_applied: r.unapplied.clone(),
        migrations,
        journal,
        dirty_explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn src(files: &[(&str, &str)]) -> Source {
        Source::from_files(
            files
                .iter()
                .map(|(n, b)| (n.to_string(), Cow::Owned(b.as_bytes().to_vec()))),
        )
        .expect("source")
    }

    /// The findings at clean version `v`, the records reconciled first.
    fn at(s: &Source, r: &BTreeMap<u64, Vec<Recorded>>, v: u64) -> Result<Vec<Finding>> {
        findings(s, &reconcile(s, r.clone(), true, DbVersion::Clean(v)))
    }

    fn rec(v: u64, file: &str, body: &str) -> Recorded {
        Recorded {
            version: v,
            direction: Direction::Up,
            file: file.into(),
            checksum: checksum(body.as_bytes()),
            applied_at: String::new(),
            duration_ms: None,
        }
    }

    #[test]
    fn findings_cover_drift_missing_out_of_order() -> Result<()> {
        let s = src(&[
            ("1_a.up.sql", "A2"),
            ("2_b.up.sql", "B"),
            ("4_d.up.sql", "D"),
        ]);
        let mut r = BTreeMap::new();
        r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
        r.insert(3, vec![rec(3, "3_c.up.sql", "C")]);
        r.insert(4, vec![rec(4, "4_d.up.sql", "D")]);
        let f = at(&s, &r, 4)?;
        assert_eq!(f.len(), 3);
        assert!(matches!(f[0], Finding::Drift { version: 1, .. }));
        assert!(matches!(f[1], Finding::OutOfOrder { version: 2, .. }));
        assert!(matches!(f[2], Finding::Missing { version: 3, .. }));
        Ok(())
    }

    /// Enough files for the threads in `checksums`: every drifted file is found, in order,
    /// and the first unreadable file (in version order) is the error.
    #[test]
    fn findings_over_many_files_in_parallel() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = BTreeMap::new();
        for v in 1..=600u64 {
            let (up, down) = (format!("{v}_t.up.sql"), format!("{v}_t.down.sql"));
            std::fs::write(dir.path().join(&up), format!("UP {v}")).expect("write");
            std::fs::write(dir.path().join(&down), format!("DOWN {v}")).expect("write");
            let mut down_rec = rec(v, &down, &format!("DOWN {v}"));
            down_rec.direction = Direction::Down;
            r.insert(v, vec![rec(v, &up, &format!("UP {v}")), down_rec]);
        }
        for v in [7, 299, 300, 301, 598] {
            std::fs::write(dir.path().join(format!("{v}_t.down.sql")), "edited").expect("write");
        }
        let s = Source::from_dir(dir.path())?;
        let drifted: Vec<(u64, String)> = at(&s, &r, 600)?
            .into_iter()
            .map(|f| match f {
                Finding::Drift { version, file, .. } => (version, file),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let want: Vec<(u64, String)> = [7, 299, 300, 301, 598]
            .iter()
            .map(|v| (*v, format!("{v}_t.down.sql")))
            .collect();
        assert_eq!(drifted, want);
        // Unreadable (a directory where the file was): the first one in order is reported.
        for v in [450, 120] {
            let p = dir.path().join(format!("{v}_t.up.sql"));
            std::fs::remove_file(&p).expect("rm");
            std::fs::create_dir(&p).expect("mkdir");
        }
        match at(&s, &r, 600) {
            Err(Error::ReadFile { path, .. }) => {
                assert!(path.ends_with("120_t.up.sql"), "{path:?}")
            }
            other => panic!("expected a read error, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn crlf_and_bom_are_not_drift() -> Result<()> {
        let s = src(&[("1_a.up.sql", "\u{feff}X;\r\n")]);
        let mut r = BTreeMap::new();
        r.insert(1, vec![rec(1, "1_a.up.sql", "X;\n")]);
        assert!(at(&s, &r, 1)?.is_empty());
        Ok(())
    }

    #[test]
    fn current_version_without_file_is_left_to_the_planner() -> Result<()> {
        let s = src(&[("1_a.up.sql", "A")]);
        let mut r = BTreeMap::new();
        r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
        r.insert(2, vec![rec(2, "2_b.up.sql", "B")]);
        assert!(at(&s, &r, 2)?.is_empty());
        Ok(())
    }

    /// One row per rule of docs/journal.md "Reconciliation": (recorded versions, database
    /// version, applied records, last known, adopted, unapplied).
    #[test]
    fn reconciliation_rules() {
        let s = src(&[
            ("1_a.up.sql", "A"),
            ("2_b.up.sql", "B"),
            ("3_c.up.sql", "C"),
            ("4_d.up.sql", "D"),
        ]);
        type Row = (
            &'static [u64],
            DbVersion,
            &'static [u64],
            Option<u64>,
            &'static [u64],
            &'static [u64],
        );
        let table: [Row; 9] = [
            // in step: nothing to reconcile
            (&[1, 2], DbVersion::Clean(2), &[1, 2], Some(2), &[], &[]),
            // another tool went up 2 and 3 after migrate applied 1: adopted
            (&[1], DbVersion::Clean(3), &[1], Some(1), &[2, 3], &[]),
            // another tool went down to 2 (or a force, an UPDATE, an older backup)
            (&[1, 2, 3], DbVersion::Clean(2), &[1, 2], Some(2), &[], &[3]),
            // down to nil: nothing is applied any more
            (&[1, 2, 3], DbVersion::Nil, &[], None, &[], &[1, 2, 3]),
            // records emptied (migrate's drop) then another tool went up: all adopted
            (&[], DbVersion::Clean(2), &[], None, &[1, 2], &[]),
            // a hole below the last known version is not adopted (out of order)
            (&[1, 3], DbVersion::Clean(4), &[1, 3], Some(3), &[4], &[]),
            // dirty: the failed version is not applied, nor anything above it
            (&[1, 2, 3], DbVersion::Dirty(3), &[1, 2], Some(2), &[], &[3]),
            (&[1], DbVersion::Dirty(3), &[1], Some(1), &[2], &[]),
            // a version above every file
            (&[1], DbVersion::Clean(9), &[1], Some(1), &[2, 3, 4], &[]),
        ];
        for (recs, db, applied, known, adopted, unapplied) in table {
            let mut r = BTreeMap::new();
            for v in recs {
                r.insert(*v, vec![rec(*v, &format!("{v}_x.up.sql"), "x")]);
            }
            let got = reconcile(&s, r, true, db);
            let case = format!("{recs:?} at {db:?}");
            assert_eq!(
                got.applied.keys().copied().collect::<Vec<_>>(),
                applied,
                "{case}"
            );
            assert_eq!(got.last_known, known, "{case}");
            assert_eq!(got.adopted, adopted, "{case}");
            assert_eq!(got.unapplied, unapplied, "{case}");
        }
        // Never used by migrate: every version up to the database's is adopted.
        let got = reconcile(&s, BTreeMap::new(), false, DbVersion::Clean(3));
        assert_eq!(got.adopted, vec![1, 2, 3]);
        assert!(got.changes());
    }

    /// Out of order only below a version migrate itself recorded; a pending file whose old
    /// record is above the database's version is not drift.
    #[test]
    fn findings_after_reconciliation() -> Result<()> {
        let s = src(&[
            ("1_a.up.sql", "A"),
            ("2_b.up.sql", "B"),
            ("3_c.up.sql", "C2"),
        ]);
        let mut r = BTreeMap::new();
        r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
        assert!(at(&s, &r, 3)?.is_empty(), "2 and 3 were applied outside");
        r.insert(3, vec![rec(3, "3_c.up.sql", "C")]);
        let f = at(&s, &r, 3)?;
        assert!(
            matches!(f[0], Finding::OutOfOrder { version: 2, .. }),
            "{f:?}"
        );
        assert!(matches!(f[1], Finding::Drift { version: 3, .. }), "{f:?}");
        r.insert(2, vec![rec(2, "2_b.up.sql", "B")]);
        assert!(
            at(&s, &r, 2)?.is_empty(),
            "3 is pending again: its edit is not drift"
        );
        Ok(())
    }

    #[test]
    fn exit_codes_are_distinct() {
        let codes: BTreeSet<i32> = [
            Verdict::UpToDate,
            Verdict::Pending,
            Verdict::Dirty,
            Verdict::Drift,
            Verdict::DatabaseNewer,
        ]
        .iter()
        .map(|v| v.exit_code())
        .collect();
        assert_eq!(codes.len(), 5);
        assert!(!codes.contains(&1) && !codes.contains(&2));
    }
}
