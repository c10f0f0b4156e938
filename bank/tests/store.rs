//! The behaviour every [`Store`] backend must show, as one suite:
//! `store_behaviour!(name, make)` expands to a module `name` of tests, each
//! running one check of [`behaviour`] against a fresh `make.await` (an
//! expression evaluated per test, e.g. `async { MemoryStore::new() }`).
//!
//! The checks create their own cards (random ids), phone numbers, handles and
//! idempotency clients, so one shared database serves tests running in
//! parallel. Expiry and leases are tested on the store's *system* clock (1 s
//! validity, a 1.3 s sleep), as a database server reads its own clock.
//!
//! Another test file (declared after `mod store;` in `lib.rs`, which is
//! `#[macro_use]`) instantiates the suite for its backend:
//!
//! ```ignore
//! store_behaviour!(postgres, async { connect().await });
//! // Attributes after the maker go on every test, e.g. to skip without a server:
//! store_behaviour!(postgres, async { connect().await }, #[ignore = "needs DATABASE_URL"]);
//! ```

use dynpin_bank::store::memory::MemoryStore;

/// Expands to a module `$name` holding one `#[tokio::test]` per check in
/// [`behaviour`], each on a store made by awaiting `$make`.
macro_rules! store_behaviour {
    ($name:ident, $make:expr $(, #[$meta:meta])* $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            store_behaviour!(@tests ($make) [$(#[$meta])*]
                ping_answers,
                insert_card_twice_keeps_the_first,
                card_and_state_round_trip,
                a_card_without_phone_round_trips,
                a_matched_step_is_accepted_once,
                failures_count_up_to_the_limit_then_lock,
                a_success_clears_the_count,
                the_two_pins_are_independent,
                a_changed_drift_is_stale,
                pending_and_suspended_cards_refuse_pins,
                an_unknown_card_is_reported,
                extreme_steps_keep_their_order,
                step_mapping_keeps_order_and_round_trips,
                amount_bound_codes_are_single_use_per_transaction,
                amount_bound_steps_beyond_the_horizon_are_refused,
                concurrent_replays_accept_once,
                concurrent_failures_claim_exactly_the_limit,
                wrong_confirmations_count_up_to_the_limit,
                confirmations_at_or_after_the_deadline_expire,
                a_second_correct_confirmation_suspends_the_card,
                concurrent_confirmations_confirm_once,
                a_retried_confirmation_is_not_a_clone,
                a_retry_is_answered_at_the_limit_and_past_the_deadline,
                concurrent_retries_of_one_confirmation_all_confirm,
                concurrent_confirmations_by_two_requests_suspend_the_card,
                set_status_returns_the_previous_status,
                reset_attempts_clears_the_count,
                resync_sets_if_greater,
                cards_are_found_by_phone_and_last_four,
                an_sms_code_expires_after_its_validity,
                sms_codes_are_rate_limited,
                a_new_sms_code_replaces_the_pending_one,
                an_sms_code_is_single_use,
                wrong_sms_codes_run_out,
                an_expired_sms_code_is_void,
                concurrent_wrong_sms_codes_claim_exactly_the_attempts,
                activations_are_fetched_a_limited_number_of_times,
                activations_expire,
                idempotent_requests_proceed_once_then_replay,
                an_idempotency_lease_runs_out,
                concurrent_idempotent_begins_proceed_once,
                the_audit_trail_is_per_card_oldest_first,
            );
        }
    };
    // One test per check, recursively (the attributes repeat per test).
    (@tests ($make:expr) [$(#[$meta:meta])*] $(,)?) => {};
    (@tests ($make:expr) [$(#[$meta:meta])*] $check:ident $(, $rest:ident)* $(,)?) => {
        $(#[$meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let store = $make.await;
            crate::store::behaviour::$check(store).await;
        }

        store_behaviour!(@tests ($make) [$(#[$meta])*] $($rest),*);
    };
}

store_behaviour!(memory, async { MemoryStore::new() });

/// The checks, each generic over the backend.
pub(crate) mod behaviour {
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use dynpin::card::CardId;
    use dynpin::pin::PinKind;
    use dynpin_bank::store::{
        ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord,
        CardState, CardStatus, ConfirmAttempt, ConfirmOutcome, IdempotencyBegin, SmsChecked,
        SmsIssue, SmsIssued, Store, StoredResponse, step_from_i64, step_to_i64,
    };
    use tokio::task::JoinSet;

    /// Longer than a 1-second validity or lease on a whole-second clock.
    const PAST_ONE_SECOND: Duration = Duration::from_millis(1300);

    fn new_id() -> CardId {
        CardId::random().unwrap()
    }

    fn random_32() -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(new_id().as_bytes());
        out[16..].copy_from_slice(new_id().as_bytes());
        out
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn record(id: CardId, status: CardStatus) -> CardRecord {
        CardRecord {
            id,
            key_id: "kek-1".into(),
            sealed: vec![0, 1, 2, 0xfe, 0xff, 0],
            status,
            confirm_deadline: now() + 3600,
            phone: Some("989121234567".into()),
            last_four: 1234,
        }
    }

    async fn card_with<S: Store>(store: &S, status: CardStatus) -> CardId {
        let id = new_id();
        assert!(store.insert_card(&record(id, status)).await.unwrap());
        id
    }

    async fn active_card<S: Store>(store: &S) -> CardId {
        card_with(store, CardStatus::Active).await
    }

    fn attempt(card: CardId, kind: PinKind, matched: Option<u64>) -> Attempt {
        Attempt {
            card,
            kind,
            limit: 5,
            drift: 0,
            matched,
            transaction: None,
            horizon: 0,
        }
    }

    fn bound(card: CardId, tx: [u8; 32], step: u64, horizon: u64) -> Attempt {
        Attempt {
            transaction: Some(tx),
            horizon,
            ..attempt(card, PinKind::AmountBound, Some(step))
        }
    }

    async fn state<S: Store>(store: &S, id: CardId) -> CardState {
        store.state(id).await.unwrap().unwrap()
    }

    fn confirm(card: CardId, correct: bool) -> ConfirmAttempt {
        ConfirmAttempt {
            card,
            limit: 3,
            correct,
            now: now(),
            request: random_32(),
        }
    }

    fn sms(card: CardId, slot: [u8; 32], tag: [u8; 32]) -> SmsIssue {
        SmsIssue {
            card,
            slot,
            tag,
            validity_seconds: 120,
            max_attempts: 3,
            max_requests: 100,
            window_seconds: 3600,
        }
    }

    fn other_tag(tag: [u8; 32]) -> [u8; 32] {
        let mut wrong = tag;
        wrong[31] ^= 1;
        wrong
    }

    fn client() -> String {
        format!("client-{}", new_id())
    }

    fn event(card: Option<CardId>, event: &str, detail: &str) -> AuditEvent {
        AuditEvent {
            card,
            event: event.into(),
            actor: "operator-7".into(),
            detail: detail.into(),
        }
    }

    /// Runs `n` copies of `task` on the runtime's threads at once; their outcomes.
    async fn concurrently<S, T, F, Fut>(store: S, n: usize, task: F) -> (Arc<S>, Vec<T>)
    where
        S: Store,
        T: Send + 'static,
        F: Fn(Arc<S>) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let store = Arc::new(store);
        let mut set = JoinSet::new();
        for _ in 0..n {
            set.spawn(task(Arc::clone(&store)));
        }
        let outcomes = set.join_all().await;
        assert_eq!(outcomes.len(), n);
        (store, outcomes)
    }

    // --- cards ---------------------------------------------------------

    pub(crate) async fn ping_answers<S: Store>(store: S) {
        store.ping().await.unwrap();
    }

    pub(crate) async fn insert_card_twice_keeps_the_first<S: Store>(store: S) {
        let id = new_id();
        let first = record(id, CardStatus::Pending);
        assert!(store.insert_card(&first).await.unwrap());
        let second = CardRecord {
            key_id: "kek-2".into(),
            sealed: vec![9; 40],
            status: CardStatus::Active,
            ..first.clone()
        };
        assert!(!store.insert_card(&second).await.unwrap());
        assert_eq!(store.card(id).await.unwrap(), Some(first));
        assert_eq!(state(&store, id).await.status, CardStatus::Pending);
    }

    pub(crate) async fn card_and_state_round_trip<S: Store>(store: S) {
        let id = new_id();
        let mut sealed: Vec<u8> = (0..=255).collect();
        sealed.extend_from_slice(&[0, 0, 0xff]);
        let card = CardRecord {
            id,
            key_id: "kek-2025-01 ü".into(),
            sealed,
            status: CardStatus::Pending,
            confirm_deadline: 1_900_000_123,
            phone: Some("09121234567".into()),
            last_four: 987,
        };
        assert!(store.insert_card(&card).await.unwrap());
        assert_eq!(store.card(id).await.unwrap(), Some(card));
        assert_eq!(
            store.state(id).await.unwrap(),
            Some(CardState {
                status: CardStatus::Pending,
                attempts: 0,
                confirm_attempts: 0,
                last_step: [None, None],
                drift: [0, 0],
            })
        );
        assert_eq!(store.card(new_id()).await.unwrap(), None);
        assert_eq!(store.state(new_id()).await.unwrap(), None);
    }

    pub(crate) async fn a_card_without_phone_round_trips<S: Store>(store: S) {
        let id = new_id();
        let card = CardRecord {
            phone: None,
            last_four: 0,
            sealed: Vec::new(),
            status: CardStatus::Suspended,
            ..record(id, CardStatus::Active)
        };
        assert!(store.insert_card(&card).await.unwrap());
        assert_eq!(store.card(id).await.unwrap(), Some(card));
        assert_eq!(state(&store, id).await.status, CardStatus::Suspended);
    }

    // --- PIN attempts --------------------------------------------------

    pub(crate) async fn a_matched_step_is_accepted_once<S: Store>(store: S) {
        let id = active_card(&store).await;
        let at = |step| attempt(id, PinKind::Second, Some(step));
        assert_eq!(
            store.record_attempt(&at(1000)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(state(&store, id).await.last_step, [None, Some(1000)]);
        assert_eq!(
            store.record_attempt(&at(1000)).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store.record_attempt(&at(999)).await.unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        assert_eq!(state(&store, id).await.last_step, [None, Some(1000)]);
        assert_eq!(
            store.record_attempt(&at(1001)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        let after = state(&store, id).await;
        assert_eq!(after.last_step, [None, Some(1001)]);
        assert_eq!(after.attempts, 0);
    }

    pub(crate) async fn failures_count_up_to_the_limit_then_lock<S: Store>(store: S) {
        let id = active_card(&store).await;
        let miss = attempt(id, PinKind::First, None);
        for count in 1..=5 {
            assert_eq!(
                store.record_attempt(&miss).await.unwrap(),
                AttemptOutcome::Failed { count }
            );
            assert_eq!(state(&store, id).await.attempts, count);
        }
        assert_eq!(
            store.record_attempt(&miss).await.unwrap(),
            AttemptOutcome::Locked
        );
        // A right code at the limit is not counted and changes nothing.
        let hit = attempt(id, PinKind::First, Some(77));
        assert_eq!(
            store.record_attempt(&hit).await.unwrap(),
            AttemptOutcome::Locked
        );
        let after = state(&store, id).await;
        assert_eq!(after.attempts, 5);
        assert_eq!(after.last_step, [None, None]);
        // A higher limit (the caller's policy) lets it go on.
        let more = Attempt { limit: 6, ..hit };
        assert_eq!(
            store.record_attempt(&more).await.unwrap(),
            AttemptOutcome::Accepted
        );
    }

    pub(crate) async fn a_success_clears_the_count<S: Store>(store: S) {
        let id = active_card(&store).await;
        let miss = attempt(id, PinKind::Second, None);
        store.record_attempt(&miss).await.unwrap();
        store.record_attempt(&miss).await.unwrap();
        assert_eq!(state(&store, id).await.attempts, 2);
        assert_eq!(
            store
                .record_attempt(&attempt(id, PinKind::Second, Some(5)))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(state(&store, id).await.attempts, 0);
        assert_eq!(
            store.record_attempt(&miss).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
    }

    pub(crate) async fn the_two_pins_are_independent<S: Store>(store: S) {
        let id = active_card(&store).await;
        let first = |step| attempt(id, PinKind::First, Some(step));
        let second = |step| attempt(id, PinKind::Second, Some(step));
        assert_eq!(
            store.record_attempt(&first(200)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        // The second PIN's steps are its own: an older step than the first's is fine.
        assert_eq!(
            store.record_attempt(&second(150)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(state(&store, id).await.last_step, [Some(200), Some(150)]);
        // A plain token code is on the second PIN's state.
        let token = attempt(id, PinKind::Token, Some(150));
        assert_eq!(
            store.record_attempt(&token).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        // Drift is per PIN.
        assert!(store.resync(id, PinKind::Second, 160, 30).await.unwrap());
        let after = state(&store, id).await;
        assert_eq!(after.drift, [0, 30]);
        assert_eq!(after.last_step, [Some(200), Some(160)]);
        assert_eq!(
            store.record_attempt(&first(201)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store.record_attempt(&second(161)).await.unwrap(),
            AttemptOutcome::StaleDrift(30)
        );
        let with_drift = Attempt {
            drift: 30,
            ..second(161)
        };
        assert_eq!(
            store.record_attempt(&with_drift).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert!(store.resync(id, PinKind::First, 300, -90).await.unwrap());
        assert_eq!(state(&store, id).await.drift, [-90, 30]);
    }

    pub(crate) async fn a_changed_drift_is_stale<S: Store>(store: S) {
        let id = active_card(&store).await;
        let miss = attempt(id, PinKind::Second, None);
        store.record_attempt(&miss).await.unwrap();
        assert!(store.resync(id, PinKind::Second, 10, -60).await.unwrap());
        assert_eq!(
            store.record_attempt(&miss).await.unwrap(),
            AttemptOutcome::StaleDrift(-60)
        );
        let before = state(&store, id).await;
        for drift in [0, 60, -59, i64::MIN, i64::MAX] {
            let stale = Attempt {
                drift,
                ..attempt(id, PinKind::Second, Some(11))
            };
            assert_eq!(
                store.record_attempt(&stale).await.unwrap(),
                AttemptOutcome::StaleDrift(-60)
            );
        }
        // Nothing changed.
        assert_eq!(state(&store, id).await, before);
        let fresh = Attempt {
            drift: -60,
            ..attempt(id, PinKind::Second, Some(11))
        };
        assert_eq!(
            store.record_attempt(&fresh).await.unwrap(),
            AttemptOutcome::Accepted
        );
    }

    pub(crate) async fn pending_and_suspended_cards_refuse_pins<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        let hit = attempt(id, PinKind::Second, Some(10));
        let miss = attempt(id, PinKind::Second, None);
        for a in [hit, miss] {
            assert_eq!(
                store.record_attempt(&a).await.unwrap(),
                AttemptOutcome::NotActive(CardStatus::Pending)
            );
        }
        store
            .set_status(id, CardStatus::Suspended)
            .await
            .unwrap()
            .unwrap();
        for a in [hit, miss] {
            assert_eq!(
                store.record_attempt(&a).await.unwrap(),
                AttemptOutcome::NotActive(CardStatus::Suspended)
            );
        }
        let after = state(&store, id).await;
        assert_eq!(after.attempts, 0);
        assert_eq!(after.last_step, [None, None]);
        store
            .set_status(id, CardStatus::Active)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.record_attempt(&hit).await.unwrap(),
            AttemptOutcome::Accepted
        );
    }

    pub(crate) async fn an_unknown_card_is_reported<S: Store>(store: S) {
        let id = new_id();
        for a in [
            attempt(id, PinKind::First, Some(1)),
            attempt(id, PinKind::Second, None),
            bound(id, random_32(), 5, 10),
        ] {
            assert_eq!(
                store.record_attempt(&a).await.unwrap(),
                AttemptOutcome::UnknownCard
            );
        }
        assert_eq!(store.state(id).await.unwrap(), None);
        assert_eq!(
            store.record_confirmation(&confirm(id, true)).await.unwrap(),
            ConfirmOutcome::UnknownCard
        );
        assert_eq!(
            store.set_status(id, CardStatus::Active).await.unwrap(),
            None
        );
        assert!(!store.reset_attempts(id).await.unwrap());
        assert!(!store.resync(id, PinKind::First, 5, 0).await.unwrap());
        assert_eq!(store.state(id).await.unwrap(), None);
        assert_eq!(store.card(id).await.unwrap(), None);
    }

    pub(crate) async fn extreme_steps_keep_their_order<S: Store>(store: S) {
        let id = active_card(&store).await;
        let at = |step| attempt(id, PinKind::First, Some(step));
        assert_eq!(
            store.record_attempt(&at(0)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(state(&store, id).await.last_step, [Some(0), None]);
        assert_eq!(
            store.record_attempt(&at(0)).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        // Across the signed boundary: i64::MAX, then one more, then back.
        let edge = i64::MAX as u64;
        assert_eq!(
            store.record_attempt(&at(edge)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store.record_attempt(&at(edge + 1)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(state(&store, id).await.last_step, [Some(edge + 1), None]);
        assert_eq!(
            store.record_attempt(&at(edge)).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store.record_attempt(&at(1)).await.unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        assert_eq!(
            store.record_attempt(&at(u64::MAX)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(state(&store, id).await.last_step, [Some(u64::MAX), None]);
        assert_eq!(
            store.record_attempt(&at(u64::MAX)).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert!(!store.resync(id, PinKind::First, u64::MAX, 0).await.unwrap());

        // Resync across the boundary too.
        assert!(store.resync(id, PinKind::Second, edge, 0).await.unwrap());
        assert!(!store.resync(id, PinKind::Second, 5, 0).await.unwrap());
        assert!(
            store
                .resync(id, PinKind::Second, edge + 1, 0)
                .await
                .unwrap()
        );
        assert_eq!(
            state(&store, id).await.last_step,
            [Some(u64::MAX), Some(edge + 1)]
        );

        // Amount-bound steps at the extremes.
        let tx = random_32();
        assert_eq!(
            store
                .record_attempt(&bound(id, tx, edge, 10))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, tx, edge + 1, 10))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, tx, edge, 10))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );

        // At the top of the range, with the verifier's horizon: nothing is
        // forgotten into a replay, and the horizon is exact.
        let id = active_card(&store).await;
        let (tx1, tx2) = (random_32(), random_32());
        let top = |tx, step| bound(id, tx, step, 64);
        assert_eq!(
            store.record_attempt(&top(tx1, u64::MAX - 1)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store.record_attempt(&top(tx2, u64::MAX)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store
                .record_attempt(&top(random_32(), u64::MAX - 1))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store.record_attempt(&top(tx2, u64::MAX)).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store.record_attempt(&top(tx1, u64::MAX - 1)).await.unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        assert_eq!(
            store
                .record_attempt(&top(random_32(), u64::MAX - 64))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 3 }
        );
        assert_eq!(
            store
                .record_attempt(&top(random_32(), u64::MAX - 63))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
    }

    pub(crate) async fn step_mapping_keeps_order_and_round_trips<S: Store>(_store: S) {
        let steps = [
            0,
            1,
            2,
            1 << 32,
            (i64::MAX as u64) - 1,
            i64::MAX as u64,
            (i64::MAX as u64) + 1,
            (i64::MAX as u64) + 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        assert_eq!(step_to_i64(0), i64::MIN);
        assert_eq!(step_to_i64(u64::MAX), i64::MAX);
        assert_eq!(step_to_i64(1 << 63), 0);
        for pair in steps.windows(2) {
            assert!(step_to_i64(pair[0]) < step_to_i64(pair[1]), "{pair:?}");
        }
        for step in steps {
            assert_eq!(step_from_i64(step_to_i64(step)), step);
        }
        for stored in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(step_to_i64(step_from_i64(stored)), stored);
        }
    }

    pub(crate) async fn amount_bound_codes_are_single_use_per_transaction<S: Store>(store: S) {
        let id = active_card(&store).await;
        let (tx1, tx2) = (random_32(), random_32());
        assert_eq!(
            store
                .record_attempt(&bound(id, tx1, 100, 10))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        // Another transaction at the same step: its own code.
        assert_eq!(
            store
                .record_attempt(&bound(id, tx2, 100, 10))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        // The same transaction at the same (or an older) step: a replay.
        assert_eq!(
            store
                .record_attempt(&bound(id, tx1, 100, 10))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store.record_attempt(&bound(id, tx2, 99, 10)).await.unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, tx1, 101, 10))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        let after = state(&store, id).await;
        assert_eq!(after.attempts, 0);
        // Amount-bound steps are kept per transaction, not as the PIN's last step.
        assert_eq!(after.last_step, [None, None]);
        assert_eq!(
            store
                .record_attempt(&attempt(id, PinKind::Second, Some(100)))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        // The second PIN's drift applies (StaleDrift on a mismatch).
        assert!(store.resync(id, PinKind::Second, 200, 30).await.unwrap());
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 102, 10))
                .await
                .unwrap(),
            AttemptOutcome::StaleDrift(30)
        );
        // A miss counts like any other.
        let miss = Attempt {
            matched: None,
            drift: 30,
            ..bound(id, tx1, 0, 10)
        };
        assert_eq!(
            store.record_attempt(&miss).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
    }

    pub(crate) async fn amount_bound_steps_beyond_the_horizon_are_refused<S: Store>(store: S) {
        let id = active_card(&store).await;
        let horizon = 10;
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 1000, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        // Exactly `horizon` behind the newest accepted: refused.
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 990, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 500, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        // One step less behind: a new transaction is fine.
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 991, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        // The newest moves on; the window moves with it.
        let tx = random_32();
        assert_eq!(
            store
                .record_attempt(&bound(id, tx, 1005, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 995, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 996, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, tx, 1005, horizon))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );

        // A horizon of 0: only steps newer than the newest, and the newest is
        // never forgotten into a replay.
        let id = active_card(&store).await;
        let tx = random_32();
        assert_eq!(
            store.record_attempt(&bound(id, tx, 100, 0)).await.unwrap(),
            AttemptOutcome::Accepted
        );
        assert_eq!(
            store.record_attempt(&bound(id, tx, 100, 0)).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 100, 0))
                .await
                .unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        assert_eq!(
            store
                .record_attempt(&bound(id, random_32(), 101, 0))
                .await
                .unwrap(),
            AttemptOutcome::Accepted
        );
    }

    pub(crate) async fn concurrent_replays_accept_once<S: Store>(store: S) {
        let id = active_card(&store).await;
        let hit = Attempt {
            limit: 1000,
            ..attempt(id, PinKind::Second, Some(4242))
        };
        let (store, outcomes) = concurrently(store, 500, |s| async move {
            s.record_attempt(&hit).await.unwrap()
        })
        .await;
        let accepted = outcomes
            .iter()
            .filter(|o| **o == AttemptOutcome::Accepted)
            .count();
        assert_eq!(accepted, 1, "{outcomes:?}");
        let mut counts: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| match o {
                AttemptOutcome::Failed { count } => Some(*count),
                _ => None,
            })
            .collect();
        counts.sort_unstable();
        // Every failure counted once, in some order: the accept came somewhere
        // in between, so the counts are 1..=k with k the failures after it,
        // preceded by those before it (cleared by the accept).
        assert_eq!(counts.len(), 499);
        let after = state(&*store, id).await;
        assert_eq!(after.last_step, [None, Some(4242)]);
        let tail = after.attempts;
        let mut expected: Vec<u32> = (1..=tail).collect();
        expected.extend(1..=(499 - tail));
        expected.sort_unstable();
        assert_eq!(counts, expected);
    }

    pub(crate) async fn concurrent_failures_claim_exactly_the_limit<S: Store>(store: S) {
        let id = active_card(&store).await;
        let miss = Attempt {
            limit: 10,
            ..attempt(id, PinKind::First, None)
        };
        let (store, outcomes) = concurrently(store, 500, |s| async move {
            s.record_attempt(&miss).await.unwrap()
        })
        .await;
        let mut counts: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| match o {
                AttemptOutcome::Failed { count } => Some(*count),
                _ => None,
            })
            .collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=10).collect::<Vec<u32>>());
        let locked = outcomes
            .iter()
            .filter(|o| **o == AttemptOutcome::Locked)
            .count();
        assert_eq!(locked, 490);
        let hit = Attempt {
            matched: Some(1),
            ..miss
        };
        assert_eq!(
            store.record_attempt(&hit).await.unwrap(),
            AttemptOutcome::Locked
        );
        let after = state(&*store, id).await;
        assert_eq!(after.attempts, 10);
        assert_eq!(after.last_step, [None, None]);
    }

    // --- confirmations -------------------------------------------------

    pub(crate) async fn wrong_confirmations_count_up_to_the_limit<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        for count in 1..=3 {
            assert_eq!(
                store
                    .record_confirmation(&confirm(id, false))
                    .await
                    .unwrap(),
                ConfirmOutcome::Wrong { count }
            );
            assert_eq!(state(&store, id).await.confirm_attempts, count);
        }
        assert_eq!(
            store.record_confirmation(&confirm(id, true)).await.unwrap(),
            ConfirmOutcome::Locked
        );
        assert_eq!(
            store
                .record_confirmation(&confirm(id, false))
                .await
                .unwrap(),
            ConfirmOutcome::Locked
        );
        let after = state(&store, id).await;
        assert_eq!(after.status, CardStatus::Pending);
        assert_eq!(after.confirm_attempts, 3);
        // A wrong then a right one within the limit.
        let other = card_with(&store, CardStatus::Pending).await;
        assert_eq!(
            store
                .record_confirmation(&confirm(other, false))
                .await
                .unwrap(),
            ConfirmOutcome::Wrong { count: 1 }
        );
        assert_eq!(
            store
                .record_confirmation(&confirm(other, true))
                .await
                .unwrap(),
            ConfirmOutcome::Confirmed
        );
        assert_eq!(state(&store, other).await.confirm_attempts, 2);
    }

    pub(crate) async fn confirmations_at_or_after_the_deadline_expire<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        let deadline = store.card(id).await.unwrap().unwrap().confirm_deadline;
        for (at, correct) in [(deadline, true), (deadline + 1, true), (deadline, false)] {
            let late = ConfirmAttempt {
                now: at,
                ..confirm(id, correct)
            };
            assert_eq!(
                store.record_confirmation(&late).await.unwrap(),
                ConfirmOutcome::Expired
            );
        }
        let after = state(&store, id).await;
        assert_eq!(after.confirm_attempts, 0);
        assert_eq!(after.status, CardStatus::Pending);
        let just_in_time = ConfirmAttempt {
            now: deadline - 1,
            ..confirm(id, true)
        };
        assert_eq!(
            store.record_confirmation(&just_in_time).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
    }

    pub(crate) async fn a_second_correct_confirmation_suspends_the_card<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        assert_eq!(
            store.record_confirmation(&confirm(id, true)).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
        assert_eq!(state(&store, id).await.status, CardStatus::Active);
        assert_eq!(
            store.card(id).await.unwrap().unwrap().status,
            CardStatus::Active
        );
        assert_eq!(
            store.record_confirmation(&confirm(id, true)).await.unwrap(),
            ConfirmOutcome::CloneSuspected
        );
        assert_eq!(state(&store, id).await.status, CardStatus::Suspended);
        assert_eq!(
            store.card(id).await.unwrap().unwrap().status,
            CardStatus::Suspended
        );
        let before = state(&store, id).await;
        for correct in [true, false] {
            assert_eq!(
                store
                    .record_confirmation(&confirm(id, correct))
                    .await
                    .unwrap(),
                ConfirmOutcome::Suspended
            );
        }
        assert_eq!(state(&store, id).await, before);
    }

    pub(crate) async fn concurrent_confirmations_confirm_once<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        let right = ConfirmAttempt {
            limit: 1000,
            ..confirm(id, true)
        };
        // Each a request of its own.
        let (store, outcomes) = concurrently(store, 100, |s| {
            let right = ConfirmAttempt {
                request: random_32(),
                ..right
            };
            async move { s.record_confirmation(&right).await.unwrap() }
        })
        .await;
        let count = |want: ConfirmOutcome| outcomes.iter().filter(|o| **o == want).count();
        assert_eq!(count(ConfirmOutcome::Confirmed), 1, "{outcomes:?}");
        assert_eq!(count(ConfirmOutcome::CloneSuspected), 1, "{outcomes:?}");
        assert_eq!(count(ConfirmOutcome::Suspended), 98, "{outcomes:?}");
        let after = state(&*store, id).await;
        assert_eq!(after.status, CardStatus::Suspended);
        assert_eq!(after.confirm_attempts, 2);
    }

    /// The request that confirmed a card, sent again (its answer was lost),
    /// is answered as it was and changes nothing; another request's correct
    /// confirmation is a clone.
    pub(crate) async fn a_retried_confirmation_is_not_a_clone<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        let first = confirm(id, true);
        for _ in 0..2 {
            assert_eq!(
                store.record_confirmation(&first).await.unwrap(),
                ConfirmOutcome::Confirmed
            );
            let after = state(&store, id).await;
            assert_eq!(after.status, CardStatus::Active);
            assert_eq!(after.confirm_attempts, 1, "a retry counts no attempt");
        }
        // A wrong code is counted whatever the token.
        assert_eq!(
            store
                .record_confirmation(&ConfirmAttempt {
                    correct: false,
                    ..first
                })
                .await
                .unwrap(),
            ConfirmOutcome::Wrong { count: 2 }
        );
        assert_eq!(
            store.record_confirmation(&first).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
        assert_eq!(state(&store, id).await.confirm_attempts, 2);
        // Another request: a clone.
        assert_eq!(
            store.record_confirmation(&confirm(id, true)).await.unwrap(),
            ConfirmOutcome::CloneSuspected
        );
        let suspended = state(&store, id).await;
        assert_eq!(suspended.status, CardStatus::Suspended);
        assert_eq!(suspended.confirm_attempts, 3);
        // Suspended: the first request again changes nothing either.
        assert_eq!(
            store.record_confirmation(&first).await.unwrap(),
            ConfirmOutcome::Suspended
        );
        assert_eq!(state(&store, id).await, suspended);
        // Lifted by an operator, the card still knows its confirming request.
        store.set_status(id, CardStatus::Active).await.unwrap();
        assert_eq!(
            store.record_confirmation(&first).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
        assert_eq!(state(&store, id).await.confirm_attempts, 3);

        // A card stored active (confirmed by other means) has no confirming
        // request: every correct confirmation is a clone.
        let active = card_with(&store, CardStatus::Active).await;
        assert_eq!(
            store
                .record_confirmation(&ConfirmAttempt {
                    card: active,
                    ..first
                })
                .await
                .unwrap(),
            ConfirmOutcome::CloneSuspected
        );
        // Another card confirmed by a request with the same token (never in
        // practice) is its own card: the token is per card.
        let other = card_with(&store, CardStatus::Pending).await;
        let other_first = ConfirmAttempt {
            card: other,
            ..first
        };
        for _ in 0..2 {
            assert_eq!(
                store.record_confirmation(&other_first).await.unwrap(),
                ConfirmOutcome::Confirmed
            );
        }
        assert_eq!(state(&store, other).await.confirm_attempts, 1);
    }

    /// A retry is answered as the request was, even when that request used
    /// the last attempt or the deadline has passed since.
    pub(crate) async fn a_retry_is_answered_at_the_limit_and_past_the_deadline<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        for count in 1..=2 {
            assert_eq!(
                store
                    .record_confirmation(&confirm(id, false))
                    .await
                    .unwrap(),
                ConfirmOutcome::Wrong { count }
            );
        }
        let last = confirm(id, true);
        assert_eq!(
            store.record_confirmation(&last).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
        assert_eq!(state(&store, id).await.confirm_attempts, 3);
        assert_eq!(
            store.record_confirmation(&last).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
        // Another request at the limit is refused, and suspends nothing.
        assert_eq!(
            store.record_confirmation(&confirm(id, true)).await.unwrap(),
            ConfirmOutcome::Locked
        );
        let deadline = store.card(id).await.unwrap().unwrap().confirm_deadline;
        let late = ConfirmAttempt {
            now: deadline + 1,
            ..last
        };
        assert_eq!(
            store.record_confirmation(&late).await.unwrap(),
            ConfirmOutcome::Confirmed
        );
        assert_eq!(
            store
                .record_confirmation(&ConfirmAttempt {
                    request: random_32(),
                    ..late
                })
                .await
                .unwrap(),
            ConfirmOutcome::Expired
        );
        let after = state(&store, id).await;
        assert_eq!(after.status, CardStatus::Active);
        assert_eq!(after.confirm_attempts, 3);
    }

    pub(crate) async fn concurrent_retries_of_one_confirmation_all_confirm<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        let right = ConfirmAttempt {
            limit: 1000,
            ..confirm(id, true)
        };
        let (store, outcomes) = concurrently(store, 100, |s| async move {
            s.record_confirmation(&right).await.unwrap()
        })
        .await;
        assert!(
            outcomes.iter().all(|o| *o == ConfirmOutcome::Confirmed),
            "{outcomes:?}"
        );
        let after = state(&*store, id).await;
        assert_eq!(after.status, CardStatus::Active);
        assert_eq!(after.confirm_attempts, 1);
    }

    pub(crate) async fn concurrent_confirmations_by_two_requests_suspend_the_card<S: Store>(
        store: S,
    ) {
        let id = card_with(&store, CardStatus::Pending).await;
        let a = ConfirmAttempt {
            limit: 1000,
            ..confirm(id, true)
        };
        let b = ConfirmAttempt {
            request: random_32(),
            ..a
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (store, outcomes) = concurrently(store, 100, |s| {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let attempt = if i.is_multiple_of(2) { a } else { b };
            async move { s.record_confirmation(&attempt).await.unwrap() }
        })
        .await;
        // One request confirms (and its retries are answered alike) until
        // the other's first confirmation suspends the card; every later one
        // finds it suspended.
        let count = |want: ConfirmOutcome| outcomes.iter().filter(|o| **o == want).count();
        assert_eq!(count(ConfirmOutcome::CloneSuspected), 1, "{outcomes:?}");
        assert!(count(ConfirmOutcome::Confirmed) >= 1, "{outcomes:?}");
        assert_eq!(
            count(ConfirmOutcome::Confirmed) + count(ConfirmOutcome::Suspended),
            99,
            "{outcomes:?}"
        );
        let after = state(&*store, id).await;
        assert_eq!(after.status, CardStatus::Suspended);
        assert_eq!(after.confirm_attempts, 2);
    }

    // --- operators -----------------------------------------------------

    pub(crate) async fn set_status_returns_the_previous_status<S: Store>(store: S) {
        let id = card_with(&store, CardStatus::Pending).await;
        for (to, from) in [
            (CardStatus::Active, CardStatus::Pending),
            (CardStatus::Suspended, CardStatus::Active),
            (CardStatus::Suspended, CardStatus::Suspended),
            (CardStatus::Pending, CardStatus::Suspended),
        ] {
            assert_eq!(store.set_status(id, to).await.unwrap(), Some(from));
            assert_eq!(state(&store, id).await.status, to);
            assert_eq!(store.card(id).await.unwrap().unwrap().status, to);
        }
        assert_eq!(
            store
                .set_status(new_id(), CardStatus::Active)
                .await
                .unwrap(),
            None
        );
    }

    pub(crate) async fn reset_attempts_clears_the_count<S: Store>(store: S) {
        let id = active_card(&store).await;
        let miss = attempt(id, PinKind::Second, None);
        for _ in 0..5 {
            store.record_attempt(&miss).await.unwrap();
        }
        assert_eq!(
            store.record_attempt(&miss).await.unwrap(),
            AttemptOutcome::Locked
        );
        assert!(store.reset_attempts(id).await.unwrap());
        assert_eq!(state(&store, id).await.attempts, 0);
        assert_eq!(
            store.record_attempt(&miss).await.unwrap(),
            AttemptOutcome::Failed { count: 1 }
        );
        assert!(store.reset_attempts(id).await.unwrap());
        assert!(!store.reset_attempts(new_id()).await.unwrap());
    }

    pub(crate) async fn resync_sets_if_greater<S: Store>(store: S) {
        let id = active_card(&store).await;
        let miss = attempt(id, PinKind::First, None);
        store.record_attempt(&miss).await.unwrap();
        store.record_attempt(&miss).await.unwrap();
        assert!(store.resync(id, PinKind::First, 100, 30).await.unwrap());
        let after = state(&store, id).await;
        assert_eq!(after.last_step, [Some(100), None]);
        assert_eq!(after.drift, [30, 0]);
        assert_eq!(after.attempts, 0);

        // Not greater: refused, nothing changed (not even the count).
        let with_drift = Attempt { drift: 30, ..miss };
        store.record_attempt(&with_drift).await.unwrap();
        for step in [100, 99, 0] {
            assert!(!store.resync(id, PinKind::First, step, -30).await.unwrap());
        }
        let refused = state(&store, id).await;
        assert_eq!(refused.last_step, [Some(100), None]);
        assert_eq!(refused.drift, [30, 0]);
        assert_eq!(refused.attempts, 1);

        // The resynced step is used: codes at or before it are replays.
        let old = Attempt {
            drift: 30,
            ..attempt(id, PinKind::First, Some(100))
        };
        assert_eq!(
            store.record_attempt(&old).await.unwrap(),
            AttemptOutcome::Failed { count: 2 }
        );
        assert!(store.resync(id, PinKind::First, 101, -30).await.unwrap());
        let moved = state(&store, id).await;
        assert_eq!(moved.last_step, [Some(101), None]);
        assert_eq!(moved.drift, [-30, 0]);
        assert_eq!(moved.attempts, 0);
        // Resync works on any status (an operator's tool).
        store
            .set_status(id, CardStatus::Suspended)
            .await
            .unwrap()
            .unwrap();
        assert!(store.resync(id, PinKind::Second, 5, 0).await.unwrap());
    }

    pub(crate) async fn cards_are_found_by_phone_and_last_four<S: Store>(store: S) {
        let phone = format!("98{}", u128::from_be_bytes(*new_id().as_bytes()));
        let other_phone = format!("{phone}0");
        let with = |phone: Option<&str>, last_four| {
            let id = new_id();
            (
                id,
                CardRecord {
                    phone: phone.map(str::to_owned),
                    last_four,
                    ..record(id, CardStatus::Active)
                },
            )
        };
        let (a, card_a) = with(Some(&phone), 1234);
        let (b, card_b) = with(Some(&phone), 1234);
        let (c, card_c) = with(Some(&phone), 5678);
        let (_, card_d) = with(Some(&other_phone), 1234);
        let (_, card_e) = with(None, 1234);
        for card in [&card_a, &card_b, &card_c, &card_d, &card_e] {
            assert!(store.insert_card(card).await.unwrap());
        }
        let mut found = store.cards_by_phone(&phone, 1234).await.unwrap();
        found.sort();
        let mut expected = vec![a, b];
        expected.sort();
        assert_eq!(found, expected);
        assert_eq!(store.cards_by_phone(&phone, 5678).await.unwrap(), vec![c]);
        assert!(store.cards_by_phone(&phone, 9).await.unwrap().is_empty());
        assert!(
            store
                .cards_by_phone(&format!("{phone}9"), 1234)
                .await
                .unwrap()
                .is_empty()
        );
        // A suspended card (e.g. reissued) no longer answers for the number;
        // lifted, it does again.
        store.set_status(a, CardStatus::Suspended).await.unwrap();
        assert_eq!(store.cards_by_phone(&phone, 1234).await.unwrap(), vec![b]);
        store.set_status(a, CardStatus::Active).await.unwrap();
        assert_eq!(store.cards_by_phone(&phone, 1234).await.unwrap().len(), 2);
    }

    // --- SMS codes -----------------------------------------------------

    pub(crate) async fn an_sms_code_expires_after_its_validity<S: Store>(store: S) {
        let id = active_card(&store).await;
        let before = now();
        let issued = store
            .issue_sms(&sms(id, random_32(), random_32()))
            .await
            .unwrap();
        let after = now();
        let SmsIssued::Stored { expires_at } = issued else {
            panic!("not stored: {issued:?}");
        };
        assert!(
            (before + 120..=after + 121).contains(&expires_at),
            "{before} {expires_at} {after}"
        );
    }

    pub(crate) async fn sms_codes_are_rate_limited<S: Store>(store: S) {
        let id = active_card(&store).await;
        let limited = |slot| SmsIssue {
            max_requests: 3,
            window_seconds: 600,
            ..sms(id, slot, random_32())
        };
        for _ in 0..3 {
            assert!(matches!(
                store.issue_sms(&limited(random_32())).await.unwrap(),
                SmsIssued::Stored { .. }
            ));
        }
        let slot = random_32();
        let refused = store.issue_sms(&limited(slot)).await.unwrap();
        let SmsIssued::RateLimited {
            retry_after_seconds,
        } = refused
        else {
            panic!("not rate limited: {refused:?}");
        };
        assert!(
            (1..=600).contains(&retry_after_seconds),
            "{retry_after_seconds}"
        );
        // Nothing was stored for the refused request.
        assert_eq!(
            store.check_sms(id, slot, random_32()).await.unwrap(),
            SmsChecked::NoPending
        );
        // The window is per card.
        let other = active_card(&store).await;
        assert!(matches!(
            store
                .issue_sms(&SmsIssue {
                    card: other,
                    ..limited(slot)
                })
                .await
                .unwrap(),
            SmsIssued::Stored { .. }
        ));
    }

    pub(crate) async fn a_new_sms_code_replaces_the_pending_one<S: Store>(store: S) {
        let id = active_card(&store).await;
        let slot = random_32();
        let (old, new) = (random_32(), random_32());
        store.issue_sms(&sms(id, slot, old)).await.unwrap();
        assert_eq!(
            store.check_sms(id, slot, other_tag(old)).await.unwrap(),
            SmsChecked::Wrong { remaining: 2 }
        );
        store.issue_sms(&sms(id, slot, new)).await.unwrap();
        // The old code is wrong now, and the attempts start afresh.
        assert_eq!(
            store.check_sms(id, slot, old).await.unwrap(),
            SmsChecked::Wrong { remaining: 2 }
        );
        assert_eq!(
            store.check_sms(id, slot, new).await.unwrap(),
            SmsChecked::Accepted
        );
        // Another slot of the same card is its own code.
        let (slot2, tag2) = (random_32(), random_32());
        store.issue_sms(&sms(id, slot2, tag2)).await.unwrap();
        let slot3 = random_32();
        store.issue_sms(&sms(id, slot3, random_32())).await.unwrap();
        assert_eq!(
            store.check_sms(id, slot2, tag2).await.unwrap(),
            SmsChecked::Accepted
        );
        // Slots are per card.
        let other = active_card(&store).await;
        assert_eq!(
            store.check_sms(other, slot3, tag2).await.unwrap(),
            SmsChecked::NoPending
        );
    }

    pub(crate) async fn an_sms_code_is_single_use<S: Store>(store: S) {
        let id = active_card(&store).await;
        let (slot, tag) = (random_32(), random_32());
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::NoPending
        );
        store.issue_sms(&sms(id, slot, tag)).await.unwrap();
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::Accepted
        );
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::NoPending
        );
    }

    pub(crate) async fn wrong_sms_codes_run_out<S: Store>(store: S) {
        let id = active_card(&store).await;
        let (slot, tag) = (random_32(), random_32());
        store.issue_sms(&sms(id, slot, tag)).await.unwrap();
        let wrong = other_tag(tag);
        assert_eq!(
            store.check_sms(id, slot, wrong).await.unwrap(),
            SmsChecked::Wrong { remaining: 2 }
        );
        assert_eq!(
            store.check_sms(id, slot, wrong).await.unwrap(),
            SmsChecked::Wrong { remaining: 1 }
        );
        assert_eq!(
            store.check_sms(id, slot, wrong).await.unwrap(),
            SmsChecked::TooManyAttempts
        );
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::NoPending
        );
        // A right code on the last attempt is accepted.
        store.issue_sms(&sms(id, slot, tag)).await.unwrap();
        store.check_sms(id, slot, wrong).await.unwrap();
        store.check_sms(id, slot, wrong).await.unwrap();
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::Accepted
        );
    }

    pub(crate) async fn an_expired_sms_code_is_void<S: Store>(store: S) {
        let id = active_card(&store).await;
        let (slot, tag) = (random_32(), random_32());
        let (slot2, tag2) = (random_32(), random_32());
        let short = |slot, tag| SmsIssue {
            validity_seconds: 1,
            ..sms(id, slot, tag)
        };
        store.issue_sms(&short(slot, tag)).await.unwrap();
        store.issue_sms(&short(slot2, tag2)).await.unwrap();
        tokio::time::sleep(PAST_ONE_SECOND).await;
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::Expired
        );
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::NoPending
        );
        assert_eq!(
            store.check_sms(id, slot2, other_tag(tag2)).await.unwrap(),
            SmsChecked::Expired
        );
        assert_eq!(
            store.check_sms(id, slot2, tag2).await.unwrap(),
            SmsChecked::NoPending
        );
    }

    pub(crate) async fn concurrent_wrong_sms_codes_claim_exactly_the_attempts<S: Store>(store: S) {
        let id = active_card(&store).await;
        let (slot, tag) = (random_32(), random_32());
        store.issue_sms(&sms(id, slot, tag)).await.unwrap();
        let wrong = other_tag(tag);
        let (store, outcomes) = concurrently(store, 300, |s| async move {
            s.check_sms(id, slot, wrong).await.unwrap()
        })
        .await;
        let mut remaining: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| match o {
                SmsChecked::Wrong { remaining } => Some(*remaining),
                _ => None,
            })
            .collect();
        remaining.sort_unstable();
        assert_eq!(remaining, [1, 2], "{outcomes:?}");
        let too_many = outcomes
            .iter()
            .filter(|o| **o == SmsChecked::TooManyAttempts)
            .count();
        assert!(too_many >= 1, "{outcomes:?}");
        let rest = outcomes
            .iter()
            .filter(|o| matches!(o, SmsChecked::NoPending | SmsChecked::TooManyAttempts))
            .count();
        assert_eq!(rest, 298, "{outcomes:?}");
        assert_eq!(
            store.check_sms(id, slot, tag).await.unwrap(),
            SmsChecked::NoPending
        );
    }

    // --- activations ---------------------------------------------------

    fn activation(card: CardId, expires_at: u64, max_fetches: u32) -> ActivationRecord {
        ActivationRecord {
            handle: random_32(),
            card,
            payload: format!("DP1.payload-for-{card}"),
            expires_at,
            max_fetches,
        }
    }

    pub(crate) async fn activations_are_fetched_a_limited_number_of_times<S: Store>(store: S) {
        let t = now();
        let id = card_with(&store, CardStatus::Pending).await;
        let a = activation(id, t + 600, 2);
        assert!(store.put_activation(&a, t).await.unwrap());
        let found = ActivationFetch::Found(a.payload.clone());
        assert_eq!(store.fetch_activation(a.handle, t).await.unwrap(), found);
        assert_eq!(
            store.fetch_activation(a.handle, t + 1).await.unwrap(),
            found
        );
        assert_eq!(
            store.fetch_activation(a.handle, t + 2).await.unwrap(),
            ActivationFetch::NotFound
        );
        // A handle is never stored twice (nor its fetches reset).
        let again = ActivationRecord {
            payload: "other".into(),
            ..a.clone()
        };
        assert!(!store.put_activation(&again, t).await.unwrap());
        assert_eq!(
            store.fetch_activation(a.handle, t).await.unwrap(),
            ActivationFetch::NotFound
        );
        assert_eq!(
            store.fetch_activation(random_32(), t).await.unwrap(),
            ActivationFetch::NotFound
        );
        // Zero fetches allowed: never served.
        let none = activation(id, t + 600, 0);
        assert!(store.put_activation(&none, t).await.unwrap());
        assert_eq!(
            store.fetch_activation(none.handle, t).await.unwrap(),
            ActivationFetch::NotFound
        );
    }

    pub(crate) async fn activations_expire<S: Store>(store: S) {
        let t = now();
        let id = card_with(&store, CardStatus::Pending).await;
        let a = activation(id, t + 60, 5);
        assert!(store.put_activation(&a, t).await.unwrap());
        assert_eq!(
            store.fetch_activation(a.handle, t + 59).await.unwrap(),
            ActivationFetch::Found(a.payload.clone())
        );
        assert_eq!(
            store.fetch_activation(a.handle, t + 60).await.unwrap(),
            ActivationFetch::NotFound
        );
        assert_eq!(
            store.fetch_activation(a.handle, t + 1000).await.unwrap(),
            ActivationFetch::NotFound
        );
        // The caller's clock, not the store's: still served at an earlier `now`.
        assert_eq!(
            store.fetch_activation(a.handle, t).await.unwrap(),
            ActivationFetch::Found(a.payload.clone())
        );
    }

    // --- idempotency ---------------------------------------------------

    pub(crate) async fn idempotent_requests_proceed_once_then_replay<S: Store>(store: S) {
        let (client, other_client) = (client(), client());
        let (request, different) = (random_32(), random_32());
        assert_eq!(
            store
                .begin_idempotent(&client, "key-1", request, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        assert_eq!(
            store
                .begin_idempotent(&client, "key-1", request, 60)
                .await
                .unwrap(),
            IdempotencyBegin::InFlight
        );
        assert_eq!(
            store
                .begin_idempotent(&client, "key-1", different, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Mismatch
        );
        // Keys are per client, and per key.
        assert_eq!(
            store
                .begin_idempotent(&other_client, "key-1", different, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        assert_eq!(
            store
                .begin_idempotent(&client, "key-2", different, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        let response = StoredResponse {
            status: 201,
            body: br#"{"card":"x","note":"\u0000 \u00ff"}"#.to_vec(),
        };
        store
            .finish_idempotent(&client, "key-1", &response)
            .await
            .unwrap();
        for _ in 0..2 {
            assert_eq!(
                store
                    .begin_idempotent(&client, "key-1", request, 60)
                    .await
                    .unwrap(),
                IdempotencyBegin::Done(response.clone())
            );
        }
        assert_eq!(
            store
                .begin_idempotent(&client, "key-1", different, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Mismatch
        );
        // Binary bodies and an empty one keep their bytes.
        let binary = StoredResponse {
            status: 409,
            body: (0..=255).collect(),
        };
        store
            .finish_idempotent(&client, "key-2", &binary)
            .await
            .unwrap();
        assert_eq!(
            store
                .begin_idempotent(&client, "key-2", different, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Done(binary)
        );
        let empty = StoredResponse {
            status: 204,
            body: Vec::new(),
        };
        store
            .finish_idempotent(&other_client, "key-1", &empty)
            .await
            .unwrap();
        assert_eq!(
            store
                .begin_idempotent(&other_client, "key-1", different, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Done(empty)
        );
    }

    pub(crate) async fn an_idempotency_lease_runs_out<S: Store>(store: S) {
        let client = client();
        let request = random_32();
        assert_eq!(
            store
                .begin_idempotent(&client, "k", request, 1)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        assert_eq!(
            store
                .begin_idempotent(&client, "k", request, 1)
                .await
                .unwrap(),
            IdempotencyBegin::InFlight
        );
        tokio::time::sleep(PAST_ONE_SECOND).await;
        // The holder is presumed dead: the next one takes over, with a new lease.
        assert_eq!(
            store
                .begin_idempotent(&client, "k", request, 60)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        assert_eq!(
            store
                .begin_idempotent(&client, "k", request, 60)
                .await
                .unwrap(),
            IdempotencyBegin::InFlight
        );
        // Still bound to its request.
        assert_eq!(
            store
                .begin_idempotent(&client, "k", random_32(), 60)
                .await
                .unwrap(),
            IdempotencyBegin::Mismatch
        );
    }

    pub(crate) async fn concurrent_idempotent_begins_proceed_once<S: Store>(store: S) {
        let client = Arc::new(client());
        let request = random_32();
        let (_store, outcomes) = concurrently(store, 100, |s| {
            let client = Arc::clone(&client);
            async move {
                s.begin_idempotent(&client, "once", request, 60)
                    .await
                    .unwrap()
            }
        })
        .await;
        let proceed = outcomes
            .iter()
            .filter(|o| **o == IdempotencyBegin::Proceed)
            .count();
        let in_flight = outcomes
            .iter()
            .filter(|o| **o == IdempotencyBegin::InFlight)
            .count();
        assert_eq!((proceed, in_flight), (1, 99), "{outcomes:?}");
    }

    // --- audit ---------------------------------------------------------

    pub(crate) async fn the_audit_trail_is_per_card_oldest_first<S: Store>(store: S) {
        let (a, b) = (active_card(&store).await, active_card(&store).await);
        let mut mine = Vec::new();
        for i in 0..6 {
            let e = event(Some(a), "locked", &format!("attempt {i}"));
            store.audit(&e).await.unwrap();
            mine.push(e);
            store
                .audit(&event(Some(b), "resynced", &format!("b {i}")))
                .await
                .unwrap();
            store.audit(&event(None, "login", "no card")).await.unwrap();
        }
        assert_eq!(store.audit_trail(a, 100).await.unwrap(), mine);
        assert_eq!(store.audit_trail(a, 6).await.unwrap(), mine);
        assert_eq!(store.audit_trail(a, 3).await.unwrap(), mine[3..].to_vec());
        assert_eq!(store.audit_trail(a, 1).await.unwrap(), mine[5..].to_vec());
        assert!(store.audit_trail(a, 0).await.unwrap().is_empty());
        let theirs = store.audit_trail(b, 100).await.unwrap();
        assert_eq!(theirs.len(), 6);
        assert!(theirs.iter().all(|e| e.card == Some(b)));
        let details: Vec<&str> = theirs.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(details, ["b 0", "b 1", "b 2", "b 3", "b 4", "b 5"]);
        assert!(store.audit_trail(new_id(), 10).await.unwrap().is_empty());
        // Events about no card are kept too (not in any card's trail).
        let seen: HashSet<String> = theirs.into_iter().map(|e| e.event).collect();
        assert!(!seen.contains("login"));
    }
}
