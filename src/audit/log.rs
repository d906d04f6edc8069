//! The log checks of an audit, walked in step with the package checks: the leaves the
//! package checks read are folded, in seq order, into a frontier of the tree; every signed
//! checkpoint and receipt head is checked (signature by the node's key, place) and its root
//! compared with the root recomputed at its size when the walk reaches it; successive
//! checkpoints are linked by a consistency proof from the stored nodes; and every stored
//! inner node is compared with the node recomputed from the leaves. The walk's state is
//! small (one hash per set bit of the size) and persisted between steps, so each leaf is read
//! once per audit, by the package checks.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use zegel_format::checkpoint;
use zegel_format::hash::{Hash, node_hash};
use zegel_format::merkle::{self, Frontier};
use zegel_format::note::VerifierKey;
use zegel_format::receipt::ReceiptHead;

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::archive::state::decode_signed_head;
use crate::audit::finding::{Finding, LogTally};
use crate::error::Error;
use crate::store::{self, Store, cf};

/// A root the archive signed: a checkpoint or a receipt head at a tree size.
#[derive(Debug, Clone)]
struct Claim {
    size: u64,
    root: Hash,
    what: String,
    checkpoint: bool,
}

/// An inner node (level ≥ 1) recomputed from leaves: `(level, index, hash)`.
pub type Node = (u32, u64, Hash);

/// Where the walk of one audit (or of the scrub) stands; persisted between steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogWalk {
    /// Leaves folded so far.
    size: u64,
    /// The frontier's peaks (hex), highest level first.
    peaks: Vec<String>,
    /// The last checkpoint reached, with the root recomputed at its size (hex).
    last_checkpoint: Option<(u64, String)>,
    /// The first seq whose leaf was missing: the tree is not recomputed past it.
    stopped_at: Option<u64>,
    /// Claims that could not be compared because the walk stopped.
    unchecked: u64,
    pub tally: LogTally,
    #[serde(skip)]
    frontier: Frontier,
    /// Claims loaded for the current step, by size.
    #[serde(skip)]
    claims: VecDeque<Claim>,
    /// Inner nodes completed across chunk boundaries, checked at the end of the step.
    #[serde(skip)]
    spanning: Vec<Node>,
}

impl LogWalk {
    /// The walk as saved, at `at` leaves. A walk saved by an earlier version (or none, for a
    /// run that started before walks were saved) starts from the stored tree at `at`.
    pub fn resume(store: &Store, info: &ArchiveInfo, at: u64, saved: Option<LogWalk>) -> Self {
        if let Some(mut w) = saved {
            let peaks: Option<Vec<Hash>> = w.peaks.iter().map(|p| Hash::from_hex(p)).collect();
            if let Some(f) = peaks.and_then(|p| Frontier::from_peaks(w.size, p))
                && (w.size == at || w.stopped_at.is_some())
            {
                w.frontier = f;
                return w;
            }
        }
        let mut w = LogWalk::default();
        match Frontier::load(&store.nodes(info.id), at) {
            Ok(f) => {
                w.frontier = f;
                w.size = at;
            }
            Err(_) => w.stopped_at = Some(at),
        }
        w
    }

    /// Syncs the persisted fields with the frontier (before saving).
    pub fn saved(&mut self) -> &LogWalk {
        self.size = self.frontier.size();
        self.peaks = self.frontier.peaks().iter().map(Hash::to_hex).collect();
        self
    }

    /// Leaves folded so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Takes the claims of the next range (loaded by [`load_claims`] from this walk's size);
    /// they wait for the walk to reach their sizes. The findings of their checks.
    pub fn add_claims(&mut self, loaded: Claims) -> Vec<Finding> {
        self.tally.checkpoints += loaded.checkpoints;
        self.tally.signed_heads += loaded.signed_heads;
        self.claims.extend(loaded.claims);
        if self.stopped_at.is_some() {
            self.unchecked += self.claims.len() as u64;
            self.claims.clear();
        }
        loaded.findings
    }

    /// Folds the leaves of seqs `[from, from + leaves.len())` into the tree and compares every
    /// claim the walk reaches. With the chunk's `subtrees`, whole subtrees are appended
    /// (their nodes were computed once, by the chunk); without them, leaf by leaf. A missing
    /// leaf stops the walk.
    pub fn fold(
        &mut self,
        archives: &Archives,
        info: &ArchiveInfo,
        from: u64,
        leaves: &[Option<Hash>],
        subtrees: Option<&Subtrees>,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        if self.stopped_at.is_some() {
            return findings;
        }
        if let Some(st) = subtrees
            && st.from == from
            && self.frontier.size() == from
        {
            self.fold_subtrees(archives, info, st, &mut findings);
            return findings;
        }
        for (seq, leaf) in (from..).zip(leaves) {
            let Some(leaf) = leaf else {
                self.stopped_at = Some(seq);
                return findings;
            };
            // Nodes whose leaves all lie in one chunk were checked by the chunk.
            let spanning = &mut self.spanning;
            self.frontier.append(*leaf, |level, index, hash| {
                if level > 0 && (index << level) < from {
                    spanning.push((level, index, hash));
                }
            });
            self.tally.leaves += 1;
            self.reach_claims(archives, info, &mut findings);
        }
        findings
    }

    fn fold_subtrees(
        &mut self,
        archives: &Archives,
        info: &ArchiveInfo,
        st: &Subtrees,
        findings: &mut Vec<Finding>,
    ) {
        let mut at = st.from;
        while at < st.end {
            let target = match self.claims.front() {
                Some(c) if c.size > at && c.size <= st.end => c.size,
                _ => st.end,
            };
            for (level, index, hash) in st.cover(at, target) {
                let spanning = &mut self.spanning;
                let appended = self.frontier.append_subtree(level, hash, |l, i, h| {
                    if (i << l) < st.from {
                        spanning.push((l, i, h));
                    }
                });
                if !appended {
                    // Cannot happen with a cover from the frontier's size; stop rather than
                    // compare roots of a wrong tree.
                    self.stopped_at = Some(index << level);
                    return;
                }
            }
            self.tally.leaves += target - at;
            at = target;
            self.reach_claims(archives, info, findings);
        }
    }

    /// Compares the claims at the frontier's size with its root.
    fn reach_claims(
        &mut self,
        archives: &Archives,
        info: &ArchiveInfo,
        findings: &mut Vec<Finding>,
    ) {
        while self
            .claims
            .front()
            .is_some_and(|c| c.size <= self.frontier.size())
        {
            let Some(c) = self.claims.pop_front() else {
                break;
            };
            if c.size < self.frontier.size() {
                // Passed without being reached (a claim inside a leaf-by-leaf gap): none are.
                self.unchecked += 1;
                continue;
            }
            let root = self.frontier.root();
            if root != c.root {
                findings.push(
                    Finding::new(
                        info,
                        None,
                        "checkpoint.root",
                        format!("{}: the root recomputed from the leaves differs", c.what),
                    )
                    .hashes(&c.root, &root),
                );
            } else if c.checkpoint {
                if let Some(f) = self.consistency(archives, info, c.size, &root) {
                    findings.push(f);
                }
                self.last_checkpoint = Some((c.size, root.to_hex()));
            }
        }
    }

    /// The consistency proof from the last checkpoint reached to the one at `size`.
    fn consistency(
        &mut self,
        archives: &Archives,
        info: &ArchiveInfo,
        size: u64,
        root: &Hash,
    ) -> Option<Finding> {
        let (old, old_root) = self.last_checkpoint.as_ref()?;
        let (old, old_root) = (*old, Hash::from_hex(old_root)?);
        if old >= size {
            return None;
        }
        self.tally.consistency_proofs += 1;
        let nodes = archives.store().nodes(info.id);
        merkle::consistency_proof(&nodes, old, size)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                merkle::verify_consistency(old, size, &old_root, root, &p)
                    .map_err(|e| e.to_string())
            })
            .err()
            .map(|e| {
                Finding::new(
                    info,
                    None,
                    "checkpoint.consistency",
                    format!("from {old} to {size}: {e}"),
                )
            })
    }

    /// Compares the stored nodes completed across chunks with their recomputed values.
    pub fn check_spanning(&mut self, info: &ArchiveInfo, hot: &Store) -> Vec<Finding> {
        let nodes = std::mem::take(&mut self.spanning);
        check_nodes(info, hot, &nodes)
    }

    /// The findings left at the end of an audit: a walk that stopped, claims beyond the log.
    pub fn finish(
        &mut self,
        archives: &Archives,
        info: &ArchiveInfo,
    ) -> Result<Vec<Finding>, Error> {
        let mut findings = Vec::new();
        self.unchecked += self.claims.len() as u64;
        self.claims.clear();
        if let Some(seq) = self.stopped_at {
            findings.push(Finding::new(
                info,
                Some(seq),
                "log.incomplete",
                format!(
                    "the leaf of seq {seq} is missing: the tree was not recomputed past it ({} signed roots after it unchecked)",
                    self.unchecked
                ),
            ));
        }
        let size = archives.size(info)?;
        let from = store::header_key(info.id, size.saturating_add(1));
        let to = store::header_key(info.id, u64::MAX);
        for name in [cf::CHECKPOINTS, cf::HEADS] {
            for (k, _) in archives.store().scan_range(name, &from, &to, 1000)? {
                let n = k
                    .get(8..16)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                findings.push(Finding::new(
                    info,
                    None,
                    "checkpoint.size",
                    format!("a signed root stored at size {n} is beyond the log of {size}"),
                ));
            }
        }
        Ok(findings)
    }
}

/// The signed roots of one range of sizes, checked (signature by the node's key, place) and
/// sorted, with the findings of those checks.
#[derive(Debug, Default)]
pub struct Claims {
    claims: Vec<Claim>,
    findings: Vec<Finding>,
    checkpoints: u64,
    signed_heads: u64,
}

/// Loads and checks the checkpoints and signed heads at sizes in `(after, end]`.
pub fn load_claims(
    archives: &Archives,
    info: &ArchiveInfo,
    key: &VerifierKey,
    (after, end): (u64, u64),
) -> Result<Claims, Error> {
    let hot = archives.store();
    let from = store::header_key(info.id, after.saturating_add(1));
    let to = store::header_key(info.id, end.saturating_add(1));
    let origin = archives.origin(info);
    let mut out = Claims::default();
    let size_of = |k: &[u8]| {
        k.get(8..16)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    };
    for (k, v) in hot.scan_range(cf::CHECKPOINTS, &from, &to, usize::MAX)? {
        out.checkpoints += 1;
        let n = size_of(&k);
        match checkpoint::open(&v, key) {
            Ok(cp) if cp.origin == origin && Some(cp.size) == n => out.claims.push(Claim {
                size: cp.size,
                root: cp.root,
                what: format!("checkpoint {}", cp.size),
                checkpoint: true,
            }),
            Ok(cp) => out.findings.push(Finding::new(
                info,
                None,
                "checkpoint.place",
                format!(
                    "the checkpoint stored at size {n:?} is for {} size {}",
                    cp.origin, cp.size
                ),
            )),
            Err(e) => out.findings.push(Finding::new(
                info,
                None,
                "checkpoint.signature",
                format!("checkpoint stored at size {n:?}: {e}"),
            )),
        }
    }
    for (k, v) in hot.scan_range(cf::HEADS, &from, &to, usize::MAX)? {
        out.signed_heads += 1;
        let n = size_of(&k);
        match decode_signed_head(&v) {
            Ok(h) => {
                let signed = h.key_name == key.name()
                    && h.key_id == key.key_id()
                    && key.verify(&ReceiptHead::signed_message(&h.head_bytes), &h.signature);
                if !signed || Some(h.head.size) != n {
                    out.findings.push(Finding::new(
                        info,
                        None,
                        "head.signature",
                        format!(
                            "the signed head stored at size {n:?} does not verify under the node's key"
                        ),
                    ));
                } else {
                    out.claims.push(Claim {
                        size: h.head.size,
                        root: h.head.root,
                        what: format!("signed head {}", h.head.size),
                        checkpoint: false,
                    });
                }
            }
            Err(e) => out
                .findings
                .push(Finding::new(info, None, "head.decode", e)),
        }
    }
    // Checkpoints after heads of the same size, so that a consistency proof links
    // checkpoints only.
    out.claims.sort_by_key(|c| (c.size, c.checkpoint));
    Ok(out)
}

/// Every complete subtree inside a range of leaves `[from, end)`, recomputed from them:
/// `levels[l]` holds the nodes `(l, first + k)` of level `l` whose leaves all lie inside.
#[derive(Debug, Clone, Default)]
pub struct Subtrees {
    from: u64,
    end: u64,
    levels: Vec<(u64, Vec<Hash>)>,
}

impl Subtrees {
    pub fn new(from: u64, leaves: Vec<Hash>) -> Subtrees {
        let end = from + leaves.len() as u64;
        let mut levels = vec![(from, leaves)];
        while let Some((first, below)) = levels.last() {
            // Pairs start at an even index.
            let skip = (first & 1) as usize;
            let next: Vec<Hash> = below
                .get(skip..)
                .unwrap_or_default()
                .chunks_exact(2)
                .filter_map(|p| match p {
                    [l, r] => Some(node_hash(l, r)),
                    _ => None,
                })
                .collect();
            if next.is_empty() {
                break;
            }
            levels.push((first.div_ceil(2), next));
        }
        Subtrees { from, end, levels }
    }

    fn node(&self, level: u32, index: u64) -> Option<Hash> {
        let (first, nodes) = self.levels.get(level as usize)?;
        nodes
            .get(usize::try_from(index.checked_sub(*first)?).ok()?)
            .copied()
    }

    /// The largest aligned complete subtrees covering `[from, end)` in order (`from` and
    /// `end` inside this range): what a frontier at size `from` appends to reach `end`.
    pub fn cover(&self, from: u64, end: u64) -> Vec<Node> {
        let mut out = Vec::new();
        let mut at = from.max(self.from);
        let end = end.min(self.end);
        while at < end {
            let mut level = 0u32;
            while level < 62
                && at.is_multiple_of(1u64 << (level + 1))
                && at + (1u64 << (level + 1)) <= end
            {
                level += 1;
            }
            match self.node(level, at >> level) {
                Some(h) => out.push((level, at >> level, h)),
                None => break,
            }
            at += 1u64 << level;
        }
        out
    }

    /// Every node above the leaves: what a chunk compares with the stored tree (the leaves
    /// are compared one by one).
    pub fn inner(&self) -> Vec<Node> {
        self.levels
            .iter()
            .enumerate()
            .skip(1)
            .flat_map(|(level, (first, nodes))| {
                nodes
                    .iter()
                    .enumerate()
                    .map(move |(k, h)| (level as u32, first + k as u64, *h))
            })
            .collect()
    }
}

/// Compares stored nodes with recomputed ones, each run of consecutive nodes of a level read
/// with one iterator: `node.stored` for a node that differs, `node.missing` for one that is
/// not there.
pub fn check_nodes(info: &ArchiveInfo, hot: &Store, nodes: &[Node]) -> Vec<Finding> {
    let mut findings = Vec::new();
    // Runs of consecutive nodes of one level, each read with one iterator.
    let mut rest = nodes;
    while let Some(&(level, first, _)) = rest.first() {
        let run = rest
            .iter()
            .zip(first..)
            .take_while(|((l, i, _), want)| *l == level && i == want)
            .count();
        let (this, next) = rest.split_at(run);
        rest = next;
        let read = hot.nodes(info.id).run(level, first, first + run as u64);
        let found = match read {
            Ok(found) => found,
            Err(e) => {
                findings.push(Finding::new(info, None, "node.missing", e.to_string()));
                continue;
            }
        };
        for ((level, index, expected), stored) in this.iter().zip(found) {
            match stored {
                Some(h) if h == *expected => {}
                Some(h) => findings.push(
                    Finding::new(
                        info,
                        None,
                        "node.stored",
                        format!(
                            "the stored node ({level}, {index}) differs from the one recomputed from its leaves"
                        ),
                    )
                    .hashes(expected, &h),
                ),
                None => findings.push(Finding::new(
                    info,
                    None,
                    "node.missing",
                    format!("the stored node ({level}, {index}) is missing or not 32 bytes"),
                )),
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use zegel_format::merkle::{MemoryTree, NodeSource};

    #[test]
    fn subtrees_cover_a_range_with_the_nodes_of_the_whole_tree() {
        let leaves: Vec<Hash> = (0..100u8).map(|i| Hash([i; 32])).collect();
        let mut tree = MemoryTree::new();
        for l in &leaves {
            tree.push(*l);
        }
        for (from, to) in [(0, 100), (3, 64), (17, 18), (32, 96), (5, 99), (64, 100)] {
            let st = Subtrees::new(from, leaves[from as usize..to as usize].to_vec());
            let cover = st.cover(from, to);
            assert_eq!(
                cover.iter().map(|(l, _, _)| 1u64 << l).sum::<u64>(),
                to - from,
                "{from}..{to}"
            );
            let mut at = from;
            for (level, index, hash) in &cover {
                assert_eq!(index << level, at);
                assert_eq!(tree.node(*level, *index).unwrap(), *hash);
                at += 1 << level;
            }
            for (level, index, hash) in st.inner() {
                assert!(level > 0 && index << level >= from && (index + 1) << level <= to);
                assert_eq!(tree.node(level, index).unwrap(), hash);
            }
        }
        // A full aligned chunk of 32 leaves has 31 inner nodes, its top last.
        let st = Subtrees::new(64, leaves[64..96].to_vec());
        let inner = st.inner();
        assert_eq!(inner.len(), 31);
        assert_eq!(inner.last(), Some(&(5, 2, tree.node(5, 2).unwrap())));
    }
}
