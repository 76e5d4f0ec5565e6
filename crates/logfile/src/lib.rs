//! `deconflict-logfile`: durable storage of the log on the local file system.
//!
//! What it owns: one data directory holding `log.frames` (the append-only file of frames, see
//! [`frame`]) and `keys.json` (the public keys the log knows). A [`LogFile`] accepts signed
//! entries from many threads, makes them durable in batches with one `fdatasync` per batch (group
//! commit), signs a tree head after every batch with the log's key, and acknowledges an append
//! only once its batch — entries and tree head — is on disk. On open it recovers from a crash at
//! any point: it cuts off the one batch that may have been interrupted (never acknowledged),
//! rebuilds the Merkle tree and checks it against every tree head in the file. It also exports a
//! log in the log's export format and verifies export files on several threads.
//!
//! Countersignatures: an entry countersigning a tree head is accepted only for a head this log
//! issued (same size, root and time), and once per party and head — a repeat is refused with
//! the first one's index, decided under the queue's lock so two copies sent at once cannot both
//! pass; the index of countersignatures is rebuilt when the log file is opened.
//!
//! What it must never do: acknowledge an append before it is durable; drop or rewrite an
//! acknowledged record; silently discard damage that is larger than one interrupted batch; grow
//! a queue without bound (a full queue refuses and counts). The log's logic (encodings, tree,
//! proofs, verification) is `deconflict-log`'s; this crate only stores and schedules.
//!
//! Linux/Unix only: it reads frames back with positioned reads.

pub mod frame;
pub mod head_file;
pub mod keys_file;
pub mod recover;
pub mod sim;
pub mod storage;
pub mod verify;

mod cosign;
mod error;
mod export;
mod open;
mod writer;

pub use cosign::Cosignature;
use cosign::Cosignatures;
pub use error::LogFileError;
pub(crate) use error::io_err;
pub use export::{LoadedLog, export_dir, load_dir};
use writer::enqueue;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;

use deconflict_log::export::EndCounts;
use deconflict_log::{
    ConsistencyProof, EntryBody, InclusionProof, KeyId, KeyRing, ProofError, SignedEntry,
    SignedTreeHead, SigningKey, TreeHead, VerifyingKey,
};

use frame::FRAME_BYTES;
use storage::{OsStorage, Storage, StorageFile};

/// Name of the log file (of frames) inside the log directory.
pub const LOG_FILE: &str = "log.frames";
/// Name of the keys file inside the data directory.
pub const KEYS_FILE: &str = "keys.json";
/// Most entries written in one batch (one `fdatasync`).
pub const BATCH_ENTRIES_MAX: usize = 8192;
/// A batch stops taking entries once its frames reach this many bytes.
pub const BATCH_BYTES_MAX: usize = 8 << 20;
/// Most bytes an interrupted batch can leave at the end of the file.
pub const TORN_BYTES_MAX: u64 =
    (BATCH_BYTES_MAX + frame::PAYLOAD_BYTES_MAX + 4 * (FRAME_BYTES + 1024)) as u64;
/// Most entries returned by one [`LogFile::entries`] call.
pub const ENTRIES_PER_READ_MAX: u64 = 1000;

/// Limits and behaviour. Build with [`LogFileConfig::new`], then adjust the public fields.
pub struct LogFileConfig {
    /// The log's key id (the service's own id).
    pub log_id: KeyId,
    /// The log's signing key, used for tree heads.
    pub log_key: SigningKey,
    /// Party keys known at open (merged with `keys.json`; the log's own key is added).
    pub keys: KeyRing,
    /// Most appends waiting for the writer; more are refused with [`LogFileError::QueueFull`].
    pub queue_entries_max: usize,
    /// Largest entry accepted, in bytes (at most the log's `ENTRY_BYTES_MAX`).
    pub entry_bytes_max: usize,
    /// Check each entry's signature against the key ring before queuing it.
    pub verify_signatures: bool,
    /// The clock for tree head timestamps, ms since the Unix epoch.
    pub now_ms: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Where the log file and the head file are kept: the file system, or a simulated
    /// disk in tests ([`sim::SimDisk`]).
    pub storage: Arc<dyn Storage>,
}

impl LogFileConfig {
    /// Defaults: queue of 65,536 entries, the log's entry size limit, signatures checked,
    /// the system clock.
    pub fn new(log_id: KeyId, log_key: SigningKey, keys: KeyRing) -> LogFileConfig {
        LogFileConfig {
            log_id,
            log_key,
            keys,
            queue_entries_max: 65_536,
            entry_bytes_max: deconflict_log::entry::ENTRY_BYTES_MAX,
            verify_signatures: true,
            now_ms: Arc::new(system_now_ms),
            storage: OsStorage::shared(),
        }
    }
}

/// Milliseconds since the Unix epoch from the system clock.
pub fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Counters, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogFileStats {
    /// Entries made durable since open.
    pub appended: u64,
    /// Batches written (one `fdatasync` each).
    pub batches: u64,
    /// Appends refused because the queue was full.
    pub rejected_queue_full: u64,
    /// Appends refused as too large.
    pub rejected_too_large: u64,
    /// Appends refused for an unknown author, bad signature or unknown countersigned head.
    pub rejected_invalid: u64,
    /// Countersignatures not appended because the party had countersigned that head already.
    pub duplicate_cosignatures: u64,
    /// Entries in the log.
    pub entries: u64,
    /// Bytes cut off at open (an interrupted batch).
    pub recovered_torn_bytes: u64,
}

struct Queued {
    entry: SignedEntry,
}

struct State {
    queue: VecDeque<Queued>,
    /// Index the next queued entry will get.
    next_index: u64,
    /// Entries durable (and covered by `latest`).
    durable: u64,
    latest: SignedTreeHead,
    failed: Option<String>,
    closing: bool,
}

struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    /// Signalled when the queue gains work or the log file closes.
    work: Condvar,
    /// Signalled when a batch becomes durable or the writer fails.
    durable: Condvar,
    tree: RwLock<deconflict_log::Tree>,
    /// File offset and length of each entry's payload.
    offsets: RwLock<Vec<(u64, u32)>>,
    /// Every tree head issued, by size (each batch grows the tree, so sizes are unique), for
    /// countersignature checks.
    issued: RwLock<HashMap<u64, TreeHead>>,
    /// Countersignatures, for duplicate checks and listing.
    cosignatures: Mutex<Cosignatures>,
    keys: RwLock<KeyRing>,
    reader: Box<dyn StorageFile>,
    log_id: KeyId,
    queue_entries_max: usize,
    entry_bytes_max: usize,
    verify_signatures: bool,
    appended: AtomicU64,
    batches: AtomicU64,
    rejected_queue_full: AtomicU64,
    rejected_too_large: AtomicU64,
    rejected_invalid: AtomicU64,
    duplicate_cosignatures: AtomicU64,
    recovered_torn_bytes: u64,
}

/// A durable, append-only log in a directory. `Send + Sync`: share it behind an `Arc`.
/// Dropping it lets the writer finish the queued batch, then stops it.
pub struct LogFile {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

/// An append in flight: [`Ticket::wait`] blocks until it is durable.
#[must_use = "an append is acknowledged only when its ticket is waited on"]
pub struct Ticket {
    shared: Arc<Shared>,
    index: u64,
}

impl Ticket {
    /// The index the entry will have.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Blocks until the entry is durable; returns its index.
    pub fn wait(self) -> Result<u64, LogFileError> {
        let mut st = lock(&self.shared.state);
        loop {
            if st.durable > self.index {
                return Ok(self.index);
            }
            if let Some(why) = &st.failed {
                return Err(LogFileError::Failed(why.clone()));
            }
            st = self
                .shared
                .durable
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in another thread while holding the lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LogFile {
    /// Queues a signed entry; the returned ticket's [`Ticket::wait`] blocks until it is durable.
    /// Refuses (and counts) an entry that is too large, from an unknown author, badly signed, a
    /// countersignature of a tree head this log did not issue or that its author already
    /// countersigned, or arriving on a full queue.
    pub fn submit(&self, entry: SignedEntry) -> Result<Ticket, LogFileError> {
        let sh = &self.shared;
        if entry.as_bytes().len() > sh.entry_bytes_max {
            sh.rejected_too_large.fetch_add(1, Ordering::Relaxed);
            return Err(LogFileError::TooLarge {
                len: entry.as_bytes().len(),
                max: sh.entry_bytes_max,
            });
        }
        if let Err(e) = self.check(&entry) {
            sh.rejected_invalid.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        let mut st = lock(&sh.state);
        let ticket = enqueue(sh, &mut st, entry);
        drop(st);
        if ticket.is_ok() {
            sh.work.notify_one();
        }
        ticket
    }

    /// Appends a signed entry and blocks until it is durable; returns its index.
    pub fn append(&self, entry: SignedEntry) -> Result<u64, LogFileError> {
        self.submit(entry)?.wait()
    }

    /// Queues several signed entries, in order; each gets the outcome [`LogFile::submit`] would
    /// give it, except that the signatures are checked together with one Ed25519 batch
    /// verification (about half the cost of checking each alone), the equation the export
    /// verifier uses ([`deconflict_log::entry::verify_many`]); when the batch fails, each
    /// entry is checked alone, strictly, so that only the bad ones are refused. (The batch
    /// equation is the cofactored one of RFC 8032 §5.1.7: it also accepts a signature whose R
    /// carries a small-order component, which only the key's holder can make.)
    pub fn submit_many(&self, entries: Vec<SignedEntry>) -> Vec<Result<Ticket, LogFileError>> {
        let sh = &self.shared;
        let mut checked: Vec<Result<SignedEntry, LogFileError>> = Vec::with_capacity(entries.len());
        {
            let keys = sh.keys.read().unwrap_or_else(|e| e.into_inner());
            let mut batch: Vec<(usize, VerifyingKey)> = Vec::with_capacity(entries.len());
            for (i, entry) in entries.into_iter().enumerate() {
                if entry.as_bytes().len() > sh.entry_bytes_max {
                    sh.rejected_too_large.fetch_add(1, Ordering::Relaxed);
                    checked.push(Err(LogFileError::TooLarge {
                        len: entry.as_bytes().len(),
                        max: sh.entry_bytes_max,
                    }));
                    continue;
                }
                if sh.verify_signatures {
                    let author = entry.entry().author();
                    match keys.get(author) {
                        Some(k) => batch.push((i, *k)),
                        None => {
                            sh.rejected_invalid.fetch_add(1, Ordering::Relaxed);
                            checked.push(Err(LogFileError::UnknownAuthor(author.clone())));
                            continue;
                        }
                    }
                }
                checked.push(Ok(entry));
            }
            drop(keys);
            if !batch.is_empty() {
                let ok = {
                    let items: Vec<(&SignedEntry, &VerifyingKey)> = batch
                        .iter()
                        .filter_map(|(i, k)| checked[*i].as_ref().ok().map(|e| (e, k)))
                        .collect();
                    deconflict_log::entry::verify_many(&items)
                };
                if !ok {
                    for (i, key) in &batch {
                        if let Ok(e) = &checked[*i]
                            && e.verify(key).is_err()
                        {
                            sh.rejected_invalid.fetch_add(1, Ordering::Relaxed);
                            checked[*i] =
                                Err(LogFileError::BadSignature(e.entry().author().clone()));
                        }
                    }
                }
            }
        }
        let mut out: Vec<Result<Ticket, LogFileError>> = Vec::with_capacity(checked.len());
        let mut ready: Vec<(usize, SignedEntry)> = Vec::with_capacity(checked.len());
        for (i, c) in checked.into_iter().enumerate() {
            match c {
                Ok(e) => match self.check_cosigned_head(&e) {
                    Ok(()) => {
                        ready.push((i, e));
                        out.push(Err(LogFileError::Closed)); // replaced below
                    }
                    Err(err) => {
                        sh.rejected_invalid.fetch_add(1, Ordering::Relaxed);
                        out.push(Err(err));
                    }
                },
                Err(err) => out.push(Err(err)),
            }
        }
        if ready.is_empty() {
            return out;
        }
        let mut st = lock(&sh.state);
        for (i, entry) in ready {
            out[i] = enqueue(sh, &mut st, entry);
        }
        drop(st);
        sh.work.notify_one();
        out
    }

    fn check(&self, entry: &SignedEntry) -> Result<(), LogFileError> {
        let sh = &self.shared;
        let author = entry.entry().author();
        if sh.verify_signatures {
            let keys = sh.keys.read().unwrap_or_else(|e| e.into_inner());
            let Some(key) = keys.get(author) else {
                return Err(LogFileError::UnknownAuthor(author.clone()));
            };
            entry
                .verify(key)
                .map_err(|_| LogFileError::BadSignature(author.clone()))?;
        }
        self.check_cosigned_head(entry)
    }

    /// A countersignature must name a tree head this log issued.
    fn check_cosigned_head(&self, entry: &SignedEntry) -> Result<(), LogFileError> {
        if let EntryBody::TreeHeadCosignature { tree_head } = entry.entry().body()
            && self.issued_tree_head(tree_head.size()).as_ref() != Some(tree_head)
        {
            return Err(LogFileError::UnknownTreeHead(tree_head.size()));
        }
        Ok(())
    }

    /// The tree head this log issued at `size`, if it issued one (the log signed it; the
    /// signature is in the log file and in exports).
    pub fn issued_tree_head(&self, size: u64) -> Option<TreeHead> {
        self.shared
            .issued
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&size)
            .cloned()
    }

    /// Blocks until the entry at `index` is durable (for an answer that names an entry
    /// submitted by someone else, such as the first copy of a duplicate countersignature).
    pub fn wait_durable(&self, index: u64) -> Result<u64, LogFileError> {
        let next = lock(&self.shared.state).next_index;
        if index >= next {
            return Err(ProofError::OutOfRange {
                what: "index",
                value: index,
                size: next,
            }
            .into());
        }
        Ticket {
            shared: self.shared.clone(),
            index,
        }
        .wait()
    }

    /// Durable countersignatures in index order: of the tree head of `size` when given, else
    /// of any head; the last `limit` of them.
    pub fn cosignatures(&self, size: Option<u64>, limit: usize) -> Vec<Cosignature> {
        let durable = lock(&self.shared.state).durable;
        lock(&self.shared.cosignatures).last(size, durable, limit)
    }

    /// Binds a party's key id to its public key (durably, in `keys.json`). A key id never
    /// changes its key.
    pub fn register_key(&self, id: KeyId, key: VerifyingKey) -> Result<(), LogFileError> {
        let mut keys = self.shared.keys.write().unwrap_or_else(|e| e.into_inner());
        let mut next = keys.clone();
        next.insert(id, key).map_err(|e| LogFileError::Keys {
            path: self.shared.dir.join(KEYS_FILE),
            why: e.to_string(),
        })?;
        keys_file::write(&self.shared.dir, &self.shared.log_id, &next)?;
        *keys = next;
        Ok(())
    }

    /// The key ring (party keys and the log's own).
    pub fn keys(&self) -> KeyRing {
        self.shared
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The latest signed tree head: it covers every acknowledged entry.
    pub fn latest_tree_head(&self) -> SignedTreeHead {
        lock(&self.shared.state).latest.clone()
    }

    fn published_size(&self) -> u64 {
        lock(&self.shared.state).latest.tree_head().size()
    }

    fn check_published(&self, size: u64) -> Result<(), LogFileError> {
        let published = self.published_size();
        if size > published {
            return Err(ProofError::OutOfRange {
                what: "size",
                value: size,
                size: published,
            }
            .into());
        }
        Ok(())
    }

    /// Inclusion proof of entry `index` in the tree of `size` (at most the latest tree head's).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, LogFileError> {
        self.check_published(size)?;
        let tree = self.shared.tree.read().unwrap_or_else(|e| e.into_inner());
        Ok(tree.inclusion_proof(index, size)?)
    }

    /// Consistency proof from the tree of `old_size` to the tree of `new_size` (at most the
    /// latest tree head's).
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, LogFileError> {
        self.check_published(new_size)?;
        let tree = self.shared.tree.read().unwrap_or_else(|e| e.into_inner());
        Ok(tree.consistency_proof(old_size, new_size)?)
    }

    /// Entries `[start, end)`, at most [`ENTRIES_PER_READ_MAX`] of them, within the latest tree
    /// head.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<SignedEntry>, LogFileError> {
        let published = self.published_size();
        let end = end.min(published);
        if start > end {
            return Err(ProofError::OutOfRange {
                what: "start",
                value: start,
                size: end,
            }
            .into());
        }
        let end = end.min(start.saturating_add(ENTRIES_PER_READ_MAX));
        let spans: Vec<(u64, u32)> = {
            let offsets = self
                .shared
                .offsets
                .read()
                .unwrap_or_else(|e| e.into_inner());
            offsets[start as usize..end as usize].to_vec()
        };
        let path = self.shared.dir.join(LOG_FILE);
        let mut out = Vec::with_capacity(spans.len());
        for (offset, len) in spans {
            let mut buf = vec![0u8; len as usize];
            self.shared
                .reader
                .read_exact_at(&mut buf, offset)
                .map_err(io_err(&path))?;
            let e = SignedEntry::from_bytes(&buf).map_err(|e| {
                LogFileError::Failed(format!(
                    "{}: entry at byte {offset} no longer parses: {e}",
                    path.display()
                ))
            })?;
            out.push(e);
        }
        Ok(out)
    }

    /// Counters.
    pub fn stats(&self) -> LogFileStats {
        let sh = &self.shared;
        LogFileStats {
            appended: sh.appended.load(Ordering::Relaxed),
            batches: sh.batches.load(Ordering::Relaxed),
            rejected_queue_full: sh.rejected_queue_full.load(Ordering::Relaxed),
            rejected_too_large: sh.rejected_too_large.load(Ordering::Relaxed),
            rejected_invalid: sh.rejected_invalid.load(Ordering::Relaxed),
            duplicate_cosignatures: sh.duplicate_cosignatures.load(Ordering::Relaxed),
            entries: self.published_size(),
            recovered_torn_bytes: sh.recovered_torn_bytes,
        }
    }

    /// Writes the log, up to the latest tree head, in the export format to `out`.
    pub fn export(&self, out: &mut dyn Write) -> Result<EndCounts, LogFileError> {
        export_dir(&self.shared.dir, out)
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.work.notify_all();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), LogFileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}
