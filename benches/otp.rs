//! dynpin's TOTP against totp-rs 6, same run, same inputs: 8 digits, 60-second
//! steps, a reused generator, for SHA-1/256/512. `scripts/bench-report` turns
//! the results into ratios.
// A benchmark stops by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dynpin::otp::{Algorithm, Totp};

fn key(algorithm: Algorithm) -> Vec<u8> {
    (0..algorithm.output_len()).map(|i| i as u8).collect()
}

fn otp_generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("totp_generate");
    for (algorithm, theirs) in [
        (Algorithm::Sha1, totp_rs::Algorithm::SHA1),
        (Algorithm::Sha256, totp_rs::Algorithm::SHA256),
        (Algorithm::Sha512, totp_rs::Algorithm::SHA512),
    ] {
        let ours = Totp::new(algorithm, &key(algorithm), 8, 60).unwrap();
        let reference = totp_rs::Builder::new()
            .with_algorithm(theirs)
            .with_digits(8)
            .with_skew(1)
            .with_step_duration(60)
            .with_secret(key(algorithm))
            .build_noncompliant();
        let mut t = 1_800_000_000u64;
        group.bench_function(BenchmarkId::new("dynpin", algorithm.name()), |b| {
            b.iter(|| {
                t = t.wrapping_add(60);
                black_box(ours.code_at(black_box(t)).unwrap().value())
            })
        });
        let mut t = 1_800_000_000u64;
        group.bench_function(BenchmarkId::new("totp-rs", algorithm.name()), |b| {
            b.iter(|| {
                t = t.wrapping_add(60);
                black_box(reference.generate(black_box(t)))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, otp_generate);
criterion_main!(benches);
