//! Issue 4: backups, integrity checks, dry runs, rehearsals and restore on SQLite.

use std::path::{Path, PathBuf};

use crate::harness::Env;
use insta::assert_snapshot;

/// Backup files of the env's database in `dir`, sorted by name.
fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("db.sqlite.backup-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The backup identity recorded in a SQLite file, if any.
fn identity(p: &Path) -> Option<String> {
    let c = rusqlite::Connection::open(p).expect("open");
    c.query_row("SELECT id FROM schema_migrations_identity", [], |r| {
        r.get(0)
    })
    .ok()
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .expect("mtime")
}

/// Runs a shell command; whether it succeeded.
fn sh(cmd: &str, args: &[&str]) -> bool {
    std::process::Command::new(cmd)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn safety_backup_before_up_restores_pre_migration_state() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    e.conn()
        .execute("INSERT INTO users (username) VALUES ('ann')", [])
        .expect("insert");
    let before = e.dump();
    assert!(backups(e.dir.path()).is_empty(), "nil database: no backup");
    assert_snapshot!("safety_up_with_backup", e.migrate(&["up"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
    let b = backups(e.dir.path());
    assert_eq!(b.len(), 1);
    let name = b[0]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("db.sqlite.backup-v0001-"), "{name}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&b[0]).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "backup mode");
    }
    // The backup itself holds exactly the pre-migration schema and rows.
    let copy = Env::new();
    std::fs::copy(&b[0], copy.db()).expect("copy");
    assert_eq!(copy.dump(), before);
    // The backup names its database: the identity the backup gave the database.
    assert!(identity(&copy.db()).is_some());
    assert_eq!(identity(&copy.db()), identity(&e.db()));
    // restore round trip: the current database is backed up first, then replaced.
    let after_up = e.dump();
    let t = e.migrate(&["restore", &b[0].display().to_string()]);
    assert_snapshot!("safety_restore", t.to_string());
    assert_eq!(e.dump(), before);
    assert_eq!(e.rows(), vec![(1, false)]);
    let b2 = backups(e.dir.path());
    assert_eq!(b2.len(), 2, "{b2:?}");
    let pre_restore = b2.iter().find(|p| **p != b[0]).expect("pre-restore backup");
    let check = Env::new();
    std::fs::copy(pre_restore, check.db()).expect("copy");
    assert_eq!(check.dump(), after_up);
    // golang-migrate-compatible afterwards: migrate on.
    assert_eq!(e.migrate(&["up"]).code, 0);
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_snapshot!("safety_backups_list", e.migrate(&["backups"]).to_string());
}

#[test]
fn safety_nothing_to_do_makes_no_backup() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up"]).code, 0);
    let t = e.migrate(&["up"]);
    assert_eq!(t.code, 0);
    assert!(backups(e.dir.path()).is_empty());
    let t = e.migrate(&["-no-backup", "down", "1"]);
    assert_eq!(t.code, 0);
    assert!(!t.stderr.contains("backup"), "{t}");
    assert!(backups(e.dir.path()).is_empty());
}

#[test]
fn safety_retention_prunes_only_the_oldest() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let dir = e.path("bk");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("unrelated.txt"), "keep me").expect("write");
    let mut made = Vec::new();
    for _ in 0..4 {
        let before = backups(&dir);
        let t = e.migrate(&[
            "-backup-keep",
            "2",
            "backup",
            "-dir",
            &dir.display().to_string(),
        ]);
        assert_eq!(t.code, 0, "{t}");
        let new: Vec<PathBuf> = backups(&dir)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        assert_eq!(new.len(), 1, "{t}");
        made.push(new[0].clone());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut left = backups(&dir);
    left.sort();
    let mut newest = made[2..].to_vec();
    newest.sort();
    assert_eq!(left, newest);
    assert!(dir.join("unrelated.txt").exists());
    // keep 0 = keep all
    assert_eq!(
        e.migrate(&[
            "-backup-keep",
            "0",
            "backup",
            "-dir",
            &dir.display().to_string()
        ])
        .code,
        0
    );
    assert_eq!(backups(&dir).len(), 3);
}

#[test]
fn safety_dry_run_changes_nothing() {
    let e = Env::with("basic");
    // A missing file stays missing.
    let t = e.migrate(&["up", "-dry-run"]);
    assert_snapshot!("safety_dry_run_up_from_nothing", t.to_string());
    assert!(!e.db().exists());
    assert_eq!(e.migrate(&["-dry-run", "goto", "2"]).code, 0);
    assert!(!e.db().exists());
    // An existing file keeps its bytes and mtime.
    assert_eq!(e.migrate(&["up", "2"]).code, 0);
    let bytes = std::fs::read(e.db()).expect("read");
    let m = mtime(&e.db());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t = e.migrate(&["down", "1", "-dry-run"]);
    assert_snapshot!("safety_dry_run_down", t.to_string());
    for args in [
        &["up", "-dry-run"][..],
        &["-dry-run", "down", "-all"],
        &["-dry-run", "goto", "1"],
    ] {
        assert_eq!(e.migrate(args).code, 0);
    }
    assert_eq!(std::fs::read(e.db()).expect("read"), bytes);
    assert_eq!(mtime(&e.db()), m);
    assert!(backups(e.dir.path()).is_empty());
    assert_eq!(e.rows(), vec![(2, false)]);
}

#[test]
fn safety_dry_run_on_fresh_file_creates_no_table() {
    let e = Env::with("basic");
    rusqlite::Connection::open(e.db())
        .and_then(|c| c.execute_batch("CREATE TABLE keep (x INTEGER);"))
        .expect("create");
    let bytes = std::fs::read(e.db()).expect("read");
    assert_eq!(e.migrate(&["-dry-run", "up"]).code, 0);
    assert_eq!(std::fs::read(e.db()).expect("read"), bytes);
}

#[test]
fn safety_rehearse_leaves_the_database_untouched() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let bytes = std::fs::read(e.db()).expect("read");
    let m = mtime(&e.db());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t = e.migrate(&["rehearse"]);
    assert_snapshot!("safety_rehearse", t.to_string());
    assert!(t.stdout.contains("2/u add_email: "), "{t}");
    assert!(t.stdout.contains("total: "), "{t}");
    assert_eq!(std::fs::read(e.db()).expect("read"), bytes);
    assert_eq!(mtime(&e.db()), m);
    assert_eq!(e.rows(), vec![(1, false)]);
    assert!(backups(e.dir.path()).is_empty());
}

#[test]
fn safety_rehearse_reports_a_failing_migration() {
    let e = Env::with("failing");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let bytes = std::fs::read(e.db()).expect("read");
    let t = e.migrate(&["rehearse"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("rehearsal failed"), "{t}");
    assert_eq!(std::fs::read(e.db()).expect("read"), bytes);
}

#[test]
fn safety_corrupt_database_is_refused() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "2"]).code, 0);
    e.conn()
        .execute_batch(
            "INSERT INTO users (username) SELECT 'u' || value FROM generate_series(1, 500);",
        )
        .or_else(|_| {
            e.conn().execute_batch(
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 500) INSERT INTO users (username) SELECT 'u' || i FROM c;",
            )
        })
        .expect("fill");
    assert_eq!(e.migrate(&["backup"]).code, 0);
    // Overwrite pages 2 and later (page 1 holds the schema) with garbage.
    let mut bytes = std::fs::read(e.db()).expect("read");
    let page = 4096;
    assert!(bytes.len() >= 4 * page, "db too small: {}", bytes.len());
    for (i, b) in bytes[page + 100..3 * page].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(e.db(), &bytes).expect("write");
    let t = e.migrate(&["up"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("failed its integrity check"), "{t}");
    assert!(
        t.stderr.contains("restore [TMP]/db.sqlite.backup-v0002-"),
        "{t}"
    );
    // The restore command names the real URL, not a placeholder.
    assert!(
        t.stderr.contains(
            "`migrate -database sqlite3://[TMP]/db.sqlite restore [TMP]/db.sqlite.backup-v0002-"
        ),
        "{t}"
    );
    assert!(!t.stderr.contains("<url>"), "{t}");
    assert_eq!(
        std::fs::read(e.db()).expect("read"),
        bytes,
        "nothing changed"
    );
    assert_snapshot!("safety_corrupt_refused", t.to_string());
}

/// Mounts a tmpfs on `dir` with `opts`; false if this machine cannot.
fn mount_tmpfs(dir: &Path, opts: &str) -> bool {
    std::fs::create_dir_all(dir).expect("mkdir");
    sh(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            opts,
            "tmpfs",
            &dir.display().to_string(),
        ],
    )
}

fn umount(dir: &Path) {
    let _ = sh("umount", &[&dir.display().to_string()]);
}

#[test]
fn safety_read_only_backup_dir_fails_before_any_change() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let dir = e.path("ro");
    if !mount_tmpfs(&dir, "size=1m,ro") {
        std::fs::create_dir_all(&dir).expect("mkdir");
        if !sh("chattr", &["+i", &dir.display().to_string()]) {
            eprintln!("SKIPPED safety_read_only_backup_dir_fails_before_any_change: neither a read-only tmpfs nor chattr +i works here");
            return;
        }
    }
    let before = e.dump();
    let t = e.migrate(&["-backup-dir", &dir.display().to_string(), "up"]);
    umount(&dir);
    let _ = sh("chattr", &["-i", &dir.display().to_string()]);
    assert_snapshot!("safety_read_only_backup_dir", t.to_string());
    assert_eq!(t.code, 1);
    assert_eq!(e.dump(), before);
    assert_eq!(
        identity(&e.db()),
        None,
        "a failed backup writes no identity"
    );
    assert_eq!(e.rows(), vec![(1, false)]);
}

#[test]
fn safety_full_disk_fails_before_any_change() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    e.conn()
        .execute_batch("CREATE TABLE blob (b BLOB); INSERT INTO blob VALUES (randomblob(300000));")
        .expect("fill");
    let dir = e.path("full");
    if !mount_tmpfs(&dir, "size=64k") {
        eprintln!("SKIPPED safety_full_disk_fails_before_any_change: cannot mount a tmpfs here");
        return;
    }
    let before = e.dump();
    let t = e.migrate(&["-backup-dir", &dir.display().to_string(), "up"]);
    let left: Vec<_> = std::fs::read_dir(&dir).expect("ls").flatten().collect();
    umount(&dir);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("cannot back up the database"), "{t}");
    assert!(left.is_empty(), "partial file left: {left:?}");
    assert_eq!(e.dump(), before);
    assert_eq!(
        identity(&e.db()),
        None,
        "a failed backup writes no identity"
    );
    assert_eq!(e.rows(), vec![(1, false)]);
}

/// A backup that cannot fit in the destination is refused before anything is written or
/// changed, naming what it needs, what is free, and the ways out.
#[test]
fn safety_space_is_checked_before_the_backup() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    e.conn()
        .execute_batch(
            "CREATE TABLE blob (b BLOB); INSERT INTO blob SELECT randomblob(100000) FROM generate_series(1, 30);",
        )
        .or_else(|_| {
            e.conn().execute_batch(
                "CREATE TABLE IF NOT EXISTS blob (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) INSERT INTO blob SELECT randomblob(100000) FROM n;",
            )
        })
        .expect("fill");
    let dir = e.path("small");
    if !mount_tmpfs(&dir, "size=2m") {
        eprintln!("SKIPPED safety_space_is_checked_before_the_backup: cannot mount a tmpfs here (needs root)");
        return;
    }
    let before = e.dump();
    let t = e.migrate(&["-backup-dir", &dir.display().to_string(), "up"]);
    let left: Vec<_> = std::fs::read_dir(&dir).expect("ls").flatten().collect();
    umount(&dir);
    assert_eq!(t.code, 1, "{t}");
    let size = std::fs::metadata(e.db()).expect("size").len();
    assert!(
        t.stderr.contains("not enough free space")
            && t.stderr
                .contains(&format!(" MB ({size} bytes), the file system has "))
            && t.stderr.contains("2.1 MB (2097152 bytes) free"),
        "{t}"
    );
    for way in [
        "-backup-dir",
        "-backup-keep",
        "-backup-max-size",
        "-no-backup",
    ] {
        assert!(t.stderr.contains(way), "{way}: {t}");
    }
    assert!(left.is_empty(), "nothing written: {left:?}");
    assert_eq!(e.dump(), before);
    assert_eq!(identity(&e.db()), None, "no identity written");
    assert_eq!(e.rows(), vec![(1, false)]);
}

#[test]
fn safety_backup_dir_url_parameter() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let dir = e.path("viaurl");
    let url = format!("{}?x-backup-dir={}", e.url(), dir.display());
    let m = e.path("m").display().to_string();
    let t = e.run(&["-path", &m, "-database", &url, "up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(backups(&dir).len(), 1);
    assert!(backups(e.dir.path()).is_empty());
}

#[test]
fn safety_restore_refused_while_locked() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    assert_eq!(e.migrate(&["backup"]).code, 0);
    let b = backups(e.dir.path()).pop().expect("backup");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(e.path("db.sqlite.migrate.lock"))
        .expect("lock file");
    lock.lock().expect("lock");
    let t = e.migrate(&["restore", &b.display().to_string()]);
    drop(lock);
    assert_snapshot!("safety_restore_locked", t.to_string());
    assert_eq!(t.code, 1);
}

#[test]
fn safety_restore_on_failure_after_dirty_run() {
    let e = Env::with("failing");
    assert_eq!(e.migrate(&["up", "2"]).code, 0);
    let before = e.dump();
    let url = format!("{}?x-no-tx-wrap=true", e.url());
    let m = e.path("m").display().to_string();
    let t = e.run(&["-path", &m, "-database", &url, "up"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(
        t.stderr.contains(" restore [TMP]/db.sqlite.backup-v0002-"),
        "{t}"
    );
    assert_eq!(e.rows(), vec![(3, true)]);
    // Restore by hand with the command printed, then the automatic variant.
    let b = backups(e.dir.path()).pop().expect("backup");
    assert_eq!(e.migrate(&["restore", &b.display().to_string()]).code, 0);
    assert_eq!(e.dump(), before);
    let t = e.run(&["-path", &m, "-database", &url, "-restore-on-failure", "up"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("Database restored from"), "{t}");
    assert_eq!(e.dump(), before);
    assert_eq!(e.rows(), vec![(2, false)]);
}

/// Retries of a failing migration reuse the backup while the database has not changed
/// (one file, not one per try), in rollback-journal and WAL modes; any change the
/// application makes in between (a new row, an update that keeps the file's size, a
/// checkpointed WAL write that leaves the header's change counter alone) gets a new
/// backup. The reused backup restores the database as it was.
#[test]
fn safety_retry_after_a_failed_migration_reuses_the_backup() {
    type Change = (&'static str, &'static str);
    let changes: [Change; 4] = [
        ("insert", "INSERT INTO a (id) VALUES (2)"),
        ("same-size update", "UPDATE a SET id = 3 WHERE id = 1"),
        ("update back", "UPDATE a SET id = 1 WHERE id = 3"),
        ("delete", "DELETE FROM a WHERE id = 1"),
    ];
    for mode in ["delete", "wal"] {
        let e = Env::with("failing");
        assert_eq!(e.migrate(&["up", "2"]).code, 0);
        let c = e.conn();
        let m: String = c
            .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0))
            .expect("mode");
        assert_eq!(m, mode);
        c.execute("INSERT INTO a (id) VALUES (1)", []).expect("row");
        drop(c);
        let before = e.dump();
        let t = e.migrate(&["up"]);
        assert_eq!(t.code, 1, "{mode}: {t}");
        assert!(t.stderr.contains("Database backup created"), "{mode}: {t}");
        assert_eq!(
            e.rows(),
            vec![(2, false)],
            "{mode}: a transactional failure"
        );
        for retry in 0..2 {
            let t = e.migrate(&["up"]);
            assert_eq!(t.code, 1, "{mode}: {t}");
            assert!(
                t.stderr.contains("Database backup reused: ")
                    && !t.stderr.contains("Database backup created"),
                "{mode} retry {retry}: {t}"
            );
            assert_eq!(backups(e.dir.path()).len(), 1, "{mode} retry {retry}: {t}");
        }
        let first = backups(e.dir.path()).pop().expect("backup");
        let mut expected = 1;
        for (what, sql) in changes {
            let c = e.conn();
            c.execute(sql, []).expect(what);
            if mode == "wal" {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .expect("checkpoint");
            }
            drop(c);
            let t = e.migrate(&["up"]);
            assert_eq!(t.code, 1, "{mode} {what}: {t}");
            expected += 1;
            assert!(
                t.stderr.contains("Database backup created"),
                "{mode} after {what}: {t}"
            );
            assert_eq!(backups(e.dir.path()).len(), expected, "{mode} after {what}");
            let t = e.migrate(&["up"]);
            assert!(
                t.stderr.contains("Database backup reused"),
                "{mode} {what}: {t}"
            );
            assert_eq!(backups(e.dir.path()).len(), expected, "{mode} after {what}");
        }
        let newest = e.dump();
        assert_eq!(
            e.migrate(&["restore", &first.display().to_string()]).code,
            0
        );
        let restored = e.dump();
        assert_eq!(
            restored, before,
            "{mode}: the reused backup is the database as it was"
        );
        assert_ne!(newest, before);
    }
}

/// `-backup-max-size` removes the oldest of this database's backups, after a new one
/// succeeded, while they take more than the limit together (units accepted); a value
/// that is not a size is refused before anything runs.
#[test]
fn safety_backup_max_size_prunes_oldest_first() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    e.conn()
        .execute_batch("CREATE TABLE blob (b BLOB); INSERT INTO blob VALUES (randomblob(200000));")
        .expect("fill");
    // Each backup is a little over 200 kB: 500kB holds two of them, never three.
    let mut seen = Vec::new();
    for (i, args) in [
        ["up", "1"],
        ["down", "1"],
        ["up", "1"],
        ["down", "1"],
        ["up", "1"],
    ]
    .iter()
    .enumerate()
    {
        // A pruned backup's name may be taken again within the same second: one run a
        // second keeps every backup's name its own.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut a = vec!["-backup-max-size", "500kB"];
        a.extend(args.iter());
        let t = e.migrate(&a);
        assert_eq!(t.code, 0, "{t}");
        let mut now = backups(e.dir.path());
        now.sort_by_key(|p| mtime(p));
        let newest = now.last().expect("a backup").clone();
        assert!(!seen.contains(&newest), "run {i}: a new backup: {t}");
        seen.push(newest);
        let total: u64 = now
            .iter()
            .map(|p| std::fs::metadata(p).expect("size").len())
            .sum();
        assert!(total <= 500_000, "run {i}: {total}");
        assert_eq!(now.len(), (i + 1).min(2), "run {i}: {now:?}");
        // What is left is the newest ones.
        assert_eq!(now[..], seen[seen.len() - now.len()..], "run {i}");
    }
    let t = e.migrate(&["-backup-max-size", "12XB", "up"]);
    assert_eq!(t.code, 2, "{t}");
    assert!(
        t.stderr
            .contains("invalid value \"12XB\" for flag -backup-max-size"),
        "{t}"
    );
    assert_eq!(backups(e.dir.path()).len(), 2);
}

/// A database over the announcement size (64 MiB) gets one line naming it, its size and
/// the backup's destination before the check and the backup, and one before the check
/// after the run; on a pipe nothing else (no progress indicator). A small one gets none
/// (the other transcripts).
#[test]
fn safety_large_database_is_announced() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    e.conn()
        .execute_batch(
            "CREATE TABLE blob (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70) INSERT INTO blob SELECT randomblob(1000000) FROM n;",
        )
        .expect("fill");
    let size = std::fs::metadata(e.db()).expect("size").len();
    assert!(size > 64 << 20);
    let t = e.migrate(&["up", "1"]);
    assert_eq!(t.code, 0, "{t}");
    let lines: Vec<&str> = t.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "Checking and backing up (to [TMP]) [TMP]/db.sqlite ({:.1} MB ({size} bytes))",
            size as f64 / 1e6
        ),
        "{t}"
    );
    assert!(lines[1].starts_with("Database backup created: "), "{t}");
    assert_eq!(lines[2], "2/u add_email ([DUR])", "{t}");
    assert!(lines[3].starts_with("Checking [TMP]/db.sqlite ("), "{t}");
    assert_eq!(lines.len(), 4, "{t}");
    assert!(!t.stderr.contains('\r'), "no progress on a pipe: {t}");
    let t = e.migrate(&["-no-backup", "up", "1"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(t.stderr.starts_with("Checking [TMP]/db.sqlite ("), "{t}");
    assert!(!t.stderr.contains("backup"), "{t}");
}

/// The progress indicator: on a pseudo-terminal (`script`), a backup that takes more
/// than a second (here: waiting for a lock another connection holds) shows its name
/// and the seconds elapsed, rewritten in place; the same run on a pipe shows none.
#[test]
fn safety_progress_only_on_a_terminal() {
    if !sh("script", &["-qec", "true", "/dev/null"]) {
        eprintln!("SKIPPED safety_progress_only_on_a_terminal: no working `script` here");
        return;
    }
    let e = Env::with("basic");
    let t = e.run(&[
        "-path",
        "m",
        "-database",
        "sqlite3://db.sqlite?_journal_mode=WAL",
        "up",
        "1",
    ]);
    assert_eq!(t.code, 0, "{t}");
    let url = "sqlite3://db.sqlite?_locking_mode=EXCLUSIVE";
    let piped = e.run(&["-path", "m", "-database", url, "up"]);
    assert_eq!(piped.code, 1, "{piped}");
    assert!(piped.stderr.contains("stayed locked"), "{piped}");
    assert!(!piped.stderr.contains('\r'), "{piped}");
    assert!(!piped.stderr.contains("backing up"), "{piped}");
    let bin = e.command().get_program().to_string_lossy().into_owned();
    let cmd = format!("'{bin}' -path m -database '{url}' up");
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(e.dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .expect("script");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("stayed locked"), "{tty}");
    assert!(tty.contains("\r\x1b[Kbacking up db.sqlite: "), "{tty:?}");
}

#[test]
fn safety_optimize_and_full_check() {
    let e = Env::with("basic");
    let t = e.migrate(&["-optimize", "-integrity-check=full", "up"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.rows(), vec![(3, false)]);
    let t = e.migrate(&["-integrity-check=bogus", "up"]);
    assert_eq!(t.code, 2, "{t}");
}

/// `(operation, version_from, version_to, file, outcome, error)` rows of the journal for
/// the safety operations, oldest first.
type SafetyRow = (
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
);

fn safety_journal(e: &Env) -> Vec<SafetyRow> {
    let c = e.conn();
    let mut st = c
        .prepare(
            "SELECT operation, version_from, version_to, file, outcome, error FROM schema_migrations_journal WHERE operation IN ('backup', 'restore', 'integrity-check') ORDER BY seq",
        )
        .expect("prepare");
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

/// Issue 4: the automatic backup, a failed after-run check and a restore are journaled;
/// the restore in the restored database, after the swap.
#[test]
fn safety_journal_rows_for_backup_failed_check_and_restore() {
    // Without foreign keys requested, version 2 leaves an orphaned child row: the
    // after-run PRAGMA foreign_key_check fails.
    let e = Env::with("fk_violation");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    assert!(safety_journal(&e).is_empty(), "no backup of a nil database");
    let t = e.migrate(&["up"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("new foreign key violation"), "{t}");
    let b = backups(e.dir.path());
    assert_eq!(b.len(), 1, "{b:?}");
    let backup = b[0].display().to_string();
    let rows = safety_journal(&e);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        (
            "backup".to_string(),
            Some(1),
            Some(1),
            Some(backup.clone()),
            "ok".to_string(),
            None
        )
    );
    let (op, from, to, file, outcome, error) = rows[1].clone();
    assert_eq!(
        (op.as_str(), from, to, file, outcome.as_str()),
        ("integrity-check", Some(2), Some(2), None, "failed")
    );
    let error = error.expect("error text");
    assert!(
        error.contains("1 new foreign key violation(s) after migrating"),
        "{error}"
    );
    // The restore is journaled in the restored database (which has no row of the backup
    // taken from it: that row was written after the backup).
    let r = e.migrate(&["restore", &backup]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(e.rows(), vec![(1, false)]);
    assert_eq!(
        safety_journal(&e),
        vec![(
            "restore".to_string(),
            Some(2),
            Some(1),
            Some(backup),
            "ok".to_string(),
            None
        )]
    );
    // `history` shows the safety rows with the migrations.
    let h = e.migrate(&["history"]);
    assert_eq!(h.code, 0, "{h}");
    assert!(h.stdout.contains("restore"), "{h}");
}

/// The hints that name a command carry the real database URL (password redacted,
/// shell-quoted), not a `<url>` placeholder.
#[test]
fn safety_hints_name_the_real_url() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let url = format!("{}?x-migrations-table=schema_migrations", e.url());
    let m = e.path("m").display().to_string();
    let t = e.run(&["-path", &m, "-database", &url, "restore", "nope"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(
        t.stderr.contains(
            "hint: `migrate -database 'sqlite3://[TMP]/db.sqlite?x-migrations-table=schema_migrations' backups` lists the backups"
        ),
        "{t}"
    );
    assert!(!t.stderr.contains("<url>"), "{t}");
}

#[test]
fn safety_explicit_backup_is_journaled_only_where_a_journal_is_kept() {
    // A database migrate manages: the `backup` command adds a journal row, after the copy.
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up"]).code, 0);
    let t = e.migrate(&["backup", "-dir", "bk"]);
    assert_eq!(t.code, 0, "{t}");
    let b = backups(&e.path("bk"));
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(
        safety_journal(&e),
        vec![(
            "backup".to_string(),
            Some(3),
            Some(3),
            // As printed in `Database backup created: <path>`.
            Some(format!(
                "bk/{}",
                b[0].file_name().expect("name").to_string_lossy()
            )),
            "ok".to_string(),
            None
        )]
    );
    // A database migrate has never migrated is only read: no table appears in it.
    let plain = Env::new();
    plain
        .conn()
        .execute_batch("CREATE TABLE app (x); INSERT INTO app VALUES (1);")
        .expect("app db");
    let t = plain.migrate(&["backup", "-dir", "bk"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(plain.tables(), vec!["app".to_string()]);
    let n: i64 = plain
        .conn()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 1, "no identity table either");
    assert_eq!(backups(&plain.path("bk")).len(), 1);
}

/// Runs the migrate binary as `nobody` (setpriv), in `dir`.
fn as_nobody(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_migrate"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("setpriv")
}

#[cfg(unix)]
fn owner(p: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).expect("meta");
    (m.uid(), m.gid())
}

#[test]
fn safety_backups_belong_to_one_database() {
    // Two databases with the same file name (two hosts, or two directories) share one
    // backup directory, which also holds a directory and a file named like backups.
    let a = Env::with("basic");
    let b = Env::with("basic");
    let shared = a.path("shared");
    let dir = shared.display().to_string();
    for e in [&a, &b] {
        assert_eq!(e.migrate(&["up", "1"]).code, 0);
        e.conn()
            .execute("INSERT INTO users (username) VALUES ('x')", [])
            .expect("row");
    }
    std::fs::create_dir_all(shared.join("db.sqlite.backup-v0001-20261122T031500Z")).expect("dir");
    std::fs::write(
        shared.join("db.sqlite.backup-v0002-20261122T031500Z"),
        "notes",
    )
    .expect("f");
    for _ in 0..2 {
        for e in [&a, &b] {
            let t = e.migrate(&["-backup-dir", &dir, "-backup-keep", "1", "backup"]);
            assert_eq!(t.code, 0, "{t}");
        }
    }
    // Each keeps its newest backup; neither removed the other's nor the look-alikes.
    let all = backups(&shared);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(shared
        .join("db.sqlite.backup-v0001-20261122T031500Z")
        .is_dir());
    // `up` is not stopped by the directory named like a backup.
    let t = b.migrate(&["-backup-dir", &dir, "-backup-keep", "1", "up"]);
    assert_eq!(t.code, 0, "{t}");
    let listed = b.migrate(&["-backup-dir", &dir, "backups"]);
    assert_eq!(listed.code, 0, "{listed}");
    assert_eq!(listed.stdout.lines().count(), 2, "{listed}");
    assert!(
        listed
            .stderr
            .contains("is not listed: a backup of another database"),
        "{listed}"
    );
    assert!(
        listed.stderr.contains("is not listed: a directory"),
        "{listed}"
    );
    // `restore` by name of the other database's backup: refused, nothing changed.
    let theirs = backups(&shared)
        .into_iter()
        .find(|p| p.is_file() && identity(p) == identity(&a.db()))
        .expect("a's backup");
    let name = theirs
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let before = b.dump();
    let id_before = identity(&b.db());
    let t = b.migrate(&["-backup-dir", &dir, "restore", &name]);
    assert_eq!(t.code, 1, "{t}");
    assert!(
        t.stderr
            .contains("is not a backup of this database (a backup of another database)"),
        "{t}"
    );
    assert!(t.stderr.contains("restore -foreign "), "{t}");
    assert_eq!(b.dump(), before);
    // With -foreign it goes on, with a warning; the database keeps its own identity.
    let t = b.migrate(&["-backup-dir", &dir, "restore", "-foreign", &name]);
    assert_eq!(t.code, 0, "{t}");
    assert!(t.stderr.contains("warning: "), "{t}");
    assert_eq!(b.rows(), vec![(1, false)]);
    assert_eq!(identity(&b.db()), id_before);
    assert_ne!(identity(&b.db()), identity(&a.db()));
}

#[test]
fn safety_restore_says_what_the_file_is() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    std::fs::create_dir(e.path("adir")).expect("dir");
    assert!(sh("mkfifo", &[&e.path("fifo").display().to_string()]));
    let t = e.migrate(&["restore", "adir"]);
    assert_snapshot!("safety_restore_directory", t.to_string());
    let t = e.migrate(&["restore", "fifo"]);
    assert_snapshot!("safety_restore_fifo", t.to_string());
    let t = e.migrate(&["restore", "missing"]);
    assert!(t.stderr.contains("does not exist"), "{t}");
}

#[test]
#[cfg(unix)]
fn safety_restore_keeps_the_link_owner_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    assert_eq!(e.migrate(&["backup"]).code, 0);
    let b = backups(e.dir.path()).pop().expect("backup");
    assert_eq!(e.migrate(&["up"]).code, 0);
    // The database lives elsewhere; the path the URL names is a symbolic link to it.
    let real_dir = e.path("real");
    std::fs::create_dir(&real_dir).expect("mkdir");
    let real = real_dir.join("app.db");
    std::fs::rename(e.db(), &real).expect("move");
    std::os::unix::fs::symlink(&real, e.db()).expect("link");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    assert!(sh(
        "chown",
        &["nobody:nogroup", &real.display().to_string()]
    ));
    let nobody = owner(&real);
    let t = e.migrate(&["restore", &b.display().to_string()]);
    assert_eq!(t.code, 0, "{t}");
    assert!(std::fs::symlink_metadata(e.db())
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(e.rows(), vec![(1, false)], "the real file was restored");
    assert_eq!(owner(&real), nobody);
    let mode = std::fs::metadata(&real).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn safety_restore_removes_what_killed_restores_left() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    assert_eq!(e.migrate(&["backup"]).code, 0);
    let b = backups(e.dir.path()).pop().expect("backup");
    for n in [
        ".db.sqlite.restore-4242",
        ".db.sqlite.restore-4242-journal",
        ".db.sqlite.restore-7",
    ] {
        std::fs::write(e.path(n), "half a copy").expect("stale");
    }
    std::fs::write(e.path(".db.sqlite.restore-notes"), "mine").expect("other");
    let t = e.migrate(&["restore", &b.display().to_string()]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(
        t.stderr.matches("left by an interrupted restore").count(),
        3,
        "{t}"
    );
    for n in [
        ".db.sqlite.restore-4242",
        ".db.sqlite.restore-4242-journal",
        ".db.sqlite.restore-7",
    ] {
        assert!(!e.path(n).exists(), "{n}");
    }
    assert!(e.path(".db.sqlite.restore-notes").exists());
    let left: Vec<String> = std::fs::read_dir(e.dir.path())
        .expect("ls")
        .flatten()
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".restore-") && n != ".db.sqlite.restore-notes")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
#[cfg(unix)]
fn safety_lock_file_belongs_to_the_database_owner() {
    use std::os::unix::fs::PermissionsExt;
    let e = Env::with("basic");
    let d = e.dir.path().display().to_string();
    std::fs::set_permissions(e.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert!(sh("chown", &["-R", "nobody:nogroup", &d]));
    let nobody = owner(e.dir.path());
    // The application's user creates the database; root migrates it.
    let out = as_nobody(
        e.dir.path(),
        &["-path", "m", "-database", "sqlite3://db.sqlite", "up", "1"],
    );
    assert!(out.status.success(), "{out:?}");
    std::fs::remove_file(e.path("db.sqlite.migrate.lock")).expect("rm lock");
    assert_eq!(e.migrate(&["up", "2"]).code, 0);
    assert_eq!(owner(&e.path("db.sqlite.migrate.lock")), nobody);
    // A lock file root left with root's owner (before this version) does not lock the
    // application's user out either.
    let lock = e.path("db.sqlite.migrate.lock");
    assert!(sh("chown", &["root:root", &lock.display().to_string()]));
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = as_nobody(
        e.dir.path(),
        &[
            "-path",
            "m",
            "-database",
            "sqlite3://db.sqlite",
            "-no-backup",
            "up",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn safety_long_database_file_name() {
    // 230 bytes: the backup's name would exceed NAME_MAX (255) if it repeated it.
    let e = Env::with("basic");
    let name = format!("{}.db", "n".repeat(227));
    let url = format!("sqlite3://{name}");
    let run = |args: &[&str]| {
        let mut a = vec!["-path", "m", "-database", url.as_str()];
        a.extend_from_slice(args);
        e.run(&a)
    };
    assert_eq!(run(&["up", "1"]).code, 0);
    let t = run(&["up"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(t.stderr.contains("Database backup created: "), "{t}");
    let t = run(&["backups"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stdout.lines().count(), 2, "{t}");
    let made: Vec<PathBuf> = std::fs::read_dir(e.dir.path())
        .expect("ls")
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.to_string_lossy().contains(".backup-"))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let made = made[0].display().to_string();
    assert!(Path::new(&made).file_name().expect("n").len() <= 255);
    let t = run(&["restore", &made]);
    assert_eq!(t.code, 0, "{t}");
    let c = rusqlite::Connection::open(e.path(&name)).expect("open");
    let v: i64 = c
        .query_row("SELECT version FROM schema_migrations", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, 1);
}

/// Spawns `migrate up` on a WAL database with `_locking_mode=EXCLUSIVE`: its own
/// connection keeps the backup's out, so the backup waits.
fn spawn_locked_backup(e: &Env) -> std::process::Child {
    let url = "sqlite3://db.sqlite?_locking_mode=EXCLUSIVE";
    e.command()
        .args(["-path", "m", "-database", url, "up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn partials(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.to_string_lossy().contains(".partial"))
        .collect()
}

#[test]
fn safety_backup_wait_is_bounded() {
    let e = Env::with("basic");
    let t = e.run(&[
        "-path",
        "m",
        "-database",
        "sqlite3://db.sqlite?_journal_mode=WAL",
        "up",
        "1",
    ]);
    assert_eq!(t.code, 0, "{t}");
    let before = e.dump();
    let out = spawn_locked_backup(&e).wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stayed locked by another connection for 5 s"),
        "{stderr}"
    );
    assert!(stderr.contains("_locking_mode=EXCLUSIVE"), "{stderr}");
    assert!(partials(e.dir.path()).is_empty());
    assert!(backups(e.dir.path()).is_empty());
    assert_eq!(e.dump(), before);
}

#[test]
fn safety_signals_stop_a_backup_wait_leaving_nothing() {
    for sig in ["-INT", "-TERM"] {
        let e = Env::with("basic");
        let t = e.run(&[
            "-path",
            "m",
            "-database",
            "sqlite3://db.sqlite?_journal_mode=WAL",
            "up",
            "1",
        ]);
        assert_eq!(t.code, 0, "{t}");
        let before = e.dump();
        let child = spawn_locked_backup(&e);
        // The copy has started (its .partial exists) and is waiting for the lock.
        let mut seen = false;
        for _ in 0..400 {
            if !partials(e.dir.path()).is_empty() {
                seen = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(seen, "no backup started");
        assert!(sh("kill", &[sig, &child.id().to_string()]));
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{sig}: {stderr}");
        assert!(
            stderr.contains("interrupted while backing up the database"),
            "{sig}: {stderr}"
        );
        assert!(!stderr.contains("stayed locked"), "{sig}: {stderr}");
        assert!(partials(e.dir.path()).is_empty(), "{sig}");
        assert!(backups(e.dir.path()).is_empty(), "{sig}");
        assert_eq!(e.dump(), before, "{sig}");
    }
}

#[test]
fn safety_sigint_stops_the_lock_wait() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let holder = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(e.path("db.sqlite.migrate.lock"))
        .expect("lock file");
    holder.lock().expect("lock");
    let child = e
        .command()
        .args([
            "-path",
            "m",
            "-database",
            "sqlite3://db.sqlite",
            "-lock-timeout",
            "600",
            "up",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Once SIGINT is caught, it stops the lock wait, running or still to come.
    wait_for_sigint_handler(child.id());
    assert!(sh("kill", &["-INT", &child.id().to_string()]));
    let out = child.wait_with_output().expect("wait");
    drop(holder);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted while waiting for the migration lock"),
        "{stderr}"
    );
    assert_eq!(e.rows(), vec![(1, false)]);
}

/// Waits until process `pid` catches SIGINT (its handler is installed), read from the
/// `SigCgt` mask in `/proc/<pid>/status`.
fn wait_for_sigint_handler(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap_or(0);
        // SIGINT is signal 2: bit 1 of the mask.
        if caught & (1 << 1) != 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "SIGINT is never caught"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn safety_restore_never_prunes_the_backup_it_restores() {
    // The oldest backup, with -backup-keep 1: the pre-restore backup would make it the
    // one to prune, before it is copied.
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    assert_eq!(e.migrate(&["backup"]).code, 0);
    let oldest = backups(e.dir.path()).pop().expect("backup");
    assert_eq!(e.migrate(&["up"]).code, 0);
    let t = e.migrate(&[
        "-backup-keep",
        "1",
        "restore",
        &oldest.display().to_string(),
    ]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.rows(), vec![(1, false)]);
    assert!(oldest.exists(), "the restored backup was pruned");
}
