//! `migrate`: a drop-in replacement for the golang-migrate CLI and a library for
//! applications that embed their migrations and refuse to start on the wrong schema.
//!
//! The state lives in golang-migrate's `schema_migrations(version, dirty)` table, byte for
//! byte, so golang-migrate and this crate can take turns on one database.
//!
//! The library prints nothing itself (the print macros, which panic on a closed pipe, are
//! denied): output goes to a caller's `gate::Console` or through notices it installs.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod driver;
pub mod error;
pub mod gate;
pub mod gocompat;
pub mod journal;
pub mod migrator;
pub mod plan;
#[cfg(feature = "sqlite")]
pub mod safety;
pub mod source;
pub mod url;
pub mod validate;
pub mod version;

/// The database client crates the `Migrator::from_*` constructors take, re-exported so
/// an application opens its connection with exactly the version this crate was built with.
#[cfg(feature = "mysql")]
pub use mysql;
#[cfg(feature = "postgres")]
pub use postgres;
#[cfg(feature = "sqlite")]
pub use rusqlite;

pub use error::{Error, Result};
pub use gate::{GateStatus, Policy};
pub use migrator::{Event, Migrator, Report};
pub use plan::{Step, Target};
pub use source::{Direction, Source};
pub use version::DbVersion;
