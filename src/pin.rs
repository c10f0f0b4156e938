//! A PIN as the app shows it: the digits, which PIN it is, and its countdown.

use core::fmt;

use crate::otp::{OtpCode, OtpError, TimeStep};
use crate::text::InputError;

/// Which of a card's PINs a code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// The first PIN (رمز اول), typed at ATMs and card readers; often 4 digits.
    First,
    /// The second PIN (رمز دوم), for card-not-present payments online; often 8 digits.
    Second,
    /// The single code of a plain TOTP/HOTP token imported from an `otpauth://` URI.
    Token,
    /// A second PIN bound to one transaction's amount and payee (OCRA, see [`crate::card::amount`]).
    AmountBound,
}

impl PinKind {
    /// A stable lower-case name: `first`, `second`, `token`.
    pub fn name(self) -> &'static str {
        match self {
            PinKind::First => "first",
            PinKind::Second => "second",
            PinKind::Token => "token",
            PinKind::AmountBound => "amount-bound",
        }
    }
}

impl fmt::Display for PinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When a time-based code is valid, and how far into that window "now" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First second of the window (Unix time, after the card's time correction).
    pub start: u64,
    /// First second after the window.
    pub end: u64,
    /// Milliseconds of the window already gone at the time the code was read.
    pub elapsed_millis: u64,
}

impl Validity {
    /// `step` as seen `elapsed_millis` after it began.
    ///
    /// # Errors
    /// [`OtpError::Overflow`] when the window's end is beyond `u64::MAX`.
    pub(crate) fn of_step(step: TimeStep, elapsed_millis: u64) -> Result<Self, OtpError> {
        let end = step.end().ok_or(OtpError::Overflow)?;
        Ok(Self {
            start: step.start,
            end,
            elapsed_millis,
        })
    }

    /// `step` as seen at `unix_seconds` (inside the step), `sub_second_millis` into that second.
    ///
    /// # Errors
    /// As [`Validity::of_step`].
    pub(crate) fn at(
        step: TimeStep,
        unix_seconds: u64,
        sub_second_millis: u64,
    ) -> Result<Self, OtpError> {
        let elapsed = unix_seconds
            .saturating_sub(step.start)
            .saturating_mul(1000)
            .saturating_add(sub_second_millis);
        Self::of_step(step, elapsed)
    }

    /// The window's length in milliseconds.
    fn period_millis(&self) -> u64 {
        (self.end - self.start).saturating_mul(1000)
    }

    /// Milliseconds until the code expires.
    pub fn millis_remaining(&self) -> u64 {
        self.period_millis().saturating_sub(self.elapsed_millis)
    }

    /// Whole seconds until the code expires, rounded up, as a countdown shows them
    /// (60 at the very start of a 60-second step, 1 in its last second).
    pub fn seconds_remaining(&self) -> u64 {
        self.millis_remaining().div_ceil(1000)
    }

    /// How much of the window is gone, from 0.0 (just started) to below 1.0:
    /// what a countdown ring draws.
    pub fn fraction_elapsed(&self) -> f64 {
        let period = self.period_millis();
        if period == 0 {
            return 1.0;
        }
        // Both values are at most 300 000 ms, exactly representable in f64.
        self.elapsed_millis as f64 / period as f64
    }
}

/// One PIN ready to show: digits, kind, and its validity window.
///
/// ```
/// use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
/// use dynpin::clock::FixedClock;
/// use dynpin::pin::PinKind;
/// use dynpin::secret::SecretBytes;
///
/// let card = Card::bank_card(CardId::random()?,
///     "Salary card",
///     CardRef::new(610_433, LastFour::parse("1234")?)?,
///     SecretBytes::from(vec![0x42; 20]),
///     Some(PinPolicy::first_pin()),
///     Some(PinPolicy::second_pin()),
/// )?;
/// let pin = card.pin(PinKind::Second, &FixedClock::from_unix_millis(1_700_000_045_500))?;
/// assert_eq!(pin.digits().len(), 8);
/// let window = pin.validity().unwrap();
/// assert_eq!((window.start, window.end), (1_700_000_040, 1_700_000_100));
/// assert_eq!(window.seconds_remaining(), 55);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinCode {
    kind: PinKind,
    code: OtpCode,
    counter: u64,
    validity: Option<Validity>,
}

impl PinCode {
    pub(crate) fn new(
        kind: PinKind,
        code: OtpCode,
        counter: u64,
        validity: Option<Validity>,
    ) -> Self {
        Self {
            kind,
            code,
            counter,
            validity,
        }
    }

    /// Which PIN this is.
    pub fn kind(&self) -> PinKind {
        self.kind
    }

    /// The code itself.
    pub fn code(&self) -> &OtpCode {
        &self.code
    }

    /// The zero-padded digits, e.g. `"04287082"`.
    pub fn digits(&self) -> String {
        self.code.to_string()
    }

    /// The digits grouped for reading, e.g. `"0428 7082"`.
    pub fn grouped(&self) -> String {
        self.code.grouped()
    }

    /// The grouped digits in Persian numerals, e.g. `"۰۴۲۸ ۷۰۸۲"`.
    pub fn persian(&self) -> String {
        self.code.persian()
    }

    /// [`PinCode::persian`] wrapped in Unicode isolates, to show inside
    /// Persian text ([`isolate_ltr`](crate::text::isolate_ltr)).
    pub fn persian_isolated(&self) -> String {
        crate::text::isolate_ltr(&self.persian())
    }

    /// The code as a screen reader should say it, digit by digit, in
    /// `language` ([`spoken_digits`](crate::text::spoken_digits)): the
    /// accessibility label of the PIN's view.
    pub fn spoken(&self, language: crate::text::SpokenLanguage) -> String {
        crate::text::spoken_digits(&self.grouped(), language)
    }

    /// The HOTP counter or TOTP time step the code was computed for.
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// The validity window of a time-based code; `None` for an HOTP (counter) token.
    pub fn validity(&self) -> Option<Validity> {
        self.validity
    }

    /// Whether `typed` is this PIN, compared in constant time (see [`OtpCode::matches`]).
    ///
    /// # Errors
    /// An [`InputError`] when `typed` is not a code of the right length.
    pub fn matches(&self, typed: &str) -> Result<bool, InputError> {
        self.code.matches(typed)
    }
}
