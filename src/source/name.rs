//! golang-migrate's migration file-name rule: `^([0-9]+)_(.*)\.(down|up)\.(.*)$`,
//! implemented by hand so that start-up builds no regex (the tests check this parser
//! against the regex itself).

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `.up.`: applies the migration.
    Up,
    /// `.down.`: reverts it.
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
    /// The VERSION part.
    pub version: u64,
    /// The NAME part.
    pub identifier: String,
    /// `up` or `down`.
    pub direction: Direction,
    /// What follows the direction (`sql`).
    pub extension: String,
}

/// Parses a base name. `None` for names golang-migrate ignores: no match, or a version
/// that does not fit in a u64.
pub fn parse(name: &str) -> Option<ParsedName> {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || name.as_bytes().get(digits) != Some(&b'_') {
        return None;
    }
    let rest = &name[digits + 1..];
    // Go's `.` does not match a newline, so no newline may follow the digits.
    if rest.contains('\n') {
        return None;
    }
    // The greedy identifier ends at the last `.up.` / `.down.`.
    let up = rest.rfind(".up.").map(|i| (i, Direction::Up, 4));
    let down = rest.rfind(".down.").map(|i| (i, Direction::Down, 6));
    let (at, direction, len) = match (up, down) {
        (Some(u), Some(d)) => {
            if u.0 > d.0 {
                u
            } else {
                d
            }
        }
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => return None,
    };
    Some(ParsedName {
        version: crate::gocompat::strconv::parse_uint(&name[..digits], 10).ok()?,
        identifier: rest[..at].to_string(),
        direction,
        extension: rest[at + len..].to_string(),
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

    /// The hand-written parser agrees with golang-migrate's regex on tricky names.
    #[test]
    fn agrees_with_the_regex() {
        let re = regex::Regex::new(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$").expect("regex");
        let parts = [
            "1", "01", "x", "_", ".", ".up.", ".down.", "up", "down", "sql", "a", "\n", "é", ".up",
            "down.",
        ];
        let mut names = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for n in &names {
                for p in parts {
                    next.push(format!("{n}{p}"));
                }
            }
            names.extend(next);
        }
        for n in names {
            let want = re.captures(&n).and_then(|c| {
                Some(ParsedName {
                    version: c.get(1)?.as_str().parse().ok()?,
                    identifier: c.get(2)?.as_str().to_string(),
                    direction: if &c[3] == "up" {
                        Direction::Up
                    } else {
                        Direction::Down
                    },
                    extension: c.get(4)?.as_str().to_string(),
                })
            });
            assert_eq!(parse(&n), want, "{n:?}");
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
