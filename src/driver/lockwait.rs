//! Waiting for the migration lock: the one loop every driver's `lock` runs, and the
//! notice it gives once the wait passes a second (who holds the lock, where the driver
//! can tell, and how long the wait may last). The library prints nothing: an application
//! (the CLI) installs a notice handler with [`set_notice`].

use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::error::Result;

/// How long a wait lasts before the notice is given.
pub const NOTICE_AFTER: Duration = Duration::from_secs(1);

/// How often the lock is tried again.
const POLL: Duration = Duration::from_millis(50);

/// A wait for the migration lock that has passed [`NOTICE_AFTER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWait {
    /// The lock, as the timeout error names it (`pg_advisory_lock(<key>)`, the lock file).
    pub lock: String,
    /// Who holds it, where the driver can tell.
    pub holder: Option<String>,
    /// The longest the wait lasts (`-lock-timeout`).
    pub timeout: Duration,
}

impl std::fmt::Display for LockWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "waiting for the migration lock {}, held by {}; giving up after {} (-lock-timeout)",
            self.lock,
            self.holder.as_deref().unwrap_or("another process"),
            crate::gocompat::duration::format(self.timeout)
        )
    }
}

type Notice = Box<dyn Fn(&LockWait) + Send + Sync>;

static NOTICE: RwLock<Option<Notice>> = RwLock::new(None);

/// Installs the handler called once per wait that passes [`NOTICE_AFTER`] (process-wide;
/// replaces the previous one). Without one, waits are silent.
pub fn set_notice(f: impl Fn(&LockWait) + Send + Sync + 'static) {
    if let Ok(mut n) = NOTICE.write() {
        *n = Some(Box::new(f));
    }
}

fn notify(w: &LockWait) {
    if let Ok(n) = NOTICE.read() {
        if let Some(f) = n.as_ref() {
            f(w);
        }
    }
}

/// Tries `try_once` until it takes the lock (`Ok(true)`) or `timeout` passes
/// (`timed_out()`). Once the wait passes [`NOTICE_AFTER`], asks `holder` who holds the
/// lock and gives the notice, once.
pub fn wait(
    lock: &str,
    timeout: Duration,
    mut try_once: impl FnMut() -> Result<bool>,
    mut holder: impl FnMut() -> Option<String>,
    timed_out: impl FnOnce() -> crate::Error,
) -> Result<()> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut noticed = false;
    let _wait = crate::cancel::Wait::start();
    loop {
        if try_once()? {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out());
        }
        if crate::cancel::requested() {
            return Err(crate::Error::Interrupted {
                what: format!("while waiting for the migration lock {lock}"),
            });
        }
        if !noticed && now.duration_since(started) >= NOTICE_AFTER {
            noticed = true;
            notify(&LockWait {
                lock: lock.to_string(),
                holder: holder(),
                timeout,
            });
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_reads_as_one_line() {
        let w = LockWait {
            lock: "pg_advisory_lock(42)".into(),
            holder: Some("PostgreSQL backend pid 7".into()),
            timeout: Duration::from_secs(15),
        };
        assert_eq!(
            w.to_string(),
            "waiting for the migration lock pg_advisory_lock(42), held by PostgreSQL backend pid 7; giving up after 15s (-lock-timeout)"
        );
        let unknown = LockWait { holder: None, ..w };
        assert!(unknown.to_string().contains("held by another process;"));
    }

    #[test]
    fn a_lock_taken_at_once_asks_nobody() {
        let mut asked = false;
        let r = wait(
            "x",
            Duration::from_secs(5),
            || Ok(true),
            || {
                asked = true;
                None
            },
            || crate::Error::CantAcquireLock,
        );
        assert!(r.is_ok());
        assert!(!asked);
    }

    #[test]
    fn a_zero_timeout_tries_once() {
        let mut tries = 0;
        let r = wait(
            "x",
            Duration::ZERO,
            || {
                tries += 1;
                Ok(false)
            },
            || None,
            || crate::Error::CantAcquireLock,
        );
        assert!(matches!(r, Err(crate::Error::CantAcquireLock)));
        assert_eq!(tries, 1);
    }
}
