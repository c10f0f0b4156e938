//! The endpoints: JSON in and out, typed errors ([`ApiError`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::App;
use super::config::Scope;
use super::error::ApiError;
use crate::CardRequest;
use crate::sms::{Transaction, normalize_phone};
use crate::store::{ActivationFetch, ActivationRecord, Store};
use crate::verifier::{ConfirmRequest, OperatorAuthorization, VerifyError};
use dynpin::card::{CardId, CardRef, LastFour};
use dynpin::pin::PinKind;

type Answer = Result<Response, ApiError>;

/// The body of a JSON request, or a typed 400/413/415.
fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match json {
        Ok(Json(value)) => Ok(value),
        Err(rejection) => Err(match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send JSON with Content-Type: application/json",
            ),
            // A fixed message: the rejection's text can quote the body
            // (a PIN sent as a number), and error bodies never hold a code.
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the body is not the expected JSON object (see /openapi.json)",
            ),
        }),
    }
}

fn card_id(text: &str) -> Result<CardId, ApiError> {
    CardId::parse(text).ok_or_else(|| ApiError::invalid("the card id is 32 hex digits"))
}

fn ok<T: Serialize>(status: StatusCode, value: &T) -> Answer {
    Ok((status, Json(value)).into_response())
}

/// How the activation reaches the customer.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Default, Debug)]
#[serde(rename_all = "lowercase")]
pub(super) enum Channel {
    /// Internet banking shows a QR code; the activation code goes by SMS.
    #[default]
    Qr,
    /// An ATM prints the activation code and a handle; the app fetches the payload.
    Atm,
}

/// Which PINs the card gets.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub(super) enum Pins {
    #[default]
    Both,
    First,
    Second,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProvisionRequest {
    bin: u32,
    last_four: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    channel: Channel,
    #[serde(default)]
    pins: Pins,
}

/// A provisioned card, as `POST /v1/cards` answers it.
#[derive(Serialize)]
pub(super) struct Provisioned {
    pub(super) card_id: String,
    pub(super) expires_at: u64,
    pub(super) confirm_by: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) qr_svg: Option<String>,
    /// The QR code as a PNG, base64 (standard alphabet, padded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) qr_png_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) activation_code_sent_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) activation_handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) activation_code: Option<String>,
}

/// `+98 912 345 6789` → `0912***6789`.
pub(super) fn mask_phone(phone: &str) -> String {
    let digits = normalize_phone(phone);
    let n = digits.len();
    if n < 8 {
        return "***".into();
    }
    format!(
        "{}***{}",
        digits.get(..4).unwrap_or_default(),
        digits.get(n - 4..).unwrap_or_default()
    )
}

/// Digits of an ATM activation handle: 12 (about 40 bits), grouped 4-4-4.
pub(super) const HANDLE_DIGITS: usize = 12;
/// How many times a handle's payload may be fetched.
pub(super) const HANDLE_FETCHES: u32 = 3;

fn handle_key(handle_digits: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"dynpin-bank activation handle\0");
    h.update(handle_digits.as_bytes());
    h.finalize().into()
}

/// What to provision: the core of `POST /v1/cards`, shared with the
/// development pages ([`super::pages`]).
pub(super) struct ProvisionInput {
    pub(super) card_ref: CardRef,
    pub(super) label: Option<String>,
    /// The mobile number as typed (any spelling); required for the QR channel.
    pub(super) phone: Option<String>,
    pub(super) channel: Channel,
    pub(super) pins: Pins,
}

pub(super) async fn provision<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    json: Result<Json<ProvisionRequest>, JsonRejection>,
) -> Answer {
    let client = app.clients.authorize(&headers, Scope::Provision)?;
    let req = body(json)?;
    let last_four = LastFour::parse(&req.last_four)
        .map_err(|_| ApiError::invalid("last_four is four digits"))?;
    let card_ref =
        CardRef::new(req.bin, last_four).map_err(|_| ApiError::invalid("bin is six digits"))?;
    let input = ProvisionInput {
        card_ref,
        label: req.label,
        phone: req.phone,
        channel: req.channel,
        pins: req.pins,
    };
    let answer = provision_card(&app, &client.id, input).await?;
    ok(StatusCode::CREATED, &answer)
}

/// Provisions a card: draws its seed and activation code, enrolls it with the
/// verifier (pending confirmation), audits it as `actor`'s act, and for the
/// QR channel sends the activation code by SMS and renders the QR code; for
/// the ATM channel stores the sealed payload under a fresh handle.
///
/// # Errors
/// 400 for a bad request, 502 when the SMS is not sent, 503 when the store
/// does not answer.
pub(super) async fn provision_card<S: Store>(
    app: &App<S>,
    actor: &str,
    input: ProvisionInput,
) -> Result<Provisioned, ApiError> {
    let mut request = CardRequest::new(input.card_ref);
    request.label = input.label;
    match input.pins {
        Pins::Both => {}
        Pins::First => request.second_pin = None,
        Pins::Second => request.first_pin = None,
    }
    let phone = match (&input.phone, input.channel) {
        (Some(p), _) if normalize_phone(p).len() >= 10 => Some(normalize_phone(p)),
        (Some(_), _) => return Err(ApiError::invalid("phone is a mobile number")),
        (None, Channel::Qr) => {
            return Err(ApiError::invalid(
                "the QR channel sends the activation code by SMS: phone is required",
            ));
        }
        (None, Channel::Atm) => None,
    };
    let issued = app
        .issuer
        .provision(&request, &app.clock)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let id = app.verifier.enroll(&issued, phone.as_deref()).await?;
    let (_, expires_at) = issued.validity();
    let confirm_by = issued
        .validity()
        .0
        .saturating_add(app.verifier.config().confirmation_seconds);
    app.audit(
        id,
        "provisioned",
        actor,
        format!("channel {:?}", input.channel as u8),
    )
    .await;
    let mut answer = Provisioned {
        card_id: id.to_string(),
        expires_at,
        confirm_by,
        payload: None,
        qr_svg: None,
        qr_png_base64: None,
        activation_code_sent_to: None,
        activation_handle: None,
        activation_code: None,
    };
    match input.channel {
        Channel::Qr => {
            let phone = phone.unwrap_or_default();
            let text = format!(
                "کد فعال‌سازی رمز پویا: {}\nActivation code: {}\nاین کد را به هیچ‌کس ندهید.",
                dynpin::text::to_persian_digits(&issued.activation_code().grouped()),
                issued.activation_code().grouped().as_str()
            );
            app.gateway.send(&phone, &text).await.map_err(|e| {
                eprintln!("dynpin-bank: activation SMS not sent: {e}");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "sms_not_sent",
                    "the activation code could not be sent; provision again",
                )
            })?;
            answer.qr_svg = crate::qr::to_svg(issued.payload()).ok();
            answer.qr_png_base64 = crate::qr::to_png(issued.payload(), 4).ok().map(|png| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(png)
            });
            answer.payload = Some(issued.payload().to_owned());
            answer.activation_code_sent_to = Some(mask_phone(&phone));
        }
        Channel::Atm => {
            let handle = dynpin::secret::random_digits(HANDLE_DIGITS)
                .map_err(|e| ApiError::unavailable(&e))?;
            let stored = app
                .store
                .put_activation(
                    &ActivationRecord {
                        handle: handle_key(&handle),
                        card: id,
                        payload: issued.payload().to_owned(),
                        expires_at,
                        max_fetches: HANDLE_FETCHES,
                    },
                    app.now(),
                )
                .await
                .map_err(|e| ApiError::unavailable(&e))?;
            if !stored {
                return Err(ApiError::unavailable(&"activation handle collision"));
            }
            answer.activation_handle = Some(group(&handle));
            answer.activation_code = Some(issued.activation_code().grouped().to_string());
        }
    }
    Ok(answer)
}

fn group(digits: &str) -> String {
    digits
        .as_bytes()
        .chunks(4)
        .filter_map(|c| core::str::from_utf8(c).ok())
        .collect::<Vec<_>>()
        .join("-")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FetchRequest {
    handle: String,
}

pub(super) async fn fetch_activation<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    json: Result<Json<FetchRequest>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::App)?;
    let req = body(json)?;
    if let Err(retry) = app.fetch_limiter.take() {
        return Err(ApiError {
            retry_after_seconds: Some(retry),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many activation fetches; retry later",
            )
        });
    }
    let digits = dynpin::text::parse_code(&req.handle, HANDLE_DIGITS)
        .map_err(|_| ApiError::invalid("the handle is 12 digits"))?;
    match app
        .store
        .fetch_activation(handle_key(&digits), app.now())
        .await
        .map_err(|e| ApiError::unavailable(&e))?
    {
        ActivationFetch::Found(payload) => {
            ok(StatusCode::OK, &serde_json::json!({ "payload": payload }))
        }
        ActivationFetch::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_handle",
            "no activation with this handle (unknown, expired or fetched too often)",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CodeRequest {
    code: String,
}

pub(super) async fn confirm<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<CodeRequest>, JsonRejection>,
) -> Answer {
    let client = app.clients.authorize(&headers, Scope::Verify)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    // The confirming request's token: a retry with the same key is the same
    // confirmation (answered `confirmed` again), never a clone.
    let key = super::idempotency_key(&headers)?;
    let request = ConfirmRequest::new(&client.id, key.as_deref())?;
    app.verifier
        .confirm_request(id, &req.code, request, &app.clock)
        .await?;
    ok(StatusCode::OK, &serde_json::json!({ "confirmed": true }))
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    First,
    Second,
}

impl From<Kind> for PinKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::First => PinKind::First,
            Kind::Second => PinKind::Second,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    pin_kind: Kind,
    pin: String,
}

#[derive(Serialize)]
struct AcceptedBody {
    accepted: bool,
    step: u64,
    offset: i64,
}

pub(super) async fn verify<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<VerifyRequest>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::Verify)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    let accepted = app
        .verifier
        .verify(id, req.pin_kind.into(), &req.pin, &app.clock)
        .await?;
    ok(
        StatusCode::OK,
        &AcceptedBody {
            accepted: true,
            step: accepted.step,
            offset: accepted.offset,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AmountRequest {
    pin: String,
    amount_rials: u64,
    payee: String,
}

pub(super) async fn verify_amount<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<AmountRequest>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::Verify)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    let accepted = app
        .verifier
        .verify_amount_bound(id, &req.pin, req.amount_rials, &req.payee, &app.clock)
        .await?;
    ok(
        StatusCode::OK,
        &AcceptedBody {
            accepted: true,
            step: accepted.step,
            offset: accepted.offset,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SmsRequest {
    transaction_id: String,
    amount_rials: u64,
    merchant: String,
}

/// A Harim transaction from a request's fields.
pub(super) fn transaction(
    id: String,
    amount_rials: u64,
    merchant: String,
) -> Result<Transaction, ApiError> {
    if id.is_empty() || id.len() > 128 || merchant.is_empty() || merchant.len() > 128 {
        return Err(ApiError::invalid(
            "transaction_id and merchant are 1 to 128 bytes",
        ));
    }
    Ok(Transaction {
        id,
        amount_rials,
        merchant,
    })
}

pub(super) async fn request_sms<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<SmsRequest>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::Verify)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    let tx = transaction(req.transaction_id, req.amount_rials, req.merchant)?;
    let sent = send_sms_code(&app, id, &tx).await?;
    ok(
        StatusCode::CREATED,
        &serde_json::json!({
            "sent_to": sent.sent_to,
            "expires_at": sent.expires_at,
            "validity_seconds": app.sms.config().validity_seconds,
        }),
    )
}

/// A Harim code that was sent.
pub(super) struct SmsSent {
    /// The masked mobile number it went to.
    pub(super) sent_to: String,
    /// When it stops being accepted (Unix seconds, the store's clock).
    pub(super) expires_at: u64,
}

/// Issues a Harim code for `tx` on card `id` and sends it through the SMS
/// gateway to the card's registered mobile number: the core of
/// `POST /v1/cards/{id}/sms-codes`, shared with the development pages.
///
/// # Errors
/// 404 unknown card, 409 no phone, 429 rate-limited, 502 not sent, 503.
pub(super) async fn send_sms_code<S: Store>(
    app: &App<S>,
    id: CardId,
    tx: &Transaction,
) -> Result<SmsSent, ApiError> {
    let record = app
        .store
        .card(id)
        .await
        .map_err(|e| ApiError::unavailable(&e))?
        .ok_or_else(|| ApiError::from(VerifyError::UnknownCard))?;
    let phone = record.phone.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_phone",
            "no mobile number is registered for this card",
        )
    })?;
    let code = app.sms.request(id, tx).await?;
    app.gateway.send(&phone, &code.text_fa).await.map_err(|e| {
        eprintln!("dynpin-bank: SMS code not sent: {e}");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "sms_not_sent",
            "the code could not be sent; request again",
        )
    })?;
    Ok(SmsSent {
        sent_to: mask_phone(&phone),
        expires_at: code.expires_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SmsVerifyRequest {
    transaction_id: String,
    amount_rials: u64,
    merchant: String,
    code: String,
}

pub(super) async fn verify_sms<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<SmsVerifyRequest>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::Verify)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    let tx = transaction(req.transaction_id, req.amount_rials, req.merchant)?;
    app.sms.verify(id, &tx, &req.code).await?;
    ok(StatusCode::OK, &serde_json::json!({ "accepted": true }))
}

pub(super) async fn verify_card_code<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<CodeRequest>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::Verify)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    app.sms.verify_card_code(id, &req.code).await?;
    ok(StatusCode::OK, &serde_json::json!({ "accepted": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InboundSms {
    from: String,
    text: String,
}

pub(super) async fn inbound_sms<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    json: Result<Json<InboundSms>, JsonRejection>,
) -> Answer {
    app.clients.authorize(&headers, Scope::Gateway)?;
    let req = body(json)?;
    if req.text.len() > 160 * 4 || req.from.len() > 32 {
        return Err(ApiError::invalid("from is a phone number and text one SMS"));
    }
    let reply = app.sms.answer_sms(&req.from, &req.text).await?;
    let phone = normalize_phone(&req.from);
    app.gateway
        .send(&phone, &reply.text_fa)
        .await
        .map_err(|e| {
            eprintln!("dynpin-bank: SMS reply not sent: {e}");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "sms_not_sent",
                "the reply could not be sent",
            )
        })?;
    ok(
        StatusCode::OK,
        &serde_json::json!({ "replied": true, "issued": reply.issued.is_some() }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OperatorRequest {
    reason: String,
}

fn authorization(client: &str, reason: &str) -> Result<OperatorAuthorization, ApiError> {
    OperatorAuthorization::new(client, reason)
        .map_err(|_| ApiError::invalid("reason is 1 to 128 printable bytes"))
}

/// The operator actions on a card.
#[derive(Clone, Copy)]
pub(super) enum OperatorAction {
    Unlock,
    Suspend,
    Lift,
}

pub(super) async fn operator<S: Store>(
    app: Arc<App<S>>,
    action: OperatorAction,
    id: String,
    headers: HeaderMap,
    json: Result<Json<OperatorRequest>, JsonRejection>,
) -> Answer {
    let client = app.clients.authorize(&headers, Scope::Operator)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    let auth = authorization(&client.id, &req.reason)?;
    match action {
        OperatorAction::Unlock => app.verifier.operator_reset(&auth, id).await?,
        OperatorAction::Suspend => app.verifier.operator_suspend(&auth, id).await?,
        OperatorAction::Lift => app.verifier.operator_lift_suspension(&auth, id).await?,
    }
    card_state(&app, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResyncRequest {
    pin_kind: Kind,
    first: String,
    second: String,
    reason: String,
}

pub(super) async fn resync<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: Result<Json<ResyncRequest>, JsonRejection>,
) -> Answer {
    let client = app.clients.authorize(&headers, Scope::Operator)?;
    let id = card_id(&id)?;
    let req = body(json)?;
    let auth = authorization(&client.id, &req.reason)?;
    let drift = app
        .verifier
        .operator_resync(
            &auth,
            id,
            req.pin_kind.into(),
            &req.first,
            &req.second,
            &app.clock,
        )
        .await?;
    ok(
        StatusCode::OK,
        &serde_json::json!({ "drift_seconds": drift }),
    )
}

pub(super) async fn get_card<S: Store>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    app.clients.authorize(&headers, Scope::Operator)?;
    let id = card_id(&id)?;
    card_state(&app, id).await
}

async fn card_state<S: Store>(app: &App<S>, id: CardId) -> Answer {
    let state = app
        .store
        .state(id)
        .await
        .map_err(|e| ApiError::unavailable(&e))?
        .ok_or_else(|| ApiError::from(VerifyError::UnknownCard))?;
    ok(
        StatusCode::OK,
        &serde_json::json!({
            "card_id": id.to_string(),
            "status": state.status.as_str(),
            "attempts": state.attempts,
            "confirm_attempts": state.confirm_attempts,
            "drift_seconds": { "first": state.drift[0], "second": state.drift[1] },
        }),
    )
}
