//! The records and enums that cross the FFI: plain data, no behaviour.

use dynpin::activation::ActivationInfo;
use dynpin::card::{Card, TokenMode};
use dynpin::pin::{PinCode, PinKind};
use dynpin::text::SpokenLanguage;
use dynpin::vault::{CardPins, ImportSummary, LockoutStatus};

use crate::error::DynpinError;

/// A count or time for a UI, as a signed number Kotlin formats like any
/// other (`UInt`/`ULong` break `String.format("%d")`): saturated at the top.
pub(crate) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// As [`signed`], for counts.
pub(crate) fn signed32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Which PIN of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum PinType {
    /// The first PIN (رمز اول), for ATMs and card readers.
    First,
    /// The second PIN (رمز دوم), for online payments.
    Second,
    /// The code of an imported TOTP/HOTP token.
    Token,
    /// A second PIN bound to one transaction's amount and payee.
    AmountBound,
}

impl From<PinKind> for PinType {
    fn from(kind: PinKind) -> Self {
        match kind {
            PinKind::First => PinType::First,
            PinKind::Second => PinType::Second,
            PinKind::Token => PinType::Token,
            PinKind::AmountBound => PinType::AmountBound,
        }
    }
}

impl From<PinType> for PinKind {
    fn from(kind: PinType) -> Self {
        match kind {
            PinType::First => PinKind::First,
            PinType::Second => PinKind::Second,
            PinType::Token => PinKind::Token,
            PinType::AmountBound => PinKind::AmountBound,
        }
    }
}

/// What a card holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CardKind {
    /// A bank card with a first and/or second dynamic PIN.
    BankCard,
    /// An imported time-based token.
    TotpToken,
    /// An imported counter-based token.
    HotpToken,
}

/// A card as the card list shows it. Contains no secret.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CardInfo {
    /// The card's stable id (32 hex digits).
    pub id: String,
    /// The user's name for the card.
    pub label: String,
    /// What the card holds.
    pub kind: CardKind,
    /// The bank's English name, if known.
    pub bank_name: Option<String>,
    /// The bank's Persian name, if known.
    pub bank_name_fa: Option<String>,
    /// The last four digits of the card number (bank cards).
    pub last_four: Option<String>,
    /// The PINs the card shows, in display order.
    pub pins: Vec<PinType>,
    /// The token's issuer (imported tokens).
    pub issuer: Option<String>,
    /// The token's account name (imported tokens).
    pub account: Option<String>,
    /// The user's transaction ceiling in rials, if set.
    pub amount_ceiling: Option<u64>,
    /// Seconds added to the phone's clock for this card.
    pub time_offset_seconds: i64,
    /// Whether the card's secret may be exported.
    pub exportable: bool,
}

impl From<&Card> for CardInfo {
    fn from(card: &Card) -> Self {
        let token = card.as_token();
        let kind = match token.map(|t| t.mode) {
            None => CardKind::BankCard,
            Some(TokenMode::Totp { .. }) => CardKind::TotpToken,
            Some(TokenMode::Hotp { .. }) => CardKind::HotpToken,
        };
        Self {
            id: card.id().to_string(),
            label: card.label().to_owned(),
            kind,
            bank_name: card.bank().map(|b| b.name().to_owned()),
            bank_name_fa: card.bank().map(|b| b.persian_name().to_owned()),
            last_four: card.card_ref().map(|r| r.last_four().to_string()),
            pins: card.pin_kinds().into_iter().map(PinType::from).collect(),
            issuer: token.and_then(|t| t.issuer.clone()),
            account: token.map(|t| t.account.clone()),
            amount_ceiling: card.amount_ceiling(),
            time_offset_seconds: card.time_offset(),
            exportable: card.exportable(),
        }
    }
}

/// One PIN ready to show, with its countdown.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PinInfo {
    /// The card it belongs to.
    pub card_id: String,
    /// Which PIN.
    pub kind: PinType,
    /// The zero-padded digits, e.g. `"04287082"`.
    pub digits: String,
    /// The digits grouped for reading, e.g. `"0428 7082"`.
    pub grouped: String,
    /// The grouped digits in Persian numerals, e.g. `"۰۴۲۸ ۷۰۸۲"`.
    pub persian: String,
    /// `persian` between LEFT-TO-RIGHT ISOLATE and POP DIRECTIONAL ISOLATE
    /// (U+2066 … U+2069): shows in the right order inside Persian text.
    /// Not for the clipboard.
    pub persian_isolated: String,
    /// What a screen reader says for the PIN's view, digit by digit in
    /// English: `"zero four two eight, seven zero eight two"`.
    pub accessibility_label_en: String,
    /// The same in Persian: `"صفر چهار دو هشت، هفت صفر هشت دو"`.
    pub accessibility_label_fa: String,
    /// The HOTP counter or TOTP step (unsigned: an HOTP counter may use all 64 bits).
    pub counter: u64,
    /// First second of validity (Unix time); absent for counter-based tokens.
    pub valid_from: Option<i64>,
    /// First second after validity (Unix time); absent for counter-based tokens.
    pub valid_until: Option<i64>,
    /// Whole seconds left, rounded up (60 … 1), for the countdown text.
    pub seconds_remaining: Option<i64>,
    /// Milliseconds left, for a smooth countdown.
    pub millis_remaining: Option<i64>,
    /// How much of the validity is gone, 0.0 to below 1.0, for a countdown ring.
    pub fraction_elapsed: Option<f64>,
}

impl PinInfo {
    pub(crate) fn new(card: &Card, pin: &PinCode) -> Self {
        Self::with_id(card.id().to_string(), pin)
    }

    /// With the card id already rendered (a refresh renders it once per card).
    pub(crate) fn with_id(card_id: String, pin: &PinCode) -> Self {
        let validity = pin.validity();
        Self {
            card_id,
            kind: pin.kind().into(),
            digits: pin.digits(),
            grouped: pin.grouped(),
            persian: pin.persian(),
            persian_isolated: pin.persian_isolated(),
            accessibility_label_en: pin.spoken(SpokenLanguage::English),
            accessibility_label_fa: pin.spoken(SpokenLanguage::Persian),
            counter: pin.counter(),
            valid_from: validity.map(|v| signed(v.start)),
            valid_until: validity.map(|v| signed(v.end)),
            seconds_remaining: validity.map(|v| signed(v.seconds_remaining())),
            millis_remaining: validity.map(|v| signed(v.millis_remaining())),
            fraction_elapsed: validity.map(|v| v.fraction_elapsed()),
        }
    }
}

/// One card's PINs in a screen refresh. Each card succeeds or fails alone.
/// Only what changes every step crosses the FFI; the card list itself comes
/// from `cards()`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CardCodes {
    /// The card's id, as in `cards()`.
    pub card_id: String,
    /// Its PINs now, in display order (empty if `error` is set).
    pub pins: Vec<PinInfo>,
    /// Why this card's PINs could not be computed (e.g. a clock before 1970).
    pub error: Option<String>,
}

impl From<CardPins> for CardCodes {
    fn from(card: CardPins) -> Self {
        let card_id = card.id.to_string();
        match card.pins {
            Ok(pins) => Self {
                pins: pins
                    .iter()
                    .map(|pin| PinInfo::with_id(card_id.clone(), pin))
                    .collect(),
                card_id,
                error: None,
            },
            Err(e) => Self {
                card_id,
                pins: Vec::new(),
                error: Some(DynpinError::from(e).to_string()),
            },
        }
    }
}

/// What an activation payload says before the code is typed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActivationDetails {
    /// The bank's English name, if known.
    pub bank_name: Option<String>,
    /// The bank's Persian name, if known.
    pub bank_name_fa: Option<String>,
    /// The card's first six digits.
    pub bin: u32,
    /// The card's last four digits.
    pub last_four: String,
    /// The label the bank suggests.
    pub label: Option<String>,
    /// When the payload was issued (Unix seconds).
    pub issued_at: i64,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// The activation id (16 hex digits), for support calls.
    pub activation_id: String,
    /// Whether the bank allows the card's secret to be exported.
    pub exportable: bool,
    /// The key derivation's memory in KiB (Argon2id `m`): what activating costs.
    pub kdf_memory_kib: u32,
    /// The key derivation's passes (Argon2id `t`).
    pub kdf_iterations: u32,
    /// The key derivation's lanes (Argon2id `p`).
    pub kdf_lanes: u32,
}

impl From<ActivationInfo> for ActivationDetails {
    fn from(info: ActivationInfo) -> Self {
        Self {
            bank_name: info.bank().map(|b| b.name().to_owned()),
            bank_name_fa: info.bank().map(|b| b.persian_name().to_owned()),
            bin: info.card_ref.bin(),
            last_four: info.card_ref.last_four().to_string(),
            label: info.label,
            issued_at: signed(info.issued_at),
            expires_at: signed(info.expires_at),
            activation_id: info.activation_id.to_string(),
            exportable: info.exportable,
            kdf_memory_kib: info.kdf.memory_kib,
            kdf_iterations: info.kdf.iterations,
            kdf_lanes: info.kdf.lanes,
        }
    }
}

/// The outcome of an activation.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ActivationResult {
    /// The new card, already saved in the vault.
    pub card: CardInfo,
    /// The 6-digit code to type into internet banking to finish activation.
    pub confirmation_code: String,
}

/// Where the vault's lockout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LockoutInfo {
    /// Consecutive wrong passwords so far.
    pub failures: i32,
    /// Attempts left before the limit.
    pub remaining_attempts: i32,
    /// Seconds before the next attempt is allowed.
    pub wait_seconds: i64,
    /// The limit was reached and the vault is locked for good.
    pub locked_for_good: bool,
}

impl From<LockoutStatus> for LockoutInfo {
    fn from(s: LockoutStatus) -> Self {
        Self {
            failures: signed32(s.failures),
            remaining_attempts: signed32(s.remaining_attempts),
            wait_seconds: signed(s.wait_seconds),
            locked_for_good: s.locked_for_good,
        }
    }
}

/// How a new vault is set up. `VaultSettings()` in Kotlin gives the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct VaultSettings {
    /// Argon2id memory in KiB for the password (default 65536 = 64 MiB; at least 19456).
    #[uniffi(default = 65536)]
    pub kdf_memory_kib: u32,
    /// Argon2id passes (default 3; at least 2).
    #[uniffi(default = 3)]
    pub kdf_iterations: u32,
    /// Idle seconds before the vault locks itself (default 120).
    #[uniffi(default = 120)]
    pub auto_lock_seconds: u32,
    /// Wrong passwords allowed in a row (default 10).
    #[uniffi(default = 10)]
    pub max_attempts: u8,
    /// At the limit, erase the vault (default, as bank apps do) or lock it for good.
    #[uniffi(default = true)]
    pub wipe_on_limit: bool,
}

impl Default for VaultSettings {
    fn default() -> Self {
        Self {
            kdf_memory_kib: 65_536,
            kdf_iterations: 3,
            auto_lock_seconds: 120,
            max_attempts: 10,
            wipe_on_limit: true,
        }
    }
}

/// What importing a backup did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BackupImport {
    /// Ids of cards added.
    pub added: Vec<String>,
    /// Ids of cards that replaced existing ones.
    pub replaced: Vec<String>,
    /// Ids of cards left out because the app had them.
    pub skipped: Vec<String>,
}

impl From<ImportSummary> for BackupImport {
    fn from(s: ImportSummary) -> Self {
        let ids = |v: Vec<dynpin::card::CardId>| v.into_iter().map(|id| id.to_string()).collect();
        Self {
            added: ids(s.added),
            replaced: ids(s.replaced),
            skipped: ids(s.skipped),
        }
    }
}

/// The phone's clock against a time the bank gave (`Authenticator.check_clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ClockCheck {
    /// The phone's time minus the bank's, seconds: positive when the phone
    /// is ahead, negative when behind.
    pub phone_ahead_seconds: i64,
    /// Whether that is beyond 30 s either way (half a PIN period): codes may
    /// be refused; tell the user, or correct them.
    pub is_off: bool,
    /// The app-wide offset that corrects the codes (for
    /// `set_app_time_offset`): 0 when the clock is not off.
    pub suggested_offset_seconds: i64,
}

impl From<dynpin::clock::ClockCheck> for ClockCheck {
    fn from(c: dynpin::clock::ClockCheck) -> Self {
        Self {
            phone_ahead_seconds: c.phone_ahead_seconds,
            is_off: c.is_off(),
            suggested_offset_seconds: c.suggested_offset_seconds,
        }
    }
}
