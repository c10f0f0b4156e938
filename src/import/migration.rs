//! Google Authenticator's export: `otpauth-migration://offline?data=…`.
//!
//! `data` is the percent-encoded standard base64 of a protobuf
//! [`MigrationPayload`]; the message types here follow Google Authenticator's
//! schema and can also be used to build such URIs:
//!
//! ```
//! use data_encoding::BASE64;
//! use dynpin::import::migration::{MigrationPayload, OtpParameters, OtpType};
//! use dynpin::import::parse_migration;
//! use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
//! use prost::Message;
//!
//! let payload = MigrationPayload {
//!     otp_parameters: vec![OtpParameters {
//!         secret: b"12345678901234567890".to_vec(),
//!         name: "ACME Co:john".into(),
//!         issuer: "ACME Co".into(),
//!         otp_type: OtpType::Totp as i32,
//!         ..Default::default()
//!     }],
//!     version: 1,
//!     batch_size: 1,
//!     ..Default::default()
//! };
//! let data = BASE64.encode(&payload.encode_to_vec());
//! let data = utf8_percent_encode(&data, NON_ALPHANUMERIC);
//! let uri = format!("otpauth-migration://offline?data={data}");
//! let tokens = parse_migration(&uri)?;
//! assert_eq!(tokens[0].label, "ACME Co (john)");
//! # Ok::<(), dynpin::import::ImportError>(())
//! ```

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use super::{
    ImportError, ImportedToken, MAX_MIGRATION_ENTRIES, MAX_MIGRATION_URI_LEN, TokenParts,
    URI_DEFAULT_PERIOD, assemble, check_escapes, check_printable, check_secret_len,
    decode_component, digits_out_of_range, query_pairs, set_once,
};
use crate::card::TokenMode;
use crate::otp;
use crate::secret::SecretBytes;

/// A batch of accounts, as Google Authenticator exports them (one QR code each).
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct MigrationPayload {
    /// The accounts.
    #[prost(message, repeated, tag = "1")]
    pub otp_parameters: Vec<OtpParameters>,
    /// The export format's version (Google Authenticator writes 1).
    #[prost(int32, tag = "2")]
    pub version: i32,
    /// How many QR codes the whole export has.
    #[prost(int32, tag = "3")]
    pub batch_size: i32,
    /// Which of them this is, from 0.
    #[prost(int32, tag = "4")]
    pub batch_index: i32,
    /// An id shared by the QR codes of one export.
    #[prost(int32, tag = "5")]
    pub batch_id: i32,
}

/// One account of a [`MigrationPayload`]. `Debug` never shows its secret.
///
/// It is a plain wire struct (no `Drop`, so it can be built with `..Default::default()`):
/// [`parse_migration`] wipes every secret it decodes; code that builds one
/// itself should wipe `secret` when done.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct OtpParameters {
    /// The raw secret bytes (not base32).
    #[prost(bytes = "vec", tag = "1")]
    pub secret: Vec<u8>,
    /// The label: `issuer:account` or `account`.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The issuer, or empty.
    #[prost(string, tag = "3")]
    pub issuer: String,
    /// An [`Algorithm`] value.
    #[prost(enumeration = "Algorithm", tag = "4")]
    pub algorithm: i32,
    /// A [`DigitCount`] value.
    #[prost(enumeration = "DigitCount", tag = "5")]
    pub digits: i32,
    /// An [`OtpType`] value (`type` in Google's schema).
    #[prost(enumeration = "OtpType", tag = "6")]
    pub otp_type: i32,
    /// The HOTP counter.
    #[prost(int64, tag = "7")]
    pub counter: i64,
}

impl fmt::Debug for MigrationPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationPayload")
            .field("otp_parameters", &self.otp_parameters)
            .field("version", &self.version)
            .field("batch_size", &self.batch_size)
            .field("batch_index", &self.batch_index)
            .field("batch_id", &self.batch_id)
            .finish()
    }
}

impl fmt::Debug for OtpParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpParameters")
            .field(
                "secret",
                &format_args!("{} bytes, redacted", self.secret.len()),
            )
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("otp_type", &self.otp_type)
            .field("counter", &self.counter)
            .finish()
    }
}

/// The hash of a migration entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Algorithm {
    /// Not given: SHA-1.
    Unspecified = 0,
    /// HMAC-SHA-1.
    Sha1 = 1,
    /// HMAC-SHA-256.
    Sha256 = 2,
    /// HMAC-SHA-512.
    Sha512 = 3,
    /// HMAC-MD5: not supported.
    Md5 = 4,
}

/// The code length of a migration entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DigitCount {
    /// Not given: six.
    Unspecified = 0,
    /// Six digits.
    Six = 1,
    /// Eight digits.
    Eight = 2,
}

/// The kind of a migration entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OtpType {
    /// Not given: rejected.
    Unspecified = 0,
    /// Counter-based.
    Hotp = 1,
    /// Time-based, 30-second steps (the format has no period).
    Totp = 2,
}

/// Parses Google Authenticator's `otpauth-migration://offline?data=…` export
/// into its tokens, in order.
///
/// Each entry is checked as [`super::parse_otpauth`] checks a URI (secret of
/// at least [`super::MIN_SECRET_LEN`] bytes, `issuer:account` name agreeing
/// with the issuer field, no control characters); TOTP entries get 30-second
/// steps. One bad entry fails the whole import with [`ImportError::Entry`]
/// naming its index, so an export is never imported in part.
///
/// # Errors
/// [`ImportError::TooLong`] past [`MAX_MIGRATION_URI_LEN`] bytes,
/// [`ImportError::NotMigration`] for another scheme or host,
/// [`ImportError::MissingData`], [`ImportError::InvalidBase64`],
/// [`ImportError::InvalidPayload`], [`ImportError::NoEntries`],
/// [`ImportError::TooManyEntries`] past [`MAX_MIGRATION_ENTRIES`],
/// [`ImportError::Entry`], or a percent-encoding error.
pub fn parse_migration(uri: &str) -> Result<Vec<ImportedToken>, ImportError> {
    use prost::Message;

    if uri.len() > MAX_MIGRATION_URI_LEN {
        return Err(ImportError::TooLong {
            max: MAX_MIGRATION_URI_LEN,
        });
    }
    let uri = uri.trim();
    let (scheme, rest) = uri.split_once(':').ok_or(ImportError::NotMigration)?;
    if !scheme.eq_ignore_ascii_case("otpauth-migration") {
        return Err(ImportError::NotMigration);
    }
    let rest = rest.strip_prefix("//").ok_or(ImportError::MalformedUri)?;
    if rest.contains('#') {
        return Err(ImportError::MalformedUri);
    }
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.eq_ignore_ascii_case("offline") {
        return Err(ImportError::NotMigration);
    }
    let mut data = None;
    for (raw_name, raw_value) in query_pairs(query) {
        let name = decode_component(raw_name, "parameter name")?;
        if name.eq_ignore_ascii_case("data") {
            set_once(&mut data, raw_value, "data")?;
        } else {
            check_escapes(raw_value, "query")?;
        }
    }
    let data = decode_component(data.ok_or(ImportError::MissingData)?, "data")?;
    if data.is_empty() {
        return Err(ImportError::MissingData);
    }
    let bytes = decode_base64(&data)?;
    let mut payload =
        MigrationPayload::decode(bytes.as_slice()).map_err(|_| ImportError::InvalidPayload)?;
    match payload.otp_parameters.len() {
        0 => return Err(ImportError::NoEntries),
        n if n > MAX_MIGRATION_ENTRIES => {
            return Err(ImportError::TooManyEntries {
                max: MAX_MIGRATION_ENTRIES,
            });
        }
        _ => {}
    }
    let tokens = payload
        .otp_parameters
        .iter_mut()
        .enumerate()
        .map(|(index, entry)| {
            entry_token(entry).map_err(|error| ImportError::Entry {
                index,
                error: Box::new(error),
            })
        })
        .collect();
    // Entries after a failing one still hold their secrets.
    for entry in &mut payload.otp_parameters {
        entry.secret.zeroize();
    }
    tokens
}

/// Standard base64, padded or not, into a zeroizing buffer.
fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    crate::encoding::base64_decode(text)
        .map(Zeroizing::new)
        .ok_or(ImportError::InvalidBase64)
}

/// Checks one entry and takes its secret out.
fn entry_token(entry: &mut OtpParameters) -> Result<ImportedToken, ImportError> {
    let secret = SecretBytes::from(core::mem::take(&mut entry.secret));
    check_secret_len(secret.len())?;
    let algorithm = match Algorithm::try_from(entry.algorithm) {
        Ok(Algorithm::Unspecified | Algorithm::Sha1) => otp::Algorithm::Sha1,
        Ok(Algorithm::Sha256) => otp::Algorithm::Sha256,
        Ok(Algorithm::Sha512) => otp::Algorithm::Sha512,
        Ok(Algorithm::Md5) => return Err(ImportError::UnsupportedAlgorithm { name: "MD5" }),
        Err(_) => return Err(ImportError::UnknownAlgorithm),
    };
    let digits = match DigitCount::try_from(entry.digits) {
        Ok(DigitCount::Unspecified | DigitCount::Six) => 6,
        Ok(DigitCount::Eight) => 8,
        Err(_) => return Err(digits_out_of_range()),
    };
    let mode = match OtpType::try_from(entry.otp_type) {
        Ok(OtpType::Totp) => TokenMode::Totp {
            period: URI_DEFAULT_PERIOD,
        },
        Ok(OtpType::Hotp) => TokenMode::Hotp {
            counter: u64::try_from(entry.counter).map_err(|_| ImportError::CounterOutOfRange)?,
        },
        Ok(OtpType::Unspecified) | Err(_) => return Err(ImportError::UnsupportedType),
    };
    check_printable(&entry.name, "name")?;
    check_printable(&entry.issuer, "issuer")?;
    // proto3 cannot tell an empty issuer from none.
    let issuer = Some(entry.issuer.as_str()).filter(|i| !i.is_empty());
    let parts = TokenParts {
        secret,
        algorithm,
        digits,
        mode,
    };
    assemble(&entry.name, issuer, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn debug_redacts_the_secret() {
        let entry = OtpParameters {
            secret: b"very-secret-bytes".to_vec(),
            name: "bob".into(),
            ..Default::default()
        };
        let payload = MigrationPayload {
            otp_parameters: vec![entry],
            ..Default::default()
        };
        let dbg = format!("{payload:?} {payload:#?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert!(!dbg.contains("118, 101"), "{dbg}"); // "ve" as decimal bytes
        assert!(dbg.contains("17 bytes, redacted"), "{dbg}");
        assert!(dbg.contains("bob"), "{dbg}");
    }

    #[test]
    fn field_numbers_match_google_authenticator() {
        // Hand-encoded: field 1 bytes "AAAAAAAAAA" (len 10), 2 "n", 3 "i",
        // 4 varint 2, 5 varint 2, 6 varint 1, 7 varint 5.
        let entry: Vec<u8> = [
            &[0x0a, 10][..],
            b"AAAAAAAAAA",
            &[
                0x12, 1, b'n', 0x1a, 1, b'i', 0x20, 2, 0x28, 2, 0x30, 1, 0x38, 5,
            ],
        ]
        .concat();
        let mut payload = vec![0x0a, u8::try_from(entry.len()).unwrap()];
        payload.extend(&entry);
        payload.extend([0x10, 1, 0x18, 1, 0x28, 7]); // batch_index 0 is not written
        let decoded = MigrationPayload::decode(payload.as_slice()).unwrap();
        assert_eq!(
            (decoded.version, decoded.batch_size, decoded.batch_id),
            (1, 1, 7)
        );
        let p = &decoded.otp_parameters[0];
        assert_eq!(p.secret, b"AAAAAAAAAA");
        assert_eq!((p.name.as_str(), p.issuer.as_str()), ("n", "i"));
        assert_eq!(p.algorithm, Algorithm::Sha256 as i32);
        assert_eq!(p.digits, DigitCount::Eight as i32);
        assert_eq!(p.otp_type, OtpType::Hotp as i32);
        assert_eq!(p.counter, 5);
        assert_eq!(decoded.encode_to_vec(), payload);
    }

    #[test]
    fn base64_padding_is_exact() {
        assert_eq!(decode_base64("AAEC").unwrap().as_slice(), [0, 1, 2]);
        assert_eq!(decode_base64("AAE=").unwrap().as_slice(), [0, 1]);
        assert_eq!(decode_base64("AAE").unwrap().as_slice(), [0, 1]);
        assert_eq!(decode_base64("+/8=").unwrap().as_slice(), [0xfb, 0xff]);
        for bad in ["AAE==", "A", "AA=A", "AAF=", "-_8=", "AA E", "AA\n"] {
            assert_eq!(decode_base64(bad), Err(ImportError::InvalidBase64), "{bad}");
        }
    }

    #[test]
    fn entries_map_every_enum_value() {
        let entry = |algorithm: i32, digits: i32, otp_type: i32, counter: i64| OtpParameters {
            secret: vec![7; 10],
            name: "x".into(),
            issuer: String::new(),
            algorithm,
            digits,
            otp_type,
            counter,
        };
        let t = entry_token(&mut entry(0, 0, 2, 9)).unwrap().token;
        assert_eq!((t.algorithm, t.digits), (otp::Algorithm::Sha1, 6));
        assert_eq!(t.mode, TokenMode::Totp { period: 30 });
        let t = entry_token(&mut entry(3, 2, 1, i64::MAX)).unwrap().token;
        assert_eq!((t.algorithm, t.digits), (otp::Algorithm::Sha512, 8));
        assert_eq!(
            t.mode,
            TokenMode::Hotp {
                counter: i64::MAX as u64
            }
        );
        for (e, expected) in [
            (
                entry(4, 1, 2, 0),
                ImportError::UnsupportedAlgorithm { name: "MD5" },
            ),
            (entry(5, 1, 2, 0), ImportError::UnknownAlgorithm),
            (entry(-1, 1, 2, 0), ImportError::UnknownAlgorithm),
            (entry(1, 3, 2, 0), digits_out_of_range()),
            (entry(1, 1, 0, 0), ImportError::UnsupportedType),
            (entry(1, 1, 3, 0), ImportError::UnsupportedType),
            (entry(1, 1, 1, -1), ImportError::CounterOutOfRange),
        ] {
            let mut e = e;
            assert_eq!(entry_token(&mut e).unwrap_err(), expected);
        }
    }
}
