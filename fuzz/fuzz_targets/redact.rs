//! Redaction: `migrate::redact::{secret_spans, redact, Scrubber}` and the URL parser's
//! Debug, `redacted()` and errors, against an independent oracle of where a URL holds a
//! secret (see redact_check.rs, which the main crate's tests/fuzz_redact.rs also runs, on
//! the stable toolchain, over the corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "redact_check.rs"]
mod redact_check;

fuzz_target!(|data: &[u8]| redact_check::check(data));
