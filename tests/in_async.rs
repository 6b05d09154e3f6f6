//! Server drivers meeting an application's async code: called there directly (a gate
//! called straight from `#[tokio::main]`), or dropped there (a migrator returned from
//! `spawn_blocking` and dropped in a task). Neither panics, and a dropped driver's
//! connection closes at once: the advisory lock it held is free for the next connection.
//! The MySQL driver and the synchronous PostgreSQL client block on runtimes of their own,
//! which tokio refuses inside async code. Real servers (tests/common), skipped loudly when
//! unreachable.

mod common;

use std::time::Duration;

use common::{fresh, Server};

fn dropped_in_async_code(server: Server) {
    let Some(db) = fresh(server) else {
        return;
    };
    let url = migrate::url::DatabaseUrl::parse(&db.url).expect("url");
    let mut d = migrate::driver::open(&url).expect("open");
    d.lock(Duration::from_secs(5)).expect("lock");
    let app = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    app.block_on(async move { drop(d) });
    let mut other = migrate::driver::open(&url).expect("open");
    other
        .lock(Duration::from_secs(5))
        .expect("the dropped driver's lock is released");
}

#[test]
fn postgres_driver_dropped_in_async_code() {
    dropped_in_async_code(Server::Postgres);
}

#[test]
fn mysql_driver_dropped_in_async_code() {
    dropped_in_async_code(Server::Mysql);
}

/// A driver opened, used and dropped inside async code, as an application that calls the
/// gate straight from `#[tokio::main]` does.
fn called_in_async_code(server: Server) {
    let Some(db) = fresh(server) else {
        return;
    };
    let url = migrate::url::DatabaseUrl::parse(&db.url).expect("url");
    let app = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    app.block_on(async {
        let mut d = migrate::driver::open(&url).expect("open");
        d.lock(Duration::from_secs(5)).expect("lock");
        d.ensure_version_table().expect("version table");
        d.begin().expect("begin");
        d.write_version(Some(3), false).expect("write");
        d.commit().expect("commit");
        assert_eq!(d.version().expect("version"), migrate::DbVersion::Clean(3));
        assert!(d.table_exists("schema_migrations").expect("table_exists"));
        let rows = d.query("SELECT 1", &[]).expect("query");
        assert_eq!(rows.len(), 1);
        d.unlock().expect("unlock");
        d.lock(Duration::from_secs(5)).expect("lock again");
        drop(d);
    });
    let mut other = migrate::driver::open(&url).expect("open");
    other.lock(Duration::from_secs(5)).expect("lock released");
    assert_eq!(
        other.version().expect("version"),
        migrate::DbVersion::Clean(3)
    );
}

#[test]
fn postgres_driver_called_in_async_code() {
    called_in_async_code(Server::Postgres);
}

#[test]
fn mysql_driver_called_in_async_code() {
    called_in_async_code(Server::Mysql);
}

/// A MySQL call past its deadline inside async code closes the connection at once: the
/// lock it held is free while the driver itself still lives, as soon as the server has
/// finished the statement it was running (a server ends a connection whose client left
/// when it next writes to it).
#[test]
fn mysql_deadline_in_async_code_frees_the_lock() {
    let Some(db) = fresh(Server::Mysql) else {
        return;
    };
    let url =
        migrate::url::DatabaseUrl::parse(&db.url_with("x-statement-timeout=200")).expect("url");
    let app = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let d = app.block_on(async {
        let mut d = migrate::driver::open(&url).expect("open");
        d.lock(Duration::from_secs(5)).expect("lock");
        let halt = d
            .run_body_outside("1_x.up.sql", "DO SLEEP(1)")
            .expect_err("past the deadline");
        assert!(halt.error.to_string().contains("context deadline exceeded"));
        d
    });
    let mut other = migrate::driver::open(&url).expect("open");
    other
        .lock(Duration::from_secs(10))
        .expect("the closed connection's lock is free");
    drop(d);
}
