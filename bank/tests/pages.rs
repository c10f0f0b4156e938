//! The development pages over HTTP (no browser: tests/browser/loop.mjs
//! drives them in Chromium): served only in development mode, the whole
//! activation, and the second-PIN field's rule — one counted check per entry.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dynpin::activation::{self, ActivationCode};
use dynpin::clock::SystemClock;
use dynpin::pin::PinKind;
use dynpin_bank::keys::KeyFile;
use dynpin_bank::service::config::Config;
use dynpin_bank::service::gateway::{Outbox, SmsGateway};
use dynpin_bank::service::pages::{DEMO_CARDS, DEMO_PHONE};
use dynpin_bank::service::{self, App};
use dynpin_bank::sms::SmsKey;
use dynpin_bank::store::Store;
use dynpin_bank::store::memory::MemoryStore;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

struct Service {
    base: String,
    app: Arc<App<MemoryStore>>,
    outbox: Arc<Outbox>,
    http: Client<HttpConnector, Body>,
}

async fn start(development: bool) -> Service {
    let config: Config = serde_json::from_value(json!({
        "listen": "127.0.0.1:0",
        "store": { "sqlite": "unused.db" },
        "kek": { "id": "kek-1", "file": "unused" },
        "sms_key": { "id": "sms-1", "file": "unused" },
        "clients": [],
        "gateway": { "outbox": { "file": null } },
        "development": development,
    }))
    .unwrap();
    let outbox = Arc::new(Outbox::new(None));
    let app = Arc::new(
        App::new(
            &config,
            Arc::new(MemoryStore::new()),
            Arc::new(KeyFile::from_bytes("kek-1", [7; 32])),
            SmsKey::random("sms-1").unwrap(),
            Arc::clone(&outbox) as Arc<dyn SmsGateway>,
            Some(Arc::clone(&outbox)),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = service::router(Arc::clone(&app), Duration::from_secs(10));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    Service {
        base,
        app,
        outbox,
        http,
    }
}

impl Service {
    async fn send(
        &self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (StatusCode, String) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let body = match form {
            Some(fields) => {
                request = request.header("content-type", "application/x-www-form-urlencoded");
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", encode(v)))
                    .collect::<Vec<_>>()
                    .join("&")
            }
            None => String::new(),
        };
        let response = self
            .http
            .request(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn attempts(&self) -> u32 {
        let ids = self
            .app
            .store
            .cards_by_phone(DEMO_PHONE, 1234)
            .await
            .unwrap();
        let id = *ids.last().unwrap();
        self.app.store.state(id).await.unwrap().unwrap().attempts
    }
}

/// Percent-encoding for a form value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `data-result` word of a page.
fn result(page: &str) -> &str {
    page.split("data-result=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split(start).nth(1).unwrap().split(end).next().unwrap()
}

#[tokio::test]
async fn the_pages_are_served_in_development_mode_only() {
    let production = start(false).await;
    for path in ["/bank/activate", "/pay", "/dev/inbox"] {
        let (status, _) = production.send("GET", path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} in production");
    }
    let development = start(true).await;
    let (status, page) = development.send("GET", "/bank/activate", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<html lang="fa" dir="rtl">"#));
    assert!(
        page.contains("۶۱۰۴-۳۳**-****-۱۲۳۴"),
        "masked, Persian digits"
    );
    let (_, page) = development.send("GET", "/pay?lang=en", None).await;
    assert!(page.contains(r#"<html lang="en" dir="ltr">"#));
    let (status, _) = development.send("GET", "/dev/inbox", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn activation_then_one_counted_check_per_second_pin_entry() {
    let s = &start(true).await;
    // Internet banking: the QR code and payload; the activation code by SMS.
    let (status, page) = s
        .send(
            "POST",
            "/bank/activate",
            Some(&[("step", "provision"), ("card", "0")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"<svg role="img""#));
    let payload = between(
        &page,
        r#"<textarea id="payload" rows="4" readonly>"#,
        "</textarea>",
    );
    let sms = s.outbox.messages().pop().unwrap();
    assert_eq!(sms.phone, DEMO_PHONE);
    let code = between(&sms.text, "Activation code: ", "\n");
    let activated =
        activation::activate(payload, &ActivationCode::parse(code).unwrap(), &SystemClock).unwrap();
    let card = activated.card;
    let confirm = |code: String| async move {
        s.send(
            "POST",
            "/bank/activate",
            Some(&[("step", "confirm"), ("card", "0"), ("code", &code)]),
        )
        .await
    };
    let (status, page) = confirm("12".into()).await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    let (status, page) = confirm(activated.confirmation_code.clone()).await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::OK, "confirmed"),
        "{page}"
    );

    // The gateway.
    let mellat = DEMO_CARDS[0];
    let pay = |pin: String, amount: &'static str| async move {
        let tx = format!("T-{pin}-{amount}");
        s.send(
            "POST",
            "/pay",
            Some(&[
                ("action", "pay"),
                ("tx", &tx),
                ("card", mellat.number),
                ("cvv2", mellat.cvv2),
                ("exp_month", "08"),
                ("exp_year", "1407"),
                ("amount", amount),
                ("merchant", "Digikala"),
                ("pin", &pin),
            ]),
        )
        .await
    };
    // A typing slip: not counted.
    let (status, page) = pay("12345".into(), "1250000").await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::BAD_REQUEST, "invalid")
    );
    assert_eq!(s.attempts().await, 0);
    // A wrong 8-digit code is neither PIN: counted once, not twice.
    let second = card.pin(PinKind::Second, &SystemClock).unwrap().digits();
    let wrong = if second.as_str() == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let (status, page) = pay(wrong.into(), "1250000").await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::UNPROCESSABLE_ENTITY, "wrong")
    );
    assert!(page.contains("۹"), "nine attempts left");
    assert_eq!(s.attempts().await, 1);
    // The plain second PIN, in Persian digits; then again: already used.
    let persian = dynpin::text::to_persian_digits(&second);
    let (status, page) = pay(persian.clone(), "1250000").await;
    assert_eq!((status, result(&page)), (StatusCode::OK, "paid"), "{page}");
    assert_eq!(s.attempts().await, 0);
    let (status, page) = pay(persian, "1250000").await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::UNPROCESSABLE_ENTITY, "already_used")
    );
    assert_eq!(s.attempts().await, 1);
    // The amount-bound PIN for another amount to the same merchant.
    let bound = card
        .amount_bound_code(990_000, "Digikala", &SystemClock)
        .unwrap()
        .digits();
    let (status, page) = pay(bound.to_string(), "990000").await;
    assert_eq!((status, result(&page)), (StatusCode::OK, "paid"), "{page}");
    // An SMS code for a transaction that asked for none: not counted.
    let (status, page) = pay("123456".into(), "1250000").await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::UNPROCESSABLE_ENTITY, "already_used")
    );
    assert_eq!(s.attempts().await, 0);
    // Wrong card details: refused before any PIN is looked at.
    let (status, page) = s
        .send(
            "POST",
            "/pay",
            Some(&[
                ("action", "pay"),
                ("tx", "T-9"),
                ("card", mellat.number),
                ("cvv2", "999"),
                ("exp_month", "08"),
                ("exp_year", "07"),
                ("amount", "1000"),
                ("merchant", "Digikala"),
                ("pin", wrong),
            ]),
        )
        .await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::BAD_REQUEST, "card_details")
    );
    assert_eq!(s.attempts().await, 0);
    // The SMS code: sent to the registered number, then paid with it.
    let (status, page) = s
        .send(
            "POST",
            "/pay",
            Some(&[
                ("action", "sms"),
                ("tx", "T-sms"),
                ("card", "۶۱۰۴ ۳۳۷۱ ۸۲۶۱ ۱۲۳۴"),
                ("amount", "5000"),
                ("merchant", "Digikala"),
            ]),
        )
        .await;
    assert_eq!(
        (status, result(&page)),
        (StatusCode::OK, "sms_sent"),
        "{page}"
    );
    assert!(page.contains("data-expires-in=\"120\"") || page.contains("data-expires-in=\"119\""));
    let text = s.outbox.messages().pop().unwrap().text;
    let code = between(&text, "رمز پویا: ", "\n").to_owned();
    let (status, page) = s
        .send(
            "POST",
            "/pay",
            Some(&[
                ("action", "pay"),
                ("tx", "T-sms"),
                ("card", mellat.number),
                ("cvv2", mellat.cvv2),
                ("exp_month", "8"),
                ("exp_year", "07"),
                ("amount", "5000"),
                ("merchant", "Digikala"),
                ("pin", &code),
            ]),
        )
        .await;
    assert_eq!((status, result(&page)), (StatusCode::OK, "paid"), "{page}");
    // The inbox: newest first.
    let (_, inbox) = s.send("GET", "/dev/inbox", None).await;
    let newest = inbox.find("رمز پویا: ").unwrap();
    let oldest = inbox.find("Activation code").unwrap();
    assert!(newest < oldest);
}
