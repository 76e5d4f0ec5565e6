//! Signed tree heads (RFC 9162 §4.10 in spirit: size, root hash, timestamp, signed by the log),
//! fork evidence, and the check a party runs on every new tree head. A party's countersignature
//! of a tree head is a log entry ([`crate::EntryBody::TreeHeadCosignature`]), so that when and
//! in what order it was given is itself part of the tamper-evident record.
//!
//! Encodings (version 1, canonical JSON):
//! - tree head: `{"log":…,"root":"<64 hex>","size":…,"time_ms":…,"v":1}`, signed as
//!   `"deconflict-ledger/v1/tree-head\n" || tree head bytes`; signed form
//!   `{"sig":"<128 hex>","sth":<tree head>}`.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::canonical::{CanonicalError, from_canonical, to_canonical};
use crate::field::{Count, FieldError};
use crate::hash::Hash;
use crate::keys::{KeyId, Sig};
use crate::merkle::{ConsistencyProof, ProofError};

/// The tree head encoding version.
pub const TREE_HEAD_VERSION: u64 = 1;
/// Domain separation of tree head signatures.
pub const TREE_HEAD_SIGNING_CONTEXT: &[u8] = b"deconflict-ledger/v1/tree-head\n";
/// Largest signed tree head accepted from outside, in bytes.
pub const TREE_HEAD_BYTES_MAX: usize = 1024;

/// Why a tree head was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeHeadError {
    /// Longer than [`TREE_HEAD_BYTES_MAX`].
    #[error("{len} bytes, more than {TREE_HEAD_BYTES_MAX}")]
    TooLarge {
        /// Bytes given.
        len: usize,
    },
    /// Not canonical JSON of the expected shape.
    #[error("{0}")]
    Encoding(#[from] CanonicalError),
    /// A version this crate does not know.
    #[error("tree head version {0} is not supported (expected {TREE_HEAD_VERSION})")]
    Version(u64),
    /// A number out of range.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// The signature does not verify.
    #[error("signature of {signer} does not verify")]
    BadSignature {
        /// Who should have signed.
        signer: KeyId,
    },
}

/// A tree head: the log `log` had `size` entries with root `root` at `time_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    // Fields in sorted order: see `canonical::to_canonical`.
    log: KeyId,
    root: Hash,
    size: Count,
    time_ms: Count,
    v: u64,
}

impl TreeHead {
    /// A tree head. `time_ms` is the caller's clock, ms since the Unix epoch.
    pub fn new(log: KeyId, size: u64, root: Hash, time_ms: u64) -> Result<TreeHead, FieldError> {
        Ok(TreeHead {
            v: TREE_HEAD_VERSION,
            log,
            size: Count::new(size)?,
            root,
            time_ms: Count::new(time_ms)?,
        })
    }

    /// Key id of the log (the service) that signs it.
    pub fn log(&self) -> &KeyId {
        &self.log
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size.get()
    }

    /// Root hash of the tree of `size` entries.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// When the log signed it, ms since the Unix epoch.
    pub fn time_ms(&self) -> u64 {
        self.time_ms.get()
    }

    pub(crate) fn check(&self) -> Result<(), TreeHeadError> {
        if self.v != TREE_HEAD_VERSION {
            return Err(TreeHeadError::Version(self.v));
        }
        Ok(())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedTreeHeadWire {
    sig: Sig,
    sth: TreeHead,
}

/// A tree head signed by the log, in canonical form.
///
/// As a field of another JSON document (an API response, a state file) it is written as the
/// object `{"sig":…,"sth":{…}}`; reading it back recomputes the canonical bytes, so spacing in
/// the surrounding document does not matter, while any change of a value breaks the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTreeHead {
    tree_head: TreeHead,
    sig: Sig,
    bytes: Vec<u8>,
}

impl serde::Serialize for SignedTreeHead {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SignedTreeHeadWire {
            sig: self.sig,
            sth: self.tree_head.clone(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for SignedTreeHead {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = SignedTreeHeadWire::deserialize(d)?;
        wire.sth.check().map_err(serde::de::Error::custom)?;
        let bytes = to_canonical(&wire);
        Ok(SignedTreeHead {
            tree_head: wire.sth,
            sig: wire.sig,
            bytes,
        })
    }
}

/// What a log hands a party that last verified the tree of `consistency.old_size`: the latest
/// signed tree head and the proof that it extends the old one. Check it with
/// [`check_new_head`]. JSON: `{"consistency":{"new_size":…,"old_size":…,"path":[…]},"tree_head":{…}}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHeadUpdate {
    /// The latest signed tree head.
    pub tree_head: SignedTreeHead,
    /// Consistency proof from the party's size to `tree_head`'s size.
    pub consistency: ConsistencyProof,
}

impl SignedTreeHead {
    /// Signs with the log's key.
    pub fn sign(tree_head: TreeHead, key: &SigningKey) -> SignedTreeHead {
        let msg = context_message(TREE_HEAD_SIGNING_CONTEXT, &to_canonical(&tree_head));
        let sig = Sig(key.sign(&msg).to_bytes());
        let wire = SignedTreeHeadWire {
            sig,
            sth: tree_head,
        };
        let bytes = to_canonical(&wire);
        SignedTreeHead {
            tree_head: wire.sth,
            sig,
            bytes,
        }
    }

    /// Parses canonical bytes. Does not check the signature: see [`SignedTreeHead::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedTreeHead, TreeHeadError> {
        if bytes.len() > TREE_HEAD_BYTES_MAX {
            return Err(TreeHeadError::TooLarge { len: bytes.len() });
        }
        let wire: SignedTreeHeadWire = from_canonical(bytes)?;
        wire.sth.check()?;
        Ok(SignedTreeHead {
            tree_head: wire.sth,
            sig: wire.sig,
            bytes: bytes.to_vec(),
        })
    }

    /// Checks the log's signature.
    pub fn verify(&self, log_key: &VerifyingKey) -> Result<(), TreeHeadError> {
        let msg = context_message(TREE_HEAD_SIGNING_CONTEXT, &to_canonical(&self.tree_head));
        log_key
            .verify_strict(&msg, &self.sig.to_dalek())
            .map_err(|_| TreeHeadError::BadSignature {
                signer: self.tree_head.log.clone(),
            })
    }

    /// The tree head.
    pub fn tree_head(&self) -> &TreeHead {
        &self.tree_head
    }

    /// Canonical bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn context_message(context: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + bytes.len());
    m.extend_from_slice(context);
    m.extend_from_slice(bytes);
    m
}

/// Evidence that a log signed two different trees of the same size: both tree heads carry valid
/// signatures by the same log key, so the log cannot deny either. Hand both byte strings to the
/// working group; anyone with the log's public key can check them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEvidence {
    /// One signed tree head.
    pub first: SignedTreeHead,
    /// The other, same log and size, different root.
    pub second: SignedTreeHead,
}

impl ForkEvidence {
    /// Returns evidence when `a` and `b` are validly signed by `log_key`, name the same log and
    /// size, and have different roots; `None` otherwise (including when a signature is bad,
    /// since an unsigned claim proves nothing about the log).
    pub fn detect(
        a: &SignedTreeHead,
        b: &SignedTreeHead,
        log_key: &VerifyingKey,
    ) -> Option<ForkEvidence> {
        let (ta, tb) = (a.tree_head(), b.tree_head());
        let fork = ta.log == tb.log && ta.size == tb.size && ta.root != tb.root;
        if fork && a.verify(log_key).is_ok() && b.verify(log_key).is_ok() {
            Some(ForkEvidence {
                first: a.clone(),
                second: b.clone(),
            })
        } else {
            None
        }
    }

    /// Re-checks the evidence (for whoever receives it).
    pub fn verify(&self, log_key: &VerifyingKey) -> bool {
        ForkEvidence::detect(&self.first, &self.second, log_key).is_some()
    }
}

/// Why a new tree head was not accepted by [`check_new_head`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadCheckError {
    /// The head kept as the last verified one does not verify with the log's key: the state
    /// it was kept in was altered (or belongs to another log).
    #[error(
        "saved tree head (size {size}): {source}; the state file was altered, refusing to trust it"
    )]
    SavedHead {
        /// The size it claims.
        size: u64,
        /// Why it does not verify.
        source: TreeHeadError,
    },
    /// The new head's signature is bad.
    #[error("new tree head: {0}")]
    Signature(TreeHeadError),
    /// The new head is from another log.
    #[error("new tree head is from log {found}, expected {expected}")]
    OtherLog {
        /// The log we follow.
        expected: KeyId,
        /// The log named.
        found: KeyId,
    },
    /// The log signed a different root for the size we already hold: a fork.
    #[error("fork: the log signed two different roots for size {}", .0.first.tree_head().size())]
    Fork(Box<ForkEvidence>),
    /// The log went backwards.
    #[error("new tree head has size {new}, smaller than the {old} already verified")]
    Shrunk {
        /// Verified size.
        old: u64,
        /// New size.
        new: u64,
    },
    /// The proof is not between the two sizes.
    #[error("consistency proof is for sizes {proof_old}→{proof_new}, expected {old}→{new}")]
    ProofSizes {
        /// Verified size.
        old: u64,
        /// New size.
        new: u64,
        /// Proof's old size.
        proof_old: u64,
        /// Proof's new size.
        proof_new: u64,
    },
    /// The consistency proof fails: the new tree does not extend the old one.
    #[error("consistency proof {old}→{new} does not verify: {source}")]
    Inconsistent {
        /// Verified size.
        old: u64,
        /// New size.
        new: u64,
        /// Why.
        source: ProofError,
    },
    /// The timestamp went backwards.
    #[error("new tree head time {new_ms} ms is before the verified one's {old_ms} ms")]
    TimeWentBack {
        /// Verified time.
        old_ms: u64,
        /// New time.
        new_ms: u64,
    },
}

/// The check a party runs when it fetches a new tree head: signed by the log, from the same
/// log, not smaller, not older, and consistent with the last head it verified (RFC 9162 §8.1.2
/// in spirit). On success the caller stores `new` as its last verified head.
pub fn check_new_head(
    last: Option<&SignedTreeHead>,
    new: &SignedTreeHead,
    proof: &ConsistencyProof,
    log_key: &VerifyingKey,
) -> Result<(), HeadCheckError> {
    new.verify(log_key).map_err(HeadCheckError::Signature)?;
    let Some(last) = last else {
        return Ok(());
    };
    let (old, nh) = (last.tree_head(), new.tree_head());
    if old.log != nh.log {
        return Err(HeadCheckError::OtherLog {
            expected: old.log.clone(),
            found: nh.log.clone(),
        });
    }
    if let Some(evidence) = ForkEvidence::detect(last, new, log_key) {
        return Err(HeadCheckError::Fork(Box::new(evidence)));
    }
    if nh.size() < old.size() {
        return Err(HeadCheckError::Shrunk {
            old: old.size(),
            new: nh.size(),
        });
    }
    if nh.time_ms() < old.time_ms() {
        return Err(HeadCheckError::TimeWentBack {
            old_ms: old.time_ms(),
            new_ms: nh.time_ms(),
        });
    }
    if proof.old_size != old.size() || proof.new_size != nh.size() {
        return Err(HeadCheckError::ProofSizes {
            old: old.size(),
            new: nh.size(),
            proof_old: proof.old_size,
            proof_new: proof.new_size,
        });
    }
    proof
        .verify(old.root(), nh.root())
        .map_err(|source| HeadCheckError::Inconsistent {
            old: old.size(),
            new: nh.size(),
            source,
        })
}

/// Whether a tree head that another party countersigned (`theirs`) is in the history of the
/// head this party verified (`ours`): the same root at the same size, or `proof` shows that the
/// tree of `theirs` is a prefix of the tree of `ours` (RFC 9162 §2.1.4). `false` for a head of
/// another log or a larger size. A `false` for a head inside the other party's signed
/// countersignature is evidence that the log showed the two parties different trees (a split
/// view).
pub fn in_history(theirs: &TreeHead, ours: &TreeHead, proof: &ConsistencyProof) -> bool {
    if theirs.log() != ours.log() || theirs.size() > ours.size() {
        return false;
    }
    if theirs.size() == ours.size() {
        return theirs.root() == ours.root();
    }
    proof.old_size == theirs.size()
        && proof.new_size == ours.size()
        && proof.verify(theirs.root(), ours.root()).is_ok()
}

/// What a party keeps between two fetches of the log's tree head: the log it follows, the log's
/// public key, and the last tree head it verified. JSON:
/// `{"log":"<key id>","log_key":"<64 hex>","tree_head":{…}|null}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// The log followed.
    log: KeyId,
    /// The log's public key.
    log_key: crate::keys::PublicKey,
    /// The last verified tree head (none before the first check). Private so that it changes
    /// only through [`Monitor::accept`], which verifies it first.
    tree_head: Option<SignedTreeHead>,
}

impl Monitor {
    /// A monitor that has verified nothing yet.
    pub fn new(log: KeyId, log_key: VerifyingKey) -> Monitor {
        Monitor {
            log,
            log_key: crate::keys::PublicKey(log_key),
            tree_head: None,
        }
    }

    /// The log followed.
    pub fn log(&self) -> &KeyId {
        &self.log
    }

    /// The log's public key.
    pub fn log_key(&self) -> &crate::keys::PublicKey {
        &self.log_key
    }

    /// The last verified tree head (none before the first check).
    pub fn tree_head(&self) -> Option<&SignedTreeHead> {
        self.tree_head.as_ref()
    }

    /// Checks `update` against the last verified head ([`check_new_head`]) and, if it passes,
    /// keeps the new head. The kept head's own signature is checked first: it was read back from
    /// a file, and an altered head would make every later check meaningless.
    pub fn accept(&mut self, update: &TreeHeadUpdate) -> Result<(), HeadCheckError> {
        self.check_saved()?;
        let found = update.tree_head.tree_head().log();
        if *found != self.log {
            return Err(HeadCheckError::OtherLog {
                expected: self.log.clone(),
                found: found.clone(),
            });
        }
        let proof = match &self.tree_head {
            Some(_) => update.consistency.clone(),
            // Nothing to be consistent with yet: only the signature counts.
            None => ConsistencyProof {
                old_size: 0,
                new_size: update.tree_head.tree_head().size(),
                path: Vec::new(),
            },
        };
        check_new_head(
            self.tree_head.as_ref(),
            &update.tree_head,
            &proof,
            &self.log_key.0,
        )?;
        self.tree_head = Some(update.tree_head.clone());
        Ok(())
    }

    /// Checks that the kept head (if any) is signed by the log's key and names the log.
    pub fn check_saved(&self) -> Result<(), HeadCheckError> {
        let Some(saved) = &self.tree_head else {
            return Ok(());
        };
        let size = saved.tree_head().size();
        saved
            .verify(&self.log_key.0)
            .map_err(|source| HeadCheckError::SavedHead { size, source })?;
        if *saved.tree_head().log() != self.log {
            return Err(HeadCheckError::OtherLog {
                expected: self.log.clone(),
                found: saved.tree_head().log().clone(),
            });
        }
        Ok(())
    }

    /// Parses the JSON form.
    pub fn from_json(bytes: &[u8]) -> Result<Monitor, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The JSON form, indented, with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self)
            .unwrap_or_else(|e| unreachable!("in-crate types serialise: {e}"));
        v.push(b'\n');
        v
    }
}

impl TreeHeadUpdate {
    /// Parses the JSON form.
    pub fn from_json(bytes: &[u8]) -> Result<TreeHeadUpdate, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The JSON form, indented, with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self)
            .unwrap_or_else(|e| unreachable!("in-crate types serialise: {e}"));
        v.push(b'\n');
        v
    }
}

/// Reads a saved tree head from any of the documents that carry one: a signed tree head
/// (`{"sig":…,"sth":…}`, e.g. a line of an export), a [`TreeHeadUpdate`], or a [`Monitor`] state.
pub fn saved_tree_head_from_json(bytes: &[u8]) -> Result<SignedTreeHead, SavedHeadError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Any {
        Head(SignedTreeHead),
        Update(TreeHeadUpdate),
        Monitor(Monitor),
    }
    match serde_json::from_slice::<Any>(bytes) {
        Ok(Any::Head(h)) | Ok(Any::Update(TreeHeadUpdate { tree_head: h, .. })) => Ok(h),
        Ok(Any::Monitor(m)) => m.tree_head.ok_or(SavedHeadError::NoHeadYet),
        Err(_) => Err(SavedHeadError::NotATreeHead),
    }
}

/// Why [`saved_tree_head_from_json`] found no tree head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SavedHeadError {
    /// A monitor state that has verified nothing yet.
    #[error("the state file holds no tree head yet")]
    NoHeadYet,
    /// None of the documents that carry a tree head.
    #[error(
        "expected a signed tree head {{\"sig\":…,\"sth\":…}}, a tree head update or a check-head state file"
    )]
    NotATreeHead,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::Tree;

    fn log_key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    fn head(tree: &Tree, size: u64, time_ms: u64) -> SignedTreeHead {
        let th = TreeHead::new(
            KeyId::new("service").unwrap(),
            size,
            tree.root_at(size).unwrap(),
            time_ms,
        )
        .unwrap();
        SignedTreeHead::sign(th, &log_key())
    }

    #[test]
    fn embedded_tree_head_round_trips_and_keeps_its_signature() {
        let th = TreeHead::new(KeyId::new("service").unwrap(), 0, Hash::empty_tree(), 5).unwrap();
        let s = SignedTreeHead::sign(th, &log_key());
        let pretty = serde_json::to_string_pretty(&s).unwrap();
        let back: SignedTreeHead = serde_json::from_str(&pretty).unwrap();
        assert_eq!(back, s);
        back.verify(&log_key().verifying_key()).unwrap();
        let altered = pretty.replace("\"time_ms\": 5", "\"time_ms\": 6");
        let back: SignedTreeHead = serde_json::from_str(&altered).unwrap();
        assert!(back.verify(&log_key().verifying_key()).is_err());
    }

    #[test]
    fn monitor_follows_a_growing_log_and_refuses_a_fork() {
        let mut t = Tree::new();
        for i in 0..5u8 {
            t.push(&[i]);
        }
        let vk = log_key().verifying_key();
        let mut m = Monitor::new(KeyId::new("service").unwrap(), vk);
        let u = |tree: &Tree, old: u64, size: u64, time: u64| TreeHeadUpdate {
            tree_head: head(tree, size, time),
            consistency: tree.consistency_proof(old, size).unwrap(),
        };
        m.accept(&u(&t, 0, 3, 1)).unwrap();
        m.accept(&u(&t, 3, 5, 2)).unwrap();
        let m2 = Monitor::from_json(&m.to_json()).unwrap();
        assert_eq!(m2, m);
        let mut forked = Tree::new();
        for i in 0..6u8 {
            forked.push(&[i ^ 1]);
        }
        assert!(m.accept(&u(&forked, 5, 6, 3)).is_err());
        assert_eq!(m.tree_head.as_ref().unwrap().tree_head().size(), 5);
        let saved = saved_tree_head_from_json(&m.to_json()).unwrap();
        assert_eq!(saved.tree_head().size(), 5);
        let upd = u(&t, 3, 5, 2);
        assert_eq!(
            saved_tree_head_from_json(&upd.to_json()).unwrap(),
            upd.tree_head
        );
        assert_eq!(
            saved_tree_head_from_json(upd.tree_head.as_bytes()).unwrap(),
            upd.tree_head
        );
        assert!(saved_tree_head_from_json(b"{}").is_err());
    }

    #[test]
    fn a_countersigned_head_is_in_history_only_if_it_is_a_prefix() {
        let mut t = Tree::new();
        let mut other = Tree::new();
        for i in 0..9u8 {
            t.push(&[i]);
            other.push(&[i ^ u8::from(i == 2)]);
        }
        let th = |tree: &Tree, size: u64| head(tree, size, size).tree_head().clone();
        let ours = th(&t, 9);
        let none = t.consistency_proof(9, 9).unwrap();
        for n in 0..=9 {
            let proof = t.consistency_proof(n, 9).unwrap();
            assert!(in_history(&th(&t, n), &ours, &proof), "size {n}");
            // The other tree differs from entry 2 on: its heads of size > 2 are not ours.
            let forked = th(&other, n);
            assert_eq!(
                in_history(&forked, &ours, &proof),
                n <= 2,
                "forked size {n}"
            );
        }
        assert!(in_history(&ours, &ours, &none));
        // A proof between other sizes proves nothing.
        let wrong = t.consistency_proof(3, 9).unwrap();
        assert!(!in_history(&th(&t, 4), &ours, &wrong));
        // A larger head, or another log's, is not in our history.
        let mut longer = t.clone();
        longer.push(&[99]);
        assert!(!in_history(&th(&longer, 10), &ours, &none));
        let elsewhere =
            TreeHead::new(KeyId::new("other-log").unwrap(), 9, *ours.root(), 1).unwrap();
        assert!(!in_history(&elsewhere, &ours, &none));
    }

    #[test]
    fn monitor_refuses_to_build_on_an_altered_saved_head() {
        let mut t = Tree::new();
        for i in 0..5u8 {
            t.push(&[i]);
        }
        let vk = log_key().verifying_key();
        let mut m = Monitor::new(KeyId::new("service").unwrap(), vk);
        let u = |old: u64, size: u64, time: u64| TreeHeadUpdate {
            tree_head: head(&t, size, time),
            consistency: t.consistency_proof(old, size).unwrap(),
        };
        m.accept(&u(0, 3, 1)).unwrap();
        m.check_saved().unwrap();
        // Another root for size 3, written into the state file by hand.
        let saved = m.tree_head.as_ref().unwrap().tree_head().root().to_hex();
        let altered = String::from_utf8(m.to_json())
            .unwrap()
            .replace(&saved, &Hash::of(b"other").to_hex());
        let mut m2 = Monitor::from_json(altered.as_bytes()).unwrap();
        let err = m2.accept(&u(3, 5, 2)).unwrap_err();
        assert!(
            matches!(err, HeadCheckError::SavedHead { size: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("saved tree head"), "{err}");
        assert_eq!(m2.tree_head.as_ref().unwrap().tree_head().size(), 3);
    }

    #[test]
    fn golden_tree_head_encoding() {
        let th = TreeHead::new(KeyId::new("service").unwrap(), 0, Hash::empty_tree(), 5).unwrap();
        let s = SignedTreeHead::sign(th, &log_key());
        let text = String::from_utf8(s.as_bytes().to_vec()).unwrap();
        assert!(text.starts_with(r#"{"sig":""#), "{text}");
        assert!(text.ends_with(r#"","sth":{"log":"service","root":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0,"time_ms":5,"v":1}}"#), "{text}");
        assert_eq!(SignedTreeHead::from_bytes(s.as_bytes()).unwrap(), s);
    }

    #[test]
    fn fork_is_detected_with_evidence_and_consistent_growth_is_accepted() {
        let mut t = Tree::new();
        for i in 0..10u8 {
            t.push(&[i]);
        }
        let vk = log_key().verifying_key();
        let h4 = head(&t, 4, 1);
        let h10 = head(&t, 10, 2);
        let proof = t.consistency_proof(4, 10).unwrap();
        check_new_head(Some(&h4), &h10, &proof, &vk).unwrap();

        let mut other = Tree::new();
        for i in 0..10u8 {
            other.push(&[i ^ 0x80]);
        }
        let forked = head(&other, 10, 3);
        let same = t.consistency_proof(10, 10).unwrap();
        let err = check_new_head(Some(&h10), &forked, &same, &vk).unwrap_err();
        let HeadCheckError::Fork(evidence) = err else {
            panic!("expected a fork, got {err}")
        };
        assert!(evidence.verify(&vk));
        assert!(!evidence.verify(&SigningKey::from_bytes(&[1; 32]).verifying_key()));

        // A longer forked tree is caught by the consistency proof.
        let forked_longer = head(&other, 10, 3);
        let bad_proof = other.consistency_proof(4, 10).unwrap();
        assert!(matches!(
            check_new_head(Some(&h4), &forked_longer, &bad_proof, &vk),
            Err(HeadCheckError::Inconsistent { .. })
        ));
        // Shrinking is refused.
        assert!(matches!(
            check_new_head(Some(&h10), &h4, &proof, &vk),
            Err(HeadCheckError::Shrunk { .. })
        ));
    }

    #[test]
    fn saved_head_errors_say_which_document_lacked_a_head() {
        let m = Monitor::new(KeyId::new("service").unwrap(), log_key().verifying_key());
        assert_eq!(
            saved_tree_head_from_json(&m.to_json()),
            Err(SavedHeadError::NoHeadYet)
        );
        assert_eq!(
            saved_tree_head_from_json(b"{\"size\":3}"),
            Err(SavedHeadError::NotATreeHead)
        );
    }
}
