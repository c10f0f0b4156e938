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
    password_kek: Vec<u8>,
    platform_kek: [u8; 32],
    header: Header,
    plaintext: Vec<u8>,
    file: Vec<u8>,
}

fn fixture() -> Fixture {
    let master = MasterKey::from_bytes(seq(0x20));
    let vault_id = seq(0x10);
    let password_kek =
        crypto::password_kek(FIXTURE_PASSWORD, b"vault-pw-salt-01", KdfParams::MINIMUM).unwrap();
    let platform_kek = crypto::platform_kek(&fixture_platform_key(), b"vault-pk-salt-01").unwrap();
    let header = Header {
        vault_id,
        policy: LockoutPolicy {
            max_attempts: 10,
            on_limit: OnLimit::Wipe,
        },
        password: PasswordSlot::seal(
            &vault_id,
            *b"vault-pw-salt-01",
            KdfParams::MINIMUM,
            seq(0x40),
            &password_kek,
            &master,
        )
        .unwrap(),
        platform: Some(
            PlatformSlot::seal(
                &vault_id,
                *b"vault-pk-salt-01",
                seq(0x60),
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
    Fixture {
        password_kek: password_kek.to_vec(),
        platform_kek: *platform_kek,
        header,
        plaintext: plaintext.to_vec(),
        file: file.encode(),
    }
}

const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/vault-v1.bin");
const DOC: &str = include_str!("../../docs/vault-format.md");

#[test]
fn the_committed_v1_fixture_is_rebuilt_exactly_from_its_inputs() {
    assert_eq!(hex(&fixture().file), hex(FIXTURE));
}

#[test]
fn the_documented_vectors_are_what_the_code_computes() {
    let f = fixture();
    let rows = [
        ("password-slot KEK", hex(&f.password_kek)),
        (
            "password-slot associated data",
            hex(&f.header.password.ad(&f.header.vault_id)),
        ),
        ("password-slot wrapped key", hex(&f.header.password.wrapped)),
        ("platform-slot KEK", hex(&f.platform_kek)),
        (
            "platform-slot wrapped key",
            hex(&f.header.platform.as_ref().unwrap().wrapped),
        ),
        ("header (body associated data)", hex(&f.header.encode())),
        ("contents (plaintext)", hex(&f.plaintext)),
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
fn the_fixture_opens_with_its_password_and_its_platform_key() {
    let file = format::parse(FIXTURE, Checks::Verify).unwrap();
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
        format::decode_contents(2, &f.plaintext).unwrap_err(),
        VaultError::UnsupportedVersion { version: 2 }
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

fn stored_file(storage: &crate::vault::MemoryStorage) -> VaultFile {
    format::parse(&storage.get(FileRole::Current).unwrap(), Checks::Verify).unwrap()
}

#[test]
fn an_old_file_and_its_old_password_open_no_later_file() {
    use crate::clock::ManualClock;
    use std::sync::Arc;
    let storage = Arc::new(crate::vault::MemoryStorage::new());
    let clock = Arc::new(ManualClock::from_unix_seconds(1_800_000_000));
    let options = VaultOptions {
        kdf: KdfParams::MINIMUM,
        ..VaultOptions::default()
    };
    let mut vault = Vault::create(storage.clone(), clock, FIXTURE_PASSWORD, options).unwrap();
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

    vault.enrol_platform_key(&fixture_platform_key(), b"wrapped by the keystore").unwrap();
    let with_platform = master_key_of(&vault);
    vault.remove_platform_key("a new password 1404").unwrap();
    assert!(
        stored_file(&storage).open(&with_platform).is_err(),
        "the master key survived the platform key's removal"
    );
    assert!(stored_file(&storage).open(&master_key_of(&vault)).is_ok());
}
