//! Process-wide cancellation of the waits the library makes: waiting for the migration
//! lock file, and copying a database with the online backup API (a backup, a restore, a
//! rehearsal's copy). A wait that sees [`requested`] stops, removes what it was writing and
//! returns [`crate::Error::Interrupted`]. The CLI requests it on SIGINT and SIGTERM; an
//! application embedding the library calls [`request`] from its own signal handling.
//!
//! While such a wait runs, [`in_wait`] is true: the CLI's SIGTERM handling uses it to turn
//! SIGTERM into a clean stop there, and to keep SIGTERM's default action (terminate)
//! everywhere else, as golang-migrate does.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Asks every current and later wait to stop.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether [`request`] was called.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Whether a cancellable wait is running now.
pub fn in_wait() -> bool {
    WAITING.load(Ordering::SeqCst) > 0
}

/// Marks a cancellable wait for as long as it lives.
#[derive(Debug)]
pub(crate) struct Wait(());

impl Wait {
    /// Starts a wait: [`in_wait`] is true until the returned value is dropped.
    pub(crate) fn start() -> Wait {
        WAITING.fetch_add(1, Ordering::SeqCst);
        Wait(())
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}
