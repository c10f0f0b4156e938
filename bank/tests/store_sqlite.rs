//! The embedded SQLite store: the behaviour suite in memory and in a file,
//! then what only a file shows: a reopened file keeps every state, two
//! stores on one file stay exactly-once, the schema is versioned, and an
//! unreadable row fails closed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dynpin::card::CardId;
use dynpin::pin::PinKind;
use dynpin_bank::store::sqlite::SqliteStore;
use dynpin_bank::store::{
    ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord, CardState,
    CardStatus, ConfirmAttempt, ConfirmOutcome, IdempotencyBegin, SmsChecked, SmsIssue, SmsIssued,
    Store, StoreResult, StoredResponse,
};
use tokio::task::JoinSet;

store_behaviour!(sqlite_in_memory, async {
    SqliteStore::open_in_memory().unwrap()
});

store_behaviour!(sqlite_file, async { FileStore::new() });

/// A fresh directory under the target's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("store-sqlite-{}", CardId::random().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("bank.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file-backed store that removes its directory when dropped.
struct FileStore {
    store: SqliteStore,
    _dir: TempDir,
}

impl FileStore {
    fn new() -> Self {
        let dir = TempDir::new();
        Self {
            store: SqliteStore::open(dir.file()).unwrap(),
            _dir: dir,
        }
    }
}

impl Store for FileStore {
    async fn ping(&self) -> StoreResult<()> {
        self.store.ping().await
    }
    async fn insert_card(&self, card: &CardRecord) -> StoreResult<bool> {
        self.store.insert_card(card).await
    }
    async fn card(&self, id: CardId) -> StoreResult<Option<CardRecord>> {
        self.store.card(id).await
    }
    async fn state(&self, id: CardId) -> StoreResult<Option<CardState>> {
        self.store.state(id).await
    }
    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<AttemptOutcome> {
        self.store.record_attempt(attempt).await
    }
    async fn record_confirmation(&self, attempt: &ConfirmAttempt) -> StoreResult<ConfirmOutcome> {
        self.store.record_confirmation(attempt).await
    }
    async fn set_status(&self, id: CardId, status: CardStatus) -> StoreResult<Option<CardStatus>> {
        self.store.set_status(id, status).await
    }
    async fn reset_attempts(&self, id: CardId) -> StoreResult<bool> {
        self.store.reset_attempts(id).await
    }
    async fn resync(&self, id: CardId, kind: PinKind, step: u64, drift: i64) -> StoreResult<bool> {
        self.store.resync(id, kind, step, drift).await
    }
    async fn cards_by_phone(&self, phone: &str, last_four: u16) -> StoreResult<Vec<CardId>> {
        self.store.cards_by_phone(phone, last_four).await
    }
    async fn issue_sms(&self, issue: &SmsIssue) -> StoreResult<SmsIssued> {
        self.store.issue_sms(issue).await
    }
    async fn check_sms(
        &self,
        card: CardId,
        slot: [u8; 32],
        tag: [u8; 32],
    ) -> StoreResult<SmsChecked> {
        self.store.check_sms(card, slot, tag).await
    }
    async fn put_activation(&self, activation: &ActivationRecord, now: u64) -> StoreResult<bool> {
        self.store.put_activation(activation, now).await
    }
    async fn fetch_activation(&self, handle: [u8; 32], now: u64) -> StoreResult<ActivationFetch> {
        self.store.fetch_activation(handle, now).await
    }
    async fn begin_idempotent(
        &self,
        client: &str,
        key: &str,
        request: [u8; 32],
        lease_seconds: u64,
    ) -> StoreResult<IdempotencyBegin> {
        self.store
            .begin_idempotent(client, key, request, lease_seconds)
            .await
    }
    async fn finish_idempotent(
        &self,
        client: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        self.store.finish_idempotent(client, key, response).await
    }
    async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.store.audit(event).await
    }
    async fn audit_trail(&self, card: CardId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.store.audit_trail(card, limit).await
    }
}

// --- helpers -----------------------------------------------------------------

const T: u64 = 1_800_000_000;

fn new_id() -> CardId {
    CardId::random().unwrap()
}

fn bytes32(n: u8) -> [u8; 32] {
    [n; 32]
}

fn card(id: CardId, status: CardStatus) -> CardRecord {
    CardRecord {
        id,
        key_id: "kek-7".into(),
        sealed: vec![0xde, 0xad, 0, 0xbe, 0xef],
        status,
        confirm_deadline: T + 3600,
        phone: Some("989120000000".into()),
        last_four: 4321,
    }
}

fn attempt(card: CardId, kind: PinKind, matched: Option<u64>) -> Attempt {
    Attempt {
        card,
        kind,
        limit: 1000,
        drift: 0,
        matched,
        transaction: None,
        horizon: 64,
    }
}

/// A manual store clock.
fn manual_clock() -> (Arc<AtomicU64>, dynpin_bank::store::memory::StoreClock) {
    let now = Arc::new(AtomicU64::new(T));
    let read = Arc::clone(&now);
    (now, Arc::new(move || read.load(Ordering::SeqCst)))
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

// --- files ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reopened_file_keeps_every_state() {
    let dir = TempDir::new();
    let (clock_now, clock) = manual_clock();
    let store = SqliteStore::open(dir.file())
        .unwrap()
        .with_clock(clock.clone());

    // A card confirmed, with steps on both PINs (across i64::MAX), a drift,
    // an amount-bound transaction and a failure counted.
    let a = new_id();
    let record = card(a, CardStatus::Pending);
    assert!(store.insert_card(&record).await.unwrap());
    let confirm = ConfirmAttempt {
        card: a,
        limit: 5,
        correct: true,
        now: T,
        request: bytes32(11),
    };
    assert_eq!(
        store.record_confirmation(&confirm).await.unwrap(),
        ConfirmOutcome::Confirmed
    );
    let high = u64::MAX - 5;
    assert_eq!(
        store
            .record_attempt(&attempt(a, PinKind::First, Some(high)))
            .await
            .unwrap(),
        AttemptOutcome::Accepted
    );
    let mid = (i64::MAX as u64) + 7;
    assert!(store.resync(a, PinKind::Second, mid, -30).await.unwrap());
    let tx = bytes32(9);
    let bound = Attempt {
        drift: -30,
        transaction: Some(tx),
        ..attempt(a, PinKind::AmountBound, Some(1000))
    };
    assert_eq!(
        store.record_attempt(&bound).await.unwrap(),
        AttemptOutcome::Accepted
    );
    let miss = Attempt {
        drift: -30,
        ..attempt(a, PinKind::Second, None)
    };
    assert_eq!(
        store.record_attempt(&miss).await.unwrap(),
        AttemptOutcome::Failed { count: 1 }
    );
    let b = new_id();
    assert!(
        store
            .insert_card(&CardRecord {
                phone: None,
                ..card(b, CardStatus::Suspended)
            })
            .await
            .unwrap()
    );

    // An SMS code with one wrong attempt, in a window of two sends.
    let sms = |slot, tag| SmsIssue {
        card: a,
        slot,
        tag,
        validity_seconds: 120,
        max_attempts: 3,
        max_requests: 2,
        window_seconds: 3600,
    };
    let (slot, tag) = (bytes32(1), bytes32(2));
    assert_eq!(
        store.issue_sms(&sms(slot, tag)).await.unwrap(),
        SmsIssued::Stored {
            expires_at: T + 120
        }
    );
    assert_eq!(
        store.check_sms(a, slot, bytes32(3)).await.unwrap(),
        SmsChecked::Wrong { remaining: 2 }
    );
    clock_now.store(T + 10, Ordering::SeqCst);
    store.issue_sms(&sms(bytes32(4), bytes32(5))).await.unwrap();

    // An activation fetched once; one idempotent request done, one in flight.
    let activation = ActivationRecord {
        handle: bytes32(6),
        card: a,
        payload: "DP1.sealed".into(),
        expires_at: T + 600,
        max_fetches: 3,
    };
    assert!(store.put_activation(&activation, T).await.unwrap());
    store.fetch_activation(activation.handle, T).await.unwrap();
    let response = StoredResponse {
        status: 201,
        body: b"{\"ok\":true}".to_vec(),
    };
    store
        .begin_idempotent("client", "done", bytes32(7), 60)
        .await
        .unwrap();
    store
        .finish_idempotent("client", "done", &response)
        .await
        .unwrap();
    store
        .begin_idempotent("client", "held", bytes32(8), 600)
        .await
        .unwrap();
    let events: Vec<AuditEvent> = ["provisioned", "confirmed", "resynced"]
        .iter()
        .map(|e| AuditEvent {
            card: Some(a),
            event: (*e).into(),
            actor: "op".into(),
            detail: String::new(),
        })
        .collect();
    for e in &events {
        store.audit(e).await.unwrap();
    }
    let state_a = store.state(a).await.unwrap().unwrap();
    assert_eq!(
        state_a,
        CardState {
            status: CardStatus::Active,
            attempts: 1,
            confirm_attempts: 1,
            last_step: [Some(high), Some(mid)],
            drift: [0, -30],
        }
    );
    drop(store);

    let store = SqliteStore::open(dir.file()).unwrap().with_clock(clock);
    assert_eq!(
        store.card(a).await.unwrap(),
        Some(CardRecord {
            status: CardStatus::Active,
            ..record
        })
    );
    assert_eq!(store.state(a).await.unwrap(), Some(state_a));
    assert_eq!(
        store.state(b).await.unwrap().unwrap().status,
        CardStatus::Suspended
    );
    assert_eq!(
        store.cards_by_phone("989120000000", 4321).await.unwrap(),
        vec![a]
    );
    // Used steps stay used.
    assert_eq!(
        store.record_attempt(&bound).await.unwrap(),
        AttemptOutcome::Failed { count: 2 }
    );
    assert_eq!(
        store
            .record_attempt(&attempt(a, PinKind::First, Some(high)))
            .await
            .unwrap(),
        AttemptOutcome::Failed { count: 3 }
    );
    assert!(!store.resync(a, PinKind::Second, mid, 0).await.unwrap());
    // The confirming request is kept: its retry is no clone.
    assert_eq!(
        store.record_confirmation(&confirm).await.unwrap(),
        ConfirmOutcome::Confirmed
    );
    assert_eq!(store.state(a).await.unwrap().unwrap().confirm_attempts, 1);
    // The SMS code's attempts and the rate window.
    assert_eq!(
        store.check_sms(a, slot, bytes32(3)).await.unwrap(),
        SmsChecked::Wrong { remaining: 1 }
    );
    assert_eq!(
        store.issue_sms(&sms(bytes32(10), tag)).await.unwrap(),
        SmsIssued::RateLimited {
            retry_after_seconds: 3590
        }
    );
    assert_eq!(
        store.check_sms(a, slot, tag).await.unwrap(),
        SmsChecked::Accepted
    );
    // The activation's fetches.
    for _ in 0..2 {
        assert_eq!(
            store.fetch_activation(activation.handle, T).await.unwrap(),
            ActivationFetch::Found(activation.payload.clone())
        );
    }
    assert_eq!(
        store.fetch_activation(activation.handle, T).await.unwrap(),
        ActivationFetch::NotFound
    );
    // Idempotency and the audit log.
    assert_eq!(
        store
            .begin_idempotent("client", "done", bytes32(7), 60)
            .await
            .unwrap(),
        IdempotencyBegin::Done(response)
    );
    assert_eq!(
        store
            .begin_idempotent("client", "held", bytes32(8), 60)
            .await
            .unwrap(),
        IdempotencyBegin::InFlight
    );
    assert_eq!(store.audit_trail(a, 10).await.unwrap(), events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_stay_exactly_once() {
    let dir = TempDir::new();
    let one = Arc::new(SqliteStore::open(dir.file()).unwrap());
    let two = Arc::new(SqliteStore::open(dir.file()).unwrap());
    let id = new_id();
    assert!(
        one.insert_card(&card(id, CardStatus::Active))
            .await
            .unwrap()
    );

    let hit = attempt(id, PinKind::Second, Some(77));
    let mut tasks = JoinSet::new();
    for i in 0..200 {
        let store = Arc::clone(if i % 2 == 0 { &one } else { &two });
        tasks.spawn(async move { store.record_attempt(&hit).await.unwrap() });
    }
    let outcomes = tasks.join_all().await;
    let accepted = outcomes
        .iter()
        .filter(|o| **o == AttemptOutcome::Accepted)
        .count();
    assert_eq!(accepted, 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, AttemptOutcome::Failed { .. }))
            .count(),
        199
    );
    let seen_by_one = one.state(id).await.unwrap().unwrap();
    assert_eq!(seen_by_one.last_step, [None, Some(77)]);
    assert_eq!(two.state(id).await.unwrap(), Some(seen_by_one));

    // The attempt limit holds across both too.
    assert!(one.reset_attempts(id).await.unwrap());
    let miss = Attempt {
        limit: 10,
        ..attempt(id, PinKind::First, None)
    };
    let mut tasks = JoinSet::new();
    for i in 0..200 {
        let store = Arc::clone(if i % 2 == 0 { &one } else { &two });
        tasks.spawn(async move { store.record_attempt(&miss).await.unwrap() });
    }
    let mut counts: Vec<u32> = tasks
        .join_all()
        .await
        .into_iter()
        .filter_map(|o| match o {
            AttemptOutcome::Failed { count } => Some(count),
            AttemptOutcome::Locked => None,
            other => panic!("{other:?}"),
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<u32>>());
}

#[test]
fn two_processes_opening_a_new_file_migrate_it_once() {
    let dir = TempDir::new();
    let path = dir.file();
    std::thread::scope(|s| {
        let opened: Vec<_> = (0..4)
            .map(|_| s.spawn(|| SqliteStore::open(&path).map(drop)))
            .collect();
        for handle in opened {
            handle.join().unwrap().unwrap();
        }
    });
    let conn = raw(&path);
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn the_schema_is_at_version_2() {
    // 1: the first schema; 2: the confirming request's token.
    assert_eq!(SqliteStore::SCHEMA_VERSION, 2);
}

/// A file an older build (schema version 1) wrote is brought to the current
/// version with its cards intact: a card confirmed before the upgrade has no
/// confirming request (a second confirmation is a clone, as it was), and a
/// card confirmed after it knows its request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_1_file_is_migrated_with_its_cards() {
    let dir = TempDir::new();
    let confirm = |card, request| ConfirmAttempt {
        card,
        limit: 5,
        correct: true,
        now: T,
        request,
    };
    let old = new_id();
    {
        let store = SqliteStore::open(dir.file()).unwrap();
        assert!(
            store
                .insert_card(&card(old, CardStatus::Pending))
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .record_confirmation(&confirm(old, bytes32(1)))
                .await
                .unwrap(),
            ConfirmOutcome::Confirmed
        );
    }
    // Back to the first schema, as version 1 wrote it.
    raw(&dir.file())
        .execute_batch("ALTER TABLE cards DROP COLUMN confirm_request; PRAGMA user_version = 1;")
        .unwrap();

    let store = SqliteStore::open(dir.file()).unwrap();
    let version: u32 = raw(&dir.file())
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
    let state = store.state(old).await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.confirm_attempts),
        (CardStatus::Active, 1)
    );
    assert_eq!(
        store
            .record_confirmation(&confirm(old, bytes32(1)))
            .await
            .unwrap(),
        ConfirmOutcome::CloneSuspected
    );
    let new = new_id();
    assert!(
        store
            .insert_card(&card(new, CardStatus::Pending))
            .await
            .unwrap()
    );
    for _ in 0..2 {
        assert_eq!(
            store
                .record_confirmation(&confirm(new, bytes32(2)))
                .await
                .unwrap(),
            ConfirmOutcome::Confirmed
        );
    }
    // The column takes a 32-byte token only.
    let short = raw(&dir.file()).execute(
        "UPDATE cards SET confirm_request = x'00' WHERE id = ?1",
        [new.as_bytes()],
    );
    assert!(
        short
            .unwrap_err()
            .to_string()
            .contains("CHECK constraint failed"),
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = TempDir::new();
    drop(SqliteStore::open(dir.file()).unwrap());
    raw(&dir.file())
        .pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION + 1)
        .unwrap();
    let err = SqliteStore::open(dir.file()).unwrap_err();
    assert!(err.to_string().contains("newer than this build"), "{err}");
    // Opening again at the known version works.
    raw(&dir.file())
        .pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION)
        .unwrap();
    SqliteStore::open(dir.file()).unwrap();
}

#[test]
fn another_applications_database_is_refused() {
    let dir = TempDir::new();
    raw(&dir.file())
        .execute_batch("CREATE TABLE cards (x INTEGER)")
        .unwrap();
    let err = SqliteStore::open(dir.file()).unwrap_err();
    assert!(err.to_string().contains("not a dynpin bank store"), "{err}");

    let other = dir.0.join("other.db");
    raw(&other)
        .pragma_update(None, "application_id", 42)
        .unwrap();
    let err = SqliteStore::open(&other).unwrap_err();
    assert!(err.to_string().contains("not a dynpin bank store"), "{err}");

    let garbage = dir.0.join("garbage.db");
    std::fs::write(&garbage, [0x5a_u8; 4096]).unwrap();
    assert!(SqliteStore::open(&garbage).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreadable_row_fails_closed_without_secrets() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.file()).unwrap();
    let id = new_id();
    assert!(
        store
            .insert_card(&card(id, CardStatus::Active))
            .await
            .unwrap()
    );
    let conn = raw(&dir.file());
    conn.execute_batch("PRAGMA ignore_check_constraints = ON")
        .unwrap();
    conn.execute(
        "UPDATE cards SET status = 'bogus' WHERE id = ?1",
        [id.as_bytes()],
    )
    .unwrap();
    assert!(store.state(id).await.is_err());
    assert!(store.card(id).await.is_err());
    let err = store
        .record_attempt(&attempt(id, PinKind::Second, Some(5)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("unknown card status"), "{text}");
    assert!(!text.contains("dead") && !text.contains("bogus"), "{text}");

    // A deadline beyond the range is refused, not stored wrongly.
    let far = CardRecord {
        confirm_deadline: u64::MAX,
        ..card(new_id(), CardStatus::Pending)
    };
    assert!(store.insert_card(&far).await.is_err());
    assert_eq!(store.card(far.id).await.unwrap(), None);
}

#[test]
fn the_audit_log_is_append_only() {
    let dir = TempDir::new();
    drop(SqliteStore::open(dir.file()).unwrap());
    let conn = raw(&dir.file());
    conn.execute(
        "INSERT INTO audit (at, card, event, actor, detail) VALUES (1, NULL, 'e', 'a', 'd')",
        [],
    )
    .unwrap();
    assert!(conn.execute("UPDATE audit SET event = 'x'", []).is_err());
    assert!(conn.execute("DELETE FROM audit", []).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_and_leases_read_the_store_clock() {
    let (now, clock) = manual_clock();
    let store = SqliteStore::open_in_memory().unwrap().with_clock(clock);
    let id = new_id();
    let issue = SmsIssue {
        card: id,
        slot: bytes32(1),
        tag: bytes32(2),
        validity_seconds: 120,
        max_attempts: 3,
        max_requests: 1,
        window_seconds: 300,
    };
    assert_eq!(
        store.issue_sms(&issue).await.unwrap(),
        SmsIssued::Stored {
            expires_at: T + 120
        }
    );
    now.store(T + 100, Ordering::SeqCst);
    assert_eq!(
        store.issue_sms(&issue).await.unwrap(),
        SmsIssued::RateLimited {
            retry_after_seconds: 200
        }
    );
    now.store(T + 120, Ordering::SeqCst);
    assert_eq!(
        store.check_sms(id, bytes32(1), bytes32(2)).await.unwrap(),
        SmsChecked::Expired
    );
    now.store(T + 300, Ordering::SeqCst);
    assert!(matches!(
        store.issue_sms(&issue).await.unwrap(),
        SmsIssued::Stored { .. }
    ));

    assert_eq!(
        store
            .begin_idempotent("c", "k", bytes32(3), 30)
            .await
            .unwrap(),
        IdempotencyBegin::Proceed
    );
    now.store(T + 329, Ordering::SeqCst);
    assert_eq!(
        store
            .begin_idempotent("c", "k", bytes32(3), 30)
            .await
            .unwrap(),
        IdempotencyBegin::InFlight
    );
    now.store(T + 330, Ordering::SeqCst);
    assert_eq!(
        store
            .begin_idempotent("c", "k", bytes32(3), 30)
            .await
            .unwrap(),
        IdempotencyBegin::Proceed
    );
}
