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

/// The side tables' names for a migrations table.
pub fn table_names(table: &str) -> (String, String) {
    (format!("{table}_checksums"), format!("{table}_journal"))
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
    let (c, j) = table_names(d.table());
    let q = |s: &str| d.quote_ident(s);
    // MySQL's TEXT holds 64 KiB; an error quoting a whole migration body can be longer.
    let long_text = match d.dialect() {
        Dialect::Mysql => "MEDIUMTEXT",
        Dialect::Sqlite | Dialect::Postgres => "TEXT",
    };
    // SQLite: `INTEGER PRIMARY KEY` makes `seq` the rowid and `WITHOUT ROWID` keeps the
    // checksums in their key's b-tree: one b-tree each instead of two, so every migration's
    // commit writes fewer pages (BENCHMARKS.md).
    let (seq_type, checksums_suffix) = match d.dialect() {
        Dialect::Sqlite => ("INTEGER", " WITHOUT ROWID"),
        Dialect::Mysql | Dialect::Postgres => ("BIGINT", ""),
    };
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({} BIGINT NOT NULL, {} VARCHAR(4) NOT NULL, {} VARCHAR(255) NOT NULL, {} CHAR(64) NOT NULL, {} VARCHAR(35) NOT NULL, {} BIGINT, PRIMARY KEY ({}, {})){checksums_suffix}",
            d.qualified_table(&c),
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
            "CREATE TABLE IF NOT EXISTS {} ({} {seq_type} NOT NULL PRIMARY KEY, {} VARCHAR(32) NOT NULL, {} BIGINT, {} BIGINT, {} VARCHAR(255), {} CHAR(64), {} VARCHAR(35) NOT NULL, {} VARCHAR(35) NOT NULL, {} BIGINT NOT NULL, {} VARCHAR(16) NOT NULL, {} {long_text}, {} VARCHAR(64) NOT NULL, {} VARCHAR(255) NOT NULL, {} VARCHAR(255) NOT NULL)",
            d.qualified_table(&j),
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

/// Whether the side tables exist (reads only).
pub fn exists(d: &mut dyn Driver) -> Result<bool> {
    let (c, j) = table_names(d.table());
    Ok(d.table_exists(&c)? && d.table_exists(&j)?)
}

/// Creates the side tables if they are missing.
pub fn ensure(d: &mut dyn Driver) -> Result<()> {
    for sql in ddl(d) {
        d.execute(&sql, &[])?;
    }
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
    let (_, j) = table_names(d.table());
    let jq = d.qualified_table(&j);
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
    let (_, j) = table_names(d.table());
    if !d.table_exists(&j)? {
        return Ok(Vec::new());
    }
    let cols: Vec<String> = JOURNAL_COLS.iter().map(|c| d.quote_ident(c)).collect();
    let mut sql = format!(
        "SELECT {} FROM {} ORDER BY {} DESC",
        cols.join(", "),
        d.qualified_table(&j),
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
    let (c, _) = table_names(d.table());
    let mut out: BTreeMap<u64, Vec<Recorded>> = BTreeMap::new();
    if !d.table_exists(&c)? {
        return Ok(out);
    }
    let cols: Vec<String> = CHECKSUM_COLS.iter().map(|c| d.quote_ident(c)).collect();
    // Up before down within a version: messages name the up file first.
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}, {} DESC",
        cols.join(", "),
        d.qualified_table(&c),
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
    let (c, _) = table_names(d.table());
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
            Value::Text(f.name.clone()),
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
        d.qualified_table(&c),
        cols.join(", "),
        rows.join(", ")
    );
    d.execute(&sql, &params)?;
    Ok(())
}

/// Removes a version's checksums (it was migrated down).
pub fn forget_version(d: &mut dyn Driver, version: u64) -> Result<()> {
    let (c, _) = table_names(d.table());
    let sql = format!(
        "DELETE FROM {} WHERE {} = {}",
        d.qualified_table(&c),
        d.quote_ident("version"),
        d.placeholder(1)
    );
    d.execute(&sql, &[int(version)])?;
    Ok(())
}

/// Removes every checksum above `version` (`None`: all).
pub fn forget_above(d: &mut dyn Driver, version: Option<u64>) -> Result<()> {
    let (c, _) = table_names(d.table());
    let ct = d.qualified_table(&c);
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
    Ok(())
}

/// Makes the recorded checksums say "every file up to `current` is applied, as it is now":
/// rows above `current` or without a file are removed, and every version at or below
/// `current` gets its current files' checksums. `only_new` keeps existing rows
/// (adoption, force); otherwise every row is rewritten (repair).
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
    for v in source.entries().range(..=cur).map(|(v, _)| *v) {
        if only_new && known.contains_key(&v) {
            continue;
        }
        record_version(d, source, v, &at, None)?;
    }
    Ok(())
}

/// Adopts a database that has no side tables yet (migrated by golang-migrate, or by an
/// older `migrate`): creates them and, when it has a clean version, records the current
/// files of every version up to it and journals `adopt`. Returns whether it adopted.
pub fn adopt_if_needed(d: &mut dyn Driver, source: &Source, db: DbVersion) -> Result<bool> {
    if exists(d)? {
        return Ok(false);
    }
    ensure(d)?;
    let DbVersion::Clean(v) = db else {
        return Ok(false);
    };
    let started = now();
    let t = std::time::Instant::now();
    in_tx(d, |d| {
        accept_files(d, source, Some(v), true)?;
        append(
            d,
            &Entry::new("adopt", started, t.elapsed()).versions(Some(v), Some(v)),
        )
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

/// Compares the recorded checksums with the files. `current` is the database's version;
/// a current version without any file is left to the planner, which reports it as
/// golang-migrate does (`no migration found for version N`).
pub fn findings(
    source: &Source,
    recorded: &BTreeMap<u64, Vec<Recorded>>,
    current: Option<u64>,
) -> Result<Vec<Finding>> {
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
    if let Some(cur) = current {
        for (v, e) in source.entries().range(..cur) {
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

/// Refuses on findings that are not allowed; returns what was let through.
pub fn verify(
    d: &mut dyn Driver,
    source: &Source,
    current: Option<u64>,
    allow: Allow,
) -> Result<Verified> {
    let rec = recorded(d)?;
    let all = findings(source, &rec, current)?;
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
    pub migrations: Vec<MigrationStatus>,
    pub journal: Vec<Entry>,
}

/// Builds the status without writing anything. `d` is `None` when the database does not
/// exist yet (a missing SQLite file).
pub fn status(source: &Source, d: Option<&mut dyn Driver>, journal_rows: u64) -> Result<Status> {
    let (db, tracked, rec, journal) = match d {
        None => (DbVersion::Nil, false, BTreeMap::new(), Vec::new()),
        Some(d) => {
            let db = d.version()?;
            let tracked = exists(d)?;
            let rec = recorded(d)?;
            let journal = entries(d, journal_rows)?;
            (db, tracked, rec, journal)
        }
    };
    let current = db.version();
    let found = if tracked {
        findings(source, &rec, current)?
    } else {
        Vec::new()
    };
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
        let applied = current.is_some_and(|c| v <= c);
        let state = match by_version.get(&v) {
            Some(Finding::Drift { .. }) => State::Drifted,
            Some(Finding::Missing { .. }) => State::Missing,
            Some(Finding::OutOfOrder { .. }) => State::OutOfOrder,
            None if entry.is_none() => State::Missing,
            None if applied => State::Applied,
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
        tracked,
        verdict,
        exit_code: verdict.exit_code(),
        migrations,
        journal,
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
        let f = findings(&s, &r, Some(4))?;
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
        let drifted: Vec<(u64, String)> = findings(&s, &r, Some(600))?
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
        match findings(&s, &r, Some(600)) {
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
        assert!(findings(&s, &r, Some(1))?.is_empty());
        Ok(())
    }

    #[test]
    fn current_version_without_file_is_left_to_the_planner() -> Result<()> {
        let s = src(&[("1_a.up.sql", "A")]);
        let mut r = BTreeMap::new();
        r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
        r.insert(2, vec![rec(2, "2_b.up.sql", "B")]);
        assert!(findings(&s, &r, Some(2))?.is_empty());
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
