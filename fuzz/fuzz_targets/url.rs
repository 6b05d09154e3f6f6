//! The URL parsers: `migrate::url::scheme`, `migrate::url::DatabaseUrl::parse`,
//! `migrate::url::redact`, `migrate::source::dir_from_url` and (no driver compiled in)
//! `migrate::driver::open`'s unknown-driver error.
//!
//! Properties: no panic; `scheme` returns the text before the first `:`; a parsed URL keeps
//! its scheme and body; and nothing these functions print (Debug, `redacted()`, errors'
//! Display and Debug) contains a password the input URL carries, raw or escaped.
//!
//! A "password" is what Go's `url.Parse` would call one (cut the fragment at `#` and the
//! query at `?`; after `scheme://`, the authority runs to the first `/`, the userinfo to the
//! authority's last `@`, the password from the userinfo's first `:`), plus the value of any
//! query parameter whose decoded key is `password`, `pass` or ends in `password` (query
//! parts split on `&` and on `;`, which old Go versions accepted).
#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use migrate::error::UrlKind;
use migrate::gocompat::quote::quote;
use migrate::url::{redact, scheme, DatabaseUrl};

/// Every fixed text these functions print around the URL: a short password that is part
/// of it is a coincidence, not a leak.
const BOILERPLATE: &str = "failed to parse scheme from database URL: no scheme \
    failed to parse scheme from source URL: no scheme URL cannot be empty \
    failed to open source, parse invalid URL escape invalid semicolon separator in query \
    invalid UTF-8 after URL decoding source driver: unknown driver '' (forgotten import?) \
    database driver: unknown driver DatabaseUrl(xxxxx) InvalidOption { \
    param: reason: } SourceOpen { url: cause: Parse UnknownDriver Io path: \
    UnknownDatabaseDriver { scheme: available: [] } x-no-lock x-tls-insecure-skip-verify \
    x-no-tx-wrap strconv.ParseBool: parsing \"\": invalid syntax \
    UrlEmpty(Database) UrlEmpty(Source) UrlNoScheme(Database) UrlNoScheme(Source) \
    URL cannot be empty Error kind: NotFound code: message: No such file or directory";

/// Lenient percent-decoding with `+` as a space (Go's `QueryUnescape`, minus its errors).
fn decode(s: &str) -> String {
    let b = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(h)) if b[i + 1].is_ascii_hexdigit() => {
                out.push(h);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Byte ranges of `raw` that hold a password (see the module comment).
fn secrets(raw: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let no_frag = &raw[..raw.find('#').unwrap_or(raw.len())];
    let head_end = no_frag.find('?').unwrap_or(no_frag.len());
    let head = &no_frag[..head_end];
    if let Some(colon) = head.find(':') {
        if head[colon + 1..].starts_with("//") {
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
    }
    if head_end < no_frag.len() {
        let mut start = head_end + 1;
        for part in no_frag[head_end + 1..].split(['&', ';']) {
            if let Some(eq) = part.find('=') {
                let key = decode(&part[..eq]).to_ascii_lowercase();
                if key == "password" || key == "pass" || key.ends_with("password") {
                    out.push(start + eq + 1..start + part.len());
                }
            }
            start += part.len() + 1;
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// The forms a secret can be printed in: as is, Rust-escaped (`{:?}`), Go-quoted (`%q`).
fn forms(s: &str) -> Vec<String> {
    let rust = format!("{s:?}");
    let go = quote(s);
    vec![
        s.to_string(),
        rust[1..rust.len() - 1].to_string(),
        go[1..go.len() - 1].to_string(),
    ]
}

fn assert_no_secret(raw: &str, secrets: &[Range<usize>], what: &str, printed: &str) {
    for r in secrets {
        // Up to 3 bytes are printed by design: a bad escape inside a password is quoted in
        // Go's error, `invalid URL escape "%zz"`, and a password that short is a
        // coincidence magnet anyway.
        if r.len() <= 3 {
            continue;
        }
        // The input with its passwords cut out (and, second, replaced by redaction's
        // `xxxxx`): a password that also appears there (say, equal to the user name, or
        // `ssword=x` inside a redacted `password=xxxxx`) may be printed for that reason.
        let mut public_forms = String::new();
        for mark in ["\u{0}", "xxxxx"] {
            let mut public = String::new();
            let mut last = 0;
            for s in secrets {
                if s.start >= last {
                    public.push_str(&raw[last..s.start]);
                    public.push_str(mark);
                    last = s.end;
                }
            }
            public.push_str(&raw[last..]);
            // Debug output escapes the already quoted URL a second time.
            for f in forms(&public) {
                public_forms.push_str(&forms(&f).join("\u{0}"));
                public_forms.push('\u{0}');
            }
        }
        for f in forms(&raw[r.clone()]) {
            if BOILERPLATE.contains(&f) || public_forms.contains(&f) {
                continue;
            }
            assert!(
                !printed.contains(&f),
                "{what} leaks password {f:?} of {raw:?}: {printed}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let secrets = secrets(raw);

    for kind in [UrlKind::Database, UrlKind::Source] {
        match scheme(raw, kind) {
            Ok(s) => {
                assert!(!s.is_empty() && !s.contains(':'));
                assert_eq!(raw.find(':'), Some(s.len()));
            }
            Err(e) => {
                assert!(raw.find(':').is_none_or(|i| i == 0));
                assert_no_secret(raw, &secrets, "scheme error", &format!("{e} {e:?}"));
            }
        }
    }

    let red = redact(raw);
    assert_no_secret(raw, &secrets, "redact", &red);
    // Redacting twice changes nothing more.
    assert_eq!(redact(&red), red, "redact is not idempotent on {raw:?}");

    match DatabaseUrl::parse(raw) {
        Ok(u) => {
            let s = scheme(raw, UrlKind::Database).expect("parsed, so it has a scheme");
            assert_eq!(u.scheme(), s);
            assert!(raw[s.len() + 1..].starts_with(u.body()));
            assert!(!u.body().contains('?'));
            assert!(u.x_params().keys().all(|k| k.starts_with("x-")));
            assert!(u.params().iter().all(|(k, _)| !k.starts_with("x-")));
            assert_no_secret(raw, &secrets, "DatabaseUrl Debug", &format!("{u:?}"));
            assert_no_secret(raw, &secrets, "DatabaseUrl::redacted", &u.redacted());
            // Built without drivers, `open` is the unknown-driver error, which shows the
            // scheme: the text before the first `:`, which may hold a query.
            if let Err(e) = migrate::driver::open(&u) {
                assert_no_secret(raw, &secrets, "driver::open error", &format!("{e} {e:?}"));
            }
            // The boolean `x-*` parameters the drivers read (their values are no secret;
            // the error quotes them).
            for k in ["x-no-lock", "x-tls-insecure-skip-verify", "x-no-tx-wrap"] {
                if let Err(e) = u.x_bool(k) {
                    assert_no_secret(raw, &secrets, "x_bool error", &format!("{e} {e:?}"));
                }
            }
        }
        Err(e) => assert_no_secret(raw, &secrets, "DatabaseUrl error", &format!("{e} {e:?}")),
    }

    if let Err(e) = migrate::source::dir_from_url(raw) {
        assert_no_secret(raw, &secrets, "dir_from_url error", &format!("{e} {e:?}"));
    }
});
