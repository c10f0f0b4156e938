//! Password attempts in steps, so that the slow key derivation runs away from
//! the vault: an app that shares one [`Vault`] behind a mutex (the mobile
//! edge does) releases it while Argon2id runs, and a screen refresh of the
//! codes never waits for a derivation.
//!
//! ```text
//! vault.plan_password_attempt()       fast, needs the vault: the slot, the ceiling checked
//! plan.prepare()                      needs no vault: the device key store's share of the
//!                                     key, the derivation's memory reserved (neither a guess)
//! vault.count_password_attempt(p)     fast, needs the vault: the attempt counted on storage
//! attempt.derive(password)            slow (Argon2id), needs no vault
//! vault.finish_unlock(derived)        fast, needs the vault: unlock, or a counted wrong password
//! ```
//!
//! [`Vault::begin_password_attempt`] runs the first three in a row.
//!
//! A password change adds [`Vault::new_password_recipe`] (fast) and
//! [`NewPasswordRecipe::seal`] (slow: Argon2id of the new password) before
//! [`Vault::finish_password_change`]. [`Vault::unlock_with_password`] and
//! [`Vault::change_password_with`] are these steps run in a row.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use dynpin::clock::ManualClock;
//! use dynpin::kdf::KdfParams;
//! use dynpin::vault::{MemoryStorage, Vault, VaultOptions};
//!
//! let storage = Arc::new(MemoryStorage::new());
//! let clock = Arc::new(ManualClock::from_unix_seconds(1_800_000_000));
//! let options = VaultOptions { kdf: KdfParams::MINIMUM, ..VaultOptions::default() };
//! drop(Vault::create(storage.clone(), clock.clone(), "my vault password", options)?);
//! let shared = Mutex::new(Vault::open(storage, clock)?);
//!
//! let attempt = shared.lock().unwrap().begin_password_attempt()?; // counted, lock released
//! let derived = attempt.derive("my vault password")?;             // Argon2id, no lock held
//! shared.lock().unwrap().finish_unlock(derived)?;                  // unlocked
//! assert!(shared.lock().unwrap().is_unlocked());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::crypto::{self, MasterKey};
use super::format::{PasswordSlot, VAULT_ID_LEN};
use super::{
    DeviceKey, Vault, VaultError, check_new_password, seal_password_slot, unwrap_device_secret,
};
use crate::kdf::{KdfMemory, KdfParams};
use crate::secret::SecretBytes;

/// What a password attempt needs from the vault ([`Vault::plan_password_attempt`]).
pub struct AttemptPlan {
    pub(super) slot: PasswordSlot,
    pub(super) vault_id: [u8; VAULT_ID_LEN],
    pub(super) device: Option<Arc<dyn DeviceKey>>,
    pub(super) epoch: u64,
}

impl fmt::Debug for AttemptPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptPlan")
            .field("kdf", &self.slot.kdf)
            .field("device_bound", &self.slot.device.is_some())
            .finish_non_exhaustive()
    }
}

impl AttemptPlan {
    /// Asks the device key store for its share of a device-bound slot and
    /// reserves the derivation's memory: no vault needed, nothing counted
    /// if either fails. Then [`Vault::count_password_attempt`].
    ///
    /// # Errors
    /// [`VaultError::DeviceKeyMissing`], [`VaultError::DeviceKey`],
    /// [`VaultError::Kdf`] (out of memory).
    pub fn prepare(self) -> Result<PreparedAttempt, VaultError> {
        let device_secret = match &self.slot.device {
            Some(blob) => Some(unwrap_device_secret(self.device.as_deref(), blob)?),
            None => None,
        };
        // A phone that cannot spare the memory has tried nothing.
        let memory = KdfMemory::reserve(self.slot.kdf)?;
        Ok(PreparedAttempt {
            slot: self.slot,
            vault_id: self.vault_id,
            device_secret,
            memory,
            epoch: self.epoch,
        })
    }
}

/// An attempt ready to be counted ([`Vault::count_password_attempt`]).
pub struct PreparedAttempt {
    pub(super) slot: PasswordSlot,
    vault_id: [u8; VAULT_ID_LEN],
    device_secret: Option<SecretBytes>,
    memory: KdfMemory,
    epoch: u64,
}

impl fmt::Debug for PreparedAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedAttempt")
            .field("kdf", &self.slot.kdf)
            .finish_non_exhaustive()
    }
}

impl From<PreparedAttempt> for PasswordAttempt {
    fn from(p: PreparedAttempt) -> Self {
        PasswordAttempt {
            slot: p.slot,
            vault_id: p.vault_id,
            device_secret: p.device_secret,
            memory: p.memory,
            epoch: p.epoch,
        }
    }
}

/// A password attempt counted on storage, ready to be derived away from the
/// vault ([`Vault::begin_password_attempt`]). Dropping it unused wastes the
/// attempt (it was counted).
pub struct PasswordAttempt {
    slot: PasswordSlot,
    vault_id: [u8; VAULT_ID_LEN],
    device_secret: Option<SecretBytes>,
    memory: KdfMemory,
    epoch: u64,
}

impl fmt::Debug for PasswordAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordAttempt")
            .field("kdf", &self.slot.kdf)
            .field("device_bound", &self.device_secret.is_some())
            .finish_non_exhaustive()
    }
}

impl PasswordAttempt {
    /// Derives the slot's key from `password` (Argon2id, in the memory
    /// reserved before the attempt was counted): the slow step, which needs
    /// no vault. Hand the result to [`Vault::finish_unlock`] (or
    /// [`Vault::finish_password_change`]).
    ///
    /// # Errors
    /// [`VaultError::Kdf`] if the derivation itself fails.
    pub fn derive(mut self, password: &str) -> Result<DerivedPassword, VaultError> {
        let slot = self.slot;
        let argon2 = crypto::password_kek_in(&mut self.memory, password, &slot.salt, slot.kdf)?;
        drop(self.memory);
        let kek = match &self.device_secret {
            Some(secret) => crypto::device_bound_kek(&argon2, secret.expose(), &slot.salt)?,
            None => argon2,
        };
        let key = slot.open(&self.vault_id, &kek);
        Ok(DerivedPassword {
            slot,
            kek,
            key,
            epoch: self.epoch,
        })
    }
}

/// What [`PasswordAttempt::derive`] found: the master key if the password
/// was right. Hand it back to the vault it came from.
pub struct DerivedPassword {
    pub(super) slot: PasswordSlot,
    pub(super) kek: Zeroizing<Vec<u8>>,
    pub(super) key: Option<MasterKey>,
    /// The vault's lock count when the attempt began.
    pub(super) epoch: u64,
}

impl fmt::Debug for DerivedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DerivedPassword")
            .field("right", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// What a new password slot needs from the vault ([`Vault::new_password_recipe`]),
/// so that its key derivation can run away from it ([`NewPasswordRecipe::seal`]).
pub struct NewPasswordRecipe {
    vault_id: [u8; VAULT_ID_LEN],
    params: KdfParams,
    device: Option<Arc<dyn DeviceKey>>,
}

impl fmt::Debug for NewPasswordRecipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPasswordRecipe")
            .field("kdf", &self.params)
            .field("device_bound", &self.device.is_some())
            .finish_non_exhaustive()
    }
}

impl NewPasswordRecipe {
    /// Seals a new master key under `new` (Argon2id at the recipe's
    /// parameters, bound to the device key if the vault has one): the slow
    /// step, which needs no vault.
    ///
    /// # Errors
    /// [`VaultError::Password`] for a password the rules refuse,
    /// [`VaultError::Kdf`], [`VaultError::DeviceKey`].
    pub fn seal(&self, new: &str) -> Result<NewPassword, VaultError> {
        check_new_password(new)?;
        let master = MasterKey::random()?;
        let slot = seal_password_slot(
            &self.vault_id,
            new,
            self.params,
            self.device.as_deref(),
            &master,
        )?;
        Ok(NewPassword {
            master,
            slot,
            vault_id: self.vault_id,
            device_bound: self.device.is_some(),
        })
    }
}

/// A new password slot and the new master key it wraps, ready for
/// [`Vault::finish_password_change`].
pub struct NewPassword {
    pub(super) master: MasterKey,
    pub(super) slot: PasswordSlot,
    /// The vault it was made for, and whether it is bound to a device key.
    pub(super) vault_id: [u8; VAULT_ID_LEN],
    pub(super) device_bound: bool,
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(redacted)")
    }
}

impl Vault {
    /// What a new password slot needs ([`NewPasswordRecipe`]): checks
    /// `params` against the floor and this device's ceiling. Fast.
    ///
    /// # Errors
    /// [`VaultError::Kdf`], [`VaultError::Locked`], [`VaultError::Wiped`].
    pub fn new_password_recipe(
        &mut self,
        params: KdfParams,
    ) -> Result<NewPasswordRecipe, VaultError> {
        params.check_within(self.kdf_ceiling)?;
        self.session()?;
        Ok(NewPasswordRecipe {
            vault_id: self.present()?.file.header.vault_id,
            params,
            device: self.device.clone(),
        })
    }
}
