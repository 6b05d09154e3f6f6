//! A file that fails part-way outside a transaction (SQLite `x-no-tx-wrap=true`,
//! PostgreSQL `-- migrate:no-transaction`, MySQL always): the journal records which
//! statement failed; the failed run, the dirty error, `status`, `-db-status`, `recover`
//! and `force` say which statements ran. Database state is checked directly.

use insta::assert_snapshot;
use migrate::driver::Driver;
use migrate::recover::{explain, Partial};

use crate::common::{fresh, Server};
use crate::harness::{Env, Transcript};

/// Four statements; the third fails on every driver (no such table).
const FOUR: &str = "CREATE TABLE b (x int);\nINSERT INTO b VALUES (1);\n\nINSERT INTO nosuch VALUES (2);\nCREATE TABLE c (y int);\n";

fn files(env: &Env, marker: &str) {
    env.write("m/1_a.up.sql", "CREATE TABLE a (x int);\n");
    env.write("m/1_a.down.sql", "DROP TABLE a;\n");
    env.write("m/2_four.up.sql", &format!("{marker}{FOUR}"));
    env.write("m/2_four.down.sql", "DROP TABLE c;\nDROP TABLE b;\n");
}

fn run(env: &Env, url: &str, db_name: Option<&str>, args: &[&str]) -> Transcript {
    let mut all = vec![
        "-path".to_string(),
        env.path("m").display().to_string(),
        "-database".into(),
        url.to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    let mut t = env.run_with(&all, None);
    if let Some(n) = db_name {
        t.stdout = t.stdout.replace(n, "[DB]");
        t.stderr = t.stderr.replace(n, "[DB]");
    }
    t
}

/// The first paragraph of `status` (version, verdict, the dirty explanation).
fn status_head(t: &Transcript) -> String {
    t.stdout.split("\n\n").next().unwrap_or("").to_string()
}

fn count(d: &mut dyn Driver, sql: &str) -> Option<i64> {
    d.query(sql, &[])
        .ok()
        .and_then(|r| r.first().and_then(|r| r.first()).and_then(|v| v.as_i64()))
}

/// The whole walk on one database: the failed run, the dirty error, status (text and
/// JSON), -db-status, recover, force with its warning, recover on a clean database.
fn walk(name: &str, env: &Env, url: &str, db_name: Option<&str>, d: &mut dyn Driver, line: usize) {
    let up = run(env, url, db_name, &["up"]);
    assert_eq!(up.code, 1, "{up}");
    // Statements 1-2 ran, 3 failed, 4 never ran.
    assert_eq!(count(d, "SELECT COUNT(*) FROM b"), Some(1));
    assert_eq!(count(d, "SELECT COUNT(*) FROM c"), None);
    let again = run(env, url, db_name, &["up"]);
    // The dry run refuses as the run does, with the same lines.
    let dry = run(env, url, db_name, &["-dry-run", "up"]);
    assert_eq!((dry.code, &dry.stderr), (again.code, &again.stderr));
    let status = run(env, url, db_name, &["status"]);
    let json = run(env, url, db_name, &["status", "-format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("status json");
    assert_eq!(
        v["dirty_explanation"]["partial"],
        serde_json::json!({"failed": 3, "total": 4, "line": line}),
        "{json}"
    );
    assert_eq!(v["dirty_explanation"]["file"], "2_four.up.sql");
    let db_status = run(env, url, db_name, &["-db-status"]);
    let recover = run(env, url, db_name, &["recover"]);
    assert_eq!(recover.code, 4, "{recover}");
    let recover_json = run(env, url, db_name, &["recover", "-format", "json"]);
    let x: serde_json::Value = serde_json::from_str(&recover_json.stdout).expect("recover json");
    let applied: Vec<&str> = x["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .take(2)
        .map(|s| s["sql"].as_str().unwrap_or(""))
        .collect();
    assert!(
        applied[0].ends_with("CREATE TABLE b (x int);"),
        "{applied:?}"
    );
    assert_eq!(applied[1], "INSERT INTO b VALUES (1);");
    let force = run(env, url, db_name, &["force", "1"]);
    assert_eq!(force.code, 0, "{force}");
    let clean = run(env, url, db_name, &["recover"]);
    assert_eq!(clean.code, 0, "{clean}");
    assert_snapshot!(
        name,
        format!(
            "$ up\n{up}\n$ up (again)\n{again}\n$ status (head)\n{}\n\n$ -db-status\n{db_status}\n$ recover\n{recover}\n$ force 1\n{force}\n$ recover\n{clean}",
            status_head(&status)
        )
    );
}

#[test]
fn sqlite_no_tx_wrap_failure_names_the_statements() {
    let env = Env::new();
    files(&env, "");
    let url = format!("{}?x-no-tx-wrap=true", env.url());
    // A first version so the failed run takes a backup (an empty database is not backed up).
    let first = run(&env, &url, None, &["up", "1"]);
    assert_eq!(first.code, 0, "{first}");
    let mut d =
        migrate::driver::open(&migrate::url::DatabaseUrl::parse(&url).expect("url")).expect("open");
    walk("recover_sqlite_no_tx_wrap", &env, &url, None, d.as_mut(), 4);
}

#[test]
fn postgres_no_transaction_failure_names_the_statements() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let env = Env::new();
    files(&env, "-- migrate:no-transaction\n");
    let mut d = db.driver();
    walk(
        "recover_postgres_no_transaction",
        &env,
        &db.url,
        Some(&db.name),
        d.as_mut(),
        5,
    );
}

#[test]
fn mysql_failure_names_the_statements() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let env = Env::new();
    files(&env, "");
    let mut d = db.driver();
    walk(
        "recover_mysql",
        &env,
        &db.url,
        Some(&db.name),
        d.as_mut(),
        4,
    );
}

/// Over generated files on SQLite without a transaction: whichever statement fails, the
/// journal names it, its line and the total, exactly the statements before it are applied,
/// and `force` to the failed version warns naming the rest.
#[test]
fn generated_failures_are_located_exactly() {
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for case in 0..12 {
        let env = Env::new();
        let total = 1 + next(5) as usize;
        let failing = 1 + next(total as u64) as usize;
        let mut body = String::new();
        let mut failing_line = 0;
        for i in 1..=total {
            for _ in 0..next(3) {
                body.push('\n');
            }
            if next(2) == 0 {
                body.push_str("-- a comment; with a semicolon\n");
            }
            if i == failing {
                failing_line = 1 + body.matches('\n').count();
                body.push_str("INSERT INTO nosuch VALUES ('x;y');\n");
            } else if next(3) == 0 {
                // A trigger: its body's `;` does not end the statement.
                body.push_str(&format!(
                    "CREATE TABLE t{i} (a int);\nCREATE TRIGGER g{i} AFTER INSERT ON t{i} BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n"
                ));
            } else {
                body.push_str(&format!("CREATE TABLE t{i} (a int);\n"));
            }
        }
        // A trigger adds a statement of its own: count what the file holds.
        env.write("m/1_x.up.sql", &body);
        let url = format!("{}?x-no-tx-wrap=true", env.url());
        let t = run(&env, &url, None, &["up"]);
        assert_eq!(t.code, 1, "case {case}: {t}");
        let mut m = migrate::Migrator::open(
            migrate::Source::open(&format!("file://{}", env.path("m").display())).expect("src"),
            &url,
        )
        .expect("open");
        let source = m.source().clone();
        let x = explain(m.driver(), &source)
            .expect("explain")
            .expect("dirty");
        let p: Partial = x.partial.expect("partial");
        let statements = x.statements.len();
        assert_eq!(p.total, statements, "case {case}: {body}");
        assert_eq!(p.line, failing_line, "case {case}: {body}");
        assert!(
            x.statements[p.failed - 1].sql.contains("nosuch"),
            "case {case}"
        );
        // Every table created before the failing statement exists, none after it.
        for i in 1..=total {
            let exists = env.tables().contains(&format!("t{i}"));
            assert_eq!(exists, i < failing, "case {case}: t{i} {body}");
        }
        let r = run(&env, &url, None, &["recover"]);
        assert_eq!(r.code, 4, "case {case}: {r}");
        assert_eq!(
            r.stdout.contains("Nothing of 1_x.up.sql was applied"),
            p.applied() == 0,
            "case {case}: {r}"
        );
        // Every statement is printed under exactly one of the ways out, with its line.
        for st in &x.statements {
            let label = format!("-- statement {} (line {})\n", st.number, st.line);
            assert_eq!(r.stdout.matches(&label).count(), 1, "case {case}: {r}");
        }
        let f = run(&env, &url, None, &["force", "1"]);
        let remaining = p.total - p.applied();
        assert_eq!(
            f.stderr.contains("never ran"),
            remaining > 0,
            "case {case}: {f}"
        );
        assert!(f
            .stderr
            .contains(&format!("({} of {} statements)", p.applied(), p.total)));
    }
}

/// A down file that fails part-way: dirty at the version below, the file is the down file,
/// finishing forces the lower version and undoing forces the one it came from.
#[test]
fn sqlite_failed_down_file_is_explained() {
    let env = Env::new();
    env.write("m/1_a.up.sql", "CREATE TABLE a (x int);\n");
    env.write("m/1_a.down.sql", "DROP TABLE a;\n");
    env.write(
        "m/2_b.up.sql",
        "CREATE TABLE b (x int);\nCREATE TABLE c (y int);\n",
    );
    env.write(
        "m/2_b.down.sql",
        "DROP TABLE c;\nDROP TABLE nosuch;\nDROP TABLE b;\n",
    );
    let url = format!("{}?x-no-tx-wrap=true", env.url());
    assert_eq!(run(&env, &url, None, &["up"]).code, 0);
    let down = run(&env, &url, None, &["down", "1"]);
    assert_eq!(down.code, 1, "{down}");
    assert_eq!(env.tables(), vec!["a".to_string(), "b".to_string()]);
    let recover = run(&env, &url, None, &["recover"]);
    assert_eq!(recover.code, 4, "{recover}");
    assert_snapshot!(
        "recover_sqlite_failed_down",
        format!("$ down 1\n{down}\n$ recover\n{recover}")
    );
}
