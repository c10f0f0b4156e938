//! Argon2id (RFC 9106), the one password-based key derivation dynpin uses:
//! for activation codes and for the vault's app password.
//!
//! Parameters travel with the data they protect, so the reader checks them
//! against a floor (too weak: the data may have been made to be cracked) and a
//! ceiling (too costly: a crafted file must not exhaust a phone's memory).

use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::{Zeroize, Zeroizing};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Memory in KiB (Argon2's `m`).
    pub memory_kib: u32,
    /// Passes over memory (Argon2's `t`).
    pub iterations: u32,
    /// Lanes (Argon2's `p`).
    pub lanes: u32,
}

impl KdfParams {
    /// dynpin's default: m = 64 MiB, t = 3, p = 1 — about a quarter to half a
    /// second on a current phone (measured figures: docs/benchmarks.md).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        lanes: 1,
    };

    /// The weakest parameters a reader accepts: m = 19 MiB, t = 2, p = 1
    /// (OWASP's Argon2id minimum). Anything cheaper is refused.
    pub const MINIMUM: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        lanes: 1,
    };

    /// The costliest parameters a reader accepts: m = 1 GiB, t = 16, p = 8.
    pub const MAXIMUM: KdfParams = KdfParams {
        memory_kib: 1024 * 1024,
        iterations: 16,
        lanes: 8,
    };

    /// Whether these parameters are below [`KdfParams::MINIMUM`] in memory or passes.
    pub fn is_too_weak(&self) -> bool {
        self.memory_kib < Self::MINIMUM.memory_kib
            || self.iterations < Self::MINIMUM.iterations
            || self.lanes < 1
    }

    /// Whether these parameters exceed [`KdfParams::MAXIMUM`] in any dimension.
    pub fn is_too_costly(&self) -> bool {
        self.memory_kib > Self::MAXIMUM.memory_kib
            || self.iterations > Self::MAXIMUM.iterations
            || self.lanes > Self::MAXIMUM.lanes
    }

    /// Checks the parameters against the floor and the ceiling.
    ///
    /// # Errors
    /// [`KdfError::TooWeak`] or [`KdfError::TooCostly`].
    pub fn check(&self) -> Result<(), KdfError> {
        self.check_within(Self::MAXIMUM)
    }

    /// Checks the parameters against the floor and against `ceiling`, the
    /// costliest a device accepts (itself never above [`KdfParams::MAXIMUM`]):
    /// a phone with little memory refuses, before deriving, what it cannot afford.
    ///
    /// ```
    /// use dynpin::kdf::{KdfError, KdfParams};
    ///
    /// let small_phone = KdfParams { memory_kib: 32 * 1024, ..KdfParams::MAXIMUM };
    /// assert_eq!(KdfParams::DEFAULT.check_within(small_phone), Err(KdfError::TooCostly));
    /// assert_eq!(KdfParams::MINIMUM.check_within(small_phone), Ok(()));
    /// ```
    ///
    /// # Errors
    /// [`KdfError::TooWeak`] or [`KdfError::TooCostly`].
    pub fn check_within(&self, ceiling: KdfParams) -> Result<(), KdfError> {
        if self.is_too_weak() {
            Err(KdfError::TooWeak)
        } else if self.is_too_costly()
            || self.memory_kib > ceiling.memory_kib
            || self.iterations > ceiling.iterations
            || self.lanes > ceiling.lanes
        {
            Err(KdfError::TooCostly)
        } else {
            Ok(())
        }
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a key could not be derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    /// The parameters are below the accepted minimum.
    #[error(
        "the key-derivation parameters are weaker than the accepted minimum (m = 19 MiB, t = 2)"
    )]
    TooWeak,
    /// The parameters exceed what a phone should spend.
    #[error("the key-derivation parameters exceed the accepted maximum (m = 1 GiB, t = 16, p = 8)")]
    TooCostly,
    /// Argon2 rejected the inputs (for example a salt under 8 bytes).
    #[error("the key derivation failed")]
    Failed,
    /// The device could not spare the memory the parameters ask for; nothing
    /// was derived (and, for a vault, no password attempt was counted).
    #[error("not enough memory for the key derivation")]
    OutOfMemory,
}

/// Derives `out_len` bytes from `password` and `salt` with Argon2id v1.3,
/// after checking `params` against the floor and ceiling.
///
/// ```
/// use dynpin::kdf::{derive, KdfParams};
///
/// let key = derive(b"1234567890123456", b"a 16-byte salt!!", KdfParams::MINIMUM, 32)?;
/// assert_eq!(key.len(), 32);
/// # Ok::<(), dynpin::kdf::KdfError>(())
/// ```
///
/// # Errors
/// [`KdfError`] for out-of-range parameters or inputs Argon2 refuses.
pub fn derive(
    password: &[u8],
    salt: &[u8],
    params: KdfParams,
    out_len: usize,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    params.check()?;
    derive_unchecked(password, salt, params, out_len)
}

/// [`derive`] without the floor and ceiling: for writers that chose their own
/// parameters and for tests of the format at small costs.
///
/// # Errors
/// [`KdfError::Failed`] for inputs Argon2 refuses, [`KdfError::OutOfMemory`].
pub(crate) fn derive_unchecked(
    password: &[u8],
    salt: &[u8],
    params: KdfParams,
    out_len: usize,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    let mut memory = KdfMemory::reserve(params)?;
    derive_in(&mut memory, password, salt, params, out_len)
}

/// The working memory of one Argon2id derivation, reserved apart from the
/// derivation so that a caller can find out the device can spare it before
/// it commits to anything (a vault counts a password attempt in between).
/// Wiped when dropped.
pub(crate) struct KdfMemory(Vec<Block>);

impl KdfMemory {
    /// Memory for a derivation at `params`.
    ///
    /// # Errors
    /// [`KdfError::Failed`] for parameters Argon2 refuses,
    /// [`KdfError::OutOfMemory`] when the allocation fails.
    pub(crate) fn reserve(params: KdfParams) -> Result<Self, KdfError> {
        let blocks = argon2_params(params, None)?.block_count();
        let mut memory = Vec::new();
        memory
            .try_reserve_exact(blocks)
            .map_err(|_| KdfError::OutOfMemory)?;
        memory.resize(blocks, Block::new());
        Ok(Self(memory))
    }
}

impl Drop for KdfMemory {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

fn argon2_params(params: KdfParams, out_len: Option<usize>) -> Result<Params, KdfError> {
    Params::new(params.memory_kib, params.iterations, params.lanes, out_len)
        .map_err(|_| KdfError::Failed)
}

/// Derives `out_len` bytes in `memory` (reserved for `params`), without the
/// floor and ceiling.
///
/// # Errors
/// [`KdfError::Failed`] for inputs Argon2 refuses or memory of another size.
pub(crate) fn derive_in(
    memory: &mut KdfMemory,
    password: &[u8],
    salt: &[u8],
    params: KdfParams,
    out_len: usize,
) -> Result<Zeroizing<Vec<u8>>, KdfError> {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        argon2_params(params, Some(out_len))?,
    );
    let mut out = Zeroizing::new(vec![0u8; out_len]);
    argon
        .hash_password_into_with_memory(password, salt, &mut out, memory.0.as_mut_slice())
        .map_err(|_| KdfError::Failed)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 9106's Argon2id vector uses a secret and associated data, which
    /// dynpin does not; this is the same inputs without them, as computed by the
    /// reference C implementation through Python's argon2-cffi
    /// (`hash_secret_raw(b"\x01"*32, b"\x02"*16, 3, 32, 4, 32, Type.ID)`).
    #[test]
    fn known_answer() {
        let params = KdfParams {
            memory_kib: 32,
            iterations: 3,
            lanes: 4,
        };
        let out = derive_unchecked(&[1u8; 32], &[2u8; 16], params, 32).unwrap();
        assert_eq!(
            hex(&out),
            "03aab965c12001c9d7d0d2de33192c0494b684bb148196d73c1df1acaf6d0c2e"
        );
    }

    #[test]
    fn floor_and_ceiling() {
        assert_eq!(KdfParams::DEFAULT.check(), Ok(()));
        assert_eq!(KdfParams::MINIMUM.check(), Ok(()));
        assert_eq!(KdfParams::MAXIMUM.check(), Ok(()));
        let weak = [
            KdfParams {
                memory_kib: 19 * 1024 - 1,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                iterations: 1,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                lanes: 0,
                ..KdfParams::MINIMUM
            },
        ];
        for p in weak {
            assert_eq!(
                derive(b"pw", b"saltsalt", p, 32).unwrap_err(),
                KdfError::TooWeak,
                "{p:?}"
            );
        }
        let costly = [
            KdfParams {
                memory_kib: 1024 * 1024 + 1,
                ..KdfParams::MAXIMUM
            },
            KdfParams {
                iterations: 17,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                lanes: 9,
                ..KdfParams::MINIMUM
            },
        ];
        for p in costly {
            assert_eq!(
                derive(b"pw", b"saltsalt", p, 32).unwrap_err(),
                KdfError::TooCostly,
                "{p:?}"
            );
        }
    }

    #[test]
    fn short_salt_is_an_error_not_a_panic() {
        assert_eq!(
            derive(b"pw", b"short", KdfParams::MINIMUM, 32).unwrap_err(),
            KdfError::Failed
        );
    }
}
