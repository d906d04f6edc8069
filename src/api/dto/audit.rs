//! Wire types of audits: a run with its tallies and findings, as the audit routes answer and
//! `zegel audit` reads back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{finding, run};

/// One audit of one archive.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditRun {
    pub id: String,
    pub archive: String,
    /// Percentage of packages checked (100: all), and the seed that picks them.
    pub sample_percent: u8,
    pub seed: u64,
    /// Who started it (API key id) and when.
    pub started_by: String,
    pub started_ms: u64,
    /// The log size it audits up to (fixed at the start).
    pub size: u64,
    /// The next seq to check.
    pub cursor: u64,
    pub packages: PackageTally,
    pub log: Option<LogTally>,
    /// Findings per check.
    pub counts: BTreeMap<String, u64>,
    /// The first `AUDIT_FINDINGS_KEPT_MAX` findings.
    pub findings: Vec<Finding>,
    /// When it finished, and the seq of the `audit` package that records it.
    pub finished_ms: Option<u64>,
    pub recorded_seq: Option<u64>,
}

impl AuditRun {
    /// Findings of every check, kept or not.
    pub fn findings_total(&self) -> u64 {
        self.counts.values().sum()
    }
}

impl From<run::AuditRun> for AuditRun {
    fn from(r: run::AuditRun) -> Self {
        AuditRun {
            id: r.id,
            archive: r.archive,
            sample_percent: r.sample_percent,
            seed: r.seed,
            started_by: r.started_by,
            started_ms: r.started_ms,
            size: r.size,
            cursor: r.cursor,
            packages: r.packages.into(),
            log: r.log.map(Into::into),
            counts: r.counts,
            findings: r.findings.into_iter().map(Into::into).collect(),
            finished_ms: r.finished_ms,
            recorded_seq: r.recorded_seq,
        }
    }
}

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

impl From<finding::Finding> for Finding {
    fn from(f: finding::Finding) -> Self {
        Finding {
            archive: f.archive,
            seq: f.seq,
            object: f.object,
            check: f.check,
            expected: f.expected,
            found: f.found,
            detail: f.detail,
        }
    }
}

/// What one range of package checks covered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

impl From<finding::PackageTally> for PackageTally {
    fn from(t: finding::PackageTally) -> Self {
        PackageTally {
            examined: t.examined,
            checked: t.checked,
            disposed: t.disposed,
            objects: t.objects,
            bytes: t.bytes,
        }
    }
}

/// What the log checks covered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogTally {
    pub leaves: u64,
    pub checkpoints: u64,
    pub signed_heads: u64,
    pub consistency_proofs: u64,
}

impl From<finding::LogTally> for LogTally {
    fn from(t: finding::LogTally) -> Self {
        LogTally {
            leaves: t.leaves,
            checkpoints: t.checkpoints,
            signed_heads: t.signed_heads,
            consistency_proofs: t.consistency_proofs,
        }
    }
}
