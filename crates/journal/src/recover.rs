//! Explicit recovery of a journal that [`crate::Journal::open`] refuses: find the last whole
//! batch, say what cutting the journal back to it would drop (bytes, and acknowledged entries
//! the head file remembers), and cut it only when asked. Dropping acknowledged entries rolls
//! the record back: parties holding a later tree head will see it. That is an operator's
//! decision, made with the plan in front of them, never the journal's.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::{Path, PathBuf};

use deconflict_ledger::SignedTreeHead;

use crate::head_file::{self, HEAD_FILE, Head, HeadFile};
use crate::record::{ScanError, last_good_entry, scan};
use crate::{JOURNAL_FILE, JournalError, io_err, sync_dir};

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
    /// The journal file.
    pub journal: PathBuf,
    /// Whether it exists.
    pub journal_exists: bool,
    /// Its length in bytes.
    pub journal_bytes: u64,
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

    /// Bytes recovery would cut off the journal.
    pub fn bytes_dropped(&self) -> u64 {
        self.journal_bytes.saturating_sub(self.keep_bytes)
    }

    /// True when there is nothing to recover: the journal is whole and the head file agrees.
    pub fn is_clean(&self) -> bool {
        let head_agrees = match &self.head {
            HeadState::Whole(h) => {
                Some(&h.tree_head) == self.last_head.as_ref() && h.journal_len == self.keep_bytes
            }
            HeadState::Missing => self.keep_entries == 0,
            HeadState::Damaged => false,
        };
        self.bytes_dropped() == 0 && head_agrees
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let j = self.journal.display();
        if !self.journal_exists {
            writeln!(f, "{j}: missing")?;
        } else {
            writeln!(
                f,
                "{j}: {} bytes; whole up to byte {} ({} entries, the last good entry is {})",
                self.journal_bytes,
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
                h.journal_len
            )?,
            HeadState::Missing => writeln!(f, "{HEAD_FILE}: missing")?,
            HeadState::Damaged => writeln!(f, "{HEAD_FILE}: damaged (neither slot is whole)")?,
        }
        if self.is_clean() {
            return writeln!(f, "nothing to recover");
        }
        writeln!(
            f,
            "recovery cuts the journal to {} bytes, dropping {} bytes and {} acknowledged \
             entries, and records its last whole tree head (size {}) in {HEAD_FILE}",
            self.keep_bytes,
            self.bytes_dropped(),
            self.acknowledged_dropped(),
            self.keep_entries
        )
    }
}

/// Looks at the journal in `dir` and says what recovery would do. Changes nothing.
pub fn plan(dir: &Path) -> Result<Plan, JournalError> {
    let journal = dir.join(JOURNAL_FILE);
    let head = match head_file::read(dir) {
        Ok(Some(h)) => HeadState::Whole(h),
        Ok(None) => HeadState::Missing,
        Err(JournalError::Damaged { .. }) => HeadState::Damaged,
        Err(e) => return Err(e),
    };
    let journal_bytes = match std::fs::metadata(&journal) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&journal)(e)),
    };
    let Some(journal_bytes) = journal_bytes else {
        return Ok(Plan {
            journal,
            journal_exists: false,
            journal_bytes: 0,
            keep_bytes: 0,
            keep_entries: 0,
            last_head: None,
            damage: None,
            head,
        });
    };
    let scan_prefix = |limit: u64| {
        let file = std::fs::File::open(&journal).map_err(io_err(&journal))?;
        let mut r = file.take(limit);
        scan(&mut r, limit, u64::MAX, |_| Ok(())).map_err(|source| JournalError::Scan {
            path: journal.clone(),
            source,
        })
    };
    // A tree head that contradicts its entries ends the whole part just before it.
    let (scanned, damage) = match scan_prefix(journal_bytes) {
        Ok(s) => {
            let damage = s.damage.map(|(o, why)| (o, why.to_string()));
            (s, damage)
        }
        Err(JournalError::Scan {
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
        journal,
        journal_exists: true,
        journal_bytes,
        keep_bytes: scanned.valid_len,
        keep_entries: scanned.tree.len(),
        last_head: scanned.heads.last().cloned(),
        damage,
        head,
    })
}

/// Carries out `plan` (from [`plan`] on the same directory, with the service stopped): cuts the
/// journal to its last whole batch and records that batch's tree head in the head file.
pub fn apply(dir: &Path, plan: &Plan) -> Result<(), JournalError> {
    let head_path = dir.join(HEAD_FILE);
    if plan.journal_exists {
        let file = OpenOptions::new()
            .write(true)
            .open(&plan.journal)
            .map_err(io_err(&plan.journal))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked(plan.journal.clone()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&plan.journal)(e)),
        }
        let now = file.metadata().map_err(io_err(&plan.journal))?.len();
        if now != plan.journal_bytes {
            return Err(JournalError::Failed(format!(
                "{}: changed since the plan was made ({} bytes, then {}): plan again",
                plan.journal.display(),
                now,
                plan.journal_bytes
            )));
        }
        file.set_len(plan.keep_bytes)
            .and_then(|()| file.sync_all())
            .map_err(io_err(&plan.journal))?;
    }
    match &plan.last_head {
        Some(last) => {
            let seq = match &plan.head {
                HeadState::Whole(h) => h.seq + 1,
                _ => 0,
            };
            let head = Head {
                seq,
                journal_len: plan.keep_bytes,
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
