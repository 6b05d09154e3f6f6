//! SIGKILL `migrate up` / `migrate down` at random moments, many times. After every kill
//! the database passes `integrity_check`, is clean (these runs are transactional), equals
//! a reference database at the same version, and the next run completes.

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

fn url(e: &Env) -> String {
    format!("{}?_foreign_keys=on", e.url())
}

fn run(e: &Env, args: &[&str]) -> crate::harness::Transcript {
    let mut all = vec![
        "-path".to_string(),
        e.path("m").display().to_string(),
        "-database".into(),
        url(e),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    e.run_with(&all, None)
}

/// Reference fingerprints for versions 0..=5, reached the way the campaign reaches them
/// (a rebuilt table's stored SQL differs between the up and the down path).
fn references(direction: &str) -> BTreeMap<i64, String> {
    let mut refs = BTreeMap::new();
    for v in 0..=5i64 {
        let e = Env::new();
        write_set(&e);
        if direction == "down" {
            assert_eq!(run(&e, &["goto", "5"]).code, 0);
            if v < 5 {
                let t = if v == 0 {
                    run(&e, &["down", "-all"])
                } else {
                    run(&e, &["goto", &v.to_string()])
                };
                assert_eq!(t.code, 0, "{t}");
            }
        } else if v > 0 {
            let t = run(&e, &["goto", &v.to_string()]);
            assert_eq!(t.code, 0, "{t}");
        } else {
            run(&e, &["version"]);
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

/// One kill: start `args`, SIGKILL after `after`, then check every invariant.
fn trial(
    e: &Env,
    args: &[&str],
    after: Duration,
    refs: &BTreeMap<i64, String>,
) -> Result<(i64, bool), String> {
    let mut all = vec![
        "-path".to_string(),
        e.path("m").display().to_string(),
        "-database".into(),
        url(e),
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
        return Err(format!("dirty at {v} after a kill of a transactional run"));
    }
    let fp = fingerprint(e);
    if refs.get(&v) != Some(&fp) {
        return Err(format!(
            "at version {v} the schema/rows differ from the reference"
        ));
    }
    Ok((v, dirty))
}

fn campaign(direction: &str) {
    let trials = env_usize("CRASH_TRIALS", 25);
    let mut rng = Rng::from_env("CRASH_SEED");
    let refs = references(direction);
    // How long a full run takes here, to spread the kills over it.
    let probe = Env::new();
    write_set(&probe);
    if direction == "down" {
        run(&probe, &["goto", "5"]);
    }
    let started = Instant::now();
    let args: &[&str] = if direction == "up" {
        &["up"]
    } else {
        &["down", "-all"]
    };
    run(&probe, args);
    let span = started.elapsed().as_millis() as u64 + 20;

    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    for i in 0..trials {
        let e = Env::new();
        write_set(&e);
        if direction == "down" {
            assert_eq!(run(&e, &["goto", "5"]).code, 0);
        }
        let after = Duration::from_millis(rng.below(span));
        match trial(&e, args, after, &refs) {
            Ok((v, _)) => *seen.entry(v).or_default() += 1,
            Err(m) => violations.push(format!("trial {i} (kill after {after:?}): {m}")),
        }
        // The next run completes: up reaches 5 and stops at the broken 6; down reaches nil.
        let t = run(&e, args);
        let (v, dirty) = version(&e);
        let expect = if direction == "up" {
            (5, false)
        } else {
            (0, false)
        };
        if (v, dirty) != expect || integrity(&e) != "ok" {
            violations.push(format!(
                "trial {i}: the next run ended at {v} dirty={dirty}: {t}"
            ));
        }
        if refs.get(&v) != Some(&fingerprint(&e)) {
            violations.push(format!(
                "trial {i}: after recovery, version {v} differs from the reference"
            ));
        }
    }
    eprintln!(
        "crash {direction}: trials {trials}, run span {span} ms, versions seen after kill {seen:?}, violations {}",
        violations.len()
    );
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn crash_during_up() {
    campaign("up");
}

#[test]
fn crash_during_down() {
    campaign("down");
}
