//! The vault file format: the committed version-1 fixture (which every later
//! version must still open), every single-bit flip, truncation and forgery,
//! the version dispatch, the KDF floor, and the documented vectors recomputed
//! by an independent Python implementation.

use std::sync::Arc;

use crate::vault_support::{Snapshot, snapshot};
use dynpin::card::{Card, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use dynpin::clock::FixedClock;
use dynpin::kdf::{KdfError, KdfParams};
use dynpin::otp::Algorithm;
use dynpin::secret::SecretBytes;
use dynpin::vault::OnExisting;
use dynpin::vault::fuzzing::forge_checksums;
use dynpin::vault::{FileRole, MemoryStorage, PlatformKey, VAULT_VERSION_1, Vault, VaultError};

const FIXTURE: &[u8] = include_bytes!("fixtures/vault-v1.bin");
const FIXTURE_PASSWORD: &str = "correct horse 1403";
/// Where the fixture's regions start (docs/vault-format.md).
const HEADER_LEN: usize = 223;
/// The version-2 fixture (docs/vault-format.md, "Version-2 fixture") and its header's length.
const FIXTURE_V2: &[u8] = include_bytes!("fixtures/vault-v2.bin");
const HEADER_LEN_V2: usize = 291;
const LOCKOUT_LEN: usize = 21;

fn fixture_platform_key() -> PlatformKey {
    PlatformKey::from_bytes(&(0x80..0xa0).collect::<Vec<u8>>()).unwrap()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::from_unix_seconds(1_800_000_000))
}

fn storage_with(bytes: &[u8]) -> Arc<MemoryStorage> {
    let storage = Arc::new(MemoryStorage::new());
    storage.set(FileRole::Current, Some(bytes.to_vec()));
    storage
}

fn open(bytes: &[u8]) -> Result<Vault, VaultError> {
    Vault::open(storage_with(bytes), clock())
}

/// The cards the fixture was made from, built through the public API.
fn expected_cards() -> Vec<Card> {
    let mut bank = Card::bank_card(
        CardId::parse("00112233445566778899aabbccddeeff").unwrap(),
        "کارت حقوق",
        CardRef::new(606_373, LastFour::from_value(1234).unwrap()).unwrap(),
        SecretBytes::from((0u8..20).collect::<Vec<_>>()),
        Some(PinPolicy::first_pin()),
        Some(PinPolicy::second_pin()),
    )
    .unwrap();
    bank.set_time_offset(-30).unwrap();
    bank.set_amount_ceiling(Some(50_000_000));
    let totp = Card::token(
        CardId::parse("0f0e0d0c0b0a09080706050403020100").unwrap(),
        "Example (alice@example.com)",
        OtpToken {
            secret: SecretBytes::from_slice(b"12345678901234567890"),
            algorithm: Algorithm::Sha1,
            digits: 6,
            mode: TokenMode::Totp { period: 30 },
            issuer: Some("Example".into()),
            account: "alice@example.com".into(),
        },
    )
    .unwrap();
    let mut hotp = Card::token(
        CardId::parse("ffeeddccbbaa99887766554433221100").unwrap(),
        "Counter",
        OtpToken {
            secret: SecretBytes::from_slice(b"12345678901234567890123456789012"),
            algorithm: Algorithm::Sha256,
            digits: 8,
            mode: TokenMode::Hotp { counter: 7 },
            issuer: None,
            account: "bob".into(),
        },
    )
    .unwrap();
    hotp.set_exportable(false);
    vec![bank, totp, hotp]
}

fn expected_snapshot() -> Snapshot {
    Snapshot {
        auto_lock: 120,
        cards: expected_cards()
            .iter()
            .map(|c| {
                (
                    c.id(),
                    c.label().to_owned(),
                    c.secret().expose().to_vec(),
                    c.time_offset(),
                    c.amount_ceiling(),
                    c.exportable(),
                    c.as_token().cloned(),
                )
            })
            .collect(),
    }
}

#[test]
fn the_version_1_fixture_opens_with_its_password_and_its_platform_key() {
    let mut vault = open(FIXTURE).unwrap();
    assert_eq!(vault.format_version().unwrap(), VAULT_VERSION_1);
    assert_eq!(vault.kdf_params().unwrap(), KdfParams::MINIMUM);
    assert!(vault.has_platform_key().unwrap());
    assert_eq!(vault.lockout_status().unwrap().remaining_attempts, 10);
    vault.unlock_with_password(FIXTURE_PASSWORD).unwrap();
    assert_eq!(snapshot(&mut vault), expected_snapshot());
    // The same PINs as the cards it was made from.
    let clock = clock();
    let pins = vault.pins().unwrap();
    for (got, card) in pins.iter().zip(expected_cards()) {
        assert_eq!(got.pins.as_ref().unwrap(), &card.pins(&*clock).unwrap());
    }
    vault.lock();
    vault
        .unlock_with_platform_key(&fixture_platform_key())
        .unwrap();
    assert_eq!(snapshot(&mut vault), expected_snapshot());
}

fn is_damage_error(e: &VaultError) -> bool {
    matches!(
        e,
        VaultError::Corrupt(_) | VaultError::NotAVault | VaultError::UnsupportedVersion { .. }
    )
}

#[test]
fn every_single_bit_flip_is_a_typed_error_before_any_key_is_derived() {
    single_bit_flips(FIXTURE);
    single_bit_flips(FIXTURE_V2);
}

fn single_bit_flips(fixture: &[u8]) {
    let mut bytes = fixture.to_vec();
    for bit in 0..bytes.len() * 8 {
        bytes[bit / 8] ^= 1 << (bit % 8);
        match open(&bytes) {
            Err(e) => assert!(is_damage_error(&e), "bit {bit}: {e:?}"),
            Ok(_) => panic!("bit {bit}: a damaged file opened"),
        }
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
    assert!(open(&bytes).is_ok());
}

#[test]
fn every_truncation_and_extension_is_a_typed_error() {
    for len in 0..FIXTURE.len() {
        let e = open(&FIXTURE[..len])
            .err()
            .unwrap_or_else(|| panic!("length {len} opened"));
        assert!(is_damage_error(&e), "length {len}: {e:?}");
    }
    for extra in [&[0u8][..], &[0; 32], b"DPNVAULT"] {
        let mut longer = FIXTURE.to_vec();
        longer.extend_from_slice(extra);
        assert!(is_damage_error(&open(&longer).err().unwrap()));
    }
    // Garbage, with and without the magic, never panics.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in [0, 1, 7, 8, 9, 40, 41, 200, 700, 5000] {
        for prefix in [&b""[..], b"DPNVAULT", b"DPNVAULT\x01\x00"] {
            let mut bytes = prefix.to_vec();
            while bytes.len() < len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push(state as u8);
            }
            let e = open(&bytes).err().unwrap();
            assert!(is_damage_error(&e), "{e:?}");
        }
    }
    assert_eq!(open(b"").err().unwrap(), VaultError::Corrupt("truncated"));
    assert_eq!(
        open(b"PK\x03\x04 a zip").err().unwrap(),
        VaultError::NotAVault
    );
}

/// A deliberate edit that recomputes the keyless checksums: any change to
/// the header or the body is still caught by the AEAD (as the body's
/// associated data or ciphertext) or by the slot's own wrap; a change to the
/// lockout region only changes the failure count, by design.
#[test]
fn every_forged_bit_flip_of_header_or_body_fails_to_unlock() {
    forged_bit_flips(FIXTURE, HEADER_LEN);
    forged_bit_flips(FIXTURE_V2, HEADER_LEN_V2);
}

fn forged_bit_flips(fixture: &[u8], header_len: usize) {
    let trailer_start = fixture.len() - 32;
    for bit in 0..trailer_start * 8 {
        let mut bytes = fixture.to_vec();
        bytes[bit / 8] ^= 1 << (bit % 8);
        forge_checksums(&mut bytes);
        let byte = bit / 8;
        let in_lockout = (header_len..header_len + LOCKOUT_LEN).contains(&byte);
        let result = open(&bytes).and_then(|mut vault| {
            vault.unlock_with_platform_key(&fixture_platform_key())?;
            Ok(snapshot(&mut vault))
        });
        match result {
            Ok(s) if in_lockout => assert_eq!(s, expected_snapshot(), "bit {bit}"),
            Ok(_) => panic!("bit {bit} (byte {byte}): a forged file unlocked"),
            Err(e) if in_lockout => {
                // A count pushed to the limit, an impossible state byte, or
                // the "platform key invalidated" mark (which only disables
                // the platform slot: the password still opens the vault).
                assert!(
                    matches!(
                        e,
                        VaultError::Wiped
                            | VaultError::LockedForGood
                            | VaultError::Corrupt(_)
                            | VaultError::PlatformKeyInvalidated
                    ),
                    "bit {bit}: {e:?}"
                );
            }
            Err(e) => assert!(
                matches!(
                    e,
                    VaultError::Tampered
                        | VaultError::PlatformKeyInvalidated
                        | VaultError::NoPlatformKey
                        | VaultError::Corrupt(_)
                        | VaultError::NotAVault
                        | VaultError::UnsupportedVersion { .. }
                ),
                "bit {bit}: {e:?}"
            ),
        }
    }
}

#[test]
fn versions_other_than_the_supported_ones_are_refused_by_number() {
    // (2 is supported: a version-1 file relabelled 2 is then damaged.)
    for version in [0u8, 3, 0x7f, 0xff] {
        let mut bytes = FIXTURE.to_vec();
        bytes[8] = version;
        forge_checksums(&mut bytes);
        assert_eq!(
            open(&bytes).err().unwrap(),
            VaultError::UnsupportedVersion { version },
            "{version}"
        );
    }
}

#[test]
fn stored_kdf_parameters_outside_the_limits_are_refused_before_deriving_or_counting() {
    // The password slot's m, t, p are at bytes 48..60 of the header.
    for (m, t, p, expected) in [
        (19 * 1024 - 1, 2, 1, KdfError::TooWeak),
        (19 * 1024, 1, 1, KdfError::TooWeak),
        (8, 1, 1, KdfError::TooWeak),
        (2 * 1024 * 1024, 3, 1, KdfError::TooCostly),
        (64 * 1024, 3, 64, KdfError::TooCostly),
    ] {
        let mut bytes = FIXTURE.to_vec();
        bytes[48..52].copy_from_slice(&u32::to_be_bytes(m));
        bytes[52..56].copy_from_slice(&u32::to_be_bytes(t));
        bytes[56..60].copy_from_slice(&u32::to_be_bytes(p));
        forge_checksums(&mut bytes);
        let mut vault = open(&bytes).unwrap();
        assert_eq!(
            vault.unlock_with_password(FIXTURE_PASSWORD).unwrap_err(),
            VaultError::Kdf(expected)
        );
        assert_eq!(vault.lockout_status().unwrap().failures, 0);
    }
}

#[test]
fn a_save_never_overwrites_a_file_that_changed_or_broke_since_it_was_opened() {
    let storage = storage_with(FIXTURE);
    let mut vault = Vault::open(storage.clone(), clock()).unwrap();
    vault
        .unlock_with_platform_key(&fixture_platform_key())
        .unwrap();
    let newer = {
        let mut b = FIXTURE.to_vec();
        b[8] = 9;
        forge_checksums(&mut b);
        b
    };
    for (damaged, error) in [
        (FIXTURE[..300].to_vec(), VaultError::Corrupt("checksum")),
        (
            {
                let mut b = FIXTURE.to_vec();
                b[400] ^= 4;
                b
            },
            VaultError::Corrupt("checksum"),
        ),
        (b"not a vault at all".to_vec(), VaultError::NotAVault),
        (newer, VaultError::UnsupportedVersion { version: 9 }),
    ] {
        storage.set(FileRole::Current, Some(damaged.clone()));
        // Said as what it is (damaged, foreign, newer), and never overwritten.
        assert_eq!(
            vault
                .add_card(crate::vault_support::bank_card(9, 9), OnExisting::Refuse)
                .unwrap_err(),
            error
        );
        assert_eq!(storage.get(FileRole::Current).unwrap(), damaged);
    }
    // Another vault written in its place is not overwritten either.
    let other = Arc::new(MemoryStorage::new());
    Vault::create(
        other.clone(),
        clock(),
        "another vault 1",
        crate::vault_support::fast_options(),
    )
    .unwrap();
    let other_bytes = other.get(FileRole::Current).unwrap();
    storage.set(FileRole::Current, Some(other_bytes.clone()));
    assert_eq!(
        vault.set_auto_lock_seconds(60).unwrap_err(),
        VaultError::Conflict
    );
    assert_eq!(storage.get(FileRole::Current).unwrap(), other_bytes);
    // With the vault's own file back, saving works again.
    storage.set(FileRole::Current, Some(FIXTURE.to_vec()));
    vault.set_auto_lock_seconds(60).unwrap();
}

/// docs/vault-format.md's vectors and fixture, recomputed by
/// scripts/vault-vectors.py with argon2-cffi and PyNaCl (no dynpin code).
/// Skipped, loudly, where Python or those modules are missing
/// (scripts/install-python-tools installs them; scripts/test runs them).
#[test]
fn an_independent_python_implementation_rebuilds_the_fixture_and_the_vectors() {
    let root = env!("CARGO_MANIFEST_DIR");
    let probe = std::process::Command::new("python3")
        .args(["-c", "import argon2, nacl"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: python3 with argon2-cffi and PyNaCl is not available");
        return;
    }
    let out_path =
        std::env::temp_dir().join(format!("dynpin-vault-fixture-{}.bin", std::process::id()));
    let out_v2 = std::env::temp_dir().join(format!(
        "dynpin-vault-fixture-v2-{}.bin",
        std::process::id()
    ));
    let output = std::process::Command::new("python3")
        .arg(format!("{root}/scripts/vault-vectors.py"))
        .arg("--write")
        .arg(&out_path)
        .arg("--write-v2")
        .arg(&out_v2)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rebuilt = std::fs::read(&out_path).unwrap();
    std::fs::remove_file(&out_path).unwrap();
    assert_eq!(
        rebuilt, FIXTURE,
        "tests/fixtures/vault-v1.bin differs from the Python rebuild"
    );
    let rebuilt_v2 = std::fs::read(&out_v2).unwrap();
    std::fs::remove_file(&out_v2).unwrap();
    assert_eq!(
        rebuilt_v2,
        include_bytes!("fixtures/vault-v2.bin"),
        "tests/fixtures/vault-v2.bin differs from the Python rebuild"
    );
    let doc = std::fs::read_to_string(format!("{root}/docs/vault-format.md")).unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    for line in stdout.lines() {
        assert!(
            doc.lines().any(|l| l == line),
            "docs/vault-format.md lacks: {line}"
        );
    }
    assert!(stdout.lines().count() > 50);
}

/// The version-1 fixture, changed and saved by this code, reopens with the
/// same contents (and the change): the save path over a committed file.
#[test]
fn the_version_1_fixture_saves_and_reopens_unchanged() {
    let storage = storage_with(FIXTURE);
    let mut vault = Vault::open(storage.clone(), clock()).unwrap();
    vault
        .unlock_with_platform_key(&fixture_platform_key())
        .unwrap();
    let before = snapshot(&mut vault);
    let id = vault.cards().unwrap()[2].id();
    vault.advance_counter(id).unwrap();
    assert_eq!(
        vault.format_version(),
        Ok(2),
        "saved in the current version"
    );
    assert_eq!(vault.generation(), Ok(1));
    vault.lock();
    let mut vault = Vault::open(storage, clock()).unwrap();
    vault.unlock_with_password(FIXTURE_PASSWORD).unwrap();
    let mut after = snapshot(&mut vault);
    if let Some(OtpToken {
        mode: TokenMode::Hotp { counter },
        ..
    }) = after.cards[2].6.as_mut()
    {
        assert_eq!(*counter, 8);
        *counter = 7;
    }
    assert_eq!(after, before);
}
