//! The SQLite driver inside a run: the page cache a migration's SQL and migrate's own
//! statements run with, and foreign keys switched off around every file. These go through
//! the migrator, so they live here rather than beside the driver.

#![cfg(feature = "sqlite")]

use std::borrow::Cow;

use migrate::driver::{Driver, Value};
use migrate::rusqlite::Connection;
use migrate::safety::integrity;
use migrate::{Migrator, Source};

/// A migration's SQL runs with the user's page cache (SQLite's default or the URL's
/// `_cache_size`, and what an earlier file set); between steps and for the checks the
/// connection is at `OWN_CACHE`. The checks must not open the temp database: with
/// SQLite's shared page-cache budget (SQLITE_ENABLE_MEMORY_MANAGEMENT) its default
/// budget would let the main cache keep 2 MB after all.
#[test]
fn migrations_run_with_the_users_page_cache_and_migrate_with_a_small_one() {
    let sqlite_default: i64 = Connection::open_in_memory()
        .and_then(|c| c.query_row("PRAGMA cache_size", [], |r| r.get(0)))
        .expect("default cache size");
    let seen = "SELECT cache_size FROM pragma_cache_size()";
    let files = [
        ("1_a.up.sql", format!("CREATE TABLE seen1 AS {seen};")),
        (
            "2_b.up.sql",
            format!("CREATE TABLE seen2 AS {seen};\nPRAGMA cache_size = -4000;"),
        ),
        ("3_c.up.sql", format!("CREATE TABLE seen3 AS {seen};")),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (query, user) in [("", sqlite_default), ("?_cache_size=-3000", -3000)] {
        let db = dir.path().join(format!("cache{}.db", user.abs()));
        let source = Source::from_files(
            files
                .iter()
                .map(|(n, b)| (*n, Cow::Owned(b.clone().into_bytes()))),
        )
        .expect("source");
        let url = format!("sqlite3://{}{query}", db.display());
        let mut m = Migrator::open(source, &url).expect("open");
        m.up().expect("up");
        let d = m.driver();
        let one = |d: &mut dyn Driver, sql: &str| -> i64 {
            match d.query(sql, &[]).expect(sql).remove(0).remove(0) {
                Value::Int(v) => v,
                other => panic!("{sql}: {other:?}"),
            }
        };
        assert_eq!(one(d, "SELECT cache_size FROM seen1"), user, "{url}");
        assert_eq!(one(d, "SELECT cache_size FROM seen2"), user, "{url}");
        // a file's own PRAGMA cache_size carries to the files after it
        assert_eq!(one(d, "SELECT cache_size FROM seen3"), -4000, "{url}");
        assert_eq!(one(d, "PRAGMA cache_size"), -256, "{url}");
        assert!(integrity::check(d, integrity::Check::Full).is_empty());
        assert_eq!(integrity::foreign_key_violations(d).expect("fk check"), 0);
        let names: Vec<String> = d
            .query("SELECT name FROM pragma_database_list", &[])
            .expect("database_list")
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
            .collect();
        assert_eq!(names, ["main"], "{url}: the checks opened another database");
    }
}

/// Every file runs with foreign keys off, whatever the URL says, whatever an earlier
/// file set and in every transaction mode, and the connection has its own setting
/// (the URL's) again after the run.
#[test]
fn every_file_runs_with_foreign_keys_off_and_the_setting_comes_back() {
    let seen = |n: u32| {
        format!("CREATE TABLE seen{n} AS SELECT foreign_keys AS fk FROM pragma_foreign_keys;\n")
    };
    let files = [
        (
            "1_a.up.sql",
            format!("{}PRAGMA foreign_keys = ON;\n", seen(1)),
        ),
        (
            "2_b.up.sql",
            format!("{}PRAGMA foreign_keys = 1;\n", seen(2)),
        ),
        (
            "3_c.up.sql",
            format!("PRAGMA foreign_keys = ON;\n{}", seen(3)),
        ),
        (
            "4_d.up.sql",
            format!("{}PRAGMA foreign_keys = OFF;\n", seen(4)),
        ),
        ("5_e.up.sql", seen(5)),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    for fk in [false, true] {
        for no_tx in [false, true] {
            for single in [false, true] {
                if no_tx && single {
                    continue; // refused: -single-transaction needs transactions
                }
                n += 1;
                let db = dir.path().join(format!("fk{n}.db"));
                let source = Source::from_files(
                    files
                        .iter()
                        .map(|(f, b)| (*f, Cow::Owned(b.clone().into_bytes()))),
                )
                .expect("source");
                let url = format!(
                    "sqlite3://{}?_foreign_keys={}&x-no-tx-wrap={no_tx}",
                    db.display(),
                    u8::from(fk)
                );
                let mut m = Migrator::open(source, &url).expect("open");
                m.set_single_transaction(single);
                m.up().expect("up");
                let d = m.driver();
                for i in 1..=5 {
                    let rows = d
                        .query(&format!("SELECT fk FROM seen{i}"), &[])
                        .expect("seen");
                    assert_eq!(rows, [[Value::Int(0)]], "{url} single={single}: file {i}");
                }
                let now = d.query("PRAGMA foreign_keys", &[]).expect("pragma");
                assert_eq!(now, [[Value::Int(i64::from(fk))]], "{url} single={single}");
            }
        }
    }
}
