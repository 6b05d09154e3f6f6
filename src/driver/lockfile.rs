//! The SQLite migration lock: an advisory lock (`flock`) on `<db>.migrate.lock`, released
//! by the OS when the holder exits or dies, so a crash never leaves a stale lock. The file
//! stays in place: deleting it would let a waiter and a newcomer lock two different inodes.
//!
//! The holder writes one line into the file (`pid N (program) on HOST since TIME`) and
//! empties it on release, so a waiter can say who holds the lock. A line whose process is
//! gone (a crash) is not shown.
//!
//! It belongs to the database's owner (a run as root hands it over), and a lock file that
//! cannot be opened for writing is locked through a read-only descriptor: `flock` needs
//! no write access, so a lock file left by another user never keeps the owner out.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// `<db>.migrate.lock`.
pub fn path_for(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".migrate.lock");
    PathBuf::from(s)
}

fn open(path: &Path) -> Result<File> {
    let opened = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.exists() => {
            std::fs::File::open(path).map_err(|source| Error::LockFile {
                path: path.to_path_buf(),
                source,
            })?
        }
        Err(source) => {
            return Err(Error::LockFile {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    give_to_db_owner(path, &file);
    Ok(file)
}

/// This process, as the lock file records it.
fn holder_line() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "?".into());
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "?".into());
    format!(
        "pid {} ({program}) on {host} since {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// Writes who holds the lock; a failure only loses the notice's detail.
fn record(mut file: &File) {
    let _ = file
        .set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", holder_line()).as_bytes()));
}

/// Gives the lock file the owner and group of its database (of the database's directory
/// while the file does not exist yet), so a run as root does not leave a lock file the
/// application's user cannot open. Only root can change an owner: for anyone else, and on
/// any error, the file stays as it is.
#[cfg(unix)]
fn give_to_db_owner(path: &Path, file: &File) {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let Some(db) = path
        .as_os_str()
        .as_bytes()
        .strip_suffix(b".migrate.lock")
        .map(|b| Path::new(OsStr::from_bytes(b)))
    else {
        return;
    };
    let parent = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(owner) = std::fs::metadata(db).or_else(|_| std::fs::metadata(parent)) else {
        return;
    };
    let Ok(mine) = file.metadata() else {
        return;
    };
    if (mine.uid(), mine.gid()) != (owner.uid(), owner.gid()) {
        let _ = std::os::unix::fs::fchown(file, Some(owner.uid()), Some(owner.gid()));
    }
}

#[cfg(not(unix))]
fn give_to_db_owner(_path: &Path, _file: &File) {}

/// Takes the lock without waiting: `Ok(None)` when another process holds it.
pub fn try_acquire(path: &Path) -> Result<Option<File>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            record(&file);
            Ok(Some(file))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(Error::LockFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Releases the lock taken by [`try_acquire`] / [`acquire`], emptying the holder line.
pub fn release(file: File) {
    let _ = file.set_len(0);
    drop(file);
}

/// Who holds the lock, as the holder recorded it; `None` when the file has no line or the
/// process it names is gone.
pub fn holder(path: &Path) -> Option<String> {
    let mut s = String::new();
    File::open(path).ok()?.read_to_string(&mut s).ok()?;
    let line = s.lines().next()?.trim().to_string();
    let pid: u32 = line.strip_prefix("pid ")?.split(' ').next()?.parse().ok()?;
    if Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists() {
        return None;
    }
    Some(line)
}

/// Takes the lock, waiting at most `timeout` (golang-migrate's `-lock-timeout` message);
/// after a second of waiting the lock-wait notice names the holder.
pub fn acquire(path: &Path, timeout: Duration) -> Result<File> {
    let mut got = None;
    super::lockwait::wait(
        &path.display().to_string(),
        timeout,
        || {
            got = try_acquire(path)?;
            Ok(got.is_some())
        },
        || holder(path),
        || Error::LockTimeout {
            lock: path.display().to_string(),
        },
    )?;
    got.ok_or(Error::CantAcquireLock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_recorded_and_cleared() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Other(e.to_string()))?;
        let path = path_for(&dir.path().join("x.db"));
        let f = acquire(&path, Duration::ZERO)?;
        let h = holder(&path).ok_or(Error::Other("no holder".into()))?;
        assert!(
            h.starts_with(&format!("pid {} (", std::process::id())),
            "{h}"
        );
        release(f);
        assert_eq!(holder(&path), None);
        Ok(())
    }

    #[test]
    fn a_dead_holder_is_not_shown() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Other(e.to_string()))?;
        let path = dir.path().join("x.lock");
        // A pid above the kernel's limit (pid_max is at most 2^22) never exists.
        std::fs::write(
            &path,
            "pid 99999999 (migrate) on h since 2026-01-01T00:00:00Z\n",
        )
        .map_err(|e| Error::Other(e.to_string()))?;
        assert_eq!(holder(&path), None);
        Ok(())
    }
}
