//! golang-migrate's CLI logger: everything on stderr; with `-verbose`, Go `log` lines
//! prefixed with the local time `YYYY/MM/DD HH:MM:SS `.

use std::io::Write;

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
        let _ = writeln!(std::io::stderr().lock(), "{}{s}", self.prefix());
    }

    /// Go's `Printf`: exactly `s` when not verbose; a log line (newline added) when verbose.
    pub fn printf(&self, s: &str) {
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
