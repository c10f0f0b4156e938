//! The vault through its public API: creating, unlocking, lockout, the
//! platform key, auto-lock, card operations, PIN refresh, backups, threads,
//! and what formatting may never reveal.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use crate::vault_support::*;
use dynpin::activation;
use dynpin::activation::payload::{self, Header, PAYLOAD_VERSION_1, Secrets};
use dynpin::card::{Card, CardError, CardId, CardRef, LastFour, PinPolicy};
use dynpin::clock::ManualClock;
use dynpin::kdf::{KdfError, KdfParams};
use dynpin::otp::{Algorithm, OtpError};
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use dynpin::vault::OnExisting;
use dynpin::vault::{DEFAULT_BACKGROUND_LOCK_SECONDS, OpenedBackup};
use dynpin::vault::{
    FileRole, FileStorage, LockoutPolicy, LockoutStatus, MemoryStorage, OnLimit, PasswordError,
    PlatformKey, StorageOp, Vault, VaultError, VaultOptions, check_new_password,
};

fn new_vault() -> (Arc<MemoryStorage>, Arc<ManualClock>, Vault) {
    let storage = Arc::new(MemoryStorage::new());
    let clock = clock();
    let vault = Vault::create(storage.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
    (storage, clock, vault)
}

fn reopen(storage: &Arc<MemoryStorage>, clock: &Arc<ManualClock>) -> Vault {
    Vault::open(storage.clone(), clock.clone()).unwrap()
}

fn wrong(remaining_attempts: u32, wait_seconds: u64) -> VaultError {
    VaultError::WrongPassword {
        remaining_attempts,
        wait_seconds,
    }
}

#[test]
fn create_lock_open_unlock_round_trip() {
    let (storage, clock, mut vault) = new_vault();
    assert!(vault.is_unlocked());
    assert_eq!(vault.cards().unwrap().len(), 0);
    vault
        .add_card(bank_card(1234, 7), OnExisting::Refuse)
        .unwrap();
    vault
        .add_card(
            totp_card("GitHub", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    vault
        .add_card(hotp_card("VPN", 3), OnExisting::Refuse)
        .unwrap();
    let before = snapshot(&mut vault);
    vault.lock();
    assert!(!vault.is_unlocked());
    assert_eq!(vault.cards().unwrap_err(), VaultError::Locked);

    let mut vault = reopen(&storage, &clock);
    assert!(!vault.is_unlocked());
    assert_eq!(
        vault.format_version().unwrap(),
        dynpin::vault::CURRENT_VERSION
    );
    assert_eq!(vault.kdf_params().unwrap(), KdfParams::MINIMUM);
    assert!(!vault.has_platform_key().unwrap());
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(snapshot(&mut vault), before);
    // Unlocking an unlocked vault does nothing.
    vault.unlock_with_password("anything at all").unwrap();
    assert!(Vault::exists(&*storage).unwrap());
    assert!(!Vault::exists(&MemoryStorage::new()).unwrap());
}

#[test]
fn a_real_directory_works_and_keeps_only_the_vault_file() {
    let dir = std::env::temp_dir().join(format!("dynpin-vault-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let storage = FileStorage::new(&dir, "vault.bin");
    let _ = Vault::destroy(&storage);
    let clock = clock();
    let mut vault =
        Vault::create(storage.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    let id = vault.cards().unwrap()[0].id();
    vault.rename_card(id, "Renamed").unwrap();
    assert!(storage.path(FileRole::Current).exists());
    assert!(!storage.path(FileRole::Temp).exists());
    assert!(!storage.path(FileRole::Previous).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(storage.path(FileRole::Current))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the vault file is private: {mode:o}");
    }
    drop(vault);
    let mut vault = Vault::open(storage.clone(), clock).unwrap();
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(vault.cards().unwrap()[0].label(), "Renamed");
    vault.wipe().unwrap();
    assert!(!storage.path(FileRole::Current).exists());
    assert_eq!(vault.cards().unwrap_err(), VaultError::Wiped);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn create_checks_the_password_the_options_and_never_replaces_a_vault() {
    let storage = Arc::new(MemoryStorage::new());
    let c = clock();
    let create = |password: &str, options: VaultOptions| {
        Vault::create(storage.clone(), c.clone(), password, options).map(drop)
    };
    assert_eq!(
        create("12345", fast_options()).unwrap_err(),
        VaultError::Password(PasswordError::TooShort { min: 6 })
    );
    for common in [
        "123456",
        "111111",
        "000000",
        "654321",
        "121212",
        "123123",
        "password",
        "QWERTY",
        "۱۲۳۴۵۶",
    ] {
        assert_eq!(
            create(common, fast_options()).unwrap_err(),
            VaultError::Password(PasswordError::TooCommon),
            "{common}"
        );
    }
    let weak = VaultOptions {
        kdf: KdfParams {
            memory_kib: 19 * 1024 - 1,
            ..KdfParams::MINIMUM
        },
        ..fast_options()
    };
    assert_eq!(
        create(PASSWORD, weak).unwrap_err(),
        VaultError::Kdf(KdfError::TooWeak)
    );
    let bad_limit = VaultOptions {
        lockout: LockoutPolicy {
            max_attempts: 5,
            on_limit: OnLimit::Wipe,
        },
        ..fast_options()
    };
    assert!(matches!(
        create(PASSWORD, bad_limit),
        Err(VaultError::InvalidSetting(_))
    ));
    let bad_idle = VaultOptions {
        auto_lock_seconds: 5,
        ..fast_options()
    };
    assert!(matches!(
        create(PASSWORD, bad_idle),
        Err(VaultError::InvalidSetting(_))
    ));
    assert!(
        !Vault::exists(&*storage).unwrap(),
        "nothing written on refusal"
    );

    create(PASSWORD, fast_options()).unwrap();
    let original = storage.get(FileRole::Current).unwrap();
    assert_eq!(
        create("another password", fast_options()).unwrap_err(),
        VaultError::AlreadyExists
    );
    // Even a damaged file is never replaced by create.
    storage.set(FileRole::Current, Some(original[..100].to_vec()));
    assert_eq!(
        create("another password", fast_options()).unwrap_err(),
        VaultError::AlreadyExists
    );
    assert_eq!(storage.get(FileRole::Current).unwrap(), original[..100]);
    assert_eq!(
        Vault::open(storage.clone(), c.clone()).unwrap_err(),
        VaultError::Corrupt("checksum")
    );
}

#[test]
fn persian_digits_in_the_password_are_ascii_digits() {
    let storage = Arc::new(MemoryStorage::new());
    let c = clock();
    Vault::create(storage.clone(), c.clone(), "۳۸۵۱۷۲۹۴", fast_options()).unwrap();
    let mut vault = Vault::open(storage.clone(), c.clone()).unwrap();
    vault.unlock_with_password("38517294").unwrap();
    vault.lock();
    vault.unlock_with_password("٣٨٥١٧٢٩٤").unwrap();
}

#[test]
fn five_failures_then_growing_delays_on_the_injected_clock_then_a_wipe() {
    let (storage, clock, mut vault) = new_vault();
    vault.lock();
    for failures in 1..=4 {
        assert_eq!(
            vault.unlock_with_password("wrong one").unwrap_err(),
            wrong(10 - failures, 0)
        );
    }
    // The fifth failure starts the delays: 30 s before the sixth attempt.
    assert_eq!(
        vault.unlock_with_password("wrong one").unwrap_err(),
        wrong(5, 30)
    );
    // Counted persistently: a reopened vault (an app restart) knows.
    let mut vault = reopen(&storage, &clock);
    assert_eq!(
        vault.lockout_status().unwrap(),
        LockoutStatus {
            failures: 5,
            remaining_attempts: 5,
            wait_seconds: 30,
            locked_for_good: false
        }
    );
    // Attempts during the delay are refused without being tried or counted,
    // even with the right password.
    for _ in 0..3 {
        assert_eq!(
            vault.unlock_with_password(PASSWORD).unwrap_err(),
            VaultError::TryLater {
                wait_seconds: 30,
                remaining_attempts: 5
            }
        );
    }
    clock.advance_seconds(29);
    clock.advance_millis(500);
    assert_eq!(
        vault.unlock_with_password("wrong one").unwrap_err(),
        VaultError::TryLater {
            wait_seconds: 1,
            remaining_attempts: 5
        }
    );
    clock.advance_millis(500);
    // From the sixth wrong password on, each doubles the wait.
    for (remaining, wait) in [(4, 60), (3, 120), (2, 240), (1, 480)] {
        assert_eq!(
            vault.unlock_with_password("wrong one").unwrap_err(),
            wrong(remaining, wait)
        );
        clock.advance_seconds(wait as i64);
    }
    // The tenth: wiped, as bank apps do.
    assert_eq!(
        vault.unlock_with_password("wrong one").unwrap_err(),
        VaultError::Wiped
    );
    assert!(!Vault::exists(&*storage).unwrap());
    for role in FileRole::ALL {
        assert_eq!(storage.get(role), None, "{role:?}");
    }
    assert_eq!(
        vault.unlock_with_password(PASSWORD).unwrap_err(),
        VaultError::Wiped
    );
    assert_eq!(vault.lockout_status().unwrap_err(), VaultError::Wiped);
    assert_eq!(
        Vault::open(storage.clone(), clock.clone()).unwrap_err(),
        VaultError::NotFound
    );
}

#[test]
fn the_right_password_resets_the_count_and_a_clock_set_back_waits_one_delay() {
    let (storage, clock, mut vault) = new_vault();
    vault.lock();
    for _ in 0..5 {
        vault.unlock_with_password("wrong one").unwrap_err();
    }
    // The user sets the phone's clock a day back: the wait restarts from
    // now (one delay), rather than lasting a day.
    clock.advance_seconds(-86_400);
    assert!(matches!(
        vault.unlock_with_password(PASSWORD),
        Err(VaultError::TryLater {
            wait_seconds: 30,
            ..
        })
    ));
    clock.advance_seconds(30);
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(vault.lockout_status().unwrap().failures, 0);
    assert_eq!(
        reopen(&storage, &clock).lockout_status().unwrap().failures,
        0
    );
}

#[test]
fn lock_for_good_keeps_the_file_but_refuses_every_unlock() {
    let (storage, clock, mut vault) = new_vault();
    vault
        .enrol_platform_key(&platform_key(), b"wrapped")
        .unwrap();
    let policy = LockoutPolicy {
        max_attempts: 6,
        on_limit: OnLimit::LockForGood,
    };
    vault.set_lockout_policy(policy).unwrap();
    assert_eq!(vault.lockout_policy().unwrap(), policy);
    vault.lock();
    for _ in 0..5 {
        vault.unlock_with_password("wrong one").unwrap_err();
    }
    clock.advance_seconds(30);
    assert_eq!(
        vault.unlock_with_password("wrong one").unwrap_err(),
        VaultError::LockedForGood
    );
    assert_eq!(
        vault.unlock_with_password(PASSWORD).unwrap_err(),
        VaultError::LockedForGood
    );
    assert_eq!(
        vault.unlock_with_platform_key(&platform_key()).unwrap_err(),
        VaultError::LockedForGood
    );
    let mut reopened = reopen(&storage, &clock);
    assert!(reopened.lockout_status().unwrap().locked_for_good);
    clock.advance_seconds(1_000_000);
    assert_eq!(
        reopened.unlock_with_password(PASSWORD).unwrap_err(),
        VaultError::LockedForGood
    );
    // The app's reset.
    Vault::destroy(&*storage).unwrap();
    assert!(!Vault::exists(&*storage).unwrap());
}

#[test]
fn attempts_are_counted_before_they_are_tried() {
    // The correct password, but the write that resets the count fails (as
    // if the app were killed right after deriving the key): the attempt was
    // already on storage, so killing the app mid-attempt never saves a guess.
    let disk = Arc::new(SimDisk::new());
    let clock = clock();
    let mut vault = Vault::create(disk.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
    vault.lock();
    let start = disk.calls();
    vault.unlock_with_password(PASSWORD).unwrap();
    let calls = disk.calls() - start;
    let log = disk.log();
    let writes: Vec<usize> = (start..start + calls)
        .filter(|&n| log[n].contains("write Temp"))
        .collect();
    assert_eq!(writes.len(), 2, "count, then reset: {log:?}");
    vault.lock();
    disk.inject(
        disk.calls() + (writes[1] - start),
        crate::vault_support::Fault::Crash,
    );
    vault.unlock_with_password(PASSWORD).unwrap();
    for image in disk.crash_images() {
        let reopened = Vault::open(Arc::new(SimDisk::from_image(&image)), clock.clone()).unwrap();
        assert_eq!(
            reopened.lockout_status().unwrap().failures,
            1,
            "{}",
            describe(&image)
        );
    }
    // A failure to count refuses the attempt outright.
    disk.clear_fault();
    vault.lock();
    let mut vault = Vault::open(disk.clone(), clock.clone()).unwrap();
    // Calls: the reload's read, the save's read of the current file, then
    // the write of the count.
    disk.inject(
        disk.calls() + 2,
        crate::vault_support::Fault::Error(std::io::ErrorKind::StorageFull),
    );
    assert_eq!(
        vault.unlock_with_password(PASSWORD).unwrap_err(),
        VaultError::Storage {
            op: StorageOp::Write,
            kind: std::io::ErrorKind::StorageFull
        }
    );
    assert!(!vault.is_unlocked());
}

#[test]
fn the_platform_key_unlocks_until_invalidated_and_the_password_always_does() {
    let (storage, clock, mut vault) = new_vault();
    assert!(!vault.has_platform_key().unwrap());
    vault
        .enrol_platform_key(&platform_key(), b"wrapped")
        .unwrap();
    assert!(vault.has_platform_key().unwrap());
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    let before = snapshot(&mut vault);
    vault.lock();

    let mut vault = reopen(&storage, &clock);
    vault.unlock_with_platform_key(&platform_key()).unwrap();
    assert_eq!(snapshot(&mut vault), before);
    vault.lock();
    // A new fingerprint was enrolled: the Keystore now hands out another key.
    let new_key = PlatformKey::from_bytes(&[0x43; 32]).unwrap();
    assert_eq!(
        vault.unlock_with_platform_key(&new_key).unwrap_err(),
        VaultError::PlatformKeyInvalidated
    );
    assert_eq!(vault.lockout_status().unwrap().failures, 0, "not a guess");
    vault.unlock_with_password(PASSWORD).unwrap();
    // A key enrolled is not replaced: it is removed first (with the
    // password), which rotates the master key.
    assert_eq!(
        vault.enrol_platform_key(&new_key, b"wrapped"),
        Err(VaultError::PlatformKeyEnrolled)
    );
    vault.remove_platform_key(PASSWORD).unwrap();
    vault.enrol_platform_key(&new_key, b"wrapped").unwrap();
    vault.lock();
    assert_eq!(
        vault.unlock_with_platform_key(&platform_key()).unwrap_err(),
        VaultError::PlatformKeyInvalidated
    );
    vault.unlock_with_platform_key(&new_key).unwrap();
    vault.remove_platform_key(PASSWORD).unwrap();
    vault.lock();
    assert_eq!(
        vault.unlock_with_platform_key(&new_key).unwrap_err(),
        VaultError::NoPlatformKey
    );
    assert_eq!(
        PlatformKey::from_bytes(&[0; 31]).unwrap_err(),
        VaultError::InvalidPlatformKey
    );
    assert_ne!(
        PlatformKey::random().unwrap(),
        PlatformKey::random().unwrap()
    );
}

#[test]
fn the_platform_key_works_during_a_password_delay_and_resets_it() {
    let (storage, clock, mut vault) = new_vault();
    vault
        .enrol_platform_key(&platform_key(), b"wrapped")
        .unwrap();
    vault.lock();
    for _ in 0..5 {
        vault.unlock_with_password("wrong one").unwrap_err();
    }
    assert_eq!(vault.lockout_status().unwrap().wait_seconds, 30);
    vault.unlock_with_platform_key(&platform_key()).unwrap();
    assert_eq!(vault.lockout_status().unwrap().failures, 0);
    assert_eq!(
        reopen(&storage, &clock).lockout_status().unwrap().failures,
        0
    );
}

#[test]
fn change_password_checks_the_current_one_and_drops_the_platform_key_it_cannot_rewrap() {
    let (storage, clock, mut vault) = new_vault();
    vault
        .enrol_platform_key(&platform_key(), b"wrapped")
        .unwrap();
    assert_eq!(
        vault
            .change_password("wrong one", "new password 1")
            .unwrap_err(),
        wrong(9, 0)
    );
    assert_eq!(
        vault.change_password(PASSWORD, "654321").unwrap_err(),
        VaultError::Password(PasswordError::TooCommon)
    );
    let stronger = KdfParams {
        memory_kib: 24 * 1024,
        ..KdfParams::MINIMUM
    };
    vault
        .change_password_with(PASSWORD, "new password 1", stronger)
        .unwrap();
    assert_eq!(vault.lockout_status().unwrap().failures, 0);
    assert_eq!(vault.kdf_params().unwrap(), stronger);
    vault.lock();
    let mut vault = reopen(&storage, &clock);
    assert_eq!(
        vault.unlock_with_password(PASSWORD).unwrap_err(),
        wrong(9, 0)
    );
    // The master key was rotated: the old platform slot could not follow,
    // so the app offers to enrol the biometric unlock again.
    assert!(!vault.has_platform_key().unwrap());
    assert_eq!(
        vault.unlock_with_platform_key(&platform_key()),
        Err(VaultError::NoPlatformKey)
    );
    vault.unlock_with_password("new password 1").unwrap();
    vault.lock();
    assert_eq!(
        vault
            .change_password("new password 1", "x y z w v u")
            .unwrap_err(),
        VaultError::Locked
    );
}

#[test]
fn auto_lock_follows_the_user_and_the_app_lifecycle_on_the_injected_clock() {
    let (storage, clock, mut vault) = new_vault();
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    assert_eq!(vault.auto_lock_seconds().unwrap(), 120);
    // The user looking at the codes keeps the vault unlocked: it never locks
    // under a payment being typed.
    for _ in 0..10 {
        clock.advance_seconds(119);
        vault.pins().unwrap();
    }
    // Idle (no reads, no taps) for the auto-lock time: locked.
    clock.advance_seconds(100);
    vault.touch().unwrap();
    clock.advance_seconds(119);
    assert!(vault.is_unlocked());
    clock.advance_seconds(1);
    assert!(!vault.is_unlocked());
    assert_eq!(vault.pins().unwrap_err(), VaultError::Locked);
    assert_eq!(vault.touch().unwrap_err(), VaultError::Locked);
    assert!(vault.check_auto_lock());

    // In the background it locks after the grace; reads there (a widget)
    // do not keep it unlocked; back in time, nothing happened.
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(
        vault.background_lock_seconds(),
        DEFAULT_BACKGROUND_LOCK_SECONDS
    );
    assert_eq!(DEFAULT_BACKGROUND_LOCK_SECONDS, 60);
    vault.enter_background();
    clock.advance_seconds(59);
    assert!(!vault.enter_foreground());
    vault.enter_background();
    clock.advance_seconds(30);
    vault.enter_background(); // a second call keeps the first time
    clock.advance_seconds(29);
    vault.pins().unwrap();
    clock.advance_seconds(1);
    assert_eq!(vault.pins().unwrap_err(), VaultError::Locked);
    assert!(
        vault.enter_foreground(),
        "back after the grace: the lock screen"
    );
    // 0: locked as soon as the app leaves.
    vault.unlock_with_password(PASSWORD).unwrap();
    assert!(matches!(
        vault.set_background_lock_seconds(86_401),
        Err(VaultError::InvalidSetting(_))
    ));
    vault.set_background_lock_seconds(0).unwrap();
    vault.enter_background();
    assert!(!vault.is_unlocked());
    // An unlock that finishes in the background (the user left while the key
    // was derived) does not switch the background lock off.
    vault.unlock_with_password(PASSWORD).unwrap();
    assert!(!vault.is_unlocked());
    assert!(vault.enter_foreground());
    vault.unlock_with_password(PASSWORD).unwrap();
    assert!(vault.is_unlocked());
    clock.advance_seconds(119);
    assert!(!vault.enter_foreground());

    vault.unlock_with_password(PASSWORD).unwrap();
    assert!(matches!(
        vault.set_auto_lock_seconds(9),
        Err(VaultError::InvalidSetting(_))
    ));
    assert!(matches!(
        vault.set_auto_lock_seconds(86_401),
        Err(VaultError::InvalidSetting(_))
    ));
    vault.set_auto_lock_seconds(30).unwrap();
    clock.advance_seconds(29);
    vault.cards().unwrap();
    clock.advance_seconds(1);
    assert_eq!(vault.cards().unwrap_err(), VaultError::Locked);
    // Saved with the vault.
    let mut vault = reopen(&storage, &clock);
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(vault.auto_lock_seconds().unwrap(), 30);
}

#[test]
fn a_snapshot_shows_what_the_vault_would_and_nothing_after_a_lock_or_a_wipe() {
    use dynpin::clock::Clock;
    let (_storage, clock, mut vault) = new_vault();
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    let snapshot = vault.snapshot();
    let now = clock.now_millis();
    assert!(snapshot.is_unlocked(now));
    assert_eq!(snapshot.cards(now).unwrap().len(), 1);
    let codes = |pins: Vec<dynpin::vault::CardPins>| -> Vec<String> {
        pins.into_iter()
            .flat_map(|c| c.pins.unwrap())
            .map(|p| p.grouped())
            .collect()
    };
    assert_eq!(
        codes(snapshot.pins(now, now).unwrap()),
        codes(vault.pins().unwrap())
    );
    // The app-wide correction moves the codes, not the auto-lock.
    let later = now + 3_600_000;
    assert_ne!(
        codes(snapshot.pins(now, later).unwrap()),
        codes(vault.pins().unwrap())
    );
    // Later changes are not in it.
    vault.add_card(bank_card(2, 2), OnExisting::Refuse).unwrap();
    assert_eq!(snapshot.cards(now).unwrap().len(), 1);
    // Reading codes from it keeps the vault unlocked, as the vault's own reads do.
    clock.advance_seconds(119);
    snapshot
        .pins(clock.now_millis(), clock.now_millis())
        .unwrap();
    clock.advance_seconds(119);
    assert!(vault.is_unlocked());
    // It follows the auto-lock...
    let snapshot = vault.snapshot();
    clock.advance_seconds(120);
    assert_eq!(
        snapshot.cards(clock.now_millis()).unwrap_err(),
        VaultError::Locked
    );
    assert!(!snapshot.is_unlocked(clock.now_millis()));
    // ...and a lock, even after the vault is unlocked again.
    vault.unlock_with_password(PASSWORD).unwrap();
    let snapshot = vault.snapshot();
    vault.lock();
    let now = clock.now_millis();
    assert_eq!(snapshot.pins(now, now).unwrap_err(), VaultError::Locked);
    vault.unlock_with_password(PASSWORD).unwrap();
    assert!(!snapshot.is_unlocked(now));
    assert_eq!(snapshot.touch(now).unwrap_err(), VaultError::Locked);
    // A locked vault's snapshot: the lock screen's facts.
    vault.lock();
    assert!(vault.unlock_with_password("wrong password").is_err());
    let snapshot = vault.snapshot();
    assert_eq!(
        snapshot.lockout_status(now).unwrap(),
        vault.lockout_status().unwrap()
    );
    assert_eq!(snapshot.lockout_status(now).unwrap().failures, 1);
    assert_eq!(
        snapshot.has_platform_key().unwrap(),
        vault.has_platform_key().unwrap()
    );
    assert!(!snapshot.is_device_bound().unwrap());
    assert_eq!(snapshot.cards(now).unwrap_err(), VaultError::Locked);
    assert!(!format!("{snapshot:?}").is_empty());
    // Wiped: nothing, and a snapshot taken before shows nothing either.
    vault.unlock_with_password(PASSWORD).unwrap();
    let before = vault.snapshot();
    vault.wipe().unwrap();
    assert!(!before.is_unlocked(now));
    assert_eq!(
        vault.snapshot().lockout_status(now).unwrap_err(),
        VaultError::Wiped
    );
}

#[test]
fn slow_steps_of_backups_and_platform_key_removal_need_no_vault() {
    let (_storage, _clock, mut vault) = new_vault();
    const BACKUP_PASSWORD: &str = "backup pass 1403";
    vault.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    let exportable = vault
        .add_card(
            totp_card("Mail", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    // The backup's cost within the device's ceiling, to keep the test fast.
    vault.set_kdf_ceiling(KdfParams::MINIMUM);
    // Export: copy the cards (fast), seal without the vault (slow).
    let export = vault.prepare_backup().unwrap();
    assert!(!format!("{export:?}").contains("secret"));
    assert!(matches!(
        vault.prepare_backup().unwrap().seal("short"),
        Err(VaultError::Password(_))
    ));
    let backup = export.seal(BACKUP_PASSWORD).unwrap();
    // Import: open without the vault (slow), add (fast, one save).
    let opened = OpenedBackup::open(&backup, BACKUP_PASSWORD, KdfParams::MAXIMUM).unwrap();
    assert_eq!(opened.len(), 1);
    assert!(!opened.is_empty());
    vault.remove_card(exportable).unwrap();
    let summary = vault.add_backup(opened, OnExisting::Refuse).unwrap();
    assert_eq!(summary.added, vec![exportable]);
    assert!(matches!(
        OpenedBackup::open(&backup, "wrong backup password", KdfParams::MAXIMUM),
        Err(VaultError::WrongBackupPassword)
    ));
    // Removing the platform key: the attempt's steps, then the last one.
    vault.enrol_platform_key(&platform_key(), b"").unwrap();
    let derived = vault
        .begin_password_attempt()
        .unwrap()
        .derive(PASSWORD)
        .unwrap();
    vault.finish_remove_platform_key(derived).unwrap();
    assert!(!vault.has_platform_key().unwrap());
    let derived = vault
        .begin_password_attempt()
        .unwrap()
        .derive("wrong password")
        .unwrap();
    assert!(matches!(
        vault.finish_remove_platform_key(derived),
        Err(VaultError::WrongPassword { .. })
    ));
    // Wiping: the file first, the device key by the caller.
    assert!(vault.device_key().is_none());
    vault.wipe_file().unwrap();
    assert_eq!(vault.cards().unwrap_err(), VaultError::Wiped);
}

#[test]
fn card_operations_are_saved_and_follow_the_activation_duplicate_rules() {
    let (storage, clock, mut vault) = new_vault();
    let a = vault
        .add_card(bank_card(1111, 1), OnExisting::Refuse)
        .unwrap();
    let b = vault
        .add_card(
            totp_card("Mail", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    let c = vault
        .add_card(hotp_card("VPN", 5), OnExisting::Refuse)
        .unwrap();
    vault.rename_card(a, "Salary").unwrap();

    // The same card number again: refused, or replaced in place keeping the label.
    assert_eq!(
        vault
            .add_card(bank_card(1111, 9), OnExisting::Refuse)
            .unwrap_err(),
        VaultError::CardAlreadyPresent { existing: a }
    );
    let a2 = vault
        .add_card(bank_card(1111, 9), OnExisting::Replace)
        .unwrap();
    let ids: Vec<CardId> = vault.cards().unwrap().iter().map(Card::id).collect();
    assert_eq!(ids, [a2, b, c]);
    assert_eq!(vault.card(a2).unwrap().label(), "Salary");
    assert_eq!(vault.card(a2).unwrap().secret().expose(), &[9; 32]);
    assert_eq!(vault.card(a).unwrap_err(), VaultError::NoSuchCard(a));

    assert!(matches!(
        vault.rename_card(b, "  "),
        Err(VaultError::Card(CardError::InvalidLabel))
    ));
    vault.set_amount_ceiling(a2, Some(20_000_000)).unwrap();
    vault.set_time_offset(a2, -45).unwrap();
    assert!(matches!(
        vault.set_time_offset(a2, 400 * 86_400),
        Err(VaultError::Card(CardError::TimeOffsetOutOfRange))
    ));
    assert_eq!(vault.advance_counter(c).unwrap(), 6);
    assert!(matches!(
        vault.advance_counter(a2),
        Err(VaultError::Card(CardError::NotCounterBased))
    ));

    vault.move_card(c, 0).unwrap();
    assert_eq!(
        vault
            .cards()
            .unwrap()
            .iter()
            .map(Card::id)
            .collect::<Vec<_>>(),
        [c, a2, b]
    );
    vault.move_card(c, 99).unwrap();
    assert_eq!(
        vault
            .cards()
            .unwrap()
            .iter()
            .map(Card::id)
            .collect::<Vec<_>>(),
        [a2, b, c]
    );
    vault.reorder_cards(&[b, c, a2]).unwrap();
    for bad in [vec![b, c], vec![b, c, c], vec![b, c, a2, a]] {
        assert_eq!(
            vault.reorder_cards(&bad).unwrap_err(),
            VaultError::InvalidOrder
        );
    }
    vault.remove_card(b).unwrap();
    assert_eq!(vault.remove_card(b).unwrap_err(), VaultError::NoSuchCard(b));
    assert_eq!(
        vault.move_card(b, 0).unwrap_err(),
        VaultError::NoSuchCard(b)
    );

    let expected = snapshot(&mut vault);
    assert_eq!(
        expected.cards.iter().map(|c| c.0).collect::<Vec<_>>(),
        [c, a2]
    );
    let mut vault = reopen(&storage, &clock);
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(snapshot(&mut vault), expected);
    let card = vault.card(a2).unwrap();
    assert_eq!(
        (card.amount_ceiling(), card.time_offset()),
        (Some(20_000_000), -45)
    );
    assert_eq!(
        vault.card(c).unwrap().pins(&*clock).unwrap()[0].counter(),
        6
    );
}

#[test]
fn cards_come_from_activation_and_from_otpauth_import() {
    let (_, clock, mut vault) = new_vault();
    let card_ref = CardRef::new(606_373, LastFour::from_value(4321).unwrap()).unwrap();
    let now = u64::try_from(T0).unwrap();
    let issued = Sealed::new(card_ref, now);
    let activated = activation::activate(&issued.payload, &issued.code, &*clock).unwrap();
    let id = vault.add_activated(activated, OnExisting::Refuse).unwrap();
    let in_vault = vault.card(id).unwrap().pins(&*clock).unwrap();
    let at_bank = issued.bank_copy().pins(&*clock).unwrap();
    assert_eq!(in_vault, at_bank);
    // Re-activating the same card: the duplicate rule of Card::is_same_card.
    let again = Sealed::new(card_ref, now);
    let activated = activation::activate(&again.payload, &again.code, &*clock).unwrap();
    assert_eq!(
        vault
            .add_activated(activated, OnExisting::Refuse)
            .unwrap_err(),
        VaultError::CardAlreadyPresent { existing: id }
    );

    let imported = dynpin::import::parse_otpauth(
        "otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example",
    )
    .unwrap();
    let token = vault
        .add_card(imported.into_card().unwrap(), OnExisting::Refuse)
        .unwrap();
    assert!(vault.card(token).unwrap().exportable());
}

#[test]
fn pins_of_all_cards_in_one_call_with_per_card_results() {
    let (_, clock, mut vault) = new_vault();
    let mut cards = vec![
        bank_card(1, 1),
        totp_card("Mail", b"12345678901234567890"),
        hotp_card("VPN", 1),
    ];
    cards[0].set_time_offset(-30).unwrap();
    cards[1].set_time_offset(3600).unwrap();
    let ids: Vec<CardId> = cards
        .iter()
        .map(|c| vault.add_card(c.clone(), OnExisting::Refuse).unwrap())
        .collect();
    let pins = vault.pins().unwrap();
    assert_eq!(pins.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    for (got, card) in pins.iter().zip(&cards) {
        assert_eq!(got.pins.as_ref().unwrap(), &card.pins(&*clock).unwrap());
    }
    let kinds: Vec<Vec<PinKind>> = pins
        .iter()
        .map(|p| p.pins.as_ref().unwrap().iter().map(|c| c.kind()).collect())
        .collect();
    assert_eq!(
        kinds,
        [
            vec![PinKind::First, PinKind::Second],
            vec![PinKind::Token],
            vec![PinKind::Token]
        ]
    );
    // A clock 5 s before 1970: the card corrected by an hour still shows its
    // code; the others report their own error.
    clock.set_millis(-5_000);
    let pins = vault.pins().unwrap();
    assert!(matches!(
        pins[0].pins,
        Err(CardError::Otp(OtpError::TimeBeforeEpoch { .. }))
    ));
    assert_eq!(
        pins[1].pins.as_ref().unwrap(),
        &cards[1].pins(&*clock).unwrap()
    );
    assert!(matches!(
        pins[2].pins,
        Err(CardError::Otp(OtpError::TimeBeforeEpoch { .. }))
    ));
}

#[test]
fn backups_hold_exportable_cards_only_and_import_with_the_duplicate_rules() {
    let (_, _, mut source) = new_vault();
    let bank = source
        .add_card(bank_card(1, 1), OnExisting::Refuse)
        .unwrap();
    let mut allowed = bank_card(2, 2);
    allowed.set_exportable(true);
    let allowed = source.add_card(allowed, OnExisting::Refuse).unwrap();
    let token = source
        .add_card(
            totp_card("Mail", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    let mut private = hotp_card("VPN", 1);
    private.set_exportable(false);
    source.add_card(private, OnExisting::Refuse).unwrap();

    assert_eq!(
        source
            .export_backup_with("111111111111", KdfParams::MINIMUM)
            .unwrap_err(),
        VaultError::Password(PasswordError::TooCommon)
    );
    assert_eq!(
        source
            .export_backup_with(
                "backup pass 1",
                KdfParams {
                    iterations: 1,
                    ..KdfParams::MINIMUM
                }
            )
            .unwrap_err(),
        VaultError::Kdf(KdfError::TooWeak)
    );
    let backup = source
        .export_backup_with("backup pass 1", KdfParams::MINIMUM)
        .unwrap();
    assert_eq!(&backup[..8], b"DPNBACKP");

    let (_, _, mut target) = new_vault();
    assert_eq!(
        target
            .import_backup(&backup, "backup pass 2", OnExisting::Refuse)
            .unwrap_err(),
        VaultError::WrongBackupPassword
    );
    let summary = target
        .import_backup(&backup, "backup pass 1", OnExisting::Refuse)
        .unwrap();
    assert_eq!(summary.added, [allowed, token]);
    assert!(summary.replaced.is_empty() && summary.skipped.is_empty());
    assert_eq!(target.card(bank).unwrap_err(), VaultError::NoSuchCard(bank));
    assert_eq!(
        target.card(token).unwrap().secret(),
        source.card(token).unwrap().secret()
    );
    let again = target
        .import_backup(&backup, "backup pass 1", OnExisting::Refuse)
        .unwrap();
    assert_eq!(again.skipped, [allowed, token]);
    target.rename_card(token, "Work mail").unwrap();
    let replace = target
        .import_backup(&backup, "backup pass 1", OnExisting::Replace)
        .unwrap();
    assert_eq!(replace.replaced, [allowed, token]);
    assert_eq!(target.cards().unwrap().len(), 2);
    assert_eq!(
        target.card(token).unwrap().label(),
        "Work mail",
        "labels survive a replace"
    );

    // Damage anywhere is a typed error.
    for i in [0, 8, 9, 30, backup.len() / 2, backup.len() - 1] {
        let mut bad = backup.clone();
        bad[i] ^= 0x01;
        let err = target
            .import_backup(&bad, "backup pass 1", OnExisting::Refuse)
            .unwrap_err();
        assert!(
            matches!(err, VaultError::NotABackup | VaultError::CorruptBackup(_)),
            "byte {i}: {err:?}"
        );
    }
    assert_eq!(
        target
            .import_backup(b"DPNVAULT...", "backup pass 1", OnExisting::Refuse)
            .unwrap_err(),
        VaultError::NotABackup
    );

    let (_, _, mut bank_only) = new_vault();
    bank_only
        .add_card(bank_card(3, 3), OnExisting::Refuse)
        .unwrap();
    assert_eq!(
        bank_only.export_backup("backup pass 1").unwrap_err(),
        VaultError::NothingToExport
    );
}

#[test]
fn a_backup_at_the_default_parameters() {
    let (_, _, mut vault) = new_vault();
    vault
        .add_card(
            totp_card("Mail", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    let backup = vault.export_backup("backup pass 1").unwrap();
    assert_eq!(
        &backup[26..38],
        [0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1],
        "m = 64 MiB, t = 3, p = 1"
    );
    let (_, _, mut other) = new_vault();
    assert_eq!(
        other
            .import_backup(&backup, "backup pass 1", OnExisting::Refuse)
            .unwrap()
            .added
            .len(),
        1
    );
}

#[test]
fn the_vault_works_behind_a_mutex_across_threads() {
    let (_, _, vault) = new_vault();
    let shared = Arc::new(Mutex::new(vault));
    let handles: Vec<_> = (0..4u16)
        .map(|n| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut v = shared.lock().unwrap();
                v.add_card(bank_card(n, n as u8), OnExisting::Refuse)
                    .unwrap();
                v.pins().unwrap().len()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap() >= 1);
    }
    assert_eq!(shared.lock().unwrap().cards().unwrap().len(), 4);
}

#[test]
fn password_rules_are_public() {
    assert_eq!(
        check_new_password("abc"),
        Err(PasswordError::TooShort { min: 6 })
    );
    assert!(dynpin::vault::common_passwords().count() >= 100);
}

/// Every public type and error of the vault (and of the crate, where it can
/// hold a secret), formatted with `{:?}`, `{:#?}` and `{}`, with known secrets
/// inside: no seed, key, base32 secret or password may appear.
#[test]
fn formatting_never_reveals_a_secret() {
    let seed: Vec<u8> = vec![
        0xa7, 0x3c, 0x05, 0x63, 0xd1, 0x9e, 0x4b, 0x20, 0x88, 0x17, 0xf2, 0x6d, 0xc9, 0x31, 0x5a,
        0xbe, 0x02, 0x7f, 0xe4, 0x96,
    ];
    let token_secret = b"SECRET-token-bytes-7".to_vec();
    let platform_bytes: Vec<u8> = (0..32).map(|i| 0xc0 ^ (i * 7)).collect();
    let password = "Tehran-Vault-Secret-9";
    let backup_password = "Backup-Secret-Pass-8";

    let mut forbidden: Vec<String> = vec![password.into(), backup_password.into()];
    for bytes in [&seed, &token_secret, &platform_bytes] {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        forbidden.push(hex[..16].to_string());
        forbidden.push(hex[..16].to_uppercase());
        let decimal: Vec<String> = bytes[..4].iter().map(u8::to_string).collect();
        forbidden.push(decimal.join(", "));
        forbidden.push(SecretBytes::from_slice(bytes).to_base32()[..16].to_string());
    }
    forbidden.push(String::from_utf8(token_secret.clone()).unwrap());

    let storage = Arc::new(MemoryStorage::new());
    let clock = clock();
    let mut vault =
        Vault::create(storage.clone(), clock.clone(), password, fast_options()).unwrap();
    let platform = PlatformKey::from_bytes(&platform_bytes).unwrap();
    vault.enrol_platform_key(&platform, b"wrapped").unwrap();
    let mut bank = Card::bank_card(
        CardId::random().unwrap(),
        "Secret-free label",
        CardRef::new(610_433, LastFour::from_value(1234).unwrap()).unwrap(),
        SecretBytes::from(seed.clone()),
        Some(PinPolicy::first_pin()),
        Some(PinPolicy::second_pin()),
    )
    .unwrap();
    bank.set_exportable(true);
    let token = totp_card("Mail", &token_secret);
    vault.add_card(bank.clone(), OnExisting::Refuse).unwrap();
    vault.add_card(token.clone(), OnExisting::Refuse).unwrap();
    let pins = vault.pins().unwrap();
    let backup = vault
        .export_backup_with(backup_password, KdfParams::MINIMUM)
        .unwrap();
    let summary = vault
        .import_backup(&backup, backup_password, OnExisting::Replace)
        .unwrap();

    let mut texts: Vec<String> = Vec::new();
    fn debug(texts: &mut Vec<String>, value: &dyn std::fmt::Debug) {
        texts.push(format!("{value:?}"));
        texts.push(format!("{value:#?}"));
    }
    debug(&mut texts, &vault);
    debug(&mut texts, &vault.cards().unwrap());
    debug(&mut texts, &pins);
    debug(&mut texts, &summary);
    debug(&mut texts, &platform);
    debug(&mut texts, &bank);
    debug(&mut texts, &token);
    debug(&mut texts, &token.as_token().unwrap());
    debug(&mut texts, &storage);
    debug(&mut texts, &fast_options());
    debug(&mut texts, &vault.lockout_status().unwrap());
    debug(&mut texts, &FileStorage::new("/data/app", "vault.bin"));
    debug(&mut texts, &LockoutPolicy::default());
    debug(&mut texts, &FileRole::ALL);
    debug(&mut texts, &SecretBytes::from(seed.clone()));
    debug(
        &mut texts,
        &vault.card(bank.id()).unwrap().pins(&*clock).unwrap(),
    );
    // An imported token (its base32 secret in the URI) and an activation (its seed).
    let base32 = SecretBytes::from_slice(&token_secret).to_base32();
    let imported = dynpin::import::parse_otpauth(&format!(
        "otpauth://totp/Example:alice?secret={}&issuer=Example",
        base32.as_str()
    ))
    .unwrap();
    debug(&mut texts, &imported);
    texts.push(imported.to_string());
    {
        let issued = Sealed::new(
            CardRef::new(606_373, LastFour::from_value(4321).unwrap()).unwrap(),
            u64::try_from(T0).unwrap(),
        );
        let activated = activation::activate(&issued.payload, &issued.code, &*clock).unwrap();
        let activation_seed = activated.card.secret().expose().to_vec();
        let hex: String = activation_seed.iter().map(|b| format!("{b:02x}")).collect();
        let text = format!("{activated:?} {activated:#?} {:?}", issued.code);
        assert!(!text.contains(&hex[..16]), "{text}");
        assert!(!text.contains(issued.code.digits()), "{text}");
        vault.add_activated(activated, OnExisting::Refuse).unwrap();
    }
    for op in [StorageOp::Write, StorageOp::SyncDir] {
        texts.push(format!("{op:?} {op}"));
    }
    for e in [PasswordError::TooCommon, PasswordError::TooShort { min: 6 }] {
        texts.push(format!("{e:?} {e}"));
    }
    let errors: Vec<VaultError> = vec![
        Vault::create(storage.clone(), clock.clone(), password, fast_options()).unwrap_err(),
        vault
            .change_password("Not-The-Password-1", password)
            .unwrap_err(),
        VaultError::PlatformKeyInvalidated,
        VaultError::Password(PasswordError::TooCommon),
        VaultError::Storage {
            op: StorageOp::Rename,
            kind: std::io::ErrorKind::StorageFull,
        },
        VaultError::Card(CardError::SeedTooShort),
        VaultError::CardAlreadyPresent {
            existing: bank.id(),
        },
    ];
    for e in &errors {
        debug(&mut texts, e);
        texts.push(e.to_string());
    }
    vault.lock();
    texts.push(format!("{vault:?}"));
    let mut reopened = Vault::open(storage.clone(), clock.clone()).unwrap();
    let err = reopened
        .unlock_with_password("Not-The-Password-2")
        .unwrap_err();
    texts.push(format!("{err:?} {err} {reopened:?}"));

    let all = texts.join("\n");
    for secret in &forbidden {
        assert!(
            !all.contains(secret.as_str()),
            "leaked {secret:?} in:\n{all}"
        );
    }
}

/// Payloads are sealed under the activation code only, so anyone who knows a
/// code can craft an authentic one. This one, sealed by an independent Python
/// implementation of docs/activation-format.md (code `1234567890123456`,
/// issued at 1 800 000 000 for a day), carries a BIN of 16 777 215: more than
/// six digits. It used to activate and save, and the vault then refused to
/// open: every card lost. Nothing a payload holds may damage the vault.
const CRAFTED_BIN_PAYLOAD: &str = "DPIN:AEAP7777ATJAAAAAABVUTUQAAAAVDAFRWKZ3JNNWW64AAEYCAFSHS3TQNFXC243BNR2C2MBQGAZBA3IKWTOU7XVGQCS6GPMWBRSZQJOJZHZAXPFBYJCUP3KMBDD4LFRGW5ND424JCGBJYHSIO4ZZ2";

#[test]
fn a_crafted_payload_cannot_damage_the_vault() {
    let (storage, clock, mut vault) = new_vault();
    let kept = vault
        .add_card(bank_card(1234, 7), OnExisting::Refuse)
        .unwrap();
    let code = activation::ActivationCode::parse("1234567890123456").unwrap();
    let activated = activation::activate(CRAFTED_BIN_PAYLOAD, &code, &*clock);
    if let Ok(activated) = activated.clone() {
        let _ = vault.add_activated(activated, OnExisting::Refuse);
    }
    vault.lock();
    let mut reopened = reopen(&storage, &clock);
    reopened.unlock_with_password(PASSWORD).unwrap();
    let ids: Vec<CardId> = reopened.cards().unwrap().iter().map(Card::id).collect();
    assert_eq!(ids, [kept]);
    assert_eq!(
        activated.unwrap_err(),
        activation::ActivationError::Malformed("card reference")
    );
}

fn any_policy() -> impl Strategy<Value = Option<PinPolicy>> {
    proptest::option::of(
        (
            prop_oneof![
                Just(Algorithm::Sha1),
                Just(Algorithm::Sha256),
                Just(Algorithm::Sha512)
            ],
            0u8..=12,
            0u64..=400,
        )
            .prop_map(|(algorithm, digits, period)| PinPolicy {
                algorithm,
                digits,
                period,
            }),
    )
}

proptest! {
    // Each case derives two Argon2id keys at the minimum parameters.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Through the public API: any payload an issuer can seal that activates
    /// is saved, and the vault reopens to the same card.
    #[test]
    fn whatever_activates_saves_and_reopens_to_the_same_card(
        bin in 0u32..=999_999,
        last in 0u16..=9999,
        label in proptest::option::of("\\PC{0,70}"),
        exportable: bool,
        first in any_policy(),
        second in any_policy(),
        seed_len in 0usize..=80,
    ) {
        let code = "1234567890123456";
        let header = Header {
            version: PAYLOAD_VERSION_1,
            exportable,
            card_ref: CardRef::new(bin, LastFour::from_value(last).unwrap()).unwrap(),
            issued_at: u64::try_from(T0).unwrap(),
            valid_for: 3600,
            activation_id: [7; 8],
            kdf: KdfParams::MINIMUM,
            salt: [9; 16],
            label,
        };
        let secrets = Secrets {
            first,
            second,
            seed: SecretBytes::from(vec![0x5a; seed_len]),
        };
        let Ok(text) = payload::seal(&header, &secrets, code) else {
            return Ok(());
        };
        let (storage, clock, mut vault) = new_vault();
        let Ok(activated) = activation::activate(
            &text,
            &activation::ActivationCode::parse(code).unwrap(),
            &*clock,
        ) else {
            return Ok(());
        };
        let card = activated.card.clone();
        vault.add_activated(activated, OnExisting::Refuse).unwrap();
        vault.lock();
        let mut reopened = reopen(&storage, &clock);
        reopened.unlock_with_password(PASSWORD).unwrap();
        let stored = reopened.card(card.id()).unwrap();
        prop_assert_eq!(stored.label(), card.label());
        prop_assert_eq!(stored.card_ref(), card.card_ref());
        prop_assert_eq!(stored.exportable(), card.exportable());
        prop_assert_eq!(stored.pins(&*clock), card.pins(&*clock));
    }
}

/// A backup leaves the phone: it is guessed offline, with no lockout and no
/// device key. A password good enough for the app (six characters) is not
/// good enough for a backup.
#[test]
fn backup_passwords_are_held_to_a_stronger_rule() {
    let (_, _, mut vault) = new_vault();
    vault
        .add_card(
            totp_card("VPN", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    check_new_password("k3v!n9").unwrap();
    for weak in ["k3v!n9", "short pass"] {
        assert!(
            matches!(
                vault.export_backup_with(weak, KdfParams::MINIMUM),
                Err(VaultError::Password(PasswordError::TooShort { .. }))
            ),
            "{weak:?}"
        );
    }
    vault
        .export_backup_with("a longer backup passphrase", KdfParams::MINIMUM)
        .unwrap();
}

/// A phone with little memory sets the costliest key derivation it accepts:
/// a vault file asking for more is refused before the attempt is counted,
/// and so are backups and new passwords above it.
#[test]
fn a_device_kdf_ceiling_refuses_costlier_derivations_before_counting() {
    let storage = Arc::new(MemoryStorage::new());
    let clock = clock();
    let options = VaultOptions {
        kdf: KdfParams {
            memory_kib: 32 * 1024,
            ..KdfParams::MINIMUM
        },
        ..fast_options()
    };
    let mut vault = Vault::create(storage.clone(), clock.clone(), PASSWORD, options).unwrap();
    vault
        .add_card(
            totp_card("VPN", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    let small = KdfParams {
        memory_kib: 24 * 1024,
        ..KdfParams::MAXIMUM
    };
    vault.set_kdf_ceiling(small);
    assert_eq!(
        vault.export_backup_with("a longer backup passphrase", KdfParams::DEFAULT),
        Err(VaultError::Kdf(KdfError::TooCostly))
    );
    assert_eq!(
        vault.change_password_with(PASSWORD, "another good password", KdfParams::DEFAULT),
        Err(VaultError::Kdf(KdfError::TooCostly))
    );
    // Without parameters, a backup is made at the ceiling when it is below the default.
    let backup = vault.export_backup("a longer backup passphrase").unwrap();
    vault.lock();

    let mut reopened = reopen(&storage, &clock);
    reopened.set_kdf_ceiling(small);
    assert_eq!(
        reopened.unlock_with_password(PASSWORD),
        Err(VaultError::Kdf(KdfError::TooCostly))
    );
    assert_eq!(reopened.lockout_status().unwrap().failures, 0);
    reopened.set_kdf_ceiling(KdfParams::MAXIMUM);
    reopened.unlock_with_password(PASSWORD).unwrap();
    // The floor's cost, 19 MiB, under the backup's 24.
    reopened.set_kdf_ceiling(KdfParams::MINIMUM);
    assert_eq!(
        reopened
            .import_backup(&backup, "a longer backup passphrase", OnExisting::Replace)
            .unwrap_err(),
        VaultError::Kdf(KdfError::TooCostly)
    );
}
