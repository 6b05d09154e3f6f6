//! The clap glue for applications: the database flags to flatten into their parser, and
//! cc-backend's single-dash spellings.

#[cfg(feature = "cli")]
use super::console::Console;
#[cfg(feature = "cli")]
use super::run::{run_with, BackupSettings, DbCommand};
#[cfg(feature = "cli")]
use crate::source::Source;
#[cfg(feature = "cli")]
use crate::status::ExitCode;

/// Rewrites the single-dash spellings cc-backend users type (`-migrate-db`,
/// `-force-db=5`, ..., and `-no-backup`) to the double-dash ones clap accepts. Stops at `--`.
pub fn normalize_db_args<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    const FLAGS: [&str; 6] = [
        "migrate-db",
        "revert-db",
        "downgrade-db",
        "force-db",
        "db-status",
        "no-backup",
    ];
    let mut done = false;
    args.into_iter()
        .map(Into::into)
        .map(|a: String| {
            if done {
                return a;
            }
            if a == "--" {
                done = true;
                return a;
            }
            match a.strip_prefix('-') {
                Some(rest) if !rest.starts_with('-') => {
                    let name = rest.split('=').next().unwrap_or("");
                    if FLAGS.contains(&name) {
                        format!("-{a}")
                    } else {
                        a
                    }
                }
                _ => a,
            }
        })
        .collect()
}

/// The database flags an application flattens into its own clap parser:
/// `#[command(flatten)] db: migrate::gate::DbArgs`. clap spells them `--migrate-db`;
/// call [`normalize_db_args`] on argv first to accept cc-backend's `-migrate-db` too.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct DbArgs {
    /// Migrate database to supported version and exit
    #[arg(long = "migrate-db", conflicts_with_all = ["revert_db", "force_db", "db_status"])]
    pub migrate_db: bool,
    /// Migrate database to previous version and exit
    #[arg(long = "revert-db", conflicts_with_all = ["force_db", "db_status", "downgrade_db"])]
    pub revert_db: bool,
    /// Bring a database newer than this binary down to its latest version with the down
    /// SQL stored when the newer versions were applied, and exit
    #[arg(long = "downgrade-db", conflicts_with_all = ["migrate_db", "force_db", "db_status"])]
    pub downgrade_db: bool,
    /// Force database version V, clear dirty flag and exit (V is required: after a failed
    /// SQLite migration it is usually the version before the failed one)
    #[arg(long = "force-db", value_name = "V", num_args = 0..=1, allow_negative_numbers = true, conflicts_with = "db_status")]
    pub force_db: Option<Option<i64>>,
    /// Print the database's version against this binary's and exit (exit code 0/2/3/4/5)
    #[arg(long = "db-status")]
    pub db_status: bool,
    /// With --migrate-db, --revert-db or --force-db: do not back the SQLite database file
    /// up first (by default a backup is made beside it, the newest 10 kept)
    #[arg(long = "no-backup")]
    pub no_backup: bool,
}

#[cfg(feature = "cli")]
impl DbArgs {
    /// The command given, if any.
    pub fn command(&self) -> Option<DbCommand> {
        if self.migrate_db {
            Some(DbCommand::Migrate)
        } else if self.revert_db {
            Some(DbCommand::Revert)
        } else if self.downgrade_db {
            Some(DbCommand::Downgrade)
        } else if let Some(v) = self.force_db {
            Some(DbCommand::Force(v))
        } else if self.db_status {
            Some(DbCommand::Status)
        } else {
            None
        }
    }
}

/// Runs whichever database command `args` holds and returns its exit code, or `None` when
/// none was given (the application then gates its start-up and serves).
#[cfg(feature = "cli")]
pub fn run_db_command(
    args: &DbArgs,
    source: Source,
    database_url: &str,
    out: &mut Console<'_>,
) -> Option<ExitCode> {
    let backups = BackupSettings {
        enabled: !args.no_backup,
        ..BackupSettings::default()
    };
    args.command()
        .map(|cmd| run_with(cmd, source, database_url, &backups, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_single_dash_db_flags_only() {
        let got = normalize_db_args([
            "-migrate-db",
            "-force-db=3",
            "-force-db",
            "-db",
            "--revert-db",
            "-db-status",
            "-no-backup",
            "--db=-migrate-db",
            "./-migrate-db",
            "--",
            "-migrate-db",
        ]);
        assert_eq!(
            got,
            [
                "--migrate-db",
                "--force-db=3",
                "--force-db",
                "-db",
                "--revert-db",
                "--db-status",
                "--no-backup",
                "--db=-migrate-db",
                "./-migrate-db",
                "--",
                "-migrate-db"
            ]
        );
    }
}
