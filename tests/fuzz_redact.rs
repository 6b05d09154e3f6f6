//! The `redact` fuzz target's property (fuzz/fuzz_targets/redact_check.rs), run on the
//! stable toolchain without libFuzzer: over every input of fuzz/corpus/redact and
//! fuzz/corpus/url, and over deterministic mutations of them (seeded: the same inputs on
//! every run). `FUZZ_REDACT_MUTATIONS` (default 3,000) is the number of mutated inputs;
//! `make test` runs it at this CI size, a few seconds. `make fuzz` runs the real target.

#[path = "../fuzz/fuzz_targets/redact_check.rs"]
mod redact_check;

use std::path::Path;

/// Pieces the mutations insert: separators, escapes, the drivers' secret keys.
const TOKENS: &[&str] = &[
    "@",
    ":",
    "/",
    "?",
    "#",
    "&",
    ";",
    "=",
    "%",
    "%zz",
    "%40",
    "%3F",
    "+",
    " ",
    "//",
    "postgres://",
    "mysql://",
    "sqlite3://",
    "u:",
    "tcp(h:1)",
    "password=",
    "PASSWORD=",
    "pass%77ord=",
    "sslpassword=",
    "sslkey=",
    "_auth_pass=",
    "_auth_salt=",
    "x-tls-key=",
    "_pragma=key(",
    "secret1",
    "hunter22",
    "é",
];

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut out = Vec::new();
    for dir in ["redact", "url"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if let Ok(b) = std::fs::read(&f) {
                out.push(b);
            }
        }
    }
    out
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut s = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(3) {
            0 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                s.splice(at..at, t.iter().copied());
            }
            1 if !s.is_empty() => {
                let end = (at + 1 + rng.below(4)).min(s.len());
                s.drain(at.min(s.len() - 1)..end);
            }
            _ => {
                let b = b"abcxyz019@:/?#&;=%+ "[rng.below(20)];
                s.insert(at, b);
            }
        }
    }
    s
}

#[test]
fn fuzz_redact_corpus_and_mutations() {
    let corpus = corpus();
    assert!(
        corpus.len() > 100,
        "corpus missing: {} inputs",
        corpus.len()
    );
    for input in &corpus {
        redact_check::check(input);
    }
    let n: usize = std::env::var("FUZZ_REDACT_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000);
    let mut rng = Rng(0x2545_F491);
    for _ in 0..n {
        let base = &corpus[rng.below(corpus.len())];
        redact_check::check(&mutate(&mut rng, base));
    }
}

/// The oracle finds what it should, so the property is not vacuous.
#[test]
fn fuzz_redact_oracle_finds_secrets() {
    let raw = "postgres://u:hunter22@h/db?sslpassword=tok3n99&_AUTH_PASS=abcd";
    let found: Vec<&str> = redact_check::oracle(raw)
        .into_iter()
        .map(|r| &raw[r])
        .collect();
    assert_eq!(found, ["hunter22", "tok3n99", "abcd"]);
    let raw = "mysql://root:p@ss/w?rd@tcp(h:3306)/db";
    let found: Vec<&str> = redact_check::oracle(raw)
        .into_iter()
        .map(|r| &raw[r])
        .collect();
    assert!(found.contains(&"p@ss/w?rd"), "{found:?}");
}
