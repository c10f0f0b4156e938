//! The bank's verifier: window, single use under concurrency, throttling, drift, amount-bound codes.

use dynpin::card::{Card, CardError, CardId, CardRef, LastFour, PinPolicy};
use dynpin::clock::{FixedClock, ManualClock};
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use dynpin_bank::verifier::{
    Accepted, CardStatus, OperatorAuthorization, SlotKey, Verifier, VerifierConfig, VerifierStore,
    VerifyError,
};

const T: i64 = 1_800_000_000; // a multiple of 60

fn card_with(first: Option<PinPolicy>, second: Option<PinPolicy>) -> Card {
    let card_ref = CardRef::new(610_433, LastFour::parse("1234").unwrap()).unwrap();
    Card::bank_card(
        CardId::random().unwrap(),
        "c",
        card_ref,
        SecretBytes::from(vec![0x5a; 20]),
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

/// The bank registers its own copy; the phone keeps the original.
fn setup(config: VerifierConfig) -> (Card, Verifier, dynpin::card::CardId) {
    let phone = card();
    let verifier = Verifier::new(config).unwrap();
    let id = verifier.register(phone.clone());
    (phone, verifier, id)
}

#[test]
fn default_window_is_this_step_and_the_one_before() {
    let (phone, v, id) = setup(VerifierConfig::default());
    let now = at(T + 30);
    assert_eq!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T - 60),
            &now
        )
        .unwrap()
        .offset,
        -1
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
            .unwrap(),
        Accepted {
            step: (T / 60) as u64,
            offset: 0
        }
    );
    let (phone, v, id) = setup(VerifierConfig::default());
    assert!(matches!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T - 120),
            &now
        ),
        Err(VerifyError::Rejected { .. })
    ));
    assert!(matches!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T + 60),
            &now
        ),
        Err(VerifyError::Rejected { .. })
    ));
}

#[test]
fn window_is_configurable_up_to_two_steps() {
    let config = VerifierConfig {
        behind: 2,
        ahead: 2,
        ..Default::default()
    };
    let (phone, v, id) = setup(config);
    for (offset, expected) in [(-2i64, -2), (2, 2)] {
        let typed = code(&phone, PinKind::First, T + offset * 60);
        assert_eq!(
            v.verify(id, PinKind::First, &typed, &at(T)).unwrap().offset,
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
            max_drift_seconds: 3601,
            ..Default::default()
        },
    ] {
        assert!(
            matches!(Verifier::new(bad), Err(VerifyError::InvalidConfig(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn a_step_is_accepted_once() {
    let (phone, v, id) = setup(VerifierConfig::default());
    let now = at(T + 10);
    let current = code(&phone, PinKind::Second, T);
    let previous = code(&phone, PinKind::Second, T - 60);
    v.verify(id, PinKind::Second, &current, &now).unwrap();
    assert!(matches!(
        v.verify(id, PinKind::Second, &current, &now),
        Err(VerifyError::Replayed {
            remaining_attempts: 9
        })
    ));
    // An older step after a newer one was used is a replay too.
    assert!(matches!(
        v.verify(id, PinKind::Second, &previous, &now),
        Err(VerifyError::Replayed { .. })
    ));
    // The first PIN is a separate sequence.
    assert!(
        v.verify(id, PinKind::First, &code(&phone, PinKind::First, T), &now)
            .is_ok()
    );
}

#[test]
fn one_thousand_threads_one_success() {
    let (phone, v, id) = setup(VerifierConfig {
        failure_limit: 100,
        ..Default::default()
    });
    let typed = code(&phone, PinKind::Second, T);
    let now = at(T + 5);
    let successes = std::sync::atomic::AtomicUsize::new(0);
    let replays = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..1000 {
            s.spawn(|| match v.verify(id, PinKind::Second, &typed, &now) {
                Ok(_) => successes.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                Err(_) => replays.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            });
        }
    });
    assert_eq!(successes.into_inner(), 1);
    assert_eq!(replays.into_inner(), 999);
}

#[test]
fn when_a_code_matches_a_used_older_step_and_a_newer_one_the_newer_is_taken() {
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
    let v = Verifier::new(VerifierConfig {
        behind: 2,
        ..Default::default()
    })
    .unwrap();
    let id = v.register(phone);
    // The older step is used first…
    assert_eq!(
        v.verify(id, PinKind::First, &typed, &at(step * 60))
            .unwrap()
            .step as i64,
        step
    );
    // …then the same digits, one step later, match both: the newer step is taken.
    assert_eq!(
        v.verify(id, PinKind::First, &typed, &at((step + 1) * 60))
            .unwrap()
            .step as i64,
        step + 1
    );
}

#[test]
fn throttling_locks_after_the_limit_and_a_success_resets() {
    let (phone, v, id) = setup(VerifierConfig {
        failure_limit: 3,
        ..Default::default()
    });
    let now = at(T);
    let wrong = format!(
        "{:08}",
        (code(&phone, PinKind::Second, T).parse::<u32>().unwrap() + 1) % 100_000_000
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &wrong, &now),
        Err(VerifyError::Rejected {
            remaining_attempts: 2
        })
    );
    // Malformed input is a typing slip, not a guess: not counted.
    assert!(matches!(
        v.verify(id, PinKind::Second, "12", &now),
        Err(VerifyError::Malformed(_))
    ));
    assert_eq!(
        v.verify(id, PinKind::Second, &wrong, &now),
        Err(VerifyError::Rejected {
            remaining_attempts: 1
        })
    );
    // A success resets the count.
    v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
        .unwrap();
    let later = at(T + 60);
    for expected in [
        Err(VerifyError::Rejected {
            remaining_attempts: 2,
        }),
        Err(VerifyError::Rejected {
            remaining_attempts: 1,
        }),
        Err(VerifyError::Locked),
    ] {
        assert_eq!(v.verify(id, PinKind::Second, &wrong, &later), expected);
    }
    // Locked: even the right code is refused, for every PIN of the card…
    assert_eq!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T + 60),
            &later
        ),
        Err(VerifyError::Locked)
    );
    assert_eq!(
        v.verify(
            id,
            PinKind::First,
            &code(&phone, PinKind::First, T + 60),
            &later
        ),
        Err(VerifyError::Locked)
    );
    // …until the bank resets it.
    v.reset(id);
    assert!(
        v.verify(
            id,
            PinKind::Second,
            &code(&phone, PinKind::Second, T + 60),
            &later
        )
        .is_ok()
    );
}

#[test]
fn drift_is_resynchronised_from_two_consecutive_codes() {
    let (phone, v, id) = setup(VerifierConfig::default());
    let bank_now = ManualClock::from_unix_seconds(T);
    let fast = 5 * 60; // the phone runs five minutes fast
    let c1 = code(&phone, PinKind::Second, T + fast);
    let c2 = code(&phone, PinKind::Second, T + fast + 60);
    assert!(matches!(
        v.verify(id, PinKind::Second, &c1, &bank_now),
        Err(VerifyError::Rejected { .. })
    ));
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &c1, &c2, &bank_now)
            .unwrap(),
        6 * 60,
        "drift in seconds"
    );
    assert_eq!(
        v.store().failures(id),
        0,
        "a successful resync clears failures"
    );
    // The codes used for resync cannot be replayed.
    assert!(v.verify(id, PinKind::Second, &c2, &bank_now).is_err());
    bank_now.advance_seconds(120);
    let next = code(&phone, PinKind::Second, T + 120 + fast);
    assert!(
        v.verify(id, PinKind::Second, &next, &bank_now).is_ok(),
        "drift is applied"
    );
    // Codes out of order, or too far away, do not resynchronise.
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &c2, &c1, &bank_now),
        Err(VerifyError::ResyncFailed)
    );
    let far1 = code(&phone, PinKind::Second, T + 3_600);
    let far2 = code(&phone, PinKind::Second, T + 3_660);
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::Second, &far1, &far2, &bank_now),
        Err(VerifyError::ResyncFailed)
    );
}

#[test]
fn amount_bound_codes_verify_only_for_their_transaction() {
    let (mut phone, v, id) = setup(VerifierConfig::default());
    phone.set_amount_ceiling(Some(2_000_000_000));
    let clock = at(T + 20);
    let pin = phone
        .amount_bound_code(1_500_000_000, "6037991234567893", &clock)
        .unwrap()
        .digits();
    assert!(matches!(
        v.verify_amount_bound(id, &pin, 1_500_000_001, "6037991234567893", &clock),
        Err(VerifyError::Rejected { .. })
    ));
    assert!(matches!(
        v.verify_amount_bound(id, &pin, 1_500_000_000, "6037991234567894", &clock),
        Err(VerifyError::Rejected { .. })
    ));
    assert!(
        v.verify_amount_bound(id, &pin, 1_500_000_000, "۶۰۳۷ ۹۹۱۲ ۳۴۵۶ ۷۸۹۳", &clock)
            .is_ok()
    );
    assert!(matches!(
        v.verify_amount_bound(id, &pin, 1_500_000_000, "6037991234567893", &clock),
        Err(VerifyError::Replayed { .. })
    ));
    assert_eq!(
        phone
            .amount_bound_code(2_000_000_001, "x", &clock)
            .unwrap_err(),
        CardError::AmountAboveCeiling {
            ceiling: 2_000_000_000
        }
    );
}

#[test]
fn unknown_cards_and_missing_pins_are_typed() {
    let (_, v, _) = setup(VerifierConfig::default());
    let stranger = card_with(Some(PinPolicy::first_pin()), None);
    assert_eq!(
        v.verify(stranger.id(), PinKind::First, "1234", &at(T)),
        Err(VerifyError::UnknownCard)
    );
    let id = v.register(stranger);
    assert_eq!(
        v.verify(id, PinKind::Second, "12345678", &at(T)),
        Err(VerifyError::NoSuchPin(PinKind::Second))
    );
    assert!(matches!(
        v.verify(id, PinKind::First, "1234", &at(-1)),
        Err(VerifyError::Card(_))
    ));
}

/// A store that makes the worst interleaving a fleet can see deterministic:
/// every caller's first change of the throttling state waits until all
/// `callers` have arrived, so every guess is in flight before any is counted
/// (later callers pass straight through). It also counts window evaluations
/// (each reads the drift once).
struct AllInFlight {
    inner: dynpin_bank::verifier::MemoryStore,
    callers: usize,
    arrived: std::sync::atomic::AtomicUsize,
    barrier: std::sync::Barrier,
    evaluations: std::sync::atomic::AtomicU32,
}

impl AllInFlight {
    fn new(callers: usize) -> Self {
        Self {
            inner: Default::default(),
            callers,
            arrived: Default::default(),
            barrier: std::sync::Barrier::new(callers),
            evaluations: Default::default(),
        }
    }

    fn hold(&self) {
        if self
            .arrived
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            < self.callers
        {
            self.barrier.wait();
        }
    }
}

impl VerifierStore for AllInFlight {
    fn claim_attempt(&self, card: CardId, limit: u32) -> Option<u32> {
        self.hold();
        self.inner.claim_attempt(card, limit)
    }
    fn accept_step(&self, slot: SlotKey, step: u64) -> bool {
        self.inner.accept_step(slot, step)
    }
    fn accept_transaction(
        &self,
        card: CardId,
        transaction: dynpin_bank::verifier::TransactionKey,
        step: u64,
    ) -> bool {
        self.inner.accept_transaction(card, transaction, step)
    }
    fn failures(&self, card: CardId) -> u32 {
        self.inner.failures(card)
    }
    fn reset_failures(&self, card: CardId) {
        self.inner.reset_failures(card)
    }
    fn status(&self, card: CardId) -> Option<CardStatus> {
        self.inner.status(card)
    }
    fn open_confirmation(&self, card: CardId) {
        self.inner.open_confirmation(card)
    }
    fn claim_confirmation_attempt(&self, card: CardId, limit: u32) -> Option<u32> {
        self.inner.claim_confirmation_attempt(card, limit)
    }
    fn confirm(&self, card: CardId) -> Option<CardStatus> {
        self.inner.confirm(card)
    }
    fn set_status(&self, card: CardId, status: CardStatus) {
        self.inner.set_status(card, status)
    }
    fn last_step(&self, slot: SlotKey) -> Option<u64> {
        self.inner.last_step(slot)
    }
    fn drift(&self, slot: SlotKey) -> i64 {
        self.evaluations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.drift(slot)
    }
    fn set_drift(&self, slot: SlotKey, seconds: i64) {
        self.inner.set_drift(slot, seconds)
    }
}

/// 1,000 wrong guesses at once: at most `failure_limit` are ever evaluated,
/// and then even the right code is refused as locked.
#[test]
fn a_burst_of_wrong_guesses_evaluates_at_most_the_limit() {
    const GUESSES: usize = 1000;
    let config = VerifierConfig::default();
    let limit = config.failure_limit;
    let phone = card();
    let v = Verifier::with_store(config, AllInFlight::new(GUESSES)).unwrap();
    let id = v.register(phone.clone());
    let now = at(T + 5);
    let window: Vec<String> = [T - 60, T]
        .iter()
        .map(|&t| code(&phone, PinKind::Second, t))
        .collect();
    let guesses: Vec<String> = (0u32..)
        .map(|i| format!("{:08}", i * 7919))
        .filter(|g| !window.contains(g))
        .take(GUESSES)
        .collect();
    let rejected = std::sync::atomic::AtomicU32::new(0);
    let locked = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        for guess in &guesses {
            let (v, rejected, locked, now) = (&v, &rejected, &locked, &now);
            s.spawn(move || match v.verify(id, PinKind::Second, guess, now) {
                Err(VerifyError::Rejected { .. }) => {
                    rejected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                Err(VerifyError::Locked) => {
                    locked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                other => panic!("a wrong guess answered {other:?}"),
            });
        }
    });
    let evaluations = v
        .store()
        .evaluations
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(evaluations, limit, "guesses evaluated");
    // The last evaluated guess uses up the attempts, so it answers "locked".
    assert_eq!(rejected.into_inner(), limit - 1);
    assert_eq!(locked.into_inner(), GUESSES as u32 - (limit - 1));
    assert_eq!(
        v.verify(id, PinKind::Second, &window[1], &now),
        Err(VerifyError::Locked)
    );
}

/// A customer paying two merchants within one minute gets two amount-bound
/// codes: each verifies once, and only once.
#[test]
fn two_amount_bound_payments_in_one_minute_each_verify_once() {
    let (mut phone, v, id) = setup(VerifierConfig::default());
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
        .unwrap();
    v.verify_amount_bound(id, &taxi, 275_000, "Snapp", &second_at)
        .unwrap();
    for (pin, amount, payee) in [(&books, 1_500_000, "Digikala"), (&taxi, 275_000, "Snapp")] {
        assert!(
            matches!(
                v.verify_amount_bound(id, pin, amount, payee, &second_at),
                Err(VerifyError::Replayed { .. })
            ),
            "{payee} a second time"
        );
    }
}

/// The store remembers amount-bound transactions for a bounded horizon; a code
/// older than that behind the newest accepted one is refused, never forgotten
/// into a replay.
#[test]
fn amount_bound_codes_beyond_the_horizon_are_refused() {
    use dynpin_bank::verifier::TRANSACTION_HORIZON_STEPS;
    let (mut phone, v, id) = setup(VerifierConfig::default());
    phone.set_amount_ceiling(Some(2_000_000_000));
    let late = at(T + 60 * TRANSACTION_HORIZON_STEPS as i64);
    let pin = phone.amount_bound_code(1_000, "Snapp", &late).unwrap();
    v.verify_amount_bound(id, &pin.digits(), 1_000, "Snapp", &late)
        .unwrap();
    // A clock set back by the horizon: a fresh transaction's code is still refused.
    let early = at(T);
    let old = phone.amount_bound_code(2_000, "Digikala", &early).unwrap();
    assert!(matches!(
        v.verify_amount_bound(id, &old.digits(), 2_000, "Digikala", &early),
        Err(VerifyError::Replayed { .. })
    ));
    // One step inside the horizon it is accepted.
    let inside = at(T + 60);
    let recent = phone.amount_bound_code(2_000, "Digikala", &inside).unwrap();
    v.verify_amount_bound(id, &recent.digits(), 2_000, "Digikala", &inside)
        .unwrap();
}

/// Two codes a phishing page collected five minutes ago must not move the
/// window back and lock out the real phone. Only an operator can resync at all
/// (it needs an [`OperatorAuthorization`]), and not to codes older than the
/// last one the phone used.
#[test]
fn two_past_consecutive_codes_cannot_move_the_window_back() {
    let (phone, v, id) = setup(VerifierConfig::default());
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
    .unwrap();
    assert_eq!(
        v.operator_resync(
            &operator(),
            id,
            PinKind::Second,
            &phished.0,
            &phished.1,
            &now
        ),
        Err(VerifyError::ResyncFailed)
    );
    assert!(
        v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
            .is_ok(),
        "the real phone's current code"
    );
    assert!(OperatorAuthorization::new("", "ticket 1").is_err());
    assert!(OperatorAuthorization::new("op-7", "\n").is_err());
}

/// Drift is kept per PIN in seconds: learning it on a 30-second first PIN
/// does not shift the 60-second second PIN.
#[test]
fn drift_learned_on_one_pin_does_not_shift_the_other() {
    let phone = card_with(
        Some(PinPolicy {
            algorithm: Algorithm::Sha256,
            digits: 6,
            period: 30,
        }),
        Some(PinPolicy::second_pin()),
    );
    let v = Verifier::new(VerifierConfig::default()).unwrap();
    let id = v.register(phone.clone());
    let now = at(T);
    // The first PIN's codes are four minutes (eight 30-second steps) ahead.
    let c1 = code(&phone, PinKind::First, T + 240);
    let c2 = code(&phone, PinKind::First, T + 270);
    assert_eq!(
        v.operator_resync(&operator(), id, PinKind::First, &c1, &c2, &now)
            .unwrap(),
        270,
        "nine 30-second steps, in seconds"
    );
    assert!(
        v.verify(id, PinKind::Second, &code(&phone, PinKind::Second, T), &now)
            .is_ok(),
        "the second PIN's window has not moved"
    );
}
