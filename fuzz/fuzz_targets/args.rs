//! The argument handling: `migrate::gate::normalize_db_args` (cc-backend's single-dash
//! spellings to clap's double-dash ones) and `migrate::gocompat::flag::FlagSet::parse`
//! (Go's `flag` package) with the CLI's global flags, plus an int flag.
//!
//! The input is the argument list, one argument per line (`\n`-separated).
//!
//! Properties: no panic; `normalize_db_args` keeps the length, leaves `--` and everything
//! after it untouched, only ever prepends one `-` to a known single-dash flag, and is
//! idempotent; `FlagSet::parse` returns `Ok` or `Err`, and on `Ok` the positional
//! arguments are a suffix of the input, the consumed prefix starts with a flag, and every
//! flag reads back without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate::gate::normalize_db_args;
use migrate::gocompat::flag::{Def, FlagSet, Kind, ParseError};

const DB_FLAGS: [&str; 5] = [
    "migrate-db",
    "revert-db",
    "force-db",
    "db-status",
    "no-backup",
];

/// The flags of `global_flags()` in src/cli/mod.rs (with the SQLite safety flags of
/// src/cli/safety.rs), and one `Int` flag so that every kind is exercised.
fn defs() -> Vec<Def> {
    let d = |name, kind, default| Def {
        name,
        kind,
        default,
        usage: "",
    };
    vec![
        d("help", Kind::Bool, "false"),
        d("version", Kind::Bool, "false"),
        d("verbose", Kind::Bool, "false"),
        d("prefetch", Kind::Uint, "10"),
        d("lock-timeout", Kind::Uint, "15"),
        d("path", Kind::String, ""),
        d("database", Kind::String, ""),
        d("source", Kind::String, ""),
        d("allow-drift", Kind::Bool, "false"),
        d("allow-missing", Kind::Bool, "false"),
        d("allow-out-of-order", Kind::Bool, "false"),
        d("single-transaction", Kind::Bool, "false"),
        d("migrate-db", Kind::Bool, "false"),
        d("revert-db", Kind::Bool, "false"),
        d("force-db", Kind::String, ""),
        d("db-status", Kind::Bool, "false"),
        d("backup-dir", Kind::String, ""),
        d("backup-keep", Kind::Uint, "10"),
        d("no-backup", Kind::Bool, "false"),
        d("integrity-check", Kind::String, "quick"),
        d("restore-on-failure", Kind::Bool, "false"),
        d("optimize", Kind::Bool, "false"),
        d("dry-run", Kind::Bool, "false"),
        d("digits", Kind::Int, "6"),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<&str> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').collect()
    };

    // --- normalize_db_args ---
    let norm = normalize_db_args(args.iter().copied());
    assert_eq!(norm.len(), args.len());
    let stop = args.iter().position(|a| *a == "--").unwrap_or(args.len());
    assert_eq!(&norm[stop..], &args[stop..], "changed at or after `--`");
    for (a, n) in args.iter().zip(&norm).take(stop) {
        if n != a {
            assert_eq!(n, &format!("-{a}"));
            let rest = a.strip_prefix('-').expect("only single-dash flags change");
            assert!(!rest.starts_with('-'));
            let name = rest.split('=').next().unwrap_or("");
            assert!(DB_FLAGS.contains(&name), "{a:?} is not a database flag");
        } else if let Some(rest) = a.strip_prefix('-').filter(|r| !r.starts_with('-')) {
            let name = rest.split('=').next().unwrap_or("");
            assert!(!DB_FLAGS.contains(&name), "{a:?} was not rewritten");
        }
    }
    assert_eq!(normalize_db_args(norm.clone()), norm, "not idempotent");

    // --- Go's flag parsing ---
    let set = FlagSet::new("migrate", defs());
    match set.parse(&args) {
        Ok(p) => {
            let rest = p.args();
            assert!(rest.len() <= args.len());
            let consumed = args.len() - rest.len();
            assert_eq!(rest, &args[consumed..], "positional args are not a suffix");
            if consumed > 0 {
                assert!(
                    args[0].starts_with('-'),
                    "consumed a non-flag {:?}",
                    args[0]
                );
            }
            if let Some(first) = rest.first() {
                // Parsing stopped at a non-flag, or just after `--`.
                let after_dashdash = consumed > 0 && args[consumed - 1] == "--";
                assert!(
                    after_dashdash || first.len() < 2 || !first.starts_with('-'),
                    "stopped at flag {first:?}"
                );
            }
            for d in defs() {
                match d.kind {
                    Kind::Bool => drop(p.bool(d.name)),
                    Kind::String => drop(p.string(d.name)),
                    Kind::Uint => drop(p.uint(d.name)),
                    Kind::Int => drop(p.int(d.name)),
                }
                if p.is_set(d.name) {
                    assert!(consumed > 0);
                }
            }
        }
        Err(ParseError::Help) => {
            assert!(args
                .iter()
                .any(|a| a.starts_with("-h") || a.starts_with("--h")));
        }
        Err(ParseError::Invalid(msg)) => assert!(!msg.is_empty()),
    }
});
