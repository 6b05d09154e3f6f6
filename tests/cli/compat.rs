//! golang-migrate and migrate take turns on one database: the version table is
//! byte-identical, and tables golang-migrate wrote are read as it reads them.

use crate::harness::Env;
use insta::assert_snapshot;

/// golang-migrate's sqlite3 driver DDL, as it executes it.
const GOLANG_MIGRATE_DDL: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);";

fn master(e: &Env) -> Vec<(String, String, String, String)> {
    let c = e.conn();
    let mut st = c
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name = 'schema_migrations' ORDER BY type DESC")
        .expect("prepare");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn version_table_is_byte_identical() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up"]).code, 0);
    assert_eq!(
        master(&e),
        vec![
            (
                "table".into(),
                "schema_migrations".into(),
                "schema_migrations".into(),
                "CREATE TABLE schema_migrations (version uint64,dirty bool)".into()
            ),
            (
                "index".into(),
                "version_unique".into(),
                "schema_migrations".into(),
                "CREATE UNIQUE INDEX version_unique ON schema_migrations (version)".into()
            ),
        ]
    );
    // values are stored as integers, one row
    let types: (String, String, i64) = e
        .conn()
        .query_row(
            "SELECT typeof(version), typeof(dirty), (SELECT count(*) FROM schema_migrations) FROM schema_migrations",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("row");
    assert_eq!(types, ("integer".into(), "integer".into(), 1));

    // and it equals what golang-migrate's own DDL produces in a fresh database
    let g = Env::new();
    g.conn().execute_batch(GOLANG_MIGRATE_DDL).expect("ddl");
    assert_eq!(master(&g), master(&e));
}

/// A database golang-migrate left: its DDL, its row, the schema its files made.
fn golang_migrate_db(e: &Env, version: i64, dirty: bool) {
    let c = e.conn();
    c.execute_batch(GOLANG_MIGRATE_DDL).expect("ddl");
    for v in 1..=version.min(3) {
        let f = std::fs::read_dir(e.path("m"))
            .expect("dir")
            .map(|d| d.expect("entry").path())
            .find(|p| {
                let n = p.file_name().expect("name").to_string_lossy().into_owned();
                n.starts_with(&format!("{v}_")) && n.ends_with(".up.sql")
            })
            .expect("up file");
        c.execute_batch(&std::fs::read_to_string(f).expect("read"))
            .expect("apply");
    }
    c.execute(
        "INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)",
        rusqlite::params![version, dirty],
    )
    .expect("insert");
}

#[test]
fn reads_golang_migrate_clean_table_and_continues() {
    let e = Env::with("basic");
    golang_migrate_db(&e, 2, false);
    assert_snapshot!("gm_clean_version", e.migrate(&["version"]).to_string());
    assert_snapshot!("gm_clean_up", e.migrate(&["up"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn reads_golang_migrate_dirty_table() {
    let e = Env::with("basic");
    golang_migrate_db(&e, 2, true);
    assert_snapshot!("gm_dirty_version", e.migrate(&["version"]).to_string());
    assert_snapshot!("gm_dirty_up", e.migrate(&["up"]).to_string());
    assert_eq!(e.rows(), vec![(2, true)]);
}

#[test]
fn dirty_nil_row() {
    // golang-migrate writes (-1, dirty) while undoing the first migration (#330)
    let e = Env::with("basic");
    e.conn().execute_batch(GOLANG_MIGRATE_DDL).expect("ddl");
    e.conn()
        .execute("INSERT INTO schema_migrations VALUES (-1, 1)", [])
        .expect("insert");
    assert_snapshot!("dirty_nil_version", e.migrate(&["version"]).to_string());
    assert_snapshot!("dirty_nil_up", e.migrate(&["up"]).to_string());
}

#[test]
fn custom_migrations_table() {
    let e = Env::with("basic");
    let url = format!("{}?x-migrations-table=my_versions", e.url());
    let t = e.run(&[
        "-path",
        &e.path("m").display().to_string(),
        "-database",
        &url,
        "up",
    ]);
    assert_eq!(t.code, 0, "{t}");
    let n: i64 = e
        .conn()
        .query_row("SELECT version FROM my_versions", [], |r| r.get(0))
        .expect("row");
    assert_eq!(n, 3);
}

#[test]
fn hostile_migrations_table_is_quoted() {
    let e = Env::with("basic");
    e.migrate(&["up", "1"]);
    let url = format!(
        "{}?x-migrations-table={}",
        e.url(),
        "t%22%3B%20DROP%20TABLE%20users%3B%20--"
    );
    let t = e.run(&[
        "-path",
        &e.path("m").display().to_string(),
        "-database",
        &url,
        "version",
    ]);
    assert_eq!(t.code, 1, "{t}"); // nothing recorded in that table yet
    assert!(e.tables().contains(&"users".to_string()), "users survived");
    let name: String = e
        .conn()
        .query_row(
            "SELECT name FROM sqlite_master WHERE name LIKE 't\"%'",
            [],
            |r| r.get(0),
        )
        .expect("the literal table name");
    assert_eq!(name, "t\"; DROP TABLE users; --");
}

#[test]
fn no_tx_wrap_keeps_golang_migrate_dirty_protocol() {
    let e = Env::with("failing");
    let url = format!("{}?x-no-tx-wrap=true", e.url());
    let t = e.run(&[
        "-path",
        &e.path("m").display().to_string(),
        "-database",
        &url,
        "up",
    ]);
    assert_snapshot!(t.to_string());
    // the failed version is recorded dirty; statements before the failure persisted
    assert_eq!(e.rows(), vec![(3, true)]);
    assert_eq!(e.tables(), vec!["a", "b", "c"]);
}

#[test]
fn sqlite_scheme_alias_and_relative_paths() {
    let e = Env::with("basic");
    let t = e.run(&["-path", "m", "-database", "sqlite://rel.db", "up"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(e.path("rel.db").exists());
    let t = e.run(&[
        "-source",
        "file://m",
        "-database",
        "sqlite3://./rel.db",
        "version",
    ]);
    assert_snapshot!("relative_version", t.to_string());
}

#[test]
fn mattn_parameters_are_honoured() {
    let e = Env::with("basic");
    let url = format!(
        "{}?_journal_mode=WAL&_busy_timeout=2000&_synchronous=NORMAL",
        e.url()
    );
    let t = e.run(&[
        "-path",
        &e.path("m").display().to_string(),
        "-database",
        &url,
        "up",
    ]);
    assert_eq!(t.code, 0, "{t}");
    let mode: String = e
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
}
