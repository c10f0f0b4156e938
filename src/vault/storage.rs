//! Where the vault file lives, and how it is replaced without ever leaving a
//! half-written vault behind.
//!
//! A [`Storage`] is one directory holding three files: the vault
//! ([`FileRole::Current`], e.g. `vault.bin`), the next generation while it is
//! written ([`FileRole::Temp`], `vault.bin.tmp`) and the previous generation
//! while the next is being verified ([`FileRole::Previous`], `vault.bin.prev`).
//!
//! A save:
//!
//! 1. reads the current file and refuses to go on unless it is this vault,
//!    intact (a damaged or foreign file is never replaced);
//! 2. writes the temporary file and flushes it (fsync);
//! 3. reads it back: the bytes must be those written, and they must parse and
//!    decrypt (when the key is at hand) to the contents being saved;
//! 4. renames the current file to the previous generation, then the
//!    temporary file to the current one, and flushes the directory;
//! 5. reads the current file back once more, and only then removes the
//!    previous generation. A failure after the renames puts the old file back,
//!    so that what is stored matches the vault in memory.
//!
//! A crash anywhere leaves either the old vault or the new one: before step 4
//! the current file is untouched; between its two renames the current file is
//! missing and opening the vault restores the previous generation; after them the new
//! file, already verified, is in place.

use core::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
#[cfg(any(test, feature = "test-util"))]
use std::sync::{Mutex, PoisonError};

use super::VaultError;
use super::error::StorageOp;
use super::format::{self, Checks, MAX_FILE_LEN, VAULT_ID_LEN};

/// How long [`FileStorage`] waits for another instance's lock before
/// reporting `TimedOut`.
pub const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How often it looks again meanwhile.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// The default name of the vault file.
pub const DEFAULT_FILE_NAME: &str = "vault.bin";

/// Which of a vault's three files an operation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileRole {
    /// The vault (`vault.bin`).
    Current,
    /// The next generation while it is written and verified (`vault.bin.tmp`).
    Temp,
    /// The previous generation while the next one is verified (`vault.bin.prev`).
    Previous,
}

impl FileRole {
    /// All three roles.
    pub const ALL: [FileRole; 3] = [FileRole::Current, FileRole::Temp, FileRole::Previous];

    /// The suffix added to the vault file's name: none, `.tmp`, `.prev`.
    pub fn suffix(self) -> &'static str {
        match self {
            FileRole::Current => "",
            FileRole::Temp => ".tmp",
            FileRole::Previous => ".prev",
        }
    }
}

/// A held [`Storage::lock`]; dropping it releases the lock.
pub struct StorageLock<'a> {
    _held: Box<dyn Held + 'a>,
}

/// Anything that releases a lock when dropped.
trait Held {}
impl<T> Held for T {}

impl<'a> StorageLock<'a> {
    /// Wraps whatever keeps the lock held until it is dropped (an open file
    /// with `flock(2)` on it, a mutex guard).
    pub fn new<T: 'a>(held: T) -> Self {
        Self {
            _held: Box::new(held),
        }
    }
}

impl fmt::Debug for StorageLock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageLock")
    }
}

/// The file operations a vault needs, in one directory. Implement it to keep
/// the vault somewhere else, or to inject faults in tests.
///
/// Every method is one step of the save protocol; none of them needs to be
/// atomic except [`Storage::rename`], which must replace `to` atomically
/// (POSIX `rename(2)`), and [`Storage::lock`], which must exclude every other
/// holder of the same vault's lock, in this process and in others.
pub trait Storage: Send + Sync {
    /// Takes the vault's exclusive lock, waiting until it is free. A vault
    /// holds it for one operation — reload what another instance saved,
    /// change, save — so that two instances on one directory (the app, its
    /// widget, a share extension) never overwrite each other's changes.
    ///
    /// # Errors
    /// Any I/O error; the operation is then not made.
    fn lock(&self) -> io::Result<StorageLock<'_>>;
    /// The whole file, or `None` if it does not exist.
    ///
    /// # Errors
    /// Any I/O error other than "not found".
    fn read(&self, file: FileRole) -> io::Result<Option<Vec<u8>>>;
    /// Creates or truncates the file and writes all of `bytes` (no flush).
    ///
    /// # Errors
    /// Any I/O error (for example `StorageFull`).
    fn write(&self, file: FileRole, bytes: &[u8]) -> io::Result<()>;
    /// Flushes the file's data to stable storage (fsync).
    ///
    /// # Errors
    /// Any I/O error.
    fn sync(&self, file: FileRole) -> io::Result<()>;
    /// Renames `from` over `to`, atomically replacing `to` if it exists.
    ///
    /// # Errors
    /// Any I/O error.
    fn rename(&self, from: FileRole, to: FileRole) -> io::Result<()>;
    /// Removes the file; a missing file is not an error.
    ///
    /// # Errors
    /// Any other I/O error.
    fn remove(&self, file: FileRole) -> io::Result<()>;
    /// Flushes the directory, making renames and removals durable.
    ///
    /// # Errors
    /// Any I/O error.
    fn sync_dir(&self) -> io::Result<()>;
}

impl<S: Storage + ?Sized> Storage for Arc<S> {
    fn lock(&self) -> io::Result<StorageLock<'_>> {
        (**self).lock()
    }
    fn read(&self, file: FileRole) -> io::Result<Option<Vec<u8>>> {
        (**self).read(file)
    }
    fn write(&self, file: FileRole, bytes: &[u8]) -> io::Result<()> {
        (**self).write(file, bytes)
    }
    fn sync(&self, file: FileRole) -> io::Result<()> {
        (**self).sync(file)
    }
    fn rename(&self, from: FileRole, to: FileRole) -> io::Result<()> {
        (**self).rename(from, to)
    }
    fn remove(&self, file: FileRole) -> io::Result<()> {
        (**self).remove(file)
    }
    fn sync_dir(&self) -> io::Result<()> {
        (**self).sync_dir()
    }
}

/// The vault in a directory of the file system: `<dir>/<name>`,
/// `<dir>/<name>.tmp` and `<dir>/<name>.prev`, created with mode 0600 on Unix,
/// and the empty `<dir>/<name>.lock` that [`Storage::lock`] locks with
/// `flock(2)` (it stays: removing a lock file others may hold breaks the lock).
/// Locking needs Unix (Android, iOS, Linux, macOS); elsewhere `lock` is an
/// `Unsupported` error, never a lock that does not lock.
///
/// On Android pass `Context.getNoBackupFilesDir()` (not backed up to the cloud);
/// on iOS the Application Support directory, excluded from backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStorage {
    dir: PathBuf,
    name: String,
}

impl FileStorage {
    /// The vault `name` (e.g. [`DEFAULT_FILE_NAME`]) in `dir`, which must exist.
    pub fn new(dir: impl Into<PathBuf>, name: &str) -> Self {
        Self {
            dir: dir.into(),
            name: name.to_owned(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of one of the three files.
    pub fn path(&self, file: FileRole) -> PathBuf {
        self.dir.join(format!("{}{}", self.name, file.suffix()))
    }

    /// The path of the lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.name))
    }
}

impl Storage for FileStorage {
    #[cfg(unix)]
    fn lock(&self) -> io::Result<StorageLock<'_>> {
        use rustix::fs::{FlockOperation, flock};
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.lock_path())?;
        // Polled, not blocking: a holder frozen by the OS (a suspended app
        // or extension) must give the waiter an error it can show, not a
        // hang on the UI thread. Holders keep it for one save's I/O only.
        let started = std::time::Instant::now();
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(StorageLock::new(file)),
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            if started.elapsed() >= LOCK_TIMEOUT {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            std::thread::sleep(LOCK_POLL);
        }
    }

    #[cfg(not(unix))]
    fn lock(&self) -> io::Result<StorageLock<'_>> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    fn read(&self, file: FileRole) -> io::Result<Option<Vec<u8>>> {
        let handle = match File::open(self.path(file)) {
            Ok(handle) => handle,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        // One byte past the limit tells a too-large file from a full one.
        let limit = u64::try_from(MAX_FILE_LEN)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        handle.take(limit).read_to_end(&mut bytes)?;
        if bytes.len() > MAX_FILE_LEN {
            return Err(io::Error::from(io::ErrorKind::FileTooLarge));
        }
        Ok(Some(bytes))
    }

    fn write(&self, file: FileRole, bytes: &[u8]) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut handle = options.open(self.path(file))?;
        handle.write_all(bytes)?;
        handle.flush()
    }

    fn sync(&self, file: FileRole) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .open(self.path(file))?
            .sync_all()
    }

    fn rename(&self, from: FileRole, to: FileRole) -> io::Result<()> {
        fs::rename(self.path(from), self.path(to))
    }

    fn remove(&self, file: FileRole) -> io::Result<()> {
        match fs::remove_file(self.path(file)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn sync_dir(&self) -> io::Result<()> {
        #[cfg(unix)]
        {
            File::open(&self.dir)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            Ok(())
        }
    }
}

/// A vault kept in memory: for tests, benchmarks and previews. Nothing is
/// durable; `sync` and `sync_dir` do nothing.
#[derive(Default)]
#[cfg(any(test, feature = "test-util"))]
pub struct MemoryStorage {
    files: Mutex<[Option<Vec<u8>>; 3]>,
    lock: Mutex<()>,
}

#[cfg(any(test, feature = "test-util"))]
impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn index(file: FileRole) -> usize {
        match file {
            FileRole::Current => 0,
            FileRole::Temp => 1,
            FileRole::Previous => 2,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut [Option<Vec<u8>>; 3]) -> T) -> T {
        f(&mut self.files.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A copy of one file's bytes.
    pub fn get(&self, file: FileRole) -> Option<Vec<u8>> {
        self.with(|files| files.get(Self::index(file)).cloned().flatten())
    }

    /// Replaces (or with `None` removes) one file.
    pub fn set(&self, file: FileRole, bytes: Option<Vec<u8>>) {
        self.with(|files| {
            if let Some(slot) = files.get_mut(Self::index(file)) {
                *slot = bytes;
            }
        });
    }
}

#[cfg(any(test, feature = "test-util"))]
impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes = self.with(|files| files.clone().map(|file| file.map(|b| b.len())));
        f.debug_struct("MemoryStorage")
            .field("bytes", &sizes)
            .finish()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Storage for MemoryStorage {
    fn lock(&self) -> io::Result<StorageLock<'_>> {
        Ok(StorageLock::new(
            self.lock.lock().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    fn read(&self, file: FileRole) -> io::Result<Option<Vec<u8>>> {
        Ok(self.get(file))
    }

    fn write(&self, file: FileRole, bytes: &[u8]) -> io::Result<()> {
        self.set(file, Some(bytes.to_vec()));
        Ok(())
    }

    fn sync(&self, file: FileRole) -> io::Result<()> {
        match self.get(file) {
            Some(_) => Ok(()),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn rename(&self, from: FileRole, to: FileRole) -> io::Result<()> {
        self.with(|files| {
            let bytes = files
                .get_mut(Self::index(from))
                .and_then(Option::take)
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            if let Some(slot) = files.get_mut(Self::index(to)) {
                *slot = Some(bytes);
            }
            Ok(())
        })
    }

    fn remove(&self, file: FileRole) -> io::Result<()> {
        self.set(file, None);
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
}

fn io<T>(op: StorageOp, result: io::Result<T>) -> Result<T, VaultError> {
    result.map_err(|e| VaultError::storage(op, &e))
}

/// Reads the vault's bytes, restoring the previous generation if a crash
/// left the current file missing between a save's two renames.
pub(crate) fn load(storage: &dyn Storage) -> Result<Option<Vec<u8>>, VaultError> {
    if let Some(bytes) = io(StorageOp::Read, storage.read(FileRole::Current))? {
        return Ok(Some(bytes));
    }
    let Some(previous) = io(StorageOp::Read, storage.read(FileRole::Previous))? else {
        return Ok(None);
    };
    io(
        StorageOp::Rename,
        storage.rename(FileRole::Previous, FileRole::Current),
    )?;
    io(StorageOp::SyncDir, storage.sync_dir())?;
    Ok(Some(previous))
}

/// Whether a vault (current or previous generation) exists.
pub(crate) fn exists(storage: &dyn Storage) -> Result<bool, VaultError> {
    Ok(
        io(StorageOp::Read, storage.read(FileRole::Current))?.is_some()
            || io(StorageOp::Read, storage.read(FileRole::Previous))?.is_some(),
    )
}

/// Takes the storage's lock (see [`Storage::lock`]).
pub(crate) fn lock(storage: &dyn Storage) -> Result<StorageLock<'_>, VaultError> {
    io(StorageOp::Lock, storage.lock())
}

/// Replaces the vault with `bytes` by the protocol in the module docs; the
/// caller holds the storage's lock. `vault_id` is the vault being saved and
/// `base` the generation it was made from: the current file must be exactly
/// that (or be absent), or nothing is written. `verify` checks the bytes read
/// back (parse, decrypt, compare).
pub(crate) fn save(
    storage: &dyn Storage,
    bytes: &[u8],
    vault_id: &[u8; VAULT_ID_LEN],
    base: u64,
    verify: &dyn Fn(&[u8]) -> Result<(), VaultError>,
) -> Result<(), VaultError> {
    // 1. Never replace a file that is not this vault, intact, at the
    //    generation this save was made from.
    let current = io(StorageOp::Read, storage.read(FileRole::Current))?;
    let had_current = match current {
        None => false,
        Some(existing) => match format::parse(&existing, Checks::Verify) {
            Ok(file) if file.header.vault_id == *vault_id && file.header.generation == base => true,
            _ => return Err(VaultError::Conflict),
        },
    };
    // 2. The next generation, durable.
    io(StorageOp::Write, storage.write(FileRole::Temp, bytes))?;
    io(StorageOp::Sync, storage.sync(FileRole::Temp))?;
    // 3. Read back: exactly what was written, and it opens.
    let back = io(StorageOp::Read, storage.read(FileRole::Temp))?;
    if back.as_deref() != Some(bytes) {
        // Best effort: a stale temporary file is ignored and overwritten anyway.
        let _ = storage.remove(FileRole::Temp);
        return Err(VaultError::VerifyFailed);
    }
    verify(bytes)?;
    // 4. Keep the previous generation, put the new one in place.
    if had_current {
        io(
            StorageOp::Rename,
            storage.rename(FileRole::Current, FileRole::Previous),
        )?;
    }
    if let Err(e) = storage.rename(FileRole::Temp, FileRole::Current) {
        if had_current {
            // Put the old vault back; if even that fails, `load` will.
            let _ = storage.rename(FileRole::Previous, FileRole::Current);
        }
        return Err(VaultError::storage(StorageOp::Rename, &e));
    }
    // 5. Durable and readable as written; only then is the previous one dropped.
    let placed = storage
        .sync_dir()
        .map_err(|e| VaultError::storage(StorageOp::SyncDir, &e))
        .and_then(|()| match storage.read(FileRole::Current) {
            Ok(Some(placed)) if placed == bytes => Ok(()),
            Ok(_) => Err(VaultError::VerifyFailed),
            Err(e) => Err(VaultError::storage(StorageOp::Read, &e)),
        });
    if let Err(e) = placed {
        // Back to the old vault, so that storage and memory agree (best effort;
        // after a crash either generation is a consistent vault).
        let _ = if had_current {
            storage.rename(FileRole::Previous, FileRole::Current)
        } else {
            storage.remove(FileRole::Current)
        };
        let _ = storage.sync_dir();
        return Err(e);
    }
    // The new vault is committed; a previous generation that cannot be removed
    // now is harmless (the next save renames over it).
    if had_current && storage.remove(FileRole::Previous).is_ok() {
        let _ = storage.sync_dir();
    }
    Ok(())
}

/// Removes every generation of the vault: the previous one first, so that a
/// crash half-way never brings an erased vault back.
pub(crate) fn destroy(storage: &dyn Storage) -> Result<(), VaultError> {
    io(StorageOp::Remove, storage.remove(FileRole::Previous))?;
    io(StorageOp::Remove, storage.remove(FileRole::Temp))?;
    io(StorageOp::SyncDir, storage.sync_dir())?;
    io(StorageOp::Remove, storage.remove(FileRole::Current))?;
    io(StorageOp::SyncDir, storage.sync_dir())
}
