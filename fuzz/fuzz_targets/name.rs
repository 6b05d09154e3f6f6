//! `migrate::source::name::parse` against golang-migrate's own regex,
//! `^([0-9]+)_(.*)\.(down|up)\.(.*)$`, run by the `regex` crate (whose `.` excludes `\n`
//! as Go's RE2 does). A version that does not fit in a u64 makes the name ignored (`None`),
//! as name.rs documents, so the oracle's `parse::<u64>().ok()?` mirrors it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use migrate::source::name::{parse, Direction, ParsedName};
use regex::Regex;

fn regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$").expect("regex"))
}

fn oracle(name: &str) -> Option<ParsedName> {
    let c = regex().captures(name)?;
    Some(ParsedName {
        version: c.get(1)?.as_str().parse::<u64>().ok()?,
        identifier: c.get(2)?.as_str().to_string(),
        direction: match c.get(3)?.as_str() {
            "up" => Direction::Up,
            _ => Direction::Down,
        },
        extension: c.get(4)?.as_str().to_string(),
    })
}

fuzz_target!(|data: &[u8]| {
    // File names reach the parser as `&str` (non-UTF-8 names are skipped by the source).
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let got = parse(name);
    assert_eq!(got, oracle(name), "name {name:?}");
    if let Some(p) = got {
        // The parts put back together give the name again (modulo leading zeros).
        let digits = name.bytes().take_while(u8::is_ascii_digit).count();
        let rebuilt = format!(
            "{}_{}.{}.{}",
            &name[..digits],
            p.identifier,
            p.direction,
            p.extension
        );
        assert_eq!(rebuilt, name);
        assert_eq!(name[..digits].parse::<u64>().ok(), Some(p.version));
    }
});
