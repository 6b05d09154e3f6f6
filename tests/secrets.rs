//! The secret property: a secret written in any position of a database URL that can hold
//! one (the user info's password, raw or escaped, with reserved characters, followed by an
//! error or not; every driver's secret parameters in any spelling, repeated) appears in no
//! output (stdout, stderr, `-verbose`), no file (names and contents, the SQLite database and
//! its backups included) and no table, whatever command runs on it and however it fails.
//!
//! Cases are generated from a seed (`MIGRATE_SECRET_SEED`, default fixed, printed on
//! failure); `MIGRATE_SECRET_CASES` (default 1) is how many secrets each position gets.
//! Each secret is built from runs of 6 random letters/digits joined by random characters,
//! and the check is that no such run appears anywhere: that covers every form a secret can
//! be printed in (as written, escaped, decoded, quoted) and every piece a parser may cut it
//! into.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{fresh, Server, TestDb};
use migrate::driver::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick(&mut self, chars: &str) -> char {
        let c: Vec<char> = chars.chars().collect();
        c[self.below(c.len())]
    }
}

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
/// Characters a user info password may hold unescaped (everything a URL parser cuts at).
const RAW_USERINFO: &str = "@:/?#!$&'()*+,;=[]%~-._ ";
/// Characters a query value may hold unescaped and still be one value.
const RAW_QUERY: &str = "@:/?!$'()*,=~-._";

/// A secret: 2 or 3 runs of 6 letters/digits, joined by characters from `joiners`.
struct Secret {
    text: String,
    runs: Vec<String>,
}

fn secret(rng: &mut Rng, joiners: &str) -> Secret {
    let n = 2 + rng.below(2);
    let mut text = String::new();
    let mut runs = Vec::new();
    for i in 0..n {
        if i > 0 {
            text.push(rng.pick(joiners));
        }
        let run: String = (0..6).map(|_| rng.pick(ALNUM)).collect();
        text.push_str(&run);
        runs.push(run);
    }
    Secret { text, runs }
}

/// Every byte escaped except letters and digits.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A URL template: `{S}` is the secret as written (raw), `{E}` escaped.
struct Position {
    name: &'static str,
    template: String,
    raw: bool,
}

fn pos(name: &'static str, template: impl Into<String>) -> Position {
    let template = template.into();
    Position {
        name,
        raw: template.contains("{S}"),
        template,
    }
}

/// The secret parameters of each driver, in the spellings drivers and Go accept.
fn query_positions(base: &str, sep: char, keys: &[&str]) -> Vec<Position> {
    let mut out = Vec::new();
    for k in keys {
        out.push(pos("param", format!("{base}{sep}{k}={{E}}")));
        out.push(pos("param raw", format!("{base}{sep}{k}={{S}}")));
        out.push(pos(
            "param upper",
            format!("{base}{sep}{}={{E}}", k.to_uppercase()),
        ));
        out.push(pos(
            "param key escaped",
            format!("{base}{sep}{}={{E}}", escape(k)),
        ));
        out.push(pos(
            "param repeated",
            format!("{base}{sep}{k}=first&{k}={{E}}&{k}={{E}}"),
        ));
        out.push(pos(
            "param then error",
            format!("{base}{sep}{k}={{E}}&a=%zz"),
        ));
        out.push(pos(
            "param ; separated",
            format!("{base}{sep}a=1;{k}={{E}}"),
        ));
    }
    out
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run migrate");
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`: its path and its contents.
fn files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            let bytes = std::fs::read(&p).unwrap_or_default();
            out.push((p, bytes));
        }
    }
}

/// Every table name and text value of the test database.
fn tables(db: &TestDb) -> String {
    let mut d = db.driver();
    let list = match db.server {
        Server::Postgres => "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
        Server::Mysql => "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
    };
    let mut out = String::new();
    let names = d.query(list, &[]).expect("list tables");
    for r in names {
        let (Some(Value::Text(s)), Some(Value::Text(t))) = (r.first(), r.get(1)) else {
            continue;
        };
        out.push_str(&format!("table {s}.{t}\n"));
        let q = match db.server {
            Server::Postgres => format!("SELECT * FROM \"{s}\".\"{t}\""),
            Server::Mysql => format!("SELECT * FROM `{s}`.`{t}`"),
        };
        for row in d.query(&q, &[]).expect("read table") {
            for v in row {
                if let Value::Text(s) = v {
                    out.push_str(&s);
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn assert_hidden(secret: &Secret, url: &str, what: &str, text: &str) {
    for run in &secret.runs {
        assert!(
            !text.contains(run.as_str()),
            "secret {:?} (piece {run:?}) of {url:?} shown in {what}:\n{text}",
            secret.text
        );
    }
}

fn seed() -> u64 {
    std::env::var("MIGRATE_SECRET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EC2_E7ED)
}

fn cases() -> usize {
    std::env::var("MIGRATE_SECRET_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Migrations: 1 applies, 2 fails (so `up` fails with the driver's error).
fn migrations(dir: &Path) {
    let m = dir.join("m");
    std::fs::create_dir_all(&m).expect("mkdir");
    std::fs::write(m.join("1_one.up.sql"), "CREATE TABLE one (a INT);").expect("write");
    std::fs::write(m.join("1_one.down.sql"), "DROP TABLE one;").expect("write");
    std::fs::write(
        m.join("2_two.up.sql"),
        "CREATE TABLE two (a INT); SELEC broken;",
    )
    .expect("write");
    std::fs::write(m.join("2_two.down.sql"), "DROP TABLE two;").expect("write");
}

/// Every command that opens the database, in an order that makes each one do something.
const COMMANDS: &[&[&str]] = &[
    &["version"],
    &["up"],
    &["version"],
    &["force", "1"],
    &["-verbose", "up", "1"],
    &["goto", "1"],
    &["down", "1"],
    &["down"],
    &["goto", "7"],
    &["status"],
    &["status", "-format", "json"],
    &["history"],
    &["history", "-format", "json"],
    &["validate"],
    &["validate", "-format", "json"],
    &["-verbose", "drop", "-f"],
    &["-verbose", "up"],
    &["-db-status"],
    &["-migrate-db"],
    &["-force-db", "1"],
    &["-revert-db"],
    &["nosuchcommand"],
];

const SQLITE_COMMANDS: &[&[&str]] = &[
    &["force", "1"],
    &["backup"],
    &["backups"],
    &["restore"],
    &["restore", "no-such-backup"],
    &["rehearse"],
    &["repair"],
];

fn check_case(dir: &Path, url: &str, secret: &Secret, commands: &[&[&str]], db: Option<&TestDb>) {
    let m = dir.join("m").display().to_string();
    for cmd in commands {
        let mut args = vec!["-lock-timeout", "2", "-path", &m, "-database", url];
        args.extend_from_slice(cmd);
        let out = run(dir, &args);
        assert_hidden(secret, url, &format!("the output of {cmd:?}"), &out);
        // The same through $DATABASE_URL.
        if cmd == &["version"] {
            let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
                .args(["-path", &m, "version"])
                .current_dir(dir)
                .env("DATABASE_URL", url)
                .stdin(Stdio::null())
                .output()
                .expect("run migrate");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_hidden(secret, url, "the output with $DATABASE_URL", &text);
        }
    }
    let mut all = Vec::new();
    files(dir, &mut all);
    for (p, bytes) in all {
        assert_hidden(secret, url, "a file name", &p.display().to_string());
        assert_hidden(
            secret,
            url,
            &format!("file {}", p.display()),
            &String::from_utf8_lossy(&bytes),
        );
    }
    if let Some(db) = db {
        assert_hidden(secret, url, "a table", &tables(db));
    }
}

fn fill(template: &str, s: &Secret) -> String {
    template
        .replace("{S}", &s.text)
        .replace("{E}", &escape(&s.text))
}

#[test]
fn secrets_sqlite_never_shown() {
    let mut rng = Rng(seed());
    let mut positions = Vec::new();
    {
        let base = "sqlite3://db.sqlite";
        positions.extend(query_positions(base, '?', &["_auth_pass", "_auth_salt"]));
        positions.push(pos(
            "mattn auth",
            format!("{base}?_auth&_auth_user=admin&_auth_pass={{E}}&_auth_salt={{E}}&_auth_crypt=ssha256"),
        ));
        positions.push(pos(
            "after x- params",
            format!("{base}?x-no-tx-wrap=true&_auth_pass={{E}}"),
        ));
        positions.push(pos(
            "bad x- param",
            format!("{base}?_auth_pass={{E}}&x-no-tx-wrap=maybe"),
        ));
    }
    let commands: Vec<&[&str]> = COMMANDS.iter().chain(SQLITE_COMMANDS).copied().collect();
    for (i, p) in positions.iter().enumerate() {
        for _ in 0..cases() {
            let s = secret(&mut rng, if p.raw { RAW_QUERY } else { RAW_USERINFO });
            let url = fill(&p.template, &s);
            // Every other case on the `sqlite://` scheme.
            let url = if i % 2 == 1 {
                url.replacen("sqlite3://", "sqlite://", 1)
            } else {
                url
            };
            let dir = tempfile::tempdir().expect("tempdir");
            migrations(dir.path());
            check_case(dir.path(), &url, &s, &commands, None);
            // A corrupt database: the integrity-failure hint names the URL and a backup.
            let db = dir.path().join("db.sqlite");
            if db.exists() {
                run(dir.path(), &["-path", "m", "-database", &url, "backup"]);
                let mut bytes = std::fs::read(&db).expect("read");
                for b in bytes.iter_mut().skip(100) {
                    *b ^= 0x5A;
                }
                std::fs::write(&db, &bytes).expect("write");
                check_case(
                    dir.path(),
                    &url,
                    &s,
                    &[&["up"], &["force", "1"], &["backups"]],
                    None,
                );
            }
            eprintln!("{}: {url}", p.name);
        }
    }
}

/// A file that exists (read as a certificate, it is not one).
fn existing_file() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_string()
}

/// `url` of the test database with the user info replaced by `userinfo`.
fn with_userinfo(url: &str, userinfo: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let host = rest.find('@').map_or(rest, |i| &rest[i + 1..]);
    format!("{}{userinfo}@{host}", &url[..start])
}

fn server_positions(db: &TestDb, user: &str, keys: &[&str]) -> Vec<Position> {
    let url = &db.url;
    let mut out = vec![
        pos("password", with_userinfo(url, &format!("{user}:{{E}}"))),
        pos("password raw", with_userinfo(url, &format!("{user}:{{S}}"))),
        pos(
            "password raw, error later",
            format!(
                "{}&a=%zz",
                with_userinfo(&db.url_with("b=1"), &format!("{user}:{{S}}"))
            ),
        ),
        pos(
            "client key of a custom TLS configuration",
            db.url_with(&format!(
                "tls=custom&x-tls-cert={}&x-tls-key={{E}}",
                existing_file()
            )),
        ),
        pos(
            "client key file",
            db.url_with(&format!("sslcert={}&sslkey={{E}}", existing_file()))
                .replace("sslmode=disable", "sslmode=require"),
        ),
        pos(
            "password raw, bad option later",
            db.url_with("x-statement-timeout=soon")
                .replace(&format!("{user}@"), &format!("{user}:{{S}}@"))
                .replace(&format!("{user}:@"), &format!("{user}:{{S}}@")),
        ),
    ];
    let sep = if url.contains('?') { '&' } else { '?' };
    out.extend(query_positions(url, sep, keys));
    out
}

fn server_case(server: Server, user: &str, keys: &[&str], schemes: &[&str]) {
    let Some(db) = fresh(server) else {
        return;
    };
    let mut rng = Rng(seed() ^ server as u64);
    for (i, p) in server_positions(&db, user, keys).iter().enumerate() {
        for _ in 0..cases() {
            let in_query = p.name.starts_with("param");
            let s = secret(&mut rng, if in_query { RAW_QUERY } else { RAW_USERINFO });
            let mut url = fill(&p.template, &s);
            // Each case on another of the driver's schemes.
            let scheme = schemes[i % schemes.len()];
            if let Some(c) = url.find(':') {
                url = format!("{scheme}{}", &url[c..]);
            }
            let dir = tempfile::tempdir().expect("tempdir");
            migrations(dir.path());
            check_case(dir.path(), &url, &s, COMMANDS, Some(&db));
            eprintln!("{}: {url}", p.name);
        }
    }
}

#[test]
fn secrets_postgres_never_shown() {
    server_case(
        Server::Postgres,
        "postgres",
        &["password", "sslpassword", "passfile"],
        &["postgres", "postgresql", "pgx", "pgx5"],
    );
}

#[test]
fn secrets_mysql_never_shown() {
    // Not `password`: go-sql-driver sends unknown parameters as `SET name=value`, and a
    // session `SET password` would change the test server's root password.
    server_case(
        Server::Mysql,
        "root",
        &["sslpassword", "x-tls-key"],
        &["mysql"],
    );
}
