//! SIGINT as golang-migrate handles it: the first one prints
//! `Stopping after this running migration ...` and lets the running migration finish;
//! no further migration starts; later ones are swallowed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Log;

pub fn install(stop: Arc<AtomicBool>, log: Log) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT]) else {
        return;
    };
    let spawned = std::thread::Builder::new().spawn(move || {
        for _ in signals.forever() {
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
