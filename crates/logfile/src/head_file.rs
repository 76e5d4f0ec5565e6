//! `log.head`: the latest acknowledged signed tree head, kept beside the log file so that a
//! log file that lost acknowledged batches (cut short, damaged in the middle, deleted) is caught
//! on open instead of being taken for an interrupted write.
//!
//! Layout: two slots of [`SLOT_BYTES`] bytes; the writer alternates between them, so a write torn
//! by a crash leaves the other slot whole. Each slot is
//!
//! ```text
//! 8 bytes  magic "DCLHEAD1"
//! u64 LE   sequence number (the slot written last has the highest)
//! u64 LE   log file length in bytes once the batch is durable
//! u32 LE   length of the signed tree head
//! [len]    the signed tree head's canonical bytes
//! u32 LE   CRC-32 (IEEE) of everything before it
//! ```
//!
//! The file never changes size after it is created, so `fdatasync` need not write metadata.
//! The writer updates it after the log file's batch is durable and before any append of the
//! batch is acknowledged: the log file always holds at least what the head file says.

use std::path::{Path, PathBuf};

use deconflict_log::SignedTreeHead;
use deconflict_log::sth::TREE_HEAD_BYTES_MAX;

use crate::storage::{OsStorage, Storage, StorageFile};
use crate::{LogFileError, io_err};

/// Name of the head file inside the data directory.
pub const HEAD_FILE: &str = "log.head";
/// Bytes of one slot.
pub const SLOT_BYTES: usize = 2048;
const MAGIC: &[u8; 8] = b"DCLHEAD1";
const FIXED_BYTES: usize = 8 + 8 + 8 + 4 + 4;
const _: () = assert!(FIXED_BYTES + TREE_HEAD_BYTES_MAX <= SLOT_BYTES);

/// What the head file says: the last acknowledged tree head and where the log file ended then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Sequence number of the slot.
    pub seq: u64,
    /// Log file length once that batch was durable.
    pub log_file_len: u64,
    /// The signed tree head.
    pub tree_head: SignedTreeHead,
}

fn encode_slot(head: &Head) -> Vec<u8> {
    let sth = head.tree_head.as_bytes();
    let mut buf = Vec::with_capacity(SLOT_BYTES);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&head.seq.to_le_bytes());
    buf.extend_from_slice(&head.log_file_len.to_le_bytes());
    buf.extend_from_slice(&(sth.len() as u32).to_le_bytes());
    buf.extend_from_slice(sth);
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.resize(SLOT_BYTES, 0);
    buf
}

fn decode_slot(slot: &[u8]) -> Option<Head> {
    if slot.len() != SLOT_BYTES || &slot[..8] != MAGIC {
        return None;
    }
    let u64_at = |i: usize| u64::from_le_bytes(slot[i..i + 8].try_into().unwrap_or([0; 8]));
    let seq = u64_at(8);
    let log_file_len = u64_at(16);
    let len = u32::from_le_bytes(slot[24..28].try_into().unwrap_or([0; 4])) as usize;
    if len > TREE_HEAD_BYTES_MAX {
        return None;
    }
    let end = 28 + len;
    let stored = u32::from_le_bytes(slot[end..end + 4].try_into().unwrap_or([0; 4]));
    if crc32fast::hash(&slot[..end]) != stored {
        return None;
    }
    let tree_head = SignedTreeHead::from_bytes(&slot[28..end]).ok()?;
    Some(Head {
        seq,
        log_file_len,
        tree_head,
    })
}

/// Reads the head file in `dir`: `None` when there is none; an error when it exists but
/// neither slot is whole.
pub fn read(dir: &Path) -> Result<Option<Head>, LogFileError> {
    read_with(&OsStorage, dir)
}

/// [`read`] from `storage`.
pub fn read_with(storage: &dyn Storage, dir: &Path) -> Result<Option<Head>, LogFileError> {
    let path = dir.join(HEAD_FILE);
    let Some(file) = storage.open(&path, false).map_err(io_err(&path))? else {
        return Ok(None);
    };
    let len = file
        .len()
        .map_err(io_err(&path))?
        .min(2 * SLOT_BYTES as u64);
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, 0).map_err(io_err(&path))?;
    Ok(Some(decode(&bytes).ok_or_else(|| {
        LogFileError::Damaged {
            path: path.clone(),
            offset: 0,
            why: format!(
                "{} bytes and neither slot is whole: what was acknowledged is unknown",
                bytes.len()
            ),
            entries: 0,
        }
    })?))
}

/// The newest whole slot of a head file's bytes.
pub fn decode(bytes: &[u8]) -> Option<Head> {
    bytes
        .chunks(SLOT_BYTES)
        .take(2)
        .filter_map(decode_slot)
        .max_by_key(|h| h.seq)
}

/// The head file, open for writing.
pub struct HeadFile {
    path: PathBuf,
    file: Box<dyn StorageFile>,
    next_seq: u64,
}

impl HeadFile {
    /// Opens the head file in `dir`, creating it (with `head` in both slots) when it is absent
    /// or when `rewrite` is set; the next write goes after `head`.
    pub fn open(
        storage: &dyn Storage,
        dir: &Path,
        head: &Head,
        rewrite: bool,
    ) -> Result<HeadFile, LogFileError> {
        let path = dir.join(HEAD_FILE);
        let exists = storage.open(&path, false).map_err(io_err(&path))?.is_some();
        let file = storage
            .open(&path, true)
            .map_err(io_err(&path))?
            .ok_or_else(|| io_err(&path)(std::io::ErrorKind::NotFound.into()))?;
        let mut hf = HeadFile {
            path,
            file,
            next_seq: head.seq + 1,
        };
        if !exists || rewrite {
            // Both slots, so that a later torn write of one leaves the other.
            let mut both = encode_slot(head);
            both.extend_from_slice(&encode_slot(&Head {
                seq: head.seq + 1,
                ..head.clone()
            }));
            hf.file
                .write_all_at(&both, 0)
                .and_then(|()| hf.file.set_len(both.len() as u64))
                .and_then(|()| hf.file.sync_data())
                .and_then(|()| storage.sync_dir(dir))
                .map_err(io_err(&hf.path))?;
            hf.next_seq = head.seq + 2;
        }
        Ok(hf)
    }

    /// Records `tree_head` as acknowledged, with the log file `log_file_len` bytes long, durably.
    pub fn record(
        &mut self,
        tree_head: &SignedTreeHead,
        log_file_len: u64,
    ) -> Result<(), LogFileError> {
        let head = Head {
            seq: self.next_seq,
            log_file_len,
            tree_head: tree_head.clone(),
        };
        let slot = (head.seq % 2) * SLOT_BYTES as u64;
        self.file
            .write_all_at(&encode_slot(&head), slot)
            .and_then(|()| self.file.sync_data())
            .map_err(io_err(&self.path))?;
        self.next_seq += 1;
        Ok(())
    }
}
