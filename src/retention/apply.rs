//! `retention apply`: disposes of the packages whose retention has ended and that no legal
//! hold covers, one disposition (at most `DISPOSITION_PACKAGES_MAX` packages) per call. A
//! call scans the log from a cursor and says where the next one continues, so a long run is
//! a loop of bounded requests with progress in between.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zegel_format::disposition::Cause;
use zegel_format::limits::DISPOSITION_PACKAGES_MAX;

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::error::Error;
use crate::retention::dispose::{self, Authority, Chosen, Disposed, disposable};
use crate::retention::holds::Holds;
use crate::tier::mover::Tierer;

/// What one `retention apply` call did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

/// One apply call over `[from, size)`: due, unheld, disposable packages up to `max`.
// The services a step uses, the archive, who applies it and the range: one caller each.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    archives: &Arc<Archives>,
    tier: &Tierer,
    holds: &Holds,
    info: &ArchiveInfo,
    by: &str,
    from: u64,
    max: usize,
) -> Result<ApplyReport, Error> {
    let max = max.clamp(1, DISPOSITION_PACKAGES_MAX);
    let _moves = tier.exclusive().await;
    let hot = archives.store();
    dispose::resume(tier, hot, info.id).await?;
    let at = tier.now_ms();
    let active = holds.active(info.id)?;
    let pending = crate::tier::state::TierState::load(hot, info.id)?.pending;
    let size = archives.size(info)?;
    let mut report = ApplyReport {
        archive: info.archive.clone(),
        at_ms: at,
        ..Default::default()
    };
    let mut chosen = Vec::new();
    let mut seq = from;
    while seq < size {
        if chosen.len() >= max {
            report.next_from = Some(seq);
            break;
        }
        report.scanned += 1;
        let s = seq;
        seq += 1;
        // A package in a move that a crash interrupted waits for the move to finish.
        if pending
            .as_ref()
            .is_some_and(|m| (m.first..m.end).contains(&s))
        {
            continue;
        }
        let Some(p) = archives.live_header(info.id, s).await? else {
            continue;
        };
        let due = p.header.retain_until_ms.is_some_and(|u| u <= at);
        if !due || !disposable(p.header.kind) {
            continue;
        }
        if active.iter().any(|h| h.covers(s, &p.header)) {
            report.held += 1;
            continue;
        }
        chosen.push(Chosen::new(p));
    }
    if chosen.is_empty() {
        return Ok(report);
    }
    let basis = basis_of(&chosen);
    let d = dispose::dispose(
        archives,
        tier,
        info,
        chosen,
        Authority {
            cause: Cause::Retention,
            basis,
            authorized_by: vec![by.to_string()],
            erasure: None,
        },
        holds,
        None,
    )
    .await?;
    report.disposed = Some(d);
    Ok(report)
}

/// The retention rules that ended, named by the agreement versions that fixed them.
fn basis_of(chosen: &[Chosen]) -> String {
    let mut versions: Vec<u64> = chosen
        .iter()
        .filter_map(|c| c.package.header.agreement.map(|a| a.version))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    // The record's basis is bounded (DISPOSITION_BASIS_BYTES_MAX): many versions are a range.
    let list = match (versions.first(), versions.last()) {
        (Some(a), Some(b)) if versions.len() > 20 => format!("{a} to {b}"),
        _ => versions
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "retention period ended under the retention rule of agreement version {list}, as fixed in each package header (retain until)"
    )
}
