//! Output the binary cannot deliver: a reader that went away (a closed pipe) and a full
//! device (/dev/full), on stdout and on stderr, for every command that prints.
//!
//! Invariants, for each command against its normal run:
//! - a closed stream the command writes to ends the process by SIGPIPE, silently (as a Go
//!   program is killed), having written a prefix of its normal output on the other stream;
//! - a full stream the command writes to turns a success into exit 1 (other codes stay)
//!   and, when it is stdout, gives the normal stderr followed by
//!   `error: cannot write to standard output: ...`;
//! - a stream the command does not write to changes nothing;
//! - never a panic (exit 101).

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::harness::Env;
use insta::assert_snapshot;

const SIGPIPE: i32 = 13;

/// Where one of the child's output streams goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    /// A pipe the test reads to the end.
    Read,
    /// A pipe whose read end was closed before the child started.
    Closed,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) if s == SIGPIPE => "killed by SIGPIPE".into(),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "no status".into(),
        }
    }
}

fn stdio(sink: Sink) -> Stdio {
    match sink {
        Sink::Read => Stdio::piped(),
        Sink::Closed => {
            let (r, w) = std::io::pipe().expect("pipe");
            drop(r);
            Stdio::from(w)
        }
        Sink::Full => Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full"),
        ),
    }
}

/// The harness's filter, times with milliseconds as `[UTC]`, JSON durations as `[N]`,
/// `create`'s time-stamped names as `[YYYYMMDDhhmmss]`, `history`'s durations as `[N]ms`
/// with its column padding folded.
fn filter(e: &Env, b: &[u8]) -> String {
    let s = e.filter(&String::from_utf8_lossy(b));
    let ms = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z").expect("regex");
    let s = ms.replace_all(&s, "[UTC]");
    let took = regex::Regex::new(r#""duration_ms": \d+"#).expect("regex");
    let s = took.replace_all(&s, r#""duration_ms": [N]"#);
    // `create`'s default file names start with the time (two runs can straddle a second).
    let stamp = regex::Regex::new(r"/\d{14}_").expect("regex");
    let s = stamp.replace_all(&s, "/[YYYYMMDDhhmmss]_");
    // `history`'s TOOK column: its width follows the longest duration.
    let took = regex::Regex::new(r"\b\d+ms\b").expect("regex");
    let s = took.replace_all(&s, "[N]ms");
    let columns = regex::Regex::new(r" {2,}").expect("regex");
    columns.replace_all(&s, " ").into_owned()
}

fn run(e: &Env, mut c: Command, out: Sink, err: Sink) -> Outcome {
    c.stdin(Stdio::null()).stdout(stdio(out)).stderr(stdio(err));
    let o = c.spawn().expect("spawn").wait_with_output().expect("wait");
    Outcome {
        code: o.status.code(),
        signal: o.status.signal(),
        stdout: filter(e, &o.stdout),
        stderr: filter(e, &o.stderr),
    }
}

/// A command of the table: a name, how to prepare a fresh env, and its arguments.
struct Case {
    name: &'static str,
    fixture: &'static str,
    setup: &'static [&'static [&'static str]],
    args: &'static [&'static str],
    /// Arguments given before `-path`/`-database` are none; `raw` cases run exactly `args`.
    raw: bool,
}

const fn case(
    name: &'static str,
    fixture: &'static str,
    setup: &'static [&'static [&'static str]],
    args: &'static [&'static str],
) -> Case {
    Case {
        name,
        fixture,
        setup,
        args,
        raw: false,
    }
}

const UP1: &[&[&str]] = &[&["up", "1"]];
const UP: &[&[&str]] = &[&["up"]];

fn cases() -> Vec<Case> {
    vec![
        case("status", "basic", UP1, &["status"]),
        case("status json", "basic", UP1, &["status", "-format", "json"]),
        case("history", "basic", UP, &["history"]),
        case("history json", "basic", UP, &["history", "-format", "json"]),
        case("validate", "up_only", &[], &["validate"]),
        case("repair", "basic", UP, &["repair"]),
        case("up -dry-run", "basic", UP1, &["up", "-dry-run"]),
        case("up", "basic", &[], &["up"]),
        case("up (no change)", "basic", UP, &["up"]),
        case("up (failing file)", "failing", &[], &["up"]),
        case("down 1", "basic", UP, &["down", "1"]),
        case("goto 1", "basic", UP, &["goto", "1"]),
        case("force 2", "basic", UP1, &["force", "2"]),
        case("drop -f", "basic", UP, &["drop", "-f"]),
        case("version", "basic", UP1, &["version"]),
        case("backup", "basic", UP1, &["backup"]),
        case(
            "backups",
            "basic",
            &[&["up", "1"], &["up", "1"]],
            &["backups"],
        ),
        case("-db-status", "basic", UP1, &["-db-status"]),
        case("-migrate-db", "basic", UP1, &["-migrate-db"]),
        case("down (prompt)", "basic", UP, &["down"]),
        case(
            "create",
            "basic",
            &[],
            &["create", "-ext", "sql", "-dir", "m", "x"],
        ),
        case("rehearse", "basic", UP1, &["rehearse"]),
        case("-revert-db", "basic", UP, &["-revert-db"]),
        case("-force-db 1", "basic", UP, &["-force-db", "1"]),
        case("-downgrade-db (not ahead)", "basic", UP, &["-downgrade-db"]),
        case("version (nil)", "basic", &[], &["version"]),
        case(
            "validate json",
            "up_only",
            &[],
            &["validate", "-format", "json"],
        ),
        case("status -help", "basic", &[], &["status", "-help"]),
        case("unknown flag", "basic", &[], &["-nope"]),
        Case {
            name: "-help",
            fixture: "basic",
            setup: &[],
            args: &["-help"],
            raw: true,
        },
    ]
}

fn command(e: &Env, c: &Case) -> Command {
    let mut cmd = e.command();
    if !c.raw {
        cmd.args(["-path", "m", "-database", &e.url()]);
    }
    cmd.args(c.args);
    cmd
}

fn fresh(c: &Case) -> Env {
    let e = Env::with(c.fixture);
    for s in c.setup {
        let t = e.migrate(s);
        assert!(t.code == 0, "setup {s:?} of {}: {t}", c.name);
    }
    e
}

/// Checks one command against the invariants; returns its line of the summary.
fn check(c: &Case) -> String {
    let e = fresh(c);
    let normal = run(&e, command(&e, c), Sink::Read, Sink::Read);
    let code = normal.code.expect("normal run exits");
    assert_ne!(code, 101, "{}: {}", c.name, normal.stderr);
    let mut line = format!(
        "{:<18} normal: exit {code}, {} stdout, {} stderr |",
        c.name,
        if normal.stdout.is_empty() {
            "no"
        } else {
            "some"
        },
        if normal.stderr.is_empty() {
            "no"
        } else {
            "some"
        },
    );
    for (out, err) in [
        (Sink::Closed, Sink::Read),
        (Sink::Read, Sink::Closed),
        (Sink::Full, Sink::Read),
        (Sink::Read, Sink::Full),
    ] {
        let e = fresh(c);
        let o = run(&e, command(&e, c), out, err);
        let ctx = format!(
            "{} with stdout {out:?}, stderr {err:?}: {} / {:?} / {:?}",
            c.name,
            o.describe(),
            o.stdout,
            o.stderr
        );
        assert_ne!(o.code, Some(101), "{ctx}");
        assert!(!o.stderr.contains("panicked"), "{ctx}");
        let (target_written, other_normal, other_got) = if out != Sink::Read {
            (!normal.stdout.is_empty(), &normal.stderr, &o.stderr)
        } else {
            (!normal.stderr.is_empty(), &normal.stdout, &o.stdout)
        };
        let broken = if out == Sink::Closed || err == Sink::Closed {
            "closed"
        } else {
            "full"
        };
        if !target_written {
            assert_eq!(o.code, Some(code), "{ctx}");
            assert_eq!(other_got, other_normal, "{ctx}");
        } else if broken == "closed" {
            assert_eq!(o.signal, Some(SIGPIPE), "{ctx}");
            assert!(other_normal.starts_with(other_got.as_str()), "{ctx}");
        } else if out == Sink::Full {
            assert_eq!(o.code, Some(if code == 0 { 1 } else { code }), "{ctx}");
            assert_eq!(
                o.stderr,
                format!(
                    "{}error: cannot write to standard output: No space left on device (os error 28)\n",
                    normal.stderr
                ),
                "{ctx}"
            );
        } else {
            assert_eq!(o.code, Some(if code == 0 { 1 } else { code }), "{ctx}");
            assert_eq!(&o.stdout, &normal.stdout, "{ctx}");
        }
        let which = if out != Sink::Read {
            "stdout"
        } else {
            "stderr"
        };
        line.push_str(&format!(" {which} {broken}: {};", o.describe()));
    }
    line
}

#[test]
fn closed_pipes_and_full_devices_for_every_command() {
    let summary: Vec<String> = cases().iter().map(check).collect();
    assert_snapshot!(summary.join("\n"));
}

/// Writes `n` migrations (up files only: `validate` warns about each).
fn many(e: &Env, n: usize) {
    for i in 1..=n {
        e.write(
            &format!("m/{i}_table_{i}.up.sql"),
            &format!("CREATE TABLE t{i} (id INTEGER);\n"),
        );
    }
}

/// `migrate ... | head -1`: the reader takes one line of a long output, then goes away.
fn head_1(e: &Env, args: &[&str]) -> (String, Outcome) {
    let mut c = e.command();
    c.args(["-path", "m", "-database", &e.url()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let mut first = String::new();
    {
        let mut r = BufReader::new(child.stdout.take().expect("stdout"));
        r.read_line(&mut first).expect("first line");
    }
    let o = child.wait_with_output().expect("wait");
    (
        first,
        Outcome {
            code: o.status.code(),
            signal: o.status.signal(),
            stdout: String::new(),
            stderr: e.filter(&String::from_utf8_lossy(&o.stderr)),
        },
    )
}

#[test]
fn long_output_into_head_ends_quietly() {
    let e = Env::new();
    many(&e, 1500);
    assert_eq!(e.migrate(&["up", "1000"]).code, 0);
    let mut lines = Vec::new();
    for args in [
        &["status"][..],
        &["status", "-format", "json"],
        &["history"],
        &["validate"],
        &["up", "-dry-run"],
    ] {
        let (first, o) = head_1(&e, args);
        // The output is far longer than a pipe holds, so the writer meets the closed pipe.
        assert_eq!(o.signal, Some(SIGPIPE), "{args:?}: {}", o.describe());
        assert_eq!(o.stderr, "", "{args:?}");
        lines.push(format!("{args:?}: {:?} then {}", first, o.describe()));
    }
    // `history`'s TOOK column is as wide as its longest duration, which depends on speed.
    let took = regex::Regex::new("TOOK +FILE").expect("regex");
    assert_snapshot!(took.replace(&lines.join("\n"), "TOOK  FILE"));
}

#[test]
fn status_to_a_full_device_is_an_error() {
    let e = Env::with("basic");
    assert_eq!(e.migrate(&["up", "1"]).code, 0);
    let o = run(
        &e,
        {
            let mut c = e.command();
            c.args(["-path", "m", "-database", &e.url(), "status"]);
            c
        },
        Sink::Full,
        Sink::Read,
    );
    assert_snapshot!(format!("{}\n--- stderr\n{}", o.describe(), o.stderr));
}
