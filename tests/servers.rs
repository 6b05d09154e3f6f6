//! Transcript tests of the real `migrate` binary against the PostgreSQL and MariaDB
//! servers: up/down/goto/force/version/drop, failures, locking and concurrent runs.
//! Each test uses a fresh database (tests/common); its name and durations are filtered
//! out of the snapshots. Database state is checked directly, never by parsing output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fresh, Server, TestDb};
use insta::assert_snapshot;
use migrate::driver::Value;
use migrate::DbVersion;

#[path = "common/harness.rs"]
mod harness;

use harness::Transcript;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn filter(db: &TestDb, s: &str) -> String {
    let s = s.replace(&db.name, "[DB]");
    // Lock keys derive from the database name.
    let key = regex::Regex::new(r"(GET_LOCK\('|pg_advisory_lock\()\d+").expect("regex");
    let s = key.replace_all(&s, "${1}[KEY]").into_owned();
    let s = common::filter_durations(&s);
    let ts = regex::Regex::new(r"(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ").expect("regex");
    ts.replace_all(&s, "[TS] ").into_owned()
}

/// [`common::migrate_command`] with stdout and stderr captured.
fn command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = common::migrate_command(dir, url, args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

fn run_url(db: &TestDb, url: &str, fix: &str, args: &[&str]) -> Transcript {
    let out = command(&fixture(fix), url, args)
        .output()
        .expect("run migrate");
    Transcript {
        code: out.status.code().unwrap_or(-1),
        stdout: filter(db, &String::from_utf8_lossy(&out.stdout)),
        stderr: filter(db, &String::from_utf8_lossy(&out.stderr)),
    }
}

fn run(db: &TestDb, fix: &str, args: &[&str]) -> Transcript {
    run_url(db, &db.url, fix, args)
}

/// Several commands, each transcript after a `$ migrate ARGS` line.
fn session(db: &TestDb, fix: &str, commands: &[&[&str]]) -> String {
    let mut out = String::new();
    for args in commands {
        out.push_str(&format!("$ migrate {}\n", args.join(" ")));
        out.push_str(&run(db, fix, args).to_string());
    }
    out
}

fn version(db: &TestDb) -> DbVersion {
    db.driver().version().expect("version")
}

fn lifecycle(server: Server) -> Option<String> {
    let db = fresh(server)?;
    let s = session(
        &db,
        "conformance",
        &[
            &["version"],
            &["up", "2"],
            &["version"],
            &["up"],
            &["up"],
            &["down", "1"],
            &["goto", "1"],
            &["goto", "3"],
            &["force", "2"],
            &["version"],
            &["force", "3"],
            &["down", "-all"],
            &["version"],
            &["up"],
            &["drop", "-f"],
        ],
    );
    let mut d = db.driver();
    assert!(!d.table_exists("users").expect("exists"));
    assert!(!d.table_exists("schema_migrations").expect("exists"));
    Some(s)
}

#[test]
fn postgres_lifecycle() {
    if let Some(s) = lifecycle(Server::Postgres) {
        assert_snapshot!(s);
    }
}

#[test]
fn mysql_lifecycle() {
    if let Some(s) = lifecycle(Server::Mysql) {
        assert_snapshot!(s);
    }
}

#[test]
fn diverges_postgres_failure_leaves_previous_version_clean() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let s = session(
        &db,
        "conformance_failing",
        &[&["up"], &["version"], &["up"]],
    );
    assert_snapshot!(s);
    assert_eq!(version(&db), DbVersion::Clean(1));
    let mut d = db.driver();
    assert!(d.table_exists("a").expect("a"));
    assert!(
        !d.table_exists("c").expect("c"),
        "the failed file rolled back"
    );
}

#[test]
fn mysql_failure_leaves_dirty_version() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let s = session(
        &db,
        "conformance_failing",
        &[
            &["up"],
            &["version"],
            &["up"],
            &["force", "1"],
            &["version"],
        ],
    );
    assert_snapshot!(s);
    assert_eq!(version(&db), DbVersion::Clean(1));
    // MySQL DDL autocommits: the statement before the error persists, as in golang-migrate.
    assert!(db.driver().table_exists("c").expect("c"));
}

/// Eight `migrate up` processes at once: each migration runs exactly once.
fn concurrent_up(server: Server) {
    let Some(db) = fresh(server) else {
        return;
    };
    let dir = fixture("concurrent");
    let children: Vec<_> = (0..8)
        .map(|_| {
            command(&dir, &db.url, &["-lock-timeout", "60", "up"])
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut applied_lines = 0;
    for c in children {
        let out = c.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        applied_lines += stderr.lines().filter(|l| l.contains("/u ")).count();
    }
    assert_eq!(applied_lines, 6, "each migration reported once");
    let rows = db
        .driver()
        .query("SELECT v, COUNT(*) FROM applied GROUP BY v ORDER BY v", &[])
        .expect("rows");
    let got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| (r[0].as_i64().expect("v"), r[1].as_i64().expect("n")))
        .collect();
    assert_eq!(got, (1..=6).map(|v| (v, 1)).collect::<Vec<_>>());
    assert_eq!(version(&db), DbVersion::Clean(6));
}

#[test]
fn postgres_concurrent_up_applies_each_migration_once() {
    concurrent_up(Server::Postgres);
}

#[test]
fn mysql_concurrent_up_applies_each_migration_once() {
    concurrent_up(Server::Mysql);
}

/// golang-migrate's own lock (same key) held elsewhere: migrate waits, then times out.
fn lock_held_by_golang_migrate(server: Server) -> Option<String> {
    let db = fresh(server)?;
    let mut holder = db.driver();
    match server {
        Server::Postgres => {
            let key = migrate::driver::lockkey::advisory_lock_id(
                &format!("/{}", db.name),
                &["public", "schema_migrations"],
            );
            holder
                .query("SELECT pg_advisory_lock($1)", &[Value::Int(key.into())])
                .expect("lock");
        }
        Server::Mysql => {
            let name = migrate::driver::lockkey::advisory_lock_id(
                &format!("{}:schema_migrations", db.name),
                &[],
            );
            let got = holder
                .query("SELECT GET_LOCK(?, 1)", &[Value::Text(name.to_string())])
                .expect("lock");
            assert_eq!(got[0][0].as_i64(), Some(1));
        }
    }
    let started = std::time::Instant::now();
    let t = run(&db, "conformance", &["-lock-timeout", "1", "up"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(version(&db), DbVersion::Nil);
    drop(holder); // session ends, lock released
    let after = run(&db, "conformance", &["up"]);
    assert_eq!(after.code, 0, "{after}");
    Some(t.to_string())
}

/// The same held lock, a long `-lock-timeout`: SIGINT ends the wait at once, nothing runs.
fn sigint_stops_the_lock_wait(server: Server) {
    let Some(db) = fresh(server) else {
        return;
    };
    let mut holder = db.driver();
    let (sql, key) = match server {
        Server::Postgres => (
            "SELECT pg_advisory_lock($1)",
            Value::Int(
                migrate::driver::lockkey::advisory_lock_id(
                    &format!("/{}", db.name),
                    &["public", "schema_migrations"],
                )
                .into(),
            ),
        ),
        Server::Mysql => (
            "SELECT GET_LOCK(?, 1)",
            Value::Text(
                migrate::driver::lockkey::advisory_lock_id(
                    &format!("{}:schema_migrations", db.name),
                    &[],
                )
                .to_string(),
            ),
        ),
    };
    holder.query(sql, &[key]).expect("lock");
    let mut child = command(
        &fixture("conformance"),
        &db.url,
        &["-lock-timeout", "600", "up"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn");
    // The signal goes once the process says it is waiting for the lock.
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut stderr = String::new();
    while !stderr.contains("waiting for the migration lock") {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut err, &mut line).expect("read stderr");
        assert!(n > 0, "ended before waiting for the lock: {stderr}");
        stderr.push_str(&line);
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(killed);
    std::io::Read::read_to_string(&mut err, &mut stderr).expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted while waiting for"), "{stderr}");
    assert_eq!(version(&db), DbVersion::Nil);
}

#[test]
fn postgres_sigint_stops_the_lock_wait() {
    sigint_stops_the_lock_wait(Server::Postgres);
}

#[test]
fn mysql_sigint_stops_the_lock_wait() {
    sigint_stops_the_lock_wait(Server::Mysql);
}

#[test]
fn diverges_postgres_lock_timeout() {
    if let Some(s) = lock_held_by_golang_migrate(Server::Postgres) {
        assert_snapshot!(s);
    }
}

#[test]
fn diverges_mysql_lock_timeout() {
    if let Some(s) = lock_held_by_golang_migrate(Server::Mysql) {
        assert_snapshot!(s);
    }
}

#[test]
fn diverges_postgres_no_transaction_marker_runs_create_index_concurrently() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let s = session(
        &db,
        "pg_no_transaction",
        &[&["up"], &["down", "1"], &["up"]],
    );
    assert_snapshot!(s);
    assert_eq!(version(&db), DbVersion::Clean(2));
    let n = db
        .driver()
        .query(
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'items' AND indexname LIKE 'items_%_idx'",
            &[],
        )
        .expect("indexes");
    assert_eq!(n[0][0].as_i64(), Some(2));
}

#[test]
fn postgres_options() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let mut d = db.driver();
    d.execute("CREATE SCHEMA app", &[]).expect("schema");
    let mut s = String::new();
    for (params, args) in [
        // golang-migrate's per-statement mode: splits on `;`, no transaction.
        ("x-multi-statement=true", &["up", "1"][..]),
        ("x-multi-statement=maybe", &["version"][..]),
        (
            "x-migrations-table=my_versions&search_path=app",
            &["up"][..],
        ),
        (
            "x-migrations-table=%22app%22.%22quoted_versions%22&x-migrations-table-quoted=true",
            &["force", "3"][..],
        ),
        (
            "x-migrations-table=bare&x-migrations-table-quoted=1",
            &["version"][..],
        ),
        ("x-statement-timeout=abc", &["version"][..]),
        ("sslmode=bogus", &["version"][..]),
    ] {
        // The test URL already has `sslmode=disable`, and a repeated parameter counts with
        // its first value (lib/pq's `q.Get`): `sslmode` is replaced, not appended.
        let url = match params.strip_prefix("sslmode=") {
            Some(_) => db.url.replace("sslmode=disable", params),
            None => db.url_with(params),
        };
        s.push_str(&format!(
            "$ migrate -database <db>&{params} {}\n",
            args.join(" ")
        ));
        s.push_str(&run_url(&db, &url, "conformance", args).to_string());
    }
    assert_snapshot!(s);
    let rows = d
        .query(
            "SELECT table_schema::text || '.' || table_name::text FROM information_schema.tables WHERE table_schema IN ('public', 'app') AND (table_name LIKE '%versions' OR table_name = 'schema_migrations') ORDER BY 1",
            &[],
        )
        .expect("tables");
    let names: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().and_then(Value::into_string))
        .collect();
    assert_eq!(
        names,
        [
            "app.my_versions",
            "app.quoted_versions",
            "public.schema_migrations"
        ]
    );
    assert!(
        d.query("SELECT 1 FROM app.users", &[]).is_ok(),
        "search_path honoured"
    );
}

#[test]
fn passwords_never_printed() {
    for server in [Server::Postgres, Server::Mysql] {
        let Some(db) = fresh(server) else {
            continue;
        };
        let url = match server {
            Server::Postgres => "postgres://nobody:s3cretpw@127.0.0.1:5432/nope?sslmode=disable",
            Server::Mysql => "mysql://nobody:s3cretpw@tcp(127.0.0.1:3306)/nope",
        };
        let t = run_url(&db, url, "conformance", &["up"]);
        assert_eq!(t.code, 1, "{t}");
        assert!(!t.to_string().contains("s3cretpw"), "{t}");
    }
}

#[test]
fn mysql_options() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    // x-no-lock: runs while golang-migrate's lock is held elsewhere.
    let mut holder = db.driver();
    let name = migrate::driver::lockkey::advisory_lock_id(&format!("{}:my_versions", db.name), &[]);
    holder
        .query("SELECT GET_LOCK(?, 1)", &[Value::Text(name.to_string())])
        .expect("lock");
    let mut s = String::new();
    for (params, args) in [
        (
            "x-migrations-table=my_versions&x-no-lock=true",
            &["up", "1"][..],
        ),
        (
            "x-migrations-table=my_versions",
            &["-lock-timeout", "1", "up"][..],
        ),
        ("x-no-lock=maybe", &["version"][..]),
        ("x-statement-timeout=abc", &["version"][..]),
        (
            "tls=custom&x-tls-cert=c.pem&x-tls-key=k.pem",
            &["version"][..],
        ),
        ("tls=custom&x-tls-cert=c.pem", &["version"][..]),
        (
            "sql_mode=%27ANSI_QUOTES%27&parseTime=true",
            &["version"][..],
        ),
    ] {
        let url = db.url_with(params);
        s.push_str(&format!(
            "$ migrate -database <db>?{params} {}\n",
            args.join(" ")
        ));
        s.push_str(&run_url(&db, &url, "conformance", args).to_string());
    }
    assert_snapshot!(s);
    let mut d = db.driver();
    assert!(d.table_exists("my_versions").expect("exists"));
    assert!(d.table_exists("schema_migrations").expect("exists"));
    let v = d
        .query("SELECT version, dirty FROM my_versions", &[])
        .expect("versions");
    assert_eq!(v, vec![vec![Value::Int(1), Value::Int(0)]]);
}

/// `x-multi-statement=true` is golang-migrate's per-statement mode: no transaction, so a
/// failure leaves `V (dirty)` and the statements before it applied.
#[test]
fn postgres_multi_statement_failure_is_dirty() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let url = db.url_with("x-multi-statement=true");
    let mut s = String::new();
    for args in [&["up"][..], &["version"][..]] {
        s.push_str(&format!(
            "$ migrate -database <db>&x-multi-statement=true {}\n",
            args.join(" ")
        ));
        s.push_str(&run_url(&db, &url, "conformance_failing", args).to_string());
    }
    assert_snapshot!(s);
    assert_eq!(version(&db), DbVersion::Dirty(2));
    assert!(db.driver().table_exists("c").expect("c"));
}

/// The test database's URL with `params` for `sslmode=disable` and `host` for 127.0.0.1.
fn pg_url(db: &TestDb, params: &str, host: &str) -> String {
    db.url
        .replace("sslmode=disable", params)
        .replace("@127.0.0.1:", &format!("@{host}:"))
}

/// Connects with [`pg_url`]'s URL; what the server says about this very connection:
/// `tls` or `plain`.
fn pg_transport(db: &TestDb, params: &str, host: &str) -> Result<String, String> {
    let u =
        migrate::url::DatabaseUrl::parse(&pg_url(db, params, host)).map_err(|e| e.to_string())?;
    let mut d = migrate::driver::open(&u).map_err(|e| e.to_string())?;
    let rows = d
        .query(
            "SELECT CASE WHEN ssl THEN 'tls' ELSE 'plain' END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(|e| e.to_string())?;
    Ok(rows[0][0].clone().into_string().unwrap_or_default())
}

/// TLS against the real server (rustls, libpq's sslmode rules): `prefer` and `require`
/// encrypt, `verify-ca` checks the chain only, `verify-full` the chain and the host name.
/// The server's own certificate serves as the root (Debian's snakeoil: `localhost`).
#[test]
fn postgres_tls_follows_sslmode() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let skip = |why: String| {
        let msg = format!("\n*** SKIPPED postgres_tls_follows_sslmode: {why} ***\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
    };
    let setting = |name: &str| {
        db.driver()
            .query(&format!("SHOW {name}"), &[])
            .ok()
            .and_then(|rows| rows.into_iter().next())
            .and_then(|r| r.into_iter().next())
            .and_then(Value::into_string)
            .unwrap_or_default()
    };
    if setting("ssl") != "on" {
        return skip("the server runs with ssl = off".into());
    }
    let cert = setting("ssl_cert_file");
    if std::fs::read(&cert).is_err() || !db.url.contains("@127.0.0.1:") {
        return skip(format!(
            "the server's certificate {cert:?} is not readable here, or the server is not at 127.0.0.1"
        ));
    }
    let url = |params: &str, host: &str| pg_url(&db, params, host);
    let transport = |params: &str, host: &str| pg_transport(&db, params, host);
    let root = format!("sslrootcert={cert}");
    let ok = |params: &str, host: &str, want: &str| {
        assert_eq!(
            transport(params, host).as_deref(),
            Ok(want),
            "{params} at {host}"
        );
    };
    ok("sslmode=disable", "127.0.0.1", "plain");
    ok("sslmode=prefer", "127.0.0.1", "tls");
    ok("sslmode=require", "127.0.0.1", "tls");
    ok(&format!("sslmode=require&{root}"), "127.0.0.1", "tls");
    ok(&format!("sslmode=verify-ca&{root}"), "127.0.0.1", "tls");
    ok(&format!("sslmode=verify-full&{root}"), "localhost", "tls");
    // The certificate names localhost, not 127.0.0.1: verify-full refuses.
    let e = transport(&format!("sslmode=verify-full&{root}"), "127.0.0.1")
        .expect_err("verify-full must refuse 127.0.0.1");
    assert!(e.contains("certificate not valid for name"), "{e}");
    // Roots that did not sign the server's certificate: verify-ca refuses.
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    if std::fs::metadata(bundle).is_ok() {
        let e = transport(
            &format!("sslmode=verify-ca&sslrootcert={bundle}"),
            "127.0.0.1",
        )
        .expect_err("verify-ca must refuse roots that did not sign");
        assert!(e.contains("invalid peer certificate"), "{e}");
    }
    // The same through the binary: the refusal names the certificate problem, exit 1.
    let mut s = String::new();
    for (params, host) in [
        (format!("sslmode=verify-full&{root}"), "localhost"),
        (format!("sslmode=verify-full&{root}"), "127.0.0.1"),
        (
            "sslmode=require&sslrootcert=/nonexistent/root.crt".to_string(),
            "127.0.0.1",
        ),
    ] {
        s.push_str(&format!(
            "$ migrate -database <db at {host}>?{} version\n",
            params.replace(&cert, "<server cert>")
        ));
        s.push_str(&run_url(&db, &url(&params, host), "conformance", &["version"]).to_string());
    }
    assert_snapshot!(s);
}

/// A PostgreSQL URL without a host connects to `localhost` and one without a user connects
/// as the user the process runs as, as lib/pq does for golang-migrate.
#[test]
fn postgres_empty_host_and_user_are_lib_pqs_defaults() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let name = &db.name;
    let t = run_url(
        &db,
        &format!("postgres://postgres@/{name}?sslmode=disable"),
        "basic",
        &["up", "1"],
    );
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(version(&db), DbVersion::Clean(1));
    // The process user's role (trust authentication here): root in CI and for a developer
    // working as root; another user needs a role of that name to run this half.
    let who = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|r| r.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false);
    if !who {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"\n*** SKIPPED the no-user half of postgres_empty_host_and_user_are_lib_pqs_defaults: not root ***\n",
        );
        return;
    }
    let t = run_url(
        &db,
        &format!("postgres:///{name}?sslmode=disable"),
        "basic",
        &["version"],
    );
    assert_eq!((t.code, t.stderr.as_str()), (0, "1\n"), "{t}");
}
