//! What the tests share: the test KEK, verifiers on a [`MemoryStore`], a
//! store clock the test moves, and [`TestStore`], a [`MemoryStore`] that can
//! be made to fail or to hold every PIN attempt until all are in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use dynpin::card::CardId;
use dynpin::pin::PinKind;
use dynpin_bank::keys::KeyFile;
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::store::{
    ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord, CardState,
    CardStatus, ConfirmAttempt, ConfirmOutcome, IdempotencyBegin, SmsChecked, SmsIssue, SmsIssued,
    Store, StoreError, StoreResult, StoredResponse,
};
use dynpin_bank::verifier::{Verifier, VerifierConfig};

/// The test KEK's bytes (its hex must never show in a `Debug`).
pub(crate) const KEK_BYTES: [u8; 32] = [0xa7; 32];
/// The test KEK's id.
pub(crate) const KEK_ID: &str = "kek-test";

/// The test KEK.
pub(crate) fn kek() -> Arc<KeyFile> {
    Arc::new(KeyFile::from_bytes(KEK_ID, KEK_BYTES))
}

/// A verifier on its own in-memory store, with the test KEK.
pub(crate) fn verifier(config: VerifierConfig) -> Verifier<MemoryStore> {
    Verifier::new(config, Arc::new(MemoryStore::new()), kek()).unwrap()
}

/// Another verifier ("instance") on `store`, with the test KEK.
pub(crate) fn instance<S: Store>(config: VerifierConfig, store: &Arc<S>) -> Verifier<S> {
    Verifier::new(config, Arc::clone(store), kek()).unwrap()
}

/// A store clock (Unix seconds) the test sets and advances.
#[derive(Clone)]
pub(crate) struct StoreTime(Arc<AtomicU64>);

impl StoreTime {
    /// The time `seconds`.
    pub(crate) fn at(seconds: u64) -> Self {
        Self(Arc::new(AtomicU64::new(seconds)))
    }

    /// Moves the time on.
    pub(crate) fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// An in-memory store reading this time.
    pub(crate) fn store(&self) -> MemoryStore {
        let now = Arc::clone(&self.0);
        MemoryStore::with_clock(Arc::new(move || now.load(Ordering::SeqCst)))
    }
}

/// `bytes` as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `shown` holds `secret` in any spelling `Debug` would use: hex
/// (either case) or a decimal list of its first bytes.
pub(crate) fn leaks(shown: &str, secret: &[u8]) -> bool {
    let hex = hex(secret);
    let list = format!("{:?}", &secret[..secret.len().min(6)])
        .trim_matches(['[', ']'])
        .to_owned();
    shown.contains(&hex[..hex.len().min(16)])
        || shown.contains(&hex[..hex.len().min(16)].to_uppercase())
        || shown.contains(&list)
}

/// Holds the first `callers` PIN attempts until all of them have arrived.
struct Gate {
    callers: usize,
    arrived: AtomicUsize,
    barrier: tokio::sync::Barrier,
}

/// A [`MemoryStore`] for the worst cases: while [`TestStore::fail`] is set,
/// recording a PIN attempt, a confirmation or an SMS check, issuing an SMS
/// code and looking cards up by phone fail with a [`StoreError`] (a database
/// down); with a gate, every PIN attempt waits until all are in flight. It
/// counts what recording PIN attempts answered.
#[derive(Default)]
pub(crate) struct TestStore {
    /// The store underneath.
    pub(crate) inner: MemoryStore,
    /// Set: the operations above fail.
    pub(crate) fail: AtomicBool,
    gate: Option<Gate>,
    /// Attempts recorded as failures.
    pub(crate) failed: AtomicU32,
    /// Attempts refused as locked.
    pub(crate) locked: AtomicU32,
}

impl TestStore {
    /// A store whose first `callers` PIN attempts wait for each other.
    pub(crate) fn all_in_flight(callers: usize) -> Self {
        Self {
            gate: Some(Gate {
                callers,
                arrived: AtomicUsize::new(0),
                barrier: tokio::sync::Barrier::new(callers),
            }),
            ..Self::default()
        }
    }

    /// Sets or clears the failure.
    pub(crate) fn set_failing(&self, failing: bool) {
        self.fail.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> StoreResult<()> {
        if self.fail.load(Ordering::SeqCst) {
            Err(StoreError::new("the test database is down"))
        } else {
            Ok(())
        }
    }
}

impl Store for TestStore {
    async fn ping(&self) -> StoreResult<()> {
        self.check()?;
        self.inner.ping().await
    }

    async fn insert_card(&self, card: &CardRecord) -> StoreResult<bool> {
        self.inner.insert_card(card).await
    }

    async fn card(&self, id: CardId) -> StoreResult<Option<CardRecord>> {
        self.inner.card(id).await
    }

    async fn state(&self, id: CardId) -> StoreResult<Option<CardState>> {
        self.inner.state(id).await
    }

    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<AttemptOutcome> {
        self.check()?;
        if let Some(gate) = &self.gate
            && gate.arrived.fetch_add(1, Ordering::SeqCst) < gate.callers
        {
            gate.barrier.wait().await;
        }
        let outcome = self.inner.record_attempt(attempt).await?;
        match outcome {
            AttemptOutcome::Failed { .. } => self.failed.fetch_add(1, Ordering::SeqCst),
            AttemptOutcome::Locked => self.locked.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
        Ok(outcome)
    }

    async fn record_confirmation(&self, attempt: &ConfirmAttempt) -> StoreResult<ConfirmOutcome> {
        self.check()?;
        self.inner.record_confirmation(attempt).await
    }

    async fn set_status(&self, id: CardId, status: CardStatus) -> StoreResult<Option<CardStatus>> {
        self.inner.set_status(id, status).await
    }

    async fn reset_attempts(&self, id: CardId) -> StoreResult<bool> {
        self.inner.reset_attempts(id).await
    }

    async fn resync(&self, id: CardId, kind: PinKind, step: u64, drift: i64) -> StoreResult<bool> {
        self.inner.resync(id, kind, step, drift).await
    }

    async fn cards_by_phone(&self, phone: &str, last_four: u16) -> StoreResult<Vec<CardId>> {
        self.check()?;
        self.inner.cards_by_phone(phone, last_four).await
    }

    async fn issue_sms(&self, issue: &SmsIssue) -> StoreResult<SmsIssued> {
        self.check()?;
        self.inner.issue_sms(issue).await
    }

    async fn check_sms(
        &self,
        card: CardId,
        slot: [u8; 32],
        tag: [u8; 32],
    ) -> StoreResult<SmsChecked> {
        self.check()?;
        self.inner.check_sms(card, slot, tag).await
    }

    async fn put_activation(&self, activation: &ActivationRecord, now: u64) -> StoreResult<bool> {
        self.inner.put_activation(activation, now).await
    }

    async fn fetch_activation(&self, handle: [u8; 32], now: u64) -> StoreResult<ActivationFetch> {
        self.inner.fetch_activation(handle, now).await
    }

    async fn begin_idempotent(
        &self,
        client: &str,
        key: &str,
        request: [u8; 32],
        lease_seconds: u64,
    ) -> StoreResult<IdempotencyBegin> {
        self.inner
            .begin_idempotent(client, key, request, lease_seconds)
            .await
    }

    async fn finish_idempotent(
        &self,
        client: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        self.inner.finish_idempotent(client, key, response).await
    }

    async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.inner.audit(event).await
    }

    async fn audit_trail(&self, card: CardId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.inner.audit_trail(card, limit).await
    }
}
