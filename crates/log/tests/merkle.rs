//! The Merkle tree against the RFC 6962 / RFC 9162 known answers, and against a direct
//! transcription of the RFC's recursive definitions (the oracle) for many sizes.

use deconflict_log::merkle::{Tree, verify_consistency, verify_inclusion};
use deconflict_log::{Hash, ProofError};
use proptest::prelude::*;

#[derive(serde::Deserialize)]
struct Vectors {
    leaves_hex: Vec<String>,
    roots_by_size: Vec<Hash>,
    leaf_hashes: Vec<Hash>,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
}

#[derive(serde::Deserialize)]
struct InclusionVector {
    index: u64,
    size: u64,
    path: Vec<Hash>,
}

#[derive(serde::Deserialize)]
struct ConsistencyVector {
    old_size: u64,
    new_size: u64,
    path: Vec<Hash>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../testdata/rfc6962_vectors.json")).unwrap()
}

fn vector_tree(v: &Vectors) -> Tree {
    let mut t = Tree::new();
    for leaf in &v.leaves_hex {
        t.push(&hex::decode(leaf).unwrap());
    }
    t
}

#[test]
fn rfc6962_roots_of_every_size_0_to_8() {
    let v = vectors();
    let mut t = Tree::new();
    assert_eq!(t.root(), v.roots_by_size[0]);
    for (i, leaf) in v.leaves_hex.iter().enumerate() {
        t.push(&hex::decode(leaf).unwrap());
        assert_eq!(t.leaf_hash(i as u64), Some(v.leaf_hashes[i]), "leaf {i}");
        assert_eq!(t.root(), v.roots_by_size[i + 1], "size {}", i + 1);
    }
    // Earlier sizes are still answered exactly from the full tree.
    for size in 0..=8u64 {
        assert_eq!(t.root_at(size).unwrap(), v.roots_by_size[size as usize]);
    }
}

#[test]
fn rfc6962_inclusion_proofs() {
    let v = vectors();
    let t = vector_tree(&v);
    for iv in &v.inclusion {
        let proof = t.inclusion_proof(iv.index, iv.size).unwrap();
        assert_eq!(proof.path, iv.path, "index {} size {}", iv.index, iv.size);
        let root = v.roots_by_size[iv.size as usize];
        let leaf = v.leaf_hashes[iv.index as usize];
        verify_inclusion(&leaf, iv.index, iv.size, &iv.path, &root).unwrap();
    }
}

#[test]
fn rfc6962_consistency_proofs() {
    let v = vectors();
    let t = vector_tree(&v);
    for cv in &v.consistency {
        let proof = t.consistency_proof(cv.old_size, cv.new_size).unwrap();
        assert_eq!(proof.path, cv.path, "{} -> {}", cv.old_size, cv.new_size);
        let old = v.roots_by_size[cv.old_size as usize];
        let new = v.roots_by_size[cv.new_size as usize];
        verify_consistency(cv.old_size, cv.new_size, &old, &new, &cv.path).unwrap();
    }
}

#[test]
fn trivial_consistency_cases() {
    let empty = Hash::empty_tree();
    let a = Hash::leaf(b"a");
    let b = Hash::leaf(b"b");
    verify_consistency(0, 0, &empty, &empty, &[]).unwrap();
    verify_consistency(0, 5, &empty, &b, &[]).unwrap();
    verify_consistency(3, 3, &a, &a, &[]).unwrap();
    assert!(
        verify_consistency(0, 5, &a, &b, &[]).is_err(),
        "old root of size 0 must be the empty hash"
    );
    assert!(verify_consistency(3, 3, &a, &b, &[]).is_err());
    assert!(verify_consistency(3, 3, &a, &a, &[a]).is_err());
    assert!(verify_consistency(0, 1, &empty, &a, &[a]).is_err());
    assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
    assert!(verify_inclusion(&a, 0, 0, &[], &a).is_err());
    verify_inclusion(&a, 0, 1, &[], &a).unwrap();
    assert!(verify_inclusion(&a, 1, 1, &[], &a).is_err());
}

// ---- The oracle: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 written literally over slices. ----

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Hash::empty_tree(),
        1 => d[0],
        n => {
            let k = k_of(n);
            Hash::node(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

const LEAVES_MAX: usize = 3000;

fn leaves() -> &'static (Vec<Hash>, Tree) {
    static CELL: std::sync::OnceLock<(Vec<Hash>, Tree)> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let mut t = Tree::new();
        let hashes: Vec<Hash> = (0..LEAVES_MAX as u32)
            .map(|i| {
                let h = Hash::leaf(&i.to_be_bytes());
                t.push_leaf_hash(h);
                h
            })
            .collect();
        (hashes, t)
    })
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut b = h.0;
    b[(bit / 8) % 32] ^= 1 << (bit % 8);
    Hash(b)
}

/// Every way of corrupting an inclusion proof must be refused.
fn assert_inclusion_corruptions_fail(
    leaf: &Hash,
    m: u64,
    n: u64,
    p: &[Hash],
    root: &Hash,
    bit: usize,
) {
    for i in 0..p.len() {
        let mut bad = p.to_vec();
        bad[i] = flip(&bad[i], bit);
        assert!(
            verify_inclusion(leaf, m, n, &bad, root).is_err(),
            "flip path[{i}]"
        );
    }
    if !p.is_empty() {
        assert!(
            verify_inclusion(leaf, m, n, &p[..p.len() - 1], root).is_err(),
            "truncated"
        );
    }
    let mut longer = p.to_vec();
    longer.push(*root);
    assert!(
        verify_inclusion(leaf, m, n, &longer, root).is_err(),
        "extended"
    );
    assert!(
        verify_inclusion(&flip(leaf, bit), m, n, p, root).is_err(),
        "wrong leaf"
    );
    assert!(
        verify_inclusion(leaf, m, n, p, &flip(root, bit)).is_err(),
        "wrong root"
    );
    assert!(
        verify_inclusion(leaf, m + 1, n, p, root).is_err(),
        "index + 1"
    );
    if m > 0 {
        assert!(
            verify_inclusion(leaf, m - 1, n, p, root).is_err(),
            "index - 1"
        );
    }
    assert!(
        verify_inclusion(leaf, m, n * 2 + 1, p, root).is_err(),
        "size * 2 + 1"
    );
}

fn assert_consistency_corruptions_fail(
    m: u64,
    n: u64,
    p: &[Hash],
    r1: &Hash,
    r2: &Hash,
    bit: usize,
) {
    for i in 0..p.len() {
        let mut bad = p.to_vec();
        bad[i] = flip(&bad[i], bit);
        assert!(
            verify_consistency(m, n, r1, r2, &bad).is_err(),
            "flip path[{i}]"
        );
    }
    if !p.is_empty() {
        assert!(
            verify_consistency(m, n, r1, r2, &p[..p.len() - 1]).is_err(),
            "truncated"
        );
        assert!(verify_consistency(m, n, r1, r2, &[]).is_err(), "empty");
    }
    let mut longer = p.to_vec();
    longer.push(*r1);
    assert!(
        verify_consistency(m, n, r1, r2, &longer).is_err(),
        "extended"
    );
    let mut preceded = vec![*r2];
    preceded.extend_from_slice(p);
    assert!(
        verify_consistency(m, n, r1, r2, &preceded).is_err(),
        "preceded"
    );
    assert!(
        verify_consistency(m, n, &flip(r1, bit), r2, p).is_err(),
        "wrong old root"
    );
    assert!(
        verify_consistency(m, n, r1, &flip(r2, bit), p).is_err(),
        "wrong new root"
    );
    if m != n {
        assert!(
            verify_consistency(m, n, r2, r1, p).is_err(),
            "swapped roots"
        );
    }
}

#[test]
fn every_pair_up_to_64_leaves_matches_the_oracle_and_resists_corruption() {
    let (hashes, t) = leaves();
    for n in 1..=64usize {
        let d = &hashes[..n];
        let root = mth(d);
        assert_eq!(t.root_at(n as u64).unwrap(), root, "root {n}");
        for m in 0..n {
            let p = t.inclusion_proof(m as u64, n as u64).unwrap();
            assert_eq!(p.path, path(m, d), "inclusion {m} in {n}");
            verify_inclusion(&d[m], m as u64, n as u64, &p.path, &root).unwrap();
            assert_inclusion_corruptions_fail(&d[m], m as u64, n as u64, &p.path, &root, m * 7 + n);
        }
        for m in 0..=n {
            let p = t.consistency_proof(m as u64, n as u64).unwrap();
            let expect = if m == 0 || m == n {
                vec![]
            } else {
                subproof(m, d, true)
            };
            assert_eq!(p.path, expect, "consistency {m} -> {n}");
            let r1 = mth(&d[..m]);
            verify_consistency(m as u64, n as u64, &r1, &root, &p.path).unwrap();
            if m > 0 {
                assert_consistency_corruptions_fail(
                    m as u64,
                    n as u64,
                    &p.path,
                    &r1,
                    &root,
                    m * 5 + n,
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_matches_oracle_up_to_3000(n in 1..=LEAVES_MAX, m_frac in 0.0..1.0f64, bit in 0..256usize) {
        let (hashes, t) = leaves();
        let m = ((n as f64 * m_frac) as usize).min(n - 1);
        let d = &hashes[..n];
        let root = mth(d);
        let p = t.inclusion_proof(m as u64, n as u64).unwrap();
        prop_assert_eq!(&p.path, &path(m, d));
        prop_assert_eq!(p.verify(&d[m], &root), Ok(()));
        assert_inclusion_corruptions_fail(&d[m], m as u64, n as u64, &p.path, &root, bit);
    }

    #[test]
    fn consistency_matches_oracle_up_to_3000(n in 1..=LEAVES_MAX, m_frac in 0.0..1.0f64, bit in 0..256usize) {
        let (hashes, t) = leaves();
        let m = ((n as f64 * m_frac) as usize).clamp(1, n);
        let d = &hashes[..n];
        let (r1, r2) = (mth(&d[..m]), mth(d));
        let p = t.consistency_proof(m as u64, n as u64).unwrap();
        let expect = if m == n { vec![] } else { subproof(m, d, true) };
        prop_assert_eq!(&p.path, &expect);
        prop_assert_eq!(p.verify(&r1, &r2), Ok(()));
        assert_consistency_corruptions_fail(m as u64, n as u64, &p.path, &r1, &r2, bit);
    }
}

#[test]
fn proofs_longer_than_any_tree_needs_are_refused_before_hashing() {
    let h = Hash::leaf(b"x");
    let long = vec![h; 65];
    assert!(matches!(
        verify_inclusion(&h, 0, 2, &long, &h),
        Err(ProofError::TooLong { .. })
    ));
    assert!(matches!(
        verify_consistency(1, 2, &h, &h, &long),
        Err(ProofError::TooLong { .. })
    ));
}
