//! [`MemoryStore`]: the [`Store`] in one process's memory, for tests and
//! examples. Each operation is one critical section under one lock, as it is
//! one row update (or one short transaction) in a database.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use dynpin::card::CardId;
use dynpin::pin::PinKind;

use super::{
    ActivationFetch, ActivationRecord, Attempt, AttemptOutcome, AuditEvent, CardRecord, CardState,
    CardStatus, ConfirmAttempt, ConfirmOutcome, IdempotencyBegin, SmsChecked, SmsIssue, SmsIssued,
    Store, StoreResult, StoredResponse,
};

/// A clock the store reads for SMS expiry and leases (a database reads its own).
pub type StoreClock = std::sync::Arc<dyn Fn() -> u64 + Send + Sync>;

#[derive(Default)]
struct Card {
    record: Option<CardRecord>,
    state: Option<CardState>,
    /// Amount-bound transactions: key → last accepted step.
    transactions: HashMap<[u8; 32], u64>,
    /// Unix seconds of the SMS codes sent, oldest first.
    sms_sent: Vec<u64>,
    /// The token of the request that confirmed the card (pending → active).
    confirm_request: Option<[u8; 32]>,
}

struct PendingSms {
    tag: [u8; 32],
    expires_at: u64,
    attempts_left: u32,
}

struct Idempotent {
    request: [u8; 32],
    response: Option<StoredResponse>,
    lease_until: u64,
}

#[derive(Default)]
struct Inner {
    cards: HashMap<CardId, Card>,
    sms: HashMap<(CardId, [u8; 32]), PendingSms>,
    activations: HashMap<[u8; 32], (ActivationRecord, u32)>,
    idempotency: HashMap<(String, String), Idempotent>,
    audit: Vec<AuditEvent>,
}

/// The in-memory [`Store`]. Safe to share across threads; lost when the
/// process ends.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    clock: StoreClock,
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(std::sync::Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        }))
    }

    /// An empty store reading `clock` (Unix seconds) where a database would read its own.
    pub fn with_clock(clock: StoreClock) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update below leaves the maps consistent, so a panic elsewhere
        // while holding the lock does not make them unreadable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn attempt_in(card: &mut Card, attempt: &Attempt) -> AttemptOutcome {
    let Some(state) = card.state.as_mut() else {
        return AttemptOutcome::UnknownCard;
    };
    if state.status != CardStatus::Active {
        return AttemptOutcome::NotActive(state.status);
    }
    let i = CardState::index(attempt.kind);
    let drift = state.drift.get(i).copied().unwrap_or(0);
    if drift != attempt.drift {
        return AttemptOutcome::StaleDrift(drift);
    }
    if state.attempts >= attempt.limit {
        return AttemptOutcome::Locked;
    }
    let accepted = match (attempt.matched, attempt.transaction) {
        (None, _) => false,
        (Some(step), None) => {
            let newer = state
                .last_step
                .get(i)
                .copied()
                .flatten()
                .is_none_or(|last| step > last);
            if newer && let Some(slot) = state.last_step.get_mut(i) {
                *slot = Some(step);
            }
            newer
        }
        (Some(step), Some(tx)) => {
            // "Behind" is `newest - step`, never `step + horizon`: a sum
            // saturating at the top of the range would forget the newest
            // transaction, and so allow its replay.
            let newest = card.transactions.values().copied().max();
            let beyond = newest
                .and_then(|n| n.checked_sub(step))
                .is_some_and(|behind| behind >= attempt.horizon);
            let used = card.transactions.get(&tx).is_some_and(|&last| step <= last);
            if beyond || used {
                false
            } else {
                card.transactions.insert(tx, step);
                let newest = newest.map_or(step, |n| n.max(step));
                // Forget what is beyond the horizon, but never the newest (a
                // horizon of 0 refuses every step not newer than it).
                let keep = attempt.horizon.max(1);
                card.transactions
                    .retain(|_, s| newest.saturating_sub(*s) < keep);
                true
            }
        }
    };
    if accepted {
        state.attempts = 0;
        AttemptOutcome::Accepted
    } else {
        state.attempts = state.attempts.saturating_add(1);
        AttemptOutcome::Failed {
            count: state.attempts,
        }
    }
}

impl Store for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn insert_card(&self, card: &CardRecord) -> StoreResult<bool> {
        let mut inner = self.lock();
        let entry = inner.cards.entry(card.id).or_default();
        if entry.record.is_some() {
            return Ok(false);
        }
        entry.state = Some(CardState {
            status: card.status,
            attempts: 0,
            confirm_attempts: 0,
            last_step: [None, None],
            drift: [0, 0],
        });
        entry.record = Some(card.clone());
        Ok(true)
    }

    async fn card(&self, id: CardId) -> StoreResult<Option<CardRecord>> {
        let inner = self.lock();
        Ok(inner.cards.get(&id).and_then(|c| {
            let mut record = c.record.clone()?;
            if let Some(state) = c.state {
                record.status = state.status;
            }
            Some(record)
        }))
    }

    async fn state(&self, id: CardId) -> StoreResult<Option<CardState>> {
        Ok(self.lock().cards.get(&id).and_then(|c| c.state))
    }

    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<AttemptOutcome> {
        let mut inner = self.lock();
        Ok(match inner.cards.get_mut(&attempt.card) {
            Some(card) => attempt_in(card, attempt),
            None => AttemptOutcome::UnknownCard,
        })
    }

    async fn record_confirmation(&self, attempt: &ConfirmAttempt) -> StoreResult<ConfirmOutcome> {
        let mut inner = self.lock();
        let Some(card) = inner.cards.get_mut(&attempt.card) else {
            return Ok(ConfirmOutcome::UnknownCard);
        };
        let (Some(state), Some(record)) = (card.state.as_mut(), card.record.as_ref()) else {
            return Ok(ConfirmOutcome::UnknownCard);
        };
        if state.status == CardStatus::Suspended {
            return Ok(ConfirmOutcome::Suspended);
        }
        // The confirming request again (its answer was lost): answered as it
        // was, nothing counted.
        if state.status == CardStatus::Active
            && attempt.correct
            && card.confirm_request == Some(attempt.request)
        {
            return Ok(ConfirmOutcome::Confirmed);
        }
        if attempt.now >= record.confirm_deadline {
            return Ok(ConfirmOutcome::Expired);
        }
        if state.confirm_attempts >= attempt.limit {
            return Ok(ConfirmOutcome::Locked);
        }
        state.confirm_attempts = state.confirm_attempts.saturating_add(1);
        if !attempt.correct {
            return Ok(ConfirmOutcome::Wrong {
                count: state.confirm_attempts,
            });
        }
        Ok(if state.status == CardStatus::Pending {
            state.status = CardStatus::Active;
            card.confirm_request = Some(attempt.request);
            ConfirmOutcome::Confirmed
        } else {
            state.status = CardStatus::Suspended;
            ConfirmOutcome::CloneSuspected
        })
    }

    async fn set_status(&self, id: CardId, status: CardStatus) -> StoreResult<Option<CardStatus>> {
        let mut inner = self.lock();
        Ok(inner
            .cards
            .get_mut(&id)
            .and_then(|c| c.state.as_mut())
            .map(|state| core::mem::replace(&mut state.status, status)))
    }

    async fn reset_attempts(&self, id: CardId) -> StoreResult<bool> {
        let mut inner = self.lock();
        Ok(inner
            .cards
            .get_mut(&id)
            .and_then(|c| c.state.as_mut())
            .map(|state| state.attempts = 0)
            .is_some())
    }

    async fn resync(&self, id: CardId, kind: PinKind, step: u64, drift: i64) -> StoreResult<bool> {
        let mut inner = self.lock();
        let Some(state) = inner.cards.get_mut(&id).and_then(|c| c.state.as_mut()) else {
            return Ok(false);
        };
        let i = CardState::index(kind);
        let newer = state
            .last_step
            .get(i)
            .copied()
            .flatten()
            .is_none_or(|last| step > last);
        if newer {
            if let Some(slot) = state.last_step.get_mut(i) {
                *slot = Some(step);
            }
            if let Some(slot) = state.drift.get_mut(i) {
                *slot = drift;
            }
            state.attempts = 0;
        }
        Ok(newer)
    }

    async fn cards_by_phone(&self, phone: &str, last_four: u16) -> StoreResult<Vec<CardId>> {
        let inner = self.lock();
        let mut ids: Vec<CardId> = inner
            .cards
            .values()
            .filter(|c| c.state.is_some_and(|s| s.status != CardStatus::Suspended))
            .filter_map(|c| c.record.as_ref())
            .filter(|r| r.phone.as_deref() == Some(phone) && r.last_four == last_four)
            .map(|r| r.id)
            .collect();
        ids.sort_by_key(|id| *id.as_bytes());
        Ok(ids)
    }

    async fn issue_sms(&self, issue: &SmsIssue) -> StoreResult<SmsIssued> {
        let now = (self.clock)();
        let mut inner = self.lock();
        let card = inner.cards.entry(issue.card).or_default();
        card.sms_sent
            .retain(|&t| t.saturating_add(issue.window_seconds) > now);
        if card.sms_sent.len() >= issue.max_requests as usize {
            let oldest = card.sms_sent.first().copied().unwrap_or(now);
            return Ok(SmsIssued::RateLimited {
                retry_after_seconds: oldest
                    .saturating_add(issue.window_seconds)
                    .saturating_sub(now)
                    .max(1),
            });
        }
        card.sms_sent.push(now);
        let expires_at = now.saturating_add(issue.validity_seconds);
        inner.sms.insert(
            (issue.card, issue.slot),
            PendingSms {
                tag: issue.tag,
                expires_at,
                attempts_left: issue.max_attempts,
            },
        );
        Ok(SmsIssued::Stored { expires_at })
    }

    async fn check_sms(
        &self,
        card: CardId,
        slot: [u8; 32],
        tag: [u8; 32],
    ) -> StoreResult<SmsChecked> {
        use subtle::ConstantTimeEq;
        let now = (self.clock)();
        let mut inner = self.lock();
        let key = (card, slot);
        let Some(pending) = inner.sms.get_mut(&key) else {
            return Ok(SmsChecked::NoPending);
        };
        let outcome = if now >= pending.expires_at {
            SmsChecked::Expired
        } else if pending.attempts_left == 0 {
            SmsChecked::TooManyAttempts
        } else {
            pending.attempts_left -= 1;
            if bool::from(pending.tag.ct_eq(&tag)) {
                SmsChecked::Accepted
            } else if pending.attempts_left == 0 {
                SmsChecked::TooManyAttempts
            } else {
                SmsChecked::Wrong {
                    remaining: pending.attempts_left,
                }
            }
        };
        if !matches!(outcome, SmsChecked::Wrong { .. }) {
            inner.sms.remove(&key);
        }
        Ok(outcome)
    }

    async fn put_activation(&self, activation: &ActivationRecord, now: u64) -> StoreResult<bool> {
        let mut inner = self.lock();
        inner.activations.retain(|_, (a, _)| a.expires_at > now);
        if inner.activations.contains_key(&activation.handle) {
            return Ok(false);
        }
        inner
            .activations
            .insert(activation.handle, (activation.clone(), 0));
        Ok(true)
    }

    async fn fetch_activation(&self, handle: [u8; 32], now: u64) -> StoreResult<ActivationFetch> {
        let mut inner = self.lock();
        Ok(match inner.activations.get_mut(&handle) {
            Some((a, fetched)) if a.expires_at > now && *fetched < a.max_fetches => {
                *fetched += 1;
                ActivationFetch::Found(a.payload.clone())
            }
            _ => ActivationFetch::NotFound,
        })
    }

    async fn begin_idempotent(
        &self,
        client: &str,
        key: &str,
        request: [u8; 32],
        lease_seconds: u64,
    ) -> StoreResult<IdempotencyBegin> {
        let now = (self.clock)();
        let mut inner = self.lock();
        let slot = (client.to_owned(), key.to_owned());
        if let Some(existing) = inner.idempotency.get_mut(&slot) {
            if existing.request != request {
                return Ok(IdempotencyBegin::Mismatch);
            }
            if let Some(response) = &existing.response {
                return Ok(IdempotencyBegin::Done(response.clone()));
            }
            if existing.lease_until > now {
                return Ok(IdempotencyBegin::InFlight);
            }
            existing.lease_until = now.saturating_add(lease_seconds);
            return Ok(IdempotencyBegin::Proceed);
        }
        inner.idempotency.insert(
            slot,
            Idempotent {
                request,
                response: None,
                lease_until: now.saturating_add(lease_seconds),
            },
        );
        Ok(IdempotencyBegin::Proceed)
    }

    async fn finish_idempotent(
        &self,
        client: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let mut inner = self.lock();
        if let Some(existing) = inner
            .idempotency
            .get_mut(&(client.to_owned(), key.to_owned()))
        {
            existing.response = Some(response.clone());
        }
        Ok(())
    }

    async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.lock().audit.push(event.clone());
        Ok(())
    }

    async fn audit_trail(&self, card: CardId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let inner = self.lock();
        let mine: Vec<AuditEvent> = inner
            .audit
            .iter()
            .filter(|e| e.card == Some(card))
            .cloned()
            .collect();
        let skip = mine.len().saturating_sub(limit as usize);
        Ok(mine.into_iter().skip(skip).collect())
    }
}
