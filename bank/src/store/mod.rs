//! The bank's shared state behind one async, fallible trait, [`Store`].
//!
//! Every operation is **one atomic step on the shared store** — one
//! conditional row update, or one short transaction on one card's rows — so
//! any number of verifier processes can share a store:
//!
//! - a PIN attempt is recorded by [`Store::record_attempt`]: in one step it
//!   claims one of the card's attempts (refusing at the limit) *and*, for a
//!   code that matched, sets the PIN's last accepted step if it is greater.
//!   The verifier evaluates the code first, but its outcome counts only
//!   through this step, so at most `limit` guesses ever count and a code is
//!   accepted once across every server;
//! - activation confirmations, SMS codes, activation fetches and idempotency
//!   keys likewise claim before they act.
//!
//! Errors fail closed: a [`StoreError`] never becomes an accept (the service
//! answers 503 "unavailable").
//!
//! Backends: [`memory::MemoryStore`] (tests, one process),
//! [`sqlite::SqliteStore`] (the embedded default: one instance, no server),
//! [`postgres::PgStore`] (a fleet on PostgreSQL). All pass one behaviour
//! suite (`bank/tests/store.rs`).

use core::future::Future;

use dynpin::card::CardId;
use dynpin::pin::PinKind;

pub mod memory;
pub mod postgres;
pub mod sqlite;

/// The store could not answer: the database is down, a query failed or a
/// stored row is unreadable. Callers fail closed. The message is for the
/// operator's log and never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// A store error with this description.
    pub fn new(what: impl core::fmt::Display) -> Self {
        Self(what.to_string())
    }
}

/// The result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Where a card stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardStatus {
    /// Provisioned; its activation is not confirmed yet: PINs are refused.
    Pending,
    /// Confirmed once: PINs are accepted.
    Active,
    /// Confirmed twice (a possible clone) or suspended by the bank: PINs are
    /// refused until an operator lifts it.
    Suspended,
}

impl CardStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Pending => "pending",
            CardStatus::Active => "active",
            CardStatus::Suspended => "suspended",
        }
    }

    /// Parses the stored spelling.
    ///
    /// # Errors
    /// [`StoreError`] for anything else (an unreadable row).
    pub fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(CardStatus::Pending),
            "active" => Ok(CardStatus::Active),
            "suspended" => Ok(CardStatus::Suspended),
            _ => Err(StoreError::new("unknown card status in the store")),
        }
    }
}

/// A card as the store keeps it. The card's parameters and seed are one
/// sealed blob (encrypted under the key encryption key by the caller; see
/// `docs/verifier.md`); the store only indexes the plain fields.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRecord {
    /// The card's id (random, stable).
    pub id: CardId,
    /// The id of the key encryption key that sealed `sealed`.
    pub key_id: String,
    /// The sealed card: parameters and master seed, encrypted.
    pub sealed: Vec<u8>,
    /// The status it starts in.
    pub status: CardStatus,
    /// Unix seconds; confirmations at or after it are refused.
    pub confirm_deadline: u64,
    /// The customer's mobile number (normalised digits), for SMS.
    pub phone: Option<String>,
    /// The card's last four digits, for Mellat-style SMS requests.
    pub last_four: u16,
}

impl core::fmt::Debug for CardRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardRecord")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A PIN attempt to record: what the verifier evaluated, and against what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// The card.
    pub card: CardId,
    /// The PIN (for an amount-bound code: [`PinKind::Second`], whose drift applies).
    pub kind: PinKind,
    /// Attempts allowed since the last success.
    pub limit: u32,
    /// The drift (seconds) the window was centred with; the store refuses
    /// with [`AttemptOutcome::StaleDrift`] when the PIN's drift is no longer this.
    pub drift: i64,
    /// The newest step in the window whose code matched, if any.
    pub matched: Option<u64>,
    /// For an amount-bound code: the transaction it is single-use for.
    pub transaction: Option<[u8; 32]>,
    /// For an amount-bound code: steps behind the card's newest accepted
    /// transaction beyond which a step is refused (and forgotten).
    pub horizon: u64,
}

/// What recording an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The matched step was newer than every step used: recorded, and the
    /// attempt count cleared.
    Accepted,
    /// Counted as a failure (no match, or a replay): the count is now `count`.
    Failed {
        /// The card's attempts since its last success, this one included.
        count: u32,
    },
    /// The limit was reached before this attempt: nothing changed.
    Locked,
    /// No such card.
    UnknownCard,
    /// The card's status refuses PINs (pending or suspended): nothing changed.
    NotActive(CardStatus),
    /// The PIN's drift changed since it was read: nothing changed; evaluate
    /// again with this drift.
    StaleDrift(i64),
}

/// A card's verification state, as read (for a window's centre, for operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardState {
    /// The status.
    pub status: CardStatus,
    /// Attempts since the last success or reset.
    pub attempts: u32,
    /// Confirmation attempts so far.
    pub confirm_attempts: u32,
    /// The last accepted step of the first and the second PIN.
    pub last_step: [Option<u64>; 2],
    /// The drift of the first and the second PIN, in seconds.
    pub drift: [i64; 2],
}

impl CardState {
    /// The index of `kind` in the per-PIN arrays: 0 for the first PIN, 1
    /// for the second and every other kind (an amount-bound code is typed on
    /// the second PIN's phone, so the second PIN's state applies).
    pub fn index(kind: PinKind) -> usize {
        match kind {
            PinKind::First => 0,
            _ => 1,
        }
    }
}

/// A confirmation attempt to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmAttempt {
    /// The card.
    pub card: CardId,
    /// Attempts allowed in all.
    pub limit: u32,
    /// Whether the typed code was right (evaluated before, counted here).
    pub correct: bool,
    /// The verifier's time (Unix seconds), against the card's deadline.
    pub now: u64,
    /// Names the confirming request: the same for every retry of one request
    /// (a hash of the client and its idempotency key), another for any other
    /// request. Stored with the *pending* → *active* switch; a correct
    /// confirmation of an active card with the stored token is that request
    /// again, not a clone.
    pub request: [u8; 32],
}

/// What recording a confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// First correct confirmation: the card is active. Also a correct
    /// confirmation of an active card by the request that confirmed it (a
    /// retry, with the same token): nothing changed, no attempt counted.
    Confirmed,
    /// A correct confirmation of an active card by another request: now
    /// suspended as a possible clone.
    CloneSuspected,
    /// Wrong: `count` attempts made so far.
    Wrong {
        /// Confirmation attempts so far, this one included.
        count: u32,
    },
    /// No attempt left: nothing changed.
    Locked,
    /// Past the deadline: nothing changed.
    Expired,
    /// The card is suspended: nothing changed.
    Suspended,
    /// No such card.
    UnknownCard,
}

/// An SMS code to store (only its keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsIssue {
    /// The card.
    pub card: CardId,
    /// Which pending code: a hash of the transaction id (or zeros for a Mellat card code).
    pub slot: [u8; 32],
    /// HMAC of the code, bound to the card and the transaction.
    pub tag: [u8; 32],
    /// Seconds the code is valid, from the store's clock.
    pub validity_seconds: u64,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Codes a card may be sent per window.
    pub max_requests: u32,
    /// The rate window, seconds.
    pub window_seconds: u64,
}

/// What issuing an SMS code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsIssued {
    /// Stored (replacing a code pending for the same slot); expires then (Unix seconds, store's clock).
    Stored {
        /// Unix seconds.
        expires_at: u64,
    },
    /// Too many codes sent to this card in the window: nothing stored.
    RateLimited {
        /// Seconds until another code may be sent.
        retry_after_seconds: u64,
    },
}

/// What checking an SMS code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsChecked {
    /// The tag matched: the code is used up.
    Accepted,
    /// Wrong; `remaining` attempts left.
    Wrong {
        /// Attempts left.
        remaining: u32,
    },
    /// The last attempt was wrong or none was left: the code is void.
    TooManyAttempts,
    /// Expired (by the store's clock): the code is void.
    Expired,
    /// No code pending for this slot.
    NoPending,
}

/// An activation kept for the ATM channel: the sealed payload, fetched by a
/// short handle (the payload is useless without the activation code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationRecord {
    /// The handle printed on the receipt (stored as its hash by the caller).
    pub handle: [u8; 32],
    /// The card.
    pub card: CardId,
    /// The sealed payload text.
    pub payload: String,
    /// Unix seconds after which it is not served.
    pub expires_at: u64,
    /// Fetches allowed.
    pub max_fetches: u32,
}

/// What fetching an activation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationFetch {
    /// The payload.
    Found(String),
    /// No such handle, expired, or fetched too often.
    NotFound,
}

/// A stored answer to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// What beginning an idempotent request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its earlier holder's lease ran out): go on, then finish it.
    Proceed,
    /// The request was answered before: return this.
    Done(StoredResponse),
    /// Another request with this key is in flight.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

/// An event for the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The card, if the event is about one.
    pub card: Option<CardId>,
    /// What happened (`provisioned`, `confirmed`, `clone_suspected`, `locked`,
    /// `unlocked`, `resynced`, `suspended`, `lifted`, …).
    pub event: String,
    /// Who: a client id or an operator id.
    pub actor: String,
    /// A short detail (never a secret).
    pub detail: String,
}

/// The bank's shared state. Every method is one atomic step; every error
/// means "unknown", and callers fail closed.
pub trait Store: Send + Sync + 'static {
    /// Checks that the store answers (for `/readyz`).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts a new card with its verification state (attempts 0, no step
    /// used, drift 0). Returns `false` (nothing changed) if the id exists.
    fn insert_card(&self, card: &CardRecord) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The card's record (status as stored now), if any.
    fn card(&self, id: CardId) -> impl Future<Output = StoreResult<Option<CardRecord>>> + Send;

    /// The card's verification state, if any.
    fn state(&self, id: CardId) -> impl Future<Output = StoreResult<Option<CardState>>> + Send;

    /// Records one PIN attempt in one atomic step (see [`Attempt`] and the module docs).
    fn record_attempt(
        &self,
        attempt: &Attempt,
    ) -> impl Future<Output = StoreResult<AttemptOutcome>> + Send;

    /// Records one confirmation attempt in one atomic step, deciding in this
    /// order: no such card → [`ConfirmOutcome::UnknownCard`]; suspended →
    /// [`ConfirmOutcome::Suspended`]; a correct one on an active card whose
    /// stored token is `attempt.request` → [`ConfirmOutcome::Confirmed`],
    /// nothing changed (a retry of the confirming request, answered as it
    /// was, even past the deadline or at the limit); at or past the deadline
    /// → [`ConfirmOutcome::Expired`]; at the limit → [`ConfirmOutcome::Locked`];
    /// else one attempt is counted and a wrong one is
    /// [`ConfirmOutcome::Wrong`], a correct one on a pending card makes it
    /// active and stores the token ([`ConfirmOutcome::Confirmed`]), a correct
    /// one on an active card suspends it ([`ConfirmOutcome::CloneSuspected`]).
    fn record_confirmation(
        &self,
        attempt: &ConfirmAttempt,
    ) -> impl Future<Output = StoreResult<ConfirmOutcome>> + Send;

    /// Sets the card's status; returns the status before, `None` for an unknown card.
    fn set_status(
        &self,
        id: CardId,
        status: CardStatus,
    ) -> impl Future<Output = StoreResult<Option<CardStatus>>> + Send;

    /// Clears the card's PIN attempt count; `false` for an unknown card.
    fn reset_attempts(&self, id: CardId) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Operator re-synchronisation: if `step` is greater than the PIN's last
    /// accepted step, records it, sets the PIN's drift and clears the
    /// attempt count, atomically; returns whether it did.
    fn resync(
        &self,
        id: CardId,
        kind: PinKind,
        step: u64,
        drift: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The ids of the cards registered to `phone` ending in `last_four`,
    /// except suspended ones (a card reissued to the same phone leaves the
    /// old one suspended: it must not make the number ambiguous).
    fn cards_by_phone(
        &self,
        phone: &str,
        last_four: u16,
    ) -> impl Future<Output = StoreResult<Vec<CardId>>> + Send;

    /// Stores an SMS code, counting it against the card's rate window, atomically.
    fn issue_sms(&self, issue: &SmsIssue) -> impl Future<Output = StoreResult<SmsIssued>> + Send;

    /// Checks an SMS code's tag in one atomic step: expiry by the store's
    /// clock, an attempt claimed before the comparison, single use.
    fn check_sms(
        &self,
        card: CardId,
        slot: [u8; 32],
        tag: [u8; 32],
    ) -> impl Future<Output = StoreResult<SmsChecked>> + Send;

    /// Keeps an activation for the ATM channel; `false` if the handle exists.
    fn put_activation(
        &self,
        activation: &ActivationRecord,
        now: u64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Fetches an activation's payload, counting the fetch atomically.
    fn fetch_activation(
        &self,
        handle: [u8; 32],
        now: u64,
    ) -> impl Future<Output = StoreResult<ActivationFetch>> + Send;

    /// Begins an idempotent request: `client`'s `key` for a request whose
    /// hash is `request`; a holder's lease lasts `lease_seconds` (store's clock).
    fn begin_idempotent(
        &self,
        client: &str,
        key: &str,
        request: [u8; 32],
        lease_seconds: u64,
    ) -> impl Future<Output = StoreResult<IdempotencyBegin>> + Send;

    /// Stores the answer of an idempotent request begun with [`Store::begin_idempotent`].
    fn finish_idempotent(
        &self,
        client: &str,
        key: &str,
        response: &StoredResponse,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends to the audit log (never updated or deleted).
    fn audit(&self, event: &AuditEvent) -> impl Future<Output = StoreResult<()>> + Send;

    /// The newest `limit` audit events of a card, oldest first (for operators and tests).
    fn audit_trail(
        &self,
        card: CardId,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<AuditEvent>>> + Send;
}

/// Maps a step (u64) onto a signed 64-bit column keeping its order:
/// `u64::MIN` → `i64::MIN`, `u64::MAX` → `i64::MAX` (the sign bit flipped),
/// for databases whose integers are signed.
pub fn step_to_i64(step: u64) -> i64 {
    i64::from_be_bytes((step ^ (1 << 63)).to_be_bytes())
}

/// The inverse of [`step_to_i64`].
pub fn step_from_i64(stored: i64) -> u64 {
    u64::from_be_bytes(stored.to_be_bytes()) ^ (1 << 63)
}
