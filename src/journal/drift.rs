//! Drift detection: the reconciled records against the files (edited, missing, out of
//! order), the allow flags, and the thread pool that hashes the files.

use std::collections::BTreeSet;
use std::time::Duration;

use super::entries::{append, now, Entry};
use super::reconcile::Reconciled;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::source::{checksum, Source};

/// What to let through knowingly (`-allow-drift`, `-allow-missing`, `-allow-out-of-order`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow {
    /// Run with applied files that were edited since (`-allow-drift`).
    pub drift: bool,
    /// Run with applied files that are gone (`-allow-missing`).
    pub missing: bool,
    /// Apply never-applied files older than the database's version (`-allow-out-of-order`).
    pub out_of_order: bool,
}

/// One problem with the applied files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An applied file's content changed.
    Drift {
        /// The file's version.
        version: u64,
        /// The file's name.
        file: String,
        /// The checksum recorded when it was applied.
        recorded: String,
        /// Its checksum now.
        current: String,
    },
    /// An applied version's file is gone.
    Missing {
        /// The file's version.
        version: u64,
        /// The file's name, as recorded.
        file: String,
    },
    /// A file that was never applied sits below the database's version.
    OutOfOrder {
        /// The file's version.
        version: u64,
        /// The file's name.
        file: String,
        /// The database's version.
        current: u64,
    },
}

impl Finding {
    /// The version the finding is about.
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
    // Every recorded file that still exists is read and hashed, which is most of a start-up
    // check's time, so it is done on all cores first; a read error is returned in version
    // order, as a sequential loop would return it.
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
pub(crate) fn record_allowed(d: &mut dyn Driver, f: &Finding, current: Option<u64>) -> Result<()> {
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
