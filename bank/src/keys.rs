//! Cards' seeds encrypted at rest under a key encryption key (KEK).
//!
//! The store never sees a seed: the verifier seals each card's parameters and
//! master seed with XChaCha20-Poly1305 under the KEK before it is stored, and
//! opens them when a card is first verified on an instance. The KEK sits
//! behind a small trait, [`KeyEncryption`], so that a bank can keep it in an
//! HSM or a KMS; [`KeyFile`] is the default: 32 random bytes in a file
//! readable only by the service. The sealed layout is in `docs/bank-store.md`.
//!
//! ```
//! use dynpin_bank::keys::{KeyEncryption, KeyFile};
//!
//! let kek = KeyFile::from_bytes("kek-2026", [7; 32]);
//! let sealed = kek.seal(b"card 1", b"seed and parameters")?;
//! assert_eq!(&kek.open("kek-2026", b"card 1", &sealed)?[..], b"seed and parameters");
//! assert!(kek.open("kek-2026", b"card 2", &sealed).is_err());
//! # Ok::<(), dynpin_bank::keys::KeyError>(())
//! ```

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use zeroize::Zeroizing;

/// Bytes of nonce at the start of a sealed value.
pub const NONCE_LEN: usize = 24;
/// Bytes of a KEK.
pub const KEY_LEN: usize = 32;

/// Why a value could not be sealed or opened. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The value was sealed under another key (its id is not this KEK's).
    #[error("sealed under key '{0}', which this service does not hold")]
    UnknownKey(String),
    /// Authentication failed: the value or its binding was altered.
    #[error("a sealed value failed authentication")]
    Tampered,
    /// The key file is missing, unreadable or not 32 bytes (raw or 64 hex digits).
    #[error("key file: {0}")]
    KeyFile(String),
    /// The operating system's random generator failed.
    #[error("the random generator failed")]
    Randomness,
}

/// A key encryption key: seals and opens small values bound to `aad`.
/// Implement it for an HSM or a KMS; [`KeyFile`] keeps the key in a file.
pub trait KeyEncryption: Send + Sync + 'static {
    /// The key's id, stored beside every value it seals.
    fn key_id(&self) -> &str;
    /// Encrypts `plaintext` bound to `aad`.
    ///
    /// # Errors
    /// [`KeyError::Randomness`], or the implementation's own failure.
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Decrypts a value sealed under the key `key_id` and bound to `aad`.
    ///
    /// # Errors
    /// [`KeyError::UnknownKey`], [`KeyError::Tampered`].
    fn open(&self, key_id: &str, aad: &[u8], sealed: &[u8])
    -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

/// A KEK held in memory, loaded from a file: 32 raw bytes, or 64 hex digits
/// (a trailing newline allowed). `Debug` shows only the id.
pub struct KeyFile {
    id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl core::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyFile")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// A KEK with this id and these bytes (tests, or a key from elsewhere).
    pub fn from_bytes(id: &str, key: [u8; KEY_LEN]) -> Self {
        Self {
            id: id.to_owned(),
            key: Zeroizing::new(key),
        }
    }

    /// Loads the KEK `id` from `path`.
    ///
    /// # Errors
    /// [`KeyError::KeyFile`] when the file is missing or not a key.
    pub fn load(id: &str, path: &Path) -> Result<Self, KeyError> {
        Ok(Self {
            id: id.to_owned(),
            key: read_key_file(path)?,
        })
    }

    /// Writes a new random KEK to `path` as 64 hex digits (mode 0600 on Unix),
    /// refusing to overwrite a file.
    ///
    /// # Errors
    /// [`KeyError::KeyFile`] or [`KeyError::Randomness`].
    pub fn generate(id: &str, path: &Path) -> Result<Self, KeyError> {
        use std::io::Write;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut key[..]).map_err(|_| KeyError::Randomness)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .map_err(|e| KeyError::KeyFile(format!("{}: {e}", path.display())))?;
        let hex: Zeroizing<String> =
            Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect());
        file.write_all(hex.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|e| KeyError::KeyFile(format!("{}: {e}", path.display())))?;
        Ok(Self {
            id: id.to_owned(),
            key,
        })
    }
}

/// Reads a 32-byte key from `path`: 32 raw bytes, or 64 hex digits (a
/// trailing newline allowed).
///
/// # Errors
/// [`KeyError::KeyFile`] when the file is missing or not a key.
pub fn read_key_file(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| KeyError::KeyFile(format!("{}: {e}", path.display())))?,
    );
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if trimmed.len() == KEY_LEN {
        key.copy_from_slice(trimmed);
    } else if trimmed.len() == 2 * KEY_LEN {
        for (out, pair) in key.iter_mut().zip(trimmed.chunks_exact(2)) {
            let hex = core::str::from_utf8(pair).ok();
            *out = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| KeyError::KeyFile(format!("{}: not hex", path.display())))?;
        }
    } else {
        return Err(KeyError::KeyFile(format!(
            "{}: a key is 32 bytes or 64 hex digits",
            path.display()
        )));
    }
    Ok(key)
}

impl KeyFile {
    fn cipher(&self) -> Result<XChaCha20Poly1305, KeyError> {
        XChaCha20Poly1305::new_from_slice(&self.key[..])
            .map_err(|_| KeyError::KeyFile("key length".into()))
    }
}

impl KeyEncryption for KeyFile {
    fn key_id(&self) -> &str {
        &self.id
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| KeyError::Randomness)?;
        let body = self
            .cipher()?
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| KeyError::Tampered)?;
        let mut out = Vec::with_capacity(NONCE_LEN + body.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open(
        &self,
        key_id: &str,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if key_id != self.id {
            return Err(KeyError::UnknownKey(key_id.to_owned()));
        }
        let (nonce, body) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(KeyError::Tampered)?;
        let nonce = XNonce::try_from(nonce).map_err(|_| KeyError::Tampered)?;
        self.cipher()?
            .decrypt(&nonce, Payload { msg: body, aad })
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Tampered)
    }
}
