//! The SMS gateways: the generic HTTP adapter against a provider stand-in
//! on 127.0.0.1, and the development outbox.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dynpin_bank::service::gateway::{HttpGateway, Outbox, SmsGateway};
use serde_json::{Value, json};

/// A provider that records what it is sent and answers `status`.
async fn provider(status: StatusCode) -> (String, Arc<Mutex<Vec<(Option<String>, Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/send",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let record = Arc::clone(&record);
            async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                record.lock().unwrap().push((auth, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn the_http_gateway_posts_json_with_its_token() {
    let (url, seen) = provider(StatusCode::ACCEPTED).await;
    let gateway = HttpGateway::new(&url, Some("provider-token".into())).unwrap();
    gateway
        .send("09121234567", "رمز پویا: ۱۲۳۴۵۶")
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0.as_deref(), Some("Bearer provider-token"));
    assert_eq!(
        seen[0].1,
        json!({ "to": "09121234567", "text": "رمز پویا: ۱۲۳۴۵۶" })
    );
    // Debug shows where, not the token.
    assert!(!format!("{gateway:?}").contains("provider-token"));
}

#[tokio::test]
async fn a_refusing_or_absent_provider_is_an_error_without_the_text() {
    let (url, _) = provider(StatusCode::INTERNAL_SERVER_ERROR).await;
    let error = HttpGateway::new(&url, None)
        .unwrap()
        .send("0912", "code 424242")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("500") && !error.to_string().contains("424242"));
    // Nothing listens on port 9 of the loopback.
    let error = HttpGateway::new("http://127.0.0.1:9/send", None)
        .unwrap()
        .send("0912", "code 424242")
        .await
        .unwrap_err();
    assert!(!error.to_string().contains("424242"));
    assert!(HttpGateway::new("https://example.invalid/x", None).is_err());
    assert!(HttpGateway::new("not a url", None).is_err());
}

#[tokio::test]
async fn the_outbox_keeps_messages_and_appends_them_to_its_file() {
    let dir = std::env::temp_dir().join(format!("dynpin-outbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("outbox.jsonl");
    let _ = std::fs::remove_file(&file);
    let outbox = Outbox::new(Some(file.clone()));
    outbox.send("0912", "first message").await.unwrap();
    outbox.send("0935", "two").await.unwrap();
    let kept: Vec<_> = outbox
        .messages()
        .into_iter()
        .map(|m| (m.phone, m.text))
        .collect();
    assert_eq!(
        kept,
        [
            ("0912".into(), "first message".into()),
            ("0935".into(), "two".into())
        ]
    );
    let lines: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["text"], "two");
    // Debug of a message hides its text (it may hold a code).
    assert!(!format!("{:?}", outbox.messages()[0]).contains("first message"));
    std::fs::remove_dir_all(&dir).unwrap();
}
