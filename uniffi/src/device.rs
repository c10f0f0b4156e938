//! The device-bound factor over the app's hardware key store: the app
//! implements [`DeviceKeyStore`] in Kotlin (an Android Keystore AES-GCM key,
//! non-exportable, no user authentication) or Swift (a Secure Enclave P-256
//! key, `SecKeyCreateEncryptedData` with ECIES); the core asks it to wrap and
//! unwrap the vault's 32-byte device secret (`docs/vault-format.md`, kind 3).
//! `bindings/README.md` has both reference implementations.

use std::sync::Arc;

use dynpin::secret::SecretBytes;
use dynpin::vault::{DeviceKey, DeviceKeyError};

/// Why the app's key store could not wrap or unwrap. Neither is a wrong
/// password: nothing is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DeviceKeyFailure {
    /// The key is gone or cannot be used now (deleted, hardware busy, an
    /// exception the implementation did not expect).
    #[error("the device key store is unavailable")]
    Unavailable,
    /// The key refused the wrapped secret: it was wrapped by another key (a
    /// vault copied from another phone) or altered (`AEADBadTagException`).
    #[error("the device key store refused the wrapped secret")]
    Rejected,
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceKeyFailure {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DeviceKeyFailure::Unavailable
    }
}

/// The app's hardware-held key that the vault's password slot is bound to.
/// `unwrap(wrap(s))` must give back `s` for as long as the key exists;
/// anything another key wrapped is `Rejected`.
#[uniffi::export(foreign)]
pub trait DeviceKeyStore: Send + Sync {
    /// Encrypts `secret` (32 bytes) under the hardware key.
    fn wrap(&self, secret: Vec<u8>) -> Result<Vec<u8>, DeviceKeyFailure>;
    /// Decrypts what `wrap` returned.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, DeviceKeyFailure>;
    /// Deletes the hardware key: the vault was wiped. (Not `destroy`, which
    /// UniFFI's Kotlin objects already have.)
    fn delete_key(&self) -> Result<(), DeviceKeyFailure>;
}

/// Adapts the app's key store to the core's [`DeviceKey`].
pub(crate) struct ForeignDeviceKey(pub(crate) Arc<dyn DeviceKeyStore>);

fn core_error(e: DeviceKeyFailure) -> DeviceKeyError {
    match e {
        DeviceKeyFailure::Unavailable => DeviceKeyError::Unavailable,
        DeviceKeyFailure::Rejected => DeviceKeyError::Rejected,
    }
}

impl DeviceKey for ForeignDeviceKey {
    fn wrap(&self, secret: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        // The secret must reach the key store to be encrypted; the copy UniFFI
        // lowers is freed by it (see bindings/README.md on secrets at the FFI).
        self.0.wrap(secret.to_vec()).map_err(core_error)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, DeviceKeyError> {
        self.0
            .unwrap(wrapped.to_vec())
            .map(SecretBytes::from)
            .map_err(core_error)
    }

    fn destroy(&self) -> Result<(), DeviceKeyError> {
        self.0.delete_key().map_err(core_error)
    }
}
