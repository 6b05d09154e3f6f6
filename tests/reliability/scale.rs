//! Backups of WAL databases at scale: the file copy made after a checkpoint, its fallback
//! to the backup API, and the "unchanged" state that lets a retry reuse a backup
//! (docs/backups.md, "Space, reuse and large databases"). A database of a few MB, rows
//! left in the WAL by connections that stay open.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::harness::Env;

/// The backups in `dir`, oldest first by name.
fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".backup-"))
        .collect();
    v.sort();
    v
}

/// The newest backup: `PRAGMA integrity_check` is `ok` and nothing is left beside it.
fn newest_checked(e: &Env) -> PathBuf {
    let all = backups(e.dir.path());
    for p in &all {
        let name = p.to_string_lossy();
        assert!(
            !name.ends_with(".partial") && !name.ends_with("-wal") && !name.ends_with("-shm"),
            "left behind: {name}"
        );
    }
    let b = all.last().expect("a backup").clone();
    let c = immutable(&b);
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok", "{}", b.display());
    b
}

/// A backup opened read-only and immutable: nothing is written beside it (a normal
/// read-only connection to a WAL-mode file leaves a `-shm`).
fn immutable(p: &Path) -> Connection {
    Connection::open_with_flags(
        format!("file:{}?immutable=1", p.display()),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .expect("open")
}

/// `count(*)` and `sum(length(v))` of table `big` in the file `p`.
fn big_rows(p: &Path) -> (i64, i64) {
    immutable(p)
        .query_row("SELECT count(*), total(length(v)) FROM big", [], |r| {
            Ok((r.get(0)?, r.get::<_, f64>(1)? as i64))
        })
        .expect("rows")
}

/// A failing migration retried in WAL mode: a retry reuses the backup after other
/// connections only read, checkpoint an empty WAL, and open and close; a write by another
/// connection, still only in its WAL, gets a new backup that holds it (the file copy after
/// a checkpoint); with a reader keeping the WAL from being emptied the backup still holds
/// every committed row (the backup API). Every backup passes `PRAGMA integrity_check`.
#[test]
fn scale_wal_retries_reuse_the_backup_only_while_nothing_was_written() {
    let e = Env::with("failing");
    assert_eq!(e.migrate(&["up", "2"]).code, 0);
    let c = e.conn();
    c.execute_batch(
        "PRAGMA journal_mode = WAL; CREATE TABLE big (v BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
         INSERT INTO big SELECT randomblob(65536) FROM n;",
    )
    .expect("fill");
    drop(c);
    let up = |what: &str, expect: &str| {
        let t = e.migrate(&["up"]);
        assert_eq!(t.code, 1, "{what}: {t}");
        assert!(t.stderr.contains(expect), "{what}: {t}");
        newest_checked(&e)
    };
    let first = up("first try", "Database backup created");
    assert_eq!(big_rows(&first), (64, 64 * 65536));
    // Reads, checkpoints of an empty WAL, connections opened and closed: reused.
    for sql in [
        "SELECT count(*) FROM big",
        "PRAGMA wal_checkpoint(PASSIVE)",
        "PRAGMA wal_checkpoint(TRUNCATE)",
    ] {
        let o = e.conn();
        o.query_row(sql, [], |_| Ok(())).expect(sql);
        drop(o);
        assert_eq!(up(sql, "Database backup reused"), first, "{sql}");
    }
    // A row only in the WAL of a connection that stays open: a new backup holds it.
    let w = e.conn();
    w.execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO big SELECT randomblob(65536);")
        .expect("write");
    let second = up("a write in the WAL", "Database backup created");
    assert_ne!(second, first);
    assert_eq!(big_rows(&second), (65, 65 * 65536));
    assert_eq!(up("no write since", "Database backup reused"), second);
    // A reader on an old snapshot keeps the WAL from being emptied: the backup API.
    let r = e.conn();
    r.execute_batch("BEGIN").expect("begin");
    let seen: i64 = r
        .query_row("SELECT count(*) FROM big", [], |x| x.get(0))
        .expect("read");
    assert_eq!(seen, 65);
    w.execute("INSERT INTO big SELECT randomblob(65536)", [])
        .expect("write");
    let third = up("a write behind a reader", "Database backup created");
    assert_eq!(big_rows(&third), (66, 66 * 65536));
    r.execute_batch("COMMIT").expect("commit");
    drop((r, w));
    assert_eq!(backups(e.dir.path()).len(), 3);
}
