//! Versions as the database records them: nothing, a clean version, or a dirty one.

use crate::error::{Error, Result};

/// The state of golang-migrate's single-row `schema_migrations` table.
///
/// golang-migrate encodes "nothing applied" as -1; here it is `Nil`, and only a dirty row
/// can carry -1 (a failed down of the first migration writes `(-1, dirty)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "version", rename_all = "lowercase")]
pub enum DbVersion {
    /// No version recorded (no table, or no row).
    Nil,
    /// This version, applied completely.
    Clean(u64),
    /// This version failed part-way (`-1`: a failed down of the first migration).
    Dirty(i64),
}

impl DbVersion {
    /// From a stored row (`None` = no row), as golang-migrate reads it.
    pub fn from_row(row: Option<(i64, bool)>) -> DbVersion {
        match row {
            None => DbVersion::Nil,
            Some((v, true)) => DbVersion::Dirty(v),
            Some((v, false)) if v >= 0 => DbVersion::Clean(v as u64),
            Some((_, false)) => DbVersion::Nil,
        }
    }

    /// The version, ignoring dirtiness (`None` for nil or dirty -1).
    pub fn version(&self) -> Option<u64> {
        match *self {
            DbVersion::Nil => None,
            DbVersion::Clean(v) => Some(v),
            DbVersion::Dirty(v) => u64::try_from(v).ok(),
        }
    }

    /// Whether a migration failed part-way.
    pub fn is_dirty(&self) -> bool {
        matches!(self, DbVersion::Dirty(_))
    }
}

/// Converts a version for storage in the signed 64-bit column golang-migrate uses.
pub(crate) fn to_stored(v: Option<u64>) -> Result<i64> {
    match v {
        None => Ok(-1),
        Some(v) => i64::try_from(v).map_err(|_| Error::VersionTooLarge(v)),
    }
}
