//! Verifying dynamic PINs at the bank: a window of steps, single use, throttling, drift.
//!
//! A dynamic PIN is only as good as the check at the bank. [`Verifier`] keeps
//! each card's keyed HMAC state (precomputed once, when the card is
//! registered) and its state behind a small trait, [`VerifierStore`]:
//!
//! - **single use** — a step accepted once is never accepted again: the store
//!   atomically raises "last accepted step" per card and PIN, so of many
//!   concurrent submissions of one code exactly one succeeds; an amount-bound
//!   code is single-use per transaction (amount and payee), so two payments
//!   in one minute each verify once;
//! - **throttling** — every attempt claims one of the card's attempts from the
//!   store atomically *before* it is evaluated; at the limit (default 10, at
//!   most 100) the card's dynamic PIN is locked until [`Verifier::reset`], so
//!   of any number of concurrent guesses at most the limit are ever compared;
//!   a success clears the count in the same atomic step that records it;
//! - **drift** — a per-PIN offset in seconds (so PINs of different periods
//!   never shift each other), at most [`VerifierConfig::max_drift_seconds`]
//!   either way, set only by an operator ([`Verifier::operator_resync`], which
//!   needs an [`OperatorAuthorization`]) from two consecutive codes newer than
//!   the last accepted one: old or phished codes cannot move the window back.
//!
//! [`MemoryStore`] is the in-process store; `docs/verifier.md` shows how the
//! same three operations map onto Redis or PostgreSQL for a fleet of servers.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};

use crate::ProvisionedCard;
use dynpin::activation::{self, ActivationId};
use dynpin::card::amount;
use dynpin::card::{Card, CardError, CardId};
use dynpin::clock::Clock;
use dynpin::otp::{self, OtpCode, OtpError};
use dynpin::pin::PinKind;
use dynpin::text::{self, InputError};

/// The most steps a window may reach either way.
pub const MAX_WINDOW_STEPS: u8 = 2;
/// The highest failure limit a bank may configure.
pub const MAX_FAILURE_LIMIT: u32 = 100;
/// The largest drift a bank may allow, in seconds either way: one hour.
pub const MAX_DRIFT_SECONDS: u64 = 3600;
/// How many steps back the store remembers each accepted amount-bound
/// transaction: an amount-bound code more than this many steps older than the
/// newest one accepted for the card is refused outright, so the record of
/// transactions stays bounded and nothing forgotten can be replayed. 64
/// one-minute steps is far beyond any window (at most two steps either way).
pub const TRANSACTION_HORIZON_STEPS: u64 = 64;

/// Verifier settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifierConfig {
    /// Steps before the current one that are still accepted (0–2; default 1).
    pub behind: u8,
    /// Steps after the current one that are accepted (0–2; default 0).
    pub ahead: u8,
    /// Consecutive failures that lock a card's dynamic PIN (1–100; default 10).
    pub failure_limit: u32,
    /// The largest drift, in seconds either way, that
    /// [`Verifier::operator_resync`] may set (1–3600; default 600).
    pub max_drift_seconds: u64,
    /// Seconds after provisioning within which an activation may be
    /// confirmed ([`Verifier::confirm`]; 60 s to 30 days; default 600).
    pub confirmation_seconds: u64,
    /// Confirmation attempts allowed per card (1–100; default 5).
    pub confirmation_attempts: u32,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            behind: 1,
            ahead: 0,
            failure_limit: 10,
            max_drift_seconds: 600,
            confirmation_seconds: 600,
            confirmation_attempts: 5,
        }
    }
}

impl VerifierConfig {
    fn check(&self) -> Result<(), VerifyError> {
        if self.behind > MAX_WINDOW_STEPS || self.ahead > MAX_WINDOW_STEPS {
            return Err(VerifyError::InvalidConfig(
                "the window is at most two steps either way",
            ));
        }
        if !(1..=MAX_FAILURE_LIMIT).contains(&self.failure_limit) {
            return Err(VerifyError::InvalidConfig("the failure limit is 1 to 100"));
        }
        if !(60..=30 * 86_400).contains(&self.confirmation_seconds) {
            return Err(VerifyError::InvalidConfig(
                "a confirmation is possible for 1 minute to 30 days",
            ));
        }
        if !(1..=MAX_FAILURE_LIMIT).contains(&self.confirmation_attempts) {
            return Err(VerifyError::InvalidConfig(
                "confirmation attempts are 1 to 100",
            ));
        }
        if !(1..=MAX_DRIFT_SECONDS).contains(&self.max_drift_seconds) {
            return Err(VerifyError::InvalidConfig(
                "the drift is at most 1 to 3600 seconds",
            ));
        }
        Ok(())
    }
}

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No card with this id is registered.
    #[error("unknown card")]
    UnknownCard,
    /// The card has no PIN of this kind.
    #[error("this card has no {0} PIN")]
    NoSuchPin(PinKind),
    /// The submitted text is not a code of the right length (not counted as a failure).
    #[error(transparent)]
    Malformed(#[from] InputError),
    /// The code is wrong.
    #[error("wrong dynamic PIN; {remaining_attempts} attempts left")]
    Rejected {
        /// Failures left before the card's dynamic PIN is locked.
        remaining_attempts: u32,
    },
    /// The code was right but its step was already used (a replay).
    #[error("this dynamic PIN was already used; {remaining_attempts} attempts left")]
    Replayed {
        /// Failures left before the card's dynamic PIN is locked.
        remaining_attempts: u32,
    },
    /// Too many consecutive failures: the card's dynamic PIN is locked until reset.
    #[error("the card's dynamic PIN is locked after too many failures")]
    Locked,
    /// Re-synchronisation found no two consecutive steps with these codes
    /// within the drift bound and after the last accepted step.
    #[error("the two codes are not consecutive unused codes near the current time")]
    ResyncFailed,
    /// The activation confirmation code is wrong.
    #[error("wrong confirmation code; {remaining_attempts} attempts left")]
    WrongConfirmation {
        /// Confirmation attempts left.
        remaining_attempts: u32,
    },
    /// The card's activation is not confirmed yet: its PINs are not accepted.
    #[error("the card's activation is not confirmed yet")]
    NotConfirmed,
    /// The card is suspended (a possible clone) until an operator lifts it.
    #[error("the card is suspended; the bank must lift the suspension")]
    Suspended,
    /// The activation can no longer be confirmed: the card must be issued again.
    #[error("the activation confirmation has expired; the card must be issued again")]
    ConfirmationExpired,
    /// A second correct confirmation: the activation was probably cloned, and
    /// the card is now suspended.
    #[error("the activation was already confirmed: the card is suspended as a possible clone")]
    CloneSuspected,
    /// The provisioned card could not be made into the bank's copy.
    #[error(transparent)]
    Issuer(#[from] crate::IssuerError),
    /// The clock or a card parameter was rejected.
    #[error(transparent)]
    Card(#[from] CardError),
    /// A setting is out of range.
    #[error("invalid verifier setting: {0}")]
    InvalidConfig(&'static str),
}

impl From<OtpError> for VerifyError {
    fn from(e: OtpError) -> Self {
        VerifyError::Card(CardError::Otp(e))
    }
}

/// An operator's authority for a call that changes a card's verification
/// state outside the customer's own attempts: re-synchronising drift
/// ([`Verifier::operator_resync`]). Construct one only on the operator path,
/// after authenticating the operator (a service checks its operator
/// credential first); the customer-facing path must never build one. It names
/// the operator and the reason, for the bank's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAuthorization {
    operator: String,
    reason: String,
}

impl OperatorAuthorization {
    /// The authority of the authenticated `operator` (an id), for `reason`
    /// (a ticket number or a short note). Both 1 to 128 bytes, no control characters.
    ///
    /// # Errors
    /// [`VerifyError::InvalidConfig`] for an empty, over-long or unprintable field.
    pub fn new(operator: &str, reason: &str) -> Result<Self, VerifyError> {
        for field in [operator, reason] {
            if field.trim().is_empty() || field.len() > 128 || field.chars().any(char::is_control) {
                return Err(VerifyError::InvalidConfig(
                    "an operator authorisation names the operator and the reason (1 to 128 printable bytes)",
                ));
            }
        }
        Ok(Self {
            operator: operator.to_owned(),
            reason: reason.to_owned(),
        })
    }

    /// The operator's id.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Why the operator acted.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Which code sequence a replay record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotKey {
    /// The card.
    pub card: CardId,
    /// The PIN.
    pub kind: PinKind,
}

/// What an amount-bound code is single-use for: the SHA-256 of its OCRA
/// challenge, which binds the amount and the normalised payee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey(pub [u8; 32]);

impl TransactionKey {
    /// The key of `amount_rials` paid to `payee`.
    ///
    /// # Errors
    /// [`CardError::InvalidPayee`].
    pub fn new(amount_rials: u64, payee: &str) -> Result<Self, CardError> {
        let challenge = amount::challenge(amount_rials, payee)?;
        Ok(Self(Sha256::digest(challenge.as_bytes()).into()))
    }
}

/// Where a card enrolled for confirmation stands.
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

/// The verifier's mutable state. Each operation is one atomic step on the
/// state of one card; none needs a transaction across cards.
pub trait VerifierStore: Send + Sync {
    /// Claims one attempt at `card`'s dynamic PIN against `limit`, atomically
    /// and **before** the attempt is evaluated: when fewer than `limit`
    /// attempts are counted, counts one more and returns the new count;
    /// otherwise changes nothing and returns `None` (the card is locked).
    /// Of any number of concurrent callers, at most `limit` get a count.
    fn claim_attempt(&self, card: CardId, limit: u32) -> Option<u32>;
    /// Records `step` as used for `slot` if it is later than every step used
    /// before (set-if-greater) and, in the same atomic step, sets the card's
    /// attempt count to zero; returns whether it was recorded. When it was
    /// not, nothing changes.
    fn accept_step(&self, slot: SlotKey, step: u64) -> bool;
    /// As [`VerifierStore::accept_step`] for one amount-bound transaction of
    /// `card`: records `step` for `transaction` if it is later than every step
    /// accepted for that transaction and no more than
    /// [`TRANSACTION_HORIZON_STEPS`] behind the newest step accepted for any
    /// transaction of the card, and in the same atomic step sets the card's
    /// attempt count to zero. A store may forget transactions beyond the horizon.
    fn accept_transaction(&self, card: CardId, transaction: TransactionKey, step: u64) -> bool;
    /// The attempts counted for `card` since its last success or reset
    /// (attempts in flight included).
    fn failures(&self, card: CardId) -> u32;
    /// Sets the attempt count of `card` to zero.
    fn reset_failures(&self, card: CardId);
    /// The card's activation status; `None` for a card never enrolled for
    /// confirmation (registered as already confirmed).
    fn status(&self, card: CardId) -> Option<CardStatus>;
    /// Sets the status to [`CardStatus::Pending`] if the card has none yet
    /// (insert if absent, atomically); an existing status is kept.
    fn open_confirmation(&self, card: CardId);
    /// As [`VerifierStore::claim_attempt`], for activation confirmations
    /// (their own count, never cleared).
    fn claim_confirmation_attempt(&self, card: CardId, limit: u32) -> Option<u32>;
    /// Records a correct confirmation, atomically: `None` or
    /// [`CardStatus::Pending`] becomes [`CardStatus::Active`]; anything else
    /// becomes [`CardStatus::Suspended`]. Returns the status before.
    fn confirm(&self, card: CardId) -> Option<CardStatus>;
    /// Sets the card's status (an operator lifting a suspension).
    fn set_status(&self, card: CardId, status: CardStatus);
    /// The last step accepted for `slot`, if any.
    fn last_step(&self, slot: SlotKey) -> Option<u64>;
    /// The drift of `slot` in seconds (phone minus bank).
    fn drift(&self, slot: SlotKey) -> i64;
    /// Sets the drift of `slot` in seconds.
    fn set_drift(&self, slot: SlotKey, seconds: i64);
}

/// One card's state in a [`MemoryStore`], behind one lock: each store
/// operation is one critical section, as it is one row update in a database.
#[derive(Debug, Default)]
struct CardState {
    attempts: u32,
    /// The last accepted step per PIN.
    steps: HashMap<PinKind, u64>,
    /// The last accepted step per amount-bound transaction, within the horizon.
    transactions: HashMap<TransactionKey, u64>,
    /// The drift per PIN, in seconds.
    drift: HashMap<PinKind, i64>,
    status: Option<CardStatus>,
    confirmation_attempts: u32,
}

/// An in-memory [`VerifierStore`]: one lock per card, safe to share across threads.
///
/// Maps are keyed by card ids, 128 random bits the bank draws, so the fast
/// non-cryptographic FxHash is safe here: nobody can choose colliding keys.
#[derive(Debug, Default)]
pub struct MemoryStore {
    cards: RwLock<HashMap<CardId, Arc<Mutex<CardState>>>>,
}

impl MemoryStore {
    /// Runs `f` on `card`'s state under its lock, creating the state on first
    /// use. A poisoned lock only means another thread panicked while holding
    /// it; every update below leaves the state consistent.
    fn with<T>(&self, card: CardId, f: impl FnOnce(&mut CardState) -> T) -> T {
        let found = self
            .cards
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&card)
            .map(Arc::clone);
        let state = found.unwrap_or_else(|| {
            let mut cards = self.cards.write().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cards.entry(card).or_default())
        });
        let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl VerifierStore for MemoryStore {
    fn claim_attempt(&self, card: CardId, limit: u32) -> Option<u32> {
        self.with(card, |state| {
            (state.attempts < limit).then(|| {
                state.attempts = state.attempts.saturating_add(1);
                state.attempts
            })
        })
    }

    fn accept_step(&self, slot: SlotKey, step: u64) -> bool {
        self.with(slot.card, |state| {
            let newer = state.steps.get(&slot.kind).is_none_or(|&last| step > last);
            if newer {
                state.steps.insert(slot.kind, step);
                state.attempts = 0;
            }
            newer
        })
    }

    fn accept_transaction(&self, card: CardId, transaction: TransactionKey, step: u64) -> bool {
        self.with(card, |state| {
            let newest = state.transactions.values().copied().max();
            let beyond_horizon =
                newest.is_some_and(|n| step.saturating_add(TRANSACTION_HORIZON_STEPS) <= n);
            let used = state
                .transactions
                .get(&transaction)
                .is_some_and(|&last| step <= last);
            if beyond_horizon || used {
                return false;
            }
            state.transactions.insert(transaction, step);
            let newest = newest.map_or(step, |n| n.max(step));
            state
                .transactions
                .retain(|_, s| s.saturating_add(TRANSACTION_HORIZON_STEPS) > newest);
            state.attempts = 0;
            true
        })
    }

    fn failures(&self, card: CardId) -> u32 {
        self.with(card, |state| state.attempts)
    }

    fn reset_failures(&self, card: CardId) {
        self.with(card, |state| state.attempts = 0);
    }

    fn status(&self, card: CardId) -> Option<CardStatus> {
        self.with(card, |state| state.status)
    }

    fn open_confirmation(&self, card: CardId) {
        self.with(card, |state| {
            state.status.get_or_insert(CardStatus::Pending);
        });
    }

    fn claim_confirmation_attempt(&self, card: CardId, limit: u32) -> Option<u32> {
        self.with(card, |state| {
            (state.confirmation_attempts < limit).then(|| {
                state.confirmation_attempts = state.confirmation_attempts.saturating_add(1);
                state.confirmation_attempts
            })
        })
    }

    fn confirm(&self, card: CardId) -> Option<CardStatus> {
        self.with(card, |state| {
            let before = state.status;
            state.status = Some(match before {
                None | Some(CardStatus::Pending) => CardStatus::Active,
                Some(_) => CardStatus::Suspended,
            });
            before
        })
    }

    fn set_status(&self, card: CardId, status: CardStatus) {
        self.with(card, |state| state.status = Some(status));
    }

    fn last_step(&self, slot: SlotKey) -> Option<u64> {
        self.with(slot.card, |state| state.steps.get(&slot.kind).copied())
    }

    fn drift(&self, slot: SlotKey) -> i64 {
        self.with(slot.card, |state| {
            state.drift.get(&slot.kind).copied().unwrap_or(0)
        })
    }

    fn set_drift(&self, slot: SlotKey, seconds: i64) {
        self.with(slot.card, |state| {
            state.drift.insert(slot.kind, seconds);
        });
    }
}

/// A code that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The time step the code belonged to.
    pub step: u64,
    /// That step minus the bank's current step (after drift): 0 on time, −1 one step late.
    pub offset: i64,
}

/// A registered card: the bank's copy and, for a card enrolled for
/// confirmation, what confirming it needs.
struct Registered {
    card: Card,
    confirmation: Option<Confirmation>,
}

#[derive(Clone, Copy)]
struct Confirmation {
    activation: ActivationId,
    /// Unix seconds; confirmations at or after it are refused.
    deadline: u64,
}

/// Verifies first, second and amount-bound PINs of registered cards.
///
/// ```
/// use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
/// use dynpin::clock::FixedClock;
/// use dynpin::pin::PinKind;
/// use dynpin::secret::SecretBytes;
/// use dynpin_bank::verifier::{Verifier, VerifyError};
///
/// let card_ref = CardRef::new(610_433, LastFour::parse("1234")?)?;
/// let seed = SecretBytes::from(vec![9; 20]);
/// let card = Card::bank_card(CardId::random()?, "c", card_ref, seed, None, Some(PinPolicy::second_pin()))?;
/// let clock = FixedClock::from_unix_seconds(1_800_000_000);
/// let typed = card.pin(PinKind::Second, &clock)?.digits();
///
/// let verifier = Verifier::new(Default::default())?;
/// let id = verifier.register(card);
/// assert!(verifier.verify(id, PinKind::Second, &typed, &clock).is_ok());
/// assert!(matches!(verifier.verify(id, PinKind::Second, &typed, &clock), Err(VerifyError::Replayed { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier<S: VerifierStore = MemoryStore> {
    cards: RwLock<HashMap<CardId, Registered>>,
    store: S,
    config: VerifierConfig,
}

impl Verifier<MemoryStore> {
    /// A verifier with an in-memory store.
    ///
    /// # Errors
    /// [`VerifyError::InvalidConfig`].
    pub fn new(config: VerifierConfig) -> Result<Self, VerifyError> {
        Self::with_store(config, MemoryStore::default())
    }
}

impl<S: VerifierStore> Verifier<S> {
    /// A verifier over a store of the bank's choosing.
    ///
    /// # Errors
    /// [`VerifyError::InvalidConfig`].
    pub fn with_store(config: VerifierConfig, store: S) -> Result<Self, VerifyError> {
        config.check()?;
        Ok(Self {
            cards: RwLock::new(HashMap::default()),
            store,
            config,
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Registers (or replaces) the bank's copy of a card whose activation the
    /// bank has confirmed by other means (or that predates confirmations); its
    /// keys are derived now, once. A status the store holds for the card (a
    /// pending confirmation, a suspension) still applies. A freshly
    /// provisioned card goes through [`Verifier::enroll`] instead.
    pub fn register(&self, card: Card) -> CardId {
        self.insert(card, None)
    }

    fn insert(&self, card: Card, confirmation: Option<Confirmation>) -> CardId {
        let id = card.id();
        self.cards
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Registered { card, confirmation });
        id
    }

    /// Registers a freshly provisioned card awaiting its activation
    /// confirmation: its PINs are refused ([`VerifyError::NotConfirmed`])
    /// until [`Verifier::confirm`] accepts the code, within
    /// [`VerifierConfig::confirmation_seconds`] of provisioning. Enrolling
    /// again keeps the card's state.
    ///
    /// # Errors
    /// [`VerifyError::Issuer`] in theory only.
    pub fn enroll(&self, issued: &ProvisionedCard) -> Result<CardId, VerifyError> {
        let (issued_at, _) = issued.validity();
        Ok(self.register_pending(issued.card()?, issued.activation_id(), issued_at))
    }

    /// As [`Verifier::enroll`], for a card provisioned at `issued_at` (Unix
    /// seconds) under `activation`, rebuilt from the bank's records.
    pub fn register_pending(&self, card: Card, activation: ActivationId, issued_at: u64) -> CardId {
        let deadline = issued_at.saturating_add(self.config.confirmation_seconds);
        let id = self.insert(
            card,
            Some(Confirmation {
                activation,
                deadline,
            }),
        );
        self.store.open_confirmation(id);
        id
    }

    /// Checks the 6-digit confirmation code the customer typed after
    /// activating. Exactly one correct confirmation is accepted, before the
    /// deadline, with at most [`VerifierConfig::confirmation_attempts`]
    /// attempts (each claimed before the code is compared); then the card's
    /// PINs are accepted. A second correct confirmation means the payload was
    /// activated twice: the card is suspended as a possible clone.
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`] (also for a card not enrolled for
    /// confirmation); [`VerifyError::Malformed`] (not counted);
    /// [`VerifyError::Suspended`]; [`VerifyError::ConfirmationExpired`];
    /// [`VerifyError::Locked`] when no attempt is left; [`VerifyError::WrongConfirmation`];
    /// [`VerifyError::CloneSuspected`].
    pub fn confirm(&self, card: CardId, typed: &str, clock: &dyn Clock) -> Result<(), VerifyError> {
        let now = otp::unix_seconds(clock.now_millis(), 0)?;
        let (expected, deadline) = self.with_entry(card, |entry| {
            let pending = entry.confirmation.ok_or(VerifyError::UnknownCard)?;
            let expected = activation::confirmation_code(entry.card.secret(), pending.activation)?;
            Ok((expected, pending.deadline))
        })?;
        let typed = text::parse_code(typed, usize::from(expected.digits()))?;
        if self.store.status(card) == Some(CardStatus::Suspended) {
            return Err(VerifyError::Suspended);
        }
        if now >= deadline {
            return Err(VerifyError::ConfirmationExpired);
        }
        let limit = self.config.confirmation_attempts;
        let claimed = self
            .store
            .claim_confirmation_attempt(card, limit)
            .ok_or(VerifyError::Locked)?;
        if !expected.matches(&typed)? {
            let remaining_attempts = limit.saturating_sub(claimed);
            return Err(if remaining_attempts == 0 {
                VerifyError::Locked
            } else {
                VerifyError::WrongConfirmation { remaining_attempts }
            });
        }
        match self.store.confirm(card) {
            None | Some(CardStatus::Pending) => Ok(()),
            Some(CardStatus::Active) => Err(VerifyError::CloneSuspected),
            Some(CardStatus::Suspended) => Err(VerifyError::Suspended),
        }
    }

    /// Lifts a card's suspension, on an operator's authority (after checking
    /// with the customer that the second activation was theirs, or after
    /// reissuing): its PINs are accepted again.
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`]; [`VerifyError::NotConfirmed`] for a card
    /// still awaiting its confirmation (nothing to lift).
    pub fn operator_lift_suspension(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
    ) -> Result<(), VerifyError> {
        // The authorisation is the gate: only the operator path can hold one.
        let _ = authorization;
        self.with_entry(card, |_| Ok(()))?;
        match self.store.status(card) {
            Some(CardStatus::Pending) => Err(VerifyError::NotConfirmed),
            Some(CardStatus::Suspended) => {
                self.store.set_status(card, CardStatus::Active);
                Ok(())
            }
            None | Some(CardStatus::Active) => Ok(()),
        }
    }

    /// [`VerifyError::NotConfirmed`] or [`VerifyError::Suspended`] unless the
    /// card's PINs may be checked.
    fn require_active(&self, card: CardId) -> Result<(), VerifyError> {
        match self.store.status(card) {
            Some(CardStatus::Pending) => Err(VerifyError::NotConfirmed),
            Some(CardStatus::Suspended) => Err(VerifyError::Suspended),
            None | Some(CardStatus::Active) => Ok(()),
        }
    }

    /// Runs `f` on the registered entry, under the registry's read lock.
    fn with_entry<T>(
        &self,
        id: CardId,
        f: impl FnOnce(&Registered) -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        let cards = self.cards.read().unwrap_or_else(PoisonError::into_inner);
        f(cards.get(&id).ok_or(VerifyError::UnknownCard)?)
    }

    /// Runs `f` on the registered card, under the registry's read lock.
    fn with_card<T>(
        &self,
        id: CardId,
        f: impl FnOnce(&Card) -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        self.with_entry(id, |entry| f(&entry.card))
    }

    /// Unlocks a card's dynamic PIN after throttling (e.g. after the customer called the bank).
    pub fn reset(&self, card: CardId) {
        self.store.reset_failures(card);
    }

    /// Checks `typed` as `card`'s `kind` PIN at `clock`'s time, once.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] (not counted); then [`VerifyError::Locked`]
    /// once the card is locked, before the code is evaluated;
    /// [`VerifyError::Rejected`] or [`VerifyError::Replayed`] (counted).
    pub fn verify(
        &self,
        card: CardId,
        kind: PinKind,
        typed: &str,
        clock: &dyn Clock,
    ) -> Result<Accepted, VerifyError> {
        let now = otp::unix_seconds(clock.now_millis(), 0)?;
        self.with_card(card, |entry| {
            let totp = entry.slot_totp(kind).ok_or(VerifyError::NoSuchPin(kind))?;
            let slot = SlotKey { card, kind };
            self.check_and_accept(
                slot,
                typed,
                totp.hotp().digits(),
                (now, totp.period()),
                |step| self.store.accept_step(slot, step),
                |step| Ok(totp.code_for_step(step)),
            )
        })
    }

    /// The newest step in the window whose code is `typed`, at `unix_seconds`,
    /// **without** throttling or single use: for monitoring, tests and
    /// benchmarks. Authenticate with [`Verifier::verify`].
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`], [`VerifyError::NoSuchPin`], [`VerifyError::Malformed`].
    pub fn find_step(
        &self,
        card: CardId,
        kind: PinKind,
        typed: &str,
        unix_seconds: u64,
    ) -> Result<Option<u64>, VerifyError> {
        self.with_card(card, |entry| {
            let totp = entry.slot_totp(kind).ok_or(VerifyError::NoSuchPin(kind))?;
            let typed = text::parse_code_value(typed, usize::from(totp.hotp().digits()))?;
            let slot = SlotKey { card, kind };
            let (_, found) = self.scan(slot, typed, (unix_seconds, totp.period()), &|step| {
                Ok(totp.code_for_step(step))
            })?;
            Ok(found)
        })
    }

    /// Checks an amount-bound second PIN against the transaction's actual
    /// amount and payee: a changed amount or payee fails, a replay fails.
    /// Single use is per transaction ([`TransactionKey`]): codes for two
    /// different payments in one step each verify once. Two payments of the
    /// same amount to the same payee in one step have the same code, so only
    /// the first verifies.
    ///
    /// # Errors
    /// As [`Verifier::verify`], plus [`CardError::InvalidPayee`].
    pub fn verify_amount_bound(
        &self,
        card: CardId,
        typed: &str,
        amount_rials: u64,
        payee: &str,
        clock: &dyn Clock,
    ) -> Result<Accepted, VerifyError> {
        let ocra = self.with_card(card, |entry| Ok(amount::keyed(entry.secret())?))?;
        let challenge = amount::challenge(amount_rials, payee)?;
        let transaction = TransactionKey::new(amount_rials, payee)?;
        let now = otp::unix_seconds(clock.now_millis(), 0)?;
        // Typed on the same phone as the second PIN: its drift applies.
        let drift_slot = SlotKey {
            card,
            kind: PinKind::Second,
        };
        self.check_and_accept(
            drift_slot,
            typed,
            8,
            (now, amount::TIME_STEP),
            |step| self.store.accept_transaction(card, transaction, step),
            |step| {
                use dynpin::otp::ocra::OcraInput;
                ocra.compute(&OcraInput {
                    challenge: &challenge,
                    time_counter: Some(step),
                    ..Default::default()
                })
                .map_err(|_| VerifyError::Card(CardError::InvalidPayee))
            },
        )
    }

    /// The shared core: parse, claim an attempt, constant-time window scan,
    /// single use. The attempt is claimed before anything about the code is
    /// evaluated, so of any number of concurrent guesses at most the failure
    /// limit are ever compared; a success clears the count as it records its
    /// step.
    fn check_and_accept(
        &self,
        slot: SlotKey,
        typed: &str,
        digits: u8,
        now: (u64, u64),
        accept: impl FnOnce(u64) -> bool,
        code_at: impl Fn(u64) -> Result<OtpCode, VerifyError>,
    ) -> Result<Accepted, VerifyError> {
        let typed = text::parse_code_value(typed, usize::from(digits))?;
        self.require_active(slot.card)?;
        let claimed = self.claim(slot.card)?;
        let (center, newest) = self.scan(slot, typed, now, &code_at)?;
        let Some(step) = newest else {
            return Err(self.failure(claimed, false));
        };
        if !accept(step) {
            return Err(self.failure(claimed, true));
        }
        let offset = i64::try_from(i128::from(step) - i128::from(center)).unwrap_or(0);
        Ok(Accepted { step, offset })
    }

    /// Claims one attempt for `card`, or [`VerifyError::Locked`] when none is left.
    fn claim(&self, card: CardId) -> Result<u32, VerifyError> {
        self.store
            .claim_attempt(card, self.config.failure_limit)
            .ok_or(VerifyError::Locked)
    }

    /// Centres the window on the step of `now` = (Unix seconds, period) moved
    /// by `slot`'s drift in seconds, and finds the newest step whose code is
    /// `typed`: what checking and finding share.
    fn scan(
        &self,
        slot: SlotKey,
        typed: u64,
        (now, period): (u64, u64),
        code_at: &impl Fn(u64) -> Result<OtpCode, VerifyError>,
    ) -> Result<(u64, Option<u64>), VerifyError> {
        let center = shift(now, self.store.drift(slot)) / period.max(1);
        Ok((center, self.newest_match(typed, center, code_at)?))
    }

    /// The newest step in the window whose code is `typed`. Every step is
    /// computed and compared in constant time, so timing says nothing about
    /// which one matched.
    fn newest_match(
        &self,
        typed: u64,
        center: u64,
        code_at: &impl Fn(u64) -> Result<OtpCode, VerifyError>,
    ) -> Result<Option<u64>, VerifyError> {
        let first = center.saturating_sub(u64::from(self.config.behind));
        let last = center.saturating_add(u64::from(self.config.ahead));
        let mut found: Option<u64> = None;
        for step in first..=last {
            let code = code_at(step)?;
            if bool::from(code.ct_eq_value(typed)) {
                found = Some(step);
            }
        }
        Ok(found)
    }

    /// The error for a failed attempt that was claimed as attempt number `claimed`.
    fn failure(&self, claimed: u32, replay: bool) -> VerifyError {
        let remaining_attempts = self.config.failure_limit.saturating_sub(claimed);
        if remaining_attempts == 0 {
            VerifyError::Locked
        } else if replay {
            VerifyError::Replayed { remaining_attempts }
        } else {
            VerifyError::Rejected { remaining_attempts }
        }
    }

    /// Re-synchronises one PIN of a card whose phone clock has drifted, on
    /// an operator's authority (the customer called the bank): finds two
    /// consecutive steps, both later than the last step accepted for this
    /// PIN and within ±[`VerifierConfig::max_drift_seconds`] of now, whose
    /// codes are `first` then `second`; stores the PIN's drift in seconds and
    /// marks the steps used. Returns the drift. Only this PIN moves; codes at
    /// or before the last accepted step never match, so old or phished codes
    /// cannot move the window back past what the phone already used.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] (not counted); [`VerifyError::Locked`];
    /// [`VerifyError::ResyncFailed`] (counted as a failure);
    /// [`VerifyError::NoSuchPin`] for a kind without a time-based PIN.
    pub fn operator_resync(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
        kind: PinKind,
        first: &str,
        second: &str,
        clock: &dyn Clock,
    ) -> Result<i64, VerifyError> {
        // The authorisation is the gate: only the operator path can hold one.
        let _ = authorization;
        let unix_seconds = otp::unix_seconds(clock.now_millis(), 0)?;
        let slot = SlotKey { card, kind };
        let found = self.with_card(card, |entry| {
            let totp = entry.slot_totp(kind).ok_or(VerifyError::NoSuchPin(kind))?;
            let digits = usize::from(totp.hotp().digits());
            let (first, second) = (
                text::parse_code_value(first, digits)?,
                text::parse_code_value(second, digits)?,
            );
            self.require_active(card)?;
            self.claim(card)?;
            let period = totp.period().max(1);
            let max = self.config.max_drift_seconds;
            // The second code's step: its drift within the bound, and the
            // first code's step after the last accepted one.
            let mut lo = unix_seconds.saturating_sub(max).div_ceil(period);
            if let Some(last) = self.store.last_step(slot) {
                lo = lo.max(last.saturating_add(2));
            }
            let hi = unix_seconds.saturating_add(max) / period;
            let mut found = None;
            if lo <= hi {
                let mut previous = totp.code_for_step(lo.saturating_sub(1)).ct_eq_value(first);
                for step in lo..=hi {
                    let code = totp.code_for_step(step);
                    if bool::from(previous & code.ct_eq_value(second)) {
                        found = Some((step, period));
                    }
                    previous = code.ct_eq_value(first);
                }
            }
            Ok(found)
        })?;
        let Some((step, period)) = found else {
            return Err(VerifyError::ResyncFailed);
        };
        // A whole number of periods, so the window keeps the bank's step boundaries.
        let now_step = unix_seconds / period;
        let drift = (i128::from(step) - i128::from(now_step)) * i128::from(period);
        let drift = i64::try_from(drift).map_err(|_| VerifyError::ResyncFailed)?;
        if drift.unsigned_abs() > self.config.max_drift_seconds.saturating_add(period)
            || !self.store.accept_step(slot, step)
        {
            return Err(VerifyError::ResyncFailed);
        }
        self.store.set_drift(slot, drift);
        Ok(drift)
    }
}

/// `current` moved by `drift`, saturating at the ends of `u64`.
fn shift(current: u64, drift: i64) -> u64 {
    if drift >= 0 {
        current.saturating_add(drift.unsigned_abs())
    } else {
        current.saturating_sub(drift.unsigned_abs())
    }
}
