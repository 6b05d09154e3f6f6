//! Checksums of migration files: SHA-256 over the bytes with a leading UTF-8 BOM removed
//! and every CRLF turned into LF, so a Windows checkout of the same file is not drift.

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of the normalized bytes.
pub fn checksum(bytes: &[u8]) -> String {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut h = Sha256::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < body.len() {
        if body[i] == b'\r' && body[i + 1] == b'\n' {
            h.update(&body[start..i]);
            start = i + 1; // keep the '\n'
            i += 2;
        } else {
            i += 1;
        }
    }
    h.update(&body[start..]);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::checksum;

    // Test vectors (also in the README): SHA-256 of the normalized bytes.
    #[test]
    fn vectors() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(checksum(b""), empty);
        assert_eq!(checksum(b"\xEF\xBB\xBF"), empty);
        let lf = checksum(b"CREATE TABLE t (id INTEGER);\n");
        assert_eq!(
            lf,
            "cb7bba9473513daa6e6daf9337f9d5822cbc95cac71c944b6bf85958041038e1"
        );
        assert_eq!(checksum(b"CREATE TABLE t (id INTEGER);\r\n"), lf);
        assert_eq!(
            checksum(b"\xEF\xBB\xBFCREATE TABLE t (id INTEGER);\r\n"),
            lf
        );
        assert_ne!(checksum(b"CREATE TABLE t (id INTEGER);"), lf);
        // a lone CR is content, not a line ending
        assert_ne!(checksum(b"a\rb"), checksum(b"a\nb"));
        assert_eq!(checksum(b"a\r\n\r\nb"), checksum(b"a\n\nb"));
    }
}
