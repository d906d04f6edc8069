//! Wire types of retention: legal holds, erasure requests, the retention plan, what a
//! disposition did and the dispositions as listed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::archive::disposed;
use crate::retention::{apply, dispose, erasure, holds, plan};

/// What a hold covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldScope {
    /// One package.
    Package(u64),
    /// Every version of a record key.
    Record(String),
    /// Every package whose metadata `field` has this value (as the search route compares).
    Query { field: String, value: String },
}

impl From<holds::HoldScope> for HoldScope {
    fn from(s: holds::HoldScope) -> Self {
        match s {
            holds::HoldScope::Package(seq) => HoldScope::Package(seq),
            holds::HoldScope::Record(key) => HoldScope::Record(key),
            holds::HoldScope::Query { field, value } => HoldScope::Query { field, value },
        }
    }
}

/// Who lifted a hold, when and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lifted {
    pub by: String,
    pub at_ms: u64,
    pub reason: String,
}

impl From<holds::Lifted> for Lifted {
    fn from(l: holds::Lifted) -> Self {
        Lifted {
            by: l.by,
            at_ms: l.at_ms,
            reason: l.reason,
        }
    }
}

/// A legal hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hold {
    pub id: String,
    pub archive: String,
    pub scope: HoldScope,
    pub reason: String,
    /// Id of the API key that placed it.
    pub placed_by: String,
    pub placed_ms: u64,
    pub lifted: Option<Lifted>,
}

impl From<holds::Hold> for Hold {
    fn from(h: holds::Hold) -> Self {
        Hold {
            id: h.id,
            archive: h.archive,
            scope: h.scope.into(),
            reason: h.reason,
            placed_by: h.placed_by,
            placed_ms: h.placed_ms,
            lifted: h.lifted.map(Into::into),
        }
    }
}

/// What an erasure covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureScope {
    /// One package.
    Package(u64),
    /// Every version of a record key.
    Record(String),
}

impl From<erasure::ErasureScope> for ErasureScope {
    fn from(s: erasure::ErasureScope) -> Self {
        match s {
            erasure::ErasureScope::Package(seq) => ErasureScope::Package(seq),
            erasure::ErasureScope::Record(key) => ErasureScope::Record(key),
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureState {
    /// Waiting for a second archivist.
    Requested,
    /// Approved and carried out: `disposition` names the disposition package.
    Erased,
    /// Withdrawn or refused; nothing was erased.
    Rejected,
}

impl From<erasure::ErasureState> for ErasureState {
    fn from(s: erasure::ErasureState) -> Self {
        match s {
            erasure::ErasureState::Requested => ErasureState::Requested,
            erasure::ErasureState::Erased => ErasureState::Erased,
            erasure::ErasureState::Rejected => ErasureState::Rejected,
        }
    }
}

/// An erasure request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Erasure {
    pub id: String,
    pub archive: String,
    pub scope: ErasureScope,
    /// The legal basis (court order, statute, data subject's request), recorded in the
    /// disposition.
    pub basis: String,
    /// Id of the API key that requested it.
    pub requested_by: String,
    pub requested_ms: u64,
    pub state: ErasureState,
    /// Id of the key that approved or rejected it.
    pub decided_by: Option<String>,
    pub decided_ms: Option<u64>,
    /// Why it was rejected.
    pub rejection: Option<String>,
    /// The disposition package that carried it out.
    pub disposition: Option<u64>,
}

impl From<erasure::Erasure> for Erasure {
    fn from(e: erasure::Erasure) -> Self {
        Erasure {
            id: e.id,
            archive: e.archive,
            scope: e.scope.into(),
            basis: e.basis,
            requested_by: e.requested_by,
            requested_ms: e.requested_ms,
            state: e.state.into(),
            decided_by: e.decided_by,
            decided_ms: e.decided_ms,
            rejection: e.rejection,
            disposition: e.disposition,
        }
    }
}

/// What one disposition did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

impl From<dispose::Disposed> for Disposed {
    fn from(d: dispose::Disposed) -> Self {
        Disposed {
            disposition: d.disposition,
            packages: d.packages,
            hot: d.hot,
            cold: d.cold,
            segments_deleted: d.segments_deleted,
            segments_rewritten: d.segments_rewritten,
            raw_bytes: d.raw_bytes,
        }
    }
}

/// What one `retention apply` call did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplyReport {
    pub archive: String,
    /// The time the packages were due at (the server's clock).
    pub at_ms: u64,
    /// The disposition this call sealed, if anything was due.
    pub disposed: Option<Disposed>,
    /// Due packages that a legal hold keeps, among those scanned.
    pub held: u64,
    /// Where the next call continues; null when the scan reached the end of the log.
    pub next_from: Option<u64>,
    /// Packages scanned by this call.
    pub scanned: u64,
}

impl From<apply::ApplyReport> for ApplyReport {
    fn from(r: apply::ApplyReport) -> Self {
        ApplyReport {
            archive: r.archive,
            at_ms: r.at_ms,
            disposed: r.disposed.map(Into::into),
            held: r.held,
            next_from: r.next_from,
            scanned: r.scanned,
        }
    }
}

/// Due packages sealed under one agreement version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementDue {
    /// Agreement version (0 for packages sealed without one, such as the agreement itself).
    pub version: u64,
    pub packages: u64,
    pub raw_bytes: u64,
}

impl From<plan::AgreementDue> for AgreementDue {
    fn from(a: plan::AgreementDue) -> Self {
        AgreementDue {
            version: a.version,
            packages: a.packages,
            raw_bytes: a.raw_bytes,
        }
    }
}

/// One due package, as an example.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueSample {
    pub seq: u64,
    pub record_key: Option<String>,
    pub retain_until_ms: u64,
    pub tier: String,
}

impl From<plan::DueSample> for DueSample {
    fn from(s: plan::DueSample) -> Self {
        DueSample {
            seq: s.seq,
            record_key: s.record_key,
            retain_until_ms: s.retain_until_ms,
            tier: s.tier,
        }
    }
}

/// The plan of one archive.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArchivePlan {
    pub archive: String,
    /// Packages due at or before this time.
    pub at_ms: u64,
    /// Packages examined (the whole log).
    pub packages: u64,
    pub due_packages: u64,
    /// Raw bytes of the due packages (header bytes plus uncompressed objects).
    pub due_raw_bytes: u64,
    pub due_hot: u64,
    pub due_cold: u64,
    /// Packages that would be due but are held.
    pub held_packages: u64,
    pub held_raw_bytes: u64,
    pub by_agreement: Vec<AgreementDue>,
    pub samples: Vec<DueSample>,
    /// The earliest retention end after `at_ms` of a package not held, if any.
    pub next_due_ms: Option<u64>,
}

impl From<plan::ArchivePlan> for ArchivePlan {
    fn from(p: plan::ArchivePlan) -> Self {
        ArchivePlan {
            archive: p.archive,
            at_ms: p.at_ms,
            packages: p.packages,
            due_packages: p.due_packages,
            due_raw_bytes: p.due_raw_bytes,
            due_hot: p.due_hot,
            due_cold: p.due_cold,
            held_packages: p.held_packages,
            held_raw_bytes: p.held_raw_bytes,
            by_agreement: p.by_agreement.into_iter().map(Into::into).collect(),
            samples: p.samples.into_iter().map(Into::into).collect(),
            next_due_ms: p.next_due_ms,
        }
    }
}

/// One disposition, as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

impl From<disposed::DispositionSummary> for DispositionSummary {
    fn from(d: disposed::DispositionSummary) -> Self {
        DispositionSummary {
            seq: d.seq,
            cause: d.cause,
            basis: d.basis,
            authorized_by: d.authorized_by,
            decided_ms: d.decided_ms,
            packages: d.packages,
            hot: d.hot,
            cold: d.cold,
            segments_deleted: d.segments_deleted,
            segments_rewritten: d.segments_rewritten,
            erasure: d.erasure,
            first_seq: d.first_seq,
            last_seq: d.last_seq,
        }
    }
}
