//! The typed command line: which of migrate's own options each command honours (the others
//! are refused with exit 2, never ignored), `-dry-run` for every command, options after
//! the command, unknown commands, and the usage text.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{Env, Transcript};
use insta::assert_snapshot;

/// Every command, with the arguments it needs; `RESTORE` stands for an existing backup.
const COMMANDS: &[&[&str]] = &[
    &["create", "-ext", "sql", "-dir", "new", "x"],
    &["goto", "1"],
    &["goto", "3"],
    &["up"],
    &["up", "1"],
    &["down"],
    &["down", "1"],
    &["down", "-all"],
    &["drop"],
    &["drop", "-f"],
    &["force", "1"],
    &["force", "--", "-1"],
    &["version"],
    &["status"],
    &["history"],
    &["validate"],
    &["repair"],
    &["recover"],
    &["backup"],
    &["backups"],
    &["restore", "RESTORE"],
    &["rehearse"],
    &["rehearse", "goto", "3"],
    &["-migrate-db"],
    &["-revert-db"],
    &["-downgrade-db"],
    &["-force-db", "1"],
    &["-db-status"],
    &["upp"],
    &[],
];

/// migrate's own options other than `-dry-run`, with their values.
const OPTIONS: &[&[&str]] = &[
    &["-no-backup"],
    &["-backup-dir", "bk"],
    &["-backup-keep", "1"],
    &["-integrity-check", "full"],
    &["-restore-on-failure"],
    &["-optimize"],
    &["-allow-drift"],
    &["-allow-missing"],
    &["-allow-out-of-order"],
    &["-single-transaction"],
];

/// The policy, written out independently of the code: whether `command` honours `option`.
fn honours(command: &str, option: &str) -> bool {
    let migrates = matches!(command, "up" | "down" | "goto");
    let changes = migrates || matches!(command, "drop" | "force");
    let db_changes = matches!(
        command,
        "-migrate-db" | "-revert-db" | "-downgrade-db" | "-force-db"
    );
    match option {
        "-dry-run" => !matches!(
            command,
            "create"
                | "repair"
                | "backup"
                | "restore"
                | "-revert-db"
                | "-downgrade-db"
                | "-force-db"
        ),
        "-allow-drift" | "-allow-missing" | "-allow-out-of-order" | "-single-transaction" => {
            migrates
        }
        "-no-backup" => changes || db_changes || command == "restore",
        "-backup-keep" => changes || db_changes || matches!(command, "restore" | "backup"),
        "-backup-dir" => {
            changes || db_changes || matches!(command, "restore" | "backup" | "backups")
        }
        "-integrity-check" => changes || command == "rehearse",
        "-restore-on-failure" | "-optimize" => changes,
        other => panic!("unknown option {other}"),
    }
}

/// Every file under the test's directory with its bytes, and the database's mtime: the
/// database's bytes (its side tables included), the directory listings and any file a
/// command might write.
#[derive(Debug, PartialEq)]
struct Tree {
    files: BTreeMap<String, Vec<u8>>,
    db_mtime: Option<std::time::SystemTime>,
}

fn tree(e: &Env) -> Tree {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = entry.path();
            let rel = p.strip_prefix(root).expect("prefix").display().to_string();
            if p.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(&p, root, out);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(e.dir.path(), e.dir.path(), &mut files);
    Tree {
        files,
        db_mtime: std::fs::metadata(e.db()).and_then(|m| m.modified()).ok(),
    }
}

/// A database at version 2 of `basic` with one backup, in its own directory.
fn at_version_2() -> (Env, String) {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["-no-backup", "up", "2"]).code, 0);
    let t = e.migrate(&["backup"]);
    assert_eq!(t.code, 0, "{t}");
    let backup = std::fs::read_dir(e.dir.path())
        .expect("ls")
        .flatten()
        .map(|d| d.path())
        .find(|p| p.to_string_lossy().contains("db.sqlite.backup-"))
        .expect("a backup");
    (e, backup.display().to_string())
}

/// A small deterministic generator (no time, no randomness between runs).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// One generated run: the options, and whether each stands before or after the command.
struct Case {
    command: Vec<String>,
    before: Vec<String>,
    after: Vec<String>,
    options: Vec<&'static str>,
}

impl Case {
    fn argv(&self) -> Vec<String> {
        let mut v = self.before.clone();
        if let Some((word, rest)) = self.command.split_first() {
            v.push(word.clone());
            // After the command's own arguments would be refused as unread: options that
            // follow the command go right after its word.
            v.extend(self.after.iter().cloned());
            v.extend(rest.iter().cloned());
        }
        v
    }

    fn word(&self) -> &str {
        self.command.first().map_or("", String::as_str)
    }

    fn refused(&self) -> bool {
        let w = self.word();
        let usage = w.is_empty() || w == "upp";
        !usage && self.options.iter().any(|o| !honours(w, o))
    }
}

/// Cases for `command`: no option, each option alone, and a few seeded combinations;
/// `-dry-run` always, each option before or after the command word.
fn cases(command: &[&str], backup: &str, rng: &mut Lcg) -> Vec<Case> {
    let mut sets: Vec<Vec<usize>> = vec![vec![]];
    sets.extend((0..OPTIONS.len()).map(|i| vec![i]));
    for _ in 0..3 {
        let mut s: Vec<usize> = (0..2 + rng.next(2))
            .map(|_| rng.next(OPTIONS.len()))
            .collect();
        s.sort_unstable();
        s.dedup();
        sets.push(s);
    }
    let command: Vec<String> = command
        .iter()
        .map(|a| if *a == "RESTORE" { backup } else { a }.to_string())
        .collect();
    // A database command is an option itself: everything goes before it.
    let can_follow = command
        .first()
        .is_some_and(|w| !w.starts_with('-') && w != "upp");
    sets.into_iter()
        .map(|set| {
            let mut c = Case {
                command: command.clone(),
                before: vec![],
                after: vec![],
                options: vec!["-dry-run"],
            };
            let all = std::iter::once(&["-dry-run"][..]).chain(set.iter().map(|&i| OPTIONS[i]));
            for (k, opt) in all.enumerate() {
                if k > 0 {
                    c.options.push(opt[0]);
                }
                let words = opt.iter().map(|s| s.to_string());
                if can_follow && rng.next(2) == 1 {
                    c.after.extend(words);
                } else {
                    c.before.extend(words);
                }
            }
            c
        })
        .collect()
}

fn run(e: &Env, argv: &[String]) -> Transcript {
    let mut all = vec![
        "-path".to_string(),
        e.path("m").display().to_string(),
        "-database".into(),
        e.url(),
    ];
    all.extend(argv.iter().cloned());
    e.run_with(&all, None)
}

/// The invariant of `-dry-run`: for every command and generated option combinations, a dry
/// run leaves every file as it was (the database's bytes and mtime, its side tables, the
/// directory listing, backups); a command either honours `-dry-run` (a changing command
/// prints what it would do) or refuses it with exit 2; an option the command cannot honour
/// is refused with exit 2.
#[test]
fn dry_run_changes_nothing_for_every_command_and_option() {
    let (e, backup) = at_version_2();
    let mut rng = Lcg(0x5eed);
    let mut runs = 0;
    for command in COMMANDS {
        for case in cases(command, &backup, &mut rng) {
            let before = tree(&e);
            let argv = case.argv();
            let t = run(&e, &argv);
            runs += 1;
            assert_eq!(tree(&e), before, "a dry run changed files: {argv:?}\n{t}");
            // status and -db-status have exit codes 3 to 6 of their own; never a panic.
            assert!((0..=6).contains(&t.code), "{argv:?}\n{t}");
            let w = case.word();
            if case.refused() {
                assert_eq!(t.code, 2, "{argv:?}\n{t}");
                assert!(t.stderr.contains("does not apply to"), "{argv:?}\n{t}");
                continue;
            }
            assert!(!t.stderr.contains("does not apply to"), "{argv:?}\n{t}");
            if matches!(w, "up" | "down" | "goto" | "drop" | "force") {
                assert_eq!(t.code, 0, "{argv:?}\n{t}");
                assert!(
                    t.stdout.starts_with("-- dry run: ") || t.stderr.contains("no change"),
                    "a dry run says what it would do: {argv:?}\n{t}"
                );
            }
        }
    }
    assert!(runs > 300, "{runs} runs");
}

/// A dry run on a database file that does not exist creates nothing, whatever the command.
#[test]
fn dry_run_creates_no_database() {
    let e = Env::with("basic");
    for command in COMMANDS {
        let mut argv = vec!["-dry-run".to_string()];
        argv.extend(command.iter().map(|a| a.replace("RESTORE", "nothing")));
        let before = tree(&e);
        let t = run(&e, &argv);
        assert_eq!(tree(&e), before, "{argv:?}\n{t}");
        assert!(!e.db().exists(), "{argv:?}\n{t}");
    }
}

/// Without `-dry-run`: every option a command cannot honour is refused with exit 2 and
/// changes nothing; before or after the command word alike.
#[test]
fn options_a_command_cannot_honour_are_refused() {
    let (e, backup) = at_version_2();
    let mut refused = 0;
    for command in COMMANDS {
        let Some((word, rest)) = command.split_first() else {
            continue;
        };
        if *word == "upp" {
            continue;
        }
        for opt in OPTIONS {
            if honours(word, opt[0]) {
                continue;
            }
            for after in [false, true] {
                let mut argv: Vec<String> = Vec::new();
                let o = opt.iter().map(|s| s.to_string());
                if after && !word.starts_with('-') {
                    argv.push(word.to_string());
                    argv.extend(o);
                } else {
                    argv.extend(o);
                    argv.push(word.to_string());
                }
                argv.extend(rest.iter().map(|a| a.replace("RESTORE", &backup)));
                let before = tree(&e);
                let t = run(&e, &argv);
                assert_eq!(t.code, 2, "{argv:?}\n{t}");
                assert_eq!(
                    t.stderr,
                    format!("error: option {} does not apply to {word}\n", opt[0]),
                    "{argv:?}"
                );
                assert_eq!(tree(&e), before, "{argv:?}\n{t}");
                refused += 1;
            }
        }
    }
    assert!(refused > 100, "{refused}");
}

/// migrate's own options mean the same after `up`, `down` and `goto` (anywhere among
/// their arguments) as before the command: same output, same exit code, same database.
#[test]
fn own_options_after_the_command_mean_the_same() {
    for command in [&["up"][..], &["down", "1"], &["goto", "1"]] {
        for opt in OPTIONS {
            let mut before = opt.to_vec();
            before.extend_from_slice(command);
            let mut after = command.to_vec();
            after.extend_from_slice(opt);
            let mut between = vec![command[0]];
            between.extend_from_slice(opt);
            between.extend_from_slice(&command[1..]);
            let mut seen = Vec::new();
            for argv in [before, after, between] {
                let e = Env::with("basic");
                assert_eq!(e.migrate(&["-no-backup", "up", "2"]).code, 0);
                let t = e.migrate(&argv);
                let backups = std::fs::read_dir(e.dir.path())
                    .expect("ls")
                    .flatten()
                    .chain(
                        std::fs::read_dir(e.path("bk"))
                            .into_iter()
                            .flatten()
                            .flatten(),
                    )
                    .filter(|d| d.file_name().to_string_lossy().contains(".backup-"))
                    .count();
                let state = (e.rows(), e.tables(), e.count("users"));
                seen.push((argv.join(" "), t.to_string(), format!("{state:?}"), backups));
            }
            for s in &seen[1..] {
                assert_eq!(
                    (&s.1, &s.2, s.3),
                    (&seen[0].1, &seen[0].2, seen[0].3),
                    "{} vs {}",
                    s.0,
                    seen[0].0
                );
            }
        }
    }
}

#[test]
fn dry_run_drop_and_force() {
    let (e, _) = at_version_2();
    assert_snapshot!("dry_run_drop", e.migrate(&["-dry-run", "drop"]).to_string());
    assert_snapshot!(
        "dry_run_force",
        e.migrate(&["force", "3", "-dry-run"]).to_string()
    );
    assert_snapshot!(
        "dry_run_force_nil",
        e.migrate(&["-dry-run", "force", "--", "-1"]).to_string()
    );
    assert_snapshot!(
        "dry_run_refused_by_restore",
        e.migrate(&["-dry-run", "restore", "x"]).to_string()
    );
    assert_eq!(e.rows(), vec![(2, false)]);
    assert_eq!(e.tables(), vec!["users".to_string()]);
}

/// `-dry-run drop -f` on PostgreSQL and MariaDB leaves every table.
#[test]
fn dry_run_drop_on_servers() {
    use crate::common::{fresh, Server};
    for server in [Server::Postgres, Server::Mysql] {
        let Some(db) = fresh(server) else {
            continue;
        };
        let e = Env::with("basic");
        let args = |extra: &[&str]| {
            let mut v = vec![
                "-path".to_string(),
                e.path("m").display().to_string(),
                "-database".into(),
                db.url.clone(),
            ];
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let t = e.run_with(&args(&["up"]), None);
        assert_eq!(t.code, 0, "{t}");
        let t = e.run_with(&args(&["-dry-run", "drop", "-f"]), None);
        assert_eq!(t.code, 0, "{t}");
        assert!(
            t.stdout
                .starts_with("-- dry run: drop would remove 6 object(s)"),
            "{}: {t}",
            server.label()
        );
        let tables = [
            "users",
            "posts",
            "schema_migrations",
            "schema_migrations_checksums",
            "schema_migrations_downs",
            "schema_migrations_journal",
        ];
        for table in tables {
            assert!(t.stdout.contains(&format!("-- table {table}\n")), "{t}");
        }
        let mut d = db.driver();
        for table in tables {
            assert!(
                d.table_exists(table).expect("query"),
                "{}: {table}",
                server.label()
            );
        }
        assert_eq!(
            d.version().expect("version"),
            migrate::DbVersion::Clean(3),
            "{}",
            server.label()
        );
    }
}

#[test]
fn unknown_command_names_the_closest() {
    let e = Env::with("basic");
    assert_snapshot!("unknown_command_upp", e.migrate(&["upp"]).to_string());
    // Generated typos: one letter dropped, doubled or changed in every command word
    // suggests a command one edit away.
    let words = [
        "create", "goto", "up", "down", "drop", "force", "version", "status", "history",
        "validate", "repair", "recover", "backup", "backups", "restore", "rehearse",
    ];
    for w in words {
        let chars: Vec<char> = w.chars().collect();
        for i in 0..chars.len() {
            let mut dropped = chars.clone();
            dropped.remove(i);
            let mut doubled = chars.clone();
            doubled.insert(i, chars[i]);
            let mut changed = chars.clone();
            changed[i] = if chars[i] == 'x' { 'y' } else { 'x' };
            for typo in [dropped, doubled, changed] {
                let typo: String = typo.into_iter().collect();
                if typo.is_empty() || words.contains(&typo.as_str()) {
                    continue;
                }
                let t = e.run(&[&typo]);
                assert_eq!(t.code, 2, "{t}");
                let first = t.stderr.lines().next().unwrap_or("");
                let suggested = first
                    .strip_prefix(&format!("error: unknown command \"{typo}\"; did you mean "))
                    .and_then(|s| s.strip_suffix('?'))
                    .unwrap_or_else(|| panic!("{typo}: {first}"));
                assert!(words.contains(&suggested), "{typo}: {first}");
                assert!(t.stderr.contains("\nUsage: migrate OPTIONS COMMAND"), "{t}");
            }
        }
    }
    // A word far from every command gets no suggestion.
    let t = e.run(&["frobnicate"]);
    assert_eq!(
        t.stderr.lines().next(),
        Some("error: unknown command \"frobnicate\"")
    );
}

#[test]
fn options_after_the_arguments_are_refused() {
    let e = Env::with("basic");
    assert_snapshot!(
        "version_format_refused",
        e.migrate(&["version", "-format", "json"]).to_string()
    );
    assert_snapshot!(
        "create_option_after_name_refused",
        e.run(&["create", "-ext", "sql", "x", "-seq"]).to_string()
    );
    assert_snapshot!(
        "force_global_option_after_argument",
        e.migrate(&["force", "1", "-verbose"]).to_string()
    );
    assert_snapshot!(
        "status_global_option_after_command",
        e.migrate(&["status", "-path", "m"]).to_string()
    );
    for args in [
        &["restore", "b.db", "-foreign"][..],
        &["backup", "x", "-dir", "d"][..],
        &["backups", "x", "-verbose"][..],
    ] {
        let t = e.migrate(args);
        assert_eq!(t.code, 2, "{args:?}: {t}");
        assert!(
            t.stderr.contains("after the arguments is not read"),
            "{args:?}: {t}"
        );
    }
    assert!(!e.db().exists(), "nothing was opened");
    assert!(!e.path("x").exists());
    assert_eq!(
        std::fs::read_dir(e.dir.path()).expect("ls").count(),
        1,
        "no file was created"
    );
}

#[test]
fn database_command_with_a_command_word_is_refused() {
    let e = Env::with("basic");
    assert_snapshot!(
        "migrate_db_with_up",
        e.migrate(&["-migrate-db", "up"]).to_string()
    );
    assert!(!e.db().exists());
}

/// golang-migrate's usage text is printed unchanged by every path that prints it, and the
/// section after it lists migrate's own commands and options, each accepted by the parser.
#[test]
fn usage_is_golang_migrates_then_migrates_own() {
    let e = Env::new();
    let help = e.run(&["-help"]);
    assert_eq!(help.code, 0);
    let (gm, own) = help
        .stderr
        .split_once("\n\nmigrate's own commands:\n")
        .expect("own section");
    let gm = format!("{gm}\n");
    assert!(gm.starts_with("Usage: migrate OPTIONS COMMAND [arg...]\n"));
    assert!(gm.ends_with(
        "Database drivers: sqlite3, sqlite, postgres, postgresql, pgx, pgx4, pgx5, mysql\n"
    ));
    for argv in [
        &["-h"][..],
        &[],
        &["nope"],
        &["-nope"],
        &["-prefetch", "x", "up"],
    ] {
        let t = e.run(argv);
        assert_eq!(t.code, if argv == ["-h"] { 0 } else { 2 }, "{argv:?}");
        assert!(t.stderr.contains(&gm), "{argv:?}\n{t}");
        assert!(t.stderr.ends_with(own), "{argv:?}\n{t}");
    }
    let mut options = 0;
    for line in own.lines() {
        let Some(rest) = line.strip_prefix("  -") else {
            continue;
        };
        let Some(name) = rest
            .split_whitespace()
            .next()
            .filter(|_| !rest.contains(" | "))
        else {
            continue;
        };
        let value = match name {
            "backup-dir" => Some("d"),
            "backup-keep" => Some("1"),
            "backup-max-size" => Some("1GB"),
            "integrity-check" => Some("full"),
            _ => None,
        };
        let mut argv = vec![format!("-{name}")];
        argv.extend(value.map(String::from));
        argv.push("nope".into());
        let t = e.run_with(&argv, None);
        assert_eq!(t.code, 2, "{argv:?}");
        assert!(
            t.stderr.starts_with("error: unknown command \"nope\""),
            "{argv:?}\n{t}"
        );
        options += 1;
    }
    assert_eq!(options, 12, "{own}");
    for command in [
        "status", "history", "validate", "repair", "recover", "backup", "backups", "restore",
        "rehearse",
    ] {
        assert!(
            format!("\n{own}").contains(&format!("\n  {command}")),
            "{command}"
        );
        let t = e.run(&[command, "-help"]);
        assert_eq!(t.code, 0, "{command}: {t}");
    }
}
