//! `service-load`: a bounded load generator for the bank service on
//! PostgreSQL (`scripts/bench-service`, docs/benchmarks.md, "The bank service
//! on PostgreSQL").
//!
//! ```text
//! service-load seed --config FILE --cards N [--concurrency C]
//!     register cards 0..N (DATABASE_URL, the KEK of the service's config);
//!     cards already there are skipped
//! service-load warm --base URL[,URL...] --token T --cards N [--concurrency C]
//!     each card once on each instance with a malformed PIN: the instance
//!     opens and caches the card, nothing is recorded (at most 120 s)
//! service-load run --base URL[,URL...] --token T --cards N --concurrency C
//!                  --requests R --seconds S [--rng-seed X]
//!     verify the current second PIN of a random card, C requests in flight,
//!     round robin over the instances, until R requests or S seconds
//! ```
//!
//! Card `i` (0-based) is derived from its index alone, so the generator
//! computes the PINs the service expects without reading the database: id
//! `"dynpinbn"` ‖ `i` (u64 big-endian), master seed SHA-256(`"dynpin-bench"`
//! ‖ `i`), one second PIN (8 digits, HMAC-SHA-256, 60 s). `seed`, `warm` and
//! `run` each print one JSON line on standard output.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
use dynpin::clock::SystemClock;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use dynpin_bank::keys::KeyFile;
use dynpin_bank::service::config::Config;
use dynpin_bank::store::postgres::PgStore;
use dynpin_bank::verifier::{Verifier, VerifierConfig, VerifyError};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};

const USAGE: &str = "usage:
  service-load seed --config FILE --cards N [--concurrency C]
  service-load warm --base URL[,URL...] --token T --cards N [--concurrency C]
  service-load run --base URL[,URL...] --token T --cards N --concurrency C
                   --requests R --seconds S [--rng-seed X]";

/// The first 8 bytes of every benchmark card's id.
const ID_PREFIX: [u8; 8] = *b"dynpinbn";
/// How long one request may take before the generator gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type Res<T> = Result<T, String>;

fn main() -> std::process::ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("service-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--name value` from `args`.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn number(args: &[String], name: &str, default: Option<u64>) -> Res<u64> {
    match flag(args, name) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("{name} {text}: not a number")),
        None => default.ok_or_else(|| format!("{name} is needed\n{USAGE}")),
    }
}

fn run(args: Vec<String>) -> Res<()> {
    let Some(command) = args.first() else {
        return Err(USAGE.into());
    };
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{USAGE}");
        return Ok(());
    }
    let rest = args.get(1..).unwrap_or_default();
    let cards = number(rest, "--cards", None)?;
    if cards == 0 {
        return Err("--cards must be at least 1".into());
    }
    match command.as_str() {
        "seed" => {
            let config = flag(rest, "--config").ok_or(USAGE)?;
            let concurrency = number(rest, "--concurrency", Some(32))?.clamp(1, 256);
            runtime(2)?.block_on(seed(&config, cards, concurrency))
        }
        "warm" | "run" => {
            let bases = flag(rest, "--base").ok_or(USAGE)?;
            let token = flag(rest, "--token").ok_or(USAGE)?;
            let targets = bases
                .split(',')
                .map(Target::parse)
                .collect::<Res<Vec<_>>>()?;
            let warm = command == "warm";
            let concurrency = number(rest, "--concurrency", warm.then_some(32))?.clamp(1, 4096);
            let load = if warm {
                Load {
                    targets,
                    token,
                    cards,
                    concurrency,
                    requests: cards.saturating_mul(bases.split(',').count() as u64),
                    deadline: Duration::from_secs(120),
                    plan: Plan::Warm,
                    rng_seed: 0,
                }
            } else {
                Load {
                    targets,
                    token,
                    cards,
                    concurrency,
                    requests: number(rest, "--requests", None)?,
                    deadline: Duration::from_secs(number(rest, "--seconds", None)?),
                    plan: Plan::Verify,
                    rng_seed: number(rest, "--rng-seed", Some(0x6479_6e70_696e))?,
                }
            };
            // One thread: the generator shares the machine with the service
            // and the database, and one thread drives thousands of requests
            // a second.
            runtime(1)?.block_on(drive(load))
        }
        other => Err(format!("unknown command '{other}'\n{USAGE}")),
    }
}

fn runtime(threads: usize) -> Res<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    }
    .enable_all()
    .build()
    .map_err(|e| e.to_string())
}

/// Benchmark card `index`'s id.
fn card_id(index: u64) -> CardId {
    let mut bytes = [0u8; 16];
    let (prefix, number) = bytes.split_at_mut(8);
    prefix.copy_from_slice(&ID_PREFIX);
    number.copy_from_slice(&index.to_be_bytes());
    CardId::from_bytes(bytes)
}

/// Benchmark card `index`, as the bank and the phone both hold it.
fn card(index: u64) -> Res<Card> {
    let mut hash = Sha256::new();
    hash.update(b"dynpin-bench");
    hash.update(index.to_be_bytes());
    let seed: [u8; 32] = hash.finalize().into();
    let last_four = LastFour::parse("1234").map_err(|e| e.to_string())?;
    let card_ref = CardRef::new(610_433, last_four).map_err(|e| e.to_string())?;
    Card::bank_card(
        card_id(index),
        "bench",
        card_ref,
        SecretBytes::from(seed.to_vec()),
        None,
        Some(PinPolicy::second_pin()),
    )
    .map_err(|e| e.to_string())
}

// --- seed -----------------------------------------------------------------------

async fn seed(config_path: &str, cards: u64, concurrency: u64) -> Res<()> {
    let config = Config::load(std::path::Path::new(config_path)).map_err(|e| e.to_string())?;
    let kek = KeyFile::load(&config.kek.id, &config.kek.file).map_err(|e| e.to_string())?;
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set".to_owned())?;
    let pool = usize::try_from(concurrency).map_err(|e| e.to_string())?;
    let store = PgStore::connect(&url, pool)
        .await
        .map_err(|e| e.to_string())?;
    let verifier = Arc::new(
        Verifier::new(VerifierConfig::default(), Arc::new(store), Arc::new(kek))
            .map_err(|e| e.to_string())?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let inserted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (verifier, next, inserted) = (
            Arc::clone(&verifier),
            Arc::clone(&next),
            Arc::clone(&inserted),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= cards {
                    return Ok::<(), String>(());
                }
                match verifier.register(&card(index)?).await {
                    Ok(_) => {
                        inserted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(VerifyError::DuplicateCard) => {}
                    Err(e) => return Err(format!("card {index}: {e}")),
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let inserted = inserted.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "cards": cards,
            "inserted": inserted,
            "existing": cards - inserted,
            "seconds": round3(seconds),
        })
    );
    Ok(())
}

// --- warm and run ---------------------------------------------------------------

/// One service instance: `http://host:port`.
#[derive(Debug, Clone)]
struct Target {
    authority: String,
}

impl Target {
    fn parse(base: &str) -> Res<Self> {
        let authority = base
            .trim()
            .strip_prefix("http://")
            .ok_or_else(|| format!("--base {base}: only http://host:port"))?
            .trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("--base {base}: only http://host:port"));
        }
        Ok(Self {
            authority: authority.to_owned(),
        })
    }

    async fn connect(&self) -> Res<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("{}: {e}", self.authority))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{}: {e}", self.authority))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Request `j` is card `j / instances` on instance `j % instances`, with a
    /// malformed PIN.
    Warm,
    /// Request `j` is a random card on instance `j % instances`, with its
    /// current second PIN.
    Verify,
}

struct Load {
    targets: Vec<Target>,
    token: String,
    cards: u64,
    concurrency: u64,
    requests: u64,
    deadline: Duration,
    plan: Plan,
    rng_seed: u64,
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<String, u64>,
}

/// splitmix64: a small, seedable generator for picking cards.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n ≥ 1), without modulo bias worth mentioning for n ≪ 2^64.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

async fn drive(load: Load) -> Res<()> {
    let instances = load.targets.len() as u64;
    let cards: Arc<Vec<Card>> = Arc::new(match load.plan {
        Plan::Warm => Vec::new(),
        Plan::Verify => (0..load.cards).map(card).collect::<Res<_>>()?,
    });
    let load = Arc::new(load);
    let issued = Arc::new(AtomicU64::new(0));
    // Every worker connects to every instance before the clock starts.
    let mut workers = Vec::new();
    for _ in 0..load.concurrency {
        let mut senders = Vec::new();
        for target in &load.targets {
            senders.push(target.connect().await?);
        }
        workers.push(senders);
    }
    let started = Instant::now();
    let cpu_at_start = cpu_seconds();
    let deadline = started + load.deadline;
    let mut tasks = Vec::new();
    for (w, senders) in workers.into_iter().enumerate() {
        let (load, cards, issued) = (Arc::clone(&load), Arc::clone(&cards), Arc::clone(&issued));
        let mut rng = Rng(load.rng_seed ^ (w as u64).wrapping_mul(0xd1b5_4a32_d192_ed03));
        tasks.push(tokio::spawn(async move {
            let mut senders = senders;
            let mut tally = Tally::default();
            loop {
                let j = issued.fetch_add(1, Ordering::Relaxed);
                if j >= load.requests || Instant::now() >= deadline {
                    return Ok::<Tally, String>(tally);
                }
                let instance = usize::try_from(j % instances).map_err(|e| e.to_string())?;
                let (index, pin) = match load.plan {
                    Plan::Warm => (j / instances, "0".to_owned()),
                    Plan::Verify => {
                        let index = rng.below(load.cards);
                        let card = usize::try_from(index)
                            .ok()
                            .and_then(|i| cards.get(i))
                            .ok_or("card index out of range")?;
                        let pin = card
                            .pin(PinKind::Second, &SystemClock)
                            .map_err(|e| e.to_string())?;
                        (index, pin.digits())
                    }
                };
                let Some(sender) = senders.get_mut(instance) else {
                    return Err("instance index out of range".into());
                };
                let target = load.targets.get(instance).ok_or("no such instance")?;
                let request = hyper::Request::post(format!("/v1/cards/{}/verify", card_id(index)))
                    .header(hyper::header::HOST, target.authority.as_str())
                    .header(
                        hyper::header::AUTHORIZATION,
                        format!("Bearer {}", load.token),
                    )
                    .header(hyper::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(format!(
                        r#"{{"pin_kind":"second","pin":"{pin}"}}"#
                    ))))
                    .map_err(|e| e.to_string())?;
                let sent = Instant::now();
                let answer = tokio::time::timeout(REQUEST_TIMEOUT, exchange(sender, request)).await;
                let elapsed = sent.elapsed();
                let key = match answer {
                    Ok(Ok((status, body))) => outcome(status, &body),
                    Ok(Err(e)) => {
                        eprintln!("service-load: {}: {e}", target.authority);
                        *sender = target.connect().await?;
                        "transport_error".to_owned()
                    }
                    Err(_) => {
                        *sender = target.connect().await?;
                        "timeout".to_owned()
                    }
                };
                tally
                    .latencies_us
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                *tally.statuses.entry(key).or_default() += 1;
            }
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        let tally = task.await.map_err(|e| e.to_string())??;
        latencies.extend(tally.latencies_us);
        for (key, n) in tally.statuses {
            *statuses.entry(key).or_default() += n;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(cpu_at_start)
        .map(|(end, start)| round3(end - start));
    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    let mean_us = if requests == 0 {
        0.0
    } else {
        latencies.iter().map(|&l| f64::from(l)).sum::<f64>() / requests as f64
    };
    println!(
        "{}",
        serde_json::json!({
            "mode": if load.plan == Plan::Warm { "warm" } else { "run" },
            "instances": instances,
            "concurrency": load.concurrency,
            "cards": load.cards,
            "requests": requests,
            "seconds": round3(seconds),
            "per_second": round3(requests as f64 / seconds.max(1e-9)),
            "p50_ms": round3(percentile_ms(&latencies, 0.50)),
            "p90_ms": round3(percentile_ms(&latencies, 0.90)),
            "p99_ms": round3(percentile_ms(&latencies, 0.99)),
            "max_ms": round3(latencies.last().map_or(0.0, |&l| f64::from(l) / 1000.0)),
            "mean_ms": round3(mean_us / 1000.0),
            "status": statuses,
            "cpu_seconds": cpu,
        })
    );
    Ok(())
}

/// The CPU time (user + system) this process has used, from
/// `/proc/self/stat` (Linux; in units of USER_HZ, 100 a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

/// One request on `sender`: the status and the whole body.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Res<(u16, Bytes)> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// `"200 accepted"`, or the status and the error code of the answer (`"422 already_used"`).
fn outcome(status: u16, body: &[u8]) -> String {
    if status == 200 {
        return "200 accepted".to_owned();
    }
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.get("code"))
                .and_then(|c| c.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| "?".to_owned());
    format!("{status} {code}")
}

/// The nearest-rank percentile of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted_us.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_us.len()) - 1;
    sorted_us.get(index).map_or(0.0, |&l| f64::from(l) / 1000.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
