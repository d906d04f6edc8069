//! The package checks of one chunk with batched reads: the stored leaves and the cold
//! locations of the whole chunk each with one iterator (runs of consecutive keys), the hot
//! headers and hot objects in batched lookups, each cold block read from the cold store
//! (never from the read cache) once per audit step and inflated once. Headers are read in
//! place ([`HeaderView`]), after their bytes matched the stored leaf: the audit checks that
//! nothing changed since sealing, and what was sealed passed the rules of
//! formats/package-header.md §3 then (rules that change only with the header version, which
//! the view checks), so nothing is copied, re-encoded or re-validated; a cold header is
//! restored in place, over its zeroed fields. Anything amiss — a leaf, a header that does
//! not read, an object or a cold package that does not check out, or one that moved tier
//! in the meantime — hands the chunk back (`None`) to the per-package checks, which name
//! the problem precisely.

use std::collections::HashMap;
use std::sync::Arc;

use zegel_format::hash::{Hash, leaf_hash};
use zegel_format::header::HeaderView;
use zegel_format::segment;

use crate::archive::archives::{Archives, open_hot_object};
use crate::audit::check::{
    self, ChunkResult, Records, Scope, check_header, check_one, sampled, stored_leaves,
};
use crate::audit::log::{Subtrees, check_nodes};
use crate::error::Error;
use crate::store::{self, ArchiveId, Store, cf};
use crate::tier::reader::inflate;
use crate::tier::state::{Location, TierState};

/// Checks the packages `[from, end)`: each header against its leaf and its chain link, each
/// object against its digest (hot or cold), disposed packages against their disposition, and
/// retention (nothing overdue kept without a hold, nothing disposed of early); and every
/// stored inner node inside the range against the one recomputed from the leaves. Batched
/// reads first ([`check_chunk`]); a chunk where anything is amiss is checked again one
/// package at a time, which names each problem.
pub async fn check_packages(
    archives: &Archives,
    scope: &Scope<'_>,
    from: u64,
    end: u64,
) -> Result<ChunkResult, Error> {
    if let Some(done) = check_chunk(archives, scope, from, end).await? {
        return Ok(done);
    }
    metrics::counter!("zegel_audit_rechecked_chunks_total").increment(1);
    check::check_each(archives, scope, from, end).await
}

/// The checks of `[from, end)` with batched reads; `None` when the chunk needs the
/// per-package checks.
pub async fn check_chunk(
    archives: &Archives,
    scope: &Scope<'_>,
    from: u64,
    end: u64,
) -> Result<Option<ChunkResult>, Error> {
    let info = scope.info;
    let hot = archives.store();
    let Some(before) = stored_leaves(archives, info, from.saturating_sub(1), end)?
        .into_iter()
        .collect::<Option<Vec<Hash>>>()
    else {
        return Ok(None);
    };
    let offset = usize::from(from > 0);
    let leaves = before.get(offset..).unwrap_or_default();
    let mut slots = slots(scope, from, end, &before);
    // The hot headers' bytes, one after another; each slot holds its range.
    let mut arena = Vec::new();
    if !read_slots(hot, info.id, &mut slots, &mut arena).await? {
        return Ok(None);
    }
    let mut out = ChunkResult {
        leaves: leaves.iter().copied().map(Some).collect(),
        ..Default::default()
    };
    out.tally.examined = end - from;
    let Some(references) = check_slots(archives, scope, &slots, &arena, &mut out).await? else {
        return Ok(None);
    };
    let Some(sizes) = rehash_objects(hot, info.id, &references).await? else {
        return Ok(None);
    };
    out.tally.objects += references.len() as u64;
    out.tally.bytes += references
        .iter()
        .map(|d| sizes.get(d).copied().unwrap_or(0))
        .sum::<u64>();
    let subtrees = Subtrees::new(from, leaves.to_vec());
    tokio::task::yield_now().await;
    out.findings
        .extend(check_nodes(info, hot, &subtrees.inner()));
    out.subtrees = Some(subtrees);
    Ok(Some(out))
}

/// One slot per sampled seq of `[from, end)`: its stored leaf and that of seq − 1 (`before`
/// holds the leaves from seq `from − 1`, or from 0).
fn slots(scope: &Scope<'_>, from: u64, end: u64, before: &[Hash]) -> Vec<Slot> {
    let offset = usize::from(from > 0);
    let leaves = before.get(offset..).unwrap_or_default();
    (from..end)
        .zip(leaves)
        .zip(
            std::iter::once(None)
                .chain(before.iter().copied().map(Some))
                .skip(offset),
        )
        .filter(|((seq, _), _)| sampled(scope.seed, *seq, scope.percent))
        .map(|((seq, leaf), prev)| Slot {
            seq,
            leaf: *leaf,
            prev: if seq == 0 { None } else { prev },
            hot: None,
            cold: None,
        })
        .collect()
}

/// Finds each slot's package: below `cold_upto` every package is cold (or disposed of), at
/// or above it hot, so each is looked for where it should be, then where it may have moved
/// since. False when anything read is not intact.
async fn read_slots(
    hot: &Store,
    id: ArchiveId,
    slots: &mut [Slot],
    arena: &mut Vec<u8>,
) -> Result<bool, Error> {
    let cold_upto = TierState::load(hot, id)?.cold_upto;
    let split = slots.partition_point(|s| s.seq < cold_upto);
    let (below, above) = slots.split_at_mut(split);
    let mut intact = read_locations(hot, id, &mut below.iter_mut().collect::<Vec<_>>())?;
    for part in above
        .iter_mut()
        .collect::<Vec<_>>()
        .chunks_mut(AUDIT_SLICE_PACKAGES)
    {
        intact &= read_headers(hot, id, part, arena)?;
        tokio::task::yield_now().await;
    }
    let mut not_cold: Vec<&mut Slot> = below.iter_mut().filter(|s| s.cold.is_none()).collect();
    intact &= read_headers(hot, id, &mut not_cold, arena)?;
    let mut not_hot: Vec<&mut Slot> = above.iter_mut().filter(|s| s.hot.is_none()).collect();
    intact &= read_locations(hot, id, &mut not_hot)?;
    Ok(intact)
}

/// The header checks of every slot; the digest of every hot object reference, in package
/// order. `None` when anything is amiss (the chunk is then checked one package at a time).
async fn check_slots(
    archives: &Archives,
    scope: &Scope<'_>,
    slots: &[Slot],
    arena: &[u8],
    out: &mut ChunkResult,
) -> Result<Option<Vec<Hash>>, Error> {
    let mut records = Records::new();
    let mut references: Vec<Hash> = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        if i % AUDIT_SLICE_PACKAGES == AUDIT_SLICE_PACKAGES - 1 {
            tokio::task::yield_now().await;
        }
        let (seq, leaf, prev) = (slot.seq, slot.leaf, slot.prev);
        if let Some(range) = &slot.hot {
            // The bytes matched the stored leaf: read in place.
            let Some(h) = arena
                .get(range.clone())
                .and_then(|b| HeaderView::decode_sealed(b).ok())
            else {
                return Ok(None);
            };
            out.tally.checked += 1;
            out.tally.bytes += range.len() as u64;
            check_header(scope, seq, &h, prev, &mut out.findings);
            references.extend(h.objects.iter().map(|o| o.digest));
        } else if let Some(at) = &slot.cold {
            let Some(block) = audit_block(archives, scope, seq, at).await else {
                return Ok(None);
            };
            let entry = at.package_ref(seq);
            let Ok((p, restored)) = segment::open_package_ref(&block, &entry, prev) else {
                return Ok(None);
            };
            if restored != leaf {
                return Ok(None);
            }
            out.tally.checked += 1;
            out.tally.objects += p.objects.len() as u64;
            out.tally.bytes +=
                (p.header_bytes.len() + p.objects.iter().map(|o| o.len()).sum::<usize>()) as u64;
            check_header(scope, seq, &p.header, prev, &mut out.findings);
        } else {
            // Disposed of (or missing): the per-package check, which reads its mark.
            check_one(archives, scope, seq, leaf, prev, &mut records, out).await?;
        }
    }
    Ok(Some(references))
}

/// Every hot object of `references` once, decompressed and re-hashed: the size of each, or
/// `None` when one is missing or does not match its digest.
async fn rehash_objects(
    hot: &Store,
    id: ArchiveId,
    references: &[Hash],
) -> Result<Option<HashMap<Hash, u64>>, Error> {
    let mut digests = references.to_vec();
    digests.sort();
    digests.dedup();
    let keys: Vec<Vec<u8>> = digests.iter().map(|d| store::object_key(id, d)).collect();
    let mut sizes: HashMap<Hash, u64> = HashMap::with_capacity(digests.len());
    let mut intact = true;
    for (keys, digests) in keys
        .chunks(AUDIT_SLICE_PACKAGES)
        .zip(digests.chunks(AUDIT_SLICE_PACKAGES))
    {
        hot.multi_get(cf::OBJECTS, keys, |i, v| {
            match (v, digests.get(i)) {
                (Some(v), Some(d)) => match open_hot_object(v, d) {
                    Ok(bytes) => {
                        sizes.insert(*d, bytes.len() as u64);
                    }
                    Err(_) => intact = false,
                },
                _ => intact = false,
            }
            Ok(())
        })?;
        tokio::task::yield_now().await;
    }
    Ok(intact.then_some(sizes))
}

/// Packages a chunk checks between two yields to the runtime: the chunk runs on the async
/// workers, and a request on the same worker waits for at most this many (about a
/// millisecond of CPU) instead of the whole chunk.
const AUDIT_SLICE_PACKAGES: usize = 256;

/// One sampled seq of a chunk: its stored leaf, the stored leaf of seq − 1, and the package
/// where it was found: a hot header (its bytes' range in the chunk's arena) or a cold
/// location.
struct Slot {
    seq: u64,
    leaf: Hash,
    prev: Option<Hash>,
    hot: Option<std::ops::Range<usize>>,
    cold: Option<Location>,
}

/// Calls `each(slot, value)` for every slot whose `id ‖ seq` key has a value in `name`: one
/// iterator over the slots' range of seqs (slots in ascending seq order).
fn read_run(
    hot: &crate::store::Store,
    name: &str,
    id: crate::store::ArchiveId,
    slots: &mut [&mut Slot],
    mut each: impl FnMut(&mut Slot, &[u8]),
) -> Result<(), Error> {
    let (Some(first), Some(last)) = (slots.first().map(|s| s.seq), slots.last().map(|s| s.seq))
    else {
        return Ok(());
    };
    hot.for_each_in(
        name,
        &store::header_key(id, first),
        &store::header_key(id, last.saturating_add(1)),
        |k, v| {
            let Some(seq) = k
                .get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                return;
            };
            if let Ok(i) = slots.binary_search_by_key(&seq, |s| s.seq)
                && let Some(slot) = slots.get_mut(i)
            {
                each(slot, v);
            }
        },
    )?;
    Ok(())
}

/// Reads the hot headers of `slots` in one batch (the family is read by key only, for the
/// reads' sake); each found is appended to `arena` once its bytes matched the slot's stored
/// leaf. `false` when one did not.
fn read_headers(
    hot: &crate::store::Store,
    id: crate::store::ArchiveId,
    slots: &mut [&mut Slot],
    arena: &mut Vec<u8>,
) -> Result<bool, Error> {
    let keys: Vec<[u8; 16]> = slots.iter().map(|s| store::header_key(id, s.seq)).collect();
    let mut intact = true;
    hot.multi_get(cf::HEADERS, &keys, |j, v| {
        if let (Some(v), Some(slot)) = (v, slots.get_mut(j)) {
            if leaf_hash(v) != slot.leaf {
                intact = false;
            } else {
                let at = arena.len();
                arena.extend_from_slice(v);
                slot.hot = Some(at..arena.len());
            }
        }
        Ok(())
    })?;
    Ok(intact)
}

/// Reads the cold locations of `slots` with one iterator. `false` when one does not decode.
fn read_locations(
    hot: &crate::store::Store,
    id: crate::store::ArchiveId,
    slots: &mut [&mut Slot],
) -> Result<bool, Error> {
    let mut intact = true;
    read_run(hot, cf::COLD, id, slots, |slot, v| {
        match Location::decode(v) {
            Some(at) => slot.cold = Some(at),
            None => intact = false,
        }
    })?;
    Ok(intact)
}

/// The inflated block holding the cold package `seq` at `at`, read from the cold store
/// during this audit step: from the step's own block cache ([`Scope::blocks`]) when another
/// chunk already read it (consecutive packages lie in different segments, one per retention
/// month, so one block serves many chunks), never from the server's read cache. `None` when
/// the read or the inflation fails.
async fn audit_block(
    archives: &Archives,
    scope: &Scope<'_>,
    seq: u64,
    at: &Location,
) -> Option<Arc<Vec<u8>>> {
    let id = scope.info.id;
    let key = (id, at.segment, at.block_offset);
    let cached = scope
        .blocks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key);
    if let Some(b) = cached {
        return Some(b);
    }
    let frame = archives
        .cold()
        .fetch_span(
            archives.store(),
            id,
            seq,
            at.segment,
            (at.block_offset, at.block_offset + at.block_length),
        )
        .await
        .ok()?;
    let raw = Arc::new(inflate(&frame, at.raw_length).ok()?);
    scope
        .blocks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, raw.clone());
    Some(raw)
}
