//! Cards through the public API: PIN windows, countdowns, time correction, tokens.

use dynpin::card::{Card, CardError, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use dynpin::clock::{FixedClock, ManualClock};
use dynpin::otp::{Algorithm, Hotp, OtpError, Totp};
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use proptest::prelude::*;

fn card_ref() -> CardRef {
    CardRef::new(628_023, LastFour::parse("0042").unwrap()).unwrap()
}

fn seed() -> SecretBytes {
    SecretBytes::from((100u8..132).collect::<Vec<_>>())
}

fn maskan_card() -> Card {
    Card::bank_card(
        CardId::random().unwrap(),
        "Maskan",
        card_ref(),
        seed(),
        Some(PinPolicy::first_pin()),
        Some(PinPolicy::second_pin()),
    )
    .unwrap()
}

#[test]
fn first_and_second_pins_are_independent_and_sized() {
    let card = maskan_card();
    assert_eq!(card.pin_kinds(), vec![PinKind::First, PinKind::Second]);
    assert_eq!(card.bank().unwrap().persian_name(), "بانک مسکن");
    let clock = FixedClock::from_unix_seconds(1_800_000_000);
    let pins = card.pins(&clock).unwrap();
    assert_eq!(pins.len(), 2);
    assert_eq!(
        (pins[0].kind(), pins[0].digits().len()),
        (PinKind::First, 4)
    );
    assert_eq!(
        (pins[1].kind(), pins[1].digits().len()),
        (PinKind::Second, 8)
    );
    // Different derived keys: across many steps the 4-digit first PIN is not the tail of the second.
    let same = (0..200)
        .filter(|i| {
            let t = (1_800_000_000 + 60 * i) * 1000;
            let first = card.pin_at_millis(PinKind::First, t).unwrap().digits();
            let second = card.pin_at_millis(PinKind::Second, t).unwrap().digits();
            second.ends_with(&first)
        })
        .count();
    assert!(
        same < 5,
        "{same} of 200 first PINs equal the second PIN's tail"
    );
}

#[test]
fn countdown_across_a_step_edge() {
    let card = maskan_card();
    let clock = ManualClock::from_unix_millis(1_800_000_000_000); // a multiple of 60 s
    let at_start = card.pin(PinKind::Second, &clock).unwrap();
    let v = at_start.validity().unwrap();
    assert_eq!(
        (v.start, v.end, v.seconds_remaining()),
        (1_800_000_000, 1_800_000_060, 60)
    );
    assert_eq!(v.fraction_elapsed(), 0.0);

    clock.advance_millis(59_999);
    let last_ms = card.pin(PinKind::Second, &clock).unwrap();
    let v = last_ms.validity().unwrap();
    assert_eq!(last_ms.digits(), at_start.digits());
    assert_eq!((v.millis_remaining(), v.seconds_remaining()), (1, 1));
    assert!(v.fraction_elapsed() > 0.9999 && v.fraction_elapsed() < 1.0);

    clock.advance_millis(1);
    let next = card.pin(PinKind::Second, &clock).unwrap();
    assert_eq!(next.counter(), at_start.counter() + 1);
    assert_eq!(next.validity().unwrap().start, 1_800_000_060);
    assert_eq!(card.next_pin(&at_start).unwrap(), {
        // next_pin describes the following step as it begins.
        card.pin_at_millis(PinKind::Second, 1_800_000_060_000)
            .unwrap()
    });
}

#[test]
fn time_offset_corrects_a_fast_phone() {
    let mut card = maskan_card();
    let truth = card
        .pin_at_millis(PinKind::First, 1_800_000_000_000)
        .unwrap();
    card.set_time_offset(-90).unwrap();
    let fast_phone = card
        .pin_at_millis(PinKind::First, 1_800_000_090_000)
        .unwrap();
    assert_eq!(fast_phone, truth);
    assert_eq!(
        card.set_time_offset(400 * 86_400),
        Err(CardError::TimeOffsetOutOfRange)
    );
    assert_eq!(
        card.time_offset(),
        -90,
        "a rejected change leaves the old value"
    );
}

#[test]
fn clock_before_1970_is_a_typed_error() {
    let card = maskan_card();
    let err = card
        .pin(PinKind::First, &FixedClock::from_unix_seconds(-86_400))
        .unwrap_err();
    assert_eq!(
        err,
        CardError::Otp(OtpError::TimeBeforeEpoch {
            seconds_before_epoch: 86_400
        })
    );
    assert!(err.to_string().contains("before 1970"), "{err}");
}

#[test]
fn far_future_clocks_work() {
    let card = maskan_card();
    let pin = card
        .pin(PinKind::Second, &FixedClock::from_unix_millis(i64::MAX))
        .unwrap();
    let v = pin.validity().unwrap();
    assert!(v.start <= i64::MAX as u64 / 1000 && v.end > i64::MAX as u64 / 1000);
}

#[test]
fn construction_errors_are_typed() {
    let make = |label: &str, seed, first, second| {
        Card::bank_card(
            CardId::random().unwrap(),
            label,
            card_ref(),
            seed,
            first,
            second,
        )
    };
    let short = SecretBytes::from(vec![1u8; 19]);
    assert_eq!(
        make("x", short, Some(PinPolicy::first_pin()), None).unwrap_err(),
        CardError::SeedTooShort
    );
    assert_eq!(
        make("x", seed(), None, None).unwrap_err(),
        CardError::NoPinSlots
    );
    for label in ["", "   ", "a\nb", &"x".repeat(65)] {
        assert_eq!(
            make(label, seed(), Some(PinPolicy::first_pin()), None).unwrap_err(),
            CardError::InvalidLabel,
            "{label:?}"
        );
    }
    let bad = PinPolicy {
        digits: 11,
        ..PinPolicy::second_pin()
    };
    assert_eq!(
        make("x", seed(), None, Some(bad)).unwrap_err(),
        CardError::Otp(OtpError::DigitsOutOfRange { digits: 11 })
    );
    let bad = PinPolicy {
        period: 0,
        ..PinPolicy::second_pin()
    };
    assert_eq!(
        make("x", seed(), None, Some(bad)).unwrap_err(),
        CardError::Otp(OtpError::PeriodOutOfRange { period: 0 })
    );
    let only_first = make("x", seed(), Some(PinPolicy::first_pin()), None).unwrap();
    assert_eq!(
        only_first.pin_at_millis(PinKind::Second, 0).unwrap_err(),
        CardError::NoSuchPin(PinKind::Second)
    );
    assert_eq!(
        only_first.pin_at_millis(PinKind::Token, 0).unwrap_err(),
        CardError::NoSuchPin(PinKind::Token)
    );
}

#[test]
fn labels_are_trimmed_and_renaming_validates() {
    let mut card = maskan_card();
    card.set_label("  کارت حقوق  ").unwrap();
    assert_eq!(card.label(), "کارت حقوق");
    assert_eq!(card.set_label("\u{7}"), Err(CardError::InvalidLabel));
    assert_eq!(card.label(), "کارت حقوق");
}

#[test]
fn ids_are_random_and_round_trip() {
    let a = maskan_card();
    let b = maskan_card();
    assert_ne!(a.id(), b.id());
    assert_eq!(
        dynpin::card::CardId::parse(&a.id().to_string()),
        Some(a.id())
    );
    assert_eq!(dynpin::card::CardId::parse("zz"), None);
    assert_eq!(dynpin::card::CardId::parse(&"g".repeat(32)), None);
}

#[test]
fn debug_output_hides_seeds_and_keys() {
    let card = maskan_card();
    let dbg = format!("{card:?} {card:#?}");
    let seed_hex: String = seed().expose().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dbg.contains(&seed_hex[..8]), "{dbg}");
    assert!(!dbg.contains("100, 101, 102"), "{dbg}");
    let pin = card.pin_at_millis(PinKind::Second, 0).unwrap();
    assert!(!format!("{pin:?}").contains(&pin.digits()));
}

fn token(mode: TokenMode) -> OtpToken {
    OtpToken {
        secret: SecretBytes::from(b"12345678901234567890".to_vec()),
        algorithm: Algorithm::Sha1,
        digits: 6,
        mode,
        issuer: Some("Example".into()),
        account: "alice@example.com".into(),
    }
}

#[test]
fn totp_token_cards_follow_rfc_6238() {
    let card = Card::token(
        CardId::random().unwrap(),
        "Example",
        token(TokenMode::Totp { period: 30 }),
    )
    .unwrap();
    assert_eq!(card.pin_kinds(), vec![PinKind::Token]);
    assert_eq!(card.bank(), None);
    let pin = card
        .pin(PinKind::Token, &FixedClock::from_unix_seconds(59))
        .unwrap();
    assert_eq!(pin.digits(), "287082");
    assert_eq!(pin.validity().unwrap().seconds_remaining(), 1);
    assert_eq!(
        card.pin_at_millis(PinKind::First, 0).unwrap_err(),
        CardError::NoSuchPin(PinKind::First)
    );
}

#[test]
fn hotp_token_cards_advance_on_request() {
    let mut card = Card::token(
        CardId::random().unwrap(),
        "Counter",
        token(TokenMode::Hotp { counter: 0 }),
    )
    .unwrap();
    let clock = FixedClock::from_unix_seconds(0);
    assert_eq!(card.pin(PinKind::Token, &clock).unwrap().digits(), "755224");
    assert_eq!(card.pin(PinKind::Token, &clock).unwrap().validity(), None);
    assert_eq!(card.advance_counter().unwrap(), 1);
    let pin = card.pin(PinKind::Token, &clock).unwrap();
    assert_eq!(pin.digits(), "287082");
    assert_eq!(card.next_pin(&pin).unwrap().digits(), "359152");
    let mut last = Card::token(
        CardId::random().unwrap(),
        "Counter",
        token(TokenMode::Hotp { counter: u64::MAX }),
    )
    .unwrap();
    assert_eq!(
        last.advance_counter(),
        Err(CardError::Otp(OtpError::Overflow))
    );
    assert_eq!(
        maskan_card().advance_counter(),
        Err(CardError::NotCounterBased)
    );
    let token_with_bad_period = token(TokenMode::Totp { period: 0 });
    assert!(Card::token(CardId::random().unwrap(), "x", token_with_bad_period).is_err());
}

#[test]
fn a_code_matches_what_the_user_types() {
    let card = maskan_card();
    let pin = card
        .pin_at_millis(PinKind::Second, 1_800_000_000_000)
        .unwrap();
    assert_eq!(pin.matches(&pin.persian()), Ok(true));
    assert_eq!(pin.matches(&pin.grouped()), Ok(true));
    let wrong = format!("{:08}", (pin.code().value() + 1) % 100_000_000);
    assert_eq!(pin.matches(&wrong), Ok(false));
}

proptest! {
    /// Totp equals Hotp at floor(t / period) for every time, period and digit count.
    #[test]
    fn totp_is_hotp_of_the_step(t in any::<u64>(), period in 10u64..=300, digits in 4u8..=10, alg in 0usize..3) {
        let algorithm = Algorithm::ALL[alg];
        let key = b"any key of any length, really";
        let totp = Totp::new(algorithm, key, digits, period).unwrap();
        let hotp = Hotp::new(algorithm, key, digits).unwrap();
        prop_assert_eq!(totp.code_at(t).unwrap(), hotp.code(t / period));
        let step = totp.step_at(t).unwrap();
        prop_assert!(step.start <= t);
        prop_assert!(step.end().is_none_or(|end| t < end));
    }

    /// The countdown always lies within the window.
    #[test]
    fn countdown_is_within_the_window(millis in 0i64..i64::MAX, offset in -86_400i64..86_400) {
        let mut card = maskan_card();
        card.set_time_offset(offset).unwrap();
        let clock = FixedClock::from_unix_millis(millis);
        if let Ok(pin) = card.pin(PinKind::First, &clock) {
            let v = pin.validity().unwrap();
            prop_assert_eq!(v.end - v.start, 60);
            prop_assert!((1..=60).contains(&v.seconds_remaining()));
            prop_assert!((0.0..1.0).contains(&v.fraction_elapsed()));
        } else {
            prop_assert!(millis / 1000 + offset < 0);
        }
    }
}

#[test]
fn bank_cards_are_not_exportable_by_default_tokens_are() {
    let mut card = maskan_card();
    assert!(!card.exportable());
    card.set_exportable(true);
    assert!(card.exportable());
    assert!(
        Card::token(
            CardId::random().unwrap(),
            "t",
            token(TokenMode::Totp { period: 30 })
        )
        .unwrap()
        .exportable()
    );
}

#[test]
fn amount_ceiling_is_a_plain_setting() {
    let mut card = maskan_card();
    assert_eq!(card.amount_ceiling(), None);
    card.set_amount_ceiling(Some(50_000_000));
    assert_eq!(card.amount_ceiling(), Some(50_000_000));
    card.set_amount_ceiling(None);
    assert_eq!(card.amount_ceiling(), None);
}

/// What someone types can be a secret (a PIN, an activation code, a card
/// number): no error repeats any part of rejected input, in `Display` or in
/// `Debug`. Only where it went wrong (a position) and what kind of character
/// it was may be said.
#[test]
fn no_error_repeats_rejected_input() {
    use dynpin::activation::ActivationCode;
    use dynpin::card::CardNumber;
    use dynpin::text;

    // Letters no message is written with, so a match can only be an echo.
    let cases: Vec<(&str, String)> = vec![
        (
            "ق",
            format!("{:?}", text::parse_code("12ق4", 4).unwrap_err()),
        ),
        ("ق", text::parse_code("12ق4", 4).unwrap_err().to_string()),
        ("ژ", text::parse_code("۱۲ژ۴", 4).unwrap_err().to_string()),
        (
            "ژ",
            format!("{:?}", text::normalize_digits("۱۲ژ۴", 10).unwrap_err()),
        ),
        (
            "200C",
            text::parse_code("12\u{200C}4", 4).unwrap_err().to_string(),
        ),
        (
            "Ж",
            ActivationCode::parse("1234 5678 9012 345Ж")
                .unwrap_err()
                .to_string(),
        ),
        (
            "Ж",
            format!(
                "{:?}",
                ActivationCode::parse("1234 5678 9012 345Ж").unwrap_err()
            ),
        ),
        (
            "ß",
            CardNumber::parse("6104-3312-3456-789ß")
                .unwrap_err()
                .to_string(),
        ),
        (
            "ß",
            format!(
                "{:?}",
                CardNumber::parse("6104-3312-3456-789ß").unwrap_err()
            ),
        ),
        ("ŵ", format!("{:?}", LastFour::parse("12ŵ4").unwrap_err())),
    ];
    for (secret, shown) in cases {
        assert!(!shown.contains(secret), "{secret:?} repeated in {shown:?}");
    }
}
