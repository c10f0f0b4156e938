//! The `bank` program of `dynpin-cli`, runnable as `cargo run --example bank -- …`.

fn main() -> std::process::ExitCode {
    dynpin_cli::bank::main()
}
