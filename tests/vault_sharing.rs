//! Two instances, one file: an app, its widget and its share extension may
//! open the same directory. Every save takes the storage's lock and first
//! reloads what another instance saved, so none of them overwrites a card or
//! a failure count it did not see.

use std::path::PathBuf;
use std::process::Command;

use crate::vault_support::*;
use dynpin::vault::{FileStorage, OnExisting, Vault, VaultError};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dynpin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn last_fours(vault: &mut Vault) -> Vec<String> {
    let mut out: Vec<String> = vault
        .cards()
        .unwrap()
        .iter()
        .map(|c| c.label().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn two_vaults_on_one_directory_never_lose_each_others_cards() {
    let dir = fresh_dir("two-vaults");
    let storage = FileStorage::new(&dir, "vault.bin");
    let clock = clock();
    let mut app = Vault::create(storage.clone(), clock.clone(), PASSWORD, fast_options()).unwrap();
    app.add_card(bank_card(1, 1), OnExisting::Refuse).unwrap();
    let mut widget = Vault::open(storage.clone(), clock.clone()).unwrap();
    widget.unlock_with_password(PASSWORD).unwrap();

    // Each instance saves a card the other has not seen.
    app.add_card(bank_card(2, 2), OnExisting::Refuse).unwrap();
    widget
        .add_card(bank_card(3, 3), OnExisting::Refuse)
        .unwrap();
    app.add_card(bank_card(4, 4), OnExisting::Refuse).unwrap();

    let mut reopened = Vault::open(storage, clock).unwrap();
    reopened.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(
        last_fours(&mut reopened),
        ["Card 1", "Card 2", "Card 3", "Card 4"],
        "a stale instance overwrote a card another one saved"
    );
    // The instance that saved last sees every card too.
    assert_eq!(last_fours(&mut app).len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failure_counted_by_one_instance_is_not_undone_by_another() {
    let dir = fresh_dir("two-counters");
    let storage = FileStorage::new(&dir, "vault.bin");
    let clock = clock();
    drop(Vault::create(storage.clone(), clock.clone(), PASSWORD, fast_options()).unwrap());
    let mut app = Vault::open(storage.clone(), clock.clone()).unwrap();
    let mut widget = Vault::open(storage.clone(), clock.clone()).unwrap();

    assert!(matches!(
        app.unlock_with_password("wrong guess one"),
        Err(VaultError::WrongPassword {
            remaining_attempts: 9,
            ..
        })
    ));
    // The widget opened before that failure; its attempt counts on top of it.
    assert!(matches!(
        widget.unlock_with_password("wrong guess two"),
        Err(VaultError::WrongPassword {
            remaining_attempts: 8,
            ..
        })
    ));
    assert_eq!(
        Vault::open(storage, clock)
            .unwrap()
            .lockout_status()
            .unwrap()
            .failures,
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

const SHARED_DIR: &str = "DYNPIN_SHARED_VAULT_DIR";
const CHILD_FIRST_CARD: &str = "DYNPIN_SHARED_VAULT_FIRST";
const CARDS_PER_CHILD: u16 = 15;

/// The child of the next test: adds its cards one save at a time. It does
/// nothing (and passes) unless started by that test.
#[test]
fn sharing_child_adds_cards() {
    let (Ok(dir), Ok(first)) = (std::env::var(SHARED_DIR), std::env::var(CHILD_FIRST_CARD)) else {
        return;
    };
    let first: u16 = first.parse().unwrap();
    let mut vault = Vault::open(FileStorage::new(&dir, "vault.bin"), clock()).unwrap();
    vault.unlock_with_password(PASSWORD).unwrap();
    for n in first..first + CARDS_PER_CHILD {
        vault
            .add_card(bank_card(n, n as u8), OnExisting::Refuse)
            .unwrap();
    }
}

#[test]
fn two_processes_adding_cards_to_one_directory_keep_every_card() {
    let dir = fresh_dir("two-processes");
    let storage = FileStorage::new(&dir, "vault.bin");
    drop(Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = [1000u16, 2000]
        .iter()
        .map(|first| {
            Command::new(&exe)
                .args([
                    "vault_sharing::sharing_child_adds_cards",
                    "--exact",
                    "--test-threads=1",
                ])
                .env(SHARED_DIR, &dir)
                .env(CHILD_FIRST_CARD, first.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child failed");
    }
    let mut vault = Vault::open(storage, clock()).unwrap();
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(
        vault.cards().unwrap().len(),
        usize::from(2 * CARDS_PER_CHILD),
        "cards lost: {:?}",
        last_fours(&mut vault)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same instance sharing in one process: two `Vault`s behind their own
/// mutexes, saving from two threads at once.
#[test]
fn two_vaults_saving_from_two_threads_keep_every_card() {
    let dir = fresh_dir("two-threads");
    let storage = FileStorage::new(&dir, "vault.bin");
    drop(Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap());
    let handles: Vec<_> = [3000u16, 4000]
        .into_iter()
        .map(|first| {
            let storage = storage.clone();
            std::thread::spawn(move || {
                let mut vault = Vault::open(storage, clock()).unwrap();
                vault.unlock_with_password(PASSWORD).unwrap();
                for n in first..first + CARDS_PER_CHILD {
                    vault
                        .add_card(bank_card(n, n as u8), OnExisting::Refuse)
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let mut vault = Vault::open(storage, clock()).unwrap();
    vault.unlock_with_password(PASSWORD).unwrap();
    assert_eq!(
        vault.cards().unwrap().len(),
        usize::from(2 * CARDS_PER_CHILD)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_directory_not_created_yet_holds_no_vault_and_nothing_to_destroy() {
    let dir = std::env::temp_dir().join(format!("dynpin-no-such-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let storage = FileStorage::new(&dir, "vault.bin");
    assert_eq!(
        Vault::open(storage.clone(), clock()).unwrap_err(),
        VaultError::NotFound
    );
    assert_eq!(Vault::exists(&storage), Ok(false));
    assert_eq!(Vault::destroy(&storage), Ok(()));
    assert!(!dir.exists(), "nothing was created");
}

#[test]
fn a_vault_removed_by_another_instance_is_gone_for_this_one_too() {
    let dir = fresh_dir("removed-elsewhere");
    let storage = FileStorage::new(&dir, "vault.bin");
    let mut app = Vault::create(storage.clone(), clock(), PASSWORD, fast_options()).unwrap();
    Vault::destroy(&storage).unwrap();
    assert_eq!(
        app.add_card(bank_card(1, 1), OnExisting::Refuse),
        Err(VaultError::NotFound)
    );
    assert_eq!(app.cards().unwrap_err(), VaultError::Wiped);
    assert!(!Vault::exists(&storage).unwrap(), "not written back");
    std::fs::remove_dir_all(&dir).unwrap();
}
