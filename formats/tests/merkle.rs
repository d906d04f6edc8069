//! The Merkle tree against a direct transcription of RFC 9162 §2.1's recursive definitions:
//! every index of every size up to 300, every consistency pair up to 300, every single-hash
//! mutation, and random large trees.

use std::sync::OnceLock;

use proptest::prelude::*;
use zegel_format::hash::{Hash, empty_root, leaf_hash, node_hash};
use zegel_format::merkle::{self, Frontier, MemoryTree, VerifyError};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) exactly as RFC 9162 §2.1.1 writes it.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 writes it.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() == 1 {
        return vec![];
    }
    let k = k_of(d.len());
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

/// SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 writes it.
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

fn tree_of(d: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for h in d {
        t.push(*h);
    }
    t
}

fn flipped(h: &Hash) -> Hash {
    let mut x = *h;
    x.0[7] ^= 0x20;
    x
}

#[test]
fn every_inclusion_proof_up_to_300() {
    let d = leaves(300);
    let tree = tree_of(&d);
    for n in 1..=300u64 {
        let root = merkle::root(&tree, n).unwrap();
        assert_eq!(root, mth(&d[..n as usize]), "root of {n}");
        for m in 0..n {
            let proof = merkle::inclusion_proof(&tree, m, n).unwrap();
            assert_eq!(proof, path(m as usize, &d[..n as usize]), "path {m} of {n}");
            let leaf = d[m as usize];
            merkle::verify_inclusion(&leaf, m, n, &proof, &root).unwrap();
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flipped(&bad[i]);
                assert!(
                    merkle::verify_inclusion(&leaf, m, n, &bad, &root).is_err(),
                    "mutated hash {i} of path {m} in {n}"
                );
            }
            assert!(merkle::verify_inclusion(&flipped(&leaf), m, n, &proof, &root).is_err());
            if m + 1 < n {
                assert!(
                    merkle::verify_inclusion(&leaf, m + 1, n, &proof, &root).is_err(),
                    "wrong index"
                );
            }
            // The same path against the next tree's root: the size binds the structure.
            let next_root = merkle::root(&tree, n + 1).unwrap_or(root);
            if n < 300 {
                assert!(
                    merkle::verify_inclusion(&leaf, m, n + 1, &proof, &next_root).is_err(),
                    "wrong size"
                );
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(matches!(
                merkle::verify_inclusion(&leaf, m, n, &longer, &root),
                Err(VerifyError::WrongLength { .. })
            ));
        }
        assert!(
            merkle::verify_inclusion(&d[0], n, n, &[], &root).is_err(),
            "index == size"
        );
    }
}

#[test]
fn every_consistency_proof_up_to_300() {
    let d = leaves(300);
    let tree = tree_of(&d);
    let roots: Vec<Hash> = (0..=300).map(|n| merkle::root(&tree, n).unwrap()).collect();
    for n in 1..=300u64 {
        for m in 1..=n {
            let proof = merkle::consistency_proof(&tree, m, n).unwrap();
            let expected = if m == n {
                vec![]
            } else {
                subproof(m as usize, &d[..n as usize], true)
            };
            assert_eq!(proof, expected, "proof {m} -> {n}");
            let (old, new) = (roots[m as usize], roots[n as usize]);
            merkle::verify_consistency(m, n, &old, &new, &proof).unwrap();
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flipped(&bad[i]);
                assert!(
                    merkle::verify_consistency(m, n, &old, &new, &bad).is_err(),
                    "mutated {i} of {m} -> {n}"
                );
            }
            assert!(merkle::verify_consistency(m, n, &flipped(&old), &new, &proof).is_err());
            assert!(merkle::verify_consistency(m, n, &old, &flipped(&new), &proof).is_err());
            if m < n {
                assert!(
                    merkle::verify_consistency(m + 1, n, &roots[m as usize + 1], &new, &proof)
                        .is_err()
                        || m + 1 == n && proof.is_empty()
                );
            }
        }
    }
    assert!(merkle::consistency_proof(&tree, 0, 5).is_err());
    assert!(merkle::consistency_proof(&tree, 6, 5).is_err());
    assert!(merkle::verify_consistency(0, 5, &roots[0], &roots[5], &[]).is_err());
}

#[test]
fn frontier_reloads_from_stored_nodes() {
    let d = leaves(300);
    let tree = tree_of(&d);
    let mut live = Frontier::new();
    for (i, h) in d.iter().enumerate() {
        live.append(*h, |_, _, _| {});
        let loaded = Frontier::load(&tree, i as u64 + 1).unwrap();
        assert_eq!(loaded, live, "frontier at {}", i + 1);
        assert_eq!(live.root(), mth(&d[..=i]));
    }
    assert_eq!(Frontier::new().root(), empty_root());
}

#[test]
fn frontier_appends_whole_subtrees() {
    use merkle::NodeSource;
    let d = leaves(300);
    let tree = tree_of(&d);
    // Start anywhere, then append the greedy cover of the rest: each piece is the largest
    // aligned subtree that fits, as an audit appends a chunk's subtrees.
    for start in [0u64, 1, 3, 64, 100, 255, 256] {
        let mut f = Frontier::load(&tree, start).unwrap();
        let mut at = start;
        let mut merged = Vec::new();
        while at < 300 {
            let mut level = 0;
            while level < 9 && at % (1 << (level + 1)) == 0 && at + (1 << (level + 1)) <= 300 {
                level += 1;
            }
            let node = tree.node(level, at >> level).unwrap();
            assert!(f.append_subtree(level, node, |l, i, h| merged.push((l, i, h))));
            at += 1 << level;
            assert_eq!(
                f,
                Frontier::load(&tree, at).unwrap(),
                "from {start} at {at}"
            );
            assert_eq!(f.root(), mth(&d[..at as usize]));
        }
        for (l, i, h) in merged {
            assert_eq!(
                tree.node(l, i).unwrap(),
                h,
                "merged node ({l}, {i}) from {start}"
            );
        }
    }
    // A subtree that would not be aligned is refused and changes nothing.
    let mut f = Frontier::load(&tree, 3).unwrap();
    let before = f.clone();
    assert!(!f.append_subtree(1, d[0], |_, _, _| {}));
    assert_eq!(f, before);
}

/// One large tree shared by the random cases (2^17 + 12345 leaves: ragged at every level).
fn big() -> &'static (MemoryTree, u64) {
    static BIG: OnceLock<(MemoryTree, u64)> = OnceLock::new();
    BIG.get_or_init(|| {
        let n = (1u64 << 17) + 12_345;
        (tree_of(&leaves(n)), n)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_large_inclusion(size_frac in 0.0f64..1.0, index_frac in 0.0f64..1.0, which in 0usize..64) {
        let (tree, max) = big();
        let size = 1 + ((*max - 1) as f64 * size_frac) as u64;
        let index = ((size - 1) as f64 * index_frac) as u64;
        let root = merkle::root(tree, size).unwrap();
        let proof = merkle::inclusion_proof(tree, index, size).unwrap();
        let leaf = leaf_hash(&index.to_be_bytes());
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % proof.len();
            bad[i] = flipped(&bad[i]);
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
    }

    #[test]
    fn random_large_consistency(a in 0.0f64..1.0, b in 0.0f64..1.0, which in 0usize..128) {
        let (tree, max) = big();
        let x = 1 + ((*max - 1) as f64 * a) as u64;
        let y = 1 + ((*max - 1) as f64 * b) as u64;
        let (old, new) = (x.min(y), x.max(y));
        let proof = merkle::consistency_proof(tree, old, new).unwrap();
        let (r1, r2) = (merkle::root(tree, old).unwrap(), merkle::root(tree, new).unwrap());
        prop_assert!(merkle::verify_consistency(old, new, &r1, &r2, &proof).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % proof.len();
            bad[i] = flipped(&bad[i]);
            prop_assert!(merkle::verify_consistency(old, new, &r1, &r2, &bad).is_err());
        }
    }

    #[test]
    fn arbitrary_proofs_never_panic(index in any::<u64>(), size in any::<u64>(), old in any::<u64>(), new in any::<u64>(),
                                    n in 0usize..80, seed in any::<u8>()) {
        let hashes: Vec<Hash> = (0..n).map(|i| Hash([seed.wrapping_add(i as u8); 32])).collect();
        let _ = merkle::verify_inclusion(&Hash([1; 32]), index, size, &hashes, &Hash([2; 32]));
        let _ = merkle::verify_consistency(old, new, &Hash([1; 32]), &Hash([2; 32]), &hashes);
    }
}
