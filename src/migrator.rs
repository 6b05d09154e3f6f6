//! The migrator: lock -> read version -> refuse dirty -> plan -> run steps -> report.
//! Mirrors golang-migrate's `Up`/`Steps`/`Migrate`/`Down`/`Force`/`Drop`, with each step's
//! body and version write in one transaction on transactional drivers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::driver::{self, in_transaction, set_version, with_lock, Dialect, Driver};
use crate::error::{Error, NoTransaction, Result};
use crate::journal::{self, Allow};
use crate::plan::{plan, Step, Target};
use crate::source::{Direction, Source};
use crate::url::DatabaseUrl;
use crate::version::DbVersion;

/// Something the migrator reports while it works (the CLI renders these).
#[derive(Debug)]
pub enum Event<'a> {
    /// A step is about to be read and run.
    StepStarting {
        /// The step.
        step: &'a Step,
        /// The file's identifier (its name between the version and the extension).
        identifier: &'a str,
        /// Whether the step has a file (golang-migrate runs a version without one as empty).
        has_file: bool,
    },
    /// migrate's records were reconciled with the database's version before judging:
    /// versions applied outside migrate were adopted, versions no longer applied were
    /// forgotten (docs/journal.md). [`journal::Reconciled::describe`] says what happened.
    Reconciled(&'a journal::Reconciled),
    /// A down step whose file is absent runs the down SQL stored when its version was
    /// applied ([`journal::StoredDown`]); sent before its `StepStarting`.
    StoredDown {
        /// The step.
        step: &'a Step,
        /// The down SQL it runs.
        stored: &'a journal::StoredDown,
    },
    /// A drifted or missing file was let through by `-allow-drift` / `-allow-missing`.
    Allowed {
        /// What was let through.
        problem: &'a Error,
    },
    /// `-single-transaction` failed: the steps reported as finished were rolled back too.
    RolledBack {
        /// How many finished steps were rolled back with it.
        steps: usize,
    },
    /// A step committed.
    StepFinished {
        /// The step.
        step: &'a Step,
        /// The file's identifier.
        identifier: &'a str,
        /// How long reading the file took.
        read: Duration,
        /// How long the step took, reading included.
        elapsed: Duration,
    },
}

/// A step that ran.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The step.
    pub step: Step,
    /// The file's identifier.
    pub identifier: String,
    /// The file's name, when the step had a file.
    pub file: Option<String>,
    /// How long the step took.
    pub elapsed: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// The steps that ran, in order.
    pub applied: Vec<Applied>,
    /// A graceful stop (SIGINT) ended the run early.
    pub stopped: bool,
}

type Observer = Box<dyn FnMut(&Event<'_>) + Send>;

/// Called inside the lock once a change is certain, before anything is written
/// (safety: integrity check and backup). An error stops the run with nothing changed.
/// `up`/`down`/`goto` pass their plan (only when it has steps); `force`/`drop` pass an
/// empty plan.
pub type BeforeChange = Box<dyn FnMut(&mut dyn Driver, &crate::plan::Plan) -> Result<()> + Send>;

/// A source and a database, ready to migrate.
pub struct Migrator {
    source: Source,
    driver: Box<dyn Driver>,
    lock_timeout: Duration,
    stop: Arc<AtomicBool>,
    observer: Option<Observer>,
    allow: Allow,
    single_transaction: bool,
    before_change: Option<BeforeChange>,
}

impl Migrator {
    /// Opens the database at `database_url` (errors read `failed to open database: ...`).
    /// Creates nothing: call `ensure_version_table` where golang-migrate would.
    pub fn open(source: Source, database_url: &str) -> Result<Migrator> {
        let url = DatabaseUrl::parse(database_url).map_err(|e| Error::DatabaseOpen(Box::new(e)))?;
        let driver = driver::open(&url).map_err(|e| Error::DatabaseOpen(Box::new(e)))?;
        Ok(Migrator::new(source, driver))
    }

    /// A migrator on a SQLite connection the application opened (a SQLCipher key, its own
    /// PRAGMAs); [`Migrator::into_sqlite`] gives it back. `options` is a URL's query string
    /// of `x-` options (`""` for the defaults). What migrate changes on the connection
    /// during a run, and restores, is listed at [`driver::sqlite::Sqlite::from_connection`].
    /// The lock, the bookkeeping, [`Migrator::gate`] and the safety features work as on a
    /// URL, with the file the connection has open. On an error the connection is dropped.
    #[cfg(feature = "sqlite")]
    pub fn from_sqlite(
        source: Source,
        conn: rusqlite::Connection,
        options: &str,
    ) -> Result<Migrator> {
        let driver = driver::sqlite::Sqlite::from_connection(conn, options)?;
        Ok(Migrator::new(source, Box::new(driver)))
    }

    /// A migrator on a PostgreSQL client the application connected (its own TLS or
    /// authentication); [`Migrator::into_postgres`] gives it back. See
    /// [`driver::postgres::Postgres::from_client`] for the options and for what migrate
    /// sets on the session. On an error the client is dropped.
    #[cfg(feature = "postgres")]
    pub fn from_postgres(
        source: Source,
        client: ::postgres::Client,
        options: &str,
    ) -> Result<Migrator> {
        let driver = driver::postgres::Postgres::from_client(client, options)?;
        Ok(Migrator::new(source, Box::new(driver)))
    }

    /// A migrator on a MySQL or MariaDB connection the application opened on the tokio
    /// runtime `runtime`; [`Migrator::into_mysql`] gives it back. See
    /// [`driver::mysql::Mysql::from_conn`] for the threads it may be called from, the
    /// options and what migrate sets on the session. On an error the connection is dropped.
    #[cfg(feature = "mysql")]
    pub fn from_mysql(
        source: Source,
        conn: ::mysql_async::Conn,
        runtime: tokio::runtime::Handle,
        options: &str,
    ) -> Result<Migrator> {
        let driver = driver::mysql::Mysql::from_conn(conn, runtime, options)?;
        Ok(Migrator::new(source, Box::new(driver)))
    }

    /// The driver, for a caller that needs the concrete one back (see the `into_*`
    /// methods for the connection itself).
    pub fn into_driver(self) -> Box<dyn Driver> {
        self.driver
    }

    /// The driver as its concrete type, or `None` when it is another driver.
    fn into_concrete<D: Driver>(self) -> Option<D> {
        let any: Box<dyn std::any::Any> = self.driver;
        any.downcast::<D>().ok().map(|d| *d)
    }

    /// The SQLite connection back (also one migrate opened from a URL), with its settings
    /// restored ([`driver::sqlite::Sqlite::into_connection`]). `None` when the database
    /// is not SQLite.
    #[cfg(feature = "sqlite")]
    pub fn into_sqlite(self) -> Option<rusqlite::Connection> {
        self.into_concrete::<driver::sqlite::Sqlite>()
            .map(driver::sqlite::Sqlite::into_connection)
    }

    /// The PostgreSQL client back, the lock released and the session's settings restored
    /// ([`driver::postgres::Postgres::into_client`]). `None` when the database is not
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    pub fn into_postgres(self) -> Option<::postgres::Client> {
        self.into_concrete::<driver::postgres::Postgres>()
            .map(driver::postgres::Postgres::into_client)
    }

    /// The MySQL connection back, the lock released ([`driver::mysql::Mysql::into_conn`]).
    /// `None` when the database is not MySQL, or the connection was closed (it broke, or a
    /// call ran past its deadline).
    #[cfg(feature = "mysql")]
    pub fn into_mysql(self) -> Option<::mysql_async::Conn> {
        self.into_concrete::<driver::mysql::Mysql>()
            .and_then(driver::mysql::Mysql::into_conn)
    }

    /// A migrator on a driver (one of [`crate::driver`]'s, or an application's own).
    pub fn new(source: Source, driver: Box<dyn Driver>) -> Migrator {
        Migrator {
            source,
            driver,
            lock_timeout: Duration::from_secs(15),
            stop: Arc::new(AtomicBool::new(false)),
            observer: None,
            allow: Allow::default(),
            single_transaction: false,
            before_change: None,
        }
    }

    /// How long to wait for the migration lock (golang-migrate's `-lock-timeout`).
    pub fn set_lock_timeout(&mut self, t: Duration) {
        self.lock_timeout = t;
    }

    /// What the drift checks let through (`-allow-drift`, `-allow-missing`,
    /// `-allow-out-of-order`; the last applies the late files).
    pub fn set_allow(&mut self, allow: Allow) {
        self.allow = allow;
    }

    /// Runs every pending step in one transaction, all or nothing (`-single-transaction`).
    /// Only on transactional drivers, and only when every file can run in a transaction.
    pub fn set_single_transaction(&mut self, on: bool) {
        self.single_transaction = on;
    }

    /// Receives progress events.
    pub fn set_observer(&mut self, f: impl FnMut(&Event<'_>) + Send + 'static) {
        self.observer = Some(Box::new(f));
    }

    /// Runs `f` before the first change of `up`/`down`/`goto`/`force`/`drop` (see
    /// [`BeforeChange`]).
    pub fn set_before_change(&mut self, f: BeforeChange) {
        self.before_change = Some(f);
    }

    /// Set it to stop after the running step (SIGINT handling).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The migrations this migrator applies.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The database driver, for reads and checks outside a run.
    pub fn driver(&mut self) -> &mut dyn Driver {
        self.driver.as_mut()
    }

    /// What golang-migrate does on open: create the version table if it is missing.
    pub fn ensure_version_table(&mut self) -> Result<()> {
        self.driver.ensure_version_table()
    }

    /// The recorded version, without locking or writing.
    pub fn version(&mut self) -> Result<DbVersion> {
        self.driver.version()
    }

    /// Applies every pending migration (golang-migrate's `Up`).
    pub fn up(&mut self) -> Result<Report> {
        self.migrate(Target::Up)
    }

    /// `up N` / `down N` as golang-migrate's `Steps(n)`.
    pub fn steps(&mut self, n: i64) -> Result<Report> {
        match n {
            0 => Err(Error::NoChange),
            n if n > 0 => self.migrate(Target::UpBy(n.unsigned_abs())),
            n => self.migrate(Target::DownBy(n.unsigned_abs())),
        }
    }

    /// Reverts every applied migration (golang-migrate's `Down`).
    pub fn down(&mut self) -> Result<Report> {
        self.migrate(Target::DownAll)
    }

    /// Migrates up or down to version `v` (golang-migrate's `Migrate(v)`).
    pub fn goto(&mut self, v: u64) -> Result<Report> {
        self.migrate(Target::Goto(v))
    }

    /// Takes a database that is ahead of the source (an older binary, an older checkout)
    /// down to the source's latest version (nil for an empty source) with the down SQL
    /// stored when the newer versions were applied. Refuses, changing nothing, when any
    /// version to undo has no stored down SQL ([`Error::DowngradeMissingDown`]);
    /// `Err(NoChange)` when the database is not ahead.
    pub fn downgrade(&mut self) -> Result<Report> {
        let target = self.source.latest().map_or(Target::DownAll, Target::Goto);
        self.migrate_as(target, true)
    }

    /// Sets the version without running anything (`-1` = nil); clears a dirty flag.
    pub fn force(&mut self, v: i64) -> Result<()> {
        if v < -1 {
            return Err(Error::ForceVersionTooLow);
        }
        let version = u64::try_from(v).ok();
        let timeout = self.lock_timeout;
        let source = &self.source;
        let hook = &mut self.before_change;
        with_lock(self.driver.as_mut(), timeout, |d| {
            call_before_change(hook, d, None)?;
            let started = journal::now();
            let t = Instant::now();
            d.ensure_version_table()?;
            let from = d.version()?;
            set_version(d, version, false)?;
            // Journal after the version write: force must work even when the side
            // tables cannot be written.
            journal::forced(d, source, from, version, started, t.elapsed())
        })
    }

    /// Drops every table (the version table and the side tables too), then recreates the
    /// journal and records the drop in it.
    pub fn drop_all(&mut self) -> Result<()> {
        let timeout = self.lock_timeout;
        let hook = &mut self.before_change;
        with_lock(self.driver.as_mut(), timeout, |d| {
            call_before_change(hook, d, None)?;
            let started = journal::now();
            let t = Instant::now();
            let from = d.version().unwrap_or(DbVersion::Nil);
            let res = d.drop_all();
            let mut entry =
                journal::Entry::new("drop", started, t.elapsed()).versions(from.version(), None);
            if let Err(e) = &res {
                entry = entry.failed(e);
            }
            let logged = journal::ensure(d).and_then(|()| journal::append(d, &entry));
            res.and(logged)
        })
    }

    /// `migrate repair`: accepts the current files as the applied ones (journaled).
    pub fn repair(&mut self) -> Result<()> {
        let timeout = self.lock_timeout;
        let source = &self.source;
        with_lock(self.driver.as_mut(), timeout, |d| {
            d.ensure_version_table()?;
            let current = match d.version()? {
                DbVersion::Dirty(v) => return Err(Error::Dirty(v)),
                db => db.version(),
            };
            journal::repair(d, source, current)
        })
    }

    /// `migrate status`: reads only, never creates anything.
    pub fn status(&mut self, journal_rows: u64) -> Result<crate::report::Status> {
        crate::report::status(&self.source, Some(self.driver.as_mut()), journal_rows)
    }

    /// The journal, newest first (`limit` 0 = all). Reads only.
    pub fn history(&mut self, limit: u64) -> Result<Vec<journal::Entry>> {
        journal::entries(self.driver.as_mut(), limit)
    }

    /// What a run to `target` would do, judged exactly as the run judges (dirty,
    /// golang-migrate's `no migration found`, reconciliation, drift, missing, out of order,
    /// the allow flags): the error the run would refuse with, or its steps, late
    /// out-of-order files first (`-allow-out-of-order`, each with the version left where it
    /// is). Reads only: no lock, no table, no write (dry runs).
    pub fn plan(&mut self, target: Target) -> Result<crate::plan::Plan> {
        let judged = judge(self.driver.as_mut(), &self.source, target, self.allow)?;
        let late: Vec<Step> = if judged.going_up(target) {
            judged
                .verified
                .late
                .iter()
                .map(|v| Step {
                    version: *v,
                    direction: Direction::Up,
                    target: judged.current,
                })
                .collect()
        } else {
            Vec::new()
        };
        match judged.planned {
            Err(Error::NoChange) if !late.is_empty() => Ok(crate::plan::Plan {
                steps: late,
                then: None,
            }),
            Ok(mut p) => {
                p.steps.splice(0..0, late);
                Ok(p)
            }
            Err(e) => Err(e),
        }
    }

    /// migrate's records reconciled with the database's version, without writing
    /// ([`journal::reconcile`]). Reads only.
    pub fn reconciled(&mut self) -> Result<journal::Reconciled> {
        let db = self.driver.version()?;
        journal::read_reconciled(self.driver.as_mut(), &self.source, db)
    }

    /// The judging of a run to `target` (see [`Migrator::plan`]), without the plan: how
    /// migrate's records reconcile with the database and what the checks let through.
    pub fn judge(&mut self, target: Target) -> Result<Judged> {
        judge(self.driver.as_mut(), &self.source, target, self.allow)
    }

    fn migrate(&mut self, target: Target) -> Result<Report> {
        self.migrate_as(target, false)
    }

    fn migrate_as(&mut self, target: Target, downgrade: bool) -> Result<Report> {
        let timeout = self.lock_timeout;
        let (allow, single) = (self.allow, self.single_transaction);
        let before_change = &mut self.before_change;
        let mut run = Run {
            source: &self.source,
            stored: BTreeMap::new(),
            observer: &mut self.observer,
            stop: &self.stop,
        };
        with_lock(self.driver.as_mut(), timeout, |d| {
            d.ensure_version_table()?;
            if downgrade {
                check_downgrade(d, run.source)?;
            }
            // Refusals (dirty, drift, missing, out of order) come before any write.
            let mut judged = judge(d, run.source, target, allow)?;
            run.stored = std::mem::take(&mut judged.stored);
            let (current, going_up) = (judged.current, judged.going_up(target));
            let (planned, late) = go_ahead(d, &mut run, before_change, judged)?;
            let mut report = Report::default();
            // `-allow-out-of-order` on a command that goes up: apply the late files first,
            // at the current version.
            if going_up {
                for v in late {
                    let step = Step {
                        version: v,
                        direction: Direction::Up,
                        target: current,
                    };
                    let applied = run_step(d, &mut run, &step, current, Call::Late)?;
                    report.applied.push(applied);
                }
            }
            let p = match planned {
                Err(Error::NoChange) if !report.applied.is_empty() => return Ok(report),
                other => other?,
            };
            if single {
                return run_single_transaction(d, &mut run, p, current, report);
            }
            run_planned(d, &mut run, p, current, report)
        })
    }
}

/// A judged run goes ahead: migrate's records are reconciled with the database, what the
/// allow flags let through is recorded, and, when anything will change, the
/// [`BeforeChange`] hook runs (backup and integrity check). Returns the plan and the late
/// out-of-order files.
fn go_ahead(
    d: &mut dyn Driver,
    run: &mut Run<'_>,
    before_change: &mut Option<BeforeChange>,
    judged: Judged,
) -> Result<(Result<crate::plan::Plan>, Vec<u64>)> {
    if journal::apply_reconciled(d, run.source, &judged.reconciled)? {
        run.emit(&Event::Reconciled(&judged.reconciled));
    }
    for f in &judged.verified.allowed {
        journal::record_allowed(d, f, judged.current)?;
        run.emit(&Event::Allowed {
            problem: &f.to_error(),
        });
    }
    let (planned, late) = (judged.planned, judged.verified.late);
    // The backup and integrity check before anything changes, once the run is known to go
    // ahead (after the drift checks, which refuse).
    let has_steps = planned.as_ref().is_ok_and(|p| !p.steps.is_empty());
    if has_steps || !late.is_empty() {
        call_before_change(before_change, d, planned.as_ref().ok())?;
        journal::ensure_downs(d)?;
    }
    Ok((planned, late))
}

/// The plan's steps one after the other, each in its own transaction where it can be; a
/// graceful stop (SIGINT) ends the run after the running step.
fn run_planned(
    d: &mut dyn Driver,
    run: &mut Run<'_>,
    p: crate::plan::Plan,
    current: Option<u64>,
    mut report: Report,
) -> Result<Report> {
    let mut from = current;
    for step in &p.steps {
        if run.stop.load(Ordering::SeqCst) {
            report.stopped = true;
            return Ok(report);
        }
        let applied = run_step(d, run, step, from, Call::Planned)?;
        from = step.target;
        report.applied.push(applied);
    }
    match p.then {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The checks before a run, in the run's order (see [`Migrator::plan`]). Reads only.
#[derive(Debug)]
pub struct Judged {
    /// The database's clean version.
    pub current: Option<u64>,
    /// The planner's answer (`no change` and golang-migrate's errors after the steps
    /// included; `no migration found` is returned as the judging's error instead).
    pub planned: Result<crate::plan::Plan>,
    /// migrate's records reconciled with the database's version.
    pub reconciled: journal::Reconciled,
    /// What the drift checks let through.
    pub verified: journal::Verified,
    /// The stored down SQL the plan's down steps run, by version: the steps whose down
    /// file is absent from the source.
    pub stored: BTreeMap<u64, journal::StoredDown>,
}

impl Judged {
    /// Whether the run goes up (late out-of-order files are applied first only then).
    fn going_up(&self, target: Target) -> bool {
        matches!(target, Target::Up | Target::UpBy(_))
            || matches!(target, Target::Goto(v) if self.current.is_none_or(|c| v >= c))
    }
}

/// Reads the version, refuses a dirty database, plans, lets golang-migrate's own refusal
/// for a version without files come first (it changes nothing), reconciles
/// migrate's records with the version and refuses drift, missing and out-of-order files
/// that are not allowed. Every migrating run and every dry run judges through here.
fn judge(d: &mut dyn Driver, source: &Source, target: Target, allow: Allow) -> Result<Judged> {
    let db = d.version()?;
    let current = match db {
        DbVersion::Dirty(v) => return Err(Error::Dirty(v)),
        DbVersion::Clean(v) => Some(v),
        DbVersion::Nil => None,
    };
    // Going down, an applied version whose down file is absent is undone with the down SQL
    // stored when it was applied; a version with neither is planned as golang-migrate does.
    let going_down = matches!(target, Target::DownAll | Target::DownBy(_))
        || matches!(target, Target::Goto(v) if current.is_some_and(|c| v < c));
    let without_file = |v: u64| source.entry(v).and_then(|e| e.down.as_ref()).is_none();
    let mut stored = match current {
        // The bodies are read only when a stored version lacks its down file.
        Some(c) if going_down => {
            let needed = journal::stored_down_versions(d)?
                .into_iter()
                .any(|v| v <= c && without_file(v));
            let mut all = if needed {
                journal::stored_downs(d)?
            } else {
                BTreeMap::new()
            };
            all.retain(|v, _| *v <= c && without_file(*v));
            all
        }
        _ => BTreeMap::new(),
    };
    let planned = if stored.keys().any(|v| source.entry(*v).is_none()) {
        let mut versions: BTreeMap<u64, ()> = source.entries().keys().map(|v| (*v, ())).collect();
        versions.extend(stored.keys().map(|v| (*v, ())));
        plan(&versions, current, target)
    } else {
        plan(source, current, target)
    };
    if let Err(e @ Error::NoMigrationFound(_)) = planned {
        return Err(e);
    }
    let undone: BTreeSet<u64> = planned
        .as_ref()
        .map(|p| {
            p.steps
                .iter()
                .filter(|s| s.direction == Direction::Down)
                .map(|s| s.version)
                .collect()
        })
        .unwrap_or_default();
    stored.retain(|v, _| undone.contains(v));
    let reconciled = journal::read_reconciled(d, source, db)?;
    // A version undone with its stored down SQL is not missing: its files are expected
    // to be absent.
    let exempt: BTreeSet<u64> = stored.keys().copied().collect();
    let verified = journal::verify_except(source, &reconciled, allow, &exempt)?;
    Ok(Judged {
        current,
        planned,
        reconciled,
        verified,
        stored,
    })
}

/// `-downgrade-db`'s refusals before anything is written: a dirty database, a database
/// that is not ahead of the source (`no change`), and versions to undo without stored down
/// SQL. The versions to undo are every version above the source's latest that migrate
/// knows applied (its checksums and stored down SQL) and the database's own version.
fn check_downgrade(d: &mut dyn Driver, source: &Source) -> Result<()> {
    let latest = source.latest();
    let current = match d.version()? {
        DbVersion::Dirty(v) => return Err(Error::Dirty(v)),
        DbVersion::Nil => return Err(Error::NoChange),
        DbVersion::Clean(v) => v,
    };
    if latest.is_some_and(|l| current <= l) {
        return Err(Error::NoChange);
    }
    let above = |v: &u64| latest.is_none_or(|l| *v > l) && *v <= current;
    let stored = journal::stored_downs(d)?;
    let mut needed: BTreeSet<u64> = journal::recorded(d)?.into_keys().filter(above).collect();
    needed.extend(stored.keys().copied().filter(above));
    needed.insert(current);
    let missing: Vec<u64> = needed
        .into_iter()
        .rev()
        .filter(|v| !stored.contains_key(v))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::DowngradeMissingDown {
            target: latest,
            versions: missing,
        })
    }
}

fn call_before_change(
    hook: &mut Option<BeforeChange>,
    d: &mut dyn Driver,
    p: Option<&crate::plan::Plan>,
) -> Result<()> {
    match (hook.as_mut(), p) {
        (None, _) => Ok(()),
        (Some(f), Some(p)) => f(d, p),
        (Some(f), None) => f(
            d,
            &crate::plan::Plan {
                steps: Vec::new(),
                then: None,
            },
        ),
    }
}

/// How a migration file's statements and its version write commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// The body, its checks, the version write and migrate's bookkeeping commit together
    /// in one transaction; a failure rolls all of it back.
    InTransaction,
    /// golang-migrate's dirty/body/clean protocol: the version is written dirty, the body
    /// runs outside a transaction, and the version is written clean after it; a failure
    /// leaves the statements before the failing one applied and the version dirty.
    NoTransaction(NoTransaction),
}

impl TxMode {
    /// How `d` runs a file with this body (`None`: a version without a file).
    pub fn of(d: &dyn Driver, body: Option<&str>) -> TxMode {
        let in_tx = match body {
            Some(b) => d.transactional_for(b),
            None => d.transactional(),
        };
        if in_tx {
            return TxMode::InTransaction;
        }
        TxMode::NoTransaction(match d.dialect() {
            Dialect::Mysql => NoTransaction::MysqlDdl,
            Dialect::Sqlite if !d.transactional() => {
                NoTransaction::UrlParameter("x-no-tx-wrap=true")
            }
            Dialect::Postgres if !d.transactional() => {
                NoTransaction::UrlParameter("x-multi-statement=true")
            }
            _ => NoTransaction::FileMarker,
        })
    }

    /// Why the file runs outside a transaction, when it does.
    pub fn no_transaction(self) -> Option<NoTransaction> {
        match self {
            TxMode::InTransaction => None,
            TxMode::NoTransaction(why) => Some(why),
        }
    }
}

/// What every step of a run reads: the migrations, the down SQL stored for the steps whose
/// down file is gone, the observer and the stop flag.
struct Run<'a> {
    source: &'a Source,
    stored: BTreeMap<u64, journal::StoredDown>,
    observer: &'a mut Option<Observer>,
    stop: &'a AtomicBool,
}

impl Run<'_> {
    fn emit(&mut self, e: &Event<'_>) {
        if let Some(o) = self.observer.as_mut() {
            o(e);
        }
    }
}

/// Who runs a step, which decides its journal operation and who owns its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// A planned step, in its own transaction when its [`TxMode`] allows.
    Planned,
    /// `-allow-out-of-order`: a late file applied at the current version.
    Late,
    /// A step of `-single-transaction`: the caller owns the transaction, its commit and
    /// its rollback, and journals a failure after its rollback.
    InOuter,
}

/// `-single-transaction`: every step of the plan in one transaction, all or nothing.
/// Refused up front when the driver or a file cannot run in a transaction. A graceful
/// stop (SIGINT) commits the steps completed so far, each of them whole.
fn run_single_transaction(
    d: &mut dyn Driver,
    run: &mut Run<'_>,
    p: crate::plan::Plan,
    current: Option<u64>,
    mut report: Report,
) -> Result<Report> {
    refuse_outside_steps(d, run, &p)?;
    let started_at = journal::now();
    let started = Instant::now();
    d.prepare_step()?;
    let result = in_transaction(d, |d| {
        let mut from = current;
        let mut done = Vec::new();
        for step in &p.steps {
            if run.stop.load(Ordering::SeqCst) {
                report.stopped = true;
                break;
            }
            done.push(run_step(d, run, step, from, Call::InOuter)?);
            from = step.target;
        }
        Ok(done)
    });
    let finished = d.finish_step();
    match result {
        Ok(done) => {
            finished?;
            report.applied.extend(done);
            match p.then {
                Some(e) if !report.stopped => Err(e),
                _ => Ok(report),
            }
        }
        Err(e) => {
            run.emit(&Event::RolledBack {
                steps: p.steps.len(),
            });
            // After the rollback, so the row survives.
            let entry = journal::Entry::new("single-transaction", started_at, started.elapsed())
                .versions(current, current)
                .failed(&e);
            let _ = journal::append(d, &entry);
            Err(e)
        }
    }
}

/// `-single-transaction`'s refusal of a plan with a step that cannot run in a transaction.
fn refuse_outside_steps(d: &dyn Driver, run: &Run<'_>, p: &crate::plan::Plan) -> Result<()> {
    for step in &p.steps {
        let file = run
            .source
            .entry(step.version)
            .and_then(|e| e.get(step.direction));
        let ok = match (file, run.stored.get(&step.version)) {
            (Some(f), _) => d.transactional_for(&run.source.read_text(f)?),
            (None, Some(s)) => d.transactional_for(&s.body),
            (None, None) => d.transactional(),
        };
        if !ok {
            return Err(Error::NeedsNoTransaction {
                file: file.map_or_else(|| step.version.to_string(), |f| f.name.clone()),
                reason: "-single-transaction needs every file to run inside one transaction, and this driver or file runs outside one".into(),
            });
        }
    }
    Ok(())
}

/// A step about to run: its file (or the down SQL stored for it) read, and what its
/// journal rows say.
struct Prepared<'a> {
    step: &'a Step,
    /// The version before the step.
    from: Option<u64>,
    /// The journal's operation (`up`, `up-out-of-order`, `down`, `down-stored`).
    operation: &'static str,
    file_name: Option<String>,
    identifier: String,
    /// The SQL to run; `None` for a version without a file.
    body: Option<String>,
    /// The body's checksum.
    sum: Option<String>,
    started: Instant,
    started_at: String,
    /// How long reading the file took.
    read: Duration,
}

impl Prepared<'_> {
    /// The step's journal row, failed with `e` when given.
    fn entry(&self, e: Option<&Error>) -> journal::Entry {
        let mut j = journal::Entry::new(
            self.operation,
            self.started_at.clone(),
            self.started.elapsed(),
        )
        .versions(self.from, self.step.target);
        j.file = self.file_name.clone();
        j.checksum = self.sum.clone();
        match e {
            Some(e) => j.failed(e),
            None => j,
        }
    }

    /// The step's own bookkeeping: checksums of the version's files, and the journal row.
    fn bookkeeping(&self, d: &mut dyn Driver, source: &Source) -> Result<()> {
        match self.step.direction {
            Direction::Up => journal::record_version_with(
                d,
                source,
                self.step.version,
                &journal::now(),
                Some(self.started.elapsed()),
                self.sum.as_deref(),
            )?,
            // Nothing above the new version is applied any more, including versions whose
            // files are gone (golang-migrate's down walks only the files that exist).
            Direction::Down => journal::forget_above(d, self.step.target)?,
        }
        journal::append(d, &self.entry(None))
    }

    fn name(&self) -> &str {
        self.file_name.as_deref().unwrap_or("")
    }
}

/// Announces the step and reads its SQL: the file, or for a down step without its file
/// the down SQL stored when the version was applied. An unreadable file is journaled and
/// changes nothing else.
fn prepare<'s>(
    d: &mut dyn Driver,
    run: &mut Run<'_>,
    step: &'s Step,
    from: Option<u64>,
    call: Call,
) -> Result<Prepared<'s>> {
    let file = run
        .source
        .entry(step.version)
        .and_then(|e| e.get(step.direction));
    let stored = run
        .stored
        .get(&step.version)
        .filter(|_| file.is_none() && step.direction == Direction::Down);
    let identifier = file
        .map(|f| f.identifier.clone())
        .or_else(|| stored.map(journal::StoredDown::identifier))
        .unwrap_or_else(|| "<empty>".to_string());
    if let Some(o) = run.observer.as_mut() {
        if let Some(s) = stored {
            o(&Event::StoredDown { step, stored: s });
        }
        o(&Event::StepStarting {
            step,
            identifier: &identifier,
            has_file: file.is_some() || stored.is_some(),
        });
    }
    let mut p = Prepared {
        step,
        from,
        operation: match (step.direction, call) {
            (Direction::Up, Call::Late) => "up-out-of-order",
            (Direction::Up, _) => "up",
            (Direction::Down, _) if stored.is_some() => "down-stored",
            (Direction::Down, _) => "down",
        },
        file_name: file
            .map(|f| f.name.clone())
            .or_else(|| stored.map(|s| s.file.clone())),
        identifier,
        body: None,
        sum: None,
        started: Instant::now(),
        started_at: journal::now(),
        read: Duration::ZERO,
    };
    // Read before touching the database: an unreadable file changes nothing.
    p.body = match file.map(|f| run.source.read_text(f)).transpose() {
        Ok(None) => stored.map(|s| s.body.clone()),
        Ok(b) => b,
        Err(e) => {
            let _ = journal::append(d, &p.entry(Some(&e)));
            return Err(e);
        }
    };
    p.sum = p
        .body
        .as_deref()
        .map(|b| crate::source::checksum(b.as_bytes()));
    p.read = p.started.elapsed();
    Ok(p)
}

/// Runs one step: in a transaction the body, the foreign-key check and the version write
/// commit together; otherwise golang-migrate's dirty/body/clean protocol.
///
/// The step's checksum row and its journal row are written in the same transaction as its
/// version; a failed step is journaled after the rollback, so the row survives. A down step
/// without its file runs the down SQL stored when the version was applied, journaled as
/// `down-stored`.
fn run_step(
    d: &mut dyn Driver,
    run: &mut Run<'_>,
    step: &Step,
    from: Option<u64>,
    call: Call,
) -> Result<Applied> {
    let p = prepare(d, run, step, from, call)?;
    let source = run.source;
    let mut halted: Option<crate::recover::Partial> = None;
    let outcome = match (call, TxMode::of(d, p.body.as_deref())) {
        (Call::InOuter, _) => apply(d, source, &p),
        (_, TxMode::InTransaction) => d.prepare_step().and_then(|()| {
            let result = in_transaction(d, |d| apply(d, source, &p));
            let finished = d.finish_step();
            result.and(finished)
        }),
        (_, TxMode::NoTransaction(_)) => run_outside(d, source, &p, &mut halted),
    };
    if let Err(e) = outcome {
        // After the rollback, so the row survives; a journal failure must not hide `e`.
        // (Inside an outer transaction the caller journals after its own rollback.)
        if call != Call::InOuter {
            let mut row = p.entry(Some(&e));
            // Outside a transaction: which statement failed, and so which ones were applied.
            if let (Some(h), Some(text)) = (&halted, &row.error) {
                row.error = Some(h.encode(text));
            }
            let _ = journal::append(d, &row);
        }
        return Err(e);
    }
    let elapsed = p.started.elapsed();
    run.emit(&Event::StepFinished {
        step,
        identifier: &p.identifier,
        read: p.read,
        elapsed,
    });
    Ok(Applied {
        step: *step,
        identifier: p.identifier,
        file: p.file_name,
        elapsed,
    })
}

/// The step's body, its check, its version write and its bookkeeping, inside the
/// transaction the caller opened.
fn apply(d: &mut dyn Driver, source: &Source, p: &Prepared<'_>) -> Result<()> {
    if let Some(b) = &p.body {
        d.run_body(p.name(), b, true)?;
        d.check_step(p.name())?;
    }
    d.write_version(p.step.target, false)?;
    p.bookkeeping(d, source)
}

/// golang-migrate's dirty/body/clean protocol. When the body fails part-way, `halted`
/// says which statement failed.
fn run_outside(
    d: &mut dyn Driver,
    source: &Source,
    p: &Prepared<'_>,
    halted: &mut Option<crate::recover::Partial>,
) -> Result<()> {
    set_version(d, p.step.target, true)?;
    if let Some(b) = &p.body {
        d.run_body_outside(p.name(), b).map_err(|h| {
            *halted = crate::recover::Partial::of(d, b, h.applied);
            h.error
        })?;
    }
    // Clearing the dirty flag and the step's bookkeeping commit together, so a kill
    // between them cannot leave a clean version the journal does not know.
    in_transaction(d, |d| {
        d.write_version(p.step.target, false)?;
        p.bookkeeping(d, source)
    })
}

/// `<version>/<u|d> <identifier>`, golang-migrate's `Migration.LogString`.
pub fn log_string(step: &Step, identifier: &str) -> String {
    let d = match step.direction {
        Direction::Up => "u",
        Direction::Down => "d",
    };
    format!("{}/{} {}", step.version, d, identifier)
}
