//! Entry points for `fuzz/fuzz_targets/vault.rs`: the decoders behind the
//! checksums and the AEAD, which random bytes would otherwise never reach.
//! Not a stable API.

use std::sync::Arc;

use super::crypto::{self, MasterKey, PlatformKey};
use super::format::{self, Checks, Header, PasswordSlot, PlatformSlot, VaultFile};
use super::lockout::{LockoutPolicy, LockoutState};
use super::storage::{FileRole, MemoryStorage};
use super::{Vault, VaultError, backup, contents};
use crate::clock::FixedClock;
use crate::kdf::KdfParams;

/// The platform key of [`open_sealed`]'s vaults.
pub const PLATFORM_KEY: [u8; 32] = [0x5a; 32];
const MASTER_KEY: [u8; 32] = [0xa5; 32];

/// Parses a vault file with its checksums verified.
///
/// # Errors
/// What [`Vault::open`] reports for these bytes.
pub fn parse(bytes: &[u8]) -> Result<(), VaultError> {
    format::parse(bytes, Checks::Verify).map(drop)
}

/// Parses a vault file without checking its checksums; anything accepted
/// must re-encode (with correct checksums) to a file that parses to the same.
///
/// # Errors
/// The parse error.
pub fn parse_unchecked(bytes: &[u8]) -> Result<(), VaultError> {
    let file = format::parse(bytes, Checks::Skip)?;
    let again = format::parse(&file.encode(), Checks::Verify)?;
    if again == file {
        Ok(())
    } else {
        Err(VaultError::Corrupt("round trip"))
    }
}

/// Decodes `plaintext` as version 1 contents and returns its re-encoding,
/// which must equal `plaintext` (the layout is canonical).
///
/// # Errors
/// The decode error.
pub fn decode_contents(plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    let decoded = contents::decode_v1(plaintext)?;
    Ok(contents::encode(&decoded)?.to_vec())
}

/// Seals `plaintext` as the body of a vault with a fixed master key and a
/// platform slot for [`PLATFORM_KEY`], then opens it through the public API
/// ([`Vault::open`], [`Vault::unlock_with_platform_key`]); returns the number
/// of cards.
///
/// # Errors
/// What the vault reports.
pub fn open_sealed(plaintext: &[u8]) -> Result<usize, VaultError> {
    let master = MasterKey::from_bytes(MASTER_KEY);
    let vault_id = [0x11; 16];
    let platform_key = PlatformKey::from_bytes(&PLATFORM_KEY)?;
    let platform_kek = crypto::platform_kek(&platform_key, &[0x22; 16])?;
    let header = Header {
        vault_id,
        policy: LockoutPolicy::default(),
        password: PasswordSlot::seal(
            &vault_id,
            [0x33; 16],
            KdfParams::MINIMUM,
            [0x44; 24],
            &[0x55; 32],
            &master,
        )?,
        platform: Some(PlatformSlot::seal(
            &vault_id,
            [0x22; 16],
            [0x66; 24],
            platform_kek.as_ref(),
            &master,
        )?),
    };
    let header_bytes = header.encode();
    let nonce = [0x77; 24];
    let mut sealed = plaintext.to_vec();
    let tag = crypto::seal_in_place(&MASTER_KEY, &nonce, &header_bytes, &mut sealed)?;
    sealed.extend_from_slice(&tag);
    let file = VaultFile {
        version: format::VAULT_VERSION_1,
        header,
        header_bytes,
        lockout: LockoutState::default(),
        nonce,
        sealed,
    };
    let storage = MemoryStorage::new();
    storage.set(FileRole::Current, Some(file.encode()));
    let mut vault = Vault::open(
        storage,
        Arc::new(FixedClock::from_unix_seconds(1_800_000_000)),
    )?;
    vault.unlock_with_platform_key(&platform_key)?;
    let cards = vault.cards()?.len();
    // Whatever opened also refreshes and saves.
    vault.pins()?;
    vault.set_auto_lock_seconds(60)?;
    Ok(cards)
}

/// Recomputes a vault file's keyless checks (the lockout region's, when the
/// header decodes, and the trailer) in place, as someone editing the file would.
pub fn forge_checksums(bytes: &mut [u8]) {
    format::forge_checksums(bytes);
}

/// Parses a backup without checking its trailer (no key is derived).
///
/// # Errors
/// The parse error.
pub fn parse_backup(bytes: &[u8]) -> Result<(), VaultError> {
    backup::parse(bytes, super::format::Checks::Skip).map(drop)
}

/// Decodes a backup's card list (the plaintext behind its AEAD).
///
/// # Errors
/// The decode error.
pub fn decode_backup_cards(plaintext: &[u8]) -> Result<usize, VaultError> {
    Ok(contents::decode_card_list(plaintext)?.len())
}
