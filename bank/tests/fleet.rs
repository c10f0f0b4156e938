//! Against real servers: a throwaway PostgreSQL (`scripts/test` starts it
//! and exports `DATABASE_URL` and `DYNPIN_PG_DIR`) and three `dynpin-bank`
//! processes on it, with clocks 30 s apart. Skipped without a database
//! unless `DYNPIN_REQUIRE_POSTGRES=1` (as in `scripts/test`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dynpin::activation::{self, ActivationCode};
use dynpin::card::Card;
use dynpin::clock::SystemClock;
use dynpin::pin::PinKind;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts");

/// The database, or `None` (the test is skipped) — a failure when required.
fn database() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("DYNPIN_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "DYNPIN_REQUIRE_POSTGRES=1 but DATABASE_URL is not set"
            );
            eprintln!("skipped: no DATABASE_URL (scripts/test starts a PostgreSQL)");
            None
        }
    }
}

struct Instance {
    child: Child,
    base: String,
}

/// One fleet at a time: the tests share one PostgreSQL and two cores.
struct Turn;

static BUSY: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
static FREED: std::sync::Condvar = std::sync::Condvar::new();

impl Turn {
    fn take() -> Self {
        let mut busy = BUSY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *busy {
            busy = FREED
                .wait(busy)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *busy = true;
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        *BUSY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = false;
        FREED.notify_one();
    }
}

/// Three instances of the service on one PostgreSQL; killed when dropped.
struct Fleet {
    _turn: Turn,
    dir: PathBuf,
    instances: Vec<Instance>,
    admin: String,
    shop: String,
    http: Client<HttpConnector, Body>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in &mut self.instances {
            let _ = i.child.kill();
            let _ = i.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static FLEETS: AtomicUsize = AtomicUsize::new(0);

fn start_instance(dir: &Path, name: &str, config: &Value) -> Instance {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dynpin-bank"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{name} did not start: {line:?}"))
        .to_owned();
    Instance { child, base }
}

impl Fleet {
    fn start(offsets: [i64; 3]) -> Self {
        let turn = Turn::take();
        let n = FLEETS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dynpin-fleet-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new(env!("CARGO_BIN_EXE_dynpin-bank"))
            .args(["init", "--postgres", "--listen", "127.0.0.1:0", "--dir"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        let admin = std::fs::read_to_string(dir.join("admin.token"))
            .unwrap()
            .trim()
            .to_owned();
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        // A shop's payment gateway: verify only.
        let shop_secret = "shop-secret-for-tests-only";
        config["clients"].as_array_mut().unwrap().push(json!({
            "id": "shop",
            "secret_sha256": dynpin_bank::service::auth::secret_hash_hex(shop_secret),
            "scopes": ["verify"],
        }));
        config["development"] = json!(true);
        config["store"]["postgres"]["pool_size"] = json!(8);
        let instances = offsets
            .iter()
            .enumerate()
            .map(|(i, offset)| {
                let mut c = config.clone();
                c["clock_offset_seconds"] = json!(offset);
                // Skewed servers accept one step either way, so that each
                // accepts a code typed at any of their times.
                if offsets.iter().any(|o| *o != 0) {
                    c["verifier"]["ahead"] = json!(1);
                }
                c["gateway"] = json!({ "outbox": { "file": format!("outbox-{i}.jsonl") } });
                start_instance(&dir, &format!("instance-{i}"), &c)
            })
            .collect();
        let http = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build_http();
        Self {
            _turn: turn,
            dir,
            instances,
            admin,
            shop: format!("shop.{shop_secret}"),
            http,
        }
    }

    fn base(&self, i: usize) -> &str {
        &self.instances[i % self.instances.len()].base
    }

    async fn call(
        &self,
        i: usize,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        idempotency: Option<&str>,
    ) -> (StatusCode, Value, bool) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base(i)))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = idempotency {
            request = request.header("idempotency-key", key);
        }
        let request = request.body(Body::from(body.unwrap_or_default())).unwrap();
        let response = tokio::time::timeout(Duration::from_secs(30), self.http.request(request))
            .await
            .expect("an answer within 30 s")
            .expect("an HTTP answer");
        let status = response.status();
        let replay = response.headers().contains_key("idempotent-replay");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, replay)
    }

    async fn post(&self, i: usize, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let (s, v, _) = self
            .call(
                i,
                "POST",
                path,
                Some(token),
                Some(serde_json::to_vec(body).unwrap()),
                None,
            )
            .await;
        (s, v)
    }

    /// Provisions a card through the ATM channel on instance `i`, fetches
    /// its payload by the handle, activates it like the app and confirms it:
    /// the card's id and the phone's copy.
    async fn active_card(&self, i: usize) -> (String, Card) {
        let (status, issued) = self
            .post(
                i,
                "/v1/cards",
                &self.admin,
                &json!({ "bin": 610433, "last_four": "1234", "channel": "atm", "phone": "09120000000" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        let id = issued["card_id"].as_str().unwrap().to_owned();
        let (status, fetched) = self
            .post(
                i + 1,
                "/v1/activations/fetch",
                &self.admin,
                &json!({ "handle": issued["activation_handle"] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{fetched}");
        let code = ActivationCode::parse(issued["activation_code"].as_str().unwrap()).unwrap();
        let activated =
            activation::activate(fetched["payload"].as_str().unwrap(), &code, &SystemClock)
                .unwrap();
        let (status, body) = self
            .post(
                i + 2,
                &format!("/v1/cards/{id}/confirm"),
                &self.shop,
                &json!({ "code": activated.confirmation_code.as_str() }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (id, activated.card)
    }

    /// Everything the instances logged so far.
    fn logs(&self) -> String {
        (0..self.instances.len())
            .map(|i| {
                std::fs::read_to_string(self.dir.join(format!("instance-{i}.log")))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Asserts that no line the instances logged holds any of `secrets`.
    fn assert_logs_hold_none_of(&self, secrets: &[String]) {
        let logs = self.logs();
        for secret in secrets {
            assert!(
                !logs.contains(secret.as_str()),
                "a secret in the service's log"
            );
        }
    }

    async fn state(&self, id: &str) -> Value {
        let (status, v, _) = self
            .call(
                0,
                "GET",
                &format!("/v1/cards/{id}"),
                Some(&self.admin),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

fn second_pin(card: &Card) -> String {
    card.pin(PinKind::Second, &SystemClock)
        .unwrap()
        .digits()
        .to_string()
}

/// Another code of the same length (half the range away).
fn wrong(pin: &str) -> String {
    let n: u64 = pin.parse().unwrap();
    let range = 10u64.pow(pin.len() as u32);
    format!("{:0width$}", (n + range / 2 + 1) % range, width = pin.len())
}

/// Sends `n` copies of `body` to `path`, spread over the three instances at
/// once; the answers' error codes (`"ok"` for a 2xx).
async fn burst(fleet: &Arc<Fleet>, n: usize, path: String, body: Value) -> Vec<String> {
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let fleet = Arc::clone(fleet);
        let path = path.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let (status, v) = fleet.post(i, &path, &fleet.shop, &body).await;
            if status.is_success() {
                "ok".to_owned()
            } else {
                v["error"]["code"].as_str().unwrap_or("?").to_owned()
            }
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(answers: &[String], code: &str) -> usize {
    answers.iter().filter(|a| *a == code).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_code_is_accepted_once_across_three_servers_with_skewed_clocks() {
    if database().is_none() {
        return;
    }
    // Clocks 30 s apart either way: exactly-once holds whatever each decides.
    let fleet = Arc::new(Fleet::start([0, 30, -30]));
    for round in 0..20 {
        let (id, card) = fleet.active_card(round).await;
        let answers = burst(
            &fleet,
            1000,
            format!("/v1/cards/{id}/verify"),
            json!({ "pin_kind": "second", "pin": second_pin(&card) }),
        )
        .await;
        assert_eq!(count(&answers, "ok"), 1, "round {round}: {answers:?}");
        assert!(
            answers
                .iter()
                .all(|a| ["ok", "already_used", "wrong_pin", "locked"].contains(&a.as_str())),
            "round {round}: {:?}",
            answers.iter().collect::<HashSet<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_wrong_guesses_count_exactly_the_limit() {
    if database().is_none() {
        return;
    }
    let fleet = Arc::new(Fleet::start([0, 0, 0]));
    let (id, card) = fleet.active_card(0).await;
    let pin = second_pin(&card);
    let answers = burst(
        &fleet,
        1000,
        format!("/v1/cards/{id}/verify"),
        json!({ "pin_kind": "second", "pin": wrong(&pin) }),
    )
    .await;
    // The limit is 10: nine wrong answers with attempts left, the tenth
    // counted failure and every later attempt locked.
    assert_eq!(count(&answers, "wrong_pin"), 9, "{answers:?}");
    assert_eq!(count(&answers, "locked"), 991);
    assert_eq!(fleet.state(&id).await["attempts"], json!(10));
    let (status, v) = fleet
        .post(
            1,
            &format!("/v1/cards/{id}/verify"),
            &fleet.shop,
            &json!({ "pin_kind": "second", "pin": pin }),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::LOCKED, Some("locked"))
    );
}

/// The newest SMS text the outbox of instance `i` holds.
fn newest_sms(fleet: &Fleet, i: usize) -> String {
    let text = std::fs::read_to_string(fleet.dir.join(format!("outbox-{i}.jsonl"))).unwrap();
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    line["text"].as_str().unwrap().to_owned()
}

/// The code in a Harim SMS (Persian digits, first line).
fn sms_code(text: &str) -> String {
    let first = text.lines().next().unwrap();
    first
        .chars()
        .filter_map(dynpin::text::digit_value)
        .map(|d| char::from(b'0' + d))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sms_codes_are_shared_exactly_once_and_throttled_across_servers() {
    if database().is_none() {
        return;
    }
    let fleet = Arc::new(Fleet::start([0, 0, 0]));
    let (id, _) = fleet.active_card(0).await;
    let tx = |n: u32| json!({ "transaction_id": format!("T-{n}"), "amount_rials": 1_250_000, "merchant": "Digikala" });

    // Requested on instance 0, verified by a thousand submissions across all three.
    let (status, sent) = fleet
        .post(0, &format!("/v1/cards/{id}/sms-codes"), &fleet.shop, &tx(1))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let code = sms_code(&newest_sms(&fleet, 0));
    assert_eq!(code.len(), 6);
    let mut body = tx(1);
    body["code"] = json!(code);
    let answers = burst(
        &fleet,
        1000,
        format!("/v1/cards/{id}/sms-codes/verify"),
        body,
    )
    .await;
    assert_eq!(
        count(&answers, "ok"),
        1,
        "{:?}",
        answers.iter().collect::<HashSet<_>>()
    );
    assert_eq!(count(&answers, "no_pending_code"), 999);

    // A thousand wrong guesses: exactly three evaluated, then the code is void.
    let (status, _) = fleet
        .post(1, &format!("/v1/cards/{id}/sms-codes"), &fleet.shop, &tx(2))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = sms_code(&newest_sms(&fleet, 1));
    let mut body = tx(2);
    body["code"] = json!(wrong(&code));
    let answers = burst(
        &fleet,
        1000,
        format!("/v1/cards/{id}/sms-codes/verify"),
        body.clone(),
    )
    .await;
    assert_eq!(
        count(&answers, "wrong_code"),
        2,
        "{:?}",
        answers.iter().collect::<HashSet<_>>()
    );
    assert_eq!(count(&answers, "locked"), 1);
    assert_eq!(count(&answers, "no_pending_code"), 997);
    body["code"] = json!(code);
    let (status, v) = fleet
        .post(
            2,
            &format!("/v1/cards/{id}/sms-codes/verify"),
            &fleet.shop,
            &body,
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_pending_code"))
    );
    fleet.assert_logs_hold_none_of(&[code]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_typed_4xx_and_change_nothing() {
    if database().is_none() {
        return;
    }
    let fleet = Fleet::start([0, 0, 0]);
    let (id, card) = fleet.active_card(0).await;
    let before = fleet.state(&id).await;
    let path = format!("/v1/cards/{id}/verify");
    let pin = second_pin(&card);
    let good = serde_json::to_vec(&json!({ "pin_kind": "second", "pin": pin })).unwrap();
    let cases: Vec<(Option<&str>, Vec<u8>, StatusCode, &str)> = vec![
        (
            Some(&fleet.shop),
            b"{\"pin_kind\": \"second\", \"pin\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Some(&fleet.shop),
            b"{\"pin_kind\": \"third\", \"pin\": \"1\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Some(&fleet.shop),
            vec![b' '; 64 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (None, good.clone(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            Some("shop.wrong-secret"),
            good.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Some("nobody.x"),
            good.clone(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
    ];
    for (token, body, status, code) in cases {
        let (s, v, _) = fleet.call(1, "POST", &path, token, Some(body), None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{v}"
        );
    }
    // A verify-only credential cannot act as an operator or provision.
    for (p, b) in [
        (format!("/v1/cards/{id}/unlock"), json!({ "reason": "x" })),
        (
            "/v1/cards".to_owned(),
            json!({ "bin": 610433, "last_four": "1234", "channel": "atm" }),
        ),
    ] {
        let (s, v) = fleet.post(2, &p, &fleet.shop, &b).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
    }
    assert_eq!(fleet.state(&id).await, before, "nothing changed");
    // The code is still good, once.
    let (s, _) = fleet
        .post(
            0,
            &path,
            &fleet.shop,
            &json!({ "pin_kind": "second", "pin": pin }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_an_instance_is_killed_gets_the_first_answer() {
    if database().is_none() {
        return;
    }
    let mut fleet = Fleet::start([0, 0, 0]);
    let (id, card) = fleet.active_card(0).await;
    let body =
        serde_json::to_vec(&json!({ "pin_kind": "second", "pin": second_pin(&card) })).unwrap();
    let path = format!("/v1/cards/{id}/verify");
    // Keys are per client: one of its own for this card.
    let key = format!("pay-{id}");
    let key = key.as_str();
    let (s1, v1, replay1) = fleet
        .call(
            0,
            "POST",
            &path,
            Some(&fleet.shop),
            Some(body.clone()),
            Some(key),
        )
        .await;
    assert_eq!(s1, StatusCode::OK, "{v1}");
    assert!(!replay1);
    // SIGKILL instance 0, then retry on the others.
    fleet.instances[0].child.kill().unwrap();
    fleet.instances[0].child.wait().unwrap();
    for i in [1, 2] {
        let (s, v, replay) = fleet
            .call(
                i,
                "POST",
                &path,
                Some(&fleet.shop),
                Some(body.clone()),
                Some(key),
            )
            .await;
        assert_eq!((s, &v, replay), (s1, &v1, true));
    }
    // The same key for another request is refused; without a key the code is used.
    let (s, v, _) = fleet
        .call(
            1,
            "POST",
            &path,
            Some(&fleet.shop),
            Some(b"{\"pin_kind\":\"first\",\"pin\":\"0000\"}".to_vec()),
            Some(key),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
    let (s, v, _) = fleet
        .call(2, "POST", &path, Some(&fleet.shop), Some(body), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("already_used"))
    );
    // An ATM provisioning answer holds the activation code: replayed from
    // the store, but kept there only sealed under the KEK.
    let request = serde_json::to_vec(
        &json!({ "bin": 610433, "last_four": "4321", "channel": "atm", "phone": "09120000000" }),
    )
    .unwrap();
    let key = format!("atm-{id}");
    let (s1, first, _) = fleet
        .call(
            1,
            "POST",
            "/v1/cards",
            Some(&fleet.admin),
            Some(request.clone()),
            Some(&key),
        )
        .await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    let (s2, again, replay) = fleet
        .call(
            2,
            "POST",
            "/v1/cards",
            Some(&fleet.admin),
            Some(request),
            Some(&key),
        )
        .await;
    assert_eq!((s2, &again, replay), (s1, &first, true));
    let code = first["activation_code"].as_str().unwrap().replace(' ', "");
    let url = std::env::var("DATABASE_URL").unwrap();
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = db
        .query_one(
            "SELECT body FROM idempotency WHERE client = 'admin' AND key = $1",
            &[&key],
        )
        .await
        .unwrap();
    let kept: Vec<u8> = row.get(0);
    assert!(kept.len() > 64);
    let kept = String::from_utf8_lossy(&kept);
    assert!(
        !kept.contains(&code) && !kept.contains("activation_code"),
        "an answer kept in the clear"
    );
}

fn pg_throwaway(command: &str) {
    let dir = std::env::var("DYNPIN_PG_DIR").expect("DYNPIN_PG_DIR (scripts/test sets it)");
    let status = Command::new(format!("{SCRIPTS}/pg-throwaway"))
        .args([command, &dir])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg-throwaway {command}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_accept_while_postgres_is_down_and_no_replay_after_it_is_back() {
    if database().is_none() {
        return;
    }
    let fleet = Arc::new(Fleet::start([0, 0, 0]));
    let mut used = Vec::new();
    let mut fresh = Vec::new();
    for i in 0..12 {
        let (id, card) = fleet.active_card(i).await;
        let body = json!({ "pin_kind": "second", "pin": second_pin(&card) });
        if i % 2 == 0 {
            let (s, v) = fleet
                .post(i, &format!("/v1/cards/{id}/verify"), &fleet.shop, &body)
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            used.push((id, body));
        } else {
            fresh.push((id, body));
        }
    }
    // Load: replays of accepted codes, without pause, on every instance.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let accepted_replays = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..6 {
        let (fleet, stop, accepted, used) = (
            Arc::clone(&fleet),
            Arc::clone(&stop),
            Arc::clone(&accepted_replays),
            used.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                let (id, body) = &used[n % used.len()];
                let (s, _) = fleet
                    .post(n, &format!("/v1/cards/{id}/verify"), &fleet.shop, body)
                    .await;
                if s.is_success() {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(|| pg_throwaway("kill9"))
        .await
        .unwrap();
    // While it is down: unused codes are not accepted, the answer is 503.
    let down = Instant::now();
    for (i, (id, body)) in fresh.iter().enumerate() {
        let (s, v) = fleet
            .post(i, &format!("/v1/cards/{id}/verify"), &fleet.shop, body)
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
        );
    }
    let (s, _, _) = fleet.call(0, "GET", "/readyz", None, None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    eprintln!("503s while down for {:?}", down.elapsed());
    tokio::task::spawn_blocking(|| pg_throwaway("restart"))
        .await
        .unwrap();
    // Back: ready again within a bounded time.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, _, _) = fleet.call(1, "GET", "/readyz", None, None, None).await;
        if s == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready 30 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    assert_eq!(
        accepted_replays.load(Ordering::Relaxed),
        0,
        "a used code was accepted again"
    );
    // Refused: a replay (or, after the load's many replays, locked).
    for (i, (id, body)) in used.iter().enumerate() {
        let (s, v) = fleet
            .post(i, &format!("/v1/cards/{id}/verify"), &fleet.shop, body)
            .await;
        let code = v["error"]["code"].as_str();
        assert!(
            code == Some("already_used") || code == Some("locked"),
            "{s} {v}"
        );
    }
    // The codes refused while it was down were never accepted: once now.
    for (i, (id, body)) in fresh.iter().enumerate() {
        let (s, v) = fleet
            .post(i, &format!("/v1/cards/{id}/verify"), &fleet.shop, body)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // The outage was logged (without any PIN) and the database URL's password never.
    let logs = fleet.logs();
    assert!(logs.contains("unavailable"), "the outage is in the log");
    let password = std::env::var("DATABASE_URL").unwrap();
    let password = password
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    let pins: Vec<String> = used
        .iter()
        .chain(&fresh)
        .map(|(_, body)| body["pin"].as_str().unwrap().to_owned())
        .chain([password])
        .collect();
    fleet.assert_logs_hold_none_of(&pins);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_lists_exactly_the_served_routes() {
    if database().is_none() {
        return;
    }
    let fleet = Fleet::start([0, 0, 0]);
    let (s, spec, _) = fleet
        .call(0, "GET", "/openapi.json", None, None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let documented: HashSet<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    let source = include_str!("../src/service/mod.rs");
    let served: HashSet<String> = source
        .split(".route(")
        .skip(1)
        .map(|s| {
            s.trim_start()
                .strip_prefix('"')
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(documented, served);
    // Every error code the service can answer is in the schema's enum.
    let codes: HashSet<String> =
        spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
    let mut answered = HashSet::new();
    for file in [
        include_str!("../src/service/error.rs"),
        include_str!("../src/service/api.rs"),
        source,
    ] {
        for call in file
            .split("ApiError::new(")
            .skip(1)
            .chain(file.split("Self::new(").skip(1))
        {
            // The code is the first literal of the call, within its first lines.
            let head: String = call.chars().take(120).collect();
            let Some(code) = head.split('"').nth(1) else {
                continue;
            };
            if code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                answered.insert(code.to_owned());
            }
        }
    }
    answered.extend(["invalid_request".to_owned(), "unavailable".to_owned()]);
    assert!(answered.len() > 20, "{answered:?}");
    let missing: Vec<_> = answered.difference(&codes).collect();
    assert!(
        missing.is_empty(),
        "answered but not documented: {missing:?}"
    );
    // Every documented path is routed on a running instance.
    let card = "00000000000000000000000000000000";
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", card);
            let body = (method == "post").then(|| b"{}".to_vec());
            let (s, v, _) = fleet
                .call(
                    0,
                    &method.to_uppercase(),
                    &concrete,
                    Some(&fleet.admin),
                    body,
                    None,
                )
                .await;
            assert!(
                v["error"]["code"].as_str() != Some("not_found")
                    && s != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is not served: {s} {v}"
            );
        }
    }
}
