//! dynpin's runnable examples, run from the repository root:
//!
//! - `cargo run --example demo`: a card issued, activated and showing live
//!   PINs, all offline (the bank side, the `Authenticator` apps call);
//! - `cargo run --example otp`: the OTP engine against the RFC vectors;
//! - `cargo run --example bank -- …` and `cargo run --example phone -- …`:
//!   the programs of `dynpin-cli`.
//!
//! This library holds nothing; the examples are the point.
