//! What the hot store keeps of a disposition: a mark per disposed package (which disposition
//! removed it, why, when), so that reads answer 410 Gone with the reference and no later pass
//! disposes of it twice, and a summary per disposition package, for listings. Both are
//! written in the one batch that seals the disposition package and deletes the content.

use serde::{Deserialize, Serialize};

use crate::limits::DISPOSITIONS_LISTED_MAX;
use crate::store::{ArchiveId, Store, StoreError, cf};

/// The mark of one disposed package (`meta`, `disposed/{id}/{seq}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisposedMark {
    /// Seq of the disposition package that records the disposal.
    pub disposition: u64,
    /// `retention` or `erasure`.
    pub cause: String,
    pub at_ms: u64,
    /// The package's retention end as its header said (null: kept forever), so an audit can
    /// tell that no disposal of cause `retention` came early.
    #[serde(default)]
    pub retain_until_ms: Option<u64>,
}

/// One disposition, as listed (`meta`, `disposition/{id}/{seq}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionSummary {
    /// Seq of the disposition package.
    pub seq: u64,
    /// `retention` or `erasure`.
    pub cause: String,
    /// The rule that ended, or the legal basis of an erasure.
    pub basis: String,
    /// API key ids: the archivist who applied retention, or the requester and approver of an
    /// erasure.
    pub authorized_by: Vec<String>,
    pub decided_ms: u64,
    /// Packages disposed of, and how many of them were in each tier.
    pub packages: u64,
    pub hot: u64,
    pub cold: u64,
    /// Cold segments deleted whole, and rewritten without the disposed packages.
    pub segments_deleted: u64,
    pub segments_rewritten: u64,
    /// The erasure request this disposition carried out, if any.
    pub erasure: Option<String>,
    /// Lowest and highest disposed seq.
    pub first_seq: u64,
    pub last_seq: u64,
}

pub fn disposed_key(id: ArchiveId, seq: u64) -> Vec<u8> {
    format!("disposed/{id:016x}/{seq:016x}").into_bytes()
}

pub fn disposition_key(id: ArchiveId, seq: u64) -> Vec<u8> {
    format!("disposition/{id:016x}/{seq:016x}").into_bytes()
}

fn disposition_prefix(id: ArchiveId) -> Vec<u8> {
    format!("disposition/{id:016x}/").into_bytes()
}

/// The mark of `seq`, if it was disposed of.
pub fn mark(store: &Store, id: ArchiveId, seq: u64) -> Result<Option<DisposedMark>, StoreError> {
    store.get_json(cf::META, &disposed_key(id, seq), "disposed mark")
}

/// The dispositions of an archive, oldest first.
pub fn summaries(store: &Store, id: ArchiveId) -> Result<Vec<DispositionSummary>, StoreError> {
    store.scan_json(
        cf::META,
        &disposition_prefix(id),
        DISPOSITIONS_LISTED_MAX,
        "disposition summary",
    )
}

/// One disposition's summary.
pub fn summary(
    store: &Store,
    id: ArchiveId,
    seq: u64,
) -> Result<Option<DispositionSummary>, StoreError> {
    store.get_json(cf::META, &disposition_key(id, seq), "disposition summary")
}
