//! Splitting a migration body into statements: golang-migrate's naive `multistmt` split
//! (`x-multi-statement=true`) and a quote-aware split for files that run outside a
//! transaction (`-- migrate:no-transaction`).

/// golang-migrate's `multistmt.Parse` with delimiter `;`: every piece keeps its `;` (the
/// last piece may lack one); quotes, `$$` bodies and comments are ignored (golang-migrate
/// #590, #698). A piece longer than `max` bytes fails as Go's scanner does.
pub fn go_multistmt(body: &str, max: usize) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let end = rest.find(';').map_or(rest.len(), |i| i + 1);
        if end > max {
            return Err("bufio.Scanner: token too long".into());
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    Ok(out)
}

/// Splits on top-level `;`, skipping quoted strings, quoted identifiers, dollar-quoted
/// bodies and comments. Each piece keeps its `;`; whitespace-only pieces are dropped.
pub fn statements(body: &str) -> Vec<&str> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if b[i] == b'\\' && q != b'"' {
                        // E'...' and MySQL strings: a backslash escapes the next byte.
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' => match dollar_tag(&body[i..]) {
                Some(tag) => {
                    let after = i + tag.len();
                    match body[after..].find(tag) {
                        Some(j) => i = after + j + tag.len(),
                        None => i = b.len(),
                    }
                }
                None => i += 1,
            },
            b';' => {
                i += 1;
                let piece = &body[start..i];
                if !piece.trim().is_empty() {
                    out.push(piece);
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    let piece = &body[start.min(body.len())..];
    if !piece.trim().is_empty() && !only_comments(piece) {
        out.push(piece);
    }
    out
}

/// `$tag$` at the start of `s` (PostgreSQL dollar quoting), if it is one.
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    if tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !tag.starts_with(|c: char| c.is_ascii_digit())
    {
        Some(&s[..end + 2])
    } else {
        None
    }
}

/// Whether a trailing piece holds nothing but comments and whitespace.
fn only_comments(piece: &str) -> bool {
    let mut rest = piece.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i..]).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]).trim_start();
        } else {
            return rest.is_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_split_keeps_delimiters() {
        assert_eq!(go_multistmt("a;\nb;\n", 100), Ok(vec!["a;", "\nb;", "\n"]));
        assert_eq!(
            go_multistmt("aaaa;", 3),
            Err("bufio.Scanner: token too long".to_string())
        );
    }

    #[test]
    fn quote_aware_split() {
        let body = "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\nINSERT INTO t VALUES ('a;b');\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* x; */\n-- done;\n";
        let s = statements(body);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[1].contains("'a;b'"));
        assert!(s[2].contains("$$ SELECT 1; $$"));
    }
}
