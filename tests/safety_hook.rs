//! The safety hook's backup reuse against other writers: a failed run's backup is reused by
//! the retry only when no other connection committed after it was taken, in rollback and
//! WAL modes. The other writer commits while the run is in progress (when the hook reports
//! the backup), as an application sharing the database would.

#![cfg(feature = "sqlite")]

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex};

use migrate::rusqlite::Connection;
use migrate::safety::{Hook, Options, Progress};
use migrate::{Migrator, Source};

fn source() -> Source {
    Source::from_files([
        (
            "1_jobs.up.sql",
            Cow::Borrowed(&b"CREATE TABLE jobs (id INTEGER PRIMARY KEY, v TEXT);"[..]),
        ),
        (
            "2_bad.up.sql",
            Cow::Borrowed(&b"CREATE TABLE t2 (x); SELECT * FROM missing;"[..]),
        ),
    ])
    .expect("source")
}

/// One `up` (which fails at version 2) with the hook; `write_during`: another connection
/// commits a row once the backup is taken. Returns whether the backup was reused.
fn failing_up(db: &Path, url: &str, write_during: bool) -> bool {
    let reused = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&reused);
    let path = db.to_path_buf();
    let hook = Hook::new(url, &Options::default())
        .expect("a SQLite file")
        .on_progress(move |p| {
            if let Progress::BackedUp(Some(b)) = p {
                *seen.lock().expect("lock") = Some(b.reused);
                if write_during {
                    let c = Connection::open(&path).expect("the other writer");
                    c.busy_timeout(std::time::Duration::from_secs(5))
                        .expect("busy timeout");
                    c.execute("INSERT INTO jobs (v) VALUES ('written during the run')", [])
                        .expect("the other writer's row");
                }
            }
        });
    let mut m = Migrator::open(source(), url).expect("open");
    hook.install(&mut m);
    assert!(m.up().is_err(), "version 2 fails");
    hook.after(&mut m, false, 0);
    let r = reused.lock().expect("lock").expect("a backup was taken");
    r
}

#[test]
fn a_failed_runs_backup_is_reused_only_while_no_one_else_wrote() {
    for mode in ["DELETE", "WAL"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("app.db");
        let url = format!("sqlite3://{}", db.display());
        {
            let mut m = Migrator::open(source(), &url).expect("open");
            m.steps(1).expect("version 1");
            let c = Connection::open(&db).expect("open");
            let _: String = c
                .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
                .expect("journal mode");
            c.execute("INSERT INTO jobs (v) VALUES ('before')", [])
                .expect("a row");
        }
        assert!(
            !failing_up(&db, &url, false),
            "{mode}: the first backup is new"
        );
        assert!(
            failing_up(&db, &url, false),
            "{mode}: nothing changed: reused"
        );
        // This run reuses the backup, and a row is committed during it: the backup no
        // longer holds everything, and the next run must take a new one.
        assert!(
            failing_up(&db, &url, true),
            "{mode}: reused before the write"
        );
        assert!(
            !failing_up(&db, &url, false),
            "{mode}: another connection committed during the last run: a new backup"
        );
        assert!(failing_up(&db, &url, false), "{mode}: then reused again");
    }
}
