//! The Merkle tree of RFC 9162 §2.1: an append-only, incremental tree that keeps the hash of every
//! complete (perfect, aligned) subtree, so that appending, computing the root of any earlier size,
//! and producing inclusion and consistency proofs each cost O(log n) hash look-ups or hash
//! computations, with no recomputation over the leaves.
//!
//! Storage: level `h` holds the hashes of the aligned subtrees of `2^h` leaves that are complete,
//! i.e. `floor(n / 2^h)` hashes. Summed over the levels that is fewer than `2n` hashes
//! (64 MiB for a million entries).
//!
//! Verification of proofs is a pair of free functions ([`verify_inclusion`],
//! [`verify_consistency`]) that follow the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 step by
//! step, so that a party can check a proof holding nothing but the hashes.

use crate::hash::Hash;

/// Longest proof accepted from outside: a tree of `2^64` leaves needs at most 64 hashes.
pub const PROOF_HASHES_MAX: usize = 64;

/// Why a tree operation or a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A size larger than the tree, or an index not below the size.
    #[error("{what} {value} is out of range for a tree of size {size}")]
    OutOfRange {
        /// Which quantity.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The size it was checked against.
        size: u64,
    },
    /// The proof has more hashes than any tree needs.
    #[error("proof has {len} hashes, more than the {max} any tree needs")]
    TooLong {
        /// Hashes given.
        len: usize,
        /// [`PROOF_HASHES_MAX`].
        max: usize,
    },
    /// The proof has the wrong number of hashes for the sizes given.
    #[error("proof has the wrong number of hashes for these sizes")]
    WrongLength,
    /// The hashes recomputed from the proof do not match the root(s).
    #[error("recomputed root does not match the {which} root")]
    RootMismatch {
        /// `"tree"`, `"old"` or `"new"`.
        which: &'static str,
    },
}

/// An inclusion proof (RFC 9162 §2.1.3): the audit path of leaf `index` in the tree of `size`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Zero-based index of the leaf.
    pub index: u64,
    /// Size of the tree the proof is for.
    pub size: u64,
    /// Sibling hashes from the leaf upwards.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Checks that the leaf with hash `leaf_hash` is at `self.index` in the tree of `self.size`
    /// whose root is `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), ProofError> {
        verify_inclusion(leaf_hash, self.index, self.size, &self.path, root)
    }
}

/// A consistency proof (RFC 9162 §2.1.4): the tree of `old_size` is a prefix of the tree of
/// `new_size`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Size of the earlier tree.
    pub old_size: u64,
    /// Size of the later tree.
    pub new_size: u64,
    /// The proof's hashes.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks the proof against the two roots.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        verify_consistency(self.old_size, self.new_size, old_root, new_root, &self.path)
    }
}

/// The incremental Merkle tree. See the module documentation for the storage layout.
#[derive(Debug, Clone)]
pub struct Tree {
    /// `levels[h][i]` is the hash of leaves `[i·2^h, (i+1)·2^h)`; only complete subtrees are kept.
    levels: Vec<Vec<Hash>>,
}

impl Default for Tree {
    /// The empty tree, as [`Tree::new`] (level 0 always exists).
    fn default() -> Tree {
        Tree::new()
    }
}

impl Tree {
    /// The empty tree.
    pub fn new() -> Tree {
        Tree {
            levels: vec![Vec::new()],
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// Appends a leaf given its bytes; returns its index.
    pub fn push(&mut self, leaf: &[u8]) -> u64 {
        self.push_leaf_hash(Hash::leaf(leaf))
    }

    /// Appends a leaf given its leaf hash (`SHA-256(0x00 || leaf)`); returns its index.
    pub fn push_leaf_hash(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.len();
        self.levels[0].push(leaf_hash);
        let mut h = 0;
        // A level whose count became even has completed a pair: its parent is now complete.
        while self.levels[h].len().is_multiple_of(2) {
            let n = self.levels[h].len();
            let parent = Hash::node(&self.levels[h][n - 2], &self.levels[h][n - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
        }
        assert_eq!(self.len(), index + 1, "one leaf appended");
        self.assert_levels_complete();
        index
    }

    /// The invariant of `levels`: every level above the leaves holds exactly the complete pairs
    /// of the level below, so a root computed from them covers every leaf once. Checked after
    /// each append (O(log n)); a broken invariant would make every later proof wrong.
    fn assert_levels_complete(&self) {
        assert!(!self.levels.is_empty(), "level 0 always exists");
        for pair in self.levels.windows(2) {
            assert_eq!(
                pair[1].len(),
                pair[0].len() / 2,
                "a level holds the complete pairs of the level below"
            );
        }
    }

    /// The leaf hash at `index`.
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[0].get(i).copied())
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.len())
            .unwrap_or_else(|_| unreachable!("own size is in range"))
    }

    /// Root of the tree made of the first `size` leaves (`MTH(D[0:size])`).
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size("size", size)?;
        if size == 0 {
            return Ok(Hash::empty_tree());
        }
        Ok(self.subtree(0, size))
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, ProofError> {
        self.check_size("size", size)?;
        if index >= size {
            return Err(ProofError::OutOfRange {
                what: "index",
                value: index,
                size,
            });
        }
        let mut path = Vec::new();
        self.path(index, 0, size, &mut path);
        Ok(InclusionProof { index, size, path })
    }

    /// The consistency proof between the trees of the first `old_size` and `new_size` leaves
    /// (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or equals `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ProofError> {
        self.check_size("new size", new_size)?;
        if old_size > new_size {
            return Err(ProofError::OutOfRange {
                what: "old size",
                value: old_size,
                size: new_size,
            });
        }
        let mut path = Vec::new();
        if old_size > 0 && old_size < new_size {
            self.subproof(old_size, 0, new_size, true, &mut path);
        }
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }

    fn check_size(&self, what: &'static str, size: u64) -> Result<(), ProofError> {
        if size > self.len() {
            return Err(ProofError::OutOfRange {
                what,
                value: size,
                size: self.len(),
            });
        }
        Ok(())
    }

    /// `MTH(D[start:start+n])` for `n ≥ 1`. Every range reached from the root by the RFC's
    /// split starts at a multiple of its largest power-of-two part, so the left halves are
    /// always stored complete subtrees.
    fn subtree(&self, start: u64, n: u64) -> Hash {
        debug_assert!(n >= 1 && start + n <= self.len());
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            return self.levels[h][(start >> h) as usize];
        }
        let k = split(n);
        Hash::node(&self.subtree(start, k), &self.subtree(start + k, n - k))
    }

    /// `PATH(m, D[start:start+n])`, appended to `out` from the leaf upwards.
    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    /// `SUBPROOF(m, D[start:start+n], b)`.
    fn subproof(&self, m: u64, start: u64, n: u64, b: bool, out: &mut Vec<Hash>) {
        if m == n {
            if !b {
                out.push(self.subtree(start, n));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, b, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`), RFC 9162 §2.1.1's `k`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2, step by step).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if path.len() > PROOF_HASHES_MAX {
        return Err(ProofError::TooLong {
            len: path.len(),
            max: PROOF_HASHES_MAX,
        });
    }
    if index >= size {
        return Err(ProofError::OutOfRange {
            what: "index",
            value: index,
            size,
        });
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf_hash;
    for p in path {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = Hash::node(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = Hash::node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch { which: "tree" });
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2, step by step). The trivial cases the RFC
/// leaves to the caller are decided here: any tree is consistent with the empty tree (empty
/// proof), and a tree is consistent with a tree of the same size only if the roots are equal
/// (empty proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> Result<(), ProofError> {
    if path.len() > PROOF_HASHES_MAX {
        return Err(ProofError::TooLong {
            len: path.len(),
            max: PROOF_HASHES_MAX,
        });
    }
    if old_size > new_size {
        return Err(ProofError::OutOfRange {
            what: "old size",
            value: old_size,
            size: new_size,
        });
    }
    if old_size == 0 {
        if !path.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if *old_root != Hash::empty_tree() {
            return Err(ProofError::RootMismatch { which: "old" });
        }
        return Ok(());
    }
    if old_size == new_size {
        if !path.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch { which: "new" });
        }
        return Ok(());
    }
    // Step 1.
    if path.is_empty() {
        return Err(ProofError::WrongLength);
    }
    // Step 2: when the old tree is a complete subtree its root is the first hash.
    let mut hashes: Vec<Hash> = Vec::with_capacity(path.len() + 1);
    if old_size.is_power_of_two() {
        hashes.push(*old_root);
    }
    hashes.extend_from_slice(path);
    // Step 3.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    // Step 4.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    let mut f_r = hashes[0];
    let mut s_r = hashes[0];
    // Step 6.
    for c in &hashes[1..] {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = Hash::node(c, &f_r);
            s_r = Hash::node(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = Hash::node(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if f_r != *old_root {
        return Err(ProofError::RootMismatch { which: "old" });
    }
    if s_r != *new_root {
        return Err(ProofError::RootMismatch { which: "new" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_tree_is_the_empty_tree() {
        let mut t = Tree::default();
        assert_eq!(t.len(), 0);
        assert!(t.is_empty());
        assert_eq!(t.push(b"a"), 0);
        assert_eq!(t.root(), {
            let mut n = Tree::new();
            n.push(b"a");
            n.root()
        });
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ] {
            assert_eq!(split(n), k, "n={n}");
        }
    }

    #[test]
    fn sizes_out_of_range_are_refused() {
        let mut t = Tree::new();
        t.push(b"a");
        assert!(t.root_at(2).is_err());
        assert!(t.inclusion_proof(1, 1).is_err());
        assert!(t.consistency_proof(2, 1).is_err());
        assert!(t.consistency_proof(1, 2).is_err());
    }
}
