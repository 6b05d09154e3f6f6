//! Byte-for-byte reproductions of the Go standard-library behaviour the CLI must match.
//!
//! golang-migrate is a Go program, and its output is produced by Go's `flag`, `time` and
//! `strconv` packages. These modules re-implement exactly the parts the CLI relies on:
//!
//! * [`flag`] for the `flag` package's `FlagSet` (parsing rules, error messages,
//!   `PrintDefaults`);
//! * [`duration`] for `time.Duration.String()` and `time.ParseDuration`;
//! * [`layout`] for `time.Time.Format` with Go's reference-time layouts;
//! * [`quote`] for `strconv.Quote`, i.e. the `%q` verb of `fmt`;
//! * [`strconv`] for `strconv.ParseBool`, `ParseInt`, `ParseUint` and `Atoi`;
//! * `zone` (with the `cli` feature) for `time.LoadLocation` on the system's tz database.
//!
//! They serve the binary and the library's golang-migrate texts; they are not part of the
//! documented API.

#![doc(hidden)]

pub mod duration;
pub mod flag;
pub mod layout;
pub mod quote;
pub mod strconv;
#[cfg(feature = "cli")]
pub mod zone;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_work_together() {
        // A flag error quotes the value the way Go's %q does.
        let set = flag::FlagSet::new(
            "create",
            vec![flag::Def {
                name: "digits",
                kind: flag::Kind::Int,
                default: "6",
                usage: "digits",
            }],
        );
        assert_eq!(
            set.parse(&["-digits", "\u{a0}6"]).err(),
            Some(flag::ParseError::Invalid(
                "invalid value \"\\u00a06\" for flag -digits: parse error".to_string()
            ))
        );
        assert_eq!(quote::quote("µs"), "\"µs\"");
        assert_eq!(
            duration::format(std::time::Duration::from_millis(1500)),
            "1.5s"
        );
        let t = chrono::DateTime::from_timestamp(1_136_239_445, 0).unwrap_or_default();
        assert_eq!(layout::format(&t, "20060102150405"), "20060102220405");
        assert_eq!(layout::format_special(&t, "unix"), "1136239445");
    }
}
