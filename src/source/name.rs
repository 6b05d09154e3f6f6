//! golang-migrate's migration file-name rule: `^([0-9]+)_(.*)\.(down|up)\.(.*)$`.

use std::sync::OnceLock;

use regex::Regex;

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `u` or `d`, as golang-migrate's progress lines print it.
    pub fn short(self) -> &'static str {
        match self {
            Direction::Up => "u",
            Direction::Down => "d",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Up => "up",
            Direction::Down => "down",
        })
    }
}

/// What a file name says, when it is a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub version: u64,
    pub identifier: String,
    pub direction: Direction,
    pub extension: String,
}

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::unwrap_used)] // a constant pattern; covered by every test
        Regex::new(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$").unwrap()
    })
}

/// Parses a base name. `None` for names golang-migrate ignores: no match, or a version
/// that does not fit in a u64.
pub fn parse(name: &str) -> Option<ParsedName> {
    let c = pattern().captures(name)?;
    let version = c.get(1)?.as_str().parse::<u64>().ok()?;
    let direction = match c.get(3)?.as_str() {
        "up" => Direction::Up,
        _ => Direction::Down,
    };
    Some(ParsedName {
        version,
        identifier: c.get(2)?.as_str().to_string(),
        direction,
        extension: c.get(4)?.as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golang_migrate_examples() {
        let p = parse("001_create_users.up.sql").expect("matches");
        assert_eq!(
            (
                p.version,
                p.identifier.as_str(),
                p.direction,
                p.extension.as_str()
            ),
            (1, "create_users", Direction::Up, "sql")
        );
        // greedy identifier: the last `.up.`/`.down.` decides
        let p = parse("2_a.up.sql.down.txt").expect("matches");
        assert_eq!(
            (p.identifier.as_str(), p.direction),
            ("a.up.sql", Direction::Down)
        );
        // empty identifier and empty extension are allowed
        let p = parse("3_.up.").expect("matches");
        assert_eq!((p.identifier.as_str(), p.extension.as_str()), ("", ""));
        assert_eq!(
            parse("1_a.up.sql.bak").map(|p| p.extension),
            Some("sql.bak".into())
        );
    }

    #[test]
    fn ignored_names() {
        for n in [
            "README.md",
            ".gitkeep",
            "1_x.UP.sql",
            "foo.up.sql",
            "001-x.up.sql",
            "1_x.up",
            "1.up.sql",
            "99999999999999999999999_overflow.up.sql",
            "١_arabic_digit.up.sql",
        ] {
            assert_eq!(parse(n), None, "{n}");
        }
    }

    #[test]
    fn u64_max_is_accepted() {
        assert_eq!(
            parse("18446744073709551615_max.up.sql").map(|p| p.version),
            Some(u64::MAX)
        );
    }
}
