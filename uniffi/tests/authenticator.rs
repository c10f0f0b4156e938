//! The mobile API from Rust: the same lifecycle the Kotlin, Swift and Python suites walk,
//! and the shared fixture those suites use, checked against the documented vectors.

use std::sync::Arc;

use pollster::block_on;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use dynpin_ffi::{
    Authenticator, DynpinError, InputProblem, MobileClock, PinType, VaultSettings, vault_exists,
};

struct TestClock {
    millis: AtomicI64,
    calls: AtomicUsize,
}

impl MobileClock for TestClock {
    fn now_millis(&self) -> i64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.millis.load(Ordering::SeqCst)
    }
}

fn fixture() -> serde_like::Fixture {
    serde_like::parse(include_str!("../../bindings/fixtures/vector.json"))
}

/// A tiny reader for the flat JSON fixture (no serde dependency for one file).
mod serde_like {
    pub(super) struct Fixture(pub(super) Vec<(String, String)>);
    impl Fixture {
        pub(super) fn get(&self, key: &str) -> String {
            self.0
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {key}"))
        }
    }
    pub(super) fn parse(text: &str) -> Fixture {
        let mut out = Vec::new();
        for line in text.lines() {
            let line = line.trim().trim_end_matches(',');
            if let Some((k, v)) = line.split_once("\": ") {
                out.push((
                    k.trim_matches('"').to_owned(),
                    v.trim_matches('"').to_owned(),
                ));
            }
        }
        Fixture(out)
    }
}

#[test]
fn fixture_matches_the_documented_vectors() {
    let fx = fixture();
    let activation_doc = include_str!("../../docs/activation-format.md");
    assert!(activation_doc.contains(&format!("`{}`", fx.get("payload"))));
    assert!(activation_doc.contains(&format!(
        "| confirmation code | `{}` |",
        fx.get("confirmation_code")
    )));
    let derivation_doc = include_str!("../../docs/card-derivation.md");
    assert!(derivation_doc.contains(&format!(
        "| first | SHA256 | 4 | 60 | 1800000000 | 30000000 | `{}` |",
        fx.get("first_pin")
    )));
    assert!(derivation_doc.contains(&format!(
        "| second | SHA256 | 8 | 60 | 1800000000 | 30000000 | `{}` |",
        fx.get("second_pin")
    )));
}

/// An empty directory for one test, as a path and as the string the API takes.
fn fresh_dir(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = dir.to_string_lossy().to_string();
    (dir, text)
}

/// A clock fixed at the fixture's time, counting its calls.
fn fixture_clock(fx: &serde_like::Fixture) -> Arc<TestClock> {
    Arc::new(TestClock {
        millis: AtomicI64::new(fx.get("clock_millis").parse().unwrap()),
        calls: AtomicUsize::new(0),
    })
}

fn settings() -> VaultSettings {
    // The floor, to keep the suite quick; apps use the defaults.
    VaultSettings {
        kdf_memory_kib: 19 * 1024,
        kdf_iterations: 2,
        ..VaultSettings::default()
    }
}

#[test]
fn the_app_lifecycle() {
    let fx = fixture();
    let (dir, dir_s) = fresh_dir("dynpin-mobile");
    let clock = fixture_clock(&fx);
    assert!(!vault_exists(dir_s.clone()).unwrap());
    let weak = block_on(Authenticator::create_with_settings(
        dir_s.clone(),
        "123456".into(),
        settings(),
        Some(clock.clone()),
    ));
    assert!(matches!(weak, Err(DynpinError::WeakPassword { .. })));
    let auth = block_on(Authenticator::create_with_settings(
        dir_s.clone(),
        "correct horse".into(),
        settings(),
        Some(clock.clone()),
    ))
    .unwrap();
    assert!(vault_exists(dir_s.clone()).unwrap());

    let details = auth.inspect_activation(fx.get("payload")).unwrap();
    assert_eq!(
        details.bank_name.as_deref(),
        Some(fx.get("bank_name").as_str())
    );
    assert_eq!(details.last_four, fx.get("last_four"));
    // The payload's cost is shown before the code is typed; a phone that
    // cannot afford it refuses before deriving.
    assert_eq!(
        (
            details.kdf_memory_kib,
            details.kdf_iterations,
            details.kdf_lanes
        ),
        (19 * 1024, 2, 1)
    );
    auth.set_kdf_ceiling(16 * 1024, 16);
    assert!(matches!(
        block_on(
            auth.clone()
                .activate(fx.get("payload"), fx.get("activation_code"), false)
        ),
        Err(DynpinError::KdfParametersRejected {
            too_costly: true,
            ..
        })
    ));
    auth.set_kdf_ceiling(u32::MAX, u32::MAX);
    assert_eq!(
        block_on(
            auth.clone()
                .activate(fx.get("payload"), "1234 5678 9012 3457".into(), false)
        ),
        Err(DynpinError::WrongActivationCode)
    );
    let result = block_on(auth.clone().activate(
        fx.get("payload"),
        fx.get("activation_code"),
        false,
    ))
    .unwrap();
    assert_eq!(result.confirmation_code, fx.get("confirmation_code"));
    assert!(matches!(
        block_on(
            auth.clone()
                .activate(fx.get("payload"), fx.get("activation_code"), false)
        ),
        Err(DynpinError::CardAlreadyPresent { .. })
    ));

    let codes = auth.codes().unwrap();
    assert_eq!(codes.len(), 1);
    let pins = &codes[0].pins;
    assert_eq!(
        (pins[0].kind, pins[0].digits.as_str()),
        (PinType::First, fx.get("first_pin").as_str())
    );
    assert_eq!(
        (pins[1].kind, pins[1].digits.as_str()),
        (PinType::Second, fx.get("second_pin").as_str())
    );
    assert_eq!(pins[1].seconds_remaining, Some(30));
    assert!(
        clock.calls.load(Ordering::SeqCst) > 0,
        "the app's clock is used"
    );

    let token = auth.import_otpauth(fx.get("otpauth")).unwrap();
    assert_eq!(
        auth.pin(token.id.clone(), PinType::Token).unwrap().digits,
        fx.get("otpauth_code")
    );
    assert!(matches!(
        auth.import_otpauth("otpauth://totp/%2?secret=s".into()),
        Err(DynpinError::InvalidToken { .. })
    ));
    assert!(matches!(
        auth.inspect_activation("DPIN:garbage".into()),
        Err(DynpinError::InvalidPayload { .. })
    ));

    let key = vec![7u8; 32];
    auth.enrol_platform_key(key.clone(), b"wrapped by the keystore".to_vec())
        .unwrap();
    auth.lock();
    assert!(auth.is_locked());
    assert_eq!(
        auth.platform_key_blob(),
        Ok(Some(b"wrapped by the keystore".to_vec())),
        "the wrapped key is readable while locked"
    );
    assert_eq!(auth.codes(), Err(DynpinError::VaultLocked));
    assert_eq!(
        block_on(auth.clone().unlock_with_password("wrong password".into())),
        Err(DynpinError::WrongPassword {
            remaining_attempts: 9,
            wait_seconds: 0
        })
    );
    auth.unlock_with_platform_key(key).unwrap();
    auth.lock();
    assert_eq!(
        auth.unlock_with_platform_key(vec![8u8; 32]),
        Err(DynpinError::PlatformKeyInvalidated)
    );
    drop(auth);

    // Reopen from disk, as after an app restart.
    let reopened = Authenticator::open(dir_s.clone(), Some(clock.clone())).unwrap();
    assert!(reopened.is_locked());
    assert!(matches!(
        block_on(
            reopened
                .clone()
                .unlock_with_password_bytes(vec![0xff, 0xfe])
        ),
        Err(DynpinError::InvalidInput {
            problem: dynpin_ffi::InputProblem::NotUtf8,
            ..
        })
    ));
    assert_eq!(reopened.lockout_status().unwrap().failures, 0);
    block_on(
        reopened
            .clone()
            .unlock_with_password_bytes(b"correct horse".to_vec()),
    )
    .unwrap();
    assert_eq!(reopened.cards().unwrap().len(), 2);
    assert_eq!(
        reopened.codes().unwrap()[0].pins[1].digits,
        fx.get("second_pin")
    );
    // The byte form of a password change: the new password opens the vault.
    block_on(
        reopened
            .clone()
            .change_password_bytes(b"correct horse".to_vec(), b"a new passphrase".to_vec()),
    )
    .unwrap();
    reopened.lock();
    assert!(matches!(
        block_on(
            reopened
                .clone()
                .unlock_with_password("correct horse".into())
        ),
        Err(DynpinError::WrongPassword { .. })
    ));
    block_on(
        reopened
            .clone()
            .unlock_with_password("a new passphrase".into()),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every secret an app hands over has a byte form it can wipe afterwards
/// (bindings/README.md, "Secrets crossing the FFI"); bytes that are not UTF-8
/// are refused before anything is done.
#[test]
fn every_secret_has_a_byte_form() {
    let fx = fixture();
    let (dir, dir_s) = fresh_dir("dynpin-mobile-bytes");
    let clock = fixture_clock(&fx);
    let not_utf8 = vec![0xff, 0xfe, 0x31];
    assert!(matches!(
        block_on(Authenticator::create_with_password_bytes(
            dir_s.clone(),
            not_utf8.clone(),
            settings(),
            Some(clock.clone())
        )),
        Err(DynpinError::InvalidInput {
            problem: InputProblem::NotUtf8,
            ..
        })
    ));
    assert!(!vault_exists(dir_s.clone()).unwrap());
    let auth = block_on(Authenticator::create_with_password_bytes(
        dir_s.clone(),
        b"correct horse".to_vec(),
        settings(),
        Some(clock),
    ))
    .unwrap();
    assert!(matches!(
        block_on(
            auth.clone()
                .activate_with_code_bytes(fx.get("payload"), not_utf8.clone(), false)
        ),
        Err(DynpinError::InvalidInput {
            problem: InputProblem::NotUtf8,
            ..
        })
    ));
    let result = block_on(auth.clone().activate_with_code_bytes(
        fx.get("payload"),
        fx.get("activation_code").into_bytes(),
        false,
    ))
    .unwrap();
    assert_eq!(result.confirmation_code, fx.get("confirmation_code"));
    auth.import_otpauth("otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP".into())
        .unwrap();
    let backup = block_on(
        auth.clone()
            .export_backup_with_password_bytes(b"backup passphrase 1".to_vec()),
    )
    .unwrap();
    let imported = block_on(auth.clone().import_backup_with_password_bytes(
        backup,
        b"backup passphrase 1".to_vec(),
        false,
    ))
    .unwrap();
    assert_eq!(imported.skipped.len(), 1);
    assert!(matches!(
        auth.enrol_platform_key(vec![9; 32], vec![0; 1025]),
        Err(DynpinError::InvalidInput {
            problem: InputProblem::WrappedKeyTooLong,
            limit: Some(1024),
            ..
        })
    ));
    auth.enrol_platform_key(vec![9; 32], Vec::new()).unwrap();
    assert_eq!(
        auth.enrol_platform_key(vec![10; 32], Vec::new()),
        Err(DynpinError::PlatformKeyAlreadyEnrolled)
    );
    assert!(matches!(
        block_on(
            auth.clone()
                .remove_platform_key_with_password_bytes(b"not the password".to_vec())
        ),
        Err(DynpinError::WrongPassword { .. })
    ));
    block_on(
        auth.clone()
            .remove_platform_key_with_password_bytes(b"correct horse".to_vec()),
    )
    .unwrap();
    assert!(!auth.has_platform_key().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A key store in Rust standing in for the app's: it "wraps" by prefixing
/// its id, and refuses anything another store wrapped.
struct TestKeyStore {
    id: u8,
    destroyed: std::sync::atomic::AtomicBool,
}

impl dynpin_ffi::DeviceKeyStore for TestKeyStore {
    fn wrap(&self, secret: Vec<u8>) -> Result<Vec<u8>, dynpin_ffi::DeviceKeyFailure> {
        let mut out = vec![self.id];
        out.extend(secret.iter().map(|b| b ^ self.id));
        Ok(out)
    }
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, dynpin_ffi::DeviceKeyFailure> {
        if self.destroyed.load(Ordering::SeqCst) {
            return Err(dynpin_ffi::DeviceKeyFailure::Unavailable);
        }
        match wrapped.split_first() {
            Some((&id, rest)) if id == self.id => Ok(rest.iter().map(|b| b ^ self.id).collect()),
            _ => Err(dynpin_ffi::DeviceKeyFailure::Rejected),
        }
    }
    fn delete_key(&self) -> Result<(), dynpin_ffi::DeviceKeyFailure> {
        self.destroyed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_device_bound_vault_needs_its_key_store_and_a_broken_one_can_be_destroyed() {
    let (dir, dir_s) = fresh_dir("dynpin-mobile-bound");
    let phone = Arc::new(TestKeyStore {
        id: 7,
        destroyed: false.into(),
    });
    drop(
        block_on(Authenticator::create_bound(
            dir_s.clone(),
            b"correct horse".to_vec(),
            settings(),
            None,
            phone.clone(),
        ))
        .unwrap(),
    );
    let auth = Authenticator::open(dir_s.clone(), None).unwrap();
    assert_eq!(auth.is_device_bound(), Ok(true));
    assert!(matches!(
        block_on(auth.clone().unlock_with_password("correct horse".into())),
        Err(DynpinError::DeviceKey {
            problem: dynpin_ffi::DeviceKeyProblem::Missing,
            ..
        })
    ));
    auth.set_device_key(Arc::new(TestKeyStore {
        id: 8,
        destroyed: false.into(),
    }));
    assert!(matches!(
        block_on(auth.clone().unlock_with_password("correct horse".into())),
        Err(DynpinError::DeviceKey {
            problem: dynpin_ffi::DeviceKeyProblem::Rejected,
            ..
        })
    ));
    auth.set_device_key(phone.clone());
    block_on(auth.clone().unlock_with_password("correct horse".into())).unwrap();
    block_on(auth.clone().wipe()).unwrap();
    assert!(
        phone.destroyed.load(Ordering::SeqCst),
        "the wipe deleted the key"
    );

    // A vault that cannot be opened is removed without opening it.
    drop(
        block_on(Authenticator::create_with_settings(
            dir_s.clone(),
            "correct horse".into(),
            settings(),
            None,
        ))
        .unwrap(),
    );
    std::fs::write(dir.join("vault.bin"), b"damaged").unwrap();
    assert!(matches!(
        Authenticator::open(dir_s.clone(), None),
        Err(DynpinError::VaultCorrupt { .. })
    ));
    dynpin_ffi::destroy_vault(dir_s.clone()).unwrap();
    assert!(!vault_exists(dir_s).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The code screen: reads that never wait for a slow call, the vault kept
/// unlocked while the user looks and locked by the app's lifecycle, one
/// app-wide clock correction, and what a screen reader says.
#[test]
fn the_code_screen_never_waits_and_follows_the_app() {
    let fx = fixture();
    let (dir, dir_s) = fresh_dir("dynpin-mobile-screen");
    let clock = fixture_clock(&fx);
    // Eight passes: a key derivation long enough that a read which waited
    // for one stands out from a read a busy machine merely delayed.
    let costlier = VaultSettings {
        kdf_iterations: 8,
        ..settings()
    };
    let auth = block_on(Authenticator::create_with_settings(
        dir_s.clone(),
        "correct horse".into(),
        costlier,
        Some(clock.clone()),
    ))
    .unwrap();
    block_on(
        auth.clone()
            .activate(fx.get("payload"), fx.get("activation_code"), false),
    )
    .unwrap();
    let second = |a: &Authenticator| a.codes().unwrap()[0].pins[1].clone();
    let pin = second(&auth);
    assert_eq!(pin.digits, fx.get("second_pin"));
    assert_eq!(
        pin.persian_isolated,
        format!("\u{2066}{}\u{2069}", pin.persian)
    );
    let words = pin
        .accessibility_label_en
        .split([' ', ','])
        .filter(|w| !w.is_empty())
        .count();
    assert_eq!(words, pin.digits.len(), "{}", pin.accessibility_label_en);
    assert!(pin.accessibility_label_fa.contains('،'));
    assert!(pin.seconds_remaining.is_some_and(|s| (1..=60).contains(&s)));

    // What cannot be stored is named by an enum a UI can act on.
    let long_issuer = "a".repeat(1100);
    assert_eq!(
        auth.import_otpauth(format!(
            "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer={long_issuer}"
        )),
        Err(DynpinError::CardNotStorable {
            field: dynpin_ffi::CardPart::Issuer
        })
    );

    // One app-wide correction moves every code (not the card's own offset).
    let check = auth.check_clock(fx.get("clock_millis").parse::<i64>().unwrap() / 1000 + 600);
    assert!(check.is_off);
    assert_eq!(
        (check.phone_ahead_seconds, check.suggested_offset_seconds),
        (-600, 600)
    );
    auth.set_app_time_offset(check.suggested_offset_seconds)
        .unwrap();
    assert_eq!(auth.app_time_offset(), 600);
    let corrected = second(&auth);
    assert_ne!(corrected.digits, pin.digits);
    assert_eq!(
        auth.pin(corrected.card_id.clone(), PinType::Second)
            .unwrap()
            .digits,
        corrected.digits
    );
    assert!(matches!(
        auth.set_app_time_offset(400 * 86_400),
        Err(DynpinError::InvalidInput {
            problem: InputProblem::TimeOffsetOutOfRange,
            ..
        })
    ));
    auth.set_app_time_offset(0).unwrap();
    assert_eq!(second(&auth).digits, pin.digits);

    // Looking at the codes keeps the vault unlocked past the idle time...
    for _ in 0..5 {
        clock.millis.fetch_add(119_000, Ordering::SeqCst);
        second(&auth);
    }
    assert!(!auth.is_locked());
    // ...the background locks it after the grace; the foreground says so.
    assert_eq!(auth.background_lock_seconds(), 60);
    auth.app_entered_background();
    clock.millis.fetch_add(30_000, Ordering::SeqCst);
    assert!(!auth.app_entering_foreground());
    auth.touch().unwrap();
    auth.app_entered_background();
    clock.millis.fetch_add(60_000, Ordering::SeqCst);
    assert!(matches!(auth.codes(), Err(DynpinError::VaultLocked)));
    assert!(auth.app_entering_foreground());
    assert!(auth.is_locked());
    assert!(matches!(auth.touch(), Err(DynpinError::VaultLocked)));
    assert!(matches!(
        auth.set_background_lock_seconds(86_401),
        Err(DynpinError::InvalidSetting {
            setting: dynpin_ffi::VaultSetting::BackgroundLock
        })
    ));

    // While another thread unlocks and changes the password (Argon2id each
    // time, off the caller's thread), reads answer at once: the slowest read
    // stays well under one key derivation, measured in the same run (so the
    // gate holds on a slow machine or under emulation too).
    block_on(auth.clone().unlock_with_password("correct horse".into())).unwrap();
    let worker = {
        let auth = auth.clone();
        std::thread::spawn(move || {
            let mut quickest_change = std::time::Duration::MAX;
            for i in 0..4 {
                let (from, to) = if i % 2 == 0 {
                    ("correct horse", "another horse")
                } else {
                    ("another horse", "correct horse")
                };
                let started = std::time::Instant::now();
                block_on(auth.clone().change_password(from.into(), to.into())).unwrap();
                quickest_change = quickest_change.min(started.elapsed());
                auth.lock();
                block_on(auth.clone().unlock_with_password(to.into())).unwrap();
            }
            quickest_change
        })
    };
    let mut slowest = std::time::Duration::ZERO;
    let mut reads = 0;
    while !worker.is_finished() {
        let started = std::time::Instant::now();
        let _ = auth.codes();
        let _ = auth.lockout_status().unwrap();
        let _ = auth.is_locked();
        slowest = slowest.max(started.elapsed());
        reads += 1;
    }
    // A change derives two keys (the current password's, the new one's).
    let derivation = worker.join().unwrap() / 2;
    assert!(reads > 100, "{reads} reads");
    eprintln!("reads: {reads}, slowest {slowest:?}; one key derivation {derivation:?}");
    assert!(
        slowest < derivation / 2,
        "slowest read {slowest:?}, one key derivation {derivation:?}"
    );
    block_on(auth.clone().wipe()).unwrap();
    assert!(matches!(auth.codes(), Err(DynpinError::VaultWiped)));
    let _ = std::fs::remove_dir_all(&dir);
}
