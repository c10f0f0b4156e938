//! The mobile API: what Kotlin and Swift see, through UniFFI.
//!
//! Everything an authenticator app needs is on one object, [`Authenticator`]:
//! create or open the encrypted card vault in a directory the app owns,
//! unlock it with the app password or the biometric platform key, activate
//! bank cards from a QR payload and an SMS code, import standard tokens, and
//! read every card's first and second dynamic PINs with their countdown.
//!
//! This module is the FFI edge: plain records and one error enum with stable
//! variants. The domain modules underneath stay plain Rust. No call can panic
//! across the boundary: library code denies panics, and UniFFI (built with
//! `panic = "unwind"`) turns any that slipped through into an error.
//!
//! Kotlin (`ir.dynpin`):
//!
//! ```kotlin
//! val auth = Authenticator.create(filesDir.path, password, null)
//! val info = auth.inspectActivation(scannedText)           // bank, last four, expiry
//! val result = auth.activate(scannedText, smsCode, false)  // DynpinException on error
//! for (card in auth.codes()) { card.pins.forEach { show(it.grouped, it.secondsRemaining) } }
//! ```
//!
//! Swift (`DynPin`):
//!
//! ```swift
//! let auth = try Authenticator.open(directory: dir, clock: nil)
//! try auth.unlockWithPassword(password: password)
//! let codes = try auth.codes()
//! ```

mod authenticator;
mod clock;
mod error;
mod types;

pub use authenticator::{vault_exists, Authenticator};
pub use clock::MobileClock;
pub use error::DynpinError;
pub use types::{
    ActivationDetails, ActivationResult, BackupImport, CardCodes, CardInfo, CardKind, LockoutInfo,
    PinInfo, PinType, VaultSettings,
};

/// The version of the dynpin core library.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
