//! Each server driver sets a failed statement's [`DbErrorKind`] from the server's own
//! code (PostgreSQL's SQLSTATE, MySQL's error number), for real errors on the real servers
//! (tests/common: a fresh database each, skipped loudly when the server is unreachable).

mod common;

use common::{fresh, Server, TestDb};
use migrate::driver::Driver;
use migrate::error::DbErrorKind;

/// The kind of a failed statement's error (panics when it did not fail).
fn kind_of<T: std::fmt::Debug>(what: &str, r: migrate::Result<T>) -> DbErrorKind {
    let e = r.expect_err(what);
    e.db_kind()
        .unwrap_or_else(|| panic!("{what}: not a driver error: {e}"))
}

/// A table `t` with the row 1, and the errors every server reports the same way.
fn common_kinds(db: &TestDb) -> Box<dyn Driver> {
    let mut d = db.driver();
    d.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)", &[])
        .expect("create");
    d.execute("INSERT INTO t VALUES (1, 1)", &[])
        .expect("insert");
    let dup = d.execute("INSERT INTO t VALUES (1, 2)", &[]);
    assert_eq!(kind_of("duplicate key", dup), DbErrorKind::Constraint);
    let null = d.execute("INSERT INTO t VALUES (2, NULL)", &[]);
    assert_eq!(kind_of("not null", null), DbErrorKind::Constraint);
    let syntax = d.execute("CREATE TABLEE x (a int)", &[]);
    assert_eq!(kind_of("syntax", syntax), DbErrorKind::Syntax);
    let body = d.run_body("1_x.up.sql", "CREATE TABLE y (a int);\nSELEC 1;", false);
    assert_eq!(kind_of("syntax in a body", body), DbErrorKind::Syntax);
    d
}

#[test]
fn postgres_errors_carry_their_kind() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let mut d = common_kinds(&db);

    d.begin().expect("begin");
    d.execute("SET TRANSACTION READ ONLY", &[])
        .expect("read only");
    let ro = d.execute("INSERT INTO t VALUES (3, 3)", &[]);
    assert_eq!(kind_of("read-only transaction", ro), DbErrorKind::ReadOnly);
    d.rollback().expect("rollback");

    let role = format!("{}_reader", db.name);
    d.execute(&format!("CREATE ROLE {role} NOLOGIN"), &[])
        .expect("role");
    d.execute(&format!("SET ROLE {role}"), &[])
        .expect("set role");
    let denied = d.query("SELECT v FROM t", &[]);
    d.execute("RESET ROLE", &[]).expect("reset role");
    d.execute(&format!("DROP ROLE {role}"), &[])
        .expect("drop role");
    assert_eq!(kind_of("permission", denied), DbErrorKind::Permission);

    let mut other = db.driver();
    other.begin().expect("begin");
    other
        .execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", &[])
        .expect("lock");
    d.execute("SET lock_timeout = '50ms'", &[])
        .expect("lock_timeout");
    let wait = d.query("SELECT v FROM t", &[]);
    assert_eq!(kind_of("lock wait", wait), DbErrorKind::LockWait);
    other.rollback().expect("rollback");

    // The session ends while the statement runs (57P01), or right after it.
    if let Err(e) = d.execute("SELECT pg_terminate_backend(pg_backend_pid())", &[]) {
        assert_eq!(e.db_kind(), Some(DbErrorKind::Connection), "{e}");
    }
    let gone = d.query("SELECT 1", &[]);
    assert_eq!(kind_of("closed connection", gone), DbErrorKind::Connection);
}

#[test]
fn mysql_errors_carry_their_kind() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let mut d = common_kinds(&db);

    let ro = d.run_body(
        "2_x.up.sql",
        "START TRANSACTION READ ONLY; INSERT INTO t VALUES (3, 3);",
        false,
    );
    assert_eq!(kind_of("read-only transaction", ro), DbErrorKind::ReadOnly);
    d.rollback().expect("rollback");

    let mut other = db.driver();
    other.begin().expect("begin");
    other
        .execute("UPDATE t SET v = 2 WHERE id = 1", &[])
        .expect("update");
    d.run_body("3_x.up.sql", "SET innodb_lock_wait_timeout = 1;", false)
        .expect("lock wait timeout");
    let wait = d.execute("UPDATE t SET v = 3 WHERE id = 1", &[]);
    assert_eq!(kind_of("lock wait", wait), DbErrorKind::LockWait);
    other.rollback().expect("rollback");

    let id = d.query("SELECT CONNECTION_ID()", &[]).expect("id")[0][0]
        .as_i64()
        .expect("an id");
    other
        .run_body("4_x.up.sql", &format!("KILL {id};"), false)
        .expect("kill");
    let gone = d.query("SELECT 1", &[]);
    assert_eq!(kind_of("killed connection", gone), DbErrorKind::Connection);
}
