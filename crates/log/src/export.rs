//! The export format of a log, and its offline verifier.
//!
//! # Format (version 1)
//!
//! UTF-8 text, one record per line, each line the canonical JSON (RFC 8785, see
//! [`crate::canonical`]) of one record followed by `\n`; no other bytes.
//!
//! 1. Line 1, the header: `{"deconflict_log_export":1,"keys":{"<key id>":"<64 hex>",…},"log":"<key id>"}`
//!    — the format version, every public key the log knows (party ids and the log's own id),
//!    and the key id of the log that signs tree heads.
//! 2. Then, in the order the log wrote them:
//!    - signed entries `{"entry":{…},"sig":"<128 hex>"}` — the line's bytes are the Merkle leaf;
//!      the n-th entry line is leaf n (0-based). A party's countersignature of a tree head is an
//!      entry too (`tree_head_cosignature`); the tree head it names must appear on an earlier
//!      line, timestamp included;
//!    - signed tree heads `{"sig":"<128 hex>","sth":{"log":…,"root":…,"size":…,"time_ms":…,"v":1}}`
//!      — `size` equals the number of entry lines before it, and `time_ms` is strictly greater
//!      than the previous tree head's.
//! 3. Last line, the end record: `{"end":{"entries":N,"tree_heads":T}}` — counts
//!    that make a cut at a line boundary detectable. The last tree head must cover all N entries.
//!
//! A truncation that an attacker fixes up (cut after a tree head, rewrite the end record) yields
//! an older but genuine state of the log; only a tree head saved earlier (`--since-tree-head`)
//! can reveal it, which is why parties keep their last verified tree head.
//!
//! # Verification
//!
//! [`Verifier`] takes lines one by one and checks everything except entry signatures, which it
//! hands out in [`SignatureBatch`]es that the caller verifies (on as many threads as it likes;
//! this crate starts none). The first failure, in line order, is the answer.

use std::collections::HashMap;
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;

use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::entry::{ENTRY_BYTES_MAX, EntryBody, EntryError, SignedEntry, verify_many};
use crate::field::Count;
use crate::hash::Hash;
use crate::keys::{KeyId, KeyRing};
use crate::merkle::Tree;
use crate::sth::{SignedTreeHead, TreeHead, TreeHeadError};

/// The export format version.
pub const EXPORT_VERSION: u64 = 1;
/// Longest line accepted (the header with many keys is the longest record).
pub const LINE_BYTES_MAX: usize = 2 * ENTRY_BYTES_MAX;
/// Most keys in a header.
pub const KEYS_MAX: usize = 256;
/// Most entry signatures checked together in one batch. The batch's multi-scalar
/// multiplication costs less per signature the larger it is, up to about this size (its window
/// stops growing past 800 points, and its bucket sums are then a few per cent of the work).
pub const SIGNATURE_BATCH_LEN: usize = 4096;
/// Most entry bytes in one batch: entries near [`ENTRY_BYTES_MAX`] close a batch before
/// [`SIGNATURE_BATCH_LEN`], so that the memory a batch holds stays bounded whatever the export.
pub const SIGNATURE_BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    deconflict_log_export: u64,
    keys: KeyRing,
    log: KeyId,
}

/// Counts in the end record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndCounts {
    /// Entry lines.
    pub entries: u64,
    /// Tree head lines.
    pub tree_heads: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    end: EndCountsWire,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EndCountsWire {
    entries: Count,
    tree_heads: Count,
}

/// The header line (without its `\n`).
pub fn header_line(log: &KeyId, keys: &KeyRing) -> Vec<u8> {
    to_canonical(&Header {
        deconflict_log_export: EXPORT_VERSION,
        keys: keys.clone(),
        log: log.clone(),
    })
}

/// The end line (without its `\n`). Counts above 2^53 − 1 cannot occur in a log.
pub fn end_line(counts: EndCounts) -> Vec<u8> {
    let c = |v: u64| Count::new(v).unwrap_or_else(|_| unreachable!("count out of range"));
    to_canonical(&End {
        end: EndCountsWire {
            entries: c(counts.entries),
            tree_heads: c(counts.tree_heads),
        },
    })
}

/// Reads a header line: the log's key id and the keys it lists (for a caller that wants to
/// know whom the file names before verifying it).
pub fn parse_header(line: &[u8]) -> Result<(KeyId, KeyRing), VerifyError> {
    let err = |why: String| VerifyError {
        line: 1,
        entry: None,
        kind: VerifyErrorKind::Header(why),
    };
    let header: Header = from_canonical(line).map_err(|e| err(e.to_string()))?;
    if header.deconflict_log_export != EXPORT_VERSION {
        return Err(err(format!(
            "format version {} is not supported (expected {EXPORT_VERSION})",
            header.deconflict_log_export
        )));
    }
    Ok((header.log, header.keys))
}

/// An item of a log: what each line between an export's header and end holds (and each frame of
/// a log file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogItem {
    /// A signed entry (a leaf).
    Entry(SignedEntry),
    /// A tree head signed by the log.
    TreeHead(SignedTreeHead),
}

impl LogItem {
    /// Canonical bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            LogItem::Entry(e) => e.as_bytes(),
            LogItem::TreeHead(t) => t.as_bytes(),
        }
    }
}

/// What a line of an export holds, told by its first bytes (canonical JSON sorts keys, so each
/// kind of line has one fixed beginning). The one place these beginnings are spelt: readers of
/// exports classify lines with [`ExportLineKind::of`] (and entries with
/// [`crate::EntryKind::of_signed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportLineKind {
    /// `{"entry":`
    Entry,
    /// `{"sig":` (a signed tree head)
    TreeHead,
    /// `{"end":`
    End,
    /// `{"deconflict_log_export":`
    Header,
}

impl ExportLineKind {
    /// Classifies a line by its prefix; `None` when it is none of the kinds.
    pub fn of(line: &[u8]) -> Option<ExportLineKind> {
        const KINDS: [(&[u8], ExportLineKind); 4] = [
            (br#"{"entry":"#, ExportLineKind::Entry),
            (br#"{"sig":"#, ExportLineKind::TreeHead),
            (br#"{"end":"#, ExportLineKind::End),
            (br#"{"deconflict_log_export":"#, ExportLineKind::Header),
        ];
        KINDS
            .iter()
            .find(|(p, _)| line.starts_with(p))
            .map(|(_, k)| *k)
    }
}

/// What is wrong with an export, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {kind}", entry.map(|i| format!(" (entry {i})")).unwrap_or_default())]
pub struct VerifyError {
    /// 1-based line number.
    pub line: u64,
    /// 0-based entry index, when the line is (or should have been) an entry.
    pub entry: Option<u64>,
    /// Which check failed.
    pub kind: VerifyErrorKind,
}

/// Which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// The file is empty.
    #[error("the file is empty: no header")]
    Empty,
    /// A line longer than [`LINE_BYTES_MAX`].
    #[error("line of {len} bytes is longer than {LINE_BYTES_MAX}")]
    LineTooLong {
        /// Its length.
        len: usize,
    },
    /// The first line is not a valid header.
    #[error("header: {0}")]
    Header(String),
    /// The header names a key that differs from the pinned keys file.
    #[error("header binds {key_id} to a public key different from the one in the keys file")]
    PinnedKeyMismatch {
        /// Key id.
        key_id: KeyId,
    },
    /// No key for a signer.
    #[error("no public key for {key_id}")]
    UnknownKey {
        /// Key id.
        key_id: KeyId,
    },
    /// A line that is none of the records.
    #[error("not a record of a log export (expected an entry, tree head or end record)")]
    UnknownRecord,
    /// A second header.
    #[error("a second header")]
    SecondHeader,
    /// An entry line that does not parse or is out of range.
    #[error("entry: {0}")]
    Entry(EntryError),
    /// An entry whose signature does not verify.
    #[error("signature of author {author} does not verify")]
    EntrySignature {
        /// The entry's author.
        author: KeyId,
    },
    /// A tree head that does not parse, or whose signature does not verify.
    #[error("tree head: {0}")]
    TreeHead(TreeHeadError),
    /// A tree head of another log.
    #[error("tree head is signed as log {found}, but the export is of log {expected}")]
    OtherLog {
        /// The header's log.
        expected: KeyId,
        /// The tree head's.
        found: KeyId,
    },
    /// A tree head whose size is not the number of entries before it.
    #[error("tree head claims size {claimed} but {entries} entries precede it")]
    TreeHeadSize {
        /// Its size.
        claimed: u64,
        /// Entries before it.
        entries: u64,
    },
    /// A tree head whose root differs from the recomputed tree.
    #[error("tree head of size {size} has root {claimed}, but the entries give {computed}")]
    TreeHeadRoot {
        /// Size.
        size: u64,
        /// Root in the tree head.
        claimed: Hash,
        /// Root recomputed from the entries.
        computed: Hash,
    },
    /// A tree head not newer than the one before it.
    #[error("tree head time {time_ms} ms is not after the previous tree head's {previous_ms} ms")]
    TreeHeadTime {
        /// Its time.
        time_ms: u64,
        /// The previous one's.
        previous_ms: u64,
    },
    /// A countersignature of a tree head that does not appear earlier in the file.
    #[error(
        "countersignature by {party} of a tree head of size {size} that does not appear on an earlier line"
    )]
    CosignedUnknownHead {
        /// The party.
        party: KeyId,
        /// Size cosigned.
        size: u64,
    },
    /// A line after the end record.
    #[error("a record after the end record")]
    AfterEnd,
    /// The end record is missing: the file was cut.
    #[error("no end record: the file ends after {lines} lines (truncated?)")]
    MissingEnd {
        /// Lines read.
        lines: u64,
    },
    /// The last line has no `\n`: the file was cut.
    #[error("the last line has no newline (truncated?)")]
    NoFinalNewline,
    /// Counts in the end record differ from what was read.
    #[error("end record counts {claimed:?} differ from the file's {found:?}")]
    EndCounts {
        /// In the end record.
        claimed: EndCounts,
        /// Counted.
        found: EndCounts,
    },
    /// The end record's JSON is bad.
    #[error("end record: {0}")]
    End(CanonicalError),
    /// Entries after the last tree head.
    #[error(
        "{uncovered} entries after the last tree head (size {last_size}) are not covered by any tree head"
    )]
    Uncovered {
        /// Entries not covered.
        uncovered: u64,
        /// The last tree head's size (0 when there is none).
        last_size: u64,
    },
    /// The saved tree head is not signed by the log.
    #[error("saved tree head: {0}")]
    SavedHead(TreeHeadError),
    /// The saved tree head is of another log.
    #[error("saved tree head is of log {found}, the export is of log {expected}")]
    SavedHeadOtherLog {
        /// The export's log.
        expected: KeyId,
        /// The saved head's.
        found: KeyId,
    },
    /// The export is shorter than the saved tree head.
    #[error(
        "the saved tree head has size {saved_size}, but the export has only {entries} entries: the log was truncated or rolled back"
    )]
    SavedHeadBeyondEnd {
        /// Saved size.
        saved_size: u64,
        /// Entries in the export.
        entries: u64,
    },
    /// The export's tree at the saved size differs from the saved root: the log forked.
    #[error(
        "not consistent with the saved tree head: size {size} had root {saved}, the export gives {computed} (the log rewrote its history)"
    )]
    SavedHeadInconsistent {
        /// Saved size.
        size: u64,
        /// Saved root.
        saved: Hash,
        /// Recomputed root.
        computed: Hash,
    },
}

/// What the verifier is given besides the file.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Keys the party trusts (from the agreement, or a keys file). When present, only these
    /// keys are used, and the header must not contradict them. When absent, the header's keys
    /// are used (which proves integrity, not authorship).
    pub pinned_keys: Option<KeyRing>,
    /// A tree head the party verified earlier: the export must contain it.
    pub since: Option<SignedTreeHead>,
}

/// Counts and final state of a verified export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifySummary {
    /// Entries and tree heads.
    pub counts: EndCounts,
    /// The last tree head (it covers every entry).
    pub last_tree_head: SignedTreeHead,
    /// Whether keys were pinned from outside the file.
    pub keys_pinned: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Header,
    Body,
    Ended,
}

/// The streaming verifier. See the module documentation.
#[derive(Debug)]
pub struct Verifier {
    options: VerifyOptions,
    state: State,
    line: u64,
    log: Option<(KeyId, VerifyingKey)>,
    keys: Arc<KeyRing>,
    tree: Tree,
    counts: EndCounts,
    last_head: Option<SignedTreeHead>,
    /// Every tree head seen so far and its line, for countersignatures.
    heads_seen: HashMap<TreeHead, u64>,
    pending: SignatureBatch,
    ready: Vec<SignatureBatch>,
}

impl Verifier {
    /// A verifier waiting for the header line.
    pub fn new(options: VerifyOptions) -> Verifier {
        Verifier {
            options,
            state: State::Header,
            line: 0,
            log: None,
            keys: Arc::new(KeyRing::new()),
            tree: Tree::new(),
            counts: EndCounts::default(),
            last_head: None,
            heads_seen: HashMap::new(),
            pending: SignatureBatch::default(),
            ready: Vec::new(),
        }
    }

    /// Checks the next line (its bytes without the `\n`). After an error the verifier must not
    /// be used further.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), VerifyError> {
        self.line += 1;
        if line.len() > LINE_BYTES_MAX {
            return Err(self.err(None, VerifyErrorKind::LineTooLong { len: line.len() }));
        }
        match self.state {
            State::Header => self.header(line),
            State::Ended => Err(self.err(None, VerifyErrorKind::AfterEnd)),
            State::Body => match ExportLineKind::of(line) {
                Some(ExportLineKind::Entry) => self.entry(line),
                Some(ExportLineKind::TreeHead) => self.tree_head(line),
                Some(ExportLineKind::End) => self.end(line),
                Some(ExportLineKind::Header) => Err(self.err(None, VerifyErrorKind::SecondHeader)),
                None => Err(self.err(None, VerifyErrorKind::UnknownRecord)),
            },
        }
    }

    /// Takes a full batch of entry signatures to check, if one is ready.
    pub fn take_batch(&mut self) -> Option<SignatureBatch> {
        self.ready.pop()
    }

    /// Takes what remains of the entry signatures (call after the last line).
    pub fn take_rest(&mut self) -> Option<SignatureBatch> {
        if self.pending.items.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.pending))
        }
    }

    /// Checks the countersignatures found by [`SignatureBatch::verify`]: each must name a tree
    /// head of this log that appears on an earlier line. Returns the first failure in line order.
    pub fn check_cosignatures(&self, refs: &[CosignatureRef]) -> Result<(), VerifyError> {
        let log_id = self.log.as_ref().map(|(id, _)| id);
        let mut first: Option<VerifyError> = None;
        for r in refs {
            let ok = Some(r.tree_head.log()) == log_id
                && self
                    .heads_seen
                    .get(&r.tree_head)
                    .is_some_and(|at| *at < r.line);
            if !ok && first.as_ref().is_none_or(|e| r.line < e.line) {
                first = Some(VerifyError {
                    line: r.line,
                    entry: Some(r.index),
                    kind: VerifyErrorKind::CosignedUnknownHead {
                        party: r.party.clone(),
                        size: r.tree_head.size(),
                    },
                });
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Final checks once every line was pushed. `final_newline` tells whether the file ended
    /// with `\n`. Entry signatures are not part of this: every batch taken must verify too.
    pub fn finish(self, final_newline: bool) -> Result<VerifySummary, VerifyError> {
        let at = self.line;
        let err = |kind| VerifyError {
            line: at,
            entry: None,
            kind,
        };
        if self.line == 0 {
            return Err(err(VerifyErrorKind::Empty));
        }
        if self.state != State::Ended {
            return Err(err(VerifyErrorKind::MissingEnd { lines: self.line }));
        }
        if !final_newline {
            return Err(err(VerifyErrorKind::NoFinalNewline));
        }
        let (log_id, log_key) = match &self.log {
            Some(l) => l.clone(),
            None => unreachable!("a body implies a header"),
        };
        let Some(last) = self.last_head else {
            unreachable!("the end record is refused without a covering tree head")
        };
        if let Some(saved) = &self.options.since {
            saved
                .verify(&log_key)
                .map_err(|e| err(VerifyErrorKind::SavedHead(e)))?;
            let th = saved.tree_head();
            if *th.log() != log_id {
                return Err(err(VerifyErrorKind::SavedHeadOtherLog {
                    expected: log_id,
                    found: th.log().clone(),
                }));
            }
            let computed = self.tree.root_at(th.size()).map_err(|_| {
                err(VerifyErrorKind::SavedHeadBeyondEnd {
                    saved_size: th.size(),
                    entries: self.counts.entries,
                })
            })?;
            if computed != *th.root() {
                return Err(err(VerifyErrorKind::SavedHeadInconsistent {
                    size: th.size(),
                    saved: *th.root(),
                    computed,
                }));
            }
        }
        Ok(VerifySummary {
            counts: self.counts,
            last_tree_head: last,
            keys_pinned: self.options.pinned_keys.is_some(),
        })
    }

    /// The recomputed tree (for proofs against the verified export).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    fn err(&self, entry: Option<u64>, kind: VerifyErrorKind) -> VerifyError {
        VerifyError {
            line: self.line,
            entry,
            kind,
        }
    }

    fn header(&mut self, line: &[u8]) -> Result<(), VerifyError> {
        let header: Header = from_canonical(line)
            .map_err(|e| self.err(None, VerifyErrorKind::Header(e.to_string())))?;
        if header.deconflict_log_export != EXPORT_VERSION {
            return Err(self.err(
                None,
                VerifyErrorKind::Header(format!(
                    "format version {} is not supported (expected {EXPORT_VERSION})",
                    header.deconflict_log_export
                )),
            ));
        }
        if header.keys.len() > KEYS_MAX {
            return Err(self.err(
                None,
                VerifyErrorKind::Header(format!(
                    "{} keys, more than {KEYS_MAX}",
                    header.keys.len()
                )),
            ));
        }
        let keys = match &self.options.pinned_keys {
            Some(pinned) => {
                for (id, key) in header.keys.iter() {
                    if pinned.get(id).is_some_and(|p| p != key) {
                        return Err(self.err(
                            None,
                            VerifyErrorKind::PinnedKeyMismatch { key_id: id.clone() },
                        ));
                    }
                }
                pinned.clone()
            }
            None => header.keys,
        };
        let Some(log_key) = keys.get(&header.log).copied() else {
            return Err(self.err(None, VerifyErrorKind::UnknownKey { key_id: header.log }));
        };
        self.log = Some((header.log, log_key));
        self.keys = Arc::new(keys);
        self.pending.keys = self.keys.clone();
        self.state = State::Body;
        Ok(())
    }

    fn entry(&mut self, line: &[u8]) -> Result<(), VerifyError> {
        let index = self.counts.entries;
        self.tree.push(line);
        self.counts.entries += 1;
        self.pending.items.push(BatchItem {
            line: self.line,
            index,
            bytes: line.to_vec(),
        });
        self.pending.bytes += line.len();
        if self.pending.items.len() >= SIGNATURE_BATCH_LEN
            || self.pending.bytes >= SIGNATURE_BATCH_BYTES_MAX
        {
            let keys = self.keys.clone();
            let full = std::mem::replace(
                &mut self.pending,
                SignatureBatch {
                    keys,
                    items: Vec::with_capacity(SIGNATURE_BATCH_LEN),
                    bytes: 0,
                },
            );
            self.ready.push(full);
        }
        Ok(())
    }

    fn log(&self) -> (KeyId, VerifyingKey) {
        match &self.log {
            Some(l) => l.clone(),
            None => unreachable!("the body follows the header"),
        }
    }

    fn tree_head(&mut self, line: &[u8]) -> Result<(), VerifyError> {
        let (log_id, log_key) = self.log();
        let sth = SignedTreeHead::from_bytes(line)
            .map_err(|source| self.err(None, VerifyErrorKind::TreeHead(source)))?;
        let th = sth.tree_head();
        if *th.log() != log_id {
            return Err(self.err(
                None,
                VerifyErrorKind::OtherLog {
                    expected: log_id,
                    found: th.log().clone(),
                },
            ));
        }
        sth.verify(&log_key)
            .map_err(|source| self.err(None, VerifyErrorKind::TreeHead(source)))?;
        if th.size() != self.counts.entries {
            return Err(self.err(
                None,
                VerifyErrorKind::TreeHeadSize {
                    claimed: th.size(),
                    entries: self.counts.entries,
                },
            ));
        }
        let computed = self.tree.root();
        if computed != *th.root() {
            return Err(self.err(
                None,
                VerifyErrorKind::TreeHeadRoot {
                    size: th.size(),
                    claimed: *th.root(),
                    computed,
                },
            ));
        }
        if let Some(prev) = &self.last_head
            && th.time_ms() <= prev.tree_head().time_ms()
        {
            return Err(self.err(
                None,
                VerifyErrorKind::TreeHeadTime {
                    time_ms: th.time_ms(),
                    previous_ms: prev.tree_head().time_ms(),
                },
            ));
        }
        self.counts.tree_heads += 1;
        self.heads_seen.entry(th.clone()).or_insert(self.line);
        self.last_head = Some(sth);
        Ok(())
    }

    fn end(&mut self, line: &[u8]) -> Result<(), VerifyError> {
        let end: End = from_canonical(line).map_err(|e| self.err(None, VerifyErrorKind::End(e)))?;
        let claimed = EndCounts {
            entries: end.end.entries.get(),
            tree_heads: end.end.tree_heads.get(),
        };
        if claimed != self.counts {
            return Err(self.err(
                None,
                VerifyErrorKind::EndCounts {
                    claimed,
                    found: self.counts,
                },
            ));
        }
        let last_size = self.last_head.as_ref().map_or(0, |h| h.tree_head().size());
        if self.last_head.is_none() || last_size != self.counts.entries {
            return Err(self.err(
                None,
                VerifyErrorKind::Uncovered {
                    uncovered: self.counts.entries - last_size,
                    last_size,
                },
            ));
        }
        self.state = State::Ended;
        Ok(())
    }
}

#[derive(Clone, Debug)]
struct BatchItem {
    line: u64,
    index: u64,
    bytes: Vec<u8>,
}

/// A countersignature entry found while checking a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureRef {
    /// Its line.
    pub line: u64,
    /// Its entry index.
    pub index: u64,
    /// The countersigning party (the entry's author).
    pub party: KeyId,
    /// The tree head countersigned.
    pub tree_head: TreeHead,
}

/// Entry lines whose parsing and signatures remain to be checked. `Send`: check it on any
/// thread.
#[derive(Clone, Debug, Default)]
pub struct SignatureBatch {
    keys: Arc<KeyRing>,
    items: Vec<BatchItem>,
    /// The entries' bytes, together.
    bytes: usize,
}

impl SignatureBatch {
    /// Number of entries in the batch.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Parses every entry (canonical form, ranges) and checks every signature with its author's
    /// key. Signatures are checked together with Ed25519 batch verification; if the batch fails,
    /// each is checked alone (strictly) to name the first bad one. Returns the first error in
    /// line order, or the countersignatures found, for [`Verifier::check_cosignatures`].
    pub fn verify(&self) -> Result<Vec<CosignatureRef>, VerifyError> {
        let mut cosignatures = Vec::new();
        let mut keys = Vec::with_capacity(self.items.len());
        let mut parsed = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let err = |kind| VerifyError {
                line: item.line,
                entry: Some(item.index),
                kind,
            };
            let e =
                SignedEntry::from_bytes(&item.bytes).map_err(|e| err(VerifyErrorKind::Entry(e)))?;
            let author = e.entry().author();
            let Some(key) = self.keys.get(author) else {
                return Err(err(VerifyErrorKind::UnknownKey {
                    key_id: author.clone(),
                }));
            };
            if let EntryBody::TreeHeadCosignature { tree_head } = e.entry().body() {
                cosignatures.push(CosignatureRef {
                    line: item.line,
                    index: item.index,
                    party: author.clone(),
                    tree_head: tree_head.clone(),
                });
            }
            keys.push(*key);
            parsed.push(e);
        }
        let items: Vec<(&SignedEntry, &VerifyingKey)> = parsed.iter().zip(&keys).collect();
        if verify_many(&items) {
            return Ok(cosignatures);
        }
        for ((item, e), key) in self.items.iter().zip(&parsed).zip(&keys) {
            if e.verify(key).is_err() {
                return Err(VerifyError {
                    line: item.line,
                    entry: Some(item.index),
                    kind: VerifyErrorKind::EntrySignature {
                        author: e.entry().author().clone(),
                    },
                });
            }
        }
        // Batch verification failed but every strict single check passed: cannot happen for
        // honest input; refuse rather than accept what one of the two equations rejects.
        let first = &self.items[0];
        Err(VerifyError {
            line: first.line,
            entry: Some(first.index),
            kind: VerifyErrorKind::EntrySignature {
                author: parsed[0].entry().author().clone(),
            },
        })
    }
}

/// Verifies a whole export held in memory, on the calling thread.
pub fn verify_export(bytes: &[u8], options: VerifyOptions) -> Result<VerifySummary, VerifyError> {
    let mut v = Verifier::new(options);
    let mut first_sig_error: Option<VerifyError> = None;
    let mut cosignatures = Vec::new();
    let mut check = |batch: SignatureBatch| {
        if first_sig_error.is_none() {
            match batch.verify() {
                Ok(refs) => cosignatures.extend(refs),
                Err(e) => first_sig_error = Some(e),
            }
        }
    };
    let final_newline = bytes.last() == Some(&b'\n');
    let body = if final_newline {
        &bytes[..bytes.len() - 1]
    } else {
        bytes
    };
    let mut result = Ok(());
    if !bytes.is_empty() {
        for line in body.split(|b| *b == b'\n') {
            if let Err(e) = v.push_line(line) {
                result = Err(e);
                break;
            }
            while let Some(b) = v.take_batch() {
                check(b);
            }
        }
    }
    while let Some(b) = v.take_batch() {
        check(b);
    }
    if let Some(b) = v.take_rest() {
        check(b);
    }
    let cosignature_error = v.check_cosignatures(&cosignatures).err();
    let summary = result.and_then(|()| v.finish(final_newline));
    earliest(earliest(summary, first_sig_error), cosignature_error)
}

/// Combines a structural result with the first signature error: the error on the earlier line
/// wins, so the message always names the first thing wrong in the file.
pub fn earliest(
    structural: Result<VerifySummary, VerifyError>,
    signature: Option<VerifyError>,
) -> Result<VerifySummary, VerifyError> {
    match (structural, signature) {
        (Ok(s), None) => Ok(s),
        (Ok(_), Some(e)) | (Err(e), None) => Err(e),
        (Err(a), Some(b)) => Err(if b.line < a.line { b } else { a }),
    }
}
