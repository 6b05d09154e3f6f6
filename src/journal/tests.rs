//! The journal's pure parts against in-memory sources: reconciliation and drift findings.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::*;
use crate::error::{Error, Result};
use crate::source::{checksum, Direction, Source};
use crate::version::DbVersion;

fn src(files: &[(&str, &str)]) -> Source {
    Source::from_files(
        files
            .iter()
            .map(|(n, b)| (n.to_string(), Cow::Owned(b.as_bytes().to_vec()))),
    )
    .expect("source")
}

/// The findings at clean version `v`, the records reconciled first.
fn at(s: &Source, r: &BTreeMap<u64, Vec<Recorded>>, v: u64) -> Result<Vec<Finding>> {
    findings(s, &reconcile(s, r.clone(), true, DbVersion::Clean(v)))
}

fn rec(v: u64, file: &str, body: &str) -> Recorded {
    Recorded {
        version: v,
        direction: Direction::Up,
        file: file.into(),
        checksum: checksum(body.as_bytes()),
        applied_at: String::new(),
        duration_ms: None,
    }
}

#[test]
fn findings_cover_drift_missing_out_of_order() -> Result<()> {
    let s = src(&[
        ("1_a.up.sql", "A2"),
        ("2_b.up.sql", "B"),
        ("4_d.up.sql", "D"),
    ]);
    let mut r = BTreeMap::new();
    r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
    r.insert(3, vec![rec(3, "3_c.up.sql", "C")]);
    r.insert(4, vec![rec(4, "4_d.up.sql", "D")]);
    let f = at(&s, &r, 4)?;
    assert_eq!(f.len(), 3);
    assert!(matches!(f[0], Finding::Drift { version: 1, .. }));
    assert!(matches!(f[1], Finding::OutOfOrder { version: 2, .. }));
    assert!(matches!(f[2], Finding::Missing { version: 3, .. }));
    Ok(())
}

/// Enough files for the threads in `checksums`: every drifted file is found, in order,
/// and the first unreadable file (in version order) is the error.
#[test]
fn findings_over_many_files_in_parallel() -> Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = BTreeMap::new();
    for v in 1..=600u64 {
        let (up, down) = (format!("{v}_t.up.sql"), format!("{v}_t.down.sql"));
        std::fs::write(dir.path().join(&up), format!("UP {v}")).expect("write");
        std::fs::write(dir.path().join(&down), format!("DOWN {v}")).expect("write");
        let mut down_rec = rec(v, &down, &format!("DOWN {v}"));
        down_rec.direction = Direction::Down;
        r.insert(v, vec![rec(v, &up, &format!("UP {v}")), down_rec]);
    }
    for v in [7, 299, 300, 301, 598] {
        std::fs::write(dir.path().join(format!("{v}_t.down.sql")), "edited").expect("write");
    }
    let s = Source::from_dir(dir.path())?;
    let drifted: Vec<(u64, String)> = at(&s, &r, 600)?
        .into_iter()
        .map(|f| match f {
            Finding::Drift { version, file, .. } => (version, file),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let want: Vec<(u64, String)> = [7, 299, 300, 301, 598]
        .iter()
        .map(|v| (*v, format!("{v}_t.down.sql")))
        .collect();
    assert_eq!(drifted, want);
    // Unreadable (a directory where the file was): the first one in order is reported.
    for v in [450, 120] {
        let p = dir.path().join(format!("{v}_t.up.sql"));
        std::fs::remove_file(&p).expect("rm");
        std::fs::create_dir(&p).expect("mkdir");
    }
    match at(&s, &r, 600) {
        Err(Error::ReadFile { path, .. }) => {
            assert!(path.ends_with("120_t.up.sql"), "{path:?}")
        }
        other => panic!("expected a read error, got {other:?}"),
    }
    Ok(())
}

#[test]
fn crlf_and_bom_are_not_drift() -> Result<()> {
    let s = src(&[("1_a.up.sql", "\u{feff}X;\r\n")]);
    let mut r = BTreeMap::new();
    r.insert(1, vec![rec(1, "1_a.up.sql", "X;\n")]);
    assert!(at(&s, &r, 1)?.is_empty());
    Ok(())
}

#[test]
fn current_version_without_file_is_left_to_the_planner() -> Result<()> {
    let s = src(&[("1_a.up.sql", "A")]);
    let mut r = BTreeMap::new();
    r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
    r.insert(2, vec![rec(2, "2_b.up.sql", "B")]);
    assert!(at(&s, &r, 2)?.is_empty());
    Ok(())
}

/// One row per rule of docs/journal.md "Reconciliation": (recorded versions, database
/// version, applied records, last known, adopted, unapplied).
#[test]
fn reconciliation_rules() {
    let s = src(&[
        ("1_a.up.sql", "A"),
        ("2_b.up.sql", "B"),
        ("3_c.up.sql", "C"),
        ("4_d.up.sql", "D"),
    ]);
    type Row = (
        &'static [u64],
        DbVersion,
        &'static [u64],
        Option<u64>,
        &'static [u64],
        &'static [u64],
    );
    let table: [Row; 9] = [
        // in step: nothing to reconcile
        (&[1, 2], DbVersion::Clean(2), &[1, 2], Some(2), &[], &[]),
        // another tool went up 2 and 3 after migrate applied 1: adopted
        (&[1], DbVersion::Clean(3), &[1], Some(1), &[2, 3], &[]),
        // another tool went down to 2 (or a force, an UPDATE, an older backup)
        (&[1, 2, 3], DbVersion::Clean(2), &[1, 2], Some(2), &[], &[3]),
        // down to nil: nothing is applied any more
        (&[1, 2, 3], DbVersion::Nil, &[], None, &[], &[1, 2, 3]),
        // records emptied (migrate's drop) then another tool went up: all adopted
        (&[], DbVersion::Clean(2), &[], None, &[1, 2], &[]),
        // a hole below the last known version is not adopted (out of order)
        (&[1, 3], DbVersion::Clean(4), &[1, 3], Some(3), &[4], &[]),
        // dirty: the failed version is not applied, nor anything above it
        (&[1, 2, 3], DbVersion::Dirty(3), &[1, 2], Some(2), &[], &[3]),
        (&[1], DbVersion::Dirty(3), &[1], Some(1), &[2], &[]),
        // a version above every file
        (&[1], DbVersion::Clean(9), &[1], Some(1), &[2, 3, 4], &[]),
    ];
    for (recs, db, applied, known, adopted, unapplied) in table {
        let mut r = BTreeMap::new();
        for v in recs {
            r.insert(*v, vec![rec(*v, &format!("{v}_x.up.sql"), "x")]);
        }
        let got = reconcile(&s, r, true, db);
        let case = format!("{recs:?} at {db:?}");
        assert_eq!(
            got.applied.keys().copied().collect::<Vec<_>>(),
            applied,
            "{case}"
        );
        assert_eq!(got.last_known, known, "{case}");
        assert_eq!(got.adopted, adopted, "{case}");
        assert_eq!(got.unapplied, unapplied, "{case}");
    }
    // Never used by migrate: every version up to the database's is adopted.
    let got = reconcile(&s, BTreeMap::new(), false, DbVersion::Clean(3));
    assert_eq!(got.adopted, vec![1, 2, 3]);
    assert!(got.changes());
}

/// Out of order only below a version migrate itself recorded; a pending file whose old
/// record is above the database's version is not drift.
#[test]
fn findings_after_reconciliation() -> Result<()> {
    let s = src(&[
        ("1_a.up.sql", "A"),
        ("2_b.up.sql", "B"),
        ("3_c.up.sql", "C2"),
    ]);
    let mut r = BTreeMap::new();
    r.insert(1, vec![rec(1, "1_a.up.sql", "A")]);
    assert!(at(&s, &r, 3)?.is_empty(), "2 and 3 were applied outside");
    r.insert(3, vec![rec(3, "3_c.up.sql", "C")]);
    let f = at(&s, &r, 3)?;
    assert!(
        matches!(f[0], Finding::OutOfOrder { version: 2, .. }),
        "{f:?}"
    );
    assert!(matches!(f[1], Finding::Drift { version: 3, .. }), "{f:?}");
    r.insert(2, vec![rec(2, "2_b.up.sql", "B")]);
    assert!(
        at(&s, &r, 2)?.is_empty(),
        "3 is pending again: its edit is not drift"
    );
    Ok(())
}
