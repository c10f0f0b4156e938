//! The `bank` program (see `dynpin_cli::bank`).

fn main() -> std::process::ExitCode {
    dynpin_cli::bank::main()
}
