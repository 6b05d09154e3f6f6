//! SQLite safety: automatic backups (a file copy under a read lock, or SQLite's
//! online backup API in WAL mode), integrity checks before and after a run, dry runs,
//! rehearsals on a copy, and restore.
//!
//! Everything here works on the database *file*; other drivers (and in-memory SQLite)
//! get [`unsupported`] errors from the commands and no-ops from the automatic hooks.
//!
//! Backups are named `<db file name>.backup-v<version>-<UTC time>`, e.g.
//! `app.db.backup-v0011-20261122T031500Z`: the version is zero-padded to four digits
//! (`v-nil` when no migration is applied, `v0011-dirty` for a dirty database), the time is
//! `YYYYMMDDTHHMMSSZ`; a second backup within the same second gets `-1`, `-2`, ... after it.

pub mod backup;
pub mod hook;
pub mod integrity;
pub mod rehearse;
pub mod restore;

use std::path::{Path, PathBuf};

use crate::driver::sqlite::{Config, Sqlite, Target as SqliteTarget};
use crate::driver::{Driver, Value};
use crate::error::{Error, Result};
use crate::source::Source;
use crate::url::DatabaseUrl;
use crate::version::DbVersion;
use crate::Migrator;

pub use backup::{BackupInfo, DEFAULT_KEEP};
pub use hook::{After, Hook, Problem, Progress, ANNOUNCE_SIZE};
pub use integrity::Check;

/// The safety settings a run uses (the CLI's `-backup-dir`, `-backup-keep`, ... flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where backups go; `None` = the URL's `x-backup-dir`, else beside the database.
    pub backup_dir: Option<PathBuf>,
    /// How many backups to keep (newest first); 0 keeps all.
    pub keep: usize,
    /// The most bytes this database's backups may take together, oldest removed first
    /// after a new backup succeeded; 0: no limit (`-backup-max-size`).
    pub max_size: u64,
    /// Skip the automatic backup.
    pub no_backup: bool,
    /// The integrity check before and after a change (`-integrity-check`).
    pub check: Check,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            backup_dir: None,
            keep: DEFAULT_KEEP,
            max_size: 0,
            no_backup: false,
            check: Check::Quick,
        }
    }
}

/// The parsed SQLite configuration of a database URL; `None` for other drivers.
pub fn sqlite_config(database_url: &str) -> Result<Option<Config>> {
    let url = DatabaseUrl::parse(database_url)?;
    match url.scheme() {
        "sqlite3" | "sqlite" => Ok(Some(Config::parse(&url)?)),
        _ => Ok(None),
    }
}

/// The database file a URL names: `None` for other drivers, in-memory databases and
/// `file:` URIs.
pub fn sqlite_file(database_url: &str) -> Result<Option<PathBuf>> {
    Ok(sqlite_config(database_url)?.and_then(|c| match c.target {
        SqliteTarget::File(p) => Some(p),
        _ => None,
    }))
}

/// The backup directory: the flag, else the URL's `x-backup-dir`, else the database's
/// own directory.
pub fn backup_dir(db: &Path, flag: Option<&Path>, database_url: &str) -> PathBuf {
    if let Some(d) = flag {
        return d.to_path_buf();
    }
    if let Ok(u) = DatabaseUrl::parse(database_url) {
        if let Some(d) = u.x_param("x-backup-dir").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
    }
    match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The error for a safety command on a database that is not a SQLite file.
pub fn unsupported(what: &str) -> Error {
    Error::Safety {
        msg: format!("{what} works only on SQLite database files"),
        hint: Some(
            "use a sqlite3:// URL that names a file; for other databases use the server's own backup tools".into(),
        ),
    }
}

/// Opens a migrator that cannot change the database: a SQLite file is opened read-only
/// and a missing file is not created (it reads as an empty database, version nil). Used
/// by dry runs and the safety commands. Other drivers open normally (no table created).
pub fn open_no_create(source: Source, database_url: &str) -> Result<Migrator> {
    let wrap = |e: Error| Error::DatabaseOpen(Box::new(e));
    let cfg = match sqlite_config(database_url).map_err(wrap)? {
        Some(c) => c,
        None => return Migrator::open(source, database_url),
    };
    let mut cfg = cfg;
    if let SqliteTarget::File(p) = &cfg.target {
        if p.exists() {
            cfg.read_only = true;
        } else {
            cfg.target = SqliteTarget::Memory;
        }
    }
    let driver = Sqlite::open_config(cfg).map_err(wrap)?;
    Ok(Migrator::new(source, Box::new(driver)))
}

/// Whether a database file holds anything worth backing up (it exists and is not empty).
pub fn has_content(db: &Path) -> bool {
    std::fs::metadata(db).is_ok_and(|m| m.len() > 0)
}

/// `fsync` of a directory, so a rename or a new file survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Whether a database holds anything a backup would protect: the file exists and is not
/// empty, and either a version is recorded or some table besides migrate's own ones (the
/// version table, `<t>_journal`, `<t>_checksums`, `<t>_identity`, `<t>_downs`) exists. A database with no version and
/// nothing but migrate's tables has nothing to lose.
pub fn worth_backing_up(d: &mut dyn Driver, db: &Path) -> Result<bool> {
    if !has_content(db) {
        return Ok(false);
    }
    if !matches!(d.version()?, DbVersion::Nil) {
        return Ok(true);
    }
    let t = d.table().to_string();
    let (checksums, journal) = crate::journal::table_names(d);
    let downs = crate::journal::downs_table_name(d);
    let rows = d.query(
        "SELECT count(*) FROM main.sqlite_master WHERE tbl_name NOT IN (?1, ?2, ?3, ?4, ?5)",
        &[
            Value::Text(backup::identity_table(&t)),
            Value::Text(t),
            Value::Text(journal),
            Value::Text(checksums),
            Value::Text(downs),
        ],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_i64)
        .unwrap_or(1)
        > 0)
}

/// The check after a run that changed the database: [`integrity::check_reloaded`] on
/// the run's connection, then, for a file, [`integrity::opens`] on a new connection, so
/// a database the next process cannot open never passes. The problems found (empty = ok).
pub fn check_after_run(d: &mut dyn Driver, db: Option<&Path>, which: Check) -> Vec<String> {
    let problems = integrity::check_reloaded(d, which);
    let Some(db) = db else {
        return problems;
    };
    if !problems.is_empty() {
        return problems;
    }
    // Before the new connection parses the schema, the run's connection drops its own
    // parsed copy and its page cache, so the process does not hold two parsed schemas at
    // once (each grows with the number of tables). Neither changes what the run's connection
    // reads: it parses the schema again, from the file the check just passed, on its next
    // statement. A failure here only leaves the memory held.
    let _ = d.execute("PRAGMA writable_schema = RESET", &[]);
    let _ = d.execute("PRAGMA shrink_memory", &[]);
    match integrity::opens(db) {
        Err(e) => vec![format!("a new connection cannot read the database: {e}")],
        Ok(()) => Vec::new(),
    }
}

/// Keeps a database file that SQLite cannot open, byte for byte, before `restore` replaces
/// it: `<dir>/<file name>.unopenable-<UTC time>` (and its `-wal` beside it as
/// `<that name>-wal`), mode 0600. Not a backup: `backups` does not list it and pruning
/// never removes it. Returns the copy's path.
pub fn save_unopenable(db: &Path, dir: &Path) -> Result<PathBuf> {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    let fail = |path: &Path, e: std::io::Error| Error::BackupFailed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let base = format!(
        "{name}.unopenable-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let mut to = dir.join(&base);
    let mut seq = 0;
    while to.exists() {
        seq += 1;
        to = dir.join(format!("{base}-{seq}"));
    }
    let with = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    // Private like a backup (0600), never over an existing file.
    let copy = |from: &Path, to: &Path| -> Result<()> {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut out = o.open(to).map_err(|e| fail(to, e))?;
        let mut from = std::fs::File::open(from).map_err(|e| fail(to, e))?;
        std::io::copy(&mut from, &mut out).map_err(|e| fail(to, e))?;
        out.sync_all().map_err(|e| fail(to, e))
    };
    copy(db, &to)?;
    let wal = with(db, "-wal");
    if wal.exists() {
        copy(&wal, &with(&to, "-wal"))?;
    }
    sync_dir(dir).map_err(|e| fail(dir, e))?;
    Ok(to)
}

/// What [`auto_backup`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoBackup {
    /// The new backup file.
    pub path: PathBuf,
    /// Older backups removed by retention.
    pub pruned: Vec<PathBuf>,
    /// The backup row could not be written to the journal (the backup itself is fine).
    pub journal_error: Option<String>,
    /// No copy was made: `path` is the newest backup, of the same version, taken when the
    /// database was as it is now ([`backup::reusable`]).
    pub reused: bool,
}

/// The automatic backup, for a before-change hook (inside the migration lock, once a
/// change is certain): skipped with `opts.no_backup` or when [`worth_backing_up`] says
/// there is nothing to lose; the newest backup when [`backup::reusable`] (no copy, no
/// journal row); otherwise [`backup::create`], then [`backup::prune_sized`] to `opts.keep`
/// and `opts.max_size`, then a `backup` row in the journal (`<t>_journal`, created if
/// missing).
/// Run by [`Hook`], for the CLI (`up`/`down`/`goto`/`force`/`drop`) and the release
/// binary's database commands (`-migrate-db`/`-revert-db`/`-force-db`). `dir` is the
/// backup directory ([`backup_dir`]).
pub fn auto_backup(
    d: &mut dyn Driver,
    db: &Path,
    dir: &Path,
    opts: &Options,
) -> Result<Option<AutoBackup>> {
    if opts.no_backup || !worth_backing_up(d, db)? {
        return Ok(None);
    }
    let started = crate::journal::now();
    let t = std::time::Instant::now();
    let v = d.version()?;
    let table = d.table().to_string();
    if let Some(b) = backup::reusable(db, dir, &v, &table) {
        return Ok(Some(AutoBackup {
            path: b.path,
            pruned: Vec::new(),
            journal_error: None,
            reused: true,
        }));
    }
    let path = backup::create(db, dir, &v, &table)?;
    let took = t.elapsed();
    let pruned = backup::prune_sized(db, dir, opts.keep, opts.max_size, &table, None)?;
    let mut entry =
        crate::journal::Entry::new("backup", started, took).versions(v.version(), v.version());
    entry.file = Some(path.display().to_string());
    let journal_error = journal_row(d, &entry).err().map(|e| short(&e));
    Ok(Some(AutoBackup {
        path,
        pruned,
        journal_error,
        reused: false,
    }))
}

/// After a run that failed without changing the database (its version is still the one
/// `backup` was taken at, and nothing but migrate's journal was written): records the
/// database's present state in `backup`, so that a retry can reuse it
/// ([`backup::reusable`]). When the state cannot be told, any recorded one is forgotten.
pub fn remember_unchanged(db: &Path, backup: &Path, table: &str) -> Result<()> {
    let stamp = backup::state_stamp(db);
    backup::record_state(backup, table, stamp.as_deref()).map_err(|reason| Error::BackupFailed {
        path: backup.to_path_buf(),
        reason,
    })
}

/// An error for a warning line: a database error's own text, without the statement.
pub fn short(e: &Error) -> String {
    match e {
        Error::Database(d) => d.orig.clone(),
        e => e.to_string(),
    }
}

/// Appends `entry` to the journal, creating the side tables if needed. The caller holds
/// the migration lock.
pub fn journal_row(d: &mut dyn Driver, entry: &crate::journal::Entry) -> Result<()> {
    crate::journal::ensure(d)?;
    crate::journal::append(d, entry)
}

/// Journals an explicit `backup` (or any safety operation outside a migration) under the
/// migration lock, when the database already has migrate's journal: a database that
/// `migrate` has never migrated is only read, no table is created in it. Returns whether
/// a row was written.
pub fn journal_if_kept(
    d: &mut dyn Driver,
    lock_timeout: std::time::Duration,
    entry: &crate::journal::Entry,
) -> Result<bool> {
    if !crate::journal::exists(d)? {
        return Ok(false);
    }
    crate::driver::with_lock(d, lock_timeout, |d| crate::journal::append(d, entry))?;
    Ok(true)
}

/// A `integrity-check` journal row for a check that failed after a run: outcome
/// `failed`, the problem in `error`, the database's version in both version columns.
pub fn journal_failed_check(d: &mut dyn Driver, problem: &str) -> Result<()> {
    let v = d.version().ok().and_then(|v| v.version());
    let entry = crate::journal::Entry::new(
        "integrity-check",
        crate::journal::now(),
        std::time::Duration::ZERO,
    )
    .versions(v, v)
    .failed(&Error::Other(problem.to_string()));
    journal_row(d, &entry)
}
