//! The mobile API: what Kotlin and Swift see, through UniFFI (work in progress).

/// A clock the app provides: milliseconds since 1970-01-01T00:00:00Z, as
/// Android's `System.currentTimeMillis()` or iOS's `Date().timeIntervalSince1970 * 1000`.
#[uniffi::export(foreign)]
pub trait MobileClock: Send + Sync {
    /// The current time in Unix milliseconds.
    fn now_millis(&self) -> i64;
}

/// The version of the dynpin core.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Reads the clock the app passed, as dynpin's core does.
#[uniffi::export]
pub fn read_clock(clock: std::sync::Arc<dyn MobileClock>) -> i64 {
    clock.now_millis()
}
