use core::fmt;

use hmac::block_api::HmacCore;
use hmac::digest::block_api::{Buffer, EagerHash, FixedOutputCore, UpdateCore};
use hmac::digest::{KeyInit, Output};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use super::{Algorithm, MAX_DIGITS, MIN_DIGITS, OtpCode, OtpError};

/// HMAC state keyed once. Cloning it copies two hash states, which is what lets
/// a code cost two compressions instead of four (no key schedule per code).
///
/// The states are key-equivalent. The hash crates' `zeroize` features would wipe
/// every copy on drop, including the throw-away copy each code makes, which costs
/// 18 ns of a 115 ns code (measured, docs/benchmarks.md). Instead the long-lived
/// state is scrubbed when its [`Hotp`] is dropped (see `Drop for Hotp`), and the
/// per-code stack copy is left to be overwritten, as ring and BoringSSL do.
#[derive(Clone)]
enum KeyedMac {
    Sha1(HmacCore<Sha1>),
    Sha256(HmacCore<Sha256>),
    Sha512(HmacCore<Sha512>),
}

/// An HOTP generator (RFC 4226) with its key schedule done once.
///
/// ```
/// use dynpin::otp::{Algorithm, Hotp};
///
/// // RFC 4226, Appendix D: the first two values.
/// let hotp = Hotp::new(Algorithm::Sha1, b"12345678901234567890", 6)?;
/// assert_eq!(hotp.code(0).to_string(), "755224");
/// assert_eq!(hotp.code(1).to_string(), "287082");
/// # Ok::<(), dynpin::otp::OtpError>(())
/// ```
#[derive(Clone)]
pub struct Hotp {
    mac: KeyedMac,
    algorithm: Algorithm,
    digits: u8,
    modulus: u32,
}

impl Hotp {
    /// Keys a generator with `key` for codes of `digits` digits.
    ///
    /// # Errors
    /// [`OtpError::DigitsOutOfRange`] unless 4 ≤ `digits` ≤ 10,
    /// [`OtpError::EmptySecret`] for an empty key.
    pub fn new(algorithm: Algorithm, key: &[u8], digits: u8) -> Result<Self, OtpError> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(OtpError::DigitsOutOfRange { digits });
        }
        if key.is_empty() {
            return Err(OtpError::EmptySecret);
        }
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it,
        // but the error is still mapped rather than unwrapped.
        let mac = match algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(keyed(key)?),
            Algorithm::Sha256 => KeyedMac::Sha256(keyed(key)?),
            Algorithm::Sha512 => KeyedMac::Sha512(keyed(key)?),
        };
        // 10 digits: every 31-bit value is below 10^10, so no reduction is needed.
        let modulus = 10u32.checked_pow(u32::from(digits)).unwrap_or(u32::MAX);
        Ok(Self {
            mac,
            algorithm,
            digits,
            modulus,
        })
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// The code for moving factor `counter` (RFC 4226 §5.3).
    #[inline]
    pub fn code(&self, counter: u64) -> OtpCode {
        let message = counter.to_be_bytes();
        let truncated = match &self.mac {
            KeyedMac::Sha1(mac) => dynamic_truncation(&run(mac, &message)),
            KeyedMac::Sha256(mac) => dynamic_truncation(&run(mac, &message)),
            KeyedMac::Sha512(mac) => dynamic_truncation(&run(mac, &message)),
        };
        self.reduce(truncated)
    }

    /// The code for an arbitrary message instead of a counter: OCRA (RFC 6287)
    /// feeds a longer data input through the same HMAC and truncation.
    pub(crate) fn code_for_message(&self, message: &[u8]) -> OtpCode {
        let truncated = match &self.mac {
            KeyedMac::Sha1(mac) => dynamic_truncation(&run(mac, message)),
            KeyedMac::Sha256(mac) => dynamic_truncation(&run(mac, message)),
            KeyedMac::Sha512(mac) => dynamic_truncation(&run(mac, message)),
        };
        self.reduce(truncated)
    }

    /// Reduces a 31-bit truncated value to this generator's number of digits.
    #[inline]
    fn reduce(&self, truncated: u32) -> OtpCode {
        // Constant divisors compile to a multiply and shift; a division by a
        // runtime modulus costs as much as a fifth of a whole code.
        let value = match self.digits {
            4 => truncated % 10_000,
            6 => truncated % 1_000_000,
            8 => truncated % 100_000_000,
            _ if self.modulus == u32::MAX => truncated,
            _ => truncated % self.modulus,
        };
        OtpCode::new(value, self.digits)
    }
}

fn keyed<M: KeyInit>(key: &[u8]) -> Result<M, OtpError> {
    M::new_from_slice(key).map_err(|_| OtpError::EmptySecret)
}

/// One HMAC over `message` from the stored key state. The block-level core
/// skips the streaming wrapper's buffer copy: a code costs the two compressions
/// and little else.
fn run<D: EagerHash>(keyed: &HmacCore<D>, message: &[u8]) -> Output<HmacCore<D>> {
    let mut core = keyed.clone();
    let mut buffer = Buffer::<HmacCore<D>>::default();
    buffer.digest_blocks(message, |blocks| core.update_blocks(blocks));
    let mut out = Output::<HmacCore<D>>::default();
    core.finalize_fixed_core(&mut buffer, &mut out);
    out
}

/// RFC 4226 §5.3 dynamic truncation: 31 bits at the offset named by the low
/// nibble of the last byte. For every supported hash the output is at least
/// 20 bytes and the offset at most 15, so the four bytes always exist.
pub(crate) fn dynamic_truncation(hmac: &[u8]) -> u32 {
    let offset = usize::from(hmac.last().copied().unwrap_or(0) & 0x0f);
    let word = hmac
        .iter()
        .skip(offset)
        .take(4)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    word & 0x7fff_ffff
}

impl KeyedMac {
    /// State keyed with the empty key: what a dropped key state is overwritten with.
    fn scrubbed(algorithm: Algorithm) -> Option<Self> {
        Some(match algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(HmacCore::new_from_slice(&[]).ok()?),
            Algorithm::Sha256 => KeyedMac::Sha256(HmacCore::new_from_slice(&[]).ok()?),
            Algorithm::Sha512 => KeyedMac::Sha512(HmacCore::new_from_slice(&[]).ok()?),
        })
    }
}

impl Drop for Hotp {
    fn drop(&mut self) {
        // The hash cores offer no zeroize without their feature (see `KeyedMac`):
        // overwrite the key-equivalent state in place with a key-independent one,
        // and let `black_box` keep the optimiser from eliding the dead store.
        if let Some(scrubbed) = KeyedMac::scrubbed(self.algorithm) {
            self.mac = scrubbed;
        }
        std::hint::black_box(&mut self.mac);
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("key", &"redacted")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4226_KEY: &[u8] = b"12345678901234567890";

    /// RFC 4226, Appendix D: HOTP values for counters 0..9.
    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let truncated = [
            1_284_755_224u32,
            1_094_287_082,
            137_359_152,
            1_726_969_429,
            1_640_338_314,
            868_254_676,
            1_918_287_922,
            82_162_583,
            673_399_871,
            645_520_489,
        ];
        let hotp = Hotp::new(Algorithm::Sha1, RFC4226_KEY, 6).unwrap();
        let raw = Hotp::new(Algorithm::Sha1, RFC4226_KEY, 10).unwrap();
        for (counter, (code, full)) in expected.iter().zip(truncated).enumerate() {
            assert_eq!(
                hotp.code(counter as u64).to_string(),
                *code,
                "counter {counter}"
            );
            // With 10 digits the full 31-bit truncated value shows (Appendix D's "Decimal" column).
            assert_eq!(raw.code(counter as u64).value(), full, "counter {counter}");
        }
    }

    #[test]
    fn digits_and_key_are_validated() {
        for digits in [0, 1, 3, 11, 255] {
            assert_eq!(
                Hotp::new(Algorithm::Sha1, RFC4226_KEY, digits).unwrap_err(),
                OtpError::DigitsOutOfRange { digits }
            );
        }
        for digits in 4..=10 {
            let code = Hotp::new(Algorithm::Sha512, RFC4226_KEY, digits)
                .unwrap()
                .code(u64::MAX);
            assert_eq!(code.to_string().len(), usize::from(digits));
        }
        assert_eq!(
            Hotp::new(Algorithm::Sha256, b"", 6).unwrap_err(),
            OtpError::EmptySecret
        );
    }

    #[test]
    fn four_digit_codes_are_the_low_digits_of_six() {
        let six = Hotp::new(Algorithm::Sha1, RFC4226_KEY, 6).unwrap();
        let four = Hotp::new(Algorithm::Sha1, RFC4226_KEY, 4).unwrap();
        for c in 0..50 {
            assert_eq!(four.code(c).value(), six.code(c).value() % 10_000);
        }
    }

    #[test]
    fn truncation_uses_the_last_nibble() {
        // RFC 4226 §5.4 worked example.
        let hmac = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(dynamic_truncation(&hmac), 0x50ef_7f19);
    }

    #[test]
    fn debug_redacts_the_key() {
        let dbg = format!("{:?}", Hotp::new(Algorithm::Sha1, RFC4226_KEY, 6).unwrap());
        assert!(!dbg.contains("1234"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }
}
