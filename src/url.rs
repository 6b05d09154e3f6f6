//! Database and source URLs, parsed once at the edge: scheme, the part after it, the
//! driver's own query parameters and golang-migrate's `x-*` parameters, split apart.
//! Past this module no code looks at URL strings.

use std::collections::BTreeMap;

use crate::error::{Error, Result, UrlKind};
use crate::gocompat::quote::quote as go_quote;

/// golang-migrate's `SchemeFromURL`: the text before the first `:`.
pub fn scheme(url: &str, kind: UrlKind) -> Result<&str> {
    if url.is_empty() {
        return Err(Error::UrlEmpty(kind));
    }
    match url.find(':') {
        Some(i) if i >= 1 => Ok(&url[..i]),
        _ => Err(Error::UrlNoScheme(kind)),
    }
}

/// A database URL split into its parts. `Debug` and `redacted()` never show a password.
#[derive(Clone)]
pub struct DatabaseUrl {
    raw: String,
    scheme: String,
    /// Between `scheme:` and `?`, as written (still percent-encoded).
    body: String,
    /// Query parameters that are not `x-*`, decoded, in the order given, each name once.
    params: Vec<(String, String)>,
    /// golang-migrate's custom `x-*` parameters, decoded.
    x: BTreeMap<String, String>,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl DatabaseUrl {
    /// Splits `raw` into scheme, body, driver parameters and `x-*` parameters. An empty
    /// URL, one without a scheme and a bad percent-escape are golang-migrate's errors; the
    /// URL is shown redacted in every one of them.
    pub fn parse(raw: &str) -> Result<DatabaseUrl> {
        let scheme = scheme(raw, UrlKind::Database)?.to_string();
        let after = &raw[scheme.len() + 1..];
        let (body, query) = match after.find('?') {
            Some(i) => (&after[..i], Some(&after[i + 1..])),
            None => (after, None),
        };
        // Go's `url.Parse` error: `parse "<url>": <reason>` (password redacted).
        let parse_err = |reason| Error::InvalidOption {
            param: format!("parse {}", go_quote(&redact(raw))),
            reason,
        };
        let mut params: Vec<(String, String)> = Vec::new();
        let mut x = BTreeMap::new();
        // A repeated parameter counts once, with the value golang-migrate's driver reads:
        // the first (Go's `url.Values.Get`, lib/pq, mattn), except that go-sql-driver's
        // DSN parser keeps the last, for MySQL's own parameters and the `x-` options
        // golang-migrate reads from it (all but `x-tls-*`, read with `Get`).
        let mysql = scheme == "mysql";
        if let Some(q) = query {
            for (k, v) in parse_query(q).map_err(parse_err)? {
                let last_wins = mysql && !k.starts_with("x-tls-");
                if k.starts_with("x-") {
                    if last_wins || !x.contains_key(&k) {
                        x.insert(k, v);
                    }
                } else if let Some(i) = params.iter().position(|(pk, _)| *pk == k) {
                    if last_wins {
                        params[i].1 = v;
                    }
                } else {
                    params.push((k, v));
                }
            }
        }
        check_escapes(body).map_err(parse_err)?;
        Ok(DatabaseUrl {
            raw: raw.to_string(),
            scheme,
            body: body.to_string(),
            params,
            x,
        })
    }

    /// The scheme: all before the first `:` (`postgres`, `sqlite3`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The text between `scheme:` and `?`, as written.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The driver's own (non `x-`) query parameters, decoded, each name once (see `parse`).
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The value of the driver parameter `name` (not an `x-*` one), decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of golang-migrate's `x-*` parameter `name` (given with its `x-`), decoded.
    pub fn x_param(&self, name: &str) -> Option<&str> {
        self.x.get(name).map(String::as_str)
    }

    /// Every `x-*` parameter, by name, decoded.
    pub fn x_params(&self) -> &BTreeMap<String, String> {
        &self.x
    }

    /// The URL with every secret replaced by `xxxxx` ([`crate::redact`]).
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// An `x-*` boolean parsed as Go's `strconv.ParseBool`, with golang-migrate's error text.
    /// An empty value counts as absent, as golang-migrate's `len(s) > 0` checks do.
    pub fn x_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.x_param(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => crate::gocompat::strconv::parse_bool(v)
                .map(Some)
                .map_err(|e| Error::InvalidOption {
                    param: name.to_string(),
                    reason: e.to_string(),
                }),
        }
    }
}

/// Every URL shown to a user goes through this one function: see [`crate::redact`].
pub use crate::redact::redact;

/// The file name golang-migrate's SQLite drivers open for `sqlite3://<rest>` (`rest` is the
/// text after `//`, before the query): Go's `url.Parse` then `URL.String()` with the scheme
/// cut off, which re-encodes rather than decodes. The host (up to the first `/`) keeps its
/// text except that a non-ASCII byte and `%` come out escaped (`%XX`, upper case); an
/// escape in the host is an error unless it is `%25` or a non-ASCII byte, as in Go. The
/// path stays as written when every character of it may stand in a URL path
/// (`sqlite3://./app%20v2.db` opens `./app%20v2.db`); otherwise the decoded path is escaped
/// whole (`sqlite3:///srv/a b.db` opens `/srv/a%20b.db`). SQLite then opens that text as a
/// file name, escapes and all.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_dsn_path(rest: &str) -> std::result::Result<String, String> {
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(rest.len());
    // Host: Go's `unescape(host, encodeHost)` rules, then `escape(host, encodeHost)`.
    let b = host.as_bytes();
    let mut i = 0;
    let mut decoded = Vec::with_capacity(b.len());
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let shown = || crate::gocompat::quote::quote_bytes(&b[i..(i + 3).min(b.len())]);
            match hex {
                Some(v) if v >= 0x80 || v == b'%' => decoded.push(v),
                _ => return Err(format!("invalid URL escape {}", shown())),
            }
            i += 3;
        } else {
            decoded.push(b[i]);
            i += 1;
        }
    }
    for &c in &decoded {
        if c >= 0x80 || c == b'%' {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    // Path: `EscapedPath()`.
    let valid_encoded = path
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:@[]%/".contains(&c));
    if valid_encoded {
        out.push_str(path);
    } else {
        for c in unescape(path, false)?.bytes() {
            if c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&c) {
                out.push(c as char);
            } else {
                out.push_str(&format!("%{c:02X}"));
            }
        }
    }
    Ok(out)
}

/// Go's `url.ParseQuery` (keys and values decoded, `+` is a space; `;` is rejected).
pub(crate) fn parse_query(q: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in q.split('&') {
        if part.is_empty() {
            continue;
        }
        if part.contains(';') {
            return Err("invalid semicolon separator in query".into());
        }
        let (k, v) = match part.find('=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, ""),
        };
        out.push((unescape(k, true)?, unescape(v, true)?));
    }
    Ok(out)
}

fn check_escapes(s: &str) -> std::result::Result<(), String> {
    unescape(s, false).map(|_| ())
}

/// Percent-decoding with Go's error for a bad escape.
pub(crate) fn unescape(s: &str, plus_is_space: bool) -> std::result::Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                match hex {
                    Some(h) => {
                        let s = std::str::from_utf8(h).map_err(|e| e.to_string())?;
                        out.push(u8::from_str_radix(s, 16).map_err(|e| e.to_string())?);
                        i += 3;
                    }
                    None => {
                        let end = (i + 3).min(b.len());
                        return Err(format!(
                            "invalid URL escape {}",
                            crate::gocompat::quote::quote_bytes(&b[i..end])
                        ));
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "invalid UTF-8 after URL decoding".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_rules() {
        assert!(matches!(
            scheme("", UrlKind::Database),
            Err(Error::UrlEmpty(_))
        ));
        assert!(matches!(
            scheme("x.db", UrlKind::Database),
            Err(Error::UrlNoScheme(_))
        ));
        assert!(matches!(
            scheme(":x", UrlKind::Source),
            Err(Error::UrlNoScheme(_))
        ));
        assert_eq!(
            scheme("sqlite3://x", UrlKind::Database).ok(),
            Some("sqlite3")
        );
    }

    #[test]
    fn splits_x_params() -> Result<()> {
        let u = DatabaseUrl::parse("sqlite3://./db.sqlite?x-migrations-table=t&_fk=1")?;
        assert_eq!(u.scheme(), "sqlite3");
        assert_eq!(u.body(), "//./db.sqlite");
        assert_eq!(u.x_param("x-migrations-table"), Some("t"));
        assert_eq!(u.param("_fk"), Some("1"));
        Ok(())
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://bob:s3cr%40t@localhost:5432/db?sslmode=disable"),
            "postgres://bob:xxxxx@localhost:5432/db?sslmode=disable"
        );
        assert_eq!(
            redact("mysql://root:p@ss/w@tcp(127.0.0.1:3306)/test"),
            "mysql://root:xxxxx@tcp(127.0.0.1:3306)/test"
        );
        assert_eq!(
            redact("postgres://h/db?user=a&password=hunter2"),
            "postgres://h/db?user=a&password=xxxxx"
        );
        assert_eq!(redact("sqlite3://x.db"), "sqlite3://x.db");
    }

    /// A percent-encoded key is the driver's `password` all the same, and a `;`-separated
    /// part is shown by the parser's error: both values are hidden.
    #[test]
    fn redacts_encoded_and_semicolon_separated_password_parameters() {
        assert_eq!(
            redact("postgres://h/db?pass%77ord=secret&x=1"),
            "postgres://h/db?pass%77ord=xxxxx&x=1"
        );
        assert_eq!(
            redact("postgres://h/db?a=1;password=secret"),
            "postgres://h/db?a=1;password=xxxxx"
        );
        let e = DatabaseUrl::parse("postgres://h/db?a=1;password=secret").expect_err(";");
        assert!(!e.to_string().contains("secret"), "{e}");
        // a key with a bad escape or bad UTF-8 makes the URL an error that shows it
        assert_eq!(
            redact("s://h?%zz%ff-pass%77ord=secret"),
            "s://h?%zz%ff-pass%77ord=xxxxx"
        );
    }

    #[test]
    fn bad_escape_is_go_error() {
        let e = DatabaseUrl::parse("sqlite3://a%zz.db").err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("parse \"sqlite3://a%zz.db\": invalid URL escape \"%zz\"".to_string())
        );
    }
}
