//! The PostgreSQL store ([`PgStore`]) against the database at `DATABASE_URL`
//! (e.g. from `scripts/pg-throwaway start`): its migrations, its append-only
//! audit log, u64 steps, and the hot path's exactly-once under concurrency.
//!
//! Without `DATABASE_URL` each test says it was skipped and passes, unless
//! `DYNPIN_REQUIRE_POSTGRES=1` (as `scripts/test` sets): then it fails.
//! Tests use random card ids so they share one database and run in parallel;
//! the migration tests create (and drop) databases of their own.

use std::sync::Arc;
use std::time::Instant;

use dynpin::card::CardId;
use dynpin::pin::PinKind;
use dynpin_bank::store::postgres::{PgStore, SCHEMA_VERSION};
use dynpin_bank::store::{
    ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord, CardStatus,
    ConfirmAttempt, ConfirmOutcome, SmsChecked, SmsIssue, SmsIssued, Store, step_to_i64,
};
use tokio_postgres::NoTls;

/// `DATABASE_URL`, or `None` after saying the test is skipped (a failure if
/// `DYNPIN_REQUIRE_POSTGRES=1`).
pub(crate) fn database_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("DYNPIN_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "{test}: DATABASE_URL is not set and DYNPIN_REQUIRE_POSTGRES=1"
            );
            eprintln!("{test}: skipped (no DATABASE_URL: no PostgreSQL to test against)");
            None
        }
    }
}

/// Connections per store in the suite's tests; the concurrency tests below
/// take [`CONCURRENT_POOL`]. Small, so that as many tests as a big machine
/// runs at once stay within the server's default 100 connections.
const SUITE_POOL: usize = 4;
const CONCURRENT_POOL: usize = 10;

/// A store on `DATABASE_URL`, or `None` (skipped).
pub(crate) async fn pg_store(test: &str) -> Option<PgStore> {
    let url = database_url(test)?;
    Some(PgStore::connect(&url, SUITE_POOL).await.unwrap())
}

fn card_record(status: CardStatus) -> CardRecord {
    CardRecord {
        id: CardId::random().unwrap(),
        key_id: "kek-1".into(),
        sealed: vec![0xA5; 48],
        status,
        confirm_deadline: 1_900_000_000,
        phone: Some("989121234567".into()),
        last_four: 1234,
    }
}

fn attempt(card: CardId, matched: Option<u64>, limit: u32) -> Attempt {
    Attempt {
        card,
        kind: PinKind::Second,
        limit,
        drift: 0,
        matched,
        transaction: None,
        horizon: 0,
    }
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{db}{query}")
}

async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// A fresh, empty database on the server of `url`, dropped when the test is done.
struct FreshDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDatabase {
    async fn create(url: &str) -> Self {
        let suffix: String = CardId::random()
            .unwrap()
            .as_bytes()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        let name = format!("dynpin_test_{suffix}");
        raw_client(url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Self {
            admin_url: url.to_owned(),
            url: with_database(url, &name),
            name,
        }
    }

    async fn drop(self) {
        raw_client(&self.admin_url)
            .await
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn postgres_migrations_are_applied_once_by_instances_racing_on_a_fresh_database() {
    let Some(url) = database_url("postgres_migrations_race") else {
        return;
    };
    let db = FreshDatabase::create(&url).await;
    let (a, b, c) = tokio::join!(
        PgStore::connect(&db.url, 2),
        PgStore::connect(&db.url, 2),
        PgStore::connect(&db.url, 2),
    );
    let stores = [a.unwrap(), b.unwrap(), c.unwrap()];
    let raw = raw_client(&db.url).await;
    let rows = raw
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    let names: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(names, ["initial", "confirm_request"]);
    // Every instance works on the schema.
    for store in &stores {
        let card = card_record(CardStatus::Active);
        assert!(store.insert_card(&card).await.unwrap());
        assert_eq!(store.card(card.id).await.unwrap(), Some(card));
    }
    drop(stores);
    drop(raw);
    db.drop().await;
}

#[tokio::test]
async fn postgres_reconnecting_does_not_reapply_migrations() {
    let Some(url) = database_url("postgres_reconnect") else {
        return;
    };
    let db = FreshDatabase::create(&url).await;
    let store = PgStore::connect(&db.url, 1).await.unwrap();
    let card = card_record(CardStatus::Pending);
    assert!(store.insert_card(&card).await.unwrap());
    drop(store);
    let raw = raw_client(&db.url).await;
    let before: Vec<(i32, std::time::SystemTime)> = raw
        .query(
            "SELECT version, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let store = PgStore::connect(&db.url, 1).await.unwrap();
    let after: Vec<(i32, std::time::SystemTime)> = raw
        .query(
            "SELECT version, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(before, after);
    // The data survived (the schema was not created again).
    assert_eq!(store.card(card.id).await.unwrap(), Some(card));
    drop(store);
    drop(raw);
    db.drop().await;
}

/// A database an older build (schema version 1) filled is brought to the
/// current version with its cards intact: a card confirmed before the upgrade
/// has no confirming request (a second confirmation is a clone, as it was),
/// and a card confirmed after it knows its request.
#[tokio::test]
async fn postgres_a_version_1_database_is_migrated_with_its_cards() {
    let Some(url) = database_url("postgres_migrate_from_1") else {
        return;
    };
    let db = FreshDatabase::create(&url).await;
    let raw = raw_client(&db.url).await;
    // What a build of version 1 did at connect.
    raw.batch_execute(
        "CREATE TABLE schema_migrations (\
             version    integer PRIMARY KEY, \
             name       text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    raw.batch_execute(include_str!("../migrations/postgres/0001_initial.sql"))
        .await
        .unwrap();
    raw.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (1, 'initial')",
        &[],
    )
    .await
    .unwrap();
    let old = card_record(CardStatus::Active);
    let id: &[u8] = old.id.as_bytes();
    raw.execute(
        "INSERT INTO card (id, key_id, sealed, confirm_deadline, phone, last_four) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id,
            &old.key_id,
            &old.sealed,
            &step_to_i64(old.confirm_deadline),
            &old.phone,
            &i32::from(old.last_four),
        ],
    )
    .await
    .unwrap();
    raw.execute(
        "INSERT INTO card_state (card_id, status, confirm_attempts) VALUES ($1, 'active', 1)",
        &[&id],
    )
    .await
    .unwrap();

    let store = PgStore::connect(&db.url, 2).await.unwrap();
    let versions: Vec<i32> = raw
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    assert_eq!(store.card(old.id).await.unwrap(), Some(old.clone()));
    let token: Option<Vec<u8>> = raw
        .query_one(
            "SELECT confirm_request FROM card_state WHERE card_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(token, None);
    let confirm = |card: CardId, request: [u8; 32]| ConfirmAttempt {
        card,
        limit: 5,
        correct: true,
        now: 1_800_000_000,
        request,
    };
    assert_eq!(
        store
            .record_confirmation(&confirm(old.id, [1; 32]))
            .await
            .unwrap(),
        ConfirmOutcome::CloneSuspected
    );
    let new = card_record(CardStatus::Pending);
    assert!(store.insert_card(&new).await.unwrap());
    for _ in 0..2 {
        assert_eq!(
            store
                .record_confirmation(&confirm(new.id, [2; 32]))
                .await
                .unwrap(),
            ConfirmOutcome::Confirmed
        );
    }
    let token: Option<Vec<u8>> = raw
        .query_one(
            "SELECT confirm_request FROM card_state WHERE card_id = $1",
            &[&new.id.as_bytes().as_slice()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(token, Some(vec![2; 32]));
    // The column takes a 32-byte token only.
    let short = raw
        .execute(
            "UPDATE card_state SET confirm_request = '\\x00' WHERE card_id = $1",
            &[&id],
        )
        .await
        .unwrap_err();
    assert_eq!(
        short.code(),
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION)
    );
    drop(store);
    drop(raw);
    db.drop().await;
}

#[tokio::test]
async fn postgres_a_newer_schema_is_refused() {
    let Some(url) = database_url("postgres_newer_schema") else {
        return;
    };
    let db = FreshDatabase::create(&url).await;
    drop(PgStore::connect(&db.url, 1).await.unwrap());
    let raw = raw_client(&db.url).await;
    raw.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')",
        &[&(SCHEMA_VERSION + 1)],
    )
    .await
    .unwrap();
    let error = PgStore::connect(&db.url, 1).await.unwrap_err();
    assert!(error.to_string().contains("newer"), "{error}");
    assert!(
        error
            .to_string()
            .contains(&(SCHEMA_VERSION + 1).to_string()),
        "{error}"
    );
    drop(raw);
    db.drop().await;
}

#[tokio::test]
async fn postgres_migration_files_are_all_embedded() {
    // Every bank/migrations/postgres/NNNN_name.sql, numbered 1, 2, … up to SCHEMA_VERSION.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut versions: Vec<i32> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(name.ends_with(".sql"), "{name}");
            name[..4].parse().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
}

#[tokio::test]
async fn postgres_the_audit_log_is_append_only() {
    let Some(url) = database_url("postgres_audit_append_only") else {
        return;
    };
    let store = PgStore::connect(&url, 2).await.unwrap();
    let card = CardId::random().unwrap();
    let event = AuditEvent {
        card: Some(card),
        event: "provisioned".into(),
        actor: "test".into(),
        detail: "kek-1".into(),
    };
    store.audit(&event).await.unwrap();
    let raw = raw_client(&url).await;
    let id: &[u8] = card.as_bytes();
    for sql in [
        "UPDATE audit_log SET detail = 'rewritten' WHERE card_id = $1",
        "DELETE FROM audit_log WHERE card_id = $1",
        // Even statements that touch no row.
        "UPDATE audit_log SET detail = 'x' WHERE card_id = $1 AND false",
        "DELETE FROM audit_log WHERE card_id = $1 AND false",
    ] {
        let error = raw.execute(sql, &[&id]).await.unwrap_err();
        let db = error.as_db_error().unwrap();
        assert!(db.message().contains("append-only"), "{sql}: {db:?}");
    }
    let error = raw.batch_execute("TRUNCATE audit_log").await.unwrap_err();
    assert!(
        error
            .as_db_error()
            .unwrap()
            .message()
            .contains("append-only"),
        "{error}"
    );
    assert_eq!(store.audit_trail(card, 10).await.unwrap(), vec![event]);
}

#[tokio::test]
async fn postgres_u64_steps_and_times_round_trip_up_to_u64_max() {
    let Some(store) = pg_store("postgres_u64_round_trip").await else {
        return;
    };
    let mut record = card_record(CardStatus::Active);
    record.confirm_deadline = u64::MAX;
    record.last_four = u16::MAX;
    assert!(store.insert_card(&record).await.unwrap());
    assert_eq!(store.card(record.id).await.unwrap(), Some(record.clone()));

    // Steps across the sign bit keep their order.
    for (step, outcome) in [
        (0, AttemptOutcome::Accepted),
        (1 << 63, AttemptOutcome::Accepted),
        ((1 << 63) - 1, AttemptOutcome::Failed { count: 1 }),
        (u64::MAX - 1, AttemptOutcome::Accepted),
        (u64::MAX, AttemptOutcome::Accepted),
        (u64::MAX, AttemptOutcome::Failed { count: 1 }),
    ] {
        let got = store
            .record_attempt(&attempt(record.id, Some(step), 10))
            .await
            .unwrap();
        assert_eq!(got, outcome, "step {step}");
    }
    let state = store.state(record.id).await.unwrap().unwrap();
    assert_eq!(state.last_step, [None, Some(u64::MAX)]);

    // The first PIN: resync to u64::MAX, then nothing is newer.
    assert!(
        store
            .resync(record.id, PinKind::First, u64::MAX, -30)
            .await
            .unwrap()
    );
    assert!(
        !store
            .resync(record.id, PinKind::First, u64::MAX, 0)
            .await
            .unwrap()
    );
    let state = store.state(record.id).await.unwrap().unwrap();
    assert_eq!(state.last_step, [Some(u64::MAX), Some(u64::MAX)]);
    assert_eq!(state.drift, [-30, 0]);

    // An activation that never expires, fetched at the end of time.
    let mut handle = [0; 32];
    handle[..16].copy_from_slice(CardId::random().unwrap().as_bytes());
    let activation = ActivationRecord {
        handle,
        card: record.id,
        payload: "payload".into(),
        expires_at: u64::MAX,
        max_fetches: 1,
    };
    assert!(
        store
            .put_activation(&activation, u64::MAX - 1)
            .await
            .unwrap()
    );
    assert_eq!(
        store.fetch_activation(handle, u64::MAX - 1).await.unwrap(),
        ActivationFetch::Found("payload".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_500_concurrent_attempts_of_one_step_accept_exactly_once() {
    let Some(url) = database_url("postgres_concurrent_accept") else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url, CONCURRENT_POOL).await.unwrap());
    let record = card_record(CardStatus::Active);
    assert!(store.insert_card(&record).await.unwrap());
    let started = Instant::now();
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let store = Arc::clone(&store);
            let a = attempt(record.id, Some(1_000), 1_000);
            tokio::spawn(async move { store.record_attempt(&a).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    let mut counts = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            AttemptOutcome::Accepted => accepted += 1,
            AttemptOutcome::Failed { count } => counts.push(count),
            other => panic!("unexpected {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "500 concurrent record_attempt on one card: {elapsed:?} ({:.0}/s)",
        500.0 / elapsed.as_secs_f64()
    );
    // The first update to run accepts (no step was used); every other one
    // is a replay, counted one by one after it.
    assert_eq!(accepted, 1);
    counts.sort_unstable();
    assert_eq!(counts, (1..=499).collect::<Vec<_>>());
    let state = store.state(record.id).await.unwrap().unwrap();
    assert_eq!(state.last_step[1], Some(1_000));
    assert_eq!(state.attempts, 499);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_500_concurrent_wrong_attempts_count_exactly_the_limit() {
    let Some(url) = database_url("postgres_concurrent_wrong") else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url, CONCURRENT_POOL).await.unwrap());
    let record = card_record(CardStatus::Active);
    assert!(store.insert_card(&record).await.unwrap());
    const LIMIT: u32 = 10;
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let store = Arc::clone(&store);
            let a = attempt(record.id, None, LIMIT);
            tokio::spawn(async move { store.record_attempt(&a).await.unwrap() })
        })
        .collect();
    let mut failed = Vec::new();
    let mut locked = 0;
    for task in tasks {
        match task.await.unwrap() {
            AttemptOutcome::Failed { count } => failed.push(count),
            AttemptOutcome::Locked => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    failed.sort_unstable();
    assert_eq!(failed, (1..=LIMIT).collect::<Vec<_>>());
    assert_eq!(locked, 500 - LIMIT as usize);
    assert_eq!(
        store.state(record.id).await.unwrap().unwrap().attempts,
        LIMIT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_amount_bound_codes_are_accepted_once_per_transaction() {
    let Some(url) = database_url("postgres_concurrent_amount_bound") else {
        return;
    };
    let store = Arc::new(PgStore::connect(&url, CONCURRENT_POOL).await.unwrap());
    let record = card_record(CardStatus::Active);
    assert!(store.insert_card(&record).await.unwrap());
    // 100 tries each of 2 transactions at one step.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = Arc::clone(&store);
            let a = Attempt {
                kind: PinKind::AmountBound,
                transaction: Some([u8::from(i % 2 == 0); 32]),
                horizon: 100,
                ..attempt(record.id, Some(5_000), 1_000)
            };
            tokio::spawn(async move { store.record_attempt(&a).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            AttemptOutcome::Accepted => accepted += 1,
            AttemptOutcome::Failed { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 2);
}

#[tokio::test]
async fn postgres_errors_never_show_the_password() {
    let Some(url) = database_url("postgres_error_secrets") else {
        return;
    };
    // A wrong password: the server refuses it; the message names the SQLSTATE only.
    let config: tokio_postgres::Config = url.parse().unwrap();
    let password = std::str::from_utf8(config.get_password().unwrap()).unwrap();
    let wrong = url.replacen(password, "not-the-Password-42", 1);
    let error = PgStore::connect(&wrong, 1).await.unwrap_err().to_string();
    assert!(error.contains("28P01"), "{error}");
    assert!(!error.contains("not-the-Password-42"), "{error}");
    assert!(!error.contains(password), "{error}");
    // An invalid URL is not quoted either.
    let error = PgStore::connect("postgres://u:s3cret@[bad/db", 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(!error.contains("s3cret"), "{error}");
}

// The backend-independent behaviour suite (bank/tests/store.rs) on PgStore;
// without DATABASE_URL each test says it is skipped and passes (the block
// returns from the test).
store_behaviour!(postgres, {
    let Some(store) = pg_store("store_postgres::postgres (the behaviour suite)").await else {
        return;
    };
    std::future::ready(store)
});

#[tokio::test]
async fn postgres_sms_codes_for_an_unknown_card_are_kept_as_in_memory() {
    // The card has no state row to lock: its codes are serialised by an
    // advisory lock instead, and stored as MemoryStore stores them.
    let Some(store) = pg_store("postgres_sms_unknown_card").await else {
        return;
    };
    let stranger = CardId::random().unwrap();
    let mut slot = [0; 32];
    slot[..16].copy_from_slice(CardId::random().unwrap().as_bytes());
    let tag = [7; 32];
    let issue = SmsIssue {
        card: stranger,
        slot,
        tag,
        validity_seconds: 120,
        max_attempts: 3,
        max_requests: 1,
        window_seconds: 3600,
    };
    assert!(matches!(
        store.issue_sms(&issue).await.unwrap(),
        SmsIssued::Stored { .. }
    ));
    assert!(matches!(
        store.issue_sms(&issue).await.unwrap(),
        SmsIssued::RateLimited { retry_after_seconds } if retry_after_seconds > 3590
    ));
    assert_eq!(
        store.check_sms(stranger, slot, tag).await.unwrap(),
        SmsChecked::Accepted
    );
}
