//! Per-PIN keys derived from a card's master seed (HKDF-SHA-256, RFC 5869).
//!
//! One activation delivers one master seed; each PIN slot gets its own key so
//! that a first-PIN code reveals nothing about second-PIN codes:
//!
//! ```text
//! key = HKDF-SHA-256(salt = none, IKM = master seed,
//!                    info = "dynpin/v1/<purpose>/<ALGORITHM>", L = hash length)
//! ```
//!
//! `<purpose>` is `first-pin`, `second-pin`, `activation-confirmation` or `amount-bound`; `<ALGORITHM>` is `SHA1`,
//! `SHA256` or `SHA512`, and L is 20, 32 or 64 bytes to match (RFC 6238's key
//! sizes). Binding the algorithm into `info` keeps keys for different hashes
//! unrelated (HKDF outputs of different L with equal info share a prefix).
//! `docs/card-derivation.md` has test vectors.

use zeroize::Zeroizing;

use super::CardError;
use crate::otp::Algorithm;
use crate::pin::PinKind;
use crate::secret::SecretBytes;

/// What a derived key is for. Each purpose has its own HKDF `info` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPurpose {
    /// The key of a card's first PIN (ATM/POS).
    FirstPin,
    /// The key of a card's second PIN (online payments).
    SecondPin,
    /// The key of the one-time confirmation code a phone shows after activation.
    ActivationConfirmation,
    /// The key of the amount-bound second PIN (OCRA over amount and payee).
    AmountBound,
}

impl KeyPurpose {
    /// The purpose's label inside the HKDF `info` string.
    pub(crate) fn label(self) -> &'static str {
        match self {
            KeyPurpose::FirstPin => "first-pin",
            KeyPurpose::SecondPin => "second-pin",
            KeyPurpose::ActivationConfirmation => "activation-confirmation",
            KeyPurpose::AmountBound => "amount-bound",
        }
    }

    /// The purpose that backs a PIN slot; tokens have no derived key.
    pub(crate) fn for_pin(kind: PinKind) -> Option<Self> {
        match kind {
            PinKind::First => Some(KeyPurpose::FirstPin),
            PinKind::Second => Some(KeyPurpose::SecondPin),
            PinKind::Token | PinKind::AmountBound => None,
        }
    }
}

/// The HKDF `info` string for `purpose` and `algorithm`, e.g. `dynpin/v1/second-pin/SHA256`.
pub(crate) fn info(purpose: KeyPurpose, algorithm: Algorithm) -> String {
    format!("dynpin/v1/{}/{}", purpose.label(), algorithm.name())
}

/// Derives the key for `purpose` with `algorithm` from `master_seed`: as
/// long as the hash's output (docs/card-derivation.md has the vectors).
///
/// # Errors
/// [`CardError::KeyDerivation`] if HKDF refuses the output length; with L ≤ 64
/// against HKDF-SHA-256's limit of 8160 bytes this does not happen.
pub(crate) fn derive_key(
    master_seed: &SecretBytes,
    purpose: KeyPurpose,
    algorithm: Algorithm,
) -> Result<SecretBytes, CardError> {
    let mut okm = Zeroizing::new(vec![0u8; algorithm.output_len()]);
    crate::secret::hkdf_sha256(
        None,
        master_seed.expose(),
        info(purpose, algorithm).as_bytes(),
        &mut okm,
    )
    .map_err(|()| CardError::KeyDerivation)?;
    Ok(SecretBytes::from(okm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn labels_are_distinct_and_stable() {
        assert_eq!(
            info(KeyPurpose::FirstPin, Algorithm::Sha1),
            "dynpin/v1/first-pin/SHA1"
        );
        assert_eq!(
            info(KeyPurpose::SecondPin, Algorithm::Sha512),
            "dynpin/v1/second-pin/SHA512"
        );
    }

    #[test]
    fn keys_differ_by_purpose_and_algorithm() {
        let seed = SecretBytes::from((0u8..20).collect::<Vec<_>>());
        let first = derive_key(&seed, KeyPurpose::FirstPin, Algorithm::Sha256).unwrap();
        let second = derive_key(&seed, KeyPurpose::SecondPin, Algorithm::Sha256).unwrap();
        let second512 = derive_key(&seed, KeyPurpose::SecondPin, Algorithm::Sha512).unwrap();
        assert_ne!(first, second);
        assert_ne!(second.expose(), &second512.expose()[..32]);
    }

    /// The vectors published in docs/card-derivation.md.
    #[test]
    fn documented_vectors() {
        let seed = SecretBytes::from((0u8..20).collect::<Vec<_>>());
        let doc = include_str!("../../docs/card-derivation.md");
        for purpose in [KeyPurpose::FirstPin, KeyPurpose::SecondPin] {
            for algorithm in Algorithm::ALL {
                let key = hex(derive_key(&seed, purpose, algorithm).unwrap().expose());
                let line = format!("| `{}` | `{key}` |", info(purpose, algorithm));
                assert!(doc.contains(&line), "docs/card-derivation.md lacks: {line}");
            }
        }
    }
}
