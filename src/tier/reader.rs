//! Reads of cold packages: location from the hot store, one ranged GET of the block, inflate,
//! restore the reduced header and check its leaf against the hot Merkle leaf. Bytes that fail
//! the check are never returned: the read fails and the alarm metric
//! `zegel_cold_corrupt_total` counts it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use zegel_format::hash::Hash;
use zegel_format::merkle::NodeSource;
use zegel_format::segment::{self, ColdPackage};

use crate::cold::{ColdError, ColdStore};
use crate::limits::BLOCK_CACHE_BYTES_MAX;
use crate::store::{self, ArchiveId, Store, StoreError, cf};
use crate::tier::state::{Location, SegmentRecord};

/// Why a cold read failed.
#[derive(Debug, thiserror::Error)]
pub enum ColdReadError {
    /// The cold store could not be reached or answered with an error.
    #[error("{0}")]
    Unavailable(#[from] ColdError),
    /// Stored bytes are not what was written (the alarm).
    #[error("cold package {seq} failed its check: {reason}")]
    Corrupt {
        id: ArchiveId,
        seq: u64,
        /// For `cold.leaf`, the leaf the stored package restores to, when it restores.
        found: Option<Hash>,
        /// Which check: `cold.missing` (the object or its block is not there in full),
        /// `cold.block` (the block does not inflate) or `cold.leaf` (the package does not
        /// restore to its Merkle leaf).
        check: &'static str,
        reason: String,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// A block: (archive, segment record, offset of the block in the segment).
pub type BlockKey = (ArchiveId, u64, u64);

/// Inflated blocks, first in first out within a byte budget.
#[derive(Debug)]
pub struct BlockCache {
    map: HashMap<BlockKey, Arc<Vec<u8>>>,
    order: VecDeque<BlockKey>,
    bytes: usize,
    budget: usize,
}

impl Default for BlockCache {
    fn default() -> Self {
        BlockCache::with_budget(BLOCK_CACHE_BYTES_MAX)
    }
}

impl BlockCache {
    pub fn with_budget(budget: usize) -> BlockCache {
        BlockCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    pub fn get(&self, k: &BlockKey) -> Option<Arc<Vec<u8>>> {
        self.map.get(k).cloned()
    }

    fn remove(&mut self, k: &BlockKey) {
        if let Some(v) = self.map.remove(k) {
            self.bytes -= v.len();
            self.order.retain(|o| o != k);
        }
    }

    pub fn insert(&mut self, k: BlockKey, v: Arc<Vec<u8>>) {
        if self.map.contains_key(&k) || v.len() > self.budget {
            return;
        }
        self.bytes += v.len();
        self.map.insert(k, v);
        self.order.push_back(k);
        while self.bytes > self.budget {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.map.remove(&old) {
                self.bytes -= v.len();
            }
        }
    }
}

/// The read side of the cold tier, shared by every request.
#[derive(Debug)]
pub struct ColdReader {
    cold: ColdStore,
    /// Segment keys by (archive, record number); segments never move.
    keys: Mutex<HashMap<(ArchiveId, u64), String>>,
    blocks: Mutex<BlockCache>,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ColdReader {
    pub fn new(cold: ColdStore) -> ColdReader {
        ColdReader {
            cold,
            keys: Mutex::new(HashMap::new()),
            blocks: Mutex::new(BlockCache::default()),
        }
    }

    pub fn store(&self) -> &ColdStore {
        &self.cold
    }

    /// Where a cold package is, if it is cold.
    pub fn location(hot: &Store, id: ArchiveId, seq: u64) -> Result<Option<Location>, StoreError> {
        hot.get(cf::COLD, &store::header_key(id, seq))?
            .map(|v| {
                Location::decode(&v)
                    .ok_or_else(|| StoreError::Corrupt(format!("cold location of {id}/{seq}")))
            })
            .transpose()
    }

    fn segment_key(&self, hot: &Store, id: ArchiveId, n: u64) -> Result<String, StoreError> {
        if let Some(k) = guard(&self.keys).get(&(id, n)) {
            return Ok(k.clone());
        }
        let rec = SegmentRecord::load(hot, id, n)?
            .ok_or_else(|| StoreError::Corrupt(format!("segment record {id}/{n} is missing")))?;
        guard(&self.keys).insert((id, n), rec.key.clone());
        Ok(rec.key)
    }

    /// The package at `seq`, read from its segment and checked against the hot leaves.
    pub async fn package(
        &self,
        hot: &Store,
        id: ArchiveId,
        seq: u64,
        at: Location,
    ) -> Result<ColdPackage, ColdReadError> {
        let (leaf, prev) = leaves(hot, id, seq)?;
        let cache_key = (id, at.segment, at.block_offset);
        let cached = guard(&self.blocks).map.get(&cache_key).cloned();
        let block = match cached {
            Some(b) => b,
            None => {
                let raw = Arc::new(self.fetch_block(hot, id, seq, &at).await?);
                guard(&self.blocks).insert(cache_key, raw.clone());
                raw
            }
        };
        read_at(&block, id, seq, &at, prev, &leaf).inspect_err(|_| {
            // A cached block that fails is dropped, so a repaired object is read afresh.
            guard(&self.blocks).remove(&cache_key);
        })
    }

    /// As [`ColdReader::package`] for an audit: with the leaves of `seq` and `seq − 1` the
    /// caller has read, and the block read from the cold store itself, not the cache.
    pub async fn package_audited(
        &self,
        hot: &Store,
        id: ArchiveId,
        seq: u64,
        at: Location,
        (leaf, prev): (Hash, Option<Hash>),
    ) -> Result<ColdPackage, ColdReadError> {
        let block = self.fetch_block(hot, id, seq, &at).await?;
        read_at(&block, id, seq, &at, prev, &leaf)
    }

    /// The inflated block holding the package at `seq`, read from the cold store itself (not
    /// the block cache).
    pub async fn fetch_block(
        &self,
        hot: &Store,
        id: ArchiveId,
        seq: u64,
        at: &Location,
    ) -> Result<Vec<u8>, ColdReadError> {
        let frame = self
            .fetch_span(
                hot,
                id,
                seq,
                at.segment,
                (at.block_offset, at.block_offset + at.block_length),
            )
            .await?;
        let raw_length = at.raw_length;
        let key = self.segment_key(hot, id, at.segment)?;
        tokio::task::spawn_blocking(move || inflate(&frame, raw_length))
            .await
            .map_err(|e| StoreError::Corrupt(format!("inflate task: {e}")))?
            .map_err(|e| corrupt(id, seq, "cold.block", format!("block of {key}: {e}")))
    }

    /// Bytes `[start, end)` of segment record `segment`, in one ranged read from the cold
    /// store. The location is committed, so the range must be there in full: a missing object
    /// or a short read is lost data (`cold.missing`, the alarm), not an outage; `seq` names
    /// the package that needed it.
    pub async fn fetch_span(
        &self,
        hot: &Store,
        id: ArchiveId,
        seq: u64,
        segment: u64,
        (start, end): (u64, u64),
    ) -> Result<bytes::Bytes, ColdReadError> {
        let key = self.segment_key(hot, id, segment)?;
        let started = std::time::Instant::now();
        let bytes = match self.cold.get_range(&key, start, end).await {
            Ok(f) => f,
            Err(e @ (ColdError::NotFound(_) | ColdError::Io(_))) => {
                return Err(corrupt(
                    id,
                    seq,
                    "cold.missing",
                    format!("segment {key}: {e}"),
                ));
            }
            Err(ColdError::Backend { source, .. })
                if source.to_string().contains("416")
                    || source.to_string().contains("Range Not Satisfiable") =>
            {
                return Err(corrupt(
                    id,
                    seq,
                    "cold.missing",
                    format!("segment {key} is shorter than its index"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        metrics::histogram!("zegel_cold_get_seconds").record(started.elapsed().as_secs_f64());
        Ok(bytes)
    }
}

/// The package at `at` in its inflated block, checked against its leaf and chain.
fn read_at(
    block: &[u8],
    id: ArchiveId,
    seq: u64,
    at: &Location,
    prev: Option<Hash>,
    leaf: &Hash,
) -> Result<ColdPackage, ColdReadError> {
    let entry = at.package_ref(seq);
    metrics::counter!("zegel_cold_reads_total").increment(1);
    segment::read_package(block, &entry, prev, leaf).map_err(|e| {
        // Refused: name the leaf the stored package restores to, when it restores.
        let found = segment::open_package_ref(block, &entry, prev)
            .ok()
            .map(|(_, l)| l)
            .filter(|l| l != leaf);
        let mut e = corrupt(id, seq, "cold.leaf", e.to_string());
        if let ColdReadError::Corrupt { found: f, .. } = &mut e {
            *f = found;
        }
        e
    })
}

/// A cold read that failed its check: counted by the alarm metric and logged.
pub fn corrupt(id: ArchiveId, seq: u64, check: &'static str, reason: String) -> ColdReadError {
    metrics::counter!("zegel_cold_corrupt_total").increment(1);
    tracing::error!(archive = id, seq, %reason, "cold package failed its check");
    ColdReadError::Corrupt {
        id,
        seq,
        found: None,
        check,
        reason,
    }
}

/// The trusted leaf of `seq` and of `seq − 1` (none for seq 0), from the hot store.
fn leaves(hot: &Store, id: ArchiveId, seq: u64) -> Result<(Hash, Option<Hash>), StoreError> {
    let nodes = hot.nodes(id);
    let leaf = nodes
        .node(0, seq)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let prev = match seq {
        0 => None,
        n => Some(
            nodes
                .node(0, n - 1)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
    };
    Ok((leaf, prev))
}

/// Inflates one zstd frame that must hold exactly `raw_length` bytes.
pub fn inflate(frame: &[u8], raw_length: u64) -> Result<Vec<u8>, String> {
    thread_local! {
        static INFLATER: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    if raw_length > zegel_format::segment::SEGMENT_BLOCK_RAW_BYTES_MAX as u64 {
        return Err(format!("block of {raw_length} bytes is over the limit"));
    }
    // One pass into a buffer of the indexed length: a block that inflates to more fails.
    let raw = INFLATER.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
        }
        match d.as_mut() {
            Some(d) => d
                .decompress(frame, raw_length as usize)
                .map_err(|e| e.to_string()),
            None => Err("no zstd context".to_string()),
        }
    })?;
    if raw.len() as u64 != raw_length {
        return Err(format!("inflates to {} bytes, not {raw_length}", raw.len()));
    }
    Ok(raw)
}

#[cfg(test)]
mod inflate_tests {
    use super::*;

    #[test]
    fn inflates_to_the_indexed_length_and_refuses_any_other() {
        let a: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect();
        let za = zstd::bulk::compress(&a, 19).unwrap();
        assert_eq!(inflate(&za, a.len() as u64).unwrap(), a);
        assert!(inflate(&za, a.len() as u64 - 1).is_err());
        assert!(inflate(&za, a.len() as u64 + 1).is_err());
        assert!(inflate(&za[..za.len() - 1], a.len() as u64).is_err());
    }
}
