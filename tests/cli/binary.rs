//! The shipped binary itself: what the dynamic loader needs to start it, so that the binary
//! built by a plain `cargo build` runs on any glibc-based system a Rust binary supports.

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
fn dynamic(path: &str) -> (Vec<(u64, u64)>, Vec<String>, String) {
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
    // DT_STRSZ (10): the string table holds every name the loader is asked to resolve,
    // symbol versions included.
    let size = entries.iter().find(|(t, _)| *t == 10).expect("DT_STRSZ").1 as usize;
    let strings = String::from_utf8_lossy(&b.0[strtab..strtab + size]).into_owned();
    (entries, needed, strings)
}

/// TLS is rustls: the binary needs no OpenSSL at run time (no libssl to install in a
/// container image, nothing mapped by commands that never open a TLS connection).
#[test]
fn binary_needs_no_openssl() {
    let (_, needed, _) = dynamic(env!("CARGO_BIN_EXE_migrate"));
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

/// No packed relative relocations: a binary with DT_RELR (tag 36) needs the
/// `GLIBC_ABI_DT_RELR` symbol version (glibc 2.36), and the loader of an older glibc
/// (Ubuntu 22.04, Debian 11) refuses to start it.
#[test]
fn binary_starts_on_glibc_older_than_2_36() {
    let (entries, _, strings) = dynamic(env!("CARGO_BIN_EXE_migrate"));
    assert!(entries.iter().all(|(t, _)| *t != 36), "DT_RELR present");
    assert!(
        strings.contains("GLIBC_2."),
        "no glibc symbol versions found: the string table was not read"
    );
    assert!(
        !strings.contains("GLIBC_ABI_DT_RELR"),
        "the binary needs GLIBC_ABI_DT_RELR"
    );
}
