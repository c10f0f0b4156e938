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

mod activity;
mod attempt;
mod backup;
mod contents;
mod crypto;
mod device;
mod error;
mod format;
mod lockout;
mod password;
mod snapshot;
mod storage;

#[cfg(feature = "test-util")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;

use core::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

pub use activity::DEFAULT_BACKGROUND_LOCK_SECONDS;
pub use attempt::{
    AttemptPlan, DerivedPassword, NewPassword, NewPasswordRecipe, PasswordAttempt, PreparedAttempt,
};
pub use backup::{BACKUP_MAGIC, BACKUP_VERSION_1, BackupExport, OpenedBackup};
pub use contents::{
    MAX_AUTO_LOCK_SECONDS, MAX_CARDS, MAX_SECRET_LEN, MAX_TEXT_LEN, MIN_AUTO_LOCK_SECONDS,
    OnExisting,
};
pub use crypto::{PLATFORM_KEY_LEN, PlatformKey};
#[cfg(any(test, feature = "test-util"))]
pub use device::SoftwareDeviceKey;
pub use device::{DEVICE_SECRET_LEN, DeviceKey, DeviceKeyError, MAX_DEVICE_BLOB_LEN};
pub use error::{CardField, Setting, StorageOp, VaultError};
pub use format::{
    CURRENT_VERSION, MAGIC, MAX_FILE_LEN, SUPPORTED_VERSIONS, VAULT_VERSION_1, VAULT_VERSION_2,
};
pub use lockout::{
    BASE_DELAY_SECONDS, FREE_ATTEMPTS, LockoutPolicy, LockoutStatus, MAX_ATTEMPT_LIMIT,
    MAX_DELAY_SECONDS, MIN_ATTEMPT_LIMIT, OnLimit, delay_after,
};
pub use password::{
    MAX_PASSWORD_BYTES, MIN_BACKUP_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordError,
    check_backup_password, check_new_password, common_passwords,
};
pub use snapshot::Snapshot;
#[cfg(any(test, feature = "test-util"))]
pub use storage::MemoryStorage;
pub use storage::{DEFAULT_FILE_NAME, FileRole, FileStorage, LOCK_TIMEOUT, Storage, StorageLock};

use crate::activation::Activated;
use crate::card::{Card, CardError, CardId};
use crate::clock::Clock;
use crate::kdf::KdfParams;
use crate::pin::PinCode;
use crate::secret::SecretBytes;
use activity::Activity;
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
    /// Shared with the [`Snapshot`]s taken in this session.
    contents: Arc<Contents>,
}

impl Session {
    fn new(key: MasterKey, contents: Contents) -> Self {
        Self {
            key,
            contents: Arc::new(contents),
        }
    }
}

/// A vault file that exists, locked or not.
struct Present {
    file: VaultFile,
    session: Option<Session>,
    /// A reset of this many failures that could not be written yet.
    reset_pending: Option<u32>,
    /// The auto-lock's inputs, shared with snapshots.
    activity: Arc<Activity>,
}

impl Present {
    fn new(file: VaultFile, activity: Arc<Activity>) -> Self {
        Self {
            file,
            session: None,
            reset_pending: None,
            activity,
        }
    }

    /// Whether the session has ended by the auto-lock at `now_ms`.
    fn expired(&self, session: &Session, now_ms: i64) -> bool {
        self.activity
            .expired(now_ms, session.contents.auto_lock_seconds)
    }

    fn expire_if_idle(&mut self, now_ms: i64) {
        if self
            .session
            .as_ref()
            .is_some_and(|s| self.expired(s, now_ms))
        {
            self.end_session();
        }
    }

    /// Unlocked at `now_ms` with `session`.
    fn begin_session(&mut self, session: Session, now_ms: i64) {
        self.session = Some(session);
        self.activity.start_session(now_ms);
    }

    /// Locked: the key and the contents are dropped (and wiped, once no
    /// snapshot shares them), and no snapshot shows them any more.
    fn end_session(&mut self) {
        self.session = None;
        self.activity.end_session();
    }
}

enum State {
    Present(Box<Present>),
    Wiped,
}

/// The card vault. Create one with [`Vault::create`] (or
/// [`Vault::create_bound`], bound to the device's key store) or open the
/// existing one with [`Vault::open`] (locked), then unlock it.
///
/// Every change is saved before the call returns; if the save fails, the
/// vault in memory is unchanged too. `Vault` is `Send + Sync`: share it
/// between threads behind a `Mutex`. Several `Vault`s (in this process or in
/// others: an app, its widget, a share extension) may open one directory:
/// every change takes the storage's lock and first reloads what another
/// instance saved, so none overwrites a change it did not see.
pub struct Vault {
    storage: Box<dyn Storage>,
    clock: Arc<dyn Clock>,
    state: State,
    /// The costliest key derivation this device accepts (not stored: it is
    /// the device's, not the file's).
    kdf_ceiling: KdfParams,
    /// The device's key store, for device-bound password slots.
    device: Option<Arc<dyn DeviceKey>>,
    /// One more on every [`Vault::lock`]: an unlock begun before a lock does
    /// not undo it.
    lock_epoch: u64,
    /// The auto-lock's inputs (idle time, background), shared with the
    /// present file's state and with snapshots.
    activity: Arc<Activity>,
}

/// A vault dropped ends its session for the snapshots it handed out too:
/// none shows the cards of a vault that is gone.
impl Drop for Vault {
    fn drop(&mut self) {
        self.activity.end_session();
    }
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
                .field("generation", &p.file.header.generation)
                .field("device_bound", &p.file.header.password.device.is_some())
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
    let generation = file.header.generation;
    storage::save(
        storage,
        &bytes,
        &file.header.vault_id,
        generation,
        &|back| format::parse(back, Checks::Verify).map(drop),
    )?;
    file.lockout = lockout;
    Ok(())
}

/// Seals `contents` under `header` with a fresh nonce as the next generation
/// and saves the file; returns it once the save is verified.
fn seal_and_save(
    storage: &dyn Storage,
    mut header: Header,
    lockout: LockoutState,
    key: &MasterKey,
    contents: &Contents,
) -> Result<VaultFile, VaultError> {
    let base = header.generation;
    header.generation = base
        .checked_add(1)
        .ok_or(VaultError::Corrupt("generation"))?;
    let nonce = random_array()?;
    let (next, plaintext) = VaultFile::seal(header, lockout, key, nonce, contents)?;
    let bytes = next.encode();
    storage::save(storage, &bytes, &next.header.vault_id, base, &|back| {
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

/// Brings `present` up to what is on storage, under the storage's lock:
/// another instance may have saved (a card, a failure count, a new password)
/// since this one last read the file.
///
/// # Errors
/// [`VaultError::NotFound`] when the vault was removed meanwhile,
/// [`VaultError::Conflict`] when the file is another vault, the file's own
/// error when it is damaged or of a newer version,
/// [`VaultError::RolledBack`] when it is an older generation than this
/// instance saw (an old copy put back).
fn reload(storage: &dyn Storage, present: &mut Present) -> Result<(), VaultError> {
    // Removed by another instance (its reset): no vault any more.
    let bytes = storage::load(storage)?.ok_or(VaultError::NotFound)?;
    // Damaged, or written by a newer app: said as such, never overwritten.
    let disk = format::parse(&bytes, Checks::Verify)?;
    let file = &mut present.file;
    if disk.header.vault_id != file.header.vault_id {
        return Err(VaultError::Conflict);
    }
    if disk.header.generation < file.header.generation {
        return Err(VaultError::RolledBack {
            seen: file.header.generation,
            found: disk.header.generation,
        });
    }
    if disk.header_bytes == file.header_bytes
        && disk.nonce == file.nonce
        && disk.sealed == file.sealed
    {
        // Only the keyless region may have changed: a failure counted or
        // reset by another instance.
        file.lockout = disk.lockout;
        return Ok(());
    }
    if let Some(session) = &mut present.session {
        match disk.open(&session.key) {
            Ok(contents) => session.contents = Arc::new(contents),
            // The master key was rotated elsewhere (a new password): this
            // instance must be unlocked again.
            Err(VaultError::Tampered) => present.end_session(),
            Err(e) => return Err(e),
        }
    }
    present.file = disk;
    Ok(())
}

/// Applies the policy's limit when the failures reached it: wipes (an error
/// either way: [`VaultError::Wiped`] or the storage error; the device key is
/// destroyed too) or locks for good.
fn enforce_limit(
    storage: &dyn Storage,
    file: &mut VaultFile,
    device: Option<&dyn DeviceKey>,
) -> Result<(), VaultError> {
    if file.lockout.locked_for_good {
        return Err(VaultError::LockedForGood);
    }
    if file.lockout.failures < u32::from(file.header.policy.max_attempts) {
        return Ok(());
    }
    match file.header.policy.on_limit {
        OnLimit::Wipe => {
            storage::destroy(storage)?;
            // The file is gone; a device key that cannot be deleted now only
            // protects copies, which the wipe already made pointless to keep.
            if let Some(device) = device {
                let _ = device.destroy();
            }
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

/// The device secret of a device-bound password slot, unwrapped by the
/// device's key store (nothing is counted if it fails).
fn unwrap_device_secret(
    device: Option<&dyn DeviceKey>,
    blob: &[u8],
) -> Result<SecretBytes, VaultError> {
    let device = device.ok_or(VaultError::DeviceKeyMissing)?;
    let secret = device.unwrap(blob)?;
    if secret.len() != DEVICE_SECRET_LEN {
        return Err(DeviceKeyError::WrongSize.into());
    }
    Ok(secret)
}

/// A new password slot for `master`: Argon2id of `password` under a fresh
/// salt, and, with a device key, a fresh device secret wrapped by it (and
/// unwrapped once to prove the key store gives it back).
fn seal_password_slot(
    vault_id: &[u8; format::VAULT_ID_LEN],
    password: &str,
    kdf: KdfParams,
    device: Option<&dyn DeviceKey>,
    master: &MasterKey,
) -> Result<PasswordSlot, VaultError> {
    let salt = random_array()?;
    let argon2 = crypto::password_kek(password, &salt, kdf)?;
    let (blob, kek) = match device {
        None => (None, argon2),
        Some(device) => {
            let secret = SecretBytes::random(DEVICE_SECRET_LEN)?;
            let blob = device.wrap(secret.expose())?;
            format::check_blob(&blob)?;
            let back = unwrap_device_secret(Some(device), &blob)?;
            if back != secret {
                return Err(DeviceKeyError::Rejected.into());
            }
            let kek = crypto::device_bound_kek(&argon2, secret.expose(), &salt)?;
            (Some(blob), kek)
        }
    };
    PasswordSlot::seal(vault_id, salt, kdf, random_array()?, blob, &kek, master)
}

/// The locked half of a password attempt: refused while a delay runs,
/// counted on storage *before* the key is derived (killing the app
/// mid-attempt does not save it). `Ok(false)` when the password slot is no
/// longer `slot` (another instance changed the password): nothing counted.
fn count_attempt(
    storage: &dyn Storage,
    file: &mut VaultFile,
    slot: &PasswordSlot,
    now_ms: i64,
    device: Option<&dyn DeviceKey>,
) -> Result<bool, VaultError> {
    enforce_limit(storage, file, device)?;
    if file.header.password != *slot {
        return Ok(false);
    }
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
    state.failures = state.failures.saturating_add(1);
    state.last_attempt_ms = now_ms;
    write_lockout(storage, file, state)?;
    Ok(true)
}

/// A password that opened its slot: the master key, the slot's KEK, and the
/// slot itself (to check, under the lock, that it is still the file's).
struct RightPassword {
    key: MasterKey,
    kek: Zeroizing<Vec<u8>>,
    slot: PasswordSlot,
}

/// Clears the failure count after a successful unlock. If the write fails,
/// the reset is kept pending and made by the next operation that holds the
/// lock (unless another instance counted more failures meanwhile).
fn reset_failures(storage: &dyn Storage, present: &mut Present) {
    let file = &mut present.file;
    if file.lockout.failures == 0 {
        present.reset_pending = None;
        return;
    }
    let seen = file.lockout.failures;
    let state = LockoutState {
        failures: 0,
        last_attempt_ms: 0,
        ..file.lockout
    };
    present.reset_pending = match write_lockout(storage, file, state) {
        Ok(()) => None,
        Err(_) => Some(seen),
    };
}

/// Re-keys the vault: a new master key for the contents, the password slot
/// from `seal_password` (given the vault id and the new key), the platform
/// slot dropped (its key is not at hand) and its invalidation mark cleared.
/// An old copy of the file, even with the password or platform key that
/// opened it, then opens no later file.
fn rotate(
    storage: &dyn Storage,
    file: &mut VaultFile,
    session: &mut Session,
    seal_password: impl FnOnce(
        &[u8; format::VAULT_ID_LEN],
        &MasterKey,
    ) -> Result<PasswordSlot, VaultError>,
) -> Result<(), VaultError> {
    let master = MasterKey::random()?;
    let slot = seal_password(&file.header.vault_id, &master)?;
    rotate_to(storage, file, session, master, slot)
}

/// As [`rotate`], with the new master key and its password slot made already.
fn rotate_to(
    storage: &dyn Storage,
    file: &mut VaultFile,
    session: &mut Session,
    master: MasterKey,
    password: PasswordSlot,
) -> Result<(), VaultError> {
    let mut header = file.header.clone();
    header.password = password;
    header.platform = None;
    let lockout = LockoutState {
        platform_invalidated: false,
        ..file.lockout
    };
    *file = seal_and_save(storage, header, lockout, &master, &session.contents)?;
    session.key = master;
    Ok(())
}

/// Under the lock, after the derivation: the password slot a password was
/// checked against must still be the file's (another instance may have
/// changed the password meanwhile).
fn still_the_slot(file: &VaultFile, slot: &PasswordSlot) -> Result<(), VaultError> {
    if file.header.password == *slot {
        Ok(())
    } else {
        Err(VaultError::Conflict)
    }
}

/// The same password slot (salt, parameters, device secret) wrapping
/// `master` under the KEK the password just derived, with a new nonce.
fn rewrap_password(
    old: &PasswordSlot,
    kek: &[u8],
    vault_id: &[u8; format::VAULT_ID_LEN],
    master: &MasterKey,
) -> Result<PasswordSlot, VaultError> {
    PasswordSlot::seal(
        vault_id,
        old.salt,
        old.kdf,
        random_array()?,
        old.device.clone(),
        kek,
        master,
    )
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
        Self::create_with(Box::new(storage), clock, password, options, None)
    }

    /// As [`Vault::create`], with the password slot bound to this device:
    /// its key depends on the password *and* on a secret that only `device`
    /// (the Android Keystore, the iOS Secure Enclave) can unwrap, so a copy of
    /// the file cannot be attacked anywhere else. Opening it later needs
    /// [`Vault::set_device_key`] before the password unlock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dynpin::clock::ManualClock;
    /// use dynpin::kdf::KdfParams;
    /// use dynpin::vault::{MemoryStorage, SoftwareDeviceKey, Vault, VaultError, VaultOptions};
    ///
    /// let storage = Arc::new(MemoryStorage::new());
    /// let clock = Arc::new(ManualClock::from_unix_seconds(1_800_000_000));
    /// let phone = Arc::new(SoftwareDeviceKey::new()?);
    /// let options = VaultOptions { kdf: KdfParams::MINIMUM, ..VaultOptions::default() };
    /// Vault::create_bound(storage.clone(), clock.clone(), "my vault password", options, phone.clone())?;
    ///
    /// // The same file and the right password, on another phone: nothing opens.
    /// let mut elsewhere = Vault::open(storage.clone(), clock.clone())?;
    /// elsewhere.set_device_key(Arc::new(SoftwareDeviceKey::new()?));
    /// assert!(elsewhere.unlock_with_password("my vault password").is_err());
    /// // Without a device key at all, the app is told what is missing.
    /// let mut bare = Vault::open(storage.clone(), clock.clone())?;
    /// assert_eq!(bare.unlock_with_password("my vault password"), Err(VaultError::DeviceKeyMissing));
    ///
    /// let mut vault = Vault::open(storage, clock)?;
    /// vault.set_device_key(phone);
    /// vault.unlock_with_password("my vault password")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Vault::create`], and [`VaultError::DeviceKey`] when the key
    /// store cannot wrap the device secret or does not give it back.
    pub fn create_bound(
        storage: impl Storage + 'static,
        clock: Arc<dyn Clock>,
        password: &str,
        options: VaultOptions,
        device: Arc<dyn DeviceKey>,
    ) -> Result<Self, VaultError> {
        Self::create_with(Box::new(storage), clock, password, options, Some(device))
    }

    fn create_with(
        storage: Box<dyn Storage>,
        clock: Arc<dyn Clock>,
        password: &str,
        options: VaultOptions,
        device: Option<Arc<dyn DeviceKey>>,
    ) -> Result<Self, VaultError> {
        check_new_password(password)?;
        options.validate()?;
        let file = {
            let _lock = storage::lock(&*storage)?;
            if storage::exists(&*storage)? {
                return Err(VaultError::AlreadyExists);
            }
            let key = MasterKey::random()?;
            let vault_id = random_array()?;
            let header = Header {
                vault_id,
                generation: 0,
                policy: options.lockout,
                password: seal_password_slot(
                    &vault_id,
                    password,
                    options.kdf,
                    device.as_deref(),
                    &key,
                )?,
                platform: None,
            };
            let contents = Contents {
                auto_lock_seconds: options.auto_lock_seconds,
                cards: contents::CardList::with_capacity(4),
            };
            let file = seal_and_save(&*storage, header, LockoutState::default(), &key, &contents)?;
            (file, key, contents)
        };
        let (file, key, contents) = file;
        let now = clock.now_millis();
        let activity = Arc::new(Activity::new(now));
        let mut present = Present::new(file, Arc::clone(&activity));
        present.begin_session(Session::new(key, contents), now);
        Ok(Self {
            storage,
            clock,
            kdf_ceiling: KdfParams::MAXIMUM,
            device,
            lock_epoch: 0,
            activity,
            state: State::Present(Box::new(present)),
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
        // Before the lock: its file cannot be made where there is nothing
        // (a directory not created yet is "no vault", not a storage error).
        if !storage::exists(&*storage)? {
            return Err(VaultError::NotFound);
        }
        let file = {
            let _lock = storage::lock(&*storage)?;
            let bytes = storage::load(&*storage)?.ok_or(VaultError::NotFound)?;
            let mut file = format::parse(&bytes, Checks::Verify)?;
            // No device key yet: a wipe due now cannot delete it (the app
            // resets its key store when it sees `Wiped`).
            match enforce_limit(&*storage, &mut file, None) {
                Ok(()) | Err(VaultError::LockedForGood) => {}
                Err(e) => return Err(e),
            }
            file
        };
        let activity = Arc::new(Activity::new(clock.now_millis()));
        Ok(Self {
            storage,
            clock,
            kdf_ceiling: KdfParams::MAXIMUM,
            device: None,
            lock_epoch: 0,
            state: State::Present(Box::new(Present::new(file, Arc::clone(&activity)))),
            activity,
        })
    }

    /// Gives the vault the device's key store: needed before a password
    /// unlock of a device-bound vault ([`Vault::is_device_bound`]); with it,
    /// a password change binds the new password slot to this device, and a
    /// wipe deletes the key.
    pub fn set_device_key(&mut self, device: Arc<dyn DeviceKey>) {
        self.device = Some(device);
    }

    /// Whether the password slot is bound to a device key (readable while
    /// locked).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn is_device_bound(&self) -> Result<bool, VaultError> {
        Ok(self.present()?.file.header.password.device.is_some())
    }

    /// The file's save generation: one more on every save of the contents or
    /// keys (0 for a version-1 file not yet saved). An app that keeps the
    /// highest value it saw somewhere a file restore cannot reach (a
    /// hardware-backed counter) can detect a rolled-back file; this instance
    /// itself refuses one with [`VaultError::RolledBack`].
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn generation(&self) -> Result<u64, VaultError> {
        Ok(self.present()?.file.header.generation)
    }

    /// Removes every generation of the vault in `storage`, whatever state it
    /// is in (even damaged or locked for good): the app's "reset" action. An
    /// app with a device key deletes it too ([`DeviceKey::destroy`]).
    ///
    /// # Errors
    /// A storage error.
    pub fn destroy(storage: &dyn Storage) -> Result<(), VaultError> {
        if !storage::exists(storage)? && storage.read(FileRole::Temp).ok().flatten().is_none() {
            return Ok(());
        }
        let _lock = storage::lock(storage)?;
        storage::destroy(storage)
    }

    /// Erases this vault from storage and memory, and deletes the device key
    /// if one was given.
    ///
    /// # Errors
    /// A storage error (the vault stays as it was in memory), or
    /// [`VaultError::DeviceKey`] when the file was erased but the device key
    /// could not be deleted.
    pub fn wipe(&mut self) -> Result<(), VaultError> {
        self.wipe_file()?;
        if let Some(device) = &self.device {
            device.destroy()?;
        }
        Ok(())
    }

    /// The first step of [`Vault::wipe`], fast: erases the file and the
    /// vault in memory, and leaves the device key (if any) to the caller,
    /// to delete with [`DeviceKey::destroy`] without holding the vault
    /// ([`Vault::device_key`] gives it).
    ///
    /// # Errors
    /// A storage error (the vault stays as it was).
    pub fn wipe_file(&mut self) -> Result<(), VaultError> {
        {
            let _lock = storage::lock(&*self.storage)?;
            storage::destroy(&*self.storage)?;
        }
        self.set_wiped();
        Ok(())
    }

    /// The device key store given with [`Vault::set_device_key`] or at creation.
    pub fn device_key(&self) -> Option<Arc<dyn DeviceKey>> {
        self.device.clone()
    }

    /// The vault is gone: nothing is shown any more.
    fn set_wiped(&mut self) {
        self.state = State::Wiped;
        self.activity.end_session();
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

    /// Runs `f` on the storage and the present vault under the storage's
    /// lock, after reloading what another instance saved; a
    /// [`VaultError::Wiped`] from either marks this vault as wiped.
    fn with_present<T>(
        &mut self,
        f: impl FnOnce(&dyn Storage, &mut Present, i64, Option<&dyn DeviceKey>) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let now = self.now();
        let State::Present(present) = &mut self.state else {
            return Err(VaultError::Wiped);
        };
        present.expire_if_idle(now);
        let result = {
            let storage = &*self.storage;
            let _lock = storage::lock(storage)?;
            reload(storage, present).and_then(|()| {
                if present.reset_pending == Some(present.file.lockout.failures) {
                    reset_failures(storage, present);
                }
                f(storage, present, now, self.device.as_deref())
            })
        };
        if matches!(result, Err(VaultError::Wiped | VaultError::NotFound)) {
            self.set_wiped();
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

    /// Brings this instance up to what another one (a widget, a share
    /// extension) saved: cards, settings, the failure count. Every change
    /// does this first by itself; call it when the app resumes so that the
    /// screen shows the same cards. A vault unlocked here stays unlocked
    /// unless its password was changed elsewhere (then it locks).
    ///
    /// # Errors
    /// [`VaultError::Wiped`] when the vault was erased elsewhere,
    /// [`VaultError::Conflict`], [`VaultError::RolledBack`], or a storage error.
    pub fn refresh(&mut self) -> Result<(), VaultError> {
        self.with_present(|_, _, _, _| Ok(()))
    }

    /// Changes a copy of the contents with `change`, saves it, and keeps it
    /// only if the save succeeded. Counts as user activity.
    fn update<T>(
        &mut self,
        change: impl FnOnce(&mut Contents) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.with_present(|storage, present, now, _| {
            let Present { file, session, .. } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            let mut next = Contents::clone(&session.contents);
            let out = change(&mut next)?;
            commit(storage, file, file.header.clone(), &session.key, &next)?;
            session.contents = Arc::new(next);
            present.activity.record(now);
            Ok(out)
        })
    }

    /// Changes a copy of the header with `change` (given the master key),
    /// saves, and keeps it only if the save succeeded. Counts as user activity.
    fn update_header(
        &mut self,
        change: impl FnOnce(&mut Header, &MasterKey) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        self.with_present(|storage, present, now, _| {
            let Present { file, session, .. } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            let mut header = file.header.clone();
            change(&mut header, &session.key)?;
            commit(storage, file, header, &session.key, &session.contents)?;
            present.activity.record(now);
            Ok(())
        })
    }

    // ---- unlocking ---------------------------------------------------------

    /// Unlocks with the app password (Persian and Arabic-Indic digits are read
    /// as ASCII). Does nothing if already unlocked. If the app reported the
    /// platform key invalidated ([`Vault::record_platform_key_invalidated`]),
    /// this unlock also removes its slot and rotates the master key.
    ///
    /// The attempt is counted on storage before the key is derived and the
    /// count is reset on success.
    ///
    /// # Errors
    /// [`VaultError::WrongPassword`] (counted) with the attempts left and the
    /// wait before the next one, [`VaultError::TryLater`] while a delay runs
    /// (not counted), [`VaultError::Wiped`] or [`VaultError::LockedForGood`] at
    /// the limit, [`VaultError::Kdf`] for stored parameters out of range,
    /// [`VaultError::DeviceKeyMissing`]/[`VaultError::DeviceKey`] for a
    /// device-bound vault whose key store is missing or refuses (not counted),
    /// [`VaultError::Tampered`]/[`VaultError::Corrupt`] for an altered body, or
    /// a storage error (the attempt is then not made: counting must succeed first).
    pub fn unlock_with_password(&mut self, password: &str) -> Result<(), VaultError> {
        if self.is_unlocked() {
            return Ok(());
        }
        let attempt = self.begin_password_attempt()?;
        let derived = attempt.derive(password)?;
        self.finish_unlock(derived)
    }

    /// The last step of an unlock begun with [`Vault::begin_password_attempt`]
    /// (see [`attempt`](self::attempt) for the steps): unlocks with the key
    /// the password opened, or applies the failure limit and reports the
    /// wrong password (counted when the attempt began).
    ///
    /// # Errors
    /// As [`Vault::unlock_with_password`], and [`VaultError::Conflict`] if
    /// another instance changed the password since the attempt began.
    pub fn finish_unlock(&mut self, derived: DerivedPassword) -> Result<(), VaultError> {
        let epoch = derived.epoch;
        // A wrong password is reported even if something else unlocked meanwhile.
        let right = self.checked(derived)?;
        let locked_meanwhile = epoch != self.lock_epoch;
        let already = self.is_unlocked();
        self.with_present(|storage, present, now, _| {
            still_the_slot(&present.file, &right.slot)?;
            // The right password: the count goes back to zero in any case.
            reset_failures(storage, present);
            if already {
                return Ok(());
            }
            if locked_meanwhile {
                // The app locked (say, it went to the background) while the
                // key was being derived: that lock stands.
                return Err(VaultError::Locked);
            }
            let contents = present.file.open(&right.key)?;
            let file = &mut present.file;
            let mut session = Session::new(right.key, contents);
            if file.lockout.platform_invalidated && file.header.platform.is_some() {
                // Best effort: until it succeeds, the mark keeps the slot unused.
                let _ = rotate(storage, file, &mut session, |id, master| {
                    rewrap_password(&right.slot, &right.kek, id, master)
                });
            }
            present.begin_session(session, now);
            Ok(())
        })
    }

    /// Begins a password attempt (see [`attempt`](self::attempt) for the
    /// steps): asks the device key store for its share of a device-bound
    /// slot and reserves the derivation's memory — neither counts as a guess
    /// if it fails — then, under the storage lock, applies the lockout and
    /// counts the attempt on storage before anything is derived. The storage
    /// lock is never held across the key store or the derivation.
    ///
    /// # Errors
    /// [`VaultError::TryLater`] while a delay runs (not counted),
    /// [`VaultError::Wiped`]/[`VaultError::LockedForGood`] at the limit,
    /// [`VaultError::Kdf`] for parameters out of range or above this
    /// device's ceiling, [`VaultError::DeviceKeyMissing`]/[`VaultError::DeviceKey`],
    /// or a storage error (nothing was counted).
    pub fn begin_password_attempt(&mut self) -> Result<PasswordAttempt, VaultError> {
        // A password changed by another instance since the last reload shows
        // as a slot that moved under the count: read it again and retry.
        for _ in 0..3 {
            let prepared = self.plan_password_attempt()?.prepare()?;
            if let Some(attempt) = self.count_password_attempt(prepared)? {
                return Ok(attempt);
            }
        }
        Err(VaultError::Conflict)
    }

    /// The first step of a password attempt, fast: what it needs from the
    /// vault (the slot, this device's ceiling checked, the device key). The
    /// next, [`AttemptPlan::prepare`], asks the key store and reserves the
    /// memory without the vault, so that a caller sharing the vault behind a
    /// mutex holds it across neither.
    ///
    /// # Errors
    /// [`VaultError::Kdf`], [`VaultError::Wiped`].
    pub fn plan_password_attempt(&self) -> Result<AttemptPlan, VaultError> {
        let file = &self.present()?.file;
        let slot = file.header.password.clone();
        slot.kdf.check_within(self.kdf_ceiling)?;
        Ok(AttemptPlan {
            slot,
            vault_id: file.header.vault_id,
            device: self.device.clone(),
            epoch: self.lock_epoch,
        })
    }

    /// Counts a prepared attempt on storage, under the storage lock, after
    /// the lockout checks; `None` when the password slot changed since the
    /// plan (another instance changed the password: plan again; nothing
    /// counted).
    ///
    /// # Errors
    /// [`VaultError::TryLater`], [`VaultError::Wiped`],
    /// [`VaultError::LockedForGood`], or a storage error (nothing counted).
    pub fn count_password_attempt(
        &mut self,
        prepared: PreparedAttempt,
    ) -> Result<Option<PasswordAttempt>, VaultError> {
        let counted = self.with_present(|storage, present, now, device| {
            count_attempt(storage, &mut present.file, &prepared.slot, now, device)
        })?;
        Ok(counted.then(|| PasswordAttempt::from(prepared)))
    }

    /// A derived attempt that opened its slot, or, under the lock, the
    /// failure limit applied and the wrong password reported.
    fn checked(&mut self, derived: DerivedPassword) -> Result<RightPassword, VaultError> {
        let DerivedPassword { slot, kek, key, .. } = derived;
        match key {
            Some(key) => Ok(RightPassword { key, kek, slot }),
            None => Err(self
                .with_present(|storage, present, _, device| {
                    enforce_limit(storage, &mut present.file, device)?;
                    Ok(wrong_password(
                        present.file.header.policy,
                        &present.file.lockout,
                    ))
                })
                .unwrap_or_else(|e| e)),
        }
    }

    /// Unlocks with the platform key: the 32 bytes the app's biometric-bound
    /// hardware key unwrapped from [`Vault::platform_key_blob`] after a
    /// successful prompt. Allowed while a password delay runs (the key cannot
    /// be guessed); resets the failure count.
    ///
    /// # Errors
    /// [`VaultError::NoPlatformKey`] if none is enrolled,
    /// [`VaultError::PlatformKeyInvalidated`] if this key does not open the
    /// slot or the app reported it invalidated (re-enrol after unlocking with
    /// the password), [`VaultError::LockedForGood`]/[`VaultError::Wiped`]
    /// past the limit. Nothing is counted.
    pub fn unlock_with_platform_key(&mut self, key: &PlatformKey) -> Result<(), VaultError> {
        self.with_present(|storage, present, now, device| {
            if present.session.is_some() {
                return Ok(());
            }
            let file = &mut present.file;
            enforce_limit(storage, file, device)?;
            let slot = file
                .header
                .platform
                .clone()
                .ok_or(VaultError::NoPlatformKey)?;
            if file.lockout.platform_invalidated {
                return Err(VaultError::PlatformKeyInvalidated);
            }
            let kek = crypto::platform_kek(key, &slot.salt)?;
            let master = slot
                .open(&file.header.vault_id, kek.as_ref())
                .ok_or(VaultError::PlatformKeyInvalidated)?;
            let contents = file.open(&master)?;
            reset_failures(storage, present);
            present.begin_session(Session::new(master, contents), now);
            Ok(())
        })
    }

    /// Locks: the master key, every card's seed and keyed state are dropped
    /// and wiped. The file is untouched.
    pub fn lock(&mut self) {
        self.lock_epoch = self.lock_epoch.wrapping_add(1);
        if let State::Present(present) = &mut self.state {
            present.end_session();
        }
    }

    /// Whether the vault is unlocked now (an idle one counts as locked).
    pub fn is_unlocked(&self) -> bool {
        let now = self.now();
        self.present()
            .ok()
            .is_some_and(|p| p.session.as_ref().is_some_and(|s| !p.expired(s, now)))
    }

    /// Locks the vault if it has been idle for its auto-lock time; returns
    /// whether it is locked. Call it from a timer or when the app resumes.
    pub fn check_auto_lock(&mut self) -> bool {
        self.session().is_err()
    }

    /// Records user activity, restarting the idle timer (taps; reading
    /// [`Vault::pins`] in the foreground counts by itself).
    ///
    /// # Errors
    /// [`VaultError::Locked`] if the vault is locked (or just locked itself).
    pub fn touch(&mut self) -> Result<(), VaultError> {
        let now = self.now();
        self.session()?;
        self.activity.record(now);
        Ok(())
    }

    /// The app went to the background (Android `onStop`, iOS
    /// `sceneDidEnterBackground`): the vault locks once it has been there for
    /// [`Vault::background_lock_seconds`] (checked whenever it is next used,
    /// so a suspended app locks as it resumes). A second call keeps the
    /// first time. Reading codes in the background does not keep it unlocked.
    pub fn enter_background(&self) {
        self.activity.enter_background(self.now());
    }

    /// The app is in the foreground again (Android `onStart`, iOS
    /// `sceneWillEnterForeground`): locks if it was away past the grace (or
    /// idle past the auto-lock), and returns whether the vault is locked, for
    /// the app to show the lock screen at once.
    pub fn enter_foreground(&mut self) -> bool {
        let locked = self.session().is_err();
        self.activity.enter_foreground();
        locked
    }

    /// Seconds the app may spend in the background before the vault locks
    /// ([`DEFAULT_BACKGROUND_LOCK_SECONDS`] unless set). Not stored: the app
    /// sets it after opening.
    pub fn background_lock_seconds(&self) -> u32 {
        self.activity.background_lock_seconds()
    }

    /// Sets [`Vault::background_lock_seconds`]: 0 locks as soon as the app
    /// leaves the foreground; at most [`MAX_AUTO_LOCK_SECONDS`].
    ///
    /// # Errors
    /// [`VaultError::InvalidSetting`] above the maximum.
    pub fn set_background_lock_seconds(&mut self, seconds: u32) -> Result<(), VaultError> {
        if seconds > MAX_AUTO_LOCK_SECONDS {
            return Err(VaultError::InvalidSetting(Setting::BackgroundLock));
        }
        self.activity.set_background_lock_seconds(seconds);
        Ok(())
    }

    /// What a screen reads, taken now in one step: lock state, lockout and
    /// (unlocked) the cards, readable without the vault (see [`Snapshot`]).
    /// The auto-lock is applied first.
    pub fn snapshot(&mut self) -> Snapshot {
        let now = self.now();
        let activity = Arc::clone(&self.activity);
        match &mut self.state {
            State::Wiped => Snapshot::wiped(activity),
            State::Present(present) => {
                present.expire_if_idle(now);
                let file = &present.file;
                Snapshot::present(
                    activity,
                    file.lockout,
                    file.header.policy,
                    file.platform_usable(),
                    file.header.password.device.is_some(),
                    present.session.as_ref().map(|s| Arc::clone(&s.contents)),
                )
            }
        }
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

    /// Whether a usable platform key is enrolled (readable while locked, to
    /// offer the biometric prompt): false once the app reported it
    /// invalidated ([`Vault::record_platform_key_invalidated`]).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn has_platform_key(&self) -> Result<bool, VaultError> {
        let file = &self.present()?.file;
        Ok(file.platform_usable())
    }

    /// The platform key as the app's biometric-bound hardware key wrapped it
    /// at enrolment ([`Vault::enrol_platform_key`]), readable while locked:
    /// the app unwraps it with the hardware key after the biometric prompt
    /// (Android `BiometricPrompt.CryptoObject`, iOS a Secure Enclave key with
    /// `.biometryCurrentSet`) and passes the result to
    /// [`Vault::unlock_with_platform_key`]. `None` when no usable platform
    /// key is enrolled; empty for a slot enrolled without one (version 1).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn platform_key_blob(&self) -> Result<Option<Vec<u8>>, VaultError> {
        let file = &self.present()?.file;
        if file.lockout.platform_invalidated {
            return Ok(None);
        }
        Ok(file
            .header
            .platform
            .as_ref()
            .map(|slot| slot.app_blob.clone().unwrap_or_default()))
    }

    /// Records, while the vault is locked or not, that the platform key's
    /// hardware key is gone (Android `KeyPermanentlyInvalidatedException`,
    /// iOS: the `.biometryCurrentSet` key no longer usable after a new
    /// fingerprint or face was enrolled). [`Vault::has_platform_key`] then
    /// answers false, the platform unlock is refused, and the next password
    /// unlock removes the slot and rotates the master key. Written in the
    /// file's keyless region (no key is needed).
    ///
    /// # Errors
    /// [`VaultError::NoPlatformKey`] when none is enrolled, or a storage error.
    pub fn record_platform_key_invalidated(&mut self) -> Result<(), VaultError> {
        self.with_present(|storage, present, _, _| {
            let file = &mut present.file;
            if file.header.platform.is_none() {
                return Err(VaultError::NoPlatformKey);
            }
            if file.lockout.platform_invalidated {
                return Ok(());
            }
            let state = LockoutState {
                platform_invalidated: true,
                ..file.lockout
            };
            write_lockout(storage, file, state)
        })
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
    /// The master key is **rotated**: an old copy of the file, with the old
    /// password, opens no file saved from now on. The platform slot is
    /// removed (its key is not at hand to re-wrap the new master key): the
    /// app offers to enrol the biometric unlock again. With a device key
    /// ([`Vault::set_device_key`]) the new password slot is bound to it.
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
        let recipe = self.new_password_recipe(params)?;
        // The new slot first: if it cannot be made (memory, key store), no
        // attempt has been counted.
        let new = recipe.seal(new)?;
        let attempt = self.begin_password_attempt()?;
        let derived = attempt.derive(current)?;
        self.finish_password_change(derived, new)
    }

    /// The last step of a password change made in steps (see
    /// [`attempt`](self::attempt)): with the current password right, re-keys
    /// the vault under the new one ([`Vault::change_password`] says what
    /// that does); with it wrong, applies the failure limit.
    ///
    /// # Errors
    /// As [`Vault::change_password`], and [`VaultError::Conflict`] if another
    /// instance changed the password meanwhile.
    pub fn finish_password_change(
        &mut self,
        current: DerivedPassword,
        new: NewPassword,
    ) -> Result<(), VaultError> {
        let right = self.checked(current)?;
        let device_bound_now = self.device.is_some();
        self.with_present(|storage, present, now, _| {
            still_the_slot(&present.file, &right.slot)?;
            // The right password: the count goes back to zero in any case.
            reset_failures(storage, present);
            // A new slot made for another vault, or before the device key
            // was given (it would drop the binding), is not installed.
            if new.vault_id != present.file.header.vault_id || new.device_bound != device_bound_now
            {
                return Err(VaultError::Conflict);
            }
            let Present { file, session, .. } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            rotate_to(storage, file, session, new.master, new.slot)?;
            present.activity.record(now);
            Ok(())
        })
    }

    /// Enrols (or replaces) the platform key. `app_blob` is the same key as
    /// the app's biometric-bound hardware key wrapped it (at most
    /// [`MAX_DEVICE_BLOB_LEN`] bytes): the vault keeps it and hands it back
    /// while locked ([`Vault::platform_key_blob`]), so the raw key never
    /// needs to be stored anywhere. Pass an empty blob if the app keeps the
    /// key itself.
    ///
    /// A platform key already enrolled (even one reported invalidated) is
    /// not replaced: remove it first ([`Vault::remove_platform_key`], with
    /// the password), which rotates the master key, so that the old key opens
    /// no later file.
    ///
    /// # Errors
    /// [`VaultError::PlatformKeyEnrolled`], [`VaultError::InvalidSetting`] for
    /// a blob over 1,024 bytes, [`VaultError::Locked`] or a storage error.
    pub fn enrol_platform_key(
        &mut self,
        key: &PlatformKey,
        app_blob: &[u8],
    ) -> Result<(), VaultError> {
        if format::check_blob(app_blob).is_err() {
            return Err(VaultError::InvalidSetting(Setting::WrappedPlatformKey));
        }
        let salt = random_array()?;
        let nonce = random_array()?;
        let kek = crypto::platform_kek(key, &salt)?;
        self.with_present(|storage, present, now, _| {
            let Present { file, session, .. } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            // Replacing a key would keep the master key the old one opened:
            // the old key is removed first, which rotates it.
            if file.header.platform.is_some() {
                return Err(VaultError::PlatformKeyEnrolled);
            }
            let mut header = file.header.clone();
            header.platform = Some(PlatformSlot::seal(
                &header.vault_id,
                salt,
                nonce,
                Some(app_blob.to_vec()),
                kek.as_ref(),
                &session.key,
            )?);
            let lockout = LockoutState {
                platform_invalidated: false,
                ..file.lockout
            };
            *file = seal_and_save(storage, header, lockout, &session.key, &session.contents)?;
            present.activity.record(now);
            Ok(())
        })
    }

    /// Removes the platform key, after checking the password (a counted
    /// attempt, as at unlock): only the password unlocks afterwards. The
    /// master key is rotated, so the removed key opens no later file.
    ///
    /// # Errors
    /// As [`Vault::unlock_with_password`] for `password`,
    /// [`VaultError::Locked`] or a storage error.
    pub fn remove_platform_key(&mut self, password: &str) -> Result<(), VaultError> {
        self.session()?;
        let attempt = self.begin_password_attempt()?;
        let derived = attempt.derive(password)?;
        self.finish_remove_platform_key(derived)
    }

    /// The last step of [`Vault::remove_platform_key`], for a caller that
    /// ran the password attempt's slow steps without holding the vault (as
    /// [`Vault::finish_password_change`]).
    ///
    /// # Errors
    /// As [`Vault::remove_platform_key`].
    pub fn finish_remove_platform_key(
        &mut self,
        derived: DerivedPassword,
    ) -> Result<(), VaultError> {
        let right = self.checked(derived)?;
        self.with_present(|storage, present, now, _| {
            still_the_slot(&present.file, &right.slot)?;
            reset_failures(storage, present);
            let Present { file, session, .. } = present;
            let session = session.as_mut().ok_or(VaultError::Locked)?;
            rotate(storage, file, session, |id, master| {
                rewrap_password(&right.slot, &right.kek, id, master)
            })?;
            present.activity.record(now);
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
    /// In the foreground this counts as user activity (the user is looking
    /// at the codes: the vault does not lock under them); see
    /// [`Snapshot::pins`].
    ///
    /// # Errors
    /// [`VaultError::Locked`] (also once the idle time has passed).
    pub fn pins(&mut self) -> Result<Vec<CardPins>, VaultError> {
        // One clock reading for every card: a screen shows them at one instant.
        let now = self.now();
        self.snapshot().pins(now, now)
    }

    // ---- backups -----------------------------------------------------------

    /// An encrypted backup of the exportable cards (bank cards only when
    /// their issuer allowed it), under its own `password` with Argon2id at
    /// [`KdfParams::DEFAULT`] (or this device's ceiling, where lower).
    ///
    /// # Errors
    /// [`VaultError::NothingToExport`], [`VaultError::Password`],
    /// [`VaultError::Locked`].
    pub fn export_backup(&mut self, password: &str) -> Result<Vec<u8>, VaultError> {
        check_backup_password(password)?;
        self.prepare_backup()?.seal(password)
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
        self.prepare_backup_with(params)?.seal(password)
    }

    /// The first step of [`Vault::export_backup`], fast: the exportable
    /// cards, copied, and the key derivation's cost. The slow step,
    /// [`BackupExport::seal`] (Argon2id), needs no vault, so a caller
    /// sharing the vault behind a mutex does not hold it there. Counts as
    /// user activity.
    ///
    /// # Errors
    /// [`VaultError::NothingToExport`], [`VaultError::Locked`].
    pub fn prepare_backup(&mut self) -> Result<BackupExport, VaultError> {
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
        self.prepare_backup_with(params)
    }

    fn prepare_backup_with(&mut self, params: KdfParams) -> Result<BackupExport, VaultError> {
        let now = self.now();
        let all = self.session()?.contents.cards.as_slice();
        // Allocated once, at its final size: a vector that grew would leave
        // unwiped copies of the cards' keys in the buffers it left behind.
        let mut cards = Vec::with_capacity(all.iter().filter(|c| c.exportable()).count());
        cards.extend(all.iter().filter(|c| c.exportable()).cloned());
        if cards.is_empty() {
            return Err(VaultError::NothingToExport);
        }
        self.activity.record(now);
        Ok(BackupExport { cards, params })
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
        let opened = OpenedBackup::open(backup, password, self.kdf_ceiling)?;
        self.add_backup(opened, on_existing)
    }

    /// The last step of [`Vault::import_backup`], fast: adds the cards of a
    /// backup opened with [`OpenedBackup::open`] (the slow step, which needs
    /// no vault). One save.
    ///
    /// # Errors
    /// [`VaultError::TooManyCards`], [`VaultError::Locked`] or a storage error.
    pub fn add_backup(
        &mut self,
        opened: OpenedBackup,
        on_existing: OnExisting,
    ) -> Result<ImportSummary, VaultError> {
        self.update(|c| {
            let mut summary = ImportSummary::default();
            for card in opened.cards.as_slice() {
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
