//! SMS one-time codes, as the central bank's Harim system has issuing banks send them.
//!
//! A payment page's "request dynamic PIN" button asks the issuing bank for a
//! code bound to one transaction; the bank texts a random code to the card's
//! registered mobile number, valid for **120 seconds**, for that transaction
//! only, with at most **3 attempts**, and rate-limited per card. The bank keeps
//! only a keyed hash of the code (HMAC-SHA-256 under the service's SMS key,
//! [`SmsKey`], from configuration, shared by every instance), so a leaked
//! table of pending codes reveals none. Codes live in the [`Store`]: a code
//! requested on one server verifies on any other, expiry is by the store's
//! clock, and each attempt is claimed atomically before it is compared.
//!
//! Bank Mellat's variant is here too: the customer texts the last four digits
//! of a card to the bank's short number and gets a 7-digit code for that card
//! ([`SmsService::answer_sms`]).

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::store::{CardStatus, SmsChecked, SmsIssue, SmsIssued, Store, StoreError};
use dynpin::card::{CardId, LastFour};
use dynpin::secret::{RandomnessUnavailable, fill_random, random_digits};
use dynpin::text::{self, InputError};

/// How long an SMS code is valid: 120 seconds, as Harim specifies.
pub const DEFAULT_VALIDITY_SECONDS: u64 = 120;
/// Wrong entries allowed per code.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// SMS code settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsConfig {
    /// Digits per code, 5–8 (default 6; Mellat's card-number service uses 7).
    pub digits: u8,
    /// Seconds a code is valid (default 120).
    pub validity_seconds: u64,
    /// Attempts per code (default 3).
    pub max_attempts: u32,
    /// Codes a card may be sent per rate window (default 3).
    pub max_requests: u32,
    /// The rate window in seconds (default 600).
    pub rate_window_seconds: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            digits: 6,
            validity_seconds: DEFAULT_VALIDITY_SECONDS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_requests: 3,
            rate_window_seconds: 600,
        }
    }
}

/// Why an SMS code could not be issued or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// A setting is out of range.
    #[error("invalid SMS setting: {0}")]
    InvalidConfig(&'static str),
    /// The card asked for too many codes; try again later.
    #[error("too many codes requested for this card; try again in {retry_after_seconds} s")]
    RateLimited {
        /// Seconds until another code may be sent.
        retry_after_seconds: u64,
    },
    /// No code is pending for this card and transaction (never sent, or already used).
    #[error("no dynamic PIN is pending for this transaction; request a new one")]
    NoPendingCode,
    /// The code's 120 seconds are over.
    #[error("the dynamic PIN has expired; request a new one")]
    Expired,
    /// The code is wrong.
    #[error("wrong dynamic PIN; {remaining_attempts} attempts left")]
    Wrong {
        /// Attempts left for this code.
        remaining_attempts: u32,
    },
    /// Too many wrong entries: the code is void.
    #[error("too many wrong entries; request a new dynamic PIN")]
    TooManyAttempts,
    /// The typed code is not digits of the right length (not counted).
    #[error(transparent)]
    Malformed(#[from] InputError),
    /// The card is suspended (a possible clone, fraud, a lost phone): no code
    /// is sent or accepted until an operator lifts the suspension.
    #[error("the card is suspended; the bank must lift the suspension")]
    Suspended,
    /// The store could not answer: nothing was issued or accepted (fail closed).
    #[error(transparent)]
    Unavailable(#[from] StoreError),
    /// The operating system's random generator failed.
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
}

/// The transaction a Harim code is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transaction {
    /// The payment gateway's transaction id.
    pub id: String,
    /// The amount in rials.
    pub amount_rials: u64,
    /// The merchant's name as shown to the customer.
    pub merchant: String,
}

/// A code to send: the digits and the message texts. `Debug` hides the code.
#[derive(Clone)]
pub struct SmsCode {
    code: Zeroizing<String>,
    /// The message in Persian, with Persian digits.
    pub text_fa: String,
    /// The message in English.
    pub text_en: String,
    /// When the code stops being accepted (Unix seconds).
    pub expires_at: u64,
}

impl SmsCode {
    /// The digits, for the SMS gateway only.
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl core::fmt::Debug for SmsCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmsCode")
            .field("code", &"redacted")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The message templates. `{code}`, `{amount}`, `{merchant}` and `{seconds}`
/// are replaced; in Persian every digit is written with Persian numerals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsTemplates {
    /// The Persian template.
    pub fa: String,
    /// The English template.
    pub en: String,
}

impl Default for SmsTemplates {
    fn default() -> Self {
        Self {
            fa: "رمز پویا: {code}\nمبلغ: {amount} ریال\nپذیرنده: {merchant}\nاعتبار: {seconds} ثانیه\nاین رمز را به هیچ‌کس ندهید.".into(),
            en: "Dynamic PIN: {code}\nAmount: {amount} rials\nMerchant: {merchant}\nValid for {seconds} seconds. Never share it.".into(),
        }
    }
}

fn render(
    template: &str,
    code: &str,
    amount: u64,
    merchant: &str,
    seconds: u64,
    persian: bool,
) -> String {
    let digits = |s: &str| {
        if persian {
            text::to_persian_digits(s)
        } else {
            s.to_owned()
        }
    };
    template
        .replace("{code}", &digits(code))
        .replace("{amount}", &text::group_thousands(amount, persian))
        .replace("{seconds}", &digits(&seconds.to_string()))
        .replace("{merchant}", merchant)
}

/// The SMS key: HMAC-SHA-256 key for the stored hashes of codes, with its id
/// (from configuration; every instance of a fleet holds the same one).
/// `Debug` shows only the id.
pub struct SmsKey {
    id: String,
    key: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for SmsKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmsKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SmsKey {
    /// The key `id` with these bytes (at least 32).
    ///
    /// # Errors
    /// [`SmsError::InvalidConfig`] for a shorter key.
    pub fn new(id: &str, key: &[u8]) -> Result<Self, SmsError> {
        if key.len() < 32 {
            return Err(SmsError::InvalidConfig("the SMS key has at least 32 bytes"));
        }
        Ok(Self {
            id: id.to_owned(),
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// A fresh random key (for one instance, tests and examples).
    ///
    /// # Errors
    /// [`SmsError::Randomness`].
    pub fn random(id: &str) -> Result<Self, SmsError> {
        let mut key = Zeroizing::new(vec![0u8; 32]);
        fill_random(&mut key)?;
        Ok(Self {
            id: id.to_owned(),
            key,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Issues and checks SMS codes on a [`Store`]. Safe to share across tasks.
///
/// ```
/// use std::sync::Arc;
/// use dynpin::card::CardId;
/// use dynpin_bank::sms::{SmsKey, SmsService, Transaction};
/// use dynpin_bank::store::memory::MemoryStore;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// let sms = SmsService::new(Default::default(), SmsKey::random("sms-1")?, store)?;
/// let card = CardId::from_bytes([7; 16]);
/// let tx = Transaction { id: "T-1".into(), amount_rials: 5_000_000, merchant: "Digikala".into() };
/// let sent = sms.request(card, &tx).await?;
/// assert!(sent.text_fa.contains("۵٬۰۰۰٬۰۰۰"));
/// sms.verify(card, &tx, sent.code()).await?;
/// # Ok::<(), dynpin_bank::sms::SmsError>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SmsService<S: Store> {
    key: SmsKey,
    config: SmsConfig,
    templates: SmsTemplates,
    store: Arc<S>,
}

impl<S: Store> core::fmt::Debug for SmsService<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmsService")
            .field("config", &self.config)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The pending-code slot of a Mellat-style card code (no transaction).
const CARD_CODE_SLOT: [u8; 32] = [0; 32];

impl<S: Store> SmsService<S> {
    /// A service with the default templates.
    ///
    /// # Errors
    /// [`SmsError::InvalidConfig`].
    pub fn new(config: SmsConfig, key: SmsKey, store: Arc<S>) -> Result<Self, SmsError> {
        if !(5..=8).contains(&config.digits) {
            return Err(SmsError::InvalidConfig("codes have 5 to 8 digits"));
        }
        if config.validity_seconds == 0 || config.max_attempts == 0 || config.max_requests == 0 {
            return Err(SmsError::InvalidConfig(
                "validity, attempts and requests must be positive",
            ));
        }
        Ok(Self {
            key,
            config,
            templates: SmsTemplates::default(),
            store,
        })
    }

    /// Uses other message templates.
    #[must_use]
    pub fn with_templates(mut self, templates: SmsTemplates) -> Self {
        self.templates = templates;
        self
    }

    /// The settings.
    pub fn config(&self) -> &SmsConfig {
        &self.config
    }

    /// The slot of `tx`'s pending code: SHA-256 of its id (never all zeros
    /// in practice, which is the card code's slot).
    fn slot(tx: Option<&Transaction>) -> [u8; 32] {
        tx.map_or(CARD_CODE_SLOT, |tx| {
            let mut h = Sha256::new();
            h.update(b"dynpin-bank sms slot\0");
            h.update(tx.id.as_bytes());
            h.finalize().into()
        })
    }

    /// HMAC-SHA-256 binding the code to the card and transaction.
    fn tag(
        &self,
        card: CardId,
        tx: Option<&Transaction>,
        code: &str,
    ) -> Result<[u8; 32], SmsError> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key.key)
            .map_err(|_| SmsError::InvalidConfig("the SMS key"))?;
        mac.update(card.as_bytes());
        if let Some(tx) = tx {
            for field in [
                tx.id.as_bytes(),
                &tx.amount_rials.to_be_bytes(),
                tx.merchant.as_bytes(),
            ] {
                mac.update(&(field.len() as u64).to_be_bytes());
                mac.update(field);
            }
        }
        mac.update(code.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }

    /// [`SmsError::Suspended`] for a suspended card. A card the store does
    /// not hold is not refused here (the service checks it exists).
    async fn require_not_suspended(&self, card: CardId) -> Result<(), SmsError> {
        match self.store.state(card).await? {
            Some(state) if state.status == CardStatus::Suspended => Err(SmsError::Suspended),
            _ => Ok(()),
        }
    }

    async fn issue(
        &self,
        card: CardId,
        tx: Option<&Transaction>,
        digits: u8,
    ) -> Result<(Zeroizing<String>, u64), SmsError> {
        self.require_not_suspended(card).await?;
        let code = random_digits(usize::from(digits))?;
        let issued = self
            .store
            .issue_sms(&SmsIssue {
                card,
                slot: Self::slot(tx),
                tag: self.tag(card, tx, &code)?,
                validity_seconds: self.config.validity_seconds,
                max_attempts: self.config.max_attempts,
                max_requests: self.config.max_requests,
                window_seconds: self.config.rate_window_seconds,
            })
            .await?;
        match issued {
            SmsIssued::Stored { expires_at } => Ok((code, expires_at)),
            SmsIssued::RateLimited {
                retry_after_seconds,
            } => Err(SmsError::RateLimited {
                retry_after_seconds,
            }),
        }
    }

    /// Issues a code for `tx` on `card` (replacing one pending for the same
    /// transaction) and renders the messages.
    ///
    /// # Errors
    /// [`SmsError::RateLimited`], [`SmsError::Randomness`], [`SmsError::Unavailable`].
    pub async fn request(&self, card: CardId, tx: &Transaction) -> Result<SmsCode, SmsError> {
        let (code, expires_at) = self.issue(card, Some(tx), self.config.digits).await?;
        let seconds = self.config.validity_seconds;
        Ok(SmsCode {
            text_fa: render(
                &self.templates.fa,
                &code,
                tx.amount_rials,
                &tx.merchant,
                seconds,
                true,
            ),
            text_en: render(
                &self.templates.en,
                &code,
                tx.amount_rials,
                &tx.merchant,
                seconds,
                false,
            ),
            code,
            expires_at,
        })
    }

    /// Checks a typed code for `tx` on `card`: once, within the validity, with
    /// at most the configured number of attempts, on whichever server issued it.
    ///
    /// # Errors
    /// [`SmsError::NoPendingCode`], [`SmsError::Expired`], [`SmsError::Wrong`],
    /// [`SmsError::TooManyAttempts`], [`SmsError::Malformed`] (not counted),
    /// [`SmsError::Unavailable`].
    pub async fn verify(
        &self,
        card: CardId,
        tx: &Transaction,
        typed: &str,
    ) -> Result<(), SmsError> {
        self.check(card, Some(tx), self.config.digits, typed).await
    }

    async fn check(
        &self,
        card: CardId,
        tx: Option<&Transaction>,
        digits: u8,
        typed: &str,
    ) -> Result<(), SmsError> {
        let typed = text::parse_code(typed, usize::from(digits))?;
        self.require_not_suspended(card).await?;
        let tag = self.tag(card, tx, &typed)?;
        match self.store.check_sms(card, Self::slot(tx), tag).await? {
            SmsChecked::Accepted => Ok(()),
            SmsChecked::Wrong { remaining } => Err(SmsError::Wrong {
                remaining_attempts: remaining,
            }),
            SmsChecked::TooManyAttempts => Err(SmsError::TooManyAttempts),
            SmsChecked::Expired => Err(SmsError::Expired),
            SmsChecked::NoPending => Err(SmsError::NoPendingCode),
        }
    }

    /// Answers an incoming SMS whose body should hold a card's last four
    /// digits (ASCII, Persian or Arabic-Indic, spaces allowed), from a phone
    /// a card was enrolled with: a 7-digit code for the matching card, valid
    /// as configured; otherwise a reply saying what is wrong, and nothing is
    /// issued.
    ///
    /// # Errors
    /// [`SmsError::Unavailable`] when the store cannot answer (send nothing;
    /// the gateway retries).
    pub async fn answer_sms(&self, from_phone: &str, body: &str) -> Result<SmsReply, SmsError> {
        let last_four = match text::parse_code(body, 4) {
            Ok(digits) => LastFour::parse(&digits).ok(),
            Err(_) => None,
        };
        let Some(last_four) = last_four else {
            return Ok(SmsReply::text_only(
                "لطفاً فقط چهار رقم آخر کارت را ارسال کنید.",
                "Please send only the last four digits of your card.",
            ));
        };
        let matches = self
            .store
            .cards_by_phone(&normalize_phone(from_phone), last_four.value())
            .await?;
        let card = match matches.as_slice() {
            [] => {
                return Ok(SmsReply::text_only(
                    "کارتی با این چهار رقم برای این شماره ثبت نشده است.",
                    "No card ending in these four digits is registered to this number.",
                ));
            }
            [one] => *one,
            _ => {
                return Ok(SmsReply::text_only(
                    "چند کارت با این چهار رقم ثبت شده است؛ لطفاً از برنامهٔ بانک استفاده کنید.",
                    "Several cards end in these digits; please use the bank's app.",
                ));
            }
        };
        match self.issue(card, None, 7).await {
            Ok((code, _)) => {
                let seconds = self.config.validity_seconds;
                Ok(SmsReply {
                    text_fa: format!(
                        "رمز پویای کارت {}: {}\nاعتبار: {} ثانیه",
                        text::to_persian_digits(&last_four.to_string()),
                        text::to_persian_digits(&code),
                        text::to_persian_digits(&seconds.to_string())
                    ),
                    text_en: format!(
                        "Dynamic PIN for card {last_four}: {}\nValid for {seconds} seconds",
                        code.as_str()
                    ),
                    issued: Some(card),
                })
            }
            Err(SmsError::RateLimited {
                retry_after_seconds,
            }) => Ok(SmsReply::text_only(
                &format!(
                    "درخواست‌های زیاد؛ {} ثانیهٔ دیگر تلاش کنید.",
                    text::to_persian_digits(&retry_after_seconds.to_string())
                ),
                &format!("Too many requests; try again in {retry_after_seconds} seconds."),
            )),
            Err(e @ SmsError::Unavailable(_)) => Err(e),
            Err(_) => Ok(SmsReply::text_only(
                "خطای موقت؛ بعداً تلاش کنید.",
                "Temporary error; please try later.",
            )),
        }
    }

    /// Checks a 7-digit code sent by [`SmsService::answer_sms`] for `card`.
    ///
    /// # Errors
    /// As [`SmsService::verify`].
    pub async fn verify_card_code(&self, card: CardId, typed: &str) -> Result<(), SmsError> {
        self.check(card, None, 7, typed).await
    }
}

/// Phone numbers compare by their digits, in the national form: `+98 912…`,
/// `0098 912…`, `0912…`, `912…` (without the trunk zero) and `۰۹۱۲…` (Persian
/// or Arabic-Indic digits) are all `0912…`. Anything else is kept as its
/// ASCII digits.
pub fn normalize_phone(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter_map(text::digit_value)
        .map(|d| char::from(b'0' + d))
        .collect();
    // Iran's country code, after `+` or the international prefix `00`,
    // then the 10 digits of the national number.
    for prefix in ["0098", "98"] {
        if let Some(rest) = digits.strip_prefix(prefix)
            && rest.len() == 10
        {
            return format!("0{rest}");
        }
    }
    // A mobile number typed without its trunk zero.
    if digits.len() == 10 && digits.starts_with('9') {
        return format!("0{digits}");
    }
    digits
}

/// The bank's answer to an incoming SMS.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsReply {
    /// The reply in Persian.
    pub text_fa: String,
    /// The reply in English.
    pub text_en: String,
    /// The card a code was issued for, if one was.
    pub issued: Option<CardId>,
}

impl SmsReply {
    fn text_only(fa: &str, en: &str) -> Self {
        Self {
            text_fa: fa.to_owned(),
            text_en: en.to_owned(),
            issued: None,
        }
    }
}

impl core::fmt::Debug for SmsReply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The texts may carry a code.
        f.debug_struct("SmsReply")
            .field("issued", &self.issued)
            .finish_non_exhaustive()
    }
}
