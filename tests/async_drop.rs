//! A server driver dropped inside an application's async code (a migrator returned from
//! `spawn_blocking` and dropped in a task) does not panic, and its connection closes at
//! once: the advisory lock it held is free for the next connection. The synchronous
//! clients close their connections on a runtime of their own, which tokio refuses inside
//! async code. Real servers (tests/common), skipped loudly when unreachable.

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
