//! The app's clock, implemented in Kotlin or Swift.

use std::sync::Arc;

use dynpin::clock::Clock;

/// A clock the app may implement: milliseconds since 1970-01-01T00:00:00Z,
/// as Android's `System.currentTimeMillis()` or iOS's
/// `Date().timeIntervalSince1970 * 1000`. Pass `null`/`nil` to use the system
/// clock; pass your own to test with a fixed time or to use a network-corrected one.
#[uniffi::export(foreign)]
pub trait MobileClock: Send + Sync {
    /// The current time in Unix milliseconds.
    fn now_millis(&self) -> i64;
}

/// Adapts the app's clock to the core's [`Clock`].
pub(crate) struct ForeignClock(pub(crate) Arc<dyn MobileClock>);

impl Clock for ForeignClock {
    fn now_millis(&self) -> i64 {
        self.0.now_millis()
    }
}

/// The app's clock, or the system clock when it passed none.
pub(crate) fn resolve(clock: Option<Arc<dyn MobileClock>>) -> Arc<dyn Clock> {
    match clock {
        Some(foreign) => Arc::new(ForeignClock(foreign)),
        None => Arc::new(dynpin::clock::SystemClock),
    }
}
