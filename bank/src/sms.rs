//! SMS one-time codes, as the central bank's Harim system has issuing banks send them.
//!
//! A payment page's "request dynamic PIN" button asks the issuing bank for a
//! code bound to one transaction; the bank texts a random code to the card's
//! registered mobile number, valid for **120 seconds**, for that transaction
//! only, with at most **3 attempts**, and rate-limited per card. The bank keeps
//! only a keyed hash of the code (HMAC-SHA-256 under a key that never leaves
//! the [`SmsService`]), so a leaked table of pending codes reveals none.
//!
//! Bank Mellat's variant is here too: the customer texts the last four digits
//! of a card to the bank's short number and gets a 7-digit code for that card
//! ([`SmsService::answer_sms`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use dynpin::card::{CardId, LastFour};
use dynpin::clock::Clock;
use dynpin::otp;
use dynpin::secret::{RandomnessUnavailable, SecretBytes, fill_random, random_digits};
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
    /// The clock reads before 1970.
    #[error("the clock is wrong")]
    Clock,
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

struct Pending {
    tag: [u8; 32],
    expires_at: u64,
    attempts_left: u32,
}

#[derive(Default)]
struct State {
    pending: HashMap<(CardId, String), Pending>,
    requests: HashMap<CardId, VecDeque<u64>>,
    phones: HashMap<String, Vec<(CardId, LastFour)>>,
}

/// Issues and checks SMS codes. Safe to share across threads.
///
/// ```
/// use dynpin::card::CardId;
/// use dynpin::clock::FixedClock;
/// use dynpin_bank::sms::{SmsService, Transaction};
///
/// let sms = SmsService::new(Default::default())?;
/// let card = CardId::from_bytes([7; 16]);
/// let tx = Transaction { id: "T-1".into(), amount_rials: 5_000_000, merchant: "Digikala".into() };
/// let clock = FixedClock::from_unix_seconds(1_800_000_000);
/// let sent = sms.request(card, &tx, &clock)?;
/// assert!(sent.text_fa.contains("۵٬۰۰۰٬۰۰۰"));
/// sms.verify(card, &tx, sent.code(), &clock)?;
/// # Ok::<(), dynpin_bank::sms::SmsError>(())
/// ```
pub struct SmsService {
    key: SecretBytes,
    config: SmsConfig,
    templates: SmsTemplates,
    state: Mutex<State>,
}

impl core::fmt::Debug for SmsService {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmsService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SmsService {
    /// A service with a fresh random hashing key and the default templates.
    ///
    /// # Errors
    /// [`SmsError::InvalidConfig`] or [`SmsError::Randomness`].
    pub fn new(config: SmsConfig) -> Result<Self, SmsError> {
        if !(5..=8).contains(&config.digits) {
            return Err(SmsError::InvalidConfig("codes have 5 to 8 digits"));
        }
        if config.validity_seconds == 0 || config.max_attempts == 0 || config.max_requests == 0 {
            return Err(SmsError::InvalidConfig(
                "validity, attempts and requests must be positive",
            ));
        }
        let mut key = vec![0u8; 32];
        fill_random(&mut key)?;
        Ok(Self {
            key: SecretBytes::from(key),
            config,
            templates: SmsTemplates::default(),
            state: Mutex::new(State::default()),
        })
    }

    /// Uses other message templates.
    #[must_use]
    pub fn with_templates(mut self, templates: SmsTemplates) -> Self {
        self.templates = templates;
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the maps consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// HMAC-SHA-256 binding the code to the card and transaction. `None` only if
    /// HMAC refused the key, which it never does; callers fail closed.
    fn tag(&self, card: CardId, tx: Option<&Transaction>, code: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose()).ok()?;
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
        out.copy_from_slice(&mac.finalize().into_bytes());
        Some(out)
    }

    fn now(clock: &dyn Clock) -> Result<u64, SmsError> {
        otp::unix_seconds(clock.now_millis(), 0).map_err(|_| SmsError::Clock)
    }

    /// Counts a request against the card's rate limit.
    fn take_rate(&self, state: &mut State, card: CardId, now: u64) -> Result<(), SmsError> {
        let window = self.config.rate_window_seconds;
        let sent = state.requests.entry(card).or_default();
        while sent
            .front()
            .is_some_and(|&t| t.saturating_add(window) <= now)
        {
            sent.pop_front();
        }
        if sent.len() >= self.config.max_requests as usize {
            let oldest = sent.front().copied().unwrap_or(now);
            return Err(SmsError::RateLimited {
                retry_after_seconds: oldest.saturating_add(window).saturating_sub(now),
            });
        }
        sent.push_back(now);
        Ok(())
    }

    fn issue(
        &self,
        card: CardId,
        tx: Option<&Transaction>,
        digits: u8,
        clock: &dyn Clock,
    ) -> Result<(Zeroizing<String>, u64), SmsError> {
        let now = Self::now(clock)?;
        let mut state = self.state();
        self.take_rate(&mut state, card, now)?;
        let code = random_digits(usize::from(digits))?;
        let expires_at = now.saturating_add(self.config.validity_seconds);
        let key = (card, tx.map_or_else(String::new, |t| t.id.clone()));
        // A new request replaces any code still pending for the same transaction.
        let tag = self
            .tag(card, tx, &code)
            .ok_or(SmsError::InvalidConfig("hashing key"))?;
        state.pending.insert(
            key,
            Pending {
                tag,
                expires_at,
                attempts_left: self.config.max_attempts,
            },
        );
        Ok((code, expires_at))
    }

    /// Issues a code for `tx` on `card` and renders the messages.
    ///
    /// # Errors
    /// [`SmsError::RateLimited`], [`SmsError::Clock`], [`SmsError::Randomness`].
    pub fn request(
        &self,
        card: CardId,
        tx: &Transaction,
        clock: &dyn Clock,
    ) -> Result<SmsCode, SmsError> {
        let (code, expires_at) = self.issue(card, Some(tx), self.config.digits, clock)?;
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
    /// at most the configured number of wrong attempts.
    ///
    /// # Errors
    /// [`SmsError::NoPendingCode`], [`SmsError::Expired`], [`SmsError::Wrong`],
    /// [`SmsError::TooManyAttempts`], [`SmsError::Malformed`].
    pub fn verify(
        &self,
        card: CardId,
        tx: &Transaction,
        typed: &str,
        clock: &dyn Clock,
    ) -> Result<(), SmsError> {
        self.check(card, Some(tx), self.config.digits, typed, clock)
    }

    fn check(
        &self,
        card: CardId,
        tx: Option<&Transaction>,
        digits: u8,
        typed: &str,
        clock: &dyn Clock,
    ) -> Result<(), SmsError> {
        let typed = text::parse_code(typed, usize::from(digits))?;
        let now = Self::now(clock)?;
        let key = (card, tx.map_or_else(String::new, |t| t.id.clone()));
        let mut state = self.state();
        let pending = state.pending.get_mut(&key).ok_or(SmsError::NoPendingCode)?;
        if now >= pending.expires_at {
            state.pending.remove(&key);
            return Err(SmsError::Expired);
        }
        if self
            .tag(card, tx, &typed)
            .is_some_and(|tag| bool::from(tag.ct_eq(&pending.tag)))
        {
            state.pending.remove(&key);
            return Ok(());
        }
        pending.attempts_left = pending.attempts_left.saturating_sub(1);
        if pending.attempts_left == 0 {
            state.pending.remove(&key);
            return Err(SmsError::TooManyAttempts);
        }
        Err(SmsError::Wrong {
            remaining_attempts: pending.attempts_left,
        })
    }

    /// Registers a card for Mellat-style SMS requests from `phone`.
    pub fn register_phone(&self, phone: &str, card: CardId, last_four: LastFour) {
        let mut state = self.state();
        let cards = state.phones.entry(normalize_phone(phone)).or_default();
        cards.retain(|(id, _)| *id != card);
        cards.push((card, last_four));
    }

    /// Answers an incoming SMS whose body should hold a card's last four digits
    /// (ASCII, Persian or Arabic-Indic, spaces allowed): a 7-digit code for the
    /// matching card, valid 120 s; otherwise a reply saying what is wrong, and
    /// nothing is issued.
    pub fn answer_sms(&self, from_phone: &str, body: &str, clock: &dyn Clock) -> SmsReply {
        let last_four = match text::parse_code(body, 4) {
            Ok(digits) => LastFour::parse(&digits).ok(),
            Err(_) => None,
        };
        let Some(last_four) = last_four else {
            return SmsReply::text_only(
                "لطفاً فقط چهار رقم آخر کارت را ارسال کنید.",
                "Please send only the last four digits of your card.",
            );
        };
        let matches: Vec<CardId> = self
            .state()
            .phones
            .get(&normalize_phone(from_phone))
            .map(|cards| {
                cards
                    .iter()
                    .filter(|(_, l)| *l == last_four)
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        let card = match matches.as_slice() {
            [] => {
                return SmsReply::text_only(
                    "کارتی با این چهار رقم برای این شماره ثبت نشده است.",
                    "No card ending in these four digits is registered to this number.",
                );
            }
            [one] => *one,
            _ => {
                return SmsReply::text_only(
                    "چند کارت با این چهار رقم ثبت شده است؛ لطفاً از برنامهٔ بانک استفاده کنید.",
                    "Several cards end in these digits; please use the bank's app.",
                );
            }
        };
        match self.issue(card, None, 7, clock) {
            Ok((code, _)) => {
                let seconds = self.config.validity_seconds;
                SmsReply {
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
                }
            }
            Err(SmsError::RateLimited {
                retry_after_seconds,
            }) => SmsReply::text_only(
                &format!(
                    "درخواست‌های زیاد؛ {} ثانیهٔ دیگر تلاش کنید.",
                    text::to_persian_digits(&retry_after_seconds.to_string())
                ),
                &format!("Too many requests; try again in {retry_after_seconds} seconds."),
            ),
            Err(_) => SmsReply::text_only(
                "خطای موقت؛ بعداً تلاش کنید.",
                "Temporary error; please try later.",
            ),
        }
    }

    /// Checks a 7-digit code sent by [`SmsService::answer_sms`] for `card`.
    ///
    /// # Errors
    /// As [`SmsService::verify`].
    pub fn verify_card_code(
        &self,
        card: CardId,
        typed: &str,
        clock: &dyn Clock,
    ) -> Result<(), SmsError> {
        self.check(card, None, 7, typed, clock)
    }
}

/// Phone numbers compare by their digits: `+98 912…`, `0912…` and `۰۹۱۲…` are one number.
fn normalize_phone(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter_map(text::digit_value)
        .map(|d| char::from(b'0' + d))
        .collect();
    match digits.strip_prefix("98") {
        Some(rest) if rest.len() == 10 => format!("0{rest}"),
        _ => digits,
    }
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
