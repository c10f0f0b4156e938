//! Secret byte strings: zeroized on drop, redacted in `Debug`, compared in constant time.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Bytes that must never leak: a card's master seed, an OTP key, a vault key.
///
/// The bytes are wiped when the value is dropped, `Debug` prints only the
/// length, and equality is decided in constant time.
///
/// ```
/// use dynpin::secret::SecretBytes;
///
/// let seed = SecretBytes::from(vec![7u8; 20]);
/// assert_eq!(seed.len(), 20);
/// assert_eq!(format!("{seed:?}"), "SecretBytes(20 bytes, redacted)");
/// assert_eq!(seed, SecretBytes::from(vec![7u8; 20]));
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Copies `bytes` into a new secret. Prefer [`From<Vec<u8>>`] when the
    /// caller already owns the buffer, so no unwiped copy is left behind.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// `len` bytes from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`RandomnessUnavailable`] when the operating system cannot supply randomness.
    pub fn random(len: usize) -> Result<Self, RandomnessUnavailable> {
        let mut bytes = vec![0u8; len];
        fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Decodes an RFC 4648 base32 secret as found in `otpauth://` URIs: any
    /// letter case, with or without `=` padding (if present it must be exact),
    /// no other characters, and zero trailing bits (a non-canonical encoding is
    /// a corrupted one).
    ///
    /// ```
    /// use dynpin::secret::SecretBytes;
    ///
    /// let s = SecretBytes::from_base32("gezdgnbvgy3tqojq")?;
    /// assert_eq!(s.expose(), b"1234567890");
    /// assert_eq!(s.to_base32().as_str(), "GEZDGNBVGY3TQOJQ");
    /// # Ok::<(), dynpin::secret::Base32Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Base32Error`]: empty, or not canonical base32.
    pub fn from_base32(text: &str) -> Result<Self, Base32Error> {
        if text.is_empty() {
            return Err(Base32Error::Empty);
        }
        let upper = Zeroizing::new(text.to_ascii_uppercase());
        let decoded = crate::encoding::base32_decode(&upper).ok_or(Base32Error::Invalid)?;
        if decoded.is_empty() {
            return Err(Base32Error::Empty);
        }
        Ok(Self::from(decoded))
    }

    /// The secret as unpadded upper-case base32, in a zeroizing string.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::encoding::base32_encode(&self.0))
    }

    /// The secret bytes. Keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<Zeroizing<Vec<u8>>> for SecretBytes {
    fn from(mut bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(core::mem::take(&mut *bytes))
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        // `ct_eq` on slices of different lengths returns false without
        // looking at the contents; lengths are not secret.
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// Why a base32 secret was rejected. Never includes the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Base32Error {
    /// No secret was given, or it decodes to no bytes.
    #[error("the secret is empty")]
    Empty,
    /// A character outside A–Z and 2–7, wrong padding, or a non-canonical ending.
    #[error("the secret is not valid base32")]
    Invalid,
}

/// The operating system's random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator is unavailable")]
pub struct RandomnessUnavailable;

/// `count` uniformly random decimal digits from the operating system's CSPRNG,
/// in a zeroizing string (for activation codes and SMS codes).
///
/// # Errors
/// [`RandomnessUnavailable`] when the operating system cannot supply randomness.
pub fn random_digits(count: usize) -> Result<Zeroizing<String>, RandomnessUnavailable> {
    let mut digits = Zeroizing::new(String::with_capacity(count));
    let mut pool = Zeroizing::new([0u8; 64]);
    while digits.len() < count {
        fill_random(pool.as_mut())?;
        // Rejection sampling: 250 = 25 × 10, so bytes below it map uniformly.
        for &b in pool.iter().filter(|&&b| b < 250).take(count - digits.len()) {
            digits.push(char::from(b'0' + b % 10));
        }
    }
    Ok(digits)
}

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Errors
/// [`RandomnessUnavailable`] when the operating system cannot supply randomness.
pub fn fill_random(buf: &mut [u8]) -> Result<(), RandomnessUnavailable> {
    getrandom::fill(buf).map_err(|_| RandomnessUnavailable)
}

/// HKDF-SHA-256 (RFC 5869) of `ikm` with `salt` and `info` into `okm`: the
/// one place dynpin derives keys with HKDF. The keyed state it leaves (the
/// extracted key, as HMAC state) is overwritten in place before this returns,
/// as `Hotp` scrubs its own. Temporaries inside the `hkdf` crate (the raw
/// extracted key, per-block HMAC copies) are dropped unwiped: the hash crates'
/// `zeroize` features would wipe them, at a cost on every code (see `Hotp`).
///
/// # Errors
/// `Err(())` when `okm` is longer than HKDF-SHA-256 allows (8,160 bytes).
pub(crate) fn hkdf_sha256(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
    okm: &mut [u8],
) -> Result<(), ()> {
    // A key-independent state to overwrite with, made once: keying a fresh
    // one per call would cost as much as the derivation (measured: opening a
    // 1,000-card vault went from 1.6 to 2.2 ms).
    static SCRUBBED: std::sync::OnceLock<hkdf::Hkdf<sha2::Sha256>> = std::sync::OnceLock::new();
    let mut hkdf = hkdf::Hkdf::<sha2::Sha256>::new(salt, ikm);
    let result = hkdf.expand(info, okm).map_err(drop);
    hkdf.clone_from(SCRUBBED.get_or_init(|| hkdf::Hkdf::new(None, &[])));
    std::hint::black_box(&mut hkdf);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_bytes() {
        let s = SecretBytes::from(b"\xde\xad\xbe\xef-my-seed".to_vec());
        let dbg = format!("{s:?} {s:#?}");
        assert!(!dbg.contains("my-seed"));
        assert!(!dbg.to_lowercase().contains("de"), "{dbg}");
        assert!(!dbg.contains("222"), "decimal bytes leaked: {dbg}");
    }

    #[test]
    fn equality_is_by_content_and_length() {
        assert_eq!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abc")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abd")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abcd")
        );
    }

    #[test]
    fn random_secrets_differ() {
        let a = SecretBytes::random(32).unwrap();
        let b = SecretBytes::random(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn base32_rfc4648_vectors_any_case_any_padding() {
        // RFC 4648 §10.
        for (plain, encoded) in [
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(
                SecretBytes::from_base32(encoded).unwrap().expose(),
                plain.as_bytes()
            );
            assert_eq!(
                SecretBytes::from_base32(&encoded.to_lowercase())
                    .unwrap()
                    .expose(),
                plain.as_bytes()
            );
            let bare = encoded.trim_end_matches('=');
            assert_eq!(
                SecretBytes::from_base32(bare).unwrap().expose(),
                plain.as_bytes()
            );
            assert_eq!(
                SecretBytes::from_slice(plain.as_bytes())
                    .to_base32()
                    .as_str(),
                bare
            );
        }
    }

    #[test]
    fn base32_rejects_rather_than_guesses() {
        for bad in [
            "MZXW6===x",
            "MZ XW",
            "MZXW1",
            "MY=",
            "MZXW6=",
            "MZ",
            "M",
            "MZXW7",
            "éé",
            "MY======MY======",
        ] {
            assert!(SecretBytes::from_base32(bad).is_err(), "{bad}");
        }
        assert_eq!(SecretBytes::from_base32(""), Err(Base32Error::Empty));
        assert_eq!(SecretBytes::from_base32("===="), Err(Base32Error::Invalid));
    }

    #[test]
    fn from_zeroizing_moves_the_buffer() {
        let z = Zeroizing::new(vec![1u8, 2, 3]);
        let s = SecretBytes::from(z);
        assert_eq!(s.expose(), &[1, 2, 3]);
    }
}
