//! First-contact behaviours of the real `migrate` binary on all three drivers: the hint
//! after a failed migration file names the file, the driver's line and the state the
//! database is really in. Each case uses a fresh database (tests/common); the state is
//! read directly from the database, never from the output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{fresh, Server, TestDb};
use insta::assert_snapshot;
use migrate::DbVersion;

/// Where a case runs: a SQLite file in a temp dir, or a fresh server database.
enum Db {
    Sqlite(tempfile::TempDir),
    Server(TestDb),
}

impl Db {
    fn open(driver: Driver) -> Option<Db> {
        match driver {
            Driver::Sqlite => Some(Db::Sqlite(tempfile::tempdir().expect("tempdir"))),
            Driver::Postgres => fresh(Server::Postgres).map(Db::Server),
            Driver::Mysql => fresh(Server::Mysql).map(Db::Server),
        }
    }

    fn url(&self, params: &str) -> String {
        match self {
            Db::Sqlite(d) => {
                let base = format!("sqlite3://{}/db.sqlite", d.path().display());
                if params.is_empty() {
                    base
                } else {
                    format!("{base}?{params}")
                }
            }
            Db::Server(t) if params.is_empty() => t.url.clone(),
            Db::Server(t) => t.url_with(params),
        }
    }

    fn version(&self) -> DbVersion {
        common::open(&self.url("")).version().expect("version")
    }

    /// The lock file of the SQLite database.
    fn lock_file(&self) -> PathBuf {
        let Db::Sqlite(d) = self else {
            unreachable!("sqlite");
        };
        migrate::driver::lockfile::path_for(&d.path().join("db.sqlite"))
    }

    fn filter(&self, s: &str) -> String {
        match self {
            Db::Sqlite(d) => s.replace(&d.path().display().to_string(), "[TMP]"),
            Db::Server(t) => s.replace(&t.name, "[DB]"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    Sqlite,
    Postgres,
    Mysql,
}

/// How the failing file runs.
#[derive(Clone, Copy, Debug)]
struct Mode {
    name: &'static str,
    driver: Driver,
    /// Database URL parameters.
    params: &'static str,
    /// The failing file starts with PostgreSQL's `-- migrate:no-transaction`.
    marker: bool,
    /// Whether a failure rolls the file back (else: golang-migrate's dirty protocol).
    rolls_back: bool,
    /// The words the hint gives for running outside a transaction.
    why: &'static str,
}

const MODES: &[Mode] = &[
    Mode {
        name: "sqlite",
        driver: Driver::Sqlite,
        params: "",
        marker: false,
        rolls_back: true,
        why: "",
    },
    Mode {
        name: "sqlite x-no-tx-wrap",
        driver: Driver::Sqlite,
        params: "x-no-tx-wrap=true",
        marker: false,
        rolls_back: false,
        why: "x-no-tx-wrap=true",
    },
    Mode {
        name: "postgres",
        driver: Driver::Postgres,
        params: "",
        marker: false,
        rolls_back: true,
        why: "",
    },
    Mode {
        name: "postgres no-transaction file",
        driver: Driver::Postgres,
        params: "",
        marker: true,
        rolls_back: false,
        why: migrate::driver::postgres::NO_TRANSACTION_MARKER,
    },
    Mode {
        name: "postgres x-multi-statement",
        driver: Driver::Postgres,
        params: "x-multi-statement=true",
        marker: false,
        rolls_back: false,
        why: "x-multi-statement=true",
    },
    Mode {
        name: "mysql",
        driver: Driver::Mysql,
        params: "",
        marker: false,
        rolls_back: false,
        why: "MySQL commits each schema change by itself",
    },
];

/// Versions 10, 20, 30 (gaps, so "the version before" is not `v - 1`); the file of
/// `failing` (up or down) fails on its second line.
fn write_files(dir: &Path, failing: u64, up: bool, marker: bool) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for v in [10u64, 20, 30] {
        let ok_up =
            format!("CREATE TABLE t{v}_a (id INTEGER);\nCREATE TABLE t{v}_b (id INTEGER);\n");
        let ok_down = format!("DROP TABLE t{v}_b;\nDROP TABLE t{v}_a;\n");
        let bad = |ok: &str| {
            let first = ok.lines().next().unwrap_or_default();
            let body = format!("{first}\nCREAT TABLE broken_{v} (id INTEGER);\n");
            if marker {
                format!(
                    "{}\n{body}",
                    migrate::driver::postgres::NO_TRANSACTION_MARKER
                )
            } else {
                body
            }
        };
        let (u, d) = if v == failing && up {
            (bad(&ok_up), ok_down)
        } else if v == failing {
            (ok_up.clone(), bad(&ok_down))
        } else {
            (ok_up, ok_down)
        };
        std::fs::write(dir.join(format!("{v}_m{v}.up.sql")), u).expect("write");
        std::fs::write(dir.join(format!("{v}_m{v}.down.sql")), d).expect("write");
    }
}

/// A temporary directory with [`write_files`]'s migrations in its `m`, and that path.
fn migrations(failing: u64, up: bool, marker: bool) -> (tempfile::TempDir, PathBuf) {
    let files = tempfile::tempdir().expect("tempdir");
    let dir = files.path().join("m");
    write_files(&dir, failing, up, marker);
    (files, dir)
}

fn migrate(dir: &Path, url: &str, args: &[&str]) -> (i32, String) {
    let out = common::migrate_command(dir, url, &[&["-no-backup"], args].concat())
        .output()
        .expect("run migrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn prev(v: u64) -> Option<u64> {
    match v {
        10 => None,
        v => Some(v - 10),
    }
}

fn force_arg(v: Option<u64>) -> String {
    match v {
        Some(v) => format!("`migrate force {v}`"),
        None => "`migrate force -- -1`".into(),
    }
}

/// One case: returns its line of the summary, after checking the hint against the state
/// read from the database.
fn case(mode: &Mode, failing: u64, up: bool) -> Option<String> {
    let db = Db::open(mode.driver)?;
    let (_files, dir) = migrations(failing, up, mode.marker);
    let url = db.url(mode.params);
    if !up {
        let (code, err) = migrate(&dir, &url, &["up"]);
        assert_eq!(code, 0, "{}: setup up: {err}", mode.name);
    }
    let args: &[&str] = if up { &["up"] } else { &["down", "-all"] };
    let (code, err) = migrate(&dir, &url, args);
    let what = format!(
        "{} {} of {failing}",
        mode.name,
        if up { "up" } else { "down" }
    );
    assert_eq!(code, 1, "{what}: {err}");
    let hints: Vec<&str> = err.lines().filter(|l| l.starts_with("hint: ")).collect();
    let file = format!(
        "{failing}_m{failing}.{}.sql",
        if up { "up" } else { "down" }
    );
    let hint = hints
        .iter()
        .find(|h| h.contains(&file))
        .unwrap_or_else(|| panic!("{what}: no hint names {file}: {err}"));
    // The versions around the failing file.
    let (before, after) = if up {
        (prev(failing), Some(failing))
    } else {
        (Some(failing), prev(failing))
    };
    let state = db.version();
    match state {
        DbVersion::Clean(v) => {
            assert!(
                mode.rolls_back,
                "{what}: clean after a dirty-protocol failure"
            );
            assert_eq!(Some(v), before, "{what}");
            assert!(
                hint.contains(&format!("clean at version {v}")),
                "{what}: {hint}"
            );
            assert!(hint.contains("rolled back"), "{what}: {hint}");
        }
        DbVersion::Nil => {
            assert!(mode.rolls_back, "{what}");
            assert_eq!(before, None, "{what}");
            assert!(hint.contains("clean with no version"), "{what}: {hint}");
        }
        DbVersion::Dirty(v) => {
            assert!(
                !mode.rolls_back,
                "{what}: dirty after a transactional failure"
            );
            // golang-migrate's protocol marks the target version dirty (nil: -1).
            assert_eq!(v, after.map_or(-1, |a| a as i64), "{what}");
            assert!(
                hint.contains(&format!("dirty at version {v}")),
                "{what}: {hint}"
            );
            assert!(hint.contains(mode.why), "{what}: {hint}");
            assert!(hint.contains(&force_arg(before)), "{what}: {hint}");
            assert!(hint.contains(&force_arg(after)), "{what}: {hint}");
        }
    }
    // PostgreSQL reports the failing line, counted in the file (the marker line first);
    // the others do not.
    match mode.driver {
        Driver::Postgres => {
            let line = if mode.marker { 3 } else { 2 };
            assert!(
                hint.contains(&format!("failed at line {line};"))
                    || hint.contains(&format!("failed at line {line} and")),
                "{what}: {hint}"
            )
        }
        _ => assert!(!hint.contains(" at line "), "{what}: {hint}"),
    }
    Some(format!("{what}: {}", db.filter(hint)))
}

fn cases(driver: Driver) -> String {
    let mut lines = Vec::new();
    for mode in MODES.iter().filter(|m| m.driver == driver) {
        for failing in [10, 20, 30] {
            for up in [true, false] {
                match case(mode, failing, up) {
                    Some(l) => lines.push(l),
                    None => return String::new(),
                }
            }
        }
    }
    lines.join("\n")
}

#[test]
fn failed_file_hint_sqlite() {
    assert_snapshot!(cases(Driver::Sqlite));
}

#[test]
fn failed_file_hint_postgres() {
    let s = cases(Driver::Postgres);
    if !s.is_empty() {
        assert_snapshot!(s);
    }
}

#[test]
fn failed_file_hint_mysql() {
    let s = cases(Driver::Mysql);
    if !s.is_empty() {
        assert_snapshot!(s);
    }
}

/// SQLite without a transaction, with the automatic backup: the hint names the backup
/// and the restore command follows.
#[test]
fn failed_file_hint_names_the_backup() {
    let db = Db::open(Driver::Sqlite).expect("sqlite");
    let (_files, dir) = migrations(20, true, false);
    let url = db.url("x-no-tx-wrap=true");
    let run = |args: &[&str]| {
        let out = common::migrate_command(&dir, &url, args)
            .output()
            .expect("run migrate");
        (
            out.status.code().unwrap_or(-1),
            db.filter(&String::from_utf8_lossy(&out.stderr)),
        )
    };
    assert_eq!(run(&["up", "1"]).0, 0);
    let (code, err) = run(&["up"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(db.version(), DbVersion::Dirty(20));
    let Db::Sqlite(tmp) = &db else {
        unreachable!("sqlite");
    };
    let backups: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".backup-v"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let hints: Vec<&str> = err.lines().filter(|l| l.starts_with("hint: ")).collect();
    assert_eq!(hints.len(), 3, "{err}");
    assert!(hints[1].contains("`migrate recover`"), "{err}");
    let named = format!("[TMP]/{}", backups[0]);
    assert!(
        hints[0].contains(&format!(
            "restore the backup taken before this run ({named}"
        )),
        "{err}"
    );
    assert!(
        hints[2].contains("restore") && hints[2].contains(&named),
        "{err}"
    );
    let utc = regex::Regex::new(r"\d{8}T\d{6}Z").expect("regex");
    assert_snapshot!(utc.replace_all(&err, "[UTC]"));
}

/// Runs `migrate up` while the test holds the migration lock; once the one-line notice
/// appears on stderr, `release` lets go. Returns the notice and the whole stderr, after
/// checking that the run then went through.
fn wait_for_lock(dir: &Path, url: &str, release: impl FnOnce()) -> (String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = common::migrate_command(dir, url, &["-lock-timeout", "60", "-no-backup", "up"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn migrate");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut all = String::new();
    let notice = loop {
        let Some(line) = lines.next() else {
            let status = child.wait().expect("wait");
            panic!("migrate ended ({status}) without a lock-wait notice: {all}");
        };
        let line = line.expect("line");
        all.push_str(&line);
        all.push('\n');
        if line.starts_with("waiting for the migration lock") {
            break line;
        }
    };
    release();
    for line in lines {
        all.push_str(&line.expect("line"));
        all.push('\n');
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}: {all}");
    let notices = all
        .lines()
        .filter(|l| l.starts_with("waiting for the migration lock"))
        .count();
    assert_eq!(notices, 1, "one notice per wait: {all}");
    assert!(
        notice.ends_with("; giving up after 1m0s (-lock-timeout)"),
        "{notice}"
    );
    (notice, all)
}

#[test]
fn lock_wait_notice_sqlite() {
    let db = Db::open(Driver::Sqlite).expect("sqlite");
    let (_files, dir) = migrations(0, true, false);
    let lock = db.lock_file();
    let held = migrate::driver::lockfile::acquire(&lock, std::time::Duration::ZERO).expect("hold");
    let (notice, _) = wait_for_lock(&dir, &db.url(""), || {
        migrate::driver::lockfile::release(held)
    });
    let me = format!("held by pid {} (", std::process::id());
    assert!(notice.contains(&me), "{notice}");
    assert!(notice.contains(&lock.display().to_string()), "{notice}");
    assert_eq!(db.version(), DbVersion::Clean(30));
}

/// A lock held by a process that does not record itself (golang-migrate has no lock file;
/// any `flock`): the notice still comes, without a holder.
#[test]
fn lock_wait_notice_sqlite_unknown_holder() {
    let db = Db::open(Driver::Sqlite).expect("sqlite");
    let (_files, dir) = migrations(0, true, false);
    let lock = db.lock_file();
    let f = std::fs::File::create(&lock).expect("lock file");
    f.lock().expect("hold");
    let (notice, _) = wait_for_lock(&dir, &db.url(""), || drop(f));
    assert!(notice.contains("held by another process;"), "{notice}");
}

#[test]
fn lock_wait_notice_postgres() {
    let Some(Db::Server(t)) = Db::open(Driver::Postgres) else {
        return;
    };
    let (_files, dir) = migrations(0, true, false);
    let mut holder = t.driver();
    let key = migrate::driver::lockkey::advisory_lock_id(
        &format!("/{}", t.name),
        &["public", "schema_migrations"],
    );
    holder
        .query(
            "SELECT pg_advisory_lock($1)",
            &[migrate::driver::Value::Int(key.into())],
        )
        .expect("lock");
    let pid = holder.query("SELECT pg_backend_pid()", &[]).expect("pid")[0][0]
        .as_i64()
        .expect("pid");
    let (notice, _) = wait_for_lock(&dir, &t.url, || drop(holder));
    assert!(
        notice.contains(&format!(
            "held by PostgreSQL backend pid {pid} (user postgres"
        )),
        "{notice}"
    );
    assert!(
        notice.contains(&format!("pg_advisory_lock({key})")),
        "{notice}"
    );
    let db = Db::Server(t);
    assert_eq!(db.version(), DbVersion::Clean(30));
}

#[test]
fn lock_wait_notice_mysql() {
    let Some(Db::Server(t)) = Db::open(Driver::Mysql) else {
        return;
    };
    let (_files, dir) = migrations(0, true, false);
    let mut holder = t.driver();
    let name =
        migrate::driver::lockkey::advisory_lock_id(&format!("{}:schema_migrations", t.name), &[])
            .to_string();
    let got = holder
        .query(
            "SELECT GET_LOCK(?, 1)",
            &[migrate::driver::Value::Text(name.clone())],
        )
        .expect("lock");
    assert_eq!(got[0][0].as_i64(), Some(1));
    let id = holder.query("SELECT CONNECTION_ID()", &[]).expect("id")[0][0]
        .as_i64()
        .expect("id");
    let (notice, _) = wait_for_lock(&dir, &t.url, || drop(holder));
    assert!(
        notice.contains(&format!("held by MySQL connection {id} (user root@")),
        "{notice}"
    );
    assert!(notice.contains(&format!("GET_LOCK('{name}')")), "{notice}");
    let db = Db::Server(t);
    assert_eq!(db.version(), DbVersion::Clean(30));
}

/// The wait ends at `-lock-timeout`: the notice, then golang-migrate's timeout error.
#[test]
fn lock_wait_notice_then_timeout() {
    let db = Db::open(Driver::Sqlite).expect("sqlite");
    let (_files, dir) = migrations(0, true, false);
    let lock = db.lock_file();
    let held = migrate::driver::lockfile::acquire(&lock, std::time::Duration::ZERO).expect("hold");
    let out = common::migrate_command(&dir, &db.url(""), &["-lock-timeout", "2", "up"])
        .output()
        .expect("run migrate");
    drop(held);
    let err = db.filter(&String::from_utf8_lossy(&out.stderr));
    let err = err.replace(&std::process::id().to_string(), "[PID]");
    let since = regex::Regex::new(r"\(\S+\) on \S+ since \S+Z").expect("regex");
    let err = since.replace_all(&err, "([PROGRAM]) on [HOST] since [UTC]");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(db.version(), DbVersion::Nil);
    assert_snapshot!(err);
}
