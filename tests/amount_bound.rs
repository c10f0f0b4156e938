//! The amount-bound second PIN through the public card API, against docs/amount-bound-pin.md.

use dynpin::card::{Card, CardError, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use dynpin::clock::FixedClock;
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;

fn card() -> Card {
    let card_ref = CardRef::new(603_799, LastFour::parse("7893").unwrap()).unwrap();
    let seed = SecretBytes::from((0u8..20).collect::<Vec<_>>());
    Card::bank_card(
        CardId::random().unwrap(),
        "Melli",
        card_ref,
        seed,
        None,
        Some(PinPolicy::second_pin()),
    )
    .unwrap()
}

#[test]
fn documented_vectors() {
    let doc = include_str!("../docs/amount-bound-pin.md");
    let card = card();
    let mut rows = 0;
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("` |") && !l.contains("key"))
    {
        let cells: Vec<&str> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        let [amount, payee, time, step, _challenge, code] = cells[..] else {
            continue;
        };
        let Ok(amount) = amount.parse::<u64>() else {
            continue;
        };
        let clock = FixedClock::from_unix_seconds(time.parse().unwrap());
        let pin = card.amount_bound_code(amount, payee, &clock).unwrap();
        assert_eq!(pin.kind(), PinKind::AmountBound);
        assert_eq!(pin.counter().to_string(), step);
        assert_eq!(pin.digits(), code, "{line}");
        rows += 1;
    }
    assert_eq!(rows, 5);
}

#[test]
fn ceiling_is_enforced_on_the_phone() {
    let mut card = card();
    let clock = FixedClock::from_unix_seconds(1_800_000_000);
    card.set_amount_ceiling(Some(500_000_000));
    assert!(
        card.amount_bound_code(500_000_000, "6037991234567893", &clock)
            .is_ok()
    );
    assert_eq!(
        card.amount_bound_code(500_000_001, "6037991234567893", &clock)
            .unwrap_err(),
        CardError::AmountAboveCeiling {
            ceiling: 500_000_000
        }
    );
    assert_eq!(
        card.amount_bound_code(1, "  ", &clock).unwrap_err(),
        CardError::InvalidPayee
    );
    let persian = card
        .amount_bound_code(1_000, "۶۰۳۷ ۹۹۱۲ ۳۴۵۶ ۷۸۹۳", &clock)
        .unwrap();
    let ascii = card
        .amount_bound_code(1_000, "6037991234567893", &clock)
        .unwrap();
    assert_eq!(persian, ascii);
    let v = ascii.validity().unwrap();
    assert_eq!((v.start, v.end), (1_800_000_000, 1_800_000_060));
}

#[test]
fn tokens_cannot_make_amount_bound_codes() {
    let token = OtpToken {
        secret: SecretBytes::from(vec![1; 20]),
        algorithm: Algorithm::Sha1,
        digits: 6,
        mode: TokenMode::Totp { period: 30 },
        issuer: None,
        account: "a".into(),
    };
    let card = Card::token(CardId::random().unwrap(), "t", token).unwrap();
    assert_eq!(
        card.amount_bound_code(1, "x", &FixedClock::from_unix_seconds(0))
            .unwrap_err(),
        CardError::NotABankCard
    );
}
