//! The migrator: lock -> read version -> refuse dirty -> plan -> run steps -> report.
//! Mirrors golang-migrate's `Up`/`Steps`/`Migrate`/`Down`/`Force`/`Drop`, with each step's
//! body and version write in one transaction on transactional drivers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::driver::{self, set_version, with_lock, Driver};
use crate::error::{Error, Result};
use crate::plan::{plan, Step, Target};
use crate::source::{Direction, Source};
use crate::url::DatabaseUrl;
use crate::version::DbVersion;

/// Something the migrator reports while it works (the CLI renders these).
#[derive(Debug)]
pub enum Event<'a> {
    /// A step is about to be read and run.
    StepStarting {
        step: &'a Step,
        identifier: &'a str,
        has_file: bool,
    },
    /// A step committed.
    StepFinished {
        step: &'a Step,
        identifier: &'a str,
        read: Duration,
        elapsed: Duration,
    },
}

/// A step that ran.
#[derive(Debug, Clone)]
pub struct Applied {
    pub step: Step,
    pub identifier: String,
    pub file: Option<String>,
    pub elapsed: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
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

    pub fn new(source: Source, driver: Box<dyn Driver>) -> Migrator {
        Migrator {
            source,
            driver,
            lock_timeout: Duration::from_secs(15),
            stop: Arc::new(AtomicBool::new(false)),
            observer: None,
            before_change: None,
        }
    }

    /// How long to wait for the migration lock (golang-migrate's `-lock-timeout`).
    pub fn set_lock_timeout(&mut self, t: Duration) {
        self.lock_timeout = t;
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

    pub fn source(&self) -> &Source {
        &self.source
    }

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

    pub fn down(&mut self) -> Result<Report> {
        self.migrate(Target::DownAll)
    }

    pub fn goto(&mut self, v: u64) -> Result<Report> {
        self.migrate(Target::Goto(v))
    }

    /// Sets the version without running anything (`-1` = nil); clears a dirty flag.
    pub fn force(&mut self, v: i64) -> Result<()> {
        if v < -1 {
            return Err(Error::ForceVersionTooLow);
        }
        let version = u64::try_from(v).ok();
        let timeout = self.lock_timeout;
        let hook = &mut self.before_change;
        with_lock(self.driver.as_mut(), timeout, |d| {
            call_before_change(hook, d, None)?;
            d.ensure_version_table()?;
            set_version(d, version, false)
        })
    }

    /// Drops every table (the version table too).
    pub fn drop_all(&mut self) -> Result<()> {
        let timeout = self.lock_timeout;
        let hook = &mut self.before_change;
        with_lock(self.driver.as_mut(), timeout, |d| {
            call_before_change(hook, d, None)?;
            d.drop_all()
        })
    }

    /// Plans a target against the current version without running it (dry runs).
    pub fn plan(&mut self, target: Target) -> Result<crate::plan::Plan> {
        let current = self.checked_version()?;
        plan(&self.source, current, target)
    }

    fn checked_version(&mut self) -> Result<Option<u64>> {
        match self.driver.version()? {
            DbVersion::Dirty(v) => Err(Error::Dirty(v)),
            DbVersion::Clean(v) => Ok(Some(v)),
            DbVersion::Nil => Ok(None),
        }
    }

    fn migrate(&mut self, target: Target) -> Result<Report> {
        let timeout = self.lock_timeout;
        let Migrator {
            source,
            driver,
            stop,
            observer,
            before_change,
            ..
        } = self;
        with_lock(driver.as_mut(), timeout, |d| {
            d.ensure_version_table()?;
            let current = match d.version()? {
                DbVersion::Dirty(v) => return Err(Error::Dirty(v)),
                DbVersion::Clean(v) => Some(v),
                DbVersion::Nil => None,
            };
            let p = plan(source, current, target)?;
            if !p.steps.is_empty() {
                call_before_change(before_change, d, Some(&p))?;
            }
            let mut report = Report::default();
            for step in &p.steps {
                if stop.load(Ordering::SeqCst) {
                    report.stopped = true;
                    return Ok(report);
                }
                let applied = run_step(d, source, step, observer)?;
                report.applied.push(applied);
            }
            match p.then {
                Some(e) => Err(e),
                None => Ok(report),
            }
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

/// Runs one step: on transactional drivers the body, the foreign-key check and the
/// version write commit together; otherwise golang-migrate's dirty/body/clean protocol.
fn run_step(
    d: &mut dyn Driver,
    source: &Source,
    step: &Step,
    observer: &mut Option<Observer>,
) -> Result<Applied> {
    let file = source
        .entry(step.version)
        .and_then(|e| e.get(step.direction));
    let identifier = file.map_or("<empty>", |f| f.identifier.as_str());
    if let Some(o) = observer.as_mut() {
        o(&Event::StepStarting {
            step,
            identifier,
            has_file: file.is_some(),
        });
    }
    let started = Instant::now();
    // Read before touching the database: an unreadable file changes nothing.
    let body = file.map(|f| source.read_text(f)).transpose()?;
    let read = started.elapsed();
    let name = file.map_or("", |f| f.name.as_str());
    if d.transactional() {
        d.prepare_step()?;
        let result = d.begin().and_then(|()| {
            let inner = (|| {
                if let Some(b) = &body {
                    d.run_body(name, b, true)?;
                    d.check_step(name)?;
                }
                d.write_version(step.target, false)?;
                d.commit()
            })();
            if inner.is_err() {
                let _ = d.rollback();
            }
            inner
        });
        let finished = d.finish_step();
        result?;
        finished?;
    } else {
        set_version(d, step.target, true)?;
        if let Some(b) = &body {
            d.run_body(name, b, false)?;
        }
        set_version(d, step.target, false)?;
    }
    let elapsed = started.elapsed();
    if let Some(o) = observer.as_mut() {
        o(&Event::StepFinished {
            step,
            identifier,
            read,
            elapsed,
        });
    }
    Ok(Applied {
        step: *step,
        identifier: identifier.to_string(),
        file: file.map(|f| f.name.clone()),
        elapsed,
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
