//! The app password: how it is read, and the rules a new one must pass.
//!
//! Digits typed on a Persian or Arabic keyboard (`۱۲۳`, `١٢٣`) are read as
//! ASCII digits before anything else, so a numeric password works whichever
//! keyboard the phone shows. Nothing else is changed (no trimming, no case
//! folding): the password is otherwise exactly what was typed.

use zeroize::Zeroizing;

use crate::text::digit_value;

/// The fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 6;
/// The fewest characters a backup password may have. A backup leaves the
/// phone and is guessed offline with no lockout and no device key, so it
/// needs what NIST SP 800-63B asks of a password that is the only factor:
/// length (a passphrase of a few words).
pub const MIN_BACKUP_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in UTF-8 bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The bundled list of common PINs and passwords a new password may not be.
const COMMON: &str = include_str!("common-passwords.txt");

/// Why a new password was refused. Never contains the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("the password must have at least {min} characters")]
    TooShort {
        /// The minimum in characters.
        min: usize,
    },
    /// More than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("the password must be at most {max} bytes")]
    TooLong {
        /// The maximum in bytes.
        max: usize,
    },
    /// A control character (line break, tab, …).
    #[error("the password contains a control character")]
    ControlCharacter,
    /// One of the most common PINs or passwords, or a trivial pattern (one
    /// repeated character, a run of consecutive digits).
    #[error("this password is too common or too simple; please choose another")]
    TooCommon,
}

/// The password as used for key derivation: Persian and Arabic-Indic digits
/// read as ASCII, in a zeroizing buffer.
pub(crate) fn normalize(password: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(password.len()));
    for c in password.chars() {
        match digit_value(c) {
            Some(d) => out.push(char::from(b'0' + d)),
            None => out.push(c),
        }
    }
    out
}

/// Checks a new password (app or backup) against the rules: at least six
/// characters, at most 1024 bytes, no control characters, not one of the
/// bundled common passwords, not a trivial pattern.
///
/// ```
/// use dynpin::vault::{check_new_password, PasswordError};
///
/// assert_eq!(check_new_password("12345"), Err(PasswordError::TooShort { min: 6 }));
/// assert_eq!(check_new_password("۱۲۳۴۵۶"), Err(PasswordError::TooCommon));
/// assert_eq!(check_new_password("Qwerty"), Err(PasswordError::TooCommon));
/// assert_eq!(check_new_password("345678"), Err(PasswordError::TooCommon));
/// assert!(check_new_password("گل‌سرخ ۱۴۰۳").is_ok());
/// ```
///
/// # Errors
/// The [`PasswordError`] of the first rule broken.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    check_password(password, MIN_PASSWORD_CHARS)
}

/// Checks a backup's password: the rules of [`check_new_password`], with at
/// least [`MIN_BACKUP_PASSWORD_CHARS`] characters.
///
/// # Errors
/// As [`check_new_password`].
pub fn check_backup_password(password: &str) -> Result<(), PasswordError> {
    check_password(password, MIN_BACKUP_PASSWORD_CHARS)
}

fn check_password(password: &str, min_chars: usize) -> Result<(), PasswordError> {
    let normalized = normalize(password);
    if normalized.chars().count() < min_chars {
        return Err(PasswordError::TooShort { min: min_chars });
    }
    if normalized.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    if normalized.chars().any(char::is_control) {
        return Err(PasswordError::ControlCharacter);
    }
    if is_common(&normalized) || is_trivial(&normalized) {
        return Err(PasswordError::TooCommon);
    }
    Ok(())
}

/// The bundled common passwords, lower case.
pub fn common_passwords() -> impl Iterator<Item = &'static str> {
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Whether `password`, in lower case, is on the list (compared without
/// making a lower-case copy of it).
fn is_common(password: &str) -> bool {
    common_passwords().any(|c| password.chars().flat_map(char::to_lowercase).eq(c.chars()))
}

/// One character repeated (ignoring case), or consecutive digits up or down
/// (`345678`, `98765432`).
fn is_trivial(password: &str) -> bool {
    let lower = || password.chars().flat_map(char::to_lowercase);
    let Some(first) = lower().next() else {
        return true;
    };
    if lower().all(|c| c == first) {
        return true;
    }
    let digits = || password.chars().map(|c| c.to_digit(10).map(i64::from));
    if digits().any(|d| d.is_none()) {
        return false;
    }
    let steps = || {
        digits()
            .zip(digits().skip(1))
            .map(|(a, b)| b.zip(a).map(|(b, a)| b - a))
    };
    steps().all(|s| s == Some(1)) || steps().all(|s| s == Some(-1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_large_enough_and_every_entry_is_refused_as_common() {
        let list: Vec<&str> = common_passwords().collect();
        assert!(list.len() >= 100, "{}", list.len());
        for p in &list {
            assert_eq!(p.to_lowercase(), *p);
            assert!(p.chars().count() >= MIN_PASSWORD_CHARS, "{p} is short");
            assert_eq!(check_new_password(p), Err(PasswordError::TooCommon), "{p}");
            assert_eq!(
                check_new_password(&p.to_uppercase()),
                Err(PasswordError::TooCommon),
                "{p}"
            );
        }
        for must in ["123456", "111111", "000000", "654321", "121212", "123123"] {
            assert!(list.contains(&must), "{must}");
        }
    }

    #[test]
    fn persian_and_arabic_digits_are_ascii() {
        assert_eq!(normalize("۱۲۳abc٤٥").as_str(), "123abc45");
        assert_eq!(check_new_password("۰۰۰۰۰۰"), Err(PasswordError::TooCommon));
        assert_eq!(check_new_password("٦٥٤٣٢١"), Err(PasswordError::TooCommon));
    }

    #[test]
    fn rules() {
        assert_eq!(
            check_new_password("abcde"),
            Err(PasswordError::TooShort { min: 6 })
        );
        assert_eq!(
            check_new_password(""),
            Err(PasswordError::TooShort { min: 6 })
        );
        assert_eq!(
            check_new_password(&"x".repeat(1025)),
            Err(PasswordError::TooLong { max: 1024 })
        );
        assert_eq!(
            check_new_password("abc\ndef"),
            Err(PasswordError::ControlCharacter)
        );
        for trivial in ["zzzzzz", "      ", "234567", "876543", "0123456", "اااااا"] {
            assert_eq!(
                check_new_password(trivial),
                Err(PasswordError::TooCommon),
                "{trivial}"
            );
        }
        for fine in ["385172", "correct horse", "Tehran-1403!", "۹۴۷۲۸۱۵"] {
            assert_eq!(check_new_password(fine), Ok(()), "{fine}");
        }
    }
}
