//! An oathtool-like command that prints only the code.
//!
//! ```text
//! cargo run --example otp -- totp <BASE32> [--time <unix>] [--digits N] [--period S] [--algorithm sha1|sha256|sha512]
//! cargo run --example otp -- hotp <BASE32> --counter N [--digits N] [--algorithm …]
//! ```
//!
//! Defaults follow oathtool: 6 digits, 30-second period, SHA-1, the system clock.
//! Bad input prints one line to stderr and exits with status 2.

use std::process::ExitCode;

use dynpin::clock::{Clock, SystemClock};
use dynpin::otp::{Algorithm, Hotp, Totp, unix_seconds};
use dynpin::secret::SecretBytes;

const USAGE: &str = "usage: otp totp <BASE32> [--time <unix>] [--digits N] [--period S] [--algorithm sha1|sha256|sha512]\n       otp hotp <BASE32> --counter N [--digits N] [--algorithm sha1|sha256|sha512]";

struct Options {
    mode: String,
    secret: SecretBytes,
    time: Option<u64>,
    counter: Option<u64>,
    digits: u8,
    period: u64,
    algorithm: Algorithm,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag}: '{value}' is not a valid number"))
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mode = args.next().ok_or("missing mode (totp or hotp)")?;
    if mode != "totp" && mode != "hotp" {
        return Err(format!("unknown mode '{mode}' (expected totp or hotp)"));
    }
    let secret_text = args.next().ok_or("missing the base32 secret")?;
    // Secrets are often shown in groups of four; spaces carry no meaning.
    let compact: String = secret_text.chars().filter(|c| !c.is_whitespace()).collect();
    let secret = SecretBytes::from_base32(&compact).map_err(|e| e.to_string())?;
    let mut options = Options {
        mode,
        secret,
        time: None,
        counter: None,
        digits: 6,
        period: 30,
        algorithm: Algorithm::Sha1,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--time" => options.time = Some(number(&flag, args.next())?),
            "--counter" => options.counter = Some(number(&flag, args.next())?),
            "--digits" => options.digits = number(&flag, args.next())?,
            "--period" => options.period = number(&flag, args.next())?,
            "--algorithm" => {
                let name = args.next().ok_or("--algorithm needs a value")?;
                options.algorithm = name
                    .parse()
                    .map_err(|_| format!("unknown algorithm '{name}'"))?;
            }
            _ => return Err(format!("unknown option '{flag}'")),
        }
    }
    Ok(options)
}

fn run(options: Options) -> Result<String, String> {
    let key = options.secret.expose();
    if options.mode == "hotp" {
        if options.time.is_some() {
            return Err("--time is for totp".into());
        }
        let counter = options.counter.ok_or("hotp needs --counter N")?;
        let hotp = Hotp::new(options.algorithm, key, options.digits).map_err(|e| e.to_string())?;
        return Ok(hotp.code(counter).to_string());
    }
    if options.counter.is_some() {
        return Err("--counter is for hotp".into());
    }
    let totp = Totp::new(options.algorithm, key, options.digits, options.period)
        .map_err(|e| e.to_string())?;
    let time = match options.time {
        Some(t) => t,
        None => unix_seconds(SystemClock.now_millis(), 0).map_err(|e| e.to_string())?,
    };
    totp.code_at(time)
        .map(|c| c.to_string())
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(code) => {
            println!("{code}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("otp: error: {message}");
            if message.starts_with("missing") || message.starts_with("unknown mode") {
                eprintln!("{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}
