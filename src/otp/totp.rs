use super::{Algorithm, Hotp, MAX_PERIOD, MIN_PERIOD, OtpCode, OtpError};

/// One TOTP time step: its counter `T` and the seconds it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeStep {
    /// `T = floor((t − T0) / X)` (RFC 6238 §4.2).
    pub counter: u64,
    /// The first second of the step, as Unix time.
    pub start: u64,
    /// The step length `X` in seconds.
    pub period: u64,
}

impl TimeStep {
    /// The first second after the step, or `None` when that lies beyond `u64::MAX`.
    pub fn end(&self) -> Option<u64> {
        self.start.checked_add(self.period)
    }
}

/// A TOTP generator (RFC 6238): an [`Hotp`] driven by `T = floor((t − T0) / X)`.
///
/// Time is a `u64` of Unix seconds here; [`unix_seconds`] turns a clock's
/// reading (which may be before 1970) into one, with a typed error.
///
/// ```
/// use dynpin::otp::{Algorithm, Totp};
///
/// let totp = Totp::new(Algorithm::Sha1, b"12345678901234567890", 8, 60)?;
/// let step = totp.step_at(1_700_000_059)?;
/// assert_eq!((step.start, step.end()), (1_700_000_040, Some(1_700_000_100)));
/// # Ok::<(), dynpin::otp::OtpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Totp {
    hotp: Hotp,
    period: u64,
    t0: u64,
}

impl Totp {
    /// Keys a TOTP generator with period `period` seconds and `T0 = 0`.
    ///
    /// # Errors
    /// As [`Hotp::new`], plus [`OtpError::PeriodOutOfRange`] unless 10 ≤ `period` ≤ 300.
    pub fn new(
        algorithm: Algorithm,
        key: &[u8],
        digits: u8,
        period: u64,
    ) -> Result<Self, OtpError> {
        Self::from_hotp(Hotp::new(algorithm, key, digits)?, period)
    }

    /// Wraps a keyed [`Hotp`] with period `period` seconds and `T0 = 0`.
    ///
    /// # Errors
    /// [`OtpError::PeriodOutOfRange`] unless 10 ≤ `period` ≤ 300.
    pub fn from_hotp(hotp: Hotp, period: u64) -> Result<Self, OtpError> {
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
            return Err(OtpError::PeriodOutOfRange { period });
        }
        Ok(Self {
            hotp,
            period,
            t0: 0,
        })
    }

    /// The same generator counting from `t0` instead of the epoch.
    #[must_use]
    pub fn with_t0(mut self, t0: u64) -> Self {
        self.t0 = t0;
        self
    }

    /// The step length in seconds.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The origin `T0` in Unix seconds.
    pub fn t0(&self) -> u64 {
        self.t0
    }

    /// The underlying HOTP generator.
    pub fn hotp(&self) -> &Hotp {
        &self.hotp
    }

    /// The time step containing `unix_seconds`.
    #[inline]
    ///
    /// # Errors
    /// [`OtpError::TimeBeforeT0`] when `unix_seconds < T0`.
    pub fn step_at(&self, unix_seconds: u64) -> Result<TimeStep, OtpError> {
        let since_t0 = unix_seconds
            .checked_sub(self.t0)
            .ok_or(OtpError::TimeBeforeT0)?;
        // The usual periods get a constant divisor (a multiply); others divide.
        let counter = match self.period {
            30 => since_t0 / 30,
            60 => since_t0 / 60,
            period => since_t0 / period,
        };
        // counter·period ≤ since_t0, and t0 + since_t0 = unix_seconds: no overflow possible.
        let start = self.t0 + counter * self.period;
        Ok(TimeStep {
            counter,
            start,
            period: self.period,
        })
    }

    /// The code valid at `unix_seconds`.
    ///
    /// # Errors
    /// [`OtpError::TimeBeforeT0`] when `unix_seconds < T0`.
    pub fn code_at(&self, unix_seconds: u64) -> Result<OtpCode, OtpError> {
        Ok(self.hotp.code(self.step_at(unix_seconds)?.counter))
    }

    /// The code of time step `counter`.
    pub fn code_for_step(&self, counter: u64) -> OtpCode {
        self.hotp.code(counter)
    }

    /// The time step with counter `counter`.
    ///
    /// # Errors
    /// [`OtpError::Overflow`] when its start is beyond `u64::MAX`.
    pub fn step(&self, counter: u64) -> Result<TimeStep, OtpError> {
        let start = counter
            .checked_mul(self.period)
            .and_then(|offset| offset.checked_add(self.t0))
            .ok_or(OtpError::Overflow)?;
        Ok(TimeStep {
            counter,
            start,
            period: self.period,
        })
    }
}

/// Whole Unix seconds of a clock reading in milliseconds, shifted by
/// `offset_seconds` (a per-card correction for a phone whose clock is off).
///
/// ```
/// use dynpin::otp::{unix_seconds, OtpError};
///
/// assert_eq!(unix_seconds(59_999, 0), Ok(59));
/// assert_eq!(unix_seconds(59_999, 1), Ok(60));
/// assert_eq!(unix_seconds(-1, 0), Err(OtpError::TimeBeforeEpoch { seconds_before_epoch: 1 }));
/// ```
///
/// # Errors
/// [`OtpError::TimeBeforeEpoch`] when the corrected time is before 1970.
pub fn unix_seconds(millis: i64, offset_seconds: i64) -> Result<u64, OtpError> {
    // i64::MIN/1000 + i64::MIN is still far inside i128, so this cannot overflow.
    let seconds = i128::from(millis.div_euclid(1000)) + i128::from(offset_seconds);
    u64::try_from(seconds).map_err(|_| OtpError::TimeBeforeEpoch {
        seconds_before_epoch: u64::try_from(seconds.unsigned_abs()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED20: &[u8] = b"12345678901234567890";
    const SEED32: &[u8] = b"12345678901234567890123456789012";
    const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn rfc_totp(algorithm: Algorithm) -> Totp {
        let key = match algorithm {
            Algorithm::Sha1 => SEED20,
            Algorithm::Sha256 => SEED32,
            Algorithm::Sha512 => SEED64,
        };
        Totp::new(algorithm, key, 8, 30).unwrap()
    }

    /// RFC 6238, Appendix B: all 18 rows.
    #[test]
    fn rfc6238_appendix_b() {
        let rows: [(u64, u64, &str, Algorithm); 18] = [
            (59, 0x1, "94287082", Algorithm::Sha1),
            (59, 0x1, "46119246", Algorithm::Sha256),
            (59, 0x1, "90693936", Algorithm::Sha512),
            (1_111_111_109, 0x23523EC, "07081804", Algorithm::Sha1),
            (1_111_111_109, 0x23523EC, "68084774", Algorithm::Sha256),
            (1_111_111_109, 0x23523EC, "25091201", Algorithm::Sha512),
            (1_111_111_111, 0x23523ED, "14050471", Algorithm::Sha1),
            (1_111_111_111, 0x23523ED, "67062674", Algorithm::Sha256),
            (1_111_111_111, 0x23523ED, "99943326", Algorithm::Sha512),
            (1_234_567_890, 0x273EF07, "89005924", Algorithm::Sha1),
            (1_234_567_890, 0x273EF07, "91819424", Algorithm::Sha256),
            (1_234_567_890, 0x273EF07, "93441116", Algorithm::Sha512),
            (2_000_000_000, 0x3F940AA, "69279037", Algorithm::Sha1),
            (2_000_000_000, 0x3F940AA, "90698825", Algorithm::Sha256),
            (2_000_000_000, 0x3F940AA, "38618901", Algorithm::Sha512),
            (20_000_000_000, 0x27BC86AA, "65353130", Algorithm::Sha1),
            (20_000_000_000, 0x27BC86AA, "77737706", Algorithm::Sha256),
            (20_000_000_000, 0x27BC86AA, "47863826", Algorithm::Sha512),
        ];
        for (time, step, code, algorithm) in rows {
            let totp = rfc_totp(algorithm);
            assert_eq!(totp.step_at(time).unwrap().counter, step, "T at {time}");
            assert_eq!(
                totp.code_at(time).unwrap().to_string(),
                code,
                "{algorithm} at {time}"
            );
        }
    }

    #[test]
    fn both_sides_of_a_60_second_boundary() {
        let totp = Totp::new(Algorithm::Sha1, SEED20, 8, 60).unwrap();
        let hotp = Hotp::new(Algorithm::Sha1, SEED20, 8).unwrap();
        for boundary in [
            60u64,
            1_700_000_040,
            2_147_483_640,
            4_294_967_280,
            20_000_000_040,
        ] {
            let before = totp.step_at(boundary - 1).unwrap();
            let at = totp.step_at(boundary).unwrap();
            assert_eq!(at.counter, before.counter + 1);
            assert_eq!(before.end(), Some(boundary));
            assert_eq!(at.start, boundary);
            assert_eq!(
                totp.code_at(boundary - 1).unwrap(),
                hotp.code(boundary / 60 - 1)
            );
            assert_eq!(totp.code_at(boundary).unwrap(), hotp.code(boundary / 60));
            assert_eq!(
                totp.code_at(boundary + 59).unwrap(),
                hotp.code(boundary / 60)
            );
        }
    }

    #[test]
    fn year_2038_and_beyond() {
        let totp = Totp::new(Algorithm::Sha1, SEED20, 8, 30).unwrap();
        let hotp = Hotp::new(Algorithm::Sha1, SEED20, 8).unwrap();
        // 2038-01-19T03:14:07Z is i32::MAX; one second later 32-bit time wraps.
        for t in [
            2_147_483_647u64,
            2_147_483_648,
            4_294_967_295,
            4_294_967_296,
        ] {
            assert_eq!(totp.code_at(t).unwrap(), hotp.code(t / 30), "t = {t}");
        }
    }

    #[test]
    fn near_u64_max() {
        let totp = Totp::new(Algorithm::Sha256, SEED32, 8, 60).unwrap();
        let hotp = Hotp::new(Algorithm::Sha256, SEED32, 8).unwrap();
        let step = totp.step_at(u64::MAX).unwrap();
        assert_eq!(step.counter, u64::MAX / 60);
        assert_eq!(step.start, u64::MAX / 60 * 60);
        assert_eq!(step.end(), None, "u64::MAX / 60 * 60 + 60 overflows");
        assert_eq!(totp.code_at(u64::MAX).unwrap(), hotp.code(u64::MAX / 60));
        assert_eq!(
            totp.code_at(u64::MAX - 15).unwrap(),
            hotp.code(u64::MAX / 60)
        );
        assert_eq!(totp.step(u64::MAX), Err(OtpError::Overflow));
        assert_eq!(totp.step(u64::MAX / 60).unwrap(), step);
    }

    #[test]
    fn t0_shifts_the_origin() {
        let totp = Totp::new(Algorithm::Sha1, SEED20, 6, 30)
            .unwrap()
            .with_t0(100);
        assert_eq!(totp.step_at(99), Err(OtpError::TimeBeforeT0));
        assert_eq!(
            totp.step_at(100).unwrap(),
            TimeStep {
                counter: 0,
                start: 100,
                period: 30
            }
        );
        assert_eq!(totp.step_at(130).unwrap().counter, 1);
        assert_eq!(totp.step(2).unwrap().start, 160);
    }

    #[test]
    fn period_is_validated() {
        for period in [0u64, 1, 9, 301, u64::MAX] {
            assert_eq!(
                Totp::new(Algorithm::Sha1, SEED20, 6, period).unwrap_err(),
                OtpError::PeriodOutOfRange { period }
            );
        }
        assert!(Totp::new(Algorithm::Sha1, SEED20, 6, 10).is_ok());
        assert!(Totp::new(Algorithm::Sha1, SEED20, 6, 300).is_ok());
    }

    #[test]
    fn clock_readings_before_1970_are_typed_errors() {
        assert_eq!(unix_seconds(0, 0), Ok(0));
        assert_eq!(unix_seconds(999, 0), Ok(0));
        assert_eq!(
            unix_seconds(-1, 0),
            Err(OtpError::TimeBeforeEpoch {
                seconds_before_epoch: 1
            })
        );
        assert_eq!(
            unix_seconds(-1000, 0),
            Err(OtpError::TimeBeforeEpoch {
                seconds_before_epoch: 1
            })
        );
        assert_eq!(
            unix_seconds(-1001, 0),
            Err(OtpError::TimeBeforeEpoch {
                seconds_before_epoch: 2
            })
        );
        assert_eq!(
            unix_seconds(5_000, -6),
            Err(OtpError::TimeBeforeEpoch {
                seconds_before_epoch: 1
            })
        );
        assert_eq!(unix_seconds(-5_000, 6), Ok(1));
        assert_eq!(
            unix_seconds(i64::MAX, i64::MAX),
            Ok(i64::MAX as u64 / 1000 + i64::MAX as u64)
        );
        assert!(unix_seconds(i64::MIN, i64::MIN).is_err());
    }
}
