//! `deconflict-journal`: durable storage of the ledger on the local file system.
//!
//! What it owns: one data directory holding `ledger.journal` (the append-only record file, see
//! [`record`]) and `keys.json` (the public keys the log knows). A [`Journal`] accepts signed
//! entries from many threads, makes them durable in batches with one `fdatasync` per batch (group
//! commit), signs a tree head after every batch with the log's key, and acknowledges an append
//! only once its batch — entries and tree head — is on disk. On open it recovers from a crash at
//! any point: it cuts off the one batch that may have been interrupted (never acknowledged),
//! rebuilds the Merkle tree and checks it against every tree head in the file. It also exports a
//! log in the ledger's export format and verifies export files on several threads.
//!
//! Countersignatures: an entry countersigning a tree head is accepted only for a head this log
//! issued (same size, root and time), and once per party and head — a repeat is refused with
//! the first one's index, decided under the queue's lock so two copies sent at once cannot both
//! pass; the index of countersignatures is rebuilt when the journal is opened.
//!
//! What it must never do: acknowledge an append before it is durable; drop or rewrite an
//! acknowledged record; silently discard damage that is larger than one interrupted batch; grow
//! a queue without bound (a full queue refuses and counts). The log's logic (encodings, tree,
//! proofs, verification) is `deconflict-ledger`'s; this crate only stores and schedules.
//!
//! Linux/Unix only: it reads records back with positioned reads.

pub mod head_file;
pub mod keys_file;
pub mod record;
pub mod recover;
pub mod sim;
pub mod storage;
pub mod verify;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;

use deconflict_ledger::export::{EndCounts, end_line, header_line};
use deconflict_ledger::{
    ConsistencyProof, EntryBody, InclusionProof, KeyId, KeyRing, ProofError, SignedEntry,
    SignedTreeHead, SigningKey, TreeHead, VerifyingKey,
};

use record::{FRAME_BYTES, KIND_ENTRY, KIND_TREE_HEAD, ScanError, encode, scan};
use storage::{Appender, OsStorage, ReadFrom, Storage, StorageFile};

/// Name of the record file inside the data directory.
pub const JOURNAL_FILE: &str = "ledger.journal";
/// Name of the keys file inside the data directory.
pub const KEYS_FILE: &str = "keys.json";
/// Most entries written in one batch (one `fdatasync`).
pub const BATCH_ENTRIES_MAX: usize = 8192;
/// A batch stops taking entries once its records reach this many bytes.
pub const BATCH_BYTES_MAX: usize = 8 << 20;
/// Most bytes an interrupted batch can leave at the end of the file.
pub const TORN_BYTES_MAX: u64 =
    (BATCH_BYTES_MAX + record::PAYLOAD_BYTES_MAX + 4 * (FRAME_BYTES + 1024)) as u64;
/// Most entries returned by one [`Journal::entries`] call.
pub const ENTRIES_PER_READ_MAX: u64 = 1000;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// File system error, with the path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The record file is damaged or altered.
    #[error("{path}: {source}")]
    Scan {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: ScanError,
    },
    /// The journal holds less than was acknowledged (cut short, damaged before its last batch,
    /// deleted, replaced) or the head file that says what was acknowledged is damaged. Opening
    /// refuses rather than roll the record back; `deconflict log recover` shows what recovery
    /// would drop and drops it only when told to.
    #[error(
        "{path}: at byte {offset}: {why}; the last good entry is {}; refusing to open (`deconflict log recover --data-dir DIR` shows what recovery would drop)",
        record::last_good_entry(*entries)
    )]
    Damaged {
        /// The damaged or short file.
        path: PathBuf,
        /// Byte offset where it stops being whole.
        offset: u64,
        /// What is wrong.
        why: String,
        /// Entries that are whole (the last good entry is `entries - 1`).
        entries: u64,
    },
    /// Another process has the journal open for writing.
    #[error("{0}: another process has this journal open")]
    Locked(PathBuf),
    /// The keys file is bad, or the configuration contradicts it.
    #[error("{path}: {why}")]
    Keys {
        /// The keys file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The queue of pending appends is full; the append was refused and counted.
    #[error("append queue is full ({0} entries waiting); retry later")]
    QueueFull(usize),
    /// The entry is larger than the configured limit; refused and counted.
    #[error("entry of {len} bytes is larger than the limit of {max}")]
    TooLarge {
        /// Bytes.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The author has no key in the log's key ring; refused and counted.
    #[error("author {0} has no public key in this log")]
    UnknownAuthor(KeyId),
    /// The signature does not verify; refused and counted.
    #[error("signature of {0} does not verify")]
    BadSignature(KeyId),
    /// A countersignature of a tree head this log never issued; refused and counted.
    #[error("countersignature of a tree head (size {0}) that this log did not issue")]
    UnknownTreeHead(u64),
    /// The party already countersigned this tree head: the log holds one countersignature per
    /// party and head. Not appended; counted. `index` is where the first one is (it may still
    /// be on its way to disk: [`Journal::wait_durable`]).
    #[error("{party} already countersigned the tree head of size {size} (entry {index})")]
    DuplicateCosignature {
        /// The party.
        party: KeyId,
        /// Size of the countersigned head.
        size: u64,
        /// Index of the countersignature already in the log.
        index: u64,
    },
    /// A proof or range request outside the published tree.
    #[error("{0}")]
    Proof(#[from] ProofError),
    /// The writer failed earlier (disk error); the journal accepts nothing more.
    #[error("the journal stopped after a write failure: {0}")]
    Failed(String),
    /// The journal is shutting down.
    #[error("the journal is closed")]
    Closed,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Limits and behaviour. Build with [`JournalConfig::new`], then adjust the public fields.
pub struct JournalConfig {
    /// The log's key id (the service's own id).
    pub log_id: KeyId,
    /// The log's signing key, used for tree heads.
    pub log_key: SigningKey,
    /// Party keys known at open (merged with `keys.json`; the log's own key is added).
    pub keys: KeyRing,
    /// Most appends waiting for the writer; more are refused with [`JournalError::QueueFull`].
    pub queue_entries_max: usize,
    /// Largest entry accepted, in bytes (at most the ledger's `ENTRY_BYTES_MAX`).
    pub entry_bytes_max: usize,
    /// Check each entry's signature against the key ring before queuing it.
    pub verify_signatures: bool,
    /// The clock for tree head timestamps, ms since the Unix epoch.
    pub now_ms: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Where the journal file and the head file are kept: the file system, or a simulated
    /// disk in tests ([`sim::SimDisk`]).
    pub storage: Arc<dyn Storage>,
}

impl JournalConfig {
    /// Defaults: queue of 65,536 entries, the ledger's entry size limit, signatures checked,
    /// the system clock.
    pub fn new(log_id: KeyId, log_key: SigningKey, keys: KeyRing) -> JournalConfig {
        JournalConfig {
            log_id,
            log_key,
            keys,
            queue_entries_max: 65_536,
            entry_bytes_max: deconflict_ledger::entry::ENTRY_BYTES_MAX,
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
pub struct JournalStats {
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

/// A party's countersignature of a tree head, as found in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// Index of the countersignature entry.
    pub index: u64,
    /// The party that countersigned (the entry's author).
    pub party: KeyId,
    /// The tree head countersigned.
    pub tree_head: TreeHead,
    /// The party's timestamp on the countersignature, ms since the Unix epoch.
    pub time_ms: u64,
}

impl Cosignature {
    /// The countersignature `entry` holds at `index`, if it is one.
    pub fn of(index: u64, entry: &SignedEntry) -> Option<Cosignature> {
        match entry.entry().body() {
            EntryBody::TreeHeadCosignature { tree_head } => Some(Cosignature {
                index,
                party: entry.entry().author().clone(),
                tree_head: tree_head.clone(),
                time_ms: entry.entry().time_ms(),
            }),
            _ => None,
        }
    }
}

/// Every countersignature in the log (durable or queued), in index order, where each
/// (party, size) pair is (one per party and head), and which of them countersign the head of
/// each size, so that the countersignatures of one head are found without reading the others.
#[derive(Default)]
struct Cosignatures {
    list: Vec<Cosignature>,
    by_party_size: HashMap<(KeyId, u64), u64>,
    /// Tree size → positions in `list`, ascending (so in index order).
    by_size: HashMap<u64, Vec<usize>>,
}

impl Cosignatures {
    fn insert(&mut self, c: Cosignature) {
        self.by_party_size
            .insert((c.party.clone(), c.tree_head.size()), c.index);
        self.by_size
            .entry(c.tree_head.size())
            .or_default()
            .push(self.list.len());
        self.list.push(c);
    }

    /// The last `limit` countersignatures below index `durable`, of the head of `size` when
    /// given, in index order. Reads only the countersignatures it returns (plus any queued
    /// ones above `durable`), whatever the number of others.
    fn last(&self, size: Option<u64>, durable: u64, limit: usize) -> Vec<Cosignature> {
        let mut out: Vec<Cosignature> = match size {
            Some(s) => self
                .by_size
                .get(&s)
                .map(|positions| {
                    positions
                        .iter()
                        .rev()
                        .map(|&p| &self.list[p])
                        .filter(|c| c.index < durable)
                        .take(limit)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => self
                .list
                .iter()
                .rev()
                .filter(|c| c.index < durable)
                .take(limit)
                .cloned()
                .collect(),
        };
        out.reverse();
        out
    }
}

/// Whether a record's canonical bytes are a countersignature, told from the fixed beginning of
/// the canonical form (`{"entry":{"author":"<id>","body":{"tree_head_cosignature":`), so that
/// opening a large log parses only the countersignatures.
fn looks_like_cosignature(payload: &[u8]) -> bool {
    let Some(rest) = payload.strip_prefix(br#"{"entry":{"author":""#.as_slice()) else {
        return false;
    };
    // Key ids hold no quote, so the first one ends the author.
    let Some(q) = rest.iter().position(|&b| b == b'"') else {
        return false;
    };
    rest[q..].starts_with(br#"","body":{"tree_head_cosignature":"#)
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
    /// Signalled when the queue gains work or the journal closes.
    work: Condvar,
    /// Signalled when a batch becomes durable or the writer fails.
    durable: Condvar,
    tree: RwLock<deconflict_ledger::Tree>,
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

/// A durable, append-only ledger in a directory. `Send + Sync`: share it behind an `Arc`.
/// Dropping it lets the writer finish the queued batch, then stops it.
pub struct Journal {
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
    pub fn wait(self) -> Result<u64, JournalError> {
        let mut st = lock(&self.shared.state);
        loop {
            if st.durable > self.index {
                return Ok(self.index);
            }
            if let Some(why) = &st.failed {
                return Err(JournalError::Failed(why.clone()));
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

impl Journal {
    /// Opens (or creates) the journal in `dir`, recovering from an interrupted write, and starts
    /// the writer thread.
    pub fn open(dir: &Path, config: JournalConfig) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(JOURNAL_FILE);
        // What was acknowledged, as the head file remembers it: read before the journal is
        // created, so that a deleted journal is not taken for a new one.
        let storage = config.storage.clone();
        let acknowledged = head_file::read_with(&*storage, dir)?;
        let acknowledged_entries = acknowledged
            .as_ref()
            .map_or(0, |h| h.tree_head.tree_head().size());
        let exists = storage.open(&path, false).map_err(io_err(&path))?.is_some();
        if acknowledged_entries > 0 && !exists {
            return Err(JournalError::Damaged {
                path,
                offset: 0,
                why: format!(
                    "the file is missing, but {} records {acknowledged_entries} acknowledged entries",
                    head_file::HEAD_FILE
                ),
                entries: 0,
            });
        }
        let file = storage
            .open(&path, true)
            .map_err(io_err(&path))?
            .ok_or_else(|| io_err(&path)(std::io::ErrorKind::NotFound.into()))?;
        if !file.try_lock().map_err(io_err(&path))? {
            return Err(JournalError::Locked(path));
        }

        // Keys: the stored ring, the configured keys and the log's own key must agree.
        let stored = keys_file::read(dir)?;
        let mut keys = stored.clone().unwrap_or_default();
        let keys_path = dir.join(KEYS_FILE);
        let conflict = |e: deconflict_ledger::KeyError| JournalError::Keys {
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

        let file_len = file.len().map_err(io_err(&path))?;
        if file_len == 0 {
            file.write_all_at(record::MAGIC, 0)
                .and_then(|()| file.sync_data())
                .and_then(|()| storage.sync_dir(dir))
                .map_err(io_err(&path))?;
        }
        let file_len = file.len().map_err(io_err(&path))?;
        let read_handle = storage
            .open(&path, false)
            .map_err(io_err(&path))?
            .ok_or_else(|| io_err(&path)(std::io::ErrorKind::NotFound.into()))?;
        let mut cosignatures = Cosignatures::default();
        let mut entry_index = 0u64;
        let mut reader = ReadFrom::new(&*read_handle, file_len);
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
        .map_err(|source| JournalError::Scan {
            path: path.clone(),
            source,
        })?;
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
        if let Some(last) = scanned.heads.last()
            && *last.tree_head().log() != config.log_id
        {
            return Err(JournalError::Keys {
                path: keys_path,
                why: format!(
                    "this journal is the log of {}, not {}",
                    last.tree_head().log(),
                    config.log_id
                ),
            });
        }
        let mut file = Appender::new(file, scanned.valid_len);
        let mut journal_len = scanned.valid_len;
        let latest = match scanned.heads.last() {
            Some(h) => h.clone(),
            None => {
                // A new log starts with the signed head of the empty tree.
                let th = TreeHead::new(
                    config.log_id.clone(),
                    0,
                    scanned.tree.root(),
                    (config.now_ms)(),
                )
                .map_err(|e| JournalError::Failed(e.to_string()))?;
                let sth = SignedTreeHead::sign(th, &config.log_key);
                let mut buf = Vec::new();
                encode(&mut buf, KIND_TREE_HEAD, sth.as_bytes());
                file.write_all(&buf).map_err(io_err(&path))?;
                file.sync_data().map_err(io_err(&path))?;
                journal_len += buf.len() as u64;
                issued.insert(0, sth.tree_head().clone());
                sth
            }
        };
        // The head file now names the journal's last batch (one written but not yet recorded
        // there before a crash is whole, so it is kept).
        let head = head_file::Head {
            seq: acknowledged.as_ref().map_or(0, |h| h.seq),
            journal_len,
            tree_head: latest.clone(),
        };
        let stale = acknowledged
            .as_ref()
            .is_none_or(|h| h.tree_head != latest || h.journal_len != journal_len);
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
                .min(deconflict_ledger::entry::ENTRY_BYTES_MAX),
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
                .name("journal-writer".into())
                .spawn(move || writer_loop(&shared, file, head_file, path, &log_key, &*now_ms))
                .map_err(io_err(dir))?
        };
        Ok(Journal {
            shared,
            writer: Some(writer),
        })
    }

    /// Queues a signed entry; the returned ticket's [`Ticket::wait`] blocks until it is durable.
    /// Refuses (and counts) an entry that is too large, from an unknown author, badly signed, a
    /// countersignature of a tree head this log did not issue or that its author already
    /// countersigned, or arriving on a full queue.
    pub fn submit(&self, entry: SignedEntry) -> Result<Ticket, JournalError> {
        let sh = &self.shared;
        if entry.as_bytes().len() > sh.entry_bytes_max {
            sh.rejected_too_large.fetch_add(1, Ordering::Relaxed);
            return Err(JournalError::TooLarge {
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
    pub fn append(&self, entry: SignedEntry) -> Result<u64, JournalError> {
        self.submit(entry)?.wait()
    }

    /// Queues several signed entries, in order; each gets the outcome [`Journal::submit`] would
    /// give it, except that the signatures are checked together with one Ed25519 batch
    /// verification (about half the cost of checking each alone), the equation the export
    /// verifier uses ([`deconflict_ledger::entry::verify_many`]); when the batch fails, each
    /// entry is checked alone, strictly, so that only the bad ones are refused. (The batch
    /// equation is the cofactored one of RFC 8032 §5.1.7: it also accepts a signature whose R
    /// carries a small-order component, which only the key's holder can make.)
    pub fn submit_many(&self, entries: Vec<SignedEntry>) -> Vec<Result<Ticket, JournalError>> {
        let sh = &self.shared;
        let mut checked: Vec<Result<SignedEntry, JournalError>> = Vec::with_capacity(entries.len());
        {
            let keys = sh.keys.read().unwrap_or_else(|e| e.into_inner());
            let mut batch: Vec<(usize, VerifyingKey)> = Vec::with_capacity(entries.len());
            for (i, entry) in entries.into_iter().enumerate() {
                if entry.as_bytes().len() > sh.entry_bytes_max {
                    sh.rejected_too_large.fetch_add(1, Ordering::Relaxed);
                    checked.push(Err(JournalError::TooLarge {
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
                            checked.push(Err(JournalError::UnknownAuthor(author.clone())));
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
                    deconflict_ledger::entry::verify_many(&items)
                };
                if !ok {
                    for (i, key) in &batch {
                        if let Ok(e) = &checked[*i]
                            && e.verify(key).is_err()
                        {
                            sh.rejected_invalid.fetch_add(1, Ordering::Relaxed);
                            checked[*i] =
                                Err(JournalError::BadSignature(e.entry().author().clone()));
                        }
                    }
                }
            }
        }
        let mut out: Vec<Result<Ticket, JournalError>> = Vec::with_capacity(checked.len());
        let mut ready: Vec<(usize, SignedEntry)> = Vec::with_capacity(checked.len());
        for (i, c) in checked.into_iter().enumerate() {
            match c {
                Ok(e) => match self.check_cosigned_head(&e) {
                    Ok(()) => {
                        ready.push((i, e));
                        out.push(Err(JournalError::Closed)); // replaced below
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

    fn check(&self, entry: &SignedEntry) -> Result<(), JournalError> {
        let sh = &self.shared;
        let author = entry.entry().author();
        if sh.verify_signatures {
            let keys = sh.keys.read().unwrap_or_else(|e| e.into_inner());
            let Some(key) = keys.get(author) else {
                return Err(JournalError::UnknownAuthor(author.clone()));
            };
            entry
                .verify(key)
                .map_err(|_| JournalError::BadSignature(author.clone()))?;
        }
        self.check_cosigned_head(entry)
    }

    /// A countersignature must name a tree head this log issued.
    fn check_cosigned_head(&self, entry: &SignedEntry) -> Result<(), JournalError> {
        if let EntryBody::TreeHeadCosignature { tree_head } = entry.entry().body()
            && self.issued_tree_head(tree_head.size()).as_ref() != Some(tree_head)
        {
            return Err(JournalError::UnknownTreeHead(tree_head.size()));
        }
        Ok(())
    }

    /// The tree head this log issued at `size`, if it issued one (the log signed it; the
    /// signature is in the journal file and in exports).
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
    pub fn wait_durable(&self, index: u64) -> Result<u64, JournalError> {
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
    pub fn register_key(&self, id: KeyId, key: VerifyingKey) -> Result<(), JournalError> {
        let mut keys = self.shared.keys.write().unwrap_or_else(|e| e.into_inner());
        let mut next = keys.clone();
        next.insert(id, key).map_err(|e| JournalError::Keys {
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

    fn check_published(&self, size: u64) -> Result<(), JournalError> {
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
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, JournalError> {
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
    ) -> Result<ConsistencyProof, JournalError> {
        self.check_published(new_size)?;
        let tree = self.shared.tree.read().unwrap_or_else(|e| e.into_inner());
        Ok(tree.consistency_proof(old_size, new_size)?)
    }

    /// Entries `[start, end)`, at most [`ENTRIES_PER_READ_MAX`] of them, within the latest tree
    /// head.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<SignedEntry>, JournalError> {
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
        let path = self.shared.dir.join(JOURNAL_FILE);
        let mut out = Vec::with_capacity(spans.len());
        for (offset, len) in spans {
            let mut buf = vec![0u8; len as usize];
            self.shared
                .reader
                .read_exact_at(&mut buf, offset)
                .map_err(io_err(&path))?;
            let e = SignedEntry::from_bytes(&buf).map_err(|e| {
                JournalError::Failed(format!(
                    "{}: entry at byte {offset} no longer parses: {e}",
                    path.display()
                ))
            })?;
            out.push(e);
        }
        Ok(out)
    }

    /// Counters.
    pub fn stats(&self) -> JournalStats {
        let sh = &self.shared;
        JournalStats {
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
    pub fn export(&self, out: &mut dyn Write) -> Result<EndCounts, JournalError> {
        export_dir(&self.shared.dir, out)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.work.notify_all();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The writer thread: takes whatever is queued (up to a batch), writes entries and a new signed
/// tree head, `fdatasync`s once, then publishes and wakes the waiters.
fn writer_loop(
    sh: &Shared,
    mut file: Appender,
    mut head_file: head_file::HeadFile,
    path: PathBuf,
    log_key: &SigningKey,
    now_ms: &(dyn Fn() -> u64 + Send + Sync),
) {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES_MAX + (1 << 16));
    let mut batch: Vec<Queued> = Vec::with_capacity(BATCH_ENTRIES_MAX);
    let mut file_end = file.position();
    loop {
        let last_time_ms;
        {
            let mut st = lock(&sh.state);
            while st.queue.is_empty() && !st.closing {
                st = sh.work.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if st.queue.is_empty() {
                return;
            }
            let mut bytes = 0usize;
            while let Some(q) = st.queue.front() {
                if batch.len() >= BATCH_ENTRIES_MAX
                    || (bytes > 0 && bytes + q.entry.as_bytes().len() > BATCH_BYTES_MAX)
                {
                    break;
                }
                bytes += q.entry.as_bytes().len() + FRAME_BYTES;
                if let Some(q) = st.queue.pop_front() {
                    batch.push(q);
                }
            }
            last_time_ms = st.latest.tree_head().time_ms();
        }
        buf.clear();
        let mut offsets = Vec::with_capacity(batch.len());
        let sth = {
            let mut tree = sh.tree.write().unwrap_or_else(|e| e.into_inner());
            for q in &batch {
                let start = file_end + buf.len() as u64;
                encode(&mut buf, KIND_ENTRY, q.entry.as_bytes());
                offsets.push((start + 5, q.entry.as_bytes().len() as u32));
                tree.push(q.entry.as_bytes());
            }
            // Strictly increasing timestamps: the export format requires them.
            let time_ms = now_ms().max(last_time_ms + 1);
            match TreeHead::new(sh.log_id.clone(), tree.len(), tree.root(), time_ms) {
                Ok(th) => SignedTreeHead::sign(th, log_key),
                Err(e) => {
                    fail(sh, e.to_string());
                    return;
                }
            }
        };
        encode(&mut buf, KIND_TREE_HEAD, sth.as_bytes());
        if let Err(e) = file.write_all(&buf).and_then(|()| file.sync_data()) {
            // After a failed write or fsync the page cache is in an unknown state: accept
            // nothing more. Nothing of this batch was acknowledged; reopening recovers.
            fail(sh, format!("{}: {e}", path.display()));
            return;
        }
        file_end += buf.len() as u64;
        // The head file learns of the batch before anyone is told it is durable.
        if let Err(e) = head_file.record(&sth, file_end) {
            fail(sh, e.to_string());
            return;
        }
        sh.offsets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(offsets);
        sh.issued
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sth.tree_head().size(), sth.tree_head().clone());
        sh.appended.fetch_add(batch.len() as u64, Ordering::Relaxed);
        sh.batches.fetch_add(1, Ordering::Relaxed);
        {
            let mut st = lock(&sh.state);
            st.durable = sth.tree_head().size();
            st.latest = sth;
        }
        sh.durable.notify_all();
        batch.clear();
    }
}

/// Queues a checked entry under the state lock: refused when the journal failed or is closing,
/// when the queue is full, or for a second countersignature of one head by one party (decided
/// here, under the lock, so two copies submitted at once cannot both pass).
fn enqueue(sh: &Arc<Shared>, st: &mut State, entry: SignedEntry) -> Result<Ticket, JournalError> {
    if let Some(why) = &st.failed {
        return Err(JournalError::Failed(why.clone()));
    }
    if st.closing {
        return Err(JournalError::Closed);
    }
    if st.queue.len() >= sh.queue_entries_max {
        sh.rejected_queue_full.fetch_add(1, Ordering::Relaxed);
        return Err(JournalError::QueueFull(st.queue.len()));
    }
    let index = st.next_index;
    if let Some(c) = Cosignature::of(index, &entry) {
        let mut cs = lock(&sh.cosignatures);
        let key = (c.party.clone(), c.tree_head.size());
        if let Some(&first) = cs.by_party_size.get(&key) {
            sh.duplicate_cosignatures.fetch_add(1, Ordering::Relaxed);
            return Err(JournalError::DuplicateCosignature {
                party: key.0,
                size: key.1,
                index: first,
            });
        }
        cs.insert(c);
    }
    st.next_index += 1;
    st.queue.push_back(Queued { entry });
    Ok(Ticket {
        shared: sh.clone(),
        index,
    })
}

/// Refuses a journal that holds less than the head file says was acknowledged, or whose tree
/// head at the acknowledged size is not the one acknowledged.
fn check_acknowledged(
    path: &Path,
    scanned: &record::Scanned,
    issued: &HashMap<u64, TreeHead>,
    acknowledged: Option<&head_file::Head>,
) -> Result<(), JournalError> {
    let entries = scanned.tree.len();
    let Some(ack) = acknowledged else {
        if entries == 0 {
            // A new log, or one whose creation stopped before its head file was written.
            return Ok(());
        }
        return Err(JournalError::Damaged {
            path: path.with_file_name(head_file::HEAD_FILE),
            offset: 0,
            why: format!(
                "the file is missing, but the journal holds {entries} entries: what was \
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
    if scanned.valid_len < ack.journal_len || entries < acked.size() {
        let (offset, why) = scanned
            .damage
            .unwrap_or((scanned.valid_len, "the file ends"));
        return Err(JournalError::Damaged {
            path: path.to_path_buf(),
            offset,
            why: format!(
                "{why}, but {} records {} acknowledged entries in {} bytes",
                head_file::HEAD_FILE,
                acked.size(),
                ack.journal_len
            ),
            entries,
        });
    }
    if issued.get(&acked.size()) != Some(acked) {
        return Err(JournalError::Damaged {
            path: path.to_path_buf(),
            offset: ack.journal_len,
            why: format!(
                "the tree head of size {} is not the one {} records as acknowledged: the \
                 journal was replaced",
                acked.size(),
                head_file::HEAD_FILE
            ),
            entries,
        });
    }
    Ok(())
}

fn fail(sh: &Shared, why: String) {
    lock(&sh.state).failed = Some(why);
    sh.durable.notify_all();
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Writes the log stored in `dir`, up to its last tree head, in the export format (see
/// `deconflict_ledger::export`). Needs no key and no lock: a writer running at the same time
/// only appends, and the export stops at the last complete batch it finds.
pub fn export_dir(dir: &Path, out: &mut dyn Write) -> Result<EndCounts, JournalError> {
    let path = dir.join(JOURNAL_FILE);
    let keys_path = dir.join(KEYS_FILE);
    let Some((log_id, keys)) = keys_file::read_with_log(dir)? else {
        return Err(JournalError::Keys {
            path: keys_path,
            why: "missing: is this a journal directory?".into(),
        });
    };
    let mut file = File::open(&path).map_err(io_err(&path))?;
    let file_len = file.metadata().map_err(io_err(&path))?.len();
    let mut w = BufWriter::with_capacity(1 << 20, out);
    w.write_all(&header_line(&log_id, &keys))
        .and_then(|()| w.write_all(b"\n"))
        .map_err(io_err(&path))?;
    let mut counts = EndCounts::default();
    let scanned = scan(&mut file, file_len, TORN_BYTES_MAX, |r| {
        if r.kind == KIND_ENTRY {
            counts.entries += 1;
        } else {
            counts.tree_heads += 1;
        }
        w.write_all(r.payload)?;
        w.write_all(b"\n")
    })
    .map_err(|source| JournalError::Scan {
        path: path.clone(),
        source,
    })?;
    debug_assert_eq!(scanned.tree.len(), counts.entries);
    w.write_all(&end_line(counts))
        .and_then(|()| w.write_all(b"\n"))
        .and_then(|()| w.flush())
        .map_err(io_err(&path))?;
    Ok(counts)
}

/// A log read from a data directory without opening it for writing (no key, no lock).
#[derive(Debug)]
pub struct LoadedLog {
    /// The log's key id.
    pub log_id: KeyId,
    /// The keys file.
    pub keys: KeyRing,
    /// The tree of every entry covered by the last tree head.
    pub tree: deconflict_ledger::Tree,
    /// Every tree head, in order.
    pub heads: Vec<SignedTreeHead>,
}

impl LoadedLog {
    /// The last tree head.
    pub fn latest(&self) -> Option<&SignedTreeHead> {
        self.heads.last()
    }
}

/// Reads the log in `dir` up to its last complete batch (a writer may be running).
pub fn load_dir(dir: &Path) -> Result<LoadedLog, JournalError> {
    let path = dir.join(JOURNAL_FILE);
    let Some((log_id, keys)) = keys_file::read_with_log(dir)? else {
        return Err(JournalError::Keys {
            path: dir.join(KEYS_FILE),
            why: "missing: is this a journal directory?".into(),
        });
    };
    let mut file = File::open(&path).map_err(io_err(&path))?;
    let file_len = file.metadata().map_err(io_err(&path))?.len();
    let scanned = scan(&mut file, file_len, TORN_BYTES_MAX, |_| Ok(())).map_err(|source| {
        JournalError::Scan {
            path: path.clone(),
            source,
        }
    })?;
    Ok(LoadedLog {
        log_id,
        keys,
        tree: scanned.tree,
        heads: scanned.heads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deconflict_ledger::{Entry, FieldValue, Fields, Hash, Text};

    fn signed(author: &str, body: EntryBody) -> SignedEntry {
        let key = SigningKey::from_bytes(&[3; 32]);
        let e = Entry::new(KeyId::new(author).unwrap(), 7, body).unwrap();
        SignedEntry::sign(e, &key).unwrap()
    }

    /// The countersignatures of one head come from the per-size index: the same answer as
    /// reading every countersignature, durable ones only, the last `limit`, in index order;
    /// and a head nobody countersigned reads nothing.
    #[test]
    fn cosignatures_of_one_head_come_from_the_index() {
        let mut cs = Cosignatures::default();
        let parties = ["blue", "red", "green"];
        for i in 0..3000u64 {
            let size = 1 + i / 3;
            let head =
                TreeHead::new(KeyId::new("service").unwrap(), size, Hash::empty_tree(), i).unwrap();
            cs.insert(Cosignature {
                index: 10 * i,
                party: KeyId::new(parties[(i % 3) as usize]).unwrap(),
                tree_head: head,
                time_ms: i,
            });
        }
        assert_eq!(cs.by_size.len(), 1000);
        assert!(cs.by_size.values().all(|p| p.len() == 3));
        let naive = |size: Option<u64>, durable: u64, limit: usize| {
            let mut v: Vec<Cosignature> = cs
                .list
                .iter()
                .filter(|c| c.index < durable && size.is_none_or(|s| c.tree_head.size() == s))
                .cloned()
                .collect();
            v.drain(..v.len().saturating_sub(limit));
            v
        };
        for (size, durable, limit) in [
            (Some(1), u64::MAX, 10),
            (Some(500), u64::MAX, 2),
            (Some(1000), 29_980, 10),
            (Some(1000), 0, 10),
            (Some(1001), u64::MAX, 10),
            (None, 29_975, 4),
            (None, u64::MAX, 0),
        ] {
            let got = cs.last(size, durable, limit);
            assert_eq!(
                got,
                naive(size, durable, limit),
                "{size:?} {durable} {limit}"
            );
        }
        let two = cs.last(Some(1000), 29_980, 10);
        assert_eq!(two.iter().map(|c| c.index).collect::<Vec<_>>(), [29_970]);
        assert!(cs.last(Some(1001), u64::MAX, 10).is_empty());
    }

    /// The prefix test that spares parsing every entry at open must agree with the parser on
    /// every kind of entry, whatever the author's id.
    #[test]
    fn the_cosignature_prefix_test_agrees_with_the_parser() {
        let head = TreeHead::new(KeyId::new("service").unwrap(), 3, Hash::empty_tree(), 9).unwrap();
        let fields = Fields::new()
            .with("tree_head_cosignature", FieldValue::text("x").unwrap())
            .unwrap();
        for author in ["a", "blue", "tree_head_cosignature", "x.y-z_0"] {
            let bodies = [
                EntryBody::TreeHeadCosignature {
                    tree_head: head.clone(),
                },
                EntryBody::LineMessage {
                    fields: fields.clone(),
                    message_id: Text::new("tree_head_cosignature").unwrap(),
                },
                EntryBody::NotificationWithdrawal {
                    notification_id: Text::new(r#"","body":{"tree_head_cosignature":"#).unwrap(),
                    reason: None,
                },
            ];
            for body in bodies {
                let e = signed(author, body);
                assert_eq!(
                    looks_like_cosignature(e.as_bytes()),
                    Cosignature::of(0, &e).is_some(),
                    "{}",
                    String::from_utf8_lossy(e.as_bytes())
                );
            }
        }
        assert!(!looks_like_cosignature(b""));
        assert!(!looks_like_cosignature(br#"{"entry":{"author":"abc"#));
    }
}
