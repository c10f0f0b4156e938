//! Payload tests that need to craft headers the public issuer refuses to make.

use super::payload::{self, Header, PREFIX, Secrets};
use super::*;
use crate::card::{LastFour, PinPolicy};
use crate::clock::FixedClock;

pub(crate) const VECTOR_CODE: &str = "1234567890123456";

/// The payload of docs/activation-format.md's test vector.
pub(crate) fn vector_header() -> Header {
    Header {
        version: PAYLOAD_VERSION_1,
        exportable: false,
        card_ref: CardRef::new(606_373, LastFour::parse("1234").unwrap()).unwrap(),
        issued_at: 1_800_000_000,
        valid_for: 86_400,
        activation_id: [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8],
        kdf: KdfParams::MINIMUM,
        salt: *b"dynpin-salt-0001",
        label: None,
    }
}

pub(crate) fn vector_secrets() -> Secrets {
    Secrets {
        first: Some(PinPolicy::first_pin()),
        second: Some(PinPolicy::second_pin()),
        seed: SecretBytes::from((0u8..20).collect::<Vec<_>>()),
    }
}

fn code() -> ActivationCode {
    ActivationCode::parse(VECTOR_CODE).unwrap()
}

fn at(seconds: i64) -> FixedClock {
    FixedClock::from_unix_seconds(seconds)
}

/// Re-encodes `body` (without checksum) as payload text with a correct checksum.
fn with_checksum(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&Sha256::digest(body)[..4]);
    format!("{PREFIX}{}", data_encoding::BASE32_NOPAD.encode(&bytes))
}

fn body_of(text: &str) -> Vec<u8> {
    let mut bytes = data_encoding::BASE32_NOPAD
        .decode(text.strip_prefix(PREFIX).unwrap().as_bytes())
        .unwrap();
    bytes.truncate(bytes.len() - 4);
    bytes
}

#[test]
fn vector_round_trips_and_matches_the_docs() {
    let text = payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap();
    let doc = include_str!("../../docs/activation-format.md");
    assert!(
        doc.contains(&format!("`{text}`")),
        "docs/activation-format.md lacks the vector payload:\n{text}"
    );
    let activated = activate(&text, &code(), &at(1_800_000_100)).unwrap();
    assert_eq!(
        activated.card.policy(crate::pin::PinKind::Second),
        Some(PinPolicy::second_pin())
    );
    assert_eq!(activated.card.secret(), &vector_secrets().seed);
    assert!(
        doc.contains(&format!("`{}`", activated.confirmation_code)),
        "docs lack the confirmation code"
    );
}

#[test]
fn two_slot_payload_fits_one_sms() {
    let text = payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap();
    // 154 characters: one SMS (160); the QR code's version is checked by dynpin-bank.
    assert_eq!(text.len(), 154, "{text}");
    assert!(
        text.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ':')
    );
}

#[test]
fn every_bit_flip_of_the_bytes_is_caught_by_the_checksum() {
    let text = payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap();
    let mut bytes = data_encoding::BASE32_NOPAD
        .decode(text.strip_prefix(PREFIX).unwrap().as_bytes())
        .unwrap();
    for bit in 0..bytes.len() * 8 {
        bytes[bit / 8] ^= 1 << (bit % 8);
        let flipped = format!("{PREFIX}{}", data_encoding::BASE32_NOPAD.encode(&bytes));
        assert_eq!(
            ActivationPayload::parse(&flipped).unwrap_err(),
            ActivationError::BadChecksum,
            "bit {bit}"
        );
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
    assert!(ActivationPayload::parse(&text).is_ok());
}

#[test]
fn every_bit_flip_of_the_text_is_rejected_with_a_typed_error() {
    let text = payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap();
    let mut chars = text.clone().into_bytes();
    for i in 0..chars.len() {
        for bit in 0..8 {
            chars[i] ^= 1 << bit;
            if let Ok(flipped) = core::str::from_utf8(&chars) {
                if flipped.eq_ignore_ascii_case(&text) {
                    // A letter's case flip (bit 5) is the same payload: case is ignored.
                    assert!(ActivationPayload::parse(flipped).is_ok());
                } else {
                    let err = ActivationPayload::parse(flipped).unwrap_err();
                    assert!(
                        matches!(
                            err,
                            ActivationError::Malformed(_) | ActivationError::BadChecksum
                        ),
                        "{i}/{bit}: {err}"
                    );
                }
            }
            chars[i] ^= 1 << bit;
        }
    }
}

#[test]
fn tampered_header_with_fixed_checksum_fails_authentication() {
    let text = payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap();
    let body = body_of(&text);
    let header_len = 47;
    for byte in 0..header_len {
        let mut tampered = body.clone();
        tampered[byte] ^= 0x01;
        let err = activate(&with_checksum(&tampered), &code(), &at(1_800_000_100)).unwrap_err();
        assert!(
            matches!(
                err,
                ActivationError::WrongActivationCode
                    | ActivationError::UnsupportedVersion { .. }
                    | ActivationError::Malformed(_)
                    | ActivationError::KdfTooWeak
                    | ActivationError::ClockBehind { .. }
                    | ActivationError::Expired { .. }
            ),
            "byte {byte}: {err:?}"
        );
    }
    // The ciphertext and tag too.
    for byte in header_len..body.len() {
        let mut tampered = body.clone();
        tampered[byte] ^= 0x80;
        let err = activate(&with_checksum(&tampered), &code(), &at(1_800_000_100)).unwrap_err();
        assert_eq!(err, ActivationError::WrongActivationCode, "byte {byte}");
    }
}

#[test]
fn version_2_is_refused_as_unsupported() {
    let mut body =
        body_of(&payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap());
    body[0] = 2;
    assert_eq!(
        inspect(&with_checksum(&body)).unwrap_err(),
        ActivationError::UnsupportedVersion { version: 2 }
    );
}

#[test]
fn unknown_flags_are_refused() {
    let mut body =
        body_of(&payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap());
    body[1] |= 0x80;
    assert_eq!(
        inspect(&with_checksum(&body)).unwrap_err(),
        ActivationError::Malformed("flags")
    );
}

#[test]
fn weak_and_costly_kdf_parameters_are_refused_before_deriving() {
    for (kdf, expected) in [
        (
            KdfParams {
                memory_kib: 8 * 1024,
                iterations: 2,
                lanes: 1,
            },
            ActivationError::KdfTooWeak,
        ),
        (
            KdfParams {
                memory_kib: 19 * 1024,
                iterations: 1,
                lanes: 1,
            },
            ActivationError::KdfTooWeak,
        ),
        (
            KdfParams {
                memory_kib: 4096 * 1024,
                iterations: 3,
                lanes: 1,
            },
            ActivationError::KdfTooCostly,
        ),
        (
            KdfParams {
                memory_kib: 64 * 1024,
                iterations: 200,
                lanes: 1,
            },
            ActivationError::KdfTooCostly,
        ),
    ] {
        let header = Header {
            kdf,
            ..vector_header()
        };
        // Sealing a costly payload would itself be slow: craft its bytes with a cheap one.
        let cheap = Header {
            kdf: KdfParams {
                memory_kib: 1024,
                iterations: 1,
                lanes: 1,
            },
            ..header.clone()
        };
        let mut body = body_of(&payload::seal(&cheap, &vector_secrets(), VECTOR_CODE).unwrap());
        let m = u16::try_from(kdf.memory_kib / 1024).unwrap().to_be_bytes();
        body[27] = m[0];
        body[28] = m[1];
        body[29] = u8::try_from(kdf.iterations).unwrap();
        let text = with_checksum(&body);
        assert_eq!(inspect(&text).unwrap().kdf, header.kdf);
        assert_eq!(
            activate(&text, &code(), &at(1_800_000_100)).unwrap_err(),
            expected,
            "{kdf:?}"
        );
    }
}

#[test]
fn time_checks() {
    let text = payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap();
    let issued = 1_800_000_000i64;
    // Within the tolerance, a slightly slow phone clock is fine.
    assert!(activate(&text, &code(), &at(issued - 300)).is_ok());
    assert_eq!(
        activate(&text, &code(), &at(issued - 3_600)).unwrap_err(),
        ActivationError::ClockBehind {
            seconds_behind: 3_600
        }
    );
    assert!(activate(&text, &code(), &at(issued + 86_399)).is_ok());
    assert_eq!(
        activate(&text, &code(), &at(issued + 86_400)).unwrap_err(),
        ActivationError::Expired {
            seconds_ago: 0,
            issued_seconds_ago: 86_400
        }
    );
    assert_eq!(
        activate(&text, &code(), &at(issued + 86_400 + 90)).unwrap_err(),
        ActivationError::Expired {
            seconds_ago: 90,
            issued_seconds_ago: 86_490
        }
    );
    assert!(matches!(
        activate(&text, &code(), &at(-5)).unwrap_err(),
        ActivationError::Card(_)
    ));
}

#[test]
fn labels_travel_and_are_validated() {
    let header = Header {
        label: Some("کارت حقوق".into()),
        ..vector_header()
    };
    let text = payload::seal(&header, &vector_secrets(), VECTOR_CODE).unwrap();
    assert_eq!(inspect(&text).unwrap().label.as_deref(), Some("کارت حقوق"));
    let activated = activate(&text, &code(), &at(1_800_000_100)).unwrap();
    assert_eq!(activated.card.label(), "کارت حقوق");
    let long = Header {
        label: Some("x".repeat(65)),
        ..vector_header()
    };
    assert_eq!(
        payload::seal(&long, &vector_secrets(), VECTOR_CODE).unwrap_err(),
        ActivationError::Malformed("label")
    );
    // Without a label the card is named after its bank and last four digits.
    let plain = activate(
        &payload::seal(&vector_header(), &vector_secrets(), VECTOR_CODE).unwrap(),
        &code(),
        &at(1_800_000_100),
    )
    .unwrap();
    assert_eq!(plain.card.label(), "Gharz-al-Hasaneh Mehr Iran Bank 1234");
}

#[test]
fn a_device_ceiling_refuses_a_costlier_payload_before_deriving() {
    let header = Header {
        kdf: KdfParams {
            memory_kib: 64 * 1024,
            ..KdfParams::MINIMUM
        },
        ..vector_header()
    };
    let text = payload::seal(&header, &vector_secrets(), VECTOR_CODE).unwrap();
    let parsed = ActivationPayload::parse(&text).unwrap();
    assert_eq!(parsed.info().kdf.memory_kib, 64 * 1024);
    let small_phone = KdfParams {
        memory_kib: 32 * 1024,
        ..KdfParams::MAXIMUM
    };
    let started = std::time::Instant::now();
    assert_eq!(
        parsed
            .activate_within(&code(), &at(1_800_000_100), small_phone)
            .unwrap_err(),
        ActivationError::KdfTooCostly
    );
    // Refused before a derivation of 64 MiB could start.
    assert!(
        started.elapsed().as_millis() < 50,
        "{:?}",
        started.elapsed()
    );
    assert!(
        parsed
            .activate_within(&code(), &at(1_800_000_100), KdfParams::MAXIMUM)
            .is_ok()
    );
}
