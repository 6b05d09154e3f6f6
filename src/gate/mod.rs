//! The start-up gate for applications that ship their migrations inside their binary:
//! a read-only check of the database against the embedded set, policies, typed outcomes,
//! and the cc-backend-style database commands (`-migrate-db`, `-revert-db`, `-force-db V`,
//! `-db-status`) with their messages and exit codes (docs/release-binary.md).
//!
//! What it does better than the hand-written check in cc-backend:
//! the check creates no table and no file; a dirty database is reported as dirty with its
//! real version even when it is also behind; `-force-db` takes an explicit version.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use migrate::gate::{self, GateStatus, Policy};
//! use migrate::Source;
//!
//! let source = Source::from_files([
//!     ("1_jobs.up.sql".to_string(), b"CREATE TABLE jobs (id INTEGER);".to_vec().into()),
//!     ("2_tags.up.sql".to_string(), b"CREATE TABLE tags (id INTEGER);".to_vec().into()),
//! ])?;
//! let dir = tempfile::tempdir()?;
//! let db = dir.path().join("job.db");
//! let url = format!("sqlite3://{}", db.display());
//!
//! // A missing file is reported, not created.
//! let err = gate::gate(source.clone(), &url, Policy::RequireLatest).unwrap_err();
//! assert!(matches!(err.gate_status(), Some(GateStatus::NoDatabaseFile { .. })));
//! assert!(!db.exists());
//!
//! // ApplyPending creates and migrates it, then reports.
//! let ok = gate::gate(source.clone(), &url, Policy::ApplyPending)?;
//! assert_eq!(ok, GateStatus::UpToDate { version: 2 });
//! assert_eq!(gate::check_url(&source, &url)?.exit_code(), gate::ExitCode::Ok);
//! # Ok(()) }
//! ```
//!
//! The outcome types ([`GateStatus`], [`Policy`], [`ExitCode`]) are the status model's
//! ([`crate::status`]); this module checks, gates and runs the commands:
//!
//! - `check.rs`: the read-only check ([`check`], [`check_url`], [`drift`]) and [`gate()`];
//! - `migrator.rs`: [`Migrator::gate`](crate::Migrator::gate), the gate on an open migrator;
//! - `run.rs`: the database commands ([`DbCommand`], [`run`], [`run_with`], [`preflight`]);
//! - `console.rs`: where they print ([`Console`], [`describe_db`]);
//! - `args.rs`: the clap glue an application flattens into its parser ([`normalize_db_args`],
//!   and with the `cli` feature `DbArgs` and `run_db_command`);
//! - `testing.rs`: a check for applications' tests ([`assert_embedded_matches_dir`]).

mod args;
mod check;
mod console;
mod migrator;
mod run;
mod testing;

pub use crate::status::{exit, Drift, ExitCode, GateStatus, Policy};
pub use args::normalize_db_args;
#[cfg(feature = "cli")]
pub use args::{run_db_command, DbArgs};
pub use check::{check, check_url, drift, explain_url, gate};
pub use console::{describe_db, Console};
pub use run::{preflight, run, run_with, BackupSettings, DbCommand};
pub use testing::{assert_embedded_matches_dir, compare_with_dir};
