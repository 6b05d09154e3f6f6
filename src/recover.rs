//! A dirty database, explained: which statements of the failed file were applied, which
//! one failed, and the ways out (docs/journal.md, "Dirty databases").
//!
//! A file that runs outside a transaction (MySQL, PostgreSQL `-- migrate:no-transaction`
//! and `x-multi-statement`, SQLite `x-no-tx-wrap=true`) runs statement by statement; when
//! one fails, its failed journal row's `error` starts with
//! `statement K of N (line L) failed: ` ([`Partial::encode`]): statements 1..K-1 were
//! applied. Nothing else is stored, so existing side tables need no new column.

use std::path::PathBuf;

use crate::driver::{split, Driver};
use crate::error::Result;
use crate::journal::{self, Entry};
use crate::source::{Direction, Source};
use crate::version::DbVersion;

/// Where a file run outside a transaction stopped: statement `failed` (1-based) of `total`,
/// on line `line` of the file, failed; the ones before it were applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Partial {
    /// The statement that failed (1-based).
    pub failed: usize,
    /// How many statements the file has.
    pub total: usize,
    /// The line of the file the failed statement starts on.
    pub line: usize,
}

const PREFIX: &str = "statement ";

impl Partial {
    /// The position of the statement that failed after `applied` statements of `body`
    /// completed (`None` when the count is not known or does not name one of the
    /// driver's statements).
    pub fn of(d: &dyn Driver, body: &str, applied: Option<usize>) -> Option<Partial> {
        let applied = applied?;
        let statements = d.statements(body);
        let failed = statements.get(applied)?;
        Some(Partial {
            failed: applied + 1,
            total: statements.len(),
            line: split::line_of(body, failed),
        })
    }

    /// How many statements were applied.
    pub fn applied(&self) -> usize {
        self.failed - 1
    }

    /// The journal's `error` text for a failure at this position.
    pub fn encode(&self, error: &str) -> String {
        format!(
            "{PREFIX}{} of {} (line {}) failed: {error}",
            self.failed, self.total, self.line
        )
    }

    /// The position and the driver's error from a journal `error` text written by
    /// [`Partial::encode`]; `None` for any other text.
    pub fn decode(text: &str) -> Option<(Partial, &str)> {
        let rest = text.strip_prefix(PREFIX)?;
        let (failed, rest) = rest.split_once(" of ")?;
        let (total, rest) = rest.split_once(" (line ")?;
        let (line, error) = rest.split_once(") failed: ")?;
        let num = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<usize>().ok())
                .flatten()
        };
        let p = Partial {
            failed: num(failed)?,
            total: num(total)?,
            line: num(line)?,
        };
        (p.failed >= 1 && p.failed <= p.total).then_some((p, error))
    }

    /// `statements 1-2 of 4 of F were applied; statement 3 (line 14) failed`.
    pub fn describe(&self, file: &str) -> String {
        let applied = match self.applied() {
            0 => format!("no statement of {} of {file} was applied", self.total),
            1 => format!("statement 1 of {} of {file} was applied", self.total),
            n => format!("statements 1-{n} of {} of {file} were applied", self.total),
        };
        format!(
            "{applied}; statement {} (line {}) failed",
            self.failed, self.line
        )
    }
}

/// One statement of the failed file, as the driver ran it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// Its place in the file (1-based).
    pub number: usize,
    /// The line of the file it starts on.
    pub line: usize,
    /// Its text, trimmed.
    pub sql: String,
}

/// What migrate's journal says about a dirty database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// One line: [`Explanation::summary`].
    pub summary: String,
    /// The dirty version (-1: dirty with no version).
    pub version: i64,
    /// The failed step's journal row: `up`, `down`, `up-out-of-order`; `None` when the
    /// journal has no failed step for this version (a killed run, another tool).
    pub operation: Option<String>,
    /// The version before the failed step (`None`: no version).
    pub from: Option<u64>,
    /// The failed file's name, from the journal.
    pub file: Option<String>,
    /// Where the file stopped, when it ran outside a transaction statement by statement.
    pub partial: Option<Partial>,
    /// The driver's error.
    pub error: Option<String>,
    /// The file's statements, from the file present now (empty when it is absent).
    pub statements: Vec<Statement>,
    /// The file present now differs from the one that ran (its checksum).
    pub file_changed: bool,
    /// The backup taken before the run (SQLite), when the journal names one that exists.
    pub backup: Option<PathBuf>,
    /// The version that backup holds.
    pub backup_version: Option<u64>,
}

fn is_step(e: &Entry) -> bool {
    matches!(e.operation.as_str(), "up" | "down" | "up-out-of-order")
}

/// The first line of a driver error, without golang-migrate's ` in line N: <query>` tail.
pub fn short_error(e: &str) -> String {
    let first = cut_query(e);
    // MySQL's message names no cause before the query; the cause is in its details.
    match e.rfind(" (details: ") {
        Some(i) if first == "migration failed" => format!("{first}{}", e[i..].trim_end()),
        _ => first.to_string(),
    }
}

fn cut_query(e: &str) -> &str {
    let first = e.lines().next().unwrap_or("");
    let mut from = 0;
    while let Some(i) = first[from..].find(" in line ").map(|i| i + from) {
        let rest = &first[i + " in line ".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(':') {
            return &first[..i];
        }
        from = i + 1;
    }
    first
}

impl Explanation {
    /// `dirty at 12: statements 1-2 of 4 of 0012_x.up.sql were applied; statement 3
    /// (line 14) failed: ...`.
    pub fn summary(&self) -> String {
        let err = self.error.as_deref().map(short_error).unwrap_or_default();
        match (&self.file, &self.partial) {
            (Some(f), Some(p)) => format!("dirty at {}: {}: {err}", self.version, p.describe(f)),
            (Some(f), None) => format!(
                "dirty at {}: {f} failed outside a transaction; which of its statements were applied is not recorded: {err}",
                self.version
            ),
            (None, _) => format!(
                "dirty at {}: migrate's journal has no record of the failed file (the run was killed, or another tool ran it)",
                self.version
            ),
        }
    }

    /// Whether the journal has the failed step's row (the file, its error).
    pub fn known(&self) -> bool {
        self.operation.is_some()
    }

    /// The statements that were applied (known only with [`Explanation::partial`]).
    pub fn applied(&self) -> &[Statement] {
        let n = self.partial.map_or(0, |p| p.applied());
        &self.statements[..n.min(self.statements.len())]
    }

    /// The statements from the failed one on (known only with [`Explanation::partial`]).
    pub fn remaining(&self) -> &[Statement] {
        match self.partial {
            Some(p) => &self.statements[p.applied().min(self.statements.len())..],
            None => &[],
        }
    }

    /// The force argument for the version before the failed step.
    pub fn undo_version(&self) -> i64 {
        self.from.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1)
    }
}

/// Explains the database's dirty flag from migrate's journal; `None` when the database is
/// not dirty. Reads only.
pub fn explain(d: &mut dyn Driver, source: &Source) -> Result<Option<Explanation>> {
    let version = match d.version()? {
        DbVersion::Dirty(v) => v,
        _ => return Ok(None),
    };
    let entries = journal::entries(d, 200)?;
    let mut x = Explanation {
        summary: String::new(),
        version,
        operation: None,
        from: None,
        file: None,
        partial: None,
        error: None,
        statements: Vec::new(),
        file_changed: false,
        backup: None,
        backup_version: None,
    };
    // The newest step row is the one that left the flag, if it failed at this version.
    let failed = entries.iter().position(is_step).filter(|&i| {
        let row = &entries[i];
        let to = row
            .version_to
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(-1);
        row.outcome == "failed" && to == version
    });
    if let Some(i) = failed {
        let row = &entries[i];
        from_row(&mut x, row);
        present_file(&mut x, d, source, row);
        backup_before(&mut x, &entries[i + 1..]);
    }
    x.summary = x.summary();
    Ok(Some(x))
}

/// What the failed step's journal row says: the operation, versions, file and error.
fn from_row(x: &mut Explanation, row: &Entry) {
    x.operation = Some(row.operation.clone());
    x.from = row.version_from;
    x.file = row.file.clone();
    let text = row.error.clone().unwrap_or_default();
    match Partial::decode(&text) {
        Some((p, e)) => {
            x.partial = Some(p);
            x.error = Some(e.to_string());
        }
        None => x.error = Some(text),
    }
}

/// The failed file as it is now, split as the driver splits it, and whether it changed
/// since it ran.
fn present_file(x: &mut Explanation, d: &mut dyn Driver, source: &Source, row: &Entry) {
    let (file_version, direction) = match row.operation.as_str() {
        "down" => (row.version_from, Direction::Down),
        _ => (row.version_to, Direction::Up),
    };
    let present = file_version
        .and_then(|v| source.entry(v))
        .and_then(|e| e.get(direction))
        .filter(|f| Some(&f.name) == row.file.as_ref());
    let Some(body) = present.and_then(|f| source.read_text(f).ok()) else {
        return;
    };
    x.file_changed = row
        .checksum
        .as_deref()
        .is_some_and(|c| c != crate::source::checksum(body.as_bytes()));
    x.statements = d
        .statements(&body)
        .iter()
        .enumerate()
        .map(|(n, s)| Statement {
            number: n + 1,
            line: split::line_of(&body, s),
            sql: s.trim().to_string(),
        })
        .collect();
}

/// The backup the run took before its first change: in `older` (the journal rows before
/// the failed step, newest first), the nearest `backup` row, with only the run's own
/// finished steps between.
fn backup_before(x: &mut Explanation, older: &[Entry]) {
    for e in older {
        if e.operation == "backup" {
            let p = e.file.as_ref().map(PathBuf::from).filter(|p| p.exists());
            if p.is_some() {
                x.backup = p;
                x.backup_version = e.version_to;
            }
            break;
        }
        if !(is_step(e) && e.outcome == "ok") {
            break;
        }
    }
}

/// The `force` arguments for version `v` as they are typed on golang-migrate's command
/// line (`-1` needs `--` before it).
pub fn force_args(v: i64) -> String {
    if v < 0 {
        format!("force -- {v}")
    } else {
        format!("force {v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position encodes to a text that decodes to it and to the same error, and no
    /// ordinary error text decodes.
    #[test]
    fn encode_decode_round_trip() {
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let errors = [
            "",
            "migration failed: boom in line 0: CREATE TABLE x (a int);",
            "statement 9 of 2 (line 1) failed: x",
            "a\nb) failed: c",
        ];
        for _ in 0..2000 {
            let total = 1 + next(50) as usize;
            let p = Partial {
                failed: 1 + next(total as u64) as usize,
                total,
                line: next(10_000) as usize,
            };
            let err = errors[next(errors.len() as u64) as usize];
            let text = p.encode(err);
            assert_eq!(Partial::decode(&text), Some((p, err)), "{text}");
            assert_eq!(p.applied() + 1, p.failed);
        }
        for e in errors.iter().filter(|e| !e.starts_with("statement 9 of 2")) {
            assert_eq!(Partial::decode(e), None, "{e}");
        }
        // A failed statement beyond the total is no position migrate wrote.
        assert_eq!(Partial::decode("statement 9 of 2 (line 1) failed: x"), None);
    }

    #[test]
    fn describe_counts_the_applied_statements() {
        let p = |failed, total| Partial {
            failed,
            total,
            line: 14,
        };
        assert_eq!(
            p(3, 4).describe("12_x.up.sql"),
            "statements 1-2 of 4 of 12_x.up.sql were applied; statement 3 (line 14) failed"
        );
        assert_eq!(
            p(2, 4).describe("f"),
            "statement 1 of 4 of f was applied; statement 2 (line 14) failed"
        );
        assert_eq!(
            p(1, 1).describe("f"),
            "no statement of 1 of f was applied; statement 1 (line 14) failed"
        );
    }

    #[test]
    fn short_error_drops_the_query() {
        assert_eq!(
            short_error("migration failed: near \"x\": syntax error in line 0: CREATE x;\nmore"),
            "migration failed: near \"x\": syntax error"
        );
        assert_eq!(short_error("ERROR: boom\nLINE 1"), "ERROR: boom");
        assert_eq!(
            short_error("no such table: nosuch in line 0: -- x"),
            "no such table: nosuch"
        );
        assert_eq!(short_error("a in line x: b"), "a in line x: b");
        assert_eq!(
            short_error("migration failed in line 0: A;\nB;\n (details: Error 1146: no t)"),
            "migration failed (details: Error 1146: no t)"
        );
    }
}
