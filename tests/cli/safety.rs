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

/// A dump without migrate's backup identity (`schema_migrations_identity`), which the
/// first backup adds to the database and its backups carry.
fn without_identity(dump: String) -> String {
    let mut out = String::new();
    let mut skip = false;
    for line in dump.lines() {
        if !line.starts_with("  ") {
            skip = line.starts_with("table schema_migrations_identity:");
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
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
    assert_eq!(without_identity(copy.dump()), before);
    // The backup names its database: the identity the backup gave the database.
    assert!(identity(&copy.db()).is_some());
    assert_eq!(identity(&copy.db()), identity(&e.db()));
    // restore round trip: the current database is backed up first, then replaced.
    let after_up = e.dump();
    let t = e.migrate(&["restore", &b[0].display().to_string()]);
    assert_snapshot!("safety_restore", t.to_string());
    assert_eq!(without_identity(e.dump()), before);
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
    assert_eq!(without_identity(e.dump()), before);
    let t = e.run(&["-path", &m, "-database", &url, "-restore-on-failure", "up"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("Database restored from"), "{t}");
    assert_eq!(without_identity(e.dump()), before);
    assert_eq!(e.rows(), vec![(2, false)]);
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
    assert_eq!(backups(&plain.path("bk")).len(), 1);
}
