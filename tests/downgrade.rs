//! Stored down SQL (`<table>_downs`) and `-downgrade-db`, on SQLite, PostgreSQL and
//! MariaDB: versions 1..3 applied from one directory are brought down to 2 from a directory
//! without file 3 (the older checkout, the older binary), with `down 1`, `goto 2` and
//! `-downgrade-db`; a version whose down SQL was never stored is refused, by name, and
//! nothing changes. The real binary runs; the state is checked directly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{fresh, Server, TestDb};
use insta::assert_snapshot;
use migrate::driver::Driver;
use migrate::{DbVersion, Error, Migrator, Source};

/// The database a scenario runs on: a SQLite file in a temporary directory, or a fresh
/// database on a server (dropped afterwards).
struct Db {
    url: String,
    /// Text replaced in transcripts (the temporary directory, the database name).
    names: Vec<(String, &'static str)>,
    _tmp: tempfile::TempDir,
    _server: Option<TestDb>,
}

impl Db {
    fn sqlite() -> Db {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("app.db");
        Db {
            url: format!("sqlite3://{}", path.display()),
            names: vec![(tmp.path().display().to_string(), "[TMP]")],
            _tmp: tmp,
            _server: None,
        }
    }

    fn server(s: Server) -> Option<Db> {
        let db = fresh(s)?;
        let tmp = tempfile::tempdir().expect("tempdir");
        Some(Db {
            url: db.url.clone(),
            names: vec![
                (tmp.path().display().to_string(), "[TMP]"),
                (db.name.clone(), "[DB]"),
            ],
            _tmp: tmp,
            _server: Some(db),
        })
    }

    fn driver(&self) -> Box<dyn Driver> {
        common::open(&self.url)
    }

    fn version(&self) -> DbVersion {
        self.driver().version().expect("version")
    }

    fn has_table(&self, t: &str) -> bool {
        self.driver().table_exists(t).expect("table_exists")
    }

    fn stored(&self) -> BTreeMap<u64, String> {
        migrate::journal::stored_downs(self.driver().as_mut())
            .expect("stored downs")
            .into_iter()
            .map(|(v, s)| (v, s.body))
            .collect()
    }

    /// The journal's operations, oldest first, without the backups.
    fn operations(&self) -> Vec<String> {
        common::operations(self.driver().as_mut())
            .into_iter()
            .filter(|o| o != "backup")
            .collect()
    }

    fn filter(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (from, to) in &self.names {
            s = s.replace(from.as_str(), to);
        }
        let s = common::filter_durations(&s);
        let utc = regex::Regex::new(r"\b\d{8}T\d{6}Z(-\d+)?\b").expect("regex");
        utc.replace_all(&s, "[UTC]").into_owned()
    }

    /// Runs `migrate -path DIR -database URL ARGS`; appends `$ migrate [DIR] ARGS` and the
    /// transcript to `log`; returns the exit code.
    fn migrate(&self, log: &mut String, dir: &Path, label: &str, args: &[&str]) -> i32 {
        let out = common::migrate_command(dir, &self.url, args)
            .output()
            .expect("run migrate");
        let code = out.status.code().unwrap_or(-1);
        log.push_str(&format!(
            "$ migrate -path {label} {}\nexit: {code}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            self.filter(&String::from_utf8_lossy(&out.stdout)),
            self.filter(&String::from_utf8_lossy(&out.stderr)),
        ));
        code
    }
}

/// Version 3's down file: a comment outside Latin-1 (stored as written on MariaDB too).
const DOWN_3: &str = "-- undo 3: drop t3 (é, 🚀)\nDROP TABLE t3;\n";

/// `full`: versions 1..3 with up and down files; `old`: the same without version 3;
/// `no_down_3`: `full` without 3's down file.
fn dirs() -> (tempfile::TempDir, tempfile::TempDir, tempfile::TempDir) {
    let full = tempfile::tempdir().expect("tempdir");
    let old = tempfile::tempdir().expect("tempdir");
    let no_down_3 = tempfile::tempdir().expect("tempdir");
    for v in 1..=3u64 {
        let up = (
            format!("{v}_t{v}.up.sql"),
            format!("CREATE TABLE t{v} (id INT);\n"),
        );
        let down = (
            format!("{v}_t{v}.down.sql"),
            if v == 3 {
                DOWN_3.to_string()
            } else {
                format!("DROP TABLE t{v};\n")
            },
        );
        for (name, body) in [&up, &down] {
            std::fs::write(full.path().join(name), body).expect("write");
            if v < 3 {
                std::fs::write(old.path().join(name), body).expect("write");
            }
        }
        std::fs::write(no_down_3.path().join(&up.0), &up.1).expect("write");
        if v < 3 {
            std::fs::write(no_down_3.path().join(&down.0), &down.1).expect("write");
        }
    }
    (full, old, no_down_3)
}

fn walkthrough(db: &Db) -> String {
    let (full, old, _) = dirs();
    let (full, old) = (full.path(), old.path());
    let mut t = String::new();
    assert_eq!(db.migrate(&mut t, full, "full", &["up"]), 0);
    let stored = db.stored();
    assert_eq!(stored.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(stored[&3], DOWN_3, "the down file is stored as written");

    // The older checkout: `down 1` runs version 3's stored down SQL (its dry run shows it).
    assert_eq!(
        db.migrate(&mut t, old, "old", &["-dry-run", "down", "1"]),
        0
    );
    assert_eq!(db.version(), DbVersion::Clean(3));
    assert!(t.contains(DOWN_3), "the dry run prints the stored SQL");
    assert_eq!(db.migrate(&mut t, old, "old", &["down", "1"]), 0);
    assert_eq!(db.version(), DbVersion::Clean(2));
    assert!(!db.has_table("t3") && db.has_table("t2"));
    assert_eq!(db.stored().keys().copied().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(
        db.operations().last().map(String::as_str),
        Some("down-stored")
    );

    // `goto 2` from the older checkout does the same.
    assert_eq!(db.migrate(&mut t, full, "full", &["up"]), 0);
    assert_eq!(db.migrate(&mut t, old, "old", &["goto", "2"]), 0);
    assert_eq!(db.version(), DbVersion::Clean(2));
    assert!(!db.has_table("t3"));

    // The older binary: `-downgrade-db`, then again (nothing to do).
    assert_eq!(db.migrate(&mut t, full, "full", &["up"]), 0);
    assert_eq!(db.migrate(&mut t, old, "old", &["-downgrade-db"]), 0);
    assert_eq!(db.version(), DbVersion::Clean(2));
    assert!(!db.has_table("t3") && db.has_table("t2") && db.has_table("t1"));
    assert_eq!(db.migrate(&mut t, old, "old", &["-downgrade-db"]), 0);
    assert_eq!(db.version(), DbVersion::Clean(2));

    // The newer checkout takes it up again: nothing was lost or left behind.
    assert_eq!(db.migrate(&mut t, full, "full", &["up"]), 0);
    assert_eq!(db.version(), DbVersion::Clean(3));
    assert_eq!(db.stored()[&3], DOWN_3);
    assert_eq!(
        db.operations(),
        [
            "up",
            "up",
            "up",
            "down-stored",
            "up",
            "down-stored",
            "up",
            "down-stored",
            "up"
        ]
    );
    t
}

/// Version 3 applied by golang-migrate, its down file already gone when migrate adopted
/// it: no down SQL is stored for it, and the older binary refuses to go down, by name.
fn refusal(db: &Db) -> String {
    let (full, old, no_down_3) = dirs();
    let mut t = String::new();
    assert_eq!(db.migrate(&mut t, full.path(), "full", &["up", "2"]), 0);
    {
        // golang-migrate applies 3 (its up file, then the version row).
        let mut d = db.driver();
        d.execute("CREATE TABLE t3 (id INT)", &[]).expect("up 3");
        migrate::driver::set_version(d.as_mut(), Some(3), false).expect("version 3");
    }
    assert_eq!(
        db.migrate(&mut t, no_down_3.path(), "no-down-3", &["up"]),
        0
    );
    assert_eq!(db.stored().keys().copied().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(db.migrate(&mut t, old.path(), "old", &["-downgrade-db"]), 1);
    assert_eq!(db.version(), DbVersion::Clean(3));
    assert!(db.has_table("t3"));
    // golang-migrate's own answer when neither a file nor stored SQL exists.
    assert_eq!(db.migrate(&mut t, old.path(), "old", &["down", "1"]), 1);
    assert_eq!(db.version(), DbVersion::Clean(3));
    assert!(db.has_table("t3"));
    t
}

#[test]
fn sqlite_brings_the_database_down_with_stored_down_sql() {
    let db = Db::sqlite();
    assert_snapshot!(walkthrough(&db));
}

#[test]
fn postgres_brings_the_database_down_with_stored_down_sql() {
    if let Some(db) = Db::server(Server::Postgres) {
        assert_snapshot!(walkthrough(&db));
    }
}

#[test]
fn mysql_brings_the_database_down_with_stored_down_sql() {
    if let Some(db) = Db::server(Server::Mysql) {
        assert_snapshot!(walkthrough(&db));
    }
}

#[test]
fn sqlite_downgrade_refuses_without_stored_down_sql() {
    let db = Db::sqlite();
    assert_snapshot!(refusal(&db));
}

#[test]
fn postgres_downgrade_refuses_without_stored_down_sql() {
    if let Some(db) = Db::server(Server::Postgres) {
        assert_snapshot!(refusal(&db));
    }
}

#[test]
fn mysql_downgrade_refuses_without_stored_down_sql() {
    if let Some(db) = Db::server(Server::Mysql) {
        assert_snapshot!(refusal(&db));
    }
}

/// Every combination, on SQLite through the library: `n` versions applied, some of them
/// without a down file (`no_down`, a bit per version), an older source with the first `k`.
/// The downgrade reaches `k` and undoes exactly the versions above it when each of them had
/// a down file; otherwise it refuses, naming exactly those without one (newest first), and
/// changes nothing; a second downgrade changes nothing either.
#[test]
fn downgrade_over_generated_cases() {
    for n in 2..=5u64 {
        for k in 1..n {
            for no_down in 0..(1u32 << n) {
                let case = format!("n={n} k={k} no_down={no_down:b}");
                let tmp = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite3://{}", tmp.path().join("db.sqlite").display());
                let lacks = |v: u64| no_down & (1 << (v - 1)) != 0;
                let files = |upto: u64| {
                    let mut f: Vec<(String, std::borrow::Cow<'static, [u8]>)> = Vec::new();
                    for v in 1..=upto {
                        f.push((
                            format!("{v}_t{v}.up.sql"),
                            format!("CREATE TABLE t{v} (id INT);").into_bytes().into(),
                        ));
                        if !lacks(v) {
                            f.push((
                                format!("{v}_t{v}.down.sql"),
                                format!("DROP TABLE t{v};").into_bytes().into(),
                            ));
                        }
                    }
                    Source::from_files(f).expect("source")
                };
                let mut newer = Migrator::open(files(n), &url).expect("open");
                newer.up().expect("up");
                drop(newer);
                let mut older = Migrator::open(files(k), &url).expect("open");
                let want_missing: Vec<u64> = (k + 1..=n).rev().filter(|v| lacks(*v)).collect();
                let res = older.downgrade();
                let d = older.driver();
                let tables: Vec<bool> = (1..=n)
                    .map(|v| d.table_exists(&format!("t{v}")).expect("exists"))
                    .collect();
                let stored: Vec<u64> = migrate::journal::stored_downs(d)
                    .expect("stored")
                    .into_keys()
                    .collect();
                if want_missing.is_empty() {
                    assert!(res.is_ok(), "{case}: {res:?}");
                    assert_eq!(d.version().expect("v"), DbVersion::Clean(k), "{case}");
                    let want: Vec<bool> = (1..=n).map(|v| v <= k).collect();
                    assert_eq!(tables, want, "{case}");
                    let want: Vec<u64> = (1..=k).filter(|v| !lacks(*v)).collect();
                    assert_eq!(stored, want, "{case}");
                } else {
                    match res {
                        Err(Error::DowngradeMissingDown { target, versions }) => {
                            assert_eq!(target, Some(k), "{case}");
                            assert_eq!(versions, want_missing, "{case}");
                        }
                        other => panic!("{case}: expected a refusal, got {other:?}"),
                    }
                    assert_eq!(d.version().expect("v"), DbVersion::Clean(n), "{case}");
                    assert!(tables.iter().all(|t| *t), "{case}");
                }
                // Not ahead any more (or refused): a second downgrade changes nothing.
                drop(older);
                let mut again = Migrator::open(files(k), &url).expect("open");
                let before = again.version().expect("v");
                let second = again.downgrade();
                assert_eq!(again.version().expect("v"), before, "{case}");
                if want_missing.is_empty() {
                    assert!(matches!(second, Err(Error::NoChange)), "{case}: {second:?}");
                }
            }
        }
    }
}

/// What `repair`, `force` and adoption store, on SQLite through the library: `repair` stores
/// an edited down file anew, `force` to a lower version forgets the versions above it and
/// `force` back up stores the down files present, and a database adopted from golang-migrate
/// gets the down files present.
#[test]
fn repair_force_and_adoption_keep_the_stored_down_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    for v in 1..=3u64 {
        std::fs::write(
            dir.path().join(format!("{v}_t{v}.up.sql")),
            format!("CREATE TABLE t{v} (id INT);"),
        )
        .expect("write");
        std::fs::write(
            dir.path().join(format!("{v}_t{v}.down.sql")),
            format!("DROP TABLE t{v};"),
        )
        .expect("write");
    }
    let url = format!("sqlite3://{}", dir.path().join("db.sqlite").display());
    let open =
        || Migrator::open(Source::from_dir(dir.path()).expect("source"), &url).expect("open");
    let stored = |m: &mut Migrator| -> Vec<(u64, String)> {
        migrate::journal::stored_downs(m.driver())
            .expect("stored")
            .into_iter()
            .map(|(v, s)| (v, s.body))
            .collect()
    };
    let mut m = open();
    m.up().expect("up");
    let edited = "DROP TABLE IF EXISTS t3;";
    std::fs::write(dir.path().join("3_t3.down.sql"), edited).expect("edit");
    let mut m = open();
    m.repair().expect("repair");
    assert_eq!(stored(&mut m)[2], (3, edited.to_string()));
    m.force(1).expect("force 1");
    assert_eq!(stored(&mut m), vec![(1, "DROP TABLE t1;".to_string())]);
    m.force(3).expect("force 3");
    assert_eq!(
        stored(&mut m)
            .into_iter()
            .map(|(v, _)| v)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // golang-migrate's database (no side tables) at version 2: adopted on the next run.
    m.drop_all().expect("drop");
    {
        let d = m.driver();
        d.ensure_version_table().expect("version table");
        d.execute("CREATE TABLE t1 (id INT)", &[]).expect("t1");
        d.execute("CREATE TABLE t2 (id INT)", &[]).expect("t2");
        migrate::driver::set_version(d, Some(2), false).expect("version");
        for t in [
            "schema_migrations_checksums",
            "schema_migrations_journal",
            "schema_migrations_downs",
        ] {
            d.execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
                .expect("drop side table");
        }
    }
    let mut m = open();
    m.up().expect("up adopts 1 and 2, applies 3");
    assert_eq!(
        stored(&mut m)
            .into_iter()
            .map(|(v, _)| v)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}
