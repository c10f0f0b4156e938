//! Where SMS messages go: the [`SmsGateway`] trait, a development
//! [`Outbox`] (kept in memory and appended to a file, shown only in
//! development mode) and a generic [`HttpGateway`] that POSTs JSON to the
//! bank's SMS provider.

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

/// The future a gateway returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send + 'a>>;

/// The gateway did not take the message. Never holds the message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMS gateway: {0}")]
pub struct GatewayError(pub String);

/// Sends one text message.
pub trait SmsGateway: Send + Sync + 'static {
    /// Sends `text` to `phone` (normalised digits).
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SendFuture<'a>;
}

/// A message the [`Outbox`] kept.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxMessage {
    /// Unix seconds.
    pub at: u64,
    /// The recipient.
    pub phone: String,
    /// The text (it may hold a code: development only).
    pub text: String,
}

impl core::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("at", &self.at)
            .field("phone", &self.phone)
            .finish_non_exhaustive()
    }
}

/// The development gateway: keeps the newest messages in memory (for the
/// development inbox) and appends each as a JSON line to a file, if given.
#[derive(Debug, Default)]
pub struct Outbox {
    messages: Mutex<VecDeque<OutboxMessage>>,
    file: Option<PathBuf>,
}

/// Messages the [`Outbox`] keeps in memory.
pub const OUTBOX_KEEP: usize = 1000;

impl Outbox {
    /// An outbox appending to `file` too, when given.
    pub fn new(file: Option<PathBuf>) -> Self {
        Self {
            messages: Mutex::new(VecDeque::new()),
            file,
        }
    }

    /// The newest messages, oldest first.
    pub fn messages(&self) -> Vec<OutboxMessage> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

impl SmsGateway for Outbox {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let message = OutboxMessage {
                at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                phone: phone.to_owned(),
                text: text.to_owned(),
            };
            if let Some(path) = &self.file {
                use std::io::Write;
                let mut line = serde_json::to_vec(&message)
                    .map_err(|e| GatewayError(format!("outbox: {e}")))?;
                line.push(b'\n');
                let mut options = std::fs::OpenOptions::new();
                options.create(true).append(true);
                // The texts hold codes: readable by the service's user only.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                options
                    .open(path)
                    .and_then(|mut f| f.write_all(&line))
                    .map_err(|e| GatewayError(format!("outbox file: {e}")))?;
            }
            let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
            if messages.len() >= OUTBOX_KEEP {
                messages.pop_front();
            }
            messages.push_back(message);
            Ok(())
        })
    }
}

/// A generic HTTP gateway: `POST {url}` with `{"to": phone, "text": text}`
/// and an optional bearer token; any 2xx is success. Plain HTTP only: put
/// a TLS-terminating proxy on the loopback in front of a remote provider.
#[derive(Clone)]
pub struct HttpGateway {
    url: axum::http::Uri,
    token: Option<zeroize::Zeroizing<String>>,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        axum::body::Body,
    >,
}

impl core::fmt::Debug for HttpGateway {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpGateway")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpGateway {
    /// A gateway posting to `url` (http://…), with `token` as a bearer token.
    ///
    /// # Errors
    /// [`GatewayError`] for a URL that is not `http://host[:port]/path`.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, GatewayError> {
        let url: axum::http::Uri = url
            .parse()
            .map_err(|_| GatewayError("the gateway URL does not parse".into()))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err(GatewayError(
                "the gateway URL must be http://host/path".into(),
            ));
        }
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Ok(Self {
            url,
            token: token.map(zeroize::Zeroizing::new),
            client,
        })
    }
}

impl SmsGateway for HttpGateway {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(&serde_json::json!({ "to": phone, "text": text }))
                .map_err(|e| GatewayError(format!("encoding: {e}")))?;
            let mut request = axum::http::Request::post(self.url.clone())
                .header(axum::http::header::CONTENT_TYPE, "application/json");
            if let Some(token) = &self.token {
                request = request.header(
                    axum::http::header::AUTHORIZATION,
                    format!("Bearer {}", token.as_str()),
                );
            }
            let request = request
                .body(axum::body::Body::from(body))
                .map_err(|_| GatewayError("building the request".into()))?;
            let response = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.client.request(request),
            )
            .await
            .map_err(|_| GatewayError("timed out".into()))?
            .map_err(|e| GatewayError(format!("request failed: {e}")))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(GatewayError(format!("answered {}", response.status())))
            }
        })
    }
}
