//! The vault's costs: opening a vault of 1,000 cards without the password's
//! key derivation (target ≤ 2 ms), saving it to in-memory storage, so without
//! fsync (target ≤ 20 ms), refreshing every card's PINs, and the Argon2id
//! key derivation at the default parameters (what a password unlock adds).
// A benchmark stops by panicking: the panic-free lints are for library code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use dynpin::card::{Card, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use dynpin::clock::FixedClock;
use dynpin::kdf::{self, KdfParams};
use dynpin::otp::Algorithm;
use dynpin::secret::SecretBytes;
use dynpin::vault::OnExisting;
use dynpin::vault::{FileRole, MemoryStorage, PlatformKey, Vault, VaultOptions};

const CARDS: usize = 1_000;

fn card(i: usize) -> Card {
    if i % 5 == 4 {
        Card::token(
            CardId::random().unwrap(),
            &format!("Token {i}"),
            OtpToken {
                secret: SecretBytes::from(vec![i as u8; 20]),
                algorithm: Algorithm::Sha1,
                digits: 6,
                mode: TokenMode::Totp { period: 30 },
                issuer: Some("Example".into()),
                account: format!("user{i}@example.com"),
            },
        )
        .unwrap()
    } else {
        Card::bank_card(
            CardId::random().unwrap(),
            &format!("Card {i}"),
            CardRef::new(
                603_799 + (i / 1000) as u32,
                LastFour::from_value((i % 10_000) as u16).unwrap(),
            )
            .unwrap(),
            SecretBytes::from(vec![i as u8; 20]),
            Some(PinPolicy::first_pin()),
            Some(PinPolicy::second_pin()),
        )
        .unwrap()
    }
}

/// A saved vault of 1,000 cards (800 bank cards, 200 tokens) with a platform key.
fn big_vault() -> (Vec<u8>, PlatformKey) {
    let storage = Arc::new(MemoryStorage::new());
    let clock = Arc::new(FixedClock::from_unix_seconds(1_800_000_000));
    let options = VaultOptions {
        kdf: KdfParams::MINIMUM,
        ..VaultOptions::default()
    };
    let mut vault = Vault::create(storage.clone(), clock, "bench password 1", options).unwrap();
    let key = PlatformKey::from_bytes(&[7; 32]).unwrap();
    vault.enrol_platform_key(&key, b"wrapped").unwrap();
    for i in 0..CARDS {
        vault.add_card(card(i), OnExisting::Refuse).unwrap();
    }
    (storage.get(FileRole::Current).unwrap(), key)
}

fn vault_benches(c: &mut Criterion) {
    let (bytes, key) = big_vault();
    eprintln!("vault of {CARDS} cards: {} bytes", bytes.len());
    let clock = Arc::new(FixedClock::from_unix_seconds(1_800_000_000));

    c.bench_function("vault/open_1000_cards_kdf_excluded", |b| {
        b.iter(|| {
            let storage = MemoryStorage::new();
            storage.set(FileRole::Current, Some(bytes.clone()));
            let mut vault = Vault::open(storage, clock.clone()).unwrap();
            vault.unlock_with_platform_key(&key).unwrap();
            black_box(vault.cards().unwrap().len())
        })
    });

    let storage = MemoryStorage::new();
    storage.set(FileRole::Current, Some(bytes.clone()));
    let mut vault = Vault::open(storage, clock.clone()).unwrap();
    vault.unlock_with_platform_key(&key).unwrap();
    let mut seconds = 60;
    c.bench_function("vault/save_1000_cards_no_fsync", |b| {
        b.iter(|| {
            seconds = if seconds == 60 { 61 } else { 60 };
            vault.set_auto_lock_seconds(black_box(seconds)).unwrap();
        })
    });

    c.bench_function("vault/pins_1000_cards", |b| {
        b.iter(|| black_box(vault.pins().unwrap().len()))
    });

    let mut group = c.benchmark_group("vault/kdf");
    group.sample_size(10);
    group.bench_function("argon2id_default_m64MiB_t3_p1", |b| {
        b.iter(|| {
            black_box(
                kdf::derive(
                    b"bench password 1",
                    b"vault-pw-salt-01",
                    KdfParams::DEFAULT,
                    32,
                )
                .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, vault_benches);
criterion_main!(benches);
