//! The CLI side of `migrate::safety`: the global flags, the automatic backup and integrity
//! hook, `-dry-run`, and the `backup`, `backups`, `restore` and `rehearse` commands.
//! See docs/backups.md.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use migrate::gocompat::duration::format as go_duration;
use migrate::gocompat::flag::{Def, Kind, Parsed};
use migrate::migrator::log_string;
use migrate::plan::Plan;
use migrate::safety::{self, backup, integrity, Check, Options};
use migrate::{DbVersion, Direction, Error, Source, Target};

use super::args::ArgError;
use super::{command_flags, fatal, fatal_err, parse_command, Code, Ctx};

/// Databases at least this large get a line on stderr before they are checked or backed
/// up (64 MiB: from about that size a backup and a check take a noticeable part of a
/// second on an ordinary disk).
pub const ANNOUNCE_SIZE: u64 = 64 << 20;

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

/// What the hook saw during a run.
#[derive(Debug, Default)]
pub struct RunState {
    /// The hook ran: a change was about to be made.
    changed: bool,
    backup: Option<PathBuf>,
    fk_before: usize,
    /// The version the backup was taken at, for a run that migrates (steps planned).
    migrates_from: Option<DbVersion>,
}

/// Installs the before-change hook (integrity check, backup, retention) on a command that
/// changes the database. No-op for non-SQLite and in-memory databases.
pub fn install(ctx: &mut Ctx, flags: &Flags) -> Arc<Mutex<RunState>> {
    let state = Arc::new(Mutex::new(RunState::default()));
    let Ok(Some(db)) = safety::sqlite_file(&ctx.database_url) else {
        return state;
    };
    let Ok(m) = ctx.migrator.as_mut() else {
        return state;
    };
    let dir = safety::backup_dir(&db, flags.opts.backup_dir.as_deref(), &ctx.database_url);
    let opts = flags.opts.clone();
    let log = ctx.log;
    let st = Arc::clone(&state);
    let url = ctx.database_url.clone();
    m.set_before_change(Box::new(move |d, plan: &Plan| {
        let mut s = st.lock().map_err(|_| Error::Other("safety state poisoned".into()))?;
        s.changed = true;
        if opts.no_backup {
            announce(log, &db, "Checking");
        } else {
            announce(
                log,
                &db,
                &format!("Checking and backing up (to {})", dir.display()),
            );
        }
        let ticker = Ticker::start(format!("checking {}", db.display()), None);
        let problems = integrity::check(d, opts.check);
        drop(ticker);
        if !problems.is_empty() {
            return Err(with_url(
                Error::Corrupt {
                    path: db.clone(),
                    check: opts.check.pragma().into(),
                    detail: problems.join("; "),
                    newest_backup: backup::newest(&db, &dir, d.table()),
                },
                &url,
            ));
        }
        s.fk_before = integrity::foreign_key_violations(d)?;
        if s.fk_before > 0 {
            log.println(&format!(
                "warning: the database already has {} foreign key violation(s) (PRAGMA foreign_key_check); migrations may not add any",
                s.fk_before
            ));
        }
        let before = d.version()?;
        let ticker = backup_ticker(&db, &dir);
        let made = safety::auto_backup(d, &db, &dir, &opts);
        drop(ticker);
        let Some(b) = made? else {
            return Ok(());
        };
        s.migrates_from = (!plan.steps.is_empty()).then_some(before);
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
        s.backup = Some(b.path);
        Ok(())
    }));
    state
}

/// Before a changing command: if the database cannot even be read (a malformed page under
/// the version table), run the integrity check now and refuse with the newest backup,
/// instead of the bare SQLite error. The full check runs in the hook, under the lock,
/// only when a change is certain.
pub fn preflight(ctx: &mut Ctx, flags: &Flags) -> Option<Code> {
    let Ok(Some(db)) = safety::sqlite_file(&ctx.database_url) else {
        return None;
    };
    let dir = safety::backup_dir(&db, flags.opts.backup_dir.as_deref(), &ctx.database_url);
    let m = ctx.migrator.as_mut().ok()?;
    let e = m.version().err()?;
    let text = e.to_string();
    use migrate::error::DbErrorKind::{Corrupt, NotADatabase};
    if !matches!(e.db_kind(), Some(Corrupt | NotADatabase)) {
        return None;
    }
    let mut problems = integrity::check(m.driver(), flags.opts.check);
    if problems.is_empty() {
        problems.push(text);
    }
    let table = m.driver().table().to_string();
    let err = Error::Corrupt {
        path: db.clone(),
        check: flags.opts.check.pragma().into(),
        detail: problems.join("; "),
        newest_backup: backup::newest(&db, &dir, &table),
    };
    Some(fatal_err(&ctx.log, &with_url(err, &ctx.database_url)))
}

/// The database URL as a shell word for the commands the hints print: password
/// redacted, quoted when needed.
fn url_word(database_url: &str) -> String {
    shell_quote(&migrate::url::redact(database_url))
}

/// Library errors whose hint names a command spell the database `<url>` (they do not know
/// it); the CLI does: the same error, with the real URL ([`url_word`]) in the hint.
fn with_url(e: Error, database_url: &str) -> Error {
    match e.hint() {
        Some(h) if h.contains("<url>") => Error::Safety {
            msg: e.to_string(),
            hint: Some(h.replace("<url>", &url_word(database_url))),
        },
        _ => e,
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// After a changing command: integrity and foreign-key checks, `-optimize`, and on
/// failure the restore command (or, with `-restore-on-failure`, the restore itself).
pub fn after(ctx: &mut Ctx, flags: &Flags, state: &Arc<Mutex<RunState>>, code: Code) -> Code {
    let log = ctx.log;
    let (changed, backup, fk_before, migrates_from) = match state.lock() {
        Ok(s) => (s.changed, s.backup.clone(), s.fk_before, s.migrates_from),
        Err(_) => return code,
    };
    let Ok(m) = ctx.migrator.as_mut() else {
        return code;
    };
    if !changed {
        return code;
    }
    let db = safety::sqlite_file(&ctx.database_url).ok().flatten();
    // A failed run whose database also fails the check: the failed file's hint (failure.rs)
    // does not know of the check, so its result is printed here.
    let mut unreadable_after_failure = false;
    if let Some(p) = &db {
        announce(log, p, "Checking");
    }
    let ticker = Ticker::start(
        format!(
            "checking {}",
            db.as_deref()
                .map_or(String::new(), |p| p.display().to_string())
        ),
        None,
    );
    let problem = if code == 0 {
        let problems = safety::check_after_run(m.driver(), db.as_deref(), flags.opts.check);
        let fk_after = integrity::foreign_key_violations(m.driver()).unwrap_or(0);
        if !problems.is_empty() {
            Some(format!(
                "error: the database failed PRAGMA {} after migrating: {}",
                flags.opts.check.pragma(),
                problems.join("; ")
            ))
        } else if fk_after > fk_before {
            Some(format!(
                "error: the database has {} new foreign key violation(s) after migrating (PRAGMA foreign_key_check)",
                fk_after - fk_before
            ))
        } else {
            if flags.optimize {
                match m.driver().query("PRAGMA optimize", &[]) {
                    Ok(_) => log.verbose("PRAGMA optimize done"),
                    Err(e) => log.println(&format!("warning: PRAGMA optimize failed: {e}")),
                }
            }
            None
        }
    } else {
        // A failed transactional step rolled back; a dirty database needs recovery, and so
        // does one an earlier step of this run left unreadable (its schema edited through
        // `writable_schema`), even though the failed step itself changed nothing.
        let problems = safety::check_after_run(m.driver(), db.as_deref(), flags.opts.check);
        if !problems.is_empty() {
            unreadable_after_failure = true;
            Some(format!(
                "the database failed PRAGMA {} after the run: {}",
                flags.opts.check.pragma(),
                problems.join("; ")
            ))
        } else {
            match m.version() {
                Ok(DbVersion::Dirty(v)) => Some(format!(
                    "the migration failed part-way without a transaction: the database is dirty at version {v}"
                )),
                _ => None,
            }
        }
    };
    drop(ticker);
    let Some(problem) = problem else {
        // A migrating run that failed before any step committed, at the version its
        // backup was taken at, changed nothing but migrate's journal: the backup still
        // stands for the database, and a retry reuses it.
        if let (Some(b), Some(from), Some(db)) = (&backup, migrates_from, &db) {
            let unchanged = code != 0
                && super::failure::steps_finished() == 0
                && m.version().is_ok_and(|v| v == from);
            if unchanged {
                let table = m.driver().table().to_string();
                if let Err(e) = safety::remember_unchanged(db, b, &table) {
                    log.verbose(&format!("the backup cannot be marked as reusable: {e}"));
                }
            }
        }
        return code;
    };
    if code == 0 {
        log.println(&problem);
        // Recorded in the journal, under the lock, before any restore replaces the file.
        let timeout = ctx.lock_timeout;
        let text = problem.trim_start_matches("error: ");
        let logged = migrate::driver::with_lock(m.driver(), timeout, |d| {
            safety::journal_failed_check(d, text)
        });
        if let Err(e) = logged {
            log.println(&format!(
                "warning: the failed check could not be recorded in the journal: {}",
                safety::short(&e)
            ));
        }
    }
    if unreadable_after_failure {
        log.println(&format!("hint: {problem}"));
    }
    let Some(b) = backup else {
        // No backup (-no-backup, or nothing to lose): the error's own hint applies.
        return 1;
    };
    // A failed run's state was told by the failed file's hint (failure.rs).
    let Ok(Some(db)) = safety::sqlite_file(&ctx.database_url) else {
        return 1;
    };
    if flags.restore_on_failure {
        let table = m.driver().table().to_string();
        // The run's own backup: restored even if the run removed the database's identity.
        match safety::restore::restore(&db, &b, &table, &ctx.database_url, &flags.opts, true) {
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
    } else {
        log.println(&format!(
            "hint: to return to the database as it was before this run: migrate -database {} restore {}",
            url_word(&ctx.database_url),
            shell_quote(&b.display().to_string())
        ));
    }
    1
}

/// `up|down|goto ... -dry-run`: prints the plan on stdout and changes nothing.
pub fn dry_run(ctx: &mut Ctx, target: Target) -> Code {
    let log = ctx.log;
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    print_plan(m, target, log)
}

/// `-migrate-db -dry-run`: the database command's checks and refusals (dirty, ahead,
/// drift: same messages and exit codes), then the plan of `up -dry-run`. Nothing is
/// changed: no backup, no table, a missing file stays missing.
pub fn migrate_db_dry_run(
    source: Source,
    database_url: &str,
    console: &mut migrate::gate::Console<'_>,
    log: super::log::Log,
) -> Code {
    if let Err(code) = migrate::gate::preflight(
        migrate::gate::DbCommand::Migrate,
        &source,
        database_url,
        console,
    ) {
        return i32::from(code);
    }
    match safety::open_no_create(source, database_url) {
        Ok(mut m) => print_plan(&mut m, Target::Up, log),
        Err(e) => fatal_err(&log, &e),
    }
}

/// Prints the plan from the migrator's current version to `target` on stdout.
fn print_plan(m: &mut migrate::Migrator, target: Target, log: super::log::Log) -> Code {
    let current = m.version();
    let plan = match m.plan(target) {
        Ok(p) => p,
        Err(Error::NoChange) => {
            log.println("no change");
            return 0;
        }
        // The same refusal as the real run, printed as it prints it (commands::finish).
        Err(e @ Error::NoMigrationFound(_)) => {
            log.printf(&format!("error: {e}"));
            return fatal_err(&log, &e);
        }
        Err(e @ Error::Dirty(_)) => {
            let code = fatal_err(&log, &e);
            for l in super::recover::dirty_lines(m) {
                log.println(&l);
            }
            return code;
        }
        Err(e) => return fatal_err(&log, &e),
    };
    // Down steps whose file is absent run the down SQL stored when the version was applied.
    let stored = m.judge(target).map(|j| j.stored).unwrap_or_default();
    let mut out = String::new();
    let from = match current {
        Ok(DbVersion::Clean(v)) => v.to_string(),
        _ => "nil".into(),
    };
    out.push_str(&format!(
        "-- dry run: {} migration(s) would run, from version {from}; nothing was changed\n",
        plan.steps.len()
    ));
    for step in &plan.steps {
        let file = m
            .source()
            .entry(step.version)
            .and_then(|e| e.get(step.direction));
        let dir = match step.direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        let to = step.target.map_or("nil".to_string(), |v| v.to_string());
        match file {
            Some(f) => {
                let bytes = match m.source().read(f) {
                    Ok(b) => b.into_owned(),
                    Err(e) => return fatal_err(&log, &e),
                };
                out.push_str(&format!(
                    "\n-- {} ({dir}, then at version {to})\n-- file: {}\n-- sha256: {}\n",
                    log_string(step, &f.identifier),
                    f.name,
                    migrate::source::checksum(&bytes)
                ));
                let sql = String::from_utf8_lossy(&bytes);
                out.push_str(&sql);
                if !sql.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => match stored.get(&step.version) {
                Some(s) if step.direction == Direction::Down => {
                    out.push_str(&format!(
                        "\n-- {} ({dir}, then at version {to})\n-- stored down SQL of {} (the file is absent)\n-- sha256: {}\n",
                        log_string(step, &s.identifier()),
                        s.file,
                        s.checksum
                    ));
                    out.push_str(&s.body);
                    if !s.body.ends_with('\n') {
                        out.push('\n');
                    }
                }
                _ => out.push_str(&format!(
                    "\n-- {} ({dir}, then at version {to})\n-- no file: only the version changes\n",
                    log_string(step, "<empty>")
                )),
            },
        }
    }
    super::log::out(&out);
    match plan.then {
        Some(e) => fatal_err(&log, &e),
        None => 0,
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
    let flag_dir = p.string("dir");
    let flag_dir = if flag_dir.is_empty() {
        flags.opts.backup_dir.clone()
    } else {
        Some(PathBuf::from(flag_dir))
    };
    let dir = safety::backup_dir(&db, flag_dir.as_deref(), &ctx.database_url);
    let version = safety::restore::version_of(&db, &table_of(ctx));
    let started = migrate::journal::now();
    let clock = std::time::Instant::now();
    let table = table_of(ctx);
    announce(log, &db, &format!("Backing up (to {})", dir.display()));
    let ticker = backup_ticker(&db, &dir);
    let made = backup::create(&db, &dir, &version, &table);
    drop(ticker);
    match made {
        Ok(b) => {
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
            if let Ok(removed) = backup::prune_sized(
                &db,
                &dir,
                flags.opts.keep,
                flags.opts.max_size,
                &table,
                None,
            ) {
                for r in removed {
                    log.verbose(&format!("Removed old backup {}", r.display()));
                }
            }
            0
        }
        Err(e) => fatal_err(&log, &e),
    }
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
                return 0;
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
            0
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
            0
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
            0
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

    #[test]
    fn hint_urls_are_redacted_and_quoted() {
        assert_eq!(url_word("sqlite3:///srv/app.db"), "sqlite3:///srv/app.db");
        assert_eq!(
            url_word("sqlite3:///srv/my app.db?x-backup-dir=/b"),
            "'sqlite3:///srv/my app.db?x-backup-dir=/b'"
        );
        let w = url_word("postgres://ann:s3cret@db/app?sslmode=disable");
        assert!(!w.contains("s3cret"), "{w}");
        let e = with_url(
            Error::Corrupt {
                path: "/srv/app.db".into(),
                check: "quick_check".into(),
                detail: "bad".into(),
                newest_backup: Some("/srv/app.db.backup-v0001-20261122T031500Z".into()),
            },
            "sqlite3:///srv/app.db",
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("nothing was changed; the newest backup is /srv/app.db.backup-v0001-20261122T031500Z: check it and restore it with `migrate -database sqlite3:///srv/app.db restore /srv/app.db.backup-v0001-20261122T031500Z`")
        );
        assert!(e
            .to_string()
            .starts_with("database /srv/app.db failed its integrity check"));
    }
}
