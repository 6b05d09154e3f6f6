//! Concurrency: 8 processes mixing up, down, status, version at once on one SQLite file, and a
//! migration running while an application holds read and write transactions.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::Env;
use crate::{env_usize, Rng};

/// Outcomes a racing process may legitimately report.
const ALLOWED: &[&str] = &[
    "no change",
    "error: file does not exist",
    "error: timeout: can't acquire database lock",
];

#[test]
fn eight_processes_mixed_commands() {
    let rounds = env_usize("STRESS_ROUNDS", 4);
    let mut rng = Rng::from_env("STRESS_SEED");
    let e = Env::with("basic");
    for round in 0..rounds {
        let mut kids = Vec::new();
        for _ in 0..8 {
            let cmd: Vec<&str> = match rng.below(5) {
                0 | 1 => vec!["up"],
                2 => vec!["down", "1"],
                3 => vec!["status"],
                _ => vec!["version"],
            };
            let mut args = vec!["-lock-timeout", "30", "-path", "m", "-database"];
            let url = e.url();
            args.push(&url);
            args.extend(&cmd);
            let child = e
                .command()
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            kids.push((cmd.join(" "), child));
        }
        for (cmd, k) in kids {
            let out = k.wait_with_output().expect("wait");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            let ok = out.status.success()
                || err.lines().filter(|l| !l.starts_with("hint:")).all(|l| {
                    ALLOWED.contains(&l)
                        || l.contains("/u ")
                        || l.contains("/d ")
                        || l == "error: no migration"
                });
            assert!(ok, "round {round}: `{cmd}` failed unexpectedly:\n{err}");
        }
        let ic: String = e
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("check");
        assert_eq!(ic, "ok");
        // The schema agrees with the recorded version.
        let v = e.rows().first().map(|r| r.0).unwrap_or(0);
        let expect: &[&str] = match v {
            0 => &[],
            1 | 2 => &["users"],
            _ => &["posts", "users"],
        };
        assert_eq!(e.tables(), expect, "round {round} at version {v}");
        assert!(e.rows().iter().all(|r| !r.1), "never dirty");
    }
}

#[test]
fn migrate_while_an_application_writes() {
    let e = Env::with("basic");
    e.conn()
        .execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE app_log (id INTEGER PRIMARY KEY, at TEXT);",
        )
        .expect("setup");
    let db = e.db();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let app = std::thread::spawn(move || {
        let c = rusqlite::Connection::open(db).expect("open");
        c.busy_timeout(Duration::from_secs(10)).expect("busy");
        let mut writes = 0;
        while !s2.load(std::sync::atomic::Ordering::SeqCst) {
            c.execute_batch("BEGIN IMMEDIATE; INSERT INTO app_log (at) VALUES (datetime('now'));")
                .expect("app write");
            std::thread::sleep(Duration::from_millis(20));
            c.execute_batch("COMMIT").expect("app commit");
            let _: i64 = c
                .query_row("SELECT count(*) FROM app_log", [], |r| r.get(0))
                .expect("app read");
            writes += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        writes
    });
    std::thread::sleep(Duration::from_millis(100));
    let url = format!("{}?_busy_timeout=10000", e.url());
    let t = e.run(&["-path", "m", "-database", &url, "up"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let writes = app.join().expect("app thread");
    // Either it waited and migrated, or it gave up with a clear error and changed nothing.
    if t.code == 0 {
        assert_eq!(e.rows(), vec![(3, false)]);
    } else {
        assert!(
            t.stderr.contains("database is locked") && t.stderr.contains("hint:"),
            "{t}"
        );
        assert!(e.rows().iter().all(|r| !r.1), "never dirty");
    }
    eprintln!(
        "migrate while an application writes: exit {}, application writes {writes}",
        t.code
    );
    assert!(writes > 0);
    let ic: String = e
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(ic, "ok");
}
