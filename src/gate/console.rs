//! Where the database commands print, and how they name the database.

use std::io::Write;

use crate::error::Error;
use crate::status::ExitCode;
#[cfg(feature = "sqlite")]
use crate::url::DatabaseUrl;

/// Where the database commands print: success and status on `out` (stdout), failures
/// and warnings on `err` (stderr). `prog` is the program name used in advice.
pub struct Console<'a> {
    /// The program name the advice tells the user to run (`jobserver -migrate-db`).
    pub prog: String,
    /// Where success and status lines go (stdout).
    pub out: Box<dyn Write + 'a>,
    /// Where failures, warnings and backup lines go (stderr).
    pub err: Box<dyn Write + 'a>,
}

impl Console<'static> {
    /// The process's stdout and stderr.
    pub fn stdio(prog: &str) -> Console<'static> {
        Console {
            prog: prog.to_string(),
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
        }
    }
}

impl Console<'_> {
    /// Prints a line on `out`; a closed pipe is not an error worth failing a command for.
    pub(super) fn out(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
    }
    /// Prints a line on `err`.
    pub(super) fn err(&mut self, s: &str) {
        let _ = writeln!(self.err, "{s}");
    }
    /// Prints `<what> Failed: <error>` and its hint; returns [`ExitCode::Error`].
    pub(super) fn error(&mut self, what: &str, e: &Error) -> ExitCode {
        self.err(&format!("{what} Failed: {e}"));
        if let Some(h) = e.hint() {
            self.err(&format!("hint: {h}"));
        }
        ExitCode::Error
    }
}

/// `SQLite database at '<path>'` (cc-backend's wording), or the redacted URL.
pub fn describe_db(database_url: &str) -> String {
    #[cfg(feature = "sqlite")]
    if let Ok(url) = DatabaseUrl::parse(database_url) {
        if matches!(url.scheme(), "sqlite3" | "sqlite") {
            if let Ok(cfg) = crate::driver::sqlite::Config::parse(&url) {
                if let crate::driver::sqlite::Target::File(p) = cfg.target {
                    return format!("SQLite database at '{}'", p.display());
                }
            }
        }
    }
    format!("database at '{}'", crate::url::redact(database_url))
}
