//! The CLI side of `migrate::safety`: the global flags, what the library's safety hook
//! (`safety::Hook`: integrity checks and the automatic backup) shows on the terminal and
//! does after a failure, and the `backup`, `backups`, `restore` and `rehearse` commands.
//! See docs/backups.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use migrate::gocompat::duration::format as go_duration;
use migrate::gocompat::flag::{Def, Kind, Parsed};
use migrate::safety::hook::with_url;
use migrate::safety::{self, backup, Check, Hook, Options, Problem, Progress, ANNOUNCE_SIZE};
use migrate::{DbVersion, Error, Source, Target};

use super::args::ArgError;
use super::{command_flags, fatal, fatal_err, parse_command, Code, Ctx};

/// The line before a long check or backup of `db`, when it is at least [`ANNOUNCE_SIZE`].
fn announce(log: super::log::Log, db: &std::path::Path, what: &str) {
    let size = backup::needed_space(db);
    if size >= ANNOUNCE_SIZE {
        log.println(&format!(
            "{what} {} ({})",
            db.display(),
            backup::human_size(size)
        ));
    }
}

/// A progress indicator on stderr for a check, backup or restore, shown only when stderr
/// is a terminal and the operation has taken more than a second: the operation's name,
/// how far a backup's copy has come (the size of its `.partial` file against the
/// database's), and the seconds elapsed, on one line rewritten in place and cleared at
/// the end. Nothing at all when stderr is not a terminal.
pub struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Starts the indicator for `what`; `copy` is a backup's directory, the prefix of its
    /// files' names and the size it will reach.
    pub fn start(what: String, copy: Option<(PathBuf, String, u64)>) -> Ticker {
        use std::io::IsTerminal;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Ticker { stop, thread: None };
        }
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut shown = false;
            let tick = std::time::Duration::from_millis(100);
            let mut n: u32 = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(tick);
                n += 1;
                let elapsed = started.elapsed();
                if elapsed < std::time::Duration::from_secs(1) || !n.is_multiple_of(3) {
                    continue;
                }
                let done = copy.as_ref().and_then(|(dir, prefix, total)| {
                    partial_size(dir, prefix).map(|d| (d, *total))
                });
                let line = match done {
                    Some((d, total)) if total > 0 => format!(
                        "{what}: {}% ({} s)",
                        (d.min(total) * 100) / total,
                        elapsed.as_secs()
                    ),
                    _ => format!("{what}: {} s", elapsed.as_secs()),
                };
                super::log::err(&format!("\r\x1b[K{line}"));
                shown = true;
            }
            if shown {
                super::log::err("\r\x1b[K");
            }
        });
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The size of the backup being written in `dir` (its `.partial` file).
fn partial_size(dir: &std::path::Path, prefix: &str) -> Option<u64> {
    let start = format!("{prefix}.backup-");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&start) && n.ends_with(".partial")
        })
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .max()
}

/// A [`Ticker`] for a backup of `db` into `dir`.
fn backup_ticker(db: &std::path::Path, dir: &std::path::Path) -> Ticker {
    Ticker::start(
        format!("backing up {}", db.display()),
        Some((
            dir.to_path_buf(),
            backup::name_prefix(db),
            backup::needed_space(db),
        )),
    )
}

/// The parsed safety flags.
#[derive(Debug, Clone)]
pub struct Flags {
    pub opts: Options,
    pub restore_on_failure: bool,
    pub optimize: bool,
    pub dry_run: bool,
    /// `-integrity-check` had a value other than quick/full.
    pub bad_check: Option<String>,
    /// `-backup-max-size` was not a size.
    pub bad_max_size: Option<String>,
}

/// A size with an optional unit: `0`, `500000`, `750MB`, `20GB`, `2GiB` (kB/MB/GB/TB in
/// powers of 1000, KiB/MiB/GiB/TiB in powers of 1024; case-insensitive, `B` optional).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let mul: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "t" => 1_000_000_000_000,
        "ki" => 1 << 10,
        "mi" => 1 << 20,
        "gi" => 1 << 30,
        "ti" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mul)
}

impl Flags {
    pub fn from(p: &Parsed) -> Flags {
        let dir = p.string("backup-dir");
        let check = p.string("integrity-check");
        let max_size = p.string("backup-max-size");
        Flags {
            opts: Options {
                backup_dir: (!dir.is_empty()).then(|| PathBuf::from(dir)),
                keep: usize::try_from(p.uint("backup-keep")).unwrap_or(usize::MAX),
                max_size: parse_size(&max_size).unwrap_or(0),
                no_backup: p.bool("no-backup"),
                check: Check::parse(&check).unwrap_or_default(),
            },
            restore_on_failure: p.bool("restore-on-failure"),
            optimize: p.bool("optimize"),
            dry_run: p.bool("dry-run"),
            bad_check: Check::parse(&check).is_none().then_some(check),
            bad_max_size: parse_size(&max_size).is_none().then_some(max_size),
        }
    }
}

/// Installs the safety hook ([`Hook`]: integrity check, backup, retention before the
/// first change) on a command that changes the database. `None` for non-SQLite and
/// in-memory databases, and when the database could not be opened.
pub fn install(ctx: &mut Ctx, flags: &Flags) -> Option<Hook> {
    let m = ctx.migrator.as_mut().ok()?;
    let hook = Hook::new(&ctx.database_url, &flags.opts)?
        .lock_timeout(ctx.lock_timeout)
        .on_progress(reporter(ctx.log));
    hook.install(m);
    Some(hook)
}

/// Shows the hook's progress: the line before a long check or backup, the progress
/// indicator, the foreign-key warning and the backup made.
fn reporter(log: super::log::Log) -> impl FnMut(Progress<'_>) + Send + 'static {
    let mut ticker: Option<Ticker> = None;
    move |p: Progress<'_>| {
        match p {
        Progress::Checking {
            db,
            size,
            backup_dir,
        } => {
            if size >= ANNOUNCE_SIZE {
                let what = match backup_dir {
                    Some(dir) => format!("Checking and backing up (to {})", dir.display()),
                    None => "Checking".to_string(),
                };
                log.println(&format!(
                    "{what} {} ({})",
                    db.display(),
                    backup::human_size(size)
                ));
            }
            drop(ticker.replace(Ticker::start(format!("checking {}", db.display()), None)));
        }
        Progress::Checked => drop(ticker.take()),
        Progress::ForeignKeyViolations(n) => log.println(&format!(
            "warning: the database already has {n} foreign key violation(s) (PRAGMA foreign_key_check); migrations may not add any"
        )),
        Progress::BackingUp { db, dir } => drop(ticker.replace(backup_ticker(db, dir))),
        Progress::BackedUp(b) => {
            drop(ticker.take());
            if let Some(b) = b {
                backed_up(log, b);
            }
        }
    }
    }
}

/// The lines after the automatic backup.
fn backed_up(log: super::log::Log, b: &safety::AutoBackup) {
    if b.reused {
        log.println(&format!(
            "Database backup reused: {} (the database has not changed since it was taken)",
            b.path.display()
        ));
    } else {
        log.println(&format!("Database backup created: {}", b.path.display()));
    }
    for p in &b.pruned {
        log.verbose(&format!("Removed old backup {}", p.display()));
    }
    if let Some(e) = &b.journal_error {
        log.println(&format!(
            "warning: the backup could not be recorded in the journal: {e}"
        ));
    }
    super::failure::backup_taken(&b.path);
}

/// Before a changing command: a database whose version cannot be read because it is
/// corrupt is refused with the newest backup ([`Hook::preflight`]).
pub fn preflight(ctx: &mut Ctx, hook: Option<&Hook>) -> Option<Code> {
    let m = ctx.migrator.as_mut().ok()?;
    let e = hook?.preflight(m).err()?;
    Some(fatal_err(&ctx.log, &e))
}

/// After a changing command: the hook's checks ([`Hook::after`]), `-optimize`, and on
/// failure the restore command (or, with `-restore-on-failure`, the restore itself).
pub fn after(ctx: &mut Ctx, flags: &Flags, hook: Option<&Hook>, code: Code) -> Code {
    let log = ctx.log;
    let (Some(hook), Ok(m)) = (hook, ctx.migrator.as_mut()) else {
        return code;
    };
    let Some(a) = hook.after(m, code == Code::Ok, super::failure::steps_finished()) else {
        return code;
    };
    if let Some(e) = &a.reuse_error {
        log.verbose(&format!("the backup cannot be marked as reusable: {e}"));
    }
    let Some(problem) = &a.problem else {
        if code == Code::Ok && flags.optimize {
            match m.driver().query("PRAGMA optimize", &[]) {
                Ok(_) => log.verbose("PRAGMA optimize done"),
                Err(e) => log.println(&format!("warning: PRAGMA optimize failed: {e}")),
            }
        }
        return code;
    };
    if code == Code::Ok {
        log.println(&format!("error: {problem}"));
        if let Some(e) = &a.journal_error {
            log.println(&format!(
                "warning: the failed check could not be recorded in the journal: {}",
                safety::short(e)
            ));
        }
    }
    // A failed run whose database also fails the check: the failed file's hint
    // (failure.rs) does not know of the check, so its result is printed here.
    if matches!(
        problem,
        Problem::CheckFailed {
            run_failed: true,
            ..
        }
    ) {
        log.println(&format!("hint: {problem}"));
    }
    // No backup (-no-backup, or nothing to lose): the error's own hint applies.
    let Some(b) = &a.backup else {
        return Code::Error;
    };
    if flags.restore_on_failure {
        let table = m.driver().table().to_string();
        restore_on_failure(ctx, flags, hook.db(), b, &table);
    } else {
        log.println(&format!("hint: {}", hook.restore_hint(b)));
    }
    Code::Error
}

/// `-restore-on-failure`: the run's own backup `b` replaces the database, even if the run
/// removed the database's identity.
fn restore_on_failure(ctx: &Ctx, flags: &Flags, db: &Path, b: &Path, table: &str) {
    let log = ctx.log;
    match safety::restore::restore(db, b, table, &ctx.database_url, &flags.opts, true) {
        Ok(r) => {
            if let Some(p) = r.previous {
                log.println(&format!("Database backup created: {}", p.display()));
            }
            log.println(&format!(
                "Database restored from {} (-restore-on-failure)",
                b.display()
            ));
            if let Some(e) = r.journal_error {
                log.println(&format!(
                    "warning: the restore could not be recorded in the journal: {e}"
                ));
            }
        }
        Err(e) => {
            fatal_err(&log, &with_url(e, &ctx.database_url));
        }
    }
}

fn db_file(ctx: &Ctx, what: &str) -> Result<PathBuf, Code> {
    match safety::sqlite_file(&ctx.database_url) {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(fatal_err(&ctx.log, &safety::unsupported(what))),
        Err(e) => Err(fatal_err(&ctx.log, &e)),
    }
}

fn table_of(ctx: &Ctx) -> String {
    safety::sqlite_config(&ctx.database_url)
        .ok()
        .flatten()
        .map_or_else(|| "schema_migrations".to_string(), |c| c.table)
}

/// `backup [-dir DIR]`: a backup now, whatever the version.
pub fn backup_cmd(ctx: &mut Ctx, flags: &Flags, args: &[String]) -> Code {
    let set = command_flags(
        "backup",
        vec![Def {
            name: "dir",
            kind: Kind::String,
            default: "",
            usage: "Directory for the backup (default: -backup-dir, x-backup-dir, or beside the database)",
        }],
    );
    let p = match parse_command(
        &set,
        "backup",
        "backup [-dir DIR]\n\tBack the SQLite database up with SQLite's online backup API",
        args,
        0,
    ) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let log = ctx.log;
    let db = match db_file(ctx, "backup") {
        Ok(p) => p,
        Err(c) => return c,
    };
    if !safety::has_content(&db) {
        return fatal(
            &log,
            &format!(
                "error: {} does not exist or is empty: nothing to back up",
                db.display()
            ),
        );
    }
    // `-dir`, else `-backup-dir`, else the URL's `x-backup-dir`, else beside the database.
    let flag_dir = Some(p.string("dir"))
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| flags.opts.backup_dir.clone());
    let dir = safety::backup_dir(&db, flag_dir.as_deref(), &ctx.database_url);
    let version = safety::restore::version_of(&db, &table_of(ctx));
    let started = migrate::journal::now();
    let clock = std::time::Instant::now();
    let table = table_of(ctx);
    announce(log, &db, &format!("Backing up (to {})", dir.display()));
    let ticker = backup_ticker(&db, &dir);
    let made = backup::create(&db, &dir, &version, &table);
    drop(ticker);
    let b = match made {
        Ok(b) => b,
        Err(e) => return fatal_err(&log, &e),
    };
    log.println(&format!("Database backup created: {}", b.display()));
    let mut entry = migrate::journal::Entry::new("backup", started, clock.elapsed())
        .versions(version.version(), version.version());
    entry.file = Some(b.display().to_string());
    // The command's own connection is read-only; the row needs a writable one.
    let journaled = migrate::url::DatabaseUrl::parse(&ctx.database_url)
        .and_then(|u| migrate::driver::open(&u))
        .and_then(|mut d| safety::journal_if_kept(d.as_mut(), ctx.lock_timeout, &entry));
    if let Err(e) = journaled {
        log.println(&format!(
            "warning: the backup was made but not journaled: {}",
            safety::short(&e)
        ));
    }
    let pruned = backup::prune_sized(
        &db,
        &dir,
        flags.opts.keep,
        flags.opts.max_size,
        &table,
        None,
    );
    for r in pruned.unwrap_or_default() {
        log.verbose(&format!("Removed old backup {}", r.display()));
    }
    Code::Ok
}

/// `backups`: the backups, oldest first: version, UTC time, size, path.
pub fn backups_cmd(ctx: &mut Ctx, flags: &Flags, args: &[String]) -> Code {
    let set = command_flags("backups", vec![]);
    if let Err(c) = parse_command(
        &set,
        "backups",
        "backups\n\tList the backups of the SQLite database (oldest first)",
        args,
        0,
    ) {
        return c;
    }
    let db = match db_file(ctx, "backups") {
        Ok(p) => p,
        Err(c) => return c,
    };
    let dir = safety::backup_dir(&db, flags.opts.backup_dir.as_deref(), &ctx.database_url);
    match backup::scan(&db, &dir, &table_of(ctx)) {
        Ok(scan) => {
            for (p, why) in &scan.others {
                ctx.log.println(&format!(
                    "note: {} is not listed: {why}; it is never pruned",
                    p.display()
                ));
            }
            let list = scan.backups;
            if list.is_empty() {
                ctx.log.println(&format!(
                    "no backups of {} in {}",
                    db.display(),
                    dir.display()
                ));
                return Code::Ok;
            }
            super::log::outln(&format!(
                "{:<16} {:<20} {:>12}  FILE",
                "VERSION", "TIME (UTC)", "SIZE"
            ));
            for b in list {
                super::log::outln(&format!(
                    "{:<16} {:<20} {:>12}  {}",
                    b.version,
                    b.time.format("%Y-%m-%dT%H:%M:%SZ"),
                    b.size,
                    b.path.display()
                ));
            }
            Code::Ok
        }
        Err(e) => fatal_err(&ctx.log, &e),
    }
}

/// `restore BACKUP`: replaces the database with a backup (the current one is backed up).
pub fn restore_cmd(ctx: &mut Ctx, flags: &Flags, args: &[String]) -> Code {
    let set = command_flags(
        "restore",
        vec![Def {
            name: "foreign",
            kind: Kind::Bool,
            default: "false",
            usage: "Restore a file that is not a backup of this database",
        }],
    );
    let p = match parse_command(&set, "restore", "restore [-foreign] BACKUP\n\tReplace the SQLite database with a backup (the current database is backed up first)", args, 1) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let log = ctx.log;
    let db = match db_file(ctx, "restore") {
        Ok(p) => p,
        Err(c) => return c,
    };
    let Some(arg) = p.args().first().filter(|a| !a.is_empty()) else {
        return fatal(
            &log,
            "error: please specify the backup to restore (see `migrate backups`)",
        );
    };
    let dir = safety::backup_dir(&db, flags.opts.backup_dir.as_deref(), &ctx.database_url);
    let mut from = PathBuf::from(arg);
    if !from.exists() && from.components().count() == 1 && dir.join(&from).exists() {
        from = dir.join(&from);
    }
    let table = table_of(ctx);
    let foreign = p.bool("foreign");
    let ticker = Ticker::start(format!("restoring {}", db.display()), None);
    let restored =
        safety::restore::restore(&db, &from, &table, &ctx.database_url, &flags.opts, foreign);
    drop(ticker);
    match restored {
        Ok(r) => {
            for w in &r.warnings {
                log.println(&format!("warning: {w}"));
            }
            for t in &r.removed_temps {
                log.println(&format!(
                    "Removed {}, left by an interrupted restore",
                    t.display()
                ));
            }
            if let Some(p) = r.previous {
                log.println(&format!("Database backup created: {}", p.display()));
            }
            log.println(&format!("Database restored from {}", from.display()));
            if let Some(e) = r.journal_error {
                log.println(&format!(
                    "warning: the restore could not be recorded in the journal: {e}"
                ));
            }
            Code::Ok
        }
        Err(e) => fatal_err(&log, &with_url(e, &ctx.database_url)),
    }
}

/// `rehearse [N | goto V]`: the pending migrations on a temporary copy, timed.
pub fn rehearse_cmd(ctx: &mut Ctx, flags: &Flags, target: Result<Target, ArgError>) -> Code {
    let log = ctx.log;
    let target = match target {
        Ok(t) => t,
        Err(ArgError(msg)) => return fatal(&log, msg),
    };
    if let Err(c) = ctx.migrator() {
        return c;
    }
    let source = match Source::open(&ctx.source_url) {
        Ok(s) => s,
        Err(e) => return fatal_err(&log, &e),
    };
    let mut r = safety::rehearse::Rehearsal::default();
    let res =
        safety::rehearse::rehearse(source, &ctx.database_url, target, flags.opts.check, &mut r);
    let mut out = String::new();
    out.push_str(&format!("copy: {}\n", go_duration(r.copy)));
    for (s, d) in &r.steps {
        out.push_str(&format!("{s}: {}\n", go_duration(*d)));
    }
    match res {
        Ok(()) | Err(Error::NoChange) => {
            if matches!(res, Err(Error::NoChange)) {
                out.push_str("no change\n");
            }
            let v = |v: &Option<DbVersion>| match v {
                Some(DbVersion::Clean(v)) => v.to_string(),
                Some(DbVersion::Dirty(v)) => format!("{v} (dirty)"),
                _ => "nil".into(),
            };
            out.push_str(&format!(
                "total: {} for {} migration(s), version {} -> {}; the database was not changed\n",
                go_duration(r.total),
                r.steps.len(),
                v(&r.from),
                v(if r.to.is_some() { &r.to } else { &r.from })
            ));
            super::log::out(&out);
            Code::Ok
        }
        Err(e) => {
            super::log::out(&out);
            log.println("rehearsal failed; the database was not changed");
            fatal_err(&log, &e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes: every number with every unit parses to number × unit, case and a missing
    /// `B` aside; anything else (no digits, unknown unit, overflow) is refused.
    #[test]
    fn backup_max_size_values() {
        let units: [(&str, u64); 9] = [
            ("", 1),
            ("kB", 1_000),
            ("MB", 1_000_000),
            ("GB", 1_000_000_000),
            ("TB", 1_000_000_000_000),
            ("KiB", 1 << 10),
            ("MiB", 1 << 20),
            ("GiB", 1 << 30),
            ("TiB", 1 << 40),
        ];
        for n in [0u64, 1, 7, 20, 999, 123_456] {
            for (u, mul) in units {
                for spelled in [
                    u.to_string(),
                    u.to_lowercase(),
                    u.trim_end_matches('B').to_string(),
                ] {
                    assert_eq!(
                        parse_size(&format!("{n}{spelled}")),
                        Some(n * mul),
                        "{n}{spelled}"
                    );
                    assert_eq!(
                        parse_size(&format!("{n} {spelled}")),
                        Some(n * mul),
                        "{n} {spelled}"
                    );
                }
            }
        }
        for bad in [
            "",
            "GB",
            "-1",
            "1.5GB",
            "12XB",
            "1 G B",
            "99999999999999999999",
            "20000000000TB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
