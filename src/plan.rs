//! The pure planner: (versions, database version, target) -> steps. No I/O.
//! Each rule follows golang-migrate's `migrate.go` (`read`, `readUp`, `readDown`).

use crate::error::{Error, Result};
use crate::source::{Direction, Versions};

/// What a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `up`: every pending version.
    Up,
    /// `up N` (N > 0).
    UpBy(u64),
    /// `down -all`.
    DownAll,
    /// `down N` (N > 0).
    DownBy(u64),
    /// `goto V`.
    Goto(u64),
}

/// One migration to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The migration's own version (for a down step: the version being undone).
    pub version: u64,
    /// Whether the step applies or reverts the migration.
    pub direction: Direction,
    /// The version the database is at afterwards; `None` = nothing applied.
    pub target: Option<u64>,
}

impl Step {
    fn up(v: u64) -> Step {
        Step {
            version: v,
            direction: Direction::Up,
            target: Some(v),
        }
    }
    fn down(v: u64, target: Option<u64>) -> Step {
        Step {
            version: v,
            direction: Direction::Down,
            target,
        }
    }
}

/// The steps, and the error to report after running them (golang-migrate runs what it
/// can, then fails: `limit N short`).
#[derive(Debug, PartialEq)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The error to report after the steps ran, if any.
    pub then: Option<Error>,
}

/// `versionExists`: a version exists if it has an up or a down file.
fn exists<V: Versions + ?Sized>(s: &V, v: u64) -> Result<()> {
    if s.contains(v) {
        Ok(())
    } else {
        Err(Error::NoMigrationFound(v))
    }
}

/// Plans `target` from `current` (a clean version; dirty is refused before planning).
/// `Err(NoChange)` when there is nothing to do.
pub fn plan<V: Versions + ?Sized>(s: &V, current: Option<u64>, target: Target) -> Result<Plan> {
    // Every read first checks that the current version exists in the source.
    if let Some(c) = current {
        exists(s, c)?;
    }
    match target {
        Target::Up => up(s, current, None),
        Target::UpBy(0) | Target::DownBy(0) => Err(Error::NoChange),
        Target::UpBy(n) => up(s, current, Some(n)),
        Target::DownAll => down(s, current, None),
        Target::DownBy(n) => down(s, current, Some(n)),
        Target::Goto(v) => goto(s, current, v),
    }
}

fn done(steps: Vec<Step>) -> Result<Plan> {
    Ok(Plan { steps, then: None })
}

/// `readUp(from, limit)`.
fn up<V: Versions + ?Sized>(s: &V, current: Option<u64>, limit: Option<u64>) -> Result<Plan> {
    let mut steps = Vec::new();
    let mut from = current;
    loop {
        if let Some(l) = limit {
            if steps.len() as u64 >= l {
                return done(steps);
            }
        }
        let next = match from {
            // From nil, apply the first migration; an empty source is `first .: ...`.
            None => Some(s.first().ok_or(Error::FirstNotExist)?),
            Some(f) => s.next(f),
        };
        let Some(next) = next else {
            let count = steps.len() as u64;
            return match limit {
                // No limit and nothing applied: no change; no limit: reached the end.
                None if count == 0 => Err(Error::NoChange),
                None => done(steps),
                // A limit and nothing applied: `file does not exist`.
                Some(_) if count == 0 => Err(Error::FileNotExist),
                // Fewer than the limit: run them, then `limit N short`.
                Some(l) => Ok(Plan {
                    steps,
                    then: Some(Error::ShortLimit(l - count)),
                }),
            };
        };
        steps.push(Step::up(next));
        from = Some(next);
    }
}

/// `readDown(from, limit)`.
fn down<V: Versions + ?Sized>(s: &V, current: Option<u64>, limit: Option<u64>) -> Result<Plan> {
    let Some(mut from) = current else {
        // At nil: `down -all` is no change, `down N` is `file does not exist`.
        return match limit {
            None => Err(Error::NoChange),
            Some(_) => Err(Error::FileNotExist),
        };
    };
    let mut steps = Vec::new();
    loop {
        let count = steps.len() as u64;
        if let Some(l) = limit {
            if count >= l {
                return done(steps);
            }
        }
        match s.prev(from) {
            Some(p) => {
                steps.push(Step::down(from, Some(p)));
                from = p;
            }
            None => {
                // Below the first version: undo the first to nil, budget permitting.
                if let Some(first) = s.first() {
                    steps.push(Step::down(first, None));
                }
                let count = steps.len() as u64;
                return match limit {
                    Some(l) if count < l => Ok(Plan {
                        steps,
                        then: Some(Error::ShortLimit(l - count)),
                    }),
                    _ => done(steps),
                };
            }
        }
    }
}

/// `read(from, to)` for `goto V`.
fn goto<V: Versions + ?Sized>(s: &V, current: Option<u64>, to: u64) -> Result<Plan> {
    exists(s, to)?;
    let mut steps = Vec::new();
    match current {
        Some(c) if c == to => Err(Error::NoChange),
        Some(c) if c > to => {
            let mut from = c;
            while from > to {
                // `to` exists and is below `from`, so a previous version exists.
                let Some(p) = s.prev(from) else { break };
                steps.push(Step::down(from, Some(p)));
                from = p;
            }
            done(steps)
        }
        _ => {
            let mut from = match current {
                Some(c) => c,
                None => {
                    let first = s.first().ok_or(Error::FirstNotExist)?;
                    steps.push(Step::up(first));
                    first
                }
            };
            while from < to {
                let Some(n) = s.next(from) else { break };
                steps.push(Step::up(n));
                from = n;
            }
            done(steps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A source with gaps: files 1(u,d) 3(u) 4(u,d) 5(d) 7(u,d).
    fn gaps() -> BTreeMap<u64, ()> {
        [1, 3, 4, 5, 7].into_iter().map(|v| (v, ())).collect()
    }

    fn set(v: &[u64]) -> BTreeMap<u64, ()> {
        v.iter().map(|v| (*v, ())).collect()
    }

    fn short(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| format!("{}/{}", s.version, s.direction.short()))
            .collect()
    }

    #[test]
    fn gaps_up_one_at_a_time() -> Result<()> {
        let s = gaps();
        let mut cur = None;
        for expect in [1, 3, 4, 5, 7] {
            let p = plan(&s, cur, Target::UpBy(1))?;
            assert_eq!(p.steps, vec![Step::up(expect)]);
            assert_eq!(p.then, None);
            cur = Some(expect);
        }
        assert_eq!(plan(&s, cur, Target::UpBy(1)), Err(Error::FileNotExist));
        Ok(())
    }

    #[test]
    fn gaps_down_one_at_a_time() -> Result<()> {
        let s = gaps();
        let mut cur = Some(7);
        for (v, to) in [
            (7, Some(5)),
            (5, Some(4)),
            (4, Some(3)),
            (3, Some(1)),
            (1, None),
        ] {
            let p = plan(&s, cur, Target::DownBy(1))?;
            assert_eq!(p.steps, vec![Step::down(v, to)]);
            cur = to;
        }
        assert_eq!(plan(&s, cur, Target::DownBy(1)), Err(Error::FileNotExist));
        Ok(())
    }

    type Row = (
        &'static [u64],
        Option<u64>,
        Target,
        Result<(&'static [&'static str], Option<Error>)>,
    );

    /// One row per rule: (versions, current, target, expected steps or error, then).
    const RULES: &[Row] = &[
        // up (all) from nil applies first, then next...
        (
            &[1, 2, 3],
            None,
            Target::Up,
            Ok((&["1/u", "2/u", "3/u"], None)),
        ),
        // up (all) with nothing pending: no change
        (&[1, 2], Some(2), Target::Up, Err(Error::NoChange)),
        // up from nil with no files: `first .: file does not exist`
        (&[], None, Target::Up, Err(Error::FirstNotExist)),
        (&[], None, Target::UpBy(1), Err(Error::FirstNotExist)),
        // up N short: run what exists, then `limit N-k short`
        (
            &[1, 2],
            None,
            Target::UpBy(5),
            Ok((&["1/u", "2/u"], Some(Error::ShortLimit(3)))),
        ),
        // up N at latest: `file does not exist`
        (&[1, 2], Some(2), Target::UpBy(1), Err(Error::FileNotExist)),
        // up 0 / down 0: no change
        (&[1], None, Target::UpBy(0), Err(Error::NoChange)),
        (&[1], Some(1), Target::DownBy(0), Err(Error::NoChange)),
        // down all walks to nil
        (
            &[1, 2, 3],
            Some(3),
            Target::DownAll,
            Ok((&["3/d", "2/d", "1/d"], None)),
        ),
        // down all at nil: no change; down N at nil: file does not exist
        (&[1], None, Target::DownAll, Err(Error::NoChange)),
        (&[1], None, Target::DownBy(1), Err(Error::FileNotExist)),
        // down N short
        (
            &[1, 2],
            Some(2),
            Target::DownBy(5),
            Ok((&["2/d", "1/d"], Some(Error::ShortLimit(3)))),
        ),
        // current version not in the source: doubled `no migration found`
        (
            &[1, 2],
            Some(9),
            Target::Up,
            Err(Error::NoMigrationFound(9)),
        ),
        (
            &[1, 2],
            Some(9),
            Target::DownAll,
            Err(Error::NoMigrationFound(9)),
        ),
        (
            &[1, 2],
            Some(9),
            Target::Goto(1),
            Err(Error::NoMigrationFound(9)),
        ),
        // goto: target must exist; current checked first
        (
            &[1, 2],
            Some(1),
            Target::Goto(9),
            Err(Error::NoMigrationFound(9)),
        ),
        (
            &[1, 2],
            None,
            Target::Goto(0),
            Err(Error::NoMigrationFound(0)),
        ),
        // goto current: no change
        (&[1, 2], Some(2), Target::Goto(2), Err(Error::NoChange)),
        // goto up from nil and from a version; goto down
        (
            &[1, 3, 4, 5, 7],
            None,
            Target::Goto(4),
            Ok((&["1/u", "3/u", "4/u"], None)),
        ),
        (
            &[1, 3, 4, 5, 7],
            Some(3),
            Target::Goto(7),
            Ok((&["4/u", "5/u", "7/u"], None)),
        ),
        (
            &[1, 3, 4, 5, 7],
            Some(7),
            Target::Goto(3),
            Ok((&["7/d", "5/d", "4/d"], None)),
        ),
        (
            &[1, 3, 4, 5, 7],
            Some(7),
            Target::Goto(1),
            Ok((&["7/d", "5/d", "4/d", "3/d"], None)),
        ),
        // late (out-of-order) file below current: silently not applied
        (&[1, 2, 3], Some(3), Target::Up, Err(Error::NoChange)),
    ];

    #[test]
    fn rules_table() {
        for (i, (vs, cur, target, want)) in RULES.iter().enumerate() {
            let got = plan(&set(vs), *cur, *target);
            match (got, want) {
                (Ok(p), Ok((steps, then))) => {
                    assert_eq!(short(&p), steps.to_vec(), "row {i}");
                    assert_eq!(&p.then, then, "row {i}");
                }
                (Err(g), Err(w)) => assert_eq!(g.to_string(), w.to_string(), "row {i}"),
                (g, w) => panic!("row {i}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn down_targets_are_previous_versions() -> Result<()> {
        let p = plan(&gaps(), Some(4), Target::DownAll)?;
        let targets: Vec<Option<u64>> = p.steps.iter().map(|s| s.target).collect();
        assert_eq!(targets, vec![Some(3), Some(1), None]);
        Ok(())
    }
}
