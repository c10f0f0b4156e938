//! The vault file, versions 1 and 2: header, lockout region, encrypted body, trailer.
//! The normative description with test vectors is docs/vault-format.md.
//!
//! ```text
//! file    = header || lockout region || body || trailer
//! header  = magic "DPNVAULT" || version || flags || vault id || generation (v2) || lockout policy || slots
//! lockout = failures || last attempt || state || check (keyless: written while locked)
//! body    = nonce || length || XChaCha20-Poly1305(master key, contents, AD = header)
//! trailer = SHA-256(every byte before it)
//! ```

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::contents::{self, Contents};
use super::crypto::{self, MasterKey, NONCE_LEN, SALT_LEN, TAG_LEN, WRAPPED_LEN};
use super::device::{DeviceKeyError, MAX_DEVICE_BLOB_LEN};
use super::error::{Reader, VaultError};
use super::lockout::{LockoutPolicy, LockoutState, MAX_ATTEMPT_LIMIT, MIN_ATTEMPT_LIMIT, OnLimit};
use crate::kdf::KdfParams;

/// The first eight bytes of every vault file.
pub const MAGIC: [u8; 8] = *b"DPNVAULT";
/// Format version 1.
pub const VAULT_VERSION_1: u8 = 1;
/// Format version 2: a save generation, the device-bound password slot, the
/// platform slot with the app's wrapped key, the invalidation flag.
pub const VAULT_VERSION_2: u8 = 2;
/// The version this code writes.
pub const CURRENT_VERSION: u8 = VAULT_VERSION_2;
/// Every version this code reads (and upgrades to [`CURRENT_VERSION`] on the next save).
pub const SUPPORTED_VERSIONS: &[u8] = &[VAULT_VERSION_1, VAULT_VERSION_2];
/// The largest vault file accepted, in bytes.
pub const MAX_FILE_LEN: usize = 16 * 1024 * 1024;

/// Bytes of the trailer (SHA-256).
pub(crate) const TRAILER_LEN: usize = 32;
/// Bytes of the vault id.
pub(crate) const VAULT_ID_LEN: usize = 16;
const SLOT_PASSWORD: u8 = 1;
const SLOT_PLATFORM: u8 = 2;
const SLOT_DEVICE_PASSWORD: u8 = 3;
const SLOT_PLATFORM_WITH_BLOB: u8 = 4;
const ON_LIMIT_WIPE: u8 = 1;
const ON_LIMIT_LOCK: u8 = 2;
/// Bytes of the lockout region's fields, before its check.
const LOCKOUT_FIELDS_LEN: usize = 13;
/// Bytes of the lockout region's check.
const LOCKOUT_CHECK_LEN: usize = 8;
/// The domain prefix of the lockout region's check.
const LOCKOUT_CHECK_DOMAIN: &[u8] = b"dynpin/v1/vault/lockout";

/// The password slot: the master key wrapped under Argon2id(password), or,
/// when `device` is set, under HKDF(Argon2id(password) || device secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PasswordSlot {
    pub salt: [u8; SALT_LEN],
    pub kdf: KdfParams,
    pub nonce: [u8; NONCE_LEN],
    /// The device secret as the device key wrapped it (kind 3), or `None`
    /// for a slot that needs the password alone (kind 1).
    pub device: Option<Vec<u8>>,
    pub wrapped: [u8; WRAPPED_LEN],
}

/// The platform-key slot: the master key wrapped under HKDF(platform key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformSlot {
    pub salt: [u8; SALT_LEN],
    pub nonce: [u8; NONCE_LEN],
    /// The platform key as the app's biometric-bound hardware key wrapped it,
    /// kept for the app to read while the vault is locked (kind 4); `None` in
    /// a slot carried over from version 1 (kind 2).
    pub app_blob: Option<Vec<u8>>,
    pub wrapped: [u8; WRAPPED_LEN],
}

/// The header: everything authenticated as the body's associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub vault_id: [u8; VAULT_ID_LEN],
    /// One more on every save of the body (0 in a version-1 file).
    pub generation: u64,
    pub policy: LockoutPolicy,
    pub password: PasswordSlot,
    pub platform: Option<PlatformSlot>,
}

/// A slot's associated data: magic, vault id, kind, then the slot's fields
/// before the wrapped key, exactly as stored. No version byte: a later
/// version carries a slot over unchanged (the platform slot cannot be
/// re-wrapped without the platform key).
fn slot_ad(vault_id: &[u8; VAULT_ID_LEN], kind: u8, fields: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(MAGIC.len() + VAULT_ID_LEN + 1 + fields.len());
    ad.extend_from_slice(&MAGIC);
    ad.extend_from_slice(vault_id);
    ad.push(kind);
    ad.extend_from_slice(fields);
    ad
}

/// A length-prefixed blob (`u16` length).
fn put_blob(out: &mut Vec<u8>, blob: &[u8]) {
    // Blobs are checked against MAX_DEVICE_BLOB_LEN before they get here.
    let len = u16::try_from(blob.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(blob);
}

fn take_blob(r: &mut Reader<'_>) -> Result<Vec<u8>, VaultError> {
    let len = usize::from(r.u16()?);
    if len > MAX_DEVICE_BLOB_LEN {
        return Err(VaultError::Corrupt("slot blob length"));
    }
    Ok(r.take(len)?.to_vec())
}

/// Checks a blob's size before it is sealed into a slot.
pub(crate) fn check_blob(blob: &[u8]) -> Result<(), DeviceKeyError> {
    if blob.len() > MAX_DEVICE_BLOB_LEN {
        Err(DeviceKeyError::WrongSize)
    } else {
        Ok(())
    }
}

impl PasswordSlot {
    fn kind(&self) -> u8 {
        if self.device.is_some() {
            SLOT_DEVICE_PASSWORD
        } else {
            SLOT_PASSWORD
        }
    }

    /// The fields before the wrapped key, as stored.
    fn fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SALT_LEN + 12 + NONCE_LEN + 2);
        out.extend_from_slice(&self.salt);
        put_kdf(&mut out, self.kdf);
        out.extend_from_slice(&self.nonce);
        if let Some(device) = &self.device {
            put_blob(&mut out, device);
        }
        out
    }

    /// See [`slot_ad`].
    pub(crate) fn ad(&self, vault_id: &[u8; VAULT_ID_LEN]) -> Vec<u8> {
        slot_ad(vault_id, self.kind(), &self.fields())
    }

    /// Seals a new slot for `master` under `kek`.
    pub(crate) fn seal(
        vault_id: &[u8; VAULT_ID_LEN],
        salt: [u8; SALT_LEN],
        kdf: KdfParams,
        nonce: [u8; NONCE_LEN],
        device: Option<Vec<u8>>,
        kek: &[u8],
        master: &MasterKey,
    ) -> Result<Self, VaultError> {
        if let Some(blob) = &device {
            check_blob(blob)?;
        }
        let mut slot = Self {
            salt,
            kdf,
            nonce,
            device,
            wrapped: [0; WRAPPED_LEN],
        };
        slot.wrapped = crypto::wrap(kek, &nonce, &slot.ad(vault_id), master)?;
        Ok(slot)
    }

    pub(crate) fn open(&self, vault_id: &[u8; VAULT_ID_LEN], kek: &[u8]) -> Option<MasterKey> {
        crypto::unwrap(kek, &self.nonce, &self.ad(vault_id), &self.wrapped)
    }

    fn decode(kind: u8, r: &mut Reader<'_>) -> Result<Self, VaultError> {
        Ok(Self {
            salt: r.array()?,
            kdf: KdfParams {
                memory_kib: r.u32()?,
                iterations: r.u32()?,
                lanes: r.u32()?,
            },
            nonce: r.array()?,
            device: if kind == SLOT_DEVICE_PASSWORD {
                Some(take_blob(r)?)
            } else {
                None
            },
            wrapped: r.array()?,
        })
    }
}

impl PlatformSlot {
    fn kind(&self) -> u8 {
        if self.app_blob.is_some() {
            SLOT_PLATFORM_WITH_BLOB
        } else {
            SLOT_PLATFORM
        }
    }

    fn fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SALT_LEN + NONCE_LEN + 2);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        if let Some(blob) = &self.app_blob {
            put_blob(&mut out, blob);
        }
        out
    }

    /// See [`slot_ad`].
    pub(crate) fn ad(&self, vault_id: &[u8; VAULT_ID_LEN]) -> Vec<u8> {
        slot_ad(vault_id, self.kind(), &self.fields())
    }

    pub(crate) fn seal(
        vault_id: &[u8; VAULT_ID_LEN],
        salt: [u8; SALT_LEN],
        nonce: [u8; NONCE_LEN],
        app_blob: Option<Vec<u8>>,
        kek: &[u8],
        master: &MasterKey,
    ) -> Result<Self, VaultError> {
        if let Some(blob) = &app_blob {
            check_blob(blob)?;
        }
        let mut slot = Self {
            salt,
            nonce,
            app_blob,
            wrapped: [0; WRAPPED_LEN],
        };
        slot.wrapped = crypto::wrap(kek, &nonce, &slot.ad(vault_id), master)?;
        Ok(slot)
    }

    pub(crate) fn open(&self, vault_id: &[u8; VAULT_ID_LEN], kek: &[u8]) -> Option<MasterKey> {
        crypto::unwrap(kek, &self.nonce, &self.ad(vault_id), &self.wrapped)
    }

    fn decode(kind: u8, r: &mut Reader<'_>) -> Result<Self, VaultError> {
        Ok(Self {
            salt: r.array()?,
            nonce: r.array()?,
            app_blob: if kind == SLOT_PLATFORM_WITH_BLOB {
                Some(take_blob(r)?)
            } else {
                None
            },
            wrapped: r.array()?,
        })
    }
}

fn put_kdf(out: &mut Vec<u8>, kdf: KdfParams) {
    out.extend_from_slice(&kdf.memory_kib.to_be_bytes());
    out.extend_from_slice(&kdf.iterations.to_be_bytes());
    out.extend_from_slice(&kdf.lanes.to_be_bytes());
}

/// A slot as stored: kind, `u16` length, fields, wrapped key.
fn put_slot(out: &mut Vec<u8>, kind: u8, fields: &[u8], wrapped: &[u8; WRAPPED_LEN]) {
    out.push(kind);
    // At most 16 + 12 + 24 + 2 + 1024 + 48 bytes.
    let len = u16::try_from(fields.len() + WRAPPED_LEN).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(fields);
    out.extend_from_slice(wrapped);
}

/// Reads one slot's kind and length, and hands its exact bytes to `decode`.
fn take_slot<T>(
    r: &mut Reader<'_>,
    kinds: &[u8],
    what: &'static str,
    decode: impl FnOnce(u8, &mut Reader<'_>) -> Result<T, VaultError>,
) -> Result<T, VaultError> {
    let kind = r.u8()?;
    if !kinds.contains(&kind) {
        return Err(VaultError::Corrupt(what));
    }
    let len = usize::from(r.u16()?);
    let mut slot = Reader::new(r.take(len)?);
    let out = decode(kind, &mut slot).map_err(|_| VaultError::Corrupt(what))?;
    slot.finish(what)?;
    Ok(out)
}

impl Header {
    /// The header in the current version's layout.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(37 + 103 + 91);
        out.extend_from_slice(&MAGIC);
        out.push(CURRENT_VERSION);
        out.push(0); // flags
        out.extend_from_slice(&self.vault_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.push(self.policy.max_attempts);
        out.push(match self.policy.on_limit {
            OnLimit::Wipe => ON_LIMIT_WIPE,
            OnLimit::LockForGood => ON_LIMIT_LOCK,
        });
        out.push(if self.platform.is_some() { 2 } else { 1 });
        let p = &self.password;
        put_slot(&mut out, p.kind(), &p.fields(), &p.wrapped);
        if let Some(s) = &self.platform {
            put_slot(&mut out, s.kind(), &s.fields(), &s.wrapped);
        }
        out
    }

    /// Reads a header of `version` (1 or 2; the caller dispatched on it).
    fn decode(r: &mut Reader<'_>, version: u8) -> Result<Self, VaultError> {
        if r.array::<8>()? != MAGIC {
            return Err(VaultError::NotAVault);
        }
        let found = r.u8()?;
        if found != version {
            return Err(VaultError::UnsupportedVersion { version: found });
        }
        if r.u8()? != 0 {
            return Err(VaultError::Corrupt("header flags"));
        }
        let vault_id = r.array()?;
        let generation = if version == VAULT_VERSION_1 {
            0
        } else {
            r.u64()?
        };
        let max_attempts = r.u8()?;
        if !(MIN_ATTEMPT_LIMIT..=MAX_ATTEMPT_LIMIT).contains(&max_attempts) {
            return Err(VaultError::Corrupt("lockout policy"));
        }
        let on_limit = match r.u8()? {
            ON_LIMIT_WIPE => OnLimit::Wipe,
            ON_LIMIT_LOCK => OnLimit::LockForGood,
            _ => return Err(VaultError::Corrupt("lockout policy")),
        };
        let slots = r.u8()?;
        if !(1..=2).contains(&slots) {
            return Err(VaultError::Corrupt("slot count"));
        }
        // Version 1 knows only the fixed-size slots; version 2 adds the
        // device-bound password slot and the platform slot with its blob.
        let (password_kinds, platform_kinds): (&[u8], &[u8]) = if version == VAULT_VERSION_1 {
            (&[SLOT_PASSWORD], &[SLOT_PLATFORM])
        } else {
            (
                &[SLOT_PASSWORD, SLOT_DEVICE_PASSWORD],
                &[SLOT_PLATFORM, SLOT_PLATFORM_WITH_BLOB],
            )
        };
        let password = take_slot(r, password_kinds, "password slot", PasswordSlot::decode)?;
        let platform = if slots == 2 {
            Some(take_slot(
                r,
                platform_kinds,
                "platform slot",
                PlatformSlot::decode,
            )?)
        } else {
            None
        };
        Ok(Self {
            vault_id,
            generation,
            policy: LockoutPolicy {
                max_attempts,
                on_limit,
            },
            password,
            platform,
        })
    }
}

/// The lockout region's 13 field bytes.
fn lockout_fields(state: &LockoutState) -> [u8; LOCKOUT_FIELDS_LEN] {
    let mut out = [0u8; LOCKOUT_FIELDS_LEN];
    let (failures, rest) = out.split_at_mut(4);
    let (last, flag) = rest.split_at_mut(8);
    failures.copy_from_slice(&state.failures.to_be_bytes());
    last.copy_from_slice(&state.last_attempt_ms.to_be_bytes());
    flag.copy_from_slice(&[
        u8::from(state.locked_for_good) | (u8::from(state.platform_invalidated) << 1)
    ]);
    out
}

/// The region's check: the first 8 bytes of SHA-256(domain || fields).
fn lockout_check(fields: &[u8]) -> [u8; LOCKOUT_CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(LOCKOUT_CHECK_DOMAIN)
        .chain_update(fields)
        .finalize();
    let mut out = [0u8; LOCKOUT_CHECK_LEN];
    out.iter_mut().zip(digest.iter()).for_each(|(o, d)| *o = *d);
    out
}

fn encode_lockout(state: &LockoutState, out: &mut Vec<u8>) {
    let fields = lockout_fields(state);
    out.extend_from_slice(&fields);
    out.extend_from_slice(&lockout_check(&fields));
}

fn decode_lockout(r: &mut Reader<'_>, check: bool) -> Result<LockoutState, VaultError> {
    let fields = r.take(LOCKOUT_FIELDS_LEN)?;
    let sum = r.take(LOCKOUT_CHECK_LEN)?;
    if check && !bool::from(lockout_check(fields).ct_eq(sum)) {
        return Err(VaultError::Corrupt("lockout region checksum"));
    }
    let mut f = Reader::new(fields);
    let failures = f.u32()?;
    let last_attempt_ms = f.i64()?;
    // Bit 0: locked for good; bit 1: the platform key was invalidated.
    let state = f.u8()?;
    if state > 0b11 {
        return Err(VaultError::Corrupt("lockout state"));
    }
    Ok(LockoutState {
        failures,
        last_attempt_ms,
        locked_for_good: state & 1 != 0,
        platform_invalidated: state & 0b10 != 0,
    })
}

/// A parsed vault file. Holds nothing secret: the contents stay encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VaultFile {
    /// The version the file was read in (the current one once saved).
    pub version: u8,
    pub header: Header,
    /// The header exactly as stored: the body's associated data.
    pub header_bytes: Vec<u8>,
    pub lockout: LockoutState,
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext then tag.
    pub sealed: Vec<u8>,
}

impl VaultFile {
    /// Whether a platform key is enrolled and not reported invalidated: what
    /// biometric unlock may use.
    pub(super) fn platform_usable(&self) -> bool {
        self.header.platform.is_some() && !self.lockout.platform_invalidated
    }

    /// Encrypts `contents` under `master` with a fresh `nonce`, in the current version.
    pub(crate) fn seal(
        header: Header,
        lockout: LockoutState,
        master: &MasterKey,
        nonce: [u8; NONCE_LEN],
        contents: &Contents,
    ) -> Result<(Self, Zeroizing<Vec<u8>>), VaultError> {
        let plaintext = contents::encode(contents)?;
        prove_readable(&plaintext)?;
        let header_bytes = header.encode();
        // A plaintext copy is wiped if encryption fails; once encrypted in
        // place it is ciphertext and leaves the zeroizing wrapper.
        let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
        buf.extend_from_slice(&plaintext);
        let tag = crypto::seal_in_place(master.expose(), &nonce, &header_bytes, &mut buf)?;
        buf.extend_from_slice(&tag);
        let sealed = core::mem::take(&mut *buf);
        let file = Self {
            version: CURRENT_VERSION,
            header,
            header_bytes,
            lockout,
            nonce,
            sealed,
        };
        Ok((file, plaintext))
    }

    /// The file's bytes, with `lockout` as its lockout region.
    pub(crate) fn encode_with(&self, lockout: &LockoutState) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.header_bytes.len()
                + LOCKOUT_FIELDS_LEN
                + LOCKOUT_CHECK_LEN
                + NONCE_LEN
                + 4
                + self.sealed.len()
                + TRAILER_LEN,
        );
        out.extend_from_slice(&self.header_bytes);
        encode_lockout(lockout, &mut out);
        out.extend_from_slice(&self.nonce);
        // `parse` refuses files over MAX_FILE_LEN, so the length fits.
        let len = u32::try_from(self.sealed.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.sealed);
        let trailer = Sha256::digest(&out);
        out.extend_from_slice(&trailer);
        out
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        self.encode_with(&self.lockout)
    }

    /// Decrypts the body with `master`, into a zeroizing buffer.
    pub(crate) fn open_plaintext(
        &self,
        master: &MasterKey,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        crypto::open_sealed(
            master.expose(),
            &self.nonce,
            &self.header_bytes,
            &self.sealed,
        )
    }

    /// Decrypts and decodes the contents, in the current model whatever the
    /// file's version (the migration hook: see [`decode_contents`]).
    pub(crate) fn open(&self, master: &MasterKey) -> Result<Contents, VaultError> {
        let plaintext = self.open_plaintext(master)?;
        decode_contents(self.version, &plaintext)
    }
}

/// Proves that `plaintext` (contents about to be saved) reads back: it decodes,
/// and the decoded contents encode to the same bytes. A card that encodes but
/// does not decode would make the whole vault unreadable, so such a save is
/// refused before anything is written.
///
/// # Errors
/// [`VaultError::UnreadableContents`] naming the part that does not read back.
pub(crate) fn prove_readable(plaintext: &[u8]) -> Result<(), VaultError> {
    prove_round_trip(
        plaintext,
        "contents",
        |p| decode_contents(CURRENT_VERSION, p),
        contents::encode,
    )
}

/// The read-back proof of anything about to be written (vault contents, a
/// backup's card list): `decode` accepts `plaintext`, and `encode` of what it
/// decoded gives the same bytes.
///
/// # Errors
/// [`VaultError::UnreadableContents`] naming the part that does not read
/// back, or `what` when it reads back differently.
pub(crate) fn prove_round_trip<T>(
    plaintext: &[u8],
    what: &'static str,
    decode: impl FnOnce(&[u8]) -> Result<T, VaultError>,
    encode: impl FnOnce(&T) -> Result<Zeroizing<Vec<u8>>, VaultError>,
) -> Result<(), VaultError> {
    let reread = decode(plaintext).map_err(|e| match e {
        VaultError::Corrupt(part) => VaultError::UnreadableContents(part),
        other => other,
    })?;
    if *encode(&reread)? == *plaintext {
        Ok(())
    } else {
        Err(VaultError::UnreadableContents(what))
    }
}

/// The migration hook for contents: decodes the plaintext of a file of
/// `version` into the current model. A version 2 adds its arm here and keeps
/// version 1's, and the v1 fixture test keeps passing.
pub(crate) fn decode_contents(version: u8, plaintext: &[u8]) -> Result<Contents, VaultError> {
    match version {
        // Version 2 changed the file around the contents, not the contents.
        VAULT_VERSION_1 | VAULT_VERSION_2 => contents::decode_v1(plaintext),
        version => Err(VaultError::UnsupportedVersion { version }),
    }
}

/// Recomputes a file's lockout-region check (when its header decodes) and
/// its trailer in place, as someone editing the file would: for tests and the
/// fuzzer, which must get past the keyless checksums to reach what is keyed.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn forge_checksums(bytes: &mut [u8]) {
    let Some(body_len) = bytes.len().checked_sub(TRAILER_LEN) else {
        return;
    };
    let start = bytes.get(..body_len).and_then(|body| {
        let mut r = Reader::new(body);
        Header::decode(&mut r, *body.get(MAGIC.len())?).ok()?;
        Some(body_len - r.remaining())
    });
    if let Some(start) = start {
        let fields_end = start + LOCKOUT_FIELDS_LEN;
        let check = bytes.get(start..fields_end).map(lockout_check);
        if let (Some(check), Some(dst)) = (
            check,
            bytes.get_mut(fields_end..fields_end + LOCKOUT_CHECK_LEN),
        ) {
            dst.copy_from_slice(&check);
        }
    }
    let digest = Sha256::digest(bytes.get(..body_len).unwrap_or_default());
    if let Some(dst) = bytes.get_mut(body_len..) {
        dst.copy_from_slice(&digest);
    }
}

/// Whether the checksums are verified (always, except for the fuzzer, which
/// must reach the structure behind them).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checks {
    Verify,
    #[cfg(any(test, feature = "test-util"))]
    Skip,
}

/// What is wrong with a container (a vault file or a backup) before its
/// layout is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerError {
    /// It does not start with the expected magic bytes.
    Foreign,
    /// Larger than [`MAX_FILE_LEN`]; nothing else was looked at.
    TooLarge,
    /// Too short to hold the magic, a version and the trailer.
    Truncated,
    /// The SHA-256 trailer does not match.
    Checksum,
}

impl ContainerError {
    /// The error for a container with its own "not ours" error and `corrupt` constructor.
    pub(crate) fn into_vault_error(
        self,
        foreign: VaultError,
        corrupt: fn(&'static str) -> VaultError,
    ) -> VaultError {
        match self {
            ContainerError::Foreign => foreign,
            ContainerError::TooLarge => corrupt("too large"),
            ContainerError::Truncated => corrupt("truncated"),
            ContainerError::Checksum => corrupt("checksum"),
        }
    }
}

/// The one container check of the vault file and of backups, in this order:
/// size, magic, trailer (the last 32 bytes are SHA-256 of all the others,
/// checked unless `checks` says otherwise). Returns the bytes before the
/// trailer, magic included.
pub(crate) fn open_container<'a>(
    bytes: &'a [u8],
    magic: &[u8],
    checks: Checks,
) -> Result<&'a [u8], ContainerError> {
    if bytes.len() > MAX_FILE_LEN {
        return Err(ContainerError::TooLarge);
    }
    let magic_len = bytes.len().min(magic.len());
    if bytes.get(..magic_len) != magic.get(..magic_len) {
        return Err(ContainerError::Foreign);
    }
    let (body, trailer) = bytes
        .split_at_checked(bytes.len().saturating_sub(TRAILER_LEN))
        .filter(|(body, _)| body.len() > magic.len())
        .ok_or(ContainerError::Truncated)?;
    if checks == Checks::Verify && !bool::from(Sha256::digest(body).as_slice().ct_eq(trailer)) {
        return Err(ContainerError::Checksum);
    }
    Ok(body)
}

/// Reads a vault file of any supported version: the migration hook for the
/// file layout. Order: the container (size, magic, trailer), version, then
/// the version's layout.
pub(crate) fn parse(bytes: &[u8], checks: Checks) -> Result<VaultFile, VaultError> {
    let body = open_container(bytes, &MAGIC, checks)
        .map_err(|e| e.into_vault_error(VaultError::NotAVault, VaultError::Corrupt))?;
    match body.get(MAGIC.len()).copied() {
        Some(version @ (VAULT_VERSION_1 | VAULT_VERSION_2)) => parse_version(body, version, checks),
        Some(version) => Err(VaultError::UnsupportedVersion { version }),
        None => Err(VaultError::Corrupt("truncated")),
    }
}

fn parse_version(body: &[u8], version: u8, checks: Checks) -> Result<VaultFile, VaultError> {
    let mut r = Reader::new(body);
    let header = Header::decode(&mut r, version)?;
    let header_len = body.len() - r.remaining();
    let header_bytes = body.get(..header_len).unwrap_or_default().to_vec();
    let lockout = decode_lockout(&mut r, checks == Checks::Verify)?;
    let nonce = r.array()?;
    let len = usize::try_from(r.u32()?).map_err(|_| VaultError::Corrupt("body length"))?;
    if len < TAG_LEN {
        return Err(VaultError::Corrupt("body length"));
    }
    let sealed = r.take(len)?.to_vec();
    r.finish("trailing bytes")?;
    Ok(VaultFile {
        version,
        header,
        header_bytes,
        lockout,
        nonce,
        sealed,
    })
}
