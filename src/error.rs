//! The library's one error type. `Display` reproduces golang-migrate's text byte for byte
//! where golang-migrate has a text; `hint()` adds what to do next.

use std::path::PathBuf;

/// Which URL a parse error is about (golang-migrate names it in the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// The migrations' source URL (`-source`, or `-path` as `file://`).
    Source,
    /// The database URL (`-database`).
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
    /// The 1-based line of `query` the driver reports the error at; 0 when it reports none.
    pub line: u64,
    /// The statement or migration body that failed.
    pub query: String,
    /// What kind of failure it is, from the database's error code (not printed).
    pub kind: DbErrorKind,
}

/// What kind of failure a driver reported, read from the database's own error code
/// (SQLite's result code, PostgreSQL's SQLSTATE, MySQL's error number) so that hints and
/// the corruption check never read the message text. Errors that carry no code (a
/// dropped connection, a client-side failure) are [`DbErrorKind::Connection`] or
/// [`DbErrorKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DbErrorKind {
    /// Another connection holds a lock on the SQLite database file and the busy timeout
    /// ran out (`SQLITE_BUSY`, "database is locked").
    Busy,
    /// A table is locked by another statement or shared-cache connection
    /// (`SQLITE_LOCKED`, "database table is locked").
    Locked,
    /// A server did not grant a row or table lock in time (MySQL 1205, PostgreSQL
    /// `lock_not_available` 55P03).
    LockWait,
    /// The server aborted the transaction to break a deadlock or a serialization conflict
    /// (MySQL 1213, PostgreSQL 40P01 and 40001).
    Deadlock,
    /// The database's pages or indexes are damaged (`SQLITE_CORRUPT`, PostgreSQL
    /// `data_corrupted` XX001 and `index_corrupted` XX002).
    Corrupt,
    /// The file is not a SQLite database, or is encrypted (`SQLITE_NOTADB`).
    NotADatabase,
    /// The SQLite database file cannot be opened or created (`SQLITE_CANTOPEN`).
    CantOpen,
    /// Reading or writing the database file failed (`SQLITE_IOERR`).
    Io,
    /// A constraint refused a row: unique, primary key, foreign key, check or not null
    /// (`SQLITE_CONSTRAINT`, PostgreSQL class 23, MySQL 1048, 1062, 1216, 1217, 1451,
    /// 1452, 3819, 4025).
    Constraint,
    /// The SQL does not parse (SQLite's `syntax error` and `incomplete input`, PostgreSQL
    /// 42601, MySQL 1064).
    Syntax,
    /// The connection could not be made or was lost (PostgreSQL class 08, 57P01-57P03 and
    /// a closed connection, MySQL 2002, 2003, 2006, 2013, 1927, 4031 and client
    /// I/O errors).
    Connection,
    /// The user may not do it (`SQLITE_PERM`, `SQLITE_AUTH`, PostgreSQL 42501 and class
    /// 28, MySQL 1044, 1045, 1142, 1143, 1227).
    Permission,
    /// The disk or a table is full (`SQLITE_FULL`, PostgreSQL 53100, MySQL 1021, 1114).
    DiskFull,
    /// The database, or the transaction, is read-only (`SQLITE_READONLY`, PostgreSQL
    /// 25006, MySQL 1290, 1792, 1836).
    ReadOnly,
    /// Anything else, and errors that do not come from the database.
    #[default]
    Other,
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
    /// The URL's scheme names no source driver this build has (the scheme).
    #[error("source driver: unknown driver '{0}' (forgotten import?)")]
    UnknownDriver(String),
    /// The URL does not parse.
    #[error("parse {url}: {reason}")]
    Parse {
        /// The URL, as given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The directory does not exist. golang-migrate hides the directory behind `.` in the
    /// message; `path` is kept for the hint.
    #[error("open .: no such file or directory")]
    Missing {
        /// The directory.
        path: PathBuf,
    },
    /// The path names a file, not a directory.
    #[error("open .: not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The directory cannot be read.
    #[error("open .: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Two files have the same version and direction (the second file's name).
    #[error("duplicate migration file: {0}")]
    Duplicate(String),
}

impl SourceError {
    /// What to do about it (see [`Error::hint`]).
    fn hint(&self) -> Option<String> {
        match self {
            SourceError::Missing { path } => Some(format!(
                "the migrations directory {} does not exist; check -path/-source",
                path.display()
            )),
            SourceError::NotADirectory { path } => Some(format!(
                "{} is a file, not a directory; -path/-source must name the directory that holds the migration files",
                path.display()
            )),
            SourceError::Duplicate(name) => Some(format!(
                "two files have the same version and direction as {name}; rename or remove one"
            )),
            _ => None,
        }
    }
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is empty.
    #[error("failed to parse scheme from {0} URL: URL cannot be empty")]
    UrlEmpty(UrlKind),
    /// The URL has no `scheme:`.
    #[error("failed to parse scheme from {0} URL: no scheme")]
    UrlNoScheme(UrlKind),
    /// The source could not be opened.
    #[error("failed to open source, {url}: {cause}")]
    SourceOpen {
        /// The source URL, already redacted (no password) and Go-quoted.
        url: String,
        /// Why it could not be opened.
        cause: SourceError,
    },
    /// The database could not be opened (the driver's error inside).
    #[error("failed to open database: {0}")]
    DatabaseOpen(Box<Error>),
    /// The database URL's scheme names no driver this build has.
    #[error("database driver: unknown driver {scheme} (forgotten import?)")]
    UnknownDatabaseDriver {
        /// The scheme, redacted.
        scheme: String,
        /// The schemes this build has ([`crate::driver::available`]).
        available: Vec<&'static str>,
    },
    /// A URL parameter or option has a value migrate does not accept.
    #[error("{param}: {reason}")]
    InvalidOption {
        /// The parameter (or what golang-migrate names in its message).
        param: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database refused a statement or lost the connection.
    #[error("{0}")]
    Database(DbError),
    /// The database is dirty at this version: a migration failed part-way.
    #[error("Dirty database version {0}. Fix and force version.")]
    Dirty(i64),
    /// Nothing to do (golang-migrate's `ErrNoChange`).
    #[error("no change")]
    NoChange,
    /// The database has no version (golang-migrate's `ErrNilVersion`).
    #[error("no migration")]
    NilVersion,
    /// `up N`/`down N` found fewer steps than asked for (golang-migrate's `ErrShortLimit`,
    /// with how many were missing).
    #[error("limit {0} short")]
    ShortLimit(u64),
    /// `up N`/`down N` found no step at all to run (golang-migrate's `os.ErrNotExist`).
    #[error("file does not exist")]
    FileNotExist,
    /// The source has no migration files.
    #[error("first .: file does not exist")]
    FirstNotExist,
    /// No migration file has this version.
    #[error(
        "no migration found for version {0}: read down for version {0} .: file does not exist"
    )]
    NoMigrationFound(u64),
    /// The migration lock was not free within `-lock-timeout`.
    #[error("timeout: can't acquire database lock")]
    LockTimeout {
        /// The lock waited for, for the hint (the lock file, the advisory lock).
        lock: String,
    },
    /// This driver already holds the lock (golang-migrate's `ErrLocked`).
    #[error("can't acquire lock")]
    CantAcquireLock,
    /// `force` was given a version below -1.
    #[error("version must be >= -1")]
    ForceVersionTooLow,
    /// A version does not fit the version table's signed 64-bit column.
    #[error("version {0} is too large: versions are stored as signed 64-bit integers (at most 9223372036854775807)")]
    VersionTooLarge(u64),
    /// A migration file is not UTF-8.
    #[error("migration file {file} is not valid UTF-8 (byte {offset}); save it as UTF-8")]
    NotUtf8 {
        /// The file's name.
        file: String,
        /// The offset of the first byte that is not.
        offset: usize,
    },
    /// A migration file contains a NUL byte.
    #[error("migration file {file} contains a NUL byte at offset {offset}; SQLite would silently skip everything after it. Remove the byte")]
    NulByte {
        /// The file's name.
        file: String,
        /// The byte's offset.
        offset: usize,
    },
    /// A migration file cannot be read.
    #[error("cannot read migration file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file runs its own `BEGIN`/`COMMIT`/`ROLLBACK` inside migrate's transaction.
    #[error("migration {file} controls transactions itself ({statement}), but migrate already runs every file inside a transaction")]
    TransactionControl {
        /// The file's name.
        file: String,
        /// The statement (`BEGIN`, `COMMIT`, `ROLLBACK`).
        statement: String,
    },
    /// A file has a statement that cannot run inside a transaction.
    #[error("migration {file} cannot run inside a transaction: {reason}")]
    NeedsNoTransaction {
        /// The file's name (or the version, for a step without a file).
        file: String,
        /// Which statement, and why.
        reason: String,
    },
    /// A file left rows that break foreign keys (SQLite, `PRAGMA foreign_key_check`).
    #[error("migration {file} would leave {count} foreign key violation(s), first: table {table} rowid {rowid} references missing row in {parent}; {}", if *rolled_back { "rolled back" } else { "it ran outside a transaction, so the version stays dirty" })]
    ForeignKeyViolation {
        /// The file's name.
        file: String,
        /// How many violations more than before the run.
        count: usize,
        /// The first violation's table.
        table: String,
        /// The first violation's row.
        rowid: i64,
        /// The table the row references.
        parent: String,
        /// The file ran in a transaction that was rolled back (else: dirty).
        rolled_back: bool,
    },
    /// The lock file beside a SQLite database cannot be created or locked.
    #[error("cannot use lock file {path}: {source}")]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An applied file's content changed.
    #[error("migration {file} (version {version}) changed after it was applied: recorded checksum {recorded}, current checksum {current}{}", more_text(*more))]
    Drift {
        /// The file's version.
        version: u64,
        /// The file's name.
        file: String,
        /// The checksum recorded when it was applied.
        recorded: String,
        /// The file's checksum now.
        current: String,
        /// How many more problems were found.
        more: usize,
    },
    /// An applied version's file is gone.
    #[error("migration {file} (version {version}) was applied but the file is gone{}", more_text(*more))]
    MissingFile {
        /// The version.
        version: u64,
        /// The file's name when it was applied.
        file: String,
        /// How many more problems were found.
        more: usize,
    },
    /// `-downgrade-db`: a version to undo has no down SQL stored (nothing was changed).
    #[error("cannot bring the database down to {}: no down SQL is stored for version(s) {}; nothing was changed", target.map_or_else(|| "no version".to_string(), |t| format!("version {t}")), versions.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))]
    DowngradeMissingDown {
        /// The version the downgrade goes to (`None`: no version).
        target: Option<u64>,
        /// The versions without stored down SQL, newest first.
        versions: Vec<u64>,
    },
    /// A never-applied file sits below the database's version.
    #[error("migration {file} (version {version}) was never applied but is older than the database version {current}{}", more_text(*more))]
    OutOfOrder {
        /// The file's version.
        version: u64,
        /// The file's name.
        file: String,
        /// The database's version.
        current: u64,
        /// How many more problems were found.
        more: usize,
    },
    /// The start-up gate refused the database (`gate::gate`, `Migrator::gate`).
    #[error("{0}")]
    Gate(Box<crate::status::GateStatus>),
    // --- safety (src/safety/): backups, integrity checks, restore ---
    /// A backup could not be made; nothing was changed and the partial file was removed.
    #[error("cannot back up the database to {path}: {reason}")]
    BackupFailed {
        /// The backup file that was being written.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// The database failed `PRAGMA quick_check`/`integrity_check`.
    #[error("database {path} failed its integrity check ({check}): {detail}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The check that failed (`quick_check`, `integrity_check`).
        check: String,
        /// What the check reported.
        detail: String,
        /// The newest backup of the database, for the hint.
        newest_backup: Option<PathBuf>,
    },
    /// A safety operation was refused or failed (restore, rehearse, unsupported driver).
    #[error("{msg}")]
    Safety {
        /// The message.
        msg: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// A wait (for the lock file, or a copy with the backup API) stopped on
    /// [`crate::cancel::request`] (SIGINT/SIGTERM in the CLI); what it was writing is gone.
    #[error("interrupted {what}; nothing was changed")]
    Interrupted {
        /// What was interrupted (`while backing up the database ...`).
        what: String,
    },
    /// Anything else, as its text (client-side driver errors, joined errors).
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
            Error::SourceOpen { cause, .. } => cause.hint(),
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
            Error::DatabaseOpen(inner) => inner.hint_after(Aftermath::Unchanged),
            Error::Database(_) => self.hint_after(Aftermath::Unknown),
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
            Error::Drift { .. }
            | Error::DowngradeMissingDown { .. }
            | Error::MissingFile { .. }
            | Error::OutOfOrder { .. } => self.history_hint(),
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

    /// [`Error::hint`], knowing what the failed command left behind: a driver error's hint
    /// then says whether anything was changed. [`Error::hint`] itself knows that only for
    /// an error while opening the database; elsewhere it does not claim a rollback.
    pub fn hint_after(&self, aftermath: Aftermath) -> Option<String> {
        match self {
            Error::DatabaseOpen(inner) => inner.hint_after(Aftermath::Unchanged),
            Error::Database(d) => db_hint(d.kind, aftermath),
            _ => self.hint(),
        }
    }

    /// The hints of the checks against migrate's history (drift, missing and out-of-order
    /// files, a downgrade without stored down SQL).
    fn history_hint(&self) -> Option<String> {
        match self {
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

    /// A driver error of `kind` without golang-migrate's wrapping message.
    pub(crate) fn db(
        kind: DbErrorKind,
        orig: impl std::fmt::Display,
        query: impl Into<String>,
    ) -> Error {
        Error::Database(DbError {
            orig: orig.to_string(),
            msg: String::new(),
            line: 0,
            query: query.into(),
            kind,
        })
    }

    /// The kind of the driver error this is, also behind `failed to open database`;
    /// `None` for errors that are not a driver's.
    pub fn db_kind(&self) -> Option<DbErrorKind> {
        match self {
            Error::Database(d) => Some(d.kind),
            Error::DatabaseOpen(inner) => inner.db_kind(),
            _ => None,
        }
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
    /// The file's name.
    pub file: String,
    /// The 1-based line in the file where the driver reports the error, if it does.
    pub line: Option<u64>,
    /// The version before the file ran (`None` = nothing applied).
    pub before: Option<u64>,
    /// The version the file migrates to (`None` = nothing applied).
    pub after: Option<u64>,
    /// The database's state, read back after the failure.
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

/// What a failed command is known to have left behind in the database; it chooses what a
/// driver error's hint says about the changes ([`Error::hint_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aftermath {
    /// Nothing was changed: the database was being opened.
    Unchanged,
    /// The failed migration ran in a transaction that was rolled back. `first`: it was the
    /// run's first migration, so nothing was changed; else the ones before it stay applied.
    RolledBack {
        /// No migration of this run committed before it.
        first: bool,
    },
    /// The failed migration ran outside a transaction and left the version dirty.
    Dirty,
    /// Not known (no migration file was known to be running, or its state could not be
    /// read back): a migration that ran outside a transaction may have left it dirty.
    Unknown,
}

impl Aftermath {
    /// The part of a hint that says what was changed, for a failure of `kind`.
    fn text(self, kind: DbErrorKind) -> &'static str {
        match self {
            Aftermath::Unchanged => "nothing was changed",
            Aftermath::RolledBack { first: true } if kind == DbErrorKind::DiskFull => {
                "the failed migration was rolled back"
            }
            Aftermath::RolledBack { first: true } => "nothing was changed",
            Aftermath::RolledBack { first: false } => {
                "the failed migration was rolled back; the ones before it in this run stay applied"
            }
            Aftermath::Dirty => {
                "the failed migration ran outside a transaction and was not rolled back: the version is dirty"
            }
            Aftermath::Unknown => {
                "if a migration was running outside a transaction, the version may be dirty: `migrate version` shows it, `migrate recover` explains the way on (`migrate force V` once the schema is repaired)"
            }
        }
    }
}

/// Hints for the SQLite and server errors users meet most, by kind, with what is known
/// about the changes left behind.
fn db_hint(kind: DbErrorKind, aftermath: Aftermath) -> Option<String> {
    let h = match kind {
        DbErrorKind::Busy | DbErrorKind::Locked => {
            "another connection holds a write lock on the database: stop the application's writes or raise the busy timeout (e.g. ?_busy_timeout=30000)"
        }
        DbErrorKind::ReadOnly => {
            "the database file or its directory is read-only: check permissions, the filesystem's mount options and `lsattr`"
        }
        DbErrorKind::NotADatabase => {
            "that file is not a SQLite database (or is encrypted or corrupt): check the -database path"
        }
        DbErrorKind::CantOpen => {
            "the database file cannot be created or opened: check that its directory exists and is writable"
        }
        DbErrorKind::DiskFull => "the disk is full: free space and run again",
        _ => return None,
    };
    if matches!(kind, DbErrorKind::NotADatabase | DbErrorKind::CantOpen) {
        return Some(h.to_string());
    }
    Some(format!("{h}; {}", aftermath.text(kind)))
}

/// Errors compare by their text (what a user sees); used by table tests.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// The library's result type.
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

    /// A driver error's hint claims a rollback only when the failed migration's transaction
    /// was rolled back: not for MySQL's DDL or a file run outside a transaction (dirty), nor
    /// when nothing is known about the failure.
    #[test]
    fn db_hints_claim_only_what_is_known() {
        let full = Error::db(DbErrorKind::DiskFull, "The table 't' is full", "INSERT ...");
        let hint = |a| full.hint_after(a).expect("a hint");
        assert_eq!(
            hint(Aftermath::RolledBack { first: true }),
            "the disk is full: free space and run again; the failed migration was rolled back"
        );
        assert!(hint(Aftermath::RolledBack { first: false }).contains("the ones before it"));
        // MySQL 1114 in a file of DDL: it ran outside a transaction and left the version dirty.
        let dirty = hint(Aftermath::Dirty);
        assert!(!dirty.contains("was rolled back"), "{dirty}");
        assert!(dirty.contains("the version is dirty"), "{dirty}");
        for unknown in [hint(Aftermath::Unknown), full.hint().expect("a hint")] {
            assert!(!unknown.contains("was rolled back"), "{unknown}");
            assert!(unknown.contains("may be dirty"), "{unknown}");
            assert!(unknown.contains("`migrate recover`"), "{unknown}");
            assert!(unknown.contains("`migrate force V`"), "{unknown}");
        }
        // Opening the database changes nothing, whatever the caller says.
        let open = Error::DatabaseOpen(Box::new(full));
        for a in [Aftermath::Unknown, Aftermath::Dirty] {
            assert_eq!(
                open.hint_after(a).as_deref(),
                Some("the disk is full: free space and run again; nothing was changed")
            );
        }
        let busy = Error::db(DbErrorKind::Busy, "database is locked", "BEGIN");
        assert!(busy
            .hint_after(Aftermath::RolledBack { first: true })
            .is_some_and(|h| h.ends_with("; nothing was changed")));
        assert!(busy
            .hint()
            .is_some_and(|h| !h.contains("nothing was changed")));
        // No claim about changes where the hint is about the file itself.
        let not_db = Error::db(DbErrorKind::NotADatabase, "file is not a database", "");
        assert_eq!(not_db.hint_after(Aftermath::Dirty), not_db.hint());
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
                kind: DbErrorKind::Other,
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
