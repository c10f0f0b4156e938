//! The mobile API: what Kotlin and Swift see, through UniFFI.
//!
//! Everything an authenticator app needs is on one object, [`Authenticator`]:
//! create or open the encrypted card vault in a directory the app owns,
//! unlock it with the app password or the biometric platform key, activate
//! bank cards from a QR payload and an SMS code, import standard tokens, and
//! read every card's first and second dynamic PINs with their countdown.
//!
//! This crate is the FFI edge, and the only one: the only UniFFI code and the
//! only `cdylib`/`staticlib` of the workspace (`libdynpin_ffi`). It holds plain
//! records and one error enum with stable variants; the phone core underneath
//! (`dynpin`) stays plain Rust, and no bank-side code can reach it. No call can
//! panic across the boundary: library code denies panics, and UniFFI (built
//! with `panic = "unwind"`) turns any that slipped through into an error.
//!
//! Rust programs use the same API (the `phone` program of `dynpin-cli` does):
//!
//! ```
//! use dynpin_ffi::{Authenticator, VaultSettings};
//!
//! let dir = std::env::temp_dir().join(format!("dynpin-doc-{}", std::process::id()));
//! let settings = VaultSettings { kdf_memory_kib: 19 * 1024, kdf_iterations: 2, ..VaultSettings::default() };
//! // The slow calls (a key derivation) are async: `suspend` in Kotlin, `async`
//! // in Swift and Python. They run on a thread of their own, so any executor
//! // (here a minimal one) can wait for them.
//! let auth = pollster::block_on(Authenticator::create_with_settings(
//!     dir.display().to_string(), "a long passphrase".into(), settings, None))?;
//! assert!(auth.cards()?.is_empty());          // reads never wait
//! pollster::block_on(auth.wipe())?;
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok::<(), dynpin_ffi::DynpinError>(())
//! ```
//!
//! Kotlin (`ir.dynpin`):
//!
//! ```kotlin
//! val auth = Authenticator.create(filesDir.path, password, null)  // suspend
//! val info = auth.inspectActivation(scannedText)           // bank, last four, expiry
//! val result = auth.activate(scannedText, smsCode, false)  // suspend; DynpinException on error
//! for (card in auth.codes()) { card.pins.forEach { show(it.grouped, it.secondsRemaining) } }
//! ```
//!
//! Swift (`DynPin`):
//!
//! ```swift
//! let auth = try Authenticator.open(directory: dir, clock: nil)
//! try await auth.unlockWithPassword(password: password)
//! let codes = try auth.codes()
//! ```

mod authenticator;
mod background;
mod clock;
mod device;
mod error;
mod types;

pub use authenticator::{Authenticator, destroy_vault, vault_exists};
pub use clock::MobileClock;
pub use device::{DeviceKeyFailure, DeviceKeyStore};
pub use error::{
    BackupProblem, CardPart, DeviceKeyProblem, DynpinError, InputProblem, PasswordProblem,
    VaultSetting,
};
pub use types::{
    ActivationDetails, ActivationResult, BackupImport, CardCodes, CardInfo, CardKind, ClockCheck,
    LockoutInfo, PinInfo, PinType, VaultSettings,
};

// The namespace apps import: `dynpin` in Python, `dynpin.kt` in Kotlin.
uniffi::setup_scaffolding!("dynpin");

/// The version of the dynpin library.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
