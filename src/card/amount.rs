//! The amount-bound second PIN: a code that signs one transaction.
//!
//! A time-based second PIN authorises *any* payment for a minute: phished, it
//! pays the phisher. An amount-bound PIN is an OCRA (RFC 6287) response whose
//! challenge is derived from the amount and the payee, so it is only good for
//! that payment. The phone refuses to make one above the user's ceiling for the
//! card. Specification and vectors: `docs/amount-bound-pin.md`.
//!
//! ```text
//! suite     = "OCRA-1:HOTP-SHA256-8:QH64-T1M"
//! key       = HKDF-SHA-256(master seed, info = "dynpin/v1/amount-bound/SHA256", L = 32)
//! challenge = hex(SHA-256("dynpin/v1/amount-bound" || 0x00 || amount (u64 BE, rials) || payee (UTF-8)))
//! T         = floor(unix seconds / 60)
//! ```

use sha2::{Digest, Sha256};

use crate::card::CardError;
use crate::card::derive::{KeyPurpose, derive_key};
use crate::otp::ocra::{Ocra, OcraInput, OcraSuite};
use crate::otp::{Algorithm, OtpCode};
use crate::secret::SecretBytes;
use crate::text;

/// The OCRA suite of dynpin's amount-bound second PIN.
pub const SUITE: &str = "OCRA-1:HOTP-SHA256-8:QH64-T1M";
/// The time step in seconds (the suite's `T1M`).
pub const TIME_STEP: u64 = 60;
/// The longest payee accepted, in UTF-8 bytes.
pub const MAX_PAYEE_BYTES: usize = 128;
const DOMAIN: &[u8] = b"dynpin/v1/amount-bound";

/// The canonical form of a payee: trimmed; a payee written only with digits,
/// spaces and dashes (a card number, an IBAN's digits, a merchant number) in
/// any digit script becomes its ASCII digits, so `۶۲۱۹-۸۶۱۰…` and `62198610…`
/// sign the same.
///
/// # Errors
/// [`CardError::InvalidPayee`] for an empty or over-long payee or control characters.
pub fn normalize_payee(payee: &str) -> Result<String, CardError> {
    let trimmed = payee.trim();
    if trimmed.is_empty()
        || trimmed.len() > MAX_PAYEE_BYTES
        || trimmed.chars().any(char::is_control)
    {
        return Err(CardError::InvalidPayee);
    }
    Ok(match text::normalize_digits(trimmed, MAX_PAYEE_BYTES) {
        Ok(digits) => digits.to_string(),
        Err(_) => trimmed.to_owned(),
    })
}

/// The OCRA challenge (64 hex digits) for `amount_rials` paid to `payee`.
///
/// # Errors
/// As [`normalize_payee`].
pub fn challenge(amount_rials: u64, payee: &str) -> Result<String, CardError> {
    let payee = normalize_payee(payee)?;
    let mut hash = Sha256::new();
    hash.update(DOMAIN);
    hash.update([0u8]);
    hash.update(amount_rials.to_be_bytes());
    hash.update(payee.as_bytes());
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The OCRA computer keyed for a card's master seed.
///
/// # Errors
/// [`CardError::KeyDerivation`] in theory only.
pub fn keyed(master_seed: &SecretBytes) -> Result<Ocra, CardError> {
    let key = derive_key(master_seed, KeyPurpose::AmountBound, Algorithm::Sha256)?;
    let suite = OcraSuite::parse(SUITE).map_err(|_| CardError::KeyDerivation)?;
    Ocra::new(suite, key.expose()).map_err(|_| CardError::KeyDerivation)
}

/// The amount-bound code of time step `time_counter` (`unix seconds / 60`).
///
/// # Errors
/// As [`challenge`].
pub fn code(
    ocra: &Ocra,
    amount_rials: u64,
    payee: &str,
    time_counter: u64,
) -> Result<OtpCode, CardError> {
    let challenge = challenge(amount_rials, payee)?;
    ocra.compute(&OcraInput {
        challenge: &challenge,
        time_counter: Some(time_counter),
        ..Default::default()
    })
    .map_err(|_| CardError::InvalidPayee)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payees_normalise_across_digit_scripts() {
        assert_eq!(normalize_payee(" ۶۲۱۹-۸۶۱۰ ").unwrap(), "62198610");
        assert_eq!(normalize_payee("Digikala").unwrap(), "Digikala");
        assert_eq!(challenge(1, "۱۲۳").unwrap(), challenge(1, "123").unwrap());
        assert_ne!(challenge(1, "123").unwrap(), challenge(2, "123").unwrap());
        assert_ne!(challenge(1, "123").unwrap(), challenge(1, "124").unwrap());
        assert_eq!(challenge(1, "x").unwrap().len(), 64);
        for bad in ["", "   ", "a\nb", &"x".repeat(129)] {
            assert_eq!(
                normalize_payee(bad),
                Err(CardError::InvalidPayee),
                "{bad:?}"
            );
        }
    }
}
