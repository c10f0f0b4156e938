//! [`SqliteStore`]: the [`Store`] in one SQLite file, the embedded default
//! (one instance of the service on one machine, no database server).
//!
//! Every operation is one SQLite transaction — `BEGIN IMMEDIATE` for every
//! operation that may write, so it holds the database's write lock from its
//! first read to its commit — run on a blocking thread
//! ([`tokio::task::spawn_blocking`]) on the store's one connection. Two
//! processes (or two stores) opened on one file therefore stay exactly-once:
//! SQLite serialises their writers, and each reads what the other committed.
//!
//! The file is in WAL mode with `synchronous = FULL` (a commit is on disk
//! before it is answered: an accepted step is not forgotten by a power cut),
//! foreign keys on, and a busy timeout for the other process's writes.
//!
//! The schema is versioned by `PRAGMA user_version` and migrated at open by
//! embedded SQL, in order; a file newer than this build is refused. See
//! `docs/bank-store.md` ("SQLite (embedded)") for the tables.
//!
//! Expiry of SMS codes and idempotency leases reads the store's clock
//! ([`SqliteStore::with_clock`]; the system clock by default): SQLite runs on
//! the service's machine, so its clock is the service's.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynpin::card::CardId;
use dynpin::pin::PinKind;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::Mutex;

use super::memory::StoreClock;
use super::{
    ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord, CardState,
    CardStatus, ConfirmAttempt, ConfirmOutcome, IdempotencyBegin, SmsChecked, SmsIssue, SmsIssued,
    Store, StoreError, StoreResult, StoredResponse, step_from_i64, step_to_i64,
};

/// `PRAGMA application_id` of a dynpin bank store: "dynp".
const APPLICATION_ID: i32 = 0x6479_6e70;

/// How long an operation waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema migrations, in order: migration `i` takes `user_version` from
/// `i` to `i + 1`. Append only; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
    CREATE TABLE cards (
        id               BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
        key_id           TEXT    NOT NULL,
        sealed           BLOB    NOT NULL,
        status           TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'suspended')),
        confirm_deadline INTEGER NOT NULL CHECK (confirm_deadline >= 0),
        phone            TEXT,
        last_four        INTEGER NOT NULL CHECK (last_four BETWEEN 0 AND 65535),
        attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 4294967295),
        confirm_attempts INTEGER NOT NULL DEFAULT 0
                         CHECK (confirm_attempts BETWEEN 0 AND 4294967295),
        last_step_first  INTEGER,
        last_step_second INTEGER,
        drift_first      INTEGER NOT NULL DEFAULT 0,
        drift_second     INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX cards_by_phone ON cards (phone, last_four) WHERE phone IS NOT NULL;

    CREATE TABLE transactions (
        card   BLOB    NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
        tx_key BLOB    NOT NULL CHECK (length(tx_key) = 32),
        step   INTEGER NOT NULL,
        PRIMARY KEY (card, tx_key)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE sms_codes (
        card          BLOB    NOT NULL CHECK (length(card) = 16),
        slot          BLOB    NOT NULL CHECK (length(slot) = 32),
        tag           BLOB    NOT NULL CHECK (length(tag) = 32),
        expires_at    INTEGER NOT NULL CHECK (expires_at >= 0),
        attempts_left INTEGER NOT NULL CHECK (attempts_left BETWEEN 0 AND 4294967295),
        PRIMARY KEY (card, slot)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE sms_sent (
        card    BLOB    NOT NULL CHECK (length(card) = 16),
        sent_at INTEGER NOT NULL CHECK (sent_at >= 0)
    ) STRICT;
    CREATE INDEX sms_sent_by_card ON sms_sent (card, sent_at);

    CREATE TABLE activations (
        handle      BLOB    NOT NULL PRIMARY KEY CHECK (length(handle) = 32),
        card        BLOB    NOT NULL CHECK (length(card) = 16),
        payload     TEXT    NOT NULL,
        expires_at  INTEGER NOT NULL CHECK (expires_at >= 0),
        max_fetches INTEGER NOT NULL CHECK (max_fetches BETWEEN 0 AND 4294967295),
        fetches     INTEGER NOT NULL DEFAULT 0 CHECK (fetches BETWEEN 0 AND 4294967295)
    ) STRICT;
    CREATE INDEX activations_by_expiry ON activations (expires_at);

    CREATE TABLE idempotency (
        client      TEXT    NOT NULL,
        idem_key    TEXT    NOT NULL,
        request     BLOB    NOT NULL CHECK (length(request) = 32),
        lease_until INTEGER NOT NULL CHECK (lease_until >= 0),
        status      INTEGER CHECK (status BETWEEN 0 AND 65535),
        body        BLOB,
        CHECK ((status IS NULL) = (body IS NULL)),
        PRIMARY KEY (client, idem_key)
    ) STRICT;

    CREATE TABLE audit (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        at     INTEGER NOT NULL,
        card   BLOB    CHECK (card IS NULL OR length(card) = 16),
        event  TEXT    NOT NULL,
        actor  TEXT    NOT NULL,
        detail TEXT    NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_card ON audit (card, seq) WHERE card IS NOT NULL;
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    ",
    // 2: the token of the request that confirmed a card, so that its retry
    // is not taken for a clone (NULL: not confirmed by a request).
    r"
    ALTER TABLE cards ADD COLUMN confirm_request BLOB
        CHECK (confirm_request IS NULL OR length(confirm_request) = 32);
    ",
];

/// The [`Store`] in an SQLite database: a file, or memory (for tests).
/// Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    clock: StoreClock,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn system_clock() -> StoreClock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

impl SqliteStore {
    /// The schema version this build writes (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Opens (creating if need be) the store in the file at `path`, and
    /// brings its schema up to date. Blocks: call it at start-up.
    ///
    /// # Errors
    /// [`StoreError`] if the file cannot be opened or is not a dynpin store,
    /// if its schema is newer than this build knows, or a migration fails.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(|e| {
            StoreError::new(format_args!(
                "cannot open the SQLite store {}: {}",
                path.display(),
                describe(&e)
            ))
        })?;
        Self::prepare(conn, true)
    }

    /// A store in memory, lost when it is dropped (tests, examples).
    ///
    /// # Errors
    /// [`StoreError`] if SQLite cannot set it up.
    pub fn open_in_memory() -> StoreResult<Self> {
        let conn = Connection::open_in_memory().map_err(db)?;
        Self::prepare(conn, false)
    }

    /// This store reading `clock` (Unix seconds) for SMS expiry, rate windows,
    /// idempotency leases and audit times.
    #[must_use]
    pub fn with_clock(self, clock: StoreClock) -> Self {
        Self { clock, ..self }
    }

    fn prepare(mut conn: Connection, file: bool) -> StoreResult<Self> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        if file {
            // WAL: readers never wait for the writer. Where the file system
            // cannot do WAL, SQLite keeps its rollback journal: still atomic.
            // Switching to WAL takes an exclusive lock and SQLite answers
            // "busy" at once, without its busy handler, while another
            // connection (a second process opening a new file) holds the
            // file: retry for as long as the busy timeout.
            let started = std::time::Instant::now();
            loop {
                match conn.pragma_update_and_check(None, "journal_mode", "wal", |_| Ok(())) {
                    Ok(()) => break,
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::DatabaseBusy
                            && started.elapsed() < BUSY_TIMEOUT =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    Err(e) => return Err(db(e)),
                }
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            clock: system_clock(),
        })
    }

    /// Runs `op` in one transaction (`behavior`) on a blocking thread, with
    /// the store's time read once the transaction has begun; commits if it
    /// returns `Ok`, rolls back otherwise.
    async fn run<T, F>(&self, behavior: TransactionBehavior, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, u64) -> StoreResult<T> + Send + 'static,
    {
        let mut conn = Arc::clone(&self.conn).lock_owned().await;
        let clock = Arc::clone(&self.clock);
        tokio::task::spawn_blocking(move || {
            let tx = conn.transaction_with_behavior(behavior).map_err(db)?;
            let out = op(&tx, clock())?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
        .map_err(|_| StoreError::new("an SQLite store task failed"))?
    }

    /// [`Self::run`] for an operation that may write: `BEGIN IMMEDIATE`.
    async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, u64) -> StoreResult<T> + Send + 'static,
    {
        self.run(TransactionBehavior::Immediate, op).await
    }

    /// [`Self::run`] for a read: one snapshot, no write lock.
    async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, |tx, _| op(tx))
            .await
    }
}

/// Brings the schema up to date, one migration per `BEGIN IMMEDIATE`
/// transaction (so two processes opening one new file migrate it once).
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let app: i32 = tx
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(db)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        let known = i64::from(SqliteStore::SCHEMA_VERSION);
        if app != APPLICATION_ID && (app != 0 || version != 0) {
            return Err(StoreError::new(
                "the SQLite file is not a dynpin bank store (its application id differs)",
            ));
        }
        if version == 0 && app == 0 {
            let objects: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .map_err(db)?;
            if objects != 0 {
                return Err(StoreError::new(
                    "the SQLite file holds another application's tables, not a dynpin bank store",
                ));
            }
        }
        if version < 0 {
            return Err(StoreError::new(format_args!(
                "the SQLite store's schema version ({version}) is not one dynpin-bank writes"
            )));
        }
        if version > known {
            return Err(StoreError::new(format_args!(
                "the SQLite store's schema is version {version}, newer than this build \
                 knows ({known}): run a newer dynpin-bank"
            )));
        }
        let Some(sql) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            // Up to date.
            return tx.commit().map_err(db);
        };
        tx.execute_batch(sql).map_err(|e| {
            StoreError::new(format_args!(
                "SQLite store migration to version {} failed: {}",
                version + 1,
                describe(&e)
            ))
        })?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(db)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(db)?;
        tx.commit().map_err(db)?;
    }
}

// --- errors and conversions ----------------------------------------------

/// What went wrong, without any value the query carried (no sealed bytes,
/// tags or hashes): SQLite's own messages name tables and constraints only.
fn describe(e: &rusqlite::Error) -> String {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(code, Some(message)) => format!("{code}: {message}"),
        E::SqliteFailure(code, None) => code.to_string(),
        E::FromSqlConversionFailure(column, ty, _) | E::InvalidColumnType(column, _, ty) => {
            format!("an unreadable {ty} value in column {column}")
        }
        E::IntegralValueOutOfRange(column, _) => {
            format!("an integer out of range in column {column}")
        }
        E::ToSqlConversionFailure(_) => "a value SQLite cannot take".into(),
        other => other.to_string(),
    }
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::new(format_args!("sqlite: {}", describe(&e)))
}

fn unreadable(what: &str) -> StoreError {
    StoreError::new(format_args!("sqlite: an unreadable row ({what})"))
}

/// A time (Unix seconds) for an INTEGER column; beyond `i64::MAX` (never,
/// in practice) it is `i64::MAX`.
fn time_in(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn time_out(t: i64) -> StoreResult<u64> {
    u64::try_from(t).map_err(|_| unreadable("a negative time"))
}

fn count_out(n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| unreadable("a count out of range"))
}

fn card_out(bytes: &[u8]) -> StoreResult<CardId> {
    <[u8; 16]>::try_from(bytes)
        .map(CardId::from_bytes)
        .map_err(|_| unreadable("a card id of the wrong length"))
}

// --- cards -----------------------------------------------------------------

/// A card's mutable row, as read in a transaction.
struct CardRow {
    state: CardState,
    confirm_deadline: u64,
    /// The token of the request that confirmed the card.
    confirm_request: Option<Vec<u8>>,
}

fn load(tx: &Transaction<'_>, id: CardId) -> StoreResult<Option<CardRow>> {
    let row = tx
        .query_row(
            "SELECT status, attempts, confirm_attempts, last_step_first, last_step_second,
                    drift_first, drift_second, confirm_deadline, confirm_request
             FROM cards WHERE id = ?1",
            [id.as_bytes()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<Vec<u8>>>(8)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let Some((
        status,
        attempts,
        confirm_attempts,
        first,
        second,
        drift1,
        drift2,
        deadline,
        request,
    )) = row
    else {
        return Ok(None);
    };
    Ok(Some(CardRow {
        state: CardState {
            status: CardStatus::parse(&status)?,
            attempts: count_out(attempts)?,
            confirm_attempts: count_out(confirm_attempts)?,
            last_step: [first.map(step_from_i64), second.map(step_from_i64)],
            drift: [drift1, drift2],
        },
        confirm_deadline: time_out(deadline)?,
        confirm_request: request,
    }))
}

fn save(tx: &Transaction<'_>, id: CardId, state: &CardState) -> StoreResult<()> {
    let [first, second] = state.last_step;
    let [drift1, drift2] = state.drift;
    tx.execute(
        "UPDATE cards SET status = ?2, attempts = ?3, confirm_attempts = ?4,
                last_step_first = ?5, last_step_second = ?6,
                drift_first = ?7, drift_second = ?8
         WHERE id = ?1",
        params![
            id.as_bytes(),
            state.status.as_str(),
            i64::from(state.attempts),
            i64::from(state.confirm_attempts),
            first.map(step_to_i64),
            second.map(step_to_i64),
            drift1,
            drift2,
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn newer(last: Option<u64>, step: u64) -> bool {
    last.is_none_or(|last| step > last)
}

/// An amount-bound step for one transaction: refused if the transaction
/// used it (or a later one) or if it is `horizon` or more steps behind the
/// card's newest; else recorded, forgetting what fell beyond the horizon
/// (never the newest).
fn accept_transaction(
    tx: &Transaction<'_>,
    card: CardId,
    key: [u8; 32],
    step: u64,
    horizon: u64,
) -> StoreResult<bool> {
    let newest: Option<i64> = tx
        .query_row(
            "SELECT max(step) FROM transactions WHERE card = ?1",
            [card.as_bytes()],
            |r| r.get(0),
        )
        .map_err(db)?;
    let newest = newest.map(step_from_i64);
    let last: Option<i64> = tx
        .query_row(
            "SELECT step FROM transactions WHERE card = ?1 AND tx_key = ?2",
            params![card.as_bytes(), key],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let beyond = newest
        .and_then(|n| n.checked_sub(step))
        .is_some_and(|behind| behind >= horizon);
    let used = last.map(step_from_i64).is_some_and(|last| step <= last);
    if beyond || used {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO transactions (card, tx_key, step) VALUES (?1, ?2, ?3)
         ON CONFLICT (card, tx_key) DO UPDATE SET step = excluded.step",
        params![card.as_bytes(), key, step_to_i64(step)],
    )
    .map_err(db)?;
    let newest = newest.map_or(step, |n| n.max(step));
    if let Some(cut) = newest.checked_sub(horizon.max(1)) {
        tx.execute(
            "DELETE FROM transactions WHERE card = ?1 AND step <= ?2",
            params![card.as_bytes(), step_to_i64(cut)],
        )
        .map_err(db)?;
    }
    Ok(true)
}

fn record_attempt_in(tx: &Transaction<'_>, attempt: &Attempt) -> StoreResult<AttemptOutcome> {
    let Some(CardRow { mut state, .. }) = load(tx, attempt.card)? else {
        return Ok(AttemptOutcome::UnknownCard);
    };
    if state.status != CardStatus::Active {
        return Ok(AttemptOutcome::NotActive(state.status));
    }
    let i = CardState::index(attempt.kind);
    let drift = state.drift.get(i).copied().unwrap_or(0);
    if drift != attempt.drift {
        return Ok(AttemptOutcome::StaleDrift(drift));
    }
    if state.attempts >= attempt.limit {
        return Ok(AttemptOutcome::Locked);
    }
    let accepted = match (attempt.matched, attempt.transaction) {
        (None, _) => false,
        (Some(step), None) => match state.last_step.get_mut(i) {
            Some(last) if newer(*last, step) => {
                *last = Some(step);
                true
            }
            _ => false,
        },
        (Some(step), Some(key)) => {
            accept_transaction(tx, attempt.card, key, step, attempt.horizon)?
        }
    };
    let outcome = if accepted {
        state.attempts = 0;
        AttemptOutcome::Accepted
    } else {
        state.attempts = state.attempts.saturating_add(1);
        AttemptOutcome::Failed {
            count: state.attempts,
        }
    };
    save(tx, attempt.card, &state)?;
    Ok(outcome)
}

fn record_confirmation_in(
    tx: &Transaction<'_>,
    attempt: &ConfirmAttempt,
) -> StoreResult<ConfirmOutcome> {
    let Some(CardRow {
        mut state,
        confirm_deadline,
        confirm_request,
    }) = load(tx, attempt.card)?
    else {
        return Ok(ConfirmOutcome::UnknownCard);
    };
    if state.status == CardStatus::Suspended {
        return Ok(ConfirmOutcome::Suspended);
    }
    // The confirming request again (its answer was lost): answered as it
    // was, nothing counted.
    if state.status == CardStatus::Active
        && attempt.correct
        && confirm_request.as_deref() == Some(&attempt.request[..])
    {
        return Ok(ConfirmOutcome::Confirmed);
    }
    if attempt.now >= confirm_deadline {
        return Ok(ConfirmOutcome::Expired);
    }
    if state.confirm_attempts >= attempt.limit {
        return Ok(ConfirmOutcome::Locked);
    }
    state.confirm_attempts = state.confirm_attempts.saturating_add(1);
    let outcome = if !attempt.correct {
        ConfirmOutcome::Wrong {
            count: state.confirm_attempts,
        }
    } else if state.status == CardStatus::Pending {
        state.status = CardStatus::Active;
        tx.execute(
            "UPDATE cards SET confirm_request = ?2 WHERE id = ?1",
            params![attempt.card.as_bytes(), attempt.request],
        )
        .map_err(db)?;
        ConfirmOutcome::Confirmed
    } else {
        state.status = CardStatus::Suspended;
        ConfirmOutcome::CloneSuspected
    };
    save(tx, attempt.card, &state)?;
    Ok(outcome)
}

fn resync_in(
    tx: &Transaction<'_>,
    id: CardId,
    kind: PinKind,
    step: u64,
    drift: i64,
) -> StoreResult<bool> {
    let Some(CardRow { mut state, .. }) = load(tx, id)? else {
        return Ok(false);
    };
    let i = CardState::index(kind);
    let done = match (state.last_step.get_mut(i), state.drift.get_mut(i)) {
        (Some(last), Some(d)) if newer(*last, step) => {
            *last = Some(step);
            *d = drift;
            state.attempts = 0;
            true
        }
        _ => false,
    };
    if done {
        save(tx, id, &state)?;
    }
    Ok(done)
}

// --- SMS codes -------------------------------------------------------------

fn issue_sms_in(tx: &Transaction<'_>, issue: &SmsIssue, now: u64) -> StoreResult<SmsIssued> {
    let card = issue.card.as_bytes();
    // Sends at or before `now - window` are out of the window.
    if let Some(cut) = now.checked_sub(issue.window_seconds) {
        tx.execute(
            "DELETE FROM sms_sent WHERE card = ?1 AND sent_at <= ?2",
            params![card, time_in(cut)],
        )
        .map_err(db)?;
    }
    let (sent, oldest): (i64, Option<i64>) = tx
        .query_row(
            "SELECT count(*), min(sent_at) FROM sms_sent WHERE card = ?1",
            [card],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db)?;
    if sent >= i64::from(issue.max_requests) {
        let oldest = oldest.map(time_out).transpose()?.unwrap_or(now);
        return Ok(SmsIssued::RateLimited {
            retry_after_seconds: oldest
                .saturating_add(issue.window_seconds)
                .saturating_sub(now)
                .max(1),
        });
    }
    tx.execute(
        "INSERT INTO sms_sent (card, sent_at) VALUES (?1, ?2)",
        params![card, time_in(now)],
    )
    .map_err(db)?;
    let expires_at = now.saturating_add(issue.validity_seconds);
    tx.execute(
        "INSERT INTO sms_codes (card, slot, tag, expires_at, attempts_left)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (card, slot) DO UPDATE SET
             tag = excluded.tag, expires_at = excluded.expires_at,
             attempts_left = excluded.attempts_left",
        params![
            card,
            issue.slot,
            issue.tag,
            time_in(expires_at),
            i64::from(issue.max_attempts)
        ],
    )
    .map_err(db)?;
    Ok(SmsIssued::Stored { expires_at })
}

fn check_sms_in(
    tx: &Transaction<'_>,
    card: CardId,
    slot: [u8; 32],
    tag: [u8; 32],
    now: u64,
) -> StoreResult<SmsChecked> {
    use subtle::ConstantTimeEq;
    let row: Option<([u8; 32], i64, i64)> = tx
        .query_row(
            "SELECT tag, expires_at, attempts_left FROM sms_codes
             WHERE card = ?1 AND slot = ?2",
            params![card.as_bytes(), slot],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((stored, expires_at, left)) = row else {
        return Ok(SmsChecked::NoPending);
    };
    let expires_at = time_out(expires_at)?;
    let mut left = count_out(left)?;
    let outcome = if now >= expires_at {
        SmsChecked::Expired
    } else if left == 0 {
        SmsChecked::TooManyAttempts
    } else {
        left -= 1;
        if bool::from(stored.ct_eq(&tag)) {
            SmsChecked::Accepted
        } else if left == 0 {
            SmsChecked::TooManyAttempts
        } else {
            SmsChecked::Wrong { remaining: left }
        }
    };
    if matches!(outcome, SmsChecked::Wrong { .. }) {
        tx.execute(
            "UPDATE sms_codes SET attempts_left = ?3 WHERE card = ?1 AND slot = ?2",
            params![card.as_bytes(), slot, i64::from(left)],
        )
    } else {
        tx.execute(
            "DELETE FROM sms_codes WHERE card = ?1 AND slot = ?2",
            params![card.as_bytes(), slot],
        )
    }
    .map_err(db)?;
    Ok(outcome)
}

// --- activations and idempotency ------------------------------------------

fn fetch_activation_in(
    tx: &Transaction<'_>,
    handle: [u8; 32],
    now: u64,
) -> StoreResult<ActivationFetch> {
    let row: Option<(String, i64, i64, i64)> = tx
        .query_row(
            "SELECT payload, expires_at, max_fetches, fetches FROM activations
             WHERE handle = ?1",
            [handle],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((payload, expires_at, max_fetches, fetches)) = row else {
        return Ok(ActivationFetch::NotFound);
    };
    if time_out(expires_at)? <= now || count_out(fetches)? >= count_out(max_fetches)? {
        return Ok(ActivationFetch::NotFound);
    }
    tx.execute(
        "UPDATE activations SET fetches = fetches + 1 WHERE handle = ?1",
        [handle],
    )
    .map_err(db)?;
    Ok(ActivationFetch::Found(payload))
}

fn begin_idempotent_in(
    tx: &Transaction<'_>,
    client: &str,
    key: &str,
    request: [u8; 32],
    lease_seconds: u64,
    now: u64,
) -> StoreResult<IdempotencyBegin> {
    struct Row {
        request: [u8; 32],
        lease_until: i64,
        status: Option<i64>,
        body: Option<Vec<u8>>,
    }
    let row = tx
        .query_row(
            "SELECT request, lease_until, status, body FROM idempotency
             WHERE client = ?1 AND idem_key = ?2",
            params![client, key],
            |r| {
                Ok(Row {
                    request: r.get(0)?,
                    lease_until: r.get(1)?,
                    status: r.get(2)?,
                    body: r.get(3)?,
                })
            },
        )
        .optional()
        .map_err(db)?;
    let lease_until = time_in(now.saturating_add(lease_seconds));
    let Some(Row {
        request: stored,
        lease_until: held_until,
        status,
        body,
    }) = row
    else {
        tx.execute(
            "INSERT INTO idempotency (client, idem_key, request, lease_until)
             VALUES (?1, ?2, ?3, ?4)",
            params![client, key, request, lease_until],
        )
        .map_err(db)?;
        return Ok(IdempotencyBegin::Proceed);
    };
    if stored != request {
        return Ok(IdempotencyBegin::Mismatch);
    }
    if let Some(status) = status {
        return Ok(IdempotencyBegin::Done(StoredResponse {
            status: u16::try_from(status).map_err(|_| unreadable("an HTTP status"))?,
            body: body.unwrap_or_default(),
        }));
    }
    if time_out(held_until)? > now {
        return Ok(IdempotencyBegin::InFlight);
    }
    tx.execute(
        "UPDATE idempotency SET lease_until = ?3 WHERE client = ?1 AND idem_key = ?2",
        params![client, key, lease_until],
    )
    .map_err(db)?;
    Ok(IdempotencyBegin::Proceed)
}

impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|tx| {
            tx.query_row("SELECT count(*) FROM cards", [], |r| r.get::<_, i64>(0))
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn insert_card(&self, card: &CardRecord) -> StoreResult<bool> {
        let card = card.clone();
        let deadline = i64::try_from(card.confirm_deadline)
            .map_err(|_| StoreError::new("a confirmation deadline beyond the SQLite range"))?;
        self.write(move |tx, _| {
            let inserted = tx
                .execute(
                    "INSERT INTO cards (id, key_id, sealed, status, confirm_deadline, phone, last_four)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        card.id.as_bytes(),
                        card.key_id,
                        card.sealed,
                        card.status.as_str(),
                        deadline,
                        card.phone,
                        card.last_four,
                    ],
                )
                .map_err(db)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn card(&self, id: CardId) -> StoreResult<Option<CardRecord>> {
        self.read(move |tx| {
            struct Row {
                key_id: String,
                sealed: Vec<u8>,
                status: String,
                confirm_deadline: i64,
                phone: Option<String>,
                last_four: u16,
            }
            let row = tx
                .query_row(
                    "SELECT key_id, sealed, status, confirm_deadline, phone, last_four
                     FROM cards WHERE id = ?1",
                    [id.as_bytes()],
                    |r| {
                        Ok(Row {
                            key_id: r.get(0)?,
                            sealed: r.get(1)?,
                            status: r.get(2)?,
                            confirm_deadline: r.get(3)?,
                            phone: r.get(4)?,
                            last_four: r.get(5)?,
                        })
                    },
                )
                .optional()
                .map_err(db)?;
            row.map(|row| {
                Ok(CardRecord {
                    id,
                    key_id: row.key_id,
                    sealed: row.sealed,
                    status: CardStatus::parse(&row.status)?,
                    confirm_deadline: time_out(row.confirm_deadline)?,
                    phone: row.phone,
                    last_four: row.last_four,
                })
            })
            .transpose()
        })
        .await
    }

    async fn state(&self, id: CardId) -> StoreResult<Option<CardState>> {
        self.read(move |tx| Ok(load(tx, id)?.map(|row| row.state)))
            .await
    }

    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<AttemptOutcome> {
        let attempt = *attempt;
        self.write(move |tx, _| record_attempt_in(tx, &attempt))
            .await
    }

    async fn record_confirmation(&self, attempt: &ConfirmAttempt) -> StoreResult<ConfirmOutcome> {
        let attempt = *attempt;
        self.write(move |tx, _| record_confirmation_in(tx, &attempt))
            .await
    }

    async fn set_status(&self, id: CardId, status: CardStatus) -> StoreResult<Option<CardStatus>> {
        self.write(move |tx, _| {
            let Some(CardRow { mut state, .. }) = load(tx, id)? else {
                return Ok(None);
            };
            let before = core::mem::replace(&mut state.status, status);
            save(tx, id, &state)?;
            Ok(Some(before))
        })
        .await
    }

    async fn reset_attempts(&self, id: CardId) -> StoreResult<bool> {
        self.write(move |tx, _| {
            let changed = tx
                .execute(
                    "UPDATE cards SET attempts = 0 WHERE id = ?1",
                    [id.as_bytes()],
                )
                .map_err(db)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn resync(&self, id: CardId, kind: PinKind, step: u64, drift: i64) -> StoreResult<bool> {
        self.write(move |tx, _| resync_in(tx, id, kind, step, drift))
            .await
    }

    async fn cards_by_phone(&self, phone: &str, last_four: u16) -> StoreResult<Vec<CardId>> {
        let phone = phone.to_owned();
        self.read(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id FROM cards WHERE phone = ?1 AND last_four = ?2 \
                     AND status <> 'suspended' ORDER BY id",
                )
                .map_err(db)?;
            let ids = stmt
                .query_map(params![phone, last_four], |r| r.get::<_, Vec<u8>>(0))
                .map_err(db)?;
            ids.map(|id| card_out(&id.map_err(db)?)).collect()
        })
        .await
    }

    async fn issue_sms(&self, issue: &SmsIssue) -> StoreResult<SmsIssued> {
        let issue = issue.clone();
        self.write(move |tx, now| issue_sms_in(tx, &issue, now))
            .await
    }

    async fn check_sms(
        &self,
        card: CardId,
        slot: [u8; 32],
        tag: [u8; 32],
    ) -> StoreResult<SmsChecked> {
        self.write(move |tx, now| check_sms_in(tx, card, slot, tag, now))
            .await
    }

    async fn put_activation(&self, activation: &ActivationRecord, now: u64) -> StoreResult<bool> {
        let a = activation.clone();
        self.write(move |tx, _| {
            tx.execute(
                "DELETE FROM activations WHERE expires_at <= ?1",
                [time_in(now)],
            )
            .map_err(db)?;
            let inserted = tx
                .execute(
                    "INSERT INTO activations (handle, card, payload, expires_at, max_fetches)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (handle) DO NOTHING",
                    params![
                        a.handle,
                        a.card.as_bytes(),
                        a.payload,
                        time_in(a.expires_at),
                        i64::from(a.max_fetches),
                    ],
                )
                .map_err(db)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn fetch_activation(&self, handle: [u8; 32], now: u64) -> StoreResult<ActivationFetch> {
        self.write(move |tx, _| fetch_activation_in(tx, handle, now))
            .await
    }

    async fn begin_idempotent(
        &self,
        client: &str,
        key: &str,
        request: [u8; 32],
        lease_seconds: u64,
    ) -> StoreResult<IdempotencyBegin> {
        let (client, key) = (client.to_owned(), key.to_owned());
        self.write(move |tx, now| {
            begin_idempotent_in(tx, &client, &key, request, lease_seconds, now)
        })
        .await
    }

    async fn finish_idempotent(
        &self,
        client: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let (client, key, response) = (client.to_owned(), key.to_owned(), response.clone());
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE idempotency SET status = ?3, body = ?4
                 WHERE client = ?1 AND idem_key = ?2",
                params![client, key, response.status, response.body],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let event = event.clone();
        self.write(move |tx, now| {
            tx.execute(
                "INSERT INTO audit (at, card, event, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    time_in(now),
                    event.card.as_ref().map(CardId::as_bytes),
                    event.event,
                    event.actor,
                    event.detail,
                ],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn audit_trail(&self, card: CardId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.read(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT event, actor, detail FROM (
                         SELECT seq, event, actor, detail FROM audit
                         WHERE card = ?1 ORDER BY seq DESC LIMIT ?2
                     ) ORDER BY seq",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![card.as_bytes(), i64::from(limit)], |r| {
                    Ok(AuditEvent {
                        card: Some(card),
                        event: r.get(0)?,
                        actor: r.get(1)?,
                        detail: r.get(2)?,
                    })
                })
                .map_err(db)?;
            rows.map(|row| row.map_err(db)).collect()
        })
        .await
    }
}
