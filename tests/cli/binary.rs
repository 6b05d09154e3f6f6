//! The shipped binary itself: what the dynamic loader is asked to do when it starts.
//! Every command pays for this before `main` (BENCHMARKS.md, peak RSS).

/// The dynamic section of a 64-bit little-endian ELF file: (tag, value) pairs and the
/// names of the `DT_NEEDED` libraries.
fn dynamic(path: &str) -> (Vec<(u64, u64)>, Vec<String>) {
    let b = std::fs::read(path).expect("read the binary");
    assert_eq!(&b[..4], b"\x7fELF", "{path} is not ELF");
    assert_eq!(b[4], 2, "64-bit ELF expected");
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().expect("2"));
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8"));
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36) as usize, u16_at(0x38));
    // Program headers: (type, offset, vaddr, filesz).
    let headers: Vec<(u32, u64, u64, u64)> = (0..phnum as usize)
        .map(|i| {
            let h = phoff + i * phentsize;
            let typ = u32::from_le_bytes(b[h..h + 4].try_into().expect("4"));
            (typ, u64_at(h + 8), u64_at(h + 16), u64_at(h + 32))
        })
        .collect();
    let to_offset = |vaddr: u64| {
        headers
            .iter()
            .find(|(t, _, va, sz)| *t == 1 && vaddr >= *va && vaddr < va + sz)
            .map(|(_, off, va, _)| (vaddr - va + off) as usize)
            .expect("address in a PT_LOAD segment")
    };
    let (_, dyn_off, _, dyn_size) = *headers
        .iter()
        .find(|(t, ..)| *t == 2)
        .expect("PT_DYNAMIC: a dynamically linked binary");
    let entries: Vec<(u64, u64)> = (0..dyn_size as usize / 16)
        .map(|i| {
            let o = dyn_off as usize + i * 16;
            (u64_at(o), u64_at(o + 8))
        })
        .take_while(|(tag, _)| *tag != 0)
        .collect();
    let strtab = entries.iter().find(|(t, _)| *t == 5).expect("DT_STRTAB").1;
    let strtab = to_offset(strtab);
    let needed = entries
        .iter()
        .filter(|(t, _)| *t == 1)
        .map(|(_, v)| {
            let s = &b[strtab + *v as usize..];
            let end = s.iter().position(|c| *c == 0).expect("NUL");
            String::from_utf8_lossy(&s[..end]).into_owned()
        })
        .collect();
    (entries, needed)
}

/// TLS is rustls: the binary needs no OpenSSL at run time (no libssl to install in a
/// container image, nothing mapped by commands that never open a TLS connection).
#[test]
fn binary_needs_no_openssl() {
    let (_, needed) = dynamic(env!("CARGO_BIN_EXE_migrate"));
    assert!(
        needed
            .iter()
            .all(|n| !n.starts_with("libssl") && !n.starts_with("libcrypto")),
        "{needed:?}"
    );
    assert!(
        needed.iter().any(|n| n.starts_with("libc.so")),
        "{needed:?}"
    );
}

/// build.rs asks for packed relative relocations where the toolchain supports them; when
/// it did, the binary must carry DT_RELR (tag 36) and almost no RELA entries.
#[test]
fn binary_packs_relative_relocations_when_built_so() {
    if option_env!("MIGRATE_RELR") != Some("1") {
        let msg =
            "\n*** NOT APPLICABLE: build.rs did not enable -z pack-relative-relocs here ***\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    }
    let (entries, _) = dynamic(env!("CARGO_BIN_EXE_migrate"));
    assert!(entries.iter().any(|(t, _)| *t == 36), "no DT_RELR");
    // DT_RELASZ (8): the remaining non-relative relocations, a few KB at most.
    let rela = entries.iter().find(|(t, _)| *t == 8).map_or(0, |e| e.1);
    assert!(rela < 64 * 1024, "DT_RELASZ {rela}");
}
