//! migrate's bookkeeping (the version row, `<t>_checksums`, `<t>_journal`) on real
//! PostgreSQL and MariaDB set-ups that move it or make it fail: a schema-qualified
//! migrations table, a migration that changes `search_path`, a file with its own `COMMIT`,
//! a database whose character set cannot hold a file name, side-table names past the
//! server's identifier limit, and golang-migrate's checks of the `x-` options.
//! Each test runs the real binary on a fresh database (tests/common) and checks the state
//! directly.

mod common;

use std::path::Path;

use common::{fresh, open, operations, Server, TestDb};
use insta::assert_snapshot;
use migrate::driver::Driver;
use migrate::DbVersion;

#[path = "common/harness.rs"]
mod harness;

use harness::Transcript;

fn filter(db: &TestDb, s: &str) -> String {
    let s = s.replace(&db.name, "[DB]");
    let key = regex::Regex::new(r"(GET_LOCK\('|pg_advisory_lock\()\d+").expect("regex");
    common::filter_durations(&key.replace_all(&s, "${1}[KEY]"))
}

/// Runs the real binary with `-path dir -database url args`, extra environment `env`.
fn migrate(db: &TestDb, dir: &Path, url: &str, args: &[&str], env: &[(&str, &str)]) -> Transcript {
    let mut c = common::migrate_command(dir, url, args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run migrate");
    Transcript {
        code: out.status.code().unwrap_or(-1),
        stdout: filter(db, &String::from_utf8_lossy(&out.stdout)),
        stderr: filter(db, &String::from_utf8_lossy(&out.stderr)),
    }
}

/// A migrations directory with these `(file name, body)` files.
fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, body) in list {
        std::fs::write(dir.path().join(name), body).expect("write migration");
    }
    dir
}

/// `(schema, table)` of every table whose name ends in `_checksums` or `_journal`.
fn pg_side_tables(d: &mut dyn Driver) -> Vec<(String, String)> {
    let rows = d
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE '%\\_checksums' OR table_name LIKE '%\\_journal' ORDER BY 1, 2",
            &[],
        )
        .expect("side tables");
    rows.into_iter()
        .map(|r| {
            (
                r[0].clone().into_string().unwrap_or_default(),
                r[1].clone().into_string().unwrap_or_default(),
            )
        })
        .collect()
}

/// The file names the journal records, newest first.
fn journal_files(d: &mut dyn Driver) -> Vec<String> {
    migrate::journal::entries(d, 0)
        .expect("journal")
        .into_iter()
        .filter_map(|e| e.file)
        .collect()
}

const TWO_FILES: [(&str, &str); 2] = [
    ("1_a.up.sql", "CREATE TABLE public.a (id int);\n"),
    ("2_b.up.sql", "CREATE TABLE public.b (id int);\n"),
];

/// The side tables sit next to the migrations table, in its schema, however the table is
/// named: history survives, nothing is adopted twice, an edited file is noticed.
#[test]
fn postgres_side_tables_live_in_the_migrations_tables_schema() {
    // (URL parameters, schema of the migrations table, its name)
    let cases: &[(&str, &str, &str)] = &[
        (
            "x-migrations-table=%22app%22.%22schema_migrations%22&x-migrations-table-quoted=true",
            "app",
            "schema_migrations",
        ),
        (
            "x-migrations-table=%22Odd%20Schema%22.%22Versions%22&x-migrations-table-quoted=1",
            "Odd Schema",
            "Versions",
        ),
        (
            "x-migrations-table=%22only_table%22&x-migrations-table-quoted=true",
            "public",
            "only_table",
        ),
        // Not quoted: golang-migrate's table literally named `app.schema_migrations`.
        (
            "x-migrations-table=app.schema_migrations",
            "public",
            "app.schema_migrations",
        ),
        ("search_path=app", "app", "schema_migrations"),
        ("search_path=app&x-migrations-table=v", "app", "v"),
    ];
    for (params, schema, table) in cases {
        let Some(db) = fresh(Server::Postgres) else {
            return;
        };
        let mut admin = db.driver();
        for sql in ["CREATE SCHEMA app", "CREATE SCHEMA \"Odd Schema\""] {
            admin.execute(sql, &[]).expect("schema");
        }
        let dir = files(&TWO_FILES);
        let url = db.url_with(params);
        for _ in 0..2 {
            let t = migrate(&db, dir.path(), &url, &["up"], &[]);
            assert_eq!(t.code, 0, "{params}: {t}");
        }
        let expected = vec![
            (schema.to_string(), format!("{table}_checksums")),
            (schema.to_string(), format!("{table}_journal")),
        ];
        assert_eq!(pg_side_tables(&mut *admin), expected, "{params}");
        let mut d = open(&url);
        assert_eq!(
            d.version().expect("version"),
            DbVersion::Clean(2),
            "{params}"
        );
        assert_eq!(operations(&mut *d), ["up", "up"], "{params}: no adoption");
        assert_eq!(
            migrate::journal::recorded(&mut *d).expect("recorded").len(),
            2,
            "{params}"
        );
        // An applied file edited afterwards is reported, not adopted again.
        std::fs::write(
            dir.path().join("1_a.up.sql"),
            "CREATE TABLE public.a (id bigint);\n",
        )
        .expect("edit");
        let t = migrate(&db, dir.path(), &url, &["up"], &[]);
        assert_ne!(t.code, 0, "{params}: an edited file must be refused: {t}");
        assert!(
            !operations(&mut *d).contains(&"adopt".to_string()),
            "{params}"
        );
    }
}

/// A migration that empties or changes `search_path` (pg_dump's header does): the
/// bookkeeping still goes to the schema resolved at connect time, never into the schema
/// the migration switched to, where another application keeps its own side tables.
#[test]
fn postgres_search_path_changed_by_a_migration_moves_no_bookkeeping() {
    let switches = [
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "SET search_path TO other;",
        "SET search_path = other, public;",
        "SELECT pg_catalog.set_config('search_path', 'other', false);",
        "SET LOCAL search_path TO other;",
    ];
    for switch in switches {
        let Some(db) = fresh(Server::Postgres) else {
            return;
        };
        let mut admin = db.driver();
        admin.execute("CREATE SCHEMA other", &[]).expect("schema");
        // The other application: its own migrations table and side tables in `other`.
        let theirs = files(&[("1_theirs.up.sql", "CREATE TABLE other.theirs (id int);\n")]);
        let other_url = db.url_with("search_path=other");
        let t = migrate(&db, theirs.path(), &other_url, &["up"], &[]);
        assert_eq!(t.code, 0, "{t}");
        let before = operations(&mut *open(&other_url));

        let body = format!("{switch}\nCREATE TABLE public.a (id int);\n");
        let ours = files(&[
            ("1_switch.up.sql", body.as_str()),
            ("2_b.up.sql", "CREATE TABLE public.b (id int);\n"),
        ]);
        let t = migrate(&db, ours.path(), &db.url, &["up"], &[]);
        assert_eq!(t.code, 0, "{switch}: {t}");
        let mut d = open(&db.url);
        assert_eq!(
            d.version().expect("version"),
            DbVersion::Clean(2),
            "{switch}"
        );
        assert_eq!(operations(&mut *d), ["up", "up"], "{switch}");
        assert_eq!(migrate::journal::recorded(&mut *d).expect("sums").len(), 2);
        let mut o = open(&other_url);
        assert_eq!(operations(&mut *o), before, "{switch}: theirs untouched");
        assert_eq!(
            o.version().expect("version"),
            DbVersion::Clean(1),
            "{switch}"
        );
        assert_eq!(
            pg_side_tables(&mut *admin),
            [
                (
                    "other".to_string(),
                    "schema_migrations_checksums".to_string()
                ),
                ("other".to_string(), "schema_migrations_journal".to_string()),
                (
                    "public".to_string(),
                    "schema_migrations_checksums".to_string()
                ),
                (
                    "public".to_string(),
                    "schema_migrations_journal".to_string()
                ),
            ],
            "{switch}"
        );
        // A second run reads the same history: nothing to do, nothing adopted.
        let t = migrate(&db, ours.path(), &db.url, &["up"], &[]);
        assert_eq!(t.code, 0, "{switch}: {t}");
        assert_eq!(operations(&mut *open(&db.url)), ["up", "up"], "{switch}");
    }
}

/// A file that commits on its own and then fails: what it committed stays, so the version
/// must not read clean at the previous one. It runs as golang-migrate runs every file
/// (dirty, body, clean), so the failure leaves the version dirty.
#[test]
fn postgres_file_with_its_own_commit_never_reads_clean_over_half_a_file() {
    let commits = [
        "COMMIT;",
        "commit;",
        "END;",
        "COMMIT TRANSACTION;",
        "-- done with part one\nCOMMIT;",
        "/* part one */ COMMIT WORK;",
        "ROLLBACK;",
        "ABORT;",
    ];
    for commit in commits {
        let Some(db) = fresh(Server::Postgres) else {
            return;
        };
        let body = format!(
            "BEGIN;\nCREATE TABLE half (id int);\n{commit}\nCREATE TABLE other_half (id int);\nSELEC broken;\n"
        );
        let dir = files(&[
            ("1_a.up.sql", "CREATE TABLE a (id int);\n"),
            ("2_b.up.sql", body.as_str()),
        ]);
        let t = migrate(&db, dir.path(), &db.url, &["up"], &[]);
        assert_eq!(t.code, 1, "{commit}: {t}");
        let mut d = open(&db.url);
        let half = d.table_exists("half").expect("half");
        let v = d.version().expect("version");
        if half {
            assert_eq!(v, DbVersion::Dirty(2), "{commit}: part of 2 is committed");
        } else {
            assert!(
                matches!(v, DbVersion::Dirty(2) | DbVersion::Clean(1)),
                "{commit}: {v:?}"
            );
        }
        // The statement after the COMMIT ran in the implicit transaction that the error
        // rolled back, as in golang-migrate.
        assert!(
            !d.table_exists("other_half").expect("other_half"),
            "{commit}"
        );
    }
    // `-single-transaction` cannot hold such a file: refused before anything runs.
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let dir = files(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("2_b.up.sql", "CREATE TABLE half (id int);\nCOMMIT;\n"),
    ]);
    let t = migrate(
        &db,
        dir.path(),
        &db.url,
        &["-single-transaction", "up"],
        &[],
    );
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("2_b.up.sql"), "{t}");
    let mut d = open(&db.url);
    assert_eq!(d.version().expect("version"), DbVersion::Nil);
    assert!(!d.table_exists("a").expect("a") && !d.table_exists("half").expect("half"));
    // The transcript of one of them: golang-migrate's dirty state, and the next run refused
    // with the way out.
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let dir = files(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);\n"),
        (
            "2_b.up.sql",
            "CREATE TABLE half (id int);\nCOMMIT;\nSELEC broken;\n",
        ),
    ]);
    let mut s = String::new();
    for args in [&["up"][..], &["version"][..], &["up"][..]] {
        s.push_str(&format!("$ migrate {}\n", args.join(" ")));
        s.push_str(&migrate(&db, dir.path(), &db.url, args, &[]).to_string());
    }
    assert_snapshot!(s);
}

/// A file wrapped in its own `BEGIN; ... COMMIT;` (common with golang-migrate) applies and
/// leaves the version clean; `ROLLBACK TO SAVEPOINT` and a `COMMIT` inside a string or a
/// function body keep the file in migrate's transaction.
#[test]
fn postgres_files_with_transaction_statements_still_apply() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let dir = files(&[
        (
            "1_wrapped.up.sql",
            "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n",
        ),
        (
            "2_savepoint.up.sql",
            "SAVEPOINT s;\nCREATE TABLE b (id int);\nROLLBACK TO SAVEPOINT s;\nCREATE TABLE c (t text DEFAULT 'COMMIT;');\n",
        ),
        (
            "3_function.up.sql",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;\n",
        ),
    ]);
    let t = migrate(&db, dir.path(), &db.url, &["up"], &[]);
    assert_eq!(t.code, 0, "{t}");
    let mut d = open(&db.url);
    assert_eq!(d.version().expect("version"), DbVersion::Clean(3));
    assert!(d.table_exists("a").expect("a"));
    assert!(!d.table_exists("b").expect("b"));
    assert!(d.table_exists("c").expect("c"));
    assert_eq!(operations(&mut *d), ["up", "up", "up"]);
}

/// File names, host and user names that do not fit the side tables: a character set that
/// lacks their characters or a column too short. The migration applies, the bookkeeping is
/// written in a form that fits, the version is clean.
fn awkward_names_apply(db: &TestDb, url: &str) {
    let names = [
        "1_créer_表.up.sql",
        "2_emoji_🚀.up.sql",
        "3_ελληνικά.up.sql",
        "4_plain.up.sql",
    ];
    let list: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (*n, "CREATE TABLE t_ (id int);\n"))
        .collect();
    let dir = files(&list);
    for (i, n) in names.iter().enumerate() {
        std::fs::write(dir.path().join(n), format!("CREATE TABLE t{i} (id int);\n"))
            .expect("write");
    }
    let long_user = "ü".repeat(300);
    let t = migrate(db, dir.path(), url, &["up"], &[("USER", &long_user)]);
    assert_eq!(t.code, 0, "{t}");
    let mut d = open(url);
    assert_eq!(d.version().expect("version"), DbVersion::Clean(4));
    let entries = migrate::journal::entries(&mut *d, 0).expect("journal");
    assert_eq!(entries.len(), 4, "{entries:?}");
    for e in &entries {
        assert!(e.user.chars().count() <= 255, "{}", e.user);
        assert!(
            e.user.starts_with('ü') || e.user.starts_with("\\u{fc}"),
            "{}",
            e.user
        );
    }
    let files: Vec<String> = entries.iter().filter_map(|e| e.file.clone()).collect();
    assert!(files.contains(&"4_plain.up.sql".to_string()), "{files:?}");
    assert_eq!(migrate::journal::recorded(&mut *d).expect("sums").len(), 4);
    // A second run finds everything recorded.
    let t = migrate(db, dir.path(), url, &["up"], &[("USER", &long_user)]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(
        migrate::journal::entries(&mut *d, 0)
            .expect("journal")
            .len(),
        4
    );
}

#[test]
fn mysql_latin1_database_keeps_bookkeeping_of_any_file_name() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    db.driver()
        .execute(
            &format!("ALTER DATABASE {} CHARACTER SET latin1", db.name),
            &[],
        )
        .expect("latin1");
    awkward_names_apply(&db, &db.url);
    // The side tables declare utf8mb4: the names are stored as they are.
    let mut d = db.driver();
    let names = journal_files(&mut *d);
    assert!(
        names.contains(&"2_emoji_🚀.up.sql".to_string()),
        "{names:?}"
    );
}

/// Side tables created latin1 (before they declared a character set): names that latin1
/// cannot hold are escaped, never refused.
#[test]
fn mysql_existing_latin1_side_tables_store_escaped_names() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let mut d = db.driver();
    d.execute(
        &format!("ALTER DATABASE {} CHARACTER SET latin1", db.name),
        &[],
    )
    .expect("latin1");
    for sql in migrate::journal::ddl(&*d) {
        let old = sql.replace(" DEFAULT CHARACTER SET utf8mb4", "");
        assert_ne!(old, sql);
        d.execute(&old, &[]).expect("old side table");
    }
    awkward_names_apply(&db, &db.url);
    let names = journal_files(&mut *d);
    assert!(
        names.contains(&"2_emoji_\\u{1f680}.up.sql".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"1_créer_\\u{8868}.up.sql".to_string()),
        "{names:?}"
    );
}

#[test]
fn postgres_latin1_database_applies_any_file_name() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let name = format!("{}_latin1", db.name);
    let mut admin = open(&db.server.admin_url());
    admin
        .execute(
            &format!(
                "CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            ),
            &[],
        )
        .expect("latin1 database");
    let url = common::with_db(&db.url, &name);
    let result = std::panic::catch_unwind(|| {
        awkward_names_apply(&db, &url);
        let mut d = open(&url);
        let names = journal_files(&mut *d);
        assert!(
            names.contains(&"1_créer_\\u{8868}.up.sql".to_string()),
            "{names:?}"
        );
    });
    admin
        .execute(&format!("DROP DATABASE {name} WITH (FORCE)"), &[])
        .expect("drop");
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

/// Migrations table names whose derived side-table names pass the server's limit: every
/// command works, the names fit, the side tables differ, and two long names that share
/// their start get different side tables.
fn long_table_names(server: Server, lengths: &[usize], max: usize) {
    let Some(db) = fresh(server) else {
        return;
    };
    let dir = files(&[("1_a.up.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")]);
    let mut seen = std::collections::BTreeSet::new();
    for &n in lengths {
        for stem in ["t", "é"] {
            // `n` bytes: a run of `stem`, then an ASCII tail that tells lengths apart.
            let mut table = stem.repeat(n / stem.len());
            while table.len() > n {
                table.pop();
            }
            while table.len() < n {
                table.push('x');
            }
            if server == Server::Mysql && table.chars().count() > 64 {
                continue;
            }
            let url = db.url_with(&format!("x-migrations-table={table}"));
            for args in [
                &["up"][..],
                &["version"][..],
                &["status"][..],
                &["history"][..],
            ] {
                let t = migrate(&db, dir.path(), &url, args, &[]);
                assert_eq!(t.code, 0, "{} bytes, {args:?}: {t}", table.len());
            }
            let mut d = open(&url);
            let (c, j) = migrate::journal::table_names(&*d);
            let downs = migrate::journal::downs_table_name(&*d);
            for name in [&c, &j, &downs] {
                let size = match server {
                    Server::Postgres => name.len(),
                    Server::Mysql => name.chars().count(),
                };
                assert!(size <= max, "{name}");
                assert!(d.table_exists(name).expect("exists"), "{name}");
                assert!(seen.insert(name.clone()), "{name} used twice");
            }
            assert_eq!(operations(&mut *d), ["up"], "{table}");
            assert_eq!(migrate::journal::recorded(&mut *d).expect("sums").len(), 1);
        }
    }
}

#[test]
fn postgres_long_migrations_table_names() {
    long_table_names(Server::Postgres, &[40, 52, 53, 54, 55, 60, 63], 63);
}

#[test]
fn mysql_long_migrations_table_names() {
    long_table_names(Server::Mysql, &[40, 54, 55, 56, 60, 64, 80, 120], 64);
}

/// golang-migrate's checks of the `x-` options and `tls`, with its texts.
#[test]
fn mysql_options_validated_as_golang_migrate_does() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let dir = files(&[("1_a.up.sql", "CREATE TABLE a (id int);\n")]);
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls/ca.pem");
    let not_pem = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/README.md");
    let tls_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls");
    let cases = [
        "tls=custom&x-tls-ca=/nonexistent/ca.pem".to_string(),
        "tls=custom".to_string(),
        "tls=preferred".to_string(),
        format!("tls=custom&x-tls-ca={not_pem}"),
        format!("tls=custom&x-tls-ca={tls_dir}"),
        format!("tls=custom&x-tls-ca={ca}&x-tls-cert=/nonexistent/c.pem"),
        format!("tls=custom&x-tls-ca={ca}&x-tls-key=/nonexistent/k.pem"),
        format!(
            "tls=custom&x-tls-ca={ca}&x-tls-cert=/nonexistent/c.pem&x-tls-key=/nonexistent/k.pem"
        ),
        format!("tls=custom&x-tls-ca={ca}&x-tls-cert={not_pem}&x-tls-key={not_pem}"),
        format!("tls=custom&x-tls-ca={ca}&x-tls-cert={ca}&x-tls-key={ca}"),
        format!("tls=custom&x-tls-ca={ca}&x-tls-insecure-skip-verify=maybe"),
        // A boolean `tls` or skip-verify: the x-tls-* options are not read.
        "tls=false&x-tls-ca=/nonexistent/ca.pem".to_string(),
        "tls=0&x-tls-ca=/nonexistent/ca.pem&x-tls-insecure-skip-verify=maybe".to_string(),
        "x-no-lock=maybe".to_string(),
        "x-no-lock=&x-statement-timeout=".to_string(),
    ];
    let mut s = String::new();
    for params in &cases {
        let url = db.url_with(params);
        s.push_str(&format!("$ migrate -database <db>?{params} version\n"));
        let t = migrate(&db, dir.path(), &url, &["version"], &[]);
        s.push_str(&t.to_string().replace(env!("CARGO_MANIFEST_DIR"), "[REPO]"));
    }
    let s = s.replace(env!("CARGO_MANIFEST_DIR"), "[REPO]");
    assert_snapshot!(s);
}

/// Empty `x-` values are ignored, as golang-migrate's `len(s) > 0` checks do.
#[test]
fn postgres_empty_options_are_ignored() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let dir = files(&[("1_a.up.sql", "CREATE TABLE a (id int);\n")]);
    let url = db.url_with(
        "x-statement-timeout=&x-multi-statement=&x-multi-statement-max-size=&x-migrations-table-quoted=",
    );
    let t = migrate(&db, dir.path(), &url, &["up"], &[]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(
        open(&db.url).version().expect("version"),
        DbVersion::Clean(1)
    );
}

/// MySQL errors read as golang-migrate's driver (go-sql-driver v1.5.0) prints them:
/// `Error <n>: <message>`, no SQLSTATE in brackets; on connecting and in a migration.
#[test]
fn mysql_error_texts_have_no_sqlstate() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let dir = files(&[("1_a.up.sql", "CREATE TABLE a (id int);\nSELEC 1;\n")]);
    let denied = migrate(
        &db,
        dir.path(),
        "mysql://nobody:wrong@tcp(127.0.0.1:3306)/nope",
        &["up"],
        &[],
    );
    assert_eq!(denied.code, 1, "{denied}");
    // MySQL says 1045, MariaDB 1698 for a user that does not exist.
    let access = regex::Regex::new(
        r"error: failed to open database: Error 1(045|698): Access denied for user 'nobody'@",
    )
    .expect("regex");
    assert!(access.is_match(&denied.stderr), "{denied}");
    let failed = migrate(&db, dir.path(), &db.url, &["up"], &[]);
    assert_eq!(failed.code, 1, "{failed}");
    assert!(failed.stderr.contains("(details: Error 1064: "), "{failed}");
    let sqlstate = regex::Regex::new(r"Error \d+ \(").expect("regex");
    for t in [&denied, &failed] {
        assert!(!sqlstate.is_match(&t.stderr), "{t}");
    }
}
