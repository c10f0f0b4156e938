//! # dynpin
//!
//! The offline core of an Iranian bank-card "dynamic PIN" app (رمز پویا): it
//! keeps each card's seed, derives the card's **first PIN** (ATM/POS) and
//! **second PIN** (online payments) from a clock with HOTP/TOTP (RFC 4226 /
//! RFC 6238), and presents them with a countdown — in ASCII or Persian digits.
//!
//! The modules follow the architecture:
//!
//! | module | job |
//! |---|---|
//! | [`otp`] | HOTP/TOTP math with keyed HMAC state |
//! | [`clock`] | injected time: [`clock::SystemClock`], [`clock::FixedClock`], [`clock::ManualClock`] |
//! | [`card`] | cards, banks, PIN slots and their key derivation |
//! | [`activation`] | sealed activation payloads (QR/SMS) and activation codes |
//! | [`import`] | `otpauth://` URIs and Google Authenticator exports, in and out |
//! | [`amount`] | the amount-bound second PIN (OCRA over amount and payee) |
//! | [`kdf`] | Argon2id with parameter floors and ceilings |
//! | [`vault`] | the encrypted, crash-safe card store |
//! | [`mobile`] | the UniFFI surface for Kotlin, Swift and Python |
//! | `issuer` (feature) | the bank side: provisioning, QR codes, verifier, SMS codes |
//! | [`pin`] | a PIN as shown: digits, kind, validity window |
//! | [`text`] | typed digits in three scripts; grouping; Persian output |
//! | [`secret`] | zeroizing, redacted secret bytes |
//!
//! ```
//! use dynpin::card::{Card, CardRef, LastFour, PinPolicy};
//! use dynpin::clock::FixedClock;
//! use dynpin::pin::PinKind;
//! use dynpin::secret::SecretBytes;
//!
//! let card = Card::bank_card(
//!     "Salary",
//!     CardRef { bin: 606_373, last_four: LastFour::parse("4321")? },
//!     SecretBytes::from(vec![7; 32]),
//!     Some(PinPolicy::first_pin()),
//!     Some(PinPolicy::second_pin()),
//! )?;
//! let clock = FixedClock::from_unix_seconds(1_800_000_000);
//! for pin in card.pins(&clock)? {
//!     let left = pin.validity().map(|v| v.seconds_remaining());
//!     println!("{} PIN {} ({left:?} s left)", pin.kind(), pin.grouped());
//! }
//! # Ok::<(), dynpin::Error>(())
//! ```
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod activation;
pub mod amount;
pub mod card;
pub mod clock;
pub mod import;
#[cfg(feature = "issuer")]
pub mod issuer;
pub mod kdf;
pub mod mobile;
pub mod otp;
pub mod pin;
pub mod secret;
pub mod text;
pub mod vault;

mod encoding;
mod error;

pub use error::Error;

uniffi::setup_scaffolding!();
