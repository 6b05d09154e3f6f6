//! The `migrate` binary: a thin shell over the library (normalize argv, run, exit).

mod cli;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(cli::run(args));
}
