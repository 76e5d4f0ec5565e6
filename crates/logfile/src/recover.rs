//! Explicit recovery of a log file that [`crate::LogFile::open`] refuses: find the last whole
//! batch, say what cutting the log file back to it would drop (bytes, and acknowledged entries
//! the head file remembers), and cut it only when asked. Dropping acknowledged entries rolls
//! the record back: parties holding a later tree head will see it. That is an operator's
//! decision, made with the plan in front of them, never the log file's.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::{Path, PathBuf};

use deconflict_log::SignedTreeHead;

use crate::frame::{ScanError, last_good_entry, scan};
use crate::head_file::{self, HEAD_FILE, Head, HeadFile};
use crate::{LOG_FILE, LogFileError, io_err, sync_dir};

/// What the head file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadState {
    /// A whole slot: what was acknowledged.
    Whole(Head),
    /// No head file.
    Missing,
    /// Neither slot is whole.
    Damaged,
}

/// What recovery finds and would do.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The log file.
    pub log_file: PathBuf,
    /// Whether it exists.
    pub log_file_exists: bool,
    /// Its length in bytes.
    pub log_file_bytes: u64,
    /// Length up to the end of the last whole batch: what recovery keeps.
    pub keep_bytes: u64,
    /// Entries in the kept part.
    pub keep_entries: u64,
    /// The last whole tree head, if any.
    pub last_head: Option<SignedTreeHead>,
    /// Where the records stop being whole, and why.
    pub damage: Option<(u64, String)>,
    /// The head file.
    pub head: HeadState,
}

impl Plan {
    /// Entries the head file says were acknowledged.
    pub fn acknowledged_entries(&self) -> Option<u64> {
        match &self.head {
            HeadState::Whole(h) => Some(h.tree_head.tree_head().size()),
            _ => None,
        }
    }

    /// Acknowledged entries that recovery would drop (as far as the head file tells).
    pub fn acknowledged_dropped(&self) -> u64 {
        self.acknowledged_entries()
            .map_or(0, |a| a.saturating_sub(self.keep_entries))
    }

    /// Bytes recovery would cut off the log file.
    pub fn bytes_dropped(&self) -> u64 {
        self.log_file_bytes.saturating_sub(self.keep_bytes)
    }

    /// True when there is nothing to recover: the log file is whole and the head file agrees.
    pub fn is_clean(&self) -> bool {
        let head_agrees = match &self.head {
            HeadState::Whole(h) => {
                Some(&h.tree_head) == self.last_head.as_ref() && h.log_file_len == self.keep_bytes
            }
            HeadState::Missing => self.keep_entries == 0,
            HeadState::Damaged => false,
        };
        self.bytes_dropped() == 0 && head_agrees
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let j = self.log_file.display();
        if !self.log_file_exists {
            writeln!(f, "{j}: missing")?;
        } else {
            writeln!(
                f,
                "{j}: {} bytes; whole up to byte {} ({} entries, the last good entry is {})",
                self.log_file_bytes,
                self.keep_bytes,
                self.keep_entries,
                last_good_entry(self.keep_entries)
            )?;
        }
        if let Some((offset, why)) = &self.damage {
            writeln!(f, "{j}: at byte {offset}: {why}")?;
        }
        match &self.head {
            HeadState::Whole(h) => writeln!(
                f,
                "{HEAD_FILE}: {} acknowledged entries in {} bytes",
                h.tree_head.tree_head().size(),
                h.log_file_len
            )?,
            HeadState::Missing => writeln!(f, "{HEAD_FILE}: missing")?,
            HeadState::Damaged => writeln!(f, "{HEAD_FILE}: damaged (neither slot is whole)")?,
        }
        if self.is_clean() {
            return writeln!(f, "nothing to recover");
        }
        writeln!(
            f,
            "recovery cuts the log file to {} bytes, dropping {} bytes and {} acknowledged \
             entries, and records its last whole tree head (size {}) in {HEAD_FILE}",
            self.keep_bytes,
            self.bytes_dropped(),
            self.acknowledged_dropped(),
            self.keep_entries
        )
    }
}

/// Looks at the log file in `dir` and says what recovery would do. Changes nothing.
pub fn plan(dir: &Path) -> Result<Plan, LogFileError> {
    let log_file = dir.join(LOG_FILE);
    let head = match head_file::read(dir) {
        Ok(Some(h)) => HeadState::Whole(h),
        Ok(None) => HeadState::Missing,
        Err(LogFileError::Damaged { .. }) => HeadState::Damaged,
        Err(e) => return Err(e),
    };
    let log_file_bytes = match std::fs::metadata(&log_file) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&log_file)(e)),
    };
    let Some(log_file_bytes) = log_file_bytes else {
        return Ok(Plan {
            log_file,
            log_file_exists: false,
            log_file_bytes: 0,
            keep_bytes: 0,
            keep_entries: 0,
            last_head: None,
            damage: None,
            head,
        });
    };
    let scan_prefix = |limit: u64| {
        let file = std::fs::File::open(&log_file).map_err(io_err(&log_file))?;
        let mut r = file.take(limit);
        scan(&mut r, limit, u64::MAX, |_| Ok(())).map_err(|source| LogFileError::Scan {
            path: log_file.clone(),
            source,
        })
    };
    // A tree head that contradicts its entries ends the whole part just before it.
    let (scanned, damage) = match scan_prefix(log_file_bytes) {
        Ok(s) => {
            let damage = s.damage.map(|(o, why)| (o, why.to_string()));
            (s, damage)
        }
        Err(LogFileError::Scan {
            source: ScanError::Inconsistent { offset, why, .. },
            ..
        }) => (
            scan_prefix(offset)?,
            Some((
                offset,
                format!("tree head does not match its entries: {why}"),
            )),
        ),
        Err(e) => return Err(e),
    };
    Ok(Plan {
        log_file,
        log_file_exists: true,
        log_file_bytes,
        keep_bytes: scanned.valid_len,
        keep_entries: scanned.tree.len(),
        last_head: scanned.heads.last().cloned(),
        damage,
        head,
    })
}

/// Carries out `plan` (from [`plan`] on the same directory, with the service stopped): cuts the
/// log file to its last whole batch and records that batch's tree head in the head file.
pub fn apply(dir: &Path, plan: &Plan) -> Result<(), LogFileError> {
    let head_path = dir.join(HEAD_FILE);
    if plan.log_file_exists {
        let file = OpenOptions::new()
            .write(true)
            .open(&plan.log_file)
            .map_err(io_err(&plan.log_file))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LogFileError::Locked(plan.log_file.clone()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&plan.log_file)(e)),
        }
        let now = file.metadata().map_err(io_err(&plan.log_file))?.len();
        if now != plan.log_file_bytes {
            return Err(LogFileError::Failed(format!(
                "{}: changed since the plan was made ({} bytes, then {}): plan again",
                plan.log_file.display(),
                now,
                plan.log_file_bytes
            )));
        }
        file.set_len(plan.keep_bytes)
            .and_then(|()| file.sync_all())
            .map_err(io_err(&plan.log_file))?;
    }
    match &plan.last_head {
        Some(last) => {
            let seq = match &plan.head {
                HeadState::Whole(h) => h.seq + 1,
                _ => 0,
            };
            let head = Head {
                seq,
                log_file_len: plan.keep_bytes,
                tree_head: last.clone(),
            };
            HeadFile::open(&crate::storage::OsStorage, dir, &head, true)?;
        }
        None => match std::fs::remove_file(&head_path) {
            Ok(()) => sync_dir(dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&head_path)(e)),
        },
    }
    Ok(())
}
