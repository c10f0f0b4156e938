//! The bank's verifier: window, single use under concurrency, throttling,
//! drift, amount-bound codes; on a shared store: fail closed, sealed seeds,
//! several instances, the audit log.

use std::sync::Arc;

use dynpin::card::{Card, CardError, CardId, CardRef, LastFour, PinPolicy};
use dynpin::clock::{FixedClock, ManualClock};
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use dynpin_bank::keys::KeyFile;
use dynpin_bank::sms::{SmsKey, SmsService};
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::store::{CardStatus, Store};
use dynpin_bank::verifier::{
    Accepted, OperatorAuthorization, Verifier, VerifierConfig, VerifyError,
};

use crate::support::{self, KEK_BYTES, KEK_ID, TestStore, instance, kek, leaks, verifier};

const T: i64 = 1_800_000_000; // a multiple of 60
const SEED: [u8; 20] = [0x5a; 20];

fn card_with(first: Option<PinPolicy>, second: Option<PinPolicy>) -> Card {
    let card_ref = CardRef::new(610_433, LastFour::parse("1234").unwrap()).unwrap();
    Card::bank_card(
        CardId::random().unwrap(),
        "c",
        card_ref,
        SecretBytes::from(SEED.to_vec()),
        first,
        second,
    )
    .unwrap()
}

fn card() -> Card {
    card_with(Some(PinPolicy::first_pin()), Some(PinPolicy::second_pin()))
}

fn operator() -> OperatorAuthorization {
    OperatorAuthorization::new("operator-7", "customer called: PINs refused").unwrap()
}

fn at(seconds: i64) -> FixedClock {
    FixedClock::from_unix_seconds(seconds)
}

fn code(card: &Card, kind: PinKind, seconds: i64) -> String {
    card.pin(kind, &at(seconds)).unwrap().digits()
}

/// An eight-digit code that is not `right`.
fn wrong(right: &str) -> String {
    format!("{:08}", (right.parse::<u32>().unwrap() + 1) % 100_000_000)
}

/// The bank registers its own copy (active at once); the phone keeps the original.
async fn setup(config: VerifierConfig) -> (Card, Verifier<MemoryStore>, CardId) {
    let phone = card();
    let verifier = verifier(config);
    let id = verifier.register(&phone).await.unwrap();
    (phone, verifier, id)
}

/// The card's PIN attempts since its last success, as the store keeps them.
async fn attempts<S: Store>(v: &Verifier<S>, id: CardId) -> u32 {
    v.store().state(id).await.unwrap().unwrap().attempts
}

#[tokio::test]
async fn default_window_is_this_step_and_the_one_before() {
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    let now = at(T + 30);
    assert_eq!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T - 60),
            &now
        )
        .await
        .unwrap()
        .offset,
        -1
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
            .await
            .unwrap(),
        Accepted {
            step: (T / 60) as u64,
            offset: 0
        }
    );
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    assert_eq!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T - 120),
            &now
        )
        .await,
        Err(VerifyError::Rejected {
            remaining_attempts: 9
        })
    );
    assert_eq!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T + 60),
            &now
        )
        .await,
        Err(VerifyError::Rejected {
            remaining_attempts: 8
        })
    );
}

#[tokio::test]
async fn window_is_configurable_up_to_two_steps() {
    let config = VerifierConfig {
        behind: 2,
        ahead: 2,
        ..Default::default()
    };
    let (phone, v, id) = setup(config).await;
    for (offset, expected) in [(-2i64, -2), (2, 2)] {
        let typed = code(&phone, PinKind::First, T + offset * 60);
        assert_eq!(
            v.verify(id, PinKind::First, &typed, &at(T))
                .await
                .unwrap()
                .offset,
            expected
        );
    }
    for bad in [
        VerifierConfig {
            behind: 3,
            ..Default::default()
        },
        VerifierConfig {
            ahead: 3,
            ..Default::default()
        },
        VerifierConfig {
            failure_limit: 0,
            ..Default::default()
        },
        VerifierConfig {
            failure_limit: 101,
            ..Default::default()
        },
        VerifierConfig {
            max_drift_seconds: 0,
            ..Default::default()
        },
        VerifierConfig {
            max_drift_seconds: 3601,
            ..Default::default()
        },
        VerifierConfig {
            confirmation_seconds: 59,
            ..Default::default()
        },
        VerifierConfig {
            confirmation_attempts: 0,
            ..Default::default()
        },
    ] {
        assert!(
            matches!(
                Verifier::new(bad, Arc::new(MemoryStore::new()), kek()),
                Err(VerifyError::InvalidConfig(_))
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn a_step_is_accepted_once() {
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    let now = at(T + 10);
    let current = code(&phone, PinKind::Second, T);
    let previous = code(&phone, PinKind::Second, T - 60);
    v.verify(id, PinKind::Second, &current, &now).await.unwrap();
    assert_eq!(
        v.verify(id, PinKind::Second, &current, &now).await,
        Err(VerifyError::Replayed {
            remaining_attempts: 9
        })
    );
    // An older step after a newer one was used is a replay too.
    assert_eq!(
        v.verify(id, PinKind::Second, &previous, &now).await,
        Err(VerifyError::Replayed {
            remaining_attempts: 8
        })
    );
    // The first PIN is a separate sequence.
    assert!(
        v.verify(id, PinKind::First, &code(&phone, PinKind::First, T), &now)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_card_is_registered_once() {
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    assert_eq!(id, phone.id());
    assert_eq!(v.register(&phone).await, Err(VerifyError::DuplicateCard));
    let state = v.store().state(id).await.unwrap().unwrap();
    assert_eq!(
        state.status,
        CardStatus::Active,
        "registered cards need no confirmation"
    );
}

/// 1,000 submissions of the right code at once: exactly one is accepted;
/// the rest are replays, counted, until the card locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_thousand_tasks_one_success() {
    let (phone, v, id) = setup(VerifierConfig {
        failure_limit: 100,
        ..Default::default()
    })
    .await;
    let v = Arc::new(v);
    let typed = code(&phone, PinKind::Second, T);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (v, typed) = (Arc::clone(&v), typed.clone());
            tokio::spawn(async move { v.verify(id, PinKind::Second, &typed, &at(T + 5)).await })
        })
        .collect();
    let (mut successes, mut replays, mut locked) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => successes += 1,
            Err(VerifyError::Replayed { .. }) => replays += 1,
            Err(VerifyError::Locked) => locked += 1,
            other => panic!("the right code answered {other:?}"),
        }
    }
    assert_eq!(successes, 1);
    // The success is recorded first; the next 99 replays leave attempts, the 100th locks.
    assert_eq!(replays, 99);
    assert_eq!(locked, 900);
}

#[tokio::test]
async fn when_a_code_matches_a_used_older_step_and_a_newer_one_the_newer_is_taken() {
    // 4-digit codes collide between neighbouring steps about once in 10,000 pairs: find one.
    let phone = card_with(
        Some(PinPolicy {
            algorithm: Algorithm::Sha1,
            digits: 4,
            period: 60,
        }),
        None,
    );
    let step = (T / 60..T / 60 + 200_000)
        .find(|s| {
            code(&phone, PinKind::First, s * 60) == code(&phone, PinKind::First, (s + 1) * 60)
        })
        .expect("a collision within 200,000 steps");
    let typed = code(&phone, PinKind::First, step * 60);
    let v = verifier(VerifierConfig {
        behind: 2,
        ..Default::default()
    });
    let id = v.register(&phone).await.unwrap();
    // The older step is used first…
    assert_eq!(
        v.verify(id, PinKind::First, &typed, &at(step * 60))
            .await
            .unwrap()
            .step as i64,
        step
    );
    // …then the same digits, one step later, match both: the newer step is taken.
    assert_eq!(
        v.verify(id, PinKind::First, &typed, &at((step + 1) * 60))
            .await
            .unwrap()
            .step as i64,
        step + 1
    );
}

#[tokio::test]
async fn throttling_locks_after_the_limit_and_a_success_resets() {
    let (phone, v, id) = setup(VerifierConfig {
        failure_limit: 3,
        ..Default::default()
    })
    .await;
    let now = at(T);
    let wrong = wrong(&code(&phone, PinKind::Second, T));
    assert_eq!(
        v.verify(id, PinKind::Second, &wrong, &now).await,
        Err(VerifyError::Rejected {
            remaining_attempts: 2
        })
    );
    // Malformed input is a typing slip, not a guess: not counted.
    assert!(matches!(
        v.verify(id, PinKind::Second, "12", &now).await,
        Err(VerifyError::Malformed(_))
    ));
    assert_eq!(
        v.verify(id, PinKind::Second, &wrong, &now).await,
        Err(VerifyError::Rejected {
            remaining_attempts: 1
        })
    );
    // A success resets the count.
    v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
        .await
        .unwrap();
    assert_eq!(attempts(&v, id).await, 0);
    let later = at(T + 60);
    for expected in [
        Err(VerifyError::Rejected {
            remaining_attempts: 2,
        }),
        Err(VerifyError::Rejected {
            remaining_attempts: 1,
        }),
        Err(VerifyError::Locked),
        Err(VerifyError::Locked),
    ] {
        assert_eq!(
            v.verify(id, PinKind::Second, &wrong, &later).await,
            expected
        );
    }
    assert_eq!(attempts(&v, id).await, 3, "nothing counts once locked");
    // Locked: even the right code is refused, for every PIN of the card…
    let right = code(&phone, PinKind::Second, T + 60);
    assert_eq!(
        v.verify(id, PinKind::Second, &right, &later).await,
        Err(VerifyError::Locked)
    );
    assert_eq!(
        v.verify(
            id,
            PinKind::First,
            &code(&phone, PinKind::First, T + 60),
            &later
        )
        .await,
        Err(VerifyError::Locked)
    );
    // …and a malformed one is still only a slip.
    assert!(matches!(
        v.verify(id, PinKind::Second, "12", &later).await,
        Err(VerifyError::Malformed(_))
    ));
    // Only an operator unlocks it; the right code was never used, so it now counts.
    v.operator_reset(&operator(), id).await.unwrap();
    assert_eq!(attempts(&v, id).await, 0);
    assert!(v.verify(id, PinKind::Second, &right, &later).await.is_ok());
    assert_eq!(
        v.operator_reset(&operator(), CardId::from_bytes([9; 16]))
            .await,
        Err(VerifyError::UnknownCard)
    );
}

#[tokio::test]
async fn drift_is_resynchronised_from_two_consecutive_codes() {
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    let bank_now = ManualClock::from_unix_seconds(T);
    let fast = 5 * 60; // the phone runs five minutes fast
    let c1 = code(&phone, PinKind::Second, T + fast);
    let c2 = code(&phone, PinKind::Second, T + fast + 60);
    assert_eq!(
        v.verify(id, PinKind::Second, &c1, &bank_now).await,
        Err(VerifyError::Rejected {
            remaining_attempts: 9
        })
    );
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &c1, &c2, &bank_now)
            .await
            .unwrap(),
        6 * 60,
        "drift in seconds"
    );
    let state = v.store().state(id).await.unwrap().unwrap();
    assert_eq!(state.attempts, 0, "a successful resync clears failures");
    assert_eq!(state.drift, [0, 6 * 60], "only the second PIN's drift");
    assert_eq!(state.last_step[1], Some((T + fast + 60) as u64 / 60));
    // The codes used for resync cannot be replayed.
    assert_eq!(
        v.verify(id, PinKind::Second, &c2, &bank_now).await,
        Err(VerifyError::Replayed {
            remaining_attempts: 9
        })
    );
    bank_now.advance_seconds(120);
    let next = code(&phone, PinKind::Second, T + 120 + fast);
    assert!(
        v.verify(id, PinKind::Second, &next, &bank_now)
            .await
            .is_ok(),
        "drift is applied"
    );
    // Codes out of order, or too far away, do not resynchronise.
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &c2, &c1, &bank_now)
            .await,
        Err(VerifyError::ResyncFailed)
    );
    let far1 = code(&phone, PinKind::Second, T + 3_600);
    let far2 = code(&phone, PinKind::Second, T + 3_660);
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &far1, &far2, &bank_now)
            .await,
        Err(VerifyError::ResyncFailed)
    );
    assert!(matches!(
        v.operator_resync(&operator(), id, PinKind::Second, "12", &far2, &bank_now)
            .await,
        Err(VerifyError::Malformed(_))
    ));
}

#[tokio::test]
async fn amount_bound_codes_verify_only_for_their_transaction() {
    let (mut phone, v, id) = setup(VerifierConfig::default()).await;
    phone.set_amount_ceiling(Some(2_000_000_000));
    let clock = at(T + 20);
    let pin = phone
        .amount_bound_code(1_500_000_000, "6037991234567893", &clock)
        .unwrap()
        .digits();
    assert_eq!(
        v.verify_amount_bound(id, &pin, 1_500_000_001, "6037991234567893", &clock)
            .await,
        Err(VerifyError::Rejected {
            remaining_attempts: 9
        })
    );
    assert_eq!(
        v.verify_amount_bound(id, &pin, 1_500_000_000, "6037991234567894", &clock)
            .await,
        Err(VerifyError::Rejected {
            remaining_attempts: 8
        })
    );
    assert!(
        v.verify_amount_bound(id, &pin, 1_500_000_000, "۶۰۳۷ ۹۹۱۲ ۳۴۵۶ ۷۸۹۳", &clock)
            .await
            .is_ok()
    );
    assert_eq!(
        v.verify_amount_bound(id, &pin, 1_500_000_000, "6037991234567893", &clock)
            .await,
        Err(VerifyError::Replayed {
            remaining_attempts: 9
        })
    );
    assert_eq!(
        phone
            .amount_bound_code(2_000_000_001, "x", &clock)
            .unwrap_err(),
        CardError::AmountAboveCeiling {
            ceiling: 2_000_000_000
        }
    );
}

#[tokio::test]
async fn unknown_cards_and_missing_pins_are_typed() {
    let (_, v, _) = setup(VerifierConfig::default()).await;
    let stranger = card_with(Some(PinPolicy::first_pin()), None);
    assert_eq!(
        v.verify(stranger.id(), PinKind::First, "1234", &at(T))
            .await,
        Err(VerifyError::UnknownCard)
    );
    let id = v.register(&stranger).await.unwrap();
    assert_eq!(
        v.verify(id, PinKind::Second, "12345678", &at(T)).await,
        Err(VerifyError::NoSuchPin(PinKind::Second))
    );
    assert!(matches!(
        v.verify(id, PinKind::First, "1234", &at(-1)).await,
        Err(VerifyError::Card(_))
    ));
    // A registered card was never enrolled for a confirmation.
    assert_eq!(
        v.confirm(id, "123456", &at(T)).await,
        Err(VerifyError::UnknownCard)
    );
}

/// 1,000 wrong guesses at once, all in flight before any is counted: exactly
/// `failure_limit` are counted, the rest refused as locked, and then even the
/// right code is refused as locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_guesses_counts_exactly_the_limit() {
    const GUESSES: usize = 1000;
    let config = VerifierConfig::default();
    let limit = config.failure_limit;
    let phone = card();
    let store = Arc::new(TestStore::all_in_flight(GUESSES));
    let v = Arc::new(instance(config, &store));
    let id = v.register(&phone).await.unwrap();
    let window: Vec<String> = [T - 60, T]
        .iter()
        .map(|&t| code(&phone, PinKind::Second, t))
        .collect();
    let guesses: Vec<String> = (0u32..)
        .map(|i| format!("{:08}", i * 7919))
        .filter(|g| !window.contains(g))
        .take(GUESSES)
        .collect();
    let tasks: Vec<_> = guesses
        .into_iter()
        .map(|guess| {
            let v = Arc::clone(&v);
            tokio::spawn(async move { v.verify(id, PinKind::Second, &guess, &at(T + 5)).await })
        })
        .collect();
    let (mut rejected, mut locked) = (0u32, 0u32);
    for task in tasks {
        match task.await.unwrap() {
            Err(VerifyError::Rejected { .. }) => rejected += 1,
            Err(VerifyError::Locked) => locked += 1,
            other => panic!("a wrong guess answered {other:?}"),
        }
    }
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(store.failed.load(SeqCst), limit, "guesses counted");
    assert_eq!(store.locked.load(SeqCst), GUESSES as u32 - limit);
    assert_eq!(attempts(&v, id).await, limit);
    // The last counted guess uses up the attempts, so it answers "locked".
    assert_eq!(rejected, limit - 1);
    assert_eq!(locked, GUESSES as u32 - (limit - 1));
    assert_eq!(
        v.verify(id, PinKind::Second, &window[1], &at(T + 5)).await,
        Err(VerifyError::Locked)
    );
    let trail = v.store().audit_trail(id, 100).await.unwrap();
    let locks: Vec<_> = trail.iter().filter(|e| e.event == "locked").collect();
    assert_eq!(locks.len(), 1, "the lock is audited once: {trail:?}");
    assert_eq!(locks[0].actor, "customer");
}

/// A customer paying two merchants within one minute gets two amount-bound
/// codes: each verifies once, and only once.
#[tokio::test]
async fn two_amount_bound_payments_in_one_minute_each_verify_once() {
    let (mut phone, v, id) = setup(VerifierConfig::default()).await;
    phone.set_amount_ceiling(Some(2_000_000_000));
    let (first_at, second_at) = (at(T + 10), at(T + 40));
    let books = phone
        .amount_bound_code(1_500_000, "Digikala", &first_at)
        .unwrap()
        .digits();
    let taxi = phone
        .amount_bound_code(275_000, "Snapp", &second_at)
        .unwrap()
        .digits();
    v.verify_amount_bound(id, &books, 1_500_000, "Digikala", &first_at)
        .await
        .unwrap();
    v.verify_amount_bound(id, &taxi, 275_000, "Snapp", &second_at)
        .await
        .unwrap();
    for (pin, amount, payee) in [(&books, 1_500_000, "Digikala"), (&taxi, 275_000, "Snapp")] {
        assert!(
            matches!(
                v.verify_amount_bound(id, pin, amount, payee, &second_at)
                    .await,
                Err(VerifyError::Replayed { .. })
            ),
            "{payee} a second time"
        );
    }
}

/// The store remembers amount-bound transactions for a bounded horizon; a code
/// older than that behind the newest accepted one is refused, never forgotten
/// into a replay.
#[tokio::test]
async fn amount_bound_codes_beyond_the_horizon_are_refused() {
    use dynpin_bank::verifier::TRANSACTION_HORIZON_STEPS;
    let (mut phone, v, id) = setup(VerifierConfig::default()).await;
    phone.set_amount_ceiling(Some(2_000_000_000));
    let late = at(T + 60 * TRANSACTION_HORIZON_STEPS as i64);
    let pin = phone.amount_bound_code(1_000, "Snapp", &late).unwrap();
    v.verify_amount_bound(id, &pin.digits(), 1_000, "Snapp", &late)
        .await
        .unwrap();
    // A clock set back by the horizon: a fresh transaction's code is still refused.
    let early = at(T);
    let old = phone.amount_bound_code(2_000, "Digikala", &early).unwrap();
    assert!(matches!(
        v.verify_amount_bound(id, &old.digits(), 2_000, "Digikala", &early)
            .await,
        Err(VerifyError::Replayed { .. })
    ));
    // One step inside the horizon it is accepted.
    let inside = at(T + 60);
    let recent = phone.amount_bound_code(2_000, "Digikala", &inside).unwrap();
    v.verify_amount_bound(id, &recent.digits(), 2_000, "Digikala", &inside)
        .await
        .unwrap();
}

/// Two codes a phishing page collected five minutes ago must not move the
/// window back and lock out the real phone. Only an operator can resync at all
/// (it needs an [`OperatorAuthorization`]), and not to codes at or before the
/// last one the phone used.
#[tokio::test]
async fn two_past_consecutive_codes_cannot_move_the_window_back() {
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    let now = at(T);
    let phished = (
        code(&phone, PinKind::Second, T - 300),
        code(&phone, PinKind::Second, T - 240),
    );
    // The customer paid two minutes ago.
    v.verify(
        id,
        PinKind::Second,
        &code(&phone, PinKind::Second, T - 120),
        &at(T - 120),
    )
    .await
    .unwrap();
    assert_eq!(
        v.operator_resync(
            &operator(),
            id,
            PinKind::Second,
            &phished.0,
            &phished.1,
            &now
        )
        .await,
        Err(VerifyError::ResyncFailed)
    );
    // Starting at the last accepted step is refused too: that code was used.
    assert_eq!(
        v.operator_resync(
            &operator(),
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T - 120),
            &code(&phone, PinKind::Second, T - 60),
            &now
        )
        .await,
        Err(VerifyError::ResyncFailed)
    );
    let state = v.store().state(id).await.unwrap().unwrap();
    assert_eq!(state.drift, [0, 0]);
    assert_eq!(state.last_step[1], Some((T - 120) as u64 / 60));
    assert!(
        v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
            .await
            .is_ok(),
        "the real phone's current code"
    );
    assert!(OperatorAuthorization::new("", "ticket 1").is_err());
    assert!(OperatorAuthorization::new("op-7", "\n").is_err());
    assert!(OperatorAuthorization::new("op-7", &"x".repeat(129)).is_err());
}

/// The step right after the last accepted one is the earliest a resync may
/// start from.
#[tokio::test]
async fn a_resync_may_start_right_after_the_last_accepted_step() {
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    v.verify(
        id,
        PinKind::Second,
        &code(&phone, PinKind::Second, T),
        &at(T),
    )
    .await
    .unwrap();
    let drift = v
        .operator_resync(
            &operator(),
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T + 60),
            &code(&phone, PinKind::Second, T + 120),
            &at(T + 10),
        )
        .await
        .unwrap();
    assert_eq!(drift, 120);
}

/// Drift is kept per PIN in seconds: learning it on a 30-second first PIN
/// does not shift the 60-second second PIN.
#[tokio::test]
async fn drift_learned_on_one_pin_does_not_shift_the_other() {
    let phone = card_with(
        Some(PinPolicy {
            algorithm: Algorithm::Sha256,
            digits: 6,
            period: 30,
        }),
        Some(PinPolicy::second_pin()),
    );
    let v = verifier(VerifierConfig::default());
    let id = v.register(&phone).await.unwrap();
    let now = at(T);
    // The first PIN's codes are four minutes (eight 30-second steps) ahead.
    let c1 = code(&phone, PinKind::First, T + 240);
    let c2 = code(&phone, PinKind::First, T + 270);
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::First, &c1, &c2, &now)
            .await
            .unwrap(),
        270,
        "nine 30-second steps, in seconds"
    );
    assert_eq!(v.store().state(id).await.unwrap().unwrap().drift, [270, 0]);
    assert!(
        v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
            .await
            .is_ok(),
        "the second PIN's window has not moved"
    );
    assert!(
        v.verify(
            id,
            PinKind::First,
            &code(&phone, PinKind::First, T + 300),
            &at(T + 30)
        )
        .await
        .is_ok(),
        "the first PIN's has"
    );
}

/// A store that cannot answer is never an accept, and an attempt it did not
/// record is not lost: once it is back, the same code is accepted, once.
#[tokio::test]
async fn a_store_error_fails_closed() {
    let (mut phone, store) = (card(), Arc::new(TestStore::default()));
    phone.set_amount_ceiling(Some(2_000_000_000));
    let v = instance(VerifierConfig::default(), &store);
    let id = v.register(&phone).await.unwrap();
    let now = at(T + 5);
    let right = code(&phone, PinKind::Second, T);
    let amount_bound = phone
        .amount_bound_code(50_000, "Snapp", &now)
        .unwrap()
        .digits();
    store.set_failing(true);
    for typed in [right.clone(), wrong(&right)] {
        assert!(
            matches!(
                v.verify(id, PinKind::Second, &typed, &now).await,
                Err(VerifyError::Unavailable(_))
            ),
            "{typed}"
        );
    }
    assert!(matches!(
        v.verify_amount_bound(id, &amount_bound, 50_000, "Snapp", &now)
            .await,
        Err(VerifyError::Unavailable(_))
    ));
    store.set_failing(false);
    assert_eq!(
        attempts(&v, id).await,
        0,
        "nothing counted during the outage"
    );
    v.verify(id, PinKind::Second, &right, &now).await.unwrap();
    assert_eq!(
        v.verify(id, PinKind::Second, &right, &now).await,
        Err(VerifyError::Replayed {
            remaining_attempts: 9
        })
    );
    v.verify_amount_bound(id, &amount_bound, 50_000, "Snapp", &now)
        .await
        .unwrap();
    assert!(matches!(
        v.verify_amount_bound(id, &amount_bound, 50_000, "Snapp", &now)
            .await,
        Err(VerifyError::Replayed { .. })
    ));
}

/// The store holds each card's seed sealed under the KEK, bound to the card
/// and the key's id: another KEK, another key id, an altered byte or a row
/// moved to another card are refused, never read as a card.
#[tokio::test]
async fn a_sealed_card_opens_only_under_its_kek_and_unaltered() {
    let phone = card();
    let store = Arc::new(MemoryStore::new());
    let bank = instance(VerifierConfig::default(), &store);
    let id = bank.register(&phone).await.unwrap();
    let record = store.card(id).await.unwrap().unwrap();
    assert_eq!(record.key_id, KEK_ID);
    assert!(
        !support::hex(&record.sealed).contains(&support::hex(&SEED)),
        "the seed is not stored in the clear"
    );
    let typed = code(&phone, PinKind::Second, T);
    let other_kek = |id: &str, key: [u8; 32]| {
        Verifier::new(
            VerifierConfig::default(),
            Arc::clone(&store),
            Arc::new(KeyFile::from_bytes(id, key)),
        )
        .unwrap()
    };
    for (intruder, why) in [
        (other_kek(KEK_ID, [0x11; 32]), "failed authentication"),
        (other_kek("kek-other", KEK_BYTES), "does not hold"),
    ] {
        match intruder.verify(id, PinKind::Second, &typed, &at(T)).await {
            Err(e @ VerifyError::StoredCard(_)) => assert!(e.to_string().contains(why), "{e}"),
            other => panic!("another KEK answered {other:?}"),
        }
    }
    assert_eq!(attempts(&bank, id).await, 0, "nothing was counted");

    // The row moved to another card, in a store a second instance reads.
    let copied = Arc::new(MemoryStore::new());
    let mut moved = record.clone();
    moved.id = CardId::random().unwrap();
    assert!(copied.insert_card(&moved).await.unwrap());
    let reader = instance(VerifierConfig::default(), &copied);
    match reader
        .verify(moved.id, PinKind::Second, &typed, &at(T))
        .await
    {
        Err(e @ VerifyError::StoredCard(_)) => {
            assert!(e.to_string().contains("failed authentication"), "{e}")
        }
        other => panic!("a row moved to another card answered {other:?}"),
    }
    // One flipped byte anywhere (nonce, ciphertext, tag) is refused the same way.
    for i in [0, 30, record.sealed.len() - 1] {
        let mut flipped = record.clone();
        flipped.sealed[i] ^= 0x01;
        let altered = Arc::new(MemoryStore::new());
        assert!(altered.insert_card(&flipped).await.unwrap());
        let reader = instance(VerifierConfig::default(), &altered);
        match reader.verify(id, PinKind::Second, &typed, &at(T)).await {
            Err(e @ VerifyError::StoredCard(_)) => {
                assert!(e.to_string().contains("failed authentication"), "{e}")
            }
            other => panic!("byte {i} flipped answered {other:?}"),
        }
    }
    // The unaltered row still verifies, once.
    bank.verify(id, PinKind::Second, &typed, &at(T))
        .await
        .unwrap();
}

/// Two instances of the service on one store: a code is accepted once in
/// all, and a drift one instance's operator set applies on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_store_accept_a_code_once() {
    let phone = card();
    let store = Arc::new(MemoryStore::new());
    let config = VerifierConfig {
        failure_limit: 100,
        ..Default::default()
    };
    let (a, b) = (
        Arc::new(instance(config, &store)),
        Arc::new(instance(config, &store)),
    );
    let id = a.register(&phone).await.unwrap();
    let first = code(&phone, PinKind::Second, T);
    a.verify(id, PinKind::Second, &first, &at(T)).await.unwrap();
    assert_eq!(
        b.verify(id, PinKind::Second, &first, &at(T)).await,
        Err(VerifyError::Replayed {
            remaining_attempts: 99
        })
    );
    // The next step's code, 50 times on each instance at once.
    let next = code(&phone, PinKind::Second, T + 60);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let v = Arc::clone(if i % 2 == 0 { &a } else { &b });
            let next = next.clone();
            tokio::spawn(async move { v.verify(id, PinKind::Second, &next, &at(T + 60)).await })
        })
        .collect();
    let (mut accepted, mut replayed) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(VerifyError::Replayed { .. }) => replayed += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((accepted, replayed), (1, 99));

    // The phone's clock runs five minutes fast; an operator resyncs on A.
    let fast = 300;
    let drift = a
        .operator_resync(
            &operator(),
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T + 120 + fast),
            &code(&phone, PinKind::Second, T + 180 + fast),
            &at(T + 120),
        )
        .await
        .unwrap();
    assert_eq!(drift, 360);
    // B opened the card before the resync; its next check uses the new drift.
    let drifted = code(&phone, PinKind::Second, T + 240 + fast);
    assert_eq!(
        b.verify(id, PinKind::Second, &drifted, &at(T + 240)).await,
        Ok(Accepted {
            step: (T + 240 + fast) as u64 / 60,
            offset: -1
        })
    );
    assert!(matches!(
        a.verify(id, PinKind::Second, &drifted, &at(T + 240)).await,
        Err(VerifyError::Replayed { .. })
    ));
}

/// Operators act on the record: each action is in the card's audit trail,
/// with the operator and the reason, before it takes effect.
#[tokio::test]
async fn operator_actions_are_audited() {
    let (phone, v, id) = setup(VerifierConfig {
        failure_limit: 2,
        ..Default::default()
    })
    .await;
    let now = at(T);
    let right = code(&phone, PinKind::Second, T);
    for expected in [
        VerifyError::Rejected {
            remaining_attempts: 1,
        },
        VerifyError::Locked,
    ] {
        assert_eq!(
            v.verify(id, PinKind::Second, &wrong(&right), &now).await,
            Err(expected)
        );
    }
    v.operator_reset(&operator(), id).await.unwrap();
    let suspend = OperatorAuthorization::new("operator-9", "phone reported stolen").unwrap();
    v.operator_suspend(&suspend, id).await.unwrap();
    assert_eq!(
        v.verify(id, PinKind::Second, &right, &now).await,
        Err(VerifyError::Suspended)
    );
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &right, &right, &now)
            .await,
        Err(VerifyError::Suspended)
    );
    v.operator_lift_suspension(&operator(), id).await.unwrap();
    v.verify(id, PinKind::Second, &right, &now).await.unwrap();
    v.operator_resync(
        &operator(),
        id,
        PinKind::Second,
        &code(&phone, PinKind::Second, T + 60),
        &code(&phone, PinKind::Second, T + 120),
        &now,
    )
    .await
    .unwrap();
    let trail: Vec<(String, String, String)> = v
        .store()
        .audit_trail(id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.card, Some(id));
            (e.event, e.actor, e.detail)
        })
        .collect();
    let reason = "customer called: PINs refused".to_owned();
    assert_eq!(
        trail,
        [
            ("locked".into(), "customer".into(), "2 failures".into()),
            ("unlocked".into(), "operator-7".into(), reason.clone()),
            (
                "suspended".into(),
                "operator-9".into(),
                "phone reported stolen".into()
            ),
            ("lifted".into(), "operator-7".into(), reason.clone()),
            ("resynced".into(), "operator-7".into(), reason),
        ]
    );
    for unknown in [
        v.operator_suspend(&operator(), CardId::from_bytes([3; 16]))
            .await,
        v.operator_lift_suspension(&operator(), CardId::from_bytes([3; 16]))
            .await,
    ] {
        assert_eq!(unknown, Err(VerifyError::UnknownCard));
    }
}

/// No `Debug` shows a key or a seed: not the KEK, not the SMS key, not a
/// stored card, not the services holding them (after opening a card).
#[tokio::test]
async fn debug_never_shows_keys_or_seeds() {
    let sms_key_bytes = [0xc3; 32];
    let (phone, v, id) = setup(VerifierConfig::default()).await;
    v.verify(
        id,
        PinKind::Second,
        &code(&phone, PinKind::Second, T),
        &at(T),
    )
    .await
    .unwrap();
    let record = v.store().card(id).await.unwrap().unwrap();
    let sms = SmsService::new(
        Default::default(),
        SmsKey::new("sms-1", &sms_key_bytes).unwrap(),
        Arc::clone(v.store()),
    )
    .unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        KeyFile::from_bytes(KEK_ID, KEK_BYTES),
        SmsKey::new("sms-1", &sms_key_bytes).unwrap(),
        record,
        sms,
        v,
        v.store(),
    );
    assert!(shown.contains(KEK_ID) && shown.contains("sms-1"), "{shown}");
    // The check itself finds a key spelled either way.
    assert!(leaks(&support::hex(&KEK_BYTES), &KEK_BYTES));
    assert!(leaks(&format!("{KEK_BYTES:?}"), &KEK_BYTES));
    for (what, secret) in [
        ("KEK", &KEK_BYTES[..]),
        ("SMS key", &sms_key_bytes[..]),
        ("seed", &SEED[..]),
        ("sealed card", &record.sealed[..]),
    ] {
        assert!(!leaks(&shown, secret), "{what} in {shown}");
    }
}
