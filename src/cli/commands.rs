//! golang-migrate's commands: goto, up, down, drop, force, version.

use migrate::gocompat::duration::format as go_duration;
use migrate::gocompat::strconv;
use migrate::migrator::log_string;
use migrate::{DbVersion, Error, Event, Migrator, Report};

use super::args::{ArgError, DownTo};
use super::{fatal, fatal_err, Code, Ctx, Log};

/// A version argument as golang-migrate reads it: `strconv.ParseUint(s, 10, 64)`.
pub fn parse_uint(s: &str) -> Option<u64> {
    strconv::parse_uint(s, 10).ok()
}

/// A signed version argument as golang-migrate reads it: `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int(s: &str) -> Option<i64> {
    strconv::parse_int(s, 10).ok()
}

/// Prints golang-migrate's progress lines as steps run.
pub fn observe(m: &mut Migrator, log: Log) {
    m.set_observer(move |e| {
        super::failure::observe(e);
        observe_log(e, log)
    });
}

fn observe_log(e: &Event<'_>, log: Log) {
    match e {
        Event::StepStarting {
            step,
            identifier,
            has_file,
        } => {
            let s = log_string(step, identifier);
            if *has_file {
                log.verbose(&format!("Start buffering {s}"));
                log.verbose(&format!("Read and execute {s}"));
            } else {
                log.verbose(&format!("Scheduled {s}"));
            }
        }
        Event::Reconciled(r) => {
            for line in r.describe() {
                log.println(&line);
            }
        }
        Event::StoredDown { stored, .. } => log.println(&stored.describe()),
        Event::Allowed { problem } => log.println(&format!("warning: {problem} (allowed)")),
        Event::RolledBack { .. } => log.println(
            "-single-transaction: the run failed and was rolled back as a whole; no step of it is applied",
        ),
        Event::StepFinished {
            step,
            identifier,
            read,
            elapsed,
        } => {
            let s = log_string(step, identifier);
            if log.verbose {
                log.println(&format!(
                    "Finished {s} (read {}, ran {})",
                    go_duration(*read),
                    go_duration(elapsed.saturating_sub(*read))
                ));
            } else {
                log.printf(&format!("{s} ({})\n", go_duration(*elapsed)));
            }
        }
    }
}

/// golang-migrate's handling of a migrate call's result: `no change` is success, the
/// `no migration found` error is printed twice on one line, others once.
pub fn finish(ctx: &mut Ctx, res: Result<Report, Error>) -> Code {
    let log = ctx.log;
    let log = &log;
    let code = match res {
        Ok(_) | Err(Error::NoChange) => {
            if matches!(res, Err(Error::NoChange)) {
                log.println("no change");
            }
            Code::Ok
        }
        Err(e @ Error::NoMigrationFound(_)) => {
            log.printf(&format!("error: {e}"));
            fatal_err(log, &e)
        }
        Err(e @ Error::Dirty(_)) => {
            let code = fatal_err(log, &e);
            // golang-migrate's line stays as it is; the journal's explanation follows it.
            if let Ok(m) = ctx.migrator.as_mut() {
                for l in super::recover::dirty_lines(m) {
                    log.println(&l);
                }
            }
            code
        }
        Err(e) => {
            // A failed migration file: the state the database is in now, and the way on.
            let failed = ctx
                .migrator
                .as_mut()
                .ok()
                .and_then(|m| super::failure::hint(m, &e));
            log.println(&format!("error: {e}"));
            let own = match &failed {
                Some((aftermath, _)) => e.hint_after(*aftermath),
                None => e.hint(),
            };
            if let Some(h) = own {
                log.println(&format!("hint: {h}"));
            }
            if let Some((_, h)) = failed {
                log.println(&format!("hint: {h}"));
                if let Ok(m) = ctx.migrator.as_mut() {
                    for l in super::recover::dirty_lines(m) {
                        log.println(&l);
                    }
                }
            }
            Code::Error
        }
    };
    if code == Code::Ok {
        finished_after(ctx);
    }
    code
}

/// golang-migrate's `-verbose` closing line: `Finished after <duration>`.
pub fn finished_after(ctx: &Ctx) {
    ctx.log.verbose(&format!(
        "Finished after {}",
        go_duration(ctx.started.elapsed())
    ));
}

/// The migrator, then the command's argument: golang-migrate reports a construction
/// error before a bad argument. `Err` carries the exit code.
fn with_arg<T>(ctx: &mut Ctx, arg: Result<T, ArgError>) -> Result<(&mut Migrator, T), Code> {
    let log = ctx.log;
    let m = ctx.migrator()?;
    match arg {
        Ok(a) => Ok((m, a)),
        Err(ArgError(msg)) => Err(fatal(&log, msg)),
    }
}

/// Reads one whitespace-delimited answer from stdin (Go's `fmt.Scanln`); `y` is yes.
fn confirm() -> bool {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    line.split_whitespace()
        .next()
        .is_some_and(|t| t.to_lowercase() == "y")
}

/// `goto V`.
pub fn goto(ctx: &mut Ctx, v: Result<u64, ArgError>) -> Code {
    let log = ctx.log;
    let (m, v) = match with_arg(ctx, v) {
        Ok(x) => x,
        Err(c) => return c,
    };
    observe(m, log);
    let res = m.goto(v);
    finish(ctx, res)
}

/// `up [N]`.
pub fn up(ctx: &mut Ctx, limit: Result<Option<u64>, ArgError>) -> Code {
    let log = ctx.log;
    let (m, limit) = match with_arg(ctx, limit) {
        Ok(x) => x,
        Err(c) => return c,
    };
    observe(m, log);
    let res = match limit {
        Some(n) => m.steps(i64::try_from(n).unwrap_or(i64::MAX)),
        None => m.up(),
    };
    finish(ctx, res)
}

/// `down [N] [-all]`; without either, asks first, as golang-migrate does.
pub fn down(ctx: &mut Ctx, to: Result<DownTo, ArgError>) -> Code {
    let log = ctx.log;
    let (m, to) = match with_arg(ctx, to) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if to == DownTo::AskAll {
        log.println("Are you sure you want to apply all down migrations? [y/N]");
        if confirm() {
            log.println("Applying all down migrations");
        } else {
            return fatal(&log, "Not applying all down migrations");
        }
    }
    observe(m, log);
    let res = match to {
        DownTo::By(n) => m.steps(-i64::try_from(n).unwrap_or(i64::MAX)),
        DownTo::All | DownTo::AskAll => m.down(),
    };
    finish(ctx, res)
}

/// `drop [-f]`; without `-f`, asks first.
pub fn drop(ctx: &mut Ctx, force: bool) -> Code {
    let log = ctx.log;
    // golang-migrate asks before it reports a construction error.
    if !force {
        log.println("Are you sure you want to drop the entire database schema? [y/N]");
        if confirm() {
            log.println("Dropping the entire database schema");
        } else {
            return fatal(&log, "Aborted dropping the entire database schema");
        }
    }
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    match m.drop_all() {
        Ok(()) => {
            finished_after(ctx);
            Code::Ok
        }
        Err(e) => fatal_err(&log, &e),
    }
}

/// `force V`: records version V as clean without running anything.
pub fn force(ctx: &mut Ctx, v: Result<i64, ArgError>) -> Code {
    let log = ctx.log;
    let (m, v) = match with_arg(ctx, v) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if v < -1 {
        return fatal(&log, "error: argument V must be >= -1");
    }
    if let Some(w) = super::recover::force_warning(m, v) {
        log.println(&w);
    }
    match m.force(v) {
        Ok(()) => {
            finished_after(ctx);
            Code::Ok
        }
        Err(e) => fatal_err(&log, &e),
    }
}

/// `version`: the database's version, `V (dirty)` when dirty.
pub fn version(ctx: &mut Ctx) -> Code {
    let log = ctx.log;
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    match m.version() {
        Ok(DbVersion::Clean(v)) => {
            log.println(&v.to_string());
            Code::Ok
        }
        Ok(DbVersion::Dirty(v)) if v >= 0 => {
            log.printf(&format!("{v} (dirty)\n"));
            Code::Ok
        }
        Ok(_) => fatal_err(&log, &Error::NilVersion),
        Err(e) => fatal_err(&log, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_number_parsing() {
        assert_eq!(parse_uint("007"), Some(7));
        assert_eq!(parse_uint("+3"), None);
        assert_eq!(parse_uint("-1"), None);
        assert_eq!(parse_uint("1_000"), None);
        assert_eq!(parse_uint("18446744073709551616"), None);
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("0x10"), None);
    }
}
