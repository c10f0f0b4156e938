//! The device-bound factor: a key that never leaves the phone's hardware
//! (an Android Keystore key, an iOS Secure Enclave key) and that the password
//! slot depends on, so that a copied vault file cannot be attacked off the
//! phone, whatever the password.
//!
//! The core never sees the hardware key. When it seals a device-bound
//! password slot it draws a random 32-byte *device secret*, asks the
//! [`DeviceKey`] to wrap it, and stores the wrapped bytes in the slot; at
//! unlock it asks the key to unwrap them. The slot's key-encryption key is
//! HKDF-SHA-256 of the Argon2id output *and* the device secret
//! (docs/vault-format.md), so guessing passwords needs the phone, one guess
//! at a time, behind the vault's lockout.
//!
//! No user authentication is needed for this key (it is not the biometric
//! key): the Android key is an AES-GCM Keystore key without
//! `setUserAuthenticationRequired`, the iOS key a Secure Enclave P-256 key
//! used with `SecKeyCreateEncryptedData` (ECIES). `bindings/README.md` has
//! the reference implementations.

#[cfg(any(test, feature = "test-util"))]
use std::sync::{Mutex, PoisonError};

use crate::secret::SecretBytes;

/// Bytes of the device secret the core asks a [`DeviceKey`] to wrap.
pub const DEVICE_SECRET_LEN: usize = 32;
/// The most bytes a wrapped device secret may take in the vault file.
pub const MAX_DEVICE_BLOB_LEN: usize = 1024;

/// Why a [`DeviceKey`] could not wrap or unwrap. Neither is a wrong password:
/// nothing is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DeviceKeyError {
    /// The key is not there or cannot be used now (deleted, the hardware
    /// busy, the app reinstalled). A vault bound to a key that is gone for
    /// good cannot be opened: reset it and activate the cards again.
    #[error("the device key store is unavailable")]
    Unavailable,
    /// The key refused the wrapped secret: it was wrapped by another key (a
    /// vault file copied from another phone) or altered.
    #[error(
        "the device key store refused this vault's device secret (copied from another device?)"
    )]
    Rejected,
    /// The wrapped secret would not fit the vault file
    /// ([`MAX_DEVICE_BLOB_LEN`]), or the unwrapped one is not
    /// [`DEVICE_SECRET_LEN`] bytes.
    #[error("the device key store returned a value of the wrong size")]
    WrongSize,
}

/// A hardware-held key of this device that wraps and unwraps a small secret.
/// The platform implements it (see the module docs); the core calls it for
/// device-bound password slots. Implementations must be deterministic in what
/// they accept: `unwrap(wrap(s)) == s` for as long as the key exists, and
/// anything wrapped by another key is [`DeviceKeyError::Rejected`].
pub trait DeviceKey: Send + Sync {
    /// Encrypts `secret` ([`DEVICE_SECRET_LEN`] bytes) under the device key.
    ///
    /// # Errors
    /// [`DeviceKeyError::Unavailable`] when the key cannot be used.
    fn wrap(&self, secret: &[u8]) -> Result<Vec<u8>, DeviceKeyError>;

    /// Decrypts what [`DeviceKey::wrap`] returned.
    ///
    /// # Errors
    /// [`DeviceKeyError::Rejected`] for bytes this key did not wrap,
    /// [`DeviceKeyError::Unavailable`] when the key cannot be used.
    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, DeviceKeyError>;

    /// Deletes the key: the vault was wiped, and every copy of its file must
    /// become useless. Called by [`Vault::wipe`](super::Vault::wipe) and by a
    /// wipe at the failure limit; an app that resets with
    /// [`Vault::destroy`](super::Vault::destroy) deletes its key itself.
    ///
    /// # Errors
    /// [`DeviceKeyError::Unavailable`] when it could not be deleted.
    fn destroy(&self) -> Result<(), DeviceKeyError>;
}

/// A [`DeviceKey`] in memory, for tests and for the bindings' test suites:
/// XChaCha20-Poly1305 under a random key. It binds nothing to a device.
#[cfg(any(test, feature = "test-util"))]
pub struct SoftwareDeviceKey {
    key: Mutex<Option<super::crypto::MasterKey>>,
}

#[cfg(any(test, feature = "test-util"))]
impl core::fmt::Debug for SoftwareDeviceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SoftwareDeviceKey(redacted)")
    }
}

#[cfg(any(test, feature = "test-util"))]
impl SoftwareDeviceKey {
    const AD: &'static [u8] = b"dynpin/test/software-device-key";

    /// A new key (another "device").
    ///
    /// # Errors
    /// [`RandomnessUnavailable`](crate::secret::RandomnessUnavailable).
    pub fn new() -> Result<Self, crate::secret::RandomnessUnavailable> {
        Ok(Self {
            key: Mutex::new(Some(super::crypto::MasterKey::random()?)),
        })
    }

    fn with_key<T>(
        &self,
        f: impl FnOnce(&super::crypto::MasterKey) -> Result<T, DeviceKeyError>,
    ) -> Result<T, DeviceKeyError> {
        let guard = self.key.lock().unwrap_or_else(PoisonError::into_inner);
        f(guard.as_ref().ok_or(DeviceKeyError::Unavailable)?)
    }
}

#[cfg(any(test, feature = "test-util"))]
impl DeviceKey for SoftwareDeviceKey {
    fn wrap(&self, secret: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        self.with_key(|key| {
            let nonce: [u8; super::crypto::NONCE_LEN] =
                super::crypto::random_array().map_err(|_| DeviceKeyError::Unavailable)?;
            let mut buf = secret.to_vec();
            let tag = super::crypto::seal_in_place(key.expose(), &nonce, Self::AD, &mut buf)
                .map_err(|_| DeviceKeyError::Unavailable)?;
            let mut out = nonce.to_vec();
            out.extend_from_slice(&buf);
            out.extend_from_slice(&tag);
            Ok(out)
        })
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, DeviceKeyError> {
        self.with_key(|key| {
            let (nonce, sealed) = wrapped
                .split_first_chunk::<{ super::crypto::NONCE_LEN }>()
                .ok_or(DeviceKeyError::Rejected)?;
            super::crypto::open_sealed(key.expose(), nonce, Self::AD, sealed)
                .map(SecretBytes::from)
                .map_err(|_| DeviceKeyError::Rejected)
        })
    }

    fn destroy(&self) -> Result<(), DeviceKeyError> {
        *self.key.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }
}
