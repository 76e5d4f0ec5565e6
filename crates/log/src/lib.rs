//! `deconflict-log`: the tamper-evident shared log, as a sans-IO library; the one owner of its
//! byte format (entry encoding and kinds, signing bytes, parsing, the export format).
//!
//! What it owns:
//! - log entries (agreement events, notifications and withdrawals, track summaries, alerts, line
//!   messages, acknowledgements, incident reports) in a versioned canonical encoding (RFC 8785
//!   JSON, integers and strings only), each signed by its author with Ed25519 ([`entry`]);
//! - salted commitments for fields not yet disclosed, and their openings ([`field`]);
//! - the Merkle tree of RFC 9162 §2.1 with inclusion and consistency proofs ([`merkle`]);
//! - signed tree heads, fork evidence and the check a party runs on each new tree head ([`sth`]);
//!   countersignatures by parties are entries, so their order is tamper-evident too;
//! - the export format and its offline verifier ([`export`]).
//!
//! What it must never do: I/O of any kind (files, sockets), read a clock (every time is a
//! `time_ms` argument), draw randomness (salts and keys come from the caller), start threads or
//! use async runtimes. Durable storage is `deconflict-logfile`; HTTP is the service. Given the
//! same inputs it produces the same bytes.

pub mod canonical;
pub mod entry;
pub mod export;
pub mod field;
pub mod hash;
pub mod keys;
pub mod merkle;
pub mod sth;

pub use entry::{
    AgreementEventKind, Entry, EntryBody, EntryError, EntryKind, SignedEntry, report_leaf_hash,
};
pub use export::{
    CosignatureRef, ExportLineKind, LogItem, SignatureBatch, Verifier, VerifyError,
    VerifyErrorKind, VerifyOptions, VerifySummary, verify_export,
};
pub use field::{FieldError, FieldValue, Fields, Opening, Salt, Text};
pub use hash::Hash;
pub use keys::{KeyError, KeyId, KeyRing, PublicKey, Sig};
pub use merkle::{ConsistencyProof, InclusionProof, ProofError, Tree};
pub use sth::{
    ForkEvidence, HeadCheckError, Monitor, SavedHeadError, SignedTreeHead, TreeHead, TreeHeadError,
    TreeHeadUpdate, check_new_head, in_history, saved_tree_head_from_json,
};

/// Re-exported so callers name the same key types as this crate.
pub use ed25519_dalek::{SigningKey, VerifyingKey};
