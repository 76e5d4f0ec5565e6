//! The file operations the log file makes, behind one interface, so that tests can put a disk
//! that fails under it ([`crate::sim`]) — the way a power loss, a torn write, a flipped bit or
//! a failed `fsync` would — instead of trusting that `kill -9` covers them (it does not: the
//! page cache survives a killed process).
//!
//! [`OsStorage`] is the real file system: positioned reads and writes, `fdatasync`, advisory
//! locks. `keys.json` is written directly on the file system (replaced atomically by rename),
//! not through this interface.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// A file system holding the log file's files.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Opens `path` for reading and writing; creates it (empty) when `create` is set, else
    /// answers `None` when it does not exist.
    fn open(&self, path: &Path, create: bool) -> std::io::Result<Option<Box<dyn StorageFile>>>;
    /// Makes the directory's entries (files created in it) durable.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()>;
}

/// One open file.
pub trait StorageFile: Send + Sync + std::fmt::Debug {
    /// Length in bytes.
    fn len(&self) -> std::io::Result<u64>;
    /// True when empty.
    fn is_empty(&self) -> std::io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
    /// Writes all of `buf` at `offset` (not durable until [`StorageFile::sync_data`]).
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()>;
    /// Cuts or extends the file (not durable until [`StorageFile::sync_data`]).
    fn set_len(&self, len: u64) -> std::io::Result<()>;
    /// Makes every write so far durable (`fdatasync`).
    fn sync_data(&self) -> std::io::Result<()>;
    /// Takes the exclusive lock without waiting; false when another holder has it.
    fn try_lock(&self) -> std::io::Result<bool>;
}

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsStorage;

impl OsStorage {
    /// As a shared handle.
    pub fn shared() -> Arc<dyn Storage> {
        Arc::new(OsStorage)
    }
}

#[derive(Debug)]
struct OsFile(File);

impl Storage for OsStorage {
    fn open(&self, path: &Path, create: bool) -> std::io::Result<Option<Box<dyn StorageFile>>> {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
        {
            Ok(f) => Ok(Some(Box::new(OsFile(f)))),
            Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        File::open(dir).and_then(|d| d.sync_all())
    }
}

impl StorageFile for OsFile {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        FileExt::read_exact_at(&self.0, buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        FileExt::write_all_at(&self.0, buf, offset)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.0.sync_data()
    }
    fn try_lock(&self) -> std::io::Result<bool> {
        match self.0.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Appends to a file at a position kept here (the writer's view of the log file's end).
#[derive(Debug)]
pub struct Appender {
    file: Box<dyn StorageFile>,
    position: u64,
}

impl Appender {
    /// Appends from `position` on.
    pub fn new(file: Box<dyn StorageFile>, position: u64) -> Appender {
        Appender { file, position }
    }

    /// Where the next write goes.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Writes `buf` at the end and moves the end past it.
    pub fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(buf, self.position)?;
        self.position += buf.len() as u64;
        Ok(())
    }

    /// Makes every write so far durable.
    pub fn sync_data(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// Reads a file from the start as a stream (for the recovery scan).
pub struct ReadFrom<'a> {
    file: &'a dyn StorageFile,
    position: u64,
    len: u64,
}

impl<'a> ReadFrom<'a> {
    /// Reads the first `len` bytes of `file`.
    pub fn new(file: &'a dyn StorageFile, len: u64) -> ReadFrom<'a> {
        ReadFrom {
            file,
            position: 0,
            len,
        }
    }
}

impl Read for ReadFrom<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.position);
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.file.read_exact_at(&mut buf[..n], self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}
