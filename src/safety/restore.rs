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
    /// Warnings for the user (a backup that could not be verified, `-foreign`).
    pub warnings: Vec<String>,
    /// Temporary copies that killed restores had left, removed by this one.
    pub removed_temps: Vec<PathBuf>,
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

/// The temporary file a restore copies the backup to, beside the database:
/// `.<name>.restore-<pid>`.
fn temp_name(db: &Path) -> String {
    format!(
        ".{}.restore-{}",
        backup::name_prefix(db),
        std::process::id()
    )
}

/// Removes the temporary copies (and their `-journal`/`-wal`/`-shm` files) that killed
/// restores of `db` left in `parent`. The caller holds the migration lock, which every
/// restore holds while its copy exists, so none of them is in use.
fn remove_stale_temps(db: &Path, parent: &Path) -> Vec<PathBuf> {
    let stem = format!(".{}.restore-", backup::name_prefix(db));
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&stem) else {
            continue;
        };
        let pid = ["-journal", "-wal", "-shm"]
            .iter()
            .find_map(|s| rest.strip_suffix(s))
            .unwrap_or(rest);
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        let stale = regular && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
        if stale && std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// Replaces `db` with `from` (a backup). `opts` says where the pre-restore backup goes.
/// `from` must be a backup of this database (its `<table>_identity` matches) unless
/// `allow_foreign`; the database then keeps its own identity. A symlinked `db` is
/// restored where it points, and the restored file gets the old one's owner and mode.
pub fn restore(
    db: &Path,
    from: &Path,
    table: &str,
    database_url: &str,
    opts: &super::Options,
    allow_foreign: bool,
) -> Result<Restored> {
    check_is_backup_file(from)?;
    let _lock = try_lock(db)?;
    let started = crate::journal::now();
    let clock = std::time::Instant::now();
    let mut out = Restored {
        previous: None,
        pruned: Vec::new(),
        journal_error: None,
        warnings: Vec::new(),
        removed_temps: Vec::new(),
    };
    let foreign = whose(db, from, table, allow_foreign, &mut out.warnings)?;
    verify(from)?;
    let (real, parent) = real_path(db)?;
    out.removed_temps = remove_stale_temps(&real, &parent);
    let replaced = if super::has_content(db) {
        version_of(db, table)
    } else {
        DbVersion::Nil
    };
    if super::has_content(db) && !opts.no_backup {
        let dir = super::backup_dir(db, opts.backup_dir.as_deref(), database_url);
        // A database SQLite cannot open has no backup-API copy: its bytes are kept.
        let b = match super::integrity::opens(db) {
            Ok(()) => backup::create(db, &dir, &replaced, table)?,
            Err(_) => super::save_unopenable(db, &dir)?,
        };
        // Never prune the backup being restored from.
        out.pruned = backup::prune_keeping(db, &dir, opts.keep, table, Some(from))?;
        out.previous = Some(b);
    }
    // The identity the pre-restore backup gave the database, for a foreign restore.
    let own = match backup::identity_of(db, table) {
        backup::Identity::Known(id) => Some(id),
        _ => None,
    };
    let meta = std::fs::metadata(&real).ok();
    let tmp = parent.join(temp_name(&real));
    copy_to_temp(from, &tmp, foreign.then_some((table, own)))?;
    if let Some(m) = &meta {
        take_owner(&tmp, &real, m)?;
    }
    swap_in(&tmp, &real, &parent)?;
    // Journal the restore in the restored database (still under the lock).
    let mut entry = crate::journal::Entry::new("restore", started, clock.elapsed())
        .versions(replaced.version(), version_of(db, table).version());
    entry.file = Some(from.display().to_string());
    out.journal_error = journal_restore(database_url, &entry)
        .err()
        .map(|e| super::short(&e));
    Ok(out)
}

/// Refuses a `from` that is not a file (a directory, ...) or does not exist.
fn check_is_backup_file(from: &Path) -> Result<()> {
    let lists = Some("`migrate -database <url> backups` lists the backups");
    if let Some(kind) = backup::file_kind(from) {
        return Err(err(
            format!("backup {} is {kind}, not a backup file", from.display()),
            lists,
        ));
    }
    if !from.is_file() {
        return Err(err(
            format!("backup {} does not exist", from.display()),
            lists,
        ));
    }
    Ok(())
}

/// Whose backup `from` is: `Ok(false)` when it is this database's (or there is nothing to
/// compare with, and nothing to lose: a missing or empty database takes the backup's
/// identity), `Ok(true)` for a foreign one restored with `allow_foreign`; refused
/// otherwise. Doubts go to `warnings`.
fn whose(
    db: &Path,
    from: &Path,
    table: &str,
    allow_foreign: bool,
    warnings: &mut Vec<String>,
) -> Result<bool> {
    if !super::has_content(db) {
        return Ok(false);
    }
    let own = backup::identity_of(db, table);
    match backup::verify(from, table, &own) {
        Ok(()) => Ok(false),
        Err(why) if matches!(own, backup::Identity::Unreadable(_)) => {
            warnings.push(format!("{} was not verified as a backup of this database: {why}; the database is backed up first", from.display()));
            Ok(false)
        }
        Err(why) if allow_foreign => {
            warnings.push(format!(
                "{} is not a backup of this database ({why}); restoring it anyway (-foreign)",
                from.display()
            ));
            Ok(true)
        }
        Err(why) => Err(Error::Safety {
            msg: format!(
                "{} is not a backup of this database ({why})",
                from.display()
            ),
            hint: Some(format!("nothing was changed; `migrate -database <url> backups` lists this database's backups; to restore this file anyway: `migrate -database <url> restore -foreign {}`", from.display())),
        }),
    }
}

/// Verifies the backup (`PRAGMA quick_check`) before anything is touched.
fn verify(from: &Path) -> Result<()> {
    let c = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err(format!("cannot open backup {}: {e}", from.display()), None))?;
    let problems = super::integrity::quick_check(&c).unwrap_or_else(|e| vec![e]);
    drop(c);
    if problems.is_empty() {
        return Ok(());
    }
    Err(err(
        format!(
            "backup {} failed PRAGMA quick_check: {}",
            from.display(),
            problems.join("; ")
        ),
        Some("nothing was changed; choose another backup (`migrate -database <url> backups`)"),
    ))
}

/// The file the path names (through a symlink, its target: the link stays a link) and
/// its directory.
fn real_path(db: &Path) -> Result<(PathBuf, PathBuf)> {
    let real = match std::fs::symlink_metadata(db) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(db).map_err(|e| {
            err(
                format!("cannot resolve the symbolic link {}: {e}", db.display()),
                Some("nothing was changed; the link points to a missing file: restore to the file itself"),
            )
        })?,
        _ => db.to_path_buf(),
    };
    let parent = match real.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((real, parent))
}

/// Copies the backup `from` to `tmp` with the backup API. `foreign`: the backup is
/// another database's, and the copy is given this database's identity (its own, or a new
/// one) in `<table>_identity`. On failure the copy is removed.
fn copy_to_temp(from: &Path, tmp: &Path, foreign: Option<(&str, Option<String>)>) -> Result<()> {
    backup::remove_with_sidecars(tmp);
    let copied = backup::copy_with_backup_api(from, tmp).and_then(|()| {
        let Some((table, own)) = foreign else {
            return Ok(());
        };
        // The restored database stays this database: its own identity, or a new one.
        let c = Connection::open_with_flags(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| e.to_string())?;
        let id = match own {
            Some(id) => id,
            None => backup::new_identity(&c).map_err(|e| e.to_string())?,
        };
        backup::write_identity(&c, table, &id).map_err(|e| e.to_string())?;
        c.close().map_err(|(_, e)| e.to_string())?;
        File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("fsync: {e}"))
    });
    let Err(reason) = copied else {
        return Ok(());
    };
    backup::remove_with_sidecars(tmp);
    if crate::cancel::requested() {
        return Err(Error::Interrupted {
            what: format!(
                "while copying {} (the temporary copy was removed)",
                from.display()
            ),
        });
    }
    Err(err(
        format!(
            "cannot copy {} next to the database: {reason}",
            from.display()
        ),
        Some("nothing was changed; check free space and permissions of the database's directory"),
    ))
}

/// Gives the copy `tmp` the mode and owner of the file it replaces (`real`, with
/// metadata `m`). On failure the copy is removed.
fn take_owner(tmp: &Path, real: &Path, m: &std::fs::Metadata) -> Result<()> {
    let _ = std::fs::set_permissions(tmp, m.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Err(e) = std::os::unix::fs::chown(tmp, Some(m.uid()), Some(m.gid())) {
            backup::remove_with_sidecars(tmp);
            return Err(err(
                format!(
                    "cannot give the restored file the owner of {} (uid {}, gid {}): {e}",
                    real.display(),
                    m.uid(),
                    m.gid()
                ),
                Some("nothing was changed; run restore as the database's owner (or as root)"),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = real;
    Ok(())
}

/// Replaces `real` with `tmp`: removes the old database's WAL/SHM/journal files (they
/// would be replayed into the restored one), renames, and syncs the directory.
fn swap_in(tmp: &Path, real: &Path, parent: &Path) -> Result<()> {
    for s in ["-wal", "-shm", "-journal"] {
        let mut q = real.as_os_str().to_owned();
        q.push(s);
        let q = PathBuf::from(q);
        if q.exists() {
            std::fs::remove_file(&q).map_err(|e| {
                backup::remove_with_sidecars(tmp);
                err(format!("cannot remove {}: {e}", q.display()), None)
            })?;
        }
    }
    std::fs::rename(tmp, real).map_err(|e| {
        backup::remove_with_sidecars(tmp);
        err(format!("cannot replace {}: {e}", real.display()), None)
    })?;
    sync_dir(parent).map_err(|e| err(format!("fsync of {}: {e}", parent.display()), None))
}

/// Writes the `restore` row into the restored database's journal.
fn journal_restore(database_url: &str, entry: &crate::journal::Entry) -> Result<()> {
    let cfg = super::sqlite_config(database_url)?.ok_or_else(|| super::unsupported("restore"))?;
    let mut d = crate::driver::sqlite::Sqlite::open_config(cfg)?;
    super::journal_row(&mut d, entry)
}
