//! A MariaDB server with TLS for one test (the shared test server runs without TLS): a data
//! directory made by `mariadb-install-db` in a temporary directory and `mariadbd` on a free
//! port of 127.0.0.1, with Debian's snakeoil certificate (it names `localhost`). Stopped
//! when dropped. Needs root (the server runs as root, the key is root's) and the two
//! programs; `start` says why not otherwise.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

pub struct TlsMariaDb {
    child: Child,
    pub port: u16,
    /// The server's certificate, readable by anyone (a copy inside `dir`).
    pub cert: PathBuf,
    dir: tempfile::TempDir,
}

impl TlsMariaDb {
    pub fn start() -> Result<TlsMariaDb, String> {
        let key = std::fs::read(KEY).map_err(|e| format!("cannot read {KEY}: {e}"))?;
        let cert = std::fs::read(CERT).map_err(|e| format!("cannot read {CERT}: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let at = |p: &str| dir.path().join(p);
        std::fs::write(at("key.pem"), key).map_err(|e| e.to_string())?;
        std::fs::write(at("cert.pem"), cert).map_err(|e| e.to_string())?;
        let install = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", at("data").display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("mariadb-install-db: {e}"))?;
        if !install.status.success() {
            return Err(format!(
                "mariadb-install-db failed: {}",
                String::from_utf8_lossy(&install.stderr)
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let log = std::fs::File::create(at("server.log")).map_err(|e| e.to_string())?;
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", at("data").display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", at("sock").display()))
            .arg(format!("--pid-file={}", at("pid").display()))
            .arg(format!("--ssl-cert={}", at("cert.pem").display()))
            .arg(format!("--ssl-key={}", at("key.pem").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("mariadbd: {e}"))?;
        let server = TlsMariaDb {
            child,
            port,
            cert: at("cert.pem"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(server.dir.path().join("server.log"));
                return Err(format!(
                    "mariadbd did not listen: {}",
                    log.unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    /// The URL of database `db` by the name the certificate carries, with `params`.
    pub fn url(&self, db: &str, params: &str) -> String {
        format!("mysql://root:@tcp(localhost:{})/{db}?{params}", self.port)
    }
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
