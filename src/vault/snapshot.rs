//! What a screen reads, taken from the vault in one short step and read
//! without it: a code screen refreshing every second never waits for a key
//! derivation or a save that holds the vault.

use core::fmt;
use std::sync::Arc;

use super::activity::Activity;
use super::contents::Contents;
use super::lockout::{LockoutPolicy, LockoutState, LockoutStatus};
use super::{CardPins, VaultError};
use crate::card::Card;

/// A read-only view of a [`Vault`](super::Vault) at one moment: its lock
/// state, lockout and, while unlocked, its cards. Cheap to clone (the cards
/// are shared, not copied) and readable from any thread without the vault.
///
/// It follows the vault's auto-lock as time passes (the idle time and the
/// background grace are shared with the vault), so it never shows cards the
/// vault would not, and shows nothing once the vault was locked (or the
/// session ended otherwise); it does not see later changes (take a new one
/// after each). A locked vault's snapshot holds no secret; an unlocked one's
/// cards are wiped when the last clone is dropped.
///
/// ```
/// use std::sync::Arc;
/// use dynpin::clock::ManualClock;
/// use dynpin::vault::{MemoryStorage, Vault, VaultOptions};
///
/// let clock = Arc::new(ManualClock::from_unix_seconds(1_700_000_000));
/// let options = VaultOptions { kdf: dynpin::kdf::KdfParams::MINIMUM, ..VaultOptions::default() };
/// let mut vault = Vault::create(MemoryStorage::new(), clock.clone(), "correct horse", options)?;
/// let snapshot = vault.snapshot();
/// assert!(snapshot.is_unlocked(1_700_000_000_000));
/// assert!(snapshot.pins(1_700_000_000_000, 1_700_000_000_000)?.is_empty());
/// // Idle past the auto-lock: the snapshot shows nothing, as the vault.
/// assert!(!snapshot.is_unlocked(1_700_003_600_000));
/// clock.advance_seconds(3600);
/// assert!(!vault.is_unlocked());
/// # Ok::<(), dynpin::vault::VaultError>(())
/// ```
#[derive(Clone)]
pub struct Snapshot {
    /// `None`: the vault was wiped.
    present: Option<Shown>,
    activity: Arc<Activity>,
    /// The session it was taken in ([`Activity::session`]).
    session: u64,
}

#[derive(Clone)]
struct Shown {
    lockout: LockoutState,
    policy: LockoutPolicy,
    has_platform_key: bool,
    device_bound: bool,
    /// The unlocked session's contents.
    contents: Option<Arc<Contents>>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Snapshot");
        match &self.present {
            None => s.field("wiped", &true),
            Some(p) => s
                .field("failures", &p.lockout.failures)
                .field("cards", &p.contents.as_ref().map(|c| c.cards.len())),
        }
        .finish_non_exhaustive()
    }
}

impl Snapshot {
    pub(crate) fn wiped(activity: Arc<Activity>) -> Self {
        Self {
            present: None,
            session: activity.session(),
            activity,
        }
    }

    pub(crate) fn present(
        activity: Arc<Activity>,
        lockout: LockoutState,
        policy: LockoutPolicy,
        has_platform_key: bool,
        device_bound: bool,
        contents: Option<Arc<Contents>>,
    ) -> Self {
        Self {
            present: Some(Shown {
                lockout,
                policy,
                has_platform_key,
                device_bound,
                contents,
            }),
            session: activity.session(),
            activity,
        }
    }

    fn shown(&self) -> Result<&Shown, VaultError> {
        self.present.as_ref().ok_or(VaultError::Wiped)
    }

    /// The unlocked contents at `now_ms`, or why not.
    fn contents(&self, now_ms: i64) -> Result<&Contents, VaultError> {
        let contents = self
            .shown()?
            .contents
            .as_deref()
            .ok_or(VaultError::Locked)?;
        if self.activity.session() != self.session
            || self.activity.expired(now_ms, contents.auto_lock_seconds)
        {
            return Err(VaultError::Locked);
        }
        Ok(contents)
    }

    /// Whether this snapshot still holds the cards of a session, even one
    /// that has ended since: its holder should replace it (take a new one
    /// from the vault), so that the copy is dropped and wiped.
    pub fn holds_cards(&self) -> bool {
        self.present.as_ref().is_some_and(|p| p.contents.is_some())
    }

    /// Whether the vault is unlocked at `now_ms` (Unix milliseconds of the
    /// vault's clock).
    pub fn is_unlocked(&self, now_ms: i64) -> bool {
        self.contents(now_ms).is_ok()
    }

    /// The failure count, attempts left and wait at `now_ms`.
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn lockout_status(&self, now_ms: i64) -> Result<LockoutStatus, VaultError> {
        let shown = self.shown()?;
        Ok(shown.lockout.status(shown.policy, now_ms))
    }

    /// Whether a usable platform key is enrolled (as [`Vault::has_platform_key`](super::Vault::has_platform_key)).
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn has_platform_key(&self) -> Result<bool, VaultError> {
        Ok(self.shown()?.has_platform_key)
    }

    /// Whether the password slot is bound to a device key.
    ///
    /// # Errors
    /// [`VaultError::Wiped`].
    pub fn is_device_bound(&self) -> Result<bool, VaultError> {
        Ok(self.shown()?.device_bound)
    }

    /// The cards in display order at `now_ms`; not user activity.
    ///
    /// # Errors
    /// [`VaultError::Locked`] (also once the auto-lock has passed),
    /// [`VaultError::Wiped`].
    pub fn cards(&self, now_ms: i64) -> Result<&[Card], VaultError> {
        Ok(self.contents(now_ms)?.cards.as_slice())
    }

    /// Every card's PINs at `codes_unix_millis` (the vault's clock plus any
    /// app-wide correction), checked against the auto-lock at `now_ms`.
    /// While the app is in the foreground this counts as user activity: the
    /// user is looking at the codes, so the vault does not lock under them.
    ///
    /// # Errors
    /// As [`Snapshot::cards`].
    pub fn pins(&self, now_ms: i64, codes_unix_millis: i64) -> Result<Vec<CardPins>, VaultError> {
        Ok(self
            .viewed_cards(now_ms)?
            .iter()
            .map(|card| CardPins {
                id: card.id(),
                pins: card.pins_at_millis(codes_unix_millis),
            })
            .collect())
    }

    /// As [`Snapshot::cards`], for showing their codes: in the foreground
    /// this counts as user activity, as [`Snapshot::pins`] does.
    ///
    /// # Errors
    /// As [`Snapshot::cards`].
    pub fn viewed_cards(&self, now_ms: i64) -> Result<&[Card], VaultError> {
        let cards = self.cards(now_ms)?;
        self.activity.record_viewing(now_ms);
        Ok(cards)
    }

    /// Records user activity at `now_ms` (a tap on the code screen), if the
    /// vault is unlocked then.
    ///
    /// # Errors
    /// As [`Snapshot::cards`].
    pub fn touch(&self, now_ms: i64) -> Result<(), VaultError> {
        self.contents(now_ms)?;
        self.activity.record(now_ms);
        Ok(())
    }
}
