//! The command line: Go-style flags, golang-migrate's start-up order (spec §1.3), one
//! function per command, golang-migrate's texts on stderr and its exit codes (0/1/2).

mod commands;
mod create;
mod log;
#[cfg(feature = "sqlite")]
mod safety;
mod signal;
mod usage;

use migrate::gocompat::flag::{Def, FlagSet, Kind, ParseError};
use migrate::{Error, Migrator, Source};

pub use log::Log;

/// How a command ended: the process exit code.
pub type Code = i32;

fn global_flags() -> FlagSet {
    let d = |name, kind, default| Def {
        name,
        kind,
        default,
        usage: "",
    };
    FlagSet::new(
        "migrate",
        vec![
            d("help", Kind::Bool, "false"),
            d("version", Kind::Bool, "false"),
            d("verbose", Kind::Bool, "false"),
            d("prefetch", Kind::Uint, "10"),
            d("lock-timeout", Kind::Uint, "15"),
            d("path", Kind::String, ""),
            d("database", Kind::String, ""),
            d("source", Kind::String, ""),
        ]
        .into_iter()
        .chain(safety_defs())
        .collect(),
    )
}

// --- safety (issue 4): global flags -backup-dir, -backup-keep, -no-backup,
// -integrity-check, -restore-on-failure, -optimize, -dry-run (see docs/backups.md) ---
#[cfg(feature = "sqlite")]
fn safety_defs() -> Vec<Def> {
    safety::global_defs()
}
#[cfg(not(feature = "sqlite"))]
fn safety_defs() -> Vec<Def> {
    Vec::new()
}

/// Everything a command needs from the global flags.
#[allow(dead_code)] // the URLs and timeout serve the extension commands
pub struct Ctx {
    pub log: Log,
    pub source_url: String,
    pub database_url: String,
    pub lock_timeout: std::time::Duration,
    /// The migrator, or the construction error golang-migrate keeps for later (§1.3).
    pub migrator: Result<Migrator, Error>,
    pub started: std::time::Instant,
}

impl Ctx {
    /// The migrator, or golang-migrate's `error: <construction error>`, exit 1.
    pub fn migrator(&mut self) -> Result<&mut Migrator, Code> {
        match &mut self.migrator {
            Ok(m) => Ok(m),
            Err(e) => Err(fatal_err(&self.log, e)),
        }
    }
}

/// Prints `error: <e>` (and a hint line) and returns exit code 1.
pub fn fatal_err(log: &Log, e: &Error) -> Code {
    log.println(&format!("error: {e}"));
    if let Some(h) = e.hint() {
        log.println(&format!("hint: {h}"));
    }
    1
}

/// Prints a plain fatal message and returns exit code 1.
pub fn fatal(log: &Log, msg: &str) -> Code {
    log.println(msg);
    1
}

/// golang-migrate's `migrate.New`: both schemes first, then the source, then the database
/// (which creates the version table, as golang-migrate's drivers do on open).
fn construct(source_url: &str, database_url: &str, create_table: bool) -> Result<Migrator, Error> {
    migrate::url::scheme(source_url, migrate::error::UrlKind::Source)?;
    migrate::url::scheme(database_url, migrate::error::UrlKind::Database)?;
    let source = Source::open(source_url)?;
    let mut m = Migrator::open(source, database_url)?;
    if create_table {
        m.ensure_version_table()
            .map_err(|e| Error::DatabaseOpen(Box::new(e)))?;
    }
    Ok(m)
}

/// Runs the CLI on `args` (without the program name) and returns the exit code.
pub fn run(args: Vec<String>) -> Code {
    let flags = global_flags();
    let parsed = match flags.parse(&args) {
        Ok(p) => p,
        Err(ParseError::Help) => {
            eprint!("{}", usage::global());
            return 0;
        }
        Err(ParseError::Invalid(msg)) => {
            eprintln!("{msg}");
            eprint!("{}", usage::global());
            return 2;
        }
    };
    let log = Log {
        verbose: parsed.bool("verbose"),
    };
    if parsed.bool("version") {
        eprintln!("{}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    if parsed.bool("help") {
        eprint!("{}", usage::global());
        return 0;
    }
    let mut source_url = parsed.string("source");
    let path = parsed.string("path");
    if source_url.is_empty() && !path.is_empty() {
        source_url = format!("file://{path}");
    }
    let mut database_url = parsed.string("database");
    if database_url.is_empty() {
        // Extension: fall back to $DATABASE_URL, as many deployments already set it.
        database_url = std::env::var("DATABASE_URL").unwrap_or_default();
    }
    let rest = parsed.args().to_vec();
    let command = rest.first().cloned().unwrap_or_default();
    let mut args: Vec<String> = rest.iter().skip(1).cloned().collect();
    #[cfg(feature = "sqlite")]
    let sflags = {
        let mut f = safety::Flags::from(&parsed);
        f.dry_run |= safety::take_dry_run(&command, &mut args);
        if let Some(bad) = &f.bad_check {
            eprintln!("invalid value {bad:?} for flag -integrity-check: want quick or full");
            return 2;
        }
        f
    };
    let lock_timeout = std::time::Duration::from_secs(parsed.uint("lock-timeout"));
    // golang-migrate constructs the migrator for every command, even `create` and unknown
    // ones, and reports the error only where a command needs it.
    #[cfg(feature = "sqlite")]
    let migrator = if safety::opens_read_only(&command, sflags.dry_run) {
        // Dry runs and the safety commands must not create the file or the table.
        migrate::url::scheme(&source_url, migrate::error::UrlKind::Source)
            .and_then(|_| migrate::url::scheme(&database_url, migrate::error::UrlKind::Database))
            .and_then(|_| Source::open(&source_url))
            .and_then(|s| migrate::safety::open_no_create(s, &database_url))
    } else {
        construct(&source_url, &database_url, true)
    };
    #[cfg(not(feature = "sqlite"))]
    let migrator = construct(&source_url, &database_url, true);
    let migrator = migrator.map(|mut m| {
        m.set_lock_timeout(lock_timeout);
        m
    });
    if let Ok(m) = &migrator {
        signal::install(m.stop_flag(), log);
    }
    let mut ctx = Ctx {
        log,
        source_url,
        database_url,
        lock_timeout,
        migrator,
        started: std::time::Instant::now(),
    };
    #[cfg(feature = "sqlite")]
    let changes =
        matches!(command.as_str(), "up" | "down" | "goto" | "drop" | "force") && !sflags.dry_run;
    #[cfg(feature = "sqlite")]
    let sstate = changes.then(|| safety::install(&mut ctx, &sflags));
    #[cfg(feature = "sqlite")]
    if changes {
        if let Some(code) = safety::preflight(&mut ctx, &sflags) {
            return code;
        }
    }
    let code = match command.as_str() {
        "" => {
            eprint!("{}", usage::global());
            2
        }
        "create" => create::run(&mut ctx, &args),
        #[cfg(feature = "sqlite")]
        "up" | "down" | "goto" if sflags.dry_run => safety::dry_run(&mut ctx, &command, &args),
        #[cfg(feature = "sqlite")]
        "backup" => safety::backup_cmd(&mut ctx, &sflags, &args),
        #[cfg(feature = "sqlite")]
        "backups" => safety::backups_cmd(&mut ctx, &sflags, &args),
        #[cfg(feature = "sqlite")]
        "restore" => safety::restore_cmd(&mut ctx, &sflags, &args),
        #[cfg(feature = "sqlite")]
        "rehearse" => safety::rehearse_cmd(&mut ctx, &sflags, &args),
        "goto" => commands::goto(&mut ctx, &args),
        "up" => commands::up(&mut ctx, &args),
        "down" => commands::down(&mut ctx, &args),
        "drop" => commands::drop(&mut ctx, &args),
        "force" => commands::force(&mut ctx, &args),
        "version" => commands::version(&mut ctx),
        _ => {
            eprint!("{}", usage::global());
            2
        }
    };
    #[cfg(feature = "sqlite")]
    let code = match &sstate {
        Some(st) => safety::after(&mut ctx, &sflags, st, code),
        None => code,
    };
    if code == 0 && ctx.migrator.is_ok() && !matches!(command.as_str(), "" | "create") {
        log.verbose("Closing source and database");
    }
    code
}

/// A command's flag set: golang-migrate gives each a `-help` flag.
pub fn command_flags(name: &str, mut defs: Vec<Def>) -> FlagSet {
    defs.push(Def {
        name: "help",
        kind: Kind::Bool,
        default: "false",
        usage: "Print help information",
    });
    FlagSet::new(name, defs)
}

/// Parses a command's flags the way Go's `ExitOnError` flag sets do: on error the message
/// and `Usage of <cmd>:` (exit 2); `-h` prints the same usage (exit 0); `-help` prints
/// the command's usage snippet and its flags (exit 0).
pub fn parse_command(
    set: &FlagSet,
    name: &str,
    snippet: &str,
    args: &[String],
) -> Result<migrate::gocompat::flag::Parsed, Code> {
    match set.parse(args) {
        Ok(p) if p.bool("help") => {
            eprintln!("{snippet}");
            eprint!("{}", set.defaults());
            Err(0)
        }
        Ok(p) => Ok(p),
        Err(ParseError::Help) => {
            eprintln!("Usage of {name}:");
            eprint!("{}", set.defaults());
            Err(0)
        }
        Err(ParseError::Invalid(msg)) => {
            eprintln!("{msg}");
            eprintln!("Usage of {name}:");
            eprint!("{}", set.defaults());
            Err(2)
        }
    }
}
