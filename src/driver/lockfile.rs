//! The SQLite migration lock: an advisory lock (`flock`) on `<db>.migrate.lock`, released
//! by the OS when the holder exits or dies, so a crash never leaves a stale lock. The file
//! stays in place: deleting it would let a waiter and a newcomer lock two different inodes.
//! It belongs to the database's owner (a run as root hands it over), and a lock file that
//! cannot be opened for writing is locked through a read-only descriptor: `flock` needs
//! no write access, so a lock file left by another user never keeps the owner out.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(Error::LockFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Takes the lock, waiting at most `timeout` (golang-migrate's `-lock-timeout` message);
/// the wait stops at once on [`crate::cancel::request`].
pub fn acquire(path: &Path, timeout: Duration) -> Result<File> {
    let deadline = Instant::now() + timeout;
    let _wait = crate::cancel::Wait::start();
    loop {
        if let Some(f) = try_acquire(path)? {
            return Ok(f);
        }
        if crate::cancel::requested() {
            return Err(Error::Interrupted {
                what: format!("while waiting for the migration lock {}", path.display()),
            });
        }
        if Instant::now() >= deadline {
            return Err(Error::LockTimeout {
                lock: path.display().to_string(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
