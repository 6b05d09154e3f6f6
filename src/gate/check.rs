//! The read-only check of a database against a source, drift detection, and the
//! start-up gate on a URL.

use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::source::{Source, Versions};
use crate::status::{Drift, GateStatus, Policy};
use crate::url::DatabaseUrl;
use crate::version::DbVersion;

/// The version a failed migration leaves an SQLite database at when its transaction was
/// rolled back: the one before it in the source (or -1, nil).
pub(super) fn before(source: &Source, dirty: i64) -> i64 {
    u64::try_from(dirty)
        .ok()
        .and_then(|v| source.prev(v))
        .and_then(|p| i64::try_from(p).ok())
        .unwrap_or(-1)
}

/// Drift detection: applied files edited or missing since they ran, from the checksums
/// the journal recorded (`<table>_checksums`), reconciled with the database's version
/// first as every migrating run does ([`crate::journal::reconcile`]): versions applied
/// outside migrate count as applied as they are now, recorded versions above the
/// database's version count as not applied. Reads only. A database without recorded
/// checksums (migrated by golang-migrate, not yet adopted) has nothing to compare: `None`.
/// [`check`] turns `Some` into [`GateStatus::Drifted`] / [`GateStatus::Missing`] (exit 5).
pub fn drift(m: &mut Migrator) -> Result<Option<Drift>> {
    let reconciled = m.reconciled()?;
    let mut edited = Vec::new();
    let mut missing = Vec::new();
    for f in crate::journal::findings(m.source(), &reconciled)? {
        match f {
            crate::journal::Finding::Drift { file, .. } => edited.push(file),
            crate::journal::Finding::Missing { file, .. } => missing.push(file),
            // A never-recorded file below a version migrate saw applied: the set changed
            // under an applied database, which is drift for a release binary too.
            crate::journal::Finding::OutOfOrder { file, .. } => edited.push(format!(
                "{file} (never recorded as applied, older than the database)"
            )),
        }
    }
    Ok(if !missing.is_empty() {
        Some(Drift::Missing(missing))
    } else if !edited.is_empty() {
        Some(Drift::Edited(edited))
    } else {
        None
    })
}

/// Where an opened database stands against the migrator's source. Reads only: no lock,
/// no table, no write. A missing SQLite file cannot be seen here (opening a `Migrator`
/// read-write creates it); use [`check_url`] for that.
pub fn check(m: &mut Migrator) -> Result<GateStatus> {
    let latest = m.source().latest().ok_or(Error::FirstNotExist)?;
    if !m.driver().version_table_exists()? {
        return Ok(GateStatus::NoVersionTable {
            table: m.driver().table().to_string(),
            latest,
        });
    }
    let pending_after = |m: &Migrator, c: Option<u64>| -> Vec<u64> {
        m.source()
            .entries()
            .keys()
            .copied()
            .filter(|v| c.is_none_or(|c| *v > c))
            .collect()
    };
    match m.version()? {
        DbVersion::Dirty(version) => Ok(GateStatus::Dirty {
            version,
            latest,
            previous: before(m.source(), version),
        }),
        DbVersion::Nil => Ok(GateStatus::Behind {
            current: None,
            latest,
            pending: pending_after(m, None),
        }),
        DbVersion::Clean(current) if current > latest => Ok(GateStatus::Ahead { current, latest }),
        DbVersion::Clean(current) => match drift(m)? {
            Some(Drift::Edited(files)) => Ok(GateStatus::Drifted {
                current,
                latest,
                files,
            }),
            Some(Drift::Missing(files)) => Ok(GateStatus::Missing {
                current,
                latest,
                files,
            }),
            None if current == latest => Ok(GateStatus::UpToDate { version: current }),
            None => Ok(GateStatus::Behind {
                current: Some(current),
                latest,
                pending: pending_after(m, Some(current)),
            }),
        },
    }
}

/// The database URL opened read-only, or the missing SQLite file.
enum Opened {
    #[cfg(feature = "sqlite")]
    NoFile(std::path::PathBuf),
    Open(Box<Migrator>),
}

fn open_read_only(source: Source, database_url: &str) -> Result<Opened> {
    let url = DatabaseUrl::parse(database_url)?;
    #[cfg(feature = "sqlite")]
    if matches!(url.scheme(), "sqlite3" | "sqlite") {
        use crate::driver::sqlite::{Config, Sqlite, Target};
        let open_err = |e| Error::DatabaseOpen(Box::new(e));
        let mut cfg = Config::parse(&url).map_err(open_err)?;
        if let Target::File(p) = &cfg.target {
            // rusqlite creates a missing file on open, even read-only in some builds: look first.
            if !p.exists() {
                return Ok(Opened::NoFile(p.clone()));
            }
        }
        cfg.read_only = true;
        let driver = Sqlite::open_config(cfg).map_err(open_err)?;
        return Ok(Opened::Open(Box::new(Migrator::new(
            source,
            Box::new(driver),
        ))));
    }
    let _ = url;
    Ok(Opened::Open(Box::new(Migrator::open(
        source,
        database_url,
    )?)))
}

/// [`check`] on a database URL, without creating anything: a missing SQLite file is
/// [`GateStatus::NoDatabaseFile`], and the database is opened read-only.
pub fn check_url(source: &Source, database_url: &str) -> Result<GateStatus> {
    match open_read_only(source.clone(), database_url)? {
        #[cfg(feature = "sqlite")]
        Opened::NoFile(path) => Ok(GateStatus::NoDatabaseFile {
            path,
            latest: source.latest().ok_or(Error::FirstNotExist)?,
        }),
        Opened::Open(mut m) => check(&mut m),
    }
}

/// A dirty database's explanation from migrate's journal ([`crate::recover::explain`]),
/// read-only; `None` when it is not dirty or cannot be read.
pub fn explain_url(source: &Source, database_url: &str) -> Option<crate::recover::Explanation> {
    match open_read_only(source.clone(), database_url).ok()? {
        #[cfg(feature = "sqlite")]
        Opened::NoFile(_) => None,
        Opened::Open(mut m) => {
            let source = m.source().clone();
            crate::recover::explain(m.driver(), &source).ok()?
        }
    }
}

pub(super) fn needs_apply(s: &GateStatus) -> bool {
    matches!(
        s,
        GateStatus::Behind { .. }
            | GateStatus::NoVersionTable { .. }
            | GateStatus::NoDatabaseFile { .. }
    )
}

/// The start-up gate on a database URL: `Ok(status)` when `policy` allows start-up,
/// otherwise `Err(Error::Gate(status))` ([`Error::gate_status`] gives it back).
/// Read-only except under [`Policy::ApplyPending`], which applies pending migrations
/// (creating a missing SQLite file) and then reports.
pub fn gate(source: Source, database_url: &str, policy: Policy) -> Result<GateStatus> {
    let status = check_url(&source, database_url)?;
    if policy == Policy::ApplyPending && needs_apply(&status) {
        let mut m = Migrator::open(source, database_url)?;
        return m.gate(policy);
    }
    status.require(policy)
}

/// The gate's decision on a status: here rather than beside [`GateStatus`] because it
/// returns the library's [`Error`], which the status model is below.
impl GateStatus {
    /// `Ok(self)` if `policy` allows it, else `Err(Error::Gate(self))`.
    pub fn require(self, policy: Policy) -> Result<GateStatus> {
        if self.allows(policy) {
            Ok(self)
        } else {
            Err(Error::Gate(Box::new(self)))
        }
    }
}
