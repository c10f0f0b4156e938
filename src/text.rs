//! What people type and read: Persian, Arabic-Indic and ASCII digits, grouping.
//!
//! Iranian users type codes with the Persian keyboard (۰۱۲۳۴۵۶۷۸۹, U+06F0–U+06F9)
//! as often as with ASCII digits, and Arabic keyboards give U+0660–U+0669. All
//! three are accepted wherever a person types a number; spaces and dashes that
//! people use to keep their place are ignored; anything else is an error that
//! names the character and its position.

use core::fmt;

use zeroize::Zeroizing;

/// Why typed text is not an acceptable number or code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Nothing but spaces and dashes was entered.
    #[error("nothing was entered")]
    Empty,
    /// A character that is neither a digit nor a space or dash. What was
    /// typed may be a secret, so only its kind and place are kept.
    #[error("the character at position {position} is not a digit ({kind})")]
    NotADigit {
        /// What kind of character it is.
        kind: CharKind,
        /// Its position among the characters typed, counting from 1.
        position: usize,
    },
    /// The number of digits is not the one required.
    #[error("expected {expected} digits, got {found}")]
    WrongLength {
        /// How many digits are required.
        expected: usize,
        /// How many digits were entered.
        found: usize,
    },
    /// More digits than any accepted value can have.
    #[error("too long: at most {max} digits are accepted")]
    TooLong {
        /// The largest number of digits accepted.
        max: usize,
    },
    /// The number is larger than the largest accepted value.
    #[error("the number is too large")]
    Overflow,
}

/// What kind of character was typed where a digit belongs: enough for a
/// user or a log to see what went wrong (a letter, an invisible zero-width
/// non-joiner from a Persian keyboard, a decimal separator) without repeating
/// what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharKind {
    /// A letter of any script.
    Letter,
    /// A digit of a script other than ASCII, Persian and Arabic-Indic (e.g. full-width).
    OtherDigit,
    /// An invisible character: a control, a formatting mark (the zero-width
    /// non-joiner, direction marks) or a space not accepted between digits.
    Invisible,
    /// Punctuation or a symbol (`+`, a decimal separator, …).
    Symbol,
}

impl CharKind {
    /// The kind of `c`.
    pub fn of(c: char) -> Self {
        let formatting = matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
        );
        if formatting || c.is_control() || c.is_whitespace() {
            CharKind::Invisible
        } else if c.is_alphabetic() {
            CharKind::Letter
        } else if c.is_numeric() {
            CharKind::OtherDigit
        } else {
            CharKind::Symbol
        }
    }
}

impl fmt::Display for CharKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CharKind::Letter => "a letter",
            CharKind::OtherDigit => "a digit of another script",
            CharKind::Invisible => "an invisible character",
            CharKind::Symbol => "a symbol",
        })
    }
}

/// The decimal value of an ASCII, Persian or Arabic-Indic digit.
pub fn digit_value(c: char) -> Option<u8> {
    let base = match c {
        '0'..='9' => '0',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        _ => return None,
    };
    u8::try_from(u32::from(c) - u32::from(base)).ok()
}

/// Characters people put between digit groups: any Unicode space and the common dashes.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'
                | '\u{2011}'
                | '\u{2012}'
                | '\u{2013}'
                | '\u{2014}'
                | '\u{2212}'
                | '\u{FE63}'
                | '\u{FF0D}'
        )
}

/// Normalises typed digits to ASCII, dropping spaces and dashes.
///
/// The result is held in a zeroizing buffer because what people type here is
/// often a PIN or an activation code. At most `max_digits` digits are accepted.
///
/// ```
/// use dynpin::text::normalize_digits;
///
/// assert_eq!(normalize_digits("۱۲۳۴ ۵۶۷۸", 10).unwrap().as_str(), "12345678");
/// assert_eq!(normalize_digits("12-34", 10).unwrap().as_str(), "1234");
/// assert!(normalize_digits("12a4", 10).is_err());
/// ```
///
/// # Errors
/// [`InputError::NotADigit`] for any other character, [`InputError::Empty`]
/// when no digit was typed, [`InputError::TooLong`] past `max_digits`.
pub fn normalize_digits(input: &str, max_digits: usize) -> Result<Zeroizing<String>, InputError> {
    let mut out = Zeroizing::new(String::with_capacity(max_digits.min(64)));
    for (index, c) in input.chars().enumerate() {
        if let Some(value) = digit_value(c) {
            if out.len() == max_digits {
                return Err(InputError::TooLong { max: max_digits });
            }
            out.push(char::from(b'0' + value));
        } else if !is_separator(c) {
            return Err(InputError::NotADigit {
                kind: CharKind::of(c),
                position: index + 1,
            });
        }
    }
    if out.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(out)
}

/// The most digits any typed number may have (activation codes are the longest).
pub const MAX_TYPED_DIGITS: usize = 64;

/// Parses a typed code of exactly `len` digits (see [`normalize_digits`]).
///
/// # Errors
/// As [`normalize_digits`], plus [`InputError::WrongLength`].
pub fn parse_code(input: &str, len: usize) -> Result<Zeroizing<String>, InputError> {
    // Count every digit typed (up to a bound) so a long entry reports its length.
    let digits = normalize_digits(input, len.max(MAX_TYPED_DIGITS))?;
    if digits.len() != len {
        return Err(InputError::WrongLength {
            expected: len,
            found: digits.len(),
        });
    }
    Ok(digits)
}

/// Parses a typed code of exactly `len` digits (at most 19) into its value,
/// without allocating: the verifier's hot path. Leading zeros count toward
/// the length, so `"0042"` is a 4-digit code of value 42.
///
/// # Errors
/// As [`parse_code`].
pub fn parse_code_value(input: &str, len: usize) -> Result<u64, InputError> {
    let mut value = 0u64;
    let mut count = 0usize;
    for (index, c) in input.chars().enumerate() {
        if let Some(d) = digit_value(c) {
            count += 1;
            if count <= 19 {
                value = value * 10 + u64::from(d);
            }
        } else if !is_separator(c) {
            return Err(InputError::NotADigit {
                kind: CharKind::of(c),
                position: index + 1,
            });
        }
    }
    match count {
        0 => Err(InputError::Empty),
        n if n != len || n > 19 => Err(InputError::WrongLength {
            expected: len,
            found: n,
        }),
        _ => Ok(value),
    }
}

/// Parses a typed non-negative whole number such as an amount in rials.
///
/// ```
/// use dynpin::text::parse_number;
///
/// assert_eq!(parse_number("۵۰۰ ۰۰۰"), Ok(500_000));
/// ```
///
/// # Errors
/// As [`normalize_digits`], plus [`InputError::Overflow`] past `u64::MAX`.
pub fn parse_number(input: &str) -> Result<u64, InputError> {
    // u64::MAX has 20 digits; allow leading zeros up to a sane bound.
    let digits = normalize_digits(input, MAX_TYPED_DIGITS)?;
    digits.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(b - b'0')))
            .ok_or(InputError::Overflow)
    })
}

/// Inserts a space between groups of `group` characters, counting from the left:
/// `1234 5678`. Groups of 0 leave the text unchanged.
///
/// ```
/// assert_eq!(dynpin::text::group_digits("12345678", 4), "1234 5678");
/// assert_eq!(dynpin::text::group_digits("1234567", 4), "1234 567");
/// ```
pub fn group_digits(digits: &str, group: usize) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / group.max(1));
    for (i, c) in digits.chars().enumerate() {
        if group > 0 && i > 0 && i % group == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The grouping people read a code of `len` digits in: 3+3 for six digits,
/// fours otherwise (`1234 5678`, `1234 567`), none up to five digits.
pub fn natural_group_size(len: usize) -> usize {
    match len {
        0..=5 => 0,
        6 => 3,
        _ => 4,
    }
}

/// Groups a number's thousands: `1,234,567`, or with Persian digits and the
/// Arabic thousands separator (U+066C) `۱٬۲۳۴٬۵۶۷`.
///
/// ```
/// assert_eq!(dynpin::text::group_thousands(12_500_000, false), "12,500,000");
/// assert_eq!(dynpin::text::group_thousands(1_000, true), "۱٬۰۰۰");
/// ```
pub fn group_thousands(n: u64, persian: bool) -> String {
    let plain = n.to_string();
    let mut out = String::with_capacity(plain.len() * 2);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && (plain.len() - i) % 3 == 0 {
            out.push(if persian { '\u{066C}' } else { ',' });
        }
        out.push(c);
    }
    if persian {
        to_persian_digits(&out)
    } else {
        out
    }
}

/// Wraps `text` in LEFT-TO-RIGHT ISOLATE (U+2066) … POP DIRECTIONAL
/// ISOLATE (U+2069), so a code keeps its left-to-right group order inside a
/// right-to-left (Persian) line: without it, `۱۴۵۹ ۲۸۷۸` in a Persian
/// sentence shows as `۲۸۷۸ ۱۴۵۹`.
///
/// ```
/// assert_eq!(dynpin::text::isolate_ltr("۱۲ ۳۴"), "\u{2066}۱۲ ۳۴\u{2069}");
/// ```
pub fn isolate_ltr(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 6);
    out.push('\u{2066}');
    out.push_str(text);
    out.push('\u{2069}');
    out
}

/// The language of a label read aloud by a screen reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpokenLanguage {
    /// `zero four two eight, seven zero eight two`.
    English,
    /// `صفر چهار دو هشت، هفت صفر هشت دو`.
    Persian,
}

const ENGLISH_DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const PERSIAN_DIGITS: [&str; 10] = [
    "صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه",
];

/// A code as a screen reader should say it: every digit a word, one by one
/// (TalkBack and VoiceOver read `04287082` as a number, "four million…"),
/// groups separated by a comma (a pause; `،` in Persian). Digits may be
/// ASCII, Persian or Arabic-Indic; spaces separate groups; anything else
/// is left out.
///
/// ```
/// use dynpin::text::{spoken_digits, SpokenLanguage};
/// assert_eq!(spoken_digits("0428 7082", SpokenLanguage::English),
///            "zero four two eight, seven zero eight two");
/// assert_eq!(spoken_digits("۰۴۲۸ ۷۰۸۲", SpokenLanguage::Persian),
///            "صفر چهار دو هشت، هفت صفر هشت دو");
/// ```
pub fn spoken_digits(grouped: &str, language: SpokenLanguage) -> String {
    let (words, separator) = match language {
        SpokenLanguage::English => (&ENGLISH_DIGITS, ", "),
        SpokenLanguage::Persian => (&PERSIAN_DIGITS, "، "),
    };
    let groups: Vec<String> = grouped
        .split(' ')
        .map(|group| {
            group
                .chars()
                .filter_map(digit_value)
                .filter_map(|d| words.get(usize::from(d)).copied())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|g| !g.is_empty())
        .collect();
    groups.join(separator)
}

/// Replaces ASCII digits with Persian digits (۰–۹); other characters stay.
///
/// ```
/// assert_eq!(dynpin::text::to_persian_digits("1234 5678"), "۱۲۳۴ ۵۶۷۸");
/// ```
pub fn to_persian_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) - u32::from('0') + 0x06F0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn all_three_scripts_map_to_the_same_digits() {
        for d in 0..10u32 {
            let ascii = char::from_u32('0' as u32 + d).unwrap();
            let persian = char::from_u32(0x06F0 + d).unwrap();
            let arabic = char::from_u32(0x0660 + d).unwrap();
            for c in [ascii, persian, arabic] {
                assert_eq!(digit_value(c), Some(d as u8), "{c}");
            }
        }
        assert_eq!(digit_value('\u{06EF}'), None);
        assert_eq!(digit_value('\u{06FA}'), None);
        assert_eq!(digit_value('\u{065F}'), None);
        assert_eq!(digit_value('\u{066A}'), None);
        assert_eq!(digit_value('٫'), None);
    }

    #[test]
    fn mixed_scripts_spaces_and_dashes() {
        assert_eq!(
            normalize_digits(" ۱2٣-4\u{00A0}5\t6 ", 10)
                .unwrap()
                .as_str(),
            "123456"
        );
        assert_eq!(normalize_digits("1–2—3", 10).unwrap().as_str(), "123");
    }

    #[test]
    fn rejects_everything_else_with_position() {
        assert_eq!(
            normalize_digits("12x4", 10),
            Err(InputError::NotADigit {
                kind: CharKind::Letter,
                position: 3
            })
        );
        // Zero-width non-joiner, common on Persian keyboards, is not silently dropped.
        let err = normalize_digits("12\u{200C}34", 10).unwrap_err();
        assert_eq!(
            err,
            InputError::NotADigit {
                kind: CharKind::Invisible,
                position: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "the character at position 3 is not a digit (an invisible character)"
        );
        assert_eq!(
            normalize_digits("+123", 10).unwrap_err(),
            InputError::NotADigit {
                kind: CharKind::Symbol,
                position: 1
            }
        );
        assert_eq!(
            normalize_digits("١٫٢", 10).unwrap_err(),
            InputError::NotADigit {
                kind: CharKind::Symbol,
                position: 2
            }
        );
        for (c, kind) in [
            ('ژ', CharKind::Letter),
            ('x', CharKind::Letter),
            ('\u{FF11}', CharKind::OtherDigit), // full-width 1
            ('\u{0967}', CharKind::OtherDigit), // Devanagari 1
            ('\u{200C}', CharKind::Invisible),
            ('\u{200F}', CharKind::Invisible),
            ('\u{0000}', CharKind::Invisible),
            ('+', CharKind::Symbol),
            ('٫', CharKind::Symbol),
        ] {
            assert_eq!(CharKind::of(c), kind, "{c:?}");
        }
        assert_eq!(normalize_digits(" - ", 10), Err(InputError::Empty));
        assert_eq!(normalize_digits("", 10), Err(InputError::Empty));
        assert_eq!(
            normalize_digits("12345", 4),
            Err(InputError::TooLong { max: 4 })
        );
    }

    #[test]
    fn codes_must_have_the_exact_length() {
        assert_eq!(parse_code("۱۲۳۴ ۵۶۷۸", 8).unwrap().as_str(), "12345678");
        assert_eq!(
            parse_code("1234567", 8),
            Err(InputError::WrongLength {
                expected: 8,
                found: 7
            })
        );
        assert_eq!(
            parse_code("123456789012", 8),
            Err(InputError::WrongLength {
                expected: 8,
                found: 12
            })
        );
    }

    #[test]
    fn numbers_parse_and_overflow_is_typed() {
        assert_eq!(parse_number("0"), Ok(0));
        assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_number("18446744073709551616"),
            Err(InputError::Overflow)
        );
        assert_eq!(parse_number("000000000000000000000000001"), Ok(1));
    }

    #[test]
    fn grouping_and_persian_output() {
        assert_eq!(group_digits("1234", natural_group_size(4)), "1234");
        assert_eq!(group_digits("123456", natural_group_size(6)), "123 456");
        assert_eq!(
            group_digits("1234567890", natural_group_size(10)),
            "1234 5678 90"
        );
        assert_eq!(group_digits("", 4), "");
        assert_eq!(to_persian_digits("PIN 0189"), "PIN ۰۱۸۹");
    }

    #[test]
    fn code_values_without_allocation() {
        assert_eq!(parse_code_value("۰۰۴۲", 4), Ok(42));
        assert_eq!(parse_code_value("0042 1234", 8), Ok(421_234));
        assert_eq!(parse_code_value("9999999999", 10), Ok(9_999_999_999));
        assert_eq!(
            parse_code_value("123", 4),
            Err(InputError::WrongLength {
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            parse_code_value(&"1".repeat(30), 8),
            Err(InputError::WrongLength {
                expected: 8,
                found: 30
            })
        );
        assert_eq!(
            parse_code_value("12a4", 4),
            Err(InputError::NotADigit {
                kind: CharKind::Letter,
                position: 3
            })
        );
        assert_eq!(parse_code_value("-", 4), Err(InputError::Empty));
    }

    proptest! {
        #[test]
        fn code_value_agrees_with_parse_code(s in "[0-9۰-۹ -]{0,24}", len in 1usize..12) {
            let by_string = parse_code(&s, len).map(|d| d.parse::<u64>().unwrap());
            prop_assert_eq!(parse_code_value(&s, len), by_string);
        }

        #[test]
        fn persian_output_parses_back(n in any::<u64>()) {
            let shown = group_digits(&n.to_string(), 4);
            prop_assert_eq!(parse_number(&to_persian_digits(&shown)), Ok(n));
        }

        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC*") {
            let _ = normalize_digits(&s, 12);
            let _ = parse_number(&s);
            let _ = parse_code(&s, 8);
        }
    }
}
