//! The crate-wide error: one enum whose variants are each module's own error.

use crate::activation::ActivationError;
use crate::card::CardError;
use crate::import::ImportError;
#[cfg(feature = "issuer")]
use crate::issuer::IssuerError;
use crate::kdf::KdfError;
use crate::otp::OtpError;
use crate::secret::RandomnessUnavailable;
use crate::text::InputError;
use crate::vault::VaultError;

/// Any error dynpin returns. Match on the variant for the domain, then on the
/// inner error for the detail. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// OTP parameters or time.
    #[error(transparent)]
    Otp(#[from] OtpError),
    /// Typed input (codes, numbers).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Cards and their PINs.
    #[error(transparent)]
    Card(#[from] CardError),
    /// Activation payloads and codes.
    #[error(transparent)]
    Activation(#[from] ActivationError),
    /// Standard tokens: `otpauth://` and Google Authenticator exports.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Password-based key derivation.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// The bank side.
    #[cfg(feature = "issuer")]
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    /// The operating system's random number generator.
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
    /// The card vault.
    #[error(transparent)]
    Vault(#[from] VaultError),
}
