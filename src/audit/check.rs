//! The checks of an integrity audit. Package checks run a bounded range of seqs at a time;
//! log checks run once per audit, over every leaf, signed head and checkpoint. Each problem
//! is a [`Finding`] naming the package, object, check, and expected against found.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use zegel_format::disposition::Disposition;
use zegel_format::hash::{Hash, leaf_hash};
use zegel_format::header::{HeaderView, Kind};

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::archive::disposed::DisposedMark;
use crate::audit::finding::{Finding, PackageTally};
use crate::audit::log::{Subtrees, check_nodes};
use crate::error::Error;
use crate::limits::AUDIT_BLOCKS_BYTES_MAX;
use crate::retention::holds::Hold;
use crate::store::{self, cf};
use crate::tier::reader::BlockCache;

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

/// What one chunk of package checks found, with the stored leaf of each of its seqs (`None`
/// where it is missing) for the log checks.
#[derive(Debug, Default)]
pub struct ChunkResult {
    pub tally: PackageTally,
    pub findings: Vec<Finding>,
    pub leaves: Vec<Option<Hash>>,
    /// The complete subtrees of the chunk recomputed from its leaves, when none is missing.
    pub subtrees: Option<Subtrees>,
}

/// What the checks of a chunk share: the archive, the sample, the holds, the time, and the
/// cold blocks read so far in this step.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub info: &'a ArchiveInfo,
    pub seed: u64,
    pub percent: u8,
    pub holds: &'a [Hold],
    pub now_ms: u64,
    /// Blocks read from the cold store during this step ([`AUDIT_BLOCKS_BYTES_MAX`]).
    pub blocks: Arc<Mutex<BlockCache>>,
}

/// An empty block cache for one audit step.
pub fn step_blocks() -> Arc<Mutex<BlockCache>> {
    Arc::new(Mutex::new(BlockCache::with_budget(AUDIT_BLOCKS_BYTES_MAX)))
}

/// Stored leaves of `[from, end)`, `None` where missing or not 32 bytes.
pub fn stored_leaves(
    archives: &Archives,
    info: &ArchiveInfo,
    from: u64,
    end: u64,
) -> Result<Vec<Option<Hash>>, Error> {
    Ok(archives.store().nodes(info.id).run(0, from, end)?)
}

/// The package checks of `[from, end)` one package at a time, with the stored leaves.
pub async fn check_each(
    archives: &Archives,
    scope: &Scope<'_>,
    from: u64,
    end: u64,
) -> Result<ChunkResult, Error> {
    let info = scope.info;
    let mut out = ChunkResult::default();
    let before = stored_leaves(archives, info, from.saturating_sub(1), end)?;
    let leaves = before
        .get(usize::from(from > 0)..)
        .unwrap_or_default()
        .to_vec();
    let mut records = HashMap::new();
    for (seq, leaf) in (from..end).zip(&leaves) {
        out.tally.examined += 1;
        let Some(leaf) = *leaf else {
            out.findings.push(Finding::new(
                info,
                Some(seq),
                "leaf.missing",
                format!("the stored leaf of seq {seq} is missing or not 32 bytes"),
            ));
            continue;
        };
        if !sampled(scope.seed, seq, scope.percent) {
            continue;
        }
        let prev = match seq {
            0 => None,
            s => before
                .get((s - 1 - from.saturating_sub(1)) as usize)
                .copied()
                .flatten(),
        };
        check_one(archives, scope, seq, leaf, prev, &mut records, &mut out).await?;
    }
    if let Some(all) = leaves.iter().copied().collect::<Option<Vec<Hash>>>() {
        let subtrees = Subtrees::new(from, all);
        out.findings
            .extend(check_nodes(info, archives.store(), &subtrees.inner()));
        out.subtrees = Some(subtrees);
    }
    out.leaves = leaves;
    Ok(out)
}

/// Disposition records read once per chunk.
pub type Records = HashMap<u64, Option<Disposition>>;

/// Checks one package against its stored `leaf` and the leaf `prev` of seq − 1.
pub async fn check_one(
    archives: &Archives,
    scope: &Scope<'_>,
    seq: u64,
    leaf: Hash,
    prev: Option<Hash>,
    records: &mut Records,
    out: &mut ChunkResult,
) -> Result<(), Error> {
    let info = scope.info;
    let findings = &mut out.findings;
    let tally = &mut out.tally;
    match archives.header_audited(info.id, seq, (leaf, prev)).await {
        Ok(Some(p)) => {
            tally.checked += 1;
            tally.bytes += p.bytes.len() as u64;
            // The bytes matched their leaf, and decoded into `p.header`.
            match HeaderView::decode_sealed(&p.bytes) {
                Ok(view) => check_header(scope, seq, &view, prev, findings),
                Err(e) => findings.push(Finding::new(
                    info,
                    Some(seq),
                    "header.decode",
                    e.to_string(),
                )),
            }
            for (i, o) in p.header.objects.iter().enumerate() {
                tally.objects += 1;
                match archives.object(&p, i).await {
                    Ok(bytes) => tally.bytes += bytes.len() as u64,
                    Err(e) => {
                        let mut f = Finding::new(info, Some(seq), "object.digest", e.to_string());
                        f.object = Some(o.name.clone());
                        f.expected = Some(o.digest.to_string());
                        findings.push(f);
                    }
                }
            }
        }
        Ok(None) => findings.push(Finding::new(
            info,
            Some(seq),
            "package.missing",
            "neither hot, cold, nor disposed of",
        )),
        Err(Error::Gone {
            cause,
            disposition,
            at_ms,
            retain_until_ms,
            ..
        }) => {
            tally.disposed += 1;
            let mark = DisposedMark {
                disposition,
                cause,
                at_ms,
                retain_until_ms,
            };
            check_disposed(archives, info, (seq, leaf), &mark, records, findings).await;
        }
        Err(e @ Error::Unavailable(_)) => findings.push(Finding::new(
            info,
            Some(seq),
            "cold.unavailable",
            e.to_string(),
        )),
        Err(Error::Corrupt {
            check: "store",
            detail,
            ..
        }) => {
            findings.push(corrupt_finding(archives, info, seq, &leaf, detail));
        }
        Err(Error::Corrupt {
            check,
            detail,
            found,
        }) => {
            let mut f = Finding::new(info, Some(seq), check, detail);
            f.expected = Some(leaf.to_string());
            f.found = found.map(|h| h.to_string());
            findings.push(f);
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The checks of a disposed package: its mark (no disposal for retention before its
/// retention ended) and the disposition record that must name it with its leaf.
async fn check_disposed(
    archives: &Archives,
    info: &ArchiveInfo,
    (seq, leaf): (u64, Hash),
    mark: &DisposedMark,
    records: &mut Records,
    findings: &mut Vec<Finding>,
) {
    if mark.cause == "retention" && mark.retain_until_ms.is_none_or(|u| u > mark.at_ms) {
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
    if let std::collections::hash_map::Entry::Vacant(e) = records.entry(mark.disposition) {
        e.insert(disposition_record(archives, mark.disposition, info).await);
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

/// The checks of a header whose bytes matched their leaf: its place in the log, its chain
/// link to the leaf before it, and retention (overdue without a hold).
pub fn check_header(
    scope: &Scope<'_>,
    seq: u64,
    h: &HeaderView<'_>,
    prev: Option<Hash>,
    findings: &mut Vec<Finding>,
) {
    let info = scope.info;
    if h.seq != seq || h.archive != info.archive || h.tenant != info.tenant {
        findings.push(Finding::new(
            info,
            Some(seq),
            "header.place",
            format!("the header names {}/{} seq {}", h.tenant, h.archive, h.seq),
        ));
    }
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
    let due = h.retain_until_ms.is_some_and(|u| u <= scope.now_ms);
    if due
        && crate::retention::dispose::disposable(h.kind)
        && !scope.holds.iter().any(|x| x.covers(seq, h))
    {
        let mut f = Finding::new(
            info,
            Some(seq),
            "retention.overdue",
            "retention has ended, no legal hold covers the package, and it is still kept",
        );
        f.expected = h.retain_until_ms.map(|u| format!("disposed of by {u} ms"));
        f.found = Some(format!("kept at {} ms", scope.now_ms));
        findings.push(f);
    }
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
    seq: u64,
    info: &ArchiveInfo,
) -> Option<Disposition> {
    let p = archives.header(info.id, seq).await.ok()??;
    if p.header.kind != Kind::Disposition {
        return None;
    }
    Disposition::decode(&archives.object(&p, 0).await.ok()?).ok()
}
