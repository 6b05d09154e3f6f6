//! The operation journal (`<table>_journal`): one append-only row per operation.

use std::time::Duration;

use super::tables::{fit_entry, int, ms, opt_int, opt_text, table_names, JOURNAL_COLS};
use crate::driver::{Dialect, Driver, Value};
use crate::error::{Error, Result};

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

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The row's number, ascending in the order rows were appended.
    pub seq: u64,
    /// `up`, `down`, `up-out-of-order`, `force`, `drop`, `repair`, `adopt`.
    pub operation: String,
    /// The database's version before the operation.
    pub version_from: Option<u64>,
    /// The database's version after it.
    pub version_to: Option<u64>,
    /// The migration file it ran or concerns.
    pub file: Option<String>,
    /// That file's checksum.
    pub checksum: Option<String>,
    /// When it started (RFC 3339 UTC).
    pub started_at: String,
    /// When it finished (RFC 3339 UTC).
    pub finished_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Why it failed, or the problem an allow flag let through.
    pub error: Option<String>,
    /// The version of migrate that wrote the row.
    pub tool_version: String,
    /// The host it ran on.
    pub host: String,
    /// The user it ran as (`$USER`).
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

    /// The row with the database's version before and after the operation.
    pub fn versions(mut self, from: Option<u64>, to: Option<u64>) -> Entry {
        self.version_from = from;
        self.version_to = to;
        self
    }

    /// The row of a failed operation, with the error's text (cut to 60,000 bytes).
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
pub(crate) fn append(d: &mut dyn Driver, e: &Entry) -> Result<()> {
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
