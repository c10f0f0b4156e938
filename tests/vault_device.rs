//! The device-bound factor, the platform slot's app blob, the invalidation
//! mark, master-key rotation and the save generation, through the public API.

use std::sync::Arc;

use crate::vault_support::*;
use dynpin::vault::{
    DeviceKey, DeviceKeyError, FileRole, LockoutPolicy, MemoryStorage, OnExisting, OnLimit,
    Setting, SoftwareDeviceKey, Vault, VaultError, VaultOptions,
};

fn bound_vault() -> (Arc<MemoryStorage>, Arc<SoftwareDeviceKey>, Vault) {
    let storage = Arc::new(MemoryStorage::new());
    let phone = Arc::new(SoftwareDeviceKey::new().unwrap());
    let vault = Vault::create_bound(
        storage.clone(),
        clock(),
        PASSWORD,
        fast_options(),
        phone.clone(),
    )
    .unwrap();
    (storage, phone, vault)
}

fn copy_of(storage: &MemoryStorage) -> Arc<MemoryStorage> {
    let copy = Arc::new(MemoryStorage::new());
    copy.set(FileRole::Current, storage.get(FileRole::Current));
    copy
}

#[test]
fn a_copied_device_bound_file_opens_nowhere_else_and_nothing_is_counted() {
    let (storage, phone, mut vault) = bound_vault();
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    assert_eq!(vault.is_device_bound(), Ok(true));
    drop(vault);

    // The file copied to another phone, with the right password.
    let copy = copy_of(&storage);
    let mut elsewhere = Vault::open(copy.clone(), clock()).unwrap();
    elsewhere.set_device_key(Arc::new(SoftwareDeviceKey::new().unwrap()));
    assert_eq!(
        elsewhere.unlock_with_password(PASSWORD),
        Err(VaultError::DeviceKey(DeviceKeyError::Rejected))
    );
    // With no key store at all.
    let mut bare = Vault::open(copy.clone(), clock()).unwrap();
    assert_eq!(
        bare.unlock_with_password(PASSWORD),
        Err(VaultError::DeviceKeyMissing)
    );
    assert_eq!(
        Vault::open(copy, clock())
            .unwrap()
            .lockout_status()
            .unwrap()
            .failures,
        0,
        "a key store that refuses is not a guess"
    );

    // On the phone: a wrong password counts, the right one opens.
    let mut vault = Vault::open(storage, clock()).unwrap();
    vault.set_device_key(phone);
    assert!(matches!(
        vault.unlock_with_password("not the password"),
        Err(VaultError::WrongPassword {
            remaining_attempts: 9,
            ..
        })
    ));
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(vault.cards().unwrap().len(), 1);
}

#[test]
fn a_password_change_keeps_the_vault_bound_to_the_device() {
    let (storage, phone, mut vault) = bound_vault();
    vault
        .change_password(PASSWORD, "another password 1404")
        .unwrap();
    assert_eq!(vault.is_device_bound(), Ok(true));
    drop(vault);
    let mut elsewhere = Vault::open(copy_of(&storage), clock()).unwrap();
    assert_eq!(
        elsewhere.unlock_with_password("another password 1404"),
        Err(VaultError::DeviceKeyMissing)
    );
    let mut vault = Vault::open(storage, clock()).unwrap();
    vault.set_device_key(phone);
    vault.unlock_with_password("another password 1404").unwrap();
}

#[test]
fn wiping_deletes_the_device_key_so_old_copies_are_useless() {
    let (storage, phone, mut vault) = bound_vault();
    let copy = copy_of(&storage);
    vault.wipe().unwrap();
    let mut old = Vault::open(copy, clock()).unwrap();
    old.set_device_key(phone.clone());
    assert_eq!(
        old.unlock_with_password(PASSWORD),
        Err(VaultError::DeviceKey(DeviceKeyError::Unavailable))
    );
    assert_eq!(phone.unwrap(b"anything"), Err(DeviceKeyError::Unavailable));
}

#[test]
fn a_wipe_at_the_failure_limit_deletes_the_device_key_too() {
    let storage = Arc::new(MemoryStorage::new());
    let phone = Arc::new(SoftwareDeviceKey::new().unwrap());
    let clock = clock();
    let options = VaultOptions {
        lockout: LockoutPolicy {
            max_attempts: 6,
            on_limit: OnLimit::Wipe,
        },
        ..fast_options()
    };
    let vault = Vault::create_bound(
        storage.clone(),
        clock.clone(),
        PASSWORD,
        options,
        phone.clone(),
    )
    .unwrap();
    drop(vault);
    let copy = copy_of(&storage);
    let mut vault = Vault::open(storage, clock.clone()).unwrap();
    vault.set_device_key(phone.clone());
    let mut last = Ok(());
    for _ in 0..6 {
        clock.advance_seconds(86_400);
        last = vault.unlock_with_password("not the password");
    }
    assert_eq!(last, Err(VaultError::Wiped));
    let mut old = Vault::open(copy, clock).unwrap();
    old.set_device_key(phone);
    assert_eq!(
        old.unlock_with_password(PASSWORD),
        Err(VaultError::DeviceKey(DeviceKeyError::Unavailable))
    );
}

#[test]
fn the_platform_key_blob_is_readable_while_locked_and_invalidation_is_recorded_while_locked() {
    let (storage, clock, mut vault) = {
        let storage = Arc::new(MemoryStorage::new());
        let clock = clock();
        let vault =
            Vault::create(storage.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
        (storage, clock, vault)
    };
    vault
        .enrol_platform_key(&platform_key(), b"sealed by the keystore")
        .unwrap();
    assert_eq!(
        vault.enrol_platform_key(&platform_key(), &[0u8; 1025]),
        Err(VaultError::InvalidSetting(Setting::WrappedPlatformKey))
    );
    vault.lock();
    assert_eq!(
        vault.platform_key_blob(),
        Ok(Some(b"sealed by the keystore".to_vec()))
    );
    vault.unlock_with_platform_key(&platform_key()).unwrap();
    vault.lock();

    // A new fingerprint was enrolled: the app's hardware key is gone.
    vault.record_platform_key_invalidated().unwrap();
    assert_eq!(vault.has_platform_key(), Ok(false));
    assert_eq!(vault.platform_key_blob(), Ok(None));
    assert_eq!(
        vault.unlock_with_platform_key(&platform_key()),
        Err(VaultError::PlatformKeyInvalidated)
    );
    // Another instance (and the next launch) sees the mark too.
    let mut other = Vault::open(storage.clone(), clock.clone()).unwrap();
    assert_eq!(other.has_platform_key(), Ok(false));
    assert_eq!(other.lockout_status().unwrap().failures, 0);
    let generation = other.generation().unwrap();

    // The password unlock removes the slot and rotates the master key.
    other.unlock_with_password(PASSWORD).unwrap();
    assert!(other.generation().unwrap() > generation);
    let mut reopened = Vault::open(storage, clock).unwrap();
    assert_eq!(reopened.platform_key_blob(), Ok(None));
    assert_eq!(
        reopened.unlock_with_platform_key(&platform_key()),
        Err(VaultError::NoPlatformKey)
    );
}

#[test]
fn removing_the_platform_key_needs_the_password() {
    let storage = Arc::new(MemoryStorage::new());
    let mut vault = Vault::create(storage, clock(), PASSWORD, fast_options()).unwrap();
    vault.enrol_platform_key(&platform_key(), b"").unwrap();
    assert_eq!(vault.platform_key_blob(), Ok(Some(Vec::new())));
    assert!(matches!(
        vault.remove_platform_key("not the password"),
        Err(VaultError::WrongPassword { .. })
    ));
    assert_eq!(vault.has_platform_key(), Ok(true));
    vault.remove_platform_key(PASSWORD).unwrap();
    assert_eq!(vault.has_platform_key(), Ok(false));
}

#[test]
fn every_save_is_a_new_generation_and_an_old_copy_put_back_is_refused() {
    let storage = Arc::new(MemoryStorage::new());
    let mut vault = Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap();
    assert_eq!(vault.generation(), Ok(1));
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    assert_eq!(vault.generation(), Ok(2));
    let old = storage.get(FileRole::Current);
    vault.add_card(bank_card(2, 2), OnExisting::Refuse).unwrap();
    let current = storage.get(FileRole::Current);
    // Someone puts the older file back (to undo a change or a failure count).
    storage.set(FileRole::Current, old);
    assert_eq!(
        vault.add_card(bank_card(3, 3), OnExisting::Refuse),
        Err(VaultError::RolledBack { seen: 3, found: 2 })
    );
    assert_eq!(
        vault.refresh(),
        Err(VaultError::RolledBack { seen: 3, found: 2 })
    );
    // Nothing was overwritten; with the real file back, work goes on.
    storage.set(FileRole::Current, current);
    vault.add_card(bank_card(3, 3), OnExisting::Refuse).unwrap();
    assert_eq!(vault.generation(), Ok(4));
}

#[test]
fn a_password_changed_elsewhere_locks_this_instance_instead_of_overwriting() {
    let storage = Arc::new(MemoryStorage::new());
    let mut app = Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap();
    let mut widget = Vault::open(storage.clone(), clock()).unwrap();
    widget.unlock_with_password(PASSWORD).unwrap();
    app.change_password(PASSWORD, "changed in the app 1")
        .unwrap();
    // The widget's master key no longer opens the file: it locks.
    assert_eq!(
        widget.add_card(bank_card(1, 1), OnExisting::Refuse),
        Err(VaultError::Locked)
    );
    assert!(!widget.is_unlocked());
    widget.unlock_with_password("changed in the app 1").unwrap();
    widget
        .add_card(bank_card(1, 1), OnExisting::Refuse)
        .unwrap();
    app.refresh().unwrap();
    assert_eq!(app.cards().unwrap().len(), 1);
}

/// A key store that gives back what the phone's wrapped but cannot wrap now
/// (the hardware busy).
struct CannotWrap(Arc<SoftwareDeviceKey>);

impl DeviceKey for CannotWrap {
    fn wrap(&self, _: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        Err(DeviceKeyError::Unavailable)
    }
    fn unwrap(&self, wrapped: &[u8]) -> Result<dynpin::secret::SecretBytes, DeviceKeyError> {
        self.0.unwrap(wrapped)
    }
    fn destroy(&self) -> Result<(), DeviceKeyError> {
        self.0.destroy()
    }
}

#[test]
fn a_new_password_that_cannot_be_sealed_costs_no_attempt() {
    let (_storage, phone, mut vault) = bound_vault();
    vault.set_device_key(Arc::new(CannotWrap(phone)));
    assert_eq!(
        vault.change_password(PASSWORD, "another password 1404"),
        Err(VaultError::DeviceKey(DeviceKeyError::Unavailable))
    );
    assert_eq!(vault.lockout_status().unwrap().failures, 0);
}

#[test]
fn an_unlock_in_steps_does_not_undo_a_lock_made_meanwhile_and_reports_a_wrong_password() {
    let storage = Arc::new(MemoryStorage::new());
    drop(Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap());
    let mut vault = Vault::open(storage, clock()).unwrap();

    // The app goes to the background (and locks) while the key is derived.
    let attempt = vault.begin_password_attempt().unwrap();
    vault.lock();
    let derived = attempt.derive(PASSWORD).unwrap();
    assert_eq!(vault.finish_unlock(derived), Err(VaultError::Locked));
    assert!(!vault.is_unlocked());
    assert_eq!(
        vault.lockout_status().unwrap().failures,
        0,
        "the right password"
    );

    // A wrong password is reported even if the vault was unlocked meanwhile.
    let wrong = vault.begin_password_attempt().unwrap();
    vault.unlock_with_password(PASSWORD).unwrap();
    let derived = wrong.derive("not the password").unwrap();
    assert!(matches!(
        vault.finish_unlock(derived),
        Err(VaultError::WrongPassword { .. })
    ));
    // (It was counted when it began; the right password given since then
    // reset the count, as a success does.)
    assert!(vault.is_unlocked(), "a wrong attempt does not lock");
}

#[test]
fn a_new_password_made_for_another_vault_is_not_installed() {
    let storage = Arc::new(MemoryStorage::new());
    let mut vault = Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap();
    let mut other = Vault::create(
        Arc::new(MemoryStorage::new()),
        clock(),
        PASSWORD,
        fast_options(),
    )
    .unwrap();
    let foreign = other
        .new_password_recipe(dynpin::kdf::KdfParams::MINIMUM)
        .unwrap()
        .seal("another password 1404")
        .unwrap();
    let derived = vault
        .begin_password_attempt()
        .unwrap()
        .derive(PASSWORD)
        .unwrap();
    assert_eq!(
        vault.finish_password_change(derived, foreign),
        Err(VaultError::Conflict)
    );
    drop(vault);
    let mut vault = Vault::open(storage, clock()).unwrap();
    vault.unlock_with_password(PASSWORD).unwrap();
}
