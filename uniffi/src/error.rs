//! The one error type apps see: `DynpinException` in Kotlin, `DynpinError` in Swift.
//!
//! The core's errors are mapped here and nowhere else, each by one `match`
//! without a catch-all arm: a variant added to the core does not compile
//! until it is mapped on purpose.

use dynpin::activation::ActivationError;
use dynpin::card::amount::MAX_PAYEE_BYTES;
use dynpin::card::{CardError, MAX_LABEL_CHARS};
use dynpin::import::ImportError;
use dynpin::kdf::KdfError;
use dynpin::otp::OtpError;
use dynpin::text::InputError;
use dynpin::vault::{
    CardField, DeviceKeyError, PLATFORM_KEY_LEN, PasswordError, Setting, VaultError,
};

use crate::types::{signed, signed32};

/// Everything that can go wrong, with what the UI needs to react. Variants
/// and their fields are stable; new ones may be added. Numbers are signed
/// (`Int`/`Long` in Kotlin, which formats them like any other), what to act
/// on is an enum, and `reason` fields are for logs and developers, in
/// English, and never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum DynpinError {
    /// Something the user typed or the app passed is not acceptable (a code,
    /// a label, a payee, a card number, a setting).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong, for the UI to act on.
        problem: InputProblem,
        /// The limit that was not met, where there is one: the digits
        /// expected, the most characters or digits accepted.
        limit: Option<i32>,
        /// What is wrong, in English, for logs and developers.
        reason: String,
    },
    /// The scanned or pasted text is not a valid activation payload (or was mistyped).
    #[error("invalid activation payload: {reason}")]
    InvalidPayload {
        /// Mistyped or cut short (a checksum mismatch), or not a payload at all.
        mistyped: bool,
        /// What is wrong.
        reason: String,
    },
    /// The activation payload or vault file needs a newer app.
    #[error("unsupported format version {version}; please update the app")]
    UnsupportedVersion {
        /// The version found.
        version: i32,
    },
    /// The activation payload expired; the user should request a new one.
    #[error("the activation payload expired {seconds_ago} s ago")]
    ActivationExpired {
        /// Seconds since it expired, by the phone's clock.
        seconds_ago: i64,
        /// If the user received the payload just now, the phone's clock is
        /// ahead and this app-wide offset (negative) would correct it: ask
        /// the user to check the date and time, then request a new payload.
        suggested_offset_seconds: i64,
    },
    /// The phone's clock is behind the bank's; ask the user to fix date and time.
    #[error("the phone's clock is {seconds_behind} s behind")]
    ClockBehind {
        /// How far behind, at least, in seconds.
        seconds_behind: i64,
        /// The app-wide offset that would correct the codes at least that
        /// far (`set_app_time_offset`); fixing the phone's clock is better.
        suggested_offset_seconds: i64,
    },
    /// The phone's clock reads before 1970.
    #[error("the phone's clock is {seconds_before_epoch} s before 1970")]
    ClockBeforeEpoch {
        /// How far before 1970, in seconds.
        seconds_before_epoch: i64,
    },
    /// The activation code is wrong (or the payload was altered).
    #[error("the activation code is wrong")]
    WrongActivationCode,
    /// The payload or vault asks for a key derivation weaker or costlier than accepted.
    #[error("key-derivation parameters rejected: {reason}")]
    KdfParametersRejected {
        /// Too weak to be trusted, or too costly for this device.
        too_costly: bool,
        /// What is wrong.
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
        remaining_attempts: i32,
        /// Seconds before the next attempt is allowed (0: now).
        wait_seconds: i64,
    },
    /// Too many wrong passwords for now; show a countdown.
    #[error("too many wrong passwords; try again in {wait_seconds} s")]
    TryLater {
        /// Seconds to wait.
        wait_seconds: i64,
        /// Attempts left after the wait.
        remaining_attempts: i32,
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
        /// Why, for the UI to explain.
        problem: PasswordProblem,
        /// The length limit not met (characters for `TooShort`, bytes for `TooLong`).
        limit: Option<i32>,
        /// Why, in English.
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
        ceiling: i64,
    },
    /// The vault already holds the most cards it accepts.
    #[error("the vault cannot hold more than {max} cards")]
    TooManyCards {
        /// The limit.
        max: i32,
    },
    /// A card field is too long to be stored (e.g. an imported token's issuer).
    #[error("the card cannot be stored: its {field:?} is too long")]
    CardNotStorable {
        /// Which field.
        field: CardPart,
    },
    /// A new card order did not list every card exactly once.
    #[error("a new order must list every card exactly once")]
    InvalidOrder,
    /// A vault setting is out of range (auto-lock time, attempt limit).
    #[error("invalid setting: {setting:?}")]
    InvalidSetting {
        /// Which setting.
        setting: VaultSetting,
    },
    /// The backup file is not a dynpin backup, is damaged, or its password is wrong.
    #[error("the backup cannot be read: {reason}")]
    InvalidBackup {
        /// What is wrong, for the UI to act on (ask for the password again, or not).
        problem: BackupProblem,
        /// What is wrong, in English.
        reason: String,
    },
    /// Reading or writing the vault file failed; the previous state is intact.
    #[error("storage error: {reason}")]
    Storage {
        /// The device is out of space: the UI can ask the user to free some.
        disk_full: bool,
        /// The operation and the OS error kind.
        reason: String,
    },
    /// An unexpected internal failure (a bug): please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
    },
    /// Biometric unlock is already enabled: disable it (with the password)
    /// before enabling it with another key.
    #[error("biometric unlock is already enabled")]
    PlatformKeyAlreadyEnrolled,
    /// The vault file was replaced on storage by another vault, or another
    /// instance (a widget, an extension) changed the password during this
    /// call: reopen, or try again. Nothing was overwritten.
    #[error("the vault file changed on storage during this call")]
    VaultChanged,
    /// The vault file on storage is an older copy than one this app already
    /// saw (it was put back from a backup or by an attacker); it was neither
    /// used nor overwritten.
    #[error("the vault file was replaced by an older copy")]
    VaultRolledBack {
        /// The newest generation this app saw.
        seen_generation: i64,
        /// The generation found on storage.
        found_generation: i64,
    },
    /// The device key store (Android Keystore, iOS Secure Enclave) that the
    /// vault's password is bound to is missing, unavailable or refuses this
    /// vault. Not a wrong password: nothing was counted.
    #[error("device key store: {reason}")]
    DeviceKey {
        /// What is wrong, for the UI to act on.
        problem: DeviceKeyProblem,
        /// What is wrong, in English.
        reason: String,
    },
}

/// What of a card is too long to be stored, for [`DynpinError::CardNotStorable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CardPart {
    /// The card's label.
    Label,
    /// A bank card's seed.
    Seed,
    /// An imported token's secret.
    Secret,
    /// An imported token's issuer.
    Issuer,
    /// An imported token's account name.
    Account,
    /// A PIN's period.
    PinPeriod,
    /// A PIN's number of digits.
    PinDigits,
    /// The card number's reference.
    CardReference,
    /// The card as a whole.
    Card,
    /// A backup as a whole.
    Backup,
}

impl From<CardField> for CardPart {
    fn from(f: CardField) -> Self {
        match f {
            CardField::Label => CardPart::Label,
            CardField::Seed => CardPart::Seed,
            CardField::Secret => CardPart::Secret,
            CardField::Issuer => CardPart::Issuer,
            CardField::Account => CardPart::Account,
            CardField::PinPeriod => CardPart::PinPeriod,
            CardField::PinDigits => CardPart::PinDigits,
            CardField::CardReference => CardPart::CardReference,
            CardField::Card => CardPart::Card,
            CardField::Backup => CardPart::Backup,
        }
    }
}

/// Which setting was out of range, for [`DynpinError::InvalidSetting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum VaultSetting {
    /// The idle seconds before the vault locks (10 s to one day).
    AutoLock,
    /// The seconds in the background before the vault locks (0 to one day).
    BackgroundLock,
    /// The lockout's attempt limit.
    AttemptLimit,
    /// A wrapped platform key (at most 1,024 bytes).
    WrappedPlatformKey,
}

impl From<Setting> for VaultSetting {
    fn from(s: Setting) -> Self {
        match s {
            Setting::AutoLock => VaultSetting::AutoLock,
            Setting::BackgroundLock => VaultSetting::BackgroundLock,
            Setting::AttemptLimit => VaultSetting::AttemptLimit,
            Setting::WrappedPlatformKey => VaultSetting::WrappedPlatformKey,
        }
    }
}

/// What is wrong with the device key store, for [`DynpinError::DeviceKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeviceKeyProblem {
    /// The vault is bound to the device, and the app gave no device key.
    Missing,
    /// The key is gone or cannot be used now: if it is gone for good, the
    /// vault cannot be opened on this phone (reset and activate again).
    Unavailable,
    /// The key refused this vault's device secret: the file comes from
    /// another phone, or was altered.
    Rejected,
    /// The key store returned a value of the wrong size (an implementation bug).
    WrongSize,
}

/// What is wrong with an input, for [`DynpinError::InvalidInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum InputProblem {
    /// Nothing but spaces and dashes was entered.
    Empty,
    /// A character that is not a digit (ASCII, Persian or Arabic-Indic).
    NotADigit,
    /// Not the number of digits required (`limit`: the digits expected).
    WrongLength,
    /// Too many digits (`limit`: the most accepted).
    TooLong,
    /// A number larger than any accepted value.
    TooLarge,
    /// A card number without 16 digits.
    CardNumberLength,
    /// A BIN (a card number's first digits) of more than six digits (`limit`: 6).
    InvalidBin,
    /// A card number whose check digit is wrong: a typing mistake.
    CardNumberChecksum,
    /// A label that is empty, too long (`limit`: characters) or holds control characters.
    InvalidLabel,
    /// A payee that is empty, too long (`limit`: bytes) or holds control characters.
    InvalidPayee,
    /// A time correction beyond one year either way.
    TimeOffsetOutOfRange,
    /// A platform key that is not 32 bytes (`limit`: 32).
    InvalidPlatformKey,
    /// Bytes meant as text (a password) that are not UTF-8.
    NotUtf8,
    /// A wrapped platform key longer than `limit` bytes.
    WrappedKeyTooLong,
    /// A counter operation on a card that is not a counter-based token.
    NotCounterBased,
    /// An amount-bound code asked of a card that is not a bank card.
    NotABankCard,
    /// Token or PIN parameters the engine refuses (digits, period, empty
    /// secret, a seed under 160 bits, no PIN slot).
    InvalidParameters,
    /// A time or counter outside the representable range.
    OutOfRange,
}

/// Why a new password was refused, for [`DynpinError::WeakPassword`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PasswordProblem {
    /// Fewer characters than the minimum (`limit`).
    TooShort,
    /// More bytes than the maximum (`limit`).
    TooLong,
    /// A line break, tab or other control character.
    ControlCharacter,
    /// One of the most common PINs or passwords, or a trivial pattern.
    TooCommon,
}

/// What is wrong with a backup, for [`DynpinError::InvalidBackup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BackupProblem {
    /// The file is not a dynpin backup.
    NotABackup,
    /// The backup is damaged (cut short, altered by accident).
    Damaged,
    /// The backup was written by a newer app.
    NewerApp,
    /// The backup password is wrong (or the backup was altered on purpose).
    WrongPassword,
}

fn backup(problem: BackupProblem, e: &VaultError) -> DynpinError {
    DynpinError::InvalidBackup {
        problem,
        reason: e.to_string(),
    }
}

fn limit(n: usize) -> Option<i32> {
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

fn invalid(problem: InputProblem, limit: Option<i32>, e: &impl std::fmt::Display) -> DynpinError {
    DynpinError::InvalidInput {
        problem,
        limit,
        reason: e.to_string(),
    }
}

fn internal(e: &impl std::fmt::Display) -> DynpinError {
    DynpinError::Internal {
        reason: e.to_string(),
    }
}

impl From<InputError> for DynpinError {
    fn from(e: InputError) -> Self {
        let (problem, max) = match e {
            InputError::Empty => (InputProblem::Empty, None),
            InputError::NotADigit { .. } => (InputProblem::NotADigit, None),
            InputError::WrongLength { expected, .. } => {
                (InputProblem::WrongLength, limit(expected))
            }
            InputError::TooLong { max } => (InputProblem::TooLong, limit(max)),
            InputError::Overflow => (InputProblem::TooLarge, None),
        };
        invalid(problem, max, &e)
    }
}

impl From<OtpError> for DynpinError {
    fn from(e: OtpError) -> Self {
        match e {
            OtpError::TimeBeforeEpoch {
                seconds_before_epoch,
            } => DynpinError::ClockBeforeEpoch {
                seconds_before_epoch: signed(seconds_before_epoch),
            },
            OtpError::DigitsOutOfRange { .. }
            | OtpError::PeriodOutOfRange { .. }
            | OtpError::EmptySecret => invalid(InputProblem::InvalidParameters, None, &e),
            OtpError::TimeBeforeT0 | OtpError::Overflow => {
                invalid(InputProblem::OutOfRange, None, &e)
            }
        }
    }
}

impl From<KdfError> for DynpinError {
    fn from(e: KdfError) -> Self {
        match e {
            KdfError::TooWeak | KdfError::TooCostly | KdfError::OutOfMemory => {
                DynpinError::KdfParametersRejected {
                    too_costly: e != KdfError::TooWeak,
                    reason: e.to_string(),
                }
            }
            KdfError::Failed => internal(&e),
        }
    }
}

impl From<PasswordError> for DynpinError {
    fn from(e: PasswordError) -> Self {
        let (problem, max) = match e {
            PasswordError::TooShort { min } => (PasswordProblem::TooShort, limit(min)),
            PasswordError::TooLong { max } => (PasswordProblem::TooLong, limit(max)),
            PasswordError::ControlCharacter => (PasswordProblem::ControlCharacter, None),
            PasswordError::TooCommon => (PasswordProblem::TooCommon, None),
        };
        DynpinError::WeakPassword {
            problem,
            limit: max,
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
            CardError::AmountAboveCeiling { ceiling } => DynpinError::AmountAboveCeiling {
                ceiling: signed(ceiling),
            },
            CardError::KeyDerivation => internal(&e),
            CardError::CardNumberLength => invalid(InputProblem::CardNumberLength, limit(16), &e),
            CardError::InvalidBin => invalid(InputProblem::InvalidBin, limit(6), &e),
            CardError::CardNumberChecksum => invalid(InputProblem::CardNumberChecksum, None, &e),
            CardError::InvalidLabel => {
                invalid(InputProblem::InvalidLabel, limit(MAX_LABEL_CHARS), &e)
            }
            CardError::InvalidPayee => {
                invalid(InputProblem::InvalidPayee, limit(MAX_PAYEE_BYTES), &e)
            }
            CardError::TimeOffsetOutOfRange => {
                invalid(InputProblem::TimeOffsetOutOfRange, None, &e)
            }
            CardError::NotCounterBased => invalid(InputProblem::NotCounterBased, None, &e),
            CardError::NotABankCard => invalid(InputProblem::NotABankCard, None, &e),
            CardError::SeedTooShort | CardError::NoPinSlots => {
                invalid(InputProblem::InvalidParameters, None, &e)
            }
        }
    }
}

impl From<ActivationError> for DynpinError {
    fn from(e: ActivationError) -> Self {
        match e {
            ActivationError::Malformed(_) | ActivationError::BadChecksum => {
                DynpinError::InvalidPayload {
                    mistyped: e == ActivationError::BadChecksum,
                    reason: e.to_string(),
                }
            }
            ActivationError::UnsupportedVersion { version } => DynpinError::UnsupportedVersion {
                version: i32::from(version),
            },
            ActivationError::Expired {
                seconds_ago,
                issued_seconds_ago,
            } => DynpinError::ActivationExpired {
                seconds_ago: signed(seconds_ago),
                suggested_offset_seconds: signed(issued_seconds_ago).saturating_neg(),
            },
            ActivationError::ClockBehind { seconds_behind } => DynpinError::ClockBehind {
                seconds_behind: signed(seconds_behind),
                suggested_offset_seconds: signed(seconds_behind),
            },
            ActivationError::WrongActivationCode => DynpinError::WrongActivationCode,
            ActivationError::InvalidActivationCode(e) => e.into(),
            ActivationError::KdfTooWeak | ActivationError::KdfTooCostly => {
                DynpinError::KdfParametersRejected {
                    too_costly: e == ActivationError::KdfTooCostly,
                    reason: e.to_string(),
                }
            }
            ActivationError::Card(e) => e.into(),
            ActivationError::Randomness(_) => internal(&e),
        }
    }
}

impl From<ImportError> for DynpinError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::NotExportable => DynpinError::NotExportable,
            ImportError::Card(e) => e.into(),
            ImportError::Randomness(_) => internal(&e),
            ImportError::TooLong { .. }
            | ImportError::NotOtpauth
            | ImportError::UnsupportedType
            | ImportError::MalformedUri
            | ImportError::InvalidPercentEncoding { .. }
            | ImportError::InvalidUtf8 { .. }
            | ImportError::ControlCharacter { .. }
            | ImportError::EmptyAccount
            | ImportError::EmptyIssuer
            | ImportError::InvalidLabel
            | ImportError::IssuerMismatch
            | ImportError::MissingSecret
            | ImportError::EmptySecret
            | ImportError::InvalidSecret
            | ImportError::SecretTooShort { .. }
            | ImportError::UnknownAlgorithm
            | ImportError::UnsupportedAlgorithm { .. }
            | ImportError::InvalidNumber { .. }
            | ImportError::DigitsOutOfRange { .. }
            | ImportError::PeriodOutOfRange { .. }
            | ImportError::MissingCounter
            | ImportError::CounterOutOfRange
            | ImportError::CounterNotAllowed
            | ImportError::DuplicateParameter { .. }
            | ImportError::NotMigration
            | ImportError::MissingData
            | ImportError::InvalidBase64
            | ImportError::InvalidPayload
            | ImportError::NoEntries
            | ImportError::TooManyEntries { .. }
            | ImportError::Entry { .. }
            | ImportError::Slot { .. } => DynpinError::InvalidToken {
                reason: e.to_string(),
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
            VaultError::UnsupportedVersion { version } => DynpinError::UnsupportedVersion {
                version: i32::from(version),
            },
            VaultError::WrongPassword {
                remaining_attempts,
                wait_seconds,
            } => DynpinError::WrongPassword {
                remaining_attempts: signed32(remaining_attempts),
                wait_seconds: signed(wait_seconds),
            },
            VaultError::TryLater {
                wait_seconds,
                remaining_attempts,
            } => DynpinError::TryLater {
                wait_seconds: signed(wait_seconds),
                remaining_attempts: signed32(remaining_attempts),
            },
            VaultError::Wiped => DynpinError::VaultWiped,
            VaultError::LockedForGood => DynpinError::LockedForGood,
            VaultError::PlatformKeyInvalidated => DynpinError::PlatformKeyInvalidated,
            VaultError::NoPlatformKey => DynpinError::NoPlatformKey,
            VaultError::PlatformKeyEnrolled => DynpinError::PlatformKeyAlreadyEnrolled,
            VaultError::InvalidPlatformKey => invalid(
                InputProblem::InvalidPlatformKey,
                limit(PLATFORM_KEY_LEN),
                &e,
            ),
            VaultError::Locked => DynpinError::VaultLocked,
            VaultError::Password(p) => p.into(),
            VaultError::Kdf(k) => k.into(),
            VaultError::InvalidSetting(setting) => DynpinError::InvalidSetting {
                setting: setting.into(),
            },
            VaultError::NoSuchCard(id) => DynpinError::UnknownCard {
                card_id: id.to_string(),
            },
            VaultError::CardAlreadyPresent { existing } => DynpinError::CardAlreadyPresent {
                card_id: existing.to_string(),
            },
            VaultError::TooManyCards { max } => DynpinError::TooManyCards {
                max: i32::try_from(max).unwrap_or(i32::MAX),
            },
            VaultError::Unstorable(field) => DynpinError::CardNotStorable {
                field: field.into(),
            },
            // Inputs are checked before they reach a save: this is a bug.
            VaultError::UnreadableContents(_) => internal(&e),
            VaultError::Card(c) => c.into(),
            VaultError::InvalidOrder => DynpinError::InvalidOrder,
            VaultError::NothingToExport => DynpinError::NotExportable,
            VaultError::NotABackup => backup(BackupProblem::NotABackup, &e),
            VaultError::CorruptBackup(_) => backup(BackupProblem::Damaged, &e),
            VaultError::UnsupportedBackupVersion { .. } => backup(BackupProblem::NewerApp, &e),
            VaultError::WrongBackupPassword => backup(BackupProblem::WrongPassword, &e),
            VaultError::Randomness(_) => internal(&e),
            VaultError::Storage { kind, .. } => DynpinError::Storage {
                disk_full: kind == std::io::ErrorKind::StorageFull,
                reason: e.to_string(),
            },
            VaultError::VerifyFailed => DynpinError::Storage {
                disk_full: false,
                reason: e.to_string(),
            },
            VaultError::Conflict => DynpinError::VaultChanged,
            VaultError::RolledBack { seen, found } => DynpinError::VaultRolledBack {
                seen_generation: signed(seen),
                found_generation: signed(found),
            },
            VaultError::DeviceKeyMissing => DynpinError::DeviceKey {
                problem: DeviceKeyProblem::Missing,
                reason: e.to_string(),
            },
            VaultError::DeviceKey(d) => DynpinError::DeviceKey {
                problem: match d {
                    DeviceKeyError::Unavailable => DeviceKeyProblem::Unavailable,
                    DeviceKeyError::Rejected => DeviceKeyProblem::Rejected,
                    DeviceKeyError::WrongSize => DeviceKeyProblem::WrongSize,
                },
                reason: e.to_string(),
            },
        }
    }
}
