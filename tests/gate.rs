//! The release-binary workflow end to end: the example `jobserver` (embedded migrations,
//! gated start-up, database flags) and the same flags on the `migrate` binary. Every
//! database state gives its documented message and exit code (docs/release-binary.md),
//! and no check changes the database file (bytes and mtime compared).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use insta::assert_snapshot;
use migrate::gate::{self, exit, ExitCode, GateStatus};
use migrate::{Migrator, Source};

#[path = "common/harness.rs"]
mod harness;

use harness::{repo, Env, Transcript};

fn migrations() -> PathBuf {
    repo().join("migrations")
}

/// The `jobserver` example's binary, built by `cargo build --example jobserver` (which
/// `make test` runs first: `cargo test` builds examples only as test harnesses). Refused
/// when it is missing or older than any source it is built from, so a stale build is
/// never tested.
fn jobserver() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        // target/<profile>/deps/gate-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .to_path_buf();
        let bin = profile_dir
            .join("examples")
            .join(format!("jobserver{}", std::env::consts::EXE_SUFFIX));
        let build = "cargo build --example jobserver (make test does)";
        let built = std::fs::metadata(&bin)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}; run {build}", bin.display()));
        let sources = ["src", "examples", "migrations", "Cargo.toml", "Cargo.lock"];
        if let Some(newer) = sources
            .iter()
            .flat_map(|s| newer_than(&repo().join(s), built))
            .next()
        {
            panic!(
                "{} is older than {}; run {build}",
                bin.display(),
                newer.display()
            );
        }
        bin
    })
}

/// Files under `path` (or `path` itself) modified after `t`.
fn newer_than(path: &Path, t: SystemTime) -> Vec<PathBuf> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|e| newer_than(&e.path(), t))
            .collect()
    } else if meta.modified().is_ok_and(|m| m > t) {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    }
}

/// A fresh env whose database is `<tmp>/job.db`.
fn env() -> Env {
    Env::with_db_file("job.db")
}

/// What must not change while checking: the file's bytes, its mtime, the directory.
#[derive(Debug, PartialEq)]
struct Snapshot {
    bytes: Option<Vec<u8>>,
    mtime: Option<SystemTime>,
    files: Vec<String>,
}

impl Env {
    fn migrator(&self) -> Migrator {
        let source = Source::from_dir(&migrations()).expect("source");
        Migrator::open(source, &self.url()).expect("open")
    }

    /// golang-migrate's version table DDL, no row: what its `migrate` leaves on open.
    fn fresh(&self) {
        self.conn()
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);\n",
            )
            .expect("ddl");
    }

    fn at(&self, v: u64) {
        let mut m = self.migrator();
        m.goto(v).expect("goto");
    }

    fn set_row(&self, v: i64, dirty: bool) {
        let c = self.conn();
        c.execute("DELETE FROM schema_migrations", [])
            .expect("delete");
        c.execute(
            "INSERT INTO schema_migrations (version, dirty) VALUES (?1, ?2)",
            rusqlite::params![v, dirty],
        )
        .expect("insert");
    }

    fn snapshot(&self) -> Snapshot {
        let mut files: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        Snapshot {
            bytes: std::fs::read(self.db()).ok(),
            mtime: std::fs::metadata(self.db()).and_then(|m| m.modified()).ok(),
            files,
        }
    }

    /// `jobserver --db <tmp>/job.db ARGS`
    fn jobserver(&self, args: &[&str]) -> Transcript {
        let db = self.db().display().to_string();
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        self.run_bin(jobserver(), &all)
    }

    /// `JOBSERVER_EMBED_UP_TO=<up_to> jobserver --db <tmp>/job.db ARGS`: the previous
    /// release, which shipped the migrations up to `up_to`.
    fn previous_release(&self, up_to: u64, args: &[&str]) -> Transcript {
        let db = self.db().display().to_string();
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        let out = self
            .command_for(jobserver())
            .args(&all)
            .env("JOBSERVER_EMBED_UP_TO", up_to.to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("spawn jobserver");
        Transcript {
            code: out.status.code().unwrap_or(-1),
            stdout: self.filter(&String::from_utf8_lossy(&out.stdout)),
            stderr: self.filter(&String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// The schema without migrate's own tables: `(type, name, sql)` of every object, the
    /// SQL without double quotes (a table renamed by `ALTER TABLE` keeps a quoted name).
    fn schema(&self) -> Vec<(String, String, Option<String>)> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT type, name, replace(sql, '\"', '') FROM sqlite_master WHERE name NOT LIKE '%schema_migrations%' AND name <> 'version_unique' ORDER BY type, name")
            .expect("prepare");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// `migrate -path <dir> -database <url> ARGS`
    fn migrate_dir(&self, path: &Path, args: &[&str]) -> Transcript {
        let p = path.display().to_string();
        let url = self.url();
        let mut all = vec!["-path", p.as_str(), "-database", url.as_str()];
        all.extend_from_slice(args);
        self.run_bin(Path::new(env!("CARGO_BIN_EXE_migrate")), &all)
    }

    /// Runs the gated start-up and `-db-status` and checks that neither changed anything.
    fn check(&self, expected_code: ExitCode) -> (Transcript, Transcript) {
        let before = self.snapshot();
        let start = self.jobserver(&[]);
        assert_eq!(
            self.snapshot(),
            before,
            "the start-up check changed the database"
        );
        let status = self.jobserver(&["-db-status"]);
        assert_eq!(self.snapshot(), before, "-db-status changed the database");
        let status_migrate = self.migrate_dir(&migrations(), &["-db-status"]);
        assert_eq!(
            self.snapshot(),
            before,
            "migrate -db-status changed the database"
        );
        assert_eq!(start.code, i32::from(expected_code), "{start}");
        assert_eq!(status.code, i32::from(expected_code), "{status}");
        assert_eq!(
            status_migrate.code,
            i32::from(expected_code),
            "{status_migrate}"
        );
        (start, status)
    }
}

fn both(t: (Transcript, Transcript)) -> String {
    format!(
        "$ jobserver --db DB\n{}\n$ jobserver --db DB -db-status\n{}",
        t.0, t.1
    )
}

#[test]
fn gate_missing_file_is_not_created() {
    let e = env();
    assert_snapshot!(both(e.check(exit::BEHIND)));
    assert!(!e.db().exists());
}

#[test]
fn gate_empty_file_has_no_version_table() {
    let e = env();
    std::fs::write(e.db(), b"").expect("touch");
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_fresh_table_without_row() {
    let e = env();
    e.fresh();
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_behind_by_one() {
    let e = env();
    e.at(5);
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_behind_by_several() {
    let e = env();
    e.at(2);
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_exactly_right() {
    let e = env();
    e.at(6);
    assert_snapshot!(both(e.check(exit::OK)));
}

#[test]
fn gate_ahead() {
    let e = env();
    e.at(6);
    e.set_row(7, false);
    assert_snapshot!(both(e.check(exit::AHEAD)));
}

#[test]
fn gate_dirty_at_latest() {
    let e = env();
    e.at(6);
    e.set_row(6, true);
    assert_snapshot!(both(e.check(exit::DIRTY)));
}

/// cc-backend reports this as merely "older"; it must be reported as dirty, with the
/// real version.
#[test]
fn gate_dirty_below_latest_is_dirty() {
    let e = env();
    e.at(3);
    e.set_row(4, true);
    let t = e.check(exit::DIRTY);
    assert!(t.0.stderr.contains("version 4 has failed"), "{}", t.0);
    assert_snapshot!(both(t));
}

/// A database at the latest version whose applied file was edited after it ran (here:
/// the recorded checksum no longer matches the embedded file) is refused with exit 5.
#[test]
fn gate_drifted() {
    let e = env();
    e.at(6);
    e.conn()
        .execute(
            "UPDATE schema_migrations_checksums SET checksum = 'edited' WHERE version = 4 AND direction = 'up'",
            [],
        )
        .expect("seed a checksum mismatch");
    let t = e.check(exit::DRIFT);
    assert!(
        t.0.to_string()
            .contains("0004_rebuild_jobs_add_energy_column.up.sql"),
        "{}",
        t.0
    );
    assert_snapshot!(both(t));
    let drifted = GateStatus::Drifted {
        current: 6,
        latest: 6,
        files: vec!["0004_rebuild_jobs_add_energy_column.up.sql".into()],
    };
    assert_eq!(drifted.exit_code(), exit::DRIFT);
    assert_snapshot!(drifted.refusal("jobserver"));
}

#[test]
fn embedded_set_matches_directory() {
    // The example's own unit test does this on its embedded set; here the helper itself.
    let a = Source::from_dir(&migrations()).expect("source");
    gate::assert_embedded_matches_dir(&a, migrations());
    let mut files: Vec<(String, std::borrow::Cow<'static, [u8]>)> = Vec::new();
    for ent in std::fs::read_dir(migrations()).expect("dir") {
        let ent = ent.expect("entry");
        let name = ent.file_name().to_string_lossy().into_owned();
        let mut body = std::fs::read(ent.path()).expect("read");
        if name == "0003_add_jobs_index.up.sql" {
            body.push(b' ');
        }
        files.push((name, body.into()));
    }
    files.retain(|(n, _)| n != "0006_backfill_job_state.down.sql");
    let b = Source::from_files(files).expect("files");
    let err = gate::compare_with_dir(&b, &migrations()).expect_err("mismatch");
    assert!(err.contains("0003_add_jobs_index.up.sql differs"), "{err}");
    assert!(err.contains("0006_backfill_job_state.down.sql"), "{err}");
}

#[test]
fn jobserver_fresh_install_upgrade_revert() {
    let e = env();
    let mut t = String::new();
    let mut step = |e: &Env, args: &[&str]| {
        let r = e.jobserver(args);
        t.push_str(&format!("$ jobserver --db DB {}\n{r}\n", args.join(" ")).replace(" \n", "\n"));
        r.code
    };
    assert_eq!(step(&e, &["-migrate-db"]), 0);
    assert_eq!(e.rows(), vec![(6, false)]);
    assert_eq!(step(&e, &[]), 0);
    assert_eq!(step(&e, &["-migrate-db"]), 0);
    assert_eq!(step(&e, &["-revert-db"]), 0);
    assert_eq!(e.rows(), vec![(5, false)]);
    assert_eq!(step(&e, &[]), i32::from(exit::BEHIND));
    assert_eq!(step(&e, &["--migrate-db"]), 0);
    assert_eq!(e.rows(), vec![(6, false)]);
    assert_snapshot!(t);
}

/// The rollback of a release after the fact: the newer binary migrated to 6 and is gone;
/// the previous release (migrations up to 4) refuses to start, naming -downgrade-db, brings
/// the database down with the down SQL stored when 5 and 6 were applied, and serves. The
/// schema is then the one the previous release builds itself, for every older release.
#[test]
fn jobserver_previous_release_downgrades_with_stored_down_sql() {
    let e = Env::new();
    let mut t = String::new();
    let mut step = |e: &Env, release: Option<u64>, args: &[&str]| {
        let (r, env) = match release {
            Some(n) => (
                e.previous_release(n, args),
                format!("JOBSERVER_EMBED_UP_TO={n} "),
            ),
            None => (e.jobserver(args), String::new()),
        };
        t.push_str(
            &format!("$ {env}jobserver --db DB {}\n{r}\n", args.join(" ")).replace(" \n", "\n"),
        );
        r.code
    };
    assert_eq!(step(&e, None, &["-migrate-db"]), 0);
    assert_eq!(step(&e, Some(4), &[]), i32::from(exit::AHEAD));
    assert_eq!(step(&e, Some(4), &["-downgrade-db"]), 0);
    assert_eq!(e.rows(), vec![(4, false)]);
    assert_eq!(step(&e, Some(4), &[]), 0);
    assert_eq!(step(&e, None, &[]), i32::from(exit::BEHIND));
    assert_eq!(step(&e, None, &["-migrate-db"]), 0);
    assert_eq!(e.rows(), vec![(6, false)]);
    assert_snapshot!(t);
    for k in 1..=5u64 {
        let fresh = Env::new();
        assert_eq!(fresh.previous_release(k, &["-migrate-db"]).code, 0);
        let e = Env::new();
        assert_eq!(e.jobserver(&["-migrate-db"]).code, 0);
        let r = e.previous_release(k, &["-downgrade-db", "-no-backup"]);
        assert_eq!(r.code, 0, "{k}: {r}");
        assert_eq!(e.rows(), vec![(i64::try_from(k).expect("k"), false)]);
        assert_eq!(e.schema(), fresh.schema(), "release {k}");
        assert_eq!(e.previous_release(k, &[]).code, 0, "release {k} serves");
    }
}

#[test]
fn jobserver_force_db() {
    let e = env();
    e.at(3);
    e.set_row(4, true);
    let mut t = String::new();
    let mut step = |e: &Env, args: &[&str]| {
        let r = e.jobserver(args);
        t.push_str(&format!("$ jobserver --db DB {}\n{r}\n", args.join(" ")).replace(" \n", "\n"));
        r.code
    };
    assert_eq!(step(&e, &["-migrate-db"]), 4);
    assert_eq!(step(&e, &["-revert-db"]), 4);
    assert_eq!(step(&e, &["-force-db"]), 1);
    assert_eq!(e.rows(), vec![(4, true)]);
    assert_eq!(step(&e, &["-force-db", "9"]), 1);
    assert_eq!(step(&e, &["-force-db", "3"]), 0);
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_eq!(step(&e, &["-migrate-db"]), 0);
    assert_eq!(e.rows(), vec![(6, false)]);
    // Forcing the failed version itself warns.
    e.set_row(6, true);
    assert_eq!(step(&e, &["-force-db=6"]), 0);
    assert_eq!(step(&e, &["-force-db", "-1"]), 0);
    assert_eq!(e.rows(), vec![]);
    assert_snapshot!(t);
}

#[test]
fn jobserver_force_db_does_not_create_a_file() {
    let e = env();
    let t = e.jobserver(&["-force-db", "6"]);
    assert_eq!(t.code, 1);
    assert!(!e.db().exists());
    let t2 = e.jobserver(&["-revert-db"]);
    assert_eq!(t2.code, 1);
    assert!(!e.db().exists());
    assert_snapshot!(format!("{t}\n{t2}"));
}

#[test]
fn jobserver_ahead_refuses_migrate_and_revert() {
    let e = env();
    e.at(6);
    e.set_row(7, false);
    let before = e.snapshot();
    let a = e.jobserver(&["-migrate-db"]);
    let b = e.jobserver(&["-revert-db"]);
    assert_eq!(
        (a.code, b.code),
        (i32::from(exit::AHEAD), i32::from(exit::AHEAD))
    );
    assert_eq!(e.snapshot(), before);
    assert_snapshot!(format!("{a}\n{b}"));
}

#[test]
fn jobserver_two_commands_conflict() {
    let e = env();
    let t = e.jobserver(&["-migrate-db", "-revert-db"]);
    assert_eq!(t.code, 2);
    assert!(!e.db().exists());
    assert_snapshot!(t.to_string());
}

#[test]
fn migrate_binary_db_flags() {
    let e = env();
    let m = migrations();
    let mut t = String::new();
    let mut step = |e: &Env, args: &[&str]| {
        let r = e.migrate_dir(&m, args);
        t.push_str(&format!(
            "$ migrate -path M -database URL {}\n{r}\n",
            args.join(" ")
        ));
        r.code
    };
    assert_eq!(step(&e, &["-db-status"]), i32::from(exit::BEHIND));
    assert!(!e.db().exists());
    assert_eq!(step(&e, &["-force-db"]), 1);
    assert!(!e.db().exists());
    assert_eq!(step(&e, &["-migrate-db"]), 0);
    assert_eq!(step(&e, &["-revert-db"]), 0);
    assert_eq!(e.rows(), vec![(5, false)]);
    assert_eq!(step(&e, &["--migrate-db"]), 0);
    e.set_row(6, true);
    assert_eq!(step(&e, &["-db-status"]), 4);
    assert_eq!(step(&e, &["-force-db", "5"]), 0);
    assert_eq!(e.rows(), vec![(5, false)]);
    assert_eq!(step(&e, &["-migrate-db", "-db-status"]), 2);
    assert_snapshot!(t);
}

/// A failed migration: SQLite rolls the file back, the database stays clean at the
/// previous version, exit 1; the gate then reports it behind (no -force-db needed).
#[test]
fn migrate_binary_failed_migration() {
    let e = env();
    let m = repo().join("testdata").join("failing");
    let mut t = String::new();
    let mut step = |e: &Env, args: &[&str]| {
        let r = e.migrate_dir(&m, args);
        t.push_str(&format!(
            "$ migrate -path M -database URL {}\n{r}\n",
            args.join(" ")
        ));
        r.code
    };
    assert_eq!(step(&e, &["-migrate-db"]), 1);
    assert_eq!(e.rows(), vec![(2, false)]);
    assert_eq!(step(&e, &["-db-status"]), i32::from(exit::BEHIND));
    assert_snapshot!(t);
}

/// The library gate on a real file: policies, and `ApplyPending` applying then reporting.
#[test]
fn library_policies() {
    use migrate::gate::Policy;
    let e = env();
    let source = Source::from_dir(&migrations()).expect("source");
    let url = e.url();
    e.at(4);
    let before = e.snapshot();
    assert!(matches!(
        gate::check_url(&source, &url).expect("check"),
        GateStatus::Behind { current: Some(4), latest: 6, ref pending } if pending == &[5, 6]
    ));
    assert!(gate::gate(source.clone(), &url, Policy::AtLeast(4)).is_ok());
    let refused = gate::gate(source.clone(), &url, Policy::AtLeast(5)).expect_err("refused");
    assert_eq!(
        refused.gate_status().map(GateStatus::exit_code),
        Some(exit::BEHIND)
    );
    let refused = gate::gate(source.clone(), &url, Policy::RequireLatest).expect_err("refused");
    assert!(
        refused.to_string().contains("pending migrations 5, 6"),
        "{refused}"
    );
    assert_eq!(e.snapshot(), before, "checks must not write");
    assert_eq!(
        gate::gate(source.clone(), &url, Policy::ApplyPending).expect("applied"),
        GateStatus::UpToDate { version: 6 }
    );
    assert_eq!(e.rows(), vec![(6, false)]);
    // Dirty is never let through, whatever the policy, and ApplyPending does not run.
    e.set_row(4, true);
    for p in [
        Policy::RequireLatest,
        Policy::ApplyPending,
        Policy::AtLeast(1),
    ] {
        let err = gate::gate(source.clone(), &url, p).expect_err("dirty");
        assert!(
            matches!(
                err.gate_status(),
                Some(GateStatus::Dirty {
                    version: 4,
                    previous: 3,
                    ..
                })
            ),
            "{err}"
        );
    }
    assert_eq!(e.rows(), vec![(4, true)]);
    // Migrator::gate on an open migrator gives the same answers.
    let mut m = e.migrator();
    assert!(m.gate(Policy::RequireLatest).is_err());
}

/// Backup files of `job.db` in the env's directory, sorted by name.
fn backups(e: &Env) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(e.dir.path())
        .expect("read dir")
        .flatten()
        .map(|d| d.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("job.db.backup-"))
        })
        .collect();
    v.sort();
    v
}

/// Schema and rows of every table but the journal (checked on its own) and the backup
/// identity (written by the first backup, docs/backups.md), to compare databases.
fn dump(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).expect("open");
    let mut out = Vec::new();
    let tables: Vec<(String, String)> = c
        .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('schema_migrations_journal', 'schema_migrations_identity') ORDER BY name")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("tables");
    for (name, sql) in tables {
        out.push(sql);
        let mut st = c
            .prepare(&format!("SELECT * FROM \"{name}\""))
            .expect("select");
        let n = st.column_count();
        let rows: Vec<String> = st
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).map(|v| format!("{v:?}"))))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        out.push(format!("{name}: {rows:?}"));
    }
    out
}

/// `-migrate-db` backs a database with data up first (exactly one file, mode 0600) and
/// the backup restores to the pre-migration state; nothing pending makes none.
#[test]
fn jobserver_migrate_db_backs_up_first() {
    let e = env();
    e.at(3);
    e.conn()
        .execute_batch(
            "INSERT INTO jobs (id, name, cluster) VALUES (1, 'a', 'c1'), (2, 'b', 'c2');",
        )
        .expect("insert");
    let before = dump(&e.db());
    let t = e.jobserver(&["-migrate-db"]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(e.rows(), vec![(6, false)]);
    let b = backups(&e);
    assert_eq!(b.len(), 1, "{b:?}");
    let name = b[0]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("job.db.backup-v0003-"), "{name}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&b[0]).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "backup mode");
    }
    // The backup holds exactly the pre-migration schema and rows.
    assert_eq!(dump(&b[0]), before);
    assert_snapshot!(t.to_string());
    // ... and restores to it (the restore backs the migrated database up first).
    let backup = b[0].display().to_string();
    let r = e.migrate_dir(&migrations(), &["restore", &backup]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(dump(&e.db()), before);
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_eq!(backups(&e).len(), 2);
    let t = e.jobserver(&["-migrate-db"]);
    assert_eq!(t.code, 0, "{t}");
    let b = backups(&e);
    assert_eq!(b.len(), 3);
    // Up to date: nothing changes, no backup.
    let t = e.jobserver(&["-migrate-db"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(!t.stderr.contains("backup"), "{t}");
    assert_eq!(backups(&e), b);
    // The journal records the restore and the backup after it (the restored database
    // has no row of the first backup: it was written after that backup was taken).
    let journal: Vec<(String, Option<i64>, Option<i64>, String)> = e
        .conn()
        .prepare("SELECT operation, version_from, version_to, file FROM schema_migrations_journal WHERE operation IN ('backup', 'restore') ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let newest = b
        .iter()
        .find(|p| p.display().to_string() != backup && p.display().to_string().contains("-v0003-"))
        .expect("backup before the second -migrate-db");
    assert_eq!(
        journal,
        vec![
            ("restore".to_string(), Some(6), Some(3), backup.clone()),
            (
                "backup".to_string(),
                Some(3),
                Some(3),
                newest.display().to_string()
            ),
        ]
    );
}

#[test]
fn jobserver_no_backup_opt_out() {
    let e = env();
    e.at(3);
    for args in [
        &["-migrate-db", "-no-backup"][..],
        &["--no-backup", "-revert-db"],
    ] {
        let t = e.jobserver(args);
        assert_eq!(t.code, 0, "{t}");
        assert!(!t.stderr.contains("backup"), "{t}");
    }
    assert_eq!(e.rows(), vec![(5, false)]);
    let t = e.migrate_dir(&migrations(), &["-no-backup", "-force-db", "4"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(backups(&e).is_empty());
}

/// `-revert-db` and `-force-db` back up too; a database with nothing but migrate's own
/// tables (or no file) is not backed up.
#[test]
fn db_commands_back_up_revert_and_force() {
    let e = env();
    let t = e.jobserver(&["-migrate-db"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(
        backups(&e).is_empty(),
        "a missing file has nothing to lose: {t}"
    );
    assert_eq!(e.jobserver(&["-revert-db"]).code, 0);
    assert_eq!(backups(&e).len(), 1);
    e.set_row(5, true);
    let t = e.migrate_dir(&migrations(), &["-force-db", "4"]);
    assert_eq!(t.code, 0, "{t}");
    let b = backups(&e);
    assert_eq!(b.len(), 2, "{b:?}");
    assert!(
        b.iter()
            .any(|p| p.display().to_string().contains(".backup-v0005-dirty-")),
        "{b:?}"
    );
    assert_snapshot!(t.to_string());
    // An empty database at no version: nothing to back up.
    let f = env();
    f.fresh();
    assert_eq!(f.jobserver(&["-migrate-db"]).code, 0);
    assert!(backups(&f).is_empty());
}

/// `migrate ... -migrate-db -dry-run` prints the plan and changes nothing; it refuses
/// like `-migrate-db` does; `-dry-run` with `-revert-db`/`-force-db` is refused.
#[test]
fn migrate_binary_migrate_db_dry_run() {
    let e = env();
    let m = migrations();
    let t = e.migrate_dir(&m, &["-migrate-db", "-dry-run"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(!e.db().exists());
    assert!(
        t.stdout
            .starts_with("-- dry run: 6 migration(s) would run, from version nil"),
        "{t}"
    );
    e.at(4);
    let before = e.snapshot();
    let t = e.migrate_dir(&m, &["-dry-run", "-migrate-db"]);
    assert_eq!(t.code, 0, "{t}");
    assert_snapshot!(t.to_string());
    let mut refused = String::new();
    for args in [
        &["-revert-db", "-dry-run"][..],
        &["-dry-run", "-force-db", "3"],
    ] {
        let t = e.migrate_dir(&m, args);
        assert_eq!(t.code, 2, "{t}");
        refused.push_str(&format!("{t}\n"));
    }
    e.set_row(4, true);
    let dirty = e.snapshot();
    let t = e.migrate_dir(&m, &["-migrate-db", "-dry-run"]);
    assert_eq!(t.code, i32::from(exit::DIRTY), "{t}");
    refused.push_str(&t.to_string());
    assert_eq!(e.snapshot(), dirty);
    e.set_row(4, false);
    assert_eq!(e.snapshot().files, before.files);
    assert!(backups(&e).is_empty());
    assert_snapshot!("migrate_binary_migrate_db_dry_run_refused", refused);
}

/// A database at version 3 holding enough rows to span many pages, with a backup taken
/// by `migrate backup`.
fn filled_with_backup() -> Env {
    let e = env();
    e.at(3);
    e.conn()
        .execute_batch(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 2000) INSERT INTO jobs (id, name, cluster) SELECT i, 'job' || i, 'c' || (i % 7) FROM c;",
        )
        .expect("fill");
    let t = e.migrate_dir(&migrations(), &["backup"]);
    assert_eq!(t.code, 0, "{t}");
    e
}

/// Overwrites `range` of the database file's bytes with garbage.
fn scribble(e: &Env, range: std::ops::Range<usize>) {
    let mut bytes = std::fs::read(e.db()).expect("read");
    assert!(bytes.len() >= range.end, "db too small: {}", bytes.len());
    for (i, b) in bytes[range].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(e.db(), &bytes).expect("write");
}

/// The release binary's database commands run the same safety hook as the CLI: a
/// database whose version table is corrupt is refused with the integrity check's
/// findings and the newest backup, before anything is written.
#[test]
fn jobserver_migrate_db_refuses_a_corrupt_database() {
    let e = filled_with_backup();
    // Page 1 holds the schema; the version table is created first, on page 2.
    scribble(&e, 4096 + 100..3 * 4096);
    let before = e.snapshot();
    let mut first = None;
    for args in [&["-migrate-db"][..], &["-revert-db"], &["-force-db", "3"]] {
        let t = e.jobserver(args);
        first.get_or_insert_with(|| t.to_string());
        assert_eq!(t.code, i32::from(exit::ERROR), "{t}");
        assert!(t.stderr.contains("failed its integrity check"), "{t}");
        assert!(
            t.stderr.contains("restore [TMP]/job.db.backup-v0003-"),
            "{t}"
        );
        assert_eq!(e.snapshot(), before, "{args:?} changed the database");
    }
    assert_snapshot!(first.expect("ran"));
}

/// The check after a change runs on the release-binary path too: a migration that leaves
/// a schema SQLite cannot read fails `-migrate-db`, which names the backup to return to.
#[test]
fn migrate_db_checks_the_database_after_migrating() {
    let e = filled_with_backup();
    let dir = e.path("m");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for f in std::fs::read_dir(migrations()).expect("ls").flatten() {
        std::fs::copy(f.path(), dir.join(f.file_name())).expect("copy");
    }
    std::fs::write(
        dir.join("0007_break.up.sql"),
        "PRAGMA writable_schema = ON;\nUPDATE sqlite_master SET sql = 'CREATE TABLE tags (' WHERE name = 'tags';\nPRAGMA writable_schema = OFF;\n",
    )
    .expect("write");
    let t = e.migrate_dir(&dir, &["-migrate-db"]);
    assert_eq!(t.code, i32::from(exit::ERROR), "{t}");
    assert!(
        t.stderr
            .contains("MigrateDB Failed: the database failed PRAGMA quick_check after migrating"),
        "{t}"
    );
    assert!(
        t.stderr.contains(
            "hint: to return to the database as it was before this run: migrate -database sqlite3://[TMP]/job.db restore [TMP]/job.db.backup-v0003-"
        ),
        "{t}"
    );
    assert!(!t.stdout.contains("Success"), "{t}");
    assert_snapshot!(t.to_string());
}

/// The check before the change runs inside the lock on the release-binary path, with
/// `--no-backup` too: a database whose version reads fine but whose data pages are
/// corrupt is refused and left as it was.
#[test]
fn jobserver_checks_before_migrating_even_without_backup() {
    let e = filled_with_backup();
    // The rows inserted last fill the last pages; the schema and the version stay readable.
    let len = std::fs::metadata(e.db()).expect("meta").len() as usize;
    let pages = len / 4096;
    for p in pages - 6..pages - 1 {
        scribble(&e, p * 4096 + 200..p * 4096 + 4000);
    }
    assert_eq!(e.rows(), vec![(3, false)]);
    let before = e.snapshot();
    let t = e.jobserver(&["-migrate-db", "--no-backup"]);
    assert_eq!(t.code, i32::from(exit::ERROR), "{t}");
    assert!(
        t.stderr.starts_with(
            "MigrateDB Failed: database [TMP]/job.db failed its integrity check (quick_check)"
        ),
        "{t}"
    );
    assert!(t.stderr.contains("hint: nothing was changed"), "{t}");
    assert!(!t.stderr.contains("Database backup"), "{t}");
    assert!(!t.stdout.contains("Success"), "{t}");
    assert_eq!(e.snapshot().bytes, before.bytes, "the database changed");
    assert_eq!(e.rows(), vec![(3, false)]);
}
