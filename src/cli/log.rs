//! Every byte the binary writes goes through this module: golang-migrate's CLI logger
//! (everything on stderr; with `-verbose`, Go `log` lines prefixed with the local time
//! `YYYY/MM/DD HH:MM:SS `) and the commands' data on stdout.
//!
//! A write never panics. When the reader of stdout or stderr has gone away (`migrate
//! status | head -1`), the process ends the way a Go program does: killed by SIGPIPE,
//! silently. Any other write error (a full device) is remembered; the command goes on, and
//! [`finish`] reports the first such error on stderr and turns a success into exit 1.
//!
//! Every write passes the process's [`Scrubber`] ([`guard_secrets`]): the URLs themselves
//! are shown redacted where they are formatted, and this catches a secret that reaches a
//! message by another way (a driver's error that quotes a decoded value, a panic).

use std::io::Write;
use std::sync::{Mutex, OnceLock};

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

/// golang-migrate's logger: lines on stderr, prefixed with the time under `-verbose`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Log {
    /// `-verbose`.
    pub verbose: bool,
}

/// One of the process's two output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: the commands' data.
    Stdout,
    /// Standard error: golang-migrate's log and every message.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        }
    }
}

/// The first write error other than a closed pipe, with the stream it happened on.
static FAILED: Mutex<Option<(Stream, String)>> = Mutex::new(None);

/// Writes `s` to `stream` and flushes it, so an error surfaces here and not at exit.
pub fn write(stream: Stream, s: &[u8]) {
    let scrubbed = scrub(&String::from_utf8_lossy(s));
    let s = scrubbed.as_bytes();
    let res = match stream {
        Stream::Stdout => {
            let mut o = std::io::stdout().lock();
            o.write_all(s).and_then(|()| o.flush())
        }
        Stream::Stderr => {
            let mut e = std::io::stderr().lock();
            e.write_all(s).and_then(|()| e.flush())
        }
    };
    if let Err(e) = res {
        failed(stream, &e);
    }
}

/// `s` on stdout.
pub fn out(s: &str) {
    write(Stream::Stdout, s.as_bytes());
}

/// `s` and a newline on stdout.
pub fn outln(s: &str) {
    write(Stream::Stdout, format!("{s}\n").as_bytes());
}

/// `s` on stderr.
pub fn err(s: &str) {
    write(Stream::Stderr, s.as_bytes());
}

/// `s` and a newline on stderr.
pub fn errln(s: &str) {
    write(Stream::Stderr, format!("{s}\n").as_bytes());
}

fn failed(stream: Stream, e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        reader_gone();
    }
    if let Ok(mut f) = FAILED.lock() {
        if f.is_none() {
            *f = Some((stream, e.to_string()));
        }
    }
}

/// The reader of stdout or stderr has gone away. A Go program writing to a closed pipe
/// on fd 1 or 2 is killed by SIGPIPE; Rust ignores SIGPIPE, so restore its default
/// action and raise it. Exit 141 (what a shell reports for SIGPIPE) if that fails.
fn reader_gone() -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGPIPE);
    std::process::exit(128 + signal_hook::consts::SIGPIPE);
}

/// The exit code once the command is done: `code`, except that a success whose output
/// could not all be written exits 1 (a failure's own code is kept). The write error is
/// reported on stderr, if stderr itself can take it.
pub fn finish(code: super::Code) -> super::Code {
    let failed = FAILED.lock().ok().and_then(|mut f| f.take());
    let Some((stream, e)) = failed else {
        return code;
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: cannot write to {}: {e}", stream.name());
    let _ = stderr.flush();
    if code == super::Code::Ok {
        super::Code::Error
    } else {
        code
    }
}

/// A `Write` for APIs that take one (the library's `gate::Console`), going through
/// [`write`]: it never fails, a closed pipe ends the process, other errors are reported
/// by [`finish`].
pub struct Writer(pub Stream);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        write(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
        errln(&format!("{}{s}", self.prefix()));
    }

    /// Go's `Printf`: exactly `s` when not verbose; a log line (newline added) when verbose.
    pub fn printf(&self, s: &str) {
        if self.verbose {
            let nl = if s.ends_with('\n') { "" } else { "\n" };
            err(&format!("{}{s}{nl}", self.prefix()));
        } else {
            err(s);
        }
    }

    /// A line shown only with `-verbose`.
    pub fn verbose(&self, s: &str) {
        if self.verbose {
            self.println(s);
        }
    }
}
