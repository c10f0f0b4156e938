//! The code vectors published in docs/card-derivation.md, computed through the public card API.

use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;

#[test]
fn documented_card_codes() {
    let doc = include_str!("../docs/card-derivation.md");
    let seed = SecretBytes::from((0u8..20).collect::<Vec<_>>());
    let card_ref = CardRef::new(610_433, LastFour::parse("1234").unwrap()).unwrap();
    let mut checked = 0;
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| first |") || l.starts_with("| second |"))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [purpose, algorithm, digits, period, time, step, code] = cells[..] else {
            panic!("bad row {line}")
        };
        let policy = PinPolicy {
            algorithm: algorithm.parse().unwrap(),
            digits: digits.parse().unwrap(),
            period: period.parse().unwrap(),
        };
        let (kind, first, second) = match purpose {
            "first" => (PinKind::First, Some(policy), None),
            _ => (PinKind::Second, None, Some(policy)),
        };
        let card = Card::bank_card(
            CardId::random().unwrap(),
            "vector",
            card_ref,
            seed.clone(),
            first,
            second,
        )
        .unwrap();
        let millis: i64 = time.parse::<i64>().unwrap() * 1000;
        let pin = card.pin_at_millis(kind, millis).unwrap();
        assert_eq!(pin.counter().to_string(), step, "{line}");
        assert_eq!(format!("`{}`", pin.digits()), code, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 16, "the doc's table lost rows");
}
