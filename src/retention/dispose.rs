//! Disposal: removes the content of chosen packages from both tiers and records it as a
//! disposition package of the same log (formats/disposition.md). Retention and erasure both
//! end here.
//!
//! Hot packages go in the one synced batch that seals the disposition package (see
//! [`crate::archive::sequencer::Disposal`]). A cold segment whose live packages are all
//! disposed of is deleted whole; otherwise it is rewritten without them under a new key with
//! a rewrite number (formats/cold-layout.md), read back and re-hashed before that batch
//! points the kept packages at it. The steps are persisted (`meta`, `disposal/{id}`), so a
//! crash anywhere leaves either nothing disposed (new objects are removed on restart) or
//! everything disposed (old objects are removed on restart): never a half-disposed package.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use zegel_format::disposition::{Cause, DisposedPackage as RecordEntry, Disposition};
use zegel_format::header::Kind;
use zegel_format::layout::{self, RetentionMonth};
use zegel_format::merkle::NodeSource;
use zegel_format::segment::{self, SegmentPackage};

use crate::archive::agreement::index_value;
use crate::archive::archives::{ArchiveInfo, Archives, StoredPackage, Tier};
use crate::archive::disposed::DispositionSummary;
use crate::archive::sequencer::{AfterSeal, Disposal, DisposedPackage, ExtraPuts, HoldGate};
use crate::cold::ColdError;
use crate::error::Error;
use crate::retention::holds::Holds;
use crate::store::{self, ArchiveId, Batch, Store, StoreError, cf};
use crate::tier::mover::{
    TierError, Tierer, blocking, check_segment, restore_packages, segment_puts,
};
use crate::tier::reader::ColdReader;
use crate::tier::state::{PlannedSegment, SegmentRecord, TierState, segment_record_key};

/// What a disposal records about itself.
#[derive(Debug, Clone)]
pub struct Authority {
    pub cause: Cause,
    pub basis: String,
    /// API key ids: the archivist applying retention, or requester and approver of an erasure.
    pub authorized_by: Vec<String>,
    /// The erasure request carried out, if any.
    pub erasure: Option<String>,
}

/// The cold segments a pending disposal changes; persisted before any of them is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PendingDisposal {
    /// `planned` until the disposition batch commits, then `committed`.
    stage: String,
    /// Keys of rewritten segments this disposal writes.
    written: Vec<String>,
    /// Keys of the segments it replaces or deletes whole.
    removed: Vec<String>,
}

fn pending_key(id: ArchiveId) -> Vec<u8> {
    format!("disposal/{id:016x}").into_bytes()
}

fn load_pending(hot: &Store, id: ArchiveId) -> Result<Option<PendingDisposal>, StoreError> {
    hot.get_json(cf::META, &pending_key(id), "pending disposal")
}

fn pending_put(
    id: ArchiveId,
    p: &PendingDisposal,
) -> Result<(&'static str, Vec<u8>, Vec<u8>), StoreError> {
    Ok((cf::META, pending_key(id), store::json_value(p)?))
}

/// Finishes what a crash interrupted: after the commit, the replaced segments are deleted;
/// before it, the rewritten ones (nothing references them). Call under the tier lock.
pub async fn resume(tier: &Tierer, hot: &Store, id: ArchiveId) -> Result<(), Error> {
    let Some(p) = load_pending(hot, id)? else {
        return Ok(());
    };
    let stale = if p.stage == "committed" {
        &p.removed
    } else {
        &p.written
    };
    for key in stale {
        tier.cold().delete(key).await?;
    }
    let mut b = Batch::default();
    b.delete(cf::META, &pending_key(id));
    hot.commit(b)?;
    Ok(())
}

/// A package chosen for disposal.
#[derive(Debug)]
pub struct Chosen {
    pub package: StoredPackage,
    pub raw_bytes: u64,
}

impl Chosen {
    pub fn new(package: StoredPackage) -> Chosen {
        let raw_bytes =
            package.bytes.len() as u64 + package.header.objects.iter().map(|o| o.size).sum::<u64>();
        Chosen { package, raw_bytes }
    }
}

/// What one disposition did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Disposed {
    /// Seq of the disposition package.
    pub disposition: u64,
    pub packages: u64,
    pub hot: u64,
    pub cold: u64,
    pub segments_deleted: u64,
    pub segments_rewritten: u64,
    pub raw_bytes: u64,
}

/// Whether a package may be disposed of at all: only archived content, never the log's own
/// agreements, dispositions, audits or access entries.
pub fn disposable(kind: Kind) -> bool {
    matches!(kind, Kind::Record | Kind::Document)
}

/// A segment the disposal changes: its record, the live packages it keeps, and for a
/// rewrite the new key and bytes.
struct SegmentChange {
    n: u64,
    record: SegmentRecord,
    kept: Vec<u64>,
    rewrite: Option<(String, Vec<u8>)>,
}

/// Disposes of `chosen` (ascending seqs, at most `DISPOSITION_PACKAGES_MAX`): changes the
/// cold segments, then seals the disposition and removes the rest in one batch, after the
/// legal holds are checked once more on the sequencer thread under the holds' lock
/// ([`Holds::gate`]). The caller holds the tier lock ([`Tierer::exclusive`]) and has called
/// [`resume`].
pub async fn dispose(
    archives: &Arc<Archives>,
    tier: &Tierer,
    info: &ArchiveInfo,
    chosen: Vec<Chosen>,
    authority: Authority,
    holds: &Holds,
    after: Option<AfterSeal>,
) -> Result<Disposed, Error> {
    let hot = archives.store();
    let gate = holds.gate(
        info.id,
        chosen
            .iter()
            .map(|c| (c.package.seq, c.package.header.clone()))
            .collect(),
    );
    let id = info.id;
    let now = tier.now_ms();
    let mut st = TierState::load(hot, id)?;
    refuse_moving(&st, &chosen)?;
    let mut changes = plan_changes(archives, tier, info, &chosen, &mut st).await?;
    // Persist what will be written before writing it, with the rewrite numbers it uses.
    let mut pending = PendingDisposal {
        stage: "planned".into(),
        written: changes
            .iter()
            .filter_map(|c| c.rewrite.as_ref().map(|(k, _)| k.clone()))
            .collect(),
        removed: changes.iter().map(|c| c.record.key.clone()).collect(),
    };
    {
        let mut b = Batch::default();
        let (name, k, v) = pending_put(id, &pending)?;
        b.put(name, &k, &v);
        let (name, k, v) = st.put(id)?;
        b.put(name, &k, &v);
        hot.commit(b)?;
    }
    let outcome = commit(
        archives,
        tier,
        info,
        &chosen,
        &mut changes,
        &mut st,
        &mut pending,
        authority,
        gate,
        after,
        now,
    )
    .await;
    match outcome {
        Ok(d) => {
            // Committed: the replaced segments go; a failure here is finished by `resume`.
            resume(tier, hot, id).await?;
            Ok(d)
        }
        Err(e) => {
            // Nothing was disposed of: remove what was written for it.
            if let Err(r) = resume(tier, hot, id).await {
                tracing::warn!(archive = id, error = %r, "removing an abandoned rewrite failed; retried on the next disposal");
            }
            Err(e)
        }
    }
}

/// Refuses a disposal of packages that a tiering move holds.
fn refuse_moving(st: &TierState, chosen: &[Chosen]) -> Result<(), Error> {
    if let Some(m) = &st.pending
        && let Some(c) = chosen
            .iter()
            .find(|c| (m.first..m.end).contains(&c.package.seq))
    {
        return Err(Error::Busy(format!(
            "package {} is being moved to the cold tier; retry after the move",
            c.package.seq
        )));
    }
    Ok(())
}

/// The cold segments holding any of `chosen`, each with the live packages it keeps and, when
/// it keeps any, its rewrite (a new key with the next rewrite number of `st`).
async fn plan_changes(
    archives: &Arc<Archives>,
    tier: &Tierer,
    info: &ArchiveInfo,
    chosen: &[Chosen],
    st: &mut TierState,
) -> Result<Vec<SegmentChange>, Error> {
    let (hot, id) = (archives.store(), info.id);
    let disposed_set: HashSet<u64> = chosen.iter().map(|c| c.package.seq).collect();
    let mut segments: BTreeSet<u64> = BTreeSet::new();
    for c in chosen {
        if c.package.tier == Tier::Cold {
            let at = ColdReader::location(hot, id, c.package.seq)?.ok_or_else(|| {
                Error::conflict(format!("package {} has no cold location", c.package.seq))
            })?;
            segments.insert(at.segment);
        }
    }
    let mut changes = Vec::new();
    for n in segments {
        let record = SegmentRecord::load(hot, id, n)?
            .ok_or_else(|| StoreError::Corrupt(format!("segment record {id}/{n} is missing")))?;
        let bytes = tier.cold().get(&record.key).await?;
        let index = segment::open_segment(&bytes).map_err(|e| TierError::Verify {
            key: record.key.clone(),
            reason: e.to_string(),
        })?;
        let mut kept = Vec::new();
        for p in &index.packages {
            let live = ColdReader::location(hot, id, p.seq)?.is_some_and(|l| l.segment == n);
            if live && !disposed_set.contains(&p.seq) {
                kept.push(p.seq);
            }
        }
        let rewrite = if kept.is_empty() {
            None
        } else {
            let old = Rewritten {
                n,
                record: &record,
                kept: &kept,
                bytes,
            };
            Some(rewrite(archives, tier, info, old, st).await?)
        };
        changes.push(SegmentChange {
            n,
            record,
            kept,
            rewrite,
        });
    }
    Ok(changes)
}

/// A segment to rewrite: its number, record and bytes, and the packages it keeps.
struct Rewritten<'a> {
    n: u64,
    record: &'a SegmentRecord,
    kept: &'a [u64],
    bytes: Bytes,
}

/// The key and bytes of a segment rewritten to hold only what it keeps.
async fn rewrite(
    archives: &Arc<Archives>,
    tier: &Tierer,
    info: &ArchiveInfo,
    old: Rewritten<'_>,
    st: &mut TierState,
) -> Result<(String, Vec<u8>), Error> {
    let (id, n, record) = (info.id, old.n, old.record);
    st.rewrites += 1;
    let month: RetentionMonth = record.month.parse().map_err(|_| {
        StoreError::Corrupt(format!("segment record {id}/{n}: month {}", record.month))
    })?;
    let key = layout::rewritten_segment_key(
        &info.tenant,
        &info.archive,
        month,
        record.first,
        record.end,
        st.rewrites,
    );
    let (a, i, k, b) = (archives.clone(), info.clone(), old.kept.to_vec(), old.bytes);
    let (level, block) = (tier.config().zstd_level, tier.config().block_kib << 10);
    let encoded = blocking(move || reencode(a.store(), &i, &b, &k, level, block)).await?;
    Ok((key, encoded))
}

/// Writes and verifies the rewrites, then seals the disposition with every change.
// The parts of one disposal as `dispose` prepared them; its only caller.
#[allow(clippy::too_many_arguments)]
async fn commit(
    archives: &Arc<Archives>,
    tier: &Tierer,
    info: &ArchiveInfo,
    chosen: &[Chosen],
    changes: &mut [SegmentChange],
    st: &mut TierState,
    pending: &mut PendingDisposal,
    authority: Authority,
    gate: HoldGate,
    after: Option<AfterSeal>,
    decided_ms: u64,
) -> Result<Disposed, Error> {
    let id = info.id;
    let mut out = Disposed::default();
    let (mut puts, replaced) = write_rewrites(archives, tier, info, changes, st, &mut out).await?;
    let (packages, entries) = disposed_packages(archives.store(), id, chosen, st, &mut out)?;
    st.cold_packages = Some(st.cold_packages().saturating_sub(out.cold));
    out.packages = chosen.len() as u64;
    let record = Disposition {
        cause: authority.cause,
        basis: authority.basis.clone(),
        authorized_by: authority.authorized_by.clone(),
        decided_ms,
        packages: entries,
    };
    record
        .validate()
        .map_err(|e| Error::internal(format!("invalid disposition record: {e}")))?;
    pending.stage = "committed".into();
    puts.push(pending_put(id, pending)?);
    puts.push(st.put(id)?);
    let summary = DispositionSummary {
        seq: 0,
        cause: authority.cause.name().into(),
        basis: authority.basis,
        authorized_by: authority.authorized_by,
        decided_ms,
        packages: out.packages,
        hot: out.hot,
        cold: out.cold,
        segments_deleted: out.segments_deleted,
        segments_rewritten: out.segments_rewritten,
        erasure: authority.erasure,
        first_seq: chosen.first().map_or(0, |c| c.package.seq),
        last_seq: chosen.last().map_or(0, |c| c.package.seq),
    };
    // The replaced segment records name the disposition that removed them.
    let after_all: AfterSeal = Box::new(move |seq| {
        let mut extra: ExtraPuts = replaced
            .into_iter()
            .map(|(n, mut rec, by)| {
                rec.removed_by = Some(seq);
                rec.replaced_by = by;
                (cf::META, segment_record_key(id, n), rec.encode())
            })
            .collect();
        if let Some(f) = after {
            extra.extend(f(seq));
        }
        extra
    });
    let sealed = archives
        .dispose(
            info,
            Disposal {
                record,
                packages,
                summary,
                puts,
                after: Some(after_all),
                gate: Some(gate),
            },
        )
        .await?;
    out.disposition = sealed.seq;
    tracing::info!(tenant = %info.tenant, archive = %info.archive, disposition = sealed.seq, packages = out.packages, cause = authority.cause.name(), "disposed of packages");
    Ok(out)
}

/// A rewritten or deleted segment: its number, its record, the number of its replacement.
type Replaced = (u64, SegmentRecord, Option<u64>);

/// Writes each rewrite put-if-absent and verifies it by reading it back; returns the puts that
/// point the kept packages at it and record it, and the segments it replaces.
async fn write_rewrites(
    archives: &Arc<Archives>,
    tier: &Tierer,
    info: &ArchiveInfo,
    changes: &mut [SegmentChange],
    st: &mut TierState,
    out: &mut Disposed,
) -> Result<(ExtraPuts, Vec<Replaced>), Error> {
    let id = info.id;
    let mut puts: ExtraPuts = Vec::new();
    let mut replaced = Vec::new();
    for c in changes.iter_mut() {
        st.cold_bytes = st.cold_bytes.saturating_sub(c.record.bytes);
        let Some((key, bytes)) = c.rewrite.take() else {
            out.segments_deleted += 1;
            replaced.push((c.n, c.record.clone(), None));
            continue;
        };
        match tier.cold().put_new(&key, Bytes::from(bytes)).await {
            Ok(_) | Err(ColdError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let back = tier.cold().get(&key).await?;
        let seg = PlannedSegment {
            key: key.clone(),
            month: c.record.month.clone(),
            seqs: c.kept.clone(),
        };
        let (a, i, planned) = (archives.clone(), info.clone(), seg.clone());
        let v = blocking(move || check_segment(a.store(), &i, &planned, &back)).await?;
        let n = st.segments;
        st.segments += 1;
        st.cold_bytes += v.bytes;
        puts.extend(segment_puts(
            id,
            n,
            &seg,
            (c.record.first, c.record.end),
            &v,
        )?);
        out.segments_rewritten += 1;
        replaced.push((c.n, c.record.clone(), Some(n)));
    }
    Ok((puts, replaced))
}

/// What the disposition batch removes of each chosen package, and the record's entries.
fn disposed_packages(
    hot: &Store,
    id: ArchiveId,
    chosen: &[Chosen],
    st: &mut TierState,
    out: &mut Disposed,
) -> Result<(Vec<DisposedPackage>, Vec<RecordEntry>), Error> {
    let mut packages = Vec::with_capacity(chosen.len());
    let mut entries = Vec::with_capacity(chosen.len());
    let nodes = hot.nodes(id);
    for c in chosen {
        let p = &c.package;
        let leaf = nodes
            .node(0, p.seq)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        entries.push(RecordEntry { seq: p.seq, leaf });
        let is_hot = p.tier == Tier::Hot;
        if is_hot {
            out.hot += 1;
        } else {
            out.cold += 1;
            st.cold_raw_bytes = st.cold_raw_bytes.saturating_sub(c.raw_bytes);
        }
        out.raw_bytes += c.raw_bytes;
        packages.push(DisposedPackage {
            seq: p.seq,
            hot: is_hot,
            record_key: p.header.record_key.clone(),
            index: p
                .header
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), index_value(v)))
                .collect(),
            raw_bytes: c.raw_bytes,
            retain_until_ms: p.header.retain_until_ms,
        });
    }
    Ok((packages, entries))
}

/// The bytes of a segment holding only `kept` of the segment `old`, each package restored
/// against its leaf first.
fn reencode(
    hot: &Store,
    info: &ArchiveInfo,
    old: &[u8],
    kept: &[u64],
    level: i32,
    block_target: usize,
) -> Result<Vec<u8>, TierError> {
    let fail = |reason: String| TierError::Other(format!("rewriting a segment: {reason}"));
    let index = segment::open_segment(old).map_err(|e| fail(e.to_string()))?;
    let kept: HashSet<u64> = kept.iter().copied().collect();
    let restored = restore_packages(hot, info.id, old, &index, |s| kept.contains(&s), fail)?;
    let packages: Vec<SegmentPackage<'_>> = restored
        .iter()
        .map(|(_, r)| SegmentPackage {
            header_bytes: &r.header_bytes,
            objects: r.objects.iter().map(Vec::as_slice).collect(),
        })
        .collect();
    segment::encode_segment_with(&info.tenant, &info.archive, &packages, level, block_target)
        .map_err(|e| fail(e.to_string()))
}
