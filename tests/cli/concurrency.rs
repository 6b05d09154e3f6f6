//! A real cross-process lock on SQLite (golang-migrate's is an in-process flag), and
//! golang-migrate's graceful SIGINT.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::Env;
use insta::assert_snapshot;

#[test]
fn diverges_concurrent_ups_apply_each_migration_once() {
    let e = Env::with("basic");
    let children: Vec<_> = (0..6)
        .map(|_| {
            e.command()
                .args(["-path", "m", "-database", &e.url(), "up"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut progress = 0;
    let mut no_change = 0;
    for c in children {
        let out = c.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        progress += err.lines().filter(|l| l.contains("/u ")).count();
        no_change += err.lines().filter(|l| *l == "no change").count();
    }
    // Every migration ran exactly once, in one process or spread over several.
    assert_eq!(progress, 3);
    assert!(
        no_change >= 4,
        "at least the late starters found nothing to do"
    );
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn lock_timeout_is_honoured() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let before = e.dump();
    let mut lock_path = e.db().into_os_string();
    lock_path.push(".migrate.lock");
    let f = std::fs::File::create(&lock_path).expect("lock file");
    f.lock().expect("hold the migration lock");
    let started = Instant::now();
    let t = e.run(&[
        "-lock-timeout",
        "1",
        "-path",
        "m",
        "-database",
        &e.url(),
        "up",
    ]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    drop(f);
    assert_snapshot!(t.to_string());
    assert_eq!(e.dump(), before);
    // released: the next run proceeds
    assert_eq!(e.migrate(&["up"]).code, 0);
}

#[test]
fn sigint_finishes_the_running_migration_then_stops() {
    let e = Env::new();
    // Step 1 writes to a second database whose write lock the test holds: it runs until
    // the test lets it go. (ATTACH needs a step outside a transaction: x-no-tx-wrap.)
    let gate = rusqlite::Connection::open(e.path("gate.db")).expect("gate db");
    gate.execute_batch("CREATE TABLE t (id INTEGER); BEGIN IMMEDIATE")
        .expect("hold the gate's write lock");
    e.write(
        "m/1_slow.up.sql",
        "ATTACH DATABASE 'gate.db' AS gate;\nINSERT INTO gate.t VALUES (1);\nDETACH DATABASE gate;\nCREATE TABLE slow (id INTEGER);\n",
    );
    e.write("m/2_fast.up.sql", "CREATE TABLE fast (id INTEGER);\n");
    let url = format!("{}?x-no-tx-wrap=true&_busy_timeout=60000", e.url());
    let mut child = e
        .command()
        .args(["-path", "m", "-database", &url, "up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = lines_of(child.stderr.take().expect("stderr"));
    let stdout = child.stdout.take().expect("stdout");
    let stdout = std::thread::spawn(move || std::io::read_to_string(stdout).expect("stdout"));
    // Outside a transaction a step commits its version as dirty before its body runs: once
    // the dirty row shows, step 1 has started (and is held at the gate).
    let reader = e.conn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while reader
        .query_row("SELECT version, dirty FROM schema_migrations", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
        })
        .ok()
        != Some((1, true))
    {
        assert!(Instant::now() < deadline, "step 1 never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    // The stop is noted (the handler prints it) before step 1 is let go.
    let mut err = String::new();
    for line in stderr.iter() {
        err.push_str(&line);
        err.push('\n');
        if line == "Stopping after this running migration ..." {
            break;
        }
    }
    gate.execute_batch("ROLLBACK").expect("let step 1 go");
    err.extend(stderr.iter().map(|l| l + "\n"));
    let status = child.wait().expect("wait");
    let t = crate::harness::Transcript {
        code: status.code().unwrap_or(-1),
        stdout: e.filter(&stdout.join().expect("stdout thread")),
        stderr: e.filter(&err),
    };
    assert_snapshot!(t.to_string());
    assert_eq!(e.rows(), vec![(1, false)]);
    assert_eq!(
        gate.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .ok(),
        Some(1)
    );
}

/// The lines of `r`, read on a thread of their own, as they come.
fn lines_of(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
