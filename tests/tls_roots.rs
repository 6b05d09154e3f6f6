//! Which certificates the server drivers trust, through the real binary (the servers'
//! certificate, Debian's snakeoil, names `localhost`). PostgreSQL: `sslrootcert` when given,
//! else the system's store (`SSL_CERT_FILE` / `SSL_CERT_DIR` stand for it here), else the
//! bundled public roots. MySQL: the same, with `x-tls-ca` for `sslrootcert`. A refusal
//! names the roots it checked against.

mod common;
#[path = "common/tls_mariadb.rs"]
mod tls_mariadb;

use std::process::{Command, Stdio};

use common::{fresh, Server, TestDb};
use migrate::driver::Value;

/// Where the system's store is in one case.
#[derive(Debug, Clone, Copy)]
enum System {
    /// The server's own certificate is the whole store.
    ServerCert,
    /// Public roots only (Debian's bundle), which did not sign the server's certificate.
    PublicRoots,
    /// No store at all, as in an image `FROM scratch`.
    None,
}

struct Case {
    system: System,
    sslmode: &'static str,
    /// `Some(true)`: the server's certificate as `sslrootcert`; `Some(false)`: the public
    /// bundle as `sslrootcert`.
    root_cert: Option<bool>,
    /// `None`: the connection succeeds; else the refusal names these roots.
    refused_by: Option<&'static str>,
}

const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn setting(db: &TestDb, name: &str) -> String {
    db.driver()
        .query(&format!("SHOW {name}"), &[])
        .ok()
        .and_then(|rows| rows.into_iter().next())
        .and_then(|r| r.into_iter().next())
        .and_then(Value::into_string)
        .unwrap_or_default()
}

#[test]
fn postgres_trusts_sslrootcert_then_the_system_store_then_the_bundled_roots() {
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let cert = setting(&db, "ssl_cert_file");
    if setting(&db, "ssl") != "on"
        || std::fs::metadata(&cert).is_err()
        || std::fs::metadata(BUNDLE).is_err()
        || !db.url.contains("@127.0.0.1:")
    {
        let msg = format!(
            "\n*** SKIPPED postgres_trusts_sslrootcert_then_the_system_store_then_the_bundled_roots: needs ssl = on, the server's certificate {cert:?} and {BUNDLE} readable here, the server at 127.0.0.1 ***\n"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/conformance");
    for case in &postgres_cases() {
        postgres_case(&db, &cert, &dir, case);
    }
}

/// Every combination of the system's store, `sslmode` and `sslrootcert`, with what libpq
/// does: `require` without a root certificate checks nothing; otherwise the chain is
/// checked against sslrootcert when given, else the system's store, else the bundled roots
/// (none of which signed the server).
fn postgres_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for system in [System::ServerCert, System::PublicRoots, System::None] {
        for sslmode in ["require", "verify-ca", "verify-full"] {
            for root_cert in [None, Some(true), Some(false)] {
                let refused_by = match (sslmode, root_cert, system) {
                    ("require", None, _) => None,
                    (_, Some(true), _) => None,
                    (_, Some(false), _) => Some("sslrootcert "),
                    (_, None, System::ServerCert) => None,
                    (_, None, System::PublicRoots) => Some("the system's certificate store ("),
                    (_, None, System::None) => Some("the bundled public roots (webpki-roots; no system certificate store was found)"),
                };
                cases.push(Case {
                    system,
                    sslmode,
                    root_cert,
                    refused_by,
                });
            }
        }
    }
    cases
}

/// `migrate up` over TLS to the local PostgreSQL by the name `localhost` in one case.
fn postgres_case(db: &TestDb, cert: &str, dir: &std::path::Path, case: &Case) {
    let mut params = format!("sslmode={}", case.sslmode);
    match case.root_cert {
        Some(true) => params.push_str(&format!("&sslrootcert={cert}")),
        Some(false) => params.push_str(&format!("&sslrootcert={BUNDLE}")),
        None => {}
    }
    let url = db
        .url
        .replace("@127.0.0.1:", "@localhost:")
        .replace("sslmode=disable", &params);
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrate"));
    c.env_remove("DATABASE_URL")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .args(["-path"])
        .arg(dir)
        .args(["-database", &url, "up"])
        .stdin(Stdio::null());
    match case.system {
        System::ServerCert => c
            .env("SSL_CERT_FILE", cert)
            .env("SSL_CERT_DIR", "/nonexistent"),
        System::PublicRoots => c
            .env("SSL_CERT_FILE", BUNDLE)
            .env("SSL_CERT_DIR", "/nonexistent"),
        System::None => c
            .env("SSL_CERT_FILE", "/nonexistent/cert.pem")
            .env("SSL_CERT_DIR", "/nonexistent"),
    };
    let out = c.output().expect("run migrate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let what = format!(
        "system store {:?}, {params}: exit {:?}, {stderr}",
        case.system,
        out.status.code()
    );
    match case.refused_by {
        None => assert_eq!(out.status.code(), Some(0), "{what}"),
        Some(roots) => {
            assert_eq!(out.status.code(), Some(1), "{what}");
            assert!(stderr.contains("invalid peer certificate"), "{what}");
            assert!(
                stderr.contains(&format!("; verified against {roots}")),
                "{what}"
            );
        }
    }
}

/// `migrate -database URL version` with `SSL_CERT_FILE` set (and no `SSL_CERT_DIR`):
/// (exit code, stderr).
fn version_with_system_file(url: &str, system: &str) -> (Option<i32>, String) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/conformance");
    let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .env_remove("DATABASE_URL")
        .env("SSL_CERT_DIR", "/nonexistent")
        .env("SSL_CERT_FILE", system)
        .arg("-path")
        .arg(&dir)
        .args(["-database", url, "version"])
        .stdin(Stdio::null())
        .output()
        .expect("run migrate");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr)
}

#[test]
fn mysql_trusts_x_tls_ca_else_the_system_store_else_the_bundled_roots() {
    let server = match tls_mariadb::TlsMariaDb::start() {
        Ok(s) => s,
        Err(why) => {
            let msg = format!(
                "\n*** SKIPPED mysql_trusts_x_tls_ca_else_the_system_store_else_the_bundled_roots: no MariaDB with TLS of its own: {why} ***\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            return;
        }
    };
    let cert = server.cert.display().to_string();
    let none = "/nonexistent/cert.pem";
    // (tls parameters, system bundle file, refused by the roots named so)
    let cases: &[(String, &str, Option<String>)] = &[
        ("tls=true".into(), &cert, None),
        (
            "tls=true".into(),
            BUNDLE,
            Some("the system's certificate store (".into()),
        ),
        (
            "tls=true".into(),
            none,
            Some("the bundled public roots (webpki-roots; no system certificate store".into()),
        ),
        (format!("tls=custom&x-tls-ca={cert}"), BUNDLE, None),
        (format!("tls=custom&x-tls-ca={cert}"), none, None),
        // x-tls-ca alone: the system's store, which signed the server's certificate here,
        // is not added to it.
        (
            format!("tls=custom&x-tls-ca={BUNDLE}"),
            &cert,
            Some(format!("x-tls-ca {BUNDLE}\n")),
        ),
        ("tls=skip-verify".into(), BUNDLE, None),
        // A custom configuration (and `preferred`, a custom name to golang-migrate) needs a
        // readable x-tls-ca; with skip-verify any certificate file does.
        (format!("tls=preferred&x-tls-ca={BUNDLE}"), BUNDLE, None),
        (
            format!("tls=custom&x-tls-insecure-skip-verify=true&x-tls-ca={BUNDLE}"),
            BUNDLE,
            None,
        ),
    ];
    // golang-migrate refuses a custom configuration without x-tls-ca before connecting.
    let (code, stderr) = version_with_system_file(&server.url("mysql", "tls=custom"), &cert);
    assert_eq!(
        (code, stderr.as_str()),
        (
            Some(1),
            "error: failed to open database: open : no such file or directory\n"
        )
    );
    for (params, system, refused_by) in cases {
        // The database `mysql` exists on every server; `version` changes nothing in it.
        let url = server.url("mysql", params);
        let (code, stderr) = version_with_system_file(&url, system);
        let what = format!("{params} with SSL_CERT_FILE={system}: exit {code:?}, {stderr}");
        match refused_by {
            // Connected: nothing migrated there yet.
            None => assert_eq!(
                (code, stderr.as_str()),
                (Some(1), "error: no migration\n"),
                "{what}"
            ),
            Some(roots) => {
                assert_eq!(code, Some(1), "{what}");
                assert!(stderr.contains("invalid peer certificate"), "{what}");
                assert!(
                    stderr.contains(&format!("; verified against {roots}")),
                    "{what}"
                );
            }
        }
    }
}
