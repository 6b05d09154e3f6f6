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
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if !stop.swap(true, Ordering::SeqCst) {
                log.println("Stopping after this running migration ...");
            }
        }
    });
}
