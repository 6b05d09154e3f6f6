//! `-dry-run` for the commands that change the database: `up`, `down` and `goto` print
//! their plan (src/cli/safety.rs), `drop` the objects it would remove, `force` the version
//! it would set. Each prints on stdout and changes nothing; the database was opened
//! read-only, without creating the file or the version table. The commands that only read
//! need nothing here, and the rest refuse `-dry-run` while parsing (src/cli/args.rs).

use migrate::driver::Dialect;
use migrate::{DbVersion, Target};

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
        Ok(t) => super::safety::dry_run(ctx, t),
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
    0
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
    0
}
