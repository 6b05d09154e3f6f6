//! A check for applications' tests: the embedded migrations equal the directory they
//! were built from.

use std::path::Path;

use crate::source::Source;

/// For applications' tests: the embedded migrations equal the directory on disk, byte for
/// byte (same migration file names, same contents; other files such as a README are
/// ignored). Catches a binary built from stale files.
pub fn compare_with_dir(embedded: &Source, dir: &Path) -> std::result::Result<(), String> {
    let on_disk = Source::from_dir(dir).map_err(|e| e.to_string())?;
    let files = |s: &Source| -> Vec<crate::source::MigrationFile> {
        s.entries()
            .values()
            .flat_map(|e| e.up.iter().chain(e.down.iter()).cloned())
            .collect()
    };
    let (a, b) = (files(embedded), files(&on_disk));
    let names = |v: &[crate::source::MigrationFile]| -> Vec<String> {
        v.iter().map(|f| f.name.clone()).collect()
    };
    let only_embedded: Vec<String> = names(&a)
        .into_iter()
        .filter(|n| !names(&b).contains(n))
        .collect();
    let only_disk: Vec<String> = names(&b)
        .into_iter()
        .filter(|n| !names(&a).contains(n))
        .collect();
    let mut problems = Vec::new();
    if !only_embedded.is_empty() {
        problems.push(format!("only embedded: {}", only_embedded.join(", ")));
    }
    if !only_disk.is_empty() {
        problems.push(format!(
            "only in {}: {}",
            dir.display(),
            only_disk.join(", ")
        ));
    }
    for f in &a {
        if let Some(g) = b.iter().find(|g| g.name == f.name) {
            let x = embedded.read(f).map_err(|e| e.to_string())?;
            let y = on_disk.read(g).map_err(|e| e.to_string())?;
            if x != y {
                problems.push(format!("{} differs", f.name));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Panics unless the embedded migrations equal `dir` byte for byte ([`compare_with_dir`]).
#[track_caller]
pub fn assert_embedded_matches_dir(embedded: &Source, dir: impl AsRef<Path>) {
    if let Err(e) = compare_with_dir(embedded, dir.as_ref()) {
        panic!(
            "embedded migrations do not match {}: {e}",
            dir.as_ref().display()
        );
    }
}
