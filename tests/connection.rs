//! Migrators on a connection the application opened (`Migrator::from_sqlite`,
//! `from_postgres`, `from_mysql`): the lock, the bookkeeping, the gate and (SQLite) the
//! backups work as on a URL, the application's session settings survive the run, and the
//! connection comes back usable.

mod common;

use std::borrow::Cow;
use std::time::Duration;

use common::{fresh, Server};
use migrate::gate::Policy;
use migrate::rusqlite::Connection;
use migrate::{DbVersion, Error, GateStatus, Migrator, Source};

fn source(files: &[(&str, &str)]) -> Source {
    Source::from_files(
        files
            .iter()
            .map(|(n, b)| (*n, Cow::Owned(b.as_bytes().to_vec()))),
    )
    .expect("source")
}

/// Three SQLite migrations; the second rebuilds a referenced table (what foreign keys off
/// around each file is for) and the third reads `temp.app_tag`, a TEMP table only
/// the application's connection has.
/// The migrator's main database file as SQLite reports it (`PRAGMA database_list`);
/// `None` for an in-memory database.
fn main_file(m: &mut Migrator) -> Option<std::path::PathBuf> {
    let rows = m
        .driver()
        .query(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
            &[],
        )
        .expect("database_list");
    match rows.first().and_then(|r| r.first()) {
        Some(migrate::driver::Value::Text(f)) if !f.is_empty() => Some(f.into()),
        _ => None,
    }
}

fn sqlite_source() -> Source {
    source(&[
        (
            "1_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);\nINSERT INTO users VALUES (1, 'a');\nINSERT INTO posts VALUES (1, 1);",
        ),
        ("1_users.down.sql", "DROP TABLE posts;\nDROP TABLE users;"),
        (
            "2_rebuild.up.sql",
            "CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\nINSERT INTO users_new SELECT id, coalesce(name, '') FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;",
        ),
        ("2_rebuild.down.sql", "SELECT 1;"),
        (
            "3_tag.up.sql",
            "CREATE TABLE tags (t TEXT);\nINSERT INTO tags SELECT t FROM temp.app_tag;",
        ),
        ("3_tag.down.sql", "DROP TABLE tags;"),
    ])
}

/// The connection settings an application may have set, as the connection reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    foreign_keys: i64,
    cache_size: i64,
    busy_timeout: i64,
    recursive_triggers: i64,
    secure_delete: i64,
}

fn settings(c: &Connection) -> Settings {
    let get = |p: &str| -> i64 {
        c.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
            .expect(p)
    };
    Settings {
        foreign_keys: get("foreign_keys"),
        cache_size: get("cache_size"),
        busy_timeout: get("busy_timeout"),
        recursive_triggers: get("recursive_triggers"),
        secure_delete: get("secure_delete"),
    }
}

/// An application's connection, set up the way a SQLCipher user sets the key: PRAGMAs
/// right after opening, plus a TEMP table of its own.
fn app_connection(path: &std::path::Path, s: &Settings) -> Connection {
    let c = Connection::open(path).expect("open");
    c.execute_batch(&format!(
        "PRAGMA foreign_keys = {};PRAGMA cache_size = {};PRAGMA busy_timeout = {};PRAGMA recursive_triggers = {};PRAGMA secure_delete = {};",
        s.foreign_keys, s.cache_size, s.busy_timeout, s.recursive_triggers, s.secure_delete
    ))
    .expect("app pragmas");
    c.execute_batch(
        "CREATE TEMP TABLE app_tag (t TEXT); INSERT INTO app_tag VALUES ('from-the-app');",
    )
    .expect("app temp table");
    assert_eq!(&settings(&c), s, "the application's settings took");
    c
}

fn scalar(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// Over a table of application settings and both transaction modes: the run applies
/// everything on the application's connection (its TEMP table is visible to a migration),
/// records versions and the journal, and hands the connection back with every setting as
/// the application left it.
#[test]
fn sqlite_connection_keeps_the_applications_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    for foreign_keys in [0, 1] {
        for cache_size in [-1234, 300] {
            for (busy_timeout, recursive_triggers, secure_delete) in [(1234, 1, 1), (0, 0, 0)] {
                for no_tx in [false, true] {
                    n += 1;
                    let want = Settings {
                        foreign_keys,
                        cache_size,
                        busy_timeout,
                        recursive_triggers,
                        secure_delete,
                    };
                    let db = dir.path().join(format!("app{n}.db"));
                    let conn = app_connection(&db, &want);
                    let options = format!("x-no-tx-wrap={no_tx}");
                    let mut m =
                        Migrator::from_sqlite(sqlite_source(), conn, &options).expect("migrator");
                    assert_eq!(main_file(&mut m), Some(db.clone()));
                    let status = m.gate(Policy::ApplyPending).expect("gate");
                    assert_eq!(status, GateStatus::UpToDate { version: 3 }, "{want:?}");
                    assert_eq!(m.history(0).expect("journal").len(), 3);
                    let conn = m.into_sqlite().expect("a SQLite migrator");
                    assert_eq!(settings(&conn), want, "no_tx={no_tx}");
                    // still the application's connection, and usable
                    let tag: String = conn
                        .query_row("SELECT t FROM tags", [], |r| r.get(0))
                        .expect("tag");
                    assert_eq!(tag, "from-the-app");
                    assert_eq!(scalar(&conn, "SELECT count(*) FROM posts"), 1);
                    assert!(conn.is_autocommit());
                    conn.execute("INSERT INTO users (id, name) VALUES (2, 'b')", [])
                        .expect("the application writes");
                    // a URL migrator agrees on the state
                    let mut url =
                        Migrator::open(sqlite_source(), &format!("sqlite3://{}", db.display()))
                            .expect("url migrator");
                    assert_eq!(url.version().expect("version"), DbVersion::Clean(3));
                }
            }
        }
    }
}

/// The lock is the lock file beside the connection's database: a URL migrator holding it
/// keeps a connection migrator out, and the other way round.
#[test]
fn sqlite_connection_shares_the_lock_with_url_migrators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("locked.db");
    let mut url =
        Migrator::open(sqlite_source(), &format!("sqlite3://{}", db.display())).expect("open");
    url.driver().lock(Duration::from_secs(1)).expect("lock");
    let conn = app_connection(&db, &settings(&Connection::open_in_memory().expect("mem")));
    let mut m = Migrator::from_sqlite(sqlite_source(), conn, "").expect("migrator");
    m.set_lock_timeout(Duration::from_millis(100));
    let e = m.up().expect_err("locked out");
    assert!(matches!(e, Error::LockTimeout { .. }), "{e:?}");
    url.driver().unlock().expect("unlock");
    m.up().expect("up after the unlock");
    m.driver().lock(Duration::from_secs(1)).expect("lock");
    url.set_lock_timeout(Duration::from_millis(100));
    let e = url.force(3).expect_err("the URL migrator is locked out");
    assert!(matches!(e, Error::LockTimeout { .. }), "{e:?}");
    m.driver().unlock().expect("unlock");
}

/// The automatic backup works from the connection's file, like on a URL.
#[test]
fn sqlite_connection_backs_up_its_file() {
    use migrate::safety;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("backed.db");
    let backups = dir.path().join("backups");
    let conn = Connection::open(&db).expect("open");
    conn.execute_batch("CREATE TABLE app_data (x); INSERT INTO app_data VALUES (1); CREATE TEMP TABLE app_tag (t TEXT);")
        .expect("app data");
    let mut m = Migrator::from_sqlite(sqlite_source(), conn, "").expect("migrator");
    let dir_for_hook = backups.clone();
    let db_for_hook = db.clone();
    m.set_before_change(Box::new(move |d, _plan| {
        safety::auto_backup(d, &db_for_hook, &dir_for_hook, &safety::Options::default()).map(|_| ())
    }));
    m.up().expect("up");
    let made = safety::backup::list(&db, &backups, "schema_migrations").expect("list");
    assert_eq!(made.len(), 1, "{made:?}");
    let copy = Connection::open(&made[0].path).expect("open backup");
    assert_eq!(scalar(&copy, "SELECT count(*) FROM app_data"), 1);
    assert_eq!(
        scalar(
            &copy,
            "SELECT count(*) FROM sqlite_master WHERE name = 'users'"
        ),
        0,
        "the backup is from before the run"
    );
}

/// An in-memory connection migrates too; it has no file, so no lock file and no backups.
#[test]
fn sqlite_in_memory_connection() {
    let conn = Connection::open_in_memory().expect("open");
    conn.execute_batch("CREATE TEMP TABLE app_tag (t TEXT); INSERT INTO app_tag VALUES ('mem');")
        .expect("app temp table");
    let mut m = Migrator::from_sqlite(sqlite_source(), conn, "x-migrations-table=app_schema")
        .expect("migrator");
    assert_eq!(main_file(&mut m), None);
    m.up().expect("up");
    let conn = m.into_sqlite().expect("sqlite");
    assert_eq!(scalar(&conn, "SELECT version FROM app_schema"), 3);
    assert_eq!(scalar(&conn, "SELECT count(*) FROM users"), 1);
}

/// Options a URL would apply to a connection migrate opens are refused on the
/// application's connection, and so is an unknown `x-` option.
#[test]
fn connection_options_are_only_migrates_own() {
    for bad in [
        "_foreign_keys=1",
        "_busy_timeout=10",
        "x-no-such-option=1",
        "x-migrations-table=a&cache=shared",
    ] {
        let conn = Connection::open_in_memory().expect("open");
        let e = Migrator::from_sqlite(sqlite_source(), conn, bad)
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(matches!(e, Error::InvalidOption { .. }), "{bad}: {e:?}");
    }
    for good in ["", "?", "x-migrations-table=t", "?x-no-tx-wrap=true"] {
        let conn = Connection::open_in_memory().expect("open");
        Migrator::from_sqlite(sqlite_source(), conn, good)
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

fn server_source() -> Source {
    source(&[
        ("1_a.up.sql", "CREATE TABLE a (id INT PRIMARY KEY);"),
        ("1_a.down.sql", "DROP TABLE a;"),
        (
            "2_b.up.sql",
            "CREATE TABLE b (id INT PRIMARY KEY, a_id INT REFERENCES a(id));",
        ),
        ("2_b.down.sql", "DROP TABLE b;"),
    ])
}

fn pg_text(c: &mut migrate::postgres::Client, sql: &str) -> String {
    c.query_one(sql, &[]).expect(sql).get::<_, String>(0)
}

/// PostgreSQL: the application's client, with its own session settings, migrates under
/// golang-migrate's advisory lock (the same key as a URL migrator's) and comes back with
/// its settings, `x-statement-timeout`'s change undone and no advisory lock held.
#[test]
fn postgres_client() {
    for (timeout_option, app_timeout) in [("", "7s"), ("x-statement-timeout=5000", "7s")] {
        let Some(db) = fresh(Server::Postgres) else {
            return;
        };
        let mut client =
            migrate::postgres::Client::connect(&db.url, migrate::postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!(
                "SET application_name = 'the_app'; SET statement_timeout = '{app_timeout}';"
            ))
            .expect("app settings");
        let mut m =
            Migrator::from_postgres(server_source(), client, timeout_option).expect("migrator");
        let mut url = Migrator::open(server_source(), &db.url).expect("url migrator");
        let key = |m: &mut Migrator| {
            let d: &mut dyn std::any::Any = m.driver();
            d.downcast_mut::<migrate::driver::postgres::Postgres>()
                .expect("postgres")
                .lock_key()
        };
        assert_eq!(key(&mut m), key(&mut url), "one lock for both");
        url.driver().lock(Duration::from_secs(5)).expect("lock");
        m.set_lock_timeout(Duration::from_millis(200));
        let e = m.up().expect_err("locked out by the URL migrator");
        assert!(matches!(e, Error::LockTimeout { .. }), "{e:?}");
        url.driver().unlock().expect("unlock");
        match m.gate(Policy::ApplyPending) {
            Ok(GateStatus::UpToDate { version: 2 }) => {}
            other => panic!("{timeout_option}: {other:?}"),
        }
        assert_eq!(url.version().expect("version"), DbVersion::Clean(2));
        let mut client = m.into_postgres().expect("a PostgreSQL migrator");
        assert_eq!(pg_text(&mut client, "SHOW application_name"), "the_app");
        assert_eq!(pg_text(&mut client, "SHOW statement_timeout"), app_timeout);
        let held: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
                &[],
            )
            .expect("pg_locks")
            .get(0);
        assert_eq!(held, 0, "the advisory lock was released");
        client
            .batch_execute("INSERT INTO a VALUES (1); DELETE FROM a;")
            .expect("the application writes");
    }
}

/// MySQL/MariaDB: the application's connection, with its own session variables (foreign
/// key checks off, a user variable), migrates under golang-migrate's `GET_LOCK` name (the
/// same as a URL migrator's) and comes back with them unchanged, `drop` included, and the
/// lock free.
#[test]
fn mysql_conn() {
    for fk in [0, 1] {
        let Some(db) = fresh(Server::Mysql) else {
            return;
        };
        mysql_round(&db, fk);
    }
}

fn mysql_opts(db: &common::TestDb) -> migrate::mysql_async::OptsBuilder {
    let dsn = migrate::driver::mysql::Dsn::parse(
        &migrate::url::DatabaseUrl::parse(&db.url).expect("url"),
    )
    .expect("dsn");
    let (host, port) = dsn.addr.rsplit_once(':').expect("host:port");
    migrate::mysql_async::OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port.parse().expect("port"))
        .user(dsn.user.clone())
        .pass(dsn.password.clone())
        .db_name(Some(db.name.clone()))
        .prefer_socket(false)
}

/// The application's runtime: its worker drives the connection's I/O while the test's
/// thread, outside the runtime, calls the migrator.
fn app_runtime() -> migrate::tokio::runtime::Runtime {
    migrate::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn mysql_round(db: &common::TestDb, fk: i64) {
    use migrate::mysql_async::prelude::Queryable;
    let rt = app_runtime();
    let mut conn = rt
        .block_on(migrate::mysql_async::Conn::new(mysql_opts(db)))
        .expect("connect");
    rt.block_on(conn.query_drop(format!(
        "SET SESSION foreign_key_checks = {fk}; SET @app_var = 42"
    )))
    .expect("app settings");
    let mut m = Migrator::from_mysql(
        server_source(),
        conn,
        rt.handle().clone(),
        "x-migrations-table=app_versions",
    )
    .expect("migrator");
    let mut url = Migrator::open(
        server_source(),
        &db.url_with("x-migrations-table=app_versions"),
    )
    .expect("url migrator");
    let name = |m: &mut Migrator| {
        let d: &mut dyn std::any::Any = m.driver();
        d.downcast_mut::<migrate::driver::mysql::Mysql>()
            .expect("mysql")
            .lock_name()
            .to_string()
    };
    let lock = name(&mut m);
    assert_eq!(lock, name(&mut url), "one lock for both");
    url.driver().lock(Duration::from_secs(5)).expect("lock");
    m.set_lock_timeout(Duration::from_secs(1));
    let e = m.up().expect_err("locked out by the URL migrator");
    assert!(matches!(e, Error::LockTimeout { .. }), "{e:?}");
    url.driver().unlock().expect("unlock");
    m.up().expect("up");
    m.drop_all().expect("drop");
    match m.gate(Policy::ApplyPending) {
        Ok(GateStatus::UpToDate { version: 2 }) => {}
        other => panic!("fk={fk}: {other:?}"),
    }
    assert_eq!(url.version().expect("version"), DbVersion::Clean(2));
    let mut conn = m.into_mysql().expect("a MySQL migrator");
    let row: Option<(i64, i64, Option<i64>)> = rt
        .block_on(conn.query_first(format!(
            "SELECT @@SESSION.foreign_key_checks, @app_var, IS_USED_LOCK('{lock}')"
        )))
        .expect("session");
    assert_eq!(row, Some((fk, 42, None)), "fk={fk}");
    rt.block_on(conn.query_drop("INSERT INTO a VALUES (1)"))
        .expect("the application writes");
    rt.block_on(conn.disconnect()).expect("disconnect");
}

/// `x-statement-timeout` is a deadline of a connection migrate opens; on the
/// application's connection it is refused rather than ignored.
#[test]
fn mysql_conn_refuses_a_statement_timeout() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let rt = app_runtime();
    let conn = rt
        .block_on(migrate::mysql_async::Conn::new(mysql_opts(&db)))
        .expect("connect");
    let e = Migrator::from_mysql(
        server_source(),
        conn,
        rt.handle().clone(),
        "x-statement-timeout=100",
    )
    .err()
    .expect("refused");
    assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
}
