//! The vault's errors. None of them carries a password, a key or a seed.

use core::fmt;
use std::io;

use crate::card::{CardError, CardId};
use crate::kdf::KdfError;
use crate::secret::RandomnessUnavailable;

use super::device::DeviceKeyError;
use super::password::PasswordError;

/// Why a vault operation failed.
///
/// The unlock errors carry what a lock screen shows: the attempts left before
/// the vault is wiped (or locked for good) and the seconds to wait before the
/// next attempt is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// No vault file exists yet (or it was wiped): create one.
    #[error("no vault exists yet")]
    NotFound,
    /// `create` found a vault file already in place; it was left untouched.
    #[error("a vault already exists here; it was not replaced")]
    AlreadyExists,
    /// The file does not start with the vault's magic bytes.
    #[error("this file is not a dynpin vault")]
    NotAVault,
    /// The file was written by a newer app.
    #[error("vault format version {version} is not supported; please update the app")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The file is damaged (checksum mismatch, truncated, impossible field);
    /// names the part that is wrong. A damaged file is never overwritten.
    #[error("the vault file is damaged ({0})")]
    Corrupt(&'static str),
    /// The key opened a slot but the header or body does not authenticate:
    /// the file was altered on purpose.
    #[error("the vault file was altered and cannot be trusted")]
    Tampered,
    /// The password is wrong. The failure was counted.
    #[error("wrong password; {remaining_attempts} attempts left")]
    WrongPassword {
        /// Attempts left before the vault is wiped or locked for good.
        remaining_attempts: u32,
        /// Seconds before the next attempt is accepted (0: right away).
        wait_seconds: u64,
    },
    /// Too many recent failures: this attempt was refused without being
    /// tried or counted. Wait, then try again.
    #[error(
        "too many wrong passwords; try again in {wait_seconds} s ({remaining_attempts} attempts left)"
    )]
    TryLater {
        /// Seconds before the next attempt is accepted.
        wait_seconds: u64,
        /// Attempts left before the vault is wiped or locked for good.
        remaining_attempts: u32,
    },
    /// The failure limit was reached and the vault was erased (the lockout
    /// policy's default). The cards can be activated again.
    #[error("too many wrong passwords: the vault was erased; please activate your cards again")]
    Wiped,
    /// The failure limit was reached and the vault refuses every unlock.
    #[error("too many wrong passwords: the vault is locked for good")]
    LockedForGood,
    /// The platform key no longer opens its slot (for example a fingerprint
    /// was added, which invalidates the Keystore/Keychain key). Unlock with
    /// the password and enrol the platform key again.
    #[error("biometric unlock is no longer valid; unlock with your password and enable it again")]
    PlatformKeyInvalidated,
    /// A platform key is enrolled already: remove it (with the password)
    /// before enrolling another.
    #[error("biometric unlock is already enabled; disable it before enabling it again")]
    PlatformKeyEnrolled,
    /// No platform key is enrolled in this vault.
    #[error("biometric unlock is not enabled for this vault")]
    NoPlatformKey,
    /// A platform key must be exactly 32 bytes.
    #[error("a platform key must be 32 bytes")]
    InvalidPlatformKey,
    /// The operation needs an unlocked vault (it may have locked itself after
    /// the idle time).
    #[error("the vault is locked")]
    Locked,
    /// A new password was refused by the password rules.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Key-derivation parameters outside the accepted range (stored or chosen).
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// A setting is out of range; names it.
    #[error("invalid setting: {0}")]
    InvalidSetting(Setting),
    /// No card has this id.
    #[error("no card with id {0}")]
    NoSuchCard(CardId),
    /// A card with the same number (or the same id) is already in the vault.
    #[error("this card is already in the vault")]
    CardAlreadyPresent {
        /// The card already present.
        existing: CardId,
    },
    /// The vault already holds the most cards it accepts.
    #[error("the vault cannot hold more than {max} cards")]
    TooManyCards {
        /// The limit.
        max: usize,
    },
    /// A card field is too long to be stored; names it.
    #[error("the card cannot be stored: its {0} is too long")]
    Unstorable(CardField),
    /// The new contents would not read back (a card that encodes but does not
    /// decode); names the part. Nothing was saved: the vault is as it was.
    #[error("the change was not saved: the vault's {0} would not read back")]
    UnreadableContents(&'static str),
    /// A card could not be changed or rebuilt.
    #[error(transparent)]
    Card(#[from] CardError),
    /// A reorder did not list every card exactly once.
    #[error("a new order must list every card exactly once")]
    InvalidOrder,
    /// A backup was asked for, but no card may be exported.
    #[error("no card in the vault may be exported")]
    NothingToExport,
    /// The data is not a dynpin backup.
    #[error("this is not a dynpin backup")]
    NotABackup,
    /// The backup is damaged; names the part that is wrong.
    #[error("the backup is damaged ({0})")]
    CorruptBackup(&'static str),
    /// The backup was written by a newer app.
    #[error("backup version {version} is not supported; please update the app")]
    UnsupportedBackupVersion {
        /// The version byte found.
        version: u8,
    },
    /// The backup password is wrong (or the backup was altered).
    #[error("the backup password is wrong")]
    WrongBackupPassword,
    /// The storage failed; the previous vault file is intact.
    #[error("could not {op} the vault file ({kind})")]
    Storage {
        /// The step that failed.
        op: StorageOp,
        /// The operating system's error kind (e.g. `StorageFull`).
        kind: io::ErrorKind,
    },
    /// A file read back after writing differs from what was written (a
    /// short or lost write); the previous vault file is intact.
    #[error("the vault file did not read back as written; the previous version is intact")]
    VerifyFailed,
    /// The file on storage is no longer the vault that was opened (replaced
    /// or damaged since): it was not overwritten.
    #[error("the vault file changed on storage since it was opened; it was not overwritten")]
    Conflict,
    /// The file on storage is an older generation than one this instance
    /// already saw: an old copy was put back. It was not used or overwritten.
    #[error("the vault file was replaced by an older copy (generation {found}, seen {seen})")]
    RolledBack {
        /// The newest generation this instance saw.
        seen: u64,
        /// The generation found on storage.
        found: u64,
    },
    /// The password slot is bound to this device, and no device key was
    /// given ([`Vault::set_device_key`](super::Vault::set_device_key)).
    /// Nothing was counted.
    #[error("this vault is bound to the device's key store, which was not provided")]
    DeviceKeyMissing,
    /// The device key store could not unwrap or wrap the device secret.
    /// Nothing was counted.
    #[error(transparent)]
    DeviceKey(#[from] DeviceKeyError),
    /// The operating system's random generator failed.
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
}

/// A step of the storage protocol, as named in [`VaultError::Storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageOp {
    /// Reading a file.
    Read,
    /// Writing the temporary file.
    Write,
    /// Flushing a file to stable storage (fsync).
    Sync,
    /// Renaming a file over another.
    Rename,
    /// Flushing the directory (fsync of the directory).
    SyncDir,
    /// Removing a file.
    Remove,
    /// Taking the lock that serialises saves between instances.
    Lock,
}

impl StorageOp {
    /// A lower-case verb: `read`, `write`, `sync`, `rename`, `sync the directory of`, `remove`, `lock`.
    pub fn verb(self) -> &'static str {
        match self {
            StorageOp::Read => "read",
            StorageOp::Write => "write",
            StorageOp::Sync => "sync",
            StorageOp::Rename => "rename",
            StorageOp::SyncDir => "sync the directory of",
            StorageOp::Remove => "remove",
            StorageOp::Lock => "lock",
        }
    }
}

impl fmt::Display for StorageOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}

impl VaultError {
    /// The storage error for `op` failing with `error`.
    pub(crate) fn storage(op: StorageOp, error: &io::Error) -> Self {
        VaultError::Storage {
            op,
            kind: error.kind(),
        }
    }
}

/// The vault's byte reader (file, contents, backups): every error is
/// [`VaultError::Corrupt`].
pub(crate) type Reader<'a> = crate::bytes::Reader<'a, VaultError>;

impl crate::bytes::FormatError for VaultError {
    fn truncated() -> Self {
        VaultError::Corrupt("truncated")
    }
    fn bad_length() -> Self {
        VaultError::Corrupt("length")
    }
    fn trailing(what: &'static str) -> Self {
        VaultError::Corrupt(what)
    }
}

/// A vault setting, for [`VaultError::InvalidSetting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// The idle seconds before the vault locks (10 s – 1 day).
    AutoLock,
    /// The seconds in the background before the vault locks (at most 1 day).
    BackgroundLock,
    /// The failure limit of the lockout policy.
    AttemptLimit,
    /// A wrapped platform key (at most 1,024 bytes).
    WrappedPlatformKey,
}

impl core::fmt::Display for Setting {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Setting::AutoLock => "auto-lock seconds (10 s to one day)",
            Setting::BackgroundLock => "background lock seconds (at most one day)",
            Setting::AttemptLimit => "lockout attempt limit",
            Setting::WrappedPlatformKey => "wrapped platform key (at most 1,024 bytes)",
        })
    }
}

/// What of a card could not be stored, for [`VaultError::Unstorable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardField {
    /// The user's name for the card.
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
    /// The card number's reference (BIN and last four).
    CardReference,
    /// The card as a whole.
    Card,
    /// A backup as a whole.
    Backup,
}

impl core::fmt::Display for CardField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CardField::Label => "label",
            CardField::Seed => "seed",
            CardField::Secret => "secret",
            CardField::Issuer => "issuer",
            CardField::Account => "account",
            CardField::PinPeriod => "PIN period",
            CardField::PinDigits => "PIN digits",
            CardField::CardReference => "card reference",
            CardField::Card => "card",
            CardField::Backup => "backup",
        })
    }
}
