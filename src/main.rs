#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    writ::cli::run()
}
