//! The bank's worst case: a window of three steps and no match, dynpin against
//! totp-rs's `check` (skew 1 = three steps), same run, 8 digits, 60 s, SHA-1.
//!
//! The verifier is async (its cards are in a store); `find_step` evaluates
//! the window of a card already opened, without recording an attempt, and an
//! in-memory store never waits, so each batch of iterations runs in one
//! `block_on` of a current-thread runtime and the runtime costs nothing per
//! iteration.
// A benchmark stops by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
use dynpin::clock::FixedClock;
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use dynpin_bank::keys::KeyFile;
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::verifier::{Verifier, VerifierConfig};

fn verify_no_match(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_window3_no_match");
    group.throughput(Throughput::Elements(1));
    let policy = PinPolicy {
        algorithm: Algorithm::Sha1,
        digits: 8,
        period: 60,
    };
    let card_ref = CardRef::new(610_433, LastFour::parse("1234").unwrap()).unwrap();
    let card = Card::bank_card(
        CardId::random().unwrap(),
        "bench",
        card_ref,
        SecretBytes::from(vec![3; 20]),
        None,
        Some(policy),
    )
    .unwrap();
    let now = 1_800_000_000u64;
    // A code from far away: it matches none of the three steps.
    let wrong = card
        .pin(PinKind::Second, &FixedClock::from_unix_seconds(0))
        .unwrap()
        .digits();
    let config = VerifierConfig {
        behind: 1,
        ahead: 1,
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let verifier = Verifier::new(
        config,
        Arc::new(MemoryStore::new()),
        Arc::new(KeyFile::from_bytes("bench", [5; 32])),
    )
    .unwrap();
    let id = runtime.block_on(verifier.register(&card)).unwrap();
    // The first call opens the card (the KEK, the keyed HMAC state) and caches it.
    assert_eq!(
        runtime
            .block_on(verifier.find_step(id, PinKind::Second, &wrong, now))
            .unwrap(),
        None
    );
    group.bench_function(BenchmarkId::new("dynpin", "SHA1"), |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(
                        verifier
                            .find_step(id, PinKind::Second, black_box(&wrong), black_box(now))
                            .await,
                    );
                }
                start.elapsed()
            })
        })
    });

    let reference = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(8)
        .with_skew(1)
        .with_step_duration(60)
        .with_secret(vec![3u8; 20])
        .build_noncompliant();
    assert_eq!(reference.check(&wrong, now), None);
    group.bench_function(BenchmarkId::new("totp-rs", "SHA1"), |b| {
        b.iter(|| black_box(reference.check(black_box(&wrong), black_box(now))))
    });
    group.finish();
}

criterion_group!(benches, verify_no_match);
criterion_main!(benches);
