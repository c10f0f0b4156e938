//! `Authenticator`: one object for an authenticator app's whole life.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::background::off_the_caller;
use super::clock::{MobileClock, resolve};
use super::device::{DeviceKeyStore, ForeignDeviceKey};
use zeroize::Zeroizing;

use super::error::{DynpinError, InputProblem};
use super::types::{
    ActivationDetails, ActivationResult, BackupImport, CardCodes, CardInfo, ClockCheck,
    LockoutInfo, PinInfo, PinType, VaultSettings,
};
use dynpin::activation::{self, ActivationCode, ActivationPayload};
use dynpin::card::{Card, CardId};
use dynpin::clock::Clock;
use dynpin::import;
use dynpin::kdf::KdfParams;
use dynpin::pin::PinKind;
use dynpin::vault::OnExisting;
use dynpin::vault::{
    DEFAULT_FILE_NAME, DeviceKey, FileStorage, LockoutPolicy, MAX_DEVICE_BLOB_LEN, OnLimit,
    OpenedBackup, PasswordAttempt, PlatformKey, Snapshot, Vault, VaultError, VaultOptions,
    check_backup_password, check_new_password,
};

/// The dynamic-PIN authenticator: an encrypted vault of cards in a directory
/// the app owns, and everything done with it.
///
/// Safe to call from any thread. Reads (`codes`, `pin`, `cards`,
/// `is_locked`, `lockout_status`, …) never wait: they read the last
/// snapshot of the vault, which every other call replaces when it is done.
/// Changes are serialised and saved before the call returns. The slow calls
/// (a key derivation: unlocking with the password, changing it, activating,
/// backups, removing biometrics, creating; or the app's key store: wiping)
/// are `suspend` (Kotlin) / `async` (Swift, Python) and run on a thread of
/// their own. Errors are `DynpinException` (Kotlin) / `DynpinError` (Swift)
/// with the fields a UI needs.
#[derive(uniffi::Object)]
pub struct Authenticator {
    /// Every change, one at a time; held across a save (milliseconds), never
    /// across a key derivation or the app's key store.
    vault: Mutex<Vault>,
    /// What reads read: replaced after every call that took `vault`, held
    /// only to clone or replace it.
    shown: Mutex<Snapshot>,
    /// Held across a password attempt's steps (count, derive, finish): a
    /// double tap on unlock with the right password derives once (the
    /// second finds the vault unlocked), and one Argon2id's memory is
    /// reserved at a time. Taken before `vault`, never while holding it.
    attempts: Mutex<()>,
    clock: Arc<dyn Clock>,
    /// The app-wide correction added to the clock for codes, in seconds.
    app_time_offset: AtomicI64,
}

fn storage(directory: &str) -> FileStorage {
    FileStorage::new(PathBuf::from(directory), DEFAULT_FILE_NAME)
}

fn card_id(id: &str) -> Result<CardId, DynpinError> {
    CardId::parse(id).ok_or_else(|| DynpinError::UnknownCard {
        card_id: id.to_owned(),
    })
}

fn on_existing(replace: bool) -> OnExisting {
    if replace {
        OnExisting::Replace
    } else {
        OnExisting::Refuse
    }
}

/// A secret passed as bytes, as text: wiped when dropped, whatever happens.
fn utf8(bytes: Vec<u8>) -> Result<Zeroizing<String>, DynpinError> {
    let bytes = Zeroizing::new(bytes);
    let text = std::str::from_utf8(&bytes).map_err(|_| DynpinError::InvalidInput {
        problem: InputProblem::NotUtf8,
        limit: None,
        reason: "the text is not UTF-8".to_owned(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// The platform key from the bytes the app passed, which are wiped here.
fn platform_key(bytes: Vec<u8>) -> Result<PlatformKey, DynpinError> {
    let bytes = Zeroizing::new(bytes);
    Ok(PlatformKey::from_bytes(&bytes)?)
}

#[uniffi::export]
impl Authenticator {
    /// Creates a new vault in `directory` (created if missing) protected by
    /// `password`, with the default settings, and returns it unlocked.
    /// `clock` is the app's clock, or null/nil for the system clock.
    #[uniffi::constructor]
    pub async fn create(
        directory: String,
        password: String,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        let password = Zeroizing::new(password);
        off_the_caller(move || {
            Self::create_vault(&directory, &password, VaultSettings::default(), clock, None)
        })
        .await
    }

    /// As `create`, with chosen settings (KDF cost, auto-lock, lockout).
    #[uniffi::constructor]
    pub async fn create_with_settings(
        directory: String,
        password: String,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        let password = Zeroizing::new(password);
        off_the_caller(move || Self::create_vault(&directory, &password, settings, clock, None))
            .await
    }

    /// As `create_with_settings`, with the password as UTF-8 bytes the app
    /// wipes after the call.
    #[uniffi::constructor]
    pub async fn create_with_password_bytes(
        directory: String,
        password: Vec<u8>,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        let password = utf8(password)?;
        off_the_caller(move || Self::create_vault(&directory, &password, settings, clock, None))
            .await
    }

    /// Creates a vault bound to this device: its password slot needs both
    /// the password and `device_key` (the app's non-exportable Keystore /
    /// Secure Enclave key), so a copied vault file cannot be attacked off the
    /// phone. Reopen it with `open` and then `set_device_key` before the
    /// password unlock. The password is UTF-8 bytes the app wipes afterwards.
    #[uniffi::constructor]
    pub async fn create_bound(
        directory: String,
        password: Vec<u8>,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
        device_key: Arc<dyn DeviceKeyStore>,
    ) -> Result<Arc<Self>, DynpinError> {
        let password = utf8(password)?;
        let device: Arc<dyn DeviceKey> = Arc::new(ForeignDeviceKey(device_key));
        off_the_caller(move || {
            Self::create_vault(&directory, &password, settings, clock, Some(device))
        })
        .await
    }

    /// Opens the vault in `directory`, locked (reads the file; derives no key).
    #[uniffi::constructor]
    pub fn open(
        directory: String,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        let clock = resolve(clock);
        let vault = Vault::open(storage(&directory), Arc::clone(&clock))?;
        Ok(Self::new(vault, clock))
    }

    /// Whether the vault is locked now (it locks itself after the idle time,
    /// or in the background past the grace). Never waits.
    pub fn is_locked(&self) -> bool {
        let now = self.clock.now_millis();
        !self.shown(now).is_unlocked(now)
    }

    /// Unlocks with the app password. Wrong passwords are counted; after five
    /// the error says how long to wait; at the limit the vault is wiped (or
    /// locked for good, as configured). Runs off the caller's thread.
    pub async fn unlock_with_password(
        self: Arc<Self>,
        password: String,
    ) -> Result<(), DynpinError> {
        let password = Zeroizing::new(password);
        off_the_caller(move || self.unlock_with(&password)).await
    }

    /// As `unlock_with_password`, from the password's UTF-8 bytes: a careful
    /// app keeps the password in a `ByteArray`/`Data` it wipes after the call,
    /// which a Kotlin or Swift string cannot be (see bindings/README.md).
    pub async fn unlock_with_password_bytes(
        self: Arc<Self>,
        password: Vec<u8>,
    ) -> Result<(), DynpinError> {
        let password = utf8(password)?;
        off_the_caller(move || self.unlock_with(&password)).await
    }

    /// Unlocks with the 32-byte key the app keeps in the Android Keystore or
    /// iOS Keychain behind biometrics, after the platform's prompt succeeded.
    /// Fast (no key derivation; one save when failures are reset).
    pub fn unlock_with_platform_key(&self, key: Vec<u8>) -> Result<(), DynpinError> {
        let key = platform_key(key)?;
        Ok(self.with_vault(|v| v.unlock_with_platform_key(&key))?)
    }

    /// Locks now: keys and seeds are wiped from memory, and reads show nothing.
    pub fn lock(&self) {
        self.with_vault(Vault::lock);
    }

    /// Records user activity (a tap on the code screen), restarting the idle
    /// timer. Reading codes in the foreground counts by itself. Never waits.
    pub fn touch(&self) -> Result<(), DynpinError> {
        let now = self.clock.now_millis();
        Ok(self.shown(now).touch(now)?)
    }

    /// The app went to the background (Android `onStop`, iOS
    /// `sceneDidEnterBackground`): the vault locks once it has been there
    /// `background_lock_seconds`, checked whenever it is next used.
    pub fn app_entered_background(&self) {
        self.with_vault(|v| v.enter_background());
    }

    /// The app is in the foreground again (Android `onStart`, iOS
    /// `sceneWillEnterForeground`). Returns whether the vault is locked (away
    /// past the grace, or idle past the auto-lock): show the lock screen then.
    pub fn app_entering_foreground(&self) -> bool {
        self.with_vault(Vault::enter_foreground)
    }

    /// Seconds the app may stay in the background before the vault locks
    /// (default 60: long enough to type a PIN into the payment page). Not
    /// stored: set it after opening.
    pub fn background_lock_seconds(&self) -> u32 {
        self.lock_vault().background_lock_seconds()
    }

    /// Sets `background_lock_seconds`: 0 locks as the app leaves the
    /// foreground; at most one day.
    pub fn set_background_lock_seconds(&self, seconds: u32) -> Result<(), DynpinError> {
        Ok(self.with_vault(|v| v.set_background_lock_seconds(seconds))?)
    }

    /// Idle seconds before the vault locks itself.
    pub fn auto_lock_seconds(&self) -> Result<u32, DynpinError> {
        Ok(self.with_vault(Vault::auto_lock_seconds)?)
    }

    /// Sets the idle time before the vault locks itself.
    pub fn set_auto_lock_seconds(&self, seconds: u32) -> Result<(), DynpinError> {
        Ok(self.with_vault(|v| v.set_auto_lock_seconds(seconds))?)
    }

    /// Failed password attempts, attempts left and any wait. Never waits.
    pub fn lockout_status(&self) -> Result<LockoutInfo, DynpinError> {
        let now = self.clock.now_millis();
        Ok(self.shown(now).lockout_status(now)?.into())
    }

    /// Changes the app password (the current one is checked and counted).
    /// Runs off the caller's thread.
    pub async fn change_password(
        self: Arc<Self>,
        current: String,
        new_password: String,
    ) -> Result<(), DynpinError> {
        let (current, new_password) = (Zeroizing::new(current), Zeroizing::new(new_password));
        off_the_caller(move || self.change_password_with(&current, &new_password)).await
    }

    /// As `change_password`, from UTF-8 bytes the app wipes after the call.
    pub async fn change_password_bytes(
        self: Arc<Self>,
        current: Vec<u8>,
        new_password: Vec<u8>,
    ) -> Result<(), DynpinError> {
        let (current, new_password) = (utf8(current)?, utf8(new_password)?);
        off_the_caller(move || self.change_password_with(&current, &new_password)).await
    }

    /// Enables biometric unlock. `key` is 32 random bytes
    /// (`PlatformKey::random` in the core, or the app's own); `wrapped_key` is
    /// the same key as the app's biometric-bound hardware key wrapped it
    /// (Android `BiometricPrompt.CryptoObject` cipher, iOS Secure Enclave key
    /// with `.biometryCurrentSet`), at most 1,024 bytes. The vault keeps
    /// `wrapped_key` and returns it while locked (`platform_key_blob`), so
    /// the raw key is never stored; pass an empty one if the app stores the
    /// key itself.
    pub fn enrol_platform_key(
        &self,
        key: Vec<u8>,
        wrapped_key: Vec<u8>,
    ) -> Result<(), DynpinError> {
        if wrapped_key.len() > MAX_DEVICE_BLOB_LEN {
            return Err(DynpinError::InvalidInput {
                problem: InputProblem::WrappedKeyTooLong,
                limit: i32::try_from(MAX_DEVICE_BLOB_LEN).ok(),
                reason: format!("a wrapped platform key has at most {MAX_DEVICE_BLOB_LEN} bytes"),
            });
        }
        let key = platform_key(key)?;
        Ok(self.with_vault(|v| v.enrol_platform_key(&key, &wrapped_key))?)
    }

    /// The wrapped platform key stored at enrolment, readable while locked:
    /// unwrap it with the biometric-bound hardware key after the prompt and
    /// pass the result to `unlock_with_platform_key`. `None` when biometric
    /// unlock is not enabled (or was reported invalidated).
    pub fn platform_key_blob(&self) -> Result<Option<Vec<u8>>, DynpinError> {
        Ok(self.lock_vault().platform_key_blob()?)
    }

    /// Records that the biometric-bound hardware key is gone (Android
    /// `KeyPermanentlyInvalidatedException`; iOS: the key no longer usable
    /// after a biometric change). Works while locked; `has_platform_key`
    /// then answers false and the next password unlock removes the slot.
    pub fn record_platform_key_invalidated(&self) -> Result<(), DynpinError> {
        Ok(self.with_vault(Vault::record_platform_key_invalidated)?)
    }

    /// Disables biometric unlock, after checking the password (a counted
    /// attempt); the vault's master key is rotated. Runs off the caller's thread.
    pub async fn remove_platform_key(self: Arc<Self>, password: String) -> Result<(), DynpinError> {
        let password = Zeroizing::new(password);
        off_the_caller(move || self.remove_platform_key_with(&password)).await
    }

    /// As `remove_platform_key`, with the password as UTF-8 bytes the app
    /// wipes after the call.
    pub async fn remove_platform_key_with_password_bytes(
        self: Arc<Self>,
        password: Vec<u8>,
    ) -> Result<(), DynpinError> {
        let password = utf8(password)?;
        off_the_caller(move || self.remove_platform_key_with(&password)).await
    }

    /// The vault file's save generation (one more on every save). An app
    /// that keeps the highest value seen in hardware-backed storage can
    /// detect a file put back from an old copy.
    pub fn generation(&self) -> Result<u64, DynpinError> {
        Ok(self.lock_vault().generation()?)
    }

    /// Reloads what another instance (a widget, a share extension) saved in
    /// the same directory; call it when the app resumes. Every change does
    /// it by itself first.
    pub fn refresh(&self) -> Result<(), DynpinError> {
        Ok(self.with_vault(Vault::refresh)?)
    }

    /// Gives the vault the app's hardware key store: needed before a
    /// password unlock of a vault made with `create_bound`; with it, a
    /// password change binds the new password to this device, and a wipe
    /// deletes the key.
    pub fn set_device_key(&self, device_key: Arc<dyn DeviceKeyStore>) {
        self.lock_vault()
            .set_device_key(Arc::new(ForeignDeviceKey(device_key)));
    }

    /// Whether the vault's password is bound to a device key store
    /// (readable while locked: call `set_device_key` first if so).
    pub fn is_device_bound(&self) -> Result<bool, DynpinError> {
        Ok(self.shown(self.clock.now_millis()).is_device_bound()?)
    }

    /// Whether biometric unlock is enabled. Never waits.
    pub fn has_platform_key(&self) -> Result<bool, DynpinError> {
        Ok(self.shown(self.clock.now_millis()).has_platform_key()?)
    }

    /// The costliest key derivation (Argon2id memory in KiB and passes) this
    /// device accepts for activation payloads, the vault's password and
    /// backups; anything costlier is refused (`KdfParametersRejected`, with
    /// `too_costly`) before any work. Default and upper bound: 1 GiB, 16
    /// passes. A phone with little memory (a 32-bit one) lowers it at start.
    pub fn set_kdf_ceiling(&self, memory_kib: u32, iterations: u32) {
        self.lock_vault().set_kdf_ceiling(KdfParams {
            memory_kib,
            iterations,
            lanes: KdfParams::MAXIMUM.lanes,
        });
    }

    /// Reads an activation payload (scanned QR text or pasted SMS) without the
    /// code: bank, last four digits, label, expiry, and what its key
    /// derivation costs (to refuse it here rather than after the code is
    /// typed). Works while locked.
    pub fn inspect_activation(&self, payload: String) -> Result<ActivationDetails, DynpinError> {
        Ok(activation::inspect(&payload)?.into())
    }

    /// Activates a card from its payload and the activation code the bank
    /// sent by SMS or printed at the ATM (ASCII, Persian or Arabic-Indic
    /// digits; spaces and dashes allowed), and saves it. A card with the same
    /// number is refused unless `replace_existing`, before the slow key
    /// derivation. Runs off the caller's thread.
    pub async fn activate(
        self: Arc<Self>,
        payload: String,
        activation_code: String,
        replace_existing: bool,
    ) -> Result<ActivationResult, DynpinError> {
        let code = Zeroizing::new(activation_code);
        off_the_caller(move || self.activate_with(&payload, &code, replace_existing)).await
    }

    /// As `activate`, with the activation code as UTF-8 bytes the app wipes
    /// after the call.
    pub async fn activate_with_code_bytes(
        self: Arc<Self>,
        payload: String,
        activation_code: Vec<u8>,
        replace_existing: bool,
    ) -> Result<ActivationResult, DynpinError> {
        let code = utf8(activation_code)?;
        off_the_caller(move || self.activate_with(&payload, &code, replace_existing)).await
    }

    /// Imports an `otpauth://totp/…` or `otpauth://hotp/…` URI.
    pub fn import_otpauth(&self, uri: String) -> Result<CardInfo, DynpinError> {
        let card = import::parse_otpauth(&uri)?.into_card()?;
        self.with_vault(|vault| {
            let id = vault.add_card(card, OnExisting::Refuse)?;
            Ok(CardInfo::from(vault.card(id)?))
        })
    }

    /// Imports every token of a Google Authenticator export
    /// (`otpauth-migration://offline?data=…`). Every entry is checked before any
    /// is added, so a malformed export adds nothing.
    pub fn import_google_export(&self, uri: String) -> Result<Vec<CardInfo>, DynpinError> {
        let cards = import::parse_migration(&uri)?
            .into_iter()
            .map(|t| t.into_card())
            .collect::<Result<Vec<Card>, _>>()?;
        self.with_vault(|vault| {
            vault.touch()?;
            let mut ids = Vec::with_capacity(cards.len());
            for card in cards {
                ids.push(vault.add_card(card, OnExisting::Refuse)?);
            }
            ids.into_iter()
                .map(|id| Ok(CardInfo::from(vault.card(id)?)))
                .collect()
        })
    }

    /// The `otpauth://` URIs of an exportable card (one per PIN for bank cards).
    pub fn export_otpauth(&self, card_id: String) -> Result<Vec<String>, DynpinError> {
        let id = self::card_id(&card_id)?;
        self.with_vault(|vault| Ok(import::to_otpauth(vault.card(id)?)?))
    }

    /// The cards in display order. Never waits.
    pub fn cards(&self) -> Result<Vec<CardInfo>, DynpinError> {
        let now = self.clock.now_millis();
        let shown = self.shown(now);
        Ok(shown.cards(now)?.iter().map(CardInfo::from).collect())
    }

    /// Every card's PINs now, in one call: what a screen refresh needs.
    /// Never waits; in the foreground it keeps the vault unlocked (the user
    /// is looking at the codes).
    pub fn codes(&self) -> Result<Vec<CardCodes>, DynpinError> {
        let now = self.clock.now_millis();
        Ok(self
            .shown(now)
            .pins(now, self.codes_time(now))?
            .into_iter()
            .map(CardCodes::from)
            .collect())
    }

    /// One PIN of one card now, with its validity window. Never waits.
    pub fn pin(&self, card_id: String, kind: PinType) -> Result<PinInfo, DynpinError> {
        self.with_card(&card_id, |card, at| {
            Ok(card.pin_at_millis(PinKind::from(kind), at)?)
        })
    }

    /// The PIN that follows the current one (the next step's, or the next counter's).
    pub fn next_pin(&self, card_id: String, kind: PinType) -> Result<PinInfo, DynpinError> {
        self.with_card(&card_id, |card, at| {
            Ok(card.next_pin(&card.pin_at_millis(PinKind::from(kind), at)?)?)
        })
    }

    /// A second PIN bound to one payment: `amount_rials` to `payee` (card
    /// number, merchant id or name). Refused above the card's ceiling.
    pub fn amount_bound_code(
        &self,
        card_id: String,
        amount_rials: u64,
        payee: String,
    ) -> Result<PinInfo, DynpinError> {
        self.with_card(&card_id, |card, at| {
            Ok(card.amount_bound_code_at_millis(amount_rials, &payee, at)?)
        })
    }

    /// Moves a counter-based token to its next code.
    pub fn advance_counter(&self, card_id: String) -> Result<u64, DynpinError> {
        let id = self::card_id(&card_id)?;
        Ok(self.with_vault(|v| v.advance_counter(id))?)
    }

    /// Renames a card.
    pub fn rename_card(&self, card_id: String, label: String) -> Result<(), DynpinError> {
        let id = self::card_id(&card_id)?;
        Ok(self.with_vault(|v| v.rename_card(id, &label))?)
    }

    /// Removes a card; its seed is wiped.
    pub fn remove_card(&self, card_id: String) -> Result<(), DynpinError> {
        let id = self::card_id(&card_id)?;
        Ok(self.with_vault(|v| v.remove_card(id))?)
    }

    /// Puts the cards in this order (every card exactly once).
    pub fn reorder_cards(&self, card_ids: Vec<String>) -> Result<(), DynpinError> {
        let ids = card_ids
            .iter()
            .map(|id| self::card_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.with_vault(|v| v.reorder_cards(&ids))?)
    }

    /// Sets (or clears, with null/nil) the card's transaction ceiling in rials.
    pub fn set_amount_ceiling(
        &self,
        card_id: String,
        rials: Option<u64>,
    ) -> Result<(), DynpinError> {
        let id = self::card_id(&card_id)?;
        Ok(self.with_vault(|v| v.set_amount_ceiling(id, rials))?)
    }

    /// Sets seconds to add to the phone's clock for this card (±1 year),
    /// saved with the card.
    pub fn set_time_offset(&self, card_id: String, seconds: i64) -> Result<(), DynpinError> {
        let id = self::card_id(&card_id)?;
        Ok(self.with_vault(|v| v.set_time_offset(id, seconds))?)
    }

    /// Sets seconds to add to the phone's clock for every card's codes
    /// (±1 year), on top of each card's own correction: what `check_clock`
    /// suggests when the phone's clock is off. Not stored: the app keeps it
    /// (preferences) and sets it after opening. The auto-lock and lockout
    /// keep the phone's own clock.
    pub fn set_app_time_offset(&self, seconds: i64) -> Result<(), DynpinError> {
        if seconds.unsigned_abs() > MAX_APP_TIME_OFFSET_SECONDS {
            return Err(DynpinError::InvalidInput {
                problem: InputProblem::TimeOffsetOutOfRange,
                limit: None,
                reason: "a time correction is at most one year either way".to_owned(),
            });
        }
        self.app_time_offset.store(seconds, Ordering::Relaxed);
        Ok(())
    }

    /// The app-wide correction in seconds (0 unless set).
    pub fn app_time_offset(&self) -> i64 {
        self.app_time_offset.load(Ordering::Relaxed)
    }

    /// Compares the phone's clock (this object's clock) with a time the
    /// bank gave, `bank_unix_seconds` (the `Date` header of any answer from
    /// its API): how far off the phone is, and the app-wide offset that
    /// would correct the codes (pass it to `set_app_time_offset`).
    pub fn check_clock(&self, bank_unix_seconds: i64) -> ClockCheck {
        dynpin::clock::ClockCheck::against(self.clock.now_millis(), bank_unix_seconds).into()
    }

    /// An encrypted backup of the exportable cards, under its own password
    /// (at least 12 characters: a backup is guessed offline, with no
    /// lockout). Runs off the caller's thread.
    pub async fn export_backup(self: Arc<Self>, password: String) -> Result<Vec<u8>, DynpinError> {
        let password = Zeroizing::new(password);
        off_the_caller(move || self.export_backup_with(&password)).await
    }

    /// As `export_backup`, with the password as UTF-8 bytes the app wipes after the call.
    pub async fn export_backup_with_password_bytes(
        self: Arc<Self>,
        password: Vec<u8>,
    ) -> Result<Vec<u8>, DynpinError> {
        let password = utf8(password)?;
        off_the_caller(move || self.export_backup_with(&password)).await
    }

    /// Adds the cards of a backup; cards already present are skipped unless
    /// `replace_existing`. Runs off the caller's thread.
    pub async fn import_backup(
        self: Arc<Self>,
        backup: Vec<u8>,
        password: String,
        replace_existing: bool,
    ) -> Result<BackupImport, DynpinError> {
        let password = Zeroizing::new(password);
        off_the_caller(move || self.import_backup_with(&backup, &password, replace_existing)).await
    }

    /// As `import_backup`, with the password as UTF-8 bytes the app wipes after the call.
    pub async fn import_backup_with_password_bytes(
        self: Arc<Self>,
        backup: Vec<u8>,
        password: Vec<u8>,
        replace_existing: bool,
    ) -> Result<BackupImport, DynpinError> {
        let password = utf8(password)?;
        off_the_caller(move || self.import_backup_with(&backup, &password, replace_existing)).await
    }

    /// Erases the vault: every card is gone (the app's "reset"), and the
    /// device key store's key is deleted. Runs off the caller's thread.
    pub async fn wipe(self: Arc<Self>) -> Result<(), DynpinError> {
        off_the_caller(move || self.wipe_now()).await
    }
}

/// The largest app-wide time correction, seconds: a year, as per card.
const MAX_APP_TIME_OFFSET_SECONDS: u64 = 366 * 86_400;

impl Authenticator {
    fn new(vault: Vault, clock: Arc<dyn Clock>) -> Arc<Self> {
        let mut vault = vault;
        let shown = Mutex::new(vault.snapshot());
        Arc::new(Self {
            vault: Mutex::new(vault),
            shown,
            attempts: Mutex::new(()),
            clock,
            app_time_offset: AtomicI64::new(0),
        })
    }

    fn create_vault(
        directory: &str,
        password: &str,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
        device: Option<Arc<dyn DeviceKey>>,
    ) -> Result<Arc<Self>, DynpinError> {
        std::fs::create_dir_all(directory).map_err(|e| DynpinError::Storage {
            disk_full: e.kind() == std::io::ErrorKind::StorageFull,
            reason: format!("cannot create the directory ({})", e.kind()),
        })?;
        let options = VaultOptions {
            kdf: KdfParams {
                memory_kib: settings.kdf_memory_kib,
                iterations: settings.kdf_iterations,
                lanes: 1,
            },
            lockout: LockoutPolicy {
                max_attempts: settings.max_attempts,
                on_limit: if settings.wipe_on_limit {
                    OnLimit::Wipe
                } else {
                    OnLimit::LockForGood
                },
            },
            auto_lock_seconds: settings.auto_lock_seconds,
        };
        let clock = resolve(clock);
        let vault = match device {
            Some(device) => Vault::create_bound(
                storage(directory),
                Arc::clone(&clock),
                password,
                options,
                device,
            )?,
            None => Vault::create(storage(directory), Arc::clone(&clock), password, options)?,
        };
        Ok(Self::new(vault, clock))
    }

    /// The time codes are computed at: the clock plus the app-wide offset.
    fn codes_time(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.app_time_offset().saturating_mul(1000))
    }

    /// A PIN of one card from the current snapshot (viewing: keeps the
    /// vault unlocked in the foreground).
    fn with_card(
        &self,
        card_id: &str,
        pin: impl FnOnce(&Card, i64) -> Result<dynpin::pin::PinCode, DynpinError>,
    ) -> Result<PinInfo, DynpinError> {
        let id = self::card_id(card_id)?;
        let now = self.clock.now_millis();
        let shown = self.shown(now);
        let card = shown
            .viewed_cards(now)?
            .iter()
            .find(|c| c.id() == id)
            .ok_or(VaultError::NoSuchCard(id))?;
        let code = pin(card, self.codes_time(now))?;
        Ok(PinInfo::new(card, &code))
    }

    fn activate_with(
        &self,
        payload: &str,
        activation_code: &str,
        replace_existing: bool,
    ) -> Result<ActivationResult, DynpinError> {
        let code = ActivationCode::parse(activation_code)?;
        let payload = ActivationPayload::parse(payload)?;
        // Check the vault is unlocked before the slow key derivation.
        let ceiling = self.with_vault(|vault| {
            vault.touch()?;
            if !replace_existing {
                let card_ref = payload.info().card_ref;
                if let Some(present) = vault
                    .cards()?
                    .iter()
                    .find(|c| c.card_ref() == Some(card_ref))
                {
                    return Err(DynpinError::CardAlreadyPresent {
                        card_id: present.id().to_string(),
                    });
                }
            }
            Ok(vault.kdf_ceiling())
        })?;
        let activated = payload.activate_within(&code, &*self.clock, ceiling)?;
        let confirmation_code = activated.confirmation_code.clone();
        self.with_vault(|vault| {
            let id = vault.add_activated(activated, on_existing(replace_existing))?;
            Ok(ActivationResult {
                card: CardInfo::from(vault.card(id)?),
                confirmation_code,
            })
        })
    }

    /// A password unlock in steps: the vault's mutex is held only for the
    /// short steps (reading the slot, counting the attempt, unlocking), never
    /// across the device key store, the memory reservation or Argon2id, so
    /// `codes()` from the UI thread never waits for them and a
    /// `DeviceKeyStore` may call back into this object.
    fn unlock_with(&self, password: &str) -> Result<(), DynpinError> {
        let _one_attempt = self.one_attempt_at_a_time();
        // Checked with the attempts held: a second tap that waited for the
        // first one's unlock is not counted.
        if !self.is_locked() {
            return Ok(());
        }
        let attempt = self.counted_attempt()?;
        let derived = attempt.derive(password)?;
        Ok(self.with_vault(|v| v.finish_unlock(derived))?)
    }

    /// A password change in steps, every slow one (the new slot's Argon2id
    /// and key store, the current password's) with the vault's mutex
    /// released. The new slot is made first: if that fails, nothing was
    /// counted.
    fn change_password_with(&self, current: &str, new_password: &str) -> Result<(), DynpinError> {
        check_new_password(new_password).map_err(VaultError::from)?;
        let recipe = self.with_vault(|vault| {
            let params = vault.kdf_params()?;
            vault.new_password_recipe(params)
        })?;
        let new = recipe.seal(new_password)?;
        let _one_attempt = self.one_attempt_at_a_time();
        let attempt = self.counted_attempt()?;
        let derived = attempt.derive(current)?;
        Ok(self.with_vault(|v| v.finish_password_change(derived, new))?)
    }

    /// Removing biometrics in steps, as a password unlock: Argon2id and the
    /// key store run with the vault released.
    fn remove_platform_key_with(&self, password: &str) -> Result<(), DynpinError> {
        self.with_vault(Vault::touch)?;
        let _one_attempt = self.one_attempt_at_a_time();
        let attempt = self.counted_attempt()?;
        let derived = attempt.derive(password)?;
        Ok(self.with_vault(|v| v.finish_remove_platform_key(derived))?)
    }

    /// A backup in two steps: the cards copied under the vault's mutex, then
    /// sealed (Argon2id) without it.
    fn export_backup_with(&self, password: &str) -> Result<Vec<u8>, DynpinError> {
        check_backup_password(password).map_err(VaultError::from)?;
        let export = self.with_vault(Vault::prepare_backup)?;
        Ok(export.seal(password)?)
    }

    /// A backup import in two steps: opened (Argon2id) without the vault's
    /// mutex, then added in one save.
    fn import_backup_with(
        &self,
        backup: &[u8],
        password: &str,
        replace_existing: bool,
    ) -> Result<BackupImport, DynpinError> {
        let ceiling = self.with_vault(|v| v.touch().map(|()| v.kdf_ceiling()))?;
        let opened = OpenedBackup::open(backup, password, ceiling)?;
        Ok(self
            .with_vault(|v| v.add_backup(opened, on_existing(replace_existing)))?
            .into())
    }

    /// A wipe: the file erased under the vault's mutex, the app's key store
    /// asked to delete its key after it is released.
    fn wipe_now(&self) -> Result<(), DynpinError> {
        let device = self.with_vault(|v| v.wipe_file().map(|()| v.device_key()))?;
        if let Some(device) = device {
            device.destroy().map_err(VaultError::from)?;
        }
        Ok(())
    }

    /// Plans (under the mutex), prepares (without it: the key store, the
    /// memory) and counts (under it) a password attempt; plans again if
    /// another instance changed the password in between.
    fn counted_attempt(&self) -> Result<PasswordAttempt, DynpinError> {
        for _ in 0..3 {
            let plan = self.lock_vault().plan_password_attempt()?;
            let prepared = plan.prepare()?;
            if let Some(attempt) = self.with_vault(|v| v.count_password_attempt(prepared))? {
                return Ok(attempt);
            }
        }
        Err(VaultError::Conflict.into())
    }

    /// Runs `f` on the vault, then shows the result to readers: the snapshot
    /// is replaced while the vault is still held, so readers never see an
    /// older state after a newer one.
    fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> T) -> T {
        let mut vault = self.lock_vault();
        let out = f(&mut vault);
        let snapshot = vault.snapshot();
        // The old snapshot (and its copy of the cards) is dropped after the
        // readers' lock is released.
        let _old = std::mem::replace(&mut *self.lock_shown(), snapshot);
        out
    }

    /// The vault, even if a previous call panicked while holding it (UniFFI
    /// turned that panic into an error; the vault saves atomically, so its
    /// state is still consistent).
    fn lock_vault(&self) -> MutexGuard<'_, Vault> {
        self.vault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_shown(&self) -> MutexGuard<'_, Snapshot> {
        self.shown.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn one_attempt_at_a_time(&self) -> MutexGuard<'_, ()> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current snapshot at `now_ms` (the caller's one clock reading: the
    /// app's clock may be a foreign call): a clone, so the readers' lock is
    /// held only for that (two reference counts), never while codes are
    /// computed. One that still holds the cards of a session the auto-lock
    /// ended is replaced if the vault is free this instant (never waiting for
    /// it), so the keys and seeds are dropped and wiped without waiting for
    /// the next change.
    fn shown(&self, now_ms: i64) -> Snapshot {
        let shown = self.lock_shown().clone();
        if shown.holds_cards() && !shown.is_unlocked(now_ms) {
            let vault = match self.vault.try_lock() {
                Ok(vault) => Some(vault),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(mut vault) = vault {
                let fresh = vault.snapshot();
                *self.lock_shown() = fresh.clone();
                return fresh;
            }
        }
        shown
    }
}

/// Removes the vault in `directory` without opening it, whatever state it is
/// in (damaged, of a newer version, locked for good): the app's "reset" when
/// nothing else works. An app with a device key deletes it too.
#[uniffi::export]
pub fn destroy_vault(directory: String) -> Result<(), DynpinError> {
    Ok(Vault::destroy(&storage(&directory))?)
}

/// Whether a vault exists in `directory`: call it to choose between
/// `Authenticator.create` and `Authenticator.open`.
#[uniffi::export]
pub fn vault_exists(directory: String) -> Result<bool, DynpinError> {
    Ok(Vault::exists(&storage(&directory))?)
}
