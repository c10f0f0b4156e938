//! The activation code: the secret half of an activation, sent by another channel.

use core::fmt;

use zeroize::Zeroizing;

use crate::secret::{RandomnessUnavailable, random_digits};
use crate::text::{self, InputError};

/// The fewest digits an activation code may have: 16 digits ≈ 53 bits.
pub const MIN_CODE_DIGITS: usize = 16;
/// The most digits an activation code may have.
pub const MAX_CODE_DIGITS: usize = 24;

/// An activation code: 16–24 decimal digits, delivered by SMS or on an ATM
/// receipt, never in the QR code. Wiped on drop; `Debug` hides it.
///
/// ```
/// use dynpin::activation::ActivationCode;
///
/// let code = ActivationCode::parse("۱۲۳۴ ۵۶۷۸-9012 3456")?;
/// assert_eq!(code.grouped().as_str(), "1234 5678 9012 3456");
/// # Ok::<(), dynpin::text::InputError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(Zeroizing<String>);

impl ActivationCode {
    /// A fresh uniformly random code of `digits` digits (clamped to 16–24).
    ///
    /// # Errors
    /// [`RandomnessUnavailable`] when the OS random generator fails.
    pub fn generate(digits: usize) -> Result<Self, RandomnessUnavailable> {
        let digits = digits.clamp(MIN_CODE_DIGITS, MAX_CODE_DIGITS);
        Ok(Self(random_digits(digits)?))
    }

    /// Parses a typed code: ASCII, Persian or Arabic-Indic digits; spaces and dashes ignored.
    ///
    /// # Errors
    /// An [`InputError`] for other characters or a length outside 16–24 digits.
    pub fn parse(typed: &str) -> Result<Self, InputError> {
        let digits = text::normalize_digits(typed, text::MAX_TYPED_DIGITS)?;
        if !(MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&digits.len()) {
            let expected = if digits.len() < MIN_CODE_DIGITS {
                MIN_CODE_DIGITS
            } else {
                MAX_CODE_DIGITS
            };
            return Err(InputError::WrongLength {
                expected,
                found: digits.len(),
            });
        }
        Ok(Self(digits))
    }

    /// The ASCII digits, as fed to the key derivation.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The digits in groups of four, as printed on a receipt or in an SMS.
    pub fn grouped(&self) -> Zeroizing<String> {
        Zeroizing::new(text::group_digits(&self.0, 4))
    }

    /// The grouped digits in Persian numerals.
    pub fn persian(&self) -> Zeroizing<String> {
        Zeroizing::new(text::to_persian_digits(&self.grouped()))
    }
}

impl fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActivationCode({} digits, redacted)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_uniform_looking_and_parse_back() {
        let mut counts = [0usize; 10];
        for _ in 0..200 {
            let code = ActivationCode::generate(16).unwrap();
            assert_eq!(code.digits().len(), 16);
            for b in code.digits().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
            assert_eq!(ActivationCode::parse(&code.persian()).unwrap(), code);
        }
        // 3200 digits: each digit ~320 times; 200 is > 6 sigma away.
        assert!(counts.iter().all(|&c| c > 200), "{counts:?}");
        assert_eq!(ActivationCode::generate(3).unwrap().digits().len(), 16);
        assert_eq!(ActivationCode::generate(99).unwrap().digits().len(), 24);
    }

    #[test]
    fn typed_codes_are_checked() {
        assert_eq!(
            ActivationCode::parse("1234 5678 9012 345"),
            Err(InputError::WrongLength {
                expected: 16,
                found: 15
            })
        );
        assert_eq!(
            ActivationCode::parse(&"1".repeat(25)),
            Err(InputError::WrongLength {
                expected: 24,
                found: 25
            })
        );
        assert!(ActivationCode::parse("1234 5678 9012 345x").is_err());
        let code = ActivationCode::parse("٠١٢٣-٤٥٦٧-٨٩٠١-٢٣٤٥").unwrap();
        assert_eq!(code.digits(), "0123456789012345");
        assert_eq!(format!("{code:?}"), "ActivationCode(16 digits, redacted)");
    }
}
