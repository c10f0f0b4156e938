//! The bank's copy of a card as stored: its parameters and master seed in
//! one byte string, sealed under the KEK ([`crate::keys`]) and bound to the
//! card's id and the key's id. The layout (version 1) is in
//! `docs/bank-store.md`:
//!
//! ```text
//! version u8 = 1 | BIN u32 BE | last four u16 BE | flags u8
//!   (bit 0 exportable, bit 1 first PIN, bit 2 second PIN, bit 3 activation id)
//! [first PIN: algorithm u8 (1 SHA-1, 2 SHA-256, 3 SHA-512) | digits u8 | period u16 BE]
//! [second PIN: the same] [activation id: 8 bytes]
//! label length u8 | label UTF-8 | seed length u8 | seed
//! ```

use dynpin::activation::ActivationId;
use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use zeroize::Zeroizing;

use crate::keys::{KeyEncryption, KeyError};

const VERSION_1: u8 = 1;
const EXPORTABLE: u8 = 1;
const HAS_FIRST: u8 = 1 << 1;
const HAS_SECOND: u8 = 1 << 2;
const HAS_ACTIVATION: u8 = 1 << 3;
/// The associated data's prefix: what the sealed value is.
const AAD_PREFIX: &[u8] = b"dynpin-bank card v1\0";

/// Why a stored card could not be opened (the store's copy is unreadable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealedCardError {
    /// The KEK refused it.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// It opened but does not decode as a card.
    #[error("a stored card does not decode: {0}")]
    Malformed(&'static str),
    /// The card cannot be sealed in this layout: its label (in UTF-8) or its
    /// seed is longer than 255 bytes. Nothing was stored.
    #[error("the card cannot be stored: its {0} is longer than 255 bytes")]
    TooLong(&'static str),
}

fn aad(id: CardId, key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_PREFIX.len() + 16 + key_id.len());
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(id.as_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

fn algorithm_byte(algorithm: Algorithm) -> u8 {
    match algorithm {
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 2,
        Algorithm::Sha512 => 3,
    }
}

fn algorithm_from(byte: u8) -> Result<Algorithm, SealedCardError> {
    match byte {
        1 => Ok(Algorithm::Sha1),
        2 => Ok(Algorithm::Sha256),
        3 => Ok(Algorithm::Sha512),
        _ => Err(SealedCardError::Malformed("algorithm")),
    }
}

/// The plain bytes of `card` (and its activation's id, when it has one).
///
/// # Errors
/// [`SealedCardError::TooLong`] for a label or seed over 255 bytes (a
/// 64-character label of 4-byte characters is 256): refused, never cut, so
/// that nothing stored fails to read back.
pub(crate) fn encode(
    card: &Card,
    activation: Option<ActivationId>,
) -> Result<Zeroizing<Vec<u8>>, SealedCardError> {
    let mut out = Zeroizing::new(Vec::with_capacity(96));
    let card_ref = card.card_ref();
    let first = card.policy(PinKind::First);
    let second = card.policy(PinKind::Second);
    let mut flags = 0;
    for (on, bit) in [
        (card.exportable(), EXPORTABLE),
        (first.is_some(), HAS_FIRST),
        (second.is_some(), HAS_SECOND),
        (activation.is_some(), HAS_ACTIVATION),
    ] {
        if on {
            flags |= bit;
        }
    }
    out.push(VERSION_1);
    out.extend_from_slice(&card_ref.map_or(0, |r| r.bin()).to_be_bytes());
    out.extend_from_slice(&card_ref.map_or(0, |r| r.last_four().value()).to_be_bytes());
    out.push(flags);
    for policy in [first, second].into_iter().flatten() {
        out.push(algorithm_byte(policy.algorithm));
        out.push(policy.digits);
        // Periods are 10–300 s (checked when the card was made).
        out.extend_from_slice(
            &u16::try_from(policy.period)
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
    }
    if let Some(activation) = activation {
        out.extend_from_slice(&activation.0);
    }
    let label = card.label().as_bytes();
    out.push(u8::try_from(label.len()).map_err(|_| SealedCardError::TooLong("label"))?);
    out.extend_from_slice(label);
    let seed = card.secret().expose();
    out.push(u8::try_from(seed.len()).map_err(|_| SealedCardError::TooLong("seed"))?);
    out.extend_from_slice(seed);
    Ok(out)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SealedCardError> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(SealedCardError::Malformed(what))?;
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, SealedCardError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or_default())
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SealedCardError> {
        self.take(N, what)?
            .try_into()
            .map_err(|_| SealedCardError::Malformed(what))
    }
}

/// Decodes what [`encode`] wrote, as card `id`.
pub(crate) fn decode(
    id: CardId,
    bytes: &[u8],
) -> Result<(Card, Option<ActivationId>), SealedCardError> {
    let mut r = Reader(bytes);
    if r.u8("version")? != VERSION_1 {
        return Err(SealedCardError::Malformed("version"));
    }
    let bin = u32::from_be_bytes(r.array("BIN")?);
    let last_four = u16::from_be_bytes(r.array("last four")?);
    let flags = r.u8("flags")?;
    if flags & !(EXPORTABLE | HAS_FIRST | HAS_SECOND | HAS_ACTIVATION) != 0 {
        return Err(SealedCardError::Malformed("flags"));
    }
    let mut policy = |present: bool| -> Result<Option<PinPolicy>, SealedCardError> {
        if !present {
            return Ok(None);
        }
        Ok(Some(PinPolicy {
            algorithm: algorithm_from(r.u8("algorithm")?)?,
            digits: r.u8("digits")?,
            period: u64::from(u16::from_be_bytes(r.array("period")?)),
        }))
    };
    let first = policy(flags & HAS_FIRST != 0)?;
    let second = policy(flags & HAS_SECOND != 0)?;
    let activation = if flags & HAS_ACTIVATION != 0 {
        Some(ActivationId(r.array("activation id")?))
    } else {
        None
    };
    let label_len = usize::from(r.u8("label")?);
    let label = core::str::from_utf8(r.take(label_len, "label")?)
        .map_err(|_| SealedCardError::Malformed("label"))?;
    let seed_len = usize::from(r.u8("seed")?);
    let seed = SecretBytes::from(r.take(seed_len, "seed")?.to_vec());
    if !r.0.is_empty() {
        return Err(SealedCardError::Malformed("trailing bytes"));
    }
    let card_ref = LastFour::from_value(last_four)
        .and_then(|l| CardRef::new(bin, l))
        .map_err(|_| SealedCardError::Malformed("card reference"))?;
    let mut card = Card::bank_card(id, label, card_ref, seed, first, second)
        .map_err(|_| SealedCardError::Malformed("card parameters"))?;
    card.set_exportable(flags & EXPORTABLE != 0);
    Ok((card, activation))
}

/// Seals `card` under `keys`, bound to its id and the key's id.
///
/// # Errors
/// [`SealedCardError::TooLong`]; the KEK's [`KeyError`].
pub(crate) fn seal(
    keys: &dyn KeyEncryption,
    card: &Card,
    activation: Option<ActivationId>,
) -> Result<Vec<u8>, SealedCardError> {
    let plain = encode(card, activation)?;
    Ok(keys.seal(&aad(card.id(), keys.key_id()), &plain)?)
}

/// Opens a card sealed by [`seal`].
///
/// # Errors
/// [`SealedCardError`] when the KEK refuses it or it does not decode.
pub(crate) fn open(
    keys: &dyn KeyEncryption,
    id: CardId,
    key_id: &str,
    sealed: &[u8],
) -> Result<(Card, Option<ActivationId>), SealedCardError> {
    let plain = keys.open(key_id, &aad(id, key_id), sealed)?;
    decode(id, &plain)
}
