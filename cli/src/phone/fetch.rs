//! Fetching an ATM-channel activation from the bank service: `POST
//! URL/v1/activations/fetch` with `{"handle": "…"}` and the app's bearer
//! credential; the answer `{"payload": "DPIN:…"}` is the sealed payload,
//! which the phone then activates offline with the code from the receipt.
//! Plain HTTP/1.1 on a current-thread runtime, as the service's SMS gateway.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request as HttpRequest, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use zeroize::Zeroizing;

use dynpin::text;

use crate::args::{Res, usage};

/// Digits of an activation handle (printed 4-4-4 on the receipt).
const HANDLE_DIGITS: usize = 12;
/// How long to wait for the bank.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (a payload is well under 1 KiB).
const MAX_ANSWER: usize = 64 * 1024;
/// The environment variable holding the app's credential.
pub(crate) const TOKEN_VAR: &str = "DYNPIN_TOKEN";

/// Why no payload was fetched: one message per answer the service gives.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// 404 `unknown_handle`.
    #[error(
        "the bank has no activation with handle {0} (unknown, expired or fetched too often); \
         check the receipt, or ask the bank for a new activation"
    )]
    UnknownHandle(String),
    /// 429: the service's fetch limiter.
    #[error("the bank is refusing activation fetches for now (too many); {hint}", hint = retry(*.0))]
    RateLimited(Option<u64>),
    /// 401: no such client, or a wrong secret.
    #[error("the bank refused the app's credential (from {0}): 401 unauthorized")]
    Unauthorized(String),
    /// 403: a credential without the `app` scope.
    #[error("the app's credential (from {0}) may not fetch activations (it lacks the app scope)")]
    Forbidden(String),
    /// Nothing listens at the address.
    #[error("cannot connect to the bank at {0}: connection refused (is the service running?)")]
    Refused(String),
    /// Another failure to connect or to exchange the request.
    #[error("cannot reach the bank at {0}: {1}")]
    Unreachable(String, String),
    /// No answer within [`TIMEOUT`].
    #[error("the bank at {0} did not answer within {secs} s", secs = TIMEOUT.as_secs())]
    TimedOut(String),
    /// Another error answer, with the service's message and code.
    #[error("the bank answered {0}: {1}")]
    Rejected(StatusCode, String),
    /// An answer that is not the service's (no JSON error in it).
    #[error("{0} answered {1}, not as the bank service does (is that its address?)")]
    NotTheService(String, StatusCode),
    /// A success that holds no payload.
    #[error("the bank's answer is not an activation: {0}")]
    BadAnswer(String),
}

fn retry(seconds: Option<u64>) -> String {
    match seconds {
        Some(s) => format!("try again in {s} s"),
        None => "try again later".to_owned(),
    }
}

/// What to fetch, checked before anything is sent.
pub(crate) struct Request {
    /// The service's base URL, as given (for messages).
    base: String,
    endpoint: Uri,
    /// The handle's 12 ASCII digits.
    handle: Zeroizing<String>,
    token: Zeroizing<String>,
    /// Where the token came from (for messages): the file or the variable.
    token_source: String,
}

impl Request {
    /// The fetch of `handle` from the service at `url`, with the credential
    /// in `token_file` or else in `$DYNPIN_TOKEN`.
    ///
    /// # Errors
    /// A usage error for a URL that is not `http://host[:port][/prefix]`, a
    /// handle that is not 12 digits or no credential; an error for an
    /// unreadable or malformed credential.
    pub(crate) fn new(url: &str, handle: &str, token_file: Option<&str>) -> Res<Self> {
        let base = url.trim_end_matches('/');
        let endpoint: Uri = match format!("{base}/v1/activations/fetch").parse::<Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => uri,
            Ok(uri) if uri.scheme_str() == Some("https") => {
                return usage(format!(
                    "--fetch: '{url}': plain http:// only (put a TLS-terminating proxy on the loopback)"
                ));
            }
            _ => return usage(format!("--fetch: '{url}' is not an http://host:port URL")),
        };
        if endpoint.query().is_some() {
            return usage(format!(
                "--fetch: '{url}' is the service's address, without a query"
            ));
        }
        let Ok(handle) = text::parse_code(handle, HANDLE_DIGITS) else {
            return usage(format!(
                "--handle: '{handle}' is not the 12-digit handle of an ATM receipt (1234-5678-9012)"
            ));
        };
        let (token, token_source) = match token_file {
            Some(path) => {
                let text =
                    Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                        format!("cannot read the app's credential from {path}: {e}")
                    })?);
                (Zeroizing::new(text.trim().to_owned()), path.to_owned())
            }
            None => match std::env::var(TOKEN_VAR) {
                Ok(token) => (
                    Zeroizing::new(token.trim().to_owned()),
                    TOKEN_VAR.to_owned(),
                ),
                Err(_) => {
                    return usage(format!(
                        "--fetch needs the app's credential: --token-file FILE or {TOKEN_VAR}"
                    ));
                }
            },
        };
        let well_formed = token
            .split_once('.')
            .is_some_and(|(id, secret)| !id.is_empty() && !secret.is_empty())
            && token.bytes().all(|b| b.is_ascii_graphic());
        if !well_formed {
            return Err(format!(
                "the app's credential (from {token_source}) is not <client id>.<secret>"
            )
            .into());
        }
        Ok(Self {
            base: base.to_owned(),
            endpoint,
            handle,
            token,
            token_source,
        })
    }

    /// The service's address, for messages.
    pub(crate) fn url(&self) -> &str {
        &self.base
    }

    /// The handle grouped as on the receipt.
    fn grouped_handle(&self) -> String {
        self.handle
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Fetches the payload (blocking, on a runtime of its own).
    ///
    /// # Errors
    /// [`FetchError`], or a runtime that cannot start.
    pub(crate) fn payload(&self) -> Res<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(runtime.block_on(self.fetch())?)
    }

    async fn fetch(&self) -> Result<String, FetchError> {
        let unreachable = |reason: String| FetchError::Unreachable(self.base.clone(), reason);
        let body = serde_json::json!({ "handle": self.handle.as_str() }).to_string();
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", self.token.as_str()))
            .map_err(|_| unreachable("the credential is not a header value".into()))?;
        authorization.set_sensitive(true);
        let request = HttpRequest::post(self.endpoint.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, authorization)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(format!("building the request: {e}")))?;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let response = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| FetchError::TimedOut(self.base.clone()))?
            .map_err(|e| {
                if refused(&e) {
                    FetchError::Refused(self.base.clone())
                } else {
                    unreachable(describe(&e))
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = tokio::time::timeout(
            TIMEOUT,
            Limited::new(response.into_body(), MAX_ANSWER).collect(),
        )
        .await
        .map_err(|_| FetchError::TimedOut(self.base.clone()))?
        .map_err(|e| unreachable(format!("reading the answer: {e}")))?
        .to_bytes();
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let field = |path: &[&str]| {
            let mut value = json.as_ref()?;
            for key in path {
                value = value.get(key)?;
            }
            Some(value.clone())
        };
        let error_code = field(&["error", "code"]);
        let error_code = error_code.as_ref().and_then(|v| v.as_str()).unwrap_or("");
        match status {
            StatusCode::OK => match field(&["payload"]) {
                Some(serde_json::Value::String(payload)) => Ok(payload),
                _ => Err(FetchError::BadAnswer("no payload in it".into())),
            },
            StatusCode::NOT_FOUND if error_code == "unknown_handle" => {
                Err(FetchError::UnknownHandle(self.grouped_handle()))
            }
            StatusCode::TOO_MANY_REQUESTS => {
                Err(FetchError::RateLimited(retry_after.or_else(|| {
                    field(&["error", "retry_after_seconds"]).and_then(|v| v.as_u64())
                })))
            }
            StatusCode::UNAUTHORIZED => Err(FetchError::Unauthorized(self.token_source.clone())),
            StatusCode::FORBIDDEN => Err(FetchError::Forbidden(self.token_source.clone())),
            other => match field(&["error", "message"]) {
                Some(serde_json::Value::String(message)) => Err(FetchError::Rejected(
                    other,
                    if error_code.is_empty() {
                        message
                    } else {
                        format!("{message} ({error_code})")
                    },
                )),
                _ => Err(FetchError::NotTheService(self.base.clone(), other)),
            },
        }
    }
}

/// Whether `error` is a refused connection.
fn refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// The error and its causes, on one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}
