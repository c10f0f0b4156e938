//! Activation payload version 1: byte layout, text form, sealing and opening.
//! The normative description with test vectors is docs/activation-format.md.
//!
//! Phones only read payloads ([`super::inspect`], [`super::activate`]);
//! [`seal`] is the issuer's half, public for the bank side (`dynpin-bank`)
//! and for anyone who writes a compatible issuer.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::ActivationError;
use crate::card::{CardRef, LastFour, MIN_MASTER_SEED_LEN, PinPolicy};
use crate::kdf::{self, KdfParams};
use crate::otp::Algorithm;
use crate::secret::SecretBytes;

/// Every payload's text starts with this (any case is accepted when reading).
pub const PREFIX: &str = "DPIN:";
/// The version this code writes and the only one it reads.
pub const PAYLOAD_VERSION_1: u8 = 1;
/// Bytes of Argon2id salt.
pub const SALT_LEN: usize = 16;
/// Bytes of the activation id.
pub const ACTIVATION_ID_LEN: usize = 8;
/// Bytes of the truncated SHA-256 checksum that ends every payload.
pub const CHECKSUM_LEN: usize = 4;
/// Bytes of the Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// The longest label, in UTF-8 bytes.
pub const MAX_LABEL_BYTES: usize = 64;
/// The longest master seed carried, in bytes.
pub const MAX_SEED_LEN: usize = 64;
/// The longest text accepted before any decoding is attempted.
pub const MAX_PAYLOAD_TEXT_LEN: usize = 1024;
/// Argon2id output: a 32-byte XChaCha20-Poly1305 key, then its 24-byte nonce.
const KDF_OUTPUT_LEN: usize = 32 + 24;

const FLAG_EXPORTABLE: u8 = 0b0000_0001;
const FLAG_LABEL: u8 = 0b0000_0010;
const KNOWN_FLAGS: u8 = FLAG_EXPORTABLE | FLAG_LABEL;

/// The authenticated, unencrypted part of a payload: what a phone reads
/// before the activation code is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version: [`PAYLOAD_VERSION_1`].
    pub version: u8,
    /// Whether the issuer allows the seed to leave the phone (backups, export).
    pub exportable: bool,
    /// The card's BIN (at most 24 bits) and last four digits.
    pub card_ref: CardRef,
    /// When the payload was issued, Unix seconds.
    pub issued_at: u64,
    /// Seconds after `issued_at` during which the payload activates.
    pub valid_for: u32,
    /// The activation's public identifier.
    pub activation_id: [u8; ACTIVATION_ID_LEN],
    /// Argon2id parameters; memory is carried in whole MiB.
    pub kdf: KdfParams,
    /// The Argon2id salt, random per payload.
    pub salt: [u8; SALT_LEN],
    /// The card's name as the bank suggests it (1–64 UTF-8 bytes), if any.
    pub label: Option<String>,
}

/// The encrypted part: both PIN policies and the master seed.
/// `Debug` never shows the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// The first PIN's policy, if the card has one.
    pub first: Option<PinPolicy>,
    /// The second PIN's policy, if the card has one.
    pub second: Option<PinPolicy>,
    /// The master seed (20–64 bytes).
    pub seed: SecretBytes,
}

impl Header {
    /// When the payload stops activating: `issued_at + valid_for`, if that fits.
    pub fn expires_at(&self) -> Option<u64> {
        self.issued_at.checked_add(u64::from(self.valid_for))
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), ActivationError> {
        let memory_mib = u16::try_from(self.kdf.memory_kib / 1024)
            .map_err(|_| ActivationError::Malformed("kdf"))?;
        let iterations =
            u8::try_from(self.kdf.iterations).map_err(|_| ActivationError::Malformed("kdf"))?;
        let lanes = u8::try_from(self.kdf.lanes).map_err(|_| ActivationError::Malformed("kdf"))?;
        if self.kdf.memory_kib % 1024 != 0 {
            return Err(ActivationError::Malformed("kdf"));
        }
        let mut flags = 0;
        if self.exportable {
            flags |= FLAG_EXPORTABLE;
        }
        if self.label.is_some() {
            flags |= FLAG_LABEL;
        }
        // A CardRef's BIN has at most six digits, so it fits the field's 24 bits.
        out.push(self.version);
        out.push(flags);
        out.extend_from_slice(
            self.card_ref
                .bin()
                .to_be_bytes()
                .get(1..)
                .unwrap_or_default(),
        );
        out.extend_from_slice(&self.card_ref.last_four().value().to_be_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.valid_for.to_be_bytes());
        out.extend_from_slice(&self.activation_id);
        out.extend_from_slice(&memory_mib.to_be_bytes());
        out.push(iterations);
        out.push(lanes);
        out.extend_from_slice(&self.salt);
        if let Some(label) = &self.label {
            let len = u8::try_from(label.len()).map_err(|_| ActivationError::Malformed("label"))?;
            if label.is_empty() || label.len() > MAX_LABEL_BYTES {
                return Err(ActivationError::Malformed("label"));
            }
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
        Ok(())
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self, ActivationError> {
        let version = reader.u8()?;
        if version != PAYLOAD_VERSION_1 {
            return Err(ActivationError::UnsupportedVersion { version });
        }
        let flags = reader.u8()?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(ActivationError::Malformed("flags"));
        }
        let bin = reader
            .take(3)?
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let last_four = LastFour::from_value(reader.u16()?)
            .map_err(|_| ActivationError::Malformed("card reference"))?;
        let issued_at = reader.u64()?;
        let valid_for = reader.u32()?;
        let activation_id = reader.array()?;
        let memory_kib = u32::from(reader.u16()?) * 1024;
        let iterations = u32::from(reader.u8()?);
        let lanes = u32::from(reader.u8()?);
        let salt = reader.array()?;
        let label = if flags & FLAG_LABEL != 0 {
            let len = usize::from(reader.u8()?);
            if len == 0 || len > MAX_LABEL_BYTES {
                return Err(ActivationError::Malformed("label"));
            }
            let bytes = reader.take(len)?;
            let text =
                core::str::from_utf8(bytes).map_err(|_| ActivationError::Malformed("label"))?;
            if text.chars().any(char::is_control) {
                return Err(ActivationError::Malformed("label"));
            }
            Some(text.to_owned())
        } else {
            None
        };
        Ok(Self {
            version,
            exportable: flags & FLAG_EXPORTABLE != 0,
            card_ref: CardRef::new(bin, last_four)
                .map_err(|_| ActivationError::Malformed("card reference"))?,
            issued_at,
            valid_for,
            activation_id,
            kdf: KdfParams {
                memory_kib,
                iterations,
                lanes,
            },
            salt,
            label,
        })
    }
}

fn algorithm_code(algorithm: Algorithm) -> u8 {
    match algorithm {
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 2,
        Algorithm::Sha512 => 3,
    }
}

fn encode_policy(policy: Option<PinPolicy>, out: &mut Vec<u8>) -> Result<(), ActivationError> {
    let Some(policy) = policy else {
        out.extend_from_slice(&[0, 0, 0]);
        return Ok(());
    };
    policy
        .validate()
        .map_err(|_| ActivationError::Malformed("policy"))?;
    let period = u16::try_from(policy.period).map_err(|_| ActivationError::Malformed("policy"))?;
    out.push((algorithm_code(policy.algorithm) << 4) | policy.digits);
    out.extend_from_slice(&period.to_be_bytes());
    Ok(())
}

fn decode_policy(reader: &mut Reader<'_>) -> Result<Option<PinPolicy>, ActivationError> {
    let packed = reader.u8()?;
    let period = u64::from(reader.u16()?);
    let algorithm = match packed >> 4 {
        0 if packed == 0 && period == 0 => return Ok(None),
        1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        _ => return Err(ActivationError::Malformed("policy")),
    };
    let policy = PinPolicy {
        algorithm,
        digits: packed & 0x0f,
        period,
    };
    policy
        .validate()
        .map_err(|_| ActivationError::Malformed("policy"))?;
    Ok(Some(policy))
}

/// A parsed payload: the header in clear, the sealed secrets still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub header: Header,
    /// The bytes of the header exactly as received: the AEAD's associated data.
    pub header_bytes: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The key and nonce for one payload. Each payload has its own random salt,
/// so each key encrypts exactly one message; the nonce need not travel.
fn payload_cipher(
    code: &str,
    header: &Header,
) -> Result<(XChaCha20Poly1305, XNonce), ActivationError> {
    let okm = kdf::derive_unchecked(code.as_bytes(), &header.salt, header.kdf, KDF_OUTPUT_LEN)?;
    let (key, nonce) = okm
        .split_at_checked(32)
        .ok_or(ActivationError::Malformed("kdf"))?;
    let cipher =
        XChaCha20Poly1305::new_from_slice(key).map_err(|_| ActivationError::Malformed("kdf"))?;
    let nonce = XNonce::try_from(nonce).map_err(|_| ActivationError::Malformed("kdf"))?;
    Ok((cipher, nonce))
}

/// Seals `secrets` under the activation code's digits `code` and returns the
/// payload text (`DPIN:` and base32), as an issuer does.
///
/// # Errors
/// [`ActivationError::Malformed`] naming a field that cannot be encoded
/// (a BIN over 24 bits, a label too long, a seed outside 20–64 bytes, KDF
/// memory not a whole number of MiB, a policy out of range).
pub fn seal(header: &Header, secrets: &Secrets, code: &str) -> Result<String, ActivationError> {
    if secrets.seed.len() < MIN_MASTER_SEED_LEN || secrets.seed.len() > MAX_SEED_LEN {
        return Err(ActivationError::Malformed("seed"));
    }
    let mut body = Vec::with_capacity(128);
    header.encode(&mut body)?;
    let mut plaintext = Zeroizing::new(Vec::with_capacity(6 + secrets.seed.len()));
    encode_policy(secrets.first, &mut plaintext)?;
    encode_policy(secrets.second, &mut plaintext)?;
    plaintext.extend_from_slice(secrets.seed.expose());
    let (cipher, nonce) = payload_cipher(code, header)?;
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &plaintext,
                aad: &body,
            },
        )
        .map_err(|_| ActivationError::Malformed("seal"))?;
    body.extend_from_slice(&sealed);
    let checksum = checksum(&body);
    body.extend_from_slice(&checksum);
    Ok(format!("{PREFIX}{}", crate::encoding::base32_encode(&body)))
}

fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(body);
    let mut out = [0u8; CHECKSUM_LEN];
    out.iter_mut().zip(digest.iter()).for_each(|(o, d)| *o = *d);
    out
}

/// Reads the text form: prefix, base32, checksum, header. No key is derived.
pub(crate) fn parse(text: &str) -> Result<Parsed, ActivationError> {
    if text.len() > MAX_PAYLOAD_TEXT_LEN {
        return Err(ActivationError::Malformed("too long"));
    }
    // People paste payloads from SMS: line breaks and spaces carry no meaning.
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let encoded = compact
        .strip_prefix(PREFIX)
        .ok_or(ActivationError::Malformed(
            "not a dynpin activation payload",
        ))?;
    // The format is unpadded base32; `=` is not one of its characters.
    let bytes = Some(encoded)
        .filter(|e| !e.contains('='))
        .and_then(crate::encoding::base32_decode)
        .ok_or(ActivationError::Malformed("not base32"))?;
    let (body, sum) = bytes
        .split_at_checked(bytes.len().saturating_sub(CHECKSUM_LEN))
        .filter(|(body, _)| !body.is_empty())
        .ok_or(ActivationError::Malformed("too short"))?;
    if !bool::from(checksum(body).ct_eq(sum)) {
        return Err(ActivationError::BadChecksum);
    }
    let (header, header_len) = decode_header(body)?;
    let (header_bytes, ciphertext) = body
        .split_at_checked(header_len)
        .ok_or(ActivationError::Malformed("too short"))?;
    let (header_bytes, ciphertext) = (header_bytes.to_vec(), ciphertext.to_vec());
    let plaintext_len = ciphertext
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(ActivationError::Malformed("too short"))?;
    if !(6 + MIN_MASTER_SEED_LEN..=6 + MAX_SEED_LEN).contains(&plaintext_len) {
        return Err(ActivationError::Malformed("seed length"));
    }
    Ok(Parsed {
        header,
        header_bytes,
        ciphertext,
    })
}

/// Derives the key from `code` and opens the sealed part.
pub(crate) fn open(parsed: &Parsed, code: &str) -> Result<Secrets, ActivationError> {
    let (cipher, nonce) = payload_cipher(code, &parsed.header)?;
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &parsed.ciphertext,
                    aad: &parsed.header_bytes,
                },
            )
            .map_err(|_| ActivationError::WrongActivationCode)?,
    );
    decode_secrets(&plaintext)
}

/// Reads a header from the front of `bytes`; returns it and its length.
pub(crate) fn decode_header(bytes: &[u8]) -> Result<(Header, usize), ActivationError> {
    let mut reader = Reader::new(bytes);
    let header = Header::decode(&mut reader)?;
    Ok((header, bytes.len() - reader.remaining()))
}

/// Reads the opened secrets: both policies, then the seed (20–64 bytes).
pub(crate) fn decode_secrets(plaintext: &[u8]) -> Result<Secrets, ActivationError> {
    let mut reader = Reader::new(plaintext);
    let first = decode_policy(&mut reader)?;
    let second = decode_policy(&mut reader)?;
    if first.is_none() && second.is_none() {
        return Err(ActivationError::Malformed("no PIN slot"));
    }
    if !(MIN_MASTER_SEED_LEN..=MAX_SEED_LEN).contains(&reader.remaining()) {
        return Err(ActivationError::Malformed("seed length"));
    }
    let seed = SecretBytes::from_slice(reader.rest());
    Ok(Secrets {
        first,
        second,
        seed,
    })
}

/// The payload's byte reader: every error is [`ActivationError::Malformed`].
type Reader<'a> = crate::bytes::Reader<'a, ActivationError>;

impl crate::bytes::FormatError for ActivationError {
    fn truncated() -> Self {
        ActivationError::Malformed("truncated")
    }
    fn bad_length() -> Self {
        ActivationError::Malformed("length")
    }
    fn trailing(what: &'static str) -> Self {
        ActivationError::Malformed(what)
    }
}
