//! Reconciliation of migrate's records with the database's version (docs/journal.md), and
//! the commands that rewrite the records: adoption, `repair`, `force`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::checksums::{
    forget_above, forget_file, forget_version, insert_row, record_version, recorded, Recorded,
};
use super::downs::store_down;
use super::entries::{append, now, Entry};
use super::tables::{ensure, ensure_downs, exists};
use crate::driver::{in_transaction, Driver};
use crate::error::Result;
use crate::source::{checksum, Direction, Source};
use crate::version::DbVersion;

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

/// migrate's records reconciled with the database's version (docs/journal.md,
/// "Reconciliation"). `schema_migrations` is the truth; the records are migrate's memory of
/// what it saw. Built by [`reconcile`] without writing; a migrating command writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Whether the side tables exist (false: a database migrate has not used yet).
    pub tracked: bool,
    /// The database's version (for a dirty database, the version that failed).
    pub current: Option<u64>,
    /// Whether the database's version is dirty.
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
pub(crate) fn apply_reconciled(
    d: &mut dyn Driver,
    source: &Source,
    r: &Reconciled,
) -> Result<bool> {
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
    in_transaction(d, |d| {
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
pub(crate) fn repair(d: &mut dyn Driver, source: &Source, current: Option<u64>) -> Result<()> {
    ensure(d)?;
    let started = now();
    let t = std::time::Instant::now();
    in_transaction(d, |d| {
        accept_files(d, source, current, false)?;
        append(
            d,
            &Entry::new("repair", started, t.elapsed()).versions(current, current),
        )
    })
}

/// After `force V`: versions above V are no longer applied, versions up to V are (their
/// current files are recorded where nothing was); journaled.
pub(crate) fn forced(
    d: &mut dyn Driver,
    source: &Source,
    from: DbVersion,
    to: Option<u64>,
    started: String,
    took: Duration,
) -> Result<()> {
    ensure(d)?;
    in_transaction(d, |d| {
        accept_files(d, source, to, true)?;
        append(
            d,
            &Entry::new("force", started, took).versions(from.version(), to),
        )
    })
}
