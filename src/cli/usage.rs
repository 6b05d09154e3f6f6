//! golang-migrate v4.19.1's usage texts, byte for byte.

/// `create`'s usage snippet.
pub const CREATE: &str = "create [-ext E] [-dir D] [-seq] [-digits N] [-format] [-tz] NAME
\t   Create a set of timestamped up/down migrations titled NAME, in directory D with extension E.
\t   Use -seq option to generate sequential up/down migrations with N digits.
\t   Use -format option to specify a Go time format string. Note: migrations with the same time cause \"duplicate migration version\" error.
           Use -tz option to specify the timezone that will be used when generating non-sequential migrations (defaults: UTC).
";
/// `goto`'s usage snippet.
pub const GOTO: &str = "goto V       Migrate to version V";
/// `up`'s usage snippet.
pub const UP: &str = "up [N]       Apply all or N up migrations";
/// `down`'s usage snippet.
pub const DOWN: &str =
    "down [N] [-all]    Apply all or N down migrations\n\tUse -all to apply all down migrations";
/// `drop`'s usage snippet.
pub const DROP: &str =
    "drop [-f]    Drop everything inside database\n\tUse -f to bypass confirmation";
/// `force`'s usage snippet.
pub const FORCE: &str = "force V      Set version V but don't run migration (ignores dirty state)";
/// `version`'s usage snippet.
pub const VERSION: &str = "version      Print current migration version";

/// The global usage text (printed by `-help`, `-h`, a missing or unknown command, and
/// global flag errors): golang-migrate's, then migrate's own commands and options.
pub fn global() -> String {
    golang_migrate() + &own()
}

/// golang-migrate's usage text, unchanged.
fn golang_migrate() -> String {
    format!(
        "Usage: migrate OPTIONS COMMAND [arg...]
       migrate [ -version | -help ]

Options:
  -source          Location of the migrations (driver://url)
  -path            Shorthand for -source=file://path
  -database        Run migrations against this database (driver://url)
  -prefetch N      Number of migrations to load in advance before executing (default 10)
  -lock-timeout N  Allow N seconds to acquire database lock (default 15)
  -verbose         Print verbose logging
  -version         Print version
  -help            Print usage

Commands:
  {CREATE}
  {GOTO}
  {UP}
  {DOWN}
  {DROP}
  {FORCE}
  {VERSION}

Source drivers: file
Database drivers: {}
",
        migrate::driver::available().join(", ")
    )
}

/// migrate's own commands (golang-migrate has none of them).
const OWN_COMMANDS: &[(&str, &str)] = &[
    (
        "status [-format text|json] [-journal N]",
        "Show the version, every migration's state and the last N journal rows (read-only)",
    ),
    (
        "history [-format text|json] [-limit N]",
        "Show the operation journal, newest first",
    ),
    (
        "validate [-format text|json]",
        "Check the migrations directory offline (no database needed)",
    ),
    (
        "repair",
        "Accept the current files as the applied ones (records their checksums, journaled)",
    ),
    (
        "recover [-format text|json]",
        "Explain a dirty database: the failed file's applied statements and the ways out (read-only)",
    ),
    #[cfg(feature = "sqlite")]
    ("backup [-dir DIR]", "Back the SQLite database up now"),
    #[cfg(feature = "sqlite")]
    ("backups", "List the backups of the SQLite database"),
    #[cfg(feature = "sqlite")]
    (
        "restore BACKUP",
        "Replace the SQLite database with a backup (the current one is backed up first)",
    ),
    #[cfg(feature = "sqlite")]
    (
        "rehearse [N | goto V]",
        "Apply the pending migrations to a temporary copy, timed; the database is not changed",
    ),
];

/// Lines `  LEFT  text` with the texts aligned, as golang-migrate's usage aligns them.
fn aligned(rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(l, r)| format!("  {l:<width$}  {r}\n"))
        .collect()
}

/// The section after golang-migrate's text: migrate's own commands, options and
/// database commands, and where migrate's options may stand.
fn own() -> String {
    let commands: Vec<(String, String)> = OWN_COMMANDS
        .iter()
        .map(|(c, w)| (c.to_string(), w.to_string()))
        .collect();
    let options: Vec<(String, String)> = super::args::OWN_OPTIONS
        .iter()
        .map(|(name, _, default, what)| {
            let arg = match *name {
                "backup-dir" => " DIR",
                "backup-keep" => " N",
                "backup-max-size" => " SIZE",
                "integrity-check" => " quick|full",
                _ => "",
            };
            let default = match *default {
                "" | "false" => String::new(),
                d => format!(" (default {d})"),
            };
            (format!("-{name}{arg}"), format!("{what}{default}"))
        })
        .collect();
    format!(
        "
migrate's own commands:
{}
migrate's own options, before the command or anywhere after a command that honours them
(an option a command cannot honour is refused):
{}
Database commands, instead of COMMAND (as an application's release binary runs them):
  -migrate-db | -revert-db | -downgrade-db | -force-db V | -db-status

-database falls back to $DATABASE_URL.
",
        aligned(&commands),
        aligned(&options)
    )
}
