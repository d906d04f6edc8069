//! RFC 9162 §2.1 Merkle trees of any size: roots, inclusion and consistency proofs, and their
//! verification (formats/proofs.md). Pure: nodes come from a [`NodeSource`].
//!
//! Storage model: only *complete* subtrees are stored, addressed by `(level, index)` — the
//! subtree of the `2^level` leaves starting at leaf `index << level`. Every other node a proof
//! needs (the ragged right edge) is recomputed from at most `log2(n)` stored nodes.

use crate::hash::{Hash, node_hash};

/// Why a proof could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree sizes {old} and {new} do not allow a consistency proof (need 1 <= old <= new)")]
    BadSizes { old: u64, new: u64 },
    #[error("node (level {level}, index {index}) is not stored")]
    MissingNode { level: u32, index: u64 },
    #[error("node store: {0}")]
    Store(String),
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("proof has {got} hashes, but a proof for these sizes has {expected}")]
    WrongLength { got: usize, expected: usize },
    #[error("old size {old} is above new size {new}, or zero")]
    BadSizes { old: u64, new: u64 },
    #[error("computed root {computed} does not match the expected root {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    #[error("computed old root {computed} does not match the old root {expected}")]
    OldRootMismatch { computed: Hash, expected: Hash },
}

/// Where complete-subtree hashes come from (memory, RocksDB, cold tiles).
/// Contract: `node(level, index)` returns the hash of leaves `[index << level, (index + 1) << level)`,
/// and is only asked for subtrees that are complete in the tree being proven.
pub trait NodeSource {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError>;
}

/// Largest power of two strictly below `n` (n >= 2): RFC 9162's split point `k`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Hash of leaves `[start, end)` where `start` is a multiple of the largest power of two not
/// above `end - start` (true of every subtree RFC 9162 recursion visits).
pub fn subtree_hash<S: NodeSource + ?Sized>(
    src: &S,
    start: u64,
    end: u64,
) -> Result<Hash, ProofError> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return src.node(level, start >> level);
    }
    let k = split(n);
    let left = subtree_hash(src, start, start + k)?;
    let right = subtree_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// Root of the tree of the first `size` leaves (RFC 9162 MTH); `size` 0 gives the empty root.
pub fn root<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(crate::hash::empty_root());
    }
    subtree_hash(src, 0, size)
}

/// RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves, leaf side first.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    let (mut start, mut end, mut m) = (0u64, size, index);
    // Walk down from the root, remembering the sibling at each level; then reverse.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            proof.push(subtree_hash(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_hash(src, start, start + k)?);
            start += k;
            m -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// RFC 9162 §2.1.4.1 consistency proof from `old` to `new` leaves (1 <= old <= new).
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    let mut proof = Vec::new();
    let (mut start, mut end, mut m) = (0u64, new, old);
    let mut whole = true; // RFC 9162's `b`: is the old tree a complete subtree seen so far?
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(subtree_hash(src, start, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(subtree_hash(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_hash(src, start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The number of hashes an inclusion proof for `index` in `size` must have.
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (mut start, mut end, mut m, mut len) = (0u64, size, index, 0);
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            end = start + k;
        } else {
            start += k;
            m -= k;
        }
        len += 1;
    }
    len
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `leaf` at `index` in the tree of `size` with `root`?
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected_len = inclusion_proof_len(index, size);
    if proof.len() != expected_len {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected: expected_len,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                expected: expected_len,
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        // Unreachable with the length check above; kept as the RFC's own guard.
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected: expected_len,
        });
    }
    if r != *root {
        return Err(VerifyError::RootMismatch {
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree of `old` leaves with `old_root` is a prefix of
/// the tree of `new` leaves with `new_root`?
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old == 0 || old > new {
        return Err(VerifyError::BadSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                expected: 0,
            });
        }
        if old_root != new_root {
            return Err(VerifyError::RootMismatch {
                computed: *old_root,
                expected: *new_root,
            });
        }
        return Ok(());
    }
    let expected_len = consistency_proof_len(old, new);
    if proof.len() != expected_len {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected: expected_len,
        });
    }
    // When the old tree is a complete subtree, its root is the implicit first path element.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(VerifyError::WrongLength {
            got: 0,
            expected: expected_len,
        });
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                expected: expected_len,
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root || s != 0 {
        return Err(VerifyError::RootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

/// The number of hashes a consistency proof from `old` to `new` must have (1 <= old < new).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    let (mut start, mut end, mut m, mut whole, mut len) = (0u64, new, old, true, 0);
    loop {
        let n = end - start;
        if m == n {
            return len + usize::from(!whole);
        }
        let k = split(n);
        if m <= k {
            end = start + k;
        } else {
            start += k;
            m -= k;
            whole = false;
        }
        len += 1;
    }
}

/// The right edge of a growing tree: the roots of its complete subtrees, largest first.
/// Appending a leaf yields the new complete nodes for the store to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Complete-subtree roots for the set bits of `size`, highest level first.
    peaks: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds the frontier of a stored tree of `size` leaves.
    pub fn load<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Frontier, ProofError> {
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                peaks.push(src.node(level, start >> level)?);
                start += 1u64 << level;
            }
        }
        Ok(Frontier { size, peaks })
    }

    /// The frontier of a tree of `size` leaves from its peaks ([`Frontier::peaks`]); `None`
    /// unless there is one peak per set bit of `size`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Option<Frontier> {
        (peaks.len() == size.count_ones() as usize).then_some(Frontier { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Complete-subtree roots for the set bits of the size, highest level first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf hash; calls `store(level, index, hash)` for every node that became
    /// complete, the leaf itself (level 0) first.
    pub fn append(&mut self, leaf: Hash, mut store: impl FnMut(u32, u64, Hash)) {
        let index = self.size;
        store(0, index, leaf);
        let mut h = leaf;
        let mut level = 0u32;
        // Each trailing one bit of the old size is a peak that the new leaf completes.
        while (index >> level) & 1 == 1 {
            let left = self.peaks.pop().unwrap_or_default();
            h = node_hash(&left, &h);
            level += 1;
            store(level, index >> level, h);
        }
        self.peaks.push(h);
        self.size += 1;
    }

    /// Appends a complete subtree of `2^level` leaves whose root is `hash`; the size must be a
    /// multiple of `2^level` (else nothing changes and the result is `false`). Calls
    /// `store(level, index, hash)` for every node that the subtree completed by merging with
    /// the peaks before it (not for the subtree's own nodes).
    pub fn append_subtree(
        &mut self,
        level: u32,
        hash: Hash,
        mut store: impl FnMut(u32, u64, Hash),
    ) -> bool {
        if level >= 63 || !self.size.is_multiple_of(1u64 << level) {
            return false;
        }
        let old = self.size;
        let new = old + (1u64 << level);
        let mut h = hash;
        let mut l = level;
        // Each set bit of the old size at or above `level`, from `level` up without a gap,
        // is a peak that the subtree completes.
        while (old >> l) & 1 == 1 {
            let left = self.peaks.pop().unwrap_or_default();
            h = node_hash(&left, &h);
            l += 1;
            store(l, (new >> l) - 1, h);
        }
        self.peaks.push(h);
        self.size = new;
        true
    }

    /// The current root (RFC 9162 MTH), folding the peaks right to left.
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return crate::hash::empty_root();
        };
        it.fold(*last, |acc, peak| node_hash(peak, &acc))
    }
}

/// An in-memory tree keeping every complete node: for tests, benchmarks and the verifier.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is node `(l, i)`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.append(leaf, |level, _index, h| {
            let l = level as usize;
            if levels.len() <= l {
                levels.resize_with(l + 1, Vec::new);
            }
            if let Some(v) = levels.get_mut(l) {
                v.push(h);
            }
        });
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|v| v.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(ProofError::MissingNode { level, index })
    }
}
