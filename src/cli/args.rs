//! The command line, parsed once into a typed [`Cli`]: the global options (golang-migrate's
//! and migrate's own) and one [`Command`] with its arguments.
//!
//! Command names are matched here and nowhere else, and here it is decided, once, which of
//! migrate's own options a command honours: an option a command cannot honour is refused
//! with exit 2, never ignored. golang-migrate's options and flag errors keep Go's `flag`
//! semantics and golang-migrate's texts. Parsing prints nothing: a parse that ends the
//! run comes back as an [`Exit`] with the text for stderr.

use migrate::gate::DbCommand;
use migrate::gocompat::flag::{Def, FlagSet, Kind, ParseError, Parsed};
use migrate::gocompat::quote::quote;
use migrate::journal::Allow;
#[cfg(feature = "sqlite")]
use migrate::Target;

use super::commands::{parse_int, parse_uint};
use super::{usage, Code};

/// The parsed command line.
pub struct Cli {
    /// The options that apply to every command.
    pub global: Global,
    /// The command to run, with its own arguments.
    pub command: Command,
}

/// The global options, including migrate's own options given after the command.
pub struct Global {
    /// `-verbose`: golang-migrate's log lines with their time prefix, and the extra lines.
    pub verbose: bool,
    /// `-lock-timeout N`, in seconds.
    pub lock_timeout: std::time::Duration,
    /// `-source`, or `file://` and `-path`; empty when neither is given.
    pub source_url: String,
    /// `-database`, or `$DATABASE_URL`; empty when neither is given.
    pub database_url: String,
    /// `-allow-drift`, `-allow-missing`, `-allow-out-of-order`.
    pub allow: Allow,
    /// `-single-transaction`.
    pub single_transaction: bool,
    /// `-dry-run`.
    pub dry_run: bool,
    /// The SQLite safety options (`-no-backup`, `-backup-dir`, `-integrity-check`, ...).
    #[cfg(feature = "sqlite")]
    pub safety: super::safety::Flags,
}

/// A command and its own arguments. An argument golang-migrate reports only after the
/// database was opened (`goto x`: the construction error comes first) is kept as a
/// `Result` and reported by the command.
pub enum Command {
    /// No command: golang-migrate's usage, exit 2.
    Missing,
    /// A word that is no command: named, with the closest command, then the usage, exit 2.
    Unknown(String),
    /// `create`'s flags (golang-migrate's) and its NAME.
    Create(Parsed),
    /// `goto V`.
    Goto(Result<u64, ArgError>),
    /// `up [N]`: all (`None`) or N.
    Up(Result<Option<u64>, ArgError>),
    /// `down [N] [-all]`.
    Down(Result<DownTo, ArgError>),
    /// `drop [-f]`: `force` skips the confirmation.
    Drop { force: bool },
    /// `force V` (V may be -1).
    Force(Result<i64, ArgError>),
    /// `version`.
    Version,
    /// `status [-format text|json] [-journal N]`.
    Status { json: bool, journal: u64 },
    /// `history [-format text|json] [-limit N]`.
    History { json: bool, limit: u64 },
    /// `validate [-format text|json]`.
    Validate { json: bool },
    /// `repair`.
    Repair,
    /// `recover [-format text|json]`: explains a dirty database (reads only).
    Recover { json: bool },
    /// `backup`, `backups` and `restore` parse their own flags (src/cli/safety.rs).
    #[cfg(feature = "sqlite")]
    Backup(Vec<String>),
    /// `backups`.
    #[cfg(feature = "sqlite")]
    Backups(Vec<String>),
    /// `restore BACKUP`.
    #[cfg(feature = "sqlite")]
    Restore(Vec<String>),
    /// `rehearse [N | goto V]`.
    #[cfg(feature = "sqlite")]
    Rehearse(Result<Target, ArgError>),
    /// A database command given as a global option (`-migrate-db`, ...), instead of a
    /// command word.
    Db(DbCommand),
}

/// How far `down` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownTo {
    /// `down -all`.
    All,
    /// `down` without N: golang-migrate asks before applying all down migrations.
    AskAll,
    /// `down N`.
    By(u64),
}

/// A command argument golang-migrate refuses with `error: ...` and exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgError(pub &'static str);

/// The end of a run decided while parsing: the text for stderr and the exit code.
#[derive(Debug)]
pub struct Exit {
    /// The exit code.
    pub code: Code,
    /// What to print on stderr before exiting.
    pub stderr: String,
    /// The text is a golang-migrate log line (`-verbose` prefixes it with the time).
    pub log: Option<super::Log>,
}

fn exit(code: Code, stderr: impl Into<String>) -> Exit {
    Exit {
        code,
        stderr: stderr.into(),
        log: None,
    }
}

/// Every command word, in the order the usage lists them.
pub const COMMANDS: &[&str] = &[
    "create",
    "goto",
    "up",
    "down",
    "drop",
    "force",
    "version",
    "status",
    "history",
    "validate",
    "repair",
    "recover",
    #[cfg(feature = "sqlite")]
    "backup",
    #[cfg(feature = "sqlite")]
    "backups",
    #[cfg(feature = "sqlite")]
    "restore",
    #[cfg(feature = "sqlite")]
    "rehearse",
];

/// migrate's own global options: name, kind, default, and the line the usage prints.
/// (golang-migrate's options and the database commands are in [`global_flags`].)
pub const OWN_OPTIONS: &[(&str, Kind, &str, &str)] = &[
    // The plans of a dry run are printed by src/cli/dry_run.rs, built with SQLite.
    #[cfg(feature = "sqlite")]
    (
        "dry-run",
        Kind::Bool,
        "false",
        "Print what the command would do and change nothing",
    ),
    (
        "allow-drift",
        Kind::Bool,
        "false",
        "Migrate although an applied file changed (up, down, goto)",
    ),
    (
        "allow-missing",
        Kind::Bool,
        "false",
        "Migrate although an applied file is missing (up, down, goto)",
    ),
    (
        "allow-out-of-order",
        Kind::Bool,
        "false",
        "Apply never-applied files older than the database version (up, down, goto)",
    ),
    (
        "single-transaction",
        Kind::Bool,
        "false",
        "Run every pending step in one transaction (up, down, goto)",
    ),
    #[cfg(feature = "sqlite")]
    (
        "no-backup",
        Kind::Bool,
        "false",
        "No automatic SQLite backup before a change",
    ),
    #[cfg(feature = "sqlite")]
    (
        "backup-dir",
        Kind::String,
        "",
        "Directory for SQLite backups (default: beside the database)",
    ),
    #[cfg(feature = "sqlite")]
    (
        "backup-keep",
        Kind::Uint,
        "10",
        "SQLite backups kept, newest first; 0 keeps all",
    ),
    #[cfg(feature = "sqlite")]
    (
        "backup-max-size",
        Kind::String,
        "0",
        "Most bytes this SQLite database's backups may take together, e.g. 20GB; 0: no limit",
    ),
    #[cfg(feature = "sqlite")]
    (
        "integrity-check",
        Kind::String,
        "quick",
        "SQLite check before and after a change: quick or full",
    ),
    #[cfg(feature = "sqlite")]
    (
        "restore-on-failure",
        Kind::Bool,
        "false",
        "Restore the SQLite backup when a run fails",
    ),
    #[cfg(feature = "sqlite")]
    (
        "optimize",
        Kind::Bool,
        "false",
        "PRAGMA optimize after a successful SQLite run",
    ),
];

/// golang-migrate's global flags, migrate's own options and the database commands.
fn global_flags() -> FlagSet {
    let d = |name, kind, default| Def {
        name,
        kind,
        default,
        usage: "",
    };
    let mut defs = vec![
        d("help", Kind::Bool, "false"),
        d("version", Kind::Bool, "false"),
        d("verbose", Kind::Bool, "false"),
        d("prefetch", Kind::Uint, "10"),
        d("lock-timeout", Kind::Uint, "15"),
        d("path", Kind::String, ""),
        d("database", Kind::String, ""),
        d("source", Kind::String, ""),
        d("migrate-db", Kind::Bool, "false"),
        d("revert-db", Kind::Bool, "false"),
        d("downgrade-db", Kind::Bool, "false"),
        d("force-db", Kind::String, ""),
        d("db-status", Kind::Bool, "false"),
    ];
    defs.extend(
        OWN_OPTIONS
            .iter()
            .map(|&(name, kind, default, _)| d(name, kind, default)),
    );
    FlagSet::new("migrate", defs)
}

/// Whether `name` is a global option: golang-migrate's, migrate's own, or a database
/// command.
fn is_global(name: &str) -> bool {
    const GLOBAL: &[&str] = &[
        "help",
        "version",
        "verbose",
        "prefetch",
        "lock-timeout",
        "path",
        "database",
        "source",
        "migrate-db",
        "revert-db",
        "downgrade-db",
        "force-db",
        "db-status",
    ];
    GLOBAL.contains(&name) || own_option(name).is_some()
}

/// Parses the command line (without the program name).
pub fn parse(args: &[String]) -> Result<Cli, Exit> {
    let (globals, force_without_value) = parse_globals(args)?;
    let rest = globals.args().to_vec();
    let db = db_command(&globals, force_without_value)?;
    if let Some(cmd) = db {
        if let Some(word) = rest.first() {
            return Err(exit(
                Code::Usage,
                format!(
                    "error: {} is a command of its own: give no command ({}) with it\n",
                    db_option(cmd),
                    word
                ),
            ));
        }
    }
    let word = rest.first().cloned().unwrap_or_default();
    let (own_after, cmd_args) = take_own_options(&rest[rest.len().min(1)..]);
    let globals = if own_after.is_empty() {
        globals
    } else {
        let head = &args[..args.len() - rest.len()];
        let head = head.strip_suffix(&["--".to_string()]).unwrap_or(head);
        let all: Vec<String> = head.iter().cloned().chain(own_after).collect();
        parse_globals(&all)?.0
    };
    let command = match db {
        Some(cmd) => Command::Db(cmd),
        None => command(&word, &cmd_args).map_err(|mut e| {
            if e.log.is_some() {
                e.log = Some(super::Log {
                    verbose: globals.bool("verbose"),
                });
            }
            e
        })?,
    };
    check_own_options(&globals, &command, &word)?;
    Ok(Cli {
        global: global(&globals)?,
        command,
    })
}

/// golang-migrate's global flags: Go's errors with the usage (exit 2), `-help`/`-h` and
/// `-version` (exit 0). `-force-db` without a value is let through and refused later
/// with an explanation (the bool says so), not Go's "flag needs an argument".
fn parse_globals(args: &[String]) -> Result<(Parsed, bool), Exit> {
    let flags = global_flags();
    let mut force_without_value = false;
    let mut parsed = flags.parse(args);
    if let Err(ParseError::Invalid(msg)) = &parsed {
        if msg == "flag needs an argument: -force-db" {
            force_without_value = true;
            parsed = flags.parse(&args[..args.len().saturating_sub(1)]);
        }
    }
    let parsed = match parsed {
        Ok(p) => p,
        Err(ParseError::Help) => return Err(exit(Code::Ok, usage::global())),
        Err(ParseError::Invalid(msg)) => {
            return Err(exit(Code::Usage, format!("{msg}\n{}", usage::global())));
        }
    };
    if parsed.bool("version") {
        return Err(exit(Code::Ok, format!("{}\n", env!("CARGO_PKG_VERSION"))));
    }
    if parsed.bool("help") {
        return Err(exit(Code::Ok, usage::global()));
    }
    Ok((parsed, force_without_value))
}

/// The typed global options.
fn global(p: &Parsed) -> Result<Global, Exit> {
    let mut source_url = p.string("source");
    let path = p.string("path");
    if source_url.is_empty() && !path.is_empty() {
        source_url = format!("file://{path}");
    }
    let mut database_url = p.string("database");
    if database_url.is_empty() {
        // Extension: fall back to $DATABASE_URL, as many deployments already set it.
        database_url = std::env::var("DATABASE_URL").unwrap_or_default();
    }
    #[cfg(feature = "sqlite")]
    let safety = super::safety::Flags::from(p);
    #[cfg(feature = "sqlite")]
    if let Some(bad) = &safety.bad_check {
        return Err(exit(
            Code::Usage,
            format!(
                "invalid value {} for flag -integrity-check: want quick or full\n",
                quote(bad)
            ),
        ));
    }
    #[cfg(feature = "sqlite")]
    if let Some(bad) = &safety.bad_max_size {
        return Err(exit(
            Code::Usage,
            format!(
                "invalid value {} for flag -backup-max-size: want a size in bytes, with an optional unit (kB, MB, GB, TB, KiB, MiB, GiB, TiB)\n",
                quote(bad)
            ),
        ));
    }
    Ok(Global {
        verbose: p.bool("verbose"),
        lock_timeout: std::time::Duration::from_secs(p.uint("lock-timeout")),
        source_url,
        database_url,
        allow: Allow {
            drift: p.bool("allow-drift"),
            missing: p.bool("allow-missing"),
            out_of_order: p.bool("allow-out-of-order"),
        },
        single_transaction: p.bool("single-transaction"),
        dry_run: p.bool("dry-run"),
        #[cfg(feature = "sqlite")]
        safety,
    })
}

/// The database command given as a global option (`-migrate-db`, `-revert-db`,
/// `-force-db V`, `-db-status`), if any; more than one is a usage error (exit 2).
fn db_command(p: &Parsed, force_without_value: bool) -> Result<Option<DbCommand>, Exit> {
    let mut given = Vec::new();
    if p.bool("migrate-db") {
        given.push(DbCommand::Migrate);
    }
    if p.bool("revert-db") {
        given.push(DbCommand::Revert);
    }
    if p.bool("downgrade-db") {
        given.push(DbCommand::Downgrade);
    }
    if force_without_value || p.is_set("force-db") {
        // A value that is not an integer is treated as a missing one: refused, explained.
        given.push(DbCommand::Force(parse_int(&p.string("force-db"))));
    }
    if p.bool("db-status") {
        given.push(DbCommand::Status);
    }
    match given.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(exit(
            Code::Usage,
            "error: use only one of -migrate-db, -revert-db, -downgrade-db, -force-db V, -db-status\n",
        )),
    }
}

fn db_option(cmd: DbCommand) -> &'static str {
    match cmd {
        DbCommand::Migrate => "-migrate-db",
        DbCommand::Revert => "-revert-db",
        DbCommand::Downgrade => "-downgrade-db",
        DbCommand::Force(_) => "-force-db",
        DbCommand::Status => "-db-status",
    }
}

/// The name of an option word (`-x`, `--x`, `-x=v`) and whether it carries its value.
fn option_name(arg: &str) -> Option<(&str, bool)> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    match body.split_once('=') {
        Some((name, _)) => Some((name, true)),
        None => Some((body, false)),
    }
}

fn own_option(name: &str) -> Option<Kind> {
    OWN_OPTIONS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, kind, ..)| kind)
}

/// Splits a command's arguments into migrate's own options (with their values), which may
/// stand anywhere after the command, and the rest, for the command's own flags. A `--`
/// ends the search, as it ends Go's flag parsing.
fn take_own_options(args: &[String]) -> (Vec<String>, Vec<String>) {
    let mut own = Vec::new();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.push(a.clone());
            rest.extend(it.by_ref().cloned());
            break;
        }
        match option_name(a).and_then(|(n, has_value)| Some((own_option(n)?, has_value))) {
            Some((kind, has_value)) => {
                own.push(a.clone());
                if kind != Kind::Bool && !has_value {
                    own.extend(it.next().cloned());
                }
            }
            None => rest.push(a.clone()),
        }
    }
    (own, rest)
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
/// and `Usage of <cmd>:` (exit 2), with a hint when the flag is a global option; `-h`
/// prints the same usage (exit 0); `-help` prints the command's usage snippet and its
/// flags (exit 0).
pub fn parse_command(
    set: &FlagSet,
    name: &str,
    snippet: &str,
    args: &[String],
) -> Result<Parsed, Exit> {
    match set.parse(args) {
        Ok(p) if p.bool("help") => Err(exit(Code::Ok, format!("{snippet}\n{}", set.defaults()))),
        Ok(p) => Ok(p),
        Err(ParseError::Help) => Err(exit(Code::Ok, set.usage())),
        Err(ParseError::Invalid(msg)) => {
            let mut text = format!("{msg}\n{}", set.usage());
            let undefined = msg.strip_prefix("flag provided but not defined: -");
            if let Some(flag) = undefined.filter(|f| is_global(f)) {
                text.push_str(&format!(
                    "hint: -{flag} is an option of migrate, not of {name}: options go before the command (migrate -{flag} ... {name} ...)\n"
                ));
            }
            Err(exit(Code::Usage, text))
        }
    }
}

/// Refuses an option word left after the arguments a command reads: Go's flag parsing
/// stops at the first argument, so golang-migrate would ignore it.
pub fn no_trailing_options(name: &str, p: &Parsed, reads: usize) -> Result<(), Exit> {
    let Some(word) = p
        .args()
        .iter()
        .skip(reads)
        .find(|a| option_name(a).is_some())
    else {
        return Ok(());
    };
    let flag = option_name(word).map_or(word.as_str(), |(n, _)| n);
    let hint = if is_global(flag) {
        format!("-{flag} is an option of migrate: options go before the command (migrate -{flag} ... {name} ...)")
    } else {
        let args = match name {
            "create" => "NAME",
            "goto" | "force" => "V",
            "up" | "down" => "N",
            _ => "ARGS",
        };
        format!("{name} reads its options before its arguments (migrate {name} -{flag} ... {args})")
    };
    Err(exit(
        Code::Usage,
        format!("error: {name}: option {word} after the arguments is not read\nhint: {hint}\n"),
    ))
}

/// The command named `word`, with its arguments parsed.
fn command(word: &str, args: &[String]) -> Result<Command, Exit> {
    let c = match word {
        "" => Command::Missing,
        "create" => create(args)?,
        "goto" => {
            let p = parse_command(&command_flags("goto", vec![]), "goto", usage::GOTO, args)?;
            no_trailing_options("goto", &p, 1)?;
            Command::Goto(version_arg(&p, parse_uint))
        }
        "up" => {
            let p = parse_command(&command_flags("up", vec![]), "up", usage::UP, args)?;
            no_trailing_options("up", &p, 1)?;
            Command::Up(up_limit(&p))
        }
        "down" => down(args)?,
        "drop" => {
            let f = bool_def(
                "f",
                "Force the drop command by bypassing the confirmation prompt",
            );
            let p = parse_command(&command_flags("drop", vec![f]), "drop", usage::DROP, args)?;
            no_trailing_options("drop", &p, 0)?;
            Command::Drop { force: p.bool("f") }
        }
        "force" => {
            let p = parse_command(&command_flags("force", vec![]), "force", usage::FORCE, args)?;
            no_trailing_options("force", &p, 1)?;
            Command::Force(version_arg(&p, parse_int))
        }
        "version" => {
            let set = command_flags("version", vec![]);
            let p = parse_command(&set, "version", usage::VERSION, args)?;
            no_trailing_options("version", &p, 0)?;
            Command::Version
        }
        "status" | "history" | "validate" | "repair" | "recover" => journal(word, args)?,
        #[cfg(feature = "sqlite")]
        "rehearse" => rehearse(args)?,
        #[cfg(feature = "sqlite")]
        "backup" => Command::Backup(args.to_vec()),
        #[cfg(feature = "sqlite")]
        "backups" => Command::Backups(args.to_vec()),
        #[cfg(feature = "sqlite")]
        "restore" => Command::Restore(args.to_vec()),
        other => Command::Unknown(other.to_string()),
    };
    Ok(c)
}

fn bool_def(name: &'static str, usage: &'static str) -> Def {
    Def {
        name,
        kind: Kind::Bool,
        default: "false",
        usage,
    }
}

/// The `V` of `goto V` / `force V`, with golang-migrate's two messages.
fn version_arg<T>(p: &Parsed, parse: fn(&str) -> Option<T>) -> Result<T, ArgError> {
    let arg = p.args().first().map(String::as_str).unwrap_or("");
    if arg.is_empty() {
        return Err(ArgError("error: please specify version argument V"));
    }
    parse(arg).ok_or(ArgError("error: can't read version argument V"))
}

fn up_limit(p: &Parsed) -> Result<Option<u64>, ArgError> {
    match p.args().first().map(String::as_str) {
        None | Some("") => Ok(None),
        Some(a) => parse_uint(a)
            .map(Some)
            .ok_or(ArgError("error: can't read limit argument N")),
    }
}

fn down(args: &[String]) -> Result<Command, Exit> {
    let all = bool_def("all", "Apply all down migrations");
    let p = parse_command(&command_flags("down", vec![all]), "down", usage::DOWN, args)?;
    let to = if p.bool("all") {
        if p.args().is_empty() {
            Ok(DownTo::All)
        } else {
            Err(ArgError("error: -all cannot be used with other arguments"))
        }
    } else {
        match p.args() {
            [] => Ok(DownTo::AskAll),
            [a] => parse_uint(a)
                .map(DownTo::By)
                .ok_or(ArgError("error: can't read limit argument N")),
            _ => Err(ArgError("error: too many arguments")),
        }
    };
    Ok(Command::Down(to))
}

fn create(args: &[String]) -> Result<Command, Exit> {
    let p = parse_command(
        &command_flags("create", super::create::flag_defs()),
        "create",
        usage::CREATE,
        args,
    )?;
    no_trailing_options("create", &p, 1)?;
    Ok(Command::Create(p))
}

const STATUS_USAGE: &str = "status [-format text|json] [-journal N]\n  Show the version, every migration's state and the last N journal rows (read-only)";
const HISTORY_USAGE: &str =
    "history [-format text|json] [-limit N]\n  Show the operation journal, newest first";
const VALIDATE_USAGE: &str =
    "validate [-format text|json]\n  Check the migrations directory offline (no database needed)";
const REPAIR_USAGE: &str =
    "repair\n  Accept the current files as the applied ones (records their checksums, journaled)";
const RECOVER_USAGE: &str = "recover [-format text|json]\n  Explain a dirty database: the statements of the failed file that were applied, and the ways out (read-only)";
#[cfg(feature = "sqlite")]
/// `rehearse`'s usage snippet (`rehearse -help`).
pub const REHEARSE_USAGE: &str = "rehearse [N | goto V]\n\tApply the pending migrations (all, the next N, or up to V) to a temporary copy of the database and report how long each takes; the database is not changed";

/// `status`, `history`, `validate`, `repair`: migrate's journal commands.
fn journal(word: &str, args: &[String]) -> Result<Command, Exit> {
    let format = Def {
        name: "format",
        kind: Kind::String,
        default: "text",
        usage: "Output format: text or json",
    };
    let uint = |name, default, usage| Def {
        name,
        kind: Kind::Uint,
        default,
        usage,
    };
    let (defs, snippet) = match word {
        "status" => (
            vec![
                format,
                uint("journal", "5", "How many journal rows to show"),
            ],
            STATUS_USAGE,
        ),
        "history" => (
            vec![format, uint("limit", "0", "Show at most N rows (0: all)")],
            HISTORY_USAGE,
        ),
        "validate" => (vec![format], VALIDATE_USAGE),
        "recover" => (vec![format], RECOVER_USAGE),
        _ => (vec![], REPAIR_USAGE),
    };
    let p = parse_command(&command_flags(word, defs), word, snippet, args)?;
    no_trailing_options(word, &p, 0)?;
    let json = match word {
        "repair" => false,
        _ => match p.string("format").as_str() {
            "text" => false,
            "json" => true,
            other => {
                let mut e = exit(
                    Code::Error,
                    format!("error: unknown -format {}: use text or json", quote(other)),
                );
                e.log = Some(super::Log::default());
                return Err(e);
            }
        },
    };
    Ok(match word {
        "status" => Command::Status {
            json,
            journal: p.uint("journal"),
        },
        "history" => Command::History {
            json,
            limit: p.uint("limit"),
        },
        "validate" => Command::Validate { json },
        "recover" => Command::Recover { json },
        _ => Command::Repair,
    })
}

#[cfg(feature = "sqlite")]
fn rehearse(args: &[String]) -> Result<Command, Exit> {
    let set = command_flags("rehearse", vec![]);
    let p = parse_command(&set, "rehearse", REHEARSE_USAGE, args)?;
    let first = p.args().first().map(String::as_str);
    no_trailing_options("rehearse", &p, if first == Some("goto") { 2 } else { 1 })?;
    let target = match first {
        None | Some("") | Some("up") => Ok(Target::Up),
        Some("goto") => p
            .args()
            .get(1)
            .and_then(|a| parse_uint(a))
            .map(Target::Goto)
            .ok_or(ArgError("error: can't read version argument V")),
        Some(a) => parse_uint(a)
            .map(Target::UpBy)
            .ok_or(ArgError("error: can't read limit argument N")),
    };
    Ok(Command::Rehearse(target))
}

impl Command {
    /// The word the user typed for this command (the database commands: their option).
    pub fn name(&self) -> &str {
        match self {
            Command::Missing => "",
            Command::Unknown(w) => w,
            Command::Create(_) => "create",
            Command::Goto(_) => "goto",
            Command::Up(_) => "up",
            Command::Down(_) => "down",
            Command::Drop { .. } => "drop",
            Command::Force(_) => "force",
            Command::Version => "version",
            Command::Status { .. } => "status",
            Command::History { .. } => "history",
            Command::Validate { .. } => "validate",
            Command::Repair => "repair",
            Command::Recover { .. } => "recover",
            #[cfg(feature = "sqlite")]
            Command::Backup(_) => "backup",
            #[cfg(feature = "sqlite")]
            Command::Backups(_) => "backups",
            #[cfg(feature = "sqlite")]
            Command::Restore(_) => "restore",
            #[cfg(feature = "sqlite")]
            Command::Rehearse(_) => "rehearse",
            Command::Db(c) => db_option(*c),
        }
    }

    /// golang-migrate's commands that change the database: the safety hook runs around
    /// them.
    pub fn changes_database(&self) -> bool {
        matches!(
            self,
            Command::Goto(_)
                | Command::Up(_)
                | Command::Down(_)
                | Command::Drop { .. }
                | Command::Force(_)
        )
    }

    /// Whether this is one of the commands named in `names`.
    fn is(&self, names: &[&str]) -> bool {
        !matches!(self, Command::Unknown(_)) && names.contains(&self.name())
    }

    /// The backup commands and `rehearse` only read the database or handle its file
    /// themselves: it is opened without creating the file or the version table.
    pub fn handles_its_file(&self) -> bool {
        self.is(&["backup", "backups", "restore", "rehearse"])
    }

    /// Whether `-dry-run` is honoured: the command prints what it would do (or only reads)
    /// and changes nothing. The others refuse it.
    pub fn dry_runs(&self) -> bool {
        !self.is(&[
            "create",
            "repair",
            "backup",
            "restore",
            "-revert-db",
            "-downgrade-db",
            "-force-db",
        ])
    }

    /// Whether the command honours migrate's own option `option` (without its dash).
    pub fn honours(&self, option: &str) -> bool {
        let migrates = self.is(&["up", "down", "goto"]);
        let changes = self.changes_database();
        let db_changes = self.is(&["-migrate-db", "-revert-db", "-downgrade-db", "-force-db"]);
        let backs_up = changes || db_changes;
        match option {
            "dry-run" => self.dry_runs(),
            "allow-drift" | "allow-missing" | "allow-out-of-order" | "single-transaction" => {
                migrates
            }
            "no-backup" => backs_up || self.is(&["restore"]),
            "backup-keep" | "backup-max-size" => backs_up || self.is(&["restore", "backup"]),
            "backup-dir" => backs_up || self.is(&["restore", "backup", "backups"]),
            "integrity-check" => changes || self.is(&["rehearse"]),
            "restore-on-failure" | "optimize" => changes,
            _ => true,
        }
    }
}

/// Refuses each of migrate's own options that the command cannot honour (exit 2). The
/// usage cases (no command, an unknown one) print the usage whatever the options.
fn check_own_options(p: &Parsed, command: &Command, word: &str) -> Result<(), Exit> {
    if matches!(command, Command::Missing | Command::Unknown(_)) {
        return Ok(());
    }
    let name = match command {
        Command::Db(_) => command.name(),
        _ => word,
    };
    for &(option, ..) in OWN_OPTIONS {
        if !p.is_set(option) || command.honours(option) {
            continue;
        }
        let msg = if option == "dry-run" {
            format!("error: -dry-run does not apply to {name}: it cannot show what it would change; nothing was changed\n")
        } else {
            format!("error: option -{option} does not apply to {name}\n")
        };
        return Err(exit(Code::Usage, msg));
    }
    Ok(())
}

/// The command closest to an unknown word, if one is close: one edit away, or two for a
/// word of five letters or more.
pub fn closest(word: &str) -> Option<&'static str> {
    let most = if word.chars().count() >= 5 { 2 } else { 1 };
    COMMANDS
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= most && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn own_options_are_taken_from_anywhere_before_a_double_dash() {
        let (own, rest) = take_own_options(&words(
            "2 -dry-run --no-backup -backup-keep 3 -backup-dir=/b -all -- -optimize",
        ));
        assert_eq!(
            own,
            words("-dry-run --no-backup -backup-keep 3 -backup-dir=/b")
        );
        assert_eq!(rest, words("2 -all -- -optimize"));
        // A value option at the end has no value: Go's error comes from the global parse.
        let (own, rest) = take_own_options(&words("-backup-dir"));
        assert_eq!((own, rest), (words("-backup-dir"), vec![]));
    }

    #[test]
    fn closest_command_is_at_most_two_edits_away() {
        assert_eq!(closest("upp"), Some("up"));
        assert_eq!(closest("stauts"), Some("status"));
        assert_eq!(closest("verison"), Some("version"));
        assert_eq!(closest("foo"), None);
        assert_eq!(closest(""), None);
        for c in COMMANDS {
            assert_eq!(closest(c), Some(*c));
            assert_eq!(distance(c, c), 0);
            for other in COMMANDS {
                assert_eq!(distance(c, other), distance(other, c));
            }
        }
    }

    #[test]
    fn every_command_parses_and_unknown_words_do_not() {
        for c in COMMANDS {
            // The backup commands print their own -help when they run.
            match parse(&words(&format!("{c} -help"))) {
                Err(e) => assert_eq!(e.code, Code::Ok, "{c}"),
                Ok(cli) => assert_eq!(cli.command.name(), *c),
            }
        }
        let cli = parse(&words("upp")).map_err(|e| e.stderr).expect("parses");
        assert!(matches!(cli.command, Command::Unknown(w) if w == "upp"));
    }
}
