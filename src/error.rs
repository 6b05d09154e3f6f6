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
    #[error("migration {file} would leave {count} foreign key violation(s), first: table {table} rowid {rowid} references missing row in {parent}; rolled back")]
    ForeignKeyViolation {
        file: String,
        count: usize,
        table: String,
        rowid: i64,
        parent: String,
    },
    #[error("cannot use lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An applied file's content changed (issue #3).
    #[error("migration {file} (version {version}) changed after it was applied: recorded checksum {recorded}, current checksum {current}{}", more_text(*more))]
    Drift {
        version: u64,
        file: String,
        recorded: String,
        current: String,
        more: usize,
    },
    /// An applied version's file is gone (issue #3).
    #[error("migration {file} (version {version}) was applied but the file is gone{}", more_text(*more))]
    MissingFile {
        version: u64,
        file: String,
        more: usize,
    },
    /// A never-applied file sits below the database's version (issue #3).
    #[error("migration {file} (version {version}) was never applied but is older than the database version {current}{}", more_text(*more))]
    OutOfOrder {
        version: u64,
        file: String,
        current: u64,
        more: usize,
    },
    /// The start-up gate refused the database (`gate::gate`, `Migrator::gate`).
    #[error("{0}")]
    Gate(Box<crate::gate::GateStatus>),
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
            Error::ForeignKeyViolation { .. } => Some(
                "the migration was rolled back and the database is unchanged; fix the data the migration leaves behind (foreign keys are off while a file runs, so ON DELETE CASCADE does not fire)".into(),
            ),
            Error::Drift { .. } => Some(
                "restore the file as it was applied (edit a new migration instead), or run `migrate repair` to accept the current files as applied, or pass -allow-drift to run anyway".into(),
            ),
            Error::MissingFile { .. } => Some(
                "restore the file, or run `migrate repair` to forget it, or pass -allow-missing to run anyway".into(),
            ),
            Error::OutOfOrder { .. } => Some(
                "the file was probably merged after newer migrations ran: renumber it above the database version, or pass -allow-out-of-order to apply it now, or run `migrate repair` if its changes are already in the database".into(),
            ),
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

    pub(crate) fn db(orig: impl std::fmt::Display, query: impl Into<String>) -> Error {
        Error::Database(DbError {
            orig: orig.to_string(),
            msg: String::new(),
            line: 0,
            query: query.into(),
        })
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
