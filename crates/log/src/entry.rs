//! Log entries: what is recorded, by whom, when; and the signed, canonical form that becomes a
//! leaf of the Merkle tree.
//!
//! Encoding (version 1): the canonical JSON (see [`crate::canonical`]) of
//! `{"author":…,"body":{"<kind>":{…}},"time_ms":…,"v":1}`. The author signs
//! `"deconflict-ledger/v1/entry\n" || entry bytes` with Ed25519; the leaf is the canonical JSON of
//! `{"entry":<entry>,"sig":"<128 hex>"}`, which is also one line of an export.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::field::{Count, FieldError, Fields, Text};
use crate::hash::Hash;
use crate::keys::{KeyId, Sig};
use crate::sth::{TreeHead, TreeHeadError};

/// The entry encoding version this crate writes and reads.
pub const ENTRY_VERSION: u64 = 1;
/// Largest signed entry (the leaf bytes), in bytes.
pub const ENTRY_BYTES_MAX: usize = 64 * 1024;
/// Most parties named in one alert.
pub const ALERT_PARTIES_MAX: usize = 16;
/// Domain separation of entry signatures: an entry signature can never be replayed as a tree
/// head or cosignature signature, nor the other way round.
pub const ENTRY_SIGNING_CONTEXT: &[u8] = b"deconflict-ledger/v1/entry\n";

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The bytes are longer than [`ENTRY_BYTES_MAX`].
    #[error("entry of {len} bytes is longer than {max}")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// [`ENTRY_BYTES_MAX`].
        max: usize,
    },
    /// Not canonical JSON of a signed entry.
    #[error("signed entry: {0}")]
    Encoding(#[from] CanonicalError),
    /// A version this crate does not know.
    #[error("entry version {0} is not supported (expected {ENTRY_VERSION})")]
    Version(u64),
    /// A field out of range.
    #[error("entry field: {0}")]
    Field(#[from] FieldError),
    /// Too many parties in an alert.
    #[error("alert names {0} parties, more than {ALERT_PARTIES_MAX}")]
    TooManyParties(usize),
    /// A report batch of no report.
    #[error("a report batch must hold at least one report")]
    EmptyBatch,
    /// A countersigned tree head of an unknown version.
    #[error("countersigned tree head: {0}")]
    TreeHead(TreeHeadError),
    /// The signature does not verify with the author's key.
    #[error("signature of {author} does not verify")]
    BadSignature {
        /// The entry's author.
        author: KeyId,
    },
}

/// What happened to an agreement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementEventKind {
    /// A party signed a version of the agreement.
    Signed,
    /// Every party has signed: the version is in force.
    InForce,
    /// A party declared the agreement suspended.
    Suspended,
    /// All parties reactivated it.
    Reactivated,
    /// A condition was attached.
    ConditionAttached,
    /// A new version was proposed.
    Amended,
    /// A party terminated the agreement (final).
    Terminated,
    /// A party signed a reactivation; in force again when every party's is in the log.
    ReactivationSigned,
}

/// The kinds of entry: the tag of an [`EntryBody`] in the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// [`EntryBody::AgreementEvent`]
    AgreementEvent,
    /// [`EntryBody::Notification`]
    Notification,
    /// [`EntryBody::NotificationWithdrawal`]
    NotificationWithdrawal,
    /// [`EntryBody::TrackSummary`]
    TrackSummary,
    /// [`EntryBody::Alert`]
    Alert,
    /// [`EntryBody::LineMessage`]
    LineMessage,
    /// [`EntryBody::Acknowledgement`]
    Acknowledgement,
    /// [`EntryBody::IncidentReport`]
    IncidentReport,
    /// [`EntryBody::ReportBatch`]
    ReportBatch,
    /// [`EntryBody::TreeHeadCosignature`]
    TreeHeadCosignature,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 10] = [
        EntryKind::AgreementEvent,
        EntryKind::Notification,
        EntryKind::NotificationWithdrawal,
        EntryKind::TrackSummary,
        EntryKind::Alert,
        EntryKind::LineMessage,
        EntryKind::Acknowledgement,
        EntryKind::IncidentReport,
        EntryKind::ReportBatch,
        EntryKind::TreeHeadCosignature,
    ];

    /// The kind's name as spelt in the encoding (`notification`, `track_summary`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::AgreementEvent => "agreement_event",
            EntryKind::Notification => "notification",
            EntryKind::NotificationWithdrawal => "notification_withdrawal",
            EntryKind::TrackSummary => "track_summary",
            EntryKind::Alert => "alert",
            EntryKind::LineMessage => "line_message",
            EntryKind::Acknowledgement => "acknowledgement",
            EntryKind::IncidentReport => "incident_report",
            EntryKind::ReportBatch => "report_batch",
            EntryKind::TreeHeadCosignature => "tree_head_cosignature",
        }
    }

    /// The kind named `name` in the encoding.
    pub fn from_name(name: &[u8]) -> Option<EntryKind> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.as_str().as_bytes() == name)
    }

    /// The kind of the signed entry whose canonical bytes (a leaf, or an export line with or
    /// without its newline) are `bytes`, told from their fixed beginning
    /// `{"entry":{"author":"<id>","body":{"<kind>":` without parsing the rest, so that a reader
    /// of a large log parses only the entries it wants. `None` when the bytes do not begin like
    /// a signed entry. A filter only: nothing else is checked, so what is used is parsed
    /// ([`SignedEntry::from_bytes`]).
    pub fn of_signed(bytes: &[u8]) -> Option<EntryKind> {
        let rest = bytes.strip_prefix(SIGNED_ENTRY_AUTHOR.as_bytes())?;
        // Key ids hold no quote (`KeyId::new`), so the first one ends the author.
        let q = rest.iter().position(|&b| b == b'"')?;
        let rest = rest[q..].strip_prefix(AFTER_AUTHOR_BODY.as_bytes())?;
        let q = rest.iter().position(|&b| b == b'"')?;
        rest[q..]
            .starts_with(b"\":")
            .then(|| EntryKind::from_name(&rest[..q]))
            .flatten()
    }
}

/// How the canonical form of every signed entry begins, up to its author's id (keys sorted:
/// `entry` < `sig`, `author` < `body`).
const SIGNED_ENTRY_AUTHOR: &str = r#"{"entry":{"author":""#;
/// What follows the author's id, up to the body's tag.
const AFTER_AUTHOR_BODY: &str = r#"","body":{""#;

/// The kind-specific content of an entry. Domain content that varies (areas, altitude blocks,
/// closest approach, message text) lives in [`Fields`], where each field can be disclosed or
/// committed to separately.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EntryBody {
    /// An agreement event; `digest` is SHA-256 of the agreement's canonical bytes.
    AgreementEvent {
        /// Agreement id.
        agreement_id: Text,
        /// SHA-256 of the agreement version's canonical encoding.
        digest: Hash,
        /// What happened.
        event: AgreementEventKind,
        /// Free-text reason (suspension), absent when none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Text>,
        /// Agreement version.
        version: Count,
    },
    /// A notification of operations (area, altitude block, window, callsigns as fields).
    Notification {
        /// Its content.
        fields: Fields,
        /// Notification id.
        notification_id: Text,
    },
    /// A notification withdrawn by its author.
    NotificationWithdrawal {
        /// The withdrawn notification.
        notification_id: Text,
        /// Why, absent when not given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Text>,
    },
    /// A track's state at the time of an alert.
    TrackSummary {
        /// The alert it belongs to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert_id: Option<Text>,
        /// Position, velocity, altitude… as fixed-point fields.
        fields: Fields,
        /// The track.
        track_id: Text,
    },
    /// An alert raised by the service (conflict, violation, crossing).
    Alert {
        /// Alert id.
        alert_id: Text,
        /// Details (closest approach, times).
        fields: Fields,
        /// Alert level, e.g. `"warning"`.
        level: Text,
        /// Parties alerted.
        parties: Vec<KeyId>,
    },
    /// A message on the deconfliction line.
    LineMessage {
        /// Template and its arguments.
        fields: Fields,
        /// Message id.
        message_id: Text,
    },
    /// An acknowledgement of a message (or alert, or notification) by its recipient.
    Acknowledgement {
        /// Id of what is acknowledged.
        acknowledges: Text,
        /// Details (channel, latency).
        fields: Fields,
    },
    /// A party's account of an incident.
    IncidentReport {
        /// The account.
        fields: Fields,
        /// Incident id.
        incident_id: Text,
    },
    /// A party's track reports accepted in one cycle of the service, committed by the root of a
    /// Merkle tree (the log's own leaf and node hashing) whose leaves are the reports'
    /// [`report_leaf_hash`]es in sequence order: any one report can later be shown with its path to this root
    /// and this entry's inclusion in the log, without each report being an entry of its own.
    ReportBatch {
        /// How many reports, numbered `first_seq ..= first_seq + count - 1`.
        count: Count,
        /// The party's sequence number of the first report.
        first_seq: Count,
        /// The party whose reports these are.
        party: KeyId,
        /// Root of the batch's tree.
        root: Hash,
    },
    /// A party's countersignature of a tree head it fetched and checked: the entry's signature
    /// is the countersignature. The tree head must be one the log signed earlier.
    TreeHeadCosignature {
        /// The tree head countersigned (as signed by the log, timestamp included).
        tree_head: TreeHead,
    },
}

impl EntryBody {
    /// The entry's kind.
    pub fn entry_kind(&self) -> EntryKind {
        match self {
            EntryBody::AgreementEvent { .. } => EntryKind::AgreementEvent,
            EntryBody::Notification { .. } => EntryKind::Notification,
            EntryBody::NotificationWithdrawal { .. } => EntryKind::NotificationWithdrawal,
            EntryBody::TrackSummary { .. } => EntryKind::TrackSummary,
            EntryBody::Alert { .. } => EntryKind::Alert,
            EntryBody::LineMessage { .. } => EntryKind::LineMessage,
            EntryBody::Acknowledgement { .. } => EntryKind::Acknowledgement,
            EntryBody::IncidentReport { .. } => EntryKind::IncidentReport,
            EntryBody::ReportBatch { .. } => EntryKind::ReportBatch,
            EntryBody::TreeHeadCosignature { .. } => EntryKind::TreeHeadCosignature,
        }
    }

    /// The kind's name as spelt in the encoding (`notification`, `track_summary`, …).
    pub fn kind(&self) -> &'static str {
        self.entry_kind().as_str()
    }

    /// What the entry is about: the notification, track, alert, message, acknowledged message or
    /// incident's id, or the agreement's; none for a countersignature.
    pub fn subject(&self) -> Option<&str> {
        match self {
            EntryBody::AgreementEvent { agreement_id, .. } => Some(agreement_id.as_str()),
            EntryBody::Notification {
                notification_id, ..
            }
            | EntryBody::NotificationWithdrawal {
                notification_id, ..
            } => Some(notification_id.as_str()),
            EntryBody::TrackSummary { track_id, .. } => Some(track_id.as_str()),
            EntryBody::Alert { alert_id, .. } => Some(alert_id.as_str()),
            EntryBody::LineMessage { message_id, .. } => Some(message_id.as_str()),
            EntryBody::Acknowledgement { acknowledges, .. } => Some(acknowledges.as_str()),
            EntryBody::IncidentReport { incident_id, .. } => Some(incident_id.as_str()),
            EntryBody::ReportBatch { party, .. } => Some(party.as_str()),
            EntryBody::TreeHeadCosignature { .. } => None,
        }
    }

    /// The entry's named fields, for the kinds that have them.
    pub fn fields(&self) -> Option<&Fields> {
        match self {
            EntryBody::Notification { fields, .. }
            | EntryBody::TrackSummary { fields, .. }
            | EntryBody::Alert { fields, .. }
            | EntryBody::LineMessage { fields, .. }
            | EntryBody::Acknowledgement { fields, .. }
            | EntryBody::IncidentReport { fields, .. } => Some(fields),
            EntryBody::AgreementEvent { .. }
            | EntryBody::NotificationWithdrawal { .. }
            | EntryBody::ReportBatch { .. }
            | EntryBody::TreeHeadCosignature { .. } => None,
        }
    }
}

/// The leaf hash of report `seq` of `party` in an [`EntryBody::ReportBatch`]. The leaf is the
/// party id, the sequence number in decimal, the report's evidence fields as JSON (`core`: what
/// any reader of an incident may see: time and position) and the hex digest of the rest (the
/// whole report, salted by the log, so that fields the agreement does not disclose are bound
/// without being shown), separated by single newlines.
pub fn report_leaf_hash(party: &str, seq: u64, core: &str, rest: &Hash) -> Hash {
    // `party \n seq \n core \n hex(rest)`, hashed as it is written.
    let digits = crate::hash::hex_lower(&rest.0);
    Hash::leaf_of_parts(&[
        party.as_bytes(),
        b"\n",
        seq.to_string().as_bytes(),
        b"\n",
        core.as_bytes(),
        b"\n",
        digits.as_str().as_bytes(),
    ])
}

/// An unsigned entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    // Fields in sorted order: see `canonical::to_canonical`.
    /// Key id of the signer: a party id, or the service's own id.
    author: KeyId,
    /// What is recorded.
    body: EntryBody,
    /// When the author made the entry, ms since the Unix epoch (the caller's `now`).
    time_ms: Count,
    /// Encoding version ([`ENTRY_VERSION`]).
    v: u64,
}

impl Entry {
    /// A new entry. `time_ms` is the caller's clock (ms since the Unix epoch).
    pub fn new(author: KeyId, time_ms: u64, body: EntryBody) -> Result<Entry, EntryError> {
        let e = Entry {
            v: ENTRY_VERSION,
            author,
            time_ms: Count::new(time_ms)?,
            body,
        };
        e.check()?;
        Ok(e)
    }

    /// A countersignature of `tree_head` by `party` (sign the result with the party's key).
    pub fn cosignature(
        party: KeyId,
        time_ms: u64,
        tree_head: TreeHead,
    ) -> Result<Entry, EntryError> {
        Entry::new(party, time_ms, EntryBody::TreeHeadCosignature { tree_head })
    }

    /// The signer.
    pub fn author(&self) -> &KeyId {
        &self.author
    }

    /// The author's timestamp, ms since the Unix epoch.
    pub fn time_ms(&self) -> u64 {
        self.time_ms.get()
    }

    /// The content.
    pub fn body(&self) -> &EntryBody {
        &self.body
    }

    /// Canonical bytes of the unsigned entry.
    pub fn to_canonical(&self) -> Vec<u8> {
        to_canonical(self)
    }

    fn check(&self) -> Result<(), EntryError> {
        if self.v != ENTRY_VERSION {
            return Err(EntryError::Version(self.v));
        }
        match &self.body {
            EntryBody::Alert {
                parties, fields, ..
            } => {
                if parties.len() > ALERT_PARTIES_MAX {
                    return Err(EntryError::TooManyParties(parties.len()));
                }
                fields.check()?;
            }
            EntryBody::Notification { fields, .. }
            | EntryBody::TrackSummary { fields, .. }
            | EntryBody::LineMessage { fields, .. }
            | EntryBody::Acknowledgement { fields, .. }
            | EntryBody::IncidentReport { fields, .. } => fields.check()?,
            EntryBody::TreeHeadCosignature { tree_head } => {
                tree_head.check().map_err(EntryError::TreeHead)?
            }
            EntryBody::ReportBatch { count, .. } => {
                if count.get() == 0 {
                    return Err(EntryError::EmptyBatch);
                }
            }
            EntryBody::AgreementEvent { .. } | EntryBody::NotificationWithdrawal { .. } => {}
        }
        Ok(())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedEntryWire {
    entry: Entry,
    sig: Sig,
}

/// A signed entry in canonical form: the leaf of the Merkle tree. Only constructed by signing or
/// by parsing canonical bytes, so its bytes are always canonical and its fields in range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEntry {
    entry: Entry,
    sig: Sig,
    bytes: Vec<u8>,
}

/// `{"entry":` — the canonical form begins with it (keys sorted: "entry" < "sig").
const PREFIX_LEN: usize = br#"{"entry":"#.len();
/// `,"sig":"<128 hex>"}` — the canonical form ends with it.
const SUFFIX_LEN: usize = br#","sig":""#.len() + 128 + br#""}"#.len();

impl SignedEntry {
    /// Signs `entry` with the author's key.
    pub fn sign(entry: Entry, key: &SigningKey) -> Result<SignedEntry, EntryError> {
        entry.check()?;
        let sig = Sig(key.sign(&signing_message(&entry.to_canonical())).to_bytes());
        SignedEntry::assemble(entry, sig)
    }

    /// The signed entry from `entry` and its author's signature `sig` made elsewhere (the
    /// author signed [`SignedEntry::signing_message`] of these bytes). Does not check the
    /// signature: see [`SignedEntry::verify`].
    pub fn from_parts(entry: Entry, sig: Sig) -> Result<SignedEntry, EntryError> {
        entry.check()?;
        SignedEntry::assemble(entry, sig)
    }

    /// The canonical signed form `{"entry":<entry>,"sig":"<128 hex>"}` of a checked entry.
    fn assemble(entry: Entry, sig: Sig) -> Result<SignedEntry, EntryError> {
        let wire = SignedEntryWire { entry, sig };
        let bytes = to_canonical(&wire);
        if bytes.len() > ENTRY_BYTES_MAX {
            return Err(EntryError::TooLarge {
                len: bytes.len(),
                max: ENTRY_BYTES_MAX,
            });
        }
        Ok(SignedEntry {
            entry: wire.entry,
            sig: wire.sig,
            bytes,
        })
    }

    /// Parses the canonical bytes of a signed entry (a leaf, or an export line without its
    /// newline). Does not check the signature: see [`SignedEntry::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedEntry, EntryError> {
        if bytes.len() > ENTRY_BYTES_MAX {
            return Err(EntryError::TooLarge {
                len: bytes.len(),
                max: ENTRY_BYTES_MAX,
            });
        }
        let wire: SignedEntryWire = from_canonical(bytes)?;
        wire.entry.check()?;
        Ok(SignedEntry {
            entry: wire.entry,
            sig: wire.sig,
            bytes: bytes.to_vec(),
        })
    }

    /// Checks the author's signature (strict Ed25519 verification: no malleable encodings).
    pub fn verify(&self, author_key: &VerifyingKey) -> Result<(), EntryError> {
        author_key
            .verify_strict(&self.signing_message(), &self.sig.to_dalek())
            .map_err(|_| EntryError::BadSignature {
                author: self.entry.author.clone(),
            })
    }

    /// The message the author signed: the context string, then the canonical entry bytes.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(self.entry_bytes())
    }

    /// The canonical bytes of the unsigned entry, sliced from the signed form.
    pub fn entry_bytes(&self) -> &[u8] {
        &self.bytes[PREFIX_LEN..self.bytes.len() - SUFFIX_LEN]
    }

    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The signature.
    pub fn sig(&self) -> &Sig {
        &self.sig
    }

    /// The canonical bytes: the Merkle leaf.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `SHA-256(0x00 || bytes)`.
    pub fn leaf_hash(&self) -> Hash {
        Hash::leaf(&self.bytes)
    }
}

/// Checks many signed entries, each against its author's key, with one Ed25519 batch
/// verification: `true` when every signature holds; `false` says only that one does not (check
/// each with [`SignedEntry::verify`] to find it).
///
/// The batch equation is the cofactored one of RFC 8032 §5.1.7 (as validated by ZIP 215), with
/// the terms of each author's key coalesced: a log has few authors, so the multi-scalar
/// multiplication is about half the size of checking each signature's terms apart. The random
/// coefficients come from a ChaCha20 stream seeded with SHA-256 of every key, signature and
/// message hash in the batch, so that no signature can be chosen after its coefficient (the
/// derandomisation ed25519-dalek's own batch check uses), and this crate stays deterministic.
/// Like any batch check it also accepts a signature whose R carries a small-order component,
/// which strict single verification refuses and only the key's holder can make.
pub fn verify_many(items: &[(&SignedEntry, &VerifyingKey)]) -> bool {
    use rand_chacha::rand_core::SeedableRng;
    use sha2::Digest;
    if items.is_empty() {
        return true;
    }
    let mut seed = sha2::Sha256::new();
    seed.update(b"deconflict batch verification v1");
    let mut batch = ed25519_zebra::batch::Verifier::new();
    let mut message = Vec::with_capacity(ENTRY_BYTES_MAX);
    for (e, key) in items {
        message.clear();
        message.extend_from_slice(ENTRY_SIGNING_CONTEXT);
        message.extend_from_slice(e.entry_bytes());
        let key_bytes = ed25519_zebra::VerificationKeyBytes::from(key.to_bytes());
        let sig = e.sig().to_dalek();
        seed.update(key.as_bytes());
        seed.update(sig.to_bytes());
        seed.update(sha2::Sha256::digest(&message));
        batch.queue((key_bytes, sig, &message[..]));
    }
    let rng = rand_chacha::ChaCha20Rng::from_seed(seed.finalize().into());
    batch.verify(rng).is_ok()
}

fn signing_message(entry_bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(ENTRY_SIGNING_CONTEXT.len() + entry_bytes.len());
    m.extend_from_slice(ENTRY_SIGNING_CONTEXT);
    m.extend_from_slice(entry_bytes);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldValue;

    /// The leaf format, fixed: `SHA-256(0x00 ‖ party \n seq \n core \n hex(rest))`, the value
    /// computed outside this code (Python's hashlib) for these inputs.
    #[test]
    fn a_report_leaf_is_the_documented_hash() {
        let core = r#"{"track_id":"T1","time_unix_ms":1700000000000,"lat_deg":35.5,"lon_deg":39.25,"alt_m":3000.0}"#;
        let leaf = report_leaf_hash("coalition", 7, core, &Hash::of(b"x"));
        assert_eq!(
            leaf.to_hex(),
            "780c156dd454f33bcadecdfd89c17a5b79aae6727cce59d191fc1eb946b0b899"
        );
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    fn alert() -> Entry {
        let fields = Fields::new()
            .with("cpa_h_m", FieldValue::int(480).unwrap())
            .unwrap()
            .with("note", FieldValue::text("близко").unwrap())
            .unwrap();
        Entry::new(
            KeyId::new("service").unwrap(),
            1_700_000_000_000,
            EntryBody::Alert {
                alert_id: Text::new("a-1").unwrap(),
                level: Text::new("warning").unwrap(),
                parties: vec![KeyId::new("blue").unwrap(), KeyId::new("red").unwrap()],
                fields,
            },
        )
        .unwrap()
    }

    #[test]
    fn golden_encoding_of_an_alert() {
        let e = alert();
        assert_eq!(
            String::from_utf8(e.to_canonical()).unwrap(),
            r#"{"author":"service","body":{"alert":{"alert_id":"a-1","fields":{"cpa_h_m":{"int":480},"note":{"text":"близко"}},"level":"warning","parties":["blue","red"]}},"time_ms":1700000000000,"v":1}"#
        );
    }

    /// `kind()` is the tag the encoding writes, and `subject()` / `fields()` read the body.
    #[test]
    fn kind_subject_and_fields_follow_the_encoding() {
        let t = |s: &str| Text::new(s).unwrap();
        let f = Fields::new()
            .with("x", FieldValue::int(1).unwrap())
            .unwrap();
        let bodies = [
            EntryBody::AgreementEvent {
                agreement_id: t("sha256:ab"),
                digest: Hash([0; 32]),
                event: AgreementEventKind::Signed,
                reason: None,
                version: Count::new(1).unwrap(),
            },
            EntryBody::Notification {
                fields: f.clone(),
                notification_id: t("n-1"),
            },
            EntryBody::NotificationWithdrawal {
                notification_id: t("n-1"),
                reason: None,
            },
            EntryBody::TrackSummary {
                alert_id: None,
                fields: f.clone(),
                track_id: t("p/1"),
            },
            alert().body().clone(),
            EntryBody::LineMessage {
                fields: f.clone(),
                message_id: t("m-1"),
            },
            EntryBody::Acknowledgement {
                acknowledges: t("m-1"),
                fields: f.clone(),
            },
            EntryBody::IncidentReport {
                fields: f.clone(),
                incident_id: t("i-1"),
            },
        ];
        let subjects = ["sha256:ab", "n-1", "n-1", "p/1", "a-1", "m-1", "m-1", "i-1"];
        for (b, subject) in bodies.iter().zip(subjects) {
            let json = String::from_utf8(to_canonical(b)).unwrap();
            assert!(json.starts_with(&format!("{{\"{}\":", b.kind())), "{json}");
            assert_eq!(b.subject(), Some(subject));
            let has_fields = json.contains("\"fields\":");
            assert_eq!(b.fields().is_some(), has_fields, "{json}");
            if let Some(fields) = b.fields() {
                assert_eq!(fields.iter().count(), fields.len());
            }
            // Its signed form tells its kind from its first bytes, newline or not.
            let author = KeyId::new("coalition").unwrap();
            let signed =
                SignedEntry::sign(Entry::new(author, 5, b.clone()).unwrap(), &key()).unwrap();
            let mut line = signed.as_bytes().to_vec();
            assert_eq!(EntryKind::of_signed(&line), Some(b.entry_kind()));
            line.push(b'\n');
            assert_eq!(EntryKind::of_signed(&line), Some(b.entry_kind()));
            assert_eq!(
                EntryKind::from_name(b.kind().as_bytes()),
                Some(b.entry_kind())
            );
        }
    }

    #[test]
    fn bytes_that_do_not_begin_like_a_signed_entry_have_no_kind() {
        let signed = SignedEntry::sign(alert(), &key()).unwrap();
        let bytes = signed.as_bytes();
        assert_eq!(EntryKind::of_signed(bytes), Some(EntryKind::Alert));
        for cut in 0..br#"{"entry":{"author":"service","body":{"alert":"#.len() {
            assert_eq!(EntryKind::of_signed(&bytes[..cut]), None, "cut at {cut}");
        }
        for other in [
            &br#"{"sig":"00","sth":{}}"#[..],
            br#"{"end":{"entries":1,"tree_heads":1}}"#,
            br#"{"entry":{"author":"x","body":{"no_such_kind":{}}}}"#,
            br#"{"entry":{"body":{"alert":{}}}}"#,
            b"",
        ] {
            assert_eq!(EntryKind::of_signed(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_signature_made_elsewhere_joins_its_entry_in_the_signed_form() {
        let signed = SignedEntry::sign(alert(), &key()).unwrap();
        let joined = SignedEntry::from_parts(alert(), *signed.sig()).unwrap();
        assert_eq!(joined, signed);
        assert_eq!(SignedEntry::from_bytes(joined.as_bytes()).unwrap(), signed);
        assert!(joined.verify(&key().verifying_key()).is_ok());
        // Joined to another entry, the signature is kept as given and does not verify.
        let other = Entry::new(alert().author().clone(), 1, alert().body().clone()).unwrap();
        let wrong = SignedEntry::from_parts(other, *signed.sig()).unwrap();
        assert!(wrong.verify(&key().verifying_key()).is_err());
    }

    /// Each agreement event kind has one spelling; the ones written before the last two were
    /// added are unchanged.
    #[test]
    fn golden_spelling_of_every_agreement_event_kind() {
        use AgreementEventKind as K;
        let spelled: Vec<String> = [
            K::Signed,
            K::InForce,
            K::Suspended,
            K::Reactivated,
            K::ConditionAttached,
            K::Amended,
            K::Terminated,
            K::ReactivationSigned,
        ]
        .iter()
        .map(|k| String::from_utf8(to_canonical(k)).unwrap())
        .collect();
        assert_eq!(
            spelled,
            [
                r#""signed""#,
                r#""in_force""#,
                r#""suspended""#,
                r#""reactivated""#,
                r#""condition_attached""#,
                r#""amended""#,
                r#""terminated""#,
                r#""reactivation_signed""#
            ]
        );
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let s = SignedEntry::sign(alert(), &key()).unwrap();
        assert!(s.as_bytes().starts_with(br#"{"entry":{"author""#));
        assert_eq!(s.entry_bytes(), &alert().to_canonical()[..]);
        let back = SignedEntry::from_bytes(s.as_bytes()).unwrap();
        assert_eq!(back, s);
        back.verify(&key().verifying_key()).unwrap();
        let other = SigningKey::from_bytes(&[43; 32]).verifying_key();
        assert!(matches!(
            back.verify(&other),
            Err(EntryError::BadSignature { .. })
        ));
    }

    #[test]
    fn non_canonical_and_explicit_null_are_refused() {
        let s = SignedEntry::sign(alert(), &key()).unwrap();
        let text = String::from_utf8(s.as_bytes().to_vec()).unwrap();
        let spaced = text.replacen(r#""v":1"#, r#""v": 1"#, 1);
        assert!(SignedEntry::from_bytes(spaced.as_bytes()).is_err());
        let w = Entry::new(
            KeyId::new("blue").unwrap(),
            5,
            EntryBody::NotificationWithdrawal {
                notification_id: Text::new("n").unwrap(),
                reason: None,
            },
        )
        .unwrap();
        let s = SignedEntry::sign(w, &key()).unwrap();
        let text = String::from_utf8(s.as_bytes().to_vec()).unwrap();
        let with_null = text.replacen(
            r#""notification_id":"n""#,
            r#""notification_id":"n","reason":null"#,
            1,
        );
        assert!(SignedEntry::from_bytes(with_null.as_bytes()).is_err());
    }

    #[test]
    fn wrong_version_is_refused() {
        let s = SignedEntry::sign(alert(), &key()).unwrap();
        let text = String::from_utf8(s.as_bytes().to_vec()).unwrap();
        let v2 = text.replacen(r#""v":1"#, r#""v":2"#, 1);
        assert_eq!(
            SignedEntry::from_bytes(v2.as_bytes()),
            Err(EntryError::Version(2))
        );
    }

    #[test]
    fn many_signatures_of_few_keys_are_checked_together_and_one_bad_one_fails_the_batch() {
        let keys: Vec<SigningKey> = (1..=3u8)
            .map(|k| SigningKey::from_bytes(&[k; 32]))
            .collect();
        let signed: Vec<(SignedEntry, VerifyingKey)> = (0..60u64)
            .map(|n| {
                let k = &keys[(n % 3) as usize];
                let e = Entry::new(
                    KeyId::new(format!("p{}", n % 3)).unwrap(),
                    n,
                    EntryBody::NotificationWithdrawal {
                        notification_id: Text::new(format!("n{n}")).unwrap(),
                        reason: None,
                    },
                )
                .unwrap();
                (SignedEntry::sign(e, k).unwrap(), k.verifying_key())
            })
            .collect();
        let items: Vec<(&SignedEntry, &VerifyingKey)> =
            signed.iter().map(|(e, k)| (e, k)).collect();
        assert!(verify_many(&items));
        assert!(verify_many(&[]));
        // One entry checked against another author's key.
        let mut wrong_key = items.clone();
        wrong_key[17].1 = items[18].1;
        assert!(!verify_many(&wrong_key));
        // One signature altered in its last byte (s no longer matches).
        let mut bytes = signed[31].0.as_bytes().to_vec();
        let at = bytes.len() - 3;
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        let altered = SignedEntry::from_bytes(&bytes).unwrap();
        let mut with_altered = items.clone();
        with_altered[31].0 = &altered;
        assert!(!verify_many(&with_altered));
        assert!(altered.verify(&signed[31].1).is_err());
    }
}
