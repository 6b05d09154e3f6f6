//! A tokio application that refuses to start on the wrong schema. The library is
//! synchronous: the gate runs on tokio's blocking pool (`spawn_blocking`), before the
//! application serves anything, on the connection the application opened itself (its own
//! PRAGMAs), which it gets back afterwards and keeps using.
//!
//! ```sh
//! cargo run --example tokio_gate -- var/tokio.db            # refuses: not migrated
//! cargo run --example tokio_gate -- var/tokio.db --migrate  # applies, then serves
//! ```
//!
//! Exit codes are the gate's (`migrate::gate::exit`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use migrate::rusqlite::Connection;
use migrate::{Error, GateStatus, Migrator, Policy, Source};

static MIGRATIONS: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/migrations");

/// What start-up hands the rest of the application: the gate's verdict and the connection.
struct App {
    status: GateStatus,
    db: Arc<Mutex<Connection>>,
}

/// Opens the database the way the application always does, then gates on it.
fn open_and_gate(path: &Path, policy: Policy) -> migrate::Result<App> {
    let source = Source::embedded(&MIGRATIONS)?;
    let conn = Connection::open(path)
        .and_then(|c| {
            c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 2000;")?;
            Ok(c)
        })
        .map_err(|e| Error::Other(format!("open {}: {e}", path.display())))?;
    let mut m = Migrator::from_sqlite(source, conn, "")?;
    let status = m.gate(policy)?;
    let conn = m
        .into_sqlite()
        .ok_or_else(|| Error::Other("not a SQLite migrator".into()))?;
    Ok(App {
        status,
        db: Arc::new(Mutex::new(conn)),
    })
}

/// Start-up: the blocking gate on tokio's blocking pool, so the runtime's workers stay
/// free, and nothing else starts until it has answered.
async fn start(path: PathBuf, policy: Policy) -> migrate::Result<App> {
    tokio::task::spawn_blocking(move || open_and_gate(&path, policy))
        .await
        .map_err(|e| Error::Other(format!("the gate's task failed: {e}")))?
}

/// A stand-in for the application's work: queries on its own connection, again on the
/// blocking pool (rusqlite is synchronous too).
async fn serve(app: &App) -> Result<i64, String> {
    let db = Arc::clone(&app.db);
    tokio::task::spawn_blocking(move || {
        let conn = db
            .lock()
            .map_err(|_| "connection lock poisoned".to_string())?;
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if fk != 1 {
            return Err("the application's PRAGMA foreign_keys = ON was lost".into());
        }
        conn.query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: tokio_gate DB_PATH [--migrate]");
        return ExitCode::from(migrate::gate::exit::ERROR);
    };
    let policy = if args.iter().any(|a| a == "--migrate") {
        Policy::ApplyPending
    } else {
        Policy::RequireLatest
    };
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio_gate: runtime: {e}");
            return ExitCode::from(migrate::gate::exit::ERROR);
        }
    };
    rt.block_on(async {
        match start(PathBuf::from(path), policy).await {
            Ok(app) => match serve(&app).await {
                Ok(jobs) => {
                    println!("tokio_gate: {:?}, {jobs} jobs, serving", app.status);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("tokio_gate: {e}");
                    ExitCode::from(migrate::gate::exit::ERROR)
                }
            },
            Err(Error::Gate(status)) => {
                eprint!("{}", status.refusal("tokio_gate"));
                ExitCode::from(status.exit_code())
            }
            Err(e) => {
                eprintln!("tokio_gate: {e}");
                ExitCode::from(migrate::gate::exit::ERROR)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    /// Refused before migrating (nothing written), started after, and started again
    /// without migrating; the application's PRAGMA holds throughout.
    #[test]
    fn gates_start_up_on_the_blocking_pool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("app.db");
        let latest = Source::embedded(&MIGRATIONS)
            .expect("embedded")
            .latest()
            .expect("a migration");
        match run(start(db.clone(), Policy::RequireLatest)) {
            // The application's `Connection::open` created an empty file: no version table.
            Err(Error::Gate(status)) => assert!(
                matches!(*status, GateStatus::NoVersionTable { .. }),
                "{status:?}"
            ),
            Err(e) => panic!("refused for another reason: {e:?}"),
            Ok(app) => panic!("started on an empty database: {:?}", app.status),
        }
        for policy in [Policy::ApplyPending, Policy::RequireLatest] {
            let app = run(start(db.clone(), policy)).expect("starts");
            assert_eq!(app.status, GateStatus::UpToDate { version: latest });
            assert_eq!(run(serve(&app)), Ok(0));
        }
    }
}
