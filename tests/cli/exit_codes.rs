//! The documented exit codes against the code's definitions (`migrate::status::ExitCode`,
//! `migrate::status::Verdict::exit_code`, `ExitCode::Usage`), so the two cannot drift
//! apart. Every exit-code table of README.md and docs/*.md (a table with a `code` column,
//! or a `state`/`verdict` column beside an `exit` column) and the sentences that list
//! codes are read; each documented code is classified by the words beside it and
//! compared with the code the program uses for that meaning.

use std::path::Path;

use migrate::status::{exit, Verdict};

use crate::harness::repo;

/// Go's flag package: a usage error.
const USAGE: i32 = exit::USAGE as i32;

/// What the words beside a code mean, as the code the program uses for it. The first
/// rule that matches wins; the order puts the specific words first.
fn meaning(text: &str) -> Option<(i32, &'static str)> {
    let t = text.to_lowercase();
    let rules: &[(&[&str], i32, &str)] = &[
        (
            &["usage", "flag error", "unknown command", "no command"],
            USAGE,
            "usage error",
        ),
        (&["error"], i32::from(exit::ERROR), "error"),
        (&["dirty"], i32::from(exit::DIRTY), "dirty"),
        (
            &["newer", "ahead", "too old"],
            i32::from(exit::AHEAD),
            "database newer (ahead)",
        ),
        (
            &["drift", "edited", "missing", "out of order"],
            i32::from(exit::DRIFT),
            "drift",
        ),
        (
            &[
                "pending",
                "behind",
                "migration needed",
                "no row",
                "no version table",
                "no file",
                "does not exist",
            ],
            i32::from(exit::BEHIND),
            "behind (pending)",
        ),
        (
            &["up to date", "up-to-date", "success", "succeeded"],
            i32::from(exit::OK),
            "ok",
        ),
    ];
    rules
        .iter()
        .find(|(words, _, _)| words.iter().any(|w| t.contains(w)))
        .map(|(_, code, name)| (*code, *name))
}

/// One documented pair: where, the code, the words that say what it means.
struct Documented {
    at: String,
    code: i32,
    text: String,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// The exit-code tables of a markdown text.
fn tables(file: &str, text: &str) -> Vec<Documented> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].trim_start().starts_with('|') {
            i += 1;
            continue;
        }
        let header = cells(lines[i]);
        let mut rows = Vec::new();
        i += 1;
        while i < lines.len() && lines[i].trim_start().starts_with('|') {
            if !lines[i].contains("---") {
                rows.push((i + 1, cells(lines[i])));
            }
            i += 1;
        }
        let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        // A `code` table describes codes; a `state`/`verdict` + `exit` table gives the
        // code of each state. Tables of messages (`case`) and of counts are not read.
        let (code_col, text_cols): (usize, Vec<usize>) = if let Some(c) = col("code") {
            let skip = ["code", "where"];
            let keep = (0..header.len())
                .filter(|&k| !skip.iter().any(|s| header[k].eq_ignore_ascii_case(s)))
                .collect();
            (c, keep)
        } else if let (Some(c), Some(s)) = (col("exit"), col("state").or(col("verdict"))) {
            (c, vec![s])
        } else {
            continue;
        };
        for (line_no, r) in rows {
            let Some(code) = r
                .get(code_col)
                .and_then(|c| c.trim_matches('`').parse().ok())
            else {
                continue;
            };
            let text = text_cols
                .iter()
                .filter_map(|&k| r.get(k).cloned())
                .collect::<Vec<_>>()
                .join(" ");
            out.push(Documented {
                at: format!("{file}:{line_no}"),
                code,
                text,
            });
        }
    }
    out
}

/// Sentences that list codes: `3 pending, 4 dirty, ...` after `exit`/`add:`, and
/// `dirty: 4, ...` lists in parentheses.
fn sentences(file: &str, text: &str) -> Vec<Documented> {
    let mut out = Vec::new();
    let joined = text.replace('\n', " ");
    // "(exit 0 up to date, 3 pending, ...)" and "gate add: 3 migrations pending (...), 4 dirty, ...".
    let starts = regex::Regex::new(r"(?:^|, )(\d) ").expect("regex");
    for (open, close) in [("(exit ", ")"), ("gate add: ", ". ")] {
        let mut rest = joined.as_str();
        while let Some(p) = rest.find(open) {
            let seg = &rest[p + open.len()..];
            let seg = &seg[..seg.find(close).unwrap_or(seg.len())];
            let at: Vec<_> = starts
                .captures_iter(seg)
                .map(|c| c.get(0).expect("match"))
                .collect();
            for (k, m) in at.iter().enumerate() {
                let end = at.get(k + 1).map_or(seg.len(), |n| n.start());
                let item = seg[m.start()..end].trim_start_matches(", ");
                let (code, words) = item.split_at(1);
                out.push(Documented {
                    at: format!("{file}: \"{item}\""),
                    code: code.parse().expect("digit"),
                    text: words.trim().to_string(),
                });
            }
            rest = &rest[p + open.len()..];
        }
    }
    // "(dirty: 4, newer than the migrations: 6, drift: 5)"
    let pairs = regex::Regex::new(r"\(((?:[a-z][a-z ]*: \d(?:, )?)+)\)").expect("regex");
    let pair = regex::Regex::new(r"([a-z][a-z ]*): (\d)").expect("regex");
    for m in pairs.captures_iter(&joined) {
        for p in pair.captures_iter(&m[1]) {
            out.push(Documented {
                at: format!("{file}: \"{}\"", p[0].trim()),
                code: p[2].parse().expect("digit"),
                text: p[1].to_string(),
            });
        }
    }
    out
}

fn documented() -> Vec<Documented> {
    let root = repo();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut all = Vec::new();
    for f in files {
        let name = f
            .strip_prefix(&root)
            .unwrap_or(Path::new("?"))
            .display()
            .to_string();
        let text = std::fs::read_to_string(&f).expect("read doc");
        all.extend(tables(&name, &text));
        all.extend(sentences(&name, &text));
    }
    all
}

#[test]
fn documented_exit_codes_match_the_code() {
    let docs = documented();
    let mut wrong = Vec::new();
    for d in &docs {
        match meaning(&d.text) {
            Some((code, name)) if code != d.code => wrong.push(format!(
                "{}: documents exit {} for {:?}, but the code exits {code} ({name})",
                d.at, d.code, d.text
            )),
            Some(_) => {}
            None => wrong.push(format!(
                "{}: exit {} for {:?}: no known meaning; add its words to `meaning`",
                d.at, d.code, d.text
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The places known to document codes are all read (a reformatted table would
    // otherwise be skipped silently).
    for (file, at_least) in [
        ("README.md", 3 + 4 + 6),
        ("docs/journal.md", 7),
        ("docs/release-binary.md", 7 + 8),
        ("docs/backups.md", 3),
    ] {
        let n = docs.iter().filter(|d| d.at.starts_with(file)).count();
        assert!(
            n >= at_least,
            "{file}: {n} documented exit codes read, expected at least {at_least}"
        );
    }
}

#[test]
fn status_verdicts_use_the_gate_codes() {
    // `status` and `-db-status` share one table of codes (README, docs/journal.md).
    for (v, code) in [
        (Verdict::UpToDate, exit::OK),
        (Verdict::Pending, exit::BEHIND),
        (Verdict::Dirty, exit::DIRTY),
        (Verdict::Drift, exit::DRIFT),
        (Verdict::DatabaseNewer, exit::AHEAD),
    ] {
        assert_eq!(v.exit_code(), code, "{v:?}");
        // docs/journal.md's verdict column names the verdict as JSON does.
        let name = serde_json::to_value(v).expect("json");
        let name = name.as_str().expect("string");
        let (m, _) = meaning(name).expect("known verdict word");
        assert_eq!(m, i32::from(v.exit_code()), "{name}");
    }
}

/// The classifier itself: the wrong codes the docs once had are caught.
#[test]
fn a_wrong_documented_code_is_caught() {
    let bad = "| state | line | exit |\n|---|---|---|\n| behind | `DBStatus: ...` | 2 |\n| ahead | `DBStatus: ...` | 3 |\n";
    let d = tables("x.md", bad);
    assert_eq!(d.len(), 2);
    for x in &d {
        let (code, _) = meaning(&x.text).expect("classified");
        assert_ne!(code, x.code, "{}", x.text);
    }
    let prose = "checks, with the same refusals and exit codes (dirty: 4, newer than the migrations: 3,\ndrift: 5), then";
    let d = sentences("x.md", prose);
    assert_eq!(d.len(), 3);
    let wrong: Vec<_> = d
        .iter()
        .filter(|x| meaning(&x.text).map(|m| m.0) != Some(x.code))
        .map(|x| x.text.clone())
        .collect();
    assert_eq!(wrong, vec!["newer than the migrations".to_string()]);
}

/// docs/release-binary.md's `DBStatus:` table, row by row, against the exit code of the
/// gate outcome each state names (`GateStatus::exit_code`, not the word rules above).
#[test]
fn dbstatus_table_matches_gate_outcomes() {
    use migrate::GateStatus;
    let outcome = |state: &str| -> Option<GateStatus> {
        Some(match state {
            "up to date" => GateStatus::UpToDate { version: 6 },
            "behind" => GateStatus::Behind {
                current: Some(2),
                latest: 6,
                pending: vec![3, 4, 5, 6],
            },
            "no row" => GateStatus::Behind {
                current: None,
                latest: 6,
                pending: vec![1, 2, 3, 4, 5, 6],
            },
            "no version table" => GateStatus::NoVersionTable {
                table: "schema_migrations".into(),
                latest: 6,
            },
            "no file" => GateStatus::NoDatabaseFile {
                path: "var/job.db".into(),
                latest: 6,
            },
            "ahead" => GateStatus::Ahead {
                current: 7,
                latest: 6,
            },
            "dirty" => GateStatus::Dirty {
                version: 4,
                latest: 6,
                previous: 3,
            },
            "drift" => GateStatus::Drifted {
                current: 6,
                latest: 6,
                files: vec!["5_x.up.sql".into()],
            },
            _ => return None,
        })
    };
    let text = std::fs::read_to_string(repo().join("docs/release-binary.md")).expect("read");
    let rows: Vec<Documented> = tables("docs/release-binary.md", &text)
        .into_iter()
        .filter(|d| {
            text.lines()
                .nth(
                    d.at.rsplit(':')
                        .next()
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(1)
                        - 1,
                )
                .is_some_and(|l| l.contains("`DBStatus:"))
        })
        .collect();
    assert_eq!(rows.len(), 8, "the DBStatus table has eight states");
    for d in rows {
        let s = outcome(&d.text).unwrap_or_else(|| panic!("{}: unknown state {:?}", d.at, d.text));
        assert_eq!(i32::from(s.exit_code()), d.code, "{}: {}", d.at, d.text);
    }
}
