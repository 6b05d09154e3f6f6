//! golang-migrate v4.19.1's usage texts, byte for byte (spec §1.4).

pub const CREATE: &str = "create [-ext E] [-dir D] [-seq] [-digits N] [-format] [-tz] NAME
\t   Create a set of timestamped up/down migrations titled NAME, in directory D with extension E.
\t   Use -seq option to generate sequential up/down migrations with N digits.
\t   Use -format option to specify a Go time format string. Note: migrations with the same time cause \"duplicate migration version\" error.
           Use -tz option to specify the timezone that will be used when generating non-sequential migrations (defaults: UTC).
";
pub const GOTO: &str = "goto V       Migrate to version V";
pub const UP: &str = "up [N]       Apply all or N up migrations";
pub const DOWN: &str =
    "down [N] [-all]    Apply all or N down migrations\n\tUse -all to apply all down migrations";
pub const DROP: &str =
    "drop [-f]    Drop everything inside database\n\tUse -f to bypass confirmation";
pub const FORCE: &str = "force V      Set version V but don't run migration (ignores dirty state)";
pub const VERSION: &str = "version      Print current migration version";

/// The global usage text (printed by `-help`, `-h`, a missing or unknown command, and
/// global flag errors).
pub fn global() -> String {
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
