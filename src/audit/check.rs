//! The checks of an integrity audit. Package checks run a bounded range of seqs at a time;
//! log checks run once per audit, over every leaf, signed head and checkpoint. Each problem
//! is a [`Finding`] naming the package, object, check, and expected against found.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use zegel_format::checkpoint;
use zegel_format::disposition::Disposition;
use zegel_format::hash::{Hash, leaf_hash};
use zegel_format::header::Kind;
use zegel_format::merkle::{self, Frontier, NodeSource};
use zegel_format::note::VerifierKey;
use zegel_format::receipt::ReceiptHead;

use crate::archive::archives::{ArchiveError, ArchiveInfo, Archives};
use crate::archive::state::decode_signed_head;
use crate::retention::holds::Hold;
use crate::store::{self, cf};

/// One problem an audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    pub archive: String,
    /// The package concerned, if the check is about one.
    pub seq: Option<u64>,
    /// The object concerned (name), if any.
    pub object: Option<String>,
    /// Which check failed, e.g. `header.leaf`, `object.digest`, `chain.prev`,
    /// `checkpoint.root`, `retention.overdue`.
    pub check: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub detail: String,
}

impl Finding {
    fn new(info: &ArchiveInfo, seq: Option<u64>, check: &str, detail: impl Into<String>) -> Self {
        Finding {
            archive: info.archive.clone(),
            seq,
            object: None,
            check: check.into(),
            expected: None,
            found: None,
            detail: detail.into(),
        }
    }

    fn hashes(mut self, expected: &Hash, found: &Hash) -> Self {
        self.expected = Some(expected.to_string());
        self.found = Some(found.to_string());
        self
    }
}

/// What one range of package checks covered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PackageTally {
    /// Seqs examined (sampled out ones included).
    pub examined: u64,
    /// Packages whose header and objects were re-hashed.
    pub checked: u64,
    /// Disposed packages whose mark and disposition record were checked.
    pub disposed: u64,
    /// Objects re-hashed.
    pub objects: u64,
    /// Bytes of content re-hashed (header bytes plus objects, uncompressed).
    pub bytes: u64,
}

/// Whether `seq` is in a sample of `percent` % chosen by `seed`: the same seed picks the same
/// packages, so a resumed audit checks what the interrupted one would have.
pub fn sampled(seed: u64, seq: u64, percent: u8) -> bool {
    if percent >= 100 {
        return true;
    }
    let h = Sha256::new()
        .chain_update(seed.to_be_bytes())
        .chain_update(seq.to_be_bytes())
        .finalize();
    let n = h
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    n % 100 < u64::from(percent)
}

/// Checks the packages `[from, end)`: each header against its leaf and its chain link, each
/// object against its digest (hot or cold), disposed packages against their disposition, and
/// retention (nothing overdue kept without a hold, nothing disposed of early).
#[allow(clippy::too_many_arguments)]
pub async fn check_packages(
    archives: &Archives,
    info: &ArchiveInfo,
    from: u64,
    end: u64,
    seed: u64,
    percent: u8,
    holds: &[Hold],
    now_ms: u64,
) -> Result<(PackageTally, Vec<Finding>), ArchiveError> {
    let mut tally = PackageTally::default();
    let mut findings = Vec::new();
    let id = info.id;
    let nodes = archives.store().nodes(id);
    // Disposition records read once per range.
    let mut records: HashMap<u64, Option<Disposition>> = HashMap::new();
    // The leaf of the seq checked just before, which is the next one's `prev`.
    let mut last_leaf: Option<(u64, Hash)> = None;
    for seq in from..end {
        tally.examined += 1;
        if !sampled(seed, seq, percent) {
            continue;
        }
        let leaf = match nodes.node(0, seq) {
            Ok(l) => l,
            Err(e) => {
                findings.push(Finding::new(info, Some(seq), "leaf.missing", e.to_string()));
                continue;
            }
        };
        let prev_leaf = match (seq, last_leaf) {
            (0, _) => None,
            (s, Some((l, h))) if l + 1 == s => Some(h),
            (s, _) => nodes.node(0, s - 1).ok(),
        };
        last_leaf = Some((seq, leaf));
        let known = (seq == 0 || prev_leaf.is_some()).then_some((leaf, prev_leaf));
        match archives.header_with(id, seq, known).await {
            Ok(Some(p)) => {
                tally.checked += 1;
                tally.bytes += p.bytes.len() as u64;
                let h = &p.header;
                if h.seq != seq || h.archive != info.archive || h.tenant != info.tenant {
                    findings.push(Finding::new(
                        info,
                        Some(seq),
                        "header.place",
                        format!("the header names {}/{} seq {}", h.tenant, h.archive, h.seq),
                    ));
                }
                let prev = prev_leaf;
                if h.prev != prev {
                    let mut f = Finding::new(
                        info,
                        Some(seq),
                        "chain.prev",
                        "the header's prev is not the leaf before it",
                    );
                    f.expected = prev.map(|x| x.to_string());
                    f.found = h.prev.map(|x| x.to_string());
                    findings.push(f);
                }
                for (i, o) in h.objects.iter().enumerate() {
                    tally.objects += 1;
                    match archives.object(&p, i).await {
                        Ok(bytes) => tally.bytes += bytes.len() as u64,
                        Err(e) => {
                            let mut f =
                                Finding::new(info, Some(seq), "object.digest", e.to_string());
                            f.object = Some(o.name.clone());
                            f.expected = Some(o.digest.to_string());
                            findings.push(f);
                        }
                    }
                }
                let due = h.retain_until_ms.is_some_and(|u| u <= now_ms);
                if due
                    && crate::retention::dispose::disposable(h)
                    && !holds.iter().any(|x| x.covers(seq, h))
                {
                    let mut f = Finding::new(
                        info,
                        Some(seq),
                        "retention.overdue",
                        "retention has ended, no legal hold covers the package, and it is still kept",
                    );
                    f.expected = h.retain_until_ms.map(|u| format!("disposed of by {u} ms"));
                    f.found = Some(format!("kept at {now_ms} ms"));
                    findings.push(f);
                }
            }
            Ok(None) => findings.push(Finding::new(
                info,
                Some(seq),
                "package.missing",
                "neither hot, cold, nor disposed of",
            )),
            Err(ArchiveError::Gone { mark, .. }) => {
                tally.disposed += 1;
                if mark.cause == "retention" && mark.retain_until_ms.is_none_or(|u| u > mark.at_ms)
                {
                    let mut f = Finding::new(
                        info,
                        Some(seq),
                        "retention.early",
                        "disposed of for retention before its retention ended",
                    );
                    f.expected = Some(format!(
                        "not before {}",
                        mark.retain_until_ms
                            .map_or("never".to_string(), |u| u.to_string())
                    ));
                    f.found = Some(format!("disposed at {}", mark.at_ms));
                    findings.push(f);
                }
                if let std::collections::hash_map::Entry::Vacant(e) =
                    records.entry(mark.disposition)
                {
                    e.insert(disposition_record(archives, info, mark.disposition).await);
                }
                let listed = records
                    .get(&mark.disposition)
                    .and_then(Option::as_ref)
                    .is_some_and(|r| r.packages.iter().any(|d| d.seq == seq && d.leaf == leaf));
                if !listed {
                    findings.push(Finding::new(
                        info,
                        Some(seq),
                        "disposition.record",
                        format!(
                            "disposed of, but the disposition package at seq {} does not name it with its leaf",
                            mark.disposition
                        ),
                    ));
                }
            }
            Err(e @ ArchiveError::Unavailable(_)) => findings.push(Finding::new(
                info,
                Some(seq),
                "cold.unavailable",
                e.to_string(),
            )),
            Err(ArchiveError::ColdCorrupt { check, reason }) => {
                let mut f = Finding::new(info, Some(seq), check, reason);
                f.expected = Some(leaf.to_string());
                findings.push(f);
            }
            Err(ArchiveError::Corrupt(reason)) => {
                findings.push(corrupt_finding(archives, info, seq, &leaf, reason));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((tally, findings))
}

/// A package that failed its leaf check: for a hot header, the expected and found leaf.
fn corrupt_finding(
    archives: &Archives,
    info: &ArchiveInfo,
    seq: u64,
    leaf: &Hash,
    reason: String,
) -> Finding {
    let hot = archives
        .store()
        .get(cf::HEADERS, &store::header_key(info.id, seq))
        .ok()
        .flatten();
    match hot {
        Some(bytes) => {
            let found = leaf_hash(&bytes);
            if found != *leaf {
                Finding::new(info, Some(seq), "header.leaf", reason).hashes(leaf, &found)
            } else {
                Finding::new(info, Some(seq), "header.decode", reason)
            }
        }
        None => {
            let mut f = Finding::new(info, Some(seq), "cold.package", reason);
            f.expected = Some(leaf.to_string());
            f
        }
    }
}

async fn disposition_record(
    archives: &Archives,
    info: &ArchiveInfo,
    seq: u64,
) -> Option<Disposition> {
    let p = archives.header(info.id, seq).await.ok()??;
    if p.header.kind != Kind::Disposition {
        return None;
    }
    Disposition::decode(&archives.object(&p, 0).await.ok()?).ok()
}

/// What the log checks covered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct LogTally {
    pub leaves: u64,
    pub checkpoints: u64,
    pub signed_heads: u64,
    pub consistency_proofs: u64,
}

/// Recomputes the tree from its leaves and checks every signed checkpoint and receipt head
/// against it (signature by the node's key, root at its size), and a consistency proof from
/// the stored nodes between every two successive checkpoints.
pub fn check_log(
    archives: &Archives,
    info: &ArchiveInfo,
    key: &VerifierKey,
) -> Result<(LogTally, Vec<Finding>), ArchiveError> {
    let id = info.id;
    let hot = archives.store();
    let size = archives.size(info)?;
    let mut findings = Vec::new();
    let mut tally = LogTally::default();
    let scan = |name: &str| hot.scan_prefix(name, &id.to_be_bytes(), usize::MAX);
    // (size, root it claims, what claims it)
    let mut claims: Vec<(u64, Hash, String)> = Vec::new();
    let mut checkpoint_sizes = BTreeSet::new();
    let origin = archives.origin(info);
    for (k, v) in scan(cf::CHECKPOINTS)? {
        tally.checkpoints += 1;
        let n = k
            .get(8..16)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes);
        match checkpoint::open(&v, key) {
            Ok(cp) if cp.origin == origin && Some(cp.size) == n => {
                checkpoint_sizes.insert(cp.size);
                claims.push((cp.size, cp.root, format!("checkpoint {}", cp.size)));
            }
            Ok(cp) => findings.push(Finding::new(
                info,
                None,
                "checkpoint.place",
                format!(
                    "the checkpoint stored at size {n:?} is for {} size {}",
                    cp.origin, cp.size
                ),
            )),
            Err(e) => findings.push(Finding::new(
                info,
                None,
                "checkpoint.signature",
                format!("checkpoint stored at size {n:?}: {e}"),
            )),
        }
    }
    for (k, v) in scan(cf::HEADS)? {
        tally.signed_heads += 1;
        let n = k
            .get(8..16)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes);
        match decode_signed_head(&v) {
            Ok(h) => {
                let signed = h.key_name == key.name()
                    && h.key_id == key.key_id()
                    && key.verify(&ReceiptHead::signed_message(&h.head_bytes), &h.signature);
                if !signed || Some(h.head.size) != n {
                    findings.push(Finding::new(
                        info,
                        None,
                        "head.signature",
                        format!("the signed head stored at size {n:?} does not verify under the node's key"),
                    ));
                } else {
                    claims.push((
                        h.head.size,
                        h.head.root,
                        format!("signed head {}", h.head.size),
                    ));
                }
            }
            Err(e) => findings.push(Finding::new(info, None, "head.decode", e)),
        }
    }
    claims.sort_by_key(|c| c.0);
    let nodes = hot.nodes(id);
    let mut frontier = Frontier::new();
    let mut roots: HashMap<u64, Hash> = HashMap::new();
    let mut next = claims.iter().map(|c| c.0).peekable();
    while next.peek() == Some(&0) {
        next.next();
    }
    for seq in 0..size {
        let leaf = nodes
            .node(0, seq)
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        frontier.append(leaf, |_, _, _| {});
        tally.leaves += 1;
        while next.peek() == Some(&frontier.size()) {
            roots.insert(frontier.size(), frontier.root());
            next.next();
        }
    }
    for (n, root, what) in &claims {
        match roots.get(n) {
            Some(r) if r == root => {}
            Some(r) => findings.push(
                Finding::new(
                    info,
                    None,
                    "checkpoint.root",
                    format!("{what}: the root recomputed from the leaves differs"),
                )
                .hashes(root, r),
            ),
            None => findings.push(Finding::new(
                info,
                None,
                "checkpoint.size",
                format!("{what} is beyond the log of {size}"),
            )),
        }
    }
    let sizes: Vec<u64> = checkpoint_sizes.into_iter().collect();
    for w in sizes.windows(2) {
        let &[old, new] = w else {
            continue;
        };
        let (Some(a), Some(b)) = (roots.get(&old), roots.get(&new)) else {
            continue;
        };
        tally.consistency_proofs += 1;
        let ok = merkle::consistency_proof(&nodes, old, new)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                merkle::verify_consistency(old, new, a, b, &p).map_err(|e| e.to_string())
            });
        if let Err(e) = ok {
            findings.push(Finding::new(
                info,
                None,
                "checkpoint.consistency",
                format!("from {old} to {new}: {e}"),
            ));
        }
    }
    Ok((tally, findings))
}
