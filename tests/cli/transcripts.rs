//! One transcript per golang-migrate behaviour: every command's happy path and its
//! argument errors, and the planner's rules through the CLI.

use crate::harness::Env;
use insta::assert_snapshot;

#[test]
fn up_applies_all_then_no_change() {
    let e = Env::with("basic");
    assert_snapshot!(e.migrate(&["up"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_snapshot!("up_all_applied", e.migrate(&["up"]).to_string());
}

#[test]
fn up_nil_db_empty_dir() {
    let e = Env::new();
    std::fs::create_dir(e.path("m")).expect("mkdir");
    assert_snapshot!(e.migrate(&["up"]).to_string());
    // the version table is created, as golang-migrate does on open
    assert_eq!(e.rows(), vec![]);
}

#[test]
fn up_one_at_latest() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    assert_snapshot!(e.migrate(&["up", "1"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn up_n_short() {
    let e = Env::with("basic");
    e.migrate(&["up", "1"]);
    assert_snapshot!(e.migrate(&["up", "5"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn up_zero_and_down_zero() {
    let e = Env::with("basic");
    assert_snapshot!("up_zero", e.migrate(&["up", "0"]).to_string());
    assert_snapshot!("down_zero", e.migrate(&["down", "0"]).to_string());
    assert_eq!(e.rows(), vec![]);
}

#[test]
fn down_one_at_nil() {
    let e = Env::with("basic");
    assert_snapshot!(e.migrate(&["down", "1"]).to_string());
}

#[test]
fn down_n_short() {
    let e = Env::with("basic");
    e.migrate(&["up", "2"]);
    assert_snapshot!(e.migrate(&["down", "5"]).to_string());
    assert_eq!(e.rows(), vec![]);
    assert!(e.tables().is_empty());
}

#[test]
fn down_all_at_nil() {
    let e = Env::with("basic");
    assert_snapshot!(e.migrate(&["down", "-all"]).to_string());
}

#[test]
fn down_all_flag() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    assert_snapshot!(e.migrate(&["down", "-all"]).to_string());
    assert_eq!(e.rows(), vec![]);
    assert!(e.tables().is_empty());
}

#[test]
fn down_prompt_declined_without_stdin() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    assert_snapshot!(e.migrate(&["down"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
}

#[test]
fn down_prompt_accepted() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    let args = [
        "-path",
        &e.path("m").display().to_string(),
        "-database",
        &e.url(),
        "down",
    ]
    .map(String::from);
    let t = e.run_with(&args, Some("Y\n"));
    assert_snapshot!(t.to_string());
    assert_eq!(e.rows(), vec![]);
}

#[test]
fn down_argument_errors() {
    let e = Env::with("basic");
    assert_snapshot!(
        "down_all_with_args",
        e.migrate(&["down", "-all", "1"]).to_string()
    );
    assert_snapshot!("down_too_many", e.migrate(&["down", "1", "2"]).to_string());
    assert_snapshot!("down_bad_limit", e.migrate(&["down", "x"]).to_string());
    assert_snapshot!(
        "down_negative_is_a_flag",
        e.migrate(&["down", "-1"]).to_string()
    );
}

#[test]
fn db_version_not_in_source() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    std::fs::remove_file(e.path("m/3_create_posts.up.sql")).expect("rm");
    std::fs::remove_file(e.path("m/3_create_posts.down.sql")).expect("rm");
    let before = e.dump();
    assert_snapshot!(e.migrate(&["up"]).to_string());
    assert_eq!(e.dump(), before);
}

#[test]
fn goto_missing_version() {
    let e = Env::with("basic");
    assert_snapshot!(e.migrate(&["goto", "9"]).to_string());
}

#[test]
fn goto_up_down_and_current() {
    let e = Env::with("gaps");
    assert_snapshot!("goto_4", e.migrate(&["goto", "4"]).to_string());
    assert_eq!(e.rows(), vec![(4, false)]);
    assert_snapshot!("goto_current", e.migrate(&["goto", "4"]).to_string());
    assert_snapshot!("goto_1", e.migrate(&["goto", "1"]).to_string());
    assert_eq!(e.rows(), vec![(1, false)]);
}

#[test]
fn goto_argument_errors() {
    let e = Env::with("basic");
    assert_snapshot!("goto_no_arg", e.migrate(&["goto"]).to_string());
    assert_snapshot!("goto_bad_arg", e.migrate(&["goto", "+1"]).to_string());
    assert_snapshot!("goto_zero", e.migrate(&["goto", "0"]).to_string());
}

#[test]
fn dirty_database_is_refused() {
    let e = Env::with("basic");
    e.migrate(&["up", "1"]);
    e.conn()
        .execute("UPDATE schema_migrations SET version = 2, dirty = 1", [])
        .expect("dirty");
    let before = e.dump();
    assert_snapshot!("dirty_up", e.migrate(&["up"]).to_string());
    assert_snapshot!("dirty_version", e.migrate(&["version"]).to_string());
    assert_eq!(e.dump(), before);
    // force clears it
    assert_snapshot!("force_while_dirty", e.migrate(&["force", "1"]).to_string());
    assert_eq!(e.rows(), vec![(1, false)]);
}

#[test]
fn failing_up_migration() {
    let e = Env::with("failing");
    assert_snapshot!(e.migrate(&["up"]).to_string());
    // transactional: the failed file rolled back with its version write
    assert_eq!(e.rows(), vec![(2, false)]);
    assert_eq!(e.tables(), vec!["a", "b"]);
}

#[test]
fn force_rules() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    assert_snapshot!(
        "force_minus_one_is_a_flag",
        e.migrate(&["force", "-1"]).to_string()
    );
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_snapshot!("force_nil", e.migrate(&["force", "--", "-1"]).to_string());
    assert_eq!(e.rows(), vec![]);
    assert_snapshot!("force_no_arg", e.migrate(&["force"]).to_string());
    assert_snapshot!("force_bad_arg", e.migrate(&["force", "x"]).to_string());
    assert_snapshot!(
        "force_too_low",
        e.migrate(&["force", "--", "-2"]).to_string()
    );
    assert_snapshot!("force_plus", e.migrate(&["force", "+2"]).to_string());
    assert_eq!(e.rows(), vec![(2, false)]);
}

#[test]
fn version_outputs() {
    let e = Env::with("basic");
    assert_snapshot!("version_nil", e.migrate(&["version"]).to_string());
    e.migrate(&["up", "2"]);
    assert_snapshot!("version_clean", e.migrate(&["version"]).to_string());
}

#[test]
fn usage_and_help() {
    let e = Env::new();
    assert_snapshot!("no_command", e.run(&[]).to_string());
    assert_snapshot!("help", e.run(&["-help"]).to_string());
    assert_snapshot!("h", e.run(&["-h"]).to_string());
    assert_snapshot!("unknown_flag", e.run(&["-x"]).to_string());
    assert_snapshot!("flag_needs_argument", e.run(&["-path"]).to_string());
    assert_snapshot!("bad_uint", e.run(&["-prefetch", "abc", "up"]).to_string());
    assert_snapshot!("version_flag", e.run(&["-version"]).to_string());
    assert_snapshot!("up_help", e.run(&["up", "-help"]).to_string());
    assert_snapshot!("down_help", e.run(&["down", "-help"]).to_string());
    assert_snapshot!("drop_help", e.run(&["drop", "-help"]).to_string());
    assert_snapshot!("create_help", e.run(&["create", "-help"]).to_string());
    assert_snapshot!("up_h", e.run(&["up", "-h"]).to_string());
    // global flags after the command belong to the command: an error
    assert_snapshot!(
        "flag_after_command",
        e.run(&["up", "-path", "x"]).to_string()
    );
}

#[test]
fn unknown_command() {
    let e = Env::with("basic");
    assert_snapshot!(e.migrate(&["foo"]).to_string());
    // golang-migrate opens the database (creating the table) even then
    assert_eq!(e.rows(), vec![]);
}

#[test]
fn duplicate_files() {
    let e = Env::with("duplicate");
    assert_snapshot!(e.migrate(&["up"]).to_string());
    assert!(!e.db().exists(), "the database is not opened");
}

#[test]
fn missing_directory() {
    let e = Env::new();
    assert_snapshot!(e.migrate(&["up"]).to_string());
}

#[test]
fn empty_files_are_no_ops() {
    let e = Env::with("empty_files");
    assert_snapshot!(e.migrate(&["up"]).to_string());
    assert_eq!(e.rows(), vec![(3, false)]);
    assert_snapshot!("empty_files_down", e.migrate(&["down", "-all"]).to_string());
    assert_eq!(e.rows(), vec![]);
}

#[test]
fn gaps_step_by_step() {
    // The planner's walk over a source with gaps, through the CLI.
    let e = Env::with("gaps");
    let mut out = String::new();
    for _ in 0..6 {
        out.push_str(&e.migrate(&["up", "1"]).to_string());
    }
    for _ in 0..6 {
        out.push_str(&e.migrate(&["down", "1"]).to_string());
    }
    assert_snapshot!(out);
}

#[test]
fn drop_prompt_and_force() {
    let e = Env::with("basic");
    e.migrate(&["up"]);
    assert_snapshot!("drop_declined", e.migrate(&["drop"]).to_string());
    assert_eq!(e.tables(), vec!["posts", "users"]);
    assert_snapshot!("drop_f", e.migrate(&["drop", "-f"]).to_string());
    assert!(e.tables().is_empty());
    // the next run recreates the version table
    assert_snapshot!("after_drop_version", e.migrate(&["version"]).to_string());
}

#[test]
fn verbose_up() {
    let e = Env::with("basic");
    assert_snapshot!(e
        .migrate(&["-verbose", "up"])
        .to_string()
        .replace("-verbose", ""));
}

#[test]
fn create_sequential() {
    let e = Env::new();
    let t1 = e.run(&["create", "-ext", "sql", "-dir", "m", "-seq", "create_users"]);
    let t2 = e.run(&[
        "create",
        "-ext",
        ".sql",
        "-dir",
        "m",
        "-seq",
        "-digits",
        "3",
        "add_email",
    ]);
    assert_snapshot!(format!("{t1}{t2}"));
    let mut names: Vec<String> = std::fs::read_dir(e.path("m"))
        .expect("dir")
        .map(|d| d.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "000001_create_users.down.sql",
            "000001_create_users.up.sql",
            "002_add_email.down.sql",
            "002_add_email.up.sql"
        ]
    );
    assert_eq!(
        std::fs::metadata(e.path("m/002_add_email.up.sql"))
            .expect("f")
            .len(),
        0
    );
}

#[test]
fn create_timestamped_and_errors() {
    let e = Env::new();
    let t = e.run(&["create", "-ext", "sql", "-dir", "m", "-format", "unix", "x"]);
    assert_eq!(t.code, 0, "{t}");
    let names: Vec<String> = std::fs::read_dir(e.path("m"))
        .expect("dir")
        .map(|d| d.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| regex::Regex::new(r"^\d{10}_x\.(up|down)\.sql$")
                .expect("re")
                .is_match(n)),
        "{names:?}"
    );
    assert_snapshot!(
        "create_no_name",
        e.run(&["create", "-ext", "sql"]).to_string()
    );
    assert_snapshot!("create_no_ext", e.run(&["create", "x"]).to_string());
    assert_snapshot!(
        "create_bad_tz",
        e.run(&["create", "-ext", "sql", "-tz", "Mars/Base", "x"])
            .to_string()
    );
    assert_snapshot!(
        "create_seq_and_format",
        e.run(&["create", "-ext", "sql", "-seq", "-format", "unix", "x"])
            .to_string()
    );
    assert_snapshot!(
        "create_empty_format",
        e.run(&["create", "-ext", "sql", "-format=", "x"])
            .to_string()
    );
    assert_snapshot!(
        "create_bad_digits",
        e.run(&["create", "-ext", "sql", "-seq", "-digits", "0", "x"])
            .to_string()
    );
    e.run(&[
        "create", "-ext", "sql", "-dir", "s", "-seq", "-digits", "1", "a",
    ]);
    for _ in 0..8 {
        e.run(&[
            "create", "-ext", "sql", "-dir", "s", "-seq", "-digits", "1", "a",
        ]);
    }
    assert_snapshot!(
        "create_too_large",
        e.run(&["create", "-ext", "sql", "-dir", "s", "-seq", "-digits", "1", "a"])
            .to_string()
    );
    // golang-migrate ignores an option after the name (Go's flags stop there): refused
    assert_snapshot!(
        "create_flag_after_name_refused",
        e.run(&["create", "x", "-ext", "sql"]).to_string()
    );
}

/// `-tz` loads zones from the system's tz database at run time, as Go's
/// `time.LoadLocation` does; `MST` in `-format` prints the zone's abbreviation. Zones
/// without daylight saving time keep the file names independent of the season.
#[test]
fn create_time_zones() {
    if !std::path::Path::new("/usr/share/zoneinfo/Asia/Kolkata").exists() {
        let msg = "\n*** SKIPPED create_time_zones: no tz database in /usr/share/zoneinfo (install tzdata) ***\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        return;
    }
    let e = Env::new();
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(e.path(dir))
            .expect("dir")
            .map(|d| d.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v.join(" ")
    };
    // `create` into DIR with -tz ZONE -format LAYOUT, with ENV set: the names.
    let create = |dir: &str, zone: &str, layout: &str, env: &[(&str, &str)]| {
        let mut c = e.command();
        c.args([
            "create", "-ext", "sql", "-dir", dir, "-tz", zone, "-format", layout, "x",
        ]);
        c.envs(env.iter().copied());
        let out = c.output().expect("run");
        assert!(out.status.success(), "{out:?}");
        names(dir)
    };
    assert_eq!(
        create("k", "Asia/Kolkata", "MST-0700", &[]),
        "IST+0530_x.down.sql IST+0530_x.up.sql"
    );
    assert_eq!(
        create("d", "Asia/Dubai", "MST", &[]),
        "+04_x.down.sql +04_x.up.sql"
    );
    // Local follows $TZ, as in Go.
    assert_eq!(
        create("l", "Local", "MST", &[("TZ", "Asia/Kathmandu")]),
        "+0545_x.down.sql +0545_x.up.sql"
    );
    assert_eq!(
        create(
            "l2",
            "Local",
            "MST",
            &[("TZ", ":/usr/share/zoneinfo/Asia/Dubai")]
        ),
        "+04_x.down.sql +04_x.up.sql"
    );
    assert_eq!(
        create("l3", "Local", "MST", &[("TZ", "")]),
        "UTC_x.down.sql UTC_x.up.sql"
    );
    // $ZONEINFO is searched first, as in Go.
    let kolkata = std::fs::read("/usr/share/zoneinfo/Asia/Kolkata").expect("tzdata");
    e.write("zi/Test/Zone", "");
    std::fs::write(e.path("zi/Test/Zone"), kolkata).expect("write zone");
    let zi = e.path("zi").display().to_string();
    assert_eq!(
        create("z", "Test/Zone", "MST", &[("ZONEINFO", zi.as_str())]),
        "IST_x.down.sql IST_x.up.sql"
    );
    assert_snapshot!(
        "create_invalid_location",
        e.run(&["create", "-ext", "sql", "-tz", "../../etc/passwd", "x"])
            .to_string()
    );
}

#[test]
fn construction_errors() {
    let e = Env::new();
    std::fs::create_dir(e.path("m")).expect("mkdir");
    assert_snapshot!(
        "no_source",
        e.run(&["-database", "sqlite3://x.db", "up"]).to_string()
    );
    assert_snapshot!("no_database", e.run(&["-path", "m", "up"]).to_string());
    assert_snapshot!(
        "source_no_scheme",
        e.run(&["-source", "m", "-database", "sqlite3://x.db", "up"])
            .to_string()
    );
    assert_snapshot!(
        "database_no_scheme",
        e.run(&["-path", "m", "-database", "x.db", "up"])
            .to_string()
    );
    assert_snapshot!(
        "unknown_source_driver",
        e.run(&[
            "-source",
            "s3://bucket",
            "-database",
            "sqlite3://x.db",
            "up"
        ])
        .to_string()
    );
    assert_snapshot!(
        "unknown_database_driver",
        e.run(&["-path", "m", "-database", "oracle://u:secret@h/db", "up"])
            .to_string()
    );
    assert_snapshot!(
        "bad_no_tx_wrap",
        e.run(&[
            "-path",
            "m",
            "-database",
            "sqlite3://x.db?x-no-tx-wrap=maybe",
            "up"
        ])
        .to_string()
    );
}
