//! Two tools taking turns on one database: golang-migrate (played exactly by [`World::gm`]
//! following golang-migrate's protocol: dirty row, body, clean row; it writes only
//! `schema_migrations`, never the side tables), people (`UPDATE schema_migrations`,
//! restoring an older backup) and `migrate` (the real binary, and the library). Before it
//! judges anything, `migrate` reconciles its side tables with `schema_migrations`
//! (docs/journal.md, "Reconciliation"); every place that judges must agree.
//!
//! On SQLite, PostgreSQL and MariaDB: both repros of the reconciliation issue, a table of
//! mixed sequences, and generated sequences checked against a model of the rules.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{fresh, Server, TestDb};
use migrate::driver::Driver;
use migrate::gate::{self, GateStatus, Policy};
use migrate::report::State;
use migrate::{DbVersion, Error, Migrator, Source, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// A migrations directory and a database, played on by both tools.
struct World {
    kind: Kind,
    dir: tempfile::TempDir,
    server: Option<TestDb>,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The up file's body for a version and an edit generation: re-running it on a database
/// that has it fails (`t<v>` exists), so a tool that runs a file twice is caught.
fn up_body(v: u64, gen: u32) -> String {
    format!("CREATE TABLE t{v} (id INTEGER, g{gen} INTEGER)")
}

impl World {
    fn new(kind: Kind) -> Option<World> {
        let server = match kind {
            Kind::Sqlite => None,
            Kind::Postgres => Some(fresh(Server::Postgres)?),
            Kind::Mysql => Some(fresh(Server::Mysql)?),
        };
        // Thousands of commits per test: on tmpfs they do not wait for the disk.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("m")).expect("mkdir");
        Some(World { kind, dir, server })
    }

    fn url(&self) -> String {
        match &self.server {
            Some(db) => db.url.clone(),
            None => format!("sqlite3://{}", self.db_file().display()),
        }
    }

    fn db_file(&self) -> PathBuf {
        self.dir.path().join("db.sqlite")
    }

    fn m_dir(&self) -> PathBuf {
        self.dir.path().join("m")
    }

    /// Writes version `v`'s up and down files (`gen` > 0: an edited up file).
    fn file(&self, v: u64, gen: u32) {
        let m = self.m_dir();
        std::fs::write(
            m.join(format!("{v:03}_t{v}.up.sql")),
            up_body(v, gen) + ";\n",
        )
        .expect("write");
        std::fs::write(
            m.join(format!("{v:03}_t{v}.down.sql")),
            format!("DROP TABLE t{v};\n"),
        )
        .expect("write");
    }

    fn source(&self) -> Source {
        Source::from_dir(&self.m_dir()).expect("source")
    }

    /// The real `migrate` binary with `-path` and `-database`.
    fn run(&self, args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
            .current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
            .arg("-path")
            .arg(self.m_dir())
            .arg("-database")
            .arg(self.url())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run migrate");
        let filter = |s: &[u8]| {
            let mut s =
                String::from_utf8_lossy(s).replace(&self.dir.path().display().to_string(), "[TMP]");
            if let Some(db) = &self.server {
                s = s.replace(&db.name, "[DB]");
            }
            let dur = regex::Regex::new(r"\b\d+(\.\d+)?(ns|µs|ms|s|m|h)([0-9.]+(ms|s|m))*\b")
                .expect("regex");
            let s = dur.replace_all(&s, "[DUR]").into_owned();
            let ts = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").expect("regex");
            let s = ts.replace_all(&s, "[TIME]").into_owned();
            let backup = regex::Regex::new(r"\d{8}T\d{6}Z").expect("regex");
            let s = backup.replace_all(&s, "[BACKUP-TIME]").into_owned();
            let pad = regex::Regex::new(r"  +").expect("regex");
            pad.replace_all(&s, "  ").into_owned()
        };
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: filter(&out.stdout),
            stderr: filter(&out.stderr),
        }
    }

    fn driver(&self) -> Box<dyn Driver> {
        migrate::driver::open(&migrate::url::DatabaseUrl::parse(&self.url()).expect("url"))
            .expect("open database")
    }

    fn migrator(&self) -> Migrator {
        Migrator::open(self.source(), &self.url()).expect("open migrator")
    }

    fn version(&self) -> DbVersion {
        self.driver().version().expect("version")
    }

    /// The versions whose table `t<v>` exists (what the schema really has).
    fn tables(&self, candidates: impl IntoIterator<Item = u64>) -> BTreeSet<u64> {
        let mut d = self.driver();
        candidates
            .into_iter()
            .filter(|v| d.table_exists(&format!("t{v}")).expect("table_exists"))
            .collect()
    }

    /// Versions with rows in migrate's checksums table.
    fn recorded(&self) -> BTreeSet<u64> {
        let mut d = self.driver();
        migrate::journal::recorded(d.as_mut())
            .expect("recorded")
            .into_keys()
            .collect()
    }

    /// `(operation, from, to)` of the journal, oldest first.
    fn journal(&self) -> Vec<(String, Option<u64>, Option<u64>)> {
        let mut d = self.driver();
        let mut j: Vec<_> = migrate::journal::entries(d.as_mut(), 0)
            .expect("journal")
            .into_iter()
            .map(|e| (e.operation, e.version_from, e.version_to))
            .collect();
        j.reverse();
        j
    }

    /// Everything a judging command must leave as it was: the version, the schema's
    /// tables, the side tables' rows.
    fn state(&self) -> String {
        let mut d = self.driver();
        let mut s = format!("{:?}\n", d.version().expect("version"));
        for t in ["schema_migrations_checksums", "schema_migrations_journal"] {
            if d.table_exists(t).expect("exists") {
                let q = d.quote_ident(t);
                for r in d.query(&format!("SELECT * FROM {q}"), &[]).expect("rows") {
                    s.push_str(&format!("{r:?}\n"));
                }
            } else {
                s.push_str(&format!("no {t}\n"));
            }
        }
        s.push_str(&format!("{:?}", self.tables(0..100)));
        s
    }

    // --- golang-migrate, following its file naming and its migration protocol ---

    fn gm_versions(&self) -> Vec<u64> {
        let re = regex::Regex::new(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$").expect("regex");
        let mut v: Vec<u64> = std::fs::read_dir(self.m_dir())
            .expect("read dir")
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                re.captures(&name)?.get(1)?.as_str().parse().ok()
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn gm_body(&self, v: u64, up: bool) -> String {
        let suffix = if up { "up" } else { "down" };
        std::fs::read_to_string(self.m_dir().join(format!("{v:03}_t{v}.{suffix}.sql")))
            .expect("read migration")
    }

    /// The version table golang-migrate's driver creates on open.
    fn gm_ensure(&self, d: &mut dyn Driver) {
        let sql: &[&str] = match self.kind {
            Kind::Sqlite => &[
                "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool)",
                "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)",
            ],
            Kind::Postgres => &["CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint not null primary key, dirty boolean not null)"],
            Kind::Mysql => &["CREATE TABLE IF NOT EXISTS `schema_migrations` (version bigint not null primary key, dirty boolean not null)"],
        };
        for s in sql {
            d.execute(s, &[]).expect("create version table");
        }
    }

    /// `SELECT version, dirty FROM schema_migrations LIMIT 1`; no row = (-1, false).
    fn gm_read(&self, d: &mut dyn Driver) -> (i64, bool) {
        let rows = d
            .query(
                "SELECT version, CASE WHEN dirty THEN 1 ELSE 0 END FROM schema_migrations LIMIT 1",
                &[],
            )
            .expect("read version");
        match rows.first() {
            None => (-1, false),
            Some(r) => (
                r[0].as_i64().expect("version"),
                r[1].as_i64().is_some_and(|i| i != 0),
            ),
        }
    }

    /// SetVersion: one transaction, delete every row, insert `(v, dirty)` unless it is a
    /// clean nil version.
    fn gm_set(&self, d: &mut dyn Driver, v: i64, dirty: bool) {
        let delete = match self.kind {
            Kind::Sqlite => "DELETE FROM schema_migrations",
            Kind::Postgres => "TRUNCATE \"schema_migrations\"",
            Kind::Mysql => "DELETE FROM `schema_migrations` LIMIT 1",
        };
        d.execute("BEGIN", &[]).expect("begin");
        d.execute(delete, &[]).expect("delete version");
        if v >= 0 || (v == -1 && dirty) {
            d.execute(
                &format!("INSERT INTO schema_migrations (version, dirty) VALUES ({v}, {dirty})"),
                &[],
            )
            .expect("insert version");
        }
        d.execute("COMMIT", &[]).expect("commit");
    }

    /// golang-migrate's CLI: `up [N]`, `down [N]` (0 = all), `goto V`, `force V`, `drop`.
    /// A failing body leaves the dirty row, as golang-migrate does.
    fn gm(&self, cmd: &str, arg: i64) -> Result<(), String> {
        let mut d = self.driver();
        let d = d.as_mut();
        if cmd == "drop" {
            return d.drop_all().map_err(|e| e.to_string());
        }
        self.gm_ensure(d);
        let (cur, dirty) = self.gm_read(d);
        if cmd == "force" {
            self.gm_set(d, arg, false);
            return Ok(());
        }
        if dirty {
            return Err(format!(
                "Dirty database version {cur}. Fix and force version."
            ));
        }
        let all = self.gm_versions();
        let mut steps: Vec<(u64, bool, i64)> = Vec::new();
        let mut at = cur;
        match cmd {
            "up" | "goto" if cmd == "up" || arg > cur => {
                let limit = if cmd == "up" && arg > 0 {
                    arg as usize
                } else {
                    usize::MAX
                };
                for v in all.iter().filter(|v| (**v as i64) > cur) {
                    if steps.len() == limit || (cmd == "goto" && *v as i64 > arg) {
                        break;
                    }
                    steps.push((*v, true, *v as i64));
                }
            }
            "down" | "goto" => {
                let limit = if cmd == "down" && arg > 0 {
                    arg as usize
                } else {
                    usize::MAX
                };
                while at >= 0 && steps.len() < limit && !(cmd == "goto" && at <= arg) {
                    let prev = all
                        .iter()
                        .rev()
                        .find(|v| (**v as i64) < at)
                        .map_or(-1, |v| *v as i64);
                    steps.push((at as u64, false, prev));
                    at = prev;
                }
            }
            other => panic!("golang-migrate has no command {other}"),
        }
        if steps.is_empty() {
            return Err("no change".into());
        }
        for (v, up, target) in steps {
            self.gm_set(d, target, true);
            if let Err(e) = d.execute(self.gm_body(v, up).trim_end().trim_end_matches(';'), &[]) {
                return Err(format!("migration failed: {e}"));
            }
            self.gm_set(d, target, false);
        }
        Ok(())
    }

    /// A person: runs the current version's down SQL by hand, then
    /// `UPDATE schema_migrations SET version = <previous>` (a `force` by hand).
    fn hand_down(&self) {
        let mut d = self.driver();
        let (cur, _) = self.gm_read(d.as_mut());
        let prev = self
            .gm_versions()
            .into_iter()
            .rev()
            .find(|v| (*v as i64) < cur);
        let body = self.gm_body(cur as u64, false);
        d.execute(body.trim_end().trim_end_matches(';'), &[])
            .expect("down by hand");
        match prev {
            Some(p) => d
                .execute(&format!("UPDATE schema_migrations SET version = {p}"), &[])
                .expect("update"),
            None => d
                .execute("DELETE FROM schema_migrations", &[])
                .expect("delete"),
        };
    }

    /// A person: runs the current version's down SQL by hand, version unchanged (before a
    /// `force`).
    fn sql_down(&self) {
        let mut d = self.driver();
        let (cur, _) = self.gm_read(d.as_mut());
        let body = self.gm_body(cur as u64, false);
        d.execute(body.trim_end().trim_end_matches(';'), &[])
            .expect("down by hand");
    }

    /// A person: runs the next file's up SQL by hand, then `UPDATE schema_migrations`.
    fn hand_up(&self) {
        let mut d = self.driver();
        self.gm_ensure(d.as_mut());
        let (cur, _) = self.gm_read(d.as_mut());
        let next = self
            .gm_versions()
            .into_iter()
            .find(|v| (*v as i64) > cur)
            .expect("a next version");
        let body = self.gm_body(next, true);
        d.execute(body.trim_end().trim_end_matches(';'), &[])
            .expect("up by hand");
        if cur < 0 {
            d.execute(
                &format!("INSERT INTO schema_migrations (version, dirty) VALUES ({next}, false)"),
                &[],
            )
            .expect("insert");
        } else {
            d.execute(
                &format!("UPDATE schema_migrations SET version = {next}"),
                &[],
            )
            .expect("update");
        }
    }

    fn backup_path(&self) -> PathBuf {
        self.dir.path().join("older.sqlite")
    }
}

/// Every place that judges agrees with the real run and changes nothing: `-dry-run` refuses
/// with the same message and exit code (or exits 0 when the run would go ahead), `status`
/// and `-db-status` say drift (5) exactly when the run refuses with a finding, and the
/// library's gate and plan agree. Returns the real run's transcript.
fn judged_alike(w: &World, args: &[&str]) -> Out {
    let before = w.state();
    let mut dry_args = vec!["-dry-run"];
    dry_args.extend_from_slice(args);
    let dry = w.run(&dry_args);
    let status = w.run(&["status"]);
    let db_status = w.run(&["-db-status"]);
    let mut m = w.migrator();
    let gate = gate::check(&mut m).expect("gate check");
    let target = match args {
        ["up"] => Some(Target::Up),
        ["down", "1"] => Some(Target::DownBy(1)),
        _ => None,
    };
    let planned = target.map(|t| m.plan(t));
    drop(m);
    assert_eq!(w.state(), before, "judging wrote something");
    let real = w.run(args);
    let refused_by_finding = real.code == 1
        && [
            "changed after it was applied",
            "was applied but the file is gone",
            "was never applied but is older",
        ]
        .iter()
        .any(|s| real.stderr.contains(s));
    if real.code == 0 {
        assert_eq!(
            dry.code, 0,
            "dry run refused what the run did:\n{dry}\n{real}"
        );
    } else {
        assert_eq!(
            (dry.code, dry.stderr.as_str()),
            (real.code, real.stderr.as_str()),
            "dry run and run differ"
        );
        assert!(
            dry.stdout.is_empty(),
            "a refused dry run prints no plan:\n{dry}"
        );
    }
    assert_eq!(
        status.code == 5,
        refused_by_finding,
        "status:\n{status}\nrun:\n{real}"
    );
    assert_eq!(
        db_status.code == 5,
        refused_by_finding,
        "-db-status:\n{db_status}\nrun:\n{real}"
    );
    assert_eq!(
        matches!(
            gate,
            GateStatus::Drifted { .. } | GateStatus::Missing { .. }
        ),
        refused_by_finding,
        "gate {gate:?}\nrun:\n{real}"
    );
    if let Some(p) = planned {
        assert_eq!(
            matches!(
                p,
                Err(Error::Drift { .. } | Error::MissingFile { .. } | Error::OutOfOrder { .. })
            ),
            refused_by_finding,
            "library plan {p:?}\nrun:\n{real}"
        );
    }
    if refused_by_finding {
        assert_eq!(w.state(), before, "a refusal wrote something");
    }
    real
}

// --- the two repros ---

/// `migrate up 1`; golang-migrate `up 1` twice; `migrate up` applies the rest: versions 2
/// and 3 are adopted as applied outside migrate (one journal row), never run again.
fn repro_adopt(kind: Kind) -> Option<(String, String)> {
    let w = World::new(kind)?;
    for v in 1..=4 {
        w.file(v, 0);
    }
    assert_eq!(w.run(&["up", "1"]).code, 0);
    w.gm("up", 1).expect("gm up 1");
    w.gm("up", 1).expect("gm up 1");
    let status = w.run(&["status"]);
    assert_eq!(status.code, 3, "pending, not drift:\n{status}");
    let json: serde_json::Value =
        serde_json::from_str(&w.run(&["status", "-format", "json"]).stdout).expect("json");
    let states: Vec<&str> = json["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| m["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["applied", "applied", "applied", "pending"]);
    assert_eq!(json["applied_outside"], serde_json::json!([2, 3]));
    assert!(json["migrations"][0]["applied_at"].is_string());
    assert!(json["migrations"][1]["applied_at"].is_null());
    let up = judged_alike(&w, &["up"]);
    assert_eq!(up.code, 0, "{up}");
    assert_eq!(w.version(), DbVersion::Clean(4));
    assert_eq!(w.recorded(), BTreeSet::from([1, 2, 3, 4]));
    let j = w.journal();
    assert!(
        j.contains(&("adopt".to_string(), Some(1), Some(3))),
        "one adopt row from 1 to 3: {j:?}"
    );
    assert_eq!(j.iter().filter(|r| r.0 == "adopt").count(), 1);
    assert_eq!(w.run(&["status"]).code, 0);
    Some((status.to_string(), up.to_string()))
}

/// `migrate up` (to 3); golang-migrate `down 1`; edit 0003, now pending; `migrate up` runs
/// the edited file: its old record is history, not drift.
fn repro_pending_edit(kind: Kind) -> Option<(String, String)> {
    let w = World::new(kind)?;
    for v in 1..=3 {
        w.file(v, 0);
    }
    assert_eq!(w.run(&["up"]).code, 0);
    w.gm("down", 1).expect("gm down 1");
    w.file(3, 1);
    let status = w.run(&["status"]);
    assert_eq!(status.code, 3, "pending, not drift:\n{status}");
    let json: serde_json::Value =
        serde_json::from_str(&w.run(&["status", "-format", "json"]).stdout).expect("json");
    assert_eq!(json["migrations"][2]["state"], "pending");
    assert!(json["migrations"][2]["applied_at"].is_null(), "{json}");
    assert_eq!(json["no_longer_applied"], serde_json::json!([3]));
    let up = judged_alike(&w, &["up"]);
    assert_eq!(up.code, 0, "{up}");
    assert_eq!(w.version(), DbVersion::Clean(3));
    assert_eq!(w.tables(1..=3), BTreeSet::from([1, 2, 3]));
    let j = w.journal();
    assert!(
        j.contains(&("reconcile".to_string(), Some(3), Some(2))),
        "{j:?}"
    );
    assert_eq!(w.run(&["status"]).code, 0);
    Some((status.to_string(), up.to_string()))
}

#[test]
fn repro_adopt_sqlite() {
    let (status, up) = repro_adopt(Kind::Sqlite).expect("sqlite");
    insta::assert_snapshot!("repro_adopt_status", status);
    insta::assert_snapshot!("repro_adopt_up", up);
}

#[test]
fn repro_adopt_postgres() {
    repro_adopt(Kind::Postgres);
}

#[test]
fn repro_adopt_mysql() {
    repro_adopt(Kind::Mysql);
}

#[test]
fn repro_pending_edit_sqlite() {
    let (status, up) = repro_pending_edit(Kind::Sqlite).expect("sqlite");
    insta::assert_snapshot!("repro_pending_edit_status", status);
    insta::assert_snapshot!("repro_pending_edit_up", up);
}

#[test]
fn repro_pending_edit_postgres() {
    repro_pending_edit(Kind::Postgres);
}

#[test]
fn repro_pending_edit_mysql() {
    repro_pending_edit(Kind::Mysql);
}

/// The library's gate judges the repros as the CLI does: behind, not drift, and
/// `ApplyPending` migrates to the latest; an edited file another tool ran after taking the
/// database down (history cannot tell) is drift for the gate as for the run.
fn repro_gate(kind: Kind) -> Option<()> {
    let w = World::new(kind)?;
    for v in 1..=4 {
        w.file(v, 0);
    }
    w.migrator().steps(1).expect("up 1");
    w.gm("up", 1).expect("gm up 1");
    w.gm("up", 1).expect("gm up 1");
    let behind = GateStatus::Behind {
        current: Some(3),
        latest: 4,
        pending: vec![4],
    };
    assert_eq!(
        gate::check_url(&w.source(), &w.url()).expect("check"),
        behind
    );
    let mut m = w.migrator();
    assert_eq!(gate::check(&mut m).expect("check"), behind);
    assert_eq!(
        m.gate(Policy::ApplyPending).expect("gate"),
        GateStatus::UpToDate { version: 4 }
    );
    assert_eq!(w.recorded(), BTreeSet::from([1, 2, 3, 4]));

    let w = World::new(kind)?;
    for v in 1..=3 {
        w.file(v, 0);
    }
    w.migrator().up().expect("up");
    w.gm("down", 1).expect("gm down 1");
    w.file(3, 1);
    let behind = GateStatus::Behind {
        current: Some(2),
        latest: 3,
        pending: vec![3],
    };
    assert_eq!(
        gate::check_url(&w.source(), &w.url()).expect("check"),
        behind
    );
    assert_eq!(
        gate::gate(w.source(), &w.url(), Policy::ApplyPending).expect("gate"),
        GateStatus::UpToDate { version: 3 }
    );
    assert_eq!(w.tables(1..=3), BTreeSet::from([1, 2, 3]));

    w.gm("down", 1).expect("gm down 1");
    w.file(3, 2);
    w.gm("up", 1).expect("gm up 1");
    let drifted = GateStatus::Drifted {
        current: 3,
        latest: 3,
        files: vec!["003_t3.up.sql".into()],
    };
    assert_eq!(
        gate::check_url(&w.source(), &w.url()).expect("check"),
        drifted
    );
    match gate::gate(w.source(), &w.url(), Policy::ApplyPending) {
        Err(e) => assert_eq!(e.gate_status(), Some(&drifted)),
        Ok(s) => panic!("the gate let {s:?} through"),
    }
    Some(())
}

#[test]
fn repro_gate_sqlite() {
    repro_gate(Kind::Sqlite).expect("sqlite");
}

#[test]
fn repro_gate_postgres() {
    repro_gate(Kind::Postgres);
}

#[test]
fn repro_gate_mysql() {
    repro_gate(Kind::Mysql);
}

// --- a table of mixed sequences ---

/// What the final `migrate up` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    Drift(u64),
    OutOfOrder(u64),
}

/// Files 10, 20, 30, 40. Ops: `m ARGS` (the migrate binary), `g CMD N` (golang-migrate),
/// `hand-up` / `hand-down` (SQL and `UPDATE schema_migrations` by hand), `edit V`,
/// `add V` (a new file), `save` / `restore` (an older copy of the SQLite file).
const SEQUENCES: &[(&str, &str, Expect)] = &[
    (
        "in turns, up",
        "m up 1; g up 2; m up 1; g down 1; g up 1",
        Expect::Ok,
    ),
    ("adopt after golang-migrate", "m up 1; g up 2", Expect::Ok),
    (
        "down outside, edit the pending file",
        "m up; g down 1; edit 40",
        Expect::Ok,
    ),
    (
        "down and up outside, files unchanged",
        "m up; g down 2; g up 2",
        Expect::Ok,
    ),
    ("down to nil outside", "m up 3; g down 0", Expect::Ok),
    (
        "goto outside",
        "m up; g goto 20; m goto 30; g goto 40",
        Expect::Ok,
    ),
    (
        "force outside after a manual down",
        "m up; sql-down; g force 30",
        Expect::Ok,
    ),
    (
        "manual UPDATE",
        "m up 2; hand-up; hand-down; hand-down; hand-up",
        Expect::Ok,
    ),
    (
        "edited below the version, recorded by migrate",
        "m up; g down 1; edit 20",
        Expect::Drift(20),
    ),
    (
        "edited, run outside (history cannot tell)",
        "m up; g down 1; edit 40; g up 1",
        Expect::Drift(40),
    ),
    (
        "edited after golang-migrate ran it, never seen by migrate",
        "m up 1; g up 1; edit 20",
        Expect::Ok,
    ),
    (
        "edited before anyone ran it",
        "m up 1; edit 30; g up 1",
        Expect::Ok,
    ),
    (
        "added below a version migrate applied",
        "m up 2; add 15",
        Expect::OutOfOrder(15),
    ),
    (
        "added above, applied outside",
        "m up 2; add 25; g up 1",
        Expect::Ok,
    ),
    (
        "added below, down and up outside (history cannot tell)",
        "m up 2; g down 0; add 15; g up 3",
        Expect::OutOfOrder(15),
    ),
    ("drop outside", "m up; g drop 0; m up 2", Expect::Ok),
    (
        "migrate down then golang-migrate up",
        "m up; m down 2; g up 1",
        Expect::Ok,
    ),
    (
        "restored older backup",
        "m up 2; save; m up; restore",
        Expect::Ok,
    ),
    (
        "restored older backup, then an edit",
        "m up 2; save; m up; restore; edit 30",
        Expect::Ok,
    ),
];

fn play(w: &World, seq: &str) {
    for op in seq.split(';').map(str::trim) {
        let words: Vec<&str> = op.split_whitespace().collect();
        match words.as_slice() {
            ["m", args @ ..] => {
                let out = w.run(args);
                assert_eq!(out.code, 0, "{op} in {seq:?}:\n{out}");
            }
            ["g", cmd, n] => {
                w.gm(cmd, n.parse().expect("number"))
                    .unwrap_or_else(|e| panic!("{op}: {e}"));
            }
            ["hand-up"] => w.hand_up(),
            ["hand-down"] => w.hand_down(),
            ["sql-down"] => w.sql_down(),
            ["edit", v] => {
                let v = v.parse().expect("version");
                let gen = std::fs::read_to_string(w.m_dir().join(format!("{v:03}_t{v}.up.sql")))
                    .map_or(1, |b| b.len() as u32);
                w.file(v, gen);
            }
            ["add", v] => w.file(v.parse().expect("version"), 0),
            ["save"] => {
                std::fs::copy(w.db_file(), w.backup_path()).expect("save");
            }
            ["restore"] => {
                std::fs::copy(w.backup_path(), w.db_file()).expect("restore");
            }
            other => panic!("unknown op {other:?}"),
        }
    }
}

/// Runs `f` on each item, on a few threads: the cases are independent, and most of their
/// time is spent waiting for the database's commits.
fn in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    std::thread::scope(|s| {
        for chunk in items.chunks(items.len().div_ceil(4).max(1)) {
            let f = &f;
            s.spawn(move || chunk.iter().for_each(f));
        }
    });
}

fn sequences(kind: Kind) {
    in_parallel(SEQUENCES, |row| sequence(kind, row));
}

fn sequence(kind: Kind, (name, seq, expect): &(&str, &str, Expect)) {
    {
        if kind != Kind::Sqlite && seq.contains("save") {
            return;
        }
        let Some(w) = World::new(kind) else { return };
        for v in [10, 20, 30, 40] {
            w.file(v, 0);
        }
        play(&w, seq);
        let v_before = w.version();
        let out = judged_alike(&w, &["up"]);
        let ctx = format!("{kind:?} {name}: {seq}\n{out}");
        match expect {
            Expect::Ok => {
                assert_eq!(out.code, 0, "{ctx}");
                assert!(!out.stderr.contains("error:"), "{ctx}");
                let latest = *w.gm_versions().last().expect("files");
                assert_eq!(w.version(), DbVersion::Clean(latest), "{ctx}");
                // Nothing ran twice: every file's table exists once, the version is the
                // latest, and nothing is left to judge.
                assert_eq!(
                    w.tables(w.gm_versions()),
                    w.gm_versions().into_iter().collect(),
                    "{ctx}"
                );
                assert_eq!(w.run(&["status"]).code, 0, "{ctx}");
                assert_eq!(
                    w.recorded(),
                    w.gm_versions().into_iter().collect::<BTreeSet<_>>(),
                    "{ctx}"
                );
            }
            Expect::Drift(v) => {
                assert_eq!(out.code, 1, "{ctx}");
                assert!(
                    out.stderr
                        .contains(&format!("(version {v}) changed after it was applied")),
                    "{ctx}"
                );
                assert!(out.stderr.contains("migrate repair"), "{ctx}");
                assert_eq!(w.version(), v_before, "{ctx}");
            }
            Expect::OutOfOrder(v) => {
                assert_eq!(out.code, 1, "{ctx}");
                assert!(
                    out.stderr
                        .contains(&format!("(version {v}) was never applied but is older")),
                    "{ctx}"
                );
                // History cannot tell whether another tool ran it: the hint says so and
                // names `repair`, not only a way that runs the file again.
                assert!(out.stderr.contains("history cannot tell"), "{ctx}");
                assert!(out.stderr.contains("migrate repair"), "{ctx}");
            }
        }
        // After a refusal, `repair` (the named way out) lets the run go ahead, when the
        // schema really has what the database's version says.
        if *expect != Expect::Ok && name.contains("history cannot tell") {
            assert_eq!(w.run(&["repair"]).code, 0);
            let out = judged_alike(&w, &["up"]);
            assert_eq!(out.code, 0, "{kind:?} {name} after repair:\n{out}");
        }
    }
}

#[test]
fn mixed_sequences_sqlite() {
    sequences(Kind::Sqlite);
}

#[test]
fn mixed_sequences_postgres() {
    sequences(Kind::Postgres);
}

#[test]
fn mixed_sequences_mysql() {
    sequences(Kind::Mysql);
}

// --- generated sequences, checked against a model of the rules ---

/// A small deterministic generator (SplitMix64): the same seed gives the same sequences.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    MUp,
    MUp1,
    MDown1,
    MGoto(u64),
    MRepair,
    GUp1,
    GDown1,
    GForceSame,
    HandUp,
    HandDown,
    Edit(u64),
    Add(u64),
    Save,
    Restore,
}

/// A problem the model expects migrate to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    Drift,
    OutOfOrder,
}

/// What is true, and what migrate remembers, written from the rules in docs/journal.md
/// independently of the implementation.
#[derive(Debug, Clone, Default)]
struct Model {
    /// Version -> edit generation of its up file.
    files: BTreeMap<u64, u32>,
    version: Option<u64>,
    /// The versions whose changes the schema has.
    schema: BTreeSet<u64>,
    /// migrate's records: version -> generation recorded; `None`: no side tables.
    memory: Option<BTreeMap<u64, u32>>,
    /// Versions edited or added during the sequence.
    touched: BTreeSet<u64>,
}

impl Model {
    fn applied(&self, v: u64) -> bool {
        self.version.is_some_and(|c| v <= c)
    }

    /// (records of applied versions, last version migrate knew applied, adopted versions).
    fn reconciled(&self) -> (BTreeMap<u64, u32>, Option<u64>, Vec<u64>) {
        let view: BTreeMap<u64, u32> = self
            .memory
            .iter()
            .flatten()
            .filter(|(v, _)| self.applied(**v))
            .map(|(v, g)| (*v, *g))
            .collect();
        let known = view.keys().next_back().copied();
        let adopted = self
            .files
            .keys()
            .copied()
            .filter(|v| self.applied(*v) && known.is_none_or(|k| *v > k))
            .collect();
        (view, known, adopted)
    }

    /// The problems, by version: an applied file migrate recorded that changed since (drift);
    /// a file migrate never recorded below the last version it knew applied (out of order).
    fn problems(&self) -> BTreeMap<u64, Problem> {
        let (view, known, _) = self.reconciled();
        let mut out = BTreeMap::new();
        for (v, g) in &view {
            if self.files.get(v).is_some_and(|now| now != g) {
                out.insert(*v, Problem::Drift);
            }
        }
        for v in self.files.keys() {
            if known.is_some_and(|k| *v < k) && !view.contains_key(v) {
                out.insert(*v, Problem::OutOfOrder);
            }
        }
        out
    }

    /// What a migrating run writes before its steps.
    fn reconcile(&mut self) {
        let (mut view, _, adopted) = self.reconciled();
        for v in adopted {
            view.insert(v, self.files[&v]);
        }
        self.memory = Some(view);
    }

    fn next(&self) -> Option<u64> {
        self.files
            .keys()
            .copied()
            .find(|v| self.version.is_none_or(|c| *v > c))
    }

    fn prev(&self, v: u64) -> Option<u64> {
        self.files.keys().copied().rev().find(|p| *p < v)
    }

    fn up_to(&mut self, v: u64, recorded: bool) {
        assert!(!self.schema.contains(&v), "model: {v} would run twice");
        self.schema.insert(v);
        self.version = Some(v);
        if recorded {
            let g = self.files[&v];
            self.memory.get_or_insert_with(BTreeMap::new).insert(v, g);
        }
    }

    fn down_one(&mut self, recorded: bool) {
        let Some(c) = self.version else { return };
        self.schema.remove(&c);
        self.version = self.prev(c);
        if recorded {
            if let Some(m) = &mut self.memory {
                m.retain(|k, _| self.version.is_some_and(|p| *k <= p));
            }
        }
    }

    /// Whether running `op` keeps the schema and the version telling the truth (a down of
    /// a version the schema does not have would fail in any tool).
    fn honest(&self, op: Op) -> bool {
        let has_current = self.version.is_none_or(|c| self.schema.contains(&c));
        match op {
            Op::MDown1 | Op::GDown1 | Op::HandDown => self.version.is_some() && has_current,
            Op::GUp1 | Op::HandUp => self.next().is_some(),
            Op::MGoto(v) => self
                .files
                .keys()
                .filter(|f| self.version.is_some_and(|c| **f > v && **f <= c))
                .all(|f| self.schema.contains(f)),
            Op::MRepair => self
                .files
                .keys()
                .filter(|v| self.applied(**v))
                .all(|v| self.schema.contains(v)),
            _ => true,
        }
    }
}

fn random_op(rng: &mut Rng, model: &Model, kind: Kind) -> Op {
    let files: Vec<u64> = model.files.keys().copied().collect();
    let free: Vec<u64> = (1..20)
        .map(|i| i * 5)
        .filter(|v| !model.files.contains_key(v))
        .collect();
    loop {
        let op = match rng.below(100) {
            0..=14 => Op::MUp,
            15..=22 => Op::MUp1,
            23..=31 => Op::MDown1,
            32..=35 => Op::MGoto(rng.pick(&files)),
            36..=39 => Op::MRepair,
            40..=54 => Op::GUp1,
            55..=65 => Op::GDown1,
            66..=68 => Op::GForceSame,
            69..=73 => Op::HandUp,
            74..=78 => Op::HandDown,
            79..=87 => Op::Edit(rng.pick(&files)),
            88..=94 if !free.is_empty() => Op::Add(rng.pick(&free)),
            95..=96 if kind == Kind::Sqlite => Op::Save,
            97..=99 if kind == Kind::Sqlite => Op::Restore,
            _ => continue,
        };
        if model.honest(op) {
            return op;
        }
    }
}

/// Before a migrating op: the library's plan (dry run), `status` and the gate judge as the
/// model does; nothing is written by judging.
fn check_judging(w: &World, model: &Model, ctx: &str) {
    let problems = model.problems();
    let mut m = w.migrator();
    // status: every version's state, the lists, the verdict.
    let st = m.status(0).expect("status");
    let (view, _, adopted) = model.reconciled();
    for ms in &st.migrations {
        let want = match problems.get(&ms.version) {
            Some(Problem::Drift) => State::Drifted,
            Some(Problem::OutOfOrder) => State::OutOfOrder,
            None if model.applied(ms.version) => State::Applied,
            None => State::Pending,
        };
        assert_eq!(ms.state, want, "status of {}: {ctx}", ms.version);
        assert_eq!(
            ms.applied_at.is_some(),
            view.contains_key(&ms.version),
            "applied time of {} only when migrate recorded it applied: {ctx}",
            ms.version
        );
    }
    assert_eq!(
        st.migrations.iter().map(|m| m.version).collect::<Vec<_>>(),
        model.files.keys().copied().collect::<Vec<_>>(),
        "{ctx}"
    );
    if model.memory.is_some() {
        assert_eq!(st.applied_outside, adopted, "{ctx}");
        let above: Vec<u64> = model
            .memory
            .iter()
            .flatten()
            .map(|(v, _)| *v)
            .filter(|v| !model.applied(*v))
            .collect();
        assert_eq!(st.no_longer_applied, above, "{ctx}");
    }
    assert_eq!(
        st.exit_code == migrate::status::ExitCode::Drift,
        !problems.is_empty(),
        "status verdict: {ctx}"
    );
    // the gate
    let g = gate::check(&mut m).expect("gate");
    assert_eq!(
        matches!(g, GateStatus::Drifted { .. }),
        !problems.is_empty(),
        "gate {g:?}: {ctx}"
    );
    // the dry run's plan refuses with the first problem
    match (m.plan(Target::Up), problems.iter().next()) {
        (Err(Error::Drift { version, .. }), Some((v, Problem::Drift)))
        | (Err(Error::OutOfOrder { version, .. }), Some((v, Problem::OutOfOrder))) => {
            assert_eq!(version, *v, "{ctx}")
        }
        (Ok(_) | Err(Error::NoChange), None) => {}
        (other, want) => panic!("plan {other:?}, model {want:?}: {ctx}"),
    }
}

/// Runs one op on the world and on the model, then compares them.
fn step(w: &World, model: &mut Model, op: Op, saved: &mut Option<Model>, ctx: &str) {
    let migrating = matches!(
        op,
        Op::MUp | Op::MUp1 | Op::MDown1 | Op::MGoto(_) | Op::MRepair
    );
    if migrating && op != Op::MRepair {
        check_judging(w, model, ctx);
    }
    match op {
        Op::MUp | Op::MUp1 | Op::MDown1 | Op::MGoto(_) => migrate_step(w, model, op, ctx),
        other => other_step(w, model, other, saved),
    }
    compare(w, model, op, migrating, ctx);
}

/// A migrating op (`up`, `up 1`, `down 1`, `goto V`) by migrate: refused with the model's
/// first problem, or run, the model following.
fn migrate_step(w: &World, model: &mut Model, op: Op, ctx: &str) {
    let problems = model.problems();
    let mut m = w.migrator();
    let res = match op {
        Op::MUp => m.up(),
        Op::MUp1 => m.steps(1),
        Op::MDown1 => m.steps(-1),
        Op::MGoto(v) => m.goto(v),
        _ => unreachable!(),
    };
    if let Some((v, p)) = problems.iter().next() {
        // Refused with the first problem; nothing written.
        match (&res, p) {
            (Err(Error::Drift { version, .. }), Problem::Drift)
            | (Err(Error::OutOfOrder { version, .. }), Problem::OutOfOrder) => {
                assert_eq!(version, v, "{ctx}")
            }
            _ => panic!("{op:?} gave {res:?}, model expects {p:?} of {v}: {ctx}"),
        }
        // Unchanged files are never refused.
        assert!(
            model.touched.contains(v),
            "refused an untouched file {v}: {ctx}"
        );
    } else {
        model.reconcile();
        match op {
            Op::MUp => {
                while let Some(n) = model.next() {
                    model.up_to(n, true);
                }
            }
            Op::MUp1 => {
                if let Some(n) = model.next() {
                    model.up_to(n, true);
                }
            }
            Op::MDown1 => model.down_one(true),
            Op::MGoto(v) => {
                while model.version.is_some_and(|c| c > v) {
                    model.down_one(true);
                }
                while model.version.is_none_or(|c| c < v) {
                    let n = model.next().expect("next");
                    model.up_to(n, true);
                }
            }
            _ => unreachable!(),
        }
        // Never runs a file the database has; the rest are golang-migrate's own
        // answers (no change, file does not exist).
        match &res {
            Ok(_) | Err(Error::NoChange | Error::FileNotExist) => {}
            Err(e) => panic!("{op:?} failed: {e}: {ctx}"),
        }
    }
}

/// Any op but migrate's migrating ones: `repair`, golang-migrate, hand edits of the
/// version table, file edits and additions, saving and restoring the database file.
fn other_step(w: &World, model: &mut Model, op: Op, saved: &mut Option<Model>) {
    match op {
        Op::MRepair => {
            w.migrator().repair().expect("repair");
            let c = model.version;
            model.memory = Some(
                model
                    .files
                    .iter()
                    .filter(|(v, _)| c.is_some_and(|c| **v <= c))
                    .map(|(v, g)| (*v, *g))
                    .collect(),
            );
        }
        Op::GUp1 => {
            w.gm("up", 1).expect("golang-migrate up 1");
            let n = model.next().expect("next");
            model.up_to(n, false);
        }
        Op::GDown1 => {
            w.gm("down", 1).expect("golang-migrate down 1");
            model.down_one(false);
        }
        Op::GForceSame => {
            let v = model.version.map_or(-1, |v| v as i64);
            w.gm("force", v).expect("golang-migrate force");
        }
        Op::HandUp => {
            w.hand_up();
            let n = model.next().expect("next");
            model.up_to(n, false);
        }
        Op::HandDown => {
            w.hand_down();
            model.down_one(false);
        }
        Op::Edit(v) => {
            let g = model.files[&v] + 1;
            model.files.insert(v, g);
            model.touched.insert(v);
            w.file(v, g);
        }
        Op::Add(v) => {
            model.files.insert(v, 0);
            model.touched.insert(v);
            w.file(v, 0);
        }
        Op::Save => {
            if w.db_file().exists() {
                std::fs::copy(w.db_file(), w.backup_path()).expect("save");
                *saved = Some(model.clone());
            }
        }
        Op::Restore => {
            if let Some(s) = saved.as_ref() {
                std::fs::copy(w.backup_path(), w.db_file()).expect("restore");
                model.version = s.version;
                model.schema = s.schema.clone();
                model.memory = s.memory.clone();
            }
        }
        Op::MUp | Op::MUp1 | Op::MDown1 | Op::MGoto(_) => unreachable!("migrate_step"),
    }
}

/// The world is as the model says after `op`.
fn compare(w: &World, model: &Model, op: Op, migrating: bool, ctx: &str) {
    let candidates: Vec<u64> = (1..20).map(|i| i * 5).collect();
    assert_eq!(
        w.version().version(),
        model.version,
        "version after {op:?}: {ctx}"
    );
    assert_eq!(
        w.tables(candidates),
        model.schema,
        "schema after {op:?}: {ctx}"
    );
    if migrating {
        let want: BTreeSet<u64> = model.memory.iter().flatten().map(|(v, _)| *v).collect();
        assert_eq!(w.recorded(), want, "records after {op:?}: {ctx}");
    }
}

fn generated(kind: Kind, cases: u64, max_len: u64) {
    let seed: u64 = std::env::var("MIGRATE_MIXED_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let refusals = std::sync::atomic::AtomicU64::new(0);
    let all: Vec<u64> = (0..cases).collect();
    in_parallel(&all, |case| {
        // One generator per case: a failing case replays alone with the same seed.
        let mut rng = Rng(seed.wrapping_mul(1_000_003).wrapping_add(*case));
        let Some(w) = World::new(kind) else { return };
        let mut model = Model::default();
        for v in [10, 20, 30, 40] {
            w.file(v, 0);
            model.files.insert(v, 0);
        }
        let mut saved = None;
        let mut log = Vec::new();
        let len = 4 + rng.below(max_len - 3);
        for _ in 0..len {
            let op = random_op(&mut rng, &model, kind);
            log.push(op);
            let ctx = format!("{kind:?} seed {seed} case {case}: {log:?}");
            if !model.problems().is_empty() {
                refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            step(&w, &mut model, op, &mut saved, &ctx);
        }
    });
    // The generator reaches the refusals too, not only the happy paths.
    let refusals = refusals.into_inner();
    assert!(refusals > 0 || cases < 20, "no sequence reached a refusal");
}

#[test]
fn generated_sequences_sqlite() {
    generated(Kind::Sqlite, 150, 14);
}

#[test]
fn generated_sequences_postgres() {
    generated(Kind::Postgres, 12, 10);
}

#[test]
fn generated_sequences_mysql() {
    generated(Kind::Mysql, 12, 10);
}
