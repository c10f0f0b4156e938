//! [`PgStore`]: the [`Store`] on PostgreSQL, the system of record for a
//! fleet of verifiers (see `docs/bank-store.md`, "PostgreSQL").
//!
//! - **One atomic step per operation.** The hot path, a PIN attempt, is one
//!   conditional `UPDATE … RETURNING` on the card's `card_state` row (see
//!   [`PgStore`]'s `record_attempt`); the other operations are one statement
//!   or one short transaction that locks the card's row (`SELECT … FOR
//!   UPDATE`) first. A transaction that meets a serialization failure or a
//!   deadlock is retried a few times.
//! - **The database's clock** decides SMS expiry, the SMS rate window and
//!   idempotency leases (`now()`), never the caller's.
//! - **Versioned migrations** (`bank/migrations/postgres/NNNN_name.sql`,
//!   embedded) are applied by [`PgStore::connect`], each in its own
//!   transaction under an advisory lock, so instances starting at once apply
//!   each one once; a database migrated by a newer build is refused.
//! - **Errors fail closed**: any failure is a [`StoreError`] naming the
//!   operation and the SQLSTATE, never a password, a sealed blob or a tag.

use core::time::Duration;
use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use dynpin::card::CardId;
use dynpin::pin::PinKind;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{NoTls, Row};

use super::{
    ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord, CardState,
    CardStatus, ConfirmAttempt, ConfirmOutcome, IdempotencyBegin, SmsChecked, SmsIssue, SmsIssued,
    Store, StoreError, StoreResult, StoredResponse, step_from_i64, step_to_i64,
};

/// One schema migration, embedded in the binary.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// The migrations, in order: `bank/migrations/postgres/NNNN_name.sql`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "confirm_request",
        sql: include_str!("../../migrations/postgres/0002_confirm_request.sql"),
    },
];

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a statement may run, lock waits included (the server cancels it).
const STATEMENT_TIMEOUT_MS: u32 = 5_000;
/// How long a session may sit idle inside a transaction before the server
/// ends it (a verifier that died mid-transaction releases its row locks).
const IDLE_IN_TRANSACTION_TIMEOUT_MS: u32 = 15_000;
/// How long a migration's statements (and the wait for another instance's
/// migration) may take.
const MIGRATION_STATEMENT_TIMEOUT: &str = "5min";
/// How long a caller waits for a pooled connection.
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries of a transaction after a serialization failure or a deadlock.
const MAX_RETRIES: u32 = 5;
/// The advisory lock (`pg_advisory_xact_lock(bigint)`) serialising migrations: "dynpinmg".
const MIGRATION_LOCK: i64 = 0x6479_6e70_696e_6d67;
/// The class of the per-card advisory locks (`pg_advisory_xact_lock(int, int)`)
/// that serialise SMS codes of a card the store does not know: "dnps".
const SMS_LOCK_CLASS: i32 = 0x646e_7073;
/// The largest Unix second stored as a timestamp; later ones are `'infinity'`
/// (PostgreSQL's timestamps end in the year 294276).
const MAX_TIMESTAMP_SECONDS: u64 = 9_000_000_000_000;

/// The newest schema version this build knows (the last of `MIGRATIONS`).
pub const SCHEMA_VERSION: i32 = 2;

/// The [`Store`] on PostgreSQL: a pool of connections (no TLS: loopback or a
/// private network) to a database holding the schema of
/// `bank/migrations/postgres/`. Cheap to share behind an `Arc`.
pub struct PgStore {
    pool: Pool,
}

impl core::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("pool_size", &status.size)
            .field("pool_max_size", &status.max_size)
            .finish_non_exhaustive()
    }
}

/// Why one try of an operation failed: the database, or what it returned.
enum Failure {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl Failure {
    fn into_store(self, op: &str) -> StoreError {
        match self {
            Failure::Pg(e) => pg_error(op, &e),
            Failure::Store(e) => e,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Failure::Pg(e) => e.code().is_some_and(|c| {
                *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
            }),
            Failure::Store(_) => false,
        }
    }
}

type Step<T> = Result<T, Failure>;

/// A short description of a database error: the operation, the SQLSTATE and
/// a few words, never the server's message (its detail may quote a value).
fn pg_error(op: &str, e: &tokio_postgres::Error) -> StoreError {
    if let Some(code) = e.code() {
        let what = match code.code() {
            "40001" => " (serialization failure)",
            "40P01" => " (deadlock)",
            "57014" => " (statement timeout or canceled)",
            "55P03" => " (lock not available)",
            "53300" => " (too many connections)",
            "28P01" | "28000" => " (authentication failed)",
            "3D000" => " (no such database)",
            "42P01" => " (no such table: schema not migrated?)",
            "57P01" | "57P02" | "57P03" => " (server shutting down or starting)",
            "25P03" => " (idle in transaction timeout)",
            _ => "",
        };
        return StoreError::new(format_args!("{op}: database error {}{what}", code.code()));
    }
    if e.is_closed() {
        return StoreError::new(format_args!("{op}: database connection closed"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return StoreError::new(format_args!("{op}: database connection: {}", io.kind()));
        }
        source = s.source();
    }
    StoreError::new(format_args!("{op}: database client error"))
}

fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Timeout(_) => StoreError::new("no database connection available in time"),
        PoolError::Backend(e) => pg_error("connect", &e),
        PoolError::Closed => StoreError::new("database pool closed"),
        PoolError::NoRuntimeSpecified => StoreError::new("database pool without a runtime"),
        PoolError::PostCreateHook(_) => StoreError::new("database connection setup failed"),
    }
}

fn unreadable(what: &str) -> StoreError {
    StoreError::new(format_args!("unreadable {what} in the store"))
}

/// Reads column `idx` of `row`.
fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Step<T> {
    Ok(row.try_get(idx)?)
}

fn u32_of(value: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| unreadable(what))
}

fn u64_of(value: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| unreadable(what))
}

fn card_id_of(bytes: &[u8]) -> StoreResult<CardId> {
    <[u8; 16]>::try_from(bytes)
        .map(CardId::from_bytes)
        .map_err(|_| unreadable("card id"))
}

/// A Unix second as `to_timestamp`'s argument: `'infinity'` beyond the type's range.
fn timestamp_arg(seconds: u64) -> f64 {
    if seconds <= MAX_TIMESTAMP_SECONDS {
        seconds as f64
    } else {
        f64::INFINITY
    }
}

fn is_second(kind: PinKind) -> bool {
    CardState::index(kind) == 1
}

/// The current Unix second by the database's clock (the transaction's start).
const NOW: &str = "SELECT floor(extract(epoch FROM now()))::bigint";

// The hot path: one PIN attempt is this one statement (see the module docs
// and docs/bank-store.md). `$2` is the matched step (flipped), NULL for none.
const ATTEMPT_FIRST: &str = "UPDATE card_state \
     SET last_step_first = greatest(last_step_first, $2::bigint), \
         attempts = CASE WHEN $2::bigint IS NOT NULL \
                          AND (last_step_first IS NULL OR $2::bigint > last_step_first) \
                         THEN 0 ELSE attempts + 1 END \
     WHERE card_id = $1 AND status = 'active' AND drift_first = $3 AND attempts < $4 \
     RETURNING attempts";
const ATTEMPT_SECOND: &str = "UPDATE card_state \
     SET last_step_second = greatest(last_step_second, $2::bigint), \
         attempts = CASE WHEN $2::bigint IS NOT NULL \
                          AND (last_step_second IS NULL OR $2::bigint > last_step_second) \
                         THEN 0 ELSE attempts + 1 END \
     WHERE card_id = $1 AND status = 'active' AND drift_second = $3 AND attempts < $4 \
     RETURNING attempts";
const CLASSIFY_FIRST: &str =
    "SELECT status, drift_first, attempts FROM card_state WHERE card_id = $1";
const CLASSIFY_SECOND: &str =
    "SELECT status, drift_second, attempts FROM card_state WHERE card_id = $1";

/// Why a card's state refuses an attempt, in the in-memory store's order;
/// `None` if it does not (the attempt may be counted).
fn refusal(row: Option<&Row>, attempt: &Attempt) -> Step<Option<AttemptOutcome>> {
    let Some(row) = row else {
        return Ok(Some(AttemptOutcome::UnknownCard));
    };
    let status = CardStatus::parse(get(row, 0)?)?;
    let drift: i64 = get(row, 1)?;
    let attempts: i64 = get(row, 2)?;
    Ok(if status != CardStatus::Active {
        Some(AttemptOutcome::NotActive(status))
    } else if drift != attempt.drift {
        Some(AttemptOutcome::StaleDrift(drift))
    } else if attempts >= i64::from(attempt.limit) {
        Some(AttemptOutcome::Locked)
    } else {
        None
    })
}

/// The outcome for the attempt count an attempt's update returned.
fn counted(attempts: i64) -> StoreResult<AttemptOutcome> {
    Ok(if attempts == 0 {
        AttemptOutcome::Accepted
    } else {
        AttemptOutcome::Failed {
            count: u32_of(attempts, "attempt count")?,
        }
    })
}

async fn attempt_once(
    client: &mut deadpool_postgres::Client,
    attempt: &Attempt,
) -> Step<AttemptOutcome> {
    let id: &[u8] = attempt.card.as_bytes();
    if let (Some(step), Some(tx)) = (attempt.matched, attempt.transaction) {
        return amount_bound_once(client, attempt, step, tx).await;
    }
    let second = is_second(attempt.kind);
    let update = client
        .prepare_cached(if second {
            ATTEMPT_SECOND
        } else {
            ATTEMPT_FIRST
        })
        .await?;
    let classify = client
        .prepare_cached(if second {
            CLASSIFY_SECOND
        } else {
            CLASSIFY_FIRST
        })
        .await?;
    let matched = attempt.matched.map(step_to_i64);
    let limit = i64::from(attempt.limit);
    // The row may change between a refused update and the classifying read
    // (an operator's reset): then the update is tried again.
    for _ in 0..=MAX_RETRIES {
        if let Some(row) = client
            .query_opt(&update, &[&id, &matched, &attempt.drift, &limit])
            .await?
        {
            return Ok(counted(get(&row, 0)?)?);
        }
        let row = client.query_opt(&classify, &[&id]).await?;
        if let Some(outcome) = refusal(row.as_ref(), attempt)? {
            return Ok(outcome);
        }
    }
    Err(StoreError::new("record_attempt: the card's state kept changing").into())
}

/// An amount-bound code that matched: one short transaction on the card's row.
async fn amount_bound_once(
    client: &mut deadpool_postgres::Client,
    attempt: &Attempt,
    step: u64,
    transaction: [u8; 32],
) -> Step<AttemptOutcome> {
    let id: &[u8] = attempt.card.as_bytes();
    let tx_key: &[u8] = &transaction;
    let db = client.transaction().await?;
    let lock = db
        .prepare_cached(
            "SELECT status, drift_second, attempts FROM card_state WHERE card_id = $1 FOR UPDATE",
        )
        .await?;
    let row = db.query_opt(&lock, &[&id]).await?;
    if let Some(outcome) = refusal(row.as_ref(), attempt)? {
        return Ok(outcome);
    }
    let used = db
        .prepare_cached(
            "SELECT max(step), max(step) FILTER (WHERE tx = $2) \
             FROM used_transaction WHERE card_id = $1",
        )
        .await?;
    let row = db.query_one(&used, &[&id, &tx_key]).await?;
    let newest: Option<u64> = get::<Option<i64>>(&row, 0)?.map(step_from_i64);
    let last: Option<u64> = get::<Option<i64>>(&row, 1)?.map(step_from_i64);
    // "Behind" is `newest - step`, never a saturating `step + horizon` (the
    // in-memory store's rule).
    let beyond = newest
        .and_then(|n| n.checked_sub(step))
        .is_some_and(|behind| behind >= attempt.horizon);
    let replay = last.is_some_and(|l| step <= l);
    let accepted = !beyond && !replay;
    if accepted {
        let record = db
            .prepare_cached(
                "INSERT INTO used_transaction (card_id, tx, step) VALUES ($1, $2, $3) \
                 ON CONFLICT (card_id, tx) DO UPDATE SET step = excluded.step",
            )
            .await?;
        db.execute(&record, &[&id, &tx_key, &step_to_i64(step)])
            .await?;
        // Forget the transactions at or beyond the horizon behind the newest,
        // but never the newest (a horizon of 0 keeps just it).
        let newest = newest.map_or(step, |n| n.max(step));
        let forget_up_to = newest.checked_sub(attempt.horizon.max(1));
        if let Some(up_to) = forget_up_to {
            let prune = db
                .prepare_cached("DELETE FROM used_transaction WHERE card_id = $1 AND step <= $2")
                .await?;
            db.execute(&prune, &[&id, &step_to_i64(up_to)]).await?;
        }
    }
    let count = db
        .prepare_cached(
            "UPDATE card_state SET attempts = CASE WHEN $2 THEN 0 ELSE attempts + 1 END \
             WHERE card_id = $1 RETURNING attempts",
        )
        .await?;
    let row = db.query_one(&count, &[&id, &accepted]).await?;
    let outcome = counted(get(&row, 0)?)?;
    db.commit().await?;
    Ok(outcome)
}

async fn confirmation_once(
    client: &mut deadpool_postgres::Client,
    attempt: &ConfirmAttempt,
) -> Step<ConfirmOutcome> {
    let id: &[u8] = attempt.card.as_bytes();
    let db = client.transaction().await?;
    let lock = db
        .prepare_cached(
            "SELECT s.status, s.confirm_attempts, c.confirm_deadline, s.confirm_request \
             FROM card_state s JOIN card c ON c.id = s.card_id \
             WHERE s.card_id = $1 FOR UPDATE OF s",
        )
        .await?;
    let Some(row) = db.query_opt(&lock, &[&id]).await? else {
        return Ok(ConfirmOutcome::UnknownCard);
    };
    let status = CardStatus::parse(get(&row, 0)?)?;
    let made = u32_of(get(&row, 1)?, "confirmation count")?;
    let deadline = step_from_i64(get(&row, 2)?);
    let confirmed_by: Option<&[u8]> = get(&row, 3)?;
    if status == CardStatus::Suspended {
        return Ok(ConfirmOutcome::Suspended);
    }
    // The confirming request again (its answer was lost): answered as it
    // was, nothing counted.
    if status == CardStatus::Active && attempt.correct && confirmed_by == Some(&attempt.request[..])
    {
        return Ok(ConfirmOutcome::Confirmed);
    }
    if attempt.now >= deadline {
        return Ok(ConfirmOutcome::Expired);
    }
    if made >= attempt.limit {
        return Ok(ConfirmOutcome::Locked);
    }
    let made = made.saturating_add(1);
    // The token is stored with the pending → active switch only.
    let mut confirming: Option<&[u8]> = None;
    let (status, outcome) = if !attempt.correct {
        (status, ConfirmOutcome::Wrong { count: made })
    } else if status == CardStatus::Pending {
        confirming = Some(&attempt.request[..]);
        (CardStatus::Active, ConfirmOutcome::Confirmed)
    } else {
        (CardStatus::Suspended, ConfirmOutcome::CloneSuspected)
    };
    let update = db
        .prepare_cached(
            "UPDATE card_state SET status = $2, confirm_attempts = $3, \
             confirm_request = coalesce($4, confirm_request) WHERE card_id = $1",
        )
        .await?;
    db.execute(
        &update,
        &[&id, &status.as_str(), &i64::from(made), &confirming],
    )
    .await?;
    db.commit().await?;
    Ok(outcome)
}

async fn issue_sms_once(
    client: &mut deadpool_postgres::Client,
    issue: &SmsIssue,
) -> Step<SmsIssued> {
    let id: &[u8] = issue.card.as_bytes();
    let db = client.transaction().await?;
    // Serialise the card's codes: its state row, or (a card the store does
    // not know, which the in-memory store serves too) an advisory lock.
    let lock = db
        .prepare_cached(
            "SELECT floor(extract(epoch FROM now()))::bigint \
             FROM card_state WHERE card_id = $1 FOR UPDATE",
        )
        .await?;
    let now = match db.query_opt(&lock, &[&id]).await? {
        Some(row) => get::<i64>(&row, 0)?,
        None => {
            let &[a, b, c, d, ..] = issue.card.as_bytes();
            let key = i32::from_be_bytes([a, b, c, d]);
            db.execute(
                "SELECT pg_advisory_xact_lock($1, $2)",
                &[&SMS_LOCK_CLASS, &key],
            )
            .await?;
            let row = db.query_one(NOW, &[]).await?;
            get::<i64>(&row, 0)?
        }
    };
    let now = u64_of(now, "database clock")?;
    // The window slides: forget the sends at or before `now - window`.
    if let Some(up_to) = now.checked_sub(issue.window_seconds) {
        let prune = db
            .prepare_cached(
                "DELETE FROM sms_sent WHERE card_id = $1 AND sent_at <= to_timestamp($2::bigint)",
            )
            .await?;
        let up_to = i64::try_from(up_to).map_err(|_| unreadable("database clock"))?;
        db.execute(&prune, &[&id, &up_to]).await?;
    }
    let window = db
        .prepare_cached(
            "SELECT count(*), min(floor(extract(epoch FROM sent_at)))::bigint \
             FROM sms_sent WHERE card_id = $1",
        )
        .await?;
    let row = db.query_one(&window, &[&id]).await?;
    let sent: i64 = get(&row, 0)?;
    if sent >= i64::from(issue.max_requests) {
        let oldest = match get::<Option<i64>>(&row, 1)? {
            Some(t) => u64_of(t, "SMS send time")?,
            None => now,
        };
        db.commit().await?;
        return Ok(SmsIssued::RateLimited {
            retry_after_seconds: oldest
                .saturating_add(issue.window_seconds)
                .saturating_sub(now)
                .max(1),
        });
    }
    let record = db
        .prepare_cached(
            "INSERT INTO sms_sent (card_id, sent_at) VALUES ($1, to_timestamp($2::bigint))",
        )
        .await?;
    let now_i = i64::try_from(now).map_err(|_| unreadable("database clock"))?;
    db.execute(&record, &[&id, &now_i]).await?;
    let expires_at = now.saturating_add(issue.validity_seconds);
    let store = db
        .prepare_cached(
            "INSERT INTO sms_code (card_id, slot, tag, expires_at, attempts_left) \
             VALUES ($1, $2, $3, to_timestamp($4::float8), $5) \
             ON CONFLICT (card_id, slot) DO UPDATE \
             SET tag = excluded.tag, expires_at = excluded.expires_at, \
                 attempts_left = excluded.attempts_left",
        )
        .await?;
    let slot: &[u8] = &issue.slot;
    let tag: &[u8] = &issue.tag;
    db.execute(
        &store,
        &[
            &id,
            &slot,
            &tag,
            &timestamp_arg(expires_at),
            &i64::from(issue.max_attempts),
        ],
    )
    .await?;
    db.commit().await?;
    Ok(SmsIssued::Stored { expires_at })
}

async fn check_sms_once(
    client: &mut deadpool_postgres::Client,
    card: CardId,
    slot: [u8; 32],
    tag: [u8; 32],
) -> Step<SmsChecked> {
    use subtle::ConstantTimeEq;
    let id: &[u8] = card.as_bytes();
    let slot: &[u8] = &slot;
    let db = client.transaction().await?;
    // Whole-second expiry against the transaction's `now()`: `now() >=
    // expires_at` is the in-memory store's `now >= expires_at` in seconds.
    let lock = db
        .prepare_cached(
            "SELECT tag, attempts_left, now() >= expires_at FROM sms_code \
             WHERE card_id = $1 AND slot = $2 FOR UPDATE",
        )
        .await?;
    let Some(row) = db.query_opt(&lock, &[&id, &slot]).await? else {
        return Ok(SmsChecked::NoPending);
    };
    let stored: [u8; 32] =
        <[u8; 32]>::try_from(get::<&[u8]>(&row, 0)?).map_err(|_| unreadable("SMS tag"))?;
    let left = u32_of(get(&row, 1)?, "SMS attempts")?;
    let expired: bool = get(&row, 2)?;
    let outcome = if expired {
        SmsChecked::Expired
    } else if left == 0 {
        SmsChecked::TooManyAttempts
    } else {
        // The attempt is claimed (written below, in this transaction under
        // the row's lock) whatever the comparison says.
        let left = left - 1;
        if bool::from(stored.ct_eq(&tag)) {
            SmsChecked::Accepted
        } else if left == 0 {
            SmsChecked::TooManyAttempts
        } else {
            SmsChecked::Wrong { remaining: left }
        }
    };
    if let SmsChecked::Wrong { remaining } = outcome {
        let claim = db
            .prepare_cached(
                "UPDATE sms_code SET attempts_left = $3 WHERE card_id = $1 AND slot = $2",
            )
            .await?;
        db.execute(&claim, &[&id, &slot, &i64::from(remaining)])
            .await?;
    } else {
        let void = db
            .prepare_cached("DELETE FROM sms_code WHERE card_id = $1 AND slot = $2")
            .await?;
        db.execute(&void, &[&id, &slot]).await?;
    }
    db.commit().await?;
    Ok(outcome)
}

async fn put_activation_once(
    client: &mut deadpool_postgres::Client,
    activation: &ActivationRecord,
    now: u64,
) -> Step<bool> {
    let db = client.transaction().await?;
    let prune = db
        .prepare_cached("DELETE FROM activation WHERE expires_at <= $1")
        .await?;
    db.execute(&prune, &[&step_to_i64(now)]).await?;
    let insert = db
        .prepare_cached(
            "INSERT INTO activation (handle, card_id, payload, expires_at, max_fetches) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (handle) DO NOTHING",
        )
        .await?;
    let handle: &[u8] = &activation.handle;
    let card: &[u8] = activation.card.as_bytes();
    let inserted = db
        .execute(
            &insert,
            &[
                &handle,
                &card,
                &activation.payload,
                &step_to_i64(activation.expires_at),
                &i64::from(activation.max_fetches),
            ],
        )
        .await?;
    db.commit().await?;
    Ok(inserted == 1)
}

async fn begin_idempotent_once(
    client: &mut deadpool_postgres::Client,
    slot: (&str, &str),
    request: [u8; 32],
    lease_seconds: u64,
) -> Step<IdempotencyBegin> {
    let (client_id, key) = slot;
    let request: &[u8] = &request;
    let db = client.transaction().await?;
    let row = db.query_one(NOW, &[]).await?;
    let now = u64_of(get(&row, 0)?, "database clock")?;
    let lease_until = timestamp_arg(now.saturating_add(lease_seconds));
    let insert = db
        .prepare_cached(
            "INSERT INTO idempotency (client, key, request, lease_until) \
             VALUES ($1, $2, $3, to_timestamp($4::float8)) ON CONFLICT (client, key) DO NOTHING",
        )
        .await?;
    if db
        .execute(&insert, &[&client_id, &key, &request, &lease_until])
        .await?
        == 1
    {
        db.commit().await?;
        return Ok(IdempotencyBegin::Proceed);
    }
    let lock = db
        .prepare_cached(
            "SELECT request, status, body, lease_until > now() FROM idempotency \
             WHERE client = $1 AND key = $2 FOR UPDATE",
        )
        .await?;
    let Some(row) = db.query_opt(&lock, &[&client_id, &key]).await? else {
        return Err(StoreError::new("begin_idempotent: the key vanished").into());
    };
    if get::<&[u8]>(&row, 0)? != request {
        return Ok(IdempotencyBegin::Mismatch);
    }
    if let Some(status) = get::<Option<i32>>(&row, 1)? {
        let status = u16::try_from(status).map_err(|_| unreadable("stored status"))?;
        let body: Vec<u8> = get::<Option<Vec<u8>>>(&row, 2)?.unwrap_or_default();
        return Ok(IdempotencyBegin::Done(StoredResponse { status, body }));
    }
    if get::<bool>(&row, 3)? {
        return Ok(IdempotencyBegin::InFlight);
    }
    let renew = db
        .prepare_cached(
            "UPDATE idempotency SET lease_until = to_timestamp($3::float8) \
             WHERE client = $1 AND key = $2",
        )
        .await?;
    db.execute(&renew, &[&client_id, &key, &lease_until])
        .await?;
    db.commit().await?;
    Ok(IdempotencyBegin::Proceed)
}

/// Applies migration `m` if it is not yet, in one transaction under the
/// migration lock; refuses a database migrated by a newer build.
async fn migrate_one(client: &mut deadpool_postgres::Client, m: &Migration) -> Step<()> {
    let db = client.transaction().await?;
    db.batch_execute(&format!(
        "SET LOCAL statement_timeout = '{MIGRATION_STATEMENT_TIMEOUT}'"
    ))
    .await?;
    db.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    db.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version    integer PRIMARY KEY, \
             name       text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let row = db
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .await?;
    if let Some(newest) = get::<Option<i32>>(&row, 0)?
        && newest > SCHEMA_VERSION
    {
        return Err(StoreError::new(format_args!(
            "the database's schema is at version {newest}, newer than this build knows \
             ({SCHEMA_VERSION}): run a newer dynpin-bank"
        ))
        .into());
    }
    let applied = db
        .query_opt(
            "SELECT name FROM schema_migrations WHERE version = $1",
            &[&m.version],
        )
        .await?;
    if let Some(row) = applied {
        let name: &str = get(&row, 0)?;
        if name != m.name {
            return Err(StoreError::new(format_args!(
                "the database's schema version {} is {name:?}, this build's is {:?}",
                m.version, m.name
            ))
            .into());
        }
        db.commit().await?;
        return Ok(());
    }
    db.batch_execute(m.sql).await?;
    db.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        &[&m.version, &m.name],
    )
    .await?;
    db.commit().await?;
    Ok(())
}

/// Runs `$body` (a future on the pooled client `$client`) and maps its
/// failure to a [`StoreError`] naming `$op`, retrying it after a
/// serialization failure or a deadlock.
macro_rules! retrying {
    ($self:ident, $op:literal, |$client:ident| $body:expr) => {{
        let mut tries: u32 = 0;
        loop {
            #[allow(unused_mut)]
            let mut $client = $self.client().await?;
            match $body.await {
                Ok(value) => break Ok(value),
                Err(failure) if failure.retryable() && tries < MAX_RETRIES => {
                    drop($client);
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(1_u64 << tries)).await;
                }
                Err(failure) => break Err(failure.into_store($op)),
            }
        }
    }};
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// no TLS) through a pool of at most `pool_size` connections, and applies
    /// the schema migrations this build carries that the database lacks.
    ///
    /// Connections time out after 5 s; statements after 5 s (the server
    /// cancels them); a session idle in a transaction for 15 s is ended by
    /// the server. Settings in the URL's `options` take precedence.
    ///
    /// # Errors
    /// [`StoreError`] if the URL is invalid, the database cannot be reached,
    /// a migration fails, or the database's schema is newer than this build
    /// knows. The message never holds the URL's password.
    pub async fn connect(url: &str, pool_size: usize) -> StoreResult<Self> {
        if pool_size == 0 {
            return Err(StoreError::new(
                "the database pool needs a connection at least",
            ));
        }
        // The parser's message could quote the URL: only say it is invalid.
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|_| StoreError::new("invalid PostgreSQL URL"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let options = format!(
            "-c statement_timeout={STATEMENT_TIMEOUT_MS} \
             -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS} {}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim_end());
        if config.get_application_name().is_none() {
            config.application_name("dynpin-bank");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|_| StoreError::new("could not build the database pool"))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        for m in MIGRATIONS {
            retrying!(self, "migrate", |client| migrate_one(&mut client, m))?;
        }
        Ok(())
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        self.pool.get().await.map_err(pool_error)
    }

    /// A pooled connection and `sql` prepared on it (once per connection).
    async fn prepared(
        &self,
        op: &str,
        sql: &str,
    ) -> StoreResult<(deadpool_postgres::Client, tokio_postgres::Statement)> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(|e| pg_error(op, &e))?;
        Ok((client, statement))
    }

    /// One statement on a pooled connection, prepared once per connection.
    async fn query_opt(
        &self,
        op: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        let (client, statement) = self.prepared(op, sql).await?;
        client
            .query_opt(&statement, params)
            .await
            .map_err(|e| pg_error(op, &e))
    }

    async fn query(
        &self,
        op: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let (client, statement) = self.prepared(op, sql).await?;
        client
            .query(&statement, params)
            .await
            .map_err(|e| pg_error(op, &e))
    }

    async fn execute(
        &self,
        op: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<u64> {
        let (client, statement) = self.prepared(op, sql).await?;
        client
            .execute(&statement, params)
            .await
            .map_err(|e| pg_error(op, &e))
    }
}

fn read<'a, T: FromSql<'a>>(op: &str, row: &'a Row, idx: usize) -> StoreResult<T> {
    get(row, idx).map_err(|f| f.into_store(op))
}

impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        self.query_opt("ping", "SELECT 1", &[]).await.map(|_| ())
    }

    async fn insert_card(&self, card: &CardRecord) -> StoreResult<bool> {
        let id: &[u8] = card.id.as_bytes();
        let inserted = self
            .execute(
                "insert_card",
                "WITH new_card AS ( \
                     INSERT INTO card (id, key_id, sealed, confirm_deadline, phone, last_four) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id) \
                 INSERT INTO card_state (card_id, status) SELECT id, $7 FROM new_card",
                &[
                    &id,
                    &card.key_id,
                    &card.sealed,
                    &step_to_i64(card.confirm_deadline),
                    &card.phone,
                    &i32::from(card.last_four),
                    &card.status.as_str(),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn card(&self, id: CardId) -> StoreResult<Option<CardRecord>> {
        const OP: &str = "card";
        let key: &[u8] = id.as_bytes();
        let Some(row) = self
            .query_opt(
                OP,
                "SELECT c.key_id, c.sealed, s.status, c.confirm_deadline, c.phone, c.last_four \
                 FROM card c JOIN card_state s ON s.card_id = c.id WHERE c.id = $1",
                &[&key],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(CardRecord {
            id,
            key_id: read(OP, &row, 0)?,
            sealed: read(OP, &row, 1)?,
            status: CardStatus::parse(read(OP, &row, 2)?)?,
            confirm_deadline: step_from_i64(read(OP, &row, 3)?),
            phone: read(OP, &row, 4)?,
            last_four: u16::try_from(read::<i32>(OP, &row, 5)?)
                .map_err(|_| unreadable("last four digits"))?,
        }))
    }

    async fn state(&self, id: CardId) -> StoreResult<Option<CardState>> {
        const OP: &str = "state";
        let key: &[u8] = id.as_bytes();
        let Some(row) = self
            .query_opt(
                OP,
                "SELECT status, attempts, confirm_attempts, last_step_first, last_step_second, \
                        drift_first, drift_second \
                 FROM card_state WHERE card_id = $1",
                &[&key],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(CardState {
            status: CardStatus::parse(read(OP, &row, 0)?)?,
            attempts: u32_of(read(OP, &row, 1)?, "attempt count")?,
            confirm_attempts: u32_of(read(OP, &row, 2)?, "confirmation count")?,
            last_step: [
                read::<Option<i64>>(OP, &row, 3)?.map(step_from_i64),
                read::<Option<i64>>(OP, &row, 4)?.map(step_from_i64),
            ],
            drift: [read(OP, &row, 5)?, read(OP, &row, 6)?],
        }))
    }

    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<AttemptOutcome> {
        retrying!(self, "record_attempt", |client| attempt_once(
            &mut client,
            attempt
        ))
    }

    async fn record_confirmation(&self, attempt: &ConfirmAttempt) -> StoreResult<ConfirmOutcome> {
        retrying!(self, "record_confirmation", |client| confirmation_once(
            &mut client,
            attempt
        ))
    }

    async fn set_status(&self, id: CardId, status: CardStatus) -> StoreResult<Option<CardStatus>> {
        const OP: &str = "set_status";
        let key: &[u8] = id.as_bytes();
        // The subquery locks the row and reads the status it replaces.
        let row = self
            .query_opt(
                OP,
                "UPDATE card_state s SET status = $2 \
                 FROM (SELECT card_id, status FROM card_state WHERE card_id = $1 FOR UPDATE) old \
                 WHERE s.card_id = old.card_id RETURNING old.status",
                &[&key, &status.as_str()],
            )
            .await?;
        row.map(|row| CardStatus::parse(read(OP, &row, 0)?))
            .transpose()
    }

    async fn reset_attempts(&self, id: CardId) -> StoreResult<bool> {
        let key: &[u8] = id.as_bytes();
        let updated = self
            .execute(
                "reset_attempts",
                "UPDATE card_state SET attempts = 0 WHERE card_id = $1",
                &[&key],
            )
            .await?;
        Ok(updated == 1)
    }

    async fn resync(&self, id: CardId, kind: PinKind, step: u64, drift: i64) -> StoreResult<bool> {
        let key: &[u8] = id.as_bytes();
        let sql = if is_second(kind) {
            "UPDATE card_state SET last_step_second = $2, drift_second = $3, attempts = 0 \
             WHERE card_id = $1 AND (last_step_second IS NULL OR last_step_second < $2)"
        } else {
            "UPDATE card_state SET last_step_first = $2, drift_first = $3, attempts = 0 \
             WHERE card_id = $1 AND (last_step_first IS NULL OR last_step_first < $2)"
        };
        let updated = self
            .execute("resync", sql, &[&key, &step_to_i64(step), &drift])
            .await?;
        Ok(updated == 1)
    }

    async fn cards_by_phone(&self, phone: &str, last_four: u16) -> StoreResult<Vec<CardId>> {
        const OP: &str = "cards_by_phone";
        let rows = self
            .query(
                OP,
                "SELECT c.id FROM card c JOIN card_state s ON s.card_id = c.id \
                 WHERE c.phone = $1 AND c.last_four = $2 AND s.status <> 'suspended' ORDER BY c.id",
                &[&phone, &i32::from(last_four)],
            )
            .await?;
        rows.iter()
            .map(|row| card_id_of(read(OP, row, 0)?))
            .collect()
    }

    async fn issue_sms(&self, issue: &SmsIssue) -> StoreResult<SmsIssued> {
        retrying!(self, "issue_sms", |client| issue_sms_once(
            &mut client,
            issue
        ))
    }

    async fn check_sms(
        &self,
        card: CardId,
        slot: [u8; 32],
        tag: [u8; 32],
    ) -> StoreResult<SmsChecked> {
        retrying!(self, "check_sms", |client| check_sms_once(
            &mut client,
            card,
            slot,
            tag
        ))
    }

    async fn put_activation(&self, activation: &ActivationRecord, now: u64) -> StoreResult<bool> {
        retrying!(self, "put_activation", |client| put_activation_once(
            &mut client,
            activation,
            now
        ))
    }

    async fn fetch_activation(&self, handle: [u8; 32], now: u64) -> StoreResult<ActivationFetch> {
        const OP: &str = "fetch_activation";
        let handle: &[u8] = &handle;
        let row = self
            .query_opt(
                OP,
                "UPDATE activation SET fetches = fetches + 1 \
                 WHERE handle = $1 AND expires_at > $2 AND fetches < max_fetches \
                 RETURNING payload",
                &[&handle, &step_to_i64(now)],
            )
            .await?;
        Ok(match row {
            Some(row) => ActivationFetch::Found(read(OP, &row, 0)?),
            None => ActivationFetch::NotFound,
        })
    }

    async fn begin_idempotent(
        &self,
        client: &str,
        key: &str,
        request: [u8; 32],
        lease_seconds: u64,
    ) -> StoreResult<IdempotencyBegin> {
        retrying!(self, "begin_idempotent", |db| begin_idempotent_once(
            &mut db,
            (client, key),
            request,
            lease_seconds
        ))
    }

    async fn finish_idempotent(
        &self,
        client: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        self.execute(
            "finish_idempotent",
            "UPDATE idempotency SET status = $3, body = $4 WHERE client = $1 AND key = $2",
            &[&client, &key, &i32::from(response.status), &response.body],
        )
        .await
        .map(|_| ())
    }

    async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let card: Option<&[u8]> = event.card.as_ref().map(|c| c.as_bytes().as_slice());
        self.execute(
            "audit",
            "INSERT INTO audit_log (card_id, event, actor, detail) VALUES ($1, $2, $3, $4)",
            &[&card, &event.event, &event.actor, &event.detail],
        )
        .await
        .map(|_| ())
    }

    async fn audit_trail(&self, card: CardId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        const OP: &str = "audit_trail";
        let key: &[u8] = card.as_bytes();
        let rows = self
            .query(
                OP,
                "SELECT event, actor, detail FROM ( \
                     SELECT id, event, actor, detail FROM audit_log \
                     WHERE card_id = $1 ORDER BY id DESC LIMIT $2) newest \
                 ORDER BY id",
                &[&key, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    card: Some(card),
                    event: read(OP, row, 0)?,
                    actor: read(OP, row, 1)?,
                    detail: read(OP, row, 2)?,
                })
            })
            .collect()
    }
}
