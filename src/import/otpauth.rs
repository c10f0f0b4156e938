//! `otpauth://TYPE/LABEL?PARAMETERS`: Google's Key Uri Format, both ways.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

use super::{
    ImportError, ImportedToken, MAX_URI_LEN, TokenParts, URI_DEFAULT_DIGITS, URI_DEFAULT_PERIOD,
    URI_MAX_DIGITS, URI_MIN_DIGITS, assemble, check_escapes, check_secret_len, decode_component,
    digits_out_of_range, parse_decimal, query_pairs, set_once,
};
use crate::card::derive::{KeyPurpose, derive_key};
use crate::card::{Card, CardError, TokenMode};
use crate::otp::{self, Algorithm};
use crate::secret::{Base32Error, SecretBytes};

/// Everything but RFC 3986's unreserved characters is escaped on export.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The raw (still percent-encoded) values of the parameters this parser knows.
#[derive(Default)]
struct RawParams<'a> {
    secret: Option<&'a str>,
    issuer: Option<&'a str>,
    algorithm: Option<&'a str>,
    digits: Option<&'a str>,
    period: Option<&'a str>,
    counter: Option<&'a str>,
}

impl<'a> RawParams<'a> {
    fn parse(query: &'a str) -> Result<Self, ImportError> {
        let mut params = Self::default();
        for (raw_name, raw_value) in query_pairs(query) {
            let name = decode_component(raw_name, "parameter name")?;
            let (slot, parameter) = match name.to_ascii_lowercase().as_str() {
                "secret" => (&mut params.secret, "secret"),
                "issuer" => (&mut params.issuer, "issuer"),
                "algorithm" => (&mut params.algorithm, "algorithm"),
                "digits" => (&mut params.digits, "digits"),
                "period" => (&mut params.period, "period"),
                "counter" => (&mut params.counter, "counter"),
                _ => {
                    // Ignored, but the URI as a whole must still be well formed.
                    check_escapes(raw_value, "query")?;
                    continue;
                }
            };
            set_once(slot, raw_value, parameter)?;
        }
        Ok(params)
    }
}

/// Parses an `otpauth://totp/…` or `otpauth://hotp/…` URI (Google's Key Uri
/// Format) into a token and the label to show for it.
///
/// The rules are in the [module documentation](super#rules).
///
/// ```
/// use dynpin::card::TokenMode;
/// use dynpin::import::{parse_otpauth, ImportError};
///
/// let t = parse_otpauth("otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQ&counter=7")?;
/// assert_eq!(t.label, "alice");
/// assert_eq!(t.token.mode, TokenMode::Hotp { counter: 7 });
/// assert_eq!(
///     parse_otpauth("otpauth://totp/%2?secret=s").unwrap_err(),
///     ImportError::InvalidPercentEncoding { field: "label" },
/// );
/// # Ok::<(), ImportError>(())
/// ```
///
/// # Errors
/// An [`ImportError`] naming the first rule broken.
pub fn parse_otpauth(uri: &str) -> Result<ImportedToken, ImportError> {
    if uri.len() > MAX_URI_LEN {
        return Err(ImportError::TooLong { max: MAX_URI_LEN });
    }
    let uri = uri.trim();
    let (scheme, rest) = uri.split_once(':').ok_or(ImportError::NotOtpauth)?;
    if !scheme.eq_ignore_ascii_case("otpauth") {
        return Err(ImportError::NotOtpauth);
    }
    let rest = rest.strip_prefix("//").ok_or(ImportError::MalformedUri)?;
    if rest.contains('#') {
        return Err(ImportError::MalformedUri);
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (kind, raw_label) = path.split_once('/').unwrap_or((path, ""));
    let time_based = if kind.eq_ignore_ascii_case("totp") {
        true
    } else if kind.eq_ignore_ascii_case("hotp") {
        false
    } else {
        return Err(ImportError::UnsupportedType);
    };
    let label = decode_component(raw_label, "label")?;
    let params = RawParams::parse(query)?;

    let secret = parse_secret(params.secret)?;
    let issuer = params
        .issuer
        .map(|raw| decode_component(raw, "issuer"))
        .transpose()?;
    let algorithm = match params.algorithm {
        Some(raw) => parse_algorithm(&decode_component(raw, "algorithm")?)?,
        None => Algorithm::Sha1,
    };
    let digits = match params.digits {
        Some(raw) => parse_digits(&decode_component(raw, "digits")?)?,
        None => URI_DEFAULT_DIGITS,
    };
    let period = match params.period {
        Some(raw) => parse_period(&decode_component(raw, "period")?)?,
        None => URI_DEFAULT_PERIOD,
    };
    let mode = match (time_based, params.counter) {
        (true, None) => TokenMode::Totp { period },
        (true, Some(_)) => return Err(ImportError::CounterNotAllowed),
        (false, None) => return Err(ImportError::MissingCounter),
        (false, Some(raw)) => TokenMode::Hotp {
            counter: parse_decimal(&decode_component(raw, "counter")?, "counter")?
                .ok_or(ImportError::CounterOutOfRange)?,
        },
    };
    let parts = TokenParts {
        secret,
        algorithm,
        digits,
        mode,
    };
    assemble(&label, issuer.as_ref().map(|i| i.as_str()), parts)
}

fn parse_secret(raw: Option<&str>) -> Result<SecretBytes, ImportError> {
    let text = decode_component(raw.ok_or(ImportError::MissingSecret)?, "secret")?;
    let secret = SecretBytes::from_base32(&text).map_err(|e| match e {
        Base32Error::Empty => ImportError::EmptySecret,
        _ => ImportError::InvalidSecret,
    })?;
    check_secret_len(secret.len())?;
    Ok(secret)
}

fn parse_algorithm(name: &str) -> Result<Algorithm, ImportError> {
    Algorithm::ALL
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
        .ok_or(ImportError::UnknownAlgorithm)
}

fn parse_digits(text: &str) -> Result<u8, ImportError> {
    parse_decimal(text, "digits")?
        .and_then(|d| u8::try_from(d).ok())
        .filter(|d| (URI_MIN_DIGITS..=URI_MAX_DIGITS).contains(d))
        .ok_or_else(digits_out_of_range)
}

fn parse_period(text: &str) -> Result<u64, ImportError> {
    parse_decimal(text, "period")?
        .filter(|p| (otp::MIN_PERIOD..=otp::MAX_PERIOD).contains(p))
        .ok_or(ImportError::PeriodOutOfRange {
            min: otp::MIN_PERIOD,
            max: otp::MAX_PERIOD,
        })
}

/// Writes an exportable card as `otpauth://` URIs: one for a token card, one
/// per PIN slot for a bank card.
///
/// A token card's URI carries its issuer, account, algorithm, digits, period
/// or counter, and secret (unpadded base32). A bank card's URIs carry each
/// slot's derived key (see [`crate::card::derive`]), with the bank's name as
/// issuer (none if the bank is unknown) and `<card label> (first PIN)` or
/// `(second PIN)` as account. Every URI is checked to import back with
/// [`parse_otpauth`], so nothing is exported that this crate — or an app
/// following the same rules — would refuse or read differently.
///
/// ```
/// use dynpin::card::{Card, CardId, OtpToken, TokenMode};
/// use dynpin::import::{parse_otpauth, to_otpauth};
/// use dynpin::otp::Algorithm;
/// use dynpin::secret::SecretBytes;
///
/// let token = OtpToken {
///     secret: SecretBytes::from_slice(b"12345678901234567890"),
///     algorithm: Algorithm::Sha1,
///     digits: 6,
///     mode: TokenMode::Totp { period: 30 },
///     issuer: Some("ACME Co".into()),
///     account: "john@example.com".into(),
/// };
/// let card = Card::token(CardId::random()?, "ACME", token.clone())?;
/// let uris = to_otpauth(&card)?;
/// assert_eq!(
///     uris,
///     ["otpauth://totp/ACME%20Co:john%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
///       &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"]
/// );
/// assert_eq!(parse_otpauth(&uris[0])?.token, token);
/// # Ok::<(), dynpin::import::ImportError>(())
/// ```
///
/// # Errors
/// [`ImportError::NotExportable`] unless [`Card::exportable`]. For a token,
/// the [`ImportError`] its URI would fail import with (e.g.
/// [`ImportError::DigitsOutOfRange`] for 4 or 10 digits, [`ImportError::InvalidLabel`]
/// for a `:` in the account); for a bank card, the same wrapped in
/// [`ImportError::Slot`] — a 4-digit first PIN cannot be exported, since
/// authenticator apps would show it with 6 digits. [`ImportError::TooLong`]
/// when very long names would make the URI longer than [`MAX_URI_LEN`]
/// (escaping can triple a name's length). [`ImportError::Card`] if key
/// derivation fails.
pub fn to_otpauth(card: &Card) -> Result<Vec<String>, ImportError> {
    if !card.exportable() {
        return Err(ImportError::NotExportable);
    }
    if let Some(token) = card.as_token() {
        let uri = token_uri(&Export {
            issuer: token.issuer.as_deref(),
            account: &token.account,
            secret: &token.secret,
            algorithm: token.algorithm,
            digits: token.digits,
            mode: token.mode,
        })?;
        return Ok(vec![uri]);
    }
    let issuer = card.bank().map(|bank| bank.name());
    card.pin_kinds()
        .into_iter()
        .map(|kind| {
            let policy = card.policy(kind).ok_or(CardError::NoSuchPin(kind))?;
            let purpose = KeyPurpose::for_pin(kind).ok_or(CardError::NoSuchPin(kind))?;
            let key = derive_key(card.secret(), purpose, policy.algorithm)?;
            let account = format!("{} ({} PIN)", card.label(), kind);
            token_uri(&Export {
                issuer,
                account: &account,
                secret: &key,
                algorithm: policy.algorithm,
                digits: policy.digits,
                mode: TokenMode::Totp {
                    period: policy.period,
                },
            })
            .map_err(|error| ImportError::Slot {
                kind,
                error: Box::new(error),
            })
        })
        .collect()
}

/// One URI's worth of token.
struct Export<'a> {
    issuer: Option<&'a str>,
    account: &'a str,
    secret: &'a SecretBytes,
    algorithm: Algorithm,
    digits: u8,
    mode: TokenMode,
}

/// Writes the URI and checks that it imports back.
fn token_uri(t: &Export<'_>) -> Result<String, ImportError> {
    let (kind, moving) = match t.mode {
        TokenMode::Totp { period } => ("totp", format!("period={period}")),
        TokenMode::Hotp { counter } => ("hotp", format!("counter={counter}")),
    };
    let account = utf8_percent_encode(t.account, COMPONENT);
    // Room for the worst case (every byte escaped, base32 < 2 chars per byte),
    // so no reallocation leaves an unwiped copy of the secret behind.
    let capacity =
        128 + 3 * t.account.len() + 6 * t.issuer.map_or(0, str::len) + 2 * t.secret.len();
    let mut uri = Zeroizing::new(String::with_capacity(capacity));
    uri.push_str("otpauth://");
    uri.push_str(kind);
    uri.push('/');
    let mut issuer_param = String::new();
    if let Some(issuer) = t.issuer {
        let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
        uri.push_str(&issuer);
        uri.push(':');
        issuer_param = format!("&issuer={issuer}");
    }
    uri.extend(account);
    uri.push_str("?secret=");
    uri.push_str(&t.secret.to_base32());
    uri.push_str(&issuer_param);
    uri.push_str("&algorithm=");
    uri.push_str(t.algorithm.name());
    uri.push_str(&format!("&digits={}&", t.digits));
    uri.push_str(&moving);
    // Import it back: it must pass every rule and name the same issuer and
    // account (an account `a:b` without issuer would come back as issuer `a`).
    let back = parse_otpauth(&uri)?.token;
    if back.issuer.as_deref() != t.issuer.map(str::trim) || back.account != t.account.trim() {
        return Err(ImportError::InvalidLabel);
    }
    Ok(core::mem::take(&mut *uri))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{CardId, CardRef, LastFour, OtpToken, PinPolicy};
    use crate::pin::PinKind;

    #[test]
    fn parameters_are_collected_once() {
        let p = RawParams::parse("SECRET=a&Issuer=b&image=x%20y&color=&counter=3").unwrap();
        assert_eq!(
            (p.secret, p.issuer, p.counter, p.digits),
            (Some("a"), Some("b"), Some("3"), None)
        );
        assert_eq!(
            RawParams::parse("secret=a&secret=a").err(),
            Some(ImportError::DuplicateParameter {
                parameter: "secret"
            })
        );
        assert_eq!(
            RawParams::parse("%64igits=6&digits=6").err(),
            Some(ImportError::DuplicateParameter {
                parameter: "digits"
            })
        );
        assert_eq!(
            RawParams::parse("image=%zz").err(),
            Some(ImportError::InvalidPercentEncoding { field: "query" })
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_digits("6"), Ok(6));
        assert_eq!(parse_digits("08"), Ok(8));
        for bad in ["5", "9", "10", "0", "256", "262", "99999999999999999999"] {
            assert_eq!(parse_digits(bad), Err(digits_out_of_range()), "{bad}");
        }
        assert_eq!(parse_period("10"), Ok(10));
        assert_eq!(parse_period("300"), Ok(300));
        for bad in ["0", "9", "301", "18446744073709551616"] {
            assert!(
                matches!(parse_period(bad), Err(ImportError::PeriodOutOfRange { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn algorithms_by_name_only() {
        assert_eq!(parse_algorithm("sha256"), Ok(Algorithm::Sha256));
        assert_eq!(parse_algorithm("Sha512"), Ok(Algorithm::Sha512));
        for bad in ["SHA-1", "MD5", "", "SHA1 ", "SHA224"] {
            assert_eq!(parse_algorithm(bad), Err(ImportError::UnknownAlgorithm));
        }
    }

    #[test]
    fn a_bank_card_with_a_four_digit_pin_is_refused_per_slot() {
        let mut card = Card::bank_card(
            CardId::random().unwrap(),
            "Salary",
            CardRef::new(628_023, LastFour::parse("0042").unwrap()).unwrap(),
            SecretBytes::from(vec![9; 32]),
            Some(PinPolicy::first_pin()),
            Some(PinPolicy::second_pin()),
        )
        .unwrap();
        assert_eq!(to_otpauth(&card), Err(ImportError::NotExportable));
        card.set_exportable(true);
        assert_eq!(
            to_otpauth(&card),
            Err(ImportError::Slot {
                kind: PinKind::First,
                error: Box::new(digits_out_of_range())
            })
        );
    }

    #[test]
    fn exported_labels_are_escaped() {
        let token = OtpToken {
            secret: SecretBytes::from(vec![1; 10]),
            algorithm: Algorithm::Sha512,
            digits: 8,
            mode: TokenMode::Hotp { counter: u64::MAX },
            issuer: None,
            account: "a b&c=d?e#f%g/ب".into(),
        };
        let card = Card::token(CardId::random().unwrap(), "x", token.clone()).unwrap();
        let uris = to_otpauth(&card).unwrap();
        assert_eq!(
            uris,
            [
                "otpauth://hotp/a%20b%26c%3Dd%3Fe%23f%25g%2F%D8%A8?secret=AEAQCAIBAEAQCAIB\
              &algorithm=SHA512&digits=8&counter=18446744073709551615"
            ]
        );
        assert_eq!(parse_otpauth(&uris[0]).unwrap().token, token);
    }
}
