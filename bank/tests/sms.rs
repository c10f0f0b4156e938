//! Harim-style SMS codes and the Mellat-style "last four digits" service, on
//! a store whose clock the tests move.

use std::sync::Arc;

use dynpin::card::{CardId, CardRef, LastFour};
use dynpin::clock::FixedClock;
use dynpin::kdf::KdfParams;
use dynpin::text::group_thousands;
use dynpin_bank::sms::{SmsConfig, SmsError, SmsKey, SmsService, Transaction, normalize_phone};
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::{CardRequest, Issuer};

use crate::support::{StoreTime, TestStore, instance};

const T: u64 = 1_800_000_000;

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

/// A service on a store whose clock starts at `T`.
fn service(config: SmsConfig) -> (SmsService<MemoryStore>, StoreTime) {
    let time = StoreTime::at(T);
    let sms = SmsService::new(
        config,
        SmsKey::random("sms-test").unwrap(),
        Arc::new(time.store()),
    )
    .unwrap();
    (sms, time)
}

#[tokio::test]
async fn a_code_is_valid_for_120_seconds_of_the_stores_clock() {
    let (sms, time) = service(SmsConfig::default());
    let sent = sms.request(card(1), &tx("A")).await.unwrap();
    assert_eq!(sent.code().len(), 6);
    assert_eq!(sent.expires_at, T + 120);
    time.advance(119);
    sms.verify(card(1), &tx("A"), sent.code()).await.unwrap();

    let again = sms.request(card(1), &tx("B")).await.unwrap();
    assert_eq!(again.expires_at, T + 119 + 120);
    time.advance(120);
    assert_eq!(
        sms.verify(card(1), &tx("B"), again.code()).await,
        Err(SmsError::Expired)
    );
    assert_eq!(
        sms.verify(card(1), &tx("B"), again.code()).await,
        Err(SmsError::NoPendingCode),
        "an expired code is void"
    );
}

#[tokio::test]
async fn single_use_and_bound_to_the_transaction() {
    let (sms, _time) = service(SmsConfig::default());
    let sent = sms.request(card(1), &tx("A")).await.unwrap();
    let other_amount = Transaction {
        amount_rials: 12_500_001,
        ..tx("A")
    };
    assert_eq!(
        sms.verify(card(1), &other_amount, sent.code()).await,
        Err(SmsError::Wrong {
            remaining_attempts: 2
        })
    );
    assert_eq!(
        sms.verify(card(2), &tx("A"), sent.code()).await,
        Err(SmsError::NoPendingCode)
    );
    assert_eq!(
        sms.verify(card(1), &tx("B"), sent.code()).await,
        Err(SmsError::NoPendingCode)
    );
    sms.verify(card(1), &tx("A"), sent.code()).await.unwrap();
    assert_eq!(
        sms.verify(card(1), &tx("A"), sent.code()).await,
        Err(SmsError::NoPendingCode)
    );
}

#[tokio::test]
async fn a_new_request_replaces_the_pending_code() {
    let (sms, _time) = service(SmsConfig::default());
    let first = sms.request(card(1), &tx("A")).await.unwrap();
    let second = sms.request(card(1), &tx("A")).await.unwrap();
    if first.code() != second.code() {
        assert!(matches!(
            sms.verify(card(1), &tx("A"), first.code()).await,
            Err(SmsError::Wrong { .. })
        ));
    }
    sms.verify(card(1), &tx("A"), second.code()).await.unwrap();
}

#[tokio::test]
async fn three_attempts_at_most() {
    let (sms, _time) = service(SmsConfig::default());
    let sent = sms.request(card(1), &tx("A")).await.unwrap();
    let bad = wrong(sent.code());
    assert_eq!(
        sms.verify(card(1), &tx("A"), &bad).await,
        Err(SmsError::Wrong {
            remaining_attempts: 2
        })
    );
    assert!(
        matches!(
            sms.verify(card(1), &tx("A"), "12").await,
            Err(SmsError::Malformed(_))
        ),
        "not counted"
    );
    assert_eq!(
        sms.verify(card(1), &tx("A"), &bad).await,
        Err(SmsError::Wrong {
            remaining_attempts: 1
        })
    );
    assert_eq!(
        sms.verify(card(1), &tx("A"), &bad).await,
        Err(SmsError::TooManyAttempts)
    );
    assert_eq!(
        sms.verify(card(1), &tx("A"), sent.code()).await,
        Err(SmsError::NoPendingCode),
        "the code is void"
    );
}

#[tokio::test]
async fn requests_are_rate_limited_per_card_on_the_stores_clock() {
    let config = SmsConfig {
        max_requests: 2,
        rate_window_seconds: 300,
        ..Default::default()
    };
    let (sms, time) = service(config);
    sms.request(card(1), &tx("A")).await.unwrap();
    time.advance(100);
    sms.request(card(1), &tx("B")).await.unwrap();
    assert_eq!(
        sms.request(card(1), &tx("C")).await.unwrap_err(),
        SmsError::RateLimited {
            retry_after_seconds: 200
        }
    );
    sms.request(card(2), &tx("C")).await.unwrap();
    time.advance(199);
    assert_eq!(
        sms.request(card(1), &tx("C")).await.unwrap_err(),
        SmsError::RateLimited {
            retry_after_seconds: 1
        }
    );
    time.advance(1);
    sms.request(card(1), &tx("C")).await.unwrap();
}

#[tokio::test]
async fn messages_name_amount_merchant_and_validity() {
    let (sms, _time) = service(SmsConfig {
        digits: 8,
        ..Default::default()
    });
    let sent = sms.request(card(1), &tx("A")).await.unwrap();
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

#[tokio::test]
async fn settings_are_validated() {
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
        SmsConfig {
            max_requests: 0,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            SmsService::new(
                config,
                SmsKey::random("sms-test").unwrap(),
                Arc::new(MemoryStore::new())
            ),
            Err(SmsError::InvalidConfig(_))
        ));
    }
    assert!(matches!(
        SmsKey::new("short", &[7; 31]),
        Err(SmsError::InvalidConfig(_))
    ));
    assert_eq!(SmsKey::new("sms-2", &[7; 32]).unwrap().id(), "sms-2");
}

/// A store that cannot answer issues and accepts nothing, and says so (the
/// SMS gateway retries); the pending code survives the outage and is then
/// accepted once.
#[tokio::test]
async fn a_store_error_fails_closed() {
    let store = Arc::new(TestStore::default());
    let sms = SmsService::new(
        SmsConfig::default(),
        SmsKey::random("sms-test").unwrap(),
        Arc::clone(&store),
    )
    .unwrap();
    let sent = sms.request(card(1), &tx("A")).await.unwrap();
    store.set_failing(true);
    for typed in [sent.code().to_owned(), wrong(sent.code())] {
        assert!(
            matches!(
                sms.verify(card(1), &tx("A"), &typed).await,
                Err(SmsError::Unavailable(_))
            ),
            "{typed}"
        );
    }
    assert!(matches!(
        sms.request(card(1), &tx("B")).await,
        Err(SmsError::Unavailable(_))
    ));
    assert!(matches!(
        sms.answer_sms("09120001111", "4321").await,
        Err(SmsError::Unavailable(_))
    ));
    store.set_failing(false);
    sms.verify(card(1), &tx("A"), sent.code()).await.unwrap();
    assert_eq!(
        sms.verify(card(1), &tx("A"), sent.code()).await,
        Err(SmsError::NoPendingCode)
    );
}

/// The code's digits of a Mellat-style reply ("…: 1234567\n…").
fn reply_code(text_en: &str) -> String {
    text_en
        .split(": ")
        .nth(1)
        .unwrap()
        .chars()
        .take(7)
        .collect()
}

#[tokio::test]
async fn mellat_style_last_four_digits_requests() {
    // The phone registry is the cards' enrolled phones.
    let time = StoreTime::at(T);
    let store = Arc::new(time.store());
    let bank = instance(Default::default(), &store);
    let issuer = Issuer::new().with_kdf(KdfParams::MINIMUM).unwrap();
    let enroll = async |last_four: &str, phone: &str| {
        let card_ref = CardRef::new(610_433, LastFour::parse(last_four).unwrap()).unwrap();
        let issued = issuer
            .provision(
                &CardRequest::new(card_ref),
                &FixedClock::from_unix_seconds(T as i64),
            )
            .unwrap();
        bank.enroll(&issued, Some(phone)).await.unwrap()
    };
    let mine = enroll("4321", "+98 912 000 1111").await;
    enroll("8765", "09120001111").await;
    enroll("1111", "09120002222").await;
    enroll("1111", "09120002222").await;
    let sms = SmsService::new(
        SmsConfig {
            max_requests: 4,
            ..Default::default()
        },
        SmsKey::random("sms-test").unwrap(),
        Arc::clone(&store),
    )
    .unwrap();

    for body in ["4321", " ۴۳۲۱ ", "٤٣٢١", "43 21"] {
        let reply = sms.answer_sms("۰۹۱۲۰۰۰۱۱۱۱", body).await.unwrap();
        assert_eq!(reply.issued, Some(mine), "{body:?}");
        let code = reply_code(&reply.text_en);
        assert_eq!(code.len(), 7);
        assert!(
            reply
                .text_fa
                .contains(&dynpin::text::to_persian_digits(&code))
        );
        assert!(
            !format!("{reply:?}").contains(&code),
            "Debug hides the code"
        );
        sms.verify_card_code(mine, &code).await.unwrap();
        assert_eq!(
            sms.verify_card_code(mine, &code).await,
            Err(SmsError::NoPendingCode),
            "once"
        );
    }
    let limited = sms.answer_sms("09120001111", "4321").await.unwrap();
    assert_eq!(limited.issued, None);
    assert!(
        limited.text_en.contains("Too many requests"),
        "{}",
        limited.text_en
    );
    let unknown_digits = sms.answer_sms("09120001111", "0000").await.unwrap();
    assert_eq!(unknown_digits.issued, None);
    assert!(unknown_digits.text_en.contains("No card"));
    assert_eq!(
        sms.answer_sms("09129999999", "4321").await.unwrap().issued,
        None,
        "unregistered phone"
    );
    let ambiguous = sms.answer_sms("09120002222", "1111").await.unwrap();
    assert_eq!(ambiguous.issued, None);
    assert!(ambiguous.text_en.contains("Several cards"));
    for malformed in ["", "432", "43210", "card 4321", "۴۳۲a"] {
        let reply = sms.answer_sms("09120001111", malformed).await.unwrap();
        assert_eq!(reply.issued, None, "{malformed:?}");
        assert!(reply.text_en.contains("last four digits"), "{malformed:?}");
    }

    // The card code expires by the store's clock, and the window reopens.
    time.advance(600);
    let reply = sms.answer_sms("09120001111", "4321").await.unwrap();
    assert_eq!(reply.issued, Some(mine));
    time.advance(120);
    assert_eq!(
        sms.verify_card_code(mine, &reply_code(&reply.text_en))
            .await,
        Err(SmsError::Expired)
    );
}

#[test]
fn phone_numbers_compare_by_their_digits_in_any_spelling() {
    // How an Iranian mobile number is typed: national, international with
    // `+` or `00`, without the trunk zero, in Persian or Arabic-Indic digits.
    for spelling in [
        "09120001111",
        "0912 000 1111",
        "(0912) 000-1111",
        "+98 912 000 1111",
        "+989120001111",
        "98 912 000 1111",
        "0098 912 000 1111",
        "00989120001111",
        "9120001111",
        "912 000 1111",
        "۰۹۱۲۰۰۰۱۱۱۱",
        "+۹۸ ۹۱۲ ۰۰۰ ۱۱۱۱",
        "۰۰۹۸ ۹۱۲ ۰۰۰ ۱۱۱۱",
        "۹۱۲۰۰۰۱۱۱۱",
        "٠٩١٢٠٠٠١١١١",
    ] {
        assert_eq!(normalize_phone(spelling), "09120001111", "{spelling:?}");
    }
    // Other numbers stay other numbers.
    assert_eq!(normalize_phone("09120001112"), "09120001112");
    assert_eq!(normalize_phone("+44 20 7946 0958"), "442079460958");
    assert_eq!(normalize_phone("0098 21 1234 5678"), "02112345678");
}

/// A suspended card (a possible clone, fraud, a lost phone) gets no SMS
/// code, and a code sent before the suspension no longer verifies; lifted,
/// it works again.
#[tokio::test]
async fn a_suspended_card_gets_and_passes_no_sms_code() {
    use dynpin::card::{Card, CardRef, LastFour, PinPolicy};
    use dynpin::secret::SecretBytes;
    use dynpin_bank::keys::KeyFile;
    use dynpin_bank::sms::{SmsKey, SmsService, Transaction};
    use dynpin_bank::store::memory::MemoryStore;
    use dynpin_bank::verifier::{OperatorAuthorization, Verifier};

    let store = Arc::new(MemoryStore::new());
    let verifier = Verifier::new(
        Default::default(),
        Arc::clone(&store),
        Arc::new(KeyFile::from_bytes("kek", [3; 32])),
    )
    .unwrap();
    let card_ref = CardRef::new(610_433, LastFour::parse("1234").unwrap()).unwrap();
    let card = Card::bank_card(
        dynpin::card::CardId::random().unwrap(),
        "c",
        card_ref,
        SecretBytes::from(vec![4; 20]),
        None,
        Some(PinPolicy::second_pin()),
    )
    .unwrap();
    let id = verifier.register(&card).await.unwrap();
    let sms = SmsService::new(
        Default::default(),
        SmsKey::random("s").unwrap(),
        Arc::clone(&store),
    )
    .unwrap();
    let tx = Transaction {
        id: "T-9".into(),
        amount_rials: 1_000,
        merchant: "M".into(),
    };
    let sent = sms.request(id, &tx).await.unwrap();
    let operator = OperatorAuthorization::new("op-1", "lost phone").unwrap();
    verifier.operator_suspend(&operator, id).await.unwrap();
    assert_eq!(
        sms.verify(id, &tx, sent.code()).await,
        Err(SmsError::Suspended)
    );
    assert_eq!(sms.request(id, &tx).await.unwrap_err(), SmsError::Suspended);
    verifier
        .operator_lift_suspension(&operator, id)
        .await
        .unwrap();
    sms.verify(id, &tx, sent.code()).await.unwrap();
}
