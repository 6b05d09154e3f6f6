//! `recover`: explains a dirty database from migrate's journal and prints the ways out,
//! safest first. It only reads; `force` stays golang-migrate's non-interactive command and
//! warns when the journal says the file it leaves behind was half applied.

use migrate::recover::{explain, force_args, Explanation, Statement};
use migrate::Migrator;

use super::{fatal, fatal_err, Code, Ctx};

/// The lines after golang-migrate's dirty error: the explanation and where to go on, when
/// the journal has the failed step (nothing is added for a database another tool left
/// dirty).
pub fn dirty_lines(m: &mut Migrator) -> Vec<String> {
    let source = m.source().clone();
    match explain(m.driver(), &source) {
        Ok(Some(x)) if x.known() => vec![
            x.summary.clone(),
            "hint: `migrate recover` prints the applied statements and the ways out, safest first"
                .into(),
        ],
        _ => Vec::new(),
    }
}

fn indent(statements: &[Statement]) -> String {
    let mut out = String::new();
    for s in statements {
        out.push_str(&format!(
            "       -- statement {} (line {})\n",
            s.number, s.line
        ));
        for l in s.sql.lines() {
            out.push_str(&format!("       {l}\n"));
        }
    }
    out
}

fn numbers(statements: &[Statement]) -> String {
    match statements {
        [] => String::new(),
        [one] => format!("statement {}", one.number),
        [first, .., last] => format!("statements {}-{}", first.number, last.number),
    }
}

/// The ways out of a dirty database, safest first.
pub fn ways_out(x: &Explanation) -> String {
    let mut out = format!("{}\n", x.summary);
    if x.file_changed {
        out.push_str("warning: the file present now differs from the one that ran; the statements below are the present file's\n");
    }
    out.push_str("\nWays out, safest first:\n");
    let mut ways = Vec::new();
    if let Some(b) = &x.backup {
        let at = x
            .backup_version
            .map_or_else(|| "no version".to_string(), |v| format!("version {v}"));
        ways.push(format!(
            "Restore the backup taken before the run ({at}), then run the migrations again once the file is fixed:\n       migrate restore {}\n",
            b.display()
        ));
    }
    ways.extend(by_hand(x));
    for (n, w) in ways.iter().enumerate() {
        out.push_str(&format!("\n  {}. {w}", n + 1));
    }
    out
}

/// The ways out by hand: finish or undo the failed file, or, when the journal does not
/// say which statements were applied, compare the schema first.
fn by_hand(x: &Explanation) -> Vec<String> {
    let file = x.file.as_deref().unwrap_or("the failed file");
    let undo = x.undo_version();
    match x.partial {
        Some(p) => {
            let (remaining, applied) = (x.remaining(), x.applied());
            let finish = if remaining.is_empty() {
                format!("Finish the file by hand: run statements {}-{} of {file} (fixed), then record version {}:\n       migrate {}\n", p.failed, p.total, x.version, force_args(x.version))
            } else {
                format!(
                    "Finish the file by hand: fix and run {} of {file} yourself, then record version {}:\n{}       migrate {}\n",
                    numbers(remaining),
                    x.version,
                    indent(remaining),
                    force_args(x.version)
                )
            };
            let back = if applied.is_empty() {
                format!(
                    "Nothing of {file} was applied: record version {undo}, where the failed step started, fix the file and run it again:\n       migrate {}\n",
                    force_args(undo)
                )
            } else {
                format!(
                    "Undo the applied {} by hand (the last one first), then record version {undo}, where the failed step started:\n{}       migrate {}\n",
                    numbers(applied),
                    indent(applied),
                    force_args(undo)
                )
            };
            vec![finish, back]
        }
        None if x.file.is_some() => vec![format!(
            "Which statements of {file} were applied is not recorded: compare the schema with its statements, then either run the missing ones and `migrate {}`, or undo the applied ones and `migrate {}`:\n{}",
            force_args(x.version),
            force_args(undo),
            indent(&x.statements)
        )],
        None => vec![format!(
            "Inspect the schema by hand, then record the version it is really at with `migrate force V` (version {} if the failed file is fully applied, the version before it if nothing of it is)\n",
            x.version
        )],
    }
}

/// `recover [-format text|json]`: reads only; exit 0 when the database is clean, 4 when it
/// is dirty (the explanation printed), 1 on error.
pub fn recover_cmd(ctx: &mut Ctx, json: bool) -> Code {
    let log = ctx.log;
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let source = m.source().clone();
    match explain(m.driver(), &source) {
        Ok(None) => {
            if json {
                super::log::outln("{\n  \"dirty\": false\n}");
            } else {
                super::log::outln("The database is not dirty: there is nothing to recover.");
            }
            Code::Ok
        }
        Ok(Some(x)) => {
            if json {
                match serde_json::to_string_pretty(&x) {
                    Ok(t) => super::log::outln(&t),
                    Err(e) => return fatal(&log, &format!("error: {e}")),
                }
            } else {
                super::log::out(&ways_out(&x));
            }
            Code::Dirty
        }
        Err(e) => fatal_err(&log, &e),
    }
}

/// `force`'s warning when the journal says the dirty version's file was half applied.
pub fn force_warning(m: &mut Migrator, v: i64) -> Option<String> {
    let source = m.source().clone();
    let x = explain(m.driver(), &source).ok()??;
    let p = x.partial?;
    let file = x.file.as_deref()?;
    let applied = x.applied();
    let remaining = x.remaining();
    let what = if v == x.version {
        format!(
            "{} of it ({}) never ran",
            numbers(remaining),
            first_lines(remaining)
        )
    } else if applied.is_empty() {
        return None;
    } else {
        format!(
            "{} of it ({}) stay applied",
            numbers(applied),
            first_lines(applied)
        )
    };
    Some(format!(
        "warning: the journal says {file} was half applied ({} of {} statements); forcing version {v}: {what}. `migrate recover` shows them.",
        p.applied(),
        p.total
    ))
}

fn first_lines(statements: &[Statement]) -> String {
    statements
        .iter()
        .map(|s| {
            let l = s
                .sql
                .lines()
                .find(|l| !l.trim_start().starts_with("--"))
                .unwrap_or("");
            let l = l.trim().trim_end_matches(';');
            if l.chars().count() > 40 {
                format!("{}...", l.chars().take(37).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
