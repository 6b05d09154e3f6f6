//! The one driver conformance suite: the same functions, taking a database URL, run
//! against SQLite (a temp file), PostgreSQL and MariaDB (fresh databases on the real
//! servers; see tests/common).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{fresh, Server};
use migrate::driver::{self, set_version, Dialect, Driver, Value};
use migrate::url::DatabaseUrl;
use migrate::{DbVersion, Error, Migrator, Source};

fn open(url: &str) -> Box<dyn Driver> {
    driver::open(&DatabaseUrl::parse(url).expect("url")).expect("open driver")
}

fn source(fixture: &str) -> Source {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(fixture);
    Source::from_dir(&dir).expect("source")
}

fn migrator(url: &str, fixture: &str) -> Migrator {
    let mut m = Migrator::new(source(fixture), open(url));
    m.set_lock_timeout(Duration::from_secs(5));
    m.ensure_version_table().expect("version table");
    m
}

fn tables(d: &mut dyn Driver) -> Vec<String> {
    let sql = match d.dialect() {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1"
        }
        Dialect::Mysql => {
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
        }
    };
    d.query(sql, &[])
        .expect("list tables")
        .into_iter()
        .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
        // migrate's own side tables (journal, checksums, stored downs) are checked separately
        .filter(|t| {
            !t.ends_with("_journal") && !t.ends_with("_checksums") && !t.ends_with("_downs")
        })
        .collect()
}

/// Version table: created on demand with golang-migrate's exact DDL.
fn version_table(url: &str) {
    let mut d = open(url);
    assert!(!d.version_table_exists().expect("exists"));
    assert_eq!(d.version().expect("version"), DbVersion::Nil);
    d.ensure_version_table().expect("create");
    d.ensure_version_table().expect("create twice");
    assert!(d.version_table_exists().expect("exists"));
    assert_eq!(d.table(), "schema_migrations");
    let facts: Vec<String> = match d.dialect() {
        Dialect::Sqlite => d
            .query(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'schema_migrations' ORDER BY type DESC",
                &[],
            )
            .expect("ddl")
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
            .collect(),
        Dialect::Postgres => d
            .query(
                "SELECT column_name::text || ' ' || data_type::text || ' ' || is_nullable::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations' ORDER BY ordinal_position",
                &[],
            )
            .expect("columns")
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
            .collect(),
        Dialect::Mysql => d
            .query(
                "SELECT CONCAT(column_name, ' ', column_type, ' ', is_nullable, ' ', column_key) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'schema_migrations' ORDER BY ordinal_position",
                &[],
            )
            .expect("columns")
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
            .collect(),
    };
    let expected: &[&str] = match d.dialect() {
        Dialect::Sqlite => &[
            "CREATE TABLE schema_migrations (version uint64,dirty bool)",
            "CREATE UNIQUE INDEX version_unique ON schema_migrations (version)",
        ],
        Dialect::Postgres => &["version bigint NO", "dirty boolean NO"],
        Dialect::Mysql => &["version bigint(20) NO PRI", "dirty tinyint(1) NO "],
    };
    assert_eq!(facts, expected, "version table DDL on {}", d.name());
    if d.dialect() == Dialect::Postgres {
        let pk = d
            .query(
                "SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND constraint_type = 'PRIMARY KEY'",
                &[],
            )
            .expect("pk");
        assert_eq!(pk[0][0].as_i64(), Some(1));
    }
}

/// nil / clean / dirty round trips, including golang-migrate's `(-1, dirty)` row.
fn round_trips(url: &str) {
    let mut d = open(url);
    d.ensure_version_table().expect("create");
    let count = |d: &mut dyn Driver| {
        let t = d.quote_ident(d.table());
        d.query(&format!("SELECT COUNT(*) FROM {t}"), &[])
            .expect("count")[0][0]
            .as_i64()
            .expect("int")
    };
    for (v, dirty, expected, rows) in [
        (Some(3), false, DbVersion::Clean(3), 1),
        (Some(4), true, DbVersion::Dirty(4), 1),
        (None, true, DbVersion::Dirty(-1), 1),
        (None, false, DbVersion::Nil, 0),
        (Some(0), false, DbVersion::Clean(0), 1),
        (
            Some(20240101120000),
            false,
            DbVersion::Clean(20240101120000),
            1,
        ),
    ] {
        set_version(d.as_mut(), v, dirty).expect("set version");
        assert_eq!(d.version().expect("version"), expected);
        assert_eq!(count(d.as_mut()), rows, "rows after {expected:?}");
    }
    // A second connection sees the committed row.
    assert_eq!(
        open(url).version().expect("version"),
        DbVersion::Clean(20240101120000)
    );
    // Rolled back writes leave nothing behind.
    d.begin().expect("begin");
    d.write_version(Some(9), true).expect("write");
    d.rollback().expect("rollback");
    assert_eq!(
        d.version().expect("version"),
        DbVersion::Clean(20240101120000)
    );
}

/// up / down N / goto / down through the Migrator.
fn up_down_goto(url: &str) {
    let mut m = migrator(url, "conformance");
    let r = m.up().expect("up");
    assert_eq!(r.applied.len(), 3);
    assert_eq!(m.version().expect("v"), DbVersion::Clean(3));
    // The journal and the checksums work on every driver: three `up` rows, three versions.
    let d = m.driver();
    let (j, c) = (
        d.quote_ident("schema_migrations_journal"),
        d.quote_ident("schema_migrations_checksums"),
    );
    let count = |d: &mut dyn Driver, sql: &str| {
        d.query(sql, &[]).expect("count")[0][0]
            .as_i64()
            .expect("int")
    };
    let op = d.quote_ident("operation");
    assert_eq!(
        count(d, &format!("SELECT count(*) FROM {j} WHERE {op} = 'up'")),
        3
    );
    let ver = d.quote_ident("version");
    assert_eq!(
        count(d, &format!("SELECT count(DISTINCT {ver}) FROM {c}")),
        3
    );
    // Up and down files both recorded (one multi-row INSERT per step).
    assert_eq!(count(d, &format!("SELECT count(*) FROM {c}")), 6);
    // `seq` numbers the rows 1, 2, 3, ... (computed inside the INSERT on SQLite and
    // PostgreSQL, read first on MySQL).
    let seq = d.quote_ident("seq");
    let seqs: Vec<i64> = d
        .query(&format!("SELECT {seq} FROM {j} ORDER BY {seq}"), &[])
        .expect("seq")
        .iter()
        .map(|r| r[0].as_i64().expect("int"))
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert!(seqs.len() >= 3, "{seqs:?}");
    assert_eq!(
        tables(m.driver()),
        ["posts", "schema_migrations", "users"],
        "tables after up"
    );
    assert!(matches!(m.up(), Err(Error::NoChange)));
    m.steps(-1).expect("down 1");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(2));
    assert!(!m.driver().table_exists("posts").expect("exists"));
    m.goto(1).expect("goto 1");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(1));
    m.goto(3).expect("goto 3");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(3));
    m.down().expect("down");
    assert_eq!(m.version().expect("v"), DbVersion::Nil);
    assert_eq!(tables(m.driver()), ["schema_migrations"]);
    assert!(matches!(m.down(), Err(Error::NoChange)));
    m.steps(2).expect("up 2");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(2));
}

/// A failing file: transactional drivers keep the previous version clean and none of the
/// file; non-transactional ones leave `V (dirty)` as golang-migrate does.
fn failing(url: &str) {
    let mut m = migrator(url, "conformance_failing");
    let transactional = m.driver().transactional();
    let e = m.up().expect_err("must fail");
    let text = e.to_string();
    assert!(text.contains("CREAT TABLE d"), "{text}");
    match m.driver().dialect() {
        Dialect::Sqlite => assert!(
            text.starts_with("near \"CREAT\": syntax error in line 0: "),
            "{text}"
        ),
        Dialect::Postgres => assert!(
            text.starts_with(
                "migration failed: syntax error at or near \"CREAT\" (column 1) in line 2: "
            ),
            "{text}"
        ),
        Dialect::Mysql => assert!(
            text.starts_with("migration failed in line 0: CREATE TABLE c")
                && text.contains("(details: Error 1064: "),
            "{text}"
        ),
    }
    if transactional {
        assert_eq!(m.version().expect("v"), DbVersion::Clean(1));
        assert!(!m.driver().table_exists("c").expect("exists"));
    } else {
        assert_eq!(m.version().expect("v"), DbVersion::Dirty(2));
        assert!(matches!(m.up(), Err(Error::Dirty(2))));
        assert_eq!(
            m.up().err().map(|e| e.to_string()).as_deref(),
            Some("Dirty database version 2. Fix and force version.")
        );
        m.force(1).expect("force");
        m.driver().execute("DROP TABLE c", &[]).expect("clean up c");
    }
    assert!(m.driver().table_exists("a").expect("exists"));
}

/// force: sets the version without running anything; -1 empties the table.
fn force(url: &str) {
    let mut m = migrator(url, "conformance");
    m.force(7).expect("force 7");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(7));
    set_version(m.driver(), Some(2), true).expect("dirty");
    m.force(2).expect("force clears dirty");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(2));
    m.force(-1).expect("force -1");
    assert_eq!(m.version().expect("v"), DbVersion::Nil);
    assert!(matches!(m.force(-2), Err(Error::ForceVersionTooLow)));
}

/// drop: every table goes, the version table too.
fn drop(url: &str) {
    let mut m = migrator(url, "conformance");
    m.up().expect("up");
    m.drop_all().expect("drop");
    assert!(tables(m.driver()).is_empty(), "{:?}", tables(m.driver()));
    assert!(!m.driver().version_table_exists().expect("exists"));
    assert_eq!(m.version().expect("v"), DbVersion::Nil);
    // and it comes back, as on the next CLI run
    m.ensure_version_table().expect("recreate");
    m.up().expect("up again");
    assert_eq!(m.version().expect("v"), DbVersion::Clean(3));
}

/// The lock excludes a second driver instance until released, and times out.
fn lock_exclusion(url: &str) {
    let mut a = open(url);
    let mut b = open(url);
    a.ensure_version_table().expect("create");
    a.lock(Duration::from_secs(2)).expect("a locks");
    let started = std::time::Instant::now();
    let e = b
        .lock(Duration::from_millis(300))
        .expect_err("b must not lock");
    assert!(matches!(e, Error::LockTimeout { .. }), "{e:?}");
    assert_eq!(e.to_string(), "timeout: can't acquire database lock");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5));
    a.unlock().expect("a unlocks");
    b.lock(Duration::from_secs(2)).expect("b locks after a");
    let e = a
        .lock(Duration::from_millis(100))
        .expect_err("a must wait for b");
    assert!(matches!(e, Error::LockTimeout { .. }), "{e:?}");
    b.unlock().expect("b unlocks");
    // with_lock releases on error too
    let r: migrate::Result<()> =
        driver::with_lock(a.as_mut(), Duration::from_secs(1), |_| Err(Error::NoChange));
    assert!(matches!(r, Err(Error::NoChange)));
    b.lock(Duration::from_secs(1))
        .expect("released after an error");
    b.unlock().expect("unlock");
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let url = format!("sqlite3://{}", dir.path().join("db.sqlite").display());
                    super::$case(&url);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    let Some(db) = super::fresh(super::Server::Postgres) else { return };
                    super::$case(&db.url);
                }
            )*
        }
        mod mysql {
            $(
                #[test]
                fn $case() {
                    let Some(db) = super::fresh(super::Server::Mysql) else { return };
                    super::$case(&db.url);
                }
            )*
        }
    };
}

suite!(
    version_table,
    round_trips,
    up_down_goto,
    failing,
    force,
    drop,
    lock_exclusion
);
