//! SIGINT as golang-migrate handles it: the first one prints
//! `Stopping after this running migration ...` and lets the running migration finish;
//! no further migration starts; later ones are swallowed. SIGINT also stops a wait at
//! once (the lock file, a backup's copy: `migrate::cancel`), removing what it was writing.
//! SIGTERM stops such a wait the same way; anywhere else it terminates at once, as in
//! golang-migrate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Log;

/// Starts the thread that handles SIGINT and SIGTERM; `stop` is set by the first SIGINT.
pub fn install(stop: Arc<AtomicBool>, log: Log) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let spawned = std::thread::Builder::new().spawn(move || {
        for sig in signals.forever() {
            if sig == SIGTERM {
                if migrate::cancel::in_wait() {
                    migrate::cancel::request();
                } else {
                    let _ = signal_hook::low_level::emulate_default_handler(SIGTERM);
                }
                continue;
            }
            migrate::cancel::request();
            if !stop.swap(true, Ordering::SeqCst) {
                log.println("Stopping after this running migration ...");
            }
        }
    });
    // A thread limit (ulimit -u, a container's pids.max) can refuse the thread. The closure,
    // and `signals` with it, is dropped: SIGINT gets its default action back instead of
    // being swallowed, and the command runs.
    if let Err(e) = spawned {
        log.println(&format!(
            "warning: cannot start the thread that handles Ctrl-C ({e}); Ctrl-C stops at once instead of after the running migration"
        ));
    }
}
