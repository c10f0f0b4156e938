//! Shared helpers of the vault tests: fast options, sample cards, and
//! `SimDisk`, a storage that models what survives a crash and injects faults.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use dynpin::activation::ActivationCode;
use dynpin::activation::payload::{self, Header, PAYLOAD_VERSION_1, Secrets};
use dynpin::card::{Card, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use dynpin::clock::ManualClock;
use dynpin::kdf::KdfParams;
use dynpin::otp::Algorithm;
use dynpin::secret::SecretBytes;
use dynpin::vault::{
    FileRole, LockoutPolicy, PlatformKey, Storage, StorageLock, Vault, VaultOptions,
};

pub(crate) const PASSWORD: &str = "correct horse 1403";
pub(crate) const T0: i64 = 1_800_000_000;

/// Options that keep tests fast: the KDF at its accepted minimum.
pub(crate) fn fast_options() -> VaultOptions {
    VaultOptions {
        kdf: KdfParams::MINIMUM,
        lockout: LockoutPolicy::default(),
        auto_lock_seconds: 120,
    }
}

pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::from_unix_seconds(T0))
}

pub(crate) fn platform_key() -> PlatformKey {
    PlatformKey::from_bytes(&[0x42; 32]).unwrap()
}

/// A bank card with BIN 610433 (Mellat) and last four `n`.
pub(crate) fn bank_card(n: u16, seed_byte: u8) -> Card {
    Card::bank_card(
        CardId::random().unwrap(),
        &format!("Card {n}"),
        CardRef::new(610_433, LastFour::from_value(n).unwrap()).unwrap(),
        SecretBytes::from(vec![seed_byte; 32]),
        Some(PinPolicy::first_pin()),
        Some(PinPolicy::second_pin()),
    )
    .unwrap()
}

pub(crate) fn totp_card(label: &str, secret: &[u8]) -> Card {
    Card::token(
        CardId::random().unwrap(),
        label,
        OtpToken {
            secret: SecretBytes::from_slice(secret),
            algorithm: Algorithm::Sha1,
            digits: 6,
            mode: TokenMode::Totp { period: 30 },
            issuer: Some("Example".into()),
            account: "alice@example.com".into(),
        },
    )
    .unwrap()
}

pub(crate) fn hotp_card(label: &str, counter: u64) -> Card {
    Card::token(
        CardId::random().unwrap(),
        label,
        OtpToken {
            secret: SecretBytes::from_slice(b"12345678901234567890"),
            algorithm: Algorithm::Sha1,
            digits: 6,
            mode: TokenMode::Hotp { counter },
            issuer: None,
            account: "bob".into(),
        },
    )
    .unwrap()
}

/// One card as stored: id, label, secret, time offset, ceiling, exportable, token.
pub(crate) type CardState = (
    CardId,
    String,
    Vec<u8>,
    i64,
    Option<u64>,
    bool,
    Option<OtpToken>,
);

/// Everything observable about a vault's contents, to compare states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) auto_lock: u32,
    pub(crate) cards: Vec<CardState>,
}

pub(crate) fn snapshot(vault: &mut Vault) -> Snapshot {
    let auto_lock = vault.auto_lock_seconds().unwrap();
    let cards = vault
        .cards()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c.id(),
                c.label().to_owned(),
                c.secret().expose().to_vec(),
                c.time_offset(),
                c.amount_ceiling(),
                c.exportable(),
                c.as_token().cloned(),
            )
        })
        .collect();
    Snapshot { auto_lock, cards }
}

// ---- a storage that models crashes ---------------------------------------------

/// What goes wrong, and at which storage call (counting every call from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The process dies before this call takes effect (a write leaves half
    /// its bytes); every later call fails.
    Crash,
    /// This call fails with this error kind and does nothing, except a
    /// write, which leaves half its bytes (as ENOSPC does).
    Error(io::ErrorKind),
    /// A write that reports success but stores only half the bytes.
    ShortWrite,
}

#[derive(Debug, Clone)]
struct Inode {
    data: Vec<u8>,
    /// The data as of the last fsync; `None` if never synced.
    durable: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum DirOp {
    Link(FileRole, usize),
    Unlink(FileRole),
    /// rename(2): one atomic change.
    Rename(FileRole, FileRole, usize),
}

#[derive(Debug, Clone, Default)]
struct Disk {
    inodes: Vec<Inode>,
    /// The directory as the running process sees it.
    dir: BTreeMap<u8, usize>,
    /// The directory as of the last directory fsync.
    durable_dir: BTreeMap<u8, usize>,
    /// Directory changes since then, in order: a crash keeps any prefix.
    pending: Vec<DirOp>,
    calls: usize,
    fault: Option<(usize, Fault)>,
    crashed: bool,
    log: Vec<String>,
}

fn key(role: FileRole) -> u8 {
    match role {
        FileRole::Current => 0,
        FileRole::Temp => 1,
        FileRole::Previous => 2,
    }
}

fn role(key: u8) -> FileRole {
    match key {
        0 => FileRole::Current,
        1 => FileRole::Temp,
        _ => FileRole::Previous,
    }
}

/// A simulated directory on a disk with a page cache: unsynced data and
/// unsynced directory changes may be lost in a crash.
#[derive(Debug, Default)]
pub(crate) struct SimDisk {
    disk: Mutex<Disk>,
    /// The vault's lock: not a disk operation, so not a crash point.
    held: Mutex<()>,
}

/// The files left after a crash: role → bytes.
pub(crate) type Image = BTreeMap<u8, Vec<u8>>;

impl SimDisk {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A disk holding `image`, all durable.
    pub(crate) fn from_image(image: &Image) -> Self {
        let disk = SimDisk::new();
        {
            let mut d = disk.disk.lock().unwrap();
            for (&k, bytes) in image {
                let inode = d.inodes.len();
                d.inodes.push(Inode {
                    data: bytes.clone(),
                    durable: Some(bytes.clone()),
                });
                d.dir.insert(k, inode);
            }
            d.durable_dir = d.dir.clone();
        }
        disk
    }

    /// Storage calls made so far.
    pub(crate) fn calls(&self) -> usize {
        self.disk.lock().unwrap().calls
    }

    /// Injects `fault` at call number `at` (as counted by [`SimDisk::calls`]).
    pub(crate) fn inject(&self, at: usize, fault: Fault) {
        self.disk.lock().unwrap().fault = Some((at, fault));
    }

    pub(crate) fn clear_fault(&self) {
        let mut d = self.disk.lock().unwrap();
        d.fault = None;
        d.crashed = false;
    }

    pub(crate) fn crashed(&self) -> bool {
        self.disk.lock().unwrap().crashed
    }

    pub(crate) fn log(&self) -> Vec<String> {
        self.disk.lock().unwrap().log.clone()
    }

    /// The files as the process sees them now (no crash).
    pub(crate) fn live_image(&self) -> Image {
        let d = self.disk.lock().unwrap();
        d.dir
            .iter()
            .map(|(&k, &i)| (k, d.inodes[i].data.clone()))
            .collect()
    }

    /// Every state the disk may be in after a power loss now: each prefix of
    /// the unsynced directory changes, and for files written since their last
    /// fsync, their old (or no) data, half the new data, or all of it.
    pub(crate) fn crash_images(&self) -> Vec<Image> {
        let d = self.disk.lock().unwrap();
        let mut images = Vec::new();
        for keep in 0..=d.pending.len() {
            let mut dir = d.durable_dir.clone();
            for op in &d.pending[..keep] {
                match *op {
                    DirOp::Link(r, inode) => {
                        dir.insert(key(r), inode);
                    }
                    DirOp::Unlink(r) => {
                        dir.remove(&key(r));
                    }
                    DirOp::Rename(from, to, inode) => {
                        dir.remove(&key(from));
                        dir.insert(key(to), inode);
                    }
                }
            }
            for variant in 0..3 {
                let image: Image = dir
                    .iter()
                    .map(|(&k, &i)| {
                        let inode = &d.inodes[i];
                        let synced = inode.durable.as_ref() == Some(&inode.data);
                        let bytes = if synced {
                            inode.data.clone()
                        } else {
                            match variant {
                                0 => inode.durable.clone().unwrap_or_default(),
                                1 => inode.data[..inode.data.len() / 2].to_vec(),
                                _ => inode.data.clone(),
                            }
                        };
                        (k, bytes)
                    })
                    .collect();
                if !images.contains(&image) {
                    images.push(image);
                }
            }
        }
        images
    }

    /// Counts a call; returns the fault to apply to it, if any.
    fn call(&self, d: &mut Disk, what: String) -> io::Result<Option<Fault>> {
        let n = d.calls;
        d.calls += 1;
        d.log.push(format!("{n}: {what}"));
        if d.crashed {
            return Err(io::Error::other("crashed"));
        }
        match d.fault {
            Some((at, fault)) if at == n => {
                if fault == Fault::Crash {
                    d.crashed = true;
                }
                Ok(Some(fault))
            }
            _ => Ok(None),
        }
    }
}

fn half(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() / 2].to_vec()
}

impl Storage for SimDisk {
    fn lock(&self) -> io::Result<StorageLock<'_>> {
        Ok(StorageLock::new(self.held.lock().unwrap()))
    }

    fn read(&self, file: FileRole) -> io::Result<Option<Vec<u8>>> {
        let mut d = self.disk.lock().unwrap();
        match self.call(&mut d, format!("read {file:?}"))? {
            Some(Fault::Crash) => return Err(io::Error::other("crashed")),
            Some(Fault::Error(kind)) => return Err(io::Error::from(kind)),
            _ => {}
        }
        Ok(d.dir.get(&key(file)).map(|&i| d.inodes[i].data.clone()))
    }

    fn write(&self, file: FileRole, bytes: &[u8]) -> io::Result<()> {
        let mut d = self.disk.lock().unwrap();
        let fault = self.call(&mut d, format!("write {file:?} ({} bytes)", bytes.len()))?;
        let stored = match fault {
            None => bytes.to_vec(),
            Some(_) => half(bytes),
        };
        match d.dir.get(&key(file)).copied() {
            Some(i) => d.inodes[i].data = stored,
            None => {
                let i = d.inodes.len();
                d.inodes.push(Inode {
                    data: stored,
                    durable: None,
                });
                d.dir.insert(key(file), i);
                d.pending.push(DirOp::Link(file, i));
            }
        }
        match fault {
            None | Some(Fault::ShortWrite) => Ok(()),
            Some(Fault::Crash) => Err(io::Error::other("crashed")),
            Some(Fault::Error(kind)) => Err(io::Error::from(kind)),
        }
    }

    fn sync(&self, file: FileRole) -> io::Result<()> {
        let mut d = self.disk.lock().unwrap();
        match self.call(&mut d, format!("sync {file:?}"))? {
            Some(Fault::Crash) => return Err(io::Error::other("crashed")),
            Some(Fault::Error(kind)) => return Err(io::Error::from(kind)),
            _ => {}
        }
        let i = *d
            .dir
            .get(&key(file))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let data = d.inodes[i].data.clone();
        d.inodes[i].durable = Some(data);
        Ok(())
    }

    fn rename(&self, from: FileRole, to: FileRole) -> io::Result<()> {
        let mut d = self.disk.lock().unwrap();
        match self.call(&mut d, format!("rename {from:?} -> {to:?}"))? {
            Some(Fault::Crash) => return Err(io::Error::other("crashed")),
            Some(Fault::Error(kind)) => return Err(io::Error::from(kind)),
            _ => {}
        }
        let i = d
            .dir
            .remove(&key(from))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        d.dir.insert(key(to), i);
        d.pending.push(DirOp::Rename(from, to, i));
        Ok(())
    }

    fn remove(&self, file: FileRole) -> io::Result<()> {
        let mut d = self.disk.lock().unwrap();
        match self.call(&mut d, format!("remove {file:?}"))? {
            Some(Fault::Crash) => return Err(io::Error::other("crashed")),
            Some(Fault::Error(kind)) => return Err(io::Error::from(kind)),
            _ => {}
        }
        if d.dir.remove(&key(file)).is_some() {
            d.pending.push(DirOp::Unlink(file));
        }
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut d = self.disk.lock().unwrap();
        match self.call(&mut d, "sync dir".into())? {
            Some(Fault::Crash) => return Err(io::Error::other("crashed")),
            Some(Fault::Error(kind)) => return Err(io::Error::from(kind)),
            _ => {}
        }
        d.durable_dir = d.dir.clone();
        d.pending.clear();
        Ok(())
    }
}

/// Roles present in an image, for messages.
pub(crate) fn describe(image: &Image) -> String {
    image
        .iter()
        .map(|(&k, b)| format!("{:?}={}B", role(k), b.len()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An activation payload sealed the way an issuer seals one (through the
/// core's public `payload::seal`), with what the bank keeps of it.
pub(crate) struct Sealed {
    pub(crate) payload: String,
    pub(crate) code: ActivationCode,
    pub(crate) seed: SecretBytes,
    pub(crate) card_ref: CardRef,
}

impl Sealed {
    /// A payload for `card_ref`, issued at `now` (Unix seconds), valid an
    /// hour, both PINs, Argon2id at its minimum.
    pub(crate) fn new(card_ref: CardRef, now: u64) -> Self {
        let header = Header {
            version: PAYLOAD_VERSION_1,
            exportable: false,
            card_ref,
            issued_at: now,
            valid_for: 3600,
            activation_id: *SecretBytes::random(8)
                .unwrap()
                .expose()
                .first_chunk()
                .unwrap(),
            kdf: KdfParams::MINIMUM,
            salt: *SecretBytes::random(16)
                .unwrap()
                .expose()
                .first_chunk()
                .unwrap(),
            label: None,
        };
        let seed = SecretBytes::random(20).unwrap();
        let secrets = Secrets {
            first: Some(PinPolicy::first_pin()),
            second: Some(PinPolicy::second_pin()),
            seed: seed.clone(),
        };
        let code = ActivationCode::generate(16).unwrap();
        let payload = payload::seal(&header, &secrets, code.digits()).unwrap();
        Self {
            payload,
            code,
            seed,
            card_ref,
        }
    }

    /// The bank's copy of the card: the same PINs as the phone's.
    pub(crate) fn bank_copy(&self) -> Card {
        Card::bank_card(
            CardId::random().unwrap(),
            "bank copy",
            self.card_ref,
            self.seed.clone(),
            Some(PinPolicy::first_pin()),
            Some(PinPolicy::second_pin()),
        )
        .unwrap()
    }
}
