//! The one place that decides what in a URL is a secret, and hides it.
//!
//! [`redact`] is what every message, hint, log line, status line and journal row shows
//! instead of a database or source URL; [`Scrubber`] hides the same secrets in text that
//! does not show the URL as written (a driver's error that quotes a decoded value).
//!
//! It works on any string, valid URL or not, and errs on the side of hiding too much:
//!
//! - The user info's password: after `scheme:` (and `//`, if present), from the first `:`
//!   up to the **last** `@` in the whole string. A password written with an unescaped `@`,
//!   `/`, `?` or `#` is hidden whole, and so is one after a user name that go-sql-driver
//!   reads up to the last `@` before the last `/`; the price is that a URL with a `:`
//!   (a port) and an `@` in its query shows less than it could. Without a `//`
//!   (`mysql:user:pass@tcp(h)/db`), go-sql-driver reads the scheme as the user name, so the
//!   password starts right after `scheme:`.
//! - The value of every `name=value` part (parts split at `&` and `;`, and also read from
//!   each `?` and white space on; a value runs to the part's end) whose key, percent-decoded (leniently, `+` as a space) and
//!   lower-cased, contains one of [`SECRET_KEY_WORDS`]: lib/pq's and pgx's `password`,
//!   `sslpassword`, `passfile` and `sslkey` (lib/pq's `sslinline=true` makes it the key
//!   itself), mattn's `_auth_pass` and `_auth_salt`, `x-tls-key`, and any other key that
//!   names a password, token, secret, salt or key, in any spelling and as often as it is
//!   repeated; and of `_pragma` when it sets a `key` (SQLCipher builds).
//!
//! Every hidden span reads `xxxxx`; redacting twice changes nothing more.

use std::ops::Range;

/// The shown text of every hidden secret.
pub const MASK: &str = "xxxxx";

/// A query parameter whose decoded, lower-cased key contains one of these carries a secret.
pub const SECRET_KEY_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "salt",
    "key",
    "credential",
];

/// The URL with every secret replaced by `xxxxx` (see the module documentation).
///
/// Hiding a span can join two parameters into one (a user info that ran over a `&`), whose
/// value is then hidden too: redaction repeats until nothing changes.
pub fn redact(raw: &str) -> String {
    let mut out = redact_once(raw);
    for _ in 0..16 {
        let again = redact_once(&out);
        if again == out {
            break;
        }
        out = again;
    }
    out
}

fn redact_once(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    for r in secret_spans(raw) {
        out.push_str(&raw[last..r.start]);
        out.push_str(MASK);
        last = r.end;
    }
    out.push_str(&raw[last..]);
    out
}

/// The byte ranges of `raw` that hold a secret, in order, not overlapping, none empty.
pub fn secret_spans(raw: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    // golang-migrate's scheme: the text before the first `:`.
    let scheme_end = raw.find(':').filter(|&i| i >= 1);
    if let Some(colon) = scheme_end {
        let body = colon + 1;
        let at = raw[body..].rfind('@').map(|i| body + i);
        let user_colon = if raw[body..].starts_with("//") {
            let auth = body + 2;
            raw[auth..].find(':').map(|i| auth + i)
        } else {
            // Opaque form: go-sql-driver reads `scheme` as the user name.
            Some(colon)
        };
        if let (Some(c), Some(at)) = (user_colon, at) {
            if at > c + 1 {
                spans.push(c + 1..at);
            }
        }
    }
    // The parameters are looked for everywhere: golang-migrate's "scheme" (all before the
    // first `:`) may itself hold a query.
    spans.extend(query_secret_spans(raw));
    merge(spans)
}

/// Sorted, overlapping or touching ranges joined.
fn merge(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for r in spans {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The values of secret parameters. Every `name=value` part counts, not only those after
/// the first `?`: a user info that swallowed the `?` leaves the query after its `@`, and a
/// keyword DSN (`host=h password=p`) has no `?` at all.
fn query_secret_spans(raw: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let is_sep = |c: char| matches!(c, '&' | ';');
    let is_sub = |c: char| c == '?' || c.is_whitespace();
    for part in raw.split(is_sep) {
        // A value runs to the part's end, `?` and spaces included (Go splits the query on
        // `&` only); but the text after any `?` or white space is also read as a part of
        // its own (a second `?`, the first one when the part still holds the URL's head,
        // a keyword DSN's `password=`).
        let mut subs = vec![0];
        subs.extend(
            part.char_indices()
                .filter(|(_, c)| is_sub(*c))
                .map(|(i, c)| i + c.len_utf8()),
        );
        for sub in subs {
            let p = &part[sub..];
            let Some(eq) = p.find('=') else { continue };
            if p[..eq].contains(is_sub) {
                continue;
            }
            let key = lenient_decode(&p[..eq]).to_lowercase();
            let value = &p[eq + 1..];
            let secret = SECRET_KEY_WORDS.iter().any(|w| key.contains(w))
                || (key.trim() == "_pragma"
                    && lenient_decode(value).to_lowercase().contains("key"));
            if secret && !value.is_empty() {
                out.push(start + sub + eq + 1..start + part.len());
                break;
            }
        }
        // Separators are one char; find its width to step over it.
        start += part.len();
        if let Some(c) = raw[start..].chars().next() {
            start += c.len_utf8();
        }
    }
    out
}

/// Percent-decoding that never fails (a bad escape stays as written), `+` as a space.
pub fn lenient_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Hides the secrets of some URLs in any text: each secret as written, percent-decoded,
/// each piece of it between reserved characters, and as Go's `%q` and Rust's `{:?}` would
/// quote each of those. Secrets shorter than
/// [`Scrubber::MIN_LEN`] bytes are left to [`redact`] alone: hiding every `a` or `pw` in a
/// message would garble it.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    needles: Vec<String>,
}

impl Scrubber {
    /// The shortest secret, in bytes, that [`Scrubber::scrub`] hides in free text.
    pub const MIN_LEN: usize = 4;

    /// The secrets of each of `urls`.
    pub fn new<'a>(urls: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut needles = std::collections::BTreeSet::new();
        for url in urls {
            for r in secret_spans(url) {
                let s = &url[r];
                let forms = [
                    s.to_string(),
                    lenient_decode(s),
                    lenient_decode(&s.replace('+', "%2B")),
                ];
                // A password with an unescaped reserved character is cut up by the parsers
                // (`mysql://u:abcd/efgh@...` reads a network named `u:abcd`): each piece
                // between reserved characters is hidden too, so no stretch of the secret
                // that holds a piece of 4 bytes or more is shown whole.
                let pieces: Vec<String> = forms.iter().flat_map(|f| pieces(f)).collect();
                for f in forms.into_iter().chain(pieces) {
                    let rust = format!("{f:?}");
                    let go = crate::gocompat::quote::quote(&f);
                    for n in [unquote(&rust), unquote(&go), f] {
                        if n.len() >= Self::MIN_LEN {
                            needles.insert(n);
                        }
                    }
                }
            }
        }
        let mut needles: Vec<String> = needles.into_iter().collect();
        // Longest first, so a secret that contains another is hidden whole.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Scrubber { needles }
    }

    /// `text` with every secret replaced by `xxxxx`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        out
    }

    /// Whether there is nothing to hide: no secret of [`Scrubber::MIN_LEN`] bytes or more.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }
}

/// The pieces of `s` between reserved characters, long enough to hide.
fn pieces(s: &str) -> Vec<String> {
    s.split(is_reserved)
        .filter(|p| p.len() >= Scrubber::MIN_LEN)
        .map(str::to_string)
        .collect()
}

/// RFC 3986's reserved characters, `%` and white space: where URL parsers cut.
fn is_reserved(c: char) -> bool {
    c.is_whitespace() || ":/?#[]@!$&'()*+,;=%\"\\".contains(c)
}

fn unquote(q: &str) -> String {
    q.get(1..q.len().saturating_sub(1))
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, shown).
    const CASES: &[(&str, &str)] = &[
        ("sqlite3://x.db", "sqlite3://x.db"),
        (
            "postgres://bob:s3cr%40t@localhost:5432/db?sslmode=disable",
            "postgres://bob:xxxxx@localhost:5432/db?sslmode=disable",
        ),
        (
            "mysql://root:p@ss/w@tcp(127.0.0.1:3306)/test",
            "mysql://root:xxxxx@tcp(127.0.0.1:3306)/test",
        ),
        (
            "postgres://h/db?user=a&password=hunter2",
            "postgres://h/db?user=a&password=xxxxx",
        ),
        // a reserved character in the password, an error later in the URL
        (
            "postgres://u:SEK?RET@127.0.0.1/db?a=%zz",
            "postgres://u:xxxxx@127.0.0.1/db?a=%zz",
        ),
        (
            "mysql://u:SEK?RET@tcp(127.0.0.1)/db?a=1;b=2",
            "mysql://u:xxxxx@tcp(127.0.0.1)/db?a=1;b=2",
        ),
        ("postgres://u:SEK#RET@h/db", "postgres://u:xxxxx@h/db"),
        // an `@` in the user name (Go reads the user info up to the last `@`)
        ("postgres://a@b:pw@h/db", "postgres://a@b:xxxxx@h/db"),
        // mattn's authentication parameters, any case, encoded, repeated
        (
            "sqlite3://x.db?_auth&_auth_user=a&_auth_pass=SEKRET&_auth_salt=SALTY",
            "sqlite3://x.db?_auth&_auth_user=a&_auth_pass=xxxxx&_auth_salt=xxxxx",
        ),
        (
            "sqlite3://x.db?_AUTH_PASS=a&_auth_pas%73=b&_auth_pass=c",
            "sqlite3://x.db?_AUTH_PASS=xxxxx&_auth_pas%73=xxxxx&_auth_pass=xxxxx",
        ),
        (
            "postgres://h/db?sslpassword=k&sslkey=/k.pem&passfile=/p&sslmode=require",
            "postgres://h/db?sslpassword=xxxxx&sslkey=xxxxx&passfile=xxxxx&sslmode=require",
        ),
        (
            "postgres://h/db?pass%77ord=secret&x=1",
            "postgres://h/db?pass%77ord=xxxxx&x=1",
        ),
        (
            "postgres://h/db?a=1;password=secret",
            "postgres://h/db?a=1;password=xxxxx",
        ),
        (
            "s://h?%zz%ff-pass%77ord=secret",
            "s://h?%zz%ff-pass%77ord=xxxxx",
        ),
        (
            "sqlite://x.db?_pragma=key(%27k%27)&_pragma=busy_timeout(5)",
            "sqlite://x.db?_pragma=xxxxx&_pragma=busy_timeout(5)",
        ),
        // a raw space inside a value is part of it
        (
            "postgres://h/db?password=my secret&x=1",
            "postgres://h/db?password=xxxxx&x=1",
        ),
        // not a URL at all
        ("host=h password=pw?x", "host=h password=xxxxx"),
        (
            "sqlite3:x.db?_auth_user=a@b&_auth_pass=SEKRET",
            "sqlite3:xxxxx@b&_auth_pass=xxxxx",
        ),
        ("x?password=abc", "x?password=xxxxx"),
        // opaque: go-sql-driver reads `mysql` as the user and `u:pw` as the password
        ("mysql:u:pw@tcp(h)/db", "mysql:xxxxx@tcp(h)/db"),
        // a host and port, no user info: nothing hidden
        (
            "postgres://h:5432/db?sslmode=disable",
            "postgres://h:5432/db?sslmode=disable",
        ),
        ("sqlite3:///a/b:c@d.db", "sqlite3:///a/b:xxxxx@d.db"),
        // over-redaction: a port and an `@` in the query
        (
            "postgres://h:5432/db?application_name=a@b",
            "postgres://h:xxxxx@b",
        ),
        ("", ""),
        // a `?` inside a value is part of it; a second `?` starts a part of its own
        (
            "postgres://h/db?sslmode=disable&sslpassword=ab?cd$ef&x=1",
            "postgres://h/db?sslmode=disable&sslpassword=xxxxx&x=1",
        ),
        (
            "mysql://h/db?a=1?password=pw",
            "mysql://h/db?a=1?password=xxxxx",
        ),
        (
            "postgres://u@h/keystore?sslmode=disable",
            "postgres://u@h/keystore?sslmode=disable",
        ),
    ];

    #[test]
    fn table() {
        for &(input, shown) in CASES {
            assert_eq!(redact(input), shown, "{input}");
            assert_eq!(redact(shown), shown, "idempotent: {shown}");
        }
    }

    #[test]
    fn scrubber_hides_decoded_and_quoted_forms() {
        let s = Scrubber::new(["postgres://u:p%40ss%22word@h/db?sslpassword=t0k%2Ben"]);
        assert_eq!(s.scrub("a p@ss\"word b"), "a xxxxx b");
        assert_eq!(s.scrub("a \"p@ss\\\"word\" b"), "a \"xxxxx\" b");
        assert_eq!(s.scrub("t0k+en"), "xxxxx");
        assert_eq!(s.scrub("p%40ss%22word"), "xxxxx");
        // pieces a parser cut the password into
        let s = Scrubber::new(["mysql://root:abcd/efgh?ijk@tcp(h)/db"]);
        assert_eq!(
            s.scrub("unknown network root:abcd"),
            "unknown network root:xxxxx"
        );
        assert_eq!(s.scrub("db efgh"), "db xxxxx");
        // too short to scrub without garbling the text
        assert!(Scrubber::new(["postgres://u:pw@h/db"]).is_empty());
    }
}
