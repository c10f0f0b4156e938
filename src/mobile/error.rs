//! The one error type apps see: `DynpinException` in Kotlin, `DynpinError` in Swift.

use crate::activation::ActivationError;
use crate::card::CardError;
use crate::import::ImportError;
use crate::kdf::KdfError;
use crate::otp::OtpError;
use crate::text::InputError;
use crate::vault::VaultError;

/// Everything that can go wrong, with what the UI needs to react. Variants
/// and their fields are stable; new ones may be added. `reason` fields are
/// for logs and developers, in English, and never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum DynpinError {
    /// Something the user typed is not acceptable (a code, a label, a payee, a card number).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// The scanned or pasted text is not a valid activation payload (or was mistyped).
    #[error("invalid activation payload: {reason}")]
    InvalidPayload {
        /// What is wrong.
        reason: String,
    },
    /// The activation payload or vault file needs a newer app.
    #[error("unsupported format version {version}; please update the app")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The activation payload expired; the user should request a new one.
    #[error("the activation payload expired {seconds_ago} s ago")]
    ActivationExpired {
        /// Seconds since it expired.
        seconds_ago: u64,
    },
    /// The phone's clock is behind the bank's; ask the user to fix date and time.
    #[error("the phone's clock is {seconds_behind} s behind")]
    ClockBehind {
        /// How far behind, in seconds.
        seconds_behind: u64,
    },
    /// The phone's clock reads before 1970.
    #[error("the phone's clock is {seconds_before_epoch} s before 1970")]
    ClockBeforeEpoch {
        /// How far before 1970, in seconds.
        seconds_before_epoch: u64,
    },
    /// The activation code is wrong (or the payload was altered).
    #[error("the activation code is wrong")]
    WrongActivationCode,
    /// The payload or vault asks for a key derivation weaker or costlier than accepted.
    #[error("key-derivation parameters rejected: {reason}")]
    KdfParametersRejected {
        /// Too weak or too costly.
        reason: String,
    },
    /// The card is already in the app; activate again with `replace_existing = true` to replace it.
    #[error("this card is already in the app")]
    CardAlreadyPresent {
        /// The id of the card that is there.
        card_id: String,
    },
    /// An `otpauth://` URI or Google Authenticator export was rejected.
    #[error("invalid token: {reason}")]
    InvalidToken {
        /// What is wrong.
        reason: String,
    },
    /// The card's secret may not leave the app (bank cards, unless the bank allows it).
    #[error("this card cannot be exported")]
    NotExportable,
    /// No vault exists in the directory yet: create one.
    #[error("no vault exists yet")]
    NoVault,
    /// A vault already exists in the directory: open it instead.
    #[error("a vault already exists here")]
    VaultExists,
    /// The vault file is damaged or was altered; it was not overwritten.
    #[error("the vault file cannot be read: {reason}")]
    VaultCorrupt {
        /// What was found.
        reason: String,
    },
    /// Wrong app password.
    #[error("wrong password; {remaining_attempts} attempts left")]
    WrongPassword {
        /// Attempts left before the vault is wiped or locked for good.
        remaining_attempts: u32,
        /// Seconds before the next attempt is allowed (0: now).
        wait_seconds: u64,
    },
    /// Too many wrong passwords for now; show a countdown.
    #[error("too many wrong passwords; try again in {wait_seconds} s")]
    TryLater {
        /// Seconds to wait.
        wait_seconds: u64,
        /// Attempts left after the wait.
        remaining_attempts: u32,
    },
    /// The attempt limit was reached and the vault was erased; cards must be activated again.
    #[error("the vault was erased after too many wrong passwords")]
    VaultWiped,
    /// The attempt limit was reached and the vault is locked for good.
    #[error("the vault is locked for good after too many wrong passwords")]
    LockedForGood,
    /// The biometric key no longer opens the vault (e.g. a new fingerprint was
    /// enrolled): unlock with the password and enable biometrics again.
    #[error("biometric unlock is no longer valid; use the password and enable it again")]
    PlatformKeyInvalidated,
    /// Biometric unlock is not enabled.
    #[error("biometric unlock is not enabled")]
    NoPlatformKey,
    /// The new password is too short, too common or otherwise refused.
    #[error("password refused: {reason}")]
    WeakPassword {
        /// Why.
        reason: String,
    },
    /// The vault is locked (or auto-locked after idle time): unlock it first.
    #[error("the vault is locked")]
    VaultLocked,
    /// No card with this id.
    #[error("no card with id {card_id}")]
    UnknownCard {
        /// The id asked for.
        card_id: String,
    },
    /// The card has no PIN of this kind.
    #[error("this card has no such PIN")]
    NoSuchPin,
    /// The amount is above the ceiling the user set for this card.
    #[error("the amount is above this card's ceiling of {ceiling} rials")]
    AmountAboveCeiling {
        /// The ceiling in rials.
        ceiling: u64,
    },
    /// The backup file is not a dynpin backup, is damaged, or its password is wrong.
    #[error("the backup cannot be read: {reason}")]
    InvalidBackup {
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the vault file failed; the previous state is intact.
    #[error("storage error: {reason}")]
    Storage {
        /// The operation and the OS error kind.
        reason: String,
    },
    /// An unexpected internal failure (a bug): please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
    },
}

fn invalid(e: impl std::fmt::Display) -> DynpinError {
    DynpinError::InvalidInput {
        reason: e.to_string(),
    }
}

impl From<InputError> for DynpinError {
    fn from(e: InputError) -> Self {
        invalid(e)
    }
}

impl From<OtpError> for DynpinError {
    fn from(e: OtpError) -> Self {
        match e {
            OtpError::TimeBeforeEpoch {
                seconds_before_epoch,
            } => DynpinError::ClockBeforeEpoch {
                seconds_before_epoch,
            },
            other => invalid(other),
        }
    }
}

impl From<KdfError> for DynpinError {
    fn from(e: KdfError) -> Self {
        DynpinError::KdfParametersRejected {
            reason: e.to_string(),
        }
    }
}

impl From<CardError> for DynpinError {
    fn from(e: CardError) -> Self {
        match e {
            CardError::Otp(e) => e.into(),
            CardError::Input(e) => e.into(),
            CardError::NoSuchPin(_) => DynpinError::NoSuchPin,
            CardError::AmountAboveCeiling { ceiling } => {
                DynpinError::AmountAboveCeiling { ceiling }
            }
            other @ (CardError::Randomness(_) | CardError::KeyDerivation) => {
                DynpinError::Internal {
                    reason: other.to_string(),
                }
            }
            other => invalid(other),
        }
    }
}

impl From<ActivationError> for DynpinError {
    fn from(e: ActivationError) -> Self {
        match e {
            ActivationError::Malformed(_) | ActivationError::BadChecksum => {
                DynpinError::InvalidPayload {
                    reason: e.to_string(),
                }
            }
            ActivationError::UnsupportedVersion { version } => {
                DynpinError::UnsupportedVersion { version }
            }
            ActivationError::Expired { seconds_ago } => {
                DynpinError::ActivationExpired { seconds_ago }
            }
            ActivationError::ClockBehind { seconds_behind } => {
                DynpinError::ClockBehind { seconds_behind }
            }
            ActivationError::WrongActivationCode => DynpinError::WrongActivationCode,
            ActivationError::InvalidActivationCode(e) => e.into(),
            ActivationError::KdfTooWeak | ActivationError::KdfTooCostly => {
                DynpinError::KdfParametersRejected {
                    reason: e.to_string(),
                }
            }
            ActivationError::CardAlreadyPresent { existing } => DynpinError::CardAlreadyPresent {
                card_id: existing.to_string(),
            },
            ActivationError::Card(e) => e.into(),
        }
    }
}

impl From<ImportError> for DynpinError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::NotExportable => DynpinError::NotExportable,
            ImportError::Card(e) => e.into(),
            other => DynpinError::InvalidToken {
                reason: other.to_string(),
            },
        }
    }
}

impl From<VaultError> for DynpinError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::NotFound => DynpinError::NoVault,
            VaultError::AlreadyExists => DynpinError::VaultExists,
            VaultError::NotAVault | VaultError::Corrupt(_) | VaultError::Tampered => {
                DynpinError::VaultCorrupt {
                    reason: e.to_string(),
                }
            }
            VaultError::UnsupportedVersion { version } => {
                DynpinError::UnsupportedVersion { version }
            }
            VaultError::WrongPassword {
                remaining_attempts,
                wait_seconds,
            } => DynpinError::WrongPassword {
                remaining_attempts,
                wait_seconds,
            },
            VaultError::TryLater {
                wait_seconds,
                remaining_attempts,
            } => DynpinError::TryLater {
                wait_seconds,
                remaining_attempts,
            },
            VaultError::Wiped => DynpinError::VaultWiped,
            VaultError::LockedForGood => DynpinError::LockedForGood,
            VaultError::PlatformKeyInvalidated => DynpinError::PlatformKeyInvalidated,
            VaultError::NoPlatformKey => DynpinError::NoPlatformKey,
            VaultError::InvalidPlatformKey => invalid(e),
            VaultError::Locked => DynpinError::VaultLocked,
            VaultError::Password(p) => DynpinError::WeakPassword {
                reason: p.to_string(),
            },
            VaultError::Kdf(k) => k.into(),
            VaultError::NoSuchCard(id) => DynpinError::UnknownCard {
                card_id: id.to_string(),
            },
            VaultError::CardAlreadyPresent { existing } => DynpinError::CardAlreadyPresent {
                card_id: existing.to_string(),
            },
            VaultError::Card(c) => c.into(),
            VaultError::NothingToExport => DynpinError::NotExportable,
            VaultError::NotABackup
            | VaultError::CorruptBackup(_)
            | VaultError::UnsupportedBackupVersion { .. }
            | VaultError::WrongBackupPassword => DynpinError::InvalidBackup {
                reason: e.to_string(),
            },
            VaultError::Randomness(_) => DynpinError::Internal {
                reason: e.to_string(),
            },
            VaultError::Storage { .. } | VaultError::VerifyFailed | VaultError::Conflict => {
                DynpinError::Storage {
                    reason: e.to_string(),
                }
            }
            other => invalid(other),
        }
    }
}
