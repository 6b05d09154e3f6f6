//! Backups with SQLite's online backup API: consistent in WAL mode and while other
//! connections write, unlike a copy of the file. Written to `<name>.partial`, checked with
//! `PRAGMA quick_check`, fsynced, renamed into place, the directory fsynced; the partial
//! file is removed on any failure. Mode 0600: a backup holds the same data as the database.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{Connection, OpenFlags};

use super::sync_dir;
use crate::error::{Error, Result};
use crate::version::DbVersion;

/// Backups kept by default (`-backup-keep`).
pub const DEFAULT_KEEP: usize = 10;

const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    /// `v0011`, `v-nil`, `v0011-dirty`.
    pub version: String,
    pub time: DateTime<Utc>,
    /// Same-second sequence number (0 for the first).
    pub seq: u32,
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

fn file_name(db: &Path) -> String {
    db.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into())
}

/// Parses `<db>.backup-<version>-<time>[-<seq>]`.
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

/// The backups of `db` in `dir`, oldest first.
pub fn list(db: &Path, dir: &Path) -> Result<Vec<BackupInfo>> {
    let db_name = file_name(db);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Safety {
                msg: format!("cannot list backups in {}: {e}", dir.display()),
                hint: None,
            })
        }
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((version, time, seq)) = parse_name(&db_name, &name) else {
            continue;
        };
        let meta = e.metadata().ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        let modified = meta.and_then(|m| m.modified().ok());
        out.push(BackupInfo {
            path: e.path(),
            version,
            time,
            seq,
            size,
            modified,
        });
    }
    out.sort_by(|a, b| {
        (a.time, a.modified, a.seq, &a.path).cmp(&(b.time, b.modified, b.seq, &b.path))
    });
    Ok(out)
}

/// The newest backup of `db` in `dir`, if any.
pub fn newest(db: &Path, dir: &Path) -> Option<PathBuf> {
    list(db, dir).ok()?.pop().map(|b| b.path)
}

/// Removes all but the newest `keep` backups (0 keeps all); returns what it removed.
pub fn prune(db: &Path, dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let all = list(db, dir)?;
    let excess = all.len().saturating_sub(keep);
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

/// Backs `db` up into `dir` as `<db>.backup-<version>-<now>`; returns the new file.
/// Nothing is pruned here (see [`prune`]).
pub fn create(db: &Path, dir: &Path, version: &DbVersion) -> Result<PathBuf> {
    let now = Utc::now();
    let base = format!(
        "{}.backup-{}-{}",
        file_name(db),
        version_tag(version),
        now.format(TIME_FORMAT)
    );
    let fail = |path: &Path, reason: String| Error::BackupFailed {
        path: path.to_path_buf(),
        reason,
    };
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
    while target.exists() || partial_of(&target).exists() {
        seq += 1;
        target = dir.join(format!("{base}-{seq}"));
    }
    let partial = partial_of(&target);
    match write(db, &partial, &target, dir) {
        Ok(()) => Ok(target),
        Err(reason) => {
            remove_with_sidecars(&partial);
            Err(fail(&target, reason))
        }
    }
}

/// Removes a file and its `-journal`/`-wal`/`-shm` companions, ignoring errors.
pub(crate) fn remove_with_sidecars(p: &Path) {
    let _ = std::fs::remove_file(p);
    for s in ["-journal", "-wal", "-shm"] {
        let mut q = p.as_os_str().to_owned();
        q.push(s);
        let _ = std::fs::remove_file(PathBuf::from(q));
    }
}

/// Copies `src` into a new file `dst` with the online backup API; `dst` gets mode 0600.
pub(crate) fn copy_with_backup_api(src: &Path, dst: &Path) -> std::result::Result<(), String> {
    create_private(dst)?;
    let from = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", src.display()))?;
    from.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let mut to = Connection::open_with_flags(
        dst,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    {
        let b = rusqlite::backup::Backup::new(&from, &mut to).map_err(|e| e.to_string())?;
        // All remaining pages per step: one pass; retry while the source is busy.
        loop {
            match b.step(-1).map_err(|e| crate::driver::sqlite::message(&e))? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }
    let problems = super::integrity::quick_check(&to)?;
    if !problems.is_empty() {
        return Err(format!(
            "the copy failed PRAGMA quick_check: {}",
            problems.join("; ")
        ));
    }
    to.close().map_err(|(_, e)| e.to_string())?;
    drop(from);
    std::fs::File::open(dst)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync: {e}"))?;
    Ok(())
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

fn write(db: &Path, partial: &Path, target: &Path, dir: &Path) -> std::result::Result<(), String> {
    copy_with_backup_api(db, partial)?;
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
        let made = create(&db, dir.path(), &DbVersion::Clean(1)).expect("backup");
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
}
