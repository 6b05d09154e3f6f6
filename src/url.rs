//! Database and source URLs, parsed once at the edge: scheme, the part after it, the
//! driver's own query parameters and golang-migrate's `x-*` parameters, split apart.
//! Past this module no code looks at URL strings (design §5.6).

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
    /// Query parameters that are not `x-*`, decoded, in the order given.
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
        let mut params = Vec::new();
        let mut x = BTreeMap::new();
        if let Some(q) = query {
            for (k, v) in parse_query(q).map_err(parse_err)? {
                if k.starts_with("x-") {
                    x.insert(k, v);
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

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The text between `scheme:` and `?`, as written.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The driver's own (non `x-`) query parameters, decoded.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn x_param(&self, name: &str) -> Option<&str> {
        self.x.get(name).map(String::as_str)
    }

    pub fn x_params(&self) -> &BTreeMap<String, String> {
        &self.x
    }

    /// The URL with any password replaced by `xxxxx` (userinfo and `password=` parameters).
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

/// Replaces the password in `scheme://user:password@host...` and in `password=` query
/// parameters with `xxxxx`. Works for golang-migrate's MySQL DSN form too.
pub fn redact(raw: &str) -> String {
    let (head, query) = match raw.find('?') {
        Some(i) => (&raw[..i], Some(&raw[i + 1..])),
        None => (raw, None),
    };
    let mut out = String::with_capacity(raw.len());
    match head.find("://") {
        Some(s) => {
            let auth_start = s + 3;
            let rest = &head[auth_start..];
            // userinfo ends at the last '@' (passwords may contain '@' and '/')
            match rest.rfind('@') {
                Some(at) => {
                    let userinfo = &rest[..at];
                    out.push_str(&head[..auth_start]);
                    match userinfo.find(':') {
                        Some(c) => {
                            out.push_str(&userinfo[..c]);
                            out.push_str(":xxxxx");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push_str(&rest[at..]);
                }
                None => out.push_str(head),
            }
        }
        None => out.push_str(head),
    }
    if let Some(q) = query {
        out.push('?');
        // Parts split on `&` and on `;` (old Go accepted it; the parser rejects it, with an
        // error that shows the URL); the key is compared decoded, as drivers see it.
        let mut rest = q;
        loop {
            let end = rest.find(['&', ';']).unwrap_or(rest.len());
            let kv = &rest[..end];
            let key = kv.split('=').next().unwrap_or("");
            // Decoded leniently: a key that does not decode still names a password.
            let lk = percent_encoding::percent_decode_str(&key.replace('+', " "))
                .decode_utf8_lossy()
                .to_ascii_lowercase();
            if (lk == "password" || lk == "pass" || lk.ends_with("password")) && kv.contains('=') {
                out.push_str(key);
                out.push_str("=xxxxx");
            } else {
                out.push_str(kv);
            }
            match rest[end..].chars().next() {
                Some(sep) => {
                    out.push(sep);
                    rest = &rest[end + 1..];
                }
                None => break,
            }
        }
    }
    out
}

/// Go's `url.ParseQuery` (keys and values decoded, `+` is a space; `;` is rejected).
pub fn parse_query(q: &str) -> std::result::Result<Vec<(String, String)>, String> {
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
pub fn unescape(s: &str, plus_is_space: bool) -> std::result::Result<String, String> {
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
    /// part is shown by the parser's error: both were printed as given (found by
    /// `fuzz/url`).
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
