//! `migrate`: a drop-in replacement for the golang-migrate CLI and a library for
//! applications that embed their migrations and refuse to start on the wrong schema.
//! The package is `migrate-rs` on crates.io; the library crate is `migrate`.
//!
//! The state lives in golang-migrate's `schema_migrations(version, dirty)` table, byte for
//! byte, so golang-migrate and this crate can take turns on one database.
//!
//! The library prints nothing itself (the print macros, which panic on a closed pipe, are
//! denied): output goes to a caller's `gate::Console` or through notices it installs.
//!
//! # Replace golang-migrate
//!
//! [`Migrator`] does what golang-migrate's `Migrate` does, on the same URLs and the same
//! tables: [`Migrator::up`], [`Migrator::steps`], [`Migrator::goto`], [`Migrator::down`],
//! [`Migrator::force`], [`Migrator::drop_all`].
//!
//! ```no_run
//! let source = migrate::Source::open("file://migrations")?;
//! let mut m = migrate::Migrator::open(source, "postgres://app@db/app?sslmode=disable")?;
//! m.ensure_version_table()?;
//! let report = m.up()?;
//! # let _ = report;
//! # Ok::<(), migrate::Error>(())
//! ```
//!
//! # Gate a release binary
//!
//! An application embeds its migrations (`embed` feature, [`Source::embedded`]) and checks
//! the database before it serves: [`gate::gate`] on a URL, or [`Migrator::gate`] on a
//! migrator built on the application's own connection ([`Migrator::from_sqlite`],
//! [`Migrator::from_postgres`], [`Migrator::from_mysql`]), which it gets back afterwards:
//!
//! ```
//! use std::borrow::Cow;
//! use migrate::{rusqlite::Connection, GateStatus, Migrator, Policy, Source};
//!
//! let source = Source::from_files([
//!     ("1_jobs.up.sql", Cow::Borrowed(&b"CREATE TABLE jobs (id INTEGER PRIMARY KEY);"[..])),
//!     ("1_jobs.down.sql", Cow::Borrowed(&b"DROP TABLE jobs;"[..])),
//! ])?;
//! let conn = Connection::open_in_memory().expect("open");
//! conn.execute_batch("PRAGMA foreign_keys = ON;").expect("the application's PRAGMA");
//!
//! let mut m = Migrator::from_sqlite(source, conn, "")?;
//! assert_eq!(m.gate(Policy::ApplyPending)?, GateStatus::UpToDate { version: 1 });
//! let conn = m.into_sqlite().expect("a SQLite migrator");
//!
//! let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).expect("pragma");
//! assert_eq!(fk, 1);
//! # Ok::<(), migrate::Error>(())
//! ```
//!
//! A refusal is `Err(Error::Gate(status))`: [`GateStatus::refusal`] says why and what to
//! run, [`GateStatus::exit_code`] is the process's exit code. `examples/jobserver.rs` and
//! `examples/tokio_gate.rs` are complete applications.
//!
//! The API is synchronous. An async application gates on a blocking thread before it
//! serves (`tokio::task::spawn_blocking`, as `examples/tokio_gate.rs` does). Called straight
//! from async code instead, the server drivers still work: each of their calls then runs on
//! a thread of its own while the task's thread waits. One whose
//! database access is sqlx gates the same way with [`gate::gate`] on the database's URL:
//! migrate opens and closes a connection of its own, and the sqlx pool never sees it.
//!
//! # Recover a dirty database
//!
//! A migration that failed part-way leaves the version dirty (on SQLite it was rolled back
//! with its version write, so the schema is at the version before it). The gate reports
//! [`GateStatus::Dirty`] with the real version and the one before it; after the schema is
//! repaired by hand, [`Migrator::force`] records the version it is at, and the next
//! [`Migrator::up`] goes on from there. On SQLite the automatic backup taken before each
//! change ([`safety`]) is the other way back.
//!
//! ```no_run
//! # fn main() -> migrate::Result<()> {
//! let source = migrate::Source::open("file://migrations")?;
//! let mut m = migrate::Migrator::open(source, "sqlite3://var/app.db")?;
//! let status = m.gate(migrate::Policy::RequireLatest);
//! if let Some(migrate::GateStatus::Dirty { previous, .. }) =
//!     status.as_ref().err().and_then(|e| e.gate_status())
//! {
//!     // the schema was checked by hand and is at the version before the failed one
//!     m.force(*previous)?;
//!     m.up()?;
//! }
//! # Ok(())
//! # }
//! ```
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![warn(missing_docs)]

pub mod cancel;
pub mod driver;
pub mod error;
pub mod gate;
pub mod gocompat;
pub mod journal;
pub mod migrator;
pub mod plan;
pub mod recover;
pub mod redact;
pub mod report;
#[cfg(feature = "sqlite")]
pub mod safety;
pub mod source;
pub mod status;
pub mod url;
pub mod validate;
pub mod version;

/// The database client crates the `Migrator::from_*` constructors take, re-exported so
/// an application opens its connection with exactly the version this crate was built with.
#[cfg(feature = "mysql")]
pub use mysql_async;
#[cfg(feature = "postgres")]
pub use postgres;
#[cfg(feature = "sqlite")]
pub use rusqlite;
#[cfg(feature = "mysql")]
pub use tokio;

pub use error::{Error, Result};
pub use gate::{GateStatus, Policy};
pub use migrator::{Event, Migrator, Report};
pub use plan::{Step, Target};
pub use source::{Direction, Source};
pub use version::DbVersion;
