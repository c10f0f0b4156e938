//! Activation: how a card's seed reaches the phone, once.
//!
//! The bank shows a QR code (or sends a text) holding an **activation payload**
//! and delivers an **activation code** by another channel (SMS, ATM receipt).
//! The payload alone is useless: its seed and PIN policies are sealed with
//! XChaCha20-Poly1305 under a key derived from the activation code with
//! Argon2id. Everything else in it — bank, last four digits, label, times,
//! activation id, KDF parameters — is readable before the code is typed
//! ([`inspect`]) and authenticated as associated data.
//!
//! The byte layout, text form and test vectors are in `docs/activation-format.md`.
//!
//! ```no_run
//! use dynpin::activation::{self, ActivationCode};
//! use dynpin::clock::SystemClock;
//!
//! # fn scanned_qr_text() -> String { String::new() }
//! let text = scanned_qr_text();
//! let info = activation::inspect(&text)?;
//! println!("activate {} card ending {}?", info.bank_name(), info.card_ref.last_four());
//! let code = ActivationCode::parse("1234 5678 9012 3456")?;
//! let activated = activation::activate(&text, &code, &SystemClock)?;
//! println!("type {} into internet banking to finish", activated.confirmation_code);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod code;
pub mod payload;

use core::fmt;

pub use code::{ActivationCode, MAX_CODE_DIGITS, MIN_CODE_DIGITS};
pub use payload::{PAYLOAD_VERSION_1, PREFIX};

use crate::card::derive::{KeyPurpose, derive_key};
use crate::card::{Bank, Card, CardError, CardId, CardRef};
use crate::clock::Clock;
use crate::kdf::{KdfError, KdfParams};
use crate::otp::{self, Algorithm, Hotp, OtpCode};
use crate::secret::{RandomnessUnavailable, SecretBytes};
use crate::text::InputError;

/// How far the phone's clock may be behind the issue time before activation
/// is refused as "clock wrong" (issuer and phone clocks are never exact).
pub const CLOCK_TOLERANCE_SECONDS: u64 = 300;
/// Digits of the confirmation code.
pub const CONFIRMATION_DIGITS: u8 = 6;

/// Why a payload could not be read or activated. Never contains the code or the seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationError {
    /// Not a payload, or a damaged one; names the part that is wrong.
    #[error("this is not a valid activation payload ({0})")]
    Malformed(&'static str),
    /// The checksum does not match: the text was mistyped or cut short.
    #[error("the activation payload is damaged or mistyped (checksum mismatch)")]
    BadChecksum,
    /// The payload was made for a newer app.
    #[error("activation payload version {version} is not supported; please update the app")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The payload's validity has ended; ask the bank for a new one.
    #[error("this activation payload expired {seconds_ago} s ago; please request a new one")]
    Expired {
        /// Seconds since the payload expired.
        seconds_ago: u64,
        /// Seconds since it was issued, by the phone's clock. A payload the
        /// user just received that reads as expired means the phone's clock
        /// is about this far ahead.
        issued_seconds_ago: u64,
    },
    /// The phone's clock is well behind the time the payload was issued.
    #[error("the phone's clock is {seconds_behind} s behind; please set the date and time")]
    ClockBehind {
        /// How many seconds the phone's clock is behind the issue time.
        seconds_behind: u64,
    },
    /// The typed activation code is not the right one (or the payload was altered).
    #[error("the activation code is wrong")]
    WrongActivationCode,
    /// The activation code is not 16–24 digits.
    #[error("the activation code is not valid: {0}")]
    InvalidActivationCode(#[from] InputError),
    /// The payload asks for a key derivation below the accepted minimum.
    #[error("the payload's key-derivation parameters are too weak to be trusted")]
    KdfTooWeak,
    /// The payload asks for a key derivation beyond what a phone should spend.
    #[error("the payload's key-derivation parameters are too costly for this device")]
    KdfTooCostly,
    /// The activated card could not be built.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The operating system's random generator failed (drawing the card's id).
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
}

impl From<KdfError> for ActivationError {
    fn from(e: KdfError) -> Self {
        match e {
            KdfError::TooWeak => ActivationError::KdfTooWeak,
            // Too costly for this device, whatever the ceiling says.
            KdfError::TooCostly | KdfError::OutOfMemory => ActivationError::KdfTooCostly,
            KdfError::Failed => ActivationError::Malformed("kdf"),
        }
    }
}

/// An activation's public identifier: 64 random bits, shown as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActivationId(pub [u8; payload::ACTIVATION_ID_LEN]);

impl ActivationId {
    /// As a counter value for the confirmation code's HOTP.
    fn as_counter(&self) -> u64 {
        u64::from_be_bytes(self.0)
    }
}

impl fmt::Display for ActivationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ActivationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActivationId({self})")
    }
}

/// What a payload says before the activation code is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationInfo {
    /// The payload format version.
    pub version: u8,
    /// The card's BIN and last four digits.
    pub card_ref: CardRef,
    /// The label the bank suggests, if any.
    pub label: Option<String>,
    /// When the payload was issued (Unix seconds).
    pub issued_at: u64,
    /// When it stops being accepted (Unix seconds).
    pub expires_at: u64,
    /// The activation's identifier.
    pub activation_id: ActivationId,
    /// Whether the bank allows the card's secret to be exported.
    pub exportable: bool,
    /// The Argon2id parameters the activation code is stretched with.
    pub kdf: KdfParams,
}

impl ActivationInfo {
    /// The public part of a payload with header `h`.
    pub(crate) fn of(h: &payload::Header) -> Self {
        Self {
            version: h.version,
            card_ref: h.card_ref,
            label: h.label.clone(),
            issued_at: h.issued_at,
            expires_at: h.expires_at().unwrap_or(u64::MAX),
            activation_id: ActivationId(h.activation_id),
            exportable: h.exportable,
            kdf: h.kdf,
        }
    }

    /// The issuing bank, if its BIN is known.
    pub fn bank(&self) -> Option<Bank> {
        self.card_ref.bank()
    }

    /// The bank's English name, or "Unknown bank".
    pub fn bank_name(&self) -> &'static str {
        self.bank().map_or("Unknown bank", Bank::name)
    }
}

/// A payload read from its text form, ready to be activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationPayload {
    parsed: payload::Parsed,
}

impl ActivationPayload {
    /// Reads a payload (as scanned or pasted; spaces, line breaks and letter case
    /// do not matter). Checks the prefix, the encoding, the checksum and the
    /// version; derives no key.
    ///
    /// # Errors
    /// [`ActivationError::Malformed`], [`ActivationError::BadChecksum`] or
    /// [`ActivationError::UnsupportedVersion`].
    pub fn parse(text: &str) -> Result<Self, ActivationError> {
        let parsed = payload::parse(text)?;
        // An expiry beyond u64 would be nonsense; refuse rather than wrap.
        parsed
            .header
            .expires_at()
            .ok_or(ActivationError::Malformed("expiry"))?;
        Ok(Self { parsed })
    }

    /// The public part of the payload.
    pub fn info(&self) -> ActivationInfo {
        ActivationInfo::of(&self.parsed.header)
    }

    /// Checks time and KDF parameters, then derives the key from `code`
    /// (the slow step, on purpose), opens the payload and builds the card.
    ///
    /// # Errors
    /// [`ActivationError::KdfTooWeak`]/[`ActivationError::KdfTooCostly`],
    /// [`ActivationError::ClockBehind`], [`ActivationError::Expired`] (all
    /// before the slow step), then [`ActivationError::WrongActivationCode`].
    pub fn activate(
        &self,
        code: &ActivationCode,
        clock: &dyn Clock,
    ) -> Result<Activated, ActivationError> {
        self.activate_within(code, clock, KdfParams::MAXIMUM)
    }

    /// As [`ActivationPayload::activate`] on a device that accepts key
    /// derivations up to `ceiling` (see [`KdfParams::check_within`]).
    ///
    /// # Errors
    /// As [`ActivationPayload::activate`]; [`ActivationError::KdfTooCostly`]
    /// above `ceiling`, before anything is derived.
    pub fn activate_within(
        &self,
        code: &ActivationCode,
        clock: &dyn Clock,
        ceiling: KdfParams,
    ) -> Result<Activated, ActivationError> {
        let info = self.info();
        info.kdf.check_within(ceiling)?;
        let now = otp::unix_seconds(clock.now_millis(), 0).map_err(CardError::from)?;
        if now.saturating_add(CLOCK_TOLERANCE_SECONDS) < info.issued_at {
            return Err(ActivationError::ClockBehind {
                seconds_behind: info.issued_at - now,
            });
        }
        if now >= info.expires_at {
            return Err(ActivationError::Expired {
                seconds_ago: now - info.expires_at,
                issued_seconds_ago: now.saturating_sub(info.issued_at),
            });
        }
        let secrets = payload::open(&self.parsed, code.digits())?;
        activated(&info, secrets)
    }
}

/// The card an activation makes of a payload's public part and its opened
/// secrets: the one place both come together (activation, and the fuzz
/// target that proves whatever activates saves and reopens).
pub(crate) fn activated(
    info: &ActivationInfo,
    secrets: payload::Secrets,
) -> Result<Activated, ActivationError> {
    let default_label;
    let label = match &info.label {
        Some(label) => label.as_str(),
        None => {
            default_label = format!(
                "{} {}",
                info.bank().map_or("Card", Bank::name),
                info.card_ref.last_four()
            );
            &default_label
        }
    };
    let confirmation = confirmation_code(&secrets.seed, info.activation_id)?;
    let mut card = Card::bank_card(
        CardId::random()?,
        label,
        info.card_ref,
        secrets.seed,
        secrets.first,
        secrets.second,
    )?;
    card.set_exportable(info.exportable);
    Ok(Activated {
        card,
        activation_id: info.activation_id,
        confirmation_code: confirmation.to_string(),
    })
}

/// The outcome of an activation.
#[derive(Debug, Clone)]
pub struct Activated {
    /// The new card, ready to be stored.
    pub card: Card,
    /// The activation it came from.
    pub activation_id: ActivationId,
    /// The 6-digit code the user types into internet banking to finish activation.
    pub confirmation_code: String,
}

/// Reads a payload's public part without the activation code.
///
/// # Errors
/// As [`ActivationPayload::parse`].
pub fn inspect(text: &str) -> Result<ActivationInfo, ActivationError> {
    Ok(ActivationPayload::parse(text)?.info())
}

/// Reads and activates a payload in one call.
///
/// # Errors
/// As [`ActivationPayload::parse`] and [`ActivationPayload::activate`].
pub fn activate(
    text: &str,
    code: &ActivationCode,
    clock: &dyn Clock,
) -> Result<Activated, ActivationError> {
    ActivationPayload::parse(text)?.activate(code, clock)
}

/// The confirmation code of an activation: HOTP-SHA-256, 6 digits, keyed with
/// the master seed's `activation-confirmation` key, at the activation id read as
/// a big-endian counter. Domain-separated from both PINs by its own key.
///
/// # Errors
/// [`CardError::KeyDerivation`] in theory only.
pub fn confirmation_code(
    master_seed: &SecretBytes,
    activation_id: ActivationId,
) -> Result<OtpCode, CardError> {
    let key = derive_key(
        master_seed,
        KeyPurpose::ActivationConfirmation,
        Algorithm::Sha256,
    )?;
    let hotp = Hotp::new(Algorithm::Sha256, key.expose(), CONFIRMATION_DIGITS)?;
    Ok(hotp.code(activation_id.as_counter()))
}

#[cfg(test)]
mod tests;
