//! What tiering persists in the hot store: per archive, the [`TierState`] (how far the log is
//! cold, the move in progress and its stage), one [`SegmentRecord`] per cold segment, and one
//! [`Location`] per cold package. The move's stages are the crash-safety state machine:
//! planned → written → verified → evicted (the hot copy removed, in one synced batch with the
//! locations that replace it).

use serde::{Deserialize, Serialize};

use crate::store::{self, ArchiveId, Batch, Store, StoreError, cf};

/// Where a move stands. A restart resumes from the stage stored here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Packages and segment keys chosen; nothing written yet (or a write was interrupted).
    Planned,
    /// Every segment object is in the cold store (put-if-absent).
    Written,
    /// Every segment was read back, its trailer hash checked and every package re-hashed
    /// against its Merkle leaf.
    Verified,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Written => "written",
            Stage::Verified => "verified",
        }
    }
}

/// One segment a move writes: all packages of the move's range with one retention month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSegment {
    /// Object key (formats/cold-layout.md).
    pub key: String,
    /// Retention month, as in the key (`2033-07` or `never`).
    pub month: String,
    /// Its seqs, ascending.
    pub seqs: Vec<u64>,
}

/// A move of seqs `[first, end)` from the hot to the cold tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub first: u64,
    pub end: u64,
    pub stage: Stage,
    pub segments: Vec<PlannedSegment>,
    /// Raw bytes (header bytes plus uncompressed objects) of the range.
    pub raw_bytes: u64,
    pub planned_ms: u64,
}

/// Tiering state of one archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierState {
    /// Every seq below this is cold; none at or above it is.
    pub cold_upto: u64,
    /// Raw bytes (header bytes plus uncompressed objects) of the cold packages.
    pub cold_raw_bytes: u64,
    /// Bytes of the cold segment objects.
    pub cold_bytes: u64,
    /// Segment records written so far (the next record's number).
    pub segments: u64,
    /// Tree size whose checkpoint and tiles are in the cold store.
    pub tiles_size: u64,
    /// Layout version (formats/cold-layout.md) under which those tiles were written; 0 in
    /// states from before layout v2, whose tiles are under `v1/` and do not count (§11).
    #[serde(default)]
    pub tiles_layout: u32,
    /// The move in progress.
    pub pending: Option<Move>,
    /// Packages in the cold tier now (moved, less those disposed of since); absent in
    /// states written before disposal existed, when it equals `cold_upto`.
    #[serde(default)]
    pub cold_packages: Option<u64>,
    /// Rewrite numbers handed out so far (formats/cold-layout.md): a rewritten segment's key
    /// carries the next one, and no number is used twice.
    #[serde(default)]
    pub rewrites: u64,
}

impl TierState {
    /// Packages in the cold tier.
    pub fn cold_packages(&self) -> u64 {
        self.cold_packages.unwrap_or(self.cold_upto)
    }
}

fn tier_key(id: ArchiveId) -> Vec<u8> {
    format!("tier/{id:016x}").into_bytes()
}

/// Key of segment record `n` of an archive.
pub fn segment_record_key(id: ArchiveId, n: u64) -> Vec<u8> {
    format!("segment/{id:016x}/{n:016x}").into_bytes()
}

impl TierState {
    pub fn load(store: &Store, id: ArchiveId) -> Result<TierState, StoreError> {
        Ok(store
            .get_json(cf::META, &tier_key(id), "tier state")?
            .unwrap_or_default())
    }

    /// The state as a put, for a batch that commits it with other writes.
    pub fn put(&self, id: ArchiveId) -> Result<(&'static str, Vec<u8>, Vec<u8>), StoreError> {
        Ok((cf::META, tier_key(id), store::json_value(self)?))
    }

    /// Stores the state alone, durably.
    pub fn save(&self, store: &Store, id: ArchiveId) -> Result<(), StoreError> {
        let mut b = Batch::default();
        let (name, k, v) = self.put(id)?;
        b.put(name, &k, &v);
        store.commit(b)
    }
}

/// A cold segment, as recorded in the hot store (`meta`, `segment/{id}/{n}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRecord {
    pub key: String,
    pub month: String,
    pub first: u64,
    pub end: u64,
    pub packages: u64,
    pub bytes: u64,
    pub raw_bytes: u64,
    /// Set when a disposition removed the object: deleted whole, or replaced by the
    /// rewritten segment of record `replaced_by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<u64>,
}

impl SegmentRecord {
    /// The stored form. A record is numbers and strings, so encoding it cannot fail, which
    /// lets a seal callback (which cannot fail) write one.
    pub fn encode(&self) -> Vec<u8> {
        // Numbers and strings only: serde_json cannot fail on them.
        #[allow(clippy::disallowed_methods)]
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes
    }

    pub fn load(store: &Store, id: ArchiveId, n: u64) -> Result<Option<SegmentRecord>, StoreError> {
        store.get_json(cf::META, &segment_record_key(id, n), "segment record")
    }
}

/// Where a cold package is: segment record `segment`, the block at `block_offset` (of
/// `block_length` bytes, inflating to `raw_length`), and the package's CBOR at `offset`,
/// `length` inside the inflated block. Stored in the `cold` column family as six big-endian
/// u64s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub segment: u64,
    pub block_offset: u64,
    pub block_length: u64,
    pub raw_length: u64,
    pub offset: u64,
    pub length: u64,
}

impl Location {
    /// The index entry of the package `seq` at this location, for reading it from its
    /// inflated block (the block is the one given, so its number is not looked up).
    pub fn package_ref(&self, seq: u64) -> zegel_format::segment::PackageRef {
        zegel_format::segment::PackageRef {
            seq,
            block: 0,
            offset: self.offset,
            length: self.length,
            record_key: None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        [
            self.segment,
            self.block_offset,
            self.block_length,
            self.raw_length,
            self.offset,
            self.length,
        ]
        .iter()
        .flat_map(|n| n.to_be_bytes())
        .collect()
    }

    pub fn decode(v: &[u8]) -> Option<Location> {
        if v.len() != 48 {
            return None;
        }
        let n = |i: usize| {
            v.get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        Some(Location {
            segment: n(0)?,
            block_offset: n(1)?,
            block_length: n(2)?,
            raw_length: n(3)?,
            offset: n(4)?,
            length: n(5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_round_trips() {
        let l = Location {
            segment: 1,
            block_offset: 3,
            block_length: 4,
            raw_length: 5,
            offset: 6,
            length: u64::MAX,
        };
        assert_eq!(Location::decode(&l.encode()), Some(l));
        assert_eq!(Location::decode(&l.encode()[1..]), None);
    }
}
