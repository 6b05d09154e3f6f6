//! The MySQL driver on the real server (tests/common: a fresh database each, skipped loudly
//! when the server is unreachable): how many statements of a failed body it reports as
//! completed, and what a deadline does to the connection.

mod common;

use common::{fresh, Server};
use migrate::error::DbErrorKind;

/// Statements that complete: schema changes, a session variable, a query with rows.
const GOOD: [&str; 5] = [
    "CREATE TABLE t{g} (id int)",
    "INSERT INTO t{g} VALUES (1), (2), (3)",
    "SELECT id FROM t{g}",
    "SET @v{g} = 1",
    "DO 1",
];

/// A body of `n` statements, cycling through [`GOOD`] (round `g` on table `t{g}`), with a
/// failing one at `fail` (0-based) if it is inside the body.
fn body(n: usize, fail: usize) -> String {
    (0..n)
        .map(|i| {
            if i == fail {
                // Refused by the server when it comes to it, not by the parser.
                "INSERT INTO missing_table VALUES (1)".to_string()
            } else {
                GOOD[i % GOOD.len()].replace("{g}", &(i / GOOD.len()).to_string())
            }
        })
        .collect::<Vec<_>>()
        .join(";\n")
}

/// For every length and failing position, the statements the server answered before the
/// error are the ones reported as completed; they, and none after, took effect.
#[test]
fn a_failed_body_reports_the_statements_that_completed() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let mut d = db.driver();
    for n in 1..=7 {
        for fail in 0..=n {
            d.drop_all().expect("drop");
            let body = body(n, fail);
            let out = d.run_body_outside("1_x.up.sql", &body);
            let what = format!("{n} statements, failing at {fail}:\n{body}");
            if fail == n {
                assert!(out.is_ok(), "{what}: {out:?}");
            } else {
                let halt = out.expect_err(&what);
                assert_eq!(halt.applied, Some(fail), "{what}");
                assert!(
                    halt.error.to_string().contains("1146"),
                    "{what}: {}",
                    halt.error
                );
            }
            // Every table a completed CREATE made exists; none after the failure does.
            for i in (0..n).step_by(GOOD.len()) {
                let g = i / GOOD.len();
                let exists = d.table_exists(&format!("t{g}")).expect("table_exists");
                assert_eq!(exists, i < fail, "{what}: t{g}");
            }
            // The connection answers normally afterwards.
            assert_eq!(d.execute("DO 1", &[]).expect("next statement"), 0);
        }
    }
}

/// `x-statement-timeout` bounds a migration's body, as golang-migrate's context does, and
/// `readTimeout`/`writeTimeout` every call, as go-sql-driver's socket deadlines do: past
/// either, the call fails with the text golang-migrate shows, the connection is closed as
/// go-sql-driver closes it, and later calls say so.
#[test]
fn a_deadline_closes_the_connection() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let ctx = "context deadline exceeded";
    let io = "invalid connection";
    // (parameters, the slow body's error, whether other calls are bounded too)
    for (param, text, every_call) in [
        ("x-statement-timeout=200", ctx, false),
        ("readTimeout=200ms", io, true),
        ("readTimeout=10s&x-statement-timeout=200", ctx, false),
        ("x-statement-timeout=10000&readTimeout=0.2s", io, true),
    ] {
        let url = migrate::url::DatabaseUrl::parse(&db.url_with(param)).expect("url");
        let open = || migrate::driver::open(&url).expect("open");
        let mut d = open();
        // Fast statements run within the deadline.
        d.execute("DO 1", &[]).expect("fast statement");
        // A slow statement that is not a migration's body.
        let slow = d.execute("DO SLEEP(0.5)", &[]);
        if every_call {
            let e = slow.expect_err(param);
            assert!(e.to_string().contains(io), "{param}: {e}");
            d = open();
        } else {
            slow.expect("not bounded by x-statement-timeout");
        }
        let slow = d.run_body_outside("1_x.up.sql", "DO 1;\nDO SLEEP(5)");
        let halt = slow.expect_err(param);
        assert!(
            halt.error.to_string().contains(text),
            "{param}: {}",
            halt.error
        );
        assert_eq!(
            halt.error.db_kind(),
            Some(DbErrorKind::Connection),
            "{param}"
        );
        assert_eq!(halt.applied, Some(1), "{param}");
        let next = d.execute("DO 1", &[]).expect_err("closed");
        assert!(next.to_string().contains(io), "{param}: {next}");
        // The same for a body run as one call.
        let mut d = open();
        let e = d
            .run_body("1_x.up.sql", "DO SLEEP(5)", false)
            .expect_err(param);
        assert!(e.to_string().contains(text), "{param}: {e}");
    }
}

/// `unix(<socket>)` connects over the server's own Unix socket (`@@socket`), with the same
/// bookkeeping as over TCP.
#[test]
fn connects_over_the_unix_socket() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let rows = db.driver().query("SELECT @@socket", &[]).expect("@@socket");
    let socket = rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .and_then(migrate::driver::Value::into_string)
        .unwrap_or_default();
    if !std::path::Path::new(&socket).exists() {
        let msg = format!(
            "\n*** SKIPPED connects_over_the_unix_socket: the server's socket {socket:?} is not on this machine ***\n"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    }
    // The TCP URL's user and database, over the socket.
    let (head, tail) = db.url.split_once('@').expect("user@");
    let (_, path) = tail.split_once('/').expect("/db");
    let url = format!("{head}@unix({socket})/{path}");
    let url = migrate::url::DatabaseUrl::parse(&url).expect("url");
    let mut d = migrate::driver::open(&url).expect("open over the socket");
    d.ensure_version_table().expect("version table");
    d.write_version(Some(7), false).expect("write");
    assert_eq!(
        db.driver().version().expect("read over TCP"),
        migrate::DbVersion::Clean(7)
    );
}
