//! The log file's frames and the recovery scan.
//!
//! Layout: the 8-byte magic `DCLJRN\x00\x01` (name, format version 1), then frames
//!
//! ```text
//! u32 LE  payload length
//! u8      kind: 1 = signed entry, 2 = signed tree head
//! [len]   payload: the entry's or tree head's canonical bytes (the export line without its newline)
//! u32 LE  CRC-32 (IEEE) of kind and payload
//! ```
//!
//! The writer appends one batch at a time — its entries, then the tree head that covers them —
//! and makes it durable with one `fdatasync` before any append of the batch is acknowledged. So
//! a file always holds whole batches, plus at most one batch whose write was interrupted. On
//! open, everything after the last valid tree head is that interrupted batch: never
//! acknowledged, it is cut off. Damage further back than one batch can hold is not a torn write
//! but corruption, and opening refuses (nothing is dropped silently).

use std::io::Read;

use deconflict_log::entry::ENTRY_BYTES_MAX;
use deconflict_log::sth::TREE_HEAD_BYTES_MAX;
use deconflict_log::{Hash, SignedTreeHead, Tree};

/// File magic and format version.
pub const MAGIC: &[u8; 8] = b"DCLJRN\x00\x01";
/// Frame kind of a signed entry.
pub const KIND_ENTRY: u8 = 1;
/// Frame kind of a signed tree head.
pub const KIND_TREE_HEAD: u8 = 2;
/// Bytes of framing around a payload.
pub const FRAME_BYTES: usize = 4 + 1 + 4;
/// Largest payload of any frame.
pub const PAYLOAD_BYTES_MAX: usize = ENTRY_BYTES_MAX;

/// Appends one frame to `buf`.
pub fn encode(buf: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    debug_assert!(payload.len() <= PAYLOAD_BYTES_MAX);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.push(kind);
    buf.extend_from_slice(payload);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(payload);
    buf.extend_from_slice(&crc.finalize().to_le_bytes());
}

/// What went wrong reading the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading failed.
    #[error("reading the log file: {0}")]
    Io(#[from] std::io::Error),
    /// Not a log file.
    #[error("not a deconflict log file (bad magic or unsupported version)")]
    BadMagic,
    /// A damaged frame followed by more data than one batch can hold.
    #[error(
        "frame at byte {offset} is damaged ({why}) and {after} bytes follow it: this is corruption, not an interrupted write; the last good entry is {}; refusing to open",
        last_good_entry(*entries)
    )]
    Corrupt {
        /// Byte offset of the damaged frame.
        offset: u64,
        /// What is wrong with it.
        why: &'static str,
        /// Bytes after it.
        after: u64,
        /// Entries covered by the last whole tree head before it.
        entries: u64,
    },
    /// A tree head that does not match the entries before it (the file was altered).
    #[error("tree head at byte {offset} does not match the {entries} entries before it: {why}")]
    Inconsistent {
        /// Byte offset of the frame.
        offset: u64,
        /// Entries before it.
        entries: u64,
        /// What differs.
        why: String,
    },
}

/// One frame as found in the file.
pub struct Found<'a> {
    /// Byte offset of the frame.
    pub offset: u64,
    /// Frame kind.
    pub kind: u8,
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// What the scan found: the state up to the last tree head.
#[derive(Debug)]
pub struct Scanned {
    /// The Merkle tree of the entries covered by the last tree head.
    pub tree: Tree,
    /// File offset of each entry's payload and its length.
    pub entry_offsets: Vec<(u64, u32)>,
    /// Every tree head, in order.
    pub heads: Vec<SignedTreeHead>,
    /// Offset just after the last tree head: the valid length of the file.
    pub valid_len: u64,
    /// Bytes after `valid_len` (an interrupted batch).
    pub torn_bytes: u64,
    /// Where the frames stop being whole, and why, when `torn_bytes` is not zero.
    pub damage: Option<(u64, &'static str)>,
}

/// Names the last entry of a log of `entries` entries, for error messages.
pub fn last_good_entry(entries: u64) -> String {
    match entries.checked_sub(1) {
        Some(i) => format!("entry {i}"),
        None => "none (no entry is whole)".into(),
    }
}

/// Reads a whole log file of `file_len` bytes and rebuilds the tree. `torn_bytes_max` bounds how
/// much damaged or uncovered data at the end is taken for an interrupted batch. `on_frame` sees
/// every frame up to the last tree head, in order (the export uses it).
pub fn scan(
    file: &mut impl Read,
    file_len: u64,
    torn_bytes_max: u64,
    mut on_frame: impl FnMut(&Found<'_>) -> std::io::Result<()>,
) -> Result<Scanned, ScanError> {
    let mut magic = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        let n = file.read(&mut magic[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got < 8 || &magic != MAGIC {
        return Err(ScanError::BadMagic);
    }
    let mut tree = Tree::new();
    let mut entry_offsets: Vec<(u64, u32)> = Vec::new();
    let mut heads = Vec::new();
    let mut valid_len = 8u64;
    // Frames read since the last tree head: not yet known to be part of a complete batch.
    let mut pending_entries: Vec<(u64, u32, Hash)> = Vec::new();
    let mut pending_frames: Vec<(u64, u8, Vec<u8>)> = Vec::new();
    let mut offset = 8u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let torn = loop {
        let mut head = [0u8; 5];
        match read_exact_or_eof(&mut reader, &mut head)? {
            0 => break None,
            5 => {}
            _ => break Some((offset, "header cut short")),
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = head[4];
        if len > PAYLOAD_BYTES_MAX.max(TREE_HEAD_BYTES_MAX)
            || !(kind == KIND_ENTRY || kind == KIND_TREE_HEAD)
        {
            break Some((offset, "bad length or kind"));
        }
        buf.resize(len + 4, 0);
        if read_exact_or_eof(&mut reader, &mut buf)? != len + 4 {
            break Some((offset, "frame cut short"));
        }
        let payload = &buf[..len];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[kind]);
        crc.update(payload);
        let stored = u32::from_le_bytes([buf[len], buf[len + 1], buf[len + 2], buf[len + 3]]);
        if crc.finalize() != stored {
            break Some((offset, "checksum mismatch"));
        }
        let payload_offset = offset + 5;
        if kind == KIND_ENTRY {
            pending_entries.push((payload_offset, len as u32, Hash::leaf(payload)));
            pending_frames.push((offset, kind, payload.to_vec()));
        } else {
            let sth = SignedTreeHead::from_bytes(payload).map_err(|e| ScanError::Inconsistent {
                offset,
                entries: tree.len() + pending_entries.len() as u64,
                why: e.to_string(),
            })?;
            for (o, l, h) in pending_entries.drain(..) {
                tree.push_leaf_hash(h);
                entry_offsets.push((o, l));
            }
            let th = sth.tree_head();
            if th.size() != tree.len() || *th.root() != tree.root() {
                return Err(ScanError::Inconsistent {
                    offset,
                    entries: tree.len(),
                    why: format!(
                        "it says size {} root {}, the entries give root {}",
                        th.size(),
                        th.root(),
                        tree.root()
                    ),
                });
            }
            for (o, k, p) in pending_frames.drain(..) {
                on_frame(&Found {
                    offset: o,
                    kind: k,
                    payload: &p,
                })?;
            }
            on_frame(&Found {
                offset,
                kind,
                payload,
            })?;
            heads.push(sth);
            valid_len = offset + (FRAME_BYTES + len) as u64;
        }
        offset += (FRAME_BYTES + len) as u64;
    };
    // Whatever follows the last tree head is one interrupted batch at most.
    let end = file_len.max(offset);
    let torn_bytes = end - valid_len;
    let damage =
        (torn_bytes > 0).then(|| torn.unwrap_or((valid_len, "entries not covered by a tree head")));
    if torn_bytes > torn_bytes_max
        && let Some((at, why)) = damage
    {
        return Err(ScanError::Corrupt {
            offset: at,
            why,
            after: end - at,
            entries: tree.len(),
        });
    }
    Ok(Scanned {
        tree,
        entry_offsets,
        heads,
        valid_len,
        torn_bytes,
        damage,
    })
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
