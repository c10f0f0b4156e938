//! The OTP math: HOTP (RFC 4226) and TOTP (RFC 6238) over HMAC-SHA-1/256/512.
//!
//! A generator is keyed once: [`Hotp::new`] runs the HMAC key schedule and keeps
//! the inner and outer hash states, so each code afterwards costs exactly two
//! compression-function calls (one for SHA-512's 128-byte blocks as well).
//!
//! ```
//! use dynpin::otp::{Algorithm, Totp};
//!
//! // RFC 6238, Appendix B: SHA-1, 8 digits, 30-second steps, T = 59 s.
//! let totp = Totp::new(Algorithm::Sha1, b"12345678901234567890", 8, 30)?;
//! assert_eq!(totp.code_at(59)?.to_string(), "94287082");
//! # Ok::<(), dynpin::otp::OtpError>(())
//! ```

mod algorithm;
mod code;
mod hotp;
pub mod ocra;
mod totp;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use code::OtpCode;
pub use hotp::Hotp;
pub use totp::{TimeStep, Totp, unix_seconds};

/// The fewest digits a code may have. Some banks' first (ATM/POS) PIN has four.
pub const MIN_DIGITS: u8 = 4;
/// The most digits a code may have: the 31-bit truncated value has at most ten.
pub const MAX_DIGITS: u8 = 10;
/// The shortest time step accepted, in seconds.
pub const MIN_PERIOD: u64 = 10;
/// The longest time step accepted, in seconds.
pub const MAX_PERIOD: u64 = 300;
/// The time step banks use for dynamic PINs, in seconds.
pub const PIN_PERIOD: u64 = 60;

/// Why an OTP could not be computed. No variant ever carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    /// The number of digits is outside 4–10.
    #[error("a code must have {MIN_DIGITS} to {MAX_DIGITS} digits, not {digits}")]
    DigitsOutOfRange {
        /// The rejected number of digits.
        digits: u8,
    },
    /// The time step is outside 10–300 seconds (0 included).
    #[error("the time step must be {MIN_PERIOD} to {MAX_PERIOD} seconds, not {period}")]
    PeriodOutOfRange {
        /// The rejected period in seconds.
        period: u64,
    },
    /// The secret key is empty.
    #[error("the secret key is empty")]
    EmptySecret,
    /// The time is before 1970-01-01, usually a wrongly set device clock.
    #[error("the time is {seconds_before_epoch} s before 1970-01-01; check the device clock")]
    TimeBeforeEpoch {
        /// How many whole seconds before the epoch (at least 1).
        seconds_before_epoch: u64,
    },
    /// The time is before the TOTP origin `T0`.
    #[error("the time is before the token's start time T0")]
    TimeBeforeT0,
    /// A time or counter would not fit in 64 bits.
    #[error("the time or counter is out of the 64-bit range")]
    Overflow,
}
