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
    split(body, Extra::None)
}

/// [`statements`] for SQLite: `[...]` quotes an identifier too.
pub fn sqlite_statements(body: &str) -> Vec<&str> {
    split(body, Extra::Brackets)
}

/// [`statements`] for MySQL: `#` starts a comment too.
pub fn mysql_statements(body: &str) -> Vec<&str> {
    split(body, Extra::HashComments)
}

/// A dialect's quoting beyond the common one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    Brackets,
    HashComments,
}

fn split(body: &str, extra: Extra) -> Vec<&str> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = after_quoted(b, i, q),
            b'[' if extra == Extra::Brackets => {
                i = body[i..].find(']').map_or(b.len(), |j| i + j + 1);
            }
            b'#' if extra == Extra::HashComments => i = line_end(b, i),
            b'-' if b.get(i + 1) == Some(&b'-') => i = line_end(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => i = after_block_comment(b, i),
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

/// The index after the string or quoted identifier that starts with the quote `q` at `i`
/// (a doubled quote stays inside; in `'` and `` ` `` quotes a backslash escapes the next
/// byte, as in PostgreSQL's E'...' and MySQL's strings).
fn after_quoted(b: &[u8], mut i: usize, q: u8) -> usize {
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
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// The index of the newline that ends the line comment at `i` (or the end).
fn line_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

/// The index after the (nested) block comment that starts at `i`.
fn after_block_comment(b: &[u8], mut i: usize) -> usize {
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
    i
}

/// Where `piece` (a slice of `body`) starts in `body`, in bytes.
pub fn offset(body: &str, piece: &str) -> usize {
    (piece.as_ptr() as usize).saturating_sub(body.as_ptr() as usize)
}

/// The 1-based line of `body` on which `piece`'s statement starts: its first character
/// that is neither whitespace nor part of a leading comment.
pub fn line_of(body: &str, piece: &str) -> usize {
    let mut rest = piece;
    loop {
        let t = rest.trim_start();
        // `#`: MySQL's comment (no statement starts with it in the other dialects).
        if let Some(r) = t.strip_prefix("--").or_else(|| t.strip_prefix('#')) {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = t.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            rest = t;
            break;
        }
    }
    let at = if rest.is_empty() {
        offset(body, piece)
    } else {
        offset(body, rest)
    };
    1 + body[..at.min(body.len())].matches('\n').count()
}

/// Joins consecutive `pieces` of `body` until `complete` accepts the joined text (SQLite's
/// `sqlite3_complete`, which knows that a trigger's body ends at its `END;`). A tail that
/// never completes stays one piece.
pub fn merge_until<'a>(
    body: &'a str,
    pieces: &[&'a str],
    complete: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for p in pieces {
        let from = *start.get_or_insert(offset(body, p));
        let end = offset(body, p) + p.len();
        let joined = &body[from..end];
        if complete(joined) {
            out.push(joined);
            start = None;
        }
    }
    if let Some(from) = start {
        if let Some(last) = pieces.last() {
            out.push(&body[from..offset(body, last) + last.len()]);
        }
    }
    out
}

/// Whether `s` (pieces of a body joined, ending with `;`) is a complete SQLite statement,
/// as `sqlite3_complete` decides: a `CREATE [TEMP] TRIGGER` is complete only at `; END;`,
/// every other statement at its `;`.
pub fn sqlite_complete(s: &str) -> bool {
    let mut words = code_words(s);
    let trigger = match words.next().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("CREATE") => {
            let w = words.next().map(|w| w.to_ascii_uppercase());
            let w = match w.as_deref() {
                Some("TEMP" | "TEMPORARY") => words.next().map(|w| w.to_ascii_uppercase()),
                _ => w,
            };
            w.as_deref() == Some("TRIGGER")
        }
        _ => false,
    };
    if !trigger {
        return true;
    }
    let t = s.trim_end();
    let Some(t) = t.strip_suffix(';') else {
        return false;
    };
    let t = t.trim_end();
    let n = t.len();
    if n < 3 || !t[n - 3..].eq_ignore_ascii_case("end") {
        return false;
    }
    let before = &t[..n - 3];
    if before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
    {
        return false;
    }
    before.trim_end().ends_with(';')
}

/// The words of `s` after its leading whitespace and comments.
fn code_words(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    loop {
        let t = rest.trim_start();
        if let Some(r) = t.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = t.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            rest = t;
            break;
        }
    }
    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
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
    #[test]
    fn lines_and_merges() {
        let body = "CREATE TABLE a (x int);\n\n-- note\nCREATE TABLE b (y int);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (1);\nEND;\n";
        let pieces = statements(body);
        assert_eq!(pieces.len(), 4, "{pieces:?}");
        let lines: Vec<usize> = pieces.iter().map(|p| line_of(body, p)).collect();
        assert_eq!(lines, vec![1, 4, 5, 7]);
        let merged = merge_until(body, &pieces, sqlite_complete);
        assert_eq!(merged.len(), 3, "{merged:?}");
        assert!(merged[2].trim_start().starts_with("CREATE TRIGGER"));
        assert!(merged[2].trim_end().ends_with("END;"));
        assert_eq!(line_of(body, merged[2]), 5);
    }

    #[test]
    fn dialect_quoting() {
        assert_eq!(
            sqlite_statements("CREATE TABLE [a;b] (x);\nSELECT 1;").len(),
            2
        );
        assert_eq!(statements("SELECT a[1];\nSELECT 2;").len(), 2);
        let body = "# x; y\nSELECT 1;\nSELECT 2;";
        assert_eq!(mysql_statements(body).len(), 2);
        assert_eq!(line_of(body, mysql_statements(body)[0]), 2);
        assert_eq!(statements("# x; y\nSELECT 1;").len(), 2);
    }

    #[test]
    fn sqlite_trigger_ends_at_end() {
        assert!(sqlite_complete("CREATE TABLE t (a int);"));
        assert!(!sqlite_complete(
            "CREATE TEMP TRIGGER g AFTER INSERT ON t BEGIN SELECT 1;"
        ));
        assert!(!sqlite_complete(
            "-- c\ncreate trigger g after insert on t begin select case when 1 then 2 end;"
        ));
        assert!(sqlite_complete(
            "create trigger g after insert on t begin select 1; end ;"
        ));
        assert!(!sqlite_complete(
            "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; xend;"
        ));
    }

    /// Over generated bodies: the quote-aware split finds every statement, in order, each
    /// on the line it was written on, and merging with an always-true test changes nothing.
    #[test]
    fn generated_bodies_split_on_their_lines() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let kinds = [
            "CREATE TABLE t{i} (a int)",
            "INSERT INTO t VALUES ('x;{i}')",
            "/* c; */ SELECT {i}",
            "-- c;\nSELECT {i}",
            "SELECT $$;{i}$$",
        ];
        for _ in 0..500 {
            let n = 1 + next(6) as usize;
            let mut body = String::new();
            let mut want = Vec::new();
            for i in 0..n {
                for _ in 0..next(3) {
                    body.push('\n');
                }
                let k = kinds[next(kinds.len() as u64) as usize].replace("{i}", &i.to_string());
                let first_code_line = if k.starts_with("--") { 1 } else { 0 };
                want.push(1 + body.matches('\n').count() + first_code_line);
                body.push_str(&k);
                body.push(';');
            }
            let got = statements(&body);
            assert_eq!(got.len(), n, "{body:?}");
            let lines: Vec<usize> = got.iter().map(|p| line_of(&body, p)).collect();
            assert_eq!(lines, want, "{body:?}");
            assert_eq!(merge_until(&body, &got, |_| true), got);
        }
    }
}
