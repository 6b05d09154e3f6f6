//! `restore <backup>`: under the migration lock, check the backup, back up the current
//! database, and replace it atomically (copy to a temporary file in the database's
//! directory, fsync, remove stale `-wal`/`-shm`, rename, fsync the directory).

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::backup;
use super::sync_dir;
use crate::error::{Error, Result};
use crate::version::DbVersion;

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The backup of the database as it was before the restore (`None`: there was none).
    pub previous: Option<PathBuf>,
    /// Backups pruned after `previous` was made.
    pub pruned: Vec<PathBuf>,
    /// The `restore` row could not be written to the restored database's journal (the
    /// restore itself succeeded).
    pub journal_error: Option<String>,
}

fn err(msg: String, hint: Option<&str>) -> Error {
    Error::Safety {
        msg,
        hint: hint.map(str::to_string),
    }
}

/// The migration lock file, as `Sqlite::lock` names it.
pub fn lock_path(db: &Path) -> PathBuf {
    crate::driver::lockfile::path_for(db)
}

/// Takes the migration lock without waiting; refuses if another process holds it.
pub fn try_lock(db: &Path) -> Result<File> {
    let path = lock_path(db);
    crate::driver::lockfile::try_acquire(&path)?.ok_or_else(|| {
        err(
            format!(
                "another process holds the migration lock ({})",
                path.display()
            ),
            Some("a migration is running; wait for it to finish, then restore"),
        )
    })
}

/// The version recorded in a SQLite file (read-only), for naming the pre-restore backup.
pub fn version_of(db: &Path, table: &str) -> DbVersion {
    let Ok(c) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return DbVersion::Nil;
    };
    let sql = format!(
        "SELECT version, dirty FROM \"{}\" LIMIT 1",
        table.replace('"', "\"\"")
    );
    match c.query_row(&sql, [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
    }) {
        Ok((v, true)) => DbVersion::Dirty(v),
        Ok((v, false)) if v >= 0 => DbVersion::Clean(v.unsigned_abs()),
        _ => DbVersion::Nil,
    }
}

/// Replaces `db` with `from` (a backup). `opts` says where the pre-restore backup goes.
pub fn restore(
    db: &Path,
    from: &Path,
    table: &str,
    database_url: &str,
    opts: &super::Options,
) -> Result<Restored> {
    if !from.is_file() {
        return Err(err(
            format!("backup {} does not exist", from.display()),
            Some("`migrate -database <url> backups` lists the backups"),
        ));
    }
    let _lock = try_lock(db)?;
    let started = crate::journal::now();
    let clock = std::time::Instant::now();
    // Verify the backup before touching anything.
    let c = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err(format!("cannot open backup {}: {e}", from.display()), None))?;
    let problems = super::integrity::quick_check(&c).unwrap_or_else(|e| vec![e]);
    drop(c);
    if !problems.is_empty() {
        return Err(err(
            format!(
                "backup {} failed PRAGMA quick_check: {}",
                from.display(),
                problems.join("; ")
            ),
            Some("nothing was changed; choose another backup (`migrate -database <url> backups`)"),
        ));
    }
    let dir = super::backup_dir(db, opts.backup_dir.as_deref(), database_url);
    let mut out = Restored {
        previous: None,
        pruned: Vec::new(),
        journal_error: None,
    };
    let replaced = if super::has_content(db) {
        version_of(db, table)
    } else {
        DbVersion::Nil
    };
    if super::has_content(db) && !opts.no_backup {
        // A database SQLite cannot open has no backup-API copy: its bytes are kept.
        let b = match super::integrity::opens(db) {
            Ok(()) => backup::create(db, &dir, &version_of(db, table))?,
            Err(_) => super::save_unopenable(db, &dir)?,
        };
        out.pruned = backup::prune(db, &dir, opts.keep)?;
        // Never prune the backup being restored from.
        out.previous = Some(b);
    }
    let parent = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mode = std::fs::metadata(db).ok().map(|m| m.permissions());
    let tmp = parent.join(format!(
        ".{}.restore-{}",
        db.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    backup::remove_with_sidecars(&tmp);
    if let Err(reason) = backup::copy_with_backup_api(from, &tmp) {
        backup::remove_with_sidecars(&tmp);
        return Err(err(
            format!(
                "cannot copy {} next to the database: {reason}",
                from.display()
            ),
            Some(
                "nothing was changed; check free space and permissions of the database's directory",
            ),
        ));
    }
    if let Some(p) = mode {
        let _ = std::fs::set_permissions(&tmp, p);
    }
    // Stale WAL/SHM files of the old database would be replayed into the restored one.
    for s in ["-wal", "-shm", "-journal"] {
        let mut q = db.as_os_str().to_owned();
        q.push(s);
        let q = PathBuf::from(q);
        if q.exists() {
            std::fs::remove_file(&q)
                .map_err(|e| err(format!("cannot remove {}: {e}", q.display()), None))?;
        }
    }
    std::fs::rename(&tmp, db).map_err(|e| {
        backup::remove_with_sidecars(&tmp);
        err(format!("cannot replace {}: {e}", db.display()), None)
    })?;
    sync_dir(&parent).map_err(|e| err(format!("fsync of {}: {e}", parent.display()), None))?;
    // Journal the restore in the restored database (still under the lock).
    let mut entry = crate::journal::Entry::new("restore", started, clock.elapsed())
        .versions(replaced.version(), version_of(db, table).version());
    entry.file = Some(from.display().to_string());
    out.journal_error = journal_restore(database_url, &entry)
        .err()
        .map(|e| super::short(&e));
    Ok(out)
}

fn journal_restore(database_url: &str, entry: &crate::journal::Entry) -> Result<()> {
    let cfg = super::sqlite_config(database_url)?.ok_or_else(|| super::unsupported("restore"))?;
    let mut d = crate::driver::sqlite::Sqlite::open_config(cfg)?;
    super::journal_row(&mut d, entry)
}
