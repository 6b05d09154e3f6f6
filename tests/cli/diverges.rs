//! Each deliberate difference from golang-migrate (README "Differences"), one test each.

use crate::harness::Env;
use insta::assert_snapshot;

fn with_params(e: &Env, params: &str, args: &[&str]) -> crate::harness::Transcript {
    let url = format!("{}?{params}", e.url());
    let mut all = vec![
        "-path".to_string(),
        e.path("m").display().to_string(),
        "-database".into(),
        url,
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    e.run_with(&all, None)
}

#[test]
fn diverges_failed_migration_leaves_clean_previous_version() {
    // golang-migrate: `3 (dirty)`; migrate: the body and the version write roll back together.
    let e = Env::with("failing");
    let t = e.migrate(&["up"]);
    assert_eq!(t.code, 1);
    assert_eq!(e.rows(), vec![(2, false)]);
    assert_eq!(e.tables(), vec!["a", "b"], "nothing of 3 persists");
    // fix the file and run again: no force needed
    e.write("m/3_broken.up.sql", "CREATE TABLE c (id INTEGER);\n");
    assert_eq!(e.migrate(&["up"]).code, 0);
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn diverges_failed_down_leaves_clean_version() {
    let e = Env::with("failing_down");
    e.migrate(&["up"]);
    let before = e.dump();
    let t = e.migrate(&["down", "1"]);
    assert_snapshot!(t.to_string());
    assert_eq!(e.dump(), before);
}

#[test]
fn diverges_fk_rebuild_keeps_child_rows() {
    // golang-migrate with _foreign_keys=on: DROP TABLE parent cascades into child.
    let e = Env::with("fk_rebuild");
    let t = with_params(&e, "_foreign_keys=on", &["up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.count("child"), 3);
    // and back down
    let t = with_params(&e, "_foreign_keys=on", &["down", "1"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.count("child"), 3);
}

#[test]
fn diverges_ccbackend_rebuild_keeps_jobtags() {
    let e = Env::with("ccbackend");
    let t = with_params(&e, "_foreign_keys=on", &["up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.count("jobtag"), 1);
    assert_eq!(e.rows(), vec![(5, false)]);
}

#[test]
fn diverges_fk_violation_aborts() {
    let e = Env::with("fk_violation");
    with_params(&e, "_foreign_keys=on", &["up", "1"]);
    let before = e.dump();
    let t = with_params(&e, "_foreign_keys=on", &["up"]);
    assert_snapshot!(t.to_string());
    assert_eq!(e.dump(), before);
}

#[test]
fn diverges_own_transaction_refused() {
    // golang-migrate: `cannot start a transaction within a transaction` and a dirty DB.
    let e = Env::with("own_transaction");
    let t = e.migrate(&["up"]);
    assert_snapshot!(t.to_string());
    assert_eq!(e.rows(), vec![]);
    assert!(e.tables().is_empty());
    // the documented way out works
    let t = with_params(&e, "x-no-tx-wrap=true", &["up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.tables(), vec!["x"]);
}

#[test]
fn diverges_vacuum_refused_with_way_out() {
    let e = Env::with("vacuum");
    let t = e.migrate(&["up"]);
    assert_snapshot!(t.to_string());
    assert_eq!(e.rows(), vec![(1, false)]);
    let t = with_params(&e, "x-no-tx-wrap=true", &["up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.rows(), vec![(2, false)]);
}

#[test]
fn diverges_pragma_foreign_keys_in_file_is_harmless() {
    let e = Env::with("pragma_fk");
    let t = e.migrate(&["up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.rows(), vec![(1, false)]);
}

#[test]
fn diverges_drop_handles_autoincrement() {
    // golang-migrate #1138: `table sqlite_sequence may not be dropped`.
    let e = Env::with("basic");
    e.migrate(&["up"]);
    e.conn()
        .execute_batch("CREATE TABLE auto (id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO auto DEFAULT VALUES; CREATE VIEW v AS SELECT * FROM users;")
        .expect("setup");
    let t = e.migrate(&["drop", "-f"]);
    assert_eq!(t.code, 0, "{t}");
    let left: i64 = e
        .conn()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND tbl_name NOT LIKE 'schema_migrations_%'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
}

#[test]
fn diverges_database_url_from_environment() {
    let e = Env::with("basic");
    let out = e
        .command()
        .args(["-path", "m", "up"])
        .env("DATABASE_URL", e.url())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn diverges_spaces_in_path() {
    // golang-migrate: `parse "file://my dir": invalid character " " in host name`
    let e = Env::new();
    std::fs::create_dir_all(e.path("my dir")).expect("mkdir");
    std::fs::copy(
        crate::harness::repo().join("testdata/basic/1_create_users.up.sql"),
        e.path("my dir/1_create_users.up.sql"),
    )
    .expect("copy");
    let t = e.run(&["-path", "my dir", "-database", "sqlite3://x.db", "up"]);
    assert_eq!(t.code, 0, "{t}");
}

#[test]
fn diverges_version_read_errors_are_reported() {
    // golang-migrate's sqlite3 driver swallows every read error as "no version".
    let e = Env::with("basic");
    std::fs::write(e.db(), b"this is not a sqlite database, just text.....................................................................................").expect("write");
    let before = std::fs::read(e.db()).expect("read");
    let t = e.migrate(&["version"]);
    assert_snapshot!(t.to_string());
    assert_eq!(std::fs::read(e.db()).expect("read"), before);
}

/// `-single-transaction` (extension): every pending step commits together or not at all.
#[test]
fn single_transaction_is_all_or_nothing() {
    let e = Env::with("failing");
    let t = e.run(&[
        "-single-transaction",
        "-path",
        "m",
        "-database",
        &e.url(),
        "up",
    ]);
    assert_snapshot!("single_transaction_failure", t.to_string());
    // 1 and 2 ran fine but roll back with 3: nothing applied.
    assert_eq!(e.rows(), vec![]);
    assert!(e.tables().is_empty(), "{:?}", e.tables());
    // the failure is journaled after the rollback
    let n: i64 = e
        .conn()
        .query_row(
            "SELECT count(*) FROM schema_migrations_journal WHERE operation = 'single-transaction' AND outcome <> 'ok'",
            [],
            |r| r.get(0),
        )
        .expect("journal");
    assert_eq!(n, 1);

    let ok = Env::with("basic");
    let t = ok.run(&[
        "-single-transaction",
        "-path",
        "m",
        "-database",
        &ok.url(),
        "up",
    ]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(ok.rows(), vec![(3, false)]);
    assert_eq!(ok.tables(), vec!["posts", "users"]);
    // down as well
    let t = ok.run(&[
        "-single-transaction",
        "-path",
        "m",
        "-database",
        &ok.url(),
        "down",
        "-all",
    ]);
    assert_eq!(t.code, 0, "{t}");
    assert!(ok.tables().is_empty());
}

#[test]
fn single_transaction_refuses_non_transactional_runs() {
    let e = Env::with("basic");
    let url = format!("{}?x-no-tx-wrap=true", e.url());
    let t = e.run(&["-single-transaction", "-path", "m", "-database", &url, "up"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(
        t.stderr.contains("-single-transaction needs every file"),
        "{t}"
    );
    assert_eq!(e.rows(), vec![]);
}

#[test]
fn diverges_create_refuses_control_characters() {
    // golang-migrate writes `1_a\nb.up.sql`, which its own `up` then ignores.
    let e = Env::new();
    let t = e.run(&["create", "-ext", "sql", "-dir", "m", "-seq", "add\nusers"]);
    assert_snapshot!(t.to_string());
    // Every control character, anywhere in the name or in -ext: refused, nothing written.
    let controls = (1u8..0x20)
        .map(char::from)
        .chain(['\u{7f}', '\u{85}', '\u{9b}']);
    for c in controls {
        for (name, ext) in [
            (format!("{c}x"), "sql".to_string()),
            (format!("add{c}users"), "sql".to_string()),
            (format!("x{c}"), "sql".to_string()),
            ("x".to_string(), format!("sq{c}l")),
        ] {
            let t = e.run(&["create", "-ext", &ext, "-dir", "m", "-seq", &name]);
            assert_eq!(t.code, 1, "{c:?}: {t}");
            assert!(t.stderr.contains("control character"), "{c:?}: {t}");
        }
    }
    assert!(!e.path("m").exists() || std::fs::read_dir(e.path("m")).expect("m").count() == 0);
    // Printable names still work.
    let t = e.run(&[
        "create",
        "-ext",
        "sql",
        "-dir",
        "m",
        "-seq",
        "add users ünïcode",
    ]);
    assert_eq!(t.code, 0, "{t}");
}

#[test]
fn diverges_validate_flags_control_characters() {
    let e = Env::with("basic");
    e.write(
        "m/4_add\nindex.up.sql",
        "CREATE INDEX i ON users (username);\n",
    );
    e.write("m/4_add\tindex.down.sql", "DROP INDEX i;\n");
    let t = e.run(&["-path", "m", "validate"]);
    assert_snapshot!(t.to_string());
    assert_ne!(t.code, 0, "{t}");
}
