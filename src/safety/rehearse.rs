//! `rehearse`: apply the pending migrations to a copy (made with the backup API) and time
//! them, with the same integrity checks as a real run; the database itself is only read.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::driver::sqlite::{Sqlite, Target as SqliteTarget};
use crate::error::{Error, Result};
use crate::migrator::{log_string, Event, Migrator};
use crate::plan::Target;
use crate::source::Source;
use crate::version::DbVersion;

use super::integrity::{self, Check};

/// What a rehearsal measured.
#[derive(Debug, Default)]
pub struct Rehearsal {
    /// Time to copy the database.
    pub copy: Duration,
    /// `<version>/<u|d> <name>` and how long it took, in order.
    pub steps: Vec<(String, Duration)>,
    /// Time of the migration run alone (all steps).
    pub total: Duration,
    /// The copy's version before the run.
    pub from: Option<DbVersion>,
    /// The copy's version after a successful run.
    pub to: Option<DbVersion>,
    /// The copy's path while it existed (it is deleted afterwards).
    pub copy_path: PathBuf,
}

/// Rehearses `target` on a copy of the database `database_url` names. The steps that ran
/// before a failure are reported in the error's context by the caller through `partial`.
pub fn rehearse(
    source: Source,
    database_url: &str,
    target: Target,
    check: Check,
    partial: &mut Rehearsal,
) -> Result<()> {
    let cfg = super::sqlite_config(database_url)?.ok_or_else(|| super::unsupported("rehearse"))?;
    let SqliteTarget::File(db) = cfg.target.clone() else {
        return Err(super::unsupported("rehearse"));
    };
    let dir = std::env::temp_dir().join(format!(
        "migrate-rehearse-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Safety {
        msg: format!("cannot create {}: {e}", dir.display()),
        hint: None,
    })?;
    let copy = dir.join(db.file_name().unwrap_or_else(|| "db".as_ref()));
    partial.copy_path = copy.clone();
    let out = open_copy(cfg, &db, &copy, check, partial)
        .and_then(|driver| run_on_copy(source, driver, &copy, target, check, partial));
    super::backup::remove_with_sidecars(&copy);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Copies `db` to `copy` (timed in `partial.copy`) and opens the copy with `cfg`'s
/// options, refusing a copy that fails the integrity check.
fn open_copy(
    mut cfg: crate::driver::sqlite::Config,
    db: &Path,
    copy: &Path,
    check: Check,
    partial: &mut Rehearsal,
) -> Result<Sqlite> {
    let started = Instant::now();
    if super::has_content(db) {
        super::backup::copy_with_backup_api(db, copy).map_err(|reason| Error::Safety {
            msg: format!("cannot copy {} for the rehearsal: {reason}", db.display()),
            hint: Some("check free space in the temporary directory ($TMPDIR)".into()),
        })?;
    }
    partial.copy = started.elapsed();
    cfg.target = SqliteTarget::File(copy.to_path_buf());
    cfg.read_only = false;
    let mut driver = Sqlite::open_config(cfg)?;
    driver.refuse_attach();
    let problems = integrity::check(&mut driver, check);
    if !problems.is_empty() {
        return Err(Error::Corrupt {
            path: db.to_path_buf(),
            check: check.pragma().into(),
            detail: problems.join("; "),
            newest_backup: None,
        });
    }
    Ok(driver)
}

/// Runs `target` on the opened copy, timing each step into `partial`, then checks the
/// copy as a real run's check after would.
fn run_on_copy(
    source: Source,
    driver: Sqlite,
    copy: &Path,
    target: Target,
    check: Check,
    partial: &mut Rehearsal,
) -> Result<()> {
    let mut m = Migrator::new(source, Box::new(driver));
    m.ensure_version_table()?;
    partial.from = Some(m.version()?);
    let steps = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&steps);
    m.set_observer(move |e| {
        if let Event::StepFinished {
            step,
            identifier,
            elapsed,
            ..
        } = e
        {
            if let Ok(mut s) = seen.lock() {
                s.push((log_string(step, identifier), *elapsed));
            }
        }
    });
    let run_started = Instant::now();
    let res = match target {
        Target::Up => m.up(),
        Target::UpBy(n) => m.steps(i64::try_from(n).unwrap_or(i64::MAX)),
        Target::DownBy(n) => m.steps(-i64::try_from(n).unwrap_or(i64::MAX)),
        Target::DownAll => m.down(),
        Target::Goto(v) => m.goto(v),
    };
    partial.total = run_started.elapsed();
    partial.steps = steps.lock().map(|s| s.clone()).unwrap_or_default();
    res?;
    let problems = super::check_after_run(m.driver(), Some(copy), check);
    if !problems.is_empty() {
        return Err(Error::Safety {
            msg: format!(
                "the rehearsal's copy failed PRAGMA {} after migrating: {}",
                check.pragma(),
                problems.join("; ")
            ),
            hint: Some(
                "the real database was not touched; fix the migrations before running them".into(),
            ),
        });
    }
    partial.to = Some(m.version()?);
    Ok(())
}
