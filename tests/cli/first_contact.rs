//! First-contact behaviours: `status` on a SQLite file that does not exist.

use crate::harness::Env;
use insta::assert_snapshot;

/// Every path under the temp dir, for "nothing was created" checks.
fn tree(e: &Env) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let p = entry.expect("entry").path();
            out.push(p.display().to_string());
            if p.is_dir() {
                walk(&p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(e.dir.path(), &mut out);
    out.sort();
    out
}

#[test]
fn status_on_a_missing_sqlite_file_says_so_and_creates_nothing() {
    let mut shown = Vec::new();
    for (fixture, db) in [
        ("basic", "nope.db"),
        ("basic", "no/such/dir/x.db"),
        ("up_only", "sub/../nope.sqlite"),
    ] {
        let e = Env::with(fixture);
        let url = format!("sqlite3://{db}");
        let before = tree(&e);
        let gate = e.run(&["-path", "m", "-database", &url, "-db-status"]);
        for args in [
            &["status"][..],
            &["status", "-format", "json"],
            &["history"],
            &["validate"],
        ] {
            let mut all = vec!["-path", "m", "-database", &url];
            all.extend(args);
            let t = e.run(&all);
            assert_eq!(tree(&e), before, "{db} {args:?} created something");
            if args[0] == "status" {
                // The same code as -db-status: 3, migration needed (docs/journal.md).
                assert_eq!(t.code, 3, "{db} {args:?}: {t}");
                assert_eq!(t.code, gate.code, "{db} {args:?}: {t}\n{gate}");
                assert!(t.stdout.contains(db), "{db} {args:?}: {t}");
                if fixture == "basic" && db == "nope.db" {
                    shown.push(format!("$ migrate {}\n{t}", args.join(" ")));
                }
            } else {
                assert_eq!(t.code, 0, "{db} {args:?}: {t}");
            }
        }
    }
    assert_snapshot!(shown.join("\n"));
}
