//! The release binary (`make dist`) alone in an empty directory, run there with `chroot`:
//! what the container image built `FROM scratch` holds (Dockerfile), and what Docker adds at
//! run time (an `/etc/hosts`). No C library, no certificate store, no `/tmp`, no `/dev`.
//!
//! Needs root (chroot) and the static binary: `dist/migrate-VERSION-x86_64-linux/migrate`,
//! or the file `MIGRATE_STATIC_BIN` names. Without either the tests skip with a loud
//! message, unless `MIGRATE_REQUIRE_EMPTY_ROOT=1` (`make test-empty-root`, CI), where they fail.

mod common;
#[path = "common/tls_mariadb.rs"]
mod tls_mariadb;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{fresh, Server};

/// The names the root's `/etc/hosts` gives the local servers.
const HOSTS: &str = "127.0.0.1 localhost db.example\n";

/// The static binary to test, or why there is none here.
fn static_binary() -> Result<PathBuf, String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Err("chroot needs root".into());
    }
    let bin = match std::env::var_os("MIGRATE_STATIC_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
            "dist/migrate-{}-x86_64-linux/migrate",
            env!("CARGO_PKG_VERSION")
        )),
    };
    if !bin.is_file() {
        return Err(format!("no {} (run `make dist`)", bin.display()));
    }
    Ok(bin)
}

/// An empty root holding the binary, `/etc/hosts` and the example migrations, or `None`
/// after a loud message.
fn empty_root(test: &str) -> Option<Root> {
    match static_binary() {
        Ok(bin) => Some(Root::new(&bin)),
        Err(why) => {
            if std::env::var("MIGRATE_REQUIRE_EMPTY_ROOT").is_ok_and(|v| v == "1") {
                panic!("{test}: {why}, and MIGRATE_REQUIRE_EMPTY_ROOT=1");
            }
            let msg = format!("\n*** SKIPPED {test}: {why} ***\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            None
        }
    }
}

struct Root {
    dir: tempfile::TempDir,
}

/// One run's exit code and output.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Root {
    fn new(bin: &Path) -> Root {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = |p: &str| dir.path().join(p);
        std::fs::copy(bin, at("migrate")).expect("copy the binary");
        std::fs::create_dir_all(at("etc")).expect("etc");
        std::fs::write(at("etc/hosts"), HOSTS).expect("hosts");
        std::fs::create_dir_all(at("migrations")).expect("migrations");
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/conformance");
        for e in std::fs::read_dir(&src).expect("testdata") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "sql") {
                let name = p.file_name().expect("name");
                std::fs::copy(&p, at("migrations").join(name)).expect("copy a migration");
            }
        }
        Root { dir }
    }

    /// Every path in the root, relative, sorted.
    fn listing(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).expect("read_dir") {
                let p = e.expect("entry").path();
                let rel = p.strip_prefix(base).expect("inside").display().to_string();
                if p.is_dir() {
                    out.push(format!("{rel}/"));
                    walk(base, &p, out);
                } else {
                    out.push(rel);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }

    /// `migrate ARGS` inside the root, with an empty environment (as an image `FROM
    /// scratch` has no `ENV`).
    fn run(&self, args: &[&str]) -> Run {
        // The chroot program is looked up in this process's PATH: the child's is empty.
        let chroot = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("chroot"))
            .find(|p| p.is_file())
            .expect("chroot in PATH");
        let out = Command::new(chroot)
            .arg(self.dir.path())
            .arg("/migrate")
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .output()
            .expect("run chroot");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `migrate -path /migrations -database URL ARGS`.
    fn migrate(&self, url: &str, args: &[&str]) -> Run {
        let mut all = vec!["-path", "/migrations", "-database", url];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// `migrate -path /migrations -database URL ARGS`, which must succeed.
    fn ok(&self, url: &str, args: &[&str]) -> Run {
        let r = self.migrate(url, args);
        assert_eq!(r.code, 0, "{args:?} on {url}: {r:?}");
        r
    }
}

#[test]
fn the_binary_is_static() {
    let Some(root) = empty_root("the_binary_is_static") else {
        return;
    };
    // ldd says "statically linked" for a static-pie binary ("not a dynamic executable" for
    // a static non-PIE one) and lists no library; readelf finds no library and no interpreter.
    let bin = root.dir.path().join("migrate");
    let output = |cmd: &str, args: &[&str]| {
        let out = Command::new(cmd).args(args).arg(&bin).output().expect(cmd);
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    let ldd = output("ldd", &[]);
    assert!(
        ldd.contains("statically linked") || ldd.contains("not a dynamic executable"),
        "{ldd}"
    );
    assert!(!ldd.contains(".so"), "{ldd}");
    let dynamic = output("readelf", &["-d"]);
    assert!(!dynamic.contains("(NEEDED)"), "{dynamic}");
    let program = output("readelf", &["-l"]);
    assert!(program.contains("LOAD"), "{program}");
    assert!(!program.contains("INTERP"), "{program}");
    let r = root.run(&["-version"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (0, env!("CARGO_PKG_VERSION")),
        "{r:?}"
    );
}

#[test]
fn sqlite_up_status_version_in_an_empty_root() {
    let Some(root) = empty_root("sqlite_up_status_version_in_an_empty_root") else {
        return;
    };
    assert_eq!(
        root.listing(),
        [
            "etc/",
            "etc/hosts",
            "migrate",
            "migrations/",
            "migrations/1_create_users.down.sql",
            "migrations/1_create_users.up.sql",
            "migrations/2_add_email.down.sql",
            "migrations/2_add_email.up.sql",
            "migrations/3_create_posts.down.sql",
            "migrations/3_create_posts.up.sql",
        ]
    );
    let url = "sqlite3:///app.db";
    let r = root.migrate(url, &["status"]);
    assert_eq!(r.code, 3, "pending migrations: {r:?}");
    assert!(r.stdout.contains("latest:   3"), "{r:?}");
    let r = root.migrate(url, &["version"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "error: no migration\n"),
        "{r:?}"
    );
    let r = root.ok(url, &["up"]);
    assert_eq!(r.stderr.lines().count(), 3, "{r:?}");
    assert!(r.stderr.contains("3/u create_posts"), "{r:?}");
    let r = root.ok(url, &["status"]);
    assert!(r.stdout.contains("up to date"), "{r:?}");
    let r = root.ok(url, &["version"]);
    assert_eq!(r.stderr, "3\n");
    let r = root.ok(url, &["down", "1"]);
    assert!(r.stderr.contains("3/d create_posts"), "{r:?}");
    let r = root.ok(url, &["version"]);
    assert_eq!(r.stderr, "2\n");
    assert!(root.dir.path().join("app.db").is_file());
}

/// PostgreSQL and MariaDB reached by address and, through `/etc/hosts`, by name.
#[test]
fn servers_by_name_and_by_address_in_an_empty_root() {
    let Some(root) = empty_root("servers_by_name_and_by_address_in_an_empty_root") else {
        return;
    };
    for server in [Server::Postgres, Server::Mysql] {
        let Some(db) = fresh(server) else {
            continue;
        };
        assert!(
            db.url.contains("127.0.0.1:"),
            "the local server's URL is by address: {}",
            migrate::url::redact(&db.url)
        );
        let by_name = db.url.replace("127.0.0.1:", "db.example:");
        root.ok(&by_name, &["up", "2"]);
        let r = root.ok(&db.url, &["version"]);
        assert_eq!(r.stderr, "2\n", "{server:?}");
        root.ok(&db.url, &["up"]);
        let r = root.ok(&by_name, &["version"]);
        assert_eq!(r.stderr, "3\n", "{server:?}");
    }
}

/// TLS to PostgreSQL with no certificate store in the root: `verify-full` checks the
/// server against the bundled public roots, which did not sign the local server's
/// certificate, and says so; the server's certificate given as `sslrootcert` is trusted.
#[test]
fn postgres_tls_in_an_empty_root() {
    let Some(root) = empty_root("postgres_tls_in_an_empty_root") else {
        return;
    };
    let Some(db) = fresh(Server::Postgres) else {
        return;
    };
    let setting = |name: &str| -> String {
        db.driver()
            .query(&format!("SHOW {name}"), &[])
            .ok()
            .and_then(|rows| rows.into_iter().next())
            .and_then(|r| r.into_iter().next())
            .and_then(migrate::driver::Value::into_string)
            .unwrap_or_default()
    };
    let Ok(cert) = std::fs::read(setting("ssl_cert_file")) else {
        let msg = "\n*** SKIPPED postgres_tls_in_an_empty_root: the server's certificate is not readable here (or ssl is off) ***\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    };
    if setting("ssl") != "on" || !db.url.contains("sslmode=disable") {
        let msg =
            "\n*** SKIPPED postgres_tls_in_an_empty_root: the server runs with ssl = off ***\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    }
    std::fs::write(root.dir.path().join("server.crt"), cert).expect("write the certificate");
    let url = |params: &str| {
        db.url
            .replace("127.0.0.1:", "localhost:")
            .replace("sslmode=disable", params)
    };
    let r = root.migrate(&url("sslmode=verify-full"), &["up"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("invalid peer certificate")
            && r.stderr.contains(
                "verified against the bundled public roots (webpki-roots; no system certificate store was found)"
            ),
        "{r:?}"
    );
    root.ok(&url("sslmode=verify-full&sslrootcert=/server.crt"), &["up"]);
    // Encrypted, not verified: no roots needed.
    let r = root.ok(&url("sslmode=require"), &["version"]);
    assert_eq!(r.stderr, "3\n");
}

/// TLS to MariaDB (a server of the test's own: the shared one runs without TLS) with no
/// certificate store in the root: `tls=true` checks against the bundled public roots only
/// and says so; the server's certificate as `x-tls-ca` is trusted.
#[test]
fn mysql_tls_in_an_empty_root() {
    let Some(root) = empty_root("mysql_tls_in_an_empty_root") else {
        return;
    };
    let server = match tls_mariadb::TlsMariaDb::start() {
        Ok(s) => s,
        Err(why) => {
            let msg = format!("\n*** SKIPPED mysql_tls_in_an_empty_root: {why} ***\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            return;
        }
    };
    std::fs::copy(&server.cert, root.dir.path().join("server.crt")).expect("copy the certificate");
    let r = root.migrate(&server.url("mysql", "tls=true"), &["version"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("invalid peer certificate")
            && r.stderr.contains(
                "; verified against the bundled public roots (webpki-roots; no system certificate store was found)"
            ),
        "{r:?}"
    );
    let r = root.migrate(
        &server.url("mysql", "tls=custom&x-tls-ca=/server.crt"),
        &["up", "1"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = root.ok(
        &server.url("mysql", "tls=custom&x-tls-ca=/server.crt"),
        &["version"],
    );
    assert_eq!(r.stderr, "1\n");
}

/// The Dockerfile copies the binary `make dist` writes for this version.
#[test]
fn dockerfile_copies_this_versions_binary() {
    let dockerfile =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
            .expect("Dockerfile");
    let arg = format!("ARG VERSION={}\n", env!("CARGO_PKG_VERSION"));
    assert!(dockerfile.contains(&arg), "the Dockerfile lacks {arg:?}");
    assert!(
        dockerfile
            .contains("COPY dist/migrate-${VERSION}-x86_64-linux/migrate /usr/local/bin/migrate\n"),
        "the Dockerfile copies another path than scripts/dist.sh writes"
    );
    let dist =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/dist.sh"))
            .expect("scripts/dist.sh");
    assert!(
        dist.contains("name=migrate-$version-x86_64-linux\n"),
        "scripts/dist.sh names the archive differently"
    );
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/migrate\"]\n"));
}
