//! The `migrate status` report: every migration's state from the files, the version table
//! and migrate's records (reconciled, never written), the journal, and the verdict with
//! its exit code. Above the journal and [`crate::recover`], whose explanation of a dirty
//! database it includes.

use std::collections::{BTreeMap, BTreeSet};

use crate::driver::Driver;
use crate::error::Result;
use crate::journal::{entries, findings, read_reconciled, reconcile, Entry, Finding, Reconciled};
use crate::source::{checksum, Direction, Source};
use crate::status::{ExitCode, Verdict};
use crate::version::DbVersion;

/// A migration's state in `status` (`state` in its JSON, kebab-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Applied, and its files match what was applied.
    Applied,
    /// The version a migration failed at (the database is dirty there).
    Dirty,
    /// Not applied yet.
    Pending,
    /// Applied, and a file changed since.
    Drifted,
    /// Applied (or recorded), and its file is gone.
    Missing,
    /// Never applied, but older than a version migrate saw applied.
    OutOfOrder,
}

/// One line of `status`: a version among the files, the records or the database's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatus {
    /// The migration's version.
    pub version: u64,
    /// Its identifier (`add_tags` in `3_add_tags.up.sql`), or the recorded file name.
    pub name: String,
    /// Its up file (its down file when it has none), or the recorded file name.
    pub file: Option<String>,
    /// Where it stands.
    pub state: State,
    /// When migrate recorded it as applied (RFC 3339).
    pub applied_at: Option<String>,
    /// How long applying it took.
    pub duration_ms: Option<u64>,
    /// The checksum recorded when it was applied.
    pub recorded_checksum: Option<String>,
    /// The checksum of the file as it is now.
    pub current_checksum: Option<String>,
}

/// What `status` reports (also the `-format json` shape).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The database's version; `None` when no migration is applied.
    pub version: Option<u64>,
    /// Whether the version is dirty.
    pub dirty: bool,
    /// The newest file's version.
    pub latest: Option<u64>,
    /// Whether the side tables exist (false: never run by `migrate`, adopted on next use).
    pub tracked: bool,
    /// The overall verdict.
    pub verdict: Verdict,
    /// The verdict's exit code.
    pub exit_code: ExitCode,
    /// Versions applied outside migrate, recorded by the next migrating command.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied_outside: Vec<u64>,
    /// Versions migrate recorded that are above the database's version: no longer applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_longer_applied: Vec<u64>,
    /// Every version, ascending.
    pub migrations: Vec<MigrationStatus>,
    /// The newest journal rows, newest first.
    pub journal: Vec<Entry>,
    /// A dirty database explained from the journal ([`crate::recover::explain`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty_explanation: Option<crate::recover::Explanation>,
}

/// What `status` reads from the database.
struct Read {
    db: DbVersion,
    reconciled: Reconciled,
    journal: Vec<Entry>,
    explained: Option<crate::recover::Explanation>,
}

/// Reads the version, the reconciled records, the journal and a dirty database's
/// explanation; `None` (no database yet) reads as a fresh, untracked one.
fn read(source: &Source, d: Option<&mut dyn Driver>, journal_rows: u64) -> Result<Read> {
    let Some(d) = d else {
        return Ok(Read {
            db: DbVersion::Nil,
            reconciled: reconcile(source, BTreeMap::new(), false, DbVersion::Nil),
            journal: Vec::new(),
            explained: None,
        });
    };
    let db = d.version()?;
    let reconciled = read_reconciled(d, source, db)?;
    let journal = entries(d, journal_rows)?;
    let explained = crate::recover::explain(d, source)?;
    Ok(Read {
        db,
        reconciled,
        journal,
        explained,
    })
}

/// Builds the status without writing anything, judging the records as reconciled
/// ([`reconcile`]) without writing the reconciliation. `d` is `None` when the database does
/// not exist yet (a missing SQLite file).
pub fn status(source: &Source, d: Option<&mut dyn Driver>, journal_rows: u64) -> Result<Status> {
    let Read {
        db,
        reconciled: r,
        journal,
        explained,
    } = read(source, d, journal_rows)?;
    let current = db.version();
    let found = findings(source, &r)?;
    let migrations = migration_lines(source, &r, current, &found)?;
    let latest = source.latest();
    let verdict = judge(db, latest, &migrations, found.is_empty());
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
        dirty_explanation: explained,
    })
}

/// One line per version among the files, the applied records and the database's version.
fn migration_lines(
    source: &Source,
    r: &Reconciled,
    current: Option<u64>,
    found: &[Finding],
) -> Result<Vec<MigrationStatus>> {
    let mut by_version: BTreeMap<u64, &Finding> = BTreeMap::new();
    for f in found {
        by_version.entry(f.version()).or_insert(f);
    }
    let mut versions: BTreeSet<u64> = source.entries().keys().copied().collect();
    versions.extend(r.applied.keys().copied());
    if let Some(c) = current {
        versions.insert(c);
    }
    versions
        .into_iter()
        .map(|v| migration_line(source, r, current, v, by_version.get(&v).copied()))
        .collect()
}

/// The line of version `v`, with the first finding about it, if any.
fn migration_line(
    source: &Source,
    r: &Reconciled,
    current: Option<u64>,
    v: u64,
    finding: Option<&Finding>,
) -> Result<MigrationStatus> {
    let rec = &r.applied;
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
    let state = match finding {
        Some(Finding::Drift { .. }) => State::Drifted,
        Some(Finding::Missing { .. }) => State::Missing,
        Some(Finding::OutOfOrder { .. }) => State::OutOfOrder,
        None if r.dirty && Some(v) == current => State::Dirty,
        None if entry.is_none() => State::Missing,
        None if r.is_applied(v) => State::Applied,
        None => State::Pending,
    };
    Ok(MigrationStatus {
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
    })
}

/// The verdict: dirty first, then drift (unless the database is simply newer than the
/// files and nothing was found), newer, pending, up to date.
fn judge(
    db: DbVersion,
    latest: Option<u64>,
    migrations: &[MigrationStatus],
    nothing_found: bool,
) -> Verdict {
    let current = db.version();
    if db.is_dirty() {
        Verdict::Dirty
    } else if migrations
        .iter()
        .any(|m| matches!(m.state, State::Drifted | State::Missing | State::OutOfOrder))
        && !matches!((current, latest), (Some(c), Some(l)) if c > l && nothing_found)
    {
        Verdict::Drift
    } else if matches!((current, latest), (Some(c), l) if l.is_none_or(|l| c > l)) {
        Verdict::DatabaseNewer
    } else if migrations.iter().any(|m| m.state == State::Pending) {
        Verdict::Pending
    } else {
        Verdict::UpToDate
    }
}
