//! Checksums, drift / missing / out-of-order refusals and their allow flags,
//! repair, adoption of a golang-migrate database, `status` (text, JSON, exit codes),
//! `history`, `validate`, and a journal row for every operation (failed ones included).

use crate::harness::{Env, Transcript};
use insta::assert_snapshot;

/// The transcript with RFC 3339 timestamps replaced (durations are already filtered) and
/// column padding collapsed (its width depends on the durations).
fn t(tr: &Transcript) -> String {
    let re = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").expect("regex");
    let s = re.replace_all(&tr.to_string(), "[TIME]").into_owned();
    let pad = regex::Regex::new(r"  +").expect("regex");
    pad.replace_all(&s, "  ").into_owned()
}

fn json(tr: &Transcript) -> serde_json::Value {
    serde_json::from_str(&tr.stdout).expect("status -format json prints JSON")
}

/// `(operation, from, to, file, outcome, error?)` rows of the journal, oldest first.
type JournalRow = (
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
);

fn journal(e: &Env) -> Vec<JournalRow> {
    let c = e.conn();
    let mut st = c
        .prepare("SELECT operation, version_from, version_to, file, outcome, error FROM schema_migrations_journal ORDER BY seq")
        .expect("journal table");
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn ops(e: &Env) -> Vec<String> {
    journal(e).into_iter().map(|r| r.0).collect()
}

fn checksum_versions(e: &Env) -> Vec<(i64, String)> {
    let c = e.conn();
    let mut st = c
        .prepare("SELECT version, direction FROM schema_migrations_checksums ORDER BY version, direction")
        .expect("checksums table");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn side_tables(e: &Env) -> i64 {
    e.conn()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('schema_migrations_journal', 'schema_migrations_checksums')",
            [],
            |r| r.get(0),
        )
        .expect("count")
}

fn append(e: &Env, rel: &str, text: &str) {
    let p = e.path(rel);
    let mut body = std::fs::read_to_string(&p).expect("read");
    body.push_str(text);
    std::fs::write(p, body).expect("write");
}

#[test]
fn drift_is_refused_then_allowed_then_repaired() {
    let e = Env::with("basic");
    e.migrate(&["up", "2"]);
    append(&e, "m/1_create_users.up.sql", "-- edited after release\n");
    let before = e.dump();
    assert_snapshot!("drift_refused", t(&e.migrate(&["up"])));
    assert_eq!(e.dump(), before, "a refusal changes nothing");
    assert_snapshot!("drift_status", t(&e.migrate(&["status"])));
    assert_snapshot!("drift_allowed", t(&e.migrate(&["-allow-drift", "up"])));
    assert_eq!(e.rows(), vec![(3, false)]);
    // still drifted: the flag lets one run through, it does not forget
    assert_eq!(e.migrate(&["up"]).code, 1);
    assert_snapshot!("repair", t(&e.migrate(&["repair"])));
    assert_snapshot!("after_repair", t(&e.migrate(&["up"])));
    assert_eq!(e.migrate(&["status"]).code, 0);
    // The automatic backup before the allowed run is journaled too (docs/backups.md).
    assert_eq!(
        ops(&e),
        vec!["up", "up", "allow-drift", "backup", "up", "repair"]
    );
}

#[test]
fn drift_in_a_down_file_is_refused() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    append(&e, "m/3_create_posts.down.sql", "DROP TABLE users;\n");
    let out = e.migrate(&["down", "1"]);
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .contains("3_create_posts.down.sql (version 3) changed"));
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn crlf_or_bom_only_change_is_not_drift() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    for f in ["m/1_create_users.up.sql", "m/2_add_email.up.sql"] {
        let body = std::fs::read_to_string(e.path(f)).expect("read");
        let crlf = body.replace('\n', "\r\n");
        std::fs::write(e.path(f), crlf).expect("write");
    }
    let p = e.path("m/3_create_posts.up.sql");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(std::fs::read(&p).expect("read"));
    std::fs::write(&p, bom).expect("write");
    assert_snapshot!("crlf_bom_no_drift", t(&e.migrate(&["up"])));
    assert_eq!(e.migrate(&["status"]).code, 0);
}

#[test]
fn missing_file_is_refused_then_allowed() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    std::fs::remove_file(e.path("m/2_add_email.up.sql")).expect("rm");
    std::fs::remove_file(e.path("m/2_add_email.down.sql")).expect("rm");
    let before = e.dump();
    assert_snapshot!("missing_refused", t(&e.migrate(&["up"])));
    assert_eq!(e.dump(), before);
    let st = e.migrate(&["status", "-format", "json"]);
    assert_eq!(st.code, 5);
    let v = json(&st);
    assert_eq!(v["migrations"][1]["state"], "missing");
    assert_eq!(v["migrations"][1]["file"], "2_add_email.up.sql");
    assert_snapshot!(
        "missing_allowed",
        t(&e.migrate(&["-allow-missing", "down", "1"]))
    );
    // Version 2's down SQL was stored when it was applied, so the down walk counts it as
    // present (golang-migrate's walks the files that exist: 3 -> 1): 3 -> 2, then 2 -> 1
    // with the stored SQL, which needs no -allow-missing.
    assert_eq!(e.rows(), vec![(2, false)]);
    assert_snapshot!("missing_stored_down", t(&e.migrate(&["down", "1"])));
    assert_eq!(e.rows(), vec![(1, false)]);
    assert!(!e.tables().contains(&"posts".to_string()));
    assert_eq!(
        checksum_versions(&e),
        vec![(1, "down".into()), (1, "up".into())]
    );
    assert_eq!(e.migrate(&["status"]).code, 3);
}

#[test]
fn db_version_without_file_keeps_golang_migrate_message() {
    // golang-migrate's doubled `no migration found` wins over the missing-file check.
    let e = Env::with("basic");
    e.migrate(&["up"]);
    std::fs::remove_file(e.path("m/3_create_posts.up.sql")).expect("rm");
    std::fs::remove_file(e.path("m/3_create_posts.down.sql")).expect("rm");
    let out = e.migrate(&["up"]);
    assert!(out
        .stderr
        .starts_with("error: no migration found for version 3: read down for version 3 .: file does not existerror: no migration found"));
    let st = e.migrate(&["status", "-format", "json"]);
    assert_eq!(st.code, 6, "database newer than the files");
}

#[test]
fn out_of_order_is_refused_then_applied() {
    let e = Env::with("basic");
    let up2 = std::fs::read_to_string(e.path("m/2_add_email.up.sql")).expect("read");
    let down2 = std::fs::read_to_string(e.path("m/2_add_email.down.sql")).expect("read");
    std::fs::remove_file(e.path("m/2_add_email.up.sql")).expect("rm");
    std::fs::remove_file(e.path("m/2_add_email.down.sql")).expect("rm");
    e.migrate(&["up"]);
    assert_eq!(e.rows(), vec![(3, false)]);
    // version 2 is merged late
    e.write("m/2_add_email.up.sql", &up2);
    e.write("m/2_add_email.down.sql", &down2);
    let before = e.dump();
    assert_snapshot!("out_of_order_refused", t(&e.migrate(&["up"])));
    assert_eq!(e.dump(), before);
    let st = e.migrate(&["status", "-format", "json"]);
    assert_eq!(st.code, 5);
    assert_eq!(json(&st)["migrations"][1]["state"], "out-of-order");
    assert_snapshot!(
        "out_of_order_allowed",
        t(&e.migrate(&["-allow-out-of-order", "up"]))
    );
    assert_eq!(e.rows(), vec![(3, false)], "the version stays");
    let has_email: i64 = e
        .conn()
        .query_row(
            "SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email'",
            [],
            |r| r.get(0),
        )
        .expect("pragma");
    assert_eq!(has_email, 1, "the late file was applied");
    let j = journal(&e);
    assert_eq!(
        j.last().map(|r| (r.0.as_str(), r.1, r.2, r.3.as_deref())),
        Some((
            "up-out-of-order",
            Some(3),
            Some(3),
            Some("2_add_email.up.sql")
        ))
    );
    assert_eq!(e.migrate(&["status"]).code, 0);
}

/// A database exactly as golang-migrate 4.19.1's sqlite3 driver leaves it after `up 2`.
fn golang_migrate_db(e: &Env) {
    let c = e.conn();
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);\n",
    )
    .expect("ddl");
    for f in ["m/1_create_users.up.sql", "m/2_add_email.up.sql"] {
        let body = std::fs::read_to_string(e.path(f)).expect("read");
        c.execute_batch(&body).expect("apply");
    }
    c.execute(
        "INSERT INTO schema_migrations (version, dirty) VALUES (2, 0)",
        [],
    )
    .expect("version");
}

#[test]
fn golang_migrate_database_is_adopted_then_protected() {
    let e = Env::with("basic");
    golang_migrate_db(&e);
    let before = e.dump();
    let st = e.migrate(&["status", "-format", "json"]);
    assert_eq!(st.code, 3, "pending");
    let v = json(&st);
    assert_eq!(v["tracked"], false);
    assert_eq!(v["migrations"][0]["state"], "applied");
    assert_eq!(e.dump(), before, "status writes nothing");
    assert_eq!(side_tables(&e), 0);
    assert_snapshot!("adopt_up", t(&e.migrate(&["up"])));
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_eq!(
        checksum_versions(&e),
        vec![
            (1, "down".into()),
            (1, "up".into()),
            (2, "down".into()),
            (2, "up".into()),
            (3, "down".into()),
            (3, "up".into())
        ]
    );
    let j = journal(&e);
    assert_eq!(j[0].0, "adopt");
    assert_eq!((j[0].1, j[0].2), (Some(2), Some(2)));
    // the automatic backup, taken after adoption, before the first step
    assert_eq!(j[1].0, "backup");
    assert_eq!(j[2].0, "up");
    // now protected
    append(&e, "m/2_add_email.up.sql", "-- changed\n");
    let out = e.migrate(&["up"]);
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .contains("2_add_email.up.sql (version 2) changed"));
}

#[test]
fn adoption_at_latest_then_no_change() {
    let e = Env::with("basic");
    golang_migrate_db(&e);
    e.migrate(&["up"]);
    let e2 = Env::with("basic");
    golang_migrate_db(&e2);
    e2.conn()
        .execute("UPDATE schema_migrations SET version = 1", [])
        .expect("v1");
    assert_eq!(e2.migrate(&["down", "1"]).code, 0);
    assert_eq!(ops(&e2), vec!["adopt", "backup", "down"]);
}

#[test]
fn status_exit_codes() {
    let e = Env::with("basic");
    // 3: pending (nothing applied), and no database file is created
    let st = e.migrate(&["status"]);
    assert_eq!(st.code, 3);
    assert!(!e.db().exists(), "status must not create the database file");
    assert_snapshot!("status_no_db", t(&st));
    // 0: up to date
    e.migrate(&["up"]);
    assert_snapshot!("status_up_to_date", t(&e.migrate(&["status"])));
    assert_eq!(e.migrate(&["status"]).code, 0);
    // 5: drift
    append(&e, "m/3_create_posts.up.sql", "-- x\n");
    assert_eq!(e.migrate(&["status"]).code, 5);
    e.migrate(&["repair"]);
    // 6: database newer than the files
    e.migrate(&["force", "9"]);
    assert_eq!(e.migrate(&["status"]).code, 6);
    // 4: dirty
    e.conn()
        .execute("UPDATE schema_migrations SET version = 3, dirty = 1", [])
        .expect("dirty");
    let st = e.migrate(&["status", "-format", "json"]);
    assert_eq!(st.code, 4);
    assert_eq!(json(&st)["dirty"], true);
    // 1: error (an unknown format; a missing source)
    assert_eq!(e.migrate(&["status", "-format", "yaml"]).code, 1);
    let out = e.run(&["-path", "nowhere", "-database", &e.url(), "status"]);
    assert_eq!(out.code, 1);
}

#[test]
fn status_on_a_fresh_database_creates_nothing() {
    let e = Env::with("basic");
    std::fs::write(e.db(), b"").expect("empty db file");
    assert_eq!(e.migrate(&["status"]).code, 3);
    assert_eq!(e.dump(), "", "no version table, no side tables");
    assert_eq!(e.migrate(&["history"]).code, 0);
    assert_eq!(e.dump(), "");
}

#[test]
fn status_json_shape() {
    let e = Env::with("basic");
    e.migrate(&["up", "2"]);
    let st = e.migrate(&["status", "-format", "json", "-journal", "1"]);
    assert_eq!(st.code, 3);
    let v = json(&st);
    assert_eq!(v["version"], 2);
    assert_eq!(v["dirty"], false);
    assert_eq!(v["latest"], 3);
    assert_eq!(v["tracked"], true);
    assert_eq!(v["verdict"], "pending");
    assert_eq!(v["exit_code"], 3);
    let m = v["migrations"].as_array().expect("migrations");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["version"], 1);
    assert_eq!(m[0]["name"], "create_users");
    assert_eq!(m[0]["file"], "1_create_users.up.sql");
    assert_eq!(m[0]["state"], "applied");
    assert!(m[0]["applied_at"]
        .as_str()
        .is_some_and(|s| s.ends_with('Z')));
    assert!(m[0]["duration_ms"].is_u64());
    assert_eq!(m[0]["recorded_checksum"], m[0]["current_checksum"]);
    assert_eq!(m[2]["state"], "pending");
    assert!(m[2]["applied_at"].is_null());
    let j = v["journal"].as_array().expect("journal");
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["operation"], "up");
    assert_eq!(j[0]["version_from"], 1);
    assert_eq!(j[0]["version_to"], 2);
    assert_eq!(j[0]["outcome"], "ok");
    assert_eq!(j[0]["tool_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn journal_row_for_every_operation_failed_ones_included() {
    let e = Env::with("failing");
    let out = e.migrate(&["up"]);
    assert_eq!(out.code, 1);
    e.migrate(&["down", "1"]);
    e.migrate(&["force", "2"]);
    e.migrate(&["repair"]);
    let j = journal(&e);
    let short: Vec<(&str, Option<i64>, Option<i64>, &str)> = j
        .iter()
        .map(|r| (r.0.as_str(), r.1, r.2, r.4.as_str()))
        .collect();
    assert_eq!(
        short,
        vec![
            ("up", None, Some(1), "ok"),
            ("up", Some(1), Some(2), "ok"),
            ("up", Some(2), Some(3), "failed"),
            // automatic backups (docs/backups.md); the first run started at nil: none
            ("backup", Some(2), Some(2), "ok"),
            ("down", Some(2), Some(1), "ok"),
            ("backup", Some(1), Some(1), "ok"),
            ("force", Some(1), Some(2), "ok"),
            ("repair", Some(2), Some(2), "ok"),
        ]
    );
    let failed = &j[2];
    assert_eq!(failed.3.as_deref(), Some("3_broken.up.sql"));
    assert!(failed
        .5
        .as_deref()
        .is_some_and(|e| e.contains("syntax error")));
    // the failed step rolled back: no checksum for version 3
    assert!(checksum_versions(&e).iter().all(|(v, _)| *v != 3));
    assert_snapshot!("history", t(&e.migrate(&["history", "-limit", "3"])));
    let h = e.migrate(&["history", "-format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&h.stdout).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(8));
    assert_eq!(v[0]["operation"], "repair", "newest first");
    // drop recreates the journal and records itself
    assert_eq!(e.migrate(&["drop", "-f"]).code, 0);
    assert_eq!(ops(&e), vec!["drop"]);
    assert_eq!(journal(&e)[0].1, Some(2));
}

#[test]
fn failed_step_without_transaction_is_journaled() {
    let e = Env::with("failing");
    let url = format!("{}?x-no-tx-wrap=true", e.url());
    let m = e.path("m").display().to_string();
    let out = e.run(&["-path", &m, "-database", &url, "up"]);
    assert_eq!(out.code, 1);
    assert_eq!(e.rows(), vec![(3, true)]);
    let j = journal(&e);
    assert_eq!(j.len(), 3);
    assert_eq!(j[2].4, "failed");
}

#[test]
fn validate_reports_lookalikes_and_warnings() {
    let e = Env::with("noise");
    let out = e.run(&["-path", "m", "validate"]);
    assert_eq!(out.code, 1);
    assert_snapshot!("validate_noise", t(&out));
    let e = Env::with("gaps");
    let out = e.run(&["-path", "m", "validate"]);
    assert_eq!(out.code, 0);
    assert_snapshot!("validate_gaps", t(&out));
    let e = Env::with("basic");
    let out = e.run(&["-path", "m", "validate", "-format", "json"]);
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["errors"], 0);
    assert!(!e.db().exists());
}
