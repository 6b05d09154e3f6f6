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
    e.write(
        "m/1_slow.up.sql",
        "CREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c;\n",
    );
    e.write("m/2_fast.up.sql", "CREATE TABLE fast (id INTEGER);\n");
    let child = e
        .command()
        .args(["-path", "m", "-database", &e.url(), "up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until it holds the lock (it is then reading or running migration 1).
    let mut lock_path = e.db().into_os_string();
    lock_path.push(".migrate.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::path::Path::new(&lock_path).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    let t = crate::harness::Transcript {
        code: out.status.code().unwrap_or(-1),
        stdout: e.filter(&String::from_utf8_lossy(&out.stdout)),
        stderr: e.filter(&String::from_utf8_lossy(&out.stderr)),
    };
    assert_snapshot!(t.to_string());
    assert_eq!(e.rows(), vec![(1, false)]);
}
