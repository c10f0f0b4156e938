//! The bank side of dynpin: provisioning cards for activation, QR codes, PIN
//! verification and Harim-style SMS codes, on the phone core (`dynpin`).
//!
//! For each card the issuer draws a master seed and an activation code from the
//! operating system's CSPRNG, seals the seed into an activation payload, and
//! keeps the seed to verify PINs and the confirmation code later (see
//! [`verifier::Verifier::enroll`] and [`verifier::Verifier::confirm`]: once,
//! before a deadline, with an attempt limit). The payload
//! goes to the customer as a QR code (see [`qr`]) or a text; the activation
//! code goes by another channel: SMS or an ATM receipt.
//!
//! ```
//! use std::sync::Arc;
//! use dynpin::activation::{self, ActivationCode};
//! use dynpin::card::{CardRef, LastFour};
//! use dynpin::clock::FixedClock;
//! use dynpin::kdf::KdfParams;
//! use dynpin::pin::PinKind;
//! use dynpin_bank::keys::KeyFile;
//! use dynpin_bank::store::memory::MemoryStore;
//! use dynpin_bank::verifier::{Verifier, VerifyError};
//! use dynpin_bank::{CardRequest, Issuer};
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let clock = FixedClock::from_unix_seconds(1_800_000_000);
//! let issuer = Issuer::new().with_kdf(KdfParams::MINIMUM)?;
//! let request = CardRequest::new(CardRef::new(606_373, LastFour::parse("1234")?)?);
//! let issued = issuer.provision(&request, &clock)?;
//!
//! // On the phone: the payload (from the QR) and the code (from the SMS).
//! let code = ActivationCode::parse(&issued.activation_code().grouped())?;
//! let activated = activation::activate(issued.payload(), &code, &clock)?;
//!
//! // At the bank: the seed sealed under the KEK in the store; PINs count
//! // only once the app's confirmation code is confirmed.
//! let kek = Arc::new(KeyFile::from_bytes("kek-1", [5; 32]));
//! let verifier = Verifier::new(Default::default(), Arc::new(MemoryStore::new()), kek)?;
//! let id = verifier.enroll(&issued, Some("0912 345 6789")).await?;
//! let pin = activated.card.pin(PinKind::Second, &clock)?.digits();
//! assert_eq!(verifier.verify(id, PinKind::Second, &pin, &clock).await, Err(VerifyError::NotConfirmed));
//! verifier.confirm(id, &activated.confirmation_code, &clock).await?;
//! assert!(verifier.verify(id, PinKind::Second, &pin, &clock).await.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod keys;
pub mod qr;
mod sealed_card;
pub mod service;
pub mod sms;
pub mod store;
pub mod verifier;

use dynpin::activation::payload::{self, Header, Secrets};
use dynpin::activation::{self, ActivationCode, ActivationError, ActivationId};
use dynpin::card::{Card, CardError, CardId, CardRef, PinPolicy};
use dynpin::clock::Clock;
use dynpin::kdf::{KdfError, KdfParams};
use dynpin::otp;
use dynpin::secret::{RandomnessUnavailable, SecretBytes, fill_random};
use dynpin::text::InputError;

/// How long a payload is accepted by default: 24 hours (as Bank Parsian's codes).
pub const DEFAULT_VALIDITY_SECONDS: u32 = 24 * 3600;
/// Bytes of master seed drawn per card: 160 bits, the RFC 4226 recommendation,
/// which keeps a two-PIN payload within one SMS and a version-6 QR code.
pub const DEFAULT_SEED_LEN: usize = 20;

/// Why a card could not be provisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The KDF parameters are outside what phones accept.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// The request cannot be encoded (label too long, BIN out of range…).
    #[error(transparent)]
    Activation(#[from] ActivationError),
    /// A PIN policy or the card is invalid.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The validity or code length is out of range.
    #[error("invalid issuer setting: {0}")]
    InvalidSetting(&'static str),
    /// Typed input (a confirmation code) was not digits of the right length.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The operating system's random generator failed.
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
}

/// Issues activation payloads. Cheap to clone; holds only settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    kdf: KdfParams,
    validity_seconds: u32,
    code_digits: usize,
    seed_len: usize,
}

impl Default for Issuer {
    fn default() -> Self {
        Self::new()
    }
}

impl Issuer {
    /// Argon2id at [`KdfParams::DEFAULT`], 24-hour validity, 16-digit codes, 160-bit seeds.
    pub fn new() -> Self {
        Self {
            kdf: KdfParams::DEFAULT,
            validity_seconds: DEFAULT_VALIDITY_SECONDS,
            code_digits: activation::MIN_CODE_DIGITS,
            seed_len: DEFAULT_SEED_LEN,
        }
    }

    /// Uses other Argon2id parameters; they must be within what phones accept,
    /// and memory a whole number of MiB (the payload carries MiB).
    ///
    /// # Errors
    /// [`IssuerError::Kdf`] or [`IssuerError::InvalidSetting`].
    pub fn with_kdf(mut self, kdf: KdfParams) -> Result<Self, IssuerError> {
        kdf.check()?;
        if !kdf.memory_kib.is_multiple_of(1024) {
            return Err(IssuerError::InvalidSetting(
                "KDF memory must be a whole number of MiB",
            ));
        }
        self.kdf = kdf;
        Ok(self)
    }

    /// Sets how long payloads are accepted (1 minute to 30 days).
    ///
    /// # Errors
    /// [`IssuerError::InvalidSetting`] out of that range.
    pub fn with_validity(mut self, seconds: u32) -> Result<Self, IssuerError> {
        if !(60..=30 * 86_400).contains(&seconds) {
            return Err(IssuerError::InvalidSetting(
                "validity must be 1 minute to 30 days",
            ));
        }
        self.validity_seconds = seconds;
        Ok(self)
    }

    /// Sets the activation code length (16–24 digits).
    ///
    /// # Errors
    /// [`IssuerError::InvalidSetting`] out of that range.
    pub fn with_code_digits(mut self, digits: usize) -> Result<Self, IssuerError> {
        if !(activation::MIN_CODE_DIGITS..=activation::MAX_CODE_DIGITS).contains(&digits) {
            return Err(IssuerError::InvalidSetting(
                "activation codes have 16 to 24 digits",
            ));
        }
        self.code_digits = digits;
        Ok(self)
    }

    /// Sets the master seed length (20–64 bytes).
    ///
    /// # Errors
    /// [`IssuerError::InvalidSetting`] out of that range.
    pub fn with_seed_len(mut self, bytes: usize) -> Result<Self, IssuerError> {
        if !(dynpin::card::MIN_MASTER_SEED_LEN..=64).contains(&bytes) {
            return Err(IssuerError::InvalidSetting(
                "master seeds have 20 to 64 bytes",
            ));
        }
        self.seed_len = bytes;
        Ok(self)
    }

    /// The Argon2id parameters payloads are sealed with.
    pub fn kdf(&self) -> KdfParams {
        self.kdf
    }

    /// Provisions one card: draws its card id, seed, activation id, salt and
    /// activation code, and seals the payload, issued at `clock`'s time.
    ///
    /// # Errors
    /// [`IssuerError`] for an invalid request or a failing random generator.
    pub fn provision(
        &self,
        request: &CardRequest,
        clock: &dyn Clock,
    ) -> Result<ProvisionedCard, IssuerError> {
        if request.first_pin.is_none() && request.second_pin.is_none() {
            return Err(CardError::NoPinSlots.into());
        }
        for policy in [request.first_pin, request.second_pin]
            .into_iter()
            .flatten()
        {
            policy.validate().map_err(CardError::from)?;
        }
        let issued_at = otp::unix_seconds(clock.now_millis(), 0).map_err(CardError::from)?;
        let mut activation_id = [0u8; 8];
        fill_random(&mut activation_id)?;
        let mut salt = [0u8; 16];
        fill_random(&mut salt)?;
        let header = Header {
            version: activation::PAYLOAD_VERSION_1,
            exportable: request.exportable,
            card_ref: request.card_ref,
            issued_at,
            valid_for: self.validity_seconds,
            activation_id,
            kdf: self.kdf,
            salt,
            label: request.label.clone(),
        };
        let secrets = Secrets {
            first: request.first_pin,
            second: request.second_pin,
            seed: SecretBytes::random(self.seed_len)?,
        };
        let code = ActivationCode::generate(self.code_digits)?;
        let payload = payload::seal(&header, &secrets, code.digits())?;
        Ok(ProvisionedCard {
            card_id: CardId::random()?,
            request: request.clone(),
            activation_id: ActivationId(activation_id),
            issued_at,
            expires_at: issued_at.saturating_add(u64::from(self.validity_seconds)),
            master_seed: secrets.seed,
            activation_code: code,
            payload,
        })
    }
}

/// What the bank asks to provision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRequest {
    /// BIN and last four digits of the card.
    pub card_ref: CardRef,
    /// A label to suggest to the app (costs payload space; keep it short).
    pub label: Option<String>,
    /// The first PIN's policy (ATM/POS), if the card has one.
    pub first_pin: Option<PinPolicy>,
    /// The second PIN's policy (online), if the card has one.
    pub second_pin: Option<PinPolicy>,
    /// Whether the phone may export the seed (false for bank cards).
    pub exportable: bool,
}

impl CardRequest {
    /// A request for both PINs with the default policies, no label, not exportable.
    pub fn new(card_ref: CardRef) -> Self {
        Self {
            card_ref,
            label: None,
            first_pin: Some(PinPolicy::first_pin()),
            second_pin: Some(PinPolicy::second_pin()),
            exportable: false,
        }
    }
}

/// A provisioned card as the bank keeps it. `Debug` hides the seed and the code.
#[derive(Debug, Clone)]
pub struct ProvisionedCard {
    /// Drawn once, at provisioning: every copy of the card made from this
    /// record has this id, so its state at the verifier carries over.
    card_id: CardId,
    request: CardRequest,
    activation_id: ActivationId,
    issued_at: u64,
    expires_at: u64,
    master_seed: SecretBytes,
    activation_code: ActivationCode,
    payload: String,
}

impl ProvisionedCard {
    /// The payload text, for the QR code or a text message.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The activation code, for the other channel (SMS, ATM receipt).
    pub fn activation_code(&self) -> &ActivationCode {
        &self.activation_code
    }

    /// The card's id at the bank, drawn once when it was provisioned: every
    /// [`ProvisionedCard::card`] has it.
    pub fn card_id(&self) -> CardId {
        self.card_id
    }

    /// The activation's identifier.
    pub fn activation_id(&self) -> ActivationId {
        self.activation_id
    }

    /// When the payload was issued and when it expires (Unix seconds).
    pub fn validity(&self) -> (u64, u64) {
        (self.issued_at, self.expires_at)
    }

    /// The card's master seed, for the bank's key store.
    pub fn master_seed(&self) -> &SecretBytes {
        &self.master_seed
    }

    /// What was requested.
    pub fn request(&self) -> &CardRequest {
        &self.request
    }

    /// The bank's own copy of the card, computing the same PINs as the phone,
    /// with the card's stable id ([`ProvisionedCard::card_id`]).
    ///
    /// # Errors
    /// [`IssuerError::Card`] in theory only: the request was validated when provisioning.
    pub fn card(&self) -> Result<Card, IssuerError> {
        let label = self.request.label.as_deref().unwrap_or("card");
        let mut card = Card::bank_card(
            self.card_id,
            label,
            self.request.card_ref,
            self.master_seed.clone(),
            self.request.first_pin,
            self.request.second_pin,
        )?;
        card.set_exportable(self.request.exportable);
        Ok(card)
    }
}
