//! The `hint:` after a failed migration file: which file, the line the driver reports,
//! and the state the database is in now, read back from the database after the failure
//! (`migrate::error::FailedFile`). The step comes from the migrator's events, the backup
//! from the safety layer.

use std::path::PathBuf;
use std::sync::Mutex;

use migrate::error::{Aftermath, FailedFile, StateAfterFailure};
use migrate::migrator::TxMode;
use migrate::{DbVersion, Direction, Event, Migrator, Step};

/// The step that started and has not finished.
static RUNNING: Mutex<Option<Step>> = Mutex::new(None);
/// The backup taken before this run.
static BACKUP: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Steps that committed in this run.
static FINISHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Follows the migrator's events: a step starts, a step finishes.
pub fn observe(e: &Event<'_>) {
    let now = match e {
        Event::StepStarting { step, .. } => Some(**step),
        Event::StepFinished { .. } => {
            FINISHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }
        _ => return,
    };
    if let Ok(mut r) = RUNNING.lock() {
        *r = now;
    }
}

/// How many steps committed in this run (the backup-reuse rule of the SQLite safety hook).
#[cfg(feature = "sqlite")]
pub fn steps_finished() -> usize {
    FINISHED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The safety layer took a backup before the run.
#[cfg(feature = "sqlite")]
pub fn backup_taken(p: &std::path::Path) {
    if let Ok(mut b) = BACKUP.lock() {
        *b = Some(p.to_path_buf());
    }
}

/// For a run that ended with `e` while a migration file was running: what the failure
/// left behind (for `e`'s own hint) and the hint that names the file and the way on.
pub fn hint(m: &mut Migrator, e: &migrate::Error) -> Option<(Aftermath, String)> {
    let step = RUNNING.lock().ok()?.take()?;
    let entry = m.source().entry(step.version);
    let file = entry.and_then(|en| en.get(step.direction));
    let name = file.map_or_else(|| format!("version {}", step.version), |f| f.name.clone());
    let before = match step.direction {
        Direction::Up => m
            .source()
            .entries()
            .range(..step.version)
            .next_back()
            .map(|(v, _)| *v),
        Direction::Down => Some(step.version),
    };
    let body = file.and_then(|f| m.source().read_text(f).ok());
    let no_transaction = TxMode::of(m.driver(), body.as_deref()).no_transaction();
    let state = match m.version() {
        Ok(DbVersion::Nil) => StateAfterFailure::Clean(None),
        Ok(DbVersion::Clean(v)) => StateAfterFailure::Clean(Some(v)),
        Ok(DbVersion::Dirty(v)) => StateAfterFailure::Dirty(v),
        Err(_) => StateAfterFailure::Unknown,
    };
    let aftermath = match state {
        StateAfterFailure::Clean(_) => Aftermath::RolledBack {
            first: FINISHED.load(std::sync::atomic::Ordering::Relaxed) == 0,
        },
        StateAfterFailure::Dirty(_) => Aftermath::Dirty,
        StateAfterFailure::Unknown => Aftermath::Unknown,
    };
    let backup = BACKUP.lock().ok().and_then(|b| b.clone());
    let hint = FailedFile {
        file: name,
        line: match &body {
            Some(b) => e.line_in_file(b),
            None => e.line(),
        },
        before,
        after: step.target,
        state,
        no_transaction,
        backup,
        error_has_hint: e.hint().is_some(),
    }
    .hint();
    Some((aftermath, hint))
}
