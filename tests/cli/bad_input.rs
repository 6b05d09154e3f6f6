//! Failures a user can cause: each has a clear error, the documented exit code, and
//! leaves the database exactly as it was.

use crate::harness::Env;
use insta::assert_snapshot;

/// Runs `args` against a database migrated to version 1 of `fixture` (after `prepare`),
/// and checks the database did not change.
fn unchanged(
    fixture: &str,
    prepare: impl FnOnce(&Env),
    args: &[&str],
) -> crate::harness::Transcript {
    let e = Env::with(fixture);
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    prepare(&e);
    let before = e.dump();
    let t = e.migrate(args);
    assert_ne!(t.code, 0, "{t}");
    assert_eq!(e.dump(), before, "database changed");
    t
}

#[test]
fn file_given_as_directory() {
    let t = unchanged(
        "basic",
        |e| {
            std::fs::rename(e.path("m"), e.path("mdir")).expect("mv");
            std::fs::write(e.path("m"), "not a dir").expect("write");
        },
        &["up"],
    );
    assert_snapshot!(t.to_string());
}

#[test]
fn unreadable_migration_file() {
    // Tests run as root, which reads any file: a dangling symlink stands in for an
    // unreadable file.
    let t = unchanged(
        "basic",
        |e| {
            std::fs::remove_file(e.path("m/2_add_email.up.sql")).expect("rm");
            std::os::unix::fs::symlink("/nonexistent/2.sql", e.path("m/2_add_email.up.sql"))
                .expect("symlink");
        },
        &["up"],
    );
    assert_snapshot!(t.to_string());
}

#[test]
fn non_utf8_migration_file() {
    let e = Env::with("non_utf8");
    let t = e.migrate(&["up"]);
    assert_snapshot!(t.to_string());
    assert_eq!(e.rows(), vec![]);
    assert!(e.tables().is_empty());
}

#[test]
fn not_a_sqlite_database() {
    let e = Env::with("basic");
    let junk = vec![b'x'; 4096];
    std::fs::write(e.db(), &junk).expect("write");
    let t = e.migrate(&["up"]);
    assert_snapshot!(t.to_string());
    assert_eq!(std::fs::read(e.db()).expect("read"), junk);
}

#[test]
fn read_only_database_file() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let before = e.dump();
    let db = e.db().display().to_string();
    let ok = std::process::Command::new("chattr")
        .args(["+i", &db])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED read_only_database_file: chattr +i is not supported here");
        return;
    }
    let t = e.migrate(&["up"]);
    let _ = std::process::Command::new("chattr")
        .args(["-i", &db])
        .status();
    assert_snapshot!(t.to_string());
    assert_eq!(t.code, 1);
    assert_eq!(e.dump(), before);
}

#[test]
fn database_locked_by_another_process() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let before = e.dump();
    // An application holding a write transaction past migrate's busy timeout.
    let holder = e.conn();
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let url = format!("{}?_busy_timeout=200", e.url());
    let t = e.run(&[
        "-path",
        &e.path("m").display().to_string(),
        "-database",
        &url,
        "up",
    ]);
    holder.execute_batch("ROLLBACK").expect("unlock");
    assert_snapshot!(t.to_string());
    assert_eq!(t.code, 1);
    assert_eq!(e.dump(), before);
}

#[test]
fn malformed_urls() {
    let e = Env::with("basic");
    assert_snapshot!(
        "bad_escape",
        e.run(&["-path", "m", "-database", "sqlite3://a%zz.db", "up"])
            .to_string()
    );
    assert_snapshot!(
        "bad_param_value",
        e.run(&[
            "-path",
            "m",
            "-database",
            "sqlite3://a.db?_journal_mode=bogus",
            "up"
        ])
        .to_string()
    );
    assert_snapshot!(
        "semicolon_query",
        e.run(&["-path", "m", "-database", "sqlite3://a.db?a=1;b=2", "up"])
            .to_string()
    );
    assert!(!e.path("a%zz.db").exists() && !e.path("a.db").exists());
}

#[test]
fn password_never_printed() {
    let e = Env::new();
    std::fs::create_dir(e.path("m")).expect("mkdir");
    let t = e.run(&[
        "-source",
        "s3://key:hunter2@bucket/x",
        "-database",
        "sqlite3://x.db",
        "up",
    ]);
    assert!(!t.to_string().contains("hunter2"), "{t}");
    let t = e.run(&[
        "-path",
        "m",
        "-database",
        "oracle://scott:hunter2@db/x",
        "up",
    ]);
    assert!(!t.to_string().contains("hunter2"), "{t}");
    assert_snapshot!(
        "source_password_redacted",
        e.run(&[
            "-source",
            "s3://key:hunter2@bucket/x",
            "-database",
            "sqlite3://x.db",
            "up"
        ])
        .to_string()
    );
}

/// A thread limit (`ulimit -u`, a container's `pids.max`) refuses every thread: `migrate`
/// still runs (SIGINT keeps its default action, with a warning; the drift check reads the
/// files on the calling thread) instead of panicking before it starts. Run as `nobody`
/// under `prlimit --nproc=1`, since the limit does not bind root.
#[test]
fn thread_limit_does_not_stop_migrate() {
    let tools = ["setpriv", "prlimit", "id"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !tools || !root {
        eprintln!(
            "SKIPPED thread_limit_does_not_stop_migrate: needs root and util-linux's setpriv and prlimit"
        );
        return;
    }
    let e = Env::new();
    // Enough recorded files (300) for the drift check to want its threads.
    for v in 1..=150 {
        e.write(
            &format!("m/{v:03}_t{v}.up.sql"),
            &format!("CREATE TABLE t{v} (id INTEGER PRIMARY KEY);\n"),
        );
        e.write(
            &format!("m/{v:03}_t{v}.down.sql"),
            &format!("DROP TABLE t{v};\n"),
        );
    }
    assert_eq!(e.migrate(&["up"]).code, 0);
    let limited = |e: &Env| {
        let open = std::process::Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(e.path(""))
            .status()
            .is_ok_and(|s| s.success());
        assert!(open, "chmod");
        let args: Vec<String> = [
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "prlimit",
            "--nproc=1",
            env!("CARGO_BIN_EXE_migrate"),
            "-path",
            &e.path("m").display().to_string(),
            "-database",
            &e.url(),
            "up",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = std::process::Command::new("setpriv")
            .args(&args)
            .current_dir(e.path(""))
            .env_remove("DATABASE_URL")
            .output()
            .expect("setpriv");
        crate::harness::Transcript {
            code: out.status.code().unwrap_or(-1),
            stdout: e.filter(&String::from_utf8_lossy(&out.stdout)),
            stderr: e.filter(&String::from_utf8_lossy(&out.stderr)),
        }
    };
    let t = limited(&e);
    assert_eq!(t.code, 0, "{t}");
    assert_snapshot!("thread_limit_up_to_date", t.to_string());
    // The drift check still runs, on one thread.
    e.write("m/120_t120.down.sql", "DROP TABLE t120; -- edited\n");
    let before = e.dump();
    let t = limited(&e);
    assert_eq!(t.code, 1, "{t}");
    assert!(t.stderr.contains("120_t120.down.sql"), "{t}");
    assert_snapshot!("thread_limit_drift", t.to_string());
    assert_eq!(e.dump(), before);
}
