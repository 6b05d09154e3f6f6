//! PostgreSQL driver (`postgres://`, `postgresql://`, `pgx://`, `pgx4://`, `pgx5://`) over
//! the `postgres` crate, keeping golang-migrate's version table, lock key and error texts.
//!
//! Differences from golang-migrate, on purpose (docs/drivers.md): each file and its version
//! write commit in one transaction (a failure leaves the previous version clean); the
//! advisory lock is taken with `pg_try_advisory_lock` in a loop that honours
//! `-lock-timeout` (golang-migrate #269 blocks forever); a file whose first line is
//! `-- migrate:no-transaction` runs statement by statement outside a transaction.

use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::ErrorPosition;
use postgres::types::{FromSql, ToSql, Type};
use postgres::{Client, Config, NoTls};

use super::lockkey::advisory_lock_id;
use super::split;
use super::{fit_text, Dialect, Driver, Halt, IdentLimit, Repertoire, Row, Value};
use crate::error::{DbError, DbErrorKind, Error, Result};
use crate::url::DatabaseUrl;
use crate::version::{to_stored, DbVersion};

/// golang-migrate's `DefaultMultiStatementMaxSize` (10 MiB).
const DEFAULT_MULTI_STATEMENT_MAX_SIZE: usize = 10 << 20;

/// The first line that makes a file run outside a transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- migrate:no-transaction";

/// Whether a body opts out of the transaction (first line is the marker).
pub fn has_no_transaction_marker(body: &str) -> bool {
    body.trim_start_matches('\u{feff}')
        .lines()
        .next()
        .is_some_and(|l| l.trim().eq_ignore_ascii_case(NO_TRANSACTION_MARKER))
}

/// The options golang-migrate reads from a postgres URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `x-migrations-table` (default `schema_migrations`), the table name part.
    pub table: String,
    /// The schema named by a quoted `x-migrations-table`, else `CURRENT_SCHEMA()`.
    pub schema: Option<String>,
    /// `x-statement-timeout` in milliseconds (`None`: the server's).
    pub statement_timeout_ms: Option<u64>,
    /// `x-multi-statement`: split each file into statements and run them one by one.
    pub multi_statement: bool,
    /// `x-multi-statement-max-size`: the largest statement read in that mode, in bytes.
    pub multi_statement_max_size: usize,
}

/// An `x-` option's value; golang-migrate ignores an empty one (`len(s) > 0`).
fn option<'u>(url: &'u DatabaseUrl, name: &str) -> Option<&'u str> {
    url.x_param(name).filter(|v| !v.is_empty())
}

fn parse_bool_option(url: &DatabaseUrl, name: &str) -> Result<bool> {
    match option(url, name) {
        None => Ok(false),
        Some(v) => crate::gocompat::strconv::parse_bool(v)
            .map_err(|e| Error::Other(format!("Unable to parse option {name}: {e}"))),
    }
}

impl Options {
    /// Reads golang-migrate's `x-` options from a `postgres://` URL.
    pub fn parse(url: &DatabaseUrl) -> Result<Options> {
        let quoted = parse_bool_option(url, "x-migrations-table-quoted")?;
        let raw_table = url.x_param("x-migrations-table").unwrap_or("");
        let (schema, table) = if quoted {
            if !(raw_table.len() >= 2 && raw_table.starts_with('"') && raw_table.ends_with('"')) {
                return Err(Error::Other(format!(
                    "x-migrations-table must be quoted (for instance '\"migrate\".\"schema_migrations\"') when x-migrations-table-quoted is enabled, current value is: {raw_table}"
                )));
            }
            let inner = &raw_table[1..raw_table.len() - 1];
            let parts: Vec<&str> = inner.split("\".\"").collect();
            match parts.as_slice() {
                [t] => (None, t.to_string()),
                [s, t] => (Some(s.to_string()), t.to_string()),
                _ => {
                    return Err(Error::Other(format!(
                        "\"{inner}\" MigrationsTable contains too many dot characters"
                    )))
                }
            }
        } else if raw_table.is_empty() {
            (None, "schema_migrations".to_string())
        } else {
            (None, raw_table.to_string())
        };
        let statement_timeout_ms = match option(url, "x-statement-timeout") {
            None => None,
            Some(v) => Some(super::go_atoi(v)?.max(0) as u64).filter(|&ms| ms > 0),
        };
        let multi_statement_max_size = match option(url, "x-multi-statement-max-size") {
            None => DEFAULT_MULTI_STATEMENT_MAX_SIZE,
            Some(v) => match super::go_atoi(v)? {
                n if n <= 0 => DEFAULT_MULTI_STATEMENT_MAX_SIZE,
                n => n as usize,
            },
        };
        Ok(Options {
            table,
            schema,
            statement_timeout_ms,
            multi_statement: parse_bool_option(url, "x-multi-statement")?,
            multi_statement_max_size,
        })
    }
}

/// How to connect: the `postgres` crate's config plus the TLS settings libpq users pass.
struct Connect {
    config: Config,
    ssl: String,
    root_cert: Option<String>,
    client_cert: Option<(String, String)>,
}

/// libpq / lib/pq parameters that the `postgres` crate does not know and that have no
/// effect here; accepted and ignored (documented).
const IGNORED_PARAMS: &[&str] = &[
    "fallback_application_name",
    "binary_parameters",
    "disable_prepared_binary_result",
    "sslsni",
    "sslinline",
    "krbsrvname",
    "krbspn",
    "sslpassword",
    "gssencmode",
];

/// Escapes a value for libpq's `options` (`-c name=value`): spaces and backslashes.
fn escape_option(v: &str) -> String {
    v.replace('\\', "\\\\").replace(' ', "\\ ")
}

/// The name of the user the process runs as (Go's `user.Current()`, which lib/pq uses when
/// the URL names none): the passwd entry of the real uid, else `$USER`.
fn process_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let uid = status.as_deref().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    });
    let from_passwd = uid.and_then(|uid| {
        std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
            })
        })
    });
    from_passwd.or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
}

fn connect_config(url: &DatabaseUrl) -> Result<Connect> {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut query = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut ssl = "prefer".to_string();
    let mut root_cert = None;
    let (mut cert, mut key) = (None, None);
    for (k, v) in url.params() {
        match k.as_str() {
            "sslmode" => ssl = v.clone(),
            "sslrootcert" => root_cert = Some(v.clone()),
            "sslcert" => cert = Some(v.clone()),
            "sslkey" => key = Some(v.clone()),
            "search_path" => options.push(format!("-csearch_path={}", escape_option(v))),
            "options" => options.insert(0, v.clone()),
            k if IGNORED_PARAMS.contains(&k) => {}
            _ => query.push(format!("{}={}", enc(k), enc(v))),
        }
    }
    if !options.is_empty() {
        query.push(format!("options={}", enc(&options.join(" "))));
    }
    let mut s = format!("postgresql:{}", url.body());
    if !query.is_empty() {
        s.push('?');
        s.push_str(&query.join("&"));
    }
    let mut config: Config = s
        .parse()
        .map_err(|e: postgres::Error| Error::Other(e.to_string()))?;
    // lib/pq's defaults for what the URL leaves out: host `localhost` (the port is 5432
    // already), and the user the process runs as.
    if config.get_hosts().is_empty() {
        config.host("localhost");
    }
    if config.get_user().is_none() {
        if let Some(user) = process_user() {
            config.user(&user);
        }
    }
    let mode = match ssl.as_str() {
        "disable" => SslMode::Disable,
        "allow" | "prefer" => SslMode::Prefer,
        "require" | "verify-ca" | "verify-full" => SslMode::Require,
        other => {
            return Err(Error::Other(format!(
                "pq: unsupported sslmode {}; only \"disable\", \"allow\", \"prefer\" (default), \"require\", \"verify-ca\" and \"verify-full\" supported",
                crate::gocompat::quote::quote(other)
            )))
        }
    };
    config.ssl_mode(mode);
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(Error::Other(
                "sslcert and sslkey must be given together".into(),
            ))
        }
    };
    Ok(Connect {
        config,
        ssl,
        root_cert,
        client_cert,
    })
}

fn tls_connector(
    c: &Connect,
) -> Result<(
    tokio_postgres_rustls::MakeRustlsConnect,
    Option<super::roots::Source>,
)> {
    let verify = super::pg_tls::Verify::for_sslmode(&c.ssl, c.root_cert.is_some());
    let config = super::pg_tls::client_config(
        verify,
        c.root_cert.as_deref(),
        c.client_cert
            .as_ref()
            .map(|(cert, key)| (cert.as_str(), key.as_str())),
    )?;
    Ok((
        tokio_postgres_rustls::MakeRustlsConnect::new(config.config),
        config.roots,
    ))
}

/// Who holds the advisory lock `key` in this database, from `pg_locks` and
/// `pg_stat_activity`: the backend's pid, user, application and client address. `None`
/// when the server does not tell (no rights on the other session, or it just let go).
fn lock_holder(client: &mut postgres::Client, key: i64) -> Option<String> {
    // A bigint advisory lock is shown as classid = high 32 bits, objid = low 32 bits,
    // objsubid = 1.
    let class = ((key as u64) >> 32) as u32;
    let obj = (key as u64 & 0xffff_ffff) as u32;
    let sql = format!(
        "SELECT a.pid, COALESCE(a.usename::text, ''), COALESCE(a.application_name, ''), \
         COALESCE(host(a.client_addr), 'local socket'), COALESCE(a.state, '') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {class} \
         AND l.objid = {obj} AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         LIMIT 1"
    );
    let row = client.query_opt(sql.as_str(), &[]).ok()??;
    let pid: i32 = row.try_get(0).ok()?;
    let user: String = row.try_get(1).ok()?;
    let app: String = row.try_get(2).ok()?;
    let addr: String = row.try_get(3).ok()?;
    let state: String = row.try_get(4).ok()?;
    let mut s = format!("PostgreSQL backend pid {pid} (user {user}");
    if !app.is_empty() {
        s.push_str(&format!(
            ", application {}",
            crate::gocompat::quote::quote(&app)
        ));
    }
    s.push_str(&format!(", from {addr}"));
    if !state.is_empty() {
        s.push_str(&format!(", {state}"));
    }
    s.push(')');
    Some(s)
}

/// The URL path with its leading slash, as golang-migrate keys the lock (`/mydb`).
fn url_path(url: &DatabaseUrl) -> Option<String> {
    let rest = url.body().strip_prefix("//")?;
    let slash = rest.find('/')?;
    let path = &rest[slash..];
    crate::url::unescape(path, false).ok()
}

/// The text of a failed connection: lib/pq's dial error for the one host and port it dials
/// (`dial tcp 127.0.0.1:5432: connect: connection refused`, `dial unix
/// /run/postgresql/.s.PGSQL.5432: ...`), else [`pq_text`].
fn connect_text(config: &Config, e: &postgres::Error) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dial = match config.get_hosts() {
        [postgres::config::Host::Tcp(host)] if host.contains(':') => {
            super::go_dial_error("tcp", &format!("[{host}]:{port}"), e)
        }
        [postgres::config::Host::Tcp(host)] => {
            super::go_dial_error("tcp", &format!("{host}:{port}"), e)
        }
        [postgres::config::Host::Unix(dir)] => {
            let socket = dir.join(format!(".s.PGSQL.{port}"));
            super::go_dial_error("unix", &socket.display().to_string(), e)
        }
        _ => None,
    };
    dial.unwrap_or_else(|| pq_text(e))
}

/// lib/pq's error text: `pq: <message>`; other errors as the crate prints them.
fn pq_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("pq: {}", db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// The kind of a PostgreSQL error, from its SQLSTATE (`postgres::error::SqlState`); an
/// error without one is a lost connection when the client is closed or the socket failed.
fn kind(e: &postgres::Error) -> DbErrorKind {
    let Some(state) = e.code() else {
        let io = std::error::Error::source(e).is_some_and(|c| c.is::<std::io::Error>());
        return match e.is_closed() || io {
            true => DbErrorKind::Connection,
            false => DbErrorKind::Other,
        };
    };
    let code = state.code();
    match code {
        "42601" => DbErrorKind::Syntax,             // syntax_error
        "42501" => DbErrorKind::Permission,         // insufficient_privilege
        "53100" => DbErrorKind::DiskFull,           // disk_full
        "25006" => DbErrorKind::ReadOnly,           // read_only_sql_transaction
        "55P03" => DbErrorKind::LockWait,           // lock_not_available
        "40P01" | "40001" => DbErrorKind::Deadlock, // deadlock_detected, serialization_failure
        "XX001" | "XX002" => DbErrorKind::Corrupt,  // data_corrupted, index_corrupted
        // admin_shutdown, crash_shutdown, cannot_connect_now: the session is gone
        "57P01" | "57P02" | "57P03" => DbErrorKind::Connection,
        _ if code.starts_with("23") => DbErrorKind::Constraint, // integrity constraint violation
        _ if code.starts_with("08") => DbErrorKind::Connection, // connection exception
        _ if code.starts_with("28") => DbErrorKind::Permission, // invalid authorization
        _ => DbErrorKind::Other,
    }
}

fn db_err(e: &postgres::Error, query: impl Into<String>) -> Error {
    Error::db(kind(e), pq_text(e), query)
}

/// `e` with golang-migrate's wrapping message `msg`.
fn wrapped(e: &postgres::Error, msg: &str, query: impl Into<String>) -> Error {
    Error::Database(DbError {
        orig: pq_text(e),
        msg: msg.into(),
        line: 0,
        query: query.into(),
        kind: kind(e),
    })
}

/// golang-migrate's `computeLineFromPos`: 1-based character position → (line, column),
/// CRLF counted as one newline.
pub fn line_col(query: &str, pos: usize) -> Option<(u64, u64)> {
    let s = query.replace("\r\n", "\n");
    let chars: Vec<char> = s.chars().collect();
    if pos > chars.len() || pos == 0 {
        return None;
    }
    let sel = &chars[..pos];
    let line = sel.iter().filter(|&&c| c == '\n').count() as u64 + 1;
    let last = sel
        .iter()
        .rposition(|&c| c == '\n')
        .map_or(-1, |i| i as i64);
    Some((line, (pos as i64 - 1 - last) as u64))
}

/// A failed migration statement in golang-migrate's format:
/// `migration failed: <msg>[ (column <c>)][, <detail>] in line <l>: <stmt> (details: pq: <msg>)`.
pub fn migration_error(e: &postgres::Error, query: &str) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let mut msg = format!("migration failed: {}", db.message());
            let mut line = 0;
            if let Some(ErrorPosition::Original(pos)) = db.position() {
                if let Some((l, c)) = line_col(query, *pos as usize) {
                    line = l;
                    msg.push_str(&format!(" (column {c})"));
                }
            }
            if let Some(d) = db.detail().filter(|d| !d.is_empty()) {
                msg.push_str(", ");
                msg.push_str(d);
            }
            Error::Database(DbError {
                orig: pq_text(e),
                msg,
                line,
                query: query.to_string(),
                kind: kind(e),
            })
        }
        None => Error::Database(DbError {
            orig: e.to_string(),
            msg: "migration failed".into(),
            line: 0,
            query: query.to_string(),
            kind: kind(e),
        }),
    }
}

/// Any column value, decoded by its type.
struct Cell(Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let v = if *ty == Type::INT2 {
            Value::Int(i16::from_sql(ty, raw)?.into())
        } else if *ty == Type::INT4 {
            Value::Int(i32::from_sql(ty, raw)?.into())
        } else if *ty == Type::INT8 {
            Value::Int(i64::from_sql(ty, raw)?)
        } else if *ty == Type::OID {
            Value::Int(u32::from_sql(ty, raw)?.into())
        } else if *ty == Type::BOOL {
            Value::Int(bool::from_sql(ty, raw)?.into())
        } else if *ty == Type::FLOAT4 {
            Value::Text(f32::from_sql(ty, raw)?.to_string())
        } else if *ty == Type::FLOAT8 {
            Value::Text(f64::from_sql(ty, raw)?.to_string())
        } else {
            Value::Text(String::from_utf8_lossy(raw).into_owned())
        };
        Ok(Cell(v))
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

type Param = Box<dyn ToSql + Sync>;

/// `sql` prepared, and `params` converted to the types the server says its parameters have.
fn prepared(
    c: &mut Client,
    sql: &str,
    params: &[Value],
) -> Result<(postgres::Statement, Vec<Param>)> {
    let st = c.prepare(sql).map_err(|e| db_err(&e, sql))?;
    let p = params
        .iter()
        .zip(st.params())
        .map(|(v, t)| param(v, t))
        .collect();
    Ok((st, p))
}

/// A bound value converted to the parameter type the server inferred.
fn param(v: &Value, ty: &Type) -> Param {
    let int = |i: i64| -> Param {
        if *ty == Type::INT2 {
            Box::new(i as i16)
        } else if *ty == Type::INT4 {
            Box::new(i as i32)
        } else if *ty == Type::BOOL {
            Box::new(i != 0)
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::BPCHAR {
            Box::new(i.to_string())
        } else {
            Box::new(i)
        }
    };
    match v {
        Value::Int(i) => int(*i),
        Value::Text(s) => {
            let numeric = *ty == Type::INT2 || *ty == Type::INT4 || *ty == Type::INT8;
            match s.parse::<i64>() {
                Ok(i) if numeric => int(i),
                _ if *ty == Type::BOOL => Box::new(matches!(s.as_str(), "t" | "true" | "1")),
                _ => Box::new(s.clone()),
            }
        }
        Value::Null => {
            if *ty == Type::INT2 {
                Box::new(None::<i16>)
            } else if *ty == Type::INT4 {
                Box::new(None::<i32>)
            } else if *ty == Type::INT8 {
                Box::new(None::<i64>)
            } else if *ty == Type::BOOL {
                Box::new(None::<bool>)
            } else {
                Box::new(None::<String>)
            }
        }
    }
}

/// An open PostgreSQL database.
pub struct Postgres {
    client: Owned,
    opts: Options,
    schema: String,
    /// `"<schema>"."<table>"`.
    qualified: String,
    lock_key: i64,
    locked: bool,
    /// What text the database's encoding can store.
    repertoire: Repertoire,
    /// `statement_timeout` before `x-statement-timeout` changed it, restored by
    /// [`Postgres::into_client`].
    saved_statement_timeout: Option<String>,
}

/// The driver's client. The synchronous client blocks on its own runtime at every call and
/// when it closes its connection, which panics inside async code (a gate called straight
/// from `#[tokio::main]`, a migrator dropped in a task): there both happen on a thread of
/// their own ([`Owned::run`], the `Drop`).
struct Owned(Option<Client>);

impl Owned {
    /// The client; it is taken only by [`Owned::into_inner`], which consumes the wrapper.
    fn get(&mut self) -> &mut Client {
        match &mut self.0 {
            Some(c) => c,
            None => unreachable!("the client is taken only by into_inner, which consumes it"),
        }
    }

    /// Runs `f` on the client: here, or on a thread of its own inside an application's async
    /// code, where the client's blocking on its own runtime would panic.
    fn run<R: Send>(&mut self, f: impl FnOnce(&mut Client) -> R + Send) -> R {
        let client = self.get();
        super::outside_async(move || f(client))
    }

    fn into_inner(mut self) -> Client {
        match self.0.take() {
            Some(c) => c,
            None => unreachable!("the client is taken only here, which consumes it"),
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        super::drop_outside_async(self.0.take());
    }
}

/// PostgreSQL's identifier limit: `NAMEDATALEN - 1` bytes; longer names are cut silently.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The characters a database of this `server_encoding` stores.
fn repertoire(encoding: &str) -> Repertoire {
    match encoding.to_ascii_uppercase().as_str() {
        "UTF8" | "UTF-8" | "SQL_ASCII" => Repertoire::Unicode,
        "LATIN1" | "ISO_8859_1" => Repertoire::Latin1,
        _ => Repertoire::Ascii,
    }
}

/// Whether a statement ends the transaction it runs in (`COMMIT`, `END`, `ROLLBACK` but not
/// `ROLLBACK TO`, `ABORT`, `PREPARE TRANSACTION`, `COMMIT PREPARED`...).
fn ends_transaction(statement: &str) -> bool {
    let words: Vec<String> = strip_comments(statement)
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .take(2)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    match words.first().map(String::as_str) {
        Some("COMMIT" | "END" | "ABORT") => true,
        Some("ROLLBACK") => words.get(1).map(String::as_str) != Some("TO"),
        Some("PREPARE") => words.get(1).map(String::as_str) == Some("TRANSACTION"),
        _ => false,
    }
}

/// A statement without its leading comments (`--` lines and `/* */` blocks).
fn strip_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.find('\n').map_or("", |i| &rest[i..]);
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.find("*/").map_or("", |i| &rest[i + 2..]);
        } else {
            return s;
        }
    }
}

/// Whether a body commits or rolls back on its own somewhere. Inside migrate's
/// transaction such a file would commit part of itself and leave the version clean at the
/// previous one if a later statement failed, so it runs under golang-migrate's
/// dirty/body/clean protocol instead (a failure leaves the version dirty, as golang-migrate
/// does).
pub fn has_transaction_control(body: &str) -> bool {
    split::statements(body).into_iter().any(ends_transaction)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Postgres {
    /// Connects as golang-migrate's postgres driver does for this URL (libpq options, TLS).
    pub fn open(url: &DatabaseUrl) -> Result<Postgres> {
        let opts = Options::parse(url)?;
        let c = connect_config(url)?;
        let path = url_path(url);
        super::outside_async(move || Postgres::connect(c, opts, path))
    }

    /// Connects as [`Postgres::open`] says, on this thread.
    fn connect(c: Connect, opts: Options, path: Option<String>) -> Result<Postgres> {
        let client = if c.config.get_ssl_mode() == SslMode::Disable {
            c.config
                .connect(NoTls)
                .map_err(|e| Error::Other(connect_text(&c.config, &e)))?
        } else {
            let (tls, roots) = tls_connector(&c)?;
            c.config.connect(tls).map_err(|e| match roots {
                Some(roots) if super::roots::is_unverified_chain(&e) => {
                    Error::Other(format!("{}; verified against {roots}", pq_text(&e)))
                }
                _ => Error::Other(connect_text(&c.config, &e)),
            })?
        };
        Postgres::on_client(client, opts, path)
    }

    /// A driver on a client the application connected (its own TLS, a pool's connection),
    /// which it gets back with [`Postgres::into_client`]. `options` is a URL's query
    /// string with only golang-migrate's `x-` options (`x-migrations-table`,
    /// `x-migrations-table-quoted`, `x-statement-timeout`, `x-multi-statement`,
    /// `x-multi-statement-max-size`; anything else is refused).
    ///
    /// The lock is golang-migrate's advisory lock for `/CURRENT_DATABASE()` (a URL's path),
    /// the schema and the table, so a migrator on a URL that names the database and one on
    /// a client exclude each other. On the session migrate sets `statement_timeout` (only
    /// with `x-statement-timeout`; the previous value is restored by
    /// [`Postgres::into_client`]) and takes and releases the advisory lock; what a
    /// migration file sets (`search_path`, ...) stays, as on golang-migrate's single
    /// connection.
    pub fn from_client(client: Client, options: &str) -> Result<Postgres> {
        let url = super::connection_options(
            "postgres",
            options,
            &[
                "x-migrations-table",
                "x-migrations-table-quoted",
                "x-statement-timeout",
                "x-multi-statement",
                "x-multi-statement-max-size",
            ],
        )?;
        let opts = Options::parse(&url)?;
        // golang-migrate keys the lock on the URL's path, `/<database>`: the same key as a
        // URL that names this database.
        super::outside_async(move || {
            let sql = "SELECT CURRENT_DATABASE()";
            let mut client = client;
            let row = client.query_one(sql, &[]).map_err(|e| db_err(&e, sql))?;
            let path = format!("/{}", row.get::<_, String>(0));
            Postgres::on_client(client, opts, Some(path))
        })
    }

    fn on_client(mut client: Client, opts: Options, db_name: Option<String>) -> Result<Postgres> {
        let mut saved_statement_timeout = None;
        if let Some(ms) = opts.statement_timeout_ms {
            let show = "SHOW statement_timeout";
            let before = client.query_one(show, &[]).map_err(|e| db_err(&e, show))?;
            saved_statement_timeout = Some(before.get::<_, String>(0));
            let sql = format!("SET statement_timeout = {ms}");
            client.batch_execute(&sql).map_err(|e| db_err(&e, &sql))?;
        }
        // The schema is resolved once, here: every statement migrate writes names it, so a
        // migration that changes `search_path` cannot move the bookkeeping.
        let sql = "SELECT CURRENT_SCHEMA(), current_setting('server_encoding')";
        let row = client.query_one(sql, &[]).map_err(|e| db_err(&e, sql))?;
        let repertoire = repertoire(&row.get::<_, String>(1));
        let schema = match &opts.schema {
            Some(s) => s.clone(),
            None => row
                .get::<_, Option<String>>(0)
                .ok_or_else(|| Error::Other("no schema".into()))?,
        };
        let db_name = match db_name {
            Some(p) => p,
            None => {
                let sql = "SELECT CURRENT_DATABASE()";
                let row = client.query_one(sql, &[]).map_err(|e| db_err(&e, sql))?;
                row.get::<_, String>(0)
            }
        };
        let lock_key = advisory_lock_id(&db_name, &[&schema, &opts.table]).into();
        let qualified = format!("{}.{}", quote(&schema), quote(&opts.table));
        Ok(Postgres {
            client: Owned(Some(client)),
            opts,
            schema,
            qualified,
            lock_key,
            locked: false,
            repertoire,
            saved_statement_timeout,
        })
    }

    /// The client back: the advisory lock released and `statement_timeout` as it was
    /// before [`Postgres::from_client`].
    pub fn into_client(mut self) -> Client {
        let _ = self.unlock();
        if let Some(v) = self.saved_statement_timeout.take() {
            let _ = self
                .client
                .run(|c| c.execute("SELECT set_config('statement_timeout', $1, false)", &[&v]));
        }
        self.client.into_inner()
    }

    /// The advisory lock key golang-migrate uses for this database and table.
    pub fn lock_key(&self) -> i64 {
        self.lock_key
    }

    /// The underlying client.
    pub fn client(&mut self) -> &mut Client {
        self.client.get()
    }

    /// The pieces a body outside a transaction runs as, one at a time: golang-migrate's
    /// `x-multi-statement` split, or each statement of a `-- migrate:no-transaction` file.
    /// `None`: the body runs as one query string (a file with its own COMMIT).
    fn pieces<'a>(&self, body: &'a str) -> Option<Vec<&'a str>> {
        if self.opts.multi_statement {
            let pieces = split::go_multistmt(body, self.opts.multi_statement_max_size).ok()?;
            return Some(
                pieces
                    .into_iter()
                    .filter(|p| !p.trim().is_empty())
                    .collect(),
            );
        }
        if has_no_transaction_marker(body) {
            return Some(split::statements(body));
        }
        None
    }

    fn run(&mut self, statement: &str) -> Result<()> {
        if statement.trim().is_empty() {
            return Ok(());
        }
        self.client
            .run(|c| c.batch_execute(statement))
            .map_err(|e| migration_error(&e, statement))
    }
}

impl Driver for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn table(&self) -> &str {
        &self.opts.table
    }

    fn version_table_exists(&mut self) -> Result<bool> {
        let sql = "SELECT COUNT(1) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2 LIMIT 1";
        let (schema, table) = (&self.schema, &self.opts.table);
        let row = self
            .client
            .run(|c| c.query_one(sql, &[schema, table]))
            .map_err(|e| db_err(&e, sql))?;
        Ok(row.get::<_, i64>(0) == 1)
    }

    fn ensure_version_table(&mut self) -> Result<()> {
        if self.version_table_exists()? {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (version bigint not null primary key, dirty boolean not null)",
            self.qualified
        );
        match self.client.run(|c| c.batch_execute(&sql)) {
            Ok(()) => Ok(()),
            // Two processes creating the table at once: one loses on the catalog's unique
            // index (23505), on the table (42P07) or on its row type (42710, `type ...
            // already exists`, seen with 8 processes); the table is there either way.
            Err(e)
                if e.code()
                    .is_some_and(|c| matches!(c.code(), "23505" | "42P07" | "42710")) =>
            {
                if self.version_table_exists()? {
                    Ok(())
                } else {
                    Err(db_err(&e, sql))
                }
            }
            Err(e) => Err(db_err(&e, sql)),
        }
    }

    fn version(&mut self) -> Result<DbVersion> {
        let sql = format!("SELECT version, dirty FROM {} LIMIT 1", self.qualified);
        match self.client.run(|c| c.query_opt(&sql, &[])) {
            Ok(None) => Ok(DbVersion::Nil),
            Ok(Some(r)) => Ok(DbVersion::from_row(Some((r.get(0), r.get(1))))),
            Err(e) if e.code().is_some_and(|c| c.code() == "42P01") => Ok(DbVersion::Nil),
            Err(e) => Err(db_err(&e, sql)),
        }
    }

    fn write_version(&mut self, version: Option<u64>, dirty: bool) -> Result<()> {
        let v = to_stored(version)?;
        let trunc = format!("TRUNCATE {}", self.qualified);
        self.client
            .run(|c| c.batch_execute(&trunc))
            .map_err(|e| db_err(&e, &trunc))?;
        if v >= 0 || (v == -1 && dirty) {
            let ins = format!(
                "INSERT INTO {} (version, dirty) VALUES ($1, $2)",
                self.qualified
            );
            self.client
                .run(|c| c.execute(&ins, &[&v, &dirty]))
                .map_err(|e| db_err(&e, &ins))?;
        }
        Ok(())
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        if self.locked {
            return Err(Error::CantAcquireLock);
        }
        let sql = "SELECT pg_try_advisory_lock($1)";
        let key = self.lock_key;
        let lock = format!("pg_advisory_lock({key})");
        let client = std::cell::RefCell::new(&mut self.client);
        super::lockwait::wait(
            &lock,
            timeout,
            || {
                let got: bool = client
                    .borrow_mut()
                    .run(|c| c.query_one(sql, &[&key]))
                    .map_err(|e| wrapped(&e, "try lock failed", "SELECT pg_advisory_lock($1)"))?
                    .get(0);
                Ok(got)
            },
            || client.borrow_mut().run(|c| lock_holder(c, key)),
            || Error::LockTimeout { lock: lock.clone() },
        )?;
        self.locked = true;
        Ok(())
    }

    fn unlock(&mut self) -> Result<()> {
        if !self.locked {
            return Ok(());
        }
        let sql = "SELECT pg_advisory_unlock($1)";
        let key = self.lock_key;
        self.client
            .run(|c| c.query_one(sql, &[&key]))
            .map_err(|e| db_err(&e, sql))?;
        self.locked = false;
        Ok(())
    }

    fn transactional(&self) -> bool {
        !self.opts.multi_statement
    }

    fn transactional_for(&self, body: &str) -> bool {
        self.transactional() && !has_no_transaction_marker(body) && !has_transaction_control(body)
    }

    fn begin(&mut self) -> Result<()> {
        self.client
            .run(|c| c.batch_execute("BEGIN"))
            .map_err(|e| db_err(&e, "BEGIN"))
    }

    fn commit(&mut self) -> Result<()> {
        self.client
            .run(|c| c.batch_execute("COMMIT"))
            .map_err(|e| wrapped(&e, "transaction commit failed", ""))
    }

    fn rollback(&mut self) -> Result<()> {
        self.client
            .run(|c| c.batch_execute("ROLLBACK"))
            .map_err(|e| db_err(&e, "ROLLBACK"))
    }

    fn run_body(&mut self, _file: &str, body: &str, in_tx: bool) -> Result<()> {
        if body.trim().is_empty() {
            return Ok(());
        }
        if self.opts.multi_statement {
            let pieces = split::go_multistmt(body, self.opts.multi_statement_max_size)
                .map_err(|e| Error::db(DbErrorKind::Other, e, ""))?;
            for p in pieces {
                self.run(p)?;
            }
            return Ok(());
        }
        if !in_tx && has_no_transaction_marker(body) {
            // Each statement on its own: `CREATE INDEX CONCURRENTLY` refuses to share a
            // query string (an implicit transaction) with anything else.
            for s in split::statements(body) {
                self.run(s)?;
            }
            return Ok(());
        }
        self.run(body)
    }

    fn statements<'a>(&self, body: &'a str) -> Vec<&'a str> {
        self.pieces(body).unwrap_or_else(|| vec![body])
    }

    fn run_body_outside(&mut self, file: &str, body: &str) -> std::result::Result<(), Halt> {
        if self.opts.multi_statement {
            // golang-migrate's splitter refuses an over-long piece before anything runs.
            if let Err(e) = split::go_multistmt(body, self.opts.multi_statement_max_size) {
                return Err(Halt {
                    applied: Some(0),
                    error: Error::db(DbErrorKind::Other, e, ""),
                });
            }
        }
        let Some(pieces) = self.pieces(body) else {
            // A file with its own COMMIT runs as one query string, as golang-migrate runs it.
            return self.run_body(file, body, false).map_err(|error| Halt {
                applied: None,
                error,
            });
        };
        for (i, p) in pieces.iter().enumerate() {
            self.run(p).map_err(|error| Halt {
                applied: Some(i),
                error,
            })?;
        }
        Ok(())
    }

    fn drop_all(&mut self) -> Result<()> {
        let sql = "SELECT table_name FROM information_schema.tables WHERE table_schema=(SELECT current_schema()) AND table_type='BASE TABLE'";
        let tables: Vec<String> = self
            .client
            .run(|c| c.query(sql, &[]))
            .map_err(|e| db_err(&e, sql))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for t in tables {
            let q = format!("DROP TABLE IF EXISTS {} CASCADE", quote(&t));
            self.client
                .run(|c| c.batch_execute(&q))
                .map_err(|e| db_err(&e, &q))?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.client.run(|c| {
            let (st, p) = prepared(c, sql, params)?;
            let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref()).collect();
            c.execute(&st, &refs).map_err(|e| db_err(&e, sql))
        })
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let rows = self.client.run(|c| {
            let (st, p) = prepared(c, sql, params)?;
            let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref()).collect();
            c.query(&st, &refs).map_err(|e| db_err(&e, sql))
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut row = Vec::with_capacity(r.len());
            for i in 0..r.len() {
                row.push(r.try_get::<_, Cell>(i).map_err(|e| db_err(&e, sql))?.0);
            }
            out.push(row);
        }
        Ok(out)
    }

    fn table_exists(&mut self, name: &str) -> Result<bool> {
        let sql = "SELECT COUNT(1) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2";
        let schema = &self.schema;
        let row = self
            .client
            .run(|c| c.query_one(sql, &[schema, &name]))
            .map_err(|e| db_err(&e, sql))?;
        Ok(row.get::<_, i64>(0) >= 1)
    }

    fn quote_ident(&self, name: &str) -> String {
        quote(name)
    }

    fn quote_table(&self, name: &str) -> String {
        format!("{}.{}", quote(&self.schema), quote(name))
    }

    fn identifier_limit(&self) -> Option<IdentLimit> {
        Some(IdentLimit::Bytes(MAX_IDENTIFIER_BYTES))
    }

    fn fit_text(&mut self, s: &str, width: Option<usize>) -> String {
        fit_text(s, self.repertoire, width)
    }

    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }
}

// Dropping the driver drops the client ([`Owned`]'s `Drop`), which ends the session and with
// it the session-level advisory lock; `into_client` releases it for a client that lives on.

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(u: &str) -> Result<Options> {
        Options::parse(&DatabaseUrl::parse(u)?)
    }

    #[test]
    fn options_like_golang_migrate() -> Result<()> {
        let o = opts("postgres://h/db?x-migrations-table=a.b&x-multi-statement=true")?;
        assert_eq!((o.schema, o.table.as_str()), (None, "a.b"));
        assert!(o.multi_statement);
        assert_eq!(o.multi_statement_max_size, 10 * 1024 * 1024);
        let o = opts("pgx://h/db?x-migrations-table=%22s%22.%22t%22&x-migrations-table-quoted=1")?;
        assert_eq!((o.schema.as_deref(), o.table.as_str()), (Some("s"), "t"));
        let e = |u: &str| opts(u).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            e("postgres://h/db?x-migrations-table=t&x-migrations-table-quoted=true"),
            "x-migrations-table must be quoted (for instance '\"migrate\".\"schema_migrations\"') when x-migrations-table-quoted is enabled, current value is: t"
        );
        assert_eq!(
            e("postgres://h/db?x-migrations-table=%22a%22.%22b%22.%22c%22&x-migrations-table-quoted=true"),
            "\"a\".\"b\".\"c\" MigrationsTable contains too many dot characters"
        );
        assert_eq!(
            e("postgres://h/db?x-multi-statement=yes"),
            "Unable to parse option x-multi-statement: strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(
            e("postgres://h/db?x-statement-timeout=1s"),
            "strconv.Atoi: parsing \"1s\": invalid syntax"
        );
        Ok(())
    }

    #[test]
    fn lock_path_keeps_slash() -> Result<()> {
        let u = DatabaseUrl::parse("postgres://u:p@h:5432/mydb?sslmode=disable")?;
        assert_eq!(url_path(&u).as_deref(), Some("/mydb"));
        assert_eq!(url_path(&DatabaseUrl::parse("postgres://h")?), None);
        Ok(())
    }

    #[test]
    fn line_and_column_from_position() {
        assert_eq!(line_col("CREAT TABLE x;", 1), Some((1, 1)));
        assert_eq!(line_col("SELECT 1;\r\nCREAT TABLE x;", 11), Some((2, 1)));
        assert_eq!(line_col("SELECT 1;\nSELECT x;", 18), Some((2, 8)));
        assert_eq!(line_col("abc", 9), None);
    }

    #[test]
    fn transaction_control_is_found_only_at_top_level() {
        for body in [
            "CREATE TABLE a (id int); COMMIT; SELEC x;",
            "BEGIN;\nCREATE TABLE a (id int);\ncommit;\n",
            "-- note\nEND;",
            "/* c */ COMMIT WORK;",
            "ROLLBACK;",
            "rollback transaction;",
            "ABORT",
            "PREPARE TRANSACTION 'x';",
            "COMMIT PREPARED 'x';",
            "SELECT 1;\n  end\n",
        ] {
            assert!(has_transaction_control(body), "{body:?}");
        }
        for body in [
            "CREATE TABLE a (t text DEFAULT 'COMMIT;');",
            "SAVEPOINT s; ROLLBACK TO SAVEPOINT s; ROLLBACK TO s;",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;",
            "DO $x$ BEGIN COMMIT; END $x$;",
            "-- COMMIT;\nSELECT 1;",
            "/* COMMIT; */ SELECT 1;",
            "BEGIN; SELECT 1;",
            "CREATE TABLE \"commit\" (id int);",
            "SELECT committed FROM t;",
        ] {
            assert!(!has_transaction_control(body), "{body:?}");
        }
    }

    #[test]
    fn marker() {
        assert!(has_no_transaction_marker(
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"
        ));
        assert!(!has_no_transaction_marker(
            "CREATE TABLE t (a int);\n-- migrate:no-transaction"
        ));
    }
}
