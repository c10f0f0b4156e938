//! The bank service: provisioning, the ATM channel, confirmations, PIN and
//! SMS-code verification and operator calls over HTTP/JSON, on any
//! [`Store`] — one instance on the embedded SQLite store, or any number
//! behind a load balancer on PostgreSQL. Each instance is stateless but for
//! caches: every decision is one atomic step on the store, so a code is
//! accepted once across the fleet, and a store error is a 503, never an accept.
//!
//! Every endpoint but `/healthz`, `/readyz` and `/openapi.json` needs a
//! client credential with the right scope ([`auth`]); bodies are capped and
//! requests time-limited; an `Idempotency-Key` makes a retried POST return
//! the first answer; `/metrics` is Prometheus text. The API is described by
//! `openapi.json` (served at `/openapi.json`, checked against the router by
//! the tests).
//!
//! In development mode it also serves the demonstration pages ([`pages`]):
//! internet banking's activation, a payment gateway and the SMS inbox.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod gateway;
pub mod metrics;
pub mod pages;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use crate::Issuer;
use crate::keys::KeyEncryption;
use crate::sms::{SmsConfig, SmsKey, SmsService};
use crate::store::{AuditEvent, IdempotencyBegin, Store, StoredResponse};
use crate::verifier::{Verifier, VerifierConfig};
use dynpin::card::CardId;
use dynpin::clock::{Clock, SystemClock};

use self::auth::Clients;
use self::config::{Config, Scope};
use self::error::ApiError;
use self::gateway::{Outbox, SmsGateway};
use self::metrics::Metrics;

/// The OpenAPI 3 description of the service (served at `/openapi.json`).
pub const OPENAPI: &str = include_str!("openapi.json");

/// How long an idempotency key's first request holds it at least
/// (seconds); never less than the request time limit plus 10 s.
pub const IDEMPOTENCY_LEASE_SECONDS: u64 = 30;

/// This instance's clock: the system clock plus a configured offset (for
/// tests of skew between servers; zero in production).
#[derive(Debug, Clone, Copy, Default)]
pub struct OffsetClock {
    /// Seconds added.
    pub offset_seconds: i64,
}

impl Clock for OffsetClock {
    fn now_millis(&self) -> i64 {
        SystemClock
            .now_millis()
            .saturating_add(self.offset_seconds.saturating_mul(1000))
    }
}

/// A token bucket for activation fetches on this instance (the store also
/// caps fetches per handle).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// `per_second` tokens a second, at most `burst` saved.
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token, or says how many seconds to wait.
    ///
    /// # Errors
    /// The seconds to wait.
    pub fn take(&self) -> Result<(), u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens =
            (tokens + now.duration_since(last).as_secs_f64() * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            Err(((1.0 - tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Everything a request needs; shared by every task of an instance.
pub struct App<S: Store> {
    /// PINs and confirmations.
    pub verifier: Verifier<S>,
    /// SMS codes.
    pub sms: SmsService<S>,
    /// Provisioning.
    pub issuer: Issuer,
    /// The store.
    pub store: Arc<S>,
    /// Client credentials.
    pub clients: Clients,
    /// Where SMS messages go.
    pub gateway: Arc<dyn SmsGateway>,
    /// The development outbox, served at `/dev/outbox` in development mode only.
    pub outbox: Option<Arc<Outbox>>,
    /// This instance's clock.
    pub clock: OffsetClock,
    /// Metrics.
    pub metrics: Metrics,
    /// Activation fetches on this instance.
    pub fetch_limiter: RateLimiter,
    /// The development pages' memory; `Some` in development mode only.
    pub pages: Option<pages::Pages>,
    body_limit: usize,
    /// How long an idempotency key's first request holds it: longer than
    /// any request may take, so a retry never runs beside the original.
    idempotency_lease_seconds: u64,
    /// Seals kept answers (they can hold an activation code or a payload).
    kek: Arc<dyn KeyEncryption>,
}

impl<S: Store> core::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

/// The service could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl<S: Store> App<S> {
    /// The application for `config` on `store`, sealing seeds with `kek`.
    ///
    /// # Errors
    /// [`StartError`] for settings out of range.
    pub fn new(
        config: &Config,
        store: Arc<S>,
        kek: Arc<dyn KeyEncryption>,
        sms_key: SmsKey,
        gateway: Arc<dyn SmsGateway>,
        outbox: Option<Arc<Outbox>>,
    ) -> Result<Self, StartError> {
        let v = config.verifier;
        let verifier_config = VerifierConfig {
            behind: v.behind,
            ahead: v.ahead,
            failure_limit: v.failure_limit,
            confirmation_attempts: v.confirmation_attempts,
            confirmation_seconds: v.confirmation_seconds,
            ..VerifierConfig::default()
        };
        let verifier = Verifier::new(verifier_config, Arc::clone(&store), Arc::clone(&kek))
            .map_err(|e| StartError(e.to_string()))?;
        let sms_config = SmsConfig {
            validity_seconds: config.sms.validity_seconds,
            ..SmsConfig::default()
        };
        let sms = SmsService::new(sms_config, sms_key, Arc::clone(&store))
            .map_err(|e| StartError(e.to_string()))?;
        let mut issuer = Issuer::new();
        if config.development {
            issuer = issuer
                .with_kdf(dynpin::kdf::KdfParams::MINIMUM)
                .map_err(|e| StartError(e.to_string()))?;
        }
        Ok(Self {
            verifier,
            sms,
            issuer,
            store,
            clients: Clients::new(&config.clients),
            gateway,
            outbox: if config.development { outbox } else { None },
            clock: OffsetClock {
                offset_seconds: config.clock_offset_seconds,
            },
            metrics: Metrics::new(),
            fetch_limiter: RateLimiter::new(20.0, 40.0),
            pages: config.development.then(pages::Pages::new),
            body_limit: config.body_limit,
            idempotency_lease_seconds: IDEMPOTENCY_LEASE_SECONDS
                .max(config.request_timeout_ms.div_ceil(1000).saturating_add(10)),
            kek,
        })
    }

    /// Unix seconds on this instance's clock.
    pub fn now(&self) -> u64 {
        u64::try_from(self.clock.now_millis() / 1000).unwrap_or(0)
    }

    /// Appends an event to the audit log; a failure is logged.
    async fn audit(&self, card: CardId, event: &str, actor: &str, detail: String) {
        let event = AuditEvent {
            card: Some(card),
            event: event.to_owned(),
            actor: actor.to_owned(),
            detail,
        };
        if let Err(e) = self.store.audit(&event).await {
            eprintln!(
                "dynpin-bank: audit event '{}' not recorded: {e}",
                event.event
            );
        }
    }
}

/// The router of `app`, with every layer: metrics, idempotency, body limit, timeout.
pub fn router<S: Store>(app: Arc<App<S>>, request_timeout: Duration) -> Router {
    use api::OperatorAction as Op;
    let operator_route = |action: Op| {
        move |State(app): State<Arc<App<S>>>, Path(id): Path<String>, headers: HeaderMap, json| {
            api::operator(app, action, id, headers, json)
        }
    };
    let mut routes = Router::new()
        .route("/v1/cards", post(api::provision::<S>))
        .route("/v1/activations/fetch", post(api::fetch_activation::<S>))
        .route("/v1/cards/{id}", get(api::get_card::<S>))
        .route("/v1/cards/{id}/confirm", post(api::confirm::<S>))
        .route("/v1/cards/{id}/verify", post(api::verify::<S>))
        .route(
            "/v1/cards/{id}/verify-amount",
            post(api::verify_amount::<S>),
        )
        .route("/v1/cards/{id}/sms-codes", post(api::request_sms::<S>))
        .route(
            "/v1/cards/{id}/sms-codes/verify",
            post(api::verify_sms::<S>),
        )
        .route(
            "/v1/cards/{id}/card-code/verify",
            post(api::verify_card_code::<S>),
        )
        .route("/v1/cards/{id}/unlock", post(operator_route(Op::Unlock)))
        .route("/v1/cards/{id}/suspend", post(operator_route(Op::Suspend)))
        .route(
            "/v1/cards/{id}/lift-suspension",
            post(operator_route(Op::Lift)),
        )
        .route("/v1/cards/{id}/resync", post(api::resync::<S>))
        .route("/v1/sms/inbound", post(api::inbound_sms::<S>))
        .route("/metrics", get(metrics_text::<S>));
    if app.outbox.is_some() {
        routes = routes
            .route("/dev/outbox", get(dev_outbox::<S>))
            .route("/dev/inbox", get(pages::inbox::<S>));
    }
    if app.pages.is_some() {
        // The demonstration pages: HTML forms, no client credential.
        routes = routes
            .route(
                "/bank/activate",
                get(pages::activate_page::<S>).post(pages::activate_submit::<S>),
            )
            .route(
                "/pay",
                get(pages::pay_page::<S>).post(pages::pay_submit::<S>),
            );
    }
    routes
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            idempotency::<S>,
        ))
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz::<S>))
        .route("/openapi.json", get(openapi))
        // Inside the metrics, so that a request cut off is counted (503).
        .route_layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(request, next, request_timeout)
        }))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            observe::<S>,
        ))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(app.body_limit))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            refuse_oversized::<S>,
        ))
        .with_state(app)
}

/// Bodies up to this size that are over the limit are read and dropped
/// before the 413 goes out, so the connection closes cleanly and the client
/// reads the answer (closing on unread bytes resets the connection, and the
/// answer can be lost); larger ones are refused at once.
const DRAIN_OVERSIZED: usize = 1024 * 1024;

/// 413 `body_too_large` for a declared length over the limit, before any
/// handler or store is touched.
async fn refuse_oversized<S: Store>(
    State(app): State<Arc<App<S>>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(length) if length > app.body_limit => {
            if length <= DRAIN_OVERSIZED {
                let _ = axum::body::to_bytes(request.into_body(), DRAIN_OVERSIZED).await;
            }
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            )
            .into_response()
        }
        _ => next.run(request).await,
    }
}

/// Cuts off a request that takes longer than `limit` (a slow client or a
/// store that does not answer): 503 `timeout`. Nothing was accepted unless
/// the store had already decided, and then a retry with the same
/// `Idempotency-Key` gets that answer.
async fn time_limit(request: Request, next: Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError {
            retry_after_seconds: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; retry",
            )
        }
        .into_response(),
    }
}

async fn readyz<S: Store>(State(app): State<Arc<App<S>>>) -> Response {
    match app.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn metrics_text<S: Store>(State(app): State<Arc<App<S>>>, headers: HeaderMap) -> Response {
    if let Err(e) = app.clients.authorize(&headers, Scope::Metrics) {
        return e.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn dev_outbox<S: Store>(State(app): State<Arc<App<S>>>) -> Response {
    match &app.outbox {
        Some(outbox) => axum::Json(outbox.messages()).into_response(),
        None => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
        }
    }
}

/// Records every routed request's status and latency, and answers'
/// error codes.
async fn observe<S: Store>(
    State(app): State<Arc<App<S>>>,
    path: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = path.map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics.request(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `Idempotency-Key`: 1 to 128 printable ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid("Idempotency-Key is 1 to 128 printable ASCII characters")
        })?;
    Ok(Some(key.to_owned()))
}

/// A POST with an `Idempotency-Key` is answered once per (client, key): a
/// retry gets the first answer (from the store, on any instance), a retry
/// while the first is in flight gets 409, the key reused for another request
/// 422. 5xx answers are not kept (the retry runs again: nothing was decided).
async fn idempotency<S: Store>(
    State(app): State<Arc<App<S>>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match idempotency_key(request.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(request).await,
        Err(e) => return e.into_response(),
    };
    let client = match app.clients.authenticate(request.headers()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, app.body_limit).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        )
        .into_response();
    };
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str().as_bytes());
    hash.update([0]);
    hash.update(parts.uri.path().as_bytes());
    hash.update([0]);
    hash.update(&bytes);
    let hash: [u8; 32] = hash.finalize().into();
    let begun = app
        .store
        .begin_idempotent(&client.id, &key, hash, app.idempotency_lease_seconds)
        .await;
    match begun {
        Err(e) => ApiError::unavailable(&e).into_response(),
        Ok(IdempotencyBegin::Done(stored)) => {
            match open_answer(app.kek.as_ref(), &client.id, &key, &stored.body) {
                Ok(body) => stored_response(stored.status, body),
                Err(e) => ApiError::unavailable(&e).into_response(),
            }
        }
        Ok(IdempotencyBegin::InFlight) => ApiError {
            retry_after_seconds: Some(1),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_flight",
                "a request with this Idempotency-Key is in progress; retry later",
            )
        }
        .into_response(),
        Ok(IdempotencyBegin::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        )
        .into_response(),
        Ok(IdempotencyBegin::Proceed) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let Ok(body) = axum::body::to_bytes(body, 4 * 1024 * 1024).await else {
                return ApiError::unavailable(&"an answer could not be buffered").into_response();
            };
            if !parts.status.is_server_error() {
                match seal_answer(app.kek.as_ref(), &client.id, &key, &body) {
                    Ok(sealed) => {
                        let stored = StoredResponse {
                            status: parts.status.as_u16(),
                            body: sealed,
                        };
                        if let Err(e) = app.store.finish_idempotent(&client.id, &key, &stored).await
                        {
                            eprintln!("dynpin-bank: idempotent answer not kept: {e}");
                        }
                    }
                    Err(e) => eprintln!("dynpin-bank: idempotent answer not sealed: {e}"),
                }
            }
            Response::from_parts(parts, Body::from(body))
        }
    }
}

/// What a kept answer is bound to: its client and key.
fn answer_aad(client: &str, key: &str) -> Vec<u8> {
    let mut aad = b"dynpin-bank idempotent answer v1\0".to_vec();
    aad.extend_from_slice(client.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// A kept answer is sealed under the KEK (it can hold an activation code,
/// a payload or a QR code): key id length u8 ‖ key id ‖ sealed body.
fn seal_answer(
    kek: &dyn KeyEncryption,
    client: &str,
    key: &str,
    body: &[u8],
) -> Result<Vec<u8>, crate::keys::KeyError> {
    let id = kek.key_id().as_bytes();
    let id_len = u8::try_from(id.len())
        .map_err(|_| crate::keys::KeyError::KeyFile("a key id longer than 255 bytes".into()))?;
    let sealed = kek.seal(&answer_aad(client, key), body)?;
    let mut out = Vec::with_capacity(1 + id.len() + sealed.len());
    out.push(id_len);
    out.extend_from_slice(id);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal_answer`] kept.
fn open_answer(
    kek: &dyn KeyEncryption,
    client: &str,
    key: &str,
    stored: &[u8],
) -> Result<Vec<u8>, crate::keys::KeyError> {
    let (&id_len, rest) = stored
        .split_first()
        .ok_or(crate::keys::KeyError::Tampered)?;
    let (id, sealed) = rest
        .split_at_checked(usize::from(id_len))
        .ok_or(crate::keys::KeyError::Tampered)?;
    let id = core::str::from_utf8(id).map_err(|_| crate::keys::KeyError::Tampered)?;
    Ok(kek.open(id, &answer_aad(client, key), sealed)?.to_vec())
}

fn stored_response(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replay", HeaderValue::from_static("true"));
    response
}

/// Serves `app` on `listener` until ctrl-c or SIGTERM.
///
/// # Errors
/// The server's I/O error.
pub async fn serve<S: Store>(
    app: Arc<App<S>>,
    listener: tokio::net::TcpListener,
    request_timeout: Duration,
) -> std::io::Result<()> {
    axum::serve(listener, router(app, request_timeout))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
