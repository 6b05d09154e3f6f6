//! Go's `flag` package: a `FlagSet` with `ContinueOnError` semantics, reproduced byte for byte.
//!
//! Parsing follows Go's rules exactly:
//!
//! * parsing stops before the first argument that is `-` or does not start with `-`, and
//!   just after a `--`, which is consumed;
//! * `-name` and `--name` are the same; a value is given as `-name=value` or, for non-bool
//!   flags, as the next argument `-name value` (taken even if it starts with `-`);
//! * bool flags take only `-b` (true) or `-b=value`, with the values of `strconv.ParseBool`;
//! * uint and int flags parse like `strconv.ParseUint(s, 0, 64)` / `ParseInt(s, 0, 64)`:
//!   `0x1f`, `0o17`, `017`, `0b101`, and underscores between digits (`1_000`);
//! * a flag given twice keeps the last value;
//! * `-h` and `-help`, when not defined, ask for help.
//!
//! Go writes the error message and then the usage to the flag set's output before
//! returning the error; here nothing is printed: [`FlagSet::parse`] returns the error (whose
//! `Display` is Go's message), and the caller prints it, followed by [`FlagSet::usage`] or
//! its own usage text, as the program being reproduced does.

use super::quote::quote;
use super::strconv::{parse_bool, parse_int, parse_uint, NumErrorKind};
use std::fmt;

/// The type of a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `flag.Bool`.
    Bool,
    /// `flag.String`.
    String,
    /// `flag.Uint` (64-bit).
    Uint,
    /// `flag.Int` (64-bit).
    Int,
}

/// One flag definition.
#[derive(Clone, Debug)]
pub struct Def {
    /// The name, without the leading `-`.
    pub name: &'static str,
    /// The type of the value.
    pub kind: Kind,
    /// The default value as text: `"true"`/`"false"` for bools, a number for uint and int
    /// (Go syntax, normalised to decimal as Go's `String()` would print it), any text for
    /// strings. An empty default is the zero value of the kind.
    pub default: &'static str,
    /// The usage message; a back-quoted word in it names the value in [`FlagSet::defaults`].
    pub usage: &'static str,
}

/// Why [`FlagSet::parse`] failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// `-h` or `-help` was given and is not defined: Go's `flag.ErrHelp`.
    Help,
    /// Any other failure, carrying Go's exact message, such as
    /// `flag provided but not defined: -x`.
    Invalid(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Help => f.write_str("flag: help requested"),
            ParseError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ParseError {}

/// A flag's value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Bool(bool),
    Str(String),
    Uint(u64),
    Int(i64),
}

impl Value {
    fn zero(kind: Kind) -> Value {
        match kind {
            Kind::Bool => Value::Bool(false),
            Kind::String => Value::Str(String::new()),
            Kind::Uint => Value::Uint(0),
            Kind::Int => Value::Int(0),
        }
    }

    /// The value as Go's `flag.Value.String()` prints it.
    fn text(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => s.clone(),
            Value::Uint(u) => u.to_string(),
            Value::Int(i) => i.to_string(),
        }
    }
}

/// One defined flag: its definition, its default value and that value as text (Go's
/// `Flag.DefValue`).
#[derive(Clone, Debug)]
struct Flag {
    def: Def,
    default: Value,
    def_text: String,
}

/// A set of flags, as Go's `flag.NewFlagSet(name, flag.ContinueOnError)` with its flags
/// defined.
#[derive(Clone, Debug)]
pub struct FlagSet {
    name: String,
    /// Sorted by name, the order Go visits flags in.
    flags: Vec<Flag>,
}

/// The outcome of a successful parse: every flag's value (its default unless given) and
/// the arguments left after flag parsing stopped.
#[derive(Clone, Debug)]
pub struct Parsed {
    names: Vec<&'static str>,
    values: Vec<Value>,
    set: Vec<bool>,
    args: Vec<String>,
}

impl FlagSet {
    /// Creates a flag set named `name` with the flags `defs`.
    ///
    /// Go panics when a flag name starts with `-`, contains `=` or is defined twice, and
    /// a typed default can not fail to parse; these programming errors are caught by debug
    /// assertions. In release builds a default that does not parse becomes the zero value.
    pub fn new(name: &str, defs: Vec<Def>) -> FlagSet {
        let mut flags: Vec<Flag> = defs
            .into_iter()
            .map(|def| {
                debug_assert!(
                    !def.name.starts_with('-') && !def.name.contains('='),
                    "bad flag name {:?}",
                    def.name
                );
                let default = parse_default(&def);
                let def_text = default.text();
                Flag {
                    def,
                    default,
                    def_text,
                }
            })
            .collect();
        flags.sort_by(|a, b| a.def.name.cmp(b.def.name));
        debug_assert!(
            flags.windows(2).all(|w| w[0].def.name != w[1].def.name),
            "flag redefined"
        );
        FlagSet {
            name: name.to_string(),
            flags,
        }
    }

    /// The name given to [`FlagSet::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `args` (without the program or subcommand name) as Go's `FlagSet.Parse`.
    pub fn parse<S: AsRef<str>>(&self, args: &[S]) -> Result<Parsed, ParseError> {
        let mut values: Vec<Value> = self.flags.iter().map(|f| f.default.clone()).collect();
        let mut set = vec![false; self.flags.len()];
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let s = arg.as_ref();
            let bytes = s.as_bytes();
            if bytes.len() < 2 || bytes[0] != b'-' {
                break;
            }
            let mut minuses = 1;
            if bytes[1] == b'-' {
                minuses = 2;
                if bytes.len() == 2 {
                    // "--" ends the flags and is consumed.
                    i += 1;
                    break;
                }
            }
            let body = &s[minuses..];
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(ParseError::Invalid(format!("bad flag syntax: {s}")));
            }
            i += 1;
            // The first '=' after the first byte splits name and value.
            let (name, mut value) = match body.bytes().skip(1).position(|b| b == b'=') {
                Some(p) => (&body[..p + 1], Some(&body[p + 2..])),
                None => (body, None),
            };
            let Some(idx) = self.flags.iter().position(|f| f.def.name == name) else {
                if name == "help" || name == "h" {
                    return Err(ParseError::Help);
                }
                return Err(ParseError::Invalid(format!(
                    "flag provided but not defined: -{name}"
                )));
            };
            let kind = self.flags[idx].def.kind;
            let new_value = if kind == Kind::Bool {
                match value {
                    None => Value::Bool(true),
                    Some(v) => match parse_bool(v) {
                        Ok(b) => Value::Bool(b),
                        Err(_) => {
                            return Err(ParseError::Invalid(format!(
                                "invalid boolean value {} for -{name}: parse error",
                                quote(v)
                            )))
                        }
                    },
                }
            } else {
                if value.is_none() {
                    if let Some(next) = args.get(i) {
                        value = Some(next.as_ref());
                        i += 1;
                    }
                }
                let Some(v) = value else {
                    return Err(ParseError::Invalid(format!(
                        "flag needs an argument: -{name}"
                    )));
                };
                set_value(kind, v).map_err(|kind| {
                    let reason = match kind {
                        NumErrorKind::Range => "value out of range",
                        _ => "parse error",
                    };
                    ParseError::Invalid(format!(
                        "invalid value {} for flag -{name}: {reason}",
                        quote(v)
                    ))
                })?
            };
            values[idx] = new_value;
            set[idx] = true;
        }
        let rest = args.get(i..).unwrap_or_default();
        Ok(Parsed {
            names: self.flags.iter().map(|f| f.def.name).collect(),
            values,
            set,
            args: rest.iter().map(|a| a.as_ref().to_string()).collect(),
        })
    }

    /// Exactly what Go's `PrintDefaults` writes: for each flag, sorted by name,
    /// `  -name type` and the usage message, with the default value when it is not the
    /// zero value.
    pub fn defaults(&self) -> String {
        let mut out = String::new();
        for flag in &self.flags {
            let (type_name, usage) = unquote_usage(&flag.def);
            let start = out.len();
            out.push_str("  -");
            out.push_str(flag.def.name);
            if !type_name.is_empty() {
                out.push(' ');
                out.push_str(&type_name);
            }
            // A one-byte bool flag keeps its usage on the same line.
            if out.len() - start <= 4 {
                out.push('\t');
            } else {
                out.push_str("\n    \t");
            }
            out.push_str(&usage.replace('\n', "\n    \t"));
            if flag.def_text != Value::zero(flag.def.kind).text() {
                if flag.def.kind == Kind::String {
                    out.push_str(&format!(" (default {})", quote(&flag.def_text)));
                } else {
                    out.push_str(&format!(" (default {})", flag.def_text));
                }
            }
            out.push('\n');
        }
        out
    }

    /// What Go's default usage function writes: `Usage of <name>:` (or `Usage:` for an
    /// unnamed set) on a line, then [`FlagSet::defaults`].
    pub fn usage(&self) -> String {
        let head = if self.name.is_empty() {
            "Usage:\n".to_string()
        } else {
            format!("Usage of {}:\n", self.name)
        };
        head + &self.defaults()
    }
}

impl Parsed {
    fn get(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    fn value(&self, name: &str) -> Option<&Value> {
        self.get(name).and_then(|i| self.values.get(i))
    }

    /// The value of a bool flag; `false` for a name that is not a bool flag.
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.value(name), Some(Value::Bool(true)))
    }

    /// The value of a string flag. For flags of other kinds this is their value as text
    /// (Go's `flag.Value.String()`); for an undefined name it is empty.
    pub fn string(&self, name: &str) -> String {
        self.value(name).map(Value::text).unwrap_or_default()
    }

    /// The value of a uint flag; 0 for a name that is not a uint flag.
    pub fn uint(&self, name: &str) -> u64 {
        match self.value(name) {
            Some(Value::Uint(u)) => *u,
            _ => 0,
        }
    }

    /// The value of an int flag; 0 for a name that is not an int flag.
    pub fn int(&self, name: &str) -> i64 {
        match self.value(name) {
            Some(Value::Int(i)) => *i,
            _ => 0,
        }
    }

    /// Whether the flag was given on the command line.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name)
            .and_then(|i| self.set.get(i))
            .copied()
            .unwrap_or(false)
    }

    /// The arguments left after flag parsing stopped (Go's `FlagSet.Args()`).
    pub fn args(&self) -> &[String] {
        &self.args
    }
}

/// Parses a non-bool flag value.
fn set_value(kind: Kind, v: &str) -> Result<Value, NumErrorKind> {
    match kind {
        Kind::Bool => parse_bool(v)
            .map(Value::Bool)
            .map_err(|_| NumErrorKind::Syntax),
        Kind::String => Ok(Value::Str(v.to_string())),
        Kind::Uint => parse_uint(v, 0).map(Value::Uint).map_err(|e| e.err),
        Kind::Int => parse_int(v, 0).map(Value::Int).map_err(|e| e.err),
    }
}

fn parse_default(def: &Def) -> Value {
    if def.default.is_empty() {
        return Value::zero(def.kind);
    }
    let parsed = set_value(def.kind, def.default);
    debug_assert!(
        parsed.is_ok(),
        "bad default {:?} for flag {}",
        def.default,
        def.name
    );
    parsed.unwrap_or_else(|_| Value::zero(def.kind))
}

/// Go's `flag.UnquoteUsage`: the first back-quoted word of the usage names the value (and
/// loses its back quotes); otherwise the name is the kind's (none for bool).
fn unquote_usage(def: &Def) -> (String, String) {
    let usage = def.usage;
    if let Some(i) = usage.find('`') {
        if let Some(len) = usage[i + 1..].find('`') {
            let j = i + 1 + len;
            let name = &usage[i + 1..j];
            return (
                name.to_string(),
                format!("{}{}{}", &usage[..i], name, &usage[j + 1..]),
            );
        }
    }
    let name = match def.kind {
        Kind::Bool => "",
        Kind::String => "string",
        Kind::Uint => "uint",
        Kind::Int => "int",
    };
    (name.to_string(), usage.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &'static str, kind: Kind, default: &'static str, usage: &'static str) -> Def {
        Def {
            name,
            kind,
            default,
            usage,
        }
    }

    /// Flags shaped like golang-migrate's.
    fn set() -> FlagSet {
        FlagSet::new(
            "migrate",
            vec![
                def("f", Kind::Bool, "false", "Force"),
                def("verbose", Kind::Bool, "false", "Print verbose logging"),
                def("digits", Kind::Int, "6", "Digits"),
                def("tz", Kind::String, "UTC", "Timezone"),
                def("path", Kind::String, "", "Path"),
                def("lock-timeout", Kind::Uint, "15", "Lock timeout"),
            ],
        )
    }

    fn ok(args: &[&str]) -> Parsed {
        match set().parse(args) {
            Ok(p) => p,
            Err(e) => panic!("parse {args:?}: {e}"),
        }
    }

    fn err(args: &[&str]) -> String {
        match set().parse(args) {
            Ok(p) => panic!("parse {args:?} succeeded: {:?}", p.args()),
            Err(ParseError::Help) => "HELP".to_string(),
            Err(ParseError::Invalid(msg)) => msg,
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let p = ok(&[]);
        assert!(!p.bool("f"));
        assert_eq!(p.int("digits"), 6);
        assert_eq!(p.string("tz"), "UTC");
        assert_eq!(p.string("path"), "");
        assert_eq!(p.uint("lock-timeout"), 15);
        assert!(!p.is_set("digits"));
        assert!(p.args().is_empty());
    }

    #[test]
    fn values_and_forms() {
        let p = ok(&[
            "-digits",
            "8",
            "--tz=Europe/Paris",
            "-path=a=b",
            "-f",
            "create",
            "x",
        ]);
        assert_eq!(p.int("digits"), 8);
        assert_eq!(p.string("tz"), "Europe/Paris");
        assert_eq!(p.string("path"), "a=b");
        assert!(p.bool("f"));
        assert!(p.is_set("f") && p.is_set("tz") && p.is_set("path") && p.is_set("digits"));
        assert!(!p.is_set("verbose") && !p.is_set("lock-timeout"));
        assert_eq!(p.args(), ["create", "x"]);
    }

    #[test]
    fn one_or_two_minuses() {
        assert!(ok(&["--f"]).bool("f"));
        assert_eq!(ok(&["--digits", "3"]).int("digits"), 3);
        assert_eq!(ok(&["--digits=4"]).int("digits"), 4);
    }

    #[test]
    fn next_argument_is_the_value_even_with_a_minus() {
        let p = ok(&["-tz", "-x", "up"]);
        assert_eq!(p.string("tz"), "-x");
        assert_eq!(p.args(), ["up"]);
        assert_eq!(ok(&["-digits", "-5"]).int("digits"), -5);
        assert_eq!(ok(&["-path", "--"]).string("path"), "--");
        assert_eq!(ok(&["-path", ""]).string("path"), "");
    }

    #[test]
    fn empty_value_after_equals() {
        let p = ok(&["-tz="]);
        assert_eq!(p.string("tz"), "");
        assert!(p.is_set("tz"));
        assert_eq!(
            err(&["-digits="]),
            r#"invalid value "" for flag -digits: parse error"#
        );
    }

    #[test]
    fn stopping_rules() {
        // A non-flag argument stops parsing.
        let p = ok(&["up", "-f"]);
        assert!(!p.bool("f"));
        assert_eq!(p.args(), ["up", "-f"]);
        // "-" is a non-flag argument and is kept.
        assert_eq!(ok(&["-", "-f"]).args(), ["-", "-f"]);
        // "--" is consumed.
        let p = ok(&["-f", "--", "-verbose", "x"]);
        assert!(p.bool("f") && !p.bool("verbose"));
        assert_eq!(p.args(), ["-verbose", "x"]);
        assert_eq!(ok(&["--"]).args(), [] as [&str; 0]);
        assert_eq!(ok(&["--", "--"]).args(), ["--"]);
        // An empty argument stops parsing.
        assert_eq!(ok(&["", "-f"]).args(), ["", "-f"]);
    }

    #[test]
    fn bool_flags_do_not_take_the_next_argument() {
        let p = ok(&["-f", "false"]);
        assert!(p.bool("f"));
        assert_eq!(p.args(), ["false"]);
    }

    #[test]
    fn bool_values() {
        for v in ["1", "t", "T", "TRUE", "true", "True"] {
            assert!(ok(&[&format!("-f={v}")]).bool("f"), "{v}");
        }
        for v in ["0", "f", "F", "FALSE", "false", "False"] {
            let p = ok(&[&format!("-f={v}")]);
            assert!(!p.bool("f"), "{v}");
            assert!(p.is_set("f"));
        }
        for v in ["yes", "no", "tRUE", "on", "", " true", "2"] {
            assert_eq!(
                err(&[&format!("-f={v}")]),
                format!("invalid boolean value {} for -f: parse error", quote(v))
            );
        }
    }

    #[test]
    fn bad_flag_syntax() {
        assert_eq!(err(&["---f"]), "bad flag syntax: ---f");
        assert_eq!(err(&["-=x"]), "bad flag syntax: -=x");
        assert_eq!(err(&["--=x"]), "bad flag syntax: --=x");
        assert_eq!(err(&["-="]), "bad flag syntax: -=");
        assert_eq!(err(&["-f", "---x"]), "bad flag syntax: ---x");
    }

    #[test]
    fn undefined_flags() {
        assert_eq!(err(&["-x"]), "flag provided but not defined: -x");
        assert_eq!(err(&["--x=1"]), "flag provided but not defined: -x");
        assert_eq!(err(&["-F"]), "flag provided but not defined: -F");
        assert_eq!(err(&["-hh"]), "flag provided but not defined: -hh");
        assert_eq!(
            err(&["-f", "-nope", "up"]),
            "flag provided but not defined: -nope"
        );
        // Non-ASCII names are handled by bytes, as in Go.
        assert_eq!(err(&["-é=1"]), "flag provided but not defined: -é");
        assert_eq!(err(&["-ü"]), "flag provided but not defined: -ü");
    }

    #[test]
    fn help() {
        for a in ["-h", "-help", "--h", "--help", "-help=1", "-h=false"] {
            assert_eq!(set().parse(&[a]).err(), Some(ParseError::Help), "{a}");
        }
        assert_eq!(ParseError::Help.to_string(), "flag: help requested");
        // A defined -help is an ordinary flag; -h is still help.
        let s = FlagSet::new(
            "m",
            vec![def("help", Kind::Bool, "false", "Print help information")],
        );
        let p = s.parse(&["-help", "x"]);
        assert!(p
            .as_ref()
            .is_ok_and(|p| p.bool("help") && p.args() == ["x"]));
        assert_eq!(s.parse(&["-h"]).err(), Some(ParseError::Help));
    }

    #[test]
    fn missing_argument() {
        assert_eq!(err(&["-digits"]), "flag needs an argument: -digits");
        assert_eq!(err(&["-f", "--tz"]), "flag needs an argument: -tz");
        assert_eq!(
            err(&["-lock-timeout"]),
            "flag needs an argument: -lock-timeout"
        );
    }

    #[test]
    fn bad_numbers() {
        assert_eq!(
            err(&["-digits", "abc"]),
            r#"invalid value "abc" for flag -digits: parse error"#
        );
        assert_eq!(
            err(&["-digits", "1.5"]),
            r#"invalid value "1.5" for flag -digits: parse error"#
        );
        assert_eq!(
            err(&["-digits", "99999999999999999999"]),
            r#"invalid value "99999999999999999999" for flag -digits: value out of range"#
        );
        assert_eq!(
            err(&["-lock-timeout", "-1"]),
            r#"invalid value "-1" for flag -lock-timeout: parse error"#
        );
        assert_eq!(
            err(&["-lock-timeout=18446744073709551616"]),
            r#"invalid value "18446744073709551616" for flag -lock-timeout: value out of range"#
        );
        assert_eq!(
            err(&["-digits", "a\"b\n"]),
            r#"invalid value "a\"b\n" for flag -digits: parse error"#
        );
        assert_eq!(
            err(&["-digits", " 1"]),
            r#"invalid value " 1" for flag -digits: parse error"#
        );
    }

    #[test]
    fn number_syntax_of_base_zero() {
        let cases: [(&str, i64); 12] = [
            ("0x1f", 31),
            ("0X1F", 31),
            ("0o17", 15),
            ("017", 15),
            ("0b101", 5),
            ("0", 0),
            ("-0x10", -16),
            ("+5", 5),
            ("1_000", 1000),
            ("0x_1f", 31),
            ("-9223372036854775808", i64::MIN),
            ("9223372036854775807", i64::MAX),
        ];
        for (v, want) in cases {
            assert_eq!(ok(&["-digits", v]).int("digits"), want, "{v}");
        }
        assert_eq!(ok(&["-lock-timeout", "0xff"]).uint("lock-timeout"), 255);
        assert_eq!(
            ok(&["-lock-timeout", "18446744073709551615"]).uint("lock-timeout"),
            u64::MAX
        );
        for v in [
            "_1", "1_", "1__0", "0x", "08", "0b", "0b2", "+", "-", "+-1", "0x1g",
        ] {
            assert_eq!(
                err(&["-digits", v]),
                format!("invalid value {} for flag -digits: parse error", quote(v))
            );
        }
    }

    #[test]
    fn last_value_wins() {
        let p = ok(&["-digits", "1", "-digits=2", "--digits", "3"]);
        assert_eq!(p.int("digits"), 3);
        let p = ok(&["-f", "-f=false"]);
        assert!(!p.bool("f"));
        assert!(p.is_set("f"));
    }

    #[test]
    fn accessors_for_other_names() {
        let p = ok(&["-digits", "9"]);
        assert_eq!(p.string("digits"), "9");
        assert_eq!(p.string("f"), "false");
        assert_eq!(p.string("lock-timeout"), "15");
        assert_eq!(p.string("nope"), "");
        assert_eq!(p.int("nope"), 0);
        assert_eq!(p.uint("digits"), 0);
        assert!(!p.bool("digits"));
        assert!(!p.is_set("nope"));
    }

    #[test]
    fn parse_accepts_strings_and_strs() {
        let owned: Vec<String> = vec!["-tz".into(), "UTC".into(), "up".into()];
        let p = set().parse(&owned);
        assert!(p.is_ok_and(|p| p.args() == ["up"]));
    }

    fn defaults_of(defs: Vec<Def>) -> String {
        FlagSet::new("t", defs).defaults()
    }

    #[test]
    fn defaults_brief_vectors() {
        assert_eq!(
            defaults_of(vec![def(
                "f",
                Kind::Bool,
                "false",
                "Force the drop command by bypassing the confirmation prompt"
            )]),
            "  -f\tForce the drop command by bypassing the confirmation prompt\n"
        );
        assert_eq!(
            defaults_of(vec![def(
                "help",
                Kind::Bool,
                "false",
                "Print help information"
            )]),
            "  -help\n    \tPrint help information\n"
        );
        assert_eq!(
            defaults_of(vec![def(
                "digits",
                Kind::Int,
                "6",
                "The number of digits to use in sequences (default: 6)"
            )]),
            "  -digits int\n    \tThe number of digits to use in sequences (default: 6) (default 6)\n"
        );
        assert_eq!(
            defaults_of(vec![def(
                "tz",
                Kind::String,
                "UTC",
                "The timezone that will be used for generating timestamps (default: utc)"
            )]),
            "  -tz string\n    \tThe timezone that will be used for generating timestamps (default: utc) (default \"UTC\")\n"
        );
    }

    #[test]
    fn defaults_go_print_defaults_test() {
        // The flags of Go's TestPrintDefaults that use these kinds, and its expected text.
        let defs = vec![
            def("Z", Kind::Int, "0", "an int that defaults to zero"),
            def(
                "A",
                Kind::Bool,
                "false",
                "for bootstrapping, allow 'any' type",
            ),
            def(
                "Alongflagname",
                Kind::Bool,
                "false",
                "disable bounds checking",
            ),
            def("C", Kind::Bool, "true", "a boolean defaulting to true"),
            def(
                "D",
                Kind::String,
                "",
                "set relative `path` for local imports",
            ),
            def("E", Kind::String, "0", "issue 23543"),
            def("M", Kind::String, "", "a multiline\nhelp\nstring"),
            def("N", Kind::Int, "27", "a non-zero int"),
            def("O", Kind::Bool, "true", "a flag\nmultiline help string"),
        ];
        let want = "  -A\tfor bootstrapping, allow 'any' type
  -Alongflagname
    \tdisable bounds checking
  -C\ta boolean defaulting to true (default true)
  -D path
    \tset relative path for local imports
  -E string
    \tissue 23543 (default \"0\")
  -M string
    \ta multiline
    \thelp
    \tstring
  -N int
    \ta non-zero int (default 27)
  -O\ta flag
    \tmultiline help string (default true)
  -Z int
    \tan int that defaults to zero
";
        assert_eq!(defaults_of(defs), want);
    }

    #[test]
    fn defaults_details() {
        // Go's documented example of a back-quoted name.
        assert_eq!(
            defaults_of(vec![def(
                "I",
                Kind::String,
                "",
                "search `directory` for include files"
            )]),
            "  -I directory\n    \tsearch directory for include files\n"
        );
        // Only the first back-quoted word counts; a lone back quote is kept.
        assert_eq!(
            defaults_of(vec![def("n", Kind::Uint, "", "a `count` of `things`")]),
            "  -n count\n    \ta count of `things`\n"
        );
        assert_eq!(
            defaults_of(vec![def("s", Kind::String, "", "a ` lone quote")]),
            "  -s string\n    \ta ` lone quote\n"
        );
        // A back-quoted name on a bool flag is shown too.
        assert_eq!(
            defaults_of(vec![def("b", Kind::Bool, "", "enable `mode`")]),
            "  -b mode\n    \tenable mode\n"
        );
        // Zero defaults are omitted, others shown; numbers are normalised.
        assert_eq!(
            defaults_of(vec![
                def("u", Kind::Uint, "0", "u"),
                def("i", Kind::Int, "-1", "i"),
                def("x", Kind::Int, "0x10", "x"),
                def("w", Kind::Uint, "0", "w"),
            ]),
            "  -i int\n    \ti (default -1)\n  -u uint\n    \tu\n  -w uint\n    \tw\n  -x int\n    \tx (default 16)\n"
        );
        // String defaults are quoted as %q.
        assert_eq!(
            defaults_of(vec![def("q", Kind::String, "a\tb\"c", "q")]),
            "  -q string\n    \tq (default \"a\\tb\\\"c\")\n"
        );
        // Sorted by bytes: upper case before lower case, '-' before letters.
        assert_eq!(
            defaults_of(vec![
                def("source", Kind::String, "", "s"),
                def("lock-timeout", Kind::Uint, "15", "l"),
                def("lock", Kind::Bool, "", "b"),
                def("Z", Kind::Bool, "", "z"),
            ]),
            "  -Z\tz\n  -lock\n    \tb\n  -lock-timeout uint\n    \tl (default 15)\n  -source string\n    \ts\n"
        );
        // Empty usage, empty set.
        assert_eq!(defaults_of(vec![def("e", Kind::Bool, "", "")]), "  -e\t\n");
        assert_eq!(defaults_of(vec![]), "");
        // A two-byte name is more than four bytes with the indent.
        assert_eq!(
            defaults_of(vec![def("ab", Kind::Bool, "", "x")]),
            "  -ab\n    \tx\n"
        );
    }

    #[test]
    fn usage_header() {
        let s = FlagSet::new("create", vec![def("seq", Kind::Bool, "", "Use sequences")]);
        assert_eq!(s.usage(), "Usage of create:\n  -seq\n    \tUse sequences\n");
        assert_eq!(s.name(), "create");
        let s = FlagSet::new("", vec![]);
        assert_eq!(s.usage(), "Usage:\n");
    }

    #[test]
    fn migrate_create_flag_set() {
        let s = FlagSet::new(
            "create",
            vec![
                def("ext", Kind::String, "", "File extension"),
                def(
                    "dir",
                    Kind::String,
                    "",
                    "Directory to place file in (default: current working directory)",
                ),
                def(
                    "format",
                    Kind::String,
                    "20060102150405",
                    "The Go time format string to use. If the string \"unix\" or \"unixNano\" is specified, then the seconds or nanoseconds since January 1, 1970 UTC respectively will be used. Caution, due to the behavior of time.Time.Format(), invalid format strings will not error",
                ),
                def(
                    "tz",
                    Kind::String,
                    "UTC",
                    "The timezone that will be used for generating timestamps (default: utc)",
                ),
                def(
                    "seq",
                    Kind::Bool,
                    "false",
                    "Use sequential numbers instead of timestamps (default: false)",
                ),
                def(
                    "digits",
                    Kind::Int,
                    "6",
                    "The number of digits to use in sequences (default: 6)",
                ),
            ],
        );
        let want = concat!(
            "  -digits int\n",
            "    \tThe number of digits to use in sequences (default: 6) (default 6)\n",
            "  -dir string\n",
            "    \tDirectory to place file in (default: current working directory)\n",
            "  -ext string\n",
            "    \tFile extension\n",
            "  -format string\n",
            "    \tThe Go time format string to use. If the string \"unix\" or \"unixNano\" is specified, then the seconds or nanoseconds since January 1, 1970 UTC respectively will be used. Caution, due to the behavior of time.Time.Format(), invalid format strings will not error (default \"20060102150405\")\n",
            "  -seq\n",
            "    \tUse sequential numbers instead of timestamps (default: false)\n",
            "  -tz string\n",
            "    \tThe timezone that will be used for generating timestamps (default: utc) (default \"UTC\")\n",
        );
        assert_eq!(s.defaults(), want);
        let p = s.parse(&["-ext", "sql", "-dir", "migrations", "-seq", "create_users"]);
        let p = p.expect("parses");
        assert_eq!(p.string("ext"), "sql");
        assert_eq!(p.string("format"), "20060102150405");
        assert!(p.bool("seq"));
        assert_eq!(p.args(), ["create_users"]);
    }

    #[test]
    fn error_display() {
        let e = ParseError::Invalid("flag provided but not defined: -x".into());
        assert_eq!(e.to_string(), "flag provided but not defined: -x");
    }
}
