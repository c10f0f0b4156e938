//! What the vault encrypts: settings and cards, in a compact binary layout
//! (docs/vault-format.md, "Contents"). Also the card list that keeps seeds
//! and keyed HMAC states from lingering in freed memory.

use std::collections::{HashMap, HashSet};

use zeroize::{Zeroize, Zeroizing};

use super::error::{CardField, Reader, Setting, VaultError};
use crate::card::{Card, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use crate::otp::Algorithm;
use crate::pin::PinKind;
use crate::secret::SecretBytes;

/// What to do when a card being added is already in the vault (the same id,
/// or the same BIN and last four digits: [`Card::is_same_card`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Refuse with [`VaultError::CardAlreadyPresent`].
    Refuse,
    /// Replace the existing card in place (keeping its position and label).
    Replace,
}

/// The most cards a vault holds.
pub const MAX_CARDS: usize = 10_000;
/// The longest seed or token secret stored, in bytes.
pub const MAX_SECRET_LEN: usize = 1024;
/// The longest text (label, issuer, account) stored, in UTF-8 bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// The shortest auto-lock idle time, in seconds.
pub const MIN_AUTO_LOCK_SECONDS: u32 = 10;
/// The longest auto-lock idle time, in seconds (a day).
pub const MAX_AUTO_LOCK_SECONDS: u32 = 24 * 3600;

const KIND_BANK: u8 = 1;
const KIND_TOKEN: u8 = 2;
const FLAG_EXPORTABLE: u8 = 0b001;
const FLAG_CEILING: u8 = 0b010;
const FLAG_ISSUER: u8 = 0b100;
const MODE_TOTP: u8 = 1;
const MODE_HOTP: u8 = 2;
/// The smallest possible card record, to bound allocations by the input size.
const MIN_RECORD_LEN: usize = 4 + 16 + 1 + 1 + 8 + 2;

/// Where encoded bytes go: a counter (to size a buffer exactly) or the buffer.
pub(crate) trait Out {
    fn put(&mut self, bytes: &[u8]);
}

impl Out for usize {
    fn put(&mut self, bytes: &[u8]) {
        *self = self.saturating_add(bytes.len());
    }
}

impl Out for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Bytes with a big-endian `u16` length.
fn put_short(
    out: &mut dyn Out,
    bytes: &[u8],
    max: usize,
    what: CardField,
) -> Result<(), VaultError> {
    let len = u16::try_from(bytes.len())
        .ok()
        .filter(|&l| usize::from(l) <= max)
        .ok_or(VaultError::Unstorable(what))?;
    out.put(&len.to_be_bytes());
    out.put(bytes);
    Ok(())
}

/// The cards, in display order. Every buffer it gives back to the allocator is
/// wiped first: a removed or moved card leaves no copy of its keyed HMAC
/// state behind in the list's spare capacity.
pub(crate) struct CardList(Vec<Card>);

impl CardList {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    pub(crate) fn as_slice(&self) -> &[Card] {
        &self.0
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn position(&self, id: CardId) -> Option<usize> {
        self.0.iter().position(|c| c.id() == id)
    }

    pub(crate) fn get_mut(&mut self, id: CardId) -> Result<&mut Card, VaultError> {
        self.0
            .iter_mut()
            .find(|c| c.id() == id)
            .ok_or(VaultError::NoSuchCard(id))
    }

    /// Room for one more card without the vector reallocating behind our back.
    fn reserve_one(&mut self) {
        if self.0.len() < self.0.capacity() {
            return;
        }
        let capacity = self.0.capacity().saturating_mul(2).max(4);
        let mut old = core::mem::replace(&mut self.0, Vec::with_capacity(capacity));
        self.0.append(&mut old);
        old.spare_capacity_mut().zeroize();
    }

    fn scrub(&mut self) {
        self.0.spare_capacity_mut().zeroize();
    }

    /// Adds `card`. If the list holds the same card ([`Card::is_same_card`]:
    /// the same id, or the same BIN and last four digits), it is refused or
    /// replaced in place, keeping the user's label and the card's position.
    pub(crate) fn add(
        &mut self,
        mut card: Card,
        on_existing: OnExisting,
    ) -> Result<CardId, VaultError> {
        check_storable(&card)?;
        let id = card.id();
        if let Some(existing) = self.0.iter_mut().find(|c| c.is_same_card(&card)) {
            if on_existing == OnExisting::Refuse {
                return Err(VaultError::CardAlreadyPresent {
                    existing: existing.id(),
                });
            }
            card.set_label(existing.label())?;
            // The replaced card wipes its own seed and HMAC states on drop.
            *existing = card;
            return Ok(id);
        }
        if self.0.len() >= MAX_CARDS {
            return Err(VaultError::TooManyCards { max: MAX_CARDS });
        }
        // With room reserved, the push cannot reallocate behind our back.
        self.reserve_one();
        self.0.push(card);
        Ok(id)
    }

    /// Whether the list holds the same card as `card` ([`Card::is_same_card`]).
    pub(crate) fn holds(&self, card: &Card) -> bool {
        self.0.iter().any(|c| c.is_same_card(card))
    }

    pub(crate) fn remove(&mut self, id: CardId) -> Result<(), VaultError> {
        let i = self.position(id).ok_or(VaultError::NoSuchCard(id))?;
        drop(self.0.remove(i));
        self.scrub();
        Ok(())
    }

    pub(crate) fn move_to(&mut self, id: CardId, index: usize) -> Result<(), VaultError> {
        let from = self.position(id).ok_or(VaultError::NoSuchCard(id))?;
        let to = index.min(self.0.len().saturating_sub(1));
        let card = self.0.remove(from);
        self.0.insert(to, card);
        self.scrub();
        Ok(())
    }

    /// Puts the cards in `order`, which must list every card exactly once.
    pub(crate) fn reorder(&mut self, order: &[CardId]) -> Result<(), VaultError> {
        let unique: HashSet<CardId> = order.iter().copied().collect();
        if order.len() != self.0.len()
            || unique.len() != order.len()
            || self.0.iter().any(|c| !unique.contains(&c.id()))
        {
            return Err(VaultError::InvalidOrder);
        }
        let rank: HashMap<CardId, usize> =
            order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        // In place: a stable sort would copy cards into a temporary buffer.
        self.0
            .sort_unstable_by_key(|c| rank.get(&c.id()).copied().unwrap_or(usize::MAX));
        Ok(())
    }

    fn push_decoded(&mut self, card: Card) {
        self.reserve_one();
        self.0.push(card);
    }
}

impl Clone for CardList {
    fn clone(&self) -> Self {
        // `to_vec` allocates exactly once, with capacity = length.
        Self(self.0.to_vec())
    }
}

impl Drop for CardList {
    fn drop(&mut self) {
        // Each card wipes its own seed and HMAC states; then the slots they
        // occupied (and any stale copies) are wiped too.
        self.0.clear();
        self.scrub();
    }
}

/// The decrypted contents of a vault.
#[derive(Clone)]
pub(crate) struct Contents {
    pub auto_lock_seconds: u32,
    pub cards: CardList,
}

impl core::fmt::Debug for Contents {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Contents")
            .field("auto_lock_seconds", &self.auto_lock_seconds)
            .field("cards", &self.cards.len())
            .finish()
    }
}

/// Checks an auto-lock time's range.
pub(crate) fn check_auto_lock(seconds: u32) -> Result<(), VaultError> {
    if (MIN_AUTO_LOCK_SECONDS..=MAX_AUTO_LOCK_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(VaultError::InvalidSetting(Setting::AutoLock))
    }
}

/// Whether `card` can be encoded (every field within the format's limits).
pub(crate) fn check_storable(card: &Card) -> Result<(), VaultError> {
    let mut len = 0usize;
    encode_card_fields(card, &mut len)
}

fn algorithm_code(algorithm: Algorithm) -> u8 {
    match algorithm {
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 2,
        Algorithm::Sha512 => 3,
    }
}

fn algorithm_from(code: u8) -> Result<Algorithm, VaultError> {
    match code {
        1 => Ok(Algorithm::Sha1),
        2 => Ok(Algorithm::Sha256),
        3 => Ok(Algorithm::Sha512),
        _ => Err(VaultError::Corrupt("algorithm")),
    }
}

fn encode_policy(policy: Option<PinPolicy>, out: &mut dyn Out) -> Result<(), VaultError> {
    let Some(policy) = policy else {
        out.put(&[0, 0, 0]);
        return Ok(());
    };
    let period =
        u16::try_from(policy.period).map_err(|_| VaultError::Unstorable(CardField::PinPeriod))?;
    if policy.digits > 0x0f {
        return Err(VaultError::Unstorable(CardField::PinDigits));
    }
    out.put(&[(algorithm_code(policy.algorithm) << 4) | policy.digits]);
    out.put(&period.to_be_bytes());
    Ok(())
}

fn decode_policy(r: &mut Reader<'_>) -> Result<Option<PinPolicy>, VaultError> {
    let packed = r.u8()?;
    let period = r.u16()?;
    if packed == 0 && period == 0 {
        return Ok(None);
    }
    let policy = PinPolicy {
        algorithm: algorithm_from(packed >> 4)?,
        digits: packed & 0x0f,
        period: u64::from(period),
    };
    policy
        .validate()
        .map_err(|_| VaultError::Corrupt("PIN policy"))?;
    Ok(Some(policy))
}

/// A card's fields, without the record length.
fn encode_card_fields(card: &Card, out: &mut dyn Out) -> Result<(), VaultError> {
    let token = card.as_token();
    let mut flags = 0u8;
    if card.exportable() {
        flags |= FLAG_EXPORTABLE;
    }
    if card.amount_ceiling().is_some() {
        flags |= FLAG_CEILING;
    }
    if token.is_some_and(|t| t.issuer.is_some()) {
        flags |= FLAG_ISSUER;
    }
    out.put(card.id().as_bytes());
    out.put(&[
        if token.is_some() {
            KIND_TOKEN
        } else {
            KIND_BANK
        },
        flags,
    ]);
    out.put(&card.time_offset().to_be_bytes());
    if let Some(ceiling) = card.amount_ceiling() {
        out.put(&ceiling.to_be_bytes());
    }
    put_short(out, card.label().as_bytes(), MAX_TEXT_LEN, CardField::Label)?;
    match token {
        None => {
            let card_ref = card
                .card_ref()
                .ok_or(VaultError::Unstorable(CardField::CardReference))?;
            out.put(&card_ref.bin().to_be_bytes());
            out.put(&card_ref.last_four().value().to_be_bytes());
            encode_policy(card.policy(PinKind::First), out)?;
            encode_policy(card.policy(PinKind::Second), out)?;
            put_short(out, card.secret().expose(), MAX_SECRET_LEN, CardField::Seed)?;
        }
        Some(token) => {
            let (mode, value) = match token.mode {
                TokenMode::Totp { period } => (MODE_TOTP, period),
                TokenMode::Hotp { counter } => (MODE_HOTP, counter),
            };
            out.put(&[algorithm_code(token.algorithm), token.digits, mode]);
            out.put(&value.to_be_bytes());
            put_short(
                out,
                token.secret.expose(),
                MAX_SECRET_LEN,
                CardField::Secret,
            )?;
            if let Some(issuer) = &token.issuer {
                put_short(out, issuer.as_bytes(), MAX_TEXT_LEN, CardField::Issuer)?;
            }
            put_short(
                out,
                token.account.as_bytes(),
                MAX_TEXT_LEN,
                CardField::Account,
            )?;
        }
    }
    Ok(())
}

fn encode_card(card: &Card, out: &mut dyn Out) -> Result<(), VaultError> {
    let mut len = 0usize;
    encode_card_fields(card, &mut len)?;
    let len = u32::try_from(len).map_err(|_| VaultError::Unstorable(CardField::Card))?;
    out.put(&len.to_be_bytes());
    encode_card_fields(card, out)
}

/// A card count and the cards' records: the list part of the contents (and a backup's plaintext).
fn encode_cards<'a>(
    cards: impl Iterator<Item = &'a Card> + Clone,
    out: &mut dyn Out,
) -> Result<(), VaultError> {
    let count = u32::try_from(cards.clone().count())
        .map_err(|_| VaultError::TooManyCards { max: MAX_CARDS })?;
    out.put(&count.to_be_bytes());
    cards
        .into_iter()
        .try_for_each(|card| encode_card(card, out))
}

/// Encodes into a zeroizing buffer allocated once at the exact size, so no
/// partial copy of the plaintext is left behind by a reallocation.
fn encode_exact(
    encode: impl Fn(&mut dyn Out) -> Result<(), VaultError>,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let mut len = 0usize;
    encode(&mut len)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(len));
    encode(&mut *buf)?;
    Ok(buf)
}

/// The version 1 contents: settings, then the cards.
pub(crate) fn encode(contents: &Contents) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    encode_exact(|out| {
        out.put(&contents.auto_lock_seconds.to_be_bytes());
        encode_cards(contents.cards.as_slice().iter(), out)
    })
}

/// The plaintext of a backup: the card list alone.
pub(crate) fn encode_card_list<'a>(
    cards: impl Iterator<Item = &'a Card> + Clone,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    encode_exact(|out| encode_cards(cards.clone(), out))
}

fn text<'a>(r: &mut Reader<'a>, max: usize) -> Result<&'a str, VaultError> {
    let bytes = r.short_bytes(max)?;
    core::str::from_utf8(bytes).map_err(|_| VaultError::Corrupt("text"))
}

fn decode_card(r: &mut Reader<'_>) -> Result<Card, VaultError> {
    let len = usize::try_from(r.u32()?).map_err(|_| VaultError::Corrupt("card record"))?;
    let mut r = Reader::new(r.take(len)?);
    let id = CardId::from_bytes(r.array()?);
    let kind = r.u8()?;
    let flags = r.u8()?;
    if flags & !(FLAG_EXPORTABLE | FLAG_CEILING | FLAG_ISSUER) != 0 {
        return Err(VaultError::Corrupt("card flags"));
    }
    let time_offset = r.i64()?;
    let ceiling = if flags & FLAG_CEILING != 0 {
        Some(r.u64()?)
    } else {
        None
    };
    let label = text(&mut r, MAX_TEXT_LEN)?;
    let mut card = match kind {
        KIND_BANK => {
            if flags & FLAG_ISSUER != 0 {
                return Err(VaultError::Corrupt("card flags"));
            }
            let bin = r.u32()?;
            let last_four = LastFour::from_value(r.u16()?)
                .map_err(|_| VaultError::Corrupt("card reference"))?;
            let card_ref =
                CardRef::new(bin, last_four).map_err(|_| VaultError::Corrupt("card reference"))?;
            let first = decode_policy(&mut r)?;
            let second = decode_policy(&mut r)?;
            let seed = SecretBytes::from_slice(r.short_bytes(MAX_SECRET_LEN)?);
            Card::bank_card(id, label, card_ref, seed, first, second)
                .map_err(|_| VaultError::Corrupt("bank card"))?
        }
        KIND_TOKEN => {
            let algorithm = algorithm_from(r.u8()?)?;
            let digits = r.u8()?;
            let mode = match (r.u8()?, r.u64()?) {
                (MODE_TOTP, period) => TokenMode::Totp { period },
                (MODE_HOTP, counter) => TokenMode::Hotp { counter },
                _ => return Err(VaultError::Corrupt("token mode")),
            };
            let secret = SecretBytes::from_slice(r.short_bytes(MAX_SECRET_LEN)?);
            let issuer = if flags & FLAG_ISSUER != 0 {
                Some(text(&mut r, MAX_TEXT_LEN)?.to_owned())
            } else {
                None
            };
            let account = text(&mut r, MAX_TEXT_LEN)?.to_owned();
            let token = OtpToken {
                secret,
                algorithm,
                digits,
                mode,
                issuer,
                account,
            };
            Card::token(id, label, token).map_err(|_| VaultError::Corrupt("token"))?
        }
        _ => return Err(VaultError::Corrupt("card kind")),
    };
    r.finish("card record")?;
    // Labels are stored as cleaned; anything else is not this encoder's output.
    if card.label() != label {
        return Err(VaultError::Corrupt("label"));
    }
    card.set_time_offset(time_offset)
        .map_err(|_| VaultError::Corrupt("time offset"))?;
    card.set_exportable(flags & FLAG_EXPORTABLE != 0);
    card.set_amount_ceiling(ceiling);
    Ok(card)
}

fn decode_cards(r: &mut Reader<'_>) -> Result<CardList, VaultError> {
    let count = usize::try_from(r.u32()?).map_err(|_| VaultError::Corrupt("card count"))?;
    if count > MAX_CARDS || count > r.remaining() / MIN_RECORD_LEN {
        return Err(VaultError::Corrupt("card count"));
    }
    let mut cards = CardList::with_capacity(count);
    let mut ids = HashSet::with_capacity(count);
    for _ in 0..count {
        let card = decode_card(r)?;
        if !ids.insert(card.id()) {
            return Err(VaultError::Corrupt("duplicate card"));
        }
        cards.push_decoded(card);
    }
    Ok(cards)
}

/// Decodes version 1 contents.
pub(crate) fn decode_v1(plaintext: &[u8]) -> Result<Contents, VaultError> {
    let mut r = Reader::new(plaintext);
    let auto_lock_seconds = r.u32()?;
    check_auto_lock(auto_lock_seconds).map_err(|_| VaultError::Corrupt("settings"))?;
    let cards = decode_cards(&mut r)?;
    r.finish("contents")?;
    Ok(Contents {
        auto_lock_seconds,
        cards,
    })
}

/// Decodes a backup's card list.
pub(crate) fn decode_card_list(plaintext: &[u8]) -> Result<CardList, VaultError> {
    let mut r = Reader::new(plaintext);
    let cards = decode_cards(&mut r)?;
    r.finish("card list")?;
    Ok(cards)
}
