//! Fresh databases on the real PostgreSQL and MariaDB servers for the driver tests.
//!
//! URLs come from `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL` (defaults: the
//! local services). Each test gets its own database `migrate_test_<pid>_<n>`, dropped
//! afterwards. An unreachable server skips the test with a loud `SKIPPED:` line, unless
//! `MIGRATE_TEST_REQUIRE_SERVERS=1` (set by `.ci/run`), where it fails.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use migrate::url::DatabaseUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mysql,
}

impl Server {
    fn env_var(self) -> &'static str {
        match self {
            Server::Postgres => "MIGRATE_TEST_POSTGRES_URL",
            Server::Mysql => "MIGRATE_TEST_MYSQL_URL",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            Server::Postgres => "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
            Server::Mysql => "mysql://root:@tcp(127.0.0.1:3306)/test",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::Mysql => "MariaDB/MySQL",
        }
    }

    pub fn admin_url(self) -> String {
        std::env::var(self.env_var()).unwrap_or_else(|_| self.default_url().to_string())
    }
}

pub fn require_servers() -> bool {
    std::env::var("MIGRATE_TEST_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// A database created for one test and dropped when this goes out of scope.
pub struct TestDb {
    pub server: Server,
    pub name: String,
    /// The URL of the fresh database.
    pub url: String,
    admin: String,
}

/// `url` with its database (the last path segment) replaced by `db`.
pub fn with_db(url: &str, db: &str) -> String {
    let (head, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let auth = head.find("://").map_or(0, |i| i + 3);
    let base = match head[auth..].rfind('/') {
        Some(i) => &head[..auth + i],
        None => head,
    };
    format!("{base}/{db}{query}")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn admin_driver(url: &str) -> migrate::Result<Box<dyn migrate::driver::Driver>> {
    migrate::driver::open(&DatabaseUrl::parse(url)?)
}

/// A fresh database on `server`, or `None` (after a loud message) if it is unreachable.
pub fn fresh(server: Server) -> Option<TestDb> {
    let admin = server.admin_url();
    let mut d = match admin_driver(&admin) {
        Ok(d) => d,
        Err(e) => {
            let redacted = migrate::url::redact(&admin);
            if require_servers() {
                panic!(
                    "{} at {redacted} unreachable and MIGRATE_TEST_REQUIRE_SERVERS=1: {e}",
                    server.label()
                );
            }
            // Straight to stderr: the test harness would swallow `eprintln!` of a passing test.
            let msg = format!(
                "\n*** SKIPPED: {} at {redacted} unreachable ({e}); set {} to test it ***\n",
                server.label(),
                server.env_var()
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            return None;
        }
    };
    let name = format!(
        "migrate_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    d.execute(&format!("DROP DATABASE IF EXISTS {name}"), &[])
        .expect("drop stale test database");
    d.execute(&format!("CREATE DATABASE {name}"), &[])
        .expect("create test database");
    Some(TestDb {
        server,
        url: with_db(&admin, &name),
        name,
        admin,
    })
}

impl TestDb {
    /// The test database's URL with extra query parameters (`a=b&c=d`).
    pub fn url_with(&self, params: &str) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{params}", self.url)
    }

    /// A driver on the test database, for checking state directly.
    pub fn driver(&self) -> Box<dyn migrate::driver::Driver> {
        admin_driver(&self.url).expect("open test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut d) = admin_driver(&self.admin) {
            let sql = match self.server {
                Server::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                Server::Mysql => format!("DROP DATABASE IF EXISTS {}", self.name),
            };
            if let Err(e) = d.execute(&sql, &[]) {
                eprintln!("warning: could not drop test database {}: {e}", self.name);
            }
        }
    }
}

/// The real binary as `migrate -path DIR -database URL ARGS`, without `$DATABASE_URL`, stdin
/// empty; the caller sets stdout and stderr or takes `output()`'s.
pub fn migrate_command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrate"));
    c.env_remove("DATABASE_URL")
        .arg("-path")
        .arg(dir)
        .arg("-database")
        .arg(url)
        .args(args)
        .stdin(Stdio::null());
    c
}

/// A driver on `url`, for checking state directly.
pub fn open(url: &str) -> Box<dyn migrate::driver::Driver> {
    migrate::driver::open(&DatabaseUrl::parse(url).expect("url")).expect("open")
}

/// The operations of the journal (`<table>_journal`), oldest first.
pub fn operations(d: &mut dyn migrate::driver::Driver) -> Vec<String> {
    let mut ops: Vec<String> = migrate::journal::entries(d, 0)
        .expect("journal")
        .into_iter()
        .map(|e| e.operation)
        .collect();
    ops.reverse();
    ops
}

/// `s` with Go's durations (`1.5s`, `2m3.5s`, `850µs`) replaced by `[DUR]`.
pub fn filter_durations(s: &str) -> String {
    let dur =
        regex::Regex::new(r"\b\d+(\.\d+)?(ns|µs|ms|s|m|h)([0-9.]+(ms|s|m))*\b").expect("regex");
    dur.replace_all(s, "[DUR]").into_owned()
}

#[test]
fn with_db_replaces_the_database() {
    assert_eq!(
        with_db("postgres://u@h:5432/postgres?sslmode=disable", "x"),
        "postgres://u@h:5432/x?sslmode=disable"
    );
    assert_eq!(
        with_db("mysql://root:@tcp(127.0.0.1:3306)/test", "x"),
        "mysql://root:@tcp(127.0.0.1:3306)/x"
    );
    assert_eq!(with_db("postgres://h", "x"), "postgres://h/x");
}
