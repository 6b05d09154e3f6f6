//! The SQLite migration lock: an advisory lock (`flock`) on `<db>.migrate.lock`, released
//! by the OS when the holder exits or dies, so a crash never leaves a stale lock. The file
//! stays in place: deleting it would let a waiter and a newcomer lock two different inodes.

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
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| Error::LockFile {
            path: path.to_path_buf(),
            source,
        })
}

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

/// Takes the lock, waiting at most `timeout` (golang-migrate's `-lock-timeout` message).
pub fn acquire(path: &Path, timeout: Duration) -> Result<File> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(f) = try_acquire(path)? {
            return Ok(f);
        }
        if Instant::now() >= deadline {
            return Err(Error::LockTimeout {
                lock: path.display().to_string(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
