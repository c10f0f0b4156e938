//! The `bank` and `phone` programs: dynpin's whole loop on the command line.
//!
//! - `bank` ([`bank::main`]) is the issuer and verifier of `dynpin-bank`:
//!   it issues cards (QR code, payload, activation code), checks confirmation
//!   codes, verifies PINs and sends Harim-style SMS codes.
//! - `phone` ([`phone::main`]) is an authenticator app without a screen,
//!   built on the very `Authenticator` API that Kotlin and Swift apps call
//!   (`dynpin-ffi`): it activates cards into an encrypted vault and shows
//!   their PINs.
//!
//! They talk only through what a person carries between them: the payload,
//! the activation code, the confirmation code and the PINs. Both are binaries
//! of this crate (`cargo run -p dynpin-cli --bin phone -- --help`) and, for
//! the README's commands, examples of the workspace root
//! (`cargo run --example phone -- --help`).
#![forbid(unsafe_code)]

mod args;
pub mod bank;
pub mod phone;
