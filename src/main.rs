//! The `migrate` binary: a thin shell over the library (normalize argv, run, exit).
//!
//! Every write goes through `cli::log` (a closed pipe ends the process quietly, a full
//! device is reported); the print macros, which panic on a write error, are denied.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = cli::run(args);
    std::process::exit(i32::from(cli::log::finish(code)));
}
