//! The `phone` program (see `dynpin_cli::phone`).

fn main() -> std::process::ExitCode {
    dynpin_cli::phone::main()
}
