use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::text::{self, InputError};

/// One computed one-time code: a value below 10^digits, shown zero-padded.
///
/// `Display` gives the digits (`"04287082"`); `Debug` hides them, so a code
/// that ends up in a log line does not hand out a valid PIN. Compare a typed
/// code with [`OtpCode::matches`], which runs in constant time.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct OtpCode {
    value: u32,
    digits: u8,
}

impl OtpCode {
    pub(crate) fn new(value: u32, digits: u8) -> Self {
        Self { value, digits }
    }

    /// The numeric value (without leading zeros).
    pub fn value(&self) -> u32 {
        self.value
    }

    /// How many digits the code has.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// The code as fixed-width ASCII digits, written into a stack buffer.
    fn ascii(&self) -> ([u8; 10], usize) {
        let mut buf = [b'0'; 10];
        let len = usize::from(self.digits).min(buf.len());
        let mut rest = self.value;
        for slot in buf.iter_mut().take(len).rev() {
            // `rest % 10` is below 10, so the cast cannot truncate.
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        (buf, len)
    }

    /// The digits in groups people read (`1234 5678`, `123 456`).
    pub fn grouped(&self) -> String {
        let plain = self.to_string();
        text::group_digits(&plain, text::natural_group_size(plain.len()))
    }

    /// The grouped digits written with Persian numerals (`۱۲۳۴ ۵۶۷۸`).
    pub fn persian(&self) -> String {
        text::to_persian_digits(&self.grouped())
    }

    /// Whether `typed` (ASCII, Persian or Arabic-Indic digits, spaces and dashes
    /// allowed) is this code. The digits are compared in constant time.
    ///
    /// # Errors
    /// An [`InputError`] when `typed` is not a code of the right length.
    pub fn matches(&self, typed: &str) -> Result<bool, InputError> {
        let typed = text::parse_code(typed, usize::from(self.digits))?;
        Ok(self.ct_eq_digits(typed.as_bytes()).into())
    }

    /// Constant-time comparison with already-normalised ASCII digits.
    fn ct_eq_digits(&self, typed: &[u8]) -> subtle::Choice {
        let (mine, len) = self.ascii();
        mine.get(..len).unwrap_or_default().ct_eq(typed)
    }

    /// Whether this code has the value `typed` (a code of this length already
    /// parsed by [`text::parse_code_value`]), compared in constant time: what a
    /// verifier scanning a window of codes uses, without formatting each one.
    /// A [`subtle::Choice`], so several comparisons combine without branching.
    pub fn ct_eq_value(&self, typed: u64) -> subtle::Choice {
        u64::from(self.value).ct_eq(&typed)
    }
}

impl fmt::Display for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (buf, len) = self.ascii();
        let digits = buf
            .get(..len)
            .and_then(|d| core::str::from_utf8(d).ok())
            .unwrap_or_default();
        f.write_str(digits)
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtpCode({} digits, redacted)", self.digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_padding_and_formats() {
        let c = OtpCode::new(4_287_082, 8);
        assert_eq!(c.to_string(), "04287082");
        assert_eq!(c.grouped(), "0428 7082");
        assert_eq!(c.persian(), "۰۴۲۸ ۷۰۸۲");
        assert_eq!(OtpCode::new(7, 4).to_string(), "0007");
        assert_eq!(OtpCode::new(2_147_483_647, 10).to_string(), "2147483647");
    }

    #[test]
    fn debug_hides_the_digits() {
        let c = OtpCode::new(123_456, 6);
        assert_eq!(format!("{c:?}"), "OtpCode(6 digits, redacted)");
    }

    #[test]
    fn matching_accepts_every_script_and_rejects_neighbours() {
        let c = OtpCode::new(42_870, 6);
        assert_eq!(c.matches("042870"), Ok(true));
        assert_eq!(c.matches("۰۴۲ ۸۷۰"), Ok(true));
        assert_eq!(c.matches("٠٤٢-٨٧٠"), Ok(true));
        assert_eq!(c.matches("042871"), Ok(false));
        assert_eq!(
            c.matches("42870"),
            Err(InputError::WrongLength {
                expected: 6,
                found: 5
            })
        );
        assert!(c.matches("04287o").is_err());
    }
}
