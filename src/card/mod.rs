//! Cards: a bank card with a first and a second dynamic PIN, or a plain token.
//!
//! A bank card keeps one master seed (delivered once, at activation) and up to
//! two PIN slots, each with its own algorithm, digits and period; the slot keys
//! are derived from the seed with HKDF (docs/card-derivation.md). Of the card number only the BIN
//! (for the bank's name) and the last four digits are kept.

pub mod amount;
pub(crate) mod derive;

mod bank;
mod number;

use core::fmt;

pub use bank::Bank;
pub use number::{CardNumber, LastFour};

use crate::clock::Clock;
use crate::otp::{self, Algorithm, Hotp, OtpError, Totp};
use crate::pin::{PinCode, PinKind, Validity};
use crate::secret::{RandomnessUnavailable, SecretBytes};
use crate::text::InputError;
use derive::{KeyPurpose, derive_key};

/// The shortest master seed accepted for a bank card: 160 bits (RFC 4226 §4 R6).
pub const MIN_MASTER_SEED_LEN: usize = 20;
/// The largest BIN: six decimal digits.
pub const MAX_BIN: u32 = 999_999;
/// The longest label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 64;
/// The largest time correction accepted: one year either way.
pub const MAX_TIME_OFFSET_SECONDS: i64 = 366 * 24 * 3600;

/// Why a card could not be made, changed or asked for a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// OTP parameters or time were rejected.
    #[error(transparent)]
    Otp(#[from] OtpError),
    /// Typed digits were rejected.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A BIN has at most six digits.
    #[error("a BIN has at most six digits")]
    InvalidBin,
    /// A card number must have 12 to 19 digits (Iranian cards have 16).
    #[error("a card number has 16 digits")]
    CardNumberLength,
    /// The card number's check digit is wrong: a typing mistake.
    #[error("the card number is not valid (check digit mismatch); please check it")]
    CardNumberChecksum,
    /// The label is empty, too long or holds control characters.
    #[error("a card label must be 1 to {MAX_LABEL_CHARS} printable characters")]
    InvalidLabel,
    /// The master seed is shorter than 160 bits.
    #[error("the master seed must be at least {MIN_MASTER_SEED_LEN} bytes")]
    SeedTooShort,
    /// A bank card needs at least one PIN slot.
    #[error("a bank card needs a first or a second PIN")]
    NoPinSlots,
    /// The card has no PIN of this kind.
    #[error("this card has no {0} PIN")]
    NoSuchPin(PinKind),
    /// The time correction is beyond a year.
    #[error("a time correction must be within one year")]
    TimeOffsetOutOfRange,
    /// The operation needs an HOTP (counter) token.
    #[error("this card is not a counter-based token")]
    NotCounterBased,
    /// Key derivation failed.
    #[error("key derivation failed")]
    KeyDerivation,
    /// The amount is above the ceiling the user set for this card.
    #[error("the amount is above this card's ceiling of {ceiling} rials")]
    AmountAboveCeiling {
        /// The card's ceiling in rials.
        ceiling: u64,
    },
    /// The payee is empty, too long or holds control characters.
    #[error("the payee must be 1 to 128 printable characters")]
    InvalidPayee,
    /// Only bank cards (with a master seed) make amount-bound codes.
    #[error("only bank cards make amount-bound codes")]
    NotABankCard,
}

/// A card's stable identifier: 128 random bits, shown as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardId([u8; 16]);

impl CardId {
    /// A fresh random id.
    ///
    /// # Errors
    /// [`RandomnessUnavailable`] when the OS random generator fails.
    pub fn random() -> Result<Self, RandomnessUnavailable> {
        let mut bytes = [0u8; 16];
        crate::secret::fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The id from its 16 bytes (as stored).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the 32-hex-digit form.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = core::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The 32 lower-case hex digits, without going through the formatter
    /// (ids are rendered for every card on every screen refresh).
    fn hex(&self) -> [u8; 32] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            for (slot, nibble) in pair.iter_mut().zip([byte >> 4, byte & 0x0f]) {
                *slot = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
            }
        }
        out
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        f.write_str(core::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardId({self})")
    }
}

/// Which card this is, without the card number: issuer BIN and last four
/// digits. Only a valid one can exist: the BIN has at most six digits.
///
/// ```
/// use dynpin::card::{Bank, CardError, CardRef, LastFour};
///
/// let card_ref = CardRef::new(610_433, LastFour::parse("1234")?)?;
/// assert_eq!(card_ref.bank(), Some(Bank::Mellat));
/// assert_eq!(CardRef::new(1_000_000, card_ref.last_four()), Err(CardError::InvalidBin));
/// # Ok::<(), CardError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardRef {
    bin: u32,
    last_four: LastFour,
}

impl CardRef {
    /// The reference of a card whose first six digits are `bin`.
    ///
    /// # Errors
    /// [`CardError::InvalidBin`] above [`MAX_BIN`].
    pub fn new(bin: u32, last_four: LastFour) -> Result<Self, CardError> {
        if bin > MAX_BIN {
            return Err(CardError::InvalidBin);
        }
        Ok(Self { bin, last_four })
    }

    /// The reference of a typed card number; the number itself is not kept.
    pub fn of(number: &CardNumber) -> Self {
        // A card number has at least 12 digits, so its first six are a valid BIN.
        Self {
            bin: number.bin().min(MAX_BIN),
            last_four: number.last_four(),
        }
    }

    /// The first six digits of the card number (the issuer's BIN).
    pub fn bin(&self) -> u32 {
        self.bin
    }

    /// The last four digits of the card number.
    pub fn last_four(&self) -> LastFour {
        self.last_four
    }

    /// The issuing bank, if the BIN is a known Iranian one.
    pub fn bank(&self) -> Option<Bank> {
        Bank::from_bin(self.bin)
    }
}

/// The parameters of one PIN slot: hash, digits, period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinPolicy {
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code, 4–10.
    pub digits: u8,
    /// Seconds per code, 10–300.
    pub period: u64,
}

impl PinPolicy {
    /// A typical first PIN: 4 digits, HMAC-SHA-256, 60 s (as Bank Maskan's).
    pub fn first_pin() -> Self {
        Self {
            algorithm: Algorithm::Sha256,
            digits: 4,
            period: otp::PIN_PERIOD,
        }
    }

    /// A typical second PIN: 8 digits, HMAC-SHA-256, 60 s.
    pub fn second_pin() -> Self {
        Self {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: otp::PIN_PERIOD,
        }
    }

    /// Checks the digits and period against the engine's limits.
    ///
    /// # Errors
    /// [`OtpError::DigitsOutOfRange`] or [`OtpError::PeriodOutOfRange`].
    pub fn validate(&self) -> Result<(), OtpError> {
        if !(otp::MIN_DIGITS..=otp::MAX_DIGITS).contains(&self.digits) {
            return Err(OtpError::DigitsOutOfRange {
                digits: self.digits,
            });
        }
        if !(otp::MIN_PERIOD..=otp::MAX_PERIOD).contains(&self.period) {
            return Err(OtpError::PeriodOutOfRange {
                period: self.period,
            });
        }
        Ok(())
    }
}

/// A plain OTP token, as imported from an `otpauth://` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpToken {
    /// The shared secret.
    pub secret: SecretBytes,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: u8,
    /// Time-based or counter-based.
    pub mode: TokenMode,
    /// Who issued it (the URI's `issuer`), if known.
    pub issuer: Option<String>,
    /// The account name in the URI's label.
    pub account: String,
}

/// How a token's moving factor advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// TOTP with this period in seconds.
    Totp {
        /// Seconds per code.
        period: u64,
    },
    /// HOTP at this counter value.
    Hotp {
        /// The counter of the next code to show.
        counter: u64,
    },
}

/// A keyed PIN slot of a bank card.
#[derive(Debug, Clone)]
struct PinSlot {
    policy: PinPolicy,
    totp: Totp,
}

impl PinSlot {
    fn derive(
        seed: &SecretBytes,
        purpose: KeyPurpose,
        policy: PinPolicy,
    ) -> Result<Self, CardError> {
        policy.validate()?;
        let key = derive_key(seed, purpose, policy.algorithm)?;
        let totp = Totp::new(policy.algorithm, key.expose(), policy.digits, policy.period)?;
        Ok(Self { policy, totp })
    }
}

// Keyed HMAC states are kept inline (a few hundred bytes) so a refresh of many
// cards walks contiguous memory; boxing would only add a pointer chase.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Keys {
    Bank {
        seed: SecretBytes,
        first: Option<PinSlot>,
        second: Option<PinSlot>,
    },
    Token {
        token: OtpToken,
        engine: TokenEngine,
    },
}

/// A token's keyed generator; an HOTP token's counter lives in its [`TokenMode`].
#[derive(Debug, Clone)]
enum TokenEngine {
    Time(Totp),
    Counter(Hotp),
}

/// A card in the app: a bank card with first/second dynamic PINs, or a plain token.
///
/// `Debug` never shows seeds or keys.
///
/// ```
/// use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
/// use dynpin::clock::FixedClock;
/// use dynpin::pin::PinKind;
/// use dynpin::secret::SecretBytes;
///
/// let card = Card::bank_card(CardId::random()?,
///     "Mellat",
///     CardRef::new(610_433, LastFour::parse("۱۲۳۴")?)?,
///     SecretBytes::random(32)?,
///     Some(PinPolicy::first_pin()),
///     Some(PinPolicy::second_pin()),
/// )?;
/// let clock = FixedClock::from_unix_seconds(1_800_000_000);
/// assert_eq!(card.pin(PinKind::First, &clock)?.digits().len(), 4);
/// assert_eq!(card.pin(PinKind::Second, &clock)?.digits().len(), 8);
/// assert_eq!(card.bank().map(|b| b.name()), Some("Bank Mellat"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Card {
    id: CardId,
    label: String,
    card_ref: Option<CardRef>,
    time_offset: i64,
    exportable: bool,
    amount_ceiling: Option<u64>,
    keys: Keys,
}

impl Card {
    /// A bank card `id` whose PIN keys derive from `master_seed` (at least 20
    /// bytes). A new card takes [`CardId::random`]; a stored one its own id.
    ///
    /// # Errors
    /// [`CardError::InvalidLabel`], [`CardError::SeedTooShort`],
    /// [`CardError::NoPinSlots`], or an [`OtpError`] for a bad policy.
    pub fn bank_card(
        id: CardId,
        label: &str,
        card_ref: CardRef,
        master_seed: SecretBytes,
        first: Option<PinPolicy>,
        second: Option<PinPolicy>,
    ) -> Result<Self, CardError> {
        let label = clean_label(label)?;
        if master_seed.len() < MIN_MASTER_SEED_LEN {
            return Err(CardError::SeedTooShort);
        }
        if first.is_none() && second.is_none() {
            return Err(CardError::NoPinSlots);
        }
        let first = first
            .map(|p| PinSlot::derive(&master_seed, KeyPurpose::FirstPin, p))
            .transpose()?;
        let second = second
            .map(|p| PinSlot::derive(&master_seed, KeyPurpose::SecondPin, p))
            .transpose()?;
        Ok(Self {
            id,
            label,
            card_ref: Some(card_ref),
            time_offset: 0,
            // Bank seeds must not be cloneable unless the issuer says so.
            exportable: false,
            amount_ceiling: None,
            keys: Keys::Bank {
                seed: master_seed,
                first,
                second,
            },
        })
    }

    /// A card `id` holding one plain TOTP/HOTP token.
    ///
    /// # Errors
    /// [`CardError::InvalidLabel`], or an [`OtpError`] for bad parameters.
    pub fn token(id: CardId, label: &str, token: OtpToken) -> Result<Self, CardError> {
        let label = clean_label(label)?;
        let hotp = Hotp::new(token.algorithm, token.secret.expose(), token.digits)?;
        let engine = match token.mode {
            TokenMode::Totp { period } => TokenEngine::Time(Totp::from_hotp(hotp, period)?),
            TokenMode::Hotp { .. } => TokenEngine::Counter(hotp),
        };
        Ok(Self {
            id,
            label,
            card_ref: None,
            time_offset: 0,
            exportable: true,
            amount_ceiling: None,
            keys: Keys::Token { token, engine },
        })
    }

    /// The card's stable id.
    pub fn id(&self) -> CardId {
        self.id
    }

    /// Whether `other` is the same card: the same id, or bank cards with the
    /// same BIN and last four digits (a re-activation of one card). The one
    /// rule for duplicates, wherever cards are added.
    pub fn is_same_card(&self, other: &Card) -> bool {
        self.id == other.id || (self.card_ref.is_some() && self.card_ref == other.card_ref)
    }

    /// The user's name for the card.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Renames the card.
    ///
    /// # Errors
    /// [`CardError::InvalidLabel`]; the old label stays.
    pub fn set_label(&mut self, label: &str) -> Result<(), CardError> {
        self.label = clean_label(label)?;
        Ok(())
    }

    /// BIN and last four digits, for a bank card.
    pub fn card_ref(&self) -> Option<CardRef> {
        self.card_ref
    }

    /// The issuing bank, when known.
    pub fn bank(&self) -> Option<Bank> {
        self.card_ref.and_then(|r| r.bank())
    }

    /// The seconds added to the clock before computing this card's codes.
    pub fn time_offset(&self) -> i64 {
        self.time_offset
    }

    /// Sets the time correction for a phone whose clock is off (e.g. `-30` when
    /// the phone runs 30 s fast).
    ///
    /// # Errors
    /// [`CardError::TimeOffsetOutOfRange`] beyond one year either way.
    pub fn set_time_offset(&mut self, seconds: i64) -> Result<(), CardError> {
        if seconds.unsigned_abs() > MAX_TIME_OFFSET_SECONDS.unsigned_abs() {
            return Err(CardError::TimeOffsetOutOfRange);
        }
        self.time_offset = seconds;
        Ok(())
    }

    /// Whether the card's secret may leave the app (otpauth export, backups).
    /// False for bank cards unless their issuer allowed it; true for imported tokens.
    pub fn exportable(&self) -> bool {
        self.exportable
    }

    /// Marks whether the secret may leave the app. Set from the issuer's
    /// activation flags; an app should not offer this to users for bank cards.
    pub fn set_exportable(&mut self, exportable: bool) {
        self.exportable = exportable;
    }

    /// The largest transaction amount (in rials) the user allows dynamic PINs
    /// for on this card; `None` means no ceiling.
    pub fn amount_ceiling(&self) -> Option<u64> {
        self.amount_ceiling
    }

    /// Sets or clears the user's transaction amount ceiling, in rials.
    pub fn set_amount_ceiling(&mut self, rials: Option<u64>) {
        self.amount_ceiling = rials;
    }

    /// The PINs this card shows, in display order.
    pub fn pin_kinds(&self) -> Vec<PinKind> {
        match &self.keys {
            Keys::Bank { first, second, .. } => [
                (PinKind::First, first.is_some()),
                (PinKind::Second, second.is_some()),
            ]
            .into_iter()
            .filter_map(|(kind, present)| present.then_some(kind))
            .collect(),
            Keys::Token { .. } => vec![PinKind::Token],
        }
    }

    /// The policy of a bank card's PIN slot.
    pub fn policy(&self, kind: PinKind) -> Option<PinPolicy> {
        self.slot(kind).ok().map(|slot| slot.policy)
    }

    /// The bank card's master seed, or the token's secret: for storage only.
    pub fn secret(&self) -> &SecretBytes {
        match &self.keys {
            Keys::Bank { seed, .. } => seed,
            Keys::Token { token, .. } => &token.secret,
        }
    }

    /// The token, for a card that holds a plain token.
    pub fn as_token(&self) -> Option<&OtpToken> {
        match &self.keys {
            Keys::Token { token, .. } => Some(token),
            Keys::Bank { .. } => None,
        }
    }

    /// The keyed TOTP generator of a bank card's PIN slot: what a bank's
    /// verifier scans a window of steps with. `None` for a token or a missing slot.
    pub fn slot_totp(&self, kind: PinKind) -> Option<&Totp> {
        self.slot(kind).ok().map(|slot| &slot.totp)
    }

    /// The generator behind the `kind` PIN.
    fn engine(&self, kind: PinKind) -> Result<Engine<'_>, CardError> {
        match (&self.keys, kind) {
            (Keys::Token { token, engine }, PinKind::Token) => match (engine, token.mode) {
                (TokenEngine::Time(totp), _) => Ok(Engine::Time(totp)),
                (TokenEngine::Counter(hotp), TokenMode::Hotp { counter }) => {
                    Ok(Engine::Counter(hotp, counter))
                }
                // Both are set together from the same mode; only the counter ever changes.
                (TokenEngine::Counter(_), TokenMode::Totp { .. }) => {
                    Err(CardError::NotCounterBased)
                }
            },
            _ => Ok(Engine::Time(&self.slot(kind)?.totp)),
        }
    }

    fn slot(&self, kind: PinKind) -> Result<&PinSlot, CardError> {
        let slot = match (&self.keys, kind) {
            (Keys::Bank { first, .. }, PinKind::First) => first.as_ref(),
            (Keys::Bank { second, .. }, PinKind::Second) => second.as_ref(),
            _ => None,
        };
        slot.ok_or(CardError::NoSuchPin(kind))
    }

    /// The `kind` PIN now, by `clock`, after this card's time correction.
    ///
    /// # Errors
    /// [`CardError::NoSuchPin`], or [`OtpError::TimeBeforeEpoch`] for a clock before 1970.
    pub fn pin(&self, kind: PinKind, clock: &dyn Clock) -> Result<PinCode, CardError> {
        self.pin_at_millis(kind, clock.now_millis())
    }

    /// The `kind` PIN at `unix_millis` (before this card's time correction).
    ///
    /// # Errors
    /// As [`Card::pin`].
    pub fn pin_at_millis(&self, kind: PinKind, unix_millis: i64) -> Result<PinCode, CardError> {
        let (seconds, sub_second) = self.corrected_time(unix_millis)?;
        self.pin_at(kind, seconds, sub_second)
    }

    /// A clock reading after this card's time correction: whole Unix seconds,
    /// and milliseconds into that second.
    fn corrected_time(&self, unix_millis: i64) -> Result<(u64, u64), CardError> {
        let seconds = otp::unix_seconds(unix_millis, self.time_offset)?;
        // rem_euclid(1000) is in 0..1000, so the conversion is exact.
        let sub_second = u64::try_from(unix_millis.rem_euclid(1000)).unwrap_or(0);
        Ok((seconds, sub_second))
    }

    /// Every PIN of the card now: one call per card for a screen refresh.
    ///
    /// # Errors
    /// As [`Card::pin`].
    pub fn pins(&self, clock: &dyn Clock) -> Result<Vec<PinCode>, CardError> {
        self.pins_at_millis(clock.now_millis())
    }

    /// Every PIN of the card at `unix_millis` (before this card's time correction).
    ///
    /// # Errors
    /// As [`Card::pin`].
    pub fn pins_at_millis(&self, unix_millis: i64) -> Result<Vec<PinCode>, CardError> {
        self.pin_kinds()
            .into_iter()
            .map(|kind| self.pin_at_millis(kind, unix_millis))
            .collect()
    }

    /// The `kind` PIN at whole Unix second `unix_seconds` (already corrected),
    /// `sub_second_millis` into that second.
    fn pin_at(
        &self,
        kind: PinKind,
        unix_seconds: u64,
        sub_second_millis: u64,
    ) -> Result<PinCode, CardError> {
        match self.engine(kind)? {
            Engine::Counter(hotp, counter) => {
                Ok(PinCode::new(kind, hotp.code(counter), counter, None))
            }
            Engine::Time(totp) => time_based_pin(kind, totp, unix_seconds, sub_second_millis),
        }
    }

    /// The code that follows `pin`: the next time step's, or the next counter's.
    /// A time-based one is described as it will be when its step begins.
    ///
    /// # Errors
    /// [`CardError::NoSuchPin`], or [`OtpError::Overflow`] past the last step.
    pub fn next_pin(&self, pin: &PinCode) -> Result<PinCode, CardError> {
        let kind = pin.kind();
        let next = pin.counter().checked_add(1).ok_or(OtpError::Overflow)?;
        match self.engine(kind)? {
            Engine::Counter(hotp, _) => Ok(PinCode::new(kind, hotp.code(next), next, None)),
            Engine::Time(totp) => step_pin(kind, totp, next),
        }
    }

    /// The amount-bound second PIN for paying `amount_rials` to `payee` now
    /// (see [`crate::card::amount`]). Refused above the user's ceiling for this card.
    ///
    /// # Errors
    /// [`CardError::AmountAboveCeiling`], [`CardError::NotABankCard`],
    /// [`CardError::InvalidPayee`], or a time error.
    pub fn amount_bound_code(
        &self,
        amount_rials: u64,
        payee: &str,
        clock: &dyn Clock,
    ) -> Result<PinCode, CardError> {
        self.amount_bound_code_at_millis(amount_rials, payee, clock.now_millis())
    }

    /// As [`Card::amount_bound_code`] at `unix_millis` (before this card's
    /// own time correction).
    ///
    /// # Errors
    /// As [`Card::amount_bound_code`].
    pub fn amount_bound_code_at_millis(
        &self,
        amount_rials: u64,
        payee: &str,
        unix_millis: i64,
    ) -> Result<PinCode, CardError> {
        if let Some(ceiling) = self.amount_ceiling.filter(|&c| amount_rials > c) {
            return Err(CardError::AmountAboveCeiling { ceiling });
        }
        let Keys::Bank { seed, .. } = &self.keys else {
            return Err(CardError::NotABankCard);
        };
        let (seconds, sub_second) = self.corrected_time(unix_millis)?;
        let period = crate::card::amount::TIME_STEP;
        let counter = seconds / period;
        let ocra = crate::card::amount::keyed(seed)?;
        let code = crate::card::amount::code(&ocra, amount_rials, payee, counter)?;
        let step = otp::TimeStep {
            counter,
            start: counter * period,
            period,
        };
        let validity = Validity::at(step, seconds, sub_second)?;
        Ok(PinCode::new(
            PinKind::AmountBound,
            code,
            counter,
            Some(validity),
        ))
    }

    /// Moves an HOTP token to its next counter (after its code was used).
    ///
    /// # Errors
    /// [`CardError::NotCounterBased`] for other cards, [`OtpError::Overflow`] at `u64::MAX`.
    pub fn advance_counter(&mut self) -> Result<u64, CardError> {
        match &mut self.keys {
            Keys::Token {
                token:
                    OtpToken {
                        mode: TokenMode::Hotp { counter },
                        ..
                    },
                ..
            } => {
                *counter = counter.checked_add(1).ok_or(OtpError::Overflow)?;
                Ok(*counter)
            }
            _ => Err(CardError::NotCounterBased),
        }
    }
}

/// A borrowed generator with what it needs to produce a code.
enum Engine<'a> {
    Time(&'a Totp),
    Counter(&'a Hotp, u64),
}

fn time_based_pin(
    kind: PinKind,
    totp: &Totp,
    unix_seconds: u64,
    sub_second: u64,
) -> Result<PinCode, CardError> {
    let step = totp.step_at(unix_seconds)?;
    let validity = Validity::at(step, unix_seconds, sub_second)?;
    Ok(PinCode::new(
        kind,
        totp.code_for_step(step.counter),
        step.counter,
        Some(validity),
    ))
}

fn step_pin(kind: PinKind, totp: &Totp, counter: u64) -> Result<PinCode, CardError> {
    let step = totp.step(counter)?;
    let validity = Validity::of_step(step, 0)?;
    Ok(PinCode::new(
        kind,
        totp.code_for_step(counter),
        counter,
        Some(validity),
    ))
}

/// Trims a label and checks it is 1–64 printable characters.
fn clean_label(label: &str) -> Result<String, CardError> {
    let label = label.trim();
    let chars = label.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(CardError::InvalidLabel);
    }
    Ok(label.to_owned())
}
