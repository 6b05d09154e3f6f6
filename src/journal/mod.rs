//! Side tables next to golang-migrate's `schema_migrations`: checksums of the applied files
//! (`<table>_checksums`), an append-only operation journal (`<table>_journal`) and the
//! stored down SQL (`<table>_downs`). `schema_migrations` itself is never altered; the side
//! tables are created on first need, their names derive from the migrations table so two
//! migration sets never mix, identifiers are quoted by the driver and every value is bound.
//!
//! - `tables.rs`: names, DDL and creation ([`table_names`], [`ddl`]);
//! - `entries.rs`: the operation journal ([`Entry`], [`entries`]);
//! - `checksums.rs`: the recorded checksums ([`Recorded`], [`recorded`]);
//! - `downs.rs`: the stored down SQL ([`StoredDown`], [`stored_downs`]);
//! - `reconcile.rs`: the records against the database's version ([`Reconciled`],
//!   [`reconcile`]), adoption, `repair` and `force`;
//! - `drift.rs`: the records against the files ([`Finding`], [`findings`], [`verify`]).
//!
//! The `status` report built from all of them is [`crate::report`].

mod checksums;
mod downs;
mod drift;
mod entries;
mod reconcile;
mod tables;
#[cfg(test)]
mod tests;

pub(crate) use checksums::{forget_above, record_version_with};
pub use checksums::{recorded, Recorded};
pub use downs::{stored_down_versions, stored_downs, StoredDown};
pub(crate) use drift::record_allowed;
pub use drift::{findings, verify, verify_except, Allow, Finding, Verified};
pub(crate) use entries::append;
pub use entries::{entries, now, Entry};
pub(crate) use reconcile::{apply_reconciled, forced, repair};
pub use reconcile::{read_reconciled, reconcile, Reconciled};
pub use tables::{ddl, downs_ddl, downs_table_name, exists, table_names};
pub(crate) use tables::{ensure, ensure_downs};
