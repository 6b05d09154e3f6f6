//! Go's `strconv.Quote` (the `%q` verb of `fmt` applied to a string), reproduced byte for byte.
//!
//! The rules, as in Go:
//!
//! * the result is wrapped in double quotes, and `"` and `\` are backslash-escaped;
//! * printable runes (Unicode letters, marks, numbers, punctuation, symbols and the ASCII
//!   space, as Go's `unicode.IsPrint` defines them) are copied as they are;
//! * `\a \b \f \n \r \t \v` use their short escapes;
//! * other runes below U+0020, and U+007F, become `\xNN`;
//! * other non-printable runes become `\uNNNN`, or `\UNNNNNNNN` above U+FFFF;
//! * every byte that does not start a valid UTF-8 sequence becomes `\xNN` (see [`quote_bytes`]).
//!
//! Printability follows Unicode 15.0.0, the version of the tables in Go 1.21 and later: the
//! general categories come from `unicode-general-category` 0.6, pinned in Cargo.toml because
//! it is the release with Unicode 15.0.0 tables.

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

/// Returns `s` as a double-quoted Go string literal, exactly as Go's `strconv.Quote(s)`
/// (and so `fmt.Sprintf("%q", s)`) does.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_rune(&mut out, c);
    }
    out.push('"');
    out
}

/// Like [`quote`], for bytes that may not be valid UTF-8: Go strings are arbitrary bytes, and
/// Go escapes every byte that does not begin a valid UTF-8 encoding as `\xNN`, one byte at a
/// time (so a truncated three-byte sequence gives two `\x` escapes, and the byte after it is
/// decoded afresh).
pub fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        let width = match lead {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        let decoded = b
            .get(i..i + width)
            .filter(|_| width > 0)
            .and_then(|seq| std::str::from_utf8(seq).ok())
            .and_then(|seq| seq.chars().next());
        match decoded {
            Some(c) => {
                push_rune(&mut out, c);
                i += width;
            }
            None => {
                push_hex_byte(&mut out, lead);
                i += 1;
            }
        }
    }
    out.push('"');
    out
}

/// Reports whether Go's `strconv.IsPrint` (equivalently `unicode.IsPrint`) holds for `c`:
/// a letter, mark, number, punctuation or symbol, or the ASCII space.
pub fn is_print(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    if c == ' ' {
        return true;
    }
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::NonspacingMark
            | G::SpacingMark
            | G::EnclosingMark
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
            | G::ConnectorPunctuation
            | G::DashPunctuation
            | G::OpenPunctuation
            | G::ClosePunctuation
            | G::InitialPunctuation
            | G::FinalPunctuation
            | G::OtherPunctuation
            | G::MathSymbol
            | G::CurrencySymbol
            | G::ModifierSymbol
            | G::OtherSymbol
    )
}

fn push_rune(out: &mut String, c: char) {
    if c == '"' || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{07}' => out.push_str("\\a"),
        '\u{08}' => out.push_str("\\b"),
        '\u{0c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{0b}' => out.push_str("\\v"),
        _ => {
            let r = u32::from(c);
            if r < 0x20 || r == 0x7f {
                // Both cases fit in one byte.
                push_hex_byte(out, (r & 0xff) as u8);
            } else if r < 0x10000 {
                out.push_str("\\u");
                push_hex_digits(out, r, 4);
            } else {
                out.push_str("\\U");
                push_hex_digits(out, r, 8);
            }
        }
    }
}

fn push_hex_byte(out: &mut String, b: u8) {
    out.push_str("\\x");
    push_hex_digits(out, u32::from(b), 2);
}

fn push_hex_digits(out: &mut String, v: u32, digits: u32) {
    for k in (0..digits).rev() {
        let nibble = (v >> (4 * k)) & 0xf;
        out.push(char::from(LOWER_HEX[nibble as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii() {
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote("abc"), r#""abc""#);
        assert_eq!(quote("UTC"), r#""UTC""#);
        assert_eq!(
            quote("hello, world ~!@#$%^&*()"),
            r#""hello, world ~!@#$%^&*()""#
        );
    }

    #[test]
    fn quote_and_backslash_are_escaped() {
        assert_eq!(quote("\""), r#""\"""#);
        assert_eq!(quote("\\"), r#""\\""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        // Single quotes and backquotes are left alone in a double-quoted literal.
        assert_eq!(quote("it's `x`"), r#""it's `x`""#);
    }

    #[test]
    fn short_escapes() {
        // strconv's own test vector.
        assert_eq!(quote("\x07\x08\x0c\r\n\t\x0b"), r#""\a\b\f\r\n\t\v""#);
    }

    #[test]
    fn control_characters_as_hex() {
        assert_eq!(quote("\x00"), r#""\x00""#);
        assert_eq!(quote("\x04"), r#""\x04""#);
        assert_eq!(quote("\x1b[0m"), r#""\x1b[0m""#);
        assert_eq!(quote("\x1f"), r#""\x1f""#);
        assert_eq!(quote("\x7f"), r#""\x7f""#);
    }

    #[test]
    fn non_printable_unicode() {
        // C1 controls, no-break space, soft hyphen.
        assert_eq!(quote("\u{80}"), r#""\u0080""#);
        assert_eq!(quote("\u{9f}"), r#""\u009f""#);
        assert_eq!(quote("\u{a0}"), r#""\u00a0""#);
        assert_eq!(quote("\u{ad}"), r#""\u00ad""#);
        // strconv's test vector: graphic but not printable spaces.
        assert_eq!(
            quote("!\u{a0}!\u{2000}!\u{3000}!"),
            r#""!\u00a0!\u2000!\u3000!""#
        );
        // Format characters, separators, private use, unassigned.
        assert_eq!(quote("\u{200b}"), r#""\u200b""#);
        assert_eq!(quote("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        assert_eq!(quote("\u{feff}"), r#""\ufeff""#);
        assert_eq!(quote("\u{e000}"), r#""\ue000""#);
        assert_eq!(quote("\u{378}"), r#""\u0378""#);
        assert_eq!(quote("\u{10ffff}"), r#""\U0010ffff""#);
        assert_eq!(quote("\u{e0001}"), r#""\U000e0001""#);
        assert_eq!(quote("\u{f0000}"), r#""\U000f0000""#);
    }

    #[test]
    fn printable_unicode_is_kept() {
        assert_eq!(quote("\u{263a}"), "\"\u{263a}\"");
        assert_eq!(quote("日本語"), "\"日本語\"");
        assert_eq!(quote("µs"), "\"µs\"");
        assert_eq!(quote("ÿ¡"), "\"ÿ¡\"");
        assert_eq!(quote("\u{1f600}"), "\"\u{1f600}\"");
        // Combining marks (category M) are printable.
        assert_eq!(quote("e\u{301}"), "\"e\u{301}\"");
        // The replacement character itself is printable (category So).
        assert_eq!(quote("\u{fffd}"), "\"\u{fffd}\"");
        // Unicode 15.0 additions.
        assert_eq!(quote("\u{1f6dc}"), "\"\u{1f6dc}\"");
        assert_eq!(quote("\u{31350}"), "\"\u{31350}\"");
    }

    #[test]
    fn is_print_matches_go() {
        for c in ' '..='~' {
            assert!(is_print(c), "{c:?}");
        }
        for c in [
            '\0', '\t', '\n', '\u{7f}', '\u{85}', '\u{a0}', '\u{ad}', '\u{d7ff}',
        ] {
            assert!(!is_print(c), "{c:?}");
        }
        for c in ['\u{100}', '\u{377}', '\u{20ac}', '\u{ffe8}', '\u{20000}'] {
            assert!(is_print(c), "{c:?}");
        }
    }

    /// Go's output for every code point, one `%q` per line, hashed: the digest was taken from
    /// a table generated from the Unicode 15.0.0 database, so any category that differs from
    /// Go's changes it.
    #[test]
    fn every_code_point_quotes_as_go_does() {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for c in (0u32..=0x10ffff).filter_map(char::from_u32) {
            h.update(quote(&c.to_string()).as_bytes());
            h.update(b"\n");
        }
        let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            digest,
            "4c752b4c6e90df8c641d6ac02a6da80113943bc8fc476c825f27aef51db2a055"
        );
        assert_eq!(unicode_general_category::UNICODE_VERSION, (15, 0, 0));
    }

    #[test]
    fn bytes_valid_utf8_match_str() {
        for s in ["", "abc", "a\"b", "\u{263a}\n", "\u{10ffff}", "\u{a0}"] {
            assert_eq!(quote_bytes(s.as_bytes()), quote(s));
        }
    }

    #[test]
    fn bytes_invalid_utf8() {
        // strconv's test vector.
        assert_eq!(quote_bytes(b"abc\xffdef"), r#""abc\xffdef""#);
        assert_eq!(quote_bytes(b"\x80"), r#""\x80""#);
        assert_eq!(quote_bytes(b"\xc0\xaf"), r#""\xc0\xaf""#);
        // A truncated sequence: each byte escaped, then decoding restarts.
        assert_eq!(quote_bytes(b"\xe2\x82A"), r#""\xe2\x82A""#);
        assert_eq!(quote_bytes(b"\xe2\x82"), r#""\xe2\x82""#);
        // Surrogates and values above U+10FFFF are invalid UTF-8.
        assert_eq!(quote_bytes(b"\xed\xa0\x80"), r#""\xed\xa0\x80""#);
        assert_eq!(quote_bytes(b"\xf4\x90\x80\x80"), r#""\xf4\x90\x80\x80""#);
        // Overlong encoding of '/'.
        assert_eq!(quote_bytes(b"\xe0\x80\xaf"), r#""\xe0\x80\xaf""#);
        // The encoded replacement character is valid and printable.
        assert_eq!(quote_bytes(b"\xef\xbf\xbd"), "\"\u{fffd}\"");
        assert_eq!(quote_bytes(b"\xff\xe2\x98\xba"), "\"\\xff\u{263a}\"");
    }
}
