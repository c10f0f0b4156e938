//! `Authenticator`: one object for an authenticator app's whole life.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::clock::{MobileClock, resolve};
use super::device::{DeviceKeyStore, ForeignDeviceKey};
use zeroize::Zeroizing;

use super::error::{DynpinError, InputProblem};
use super::types::{
    ActivationDetails, ActivationResult, BackupImport, CardCodes, CardInfo, LockoutInfo, PinInfo,
    PinType, VaultSettings,
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
    PasswordAttempt, PlatformKey, Vault, VaultError, VaultOptions, check_new_password,
};

/// The dynamic-PIN authenticator: an encrypted vault of cards in a directory
/// the app owns, and everything done with it.
///
/// Safe to call from several threads; calls are serialised. Every change is
/// saved before the call returns. Errors are `DynpinException` (Kotlin) /
/// `DynpinError` (Swift) with the fields a UI needs.
#[derive(uniffi::Object)]
pub struct Authenticator {
    vault: Mutex<Vault>,
    clock: Arc<dyn Clock>,
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
    pub fn create(
        directory: String,
        password: String,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        Self::create_with_settings(directory, password, VaultSettings::default(), clock)
    }

    /// As `create`, with chosen settings (KDF cost, auto-lock, lockout).
    #[uniffi::constructor]
    pub fn create_with_settings(
        directory: String,
        password: String,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        Self::create_vault(&directory, &Zeroizing::new(password), settings, clock, None)
    }

    /// As `create_with_settings`, with the password as UTF-8 bytes the app
    /// wipes after the call.
    #[uniffi::constructor]
    pub fn create_with_password_bytes(
        directory: String,
        password: Vec<u8>,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        Self::create_vault(&directory, &utf8(password)?, settings, clock, None)
    }

    /// Creates a vault bound to this device: its password slot needs both
    /// the password and `device_key` (the app's non-exportable Keystore /
    /// Secure Enclave key), so a copied vault file cannot be attacked off the
    /// phone. Reopen it with `open` and then `set_device_key` before the
    /// password unlock. The password is UTF-8 bytes the app wipes afterwards.
    #[uniffi::constructor]
    pub fn create_bound(
        directory: String,
        password: Vec<u8>,
        settings: VaultSettings,
        clock: Option<Arc<dyn MobileClock>>,
        device_key: Arc<dyn DeviceKeyStore>,
    ) -> Result<Arc<Self>, DynpinError> {
        let password = utf8(password)?;
        let device: Arc<dyn DeviceKey> = Arc::new(ForeignDeviceKey(device_key));
        Self::create_vault(&directory, &password, settings, clock, Some(device))
    }

    /// Opens the vault in `directory`, locked.
    #[uniffi::constructor]
    pub fn open(
        directory: String,
        clock: Option<Arc<dyn MobileClock>>,
    ) -> Result<Arc<Self>, DynpinError> {
        let clock = resolve(clock);
        let vault = Vault::open(storage(&directory), Arc::clone(&clock))?;
        Ok(Arc::new(Self {
            vault: Mutex::new(vault),
            clock,
        }))
    }

    /// Whether the vault is locked now (it locks itself after the idle time).
    pub fn is_locked(&self) -> bool {
        let mut vault = self.lock_vault();
        vault.check_auto_lock();
        !vault.is_unlocked()
    }

    /// Unlocks with the app password. Wrong passwords are counted; after five
    /// the error says how long to wait; at the limit the vault is wiped (or
    /// locked for good, as configured).
    pub fn unlock_with_password(&self, password: String) -> Result<(), DynpinError> {
        self.unlock_with(&Zeroizing::new(password))
    }

    /// As `unlock_with_password`, from the password's UTF-8 bytes: a careful
    /// app keeps the password in a `ByteArray`/`Data` it wipes after the call,
    /// which a Kotlin or Swift string cannot be (see bindings/README.md).
    pub fn unlock_with_password_bytes(&self, password: Vec<u8>) -> Result<(), DynpinError> {
        self.unlock_with(&utf8(password)?)
    }

    /// Unlocks with the 32-byte key the app keeps in the Android Keystore or
    /// iOS Keychain behind biometrics, after the platform's prompt succeeded.
    pub fn unlock_with_platform_key(&self, key: Vec<u8>) -> Result<(), DynpinError> {
        let key = platform_key(key)?;
        Ok(self.lock_vault().unlock_with_platform_key(&key)?)
    }

    /// Locks now: keys and seeds are wiped from memory.
    pub fn lock(&self) {
        self.lock_vault().lock();
    }

    /// Idle seconds before the vault locks itself.
    pub fn auto_lock_seconds(&self) -> Result<u32, DynpinError> {
        Ok(self.lock_vault().auto_lock_seconds()?)
    }

    /// Sets the idle time before the vault locks itself.
    pub fn set_auto_lock_seconds(&self, seconds: u32) -> Result<(), DynpinError> {
        Ok(self.lock_vault().set_auto_lock_seconds(seconds)?)
    }

    /// Failed password attempts, attempts left and any wait.
    pub fn lockout_status(&self) -> Result<LockoutInfo, DynpinError> {
        Ok(self.lock_vault().lockout_status()?.into())
    }

    /// Changes the app password (the current one is checked and counted).
    pub fn change_password(
        &self,
        current: String,
        new_password: String,
    ) -> Result<(), DynpinError> {
        let (current, new_password) = (Zeroizing::new(current), Zeroizing::new(new_password));
        self.change_password_with(&current, &new_password)
    }

    /// As `change_password`, from UTF-8 bytes the app wipes after the call.
    pub fn change_password_bytes(
        &self,
        current: Vec<u8>,
        new_password: Vec<u8>,
    ) -> Result<(), DynpinError> {
        let (current, new_password) = (utf8(current)?, utf8(new_password)?);
        self.change_password_with(&current, &new_password)
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
                limit: u32::try_from(MAX_DEVICE_BLOB_LEN).ok(),
                reason: format!("a wrapped platform key has at most {MAX_DEVICE_BLOB_LEN} bytes"),
            });
        }
        let key = platform_key(key)?;
        Ok(self.lock_vault().enrol_platform_key(&key, &wrapped_key)?)
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
        Ok(self.lock_vault().record_platform_key_invalidated()?)
    }

    /// Disables biometric unlock, after checking the password (a counted
    /// attempt); the vault's master key is rotated.
    pub fn remove_platform_key(&self, password: String) -> Result<(), DynpinError> {
        let password = Zeroizing::new(password);
        Ok(self.lock_vault().remove_platform_key(&password)?)
    }

    /// As `remove_platform_key`, with the password as UTF-8 bytes the app
    /// wipes after the call.
    pub fn remove_platform_key_with_password_bytes(
        &self,
        password: Vec<u8>,
    ) -> Result<(), DynpinError> {
        Ok(self.lock_vault().remove_platform_key(&utf8(password)?)?)
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
        Ok(self.lock_vault().refresh()?)
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
        Ok(self.lock_vault().is_device_bound()?)
    }

    /// Whether biometric unlock is enabled.
    pub fn has_platform_key(&self) -> Result<bool, DynpinError> {
        Ok(self.lock_vault().has_platform_key()?)
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
    /// derivation.
    pub fn activate(
        &self,
        payload: String,
        activation_code: String,
        replace_existing: bool,
    ) -> Result<ActivationResult, DynpinError> {
        self.activate_with(&payload, &Zeroizing::new(activation_code), replace_existing)
    }

    /// As `activate`, with the activation code as UTF-8 bytes the app wipes
    /// after the call.
    pub fn activate_with_code_bytes(
        &self,
        payload: String,
        activation_code: Vec<u8>,
        replace_existing: bool,
    ) -> Result<ActivationResult, DynpinError> {
        self.activate_with(&payload, &utf8(activation_code)?, replace_existing)
    }

    /// Imports an `otpauth://totp/…` or `otpauth://hotp/…` URI.
    pub fn import_otpauth(&self, uri: String) -> Result<CardInfo, DynpinError> {
        let card = import::parse_otpauth(&uri)?.into_card()?;
        let mut vault = self.lock_vault();
        let id = vault.add_card(card, OnExisting::Refuse)?;
        Ok(CardInfo::from(vault.card(id)?))
    }

    /// Imports every token of a Google Authenticator export
    /// (`otpauth-migration://offline?data=…`). Every entry is checked before any
    /// is added, so a malformed export adds nothing.
    pub fn import_google_export(&self, uri: String) -> Result<Vec<CardInfo>, DynpinError> {
        let cards = import::parse_migration(&uri)?
            .into_iter()
            .map(|t| t.into_card())
            .collect::<Result<Vec<Card>, _>>()?;
        let mut vault = self.lock_vault();
        vault.touch()?;
        let mut ids = Vec::with_capacity(cards.len());
        for card in cards {
            ids.push(vault.add_card(card, OnExisting::Refuse)?);
        }
        ids.into_iter()
            .map(|id| Ok(CardInfo::from(vault.card(id)?)))
            .collect()
    }

    /// The `otpauth://` URIs of an exportable card (one per PIN for bank cards).
    pub fn export_otpauth(&self, card_id: String) -> Result<Vec<String>, DynpinError> {
        let id = self::card_id(&card_id)?;
        let mut vault = self.lock_vault();
        Ok(import::to_otpauth(vault.card(id)?)?)
    }

    /// The cards in display order.
    pub fn cards(&self) -> Result<Vec<CardInfo>, DynpinError> {
        Ok(self
            .lock_vault()
            .cards()?
            .iter()
            .map(CardInfo::from)
            .collect())
    }

    /// Every card's PINs now, in one call: what a screen refresh needs.
    pub fn codes(&self) -> Result<Vec<CardCodes>, DynpinError> {
        Ok(self
            .lock_vault()
            .pins()?
            .into_iter()
            .map(CardCodes::from)
            .collect())
    }

    /// One PIN of one card now, with its validity window.
    pub fn pin(&self, card_id: String, kind: PinType) -> Result<PinInfo, DynpinError> {
        let id = self::card_id(&card_id)?;
        let mut vault = self.lock_vault();
        let card = vault.card(id)?;
        let pin = card.pin(PinKind::from(kind), &*self.clock)?;
        Ok(PinInfo::new(card, &pin))
    }

    /// The PIN that follows the current one (the next step's, or the next counter's).
    pub fn next_pin(&self, card_id: String, kind: PinType) -> Result<PinInfo, DynpinError> {
        let id = self::card_id(&card_id)?;
        let mut vault = self.lock_vault();
        let card = vault.card(id)?;
        let pin = card.next_pin(&card.pin(PinKind::from(kind), &*self.clock)?)?;
        Ok(PinInfo::new(card, &pin))
    }

    /// A second PIN bound to one payment: `amount_rials` to `payee` (card
    /// number, merchant id or name). Refused above the card's ceiling.
    pub fn amount_bound_code(
        &self,
        card_id: String,
        amount_rials: u64,
        payee: String,
    ) -> Result<PinInfo, DynpinError> {
        let id = self::card_id(&card_id)?;
        let mut vault = self.lock_vault();
        let card = vault.card(id)?;
        let pin = card.amount_bound_code(amount_rials, &payee, &*self.clock)?;
        Ok(PinInfo::new(card, &pin))
    }

    /// Moves a counter-based token to its next code.
    pub fn advance_counter(&self, card_id: String) -> Result<u64, DynpinError> {
        Ok(self
            .lock_vault()
            .advance_counter(self::card_id(&card_id)?)?)
    }

    /// Renames a card.
    pub fn rename_card(&self, card_id: String, label: String) -> Result<(), DynpinError> {
        Ok(self
            .lock_vault()
            .rename_card(self::card_id(&card_id)?, &label)?)
    }

    /// Removes a card; its seed is wiped.
    pub fn remove_card(&self, card_id: String) -> Result<(), DynpinError> {
        Ok(self.lock_vault().remove_card(self::card_id(&card_id)?)?)
    }

    /// Puts the cards in this order (every card exactly once).
    pub fn reorder_cards(&self, card_ids: Vec<String>) -> Result<(), DynpinError> {
        let ids = card_ids
            .iter()
            .map(|id| self::card_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.lock_vault().reorder_cards(&ids)?)
    }

    /// Sets (or clears, with null/nil) the card's transaction ceiling in rials.
    pub fn set_amount_ceiling(
        &self,
        card_id: String,
        rials: Option<u64>,
    ) -> Result<(), DynpinError> {
        Ok(self
            .lock_vault()
            .set_amount_ceiling(self::card_id(&card_id)?, rials)?)
    }

    /// Sets seconds to add to the phone's clock for this card (±1 year).
    pub fn set_time_offset(&self, card_id: String, seconds: i64) -> Result<(), DynpinError> {
        Ok(self
            .lock_vault()
            .set_time_offset(self::card_id(&card_id)?, seconds)?)
    }

    /// An encrypted backup of the exportable cards, under its own password
    /// (at least 12 characters: a backup is guessed offline, with no lockout).
    pub fn export_backup(&self, password: String) -> Result<Vec<u8>, DynpinError> {
        let password = Zeroizing::new(password);
        Ok(self.lock_vault().export_backup(&password)?)
    }

    /// As `export_backup`, with the password as UTF-8 bytes the app wipes after the call.
    pub fn export_backup_with_password_bytes(
        &self,
        password: Vec<u8>,
    ) -> Result<Vec<u8>, DynpinError> {
        Ok(self.lock_vault().export_backup(&utf8(password)?)?)
    }

    /// Adds the cards of a backup; cards already present are skipped unless `replace_existing`.
    pub fn import_backup(
        &self,
        backup: Vec<u8>,
        password: String,
        replace_existing: bool,
    ) -> Result<BackupImport, DynpinError> {
        let password = Zeroizing::new(password);
        Ok(self
            .lock_vault()
            .import_backup(&backup, &password, on_existing(replace_existing))?
            .into())
    }

    /// As `import_backup`, with the password as UTF-8 bytes the app wipes after the call.
    pub fn import_backup_with_password_bytes(
        &self,
        backup: Vec<u8>,
        password: Vec<u8>,
        replace_existing: bool,
    ) -> Result<BackupImport, DynpinError> {
        let password = utf8(password)?;
        Ok(self
            .lock_vault()
            .import_backup(&backup, &password, on_existing(replace_existing))?
            .into())
    }

    /// Erases the vault: every card is gone (the app's "reset").
    pub fn wipe(&self) -> Result<(), DynpinError> {
        Ok(self.lock_vault().wipe()?)
    }
}

impl Authenticator {
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
        Ok(Arc::new(Self {
            vault: Mutex::new(vault),
            clock,
        }))
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
        let ceiling = {
            let mut vault = self.lock_vault();
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
            vault.kdf_ceiling()
        };
        let activated = payload.activate_within(&code, &*self.clock, ceiling)?;
        let confirmation_code = activated.confirmation_code.clone();
        let mut vault = self.lock_vault();
        let id = vault.add_activated(activated, on_existing(replace_existing))?;
        Ok(ActivationResult {
            card: CardInfo::from(vault.card(id)?),
            confirmation_code,
        })
    }

    /// A password unlock in steps: the vault's mutex is held only for the
    /// short steps (reading the slot, counting the attempt, unlocking), never
    /// across the device key store, the memory reservation or Argon2id, so
    /// `codes()` from the UI thread never waits for them and a
    /// `DeviceKeyStore` may call back into this object.
    fn unlock_with(&self, password: &str) -> Result<(), DynpinError> {
        if !self.is_locked() {
            return Ok(());
        }
        let attempt = self.counted_attempt()?;
        let derived = attempt.derive(password)?;
        Ok(self.lock_vault().finish_unlock(derived)?)
    }

    /// A password change in steps, every slow one (the new slot's Argon2id
    /// and key store, the current password's) with the vault's mutex
    /// released. The new slot is made first: if that fails, nothing was
    /// counted.
    fn change_password_with(&self, current: &str, new_password: &str) -> Result<(), DynpinError> {
        check_new_password(new_password).map_err(VaultError::from)?;
        let recipe = {
            let mut vault = self.lock_vault();
            let params = vault.kdf_params()?;
            vault.new_password_recipe(params)?
        };
        let new = recipe.seal(new_password)?;
        let attempt = self.counted_attempt()?;
        let derived = attempt.derive(current)?;
        Ok(self.lock_vault().finish_password_change(derived, new)?)
    }

    /// Plans (under the mutex), prepares (without it: the key store, the
    /// memory) and counts (under it) a password attempt; plans again if
    /// another instance changed the password in between.
    fn counted_attempt(&self) -> Result<PasswordAttempt, DynpinError> {
        for _ in 0..3 {
            let plan = self.lock_vault().plan_password_attempt()?;
            let prepared = plan.prepare()?;
            if let Some(attempt) = self.lock_vault().count_password_attempt(prepared)? {
                return Ok(attempt);
            }
        }
        Err(VaultError::Conflict.into())
    }

    /// The vault, even if a previous call panicked while holding it (UniFFI
    /// turned that panic into an error; the vault saves atomically, so its
    /// state is still consistent).
    fn lock_vault(&self) -> MutexGuard<'_, Vault> {
        self.vault.lock().unwrap_or_else(PoisonError::into_inner)
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
