//! The auto-lock's inputs: when the user last used the unlocked vault and
//! whether the app is in the background. Kept in atomics shared between a
//! [`Vault`](super::Vault) and the [`Snapshot`](super::Snapshot)s it hands
//! out, so a screen reading codes from a snapshot, without the vault's lock,
//! sees exactly the auto-lock the vault enforces, and keeps it unlocked while
//! the user looks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The default seconds in the background before the vault locks: one PIN
/// period, long enough to switch to the payment page, type the PIN and come
/// back.
pub const DEFAULT_BACKGROUND_LOCK_SECONDS: u32 = 60;

/// `background_since_ms` while the app is in the foreground.
const FOREGROUND: i64 = i64::MIN;

#[derive(Debug)]
pub(crate) struct Activity {
    /// Clock time of the last user activity in the current session, Unix ms.
    last_ms: AtomicI64,
    /// When the app went to the background, Unix ms; [`FOREGROUND`] if it did not.
    background_since_ms: AtomicI64,
    /// Milliseconds in the background before the vault locks.
    background_grace_ms: AtomicI64,
    /// One more whenever a session begins or ends: a snapshot of an earlier
    /// session shows nothing.
    session: AtomicU64,
}

impl Activity {
    pub(crate) fn new(now_ms: i64) -> Self {
        Self {
            last_ms: AtomicI64::new(now_ms),
            background_since_ms: AtomicI64::new(FOREGROUND),
            background_grace_ms: AtomicI64::new(i64::from(DEFAULT_BACKGROUND_LOCK_SECONDS) * 1000),
            session: AtomicU64::new(0),
        }
    }

    /// A user action at `now_ms` (a tap, a change, an unlock).
    pub(crate) fn record(&self, now_ms: i64) {
        self.last_ms.store(now_ms, Ordering::Relaxed);
    }

    /// A session begins at `now_ms`. The background state stays: an unlock
    /// that finishes after the app left the foreground (a slow key
    /// derivation) must not switch the background lock off.
    pub(crate) fn start_session(&self, now_ms: i64) {
        self.session.fetch_add(1, Ordering::AcqRel);
        self.record(now_ms);
    }

    /// The session ended (locked, expired, wiped, locked elsewhere).
    pub(crate) fn end_session(&self) {
        self.session.fetch_add(1, Ordering::AcqRel);
    }

    /// The current session's number.
    pub(crate) fn session(&self) -> u64 {
        self.session.load(Ordering::Acquire)
    }

    /// The user reads codes: activity while the app is in the foreground (a
    /// widget or a background refresh does not keep the vault unlocked).
    pub(crate) fn record_viewing(&self, now_ms: i64) {
        if !self.in_background() {
            self.record(now_ms);
        }
    }

    pub(crate) fn in_background(&self) -> bool {
        self.background_since_ms.load(Ordering::Relaxed) != FOREGROUND
    }

    /// The app went to the background at `now_ms` (a second call keeps the
    /// first time).
    pub(crate) fn enter_background(&self, now_ms: i64) {
        let _ = self.background_since_ms.compare_exchange(
            FOREGROUND,
            now_ms,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The app came back to the foreground.
    pub(crate) fn enter_foreground(&self) {
        self.background_since_ms
            .store(FOREGROUND, Ordering::Relaxed);
    }

    pub(crate) fn background_lock_seconds(&self) -> u32 {
        u32::try_from(self.background_grace_ms.load(Ordering::Relaxed) / 1000).unwrap_or(u32::MAX)
    }

    pub(crate) fn set_background_lock_seconds(&self, seconds: u32) {
        self.background_grace_ms
            .store(i64::from(seconds) * 1000, Ordering::Relaxed);
    }

    /// Whether a session with `auto_lock_seconds` of idle time has ended at
    /// `now_ms`: idle that long, or in the background past the grace. A clock
    /// set back ends neither.
    pub(crate) fn expired(&self, now_ms: i64, auto_lock_seconds: u32) -> bool {
        let idle_limit = i64::from(auto_lock_seconds).saturating_mul(1000);
        let idle = now_ms.saturating_sub(self.last_ms.load(Ordering::Relaxed)) >= idle_limit;
        let since = self.background_since_ms.load(Ordering::Relaxed);
        let away = since != FOREGROUND
            && now_ms.saturating_sub(since) >= self.background_grace_ms.load(Ordering::Relaxed);
        idle || away
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_background_edges() {
        let a = Activity::new(1_000);
        assert!(!a.expired(1_000 + 119_999, 120));
        assert!(a.expired(1_000 + 120_000, 120));
        a.record_viewing(100_000);
        assert!(!a.expired(100_000 + 119_999, 120));
        a.enter_background(100_000);
        a.enter_background(150_000); // the first time stands
        assert!(!a.expired(159_999, 120));
        assert!(a.expired(160_000, 120));
        a.record_viewing(159_000); // a background read is not the user
        assert!(a.expired(160_000, 120));
        a.enter_foreground();
        assert!(!a.expired(160_000, 120));
        a.set_background_lock_seconds(0);
        a.enter_background(170_000);
        assert!(a.expired(170_000, 120));
        assert!(!a.expired(169_999, 120), "a clock set back");
        a.start_session(200_000);
        assert!(a.in_background(), "an unlock does not bring the app back");
        assert!(a.expired(200_000, 120));
        a.enter_foreground();
        assert!(!a.expired(200_000, 120));
        assert!(!a.expired(i64::MIN, 120) && a.expired(i64::MAX, 120));
    }
}
