//! Runs the real `migrate` binary (or another program, such as the `jobserver` example) in
//! a temporary directory and renders the whole transcript (exit code, stdout, stderr) for
//! insta, with temp paths, the repository path, durations and times filtered.
//!
//! Shared by the test crates that include it with `#[path]` (tests/cli, tests/gate.rs,
//! tests/reliability).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Env {
    pub dir: tempfile::TempDir,
    /// The SQLite database's file name in the temp dir.
    db_file: &'static str,
}

pub struct Transcript {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
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

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        let t = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).expect("copy");
        }
    }
}

impl Env {
    pub fn new() -> Env {
        Env::with_db_file("db.sqlite")
    }

    /// A fresh env whose SQLite database is `<tmp>/<name>`.
    pub fn with_db_file(name: &'static str) -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
            db_file: name,
        }
    }

    /// A fresh env with `testdata/<fixture>` copied to `<tmp>/m`.
    pub fn with(fixture: &str) -> Env {
        let e = Env::new();
        e.fixture(fixture);
        e
    }

    pub fn fixture(&self, fixture: &str) -> PathBuf {
        let to = self.path("m");
        let _ = std::fs::remove_dir_all(&to);
        copy_dir(&repo().join("testdata").join(fixture), &to);
        to
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn db(&self) -> PathBuf {
        self.path(self.db_file)
    }

    pub fn url(&self) -> String {
        format!("sqlite3://{}", self.db().display())
    }

    pub fn write(&self, rel: &str, body: &str) {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(p, body).expect("write");
    }

    /// `migrate -path <tmp>/m -database <url> ARGS`.
    pub fn migrate(&self, args: &[&str]) -> Transcript {
        let mut all = vec!["-path".to_string(), self.path("m").display().to_string()];
        all.push("-database".into());
        all.push(self.url());
        all.extend(args.iter().map(|s| s.to_string()));
        self.run_with(&all, None)
    }

    /// The binary with exactly these arguments, in the temp dir.
    pub fn run(&self, args: &[&str]) -> Transcript {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.run_with(&a, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Transcript {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.run_with(&a, Some(stdin))
    }

    pub fn command(&self) -> Command {
        self.command_for(Path::new(env!("CARGO_BIN_EXE_migrate")))
    }

    /// `bin` to be run in the temp dir, without `$DATABASE_URL`.
    pub fn command_for(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.current_dir(self.dir.path()).env_remove("DATABASE_URL");
        c
    }

    pub fn run_with(&self, args: &[String], stdin: Option<&str>) -> Transcript {
        self.run_bin_with(Path::new(env!("CARGO_BIN_EXE_migrate")), args, stdin)
    }

    /// `bin` with exactly these arguments, in the temp dir, stdin empty.
    pub fn run_bin(&self, bin: &Path, args: &[&str]) -> Transcript {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.run_bin_with(bin, &a, None)
    }

    pub fn run_bin_with(&self, bin: &Path, args: &[String], stdin: Option<&str>) -> Transcript {
        let mut c = self.command_for(bin);
        c.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn migrate");
        if let Some(s) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(s.as_bytes())
                .expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        Transcript {
            code: out.status.code().unwrap_or(-1),
            stdout: self.filter(&String::from_utf8_lossy(&out.stdout)),
            stderr: self.filter(&String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// Replaces the temp dir with `[TMP]`, the repository with `[REPO]`, Go durations with
    /// `[DUR]`, log timestamps with `[TS]` and UTC times with `[UTC]`.
    pub fn filter(&self, s: &str) -> String {
        let tmp = self.dir.path().display().to_string();
        let s = s
            .replace(&tmp, "[TMP]")
            .replace(&repo().display().to_string(), "[REPO]");
        let re =
            regex::Regex::new(r"\b\d+(\.\d+)?(ns|µs|ms|s|m|h)([0-9.]+(ms|s|m))*\b").expect("regex");
        let s = re.replace_all(&s, "[DUR]").into_owned();
        let ts = regex::Regex::new(r"(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ").expect("regex");
        let s = ts.replace_all(&s, "[TS] ").into_owned();
        // Backup names and listings carry the UTC time (docs/backups.md).
        let utc = regex::Regex::new(r"\b\d{8}T\d{6}Z(-\d+)?\b|\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
            .expect("regex");
        utc.replace_all(&s, "[UTC]").into_owned()
    }

    pub fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).expect("open db")
    }

    /// `(version, dirty)` rows of schema_migrations.
    pub fn rows(&self) -> Vec<(i64, bool)> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT version, dirty FROM schema_migrations")
            .expect("prepare");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Names of user tables (excluding migrate's own and SQLite's).
    pub fn tables(&self) -> Vec<String> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'schema_migrations%' ORDER BY name")
            .expect("prepare");
        st.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    pub fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    /// The full schema and every row of every table except the journal's, for
    /// "unchanged" checks. The backup identity (`<table>_identity`, docs/backups.md) is
    /// left out: the first backup writes it, before a run that may then fail.
    pub fn dump(&self) -> String {
        if !self.db().exists() {
            return "<no file>".into();
        }
        let c = self.conn();
        let mut out = String::new();
        let mut st = c
            .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
            .expect("prepare");
        let objs: Vec<(String, String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        for (ty, name, sql) in objs {
            if ty == "table" && name.ends_with("_identity") {
                continue;
            }
            out.push_str(&format!("{ty} {name}: {sql}\n"));
            // The journal is append-only by design (a failed run adds a row); everything
            // else must stay as it was.
            if ty == "table" && !name.ends_with("_journal") {
                // Rows sorted as text: WITHOUT ROWID tables have no rowid to order by.
                let mut st = c
                    .prepare(&format!("SELECT * FROM \"{}\"", name.replace('"', "\"\"")))
                    .expect("select");
                let n = st.column_count();
                let mut rows = st.query([]).expect("rows");
                let mut lines = Vec::new();
                while let Some(r) = rows.next().expect("row") {
                    let vals: Vec<String> = (0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).expect("value")))
                        .collect();
                    lines.push(format!("  {}\n", vals.join(", ")));
                }
                lines.sort();
                out.extend(lines);
            }
        }
        out
    }
}
