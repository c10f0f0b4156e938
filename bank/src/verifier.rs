//! Verifying dynamic PINs at the bank: a window of steps, single use,
//! throttling, drift — on a [`Store`] shared by any number of servers.
//!
//! A dynamic PIN is only as good as the check at the bank. [`Verifier`] keeps
//! nothing of its own but a cache of opened cards (their keyed HMAC state,
//! computed once per card and instance); every decision is one atomic step on
//! the store ([`Store::record_attempt`]):
//!
//! - **single use** — a step accepted once is never accepted again: the store
//!   sets "last accepted step" per card and PIN only if greater, so of many
//!   concurrent submissions of one code on any number of servers exactly one
//!   succeeds; an amount-bound code is single-use per transaction (amount and
//!   payee), so two payments in one minute each verify once;
//! - **throttling** — the same step claims one of the card's attempts and
//!   refuses at the limit (default 10, at most 100), so of any number of
//!   concurrent guesses at most the limit ever count; a locked card answers
//!   [`VerifyError::Locked`] whether or not the code was right; a success
//!   clears the count in the same step; only an operator unlocks
//!   ([`Verifier::operator_reset`]);
//! - **drift** — a per-PIN offset in seconds (PINs of different periods never
//!   shift each other), at most [`VerifierConfig::max_drift_seconds`], set
//!   only by an operator ([`Verifier::operator_resync`]) from two consecutive
//!   codes newer than the last accepted one;
//! - **fail closed** — a store error is [`VerifyError::Unavailable`], never an accept.
//!
//! Cards' seeds are stored sealed under a key encryption key ([`crate::keys`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};

use crate::ProvisionedCard;
use crate::keys::{KeyEncryption, KeyError};
use crate::sealed_card;
pub use crate::sealed_card::SealedCardError;
pub use crate::store::CardStatus;
use crate::store::{
    Attempt, AttemptOutcome, AuditEvent, CardRecord, CardState, ConfirmAttempt, ConfirmOutcome,
    Store, StoreError,
};
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
    /// The store could not answer: nothing was accepted (fail closed).
    #[error(transparent)]
    Unavailable(#[from] StoreError),
    /// The bank's copy of the card could not be opened (wrong KEK, altered
    /// row: nothing was accepted) or sealed (a label or seed too long for
    /// the stored layout: nothing was stored).
    #[error(transparent)]
    StoredCard(#[from] SealedCardError),
    /// The KEK could not seal a new card.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A card with this id is stored already.
    #[error("a card with this id exists")]
    DuplicateCard,
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

/// Names the request confirming an activation, so that a retry of the
/// request that confirmed a card (a lost answer, a dropped connection, an
/// instance stopped after the store committed) is told from a second
/// activation of the payload on another phone (a possible clone): the store
/// keeps the token of the confirmation that made the card active, and a
/// correct confirmation with the same token is answered as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfirmRequest(pub [u8; 32]);

impl ConfirmRequest {
    /// The request `client` (an authenticated client's id) sent with
    /// `idempotency_key`: SHA-256(client ‖ 0x00 ‖ key), the same for every
    /// retry with that key. Without a key, a fresh random token
    /// ([`ConfirmRequest::random`]): every such confirmation is another request.
    ///
    /// # Errors
    /// [`VerifyError::Key`] if the random generator fails (without a key).
    pub fn new(client: &str, idempotency_key: Option<&str>) -> Result<Self, VerifyError> {
        match idempotency_key {
            Some(key) => Ok(Self(
                Sha256::new()
                    .chain_update(client.as_bytes())
                    .chain_update([0])
                    .chain_update(key.as_bytes())
                    .finalize()
                    .into(),
            )),
            None => Self::random(),
        }
    }

    /// A fresh random token: a request no other one matches.
    ///
    /// # Errors
    /// [`VerifyError::Key`] if the random generator fails.
    pub fn random() -> Result<Self, VerifyError> {
        let mut token = [0u8; 32];
        getrandom::fill(&mut token).map_err(|_| KeyError::Randomness)?;
        Ok(Self(token))
    }
}

/// The most cards an instance keeps opened in memory; past it the cache is
/// emptied and cards are opened again from the store as they are used.
pub const MAX_CACHED_CARDS: usize = 200_000;

/// A code that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The time step the code belonged to.
    pub step: u64,
    /// That step minus the bank's current step (after drift): 0 on time, −1 one step late.
    pub offset: i64,
}

/// A card opened from the store: the bank's copy, its activation (for the
/// confirmation code) and the last drift seen per PIN (a hint; the store
/// refuses an attempt evaluated with a stale one).
struct Opened {
    card: Card,
    activation: Option<ActivationId>,
    drift: [AtomicI64; 2],
}

impl Opened {
    fn drift(&self, kind: PinKind) -> i64 {
        self.drift
            .get(CardState::index(kind))
            .map_or(0, |d| d.load(Ordering::Relaxed))
    }

    fn set_drift(&self, kind: PinKind, drift: i64) {
        if let Some(d) = self.drift.get(CardState::index(kind)) {
            d.store(drift, Ordering::Relaxed);
        }
    }
}

/// How a code is evaluated: digits, period, the code of a step, and what it
/// is single-use for.
struct Scheme<'a> {
    kind: PinKind,
    digits: u8,
    period: u64,
    transaction: Option<[u8; 32]>,
    code_at: &'a (dyn Fn(u64) -> Result<OtpCode, VerifyError> + Sync),
}

/// Verifies first, second and amount-bound PINs and activation
/// confirmations of the cards in a [`Store`].
///
/// ```
/// use std::sync::Arc;
/// use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
/// use dynpin::clock::FixedClock;
/// use dynpin::pin::PinKind;
/// use dynpin::secret::SecretBytes;
/// use dynpin_bank::keys::KeyFile;
/// use dynpin_bank::store::memory::MemoryStore;
/// use dynpin_bank::verifier::{Verifier, VerifyError};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let card_ref = CardRef::new(610_433, LastFour::parse("1234")?)?;
/// let seed = SecretBytes::from(vec![9; 20]);
/// let card = Card::bank_card(CardId::random()?, "c", card_ref, seed, None, Some(PinPolicy::second_pin()))?;
/// let clock = FixedClock::from_unix_seconds(1_800_000_000);
/// let typed = card.pin(PinKind::Second, &clock)?.digits();
///
/// let kek = Arc::new(KeyFile::from_bytes("kek-1", [1; 32]));
/// let verifier = Verifier::new(Default::default(), Arc::new(MemoryStore::new()), kek)?;
/// let id = verifier.register(&card).await?;
/// assert!(verifier.verify(id, PinKind::Second, &typed, &clock).await.is_ok());
/// assert!(matches!(
///     verifier.verify(id, PinKind::Second, &typed, &clock).await,
///     Err(VerifyError::Replayed { .. })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier<S: Store> {
    config: VerifierConfig,
    store: Arc<S>,
    keys: Arc<dyn KeyEncryption>,
    cache: RwLock<HashMap<CardId, Arc<Opened>>>,
}

impl<S: Store> core::fmt::Debug for Verifier<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Verifier<S> {
    /// A verifier on `store`, sealing and opening seeds with `keys`.
    ///
    /// # Errors
    /// [`VerifyError::InvalidConfig`].
    pub fn new(
        config: VerifierConfig,
        store: Arc<S>,
        keys: Arc<dyn KeyEncryption>,
    ) -> Result<Self, VerifyError> {
        config.check()?;
        Ok(Self {
            config,
            store,
            keys,
            cache: RwLock::new(HashMap::default()),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Stores the bank's copy of a provisioned card, sealed, awaiting its
    /// activation's confirmation ([`Verifier::confirm`]) before its PINs count;
    /// `phone` (any spelling) is where its SMS codes go.
    ///
    /// # Errors
    /// [`VerifyError::DuplicateCard`], [`VerifyError::Key`], [`VerifyError::Unavailable`].
    pub async fn enroll(
        &self,
        issued: &ProvisionedCard,
        phone: Option<&str>,
    ) -> Result<CardId, VerifyError> {
        let card = issued.card()?;
        let (issued_at, _) = issued.validity();
        let deadline = issued_at.saturating_add(self.config.confirmation_seconds);
        self.insert(
            &card,
            Some(issued.activation_id()),
            CardStatus::Pending,
            deadline,
            phone,
        )
        .await
    }

    /// Stores a card that needs no confirmation (active at once): for cards
    /// activated another way, tests and benchmarks.
    ///
    /// # Errors
    /// As [`Verifier::enroll`].
    pub async fn register(&self, card: &Card) -> Result<CardId, VerifyError> {
        self.insert(card, None, CardStatus::Active, 0, None).await
    }

    async fn insert(
        &self,
        card: &Card,
        activation: Option<ActivationId>,
        status: CardStatus,
        confirm_deadline: u64,
        phone: Option<&str>,
    ) -> Result<CardId, VerifyError> {
        let record = CardRecord {
            id: card.id(),
            key_id: self.keys.key_id().to_owned(),
            sealed: sealed_card::seal(self.keys.as_ref(), card, activation)?,
            status,
            confirm_deadline,
            phone: phone.map(crate::sms::normalize_phone),
            last_four: card.card_ref().map_or(0, |r| r.last_four().value()),
        };
        if !self.store.insert_card(&record).await? {
            return Err(VerifyError::DuplicateCard);
        }
        Ok(card.id())
    }

    /// The opened card `id`, from the cache or the store.
    async fn open(&self, id: CardId) -> Result<Arc<Opened>, VerifyError> {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .map(Arc::clone);
        if let Some(opened) = cached {
            return Ok(opened);
        }
        let record = self.store.card(id).await?.ok_or(VerifyError::UnknownCard)?;
        let state = self
            .store
            .state(id)
            .await?
            .ok_or(VerifyError::UnknownCard)?;
        let (card, activation) =
            sealed_card::open(self.keys.as_ref(), id, &record.key_id, &record.sealed)?;
        let opened = Arc::new(Opened {
            card,
            activation,
            drift: state.drift.map(AtomicI64::new),
        });
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_CARDS {
            cache.clear();
        }
        Ok(Arc::clone(cache.entry(id).or_insert(opened)))
    }

    /// Appends to the audit log; a failure is reported on standard error but
    /// does not undo what the store already did.
    async fn audit_after(&self, card: CardId, event: &str, actor: &str, detail: String) {
        let event = AuditEvent {
            card: Some(card),
            event: event.to_owned(),
            actor: actor.to_owned(),
            detail,
        };
        if let Err(e) = self.store.audit(&event).await {
            eprintln!(
                "dynpin-bank: audit event '{}' not recorded: {e}",
                event.event
            );
        }
    }

    /// Appends an operator's action to the audit log **before** it is
    /// carried out: no audit, no action.
    async fn audit_operator(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
        event: &str,
    ) -> Result<(), VerifyError> {
        Ok(self
            .store
            .audit(&AuditEvent {
                card: Some(card),
                event: event.to_owned(),
                actor: authorization.operator().to_owned(),
                detail: authorization.reason().to_owned(),
            })
            .await?)
    }

    /// Checks the activation's confirmation code, as the app shows it after
    /// activating: accepted once, before the deadline, within the attempt
    /// limit; the card's PINs count from then on. A second correct
    /// confirmation means the payload was activated twice: the card is
    /// suspended as a possible clone.
    ///
    /// Every call is a new request ([`ConfirmRequest::random`]), so a retry
    /// counts as a second confirmation: a caller that retries (a service
    /// whose clients send an idempotency key) uses
    /// [`Verifier::confirm_request`].
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`] (also for a card not enrolled for
    /// confirmation); [`VerifyError::Malformed`] (not counted);
    /// [`VerifyError::Suspended`]; [`VerifyError::ConfirmationExpired`];
    /// [`VerifyError::Locked`] when no attempt is left; [`VerifyError::WrongConfirmation`];
    /// [`VerifyError::CloneSuspected`]; [`VerifyError::Unavailable`];
    /// [`VerifyError::Key`] if the random generator fails.
    pub async fn confirm(
        &self,
        card: CardId,
        typed: &str,
        clock: &dyn Clock,
    ) -> Result<(), VerifyError> {
        self.confirm_request(card, typed, ConfirmRequest::random()?, clock)
            .await
    }

    /// [`Verifier::confirm`] by the request `request`: a correct confirmation
    /// of an active card by the request that confirmed it (a retry, with the
    /// same token) is answered `Ok` again and changes nothing, not even the
    /// attempt count — also past the deadline or at the attempt limit; by
    /// another request it is a second confirmation, a possible clone.
    ///
    /// # Errors
    /// As [`Verifier::confirm`].
    pub async fn confirm_request(
        &self,
        card: CardId,
        typed: &str,
        request: ConfirmRequest,
        clock: &dyn Clock,
    ) -> Result<(), VerifyError> {
        let now = otp::unix_seconds(clock.now_millis(), 0)?;
        let opened = self.open(card).await?;
        let activation = opened.activation.ok_or(VerifyError::UnknownCard)?;
        let expected = activation::confirmation_code(opened.card.secret(), activation)?;
        let typed = text::parse_code(typed, usize::from(expected.digits()))?;
        let correct = expected.matches(&typed)?;
        let limit = self.config.confirmation_attempts;
        let outcome = self
            .store
            .record_confirmation(&ConfirmAttempt {
                card,
                limit,
                correct,
                now,
                request: request.0,
            })
            .await?;
        match outcome {
            ConfirmOutcome::Confirmed => {
                self.audit_after(card, "confirmed", "customer", String::new())
                    .await;
                Ok(())
            }
            ConfirmOutcome::CloneSuspected => {
                self.audit_after(
                    card,
                    "clone_suspected",
                    "customer",
                    "a second correct confirmation; card suspended".into(),
                )
                .await;
                Err(VerifyError::CloneSuspected)
            }
            ConfirmOutcome::Wrong { count } => {
                let remaining_attempts = limit.saturating_sub(count);
                Err(if remaining_attempts == 0 {
                    VerifyError::Locked
                } else {
                    VerifyError::WrongConfirmation { remaining_attempts }
                })
            }
            ConfirmOutcome::Locked => Err(VerifyError::Locked),
            ConfirmOutcome::Expired => Err(VerifyError::ConfirmationExpired),
            ConfirmOutcome::Suspended => Err(VerifyError::Suspended),
            ConfirmOutcome::UnknownCard => Err(VerifyError::UnknownCard),
        }
    }

    /// Checks `typed` as `card`'s `kind` PIN at `clock`'s time, once.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] (not counted); [`VerifyError::NotConfirmed`],
    /// [`VerifyError::Suspended`]; [`VerifyError::Locked`] once the card is
    /// locked (whether or not the code is right); [`VerifyError::Rejected`] or
    /// [`VerifyError::Replayed`] (counted); [`VerifyError::Unavailable`].
    pub async fn verify(
        &self,
        card: CardId,
        kind: PinKind,
        typed: &str,
        clock: &dyn Clock,
    ) -> Result<Accepted, VerifyError> {
        let now = otp::unix_seconds(clock.now_millis(), 0)?;
        let opened = self.open(card).await?;
        let totp = opened
            .card
            .slot_totp(kind)
            .ok_or(VerifyError::NoSuchPin(kind))?;
        let code_at = |step: u64| Ok(totp.code_for_step(step));
        let scheme = Scheme {
            kind,
            digits: totp.hotp().digits(),
            period: totp.period(),
            transaction: None,
            code_at: &code_at,
        };
        self.check_and_record(card, &opened, &scheme, typed, now)
            .await
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
    pub async fn verify_amount_bound(
        &self,
        card: CardId,
        typed: &str,
        amount_rials: u64,
        payee: &str,
        clock: &dyn Clock,
    ) -> Result<Accepted, VerifyError> {
        let now = otp::unix_seconds(clock.now_millis(), 0)?;
        let challenge = amount::challenge(amount_rials, payee)?;
        let transaction = TransactionKey::new(amount_rials, payee)?;
        let opened = self.open(card).await?;
        let ocra = amount::keyed(opened.card.secret())?;
        let code_at = |step: u64| {
            use dynpin::otp::ocra::OcraInput;
            ocra.compute(&OcraInput {
                challenge: &challenge,
                time_counter: Some(step),
                ..Default::default()
            })
            .map_err(|_| VerifyError::Card(CardError::InvalidPayee))
        };
        // Typed on the same phone as the second PIN: its drift applies.
        let scheme = Scheme {
            kind: PinKind::Second,
            digits: 8,
            period: amount::TIME_STEP,
            transaction: Some(transaction.0),
            code_at: &code_at,
        };
        self.check_and_record(card, &opened, &scheme, typed, now)
            .await
    }

    /// The newest step in the window whose code is `typed`, at `unix_seconds`
    /// and the PIN's last known drift, **without** throttling or single use:
    /// for monitoring, tests and benchmarks. Authenticate with [`Verifier::verify`].
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`], [`VerifyError::NoSuchPin`],
    /// [`VerifyError::Malformed`], [`VerifyError::Unavailable`].
    pub async fn find_step(
        &self,
        card: CardId,
        kind: PinKind,
        typed: &str,
        unix_seconds: u64,
    ) -> Result<Option<u64>, VerifyError> {
        let opened = self.open(card).await?;
        let totp = opened
            .card
            .slot_totp(kind)
            .ok_or(VerifyError::NoSuchPin(kind))?;
        let typed = text::parse_code_value(typed, usize::from(totp.hotp().digits()))?;
        let center = shift(unix_seconds, opened.drift(kind)) / totp.period().max(1);
        self.newest_match(typed, center, &|step| Ok(totp.code_for_step(step)))
    }

    /// The shared core: parse; evaluate the window (constant time) at the
    /// PIN's drift; record the attempt in one atomic step, which claims an
    /// attempt and accepts the matched step only if it is new. The outcome of
    /// the evaluation counts only through that step, so of any number of
    /// concurrent guesses at most the failure limit ever count, and a locked
    /// card says nothing about the code.
    async fn check_and_record(
        &self,
        card: CardId,
        opened: &Opened,
        scheme: &Scheme<'_>,
        typed: &str,
        now: u64,
    ) -> Result<Accepted, VerifyError> {
        let typed = text::parse_code_value(typed, usize::from(scheme.digits))?;
        let limit = self.config.failure_limit;
        // The drift can change under us only by an operator's resync; then
        // the store says so and the window is evaluated again.
        for _ in 0..3 {
            let drift = opened.drift(scheme.kind);
            let center = shift(now, drift) / scheme.period.max(1);
            let matched = self.newest_match(typed, center, scheme.code_at)?;
            let outcome = self
                .store
                .record_attempt(&Attempt {
                    card,
                    kind: scheme.kind,
                    limit,
                    drift,
                    matched,
                    transaction: scheme.transaction,
                    horizon: TRANSACTION_HORIZON_STEPS,
                })
                .await?;
            return match outcome {
                AttemptOutcome::Accepted => {
                    let step = matched.unwrap_or(center);
                    let offset = i64::try_from(i128::from(step) - i128::from(center)).unwrap_or(0);
                    Ok(Accepted { step, offset })
                }
                AttemptOutcome::Failed { count } => {
                    let error = self.failure(count, matched.is_some());
                    if error == VerifyError::Locked {
                        self.audit_after(card, "locked", "customer", format!("{count} failures"))
                            .await;
                    }
                    Err(error)
                }
                AttemptOutcome::Locked => Err(VerifyError::Locked),
                AttemptOutcome::UnknownCard => Err(VerifyError::UnknownCard),
                AttemptOutcome::NotActive(CardStatus::Suspended) => Err(VerifyError::Suspended),
                AttemptOutcome::NotActive(_) => Err(VerifyError::NotConfirmed),
                AttemptOutcome::StaleDrift(now_drift) => {
                    opened.set_drift(scheme.kind, now_drift);
                    continue;
                }
            };
        }
        Err(StoreError::new("the drift kept changing during one attempt").into())
    }

    /// The newest step in the window whose code is `typed`. Every step is
    /// computed and compared in constant time, so timing says nothing about
    /// which one matched.
    fn newest_match(
        &self,
        typed: u64,
        center: u64,
        code_at: &(dyn Fn(u64) -> Result<OtpCode, VerifyError> + Sync),
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

    /// The error for a failed attempt that made the count `count`.
    fn failure(&self, count: u32, replay: bool) -> VerifyError {
        let remaining_attempts = self.config.failure_limit.saturating_sub(count);
        if remaining_attempts == 0 {
            VerifyError::Locked
        } else if replay {
            VerifyError::Replayed { remaining_attempts }
        } else {
            VerifyError::Rejected { remaining_attempts }
        }
    }

    /// Unlocks a card's dynamic PIN after throttling, on an operator's
    /// authority (e.g. after the customer called the bank). Audited first.
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`], [`VerifyError::Unavailable`].
    pub async fn operator_reset(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
    ) -> Result<(), VerifyError> {
        self.require_known(card).await?;
        self.audit_operator(authorization, card, "unlocked").await?;
        if self.store.reset_attempts(card).await? {
            Ok(())
        } else {
            Err(VerifyError::UnknownCard)
        }
    }

    /// Suspends a card on an operator's authority (lost phone, fraud): its
    /// PINs and confirmations are refused until the suspension is lifted.
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`], [`VerifyError::Unavailable`].
    pub async fn operator_suspend(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
    ) -> Result<(), VerifyError> {
        self.require_known(card).await?;
        self.audit_operator(authorization, card, "suspended")
            .await?;
        match self.store.set_status(card, CardStatus::Suspended).await? {
            Some(_) => Ok(()),
            None => Err(VerifyError::UnknownCard),
        }
    }

    /// Lifts a card's suspension, on an operator's authority (after checking
    /// with the customer that the second activation was theirs, or after
    /// reissuing): the card is active again if it had been confirmed (or
    /// needed no confirmation), else pending — lifting never skips the
    /// confirmation.
    ///
    /// # Errors
    /// [`VerifyError::UnknownCard`]; [`VerifyError::NotConfirmed`] for a card
    /// still awaiting its confirmation (nothing to lift); [`VerifyError::Unavailable`].
    pub async fn operator_lift_suspension(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
    ) -> Result<(), VerifyError> {
        let state = self
            .store
            .state(card)
            .await?
            .ok_or(VerifyError::UnknownCard)?;
        match state.status {
            CardStatus::Pending => Err(VerifyError::NotConfirmed),
            CardStatus::Active => Ok(()),
            CardStatus::Suspended => {
                // Back to what it was: active if it was ever confirmed (or
                // never needed confirming), else pending — a suspension
                // never skips the confirmation. The audit log tells: the
                // verifier records every confirmation there; a missing
                // record errs on the safe side (pending).
                let opened = self.open(card).await?;
                let restored = if opened.activation.is_none() {
                    CardStatus::Active
                } else {
                    let trail = self.store.audit_trail(card, 10_000).await?;
                    if trail
                        .iter()
                        .any(|e| e.event == "confirmed" || e.event == "clone_suspected")
                    {
                        CardStatus::Active
                    } else {
                        CardStatus::Pending
                    }
                };
                // Only an operator moves a card out of Suspended, so nothing
                // can have changed it between the read and this write.
                self.audit_operator(authorization, card, "lifted").await?;
                self.store.set_status(card, restored).await?;
                Ok(())
            }
        }
    }

    async fn require_known(&self, card: CardId) -> Result<CardState, VerifyError> {
        self.store
            .state(card)
            .await?
            .ok_or(VerifyError::UnknownCard)
    }

    /// Re-synchronises one PIN of a card whose phone clock has drifted, on
    /// an operator's authority (the customer called the bank): finds two
    /// consecutive steps, both later than the last step accepted for this
    /// PIN and within ±[`VerifierConfig::max_drift_seconds`] of now, whose
    /// codes are `first` then `second`; stores the PIN's drift in seconds and
    /// marks the steps used, in one atomic step. Returns the drift. Only this
    /// PIN moves; codes at or before the last accepted step never match, so
    /// old or phished codes cannot move the window back.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`]; [`VerifyError::ResyncFailed`];
    /// [`VerifyError::NoSuchPin`]; [`VerifyError::NotConfirmed`],
    /// [`VerifyError::Suspended`]; [`VerifyError::Unavailable`].
    pub async fn operator_resync(
        &self,
        authorization: &OperatorAuthorization,
        card: CardId,
        kind: PinKind,
        first: &str,
        second: &str,
        clock: &dyn Clock,
    ) -> Result<i64, VerifyError> {
        let unix_seconds = otp::unix_seconds(clock.now_millis(), 0)?;
        let opened = self.open(card).await?;
        let totp = opened
            .card
            .slot_totp(kind)
            .ok_or(VerifyError::NoSuchPin(kind))?;
        let digits = usize::from(totp.hotp().digits());
        let (first, second) = (
            text::parse_code_value(first, digits)?,
            text::parse_code_value(second, digits)?,
        );
        let state = self.require_known(card).await?;
        match state.status {
            CardStatus::Pending => return Err(VerifyError::NotConfirmed),
            CardStatus::Suspended => return Err(VerifyError::Suspended),
            CardStatus::Active => {}
        }
        let period = totp.period().max(1);
        let max = self.config.max_drift_seconds;
        // The second code's step: its drift within the bound, and the first
        // code's step after the last accepted one.
        let mut lo = unix_seconds.saturating_sub(max).div_ceil(period);
        if let Some(last) = state
            .last_step
            .get(CardState::index(kind))
            .copied()
            .flatten()
        {
            lo = lo.max(last.saturating_add(2));
        }
        let hi = unix_seconds.saturating_add(max) / period;
        let mut found = None;
        if lo <= hi {
            let mut previous = totp.code_for_step(lo.saturating_sub(1)).ct_eq_value(first);
            for step in lo..=hi {
                let code = totp.code_for_step(step);
                if bool::from(previous & code.ct_eq_value(second)) {
                    found = Some(step);
                }
                previous = code.ct_eq_value(first);
            }
        }
        let step = found.ok_or(VerifyError::ResyncFailed)?;
        // A whole number of periods, so the window keeps the bank's step boundaries.
        let now_step = unix_seconds / period;
        let drift = (i128::from(step) - i128::from(now_step)) * i128::from(period);
        let drift = i64::try_from(drift).map_err(|_| VerifyError::ResyncFailed)?;
        if drift.unsigned_abs() > max.saturating_add(period) {
            return Err(VerifyError::ResyncFailed);
        }
        self.audit_operator(authorization, card, "resynced").await?;
        if !self.store.resync(card, kind, step, drift).await? {
            return Err(VerifyError::ResyncFailed);
        }
        opened.set_drift(kind, drift);
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
