//! The database commands of a release binary (`-migrate-db`, `-revert-db`,
//! `-downgrade-db`, `-force-db V`, `-db-status`): their checks, backups, messages and exit
//! codes (docs/release-binary.md).

use std::path::PathBuf;

use super::check::{before, check_url, explain_url};
use super::console::{describe_db, Console};
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::source::{Source, Versions};
use crate::status::{exit, join, ExitCode, GateStatus};
use crate::version::DbVersion;

/// One of the database commands an application (or the `migrate` binary) offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbCommand {
    /// `-migrate-db`: apply every pending migration, then exit.
    Migrate,
    /// `-revert-db`: go to the version before the binary's latest (cc-backend's
    /// `Migrate(Version-1)`: down from the latest, up from below), then exit.
    Revert,
    /// `-downgrade-db`: take a database that is ahead of this binary down to the binary's
    /// latest version with the down SQL stored when the newer versions were applied
    /// ([`Migrator::downgrade`]), then exit.
    Downgrade,
    /// `-force-db V`: set the version and clear the dirty flag; `None` = no version given
    /// (refused, with an explanation).
    Force(Option<i64>),
    /// `-db-status`: print where the database stands; the exit code is the gate's.
    Status,
}

/// How the database commands back up a SQLite database file before they change it
/// (`-migrate-db`, `-revert-db`, `-force-db V`; see docs/backups.md). Other drivers,
/// in-memory databases and `file:` URIs are never backed up. Needs the `sqlite` feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// Back up before changing (`--no-backup` turns it off).
    pub enabled: bool,
    /// Where backups go; `None` = the URL's `x-backup-dir`, else beside the database.
    pub dir: Option<PathBuf>,
    /// Backups kept, newest first; 0 keeps all.
    pub keep: usize,
}

impl Default for BackupSettings {
    /// On, beside the database, keep 10 (the library's and the CLI's defaults).
    fn default() -> BackupSettings {
        BackupSettings {
            enabled: true,
            dir: None,
            keep: 10,
        }
    }
}

/// Runs a database command with the default [`BackupSettings`] and returns its exit code
/// (see [`ExitCode`] and docs/release-binary.md for every message).
pub fn run(cmd: DbCommand, source: Source, database_url: &str, c: &mut Console<'_>) -> ExitCode {
    run_with(cmd, source, database_url, &BackupSettings::default(), c)
}

fn names(cmd: DbCommand) -> (&'static str, &'static str) {
    match cmd {
        DbCommand::Migrate => ("MigrateDB", "migrating"),
        DbCommand::Revert => ("RevertDB", "reverting"),
        DbCommand::Downgrade => ("DowngradeDB", "downgrading"),
        DbCommand::Force(_) => ("ForceDB", "forcing"),
        DbCommand::Status => ("DBStatus", ""),
    }
}

/// Everything a database command checks before it writes: the `-force-db` value, where
/// the database stands ([`check_url`], read-only), and the refusals (dirty, ahead,
/// drifted, missing file). `Ok(status)` when the command may go on; `Err(exit code)`
/// after printing why not. `-db-status` prints its report here and returns `Err(code)`.
/// Used by [`run_with`] and by the `migrate` binary's `-migrate-db -dry-run`.
pub fn preflight(
    cmd: DbCommand,
    source: &Source,
    database_url: &str,
    c: &mut Console<'_>,
) -> std::result::Result<GateStatus, ExitCode> {
    let (what, _) = names(cmd);
    let label = describe_db(database_url);
    if source.latest().is_none() {
        return Err(c.error(what, &Error::FirstNotExist));
    }
    if let DbCommand::Force(v) = cmd {
        check_force_value(v, source, c)?;
    }
    let status = match check_url(source, database_url) {
        Ok(s) => s,
        Err(e) => return Err(c.error(what, &e)),
    };
    let explained = match status {
        GateStatus::Dirty { .. } => explain_url(source, database_url).filter(|x| x.known()),
        _ => None,
    };
    if cmd == DbCommand::Status {
        let code = status_report(&status, &label, c);
        if let Some(x) = &explained {
            c.out(&format!("DBStatus: {}", x.summary));
        }
        return Err(code);
    }
    // Refusals before anything is written.
    match &status {
        GateStatus::NoDatabaseFile { path, .. } if cmd != DbCommand::Migrate => {
            c.err(&format!(
                "{what} Failed: database file '{}' does not exist; nothing was created.",
                path.display()
            ));
            return Err(exit::ERROR);
        }
        GateStatus::Dirty { version, .. } if !matches!(cmd, DbCommand::Force(_)) => {
            c.err(&format!(
                "{what} Failed: {label} is dirty at version {version}: the last migration to version {version} has failed."
            ));
            if let Some(x) = &explained {
                c.err(&x.summary);
            }
            c.err(&format!(
                "Please fix the db manually and force the version it is really at with {} -force-db V (after a failed SQLite migration, which is rolled back, that is usually {}).",
                c.prog,
                before(source, *version)
            ));
            return Err(exit::DIRTY);
        }
        GateStatus::Ahead { current, latest }
            if !matches!(cmd, DbCommand::Force(_) | DbCommand::Downgrade) =>
        {
            c.err(&format!(
                "{what} Failed: {label} is at version {current}, newer than this binary's latest migration {latest}; nothing was changed."
            ));
            c.err(&format!(
                "Run the newer binary, or bring the database down to version {latest} with {} -downgrade-db.",
                c.prog
            ));
            return Err(exit::AHEAD);
        }
        GateStatus::Drifted { .. } | GateStatus::Missing { .. } if cmd == DbCommand::Migrate => {
            c.err(&format!("{what} Failed: {status}"));
            return Err(exit::DRIFT);
        }
        _ => {}
    }
    Ok(status)
}

/// `-force-db`'s value: given, at least -1, and one of the binary's versions (or -1).
/// `Err(exit code)` after printing why not.
fn check_force_value(
    v: Option<i64>,
    source: &Source,
    c: &mut Console<'_>,
) -> std::result::Result<(), ExitCode> {
    match v {
        None => {
            c.err("ForceDB Failed: -force-db needs the version the database is really at, e.g. -force-db 5.");
            c.err("After a failed migration that SQLite rolled back, that is the version before the failed one (dirty at 5: -force-db 4); forcing the failed version itself would declare changes that are not there.");
            Err(exit::ERROR)
        }
        Some(v) if v < -1 => {
            c.err("ForceDB Failed: version must be >= -1");
            Err(exit::ERROR)
        }
        Some(v) if v >= 0 && !source.contains(v.unsigned_abs()) => {
            c.err(&format!(
                "ForceDB Failed: version {v} is not one of this binary's migrations ({}).",
                join(&source.entries().keys().copied().collect::<Vec<_>>())
            ));
            Err(exit::ERROR)
        }
        Some(_) => Ok(()),
    }
}

type BackupLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The safety hook before a database command changes a SQLite file
/// ([`crate::safety::Hook`]: integrity check, backup), installed on `m`. The lines it
/// reports go to `lines`, printed once the command has run (the hook runs inside the
/// migrator and cannot hold the console). `None` for anything but a SQLite file.
#[cfg(feature = "sqlite")]
fn install_backup(
    m: &mut Migrator,
    database_url: &str,
    settings: &BackupSettings,
    lines: &BackupLines,
) -> Option<crate::safety::Hook> {
    use crate::safety::Progress;
    let opts = crate::safety::Options {
        backup_dir: settings.dir.clone(),
        keep: settings.keep,
        no_backup: !settings.enabled,
        ..crate::safety::Options::default()
    };
    let out = std::sync::Arc::clone(lines);
    let hook = crate::safety::Hook::new(database_url, &opts)?.on_progress(move |p| {
        let add = |l: String| {
            if let Ok(mut v) = out.lock() {
                v.push(l);
            }
        };
        match p {
            Progress::ForeignKeyViolations(n) => add(format!(
                "Warning: the database already has {n} foreign key violation(s) (PRAGMA foreign_key_check); migrations may not add any"
            )),
            Progress::BackedUp(Some(b)) => {
                if b.reused {
                    add(format!(
                        "Database backup reused: {} (the database has not changed since it was taken)",
                        b.path.display()
                    ));
                } else {
                    add(format!("Database backup created: {}", b.path.display()));
                }
                if let Some(e) = &b.journal_error {
                    add(format!(
                        "Warning: the backup could not be recorded in the journal: {e}"
                    ));
                }
            }
            _ => {}
        }
    });
    hook.install(m);
    Some(hook)
}

/// [`run`] with explicit [`BackupSettings`]: `-migrate-db`, `-revert-db`, `-downgrade-db`
/// and `-force-db V` on a SQLite database file refuse a corrupt database, check it and
/// back it up first (when something will change and the database holds anything: see
/// [`crate::safety::worth_backing_up`]), print `Database backup created: <path>` on
/// `c.err`, and check it again after the change ([`crate::safety::Hook`]).
pub fn run_with(
    cmd: DbCommand,
    source: Source,
    database_url: &str,
    backups: &BackupSettings,
    c: &mut Console<'_>,
) -> ExitCode {
    let (what, _) = names(cmd);
    #[cfg(feature = "sqlite")]
    if let Some(code) = refuse_corrupt(cmd, &source, database_url, backups, c) {
        return code;
    }
    let status = match preflight(cmd, &source, database_url, c) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Nothing goes down unless the database is ahead, and nothing goes up.
    if cmd == DbCommand::Downgrade && !matches!(status, GateStatus::Ahead { .. }) {
        c.out(&format!(
            "DowngradeDB: nothing to do: {status}; only a database newer than this binary is brought down."
        ));
        return exit::OK;
    }
    let target = match target_version(cmd, &source, c) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut m = match Migrator::open(source.clone(), database_url) {
        Ok(m) => m,
        Err(e) => return c.error(what, &e),
    };
    let lines = BackupLines::default();
    #[cfg(feature = "sqlite")]
    let hook = install_backup(&mut m, database_url, backups, &lines);
    #[cfg(not(feature = "sqlite"))]
    let _ = backups;
    let finished = observe(&mut m, &lines);
    let prior = match cmd {
        DbCommand::Force(_) => m.version().ok(),
        _ => None,
    };
    let res = match cmd {
        DbCommand::Force(Some(v)) => m.force(v),
        DbCommand::Migrate => m.up().map(drop),
        DbCommand::Downgrade => m.downgrade().map(drop),
        DbCommand::Revert => m.goto(target).map(drop),
        DbCommand::Force(None) | DbCommand::Status => return exit::ERROR,
    };
    for line in lines.lock().map(|mut l| l.split_off(0)).unwrap_or_default() {
        c.err(&line);
    }
    let ran = Ran {
        cmd,
        target,
        label: describe_db(database_url),
        status: &status,
        prior,
        source: &source,
    };
    #[cfg(feature = "sqlite")]
    if let Some(h) = hook {
        let ok = matches!(res, Ok(()) | Err(Error::NoChange));
        let steps = finished.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(after) = h.after(&mut m, ok, steps) {
            return checked_result(&ran, &res, &after, &h, &mut m, c);
        }
    }
    let _ = finished;
    report_result(&ran, &res, &mut m, c)
}

/// What a database command did, for [`report_result`].
struct Ran<'a> {
    cmd: DbCommand,
    target: u64,
    /// [`describe_db`] of the database.
    label: String,
    status: &'a GateStatus,
    /// The version before `-force-db`.
    prior: Option<DbVersion>,
    source: &'a Source,
}

/// The version a database command goes to: the binary's latest, or for `-revert-db` the
/// one before it. `Err(exit code)` after printing why there is none.
fn target_version(
    cmd: DbCommand,
    source: &Source,
    c: &mut Console<'_>,
) -> std::result::Result<u64, ExitCode> {
    let (what, _) = names(cmd);
    let Some(latest) = source.latest() else {
        return Err(c.error(what, &Error::FirstNotExist));
    };
    if cmd != DbCommand::Revert {
        return Ok(latest);
    }
    source.prev(latest).ok_or_else(|| {
        c.err(&format!(
            "RevertDB Failed: this binary has a single migration (version {latest}); there is no previous version to revert to."
        ));
        exit::ERROR
    })
}

/// Follows the run: the stored down SQL it uses goes to `lines`, and the returned counter
/// counts the steps that committed.
fn observe(
    m: &mut Migrator,
    lines: &BackupLines,
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&finished);
    let stored_lines = std::sync::Arc::clone(lines);
    m.set_observer(move |e| match e {
        crate::migrator::Event::StoredDown { stored, .. } => {
            if let Ok(mut l) = stored_lines.lock() {
                l.push(stored.describe());
            }
        }
        crate::migrator::Event::StepFinished { .. } => {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        _ => {}
    });
    finished
}

/// Before a database command changes a SQLite file: when its version cannot be read
/// because the file is corrupt, the refusal of [`crate::safety::Hook::preflight`] (the
/// integrity check's findings and the newest backup), printed; its exit code.
#[cfg(feature = "sqlite")]
fn refuse_corrupt(
    cmd: DbCommand,
    source: &Source,
    database_url: &str,
    settings: &BackupSettings,
    c: &mut Console<'_>,
) -> Option<ExitCode> {
    if matches!(cmd, DbCommand::Status | DbCommand::Force(None)) {
        return None;
    }
    let opts = crate::safety::Options {
        backup_dir: settings.dir.clone(),
        ..crate::safety::Options::default()
    };
    let hook = crate::safety::Hook::new(database_url, &opts)?;
    if !hook.db().exists() {
        return None;
    }
    let mut m = crate::safety::open_no_create(source.clone(), database_url).ok()?;
    let e = hook.preflight(&mut m).err()?;
    Some(c.error(names(cmd).0, &e))
}

/// The result of a command after which the safety hook's checks ran: a run the hook
/// refused (a corrupt database) and a successful run whose check failed are failures of
/// the command; otherwise [`report_result`]. Then what the checks add: a failed run's
/// check result, and the backup to return to.
#[cfg(feature = "sqlite")]
fn checked_result(
    ran: &Ran<'_>,
    res: &Result<()>,
    after: &crate::safety::After,
    hook: &crate::safety::Hook,
    m: &mut Migrator,
    c: &mut Console<'_>,
) -> ExitCode {
    use crate::safety::Problem;
    let what = names(ran.cmd).0;
    let ok = matches!(res, Ok(()) | Err(Error::NoChange));
    let code = match (res, &after.problem) {
        (Err(e), _) if after.refused => c.error(what, e),
        (_, Some(p)) if ok => {
            c.err(&format!("{what} Failed: {p}"));
            if let Some(e) = &after.journal_error {
                c.err(&format!(
                    "Warning: the failed check could not be recorded in the journal: {}",
                    crate::safety::short(e)
                ));
            }
            exit::ERROR
        }
        _ => report_result(ran, res, m, c),
    };
    if let Some(
        p @ Problem::CheckFailed {
            run_failed: true, ..
        },
    ) = &after.problem
    {
        c.err(&format!("hint: {p}"));
    }
    if let (Some(_), Some(b)) = (&after.problem, &after.backup) {
        c.err(&format!("hint: {}", hook.restore_hint(b)));
    }
    code
}

/// Prints how a database command ended and returns its exit code.
fn report_result(
    ran: &Ran<'_>,
    res: &Result<()>,
    m: &mut Migrator,
    c: &mut Console<'_>,
) -> ExitCode {
    let (what, verb) = names(ran.cmd);
    let (label, target) = (&ran.label, ran.target);
    match (ran.cmd, res) {
        (DbCommand::Force(_), Err(e))
        | (_, Err(e @ (Error::BackupFailed { .. } | Error::DowngradeMissingDown { .. }))) => {
            c.error(what, e)
        }
        (DbCommand::Force(v), Ok(())) => {
            let v = v.unwrap_or_default();
            c.out(&format!("ForceDB Success: Forced {label} to version {v}."));
            let before = before(ran.source, v);
            if ran.prior == Some(DbVersion::Dirty(v)) && before != v {
                c.err(&format!(
                    "Warning: version {v} is the migration that failed. If SQLite rolled it back, its changes are absent and the database is really at {before}; keep {v} only if you applied its changes by hand."
                ));
            }
            exit::OK
        }
        (DbCommand::Downgrade, Ok(())) => {
            let from = match ran.status {
                GateStatus::Ahead { current, .. } => current.to_string(),
                _ => "?".into(),
            };
            c.out(&format!(
                "DowngradeDB Success: Brought {label} down from version {from} to version {target} with the stored down SQL."
            ));
            exit::OK
        }
        (DbCommand::Migrate, Ok(()) | Err(Error::NoChange)) => {
            c.out(&format!(
                "MigrateDB Success: Migrated {label} to version {target}."
            ));
            exit::OK
        }
        (_, Ok(()) | Err(Error::NoChange)) => {
            c.out(&format!(
                "RevertDB Success: Reverted {label} to version {target}."
            ));
            exit::OK
        }
        (_, Err(e)) => {
            c.err(&format!(
                "{what} Failed: {verb} database to version {target}: {e}"
            ));
            if let Some(h) = e.hint() {
                c.err(&format!("hint: {h}"));
            }
            match m.version() {
                Ok(DbVersion::Clean(v)) => c.err(&format!(
                    "The database is at version {v}, clean: the failed migration was rolled back and nothing of it remains."
                )),
                Ok(DbVersion::Nil) => c.err(
                    "The database has no version, clean: the failed migration was rolled back and nothing of it remains.",
                ),
                Ok(DbVersion::Dirty(v)) => c.err(&format!(
                    "The database is dirty at version {v}: fix it by hand, then run {} -force-db V with the version it is really at.",
                    c.prog
                )),
                Err(_) => {}
            }
            exit::ERROR
        }
    }
}

fn status_report(status: &GateStatus, label: &str, c: &mut Console<'_>) -> ExitCode {
    let line = match status {
        GateStatus::UpToDate { version } => {
            format!("{label} is at version {version}, the version this binary needs.")
        }
        GateStatus::Behind {
            current,
            latest,
            pending,
        } => format!(
            "{label} {}, need {latest}: {} pending migration(s) ({}).",
            current.map_or("has no migration applied".to_string(), |c| format!("is at version {c}")),
            pending.len(),
            join(pending)
        ),
        GateStatus::Ahead { current, latest } => format!(
            "{label} is at version {current}, newer than this binary's latest migration {latest}."
        ),
        GateStatus::Dirty { version, latest, .. } => format!(
            "{label} is dirty at version {version}: the last migration to version {version} has failed; need {latest}."
        ),
        GateStatus::Drifted { .. } | GateStatus::Missing { .. } => format!("{label}: {status}."),
        GateStatus::NoVersionTable { table, latest } => {
            format!("{label} has no {table} table (no version recorded), need {latest}.")
        }
        GateStatus::NoDatabaseFile { path, latest } => format!(
            "database file '{}' does not exist, need version {latest}.",
            path.display()
        ),
    };
    c.out(&format!("DBStatus: {line}"));
    status.exit_code()
}
