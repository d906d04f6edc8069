//! Wire types of tiering and usage: what a tiering pass did, the tiering state of an
//! archive, and a tenant's usage now and per day.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tier::mover;
use crate::usage;

/// One finished move.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MoveReport {
    pub tenant: String,
    pub archive: String,
    pub first: u64,
    pub end: u64,
    pub segments: u64,
    /// Raw bytes moved (header bytes plus uncompressed objects).
    pub raw_bytes: u64,
    /// Bytes of the segment objects written.
    pub cold_bytes: u64,
    /// Hot bytes freed.
    pub hot_bytes_freed: u64,
}

impl From<mover::MoveReport> for MoveReport {
    fn from(m: mover::MoveReport) -> Self {
        MoveReport {
            tenant: m.tenant,
            archive: m.archive,
            first: m.first,
            end: m.end,
            segments: m.segments,
            raw_bytes: m.raw_bytes,
            cold_bytes: m.cold_bytes,
            hot_bytes_freed: m.hot_bytes_freed,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PassReport {
    pub moves: Vec<MoveReport>,
    /// Archives whose move failed, with the reason; their hot copies are intact.
    pub errors: Vec<TierFailure>,
}

impl From<mover::PassReport> for PassReport {
    fn from(p: mover::PassReport) -> Self {
        PassReport {
            moves: p.moves.into_iter().map(Into::into).collect(),
            errors: p.errors.into_iter().map(Into::into).collect(),
        }
    }
}

/// A move that failed: which archive, why and when.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TierFailure {
    pub tenant: String,
    pub archive: String,
    pub error: String,
    pub at_ms: u64,
}

impl From<mover::TierFailure> for TierFailure {
    fn from(f: mover::TierFailure) -> Self {
        TierFailure {
            tenant: f.tenant,
            archive: f.archive,
            error: f.error,
            at_ms: f.at_ms,
        }
    }
}

/// Tiering of one archive, for `tier status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArchiveTier {
    pub tenant: String,
    pub archive: String,
    /// Packages in the log.
    pub packages: u64,
    /// Raw bytes of every package (header bytes plus uncompressed objects).
    pub raw_bytes: u64,
    /// Packages with a hot copy (in flight ones included).
    pub hot_packages: u64,
    /// Bytes in the hot tier (header bytes plus compressed objects).
    pub hot_bytes: u64,
    pub cold_packages: u64,
    /// Packages disposed of (retention or erasure): neither hot nor cold.
    pub disposed_packages: u64,
    /// Bytes of cold segment objects.
    pub cold_bytes: u64,
    /// Raw bytes of the cold packages.
    pub cold_raw_bytes: u64,
    pub segments: u64,
    /// Packages of the move in progress (still hot until it finishes).
    pub in_flight_packages: u64,
    pub in_flight_raw_bytes: u64,
    /// Stage of the move in progress: planned, written or verified.
    pub stage: Option<String>,
    /// The last failure since the last successful move.
    pub last_error: Option<TierFailure>,
}

impl From<mover::ArchiveTier> for ArchiveTier {
    fn from(a: mover::ArchiveTier) -> Self {
        ArchiveTier {
            tenant: a.tenant,
            archive: a.archive,
            packages: a.packages,
            raw_bytes: a.raw_bytes,
            hot_packages: a.hot_packages,
            hot_bytes: a.hot_bytes,
            cold_packages: a.cold_packages,
            disposed_packages: a.disposed_packages,
            cold_bytes: a.cold_bytes,
            cold_raw_bytes: a.cold_raw_bytes,
            segments: a.segments,
            in_flight_packages: a.in_flight_packages,
            in_flight_raw_bytes: a.in_flight_raw_bytes,
            stage: a.stage,
            last_error: a.last_error.map(Into::into),
        }
    }
}

/// One tenant's usage at one moment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageFigures {
    pub tenant: String,
    pub archives: u64,
    /// Packages archived (every tier).
    pub packages: u64,
    /// Bytes archived: header bytes plus uncompressed objects.
    pub raw_bytes: u64,
    pub hot_packages: u64,
    /// Bytes in the hot tier: header bytes plus compressed objects.
    pub hot_bytes: u64,
    pub cold_packages: u64,
    /// Bytes of the tenant's cold segment objects.
    pub cold_bytes: u64,
    /// Authenticated API requests since the tenant's first.
    pub requests: u64,
}

impl From<usage::UsageFigures> for UsageFigures {
    fn from(f: usage::UsageFigures) -> Self {
        UsageFigures {
            tenant: f.tenant,
            archives: f.archives,
            packages: f.packages,
            raw_bytes: f.raw_bytes,
            hot_packages: f.hot_packages,
            hot_bytes: f.hot_bytes,
            cold_packages: f.cold_packages,
            cold_bytes: f.cold_bytes,
            requests: f.requests,
        }
    }
}

/// The last snapshot of a day (UTC).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub at_ms: u64,
    #[serde(flatten)]
    pub figures: UsageFigures,
}

impl From<usage::UsageDay> for UsageDay {
    fn from(d: usage::UsageDay) -> Self {
        UsageDay {
            day: d.day,
            at_ms: d.at_ms,
            figures: d.figures.into(),
        }
    }
}
