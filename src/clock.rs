//! Where time comes from: an injected [`Clock`], never a hidden system call.
//!
//! Every time-dependent function in dynpin takes either a `&dyn Clock` or an
//! explicit time argument. Production code passes [`SystemClock`]; tests pass a
//! `FixedClock` or a `ManualClock` (with the `test-util` feature) and get the
//! same answer on every run.
//!
//! Clocks speak in **milliseconds since the Unix epoch** as an `i64`: that is
//! what Android's `System.currentTimeMillis()` and iOS's
//! `Date().timeIntervalSince1970 * 1000` give, it is precise enough for a smooth
//! countdown ring, and a wrongly set phone may legitimately report a time before
//! 1970 (a negative value), which the OTP layer rejects with a typed error.

#[cfg(any(test, feature = "test-util"))]
use core::fmt;
use std::sync::Arc;
#[cfg(any(test, feature = "test-util"))]
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// ```
/// use dynpin::clock::{Clock, FixedClock};
///
/// let clock = FixedClock::from_unix_seconds(1_700_000_000);
/// assert_eq!(clock.now_millis(), 1_700_000_000_000);
/// ```
pub trait Clock: Send + Sync {
    /// Milliseconds since 1970-01-01T00:00:00Z; negative before it.
    fn now_millis(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            // A phone set before 1970: report it faithfully so the caller sees
            // a typed "time before epoch" error rather than a wrong code.
            Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        }
    }
}

/// A clock stopped at one instant: for tests and for reproducing a bug report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(any(test, feature = "test-util"))]
pub struct FixedClock {
    millis: i64,
}

#[cfg(any(test, feature = "test-util"))]
impl FixedClock {
    /// A clock that always reads `seconds` after the epoch.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self {
            millis: seconds.saturating_mul(1000),
        }
    }

    /// A clock that always reads `millis` milliseconds after the epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self { millis }
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for FixedClock {
    fn now_millis(&self) -> i64 {
        self.millis
    }
}

/// A clock that moves only when told to; shareable across threads.
///
/// ```
/// use dynpin::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::from_unix_seconds(59);
/// clock.advance_seconds(1);
/// assert_eq!(clock.now_millis(), 60_000);
/// ```
#[derive(Default)]
#[cfg(any(test, feature = "test-util"))]
pub struct ManualClock {
    millis: AtomicI64,
}

#[cfg(any(test, feature = "test-util"))]
impl ManualClock {
    /// A clock reading `seconds` after the epoch.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self::from_unix_millis(seconds.saturating_mul(1000))
    }

    /// A clock reading `millis` after the epoch.
    pub fn from_unix_millis(millis: i64) -> Self {
        Self {
            millis: AtomicI64::new(millis),
        }
    }

    /// Sets the time to `millis` after the epoch.
    pub fn set_millis(&self, millis: i64) {
        self.millis.store(millis, Ordering::SeqCst);
    }

    /// Moves the clock by `millis` (negative moves it back), saturating at the `i64` range.
    pub fn advance_millis(&self, millis: i64) {
        // fetch_update with a closure that never returns None cannot fail.
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(millis))
            });
    }

    /// Moves the clock by `seconds` (negative moves it back).
    pub fn advance_seconds(&self, seconds: i64) {
        self.advance_millis(seconds.saturating_mul(1000));
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }
}

#[cfg(any(test, feature = "test-util"))]
impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("millis", &self.now_millis())
            .finish()
    }
}

/// Beyond this many seconds either way, [`ClockCheck`] reports the phone's
/// clock as off: half a 60-second PIN period, so a code shown by a phone
/// this far off is still within the step before or after (which a verifier
/// with a window of one step accepts).
pub const CLOCK_SKEW_TOLERANCE_SECONDS: i64 = 30;

/// The phone's clock compared with a time the bank gave (the `Date` header of
/// any answer from its API, a time in a response, an activation's issue
/// time the user just received), and the app-wide correction that would
/// bring the codes back in line.
///
/// ```
/// use dynpin::clock::ClockCheck;
///
/// // The phone reads 2 minutes after the bank's time.
/// let check = ClockCheck::against(1_700_000_120_000, 1_700_000_000);
/// assert_eq!(check.phone_ahead_seconds, 120);
/// assert!(check.is_off());
/// assert_eq!(check.suggested_offset_seconds, -120);
/// assert!(!ClockCheck::against(1_700_000_010_000, 1_700_000_000).is_off());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockCheck {
    /// The phone's time minus the bank's, in whole seconds (rounded toward
    /// zero): positive when the phone is ahead, negative when behind.
    pub phone_ahead_seconds: i64,
    /// The correction to add to the phone's clock for the codes: the
    /// opposite of `phone_ahead_seconds` when that is beyond
    /// [`CLOCK_SKEW_TOLERANCE_SECONDS`], otherwise 0.
    pub suggested_offset_seconds: i64,
}

impl ClockCheck {
    /// Compares the phone's time `phone_unix_millis` with the bank's
    /// `bank_unix_seconds`. Saturates at the `i64` range (any time works,
    /// before 1970 included).
    pub fn against(phone_unix_millis: i64, bank_unix_seconds: i64) -> Self {
        let ahead = (phone_unix_millis / 1000).saturating_sub(bank_unix_seconds);
        let off = ahead.saturating_abs() > CLOCK_SKEW_TOLERANCE_SECONDS;
        Self {
            phone_ahead_seconds: ahead,
            suggested_offset_seconds: if off { ahead.saturating_neg() } else { 0 },
        }
    }

    /// Whether the phone's clock is off by more than the tolerance.
    pub fn is_off(&self) -> bool {
        self.suggested_offset_seconds != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z
        assert!(SystemClock.now_millis() > 1_767_225_600_000);
    }

    #[test]
    fn fixed_clock_never_moves() {
        let c = FixedClock::from_unix_millis(-5);
        assert_eq!(c.now_millis(), -5);
        assert_eq!(
            FixedClock::from_unix_seconds(i64::MAX).now_millis(),
            i64::MAX
        );
    }

    #[test]
    fn manual_clock_moves_both_ways_and_saturates() {
        let c = ManualClock::from_unix_seconds(100);
        c.advance_seconds(-101);
        assert_eq!(c.now_millis(), -1000);
        c.set_millis(i64::MAX - 1);
        c.advance_millis(10);
        assert_eq!(c.now_millis(), i64::MAX);
    }

    #[test]
    fn a_clock_check_at_its_edges() {
        let at = |phone_s: i64, bank_s: i64| ClockCheck::against(phone_s * 1000, bank_s);
        assert_eq!(at(130, 100).suggested_offset_seconds, 0);
        assert_eq!(at(131, 100).suggested_offset_seconds, -31);
        assert_eq!(at(70, 100).suggested_offset_seconds, 0);
        assert_eq!(at(69, 100).suggested_offset_seconds, 31);
        assert_eq!(at(-100, 0).phone_ahead_seconds, -100);
        // Milliseconds before the next second do not count.
        assert_eq!(ClockCheck::against(130_999, 100).phone_ahead_seconds, 30);
        let far = ClockCheck::against(i64::MAX, i64::MIN);
        assert_eq!(far.phone_ahead_seconds, i64::MAX);
        assert_eq!(far.suggested_offset_seconds, -i64::MAX);
        let behind = ClockCheck::against(i64::MIN, i64::MAX);
        assert_eq!(behind.phone_ahead_seconds, i64::MIN);
        assert_eq!(behind.suggested_offset_seconds, i64::MAX);
        assert!(behind.is_off() && far.is_off());
    }

    #[test]
    fn clocks_work_through_references_and_arcs() {
        fn read(c: &dyn Clock) -> i64 {
            c.now_millis()
        }
        let c = Arc::new(ManualClock::from_unix_seconds(1));
        assert_eq!(read(&c), 1000);
        assert_eq!(read(&&*c), 1000);
    }
}
