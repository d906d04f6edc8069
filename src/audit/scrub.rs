//! The background scrub: the package checks of an audit, at a configured pace
//! (`scrub_packages_per_sec`), over every archive in turn from a cursor persisted per archive
//! (`meta`, `scrub/{id}`), with the log checks each time an archive's cursor wraps. Findings go
//! to the log (error level) and to `zegel_scrub_findings_total`, checked packages to
//! `zegel_scrub_packages_total`; a finished `zegel audit` is what records evidence.

use std::sync::Arc;
use std::time::Duration;

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::audit::check::Scope;
use crate::audit::finding::Finding;
use crate::audit::log::LogWalk;
use crate::audit::run;
use crate::clock::Clock;
use crate::error::Error;
use crate::retention::holds::Holds;
use crate::store::{ArchiveId, Batch, cf};

fn cursor_key(id: ArchiveId) -> Vec<u8> {
    format!("scrub/{id:016x}").into_bytes()
}

/// Where the scrub's log checks of an archive stand.
fn walk_key(id: ArchiveId) -> Vec<u8> {
    format!("scrub-walk/{id:016x}").into_bytes()
}

fn report(findings: &[Finding]) {
    for f in findings {
        tracing::error!(archive = %f.archive, seq = ?f.seq, object = ?f.object, check = %f.check, expected = ?f.expected, found = ?f.found, detail = %f.detail, "scrub finding");
    }
    metrics::counter!("zegel_scrub_findings_total").increment(findings.len() as u64);
}

/// Scrubs up to `budget` packages of `info` from its cursor; how many it checked.
async fn scrub_archive(
    archives: &Arc<Archives>,
    holds: &Holds,
    info: &ArchiveInfo,
    budget: u64,
    now_ms: u64,
) -> Result<u64, Error> {
    let hot = archives.store();
    let cursor = hot
        .get(cf::META, &cursor_key(info.id))?
        .and_then(|v| v.get(..8).and_then(|b| b.try_into().ok()))
        .map_or(0, u64::from_be_bytes);
    let size = archives.size(info)?;
    let active = holds.active(info.id)?;
    let end = size.min(cursor.saturating_add(budget));
    let saved = hot.get_json(cf::META, &walk_key(info.id), "scrub walk")?;
    let mut walk = LogWalk::resume(hot, info, cursor, saved);
    let scope = Scope {
        info,
        seed: 0,
        percent: 100,
        holds: &active,
        now_ms,
        blocks: crate::audit::check::step_blocks(),
    };
    let key = archives.signing_key().verifier();
    let (tally, mut findings) =
        run::check_range(archives, &scope, &key, (cursor, end), &mut walk).await?;
    let wrapped = end >= size;
    if wrapped {
        findings.extend(walk.finish(archives, info)?);
    }
    report(&findings);
    metrics::counter!("zegel_scrub_packages_total").increment(tally.checked);
    let mut b = Batch::default();
    b.put(
        cf::META,
        &cursor_key(info.id),
        &(if wrapped { 0 } else { end }).to_be_bytes(),
    );
    if wrapped {
        b.delete(cf::META, &walk_key(info.id));
    } else {
        b.put_json(cf::META, &walk_key(info.id), walk.saved())?;
    }
    hot.commit(b)?;
    Ok(tally.examined.max(1))
}

/// Runs until the task is dropped: every second, `per_sec` packages across the archives.
pub async fn run(archives: Arc<Archives>, holds: Arc<Holds>, clock: Arc<dyn Clock>, per_sec: u64) {
    if per_sec == 0 {
        return;
    }
    let mut next_archive = 0usize;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let infos = match archives.all() {
            Ok(infos) => infos,
            Err(e) => {
                tracing::warn!(error = %e, "scrub: the archives could not be listed");
                continue;
            }
        };
        if infos.is_empty() {
            continue;
        }
        let mut budget = per_sec;
        let mut visited = 0;
        while budget > 0 && visited < infos.len() {
            let Some(info) = infos.get(next_archive % infos.len()) else {
                break;
            };
            match scrub_archive(&archives, &holds, info, budget, clock.now_ms()).await {
                Ok(n) => budget = budget.saturating_sub(n),
                Err(e) => {
                    tracing::warn!(archive = %info.archive, error = %e, "scrub step failed");
                    budget = 0;
                }
            }
            next_archive = next_archive.wrapping_add(1);
            visited += 1;
        }
    }
}
