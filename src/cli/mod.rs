//! The command line: Go-style flags, golang-migrate's start-up order (spec §1.3), one
//! function per command, golang-migrate's texts on stderr and its exit codes (0/1/2).

mod commands;
mod create;
mod journal;
mod log;
#[cfg(feature = "sqlite")]
mod safety;
mod signal;
mod usage;

use migrate::gate::DbCommand;
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
            // Extensions (issue #3, docs/journal.md); not in golang-migrate's usage text.
            d("allow-drift", Kind::Bool, "false"),
            d("allow-missing", Kind::Bool, "false"),
            d("allow-out-of-order", Kind::Bool, "false"),
            // Extension (issue #7): every pending step in one transaction.
            d("single-transaction", Kind::Bool, "false"),
            // Extension: cc-backend's database commands as global options (gate.rs).
            d("migrate-db", Kind::Bool, "false"),
            d("revert-db", Kind::Bool, "false"),
            d("force-db", Kind::String, ""),
            d("db-status", Kind::Bool, "false"),
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
    /// The database is a SQLite file that does not exist; read-only commands report on it
    /// without creating it.
    pub db_missing: bool,
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

/// Whether the database URL names a SQLite file that does not exist (opening it would
/// create it).
fn sqlite_file_missing(database_url: &str) -> bool {
    #[cfg(feature = "sqlite")]
    {
        use migrate::driver::sqlite::{Config, Target};
        let Ok(u) = migrate::url::DatabaseUrl::parse(database_url) else {
            return false;
        };
        if !matches!(u.scheme(), "sqlite3" | "sqlite") {
            return false;
        }
        matches!(Config::parse(&u), Ok(Config { target: Target::File(p), .. }) if !p.exists())
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = database_url;
        false
    }
}

/// Runs the CLI on `args` (without the program name) and returns the exit code.
pub fn run(args: Vec<String>) -> Code {
    log::guard_secrets(&args);
    let flags = global_flags();
    // `-force-db` without a value is refused with an explanation (gate.rs), not Go's
    // "flag needs an argument".
    let mut force_without_value = false;
    let mut parsed = flags.parse(&args);
    if let Err(ParseError::Invalid(msg)) = &parsed {
        if msg == "flag needs an argument: -force-db" {
            force_without_value = true;
            let trimmed = &args[..args.len().saturating_sub(1)];
            parsed = flags.parse(trimmed);
        }
    }
    let parsed = match parsed {
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
    let db_command = match db_command(&parsed, force_without_value) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(cmd) = db_command {
        return run_db_command(cmd, &parsed, &source_url, &database_url, log);
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
    // The read-only extensions never write: no version table, no database file.
    let read_only = matches!(command.as_str(), "status" | "history" | "validate");
    let db_missing = read_only && sqlite_file_missing(&database_url);
    let single_transaction = parsed.bool("single-transaction");
    let allow = migrate::journal::Allow {
        drift: parsed.bool("allow-drift"),
        missing: parsed.bool("allow-missing"),
        out_of_order: parsed.bool("allow-out-of-order"),
    };
    // golang-migrate constructs the migrator for every command, even `create` and unknown
    // ones, and reports the error only where a command needs it.
    let build = |create_table: bool| {
        construct(&source_url, &database_url, create_table).map(|mut m| {
            m.set_lock_timeout(lock_timeout);
            m.set_allow(allow);
            m.set_single_transaction(single_transaction);
            m
        })
    };
    let migrator = if command == "validate" || db_missing {
        Err(Error::Other("no database needed".into()))
    } else if read_only {
        build(false)
    } else {
        #[cfg(feature = "sqlite")]
        let m = if safety::opens_read_only(&command, sflags.dry_run) {
            // Dry runs and the safety commands must not create the file or the table.
            migrate::url::scheme(&source_url, migrate::error::UrlKind::Source)
                .and_then(|_| {
                    migrate::url::scheme(&database_url, migrate::error::UrlKind::Database)
                })
                .and_then(|_| Source::open(&source_url))
                .and_then(|s| migrate::safety::open_no_create(s, &database_url))
                .map(|mut m| {
                    m.set_lock_timeout(lock_timeout);
                    m.set_allow(allow);
                    m.set_single_transaction(single_transaction);
                    m
                })
        } else {
            build(true)
        };
        #[cfg(not(feature = "sqlite"))]
        let m = build(true);
        m
    };
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
        db_missing,
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
        "status" => journal::status(&mut ctx, &args),
        "history" => journal::history(&mut ctx, &args),
        "validate" => journal::validate(&mut ctx, &args),
        "repair" => journal::repair(&mut ctx, &args),
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
    if code == 0
        && ctx.migrator.is_ok()
        && !matches!(
            command.as_str(),
            "" | "create" | "status" | "history" | "validate" | "repair"
        )
    {
        log.verbose("Closing source and database");
    }
    code
}

/// The database command given as a global option (`-migrate-db`, `-revert-db`,
/// `-force-db V`, `-db-status`), if any; more than one is a usage error (exit 2).
fn db_command(
    p: &migrate::gocompat::flag::Parsed,
    force_without_value: bool,
) -> Result<Option<DbCommand>, Code> {
    let mut given = Vec::new();
    if p.bool("migrate-db") {
        given.push(DbCommand::Migrate);
    }
    if p.bool("revert-db") {
        given.push(DbCommand::Revert);
    }
    if force_without_value || p.is_set("force-db") {
        // A value that is not an integer is treated as a missing one: refused, explained.
        given.push(DbCommand::Force(commands::parse_int(&p.string("force-db"))));
    }
    if p.bool("db-status") {
        given.push(DbCommand::Status);
    }
    match given.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => {
            eprintln!("error: use only one of -migrate-db, -revert-db, -force-db V, -db-status");
            Err(2)
        }
    }
}

/// Runs a database command on the source and database given by the global flags. The
/// check is read-only and nothing is created before the command decides to write. The
/// safety flags apply: `-no-backup`, `-backup-dir`, `-backup-keep`, and `-dry-run` (with
/// `-migrate-db` only).
fn run_db_command(
    cmd: DbCommand,
    parsed: &migrate::gocompat::flag::Parsed,
    source_url: &str,
    database_url: &str,
    log: Log,
) -> Code {
    let opened = migrate::url::scheme(source_url, migrate::error::UrlKind::Source)
        .and_then(|_| migrate::url::scheme(database_url, migrate::error::UrlKind::Database))
        .and_then(|_| Source::open(source_url));
    let source = match opened {
        Ok(s) => s,
        Err(e) => return fatal_err(&log, &e),
    };
    let mut console = log::console("migrate");
    #[cfg(feature = "sqlite")]
    {
        let f = safety::Flags::from(parsed);
        match cmd {
            DbCommand::Migrate if f.dry_run => {
                return safety::migrate_db_dry_run(source, database_url, &mut console, log);
            }
            DbCommand::Revert | DbCommand::Force(_) if f.dry_run => {
                // Never run a changing command when a dry run was asked for.
                eprintln!("error: -dry-run works with -migrate-db only (and with up, down, goto); nothing was changed");
                return 2;
            }
            _ => {}
        }
        let backups = migrate::gate::BackupSettings {
            enabled: !f.opts.no_backup,
            dir: f.opts.backup_dir,
            keep: f.opts.keep,
        };
        i32::from(migrate::gate::run_with(
            cmd,
            source,
            database_url,
            &backups,
            &mut console,
        ))
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = parsed;
        i32::from(migrate::gate::run(cmd, source, database_url, &mut console))
    }
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
