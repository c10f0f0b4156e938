//! The card vault: every card, encrypted, in one crash-safe file behind the
//! app password and (optionally) a biometric platform key.
//!
//! - The contents (cards, seeds, labels, order, settings) are encrypted with
//!   XChaCha20-Poly1305 under a random 256-bit **master key**, with a fresh
//!   random nonce on every save.
//! - The master key is wrapped in **slots**: a password slot (Argon2id,
//!   parameters stored, refused below [`KdfParams::MINIMUM`]) and an optional
//!   platform-key slot (HKDF-SHA-256 of a 32-byte key from the Android
//!   Keystore or iOS Keychain).
//! - The header (version, KDF parameters, lockout policy, slots) is the body's
//!   associated data; a keyless SHA-256 trailer catches accidental damage
//!   before any key is derived, so a damaged file is [`VaultError::Corrupt`],
//!   never a wrong password.
//! - Failed password attempts are counted in a keyless region of the file:
//!   after five, each attempt waits (30 s, doubling); at the policy's limit
//!   (default 10) the vault is wiped or locked for good.
//! - Saves go through a [`Storage`] by write-temp, fsync, read-back, rename,
//!   fsync-dir (see [`storage`]); a crash leaves the old or the
//!   new vault.
//! - Unlocked, the vault locks itself after the configured idle time on the
//!   injected clock; [`Vault::lock`] drops and wipes every secret.
//!
//! The byte layout and test vectors are in `docs/vault-format.md`.
//!
//! ```
//! use std::sync::Arc;
//! use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
//! use dynpin::clock::ManualClock;
//! use dynpin::kdf::KdfParams;
//! use dynpin::secret::SecretBytes;
//! use dynpin::vault::{MemoryStorage, OnExisting, Vault, VaultError, VaultOptions};
//!
//! let storage = Arc::new(MemoryStorage::new());
//! let clock = Arc::new(ManualClock::from_unix_seconds(1_800_000_000));
//! let options = VaultOptions { kdf: KdfParams::MINIMUM, ..VaultOptions::default() };
//! let mut vault = Vault::create(storage.clone(), clock.clone(), "my vault password", options)?;
//! let card = Card::bank_card(CardId::random()?,
//!     "Salary",
//!     CardRef::new(610_433, LastFour::parse("1234")?)?,
//!     SecretBytes::random(32)?,
//!     Some(PinPolicy::first_pin()),
//!     Some(PinPolicy::second_pin()),
//! )?;
//! let id = vault.add_card(card, OnExisting::Refuse)?;
//! vault.lock();
//!
//! let mut vault = Vault::open(storage, clock)?;
//! assert!(matches!(vault.unlock_with_password("wrong"),
//!                  Err(VaultError::WrongPassword { remaining_attempts: 9, .. })));
//! vault.unlock_with_password("my vault password")?;
//! let pins = vault.pins()?;
//! assert_eq!(pins[0].id, id);
//! assert_eq!(pins[0].pins.as_ref().map(Vec::len), Ok(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backup;
mod contents;
mod crypto;
mod error;
mod format;
mod lockout;
mod password;
mod storage;

#[cfg(feature = "test-util")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

use core::fmt;
use std::sync::Arc;

pub use backup::{BACKUP_MAGIC, BACKUP_VERSION_1};
pub use contents::{
    MAX_AUTO_LOCK_SECONDS, MAX_CARDS, MAX_SECRET_LEN, MAX_TEXT_LEN, MIN_AUTO_LOCK_SECONDS,
    OnExisting,
};
pub use crypto::{PLATFORM_KEY_LEN, PlatformKey};
pub use error::{StorageOp, VaultError};
pub use format::{CURRENT_VERSION, MAGIC, MAX_FILE_LEN, SUPPORTED_VERSIONS, VAULT_VERSION_1};
pub use lockout::{
    BASE_DELAY_SECONDS, FREE_ATTEMPTS, LockoutPolicy, LockoutStatus, MAX_ATTEMPT_LIMIT,
    MAX_DELAY_SECONDS, MIN_ATTEMPT_LIMIT, OnLimit, delay_after,
};
pub use password::{
    MAX_PASSWORD_BYTES, MIN_BACKUP_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordError,
    check_backup_password, check_new_password, common_passwords,
};
#[cfg(any(test, feature = "test-util"))]
pub use storage::MemoryStorage;
pub use storage::{DEFAULT_FILE_NAME, FileRole, FileStorage, Storage};

use crate::activation::Activated;
use crate::card::{Card, CardError, CardId};
use crate::clock::Clock;
use crate::kdf::{KdfMemory, KdfParams};
use crate::pin::PinCode;
use contents::{Contents, check_auto_lock};
use crypto::{MasterKey, random_array};
use format::{Checks, Header, PasswordSlot, PlatformSlot, VaultFile};
use lockout::LockoutState;

/// The default auto-lock idle time, in seconds.
pub const DEFAULT_AUTO_LOCK_SECONDS: u32 = 120;

/// How a new vault is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultOptions {
    /// The password slot's Argon2id parameters (default m = 64 MiB, t = 3,
    /// p = 1; refused below [`KdfParams::MINIMUM`]).
    pub kdf: KdfParams,
    /// Failed-attempt limit and what happens at it.
    pub lockout: LockoutPolicy,
    /// Idle seconds before the unlocked vault locks itself
    /// ([`MIN_AUTO_LOCK_SECONDS`]–[`MAX_AUTO_LOCK_SECONDS`]).
    pub auto_lock_seconds: u32,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            kdf: KdfParams::DEFAULT,
            lockout: LockoutPolicy::default(),
            auto_lock_seconds: DEFAULT_AUTO_LOCK_SECONDS,
        }
    }
}

impl VaultOptions {
    /// Checks every option's range.
    ///
    /// # Errors
    /// [`VaultError::Kdf`] or [`VaultError::InvalidSetting`].
    pub fn validate(&self) -> Result<(), VaultError> {
        self.kdf.check()?;
        self.lockout.validate()?;
        check_auto_lock(self.auto_lock_seconds)
    }
}

/// One card's PINs in a screen refresh: each card succeeds or fails alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPins {
    /// The card.
    pub id: CardId,
    /// Its PINs in display order, or why they could not be computed (for
    /// example a clock before 1970).
    pub pins: Result<Vec<PinCode>, CardError>,
}

/// What [`Vault::import_backup`] did with each card of a backup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Cards that were not in the vault.
    pub added: Vec<CardId>,
    /// Cards that replaced one with the same number or id ([`OnExisting::Replace`]).
    pub replaced: Vec<CardId>,
    /// Cards left out because the vault had them ([`OnExisting::Refuse`]).
    pub skipped: Vec<CardId>,
}

/// An unlocked vault's secrets.
struct Session {
    key: MasterKey,
    contents: Contents,
    /// Clock time of the last user activity, Unix milliseconds.
    last_activity_ms: i64,
}

impl Session {
    fn idle(&self, now_ms: i64) -> bool {
        let limit = i64::from(self.contents.auto_lock_seconds).saturating_mul(1000);
        now_ms.saturating_sub(self.last_activity_ms) >= limit
    }
}

/// A vault file that exists, locked or not.
struct Present {
    file: VaultFile,
    session: Option<Session>,
}

impl Present {
    fn expire_if_idle(&mut self, now_ms: i64) {
        if self.session.as_ref().is_some_and(|s| s.idle(now_ms)) {
            self.session = None;
        }
    }
}

enum State {
    Present(Box<Present>),
    Wiped,
}

/// The card vault. Create one with [`Vault::create`] or open the existing one
/// with [`Vault::open`] (locked), then unlock it.
///
/// Every change is saved before the call returns; if the save fails, the
/// vault in memory is unchanged too. `Vault` is `Send + Sync`: share it
/// between threads behind a `Mutex`.
pub struct Vault {
    storage: Box<dyn Storage>,
    clock: Arc<dyn Clock>,
    state: State,
    /// The costliest key derivation this device accepts (not stored: it is
    /// the device's, not the file's).
    kdf_ceiling: KdfParams,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Vault");
        match &self.state {
            State::Wiped => d.field("state", &"wiped"),
            State::Present(p) => d
                .field(
                    "state",
                    &if p.session.is_some() {
                        "unlocked"
                    } else {
                        "locked"
                    },
                )
                .field("version", &p.file.version)
                .field("platform_key", &p.file.header.platform.is_some())
                .field("failures", &p.file.lockout.failures)
                .field("cards", &p.session.as_ref().map(|s| s.contents.cards.len())),
        };
        d.finish_non_exhaustive()
    }
}

/// The outcome of a counted password attempt that did not unlock.
fn wrong_password(policy: LockoutPolicy, state: &LockoutState) -> VaultError {
    VaultError::WrongPassword {
        remaining_attempts: u32::from(policy.max_attempts).saturating_sub(state.failures),
        wait_seconds: lockout::delay_after(state.failures),
    }
}

/// Writes `lockout` into the file's keyless region, keeping everything else.
fn write_lockout(
    storage: &dyn Storage,
    file: &mut VaultFile,
    lockout: LockoutState,
) -> Result<(), VaultError> {
    let bytes = file.encode_with(&lockout);
    storage::save(storage, &bytes, &file.header.vault_id, &|back| {
        format::parse(back, Checks::Verify).map(drop)
    })?;
    file.lockout = lockout;
    Ok(())
}

/// Seals `contents` under `header` with a fresh nonce and saves the file;
/// returns it once the save is verified.
fn seal_and_save(
    storage: &dyn Storage,
    header: Header,
    lockout: LockoutState,
    key: &MasterKey,
    contents: &Contents,
) -> Result<VaultFile, VaultError> {
    let nonce = random_array()?;
    let (next, plaintext) = VaultFile::seal(header, lockout, key, nonce, contents)?;
    let bytes = next.encode();
    storage::save(storage, &bytes, &next.header.vault_id, &|back| {
        let reread = format::parse(back, Checks::Verify)?;
        let opened = reread.open_plaintext(key)?;
        if *opened == *plaintext {
            Ok(())
        } else {
            Err(VaultError::VerifyFailed)
        }
    })?;
    Ok(next)
}

/// As [`seal_and_save`]; `file` becomes the new file only if the save succeeded.
fn commit(
    storage: &dyn Storage,
    file: &mut VaultFile,
    header: Header,
    key: &MasterKey,
    contents: &Contents,
) -> Result<(), VaultError> {
    *file = seal_and_save(storage, header, file.lockout, key, contents)?;
    Ok(())
}

/// Applies the policy's limit when the failures reached it: wipes (an error
/// either way: [`VaultError::Wiped`] or the storage error) or locks for good.
fn enforce_limit(storage: &dyn Storage, file: &mut VaultFile) -> Result<(), VaultError> {
    if file.lockout.locked_for_good {
        return Err(VaultError::LockedForGood);
    }
    if file.lockout.failures < u32::from(file.header.policy.max_attempts) {
        return Ok(());
    }
    match file.header.policy.on_limit {
        OnLimit::Wipe => {
            storage::destroy(storage)?;
            Err(VaultError::Wiped)
        }
        OnLimit::LockForGood => {
            let mut state = file.lockout;
            state.locked_for_good = true;
            // The failures already reached the limit on storage: if this
            // write fails, the next attempt locks again.
            let _ = write_lockout(storage, file, state);
            Err(VaultError::LockedForGood)
        }
    }
}

/// One counted password attempt: refused while a delay runs, counted on
/// storage *before* the key is derived (killing the app mid-attempt does not
/// save it), reset on success.
fn attempt_password(
    storage: &dyn Storage,
    file: &mut VaultFile,
    password: &str,
    now_ms: i64,
    kdf_ceiling: KdfParams,
) -> Result<MasterKey, VaultError> {
    enforce_limit(storage, file)?;
    let policy = file.header.policy;
    let mut state = file.lockout;
    if state.wait_millis(now_ms) > 0 {
        if state.normalize_clock(now_ms) {
            write_lockout(storage, file, state)?;
        }
        let status = state.status(policy, now_ms);
        return Err(VaultError::TryLater {
            wait_seconds: status.wait_seconds,
            remaining_attempts: status.remaining_attempts,
        });
    }
    let slot = file.header.password.clone();
    slot.kdf.check_within(kdf_ceiling)?;
    // The derivation's memory is reserved before the attempt is counted: a
    // phone that cannot spare it has tried nothing.
    let mut memory = KdfMemory::reserve(slot.kdf)?;
    state.failures = state.failures.saturating_add(1);
    state.last_attempt_ms = now_ms;
    write_lockout(storage, file, state)?;
    let kek = crypto::password_kek_in(&mut memory, password, &slot.salt, slot.kdf)?;
    drop(memory);
    match slot.open(&file.header.vault_id, &kek) {
        Some(key) => {
            reset_failures(storage, file);
            Ok(key)
        }
        None => {
            enforce_limit(storage, file)?;
            Err(wrong_password(policy, &file.lockout))
        }
    }
}

/// Clears the failure count after a successful unlock. If the write fails the
/// reset stays in memory and goes out with the next save.
fn reset_failures(storage: &dyn Storage, file: &mut VaultFile) {
    if file.lockout.failures == 0 {
        return;
    }
    let state = LockoutState::default();
    if write_lockout(storage, file, state).is_err() {
        file.lockout = state;
    }
}

impl Vault {
    /// The costliest key derivation this device accepts, for the password
    /// slot (checked before an attempt is counted), new passwords and
    /// backups; [`KdfParams::MAXIMUM`] unless set. Not stored in the file.
    pub fn kdf_ceiling(&self) -> KdfParams {
        self.kdf_ceiling
    }

    /// Sets the costliest key derivation this device accepts: an app on a
    /// phone with little memory lowers it, so a file or backup asking for
    /// more is refused with [`KdfError::TooCostly`](crate::kdf::KdfError)
    /// before anything is derived or counted. Capped at [`KdfParams::MAXIMUM`].
    /// A ceiling below [`KdfParams::MINIMUM`] refuses every derivation (a
    /// device that cannot afford the floor can open nothing). Set it after
    /// creating or opening the vault, and create vaults within it.
    pub fn set_kdf_ceiling(&mut self, ceiling: KdfParams) {
        let high = KdfParams::MAXIMUM;
        self.kdf_ceiling = KdfParams {
            memory_kib: ceiling.memory_kib.min(high.memory_kib),
            iterations: ceiling.iterations.min(high.iterations),
            lanes: ceiling.lanes.min(high.lanes),
        };
    }

    /// Whether a vault exists in `storage` (its current or previous generation).
    ///
    /// # Errors
    /// [`VaultError::Storage`].
    pub fn exists(storage: &dyn Storage) -> Result<bool, VaultError> {
        storage::exists(storage)
    }

    /// Creates a vault protected by `password` and saves it; returns it unlocked.
    ///
    /// # Errors
    /// [`VaultError::Password`] for a password the rules refuse,
    /// [`VaultError::Kdf`]/[`VaultError::InvalidSetting`] for bad options,
    /// [`VaultError::AlreadyExists`] if a vault (even a damaged one) is
    /// there, or a storage error.
    pub fn create(
        storage: impl Storage + 'static,
        clock: Arc<dyn Clock>,
        password: &str,
        options: VaultOptions,
    ) -> Result<Self, VaultError> {
        check_new_password(password)?;
        options.validate()?;
        let storage: Box<dyn Storage> = Box::new(storage);
        if storage::exists(&*storage)? {
            return Err(VaultError::AlreadyExists);
        }
        let key = MasterKey::random()?;
        let vault_id = random_array()?;
        let salt = random_array()?;
        let kek = crypto::password_kek(password, &salt, options.kdf)?;
        let header = Header {
            vault_id,
            policy: options.lockout,
            password: PasswordSlot::seal(
                &vault_id,
                salt,
                options.kdf,
                random_array()?,
                &kek,
                &key,
            )?,
            platform: None,
        };
        let contents = Contents {
            auto_lock_seconds: options.auto_lock_seconds,
            cards: contents::CardList::with_capacity(4),
        };
        let file = seal_and_save(&*storage, header, LockoutState::default(), &key, &contents)?;
        let now = clock.now_millis();
        Ok(Self {
            storage,
            clock,
            kdf_ceiling: KdfParams::MAXIMUM,
            state: State::Present(Box::new(Present {
                file,
                session: Some(Session {
                    key,
                    contents,
                    last_activity_ms: now,
                }),
            })),
        })
    }

    /// Opens the vault in `storage`, locked. Reads the header and the lockout
    /// state; derives no key. A save interrupted between its two renames is
    /// completed backwards first (the previous generation is restored).
    ///
    /// # Errors
    /// [`VaultError::NotFound`], [`VaultError::NotAVault`],
    /// [`VaultError::UnsupportedVersion`], [`VaultError::Corrupt`], a storage
    /// error, or [`VaultError::Wiped`] when a wipe was due (the failure limit
    /// was reached before the app was killed) and has now been done.
    pub fn open(
        storage: impl Storage + 'static,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, VaultError> {
        let storage: Box<dyn Storage> = Box::new(storage);
        let bytes = storage::load(&*storage)?.ok_or(VaultError::NotFound)?;
        let mut file = format::parse(&bytes, Checks::Verify)?;
        match enforce_limit(&*storage, &mut file) {
            Ok(()) | Err(VaultError::LockedForGood) => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            storage,
            clock,
            kdf_ceiling: KdfParams::MAXIMUM,
            state: State::Present(Box::new(Present {
                file,
                session: None,
            })),
        })
    }

    /// Removes every generation of the vault in `storage`, whatever state it
    /// is in (even damaged or locked for good): the app's "reset" action.
    ///
    /// # Errors
    /// A storage error.
    pub fn destroy(storage: &dyn Storage) -> Result<(), VaultError> {
        storage::destroy(storage)
    }

    /// Erases this vault from storage and memory.
    ///
    /// # Errors
    /// A storage error (the vault stays as it was in memory).
    pub fn wipe(&mut self) -> Result<(), VaultError> {
        storage::destroy(&*self.storage)?;
        self.state = State::Wiped;
        Ok(())
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    fn present(&self) -> Result<&Present, VaultError> {
        match &self.state {
            State::Present(p) => Ok(p),
            State::Wiped => Err(VaultError::Wiped),
        }
    }

    /// Runs `f` on the storage and the present vault; a [`VaultError::Wiped`]
    /// from it marks this vault as wiped.
    fn with_present<T>(
        &mut self,
        f: impl FnOnce(&dyn Storage, &mut Present, i64) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let now = self.now();
        let State::Present(present) = &mut self.state else {
            return Err(VaultError::Wiped);
        };
        present.expire_if_idle(now);
        let result = f(&*self.storage, present, now);
        if matches!(result, Err(VaultError::Wiped)) {
            self.state = State::Wiped;
        }
        result
    }

    /// The unlocked session (after the idle check), without recording activity.
    fn session(&mut self) -> Result<&mut Session, VaultError> {
        let now = self.now();
        let State::Present(present) = &mut self.state else {
            return Err(VaultError::Wiped);
        };
        present.expire_if_idle(now);
        present.session.as_mut().ok_or(VaultError::Locked)
    }

    /// Changes a copy of the contents with `change`, saves it, and keeps it
    /// only if the save succeeded. Counts as user activity.
    fn update<T>(
        &mut self,
        change: impl FnOnce(&mut Contents) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.with_present(|storage, present, now| {
            let Present { file, session } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            let mut next = session.contents.clone();
            let out = change(&mut next)?;
            commit(storage, file, file.header.clone(), &session.key, &next)?;
            session.contents = next;
            session.last_activity_ms = now;
            Ok(out)
        })
    }

    /// Changes a copy of the header with `change` (given the master key),
    /// saves, and keeps it only if the save succeeded. Counts as user activity.
    fn update_header(
        &mut self,
        change: impl FnOnce(&mut Header, &MasterKey) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        self.with_present(|storage, present, now| {
            let Present { file, session } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            let mut header = file.header.clone();
            change(&mut header, &session.key)?;
            commit(storage, file, header, &session.key, &session.contents)?;
            session.last_activity_ms = now;
            Ok(())
        })
    }

    // ---- unlocking ---------------------------------------------------------

    /// Unlocks with the app password (Persian and Arabic-Indic digits are read
    /// as ASCII). Does nothing if already unlocked.
    ///
    /// The attempt is counted on storage before the key is derived and the
    /// count is reset on success.
    ///
    /// # Errors
    /// [`VaultError::WrongPassword`] (counted) with the attempts left and the
    /// wait before the next one, [`VaultError::TryLater`] while a delay runs
    /// (not counted), [`VaultError::Wiped`] or [`VaultError::LockedForGood`] at
    /// the limit, [`VaultError::Kdf`] for stored parameters out of range,
    /// [`VaultError::Tampered`]/[`VaultError::Corrupt`] for an altered body, or
    /// a storage error (the attempt is then not made: counting must succeed first).
    pub fn unlock_with_password(&mut self, password: &str) -> Result<(), VaultError> {
        let ceiling = self.kdf_ceiling;
        self.with_present(|storage, present, now| {
            if present.session.is_some() {
                return Ok(());
            }
            let key = attempt_password(storage, &mut present.file, password, now, ceiling)?;
            let contents = present.file.open(&key)?;
            present.session = Some(Session {
                key,
                contents,
                last_activity_ms: now,
            });
            Ok(())
        })
    }

    /// Unlocks with the platform key the app got from the Keystore/Keychain
    /// after a successful biometric prompt. Allowed while a password delay
    /// runs (the key cannot be guessed); resets the failure count.
    ///
    /// # Errors
    /// [`VaultError::NoPlatformKey`] if none is enrolled,
    /// [`VaultError::PlatformKeyInvalidated`] if this key does not open the
    /// slot (re-enrol after unlocking with the password),
    /// [`VaultError::LockedForGood`]/[`VaultError::Wiped`] past the limit.
    pub fn unlock_with_platform_key(&mut self, key: &PlatformKey) -> Result<(), VaultError> {
        self.with_present(|storage, present, now| {
            if present.session.is_some() {
                return Ok(());
            }
            let file = &mut present.file;
            enforce_limit(storage, file)?;
            let slot = file
                .header
                .platform
                .clone()
                .ok_or(VaultError::NoPlatformKey)?;
            let kek = crypto::platform_kek(key, &slot.salt)?;
            let master = slot
                .open(&file.header.vault_id, kek.as_ref())
                .ok_or(VaultError::PlatformKeyInvalidated)?;
            let contents = file.open(&master)?;
            reset_failures(storage, file);
            present.session = Some(Session {
                key: master,
                contents,
                last_activity_ms: now,
            });
            Ok(())
        })
    }

    /// Locks: the master key, every card's seed and keyed state are dropped
    /// and wiped. The file is untouched.
    pub fn lock(&mut self) {
        if let State::Present(present) = &mut self.state {
            present.session = None;
        }
    }

    /// Whether the vault is unlocked now (an idle one counts as locked).
    pub fn is_unlocked(&self) -> bool {
        let now = self.now();
        self.present()
            .ok()
            .and_then(|p| p.session.as_ref())
            .is_some_and(|s| !s.idle(now))
    }

    /// Locks the vault if it has been idle for its auto-lock time; returns
    /// whether it is locked. Call it from a timer or when the app resumes.
    pub fn check_auto_lock(&mut self) -> bool {
        self.session().is_err()
    }

    /// Records user activity, restarting the idle timer (a screen refresh of
    /// [`Vault::pins`] does not count; taps do).
    ///
    /// # Errors
    /// [`VaultError::Locked`] if the vault is locked (or just locked itself).
    pub fn touch(&mut self) -> Result<(), VaultError> {
        let now = self.now();
        self.session()?.last_activity_ms = now;
        Ok(())
    }

    /// The failure count, attempts left and current wait, for the lock screen.
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn lockout_status(&self) -> Result<LockoutStatus, VaultError> {
        let p = self.present()?;
        Ok(p.file.lockout.status(p.file.header.policy, self.now()))
    }

    /// The lockout policy (readable while locked).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn lockout_policy(&self) -> Result<LockoutPolicy, VaultError> {
        Ok(self.present()?.file.header.policy)
    }

    /// Whether a platform key is enrolled (readable while locked, to offer
    /// the biometric prompt).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn has_platform_key(&self) -> Result<bool, VaultError> {
        Ok(self.present()?.file.header.platform.is_some())
    }

    /// The password slot's Argon2id parameters.
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn kdf_params(&self) -> Result<KdfParams, VaultError> {
        Ok(self.present()?.file.header.password.kdf)
    }

    /// The format version of the file as it was read (the current version
    /// after the first save).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn format_version(&self) -> Result<u8, VaultError> {
        Ok(self.present()?.file.version)
    }

    // ---- keys and settings -------------------------------------------------

    /// Replaces the password, after checking the current one (a counted
    /// attempt, as at unlock). Keeps the Argon2id parameters.
    ///
    /// # Errors
    /// As [`Vault::unlock_with_password`] for `current`,
    /// [`VaultError::Password`] for `new`, [`VaultError::Locked`], or a
    /// storage error (the old password then still works).
    pub fn change_password(&mut self, current: &str, new: &str) -> Result<(), VaultError> {
        let params = self.kdf_params()?;
        self.change_password_with(current, new, params)
    }

    /// As [`Vault::change_password`], also setting new Argon2id parameters
    /// (for example stronger ones on a faster phone).
    ///
    /// # Errors
    /// As [`Vault::change_password`], and [`VaultError::Kdf`] for `params`.
    pub fn change_password_with(
        &mut self,
        current: &str,
        new: &str,
        params: KdfParams,
    ) -> Result<(), VaultError> {
        check_new_password(new)?;
        params.check_within(self.kdf_ceiling)?;
        self.session()?;
        let ceiling = self.kdf_ceiling;
        self.with_present(|storage, present, now| {
            if present.session.is_none() {
                return Err(VaultError::Locked);
            }
            attempt_password(storage, &mut present.file, current, now, ceiling)?;
            Ok(())
        })?;
        let salt = random_array()?;
        let nonce = random_array()?;
        let kek = crypto::password_kek(new, &salt, params)?;
        self.update_header(|header, key| {
            header.password = PasswordSlot::seal(&header.vault_id, salt, params, nonce, &kek, key)?;
            Ok(())
        })
    }

    /// Enrols (or replaces) the platform key.
    ///
    /// # Errors
    /// [`VaultError::Locked`] or a storage error.
    pub fn enrol_platform_key(&mut self, key: &PlatformKey) -> Result<(), VaultError> {
        let salt = random_array()?;
        let nonce = random_array()?;
        let kek = crypto::platform_kek(key, &salt)?;
        self.update_header(|header, master| {
            header.platform = Some(PlatformSlot::seal(
                &header.vault_id,
                salt,
                nonce,
                kek.as_ref(),
                master,
            )?);
            Ok(())
        })
    }

    /// Removes the platform key: only the password unlocks afterwards.
    ///
    /// # Errors
    /// [`VaultError::Locked`] or a storage error.
    pub fn remove_platform_key(&mut self) -> Result<(), VaultError> {
        self.update_header(|header, _| {
            header.platform = None;
            Ok(())
        })
    }

    /// Sets the failure limit and what happens at it.
    ///
    /// # Errors
    /// [`VaultError::InvalidSetting`], [`VaultError::Locked`] or a storage error.
    pub fn set_lockout_policy(&mut self, policy: LockoutPolicy) -> Result<(), VaultError> {
        policy.validate()?;
        self.update_header(|header, _| {
            header.policy = policy;
            Ok(())
        })
    }

    /// The idle seconds before the vault locks itself.
    ///
    /// # Errors
    /// [`VaultError::Locked`].
    pub fn auto_lock_seconds(&mut self) -> Result<u32, VaultError> {
        Ok(self.session()?.contents.auto_lock_seconds)
    }

    /// Sets the idle seconds before the vault locks itself.
    ///
    /// # Errors
    /// [`VaultError::InvalidSetting`] outside 10 s – 1 day,
    /// [`VaultError::Locked`] or a storage error.
    pub fn set_auto_lock_seconds(&mut self, seconds: u32) -> Result<(), VaultError> {
        check_auto_lock(seconds)?;
        self.update(|c| {
            c.auto_lock_seconds = seconds;
            Ok(())
        })
    }

    // ---- cards -------------------------------------------------------------

    /// The cards in display order.
    ///
    /// # Errors
    /// [`VaultError::Locked`].
    pub fn cards(&mut self) -> Result<&[Card], VaultError> {
        Ok(self.session()?.contents.cards.as_slice())
    }

    /// One card.
    ///
    /// # Errors
    /// [`VaultError::Locked`] or [`VaultError::NoSuchCard`].
    pub fn card(&mut self, id: CardId) -> Result<&Card, VaultError> {
        self.cards()?
            .iter()
            .find(|c| c.id() == id)
            .ok_or(VaultError::NoSuchCard(id))
    }

    /// Adds a card (activated, imported from an `otpauth://` URI, or made by
    /// hand) at the end. As [`Card::is_same_card`] defines it: a card with the
    /// same BIN and last four digits is refused or replaced in place (keeping
    /// its label and position); so is a card with the same id.
    ///
    /// # Errors
    /// [`VaultError::CardAlreadyPresent`], [`VaultError::TooManyCards`],
    /// [`VaultError::Unstorable`], [`VaultError::Locked`] or a storage error.
    pub fn add_card(&mut self, card: Card, on_existing: OnExisting) -> Result<CardId, VaultError> {
        self.update(|c| c.cards.add(card, on_existing))
    }

    /// Adds the card of an activation; as [`Vault::add_card`].
    ///
    /// # Errors
    /// As [`Vault::add_card`].
    pub fn add_activated(
        &mut self,
        activated: Activated,
        on_existing: OnExisting,
    ) -> Result<CardId, VaultError> {
        self.add_card(activated.card, on_existing)
    }

    /// Renames a card.
    ///
    /// # Errors
    /// [`VaultError::NoSuchCard`], [`VaultError::Card`] for a bad label,
    /// [`VaultError::Locked`] or a storage error.
    pub fn rename_card(&mut self, id: CardId, label: &str) -> Result<(), VaultError> {
        self.update(|c| Ok(c.cards.get_mut(id)?.set_label(label)?))
    }

    /// Removes a card (its seed is wiped from memory).
    ///
    /// # Errors
    /// [`VaultError::NoSuchCard`], [`VaultError::Locked`] or a storage error.
    pub fn remove_card(&mut self, id: CardId) -> Result<(), VaultError> {
        self.update(|c| c.cards.remove(id))
    }

    /// Moves a card to position `index` (0 is first; past the end is last).
    ///
    /// # Errors
    /// [`VaultError::NoSuchCard`], [`VaultError::Locked`] or a storage error.
    pub fn move_card(&mut self, id: CardId, index: usize) -> Result<(), VaultError> {
        self.update(|c| c.cards.move_to(id, index))
    }

    /// Puts the cards in `order`, which must list every card exactly once.
    ///
    /// # Errors
    /// [`VaultError::InvalidOrder`], [`VaultError::Locked`] or a storage error.
    pub fn reorder_cards(&mut self, order: &[CardId]) -> Result<(), VaultError> {
        self.update(|c| c.cards.reorder(order))
    }

    /// Sets or clears a card's transaction amount ceiling, in rials.
    ///
    /// # Errors
    /// [`VaultError::NoSuchCard`], [`VaultError::Locked`] or a storage error.
    pub fn set_amount_ceiling(&mut self, id: CardId, rials: Option<u64>) -> Result<(), VaultError> {
        self.update(|c| {
            c.cards.get_mut(id)?.set_amount_ceiling(rials);
            Ok(())
        })
    }

    /// Sets a card's time correction in seconds.
    ///
    /// # Errors
    /// [`VaultError::NoSuchCard`], [`VaultError::Card`] beyond a year,
    /// [`VaultError::Locked`] or a storage error.
    pub fn set_time_offset(&mut self, id: CardId, seconds: i64) -> Result<(), VaultError> {
        self.update(|c| Ok(c.cards.get_mut(id)?.set_time_offset(seconds)?))
    }

    /// Moves an HOTP token to its next counter and saves; returns the new counter.
    ///
    /// # Errors
    /// [`VaultError::Card`] for a card that is not counter-based,
    /// [`VaultError::NoSuchCard`], [`VaultError::Locked`] or a storage error.
    pub fn advance_counter(&mut self, id: CardId) -> Result<u64, VaultError> {
        self.update(|c| Ok(c.cards.get_mut(id)?.advance_counter()?))
    }

    /// Every card's PINs now, by the vault's clock, for one screen refresh.
    /// Does not count as user activity.
    ///
    /// # Errors
    /// [`VaultError::Locked`] (also once the idle time has passed).
    pub fn pins(&mut self) -> Result<Vec<CardPins>, VaultError> {
        // One clock reading for every card: a screen shows them at one instant.
        let now = self.now();
        let session = self.session()?;
        Ok(session
            .contents
            .cards
            .as_slice()
            .iter()
            .map(|card| CardPins {
                id: card.id(),
                pins: card.pins_at_millis(now),
            })
            .collect())
    }

    // ---- backups -----------------------------------------------------------

    /// An encrypted backup of the exportable cards (bank cards only when
    /// their issuer allowed it), under its own `password` with Argon2id at
    /// [`KdfParams::DEFAULT`].
    ///
    /// # Errors
    /// [`VaultError::NothingToExport`], [`VaultError::Password`],
    /// [`VaultError::Locked`].
    pub fn export_backup(&mut self, password: &str) -> Result<Vec<u8>, VaultError> {
        // The default cost, or the device's ceiling where that is lower.
        let params = KdfParams {
            memory_kib: KdfParams::DEFAULT
                .memory_kib
                .min(self.kdf_ceiling.memory_kib),
            iterations: KdfParams::DEFAULT
                .iterations
                .min(self.kdf_ceiling.iterations),
            lanes: KdfParams::DEFAULT.lanes.min(self.kdf_ceiling.lanes),
        };
        self.export_backup_with(password, params)
    }

    /// As [`Vault::export_backup`] with chosen Argon2id parameters.
    ///
    /// # Errors
    /// As [`Vault::export_backup`], and [`VaultError::Kdf`] for `params`.
    pub fn export_backup_with(
        &mut self,
        password: &str,
        params: KdfParams,
    ) -> Result<Vec<u8>, VaultError> {
        check_backup_password(password)?;
        params.check_within(self.kdf_ceiling)?;
        let now = self.now();
        let session = self.session()?;
        let exportable = session
            .contents
            .cards
            .as_slice()
            .iter()
            .filter(|c| c.exportable());
        if exportable.clone().next().is_none() {
            return Err(VaultError::NothingToExport);
        }
        let backup = backup::seal(exportable, password, params)?;
        session.last_activity_ms = now;
        Ok(backup)
    }

    /// Adds the cards of a backup. With [`OnExisting::Refuse`] cards already
    /// in the vault (same number or id) are skipped; with
    /// [`OnExisting::Replace`] they are replaced. All or nothing: one save.
    ///
    /// # Errors
    /// [`VaultError::NotABackup`], [`VaultError::CorruptBackup`],
    /// [`VaultError::UnsupportedBackupVersion`], [`VaultError::Kdf`],
    /// [`VaultError::WrongBackupPassword`], [`VaultError::TooManyCards`],
    /// [`VaultError::Locked`] or a storage error.
    pub fn import_backup(
        &mut self,
        backup: &[u8],
        password: &str,
        on_existing: OnExisting,
    ) -> Result<ImportSummary, VaultError> {
        self.session()?;
        let cards = backup::open(backup, password, self.kdf_ceiling)?;
        self.update(|c| {
            let mut summary = ImportSummary::default();
            for card in cards.as_slice() {
                match (c.cards.holds(card), on_existing) {
                    (true, OnExisting::Refuse) => summary.skipped.push(card.id()),
                    (true, OnExisting::Replace) => {
                        summary
                            .replaced
                            .push(c.cards.add(card.clone(), on_existing)?);
                    }
                    (false, _) => summary.added.push(c.cards.add(card.clone(), on_existing)?),
                }
            }
            Ok(summary)
        })
    }
}
