//! Encrypted backups of exportable cards, under their own password
//! (docs/vault-format.md, "Backup").
//!
//! ```text
//! magic "DPNBACKP" || version 1 || flags 0 || salt (16) || m, t, p (u32 each)
//!   || nonce (24) || length (u32) || XChaCha20-Poly1305(key, card list, AD = bytes 0..62)
//!   || SHA-256(every byte before)
//! key = Argon2id(password, salt, m, t, p, 32)
//! ```

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::contents::{self, CardList};
use super::crypto::{self, NONCE_LEN, SALT_LEN, TAG_LEN, random_array};
use super::error::{Reader, VaultError};
use super::format::{Checks, TRAILER_LEN, open_container, prove_round_trip};
use crate::card::Card;
use crate::kdf::{KdfError, KdfParams};

/// The first eight bytes of every backup.
pub const BACKUP_MAGIC: [u8; 8] = *b"DPNBACKP";
/// The backup format version this code writes and reads.
pub const BACKUP_VERSION_1: u8 = 1;
/// Bytes before the sealed card list (the associated data is all of them
/// except the length).
const PREFIX_LEN: usize = 8 + 1 + 1 + SALT_LEN + 12 + NONCE_LEN;

fn kdf_error(e: KdfError) -> VaultError {
    VaultError::Kdf(e)
}

/// A backup about to be sealed: the exportable cards, copied out of the
/// vault ([`Vault::prepare_backup`](super::Vault::prepare_backup)), and the
/// key derivation's cost. Sealing is the slow step (Argon2id) and needs no
/// vault. The copies are wiped when it is dropped.
pub struct BackupExport {
    pub(super) cards: Vec<Card>,
    pub(super) params: KdfParams,
}

impl core::fmt::Debug for BackupExport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BackupExport")
            .field("cards", &self.cards.len())
            .field("params", &self.params)
            .finish()
    }
}

impl BackupExport {
    /// The backup file under `password` (at least
    /// [`MIN_BACKUP_PASSWORD_CHARS`](super::MIN_BACKUP_PASSWORD_CHARS)
    /// characters: a backup is guessed offline, with no lockout).
    ///
    /// # Errors
    /// [`VaultError::Password`], [`VaultError::Kdf`].
    pub fn seal(self, password: &str) -> Result<Vec<u8>, VaultError> {
        super::check_backup_password(password)?;
        seal(self.cards.iter(), password, self.params)
    }
}

/// A backup opened with its password, its cards not yet added to a vault
/// ([`Vault::add_backup`](super::Vault::add_backup)). Opening is the slow
/// step (Argon2id) and needs no vault. The cards are wiped when it is
/// dropped.
pub struct OpenedBackup {
    pub(super) cards: CardList,
}

impl core::fmt::Debug for OpenedBackup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenedBackup")
            .field("cards", &self.cards.len())
            .finish()
    }
}

impl OpenedBackup {
    /// Opens `backup` with `password`; its key derivation's parameters are
    /// checked against the floor and `kdf_ceiling` before any work.
    ///
    /// # Errors
    /// [`VaultError::NotABackup`], [`VaultError::CorruptBackup`],
    /// [`VaultError::UnsupportedBackupVersion`], [`VaultError::Kdf`],
    /// [`VaultError::WrongBackupPassword`].
    pub fn open(backup: &[u8], password: &str, kdf_ceiling: KdfParams) -> Result<Self, VaultError> {
        Ok(Self {
            cards: open(backup, password, kdf_ceiling)?,
        })
    }

    /// How many cards the backup holds.
    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// Whether the backup holds no card.
    pub fn is_empty(&self) -> bool {
        self.cards.len() == 0
    }
}

/// Seals `cards` (already filtered to exportable ones) under `password`.
pub(crate) fn seal<'a>(
    cards: impl Iterator<Item = &'a Card> + Clone,
    password: &str,
    params: KdfParams,
) -> Result<Vec<u8>, VaultError> {
    let salt: [u8; SALT_LEN] = random_array()?;
    let nonce: [u8; NONCE_LEN] = random_array()?;
    seal_with(cards, password, params, salt, nonce)
}

pub(crate) fn seal_with<'a>(
    cards: impl Iterator<Item = &'a Card> + Clone,
    password: &str,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, VaultError> {
    let plaintext = contents::encode_card_list(cards)?;
    // What a backup holds must import back, as what the vault holds must reopen.
    prove_round_trip(&plaintext, "backup", contents::decode_card_list, |cards| {
        contents::encode_card_list(cards.as_slice().iter())
    })?;
    let key = crypto::password_kek(password, &salt, params).map_err(kdf_error)?;
    let mut out = Vec::with_capacity(PREFIX_LEN + 4 + plaintext.len() + TAG_LEN + TRAILER_LEN);
    out.extend_from_slice(&BACKUP_MAGIC);
    out.extend_from_slice(&[BACKUP_VERSION_1, 0]);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&params.memory_kib.to_be_bytes());
    out.extend_from_slice(&params.iterations.to_be_bytes());
    out.extend_from_slice(&params.lanes.to_be_bytes());
    out.extend_from_slice(&nonce);
    let len = u32::try_from(plaintext.len() + TAG_LEN)
        .map_err(|_| VaultError::Unstorable(super::CardField::Backup))?;
    let mut sealed = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    sealed.extend_from_slice(&plaintext);
    let tag = crypto::seal_in_place(&key, &nonce, &out, &mut sealed)?;
    sealed.extend_from_slice(&tag);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&sealed);
    let trailer = Sha256::digest(&out);
    out.extend_from_slice(&trailer);
    Ok(out)
}

/// A parsed backup, still sealed.
pub(crate) struct Parsed<'a> {
    pub ad: &'a [u8],
    pub salt: [u8; SALT_LEN],
    pub kdf: KdfParams,
    pub nonce: [u8; NONCE_LEN],
    pub sealed: &'a [u8],
}

/// Checks the magic, trailer, version and layout; derives nothing.
pub(crate) fn parse(bytes: &[u8], checks: Checks) -> Result<Parsed<'_>, VaultError> {
    let body = open_container(bytes, &BACKUP_MAGIC, checks)
        .map_err(|e| e.into_vault_error(VaultError::NotABackup, VaultError::CorruptBackup))?;
    let corrupt = |e: VaultError| match e {
        VaultError::Corrupt(what) => VaultError::CorruptBackup(what),
        other => other,
    };
    let mut r = Reader::new(body);
    r.take(BACKUP_MAGIC.len()).map_err(corrupt)?;
    let version = r.u8().map_err(corrupt)?;
    if version != BACKUP_VERSION_1 {
        return Err(VaultError::UnsupportedBackupVersion { version });
    }
    if r.u8().map_err(corrupt)? != 0 {
        return Err(VaultError::CorruptBackup("flags"));
    }
    let salt = r.array().map_err(corrupt)?;
    let kdf = KdfParams {
        memory_kib: r.u32().map_err(corrupt)?,
        iterations: r.u32().map_err(corrupt)?,
        lanes: r.u32().map_err(corrupt)?,
    };
    let nonce = r.array().map_err(corrupt)?;
    let ad = body
        .get(..PREFIX_LEN)
        .ok_or(VaultError::CorruptBackup("truncated"))?;
    let len = usize::try_from(r.u32().map_err(corrupt)?)
        .map_err(|_| VaultError::CorruptBackup("length"))?;
    if len < TAG_LEN {
        return Err(VaultError::CorruptBackup("length"));
    }
    let sealed = r.take(len).map_err(corrupt)?;
    r.finish("trailing bytes").map_err(corrupt)?;
    Ok(Parsed {
        ad,
        salt,
        kdf,
        nonce,
        sealed,
    })
}

/// Opens a backup with `password` (parameters checked against the floor and
/// ceiling before any work) and decodes its cards.
pub(crate) fn open(
    bytes: &[u8],
    password: &str,
    kdf_ceiling: KdfParams,
) -> Result<CardList, VaultError> {
    let parsed = parse(bytes, Checks::Verify)?;
    open_parsed(&parsed, password, kdf_ceiling)
}

pub(crate) fn open_parsed(
    parsed: &Parsed<'_>,
    password: &str,
    kdf_ceiling: KdfParams,
) -> Result<CardList, VaultError> {
    parsed.kdf.check_within(kdf_ceiling)?;
    let key = crypto::password_kek(password, &parsed.salt, parsed.kdf).map_err(kdf_error)?;
    let buf =
        crypto::open_sealed(&key, &parsed.nonce, parsed.ad, parsed.sealed).map_err(
            |e| match e {
                VaultError::Tampered => VaultError::WrongBackupPassword,
                VaultError::Corrupt(what) => VaultError::CorruptBackup(what),
                other => other,
            },
        )?;
    contents::decode_card_list(&buf).map_err(|e| match e {
        VaultError::Corrupt(what) => VaultError::CorruptBackup(what),
        other => other,
    })
}
