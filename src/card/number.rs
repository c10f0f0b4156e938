//! Card numbers as people type them: checked, reduced to what may be kept.
//!
//! dynpin never stores a full card number. A [`CardNumber`] lives only long
//! enough to be Luhn-checked and to yield its bank and its [`LastFour`].

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{Bank, CardError};
use crate::text::{self, digit_value};

/// Shortest and longest primary account numbers (ISO/IEC 7812); Shetab cards have 16.
const PAN_LEN: core::ops::RangeInclusive<usize> = 12..=19;

/// A full card number, Luhn-checked. Wiped on drop; `Debug` shows only the last four digits.
///
/// ```
/// use dynpin::card::{Bank, CardNumber};
///
/// let pan = CardNumber::parse("۶۱۰۴ ۳۳۷۱ ۲۳۴۵ ۶۷۸۰")?;
/// assert_eq!(pan.bank(), Some(Bank::Mellat));
/// assert_eq!(pan.last_four().to_string(), "6780");
/// # Ok::<(), dynpin::card::CardError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CardNumber {
    digits: Vec<u8>,
}

impl CardNumber {
    /// Parses a typed card number (ASCII/Persian/Arabic-Indic digits, spaces and
    /// dashes allowed) and checks its Luhn digit.
    ///
    /// # Errors
    /// [`CardError::Input`] for non-digits, [`CardError::CardNumberLength`] for a
    /// length outside 12–19, [`CardError::CardNumberChecksum`] when the Luhn check fails.
    pub fn parse(input: &str) -> Result<Self, CardError> {
        let typed = text::normalize_digits(input, *PAN_LEN.end() + 1).map_err(|e| match e {
            text::InputError::TooLong { .. } => CardError::CardNumberLength,
            other => CardError::Input(other),
        })?;
        let digits: Vec<u8> = typed.bytes().map(|b| b - b'0').collect();
        if !PAN_LEN.contains(&digits.len()) {
            return Err(CardError::CardNumberLength);
        }
        if !luhn_valid(&digits) {
            return Err(CardError::CardNumberChecksum);
        }
        Ok(Self { digits })
    }

    /// The issuer identification number: the first six digits.
    pub fn bin(&self) -> u32 {
        self.digits
            .iter()
            .take(6)
            .fold(0, |acc, &d| acc * 10 + u32::from(d))
    }

    /// The issuing bank, when the BIN is a known Iranian one.
    pub fn bank(&self) -> Option<Bank> {
        Bank::from_bin(self.bin())
    }

    /// The last four digits: all that dynpin keeps of a card number.
    pub fn last_four(&self) -> LastFour {
        let start = self.digits.len().saturating_sub(4);
        let mut four = [0u8; 4];
        for (slot, &d) in four.iter_mut().zip(self.digits.iter().skip(start)) {
            *slot = d;
        }
        LastFour(four)
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(**** {})", self.last_four())
    }
}

/// The Luhn (mod 10) check over decimal digits.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// The last four digits of a card number, shown to tell cards apart.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LastFour([u8; 4]);

impl LastFour {
    /// Parses exactly four typed digits (any of the three digit scripts).
    ///
    /// # Errors
    /// [`CardError::Input`] unless exactly four digits were typed.
    pub fn parse(input: &str) -> Result<Self, CardError> {
        let typed = text::parse_code(input, 4)?;
        let mut four = [0u8; 4];
        for (slot, c) in four.iter_mut().zip(typed.chars()) {
            *slot = digit_value(c).unwrap_or(0);
        }
        Ok(Self(four))
    }

    /// The four digits as a number 0–9999 (leading zeros are lost: use `Display` to show it).
    pub fn value(self) -> u16 {
        self.0.iter().fold(0, |acc, &d| acc * 10 + u16::from(d))
    }

    /// From a number 0–9999.
    ///
    /// # Errors
    /// [`CardError::Input`] above 9999.
    pub fn from_value(value: u16) -> Result<Self, CardError> {
        if value > 9999 {
            return Err(CardError::Input(text::InputError::Overflow));
        }
        let digits = [value / 1000, value / 100 % 10, value / 10 % 10, value % 10];
        // Every element is below 10, so the narrowing is exact.
        Ok(Self(digits.map(|d| d as u8)))
    }
}

impl fmt::Display for LastFour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0 {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for LastFour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LastFour({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::InputError;

    /// Completes `prefix` with a Luhn check digit.
    fn with_check_digit(prefix: &str) -> String {
        (0..10)
            .map(|d| format!("{prefix}{d}"))
            .find(|n| luhn_valid(&n.bytes().map(|b| b - b'0').collect::<Vec<_>>()))
            .unwrap()
    }

    #[test]
    fn luhn_known_numbers() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(luhn_valid(&digits("4111111111111111")));
        assert!(luhn_valid(&digits("79927398713")));
        assert!(!luhn_valid(&digits("79927398710")));
        assert!(!luhn_valid(&digits("4111111111111112")));
    }

    #[test]
    fn parses_persian_typed_numbers_and_detects_the_bank() {
        let pan = with_check_digit("603799123456789");
        let persian = crate::text::to_persian_digits(&crate::text::group_digits(&pan, 4));
        let card = CardNumber::parse(&persian).unwrap();
        assert_eq!(card.bin(), 603_799);
        assert_eq!(card.bank(), Some(Bank::Melli));
        assert_eq!(card.last_four().to_string(), pan[12..].to_string());
    }

    #[test]
    fn rejects_bad_numbers() {
        let pan = with_check_digit("610433123456789");
        let mut wrong = pan.clone().into_bytes();
        wrong[15] = if wrong[15] == b'9' {
            b'0'
        } else {
            wrong[15] + 1
        };
        assert_eq!(
            CardNumber::parse(core::str::from_utf8(&wrong).unwrap()).unwrap_err(),
            CardError::CardNumberChecksum
        );
        assert_eq!(
            CardNumber::parse("12345").unwrap_err(),
            CardError::CardNumberLength
        );
        assert_eq!(
            CardNumber::parse(&"1".repeat(40)).unwrap_err(),
            CardError::CardNumberLength
        );
        assert!(matches!(
            CardNumber::parse("6104-3312-3456-789x").unwrap_err(),
            CardError::Input(InputError::NotADigit {
                kind: crate::text::CharKind::Letter,
                position: 19
            })
        ));
    }

    #[test]
    fn debug_shows_only_the_last_four() {
        let pan = with_check_digit("610433123456789");
        let dbg = format!("{:?}", CardNumber::parse(&pan).unwrap());
        assert!(!dbg.contains("610433"), "{dbg}");
        assert!(dbg.ends_with(&format!("{})", &pan[12..])), "{dbg}");
    }

    #[test]
    fn last_four_round_trips() {
        assert_eq!(LastFour::parse("۰۰۴۲").unwrap().to_string(), "0042");
        assert_eq!(LastFour::parse("0042").unwrap().value(), 42);
        assert_eq!(
            LastFour::from_value(42).unwrap(),
            LastFour::parse("0042").unwrap()
        );
        assert!(LastFour::from_value(10_000).is_err());
        assert!(LastFour::parse("123").is_err());
        assert!(LastFour::parse("12345").is_err());
    }
}
