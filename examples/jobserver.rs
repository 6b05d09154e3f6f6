//! A small "job server" that ships its migrations inside its binary (cc-backend's pattern):
//! it embeds `migrations/`, offers `--migrate-db`, `--revert-db`, `--downgrade-db`,
//! `--force-db V` and `--db-status` (single-dash spellings accepted too), and refuses to
//! start unless the database is exactly at its latest version. docs/release-binary.md
//! walks through it.
//!
//! `JOBSERVER_EMBED_UP_TO=N` makes it the previous release, which shipped the migrations
//! up to version N only (rollback drills: the downgrade walk-through in
//! docs/release-binary.md).
//!
//! ```sh
//! cargo run --example jobserver -- --db var/job.db -migrate-db
//! cargo run --example jobserver -- --db var/job.db
//! ```

use std::borrow::Cow;
use std::process::ExitCode;

use clap::Parser;
use migrate::gate::{self, Console, DbArgs, Policy};
use migrate::{Error, Source};

static MIGRATIONS: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/migrations");

/// A job server that refuses to start on the wrong schema.
#[derive(Parser, Debug)]
#[command(name = "jobserver")]
struct Args {
    /// The SQLite database file
    #[arg(long, value_name = "PATH", default_value = "./var/job.db")]
    db: String,
    #[command(flatten)]
    dbcmd: DbArgs,
}

/// The embedded migrations, or those up to version `up_to` (the previous release's set).
fn embedded_up_to(up_to: Option<String>) -> Result<Source, String> {
    let Some(n) = up_to else {
        return Source::embedded(&MIGRATIONS).map_err(|e| e.to_string());
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("JOBSERVER_EMBED_UP_TO={n}: not a version"))?;
    let files = MIGRATIONS.files().filter_map(|f| {
        let name = f.path().file_name()?.to_str()?.to_string();
        let version = migrate::source::name::parse(&name)?.version;
        (version <= n).then(|| (name, Cow::Borrowed(f.contents())))
    });
    Source::from_files(files).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = Args::parse_from(gate::normalize_db_args(std::env::args()));
    let source = match embedded_up_to(std::env::var("JOBSERVER_EMBED_UP_TO").ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jobserver: embedded migrations: {e}");
            return ExitCode::from(gate::exit::ERROR);
        }
    };
    let url = format!("sqlite3://{}", args.db);
    // A database command runs instead of the server and decides the exit code.
    let mut console = Console::stdio("jobserver");
    if let Some(code) = gate::run_db_command(&args.dbcmd, source.clone(), &url, &mut console) {
        return ExitCode::from(code);
    }
    match gate::gate(source, &url, Policy::RequireLatest) {
        Ok(status) => {
            let v = match status {
                migrate::GateStatus::UpToDate { version } => version,
                _ => 0, // RequireLatest lets nothing else through
            };
            println!("jobserver: schema at version {v}, serving");
            ExitCode::SUCCESS
        }
        Err(Error::Gate(status)) => {
            eprint!("{}", status.refusal("jobserver"));
            ExitCode::from(status.exit_code())
        }
        Err(e) => {
            eprintln!("Failed sqlite db setup.\nError: {e}");
            ExitCode::from(gate::exit::ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_migrations_match_the_directory() {
        let source = migrate::Source::embedded(&super::MIGRATIONS).expect("embedded");
        migrate::gate::assert_embedded_matches_dir(
            &source,
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"),
        );
    }
}
