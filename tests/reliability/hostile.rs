//! A catalogue of hostile inputs, kept as data: each row sets something up on top of
//! `testdata/basic` migrated to its latest version (3), runs one command, and states the
//! exit code and a piece of the expected message. After every row the database is
//! unchanged (schema and rows), and no password from a URL appears in the output.

use crate::harness::Env;

type Setup = fn(&Env);

struct Case {
    name: &'static str,
    setup: Setup,
    /// Arguments after `-path m -database <url>`; `{url}` is replaced by the database URL.
    args: &'static [&'static str],
    /// Whether to pass `-path`/`-database` first.
    standard: bool,
    code: i32,
    says: &'static str,
    /// The database may change in this named way (a version table of that name is
    /// created, or the migration legitimately applies); otherwise it must not change.
    changes: Option<&'static str>,
}

fn none(_: &Env) {}
fn file(e: &Env, name: &str, body: &[u8]) {
    let p = e.path("m").join(name);
    std::fs::write(p, body).expect("write");
}

const CASES: &[Case] = &[
    Case {
        name: "duplicate version",
        setup: |e| file(e, "2_dup.up.sql", b"SELECT 1;"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "duplicate migration file: 2_dup.up.sql",
        changes: None,
    },
    Case {
        name: "duplicate by leading zeros",
        setup: |e| file(e, "002_add_email.up.sql", b"SELECT 1;"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "duplicate migration file: 2_add_email.up.sql",
        changes: None,
    },
    Case {
        name: "duplicate by extension",
        setup: |e| file(e, "3_create_posts.up.sql.bak", b"SELECT 1;"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "duplicate migration file: 3_create_posts.up.sql.bak",
        changes: None,
    },
    Case {
        name: "version past u64 is ignored",
        setup: |e| file(e, "99999999999999999999999_x.up.sql", b"DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "version past i64 is refused",
        setup: |e| file(e, "9223372036854775808_big.up.sql", b"DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "is too large",
        changes: None,
    },
    Case {
        name: "upper-case UP is ignored",
        setup: |e| file(e, "4_x.UP.sql", b"DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "dash instead of underscore is ignored",
        setup: |e| file(e, "004-x.up.sql", b"DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "no extension is ignored",
        setup: |e| file(e, "4_x.up", b"DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "newline in name is ignored",
        setup: |e| file(e, "4_x\n.up.sql", b"DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "invalid UTF-8 name is ignored",
        setup: |e| {
            use std::os::unix::ffi::OsStrExt;
            std::fs::write(
                e.path("m")
                    .join(std::ffi::OsStr::from_bytes(b"4_\xff.up.sql")),
                b"DROP TABLE users;",
            )
            .expect("write");
        },
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "directory named like a migration",
        setup: |e| {
            std::fs::create_dir(e.path("m/4_dir.up.sql")).expect("mkdir");
        },
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "symlink to a directory",
        setup: |e| {
            std::os::unix::fs::symlink("/tmp", e.path("m/4_link.up.sql")).expect("ln");
        },
        args: &["up"],
        standard: true,
        code: 0,
        says: "no change",
        changes: None,
    },
    Case {
        name: "dangling symlink",
        setup: |e| {
            std::os::unix::fs::symlink("/nonexistent/x.sql", e.path("m/4_gone.up.sql"))
                .expect("ln");
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "cannot read migration file",
        changes: None,
    },
    Case {
        name: "symlink to a binary file",
        setup: |e| {
            std::fs::write(e.path("blob.bin"), [0u8, 159, 146, 150, 255, 0, 1]).expect("w");
            std::os::unix::fs::symlink(e.path("blob.bin"), e.path("m/4_blob.up.sql")).expect("ln");
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "contains a NUL byte",
        changes: None,
    },
    Case {
        name: "binary file",
        setup: |e| {
            file(
                e,
                "4_bin.up.sql",
                &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0xff, 0xfe],
            )
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "contains a NUL byte",
        changes: None,
    },
    Case {
        name: "Latin-1 file",
        setup: |e| {
            file(
                e,
                "4_latin1.up.sql",
                b"CREATE TABLE caf\xe9 (id INTEGER);\n",
            )
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "is not valid UTF-8 (byte 16)",
        changes: None,
    },
    Case {
        name: "control characters",
        setup: |e| file(e, "4_ctl.up.sql", b"\x01\x02\x03;"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "unrecognized token",
        changes: None,
    },
    Case {
        name: "NUL byte inside SQL",
        setup: |e| file(e, "4_nul.up.sql", b"DROP TABLE posts;\0DROP TABLE users;"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "contains a NUL byte at offset 17",
        changes: None,
    },
    Case {
        name: "100 MB migration file",
        setup: |e| {
            let mut b = b"-- padding padding padding padding padding padding padding padding\n"
                .repeat(100 * 1024 * 1024 / 67);
            b.extend_from_slice(b"DROP TABLE users;\nSELEC oops;\n");
            file(e, "4_huge.up.sql", &b);
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "syntax error",
        changes: None,
    },
    Case {
        name: "own transaction",
        setup: |e| file(e, "4_tx.up.sql", b"BEGIN;\nDROP TABLE users;\nCOMMIT;\n"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "controls transactions itself",
        changes: None,
    },
    Case {
        name: "COMMIT in the middle",
        setup: |e| {
            file(
                e,
                "4_commit.up.sql",
                b"DROP TABLE posts;\nCOMMIT;\nDROP TABLE users;\n",
            )
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "controls transactions itself (COMMIT)",
        changes: None,
    },
    Case {
        name: "ROLLBACK in a file",
        setup: |e| file(e, "4_rb.up.sql", b"DROP TABLE posts;\nROLLBACK;\n"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "controls transactions itself",
        changes: None,
    },
    Case {
        name: "VACUUM in a file",
        setup: |e| file(e, "4_vac.up.sql", b"DROP TABLE posts;\nVACUUM;\n"),
        args: &["up"],
        standard: true,
        code: 1,
        says: "cannot VACUUM from within a transaction",
        changes: None,
    },
    Case {
        name: "journal mode change in a file",
        setup: |e| {
            file(
                e,
                "4_wal.up.sql",
                b"DROP TABLE posts;\nPRAGMA journal_mode=WAL;\n",
            )
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "PRAGMA journal_mode cannot change the journal mode inside a transaction",
        changes: None,
    },
    Case {
        name: "ATTACH in a file applies (the attachment ends with the connection)",
        setup: |e| {
            file(
                e,
                "4_att.up.sql",
                b"CREATE TABLE attached_ok (id INTEGER);\nATTACH DATABASE ':memory:' AS other;\n",
            )
        },
        args: &["up"],
        standard: true,
        code: 0,
        says: "4/u att",
        changes: Some("attached_ok"),
    },
    Case {
        name: "error after a DROP rolls back",
        setup: |e| {
            file(
                e,
                "4_half.up.sql",
                b"DROP TABLE posts;\nDROP TABLE users;\nSELECT * FROM nowhere;\n",
            )
        },
        args: &["up"],
        standard: true,
        code: 1,
        says: "no such table: nowhere",
        changes: None,
    },
    Case {
        name: "injection in x-migrations-table",
        setup: none,
        args: &[
            "-path",
            "m",
            "-database",
            "{url}?x-migrations-table=x%3B%20DROP%20TABLE%20users%3B%20--",
            "version",
        ],
        standard: false,
        code: 1,
        says: "error: no migration",
        changes: Some("x; DROP TABLE users; --"),
    },
    Case {
        name: "quote injection in x-migrations-table",
        setup: none,
        args: &[
            "-path",
            "m",
            "-database",
            "{url}?x-migrations-table=a%22%20(v%20int)%3B%20DROP%20TABLE%20users%3B%20--",
            "version",
        ],
        standard: false,
        code: 1,
        says: "error: no migration",
        changes: Some("a\" (v int); DROP TABLE users; --"),
    },
    Case {
        name: "invalid x-no-tx-wrap",
        setup: none,
        args: &["-path", "m", "-database", "{url}?x-no-tx-wrap=yes", "up"],
        standard: false,
        code: 1,
        says: "strconv.ParseBool",
        changes: None,
    },
    Case {
        name: "invalid busy timeout",
        setup: none,
        args: &["-path", "m", "-database", "{url}?_busy_timeout=soon", "up"],
        standard: false,
        code: 1,
        says: "_busy_timeout: invalid value",
        changes: None,
    },
    Case {
        name: "pragma injection in a parameter",
        setup: none,
        args: &[
            "-path",
            "m",
            "-database",
            "{url}?_journal_mode=WAL%3B%20DROP%20TABLE%20users",
            "up",
        ],
        standard: false,
        code: 1,
        says: "_journal_mode: invalid value",
        changes: None,
    },
    Case {
        name: "password in a server URL",
        setup: none,
        args: &[
            "-path",
            "m",
            "-database",
            "oracle://scott:tiger-secret@db.example/orcl",
            "up",
        ],
        standard: false,
        code: 1,
        says: "unknown driver",
        changes: None,
    },
    Case {
        name: "password in a source URL",
        setup: none,
        args: &[
            "-source",
            "s3://key:tiger-secret@bucket/m",
            "-database",
            "{url}",
            "up",
        ],
        standard: false,
        code: 1,
        says: "s3://key:xxxxx@bucket/m",
        changes: None,
    },
    Case {
        name: "negative lock timeout",
        setup: none,
        args: &["-lock-timeout=-1", "up"],
        standard: false,
        code: 2,
        says: "invalid value \"-1\" for flag -lock-timeout",
        changes: None,
    },
    Case {
        name: "non-numeric lock timeout",
        setup: none,
        args: &["-lock-timeout", "soon", "up"],
        standard: false,
        code: 2,
        says: "invalid value \"soon\" for flag -lock-timeout",
        changes: None,
    },
    Case {
        name: "negative up limit",
        setup: none,
        args: &["up", "-1"],
        standard: true,
        code: 2,
        says: "flag provided but not defined: -1",
        changes: None,
    },
    Case {
        name: "negative goto",
        setup: none,
        args: &["goto", "-1"],
        standard: true,
        code: 2,
        says: "flag provided but not defined: -1",
        changes: None,
    },
    Case {
        name: "fractional goto",
        setup: none,
        args: &["goto", "1.5"],
        standard: true,
        code: 1,
        says: "can't read version argument V",
        changes: None,
    },
    Case {
        name: "huge up limit",
        setup: none,
        args: &["up", "99999999999999999999999"],
        standard: true,
        code: 1,
        says: "can't read limit argument N",
        changes: None,
    },
    Case {
        name: "force past i64",
        setup: none,
        args: &["force", "9223372036854775808"],
        standard: true,
        code: 1,
        says: "can't read version argument V",
        changes: None,
    },
    Case {
        name: "missing flag value",
        setup: none,
        args: &["-path"],
        standard: false,
        code: 2,
        says: "flag needs an argument: -path",
        changes: None,
    },
    Case {
        name: "bad flag syntax",
        setup: none,
        args: &["---path", "m", "up"],
        standard: false,
        code: 2,
        says: "bad flag syntax: ---path",
        changes: None,
    },
    Case {
        name: "unknown command",
        setup: none,
        args: &["upp"],
        standard: true,
        code: 2,
        says: "Usage: migrate OPTIONS COMMAND",
        changes: None,
    },
    Case {
        name: "database path is a directory",
        setup: |e| {
            std::fs::create_dir(e.path("dir.db")).expect("mkdir");
        },
        args: &["-path", "m", "-database", "sqlite3://dir.db", "up"],
        standard: false,
        code: 1,
        says: "unable to open database file",
        changes: None,
    },
    Case {
        name: "database in a missing directory",
        setup: none,
        args: &[
            "-path",
            "m",
            "-database",
            "sqlite3://no/such/dir/x.db",
            "up",
        ],
        standard: false,
        code: 1,
        says: "unable to open database file",
        changes: None,
    },
    Case {
        name: "empty database URL",
        setup: none,
        args: &["-path", "m", "-database", "", "up"],
        standard: false,
        code: 1,
        says: "URL cannot be empty",
        changes: None,
    },
];

#[test]
fn catalogue() {
    assert!(CASES.len() >= 40, "the catalogue keeps at least 40 cases");
    let mut failures = Vec::new();
    for c in CASES {
        let e = Env::with("basic");
        assert_eq!(e.migrate(&["up"]).code, 0);
        (c.setup)(&e);
        let before = e.dump();
        let url = e.url();
        let args: Vec<String> = c.args.iter().map(|a| a.replace("{url}", &url)).collect();
        let t = if c.standard {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            e.migrate(&a)
        } else {
            e.run_with(&args, None)
        };
        let text = t.to_string();
        if t.code != c.code || !text.contains(c.says) {
            failures.push(format!(
                "{}: expected exit {} and {:?}, got:\n{text}",
                c.name, c.code, c.says
            ));
        }
        if text.contains("tiger-secret") {
            failures.push(format!("{}: printed a password:\n{text}", c.name));
        }
        let after = e.dump();
        match c.changes {
            None if after != before => failures.push(format!("{}: the database changed", c.name)),
            // Only the named object may appear; everything else is as it was.
            Some(name) => {
                let kept: Vec<&str> = after
                    .lines()
                    .filter(|l| !l.contains(name) && !l.starts_with("  "))
                    .collect();
                let was: Vec<&str> = before.lines().filter(|l| !l.starts_with("  ")).collect();
                let users_rows_kept = e.tables().contains(&"users".to_string());
                if !after.contains(name)
                    || !users_rows_kept
                    || kept.iter().filter(|l| !was.contains(l)).count() > 0
                {
                    failures.push(format!("{}: unexpected change:\n{after}", c.name));
                }
            }
            None => {}
        }
    }
    eprintln!(
        "hostile inputs: {} cases, {} failures",
        CASES.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A database on a read-only filesystem, and one whose filesystem is full. Needs mount
/// privileges (root); skipped with a message where they are missing.
#[test]
fn read_only_and_full_filesystems() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up"]).code, 0);
    let mnt = e.path("fs");
    std::fs::create_dir(&mnt).expect("mkdir");
    let mount = |opts: &str| {
        std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                opts,
                "tmpfs",
                &mnt.display().to_string(),
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !mount("size=400k") {
        eprintln!("SKIPPED read_only_and_full_filesystems: cannot mount tmpfs here (not root?)");
        return;
    }
    let umount = || {
        let _ = std::process::Command::new("umount").arg(&mnt).status();
    };
    std::fs::copy(e.db(), mnt.join("db.sqlite")).expect("copy");
    let url = format!("sqlite3://{}/db.sqlite", mnt.display());
    let dump = |p: &std::path::Path| {
        let c =
            rusqlite::Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open");
        // The backup identity is written by the run's backup, before the migration that
        // fills the disk (docs/backups.md); everything else must stay as it was.
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name <> 'schema_migrations_identity'",
                [],
                |r| r.get(0),
            )
            .expect("q");
        let v: i64 = c
            .query_row("SELECT version FROM schema_migrations", [], |r| r.get(0))
            .expect("v");
        (n, v)
    };
    let before = dump(&mnt.join("db.sqlite"));
    // Full: a migration that writes more than the filesystem holds.
    e.write(
        "m/4_fill.up.sql",
        "CREATE TABLE fill AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT randomblob(200) AS b FROM c;\n",
    );
    let t = e.run(&["-path", "m", "-database", &url, "up"]);
    let full_ok = t.code == 1 && t.stderr.contains("disk is full");
    let after_full = dump(&mnt.join("db.sqlite"));
    // Read-only: remount and try again.
    let ro = std::process::Command::new("mount")
        .args(["-o", "remount,ro", &mnt.display().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    let t2 = e.run(&["-path", "m", "-database", &url, "up"]);
    let after_ro = dump(&mnt.join("db.sqlite"));
    umount();
    assert!(full_ok, "disk full: {t}");
    assert_eq!(after_full, before, "unchanged after the disk filled up");
    assert!(ro, "remount read-only");
    assert_eq!(t2.code, 1, "{t2}");
    assert!(
        t2.stderr.contains("readonly")
            || t2.stderr.contains("read-only")
            || t2.stderr.contains("Read-only"),
        "{t2}"
    );
    assert_eq!(after_ro, before);
}
