//! Standard tokens: `otpauth://` URIs (Google's Key Uri Format) and Google
//! Authenticator's `otpauth-migration://` export.
//!
//! ```
//! use dynpin::clock::FixedClock;
//! use dynpin::import::parse_otpauth;
//!
//! let imported = parse_otpauth(
//!     "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
//!      &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
//! )?;
//! assert_eq!(imported.label, "ACME Co (john.doe@email.com)");
//! assert_eq!(imported.token.issuer.as_deref(), Some("ACME Co"));
//! let card = imported.into_card()?;
//! let pins = card.pins(&FixedClock::from_unix_seconds(1_700_000_000))?;
//! assert_eq!(pins[0].digits().len(), 6);
//! # Ok::<(), dynpin::import::ImportError>(())
//! ```
//!
//! # Rules
//!
//! Import is strict: anything ambiguous or out of range is a typed
//! [`ImportError`], never a guess and never a panic.
//!
//! - The whole input is at most [`MAX_URI_LEN`] bytes ([`MAX_MIGRATION_URI_LEN`]
//!   for a migration URI), checked before anything else; surrounding
//!   whitespace (a scanner's trailing newline) is then ignored.
//! - Scheme, token type, migration host, parameter names and algorithm names
//!   are matched ignoring ASCII case.
//! - Label and parameter values are percent-decoded. A `%` not followed by two
//!   hex digits, invalid UTF-8 after decoding, or a control character is an
//!   error. `+` is **not** a space: only percent-decoding applies (RFC 3986;
//!   Google's own encoder writes a space as `%20`), so `+` in an issuer stays
//!   a `+` and in a base32 secret is an error. A raw `#` (a fragment) is an
//!   error. Printable characters that a strict URI would have to escape (a raw
//!   space, raw UTF-8) are accepted, as they are unambiguous.
//! - The label is `issuer:account` or `account` (the colon may be `%3A`);
//!   whitespace around issuer and account is dropped. An empty account or
//!   issuer, or a colon inside either (a second colon in the label, or one in
//!   the `issuer` parameter), is an error. If both the label's issuer and the
//!   `issuer` parameter are given, they must be equal.
//! - `secret` is required: base32 in any case, padded or not, at least
//!   [`MIN_SECRET_LEN`] bytes once decoded. `algorithm` is `SHA1` (default),
//!   `SHA256` or `SHA512`. `digits` is [`URI_MIN_DIGITS`]–[`URI_MAX_DIGITS`] (default
//!   [`URI_DEFAULT_DIGITS`]). `period` is 10–300 seconds (default
//!   [`URI_DEFAULT_PERIOD`]). Numbers are plain ASCII decimal (no sign, no spaces).
//! - `counter` is required for `hotp` and rejected for `totp`. A `period` on an
//!   `hotp` URI is validated and then ignored (some exporters always write it).
//! - A known parameter given twice is an error; unknown parameters (`image`,
//!   `color`, …) are ignored, but must still be well percent-encoded.
//!
//! Error messages never contain the secret or the URI; they name only the
//! field or parameter at fault.

pub mod migration;
mod otpauth;

use core::fmt;

use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

use crate::card::{Card, CardError, CardId, MAX_LABEL_CHARS, OtpToken, TokenMode};
use crate::otp::Algorithm;
use crate::pin::PinKind;
use crate::secret::RandomnessUnavailable;

pub use migration::parse_migration;
pub use otpauth::{parse_otpauth, to_otpauth};

/// The longest `otpauth://` URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 2048;
/// The longest `otpauth-migration://` URI accepted, in bytes (room for
/// [`MAX_MIGRATION_ENTRIES`] typical accounts).
pub const MAX_MIGRATION_URI_LEN: usize = 256 * 1024;
/// The most accounts one migration URI may carry.
pub const MAX_MIGRATION_ENTRIES: usize = 1000;
/// The shortest secret accepted, in bytes: 80 bits, a common real-world size
/// (RFC 4226 requires 128 and recommends 160).
pub const MIN_SECRET_LEN: usize = 10;
/// The fewest digits an imported token may have.
pub const URI_MIN_DIGITS: u8 = 6;
/// The most digits an imported token may have.
pub const URI_MAX_DIGITS: u8 = 8;
/// The digits of a token whose URI gives none.
pub const URI_DEFAULT_DIGITS: u8 = 6;
/// The period of a token whose URI gives none, and of every migration entry, in seconds.
pub const URI_DEFAULT_PERIOD: u64 = 30;

/// Why a URI could not be imported or a card exported.
///
/// Messages name the field or parameter at fault, never its value: neither
/// the secret nor the URI ever appears in `Display` or `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The input is longer than the limit; nothing else was looked at.
    #[error("the URI is longer than {max} bytes")]
    TooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// The scheme is not `otpauth`.
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    /// The token type (the URI's host) is not `totp` or `hotp`, or a migration
    /// entry's type is unspecified or unknown.
    #[error("the token type must be TOTP or HOTP")]
    UnsupportedType,
    /// The URI does not have the form `scheme://host/label?query`: no `//`, or a `#` fragment.
    #[error("the URI is malformed")]
    MalformedUri,
    /// A `%` that is not followed by two hexadecimal digits.
    #[error("malformed percent-encoding in the {field}")]
    InvalidPercentEncoding {
        /// The part of the URI: `label`, `secret`, `issuer`, `query`, …
        field: &'static str,
    },
    /// The percent-decoded bytes are not UTF-8.
    #[error("the {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The part of the URI.
        field: &'static str,
    },
    /// A control character (after decoding).
    #[error("the {field} contains a control character")]
    ControlCharacter {
        /// The part of the URI or entry.
        field: &'static str,
    },
    /// The label, or a migration entry's name, has no account name.
    #[error("the label has no account name")]
    EmptyAccount,
    /// The label's issuer prefix or the `issuer` parameter is empty.
    #[error("the issuer is empty")]
    EmptyIssuer,
    /// The issuer or the account contains a `:`: the label has more than one,
    /// or the `issuer` parameter (or migration field) has one. A colon can only
    /// separate the two in a label, so such names cannot be exported back.
    #[error("issuer and account names may not contain ':'")]
    InvalidLabel,
    /// The label's issuer prefix and the `issuer` parameter (or field) differ.
    #[error("the issuer in the label differs from the issuer parameter")]
    IssuerMismatch,
    /// There is no `secret` parameter.
    #[error("the secret parameter is missing")]
    MissingSecret,
    /// The secret is empty.
    #[error("the secret is empty")]
    EmptySecret,
    /// The secret is not canonical base32.
    #[error("the secret is not valid base32")]
    InvalidSecret,
    /// The decoded secret is shorter than [`MIN_SECRET_LEN`].
    #[error("the secret must be at least {min} bytes")]
    SecretTooShort {
        /// The minimum in bytes.
        min: usize,
    },
    /// The algorithm is not SHA1, SHA256 or SHA512.
    #[error("unknown algorithm (expected SHA1, SHA256 or SHA512)")]
    UnknownAlgorithm,
    /// A known algorithm that codes cannot use (a migration entry's MD5).
    #[error("the {name} algorithm is not supported")]
    UnsupportedAlgorithm {
        /// The algorithm's name.
        name: &'static str,
    },
    /// A numeric parameter is empty or holds anything but ASCII digits.
    #[error("the {parameter} parameter is not a decimal number")]
    InvalidNumber {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// `digits` (or a migration entry's digit count) is out of range.
    #[error("a code must have {min} to {max} digits")]
    DigitsOutOfRange {
        /// The fewest digits accepted.
        min: u8,
        /// The most digits accepted.
        max: u8,
    },
    /// `period` is out of range.
    #[error("the period must be {min} to {max} seconds")]
    PeriodOutOfRange {
        /// The shortest period accepted.
        min: u64,
        /// The longest period accepted.
        max: u64,
    },
    /// An HOTP URI without a `counter`.
    #[error("an HOTP token needs a counter parameter")]
    MissingCounter,
    /// The counter does not fit in 64 bits unsigned (or is negative).
    #[error("the counter is out of the 64-bit range")]
    CounterOutOfRange,
    /// A TOTP URI with a `counter`.
    #[error("a TOTP token has no counter parameter")]
    CounterNotAllowed,
    /// A known parameter appears more than once.
    #[error("the {parameter} parameter is given more than once")]
    DuplicateParameter {
        /// The parameter's name.
        parameter: &'static str,
    },
    /// The scheme is not `otpauth-migration` or the host is not `offline`.
    #[error("not an otpauth-migration://offline URI")]
    NotMigration,
    /// A migration URI without a `data` parameter, or with an empty one.
    #[error("the data parameter is missing")]
    MissingData,
    /// The `data` parameter is not standard base64.
    #[error("the data parameter is not valid base64")]
    InvalidBase64,
    /// The decoded `data` is not a migration payload (protobuf).
    #[error("the data parameter is not a valid migration payload")]
    InvalidPayload,
    /// The migration payload holds no accounts.
    #[error("the migration payload holds no accounts")]
    NoEntries,
    /// The migration payload holds more than [`MAX_MIGRATION_ENTRIES`] accounts.
    #[error("the migration payload holds more than {max} accounts")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// One account of a migration payload is invalid; nothing was imported.
    #[error("account at index {index} (counting from 0): {error}")]
    Entry {
        /// The account's index in the payload, counting from 0.
        index: usize,
        /// What is wrong with it.
        error: Box<ImportError>,
    },
    /// The card's secret may not leave the app.
    #[error("this card's secret may not leave the app")]
    NotExportable,
    /// One PIN slot of a bank card cannot be written as an `otpauth://` URI
    /// that imports back (e.g. a 4-digit first PIN); nothing was exported.
    #[error("the {kind} PIN cannot be exported: {error}")]
    Slot {
        /// The PIN slot.
        kind: PinKind,
        /// Why.
        error: Box<ImportError>,
    },
    /// The card could not be made or its key derived.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The operating system's random generator failed (drawing the card's id).
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
}

/// A token read from a URI, with the label an app shows for it.
///
/// `Debug` and `Display` never show the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedToken {
    /// `Issuer (account)`, or the account alone; at most
    /// [`MAX_LABEL_CHARS`] characters (a longer one is cut and ends in `…`).
    pub label: String,
    /// The token: secret, algorithm, digits, mode, issuer and account.
    pub token: OtpToken,
}

impl ImportedToken {
    /// A card holding this token, labelled [`ImportedToken::label`].
    ///
    /// # Errors
    /// [`ImportError::Randomness`] if the OS random generator fails (the
    /// import already checked everything [`Card::token`] checks).
    pub fn into_card(self) -> Result<Card, ImportError> {
        Ok(Card::token(CardId::random()?, &self.label, self.token)?)
    }
}

impl fmt::Display for ImportedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.token;
        match t.mode {
            TokenMode::Totp { period } => write!(
                f,
                "{}: TOTP, {}, {} digits, {period} s",
                self.label, t.algorithm, t.digits
            ),
            TokenMode::Hotp { counter } => write!(
                f,
                "{}: HOTP, {}, {} digits, counter {counter}",
                self.label, t.algorithm, t.digits
            ),
        }
    }
}

/// Checks that every `%` in `raw` starts a `%XX` escape.
fn check_escapes(raw: &str, field: &'static str) -> Result<(), ImportError> {
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let well_formed = matches!(
                (bytes.next(), bytes.next()),
                (Some(hi), Some(lo)) if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit()
            );
            if !well_formed {
                return Err(ImportError::InvalidPercentEncoding { field });
            }
        }
    }
    Ok(())
}

/// Percent-decodes one URI component into a zeroizing string: malformed
/// escapes, invalid UTF-8 and control characters are errors.
fn decode_component(raw: &str, field: &'static str) -> Result<Zeroizing<String>, ImportError> {
    check_escapes(raw, field)?;
    // Decoding never lengthens the text: no reallocation leaves a stray copy.
    let mut bytes = Zeroizing::new(Vec::with_capacity(raw.len()));
    bytes.extend(percent_decode_str(raw));
    let text = core::str::from_utf8(&bytes).map_err(|_| ImportError::InvalidUtf8 { field })?;
    check_printable(text, field)?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Rejects control characters.
fn check_printable(text: &str, field: &'static str) -> Result<(), ImportError> {
    if text.chars().any(char::is_control) {
        return Err(ImportError::ControlCharacter { field });
    }
    Ok(())
}

/// The raw `(name, value)` pairs of a query; empty pairs (`&&`) are skipped
/// and a name without `=` has an empty value.
fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Stores the first value of a known parameter; a second one is an error.
fn set_once<'a>(
    slot: &mut Option<&'a str>,
    value: &'a str,
    parameter: &'static str,
) -> Result<(), ImportError> {
    if slot.replace(value).is_some() {
        return Err(ImportError::DuplicateParameter { parameter });
    }
    Ok(())
}

/// A plain ASCII decimal number; `Ok(None)` when it does not fit in 64 bits.
fn parse_decimal(text: &str, parameter: &'static str) -> Result<Option<u64>, ImportError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ImportError::InvalidNumber { parameter });
    }
    Ok(text.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    }))
}

/// Splits a decoded label into its issuer prefix and account, trimmed.
fn split_label(label: &str) -> Result<(Option<&str>, &str), ImportError> {
    let (issuer, account) = match label.split_once(':') {
        Some((issuer, account)) => {
            let issuer = issuer.trim();
            if issuer.is_empty() {
                return Err(ImportError::EmptyIssuer);
            }
            (Some(issuer), account.trim())
        }
        None => (None, label.trim()),
    };
    if account.is_empty() {
        return Err(ImportError::EmptyAccount);
    }
    if account.contains(':') {
        return Err(ImportError::InvalidLabel);
    }
    Ok((issuer, account))
}

/// What a token is, before its label is worked out.
struct TokenParts {
    secret: crate::secret::SecretBytes,
    algorithm: Algorithm,
    digits: u8,
    mode: TokenMode,
}

/// Builds the token from its decoded label (or migration name) and issuer
/// parameter (or field), which must agree.
fn assemble(
    label: &str,
    issuer: Option<&str>,
    parts: TokenParts,
) -> Result<ImportedToken, ImportError> {
    let (label_issuer, account) = split_label(label)?;
    let issuer = match issuer.map(str::trim) {
        Some("") => return Err(ImportError::EmptyIssuer),
        Some(param) => {
            if param.contains(':') {
                return Err(ImportError::InvalidLabel);
            }
            if label_issuer.is_some_and(|prefix| prefix != param) {
                return Err(ImportError::IssuerMismatch);
            }
            Some(param)
        }
        None => label_issuer,
    };
    Ok(ImportedToken {
        label: display_label(issuer, account),
        token: OtpToken {
            secret: parts.secret,
            algorithm: parts.algorithm,
            digits: parts.digits,
            mode: parts.mode,
            issuer: issuer.map(str::to_owned),
            account: account.to_owned(),
        },
    })
}

/// `Issuer (account)` or `account`, cut to [`MAX_LABEL_CHARS`] characters.
fn display_label(issuer: Option<&str>, account: &str) -> String {
    let full = match issuer {
        Some(issuer) => format!("{issuer} ({account})"),
        None => account.to_owned(),
    };
    if full.chars().count() <= MAX_LABEL_CHARS {
        return full;
    }
    let mut short: String = full.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

/// Checks a secret's decoded length.
fn check_secret_len(len: usize) -> Result<(), ImportError> {
    match len {
        0 => Err(ImportError::EmptySecret),
        n if n < MIN_SECRET_LEN => Err(ImportError::SecretTooShort {
            min: MIN_SECRET_LEN,
        }),
        _ => Ok(()),
    }
}

/// The error for digits out of [`URI_MIN_DIGITS`]–[`URI_MAX_DIGITS`].
fn digits_out_of_range() -> ImportError {
    ImportError::DigitsOutOfRange {
        min: URI_MIN_DIGITS,
        max: URI_MAX_DIGITS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_must_be_complete() {
        for good in ["", "abc", "%20", "a%3Ab", "%e2%80%8c"] {
            assert_eq!(check_escapes(good, "label"), Ok(()), "{good}");
        }
        for bad in ["%", "%2", "%G1", "%1G", "a%", "%%20", "%2%20", "%-1", "%+1"] {
            assert_eq!(
                check_escapes(bad, "label"),
                Err(ImportError::InvalidPercentEncoding { field: "label" }),
                "{bad}"
            );
        }
    }

    #[test]
    fn decoding_checks_utf8_and_controls() {
        assert_eq!(decode_component("a%20b", "x").unwrap().as_str(), "a b");
        assert_eq!(decode_component("a+b", "x").unwrap().as_str(), "a+b");
        assert_eq!(decode_component("%D8%A8", "x").unwrap().as_str(), "ب");
        assert_eq!(
            decode_component("%FF", "x"),
            Err(ImportError::InvalidUtf8 { field: "x" })
        );
        assert_eq!(
            decode_component("%D8", "x"),
            Err(ImportError::InvalidUtf8 { field: "x" })
        );
        for bad in ["%00", "%0A", "a\tb", "%7F", "%C2%85"] {
            assert_eq!(
                decode_component(bad, "x"),
                Err(ImportError::ControlCharacter { field: "x" }),
                "{bad}"
            );
        }
    }

    #[test]
    fn decimals_are_plain_and_overflow_is_none() {
        assert_eq!(parse_decimal("0", "p"), Ok(Some(0)));
        assert_eq!(parse_decimal("0006", "p"), Ok(Some(6)));
        assert_eq!(
            parse_decimal("18446744073709551615", "p"),
            Ok(Some(u64::MAX))
        );
        assert_eq!(parse_decimal("18446744073709551616", "p"), Ok(None));
        assert_eq!(parse_decimal("99999999999999999999999999", "p"), Ok(None));
        for bad in ["", "-1", "+1", " 1", "1 ", "1e3", "0x10", "۶", "1.0"] {
            assert_eq!(
                parse_decimal(bad, "p"),
                Err(ImportError::InvalidNumber { parameter: "p" }),
                "{bad}"
            );
        }
    }

    #[test]
    fn labels_split_and_trim() {
        assert_eq!(split_label("a:b"), Ok((Some("a"), "b")));
        assert_eq!(split_label("ACME Co:  john"), Ok((Some("ACME Co"), "john")));
        assert_eq!(split_label(" john "), Ok((None, "john")));
        assert_eq!(split_label(""), Err(ImportError::EmptyAccount));
        assert_eq!(split_label("  "), Err(ImportError::EmptyAccount));
        assert_eq!(split_label("a:"), Err(ImportError::EmptyAccount));
        assert_eq!(split_label("a: "), Err(ImportError::EmptyAccount));
        assert_eq!(split_label(":b"), Err(ImportError::EmptyIssuer));
        assert_eq!(split_label("a:b:c"), Err(ImportError::InvalidLabel));
    }

    #[test]
    fn display_labels_fit_a_card() {
        assert_eq!(display_label(Some("ACME"), "bob"), "ACME (bob)");
        assert_eq!(display_label(None, "bob"), "bob");
        let long = display_label(Some(&"i".repeat(40)), &"a".repeat(40));
        assert_eq!(long.chars().count(), MAX_LABEL_CHARS);
        assert!(long.ends_with('…'));
        let spaced = display_label(None, &format!("{} {}", "a".repeat(62), "b".repeat(10)));
        assert_eq!(spaced, format!("{}…", "a".repeat(62)));
        let exact = "ب".repeat(MAX_LABEL_CHARS);
        assert_eq!(display_label(None, &exact), exact);
    }

    /// Every variant, so a new one must be added here (the match has no wildcard).
    fn every_variant() -> Vec<ImportError> {
        let all = vec![
            ImportError::TooLong { max: MAX_URI_LEN },
            ImportError::NotOtpauth,
            ImportError::UnsupportedType,
            ImportError::MalformedUri,
            ImportError::InvalidPercentEncoding { field: "label" },
            ImportError::InvalidUtf8 { field: "label" },
            ImportError::ControlCharacter { field: "label" },
            ImportError::EmptyAccount,
            ImportError::EmptyIssuer,
            ImportError::InvalidLabel,
            ImportError::IssuerMismatch,
            ImportError::MissingSecret,
            ImportError::EmptySecret,
            ImportError::InvalidSecret,
            ImportError::SecretTooShort {
                min: MIN_SECRET_LEN,
            },
            ImportError::UnknownAlgorithm,
            ImportError::UnsupportedAlgorithm { name: "MD5" },
            ImportError::InvalidNumber {
                parameter: "digits",
            },
            digits_out_of_range(),
            ImportError::PeriodOutOfRange { min: 10, max: 300 },
            ImportError::MissingCounter,
            ImportError::CounterOutOfRange,
            ImportError::CounterNotAllowed,
            ImportError::DuplicateParameter {
                parameter: "secret",
            },
            ImportError::NotMigration,
            ImportError::MissingData,
            ImportError::InvalidBase64,
            ImportError::InvalidPayload,
            ImportError::NoEntries,
            ImportError::TooManyEntries {
                max: MAX_MIGRATION_ENTRIES,
            },
            ImportError::Entry {
                index: 3,
                error: Box::new(ImportError::EmptySecret),
            },
            ImportError::NotExportable,
            ImportError::Slot {
                kind: PinKind::First,
                error: Box::new(digits_out_of_range()),
            },
            ImportError::Card(CardError::KeyDerivation),
            ImportError::Randomness(RandomnessUnavailable),
        ];
        for e in &all {
            match e {
                ImportError::TooLong { .. }
                | ImportError::NotOtpauth
                | ImportError::UnsupportedType
                | ImportError::MalformedUri
                | ImportError::InvalidPercentEncoding { .. }
                | ImportError::InvalidUtf8 { .. }
                | ImportError::ControlCharacter { .. }
                | ImportError::EmptyAccount
                | ImportError::EmptyIssuer
                | ImportError::InvalidLabel
                | ImportError::IssuerMismatch
                | ImportError::MissingSecret
                | ImportError::EmptySecret
                | ImportError::InvalidSecret
                | ImportError::SecretTooShort { .. }
                | ImportError::UnknownAlgorithm
                | ImportError::UnsupportedAlgorithm { .. }
                | ImportError::InvalidNumber { .. }
                | ImportError::DigitsOutOfRange { .. }
                | ImportError::PeriodOutOfRange { .. }
                | ImportError::MissingCounter
                | ImportError::CounterOutOfRange
                | ImportError::CounterNotAllowed
                | ImportError::DuplicateParameter { .. }
                | ImportError::NotMigration
                | ImportError::MissingData
                | ImportError::InvalidBase64
                | ImportError::InvalidPayload
                | ImportError::NoEntries
                | ImportError::TooManyEntries { .. }
                | ImportError::Entry { .. }
                | ImportError::NotExportable
                | ImportError::Slot { .. }
                | ImportError::Card(_)
                | ImportError::Randomness(_) => {}
            }
        }
        all
    }

    /// No variant carries text from the input, only static names and numbers,
    /// so no message can hold a secret; check the messages read well.
    #[test]
    fn every_error_has_a_short_distinct_message() {
        let all = every_variant();
        let messages: std::collections::HashSet<String> =
            all.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), all.len());
        for e in &all {
            let (shown, debug) = (e.to_string(), format!("{e:?}"));
            assert!(!shown.is_empty() && shown.len() < 100, "{shown}");
            assert!(!debug.contains("otpauth") && !shown.contains("secret="));
        }
        assert_eq!(
            all[all.len() - 5].to_string(),
            "account at index 3 (counting from 0): the secret is empty"
        );
    }

    #[test]
    fn query_pairs_are_raw() {
        let pairs: Vec<_> = query_pairs("a=1&&b&c=x=y&=z").collect();
        assert_eq!(pairs, [("a", "1"), ("b", ""), ("c", "x=y"), ("", "z")]);
    }
}
