//! The status model: where a database stands against a set of migrations, what an
//! application accepts at start-up, the `status` report's verdict, and the process exit
//! codes all of them share. Plain values only (no source, no driver), so every layer
//! above can use them: the gate, the database commands, the journal's report and the CLI.

use std::fmt;
use std::path::PathBuf;

/// The process exit codes of `migrate status`, the gate, the database commands
/// (`-migrate-db`, `-db-status`, ...) and the CLI's errors. Scripts can tell the cases
/// apart. 2 is Go's usage error and is never one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ExitCode {
    /// The database is at the version the binary needs, or the command succeeded.
    Ok = 0,
    /// Any other error (cannot open, a migration failed, bad `-force-db` use).
    Error = 1,
    /// The command line is wrong: an unknown command or flag, a bad value, an option the
    /// command cannot honour (Go's `flag` package exits 2 on these).
    Usage = 2,
    /// Migration needed: the database is behind, fresh, has no version table, or no file.
    Behind = 3,
    /// The database is dirty (a migration failed part-way).
    Dirty = 4,
    /// Applied migration files were edited, are missing or out of order (journal, drift
    /// detection).
    Drift = 5,
    /// The binary is too old: the database is newer than its latest migration.
    Ahead = 6,
}

impl ExitCode {
    /// The number the process exits with.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitCode> for u8 {
    fn from(c: ExitCode) -> u8 {
        c.code()
    }
}

impl From<ExitCode> for i32 {
    fn from(c: ExitCode) -> i32 {
        i32::from(c.code())
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> std::process::ExitCode {
        std::process::ExitCode::from(c.code())
    }
}

/// The number, as the process exits with it.
impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// A JSON number, as the process exits with it.
impl serde::Serialize for ExitCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// The exit codes under the names the gate's documentation uses
/// (`migrate::gate::exit::OK`, ...): the variants of [`ExitCode`].
pub mod exit {
    pub use super::ExitCode::{
        Ahead as AHEAD, Behind as BEHIND, Dirty as DIRTY, Drift as DRIFT, Error as ERROR, Ok as OK,
        Usage as USAGE,
    };
}

/// What the application accepts at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Exactly the binary's latest version, clean (cc-backend's rule).
    RequireLatest,
    /// Apply pending migrations (creating a missing SQLite file), then require the latest.
    ApplyPending,
    /// A clean version >= V; a newer database than the binary is accepted too
    /// (rolling upgrades where a newer binary migrated first).
    AtLeast(u64),
}

/// Applied migrations whose files no longer match (from the journal; see
/// [`crate::gate::drift`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Files applied to the database whose content changed since.
    Edited(Vec<String>),
    /// Files applied to the database that the binary no longer has.
    Missing(Vec<String>),
}

/// The outcome of a check: where the database stands against the embedded migrations.
/// `latest` is always the binary's latest migration version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateStatus {
    /// Clean, at the latest version.
    UpToDate {
        /// The database's version.
        version: u64,
    },
    /// Clean (or fresh: `current` is `None`), with migrations pending.
    Behind {
        /// The database's version; `None` when no migration is applied.
        current: Option<u64>,
        /// The binary's latest migration version.
        latest: u64,
        /// The versions to apply, ascending.
        pending: Vec<u64>,
    },
    /// Clean, newer than the binary's latest migration: the binary is too old.
    Ahead {
        /// The database's version.
        current: u64,
        /// The binary's latest migration version.
        latest: u64,
    },
    /// A migration failed part-way; `version` is the real recorded (dirty) version,
    /// reported even when it is also below `latest`. `previous` is the version before it
    /// in the source (-1: none), where a rolled-back SQLite failure leaves the schema.
    Dirty {
        /// The dirty version recorded in the version table.
        version: i64,
        /// The binary's latest migration version.
        latest: u64,
        /// The version before `version` among the binary's migrations, -1 for none.
        previous: i64,
    },
    /// Applied files were edited since they ran (checksums recorded by the journal).
    Drifted {
        /// The database's version.
        current: u64,
        /// The binary's latest migration version.
        latest: u64,
        /// The edited files' names (and older never-recorded ones, marked as such).
        files: Vec<String>,
    },
    /// Applied files are missing from the binary (checksums recorded by the journal).
    Missing {
        /// The database's version.
        current: u64,
        /// The binary's latest migration version.
        latest: u64,
        /// The missing files' names, as recorded when they were applied.
        files: Vec<String>,
    },
    /// The database exists but has no version table (a legacy or foreign database, or an
    /// empty file).
    NoVersionTable {
        /// The version table's name.
        table: String,
        /// The binary's latest migration version.
        latest: u64,
    },
    /// The SQLite file does not exist (nothing was created).
    NoDatabaseFile {
        /// The database file's path.
        path: PathBuf,
        /// The binary's latest migration version.
        latest: u64,
    },
}

/// Versions as `1, 2, 3`, as the messages list them.
pub(crate) fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

impl GateStatus {
    /// The process exit code for this outcome.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            GateStatus::UpToDate { .. } => ExitCode::Ok,
            GateStatus::Behind { .. }
            | GateStatus::NoVersionTable { .. }
            | GateStatus::NoDatabaseFile { .. } => ExitCode::Behind,
            GateStatus::Ahead { .. } => ExitCode::Ahead,
            GateStatus::Dirty { .. } => ExitCode::Dirty,
            GateStatus::Drifted { .. } | GateStatus::Missing { .. } => ExitCode::Drift,
        }
    }

    /// Whether `policy` lets the application start with the database in this state.
    pub fn allows(&self, policy: Policy) -> bool {
        match (self, policy) {
            (GateStatus::UpToDate { .. }, _) => true,
            (
                GateStatus::Behind {
                    current: Some(c), ..
                }
                | GateStatus::Ahead { current: c, .. },
                Policy::AtLeast(v),
            ) => *c >= v,
            _ => false,
        }
    }

    /// The cc-backend-style `Error: ...` line and the advice lines after it, for an
    /// application called `prog` (see docs/release-binary.md for every text).
    pub fn advice(&self, prog: &str) -> Vec<String> {
        match self {
            GateStatus::UpToDate { version } => {
                vec![format!("Database version {version} is the version this binary needs.")]
            }
            GateStatus::Behind {
                current,
                latest,
                pending,
            } => vec![
                match current {
                    Some(c) => format!("Error: unsupported database version {c}, need {latest}."),
                    None => format!(
                        "Error: unsupported database version 0 (no migration applied), need {latest}."
                    ),
                },
                format!("Pending migrations: {}", join(pending)),
                format!("Please backup your database file and run {prog} -migrate-db"),
            ],
            GateStatus::Ahead { current, latest } => vec![
                format!("Error: unsupported database version {current}, need {latest}."),
                format!(
                    "The database is newer than this binary (its latest migration is {latest}): run the newer binary, or bring the database down to version {latest} with {prog} -downgrade-db (it runs the down SQL stored when the newer versions were applied)."
                ),
            ],
            GateStatus::Dirty {
                version,
                latest,
                previous,
            } => vec![
                format!(
                    "Error: last migration to version {version} has failed (the database is dirty at version {version}), need {latest}."
                ),
                format!(
                    "Please fix the db manually and force the version it is really at with {prog} -force-db V (after a failed SQLite migration, which is rolled back, that is usually {previous})."
                ),
            ],
            GateStatus::Drifted {
                current, files, ..
            } => vec![
                format!(
                    "Error: database version {current}: applied migration files were edited since they ran: {}.",
                    files.join(", ")
                ),
                "Please restore the original files, or fix the schema by hand; the binary refuses to guess.".into(),
            ],
            GateStatus::Missing {
                current, files, ..
            } => vec![
                format!(
                    "Error: database version {current}: applied migration files are missing from this binary: {}.",
                    files.join(", ")
                ),
                "Please run the binary that applied them, or restore the files.".into(),
            ],
            GateStatus::NoVersionTable { table, latest } => vec![
                format!(
                    "Error: database has no {table} table (legacy database, or not created by {prog}), need {latest}."
                ),
                format!("Please backup your database file and run {prog} -migrate-db"),
            ],
            GateStatus::NoDatabaseFile { path, latest } => vec![
                format!(
                    "Error: database file '{}' does not exist, need version {latest}.",
                    path.display()
                ),
                format!("Please check the path, or create the database with {prog} -migrate-db"),
            ],
        }
    }

    /// The full refusal an application prints (on stderr) when its start-up gate fails:
    /// `DB Connection: Failed DB version check.` then [`GateStatus::advice`].
    pub fn refusal(&self, prog: &str) -> String {
        let mut s = String::from("DB Connection: Failed DB version check.\n");
        for l in self.advice(prog) {
            s.push_str(&l);
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for GateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateStatus::UpToDate { version } => {
                write!(f, "database is at version {version}, up to date")
            }
            GateStatus::Behind {
                current,
                latest,
                pending,
            } => match current {
                Some(c) => write!(
                    f,
                    "database version {c} is behind {latest}: pending migrations {}",
                    join(pending)
                ),
                None => write!(
                    f,
                    "database has no migration applied, need {latest}: pending migrations {}",
                    join(pending)
                ),
            },
            GateStatus::Ahead { current, latest } => write!(
                f,
                "database version {current} is newer than this binary's latest migration {latest}"
            ),
            GateStatus::Dirty { version, .. } => {
                write!(
                    f,
                    "Dirty database version {version}. Fix and force version."
                )
            }
            GateStatus::Drifted { files, .. } => {
                write!(f, "applied migrations were edited: {}", files.join(", "))
            }
            GateStatus::Missing { files, .. } => {
                write!(f, "applied migrations are missing: {}", files.join(", "))
            }
            GateStatus::NoVersionTable { table, latest } => {
                write!(f, "database has no {table} table, need version {latest}")
            }
            GateStatus::NoDatabaseFile { path, latest } => write!(
                f,
                "database file {} does not exist, need version {latest}",
                path.display()
            ),
        }
    }
}

/// The overall verdict of `migrate status` (`verdict` in its JSON, kebab-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every migration is applied and the files match what was applied.
    UpToDate,
    /// Migrations are pending.
    Pending,
    /// A migration failed part-way: the database is dirty.
    Dirty,
    /// Applied files were edited, are missing, or a file is out of order.
    Drift,
    /// The database is newer than the newest file.
    DatabaseNewer,
}

impl Verdict {
    /// The process exit code, the gate's code for the same state.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Verdict::UpToDate => ExitCode::Ok,
            Verdict::Pending => ExitCode::Behind,
            Verdict::Dirty => ExitCode::Dirty,
            Verdict::Drift => ExitCode::Drift,
            Verdict::DatabaseNewer => ExitCode::Ahead,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let behind = GateStatus::Behind {
            current: Some(3),
            latest: 6,
            pending: vec![4, 5, 6],
        };
        assert!(!behind.allows(Policy::RequireLatest));
        assert!(behind.allows(Policy::AtLeast(3)));
        assert!(!behind.allows(Policy::AtLeast(4)));
        let ahead = GateStatus::Ahead {
            current: 7,
            latest: 6,
        };
        assert!(ahead.allows(Policy::AtLeast(6)));
        assert!(!ahead.allows(Policy::RequireLatest));
        let dirty = GateStatus::Dirty {
            version: 6,
            latest: 6,
            previous: 5,
        };
        assert!(!dirty.allows(Policy::AtLeast(1)));
        assert_eq!(dirty.exit_code(), ExitCode::Dirty);
    }

    #[test]
    fn exit_codes_keep_their_numbers() {
        let all = [
            (ExitCode::Ok, 0),
            (ExitCode::Error, 1),
            (ExitCode::Behind, 3),
            (ExitCode::Dirty, 4),
            (ExitCode::Drift, 5),
            (ExitCode::Ahead, 6),
        ];
        for (c, n) in all {
            assert_eq!(c.code(), n);
            assert_eq!(i32::from(c), i32::from(n));
            assert_eq!(c.to_string(), n.to_string());
            assert_eq!(serde_json::to_string(&c).expect("json"), n.to_string());
        }
        assert_eq!(exit::OK, ExitCode::Ok);
        assert_eq!(exit::AHEAD, ExitCode::Ahead);
    }

    #[test]
    fn verdicts_have_distinct_codes_and_none_is_an_error_code() {
        let codes: std::collections::BTreeSet<u8> = [
            Verdict::UpToDate,
            Verdict::Pending,
            Verdict::Dirty,
            Verdict::Drift,
            Verdict::DatabaseNewer,
        ]
        .iter()
        .map(|v| v.exit_code().code())
        .collect();
        assert_eq!(codes.len(), 5);
        assert!(!codes.contains(&1) && !codes.contains(&2));
    }

    #[test]
    fn exit_codes_convert_to_every_integer_type() {
        for (c, n) in [
            (ExitCode::Usage, 2u8),
            (ExitCode::Dirty, 4),
            (ExitCode::Ahead, 6),
        ] {
            assert_eq!(u8::from(c), n);
            assert_eq!(
                format!("{:?}", std::process::ExitCode::from(c)),
                format!("{:?}", std::process::ExitCode::from(n))
            );
        }
    }

    #[test]
    fn up_to_date_is_allowed_by_every_policy() {
        let ok = GateStatus::UpToDate { version: 6 };
        for p in [
            Policy::RequireLatest,
            Policy::ApplyPending,
            Policy::AtLeast(9),
        ] {
            assert!(ok.allows(p), "{p:?}");
        }
    }

    /// The texts an application prints (cc-backend's wording), pinned here as well as in
    /// the gate's transcripts.
    #[test]
    fn refusals_read_as_cc_backend_prints_them() {
        let behind = GateStatus::Behind {
            current: Some(3),
            latest: 6,
            pending: vec![4, 5, 6],
        };
        assert_eq!(
            behind.to_string(),
            "database version 3 is behind 6: pending migrations 4, 5, 6"
        );
        assert_eq!(
            behind.refusal("app"),
            "DB Connection: Failed DB version check.\nError: unsupported database version 3, need 6.\nPending migrations: 4, 5, 6\nPlease backup your database file and run app -migrate-db\n"
        );
        let dirty = GateStatus::Dirty {
            version: 6,
            latest: 6,
            previous: 5,
        };
        assert_eq!(
            dirty.to_string(),
            "Dirty database version 6. Fix and force version."
        );
        assert_eq!(
            dirty.advice("app"),
            vec![
                "Error: last migration to version 6 has failed (the database is dirty at version 6), need 6.".to_string(),
                "Please fix the db manually and force the version it is really at with app -force-db V (after a failed SQLite migration, which is rolled back, that is usually 5).".to_string(),
            ]
        );
    }
}
