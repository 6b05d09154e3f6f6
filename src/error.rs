//! The library's one error type. `Display` reproduces golang-migrate's text byte for byte
//! where golang-migrate has a text (spec/golang-migrate.md); `hint()` adds what to do next.

use std::path::PathBuf;

/// Which URL a parse error is about (golang-migrate names it in the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    Source,
    Database,
}

impl std::fmt::Display for UrlKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UrlKind::Source => "source",
            UrlKind::Database => "database",
        })
    }
}

/// A database error in golang-migrate's `database.Error` shape:
/// `<orig> in line <line>: <query>` or, with a message, `<msg> in line <line>: <query> (details: <orig>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// The driver's own error text.
    pub orig: String,
    /// golang-migrate's wrapping message, empty when it has none.
    pub msg: String,
    pub line: u64,
    /// The statement or migration body that failed.
    pub query: String,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.msg.is_empty() {
            write!(f, "{} in line {}: {}", self.orig, self.line, self.query)
        } else {
            write!(
                f,
                "{} in line {}: {} (details: {})",
                self.msg, self.line, self.query, self.orig
            )
        }
    }
}

/// Why a source could not be opened (the text after `failed to open source, "<url>": `).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("source driver: unknown driver '{0}' (forgotten import?)")]
    UnknownDriver(String),
    #[error("parse {url}: {reason}")]
    Parse { url: String, reason: String },
    /// golang-migrate hides the directory behind `.` (#1112); `path` is kept for the hint.
    #[error("open .: no such file or directory")]
    Missing { path: PathBuf },
    #[error("open .: not a directory")]
    NotADirectory { path: PathBuf },
    #[error("open .: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("duplicate migration file: {0}")]
    Duplicate(String),
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("failed to parse scheme from {0} URL: URL cannot be empty")]
    UrlEmpty(UrlKind),
    #[error("failed to parse scheme from {0} URL: no scheme")]
    UrlNoScheme(UrlKind),
    /// `url` is already redacted (no password) and Go-quoted.
    #[error("failed to open source, {url}: {cause}")]
    SourceOpen { url: String, cause: SourceError },
    #[error("failed to open database: {0}")]
    DatabaseOpen(Box<Error>),
    #[error("database driver: unknown driver {scheme} (forgotten import?)")]
    UnknownDatabaseDriver {
        scheme: String,
        available: Vec<&'static str>,
    },
    #[error("{param}: {reason}")]
    InvalidOption { param: String, reason: String },
    #[error("{0}")]
    Database(DbError),
    #[error("Dirty database version {0}. Fix and force version.")]
    Dirty(i64),
    #[error("no change")]
    NoChange,
    #[error("no migration")]
    NilVersion,
    #[error("limit {0} short")]
    ShortLimit(u64),
    #[error("file does not exist")]
    FileNotExist,
    #[error("first .: file does not exist")]
    FirstNotExist,
    #[error(
        "no migration found for version {0}: read down for version {0} .: file does not exist"
    )]
    NoMigrationFound(u64),
    #[error("timeout: can't acquire database lock")]
    LockTimeout { lock: String },
    #[error("can't acquire lock")]
    CantAcquireLock,
    #[error("version must be >= -1")]
    ForceVersionTooLow,
    #[error("version {0} is too large: versions are stored as signed 64-bit integers (at most 9223372036854775807)")]
    VersionTooLarge(u64),
    #[error("migration file {file} is not valid UTF-8 (byte {offset}); save it as UTF-8")]
    NotUtf8 { file: String, offset: usize },
    #[error("migration file {file} contains a NUL byte at offset {offset}; SQLite would silently skip everything after it. Remove the byte")]
    NulByte { file: String, offset: usize },
    #[error("cannot read migration file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("migration {file} controls transactions itself ({statement}), but migrate already runs every file inside a transaction")]
    TransactionControl { file: String, statement: String },
    #[error("migration {file} cannot run inside a transaction: {reason}")]
    NeedsNoTransaction { file: String, reason: String },
    #[error("migration {file} would leave {count} foreign key violation(s), first: table {table} rowid {rowid} references missing row in {parent}; {}", if *rolled_back { "rolled back" } else { "it ran outside a transaction, so the version stays dirty" })]
    ForeignKeyViolation {
        file: String,
        count: usize,
        table: String,
        rowid: i64,
        parent: String,
        /// The file ran in a transaction that was rolled back (else: dirty).
        rolled_back: bool,
    },
    #[error("cannot use lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An applied file's content changed.
    #[error("migration {file} (version {version}) changed after it was applied: recorded checksum {recorded}, current checksum {current}{}", more_text(*more))]
    Drift {
        version: u64,
        file: String,
        recorded: String,
        current: String,
        more: usize,
    },
    /// An applied version's file is gone.
    #[error("migration {file} (version {version}) was applied but the file is gone{}", more_text(*more))]
    MissingFile {
        version: u64,
        file: String,
        more: usize,
    },
    /// `-downgrade-db`: a version to undo has no down SQL stored (nothing was changed).
    #[error("cannot bring the database down to {}: no down SQL is stored for version(s) {}; nothing was changed", target.map_or_else(|| "no version".to_string(), |t| format!("version {t}")), versions.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))]
    DowngradeMissingDown {
        target: Option<u64>,
        versions: Vec<u64>,
    },
    /// A never-applied file sits below the database's version.
    #[error("migration {file} (version {version}) was never applied but is older than the database version {current}{}", more_text(*more))]
    OutOfOrder {
        version: u64,
        file: String,
        current: u64,
        more: usize,
    },
    /// The start-up gate refused the database (`gate::gate`, `Migrator::gate`).
    #[error("{0}")]
    Gate(Box<crate::status::GateStatus>),
    // --- safety (src/safety/): backups, integrity checks, restore ---
    /// A backup could not be made; nothing was changed and the partial file was removed.
    #[error("cannot back up the database to {path}: {reason}")]
    BackupFailed { path: PathBuf, reason: String },
    /// The database failed `PRAGMA quick_check`/`integrity_check`.
    #[error("database {path} failed its integrity check ({check}): {detail}")]
    Corrupt {
        path: PathBuf,
        check: String,
        detail: String,
        newest_backup: Option<PathBuf>,
    },
    /// A safety operation was refused or failed (restore, rehearse, unsupported driver).
    #[error("{msg}")]
    Safety { msg: String, hint: Option<String> },
    /// A wait (for the lock file, or a copy with the backup API) stopped on
    /// [`crate::cancel::request`] (SIGINT/SIGTERM in the CLI); what it was writing is gone.
    #[error("interrupted {what}; nothing was changed")]
    Interrupted { what: String },
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The gate's outcome, when this error is a refusal by the gate.
    pub fn gate_status(&self) -> Option<&crate::status::GateStatus> {
        match self {
            Error::Gate(s) => Some(s),
            _ => None,
        }
    }
}

fn more_text(more: usize) -> String {
    match more {
        0 => String::new(),
        n => format!(" (and {n} more problem(s); `migrate status` lists them)"),
    }
}

impl Error {
    /// What to do about it, for an operator reading the error at 3 a.m. `None` where the
    /// message already says it. The CLI prints it on a `hint:` line after golang-migrate's text.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::SourceOpen {
                cause: SourceError::Missing { path },
                ..
            } => Some(format!(
                "the migrations directory {} does not exist; check -path/-source",
                path.display()
            )),
            Error::SourceOpen {
                cause: SourceError::NotADirectory { path },
                ..
            } => Some(format!(
                "{} is a file, not a directory; -path/-source must name the directory that holds the migration files",
                path.display()
            )),
            Error::SourceOpen {
                cause: SourceError::Duplicate(name),
                ..
            } => Some(format!(
                "two files have the same version and direction as {name}; rename or remove one"
            )),
            Error::FirstNotExist => Some(
                "no migration files found: file names must look like 1_name.up.sql / 1_name.down.sql; check -path/-source"
                    .into(),
            ),
            Error::Dirty(v) => Some(format!(
                "a migration failed part-way and the schema may be half-applied. Inspect the database, repair it by hand, then run `migrate force V` with the version the schema really is at ({}), and run the migration again",
                if *v > 0 {
                    format!("usually `migrate force {}` if the failed migration's changes are absent", v - 1)
                } else {
                    "`migrate force -- -1` if nothing is applied".to_string()
                }
            )),
            Error::DatabaseOpen(inner) => inner.hint(),
            Error::Database(d) => db_hint(&d.orig),
            Error::NoMigrationFound(v) => Some(format!(
                "no migration file has version {v}: either it was asked for and does not exist, or the database is at {v} and its file was deleted or renamed, or the database is newer than these files (`migrate version` shows the database's version)"
            )),
            Error::LockTimeout { lock } => Some(format!(
                "another migrate process holds the lock ({lock}); wait for it, or raise -lock-timeout"
            )),
            Error::TransactionControl { .. } => Some(
                "remove BEGIN/COMMIT/ROLLBACK from the file, or add x-no-tx-wrap=true to the database URL to run files without a transaction (a failure then leaves the database dirty)".into(),
            ),
            Error::NeedsNoTransaction { .. } => Some(
                "move that statement out of the migration, or add x-no-tx-wrap=true to the database URL to run files without a transaction (a failure then leaves the database dirty)".into(),
            ),
            Error::ForeignKeyViolation { rolled_back: true, .. } => Some(
                "the migration was rolled back and the database is unchanged; fix the data the migration leaves behind (foreign keys are off while a file runs, so ON DELETE CASCADE does not fire)".into(),
            ),
            Error::ForeignKeyViolation { rolled_back: false, .. } => Some(
                "fix the rows PRAGMA foreign_key_check lists, then `migrate force <version>` (foreign keys are off while a file runs, so ON DELETE CASCADE does not fire; no row was deleted)".into(),
            ),
            Error::Drift { .. } => Some(
                "restore the file as it was applied (edit a new migration instead), or run `migrate repair` to accept the current files as applied (also when another tool took the database down and up again, running the edited file: migrate's history cannot tell), or pass -allow-drift to run anyway".into(),
            ),
            Error::DowngradeMissingDown { .. } => Some(
                "those versions were applied before migrate stored down SQL, or had no down file when they were applied or adopted: run the binary that has their files (its -revert-db or `migrate down`), or undo them by hand and force the version".into(),
            ),
            Error::MissingFile { .. } => Some(
                "restore the file, or run `migrate repair` to forget it, or pass -allow-missing to run anyway".into(),
            ),
            Error::OutOfOrder { version, .. } => Some(format!(
                "the file was probably merged after newer migrations ran: renumber it above the database version, or pass -allow-out-of-order to apply it now. migrate's history cannot tell whether another tool took the database below version {version} and up again since, running it: if its changes are already in the database, run `migrate repair` instead (applying it again would fail or apply it twice)"
            )),
            Error::BackupFailed { .. } => Some(
                "nothing was changed; free space or fix the permissions of the backup directory (-backup-dir / x-backup-dir), or run with -no-backup to migrate without a backup".into(),
            ),
            Error::Corrupt { newest_backup, .. } => Some(match newest_backup {
                Some(b) => format!(
                    "nothing was changed; the newest backup is {}: check it and restore it with `migrate -database <url> restore {}`",
                    b.display(),
                    b.display()
                ),
                None => "nothing was changed and no backup was found; repair the database (sqlite3 .recover) before migrating".into(),
            }),
            Error::Safety { hint, .. } => hint.clone(),
            Error::UnknownDatabaseDriver { available, .. } => {
                Some(format!("available database drivers: {}", available.join(", ")))
            }
            _ => None,
        }
    }

    /// The 1-based line where the driver reports the error, in the statement it ran
    /// (golang-migrate's `in line N`), when it reports one.
    pub fn line(&self) -> Option<u64> {
        match self {
            Error::Database(d) if d.line > 0 => Some(d.line),
            Error::DatabaseOpen(inner) => inner.line(),
            _ => None,
        }
    }

    /// [`Error::line`] counted in the migration file `body`: a driver that runs a file
    /// statement by statement (PostgreSQL's `-- migrate:no-transaction`,
    /// `x-multi-statement`) reports the line within the statement, which starts further
    /// down the file.
    pub fn line_in_file(&self, body: &str) -> Option<u64> {
        let line = self.line()?;
        let Error::Database(d) = self else {
            return Some(line);
        };
        let before = match d.query.is_empty() {
            true => 0,
            false => body
                .find(d.query.as_str())
                .map_or(0, |at| body[..at].matches('\n').count() as u64),
        };
        Some(before + line)
    }

    pub(crate) fn db(orig: impl std::fmt::Display, query: impl Into<String>) -> Error {
        Error::Database(DbError {
            orig: orig.to_string(),
            msg: String::new(),
            line: 0,
            query: query.into(),
        })
    }
}

/// Why a failed file's statements were not all-or-nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTransaction {
    /// MySQL commits every schema change (DDL) by itself.
    MysqlDdl,
    /// The file opted out: `-- migrate:no-transaction` on its first line (PostgreSQL).
    FileMarker,
    /// The database URL turned transactions off; the parameter, e.g. `x-no-tx-wrap=true`.
    UrlParameter(&'static str),
}

/// The database's state read back after a migration file failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAfterFailure {
    /// Clean at this version (`None` = nothing applied): the file was rolled back.
    Clean(Option<u64>),
    /// Dirty at this version (golang-migrate's marker for a half-run file).
    Dirty(i64),
    /// The state could not be read.
    Unknown,
}

/// A migration file that failed, with what it left behind: which file, the line the
/// driver reported, the versions before and after the file, the state read back from the
/// database after the failure, why the file was not all-or-nothing, and the backup taken
/// before the run. [`FailedFile::hint`] says what state the database is in and the way on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedFile {
    pub file: String,
    /// The 1-based line in the file where the driver reports the error, if it does.
    pub line: Option<u64>,
    /// The version before the file ran (`None` = nothing applied).
    pub before: Option<u64>,
    /// The version the file migrates to (`None` = nothing applied).
    pub after: Option<u64>,
    pub state: StateAfterFailure,
    /// Set when the file ran outside a transaction.
    pub no_transaction: Option<NoTransaction>,
    /// The backup taken just before the run, if any.
    pub backup: Option<PathBuf>,
    /// The error has advice of its own (read-only file, full disk, ...): the cause may not
    /// be the file, so the hint does not say to fix it.
    pub error_has_hint: bool,
}

fn force_cmd(v: Option<u64>) -> String {
    match v {
        Some(v) => format!("`migrate force {v}`"),
        None => "`migrate force -- -1`".to_string(),
    }
}

fn clean_at(v: Option<u64>) -> String {
    match v {
        Some(v) => format!("clean at version {v}"),
        None => "clean with no version (nothing applied)".to_string(),
    }
}

impl FailedFile {
    /// What the database looks like now and what to do, for the `hint:` line.
    pub fn hint(&self) -> String {
        let at = match self.line {
            Some(l) => format!(" at line {l}"),
            None => String::new(),
        };
        let file = &self.file;
        let again = if self.error_has_hint {
            "run the command again once the cause is fixed"
        } else {
            "fix the file and run the command again"
        };
        match self.state {
            StateAfterFailure::Clean(v) => format!(
                "{file} failed{at} and was rolled back: the database is {} and nothing of {file} is applied; {again}",
                clean_at(v)
            ),
            StateAfterFailure::Dirty(v) => {
                let why = match self.no_transaction {
                    Some(NoTransaction::MysqlDdl) => {
                        "MySQL commits each schema change by itself".to_string()
                    }
                    Some(NoTransaction::FileMarker) => {
                        "it ran without a transaction (-- migrate:no-transaction)".to_string()
                    }
                    Some(NoTransaction::UrlParameter(p)) => {
                        format!("it ran without a transaction ({p})")
                    }
                    None => "it ran without a transaction".to_string(),
                };
                let restore = match &self.backup {
                    Some(b) => format!(
                        "restore the backup taken before this run ({}; the command is below), or ",
                        b.display()
                    ),
                    None => String::new(),
                };
                format!(
                    "{file} failed{at}; {why}, so its statements before the failing one may have stayed applied, and the database is dirty at version {v}. To go on: {restore}repair the schema by hand, then record the version it is really at: {} if nothing of {file} remains, {} if all of it is applied; then {again}",
                    force_cmd(self.before),
                    force_cmd(self.after)
                )
            }
            StateAfterFailure::Unknown => format!(
                "{file} failed{at}; the database's state could not be read back: `migrate version` shows it"
            ),
        }
    }
}

/// Hints for the SQLite and server errors users meet most.
fn db_hint(orig: &str) -> Option<String> {
    let h = if orig.contains("database is locked") || orig.contains("database table is locked") {
        "another connection holds a write lock on the database: stop the application's writes or raise the busy timeout (e.g. ?_busy_timeout=30000); nothing was changed"
    } else if orig.contains("readonly database") || orig.contains("read-only") {
        "the database file or its directory is read-only: check permissions, the filesystem's mount options and `lsattr`; nothing was changed"
    } else if orig.contains("file is not a database") {
        "that file is not a SQLite database (or is encrypted or corrupt): check the -database path"
    } else if orig.contains("unable to open database file") {
        "the database file cannot be created or opened: check that its directory exists and is writable"
    } else if orig.contains("database or disk is full") || orig.contains("No space left") {
        "the disk is full: free space and run again; the failed migration was rolled back"
    } else {
        return None;
    };
    Some(h.to_string())
}

/// Errors compare by their text (what a user sees); used by table tests.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of state, transaction mode, backup and line: the hint names the
    /// file, the line when there is one, the state, and only the ways out that apply.
    #[test]
    fn failed_file_hint_covers_every_state() {
        let states = [
            StateAfterFailure::Clean(None),
            StateAfterFailure::Clean(Some(7)),
            StateAfterFailure::Dirty(9),
            StateAfterFailure::Dirty(-1),
            StateAfterFailure::Unknown,
        ];
        let modes = [
            None,
            Some(NoTransaction::MysqlDdl),
            Some(NoTransaction::FileMarker),
            Some(NoTransaction::UrlParameter("x-no-tx-wrap=true")),
        ];
        for state in states {
            for no_transaction in modes {
                for backup in [None, Some(PathBuf::from("/b/db.backup-v0007"))] {
                    for line in [None, Some(4)] {
                        for error_has_hint in [false, true] {
                            let f = FailedFile {
                                file: "9_x.up.sql".into(),
                                line,
                                before: Some(7),
                                after: Some(9),
                                state,
                                no_transaction,
                                backup: backup.clone(),
                                error_has_hint,
                            };
                            let h = f.hint();
                            let ctx = format!("{f:?}: {h}");
                            assert!(h.starts_with("9_x.up.sql failed"), "{ctx}");
                            assert_eq!(h.contains("at line 4"), line.is_some(), "{ctx}");
                            let dirty = matches!(state, StateAfterFailure::Dirty(_));
                            assert_eq!(h.contains("`migrate force 7`"), dirty, "{ctx}");
                            assert_eq!(h.contains("`migrate force 9`"), dirty, "{ctx}");
                            assert_eq!(
                                h.contains("/b/db.backup-v0007"),
                                dirty && backup.is_some(),
                                "{ctx}"
                            );
                            match state {
                                StateAfterFailure::Clean(Some(v)) => {
                                    assert!(h.contains(&format!("clean at version {v}")), "{ctx}")
                                }
                                StateAfterFailure::Clean(None) => {
                                    assert!(h.contains("clean with no version"), "{ctx}")
                                }
                                StateAfterFailure::Dirty(v) => {
                                    assert!(h.contains(&format!("dirty at version {v}.")), "{ctx}");
                                    let why = match no_transaction {
                                        Some(NoTransaction::MysqlDdl) => "MySQL",
                                        Some(NoTransaction::FileMarker) => {
                                            "-- migrate:no-transaction"
                                        }
                                        Some(NoTransaction::UrlParameter(p)) => p,
                                        None => "without a transaction",
                                    };
                                    assert!(h.contains(why), "{ctx}");
                                }
                                StateAfterFailure::Unknown => {
                                    assert!(h.contains("`migrate version`"), "{ctx}")
                                }
                            }
                            if state != StateAfterFailure::Unknown {
                                assert_eq!(h.contains("fix the file"), !error_has_hint, "{ctx}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn line_in_file_counts_the_statement_offset() {
        let body = "-- migrate:no-transaction\nCREATE TABLE a (id int);\n\nCREATE TABLE b (\n  id intt\n);\n";
        let e = |line, query: &str| {
            Error::Database(DbError {
                orig: "pq: type \"intt\" does not exist".into(),
                msg: "migration failed".into(),
                line,
                query: query.into(),
            })
        };
        // The whole body sent at once: the driver's line is the file's.
        assert_eq!(e(5, body).line_in_file(body), Some(5));
        // One statement sent: its line 2 is the file's line 5.
        assert_eq!(
            e(2, "CREATE TABLE b (\n  id intt\n);").line_in_file(body),
            Some(5)
        );
        assert_eq!(e(0, "x").line_in_file(body), None);
        assert_eq!(Error::NoChange.line_in_file(body), None);
    }
}
