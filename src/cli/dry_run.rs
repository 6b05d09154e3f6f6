//! `-dry-run` for the commands that change the database: `up`, `down` and `goto` print
//! their plan (the SQL of each step), `drop` the objects it would remove, `force` the version
//! it would set. Each prints on stdout and changes nothing; the database was opened
//! read-only, without creating the file or the version table. The commands that only read
//! need nothing here, and the rest refuse `-dry-run` while parsing (src/cli/args.rs).
//! `-migrate-db -dry-run` prints the plan of `up` after the database command's checks.

use migrate::driver::Dialect;
use migrate::migrator::log_string;
use migrate::{safety, DbVersion, Direction, Error, Source, Target};

use super::args::{ArgError, Command, DownTo};
use super::{fatal, fatal_err, Code, Ctx};

/// Runs `command` as a dry run; `None` for a command that has no dry run of its own.
pub fn run(ctx: &mut Ctx, command: &Command) -> Option<Code> {
    let code = match command {
        Command::Up(limit) => plan(ctx, limit.map(|n| n.map_or(Target::Up, Target::UpBy))),
        Command::Down(to) => plan(
            ctx,
            to.map(|to| match to {
                DownTo::All | DownTo::AskAll => Target::DownAll,
                DownTo::By(n) => Target::DownBy(n),
            }),
        ),
        Command::Goto(v) => plan(ctx, v.map(Target::Goto)),
        Command::Drop { .. } => drop(ctx),
        Command::Force(v) => force(ctx, *v),
        _ => return None,
    };
    Some(code)
}

/// `up`/`down`/`goto`: the argument is checked first, as the dry run always did.
fn plan(ctx: &mut Ctx, target: Result<Target, ArgError>) -> Code {
    match target {
        Ok(t) => dry_run(ctx, t),
        Err(ArgError(msg)) => fatal(&ctx.log, msg),
    }
}

fn version_text(v: &DbVersion) -> String {
    match v {
        DbVersion::Nil => "nil".into(),
        DbVersion::Clean(v) => v.to_string(),
        DbVersion::Dirty(v) => format!("{v} (dirty)"),
    }
}

/// The query `drop` uses to find what it drops, per database.
fn objects_query(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
        Dialect::Postgres => "SELECT 'table'::text, table_name::text FROM information_schema.tables WHERE table_schema=(SELECT current_schema()) AND table_type='BASE TABLE' ORDER BY table_name",
        Dialect::Mysql => "SELECT IF(table_type = 'VIEW', 'view', 'table'), table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
    }
}

/// `drop`: the tables and views it would drop. No confirmation is asked: nothing changes.
fn drop(ctx: &mut Ctx) -> Code {
    let log = ctx.log;
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let d = m.driver();
    let rows = match d.query(objects_query(d.dialect()), &[]) {
        Ok(r) => r,
        Err(e) => return fatal_err(&log, &e),
    };
    let mut out = format!(
        "-- dry run: drop would remove {} object(s) from the database; nothing was changed\n",
        rows.len()
    );
    for row in rows {
        let mut cells = row.into_iter().map(|v| v.into_string().unwrap_or_default());
        let kind = cells.next().unwrap_or_default();
        let name = cells.next().unwrap_or_default();
        out.push_str(&format!("-- {kind} {name}\n"));
    }
    super::log::out(&out);
    Code::Ok
}

/// `force V`: the version it would set, after golang-migrate's checks of V.
fn force(ctx: &mut Ctx, v: Result<i64, ArgError>) -> Code {
    let log = ctx.log;
    let m = match ctx.migrator() {
        Ok(m) => m,
        Err(c) => return c,
    };
    let v = match v {
        Ok(v) => v,
        Err(ArgError(msg)) => return fatal(&log, msg),
    };
    if v < -1 {
        return fatal(&log, "error: argument V must be >= -1");
    }
    let from = match m.version() {
        Ok(cur) => version_text(&cur),
        Err(e) => return fatal_err(&log, &e),
    };
    let to = if v == -1 {
        "nil".to_string()
    } else {
        format!("{v} (clean)")
    };
    super::log::outln(&format!(
        "-- dry run: force would set the version to {to}, from version {from}; nothing was changed"
    ));
    Code::Ok
}

/// `up|down|goto ... -dry-run`: prints the plan on stdout and changes nothing.
fn dry_run(ctx: &mut Ctx, target: Target) -> Code {
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
        return code;
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
            return Code::Ok;
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
        if let Err(e) = plan_step(m, step, &stored, &mut out) {
            return fatal_err(&log, &e);
        }
    }
    super::log::out(&out);
    match plan.then {
        Some(e) => fatal_err(&log, &e),
        None => Code::Ok,
    }
}

/// One step of a dry run's plan: a header, then the SQL that would run (the file, or
/// the stored down SQL of a version whose file is absent), appended to `out`.
fn plan_step(
    m: &mut migrate::Migrator,
    step: &migrate::plan::Step,
    stored: &std::collections::BTreeMap<u64, migrate::journal::StoredDown>,
    out: &mut String,
) -> Result<(), Error> {
    let file = m
        .source()
        .entry(step.version)
        .and_then(|e| e.get(step.direction));
    let dir = match step.direction {
        Direction::Up => "up",
        Direction::Down => "down",
    };
    let to = step.target.map_or("nil".to_string(), |v| v.to_string());
    let push_body = |out: &mut String, body: &str| {
        out.push_str(body);
        if !body.ends_with('\n') {
            out.push('\n');
        }
    };
    match (file, stored.get(&step.version)) {
        (Some(f), _) => {
            let bytes = m.source().read(f)?.into_owned();
            out.push_str(&format!(
                "\n-- {} ({dir}, then at version {to})\n-- file: {}\n-- sha256: {}\n",
                log_string(step, &f.identifier),
                f.name,
                migrate::source::checksum(&bytes)
            ));
            push_body(out, &String::from_utf8_lossy(&bytes));
        }
        (None, Some(s)) if step.direction == Direction::Down => {
            out.push_str(&format!(
                "\n-- {} ({dir}, then at version {to})\n-- stored down SQL of {} (the file is absent)\n-- sha256: {}\n",
                log_string(step, &s.identifier()),
                s.file,
                s.checksum
            ));
            push_body(out, &s.body);
        }
        _ => out.push_str(&format!(
            "\n-- {} ({dir}, then at version {to})\n-- no file: only the version changes\n",
            log_string(step, "<empty>")
        )),
    }
    Ok(())
}
