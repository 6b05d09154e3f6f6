//! The release-binary workflow end to end: the example `jobserver` (embedded migrations,
//! gated start-up, database flags) and the same flags on the `migrate` binary. Every
//! database state gives its documented message and exit code (docs/release-binary.md),
//! and no check changes the database file (bytes and mtime compared).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

use insta::assert_snapshot;
use migrate::gate::{self, exit, GateStatus};
use migrate::{Migrator, Source};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn migrations() -> PathBuf {
    repo().join("migrations")
}

/// Builds the example once (cargo does not build examples for `cargo test --test gate`)
/// and returns its path, next to this test binary's profile directory.
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
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(repo())
            .args(["build", "--example", "jobserver", "--quiet"]);
        if profile_dir.ends_with("release") {
            c.arg("--release");
        }
        let st = c.status().expect("run cargo build --example jobserver");
        assert!(st.success(), "cargo build --example jobserver failed");
        profile_dir
            .join("examples")
            .join(format!("jobserver{}", std::env::consts::EXE_SUFFIX))
    })
}

struct Env {
    dir: tempfile::TempDir,
}

struct Transcript {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// What must not change while checking: the file's bytes, its mtime, the directory.
#[derive(Debug, PartialEq)]
struct Snapshot {
    bytes: Option<Vec<u8>>,
    mtime: Option<SystemTime>,
    files: Vec<String>,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("job.db")
    }

    fn url(&self) -> String {
        format!("sqlite3://{}", self.db().display())
    }

    fn migrator(&self) -> Migrator {
        let source = Source::from_dir(&migrations()).expect("source");
        Migrator::open(source, &self.url()).expect("open")
    }

    fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).expect("open db")
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

    fn rows(&self) -> Vec<(i64, bool)> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT version, dirty FROM schema_migrations")
            .expect("prepare");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
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

    fn run(&self, bin: &Path, args: &[&str]) -> Transcript {
        let out = Command::new(bin)
            .current_dir(self.dir.path())
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("spawn");
        let filter = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace(&self.dir.path().display().to_string(), "[TMP]")
                .replace(&repo().display().to_string(), "[REPO]")
        };
        Transcript {
            code: out.status.code().unwrap_or(-1),
            stdout: filter(&out.stdout),
            stderr: filter(&out.stderr),
        }
    }

    /// `jobserver --db <tmp>/job.db ARGS`
    fn jobserver(&self, args: &[&str]) -> Transcript {
        let db = self.db().display().to_string();
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        self.run(jobserver(), &all)
    }

    /// `migrate -path <repo>/migrations -database <url> ARGS`
    fn migrate(&self, path: &Path, args: &[&str]) -> Transcript {
        let p = path.display().to_string();
        let url = self.url();
        let mut all = vec!["-path", p.as_str(), "-database", url.as_str()];
        all.extend_from_slice(args);
        self.run(Path::new(env!("CARGO_BIN_EXE_migrate")), &all)
    }

    /// Runs the gated start-up and `-db-status` and checks that neither changed anything.
    fn check(&self, expected_code: u8) -> (Transcript, Transcript) {
        let before = self.snapshot();
        let start = self.jobserver(&[]);
        assert_eq!(
            self.snapshot(),
            before,
            "the start-up check changed the database"
        );
        let status = self.jobserver(&["-db-status"]);
        assert_eq!(self.snapshot(), before, "-db-status changed the database");
        let status_migrate = self.migrate(&migrations(), &["-db-status"]);
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
    let e = Env::new();
    assert_snapshot!(both(e.check(exit::BEHIND)));
    assert!(!e.db().exists());
}

#[test]
fn gate_empty_file_has_no_version_table() {
    let e = Env::new();
    std::fs::write(e.db(), b"").expect("touch");
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_fresh_table_without_row() {
    let e = Env::new();
    e.fresh();
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_behind_by_one() {
    let e = Env::new();
    e.at(5);
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_behind_by_several() {
    let e = Env::new();
    e.at(2);
    assert_snapshot!(both(e.check(exit::BEHIND)));
}

#[test]
fn gate_exactly_right() {
    let e = Env::new();
    e.at(6);
    assert_snapshot!(both(e.check(exit::OK)));
}

#[test]
fn gate_ahead() {
    let e = Env::new();
    e.at(6);
    e.set_row(7, false);
    assert_snapshot!(both(e.check(exit::AHEAD)));
}

#[test]
fn gate_dirty_at_latest() {
    let e = Env::new();
    e.at(6);
    e.set_row(6, true);
    assert_snapshot!(both(e.check(exit::DIRTY)));
}

/// cc-backend reports this as merely "older"; it must be reported as dirty, with the
/// real version.
#[test]
fn gate_dirty_below_latest_is_dirty() {
    let e = Env::new();
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
    let e = Env::new();
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
    let e = Env::new();
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
    assert_eq!(step(&e, &[]), 2);
    assert_eq!(step(&e, &["--migrate-db"]), 0);
    assert_eq!(e.rows(), vec![(6, false)]);
    assert_snapshot!(t);
}

#[test]
fn jobserver_force_db() {
    let e = Env::new();
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
    let e = Env::new();
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
    let e = Env::new();
    e.at(6);
    e.set_row(7, false);
    let before = e.snapshot();
    let a = e.jobserver(&["-migrate-db"]);
    let b = e.jobserver(&["-revert-db"]);
    assert_eq!((a.code, b.code), (3, 3));
    assert_eq!(e.snapshot(), before);
    assert_snapshot!(format!("{a}\n{b}"));
}

#[test]
fn jobserver_two_commands_conflict() {
    let e = Env::new();
    let t = e.jobserver(&["-migrate-db", "-revert-db"]);
    assert_eq!(t.code, 2);
    assert!(!e.db().exists());
    assert_snapshot!(t.to_string());
}

#[test]
fn migrate_binary_db_flags() {
    let e = Env::new();
    let m = migrations();
    let mut t = String::new();
    let mut step = |e: &Env, args: &[&str]| {
        let r = e.migrate(&m, args);
        t.push_str(&format!(
            "$ migrate -path M -database URL {}\n{r}\n",
            args.join(" ")
        ));
        r.code
    };
    assert_eq!(step(&e, &["-db-status"]), 2);
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
    let e = Env::new();
    let m = repo().join("testdata").join("failing");
    let mut t = String::new();
    let mut step = |e: &Env, args: &[&str]| {
        let r = e.migrate(&m, args);
        t.push_str(&format!(
            "$ migrate -path M -database URL {}\n{r}\n",
            args.join(" ")
        ));
        r.code
    };
    assert_eq!(step(&e, &["-migrate-db"]), 1);
    assert_eq!(e.rows(), vec![(2, false)]);
    assert_eq!(step(&e, &["-db-status"]), 2);
    assert_snapshot!(t);
}

/// The library gate on a real file: policies, and `ApplyPending` applying then reporting.
#[test]
fn library_policies() {
    use migrate::gate::Policy;
    let e = Env::new();
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
