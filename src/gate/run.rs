//! The database commands of a release binary (`-migrate-db`, `-revert-db`,
//! `-downgrade-db`, `-force-db V`, `-db-status`): their checks, backups, messages and exit
//! codes (docs/release-binary.md).

use std::path::PathBuf;

use super::check::{before, check_url, explain_url};
use super::console::{describe_db, Console};
use crate::error::Error;
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
        match v {
            None => {
                c.err("ForceDB Failed: -force-db needs the version the database is really at, e.g. -force-db 5.");
                c.err("After a failed migration that SQLite rolled back, that is the version before the failed one (dirty at 5: -force-db 4); forcing the failed version itself would declare changes that are not there.");
                return Err(exit::ERROR);
            }
            Some(v) if v < -1 => {
                c.err("ForceDB Failed: version must be >= -1");
                return Err(exit::ERROR);
            }
            Some(v) if v >= 0 && !source.contains(v.unsigned_abs()) => {
                c.err(&format!(
                    "ForceDB Failed: version {v} is not one of this binary's migrations ({}).",
                    join(&source.entries().keys().copied().collect::<Vec<_>>())
                ));
                return Err(exit::ERROR);
            }
            Some(_) => {}
        }
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

type BackupLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The automatic backup before a database command changes a SQLite file: installs the
/// shared hook ([`crate::safety::auto_backup`]) and returns the lines to print
/// (`Database backup created: <path>`, warnings) once the command has run.
#[cfg(feature = "sqlite")]
fn install_backup(m: &mut Migrator, database_url: &str, settings: &BackupSettings) -> BackupLines {
    let lines = BackupLines::default();
    if !settings.enabled {
        return lines;
    }
    let Ok(Some(db)) = crate::safety::sqlite_file(database_url) else {
        return lines;
    };
    let dir = crate::safety::backup_dir(&db, settings.dir.as_deref(), database_url);
    let opts = crate::safety::Options {
        backup_dir: settings.dir.clone(),
        keep: settings.keep,
        ..crate::safety::Options::default()
    };
    let out = std::sync::Arc::clone(&lines);
    m.set_before_change(Box::new(move |d, _plan| {
        let Some(b) = crate::safety::auto_backup(d, &db, &dir, &opts)? else {
            return Ok(());
        };
        if let Ok(mut l) = out.lock() {
            l.push(format!("Database backup created: {}", b.path.display()));
            if let Some(e) = b.journal_error {
                l.push(format!(
                    "Warning: the backup could not be recorded in the journal: {e}"
                ));
            }
        }
        Ok(())
    }));
    lines
}

/// [`run`] with explicit [`BackupSettings`]: `-migrate-db`, `-revert-db` and `-force-db V`
/// back up a SQLite database file first (when something will change and the database
/// holds anything: see [`crate::safety::worth_backing_up`]) and print
/// `Database backup created: <path>` on `c.err`.
pub fn run_with(
    cmd: DbCommand,
    source: Source,
    database_url: &str,
    backups: &BackupSettings,
    c: &mut Console<'_>,
) -> ExitCode {
    let (what, verb) = names(cmd);
    let label = describe_db(database_url);
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
    let Some(latest) = source.latest() else {
        return c.error(what, &Error::FirstNotExist);
    };
    let target = match cmd {
        DbCommand::Revert => match source.prev(latest) {
            Some(p) => p,
            None => {
                c.err(&format!(
                    "RevertDB Failed: this binary has a single migration (version {latest}); there is no previous version to revert to."
                ));
                return exit::ERROR;
            }
        },
        _ => latest,
    };
    let mut m = match Migrator::open(source.clone(), database_url) {
        Ok(m) => m,
        Err(e) => return c.error(what, &e),
    };
    #[cfg(feature = "sqlite")]
    let lines = install_backup(&mut m, database_url, backups);
    #[cfg(not(feature = "sqlite"))]
    let lines = {
        let _ = backups;
        BackupLines::default()
    };
    // The hook cannot hold the console: its lines are printed once the migrator returns,
    // before the result line.
    let stored_lines = std::sync::Arc::clone(&lines);
    m.set_observer(move |e| {
        if let crate::migrator::Event::StoredDown { stored, .. } = e {
            if let Ok(mut l) = stored_lines.lock() {
                l.push(stored.describe());
            }
        }
    });
    let flush = |c: &mut Console<'_>| {
        if let Ok(mut l) = lines.lock() {
            for line in l.drain(..) {
                c.err(&line);
            }
        }
    };
    match cmd {
        DbCommand::Force(Some(v)) => {
            let prior = m.version().ok();
            let res = m.force(v);
            flush(c);
            if let Err(e) = res {
                return c.error(what, &e);
            }
            c.out(&format!("ForceDB Success: Forced {label} to version {v}."));
            if prior == Some(DbVersion::Dirty(v)) && before(&source, v) != v {
                c.err(&format!(
                    "Warning: version {v} is the migration that failed. If SQLite rolled it back, its changes are absent and the database is really at {}; keep {v} only if you applied its changes by hand.",
                    before(&source, v)
                ));
            }
            exit::OK
        }
        DbCommand::Migrate | DbCommand::Revert | DbCommand::Downgrade => {
            let res = match cmd {
                DbCommand::Migrate => m.up(),
                DbCommand::Downgrade => m.downgrade(),
                _ => m.goto(target),
            };
            flush(c);
            match res {
                Err(e @ (Error::BackupFailed { .. } | Error::DowngradeMissingDown { .. })) => {
                    c.error(what, &e)
                }
                Ok(_) if cmd == DbCommand::Downgrade => {
                    let from = match status {
                        GateStatus::Ahead { current, .. } => current.to_string(),
                        _ => "?".into(),
                    };
                    c.out(&format!(
                        "DowngradeDB Success: Brought {label} down from version {from} to version {target} with the stored down SQL."
                    ));
                    exit::OK
                }
                Ok(_) | Err(Error::NoChange) => {
                    if cmd == DbCommand::Migrate {
                        c.out(&format!(
                            "MigrateDB Success: Migrated {label} to version {target}."
                        ));
                    } else {
                        c.out(&format!(
                            "RevertDB Success: Reverted {label} to version {target}."
                        ));
                    }
                    exit::OK
                }
                Err(e) => {
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
        DbCommand::Force(None) | DbCommand::Status => exit::ERROR,
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
