//! Links the `migrate` binary with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR) where the toolchain and the C library support them, and, on Linux, with
//! `link/cold-text.ld`, which moves the code a SQLite run never executes (the server
//! drivers, TLS, the backtrace symbolizer) behind the rest of `.text`: the kernel maps 64 KB
//! around every page fault in the binary, so hot code scattered among cold code drags the
//! cold pages into every command's resident memory (0.6 MiB of peak RSS, BENCHMARKS.md).
//! The script matches section names (one section per function), so it needs no upkeep
//! when the code changes; both GNU ld and LLD accept it.
//!
//! A position-independent Rust binary carries about 46,000 relative relocations (vtables,
//! panic locations, string tables). As classic RELA entries they take 1.1 MB that the
//! dynamic loader reads on every start, which showed up as 1.1 MiB of peak RSS on every
//! command, `-version` included (BENCHMARKS.md). Packed, they take 20 KB. The binary stays
//! position-independent (ASLR is kept).
//!
//! The flag is only passed when building for the machine that builds (no cross
//! compilation), on glibc 2.36 or newer (the loader must understand DT_RELR; the binary
//! then needs glibc 2.36 to run), and when the C toolchain links a test program with it
//! without a warning. `MIGRATE_NO_RELR=1` leaves it out, for a binary meant to run on an
//! older glibc than the one it is built on.

use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/cold-text.ld");
    println!("cargo:rerun-if-env-changed=MIGRATE_NO_RELR");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("TARGET").contains("-linux-") {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,-T,{}/link/cold-text.ld",
            env("CARGO_MANIFEST_DIR")
        );
        // For tests/cli/binary.rs, which checks where the driver code ended up.
        println!("cargo:rustc-env=MIGRATE_COLD_TEXT=1");
    }
    if !env("MIGRATE_NO_RELR").is_empty()
        || env("TARGET") != env("HOST")
        || !env("TARGET").ends_with("-linux-gnu")
        || !glibc_at_least(2, 36)
        || !linker_accepts_relr()
    {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // For tests/cli/binary.rs, which checks the binary really has DT_RELR.
    println!("cargo:rustc-env=MIGRATE_RELR=1");
}

/// The running glibc's version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(v) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

/// Whether `cc` links a trivial program with the flag, warnings made fatal (an older
/// `ld` ignores an unknown `-z` keyword with a warning).
fn linker_accepts_relr() -> bool {
    let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    let out = dir.join("relr-probe");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let child = Command::new(cc)
        .args(["-x", "c", "-", "-o"])
        .arg(&out)
        .args(["-Wl,-z,pack-relative-relocs", "-Wl,--fatal-warnings"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"int main(void) { return 0; }\n");
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    let _ = std::fs::remove_file(&out);
    ok
}
