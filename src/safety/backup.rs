//! Backups, consistent while other connections write: a copy of the file made under a
//! read transaction that keeps writers off it (in WAL mode after a checkpoint emptied the
//! WAL), SQLite's online backup API when that cannot be done (`copy_consistent`). Written
//! to `<name>.partial`, checked with `PRAGMA quick_check` while it is fsynced, renamed
//! into place, the directory fsynced; the partial file is removed on any failure. Mode
//! 0600: a backup holds the same data as the database. The destination's free space is
//! checked first ([`check_space`]); a retry can reuse the newest backup when the database
//! has not changed since ([`reusable`], [`state_stamp`]).
//!
//! A backup names its database by the identity it carries (`<table>_identity`, a random
//! id the first backup writes into the database and every backup copies): listing and
//! retention only ever see files verified as this database's backups. A copy waits at most
//! [`LOCK_WAIT`] for another connection's lock and stops on [`crate::cancel::request`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::sync_dir;
use crate::error::{Error, Result};
use crate::version::DbVersion;

/// Backups kept by default (`-backup-keep`).
pub const DEFAULT_KEEP: usize = 10;

const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// How long a copy or an identity write waits for a lock another connection holds (the
/// default busy timeout of the SQLite driver), polling every `POLL`.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(10);

/// The longest database file name used as is in a backup's name. A backup's name adds at
/// most 72 bytes (`.backup-`, a version tag of up to 27, `-`, the time, a `-NNN` sequence,
/// and `.partial-journal` while it is written), and must fit NAME_MAX (255 bytes).
const MAX_PREFIX: usize = 180;

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The backup file.
    pub path: PathBuf,
    /// `v0011`, `v-nil`, `v0011-dirty`.
    pub version: String,
    /// When it was taken (UTC, to the second), from its name.
    pub time: DateTime<Utc>,
    /// Same-second sequence number (0 for the first).
    pub seq: u32,
    /// Its size in bytes.
    pub size: u64,
    /// Modification time, to order backups made within the same second.
    pub modified: Option<std::time::SystemTime>,
}

/// The version part of a backup name.
pub fn version_tag(v: &DbVersion) -> String {
    match v {
        DbVersion::Nil => "v-nil".into(),
        DbVersion::Clean(v) => format!("v{v:04}"),
        DbVersion::Dirty(v) if *v < 0 => "v-nil-dirty".into(),
        DbVersion::Dirty(v) => format!("v{v:04}-dirty"),
    }
}

/// The database's file name as backup names start with it: the name itself, or, when it
/// is longer than `MAX_PREFIX` bytes, its first bytes, `~` and 8 hex digits of the full
/// name's SHA-256 (the same name always gives the same prefix).
pub fn name_prefix(db: &Path) -> String {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    if name.len() <= MAX_PREFIX {
        return name;
    }
    let mut cut = MAX_PREFIX - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let hash = crate::source::checksum(name.as_bytes());
    format!("{}~{}", &name[..cut], &hash[..8])
}

/// Parses `<prefix>.backup-<version>-<time>[-<seq>]`.
fn parse_name(db_name: &str, name: &str) -> Option<(String, DateTime<Utc>, u32)> {
    let rest = name.strip_prefix(db_name)?.strip_prefix(".backup-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    // The time is the last part shaped like YYYYMMDDTHHMMSSZ, the version before it.
    let i = parts
        .iter()
        .rposition(|p| p.len() == 16 && p.ends_with('Z'))?;
    let t = NaiveDateTime::parse_from_str(parts[i], TIME_FORMAT).ok()?;
    let version = parts[..i].join("-");
    if !version.starts_with('v') {
        return None;
    }
    let seq = match &parts[i + 1..] {
        [] => 0,
        [n] => n.parse().ok()?,
        _ => return None,
    };
    Some((version, t.and_utc(), seq))
}

/// The side table that holds a database's identity: `<migrations table>_identity`, one
/// row, one random 128-bit id in hex. Backups copy it, so a backup names its database.
pub fn identity_table(table: &str) -> String {
    format!("{table}_identity")
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A busy handler for migrate's own connections: waits up to [`LOCK_WAIT`], and stops at
/// once on [`crate::cancel::request`].
fn bounded_busy(tries: i32) -> bool {
    let max = LOCK_WAIT.as_millis() / POLL.as_millis();
    if crate::cancel::requested() || u128::try_from(tries).unwrap_or(u128::MAX) >= max {
        return false;
    }
    std::thread::sleep(POLL);
    true
}

/// Opens `p` with the bounded busy handler.
fn open_bounded(p: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(p, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    c.busy_handler(Some(bounded_busy))?;
    Ok(c)
}

/// The identity recorded in the database `c` is connected to (`None`: it has none).
pub fn read_identity(c: &Connection, table: &str) -> rusqlite::Result<Option<String>> {
    let t = identity_table(table);
    let n: i64 = c.query_row(
        "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
        [&t],
        |r| r.get(0),
    )?;
    if n == 0 {
        return Ok(None);
    }
    c.query_row(
        &format!("SELECT id FROM main.{} ORDER BY rowid LIMIT 1", quoted(&t)),
        [],
        |r| r.get::<_, String>(0),
    )
    .optional()
}

/// Replaces the identity of the database `c` is connected to with `id`.
pub fn write_identity(c: &Connection, table: &str, id: &str) -> rusqlite::Result<()> {
    let t = quoted(&identity_table(table));
    c.execute_batch(&format!(
        "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS main.{t} (id TEXT NOT NULL); DELETE FROM main.{t};"
    ))?;
    let res = c
        .execute(&format!("INSERT INTO main.{t} (id) VALUES (?1)"), [id])
        .and_then(|_| c.execute_batch("COMMIT"));
    if res.is_err() {
        let _ = c.execute_batch("ROLLBACK");
    }
    res
}

/// A new random identity (SQLite's PRNG, seeded from the OS).
pub fn new_identity(c: &Connection) -> rusqlite::Result<String> {
    c.query_row("SELECT lower(hex(randomblob(16)))", [], |r| r.get(0))
}

/// The identity of the database file `db`, created (a new random id) if it has none.
pub fn ensure_identity(db: &Path, table: &str) -> std::result::Result<String, String> {
    let c = open_bounded(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| crate::driver::sqlite::message(&e))?;
    let run = || -> rusqlite::Result<String> {
        if let Some(id) = read_identity(&c, table)? {
            return Ok(id);
        }
        let id = new_identity(&c)?;
        let t = quoted(&identity_table(table));
        // Only if still missing: another process may have written one meanwhile.
        c.execute_batch(&format!(
            "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS main.{t} (id TEXT NOT NULL);"
        ))?;
        let res = c
            .execute(
                &format!(
                    "INSERT INTO main.{t} (id) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM main.{t})"
                ),
                [&id],
            )
            .and_then(|_| c.execute_batch("COMMIT"));
        if res.is_err() {
            let _ = c.execute_batch("ROLLBACK");
        }
        res?;
        Ok(read_identity(&c, table)?.unwrap_or(id))
    };
    run().map_err(|e| crate::driver::sqlite::message(&e))
}

/// What is known of a database's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Its id.
    Known(String),
    /// It has none (never backed up by this version of migrate), or the file is missing.
    None,
    /// It could not be read (a damaged or locked database): the reason.
    Unreadable(String),
}

/// The identity of the database file `db`, read-only.
pub fn identity_of(db: &Path, table: &str) -> Identity {
    if !db.exists() {
        return Identity::None;
    }
    match open_bounded(db, OpenFlags::SQLITE_OPEN_READ_ONLY).and_then(|c| read_identity(&c, table))
    {
        Ok(Some(id)) => Identity::Known(id),
        Ok(None) => Identity::None,
        Err(e) => Identity::Unreadable(crate::driver::sqlite::message(&e)),
    }
}

/// What a file is, when it is not a regular file ("a directory", "a FIFO", ...).
pub fn file_kind(p: &Path) -> Option<&'static str> {
    let m = std::fs::metadata(p).ok()?;
    let t = m.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_block_device() || t.is_char_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// The identity recorded in a backup file, opened read-only and immutable (nothing is
/// written next to it). `Err`: why it is not a SQLite file migrate can read.
pub fn identity_of_backup(p: &Path, table: &str) -> std::result::Result<Option<String>, String> {
    let meta = std::fs::symlink_metadata(p).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("a symbolic link".into());
    }
    if let Some(kind) = file_kind(p) {
        return Err(kind.into());
    }
    let c = open_immutable(p).map_err(|e| crate::driver::sqlite::message(&e))?;
    read_identity(&c, table).map_err(|e| crate::driver::sqlite::message(&e))
}

/// Opens a backup file read-only through a URI with `immutable=1`, so SQLite creates no
/// -wal/-shm files beside it and takes no locks.
fn open_immutable(p: &Path) -> rusqlite::Result<Connection> {
    const ESCAPE: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');
    let bytes = p.as_os_str().as_encoded_bytes();
    let uri = format!(
        "file:{}?immutable=1",
        percent_encoding::percent_encode(bytes, ESCAPE)
    );
    Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// The column of a backup's identity table that holds the state of its database when it
/// was last known to equal the backup (see [`state_stamp`]).
const STATE_COLUMN: &str = "source_state";

/// A stamp of the database file's committed state, equal for two calls only if no
/// transaction changed the database between them. Taken while a read transaction holds
/// every writer off the file (a hot journal is rolled back first):
///
/// - rollback-journal modes: the file change counter (header offset 24, which SQLite
///   increments on every transaction that changes the file outside WAL mode);
/// - WAL mode (where the counter is not kept up to date): after a
///   `wal_checkpoint(TRUNCATE)` that must empty the WAL, so that every committed page is
///   in the file, and with the WAL found still empty once the read transaction began (a
///   reader of an empty WAL keeps checkpoints from writing to the file);
///
/// and in both the file's device, inode, size, modification and status-change times: a
/// transaction that reaches the file changes its times, and a file replaced or rewritten
/// by another tool changes its inode or its status-change time, which no tool can set.
/// So that the next write cannot get the same time (file systems take it from a clock
/// that advances in steps), the stamp is taken only once the clock has moved past the
/// file's last change, waiting for that under the read transaction: at most 20 ms on a
/// file system with sub-second times, 2.1 s on one without.
///
/// `None` when it cannot be told right now (another connection holds a lock for more
/// than 250 ms, a reader keeps the WAL from being emptied, a file time ahead
/// of this machine's clock, an I/O error): the caller then treats the database as
/// changed.
pub fn state_stamp(db: &Path) -> Option<String> {
    stamp(db, true)
}

/// The longest wait of [`state_stamp`] on a file system with sub-second file times: the
/// kernel's clock for file times advances in ticks of at most 10 ms (twice that, for a
/// margin).
const SETTLE_FINE: Duration = Duration::from_millis(20);
/// The longest wait of [`state_stamp`] on a file system with whole-second file times (two
/// seconds on FAT).
const SETTLE_COARSE: Duration = Duration::from_millis(2100);

/// [`state_stamp`]; `settle`: wait until a later write would get another file time (for
/// a stamp to compare with later; not needed to compare with a recorded one now).
fn stamp(db: &Path, settle: bool) -> Option<String> {
    let c = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    c.busy_timeout(CHECKPOINT_WAIT).ok()?;
    let mode: String = c
        .query_row("PRAGMA main.journal_mode", [], |r| r.get(0))
        .ok()?;
    let wal = mode.eq_ignore_ascii_case("wal");
    if wal {
        let (busy, log): (i64, i64) = c
            .query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ok()?;
        if busy != 0 || log > 0 {
            return None;
        }
    }
    c.execute_batch("BEGIN").ok()?;
    let stamp = (|| -> Option<String> {
        c.query_row("SELECT count(*) FROM main.sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .ok()?;
        let f = held_open(db).ok()?;
        if wal && wal_len(db) > 0 {
            return None;
        }
        let meta = f.metadata().ok()?;
        if settle && !settled(&meta) {
            return None;
        }
        let times = file_times(&meta)?;
        if wal {
            return Some(format!("wal:{times}"));
        }
        let mut header = [0u8; 28];
        read_at(&f, &mut header, 0).ok()?;
        let counter = u32::from_be_bytes([header[24], header[25], header[26], header[27]]);
        Some(format!("rollback:{counter}:{times}"))
    })();
    let _ = c.execute_batch("COMMIT");
    stamp
}

/// The size of `db`'s `-wal` file (0 when there is none).
fn wal_len(db: &Path) -> u64 {
    let mut w = db.as_os_str().to_owned();
    w.push("-wal");
    std::fs::metadata(Path::new(&w)).map_or(0, |m| m.len())
}

/// `<size>:<device>:<inode>:<mtime>:<ctime>`, the times in nanoseconds.
#[cfg(unix)]
fn file_times(m: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    Some(format!(
        "{}:{}:{}:{}.{:09}:{}.{:09}",
        m.len(),
        m.dev(),
        m.ino(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

#[cfg(not(unix))]
fn file_times(_: &std::fs::Metadata) -> Option<String> {
    None
}

/// Waits until this machine's clock is far enough past the file's last change (the later
/// of its modification and status-change times) that a write from now on gets another
/// time; `false` when it still is not after the longest wait (a file time set by another
/// machine's clock, ahead of this one's).
#[cfg(unix)]
fn settled(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (secs, nanos) = (m.mtime(), m.mtime_nsec()).max((m.ctime(), m.ctime_nsec()));
    let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
        return false;
    };
    let margin = if nanos == 0 {
        SETTLE_COARSE
    } else {
        SETTLE_FINE
    };
    let until = std::time::UNIX_EPOCH + Duration::new(secs, nanos) + margin;
    if let Ok(left) = until.duration_since(std::time::SystemTime::now()) {
        std::thread::sleep(left.min(margin));
    }
    std::time::SystemTime::now() >= until
}

#[cfg(not(unix))]
fn settled(_: &std::fs::Metadata) -> bool {
    false
}

/// A read-only descriptor of the database file `p`, opened once per file (device and
/// inode) and never closed for the life of the process: SQLite's locks are POSIX record
/// locks, which the kernel drops for the whole process as soon as *any* descriptor of the
/// file is closed, so reading the file beside SQLite must not close one while this
/// process's connections may hold a lock on it. The cost: one descriptor per database
/// file read this way, and a file replaced meanwhile (by `restore`) keeps its space until
/// the process exits.
#[cfg(unix)]
fn held_open(p: &Path) -> std::io::Result<std::sync::Arc<std::fs::File>> {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Arc, Mutex, OnceLock};
    /// Descriptors by (device, inode).
    type Held = Mutex<HashMap<(u64, u64), Arc<std::fs::File>>>;
    static FILES: OnceLock<Held> = OnceLock::new();
    let meta = std::fs::metadata(p)?;
    let key = (meta.dev(), meta.ino());
    let mut files = FILES
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .map_err(|_| std::io::Error::other("descriptor table poisoned"))?;
    if let Some(f) = files.get(&key) {
        return Ok(Arc::clone(f));
    }
    let f = std::fs::File::open(p)?;
    let m = f.metadata()?;
    if (m.dev(), m.ino()) != key {
        // Replaced between the two looks: keep it open all the same (closing it would
        // drop this process's locks on it), under its own key.
        let f = Arc::new(f);
        files.insert((m.dev(), m.ino()), Arc::clone(&f));
        return Err(std::io::Error::other(
            "the file was replaced while it was opened",
        ));
    }
    let f = Arc::new(f);
    files.insert(key, Arc::clone(&f));
    Ok(f)
}

/// Reads `buf.len()` bytes at `offset` of `f` (positioned reads: the shared descriptor
/// has no cursor of its own to move).
#[cfg(unix)]
fn read_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn held_open(_: &Path) -> std::io::Result<std::sync::Arc<std::fs::File>> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(not(unix))]
fn read_at(_: &std::fs::File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// The database state recorded in a backup by [`record_state`], if any.
pub fn recorded_state(backup: &Path, table: &str) -> Option<String> {
    // Only a regular file: opening a FIFO named like a backup would block.
    if !std::fs::symlink_metadata(backup).is_ok_and(|m| m.file_type().is_file()) {
        return None;
    }
    let c = open_immutable(backup).ok()?;
    c.query_row(
        &format!(
            "SELECT {STATE_COLUMN} FROM main.{} ORDER BY rowid LIMIT 1",
            quoted(&identity_table(table))
        ),
        [],
        |r| r.get::<_, Option<String>>(0),
    )
    .ok()
    .flatten()
}

/// Records in `backup` (a backup carrying an identity) that its database is in state
/// `stamp` (from [`state_stamp`]) and still equals the backup apart from migrate's own
/// journal rows; `None` forgets any recorded state. The backup's data is not touched,
/// only its identity row; the file is fsynced.
pub fn record_state(
    backup: &Path,
    table: &str,
    stamp: Option<&str>,
) -> std::result::Result<(), String> {
    let c = open_bounded(backup, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(|e| e.to_string())?;
    let t = quoted(&identity_table(table));
    let has_column: i64 = c
        .query_row(
            &format!(
                "SELECT count(*) FROM pragma_table_info('{}') WHERE name = '{STATE_COLUMN}'",
                identity_table(table).replace('\'', "''")
            ),
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if has_column == 0 {
        if stamp.is_none() {
            return Ok(());
        }
        c.execute_batch(&format!(
            "ALTER TABLE main.{t} ADD COLUMN {STATE_COLUMN} TEXT"
        ))
        .map_err(|e| e.to_string())?;
    }
    c.execute(&format!("UPDATE main.{t} SET {STATE_COLUMN} = ?1"), [stamp])
        .map_err(|e| e.to_string())?;
    c.close().map_err(|(_, e)| e.to_string())?;
    std::fs::File::open(backup)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync: {e}"))
}

/// The newest of `db`'s backups in `dir`, when it can stand for a new one: it is of the
/// same version, and the database's state (see [`state_stamp`]) is the one recorded in
/// it by [`record_state`].
pub fn reusable(db: &Path, dir: &Path, version: &DbVersion, table: &str) -> Option<BackupInfo> {
    // By name first, and the state (which waits for no lock) before the list (whose
    // identity check waits for a locked database): no backup of this version, or a
    // locked database, costs no wait.
    let prefix = name_prefix(db);
    let tag = version_tag(version);
    // Only a backup with a recorded state can be reused: without one, the state (a read
    // of the whole file in WAL mode) is not computed at all.
    let candidate = std::fs::read_dir(dir).ok()?.flatten().any(|e| {
        parse_name(&prefix, &e.file_name().to_string_lossy()).is_some_and(|(v, _, _)| v == tag)
            && recorded_state(&e.path(), table).is_some()
    });
    if !candidate {
        return None;
    }
    let now = stamp(db, false)?;
    let newest = list(db, dir, table).ok()?.pop()?;
    if newest.version != version_tag(version) {
        return None;
    }
    (recorded_state(&newest.path, table)? == now).then_some(newest)
}

/// Whether the backup file `p` belongs to the database whose identity is `own`: `Ok(())`
/// or why not.
pub fn verify(p: &Path, table: &str, own: &Identity) -> std::result::Result<(), String> {
    let theirs = identity_of_backup(p, table).map_err(|e| format!("{e}, not a backup"))?;
    match (theirs, own) {
        (Some(t), Identity::Known(o)) if t == *o => Ok(()),
        (Some(_), Identity::Known(_)) => Err("a backup of another database".into()),
        (Some(_), Identity::None) => {
            Err("a backup of another database (this database has no backup identity yet)".into())
        }
        (Some(_), Identity::Unreadable(e)) => Err(format!(
            "cannot tell: the database's identity cannot be read ({e})"
        )),
        (None, _) => {
            Err("no backup identity (made by an earlier version of migrate or another tool)".into())
        }
    }
}

/// The files in `dir` named like backups of `db`: the ones verified as its backups, and
/// the others with the reason they are not.
#[derive(Debug, Default)]
pub struct Scan {
    /// This database's backups, oldest first.
    pub backups: Vec<BackupInfo>,
    /// Files that only look like its backups, and why they are not.
    pub others: Vec<(PathBuf, String)>,
}

/// Scans `dir` for the backups of `db` (migrations table `table`).
pub fn scan(db: &Path, dir: &Path, table: &str) -> Result<Scan> {
    let prefix = name_prefix(db);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => {
            return Err(Error::Safety {
                msg: format!("cannot list backups in {}: {e}", dir.display()),
                hint: None,
            })
        }
    };
    let own = identity_of(db, table);
    let mut out = Scan::default();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((version, time, seq)) = parse_name(&prefix, &name) else {
            continue;
        };
        let path = e.path();
        if let Err(why) = verify(&path, table, &own) {
            out.others.push((path, why));
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        let modified = meta.and_then(|m| m.modified().ok());
        out.backups.push(BackupInfo {
            path,
            version,
            time,
            seq,
            size,
            modified,
        });
    }
    out.backups.sort_by(|a, b| {
        (a.time, a.modified, a.seq, &a.path).cmp(&(b.time, b.modified, b.seq, &b.path))
    });
    out.others.sort();
    Ok(out)
}

/// The backups of `db` in `dir`, oldest first: only files verified as its backups.
pub fn list(db: &Path, dir: &Path, table: &str) -> Result<Vec<BackupInfo>> {
    Ok(scan(db, dir, table)?.backups)
}

/// The newest backup of `db` in `dir`, if any. A database whose identity cannot be read
/// (a damaged one) cannot verify its backups: for it, the newest file named like its
/// backup that holds a backup identity, to name in a hint.
pub fn newest(db: &Path, dir: &Path, table: &str) -> Option<PathBuf> {
    let mut scan = scan(db, dir, table).ok()?;
    if let Some(b) = scan.backups.pop() {
        return Some(b.path);
    }
    if !matches!(identity_of(db, table), Identity::Unreadable(_)) {
        return None;
    }
    let prefix = name_prefix(db);
    scan.others
        .into_iter()
        .filter(|(p, _)| identity_of_backup(p, table).is_ok_and(|i| i.is_some()))
        .filter_map(|(p, _)| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let (_, time, seq) = parse_name(&prefix, &name)?;
            Some(((time, seq), p))
        })
        .max()
        .map(|(_, p)| p)
}

/// Removes all but the newest `keep` of `db`'s verified backups (0 keeps all); returns
/// what it removed. Nothing else is ever removed: not another database's backups, not a
/// file or directory that only has a backup's name.
pub fn prune(db: &Path, dir: &Path, keep: usize, table: &str) -> Result<Vec<PathBuf>> {
    prune_keeping(db, dir, keep, table, None)
}

/// [`prune`], never removing `spare` (the backup a restore is about to copy), which is
/// not counted either.
pub fn prune_keeping(
    db: &Path,
    dir: &Path,
    keep: usize,
    table: &str,
    spare: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    prune_sized(db, dir, keep, 0, table, spare)
}

/// [`prune_keeping`] with a size limit too: after the count rule, the oldest of `db`'s
/// verified backups are removed while their total size exceeds `max_size` bytes (0: no
/// limit). The newest backup is always kept, even alone over the limit.
pub fn prune_sized(
    db: &Path,
    dir: &Path,
    keep: usize,
    max_size: u64,
    table: &str,
    spare: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    if keep == 0 && max_size == 0 {
        return Ok(Vec::new());
    }
    let spare = spare.and_then(|p| std::fs::canonicalize(p).ok());
    let mut all = list(db, dir, table)?;
    all.retain(|b| spare.is_none() || std::fs::canonicalize(&b.path).ok() != spare);
    let mut excess = if keep == 0 {
        0
    } else {
        all.len().saturating_sub(keep)
    };
    if max_size > 0 {
        let mut total: u64 = all[excess..].iter().map(|b| b.size).sum();
        while excess + 1 < all.len() && total > max_size {
            total -= all[excess].size;
            excess += 1;
        }
    }
    let mut removed = Vec::new();
    for b in all.into_iter().take(excess) {
        std::fs::remove_file(&b.path).map_err(|e| Error::Safety {
            msg: format!("cannot remove old backup {}: {e}", b.path.display()),
            hint: None,
        })?;
        removed.push(b.path);
    }
    if !removed.is_empty() {
        let _ = sync_dir(dir);
    }
    Ok(removed)
}

/// The bytes a backup of `db` may take: the database file and its `-wal` (a backup holds
/// every page of the database as a reader sees it, at most both together).
pub fn needed_space(db: &Path) -> u64 {
    let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    len(db) + len(Path::new(&wal))
}

/// The bytes an unprivileged writer can still write in the file system that holds `dir`
/// (or, while `dir` does not exist yet, its nearest existing ancestor). `None` when it
/// cannot be told.
pub fn free_space(dir: &Path) -> Option<u64> {
    let mut p = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    while !p.exists() {
        p = match p.parent() {
            Some(q) if !q.as_os_str().is_empty() => q,
            _ => Path::new("."),
        };
    }
    statvfs_free(p)
}

#[cfg(unix)]
fn statvfs_free(p: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(p).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
fn statvfs_free(_: &Path) -> Option<u64> {
    None
}

/// A size for people: `734.0 MB (769654784 bytes)`, in powers of 1000.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    format!("{v:.1} {} ({n} bytes)", UNITS[u])
}

/// Refuses a backup of `db` into `dir` that cannot fit, before anything is written: the
/// error names both sizes and the ways out. A file system whose free space cannot be told
/// is not refused (the copy itself then fails cleanly if the space runs out).
pub fn check_space(db: &Path, dir: &Path) -> Result<()> {
    let need = needed_space(db);
    let Some(free) = free_space(dir) else {
        return Ok(());
    };
    if need <= free {
        return Ok(());
    }
    Err(Error::Safety {
        msg: format!(
            "cannot back up the database to {}: not enough free space: the backup of {} needs {}, the file system has {} free",
            dir.display(),
            db.display(),
            human_size(need),
            human_size(free)
        ),
        hint: Some(
            "nothing was changed; put backups on a volume with room (-backup-dir / x-backup-dir), keep fewer or smaller backups (-backup-keep, -backup-max-size) or remove old ones (see `migrate backups`), or run with -no-backup".into(),
        ),
    })
}

/// Backs `db` up into `dir` as `<db>.backup-<version>-<now>`; returns the new file.
/// The backup carries the database's identity (`<table>_identity`; see [`write`]).
/// Nothing is pruned here (see [`prune`]).
pub fn create(db: &Path, dir: &Path, version: &DbVersion, table: &str) -> Result<PathBuf> {
    let now = Utc::now();
    let base = format!(
        "{}.backup-{}-{}",
        name_prefix(db),
        version_tag(version),
        now.format(TIME_FORMAT)
    );
    let fail = |path: &Path, reason: String| Error::BackupFailed {
        path: path.to_path_buf(),
        reason,
    };
    check_space(db, dir)?;
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e.to_string()))?;
    // A name is taken by a backup made in the same second, or by the `.partial` file a
    // killed run left behind (never reused: it may be another process's copy in progress).
    let partial_of = |t: &Path| {
        let mut p = t.as_os_str().to_owned();
        p.push(".partial");
        PathBuf::from(p)
    };
    let mut target = dir.join(&base);
    let mut seq = 0;
    while target.symlink_metadata().is_ok() || partial_of(&target).symlink_metadata().is_ok() {
        seq += 1;
        target = dir.join(format!("{base}-{seq}"));
    }
    if crate::cancel::requested() {
        return Err(Error::Interrupted {
            what: "before the backup".into(),
        });
    }
    let partial = partial_of(&target);
    match write(db, &partial, &target, dir, table) {
        Ok(()) => Ok(target),
        Err(reason) => {
            remove_with_sidecars(&partial);
            if crate::cancel::requested() {
                return Err(Error::Interrupted {
                    what: format!(
                        "while backing up the database (the partial file {} was removed)",
                        partial.display()
                    ),
                });
            }
            if reason.contains(LOCKED) {
                return Err(Error::Safety {
                    msg: fail(&target, reason).to_string(),
                    hint: Some("nothing was changed; a connection with _locking_mode=EXCLUSIVE (this URL's own, or another process's) keeps the backup out: drop _locking_mode=EXCLUSIVE from the URL for this run, or run with -no-backup".into()),
                });
            }
            Err(fail(&target, reason))
        }
    }
}

/// In a copy's error: the source stayed locked.
const LOCKED: &str = "stayed locked by another connection";

/// Removes a file and its `-journal`/`-wal`/`-shm` companions, ignoring errors.
pub(crate) fn remove_with_sidecars(p: &Path) {
    let _ = std::fs::remove_file(p);
    for s in ["-journal", "-wal", "-shm"] {
        let mut q = p.as_os_str().to_owned();
        q.push(s);
        let _ = std::fs::remove_file(PathBuf::from(q));
    }
}

/// How a backup was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    /// Rollback-journal modes: the file, copied while a read transaction held writers
    /// out.
    FileUnderReadLock,
    /// WAL mode: the file, copied after a `wal_checkpoint(TRUNCATE)` emptied the WAL,
    /// while a read transaction on the empty WAL held checkpoints out of the file.
    FileAfterCheckpoint,
    /// SQLite's online backup API: the fallback (a WAL that cannot be emptied right now,
    /// a database this process cannot write, a platform without positioned reads).
    BackupApi,
}

/// How long the checkpoint before a WAL-mode file copy waits for other connections
/// before the copy falls back to the backup API, and [`state_stamp`] for a lock before
/// the state counts as unknown.
const CHECKPOINT_WAIT: Duration = Duration::from_millis(250);

/// The most bytes one `copy_file_range` call copies: between calls, a cancel request is
/// seen.
#[cfg(any(target_os = "linux", target_os = "android"))]
const RANGE_CHUNK: usize = 256 << 20;

/// Copies the database `src` into a new file `dst` (mode 0600) consistently (see
/// [`copy_consistent`]), then `PRAGMA quick_check` on the copy and an fsync. The caller
/// removes `dst` on failure.
#[cfg(test)]
pub(crate) fn copy_database(src: &Path, dst: &Path) -> std::result::Result<CopyMethod, String> {
    let how = copy_consistent(src, dst)?;
    finish_copy(dst, None)?;
    Ok(how)
}

/// Copies the database `src` into a new file `dst` (mode 0600), consistently while other
/// connections write: the file itself while a read transaction holds writers off it (in
/// WAL mode once a checkpoint emptied the WAL, so that the file holds every committed
/// page), by a copy-on-write clone where the file system has one, else `copy_file_range`,
/// else reads and writes; the online backup API when the file cannot be copied so. Not
/// checked, not synced.
fn copy_consistent(src: &Path, dst: &Path) -> std::result::Result<CopyMethod, String> {
    let _wait = crate::cancel::Wait::start();
    create_private(dst)?;
    let ro = open_bounded(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", src.display()))?;
    let copied = under_read_lock(&ro, src, |f, wal| {
        if wal {
            return Ok(None);
        }
        copy_file(f, dst).map(|()| Some(CopyMethod::FileUnderReadLock))
    })?;
    drop(ro);
    let copied = match copied {
        Some(how) => Some(how),
        None => copy_after_checkpoint(src, dst)?,
    };
    if let Some(how) = copied {
        return Ok(how);
    }
    let _ = std::fs::remove_file(dst);
    backup_api_copy(src, dst)?;
    Ok(CopyMethod::BackupApi)
}

/// The WAL-mode copy of [`copy_consistent`]: a `wal_checkpoint(TRUNCATE)`, then the file
/// copied under a read transaction that began on the empty WAL (such a reader reads the
/// file alone, and no checkpoint can write to the file while it lasts). `Ok(None)` when
/// the WAL could not be emptied or was written again before the read began, or the
/// database cannot be opened for writing (a checkpoint writes).
fn copy_after_checkpoint(
    src: &Path,
    dst: &Path,
) -> std::result::Result<Option<CopyMethod>, String> {
    let Ok(rw) = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Ok(None);
    };
    if rw.busy_timeout(CHECKPOINT_WAIT).is_err() {
        return Ok(None);
    }
    let emptied = rw
        .query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .is_ok_and(|(busy, log)| busy == 0 && log <= 0);
    if !emptied || crate::cancel::requested() {
        return Ok(None);
    }
    under_read_lock(&rw, src, |f, wal| {
        if !wal || wal_len(src) > 0 {
            return Ok(None);
        }
        copy_file(f, dst).map(|()| Some(CopyMethod::FileAfterCheckpoint))
    })
}

/// Runs `copy` with the descriptor of `src` held open for the process (see
/// [`held_open`]) and whether the file is in WAL mode (file format versions 2), inside a
/// read transaction of `c` (which waits at most [`LOCK_WAIT`] for a writer). `Ok(None)`
/// from `copy`, or a platform without positioned reads: no file copy.
fn under_read_lock(
    c: &Connection,
    src: &Path,
    copy: impl FnOnce(&std::fs::File, bool) -> std::result::Result<Option<CopyMethod>, String>,
) -> std::result::Result<Option<CopyMethod>, String> {
    c.execute_batch("BEGIN").map_err(|e| e.to_string())?;
    let res = (|| {
        if let Err(e) = c.query_row("SELECT count(*) FROM main.sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            if crate::cancel::requested() {
                return Err("interrupted".into());
            }
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) {
                return Err(format!(
                    "{} {LOCKED} for {} s",
                    src.display(),
                    LOCK_WAIT.as_secs()
                ));
            }
            return Err(crate::driver::sqlite::message(&e));
        }
        let f = match held_open(src) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let mut header = [0u8; 20];
        read_at(&f, &mut header, 0).map_err(|e| e.to_string())?;
        copy(&f, header[18] == 2 || header[19] == 2)
    })();
    let _ = c.execute_batch("COMMIT");
    res
}

/// Copies all of `from` into the empty file `to`: a copy-on-write clone (`FICLONE`) where
/// the file system has one, else `copy_file_range` (the kernel copies, nothing passes
/// through this process), else positioned reads and writes of 4 MiB. Reads never move
/// the shared descriptor's offset. Stops on a cancel request between pieces.
fn copy_file(from: &std::fs::File, to: &Path) -> std::result::Result<(), String> {
    use std::io::{Seek, SeekFrom, Write};
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .open(to)
        .map_err(|e| e.to_string())?;
    let len = from.metadata().map_err(|e| e.to_string())?.len();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if rustix::fs::ioctl_ficlone(&out, from).is_ok() {
        return Ok(());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let mut at = copy_range(from, &out, len)?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let mut at = 0u64;
    out.seek(SeekFrom::Start(at))
        .map_err(|e| format!("copy: {e}"))?;
    let mut buf = vec![0u8; 4 << 20];
    while at < len {
        if crate::cancel::requested() {
            return Err("interrupted".into());
        }
        let n = usize::try_from((len - at).min(buf.len() as u64)).unwrap_or(buf.len());
        read_at(from, &mut buf[..n], at).map_err(|e| format!("copy: {e}"))?;
        out.write_all(&buf[..n]).map_err(|e| format!("copy: {e}"))?;
        at += n as u64;
    }
    Ok(())
}

/// Copies `from` into `to` with `copy_file_range` from offset 0, [`RANGE_CHUNK`] at a
/// time; returns how far it got: `len`, or less where the kernel or the file systems
/// cannot (the caller copies the rest itself).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn copy_range(
    from: &std::fs::File,
    to: &std::fs::File,
    len: u64,
) -> std::result::Result<u64, String> {
    use rustix::io::Errno;
    let (mut off_in, mut off_out) = (0u64, 0u64);
    while off_in < len {
        if crate::cancel::requested() {
            return Err("interrupted".into());
        }
        let n = usize::try_from(len - off_in).map_or(RANGE_CHUNK, |n| n.min(RANGE_CHUNK));
        match rustix::fs::copy_file_range(from, Some(&mut off_in), to, Some(&mut off_out), n) {
            Ok(0) => break,
            Ok(_) | Err(Errno::INTR) => {}
            Err(Errno::XDEV | Errno::NOSYS | Errno::OPNOTSUPP | Errno::INVAL | Errno::PERM) => {
                break
            }
            Err(e) => return Err(format!("copy: {e}")),
        }
        if off_in != off_out {
            return Err("copy: copy_file_range moved the offsets apart".into());
        }
    }
    Ok(off_in)
}

/// Finishes a copy made by [`copy_consistent`]: `PRAGMA quick_check` on it (opened
/// immutable: nothing is written beside it), and with `identity` (the database and its
/// migrations table) the database's identity given to it and any recorded state
/// cleared (see [`write`]); then an fsync. The writeback of the copy starts at once, in
/// another thread, while the check reads the copy from the page cache.
fn finish_copy(dst: &Path, identity: Option<(&Path, &str)>) -> std::result::Result<(), String> {
    let file = std::fs::File::open(dst).map_err(|e| e.to_string())?;
    std::thread::scope(|s| {
        let syncing = s.spawn(|| file.sync_all());
        let checked = check_copy(dst, identity);
        let synced = syncing
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the fsync thread panicked")));
        checked?;
        synced.map_err(|e| format!("fsync: {e}"))
    })?;
    file.sync_all().map_err(|e| format!("fsync: {e}"))?;
    if crate::cancel::requested() {
        return Err("interrupted".into());
    }
    Ok(())
}

/// The check and the identity of [`finish_copy`]. Writes to the copy only when it lacks
/// the identity or carries a recorded state, without SQLite's own fsyncs (the caller
/// syncs the file; a copy that fails is removed).
fn check_copy(dst: &Path, identity: Option<(&Path, &str)>) -> std::result::Result<(), String> {
    let c = open_immutable(dst).map_err(|e| e.to_string())?;
    let problems = super::integrity::quick_check(&c)?;
    if !problems.is_empty() {
        return Err(format!(
            "the copy failed PRAGMA quick_check: {}",
            problems.join("; ")
        ));
    }
    let Some((db, table)) = identity else {
        return Ok(());
    };
    // Only a database with migrations (the version table) gets an identity: a database
    // migrate has never migrated is only read.
    let migrated: i64 = c
        .query_row(
            "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let missing = migrated > 0
        && read_identity(&c, table)
            .map_err(|e| e.to_string())?
            .is_none();
    // A database restored from a backup carries that backup's recorded state: a new
    // backup starts without one.
    let stale = c
        .query_row(
            &format!(
                "SELECT count(*) FROM main.{} WHERE {STATE_COLUMN} IS NOT NULL",
                quoted(&identity_table(table))
            ),
            [],
            |r| r.get::<_, i64>(0),
        )
        .is_ok_and(|n| n > 0);
    drop(c);
    let id = if missing {
        ensure_identity(db, table).ok()
    } else {
        None
    };
    if id.is_none() && !stale {
        return Ok(());
    }
    let c = open_bounded(dst, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(|e| e.to_string())?;
    c.execute_batch("PRAGMA synchronous = OFF")
        .map_err(|e| e.to_string())?;
    if let Some(id) = id {
        write_identity(&c, table, &id).map_err(|e| format!("identity: {e}"))?;
    }
    if stale {
        c.execute(
            &format!(
                "UPDATE main.{} SET {STATE_COLUMN} = NULL",
                quoted(&identity_table(table))
            ),
            [],
        )
        .map_err(|e| e.to_string())?;
    }
    c.close().map_err(|(_, e)| e.to_string())
}

/// Copies `src` into a new file `dst` with the online backup API; `dst` gets mode 0600.
/// A lock held by another connection is waited for at most [`LOCK_WAIT`]; the wait stops
/// at once on [`crate::cancel::request`]. Then `PRAGMA quick_check` on the copy and an
/// fsync. The caller removes `dst` on failure.
pub(crate) fn copy_with_backup_api(src: &Path, dst: &Path) -> std::result::Result<(), String> {
    let _wait = crate::cancel::Wait::start();
    backup_api_copy(src, dst)?;
    finish_copy(dst, None)
}

/// The copy of [`copy_with_backup_api`], not checked, not synced.
fn backup_api_copy(src: &Path, dst: &Path) -> std::result::Result<(), String> {
    create_private(dst)?;
    let from = open_bounded(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", src.display()))?;
    let mut to = open_bounded(dst, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(|e| e.to_string())?;
    {
        let b = rusqlite::backup::Backup::new(&from, &mut to).map_err(|e| e.to_string())?;
        // All remaining pages in one step: one pass under one read lock. Busy and Locked
        // come back once the busy handler gave up (after LOCK_WAIT, or on cancel).
        loop {
            if crate::cancel::requested() {
                return Err("interrupted".into());
            }
            match b.step(-1).map_err(|e| crate::driver::sqlite::message(&e))? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                _ if crate::cancel::requested() => return Err("interrupted".into()),
                _ => {
                    return Err(format!(
                        "{} {LOCKED} for {} s",
                        src.display(),
                        LOCK_WAIT.as_secs()
                    ))
                }
            }
        }
    }
    to.close().map_err(|(_, e)| e.to_string())
}

/// Creates an empty file with mode 0600 (fails if it exists).
fn create_private(p: &Path) -> std::result::Result<(), String> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(p).map(drop).map_err(|e| e.to_string())
}

/// Copies `db` to `partial` ([`copy_consistent`]), checks it, gives it the database's
/// identity and syncs it ([`finish_copy`]), and renames it to `target`. A database
/// without an identity gets one only once the copy succeeded, so a failed backup changes
/// nothing; if it cannot be written (a read-only database), or the database has no
/// version table, the backup is kept without one.
fn write(
    db: &Path,
    partial: &Path,
    target: &Path,
    dir: &Path,
    table: &str,
) -> std::result::Result<(), String> {
    copy_consistent(db, partial)?;
    finish_copy(partial, Some((db, table)))?;
    std::fs::rename(partial, target).map_err(|e| format!("rename: {e}"))?;
    sync_dir(dir).map_err(|e| format!("fsync of {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safety_names_round_trip() {
        let t = NaiveDateTime::parse_from_str("20261122T031500Z", TIME_FORMAT)
            .expect("time")
            .and_utc();
        for (v, tag) in [
            (DbVersion::Nil, "v-nil"),
            (DbVersion::Clean(11), "v0011"),
            (DbVersion::Clean(20240101120000), "v20240101120000"),
            (DbVersion::Dirty(3), "v0003-dirty"),
        ] {
            assert_eq!(version_tag(&v), tag);
            let name = format!("app.db.backup-{tag}-20261122T031500Z");
            assert_eq!(parse_name("app.db", &name), Some((tag.to_string(), t, 0)));
            assert_eq!(
                parse_name("app.db", &format!("{name}-2")),
                Some((tag.to_string(), t, 2))
            );
        }
        assert_eq!(
            parse_name("app.db", "app.db.backup-v0001-2026.partial"),
            None
        );
        assert_eq!(
            parse_name("app.db", "app.db.backup-v0001-20261122T031500Z.partial"),
            None
        );
        assert_eq!(
            parse_name("other.db", "app.db.backup-v0001-20261122T031500Z"),
            None
        );
    }

    /// A `.partial` left by a killed run, in this second or the next, does not block a new
    /// backup (found by the x-no-tx-wrap crash campaign) and is left alone.
    #[test]
    fn safety_stale_partial_does_not_block_a_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("app.db");
        let c = Connection::open(&db).expect("open");
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("fill");
        drop(c);
        let now = Utc::now();
        let mut stale = Vec::new();
        for t in [now, now + chrono::Duration::seconds(1)] {
            let p = dir.path().join(format!(
                "app.db.backup-v0001-{}.partial",
                t.format(TIME_FORMAT)
            ));
            std::fs::write(&p, b"half a copy").expect("stale partial");
            stale.push(p);
        }
        let made =
            create(&db, dir.path(), &DbVersion::Clean(1), "schema_migrations").expect("backup");
        assert!(made.exists() && !made.to_string_lossy().ends_with(".partial"));
        for p in &stale {
            assert_eq!(std::fs::read(p).expect("kept"), b"half a copy");
        }
        let n: i64 = Connection::open(&made)
            .expect("open backup")
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1);
    }

    /// A small deterministic generator for the invariant tests (no extra dependency).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn fill(db: &Path, rows: i64) {
        let c = Connection::open(db).expect("open");
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS t (x); CREATE TABLE IF NOT EXISTS schema_migrations (version uint64, dirty bool)",
        )
        .expect("table");
        for i in 0..rows {
            c.execute("INSERT INTO t VALUES (?1)", [i]).expect("row");
        }
    }

    /// Junk named like a backup of `app.db`: what it is, and how to make it.
    fn junk(rng: &mut Rng, dir: &Path, n: usize, others: &[PathBuf]) -> PathBuf {
        let name = format!(
            "app.db.backup-v{:04}-2026112{}T0{}1500Z{}",
            rng.below(20),
            rng.below(10),
            rng.below(10),
            if rng.below(2) == 0 {
                String::new()
            } else {
                format!("-{n}")
            }
        );
        let p = dir.join(name);
        if p.symlink_metadata().is_ok() {
            return p;
        }
        match rng.below(7) {
            0 => std::fs::write(&p, b"not a database").expect("text"),
            1 => std::fs::write(&p, b"").expect("empty"),
            2 => std::fs::create_dir(&p).expect("dir"),
            3 => fill(&p, 1), // a SQLite file with no identity
            4 => {
                // A SQLite file with an identity of its own.
                fill(&p, 1);
                let c = Connection::open(&p).expect("open");
                write_identity(&c, "schema_migrations", "feedfacefeedfacefeedfacefeedface")
                    .expect("identity");
            }
            5 => match others.first() {
                // A symbolic link to a real backup.
                Some(o) => std::os::unix::fs::symlink(o, &p).expect("symlink"),
                None => std::fs::write(&p, b"x").expect("x"),
            },
            _ => {
                let ok = std::process::Command::new("mkfifo")
                    .arg(&p)
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    std::fs::write(&p, b"fifo").expect("fallback");
                }
            }
        }
        p
    }

    /// The contents of a directory: name -> (kind, bytes) for regular files.
    fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Option<Vec<u8>>> {
        std::fs::read_dir(dir)
            .expect("read_dir")
            .flatten()
            .map(|e| {
                let p = e.path();
                let meta = std::fs::symlink_metadata(&p).expect("meta");
                let bytes = meta
                    .file_type()
                    .is_file()
                    .then(|| std::fs::read(&p).expect("read"));
                (p, bytes)
            })
            .collect()
    }

    /// Generated cases: two or three databases with the same file name share a backup
    /// directory that also holds junk named like their backups (text, empty files,
    /// directories, FIFOs, symbolic links, SQLite files without or with another
    /// identity). Whatever order they back up and prune in, with whatever `keep`: a
    /// prune removes only backups that database's own `create` made, every other file
    /// stays byte for byte, and `list` is exactly its own backups still there.
    #[test]
    fn safety_pruning_touches_only_this_databases_backups() {
        for seed in 1..=16u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let root = tempfile::tempdir().expect("tempdir");
            let shared = root.path().join("backups");
            std::fs::create_dir(&shared).expect("mkdir");
            let n_dbs = 2 + usize::try_from(rng.below(2)).expect("small");
            let dbs: Vec<PathBuf> = (0..n_dbs)
                .map(|i| {
                    let d = root.path().join(format!("host{i}"));
                    std::fs::create_dir(&d).expect("mkdir");
                    let db = d.join("app.db");
                    fill(&db, i64::try_from(i).expect("small") + 1);
                    db
                })
                .collect();
            let mut made: Vec<Vec<PathBuf>> = vec![Vec::new(); n_dbs];
            for n in 0..rng.below(6) + 2 {
                let all: Vec<PathBuf> = made.iter().flatten().cloned().collect();
                junk(&mut rng, &shared, usize::try_from(n).expect("small"), &all);
            }
            for _step in 0..12 {
                let i = usize::try_from(rng.below(n_dbs as u64)).expect("small");
                if rng.below(3) > 0 {
                    let v = DbVersion::Clean(rng.below(5));
                    let p = create(&dbs[i], &shared, &v, "schema_migrations").expect("backup");
                    made[i].push(p);
                } else {
                    let keep = usize::try_from(rng.below(4)).expect("small");
                    let before = snapshot(&shared);
                    let removed =
                        prune(&dbs[i], &shared, keep, "schema_migrations").expect("prune");
                    for r in &removed {
                        assert!(made[i].contains(r), "seed {seed}: {r:?} is not db {i}'s");
                    }
                    made[i].retain(|p| !removed.contains(p));
                    if keep > 0 {
                        assert!(made[i].len() <= keep, "seed {seed}");
                    }
                    let after = snapshot(&shared);
                    for (p, bytes) in &before {
                        if !removed.contains(p) {
                            assert_eq!(after.get(p), Some(bytes), "seed {seed}: {p:?} changed");
                        }
                    }
                }
                for (j, db) in dbs.iter().enumerate() {
                    let mut listed: Vec<PathBuf> = list(db, &shared, "schema_migrations")
                        .expect("list")
                        .into_iter()
                        .map(|b| b.path)
                        .collect();
                    listed.sort();
                    let mut own = made[j].clone();
                    own.sort();
                    assert_eq!(listed, own, "seed {seed}: db {j}");
                }
            }
        }
    }

    /// Generated cases: backups of varying sizes, then a prune with a count and a size
    /// limit. What stays is the newest backups (a suffix of the list), the newest always;
    /// at most `keep` of them (when `keep` > 0); their total within `max_size` unless the
    /// newest alone exceeds it; and no more was removed than the two rules need.
    #[test]
    fn safety_pruning_by_size_keeps_the_newest_within_the_limit() {
        for seed in 1..=24u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let dir = tempfile::tempdir().expect("tempdir");
            let db = dir.path().join("app.db");
            fill(&db, 1);
            let n = rng.below(6) + 1;
            for _ in 0..n {
                let c = Connection::open(&db).expect("open");
                c.execute(
                    "INSERT INTO t VALUES (randomblob(?1))",
                    [i64::try_from(rng.below(40_000)).expect("small")],
                )
                .expect("grow");
                drop(c);
                create(&db, dir.path(), &DbVersion::Clean(1), "schema_migrations").expect("b");
            }
            let all = list(&db, dir.path(), "schema_migrations").expect("list");
            let total: u64 = all.iter().map(|b| b.size).sum();
            let keep = usize::try_from(rng.below(5)).expect("small");
            let max_size = match rng.below(3) {
                0 => 0,
                1 => rng.below(total + 1),
                _ => rng.below(total / 2 + 1) + 1,
            };
            let removed = prune_sized(&db, dir.path(), keep, max_size, "schema_migrations", None)
                .expect("prune");
            let left = list(&db, dir.path(), "schema_migrations").expect("list");
            let case = format!(
                "seed {seed}: keep {keep}, max {max_size}, sizes {:?}",
                all.iter().map(|b| b.size).collect::<Vec<_>>()
            );
            assert_eq!(removed.len() + left.len(), all.len(), "{case}");
            assert_eq!(left[..], all[removed.len()..], "{case}: the newest stay");
            assert!(!left.is_empty(), "{case}: the newest is always kept");
            if keep > 0 {
                assert!(left.len() <= keep, "{case}");
            }
            let kept: u64 = left.iter().map(|b| b.size).sum();
            if max_size > 0 && left.len() > 1 {
                assert!(kept <= max_size, "{case}");
            }
            if let Some(last_removed) = removed.len().checked_sub(1) {
                let one_more = &all[last_removed];
                let count_ok = keep == 0 || left.len() < keep;
                let size_ok = max_size == 0 || kept + one_more.size <= max_size;
                assert!(!(count_ok && size_ok), "{case}: removed more than needed");
            }
        }
    }

    /// Generated cases: in every journal mode, with rows still only in the WAL (a
    /// connection kept open, no checkpoint) and, in most cases, a transaction another
    /// connection has begun but not committed, the copy holds exactly the committed rows:
    /// by the file copy in rollback-journal modes; in WAL mode by the file copy after a
    /// checkpoint, or by the backup API while the pending writer keeps the WAL from being
    /// emptied. The file copies are the database's bytes.
    #[test]
    fn safety_copies_hold_exactly_the_committed_rows() {
        for (seed, mode) in ["delete", "truncate", "persist", "wal"]
            .into_iter()
            .cycle()
            .take(12)
            .enumerate()
        {
            let mut rng = Rng((seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let dir = tempfile::tempdir().expect("tempdir");
            let db = dir.path().join("app.db");
            let c = Connection::open(&db).expect("open");
            let m: String = c
                .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
                .expect("mode");
            assert_eq!(m, mode);
            c.execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x)")
                .expect("table");
            let rows = rng.below(2000) + 1;
            // A few transactions, the last ones left in the WAL.
            for chunk in 0..4 {
                c.execute_batch("BEGIN").expect("begin");
                for i in (0..rows).filter(|i| i % 4 == chunk) {
                    c.execute("INSERT INTO t VALUES (?1)", [i]).expect("row");
                }
                c.execute_batch("COMMIT").expect("commit");
            }
            // Uncommitted: a RESERVED lock (rollback) or a write transaction (WAL).
            let writer_pending = seed % 8 < 4;
            let w = Connection::open(&db).expect("writer");
            if writer_pending {
                w.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (-1)")
                    .expect("pending");
            }
            let to = dir.path().join("copy.db");
            let how = copy_database(&db, &to).expect("copy");
            let expect = match (mode, writer_pending) {
                ("wal", true) => CopyMethod::BackupApi,
                ("wal", false) => CopyMethod::FileAfterCheckpoint,
                _ => CopyMethod::FileUnderReadLock,
            };
            assert_eq!(how, expect, "{mode}");
            if how != CopyMethod::BackupApi {
                assert_eq!(
                    std::fs::read(&to).expect("copy"),
                    std::fs::read(&db).expect("database"),
                    "{mode}: the file copy is the database's bytes"
                );
            }
            let n: u64 = Connection::open(&to)
                .expect("open copy")
                .query_row("SELECT count(*) FROM t WHERE x >= 0", [], |r| r.get(0))
                .expect("count");
            assert_eq!(n, rows, "{mode}");
            let pending: i64 = Connection::open(&to)
                .expect("open copy")
                .query_row("SELECT count(*) FROM t WHERE x < 0", [], |r| r.get(0))
                .expect("count");
            assert_eq!(pending, 0, "{mode}");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let m = std::fs::metadata(&to).expect("meta").permissions().mode();
                assert_eq!(m & 0o777, 0o600, "{mode}");
            }
            if writer_pending {
                w.execute_batch("ROLLBACK").expect("rollback");
            }
        }
    }

    /// The state stamp in WAL mode: a write by another connection, left in the WAL or
    /// checkpointed right after the stamp was taken, changes it; checkpoints of an empty
    /// WAL, reads, and connections opened and closed do not.
    #[test]
    fn safety_wal_state_stamp_sees_other_connections_writes_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("app.db");
        let c = Connection::open(&db).expect("open");
        c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)")
            .expect("fill");
        drop(c);
        let recorded = state_stamp(&db).expect("a stamp");
        assert!(recorded.starts_with("wal:"), "{recorded}");
        // Nothing but checkpoints, reads, and connections opened and closed.
        for sql in [
            "PRAGMA wal_checkpoint(PASSIVE)",
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "SELECT count(*) FROM t",
        ] {
            let o = Connection::open(&db).expect("other");
            o.query_row(sql, [], |_| Ok(())).expect(sql);
            drop(o);
            assert_eq!(stamp(&db, false).as_deref(), Some(&*recorded), "{sql}");
        }
        assert_eq!(state_stamp(&db).as_deref(), Some(&*recorded));
        // A write left in the WAL by a connection still open, then checkpointed.
        let o = Connection::open(&db).expect("other");
        o.execute_batch("PRAGMA wal_autocheckpoint = 0; UPDATE t SET x = 2")
            .expect("update");
        assert_ne!(stamp(&db, false).as_deref(), Some(&*recorded), "in the WAL");
        drop(o);
        assert_ne!(
            stamp(&db, false).as_deref(),
            Some(&*recorded),
            "checkpointed"
        );
        // Writes checkpointed at once after each stamp, many times (the same clock tick
        // as the stamp's file time would hide them without the settling wait).
        for i in 0..20 {
            let recorded = state_stamp(&db).expect("a stamp");
            let o = Connection::open(&db).expect("other");
            o.execute("UPDATE t SET x = ?1", [i]).expect("update");
            o.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .expect("checkpoint");
            drop(o);
            assert_ne!(stamp(&db, false).as_deref(), Some(&*recorded), "write {i}");
        }
    }

    /// The state stamp in a rollback-journal mode: an update that keeps the file's size
    /// changes it, and so does the file rewritten in place by another tool with the
    /// same bytes at the change counter and its modification time set back.
    #[test]
    fn safety_rollback_state_stamp_sees_rewrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("app.db");
        fill(&db, 3);
        let recorded = state_stamp(&db).expect("a stamp");
        assert!(recorded.starts_with("rollback:"), "{recorded}");
        assert_eq!(stamp(&db, false).as_deref(), Some(&*recorded));
        let c = Connection::open(&db).expect("open");
        c.execute("UPDATE t SET x = 7 WHERE x = 1", [])
            .expect("update");
        drop(c);
        assert_ne!(stamp(&db, false).as_deref(), Some(&*recorded), "update");
        let recorded = state_stamp(&db).expect("a stamp");
        let bytes = std::fs::read(&db).expect("read");
        let mtime = std::fs::metadata(&db)
            .expect("meta")
            .modified()
            .expect("mtime");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .expect("open");
        std::io::Write::write_all(&mut &f, &bytes).expect("rewrite");
        f.set_modified(mtime).expect("set mtime");
        drop(f);
        assert_ne!(stamp(&db, false).as_deref(), Some(&*recorded), "rewritten");
    }

    /// Backup names of database files of every length up to NAME_MAX fit NAME_MAX, with
    /// the `.partial` and its `-journal` while the backup is written, and parse back; two
    /// long names that differ only at their end get different prefixes.
    #[test]
    fn safety_backup_names_fit_name_max() {
        for len in (1..=250).step_by(7).chain([180, 181, 189, 190, 250]) {
            for fill_char in ["a", "é", "日"] {
                let mut name = fill_char.repeat(len / fill_char.len() + 1);
                while name.len() > len {
                    name.pop();
                }
                if name.is_empty() {
                    continue;
                }
                let db = PathBuf::from("/srv").join(&name);
                let prefix = name_prefix(&db);
                let tag = version_tag(&DbVersion::Dirty(i64::MAX));
                let full = format!("{prefix}.backup-{tag}-20261122T031500Z-999.partial-journal");
                assert!(full.len() <= 255, "{len} {fill_char}: {}", full.len());
                let b = format!("{prefix}.backup-v0001-20261122T031500Z-3");
                assert!(parse_name(&prefix, &b).is_some());
                let other = format!("{}x", &name[..name.len() - fill_char.len()]);
                if name.len() > MAX_PREFIX && other != name {
                    assert_ne!(name_prefix(Path::new(&other)), prefix);
                }
            }
        }
    }

    /// The identity survives a copy of the file (another host), and a backup of the copy
    /// is a backup of the original.
    #[test]
    fn safety_identity_travels_with_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("app.db");
        fill(&db, 3);
        let b = create(&db, dir.path(), &DbVersion::Clean(1), "schema_migrations").expect("b");
        let Identity::Known(id) = identity_of(&db, "schema_migrations") else {
            panic!("no identity after a backup");
        };
        let moved = dir.path().join("elsewhere");
        std::fs::create_dir(&moved).expect("mkdir");
        std::fs::copy(&db, moved.join("app.db")).expect("copy");
        assert_eq!(
            identity_of(&moved.join("app.db"), "schema_migrations"),
            Identity::Known(id.clone())
        );
        assert_eq!(
            verify(&b, "schema_migrations", &Identity::Known(id)),
            Ok(())
        );
        let fresh = dir.path().join("fresh.db");
        fill(&fresh, 1);
        assert_eq!(identity_of(&fresh, "schema_migrations"), Identity::None);
        assert!(verify(
            &b,
            "schema_migrations",
            &identity_of(&fresh, "schema_migrations")
        )
        .is_err());
    }
}
