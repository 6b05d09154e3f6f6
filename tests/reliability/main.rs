//! Reliability: crash injection (SIGKILL at random moments), concurrency stress and a
//! catalogue of hostile inputs. Sizes: CI runs the defaults; by hand, raise
//! `CRASH_TRIALS` (e.g. 1000) and `STRESS_ROUNDS`.

#[path = "../common/harness.rs"]
mod harness;

mod crash;
mod generated;
mod hostile;
mod scale;
mod stress;
mod transcripts;

/// A small xorshift generator: no dependency, reproducible from the printed seed.
pub struct Rng(u64);

impl Rng {
    pub fn from_env(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(42)
                    | 1
            });
        eprintln!("{var}={seed} (set it to reproduce)");
        Rng(seed)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

pub fn env_usize(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
