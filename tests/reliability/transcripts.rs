//! Transcripts of the hostile migrations behind the generated cases (generated.rs): what
//! the user sees when a file breaks the schema, shadows migrate's tables, attaches another
//! database in a rehearsal, or leaves a foreign-key violation without a transaction.

use crate::harness::Env;
use insta::assert_snapshot;

/// `testdata/basic` at version 3 with a user, a post referencing it, and `files` added.
fn at_three(files: &[(&str, &str)]) -> Env {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up"]).code, 0);
    e.conn()
        .execute_batch(
            "INSERT INTO users (id, username) VALUES (1, 'ann');
             INSERT INTO posts (user_id, title) VALUES (1, 'hello');",
        )
        .expect("rows");
    for (name, body) in files {
        e.write(&format!("m/{name}"), body);
    }
    e
}

const BREAK_SCHEMA: &str = "PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = 'CREATE TABLE posts (' WHERE name = 'posts';
PRAGMA writable_schema = OFF;
";

fn newest(e: &Env, prefix: &str) -> std::path::PathBuf {
    let mut v: Vec<_> = std::fs::read_dir(e.dir.path())
        .expect("ls")
        .flatten()
        .map(|x| x.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    v.sort();
    v.pop().expect("a file with that prefix")
}

fn opens(p: &std::path::Path) -> bool {
    rusqlite::Connection::open(p)
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .is_ok()
}

#[test]
fn transcript_schema_edit_fails_the_check_and_restore_on_failure_undoes_it() {
    let e = at_three(&[("4_break.up.sql", BREAK_SCHEMA)]);
    let t = e.migrate(&["-integrity-check", "full", "-restore-on-failure", "up"]);
    assert_snapshot!("schema_edit_restore_on_failure", t.to_string());
    assert_eq!(e.rows(), [(3, false)]);
    assert_eq!(e.count("posts"), 1);
    // The broken file was kept as it was: it still cannot be opened.
    assert!(!opens(&newest(&e, "db.sqlite.unopenable-")));
}

#[test]
fn transcript_restore_of_an_unopenable_database_keeps_its_bytes() {
    let e = at_three(&[("4_break.up.sql", BREAK_SCHEMA)]);
    let t = e.migrate(&["up"]);
    assert_snapshot!("schema_edit_fails_the_check", t.to_string());
    assert!(!opens(&e.db()));
    let broken = std::fs::read(e.db()).expect("read");
    let backup = newest(&e, "db.sqlite.backup-").display().to_string();
    let t = e.migrate(&["restore", &backup]);
    assert_snapshot!("restore_of_an_unopenable_database", t.to_string());
    let saved = newest(&e, "db.sqlite.unopenable-");
    assert_eq!(std::fs::read(&saved).expect("saved"), broken);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private like a backup");
    }
    assert_eq!(e.rows(), [(3, false)]);
    assert_eq!(e.count("posts"), 1);
}

#[test]
fn transcript_temp_schema_migrations_cannot_hide_the_version() {
    let e = at_three(&[
        (
            "4_shadow.up.sql",
            "CREATE TEMP TABLE schema_migrations (version uint64, dirty bool);\nINSERT INTO schema_migrations VALUES (3, 0);\n",
        ),
        ("5_more.up.sql", "CREATE TABLE more (x);\n"),
    ]);
    let t = e.migrate(&["up"]);
    assert_snapshot!("temp_shadow_up", t.to_string());
    assert_eq!(e.rows(), [(5, false)]);
}

#[test]
fn transcript_rehearse_refuses_to_attach_a_file() {
    let e = at_three(&[(
        "4_attach.up.sql",
        "ATTACH DATABASE 'db.sqlite' AS real;\nDELETE FROM real.posts;\n",
    )]);
    let before = std::fs::read(e.db()).expect("read");
    let t = e.migrate(&["rehearse"]);
    assert_snapshot!("rehearse_attach", t.to_string());
    assert_eq!(std::fs::read(e.db()).expect("read"), before);
}

#[test]
fn transcript_violation_without_a_transaction_stays_dirty() {
    let e = at_three(&[(
        "4_orphan.up.sql",
        "PRAGMA foreign_keys = ON;\nDELETE FROM users;\n",
    )]);
    let url = format!("{}?x-no-tx-wrap=true", e.url());
    let m = e.path("m").display().to_string();
    let t = e.run(&["-path", &m, "-database", &url, "-no-backup", "up"]);
    assert_snapshot!("no_tx_violation_dirty", t.to_string());
    // Foreign keys were off: the post was not deleted with its user.
    assert_eq!(e.count("posts"), 1);
    assert_eq!(e.rows(), [(4, true)]);
}

#[test]
fn transcript_schema_edit_before_a_failing_file_is_undone() {
    let e = at_three(&[
        ("4_break.up.sql", BREAK_SCHEMA),
        ("5_fails.up.sql", "SELECT * FROM no_such_table;\n"),
    ]);
    let t = e.migrate(&["-restore-on-failure", "up"]);
    assert_snapshot!("schema_edit_then_failure_restored", t.to_string());
    assert!(opens(&e.db()));
    assert_eq!(e.rows(), [(3, false)]);
    assert_eq!(e.count("posts"), 1);
}
