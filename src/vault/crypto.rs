//! Keys of the vault: the master key, the slot key-encryption keys (KEKs), and
//! XChaCha20-Poly1305 sealing in place (no plaintext copy left unwiped).

use core::fmt;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::VaultError;
use super::password;
use crate::kdf::{self, KdfError, KdfMemory, KdfParams};
use crate::secret::{RandomnessUnavailable, fill_random};

/// Bytes of the master key and of every KEK.
pub(crate) const KEY_LEN: usize = 32;
/// Bytes of an XChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Bytes of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;
/// Bytes of a wrapped master key: ciphertext then tag.
pub(crate) const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
/// Bytes of an Argon2id or HKDF salt.
pub(crate) const SALT_LEN: usize = 16;
/// The HKDF `info` of the platform-key slot's KEK.
pub(crate) const PLATFORM_INFO: &[u8] = b"dynpin/v1/vault/platform-slot";
/// The HKDF `info` of a device-bound password slot's KEK.
pub(crate) const DEVICE_PASSWORD_INFO: &[u8] = b"dynpin/v2/vault/device-password-slot";

/// The random 256-bit key that encrypts the vault's contents.
#[derive(Clone)]
pub(crate) struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl MasterKey {
    pub(crate) fn random() -> Result<Self, RandomnessUnavailable> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(key.as_mut())?;
        Ok(Self(key))
    }

    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

/// The length of a [`PlatformKey`], in bytes.
pub const PLATFORM_KEY_LEN: usize = KEY_LEN;

/// The 32-byte key an app keeps in the Android Keystore or the iOS Keychain,
/// behind the platform's biometric prompt, and hands to the core only after
/// the prompt succeeds. The core never sees a fingerprint; it sees this key.
///
/// Zeroized on drop; `Debug` never shows it.
///
/// ```
/// use dynpin::vault::PlatformKey;
///
/// let key = PlatformKey::from_bytes(&[7u8; 32])?;
/// assert_eq!(format!("{key:?}"), "PlatformKey(redacted)");
/// assert!(PlatformKey::from_bytes(&[7u8; 16]).is_err());
/// # Ok::<(), dynpin::vault::VaultError>(())
/// ```
#[derive(Clone)]
pub struct PlatformKey(Zeroizing<[u8; KEY_LEN]>);

impl PlatformKey {
    /// The key from its 32 bytes.
    ///
    /// # Errors
    /// [`VaultError::InvalidPlatformKey`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(VaultError::InvalidPlatformKey);
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// A fresh random key, for an app that stores it in the Keystore/Keychain itself.
    ///
    /// # Errors
    /// [`RandomnessUnavailable`].
    pub fn random() -> Result<Self, RandomnessUnavailable> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(key.as_mut())?;
        Ok(Self(key))
    }

    /// The key's bytes, to hand to the platform's secure storage. Never log them.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlatformKey(redacted)")
    }
}

impl PartialEq for PlatformKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for PlatformKey {}

/// `N` random bytes.
pub(crate) fn random_array<const N: usize>() -> Result<[u8; N], RandomnessUnavailable> {
    let mut out = [0u8; N];
    fill_random(&mut out)?;
    Ok(out)
}

fn cipher(key: &[u8]) -> Result<XChaCha20Poly1305, VaultError> {
    XChaCha20Poly1305::new_from_slice(key).map_err(|_| VaultError::Corrupt("key length"))
}

/// Encrypts `buf` in place under `key`, `nonce` and associated data `ad`;
/// returns the tag.
pub(crate) fn seal_in_place(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], VaultError> {
    let tag = cipher(key)?
        .encrypt_inout_detached(&XNonce::from(*nonce), ad, buf.into())
        .map_err(|_| VaultError::Corrupt("message too long"))?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_slice());
    Ok(out)
}

/// Decrypts `buf` in place if `tag` authenticates it with `ad`; on failure the
/// buffer's contents are unspecified (the caller wipes it).
pub(crate) fn open_in_place(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), VaultError> {
    cipher(key)?
        .decrypt_inout_detached(&XNonce::from(*nonce), ad, buf.into(), &Tag::from(*tag))
        .map_err(|_| VaultError::Tampered)
}

/// Opens `sealed` (ciphertext then its 16-byte tag) with `key`, `nonce` and
/// `ad` into a zeroizing buffer: the one AEAD split of the vault file and of
/// backups.
///
/// # Errors
/// [`VaultError::Corrupt`] when `sealed` is shorter than a tag,
/// [`VaultError::Tampered`] when it does not authenticate.
pub(crate) fn open_sealed(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let split = sealed
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(VaultError::Corrupt("length"))?;
    let (ct, tag) = sealed
        .split_at_checked(split)
        .ok_or(VaultError::Corrupt("length"))?;
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| VaultError::Corrupt("length"))?;
    let mut buf = Zeroizing::new(ct.to_vec());
    open_in_place(key, nonce, ad, &mut buf, tag)?;
    Ok(buf)
}

/// Wraps the master key under `kek`.
pub(crate) fn wrap(
    kek: &[u8],
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    master: &MasterKey,
) -> Result<[u8; WRAPPED_LEN], VaultError> {
    let mut buf = Zeroizing::new([0u8; KEY_LEN]);
    buf.copy_from_slice(master.expose());
    let tag = seal_in_place(kek, nonce, ad, buf.as_mut())?;
    let mut out = [0u8; WRAPPED_LEN];
    let (ct, t) = out.split_at_mut(KEY_LEN);
    ct.copy_from_slice(buf.as_ref());
    t.copy_from_slice(&tag);
    Ok(out)
}

/// Unwraps the master key; `None` when `kek` (or the associated data) is wrong.
pub(crate) fn unwrap(
    kek: &[u8],
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    wrapped: &[u8; WRAPPED_LEN],
) -> Option<MasterKey> {
    let (ct, tag) = wrapped.split_first_chunk::<KEY_LEN>()?;
    let tag: &[u8; TAG_LEN] = tag.try_into().ok()?;
    let mut key = Zeroizing::new(*ct);
    open_in_place(kek, nonce, ad, key.as_mut(), tag).ok()?;
    Some(MasterKey(key))
}

/// The password slot's KEK: Argon2id v1.3 of the normalized password (see
/// [`password`]), after checking `params` against the floor and ceiling.
pub(crate) fn password_kek(
    password: &str,
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    let normalized = password::normalize(password);
    kdf::derive(normalized.as_bytes(), salt, params, KEY_LEN)
}

/// As [`password_kek`], in memory already reserved for `params` (see
/// [`KdfMemory`]); the caller checked `params`.
pub(crate) fn password_kek_in(
    memory: &mut KdfMemory,
    password: &str,
    salt: &[u8; SALT_LEN],
    params: KdfParams,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    let normalized = password::normalize(password);
    kdf::derive_in(memory, normalized.as_bytes(), salt, params, KEY_LEN)
}

/// The platform slot's KEK: HKDF-SHA-256(salt, IKM = platform key, info =
/// `dynpin/v1/vault/platform-slot`, L = 32).
pub(crate) fn platform_kek(
    key: &PlatformKey,
    salt: &[u8; SALT_LEN],
) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    crate::secret::hkdf_sha256(Some(salt), key.expose(), PLATFORM_INFO, okm.as_mut())
        .map_err(|()| VaultError::Corrupt("key derivation"))?;
    Ok(okm)
}

/// A device-bound password slot's KEK: HKDF-SHA-256(salt = slot salt,
/// IKM = Argon2id output || device secret, info =
/// `dynpin/v2/vault/device-password-slot`, L = 32). Without the device
/// secret, which only the phone's key store can unwrap, no password guess can
/// be checked.
pub(crate) fn device_bound_kek(
    argon2_output: &[u8],
    device_secret: &[u8],
    salt: &[u8; SALT_LEN],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(
        argon2_output.len() + device_secret.len(),
    ));
    ikm.extend_from_slice(argon2_output);
    ikm.extend_from_slice(device_secret);
    let mut okm = Zeroizing::new(vec![0u8; KEY_LEN]);
    crate::secret::hkdf_sha256(Some(salt), &ikm, DEVICE_PASSWORD_INFO, &mut okm)
        .map_err(|()| VaultError::Corrupt("key derivation"))?;
    Ok(okm)
}
