//! Generated runs on SQLite: commands, options and migration files that set PRAGMAs,
//! ATTACH other files, create TEMP objects named like migrate's tables, edit the schema
//! through `writable_schema` and rebuild a parent table under `ON DELETE CASCADE`. After
//! every run, whatever it did, the invariants below hold:
//!
//! - no row is lost that the migrations did not delete (none of them deletes one);
//! - a new connection opens the database and `PRAGMA integrity_check` is `ok`, or the run
//!   failed (exit 1) and `restore` of its automatic backup brings the rows back;
//! - the version is dirty only after a failed run with `x-no-tx-wrap=true`; a run that
//!   exits 0 ends at the version it was asked for, as the real version table records it;
//! - `rehearse` changes no byte of the database nor of any other file;
//! - nothing is left behind: no `.partial`, temporary restore copy, hot journal or
//!   rehearsal directory.
//!
//! `GEN_CASES` (default 40) cases from `GEN_SEED` (printed). `MIGRATE_BIN` runs another
//! build of the binary (e.g. an older release, to see which cases it fails).
//! The four tests after the generator go through every combination of the options for one
//! class each (docs/reliability.md, "Generated runs").

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rusqlite::{Connection, OpenFlags};

use crate::harness::Env;
use crate::Rng;

/// One piece of a generated migration file.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Frag {
    FkOn,
    FkOff,
    /// SQLite's table-rebuild procedure on the parent of `ON DELETE CASCADE`.
    RebuildParent,
    /// A TEMP table named like the version table.
    TempShadow,
    /// TEMP tables named like both side tables (journal and checksums).
    TempShadowSide,
    /// ATTACH `other.db` and write into it.
    Attach,
    /// The same, the file name given by an expression (the authorizer sees no name).
    AttachExpr,
    /// ATTACH the database itself by its path and write into it (rehearse cases only: a
    /// real run would wait on its own lock).
    AttachReal,
    /// `writable_schema` edit that leaves `sqlite_master` unparseable.
    BreakSchema,
    /// `writable_schema` on and off, nothing edited.
    WritableNoop,
    AddRow,
    /// A child row whose parent does not exist.
    Orphan,
    Fail,
}

const FRAGS: &[(Frag, u64)] = &[
    (Frag::FkOn, 4),
    (Frag::FkOff, 1),
    (Frag::RebuildParent, 5),
    (Frag::TempShadow, 2),
    (Frag::TempShadowSide, 1),
    (Frag::Attach, 2),
    (Frag::AttachExpr, 1),
    (Frag::BreakSchema, 1),
    (Frag::WritableNoop, 1),
    (Frag::AddRow, 3),
    (Frag::Orphan, 1),
    (Frag::Fail, 1),
];

fn sql(f: Frag, v: u64, dir: &str) -> String {
    match f {
        Frag::FkOn => "PRAGMA foreign_keys = ON;\n".into(),
        Frag::FkOff => "PRAGMA foreign_keys = OFF;\n".into(),
        Frag::RebuildParent => format!(
            "CREATE TABLE parent_new_{v}_{dir} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
             INSERT INTO parent_new_{v}_{dir} SELECT id, name FROM parent;\n\
             DROP TABLE parent;\n\
             ALTER TABLE parent_new_{v}_{dir} RENAME TO parent;\n"
        ),
        Frag::TempShadow => {
            "CREATE TEMP TABLE IF NOT EXISTS schema_migrations (version uint64, dirty bool);\n\
             INSERT INTO temp.schema_migrations VALUES (1, 0);\n"
                .into()
        }
        Frag::TempShadowSide => "CREATE TEMP TABLE IF NOT EXISTS schema_migrations_journal (x);\n\
             CREATE TEMP TABLE IF NOT EXISTS schema_migrations_checksums (y);\n"
            .into(),
        Frag::Attach => format!(
            "ATTACH DATABASE 'other.db' AS o{v}{dir};\n\
             CREATE TABLE IF NOT EXISTS o{v}{dir}.t (x);\n\
             INSERT INTO o{v}{dir}.t VALUES ({v});\n"
        ),
        Frag::AttachExpr => format!(
            "ATTACH DATABASE ('oth' || 'er.db') AS e{v}{dir};\n\
             CREATE TABLE IF NOT EXISTS e{v}{dir}.t2 (x);\n"
        ),
        Frag::AttachReal => format!(
            "ATTACH DATABASE 'db.sqlite' AS r{v}{dir};\n\
             INSERT INTO r{v}{dir}.keep (v) VALUES ('through attach');\n"
        ),
        Frag::BreakSchema => "PRAGMA writable_schema = ON;\n\
             UPDATE sqlite_master SET sql = 'CREATE TABLE keep (' WHERE name = 'keep';\n\
             PRAGMA writable_schema = OFF;\n"
            .into(),
        Frag::WritableNoop => {
            "PRAGMA writable_schema = ON;\nPRAGMA writable_schema = OFF;\n".into()
        }
        Frag::AddRow => format!("INSERT INTO keep (v) VALUES ('{v}{dir}');\n"),
        Frag::Orphan => "INSERT INTO child (parent_id, note) VALUES (999, 'orphan');\n".into(),
        Frag::Fail => format!("SELECT * FROM no_such_table_{v};\n"),
    }
}

const BASE_UP: &str = "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE, note TEXT);
CREATE TABLE keep (id INTEGER PRIMARY KEY, v TEXT);
";
const BASE_DOWN: &str = "DROP TABLE child;\nDROP TABLE parent;\nDROP TABLE keep;\n";

/// What one case runs.
#[derive(Debug, Clone)]
struct Case {
    /// Per generated version (2, 3, ...): the up and the down file's pieces.
    files: Vec<(Vec<Frag>, Vec<Frag>)>,
    params: Vec<&'static str>,
    flags: Vec<&'static str>,
    command: Cmd,
    /// The run must exit 0 (a case whose files and options are all valid).
    must_succeed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmd {
    Up,
    Rehearse,
    Goto(u64),
    /// `up`, then `down 1` (the `down` is the run checked).
    UpThenDown,
}

impl Case {
    fn last(&self) -> u64 {
        1 + self.files.len() as u64
    }
    fn no_tx(&self) -> bool {
        self.params.contains(&"x-no-tx-wrap=true")
    }
    fn has(&self, f: Frag) -> bool {
        self.files
            .iter()
            .any(|(u, d)| u.contains(&f) || d.contains(&f))
    }
    fn describe(&self) -> String {
        let mut s = format!(
            "params {:?} flags {:?} command {:?}\n",
            self.params, self.flags, self.command
        );
        for (i, (u, d)) in self.files.iter().enumerate() {
            let _ = writeln!(s, "  {}: up {u:?} down {d:?}", i + 2);
        }
        s
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[(T, u64)]) -> T {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut n = rng.below(total);
    for (t, w) in items {
        if n < *w {
            return *t;
        }
        n -= w;
    }
    items[0].0
}

fn chance(rng: &mut Rng, percent: u64) -> bool {
    rng.below(100) < percent
}

fn generate(rng: &mut Rng) -> Case {
    let n = 1 + rng.below(4) as usize;
    let frags = |rng: &mut Rng, max: u64| -> Vec<Frag> {
        (0..rng.below(max + 1)).map(|_| pick(rng, FRAGS)).collect()
    };
    let files = (0..n)
        .map(|_| {
            let mut up = frags(rng, 3);
            if up.is_empty() {
                up.push(Frag::AddRow);
            }
            (up, frags(rng, 2))
        })
        .collect();
    let mut params = Vec::new();
    for (p, pc) in [
        ("_foreign_keys=1", 50),
        ("x-no-tx-wrap=true", 35),
        ("_journal_mode=WAL", 25),
    ] {
        if chance(rng, pc) {
            params.push(p);
        }
    }
    let mut flags = Vec::new();
    for (f, pc) in [
        ("-single-transaction", 20),
        ("-restore-on-failure", 40),
        ("-no-backup", 15),
    ] {
        if chance(rng, pc) {
            flags.push(f);
        }
    }
    if chance(rng, 30) {
        flags.extend(["-integrity-check", "full"]);
    }
    let last = 1 + n as u64;
    let command = match rng.below(100) {
        0..=44 => Cmd::Up,
        45..=64 => Cmd::Rehearse,
        65..=79 => Cmd::Goto(2 + rng.below(last - 1)),
        _ => Cmd::UpThenDown,
    };
    Case {
        files,
        params,
        flags,
        command,
        must_succeed: false,
    }
}

struct Run {
    code: i32,
    out: String,
}

fn binary() -> PathBuf {
    std::env::var_os("MIGRATE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_migrate")))
}

fn run(e: &Env, url: &str, flags: &[&str], args: &[&str]) -> Run {
    let tmp = e.path("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut c = Command::new(binary());
    c.current_dir(e.dir.path())
        .env_remove("DATABASE_URL")
        .env("TMPDIR", &tmp)
        .args(["-path", "m", "-database", url])
        .args(flags)
        .args(args)
        .stdin(Stdio::null());
    let o = c.output().expect("spawn migrate");
    Run {
        code: o.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// The user's rows (ids per table) as a new connection reads them, or why it cannot.
#[derive(Debug, Clone, PartialEq)]
struct State {
    rows: BTreeSet<(String, i64)>,
    /// `(version, dirty)` of the real (main) version table.
    version: Option<(i64, bool)>,
    fk_violations: usize,
}

fn read_state(db: &Path) -> Result<State, String> {
    // Read-write (not created): a read-only connection would leave a WAL database's
    // `-wal` and `-shm` behind when it closes.
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| e.to_string())?;
    let check: Vec<String> = c
        .prepare("PRAGMA main.integrity_check")
        .and_then(|mut st| {
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| e.to_string())?;
    if check != ["ok"] {
        return Err(check.join("; "));
    }
    let mut rows = BTreeSet::new();
    for t in ["parent", "child", "keep"] {
        let mut st = c
            .prepare(&format!("SELECT id FROM main.{t}"))
            .map_err(|e| e.to_string())?;
        for id in st
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(|e| e.to_string())?
        {
            rows.insert((t.to_string(), id.map_err(|e| e.to_string())?));
        }
    }
    let version = c
        .query_row(
            "SELECT version, dirty FROM main.schema_migrations LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let fk_violations = c
        .prepare("PRAGMA main.foreign_key_check")
        .and_then(|mut st| Ok(st.query_map([], |_| Ok(()))?.count()))
        .map_err(|e| e.to_string())?;
    Ok(State {
        rows,
        version,
        fk_violations,
    })
}

fn bytes(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

/// Files in the case's directory that should not be there after a run.
fn left_behind(e: &Env) -> Vec<String> {
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(e.dir.path()).expect("ls").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ok = matches!(
            name.as_str(),
            "m" | "tmp" | "db.sqlite" | "db.sqlite.migrate.lock" | "other.db"
        ) || name.starts_with("db.sqlite.backup-") && !name.ends_with(".partial")
            || name.starts_with("db.sqlite.unopenable-");
        if !ok {
            bad.push(name);
        }
    }
    if let Ok(rd) = std::fs::read_dir(e.path("tmp")) {
        bad.extend(
            rd.flatten()
                .map(|x| format!("tmp/{}", x.file_name().to_string_lossy())),
        );
    }
    bad
}

fn newest_backup(e: &Env) -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(e.dir.path())
        .ok()?
        .flatten()
        .map(|x| x.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("db.sqlite.backup-"))
        })
        .collect();
    v.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    v.pop()
}

/// Sets up the case's directory: the base migration applied, rows in every table, the
/// generated files written.
fn prepare(case: &Case) -> (Env, String) {
    let e = Env::new();
    e.write("m/1_base.up.sql", BASE_UP);
    e.write("m/1_base.down.sql", BASE_DOWN);
    let url = format!("sqlite3://{}", e.db().display());
    let r = run(&e, &url, &[], &["up"]);
    assert_eq!(r.code, 0, "base: {}", r.out);
    e.conn()
        .execute_batch(
            "INSERT INTO parent (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c');
             INSERT INTO child (parent_id, note) VALUES (1, 'x'), (1, 'y'), (2, 'z'), (3, 'w');
             INSERT INTO keep (v) VALUES ('k1'), ('k2');",
        )
        .expect("rows");
    for (i, (up, down)) in case.files.iter().enumerate() {
        let v = i as u64 + 2;
        let body = |fs: &[Frag], dir: &str| fs.iter().map(|f| sql(*f, v, dir)).collect::<String>();
        e.write(&format!("m/{v}_gen.up.sql"), &body(up, "u"));
        e.write(&format!("m/{v}_gen.down.sql"), &body(down, "d"));
    }
    let mut url = url;
    if !case.params.is_empty() {
        url.push('?');
        url.push_str(&case.params.join("&"));
    }
    (e, url)
}

/// The case's options for its command: `rehearse` refuses the options it cannot honour
/// (it backs nothing up and runs each step in its own transaction on a copy), so its
/// cases leave them out.
fn flags_for(case: &Case) -> Vec<&'static str> {
    match case.command {
        Cmd::Rehearse => case
            .flags
            .iter()
            .copied()
            .filter(|f| {
                !matches!(
                    *f,
                    "-restore-on-failure" | "-no-backup" | "-single-transaction"
                )
            })
            .collect(),
        _ => case.flags.clone(),
    }
}

/// The invariants on a readable database after a run that exited `code`: no row lost, not
/// dirty unless a file outside a transaction failed, and after exit 0 the version `want`
/// (else the one before) with no new foreign key violation.
fn judge(case: &Case, before: &State, s: &State, code: i32, want: Option<i64>) -> Vec<String> {
    let mut bad = Vec::new();
    let lost: Vec<_> = before.rows.difference(&s.rows).collect();
    if !lost.is_empty() {
        bad.push(format!("rows lost: {lost:?}"));
    }
    if let Some((v, true)) = s.version {
        if !(case.no_tx() && code != 0) {
            bad.push(format!("dirty at {v} after exit {code}"));
        }
    }
    if code == 0 {
        let v = s.version.map(|(v, _)| v);
        let expected = want.or(before.version.map(|(v, _)| v));
        if v != expected {
            bad.push(format!("exit 0 but version {v:?}, expected {expected:?}"));
        }
        if s.fk_violations > before.fk_violations {
            bad.push(format!(
                "exit 0 with {} new foreign key violation(s)",
                s.fk_violations - before.fk_violations
            ));
        }
    }
    bad
}

/// Runs one case and returns the broken invariants (empty = all held).
fn check_case(case: &Case) -> Vec<String> {
    let (e, url) = prepare(case);
    let flags = flags_for(case);
    let mut bad = Vec::new();
    let mut before = read_state(&e.db()).expect("state before");
    let mut bytes_before = bytes(&e.db());
    let (args, want): (Vec<String>, Option<i64>) = match case.command {
        Cmd::Up => (vec!["up".into()], Some(case.last() as i64)),
        Cmd::Rehearse => (vec!["rehearse".into()], None),
        Cmd::Goto(v) => (vec!["goto".into(), v.to_string()], Some(v as i64)),
        Cmd::UpThenDown => {
            let r = run(&e, &url, &flags, &["up"]);
            if r.code != 0 {
                return bad; // the `up` is an ordinary generated run; the `down` is checked
            }
            let after_up = match read_state(&e.db()) {
                Ok(s) => s,
                Err(err) => return vec![format!("up exited 0 but left {err}")],
            };
            let lost: Vec<_> = before.rows.difference(&after_up.rows).collect();
            if !lost.is_empty() {
                return vec![format!("up exited 0 but lost rows: {lost:?}")];
            }
            before = after_up;
            bytes_before = bytes(&e.db());
            (
                vec!["down".into(), "1".into()],
                Some(case.last() as i64 - 1),
            )
        }
    };
    let other_before = bytes(&e.path("other.db"));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&e, &url, &flags, &a);
    if !matches!((r.code, case.must_succeed), (0, _) | (1, false)) {
        bad.push(format!("exit {}", r.code));
    }
    let mut after = read_state(&e.db());
    if case.command == Cmd::Rehearse {
        if bytes(&e.db()) != bytes_before {
            bad.push("rehearse changed the database file".into());
        }
        if bytes(&e.path("other.db")) != other_before {
            bad.push("rehearse changed other.db".into());
        }
    }
    if let Err(err) = &after {
        // Only a failed run may leave a database a new connection cannot read, and only
        // when it had no backup to restore by itself.
        if r.code == 0 {
            bad.push(format!("exit 0 but a new connection reads: {err}"));
        }
        if !case.has(Frag::BreakSchema) {
            bad.push(format!("unreadable without a schema edit: {err}"));
        }
        let backup = newest_backup(&e);
        if flags.contains(&"-restore-on-failure") && backup.is_some() {
            bad.push(format!(
                "-restore-on-failure left an unreadable database: {err}"
            ));
        }
        if let Some(b) = backup {
            let b = b.display().to_string();
            let rr = run(&e, &url, &[], &["restore", &b]);
            if rr.code != 0 {
                bad.push(format!("restore of {b} failed: {}", rr.out));
            }
            after = read_state(&e.db());
        } else if flags.contains(&"-no-backup") {
            // Documented: without a backup a migration that breaks the schema is not undone.
            return bad;
        }
    }
    match &after {
        Err(err) => bad.push(format!("unreadable after the run (and restore): {err}")),
        Ok(s) => bad.extend(judge(case, &before, s, r.code, want)),
    }
    let left = left_behind(&e);
    if !left.is_empty() {
        bad.push(format!("left behind: {left:?}"));
    }
    if !bad.is_empty() {
        bad.push(format!("output:\n{}", r.out));
    }
    bad
}

#[test]
fn generated_runs_keep_every_invariant() {
    let mut rng = Rng::from_env("GEN_SEED");
    let n = crate::env_usize("GEN_CASES", 40);
    let mut failures = Vec::new();
    let mut by_command = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..n {
        let case = generate(&mut rng);
        let kind = format!("{:?}", case.command)
            .split('(')
            .next()
            .unwrap_or("")
            .to_string();
        *by_command.entry(kind).or_default() += 1;
        let bad = check_case(&case);
        if !bad.is_empty() {
            failures.push(format!("case {i}: {}{}", case.describe(), bad.join("\n")));
        }
    }
    eprintln!(
        "generated runs: {n} cases {by_command:?}, {} broke an invariant",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every combination of a case's options over fixed files.
fn combos(files: Vec<(Vec<Frag>, Vec<Frag>)>, command: Cmd) -> Vec<Case> {
    let mut out = Vec::new();
    for fk in [false, true] {
        for no_tx in [false, true] {
            for single in [false, true] {
                for restore in [false, true] {
                    let mut params = Vec::new();
                    if fk {
                        params.push("_foreign_keys=1");
                    }
                    if no_tx {
                        params.push("x-no-tx-wrap=true");
                    }
                    let mut flags = Vec::new();
                    if single {
                        flags.push("-single-transaction");
                    }
                    if restore {
                        flags.push("-restore-on-failure");
                    }
                    out.push(Case {
                        files: files.clone(),
                        params,
                        flags,
                        command,
                        must_succeed: false,
                    });
                }
            }
        }
    }
    out
}

fn all_hold(cases: Vec<Case>) {
    let n = cases.len();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let bad = check_case(c);
            (!bad.is_empty()).then(|| format!("{}{}", c.describe(), bad.join("\n")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {n} combinations:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Class 2: a parent-table rebuild never cascades, whether foreign keys are on from the
/// URL or from an earlier file, in a transaction or not.
#[test]
fn generated_rebuild_of_a_parent_never_cascades() {
    let mut cases = combos(
        vec![(vec![Frag::RebuildParent], vec![Frag::RebuildParent])],
        Cmd::UpThenDown,
    );
    cases.extend(combos(
        vec![
            (vec![Frag::FkOn], vec![]),
            (vec![Frag::RebuildParent], vec![]),
        ],
        Cmd::Up,
    ));
    cases.extend(combos(
        vec![(vec![Frag::FkOn, Frag::RebuildParent], vec![])],
        Cmd::Up,
    ));
    all_hold(cases);
}

/// Class 8: TEMP tables named like migrate's own cannot hide them: every run succeeds
/// (except `-single-transaction` with `x-no-tx-wrap=true`, refused) and ends at its target.
#[test]
fn generated_temp_tables_cannot_hide_the_bookkeeping() {
    let mut cases = Vec::new();
    for t in [
        vec![Frag::TempShadow],
        vec![Frag::TempShadowSide],
        vec![Frag::TempShadow, Frag::TempShadowSide],
    ] {
        cases.extend(combos(
            vec![(t.clone(), t.clone()), (vec![Frag::AddRow], vec![])],
            Cmd::Up,
        ));
        cases.extend(combos(
            vec![(t.clone(), vec![]), (vec![Frag::AddRow], t.clone())],
            Cmd::UpThenDown,
        ));
    }
    for c in &mut cases {
        c.must_succeed = !(c.no_tx() && c.flags.contains(&"-single-transaction"));
    }
    all_hold(cases);
}

/// Class 4: a schema the next connection cannot read fails the run, and the backup
/// brings the database back (by itself with `-restore-on-failure`).
#[test]
fn generated_broken_schema_never_passes_the_check() {
    let mut cases = combos(vec![(vec![Frag::BreakSchema], vec![])], Cmd::Up);
    for c in &mut cases {
        c.flags.extend(["-integrity-check", "full"]);
    }
    cases.extend(combos(
        vec![
            (vec![Frag::AddRow], vec![]),
            (vec![Frag::BreakSchema, Frag::AddRow], vec![]),
        ],
        Cmd::Up,
    ));
    // A later file fails (its rebuild re-reads the broken schema): the run exits 1, and
    // the broken schema an earlier file committed must still be caught and undone.
    for later in [Frag::RebuildParent, Frag::Fail] {
        cases.extend(combos(
            vec![(vec![Frag::BreakSchema], vec![]), (vec![later], vec![])],
            Cmd::Up,
        ));
    }
    all_hold(cases);
}

/// Class 7: `rehearse` writes nothing outside its copy, however a file ATTACHes.
#[test]
fn generated_rehearse_touches_nothing_outside_its_copy() {
    let mut cases = Vec::new();
    for f in [Frag::Attach, Frag::AttachExpr, Frag::AttachReal] {
        cases.extend(combos(vec![(vec![f], vec![])], Cmd::Rehearse));
        cases.extend(combos(
            vec![(vec![Frag::AddRow], vec![]), (vec![f], vec![])],
            Cmd::Rehearse,
        ));
    }
    // `rehearse` has no -single-transaction.
    cases.retain(|c| !c.flags.contains(&"-single-transaction"));
    all_hold(cases);
}
