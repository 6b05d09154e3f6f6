//! SIGKILL `migrate up` / `migrate down` at random moments, many times. After every kill
//! the database passes `integrity_check`; it is clean unless the run was non-transactional
//! (`x-no-tx-wrap=true`); when clean at version V it equals a reference database at V and
//! its journal and checksum tables agree with V; the next run completes (after a dirty
//! kill: `up` refuses, the operator restores the automatic backup, and the next run
//! completes).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::harness::Env;
use crate::{env_usize, Rng};

/// Versions 1-5 apply; 6 always fails. 2 and 4 are slow; 3 rebuilds the parent of a
/// cascading foreign key (run with `_foreign_keys=on`).
fn write_set(e: &Env) {
    e.write(
        "m/1_parent_child.up.sql",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);
INSERT INTO parent VALUES (1, 'a'), (2, 'b');
INSERT INTO child VALUES (1, 1), (2, 1), (3, 2);
",
    );
    e.write(
        "m/1_parent_child.down.sql",
        "DROP TABLE child;\nDROP TABLE parent;\n",
    );
    let slow = |t: &str| {
        format!("CREATE TABLE {t} AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000) SELECT x, x * 7 AS y FROM c;\nCREATE INDEX {t}_y ON {t} (y);\n")
    };
    e.write("m/2_slow_a.up.sql", &slow("slow_a"));
    e.write("m/2_slow_a.down.sql", "DROP TABLE slow_a;\n");
    e.write(
        "m/3_rebuild_parent.up.sql",
        "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT, note TEXT DEFAULT '');
INSERT INTO parent_new (id, name) SELECT id, name FROM parent;
DROP TABLE parent;
ALTER TABLE parent_new RENAME TO parent;
",
    );
    e.write(
        "m/3_rebuild_parent.down.sql",
        "CREATE TABLE parent_old (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO parent_old SELECT id, name FROM parent;
DROP TABLE parent;
ALTER TABLE parent_old RENAME TO parent;
",
    );
    e.write("m/4_slow_b.up.sql", &slow("slow_b"));
    e.write("m/4_slow_b.down.sql", "DROP TABLE slow_b;\n");
    e.write(
        "m/5_tag.up.sql",
        "CREATE TABLE tag (id INTEGER PRIMARY KEY);\nINSERT INTO tag VALUES (1);\n",
    );
    e.write("m/5_tag.down.sql", "DROP TABLE tag;\n");
    e.write(
        "m/6_broken.up.sql",
        "CREATE TABLE never (id INTEGER);\nCREAT TABLE oops;\n",
    );
}

/// Schema and rows of the user's tables (not migrate's own), as a hash.
fn fingerprint(e: &Env) -> String {
    let c = e.conn();
    let mut h = Sha256::new();
    let mut st = c
        .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE tbl_name NOT LIKE 'schema_migrations%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .expect("prepare");
    let objs: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    for (ty, name, sql) in objs {
        h.update(format!("{ty}|{name}|{sql}\n"));
        if ty == "table" {
            let mut st = c
                .prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid"))
                .expect("select");
            let n = st.column_count();
            let mut rows = st.query([]).expect("rows");
            while let Some(r) = rows.next().expect("row") {
                for i in 0..n {
                    h.update(format!("{:?},", r.get_ref(i).expect("value")));
                }
                h.update("\n");
            }
        }
    }
    format!("{:x}", h.finalize())
}

/// How a campaign runs its migrations.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Each step in a transaction (the default).
    Tx,
    /// `x-no-tx-wrap=true`: statements autocommit, a kill can leave the database dirty.
    NoTx,
}

fn url(e: &Env, mode: Mode) -> String {
    match mode {
        Mode::Tx => format!("{}?_foreign_keys=on", e.url()),
        Mode::NoTx => format!("{}?_foreign_keys=on&x-no-tx-wrap=true", e.url()),
    }
}

fn run(e: &Env, mode: Mode, args: &[&str]) -> crate::harness::Transcript {
    let mut all = vec![
        "-path".to_string(),
        e.path("m").display().to_string(),
        "-database".into(),
        url(e, mode),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    e.run_with(&all, None)
}

/// Reference fingerprints for versions 0..=5, reached the way the campaign reaches them
/// (a rebuilt table's stored SQL differs between the up and the down path).
fn references(direction: &str, mode: Mode) -> BTreeMap<i64, String> {
    let mut refs = BTreeMap::new();
    for v in 0..=5i64 {
        let e = Env::new();
        write_set(&e);
        if direction == "down" {
            assert_eq!(run(&e, mode, &["goto", "5"]).code, 0);
            if v < 5 {
                let t = if v == 0 {
                    run(&e, mode, &["down", "-all"])
                } else {
                    run(&e, mode, &["goto", &v.to_string()])
                };
                assert_eq!(t.code, 0, "{t}");
            }
        } else if v > 0 {
            let t = run(&e, mode, &["goto", &v.to_string()]);
            assert_eq!(t.code, 0, "{t}");
        } else {
            run(&e, mode, &["version"]);
        }
        refs.insert(v, fingerprint(&e));
    }
    refs
}

fn integrity(e: &Env) -> String {
    e.conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// The recorded version; killed before the version table existed counts as nil (0).
fn version(e: &Env) -> (i64, bool) {
    e.conn()
        .query_row(
            "SELECT version, dirty FROM schema_migrations LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, false))
}

/// The side tables agree with the version: checksums are recorded for exactly the applied
/// versions `1..=applied`, and the newest successful step in the journal ended at
/// `applied` (no step journaled yet: nothing was applied).
fn journal_agrees(e: &Env, applied: i64) -> Result<(), String> {
    let c = e.conn();
    let versions: Vec<i64> = match c
        .prepare("SELECT DISTINCT version FROM schema_migrations_checksums ORDER BY version")
    {
        Ok(mut st) => st
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| e.to_string())?,
        // Killed before the side tables were created.
        Err(_) => Vec::new(),
    };
    let want: Vec<i64> = (1..=applied).collect();
    if versions != want {
        return Err(format!(
            "checksums recorded for {versions:?}, applied versions are {want:?}"
        ));
    }
    let last: Option<i64> = c
        .query_row(
            "SELECT COALESCE(version_to, 0) FROM schema_migrations_journal
             WHERE operation IN ('up', 'down') AND outcome = 'ok' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok();
    match last {
        Some(v) if v == applied => Ok(()),
        None if applied == 0 => Ok(()),
        other => Err(format!(
            "the journal's last successful step ended at {other:?}, the version is {applied}"
        )),
    }
}

/// The newest automatic backup beside the database.
fn newest_backup(e: &Env) -> Option<std::path::PathBuf> {
    let db = e.db();
    let prefix = format!(
        "{}.backup-",
        db.file_name().expect("name").to_string_lossy()
    );
    let mut found: Vec<_> = std::fs::read_dir(db.parent().expect("dir"))
        .expect("read_dir")
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect();
    found.sort();
    found.pop()
}

/// What a kill left behind.
enum Left {
    Clean(i64),
    Dirty(i64),
}

/// One kill: start `args`, SIGKILL after `after`, then check every invariant.
fn trial(
    e: &Env,
    mode: Mode,
    args: &[&str],
    after: Duration,
    refs: &BTreeMap<i64, String>,
) -> Result<Left, String> {
    let mut all = vec![
        "-path".to_string(),
        e.path("m").display().to_string(),
        "-database".into(),
        url(e, mode),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    let mut child = e
        .command()
        .args(&all)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
    let ic = integrity(e);
    if ic != "ok" {
        return Err(format!("integrity_check: {ic}"));
    }
    let (v, dirty) = version(e);
    if dirty {
        if mode == Mode::Tx {
            return Err(format!("dirty at {v} after a kill of a transactional run"));
        }
        // The step that was cut off is not recorded as applied.
        journal_agrees(e, v - 1)?;
        return Ok(Left::Dirty(v));
    }
    let fp = fingerprint(e);
    if refs.get(&v) != Some(&fp) {
        return Err(format!(
            "at version {v} the schema/rows differ from the reference"
        ));
    }
    journal_agrees(e, v)?;
    Ok(Left::Clean(v))
}

/// A database with the set written and, before a `down` campaign, migrated to 5; before a
/// non-transactional `up`, migrated to 1, so the run makes its automatic backup (a
/// database that did not exist has nothing to back up).
fn prepared(direction: &str, mode: Mode) -> Env {
    let e = Env::new();
    write_set(&e);
    if direction == "down" {
        assert_eq!(run(&e, mode, &["goto", "5"]).code, 0);
    } else if mode == Mode::NoTx {
        assert_eq!(run(&e, mode, &["goto", "1"]).code, 0);
    }
    e
}

/// What the operator does after a kill left `left`, and what must hold: a dirty database
/// is refused and its automatic backup restored; then the next run completes (up reaches
/// 5 and stops at the broken 6, down reaches nil) with the reference schema and rows and
/// a journal that agrees. The violations, empty when all held.
fn recovered(
    e: &Env,
    mode: Mode,
    args: &[&str],
    direction: &str,
    left: Left,
    refs: &BTreeMap<i64, String>,
) -> Vec<String> {
    if let Left::Dirty(v) = left {
        let t = run(e, mode, args);
        let refused = format!("Dirty database version {v}. Fix and force version.");
        if t.code != 1 || !t.stderr.contains(&refused) {
            return vec![format!("a dirty database was not refused: {t}")];
        }
        let Some(backup) = newest_backup(e) else {
            return vec![format!("dirty at {v} but no automatic backup")];
        };
        let t = run(e, mode, &["restore", &backup.display().to_string()]);
        if t.code != 0 || version(e).1 {
            return vec![format!("restoring {backup:?} failed: {t}")];
        }
    }
    let mut violations = Vec::new();
    let t = run(e, mode, args);
    let (v, dirty) = version(e);
    let expect = if direction == "up" {
        (5, false)
    } else {
        (0, false)
    };
    if (v, dirty) != expect || integrity(e) != "ok" {
        violations.push(format!("the next run ended at {v} dirty={dirty}: {t}"));
    }
    if refs.get(&v) != Some(&fingerprint(e)) {
        violations.push(format!(
            "after recovery, version {v} differs from the reference"
        ));
    }
    if let Err(m) = journal_agrees(e, v) {
        violations.push(format!("after recovery: {m}"));
    }
    violations
}

fn campaign(direction: &str, mode: Mode) {
    let trials = env_usize("CRASH_TRIALS", 25);
    let mut rng = Rng::from_env("CRASH_SEED");
    let refs = references(direction, mode);
    // The transactional `up` runs into the broken 6 and stops at 5; the non-transactional
    // one would leave 6 dirty every time, so it goes to 5.
    let args: &[&str] = match (direction, mode) {
        ("up", Mode::Tx) => &["up"],
        ("up", Mode::NoTx) => &["goto", "5"],
        _ => &["down", "-all"],
    };
    // How long a full run takes here, to spread the kills over it.
    let probe = prepared(direction, mode);
    let started = Instant::now();
    run(&probe, mode, args);
    let span = started.elapsed().as_millis() as u64 + 20;

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    for i in 0..trials {
        let e = prepared(direction, mode);
        let after = Duration::from_millis(rng.below(span));
        let left = match trial(&e, mode, args, after, &refs) {
            Ok(l) => l,
            Err(m) => {
                violations.push(format!("trial {i} (kill after {after:?}): {m}"));
                continue;
            }
        };
        let key = match left {
            Left::Clean(v) => format!("{v}"),
            Left::Dirty(v) => format!("{v} dirty"),
        };
        *seen.entry(key).or_default() += 1;
        for m in recovered(&e, mode, args, direction, left, &refs) {
            violations.push(format!("trial {i}: {m}"));
        }
    }
    let label = match mode {
        Mode::Tx => direction.to_string(),
        Mode::NoTx => format!("{direction} x-no-tx-wrap"),
    };
    eprintln!(
        "crash {label}: trials {trials}, run span {span} ms, states seen after kill {seen:?}, violations {}",
        violations.len()
    );
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn crash_during_up() {
    campaign("up", Mode::Tx);
}

#[test]
fn crash_during_down() {
    campaign("down", Mode::Tx);
}

#[test]
fn crash_during_non_transactional_up() {
    campaign("up", Mode::NoTx);
}
