//! MySQL / MariaDB driver (`mysql://user:pass@tcp(host:port)/db?params`, golang-migrate's
//! go-sql-driver DSN form) over the `mysql_async` crate, keeping golang-migrate's version
//! table, `GET_LOCK` name and error texts. The driver is synchronous: each call runs the
//! client's future to completion on a current-thread runtime the driver owns, or, for a
//! connection the application opened, on the runtime it names.
//!
//! MySQL DDL commits implicitly, so files run without a transaction under golang-migrate's
//! dirty/body/clean protocol: a failure leaves `V (dirty)`. Differences (docs/drivers.md):
//! the lock waits at most `-lock-timeout` (golang-migrate: 10 s server-side, then
//! `can't acquire lock`), and whitespace-only files are skipped instead of failing with
//! `Query was empty`.

use std::future::Future;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};

use super::lockkey::advisory_lock_id;
use super::roots::{self, Source};
use super::{fit_text, Dialect, Driver, Halt, IdentLimit, Repertoire, Row, Value};
use crate::error::{DbError, DbErrorKind, Error, Result};
use crate::gocompat::quote::quote as go_quote;
use crate::url::DatabaseUrl;
use crate::version::{to_stored, DbVersion};

/// go-sql-driver parameters accepted and ignored here (they tune Go's client only).
const IGNORED_PARAMS: &[&str] = &[
    "multiStatements",
    "parseTime",
    "loc",
    "collation",
    "allowNativePasswords",
    "allowOldPasswords",
    "allowCleartextPasswords",
    "allowAllFiles",
    "allowFallbackToPlaintext",
    "interpolateParams",
    "clientFoundRows",
    "columnsWithAlias",
    "checkConnLiveness",
    "rejectReadOnly",
    "serverPubKey",
    "maxAllowedPacket",
    "timeTruncate",
    "connectionAttributes",
];

/// Where and how to connect, parsed from golang-migrate's DSN form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// The user, if the DSN names one.
    pub user: Option<String>,
    /// The password, if the DSN has one (never printed).
    pub password: Option<String>,
    /// `tcp` or `unix`.
    pub net: String,
    /// `host:port`, or the socket path for `unix`.
    pub addr: String,
    /// The database name (may be empty).
    pub db: String,
    /// The other parameters, in order (go-sql-driver's: session variables, timeouts, `tls`).
    pub params: Vec<(String, String)>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Other(msg.into())
}

impl Dsn {
    /// `[user[:password]@][net[(addr)]]/dbname` after `mysql://`.
    pub fn parse(url: &DatabaseUrl) -> Result<Dsn> {
        let body = url.body().strip_prefix("//").unwrap_or(url.body());
        let slash = body
            .rfind('/')
            .ok_or_else(|| bad("invalid DSN: missing the slash separating the database name"))?;
        let db = crate::url::unescape(&body[slash + 1..], false).map_err(bad)?;
        let head = &body[..slash];
        let (userinfo, net_addr) = match head.rfind('@') {
            Some(at) => (Some(&head[..at]), &head[at + 1..]),
            None => (None, head),
        };
        let unesc = |s: &str| crate::url::unescape(s, false).map_err(bad);
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.find(':') {
                Some(c) => (Some(unesc(&u[..c])?), Some(unesc(&u[c + 1..])?)),
                None => (Some(unesc(u)?), None),
            },
        };
        let (net, addr) = match net_addr.find('(') {
            Some(p) => {
                if !net_addr.ends_with(')') {
                    return Err(bad("invalid DSN: did you forget to escape a param value?"));
                }
                (
                    net_addr[..p].to_string(),
                    net_addr[p + 1..net_addr.len() - 1].to_string(),
                )
            }
            None => (net_addr.to_string(), String::new()),
        };
        let net = if net.is_empty() { "tcp".into() } else { net };
        let addr = match (net.as_str(), addr.is_empty()) {
            ("tcp", true) => "127.0.0.1:3306".to_string(),
            ("unix", true) => "/tmp/mysql.sock".to_string(),
            ("tcp" | "unix", false) => addr,
            (other, _) => return Err(bad(format!("unknown network {other}"))),
        };
        Ok(Dsn {
            user,
            password,
            net,
            addr,
            db,
            params: url.params().to_vec(),
        })
    }
}

/// A go-sql-driver timeout parameter, parsed by Go's `time.ParseDuration` (whose error text
/// go-sql-driver returns as it is). Zero or a negative value sets no timeout: go-sql-driver
/// sets deadlines only for positive ones.
fn dsn_timeout(v: &str) -> Result<Option<Duration>> {
    let nanos = crate::gocompat::duration::parse(v).map_err(|e| bad(e.to_string()))?;
    Ok(u64::try_from(nanos)
        .ok()
        .filter(|&n| n > 0)
        .map(Duration::from_nanos))
}

/// The options golang-migrate reads from a mysql URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The migrations table (`x-migrations-table`, default `schema_migrations`).
    pub table: String,
    /// `x-no-lock`: run without `GET_LOCK`.
    pub no_lock: bool,
    /// `x-statement-timeout`: how long a migration's body may take, as golang-migrate's
    /// context for it; after it the connection is closed, as go-sql-driver closes it.
    pub statement_timeout: Option<Duration>,
}

impl Options {
    /// Reads golang-migrate's `x-` options from a `mysql://` URL.
    pub fn parse(url: &DatabaseUrl) -> Result<Options> {
        let statement_timeout = match url.x_param("x-statement-timeout").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => {
                let ms = super::go_atoi(v)?;
                (ms > 0).then(|| Duration::from_millis(ms as u64))
            }
        };
        Ok(Options {
            table: url
                .x_param("x-migrations-table")
                .filter(|t| !t.is_empty())
                .unwrap_or("schema_migrations")
                .to_string(),
            no_lock: match url.x_param("x-no-lock").filter(|v| !v.is_empty()) {
                None => false,
                Some(v) => crate::gocompat::strconv::parse_bool(v)
                    .map_err(|e| bad(format!("could not parse x-no-lock as bool: {e}")))?,
            },
            statement_timeout,
        })
    }
}

/// go-sql-driver's `readBool`, which golang-migrate uses on `tls`.
fn read_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "true" | "TRUE" | "True" => Some(true),
        "0" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `*fs.PathError` text for a failed read of `path` (`open x: no such file or
/// directory`).
fn go_path_error(path: &str, e: &std::io::Error) -> String {
    let (op, text) = match e.raw_os_error() {
        Some(2) => ("open", "no such file or directory".to_string()),
        Some(13) => ("open", "permission denied".to_string()),
        Some(21) => ("read", "is a directory".to_string()),
        _ => {
            let t = e.to_string();
            let t = t.split(" (os error").next().unwrap_or("").to_lowercase();
            ("open", t)
        }
    };
    format!("{op} {path}: {text}")
}

/// A standard-alphabet base64 decoder for PEM bodies; `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The DER bodies of the PEM blocks of type `label` in `text` that decode.
fn pem_blocks(text: &str, label: impl Fn(&str) -> bool) -> (usize, Vec<Vec<u8>>) {
    let mut any = 0;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find("-----BEGIN ") {
        let after = &rest[b + 11..];
        let Some(e) = after.find("-----") else { break };
        let kind = &after[..e];
        let body = &after[e + 5..];
        let end_marker = format!("-----END {kind}-----");
        let Some(end) = body.find(&end_marker) else {
            break;
        };
        any += 1;
        if label(kind) {
            if let Some(der) = base64_decode(&body[..end]).filter(|d| d.first() == Some(&0x30)) {
                out.push(der);
            }
        }
        rest = &body[end + end_marker.len()..];
    }
    (any, out)
}

/// golang-migrate's checks of a custom TLS configuration (`tls=<name>`), before it
/// connects: the `x-tls-ca` file must be readable and hold a certificate (`failed to append
/// PEM`), `x-tls-cert` and `x-tls-key` come together and hold PEM data, and
/// `x-tls-insecure-skip-verify` is a Go bool. Same texts as golang-migrate.
fn check_custom_tls(url: &DatabaseUrl) -> Result<()> {
    let read = |p: &str| std::fs::read(p).map_err(|e| bad(go_path_error(p, &e)));
    let ca = url.x_param("x-tls-ca").unwrap_or("");
    let pem = read(ca)?;
    let (_, certs) = pem_blocks(&String::from_utf8_lossy(&pem), |k| k == "CERTIFICATE");
    if certs.is_empty() {
        return Err(bad("failed to append PEM"));
    }
    let cert = url.x_param("x-tls-cert").unwrap_or("");
    let key = url.x_param("x-tls-key").unwrap_or("");
    if !cert.is_empty() || !key.is_empty() {
        if cert.is_empty() || key.is_empty() {
            return Err(bad(
                "To use TLS client authentication, both x-tls-cert and x-tls-key must not be empty",
            ));
        }
        let cert_pem = read(cert)?;
        let key_pem = read(key)?;
        let (any, certs) = pem_blocks(&String::from_utf8_lossy(&cert_pem), |k| k == "CERTIFICATE");
        if any == 0 {
            return Err(bad("tls: failed to find any PEM data in certificate input"));
        }
        if certs.is_empty() {
            return Err(bad(
                "tls: failed to find \"CERTIFICATE\" PEM block in certificate input",
            ));
        }
        let (any, keys) = pem_blocks(&String::from_utf8_lossy(&key_pem), |k| {
            k == "PRIVATE KEY" || k.ends_with(" PRIVATE KEY")
        });
        if any == 0 {
            return Err(bad("tls: failed to find any PEM data in key input"));
        }
        if keys.is_empty()
            && !pem_blocks(&String::from_utf8_lossy(&key_pem), |k| k == "CERTIFICATE")
                .1
                .is_empty()
        {
            return Err(bad(
                "tls: found a certificate rather than a key in the PEM for the private key",
            ));
        }
        if keys.is_empty() {
            return Err(bad(
                "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key input",
            ));
        }
    }
    if let Some(v) = url
        .x_param("x-tls-insecure-skip-verify")
        .filter(|v| !v.is_empty())
    {
        if let Err(e) = crate::gocompat::strconv::parse_bool(v) {
            return Err(bad(e.to_string()));
        }
    }
    Ok(())
}

/// Whether golang-migrate builds a custom TLS configuration for this `tls` value: anything
/// but a go-sql-driver bool and `skip-verify` (so `preferred` too).
fn is_custom_tls(mode: &str) -> bool {
    !mode.is_empty() && read_bool(mode).is_none() && !mode.eq_ignore_ascii_case("skip-verify")
}

/// The TLS options for `tls=MODE`, and where the roots the server's certificate is verified
/// against came from (`None`: not verified). As golang-migrate: `x-tls-ca` alone when
/// given, else the system's store; where there is none, the bundled public roots.
fn tls_opts(url: &DatabaseUrl, mode: &str) -> Result<(Option<SslOpts>, Option<Source>)> {
    let ssl = SslOpts::default();
    let verified = |ssl: SslOpts, ca: Option<&str>| -> Result<(Option<SslOpts>, Option<Source>)> {
        let trusted = match ca {
            Some(ca) => roots::from_file("x-tls-ca", ca)?,
            None => roots::system_or_bundled(),
        };
        let ssl = if trusted.certs.is_empty() {
            // The bundled roots: the client's own copy of the same set.
            ssl
        } else {
            let certs = trusted.certs.iter().map(|c| c.to_vec().into()).collect();
            ssl.with_disable_built_in_roots(true).with_root_certs(certs)
        };
        Ok((Some(ssl), Some(trusted.source)))
    };
    match mode {
        "" => Ok((None, None)),
        m if read_bool(m) == Some(false) => Ok((None, None)),
        m if read_bool(m) == Some(true) => verified(ssl, None),
        // go-sql-driver's `preferred` falls back to plain text; this client cannot, so it
        // means TLS without verification here (docs/drivers.md).
        m if m.eq_ignore_ascii_case("skip-verify") || m.eq_ignore_ascii_case("preferred") => Ok((
            Some(
                ssl.with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            None,
        )),
        _ => {
            // A custom config name: golang-migrate registers it from the x-tls-* options.
            let mut ssl = ssl;
            // Both or neither: checked by `check_custom_tls`.
            let given = |k: &str| url.x_param(k).filter(|v| !v.is_empty());
            if let (Some(cert), Some(key)) = (given("x-tls-cert"), given("x-tls-key")) {
                ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(
                    std::path::PathBuf::from(cert).into(),
                    std::path::PathBuf::from(key).into(),
                )));
            }
            if url.x_bool("x-tls-insecure-skip-verify")?.unwrap_or(false) {
                let ssl = ssl
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true);
                return Ok((Some(ssl), None));
            }
            verified(ssl, given("x-tls-ca"))
        }
    }
}

/// Why a call on the connection failed.
#[derive(Debug)]
enum Fail {
    /// The client or the server reported an error.
    My(mysql_async::Error),
    /// The call's deadline passed; the text is go-sql-driver's (`context deadline
    /// exceeded` for `x-statement-timeout`, `i/o timeout` for `readTimeout`/`writeTimeout`).
    /// The connection is closed after it, as go-sql-driver closes it.
    Deadline(&'static str),
    /// The connection was closed by an earlier deadline or a broken connection.
    Closed,
}

impl From<mysql_async::Error> for Fail {
    fn from(e: mysql_async::Error) -> Fail {
        Fail::My(e)
    }
}

/// Whether the connection failed on a server certificate whose chain did not verify.
fn unverified_chain(e: &Fail) -> bool {
    match e {
        Fail::My(e) => roots::is_unverified_chain(e),
        _ => false,
    }
}

/// Where the connection's futures run.
enum Runtime {
    /// A current-thread runtime of the driver's own (a connection migrate opened).
    Own(tokio::runtime::Runtime),
    /// The runtime of the application whose connection this is.
    Shared(tokio::runtime::Handle),
}

impl Runtime {
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        match self {
            Runtime::Own(rt) => rt.block_on(f),
            Runtime::Shared(h) => h.block_on(f),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Runtime::Own(rt) = &self.rt else {
            // The application's connection: the client closes it on the application's
            // runtime.
            return;
        };
        // The connection first, so that its socket closes at once, which releases its
        // `GET_LOCK`: inside async code the client would hand the closing to the
        // application's runtime, which does not drive this connection. Then the runtime.
        super::drop_outside_async(self.conn.take());
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropping a runtime inside async code would panic: it is shut down without
            // waiting there.
            let handle = Runtime::Shared(rt.handle().clone());
            if let Runtime::Own(rt) = std::mem::replace(&mut self.rt, handle) {
                rt.shutdown_background();
            }
        }
    }
}

/// A call's deadline, and go-sql-driver's text for it.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    after: Duration,
    text: &'static str,
}

/// The connection and the runtime its futures run on.
struct Session {
    /// Declared before the runtime, so it is dropped first.
    conn: Option<Conn>,
    rt: Runtime,
    /// go-sql-driver's `readTimeout`/`writeTimeout`, the shorter: a bound on every call.
    io_timeout: Option<Duration>,
}

impl Session {
    /// [`Session::call_within`] without a statement deadline.
    fn call<T: Send>(
        &mut self,
        f: impl AsyncFnOnce(&mut Conn) -> std::result::Result<T, mysql_async::Error> + Send,
    ) -> std::result::Result<T, Fail> {
        self.call_within(None, f)
    }

    /// Runs `f` on the connection to completion, within `statement` (golang-migrate's
    /// `x-statement-timeout`, for a migration's body) and the I/O timeout. After a deadline
    /// or an error that broke the connection, the connection is closed (outside the
    /// runtime, so its socket closes at once) and later calls fail with [`Fail::Closed`].
    fn call_within<T: Send>(
        &mut self,
        statement: Option<Duration>,
        f: impl AsyncFnOnce(&mut Conn) -> std::result::Result<T, mysql_async::Error> + Send,
    ) -> std::result::Result<T, Fail> {
        let conn = self.conn.as_mut().ok_or(Fail::Closed)?;
        let d = deadline(statement, self.io_timeout);
        let rt = &self.rt;
        let run = move || match d {
            None => rt.block_on(f(conn)).map_err(Fail::My),
            Some(d) => rt.block_on(async {
                match tokio::time::timeout(d.after, f(conn)).await {
                    Ok(r) => r.map_err(Fail::My),
                    Err(_) => Err(Fail::Deadline(d.text)),
                }
            }),
        };
        let out = match rt {
            Runtime::Own(_) => super::outside_async(run),
            // The application's runtime may need this very thread to drive the connection:
            // calling from its async code is the application's to avoid, as tokio says.
            Runtime::Shared(_) => run(),
        };
        let broken = match &out {
            Err(Fail::My(e)) => e.is_fatal(),
            Err(_) => true,
            Ok(_) => false,
        };
        if broken {
            // Dropped here, in async code too: a connection cut in the middle of a call
            // ends, and its lock is freed, once the server has finished the statement
            // (`tests/in_async.rs`).
            self.conn = None;
        }
        out
    }
}

/// Who holds the named lock, from `IS_USED_LOCK` and the process list: the connection id,
/// user, client host, database and what it is doing. `None` when the server does not tell
/// (no PROCESS privilege for another user's connection, or it just let go).
fn lock_holder(session: &mut Session, name: &str) -> Option<String> {
    type Proc = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let (id, p) = session
        .call(async |c| {
            let id: Option<Option<u64>> = c.exec_first("SELECT IS_USED_LOCK(?)", (name,)).await?;
            let Some(id) = id.flatten() else {
                return Ok((None, None));
            };
            let p: Option<Proc> = c
                .exec_first(
                    "SELECT USER, HOST, DB, COMMAND, TIME FROM information_schema.PROCESSLIST WHERE ID = ?",
                    (id,),
                )
                .await?;
            Ok((Some(id), p))
        })
        .ok()?;
    let id = id?;
    let Some((user, host, db, command, time)) = p else {
        return Some(format!("MySQL connection {id}"));
    };
    let mut s = format!(
        "MySQL connection {id} (user {}@{}",
        user.unwrap_or_default(),
        host.unwrap_or_default()
    );
    if let Some(db) = db {
        s.push_str(&format!(", database {db}"));
    }
    if let (Some(c), Some(t)) = (command, time) {
        s.push_str(&format!(", {c} for {t}s"));
    }
    s.push(')');
    Some(s)
}

/// `MySQLError.Error()` of go-sql-driver v1.5.0, the version golang-migrate v4.19.1 pins:
/// `Error <n>: <msg>`, without the SQLSTATE later versions add in brackets. A closed
/// connection is go-sql-driver's `invalid connection`.
fn my_text(e: &Fail) -> String {
    use mysql_async::{Error as E, IoError};
    match e {
        Fail::My(E::Server(m)) => format!("Error {}: {}", m.code, m.message),
        Fail::My(E::Driver(d)) => d.to_string(),
        Fail::My(E::Io(IoError::Io(io))) => io.to_string(),
        Fail::My(E::Io(IoError::Tls(t))) => t.to_string(),
        Fail::My(other) => other.to_string(),
        Fail::Deadline(text) => text.to_string(),
        Fail::Closed => "invalid connection".to_string(),
    }
}

fn code(e: &Fail) -> Option<u16> {
    match e {
        Fail::My(mysql_async::Error::Server(m)) => Some(m.code),
        _ => None,
    }
}

/// The kind of a MySQL error, from the server's error number; the client's own I/O and
/// protocol errors, a deadline (after which the connection is closed) and a closed
/// connection are a lost connection.
fn kind(e: &Fail) -> DbErrorKind {
    use mysql_async::Error as E;
    let n = match e {
        Fail::My(E::Server(m)) => m.code,
        Fail::My(E::Io(_) | E::Driver(_)) | Fail::Deadline(_) | Fail::Closed => {
            return DbErrorKind::Connection
        }
        Fail::My(_) => return DbErrorKind::Other,
    };
    match n {
        1205 => DbErrorKind::LockWait, // ER_LOCK_WAIT_TIMEOUT
        1213 => DbErrorKind::Deadlock, // ER_LOCK_DEADLOCK
        // not null, duplicate key, foreign keys (old and new numbers), check constraints
        1048 | 1062 | 1216 | 1217 | 1451 | 1452 | 3819 | 4025 => DbErrorKind::Constraint,
        1064 => DbErrorKind::Syntax, // ER_PARSE_ERROR
        // database, user, table, column access denied, missing privilege
        1044 | 1045 | 1142 | 1143 | 1227 => DbErrorKind::Permission,
        1021 | 1114 => DbErrorKind::DiskFull, // ER_DISK_FULL, ER_RECORD_FILE_FULL
        // --read-only, a READ ONLY transaction, read-only mode
        1290 | 1792 | 1836 => DbErrorKind::ReadOnly,
        // client: cannot connect (socket, TCP), server gone, connection lost; server:
        // connection killed (MariaDB), disconnected for inactivity (MySQL)
        2002 | 2003 | 2006 | 2013 | 1927 | 4031 => DbErrorKind::Connection,
        _ => DbErrorKind::Other,
    }
}

fn db_err(e: &Fail, query: impl Into<String>) -> Error {
    Error::db(kind(e), my_text(e), query)
}

/// `e` with golang-migrate's wrapping message `msg`.
fn wrapped(e: &Fail, msg: &str, query: impl Into<String>) -> Error {
    Error::Database(DbError {
        orig: my_text(e),
        msg: msg.into(),
        line: 0,
        query: query.into(),
        kind: kind(e),
    })
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal for the statements MySQL cannot prepare (`SHOW TABLES LIKE`).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn to_my(v: &Value) -> mysql_async::Value {
    match v {
        Value::Null => mysql_async::Value::NULL,
        Value::Int(i) => mysql_async::Value::Int(*i),
        Value::Text(s) => mysql_async::Value::Bytes(s.clone().into_bytes()),
    }
}

fn from_my(v: mysql_async::Value) -> Value {
    use mysql_async::Value as V;
    match v {
        V::NULL => Value::Null,
        V::Int(i) => Value::Int(i),
        V::UInt(u) => i64::try_from(u).map_or(Value::Text(u.to_string()), Value::Int),
        V::Bytes(b) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
        other => Value::Text(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// An open MySQL or MariaDB database.
pub struct Mysql {
    session: Session,
    opts: Options,
    table_sql: String,
    lock_name: String,
    locked: bool,
    /// The side tables' character set, once read ([`Mysql::side_repertoire`]).
    side_charset: Option<Repertoire>,
}

/// MySQL's identifier limit, in characters.
const MAX_IDENTIFIER_CHARS: usize = 64;

/// The characters a column of this MySQL character set stores.
fn repertoire(charset: &str) -> Repertoire {
    match charset.to_ascii_lowercase().as_str() {
        "utf8mb4" | "binary" => Repertoire::Unicode,
        "utf16" | "utf16le" | "utf32" => Repertoire::Unicode,
        "utf8" | "utf8mb3" | "ucs2" => Repertoire::Bmp,
        "latin1" => Repertoire::Latin1,
        _ => Repertoire::Ascii,
    }
}

/// A call's deadline on a connection migrate opens: `x-statement-timeout` for a migration's
/// body (golang-migrate cancels its context) or go-sql-driver's `readTimeout`/`writeTimeout`
/// for any call (it closes the connection and reports `invalid connection`), whichever is
/// shorter.
fn deadline(statement: Option<Duration>, io: Option<Duration>) -> Option<Deadline> {
    let statement = statement.map(|after| Deadline {
        after,
        text: "context deadline exceeded",
    });
    let io = io.map(|after| Deadline {
        after,
        text: "invalid connection",
    });
    match (statement, io) {
        (Some(s), Some(i)) => Some(if i.after < s.after { i } else { s }),
        (s, i) => s.or(i),
    }
}

/// `host:port` of a `tcp` address (`[v6]:port` too; the port defaults to 3306).
fn host_port(addr: &str) -> Result<(String, u16)> {
    Ok(match addr.rfind(':') {
        Some(c) if !addr.ends_with(']') => (
            addr[..c].trim_matches(['[', ']']).to_string(),
            addr[c + 1..]
                .parse::<u16>()
                .map_err(|_| bad(format!("invalid port in address {addr}")))?,
        ),
        _ => (addr.trim_matches(['[', ']']).to_string(), 3306),
    })
}

/// Counts the statements of a multi-statement body that completed: each answer the server
/// sends, in order, is one statement that ran; an error stops the body there.
async fn run_counting(
    c: &mut Conn,
    body: &str,
    done: &mut usize,
) -> std::result::Result<(), mysql_async::Error> {
    let mut r = c.query_iter(body).await?;
    // A pending answer has columns (none for a statement without rows): its statement
    // completed, counted before the next answer is awaited, which may never come (a
    // deadline, a lost connection). After the last answer, or before the error another
    // statement answered, there are none.
    while r.columns().is_some() {
        *done += 1;
        while r.next().await?.is_some() {}
    }
    // Nothing left, or the error of the statement after the last that completed.
    while r.next().await?.is_some() {}
    Ok(())
}

impl Mysql {
    /// Connects as golang-migrate's mysql driver does for this URL (DSN, TLS, session variables).
    pub fn open(url: &DatabaseUrl) -> Result<Mysql> {
        // golang-migrate checks the custom TLS files before anything else.
        if let Some((_, mode)) = url.params().iter().find(|(k, _)| k == "tls") {
            if is_custom_tls(mode) {
                check_custom_tls(url)?;
            }
        }
        let opts = Options::parse(url)?;
        let dsn = Dsn::parse(url)?;
        let mut b = OptsBuilder::default()
            .user(dsn.user.clone())
            .pass(dsn.password.clone())
            .db_name((!dsn.db.is_empty()).then(|| dsn.db.clone()))
            .prefer_socket(false);
        if dsn.net == "unix" {
            b = b.socket(Some(dsn.addr.clone()));
        } else {
            let (host, port) = host_port(&dsn.addr)?;
            b = b.ip_or_hostname(host).tcp_port(port);
        }
        let mut init = Vec::new();
        let mut tls = String::new();
        let (mut connect, mut read, mut write) = (None, None, None);
        for (k, v) in &dsn.params {
            match k.as_str() {
                "tls" => tls = v.clone(),
                "timeout" => connect = dsn_timeout(v)?,
                "readTimeout" => read = dsn_timeout(v)?,
                "writeTimeout" => write = dsn_timeout(v)?,
                "charset" => {
                    let cs = v.split(',').next().unwrap_or("");
                    if !cs.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(bad(format!("invalid charset {}", go_quote(v))));
                    }
                    init.push(format!("SET NAMES {cs}"));
                }
                k if IGNORED_PARAMS.contains(&k) => {}
                // go-sql-driver: any other parameter is a session system variable.
                k if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    init.push(format!("SET {k}={v}"));
                }
                k => return Err(bad(format!("invalid DSN parameter {}", go_quote(k)))),
            }
        }
        let (ssl, roots) = tls_opts(url, &tls)?;
        // The client runs its init commands from the last to the first.
        init.reverse();
        b = b.ssl_opts(ssl).init(init);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| bad(format!("cannot start the MySQL client: {e}")))?;
        let conn = super::outside_async(|| {
            rt.block_on(async {
                let new = Conn::new(b);
                match connect {
                    None => new.await.map_err(Fail::My),
                    // go-sql-driver's dial timeout.
                    Some(t) => match tokio::time::timeout(t, new).await {
                        Ok(r) => r.map_err(Fail::My),
                        Err(_) => Err(Fail::Deadline("i/o timeout")),
                    },
                }
            })
        })
        .map_err(|e| match (&roots, &e) {
            (Some(roots), _) if unverified_chain(&e) => {
                bad(format!("{}; verified against {roots}", my_text(&e)))
            }
            (_, Fail::Deadline(t)) => bad(format!("dial {} {}: {t}", dsn.net, dsn.addr)),
            (_, Fail::My(my)) => {
                bad(super::go_dial_error(&dsn.net, &dsn.addr, my).unwrap_or(my_text(&e)))
            }
            _ => bad(my_text(&e)),
        })?;
        let session = Session {
            conn: Some(conn),
            rt: Runtime::Own(rt),
            io_timeout: [read, write].into_iter().flatten().min(),
        };
        Ok(Mysql::on_session(session, opts, &dsn.db))
    }

    /// A driver on a connection the application opened (its own TLS, session variables),
    /// which it gets back with [`Mysql::into_conn`]. `runtime` is the tokio runtime the
    /// connection was opened on: each call of the driver runs there to completion with
    /// `Handle::block_on`, so call the driver from a thread that is not running async code
    /// (`spawn_blocking`, a plain thread); on a current-thread runtime, another thread must
    /// be inside its `block_on` meanwhile, as tokio requires.
    ///
    /// `options` is a URL's query string with only `x-migrations-table` and `x-no-lock`;
    /// anything else is refused, including `x-statement-timeout` (a deadline of a
    /// connection migrate opens).
    ///
    /// The lock is golang-migrate's `GET_LOCK` name for `DATABASE()` and the table, so a
    /// migrator on a URL and one on a connection exclude each other. On the session migrate
    /// sets the isolation level of its own transactions only (`SET TRANSACTION`, which
    /// applies to the next one) and, for `drop`, `foreign_key_checks` off, then back to the
    /// session's value; what a migration file sets stays, as on golang-migrate's single
    /// connection.
    pub fn from_conn(conn: Conn, runtime: tokio::runtime::Handle, options: &str) -> Result<Mysql> {
        let url =
            super::connection_options("mysql", options, &["x-migrations-table", "x-no-lock"])?;
        let opts = Options::parse(&url)?;
        let mut session = Session {
            conn: Some(conn),
            rt: Runtime::Shared(runtime),
            io_timeout: None,
        };
        let sql = "SELECT DATABASE()";
        let db: Option<Option<String>> = session
            .call(async |c| c.query_first(sql).await)
            .map_err(|e| db_err(&e, sql))?;
        Ok(Mysql::on_session(
            session,
            opts,
            &db.flatten().unwrap_or_default(),
        ))
    }

    fn on_session(session: Session, opts: Options, db: &str) -> Mysql {
        let lock_name = advisory_lock_id(&format!("{db}:{}", opts.table), &[]).to_string();
        Mysql {
            session,
            table_sql: quote(&opts.table),
            opts,
            lock_name,
            locked: false,
            side_charset: None,
        }
    }

    /// The connection back, with migrate's `GET_LOCK` released; `None` if it was closed
    /// (it broke, or a call ran past its deadline).
    pub fn into_conn(mut self) -> Option<Conn> {
        let _ = self.unlock();
        self.session.conn.take()
    }

    /// What the side tables' text columns store, read once from the journal's `file`
    /// column: tables created before they declared utf8mb4 have the database's default
    /// character set. Missing tables will be created with utf8mb4.
    fn side_repertoire(&mut self) -> Repertoire {
        if let Some(r) = self.side_charset {
            return r;
        }
        let (_, journal) = super::names::table_names(self);
        let sql = "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'file'";
        let r = match self.session.call(async |c| {
            c.exec_first::<Option<String>, _, _>(sql, (journal.as_str(),))
                .await
        }) {
            Ok(None) => Repertoire::Unicode,
            Ok(Some(cs)) => repertoire(cs.as_deref().unwrap_or("")),
            Err(_) => Repertoire::Ascii,
        };
        self.side_charset = Some(r);
        r
    }

    /// The `GET_LOCK` name golang-migrate uses for this database and table.
    pub fn lock_name(&self) -> &str {
        &self.lock_name
    }

    /// Runs a (multi-statement) text query, surfacing an error in any statement.
    fn run(&mut self, sql: &str) -> std::result::Result<(), Fail> {
        self.session
            .call(async |c| c.query_iter(sql).await?.drop_result().await)
    }

    /// Runs a statement without parameters or results.
    fn exec(&mut self, sql: &str) -> Result<()> {
        self.session
            .call(async |c| c.query_drop(sql).await)
            .map_err(|e| db_err(&e, sql))
    }
}

impl Driver for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn table(&self) -> &str {
        &self.opts.table
    }

    fn version_table_exists(&mut self) -> Result<bool> {
        let sql = format!("SHOW TABLES LIKE {}", literal(&self.opts.table));
        let rows: Vec<mysql_async::Row> = self
            .session
            .call(async |c| c.query(sql.as_str()).await)
            .map_err(|e| db_err(&e, &sql))?;
        Ok(!rows.is_empty())
    }

    fn ensure_version_table(&mut self) -> Result<()> {
        if self.version_table_exists()? {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE {} (version bigint not null primary key, dirty boolean not null)",
            self.table_sql
        );
        match self.run(&sql) {
            Ok(()) => Ok(()),
            // Created meanwhile by a concurrent process (ER_TABLE_EXISTS_ERROR).
            Err(e) if code(&e) == Some(1050) => Ok(()),
            Err(e) => Err(db_err(&e, sql)),
        }
    }

    fn version(&mut self) -> Result<DbVersion> {
        let sql = format!("SELECT version, dirty FROM {} LIMIT 1", self.table_sql);
        match self
            .session
            .call(async |c| c.query_first::<(i64, i64), _>(sql.as_str()).await)
        {
            Ok(None) => Ok(DbVersion::Nil),
            Ok(Some((v, d))) => Ok(DbVersion::from_row(Some((v, d != 0)))),
            // ER_NO_SUCH_TABLE
            Err(e) if code(&e) == Some(1146) => Ok(DbVersion::Nil),
            Err(e) => Err(db_err(&e, sql)),
        }
    }

    fn write_version(&mut self, version: Option<u64>, dirty: bool) -> Result<()> {
        let v = to_stored(version)?;
        let del = format!("DELETE FROM {} LIMIT 1", self.table_sql);
        self.exec(&del)?;
        if v >= 0 || (v == -1 && dirty) {
            let ins = format!(
                "INSERT INTO {} (version, dirty) VALUES (?, ?)",
                self.table_sql
            );
            self.session
                .call(async |c| c.exec_drop(ins.as_str(), (v, dirty)).await)
                .map_err(|e| db_err(&e, &ins))?;
        }
        Ok(())
    }

    fn lock(&mut self, timeout: Duration) -> Result<()> {
        if self.opts.no_lock {
            return Ok(());
        }
        if self.locked {
            return Err(Error::CantAcquireLock);
        }
        let sql = "SELECT GET_LOCK(?, 0)";
        let name = self.lock_name.clone();
        let lock = format!("GET_LOCK('{name}')");
        let session = std::cell::RefCell::new(&mut self.session);
        super::lockwait::wait(
            &lock,
            timeout,
            || {
                let got: Option<Option<i64>> = session
                    .borrow_mut()
                    .call(async |c| c.exec_first(sql, (name.as_str(),)).await)
                    .map_err(|e| wrapped(&e, "try lock failed", "SELECT GET_LOCK(?, 10)"))?;
                Ok(got.flatten() == Some(1))
            },
            || lock_holder(&mut session.borrow_mut(), &name),
            || Error::LockTimeout { lock: lock.clone() },
        )?;
        self.locked = true;
        Ok(())
    }

    fn unlock(&mut self) -> Result<()> {
        if !self.locked {
            return Ok(());
        }
        let sql = "SELECT RELEASE_LOCK(?)";
        let name = self.lock_name.as_str();
        self.session
            .call(async |c| c.exec_drop(sql, (name,)).await)
            .map_err(|e| db_err(&e, sql))?;
        self.locked = false;
        Ok(())
    }

    fn transactional(&self) -> bool {
        false
    }

    fn begin(&mut self) -> Result<()> {
        // golang-migrate's SetVersion runs at SERIALIZABLE.
        self.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")?;
        self.exec("START TRANSACTION")
    }

    fn commit(&mut self) -> Result<()> {
        self.session
            .call(async |c| c.query_drop("COMMIT").await)
            .map_err(|e| wrapped(&e, "transaction commit failed", ""))
    }

    fn rollback(&mut self) -> Result<()> {
        self.exec("ROLLBACK")
    }

    fn run_body(&mut self, _file: &str, body: &str, _in_tx: bool) -> Result<()> {
        if body.trim().is_empty() {
            return Ok(());
        }
        let timeout = self.opts.statement_timeout;
        self.session
            .call_within(timeout, async |c| {
                c.query_iter(body).await?.drop_result().await
            })
            .map_err(|e| wrapped(&e, "migration failed", body))
    }

    fn statements<'a>(&self, body: &'a str) -> Vec<&'a str> {
        super::split::mysql_statements(body)
    }

    fn run_body_outside(&mut self, _file: &str, body: &str) -> std::result::Result<(), Halt> {
        if body.trim().is_empty() {
            return Ok(());
        }
        // The body runs as golang-migrate runs it, one multi-statement query; the server
        // answers statement by statement, so the answers read before the error count the
        // statements that completed.
        let mut done = 0usize;
        let timeout = self.opts.statement_timeout;
        let out = self
            .session
            .call_within(timeout, async |c| run_counting(c, body, &mut done).await);
        out.map_err(|e| Halt {
            applied: Some(done),
            error: wrapped(&e, "migration failed", body),
        })
    }

    fn drop_all(&mut self) -> Result<()> {
        let sql = "SHOW TABLES LIKE '%'";
        let tables: Vec<String> = self
            .session
            .call(async |c| c.query(sql).await)
            .map_err(|e| db_err(&e, sql))?;
        if tables.is_empty() {
            return Ok(());
        }
        // The session's own setting comes back afterwards (a connection migrate did not
        // open may have had it off).
        let was = "SELECT @@SESSION.foreign_key_checks";
        let was_on: Option<i64> = self
            .session
            .call(async |c| c.query_first(was).await)
            .map_err(|e| db_err(&e, was))?;
        self.exec("SET foreign_key_checks = 0")?;
        let mut res = Ok(());
        for t in tables {
            if let Err(e) = self.exec(&format!("DROP TABLE IF EXISTS {}", quote(&t))) {
                res = Err(e);
                break;
            }
        }
        self.exec(if was_on == Some(0) {
            "SET foreign_key_checks = 0"
        } else {
            "SET foreign_key_checks = 1"
        })?;
        res
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let p: Vec<mysql_async::Value> = params.iter().map(to_my).collect();
        self.session
            .call(async |c| {
                if p.is_empty() {
                    let r = c.query_iter(sql).await?;
                    let n = r.affected_rows();
                    r.drop_result().await.map(|()| n)
                } else {
                    let r = c.exec_iter(sql, p).await?;
                    let n = r.affected_rows();
                    r.drop_result().await.map(|()| n)
                }
            })
            .map_err(|e| db_err(&e, sql))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let p: Vec<mysql_async::Value> = params.iter().map(to_my).collect();
        // The binary protocol, so integers come back as integers.
        let rows: Vec<mysql_async::Row> = self
            .session
            .call(async |c| c.exec(sql, p).await)
            .map_err(|e| db_err(&e, sql))?;
        Ok(rows
            .into_iter()
            .map(|r| r.unwrap().into_iter().map(from_my).collect())
            .collect())
    }

    fn table_exists(&mut self, name: &str) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?";
        let n: Option<i64> = self
            .session
            .call(async |c| c.exec_first(sql, (name,)).await)
            .map_err(|e| db_err(&e, sql))?;
        Ok(n.unwrap_or(0) > 0)
    }

    fn quote_ident(&self, name: &str) -> String {
        quote(name)
    }

    fn placeholder(&self, _n: usize) -> String {
        "?".into()
    }

    fn identifier_limit(&self) -> Option<IdentLimit> {
        Some(IdentLimit::Chars(MAX_IDENTIFIER_CHARS))
    }

    fn fit_text(&mut self, s: &str, width: Option<usize>) -> String {
        let rep = self.side_repertoire();
        fit_text(s, rep, width)
    }
}

// Dropping the driver closes the connection ([`Session`]'s `Drop`), which releases its
// `GET_LOCK`; `into_conn` releases it for a connection that lives on.

#[cfg(test)]
mod tests {
    use super::*;

    fn dsn(u: &str) -> Result<Dsn> {
        Dsn::parse(&DatabaseUrl::parse(u)?)
    }

    /// Every `tls=` mode: whether the certificate is verified, and against which roots:
    /// `x-tls-ca` alone, else the system's store alone, else the bundled roots.
    #[test]
    fn tls_modes_name_the_roots_they_verify_against() -> Result<()> {
        let base = "mysql://root:@tcp(127.0.0.1:3306)/test";
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls/ca.pem");
        let ca_certs = roots::pem_certs("x-tls-ca", ca)?;
        assert_eq!(ca_certs.len(), 1);
        let system = roots::system_or_bundled();
        let file = Source::File {
            param: "x-tls-ca",
            path: ca.to_string(),
        };
        for (params, want) in [
            ("".to_string(), None),
            ("?tls=false".to_string(), None),
            ("?tls=skip-verify".to_string(), None),
            ("?tls=preferred".to_string(), None),
            (
                "?tls=custom&x-tls-insecure-skip-verify=true".to_string(),
                None,
            ),
            (
                format!("?tls=custom&x-tls-insecure-skip-verify=true&x-tls-ca={ca}"),
                None,
            ),
            (format!("?tls=custom&x-tls-ca={ca}"), Some(&file)),
            ("?tls=true".to_string(), Some(&system.source)),
            // The x-tls-* options belong to a custom configuration only: with a bool they
            // are ignored, as golang-migrate ignores them.
            (format!("?tls=true&x-tls-ca={ca}"), Some(&system.source)),
            (
                "?tls=1&x-tls-insecure-skip-verify=true".to_string(),
                Some(&system.source),
            ),
            ("?tls=custom".to_string(), Some(&system.source)),
        ] {
            let url = DatabaseUrl::parse(&format!("{base}{params}"))?;
            let mode = dsn(&format!("{base}{params}"))?
                .params
                .iter()
                .find(|(k, _)| k == "tls")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let (ssl, roots) = tls_opts(&url, &mode)?;
            assert_eq!(
                ssl.is_some(),
                !matches!(mode.as_str(), "" | "false"),
                "{params}"
            );
            assert_eq!(roots.as_ref(), want, "{params}");
            let Some(ssl) = ssl else { continue };
            assert_eq!(ssl.accept_invalid_certs(), want.is_none(), "{params}");
            assert_eq!(ssl.skip_domain_validation(), want.is_none(), "{params}");
            if want.is_none() {
                continue;
            }
            // Exactly the chosen certificates, and the client's own bundled roots only
            // when no store was found.
            let want_certs = match want {
                Some(Source::File { .. }) => ca_certs.clone(),
                _ => system.certs.clone(),
            };
            let expected = SslOpts::default()
                .with_root_certs(want_certs.iter().map(|c| c.to_vec().into()).collect());
            assert_eq!(ssl.root_certs(), expected.root_certs(), "{params}");
            assert_eq!(
                ssl.disable_built_in_roots(),
                !want_certs.is_empty(),
                "{params}"
            );
        }
        Ok(())
    }

    /// The shorter of the statement's and the I/O deadline applies, with its own text.
    #[test]
    fn the_shorter_deadline_applies() {
        let ms = |n| Some(Duration::from_millis(n));
        let ctx = "context deadline exceeded";
        let io = "invalid connection";
        for (statement, io_timeout, want) in [
            (None, None, None),
            (ms(5), None, Some((5, ctx))),
            (None, ms(7), Some((7, io))),
            (ms(5), ms(7), Some((5, ctx))),
            (ms(8), ms(7), Some((7, io))),
            (ms(7), ms(7), Some((7, ctx))),
        ] {
            let got = deadline(statement, io_timeout).map(|d| (d.after, d.text));
            let want = want.map(|(n, t)| (Duration::from_millis(n), t));
            assert_eq!(got, want, "{statement:?} {io_timeout:?}");
        }
    }

    #[test]
    fn tcp_addresses() -> Result<()> {
        assert_eq!(host_port("db:3307")?, ("db".to_string(), 3307));
        assert_eq!(host_port("db")?, ("db".to_string(), 3306));
        assert_eq!(host_port("[::1]:3307")?, ("::1".to_string(), 3307));
        assert_eq!(host_port("[::1]")?, ("::1".to_string(), 3306));
        let e = host_port("db:x").expect_err("bad port").to_string();
        assert_eq!(e, "invalid port in address db:x");
        Ok(())
    }

    #[test]
    fn parses_go_sql_driver_dsn() -> Result<()> {
        let d = dsn("mysql://root:p%40ss@tcp(127.0.0.1:3306)/test?x-no-lock=true&parseTime=true")?;
        assert_eq!(d.user.as_deref(), Some("root"));
        assert_eq!(d.password.as_deref(), Some("p@ss"));
        assert_eq!((d.net.as_str(), d.addr.as_str()), ("tcp", "127.0.0.1:3306"));
        assert_eq!(d.db, "test");
        assert_eq!(d.params, vec![("parseTime".into(), "true".into())]);
        let d = dsn("mysql://u@unix(/run/mysqld/mysqld.sock)/db")?;
        assert_eq!(
            (d.net.as_str(), d.addr.as_str()),
            ("unix", "/run/mysqld/mysqld.sock")
        );
        let d = dsn("mysql:///db")?;
        assert_eq!((d.user, d.addr.as_str()), (None, "127.0.0.1:3306"));
        Ok(())
    }

    #[test]
    fn custom_tls_is_any_tls_value_but_a_bool_or_skip_verify() {
        for v in ["custom", "preferred", "yes", "t", "on"] {
            assert!(is_custom_tls(v), "{v}");
        }
        for v in [
            "",
            "1",
            "true",
            "TRUE",
            "True",
            "0",
            "false",
            "FALSE",
            "False",
            "skip-verify",
            "SKIP-VERIFY",
        ] {
            assert!(!is_custom_tls(v), "{v}");
        }
    }

    #[test]
    fn pem_blocks_like_go() {
        let ca = include_str!("../../testdata/tls/ca.pem");
        let (any, certs) = pem_blocks(ca, |k| k == "CERTIFICATE");
        assert_eq!((any, certs.len()), (1, 1));
        assert_eq!(pem_blocks("not pem", |_| true), (0, vec![]));
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_blocks(bad, |_| true), (1, vec![]));
        assert_eq!(base64_decode("TWFu"), Some(b"Man".to_vec()));
        assert_eq!(base64_decode("TWE="), Some(b"Ma".to_vec()));
    }

    #[test]
    fn go_path_errors() {
        let e = std::fs::read("/nonexistent/x.pem").expect_err("missing");
        assert_eq!(
            go_path_error("/nonexistent/x.pem", &e),
            "open /nonexistent/x.pem: no such file or directory"
        );
    }

    #[test]
    fn options() -> Result<()> {
        let o = Options::parse(&DatabaseUrl::parse(
            "mysql://u@tcp(h:1)/d?x-migrations-table=m&x-no-lock=1&x-statement-timeout=500",
        )?)?;
        assert_eq!(o.table, "m");
        assert!(o.no_lock);
        assert_eq!(o.statement_timeout, Some(Duration::from_millis(500)));
        assert_eq!(dsn_timeout("1m30s")?, Some(Duration::from_secs(90)));
        assert_eq!(dsn_timeout("1.5s")?, Some(Duration::from_millis(1500)));
        assert_eq!(
            dsn_timeout("1h2m3.000000001s")?,
            Some(Duration::new(3723, 1))
        );
        assert_eq!(dsn_timeout("0")?, None);
        assert_eq!(dsn_timeout("-1s")?, None);
        assert_eq!(
            dsn_timeout("5x").err().map(|e| e.to_string()).as_deref(),
            Some(r#"time: unknown unit "x" in duration "5x""#)
        );
        Ok(())
    }
}
