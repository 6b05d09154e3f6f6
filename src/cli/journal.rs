//! Extension commands golang-migrate lacks: `status`, `history`, `validate`,
//! `repair`. Their data goes to stdout, errors stay on stderr. docs/journal.md documents
//! the output shapes and exit codes.

use migrate::journal::Entry;
use migrate::report::{State, Status};
use migrate::status::Verdict;
use migrate::validate::Severity;
use migrate::Source;

use super::{fatal, fatal_err, Code, Ctx};

fn or_dash(s: Option<String>) -> String {
    s.unwrap_or_else(|| "-".into())
}

fn opt_num(v: Option<u64>) -> String {
    v.map_or_else(|| "nil".into(), |v| v.to_string())
}

/// Renders rows as left-aligned columns separated by two spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

fn journal_table(entries: &[Entry]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.finished_at.clone(),
                e.operation.clone(),
                opt_num(e.version_from),
                opt_num(e.version_to),
                e.outcome.clone(),
                format!("{}ms", e.duration_ms),
                or_dash(e.file.clone()),
                or_dash(e.error.clone().map(|e| e.replace('\n', " "))),
            ]
        })
        .collect();
    table(
        &[
            "SEQ",
            "FINISHED",
            "OPERATION",
            "FROM",
            "TO",
            "OUTCOME",
            "TOOK",
            "FILE",
            "ERROR",
        ],
        &rows,
    )
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Applied => "applied",
        State::Dirty => "dirty",
        State::Pending => "pending",
        State::Drifted => "drifted",
        State::Missing => "missing",
        State::OutOfOrder => "out-of-order",
    }
}

fn render_status(s: &Status) -> String {
    let mut out = String::new();
    let version = match (s.version, s.dirty) {
        (None, _) => "nil (nothing applied)".to_string(),
        (Some(v), true) => format!("{v} (dirty)"),
        (Some(v), false) => v.to_string(),
    };
    out.push_str(&format!("version:  {version}\n"));
    out.push_str(&format!("latest:   {}\n", opt_num(s.latest)));
    let verdict = match s.verdict {
        Verdict::UpToDate => "up to date",
        Verdict::Pending => "pending migrations",
        Verdict::Dirty => "dirty: a migration failed part-way",
        Verdict::Drift => "applied files changed, are missing or out of order",
        Verdict::DatabaseNewer => "the database is newer than these files",
    };
    out.push_str(&format!("status:   {verdict} (exit {})\n", s.exit_code));
    if let Some(x) = s.dirty_explanation.as_ref().filter(|x| x.known()) {
        out.push_str(&format!(
            "dirty:    {}\n          (`migrate recover` prints the ways out)\n",
            x.summary
        ));
    }
    if !s.tracked {
        out.push_str(
            "tracking: no checksums yet (the next migrating command adopts the database)\n",
        );
    }
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if !s.applied_outside.is_empty() {
        out.push_str(&format!(
            "outside:  {} applied outside migrate (recorded by the next migrating command)\n",
            list(&s.applied_outside)
        ));
    }
    if !s.no_longer_applied.is_empty() {
        out.push_str(&format!(
            "unapplied: {} recorded by migrate but above the database's version (no longer applied)\n",
            list(&s.no_longer_applied)
        ));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = s
        .migrations
        .iter()
        .map(|m| {
            vec![
                m.version.to_string(),
                state_word(m.state).to_string(),
                or_dash(m.applied_at.clone()),
                m.duration_ms
                    .map_or_else(|| "-".to_string(), |d| format!("{d}ms")),
                or_dash(m.file.clone()),
            ]
        })
        .collect();
    out.push_str(&table(
        &["VERSION", "STATE", "APPLIED AT", "TOOK", "FILE"],
        &rows,
    ));
    if !s.journal.is_empty() {
        out.push_str("\nrecent operations:\n");
        out.push_str(&journal_table(&s.journal));
    }
    out
}

fn open_source(ctx: &Ctx) -> Result<Source, Code> {
    Source::open(&ctx.source_url).map_err(|e| fatal_err(&ctx.log, &e))
}

/// `status`: read-only; exit 0 up to date, 3 pending, 4 dirty, 5 drift/missing/out of
/// order, 6 database newer than the files, 1 error.
pub fn status(ctx: &mut Ctx, json: bool, rows: u64) -> Code {
    let res = if ctx.db_missing {
        // A missing SQLite file: report without creating it.
        match open_source(ctx) {
            Ok(src) => migrate::report::status(&src, None, rows),
            Err(c) => return c,
        }
    } else {
        match ctx.migrator() {
            Ok(m) => m.status(rows),
            Err(c) => return c,
        }
    };
    // A missing SQLite file is reported as such; its code is -db-status's (3, pending).
    let missing = if ctx.db_missing {
        super::missing_sqlite_file(&ctx.database_url)
    } else {
        None
    };
    match res {
        Ok(s) => {
            if json {
                let mut t = match serde_json::to_string_pretty(&s) {
                    Ok(t) => t,
                    Err(e) => return fatal(&ctx.log, &format!("error: {e}")),
                };
                if let Some(p) = &missing {
                    // First, keeping the order of the other fields.
                    let path = serde_json::Value::from(p.display().to_string());
                    t = t.replacen('{', &format!("{{\n  \"database_file_missing\": {path},"), 1);
                }
                super::log::outln(&t);
            } else {
                let mut text = render_status(&s);
                if let Some(p) = &missing {
                    text = format!(
                        "database: file {} does not exist (nothing was created)\n{text}",
                        p.display()
                    );
                }
                super::log::out(&text);
            }
            s.exit_code
        }
        Err(e) => fatal_err(&ctx.log, &e),
    }
}

/// `history`: the journal, newest first.
pub fn history(ctx: &mut Ctx, json: bool, limit: u64) -> Code {
    let entries = if ctx.db_missing {
        Ok(Vec::new())
    } else {
        match ctx.migrator() {
            Ok(m) => m.history(limit),
            Err(c) => return c,
        }
    };
    match entries {
        Ok(e) => {
            if json {
                match serde_json::to_string_pretty(&e) {
                    Ok(t) => super::log::outln(&t),
                    Err(err) => return fatal(&ctx.log, &format!("error: {err}")),
                }
            } else if e.is_empty() {
                super::log::outln("no journal entries");
            } else {
                super::log::out(&journal_table(&e));
            }
            Code::Ok
        }
        Err(e) => fatal_err(&ctx.log, &e),
    }
}

/// `validate`: offline checks; exit 1 when there are errors.
pub fn validate(ctx: &mut Ctx, json: bool) -> Code {
    let dir = match migrate::source::dir_from_url(&ctx.source_url) {
        Ok(d) => d,
        Err(e) => return fatal_err(&ctx.log, &e),
    };
    let problems = match migrate::validate::check_dir(&dir) {
        Ok(p) => p,
        Err(e) => return fatal_err(&ctx.log, &e),
    };
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    if json {
        let v = serde_json::json!({
            "errors": errors,
            "warnings": warnings,
            "problems": problems,
        });
        match serde_json::to_string_pretty(&v) {
            Ok(t) => super::log::outln(&t),
            Err(e) => return fatal(&ctx.log, &format!("error: {e}")),
        }
    } else {
        for p in &problems {
            match &p.file {
                Some(f) => super::log::outln(&format!("{}: {f}: {}", p.severity, p.message)),
                None => super::log::outln(&format!("{}: {}", p.severity, p.message)),
            }
        }
        super::log::outln(&format!("{errors} error(s), {warnings} warning(s)"));
    }
    if errors > 0 {
        Code::Error
    } else {
        Code::Ok
    }
}

/// `repair`: the current files become the recorded truth (journaled).
pub fn repair(ctx: &mut Ctx) -> Code {
    let log = ctx.log;
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    match m.repair() {
        Ok(()) => {
            super::log::outln("recorded the current files as applied");
            Code::Ok
        }
        Err(e) => fatal_err(&log, &e),
    }
}
