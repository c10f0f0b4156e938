//! The `phone` program of `dynpin-cli`, runnable as `cargo run --example phone -- …`.

fn main() -> std::process::ExitCode {
    dynpin_cli::phone::main()
}
