//! The safety hook around a command that changes a SQLite database file, written once for
//! every caller (the CLI's `up`/`down`/`goto`/`force`/`drop` and the release binary's
//! `-migrate-db`/`-revert-db`/`-downgrade-db`/`-force-db`):
//!
//! 1. [`Hook::preflight`]: a database whose version cannot even be read because it is
//!    corrupt is refused with the newest backup, before anything runs;
//! 2. [`Hook::install`]: inside the migration lock, once a change is certain, the
//!    integrity check, the foreign-key count and the automatic backup ([`auto_backup`]);
//! 3. [`Hook::after`]: the checks after the run, the journal row of a failed check, and
//!    the note that an unchanged database's backup may be reused.
//!
//! The hook prints nothing: it reports [`Progress`] as it works and returns [`After`];
//! the caller decides what to show.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::version::DbVersion;
use crate::Migrator;

use super::{auto_backup, backup, integrity, AutoBackup, Check, Options};

/// Databases at least this large deserve a line before they are checked or backed up
/// (64 MiB: from about that size a backup and a check take a noticeable part of a second
/// on an ordinary disk).
pub const ANNOUNCE_SIZE: u64 = 64 << 20;

/// What the hook is doing, reported as it happens (from inside the migration lock during
/// a run) so that a caller can show it.
#[derive(Debug)]
pub enum Progress<'a> {
    /// An integrity check of `db` (`size` bytes) starts; `backup_dir` is where a backup
    /// follows it, `None` when none does (`no_backup`, or the check after a run).
    Checking {
        /// The database file.
        db: &'a Path,
        /// Its size ([`backup::needed_space`]).
        size: u64,
        /// The backup directory, when a backup follows the check.
        backup_dir: Option<&'a Path>,
    },
    /// The integrity check has finished; a failure is the run's error (before) or the
    /// [`After::problem`] (after).
    Checked,
    /// The database already had this many foreign key violations before the change;
    /// the run may not add any.
    ForeignKeyViolations(usize),
    /// The automatic backup starts (it may still find nothing worth backing up).
    BackingUp {
        /// The database file.
        db: &'a Path,
        /// The backup directory.
        dir: &'a Path,
    },
    /// The automatic backup has ended: the backup made or reused, or `None` (nothing to
    /// back up, `no_backup`, or it failed and the run's error says why).
    BackedUp(Option<&'a AutoBackup>),
}

/// Receives the hook's [`Progress`].
type Reporter = Box<dyn FnMut(Progress<'_>) + Send>;

/// What the hook saw before the change.
#[derive(Debug, Default)]
struct State {
    /// The hook ran: a change was about to be made.
    changed: bool,
    /// The check before the change failed: the run was refused.
    refused: bool,
    backup: Option<PathBuf>,
    fk_before: usize,
    /// The version the backup was taken at, for a run that migrates (steps planned).
    migrates_from: Option<DbVersion>,
    /// `PRAGMA data_version` on the run's connection once the backup was taken: it changes
    /// when any other connection commits, so an equal value after a failed run means the
    /// backup still holds every row another writer put in the database.
    data_version: Option<i64>,
}

/// What the hook and the before-change closure share.
struct Shared {
    db: PathBuf,
    dir: PathBuf,
    opts: Options,
    database_url: String,
    state: Mutex<State>,
    report: Mutex<Reporter>,
}

/// The safety hook of one run on one SQLite database file (see the module docs).
pub struct Hook {
    shared: Arc<Shared>,
    lock_timeout: Duration,
}

/// What went wrong, found by the checks after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The integrity check (or a new connection's read of the schema) failed.
    CheckFailed {
        /// The check that ran.
        check: Check,
        /// What it found.
        problems: Vec<String>,
        /// The run itself had failed.
        run_failed: bool,
    },
    /// A successful run added foreign key violations (this many).
    NewForeignKeyViolations(usize),
    /// A failed run left the database dirty at this version (a step without a
    /// transaction failed part-way).
    Dirty(i64),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::CheckFailed {
                check,
                problems,
                run_failed,
            } => write!(
                f,
                "the database failed PRAGMA {} after {}: {}",
                check.pragma(),
                if *run_failed { "the run" } else { "migrating" },
                problems.join("; ")
            ),
            Problem::NewForeignKeyViolations(n) => write!(
                f,
                "the database has {n} new foreign key violation(s) after migrating (PRAGMA foreign_key_check)"
            ),
            Problem::Dirty(v) => write!(
                f,
                "the migration failed part-way without a transaction: the database is dirty at version {v}"
            ),
        }
    }
}

/// What [`Hook::after`] found, for a run in which the hook ran (a change was made).
#[derive(Debug)]
pub struct After {
    /// What the checks found; `None`: the checks passed (or, for a failed run, the
    /// database is clean and readable).
    pub problem: Option<Problem>,
    /// The check before the change failed, so the run was refused with
    /// [`Error::Corrupt`] and changed nothing.
    pub refused: bool,
    /// The backup taken before the change, if one was.
    pub backup: Option<PathBuf>,
    /// The failed check of a successful run could not be written to the journal.
    pub journal_error: Option<Error>,
    /// A failed run left the database unchanged, but its backup could not be marked as
    /// reusable ([`super::remember_unchanged`]).
    pub reuse_error: Option<Error>,
}

impl Hook {
    /// The hook for `database_url` with `opts`; `None` when the URL does not name a SQLite
    /// database file (other drivers and in-memory databases get no hook).
    pub fn new(database_url: &str, opts: &Options) -> Option<Hook> {
        let db = super::sqlite_file(database_url).ok().flatten()?;
        let dir = super::backup_dir(&db, opts.backup_dir.as_deref(), database_url);
        let report: Reporter = Box::new(|_| {});
        Some(Hook {
            shared: Arc::new(Shared {
                db,
                dir,
                opts: opts.clone(),
                database_url: database_url.to_string(),
                state: Mutex::new(State::default()),
                report: Mutex::new(report),
            }),
            lock_timeout: Duration::from_secs(15),
        })
    }

    /// Sends the hook's [`Progress`] to `f`.
    pub fn on_progress(self, f: impl FnMut(Progress<'_>) + Send + 'static) -> Hook {
        if let Ok(mut r) = self.shared.report.lock() {
            *r = Box::new(f);
        }
        self
    }

    /// How long [`Hook::after`] waits for the migration lock to journal a failed check
    /// (the migrator's `-lock-timeout`; 15 s by default).
    pub fn lock_timeout(mut self, t: Duration) -> Hook {
        self.lock_timeout = t;
        self
    }

    /// The database file.
    pub fn db(&self) -> &Path {
        &self.shared.db
    }

    /// The backup directory.
    pub fn backup_dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Before a changing command: when the database's version cannot even be read
    /// because the file is corrupt, the integrity check runs now and the command is
    /// refused ([`Error::Corrupt`], naming the newest backup). The full check runs in the
    /// hook, under the lock, only once a change is certain.
    pub fn preflight(&self, m: &mut Migrator) -> Result<()> {
        let Err(e) = m.version() else {
            return Ok(());
        };
        match self.refusal(m.driver(), &e) {
            Some(r) => Err(r),
            None => Ok(()),
        }
    }

    /// The refusal for a database that failed to read with `e`, when `e` says the file
    /// is corrupt: the integrity check's findings (or `e`) as [`Error::Corrupt`].
    pub fn refusal(&self, d: &mut dyn Driver, e: &Error) -> Option<Error> {
        use crate::error::DbErrorKind::{Corrupt, NotADatabase};
        if !matches!(e.db_kind(), Some(Corrupt | NotADatabase)) {
            return None;
        }
        let text = e.to_string();
        let mut problems = integrity::check(d, self.shared.opts.check);
        if problems.is_empty() {
            problems.push(text);
        }
        Some(self.shared.corrupt(d, problems))
    }

    /// Installs the check and the backup as `m`'s before-change hook.
    pub fn install(&self, m: &mut Migrator) {
        let shared = Arc::clone(&self.shared);
        m.set_before_change(Box::new(move |d, plan: &Plan| shared.before(d, plan)));
    }

    /// After the run (`ok`: it succeeded; `steps_finished`: the steps it committed): the
    /// checks and their consequences (see [`After`]); `None` when the hook never ran
    /// (nothing was about to change).
    pub fn after(&self, m: &mut Migrator, ok: bool, steps_finished: usize) -> Option<After> {
        let sh = &self.shared;
        let (refused, backup, fk_before, migrates_from, data_version_at_backup) = {
            let s = sh.state.lock().ok()?;
            if !s.changed {
                return None;
            }
            let s = &*s;
            (
                s.refused,
                s.backup.clone(),
                s.fk_before,
                s.migrates_from,
                s.data_version,
            )
        };
        sh.report(Progress::Checking {
            db: &sh.db,
            size: backup::needed_space(&sh.db),
            backup_dir: None,
        });
        let problem = if ok {
            sh.problem_after_success(m.driver(), fk_before)
        } else {
            sh.problem_after_failure(m)
        };
        sh.report(Progress::Checked);
        let mut out = After {
            problem,
            refused,
            backup,
            journal_error: None,
            reuse_error: None,
        };
        match (&out.problem, &out.backup, migrates_from) {
            // Recorded in the journal, under the lock, before any restore replaces the file.
            (Some(p), _, _) if ok => {
                let text = p.to_string();
                out.journal_error = crate::driver::with_lock(m.driver(), self.lock_timeout, |d| {
                    super::journal_failed_check(d, &text)
                })
                .err();
            }
            // A migrating run that failed before any step committed, at the version its
            // backup was taken at, changed nothing but migrate's journal: the backup
            // still stands for the database, and a retry reuses it, unless another
            // connection committed since the backup was taken.
            (None, Some(b), Some(from))
                if !ok
                    && steps_finished == 0
                    && m.version().is_ok_and(|v| v == from)
                    && data_version_at_backup.is_some()
                    && data_version(m.driver()) == data_version_at_backup =>
            {
                let table = m.driver().table().to_string();
                out.reuse_error = super::remember_unchanged(&sh.db, b, &table).err();
            }
            _ => {}
        }
        Some(out)
    }

    /// The hint that undoes the run with `backup`: `to return to the database as it was
    /// before this run: migrate -database <url> restore <backup>` (password redacted).
    pub fn restore_hint(&self, backup: &Path) -> String {
        format!(
            "to return to the database as it was before this run: migrate -database {} restore {}",
            url_word(&self.shared.database_url),
            shell_quote(&backup.display().to_string())
        )
    }
}

/// `PRAGMA data_version` of `d`'s connection: it changes when another connection commits
/// (or checkpoints the WAL), never for the connection's own writes. `None` when it cannot
/// be read.
fn data_version(d: &mut dyn Driver) -> Option<i64> {
    match d
        .query("PRAGMA main.data_version", &[])
        .ok()?
        .first()?
        .first()?
    {
        crate::driver::Value::Int(v) => Some(*v),
        _ => None,
    }
}

impl Shared {
    fn report(&self, p: Progress<'_>) {
        if let Ok(mut r) = self.report.lock() {
            r(p);
        }
    }

    /// The refusal of a database that failed its integrity check.
    fn corrupt(&self, d: &mut dyn Driver, problems: Vec<String>) -> Error {
        let e = Error::Corrupt {
            path: self.db.clone(),
            check: self.opts.check.pragma().into(),
            detail: problems.join("; "),
            newest_backup: backup::newest(&self.db, &self.dir, d.table()),
        };
        with_url(e, &self.database_url)
    }

    /// The before-change hook: check, foreign-key count, backup.
    fn before(&self, d: &mut dyn Driver, plan: &Plan) -> Result<()> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| Error::Other("safety state poisoned".into()))?;
        s.changed = true;
        self.report(Progress::Checking {
            db: &self.db,
            size: backup::needed_space(&self.db),
            backup_dir: (!self.opts.no_backup).then_some(self.dir.as_path()),
        });
        let problems = integrity::check(d, self.opts.check);
        self.report(Progress::Checked);
        if !problems.is_empty() {
            s.refused = true;
            return Err(self.corrupt(d, problems));
        }
        s.fk_before = integrity::foreign_key_violations(d)?;
        if s.fk_before > 0 {
            self.report(Progress::ForeignKeyViolations(s.fk_before));
        }
        let before = d.version()?;
        self.report(Progress::BackingUp {
            db: &self.db,
            dir: &self.dir,
        });
        let made = auto_backup(d, &self.db, &self.dir, &self.opts);
        // Read at once: a commit by another connection from here on is seen.
        let data_version_at_backup = data_version(d);
        self.report(Progress::BackedUp(
            made.as_ref().ok().and_then(Option::as_ref),
        ));
        let Some(b) = made? else {
            return Ok(());
        };
        s.migrates_from = (!plan.steps.is_empty()).then_some(before);
        s.backup = Some(b.path);
        s.data_version = data_version_at_backup;
        Ok(())
    }

    /// After a successful run: the integrity check on the run's connection and on a new
    /// one, then no new foreign key violations.
    fn problem_after_success(&self, d: &mut dyn Driver, fk_before: usize) -> Option<Problem> {
        let check = self.opts.check;
        let problems = super::check_after_run(d, Some(&self.db), check);
        let fk_after = integrity::foreign_key_violations(d).unwrap_or(0);
        if !problems.is_empty() {
            Some(Problem::CheckFailed {
                check,
                problems,
                run_failed: false,
            })
        } else if fk_after > fk_before {
            Some(Problem::NewForeignKeyViolations(fk_after - fk_before))
        } else {
            None
        }
    }

    /// After a failed run: a failed transactional step rolled back; a dirty database needs
    /// recovery, and so does one an earlier step of this run left unreadable (its schema
    /// edited through `writable_schema`), even though the failed step changed nothing.
    fn problem_after_failure(&self, m: &mut Migrator) -> Option<Problem> {
        let check = self.opts.check;
        let problems = super::check_after_run(m.driver(), Some(&self.db), check);
        if !problems.is_empty() {
            return Some(Problem::CheckFailed {
                check,
                problems,
                run_failed: true,
            });
        }
        match m.version() {
            Ok(DbVersion::Dirty(v)) => Some(Problem::Dirty(v)),
            _ => None,
        }
    }
}

/// The database URL as a shell word for the commands the hints print: password
/// redacted, quoted when needed.
pub fn url_word(database_url: &str) -> String {
    shell_quote(&crate::url::redact(database_url))
}

/// Library errors whose hint names a command spell the database `<url>` (they do not know
/// it); the same error, with the real URL ([`url_word`]) in the hint.
pub fn with_url(e: Error, database_url: &str) -> Error {
    match e.hint() {
        Some(h) if h.contains("<url>") => Error::Safety {
            msg: e.to_string(),
            hint: Some(h.replace("<url>", &url_word(database_url))),
        },
        _ => e,
    }
}

/// `s` as one shell word: as it is when it has no special characters, else in single
/// quotes.
pub fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_urls_are_redacted_and_quoted() {
        assert_eq!(url_word("sqlite3:///srv/app.db"), "sqlite3:///srv/app.db");
        assert_eq!(
            url_word("sqlite3:///srv/my app.db?x-backup-dir=/b"),
            "'sqlite3:///srv/my app.db?x-backup-dir=/b'"
        );
        let w = url_word("postgres://ann:s3cret@db/app?sslmode=disable");
        assert!(!w.contains("s3cret"), "{w}");
        let e = with_url(
            Error::Corrupt {
                path: "/srv/app.db".into(),
                check: "quick_check".into(),
                detail: "bad".into(),
                newest_backup: Some("/srv/app.db.backup-v0001-20261122T031500Z".into()),
            },
            "sqlite3:///srv/app.db",
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("nothing was changed; the newest backup is /srv/app.db.backup-v0001-20261122T031500Z: check it and restore it with `migrate -database sqlite3:///srv/app.db restore /srv/app.db.backup-v0001-20261122T031500Z`")
        );
        assert!(e
            .to_string()
            .starts_with("database /srv/app.db failed its integrity check"));
    }

    #[test]
    fn problems_read_as_the_cli_prints_them() {
        let failed = |run_failed| Problem::CheckFailed {
            check: Check::Quick,
            problems: vec!["a".into(), "b".into()],
            run_failed,
        };
        assert_eq!(
            failed(false).to_string(),
            "the database failed PRAGMA quick_check after migrating: a; b"
        );
        assert_eq!(
            failed(true).to_string(),
            "the database failed PRAGMA quick_check after the run: a; b"
        );
        assert_eq!(
            Problem::NewForeignKeyViolations(2).to_string(),
            "the database has 2 new foreign key violation(s) after migrating (PRAGMA foreign_key_check)"
        );
    }
}
