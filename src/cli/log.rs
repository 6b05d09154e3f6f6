//! golang-migrate's CLI logger: everything on stderr; with `-verbose`, Go `log` lines
//! prefixed with the local time `YYYY/MM/DD HH:MM:SS `.
//!
//! Every line the CLI writes through [`Log`] or the [`console`] passes the process's
//! [`Scrubber`] ([`guard_secrets`]): the URLs themselves are shown redacted where they are
//! formatted, and this catches a secret that reaches a message by another way (a driver's
//! error that quotes a decoded value, a panic).

use std::io::Write;
use std::sync::OnceLock;

use migrate::redact::Scrubber;

static SCRUBBER: OnceLock<Scrubber> = OnceLock::new();

/// Collects the secrets of every command-line argument and of `$DATABASE_URL` (whatever
/// their flag, so a URL given to the wrong flag is covered too), and makes panics print
/// through the scrubber. Called once, first thing.
pub fn guard_secrets(args: &[String]) {
    let env = std::env::var("DATABASE_URL").unwrap_or_default();
    let scrubber = Scrubber::new(args.iter().map(String::as_str).chain([env.as_str()]));
    let _ = SCRUBBER.set(scrubber);
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        let text = scrub(&format!("thread '{name}' {info}"));
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }));
}

/// `text` with the process's secrets hidden.
pub fn scrub(text: &str) -> String {
    match SCRUBBER.get() {
        Some(s) => s.scrub(text),
        None => text.to_string(),
    }
}

/// A writer that scrubs each write (the CLI writes whole lines).
struct Scrubbed<W: Write>(W);

impl<W: Write> Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The database commands' stdout and stderr, scrubbed.
pub fn console(prog: &str) -> migrate::gate::Console<'static> {
    migrate::gate::Console {
        prog: prog.to_string(),
        out: Box::new(Scrubbed(std::io::stdout())),
        err: Box::new(Scrubbed(std::io::stderr())),
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Log {
    pub verbose: bool,
}

impl Log {
    fn prefix(&self) -> String {
        if self.verbose {
            chrono::Local::now()
                .format("%Y/%m/%d %H:%M:%S ")
                .to_string()
        } else {
            String::new()
        }
    }

    /// Go's `Println`: a line.
    pub fn println(&self, s: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{}{}", self.prefix(), scrub(s));
    }

    /// Go's `Printf`: exactly `s` when not verbose; a log line (newline added) when verbose.
    pub fn printf(&self, s: &str) {
        let s = scrub(s);
        let mut e = std::io::stderr().lock();
        if self.verbose {
            let nl = if s.ends_with('\n') { "" } else { "\n" };
            let _ = write!(e, "{}{s}{nl}", self.prefix());
        } else {
            let _ = write!(e, "{s}");
        }
    }

    /// A line shown only with `-verbose`.
    pub fn verbose(&self, s: &str) {
        if self.verbose {
            self.println(s);
        }
    }
}
