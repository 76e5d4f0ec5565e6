//! Opening a log file: the lock, the keys, the scan that recovers from an interrupted batch, the
//! check against what the head file says was acknowledged, and the writer's start.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, RwLock};

use deconflict_log::{KeyRing, SignedEntry, SignedTreeHead, TreeHead};

use crate::cosign::{Cosignature, Cosignatures, looks_like_cosignature};
use crate::frame::{self, KIND_ENTRY, KIND_TREE_HEAD, encode, scan};
use crate::storage::{Appender, ReadFrom, Storage, StorageFile};
use crate::writer::writer_loop;
use crate::{
    KEYS_FILE, LOG_FILE, LogFile, LogFileConfig, LogFileError, Shared, State, TORN_BYTES_MAX,
    head_file, io_err, keys_file,
};

impl LogFile {
    /// Opens (or creates) the log file in `dir`, recovering from an interrupted write, and starts
    /// the writer thread.
    pub fn open(dir: &Path, config: LogFileConfig) -> Result<LogFile, LogFileError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(LOG_FILE);
        // What was acknowledged, as the head file remembers it: read before the log file is
        // created, so that a deleted log file is not taken for a new one.
        let storage = config.storage.clone();
        let acknowledged = head_file::read_with(&*storage, dir)?;
        let file = open_locked(&*storage, &path, acknowledged.as_ref())?;
        let keys = merge_keys(dir, &config)?;
        let file_len = start_file(&*storage, dir, &path, &*file)?;
        let read_handle = storage
            .open(&path, false)
            .map_err(io_err(&path))?
            .ok_or_else(|| io_err(&path)(std::io::ErrorKind::NotFound.into()))?;
        let (scanned, cosignatures) = scan_log_file(&path, &*read_handle, file_len)?;
        let mut issued: HashMap<u64, TreeHead> = scanned
            .heads
            .iter()
            .map(|h| (h.tree_head().size(), h.tree_head().clone()))
            .collect();
        check_acknowledged(&path, &scanned, &issued, acknowledged.as_ref())?;
        if scanned.torn_bytes > 0 {
            // The interrupted batch was never acknowledged (the head file does not cover it):
            // cut it off, durably.
            file.set_len(scanned.valid_len)
                .and_then(|()| file.sync_data())
                .map_err(io_err(&path))?;
        }
        check_log_id(dir, &scanned, &config)?;
        let mut file = Appender::new(file, scanned.valid_len);
        let mut log_file_len = scanned.valid_len;
        let latest = match scanned.heads.last() {
            Some(h) => h.clone(),
            None => {
                let sth = first_tree_head(&path, &mut file, &scanned.tree, &config)?;
                log_file_len = file.position();
                issued.insert(0, sth.tree_head().clone());
                sth
            }
        };
        // The head file now names the log file's last batch (one written but not yet recorded
        // there before a crash is whole, so it is kept).
        let head = head_file::Head {
            seq: acknowledged.as_ref().map_or(0, |h| h.seq),
            log_file_len,
            tree_head: latest.clone(),
        };
        let stale = acknowledged
            .as_ref()
            .is_none_or(|h| h.tree_head != latest || h.log_file_len != log_file_len);
        let head_file = head_file::HeadFile::open(&*storage, dir, &head, stale)?;
        let entries = scanned.tree.len();
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                next_index: entries,
                durable: entries,
                latest,
                failed: None,
                closing: false,
            }),
            work: Condvar::new(),
            durable: Condvar::new(),
            tree: RwLock::new(scanned.tree),
            offsets: RwLock::new(scanned.entry_offsets),
            issued: RwLock::new(issued),
            cosignatures: Mutex::new(cosignatures),
            keys: RwLock::new(keys),
            reader: read_handle,
            log_id: config.log_id.clone(),
            queue_entries_max: config.queue_entries_max,
            entry_bytes_max: config
                .entry_bytes_max
                .min(deconflict_log::entry::ENTRY_BYTES_MAX),
            verify_signatures: config.verify_signatures,
            appended: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            rejected_queue_full: AtomicU64::new(0),
            rejected_too_large: AtomicU64::new(0),
            rejected_invalid: AtomicU64::new(0),
            duplicate_cosignatures: AtomicU64::new(0),
            recovered_torn_bytes: scanned.torn_bytes,
        });
        let writer = {
            let shared = shared.clone();
            let log_key = config.log_key;
            let now_ms = config.now_ms;
            std::thread::Builder::new()
                .name("log-writer".into())
                .spawn(move || writer_loop(&shared, file, head_file, path, &log_key, &*now_ms))
                .map_err(io_err(dir))?
        };
        Ok(LogFile {
            shared,
            writer: Some(writer),
        })
    }
}

/// Opens (creating it if need be) the log file and takes its lock; refuses a missing file
/// when the head file records acknowledged entries.
fn open_locked(
    storage: &dyn Storage,
    path: &Path,
    acknowledged: Option<&head_file::Head>,
) -> Result<Box<dyn StorageFile>, LogFileError> {
    let acknowledged_entries = acknowledged.map_or(0, |h| h.tree_head.tree_head().size());
    let exists = storage.open(path, false).map_err(io_err(path))?.is_some();
    if acknowledged_entries > 0 && !exists {
        return Err(LogFileError::Damaged {
            path: path.to_path_buf(),
            offset: 0,
            why: format!(
                "the file is missing, but {} records {acknowledged_entries} acknowledged entries",
                head_file::HEAD_FILE
            ),
            entries: 0,
        });
    }
    let file = storage
        .open(path, true)
        .map_err(io_err(path))?
        .ok_or_else(|| io_err(path)(std::io::ErrorKind::NotFound.into()))?;
    if !file.try_lock().map_err(io_err(path))? {
        return Err(LogFileError::Locked(path.to_path_buf()));
    }
    Ok(file)
}

/// The key ring: the stored ring, the configured keys and the log's own key must agree; the
/// keys file is rewritten when it gained any.
fn merge_keys(dir: &Path, config: &LogFileConfig) -> Result<KeyRing, LogFileError> {
    let stored = keys_file::read(dir)?;
    let mut keys = stored.clone().unwrap_or_default();
    let keys_path = dir.join(KEYS_FILE);
    let conflict = |e: deconflict_log::KeyError| LogFileError::Keys {
        path: keys_path.clone(),
        why: e.to_string(),
    };
    for (id, key) in config.keys.iter() {
        keys.insert(id.clone(), *key).map_err(conflict)?;
    }
    keys.insert(config.log_id.clone(), config.log_key.verifying_key())
        .map_err(conflict)?;
    if stored.as_ref() != Some(&keys) {
        keys_file::write(dir, &config.log_id, &keys)?;
    }
    Ok(keys)
}

/// Writes the magic bytes into a new (empty) log file, durably; returns the file's length.
fn start_file(
    storage: &dyn Storage,
    dir: &Path,
    path: &Path,
    file: &dyn StorageFile,
) -> Result<u64, LogFileError> {
    if file.len().map_err(io_err(path))? == 0 {
        file.write_all_at(frame::MAGIC, 0)
            .and_then(|()| file.sync_data())
            .and_then(|()| storage.sync_dir(dir))
            .map_err(io_err(path))?;
    }
    file.len().map_err(io_err(path))
}

/// Reads the whole log file: the tree, the heads, where each entry lies, what an interrupted
/// batch left; and the index of countersignatures (only entries that look like one are parsed).
fn scan_log_file(
    path: &Path,
    file: &dyn StorageFile,
    file_len: u64,
) -> Result<(frame::Scanned, Cosignatures), LogFileError> {
    let mut cosignatures = Cosignatures::default();
    let mut entry_index = 0u64;
    let mut reader = ReadFrom::new(file, file_len);
    let scanned = scan(&mut reader, file_len, TORN_BYTES_MAX, |r| {
        if r.kind == KIND_ENTRY {
            if looks_like_cosignature(r.payload)
                && let Ok(e) = SignedEntry::from_bytes(r.payload)
                && let Some(c) = Cosignature::of(entry_index, &e)
            {
                cosignatures.insert(c);
            }
            entry_index += 1;
        }
        Ok(())
    })
    .map_err(|source| LogFileError::Scan {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((scanned, cosignatures))
}

/// Refuses a log file whose last tree head is another log's.
fn check_log_id(
    dir: &Path,
    scanned: &frame::Scanned,
    config: &LogFileConfig,
) -> Result<(), LogFileError> {
    if let Some(last) = scanned.heads.last()
        && *last.tree_head().log() != config.log_id
    {
        return Err(LogFileError::Keys {
            path: dir.join(KEYS_FILE),
            why: format!(
                "this log file is the log of {}, not {}",
                last.tree_head().log(),
                config.log_id
            ),
        });
    }
    Ok(())
}

/// A new log starts with the signed head of the empty tree, written durably.
fn first_tree_head(
    path: &Path,
    file: &mut Appender,
    tree: &deconflict_log::Tree,
    config: &LogFileConfig,
) -> Result<SignedTreeHead, LogFileError> {
    let th = TreeHead::new(config.log_id.clone(), 0, tree.root(), (config.now_ms)())
        .map_err(|e| LogFileError::Failed(e.to_string()))?;
    let sth = SignedTreeHead::sign(th, &config.log_key);
    let mut buf = Vec::new();
    encode(&mut buf, KIND_TREE_HEAD, sth.as_bytes());
    file.write_all(&buf).map_err(io_err(path))?;
    file.sync_data().map_err(io_err(path))?;
    Ok(sth)
}

/// Refuses a log file that holds less than the head file says was acknowledged, or whose tree
/// head at the acknowledged size is not the one acknowledged.
fn check_acknowledged(
    path: &Path,
    scanned: &frame::Scanned,
    issued: &HashMap<u64, TreeHead>,
    acknowledged: Option<&head_file::Head>,
) -> Result<(), LogFileError> {
    let entries = scanned.tree.len();
    let Some(ack) = acknowledged else {
        if entries == 0 {
            // A new log, or one whose creation stopped before its head file was written.
            return Ok(());
        }
        return Err(LogFileError::Damaged {
            path: path.with_file_name(head_file::HEAD_FILE),
            offset: 0,
            why: format!(
                "the file is missing, but the log file holds {entries} entries: what was \
                 acknowledged cannot be checked"
            ),
            entries,
        });
    };
    let acked = ack.tree_head.tree_head();
    if acked.size() == 0 {
        // Nothing was acknowledged yet.
        return Ok(());
    }
    if scanned.valid_len < ack.log_file_len || entries < acked.size() {
        let (offset, why) = scanned
            .damage
            .unwrap_or((scanned.valid_len, "the file ends"));
        return Err(LogFileError::Damaged {
            path: path.to_path_buf(),
            offset,
            why: format!(
                "{why}, but {} records {} acknowledged entries in {} bytes",
                head_file::HEAD_FILE,
                acked.size(),
                ack.log_file_len
            ),
            entries,
        });
    }
    if issued.get(&acked.size()) != Some(acked) {
        return Err(LogFileError::Damaged {
            path: path.to_path_buf(),
            offset: ack.log_file_len,
            why: format!(
                "the tree head of size {} is not the one {} records as acknowledged: the \
                 log_file was replaced",
                acked.size(),
                head_file::HEAD_FILE
            ),
            entries,
        });
    }
    Ok(())
}
