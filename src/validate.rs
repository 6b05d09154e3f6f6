//! `migrate validate`: offline checks of a migrations directory, for CI before a merge.
//! Errors are things golang-migrate would refuse or silently skip; warnings are legal but
//! usually a mistake.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::gocompat::quote::quote;
use crate::source::{parse_name, Direction};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The directory would fail a run.
    Error,
    /// Suspicious, but a run would go through.
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding, about one file (or the directory as a whole when `file` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// How bad it is.
    pub severity: Severity,
    /// The file's name (quoted as [`check`] says), or `None` for the directory as a whole.
    pub file: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

/// A directory entry as validation sees it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The entry's base name.
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// The content, for files named like migrations.
    pub content: Option<Vec<u8>>,
}

fn problem(severity: Severity, file: Option<&str>, message: impl Into<String>) -> Problem {
    Problem {
        severity,
        file: file.map(shown),
        message: message.into(),
    }
}

/// A name as validation shows it: as it is, or, when it has a character Go does not print
/// (a control character, a line or paragraph separator, a space other than ASCII's), as
/// Go's `%q` shows it, quotes included (`"4_add\nindex.up.sql"`), as the rest of the tool
/// shows such values; so each problem stays on one line, a name that only looks like
/// another shows how it differs, and an escape cannot be taken for characters the name
/// really has.
fn shown(name: &str) -> String {
    let quoted = quote(name);
    let plain = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
    if quoted == plain {
        name.to_string()
    } else {
        quoted
    }
}

/// Why a name that is not a migration looks like one, if it does.
fn lookalike(name: &str) -> Option<&'static str> {
    if name.chars().any(char::is_control) && parse_name(name).is_none() {
        let without: String = name.chars().filter(|c| !c.is_control()).collect();
        let replaced: String = name
            .chars()
            .map(|c| if c.is_control() { '_' } else { c })
            .collect();
        if parse_name(&without).is_some() || parse_name(&replaced).is_some() {
            return Some("the name contains a control character (a newline, ...) where a migration's name cannot have one; golang-migrate ignores this file");
        }
    }
    let lower = name.to_ascii_lowercase();
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    let has_dir_word = lower.contains(".up") || lower.contains(".down");
    if !has_dir_word || parse_name(name).is_some() {
        return None;
    }
    if parse_name(&lower).is_some() {
        return Some(
            "the direction must be lower-case `.up.` / `.down.`; golang-migrate ignores this file",
        );
    }
    if digits > 0 && name[digits..].starts_with('_') {
        if lower.ends_with(".up") || lower.ends_with(".down") {
            return Some("no extension after `.up` / `.down` (expected e.g. `.up.sql`); golang-migrate ignores this file");
        }
        if crate::gocompat::strconv::parse_uint(&name[..digits], 10).is_err() {
            return Some("the version does not fit in 64 bits; golang-migrate ignores this file");
        }
        return None;
    }
    if digits > 0 {
        return Some("the version must be followed by `_` (VERSION_NAME.up.sql); golang-migrate ignores this file");
    }
    Some("no leading version number (VERSION_NAME.up.sql); golang-migrate ignores this file")
}

/// The migrations of a directory by version: the names of its up files and of its down
/// files, and the identifiers of both.
#[derive(Default)]
struct Files {
    up: Vec<String>,
    down: Vec<String>,
    identifiers: Vec<String>,
}

/// Checks a list of directory entries. A name with a character Go does not print (a control
/// character, a line separator, a space other than ASCII's), in a problem's file or in its
/// message, is shown as Go's `%q` shows it, quotes included.
pub fn check(items: &[Item]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut items: Vec<&Item> = items.iter().collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen: BTreeMap<u64, Files> = BTreeMap::new();
    for it in &items {
        let name = it.name.as_str();
        let Some(p) = parse_name(name) else {
            if let Some(why) = lookalike(name) {
                out.push(problem(Severity::Error, Some(name), why));
            }
            continue;
        };
        if it.is_dir {
            out.push(problem(
                Severity::Warning,
                Some(name),
                "a directory named like a migration; it is ignored",
            ));
            continue;
        }
        file_problems(it, &mut out);
        let e = seen.entry(p.version).or_default();
        match p.direction {
            Direction::Up => e.up.push(name.to_string()),
            Direction::Down => e.down.push(name.to_string()),
        }
        e.identifiers.push(p.identifier);
    }
    if seen.is_empty() {
        out.push(problem(
            Severity::Error,
            None,
            "no migration files (names must look like 1_name.up.sql / 1_name.down.sql)",
        ));
        return out;
    }
    for (v, files) in &seen {
        pair_problems(*v, files, &mut out);
    }
    gap_problems(&seen.keys().copied().collect::<Vec<_>>(), &mut out);
    out.sort_by_key(|a| a.severity);
    out
}

/// A character as Go's `%q` prints a rune (`'\t'`, `'\x01'`, `'\u0085'`), for the control
/// characters this module names: never `'`, `"` or `\`, so the string quoting's escapes are
/// the rune's.
fn quote_rune(c: char) -> String {
    let q = quote(&c.to_string());
    format!("'{}'", &q[1..q.len() - 1])
}

/// The problems of one migration file on its own: a control character in its name, a
/// content that is not UTF-8 or is empty.
fn file_problems(it: &Item, out: &mut Vec<Problem>) {
    let name = it.name.as_str();
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        out.push(problem(
            Severity::Warning,
            Some(name),
            format!(
                "the name contains the control character {}; rename the file",
                quote_rune(c)
            ),
        ));
    }
    if let Some(c) = &it.content {
        match std::str::from_utf8(c) {
            Err(e) => out.push(problem(
                Severity::Error,
                Some(name),
                format!(
                    "not valid UTF-8 (byte {}); save it as UTF-8",
                    e.valid_up_to()
                ),
            )),
            Ok(s) if s.trim_start_matches('\u{feff}').trim().is_empty() => out.push(problem(
                Severity::Warning,
                Some(name),
                "empty file: it runs nothing but still moves the version",
            )),
            Ok(_) => {}
        }
    }
}

/// The problems of version `v`'s files together: duplicates, a missing up or down file,
/// up and down files with different names.
fn pair_problems(v: u64, files: &Files, out: &mut Vec<Problem>) {
    for dup in [&files.up, &files.down] {
        if dup.len() > 1 {
            out.push(problem(
                Severity::Error,
                dup.get(1).map(String::as_str),
                format!(
                    "duplicate migration file for version {v}: {} (golang-migrate refuses the directory)",
                    dup.iter().map(|n| shown(n)).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    match (files.up.first(), files.down.first()) {
        (Some(u), None) => out.push(problem(
            Severity::Warning,
            Some(u),
            format!("version {v} has no down migration"),
        )),
        (None, Some(d)) => out.push(problem(
            Severity::Warning,
            Some(d),
            format!("version {v} has only a down migration (`up` moves the version to {v} without running anything)"),
        )),
        _ => {}
    }
    let ids = &files.identifiers;
    if ids.iter().any(|i| i != &ids[0]) {
        out.push(problem(
            Severity::Warning,
            None,
            format!(
                "version {v}: the up and down files have different names ({})",
                ids.iter().map(|n| shown(n)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
}

/// Gaps in the numbering of `versions` (ascending); only for sequential numbering, not
/// for timestamps.
fn gap_problems(versions: &[u64], out: &mut Vec<Problem>) {
    if versions.last().is_none_or(|l| *l >= 1_000_000) {
        return;
    }
    for w in versions.windows(2) {
        if w[1] > w[0] + 1 {
            let (a, b) = (w[0] + 1, w[1] - 1);
            let missing = if a == b {
                format!("{a}")
            } else {
                format!("{a}..{b}")
            };
            out.push(problem(
                Severity::Warning,
                None,
                format!(
                    "gap in the numbering: no version {missing} between {} and {}",
                    w[0], w[1]
                ),
            ));
        }
    }
}

/// Reads a directory's direct entries and checks them.
pub fn check_dir(dir: &Path) -> Result<Vec<Problem>> {
    let io = |e: std::io::Error| Error::Other(format!("cannot read {}: {e}", dir.display()));
    let mut items = Vec::new();
    for ent in std::fs::read_dir(dir).map_err(io)? {
        let ent = ent.map_err(io)?;
        let Ok(name) = ent.file_name().into_string() else {
            continue;
        };
        let is_dir = std::fs::metadata(ent.path())
            .map(|m| m.is_dir())
            .unwrap_or(false);
        let content = if !is_dir && parse_name(&name).is_some() {
            Some(std::fs::read(ent.path()).map_err(io)?)
        } else {
            None
        };
        items.push(Item {
            name,
            is_dir,
            content,
        });
    }
    Ok(check(&items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, body: &str) -> Item {
        Item {
            name: name.into(),
            is_dir: false,
            content: Some(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn lookalikes_are_errors() {
        for n in ["1_x.UP.sql", "001-x.up.sql", "1_x.up", "foo.up.sql"] {
            assert!(lookalike(n).is_some(), "{n}");
        }
        for n in ["README.md", "1_x.up.sql", "notes.txt"] {
            assert!(lookalike(n).is_none(), "{n}");
        }
    }

    /// No problem has a control character in its file or its message: it stays on one line.
    fn one_line(p: &[Problem]) -> bool {
        p.iter().all(|p| {
            !p.message.chars().any(char::is_control)
                && !p.file.iter().flat_map(|f| f.chars()).any(char::is_control)
        })
    }

    /// Every control character anywhere after the version is flagged: as an error where
    /// golang-migrate ignores the file (always for a newline), else as a warning. The file is
    /// shown as Go's `%q` shows it (each character's escape pinned here), on one line.
    #[test]
    fn control_characters_in_names_are_flagged() {
        let base = "12_add_users.up.sql";
        let controls = [
            ('\n', "\\n"),
            ('\r', "\\r"),
            ('\t', "\\t"),
            ('\u{0}', "\\x00"),
            ('\u{1b}', "\\x1b"),
            ('\u{7f}', "\\x7f"),
            ('\u{85}', "\\u0085"),
        ];
        for (c, escape) in controls {
            for at in 3..base.len() {
                let name = format!("{}{c}{}", &base[..at], &base[at..]);
                let p = check(&[item(&name, "x"), item("12_add_users.down.sql", "x")]);
                let shown = format!("\"{}{escape}{}\"", &base[..at], &base[at..]);
                let mine: Vec<&Problem> = p
                    .iter()
                    .filter(|p| p.file.as_deref() == Some(&shown))
                    .collect();
                let ignored = parse_name(&name).is_none();
                assert!(ignored || c != '\n', "{name:?}");
                let want = if ignored {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                assert!(mine.iter().any(|p| p.severity == want), "{name:?}: {p:?}");
                assert!(one_line(&p), "{name:?}: {p:?}");
            }
        }
    }

    /// Names quoted inside a message (a duplicate, up and down files with different names)
    /// are shown as Go's `%q` shows them too; other names as they are.
    #[test]
    fn names_in_messages_are_quoted_as_go_does() {
        let p = check(&[
            item("1_a\rb.up.sql", "x"),
            item("01_a\rb.up.sql", "x"),
            item("1_a\u{85}.down.sql", "x"),
            item("2_é.up.sql", "x"),
            item("02_é.up.sql", "x"),
        ]);
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        let dup = "duplicate migration file for version 1: \"01_a\\rb.up.sql\", \"1_a\\rb.up.sql\" (golang-migrate refuses the directory)";
        assert!(msgs.contains(&dup), "{msgs:#?}");
        let ids = "version 1: the up and down files have different names (\"a\\rb\", \"a\\rb\", \"a\\u0085\")";
        assert!(msgs.contains(&ids), "{msgs:#?}");
        assert!(one_line(&p), "{p:?}");
        let plain = "duplicate migration file for version 2: 02_é.up.sql, 2_é.up.sql (golang-migrate refuses the directory)";
        assert!(msgs.contains(&plain), "{msgs:#?}");
    }

    /// Quoted exactly when Go's `%q` would escape a character: not for a quote, a
    /// backslash or a printable letter alone.
    #[test]
    fn names_are_quoted_when_go_would_escape_them() {
        for (name, want) in [
            ("2_\u{e9}.up.sql", "2_\u{e9}.up.sql"),
            ("2_a\\b\"c.up.sql", "2_a\\b\"c.up.sql"),
            ("3_a\u{2028}b.up.sql", "\"3_a\\u2028b.up.sql\""),
            ("3_a\u{a0}b.up.sql", "\"3_a\\u00a0b.up.sql\""),
            ("3_a\u{200b}b.up.sql", "\"3_a\\u200bb.up.sql\""),
            ("3_a\tb\\.up.sql", "\"3_a\\tb\\\\.up.sql\""),
        ] {
            assert_eq!(shown(name), want, "{name:?}");
        }
    }

    /// The control character is named as Go's `%q` prints a rune, as `create` names it.
    #[test]
    fn control_character_is_named_as_go_quotes_a_rune() {
        for (c, want) in [
            ('\t', "'\\t'"),
            ('\u{1}', "'\\x01'"),
            ('\u{85}', "'\\u0085'"),
        ] {
            let p = check(&[item(&format!("1_a{c}b.up.sql"), "x")]);
            let named = format!("the name contains the control character {want}; rename the file");
            assert!(p.iter().any(|p| p.message == named), "{c:?}: {p:?}");
        }
    }

    #[test]
    fn pairing_gaps_empty_duplicates() {
        let p = check(&[
            item("1_a.up.sql", "x"),
            item("1_a.down.sql", "x"),
            item("3_c.up.sql", " \n"),
            item("03_c.up.sql", "x"),
        ]);
        let msgs: Vec<String> = p.iter().map(|p| p.message.clone()).collect();
        assert!(p[0].severity == Severity::Error && msgs[0].contains("duplicate"));
        assert!(msgs
            .iter()
            .any(|m| m.contains("gap") && m.contains("no version 2")));
        assert!(msgs.iter().any(|m| m.contains("no down migration")));
        assert!(msgs.iter().any(|m| m.contains("empty file")));
    }
}
