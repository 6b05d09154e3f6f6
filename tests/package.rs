//! What `cargo package` puts in the crate (`cargo package --list`, which builds nothing):
//! everything a build needs, the license and the documents, and none of the tests and
//! fixtures. The full `cargo package` / `cargo publish --dry-run` (which compiles the
//! crate) is not run here; see CHANGELOG.md and README "The crate's name".

use std::path::Path;
use std::process::Command;

fn packaged() -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root)
        .output()
        .expect("run cargo package --list");
    assert!(
        out.status.success(),
        "cargo package --list failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every file under `dir` (relative to the repository), recursively.
fn files_under(dir: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut todo = vec![root.join(dir)];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(root).expect("under the root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

#[test]
fn the_package_holds_what_a_build_needs_and_no_test_fixtures() {
    let list = packaged();
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "src/lib.rs",
        "src/main.rs",
        "examples/tokio_gate.rs",
    ] {
        assert!(list.iter().any(|l| l == f), "{f} is not packaged: {list:?}");
    }
    // the build and the examples read these; a module left out would break the build
    for dir in ["src", "migrations", "examples"] {
        for f in files_under(dir) {
            assert!(list.contains(&f), "{f} is not packaged");
        }
    }
    for l in &list {
        for left_out in [
            "tests/",
            "testdata/",
            "fuzz/",
            "scripts/",
            ".ci/",
            "target/",
        ] {
            assert!(!l.starts_with(left_out), "{l} is packaged");
        }
    }
}
