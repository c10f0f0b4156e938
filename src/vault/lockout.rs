//! Counting failed unlocks: a growing delay after five, then a wipe (or a
//! permanent lock) at the policy's limit.
//!
//! The counter lives in the vault file's keyless lockout region (see
//! `docs/vault-format.md`): it must be written while the vault is locked, when
//! no key is available. It stops guessing through the app; an attacker who
//! copies the file guesses offline and is slowed only by Argon2id.

use super::{Setting, VaultError};

/// Consecutive failures allowed before each further attempt must wait.
pub const FREE_ATTEMPTS: u32 = 5;
/// The wait after the fifth consecutive failure; it doubles with each further one.
pub const BASE_DELAY_SECONDS: u64 = 30;
/// The longest wait between attempts.
pub const MAX_DELAY_SECONDS: u64 = 24 * 3600;
/// The lowest failure limit a policy may set (one attempt after the delays start).
pub const MIN_ATTEMPT_LIMIT: u8 = 6;
/// The highest failure limit a policy may set.
pub const MAX_ATTEMPT_LIMIT: u8 = 100;

/// What happens when the failure limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnLimit {
    /// Erase the vault (what bank apps do: the cards can be activated again).
    #[default]
    Wipe,
    /// Keep the file but refuse every unlock, by password or platform key.
    LockForGood,
}

/// How many consecutive failures are allowed, and what happens after the last.
///
/// ```
/// use dynpin::vault::{LockoutPolicy, OnLimit};
///
/// let policy = LockoutPolicy::default();
/// assert_eq!((policy.max_attempts, policy.on_limit), (10, OnLimit::Wipe));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockoutPolicy {
    /// Consecutive failures that trigger [`LockoutPolicy::on_limit`]:
    /// [`MIN_ATTEMPT_LIMIT`] to [`MAX_ATTEMPT_LIMIT`], default 10.
    pub max_attempts: u8,
    /// Wipe (default) or lock for good.
    pub on_limit: OnLimit,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            on_limit: OnLimit::Wipe,
        }
    }
}

impl LockoutPolicy {
    /// Checks the limit's range.
    ///
    /// # Errors
    /// [`VaultError::InvalidSetting`] outside 6–100.
    pub fn validate(&self) -> Result<(), VaultError> {
        if (MIN_ATTEMPT_LIMIT..=MAX_ATTEMPT_LIMIT).contains(&self.max_attempts) {
            Ok(())
        } else {
            Err(VaultError::InvalidSetting(Setting::AttemptLimit))
        }
    }
}

/// The wait, in seconds, before the attempt that follows `failures`
/// consecutive failures: 0 for up to four, then 30 s, 60 s, 120 s, … doubling,
/// at most a day.
///
/// ```
/// use dynpin::vault::delay_after;
///
/// assert_eq!((0..=9).map(delay_after).collect::<Vec<_>>(),
///            [0, 0, 0, 0, 0, 30, 60, 120, 240, 480]);
/// ```
pub fn delay_after(failures: u32) -> u64 {
    let Some(extra) = failures.checked_sub(FREE_ATTEMPTS) else {
        return 0;
    };
    1u64.checked_shl(extra)
        .and_then(|factor| BASE_DELAY_SECONDS.checked_mul(factor))
        .map_or(MAX_DELAY_SECONDS, |d| d.min(MAX_DELAY_SECONDS))
}

/// Where the vault stands on failed attempts, for a lock screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockoutStatus {
    /// Consecutive failed (or interrupted) password attempts.
    pub failures: u32,
    /// Attempts left before the policy's limit.
    pub remaining_attempts: u32,
    /// Seconds before the next attempt is accepted (0: now).
    pub wait_seconds: u64,
    /// Whether the vault refuses every unlock for good.
    pub locked_for_good: bool,
}

/// The persistent lockout state, as stored in the lockout region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LockoutState {
    /// Consecutive failed password attempts (counted when they start).
    pub failures: u32,
    /// Clock time of the last counted attempt, Unix milliseconds.
    pub last_attempt_ms: i64,
    /// The vault refuses every unlock.
    pub locked_for_good: bool,
    /// The app reported, while the vault was locked, that the platform key's
    /// hardware key is gone: the platform slot no longer counts, and is
    /// removed at the next password unlock.
    pub platform_invalidated: bool,
}

impl LockoutState {
    /// Milliseconds still to wait at `now_ms`. A clock set back before the last
    /// attempt waits one full delay (see [`LockoutState::normalize_clock`]).
    pub(super) fn wait_millis(&self, now_ms: i64) -> u64 {
        let delay_ms = delay_after(self.failures).saturating_mul(1000);
        let elapsed = now_ms.saturating_sub(self.last_attempt_ms);
        match u64::try_from(elapsed) {
            Ok(elapsed) => delay_ms.saturating_sub(elapsed),
            Err(_) => delay_ms,
        }
    }

    /// When the clock reads before the last attempt (set back), restarts the
    /// wait from now rather than from a time that may be days ahead. Returns
    /// whether anything changed.
    pub(super) fn normalize_clock(&mut self, now_ms: i64) -> bool {
        if now_ms < self.last_attempt_ms {
            self.last_attempt_ms = now_ms;
            true
        } else {
            false
        }
    }

    /// The status under `policy` at `now_ms`.
    pub(super) fn status(&self, policy: LockoutPolicy, now_ms: i64) -> LockoutStatus {
        LockoutStatus {
            failures: self.failures,
            remaining_attempts: u32::from(policy.max_attempts).saturating_sub(self.failures),
            wait_seconds: self.wait_millis(now_ms).div_ceil(1000),
            locked_for_good: self.locked_for_good,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_saturate() {
        assert_eq!(delay_after(4), 0);
        assert_eq!(delay_after(5), 30);
        assert_eq!(delay_after(6), 60);
        assert_eq!(delay_after(16), 61_440);
        assert_eq!(delay_after(17), MAX_DELAY_SECONDS);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY_SECONDS);
    }

    #[test]
    fn wait_counts_down_and_survives_a_clock_set_back() {
        let state = LockoutState {
            failures: 5,
            last_attempt_ms: 1_000_000,
            ..LockoutState::default()
        };
        assert_eq!(state.wait_millis(1_000_000), 30_000);
        assert_eq!(state.wait_millis(1_029_500), 500);
        assert_eq!(state.wait_millis(1_030_000), 0);
        assert_eq!(state.wait_millis(0), 30_000);
        assert_eq!(state.wait_millis(i64::MIN), 30_000);
        let status = state.status(LockoutPolicy::default(), 1_029_500);
        assert_eq!((status.wait_seconds, status.remaining_attempts), (1, 5));
    }

    #[test]
    fn policy_range() {
        assert!(LockoutPolicy::default().validate().is_ok());
        for bad in [0, 5, 101, 255] {
            let p = LockoutPolicy {
                max_attempts: bad,
                on_limit: OnLimit::LockForGood,
            };
            assert!(p.validate().is_err(), "{bad}");
        }
    }
}
