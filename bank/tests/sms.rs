//! Harim-style SMS codes and the Mellat-style "last four digits" service, on injected clocks.

use dynpin::card::{CardId, LastFour};
use dynpin::clock::{FixedClock, ManualClock};
use dynpin::text::group_thousands;
use dynpin_bank::sms::{SmsConfig, SmsError, SmsService, Transaction};

const T: i64 = 1_800_000_000;

fn tx(id: &str) -> Transaction {
    Transaction {
        id: id.into(),
        amount_rials: 12_500_000,
        merchant: "دیجی‌کالا".into(),
    }
}

fn card(n: u8) -> CardId {
    CardId::from_bytes([n; 16])
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

#[test]
fn a_code_is_valid_for_120_seconds() {
    let sms = SmsService::new(SmsConfig::default()).unwrap();
    let clock = ManualClock::from_unix_seconds(T);
    let sent = sms.request(card(1), &tx("A"), &clock).unwrap();
    assert_eq!(sent.code().len(), 6);
    assert_eq!(sent.expires_at, T as u64 + 120);
    clock.advance_seconds(119);
    sms.verify(card(1), &tx("A"), sent.code(), &clock).unwrap();

    let again = sms.request(card(1), &tx("B"), &clock).unwrap();
    clock.advance_seconds(120);
    assert_eq!(
        sms.verify(card(1), &tx("B"), again.code(), &clock),
        Err(SmsError::Expired)
    );
}

#[test]
fn single_use_and_bound_to_the_transaction() {
    let sms = SmsService::new(SmsConfig::default()).unwrap();
    let clock = FixedClock::from_unix_seconds(T);
    let sent = sms.request(card(1), &tx("A"), &clock).unwrap();
    let other_amount = Transaction {
        amount_rials: 12_500_001,
        ..tx("A")
    };
    assert!(matches!(
        sms.verify(card(1), &other_amount, sent.code(), &clock),
        Err(SmsError::Wrong { .. })
    ));
    assert_eq!(
        sms.verify(card(2), &tx("A"), sent.code(), &clock),
        Err(SmsError::NoPendingCode)
    );
    sms.verify(card(1), &tx("A"), sent.code(), &clock).unwrap();
    assert_eq!(
        sms.verify(card(1), &tx("A"), sent.code(), &clock),
        Err(SmsError::NoPendingCode)
    );
}

#[test]
fn three_attempts_at_most() {
    let sms = SmsService::new(SmsConfig::default()).unwrap();
    let clock = FixedClock::from_unix_seconds(T);
    let sent = sms.request(card(1), &tx("A"), &clock).unwrap();
    let bad = wrong(sent.code());
    assert_eq!(
        sms.verify(card(1), &tx("A"), &bad, &clock),
        Err(SmsError::Wrong {
            remaining_attempts: 2
        })
    );
    assert!(
        matches!(
            sms.verify(card(1), &tx("A"), "12", &clock),
            Err(SmsError::Malformed(_))
        ),
        "not counted"
    );
    assert_eq!(
        sms.verify(card(1), &tx("A"), &bad, &clock),
        Err(SmsError::Wrong {
            remaining_attempts: 1
        })
    );
    assert_eq!(
        sms.verify(card(1), &tx("A"), &bad, &clock),
        Err(SmsError::TooManyAttempts)
    );
    assert_eq!(
        sms.verify(card(1), &tx("A"), sent.code(), &clock),
        Err(SmsError::NoPendingCode),
        "the code is void"
    );
}

#[test]
fn requests_are_rate_limited_per_card() {
    let config = SmsConfig {
        max_requests: 2,
        rate_window_seconds: 300,
        ..Default::default()
    };
    let sms = SmsService::new(config).unwrap();
    let clock = ManualClock::from_unix_seconds(T);
    sms.request(card(1), &tx("A"), &clock).unwrap();
    clock.advance_seconds(100);
    sms.request(card(1), &tx("B"), &clock).unwrap();
    assert_eq!(
        sms.request(card(1), &tx("C"), &clock).unwrap_err(),
        SmsError::RateLimited {
            retry_after_seconds: 200
        }
    );
    sms.request(card(2), &tx("C"), &clock).unwrap();
    clock.advance_seconds(200);
    sms.request(card(1), &tx("C"), &clock).unwrap();
}

#[test]
fn messages_name_amount_merchant_and_validity() {
    let sms = SmsService::new(SmsConfig {
        digits: 8,
        ..Default::default()
    })
    .unwrap();
    let sent = sms
        .request(card(1), &tx("A"), &FixedClock::from_unix_seconds(T))
        .unwrap();
    let persian_code = dynpin::text::to_persian_digits(sent.code());
    assert!(sent.text_fa.contains(&persian_code), "{}", sent.text_fa);
    assert!(
        sent.text_fa.contains("۱۲٬۵۰۰٬۰۰۰ ریال")
            && sent.text_fa.contains("دیجی‌کالا")
            && sent.text_fa.contains("۱۲۰ ثانیه")
    );
    assert!(
        !sent.text_fa.chars().any(|c| c.is_ascii_digit()),
        "Persian text uses Persian digits: {}",
        sent.text_fa
    );
    assert!(
        sent.text_en.contains(sent.code())
            && sent.text_en.contains("12,500,000 rials")
            && sent.text_en.contains("120 seconds")
    );
    assert!(
        !format!("{sent:?} {sms:?}").contains(sent.code()),
        "Debug hides the code"
    );
    assert_eq!(group_thousands(0, false), "0");
    assert_eq!(group_thousands(1_000, true), "۱٬۰۰۰");
    assert_eq!(group_thousands(123_456_789, false), "123,456,789");
}

#[test]
fn settings_are_validated() {
    for config in [
        SmsConfig {
            digits: 4,
            ..Default::default()
        },
        SmsConfig {
            digits: 9,
            ..Default::default()
        },
        SmsConfig {
            validity_seconds: 0,
            ..Default::default()
        },
        SmsConfig {
            max_attempts: 0,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            SmsService::new(config),
            Err(SmsError::InvalidConfig(_))
        ));
    }
}

#[test]
fn mellat_style_last_four_digits_requests() {
    let sms = SmsService::new(SmsConfig {
        max_requests: 4,
        ..Default::default()
    })
    .unwrap();
    let clock = FixedClock::from_unix_seconds(T);
    sms.register_phone(
        "+98 912 000 1111",
        card(1),
        LastFour::parse("4321").unwrap(),
    );
    sms.register_phone("09120001111", card(2), LastFour::parse("8765").unwrap());
    sms.register_phone("09120002222", card(3), LastFour::parse("1111").unwrap());
    sms.register_phone("09120002222", card(4), LastFour::parse("1111").unwrap());

    for body in ["4321", " ۴۳۲۱ ", "٤٣٢١", "43 21"] {
        let reply = sms.answer_sms("۰۹۱۲۰۰۰۱۱۱۱", body, &clock);
        assert_eq!(reply.issued, Some(card(1)), "{body:?}");
        let code: String = reply
            .text_en
            .split(": ")
            .nth(1)
            .unwrap()
            .chars()
            .take(7)
            .collect();
        assert_eq!(code.len(), 7);
        assert!(
            reply
                .text_fa
                .contains(&dynpin::text::to_persian_digits(&code))
        );
        sms.verify_card_code(card(1), &code, &clock).unwrap();
    }
    let limited = sms.answer_sms("09120001111", "4321", &clock);
    assert_eq!(limited.issued, None);
    assert!(
        limited.text_en.contains("Too many requests"),
        "{}",
        limited.text_en
    );
    let unknown_digits = sms.answer_sms("09120001111", "0000", &clock);
    assert_eq!(unknown_digits.issued, None);
    assert!(unknown_digits.text_en.contains("No card"));
    assert_eq!(
        sms.answer_sms("09129999999", "4321", &clock).issued,
        None,
        "unregistered phone"
    );
    let ambiguous = sms.answer_sms("09120002222", "1111", &clock);
    assert_eq!(ambiguous.issued, None);
    assert!(ambiguous.text_en.contains("Several cards"));
    for malformed in ["", "432", "43210", "card 4321", "۴۳۲a"] {
        let reply = sms.answer_sms("09120001111", malformed, &clock);
        assert_eq!(reply.issued, None, "{malformed:?}");
        assert!(reply.text_en.contains("last four digits"), "{malformed:?}");
    }
}
