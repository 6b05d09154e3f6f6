// The property of the `redact` fuzz target, shared with the main crate's stable,
// corpus-driven run of it (tests/fuzz_redact.rs): one function, `check`, that panics on a
// violation. It depends on the `migrate` library's feature-free core only.
//
// Properties, for any input text:
// - `secret_spans` are in bounds, in order, not overlapping, not empty; `redact` is the
//   input with each span replaced by `xxxxx`, and redacting twice changes nothing more;
// - no secret the input carries, as any reader of it would see one, is shown by `redact`,
//   by `DatabaseUrl`'s Debug and `redacted()`, by its parse error, or by a `Scrubber` of
//   the input applied to a text that quotes the secret. The readers (an independent oracle,
//   not the redactor's own rules): Go's `url.Parse` user info password; go-sql-driver's
//   DSN password (the text after `scheme://`, the last `/`, the last `@` before it, the
//   first `:`); migrate's own MySQL DSN reading (the body up to the first `?`); and the
//   value of each query parameter (Go's query: after the first `?`, up to `#`, split on
//   `&` or `;`) whose decoded key is one of the drivers' secret parameters, any case.
// Secrets of 3 bytes or fewer are not checked (Go's error quotes a 3-byte bad escape;
// that short a password is a coincidence magnet), nor text that also occurs in the input
// outside every secret.

use std::ops::Range;

use migrate::redact::{lenient_decode, redact, secret_spans, Scrubber};
use migrate::url::DatabaseUrl;

/// The secret parameters of lib/pq, pgx, go-sql-driver/mysql (via golang-migrate) and
/// mattn/go-sqlite3.
const SECRET_PARAMS: &[&str] = &[
    "password",
    "sslpassword",
    "passfile",
    "sslkey",
    "_auth_pass",
    "_auth_salt",
    "x-tls-key",
];

/// Byte ranges of `raw` that hold a secret as some reader sees it.
pub fn oracle(raw: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let Some(colon) = raw.find(':').filter(|&i| i >= 1) else {
        return out;
    };
    let no_frag = &raw[..raw.find('#').unwrap_or(raw.len())];
    // Go's url.Parse.
    let head_end = no_frag.find('?').unwrap_or(no_frag.len());
    let head = &no_frag[..head_end];
    if head.get(colon + 1..).is_some_and(|h| h.starts_with("//")) {
        let auth_start = colon + 3;
        let auth_end = head[auth_start..]
            .find('/')
            .map_or(head.len(), |i| auth_start + i);
        let authority = &head[auth_start..auth_end];
        if let Some(at) = authority.rfind('@') {
            if let Some(c) = authority[..at].find(':') {
                out.push(auth_start + c + 1..auth_start + at);
            }
        }
    }
    // go-sql-driver's ParseDSN on the text after `scheme://` (all of it), and migrate's
    // MySQL reading of the body before the first `?`.
    let dsn_start = if raw[colon + 1..].starts_with("//") {
        colon + 3
    } else {
        colon + 1
    };
    for end in [raw.len(), raw.find('?').unwrap_or(raw.len()).max(dsn_start)] {
        let dsn = &raw[dsn_start..end];
        if let Some(slash) = dsn.rfind('/') {
            if let Some(at) = dsn[..slash].rfind('@') {
                if let Some(c) = dsn[..at].find(':') {
                    out.push(dsn_start + c + 1..dsn_start + at);
                }
            }
        }
    }
    // Query parameters.
    if head_end < no_frag.len() {
        let mut start = head_end + 1;
        for part in no_frag[head_end + 1..].split(['&', ';']) {
            if let Some(eq) = part.find('=') {
                let key = lenient_decode(&part[..eq]).to_lowercase();
                if SECRET_PARAMS.contains(&key.as_str()) {
                    out.push(start + eq + 1..start + part.len());
                }
            }
            start += part.len() + 1;
        }
    }
    out.retain(|r| r.len() > 3);
    out.sort_by_key(|r| (r.start, r.end));
    out.dedup();
    out
}

/// The forms a secret can be printed in: as is, decoded, Rust-escaped, Go-quoted.
fn forms(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for f in [s.to_string(), lenient_decode(s)] {
        let rust = format!("{f:?}");
        let go = migrate::gocompat::quote::quote(&f);
        out.push(rust[1..rust.len() - 1].to_string());
        out.push(go[1..go.len() - 1].to_string());
        out.push(f);
    }
    out.retain(|f| f.len() > 3);
    out
}

/// The input with every secret cut out (and, second, replaced by `xxxxx`), in every
/// form: a secret that also occurs there may be printed for that reason.
fn public_text(raw: &str, secrets: &[Range<usize>]) -> String {
    let mut cover = vec![false; raw.len()];
    for r in secrets {
        cover[r.clone()].iter_mut().for_each(|c| *c = true);
    }
    let mut public = String::new();
    for mark in ["\u{0}", "xxxxx"] {
        let mut text = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if cover[i] {
                text.extend_from_slice(mark.as_bytes());
                while i < raw.len() && cover[i] {
                    i += 1;
                }
            } else {
                text.push(raw.as_bytes()[i]);
                i += 1;
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        for f in forms(&text) {
            public.push_str(&forms(&f).join("\u{0}"));
            public.push('\u{0}');
        }
    }
    public.push_str("xxxxx parse invalid URL escape invalid semicolon separator in query");
    public
}

struct Input<'a> {
    raw: &'a str,
    secrets: Vec<Range<usize>>,
    public: String,
}

fn assert_hidden(input: &Input<'_>, what: &str, printed: &str) {
    let (raw, secrets, public) = (input.raw, &input.secrets, &input.public);
    // Public text followed by the mask can spell a secret that ends in `x` (`mysql:` then
    // `xxxxx` reads `mysql:x`): the masks are fenced off first, with a character the input
    // does not hold.
    let fence = ('\u{E000}'..='\u{E0FF}')
        .find(|c| !raw.contains(*c))
        .unwrap_or('\u{0}')
        .to_string();
    let printed = &printed.replace("xxxxx", &format!("{fence}xxxxx{fence}"));
    for r in secrets {
        for f in forms(&raw[r.clone()]) {
            // Text around a hidden secret plus the mask can spell a form that holds the
            // mask (`+xxxxx` decodes to ` xxxxx`, `xxxx@` beside a mask reads `xxxxx@`): a coincidence too.
            if public.contains(&f) || f.contains("xxxx") {
                continue;
            }
            assert!(
                !printed.contains(&f),
                "{what} shows secret {f:?} of {raw:?}: {printed}"
            );
        }
    }
}

pub fn check(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let spans = secret_spans(raw);
    let mut last = 0;
    for r in &spans {
        assert!(
            r.start >= last && r.start < r.end && r.end <= raw.len(),
            "{spans:?} of {raw:?}"
        );
        last = r.end;
    }
    let red = redact(raw);
    assert_eq!(redact(&red), red, "redact is not idempotent on {raw:?}");

    let secrets = oracle(raw);
    if secrets.is_empty() {
        return;
    }
    let input = Input {
        raw,
        public: public_text(raw, &secrets),
        secrets,
    };
    assert_hidden(&input, "redact", &red);
    match DatabaseUrl::parse(raw) {
        Ok(u) => {
            // Debug is the redacted URL in a fixed wrapper (whose text could spell a secret
            // together with the URL's public head).
            assert_eq!(format!("{u:?}"), format!("DatabaseUrl({})", u.redacted()));
            assert_hidden(&input, "DatabaseUrl::redacted", &u.redacted());
        }
        Err(e) => assert_hidden(&input, "DatabaseUrl error", &format!("{e} {e:?}")),
    }
    // The scrubber hides a secret's pieces between reserved characters that are 4 bytes or
    // longer (shorter ones would garble the text): a secret with no such piece, in any of
    // its forms, is not checked.
    let scrubber = Scrubber::new([raw]);
    let reserved = |c: char| c.is_whitespace() || ":/?#[]@!$&'()*+,;=%\"\\".contains(c);
    let strong: Vec<Range<usize>> = input
        .secrets
        .iter()
        .filter(|r| {
            forms(&raw[(*r).clone()])
                .iter()
                .all(|f| f.split(reserved).any(|p| p.len() >= Scrubber::MIN_LEN))
        })
        .cloned()
        .collect();
    let only_strong = Input {
        raw,
        secrets: strong,
        public: input.public.clone(),
    };
    for r in &only_strong.secrets {
        let s = &raw[r.clone()];
        let text = format!(
            "error: {s} and {:?} and {}",
            lenient_decode(s),
            lenient_decode(s)
        );
        assert_hidden(&only_strong, "Scrubber", &scrubber.scrub(&text));
    }
}
