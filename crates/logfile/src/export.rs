//! Reading a data directory without opening it for writing: the export and the loaded log.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use deconflict_log::export::{EndCounts, end_line, header_line};
use deconflict_log::{KeyId, KeyRing, SignedTreeHead};

use crate::frame::{KIND_ENTRY, scan};
use crate::{KEYS_FILE, LOG_FILE, LogFileError, TORN_BYTES_MAX, io_err, keys_file};

/// Writes the log stored in `dir`, up to its last tree head, in the export format (see
/// `deconflict_log::export`). Needs no key and no lock: a writer running at the same time
/// only appends, and the export stops at the last complete batch it finds.
pub fn export_dir(dir: &Path, out: &mut dyn Write) -> Result<EndCounts, LogFileError> {
    let path = dir.join(LOG_FILE);
    let keys_path = dir.join(KEYS_FILE);
    let Some((log_id, keys)) = keys_file::read_with_log(dir)? else {
        return Err(LogFileError::Keys {
            path: keys_path,
            why: "missing: is this a log file directory?".into(),
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
    .map_err(|source| LogFileError::Scan {
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
    pub tree: deconflict_log::Tree,
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
pub fn load_dir(dir: &Path) -> Result<LoadedLog, LogFileError> {
    let path = dir.join(LOG_FILE);
    let Some((log_id, keys)) = keys_file::read_with_log(dir)? else {
        return Err(LogFileError::Keys {
            path: dir.join(KEYS_FILE),
            why: "missing: is this a log file directory?".into(),
        });
    };
    let mut file = File::open(&path).map_err(io_err(&path))?;
    let file_len = file.metadata().map_err(io_err(&path))?.len();
    let scanned = scan(&mut file, file_len, TORN_BYTES_MAX, |_| Ok(())).map_err(|source| {
        LogFileError::Scan {
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
