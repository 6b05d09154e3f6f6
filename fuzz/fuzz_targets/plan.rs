//! The pure planner, `migrate::plan::plan`, over small version sets.
//!
//! Input bytes: `[target kind, target arg, current, versions...]`, all as small numbers
//! (versions are bytes, so sets hold up to 255 versions between 0 and 255).
//!
//! Properties: no panic; the steps form a chain from the current version (an up step
//! applies the next version, a down step undoes the current one and lands on the
//! previous one, or on nil below the first); `up`/`down -all` end at the latest version /
//! nil; `up N`/`down N` take at most N steps and report `limit K short` with exactly the
//! missing count; `goto V` ends at V.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use migrate::plan::{plan, Target};
use migrate::source::Versions;
use migrate::{Direction, Error};

fuzz_target!(|data: &[u8]| {
    let [kind, arg, cur, versions @ ..] = data else {
        return;
    };
    let set: BTreeMap<u64, ()> = versions.iter().map(|v| (u64::from(*v), ())).collect();
    let arg = u64::from(*arg);
    let target = match kind % 5 {
        0 => Target::Up,
        1 => Target::UpBy(arg),
        2 => Target::DownAll,
        3 => Target::DownBy(arg),
        _ => Target::Goto(arg),
    };
    // 255 stands for nil; otherwise the byte is the current version.
    let current = (*cur != 255).then_some(u64::from(*cur));

    let Ok(p) = plan(&set, current, target) else {
        return;
    };
    if let Some(c) = current {
        assert!(set.contains(c), "planned from a version the source lacks");
    }
    let mut at = current;
    for s in &p.steps {
        match s.direction {
            Direction::Up => {
                let want = match at {
                    None => set.first(),
                    Some(a) => set.next(a),
                };
                assert_eq!(Some(s.version), want, "up step is not the next version");
                assert_eq!(s.target, Some(s.version));
            }
            Direction::Down => {
                assert_eq!(
                    Some(s.version),
                    at,
                    "down step does not undo the current one"
                );
                assert_eq!(s.target, set.prev(s.version));
            }
        }
        at = s.target;
    }
    let n = p.steps.len() as u64;
    match target {
        Target::Up => {
            assert!(n > 0);
            assert_eq!(at, set.keys().next_back().copied());
            assert_eq!(p.then, None);
        }
        Target::DownAll => {
            assert_eq!(at, None);
            assert_eq!(p.then, None);
        }
        Target::UpBy(l) | Target::DownBy(l) => {
            assert!(l > 0 && n <= l);
            match &p.then {
                None => assert_eq!(n, l),
                Some(Error::ShortLimit(k)) => assert_eq!(n + k, l),
                Some(e) => panic!("unexpected deferred error {e:?}"),
            }
        }
        Target::Goto(v) => {
            assert!(n > 0);
            assert_eq!(at, Some(v));
            assert_eq!(p.then, None);
        }
    }
    // No step runs twice in the same direction.
    let mut seen = std::collections::HashSet::new();
    assert!(p
        .steps
        .iter()
        .all(|s| seen.insert((s.version, s.direction))));
});
