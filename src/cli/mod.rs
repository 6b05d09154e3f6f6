//! The command line: Go-style flags, golang-migrate's start-up order, one function per
//! command, golang-migrate's texts on stderr and its exit codes (0/1/2).
//!
//! `run` parses argv once (`args.rs`: the global options and a `Command` with its own
//! arguments), opens the database as the command needs (`context`), and
//! `run_command` is the one place a command is matched to the function that runs it:
//!
//! | command | runs in |
//! |---|---|
//! | `up`, `down`, `goto`, `drop`, `force`, `version` | `commands.rs` |
//! | `create` | `create.rs` |
//! | `status`, `history`, `validate`, `repair` | `journal.rs` |
//! | `recover` | `recover.rs` |
//! | `backup`, `backups`, `restore`, `rehearse` | `safety.rs` |
//! | `-migrate-db`, `-revert-db`, `-downgrade-db`, `-force-db`, `-db-status` | `run_db_command` (`migrate::gate`) |
//!
//! Around a command that changes a SQLite file, `dispatch` runs the library's safety
//! hook (`safety.rs`: check and backup before, checks after); `-dry-run` runs the
//! command's dry run instead (`dry_run.rs`).

mod args;
mod commands;
mod create;
#[cfg(feature = "sqlite")]
mod dry_run;
mod failure;
mod journal;
pub mod log;
mod recover;
#[cfg(feature = "sqlite")]
mod safety;
mod signal;
mod usage;

use migrate::gate::DbCommand;
#[cfg(feature = "sqlite")]
use migrate::gocompat::flag::{FlagSet, Parsed};
use migrate::{Error, Migrator, Source};

#[cfg(feature = "sqlite")]
pub use args::command_flags;
use args::{Cli, Command, Exit, Global};
pub use log::Log;

/// How a command ended: the process exit code.
pub type Code = migrate::status::ExitCode;

/// Everything a command needs from the global flags.
pub struct Ctx {
    pub log: Log,
    pub source_url: String,
    pub database_url: String,
    /// How long the SQLite safety commands wait for the database lock.
    #[cfg(feature = "sqlite")]
    pub lock_timeout: std::time::Duration,
    /// The migrator, or the construction error golang-migrate keeps for later (it is reported
    /// by the commands that need the database).
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
    Code::Error
}

/// Prints a plain fatal message and returns exit code 1.
pub fn fatal(log: &Log, msg: &str) -> Code {
    log.println(msg);
    Code::Error
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

/// Opens the database without creating the file or the version table (SQLite: read-only,
/// a missing file as an empty in-memory database).
fn construct_no_create(source_url: &str, database_url: &str) -> Result<Migrator, Error> {
    #[cfg(feature = "sqlite")]
    {
        migrate::url::scheme(source_url, migrate::error::UrlKind::Source)?;
        migrate::url::scheme(database_url, migrate::error::UrlKind::Database)?;
        let source = Source::open(source_url)?;
        migrate::safety::open_no_create(source, database_url)
    }
    #[cfg(not(feature = "sqlite"))]
    construct(source_url, database_url, false)
}

/// The SQLite file the database URL names, when it does not exist (opening it would
/// create it).
pub fn missing_sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    #[cfg(feature = "sqlite")]
    {
        use migrate::driver::sqlite::{Config, Target};
        let u = migrate::url::DatabaseUrl::parse(database_url).ok()?;
        if !matches!(u.scheme(), "sqlite3" | "sqlite") {
            return None;
        }
        match Config::parse(&u) {
            Ok(Config {
                target: Target::File(p),
                ..
            }) if !p.exists() => Some(p),
            _ => None,
        }
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = database_url;
        None
    }
}

/// Runs the CLI on `argv` (without the program name) and returns the exit code.
pub fn run(argv: Vec<String>) -> Code {
    log::guard_secrets(&argv);
    let cli = match args::parse(&argv) {
        Ok(c) => c,
        Err(e) => return print_exit(e),
    };
    let log = Log {
        verbose: cli.global.verbose,
    };
    // One line on stderr once a wait for the migration lock passes a second.
    migrate::driver::lockwait::set_notice(move |w| log.println(&w.to_string()));
    if let Command::Db(cmd) = cli.command {
        return run_db_command(cmd, &cli.global);
    }
    let mut ctx = context(&cli);
    let code = dispatch(&mut ctx, &cli);
    if code == Code::Ok && ctx.migrator.is_ok() && says_closing(&cli.command) {
        ctx.log.verbose("Closing source and database");
    }
    code
}

/// Whether golang-migrate's `-verbose` ends the command with `Closing source and
/// database` (the commands it has; not migrate's own read-only ones).
fn says_closing(command: &Command) -> bool {
    !matches!(
        command,
        Command::Missing
            | Command::Create(_)
            | Command::Status { .. }
            | Command::History { .. }
            | Command::Validate { .. }
            | Command::Repair
            | Command::Recover { .. }
    )
}

/// Prints the text a parse ended with and returns its exit code.
fn print_exit(e: Exit) -> Code {
    match e.log {
        Some(log) => log.println(e.stderr.trim_end_matches('\n')),
        None => log::err(&e.stderr),
    }
    e.code
}

/// How a command opens the database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Not at all (`validate`; `status`/`history` on a SQLite file that does not exist).
    No,
    /// Without creating the version table (the read-only extensions).
    NoTable,
    /// Without creating the file or the table: dry runs and the backup commands.
    NoCreate,
    /// golang-migrate's way: the version table is created on open, for every command,
    /// even `create` and unknown ones; errors are reported where a command needs them.
    Create,
}

fn open_mode(cli: &Cli) -> (Open, bool) {
    let read_only = matches!(
        cli.command,
        Command::Status { .. }
            | Command::History { .. }
            | Command::Validate { .. }
            | Command::Recover { .. }
    );
    let db_missing = read_only && missing_sqlite_file(&cli.global.database_url).is_some();
    let no_create = cli.global.dry_run || cli.command.handles_its_file();
    let mode = if matches!(cli.command, Command::Validate { .. }) || db_missing {
        Open::No
    } else if read_only {
        Open::NoTable
    } else if no_create && cfg!(feature = "sqlite") {
        Open::NoCreate
    } else {
        Open::Create
    };
    (mode, db_missing)
}

/// The migrator (or its construction error) and everything else a command needs.
fn context(cli: &Cli) -> Ctx {
    let g = &cli.global;
    let log = Log { verbose: g.verbose };
    let (mode, db_missing) = open_mode(cli);
    let migrator = match mode {
        Open::No => Err(Error::Other("no database needed".into())),
        Open::NoTable => construct(&g.source_url, &g.database_url, false),
        Open::NoCreate => construct_no_create(&g.source_url, &g.database_url),
        Open::Create => construct(&g.source_url, &g.database_url, true),
    }
    .map(|mut m| {
        m.set_lock_timeout(g.lock_timeout);
        m.set_allow(g.allow);
        m.set_single_transaction(g.single_transaction);
        m
    });
    if let Ok(m) = &migrator {
        signal::install(m.stop_flag(), log);
    }
    Ctx {
        log,
        source_url: g.source_url.clone(),
        database_url: g.database_url.clone(),
        #[cfg(feature = "sqlite")]
        lock_timeout: g.lock_timeout,
        migrator,
        started: std::time::Instant::now(),
        db_missing,
    }
}

/// Runs the command, with `-dry-run` and, around a change, the safety hook (SQLite).
fn dispatch(ctx: &mut Ctx, cli: &Cli) -> Code {
    #[cfg(feature = "sqlite")]
    {
        let flags = &cli.global.safety;
        if cli.global.dry_run {
            if let Some(code) = dry_run::run(ctx, &cli.command) {
                return code;
            }
        }
        if cli.command.changes_database() && !cli.global.dry_run {
            let hook = safety::install(ctx, flags);
            if let Some(code) = safety::preflight(ctx, hook.as_ref()) {
                return code;
            }
            let code = run_command(ctx, cli);
            return safety::after(ctx, flags, hook.as_ref(), code);
        }
    }
    run_command(ctx, cli)
}

/// The one place a command is matched to the function that runs it.
fn run_command(ctx: &mut Ctx, cli: &Cli) -> Code {
    match &cli.command {
        Command::Missing => {
            log::err(&usage::global());
            Code::Usage
        }
        Command::Unknown(word) => unknown_command(word),
        Command::Create(p) => create::run(ctx, p),
        Command::Goto(v) => commands::goto(ctx, *v),
        Command::Up(limit) => commands::up(ctx, *limit),
        Command::Down(to) => commands::down(ctx, *to),
        Command::Drop { force } => commands::drop(ctx, *force),
        Command::Force(v) => commands::force(ctx, *v),
        Command::Version => commands::version(ctx),
        Command::Status { json, journal } => journal::status(ctx, *json, *journal),
        Command::History { json, limit } => journal::history(ctx, *json, *limit),
        Command::Validate { json } => journal::validate(ctx, *json),
        Command::Repair => journal::repair(ctx),
        Command::Recover { json } => recover::recover_cmd(ctx, *json),
        #[cfg(feature = "sqlite")]
        Command::Backup(a) => safety::backup_cmd(ctx, &cli.global.safety, a),
        #[cfg(feature = "sqlite")]
        Command::Backups(a) => safety::backups_cmd(ctx, &cli.global.safety, a),
        #[cfg(feature = "sqlite")]
        Command::Restore(a) => safety::restore_cmd(ctx, &cli.global.safety, a),
        #[cfg(feature = "sqlite")]
        Command::Rehearse(t) => safety::rehearse_cmd(ctx, &cli.global.safety, *t),
        Command::Db(cmd) => run_db_command(*cmd, &cli.global),
    }
}

/// An unknown command: named (with the closest command), then golang-migrate's usage.
fn unknown_command(word: &str) -> Code {
    let quoted = migrate::gocompat::quote::quote(word);
    match args::closest(word) {
        Some(c) => log::errln(&format!(
            "error: unknown command {quoted}; did you mean {c}?"
        )),
        None => log::errln(&format!("error: unknown command {quoted}")),
    }
    log::err(&usage::global());
    Code::Usage
}

/// Runs a database command on the source and database given by the global options. The
/// check is read-only and nothing is created before the command decides to write. The
/// options it honours (src/cli/args.rs): `-no-backup`, `-backup-dir`, `-backup-keep`, and
/// `-dry-run` with `-migrate-db` and `-db-status`.
fn run_db_command(cmd: DbCommand, g: &Global) -> Code {
    let log = Log { verbose: g.verbose };
    let opened = migrate::url::scheme(&g.source_url, migrate::error::UrlKind::Source)
        .and_then(|_| migrate::url::scheme(&g.database_url, migrate::error::UrlKind::Database))
        .and_then(|_| Source::open(&g.source_url));
    let source = match opened {
        Ok(s) => s,
        Err(e) => return fatal_err(&log, &e),
    };
    let mut console = migrate::gate::Console {
        prog: "migrate".into(),
        out: Box::new(log::Writer(log::Stream::Stdout)),
        err: Box::new(log::Writer(log::Stream::Stderr)),
    };
    #[cfg(feature = "sqlite")]
    {
        let f = &g.safety;
        if matches!(cmd, DbCommand::Migrate) && f.dry_run {
            return dry_run::migrate_db_dry_run(source, &g.database_url, &mut console, log);
        }
        let backups = migrate::gate::BackupSettings {
            enabled: !f.opts.no_backup,
            dir: f.opts.backup_dir.clone(),
            keep: f.opts.keep,
        };
        migrate::gate::run_with(cmd, source, &g.database_url, &backups, &mut console)
    }
    #[cfg(not(feature = "sqlite"))]
    {
        migrate::gate::run(cmd, source, &g.database_url, &mut console)
    }
}

#[cfg(feature = "sqlite")]
/// [`args::parse_command`] for the commands that parse their own flags (`backup`,
/// `backups`, `restore`): prints the text it ends with and returns the exit code. An
/// option word after the `reads` arguments the command reads is refused, as for every
/// other command.
pub fn parse_command(
    set: &FlagSet,
    name: &str,
    snippet: &str,
    args: &[String],
    reads: usize,
) -> Result<Parsed, Code> {
    let p = args::parse_command(set, name, snippet, args).map_err(print_exit)?;
    args::no_trailing_options(name, &p, reads).map_err(print_exit)?;
    Ok(p)
}
