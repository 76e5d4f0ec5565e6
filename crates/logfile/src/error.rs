//! Why a log file operation failed.

use std::path::{Path, PathBuf};

use deconflict_log::{KeyId, ProofError};

use crate::frame::{self, ScanError};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogFileError {
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
    /// The log file holds less than was acknowledged (cut short, damaged before its last batch,
    /// deleted, replaced) or the head file that says what was acknowledged is damaged. Opening
    /// refuses rather than roll the record back; `deconflict log recover` shows what recovery
    /// would drop and drops it only when told to.
    #[error(
        "{path}: at byte {offset}: {why}; the last good entry is {}; refusing to open (`deconflict log recover --data-dir DIR` shows what recovery would drop)",
        frame::last_good_entry(*entries)
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
    /// Another process has the log file open for writing.
    #[error("{0}: another process has this log file open")]
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
    /// be on its way to disk: [`LogFile::wait_durable`]).
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
    /// The writer failed earlier (disk error); the log file accepts nothing more.
    #[error("the log file stopped after a write failure: {0}")]
    Failed(String),
    /// The log file is shutting down.
    #[error("the log file is closed")]
    Closed,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LogFileError + '_ {
    move |source| LogFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}
