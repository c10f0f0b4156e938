//! # dynpin
//!
//! The offline core of an Iranian bank-card "dynamic PIN" app (رمز پویا): it
//! keeps each card's seed, derives the card's **first PIN** (ATM/POS) and
//! **second PIN** (online payments) from a clock with HOTP/TOTP (RFC 4226 /
//! RFC 6238), and presents them with a countdown — in ASCII or Persian digits.
//!
//! This crate is plain Rust: no FFI, no bank-side code, no async runtime.
//! The mobile edge (`dynpin-ffi`, the UniFFI library apps link) and the bank
//! side (`dynpin-bank`) are built on it.
//!
//! | module | job |
//! |---|---|
//! | [`otp`] | HOTP/TOTP/OCRA math with keyed HMAC state |
//! | [`clock`] | injected time: [`clock::Clock`], [`clock::SystemClock`] (test clocks with the `test-util` feature) |
//! | [`card`] | cards, banks, PIN slots, their key derivation, the amount-bound PIN |
//! | [`pin`] | a PIN as shown: digits, kind, validity window, display forms |
//! | [`activation`] | sealed activation payloads (QR/SMS) and activation codes |
//! | [`import`] | `otpauth://` URIs and Google Authenticator exports, in and out |
//! | [`vault`] | the encrypted, crash-safe card store |
//! | [`kdf`] | Argon2id with parameter floors and ceilings |
//! | [`text`] | typed digits in three scripts; grouping; Persian output |
//! | [`secret`] | zeroizing, redacted secret bytes; constant-time comparison |
//!
//! Each module returns its own error type, whose variants carry what a
//! caller acts on; the mobile edge maps them, exhaustively, to the one error
//! apps see.
//!
//! ```
//! use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
//! use dynpin::clock::SystemClock;
//! use dynpin::secret::SecretBytes;
//!
//! let card = Card::bank_card(
//!     CardId::random()?,
//!     "Salary",
//!     CardRef::new(606_373, LastFour::parse("4321")?)?,
//!     SecretBytes::from(vec![7; 32]),
//!     Some(PinPolicy::first_pin()),
//!     Some(PinPolicy::second_pin()),
//! )?;
//! for pin in card.pins(&SystemClock)? {
//!     let left = pin.validity().map(|v| v.seconds_remaining());
//!     println!("{} PIN {} ({left:?} s left)", pin.kind(), pin.grouped());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod activation;
pub mod card;
pub mod clock;
pub mod import;
pub mod kdf;
pub mod otp;
pub mod pin;
pub mod secret;
pub mod text;
pub mod vault;

mod bytes;
mod encoding;
