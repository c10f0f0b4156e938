//! Entry points for `fuzz/fuzz_targets/vault.rs`: the decoders behind the
//! checksums and the AEAD, which random bytes would otherwise never reach.
//! Not a stable API.

use std::sync::Arc;

use super::contents::Contents;
use super::crypto::{self, MasterKey, PlatformKey};
use super::format::{self, Checks, Header, PasswordSlot, PlatformSlot, VaultFile};
use super::lockout::{LockoutPolicy, LockoutState};
use super::storage::{FileRole, MemoryStorage};
use super::{OnExisting, Vault, VaultError, backup, contents};
use crate::activation::{self, ActivationError, ActivationInfo, payload};
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
    let (_, mut vault) = sealed_vault(plaintext)?;
    let cards = vault.cards()?.len();
    // Whatever opened also refreshes and saves.
    vault.pins()?;
    vault.set_auto_lock_seconds(60)?;
    Ok(cards)
}

/// A vault whose body is `plaintext` sealed under a fixed master key, with a
/// platform slot for [`PLATFORM_KEY`], opened and unlocked through the public
/// API; and its storage.
fn sealed_vault(plaintext: &[u8]) -> Result<(Arc<MemoryStorage>, Vault), VaultError> {
    let master = MasterKey::from_bytes(MASTER_KEY);
    let vault_id = [0x11; 16];
    let platform_key = PlatformKey::from_bytes(&PLATFORM_KEY)?;
    let platform_kek = crypto::platform_kek(&platform_key, &[0x22; 16])?;
    let header = Header {
        vault_id,
        generation: 1,
        policy: LockoutPolicy::default(),
        password: PasswordSlot::seal(
            &vault_id,
            [0x33; 16],
            KdfParams::MINIMUM,
            [0x44; 24],
            None,
            &[0x55; 32],
            &master,
        )?,
        platform: Some(PlatformSlot::seal(
            &vault_id,
            [0x22; 16],
            [0x66; 24],
            Some(b"wrapped by the app".to_vec()),
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
        version: format::CURRENT_VERSION,
        header,
        header_bytes,
        lockout: LockoutState::default(),
        nonce,
        sealed,
    };
    let storage = Arc::new(MemoryStorage::new());
    storage.set(FileRole::Current, Some(file.encode()));
    let vault = unlocked(&storage)?;
    Ok((storage, vault))
}

/// The vault in `storage`, opened and unlocked with [`PLATFORM_KEY`].
fn unlocked(storage: &Arc<MemoryStorage>) -> Result<Vault, VaultError> {
    let mut vault = Vault::open(
        Arc::clone(storage),
        Arc::new(FixedClock::from_unix_seconds(NOW)),
    )?;
    vault.unlock_with_platform_key(&PlatformKey::from_bytes(&PLATFORM_KEY)?)?;
    Ok(vault)
}

/// The time of every vault and activation here: 2027-01-15.
const NOW: i64 = 1_800_000_000;

/// What [`activate_save_reopen`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundTrip {
    /// The input is not a payload header followed by opened secrets, or it
    /// does not activate: nothing to check.
    NotActivated(ActivationError),
    /// It activated, and the vault refused to take the card (a typed error:
    /// nothing was lost).
    Refused(VaultError),
    /// It activated and was saved, and the vault did not reopen: a bug.
    Unreadable(VaultError),
    /// It reopened, without the same card: a bug.
    Changed,
}

/// `bytes` as a payload header (the real decoder) followed by the opened
/// secrets (policies and seed, the real decoder): the card an activation of
/// such a payload makes is added to a vault, which is then reopened. The
/// payload's crypto is skipped — anyone who knows an activation code can seal
/// any such header and secrets — so what matters is that whatever activates
/// saves, and reopens to the same card.
///
/// # Errors
/// [`RoundTrip`]: `Unreadable` and `Changed` are bugs.
pub fn activate_save_reopen(bytes: &[u8]) -> Result<(), RoundTrip> {
    let (header, len) = payload::decode_header(bytes).map_err(RoundTrip::NotActivated)?;
    let secrets = payload::decode_secrets(bytes.get(len..).unwrap_or_default())
        .map_err(RoundTrip::NotActivated)?;
    let info = ActivationInfo::of(&header);
    let activated = activation::activated(&info, secrets).map_err(RoundTrip::NotActivated)?;
    let empty = Contents {
        auto_lock_seconds: super::DEFAULT_AUTO_LOCK_SECONDS,
        cards: contents::CardList::with_capacity(1),
    };
    let empty = contents::encode(&empty).map_err(RoundTrip::Unreadable)?;
    let (storage, mut vault) = sealed_vault(&empty).map_err(RoundTrip::Unreadable)?;
    let card = activated.card.clone();
    let id = vault
        .add_activated(activated, OnExisting::Refuse)
        .map_err(RoundTrip::Refused)?;
    drop(vault);
    let mut reopened = unlocked(&storage).map_err(RoundTrip::Unreadable)?;
    let stored = reopened.card(id).map_err(RoundTrip::Unreadable)?;
    let clock = FixedClock::from_unix_seconds(NOW);
    let same = stored.label() == card.label()
        && stored.card_ref() == card.card_ref()
        && stored.exportable() == card.exportable()
        && stored.secret() == card.secret()
        && stored.pins(&clock) == card.pins(&clock);
    if same {
        Ok(())
    } else {
        Err(RoundTrip::Changed)
    }
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
