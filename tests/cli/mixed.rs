//! Judging after other tools (docs/journal.md, "Reconciliation"): `-dry-run` refuses exactly
//! what the run refuses (same message, same exit code) and prints its plan only when the run
//! would go ahead; `rehearse` judges as the run does; `status` shows a dirty version as
//! dirty; `repair` keeps the applied time of files that did not change. The golang-migrate
//! sequences on every driver are in tests/mixed_tools.rs.

use crate::harness::{Env, Transcript};
use insta::assert_snapshot;

/// The transcript with RFC 3339 timestamps replaced and column padding collapsed.
fn t(tr: &Transcript) -> String {
    let re = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").expect("regex");
    let s = re.replace_all(&tr.to_string(), "[TIME]").into_owned();
    let pad = regex::Regex::new(r"  +").expect("regex");
    pad.replace_all(&s, "  ").into_owned()
}

/// golang-migrate's `up 1` as its sqlite3 driver does it: dirty row, body, clean row.
fn golang_migrate_up(e: &Env, file: &str, version: i64) {
    let c = e.conn();
    let set = |v: i64, dirty: bool| {
        c.execute_batch(&format!(
            "BEGIN; DELETE FROM schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES ({v}, {}); COMMIT;",
            i64::from(dirty)
        ))
        .expect("set version");
    };
    set(version, true);
    let body = std::fs::read_to_string(e.path(file)).expect("read");
    c.execute_batch(&body).expect("body");
    set(version, false);
}

/// Removes version 2's files and returns what puts them back (a file merged late).
fn hide_version_2(e: &Env) -> impl Fn() + '_ {
    let files: Vec<(String, String)> = ["m/2_add_email.up.sql", "m/2_add_email.down.sql"]
        .iter()
        .map(|f| {
            let body = std::fs::read_to_string(e.path(f)).expect("read");
            std::fs::remove_file(e.path(f)).expect("rm");
            (f.to_string(), body)
        })
        .collect();
    move || {
        for (f, body) in &files {
            e.write(f, body);
        }
    }
}

fn append(e: &Env, rel: &str, text: &str) {
    let p = e.path(rel);
    let mut body = std::fs::read_to_string(&p).expect("read");
    body.push_str(text);
    std::fs::write(p, body).expect("write");
}

/// `-dry-run ARGS` and the real `ARGS` refuse alike, and neither changes the database.
fn refused_alike(e: &Env, args: &[&str]) -> String {
    let before = e.dump();
    let mut dry_args = vec!["-dry-run"];
    dry_args.extend_from_slice(args);
    let dry = e.migrate(&dry_args);
    assert_eq!(e.dump(), before, "the dry run changed the database");
    let real = e.migrate(args);
    assert_eq!(e.dump(), before, "the refused run changed the database");
    assert_ne!(real.code, 0, "{real}");
    assert_eq!((dry.code, &dry.stderr), (real.code, &real.stderr));
    assert_eq!(dry.stdout, "", "a refused dry run prints no plan");
    t(&dry)
}

#[test]
fn dry_run_refuses_what_the_run_refuses() {
    let mut out = String::new();
    // drift
    let e = Env::with("basic");
    e.migrate(&["up"]);
    append(&e, "m/1_create_users.up.sql", "-- edited\n");
    out.push_str("$ migrate -dry-run up   # drift\n");
    out.push_str(&refused_alike(&e, &["up"]));
    // missing
    let e = Env::with("basic");
    e.migrate(&["up"]);
    std::fs::remove_file(e.path("m/2_add_email.up.sql")).expect("rm");
    std::fs::remove_file(e.path("m/2_add_email.down.sql")).expect("rm");
    out.push_str("$ migrate -dry-run down 1   # missing\n");
    out.push_str(&refused_alike(&e, &["down", "1"]));
    // out of order
    let e = Env::with("basic");
    let late = hide_version_2(&e);
    e.migrate(&["up"]);
    late();
    out.push_str("$ migrate -dry-run goto 3   # out of order\n");
    out.push_str(&refused_alike(&e, &["goto", "3"]));
    // dirty
    let e = Env::with("basic");
    e.migrate(&["up", "1"]);
    e.conn()
        .execute("UPDATE schema_migrations SET version = 2, dirty = 1", [])
        .expect("dirty");
    out.push_str("$ migrate -dry-run up   # dirty\n");
    out.push_str(&refused_alike(&e, &["up"]));
    // golang-migrate's own refusal: the database's version has no file
    let e = Env::with("basic");
    e.migrate(&["up"]);
    std::fs::remove_file(e.path("m/3_create_posts.up.sql")).expect("rm");
    std::fs::remove_file(e.path("m/3_create_posts.down.sql")).expect("rm");
    out.push_str("$ migrate -dry-run up   # no file for the database's version\n");
    out.push_str(&refused_alike(&e, &["up"]));
    assert_snapshot!("dry_run_refusals", out);
}

/// With `-allow-out-of-order` the run goes ahead and applies the late file first, at the
/// current version: the dry run's plan shows that step first.
#[test]
fn dry_run_plans_what_the_run_does() {
    let e = Env::with("basic");
    let late = hide_version_2(&e);
    e.migrate(&["up"]);
    late();
    let before = e.dump();
    let dry = e.migrate(&["-allow-out-of-order", "-dry-run", "up"]);
    assert_eq!(e.dump(), before);
    assert_eq!(dry.code, 0, "{dry}");
    assert_snapshot!("dry_run_late_file_first", t(&dry));
    let real = e.migrate(&["-allow-out-of-order", "up"]);
    assert_eq!(real.code, 0, "{real}");
    assert!(real.stderr.contains("2/u add_email"), "{real}");
}

/// After golang-migrate went up twice, `rehearse` (on a copy) adopts versions 2 and 3 as
/// the run would, instead of refusing 2 as out of order; a real out-of-order file is
/// refused by `rehearse` with the run's message.
#[test]
fn rehearse_judges_as_the_run_does() {
    let e = Env::with("basic");
    e.migrate(&["up", "1"]);
    golang_migrate_up(&e, "m/2_add_email.up.sql", 2);
    golang_migrate_up(&e, "m/3_create_posts.up.sql", 3);
    e.write(
        "m/4_tags.up.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    let before = e.dump();
    let r = e.migrate(&["rehearse"]);
    assert_eq!(e.dump(), before, "rehearse changes nothing");
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("4/u tags"), "{r}");
    let up = e.migrate(&["up"]);
    assert_eq!(up.code, 0, "{up}");
    // A file merged below a version migrate applied is out of order, for both.
    let e2 = Env::with("basic");
    let late = hide_version_2(&e2);
    e2.migrate(&["up"]);
    late();
    let rehearsed = e2.migrate(&["rehearse"]);
    let real = e2.migrate(&["up"]);
    assert_eq!(rehearsed.code, 1, "{rehearsed}");
    let refusal = real.stderr.lines().next().expect("error line");
    assert!(refusal.contains("was never applied"), "{real}");
    assert!(rehearsed.stderr.contains(refusal), "{rehearsed}\n{real}");
}

#[test]
fn status_shows_a_dirty_version_as_dirty() {
    let e = Env::with("basic");
    e.migrate(&["up", "1"]);
    // golang-migrate's `up 1` failed in 2's body: the dirty row stays.
    e.conn()
        .execute("UPDATE schema_migrations SET version = 2, dirty = 1", [])
        .expect("dirty");
    let st = e.migrate(&["status"]);
    assert_eq!(st.code, 4);
    assert_snapshot!("status_dirty", t(&st));
    let json: serde_json::Value =
        serde_json::from_str(&e.migrate(&["status", "-format", "json"]).stdout).expect("json");
    let states: Vec<&str> = json["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| m["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["applied", "dirty", "pending"]);
    assert!(json["migrations"][1]["applied_at"].is_null());
}

/// `(version, direction, checksum, applied_at, duration_ms)` rows.
type Row = (i64, String, String, String, Option<i64>);

fn checksum_rows(e: &Env) -> Vec<Row> {
    let c = e.conn();
    let mut st = c
        .prepare("SELECT version, direction, checksum, applied_at, duration_ms FROM schema_migrations_checksums ORDER BY version, direction")
        .expect("checksums");
    st.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

#[test]
fn repair_keeps_the_applied_time_of_unchanged_files() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    let before = checksum_rows(&e);
    append(&e, "m/2_add_email.up.sql", "-- edited\n");
    std::fs::remove_file(e.path("m/3_create_posts.down.sql")).expect("rm");
    // The repair's own time differs from every recorded one (milliseconds).
    std::thread::sleep(std::time::Duration::from_millis(5));
    let r = e.migrate(&["repair"]);
    assert_eq!(r.code, 0, "{r}");
    let after = checksum_rows(&e);
    let key = |r: &Row| (r.0, r.1.clone());
    for row in &before {
        let now = after.iter().find(|a| key(a) == key(row));
        match (row.0, row.1.as_str()) {
            (2, "up") => {
                let now = now.expect("2 up is recorded");
                assert_ne!(now.2, row.2, "the edited file's checksum is recorded");
                assert_ne!(now.3, row.3, "the edited file is recorded at the repair");
                assert_eq!(now.4, None);
            }
            (3, "down") => assert!(now.is_none(), "a gone file's row is forgotten"),
            _ => assert_eq!(now, Some(row), "an unchanged file keeps its row"),
        }
    }
    assert_eq!(after.len(), before.len() - 1);
    assert_eq!(e.migrate(&["status"]).code, 0);
}
