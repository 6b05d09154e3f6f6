//! The start-up gate for applications that ship their migrations inside their binary:
//! a read-only check of the database against the embedded set, policies, typed outcomes,
//! and the cc-backend-style database commands (`-migrate-db`, `-revert-db`, `-force-db V`,
//! `-db-status`) with their messages and exit codes (docs/release-binary.md).
//!
//! What it does better than the hand-written check in cc-backend (spec/cc-backend.md §4):
//! the check creates no table and no file; a dirty database is reported as dirty with its
//! real version even when it is also behind; `-force-db` takes an explicit version.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use migrate::gate::{self, GateStatus, Policy};
//! use migrate::Source;
//!
//! let source = Source::from_files([
//!     ("1_jobs.up.sql".to_string(), b"CREATE TABLE jobs (id INTEGER);".to_vec().into()),
//!     ("2_tags.up.sql".to_string(), b"CREATE TABLE tags (id INTEGER);".to_vec().into()),
//! ])?;
//! let dir = tempfile::tempdir()?;
//! let db = dir.path().join("job.db");
//! let url = format!("sqlite3://{}", db.display());
//!
//! // A missing file is reported, not created.
//! let err = gate::gate(source.clone(), &url, Policy::RequireLatest).unwrap_err();
//! assert!(matches!(err.gate_status(), Some(GateStatus::NoDatabaseFile { .. })));
//! assert!(!db.exists());
//!
//! // ApplyPending creates and migrates it, then reports.
//! let ok = gate::gate(source.clone(), &url, Policy::ApplyPending)?;
//! assert_eq!(ok, GateStatus::UpToDate { version: 2 });
//! assert_eq!(gate::check_url(&source, &url)?.exit_code(), gate::exit::OK);
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::source::{Source, Versions};
use crate::url::DatabaseUrl;
use crate::version::DbVersion;

/// Exit codes of the gate and of the database commands. Scripts can tell the cases apart.
pub mod exit {
    /// The database is at the version the binary needs, or the command succeeded.
    pub const OK: u8 = 0;
    /// Any other error (cannot open, a migration failed, bad `-force-db` use).
    pub const ERROR: u8 = 1;
    /// Migration needed: the database is behind, fresh, has no version table, or no file.
    /// (The same codes as `migrate status`; 2 stays Go's usage error.)
    pub const BEHIND: u8 = 3;
    /// The binary is too old: the database is newer than its latest migration.
    pub const AHEAD: u8 = 6;
    /// The database is dirty (a migration failed part-way).
    pub const DIRTY: u8 = 4;
    /// Applied migration files were edited or are missing (journal, drift detection).
    pub const DRIFT: u8 = 5;
}

/// What the application accepts at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Exactly the binary's latest version, clean (cc-backend's rule).
    RequireLatest,
    /// Apply pending migrations (creating a missing SQLite file), then require the latest.
    ApplyPending,
    /// A clean version >= V; a newer database than the binary is accepted too
    /// (rolling upgrades where a newer binary migrated first).
    AtLeast(u64),
}

/// Applied migrations whose files no longer match (from the journal; see [`drift`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Files applied to the database whose content changed since.
    Edited(Vec<String>),
    /// Files applied to the database that the binary no longer has.
    Missing(Vec<String>),
}

/// The outcome of a check: where the database stands against the embedded migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateStatus {
    /// Clean, at the latest version.
    UpToDate { version: u64 },
    /// Clean (or fresh: `current` is `None`), with migrations pending.
    Behind {
        current: Option<u64>,
        latest: u64,
        pending: Vec<u64>,
    },
    /// Clean, newer than the binary's latest migration: the binary is too old.
    Ahead { current: u64, latest: u64 },
    /// A migration failed part-way; `version` is the real recorded (dirty) version,
    /// reported even when it is also below `latest`. `previous` is the version before it
    /// in the source (-1: none), where a rolled-back SQLite failure leaves the schema.
    Dirty {
        version: i64,
        latest: u64,
        previous: i64,
    },
    /// Applied files were edited since they ran (checksums recorded by the journal).
    Drifted {
        current: u64,
        latest: u64,
        files: Vec<String>,
    },
    /// Applied files are missing from the binary (checksums recorded by the journal).
    Missing {
        current: u64,
        latest: u64,
        files: Vec<String>,
    },
    /// The database exists but has no version table (a legacy or foreign database, or an
    /// empty file).
    NoVersionTable { table: String, latest: u64 },
    /// The SQLite file does not exist (nothing was created).
    NoDatabaseFile { path: PathBuf, latest: u64 },
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// The version a failed migration leaves an SQLite database at when its transaction was
/// rolled back: the one before it in the source (or -1, nil).
fn before(source: &Source, dirty: i64) -> i64 {
    u64::try_from(dirty)
        .ok()
        .and_then(|v| source.prev(v))
        .and_then(|p| i64::try_from(p).ok())
        .unwrap_or(-1)
}

impl GateStatus {
    /// The process exit code for this outcome (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            GateStatus::UpToDate { .. } => exit::OK,
            GateStatus::Behind { .. }
            | GateStatus::NoVersionTable { .. }
            | GateStatus::NoDatabaseFile { .. } => exit::BEHIND,
            GateStatus::Ahead { .. } => exit::AHEAD,
            GateStatus::Dirty { .. } => exit::DIRTY,
            GateStatus::Drifted { .. } | GateStatus::Missing { .. } => exit::DRIFT,
        }
    }

    /// Whether `policy` lets the application start with the database in this state.
    pub fn allows(&self, policy: Policy) -> bool {
        match (self, policy) {
            (GateStatus::UpToDate { .. }, _) => true,
            (
                GateStatus::Behind {
                    current: Some(c), ..
                }
                | GateStatus::Ahead { current: c, .. },
                Policy::AtLeast(v),
            ) => *c >= v,
            _ => false,
        }
    }

    /// `Ok(self)` if `policy` allows it, else `Err(Error::Gate(self))`.
    pub fn require(self, policy: Policy) -> Result<GateStatus> {
        if self.allows(policy) {
            Ok(self)
        } else {
            Err(Error::Gate(Box::new(self)))
        }
    }

    /// The cc-backend-style `Error: ...` line and the advice lines after it, for an
    /// application called `prog` (see docs/release-binary.md for every text).
    pub fn advice(&self, prog: &str) -> Vec<String> {
        match self {
            GateStatus::UpToDate { version } => {
                vec![format!("Database version {version} is the version this binary needs.")]
            }
            GateStatus::Behind {
                current,
                latest,
                pending,
            } => vec![
                match current {
                    Some(c) => format!("Error: unsupported database version {c}, need {latest}."),
                    None => format!(
                        "Error: unsupported database version 0 (no migration applied), need {latest}."
                    ),
                },
                format!("Pending migrations: {}", join(pending)),
                format!("Please backup your database file and run {prog} -migrate-db"),
            ],
            GateStatus::Ahead { current, latest } => vec![
                format!("Error: unsupported database version {current}, need {latest}."),
                format!(
                    "The database is newer than this binary (its latest migration is {latest}): run the newer binary, or bring the database down to version {latest} with {prog} -downgrade-db (it runs the down SQL stored when the newer versions were applied)."
                ),
            ],
            GateStatus::Dirty {
                version,
                latest,
                previous,
            } => vec![
                format!(
                    "Error: last migration to version {version} has failed (the database is dirty at version {version}), need {latest}."
                ),
                format!(
                    "Please fix the db manually and force the version it is really at with {prog} -force-db V (after a failed SQLite migration, which is rolled back, that is usually {previous})."
                ),
            ],
            GateStatus::Drifted {
                current, files, ..
            } => vec![
                format!(
                    "Error: database version {current}: applied migration files were edited since they ran: {}.",
                    files.join(", ")
                ),
                "Please restore the original files, or fix the schema by hand; the binary refuses to guess.".into(),
            ],
            GateStatus::Missing {
                current, files, ..
            } => vec![
                format!(
                    "Error: database version {current}: applied migration files are missing from this binary: {}.",
                    files.join(", ")
                ),
                "Please run the binary that applied them, or restore the files.".into(),
            ],
            GateStatus::NoVersionTable { table, latest } => vec![
                format!(
                    "Error: database has no {table} table (legacy database, or not created by {prog}), need {latest}."
                ),
                format!("Please backup your database file and run {prog} -migrate-db"),
            ],
            GateStatus::NoDatabaseFile { path, latest } => vec![
                format!(
                    "Error: database file '{}' does not exist, need version {latest}.",
                    path.display()
                ),
                format!("Please check the path, or create the database with {prog} -migrate-db"),
            ],
        }
    }

    /// The full refusal an application prints (on stderr) when its start-up gate fails:
    /// `DB Connection: Failed DB version check.` then [`GateStatus::advice`].
    pub fn refusal(&self, prog: &str) -> String {
        let mut s = String::from("DB Connection: Failed DB version check.\n");
        for l in self.advice(prog) {
            s.push_str(&l);
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for GateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateStatus::UpToDate { version } => {
                write!(f, "database is at version {version}, up to date")
            }
            GateStatus::Behind {
                current,
                latest,
                pending,
            } => match current {
                Some(c) => write!(
                    f,
                    "database version {c} is behind {latest}: pending migrations {}",
                    join(pending)
                ),
                None => write!(
                    f,
                    "database has no migration applied, need {latest}: pending migrations {}",
                    join(pending)
                ),
            },
            GateStatus::Ahead { current, latest } => write!(
                f,
                "database version {current} is newer than this binary's latest migration {latest}"
            ),
            GateStatus::Dirty { version, .. } => {
                write!(
                    f,
                    "Dirty database version {version}. Fix and force version."
                )
            }
            GateStatus::Drifted { files, .. } => {
                write!(f, "applied migrations were edited: {}", files.join(", "))
            }
            GateStatus::Missing { files, .. } => {
                write!(f, "applied migrations are missing: {}", files.join(", "))
            }
            GateStatus::NoVersionTable { table, latest } => {
                write!(f, "database has no {table} table, need version {latest}")
            }
            GateStatus::NoDatabaseFile { path, latest } => write!(
                f,
                "database file {} does not exist, need version {latest}",
                path.display()
            ),
        }
    }
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
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    NoFile(PathBuf),
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
        Opened::NoFile(_) => None,
        Opened::Open(mut m) => {
            let source = m.source().clone();
            crate::recover::explain(m.driver(), &source).ok()?
        }
    }
}

fn needs_apply(s: &GateStatus) -> bool {
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

impl Migrator {
    /// The start-up gate on an open migrator (see [`gate()`] for the URL form, which also
    /// reports a missing file instead of creating it).
    pub fn gate(&mut self, policy: Policy) -> Result<GateStatus> {
        let status = check(self)?;
        if policy == Policy::ApplyPending && needs_apply(&status) {
            match self.up() {
                Ok(_) | Err(Error::NoChange) => {}
                Err(e) => return Err(e),
            }
            return check(self)?.require(policy);
        }
        status.require(policy)
    }
}

impl Error {
    /// The gate's outcome, when this error is a refusal by the gate.
    pub fn gate_status(&self) -> Option<&GateStatus> {
        match self {
            Error::Gate(s) => Some(s),
            _ => None,
        }
    }
}

/// For applications' tests: the embedded migrations equal the directory on disk, byte for
/// byte (same migration file names, same contents; other files such as a README are
/// ignored). Catches a binary built from stale files.
pub fn compare_with_dir(embedded: &Source, dir: &Path) -> std::result::Result<(), String> {
    let on_disk = Source::from_dir(dir).map_err(|e| e.to_string())?;
    let files = |s: &Source| -> Vec<crate::source::MigrationFile> {
        s.entries()
            .values()
            .flat_map(|e| e.up.iter().chain(e.down.iter()).cloned())
            .collect()
    };
    let (a, b) = (files(embedded), files(&on_disk));
    let names = |v: &[crate::source::MigrationFile]| -> Vec<String> {
        v.iter().map(|f| f.name.clone()).collect()
    };
    let only_embedded: Vec<String> = names(&a)
        .into_iter()
        .filter(|n| !names(&b).contains(n))
        .collect();
    let only_disk: Vec<String> = names(&b)
        .into_iter()
        .filter(|n| !names(&a).contains(n))
        .collect();
    let mut problems = Vec::new();
    if !only_embedded.is_empty() {
        problems.push(format!("only embedded: {}", only_embedded.join(", ")));
    }
    if !only_disk.is_empty() {
        problems.push(format!(
            "only in {}: {}",
            dir.display(),
            only_disk.join(", ")
        ));
    }
    for f in &a {
        if let Some(g) = b.iter().find(|g| g.name == f.name) {
            let x = embedded.read(f).map_err(|e| e.to_string())?;
            let y = on_disk.read(g).map_err(|e| e.to_string())?;
            if x != y {
                problems.push(format!("{} differs", f.name));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Panics unless the embedded migrations equal `dir` byte for byte ([`compare_with_dir`]).
#[track_caller]
pub fn assert_embedded_matches_dir(embedded: &Source, dir: impl AsRef<Path>) {
    if let Err(e) = compare_with_dir(embedded, dir.as_ref()) {
        panic!(
            "embedded migrations do not match {}: {e}",
            dir.as_ref().display()
        );
    }
}

/// Rewrites the single-dash spellings cc-backend users type (`-migrate-db`,
/// `-force-db=5`, ..., and `-no-backup`) to the double-dash ones clap accepts. Stops at `--`.
pub fn normalize_db_args<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    const FLAGS: [&str; 6] = [
        "migrate-db",
        "revert-db",
        "downgrade-db",
        "force-db",
        "db-status",
        "no-backup",
    ];
    let mut done = false;
    args.into_iter()
        .map(Into::into)
        .map(|a: String| {
            if done {
                return a;
            }
            if a == "--" {
                done = true;
                return a;
            }
            match a.strip_prefix('-') {
                Some(rest) if !rest.starts_with('-') => {
                    let name = rest.split('=').next().unwrap_or("");
                    if FLAGS.contains(&name) {
                        format!("-{a}")
                    } else {
                        a
                    }
                }
                _ => a,
            }
        })
        .collect()
}

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

/// Where the database commands print: success and status on `out` (stdout), failures
/// and warnings on `err` (stderr). `prog` is the program name used in advice.
pub struct Console<'a> {
    pub prog: String,
    pub out: Box<dyn Write + 'a>,
    pub err: Box<dyn Write + 'a>,
}

impl Console<'static> {
    /// The process's stdout and stderr.
    pub fn stdio(prog: &str) -> Console<'static> {
        Console {
            prog: prog.to_string(),
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
        }
    }
}

impl Console<'_> {
    fn out(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
    }
    fn err(&mut self, s: &str) {
        let _ = writeln!(self.err, "{s}");
    }
    fn error(&mut self, what: &str, e: &Error) -> u8 {
        self.err(&format!("{what} Failed: {e}"));
        if let Some(h) = e.hint() {
            self.err(&format!("hint: {h}"));
        }
        exit::ERROR
    }
}

/// `SQLite database at '<path>'` (cc-backend's wording), or the redacted URL.
pub fn describe_db(database_url: &str) -> String {
    #[cfg(feature = "sqlite")]
    if let Ok(url) = DatabaseUrl::parse(database_url) {
        if matches!(url.scheme(), "sqlite3" | "sqlite") {
            if let Ok(cfg) = crate::driver::sqlite::Config::parse(&url) {
                if let crate::driver::sqlite::Target::File(p) = cfg.target {
                    return format!("SQLite database at '{}'", p.display());
                }
            }
        }
    }
    format!("database at '{}'", crate::url::redact(database_url))
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
/// (see [`exit`] and docs/release-binary.md for every message).
pub fn run(cmd: DbCommand, source: Source, database_url: &str, c: &mut Console<'_>) -> u8 {
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
) -> std::result::Result<GateStatus, u8> {
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
) -> std::result::Result<(), u8> {
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
) -> u8 {
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
) -> std::result::Result<u64, u8> {
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
) -> Option<u8> {
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
) -> u8 {
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
fn report_result(ran: &Ran<'_>, res: &Result<()>, m: &mut Migrator, c: &mut Console<'_>) -> u8 {
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

fn status_report(status: &GateStatus, label: &str, c: &mut Console<'_>) -> u8 {
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

/// The database flags an application flattens into its own clap parser:
/// `#[command(flatten)] db: migrate::gate::DbArgs`. clap spells them `--migrate-db`;
/// call [`normalize_db_args`] on argv first to accept cc-backend's `-migrate-db` too.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct DbArgs {
    /// Migrate database to supported version and exit
    #[arg(long = "migrate-db", conflicts_with_all = ["revert_db", "force_db", "db_status"])]
    pub migrate_db: bool,
    /// Migrate database to previous version and exit
    #[arg(long = "revert-db", conflicts_with_all = ["force_db", "db_status", "downgrade_db"])]
    pub revert_db: bool,
    /// Bring a database newer than this binary down to its latest version with the down
    /// SQL stored when the newer versions were applied, and exit
    #[arg(long = "downgrade-db", conflicts_with_all = ["migrate_db", "force_db", "db_status"])]
    pub downgrade_db: bool,
    /// Force database version V, clear dirty flag and exit (V is required: after a failed
    /// SQLite migration it is usually the version before the failed one)
    #[arg(long = "force-db", value_name = "V", num_args = 0..=1, allow_negative_numbers = true, conflicts_with = "db_status")]
    pub force_db: Option<Option<i64>>,
    /// Print the database's version against this binary's and exit (exit code 0/2/3/4/5)
    #[arg(long = "db-status")]
    pub db_status: bool,
    /// With --migrate-db, --revert-db or --force-db: do not back the SQLite database file
    /// up first (by default a backup is made beside it, the newest 10 kept)
    #[arg(long = "no-backup")]
    pub no_backup: bool,
}

#[cfg(feature = "cli")]
impl DbArgs {
    /// The command given, if any.
    pub fn command(&self) -> Option<DbCommand> {
        if self.migrate_db {
            Some(DbCommand::Migrate)
        } else if self.revert_db {
            Some(DbCommand::Revert)
        } else if self.downgrade_db {
            Some(DbCommand::Downgrade)
        } else if let Some(v) = self.force_db {
            Some(DbCommand::Force(v))
        } else if self.db_status {
            Some(DbCommand::Status)
        } else {
            None
        }
    }
}

/// Runs whichever database command `args` holds and returns its exit code, or `None` when
/// none was given (the application then gates its start-up and serves).
#[cfg(feature = "cli")]
pub fn run_db_command(
    args: &DbArgs,
    source: Source,
    database_url: &str,
    out: &mut Console<'_>,
) -> Option<u8> {
    let backups = BackupSettings {
        enabled: !args.no_backup,
        ..BackupSettings::default()
    };
    args.command()
        .map(|cmd| run_with(cmd, source, database_url, &backups, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_single_dash_db_flags_only() {
        let got = normalize_db_args([
            "-migrate-db",
            "-force-db=3",
            "-force-db",
            "-db",
            "--revert-db",
            "-db-status",
            "-no-backup",
            "--db=-migrate-db",
            "./-migrate-db",
            "--",
            "-migrate-db",
        ]);
        assert_eq!(
            got,
            [
                "--migrate-db",
                "--force-db=3",
                "--force-db",
                "-db",
                "--revert-db",
                "--db-status",
                "--no-backup",
                "--db=-migrate-db",
                "./-migrate-db",
                "--",
                "-migrate-db"
            ]
        );
    }

    #[test]
    fn policies() {
        let behind = GateStatus::Behind {
            current: Some(3),
            latest: 6,
            pending: vec![4, 5, 6],
        };
        assert!(!behind.allows(Policy::RequireLatest));
        assert!(behind.allows(Policy::AtLeast(3)));
        assert!(!behind.allows(Policy::AtLeast(4)));
        let ahead = GateStatus::Ahead {
            current: 7,
            latest: 6,
        };
        assert!(ahead.allows(Policy::AtLeast(6)));
        assert!(!ahead.allows(Policy::RequireLatest));
        let dirty = GateStatus::Dirty {
            version: 6,
            latest: 6,
            previous: 5,
        };
        assert!(!dirty.allows(Policy::AtLeast(1)));
        assert_eq!(dirty.exit_code(), exit::DIRTY);
    }
}
