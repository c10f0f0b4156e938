//! The service's typed errors: one JSON shape, one HTTP status per code,
//! and one exhaustive mapping from the library's errors. No body ever holds
//! a secret; store errors are logged (without secrets) and answered 503.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::sms::SmsError;
use crate::verifier::{SealedCardError, VerifyError};

/// An error answer: `{"error": {"code", "message", …}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (listed in the OpenAPI description).
    pub code: &'static str,
    /// A human-readable message (English).
    pub message: String,
    /// Attempts left, where that applies.
    pub remaining_attempts: Option<u32>,
    /// Seconds to wait before retrying, where that applies.
    pub retry_after_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            remaining_attempts: None,
            retry_after_seconds: None,
        }
    }

    fn remaining(mut self, n: u32) -> Self {
        self.remaining_attempts = Some(n);
        self
    }

    fn retry_after(mut self, s: u64) -> Self {
        self.retry_after_seconds = Some(s);
        self
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 503 `unavailable`: the store (or a dependency) did not answer;
    /// nothing was accepted. The detail goes to the log only.
    pub fn unavailable(detail: &dyn core::fmt::Display) -> Self {
        eprintln!("dynpin-bank: unavailable: {detail}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service cannot decide now; nothing was accepted; retry later",
        )
        .retry_after(1)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                remaining_attempts: self.remaining_attempts,
                retry_after_seconds: self.retry_after_seconds,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            VerifyError::UnknownCard => Self::new(S::NOT_FOUND, "unknown_card", message),
            VerifyError::NoSuchPin(_) => Self::new(S::BAD_REQUEST, "no_such_pin", message),
            VerifyError::Malformed(_) => Self::new(S::BAD_REQUEST, "malformed_code", message),
            VerifyError::Rejected { remaining_attempts } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "wrong_pin", message)
                    .remaining(remaining_attempts)
            }
            VerifyError::Replayed { remaining_attempts } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "already_used", message)
                    .remaining(remaining_attempts)
            }
            VerifyError::Locked => Self::new(S::LOCKED, "locked", message),
            VerifyError::ResyncFailed => {
                Self::new(S::UNPROCESSABLE_ENTITY, "resync_failed", message)
            }
            VerifyError::WrongConfirmation { remaining_attempts } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "wrong_code", message)
                    .remaining(remaining_attempts)
            }
            VerifyError::NotConfirmed => Self::new(S::CONFLICT, "not_confirmed", message),
            VerifyError::Suspended => Self::new(S::CONFLICT, "suspended", message),
            VerifyError::ConfirmationExpired => Self::new(S::GONE, "expired", message),
            VerifyError::CloneSuspected => Self::new(S::CONFLICT, "clone_suspected", message),
            VerifyError::DuplicateCard => Self::new(S::CONFLICT, "duplicate_card", message),
            VerifyError::Issuer(_) | VerifyError::Card(_) => Self::invalid(message),
            VerifyError::InvalidConfig(_) => Self::invalid(message),
            VerifyError::Unavailable(e) => Self::unavailable(&e),
            VerifyError::StoredCard(SealedCardError::TooLong(_)) => Self::invalid(message),
            VerifyError::StoredCard(e) => Self::unavailable(&e),
            VerifyError::Key(e) => Self::unavailable(&e),
        }
    }
}

impl From<SmsError> for ApiError {
    fn from(e: SmsError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            SmsError::RateLimited {
                retry_after_seconds,
            } => Self::new(S::TOO_MANY_REQUESTS, "rate_limited", message)
                .retry_after(retry_after_seconds),
            SmsError::NoPendingCode => Self::new(S::NOT_FOUND, "no_pending_code", message),
            SmsError::Suspended => Self::new(S::CONFLICT, "suspended", message),
            SmsError::Expired => Self::new(S::GONE, "expired", message),
            SmsError::Wrong { remaining_attempts } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "wrong_code", message)
                    .remaining(remaining_attempts)
            }
            SmsError::TooManyAttempts => Self::new(S::LOCKED, "locked", message),
            SmsError::Malformed(_) => Self::new(S::BAD_REQUEST, "malformed_code", message),
            SmsError::InvalidConfig(_) => Self::invalid(message),
            SmsError::Unavailable(e) => Self::unavailable(&e),
            SmsError::Randomness(e) => Self::unavailable(&e),
        }
    }
}
