//! Crash safety: a crash at every storage call of a save, of a counted
//! password attempt and of a wipe, followed by every state the disk may be
//! left in; storage errors (ENOSPC, short writes, failed fsync or rename);
//! and a real process saving in a loop, killed with SIGKILL 200 times.

use std::io;
use std::sync::Arc;

use crate::vault_support::*;
use dynpin::card::{Card, CardId, CardRef, LastFour, PinPolicy};
use dynpin::clock::ManualClock;
use dynpin::kdf::KdfParams;
use dynpin::secret::SecretBytes;
use dynpin::vault::OnExisting;
use dynpin::vault::{LockoutPolicy, OnLimit, StorageOp, Vault, VaultError, VaultOptions};

/// A bank card with a fixed id, so that two runs reach equal states.
fn fixed_card(n: u8) -> Card {
    Card::bank_card(
        CardId::from_bytes([n; 16]),
        &format!("Fixed {n}"),
        CardRef::new(603_799, LastFour::from_value(u16::from(n)).unwrap()).unwrap(),
        SecretBytes::from(vec![n; 20]),
        Some(PinPolicy::first_pin()),
        Some(PinPolicy::second_pin()),
    )
    .unwrap()
}

type Mutation = fn(&mut Vault) -> Result<(), VaultError>;

fn mutations() -> Vec<(&'static str, Mutation)> {
    vec![
        ("add a card", |v| {
            v.add_card(fixed_card(9), OnExisting::Refuse).map(drop)
        }),
        ("rename a card", |v| {
            let id = v.cards()?[0].id();
            v.rename_card(id, "Renamed")
        }),
        ("remove a card", |v| {
            let id = v.cards()?[1].id();
            v.remove_card(id)
        }),
        ("advance a counter", |v| {
            let id = v.cards()?[2].id();
            v.advance_counter(id).map(drop)
        }),
        ("change a setting", |v| v.set_auto_lock_seconds(600)),
        ("change the header", |v| {
            v.set_lockout_policy(LockoutPolicy {
                max_attempts: 20,
                on_limit: OnLimit::LockForGood,
            })
        }),
    ]
}

/// The contents and the header's policy.
type State = (Snapshot, LockoutPolicy);

fn state(vault: &mut Vault) -> State {
    (snapshot(vault), vault.lockout_policy().unwrap())
}

/// A vault with three cards (bank, bank, HOTP) and a platform key, all durable.
fn base_image(clock: &Arc<ManualClock>) -> Image {
    let disk = Arc::new(SimDisk::new());
    let mut vault = Vault::create(disk.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
    vault
        .enrol_platform_key(&platform_key(), b"wrapped")
        .unwrap();
    vault.add_card(fixed_card(1), OnExisting::Refuse).unwrap();
    vault.add_card(fixed_card(2), OnExisting::Refuse).unwrap();
    let token = hotp_card("VPN", 3).as_token().unwrap().clone();
    let hotp = Card::token(CardId::from_bytes([3; 16]), "VPN", token).unwrap();
    vault.add_card(hotp, OnExisting::Refuse).unwrap();
    disk.live_image()
}

fn open_unlocked(disk: Arc<SimDisk>, clock: &Arc<ManualClock>) -> Result<Vault, VaultError> {
    let mut vault = Vault::open(disk, clock.clone())?;
    vault.unlock_with_platform_key(&platform_key())?;
    Ok(vault)
}

#[test]
fn a_crash_at_every_step_of_a_save_leaves_exactly_the_old_or_the_new_vault() {
    let clock = clock();
    let base = base_image(&clock);
    let mut checked = 0;
    for (name, mutate) in mutations() {
        // The old and new states, and how many storage calls a save makes.
        let disk = Arc::new(SimDisk::from_image(&base));
        let mut vault = open_unlocked(disk.clone(), &clock).unwrap();
        let old = state(&mut vault);
        let start = disk.calls();
        mutate(&mut vault).unwrap();
        let calls = disk.calls() - start;
        let new = state(&mut vault);
        assert_ne!(old, new, "{name}");
        assert!(calls >= 9, "{name}: {:?}", disk.log());

        let (mut saw_old, mut saw_new) = (false, false);
        for step in 0..calls {
            let disk = Arc::new(SimDisk::from_image(&base));
            let mut vault = open_unlocked(disk.clone(), &clock).unwrap();
            disk.inject(disk.calls() + step, Fault::Crash);
            let result = mutate(&mut vault);
            assert!(disk.crashed(), "{name}: step {step} not reached");
            for image in disk.crash_images() {
                let mut reopened = open_unlocked(Arc::new(SimDisk::from_image(&image)), &clock)
                    .unwrap_or_else(|e| {
                        panic!("{name}, crash at step {step} ({}): {e}", describe(&image))
                    });
                let after = state(&mut reopened);
                if result.is_ok() {
                    assert_eq!(
                        after, new,
                        "{name}, step {step}: a successful save was lost"
                    );
                }
                assert!(
                    after == old || after == new,
                    "{name}, step {step}: neither old nor new"
                );
                saw_old |= after == old;
                saw_new |= after == new;
                checked += 1;
            }
        }
        assert!(saw_old && saw_new, "{name}");
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn a_crash_at_every_step_of_a_counted_attempt_keeps_the_count_or_its_increment() {
    let clock = clock();
    let base = base_image(&clock);
    let disk = Arc::new(SimDisk::from_image(&base));
    let mut vault = Vault::open(disk.clone(), clock.clone()).unwrap();
    let start = disk.calls();
    vault.unlock_with_password("wrong password").unwrap_err();
    let calls = disk.calls() - start;
    for step in 0..calls {
        let disk = Arc::new(SimDisk::from_image(&base));
        let mut vault = Vault::open(disk.clone(), clock.clone()).unwrap();
        disk.inject(disk.calls() + step, Fault::Crash);
        vault.unlock_with_password("wrong password").unwrap_err();
        for image in disk.crash_images() {
            let reopened =
                Vault::open(Arc::new(SimDisk::from_image(&image)), clock.clone()).unwrap();
            let failures = reopened.lockout_status().unwrap().failures;
            assert!(failures <= 1, "step {step}: {failures}");
        }
    }
}

#[test]
fn a_crash_at_every_step_of_a_wipe_never_brings_the_vault_back_damaged() {
    let clock = clock();
    // A vault one failure from its limit.
    let disk = Arc::new(SimDisk::from_image(&base_image(&clock)));
    let mut vault = open_unlocked(disk.clone(), &clock).unwrap();
    vault
        .set_lockout_policy(LockoutPolicy {
            max_attempts: 6,
            on_limit: OnLimit::Wipe,
        })
        .unwrap();
    vault.lock();
    for _ in 0..5 {
        vault.unlock_with_password("wrong password").unwrap_err();
    }
    clock.advance_seconds(30);
    let base = disk.live_image();
    let start = disk.calls();
    assert_eq!(
        vault.unlock_with_password("wrong password").unwrap_err(),
        VaultError::Wiped
    );
    let calls = disk.calls() - start;
    for step in 0..calls {
        let disk = Arc::new(SimDisk::from_image(&base));
        let mut vault = Vault::open(disk.clone(), clock.clone()).unwrap();
        disk.inject(disk.calls() + step, Fault::Crash);
        vault.unlock_with_password("wrong password").unwrap_err();
        for image in disk.crash_images() {
            match Vault::open(Arc::new(SimDisk::from_image(&image)), clock.clone()) {
                // Before the sixth attempt was counted: still five failures.
                Ok(v) => assert_eq!(v.lockout_status().unwrap().failures, 5, "step {step}"),
                // Counted: the wipe is done at the next open; or it was already done.
                Err(VaultError::Wiped | VaultError::NotFound) => {}
                Err(e) => panic!("step {step} ({}): {e}", describe(&image)),
            }
        }
    }
}

#[test]
fn storage_errors_leave_the_old_vault_on_disk_and_in_memory() {
    let clock = clock();
    let base = base_image(&clock);
    let (name, mutate) = mutations()[0];
    let disk = Arc::new(SimDisk::from_image(&base));
    let mut vault = open_unlocked(disk.clone(), &clock).unwrap();
    let old = state(&mut vault);
    let start = disk.calls();
    mutate(&mut vault).unwrap();
    let calls = disk.calls() - start;
    let new = state(&mut vault);
    let log = disk.log()[start..].to_vec();

    let faults = [
        Fault::Error(io::ErrorKind::StorageFull),
        Fault::Error(io::ErrorKind::PermissionDenied),
        Fault::Error(io::ErrorKind::Other),
        Fault::ShortWrite,
    ];
    assert_eq!(log.len(), calls);
    for (step, call) in log.iter().enumerate() {
        for fault in faults {
            let disk = Arc::new(SimDisk::from_image(&base));
            let mut vault = open_unlocked(disk.clone(), &clock).unwrap();
            disk.inject(disk.calls() + step, fault);
            let result = mutate(&mut vault);
            let what = format!("{name}: {fault:?} at {call}");
            let on_disk = state(
                &mut open_unlocked(Arc::new(SimDisk::from_image(&disk.live_image())), &clock)
                    .unwrap(),
            );
            match &result {
                Ok(()) => {
                    assert_eq!(state(&mut vault), new, "{what}");
                    assert_eq!(on_disk, new, "{what}");
                }
                Err(e) => {
                    assert!(
                        matches!(e, VaultError::Storage { .. } | VaultError::VerifyFailed),
                        "{what}: {e:?}"
                    );
                    assert_eq!(
                        state(&mut vault),
                        old,
                        "{what}: memory must keep the old state"
                    );
                    assert_eq!(on_disk, old, "{what}: storage must keep the old state");
                }
            }
            if call.contains("write Temp") {
                let expected = match fault {
                    Fault::Error(kind) => VaultError::Storage {
                        op: StorageOp::Write,
                        kind,
                    },
                    _ => VaultError::VerifyFailed,
                };
                assert_eq!(result.clone().unwrap_err(), expected, "{what}");
            }
            // Once the storage recovers, the same change saves.
            disk.clear_fault();
            if result.is_err() {
                mutate(&mut vault).unwrap();
                assert_eq!(state(&mut vault), new, "{what}");
            }
        }
    }
}

// ---- SIGKILL ----------------------------------------------------------------

const STRESS_DIR: &str = "DYNPIN_VAULT_STRESS_DIR";
const READY: &str = "VAULT-STRESS-CHILD-READY";

fn generation(label: &str) -> u64 {
    label
        .strip_prefix("gen ")
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// The child of the SIGKILL test: saves in a loop until killed. It does
/// nothing (and passes) unless started by that test.
#[test]
fn sigkill_child_saves_in_a_loop() {
    use dynpin::vault::FileStorage;
    use std::io::Write;
    let Ok(dir) = std::env::var(STRESS_DIR) else {
        return;
    };
    let clock = Arc::new(dynpin::clock::SystemClock);
    let mut vault = Vault::open(FileStorage::new(&dir, "vault.bin"), clock).unwrap();
    vault.unlock_with_platform_key(&platform_key()).unwrap();
    let first = vault.cards().unwrap()[0].id();
    let mut n = generation(vault.cards().unwrap()[0].label());
    // The harness may have printed "test … ... " on the same line.
    println!("\n{READY}");
    io::stdout().flush().unwrap();
    loop {
        n += 1;
        vault.rename_card(first, &format!("gen {n}")).unwrap();
        let count = vault.cards().unwrap().len();
        if n % 3 == 0 && count < 6 {
            vault
                .add_card(
                    totp_card(&format!("extra {n}"), b"12345678901234567890"),
                    OnExisting::Refuse,
                )
                .unwrap();
        } else if n % 3 == 1 && count > 1 {
            let last = vault.cards().unwrap()[count - 1].id();
            vault.remove_card(last).unwrap();
        } else {
            vault.set_time_offset(first, (n % 100) as i64).unwrap();
        }
        vault.touch().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn sigkill_at_random_moments_never_leaves_an_unreadable_vault() {
    use dynpin::vault::{FileRole, FileStorage};
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    const KILLS: usize = 200;
    let began = Instant::now();
    let dir = std::env::temp_dir().join(format!("dynpin-vault-sigkill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let storage = FileStorage::new(&dir, "vault.bin");
    let _ = Vault::destroy(&storage);
    let clock = clock();
    let mut vault =
        Vault::create(storage.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
    vault
        .enrol_platform_key(&platform_key(), b"wrapped")
        .unwrap();
    vault
        .add_card(
            totp_card("gen 0", b"12345678901234567890"),
            OnExisting::Refuse,
        )
        .unwrap();
    drop(vault);

    let exe = std::env::current_exe().unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(std::process::id());
    let mut last = 0;
    let mut mid_save = 0;
    let mut slept_us = 25_000u64;
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "vault_crash::sigkill_child_saves_in_a_loop",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(STRESS_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains(READY) => break,
                Some(Ok(_)) => continue,
                other => panic!("kill {kill}: the child did not start: {other:?}"),
            }
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Kill within about three saves' time, whatever the disk's fsync costs.
        let save_us = slept_us / last.max(1);
        let window_us = (3 * save_us).clamp(5_000, 200_000);
        let nap = rng % window_us;
        std::thread::sleep(Duration::from_micros(nap));
        slept_us += nap;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(lines);

        if storage.path(FileRole::Temp).exists() || storage.path(FileRole::Previous).exists() {
            mid_save += 1;
        }
        let mut vault = Vault::open(storage.clone(), clock.clone())
            .unwrap_or_else(|e| panic!("kill {kill}: the vault does not open: {e}"));
        vault
            .unlock_with_platform_key(&platform_key())
            .unwrap_or_else(|e| panic!("kill {kill}: the vault does not unlock: {e}"));
        let cards = vault.cards().unwrap();
        assert!(
            (1..=6).contains(&cards.len()),
            "kill {kill}: {} cards",
            cards.len()
        );
        let n = generation(cards[0].label());
        assert!(
            n >= last,
            "kill {kill}: went back from generation {last} to {n}"
        );
        last = n;
    }
    eprintln!(
        "{KILLS} SIGKILLs in {:.1} s: {last} generations saved, {mid_save} kills found a save's temporary or previous file on disk",
        began.elapsed().as_secs_f64()
    );
    // Not vacuous: the children saved, and kills landed in the middle of saves.
    assert!(
        last >= KILLS as u64 / 2,
        "the children hardly saved: {last}"
    );
    assert!(
        mid_save >= KILLS / 20,
        "only {mid_save} kills landed during a save"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

const KDF_CHILD_DIR: &str = "DYNPIN_VAULT_KDF_CHILD_DIR";

/// The child of the next test: one password attempt on the vault in
/// `KDF_CHILD_DIR`, in a process whose address space is too small for the
/// vault's key derivation. Does nothing (and passes) unless started by it.
#[test]
fn kdf_child_tries_the_password_once() {
    use dynpin::vault::FileStorage;
    let Ok(dir) = std::env::var(KDF_CHILD_DIR) else {
        return;
    };
    let mut vault = Vault::open(FileStorage::new(&dir, "vault.bin"), clock()).unwrap();
    let result = vault.unlock_with_password(PASSWORD);
    println!("\nKDF-CHILD-RESULT {result:?}");
}

/// A phone that cannot spare the memory for the key derivation (the vault's
/// Argon2id may ask up to 1 GiB; 32-bit phones ship) has not tried the
/// password: the attempt must not count. Ten such failures used to wipe the
/// vault. Here a child process under `ulimit -v` makes the attempt.
#[cfg(target_os = "linux")]
#[test]
fn a_key_derivation_without_memory_is_not_a_wrong_password() {
    use dynpin::vault::FileStorage;
    use std::process::Command;

    let dir = std::env::temp_dir().join(format!("dynpin-vault-kdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let storage = FileStorage::new(&dir, "vault.bin");
    let _ = Vault::destroy(&storage);
    let options = VaultOptions {
        kdf: KdfParams {
            memory_kib: 512 * 1024,
            iterations: 2,
            lanes: 1,
        },
        ..fast_options()
    };
    drop(Vault::create(storage.clone(), clock(), PASSWORD, options).unwrap());

    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        // 256 MiB of address space: the test binary runs, 512 MiB of Argon2id does not fit.
        .arg("ulimit -v 262144 && exec \"$0\" \"$@\"")
        .arg(&exe)
        .args([
            "vault_crash::kdf_child_tries_the_password_once",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KDF_CHILD_DIR, &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("KDF-CHILD-RESULT "))
        .unwrap_or_else(|| panic!("the child reported nothing: {output:?}"));
    assert!(result.contains("Kdf(OutOfMemory)"), "{result}");

    let vault = Vault::open(storage.clone(), clock()).unwrap();
    assert_eq!(vault.lockout_status().unwrap().failures, 0);
    let _ = Vault::destroy(&storage);
    let _ = std::fs::remove_dir_all(&dir);
}
