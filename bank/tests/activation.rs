//! Activation end to end through the public API: the bank provisions, the phone activates.

use std::sync::Arc;

use dynpin::activation::{self, ActivationCode, ActivationError};
use dynpin::card::{Bank, CardNumber, CardRef, LastFour, PinPolicy};
use dynpin::clock::FixedClock;
use dynpin::kdf::KdfParams;
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::text::InputError;
use dynpin::vault::{MemoryStorage, OnExisting, Vault, VaultError, VaultOptions};
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::verifier::VerifyError;
use dynpin_bank::{CardRequest, DEFAULT_SEED_LEN, Issuer, IssuerError, ProvisionedCard, qr};

use crate::support::{instance, verifier};

const NOW: i64 = 1_800_000_000;

fn clock() -> FixedClock {
    FixedClock::from_unix_seconds(NOW)
}

fn issuer() -> Issuer {
    Issuer::new().with_kdf(KdfParams::MINIMUM).unwrap()
}

fn mellat() -> CardRef {
    CardRef::of(&CardNumber::parse("6104 3371 2345 6780").unwrap())
}

fn provision(request: &CardRequest) -> ProvisionedCard {
    issuer().provision(request, &clock()).unwrap()
}

fn typed_code(issued: &ProvisionedCard) -> ActivationCode {
    ActivationCode::parse(&issued.activation_code().persian()).unwrap()
}

/// Reads the QR code in a PNG image back to text, as a phone camera would.
fn decode_png(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn qr_png_round_trip_gives_the_same_pins_as_the_bank() {
    let issued = provision(&CardRequest::new(mellat()));
    let png_bytes = qr::to_png(issued.payload(), 4).unwrap();
    assert_eq!(&png_bytes[1..4], b"PNG");
    let scanned = decode_png(&png_bytes);
    assert_eq!(scanned, issued.payload());

    let info = activation::inspect(&scanned).unwrap();
    assert_eq!(info.bank(), Some(Bank::Mellat));
    assert_eq!(info.card_ref.last_four().to_string(), "6780");
    assert_eq!(info.expires_at - info.issued_at, 86_400);
    assert!(!info.exportable);

    let activated = activation::activate(&scanned, &typed_code(&issued), &clock()).unwrap();
    let bank_copy = issued.card().unwrap();
    for offset in [0i64, 59, 60, 3_600, 86_400 * 365 * 20] {
        let t = FixedClock::from_unix_seconds(NOW + offset);
        for kind in [PinKind::First, PinKind::Second] {
            assert_eq!(
                activated.card.pin(kind, &t).unwrap(),
                bank_copy.pin(kind, &t).unwrap(),
                "{kind} +{offset}"
            );
        }
    }
    assert!(!activated.card.exportable());
    // The bank confirms the app's code (the rules: tests/confirmation.rs).
    let verifier = verifier(Default::default());
    let id = verifier.enroll(&issued, None).await.unwrap();
    let wrong = format!(
        "{:06}",
        (activated.confirmation_code.parse::<u32>().unwrap() + 1) % 1_000_000
    );
    assert_eq!(
        verifier.confirm(id, &wrong, &clock()).await,
        Err(VerifyError::WrongConfirmation {
            remaining_attempts: 4
        })
    );
    assert!(matches!(
        verifier.confirm(id, "12", &clock()).await,
        Err(VerifyError::Malformed(_))
    ));
    verifier
        .confirm(id, &activated.confirmation_code, &clock())
        .await
        .unwrap();
    // The bank's copy gives the phone's PINs, accepted once confirmed.
    let pin = activated
        .card
        .pin(PinKind::Second, &clock())
        .unwrap()
        .digits();
    verifier
        .verify(id, PinKind::Second, &pin, &clock())
        .await
        .unwrap();
}

#[test]
fn sizes_meet_one_sms_and_qr_version_6() {
    let issued = provision(&CardRequest::new(mellat()));
    assert!(issued.payload().len() <= 160, "{}", issued.payload().len());
    assert!(qr::version(issued.payload()).unwrap() <= 6);
    let terminal = qr::to_terminal(issued.payload()).unwrap();
    assert!(terminal.lines().count() > 20 && terminal.contains('█'));
    let svg = qr::to_svg(issued.payload()).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
}

#[test]
fn every_policy_shape_round_trips() {
    for (first, second) in [
        (Some(PinPolicy::first_pin()), None),
        (
            None,
            Some(PinPolicy {
                algorithm: Algorithm::Sha512,
                digits: 10,
                period: 300,
            }),
        ),
        (
            Some(PinPolicy {
                algorithm: Algorithm::Sha1,
                digits: 6,
                period: 10,
            }),
            Some(PinPolicy::second_pin()),
        ),
    ] {
        let request = CardRequest {
            first_pin: first,
            second_pin: second,
            ..CardRequest::new(mellat())
        };
        let issued = provision(&request);
        let card = activation::activate(issued.payload(), &typed_code(&issued), &clock())
            .unwrap()
            .card;
        assert_eq!(
            (card.policy(PinKind::First), card.policy(PinKind::Second)),
            (first, second)
        );
    }
    let none = CardRequest {
        first_pin: None,
        second_pin: None,
        ..CardRequest::new(mellat())
    };
    assert!(issuer().provision(&none, &clock()).is_err());
}

#[test]
fn wrong_code_and_malformed_inputs_are_typed() {
    let issued = provision(&CardRequest::new(mellat()));
    let mut digits: Vec<u8> = issued.activation_code().digits().bytes().collect();
    digits[15] = if digits[15] == b'9' {
        b'0'
    } else {
        digits[15] + 1
    };
    let wrong = ActivationCode::parse(std::str::from_utf8(&digits).unwrap()).unwrap();
    assert_eq!(
        activation::activate(issued.payload(), &wrong, &clock()).unwrap_err(),
        ActivationError::WrongActivationCode
    );
    for text in [
        "",
        "DPIN:",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
        "DPIN:1111",
        "DPIN:AE",
        "hello",
    ] {
        assert!(
            matches!(
                activation::inspect(text).unwrap_err(),
                ActivationError::Malformed(_)
            ),
            "{text:?}"
        );
    }
    let too_long = format!("DPIN:{}", "A".repeat(2000));
    assert_eq!(
        activation::inspect(&too_long).unwrap_err(),
        ActivationError::Malformed("too long")
    );
    assert_eq!(
        ActivationCode::parse("1234 5678").unwrap_err(),
        InputError::WrongLength {
            expected: 16,
            found: 8
        }
    );
    let truncated = &issued.payload()[..issued.payload().len() - 3];
    assert!(matches!(
        activation::inspect(truncated).unwrap_err(),
        ActivationError::BadChecksum | ActivationError::Malformed(_)
    ));
}

#[test]
fn pasted_payloads_may_be_wrapped_and_lower_case() {
    let issued = provision(&CardRequest::new(mellat()));
    let pasted: String = issued
        .payload()
        .to_lowercase()
        .as_bytes()
        .chunks(40)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n  ");
    assert!(activation::activate(&pasted, &typed_code(&issued), &clock()).is_ok());
}

#[test]
fn cards_already_present_need_an_explicit_choice() {
    let first = provision(&CardRequest::new(mellat()));
    let again = provision(&CardRequest::new(mellat()));
    let other = provision(&CardRequest::new(
        CardRef::new(603_799, LastFour::parse("0001").unwrap()).unwrap(),
    ));
    let mut vault = Vault::create(
        MemoryStorage::new(),
        Arc::new(clock()),
        "a vault passphrase",
        VaultOptions {
            kdf: KdfParams::MINIMUM,
            ..VaultOptions::default()
        },
    )
    .unwrap();
    let activate = |issued: &ProvisionedCard| {
        activation::activate(issued.payload(), &typed_code(issued), &clock()).unwrap()
    };
    let a_id = vault
        .add_activated(activate(&first), OnExisting::Refuse)
        .unwrap();
    vault
        .add_activated(activate(&other), OnExisting::Refuse)
        .unwrap();
    vault.rename_card(a_id, "My salary card").unwrap();

    let c = activate(&again);
    assert_eq!(
        vault
            .add_activated(c.clone(), OnExisting::Refuse)
            .unwrap_err(),
        VaultError::CardAlreadyPresent { existing: a_id }
    );
    let new_id = vault.add_activated(c, OnExisting::Replace).unwrap();
    let cards = vault.cards().unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].id(), new_id, "replaced in place");
    assert_eq!(
        cards[0].label(),
        "My salary card",
        "the user's label survives"
    );
    let bank = again.card().unwrap();
    assert_eq!(
        cards[0].pin(PinKind::Second, &clock()).unwrap(),
        bank.pin(PinKind::Second, &clock()).unwrap()
    );
}

#[test]
fn issuer_settings_are_validated() {
    assert!(matches!(
        Issuer::new().with_kdf(KdfParams {
            memory_kib: 1024,
            iterations: 1,
            lanes: 1
        }),
        Err(IssuerError::Kdf(_))
    ));
    assert!(
        Issuer::new()
            .with_kdf(KdfParams {
                memory_kib: 20 * 1024 + 1,
                ..KdfParams::MINIMUM
            })
            .is_err()
    );
    assert!(Issuer::new().with_validity(10).is_err());
    assert!(Issuer::new().with_code_digits(12).is_err());
    let long_codes = Issuer::new()
        .with_kdf(KdfParams::MINIMUM)
        .unwrap()
        .with_code_digits(24)
        .unwrap();
    let issued = long_codes
        .provision(&CardRequest::new(mellat()), &clock())
        .unwrap();
    assert_eq!(issued.activation_code().digits().len(), 24);
    assert!(activation::activate(issued.payload(), &typed_code(&issued), &clock()).is_ok());
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    let issued = provision(&CardRequest::new(mellat()));
    let seed_hex: String = issued
        .master_seed()
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let code = issued.activation_code().digits().to_string();
    let activated = activation::activate(issued.payload(), &typed_code(&issued), &clock()).unwrap();
    let shown = format!(
        "{issued:?} {activated:?} {:?} {}",
        activation::ActivationPayload::parse(issued.payload()).unwrap(),
        ActivationError::WrongActivationCode
    );
    assert!(!shown.contains(&code), "activation code leaked");
    assert!(!shown.contains(&seed_hex[..12]), "seed leaked");
    let seed_list = format!("{:?}", &issued.master_seed().expose()[..6])
        .trim_matches(['[', ']'])
        .to_string();
    assert!(!shown.contains(&seed_list), "seed bytes leaked");
}

/// A caller's scale is untrusted arithmetic: a huge one is an error, never an
/// overflow, a panic or an allocation the size of memory.
#[test]
fn qr_png_with_a_huge_scale_is_an_error() {
    let issued = provision(&CardRequest::new(mellat()));
    for scale in [
        usize::MAX,
        usize::MAX / 2,
        1 << 40,
        100_000,
        qr::MAX_PNG_SCALE + 1,
        0,
    ] {
        assert_eq!(
            qr::to_png(issued.payload(), scale),
            Err(qr::QrError::Scale),
            "scale {scale}"
        );
    }
    assert!(qr::to_png(issued.payload(), qr::MAX_PNG_SCALE).is_ok());
    // The largest symbol at the largest scale is drawn smaller, within the budget.
    let big = qr::to_png(&"A".repeat(3000), qr::MAX_PNG_SCALE).unwrap();
    let side = u32::from_be_bytes(big[16..20].try_into().unwrap());
    assert!(side as usize <= qr::MAX_PNG_SIDE, "{side}");
}

/// Every copy of a provisioned card has the id drawn when it was provisioned,
/// so storing it again (a restart, a second server) is refused as the same
/// card, and single use, throttling and drift carry over on the store.
#[tokio::test]
async fn a_provisioned_card_keeps_its_id_and_its_used_codes() {
    let issued = provision(&CardRequest::new(mellat()));
    assert_eq!(issued.card().unwrap().id(), issued.card_id());
    assert_eq!(issued.card().unwrap().id(), issued.card().unwrap().id());
    let store = Arc::new(MemoryStore::new());
    let verifier = instance(Default::default(), &store);
    let id = verifier.register(&issued.card().unwrap()).await.unwrap();
    assert_eq!(id, issued.card_id());
    let typed = issued
        .card()
        .unwrap()
        .pin(PinKind::Second, &clock())
        .unwrap()
        .digits();
    verifier
        .verify(id, PinKind::Second, &typed, &clock())
        .await
        .unwrap();
    assert_eq!(
        verifier.register(&issued.card().unwrap()).await,
        Err(VerifyError::DuplicateCard),
        "a provisioned card has one id"
    );
    assert_eq!(
        verifier.enroll(&issued, None).await,
        Err(VerifyError::DuplicateCard)
    );
    let restarted = instance(Default::default(), &store);
    assert_eq!(
        restarted
            .verify(issued.card_id(), PinKind::Second, &typed, &clock())
            .await,
        Err(VerifyError::Replayed {
            remaining_attempts: 9
        })
    );
}

/// The issuer draws 160-bit seeds, and the documentation says so: a 256-bit
/// seed would not fit a two-PIN payload into one 160-character SMS.
#[test]
fn the_issuer_draws_the_seed_length_the_documentation_states() {
    let issued = provision(&CardRequest::new(mellat()));
    assert_eq!(issued.master_seed().expose().len(), 20);
    assert_eq!(DEFAULT_SEED_LEN, 20);
    assert!(issued.payload().len() <= 160, "{}", issued.payload().len());
    let long = issuer()
        .with_seed_len(32)
        .unwrap()
        .provision(&CardRequest::new(mellat()), &clock())
        .unwrap();
    assert!(long.payload().len() > 160, "{}", long.payload().len());

    let doc = include_str!("../../docs/card-derivation.md");
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        doc.contains("dynpin's issuer draws 160 bits"),
        "docs/card-derivation.md does not state the 160-bit seeds the issuer draws"
    );
    assert!(
        !doc.contains("draws 256"),
        "docs/card-derivation.md claims 256-bit seeds"
    );
}

/// The sealed-card vector of docs/bank-store.md (recomputed there by
/// PyNaCl): stored as it is written in the document, it opens under its KEK
/// and the card verifies the PINs its seed gives; under another key id it
/// opens nothing.
#[tokio::test]
async fn the_documented_sealed_card_opens_and_verifies() {
    use dynpin::card::{Card, CardId};
    use dynpin::secret::SecretBytes;
    use dynpin_bank::keys::KeyFile;
    use dynpin_bank::store::{CardRecord, CardStatus, Store};
    use dynpin_bank::verifier::Verifier;

    let doc = include_str!("../../docs/bank-store.md");
    let vector = doc.split("### Vector").nth(1).unwrap();
    let field = |name: &str| -> Vec<u8> {
        let line = vector
            .lines()
            .find(|l| l.starts_with(name) && l.contains(" = "))
            .unwrap();
        let hex = line.split(" = ").nth(1).unwrap().trim();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    };
    let kek: [u8; 32] = field("kek ").try_into().unwrap();
    let id = CardId::from_bytes(field("card id").try_into().unwrap());
    let store = Arc::new(MemoryStore::new());
    let record = CardRecord {
        id,
        key_id: "kek-2026".into(),
        sealed: field("sealed"),
        status: CardStatus::Active,
        confirm_deadline: 0,
        phone: None,
        last_four: 1234,
    };
    assert!(store.insert_card(&record).await.unwrap());
    let verifier = Verifier::new(
        Default::default(),
        Arc::clone(&store),
        Arc::new(KeyFile::from_bytes("kek-2026", kek)),
    )
    .unwrap();
    let seed = SecretBytes::from((1..=20).collect::<Vec<u8>>());
    let card_ref = CardRef::new(610_433, LastFour::parse("1234").unwrap()).unwrap();
    let policy = |digits| PinPolicy {
        algorithm: Algorithm::Sha256,
        digits,
        period: 60,
    };
    let phone = Card::bank_card(
        id,
        "Salary",
        card_ref,
        seed,
        Some(policy(4)),
        Some(policy(8)),
    )
    .unwrap();
    let clock = clock();
    for kind in [PinKind::First, PinKind::Second] {
        let pin = phone.pin(kind, &clock).unwrap().digits();
        verifier.verify(id, kind, &pin, &clock).await.unwrap();
    }
    // Another key id: the binding fails, nothing opens.
    let other = Verifier::new(
        Default::default(),
        Arc::clone(&store),
        Arc::new(KeyFile::from_bytes("kek-2027", kek)),
    )
    .unwrap();
    let pin = phone.pin(PinKind::Second, &clock).unwrap().digits();
    assert!(matches!(
        other.verify(id, PinKind::Second, &pin, &clock).await,
        Err(VerifyError::StoredCard(_))
    ));
}

/// A label of 64 four-byte characters is 256 bytes: more than the sealed
/// layout's length byte. The card is refused, never stored cut short (a
/// stored card that does not open again would lock its owner out).
#[tokio::test]
async fn a_card_too_long_to_seal_is_refused_and_nothing_is_stored() {
    use dynpin::card::{Card, CardId};
    use dynpin::secret::SecretBytes;
    use dynpin_bank::keys::KeyFile;
    use dynpin_bank::store::Store;
    use dynpin_bank::verifier::{SealedCardError, Verifier};

    let store = Arc::new(MemoryStore::new());
    let verifier = Verifier::new(
        Default::default(),
        Arc::clone(&store),
        Arc::new(KeyFile::from_bytes("kek", [2; 32])),
    )
    .unwrap();
    let label: String = std::iter::repeat_n('𝄞', 64).collect();
    assert_eq!(label.len(), 256);
    let card = Card::bank_card(
        CardId::random().unwrap(),
        &label,
        mellat(),
        SecretBytes::from(vec![1; 20]),
        None,
        Some(PinPolicy::second_pin()),
    )
    .unwrap();
    assert_eq!(
        verifier.register(&card).await,
        Err(VerifyError::StoredCard(SealedCardError::TooLong("label")))
    );
    assert_eq!(store.card(card.id()).await.unwrap(), None);
}
