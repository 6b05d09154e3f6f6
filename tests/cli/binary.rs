//! The shipped binary itself: what the dynamic loader is asked to do when it starts.
//! Every command pays for this before `main` (BENCHMARKS.md, peak RSS).

/// The bytes of a 64-bit little-endian ELF file, read at offsets.
struct Elf(Vec<u8>);

impl Elf {
    fn read(path: &str) -> Elf {
        let b = std::fs::read(path).expect("read the binary");
        assert_eq!(&b[..4], b"\x7fELF", "{path} is not ELF");
        assert_eq!(b[4], 2, "64-bit ELF expected");
        Elf(b)
    }
    fn u16(&self, o: usize) -> u16 {
        u16::from_le_bytes(self.0[o..o + 2].try_into().expect("2"))
    }
    fn u32(&self, o: usize) -> u32 {
        u32::from_le_bytes(self.0[o..o + 4].try_into().expect("4"))
    }
    fn u64(&self, o: usize) -> u64 {
        u64::from_le_bytes(self.0[o..o + 8].try_into().expect("8"))
    }
    /// The NUL-terminated string at `o`.
    fn cstr(&self, o: usize) -> String {
        let end = self.0[o..].iter().position(|c| *c == 0).expect("NUL");
        String::from_utf8_lossy(&self.0[o..o + end]).into_owned()
    }
}

/// The dynamic section of a 64-bit little-endian ELF file: (tag, value) pairs and the
/// names of the `DT_NEEDED` libraries.
fn dynamic(path: &str) -> (Vec<(u64, u64)>, Vec<String>) {
    let b = Elf::read(path);
    let (phoff, phentsize, phnum) = (b.u64(0x20) as usize, b.u16(0x36) as usize, b.u16(0x38));
    // Program headers: (type, offset, vaddr, filesz).
    let headers: Vec<(u32, u64, u64, u64)> = (0..phnum as usize)
        .map(|i| {
            let h = phoff + i * phentsize;
            let typ = b.u32(h);
            (typ, b.u64(h + 8), b.u64(h + 16), b.u64(h + 32))
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
            (b.u64(o), b.u64(o + 8))
        })
        .take_while(|(tag, _)| *tag != 0)
        .collect();
    let strtab = entries.iter().find(|(t, _)| *t == 5).expect("DT_STRTAB").1;
    let strtab = to_offset(strtab);
    let needed = entries
        .iter()
        .filter(|(t, _)| *t == 1)
        .map(|(_, v)| b.cstr(strtab + *v as usize))
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

/// A section (name, address, size) or a function symbol (name, address, 0).
type Named = (String, u64, u64);

/// The sections and the function symbols of a 64-bit little-endian ELF file.
fn sections_and_functions(path: &str) -> (Vec<Named>, Vec<Named>) {
    let b = Elf::read(path);
    let (shoff, shentsize, shnum, shstrndx) = (
        b.u64(0x28) as usize,
        b.u16(0x3a) as usize,
        b.u16(0x3c) as usize,
        b.u16(0x3e) as usize,
    );
    // (name offset, type, addr, offset, size, link)
    let headers: Vec<(u32, u32, u64, u64, u64, u32)> = (0..shnum)
        .map(|i| {
            let h = shoff + i * shentsize;
            (
                b.u32(h),
                b.u32(h + 4),
                b.u64(h + 16),
                b.u64(h + 24),
                b.u64(h + 32),
                b.u32(h + 40),
            )
        })
        .collect();
    let names = headers[shstrndx].3 as usize;
    let sections = headers
        .iter()
        .map(|h| (b.cstr(names + h.0 as usize), h.2, h.4))
        .collect();
    let mut functions = Vec::new();
    // SHT_SYMTAB (2): 24-byte entries; STT_FUNC (2) in the low bits of st_info.
    for h in headers.iter().filter(|h| h.1 == 2) {
        let strings = headers[h.5 as usize].3 as usize;
        for i in 0..(h.4 / 24) as usize {
            let e = h.3 as usize + i * 24;
            if b.0[e + 4] & 0xf == 2 {
                functions.push((b.cstr(strings + b.u32(e) as usize), b.u64(e + 8), 0));
            }
        }
    }
    (sections, functions)
}

/// build.rs links with link/cold-text.ld on Linux: the server drivers' code sits in
/// `.text.cold`, away from SQLite's and the CLI's, which stay in `.text`.
#[test]
fn driver_code_is_linked_apart_from_the_sqlite_path() {
    if option_env!("MIGRATE_COLD_TEXT") != Some("1") {
        let msg = "\n*** NOT APPLICABLE: build.rs links with link/cold-text.ld on Linux only ***\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    }
    let (sections, functions) = sections_and_functions(env!("CARGO_BIN_EXE_migrate"));
    let section = |name: &str| {
        sections
            .iter()
            .find(|s| s.0 == name)
            .map(|s| (s.1, s.1 + s.2))
            .unwrap_or_else(|| panic!("no {name} section"))
    };
    let (cold, text) = (section(".text.cold"), section(".text"));
    let inside = |r: (u64, u64), a: u64| a >= r.0 && a < r.1;
    let where_is = |pattern: &str| -> Vec<u64> {
        functions
            .iter()
            .filter(|f| f.0.contains(pattern))
            .map(|f| f.1)
            .collect()
    };
    for driver in ["tokio_postgres", "mysql_common", "rustls"] {
        let at = where_is(driver);
        assert!(!at.is_empty(), "no {driver} functions in the binary");
        assert!(
            at.iter().all(|a| inside(cold, *a)),
            "{driver} outside .text.cold"
        );
    }
    for hot in ["sqlite3_step", "sqlite3_prepare_v2"] {
        let at = where_is(hot);
        assert!(!at.is_empty(), "no {hot}");
        assert!(at.iter().all(|a| inside(text, *a)), "{hot} outside .text");
    }
}
