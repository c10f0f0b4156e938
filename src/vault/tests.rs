//! Unit tests that need the format's internals: the version-1 fixture rebuilt
//! from its fixed inputs, the documented vectors, and the contents layout.

use super::contents::{self, CardList, Contents};
use super::crypto::{self, MasterKey, PlatformKey};
use super::format::{self, Checks, Header, PasswordSlot, PlatformSlot, VaultFile};
use super::lockout::{LockoutPolicy, LockoutState, OnLimit};
use super::*;
use crate::card::{CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use crate::otp::Algorithm;
use crate::secret::SecretBytes;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn seq<const N: usize>(start: u8) -> [u8; N] {
    core::array::from_fn(|i| start.wrapping_add(i as u8))
}

/// The fixture's inputs (docs/vault-format.md, "Version-1 fixture").
pub(crate) const FIXTURE_PASSWORD: &str = "correct horse 1403";

pub(crate) fn fixture_platform_key() -> PlatformKey {
    PlatformKey::from_bytes(&seq::<32>(0x80)).unwrap()
}

pub(crate) fn fixture_cards() -> CardList {
    let mut bank = Card::bank_card(
        CardId::from_bytes(seq(0x00).map(|b: u8| b.wrapping_mul(0x11))),
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
        CardId::from_bytes(core::array::from_fn(|i| 15 - i as u8)),
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
        CardId::from_bytes(core::array::from_fn(|i| {
            0xff - (i as u8).wrapping_mul(0x11)
        })),
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
    let mut list = CardList::with_capacity(3);
    for card in [bank, totp, hotp] {
        list.add(card, OnExisting::Refuse).unwrap();
    }
    list
}

struct Fixture {
    argon2_output: Vec<u8>,
    password_kek: Vec<u8>,
    platform_kek: [u8; 32],
    header: Header,
    lockout: Vec<u8>,
    plaintext: Vec<u8>,
    file: Vec<u8>,
}

/// The version-2 fixture's extra inputs (docs/vault-format.md, "Version-2 fixture").
const FIXTURE_GENERATION: u64 = 7;
const FIXTURE_DEVICE_BLOB: &[u8] = b"device-wrapped-secret-01";
const FIXTURE_APP_BLOB: &[u8] = b"keystore-wrapped-platform-key-01";

fn fixture_device_secret() -> [u8; 32] {
    seq(0xc0)
}

/// The version-2 fixture, built by this code from its fixed inputs.
fn fixture() -> Fixture {
    let master = MasterKey::from_bytes(seq(0x20));
    let vault_id = seq(0x10);
    let salt = *b"vault-pw-salt-01";
    let argon2_output = crypto::password_kek(FIXTURE_PASSWORD, &salt, KdfParams::MINIMUM).unwrap();
    let password_kek =
        crypto::device_bound_kek(&argon2_output, &fixture_device_secret(), &salt).unwrap();
    let platform_kek = crypto::platform_kek(&fixture_platform_key(), b"vault-pk-salt-01").unwrap();
    let header = Header {
        vault_id,
        generation: FIXTURE_GENERATION,
        policy: LockoutPolicy {
            max_attempts: 10,
            on_limit: OnLimit::Wipe,
        },
        password: PasswordSlot::seal(
            &vault_id,
            salt,
            KdfParams::MINIMUM,
            seq(0x40),
            Some(FIXTURE_DEVICE_BLOB.to_vec()),
            &password_kek,
            &master,
        )
        .unwrap(),
        platform: Some(
            PlatformSlot::seal(
                &vault_id,
                *b"vault-pk-salt-01",
                seq(0x60),
                Some(FIXTURE_APP_BLOB.to_vec()),
                platform_kek.as_ref(),
                &master,
            )
            .unwrap(),
        ),
    };
    let contents = Contents {
        auto_lock_seconds: 120,
        cards: fixture_cards(),
    };
    let (file, plaintext) = VaultFile::seal(
        header.clone(),
        LockoutState::default(),
        &master,
        seq(0xa0),
        &contents,
    )
    .unwrap();
    let bytes = file.encode();
    let lockout = bytes[file.header_bytes.len()..file.header_bytes.len() + 21].to_vec();
    Fixture {
        argon2_output: argon2_output.to_vec(),
        password_kek: password_kek.to_vec(),
        platform_kek: *platform_kek,
        header,
        lockout,
        plaintext: plaintext.to_vec(),
        file: bytes,
    }
}

/// The fixture's device key: gives back the fixture's device secret for the
/// fixture's blob, and refuses anything else.
struct FixtureDevice;

impl DeviceKey for FixtureDevice {
    fn wrap(&self, _: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        Err(DeviceKeyError::Unavailable)
    }
    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, DeviceKeyError> {
        if wrapped == FIXTURE_DEVICE_BLOB {
            Ok(SecretBytes::from_slice(&fixture_device_secret()))
        } else {
            Err(DeviceKeyError::Rejected)
        }
    }
    fn destroy(&self) -> Result<(), DeviceKeyError> {
        Ok(())
    }
}

const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/vault-v2.bin");
const DOC: &str = include_str!("../../docs/vault-format.md");

#[test]
fn the_committed_v2_fixture_is_rebuilt_exactly_from_its_inputs() {
    assert_eq!(hex(&fixture().file), hex(FIXTURE));
}

#[test]
fn the_documented_vectors_are_what_the_code_computes() {
    let f = fixture();
    let platform = f.header.platform.as_ref().unwrap();
    let rows = [
        ("v2 Argon2id output", hex(&f.argon2_output)),
        ("v2 password-slot KEK", hex(&f.password_kek)),
        (
            "v2 password-slot associated data",
            hex(&f.header.password.ad(&f.header.vault_id)),
        ),
        (
            "v2 password-slot wrapped key",
            hex(&f.header.password.wrapped),
        ),
        ("v2 platform-slot KEK", hex(&f.platform_kek)),
        (
            "v2 platform-slot associated data",
            hex(&platform.ad(&f.header.vault_id)),
        ),
        ("v2 platform-slot wrapped key", hex(&platform.wrapped)),
        ("v2 header (body associated data)", hex(&f.header.encode())),
        ("v2 lockout region", hex(&f.lockout)),
        ("v2 contents (plaintext)", hex(&f.plaintext)),
    ];
    for (name, value) in rows {
        let line = format!("| {name} | `{value}` |");
        assert!(
            DOC.lines().any(|l| l == line),
            "docs/vault-format.md lacks: {line}"
        );
    }
    for chunk in hex(&f.file).as_bytes().chunks(64) {
        let line = core::str::from_utf8(chunk).unwrap();
        assert!(
            DOC.lines().any(|l| l == line),
            "docs/vault-format.md lacks: {line}"
        );
    }
}

#[test]
fn the_v2_fixture_opens_with_its_password_on_its_device_and_with_its_platform_key() {
    use crate::clock::FixedClock;
    use std::sync::Arc;
    let storage = Arc::new(crate::vault::MemoryStorage::new());
    storage.set(FileRole::Current, Some(FIXTURE.to_vec()));
    let clock = Arc::new(FixedClock::from_unix_seconds(1_800_000_000));
    let mut vault = Vault::open(storage.clone(), clock.clone()).unwrap();
    assert_eq!(vault.generation(), Ok(FIXTURE_GENERATION));
    assert_eq!(vault.is_device_bound(), Ok(true));
    assert_eq!(
        vault.platform_key_blob(),
        Ok(Some(FIXTURE_APP_BLOB.to_vec()))
    );
    assert_eq!(
        vault.unlock_with_password(FIXTURE_PASSWORD),
        Err(VaultError::DeviceKeyMissing)
    );
    vault.set_device_key(Arc::new(FixtureDevice));
    vault.unlock_with_password(FIXTURE_PASSWORD).unwrap();
    assert_eq!(vault.cards().unwrap().len(), 3);
    let mut vault = Vault::open(storage, clock).unwrap();
    vault
        .unlock_with_platform_key(&fixture_platform_key())
        .unwrap();
    assert_eq!(vault.cards().unwrap().len(), 3);
}

const FIXTURE_V1: &[u8] = include_bytes!("../../tests/fixtures/vault-v1.bin");

#[test]
fn the_v1_fixture_opens_with_its_password_and_its_platform_key() {
    let file = format::parse(FIXTURE_V1, Checks::Verify).unwrap();
    let kek = crypto::password_kek(
        FIXTURE_PASSWORD,
        &file.header.password.salt,
        file.header.password.kdf,
    )
    .unwrap();
    let master = file
        .header
        .password
        .open(&file.header.vault_id, &kek)
        .unwrap();
    assert_eq!(master.expose(), &seq::<32>(0x20));
    let slot = file.header.platform.as_ref().unwrap();
    let pk = crypto::platform_kek(&fixture_platform_key(), &slot.salt).unwrap();
    assert_eq!(
        slot.open(&file.header.vault_id, pk.as_ref())
            .unwrap()
            .expose(),
        &seq::<32>(0x20)
    );
    let contents = file.open(&master).unwrap();
    assert_eq!(contents.cards.len(), 3);
}

#[test]
fn contents_round_trip_and_are_canonical() {
    let contents = Contents {
        auto_lock_seconds: 300,
        cards: fixture_cards(),
    };
    let bytes = contents::encode(&contents).unwrap();
    assert_eq!(
        bytes.capacity(),
        bytes.len(),
        "sized exactly: no reallocation"
    );
    let back = contents::decode_v1(&bytes).unwrap();
    assert_eq!(back.auto_lock_seconds, 300);
    for (a, b) in back.cards.as_slice().iter().zip(contents.cards.as_slice()) {
        assert_eq!(a.id(), b.id());
        assert_eq!(a.label(), b.label());
        assert_eq!(a.secret(), b.secret());
        assert_eq!(a.card_ref(), b.card_ref());
        assert_eq!(a.time_offset(), b.time_offset());
        assert_eq!(a.amount_ceiling(), b.amount_ceiling());
        assert_eq!(a.exportable(), b.exportable());
        assert_eq!(a.as_token(), b.as_token());
        assert_eq!(a.pin_kinds(), b.pin_kinds());
    }
    assert_eq!(*contents::encode(&back).unwrap(), *bytes);
    // Every strict prefix and any trailing byte is refused, without panicking.
    for n in 0..bytes.len() {
        assert!(contents::decode_v1(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(contents::decode_v1(&longer).is_err());
}

#[test]
fn every_supported_version_decodes_and_others_are_refused() {
    let f = fixture();
    for &v in SUPPORTED_VERSIONS {
        assert!(
            format::decode_contents(v, &f.plaintext).is_ok(),
            "version {v}"
        );
    }
    assert_eq!(
        format::decode_contents(3, &f.plaintext).unwrap_err(),
        VaultError::UnsupportedVersion { version: 3 }
    );
}

#[test]
fn contents_that_would_not_read_back_are_never_saved() {
    let f = fixture();
    assert_eq!(format::prove_readable(&f.plaintext), Ok(()));
    // Cut short, or with a byte past the end: not what a reader accepts.
    let mut longer = f.plaintext.clone();
    longer.push(0);
    for unreadable in [
        &f.plaintext[..f.plaintext.len() - 1],
        &longer[..],
        &[0u8; 3][..],
    ] {
        assert!(matches!(
            format::prove_readable(unreadable),
            Err(VaultError::UnreadableContents(_))
        ));
    }
}

/// The master key of an unlocked vault (what someone who guessed the
/// password of an old copy of the file would hold).
fn master_key_of(vault: &Vault) -> MasterKey {
    match &vault.state {
        State::Present(p) => p.session.as_ref().unwrap().key.clone(),
        State::Wiped => panic!("wiped"),
    }
}

/// A new vault at the KDF floor, unlocked, protected by the fixture's password.
fn fast_vault() -> (std::sync::Arc<crate::vault::MemoryStorage>, Vault) {
    let storage = std::sync::Arc::new(crate::vault::MemoryStorage::new());
    let clock = std::sync::Arc::new(crate::clock::ManualClock::from_unix_seconds(1_800_000_000));
    let options = VaultOptions {
        kdf: KdfParams::MINIMUM,
        ..VaultOptions::default()
    };
    let vault = Vault::create(storage.clone(), clock, FIXTURE_PASSWORD, options).unwrap();
    (storage, vault)
}

fn stored_file(storage: &crate::vault::MemoryStorage) -> VaultFile {
    format::parse(&storage.get(FileRole::Current).unwrap(), Checks::Verify).unwrap()
}

#[test]
fn an_old_file_and_its_old_password_open_no_later_file() {
    let (storage, mut vault) = fast_vault();
    // Someone copies the file now and later learns this password: they hold
    // this master key.
    let old_key = master_key_of(&vault);
    assert!(stored_file(&storage).open(&old_key).is_ok());

    vault
        .change_password(FIXTURE_PASSWORD, "a new password 1404")
        .unwrap();
    assert!(
        stored_file(&storage).open(&old_key).is_err(),
        "the master key survived a password change"
    );
    let rotated = master_key_of(&vault);
    assert!(stored_file(&storage).open(&rotated).is_ok());

    vault
        .enrol_platform_key(&fixture_platform_key(), b"wrapped by the keystore")
        .unwrap();
    let with_platform = master_key_of(&vault);
    vault.remove_platform_key("a new password 1404").unwrap();
    assert!(
        stored_file(&storage).open(&with_platform).is_err(),
        "the master key survived the platform key's removal"
    );
    assert!(stored_file(&storage).open(&master_key_of(&vault)).is_ok());
}

#[test]
fn an_invalidated_platform_key_is_removed_with_a_rotation_at_the_next_password_unlock() {
    let (storage, mut vault) = fast_vault();
    vault
        .enrol_platform_key(&fixture_platform_key(), b"wrapped")
        .unwrap();
    let before = master_key_of(&vault);
    vault.lock();
    vault.record_platform_key_invalidated().unwrap();
    vault.unlock_with_password(FIXTURE_PASSWORD).unwrap();
    assert!(stored_file(&storage).header.platform.is_none());
    assert!(
        stored_file(&storage).open(&before).is_err(),
        "the master key survived the invalidated key's removal"
    );
    assert!(stored_file(&storage).open(&master_key_of(&vault)).is_ok());
}
